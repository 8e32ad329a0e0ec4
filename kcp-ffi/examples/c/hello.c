/*
 * Two KCP endpoints in one process, joined by an in-memory link that loses every third
 * datagram: the usual ikcp program, written against ikcp.h and linked with kcp-ffi.
 *
 *   cargo build -p kcp-ffi --release
 *   cc -Ikcp-ffi/include kcp-ffi/examples/c/hello.c target/release/libkcp_ffi.a \
 *      -lpthread -ldl -lm -o hello && ./hello
 */
#include <stdio.h>
#include <string.h>

#include "ikcp.h"

/* The link: datagrams in flight to each endpoint. */
struct link {
	char data[64][1500];
	int len[64];
	int count;
	int sent;
	int lost;
};

static struct link to_a, to_b;

/* ikcp calls this for every datagram; a real program calls sendto() here. */
static int output(const char *buf, int len, ikcpcb *kcp, void *user)
{
	struct link *link = (struct link *)user;
	(void)kcp;
	if (++link->sent % 3 == 0 || link->count == 64) {
		link->lost++;
		return 0;
	}
	memcpy(link->data[link->count], buf, (size_t)len);
	link->len[link->count++] = len;
	return 0;
}

static void deliver(struct link *link, ikcpcb *to)
{
	int i;
	for (i = 0; i < link->count; i++) ikcp_input(to, link->data[i], link->len[i]);
	link->count = 0;
}

int main(void)
{
	/* 'user' tells the output callback which way a datagram goes. */
	ikcpcb *a = ikcp_create(0x11223344, &to_b);
	ikcpcb *b = ikcp_create(0x11223344, &to_a);
	char buf[2000];
	IUINT32 now;
	int received = 0, i;

	a->output = output;          /* a field write, as many programs do ... */
	ikcp_setoutput(b, output);   /* ... or the function */
	ikcp_nodelay(a, 1, 10, 2, 1);
	ikcp_nodelay(b, 1, 10, 2, 1);
	a->rx_minrto = 10;           /* settings written into the struct are honoured */
	ikcp_wndsize(a, 128, 128);

	for (i = 0; i < 10; i++) {
		/* Messages of 1,200 bytes: one datagram each, some of them lost. */
		memset(buf, '.', 1200);
		snprintf(buf, sizeof(buf), "message %d", i);
		ikcp_send(a, buf, 1200);
	}

	for (now = 0; received < 10 && now < 5000; now += 10) {
		ikcp_update(a, now);
		ikcp_update(b, now);
		deliver(&to_b, b);
		deliver(&to_a, a);
		while ((i = ikcp_recv(b, buf, sizeof(buf))) > 0) {
			printf("t=%3u ms: received %s (%d bytes)\n", (unsigned)now, buf, i);
			received++;
		}
	}
	printf("%d messages, %d of %d datagrams lost, %u retransmissions\n", received,
		to_a.lost + to_b.lost, to_a.sent + to_b.sent, (unsigned)a->xmit);
	ikcp_release(a);
	ikcp_release(b);
	return received == 10 ? 0 : 1;
}
