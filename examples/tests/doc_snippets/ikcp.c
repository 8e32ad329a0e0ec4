/* kcp-ffi/README.md: a program written for the C ikcp, unchanged on kcp-ffi. */
int send_datagram(void *peer, const char *buf, int len);
int receive_datagram(void *peer, char *buf, int len);
unsigned int now_ms(void);
void handle_message(const char *msg, int len);

#include "ikcp.h"

static int udp_output(const char *buf, int len, ikcpcb *kcp, void *user)
{
	return send_datagram(user, buf, len);        /* sendto() in a real program */
}

void example(void *peer)
{
	char buf[1500], msg[65536];
	int n;

ikcpcb *kcp = ikcp_create(0x11223344, peer);
kcp->output = udp_output;                        /* or ikcp_setoutput(kcp, udp_output) */
ikcp_nodelay(kcp, 1, 10, 2, 1);
ikcp_wndsize(kcp, 128, 128);
kcp->rx_minrto = 10;                             /* struct writes are honoured */

ikcp_send(kcp, "hello", 5);
for (;;) {
	ikcp_update(kcp, now_ms());                  /* or when ikcp_check() says */
	while ((n = receive_datagram(peer, buf, sizeof(buf))) > 0)
		ikcp_input(kcp, buf, n);
	while ((n = ikcp_recv(kcp, msg, sizeof(msg))) >= 0)
		handle_message(msg, n);
}
ikcp_release(kcp);
}
