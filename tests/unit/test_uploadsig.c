/*
 * test_uploadsig.c - unit tests for lib/uploadsig.c: the signature of an
 * upload slot (a fixed vector made with Python's hmac, so the format
 * cannot change unnoticed), the PUT and GET targets, their parsing, and
 * every way a PUT URL can be tampered with or outlive its slot.
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "uploadsig.h"
#include "xerr.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

#define ID "0123456789abcdef0123456789abcdef"
#define NOW 1700000000L

static unsigned char key[UPLOADSIG_KEY_LEN];

static void slot(struct uploadsig_slot *s, const char *name, long size, const char *type)
{
	memset(s, 0, sizeof *s);
	strcpy(s->id, ID);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->size = size;
	snprintf(s->type, sizeof s->type, "%s", type);
	s->expires = NOW;
}

static void test_vector(void)
{
	unsigned char secret[UPLOADSIG_SECRET_LEN];
	struct uploadsig_slot s;
	char sig[UPLOADSIG_HEX + 1];
	size_t i;

	for (i = 0; i < sizeof secret; i++)
		secret[i] = (unsigned char)i;
	uploadsig_key(secret, key);
	slot(&s, "h\xc3\xa9 llo.txt", 1234, "text/plain");
	uploadsig_sign(key, &s, sig);
	CHECK_STR(sig, "918e35ad7636c3c3504b7f99c4f9040c2d960b96b3084f64f8ce4aa32140c4ee");
}

/* What each checker says of each input: 1 takes it, 0 refuses it. */
struct verdict {
	int (*ok)(const char *);
	const char *in;
	int want;
};

