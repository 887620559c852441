/*
 * test_dialback.c - unit tests for lib/dialback.c: XEP-0185's own example
 * vector and a second one (both recomputed independently with Python's
 * hmac and hashlib when this test was written:
 *   k = hashlib.sha256(secret).hexdigest().encode()
 *   hmac.new(k, b'<receiving> <originating> <id>', hashlib.sha256).hexdigest()
 * ), that every input changes the key, that the key is the hex text of
 * the secret's hash and not its raw bytes, the bounds on the inputs, and
 * the comparison. Prints one line per failing check, then
 * "N passed, M failed"; exits non-zero if anything failed.
 */
#include "dialback.h"
#include "xerr.h"
#include "check.h"

#include <string.h>

/* XEP-0185 section 3, "Data Used in Examples". */
#define XEP_SECRET      "s3cr3tf0rd14lb4ck"
#define XEP_RECEIVING   "xmpp.example.com"
#define XEP_ORIGINATING "example.org"
#define XEP_STREAM_ID   "D60000229F"
#define XEP_KEY "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643"
/* The same inputs with the raw 32 bytes of SHA-256(secret) as the HMAC
 * key (Python, as above, with .digest() for .hexdigest()): what a wrong
 * reading of the XEP makes. */
#define RAW_KEY "4530485cd3f519a56e49b11b294b990ee9697dddaa9e95949e4cb0e64e9f017f"
/* secret = bytes 0..31, "b.example.net a.example.org 5f3c9a0e". */
#define BIN_KEY "08ca304d85b1832fdb9cd5c86d548bd33c999f6b7f62afb0b8a075538326920b"

static const unsigned char *xs = (const unsigned char *)XEP_SECRET;
static const size_t xslen = sizeof XEP_SECRET - 1;

static void test_vectors(void)
{
	char key[DIALBACK_KEY_HEX + 1];
	unsigned char bin[32];
	size_t i;

	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    XEP_STREAM_ID, key), 0);
	CHECK_STR(key, XEP_KEY);
	CHECK(strcmp(key, RAW_KEY) != 0);
	CHECK_INT(strlen(key), DIALBACK_KEY_HEX);

	for (i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)i;
	CHECK_INT(dialback_key(bin, sizeof bin, "b.example.net", "a.example.org",
	    "5f3c9a0e", key), 0);
	CHECK_STR(key, BIN_KEY);
}

/* Each input, changed alone, changes the key. */
static void test_inputs_matter(void)
{
	char base[DIALBACK_KEY_HEX + 1], key[DIALBACK_KEY_HEX + 1];

	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    XEP_STREAM_ID, base), 0);

	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    "D60000229E", key), 0);
	CHECK(strcmp(key, base) != 0);
	CHECK_INT(dialback_key(xs, xslen, "xmpp.example.net", XEP_ORIGINATING,
	    XEP_STREAM_ID, key), 0);
	CHECK(strcmp(key, base) != 0);
	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, "example.net",
	    XEP_STREAM_ID, key), 0);
	CHECK(strcmp(key, base) != 0);
	/* The two domains swapped: the other direction of the same pair. */
	CHECK_INT(dialback_key(xs, xslen, XEP_ORIGINATING, XEP_RECEIVING,
	    XEP_STREAM_ID, key), 0);
	CHECK(strcmp(key, base) != 0);
	CHECK_INT(dialback_key((const unsigned char *)"s3cr3tf0rd14lb4cK", xslen,
	    XEP_RECEIVING, XEP_ORIGINATING, XEP_STREAM_ID, key), 0);
	CHECK(strcmp(key, base) != 0);
	/* A secret is bytes: one more (a NUL) is another secret. */
	CHECK_INT(dialback_key(xs, xslen + 1, XEP_RECEIVING, XEP_ORIGINATING,
	    XEP_STREAM_ID, key), 0);
	CHECK(strcmp(key, base) != 0);
	/* The same inputs again: the same key (no hidden state). */
	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    XEP_STREAM_ID, key), 0);
	CHECK_STR(key, base);
}

