/* The two API tables, the sinks and the comparisons of the differential test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worlds.h"

/* ikcp.c 1.7.1 under its c_ prefix. */
ikcpcb *c_ikcp_create(IUINT32 conv, void *user);
void c_ikcp_release(ikcpcb *kcp);
void c_ikcp_setoutput(ikcpcb *kcp, int (*output)(const char *, int, ikcpcb *, void *));
int c_ikcp_recv(ikcpcb *kcp, char *buffer, int len);
int c_ikcp_send(ikcpcb *kcp, const char *buffer, int len);
void c_ikcp_update(ikcpcb *kcp, IUINT32 current);
IUINT32 c_ikcp_check(const ikcpcb *kcp, IUINT32 current);
int c_ikcp_input(ikcpcb *kcp, const char *data, long size);
void c_ikcp_flush(ikcpcb *kcp);
int c_ikcp_peeksize(const ikcpcb *kcp);
int c_ikcp_setmtu(ikcpcb *kcp, int mtu);
int c_ikcp_wndsize(ikcpcb *kcp, int sndwnd, int rcvwnd);
int c_ikcp_waitsnd(const ikcpcb *kcp);
int c_ikcp_nodelay(ikcpcb *kcp, int nodelay, int interval, int resend, int nc);
void c_ikcp_log(ikcpcb *kcp, int mask, const char *fmt, ...);
void c_ikcp_allocator(void *(*new_malloc)(size_t), void (*new_free)(void *));
IUINT32 c_ikcp_getconv(const void *ptr);

const Api THEIRS = {
	"ikcp.c", c_ikcp_create, c_ikcp_release, c_ikcp_setoutput, c_ikcp_recv, c_ikcp_send,
	c_ikcp_update, c_ikcp_check, c_ikcp_input, c_ikcp_flush, c_ikcp_peeksize,
	c_ikcp_setmtu, c_ikcp_wndsize, c_ikcp_waitsnd, c_ikcp_nodelay, c_ikcp_log,
	c_ikcp_allocator, c_ikcp_getconv,
};

const Api OURS = {
	"kcp-ffi", ikcp_create, ikcp_release, ikcp_setoutput, ikcp_recv, ikcp_send,
	ikcp_update, ikcp_check, ikcp_input, ikcp_flush, ikcp_peeksize, ikcp_setmtu,
	ikcp_wndsize, ikcp_waitsnd, ikcp_nodelay, ikcp_log, ikcp_allocator, ikcp_getconv,
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

void dg_push(DgList *l, const unsigned char *data, int len, char via, int user)
{
	Datagram *d;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->items = xrealloc(l->items, (size_t)l->cap * sizeof(Datagram));
	}
	d = &l->items[l->n++];
	d->data = xrealloc(NULL, len > 0 ? (size_t)len : 1);
	if (len > 0) memcpy(d->data, data, (size_t)len);
	d->len = len;
	d->via = via;
	d->user = user;
}

void dg_remove(DgList *l, int at, Datagram *out)
{
	*out = l->items[at];
	memmove(&l->items[at], &l->items[at + 1], (size_t)(l->n - at - 1) * sizeof(Datagram));
	l->n--;
}

void dg_clear(DgList *l)
{
	int i;
	for (i = 0; i < l->n; i++) free(l->items[i].data);
	l->n = 0;
}

/* Datagrams go to the endpoint `user` names; a wrong `kcp` or `user` is recorded in its
 * log so that the comparison shows it. */
static int capture(const char *buf, int len, ikcpcb *kcp, void *user, char via)
{
	Sink *s = (Sink *)user;
	Endpoint *ep = s->ep;
	if (ep->k != kcp || kcp->user != user) {
		ep->loglen += (size_t)snprintf(ep->log + ep->loglen, sizeof(ep->log) - ep->loglen,
			"<output called with a foreign kcp or user>\n");
	}
	dg_push(&ep->out, (const unsigned char *)buf, len, via, s->tag);
	return 0;
}

int out_a(const char *buf, int len, ikcpcb *kcp, void *user)
{
	return capture(buf, len, kcp, user, 'a');
}

int out_b(const char *buf, int len, ikcpcb *kcp, void *user)
{
	return capture(buf, len, kcp, user, 'b');
}

