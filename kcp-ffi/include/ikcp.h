/*
 * ikcp.h for kcp-ffi: the C API of ikcp 1.7.1 (KCP, by skywind3000), implemented by the
 * kcp-ffi library (libkcp_ffi.a / libkcp_ffi.so) over the Rust crate kcp-core.
 *
 * It declares the same types, the same struct layouts and the same functions as the
 * upstream header, so a program written for ikcp.c compiles unchanged against it and links
 * against kcp-ffi instead of ikcp.c. Which fields of struct IKCPCB a program may write, and
 * which it may only read, is listed in kcp-ffi's README ("The control block").
 *
 * kcp-ffi's test suite checks this file against the symbols the library exports and the
 * struct layout against the one of the Rust side and of the upstream header.
 */
#ifndef __IKCP_H__
#define __IKCP_H__

#include <stddef.h>
#include <stdlib.h>
#include <assert.h>

/* ------------------------------------------------------------------------------------ */
/* 32-bit integers: the same choice of C type per platform as ikcp.h 1.7.1, so that      */
/* C++ programs see the very same types (and function signatures) as with the original.  */
/* ------------------------------------------------------------------------------------ */
#ifndef __INTEGER_32_BITS__
#define __INTEGER_32_BITS__
#if defined(_WIN64) || defined(WIN64) || defined(__amd64__) || \
	defined(__x86_64) || defined(__x86_64__) || defined(_M_IA64) || \
	defined(_M_AMD64)
typedef unsigned int ISTDUINT32;
typedef int ISTDINT32;
#elif defined(_WIN32) || defined(WIN32) || defined(__i386__) || \
	defined(__i386) || defined(_M_X86)
typedef unsigned long ISTDUINT32;
typedef long ISTDINT32;
#elif defined(__MACOS__)
typedef UInt32 ISTDUINT32;
typedef SInt32 ISTDINT32;
#elif defined(__APPLE__) && defined(__MACH__)
#include <sys/types.h>
typedef u_int32_t ISTDUINT32;
typedef int32_t ISTDINT32;
#elif defined(__BEOS__)
#include <sys/inttypes.h>
typedef u_int32_t ISTDUINT32;
typedef int32_t ISTDINT32;
#elif (defined(_MSC_VER) || defined(__BORLANDC__)) && (!defined(__MSDOS__))
typedef unsigned __int32 ISTDUINT32;
typedef __int32 ISTDINT32;
#elif defined(__GNUC__)
#include <stdint.h>
typedef uint32_t ISTDUINT32;
typedef int32_t ISTDINT32;
#else
typedef unsigned long ISTDUINT32;
typedef long ISTDINT32;
#endif
#endif

#ifndef __IINT8_DEFINED
#define __IINT8_DEFINED
typedef char IINT8;
#endif
#ifndef __IUINT8_DEFINED
#define __IUINT8_DEFINED
typedef unsigned char IUINT8;
#endif
#ifndef __IUINT16_DEFINED
#define __IUINT16_DEFINED
typedef unsigned short IUINT16;
#endif
#ifndef __IINT16_DEFINED
#define __IINT16_DEFINED
typedef short IINT16;
#endif
#ifndef __IINT32_DEFINED
#define __IINT32_DEFINED
typedef ISTDINT32 IINT32;
#endif
#ifndef __IUINT32_DEFINED
#define __IUINT32_DEFINED
typedef ISTDUINT32 IUINT32;
#endif
#ifndef __IINT64_DEFINED
#define __IINT64_DEFINED
#if defined(_MSC_VER) || defined(__BORLANDC__)
typedef __int64 IINT64;
#else
typedef long long IINT64;
#endif
#endif
#ifndef __IUINT64_DEFINED
#define __IUINT64_DEFINED
#if defined(_MSC_VER) || defined(__BORLANDC__)
typedef unsigned __int64 IUINT64;
#else
typedef unsigned long long IUINT64;
#endif
#endif

