/*
 * C-level differential test: kcp-ffi against the real ikcp.c 1.7.1 in one program, both
 * driven only through the C API of ikcp.h by the same seeded scripts.
 *
 * Each scenario runs one conversation (two endpoints) in each world: sends of 0 bytes to
 * past the fragment limit (and negative lengths), clock steps, updates, flushes, receives
 * and peeks with assorted buffers (NULL, negative lengths, too small), MTU, window and
 * no-delay calls, datagrams delivered with loss, duplication, reordering, gluing and
 * truncation, garbage and crafted datagrams, direct writes into the struct in the middle
 * of traffic (rx_minrto, fastresend, fastlimit, nocwnd, stream, dead_link, nodelay,
 * interval, current, snd_wnd, rcv_wnd, logmask, writelog, user, output) and ikcp_log.
 * After every call it requires the same return values, the same datagrams (byte for
 * byte, in order, to the same output function and user object), the same log lines and
 * the same value in every scalar field of both control blocks, plus equal ikcp_check,
 * ikcp_waitsnd and ikcp_peeksize.
 *
 * Kept out of the scripts, because ikcp.c's behaviour there is undefined or deliberately
 * not copied (kcp-ffi's README lists them): ACK timestamps far from the receiver's clock
 * (signed overflow in the RTT estimator), shrinking the MTU below a queued segment
 * (buffer overflow), sending from a NULL buffer, recv with INT_MIN, receive windows
 * above 65535, and writes of interval, rcv_wnd or snd_wnd outside what ikcp_nodelay and
 * ikcp_wndsize accept.
 *
 * Usage: differential [--scenarios N] [--base SEED] [--seed SEED --verbose] [--hooks]
 * Exit status 0 when every scenario agreed; the last line then counts what was covered.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worlds.h"

#define PUSH 81
#define ACK 82
#define WASK 83
#define WINS 84
#define HISTORY 40

static const Api *W[2] = { &THEIRS, &OURS };
static Endpoint ep[2][2]; /* [world][side] */

static uint64_t rng;
static uint64_t seed;
static long step;
static int verbose;
static uint32_t now;
static uint32_t offset[2];
static double loss, duplicate, reorder, fresh_clock;
static DgList wire[2]; /* datagrams in flight from side i */
static DgList recent;
static char history[HISTORY][240];
static int nhistory;

static struct {
	long scenarios, steps, datagrams, segments[4], bytes, recv_ok, recv_errors, peeks,
		null_recvs, input_errors, pokes, log_lines, user_logs, output_switches, dead_link,
		zero_window, rto_retransmits, too_large;
} cov;

/* ---------------------------------------------------------------- randomness */

