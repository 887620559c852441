/*
 * test_netaddr.c - unit tests for lib/netaddr.c: addresses, their
 * canonical spelling, CIDR ranges and matching (auth_exempt).
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "netaddr.h"
#include "check.h"

#include <string.h>

#define MAX_RANGES 8

static void test_parse(void)
{
	unsigned char a[NETADDR_LEN], b[NETADDR_LEN];

	CHECK_INT(netaddr_parse("1.2.3.4", a), 0);
	CHECK_INT(netaddr_parse("::ffff:1.2.3.4", b), 0);
	CHECK(memcmp(a, b, NETADDR_LEN) == 0);      /* IPv4 is held mapped */
	CHECK_INT(netaddr_parse("::1", a), 0);
	CHECK_INT(a[15], 1);
	CHECK_INT(netaddr_parse("2001:DB8::1", a), 0);
	CHECK_INT(netaddr_parse("", a), -1);
	CHECK_INT(netaddr_parse("local", a), -1);
	CHECK_INT(netaddr_parse("1.2.3", a), -1);
	CHECK_INT(netaddr_parse("1.2.3.256", a), -1);
	CHECK_INT(netaddr_parse(" 1.2.3.4", a), -1);
	CHECK_INT(netaddr_parse("[::1]", a), -1);
	CHECK_INT(netaddr_parse("::1%lo", a), -1);
	CHECK_INT(netaddr_parse("1.2.3.4/8", a), -1);
	CHECK_INT(netaddr_parse(NULL, a), -1);
	{
		char big[200];
		memset(big, '1', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		CHECK_INT(netaddr_parse(big, a), -1);
	}
}

static void test_canon(void)
{
	char out[NETADDR_STR_MAX], tiny[4];

	CHECK_INT(netaddr_canon("127.0.0.1", out, sizeof out), 0);
	CHECK_STR(out, "127.0.0.1");
	CHECK_INT(netaddr_canon("::ffff:127.0.0.1", out, sizeof out), 0);
	CHECK_STR(out, "127.0.0.1");
	CHECK_INT(netaddr_canon("::FFFF:7f00:1", out, sizeof out), 0);
	CHECK_STR(out, "127.0.0.1");
	CHECK_INT(netaddr_canon("2001:DB8:0:0:0:0:0:1", out, sizeof out), 0);
	CHECK_STR(out, "2001:db8::1");
	CHECK_INT(netaddr_canon("0::1", out, sizeof out), 0);
	CHECK_STR(out, "::1");
	CHECK_INT(netaddr_canon("local", out, sizeof out), -1);
	CHECK_STR(out, "");
	CHECK_INT(netaddr_canon("10.0.0.1", tiny, sizeof tiny), -1);
	CHECK_STR(tiny, "");
	CHECK_INT(netaddr_canon("10.0.0.1", out, 0), -1);
}

static void test_range_parse(void)
{
	struct netaddr_range r;

	CHECK_INT(netaddr_range_parse("10.0.0.0/8", &r), 0);
	CHECK_INT(r.bits, 96 + 8);
	CHECK_INT(netaddr_range_parse("0.0.0.0/0", &r), 0);
	CHECK_INT(r.bits, 96);
	CHECK_INT(netaddr_range_parse("192.0.2.7", &r), 0);     /* one host */
	CHECK_INT(r.bits, 128);
	CHECK_INT(netaddr_range_parse("192.0.2.7/32", &r), 0);
	CHECK_INT(netaddr_range_parse("::1/128", &r), 0);
	CHECK_INT(r.bits, 128);
	CHECK_INT(netaddr_range_parse("::1", &r), 0);
	CHECK_INT(netaddr_range_parse("::/0", &r), 0);
	CHECK_INT(r.bits, 0);
	CHECK_INT(netaddr_range_parse("2001:db8::/32", &r), 0);
	CHECK_INT(netaddr_range_parse("::ffff:10.0.0.0/104", &r), 0);
	CHECK_INT(r.bits, 104);
	CHECK_INT(netaddr_range_parse("fe80::/10", &r), 0);

	CHECK_INT(netaddr_range_parse("10.0.0.1/8", &r), -1);   /* host bits */
	CHECK_INT(netaddr_range_parse("fe80::1/10", &r), -1);
	CHECK_INT(netaddr_range_parse("10.0.0.0/33", &r), -1);
	CHECK_INT(netaddr_range_parse("::/129", &r), -1);
	CHECK_INT(netaddr_range_parse("10.0.0.0/", &r), -1);
	CHECK_INT(netaddr_range_parse("10.0.0.0/-1", &r), -1);
	CHECK_INT(netaddr_range_parse("10.0.0.0/+8", &r), -1);
	CHECK_INT(netaddr_range_parse("10.0.0.0/8x", &r), -1);
	CHECK_INT(netaddr_range_parse("10.0.0.0/8/8", &r), -1);
	CHECK_INT(netaddr_range_parse("10.0.0.0/99999999999999999999", &r), -1);
	CHECK_INT(netaddr_range_parse("10.0.0/8", &r), -1);
	CHECK_INT(netaddr_range_parse("example.org/8", &r), -1);
	CHECK_INT(netaddr_range_parse("/8", &r), -1);
	CHECK_INT(netaddr_range_parse("", &r), -1);
	CHECK_INT(netaddr_range_parse(NULL, &r), -1);
}

