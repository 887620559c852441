/*
 * xml.c - element trees and the expat stream parser.
 *
 * The client's stream is one XML document: the root is <stream:stream>,
 * each child of the root is a stanza (or a negotiation element). expat
 * parses incrementally; we collect each depth-1 element as a tree and hand
 * it over whole. Namespaces are resolved by expat (triplets, so prefixes
 * survive for re-serialisation).
 */
#include "xml.h"
#include "xmalloc.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* \x01 cannot appear in XML 1.0 text, so it cannot be part of a URI or
 * name: a safe separator for expat's "uri SEP local SEP prefix". */
#define NS_SEP '\x01'

/* Not in Debian 12's expat 2.5 headers; present (and needed) in newer
 * builds that defer reparsing (CVE-2023-52425): called only if linked. */
XML_Bool XML_SetReparseDeferralEnabled(XML_Parser parser, XML_Bool enabled)
    __attribute__((weak));

/* ---- buffers ---- */

void xbuf_add(struct xbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void xbuf_adds(struct xbuf *b, const char *s)
{
	xbuf_add(b, s, strlen(s));
}

void xbuf_addf(struct xbuf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		xbuf_add(b, small, (size_t)n);
		return;
	}
	{
		char *big = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		xbuf_add(b, big, (size_t)n);
		free(big);
	}
}

void xbuf_add_esc(struct xbuf *b, const char *s, size_t n)
{
	size_t i, start = 0;
	for (i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		/* kept exact through attribute normalisation and CR folding */
		case '\t': rep = "&#9;"; break;
		case '\n': rep = "&#10;"; break;
		case '\r': rep = "&#13;"; break;
		default: continue;
		}
		xbuf_add(b, s + start, i - start);
		xbuf_adds(b, rep);
		start = i + 1;
	}
	xbuf_add(b, s + start, n - start);
}

void xbuf_consume(struct xbuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->p, b->p + n, b->len - n);
		b->len -= n;
	}
	if (b->p)
		b->p[b->len] = '\0';
}

