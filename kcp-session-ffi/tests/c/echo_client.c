/*
 * A kcp-go client in C over kcp_session.h: dials an echo server over UDP, writes BYTES
 * bytes of a fixed pattern, reads the echo back and checks every byte. Prints
 * "ok bytes=N" and exits 0 on success; prints why and exits 1 otherwise (including
 * after 60 seconds without completion).
 *
 * usage: echo_client IPV4 PORT BYTES [NAME=VALUE ...]   (kcps_config_set options)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kcp_session.h"

static uint32_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* Byte i of the stream: not periodic over short ranges, so a misplaced segment shows. */
static uint8_t pattern(size_t i) {
    uint32_t x = (uint32_t)i * 2654435761u;
    return (uint8_t)((x >> 24) ^ (uint32_t)(i >> 13));
}

static int fail(const char *what, int code) {
    fprintf(stderr, "echo_client: %s: %s (%d)\n", what, kcps_strerror(code), code);
    return 1;
}

/* Sends every datagram the endpoint has ready. */
static void send_ready(kcps_endpoint *ep, int fd, uint32_t now) {
    kcps_transmit t;
    while (kcps_poll_transmit(ep, now, &t) == 1) {
        struct sockaddr_in to;
        size_t off;
        memset(&to, 0, sizeof to);
        to.sin_family = AF_INET;
        to.sin_port = htons(t.destination.port);
        memcpy(&to.sin_addr, t.destination.ip, 4);
        for (off = 0; off < t.len; off += t.segment_size) {
            size_t n = t.len - off < t.segment_size ? t.len - off : t.segment_size;
            /* A datagram the socket refuses is lost; KCP retransmits it. */
            (void)sendto(fd, t.data + off, n, 0, (const struct sockaddr *)&to, sizeof to);
        }
    }
}

int main(int argc, char **argv) {
    kcps_config *cfg;
    kcps_endpoint *ep = NULL;
    kcps_addr server;
    kcps_session s;
    char msg[256];
    size_t total, sent = 0, received = 0;
    uint8_t *chunk;
    uint32_t start;
    int fd, i, r;
    struct sockaddr_in local;

    if (argc < 4) {
        fprintf(stderr, "usage: echo_client IPV4 PORT BYTES [NAME=VALUE ...]\n");
        return 2;
    }
    total = (size_t)strtoull(argv[3], NULL, 10);

    cfg = kcps_config_new();
    for (i = 4; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "echo_client: %s is not NAME=VALUE\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        if (kcps_config_set(cfg, argv[i], eq + 1, msg, sizeof msg) != KCPS_OK) {
            fprintf(stderr, "echo_client: %s\n", msg);
            return 2;
        }
    }
    r = kcps_endpoint_new(cfg, &ep, msg, sizeof msg);
    kcps_config_free(cfg);
    if (r != KCPS_OK) {
        fprintf(stderr, "echo_client: %s\n", msg);
        return 2;
    }

    fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
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
    if (r != KCPS_OK) return fail("connect", r);

    chunk = malloc(65536);
    if (chunk == NULL) return 1;
    start = now_ms();
    while (received < total) {
        uint32_t now = now_ms(), at;
        int wait = 10;
        struct pollfd p;
        kcps_event ev;

        if (now - start > 60000) {
            fprintf(stderr, "echo_client: timed out: sent %zu, received %zu of %zu\n", sent,
                    received, total);
            return 1;
        }
        /* Write what the send window takes. */
        while (sent < total) {
            int64_t room = kcps_send_capacity(ep, s), w;
            size_t n = total - sent < 65536 ? total - sent : 65536, k;
            if (room < 0) return fail("send capacity", (int)room);
            if (room == 0) break;
            if ((uint64_t)room < n) n = (size_t)room;
            for (k = 0; k < n; k++) chunk[k] = pattern(sent + k);
            w = kcps_send(ep, now, s, chunk, n);
            if (w == KCPS_E_WOULD_BLOCK) break;
            if (w < 0) return fail("send", (int)w);
            sent += (size_t)w;
        }
        send_ready(ep, fd, now);

        /* Wait for datagrams until the next timer, at most 10 ms. */
        if (kcps_poll_timeout(ep, &at) == 1) {
            int32_t d = (int32_t)(at - now);
            wait = d < 0 ? 0 : (d < 10 ? d : 10);
        }
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, wait) > 0) {
            for (;;) {
                uint8_t dgram[1500];
                struct sockaddr_in from;
                socklen_t flen = sizeof from;
                kcps_addr src;
                ssize_t n = recvfrom(fd, dgram, sizeof dgram, MSG_DONTWAIT,
                                     (struct sockaddr *)&from, &flen);
                if (n < 0) break;
                memset(&src, 0, sizeof src);
                src.family = KCPS_AF_INET;
                src.port = ntohs(from.sin_port);
                memcpy(src.ip, &from.sin_addr, 4);
                kcps_handle(ep, now_ms(), &src, dgram, (size_t)n, NULL);
            }
        }
        now = now_ms();
        kcps_handle_timeout(ep, now);

        /* Read the echo and check it. */
        for (;;) {
            int64_t n = kcps_recv(ep, s, chunk, 65536);
            size_t k;
            if (n == KCPS_E_WOULD_BLOCK) break;
            if (n < 0) return fail("recv", (int)n);
            for (k = 0; k < (size_t)n; k++) {
                if (chunk[k] != pattern(received + k)) {
                    fprintf(stderr, "echo_client: byte %zu differs\n", received + k);
                    return 1;
                }
            }
            received += (size_t)n;
        }
        while (kcps_poll_event(ep, &ev) == 1) {
            if (ev.kind == KCPS_EVENT_ENDED) return fail("session ended", KCPS_E_DEAD);
        }
        send_ready(ep, fd, now);
    }
    printf("ok bytes=%zu\n", received);
    kcps_release(ep, now_ms(), s);
    send_ready(ep, fd, now_ms());
    kcps_endpoint_free(ep);
    free(chunk);
    close(fd);
    return 0;
}
