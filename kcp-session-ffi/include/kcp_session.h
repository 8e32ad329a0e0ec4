/*
 * kcp_session.h: kcp-go sessions from C and C++ (libkcp_session_ffi.a / .so).
 *
 * A sans-io endpoint: every KCP session on one UDP socket, with kcp-go 5.6.1's framing,
 * ciphers, forward error correction and listener rules. The library owns no socket and
 * reads no clock. Your program:
 *   1. gives it every datagram the socket receives   (kcps_handle),
 *   2. sends every datagram it hands out              (kcps_poll_transmit),
 *   3. runs its timers when due                       (kcps_poll_timeout, kcps_handle_timeout),
 *   4. reads and writes sessions                      (kcps_send, kcps_recv, kcps_poll_event).
 * Time is a millisecond counter of your choosing (`now`), which may wrap; pass the same
 * clock to every call.
 *
 * Errors: functions return KCPS_OK (0), a non-negative result, or a negative KCPS_E_*
 * code; kcps_strerror names them. NULL pointers, stale session handles, handles of
 * another endpoint and lengths above PTRDIFF_MAX (no C object is that long: a length
 * gone negative) are errors, never crashes.
 *
 * Memory: the library allocates with the C library's allocator through Rust's global
 * allocator. Buffers passed in stay yours; pointers handed out (kcps_transmit.data) point
 * into the endpoint and stay valid until the next call on that endpoint. A datagram or
 * message that did not fit a receive buffer (KCPS_E_BUFFER_TOO_SMALL) is held by the
 * endpoint until read, at most one of each per session.
 *
 * Threads: an endpoint is used by one thread at a time; different endpoints are
 * independent. A call made while another thread's call runs on the same endpoint does
 * nothing and returns KCPS_E_BUSY (one uncontended atomic compare-and-swap per call
 * checks it), so the mistake shows instead of corrupting memory; kcps_endpoint_free,
 * which cannot report, must not race with other calls. A config is used by one thread
 * at a time. No call calls back into your code. A kcps_udp (the socket-owning layer at
 * the end) follows its endpoint's rules.
 *
 * C99 and C++11.
 */
#ifndef KCP_SESSION_H
#define KCP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Results. */
#define KCPS_OK 0
/* A required pointer argument is NULL. */
#define KCPS_E_NULL (-1)
/* A value is out of range or unknown (config name or value, address family); the
 * message buffer, when given, says which. */
#define KCPS_E_INVALID (-2)
/* Nothing to read yet, the send window is full, or the datagram queue is full: drive the
 * endpoint (kcps_poll_transmit) and retry. */
#define KCPS_E_WOULD_BLOCK (-3)
/* The session was closed locally, or the handle names no session of this endpoint. */
#define KCPS_E_CLOSED (-4)
/* The peer is gone (idle timeout or dead link). */
#define KCPS_E_DEAD (-5)
/* The peer started a new conversation from the same address. */
#define KCPS_E_REPLACED (-6)
/* A message-mode message needs more than 127 segments, or a datagram is longer than
 * kcps_max_datagram_size. */
#define KCPS_E_TOO_LARGE (-7)
/* kcps_connect: a session for that address exists already. */
#define KCPS_E_ADDRESS_IN_USE (-8)
/* The operating system's random source failed (kcps_connect's conversation id). */
#define KCPS_E_RANDOM (-9)
/* Another thread's call is running on the endpoint (see Threads above); nothing was done. */
#define KCPS_E_BUSY (-10)
/* kcps_recv_datagram, kcps_recv_message: the buffer is too small for the datagram or
 * message waiting. It is kept for the next call, and the size it needs was written to
 * `*needed`. */
#define KCPS_E_BUFFER_TOO_SMALL (-11)
/* Not in this configuration: datagrams need FEC on at both ends (kcp-go frames them only
 * with FEC), kcps_recv_message needs message mode ("stream" 0). */
