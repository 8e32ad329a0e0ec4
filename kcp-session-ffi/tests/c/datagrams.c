/*
 * Unreliable datagrams over kcp_session.h: a client dials with kcps_confirm, checks that
 * the peer was heard, writes "hello" on the stream and reads its echo (which proves its
 * address to a listener), then sends COUNT datagrams of sizes cycling up to
 * kcps_max_datagram_size, one at a time, and checks each one's echo. It reads every echo
 * into a 16-byte buffer first, so that a longer one takes the KCPS_E_BUFFER_TOO_SMALL
 * path (the size needed, the datagram kept) before it is read whole.
 *
 * Datagram payloads follow one pattern, so the receiver checks them without being told:
 * byte i of a datagram of n bytes is (uint8_t)(i * 7 + n) (as peers/oob, kcp-go's side).
 *
 *   datagrams local COUNT [NAME=VALUE ...]
 *       the echo server is a second endpoint in this process, with its own UDP socket on
 *       127.0.0.1: it accepts, echoes the stream and echoes each datagram it checked;
 *   datagrams client IPV4 PORT COUNT [NAME=VALUE ...]
 *       against a remote echo server (kcp-go 5.6.60's `oob server`).
 *
 * Prints "ok datagrams=N echoed=N max=M confirmed=1" and exits 0, or why and exits 1
 * (including when an echo takes longer than 10 seconds).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udp.h"

#define MAX_DATAGRAM 1500

static void fill(uint8_t *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) b[i] = (uint8_t)(i * 7 + n);
}

/* Prints "<who>: <what>" to stderr and returns 1. */
static int die(const char *who, const char *what) {
    fprintf(stderr, "%s: %s\n", who, what);
    return 1;
}

static int matches(const uint8_t *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != (uint8_t)(i * 7 + n)) return 0;
    return 1;
}

/* The in-process echo server: a listening endpoint and its socket. */
typedef struct server {
    kcps_endpoint *ep;
    int fd;
    kcps_session s;      /* 0 until accepted */
    uint8_t pending[MAX_DATAGRAM]; /* an echo the amplification limit held back */
    size_t pending_len;
    int has_pending;
    unsigned long checked;
} server;

/* One turn of the server: take datagrams, accept, echo the stream and the datagrams. */
static int server_turn(server *sv) {
    uint8_t buf[MAX_DATAGRAM];
    kcps_event ev;
    drive(sv->ep, sv->fd);
    if (sv->s == 0) {
        int r = kcps_accept(sv->ep, &sv->s);
        if (r < 0) return fail("server", "accept", r);
    }
    while (kcps_poll_event(sv->ep, &ev) == 1) {
    }
    if (sv->s != 0) {
        for (;;) {
            int64_t n = kcps_recv(sv->ep, sv->s, buf, sizeof buf), w;
            if (n == KCPS_E_WOULD_BLOCK) break;
            if (n < 0) return fail("server", "recv", (int)n);
            w = kcps_send(sv->ep, now_ms(), sv->s, buf, (size_t)n);
            if (w != n) return fail("server", "send", (int)w);
        }
        for (;;) {
            int r;
            if (!sv->has_pending) {
                int64_t n = kcps_recv_datagram(sv->ep, sv->s, sv->pending,
                                               sizeof sv->pending, NULL);
                if (n == KCPS_E_WOULD_BLOCK) break;
                if (n < 0) return fail("server", "recv_datagram", (int)n);
                if (!matches(sv->pending, (size_t)n)) {
                    fprintf(stderr, "server: datagram of %lld bytes differs\n", (long long)n);
                    return 1;
                }
                sv->checked++;
                sv->pending_len = (size_t)n;
                sv->has_pending = 1;
            }
            r = kcps_send_datagram(sv->ep, now_ms(), sv->s, sv->pending, sv->pending_len);
            if (r == KCPS_E_UNPROVEN || r == KCPS_E_WOULD_BLOCK) break; /* retry next turn */
            if (r != KCPS_OK) return fail("server", "send_datagram", r);
            sv->has_pending = 0;
        }
    }
    send_ready(sv->ep, sv->fd, now_ms());
    return 0;
}

/* Copies of NAME=VALUE arguments (endpoint_from_args writes into them). */
static char **copy_args(int argc, char **argv) {
    char **copy = calloc((size_t)argc + 1, sizeof *copy);
    int i;
    for (i = 0; copy != NULL && i < argc; i++) {
        copy[i] = malloc(strlen(argv[i]) + 1);
        if (copy[i] != NULL) strcpy(copy[i], argv[i]);
    }
    return copy;
}

static void free_args(int argc, char **args) {
    int i;
    for (i = 0; args != NULL && i < argc; i++) free(args[i]);
    free(args);
}

