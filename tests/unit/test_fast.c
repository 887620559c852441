/*
 * test_fast.c - unit tests for router/fast.c's stored form of a client's
 * FAST tokens (xmpp-redis(7)): written and read back, and what is not a
 * record refused. Pure functions: no Redis is needed.
 *
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "fast.h"
#include "check.h"

#include <string.h>

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void test_round_trip(void)
{
	struct fast_record r, back;
	char out[FAST_RECORD_MAX];

	memset(&r, 0, sizeof r);
	strcpy(r.mech, "HT-SHA-256-EXPR");
	r.count = 7;
	r.fresh.expiry = 1800000000;
	strcpy(r.fresh.hash, H1);
	fast_record_format(&r, out, sizeof out);
	CHECK_STR(out, "HT-SHA-256-EXPR 7 1800000000 " H1 " 0 -");
	CHECK_INT(fast_record_parse(out, &back), 0);
	CHECK_STR(back.mech, "HT-SHA-256-EXPR");
	CHECK_INT(back.count, 7);
	CHECK_INT(back.fresh.expiry, 1800000000);
	CHECK_STR(back.fresh.hash, H1);
	CHECK_INT(back.cur.expiry, 0);
	CHECK_STR(back.cur.hash, "");

	r.cur = r.fresh;
	strcpy(r.cur.hash, H2);
	memset(&r.fresh, 0, sizeof r.fresh);
	fast_record_format(&r, out, sizeof out);
	CHECK_STR(out, "HT-SHA-256-EXPR 7 0 - 1800000000 " H2);
	CHECK_INT(fast_record_parse(out, &back), 0);
	CHECK_STR(back.cur.hash, H2);
	CHECK_INT(back.fresh.expiry, 0);
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"",
		"HT-SHA-256-NONE",
		"HT-SHA-256-NONE 0 0 - 0",                            /* a slot short */
		"HT-SHA-256-NONE 0 0 - 0 - extra",                    /* more */
		"HT-SHA-256-NONE -1 0 - 0 -",                         /* negative count */
		"HT-SHA-256-NONE 0 5 - 0 -",                          /* expiry, no hash */
		"HT-SHA-256-NONE 0 0 " H1 " 0 -",                     /* hash, no expiry */
		"HT-SHA-256-NONE 0 5 " H1 "0 0 -",                    /* hash too long */
		"HT-SHA-256-NONE 0 5 0123 0 -",                       /* too short */
		"HT-SHA-256-NONE 0 5 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef 0 -",
		NULL
	};
	struct fast_record r;
	int i;
	for (i = 0; bad[i]; i++)
		if (fast_record_parse(bad[i], &r) != -1)
			CHECK_STR(bad[i], "(refused)");
	CHECK_INT(fast_record_parse("HT-SHA-256-NONE 0 0 - 0 -", &r), 0);
}

int main(void)
{
	test_round_trip();
	test_refused();
	return CHECK_DONE();
}
