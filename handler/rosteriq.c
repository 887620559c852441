/*
 * rosteriq.c - the roster as a client sees it (RFC 6121 2): get with
 * versioning (XEP-0237), set, remove, and pushes to every interested
 * resource of the user, on whichever host it is connected.
 */
#include "modules.h"
#include "conn.h"
#include "jid.h"
#include "roster.h"
#include "route.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROSTER_MAX_GROUPS   64
#define ROSTER_MAX_NAME     1024

/* The module's state for one session (its slot). */
struct roster_state {
	int requested;               /* roster pushes go to this session */
	unsigned long push_seq;      /* ids of our pushes */
};

static struct roster_state *roster_of(struct conn *c)
{
	return conn_slot(c, &mod_roster, sizeof(struct roster_state));
}

void rosteriq_push(struct conn *c, const char *bare, const char *item, const char *ver)
{
	if (route_push(conn_store(c), bare, item, ver) == -1)
		log_msg(LOG_ERR, "roster push: %s", conn_store(c)->err);
}

/* A resumed session (XEP-0198) gets roster pushes: the request that
 * asked for them was on the connection it had before, and is not kept. */
static void roster_resumed(struct conn *c)
{
	roster_of(c)->requested = 1;
}

/* A push that arrived on our bare channel, written to the client if it
 * asked for the roster (RFC 6121 2.1.6). */
static enum mod_ret roster_outbound(struct conn *c, const struct route_msg *m)
{
	struct roster_state *rs;
	struct xbuf b = { 0 };

	if (m->kind != ROUTE_PUSH)
		return MOD_PASS;
	rs = roster_of(c);
	if (!rs->requested)
		return MOD_HANDLED;
	xbuf_addf(&b, "<iq type='set' id='push%lu' to='", ++rs->push_seq);
	xbuf_add_esc(&b, conn_full(c), strlen(conn_full(c)));
	xbuf_adds(&b, "'><query xmlns='" NS_ROSTER "' ver='");
	xbuf_add_esc(&b, m->ver, strlen(m->ver));
	xbuf_adds(&b, "'>");
	xbuf_add(&b, m->body, m->body_len);
	xbuf_adds(&b, "</query></iq>");
	conn_send_raw(c, b.p, b.len);
	xbuf_free(&b);
	return MOD_HANDLED;
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

	roster_of(c)->requested = 1;
	if (roster_each(conn_store(c), conn_bare(c), ver, sizeof ver, add_item, &it) == -1) {
		xbuf_free(&body);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	/* XEP-0237: the client's copy is current: an empty result. */
	if (want && !strcmp(want, ver)) {
		xbuf_free(&body);
		conn_iq_result(c, iq, NULL);
		return;
	}
	r = xml_new(NS_ROSTER, "query");
	xml_set(r, "ver", ver);
	if (body.len)
		xml_add_raw(r, body.p, body.len);
	conn_iq_result(c, iq, r);
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
		conn_error(c, iq, "modify", "not-acceptable", "name too long");
		return -1;
	}
	for (g = item->children; g; g = g->next) {
		const char *t;
		if (!g->name || strcmp(g->name, "group"))
			continue;
		t = xml_text(g);
		if (!*t || strlen(t) > ROSTER_MAX_NAME || ng == ROSTER_MAX_GROUPS) {
			conn_error(c, iq, "modify", "not-acceptable", "bad group");
			return -1;
		}
		for (i = 0; i < ng; i++)
			if (!strcmp(groups[i], t)) {
				conn_error(c, iq, "modify", "bad-request", "duplicate group");
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

	if (roster_remove(conn_store(c), conn_bare(c), contact, &old, ver, sizeof ver) < 0) {
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	if (!old) {
		conn_error(c, iq, "cancel", "item-not-found", NULL);
		return;
	}
	sub = roster_item_sub(old);
	conn_iq_result(c, iq, NULL);
	xbuf_add_esc(&e, contact, strlen(contact));
	snprintf(push, sizeof push, "<item jid='%s' subscription='remove'/>", e.p);
	rosteriq_push(c, conn_bare(c), push, ver);
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
		conn_error(c, iq, "modify", "bad-request", "exactly one item with a jid");
		return;
	}
	if (jid_parse(jid, &j) == -1 || j.resource[0]) {
		conn_error(c, iq, "modify", "jid-malformed", NULL);
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
	if (roster_set(conn_store(c), conn_bare(c), contact, body.p, &stored, ver, sizeof ver) < 0) {
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		goto out;
	}
	conn_iq_result(c, iq, NULL);
	rosteriq_push(c, conn_bare(c), stored, ver);
out:
	free(stored);
	xbuf_free(&body);
}

static void roster_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	const char *type = xml_get(iq, "type");

	/* The roster is the account's (RFC 6121 2.1.3): not the server's. */
	if (!conn_to_account(c, iq)) {
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
		return;
	}
	if (!strcmp(type, "get"))
		roster_get(c, iq, q);
	else
		roster_set_item(c, iq, q);
}

static const char *const roster_ns[] = { NS_ROSTER, NULL };

const struct module mod_roster = {
	.name = "roster",
	.phases = PHASE_SESSION,
	.iq_ns = roster_ns,
	.disco = roster_ns,
	.iq = roster_iq,
	.outbound = roster_outbound,
	.resumed = roster_resumed,
};
