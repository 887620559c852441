/*
 * mucadmin.c - a room's administration and invitations (XEP-0045): roles
 * changed and listed by moderators (8.2-8.6) and admins (9.6-9.8),
 * affiliations by admins and owners (9.1-9.5, 10.3-10.8), in IQs of
 * namespace muc#admin to the room; mediated invitations and declines
 * (7.8.2), messages to the room that it sends on.
 *
 * A request is checked here for its form (values, JIDs, nicks), then
 * decided by one script (router/muc.h) that checks the privileges and
 * applies all its items or none. The occupants learn of the changes from
 * the room's log as of any event (muc.c renders them: a removal with 307,
 * 301 or 321, actor and reason; presence with a new role or affiliation).
 * An invitation or a decline goes from the room's JID to its user like
 * any message (relay.h): to the user's sessions, or offline storage.
 */
#include "modules.h"
#include "muc-int.h"
#include "config.h"
#include "jid.h"
#include "muc.h"
#include "relay.h"
#include "strvec.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PASSWORD_MAX 1024       /* the longest room password an invitation carries */

static const char *const role_values[] = { "none", "visitor", "participant", "moderator",
	NULL };
static const char *const aff_values[] = { "none", "outcast", "member", "admin", "owner",
	NULL };
/* What may be listed: never the nobodies (role or affiliation none). */
static const char *const role_lists[] = { "visitor", "participant", "moderator", NULL };
static const char *const aff_lists[] = { "outcast", "member", "admin", "owner", NULL };

/* The bare JID of user s (a full JID stands for it) into j (no
 * resource) and bare (JID_MAX bytes): 0, or -1 when s is none or names
 * no user. */
static int user_jid(const char *s, struct jid *j, char *bare)
{
	if (!s || jid_parse(s, j) == -1 || !j->node[0])
		return -1;
	j->resource[0] = '\0';
	jid_bare(j, bare, JID_MAX);
	return 0;
}

/* ---- roles and affiliations ---- */

/* The items of one set, all of roles or all of affiliations (two kinds
 * would be two scripts: not all or none). */
struct admin_set {
	struct muc_item it[MUC_ITEMS_MAX];
	char nick[MUC_ITEMS_MAX][JID_MAX_PART];
	char jid[MUC_ITEMS_MAX][JID_MAX];
	int n;
	int roles;              /* items of roles, else of affiliations */
};

/* Item el of set iq into a (its form only: the script judges the
 * rest), or the error sent: 0 or -1. XEP-0045 15.4: a role with a nick,
 * or an affiliation with a JID (a nick is taken for its occupant's). */
static int parse_item(struct conn *c, const struct xml_node *iq, struct xml_node *el,
    struct admin_set *a)
{
	const char *role = xml_get(el, "role"), *aff = xml_get(el, "affiliation");
	const char *nick = xml_get(el, "nick"), *jid = xml_get(el, "jid");
	struct xml_node *why = xml_child(el, NS_MUC_ADMIN, "reason");
	struct muc_item *it = &a->it[a->n];
	struct jid j;

	if (!role == !aff || (role && !strv_has(role_values, role)) ||
	    (aff && !strv_has(aff_values, aff)) || (role && !nick) || (aff && !jid && !nick)) {
		conn_error(c, iq, "modify", "bad-request",
		    "an item with a nick and a role, or a JID and an affiliation");
		return -1;
	}
	if (a->n && a->roles != (role != NULL)) {
		conn_error(c, iq, "modify", "bad-request",
		    "roles and affiliations in separate requests");
		return -1;
	}
	a->roles = role != NULL;
	it->nick = it->jid = "";
	if (aff && jid) {
		if (user_jid(jid, &j, a->jid[a->n]) < 0) {
			conn_error(c, iq, "modify", "jid-malformed", "a user's JID");
			return -1;
		}
		it->jid = a->jid[a->n];
	} else if (jid_resourceprep(nick, a->nick[a->n], sizeof a->nick[a->n]) < 0) {
		conn_error(c, iq, "modify", "jid-malformed", "not a nick");
		return -1;
	} else {
		it->nick = a->nick[a->n];
	}
	it->role = role ? role : "";
	it->aff = aff ? aff : "";
	it->reason = why ? xml_text(why) : "";
	a->n++;
	return 0;
}

/* XEP-0045 8.2-8.6, 9.1-9.7, 10.3-10.8: the items of query q change
 * roles or affiliations, all or none. */
