/*
 * test_xml.c - unit tests for lib/xml.c: the expat stream parser
 * (events, byte-boundary independence, restricted XML, limits, restarts),
 * serialisation, and the tree helpers.
 *
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "xml.h"
#include "xmalloc.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define HDR_ATTRS "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
#define HDR "<stream:stream " HDR_ATTRS " to='example.com' version='1.0'>"

/* ---- an event recorder ---- */

#define MAX_KEEP 256

struct rec {
	struct xml_stream *s;
	struct xbuf log;            /* one line per event */
	int nopen, nelem, nclose, nerr;
	char cond[64];
	char default_ns[256];
	struct xml_node *root_copy; /* the last header seen */
	struct xml_node *els[MAX_KEEP];
	int nels;
	const char *stop_on;        /* element name that asks for a restart */
	int late;                   /* events after an error */
};

static void r_open(void *ctx, struct xml_node *root, const char *default_ns)
{
	struct rec *r = ctx;
	if (r->nerr)
		r->late++;
	r->nopen++;
	snprintf(r->default_ns, sizeof r->default_ns, "%s", default_ns);
	xbuf_addf(&r->log, "open [%s] ", default_ns);
	xml_write(&r->log, root, NULL);
	xbuf_adds(&r->log, "\n");
	xml_free(r->root_copy);
	r->root_copy = xml_copy(root);
}

static void r_element(void *ctx, struct xml_node *el)
{
	struct rec *r = ctx;
	if (r->nerr)
		r->late++;
	r->nelem++;
	xbuf_adds(&r->log, "element ");
	xml_write(&r->log, el, NULL);
	xbuf_adds(&r->log, "\n");
	if (r->stop_on && el->name && !strcmp(el->name, r->stop_on))
		xml_stream_stop(r->s);
	if (r->nels < MAX_KEEP)
		r->els[r->nels++] = el;
	else
		xml_free(el);
}

static void r_close(void *ctx)
{
	struct rec *r = ctx;
	if (r->nerr)
		r->late++;
	r->nclose++;
	xbuf_adds(&r->log, "close\n");
}

static void r_error(void *ctx, const char *cond, const char *reason)
{
	struct rec *r = ctx;
	if (r->nerr)
		r->late++;
	r->nerr++;
	snprintf(r->cond, sizeof r->cond, "%s", cond);
	xbuf_addf(&r->log, "error %s (%s)\n", cond, reason ? reason : "");
}

static const struct xml_stream_cb rec_cb = { r_open, r_element, r_close, r_error };
static const struct xml_limits big_limits = { 262144, 32, 64 };
static const struct xml_limits small_limits = { 1024, 4, 4 };

static void rec_init(struct rec *r, const struct xml_limits *lim)
{
	memset(r, 0, sizeof *r);
	r->s = xml_stream_new(lim, &rec_cb, r);
	if (!r->s) {
		printf("xml_stream_new failed\n");
		exit(2);
	}
}

static void rec_free(struct rec *r)
{
	int i;
	xml_stream_free(r->s);
	xbuf_free(&r->log);
	xml_free(r->root_copy);
	for (i = 0; i < r->nels; i++)
		xml_free(r->els[i]);
	memset(r, 0, sizeof *r);
}

static int nevents(const struct rec *r)
{
	return r->nopen + r->nelem + r->nclose + r->nerr;
}

static const char *logtext(const struct rec *r)
{
	return r->log.p ? r->log.p : "";
}

/* One indented detail line under a failed check. */
static void detail(const char *label, const char *text)
{
	printf("  %s: ", label);
	check_print(text);
	putchar('\n');
}

/* Feed like conn_input(): on RESTART reset and go on with the rest. */
static int drive(struct rec *r, const char *buf, size_t len, int *restarts)
{
	size_t used;
	int rc = XML_FEED_OK;
	while (len > 0) {
		rc = xml_stream_feed(r->s, buf, len, &used);
		if (rc != XML_FEED_RESTART)
			break;
		if (used > len) {
			printf("  RESTART consumed %zu of %zu bytes\n", used, len);
			return XML_FEED_ERROR;
		}
		if (restarts)
			(*restarts)++;
		if (xml_stream_reset(r->s) != 0)
			return XML_FEED_ERROR;
		rc = XML_FEED_OK;
		buf += used;
		len -= used;
	}
	return rc;
}

static int feed_str(struct rec *r, const char *s)
{
	size_t used;
	return xml_stream_feed(r->s, s, strlen(s), &used);
}

/* ---- a document and where each event must have been reported ---- */

struct part {
	const char *text;
	int event;      /* the part's last byte completes an event */
};

static const struct part doc_parts[] = {
	{ "<?xml version='1.0'?>\n", 0 },
	{ "<stream:stream " HDR_ATTRS " to='example.com' version='1.0' xml:lang='en'>", 1 },
	{ "\n  ", 0 },
	{ "<message to='a@b' type='chat' id='m1'><body>hi &amp; &lt;there&gt; "
	  "&#x263A;&#65;\n line2</body><x:y xmlns:x='urn:x' a='1'><x:z/>tail</x:y></message>", 1 },
	{ " ", 0 },
	{ "<presence/>", 1 },
	{ "\n", 0 },
	{ "<iq type='get' id=\"i1\"><query xmlns='jabber:iq:roster'/></iq>", 1 },
	{ "<message><body>caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x98\xBA</body>"
	  "<![CDATA[<raw>&]]></message>", 1 },
	{ "<r:auth xmlns:r='urn:r' r:mech='X' xml:lang='de'>dGVzdA==</r:auth>", 1 },
	{ "\n</stream:stream>", 1 },
};
#define NPARTS (sizeof doc_parts / sizeof doc_parts[0])

static size_t doc_build(char *buf, size_t *ends, int *nends)
{
	size_t len = 0, i;
	*nends = 0;
	for (i = 0; i < NPARTS; i++) {
		size_t n = strlen(doc_parts[i].text);
		memcpy(buf + len, doc_parts[i].text, n);
		len += n;
		if (doc_parts[i].event)
			ends[(*nends)++] = len;
	}
	buf[len] = '\0';
	return len;
}

/* Events that must have been reported once `fed` bytes were fed. */
static int due(const size_t *ends, int nends, size_t fed)
{
	int i, n = 0;
	for (i = 0; i < nends; i++)
		if (ends[i] <= fed)
			n++;
	return n;
}