static uint64_t next64(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint32_t below(uint32_t n) { return n ? (uint32_t)(next64() % n) : 0; }
static uint32_t range(uint32_t lo, uint32_t hi) { return lo + below(hi - lo); }
static int chance(double p) { return (double)(next64() >> 11) / 9007199254740992.0 < p; }
static double unit(void) { return (double)(next64() >> 11) / 9007199254740992.0; }

static void fill(unsigned char *p, int n)
{
	int i;
	for (i = 0; i < n; i++) p[i] = (unsigned char)next64();
}

/* ---------------------------------------------------------------- reporting */

static void note(const char *fmt, ...)
{
	char line[200];
	va_list args;
	va_start(args, fmt);
	vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	if (verbose) printf("step %ld: %s\n", step, line);
	snprintf(history[nhistory % HISTORY], sizeof(history[0]), "%ld: %s", step, line);
	nhistory++;
}

static void fail(const char *fmt, ...)
{
	char what[1 << 17];
	va_list args;
	int i, first = nhistory > HISTORY ? nhistory - HISTORY : 0;
	va_start(args, fmt);
	vsnprintf(what, sizeof(what), fmt, args);
	va_end(args);
	fprintf(stderr, "ikcp.c and kcp-ffi diverge: seed %llu step %ld\n"
		"replay: differential --seed %llu --verbose\nrecent steps:\n",
		(unsigned long long)seed, step, (unsigned long long)seed);
	for (i = first; i < nhistory; i++) fprintf(stderr, "  %s\n", history[i % HISTORY]);
	fprintf(stderr, "%s\n", what);
	exit(1);
}

static void expect_eq(const char *what, long long c, long long r)
{
	if (c != r) fail("%s: ikcp.c %lld, kcp-ffi %lld", what, c, r);
}

/* ---------------------------------------------------------------- observation */

static uint32_t side_now(int i) { return now + offset[i]; }

/* Everything observable about both sides must agree. */
static void compare(void)
{
	char why[512];
	int i;
	for (i = 0; i < 2; i++) {
		ikcpcb *c = ep[0][i].k, *r = ep[1][i].k;
		uint32_t t = side_now(i);
		if (fields_differ(c, r, why, sizeof(why))) fail("side %d: %s", i, why);
		expect_eq("ikcp_check", THEIRS.check(c, t), OURS.check(r, t));
		expect_eq("ikcp_check (+interval)", THEIRS.check(c, t + c->interval),
			OURS.check(r, t + r->interval));
		expect_eq("ikcp_waitsnd", THEIRS.waitsnd(c), OURS.waitsnd(r));
		expect_eq("ikcp_peeksize", THEIRS.peeksize(c), OURS.peeksize(r));
		cov.dead_link += c->state != 0;
		cov.zero_window += c->rmt_wnd == 0;
		if ((long)c->xmit > cov.rto_retransmits) cov.rto_retransmits = c->xmit;
	}
}

/* Compares what side i emitted in both worlds, then puts the datagrams of ikcp.c on the
 * wire (after loss and duplication) and forgets the rest. */
static void settle(int i)
{
	char why[1 << 17];
	Endpoint *c = &ep[0][i], *r = &ep[1][i];
	const char *p;
	int n;
	if (emitted_differ(c, r, why, sizeof(why))) fail("side %d emitted differently: %s", i, why);
	for (p = c->log; p < c->log + c->loglen; p++) cov.log_lines += *p == '\n';
	for (n = 0; n < c->out.n; n++) {
		const Datagram *d = &c->out.items[n];
		int at;
		cov.datagrams++;
		for (at = 0; at + 24 <= d->len; ) {
			uint32_t len;
			unsigned cmd = d->data[at + 4];
			memcpy(&len, d->data + at + 20, 4);
			if (cmd >= PUSH && cmd <= WINS) cov.segments[cmd - PUSH]++;
			at += 24 + (int)len;
		}
		if (recent.n == 32) {
			Datagram gone;
			dg_remove(&recent, (int)below(32), &gone);
			free(gone.data);
		}
		dg_push(&recent, d->data, d->len, d->via, d->user);
		if (chance(loss)) continue;
		if (chance(duplicate)) dg_push(&wire[i], d->data, d->len, d->via, d->user);
		dg_push(&wire[i], d->data, d->len, d->via, d->user);
	}
	dg_clear(&c->out);
	dg_clear(&r->out);
	c->loglen = r->loglen = 0;
}

/* ---------------------------------------------------------------- calls */

static void update(int i)
{
	uint32_t t = side_now(i);
	int w;
	for (w = 0; w < 2; w++) W[w]->update(ep[w][i].k, t);
	note("side %d: update(%u) -> %d datagrams", i, t, ep[0][i].out.n);
	settle(i);
}

static void flush(int i)
{
	int w;
	for (w = 0; w < 2; w++) W[w]->flush(ep[w][i].k);
	note("side %d: flush -> %d datagrams", i, ep[0][i].out.n);
	settle(i);
}

static void send(int i)
{
	int mss = (int)ep[0][i].k->mss, len, rc[2], w;
	unsigned char *data;
	uint32_t pick = below(100);
	if (pick < 6) len = 0;
	else if (pick < 8) len = -(int)range(1, 3000);
	else if (pick < 50) len = (int)range(1, (uint32_t)mss);
	else if (pick < 78) len = (int)range((uint32_t)mss, 4u * (uint32_t)mss);
	else if (pick < 94) len = (int)range(4u * (uint32_t)mss, 40u * (uint32_t)mss);
	else len = (int)range(125u * (uint32_t)mss, 129u * (uint32_t)mss);
	data = malloc(len > 0 ? (size_t)len : 1);
	if (len > 0) fill(data, len);
	/* An empty message from a NULL buffer is legal (and common). */
	for (w = 0; w < 2; w++)
		rc[w] = W[w]->send(ep[w][i].k, len == 0 && chance(0.5) ? NULL : (char *)data, len);
	free(data);
	note("side %d: send(%d) -> %d", i, len, rc[0]);
	expect_eq("ikcp_send", rc[0], rc[1]);
	cov.too_large += rc[0] == -2;
	settle(i);
}

static void recv_one(int i)
{
	int mss = (int)ep[0][i].k->mss, size = THEIRS.peeksize(ep[0][i].k), cap, len, rc[2], w;
	int peek, null_buffer;
	char *buf[2];
	switch (below(8)) {
	case 0: case 1: case 2: cap = size >= 0 ? size : mss; break;
	case 3: cap = size > 0 ? size - 1 : 0; break;
	case 4: cap = (int)range(0, 2u * (uint32_t)mss); break;
	case 5: cap = mss; break;
	default: cap = 128 * mss;
	}
	peek = chance(0.2);
	null_buffer = chance(0.08);
	len = peek ? -cap : cap;
	for (w = 0; w < 2; w++) {
		buf[w] = malloc((size_t)cap + 1);
		memset(buf[w], 0x5A, (size_t)cap + 1);
		rc[w] = W[w]->recv(ep[w][i].k, null_buffer ? NULL : buf[w], len);
	}
	note("side %d: recv(%s, %d) -> %d", i, null_buffer ? "NULL" : "buf", len, rc[0]);
	expect_eq("ikcp_recv", rc[0], rc[1]);
	if (memcmp(buf[0], buf[1], (size_t)cap + 1) != 0) fail("ikcp_recv wrote different bytes");
	if (rc[0] >= 0) {
		cov.recv_ok++;
		cov.bytes += rc[0];
	} else {
		cov.recv_errors++;
	}
	cov.peeks += peek;
	cov.null_recvs += null_buffer;
	free(buf[0]);
	free(buf[1]);
	settle(i);
}

static void input(int i, const unsigned char *data, long size, const char *label)
{
	int rc[2], w;
	if (chance(fresh_clock)) {
		/* As ikcp's author advises: set the clock before input for fresher RTTs. */
		for (w = 0; w < 2; w++) ep[w][i].k->current = side_now(i);
	}
	for (w = 0; w < 2; w++) rc[w] = W[w]->input(ep[w][i].k, (const char *)data, size);
	note("side %d: input %s (%ld bytes) -> %d", i, label, size, rc[0]);
	expect_eq("ikcp_input", rc[0], rc[1]);
	cov.input_errors += rc[0] != 0;
	settle(i);
}

/* Delivers one or more datagrams from the other side's wire to side i. */
static void deliver(int i)
{
	int from = 1 - i, n = chance(0.3) ? wire[from].n : 1, k;
	for (k = 0; k < n && wire[from].n > 0; k++) {
		Datagram d, next;
		int at = chance(reorder) ? (int)below((uint32_t)wire[from].n) : 0;
		dg_remove(&wire[from], at, &d);
		if (wire[from].n > 0 && chance(0.05)) {
			/* Two datagrams glued, as a batching lower layer could hand them over. */
			dg_remove(&wire[from], 0, &next);
			d.data = realloc(d.data, (size_t)(d.len + next.len));
			memcpy(d.data + d.len, next.data, (size_t)next.len);
			d.len += next.len;
			free(next.data);
			input(i, d.data, d.len, "two datagrams glued");
		} else if (chance(0.03)) {
			input(i, d.data, (long)range(0, (uint32_t)d.len + 1), "datagram, short size");
		} else {
			input(i, d.data, d.len, "datagram");
		}
		free(d.data);
	}
}

/* A timestamp close to side i's clock: every ts that reaches an RTT sample must be. */
static uint32_t plausible_ts(int i) { return side_now(i) - range(0, 5000); }

/* Feeds side i what a broken or hostile network could deliver. */
static void garbage(int i)
{
	unsigned char d[4096];
	int len = 0, k;
	uint32_t conv = ep[0][i].k->conv, pick = below(9);
	const char *label;
	if (pick == 0) {
		len = (int)range(0, 80);
		fill(d, len);
		label = "random bytes";
	} else if (pick <= 3 && recent.n > 0) {
		const Datagram *r = &recent.items[below((uint32_t)recent.n)];
		len = r->len;
		memcpy(d, r->data, (size_t)len);
		if (pick == 1) {
			len = (int)range(0, (uint32_t)len);
			label = "truncated datagram";
		} else if (pick == 2) {
			d[0] ^= (unsigned char)range(1, 256);
			label = "wrong conv";
		} else {
			/* Damage any field of one segment but ts. */
			int seg = 0, at = 0, nth = 0;
			while (at + 24 <= len) {
				uint32_t l;
				if (below((uint32_t)++nth) == 0) seg = at;
				memcpy(&l, d + at + 20, 4);
				at += 24 + (int)l;
			}
			switch (below(6)) {
			case 0: { static const unsigned char cmds[] = { 0, 80, PUSH, ACK, WASK, WINS, 85, 255 };
				d[seg + 4] = cmds[below(8)]; break; }
			case 1: d[seg + 5] = (unsigned char)next64(); break;
			case 2: d[seg + 6] = (unsigned char)below(3); d[seg + 7] = 0; break;
			case 3: d[seg + 12] ^= (unsigned char)range(1, 256); break;
			case 4: { uint32_t v = (uint32_t)next64(); memcpy(d + seg + 16, &v, 4); break; }
			default: { uint32_t v = (uint32_t)next64(); memcpy(d + seg + 20, &v, 4); }
			}
			label = "mutated datagram";
		}
	} else if (pick == 4 && recent.n > 0) {
		const Datagram *r = &recent.items[below((uint32_t)recent.n)];
		len = r->len;
		memcpy(d, r->data, (size_t)len);
		label = "reflected datagram";
	} else if (pick == 5) {
		/* Invalid arguments: NULL data, negative and short sizes. */
		fill(d, 24);
		switch (below(3)) {
		case 0: input(i, NULL, (long)range(0, 100), "NULL data"); return;
		case 1: input(i, d, -(long)range(1, 100000), "negative size"); return;
		default: fill(d, 23); input(i, d, 23, "23 bytes"); return;
		}
	} else {
		for (k = (int)range(1, 4); k > 0; k--) {
			static const unsigned char cmds[] = { PUSH, ACK, WASK, WINS, PUSH, 0x55 };
			unsigned char cmd = cmds[below(6)];
			uint32_t plen = cmd == PUSH ? range(0, 64) : 0, claimed = plen;
			uint32_t base = cmd == ACK ? ep[0][i].k->snd_una : ep[0][i].k->rcv_nxt;
			uint32_t sn = base + range(0, 300) - 20, ts = plausible_ts(i);
			uint32_t una = ep[0][i].k->snd_una + range(0, 40) - 10;
			static const uint16_t wnds[] = { 0, 1, 128, 65535, 77 };
			uint16_t wnd = below(5) == 4 ? (uint16_t)next64() : wnds[below(4)];
			if (chance(0.1)) claimed += range(1, 101);
			memcpy(d + len, &conv, 4);
			d[len + 4] = cmd;
			d[len + 5] = (unsigned char)below(4);
			memcpy(d + len + 6, &wnd, 2);
			memcpy(d + len + 8, &ts, 4);
			memcpy(d + len + 12, &sn, 4);
			memcpy(d + len + 16, &una, 4);
			memcpy(d + len + 20, &claimed, 4);
			fill(d + len + 24, (int)plen);
			len += 24 + (int)plen;
		}
		label = "crafted segments";
	}
	input(i, d, len, label);
}

/* One configuration call through the API on side i, in both worlds. */
static void configure(int i)
{
	int w, rc[2] = { 0, 0 };
	uint32_t pick = below(4);
	if (pick == 0) {
		static const int some[] = { 40, 49, 50, 51, 200, 576, 1400, 1500 };
		int mtu = chance(0.5) ? some[below(8)] : (int)range(50, 1500);
		/* ikcp.c would overflow its buffer with a queued segment this large. */
		if (longest_queued(ep[0][i].k) + 24 > 3 * (mtu + 24)) return;
		for (w = 0; w < 2; w++) rc[w] = W[w]->setmtu(ep[w][i].k, mtu);
		note("side %d: setmtu(%d) -> %d", i, mtu, rc[0]);
		expect_eq("ikcp_setmtu", rc[0], rc[1]);
	} else if (pick == 1) {
		int snd = (int)range(0, 4) == 0 ? -(int)range(0, 3) : (int)range(1, 4096);
		int rcv = chance(0.2) ? (int)range(4096, 65536) : (int)range(0, 4096) - 5;
		for (w = 0; w < 2; w++) rc[w] = W[w]->wndsize(ep[w][i].k, snd, rcv);
		note("side %d: wndsize(%d, %d) -> %d", i, snd, rcv, rc[0]);
		expect_eq("ikcp_wndsize", rc[0], rc[1]);
	} else {
		int a = (int)range(0, 5) - 1, b = (int)range(0, 6000) - 10;
		int c = (int)range(0, 5) - 1, d = (int)range(0, 4) - 1;
		if (chance(0.3)) b = (int)range(10, 100);
		for (w = 0; w < 2; w++) rc[w] = W[w]->nodelay(ep[w][i].k, a, b, c, d);
		note("side %d: nodelay(%d, %d, %d, %d) -> %d", i, a, b, c, d, rc[0]);
		expect_eq("ikcp_nodelay", rc[0], rc[1]);
	}
	settle(i);
}

/* A direct write into the struct on side i, the same in both worlds. */
static void poke(int i)
{
	const char *field = NULL;
	long long value = 0;
	uint32_t pick = below(16);
	int w;
	for (w = 0; w < 2; w++) {
		ikcpcb *k = ep[w][i].k;
		/* The same choice in both worlds: rewind the generator for the second one. */
		uint64_t saved = rng;
		switch (pick) {
		case 0: field = "rx_minrto";
			value = below(5) == 0 ? (int32_t)(0xFFFFFFFFu - below(1000)) : (int)range(0, 400);
			k->rx_minrto = (IINT32)value; break;
		case 1: field = "fastresend"; k->fastresend = (int)(value = (int)range(0, 6) - 1); break;
		case 2: field = "fastlimit"; k->fastlimit = (int)(value = (int)range(0, 12) - 2); break;
		case 3: field = "nocwnd"; k->nocwnd = (int)(value = range(0, 3)); break;
		case 4: field = "stream"; k->stream = (int)(value = range(0, 3)); break;
		case 5: field = "dead_link"; k->dead_link = (IUINT32)(value = range(0, 40)); break;
		case 6: field = "nodelay"; k->nodelay = (IUINT32)(value = range(0, 4)); break;
		case 7: field = "interval"; k->interval = (IUINT32)(value = range(10, 5001)); break;
		case 8: field = "current"; k->current = (IUINT32)(value = side_now(i) - range(0, 3000)); break;
		case 9: field = "snd_wnd"; k->snd_wnd = (IUINT32)(value = range(1, 4097)); break;
		case 10: field = "rcv_wnd"; k->rcv_wnd = (IUINT32)(value = range(128, 65536)); break;
		case 11: field = "logmask"; k->logmask = (int)(value = below(4096)); break;
		case 12: field = "writelog";
			value = chance(0.7);
			k->writelog = value ? writelog : NULL; break;
		case 13: field = "user";
			value = below(2);
			k->user = &ep[w][i].users[value]; break;
		case 14: field = "output";
			value = below(3);
			if (value == 2) W[w]->setoutput(k, out_a);
			else k->output = value ? out_b : out_a;
			cov.output_switches++;
			break;
		default: {
			/* ikcp_log called by the program itself, formatted by each library. */
			int n = (int)range(0, 100000);
			field = "ikcp_log";
			value = n;
			W[w]->log(k, (int)(1u << below(12)), "user log %d %s %u", n, "text", 7u);
			cov.user_logs++;
		}
		}
		if (w == 0) rng = saved;
	}
	cov.pokes++;
	note("side %d: kcp->%s = %lld", i, field, value);
	settle(i);
}

/* ---------------------------------------------------------------- a scenario */

static void advance_clock(void)
{
	uint32_t iv = ep[0][0].k->interval > ep[0][1].k->interval ? ep[0][0].k->interval
		: ep[0][1].k->interval;
	uint32_t pick = below(100);
	long long dt;
	if (pick < 10) dt = 0;
	else if (pick < 50) dt = range(1, iv);
	else if (pick < 80) dt = range(iv, 3 * iv);
	else if (pick < 95) dt = range(100, 2000);
	else if (pick < 99) dt = range(5000, 16000);
	else dt = -(long long)range(1, 50);
	now += (uint32_t)dt;
	note("clock %+lld -> %u", dt, now);
}

static void setup(void)
{
	uint32_t conv, sn[2], rcv[2];
	int i, w, k;
	switch (below(4)) {
	case 0: conv = 0xFFFFFFFFu - below(3); break;
	case 1: conv = below(3); break;
	default: conv = (uint32_t)next64();
	}
	switch (below(4)) {
	case 0: now = 0xFFFFFFFFu - below(200000); break;
	case 1: now = below(1000); break;
	default: now = (uint32_t)next64();
	}
	for (i = 0; i < 2; i++) offset[i] = chance(0.6) ? 0 : range(0, 6000) - 3000;
	if (below(5) == 0) {
		loss = duplicate = reorder = fresh_clock = 0;
	} else {
		loss = unit() * 0.4;
		duplicate = unit() * 0.15;
		reorder = unit() * 0.3;
		fresh_clock = unit();
	}
	for (i = 0; i < 2; i++) {
		for (w = 0; w < 2; w++) {
			Endpoint *e = &ep[w][i];
			e->users[0].ep = e->users[1].ep = e;
			e->users[0].tag = 0;
			e->users[1].tag = 1;
			e->k = W[w]->create(conv, &e->users[0]);
			if (e->k == NULL) fail("%s: ikcp_create returned NULL", W[w]->name);
			if (i == 0) e->k->output = out_a;
			else W[w]->setoutput(e->k, out_a);
			/* The clock starts at the scenario's time: with ikcp's initial 0, an ACK
			 * input before the first update would be an absurd RTT sample, on which
			 * ikcp.c's estimator overflows signed integers. */
			e->k->current = side_now(i);
		}
	}
	compare();
	for (i = 0; i < 2; i++) {
		for (k = (int)range(0, 6); k > 0; k--) {
			if (chance(0.5)) configure(i);
			else poke(i);
		}
	}
	/* Initial sequence numbers, written into the struct before any traffic. */
	for (i = 0; i < 2; i++) {
		switch (below(3)) {
		case 0: sn[i] = 0xFFFFFFFFu - below(300); break;
		case 1: sn[i] = 0; break;
		default: sn[i] = (uint32_t)next64();
		}
	}
	for (i = 0; i < 2; i++) {
		rcv[i] = sn[1 - i];
		if (chance(0.1)) rcv[i] += range(0, 400) - 200;
		for (w = 0; w < 2; w++) {
			ep[w][i].k->snd_una = ep[w][i].k->snd_nxt = sn[i];
			ep[w][i].k->rcv_nxt = rcv[i];
		}
	}
	note("setup: conv %#x clock %u sn %u/%u rcv %u/%u offsets %d/%d loss %.2f dup %.2f "
		"reorder %.2f", conv, now, sn[0], sn[1], rcv[0], rcv[1], (int)offset[0],
		(int)offset[1], loss, duplicate, reorder);
	compare();
}

static void drain(void)
{
	int rounds = (int)range(10, 120), i, r;
	note("drain: lossless delivery");
	loss = duplicate = 0;
	for (r = 0; r < rounds; r++) {
		uint32_t iv = ep[0][0].k->interval < ep[0][1].k->interval ? ep[0][0].k->interval
			: ep[0][1].k->interval;
		step++;
		now += iv;
		for (i = 0; i < 2; i++) {
			update(i);
			while (wire[1 - i].n > 0) deliver(i);
			while (THEIRS.peeksize(ep[0][i].k) >= 0) recv_one(i);
			compare();
		}
		if (THEIRS.waitsnd(ep[0][0].k) == 0 && THEIRS.waitsnd(ep[0][1].k) == 0 &&
			wire[0].n == 0 && wire[1].n == 0)
			break;
	}
}

static void scenario(uint64_t s)
{
	int steps, i, w;
	uint32_t recv_weight[2];
	seed = s;
	rng = s;
	step = 0;
	nhistory = 0;
	setup();
	recv_weight[0] = range(1, 20);
	recv_weight[1] = range(1, 20);
	for (steps = (int)range(100, 400); steps > 0; steps--) {
		uint32_t pick;
		step++;
		cov.steps++;
		i = (int)below(2);
		pick = below(100);
		if (pick < 18) send(i);
		else if (pick < 36) {
			advance_clock();
			if (chance(0.85)) update(0);
			if (chance(0.85)) update(1);
		} else if (pick < 40) flush(i);
		else if (pick < 62) deliver(i);
		else if (pick < 70) {
			if (below(20) < recv_weight[i]) recv_one(i);
		} else if (pick < 72) configure(i);
		else if (pick < 76) poke(i);
		else if (pick < 78) garbage(i);
		else if (below(20) < recv_weight[i]) {
			while (THEIRS.peeksize(ep[0][i].k) >= 0) recv_one(i);
		} else {
			deliver(i);
		}
		compare();
	}
	drain();
	for (i = 0; i < 2; i++) {
		for (w = 0; w < 2; w++) {
			W[w]->release(ep[w][i].k);
			ep[w][i].k = NULL;
		}
		dg_clear(&wire[i]);
	}
	dg_clear(&recent);
	cov.scenarios++;
}

/* ---------------------------------------------------------------- allocator hooks */

static long hooked[2];
static void *count_malloc_c(size_t n) { hooked[0]++; return malloc(n); }
static void count_free_c(void *p) { if (p) hooked[0]--; free(p); }
static void *count_malloc_r(size_t n) { hooked[1]++; return malloc(n); }
static void count_free_r(void *p) { if (p) hooked[1]--; free(p); }

int main(int argc, char **argv)
{
	uint64_t base = 0x6B63FF00, one = 0;
	long count = 1000, n;
	int single = 0, hooks = 0, a;
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--scenarios") && a + 1 < argc) count = atol(argv[++a]);
		else if (!strcmp(argv[a], "--base") && a + 1 < argc) base = strtoull(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--seed") && a + 1 < argc) {
			one = strtoull(argv[++a], NULL, 0);
			single = 1;
		} else if (!strcmp(argv[a], "--verbose")) verbose = 1;
		else if (!strcmp(argv[a], "--hooks")) hooks = 1;
		else {
			fprintf(stderr, "usage: %s [--scenarios N] [--base SEED] [--seed SEED] "
				"[--verbose] [--hooks]\n", argv[0]);
			return 2;
		}
	}
	if (hooks) {
		THEIRS.allocator(count_malloc_c, count_free_c);
		OURS.allocator(count_malloc_r, count_free_r);
	}
	if (single) scenario(one);
	else for (n = 0; n < count; n++) scenario(base + (uint64_t)n);
	if (hooks) {
		THEIRS.allocator(NULL, NULL);
		OURS.allocator(NULL, NULL);
		if (hooked[0] != 0 || hooked[1] != 0) {
			fprintf(stderr, "blocks not freed through the hooks: ikcp.c %ld, kcp-ffi %ld\n",
				hooked[0], hooked[1]);
			return 1;
		}
	}
	printf("scenarios=%ld steps=%ld datagrams=%ld push=%ld ack=%ld wask=%ld wins=%ld "
		"bytes=%ld recv_ok=%ld recv_errors=%ld peeks=%ld null_recvs=%ld input_errors=%ld "
		"pokes=%ld log_lines=%ld user_logs=%ld output_switches=%ld too_large=%ld "
		"dead_link=%ld zero_window=%ld rto_retransmits=%ld\n",
		cov.scenarios, cov.steps, cov.datagrams, cov.segments[0], cov.segments[1],
		cov.segments[2], cov.segments[3], cov.bytes, cov.recv_ok, cov.recv_errors, cov.peeks,
		cov.null_recvs, cov.input_errors, cov.pokes, cov.log_lines, cov.user_logs,
		cov.output_switches, cov.too_large, cov.dead_link, cov.zero_window,
		cov.rto_retransmits);
	return 0;
}