static void admin_set(struct conn *c, const struct xml_node *iq, const char *room,
    const struct xml_node *q)
{
	struct admin_set *a = xcalloc(1, sizeof *a);
	struct xml_node *el;
	int rc;

	for (el = q->children; el; el = el->next) {
		if (!el->name || !el->ns || strcmp(el->ns, NS_MUC_ADMIN) || strcmp(el->name, "item"))
			continue;
		if (a->n == MUC_ITEMS_MAX) {
			conn_error(c, iq, "modify", "policy-violation", "too many items in one request");
			goto out;
		}
		if (parse_item(c, iq, el, a) < 0)
			goto out;
	}
	if (!a->n) {
		conn_error(c, iq, "modify", "bad-request", "no item");
		goto out;
	}
	rc = a->roles ? muc_role_set(conn_store(c), room, conn_full(c), a->it, a->n)
	    : muc_aff_set(conn_store(c), room, conn_full(c), a->it, a->n);
	if (!muc_refused(c, iq, rc))
		conn_iq_result(c, iq, NULL);
out:
	free(a);
}

static void set_nonempty(struct xml_node *n, const char *name, const char *value)
{
	if (value[0])
		xml_set(n, name, value);
}

/* XEP-0045 8.5, 9.2, 9.5, 9.8, 10.5, 10.8: the occupants of one role, or
 * the JIDs of one affiliation. */
static void admin_list(struct conn *c, const struct xml_node *iq, const char *room,
    const struct xml_node *q)
{
	struct xml_node *el = xml_child(q, NS_MUC_ADMIN, "item"), *r, *item;
	const char *role = el ? xml_get(el, "role") : NULL;
	const char *aff = el ? xml_get(el, "affiliation") : NULL;
	struct muc_list l;
	int rc, i;

	if (!el || !role == !aff || (role && !strv_has(role_lists, role)) ||
	    (aff && !strv_has(aff_lists, aff))) {
		conn_error(c, iq, "modify", "bad-request",
		    "an item with the role or the affiliation to list");
		return;
	}
	rc = muc_list(conn_store(c), room, conn_full(c), role ? "role" : "affiliation",
	    role ? role : aff, &l);
	if (muc_refused(c, iq, rc))
		return;
	r = xml_new(NS_MUC_ADMIN, "query");
	for (i = 0; i < l.n; i++) {
		item = xml_new_child(r, NS_MUC_ADMIN, "item");
		set_nonempty(item, "affiliation", l.items[i].aff);
		set_nonempty(item, "jid", l.items[i].jid);
		set_nonempty(item, "nick", l.items[i].nick);
		set_nonempty(item, "role", l.items[i].role);
	}
	muc_list_free(&l);
	conn_iq_result(c, iq, r);
}

void muc_admin_iq(struct conn *c, const struct xml_node *iq, const char *room)
{
	const struct xml_node *q = xml_first_element(iq);

	if (strcmp(q->name, "query"))
		conn_error(c, iq, "modify", "bad-request", "a muc#admin <query/>");
	else if (!strcmp(xml_get(iq, "type"), "get"))
		admin_list(c, iq, room, q);
	else
		admin_set(c, iq, room, q);
}

/* ---- invitations ---- */

int muc_is_invitation(const struct xml_node *st)
{
	const char *type = xml_get(st, "type");
	struct xml_node *x = xml_child(st, NS_MUC_USER, "x");

	return (!type || !strcmp(type, "normal")) && x &&
	    (xml_child(x, NS_MUC_USER, "invite") || xml_child(x, NS_MUC_USER, "decline"));
}

/* User s of a domain we serve, into j and bare (user_jid), or the error
 * st gets: 0 or -1 (there is no server-to-server yet). */
static int local_user(struct conn *c, const struct xml_node *st, const char *s, struct jid *j,
    char *bare)
{
	if (user_jid(s, j, bare) < 0) {
		conn_error(c, st, "modify", "jid-malformed", "a user's JID");
		return -1;
	}
	if (!config_serves(conn_cfg(c), j->domain)) {
		conn_error(c, st, "cancel", "remote-server-not-found", NULL);
		return -1;
	}
	return 0;
}

/* The room's message as XEP-0045 7.8.2 shows it: el (an <invite/> or
 * <decline/> of message st) sent on with 'from' who and its reason, in
 * a muc#user <x/> (returned in *x), from the room, with st's id. */
static struct xml_node *room_message(const struct xml_node *st, const char *room,
    const struct xml_node *el, const char *who, struct xml_node **x)
{
	struct xml_node *m = xml_new(NS_CLIENT, "message"), *w;
	struct xml_node *why = xml_child(el, NS_MUC_USER, "reason");
	const char *id = xml_get(st, "id");

	xml_set(m, "from", room);
	if (id)
		xml_set(m, "id", id);
	*x = xml_new_child(m, NS_MUC_USER, "x");
	w = xml_new_child(*x, NS_MUC_USER, el->name);
	xml_set(w, "from", who);
	if (why)
		xml_add_text(xml_new_child(w, NS_MUC_USER, "reason"), xml_text(why),
		    strlen(xml_text(why)));
	return m;
}