/* Parse each of the ranges (NULL-terminated) into r; their count. */
static int ranges(struct netaddr_range *r, const char *const *s)
{
	int n = 0;
	for (; *s && n < MAX_RANGES; s++)
		if (CHECK_INT(netaddr_range_parse(*s, &r[n]), 0))
			n++;
	return n;
}

static void test_match(void)
{
	static const char *const v4[] = { "127.0.0.0/8", "10.1.2.0/23", NULL };
	static const char *const v6[] = { "::1/128", "2001:db8:40::/42", NULL };
	static const char *const all[] = { "0.0.0.0/0", NULL };
	static const char *const all6[] = { "::/0", NULL };
	static const char *const host[] = { "192.0.2.7", NULL };
	struct netaddr_range r[MAX_RANGES];
	int n;

	n = ranges(r, v4);
	CHECK_INT(netaddr_match(r, n, "127.0.0.1"), 1);
	CHECK_INT(netaddr_match(r, n, "127.255.255.255"), 1);
	CHECK_INT(netaddr_match(r, n, "128.0.0.1"), 0);
	CHECK_INT(netaddr_match(r, n, "10.1.2.1"), 1);
	CHECK_INT(netaddr_match(r, n, "10.1.3.255"), 1);     /* /23 */
	CHECK_INT(netaddr_match(r, n, "10.1.4.0"), 0);
	CHECK_INT(netaddr_match(r, n, "10.1.1.255"), 0);
	/* a mapped address is its IPv4 address */
	CHECK_INT(netaddr_match(r, n, "::ffff:127.0.0.1"), 1);
	CHECK_INT(netaddr_match(r, n, "::ffff:7f00:2"), 1);
	CHECK_INT(netaddr_match(r, n, "::ffff:128.0.0.1"), 0);
	/* ... but an IPv6 address whose last bits look alike is not */
	CHECK_INT(netaddr_match(r, n, "::127.0.0.1"), 0);
	CHECK_INT(netaddr_match(r, n, "::1"), 0);
	CHECK_INT(netaddr_match(r, n, "local"), 0);
	CHECK_INT(netaddr_match(r, n, ""), 0);
	CHECK_INT(netaddr_match(r, 0, "127.0.0.1"), 0);

	n = ranges(r, v6);
	CHECK_INT(netaddr_match(r, n, "::1"), 1);
	CHECK_INT(netaddr_match(r, n, "::2"), 0);
	CHECK_INT(netaddr_match(r, n, "2001:db8:40::1"), 1);
	CHECK_INT(netaddr_match(r, n, "2001:db8:7f:ffff::1"), 1);   /* /42 */
	CHECK_INT(netaddr_match(r, n, "2001:db8:80::1"), 0);
	CHECK_INT(netaddr_match(r, n, "2001:db8:3f::1"), 0);
	CHECK_INT(netaddr_match(r, n, "127.0.0.1"), 0);

	n = ranges(r, all);
	CHECK_INT(netaddr_match(r, n, "203.0.113.9"), 1);
	CHECK_INT(netaddr_match(r, n, "::ffff:203.0.113.9"), 1);
	CHECK_INT(netaddr_match(r, n, "2001:db8::1"), 0);      /* IPv4 only */

	n = ranges(r, all6);
	CHECK_INT(netaddr_match(r, n, "2001:db8::1"), 1);
	CHECK_INT(netaddr_match(r, n, "203.0.113.9"), 1);      /* everything */

	n = ranges(r, host);
	CHECK_INT(netaddr_match(r, n, "192.0.2.7"), 1);
	CHECK_INT(netaddr_match(r, n, "192.0.2.6"), 0);
	CHECK_INT(netaddr_match(r, n, "192.0.2.8"), 0);
}

int main(void)
{
	test_parse();
	test_canon();
	test_range_parse();
	test_match();
	return CHECK_DONE();
}
