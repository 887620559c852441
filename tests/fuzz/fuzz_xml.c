/*
 * fuzz_xml.c - libFuzzer target over the stream parser alone (lib/xml.c).
 *
 * Input: byte 0 = flags (low 3 bits: number of chunk-size bytes, see
 * fuzz_common.h; bits 3-4: which set of limits), the chunk sizes, then the
 * bytes of a client stream, fed to xml_stream_feed chunk by chunk. An
 * element named auth, starttls or restart asks for a stream restart (as
 * SASL success and STARTTLS do): the harness then resets the parser and
 * feeds it the rest, as conn_input does.
 *
 * Checked (abort on violation):
 *  - the contract of xml.h: one error callback at most, nothing after it,
 *    every later feed refused; no element before the header or after the
 *    stream end; OK means every byte was consumed; RESTART consumes no more
 *    than it was given;
 *  - the serialiser: every element (and the header) written with
 *    xml_string parses again with xml_parse_string, and writing the
 *    re-parsed tree gives the same bytes; xml_copy writes the same bytes.
 */
#include "xml.h"
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct state {
	struct xml_stream *s;
	int opened, closed, errors;
	char cond[64];
};

static void die(const char *what, const char *a, size_t alen, const char *b, size_t blen)
{
	fprintf(stderr, "fuzz_xml: %s\n", what);
	if (a)
		fprintf(stderr, "--- first (%zu bytes):\n%.*s\n", alen, (int)alen, a);
	if (b)
		fprintf(stderr, "--- second (%zu bytes):\n%.*s\n", blen, (int)blen, b);
	abort();
}

/* Touch what the handler reads of every node (xml_text joins text runs). */
static void walk(struct xml_node *n)
{
	struct xml_node *c;
	struct xml_attr *a;
	if (!n->name)
		return;
	(void)xml_text(n);
	(void)xml_first_element(n);
	for (a = n->attrs; a; a = a->next)
		if (!a->ns)
			(void)xml_get(n, a->name);
	for (c = n->children; c; c = c->next)
		walk(c);
}

static void roundtrip(const struct xml_node *el)
{
	size_t l1, l2, l3;
	char *s1, *s2, *s3;
	struct xml_node *t, *cp;

	s1 = xml_string(el, &l1);
	if (strlen(s1) != l1)
		die("xml_string length differs from the string", s1, l1, NULL, 0);
	t = xml_parse_string(s1, l1);
	if (!t)
		die("a parsed element, serialised, does not parse again", s1, l1, NULL, 0);
	s2 = xml_string(t, &l2);
	if (l1 != l2 || memcmp(s1, s2, l1))
		die("serialise(parse(serialise(x))) != serialise(x)", s1, l1, s2, l2);
	cp = xml_copy(el);
	walk(cp);
	s3 = xml_string(cp, &l3);
	if (l1 != l3 || memcmp(s1, s3, l1))
		die("xml_copy serialises differently", s1, l1, s3, l3);
	xml_free(t);
	xml_free(cp);
	free(s1);
	free(s2);
	free(s3);
}

static void on_open(void *ctx, struct xml_node *root, const char *default_ns)
{
	struct state *st = ctx;
	if (st->opened || st->errors)
		die("header callback twice in one document, or after an error", NULL, 0, NULL, 0);
	if (!root || !root->name || !default_ns)
		die("header callback without a root or default namespace", NULL, 0, NULL, 0);
	st->opened = 1;
	roundtrip(root);
}

static void on_element(void *ctx, struct xml_node *el)
{
	struct state *st = ctx;
	if (!st->opened || st->closed || st->errors)
		die("element outside an open stream", NULL, 0, NULL, 0);
	if (!el || !el->name || el->parent)
		die("element callback without a detached element", NULL, 0, NULL, 0);
	roundtrip(el);
	walk(el);
	if (!strcmp(el->name, "auth") || !strcmp(el->name, "starttls") ||
	    !strcmp(el->name, "restart"))
		xml_stream_stop(st->s);
	xml_free(el);
}

static void on_close(void *ctx)
{
	struct state *st = ctx;
	if (!st->opened || st->closed || st->errors)
		die("stream end without an open stream", NULL, 0, NULL, 0);
	st->closed = 1;
}

static void on_error(void *ctx, const char *cond, const char *reason)
{
	struct state *st = ctx;
	if (st->errors++)
		die("a second error callback", cond, strlen(cond), NULL, 0);
	if (!cond || !*cond || !reason)
		die("error callback without a condition", NULL, 0, NULL, 0);
	snprintf(st->cond, sizeof st->cond, "%s", cond);
}

static const struct xml_limits profiles[4] = {
	{ 4096, 16, 16 },
	{ 64, 2, 2 },
	{ 512, 4, 4 },
	{ 65536, 64, 64 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xml_stream_cb cb = { on_open, on_element, on_close, on_error };
	struct state st;
	struct chunker ck;
	const uint8_t *chunk;
	size_t n, used;
	uint8_t flags;
	int r, restarts = 0;

	memset(&st, 0, sizeof st);
	flags = chunker_init(&ck, &data, &size);
	st.s = xml_stream_new(&profiles[(flags >> 3) & 3], &cb, &st);
	if (!st.s)
		abort();
	while ((n = chunker_next(&ck, &chunk))) {
		const char *p = (const char *)chunk;
		size_t left = n;
		for (;;) {
			int before = st.errors;
			r = xml_stream_feed(st.s, p, left, &used);
			if (r == XML_FEED_RESTART) {
				if (used > left || st.errors != before)
					die("RESTART consumed more than it was given, or after an error",
					    p, left, NULL, 0);
				if (xml_stream_reset(st.s) == -1)
					die("xml_stream_reset failed", NULL, 0, NULL, 0);
				st.opened = st.closed = st.errors = 0;
				p += used;
				left -= used;
				if (++restarts > 1000 || !left)
					break;
				continue;
			}
			if (r == XML_FEED_ERROR) {
				if (!st.errors)
					die("XML_FEED_ERROR without an error callback", p, left, NULL, 0);
				/* After an error the parser accepts nothing more. */
				before = st.errors;
				if (xml_stream_feed(st.s, "<a/>", 4, &used) != XML_FEED_ERROR ||
				    used != 0 || st.errors != before)
					die("the parser took input after an error", NULL, 0, NULL, 0);
				goto done;
			}
			if (r != XML_FEED_OK || used != left)
				die("XML_FEED_OK without consuming every byte", p, left, NULL, 0);
			if (st.errors)
				die("XML_FEED_OK after an error callback", p, left, NULL, 0);
			break;
		}
	}
done:
	xml_stream_free(st.s);
	return 0;
}