#define KCPS_E_UNSUPPORTED (-12)
/* kcps_send_datagram on a listener's session whose peer has not yet shown that it
 * receives at its address, with the amplification budget spent: reliable data the peer
 * acknowledges brings the proof. Retry later. */
#define KCPS_E_UNPROVEN (-13)
/* kcps_udp_*: the operating system refused a socket call (bind, a read); the message
 * buffer, when given, says why. */
#define KCPS_E_IO (-14)

/* A settings object: kcptun's names and defaults. Opaque. */
typedef struct kcps_config kcps_config;
/* An endpoint: the sessions of one UDP socket. Opaque. */
typedef struct kcps_endpoint kcps_endpoint;
/* Names one session of an endpoint; never 0. The handle of a freed session stays
 * invalid (calls with it return KCPS_E_CLOSED) until 2^32 later sessions reuse its slot;
 * so does a handle of another endpoint, or of a freed one, on this endpoint. */
typedef uint64_t kcps_session;

/* Address families of kcps_addr. */
#define KCPS_AF_INET 4
#define KCPS_AF_INET6 6

/* A UDP address, independent of the platform's socket headers. */
typedef struct kcps_addr {
    uint16_t family;   /* KCPS_AF_INET or KCPS_AF_INET6 */
    uint16_t port;     /* host byte order */
    uint32_t scope_id; /* IPv6 scope (interface index); 0 otherwise */
    uint8_t ip[16];    /* network byte order; IPv4 uses the first 4 bytes */
} kcps_addr;

/* A run of datagrams to send to one destination, as kcps_poll_transmit hands it out:
 * `len` bytes at `data`, each datagram `segment_size` bytes except possibly the last
 * (one datagram: segment_size == len). Send them one by one with sendto, or in one call
 * with UDP segmentation offload. `data` is valid until the next call on the endpoint. */
typedef struct kcps_transmit {
    kcps_addr destination;
    const uint8_t *data;
    size_t len;
    size_t segment_size;
} kcps_transmit;

/* What kcps_poll_event reports. */
#define KCPS_EVENT_INCOMING 1 /* a peer opened a session: it waits for kcps_accept */
#define KCPS_EVENT_PROGRESS 2 /* data to read, room to write, or all written acknowledged */
#define KCPS_EVENT_ENDED 3    /* closed, dead or replaced: kcps_release it */

typedef struct kcps_event {
    int kind;             /* KCPS_EVENT_* */
    kcps_session session;
} kcps_event;

/* What kcps_handle did with a datagram. */
#define KCPS_DATAGRAM_DROPPED 0  /* dropped (noise, another key, listener rules) and counted */
#define KCPS_DATAGRAM_INCOMING 1 /* opened a new session, which waits for kcps_accept */
#define KCPS_DATAGRAM_SESSION 2  /* went to an existing session */

/* The name of a KCPS_* result code, as a static string ("unknown" for others). */
const char *kcps_strerror(int code);

/* ---- Configuration ---------------------------------------------------------------- */

/* A new config with the library's defaults: no cipher ("null"), no FEC, mode "fast",
 * mtu 1350, windows 1024/1024, stream mode. NULL only when out of memory. */
kcps_config *kcps_config_new(void);

/* A new config with kcptun 20210922's defaults: crypt "aes", its well-known key, FEC 10/3,
 * mode "fast". Set "key" before using it on a network. NULL only when out of memory. */
kcps_config *kcps_config_new_kcptun(void);