#ifndef INLINE
#if defined(__GNUC__)
#if (__GNUC__ > 3) || ((__GNUC__ == 3) && (__GNUC_MINOR__ >= 1))
#define INLINE __inline__ __attribute__((always_inline))
#else
#define INLINE __inline__
#endif
#elif (defined(_MSC_VER) || defined(__BORLANDC__) || defined(__WATCOMC__))
#define INLINE __inline
#else
#define INLINE
#endif
#endif

#if (!defined(__cplusplus)) && (!defined(inline))
#define inline INLINE
#endif

/* ------------------------------------------------------------------------------------ */
/* The intrusive list head embedded in IKCPCB. kcp-ffi keeps its queues on the Rust side: */
/* the four heads in IKCPCB always form empty lists, so list walks over them see nothing. */
/* ------------------------------------------------------------------------------------ */
#ifndef __IQUEUE_DEF__
#define __IQUEUE_DEF__

struct IQUEUEHEAD {
	struct IQUEUEHEAD *next, *prev;
};

typedef struct IQUEUEHEAD iqueue_head;

#define IQUEUE_HEAD_INIT(name) { &(name), &(name) }
#define IQUEUE_HEAD(name) struct IQUEUEHEAD name = IQUEUE_HEAD_INIT(name)
#define IQUEUE_INIT(ptr) ((ptr)->next = (ptr), (ptr)->prev = (ptr))
#define IOFFSETOF(TYPE, MEMBER) ((size_t) &((TYPE *)0)->MEMBER)
#define ICONTAINEROF(ptr, type, member) \
	((type*)(((char*)((type*)ptr)) - IOFFSETOF(type, member)))
#define IQUEUE_ENTRY(ptr, type, member) ICONTAINEROF(ptr, type, member)
#define IQUEUE_ADD(node, head) ( \
	(node)->prev = (head), (node)->next = (head)->next, \
	(head)->next->prev = (node), (head)->next = (node))
#define IQUEUE_ADD_TAIL(node, head) ( \
	(node)->prev = (head)->prev, (node)->next = (head), \
	(head)->prev->next = (node), (head)->prev = (node))
#define IQUEUE_DEL_BETWEEN(p, n) ((n)->prev = (p), (p)->next = (n))
#define IQUEUE_DEL(entry) ( \
	(entry)->next->prev = (entry)->prev, \
	(entry)->prev->next = (entry)->next, \
	(entry)->next = 0, (entry)->prev = 0)
#define IQUEUE_DEL_INIT(entry) do { IQUEUE_DEL(entry); IQUEUE_INIT(entry); } while (0)
#define IQUEUE_IS_EMPTY(entry) ((entry) == (entry)->next)

#define iqueue_init IQUEUE_INIT
#define iqueue_entry IQUEUE_ENTRY
#define iqueue_add IQUEUE_ADD
#define iqueue_add_tail IQUEUE_ADD_TAIL
#define iqueue_del IQUEUE_DEL
#define iqueue_del_init IQUEUE_DEL_INIT
#define iqueue_is_empty IQUEUE_IS_EMPTY

#define IQUEUE_FOREACH(iterator, head, TYPE, MEMBER) \
	for ((iterator) = iqueue_entry((head)->next, TYPE, MEMBER); \
		&((iterator)->MEMBER) != (head); \
		(iterator) = iqueue_entry((iterator)->MEMBER.next, TYPE, MEMBER))
#define iqueue_foreach(iterator, head, TYPE, MEMBER) \
	IQUEUE_FOREACH(iterator, head, TYPE, MEMBER)
#define iqueue_foreach_entry(pos, head) \
	for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#endif /* __IQUEUE_DEF__ */

