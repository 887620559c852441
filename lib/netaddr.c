/*
 * netaddr.c - IP addresses and CIDR ranges (see netaddr.h).
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V4_MAPPED_BITS 96      /* ::ffff:0:0/96 holds every IPv4 address */

static const unsigned char v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int is_v4_mapped(const unsigned char a[NETADDR_LEN])
{
	return !memcmp(a, v4_mapped_prefix, sizeof v4_mapped_prefix);
}

int netaddr_parse(const char *s, unsigned char out[NETADDR_LEN])
{
	struct in_addr a4;
	struct in6_addr a6;

	/* inet_pton reads at most a few dozen bytes of a valid address; a
	 * longer string is refused before it is looked at. */
	if (!s || strnlen(s, NETADDR_TEXT_MAX) == NETADDR_TEXT_MAX)
		return -1;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(out, v4_mapped_prefix, sizeof v4_mapped_prefix);
		memcpy(out + sizeof v4_mapped_prefix, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		memcpy(out, &a6, NETADDR_LEN);
		return 0;
	}
	return -1;
}

int netaddr_canon(const char *s, char *out, size_t outsz)
{
	unsigned char a[NETADDR_LEN];
	char buf[NETADDR_STR_MAX];
	const char *r;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (netaddr_parse(s, a) == -1)
		return -1;
	if (is_v4_mapped(a))
		r = inet_ntop(AF_INET, a + sizeof v4_mapped_prefix, buf, sizeof buf);
	else
		r = inet_ntop(AF_INET6, a, buf, sizeof buf);
	if (!r || strlen(buf) >= outsz)
		return -1;
	strcpy(out, buf);
	return 0;
}

/* a with every bit after the first bits cleared, into out. */
static void mask(const unsigned char *a, unsigned bits, unsigned char *out)
{
	unsigned whole = bits / CHAR_BIT, rest = bits % CHAR_BIT;

	memcpy(out, a, NETADDR_LEN);
	if (whole >= NETADDR_LEN)
		return;
	out[whole] &= (unsigned char)(0xff << (CHAR_BIT - rest));
	memset(out + whole + 1, 0, NETADDR_LEN - whole - 1);
}

int netaddr_range_parse(const char *s, struct netaddr_range *out)
{
	char host[NETADDR_TEXT_MAX], *end;
	unsigned char masked[NETADDR_LEN];
	const char *slash;
	unsigned max;
	long bits;
	size_t n;

	if (!s)
		return -1;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof host)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (netaddr_parse(host, out->addr) == -1)
		return -1;
	/* An IPv4 prefix counts within the mapped form's last 32 bits; an
	 * address written with colons (::ffff:1.2.3.4 too) is IPv6. */
	max = strchr(host, ':') ? 128 : 32;
	bits = (long)max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		bits = strtol(slash + 1, &end, 10);
		if (*end || bits > (long)max)
			return -1;
	}
	out->bits = (unsigned)bits + (max == 32 ? V4_MAPPED_BITS : 0);
	mask(out->addr, out->bits, masked);
	return memcmp(masked, out->addr, NETADDR_LEN) ? -1 : 0;
}

int netaddr_match(const struct netaddr_range *r, int n, const char *addr)
{
	unsigned char a[NETADDR_LEN], m[NETADDR_LEN];
	int i;

	if (n <= 0 || netaddr_parse(addr, a) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		mask(a, r[i].bits, m);
		if (!memcmp(m, r[i].addr, NETADDR_LEN))
			return 1;
	}
	return 0;
}
