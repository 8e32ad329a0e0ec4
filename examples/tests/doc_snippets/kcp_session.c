/* kcp-session-ffi/README.md: configuring an endpoint and dialing. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include "kcp_session.h"

uint32_t now_ms(void);

void example(kcps_addr server)
{
kcps_config *cfg = kcps_config_new();
char msg[256];
kcps_config_set(cfg, "crypt", "aes", msg, sizeof msg);   /* kcptun's flag names */
kcps_config_set(cfg, "key", "secret", msg, sizeof msg);
kcps_config_set(cfg, "datashard", "10", msg, sizeof msg);
kcps_config_set(cfg, "parityshard", "3", msg, sizeof msg);
kcps_config_set(cfg, "mode", "fast3", msg, sizeof msg);
kcps_endpoint *ep;
if (kcps_endpoint_new(cfg, &ep, msg, sizeof msg) != KCPS_OK) puts(msg);
kcps_config_free(cfg);
kcps_session s;
kcps_connect(ep, now_ms(), &server, &s);
}

/* docs/usage.md: a receive into a buffer that is too small. */
void datagram_example(kcps_endpoint *ep, kcps_session s)
{
uint8_t buf[64];
size_t needed;
int64_t n = kcps_recv_datagram(ep, s, buf, sizeof buf, &needed);
if (n == KCPS_E_BUFFER_TOO_SMALL) {
    uint8_t *big = malloc(needed);
    n = kcps_recv_datagram(ep, s, big, needed, NULL);   /* the same datagram, whole */
}
}

/* kcp-session-ffi/README.md: an endpoint that owns its socket. */
void udp_example(kcps_config *cfg)
{
uint8_t buf[1024];
kcps_udp *u;
kcps_session s;
char msg[256];
if (kcps_udp_dial(cfg, now_ms(), "203.0.113.7:29900", &u, &s, msg, sizeof msg) != KCPS_OK)
    puts(msg);
kcps_udp_write(u, now_ms(), s, "hello", 5);          /* sent at once */
for (;;) {
    struct pollfd p = {kcps_udp_fd(u), POLLIN, 0};
    poll(&p, 1, 10);                                  /* or select/epoll, or a game tick */
    kcps_udp_update(u, now_ms());                     /* read the socket, timers, send */
    int64_t n = kcps_udp_read(u, s, buf, sizeof buf); /* KCPS_E_WOULD_BLOCK: none yet */
    if (n > 0) fwrite(buf, 1, (size_t)n, stdout);
    else if (n != KCPS_E_WOULD_BLOCK) break;          /* closed, dead: see the codes */
}
kcps_udp_close(u);
}
