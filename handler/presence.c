/*
 * presence.c - presence and subscriptions (RFC 6121 3 and 4).
 *
 * Presence a user broadcasts is stored in Redis (the presence hash) and
 * published once per interested contact in one pipelined round trip; a
 * user logging in reads its contacts' presence from Redis in one script
 * call, so no probes travel between handlers. The sender's handler runs
 * both halves of a subscription change: the user's side and the
 * contact's side, each one atomic script on that user's keys.
 */
#include "modules.h"
#include "stream.h"
#include "account.h"
#include "roster.h"
#include "route.h"
#include "session.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRESENCE_MAX_DIRECTED 64     /* directed-presence targets remembered */

struct jidlist {
	char **v;
	int n, cap;
};

static void jl_add(struct jidlist *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
	}
	l->v[l->n++] = xstrdup(s);
}

static void jl_free(struct jidlist *l)
{
	int i;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

struct collect {
	struct jidlist *l;
	int want_from;          /* 1: contacts with from/both, 0: to/both */
};

static int collect_contact(const char *contact, const char *item, void *arg)
{
	struct collect *c = arg;
	enum roster_sub s = roster_item_sub(item);
	if (c->want_from ? SUB_HAS_FROM(s) : SUB_HAS_TO(s))
		jl_add(c->l, contact);
	return 0;
}

/* Contacts of bare that may see its presence (want_from) or whose presence
 * it receives; the user's own bare JID is added last. */
static int contacts(struct store *st, const char *bare, int want_from, struct jidlist *l)
{
	struct collect c = { l, want_from };
	if (roster_each(st, bare, NULL, 0, collect_contact, &c) == -1)
		return -1;
	jl_add(l, bare);
	return 0;
}

/* Publish a presence stanza to every contact allowed to see bare's
 * presence and to bare's own resources: one round trip. */
static void broadcast(struct store *st, const char *bare, const char *xml)
{
	struct jidlist l = { 0 };
	const char **payloads;
	size_t *lens, len;
	char *env;
	int i;

	if (contacts(st, bare, 1, &l) == -1) {
		log_msg(LOG_ERR, "presence broadcast: %s", st->err);
		jl_free(&l);
		return;
	}
	env = route_envelope("presence", xml, &len);
	payloads = xcalloc((size_t)l.n, sizeof *payloads);
	lens = xcalloc((size_t)l.n, sizeof *lens);
	for (i = 0; i < l.n; i++) {
		payloads[i] = env;
		lens[i] = len;
	}
	if (route_fanout(st, (const char *const *)l.v, l.n, payloads, lens, NULL) == -1)
		log_msg(LOG_ERR, "presence broadcast: %s", st->err);
	free(payloads);
	free(lens);
	free(env);
	jl_free(&l);
}

/* Publish one envelope to one user's bare channel. */
static void publish_to(struct store *st, const char *bare, const char *header, const char *xml)
{
	size_t len;
	char *env = route_envelope(header, xml, &len);
	const char *bares[1] = { bare };
	route_fanout(st, bares, 1, (const char *const *)&env, &len, NULL);
	free(env);
}

static char *unavailable_from(const char *from, const char *to)
{
	struct xml_node *p = xml_new(NS_CLIENT, "presence");
	char *s;
	xml_set(p, "type", "unavailable");
	if (to)
		xml_set(p, "to", to);
	xml_set(p, "from", from);
	s = xml_string(p, NULL);
	xml_free(p);
	return s;
}

void presence_reaped(const char *bare, const char *resource, const char *presence, void *conn)
{
	struct conn *c = conn;
	char full[JID_MAX + JID_MAX_PART], *u;
	snprintf(full, sizeof full, "%s/%s", bare, resource);
	log_msg(LOG_INFO, "reaped dead session %s", full);
	if (presence) {
		u = unavailable_from(full, NULL);
		broadcast(c->store, bare, u);
		free(u);
	}
	conn_drain_inbox(c, bare, resource);
}

/* ---- what the user receives at initial presence ---- */

struct sendctx {
	struct conn *c;
	const char *skip_from;   /* escaped from='..' of our own presence */
};

static void send_raw(const char *xml, size_t len, void *arg)
{
	struct sendctx *s = arg;
	if (s->skip_from && strstr(xml, s->skip_from) && strstr(xml, s->skip_from) < strchr(xml, '>'))
		return;
	xbuf_add(&s->c->out, xml, len);
}

static int send_pending(const char *contact, const char *stanza, void *arg)
{
	(void)contact;
	xbuf_adds(&((struct sendctx *)arg)->c->out, stanza);
	return 0;
}

static void initial_presence(struct conn *c)
{
	struct jidlist l = { 0 };
	struct xbuf skip = { 0 };
	struct sendctx sc = { c, NULL };

	/* Our own presence comes back through our bare channel. */
	xbuf_adds(&skip, "from='");
	xbuf_add_esc(&skip, c->full, strlen(c->full));
	xbuf_adds(&skip, "'");
	sc.skip_from = skip.p;
	if (contacts(c->store, c->bare, 0, &l) == 0)
		route_presence_of(c->store, (const char *const *)l.v, l.n, send_raw, &sc);
	sc.skip_from = NULL;
	roster_pending_each(c->store, c->bare, send_pending, &sc);
	c->offline_more = 1;
	conn_pull(c);
	jl_free(&l);
	xbuf_free(&skip);
}

/* ---- broadcast presence from the client ---- */

static int priority_of(struct xml_node *p)
{
	struct xml_node *pr = xml_child(p, NS_CLIENT, "priority");
	long v;
	char *end;
	if (!pr)
		return 0;
	v = strtol(xml_text(pr), &end, 10);
	if (end == xml_text(pr) || v < -128 || v > 127)
		return 0;
	return (int)v;
}

static void directed_unavailable(struct conn *c)
{
	char *line, *save = NULL, *u;
	struct xbuf copy = { 0 };
	if (!c->directed.len)
		return;
	xbuf_add(&copy, c->directed.p, c->directed.len);
	for (line = strtok_r(copy.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct jid j;
		char bare[JID_MAX];
		if (jid_parse(line, &j) == -1)
			continue;
		jid_bare(&j, bare, sizeof bare);
		u = unavailable_from(c->full, line);
		publish_to(c->store, bare, "presence", u);
		free(u);
	}
	xbuf_free(&copy);
	xbuf_free(&c->directed);
}

static void broadcast_presence(struct conn *c, struct xml_node *p, int avail)
{
	int was = c->available, prio = avail ? priority_of(p) : 0;
	char *xml;

	if (!avail && !was)
		return;             /* never announced: nothing to withdraw */
	xml_unset(p, "to");
	xml_set(p, "from", c->full);
	xml = xml_string(p, NULL);
	if (session_update(c->store, c->bare, c->jid.resource, c->stream_id, prio, avail,
	    avail ? xml : NULL) != SESSION_OURS)
		log_msg(LOG_ERR, "presence update failed: %s", c->store->err);
	c->available = avail;
	c->priority = prio;
	broadcast(c->store, c->bare, xml);
	free(c->last_presence);
	c->last_presence = avail ? xml : NULL;
	if (!avail)
		free(xml);
	if (avail && !was)
		initial_presence(c);
	if (!avail)
		directed_unavailable(c);
}

void presence_refresh(struct conn *c)
{
	if (c->available && c->last_presence &&
	    session_update(c->store, c->bare, c->jid.resource, c->stream_id, c->priority, 1,
	    c->last_presence) != SESSION_OURS)
		log_msg(LOG_ERR, "presence restore failed: %s", c->store->err);
}

void presence_end(struct conn *c)
{
	struct xml_node *p;
	if (!c->available)
		return;
	p = xml_new(NS_CLIENT, "presence");
	xml_set(p, "type", "unavailable");
	broadcast_presence(c, p, 0);
	xml_free(p);
}

/* Directed presence (RFC 6121 4.6): to one JID, remembered so that it
 * gets our unavailable presence when we leave. */
static void directed(struct conn *c, struct xml_node *p, const struct jid *to)
{
	char bare[JID_MAX], *xml;
	const char *type = xml_get(p, "type");

	jid_bare(to, bare, sizeof bare);
	xml_set(p, "from", c->full);
	xml = xml_string(p, NULL);
	if (to->resource[0]) {
		char chan[STORE_MAX_KEY];
		size_t len;
		char *env = route_envelope("stanza", xml, &len);
		store_full_channel(c->store, bare, to->resource, chan, sizeof chan);
		route_publish(c->store, chan, env, len);
		free(env);
	} else {
		publish_to(c->store, bare, "presence", xml);
	}
	free(xml);
	if (!type && c->directed.len < PRESENCE_MAX_DIRECTED * JID_MAX_PART) {
		char full[JID_MAX];
		jid_full(to, full, sizeof full);
		xbuf_adds(&c->directed, full);
		xbuf_adds(&c->directed, "\n");
	}
}

/* ---- subscriptions ---- */

/* A subscription presence: the client's own (its id, status, nick ... are
 * kept, RFC 6121 3.1.3) or a fresh one, stamped with bare JIDs. */
static char *sub_stanza(const char *from, const char *to, const char *type,
    const struct xml_node *orig)
{
	struct xml_node *p = orig ? xml_copy(orig) : xml_new(NS_CLIENT, "presence");
	char *s;
	xml_set(p, "type", type);
	xml_set(p, "to", to);
	xml_set(p, "from", from);
	s = xml_string(p, NULL);
	xml_free(p);
	return s;
}

/* The contact's side of a subscription presence from user: its state
 * machine, its pushes, and delivery to its resources. Returns the action. */
static enum roster_action sub_inbound(struct conn *c, const char *owner, const char *from,
    const char *type, const char *stanza)
{
	enum roster_action a = RA_DROP;
	char ver[ROSTER_VER_MAX], *item = NULL;
	struct xbuf attr = { 0 };

	xbuf_add_esc(&attr, from, strlen(from));
	if (roster_subscription(c->store, owner, from, 0, type, attr.p ? attr.p : "", stanza,
	    &a, &item, ver, sizeof ver) < 0) {
		log_msg(LOG_ERR, "subscription: %s", c->store->err);
		a = RA_DROP;
	}
	if (item)
		rosteriq_push(c, owner, item, ver);
	if (a == RA_DELIVER)
		publish_to(c->store, owner, "presence", stanza);
	free(item);
	xbuf_free(&attr);
	return a;
}

struct unavail_ctx {
	struct store *st;
	const char *to;          /* bare JID to tell */
};

/* Each available resource of one user tells `to` it is unavailable. */
static void tell_unavailable(const char *xml, size_t len, void *arg)
{
	struct unavail_ctx *u = arg;
	struct xml_node *p = xml_parse_string(xml, len);
	const char *from = p ? xml_get(p, "from") : NULL;
	if (from) {
		char *s = unavailable_from(from, u->to);
		publish_to(u->st, u->to, "presence", s);
		free(s);
	}
	xml_free(p);
}

/* Each available resource of one user sends its presence to `to`. */
static void tell_presence(const char *xml, size_t len, void *arg)
{
	struct unavail_ctx *u = arg;
	char *s = xstrndup(xml, len);
	publish_to(u->st, u->to, "presence", s);
	free(s);
}

void presence_subscription(struct conn *c, const char *contact, const char *type,
    const struct xml_node *orig)
{
	enum roster_action a = RA_DROP, a2;
	char ver[ROSTER_VER_MAX], *item = NULL, *stanza;
	struct xbuf attr = { 0 };
	struct account acct;
	struct unavail_ctx u;
	const char *who[1];
	int exists;

	xbuf_add_esc(&attr, contact, strlen(contact));
	stanza = sub_stanza(c->bare, contact, type, orig);
	if (roster_subscription(c->store, c->bare, contact, 1, type, attr.p ? attr.p : "",
	    stanza, &a, &item, ver, sizeof ver) < 0)
		log_msg(LOG_ERR, "subscription: %s", c->store->err);
	if (item)
		rosteriq_push(c, c->bare, item, ver);
	free(item);
	xbuf_free(&attr);
	if (a != RA_ROUTE)
		goto out;
	exists = account_get(c->store, contact, &acct) == ACCOUNT_FOUND;
	if (!exists) {
		/* RFC 6121 3.1.3: no such contact: it "answers" unsubscribed. */
		if (!strcmp(type, "subscribe")) {
			char *reply = sub_stanza(contact, c->bare, "unsubscribed", NULL);
			sub_inbound(c, c->bare, contact, "unsubscribed", reply);
			free(reply);
		}
		goto out;
	}
	a2 = sub_inbound(c, contact, c->bare, type, stanza);
	if (a2 == RA_AUTOREPLY) {
		char *reply = sub_stanza(contact, c->bare, "subscribed", NULL);
		sub_inbound(c, c->bare, contact, "subscribed", reply);
		free(reply);
		/* and the contact's presence, now that we may see it */
		u.st = c->store;
		u.to = c->bare;
		who[0] = contact;
		route_presence_of(c->store, who, 1, tell_presence, &u);
	}
	u.st = c->store;
	if (!strcmp(type, "subscribed") && a2 == RA_DELIVER) {
		/* RFC 6121 3.1.5: the contact now sees the user's presence. */
		u.to = contact;
		who[0] = c->bare;
		route_presence_of(c->store, who, 1, tell_presence, &u);
	} else if (!strcmp(type, "unsubscribed")) {
		u.to = contact;                        /* 3.2.2 */
		who[0] = c->bare;
		route_presence_of(c->store, who, 1, tell_unavailable, &u);
	} else if (!strcmp(type, "unsubscribe")) {
		u.to = c->bare;                        /* 3.3.3 */
		who[0] = contact;
		route_presence_of(c->store, who, 1, tell_unavailable, &u);
	}
out:
	free(stanza);
}

/* ---- dispatch ---- */

void presence_outbound(struct conn *c, struct xml_node *p)
{
	const char *type = xml_get(p, "type"), *to = xml_get(p, "to");
	struct jid j;
	char bare[JID_MAX];

	if (to && (jid_parse(to, &j) == -1)) {
		stanza_error(c, p, "modify", "jid-malformed", NULL);
		return;
	}
	if (!type || !strcmp(type, "unavailable")) {
		if (!to || !strcmp(to, c->bare))
			broadcast_presence(c, p, !type);
		else if (!config_serves(c->cfg, j.domain))
			stanza_error(c, p, "cancel", "remote-server-not-found", NULL);
		else
			directed(c, p, &j);
		return;
	}
	if (!strcmp(type, "subscribe") || !strcmp(type, "subscribed") ||
	    !strcmp(type, "unsubscribe") || !strcmp(type, "unsubscribed")) {
		if (!to) {
			stanza_error(c, p, "modify", "jid-malformed", "subscriptions need a 'to'");
			return;
		}
		if (!config_serves(c->cfg, j.domain)) {
			stanza_error(c, p, "cancel", "remote-server-not-found", NULL);
			return;
		}
		jid_bare(&j, bare, sizeof bare);
		if (!strcmp(bare, c->bare))
			return;          /* to oneself: nothing to change */
		presence_subscription(c, bare, type, p);
		return;
	}
	if (!strcmp(type, "probe"))
		return;              /* RFC 6121 4.3: probes are the server's business */
	if (!strcmp(type, "error")) {
		if (to && config_serves(c->cfg, j.domain))
			directed(c, p, &j);
		return;
	}
	stanza_error(c, p, "modify", "bad-request", "unknown presence type");
}
