/*
 * netaddr.h - IP addresses and CIDR ranges, as the failed-login policy
 * needs them: auth_exempt in xmpp.conf(5), and one spelling per address
 * for the counters in Redis (and for xmppctl unblock).
 *
 * An IPv4 address is held as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one
 * comparison serves both families and a client that a dual-stack socket
 * shows as ::ffff:1.2.3.4 is the same as 1.2.3.4: it matches IPv4 ranges
 * and is counted under one name.
 *
 * Contract: pure functions (no I/O, no allocation, no global state); any
 * input string is accepted and either parsed or refused with -1; output
 * buffers are NUL-terminated and bounded.
 */
#ifndef XMPPD_NETADDR_H
#define XMPPD_NETADDR_H

#include <stddef.h>

#define NETADDR_LEN      16     /* bytes of an address (IPv6, or mapped IPv4) */
#define NETADDR_STR_MAX  46     /* INET6_ADDRSTRLEN: the longest spelling */
#define NETADDR_TEXT_MAX 64     /* longest text taken as an address or range */

struct netaddr_range {
	unsigned char addr[NETADDR_LEN];   /* host bits zero */
	unsigned bits;                     /* prefix length over the 128 bits */
};

/* "a.b.c.d" or an IPv6 address (no brackets, no zone, no port) into out.
 * 0, or -1 if s is not one. */
int netaddr_parse(const char *s, unsigned char out[NETADDR_LEN]);

/* The canonical spelling of an address: IPv4 (mapped too) dotted, IPv6
 * as inet_ntop(3) writes it (lower case, zeros compressed). 0, or -1 if
 * s is not an address or out is too small (out is then ""). */
int netaddr_canon(const char *s, char *out, size_t outsz);

/* "ADDRESS/BITS" (BITS 0..32 for IPv4, 0..128 for IPv6) or a bare
 * ADDRESS (one host). Bits set beyond the prefix are refused (10.1.2.3/8
 * is more likely a typo than 10.0.0.0/8). 0, or -1. */
int netaddr_range_parse(const char *s, struct netaddr_range *out);

/* 1 if the address spelt addr lies in one of the n ranges, 0 if not or
 * if addr is not an address (e.g. "local" for a pipe). */
int netaddr_match(const struct netaddr_range *r, int n, const char *addr);

#endif