static void test_events(void)
{
	char doc[2048];
	size_t ends[16], len, k, used;
	int nends, rc, stall_events = 0;
	struct rec ref, r;
	size_t bad_stall = (size_t)-1, bad_log = (size_t)-1, bad_rc = (size_t)-1;

	len = doc_build(doc, ends, &nends);

	/* Reference: the whole document at once. */
	rec_init(&ref, &big_limits);
	rc = xml_stream_feed(ref.s, doc, len, &used);
	CHECK_INT(rc, XML_FEED_OK);
	CHECK_INT(used, len);
	CHECK_INT(ref.nopen, 1);
	CHECK_INT(ref.nelem, 5);
	CHECK_INT(ref.nclose, 1);
	CHECK_INT(ref.nerr, 0);
	CHECK_STR(ref.default_ns, "jabber:client");

	/* The header. */
	if (CHECK(ref.root_copy != NULL)) {
		const struct xml_node *h = ref.root_copy;
		const struct xml_attr *a;
		int lang = 0;
		CHECK_STR(h->name, "stream");
		CHECK_STR(h->ns, NS_STREAMS);
		CHECK_STR(h->prefix, "stream");
		CHECK_STR(xml_get(h, "to"), "example.com");
		CHECK_STR(xml_get(h, "version"), "1.0");
		CHECK(h->children == NULL);
		for (a = h->attrs; a; a = a->next)
			if (a->ns && !strcmp(a->ns, NS_XML) && !strcmp(a->name, "lang") &&
			    !strcmp(a->value, "en"))
				lang = 1;
		CHECK(lang);
	}

	/* Depth-1 elements arrive as whole trees. */
	if (CHECK_INT(ref.nels, 5)) {
		struct xml_node *m = ref.els[0], *body, *y, *z;
		CHECK_STR(m->name, "message");
		CHECK_STR(m->ns, "jabber:client");
		CHECK(m->prefix == NULL);
		CHECK(m->parent == NULL);
		CHECK(m->next == NULL);
		CHECK_STR(xml_get(m, "to"), "a@b");
		CHECK_STR(xml_get(m, "type"), "chat");
		CHECK_STR(xml_get(m, "id"), "m1");
		body = xml_child(m, "jabber:client", "body");
		if (CHECK(body != NULL)) {
			CHECK_STR(xml_text(body), "hi & <there> \xE2\x98\xBA" "A\n line2");
			CHECK(body->parent == m);
		}
		y = xml_child(m, "urn:x", "y");
		if (CHECK(y != NULL)) {
			CHECK_STR(y->prefix, "x");
			CHECK_STR(xml_get(y, "a"), "1");
			z = xml_child(y, "urn:x", "z");
			if (CHECK(z != NULL)) {
				CHECK_STR(z->prefix, "x");
				CHECK(z->children == NULL);
			}
			CHECK_STR(xml_text(y), "tail");
		}
		CHECK(xml_child(m, "jabber:client", "y") == NULL);

		CHECK_STR(ref.els[1]->name, "presence");
		CHECK(ref.els[1]->children == NULL);
		CHECK(ref.els[1]->attrs == NULL);

		CHECK_STR(ref.els[2]->name, "iq");
		CHECK_STR(xml_get(ref.els[2], "id"), "i1");
		if (CHECK(xml_first_element(ref.els[2]) != NULL)) {
			CHECK_STR(xml_first_element(ref.els[2])->ns, "jabber:iq:roster");
			CHECK_STR(xml_first_element(ref.els[2])->name, "query");
		}

		body = xml_child(ref.els[3], NULL, "body");
		if (CHECK(body != NULL))
			CHECK_STR(xml_text(body), "caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x98\xBA");
		CHECK_STR(xml_text(ref.els[3]), "<raw>&");   /* CDATA */

		CHECK_STR(ref.els[4]->name, "auth");
		CHECK_STR(ref.els[4]->ns, "urn:r");
		CHECK_STR(ref.els[4]->prefix, "r");
		CHECK_STR(xml_text(ref.els[4]), "dGVzdA==");
		if (CHECK(ref.els[4]->attrs != NULL)) {
			const struct xml_attr *a;
			int mech = 0, lang = 0;
			for (a = ref.els[4]->attrs; a; a = a->next) {
				if (a->ns && !strcmp(a->ns, "urn:r") && !strcmp(a->name, "mech") &&
				    !strcmp(a->value, "X") && a->prefix && !strcmp(a->prefix, "r"))
					mech = 1;
				if (a->ns && !strcmp(a->ns, NS_XML) && !strcmp(a->name, "lang") &&
				    !strcmp(a->value, "de"))
					lang = 1;
			}
			CHECK(mech);
			CHECK(lang);
		}
	}

	/* One byte at a time: same events, each reported as soon as its last
	 * byte is in (a parser that defers reparsing would stall here). */
	rec_init(&r, &big_limits);
	for (k = 0; k < len; k++) {
		rc = xml_stream_feed(r.s, doc + k, 1, &used);
		if ((rc != XML_FEED_OK || used != 1) && bad_rc == (size_t)-1)
			bad_rc = k;
		if (nevents(&r) != due(ends, nends, k + 1) && bad_stall == (size_t)-1) {
			bad_stall = k;
			stall_events = nevents(&r);
		}
	}
	if (!CHECK(bad_rc == (size_t)-1))
		printf("  byte-at-a-time: feed of byte %zu did not return OK/1\n", bad_rc);
	if (!CHECK(bad_stall == (size_t)-1))
		printf("  byte-at-a-time: after %zu bytes %d events, want %d\n",
		    bad_stall + 1, stall_events, due(ends, nends, bad_stall + 1));
	if (!CHECK(strcmp(logtext(&r), logtext(&ref)) == 0)) {
		detail("byte-at-a-time events", logtext(&r));
		detail("want", logtext(&ref));
	}
	rec_free(&r);

	/* Two pieces, split at every offset. */
	bad_stall = bad_log = bad_rc = (size_t)-1;
	for (k = 0; k <= len; k++) {
		size_t u1, u2;
		int rc1, rc2, after1;
		rec_init(&r, &big_limits);
		rc1 = xml_stream_feed(r.s, doc, k, &u1);
		after1 = nevents(&r);
		rc2 = xml_stream_feed(r.s, doc + k, len - k, &u2);
		if ((rc1 != XML_FEED_OK || rc2 != XML_FEED_OK || u1 != k || u2 != len - k) &&
		    bad_rc == (size_t)-1)
			bad_rc = k;
		if (after1 != due(ends, nends, k) && bad_stall == (size_t)-1) {
			bad_stall = k;
			stall_events = after1;
		}
		if (strcmp(logtext(&r), logtext(&ref)) && bad_log == (size_t)-1) {
			bad_log = k;
			printf("  split at %zu:\n", k);
			detail("events", logtext(&r));
			detail("want", logtext(&ref));
		}
		rec_free(&r);
	}
	if (!CHECK(bad_rc == (size_t)-1))
		printf("  split at %zu: feed did not return OK for all bytes\n", bad_rc);
	if (!CHECK(bad_stall == (size_t)-1))
		printf("  split at %zu: %d events after the first piece, want %d\n",
		    bad_stall, stall_events, due(ends, nends, bad_stall));
	CHECK(bad_log == (size_t)-1);

	rec_free(&ref);
}