void writelog(const char *line, ikcpcb *kcp, void *user)
{
	Sink *s = (Sink *)user;
	Endpoint *ep = s->ep;
	if (ep->loglen + 256 >= sizeof(ep->log)) return;
	ep->loglen += (size_t)snprintf(ep->log + ep->loglen, sizeof(ep->log) - ep->loglen,
		"%d%s %s\n", s->tag, ep->k == kcp ? "" : "<foreign kcp>", line);
}

int emitted_differ(const Endpoint *c, const Endpoint *r, char *why, size_t cap)
{
	int i;
	if (c->loglen != r->loglen || memcmp(c->log, r->log, c->loglen) != 0) {
		snprintf(why, cap, "log lines differ:\n--- ikcp.c\n%.*s--- kcp-ffi\n%.*s",
			(int)c->loglen, c->log, (int)r->loglen, r->log);
		return 1;
	}
	if (c->out.n != r->out.n) {
		snprintf(why, cap, "datagram count: ikcp.c %d, kcp-ffi %d", c->out.n, r->out.n);
		return 1;
	}
	for (i = 0; i < c->out.n; i++) {
		const Datagram *a = &c->out.items[i], *b = &r->out.items[i];
		if (a->len != b->len) {
			snprintf(why, cap, "datagram %d: length ikcp.c %d, kcp-ffi %d", i, a->len, b->len);
			return 1;
		}
		if (memcmp(a->data, b->data, (size_t)a->len) != 0) {
			int at = 0;
			while (a->data[at] == b->data[at]) at++;
			snprintf(why, cap, "datagram %d (%d bytes): first difference at byte %d "
				"(ikcp.c %02x, kcp-ffi %02x)", i, a->len, at, a->data[at], b->data[at]);
			return 1;
		}
		if (a->via != b->via || a->user != b->user) {
			snprintf(why, cap, "datagram %d: went to output %c user %d (ikcp.c) vs "
				"output %c user %d (kcp-ffi)", i, a->via, a->user, b->via, b->user);
			return 1;
		}
	}
	return 0;
}

int fields_differ(const ikcpcb *c, const ikcpcb *r, char *why, size_t cap)
{
#define FIELD(f) \
	if ((long long)c->f != (long long)r->f) { \
		snprintf(why, cap, "field %s: ikcp.c %lld, kcp-ffi %lld", #f, \
			(long long)c->f, (long long)r->f); \
		return 1; \
	}
	FIELD(conv) FIELD(mtu) FIELD(mss) FIELD(state)
	FIELD(snd_una) FIELD(snd_nxt) FIELD(rcv_nxt)
	FIELD(ts_recent) FIELD(ts_lastack) FIELD(ssthresh)
	FIELD(rx_rttval) FIELD(rx_srtt) FIELD(rx_rto) FIELD(rx_minrto)
	FIELD(snd_wnd) FIELD(rcv_wnd) FIELD(rmt_wnd) FIELD(cwnd) FIELD(probe)
	FIELD(current) FIELD(interval) FIELD(ts_flush) FIELD(xmit)
	FIELD(nrcv_buf) FIELD(nsnd_buf) FIELD(nrcv_que) FIELD(nsnd_que)
	FIELD(nodelay) FIELD(updated) FIELD(ts_probe) FIELD(probe_wait)
	FIELD(dead_link) FIELD(incr) FIELD(ackcount) FIELD(ackblock)
	FIELD(fastresend) FIELD(fastlimit) FIELD(nocwnd) FIELD(stream) FIELD(logmask)
#undef FIELD
	return 0;
}

int longest_queued(const ikcpcb *k)
{
	const struct IQUEUEHEAD *heads[2] = { &k->snd_queue, &k->snd_buf };
	const struct IQUEUEHEAD *p;
	int i, longest = 0;
	for (i = 0; i < 2; i++) {
		for (p = heads[i]->next; p != heads[i]; p = p->next) {
			const struct IKCPSEG *seg = iqueue_entry(p, const struct IKCPSEG, node);
			if ((int)seg->len > longest) longest = (int)seg->len;
		}
	}
	return longest;
}
