/*
 * The two worlds of the C-level differential test: the real ikcp.c 1.7.1 (its functions
 * renamed c_ikcp_*, see rename.h) and kcp-ffi (ikcp_*), both reached only through the
 * C API of ikcp.h, and the endpoints, sinks and comparisons the scripts work with.
 */
#ifndef KCP_FFI_WORLDS_H
#define KCP_FFI_WORLDS_H

#include <stddef.h>
#include <stdint.h>

#include "ikcp.h"

/* The API of ikcp.h as a table, one per implementation. */
typedef struct {
	const char *name;
	ikcpcb *(*create)(IUINT32 conv, void *user);
	void (*release)(ikcpcb *kcp);
	void (*setoutput)(ikcpcb *kcp, int (*output)(const char *, int, ikcpcb *, void *));
	int (*recv)(ikcpcb *kcp, char *buffer, int len);
	int (*send)(ikcpcb *kcp, const char *buffer, int len);
	void (*update)(ikcpcb *kcp, IUINT32 current);
	IUINT32 (*check)(const ikcpcb *kcp, IUINT32 current);
	int (*input)(ikcpcb *kcp, const char *data, long size);
	void (*flush)(ikcpcb *kcp);
	int (*peeksize)(const ikcpcb *kcp);
	int (*setmtu)(ikcpcb *kcp, int mtu);
	int (*wndsize)(ikcpcb *kcp, int sndwnd, int rcvwnd);
	int (*waitsnd)(const ikcpcb *kcp);
	int (*nodelay)(ikcpcb *kcp, int nodelay, int interval, int resend, int nc);
	void (*log)(ikcpcb *kcp, int mask, const char *fmt, ...);
	void (*allocator)(void *(*new_malloc)(size_t), void (*new_free)(void *));
	IUINT32 (*getconv)(const void *ptr);
} Api;

extern const Api THEIRS; /* ikcp.c */
extern const Api OURS;   /* kcp-ffi */

/* A growable list of datagrams; each remembers which output callback and which user
 * object it was handed to. */
typedef struct {
	unsigned char *data;
	int len;
	char via; /* 'a' or 'b': the output function */
	int user; /* 0 or 1: the user object */
} Datagram;

typedef struct {
	Datagram *items;
	int n, cap;
} DgList;

void dg_push(DgList *l, const unsigned char *data, int len, char via, int user);
void dg_remove(DgList *l, int at, Datagram *out);
void dg_clear(DgList *l);

struct Endpoint;

/* What `user` points to: an endpoint and which of its two user objects this is. */
typedef struct {
	struct Endpoint *ep;
	int tag;
} Sink;

/* One side of a conversation in one world: the control block, what it emitted since the
 * last comparison (datagrams and log text). */
typedef struct Endpoint {
	ikcpcb *k;
	DgList out;
	char log[1 << 16];
	size_t loglen;
	Sink users[2];
} Endpoint;

/* The two output callbacks (the same behaviour under two addresses, so that switching
 * `output` is observable) and the log callback. */
int out_a(const char *buf, int len, ikcpcb *kcp, void *user);
int out_b(const char *buf, int len, ikcpcb *kcp, void *user);
void writelog(const char *line, ikcpcb *kcp, void *user);

/* Describes the first difference between the two endpoints' emitted datagrams or log
 * lines into `why`; returns 0 when they agree. */
int emitted_differ(const Endpoint *c, const Endpoint *r, char *why, size_t cap);

/* Describes the first field of the control blocks that differs; 0 when all agree. */
int fields_differ(const ikcpcb *c, const ikcpcb *r, char *why, size_t cap);

/* Longest payload queued or in flight in an ikcp.c control block (its lists are real). */
int longest_queued(const ikcpcb *k);

#endif