int main(int argc, char **argv) {
    kcps_endpoint *ep;
    kcps_addr remote;
    kcps_session s;
    server sv;
    int local, fd, r, nopts;
    char **opts, **server_opts;
    unsigned long count, i, echoed = 0;
    int64_t max;
    uint8_t hello[5];
    size_t got = 0;
    uint32_t start;

    memset(&sv, 0, sizeof sv);
    local = argc >= 3 && strcmp(argv[1], "local") == 0;
    if (!local && !(argc >= 5 && strcmp(argv[1], "client") == 0)) {
        fprintf(stderr, "usage: datagrams local COUNT [NAME=VALUE ...]\n"
                        "       datagrams client IPV4 PORT COUNT [NAME=VALUE ...]\n");
        return 2;
    }
    count = strtoul(argv[local ? 2 : 4], NULL, 10);
    nopts = argc - (local ? 3 : 5);
    opts = argv + (local ? 3 : 5);
    server_opts = copy_args(nopts, opts);
    ep = endpoint_from_args(nopts, opts);
    fd = udp_bind_loopback(0);
    if (ep == NULL || server_opts == NULL || fd < 0) return 2;
    memset(&remote, 0, sizeof remote);
    remote.family = KCPS_AF_INET;
    if (local) {
        sv.ep = endpoint_from_args(nopts, server_opts);
        sv.fd = udp_bind_loopback(0);
        if (sv.ep == NULL || sv.fd < 0) return 2;
        kcps_listen(sv.ep, 1);
        remote.port = udp_local_port(sv.fd);
        remote.ip[0] = 127;
        remote.ip[3] = 1;
    } else {
        remote.port = (uint16_t)atoi(argv[3]);
        if (inet_pton(AF_INET, argv[2], remote.ip) != 1) {
            fprintf(stderr, "datagrams: bad address %s\n", argv[2]);
            return 2;
        }
    }
    free_args(nopts, server_opts);

    r = kcps_connect(ep, now_ms(), &remote, &s);
    if (r != KCPS_OK) return fail("client", "connect", r);
    r = kcps_confirm(ep, now_ms(), s, 5000);
    if (r != KCPS_OK) return fail("client", "confirm", r);
    if (kcps_send(ep, now_ms(), s, "hello", 5) != 5) return die("client", "send failed");
    max = kcps_max_datagram_size(ep, s);
    if (max < 0) return fail("client", "max_datagram_size", (int)max);
    if (max == 0 || max > MAX_DATAGRAM) return die("client", "no datagrams (FEC is off)");

    /* Wait for the echo of "hello", and for the peer to be heard. */
    start = now_ms();
    while (got < sizeof hello || kcps_is_confirmed(ep, s) != 1) {
        int64_t n;
        if (now_ms() - start > 10000) return die("client", "stream echo timed out");
        send_ready(ep, fd, now_ms());
        if (local && server_turn(&sv) != 0) return 1;
        drive(ep, fd);
        n = kcps_recv(ep, s, hello + got, sizeof hello - got);
        if (n >= 0) got += (size_t)n;
        else if (n != KCPS_E_WOULD_BLOCK) return fail("client", "recv", (int)n);
    }
    if (memcmp(hello, "hello", 5) != 0) return die("client", "stream echo differs");

    for (i = 0; i < count; i++) {
        uint8_t out[MAX_DATAGRAM], in[MAX_DATAGRAM];
        size_t n = i + 1 == count ? (size_t)max : (size_t)((i * 97) % ((unsigned long)max + 1));
        int done = 0;
        fill(out, n);
        r = kcps_send_datagram(ep, now_ms(), s, out, n);
        if (r != KCPS_OK) return fail("client", "send_datagram", r);
        start = now_ms();
        while (!done) {
            size_t needed = 0;
            int64_t m;
            kcps_event ev;
            if (now_ms() - start > 10000) {
                fprintf(stderr, "client: no echo of datagram %lu (%zu bytes)\n", i, n);
                return 1;
            }
            send_ready(ep, fd, now_ms());
            if (local && server_turn(&sv) != 0) return 1;
            drive(ep, fd);
            while (kcps_poll_event(ep, &ev) == 1)
                if (ev.kind == KCPS_EVENT_ENDED) return die("client", "session ended");
            m = kcps_recv_datagram(ep, s, in, 16, &needed);
            if (m == KCPS_E_BUFFER_TOO_SMALL) {
                if (needed != n) return die("client", "needed differs from the datagram's size");
                m = kcps_recv_datagram(ep, s, in, needed, &needed);
            }
            if (m == KCPS_E_WOULD_BLOCK) continue;
            if (m < 0) return fail("client", "recv_datagram", (int)m);
            if ((size_t)m != n || !matches(in, n)) {
                fprintf(stderr, "client: echo of datagram %lu (%zu bytes) differs (%lld bytes)\n",
                        i, n, (long long)m);
                return 1;
            }
            echoed++;
            done = 1;
        }
    }
    printf("ok datagrams=%lu echoed=%lu max=%lld confirmed=%d\n", count, echoed,
           (long long)max, kcps_is_confirmed(ep, s));
    if (local && sv.checked != count) {
        fprintf(stderr, "server: checked %lu of %lu\n", sv.checked, count);
        return 1;
    }
    kcps_release(ep, now_ms(), s);
    send_ready(ep, fd, now_ms());
    kcps_endpoint_free(ep);
    close(fd);
    if (local) {
        kcps_endpoint_free(sv.ep);
        close(sv.fd);
    }
    return 0;
}
