/*
 * The C API of kcp-ffi against ikcp.c 1.7.1 (compiled -O2), in one process, through the
 * same C harness, in the shapes of the workspace's kcp-core benchmarks:
 *
 *  - flush_1024_idle: one ikcp_flush over 1,024 in-flight segments of which none is due;
 *  - bulk_100MiB: two endpoints move 100 MiB in 1,000-byte messages over a perfect
 *    in-memory link (nodelay 1/10/2/1, windows 1,024, MTU 1,400);
 *  - bulk_100MiB_loss10: the same with every 10th datagram dropped in each direction.
 *
 * The two implementations run alternately, several rounds; each figure is the median of
 * its rounds, and the ratio kcp-ffi / ikcp.c is the median of the per-round ratios. Before timing, both
 * must finish a lossy transfer in the same virtual time (a cheap proof that they run the
 * same protocol).
 *
 * scripts/bench-ffi.sh builds and runs it.
 * Usage: bench [--quick | --only kcp-ffi|ikcp.c [MIB [DROP_EVERY]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worlds.h"

#define CONV 0x11223344u
#define WINDOW 1024
#define MESSAGE 1000

/* The wire: datagrams copied out of the output callback, as a program that queues them
 * for sendto() would. */
typedef struct {
	unsigned char (*slot)[1500];
	int *len;
	int n, cap;
	long drop_every;
	long *counter;
} Queue;

static int enqueue(const char *buf, int len, ikcpcb *kcp, void *user)
{
	Queue *q = (Queue *)user;
	(void)kcp;
	if (q->drop_every && ++*q->counter % q->drop_every == 0) return 0;
	if (q->n == q->cap || len > 1500) {
		fprintf(stderr, "bench: wire overflow\n");
		exit(2);
	}
	memcpy(q->slot[q->n], buf, (size_t)len);
	q->len[q->n++] = len;
	return 0;
}

static int discard(const char *buf, int len, ikcpcb *kcp, void *user)
{
	(void)buf, (void)kcp, (void)user;
	return len;
}

static void queue_init(Queue *q, long drop_every, long *counter)
{
	q->cap = 8 * WINDOW;
	q->slot = malloc((size_t)q->cap * sizeof(*q->slot));
	q->len = malloc((size_t)q->cap * sizeof(int));
	q->n = 0;
	q->drop_every = drop_every;
	q->counter = counter;
}

static ikcpcb *endpoint(const Api *api, Queue *q)
{
	ikcpcb *k = api->create(CONV, q);
	api->setoutput(k, enqueue);
	api->nodelay(k, 1, 10, 2, 1);
	api->wndsize(k, WINDOW, WINDOW);
	return k;
}

static void deliver(const Api *api, Queue *q, ikcpcb *to)
{
	int i;
	for (i = 0; i < q->n; i++) api->input(to, (const char *)q->slot[i], q->len[i]);
	q->n = 0;
}

/* Moves `total` bytes from a to b; returns the virtual milliseconds it took. */
static unsigned bulk(const Api *api, long total, long drop_every)
{
	static char msg[MESSAGE], buf[4 * MESSAGE];
	long counter = 0, sent = 0, received = 0;
	unsigned now = 0;
	Queue ab, ba;
	ikcpcb *a, *b;
	int n;
	queue_init(&ab, drop_every, &counter);
	queue_init(&ba, drop_every, &counter);
	a = endpoint(api, &ab);
	b = endpoint(api, &ba);
	memset(msg, 0x5A, sizeof(msg));
	while (received < total) {
		while (sent < total && api->waitsnd(a) < 2 * WINDOW) {
			api->send(a, msg, MESSAGE);
			sent += MESSAGE;
		}
		api->update(a, now);
		deliver(api, &ab, b);
		api->update(b, now);
		deliver(api, &ba, a);
		while ((n = api->recv(b, buf, sizeof(buf))) > 0) received += n;
		now += 10;
	}
	api->release(a);
	api->release(b);
	free(ab.slot), free(ab.len), free(ba.slot), free(ba.len);
	return now;
}

