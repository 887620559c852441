/*
 * dns.c - SRV lookup and address resolution for s2s through c-ares
 * (see dns.h). c-ares does the DNS; this file only drives it with poll()
 * under a deadline and orders what it answers.
 */
#include "dns.h"
#include "random.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* c-ares's own retries: a first try waits DNS_TRY_MS, each later round
 * twice as long. The caller's timeout bounds the whole anyway; several
 * tries within it are what gets an answer past one lost UDP packet. */
#define DNS_TRY_MS 1000
#define DNS_TRIES  3

#define SVC_TLS      "_xmpps-server._tcp."
#define SVC_STARTTLS "_xmpp-server._tcp."

struct dns {
	ares_channel ch;
};

/* What a lookup's callbacks write to: pending counts the queries still
 * in flight, for the poll loop. */
struct srvq {
	int *pending;
	int status;                     /* ARES_... */
	struct ares_srv_reply *srv;     /* parsed on success; ares_free_data */
};

struct addrq {
	int *pending;
	int status;
	struct ares_addrinfo *res;      /* ares_freeaddrinfo */
};

/* One SRV record while ordering; host points into the c-ares reply. */
struct rec {
	unsigned short prio, weight, port;
	int direct_tls;
	const char *host;
};

const char *dns_str(int e)
{
	switch (e) {
	case DNS_OK:        return "ok";
	case DNS_NODOMAIN:  return "no such domain";
	case DNS_NOSERVICE: return "no XMPP service or no address";
	case DNS_TIMEOUT:   return "DNS timeout";
	case DNS_FAIL:      return "DNS resolver failure";
	case DNS_INVALID:   return "invalid DNS request";
	}
	return "unknown DNS error";
}

struct dns *dns_open(const char *server, int *err)
{
	struct ares_options o;
	struct dns *r;
	int e;