/* Byte order and alignment of the target, as ikcp.h defines them. */
#ifndef IWORDS_BIG_ENDIAN
#ifdef _BIG_ENDIAN_
#if _BIG_ENDIAN_
#define IWORDS_BIG_ENDIAN 1
#endif
#endif
#ifndef IWORDS_BIG_ENDIAN
#if defined(__hppa__) || \
	defined(__m68k__) || defined(mc68000) || defined(_M_M68K) || \
	(defined(__MIPS__) && defined(__MIPSEB__)) || \
	defined(__ppc__) || defined(__POWERPC__) || defined(_M_PPC) || \
	defined(__sparc__) || defined(__powerpc__) || \
	defined(__mc68000__) || defined(__s390x__) || defined(__s390__)
#define IWORDS_BIG_ENDIAN 1
#endif
#endif
#ifndef IWORDS_BIG_ENDIAN
#define IWORDS_BIG_ENDIAN 0
#endif
#endif

#ifndef IWORDS_MUST_ALIGN
#if defined(__i386__) || defined(__i386) || defined(_i386_)
#define IWORDS_MUST_ALIGN 0
#elif defined(_M_IX86) || defined(_X86_) || defined(__x86_64__)
#define IWORDS_MUST_ALIGN 0
#elif defined(__amd64) || defined(__amd64__)
#define IWORDS_MUST_ALIGN 0
#else
#define IWORDS_MUST_ALIGN 1
#endif
#endif

/* ------------------------------------------------------------------------------------ */
/* A segment, as ikcp.c lays it out. kcp-ffi never hands one out; the type is here for   */
/* programs that name it.                                                                */
/* ------------------------------------------------------------------------------------ */
struct IKCPSEG
{
	struct IQUEUEHEAD node;
	IUINT32 conv;
	IUINT32 cmd;
	IUINT32 frg;
	IUINT32 wnd;
	IUINT32 ts;
	IUINT32 sn;
	IUINT32 una;
	IUINT32 len;
	IUINT32 resendts;
	IUINT32 rto;
	IUINT32 fastack;
	IUINT32 xmit;
	char data[1];
};

/* ------------------------------------------------------------------------------------ */
/* The control block, field for field as in ikcp.h 1.7.1. The settings a program may     */
/* write (rx_minrto, fastresend, fastlimit, nocwnd, stream, dead_link, nodelay, interval,*/
/* current, snd_wnd, rcv_wnd; before any traffic snd_nxt and rcv_nxt) are taken over by  */
/* the functions that use them, and the fields a function changes are written back when  */
/* it returns. output, writelog, user and logmask are read where they are used.          */
/* ------------------------------------------------------------------------------------ */
struct IKCPCB
{
	IUINT32 conv, mtu, mss, state;
	IUINT32 snd_una, snd_nxt, rcv_nxt;
	IUINT32 ts_recent, ts_lastack, ssthresh;
	IINT32 rx_rttval, rx_srtt, rx_rto, rx_minrto;
	IUINT32 snd_wnd, rcv_wnd, rmt_wnd, cwnd, probe;
	IUINT32 current, interval, ts_flush, xmit;
	IUINT32 nrcv_buf, nsnd_buf;
	IUINT32 nrcv_que, nsnd_que;
	IUINT32 nodelay, updated;
	IUINT32 ts_probe, probe_wait;
	IUINT32 dead_link, incr;
	struct IQUEUEHEAD snd_queue;
	struct IQUEUEHEAD rcv_queue;
	struct IQUEUEHEAD snd_buf;
	struct IQUEUEHEAD rcv_buf;
	IUINT32 *acklist;
	IUINT32 ackcount;
	IUINT32 ackblock;
	void *user;
	char *buffer;
	int fastresend;
	int fastlimit;
	int nocwnd, stream;
	int logmask;
	int (*output)(const char *buf, int len, struct IKCPCB *kcp, void *user);
	void (*writelog)(const char *log, struct IKCPCB *kcp, void *user);
};

typedef struct IKCPCB ikcpcb;