static void test_bounds(void)
{
	char key[DIALBACK_KEY_HEX + 1];
	char dom[DIALBACK_DOMAIN_MAX + 2];
	char id[DIALBACK_STREAM_ID_MAX + 2];

	/* Exactly at the limits: accepted. */
	memset(dom, 'a', DIALBACK_DOMAIN_MAX);
	dom[DIALBACK_DOMAIN_MAX] = '\0';
	memset(id, 'x', DIALBACK_STREAM_ID_MAX);
	id[DIALBACK_STREAM_ID_MAX] = '\0';
	CHECK_INT(dialback_key(xs, xslen, dom, XEP_ORIGINATING, id, key), 0);
	CHECK_INT(strlen(key), DIALBACK_KEY_HEX);

	/* One byte over: refused, and key left empty. */
	dom[DIALBACK_DOMAIN_MAX] = 'a';
	dom[DIALBACK_DOMAIN_MAX + 1] = '\0';
	CHECK_INT(dialback_key(xs, xslen, dom, XEP_ORIGINATING, XEP_STREAM_ID, key),
	    XE_INVALID);
	CHECK_STR(key, "");
	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, dom, XEP_STREAM_ID, key),
	    XE_INVALID);
	id[DIALBACK_STREAM_ID_MAX] = 'x';
	id[DIALBACK_STREAM_ID_MAX + 1] = '\0';
	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING, id, key),
	    XE_INVALID);

	/* Empty, NULL, a space in a domain (ambiguous message), control
	 * characters. */
	CHECK_INT(dialback_key(xs, xslen, "", XEP_ORIGINATING, XEP_STREAM_ID, key),
	    XE_INVALID);
	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING, "", key),
	    XE_INVALID);
	CHECK_INT(dialback_key(xs, xslen, NULL, XEP_ORIGINATING, XEP_STREAM_ID, key),
	    XE_INVALID);
	CHECK_INT(dialback_key(xs, xslen, "a.example b.example", XEP_ORIGINATING,
	    XEP_STREAM_ID, key), XE_INVALID);
	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, "example.org\n",
	    XEP_STREAM_ID, key), XE_INVALID);
	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    "D6\r0000229F", key), XE_INVALID);
	CHECK_INT(dialback_key(NULL, 0, XEP_RECEIVING, XEP_ORIGINATING,
	    XEP_STREAM_ID, key), XE_INVALID);
	CHECK_INT(dialback_key(xs, 0, XEP_RECEIVING, XEP_ORIGINATING,
	    XEP_STREAM_ID, key), XE_INVALID);
	CHECK_INT(dialback_key(xs, DIALBACK_SECRET_MAX + 1, XEP_RECEIVING,
	    XEP_ORIGINATING, XEP_STREAM_ID, key), XE_INVALID);
	/* A stream id may hold a space: it is the last field. */
	CHECK_INT(dialback_key(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    "D6 0000229F", key), 0);
}

static void test_compare(void)
{
	char other[DIALBACK_KEY_HEX + 1];
	size_t i;

	CHECK_INT(dialback_key_equal(XEP_KEY, XEP_KEY), 1);
	/* A difference in any one place, the first and the last included. */
	for (i = 0; i < DIALBACK_KEY_HEX; i++) {
		memcpy(other, XEP_KEY, sizeof other);
		other[i] = other[i] == '0' ? '1' : '0';
		if (!CHECK_INT(dialback_key_equal(XEP_KEY, other), 0))
			printf("  at digit %zu\n", i);
	}
	/* Hex is compared as sent: upper case is another key. */
	CHECK_INT(dialback_key_equal(XEP_KEY,
	    "37C69B1CF07A3F67C04A5EF5902FA5114F2C76FE4A2686482BA5B89323075643"), 0);
	/* A prefix, a longer string, empty, NULL. */
	CHECK_INT(dialback_key_equal(XEP_KEY, "37c69b1cf07a3f67"), 0);
	CHECK_INT(dialback_key_equal(XEP_KEY, XEP_KEY "0"), 0);
	CHECK_INT(dialback_key_equal(XEP_KEY, " " XEP_KEY), 0);
	CHECK_INT(dialback_key_equal(XEP_KEY, ""), 0);
	CHECK_INT(dialback_key_equal(XEP_KEY, NULL), 0);
	CHECK_INT(dialback_key_equal(NULL, XEP_KEY), 0);
	/* want of the wrong length never equals anything, itself included. */
	CHECK_INT(dialback_key_equal("abc", "abc"), 0);
	CHECK_INT(dialback_key_equal("", ""), 0);
}

static void test_verify(void)
{
	CHECK_INT(dialback_verify(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    XEP_STREAM_ID, XEP_KEY), 0);
	CHECK_INT(dialback_verify(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    "D60000229E", XEP_KEY), XE_INVALID);
	CHECK_INT(dialback_verify(xs, xslen, XEP_RECEIVING, "example.net",
	    XEP_STREAM_ID, XEP_KEY), XE_INVALID);
	CHECK_INT(dialback_verify(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    XEP_STREAM_ID, RAW_KEY), XE_INVALID);
	CHECK_INT(dialback_verify(xs, xslen, XEP_RECEIVING, XEP_ORIGINATING,
	    XEP_STREAM_ID, ""), XE_INVALID);
	CHECK_INT(dialback_verify(xs, xslen, "", XEP_ORIGINATING,
	    XEP_STREAM_ID, XEP_KEY), XE_INVALID);
}

int main(void)
{
	test_vectors();
	test_inputs_matter();
	test_bounds();
	test_compare();
	test_verify();
	return CHECK_DONE();
}