/* Sets one option by its kcptun flag name, from text:
 *   crypt        aes, aes-128, aes-192, salsa20, blowfish, twofish, cast5, 3des, tea,
 *                xtea, xor, sm4, none, null (and the others kcp-crypt knows)
 *   key          the passphrase (stretched with kcptun's PBKDF2 when the endpoint is made)
 *   mode         normal, fast, fast2, fast3, manual
 *   nodelay, interval, resend, nc   mode manual's knobs (setting one switches to manual)
 *   mtu, sndwnd, rcvwnd, datashard, parityshard, dscp   numbers
 *   sockbuf      socket buffer bytes (kcps_udp_* only; default 4194304)
 *   acknodelay, stream   0 or 1
 * and kcp-session's own options (beyond kcptun; kcp-go and kcptun peers need nothing):
 *   keepalive_ms     probe a peer silent this long, again at 2x, and end the session
 *                    (KCPS_E_DEAD) after 3x of silence; must be below idle_timeout_ms;
 *                    0 (the default) sends no probes, as kcp-go
 *   idle_timeout_ms  end a session that heard nothing new for this long (default 60000;
 *                    0 never)
 *   dead_link        end a session once a segment was sent this many times
 *                    unacknowledged (ikcp's dead link; default 0: never)
 *   roaming          0 or 1: follow a peer to a new address once it proves it receives
 *                    there (default 0)
 *   datagram_queue   unreliable datagrams queued each way per session (default 64; 0
 *                    drops every received one)
 * Returns KCPS_OK, KCPS_E_NULL, or KCPS_E_INVALID with a NUL-terminated message in
 * `msg` (truncated to `msg_len` bytes; `msg` may be NULL). Ranges are checked when the
 * endpoint is made (kcps_endpoint_new). */
int kcps_config_set(kcps_config *config, const char *name, const char *value, char *msg,
                    size_t msg_len);

/* Frees a config (NULL is ignored). Endpoints made from it keep their own copy. */
void kcps_config_free(kcps_config *config);

/* ---- Endpoint ------------------------------------------------------------------- */

/* Makes an endpoint from `config` into `*out`: checks the combination and derives the key
 * (PBKDF2, a few milliseconds), and takes its 32-byte secret (address proofs, the replay
 * cache) from the OS random source. On KCPS_E_INVALID `msg` says why (see
 * kcps_config_set); KCPS_E_RANDOM when the random source fails. The endpoint does not
 * accept sessions until kcps_listen. */
int kcps_endpoint_new(const kcps_config *config, kcps_endpoint **out, char *msg,
                      size_t msg_len);

/* Frees an endpoint and all its sessions at once, sending nothing (NULL is ignored). To
 * deliver what was written first, close the sessions and drive the endpoint until they
 * end. */
void kcps_endpoint_free(kcps_endpoint *endpoint);

/* Accept sessions opened by peers (1) or not (0, the default: only kcps_connect). */
int kcps_listen(kcps_endpoint *endpoint, int on);

/* Opens a session to `remote` with a random conversation id (kcp-go's dialer) into
 * `*session`. KCP has no handshake: the session is usable at once. */
int kcps_connect(kcps_endpoint *endpoint, uint32_t now, const kcps_addr *remote,
                 kcps_session *session);

/* Takes one datagram received from `from`. The datagram is decrypted in place, so the
 * buffer is changed. Returns KCPS_DATAGRAM_* (and the session, when `session` is not
 * NULL and the datagram reached one) or a negative error. */
int kcps_handle(kcps_endpoint *endpoint, uint32_t now, const kcps_addr *from,
                uint8_t *datagram, size_t len, kcps_session *session);

/* The next run of datagrams to send, into `*out`: 1 when one was handed out, 0 when none
 * waits. Call it until 0 after every batch of kcps_handle calls, after
 * kcps_handle_timeout and after your own sends. */
int kcps_poll_transmit(kcps_endpoint *endpoint, uint32_t now, kcps_transmit *out);

/* When kcps_handle_timeout should run next, into `*at` (on the `now` clock): 1, or 0 when
 * no session has a timer. */
int kcps_poll_timeout(const kcps_endpoint *endpoint, uint32_t *at);

/* Runs every timer due at `now`: retransmissions, flushes, idle timeouts. */
int kcps_handle_timeout(kcps_endpoint *endpoint, uint32_t now);

/* Takes the next session a peer opened into `*session`: 1, or 0 when none waits. */
int kcps_accept(kcps_endpoint *endpoint, kcps_session *session);

