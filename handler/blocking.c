/*
 * blocking.c - the blocking command (XEP-0191, urn:xmpp:blocking): the
 * user's list of JIDs it wants no communication with.
 *
 * Contract:
 *  - The list lives in Redis (router/blocking.h); each change is one
 *    script that also publishes it on the user's bare channel (a
 *    "blocking" envelope), so every session of the user, on any host,
 *    hears of it: those that asked for the list (<blocklist/>) get it
 *    as an IQ push (XEP-0191 3.2, 3.4, 3.5).
 *  - Messages and IQs from a blocked JID are kept from the user inside
 *    the routing decision (route_stanza.lua, route.h's route_req.from),
 *    not here: the sender's handler learns the outcome and answers the
 *    sender (service-unavailable, deliver.c).
 *  - This session keeps a copy of the list, fetched on first need and
 *    updated from the envelopes, for what only the user's own handler
 *    can check: a stanza the user sends to a blocked JID is refused with
 *    <not-acceptable/> and <blocked xmlns='urn:xmpp:blocking:errors'/>
 *    (3.3); presence from a blocked JID is dropped on arrival (presence
 *    is state: a copy a moment old does no harm); presence.c sends none
 *    to a blocked contact (blocking_blocks).
 *  - A block sends the contact unavailable presence from the user's
 *    available resources, an unblock the current presence (3.3, 3.4;
 *    presence_blocked in presence.c).
 *  - An item is a JID, normalised: bare, full or a domain. It matches a
 *    sender that is that JID, or whose bare JID or domain it is.
 */
#include "modules.h"
#include "conn.h"
#include "blocking.h"
#include "route.h"
#include "jid.h"
#include "log.h"
#include "strvec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_BLOCKING_ERRORS "urn:xmpp:blocking:errors"

/* The module's state for one session (its slot). */
struct blocking_state {
	int loaded;                  /* list holds the user's blocklist */
	int requested;               /* the client asked for the list: it gets pushes */
	unsigned long push_seq;      /* ids of our pushes */
	struct strvec list;
};

static struct blocking_state *blocking_of(struct conn *c)
{
	return conn_slot(c, &mod_blocking, sizeof(struct blocking_state));
}

/* The list, fetched from Redis on first need; NULL if Redis failed (then
 * nothing counts as blocked, and the next need asks again). */
static struct strvec *list_of(struct conn *c)
{
	struct blocking_state *bs = blocking_of(c);
	if (!bs->loaded) {
		strvec_free(&bs->list);
		if (blocking_list(conn_store(c), conn_bare(c), &bs->list) < 0) {
			log_msg(LOG_ERR, "blocklist: %s", conn_store(c)->err);
			strvec_free(&bs->list);
			return NULL;
		}
		bs->loaded = 1;
	}
	return &bs->list;
}

static int listed(const struct strvec *l, const char *jid)
{
	size_t i;
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], jid))
			return 1;
	return 0;
}

int blocking_blocks(struct conn *c, const char *jid)
{
	struct strvec *l = list_of(c);
	char bare[JID_MAX], full[JID_MAX];
	struct jid *j;
	int hit;

	if (!l || !l->n || !jid)
		return 0;
	j = xmalloc(sizeof *j);
	if (jid_parse(jid, j) == -1) {
		free(j);
		return 0;
	}
	jid_bare(j, bare, sizeof bare);
	jid_full(j, full, sizeof full);
	hit = listed(l, full) || listed(l, bare) || listed(l, j->domain);
	free(j);
	return hit;
}

/* A change (a <block/> or <unblock/> element) applied to the copy, if
 * there is one: applying it twice changes nothing. */
