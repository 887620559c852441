/*
 * rosteriq.c - the roster as a client sees it (RFC 6121 2): get with
 * versioning (XEP-0237), set, remove, and pushes to every interested
 * resource of the user, on whichever host it is connected.
 */
#include "modules.h"
#include "stream.h"
#include "roster.h"
#include "route.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROSTER_MAX_GROUPS   64
#define ROSTER_MAX_NAME     1024

static unsigned long push_seq;

void rosteriq_push(struct conn *c, const char *bare, const char *item, const char *ver)
{
	if (route_push(c->store, bare, item, ver) == -1)
		log_msg(LOG_ERR, "roster push: %s", c->store->err);
}

void rosteriq_deliver_push(struct conn *c, const char *item, size_t len, const char *ver)
{
	if (!c->roster_requested)
		return;
	xbuf_addf(&c->out, "<iq type='set' id='push%lu' to='", ++push_seq);
	xbuf_add_esc(&c->out, c->full, strlen(c->full));
	xbuf_adds(&c->out, "'><query xmlns='" NS_ROSTER "' ver='");
	xbuf_add_esc(&c->out, ver, strlen(ver));
	xbuf_adds(&c->out, "'>");
	xbuf_add(&c->out, item, len);
	xbuf_adds(&c->out, "</query></iq>");
}

struct items {
	struct xbuf *out;
};

static int add_item(const char *contact, const char *item, void *arg)
{
	(void)contact;
	xbuf_adds(((struct items *)arg)->out, item);
	return 0;
}

static void roster_get(struct conn *c, struct xml_node *iq, struct xml_node *q)
{
	char ver[ROSTER_VER_MAX];
	const char *want = xml_get(q, "ver");
	struct xbuf body = { 0 };
	struct items it = { &body };
	struct xml_node *r;

	c->roster_requested = 1;
	if (roster_each(c->store, c->bare, ver, sizeof ver, add_item, &it) == -1) {
		xbuf_free(&body);
		stanza_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	/* XEP-0237: the client's copy is current: an empty result. */
	if (want && !strcmp(want, ver)) {
		xbuf_free(&body);
		iq_result(c, iq, NULL);
		return;
	}
	r = xml_new(NS_ROSTER, "query");
	xml_set(r, "ver", ver);
	if (body.len)
		xml_add_raw(r, body.p, body.len);
	iq_result(c, iq, r);
	xbuf_free(&body);
}

/* The stored body of an item: " jid='..' name='..'><group>..</group></item>".
 * Returns -1 (after answering the error) if the item is not acceptable. */
static int item_body(struct conn *c, struct xml_node *iq, struct xml_node *item,
    const char *contact, struct xbuf *b)
{
	const char *name = xml_get(item, "name");
	const char *groups[ROSTER_MAX_GROUPS];
	struct xml_node *g;
	int ng = 0, i;

	if (name && strlen(name) > ROSTER_MAX_NAME) {
		stanza_error(c, iq, "modify", "not-acceptable", "name too long");
		return -1;
	}
	for (g = item->children; g; g = g->next) {
		const char *t;
		if (!g->name || strcmp(g->name, "group"))
			continue;
		t = xml_text(g);
		if (!*t || strlen(t) > ROSTER_MAX_NAME || ng == ROSTER_MAX_GROUPS) {
			stanza_error(c, iq, "modify", "not-acceptable", "bad group");
			return -1;
		}
		for (i = 0; i < ng; i++)
			if (!strcmp(groups[i], t)) {
				stanza_error(c, iq, "modify", "bad-request", "duplicate group");
				return -1;
			}
		groups[ng++] = t;
	}
	xbuf_adds(b, " jid='");
	xbuf_add_esc(b, contact, strlen(contact));
	xbuf_adds(b, "'");
	if (name && *name) {
		xbuf_adds(b, " name='");
		xbuf_add_esc(b, name, strlen(name));
		xbuf_adds(b, "'");
	}
	if (!ng) {
		xbuf_adds(b, "/>");
		return 0;
	}
	xbuf_adds(b, ">");
	for (i = 0; i < ng; i++) {
		xbuf_adds(b, "<group>");
		xbuf_add_esc(b, groups[i], strlen(groups[i]));
		xbuf_adds(b, "</group>");
	}
	xbuf_adds(b, "</item>");
	return 0;
}

/* RFC 6121 2.5.2: removing a contact cancels both directions. */
static void roster_remove_contact(struct conn *c, struct xml_node *iq, const char *contact)
{
	char ver[ROSTER_VER_MAX], push[JID_MAX + 64];
	char *old = NULL;
	struct xbuf e = { 0 };
	enum roster_sub sub;

	if (roster_remove(c->store, c->bare, contact, &old, ver, sizeof ver) < 0) {
		stanza_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	if (!old) {
		stanza_error(c, iq, "cancel", "item-not-found", NULL);
		return;
	}
	sub = roster_item_sub(old);
	iq_result(c, iq, NULL);
	xbuf_add_esc(&e, contact, strlen(contact));
	snprintf(push, sizeof push, "<item jid='%s' subscription='remove'/>", e.p);
	rosteriq_push(c, c->bare, push, ver);
	if (SUB_HAS_TO(sub) || roster_item_ask(old))
		presence_subscription(c, contact, "unsubscribe", NULL);
	if (SUB_HAS_FROM(sub))
		presence_subscription(c, contact, "unsubscribed", NULL);
	xbuf_free(&e);
	free(old);
}

static void roster_set_item(struct conn *c, struct xml_node *iq, struct xml_node *q)
{
	struct xml_node *item = NULL, *ch;
	const char *jid, *sub;
	struct jid j;
	char contact[JID_MAX], ver[ROSTER_VER_MAX], *stored = NULL;
	struct xbuf body = { 0 };
	int n = 0;

	for (ch = q->children; ch; ch = ch->next)
		if (ch->name) {
			n++;
			item = ch;
		}
	if (n != 1 || strcmp(item->name, "item") || !(jid = xml_get(item, "jid"))) {
		stanza_error(c, iq, "modify", "bad-request", "exactly one item with a jid");
		return;
	}
	if (jid_parse(jid, &j) == -1 || j.resource[0]) {
		stanza_error(c, iq, "modify", "jid-malformed", NULL);
		return;
	}
	jid_bare(&j, contact, sizeof contact);
	sub = xml_get(item, "subscription");
	if (sub && !strcmp(sub, "remove")) {
		roster_remove_contact(c, iq, contact);
		return;
	}
	/* Any other subscription or ask value from a client is ignored: the
	 * server owns the subscription state (RFC 6121 2.1.2.5, 2.1.5). */
	if (item_body(c, iq, item, contact, &body) == -1)
		goto out;
	if (roster_set(c->store, c->bare, contact, body.p, &stored, ver, sizeof ver) < 0) {
		stanza_error(c, iq, "wait", "internal-server-error", NULL);
		goto out;
	}
	iq_result(c, iq, NULL);
	rosteriq_push(c, c->bare, stored, ver);
out:
	free(stored);
	xbuf_free(&body);
}

void rosteriq_handle(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	const char *type = xml_get(iq, "type");

	/* deliver.c sends only IQs to the user's own account here. */
	if (!strcmp(type, "get"))
		roster_get(c, iq, q);
	else if (!strcmp(type, "set"))
		roster_set_item(c, iq, q);
}