/* The next event into `*event`: 1, or 0 when none waits. */
int kcps_poll_event(kcps_endpoint *endpoint, kcps_event *event);

/* ---- Sessions ------------------------------------------------------------------- */

/* Queues up to `len` bytes for sending (a message, in message mode): returns how many
 * were taken (in stream mode possibly fewer than `len`; see kcps_send_capacity) or a
 * negative error, KCPS_E_WOULD_BLOCK when the send window is full. */
int64_t kcps_send(kcps_endpoint *endpoint, uint32_t now, kcps_session session,
                  const void *data, size_t len);

/* Reads received bytes into `buf` (one message, or its next part, in message mode; see
 * kcps_recv_message to get messages whole):
 * returns how many, or a negative error, KCPS_E_WOULD_BLOCK when nothing has arrived. */
int64_t kcps_recv(kcps_endpoint *endpoint, kcps_session session, void *buf, size_t cap);

/* Bytes kcps_send takes right now without KCPS_E_WOULD_BLOCK, or a negative error. */
int64_t kcps_send_capacity(const kcps_endpoint *endpoint, kcps_session session);

/* Closes a session: no more sends; what was written is still delivered, for up to the
 * linger time (10 s). The handle stays valid until kcps_release. */
int kcps_close(kcps_endpoint *endpoint, uint32_t now, kcps_session session);

/* Gives up a handle: closes the session if open and frees it once it ends. */
int kcps_release(kcps_endpoint *endpoint, uint32_t now, kcps_session session);

/* The peer's address of a session into `*remote`. */
int kcps_remote(const kcps_endpoint *endpoint, kcps_session session, kcps_addr *remote);

/* Reads the next whole message of a message-mode session ("stream" 0) into `buf`, never
 * split: returns its length; KCPS_E_WOULD_BLOCK until one has arrived whole;
 * KCPS_E_BUFFER_TOO_SMALL when it is longer than `cap`: its length goes to `*needed`
 * (when `needed` is not NULL) and the message is kept, so call again with a buffer that
 * large; KCPS_E_UNSUPPORTED in stream mode; or the session's end once nothing is left.
 * A message can be up to 127 segments (about 170 KB at mtu 1350). A kept message is
 * returned by kcps_recv_message only: do not mix it with kcps_recv on one session.
 * `buf` stays yours; nothing is held after the call but a kept message. */
int64_t kcps_recv_message(kcps_endpoint *endpoint, kcps_session session, void *buf,
                          size_t cap, size_t *needed);

/* ---- Unreliable datagrams -------------------------------------------------------- */
/* kcp-go 5.6.60's out-of-band datagrams (its SendOOB and SetOOBHandler): sealed by the
 * cipher but never acknowledged, retransmitted or ordered, and never delayed by lost
 * stream data. For state the next update supersedes (positions in a game). Both ends need
 * FEC on (any shard counts); kcp-go older than 5.6.60 drops them. */

/* The largest datagram kcps_send_datagram takes on `session`: the MTU less the cipher's
 * header and trailer and 12 bytes (1318 for kcptun's defaults, as kcp-go's
 * GetOOBMaxSize), 0 without FEC, or a negative error. */
int64_t kcps_max_datagram_size(const kcps_endpoint *endpoint, kcps_session session);

/* Queues `len` bytes (0 allowed) as one datagram; it goes out at the next
 * kcps_poll_transmit. Returns KCPS_OK; KCPS_E_UNSUPPORTED without FEC; KCPS_E_TOO_LARGE
 * beyond kcps_max_datagram_size; KCPS_E_WOULD_BLOCK when "datagram_queue" datagrams
 * already wait for kcps_poll_transmit; KCPS_E_UNPROVEN (see there); KCPS_E_CLOSED,
 * KCPS_E_DEAD or KCPS_E_REPLACED once the session is not open. `data` is copied: it
 * stays yours. Costs one allocation and one seal. */
