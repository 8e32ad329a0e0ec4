#include "udp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

uint32_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

int udp_bind_loopback(uint16_t port) {
    struct sockaddr_in local;
    int fd = socket(AF_INET, SOCK_DGRAM, 0), size = 4 << 20;
    /* kcptun's --sockbuf default: a burst of a full window fits in the buffers. */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    local.sin_port = htons(port);
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof local) != 0) return -1;
    return fd;
}

uint16_t udp_local_port(int fd) {
    struct sockaddr_in local;
    socklen_t len = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &len) != 0) return 0;
    return ntohs(local.sin_port);
}

void send_ready(kcps_endpoint *ep, int fd, uint32_t now) {
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

void drive(kcps_endpoint *ep, int fd) {
    uint32_t now = now_ms(), at;
    int wait = 10;
    struct pollfd p;
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
    kcps_handle_timeout(ep, now_ms());
}

kcps_endpoint *endpoint_from_args(int argc, char **argv) {
    kcps_config *cfg = kcps_config_new();
    kcps_endpoint *ep = NULL;
    char msg[256];
    int i;
    for (i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "%s is not NAME=VALUE\n", argv[i]);
            kcps_config_free(cfg);
            return NULL;
        }
        *eq = '\0';
        if (kcps_config_set(cfg, argv[i], eq + 1, msg, sizeof msg) != KCPS_OK) {
            fprintf(stderr, "%s\n", msg);
            kcps_config_free(cfg);
            return NULL;
        }
    }
    if (kcps_endpoint_new(cfg, &ep, msg, sizeof msg) != KCPS_OK) fprintf(stderr, "%s\n", msg);
    kcps_config_free(cfg);
    return ep;
}

int fail(const char *who, const char *what, int code) {
    fprintf(stderr, "%s: %s: %s (%d)\n", who, what, kcps_strerror(code), code);
    return 1;
}

uint64_t snmp_counter(const kcps_endpoint *ep, kcps_session s, const char *name) {
    uint64_t values[128];
    int n = kcps_session_snmp(ep, s, values, sizeof values / sizeof values[0]), i;
    for (i = 0; i < n; i++)
        if (strcmp(kcps_snmp_name((size_t)i), name) == 0) return values[i];
    return UINT64_MAX;
}
