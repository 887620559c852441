/*
 * csi.c - client state indication (XEP-0352, urn:xmpp:csi:0): a phone
 * that says <inactive/> is not woken for what its user need not see at
 * once.
 *
 * While the client is inactive these are held back (in this process,
 * in order of arrival):
 *  - presence from others (not subscription requests and answers), only
 *    the latest per sender's full JID;
 *  - messages without a body (chat states, receipts, markers), only the
 *    latest per sender; a message with a body from the same sender makes
 *    them stale, and they are dropped.
 * Everything else goes out at once: messages with a body, IQs, roster
 * pushes, errors, subscription presence. <active/> writes what was held,
 * in order; so does the hold filling up (CSI_HOLD_MAX stanzas or
 * CSI_HOLD_BYTES). Under stream management a held stanza counts only
 * once it is written. When the connection ends, held messages (a receipt
 * is worth having) are routed to the user again; held presence is state,
 * and is dropped. A handler that dies loses what it held.
 */
#include "modules.h"
#include "conn.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSI_HOLD_MAX    256            /* stanzas held at most ... */
#define CSI_HOLD_BYTES  (256 * 1024)   /* ... and bytes */
#define CSI_KEY_MAX     1100           /* "p " or "m " and a full JID */

struct held {
	char *xml;
	size_t len;
	char key[CSI_KEY_MAX];             /* kind and sender: a later one replaces it */
	struct held *next;
};

struct csi {
	int inactive;
	struct held *head, *tail;
	size_t n, bytes;
};

static struct csi *csi_of(struct conn *c)
{
	return conn_slot(c, &mod_csi, sizeof(struct csi));
}

static void drop(struct csi *s, struct held **pp)
{
	struct held *h = *pp;
	*pp = h->next;
	if (s->tail == h) {
		struct held *t;
		s->tail = NULL;
		for (t = s->head; t; t = t->next)
			s->tail = t;
	}
	s->n--;
	s->bytes -= h->len;
	free(h->xml);
	free(h);
}

/* Drop what is held under key (a later stanza replaces it). */
static void drop_key(struct csi *s, const char *key)
{
	struct held **pp = &s->head;
	while (*pp)
		if (!strcmp((*pp)->key, key))
			drop(s, pp);
		else
			pp = &(*pp)->next;
}

/* Write what is held, oldest first. */
static void release(struct conn *c, struct csi *s)
{
	while (s->head) {
		conn_send_raw(c, s->head->xml, s->head->len);
		drop(s, &s->head);
	}
}

/* The value of attribute name in the start tag of xml ("" if none):
 * stanzas from Redis were written by xmppd, attributes in single quotes. */
static void start_attr(const char *xml, size_t len, const char *name, char *out, size_t outsz)
{
	const char *end = memchr(xml, '>', len), *p = xml, *v, *q;
	size_t n = strlen(name);

	out[0] = '\0';
	if (!end)
		return;
	while ((p = memmem(p, (size_t)(end - p), name, n))) {
		if (p > xml && p[-1] == ' ' && p[n] == '=' && p[n + 1] == '\'') {
			v = p + n + 2;
			q = memchr(v, '\'', (size_t)(end - v));
			if (q && (size_t)(q - v) < outsz) {
				memcpy(out, v, (size_t)(q - v));
				out[q - v] = '\0';
			}
			return;
		}
		p += n;
	}
}

static int csi_hold(struct conn *c, const char *xml, size_t len, int deferrable)
{
	struct csi *s = csi_of(c);
	struct held *h;
	char from[CSI_KEY_MAX - 2], type[32], key[CSI_KEY_MAX];
	int presence = len > 9 && !memcmp(xml, "<presence", 9);

	if (!s->inactive)
		return 0;
	start_attr(xml, len, "from", from, sizeof from);
	if (!deferrable) {
		/* A message with a body: the sender's held chat states are stale. */
		if (!presence) {
			snprintf(key, sizeof key, "m %s", from);
			drop_key(s, key);
		}
		return 0;
	}
	if (presence) {
		start_attr(xml, len, "type", type, sizeof type);
		if (type[0] && strcmp(type, "unavailable"))
			return 0;            /* subscriptions and errors: at once */
	}
	snprintf(key, sizeof key, "%c %s", presence ? 'p' : 'm', from);
	drop_key(s, key);
	h = xcalloc(1, sizeof *h);
	h->xml = xstrndup(xml, len);
	h->len = len;
	memcpy(h->key, key, sizeof h->key);
	if (s->tail)
		s->tail->next = h;
	else
		s->head = h;
	s->tail = h;
	s->n++;
	s->bytes += len;
	if (s->n > CSI_HOLD_MAX || s->bytes > CSI_HOLD_BYTES)
		release(c, s);
	return 1;
}

/* <inactive/> or <active/> (name): 0, or -1 neither. */
static int csi_set(struct conn *c, const char *name)
{
	struct csi *s = csi_of(c);

	if (!strcmp(name, "inactive")) {
		s->inactive = 1;
		conn_set_holding(c, 1);
	} else if (!strcmp(name, "active")) {
		s->inactive = 0;
		conn_set_holding(c, 0);
		release(c, s);
	} else {
		return -1;
	}
	return 0;
}

static void csi_element(struct conn *c, struct xml_node *el)
{
	if (csi_set(c, el->name) == -1)
		conn_stream_error(c, "unsupported-stanza-type", el->name);
}

/* Bind2 (XEP-0386): the session starts <inactive/> (or <active/>). */
static void csi_bind2(struct conn *c, const struct xml_node *el, struct xml_node *bound)
{
	(void)bound;
	(void)csi_set(c, el->name);      /* anything else: nothing to do */
}

/* Offered with bind (XEP-0352 3). */
static void csi_features(struct conn *c, struct xml_node *f)
{
	if (conn_phase(c) == PHASE_BIND)
		xml_new_child(f, NS_CSI, "csi");
}

/* The connection ends: held messages go back to the user (its other
 * resources, offline storage, or this session's inbox if it goes on). */
static void csi_leaving(struct conn *c)
{
	struct csi *s = csi_of(c);
	while (s->head) {
		if (s->head->key[0] == 'm')
			conn_reroute(c, s->head->xml, s->head->len);
		drop(s, &s->head);
	}
}

static void csi_free(void *slot)
{
	struct csi *s = slot;
	while (s->head)
		drop(s, &s->head);
}

const struct module mod_csi = {
	.name = "csi",
	.phases = PHASE_SESSION,
	.toplevel_ns = NS_CSI,
	.features = csi_features,
	.element = csi_element,
	.bind2_var = NS_CSI,
	.bind2 = csi_bind2,
	.hold = csi_hold,
	.leaving = csi_leaving,
	.free_slot = csi_free,
};