/* A header without a default namespace reports "". */
static void test_default_ns(void)
{
	struct rec r;
	rec_init(&r, &big_limits);
	CHECK_INT(feed_str(&r, "<stream:stream xmlns:stream='" NS_STREAMS "'><a/>"), XML_FEED_OK);
	CHECK_INT(r.nopen, 1);
	CHECK_STR(r.default_ns, "");
	if (CHECK_INT(r.nels, 1))
		CHECK(r.els[0]->ns == NULL || r.els[0]->ns[0] == '\0');
	rec_free(&r);

	rec_init(&r, &big_limits);
	CHECK_INT(feed_str(&r, "<stream:stream xmlns='jabber:server' xmlns:stream='"
	    NS_STREAMS "'><message xmlns='jabber:client'><body xmlns=''/></message>"), XML_FEED_OK);
	CHECK_STR(r.default_ns, "jabber:server");
	if (CHECK_INT(r.nels, 1)) {
		CHECK_STR(r.els[0]->ns, "jabber:client");
		if (CHECK(r.els[0]->children != NULL))
			CHECK(r.els[0]->children->ns == NULL || r.els[0]->children->ns[0] == '\0');
	}
	rec_free(&r);
}

/* Feed header + text in one go, then more; expect one error cond. */
/* Checks in expect_error() name the input's source text and the aspect. */
#define E_INT(got, want, aspect) \
	(snprintf(what, sizeof what, "%s: %s", src, aspect), \
	 check_int((got), (want), what, __FILE__, line))
#define E_STR(got, want, aspect) \
	(snprintf(what, sizeof what, "%s: %s", src, aspect), \
	 check_str((got), (want), what, __FILE__, line))

/* Feed doc in one go, then more; expect exactly one error cond and
 * nothing after it. Then the same a byte at a time. */
static void expect_error(const char *src, const char *doc, const char *cond, int line)
{
	struct rec r;
	size_t used;
	int rc, elems;
	char what[512];

	rec_init(&r, &big_limits);
	rc = xml_stream_feed(r.s, doc, strlen(doc), &used);
	if (!E_INT(rc, XML_FEED_ERROR, "feed result"))
		detail("events", logtext(&r));
	E_INT(r.nerr, 1, "errors reported");
	E_STR(r.cond, cond, "condition");
	/* After an error: nothing more is reported, every feed fails. */
	elems = nevents(&r);
	rc = feed_str(&r, "<message><body>more</body></message><presence/></stream:stream>");
	E_INT(rc, XML_FEED_ERROR, "feed after the error");
	E_INT(nevents(&r), elems, "events after the error");
	E_INT(r.late, 0, "callbacks after the error");
	rec_free(&r);

	/* The same, one byte at a time. */
	{
		size_t k, n = strlen(doc);
		int errs = 0;
		rec_init(&r, &big_limits);
		for (k = 0; k < n; k++)
			if (xml_stream_feed(r.s, doc + k, 1, &used) == XML_FEED_ERROR)
				errs++;
		E_INT(r.nerr, 1, "errors reported, byte at a time");
		E_STR(r.cond, cond, "condition, byte at a time");
		E_INT(errs > 0, 1, "a feed failed, byte at a time");
		E_INT(r.late, 0, "callbacks after the error, byte at a time");
		rec_free(&r);
	}
}
#undef E_INT
#undef E_STR
#define EXPECT_ERROR(doc, cond) expect_error(#doc, doc, cond, __LINE__)

static const char billion_laughs[] =
	"<?xml version='1.0'?>\n"
	"<!DOCTYPE lolz [\n"
	" <!ENTITY lol \"lol\">\n"
	" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	"]>\n"
	"<stream:stream " HDR_ATTRS "><message><body>&lol9;</body></message>";

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void test_restricted(void)
{
	/* RFC 6120 11.1: comments, processing instructions, DTDs and entity
	 * references other than the predefined ones are restricted. */
	EXPECT_ERROR(HDR "<!-- hi -->", "restricted-xml");
	EXPECT_ERROR(HDR "<message><!-- hi --></message>", "restricted-xml");
	EXPECT_ERROR("<!-- before -->" HDR, "restricted-xml");
	EXPECT_ERROR(HDR "<?foo bar?>", "restricted-xml");
	EXPECT_ERROR(HDR "<message><?foo?></message>", "restricted-xml");
	EXPECT_ERROR("<?xml version='1.0'?><?foo bar?>" HDR, "restricted-xml");
	EXPECT_ERROR("<?xml version='1.0'?><!DOCTYPE stream:stream>" HDR, "restricted-xml");
	EXPECT_ERROR("<!DOCTYPE x SYSTEM 'file:///etc/passwd'>" HDR, "restricted-xml");
	EXPECT_ERROR("<!DOCTYPE x [<!ENTITY e 'v'>]>" HDR "<a>&e;</a>", "restricted-xml");
	EXPECT_ERROR(HDR "<message><body>&foo;</body></message>", "restricted-xml");
	EXPECT_ERROR(HDR "<message id='&foo;'/>", "restricted-xml");
	EXPECT_ERROR("<stream:stream " HDR_ATTRS " to='&foo;'>", "restricted-xml");

	/* Billion laughs: refused at the DOCTYPE, nothing expanded. */
	{
		struct rec r;
		size_t used;
		long before = maxrss_kb();
		rec_init(&r, &big_limits);
		CHECK_INT(xml_stream_feed(r.s, billion_laughs, strlen(billion_laughs), &used),
		    XML_FEED_ERROR);
		CHECK_STR(r.cond, "restricted-xml");
		CHECK_INT(r.nerr, 1);
		CHECK_INT(r.nopen + r.nelem, 0);
		CHECK_INT(r.late, 0);
		if (!CHECK(maxrss_kb() - before < 32 * 1024))
			printf("  billion laughs grew RSS by %ld KiB\n", maxrss_kb() - before);
		rec_free(&r);
		EXPECT_ERROR(billion_laughs, "restricted-xml");
	}
}