/* logmask bits: which events reach writelog. */
#define IKCP_LOG_OUTPUT    1
#define IKCP_LOG_INPUT     2
#define IKCP_LOG_SEND      4
#define IKCP_LOG_RECV      8
#define IKCP_LOG_IN_DATA   16
#define IKCP_LOG_IN_ACK    32
#define IKCP_LOG_IN_PROBE  64
#define IKCP_LOG_IN_WINS   128
#define IKCP_LOG_OUT_DATA  256
#define IKCP_LOG_OUT_ACK   512
#define IKCP_LOG_OUT_PROBE 1024
#define IKCP_LOG_OUT_WINS  2048

#ifdef __cplusplus
extern "C" {
#endif

/* Creates a control block for conversation 'conv' (both ends must use the same one);    */
/* 'user' is handed to the output and log callbacks. NULL if memory runs out.            */
ikcpcb* ikcp_create(IUINT32 conv, void *user);

/* Frees a control block and everything queued in it. NULL is ignored.                   */
void ikcp_release(ikcpcb *kcp);

/* Sets the callback that transmits each datagram (same as writing kcp->output).         */
void ikcp_setoutput(ikcpcb *kcp, int (*output)(const char *buf, int len,
	ikcpcb *kcp, void *user));

/* Takes the next complete message into 'buffer' and returns its size; -1 nothing        */
/* received, -2 message incomplete, -3 'len' too small. A negative 'len' peeks at        */
/* -len bytes without consuming; a NULL 'buffer' consumes without copying.               */
int ikcp_recv(ikcpcb *kcp, char *buffer, int len);

/* Queues 'len' bytes as one message (stream mode: appends to the stream); returns the   */
/* bytes queued, -1 for a negative 'len' (or NULL data), -2 for a message of 128 or more */
/* segments.                                                                             */
int ikcp_send(ikcpcb *kcp, const char *buffer, int len);

/* Advances the clock to 'current' (ms) and flushes when the interval has passed. Call   */
/* it every 10-100 ms, or when ikcp_check says.                                          */
void ikcp_update(ikcpcb *kcp, IUINT32 current);

/* The clock value at which ikcp_update should run next (without sends or inputs).       */
IUINT32 ikcp_check(const ikcpcb *kcp, IUINT32 current);

/* Feeds one datagram from the peer; 0 on success, -1 short datagram or other conv,      */
/* -2 bad length field, -3 unknown command.                                              */
int ikcp_input(ikcpcb *kcp, const char *data, long size);

/* Sends what is due now: acknowledgements, window probes, data.                         */
void ikcp_flush(ikcpcb *kcp);

/* The size of the next complete message, or -1.                                         */
int ikcp_peeksize(const ikcpcb *kcp);

/* Sets the MTU (default 1400); -1 below 50.                                             */
int ikcp_setmtu(ikcpcb *kcp, int mtu);

/* Sets the send and receive windows in segments (defaults 32 and 128; 0 or less keeps   */
/* one; the receive window is at least 128).                                             */
int ikcp_wndsize(ikcpcb *kcp, int sndwnd, int rcvwnd);

/* Segments queued or in flight.                                                         */
int ikcp_waitsnd(const ikcpcb *kcp);

/* nodelay 0/1/2, interval ms (10..5000), fast resend after 'resend' skips (0 off),      */
/* nc 1 ignores the congestion window; a negative argument keeps its setting.            */
/* Fastest: ikcp_nodelay(kcp, 1, 10, 2, 1).                                              */
int ikcp_nodelay(ikcpcb *kcp, int nodelay, int interval, int resend, int nc);

/* Formats a message and hands it to kcp->writelog if 'mask' has a bit of kcp->logmask.  */
void ikcp_log(ikcpcb *kcp, int mask, const char *fmt, ...);

/* Routes the library's memory through these functions (both NULL: the C library's).     */
void ikcp_allocator(void* (*new_malloc)(size_t), void (*new_free)(void*));

/* The conversation id in the first four bytes of a datagram.                           */
IUINT32 ikcp_getconv(const void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* __IKCP_H__ */
