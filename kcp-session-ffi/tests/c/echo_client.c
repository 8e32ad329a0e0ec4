/*
 * A kcp-go client in C over kcp_session.h: dials an echo server over UDP, writes BYTES
 * bytes of a fixed pattern, reads the echo back and checks every byte. On success prints
 * the summary line kcp-go's echo client (peers/session) prints,
 *   ok conns=1 bytes=N secs=S mibps=M retrans=R fecrecovered=F
 * (secs from the dial to the last byte; the session's RetransSegs and FECRecovered) and
 * exits 0; prints why and exits 1 otherwise (including after 60 seconds without
 * completion).
 *
 * usage: echo_client IPV4 PORT BYTES [NAME=VALUE ...]   (kcps_config_set options)
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udp.h"

/* Byte i of the stream: not periodic over short ranges, so a misplaced segment shows. */
static uint8_t pattern(size_t i) {
    uint32_t x = (uint32_t)i * 2654435761u;
    return (uint8_t)((x >> 24) ^ (uint32_t)(i >> 13));
}

int main(int argc, char **argv) {
    kcps_endpoint *ep;
    kcps_addr server;
    kcps_session s;
    size_t total, sent = 0, received = 0;
    static uint8_t chunk[65536];
    uint32_t start;
    double secs;
    int fd, r;

    if (argc < 4) {
        fprintf(stderr, "usage: echo_client IPV4 PORT BYTES [NAME=VALUE ...]\n");
        return 2;
    }
    total = (size_t)strtoull(argv[3], NULL, 10);
    ep = endpoint_from_args(argc - 4, argv + 4);
    if (ep == NULL) return 2;
    fd = udp_bind_loopback(0);
    if (fd < 0) {
        perror("echo_client: socket");
        return 1;
    }
    memset(&server, 0, sizeof server);
    server.family = KCPS_AF_INET;
    server.port = (uint16_t)atoi(argv[2]);
    if (inet_pton(AF_INET, argv[1], server.ip) != 1) {
        fprintf(stderr, "echo_client: bad address %s\n", argv[1]);
        return 2;
    }
    r = kcps_connect(ep, now_ms(), &server, &s);
    if (r != KCPS_OK) return fail("echo_client", "connect", r);

    start = now_ms();
    while (received < total) {
        kcps_event ev;
        if (now_ms() - start > 60000) {
            fprintf(stderr, "echo_client: timed out: sent %zu, received %zu of %zu\n", sent,
                    received, total);
            return 1;
        }
        /* Write what the send window takes. */
        while (sent < total) {
            int64_t room = kcps_send_capacity(ep, s), w;
            size_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk, k;
            if (room < 0) return fail("echo_client", "send capacity", (int)room);
            if (room == 0) break;
            if ((uint64_t)room < n) n = (size_t)room;
            for (k = 0; k < n; k++) chunk[k] = pattern(sent + k);
            w = kcps_send(ep, now_ms(), s, chunk, n);
            if (w == KCPS_E_WOULD_BLOCK) break;
            if (w < 0) return fail("echo_client", "send", (int)w);
            sent += (size_t)w;
        }
        send_ready(ep, fd, now_ms());
        drive(ep, fd);
        /* Read the echo and check it. */
        for (;;) {
            int64_t n = kcps_recv(ep, s, chunk, sizeof chunk);
            size_t k;
            if (n == KCPS_E_WOULD_BLOCK) break;
            if (n < 0) return fail("echo_client", "recv", (int)n);
            for (k = 0; k < (size_t)n; k++) {
                if (chunk[k] != pattern(received + k)) {
                    fprintf(stderr, "echo_client: byte %zu differs\n", received + k);
                    return 1;
                }
            }
            received += (size_t)n;
        }
        while (kcps_poll_event(ep, &ev) == 1) {
            if (ev.kind == KCPS_EVENT_ENDED)
                return fail("echo_client", "session ended", KCPS_E_DEAD);
        }
        send_ready(ep, fd, now_ms());
    }
    secs = (double)(uint32_t)(now_ms() - start) / 1000.0;
    printf("ok conns=1 bytes=%zu secs=%.3f mibps=%.2f retrans=%llu fecrecovered=%llu\n",
           received, secs, secs > 0 ? (double)received / 1048576.0 / secs : 0.0,
           (unsigned long long)snmp_counter(ep, s, "RetransSegs"),
           (unsigned long long)snmp_counter(ep, s, "FECRecovered"));
    kcps_release(ep, now_ms(), s);
    send_ready(ep, fd, now_ms());
    kcps_endpoint_free(ep);
    close(fd);
    return 0;
}