int kcps_send_datagram(kcps_endpoint *endpoint, uint32_t now, kcps_session session,
                       const void *data, size_t len);

/* Takes the oldest datagram received on `session` into `buf`: returns its length (0 for
 * an empty one); KCPS_E_WOULD_BLOCK when none waits (a new one comes with a
 * KCPS_EVENT_PROGRESS); KCPS_E_BUFFER_TOO_SMALL when it is longer than `cap`: its length
 * goes to `*needed` (when `needed` is not NULL) and the datagram is kept for the next
 * call; KCPS_E_CLOSED, KCPS_E_DEAD or KCPS_E_REPLACED once the session ended and none is
 * left. Received datagrams wait in a queue of "datagram_queue"; when it is full the
 * oldest is dropped, so a late reader gets the freshest. A buffer of
 * kcps_max_datagram_size bytes fits every datagram from a peer with the same mtu and
 * cipher. */
int64_t kcps_recv_datagram(kcps_endpoint *endpoint, kcps_session session, void *buf,
                           size_t cap, size_t *needed);

/* ---- Liveness ------------------------------------------------------------------- */

/* KCP has no handshake: kcps_connect returns before the server was heard. kcps_confirm
 * asks the peer to show that it is there: a window probe (24 bytes, which every ikcp,
 * kcp-go and kcptun peer answers without telling its application) goes at the next
 * kcps_poll_transmit and every 250 ms until the peer is heard; then kcps_is_confirmed
 * gives 1 and a KCPS_EVENT_PROGRESS comes. Nothing heard within `timeout_ms` ends the
 * session (KCPS_EVENT_ENDED, state KCPS_STATE_DEAD). Call it right after kcps_connect;
 * it does nothing once the peer was heard. Returns KCPS_OK or a negative error. */
int kcps_confirm(kcps_endpoint *endpoint, uint32_t now, kcps_session session,
                 uint32_t timeout_ms);

/* Whether the peer of `session` has been heard (it sent data, acknowledged ours, or
 * answered kcps_confirm's probe): 1 or 0, or a negative error. A session a peer opened
 * is heard from the start. */
int kcps_is_confirmed(const kcps_endpoint *endpoint, kcps_session session);

/* ---- Read-outs ------------------------------------------------------------------ */

/* Session states (kcps_session_state). */
#define KCPS_STATE_OPEN 0     /* exchanging data */
#define KCPS_STATE_CLOSING 1  /* closed locally, still delivering what was written */
#define KCPS_STATE_CLOSED 2   /* everything delivered, or the linger time over */
#define KCPS_STATE_DEAD 3     /* the peer is gone */
#define KCPS_STATE_REPLACED 4 /* the peer started a new conversation from the same address */

/* A session's state (KCPS_STATE_*) or a negative error. */
int kcps_session_state(const kcps_endpoint *endpoint, kcps_session session);

/* Counters are arrays of uint64_t in the order of their names; later versions may append
 * counters, never reorder them. */

/* How many SNMP counters a session has, and the name of counter i (kcptun's snmplog
 * column names: "BytesSent", "InPkts", "RetransSegs", "FECRecovered", ...; a static
 * string, NULL past the end). */
size_t kcps_snmp_count(void);
const char *kcps_snmp_name(size_t i);

/* A session's SNMP counters into values[0..n): how many were written (at most
 * kcps_snmp_count()), or a negative error. */
int kcps_session_snmp(const kcps_endpoint *endpoint, kcps_session session, uint64_t *values,
                      size_t n);

/* How many endpoint counters there are, and the name of counter i: "datagrams" (given to
 * kcps_handle), "oversized", "crypt_errors", "refused" (listener rules), "invalid",
 * "accepted", "replaced", "connected"; a static string, NULL past the end. */
size_t kcps_endpoint_stats_count(void);
const char *kcps_endpoint_stats_name(size_t i);

/* The endpoint's counters into values[0..n): how many were written, or a negative error. */
int kcps_endpoint_stats(const kcps_endpoint *endpoint, uint64_t *values, size_t n);