static void test_malformed(void)
{
	EXPECT_ERROR(HDR "<message><body></message>", "not-well-formed");
	EXPECT_ERROR(HDR "<message a='1' a='2'/>", "not-well-formed");
	EXPECT_ERROR(HDR "<x:y/>", "not-well-formed");             /* unbound prefix */
	EXPECT_ERROR(HDR "<message><body>\xFF</body></message>", "not-well-formed");
	EXPECT_ERROR(HDR "<message><body>\xC3\x28</body></message>", "not-well-formed");
	EXPECT_ERROR(HDR "<message><body>&#0;</body></message>", "not-well-formed");
	EXPECT_ERROR(HDR "<message><body>\x01</body></message>", "not-well-formed");
	EXPECT_ERROR(HDR "<message id=1/>", "not-well-formed");
	EXPECT_ERROR(HDR "<message></stream:stream>", "not-well-formed");
	EXPECT_ERROR(HDR "</stream:stream><message/>", "not-well-formed");
	EXPECT_ERROR("<stream:stream " HDR_ATTRS "></wrong>", "not-well-formed");
	EXPECT_ERROR("hello there", "not-well-formed");
	EXPECT_ERROR(HDR "<1a/>", "not-well-formed");
}

static void test_limits(void)
{
	struct rec r;
	char *buf = xmalloc(200000);
	size_t k, used, fed;
	int rc;

	/* A stanza of exactly max_stanza bytes passes, one more does not. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	strcpy(buf, "<message><body>");
	memset(buf + 15, 'a', 992);
	strcpy(buf + 15 + 992, "</body></message>");
	CHECK_INT(strlen(buf), 1024);
	CHECK_INT(feed_str(&r, buf), XML_FEED_OK);
	CHECK_INT(r.nelem, 1);
	CHECK_INT(r.nerr, 0);
	rec_free(&r);

	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	strcpy(buf, "<message><body>");
	memset(buf + 15, 'a', 993);
	strcpy(buf + 15 + 993, "</body></message>");
	CHECK_INT(feed_str(&r, buf), XML_FEED_ERROR);
	CHECK_STR(r.cond, "policy-violation");
	CHECK_INT(r.nelem, 0);
	CHECK_INT(feed_str(&r, "<presence/>"), XML_FEED_ERROR);
	CHECK_INT(r.nelem, 0);
	CHECK_INT(r.late, 0);
	rec_free(&r);

	/* The same stanza (2000 bytes) a byte at a time: stopped at the limit. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	strcpy(buf, "<message><body>");
	memset(buf + 15, 'a', 1968);
	strcpy(buf + 15 + 1968, "</body></message>");
	for (k = 0, fed = 0; buf[k]; k++) {
		if (xml_stream_feed(r.s, buf + k, 1, &used) != XML_FEED_OK)
			break;
		fed++;
	}
	CHECK_STR(r.cond, "policy-violation");
	if (!CHECK(fed <= 1024))
		printf("  %zu bytes of one stanza accepted, limit 1024\n", fed);
	CHECK_INT(r.nelem, 0);
	rec_free(&r);

	/* One giant unfinished start tag in 100-byte chunks. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	memcpy(buf, "<message to='", 13);
	memset(buf + 13, 'a', 200000 - 13);
	for (k = 0, fed = 0; k + 100 <= 200000; k += 100) {
		rc = xml_stream_feed(r.s, buf + k, 100, &used);
		if (rc != XML_FEED_OK)
			break;
		fed += 100;
	}
	CHECK_STR(r.cond, "policy-violation");
	if (!CHECK(fed <= 1024))
		printf("  %zu bytes of one start tag accepted, limit 1024\n", fed);
	rec_free(&r);

	/* The same for the stream header itself. */
	rec_init(&r, &small_limits);
	memcpy(buf, "<stream:stream to='", 19);
	memset(buf + 19, 'a', 200000 - 19);
	for (k = 0, fed = 0; k + 100 <= 200000; k += 100) {
		rc = xml_stream_feed(r.s, buf + k, 100, &used);
		if (rc != XML_FEED_OK)
			break;
		fed += 100;
	}
	CHECK_STR(r.cond, "policy-violation");
	CHECK_INT(r.nopen, 0);
	if (!CHECK(fed <= 1024))
		printf("  %zu bytes of the header accepted, limit 1024\n", fed);
	rec_free(&r);

	/* And in one go: refused before expat buffers it. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	memcpy(buf, "<message to='", 13);
	memset(buf + 13, 'a', 100000);
	buf[100013] = '\0';
	CHECK_INT(feed_str(&r, buf), XML_FEED_ERROR);
	CHECK_STR(r.cond, "policy-violation");
	rec_free(&r);

	/* The limit is per stanza: many small stanzas in one read (the
	 * handler reads 16 KiB at a time) are fine. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	buf[0] = '\0';
	for (k = 0; k < 60; k++)
		sprintf(buf + strlen(buf), "<presence id='p%02zu'/>", k);
	CHECK(strlen(buf) > 1024);
	rc = feed_str(&r, buf);
	if (!CHECK_INT(rc, XML_FEED_OK))
		printf("  60 stanzas of %zu bytes in one feed (%zu bytes, max_stanza 1024): %s\n",
		    strlen(buf) / 60, strlen(buf), r.cond);
	else
		CHECK_INT(r.nelem, 60);
	rec_free(&r);

	/* The same split into reads of 1000 bytes, each under the limit. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	{
		size_t n = strlen(buf);
		rc = XML_FEED_OK;
		for (k = 0; k < n && rc == XML_FEED_OK; k += 1000)
			rc = xml_stream_feed(r.s, buf + k, n - k < 1000 ? n - k : 1000, &used);
		if (!CHECK_INT(rc, XML_FEED_OK))
			printf("  60 small stanzas in 1000-byte reads: %s\n", r.cond);
		CHECK_INT(r.nelem, 60);
	}
	rec_free(&r);

	/* Whitespace keepalives between stanzas (RFC 6120 4.6.1) are not
	 * part of any stanza: a long-lived stream may send many. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR "<presence/>"), XML_FEED_OK);
	rc = XML_FEED_OK;
	for (k = 0; k < 2000 && rc == XML_FEED_OK; k++)
		rc = xml_stream_feed(r.s, " ", 1, &used);
	if (!CHECK_INT(rc, XML_FEED_OK)) {
		printf("  whitespace keepalive %zu after a stanza (max_stanza 1024): %s\n",
		    k, r.cond);
	} else {
		CHECK_INT(feed_str(&r, "<message><body>hi</body></message>"), XML_FEED_OK);
		CHECK_INT(r.nelem, 2);
		CHECK_INT(r.nerr, 0);
	}
	rec_free(&r);

	/* Nesting: max_depth 4 allows four levels below the root. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR "<a><b><c><d/></c></b></a>"), XML_FEED_OK);
	CHECK_INT(r.nelem, 1);
	CHECK_INT(feed_str(&r, "<a><b><c><d><e/></d></c></b></a>"), XML_FEED_ERROR);
	CHECK_STR(r.cond, "policy-violation");
	CHECK_INT(r.nelem, 1);
	rec_free(&r);
	{
		/* A very deep document in one feed: one policy-violation. */
		struct xml_limits lim = { 262144, 32, 64 };
		rec_init(&r, &lim);
		CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
		for (k = 0; k < 10000; k++)
			memcpy(buf + 3 * k, "<a>", 3);
		buf[30000] = '\0';
		CHECK_INT(feed_str(&r, buf), XML_FEED_ERROR);
		CHECK_STR(r.cond, "policy-violation");
		CHECK_INT(r.nerr, 1);
		rec_free(&r);
	}

	/* Attributes: max_attrs 4; namespace declarations do not count. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR "<a p='1' q='2' r='3' s='4'/>"), XML_FEED_OK);
	CHECK_INT(feed_str(&r, "<a xmlns='urn:a' xmlns:x='urn:x' p='1' q='2' x:r='3' s='4'/>"),
	    XML_FEED_OK);
	CHECK_INT(r.nelem, 2);
	CHECK_INT(feed_str(&r, "<a><b p='1' q='2' r='3' s='4' t='5'/></a>"), XML_FEED_ERROR);
	CHECK_STR(r.cond, "policy-violation");
	CHECK_INT(r.nelem, 2);
	CHECK_INT(feed_str(&r, "<a/>"), XML_FEED_ERROR);
	CHECK_INT(r.nelem, 2);
	CHECK_INT(r.late, 0);
	rec_free(&r);

	free(buf);
}

/* An element callback asks for a restart (SASL success). */
/* Feeding all (one restart, on <auth/>) split at every byte, and a byte
 * at a time, reports exactly the events of feeding it whole. With counts,
 * the whole feed's headers, elements and errors are returned there. */
