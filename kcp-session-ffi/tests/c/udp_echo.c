/*
 * The socket-owning layer of kcp_session.h (kcps_udp_*) in one process: a listener on
 * 127.0.0.1 and a dialer, each with its own socket, no event loop but poll() on the two
 * descriptors. The dialer writes BYTES bytes of a fixed pattern, the listener echoes
 * them, and the dialer checks every byte of the echo.
 *
 * Prints "ok bytes=N" and exits 0, or why and exits 1 (also after 60 seconds).
 *
 * usage: udp_echo BYTES [NAME=VALUE ...]   (kcps_config_set options)
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udp.h"

static uint8_t pattern(size_t i) {
    uint32_t x = (uint32_t)i * 2654435761u;
    return (uint8_t)((x >> 24) ^ (uint32_t)(i >> 13));
}

int main(int argc, char **argv) {
    kcps_config *cfg;
    kcps_udp *server = NULL, *client = NULL;
    kcps_session s, accepted = 0;
    char msg[256], addr[64];
    static uint8_t chunk[65536], echo[65536];
    size_t total, sent = 0, received = 0, echo_len = 0, echo_off = 0;
    uint32_t start;
    int i, r;

    if (argc < 2) {
        fprintf(stderr, "usage: udp_echo BYTES [NAME=VALUE ...]\n");
        return 2;
    }
    total = (size_t)strtoull(argv[1], NULL, 10);
    cfg = kcps_config_new();
    for (i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) return 2;
        *eq = '\0';
        if (kcps_config_set(cfg, argv[i], eq + 1, msg, sizeof msg) != KCPS_OK) {
            fprintf(stderr, "%s\n", msg);
            return 2;
        }
    }
    r = kcps_udp_listen(cfg, "127.0.0.1:0", &server, msg, sizeof msg);
    if (r != KCPS_OK) {
        fprintf(stderr, "listen: %s\n", msg);
        return 1;
    }
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)udp_local_port(kcps_udp_fd(server)));
    r = kcps_udp_dial(cfg, now_ms(), addr, &client, &s, msg, sizeof msg);
    kcps_config_free(cfg);
    if (r != KCPS_OK) {
        fprintf(stderr, "dial %s: %s\n", addr, msg);
        return 1;
    }

    start = now_ms();
    while (received < total) {
        struct pollfd fds[2];
        if (now_ms() - start > 60000) {
            fprintf(stderr, "udp_echo: timed out: sent %zu, received %zu of %zu\n", sent,
                    received, total);
            return 1;
        }
        /* The dialer writes what the window takes. */
        while (sent < total) {
            size_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk, k;
            int64_t w;
            for (k = 0; k < n; k++) chunk[k] = pattern(sent + k);
            w = kcps_udp_write(client, now_ms(), s, chunk, n);
            if (w == KCPS_E_WOULD_BLOCK) break;
            if (w < 0) return fail("udp_echo", "write", (int)w);
            sent += (size_t)w;
        }
        /* Wait for either socket, at most 10 ms (the timers' resolution here). */
        fds[0].fd = kcps_udp_fd(client);
        fds[1].fd = kcps_udp_fd(server);
        fds[0].events = fds[1].events = POLLIN;
        fds[0].revents = fds[1].revents = 0;
        (void)poll(fds, 2, 10);
        r = kcps_udp_update(client, now_ms());
        if (r < 0) return fail("udp_echo", "client update", r);
        r = kcps_udp_update(server, now_ms());
        if (r < 0) return fail("udp_echo", "server update", r);
        if (accepted == 0 && kcps_udp_accept(server, &accepted) < 0)
            return fail("udp_echo", "accept", -1);
        /* The listener echoes, keeping what its window did not take yet. */
        while (accepted != 0) {
            int64_t n, w;
            if (echo_off == echo_len) {
                n = kcps_udp_read(server, accepted, echo, sizeof echo);
                if (n == KCPS_E_WOULD_BLOCK) break;
                if (n < 0) return fail("udp_echo", "server read", (int)n);
                echo_off = 0;
                echo_len = (size_t)n;
            }
            w = kcps_udp_write(server, now_ms(), accepted, echo + echo_off, echo_len - echo_off);
            if (w == KCPS_E_WOULD_BLOCK) break;
            if (w < 0) return fail("udp_echo", "server write", (int)w);
            echo_off += (size_t)w;
        }
        /* The dialer checks the echo. */
        for (;;) {
            int64_t n = kcps_udp_read(client, s, chunk, sizeof chunk);
            size_t k;
            if (n == KCPS_E_WOULD_BLOCK) break;
            if (n < 0) return fail("udp_echo", "client read", (int)n);
            for (k = 0; k < (size_t)n; k++) {
                if (chunk[k] != pattern(received + k)) {
                    fprintf(stderr, "udp_echo: byte %zu differs\n", received + k);
                    return 1;
                }
            }
            received += (size_t)n;
        }
    }
    printf("ok bytes=%zu\n", received);
    kcps_udp_close(client);
    kcps_udp_close(server);
    kcps_udp_close(NULL);
    return 0;
}