/* ---- An endpoint with its own socket --------------------------------------------- */
/* For programs with no event loop of their own (as libkcp's UDPSession): the library owns
 * a non-blocking UDP socket (buffers of the config's "sockbuf", 4 MiB by default) and
 * starts no thread. Call kcps_udp_update whenever the socket is readable (kcps_udp_fd for
 * select, poll or epoll) and when kcps_poll_timeout(kcps_udp_endpoint(u), &at) says, or
 * simply every 10 ms; read and write between. Every kcps_* call works on
 * kcps_udp_endpoint(u) (datagrams, messages, events, counters, kcps_confirm); the same
 * thread rules hold (one thread at a time, KCPS_E_BUSY otherwise). Addresses are text:
 * "127.0.0.1:4000", "[::1]:4000", or "host:port", resolved once, blocking. */
typedef struct kcps_udp kcps_udp;

/* Binds a socket at `addr` ("0.0.0.0:29900") and makes a listening endpoint from
 * `config` into `*out`. KCPS_E_INVALID for a bad config or address, KCPS_E_IO when the
 * bind fails, with why in `msg` (see kcps_config_set). */
int kcps_udp_listen(const kcps_config *config, const char *addr, kcps_udp **out, char *msg,
                    size_t msg_len);

/* Binds a socket at an ephemeral port, makes an endpoint from `config` and opens a
 * session to `addr` (kcp-go's dialer: no handshake; see kcps_confirm) into `*out` and
 * `*session`. Errors as kcps_udp_listen, and KCPS_E_RANDOM. */
int kcps_udp_dial(const kcps_config *config, uint32_t now, const char *addr, kcps_udp **out,
                  kcps_session *session, char *msg, size_t msg_len);

/* Reads the datagrams waiting on the socket into the endpoint (at most
 * KCPS_UDP_READS_PER_UPDATE, so that a flood cannot keep the call from returning), runs
 * the timers due at `now` and sends what is ready: returns how many datagrams were read,
 * or KCPS_E_IO when the socket fails (ICMP "port unreachable" reports are ignored). Never
 * blocks. When it returns KCPS_UDP_READS_PER_UPDATE more may be waiting: call it again. */
#define KCPS_UDP_READS_PER_UPDATE 1024
int kcps_udp_update(kcps_udp *udp, uint32_t now);

/* kcps_accept on the endpoint: 1 and `*session`, or 0 when no session waits. */
int kcps_udp_accept(kcps_udp *udp, kcps_session *session);

/* kcps_send, then sends what is ready at once (no wait for kcps_udp_update): how many
 * bytes were taken, KCPS_E_WOULD_BLOCK when the send window is full (update and retry),
 * or a negative error. */
int64_t kcps_udp_write(kcps_udp *udp, uint32_t now, kcps_session session, const void *data,
                       size_t len);

/* kcps_recv: how many bytes were read, KCPS_E_WOULD_BLOCK when none has arrived (update
 * and retry), or a negative error. */
int64_t kcps_udp_read(kcps_udp *udp, kcps_session session, void *buf, size_t cap);

/* The socket's file descriptor, to wait for it to become readable (never read it
 * yourself); KCPS_E_UNSUPPORTED on platforms without file descriptors. Owned by `udp`. */
int kcps_udp_fd(const kcps_udp *udp);

/* The endpoint inside, owned by `udp` (never kcps_endpoint_free it); NULL for NULL. */
kcps_endpoint *kcps_udp_endpoint(const kcps_udp *udp);

/* Frees the endpoint, its sessions and the socket at once, sending nothing (NULL is
 * ignored). To deliver what was written first, kcps_close the sessions and update until
 * they end (KCPS_EVENT_ENDED). Must not race with other calls on `udp`. */
void kcps_udp_close(kcps_udp *udp);

#ifdef __cplusplus
}
#endif

#endif /* KCP_SESSION_H */