static void check_any_split(const char *what, const char *all, size_t len, int counts[3])
{
	struct rec r, ref;
	int rc, restarts = 0;
	size_t k, bad = (size_t)-1;

	rec_init(&ref, &big_limits);
	ref.stop_on = "auth";
	CHECK_INT(drive(&ref, all, len, &restarts), XML_FEED_OK);
	CHECK_INT(restarts, 1);
	if (counts) {
		counts[0] = ref.nopen;
		counts[1] = ref.nelem;
		counts[2] = ref.nerr;
	}
	for (k = 0; k <= len; k++) {
		int rs = 0, rc1, rc2;
		rec_init(&r, &big_limits);
		r.stop_on = "auth";
		rc1 = drive(&r, all, k, &rs);
		rc2 = drive(&r, all + k, len - k, &rs);
		if ((rc1 != XML_FEED_OK || rc2 != XML_FEED_OK || rs != 1 ||
		    strcmp(logtext(&r), logtext(&ref))) && bad == (size_t)-1) {
			bad = k;
			printf("  %s split at %zu: rc %d/%d, %d restarts\n", what, k, rc1, rc2, rs);
			detail("events", logtext(&r));
			detail("want", logtext(&ref));
		}
		rec_free(&r);
	}
	CHECK(bad == (size_t)-1);
	rec_init(&r, &big_limits);
	r.stop_on = "auth";
	restarts = 0;
	rc = XML_FEED_OK;
	for (k = 0; k < len && rc == XML_FEED_OK; k++)
		rc = drive(&r, all + k, 1, &restarts);
	CHECK_INT(rc, XML_FEED_OK);
	CHECK_INT(restarts, 1);
	if (!CHECK(strcmp(logtext(&r), logtext(&ref)) == 0))
		detail("byte-at-a-time events", logtext(&r));
	rec_free(&r);
	rec_free(&ref);
}

/* The stanza limit changed mid-stream (xmpp-s2s-in, once a domain is
 * authenticated) holds from the next byte, in both directions. */
