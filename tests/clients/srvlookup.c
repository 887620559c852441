/*
 * srvlookup.c - where xmppd would connect for a remote XMPP domain
 * (s2s/dns.h), for the tests (tests/proto/test_s2s_dns.py) and for
 * trying a domain by hand.
 *
 * Contract
 *   srvlookup [-r HOST:PORT] [-t SECONDS] [-c COUNT] [-n] DOMAIN
 *   looks DOMAIN up through the resolver HOST:PORT (default: the system's,
 *   resolv.conf) within SECONDS (default 5) per call, and prints on stdout:
 *     lookup ok|ERROR [fallback]        dns_lookup's result
 *     cand HOST PORT direct|starttls    each candidate, in order
 *     addr HOST ADDRESS PORT            each address of that candidate
 *     addrerr HOST ERROR                dns_resolve's error for it
 *   ERROR is one word: nodomain, noservice, timeout, fail, invalid.
 *   With -c, the lookup is done COUNT times in one process (for the
 *   weighted order's statistics), each printing one line
 *     order HOST:PORT:direct|starttls ...
 *   and nothing else; -n skips the addresses.
 *   Exit status: 0 when the lookup succeeded, 1 when it reported an
 *   error (printed), 100 usage, 111 the resolver could not start.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PROG  "srvlookup"
#define USAGE "usage: srvlookup [-r HOST:PORT] [-t SECONDS] [-c COUNT] [-n] DOMAIN"

static const char *word(int e)
{
	switch (e) {
	case DNS_OK:        return "ok";
	case DNS_NODOMAIN:  return "nodomain";
	case DNS_NOSERVICE: return "noservice";
	case DNS_TIMEOUT:   return "timeout";
	case DNS_FAIL:      return "fail";
	}
	return "invalid";
}

static const char *tls(const struct dns_candidate *c)
{
	return c->direct_tls ? "direct" : "starttls";
}

static void addresses(struct dns *r, const struct dns_candidate *c, int timeout)
{
	struct dns_addrs a;
	char text[INET6_ADDRSTRLEN];
	int e, i;

	e = dns_resolve(r, c, timeout, &a);
	if (e != DNS_OK) {
		printf("addrerr %s %s\n", c->host, word(e));
		return;
	}
	for (i = 0; i < a.n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&a.a[i];
		unsigned port;
		if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
			inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof text);
			port = ntohs(s6->sin6_port);
		} else {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
			inet_ntop(AF_INET, &s4->sin_addr, text, sizeof text);
			port = ntohs(s4->sin_port);
		}
		printf("addr %s %s %u\n", c->host, text, port);
	}
}

int main(int argc, char **argv)
{
	const char *server = NULL;
	int timeout = 5, runs = 0, noaddr = 0, o, e, i, k;
	struct dns_candidates cs;
	struct dns *r;

	while ((o = getopt(argc, argv, "r:t:c:n")) != -1) {
		switch (o) {
		case 'r': server = optarg; break;
		case 't': timeout = atoi(optarg); break;
		case 'c': runs = atoi(optarg); break;
		case 'n': noaddr = 1; break;
		default:
			fprintf(stderr, "%s\n", USAGE);
			return 100;
		}
	}
	if (optind != argc - 1 || timeout < 1 || runs < 0) {
		fprintf(stderr, "%s\n", USAGE);
		return 100;
	}
	r = dns_open(server, &e);
	if (!r) {
		fprintf(stderr, PROG ": resolver %s: %s\n", server ? server : "(system)", dns_str(e));
		return 111;
	}
	if (runs > 0) {
		for (k = 0; k < runs; k++) {
			e = dns_lookup(r, argv[optind], timeout, &cs);
			if (e != DNS_OK) {
				printf("lookup %s\n", word(e));
				break;
			}
			printf("order");
			for (i = 0; i < cs.n; i++)
				printf(" %s:%u:%s", cs.c[i].host, (unsigned)cs.c[i].port, tls(&cs.c[i]));
			printf("\n");
		}
	} else {
		e = dns_lookup(r, argv[optind], timeout, &cs);
		printf("lookup %s%s\n", word(e), e == DNS_OK && cs.fallback ? " fallback" : "");
		for (i = 0; e == DNS_OK && i < cs.n; i++)
			printf("cand %s %u %s\n", cs.c[i].host, (unsigned)cs.c[i].port, tls(&cs.c[i]));
		for (i = 0; e == DNS_OK && !noaddr && i < cs.n; i++)
			addresses(r, &cs.c[i], timeout);
	}
	dns_close(r);
	return e == DNS_OK ? 0 : 1;
}