static void test_names(void)
{
	static const struct verdict v[] = {
		{ uploadsig_name_ok, "a.png", 1 },
		{ uploadsig_name_ok, "h\xc3\xa9 llo (1).txt", 1 },
		{ uploadsig_name_ok, "", 0 },
		{ uploadsig_name_ok, ".", 0 },
		{ uploadsig_name_ok, "..", 0 },
		{ uploadsig_name_ok, "a/b", 0 },
		{ uploadsig_name_ok, "a\\b", 0 },
		{ uploadsig_name_ok, "a\nb", 0 },
		{ uploadsig_name_ok, "\xc3", 0 },                /* cut UTF-8 */
		{ uploadsig_name_ok, "\xc0\xaf", 0 },            /* overlong '/' */
		{ uploadsig_name_ok, "\xed\xa0\x80", 0 },        /* a surrogate */
		{ uploadsig_type_ok, "", 1 },
		{ uploadsig_type_ok, "image/png", 1 },
		{ uploadsig_type_ok, "text/plain; charset=utf-8", 1 },
		{ uploadsig_type_ok, "image", 0 },
		{ uploadsig_type_ok, "/png", 0 },
		{ uploadsig_type_ok, "image/", 0 },
		{ uploadsig_type_ok, "image/png\r\nX: y", 0 },
		{ uploadsig_id_ok, ID, 1 },
		{ uploadsig_id_ok, "0123456789ABCDEF0123456789abcdef", 0 },
		{ uploadsig_id_ok, "0123456789abcdef0123456789abcde", 0 },
		{ uploadsig_id_ok, ID "0", 0 },
	};
	char longname[UPLOADSIG_NAME_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		if (!CHECK_INT(v[i].ok(v[i].in), v[i].want))
			printf("  input %zu\n", i);
	memset(longname, 'x', UPLOADSIG_NAME_MAX);
	longname[UPLOADSIG_NAME_MAX] = '\0';
	CHECK_INT(uploadsig_name_ok(longname), 1);
	longname[UPLOADSIG_NAME_MAX] = 'x';
	longname[UPLOADSIG_NAME_MAX + 1] = '\0';
	CHECK_INT(uploadsig_name_ok(longname), 0);
}

/* uploadsig_parse on a whole target, split at '?' as a request line is. */
static int parse(const char *target, struct uploadsig_slot *s, char sig[UPLOADSIG_HEX + 1])
{
	char path[UPLOADSIG_TARGET_MAX];
	const char *q = strchr(target, '?');

	snprintf(path, sizeof path, "%.*s", q ? (int)(q - target) : (int)strlen(target), target);
	return uploadsig_parse(path, q ? q + 1 : "", s, sig);
}

static void test_targets(void)
{
	struct uploadsig_slot s, p;
	char put[UPLOADSIG_TARGET_MAX], get[UPLOADSIG_TARGET_MAX], sig[UPLOADSIG_HEX + 1];
	char want[UPLOADSIG_TARGET_MAX];

	slot(&s, "h\xc3\xa9 llo.txt", 1234, "text/plain");
	CHECK(uploadsig_get_target(&s, get, sizeof get) > 0);
	CHECK_STR(get, "/upload/" ID "/h%C3%A9%20llo.txt");
	CHECK(uploadsig_put_target(key, &s, put, sizeof put) > 0);
	snprintf(want, sizeof want, "/upload/" ID "/h%%C3%%A9%%20llo.txt?n=1234&e=%ld&t=text%%2Fplain"
	    "&s=918e35ad7636c3c3504b7f99c4f9040c2d960b96b3084f64f8ce4aa32140c4ee", NOW);
	CHECK_STR(put, want);
	CHECK_INT(uploadsig_get_target(&s, get, 20), XE_INVALID);
	CHECK_STR(get, "");

	/* parsed back: the same slot, and it verifies until it expires */
	CHECK_INT(parse(put, &p, sig), 0);
	CHECK_STR(p.id, ID);
	CHECK_STR(p.name, s.name);
	CHECK_INT(p.size, 1234);
	CHECK_STR(p.type, "text/plain");
	CHECK_INT(p.expires, NOW);
	CHECK_INT(uploadsig_verify(key, &p, sig, NOW - 1), 0);
	CHECK_INT(uploadsig_verify(key, &p, sig, NOW), UPLOADSIG_EXPIRED);

	/* a GET target: no query, no signature */
	CHECK_INT(parse("/upload/" ID "/a%2eb", &p, sig), 0);
	CHECK_STR(p.name, "a.b");
	CHECK_STR(sig, "");
	CHECK_INT(uploadsig_verify(key, &p, sig, NOW - 1), XE_INVALID);

	/* no type: no t= */
	slot(&s, "a", 0, "");
	CHECK(uploadsig_put_target(key, &s, put, sizeof put) > 0);
	CHECK(strstr(put, "&t=") == NULL);
	CHECK_INT(parse(put, &p, sig), 0);
	CHECK_INT(uploadsig_verify(key, &p, sig, NOW - 1), 0);
}

/* Every field changed in the URL, or the signature itself: refused. */
static void test_tampered(void)
{
	static const char *const bad[] = {
		"?n=1235&", "?n=1234&e=1700000001&", "&t=text%2Fhtml&", "/h%C3%A9%20llo.txT?",
		NULL
	};
	static const char *const good[] = {
		"?n=1234&", "?n=1234&e=1700000000&", "&t=text%2Fplain&", "/h%C3%A9%20llo.txt?",
	};
	struct uploadsig_slot s, p;
	char put[UPLOADSIG_TARGET_MAX], t[UPLOADSIG_TARGET_MAX], sig[UPLOADSIG_HEX + 1];
	char *at;
	int i;

	slot(&s, "h\xc3\xa9 llo.txt", 1234, "text/plain");
	CHECK(uploadsig_put_target(key, &s, put, sizeof put) > 0);
	for (i = 0; bad[i]; i++) {
		snprintf(t, sizeof t, "%s", put);
		at = strstr(t, good[i]);
		if (!CHECK(at != NULL))
			continue;
		snprintf(at, sizeof t - (size_t)(at - t), "%s%s", bad[i],
		    strstr(put, good[i]) + strlen(good[i]));
		CHECK_INT(parse(t, &p, sig), 0);
		CHECK_INT(uploadsig_verify(key, &p, sig, NOW - 1), XE_INVALID);
	}
	/* the id changed, the signature changed */
	snprintf(t, sizeof t, "%s", put);
	t[sizeof UPLOADSIG_PREFIX - 1] = '1';
	CHECK_INT(parse(t, &p, sig), 0);
	CHECK_INT(uploadsig_verify(key, &p, sig, NOW - 1), XE_INVALID);
	snprintf(t, sizeof t, "%s", put);
	at = strstr(t, "&s=") + 3;
	*at = *at == '0' ? '1' : '0';
	CHECK_INT(parse(t, &p, sig), 0);
	CHECK_INT(uploadsig_verify(key, &p, sig, NOW - 1), XE_INVALID);
}

static void test_parse_errors(void)
{
	static const char *const bad[] = {
		"/upload/",
		"/upload/" ID,
		"/upload/" ID "/",
		"/download/" ID "/a",
		"/upload/0123456789ABCDEF0123456789abcdef/a",
		"/upload/" ID "/a/b",
		"/upload/" ID "/a%2Fb",
		"/upload/" ID "/..",
		"/upload/" ID "/a%00b",
		"/upload/" ID "/a%2",
		"/upload/" ID "/a%zz",
		"/upload/" ID "/a?n=1&e=2",
		"/upload/" ID "/a?n=1&e=2&s=00",
		"/upload/" ID "/a?n=-1&e=2&s=0000000000000000000000000000000000000000000000000000000000000000",
		"/upload/" ID "/a?n=1&n=1&e=2&s=0000000000000000000000000000000000000000000000000000000000000000",
		"/upload/" ID "/a?n=1&e=2&x=1&s=0000000000000000000000000000000000000000000000000000000000000000",
		"/upload/" ID "/a?n=1&e=2&s=0000000000000000000000000000000000000000000000000000000000000000&",
		"/upload/" ID "/a?n=99999999999999999999&e=2&s=0000000000000000000000000000000000000000000000000000000000000000",
		"/upload/" ID "/a?n=1&e=2&t=&s=0000000000000000000000000000000000000000000000000000000000000000",
		"/upload/" ID "/a?n=1&e=2&t=text%0d%0a&s=0000000000000000000000000000000000000000000000000000000000000000",
		NULL
	};
	struct uploadsig_slot p;
	char sig[UPLOADSIG_HEX + 1];
	int i;

	for (i = 0; bad[i]; i++)
		if (!CHECK_INT(parse(bad[i], &p, sig), XE_INVALID))
			printf("  target %s\n", bad[i]);
}

int main(void)
{
	test_vector();
	test_names();
	test_targets();
	test_tampered();
	test_parse_errors();
	return CHECK_DONE();
}
