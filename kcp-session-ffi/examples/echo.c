/*
 * A kcp-go echo client and echo server in C99 on kcp_session.h, over one UDP socket (IPv4).
 *
 *   echo listen PORT BYTES [NAME=VALUE ...]     echo BYTES bytes of one session, then exit
 *   echo dial IPV4 PORT BYTES [NAME=VALUE ...]  send BYTES bytes, check the echo, exit
 *
 * NAME=VALUE are kcptun's options (crypt=aes key=secret datashard=10 parityshard=3
 * mode=fast3); both sides need the same. The listener prints "listening 127.0.0.1:PORT"
 * (PORT 0: any free port); the dialer prints "ok bytes=N". Exits 1 on any error or after
 * 60 seconds. Build: cc -std=c99 echo.c $(pkg-config --cflags --libs kcp_session)
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <kcp_session.h>

static uint32_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static int die(const char *what, int code) {
    fprintf(stderr, "echo: %s: %s (%d)\n", what, kcps_strerror(code), code);
    exit(1);
}

/* The byte at offset i of the stream the dialer sends. */
static uint8_t pattern(size_t i) { return (uint8_t)(((i * 2654435761u) >> 24) ^ (i >> 13)); }

int main(int argc, char **argv) {
    int dial = argc >= 5 && strcmp(argv[1], "dial") == 0, fd, i, r, closed = 0;
    int sockbuf = 4 << 20;
    int first = dial ? 5 : 4; /* first NAME=VALUE argument */
    size_t total, sent = 0, got = 0;
    static uint8_t buf[65536];
    char msg[256];
    kcps_config *cfg = kcps_config_new();
    kcps_endpoint *ep;
    kcps_session s = 0;
    kcps_addr peer = {KCPS_AF_INET, 0, 0, {0}};
    struct sockaddr_in sa = {0};
    socklen_t salen = sizeof sa;
    uint32_t start = now_ms();

    if (!dial && !(argc >= 4 && strcmp(argv[1], "listen") == 0)) {
        fprintf(stderr, "usage: echo listen PORT BYTES | dial IPV4 PORT BYTES [NAME=VALUE ...]\n");
        return 2;
    }
    total = (size_t)strtoull(argv[first - 1], NULL, 10);
    for (i = first; i < argc; i++) { /* kcptun's options */
        char *eq = strchr(argv[i], '=');
        if (eq != NULL) *eq = '\0';
        if (eq == NULL || kcps_config_set(cfg, argv[i], eq + 1, msg, sizeof msg) != KCPS_OK)
            return fprintf(stderr, "echo: %s: %s\n", argv[i], eq ? msg : "not NAME=VALUE"), 2;
    }
    if (kcps_endpoint_new(cfg, &ep, msg, sizeof msg) != KCPS_OK)
        return fprintf(stderr, "echo: %s\n", msg), 2;
    kcps_config_free(cfg);

    fd = socket(AF_INET, SOCK_DGRAM, 0);
    /* kcptun's --sockbuf: room for the bursts a full window sends (the kernel may cap it). */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof sockbuf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof sockbuf);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!dial) sa.sin_port = htons((uint16_t)atoi(argv[2]));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return perror("echo"), 1;
    if (dial) {
        peer.port = (uint16_t)atoi(argv[3]);
        if (inet_pton(AF_INET, argv[2], peer.ip) != 1) return fprintf(stderr, "bad IPv4\n"), 2;
        if ((r = kcps_connect(ep, now_ms(), &peer, &s)) != KCPS_OK) die("connect", r);
    } else {
        kcps_listen(ep, 1);
        getsockname(fd, (struct sockaddr *)&sa, &salen);
        printf("listening 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
        fflush(stdout);
    }

    for (;;) {
        kcps_transmit t;
        kcps_event ev;
        uint32_t at;
        int64_t n, room;
        int32_t wait;
        struct pollfd p = {0, POLLIN, 0};
        if (now_ms() - start > 60000) die("timed out", KCPS_E_WOULD_BLOCK);
        if (!dial && s == 0 && kcps_accept(ep, &s) == 1) puts("accepted");
        /* The application: the dialer writes the pattern and checks what comes back; the
         * listener reads only what it can write back at once. */
        while (s != 0 && !closed && (room = kcps_send_capacity(ep, s)) > 0) {
            size_t k, len = room < (int64_t)sizeof buf ? (size_t)room : sizeof buf;
            if (dial) {
                if (sent == total) break;
                if (len > total - sent) len = total - sent;
                for (k = 0; k < len; k++) buf[k] = pattern(sent + k);
                n = (int64_t)len;
            } else if ((n = kcps_recv(ep, s, buf, len)) == KCPS_E_WOULD_BLOCK) {
                break;
            } else if (n < 0) {
                die("recv", (int)n);
            }
            if ((r = (int)kcps_send(ep, now_ms(), s, buf, (size_t)n)) != n) die("send", r);
            sent += (size_t)n;
        }
        while (dial && (n = kcps_recv(ep, s, buf, sizeof buf)) > 0) {
            for (i = 0; i < n; i++)
                if (buf[i] != pattern(got + (size_t)i)) die("echo differs", KCPS_E_INVALID);
            got += (size_t)n;
        }
        /* Done: close, and exit once what was written is acknowledged. */
        if (!closed && (dial ? got == total : sent == total) && s != 0) {
            kcps_close(ep, now_ms(), s);
            closed = 1;
        }
        while (kcps_poll_event(ep, &ev) == 1) {
            if (ev.kind != KCPS_EVENT_ENDED || ev.session != s) continue;
            if (!closed) die("session ended", kcps_session_state(ep, s));
            if (dial) printf("ok bytes=%zu\n", got);
            kcps_endpoint_free(ep);
            close(fd);
            return 0;
        }
        /* The socket: send what is ready, wait for datagrams or the next timer. */
        while (kcps_poll_transmit(ep, now_ms(), &t) == 1) {
            size_t off;
            struct sockaddr_in to = {0};
            to.sin_family = AF_INET;
            to.sin_port = htons(t.destination.port);
            memcpy(&to.sin_addr, t.destination.ip, 4);
            for (off = 0; off < t.len; off += t.segment_size)
                sendto(fd, t.data + off, t.len - off < t.segment_size ? t.len - off : t.segment_size,
                       0, (struct sockaddr *)&to, sizeof to);
        }
        p.fd = fd;
        at = now_ms() + 10; /* at most 10 ms, whatever the timers say */
        kcps_poll_timeout(ep, &at);
        wait = (int32_t)(at - now_ms());
        poll(&p, 1, wait < 0 ? 0 : wait > 10 ? 10 : wait);
        while ((n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&sa, &salen)) > 0) {
            kcps_addr from = {KCPS_AF_INET, 0, 0, {0}};
            from.port = ntohs(sa.sin_port);
            memcpy(from.ip, &sa.sin_addr, 4);
            kcps_handle(ep, now_ms(), &from, buf, (size_t)n, NULL);
            salen = sizeof sa;
        }
        kcps_handle_timeout(ep, now_ms());
    }
}
