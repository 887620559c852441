/*
 * test_rate.c - unit tests for lib/rate.c, the token bucket over a peer's
 * bytes. Refilling runs on the clock: the amounts are chosen so that a
 * slow machine adds too little to change an outcome (1024 bytes/s).
 *
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "rate.h"
#include "check.h"

static void test_take(void)
{
	struct rate r;

	rate_init(&r, 1024, 4096);
	CHECK_INT(rate_take(&r, 4000), 0);          /* a full bucket */
	CHECK_INT(rate_take(&r, 1000), -1);         /* beyond the burst */
}

static void test_set(void)
{
	struct rate r;

	/* Lowered, nothing spent: the new burst. */
	rate_init(&r, 1024, 1048576);
	rate_set(&r, 1024, 4096);
	CHECK_INT(r.per_sec, 1024);
	CHECK_INT(r.burst, 4096);
	CHECK_INT(rate_take(&r, 4000), 0);
	CHECK_INT(rate_take(&r, 1000), -1);

	/* Lowered below what was spent: empty, not in debt. */
	rate_init(&r, 1024, 1048576);
	CHECK_INT(rate_take(&r, 1046528), 0);       /* 2048 left */
	rate_set(&r, 1024, 4096);
	CHECK_INT(rate_take(&r, 1000), -1);
	rate_init(&r, 1024, 8192);
	CHECK_INT(rate_take(&r, 8192), 0);
	rate_set(&r, 1024, 4096);
	CHECK(r.tokens >= 0 && r.tokens < 512);

	/* Raised: the new burst less what was spent of the old one. */
	rate_init(&r, 1024, 4096);
	CHECK_INT(rate_take(&r, 4000), 0);
	rate_set(&r, 1024, 1048576);
	CHECK_INT(r.burst, 1048576);
	CHECK_INT(rate_take(&r, 1040000), 0);
	CHECK_INT(rate_take(&r, 8192), -1);
}

int main(void)
{
	test_take();
	test_set();
	return CHECK_DONE();
}
