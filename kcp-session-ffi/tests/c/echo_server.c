/*
 * A kcp-go listener in C over kcp_session.h: on 127.0.0.1 (any free port, printed as
 * "listening 127.0.0.1:PORT"), accepts sessions ("accepted IP:PORT" for each) and echoes
 * what they send. After echoing BYTES bytes in total it closes the sessions, drives them
 * until everything echoed is acknowledged, prints "ok echoed=N" and exits 0; prints why
 * and exits 1 on an error or after 60 seconds.
 *
 * usage: echo_server BYTES [NAME=VALUE ...]   (kcps_config_set options)
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udp.h"

#define MAX_SESSIONS 16

int main(int argc, char **argv) {
    kcps_endpoint *ep;
    kcps_session sessions[MAX_SESSIONS];
    /* Bytes read but not yet taken by kcps_send, per session. */
    static uint8_t pending[MAX_SESSIONS][65536];
    size_t pending_len[MAX_SESSIONS], total, echoed = 0;
    int count = 0, open = 0, closing = 0, i, fd;
    uint32_t start;

    if (argc < 2) {
        fprintf(stderr, "usage: echo_server BYTES [NAME=VALUE ...]\n");
        return 2;
    }
    total = (size_t)strtoull(argv[1], NULL, 10);
    ep = endpoint_from_args(argc - 2, argv + 2);
    if (ep == NULL) return 2;
    kcps_listen(ep, 1);
    fd = udp_bind_loopback(0);
    if (fd < 0) {
        perror("echo_server: socket");
        return 1;
    }
    printf("listening 127.0.0.1:%u\n", (unsigned)udp_local_port(fd));
    fflush(stdout);

    start = now_ms();
    while (!closing || open > 0) {
        kcps_session s;
        kcps_event ev;
        if (now_ms() - start > 60000) {
            fprintf(stderr, "echo_server: timed out: echoed %zu of %zu, %d open\n", echoed,
                    total, open);
            return 1;
        }
        drive(ep, fd);
        while (kcps_accept(ep, &s) == 1) {
            kcps_addr remote;
            char ip[INET_ADDRSTRLEN];
            if (count == MAX_SESSIONS) {
                kcps_release(ep, now_ms(), s);
                continue;
            }
            kcps_remote(ep, s, &remote);
            inet_ntop(AF_INET, remote.ip, ip, sizeof ip);
            printf("accepted %s:%u\n", ip, (unsigned)remote.port);
            fflush(stdout);
            sessions[count] = s;
            pending_len[count++] = 0;
            open++;
        }
        /* Echo: read only what can be written back, so nothing piles up here. */
        for (i = 0; i < count; i++) {
            for (;;) {
                int64_t n;
                if (pending_len[i] > 0) {
                    int64_t w = kcps_send(ep, now_ms(), sessions[i], pending[i], pending_len[i]);
                    if (w == KCPS_E_WOULD_BLOCK) break;
                    if (w < 0) break; /* ended: reported as an event */
                    echoed += (size_t)w;
                    pending_len[i] -= (size_t)w;
                    if (pending_len[i] > 0) {
                        memmove(pending[i], pending[i] + w, pending_len[i]);
                        break;
                    }
                }
                n = kcps_recv(ep, sessions[i], pending[i], sizeof pending[i]);
                if (n <= 0) break;
                pending_len[i] = (size_t)n;
            }
        }
        send_ready(ep, fd, now_ms());
        if (!closing && echoed >= total) {
            for (i = 0; i < count; i++) kcps_close(ep, now_ms(), sessions[i]);
            closing = 1;
        }
        while (kcps_poll_event(ep, &ev) == 1) {
            if (ev.kind != KCPS_EVENT_ENDED) continue;
            if (!closing) return fail("echo_server", "a session ended early", KCPS_E_DEAD);
            kcps_release(ep, now_ms(), ev.session);
            open--;
        }
        send_ready(ep, fd, now_ms());
    }
    printf("ok echoed=%zu\n", echoed);
    kcps_endpoint_free(ep);
    close(fd);
    return 0;
}
