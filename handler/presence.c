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
#include "conn.h"
#include "account.h"
#include "roster.h"
#include "route.h"
#include "session.h"
#include "config.h"
#include "jid.h"
#include "log.h"
#include "strvec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRESENCE_MAX_DIRECTED 64     /* directed-presence targets remembered */

/* The module's state for one session (its slot). */
struct presence_state {
	int available;               /* initial presence sent, not unavailable */
	int priority;
	char *last_presence;         /* what we broadcast last, while available */
	struct xbuf directed;        /* JIDs sent directed presence, '\n'-separated */
};

static struct presence_state *presence_of(struct conn *c)
{
	return conn_slot(c, &mod_presence, sizeof(struct presence_state));
}

struct collect {
	struct strvec *from;    /* contacts with from/both: they see our presence */
	struct strvec *to;      /* contacts with to/both: we see theirs */
};

static int collect_contact(const char *contact, const char *item, void *arg)
{
	struct collect *col = arg;
	enum roster_sub s = roster_item_sub(item);
	if (col->from && SUB_HAS_FROM(s))
		strvec_add(col->from, contact);
	if (col->to && SUB_HAS_TO(s))
		strvec_add(col->to, contact);
	return 0;
}

int presence_contacts(struct store *st, const char *bare, struct strvec *from,
    struct strvec *to)
{
	struct collect col = { from, to };
	if (roster_each(st, bare, NULL, 0, collect_contact, &col) < 0)
		return -1;
	if (from)
		strvec_add(from, bare);
	if (to)
		strvec_add(to, bare);
	return 0;
}

/* XEP-0191 3.3: no presence goes to blocked contacts, none of theirs is
 * shown. */
void presence_unblocked(struct conn *c, struct strvec *v)
{
	size_t i, k;
	for (i = k = 0; i < v->n; i++) {
		if (strcmp(v->v[i], conn_bare(c)) && blocking_blocks(c, v->v[i]))
			free(v->v[i]);
		else
			v->v[k++] = v->v[i];
	}
	v->n = k;
}

/* Publish a presence stanza to every contact allowed to see bare's
 * presence (from; NULL: read from the roster) and to bare's own
 * resources: one round trip; contacts of other domains get it through
 * federation, addressed to each. */
static void broadcast(struct conn *c, const char *bare, const char *xml,
    const struct strvec *from)
{
	struct store *st = conn_store(c);
	struct strvec l = { 0 }, local = { 0 };
	const char **payloads;
	size_t *lens, len;
	char *env;
	int i;

	if (!from) {
		if (presence_contacts(st, bare, &l, NULL) == -1) {
			log_msg(LOG_ERR, "presence broadcast: %s", st->err);
			strvec_free(&l);
			return;
		}
		from = &l;
	}
	federation_queue_each(st, conn_cfg(c), from, xml);
	for (i = 0; i < (int)from->n; i++)
		if (!federation_remote(conn_cfg(c), from->v[i]))
			strvec_add(&local, from->v[i]);
	from = &local;
	env = route_envelope("presence", xml, &len);
	payloads = xcalloc(from->n, sizeof *payloads);
	lens = xcalloc(from->n, sizeof *lens);
	for (i = 0; i < (int)from->n; i++) {
		payloads[i] = env;
		lens[i] = len;
	}
	if (route_fanout(st, (const char *const *)from->v, (int)from->n, payloads, lens, NULL) == -1)
		log_msg(LOG_ERR, "presence broadcast: %s", st->err);
	free(payloads);
	free(lens);
	free(env);
	strvec_free(&l);
	strvec_free(&local);
}

/* Publish one envelope to one user's bare channel; to a user of another
 * domain, the stanza goes through federation, addressed to it. */