	if (err)
		*err = DNS_FAIL;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		return NULL;
	r = calloc(1, sizeof *r);
	if (!r) {
		ares_library_cleanup();
		return NULL;
	}
	memset(&o, 0, sizeof o);
	/* No search list: a remote XMPP domain is absolute, and
	 * "example.org.corp.lan" must never be tried in its place. */
	o.ndomains = 0;
	o.domains = NULL;
	o.timeout = DNS_TRY_MS;
	o.tries = DNS_TRIES;
	e = ares_init_options(&r->ch, &o, ARES_OPT_DOMAINS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (e != ARES_SUCCESS) {
		free(r);
		ares_library_cleanup();
		return NULL;
	}
	if (server && *server && ares_set_servers_ports_csv(r->ch, server) != ARES_SUCCESS) {
		if (err)
			*err = DNS_INVALID;
		dns_close(r);
		return NULL;
	}
	if (err)
		*err = DNS_OK;
	return r;
}

void dns_close(struct dns *r)
{
	if (!r)
		return;
	ares_destroy(r->ch);    /* calls what is in flight with ARES_EDESTRUCTION */
	free(r);
	ares_library_cleanup();
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs c-ares until *pending reaches 0 or timeout_s passes. On the
 * deadline every query is cancelled (its callback runs with
 * ARES_ECANCELLED, so nothing is left pointing at the caller's stack)
 * and DNS_TIMEOUT returned; DNS_FAIL if poll itself fails. */
static int drive(struct dns *r, int *pending, int timeout_s)
{
	long long deadline = now_ms() + (long long)timeout_s * 1000;

	while (*pending > 0) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval max, tv, *t;
		long long left = deadline - now_ms();
		unsigned bits;
		int i, n = 0, k, ms;

		if (left <= 0) {
			ares_cancel(r->ch);
			return DNS_TIMEOUT;
		}
		bits = (unsigned)ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM);
		for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = 0;
			/* ares.h's ARES_GETSOCK_WRITABLE shifts a signed 1 into
			 * the sign bit for the last socket: unsigned here */
			if (bits & (1u << i))
				ev |= POLLIN;
			if (bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
				ev |= POLLOUT;
			if (!ev)
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = ev;
			pfd[n].revents = 0;
			n++;
		}
		max.tv_sec = (time_t)(left / 1000);
		max.tv_usec = (suseconds_t)(left % 1000) * 1000;
		t = ares_timeout(r->ch, &max, &tv);
		ms = (int)(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
		k = poll(pfd, (nfds_t)n, ms);
		if (k == -1) {
			if (errno == EINTR)
				continue;
			ares_cancel(r->ch);
			return DNS_FAIL;
		}
		if (k == 0) {
			/* c-ares's own timeouts: retries, then ARES_ETIMEOUT */
			ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (i = 0; i < n; i++) {
			short re = pfd[i].revents;
			ares_process_fd(r->ch,
			    re & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD,
			    re & (POLLOUT | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD);
		}
	}
	return DNS_OK;
}

/* A c-ares status that is not success, as a dns_err. NXDOMAIN and NODATA
 * are told apart: the first means the name does not exist at all. */
static int map_status(int s)
{
	switch (s) {
	case ARES_SUCCESS:    return DNS_OK;
	case ARES_ENOTFOUND:  return DNS_NODOMAIN;
	case ARES_ENODATA:    return DNS_NOSERVICE;
	case ARES_ETIMEOUT:
	case ARES_ECANCELLED: return DNS_TIMEOUT;
	case ARES_EBADNAME:   return DNS_INVALID;
	}
	return DNS_FAIL;
}

static void srv_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct srvq *q = arg;
	(void)timeouts;
	if (status == ARES_SUCCESS)
		status = ares_parse_srv_reply(abuf, alen, &q->srv);
	q->status = status;
	(*q->pending)--;
}

static void addr_done(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct addrq *q = arg;
	(void)timeouts;
	q->status = status;
	q->res = res;
	(*q->pending)--;
}

/* A uniform random number in [0, max], from the kernel (random.h).
 * Rejection keeps it unbiased: a weight-1 record among weight-60000 ones
 * gets exactly its share. -1 if the kernel gives no randomness. */
static long long uniform(uint32_t max)
{
	uint64_t range = (uint64_t)max + 1;
	uint64_t limit = (UINT64_C(1) << 32) - ((UINT64_C(1) << 32) % range);
	char hex[9];
	uint64_t x;

	do {
		if (random_hex(hex, 4) != 0)
			return -1;
		x = strtoull(hex, NULL, 16);
	} while (x >= limit);
	return (long long)(x % range);
}

static int by_prio(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	/* weight 0 first within a priority, as RFC 2782 arranges them
	 * before summing; the rest as they came (qsort is not stable, the
	 * order among equals is the random draw's business anyway) */
	if ((x->weight == 0) != (y->weight == 0))
		return x->weight == 0 ? -1 : 1;
	return 0;
}

/* RFC 2782's order on v[0..n): ascending priority; within one priority,
 * repeatedly draw a number in [0, sum of the weights left] and take the
 * first record (weight-0 ones first) whose running sum reaches it. */
static int order(struct rec *v, int n)
{
	int i = 0;

	qsort(v, (size_t)n, sizeof *v, by_prio);
	while (i < n) {
		int j = i, k;
		while (j < n && v[j].prio == v[i].prio)
			j++;
		for (k = i; k < j - 1; k++) {
			uint32_t sum = 0, run = 0;
			long long pick;
			int m;
			struct rec chosen;
			for (m = k; m < j; m++)
				sum += v[m].weight;
			pick = uniform(sum);
			if (pick < 0)
				return DNS_FAIL;
			for (m = k; m < j - 1; m++) {
				run += v[m].weight;
				if (run >= (uint32_t)pick)
					break;
			}
			/* chosen to position k; the others keep their order, so
			 * the weight-0 ones stay at the front of what is left */
			chosen = v[m];
			memmove(v + k + 1, v + k, (size_t)(m - k) * sizeof *v);
			v[k] = chosen;
		}
		i = j;
	}
	return DNS_OK;
}

/* Counts q's records and appends the usable ones (target not ".") to v
 * from *n on. 1 if q answered SRV records but none usable: the service
 * is not offered ("." as RFC 2782 means it). */
static int collect(const struct srvq *q, int direct_tls, struct rec *v, int *n)
{
	const struct ares_srv_reply *s;
	int answered = 0, usable = 0;

	if (q->status != ARES_SUCCESS)
		return 0;
	for (s = q->srv; s; s = s->next) {
		size_t len = strlen(s->host);
		answered++;
		if (len == 0 || strcmp(s->host, ".") == 0 || len >= DNS_HOST_MAX)
			continue;
		v[*n].prio = s->priority;
		v[*n].weight = s->weight;
		v[*n].port = s->port;
		v[*n].direct_tls = direct_tls;
		v[*n].host = s->host;
		(*n)++;
		usable++;
	}
	return answered > 0 && usable == 0;
}

static int count(const struct srvq *q)
{
	const struct ares_srv_reply *s;
	int c = 0;
	if (q->status == ARES_SUCCESS)
		for (s = q->srv; s; s = s->next)
			c++;
	return c;
}

/* A failed SRV query's meaning for the lookup: 0 for "no such record"
 * (NXDOMAIN, NODATA: fall back if the other has none either), else the
 * error. */
static int srv_err(const struct srvq *q)
{
	if (q->status == ARES_SUCCESS || q->status == ARES_ENOTFOUND || q->status == ARES_ENODATA)
		return DNS_OK;
	return map_status(q->status);
}

/* "name" for "name." (one final dot: the absolute form), into out. */
static int copy_host(char *out, const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len >= DNS_HOST_MAX)
		return DNS_INVALID;
	memcpy(out, name, len);
	out[len] = '\0';
	return DNS_OK;
}

/* An IP address as the domain (RFC 6120 3.2.1: no SRV then). */
static int ip_literal(const char *d, char *out, size_t outsz)
{
	unsigned char buf[sizeof(struct in6_addr)];
	size_t len = strlen(d);

	if (inet_pton(AF_INET, d, buf) == 1) {
		snprintf(out, outsz, "%s", d);
		return 1;
	}
	if (len > 2 && len < outsz && d[0] == '[' && d[len - 1] == ']') {
		memcpy(out, d + 1, len - 2);
		out[len - 2] = '\0';
		return inet_pton(AF_INET6, out, buf) == 1;
	}
	return 0;
}

static void fallback(struct dns_candidates *out, const char *host)
{
	out->n = 1;
	out->fallback = 1;
	snprintf(out->c[0].host, sizeof out->c[0].host, "%s", host);
	out->c[0].port = DNS_PORT_DEFAULT;
	out->c[0].direct_tls = 0;
}

int dns_lookup(struct dns *r, const char *domain, int timeout_s, struct dns_candidates *out)
{
	char host[DNS_HOST_MAX], ip[DNS_HOST_MAX];
	char qtls[DNS_HOST_MAX + 32], qstarttls[DNS_HOST_MAX + 32];
	int pending = 2, e, etls, estarttls, n = 0, i, dot_tls, dot_starttls;
	struct srvq tls = { &pending, ARES_ECANCELLED, NULL };
	struct srvq starttls = { &pending, ARES_ECANCELLED, NULL };
	struct rec *v;

	memset(out, 0, sizeof *out);
	if (!r || !domain || timeout_s < 1 || copy_host(host, domain) != DNS_OK)
		return DNS_INVALID;
	if (ip_literal(host, ip, sizeof ip)) {
		fallback(out, ip);
		return DNS_OK;
	}
	snprintf(qtls, sizeof qtls, SVC_TLS "%s", host);
	snprintf(qstarttls, sizeof qstarttls, SVC_STARTTLS "%s", host);
	/* Both at once: one round trip's wait, not two. */
	ares_query(r->ch, qtls, ns_c_in, ns_t_srv, srv_done, &tls);
	ares_query(r->ch, qstarttls, ns_c_in, ns_t_srv, srv_done, &starttls);
	e = drive(r, &pending, timeout_s);

	v = calloc((size_t)(count(&tls) + count(&starttls) + 1), sizeof *v);
	if (!v) {
		e = DNS_FAIL;
		goto done;
	}
	dot_tls = collect(&tls, 1, v, &n);
	dot_starttls = collect(&starttls, 0, v, &n);
	if (n > 0) {
		/* Whatever answered is used, even if the other service's query
		 * failed: a broken _xmpps record must not cut a domain off. */
		e = order(v, n);
		if (e != DNS_OK)
			goto done;
		for (i = 0; i < n && out->n < DNS_MAX_CANDIDATES; i++) {
			struct dns_candidate *c = &out->c[out->n];
			if (copy_host(c->host, v[i].host) != DNS_OK)
				continue;
			c->port = v[i].port;
			c->direct_tls = v[i].direct_tls;
			out->n++;
		}
		e = out->n > 0 ? DNS_OK : DNS_NOSERVICE;
		goto done;
	}
	/* Nothing to connect to. An error of either query wins: without its
	 * answer there is no telling whether it would have named a server. */
	etls = srv_err(&tls);
	estarttls = srv_err(&starttls);
	if (e == DNS_OK && (etls == DNS_TIMEOUT || estarttls == DNS_TIMEOUT))
		e = DNS_TIMEOUT;
	if (e == DNS_OK && (etls != DNS_OK || estarttls != DNS_OK))
		e = etls != DNS_OK ? etls : estarttls;
	if (e != DNS_OK)
		goto done;
	if (dot_tls || dot_starttls) {
		/* "." for one service and nothing for the other: the domain
		 * has said it uses SRV, so no fallback (XEP-0368 5) */
		e = DNS_NOSERVICE;
		goto done;
	}
	fallback(out, host);
	e = DNS_OK;
done:
	free(v);
	if (tls.srv)
		ares_free_data(tls.srv);
	if (starttls.srv)
		ares_free_data(starttls.srv);
	if (e != DNS_OK)
		memset(out, 0, sizeof *out);
	return e;
}

int dns_resolve(struct dns *r, const struct dns_candidate *c, int timeout_s, struct dns_addrs *out)
{
	struct ares_addrinfo_hints hints;
	struct ares_addrinfo_node *a;
	int pending = 1, e;
	struct addrq q = { &pending, ARES_ECANCELLED, NULL };
	char port[8];

	memset(out, 0, sizeof *out);
	if (!r || !c || timeout_s < 1 || !c->host[0])
		return DNS_INVALID;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;        /* AAAA and A both */
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = ARES_AI_NUMERICSERV;
	snprintf(port, sizeof port, "%u", (unsigned)c->port);
	ares_getaddrinfo(r->ch, c->host, port, &hints, addr_done, &q);
	e = drive(r, &pending, timeout_s);
	if (e == DNS_OK && q.status != ARES_SUCCESS)
		e = map_status(q.status);
	if (e == DNS_OK) {
		for (a = q.res ? q.res->nodes : NULL; a && out->n < DNS_MAX_ADDRS; a = a->ai_next) {
			if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
			    a->ai_addrlen > sizeof out->a[0])
				continue;
			memcpy(&out->a[out->n], a->ai_addr, a->ai_addrlen);
			out->len[out->n] = (socklen_t)a->ai_addrlen;
			out->n++;
		}
		if (out->n == 0)
			e = DNS_NOSERVICE;
	}
	if (q.res)
		ares_freeaddrinfo(q.res);
	if (e != DNS_OK)
		memset(out, 0, sizeof *out);
	return e;
}
