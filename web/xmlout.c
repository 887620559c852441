/*
 * xmlout.c - the top-level items of a stream's output (xmlout.h).
 */
#include "xmlout.h"

#include <ctype.h>
#include <string.h>

#define NS_CLIENT_DECL  " xmlns='jabber:client'"
#define NS_STREAMS_DECL " xmlns:stream='http://etherx.jabber.org/streams'"

/* The start tag at p (p[0] is '<'): its length up to '>' included, or 0
 * if it is not all there. name_len: the length of its name. */
static size_t tag_scan(const char *p, size_t n, size_t *name_len)
{
	size_t i = 1;
	char quote = 0;

	while (i < n && !strchr(" \t\r\n/>", p[i]))
		i++;
	*name_len = i - 1;
	for (; i < n; i++) {
		if (quote) {
			if (p[i] == quote)
				quote = 0;
		} else if (p[i] == '\'' || p[i] == '"') {
			quote = p[i];
		} else if (p[i] == '>') {
			return i + 1;
		}
	}
	return 0;
}

/* The next attribute of the start tag t (of length tlen) from *i:
 * 1 with its name and value (quotes included), 0 at the tag's end. */
int xmlout_attr_next(const char *t, size_t tlen, size_t *i, const char **name, size_t *nlen,
    const char **val, size_t *vlen)
{
	size_t k = *i;
	char quote;

	while (k < tlen && isspace((unsigned char)t[k]))
		k++;
	if (k >= tlen || t[k] == '/' || t[k] == '>')
		return 0;
	*name = t + k;
	while (k < tlen && t[k] != '=' && !isspace((unsigned char)t[k]))
		k++;
	*nlen = (size_t)(t + k - *name);
	while (k < tlen && t[k] != '\'' && t[k] != '"')
		k++;
	if (k >= tlen)
		return 0;
	quote = t[k];
	*val = t + k;
	for (k++; k < tlen && t[k] != quote; k++)
		;
	*vlen = (size_t)(t + k + 1 - *val);
	*i = k + 1;
	return 1;
}

int xmlout_attr_is_ns(const char *name, size_t nlen)
{
	return (nlen == 5 && !strncmp(name, "xmlns", 5)) ||
	    (nlen > 6 && !strncmp(name, "xmlns:", 6));
}

/* The end of the element starting at p with a start tag of tlen bytes,
 * or 0 if it is not all there. */
static size_t element_end(const char *p, size_t n, size_t tlen)
{
	size_t i = tlen, name_len, k;
	int depth = 1;

	if (p[tlen - 2] == '/')
		return tlen;
	while (depth) {
		const char *lt = memchr(p + i, '<', n - i);
		if (!lt)
			return 0;
		i = (size_t)(lt - p);
		if (i + 1 < n && p[i + 1] == '/') {
			const char *gt = memchr(p + i, '>', n - i);
			if (!gt)
				return 0;
			i = (size_t)(gt - p) + 1;
			depth--;
			continue;
		}
		if (!(k = tag_scan(p + i, n - i, &name_len)))
			return 0;
		if (p[i + k - 2] != '/')
			depth++;
		i += k;
	}
	return i;
}

void xmlout_element(struct xbuf *b, const char *p, size_t len, size_t tlen, size_t name_len)
{
	const char *name, *val;
	size_t nlen, vlen, i = 1 + name_len;
	int has_default = 0;

	while (xmlout_attr_next(p, tlen, &i, &name, &nlen, &val, &vlen))
		has_default |= nlen == 5 && !strncmp(name, "xmlns", 5);
	xbuf_add(b, p, 1 + name_len);
	if (name_len > 7 && !strncmp(p + 1, "stream:", 7))
		xbuf_adds(b, NS_STREAMS_DECL);
	else if (!has_default && !memchr(p + 1, ':', name_len))
		xbuf_adds(b, NS_CLIENT_DECL);
	xbuf_add(b, p + 1 + name_len, len - 1 - name_len);
}

size_t xmlout_split(const char *p, size_t n, xmlout_fn *fn, void *arg)
{
	size_t pos = 0, tlen, name_len, end;
	const char *gt;

	while (pos < n) {
		const char *q = p + pos;
		if (isspace((unsigned char)*q)) {
			pos++;
		} else if (*q == '<' && n - pos >= 2 && (q[1] == '?' || q[1] == '/')) {
			/* The XML declaration; an end tag here is the stream's. */
			if (!(gt = memchr(q, '>', n - pos)))
				break;
			pos = (size_t)(gt - p) + 1;
			if (q[1] == '/' && fn(arg, XO_END, q, pos - (size_t)(q - p), 0, 0))
				break;
		} else if (*q == '<') {
			if (!(tlen = tag_scan(q, n - pos, &name_len)))
				break;
			if (name_len == 13 && !strncmp(q + 1, "stream:stream", 13)) {
				pos += tlen;
				if (fn(arg, XO_HEADER, q, tlen, tlen, name_len))
					break;
				continue;
			}
			if (!(end = element_end(q, n - pos, tlen)))
				break;
			pos += end;
			if (fn(arg, XO_ELEMENT, q, end, tlen, name_len))
				break;
		} else {                     /* text between stanzas: never written */
			gt = memchr(q, '<', n - pos);
			pos = gt ? (size_t)(gt - p) : n;
		}
	}
	return pos;
}