static void publish_to(struct conn *c, const char *bare, const char *header, const char *xml)
{
	size_t len;
	char *env;
	const char *bares[1] = { bare };

	if (federation_remote(conn_cfg(c), bare)) {
		federation_queue_xml(conn_store(c), conn_cfg(c), bare, xml);
		return;
	}
	env = route_envelope(header, xml, &len);
	route_fanout(conn_store(c), bares, 1, (const char *const *)&env, &len, NULL);
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

/* Another handler's session was reaped: its contacts learn it is gone. */
static void presence_reaped(struct conn *c, const char *bare, const char *resource,
    const char *presence)
{
	char full[JID_MAX + JID_MAX_PART], *u;
	if (!presence)
		return;
	snprintf(full, sizeof full, "%s/%s", bare, resource);
	u = unavailable_from(full, NULL);
	broadcast(c, bare, u, NULL);
	free(u);
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
	conn_send_raw(s->c, xml, len);
}

static int send_pending(const char *contact, const char *stanza, void *arg)
{
	struct conn *c = ((struct sendctx *)arg)->c;
	if (!blocking_blocks(c, contact))
		conn_send_raw(c, stanza, strlen(stanza));
	return 0;
}

/* Contacts of other domains: their servers are asked for their presence
 * (RFC 6121 4.3), which comes back through federation. */
static void probe_remote(struct conn *c, const struct strvec *to)
{
	struct xml_node *p = xml_new(NS_CLIENT, "presence");
	char *xml;

	xml_set(p, "type", "probe");
	xml_set(p, "from", conn_bare(c));
	xml = xml_string(p, NULL);
	federation_queue_each(conn_store(c), conn_cfg(c), to, xml);
	free(xml);
	xml_free(p);
}

/* What the user receives at initial presence: its contacts' presence
 * (to: the contacts whose presence it receives), the subscription
 * requests that wait for it, then its offline messages. */
static void initial_presence(struct conn *c, const struct strvec *to)
{
	struct xbuf skip = { 0 };
	struct sendctx sc = { c, NULL };

	/* Our own presence comes back through our bare channel. */
	xbuf_adds(&skip, "from='");
	xbuf_add_esc(&skip, conn_full(c), strlen(conn_full(c)));
	xbuf_adds(&skip, "'");
	sc.skip_from = skip.p;
	if (to->n)
		route_presence_of(conn_store(c), (const char *const *)to->v, (int)to->n, send_raw, &sc);
	probe_remote(c, to);
	sc.skip_from = NULL;
	roster_pending_each(conn_store(c), conn_bare(c), send_pending, &sc);
	conn_offline_start(c);
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
	struct presence_state *ps = presence_of(c);
	char *line, *save = NULL, *u;
	struct xbuf copy = { 0 };
	if (!ps->directed.len)
		return;
	xbuf_add(&copy, ps->directed.p, ps->directed.len);
	for (line = strtok_r(copy.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct jid j;
		char bare[JID_MAX];
		if (jid_parse(line, &j) == -1)
			continue;
		jid_bare(&j, bare, sizeof bare);
		u = unavailable_from(conn_full(c), line);
		publish_to(c, bare, "presence", u);
		free(u);
	}
	xbuf_free(&copy);
	xbuf_free(&ps->directed);
}

static void broadcast_presence(struct conn *c, struct xml_node *p, int avail)
{
	struct presence_state *ps = presence_of(c);
	int was = ps->available, prio = avail ? priority_of(p) : 0, initial = avail && !was;
	struct strvec from = { 0 }, to = { 0 };
	char *xml;

	if (!avail && !was)
		return;             /* never announced: nothing to withdraw */
	/* Who gets the broadcast, and at initial presence whose presence the
	 * user gets: one read of the roster (if it fails, the broadcast reads
	 * again and says so). Blocked contacts (XEP-0191) are left out of
	 * both. */
	if (presence_contacts(conn_store(c), conn_bare(c), &from, initial ? &to : NULL) == -1) {
		strvec_free(&from);
		strvec_free(&to);
	}
	presence_unblocked(c, &from);
	presence_unblocked(c, &to);
	xml_unset(p, "to");
	xml_set(p, "from", conn_full(c));
	xml = xml_string(p, NULL);
	if (session_update(conn_store(c), conn_bare(c), conn_resource(c), conn_stream_id(c), prio, avail,
	    avail ? xml : NULL) != SESSION_OURS)
		log_msg(LOG_ERR, "presence update failed: %s", conn_store(c)->err);
	ps->available = avail;
	ps->priority = prio;
	broadcast(c, conn_bare(c), xml, from.n ? &from : NULL);
	free(ps->last_presence);
	ps->last_presence = avail ? xml : NULL;
	if (!avail)
		free(xml);
	if (initial)
		initial_presence(c, &to);
	strvec_free(&from);
	strvec_free(&to);
	if (!avail) {
		conn_offline_stop(c);
		directed_unavailable(c);
	}
}

/* Our session record was registered again (it was reaped while we
 * stalled, or Redis restarted empty): store our presence again. */
static void presence_restored(struct conn *c)
{
	struct presence_state *ps = presence_of(c);
	if (ps->available && ps->last_presence &&
	    session_update(conn_store(c), conn_bare(c), conn_resource(c), conn_stream_id(c),
	    ps->priority, 1, ps->last_presence) != SESSION_OURS)
		log_msg(LOG_ERR, "presence restore failed: %s", conn_store(c)->err);
}

struct refresh {
	struct sendctx sc;
	struct strvec seen;      /* bare JIDs whose presence was sent */
};

static void refresh_one(const char *xml, size_t len, void *arg)
{
	struct refresh *rf = arg;
	struct xml_node *p = xml_parse_string(xml, len);
	const char *from = p ? xml_get(p, "from") : NULL;
	struct jid j;
	char bare[JID_MAX];

	if (from && jid_parse(from, &j) == 0) {
		jid_bare(&j, bare, sizeof bare);
		strvec_add(&rf->seen, bare);
	}
	xml_free(p);
	send_raw(xml, len, &rf->sc);
}

/* Presence broadcasts are not queued for a detached session: after a
 * resumption the client gets its contacts' presence as it is now, and
 * an unavailable presence from each contact with none, so what it shows
 * is true again. */
static void refresh_presence(struct conn *c)
{
	struct strvec to = { 0 };
	struct refresh rf = { { c, NULL }, { 0 } };
	struct xbuf skip = { 0 };
	size_t i, k;
	char *u;

	if (presence_contacts(conn_store(c), conn_bare(c), NULL, &to) == -1) {
		log_msg(LOG_ERR, "presence after resumption: %s", conn_store(c)->err);
		return;
	}
	presence_unblocked(c, &to);
	xbuf_adds(&skip, "from='");
	xbuf_add_esc(&skip, conn_full(c), strlen(conn_full(c)));
	xbuf_adds(&skip, "'");
	rf.sc.skip_from = skip.p;
	route_presence_of(conn_store(c), (const char *const *)to.v, (int)to.n, refresh_one, &rf);
	for (i = 0; i < to.n; i++) {
		if (!strcmp(to.v[i], conn_bare(c)))
			continue;
		for (k = 0; k < rf.seen.n && strcmp(rf.seen.v[k], to.v[i]); k++)
			;
		if (k < rf.seen.n)
			continue;
		u = unavailable_from(to.v[i], conn_full(c));
		conn_send_raw(c, u, strlen(u));
		free(u);
	}
	strvec_free(&rf.seen);
	strvec_free(&to);
	xbuf_free(&skip);
}

/* The session was resumed here (XEP-0198): its presence is what its
 * record and the presence hash say. Directed presences are not kept in
 * Redis: those contacts do not get our unavailable presence at the end. */
static void presence_resumed(struct conn *c)
{
	struct presence_state *ps = presence_of(c);
	struct session_info si;
	char *pres = NULL;

	if (session_get(conn_store(c), conn_bare(c), conn_resource(c), &si, &pres) != SESSION_OURS) {
		log_msg(LOG_ERR, "presence after resumption: %s", conn_store(c)->err);
		return;
	}
	free(ps->last_presence);
	ps->available = si.avail && pres;
	ps->priority = si.prio;
	ps->last_presence = ps->available ? pres : NULL;
	if (!ps->available)
		free(pres);
	else if (conn_resume_refresh(c))
		refresh_presence(c);
}

/* The session ends: unavailable to everyone who saw it available. */
static void presence_end(struct conn *c)
{
	struct xml_node *p;
	if (!presence_of(c)->available)
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
	xml_set(p, "from", conn_full(c));
	xml = xml_string(p, NULL);
	if (federation_remote(conn_cfg(c), bare)) {
		federation_send(conn_store(c), conn_cfg(c), p);
	} else if (to->resource[0]) {
		char chan[STORE_MAX_KEY];
		size_t len;
		char *env = route_envelope("stanza", xml, &len);
		store_full_channel(conn_store(c), bare, to->resource, chan, sizeof chan);
		route_publish(conn_store(c), chan, env, len);
		free(env);
	} else {
		publish_to(c, bare, "presence", xml);
	}
	free(xml);
	if (!type && presence_of(c)->directed.len < PRESENCE_MAX_DIRECTED * JID_MAX_PART) {
		char full[JID_MAX];
		jid_full(to, full, sizeof full);
		xbuf_adds(&presence_of(c)->directed, full);
		xbuf_adds(&presence_of(c)->directed, "\n");
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
	if (roster_subscription(conn_store(c), owner, from, 0, type, attr.p ? attr.p : "", stanza,
	    &a, &item, ver, sizeof ver) < 0) {
		log_msg(LOG_ERR, "subscription: %s", conn_store(c)->err);
		a = RA_DROP;
	}
	if (item)
		rosteriq_push(c, owner, item, ver);
	if (a == RA_DELIVER)
		publish_to(c, owner, "presence", stanza);
	free(item);
	xbuf_free(&attr);
	return a;
}

struct unavail_ctx {
	struct conn *c;
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
		publish_to(u->c, u->to, "presence", s);
		free(s);
	}
	xml_free(p);
}

/* Each available resource of one user sends its presence to `to`. */
static void tell_presence(const char *xml, size_t len, void *arg)
{
	struct unavail_ctx *u = arg;
	char *s = xstrndup(xml, len);
	publish_to(u->c, u->to, "presence", s);
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
	stanza = sub_stanza(conn_bare(c), contact, type, orig);
	if (roster_subscription(conn_store(c), conn_bare(c), contact, 1, type, attr.p ? attr.p : "",
	    stanza, &a, &item, ver, sizeof ver) < 0)
		log_msg(LOG_ERR, "subscription: %s", conn_store(c)->err);
	if (item)
		rosteriq_push(c, conn_bare(c), item, ver);
	free(item);
	xbuf_free(&attr);
	if (a != RA_ROUTE)
		goto out;
	if (federation_remote(conn_cfg(c), contact)) {
		/* The contact's side is its server's (RFC 6121 3.1.3). */
		federation_queue_xml(conn_store(c), conn_cfg(c), contact, stanza);
		a2 = RA_DROP;
		goto told;
	}
	exists = account_get(conn_store(c), contact, &acct) == ACCOUNT_FOUND;
	if (!exists) {
		/* RFC 6121 3.1.3: no such contact: it "answers" unsubscribed. */
		if (!strcmp(type, "subscribe")) {
			char *reply = sub_stanza(contact, conn_bare(c), "unsubscribed", NULL);
			sub_inbound(c, conn_bare(c), contact, "unsubscribed", reply);
			free(reply);
		}
		goto out;
	}
	a2 = sub_inbound(c, contact, conn_bare(c), type, stanza);
	if (a2 == RA_AUTOREPLY) {
		char *reply = sub_stanza(contact, conn_bare(c), "subscribed", NULL);
		sub_inbound(c, conn_bare(c), contact, "subscribed", reply);
		free(reply);
		/* and the contact's presence, now that we may see it */
		u.c = c;
		u.to = conn_bare(c);
		who[0] = contact;
		route_presence_of(conn_store(c), who, 1, tell_presence, &u);
	}
told:
	u.c = c;
	if (!strcmp(type, "subscribed") && (a2 == RA_DELIVER ||
	    federation_remote(conn_cfg(c), contact))) {
		/* RFC 6121 3.1.5: the contact now sees the user's presence. */
		u.to = contact;
		who[0] = conn_bare(c);
		route_presence_of(conn_store(c), who, 1, tell_presence, &u);
	} else if (!strcmp(type, "unsubscribed")) {
		u.to = contact;                        /* 3.2.2 */
		who[0] = conn_bare(c);
		route_presence_of(conn_store(c), who, 1, tell_unavailable, &u);
	} else if (!strcmp(type, "unsubscribe")) {
		u.to = conn_bare(c);                        /* 3.3.3 */
		who[0] = contact;
		route_presence_of(conn_store(c), who, 1, tell_unavailable, &u);
	}
out:
	free(stanza);
}

/* ---- blocking (XEP-0191) ---- */

/* Does blocklist item (a normalised JID) cover roster contact (a bare
 * JID)? A bare JID covers itself, a domain its users; a full JID covers
 * no contact's presence (only that resource's stanzas: route_stanza.lua
 * and blocking.c). */
static int item_covers(const char *item, const char *contact)
{
	const char *at = strchr(contact, '@');
	if (strchr(item, '/'))
		return 0;
	if (!strcmp(item, contact))
		return 1;
	return !strchr(item, '@') && at && !strcmp(at + 1, item);
}

/* Is contact covered by one of items, and, after an unblock, by none the
 * list still holds? Never the user itself. */
static int blocked_change_covers(struct conn *c, const struct strvec *items, int blocked,
    const char *contact)
{
	size_t k;
	if (!strcmp(contact, conn_bare(c)))
		return 0;
	for (k = 0; k < items->n && !item_covers(items->v[k], contact); k++)
		;
	return k < items->n && (blocked || !blocking_blocks(c, contact));
}

void presence_blocked(struct conn *c, const struct strvec *items, int blocked)
{
	struct strvec from = { 0 }, to = { 0 };
	struct unavail_ctx u = { c, NULL };
	const char *who[1];
	size_t i;

	if (presence_contacts(conn_store(c), conn_bare(c), &from, &to) == -1) {
		log_msg(LOG_ERR, "presence after blocking: %s", conn_store(c)->err);
		goto out;
	}
	/* Contacts that see the user's presence: unavailable, or what each
	 * resource shows now. */
	who[0] = conn_bare(c);
	for (i = 0; i < from.n; i++) {
		if (!blocked_change_covers(c, items, blocked, from.v[i]))
			continue;
		u.to = from.v[i];
		route_presence_of(conn_store(c), who, 1, blocked ? tell_unavailable : tell_presence,
		    &u);
	}
	/* Unblocked: the user sees the contacts' presence again (what a
	 * probe would bring, 3.4). */
	u.to = conn_bare(c);
	for (i = 0; !blocked && i < to.n; i++) {
		if (!blocked_change_covers(c, items, blocked, to.v[i]))
			continue;
		who[0] = to.v[i];
		route_presence_of(conn_store(c), who, 1, tell_presence, &u);
	}
out:
	strvec_free(&from);
	strvec_free(&to);
}

/* ---- dispatch ---- */

/* A served domain's JID, or one federation may reach (a remote
 * domain's, a component's). */
static int reachable(struct conn *c, const struct jid *j)
{
	return config_serves(conn_cfg(c), j->domain) || config_s2s_allowed(conn_cfg(c), j->domain) ||
	    config_component(conn_cfg(c), j->domain);
}

static void presence_in(struct conn *c, struct xml_node *p)
{
	const char *type = xml_get(p, "type"), *to = xml_get(p, "to");
	struct jid j;
	char bare[JID_MAX];

	if (to && (jid_parse(to, &j) == -1)) {
		conn_error(c, p, "modify", "jid-malformed", NULL);
		return;
	}
	if (!type || !strcmp(type, "unavailable")) {
		if (!to || !strcmp(to, conn_bare(c)))
			broadcast_presence(c, p, !type);
		else if (!reachable(c, &j))
			conn_error(c, p, "cancel", "remote-server-not-found", NULL);
		else
			directed(c, p, &j);
		return;
	}
	if (!strcmp(type, "subscribe") || !strcmp(type, "subscribed") ||
	    !strcmp(type, "unsubscribe") || !strcmp(type, "unsubscribed")) {
		if (!to) {
			conn_error(c, p, "modify", "jid-malformed", "subscriptions need a 'to'");
			return;
		}
		if (!reachable(c, &j)) {
			conn_error(c, p, "cancel", "remote-server-not-found", NULL);
			return;
		}
		jid_bare(&j, bare, sizeof bare);
		if (!strcmp(bare, conn_bare(c)))
			return;          /* to oneself: nothing to change */
		presence_subscription(c, bare, type, p);
		return;
	}
	if (!strcmp(type, "probe"))
		return;              /* RFC 6121 4.3: probes are the server's business */
	if (!strcmp(type, "error")) {
		if (to && reachable(c, &j))
			directed(c, p, &j);
		return;
	}
	conn_error(c, p, "modify", "bad-request", "unknown presence type");
}

static enum mod_ret presence_inbound(struct conn *c, struct xml_node *st)
{
	if (strcmp(st->name, "presence"))
		return MOD_PASS;
	presence_in(c, st);
	return MOD_HANDLED;
}

int presence_available(struct conn *c)
{
	return presence_of(c)->available;
}

/* Presence from others reaches the client only while it is available
 * (RFC 6121 4.4.2). */
static enum mod_ret presence_outbound(struct conn *c, const struct route_msg *m)
{
	if (m->kind != ROUTE_PRESENCE)
		return MOD_PASS;
	if (presence_of(c)->available)
		conn_send_deferrable(c, m->body, m->body_len);
	return MOD_HANDLED;
}

static void presence_free(void *slot)
{
	struct presence_state *ps = slot;
	free(ps->last_presence);
	xbuf_free(&ps->directed);
}

const struct module mod_presence = {
	.name = "presence",
	.inbound = presence_inbound,
	.outbound = presence_outbound,
	.restored = presence_restored,
	.resumed = presence_resumed,
	.ended = presence_end,
	.reaped = presence_reaped,
	.free_slot = presence_free,
};
