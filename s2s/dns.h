/*
 * dns.h - where to connect for a remote XMPP domain (RFC 6120 3.2,
 * XEP-0368), through c-ares.
 *
 * dns_lookup asks for the SRV records _xmpps-server._tcp.DOMAIN (direct
 * TLS) and _xmpp-server._tcp.DOMAIN (STARTTLS) at once and orders what
 * they name as one set, as XEP-0368 says: by priority, and within one
 * priority by RFC 2782's weighted random selection, the two services'
 * records mixed (a server operator chooses between direct TLS and
 * STARTTLS with priorities and weights). A service whose answer is the
 * single target "." is decidedly not offered: its other service may
 * still be, but there is no fallback to the domain's own address then.
 * With no SRV record for either service (NXDOMAIN or NODATA for both)
 * the one candidate is DOMAIN itself, port 5269, STARTTLS. dns_resolve
 * then turns one candidate's host into addresses, IPv6 and IPv4.
 *
 * Contract: synchronous. Each call returns within its timeout (seconds,
 * at least 1), c-ares driven by poll(2). Results go into structures
 * the caller owns, bounded by the limits below; nothing returned points
 * into the resolver. Functions return DNS_OK (0), or a negative
 * enum dns_err: the caller bounces stanzas with remote-server-not-found
 * for DNS_NODOMAIN and DNS_NOSERVICE, remote-server-timeout for
 * DNS_TIMEOUT, and either (its choice) for DNS_FAIL. One resolver serves
 * one call at a time (no threads); a process may hold several.
 */
#ifndef XMPPD_S2S_DNS_H
#define XMPPD_S2S_DNS_H

#include <sys/socket.h>

#define DNS_MAX_CANDIDATES 16   /* targets kept, best first; the rest dropped */
#define DNS_MAX_ADDRS      16   /* addresses kept per host */
#define DNS_HOST_MAX       256  /* a host name (at most 253) and its NUL */
#define DNS_PORT_DEFAULT   5269 /* the fallback without SRV records (RFC 6120) */

enum dns_err {
	DNS_OK        = 0,
	DNS_NODOMAIN  = -101,   /* the domain (or a target host) does not exist */
	DNS_NOSERVICE = -102,   /* SRV says ".": no XMPP server for the domain;
	                           or a host that exists has no address */
	DNS_TIMEOUT   = -103,   /* no answer within the timeout */
	DNS_FAIL      = -104,   /* the resolver failed: SERVFAIL, REFUSED, an
	                           unreachable server, a malformed answer */
	DNS_INVALID   = -105,   /* bad argument (a domain too long, no server) */
};

struct dns;                 /* a resolver: one c-ares channel */

struct dns_candidate {
	char host[DNS_HOST_MAX];    /* SRV target or the domain, no final dot */
	unsigned short port;
	int direct_tls;             /* 1: _xmpps-server (TLS at once), 0: STARTTLS */
};

struct dns_candidates {
	int n;                      /* candidates in c[], in the order to try */
	int fallback;               /* 1: no SRV record, c[0] is DOMAIN:5269 */
	struct dns_candidate c[DNS_MAX_CANDIDATES];
};

struct dns_addrs {
	int n;
	struct sockaddr_storage a[DNS_MAX_ADDRS];  /* port set: ready to connect */
	socklen_t len[DNS_MAX_ADDRS];
};

/* A resolver. server: NULL or "" for the system's (resolv.conf), or a
 * comma-separated list of "host:port" / "[v6]:port" (the s2s_resolver
 * configuration key) asked instead; resolv.conf's search domains are
 * never used, a remote domain is always absolute. NULL on failure
 * (c-ares could not start, or server does not parse), with *err set to
 * DNS_INVALID or DNS_FAIL when err is not NULL. Free with dns_close. */
struct dns *dns_open(const char *server, int *err);

/* Closes r and cancels what it still had in flight. NULL is allowed. */
void dns_close(struct dns *r);

/* The candidates for DOMAIN (a name, "name." too, or an IP literal:
 * "a.b.c.d" or "[v6]", which skips SRV), in the order to try them, into
 * *out (reset first). DNS_OK with out->n >= 1, out->fallback telling
 * whether there was no SRV record; or DNS_NOSERVICE (only "." answers),
 * DNS_TIMEOUT, DNS_FAIL or DNS_INVALID when neither service named a
 * target (then *out is empty). When one service names targets and the
 * other's query failed, the targets named are used. An unknown DOMAIN
 * is not an error here (NXDOMAIN for its SRV names says nothing of the
 * domain): it falls back to DOMAIN:5269 and dns_resolve reports
 * DNS_NODOMAIN. Each call draws fresh randomness for the weighted
 * order. */
int dns_lookup(struct dns *r, const char *domain, int timeout_s,
               struct dns_candidates *out);

/* The IPv6 and IPv4 addresses of c->host with c->port, into *out (reset
 * first), as c-ares orders them (RFC 6724); /etc/hosts first, as the C
 * library's resolver would (an operator's override). DNS_OK with out->n >= 1, or
 * DNS_NODOMAIN, DNS_NOSERVICE (the host has no address), DNS_TIMEOUT,
 * DNS_FAIL, DNS_INVALID. */
int dns_resolve(struct dns *r, const struct dns_candidate *c, int timeout_s,
                struct dns_addrs *out);

/* A short name of e ("no such domain", ...); never NULL. */
const char *dns_str(int e);

#endif