/* One endpoint with 1,024 segments in flight, none of them due. */
static ikcpcb *idle_flight(const Api *api, Queue *q)
{
	static char msg[MESSAGE];
	unsigned char wins[24] = { 0 };
	unsigned conv = CONV, wnd = 4096;
	ikcpcb *k = endpoint(api, q);
	int i;
	memcpy(wins, &conv, 4);
	wins[4] = 84; /* WINS: the peer's window is 4,096 */
	wins[6] = (unsigned char)wnd, wins[7] = (unsigned char)(wnd >> 8);
	api->input(k, (const char *)wins, 24);
	for (i = 0; i < 1024; i++) api->send(k, msg, MESSAGE);
	api->update(k, 0);
	q->n = 0;
	api->setoutput(k, discard);
	if (api->waitsnd(k) != 1024) {
		fprintf(stderr, "bench: %s: %d in flight\n", api->name, api->waitsnd(k));
		exit(2);
	}
	return k;
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int by_value(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Prints the medians (min-max) of both, and the median of the per-round ratios: the two
 * run back to back in each round, so a ratio taken within a round cancels the machine's
 * drift between rounds. */
static void report(const char *shape, const char *unit, double scale, double *t[2], int rounds)
{
	double ratio[16], c, r;
	int i;
	for (i = 0; i < rounds; i++) ratio[i] = t[1][i] / t[0][i];
	c = median(t[0], rounds);
	r = median(t[1], rounds);
	printf("%-20s kcp-ffi %9.2f %s (%.2f-%.2f)  ikcp.c %9.2f %s (%.2f-%.2f)  "
		"kcp-ffi/ikcp.c %.2f\n", shape, r * scale, unit, t[1][0] * scale,
		t[1][rounds - 1] * scale, c * scale, unit, t[0][0] * scale,
		t[0][rounds - 1] * scale, median(ratio, rounds));
}

int main(int argc, char **argv)
{
	const Api *api[2] = { &THEIRS, &OURS };
	int quick = argc > 1 && !strcmp(argv[1], "--quick");
	int rounds = quick ? 1 : 15, flushes = quick ? 10 : 20000, round, w, i;
	long total = quick ? 1L << 20 : 100L << 20;
	double times[2][3][16], *t[2];
	unsigned vt[2];
	Queue q[2];
	ikcpcb *idle[2];
	long counter = 0;

	if (argc > 2 && !strcmp(argv[1], "--only")) {
		/* For profilers: one implementation's bulk transfers alone (argv[3]: MiB). */
		w = !strcmp(argv[2], "kcp-ffi");
		if (argc > 3) total = atol(argv[3]) << 20;
		for (round = 0; round < 5; round++) bulk(api[w], total, argc > 4 ? atol(argv[4]) : 0);
		return 0;
	}
	for (w = 0; w < 2; w++) vt[w] = bulk(api[w], 4L << 20, 10);
	if (vt[0] != vt[1]) {
		fprintf(stderr, "bench: the lossy transfer took %u ms (ikcp.c) and %u ms (kcp-ffi)\n",
			vt[0], vt[1]);
		return 1;
	}
	for (w = 0; w < 2; w++) {
		queue_init(&q[w], 0, &counter);
		idle[w] = idle_flight(api[w], &q[w]);
	}
	for (round = 0; round < rounds; round++) {
		for (w = 0; w < 2; w++) {
			double start = seconds();
			for (i = 0; i < flushes; i++) api[w]->flush(idle[w]);
			times[w][0][round] = (seconds() - start) / flushes;
			start = seconds();
			bulk(api[w], total, 0);
			times[w][1][round] = seconds() - start;
			start = seconds();
			bulk(api[w], total, 10);
			times[w][2][round] = seconds() - start;
		}
	}
	printf("lossy 4 MiB transfer: %u ms of virtual time in both\n", vt[0]);
	t[0] = times[0][0], t[1] = times[1][0];
	report("flush_1024_idle", "us", 1e6, t, rounds);
	t[0] = times[0][1], t[1] = times[1][1];
	report(quick ? "bulk_1MiB" : "bulk_100MiB", "ms", 1e3, t, rounds);
	t[0] = times[0][2], t[1] = times[1][2];
	report(quick ? "bulk_1MiB_loss10" : "bulk_100MiB_loss10", "ms", 1e3, t, rounds);
	for (w = 0; w < 2; w++) {
		api[w]->release(idle[w]);
		free(q[w].slot), free(q[w].len);
	}
	return 0;
}