void xbuf_free(struct xbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* ---- trees ---- */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct xml_node *xml_new(const char *ns, const char *name)
{
	struct xml_node *n = xcalloc(1, sizeof *n);
	n->ns = dup_or_null(ns);
	n->name = xstrdup(name);
	return n;
}

struct xml_node *xml_add(struct xml_node *parent, struct xml_node *child)
{
	child->parent = parent;
	child->next = NULL;
	if (parent->last)
		parent->last->next = child;
	else
		parent->children = child;
	parent->last = child;
	return child;
}

struct xml_node *xml_new_child(struct xml_node *parent, const char *ns, const char *name)
{
	return xml_add(parent, xml_new(ns ? ns : parent->ns, name));
}

void xml_add_text(struct xml_node *n, const char *text, size_t len)
{
	struct xml_node *t = n->last;
	if (t && !t->name && !t->raw) { /* merge adjacent character data */
		t->text = xrealloc(t->text, t->text_len + len + 1);
		memcpy(t->text + t->text_len, text, len);
		t->text_len += len;
		t->text[t->text_len] = '\0';
		return;
	}
	t = xcalloc(1, sizeof *t);
	t->text = xstrndup(text, len);
	t->text_len = len;
	xml_add(n, t);
}

void xml_add_raw(struct xml_node *n, const char *xml, size_t len)
{
	struct xml_node *t = xcalloc(1, sizeof *t);
	t->text = xstrndup(xml, len);
	t->text_len = len;
	t->raw = 1;
	xml_add(n, t);
}

static struct xml_attr *find_attr(const struct xml_node *n, const char *name)
{
	struct xml_attr *a;
	for (a = n->attrs; a; a = a->next)
		if (!a->ns && !strcmp(a->name, name))
			return a;
	return NULL;
}

void xml_set(struct xml_node *n, const char *name, const char *value)
{
	struct xml_attr *a = find_attr(n, name);
	if (a) {
		free(a->value);
		a->value = xstrdup(value);
		return;
	}
	a = xcalloc(1, sizeof *a);
	a->name = xstrdup(name);
	a->value = xstrdup(value);
	a->next = n->attrs;
	n->attrs = a;
}

static void free_attr(struct xml_attr *a)
{
	free(a->ns);
	free(a->prefix);
	free(a->name);
	free(a->value);
	free(a);
}

void xml_unset(struct xml_node *n, const char *name)
{
	struct xml_attr **pa;
	for (pa = &n->attrs; *pa; pa = &(*pa)->next) {
		if (!(*pa)->ns && !strcmp((*pa)->name, name)) {
			struct xml_attr *a = *pa;
			*pa = a->next;
			free_attr(a);
			return;
		}
	}
}

const char *xml_get(const struct xml_node *n, const char *name)
{
	struct xml_attr *a = find_attr(n, name);
	return a ? a->value : NULL;
}

struct xml_node *xml_child(const struct xml_node *n, const char *ns, const char *name)
{
	struct xml_node *c;
	for (c = n->children; c; c = c->next)
		if (c->name && !strcmp(c->name, name) &&
		    (!ns || (c->ns && !strcmp(c->ns, ns))))
			return c;
	return NULL;
}

struct xml_node *xml_first_element(const struct xml_node *n)
{
	struct xml_node *c;
	for (c = n->children; c; c = c->next)
		if (c->name)
			return c;
	return NULL;
}

const char *xml_text(struct xml_node *n)
{
	struct xml_node *c, *first = NULL;
	struct xbuf b = { 0 };
	int runs = 0;

	for (c = n->children; c; c = c->next)
		if (!c->name && !c->raw && runs++ == 0)
			first = c;
	if (runs <= 1)
		return first ? first->text : "";
	/* Text split by child elements: joined once, cached in the element
	 * node's own (otherwise unused) text field. */
	for (c = n->children; c; c = c->next)
		if (!c->name && !c->raw)
			xbuf_add(&b, c->text, c->text_len);
	free(n->text);
	n->text = b.p;
	n->text_len = b.len;
	return n->text;
}

struct xml_node *xml_copy(const struct xml_node *n)
{
	struct xml_node *c;
	const struct xml_node *ch;
	struct xml_attr *a, **tail;

	c = xcalloc(1, sizeof *c);
	if (!n->name) {
		c->text = xstrndup(n->text, n->text_len);
		c->text_len = n->text_len;
		c->raw = n->raw;
		return c;
	}
	c->ns = dup_or_null(n->ns);
	c->prefix = dup_or_null(n->prefix);
	c->name = xstrdup(n->name);
	tail = &c->attrs;
	for (a = n->attrs; a; a = a->next) {
		struct xml_attr *na = xcalloc(1, sizeof *na);
		na->ns = dup_or_null(a->ns);
		na->prefix = dup_or_null(a->prefix);
		na->name = xstrdup(a->name);
		na->value = xstrdup(a->value);
		*tail = na;
		tail = &na->next;
	}
	for (ch = n->children; ch; ch = ch->next)
		xml_add(c, xml_copy(ch));
	return c;
}

void xml_rename_ns(struct xml_node *n, const char *from, const char *to)
{
	struct xml_node *k;

	if (n->ns && !strcmp(n->ns, from)) {
		free(n->ns);
		n->ns = xstrdup(to);
	}
	for (k = n->children; k; k = k->next)
		if (k->name)
			xml_rename_ns(k, from, to);
}

int xml_remove_children(struct xml_node *n, const char *ns, const char *name)
{
	struct xml_node **link = &n->children, *ch, *prev = NULL;
	int k = 0;
	while ((ch = *link)) {
		if (ch->name && !strcmp(ch->name, name) && ch->ns && !strcmp(ch->ns, ns)) {
			*link = ch->next;
			ch->next = NULL;
			xml_free(ch);
			k++;
			continue;
		}
		prev = ch;
		link = &ch->next;
	}
	n->last = prev;
	return k;
}

void xml_free(struct xml_node *n)
{
	while (n) {
		struct xml_node *next = n->next;
		struct xml_attr *a, *an;
		xml_free(n->children);
		for (a = n->attrs; a; a = an) {
			an = a->next;
			free_attr(a);
		}
		free(n->ns);
		free(n->prefix);
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

/* Has this element already declared prefix for ns (its own prefix, or an
 * earlier attribute's)? */
static int declared(const struct xml_node *n, const struct xml_attr *upto, const char *prefix)
{
	const struct xml_attr *a;
	if (n->prefix && !strcmp(n->prefix, prefix))
		return 1;
	for (a = n->attrs; a && a != upto; a = a->next)
		if (a->ns && a->prefix && strcmp(a->ns, NS_XML) && !strcmp(a->prefix, prefix))
			return 1;
	return 0;
}

static void write_attr(struct xbuf *b, const struct xml_node *n, const struct xml_attr *a)
{
	xbuf_adds(b, " ");
	if (a->ns && !strcmp(a->ns, NS_XML)) {
		xbuf_adds(b, "xml:");
	} else if (a->ns && a->prefix) {
		if (!declared(n, a, a->prefix)) {
			xbuf_addf(b, "xmlns:%s='", a->prefix);
			xbuf_add_esc(b, a->ns, strlen(a->ns));
			xbuf_adds(b, "' ");
		}
		xbuf_addf(b, "%s:", a->prefix);
	}
	xbuf_adds(b, a->name);
	xbuf_adds(b, "='");
	xbuf_add_esc(b, a->value, strlen(a->value));
	xbuf_adds(b, "'");
}

void xml_write(struct xbuf *b, const struct xml_node *n, const char *parent_ns)
{
	const struct xml_node *c;
	const struct xml_attr *a;
	const char *ns = n->ns ? n->ns : "";

	if (!n->name) {
		if (n->raw)
			xbuf_add(b, n->text, n->text_len);
		else
			xbuf_add_esc(b, n->text, n->text_len);
		return;
	}
	xbuf_adds(b, "<");
	if (n->prefix) {
		xbuf_addf(b, "%s:%s xmlns:%s='", n->prefix, n->name, n->prefix);
		xbuf_add_esc(b, ns, strlen(ns));
		xbuf_adds(b, "'");
		ns = parent_ns ? parent_ns : "";   /* default ns unchanged below */
	} else {
		xbuf_adds(b, n->name);
		if (!parent_ns || strcmp(parent_ns, ns)) {
			xbuf_adds(b, " xmlns='");
			xbuf_add_esc(b, ns, strlen(ns));
			xbuf_adds(b, "'");
		}
	}
	for (a = n->attrs; a; a = a->next)
		write_attr(b, n, a);
	if (!n->children) {
		xbuf_adds(b, "/>");
		return;
	}
	xbuf_adds(b, ">");
	for (c = n->children; c; c = c->next)
		xml_write(b, c, ns);
	if (n->prefix)
		xbuf_addf(b, "</%s:%s>", n->prefix, n->name);
	else
		xbuf_addf(b, "</%s>", n->name);
}

char *xml_string(const struct xml_node *n, size_t *len)
{
	struct xbuf b = { 0 };
	xml_write(&b, n, NS_CLIENT);
	if (len)
		*len = b.len;
	return b.p ? b.p : xstrdup("");
}

/* ---- the stream parser ---- */

struct xml_stream {
	XML_Parser p;
	struct xml_limits lim;
	struct xml_stream_cb cb;
	void *ctx;
	int depth;                 /* 0 before the root, 1 inside it */
	int failed;
	int stop;                  /* a callback asked for a restart */
	unsigned long long stop_at;/* byte index just after the element */
	unsigned long long fed;    /* bytes fed to this document */
	unsigned long long mark;   /* byte index where the current stanza began */
	char default_ns[256];
	struct xml_node *cur;      /* element being collected, or NULL */
};

static void fail(struct xml_stream *s, const char *cond, const char *why)
{
	if (s->failed)
		return;
	s->failed = 1;
	s->cb.error(s->ctx, cond, why);
	XML_StopParser(s->p, XML_FALSE);
}

/* Split expat's "uri SEP local [SEP prefix]" into its parts. */
static void split_name(const char *full, char **ns, char **local, char **prefix)
{
	const char *s1 = strchr(full, NS_SEP), *s2;
	if (!s1) {
		*ns = NULL;
		*local = xstrdup(full);
		*prefix = NULL;
		return;
	}
	*ns = xstrndup(full, (size_t)(s1 - full));
	s2 = strchr(s1 + 1, NS_SEP);
	if (s2) {
		*local = xstrndup(s1 + 1, (size_t)(s2 - s1 - 1));
		*prefix = xstrdup(s2 + 1);
	} else {
		*local = xstrdup(s1 + 1);
		*prefix = NULL;
	}
}

static struct xml_node *node_from(const char *name, const char **atts)
{
	struct xml_node *n = xcalloc(1, sizeof *n);
	struct xml_attr **tail = &n->attrs;
	int i;

	split_name(name, &n->ns, &n->name, &n->prefix);
	for (i = 0; atts[i]; i += 2) {
		struct xml_attr *a = xcalloc(1, sizeof *a);
		split_name(atts[i], &a->ns, &a->name, &a->prefix);
		a->value = xstrdup(atts[i + 1]);
		*tail = a;
		tail = &a->next;
	}
	return n;
}

static void XMLCALL on_start(void *ud, const char *name, const char **atts)
{
	struct xml_stream *s = ud;
	struct xml_node *n;
	int nattrs = 0;

	if (s->failed || s->stop)
		return;
	while (atts[nattrs])
		nattrs += 2;
	if (nattrs / 2 > s->lim.max_attrs) {
		fail(s, "policy-violation", "too many attributes");
		return;
	}
	if (s->depth - 1 >= s->lim.max_depth) {
		fail(s, "policy-violation", "XML nested too deep");
		return;
	}
	n = node_from(name, atts);
	s->depth++;
	if (s->depth == 1) {
		s->cb.open(s->ctx, n, s->default_ns);
		xml_free(n);
		s->mark = (unsigned long long)XML_GetCurrentByteIndex(s->p) +
		    (unsigned long long)XML_GetCurrentByteCount(s->p);
		return;
	}
	if (s->cur)
		xml_add(s->cur, n);
	else
		s->mark = (unsigned long long)XML_GetCurrentByteIndex(s->p);
	s->cur = n;
}

static void XMLCALL on_end(void *ud, const char *name)
{
	struct xml_stream *s = ud;
	struct xml_node *n;
	(void)name;

	if (s->failed || s->stop)
		return;
	s->depth--;
	if (s->depth == 0) {
		s->cb.close(s->ctx);
		return;
	}
	n = s->cur;
	if (!n)
		return;
	s->cur = n->parent;
	if (s->depth == 1) {
		unsigned long long end = (unsigned long long)XML_GetCurrentByteIndex(s->p) +
		    (unsigned long long)XML_GetCurrentByteCount(s->p);
		if (end - s->mark > s->lim.max_stanza) {
			xml_free(n);
			fail(s, "policy-violation", "stanza too large");
			return;
		}
		s->mark = end;
		n->parent = NULL;
		s->cb.element(s->ctx, n);
		if (s->stop) {
			s->stop_at = s->mark;
			XML_StopParser(s->p, XML_FALSE);
		}
	}
}

static void XMLCALL on_text(void *ud, const char *text, int len)
{
	struct xml_stream *s = ud;
	if (s->failed || s->stop)
		return;
	if (!s->cur) {
		/* whitespace between stanzas (keepalives): not part of one */
		s->mark = (unsigned long long)XML_GetCurrentByteIndex(s->p) +
		    (unsigned long long)XML_GetCurrentByteCount(s->p);
		return;
	}
	xml_add_text(s->cur, text, (size_t)len);
}

static void XMLCALL on_ns_start(void *ud, const char *prefix, const char *uri)
{
	struct xml_stream *s = ud;
	if (s->depth == 0 && !prefix)
		snprintf(s->default_ns, sizeof s->default_ns, "%s", uri ? uri : "");
}

static void XMLCALL on_restricted_pi(void *ud, const char *t, const char *d)
{
	(void)t; (void)d;
	fail(ud, "restricted-xml", "processing instruction");
}

static void XMLCALL on_restricted_comment(void *ud, const char *d)
{
	(void)d;
	fail(ud, "restricted-xml", "comment");
}

static void XMLCALL on_restricted_doctype(void *ud, const char *n, const char *sys,
    const char *pub, int internal)
{
	(void)n; (void)sys; (void)pub; (void)internal;
	fail(ud, "restricted-xml", "document type declaration");
}

static void XMLCALL on_restricted_entity(void *ud, const char *n, int param,
    const char *v, int vlen, const char *base, const char *sys, const char *pub,
    const char *notation)
{
	(void)n; (void)param; (void)v; (void)vlen; (void)base; (void)sys; (void)pub; (void)notation;
	fail(ud, "restricted-xml", "entity declaration");
}

/* Expat's hash salt (against hash flooding), drawn once per process:
 * expat would draw one from the kernel for every parser, and the handler
 * makes a parser for every stored stanza it renders. 0 (none drawn):
 * expat draws its own. */
static unsigned long hash_salt(void)
{
	static unsigned long salt;
	static int drawn;

	if (!drawn) {
		drawn = 1;
		if (getrandom(&salt, sizeof salt, GRND_NONBLOCK) != (ssize_t)sizeof salt)
			salt = 0;
	}
	return salt;
}

static int stream_setup(struct xml_stream *s)
{
	XML_SetUserData(s->p, s);
	XML_SetHashSalt(s->p, hash_salt());
	XML_SetReturnNSTriplet(s->p, XML_TRUE);
	XML_SetElementHandler(s->p, on_start, on_end);
	XML_SetCharacterDataHandler(s->p, on_text);
	XML_SetStartNamespaceDeclHandler(s->p, on_ns_start);
	XML_SetProcessingInstructionHandler(s->p, on_restricted_pi);
	XML_SetCommentHandler(s->p, on_restricted_comment);
	XML_SetStartDoctypeDeclHandler(s->p, on_restricted_doctype);
	XML_SetEntityDeclHandler(s->p, on_restricted_entity);
	XML_SetParamEntityParsing(s->p, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_SetReparseDeferralEnabled)
		XML_SetReparseDeferralEnabled(s->p, XML_FALSE);
	s->depth = 0;
	s->failed = 0;
	s->stop = 0;
	s->fed = 0;
	s->mark = 0;
	s->default_ns[0] = '\0';
	return 0;
}

struct xml_stream *xml_stream_new(const struct xml_limits *lim,
    const struct xml_stream_cb *cb, void *ctx)
{
	struct xml_stream *s = xcalloc(1, sizeof *s);
	char sep[2] = { NS_SEP, 0 };
	s->lim = *lim;
	s->cb = *cb;
	s->ctx = ctx;
	s->p = XML_ParserCreateNS("UTF-8", sep[0]);
	if (!s->p) {
		free(s);
		return NULL;
	}
	stream_setup(s);
	return s;
}

static void drop_partial(struct xml_stream *s)
{
	struct xml_node *n = s->cur;
	while (n && n->parent)
		n = n->parent;
	xml_free(n);
	s->cur = NULL;
}

void xml_stream_free(struct xml_stream *s)
{
	if (!s)
		return;
	drop_partial(s);
	XML_ParserFree(s->p);
	free(s);
}

int xml_stream_reset(struct xml_stream *s)
{
	drop_partial(s);
	if (XML_ParserReset(s->p, "UTF-8") != XML_TRUE)
		return -1;
	return stream_setup(s);
}

void xml_stream_stop(struct xml_stream *s)
{
	s->stop = 1;
}

void xml_stream_set_max_stanza(struct xml_stream *s, size_t max_stanza)
{
	s->lim.max_stanza = max_stanza;
}

static int is_xml_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

int xml_stream_feed(struct xml_stream *s, const char *buf, size_t len, size_t *consumed)
{
	unsigned long long before = s->fed;
	enum XML_Status st;
	size_t skipped = 0;

	*consumed = 0;
	if (s->failed)
		return XML_FEED_ERROR;
	/* Whitespace before a document's first byte is a keepalive left over
	 * from the previous stream (RFC 6120 4.3.3: after a restart the new
	 * stream is a new document, whose XML declaration must come first). */
	if (s->fed == 0) {
		while (skipped < len && is_xml_space(buf[skipped]))
			skipped++;
		buf += skipped;
		len -= skipped;
	}
	s->fed += len;
	st = XML_Parse(s->p, buf, (int)len, XML_FALSE);
	if (s->stop && !s->failed) {
		*consumed = skipped + (size_t)(s->stop_at - before);
		return XML_FEED_RESTART;
	}
	if (s->failed)
		return XML_FEED_ERROR;
	/* Bound what one stanza (or one unfinished start tag, or a header)
	 * may hold: at most the limit plus one read's worth is ever buffered. */
	if (st != XML_STATUS_ERROR && s->fed - s->mark > s->lim.max_stanza) {
		fail(s, "policy-violation", s->depth ? "stanza too large" : "stream header too large");
		return XML_FEED_ERROR;
	}
	if (st == XML_STATUS_ERROR) {
		enum XML_Error e = XML_GetErrorCode(s->p);
		/* An undefined entity is the only way an entity reaches us. */
		fail(s, e == XML_ERROR_UNDEFINED_ENTITY || e == XML_ERROR_RECURSIVE_ENTITY_REF ?
		    "restricted-xml" : "not-well-formed", XML_ErrorString(e));
		return XML_FEED_ERROR;
	}
	*consumed = skipped + len;
	return XML_FEED_OK;
}

/* ---- one element from a string ---- */

struct one {
	struct xml_stream *s;
	struct xml_node *el;
	int bad;
};

static void one_open(void *ctx, struct xml_node *root, const char *ns)
{
	(void)ctx; (void)root; (void)ns;
}

static void one_element(void *ctx, struct xml_node *el)
{
	struct one *o = ctx;
	if (o->el)
		o->bad = 1, xml_free(el);
	else
		o->el = el;
}

static void one_close(void *ctx)
{
	(void)ctx;
}

static void one_error(void *ctx, const char *cond, const char *reason)
{
	(void)cond; (void)reason;
	((struct one *)ctx)->bad = 1;
}

struct xml_node *xml_parse_string(const char *xml, size_t len)
{
	static const struct xml_stream_cb cb = { one_open, one_element, one_close, one_error };
	static const char open[] = "<s xmlns='" NS_CLIENT "'>", close[] = "</s>";
	struct xml_limits lim = { len + sizeof open + sizeof close, 64, 256 };
	struct one o = { NULL, NULL, 0 };
	size_t used;

	o.s = xml_stream_new(&lim, &cb, &o);
	if (!o.s)
		return NULL;
	if (xml_stream_feed(o.s, open, sizeof open - 1, &used) != XML_FEED_OK ||
	    xml_stream_feed(o.s, xml, len, &used) != XML_FEED_OK ||
	    xml_stream_feed(o.s, close, sizeof close - 1, &used) != XML_FEED_OK)
		o.bad = 1;
	xml_stream_free(o.s);
	if (o.bad) {
		xml_free(o.el);
		return NULL;
	}
	return o.el;
}
