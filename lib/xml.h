/*
 * xml.h - small element trees, their serialisation, and the incremental
 * stream parser (expat) that turns a client's byte stream into a stream
 * header, depth-1 elements, and a stream end.
 *
 * Contract: the parser never expands entities, never reads a DTD, and
 * reports restricted XML (RFC 6120 11.1), malformed XML and limit breaches
 * as a stream error condition through the error callback; after an error
 * it accepts nothing more. Trees are plain heap nodes owned by whoever
 * holds the root; xml_free() frees a whole tree.
 */
#ifndef XMPPD_XML_H
#define XMPPD_XML_H

#include <stddef.h>

#define NS_STREAMS  "http://etherx.jabber.org/streams"
#define NS_CLIENT   "jabber:client"
#define NS_HINTS    "urn:xmpp:hints"   /* XEP-0334 message processing hints */
#define NS_XML      "http://www.w3.org/XML/1998/namespace"

/* A growing byte buffer; xbuf_* abort only when memory runs out. */
struct xbuf {
	char *p;
	size_t len, cap;
};
void xbuf_add(struct xbuf *b, const char *s, size_t n);
void xbuf_adds(struct xbuf *b, const char *s);
void xbuf_addf(struct xbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Escape for text (and attribute values: quotes are escaped too). */
void xbuf_add_esc(struct xbuf *b, const char *s, size_t n);
void xbuf_consume(struct xbuf *b, size_t n);
void xbuf_free(struct xbuf *b);

struct xml_attr {
	char *ns;               /* NULL for unqualified attributes */
	char *prefix;
	char *name;
	char *value;
	struct xml_attr *next;
};

struct xml_node {
	char *ns;               /* element namespace; NULL for text nodes */
	char *prefix;           /* as the sender wrote it, or NULL (default ns) */
	char *name;             /* NULL for a text node */
	char *text;             /* text nodes only */
	int raw;                /* text is trusted, already serialised XML */
	size_t text_len;
	struct xml_attr *attrs;
	struct xml_node *children, *last, *next, *parent;
};

struct xml_node *xml_new(const char *ns, const char *name);
struct xml_node *xml_add(struct xml_node *parent, struct xml_node *child);
struct xml_node *xml_new_child(struct xml_node *parent, const char *ns, const char *name);
void xml_add_text(struct xml_node *n, const char *text, size_t len);
/* Append already serialised XML produced by xmppd itself (stored roster
 * items, presence): written verbatim, never escaped. */
void xml_add_raw(struct xml_node *n, const char *xml, size_t len);
void xml_set(struct xml_node *n, const char *name, const char *value);
void xml_unset(struct xml_node *n, const char *name);
const char *xml_get(const struct xml_node *n, const char *name);
/* First child element named name in namespace ns (ns NULL: any). */
struct xml_node *xml_child(const struct xml_node *n, const char *ns, const char *name);
/* Unlink and free every child element named name in namespace ns;
 * returns how many. */
int xml_remove_children(struct xml_node *n, const char *ns, const char *name);
/* n and the elements under it in namespace from move to namespace to
 * (jabber:client and jabber:server, the same stanza on the two kinds of
 * stream). */
void xml_rename_ns(struct xml_node *n, const char *from, const char *to);
/* First child element of any name. */
struct xml_node *xml_first_element(const struct xml_node *n);
/* Concatenated character data directly below n ("" if none); the pointer
 * is valid until n changes. */
const char *xml_text(struct xml_node *n);
struct xml_node *xml_copy(const struct xml_node *n);
void xml_free(struct xml_node *n);
/* Serialise n; parent_ns is the default namespace in scope (so xmlns is
 * written only where it changes). */
void xml_write(struct xbuf *b, const struct xml_node *n, const char *parent_ns);

/* Serialise n into a new NUL-terminated string (parent namespace
 * jabber:client); *len receives its length when len is not NULL. */
char *xml_string(const struct xml_node *n, size_t *len);

/* Parse one complete element (xmppd's own stored XML) into a tree, with
 * the stream parser's restrictions; the default namespace is
 * jabber:client. NULL if it is not one well-formed element. */
struct xml_node *xml_parse_string(const char *xml, size_t len);

/* The stream parser. */
struct xml_limits {
	size_t max_stanza;      /* bytes from a stanza's start to its end */
	int max_depth;          /* element depth below the stream root */
	int max_attrs;
};

struct xml_stream_cb {
	/* Root opened: root holds the header's attributes; default_ns is the
	 * default namespace the header declared ("" if none). */
	void (*open)(void *ctx, struct xml_node *root, const char *default_ns);
	/* A complete depth-1 element; the callee owns it. */
	void (*element)(void *ctx, struct xml_node *el);
	void (*close)(void *ctx);
	/* A stream error condition (RFC 6120 4.9.3 name) and a short reason. */
	void (*error)(void *ctx, const char *condition, const char *reason);
};

struct xml_stream;
struct xml_stream *xml_stream_new(const struct xml_limits *lim,
    const struct xml_stream_cb *cb, void *ctx);
void xml_stream_free(struct xml_stream *s);

enum { XML_FEED_OK = 0, XML_FEED_ERROR = -1, XML_FEED_RESTART = 1 };
/* Parse len bytes. RESTART: a callback asked for a stream restart; only
 * *consumed bytes were used and the rest belongs to the new stream (call
 * xml_stream_reset, then feed the rest). */
int xml_stream_feed(struct xml_stream *s, const char *buf, size_t len, size_t *consumed);
/* From a callback: stop after the current element (the stream restarts). */
void xml_stream_stop(struct xml_stream *s);
/* A fresh document on the same stream (after SASL or STARTTLS). */
int xml_stream_reset(struct xml_stream *s);
/* The largest stanza from now on (also from a callback): what is
 * already buffered of the current one counts against it. */
void xml_stream_set_max_stanza(struct xml_stream *s, size_t max_stanza);

#endif