static void test_limit_change(void)
{
	struct rec r;
	char buf[2100];

	strcpy(buf, "<message><body>");
	memset(buf + 15, 'a', 1968);
	strcpy(buf + 15 + 1968, "</body></message>");    /* 2000 bytes */

	rec_init(&r, &big_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	CHECK_INT(feed_str(&r, buf), XML_FEED_OK);
	CHECK_INT(r.nelem, 1);
	xml_stream_set_max_stanza(r.s, 1024);
	CHECK_INT(feed_str(&r, "<presence/>"), XML_FEED_OK);
	CHECK_INT(r.nelem, 2);
	CHECK_INT(feed_str(&r, buf), XML_FEED_ERROR);
	CHECK_STR(r.cond, "policy-violation");
	CHECK_INT(r.nelem, 2);
	rec_free(&r);

	/* Lowered with part of a stanza already in: that part counts. */
	rec_init(&r, &big_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	CHECK_INT(xml_stream_feed(r.s, buf, 1500, &(size_t){ 0 }), XML_FEED_OK);
	xml_stream_set_max_stanza(r.s, 1024);
	CHECK_INT(feed_str(&r, buf + 1500), XML_FEED_ERROR);
	CHECK_STR(r.cond, "policy-violation");
	CHECK_INT(r.nelem, 0);
	rec_free(&r);

	/* Raised: what the old limit refused now passes. */
	rec_init(&r, &small_limits);
	CHECK_INT(feed_str(&r, HDR), XML_FEED_OK);
	xml_stream_set_max_stanza(r.s, 4096);
	CHECK_INT(feed_str(&r, buf), XML_FEED_OK);
	CHECK_INT(r.nelem, 1);
	CHECK_INT(r.nerr, 0);
	rec_free(&r);
}

static void test_restart(void)
{
	static const char first[] =
	    "<?xml version='1.0'?>" HDR
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>";
	static const char second[] =
	    "<stream:stream xmlns='jabber:client' xmlns:stream='" NS_STREAMS "' to='x' version='1.0'>"
	    "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>";
	char all[1024];
	size_t used, flen = strlen(first), len;
	struct rec r;
	int rc, restarts;

	snprintf(all, sizeof all, "%s%s", first, second);
	len = strlen(all);

	rec_init(&r, &big_limits);
	r.stop_on = "auth";
	rc = xml_stream_feed(r.s, all, len, &used);
	CHECK_INT(rc, XML_FEED_RESTART);
	CHECK_INT(used, flen);
	CHECK_INT(r.nopen, 1);
	CHECK_INT(r.nelem, 1);
	CHECK_INT(r.nerr, 0);
	if (r.nels == 1)
		CHECK_STR(r.els[0]->name, "auth");
	CHECK_INT(xml_stream_reset(r.s), 0);
	rc = xml_stream_feed(r.s, all + used, len - used, &used);
	CHECK_INT(rc, XML_FEED_OK);
	CHECK_INT(r.nopen, 2);
	CHECK_INT(r.nelem, 2);
	CHECK_INT(r.nerr, 0);
	CHECK_STR(r.default_ns, "jabber:client");
	if (r.root_copy)
		CHECK_STR(xml_get(r.root_copy, "to"), "x");
	if (CHECK_INT(r.nels, 2)) {
		CHECK_STR(r.els[1]->name, "iq");
		CHECK(xml_child(r.els[1], "urn:ietf:params:xml:ns:xmpp-bind", "bind") != NULL);
	}
	rec_free(&r);

	/* An empty <auth/> and nothing after it: everything consumed. */
	rec_init(&r, &big_limits);
	r.stop_on = "auth";
	rc = feed_str(&r, HDR "<presence/>");
	CHECK_INT(rc, XML_FEED_OK);
	{
		static const char a[] = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
		rc = xml_stream_feed(r.s, a, strlen(a), &used);
		CHECK_INT(rc, XML_FEED_RESTART);
		CHECK_INT(used, strlen(a));
	}
	CHECK_INT(xml_stream_reset(r.s), 0);
	CHECK_INT(feed_str(&r, HDR "<presence/>"), XML_FEED_OK);
	CHECK_INT(r.nopen, 2);
	CHECK_INT(r.nelem, 3);
	CHECK_INT(r.nerr, 0);
	rec_free(&r);

	/* Reset drops a half-read stanza and starts over cleanly. */
	rec_init(&r, &big_limits);
	CHECK_INT(feed_str(&r, HDR "<message><body>half"), XML_FEED_OK);
	CHECK_INT(xml_stream_reset(r.s), 0);
	CHECK_INT(feed_str(&r, HDR "<presence/>"), XML_FEED_OK);
	CHECK_INT(r.nopen, 2);
	CHECK_INT(r.nelem, 1);
	CHECK_INT(r.nerr, 0);
	rec_free(&r);

	/* Reset clears an error. */
	rec_init(&r, &big_limits);
	CHECK_INT(feed_str(&r, HDR "<!-- x -->"), XML_FEED_ERROR);
	CHECK_INT(xml_stream_reset(r.s), 0);
	CHECK_INT(feed_str(&r, HDR "<presence/>"), XML_FEED_OK);
	CHECK_INT(r.nelem, 1);
	rec_free(&r);

	/* The restart point does not depend on how the bytes arrive. */
	check_any_split("restart", all, len, NULL);

	/* Two restarts (SASL then, say, compression) in one buffer. */
	rec_init(&r, &big_limits);
	r.stop_on = "auth";
	snprintf(all, sizeof all, "%s%s", HDR "<auth/>", HDR "<auth/>" HDR "<presence/>");
	restarts = 0;
	CHECK_INT(drive(&r, all, strlen(all), &restarts), XML_FEED_OK);
	CHECK_INT(restarts, 2);
	CHECK_INT(r.nopen, 3);
	CHECK_INT(r.nelem, 3);
	CHECK_INT(r.nerr, 0);
	rec_free(&r);
}

/* RFC 6120 4.3.3: whitespace keepalives left over from the old stream,
 * then a new document with its XML declaration, however the bytes come. */
static void test_restart_whitespace(void)
{
	static const char all[] =
	    "\n  <?xml version='1.0'?>" HDR
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>\r\n \t\n"
	    "<?xml version='1.0'?>" HDR "\n<presence/> \n<presence/>";
	struct rec r;
	int counts[3];

	check_any_split("whitespace restart", all, strlen(all), counts);
	CHECK_INT(counts[0], 2);      /* two stream headers */
	CHECK_INT(counts[1], 3);      /* <auth/> and two <presence/> */
	CHECK_INT(counts[2], 0);      /* no error */
	/* Text that is not whitespace before a document is still an error. */
	rec_init(&r, &big_limits);
	CHECK_INT(feed_str(&r, " x<?xml version='1.0'?>" HDR), XML_FEED_ERROR);
	CHECK_INT(r.nerr, 1);
	rec_free(&r);
}

/* ---- trees and serialisation ---- */

static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b || (!a && b && !*b) || (!b && a && !*a);
	return !strcmp(a, b);
}

static int attrs_contain(const struct xml_node *a, const struct xml_node *b)
{
	const struct xml_attr *x, *y;
	for (x = a->attrs; x; x = x->next) {
		for (y = b->attrs; y; y = y->next)
			if (str_eq(x->ns, y->ns) && !strcmp(x->name, y->name) &&
			    !strcmp(x->value, y->value))
				break;
		if (!y)
			return 0;
	}
	return 1;
}

static int tree_equal(const struct xml_node *a, const struct xml_node *b)
{
	const struct xml_node *x, *y;
	if (!a || !b)
		return a == b;
	if (!a->name || !b->name)
		return !a->name && !b->name && a->text_len == b->text_len &&
		    !memcmp(a->text, b->text, a->text_len);
	if (strcmp(a->name, b->name) || !str_eq(a->ns, b->ns) || !str_eq(a->prefix, b->prefix))
		return 0;
	if (!attrs_contain(a, b) || !attrs_contain(b, a))
		return 0;
	for (x = a->children, y = b->children; x && y; x = x->next, y = y->next)
		if (!tree_equal(x, y))
			return 0;
	return !x && !y;
}

/* Parse one stanza inside a jabber:client stream; NULL on error. */
static struct xml_node *parse_one(const char *stanza, char *cond, size_t condsz)
{
	struct rec r;
	struct xml_node *el = NULL;
	rec_init(&r, &big_limits);
	feed_str(&r, HDR);
	feed_str(&r, stanza);
	if (r.nerr == 0 && r.nels == 1) {
		el = r.els[0];
		r.nels = 0;
	}
	if (cond)
		snprintf(cond, condsz, "%s", r.nerr ? r.cond : "");
	rec_free(&r);
	return el;
}

static char *write_str(const struct xml_node *n, const char *parent_ns)
{
	struct xbuf b = { 0 };
	xml_write(&b, n, parent_ns);
	return b.p ? b.p : strdup("");
}

static void roundtrip(const char *src, int line)
{
	char cond[64];
	struct xml_node *a = parse_one(src, cond, sizeof cond), *b;
	char *out;

	if (!check_int(a != NULL, 1, "source parses", __FILE__, line)) {
		detail("source", src);
		detail("error", cond);
		return;
	}
	out = write_str(a, NS_CLIENT);
	b = parse_one(out, cond, sizeof cond);
	if (!check_int(b != NULL && tree_equal(a, b), 1, "parse -> write -> parse keeps the tree",
	    __FILE__, line)) {
		detail("source", src);
		detail("written", out);
		if (!b)
			detail("reparse error", cond);
	}
	/* Writing the copy gives the same bytes. */
	{
		struct xml_node *c = xml_copy(a);
		char *out2 = write_str(c, NS_CLIENT);
		check_str(out2, out, "xml_write(xml_copy(x)) == xml_write(x)", __FILE__, line);
		free(out2);
		xml_free(c);
	}
	free(out);
	xml_free(a);
	xml_free(b);
}
#define ROUNDTRIP(src) roundtrip(src, __LINE__)

static void test_write(void)
{
	struct xml_node *m, *body, *x;
	char *out;

	/* Escaping in text and attribute values. */
	m = xml_new(NS_CLIENT, "message");
	xml_set(m, "to", "a&b<c>'\"d");
	body = xml_new_child(m, NULL, "body");
	xml_add_text(body, "x & y < z > 'q' \"r\"", 19);
	out = write_str(m, NULL);
	CHECK_STR(out, "<message xmlns='jabber:client' to='a&amp;b&lt;c&gt;&apos;&quot;d'>"
	    "<body>x &amp; y &lt; z &gt; &apos;q&apos; &quot;r&quot;</body></message>");
	free(out);

	/* xmlns only where the namespace changes. */
	x = xml_new_child(m, "jabber:x:oob", "x");
	xml_add_text(xml_new_child(x, NULL, "url"), "http://e/?a=1&b=2", 17);
	xml_new_child(x, NS_CLIENT, "back");
	out = write_str(m, NS_CLIENT);
	CHECK_STR(out, "<message to='a&amp;b&lt;c&gt;&apos;&quot;d'>"
	    "<body>x &amp; y &lt; z &gt; &apos;q&apos; &quot;r&quot;</body>"
	    "<x xmlns='jabber:x:oob'><url>http://e/?a=1&amp;b=2</url>"
	    "<back xmlns='jabber:client'/></x></message>");
	free(out);
	out = write_str(x, "jabber:x:oob");
	CHECK_STR(out, "<x><url>http://e/?a=1&amp;b=2</url><back xmlns='jabber:client'/></x>");
	free(out);
	xml_free(m);

	/* An element without a namespace under one with. */
	m = xml_new(NS_CLIENT, "a");
	xml_add(m, xml_new(NULL, "b"));
	out = write_str(m, NS_CLIENT);
	CHECK_STR(out, "<a><b xmlns=''/></a>");
	free(out);
	xml_free(m);

	/* A text node alone. */
	{
		struct xml_node *p = xml_new(NS_CLIENT, "p");
		xml_add_text(p, "a<b", 3);
		out = write_str(p->children, NS_CLIENT);
		CHECK_STR(out, "a&lt;b");
		free(out);
		xml_free(p);
	}

	/* Prefixed elements and xml:lang survive a parse and a write. */
	m = parse_one("<message xml:lang='de'><x:y xmlns:x='urn:x'><x:z a='1'/>"
	    "<body>t</body></x:y></message>", NULL, 0);
	if (CHECK(m != NULL)) {
		out = write_str(m, NS_CLIENT);
		CHECK(strncmp(out, "<message ", 9) == 0);
		CHECK(strstr(out, "xml:lang='de'") != NULL);
		CHECK(strstr(out, "xmlns:xml") == NULL);
		CHECK(strstr(out, "<x:y xmlns:x='urn:x'") != NULL);
		CHECK(strstr(out, "<x:z") != NULL);
		CHECK(strstr(out, "</x:y>") != NULL);
		CHECK(strstr(out, "xmlns='urn:x'") == NULL);
		CHECK(strstr(out, "<body>t</body>") != NULL);   /* default ns unchanged */
		CHECK(strstr(out, "xmlns='jabber:client'") == NULL);
		free(out);
		xml_free(m);
	}

	ROUNDTRIP("<message to='a@b' type='chat' xml:lang='de'><body>x &amp; y &lt; z &gt; "
	    "&apos; &quot;</body><thread>t1</thread></message>");
	ROUNDTRIP("<iq type='get' id='1'><query xmlns='jabber:iq:roster'><item jid='a@b' "
	    "name='A &amp; B &lt;&gt; &quot;q&quot;'><group>G</group></item></query></iq>");
	ROUNDTRIP("<message><x:y xmlns:x='urn:x' a='1'><x:z/><body>in default ns</body>"
	    "</x:y></message>");
	ROUNDTRIP("<message><a xmlns='urn:a'><b xmlns='urn:b'><c/></b><d/></a><e/></message>");
	ROUNDTRIP("<presence><status>caf\xC3\xA9 \xF0\x9F\x98\x80 &#x263A; ]]&gt;</status></presence>");
	ROUNDTRIP("<message id=\"a'b&quot;c\"/>");
	ROUNDTRIP("<message><body><![CDATA[<b>&]]></body></message>");
	ROUNDTRIP("<message>mixed <b>content</b> here</message>");
	ROUNDTRIP("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>");
	/* Namespaced attributes sharing one prefix, and an element and its
	 * attribute sharing one. */
	ROUNDTRIP("<message xmlns:p='urn:p' p:a='1' p:b='2'/>");
	ROUNDTRIP("<message><p:x xmlns:p='urn:p' p:a='1'/></message>");
	/* Whitespace written as character references must stay what it is:
	 * a literal tab/newline in an attribute reparses as a space, a
	 * literal CR in text as a newline (XML 1.0 2.11, 3.3.3). */
	ROUNDTRIP("<message id='a&#10;b&#9;c&#13;d'/>");
	ROUNDTRIP("<message><body>x&#13;y</body></message>");
}

static void test_tree(void)
{
	struct xml_node *m, *c, *b, *t;
	const char *v;

	/* xml_get / xml_set / xml_unset */
	m = xml_new(NS_CLIENT, "iq");
	CHECK(xml_get(m, "id") == NULL);
	xml_set(m, "id", "1");
	xml_set(m, "type", "get");
	xml_set(m, "to", "a@b");
	CHECK_STR(xml_get(m, "id"), "1");
	CHECK_STR(xml_get(m, "type"), "get");
	xml_set(m, "type", "result");                 /* replaces */
	CHECK_STR(xml_get(m, "type"), "result");
	{
		int n = 0;
		const struct xml_attr *a;
		for (a = m->attrs; a; a = a->next)
			n++;
		CHECK_INT(n, 3);
	}
	v = xml_get(m, "to");
	xml_unset(m, "type");                          /* middle of the list */
	CHECK(xml_get(m, "type") == NULL);
	CHECK_STR(xml_get(m, "id"), "1");
	CHECK_STR(xml_get(m, "to"), "a@b");
	CHECK(v == xml_get(m, "to"));                  /* others untouched */
	xml_unset(m, "nothing");                       /* no-op */
	xml_unset(m, "id");
	xml_unset(m, "to");
	CHECK(m->attrs == NULL);
	xml_set(m, "empty", "");
	CHECK_STR(xml_get(m, "empty"), "");
	CHECK(xml_get(m, "Empty") == NULL);

	/* xml_child / xml_first_element / xml_new_child */
	xml_add_text(m, "  ", 2);
	c = xml_new_child(m, NULL, "query");           /* inherits the namespace */
	CHECK_STR(c->ns, NS_CLIENT);
	CHECK(c->parent == m);
	b = xml_new_child(m, "urn:b", "query");
	CHECK_STR(b->ns, "urn:b");
	CHECK(xml_child(m, NULL, "query") == c);
	CHECK(xml_child(m, "urn:b", "query") == b);
	CHECK(xml_child(m, NS_CLIENT, "query") == c);
	CHECK(xml_child(m, "urn:c", "query") == NULL);
	CHECK(xml_child(m, NULL, "nothing") == NULL);
	CHECK(xml_first_element(m) == c);
	CHECK(xml_first_element(c) == NULL);
	CHECK(m->last == b);

	/* xml_text */
	CHECK_STR(xml_text(c), "");
	xml_add_text(c, "ab", 2);
	xml_add_text(c, "cd", 2);                      /* merged */
	CHECK_STR(xml_text(c), "abcd");
	CHECK(c->children == c->last);
	xml_new_child(c, NULL, "sep");
	xml_add_text(c, "ef", 2);
	/* "Concatenated character data directly below n" (xml.h). */
	CHECK_STR(xml_text(c), "abcdef");
	xml_free(m);

	{
		struct xml_node *p = parse_one("<message><body>a<b/>c</body></message>", NULL, 0);
		if (CHECK(p != NULL)) {
			CHECK_STR(xml_text(xml_child(p, NULL, "body")), "ac");
			xml_free(p);
		}
		p = parse_one("<message><body><b/>c</body></message>", NULL, 0);
		if (CHECK(p != NULL)) {
			CHECK_STR(xml_text(xml_child(p, NULL, "body")), "c");
			xml_free(p);
		}
	}

	/* xml_copy is deep. */
	m = parse_one("<message to='a@b' xml:lang='en'><body>hi</body>"
	    "<x:y xmlns:x='urn:x' x:a='1'><x:z>t</x:z></x:y></message>", NULL, 0);
	if (CHECK(m != NULL)) {
		char *o1 = write_str(m, NS_CLIENT), *o2, *o3;
		c = xml_copy(m);
		CHECK(tree_equal(m, c));
		CHECK(c != m);
		CHECK(c->parent == NULL && c->next == NULL);
		CHECK(c->name != m->name);
		CHECK(c->attrs != m->attrs);
		CHECK(c->attrs->value != m->attrs->value);
		CHECK(c->children != m->children);
		CHECK(c->children->parent == c);
		CHECK(c->last && c->last->parent == c && c->last->next == NULL);
		t = xml_child(c, "urn:x", "y");
		if (CHECK(t != NULL)) {
			CHECK_STR(t->prefix, "x");
			CHECK(t != xml_child(m, "urn:x", "y"));
			CHECK(t->children && t->children->parent == t);
			CHECK(t->last == t->children);
		}
		/* Changing the copy leaves the original alone. */
		xml_set(c, "to", "c@d");
		xml_add_text(xml_child(c, NULL, "body"), " there", 6);
		xml_new_child(c, NULL, "extra");
		o2 = write_str(m, NS_CLIENT);
		CHECK_STR(o2, o1);
		CHECK_STR(xml_get(m, "to"), "a@b");
		CHECK_STR(xml_text(xml_child(m, NULL, "body")), "hi");
		CHECK(xml_child(m, NULL, "extra") == NULL);
		CHECK(xml_child(c, NULL, "extra") != NULL);
		/* The copy outlives the original. */
		xml_free(m);
		o3 = write_str(c, NS_CLIENT);
		CHECK(strstr(o3, "to='c@d'") != NULL);
		CHECK(strstr(o3, "<body>hi there</body>") != NULL);
		CHECK(strstr(o3, "xml:lang='en'") != NULL);
		free(o1);
		free(o2);
		free(o3);
		xml_free(c);
	}
	/* A copy of a text node. */
	m = xml_new(NS_CLIENT, "body");
	xml_add_text(m, "abc", 3);
	t = xml_copy(m->children);
	CHECK(t->name == NULL);
	CHECK_INT(t->text_len, 3);
	CHECK_STR(t->text, "abc");
	CHECK(t->text != m->children->text);
	xml_free(t);
	xml_free(m);
}

static void test_xbuf(void)
{
	struct xbuf b = { 0 };
	char big[2000];

	xbuf_adds(&b, "abc");
	xbuf_addf(&b, "%d-%s", 42, "x");
	CHECK_STR(b.p, "abc42-x");
	CHECK_INT(b.len, 7);
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	xbuf_addf(&b, "[%s]", big);                   /* beyond the 512-byte fast path */
	CHECK_INT(b.len, 7 + 2 + 1999);
	CHECK(b.p[b.len] == '\0');
	CHECK(b.p[8] == 'q' && b.p[b.len - 1] == ']');
	xbuf_consume(&b, 3);
	CHECK(strncmp(b.p, "42-x[", 5) == 0);
	CHECK_INT(b.len, 4 + 2 + 1999);
	xbuf_consume(&b, 100000);
	CHECK_INT(b.len, 0);
	CHECK_STR(b.p, "");
	xbuf_add_esc(&b, "<&>'\"", 5);
	CHECK_STR(b.p, "&lt;&amp;&gt;&apos;&quot;");
	xbuf_free(&b);
	CHECK(b.p == NULL && b.len == 0);
}

int main(void)
{
	test_events();
	test_default_ns();
	test_restricted();
	test_malformed();
	test_limits();
	test_limit_change();
	test_restart();
	test_restart_whitespace();
	test_write();
	test_tree();
	test_xbuf();
	return CHECK_DONE();
}
