/*
 * test_turncred.c - unit tests for lib/turncred.c: TURN credentials
 * against fixed vectors made with Python's hmac and base64 (what coturn
 * computes from the same secret), and the username's length limit.
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "turncred.h"
#include "check.h"

#include <string.h>

static void test_vectors(void)
{
	char user[TURNCRED_USER_MAX + 1], pass[TURNCRED_PASS_LEN + 1];

	/* base64(hmac.new(b"north", b"1700000000:alice@example.org", sha1)) */
	CHECK_INT(turncred_make("north", 1700000000L, "alice@example.org", user, pass), 0);
	CHECK_STR(user, "1700000000:alice@example.org");
	CHECK_STR(pass, "PZI+z4ibN1IQ7v4pzuL4fO8lnhI=");
	/* a blank inside the secret is part of it */
	CHECK_INT(turncred_make("two words", 86400L, "b@c", user, pass), 0);
	CHECK_STR(user, "86400:b@c");
	CHECK_STR(pass, "pgzjOZBodK0a7+uZ+HxJdXMYkMI=");
}

static void test_long_jid(void)
{
	char user[TURNCRED_USER_MAX + 1], pass[TURNCRED_PASS_LEN + 1];
	char bare[TURNCRED_USER_MAX + 1];
	size_t fits = TURNCRED_USER_MAX - strlen("1700000000:");

	memset(bare, 'a', fits);
	bare[fits] = '\0';
	CHECK_INT(turncred_make("s", 1700000000L, bare, user, pass), 0);
	CHECK_INT(strlen(user), TURNCRED_USER_MAX);
	CHECK_INT(strlen(pass), TURNCRED_PASS_LEN);
	bare[fits] = 'a';                      /* one byte too many */
	bare[fits + 1] = '\0';
	CHECK_INT(turncred_make("s", 1700000000L, bare, user, pass), -1);
	CHECK_STR(user, "");
	CHECK_STR(pass, "");
}

int main(void)
{
	test_vectors();
	test_long_jid();
	return CHECK_DONE();
}