/* Send the room's message m to user j (bare JID bare), as any message:
 * 1 when it was delivered or stored, else 0 and, if tell is not NULL,
 * that stanza's sender learns why (XEP-0045 7.8.2: item-not-found for
 * no such user). */
static int send_on(struct conn *c, const struct xml_node *tell, struct xml_node *m,
    const struct jid *j, const char *bare)
{
	enum route_outcome o;

	xml_set(m, "to", bare);
	o = relay_to_user(c, m, j, time(NULL));
	if (o == RO_DELIVERED || o == RO_OFFLINE)
		return 1;
	if (o == RO_ERROR)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	if (tell)
		conn_error(c, tell, o == RO_ERROR ? "wait" : "cancel",
		    o == RO_NOUSER ? "item-not-found" : o == RO_ERROR ? "internal-server-error"
		    : "service-unavailable", NULL);
	return 0;
}

/* The invitees of one message. */
struct invitees {
	struct xml_node *el[MUC_ITEMS_MAX];
	struct jid j[MUC_ITEMS_MAX];
	char bare[MUC_ITEMS_MAX][JID_MAX];
	const char *reached[MUC_ITEMS_MAX];
	int n;
};

/* Each <invite/> of x goes to its invitee from the room, naming the
 * inviter's bare JID, with the room's password; an invitee reached
 * becomes a member of a members-only room. The message's sender gets
 * one error, for the first invitation that failed. */
static void invite(struct conn *c, const struct xml_node *st, const char *room,
    const struct xml_node *x)
{
	struct invitees *v = xcalloc(1, sizeof *v);
	struct xml_node *el, *m, *mx;
	char pw[PASSWORD_MAX];
	int rc, members, i, k = 0, failed = 0;

	for (el = x->children; el; el = el->next) {
		if (!el->name || !el->ns || strcmp(el->ns, NS_MUC_USER) || strcmp(el->name, "invite"))
			continue;
		if (v->n == MUC_ITEMS_MAX) {
			conn_error(c, st, "modify", "policy-violation", "too many invitations");
			goto out;
		}
		if (local_user(c, st, xml_get(el, "to"), &v->j[v->n], v->bare[v->n]) < 0)
			goto out;
		v->el[v->n++] = el;
	}
	rc = muc_invite(conn_store(c), room, conn_full(c), NULL, 0, pw, sizeof pw, &members);
	if (muc_refused(c, st, rc))
		goto out;
	for (i = 0; i < v->n; i++) {
		m = room_message(st, room, v->el[i], conn_bare(c), &mx);
		if (pw[0])
			xml_add_text(xml_new_child(mx, NS_MUC_USER, "password"), pw, strlen(pw));
		if (send_on(c, failed ? NULL : st, m, &v->j[i], v->bare[i]))
			v->reached[k++] = v->bare[i];
		else
			failed = 1;
		xml_free(m);
	}
	if (members && k) {
		rc = muc_invite(conn_store(c), room, conn_full(c), v->reached, k, pw, sizeof pw,
		    &members);
		if (!failed)
			(void)muc_refused(c, st, rc);
		else if (rc < 0)
			log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	}
out:
	free(v);
}

/* XEP-0045 7.8.2: an invitee declines; the room tells the inviter. */
static void decline(struct conn *c, const struct xml_node *st, const char *room,
    const struct xml_node *d)
{
	struct xml_node *m, *mx;
	struct muc_info info;
	struct jid j;
	char bare[JID_MAX];
	int rc;

	if (local_user(c, st, xml_get(d, "to"), &j, bare) < 0)
		return;
	/* No room, no word from it. */
	rc = muc_info(conn_store(c), room, conn_bare(c), &info);
	if (rc == MUC_ROOM)
		muc_info_free(&info);
	else if (muc_refused(c, st, rc))
		return;
	m = room_message(st, room, d, conn_bare(c), &mx);
	(void)send_on(c, st, m, &j, bare);
	xml_free(m);
}

void muc_invitation(struct conn *c, const struct xml_node *st, const char *room)
{
	const struct xml_node *x = xml_child(st, NS_MUC_USER, "x");

	if (xml_child(x, NS_MUC_USER, "invite"))
		invite(c, st, room, x);
	else
		decline(c, st, room, xml_child(x, NS_MUC_USER, "decline"));
}
