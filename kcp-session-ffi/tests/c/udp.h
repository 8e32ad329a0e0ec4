/*
 * What the test programs share: the millisecond clock, a loopback UDP socket, and the two
 * halves of driving a kcp_session.h endpoint over it (datagrams out, datagrams in).
 */
#ifndef KCPS_TEST_UDP_H
#define KCPS_TEST_UDP_H

#include <stdint.h>

#include "kcp_session.h"

/* CLOCK_MONOTONIC in milliseconds (wrapping, as the endpoint expects). */
uint32_t now_ms(void);

/* A UDP socket bound to 127.0.0.1:port (0: any free port) with 4 MiB buffers; -1 on
 * failure. */
int udp_bind_loopback(uint16_t port);

/* The port a socket is bound to. */
uint16_t udp_local_port(int fd);

/* Sends every datagram the endpoint has ready. */
void send_ready(kcps_endpoint *ep, int fd, uint32_t now);

/* Waits up to the endpoint's next timer (at most 10 ms) for datagrams and gives each to
 * the endpoint, then runs its timers. */
void drive(kcps_endpoint *ep, int fd);

/* Makes an endpoint from NAME=VALUE arguments (kcps_config_set); NULL after printing why. */
kcps_endpoint *endpoint_from_args(int argc, char **argv);

/* A session's SNMP counter by its name ("RetransSegs", ...); UINT64_MAX if there is none. */
uint64_t snmp_counter(const kcps_endpoint *ep, kcps_session s, const char *name);

/* Prints "<who>: <what>: <error name> (<code>)" to stderr and returns 1. */
int fail(const char *who, const char *what, int code);

#endif
