/*
 * xmlout.h - the top-level items of what a stream writes, for a framing
 * that sends them apart: ws.c one WebSocket frame each, bosh.c the
 * children of one <body/>.
 *
 * The stream (handler/stream.c) writes an XML declaration, its header,
 * top-level elements that inherit the header's namespace declarations
 * (jabber:client, the stream prefix), and its end tag. A framing that
 * sends an element without the header must declare those on it:
 * xmlout_element does.
 *
 * The scanner trusts what it reads: the stream's own output, well
 * formed, never the client's bytes.
 */
#ifndef XMPPD_XMLOUT_H
#define XMPPD_XMLOUT_H

#include <stddef.h>
#include "xml.h"

enum xmlout_item {
	XO_HEADER,              /* <stream:stream ...> (the start tag alone) */
	XO_END,                 /* </stream:stream> */
	XO_ELEMENT              /* a whole top-level element */
};

/* One item: p, len bytes; its start tag is tlen bytes, its name
 * name_len. Nonzero stops the split after it. */
typedef int xmlout_fn(void *arg, enum xmlout_item kind, const char *p, size_t len,
    size_t tlen, size_t name_len);

/* Hand each complete top-level item of p (n bytes) to fn, in order; the
 * XML declaration, whitespace and text between elements are skipped.
 * Returns the bytes used: an incomplete item at the end is left. */
size_t xmlout_split(const char *p, size_t n, xmlout_fn *fn, void *arg);

/* Append the element p (len bytes, start tag tlen, name name_len) to b
 * with the namespace the header gave it declared: the stream prefix on
 * a stream: element, else jabber:client unless it has its own. */
void xmlout_element(struct xbuf *b, const char *p, size_t len, size_t tlen, size_t name_len);

/* The next attribute of the start tag t (tlen bytes) from *i (start at
 * 1 + the name's length): 1 with its name and value (quotes included),
 * 0 at the tag's end. */
int xmlout_attr_next(const char *t, size_t tlen, size_t *i, const char **name, size_t *nlen,
    const char **val, size_t *vlen);
/* 1 if the attribute named name is a namespace declaration. */
int xmlout_attr_is_ns(const char *name, size_t nlen);

#endif