static void apply(struct conn *c, const struct xml_node *q)
{
	struct blocking_state *bs = blocking_of(c);
	const struct xml_node *it;
	int block = !strcmp(q->name, "block");
	struct strvec gone = { 0 };
	size_t i, k;

	if (!bs->loaded)
		return;
	for (it = q->children; it; it = it->next) {
		const char *jid = it->name ? xml_get(it, "jid") : NULL;
		if (!jid)
			continue;
		if (block && !listed(&bs->list, jid))
			strvec_add(&bs->list, jid);
		else if (!block)
			strvec_add(&gone, jid);
	}
	if (block)
		return;
	/* unblock without items: every one goes */
	for (i = k = 0; i < bs->list.n; i++) {
		if (gone.n && !listed(&gone, bs->list.v[i]))
			bs->list.v[k++] = bs->list.v[i];
		else
			free(bs->list.v[i]);
	}
	bs->list.n = k;
	strvec_free(&gone);
}

/* <blocklist/> (XEP-0191 3.1): the list, read from Redis. */
static void send_list(struct conn *c, const struct xml_node *iq)
{
	struct blocking_state *bs = blocking_of(c);
	struct xml_node *q;
	size_t i;

	bs->loaded = 0;
	if (!list_of(c)) {
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	q = xml_new(NS_BLOCKING, "blocklist");
	for (i = 0; i < bs->list.n; i++)
		xml_set(xml_new_child(q, NS_BLOCKING, "item"), "jid", bs->list.v[i]);
	bs->requested = 1;
	conn_iq_result(c, iq, q);
}

/* The items of a <block/> or <unblock/>, normalised, into jids and a
 * fresh element for the push; 0, or -1 after answering the error. */
static int items_of(struct conn *c, const struct xml_node *iq, const struct xml_node *q,
    struct strvec *jids, struct xml_node *push)
{
	const struct xml_node *it;
	struct jid *j = xmalloc(sizeof *j);
	char norm[JID_MAX];
	int rc = 0;

	for (it = q->children; it && rc == 0; it = it->next) {
		const char *jid;
		if (!it->name)
			continue;
		if (strcmp(it->name, "item") || !it->ns || strcmp(it->ns, NS_BLOCKING) ||
		    !(jid = xml_get(it, "jid"))) {
			conn_error(c, iq, "modify", "bad-request", NULL);
			rc = -1;
		} else if (jid_parse(jid, j) == -1) {
			conn_error(c, iq, "modify", "jid-malformed", NULL);   /* 3.2 */
			rc = -1;
		} else if (jids->n == BLOCKLIST_MAX) {
			conn_error(c, iq, "modify", "policy-violation", "too many items");
			rc = -1;
		} else {
			jid_full(j, norm, sizeof norm);
			strvec_add(jids, norm);
			xml_set(xml_new_child(push, NS_BLOCKING, "item"), "jid", norm);
		}
	}
	free(j);
	return rc;
}

/* <block/> and <unblock/> (3.2, 3.4, 3.5). */
static void change(struct conn *c, const struct xml_node *iq, const struct xml_node *q)
{
	int block = !strcmp(q->name, "block"), rc;
	struct xml_node *push = xml_new(NS_BLOCKING, q->name);
	struct strvec jids = { 0 }, changed = { 0 };
	char *xml = NULL;

	if (items_of(c, iq, q, &jids, push) < 0)
		goto out;
	if (block && !jids.n) {
		conn_error(c, iq, "modify", "bad-request", "no items to block");
		goto out;
	}
	xml = xml_string(push, NULL);
	rc = blocking_set(conn_store(c), conn_bare(c), block, (const char *const *)jids.v,
	    (int)jids.n, xml, &changed);
	if (rc < 0) {
		log_msg(LOG_ERR, "blocking: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		goto out;
	}
	if (rc == 1) {
		conn_error(c, iq, "cancel", "policy-violation", "the blocklist is full");
		goto out;
	}
	apply(c, push);
	log_msg(LOG_INFO, "%s %zu JIDs", q->name, changed.n);
	conn_iq_result(c, iq, NULL);
	if (changed.n)
		presence_blocked(c, &changed, block);
out:
	xml_free(push);
	free(xml);
	strvec_free(&jids);
	strvec_free(&changed);
}

static void blocking_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	int get = !strcmp(xml_get(iq, "type"), "get");

	if (get && !strcmp(q->name, "blocklist"))
		send_list(c, iq);
	else if (!get && (!strcmp(q->name, "block") || !strcmp(q->name, "unblock")))
		change(c, iq, q);
	else
		conn_error(c, iq, "modify", "bad-request", NULL);
}

/* A stanza the user sends to a JID it blocks is refused (3.3), unless it
 * is for the user's own account or the server itself. */
static enum mod_ret blocking_inbound(struct conn *c, struct xml_node *st)
{
	const char *to = xml_get(st, "to");
	struct xml_node *err, *e;
	struct jid *j;
	char bare[JID_MAX];
	int own;

	if (!to || !blocking_blocks(c, to))
		return MOD_PASS;
	j = xmalloc(sizeof *j);
	own = 0;
	if (jid_parse(to, j) == 0) {
		jid_bare(j, bare, sizeof bare);
		own = !strcmp(bare, conn_bare(c)) || !strcmp(bare, conn_domain(c));
	}
	free(j);
	if (own)
		return MOD_PASS;
	err = conn_error_new(c, st, "cancel", "not-acceptable", NULL);
	if (err) {
		if ((e = xml_child(err, NS_CLIENT, "error")))
			xml_new_child(e, NS_BLOCKING_ERRORS, "blocked");
		conn_send(c, err);
		xml_free(err);
	}
	return MOD_HANDLED;
}

/* Is the presence in m (xmppd wrote it, 'from' stamped) from a JID the
 * user blocks? Parsed only while the list is not empty. */
static int presence_blocked_from(struct conn *c, const struct route_msg *m)
{
	struct xml_node *p;
	int hit;
	struct strvec *l = list_of(c);

	if (!l || !l->n)
		return 0;
	p = xml_parse_string(m->body, m->body_len);
	hit = p && blocking_blocks(c, xml_get(p, "from"));
	xml_free(p);
	return hit;
}

/* A change of the list (from any session of the user, this one too):
 * the copy follows, and the client gets the push if it asked for the
 * list. Presence from a blocked JID goes no further. */
static enum mod_ret blocking_outbound(struct conn *c, const struct route_msg *m)
{
	struct blocking_state *bs;
	struct xml_node *q;
	struct xbuf b = { 0 };

	if (m->kind == ROUTE_PRESENCE)
		return presence_blocked_from(c, m) ? MOD_HANDLED : MOD_PASS;
	if (m->kind != ROUTE_BLOCKING)
		return MOD_PASS;
	bs = blocking_of(c);
	q = xml_parse_string(m->body, m->body_len);
	if (!q || !q->ns || strcmp(q->ns, NS_BLOCKING)) {
		log_msg(LOG_WARNING, "blocking: a push that is none");
		xml_free(q);
		return MOD_HANDLED;
	}
	apply(c, q);
	xml_free(q);
	if (!bs->requested)
		return MOD_HANDLED;
	xbuf_addf(&b, "<iq type='set' id='block%lu' to='", ++bs->push_seq);
	xbuf_add_esc(&b, conn_full(c), strlen(conn_full(c)));
	xbuf_adds(&b, "'>");
	xbuf_add(&b, m->body, m->body_len);
	xbuf_adds(&b, "</iq>");
	conn_send_raw(c, b.p, b.len);
	xbuf_free(&b);
	return MOD_HANDLED;
}

/* A resumed session (XEP-0198) gets pushes, as roster pushes; the copy is
 * fetched again, since changes went by while it was detached. */
static void blocking_resumed(struct conn *c)
{
	struct blocking_state *bs = blocking_of(c);
	bs->requested = 1;
	bs->loaded = 0;
}

static void blocking_free(void *slot)
{
	struct blocking_state *bs = slot;
	strvec_free(&bs->list);
}

static const char *const blocking_ns[] = { NS_BLOCKING, NULL };

const struct module mod_blocking = {
	.name = "blocking",
	.phases = PHASE_SESSION,
	.iq_ns = blocking_ns,
	.disco = blocking_ns,
	.iq = blocking_iq,
	.inbound = blocking_inbound,
	.outbound = blocking_outbound,
	.resumed = blocking_resumed,
	.free_slot = blocking_free,
};
