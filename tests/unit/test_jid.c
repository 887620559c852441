/*
 * test_jid.c - unit tests for lib/jid.c (RFC 7622 addresses through
 * libidn's nodeprep, nameprep and resourceprep).
 *
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "jid.h"
#include "xmalloc.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

/* Parse s; on success compare every part, on failure only the result. */
#define PARSE_OK(s, n, d, r) do { \
	struct jid j_; \
	if (CHECK_INT(jid_parse((s), &j_), 0)) { \
		CHECK_STR(j_.node, (n)); \
		CHECK_STR(j_.domain, (d)); \
		CHECK_STR(j_.resource, (r)); \
	} \
} while (0)
#define PARSE_BAD(s) do { \
	struct jid j_; \
	CHECK_INT(jid_parse((s), &j_), -1); \
} while (0)

static char *repeat(char ch, size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static void test_basic(void)
{
	/* RFC 7622: domain lower-cased, resource case kept. */
	PARSE_OK("user@Example.COM/Res", "user", "example.com", "Res");
	PARSE_OK("user@example.com", "user", "example.com", "");
	PARSE_OK("USER@x", "user", "x", "");
	PARSE_OK("MiXeD@EXAMPLE.org/MiXeD", "mixed", "example.org", "MiXeD");
	/* Domain-only JIDs, with and without a resource. */
	PARSE_OK("Example.COM", "", "example.com", "");
	PARSE_OK("example.com/Res", "", "example.com", "Res");
	/* The first '/' ends the domain; '@' only before it splits the node. */
	PARSE_OK("a@b/c/d@e", "a", "b", "c/d@e");
	PARSE_OK("b/c@d", "", "b", "c@d");
	PARSE_OK("a@b/c@d@e", "a", "b", "c@d@e");
	PARSE_OK("a@b//", "a", "b", "/");
	/* Resources may hold spaces and most punctuation. */
	PARSE_OK("a@b/my laptop: 'home' <1>", "a", "b", "my laptop: 'home' <1>");
	/* IP literals. */
	PARSE_OK("a@192.0.2.1", "a", "192.0.2.1", "");
	PARSE_OK("a@[::1]/r", "a", "[::1]", "r");
}

static void test_domain(void)
{
	/* Nameprep: case folding (also non-ASCII), soft hyphen mapped to
	 * nothing, NFKC (full-width letters). */
	PARSE_OK("a@EXAMPLE.com", "a", "example.com", "");
	PARSE_OK("a@B\xC3\x9C" "CHER.Example", "a", "b\xC3\xBC" "cher.example", "");
	PARSE_OK("a@exa\xC2\xADmple.com", "a", "example.com", "");
	PARSE_OK("a@\xEF\xBD\x85xample.com", "a", "example.com", "");
	/* RFC 7622 3.2: a trailing dot is removed. */
	PARSE_OK("a@example.com.", "a", "example.com", "");
	PARSE_OK("Example.COM./r", "", "example.com", "r");
	PARSE_BAD(".");
	PARSE_BAD("a@.");
	PARSE_BAD("a@./r");
	/* Characters no host name can hold. */
	PARSE_BAD("a@exa mple.com");
	PARSE_BAD("a@example.com:5222");
	PARSE_BAD("a@b@c");
	PARSE_BAD("a@exa<mple.com");
	PARSE_BAD("a@exa\"mple.com");
	PARSE_BAD("a@exa\\mple.com");
	PARSE_BAD("a@exa\tmple.com");
}

static void test_node(void)
{
	/* Nodeprep case-folds, also outside ASCII. */
	PARSE_OK("\xC3\x84LICE@x", "\xC3\xA4lice", "x", "");
	PARSE_OK("Stra\xC3\x9F" "e@x", "strasse", "x", "");
	PARSE_OK("\xCE\xA3\xCE\xA9@x", "\xCF\x83\xCF\x89", "x", "");

	/* RFC 7622 3.3.1: " & ' / : < > @ and space are prohibited. Through
	 * jid_parse '/' and '@' split the address, so test those directly. */
	PARSE_BAD("a\"b@x");
	PARSE_BAD("a&b@x");
	PARSE_BAD("a'b@x");
	PARSE_BAD("a:b@x");
	PARSE_BAD("a<b@x");
	PARSE_BAD("a>b@x");
	PARSE_BAD("a b@x");
	PARSE_BAD("a\xC2\xA0" "b@x");     /* no-break space: NFKC makes it ' ' */
	{
		const char *bad = "\"&'/:<>@ ";
		char in[4], out[16];
		size_t i;
		for (i = 0; bad[i]; i++) {
			in[0] = 'a';
			in[1] = bad[i];
			in[2] = 'b';
			in[3] = '\0';
			if (!CHECK_INT(jid_nodeprep(in, out, sizeof out), -1))
				printf("  (nodeprep accepted \"%s\")\n", in);
		}
	}
	/* "a/b@x" is the valid domain "a" with resource "b@x". */
	PARSE_OK("a/b@x", "", "a", "b@x");
	/* Control characters are prohibited in nodes. */
	PARSE_BAD("a\x01" "b@x");
	PARSE_BAD("a\x7f" "b@x");
}

static void test_empty(void)
{
	PARSE_BAD("");
	PARSE_BAD("@x");
	PARSE_BAD("x@");
	PARSE_BAD("x/");
	PARSE_BAD("@");
	PARSE_BAD("/");
	PARSE_BAD("/r");
	PARSE_BAD("@/r");
	PARSE_BAD("x@/r");
	PARSE_BAD("@x/r");
	PARSE_BAD("a@x/");
}

static void test_lengths(void)
{
	char *node1023 = repeat('n', 1023), *node1024 = repeat('n', 1024);
	char *res1023 = repeat('R', 1023), *res1024 = repeat('R', 1024);
	char *dom1023 = repeat('d', 1023), *dom1024 = repeat('d', 1024);
	char *s = xmalloc(4 * 1024);
	struct jid j;

	snprintf(s, 4096, "%s@x", node1023);
	if (CHECK_INT(jid_parse(s, &j), 0))
		CHECK_INT(strlen(j.node), 1023);
	snprintf(s, 4096, "%s@x", node1024);
	CHECK_INT(jid_parse(s, &j), -1);

	snprintf(s, 4096, "a@x/%s", res1023);
	if (CHECK_INT(jid_parse(s, &j), 0))
		CHECK_STR(j.resource, res1023);
	snprintf(s, 4096, "a@x/%s", res1024);
	CHECK_INT(jid_parse(s, &j), -1);

	snprintf(s, 4096, "a@%s", dom1023);
	if (CHECK_INT(jid_parse(s, &j), 0))
		CHECK_INT(strlen(j.domain), 1023);
	snprintf(s, 4096, "a@%s", dom1024);
	CHECK_INT(jid_parse(s, &j), -1);

	/* All three parts at their limit: 3071 bytes. */
	snprintf(s, 4096, "%s@%s/%s", node1023, dom1023, res1023);
	if (CHECK_INT(jid_parse(s, &j), 0)) {
		char full[JID_MAX + 8];
		jid_full(&j, full, sizeof full);
		CHECK_INT(strlen(full), 3071);
	}

	/* Prep output that outgrows the limit: U+0130 (2 bytes) nodepreps to
	 * "i" U+0307 (3 bytes), so 1021 + 2 input bytes become 1024. */
	memset(s, 'a', 1021);
	memcpy(s + 1021, "\xC4\xB0@x", 5);
	CHECK_INT(jid_parse(s, &j), -1);
	memset(s, 'a', 1020);
	memcpy(s + 1020, "\xC4\xB0@x", 5);
	if (CHECK_INT(jid_parse(s, &j), 0))
		CHECK_INT(strlen(j.node), 1023);

	free(node1023);
	free(node1024);
	free(res1023);
	free(res1024);
	free(dom1023);
	free(dom1024);
	free(s);
}

static void test_utf8(void)
{
	/* Invalid UTF-8 anywhere is rejected. */
	PARSE_BAD("\xC3\x28@x");             /* bad continuation */
	PARSE_BAD("a\xFF@x");                /* never valid */
	PARSE_BAD("\xC0\xAF@x");             /* overlong '/' */
	PARSE_BAD("\x80@x");                 /* lone continuation */
	PARSE_BAD("abc\xC3@x");              /* truncated sequence */
	PARSE_BAD("\xED\xA0\x80@x");         /* UTF-16 surrogate */
	PARSE_BAD("\xF4\x90\x80\x80@x");     /* above U+10FFFF */
	PARSE_BAD("a@\xC3\x28");
	PARSE_BAD("a@x\xFF.com");
	PARSE_BAD("a@x/\xC3\x28");
	PARSE_BAD("a@x/r\xC3");
	PARSE_BAD("a@x/\xE0\x80\xAF");       /* overlong '/' */
}

static void test_output(void)
{
	struct jid j;
	char out[JID_MAX + 8], small[5];

	if (CHECK_INT(jid_parse("user@Example.COM/Res", &j), 0)) {
		jid_bare(&j, out, sizeof out);
		CHECK_STR(out, "user@example.com");
		jid_full(&j, out, sizeof out);
		CHECK_STR(out, "user@example.com/Res");
		jid_full(&j, small, sizeof small);  /* truncated, terminated */
		CHECK_STR(small, "user");
	}
	if (CHECK_INT(jid_parse("Example.COM", &j), 0)) {
		jid_bare(&j, out, sizeof out);
		CHECK_STR(out, "example.com");
		jid_full(&j, out, sizeof out);
		CHECK_STR(out, "example.com");
	}
	if (CHECK_INT(jid_parse("example.com/r/s", &j), 0)) {
		jid_bare(&j, out, sizeof out);
		CHECK_STR(out, "example.com");
		jid_full(&j, out, sizeof out);
		CHECK_STR(out, "example.com/r/s");
	}
	if (CHECK_INT(jid_parse("a@b", &j), 0)) {
		jid_full(&j, out, sizeof out);
		CHECK_STR(out, "a@b");
	}
	/* Two spellings, one address. */
	{
		struct jid a, b;
		char fa[JID_MAX + 8], fb[JID_MAX + 8];
		if (CHECK_INT(jid_parse("\xC3\x84lice@B\xC3\x9C" "CHER.example./x", &a), 0) &&
		    CHECK_INT(jid_parse("\xC3\xA4LICE@b\xC3\xBC" "cher.EXAMPLE/x", &b), 0)) {
			jid_full(&a, fa, sizeof fa);
			jid_full(&b, fb, sizeof fb);
			CHECK_STR(fa, fb);
		}
	}
}

static void test_prep(void)
{
	char out[JID_MAX_PART];

	CHECK_INT(jid_nodeprep("\xC3\x84LICE", out, sizeof out), 0);
	CHECK_STR(out, "\xC3\xA4lice");
	CHECK_INT(jid_nodeprep("Alice", out, sizeof out), 0);
	CHECK_STR(out, "alice");
	CHECK_INT(jid_nodeprep("", out, sizeof out), -1);
	CHECK_INT(jid_nodeprep("\xC3\x28", out, sizeof out), -1);
	CHECK_INT(jid_nodeprep("a\x07", out, sizeof out), -1);
	/* Output buffer limits: input alone must fit, and so must the output. */
	CHECK_INT(jid_nodeprep("alice", out, 5), -1);
	CHECK_INT(jid_nodeprep("alice", out, 6), 0);
	CHECK_STR(out, "alice");
	CHECK_INT(jid_nodeprep("\xC4\xB0", out, 3), -1);   /* grows to 3 bytes */
	CHECK_INT(jid_nodeprep("\xC4\xB0", out, 4), 0);
	CHECK_STR(out, "i\xCC\x87");

	CHECK_INT(jid_resourceprep("Res", out, sizeof out), 0);
	CHECK_STR(out, "Res");
	CHECK_INT(jid_resourceprep("a b/c@d", out, sizeof out), 0);
	CHECK_STR(out, "a b/c@d");
	CHECK_INT(jid_resourceprep("\xEF\xBC\xB2" "es", out, sizeof out), 0);  /* NFKC */
	CHECK_STR(out, "Res");
	CHECK_INT(jid_resourceprep("\xC3\x84", out, sizeof out), 0);           /* no case folding */
	CHECK_STR(out, "\xC3\x84");
	CHECK_INT(jid_resourceprep("", out, sizeof out), -1);
	CHECK_INT(jid_resourceprep("a\x01", out, sizeof out), -1);
	CHECK_INT(jid_resourceprep("a\xFF", out, sizeof out), -1);
	/* U+FDFA grows from 3 to 33 bytes. */
	CHECK_INT(jid_resourceprep("\xEF\xB7\xBA", out, 16), -1);
	CHECK_INT(jid_resourceprep("\xEF\xB7\xBA", out, sizeof out), 0);
	CHECK_INT(strlen(out), 33);
	{
		char *in = repeat('r', 1023);
		CHECK_INT(jid_resourceprep(in, out, sizeof out), 0);
		CHECK_INT(strlen(out), 1023);
		free(in);
		in = repeat('r', 1024);
		CHECK_INT(jid_resourceprep(in, out, sizeof out), -1);
		free(in);
		in = repeat('r', 1000);
		memcpy(in + 990, "\xEF\xB7\xBA", 3);   /* 1000 bytes -> 1030 */
		CHECK_INT(jid_resourceprep(in, out, sizeof out), -1);
		free(in);
	}
}

static void test_too_long(void)
{
	char *s = repeat('a', JID_MAX + 1);
	struct jid j;
	s[10] = '@';
	s[600] = '/';
	CHECK_INT(jid_parse(s, &j), -1);
	free(s);
}

int main(void)
{
	test_basic();
	test_domain();
	test_node();
	test_empty();
	test_lengths();
	test_utf8();
	test_output();
	test_prep();
	test_too_long();
	return CHECK_DONE();
}
