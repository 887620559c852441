/*
 * muc.c - multi-user chat, XEP-0045: the occupant's side of the
 * conference domain muc_domain (xmpp.conf(5)), and the dispatch of
 * everything sent to it. Presence to room/nick joins (the first join
 * makes a new room, locked until its owner configures it: mucconfig.c),
 * changes presence or nick, or with type unavailable leaves; groupchat
 * messages go to every occupant, subject changes too; a chat message to
 * room/nick is a private message; an IQ to room/nick goes to that
 * occupant (a ping to one's own is answered here, XEP-0410). IQs of
 * namespace muc#admin to the room (roles, affiliations) and mediated
 * invitations and declines go to mucadmin.c; urn:xmpp:mam:2 queries to
 * the room read its archive (mam.c, as a user's). A joiner gets the
 * room's history before the subject (muchistory.c).
 *
 * There is no room process: each decision on a room is one script
 * (router/muc.h) that appends an event to the room's log and wakes the
 * room channel. This handler subscribes to the channels of the rooms its
 * session joined, remembers the last log entry it wrote to its client,
 * and on a wake-up writes what came after it for its client (from
 * room/nick, the muc#user item, status codes, stanza-id): a groupchat
 * message straight from the wake-up, anything else read from the log.
 * So every occupant sees one order, on any host, and a message costs
 * one script call whatever the number of occupants.
 *
 * The session leaves its rooms when it ends, or sends unavailable
 * presence to everyone, or the log says it was removed; a session
 * detached under XEP-0198 stays, and the handler that resumes it reads
 * on from where this one stopped. A session whose handler dies (SIGKILL,
 * a lost host) cannot leave: the session keeps the list of its rooms in
 * Redis (muc_session_set), and the living handler that reaps it makes it
 * leave each, with 333.
 */
#include "modules.h"
#include "muc-int.h"
#include "conn.h"
#include "config.h"
#include "jid.h"
#include "muc.h"
#include "relay.h"
#include "route.h"
#include "rsm.h"
#include "store.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MUC_ROOMS_MAX 64        /* rooms one session may be in */
#define MUC_READ_BATCH 100      /* log entries read per round trip */
#define MUC_CATCHUP_SEC 1       /* a read after joining: a wake-up published
                                   before our SUBSCRIBE took effect is lost */
#define MUC_ROLE_MAX 16
#define MUC_RESUME_TRIES 5      /* seconds a resumed session waits for the
                                   rooms its kicked handler still holds */
#define MUC_STATUS_SELF "110"   /* XEP-0045: the presence is one's own */
#define MUC_STATUS_NONANON "100"  /* XEP-0045: everyone sees real JIDs */
#define MUC_STATUS_LOGGED "170"   /* XEP-0045: the room is archived */
#define MUC_STATUS_CREATED "201"  /* XEP-0045: a new room */
#define MUC_STATUS_TECHNICAL "333"  /* XEP-0045: removed by a technical
                                       problem (its handler died) */

struct muc_room {
	char room[ROUTE_NODE_MAX];      /* bare JID, as route.h carries it */
	char nick[JID_MAX_PART];
	char last[MUC_ID_MAX];          /* the last log entry rendered */
	char role[MUC_ROLE_MAX];        /* our role: moderators see real JIDs */
	int anyone;                     /* everyone sees real JIDs (whois) */
	int out;                        /* the log said we are out: forget it */
	int pending;                    /* woken: read the log at the flush */
	time_t catchup;                 /* when to read the log once more; 0 done */
};

struct muc_state {
	struct muc_room *r[MUC_ROOMS_MAX];
	int n;
	time_t resume_wait;     /* when to look again for rooms to resume; 0 none */
	int resume_tries, resume_missing;
};

static void resume_rooms(struct conn *c);

static struct muc_state *state_of(struct conn *c)
{
	return conn_slot(c, &mod_muc, sizeof(struct muc_state));
}

/* The state, or NULL for a session that never was in a room: the hooks
 * every session runs allocate nothing for it. */
static struct muc_state *state_peek(const struct conn *c)
{
	return conn_slot_peek(c, &mod_muc);
}

static struct muc_room *room_find(struct conn *c, const char *room)
{
	struct muc_state *s = state_peek(c);
	int i;
	for (i = 0; s && i < s->n; i++)
		if (!strcmp(s->r[i]->room, room))
			return s->r[i];
	return NULL;
}

static void room_forget(struct conn *c, struct muc_room *r)
{
	struct muc_state *s = state_of(c);
	char chan[STORE_MAX_KEY];
	int i;

	store_user_key(conn_store(c), r->room, NULL, chan, sizeof chan);
	if (route_unsubscribe_channel(conn_store(c), chan) < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	for (i = 0; i < s->n; i++)
		if (s->r[i] == r) {
			s->r[i] = s->r[--s->n];
			break;
		}
	free(r);
}

/* Remember (nick) or forget (NULL) that our session is in room, for
 * whoever reaps it if this handler dies (muc_session_set). */
static void mark(struct conn *c, const char *room, const char *nick)
{
	if (muc_session_set(conn_store(c), conn_bare(c), conn_resource(c), room, nick,
	    NULL) < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
}

/* ---- rendering an event for this client ---- */

static void add_status(struct xml_node *x, const char *code)
{
	xml_set(xml_new_child(x, NS_MUC_USER, "status"), "code", code);
}

/* The stanza of event e as the client sees it: from room/nick, to it. */
static struct xml_node *stanza_of(struct conn *c, const struct muc_room *r,
    const struct muc_event *e, const char *name)
{
	struct xml_node *st = e->xml_len ? xml_parse_string(e->xml, e->xml_len) : NULL;
	char from[ROUTE_NODE_MAX + JID_MAX_PART + 1];

	if (!st || strcmp(st->name, name)) {
		xml_free(st);
		st = xml_new(NS_CLIENT, name);
	}
	snprintf(from, sizeof from, "%s/%s", r->room, e->nick);
	xml_set(st, "from", from);
	xml_set(st, "to", conn_full(c));
	return st;
}

/* A presence event (or an occupant, when joining): XEP-0045 7.2.3; a
 * nick change's unavailable (7.6) keeps the role and names the new nick,
 * and our own moves us to it. */
static void render_presence(struct conn *c, struct muc_room *r, const struct muc_event *e)
{
	int own = !strcmp(e->nick, r->nick), gone = !strcmp(e->ptype, "unavailable");
	int renamed = gone && e->newnick[0];
	struct xml_node *st, *x, *item;
	char codes[64], *w, *save = NULL;

	/* One session of a nick that others still hold: only it sees it go. */
	if (gone && !e->last && strcmp(e->jid, conn_full(c)))
		return;
	/* We are out (we left, were removed, or our nick's last session
	 * left): the room is forgotten once the log is read. */
	if (own && gone && !renamed)
		r->out = 1;
	if (own && !gone)
		snprintf(r->role, sizeof r->role, "%s", e->role);
	st = stanza_of(c, r, e, "presence");
	xml_remove_children(st, NS_MUC, "x");
	xml_remove_children(st, NS_MUC_USER, "x");
	if (gone)
		xml_set(st, "type", "unavailable");
	else
		xml_unset(st, "type");
	x = xml_new_child(st, NS_MUC_USER, "x");
	item = xml_new_child(x, NS_MUC_USER, "item");
	xml_set(item, "affiliation", e->aff);
	xml_set(item, "role", gone && !renamed ? "none" : e->role);
	if (renamed)
		xml_set(item, "nick", e->newnick);
	/* Semi-anonymous rooms: real JIDs for moderators, and one's own. */
	if (own || r->anyone || !strcmp(r->role, "moderator"))
		xml_set(item, "jid", e->jid);
	if (e->actor[0])
		xml_set(xml_new_child(item, NS_MUC_USER, "actor"), "nick", e->actor);
	if (e->reason[0])
		xml_add_text(xml_new_child(item, NS_MUC_USER, "reason"), e->reason,
		    strlen(e->reason));
	if (own)
		add_status(x, MUC_STATUS_SELF);
	snprintf(codes, sizeof codes, "%s", e->codes);
	for (w = strtok_r(codes, " ", &save); w; w = strtok_r(NULL, " ", &save))
		add_status(x, w);
	conn_send(c, st);
	xml_free(st);
	if (own && renamed)
		snprintf(r->nick, sizeof r->nick, "%s", e->newnick);
}

int muc_groupchat_xml(struct conn *c, const char *room, const char *nick, const char *xml,
    size_t len, const char *sid, const char *extra, struct xbuf *b)
{
	static const char open[] = "<message", end[] = "</message>";
	size_t rest;
	int empty;

	if (len < sizeof open - 1 || memcmp(xml, open, sizeof open - 1))
		return -1;          /* not what muc_message stored */
	xml += sizeof open - 1;
	len -= sizeof open - 1;
	empty = len >= 2 && !memcmp(xml + len - 2, "/>", 2);
	rest = empty ? len - 2 : len >= sizeof end - 1 &&
	    !memcmp(xml + len - (sizeof end - 1), end, sizeof end - 1) ? len - (sizeof end - 1)
	    : (size_t)-1;
	if (rest == (size_t)-1)
		return -1;
	xbuf_adds(b, open);
	xbuf_adds(b, " from='");
	xbuf_add_esc(b, room, strlen(room));
	xbuf_adds(b, "/");
	xbuf_add_esc(b, nick, strlen(nick));
	xbuf_adds(b, "' to='");
	xbuf_add_esc(b, conn_full(c), strlen(conn_full(c)));
	xbuf_adds(b, "'");
	xbuf_add(b, xml, rest);
	if (empty)
		xbuf_adds(b, ">");
	xbuf_adds(b, "<stanza-id xmlns='" NS_SID "' by='");
	xbuf_add_esc(b, room, strlen(room));
	xbuf_adds(b, "' id='");
	xbuf_add_esc(b, sid, strlen(sid));
	xbuf_adds(b, "'/>");
	xbuf_adds(b, extra);
	xbuf_adds(b, end);
	return 0;
}

/* A groupchat message (its stored form) from nick, as it happens. */
static void write_message(struct conn *c, const struct muc_room *r, const char *nick,
    const char *xml, size_t len, const char *sid)
{
	struct xbuf b = { 0 };

	if (muc_groupchat_xml(c, r->room, nick, xml, len, sid, "", &b) == 0)
		conn_send_raw(c, b.p, b.len);
	xbuf_free(&b);
}

static void render_message(struct conn *c, struct muc_room *r, const struct muc_event *e)
{
	write_message(c, r, e->nick, e->xml, e->xml_len, e->sid);
}

/* A private message event (XEP-0045 7.5), written only by the handlers
 * of the recipient nick's sessions: from room/sendernick, marked with an
 * empty muc#user <x/>. */
static void render_private(struct conn *c, struct muc_room *r, const struct muc_event *e)
{
	struct xml_node *st;

	if (strcmp(e->tonick, r->nick))
		return;
	st = stanza_of(c, r, e, "message");
	xml_remove_children(st, NS_MUC_USER, "x");
	xml_new_child(st, NS_MUC_USER, "x");
	conn_send(c, st);
	xml_free(st);
}

/* A subject change (XEP-0045 8.1): the stored message, from room/nick. */
static void render_subject(struct conn *c, struct muc_room *r, const struct muc_event *e)
{
	struct xml_node *st = stanza_of(c, r, e, "message");

	xml_set(st, "type", "groupchat");
	conn_send(c, st);
	xml_free(st);
}

/* A configuration change (XEP-0045 10.2.1): a message from the room
 * with the status codes; whether real JIDs show may have changed. */
static void render_config(struct conn *c, struct muc_room *r, const struct muc_event *e)
{
	struct xml_node *m = xml_new(NS_CLIENT, "message"), *x;
	char codes[64], *w, *save = NULL;

	r->anyone = !strcmp(e->whois, "anyone");
	xml_set(m, "from", r->room);
	xml_set(m, "to", conn_full(c));
	xml_set(m, "type", "groupchat");
	x = xml_new_child(m, NS_MUC_USER, "x");
	snprintf(codes, sizeof codes, "%s", e->codes);
	for (w = strtok_r(codes, " ", &save); w; w = strtok_r(NULL, " ", &save))
		add_status(x, w);
	conn_send(c, m);
	xml_free(m);
}

/* The room is destroyed (XEP-0045 10.9): our unavailable presence with
 * the reason and alternate venue; we are out. */
static void render_destroy(struct conn *c, struct muc_room *r, const struct muc_event *e)
{
	struct xml_node *p = xml_new(NS_CLIENT, "presence"), *x, *item, *d;
	char from[ROUTE_NODE_MAX + JID_MAX_PART + 1];

	snprintf(from, sizeof from, "%s/%s", r->room, r->nick);
	xml_set(p, "from", from);
	xml_set(p, "to", conn_full(c));
	xml_set(p, "type", "unavailable");
	x = xml_new_child(p, NS_MUC_USER, "x");
	item = xml_new_child(x, NS_MUC_USER, "item");
	xml_set(item, "affiliation", "none");
	xml_set(item, "role", "none");
	d = xml_new_child(x, NS_MUC_USER, "destroy");
	if (e->venue[0])
		xml_set(d, "jid", e->venue);
	if (e->reason[0])
		xml_add_text(xml_new_child(d, NS_MUC_USER, "reason"), e->reason,
		    strlen(e->reason));
	add_status(x, MUC_STATUS_SELF);
	conn_send(c, p);
	xml_free(p);
	r->out = 1;
}

struct render_arg {
	struct conn *c;
	struct muc_room *r;
};

static void render(const struct muc_event *e, void *arg)
{
	struct render_arg *a = arg;
	if (!strcmp(e->type, "presence"))
		render_presence(a->c, a->r, e);
	else if (!strcmp(e->type, "message"))
		render_message(a->c, a->r, e);
	else if (!strcmp(e->type, "private"))
		render_private(a->c, a->r, e);
	else if (!strcmp(e->type, "subject"))
		render_subject(a->c, a->r, e);
	else if (!strcmp(e->type, "config"))
		render_config(a->c, a->r, e);
	else if (!strcmp(e->type, "destroy"))
		render_destroy(a->c, a->r, e);
}

/* Write what the room's log holds after the last entry we rendered.
 * When it said we are out, the room is forgotten (r is freed): returns
 * 1 then, else 0. */
static int read_log(struct conn *c, struct muc_room *r)
{
	struct render_arg a = { c, r };
	int n;

	r->pending = 0;
	do {
		n = muc_log_read(conn_store(c), r->room, r->last, MUC_READ_BATCH, render, &a,
		    r->last);
		if (n < 0)
			log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	} while (n == MUC_READ_BATCH && !r->out);
	if (!r->out)
		return 0;
	mark(c, r->room, NULL);
	room_forget(c, r);
	return 1;
}

/* ---- joining and leaving ---- */

/* The presence st as the log keeps it: no 'from', 'to', nor muc <x/>. */
static char *stored_presence(const struct xml_node *st, size_t *len)
{
	struct xml_node *p = xml_copy(st);
	char *xml;

	xml_unset(p, "from");
	xml_unset(p, "to");
	xml_remove_children(p, NS_MUC, "x");
	xml_remove_children(p, NS_MUC_USER, "x");
	xml = xml_string(p, len);
	xml_free(p);
	return xml;
}

/* XEP-0045 7.2.16: the subject, empty until set, ends the join: the
 * room keeps the message that set it (xml) and who (nick). */
static void send_subject(struct conn *c, const struct muc_room *r, const char *nick,
    const char *xml, size_t len)
{
	struct xml_node *m = len ? xml_parse_string(xml, len) : NULL;
	char from[ROUTE_NODE_MAX + JID_MAX_PART + 1];

	if (!m || strcmp(m->name, "message")) {
		xml_free(m);
		m = xml_new(NS_CLIENT, "message");
		xml_new_child(m, NS_CLIENT, "subject");
	}
	snprintf(from, sizeof from, "%s%s%.*s", r->room, nick[0] ? "/" : "", JID_MAX_PART - 1,
	    nick);
	xml_set(m, "from", from);
	xml_set(m, "to", conn_full(c));
	xml_set(m, "type", "groupchat");
	conn_send(c, m);
	xml_free(m);
}

/* The stanza error of a script's outcome. */
struct refusal {
	int rc;
	const char *type, *cond, *text;
};

/* A refused join (XEP-0045 7.2.5-7.2.9, 10.1.1). */
static const struct refusal join_refusals[] = {
	{ MUC_CONFLICT, "cancel", "conflict", "that nick is taken" },
	{ MUC_NOT_ALLOWED, "cancel", "not-allowed", "no such room, and rooms are made by "
	  "the users muc_creators names" },
	{ MUC_LOCKED, "cancel", "item-not-found", "the room is not configured yet" },
	{ MUC_BANNED, "auth", "forbidden", "banned from the room" },
	{ MUC_MEMBERS_ONLY, "auth", "registration-required", "the room is members-only" },
	{ MUC_PASSWORD, "auth", "not-authorized", "the room needs its password" },
	{ MUC_FULL, "wait", "service-unavailable", "the room is full" },
	{ 0, NULL, NULL, NULL }
};

/* A refused request (XEP-0045 7.8.2, 8-10). */
static const struct refusal iq_refusals[] = {
	{ MUC_FORBIDDEN, "auth", "forbidden", "not a privilege of yours in this room" },
	{ MUC_NOT_ALLOWED, "cancel", "not-allowed", "that occupant's affiliation protects it" },
	{ MUC_CONFLICT, "cancel", "conflict",
	  "the room keeps an owner, and nobody bans oneself" },
	{ MUC_NO_NICK, "cancel", "item-not-found", "no such occupant" },
	{ MUC_NO_ROOM, "cancel", "item-not-found", "no such room" },
	{ MUC_NOT_OCCUPANT, "modify", "not-acceptable", "not in the room" },
	{ 0, NULL, NULL, NULL }
};

/* The entry of rc in table t, or NULL for an outcome that is no refusal. */
static const struct refusal *refusal_in(const struct refusal *t, int rc)
{
	for (; t->cond; t++)
		if (t->rc == rc)
			return t;
	return NULL;
}

int muc_refused(struct conn *c, const struct xml_node *st, int rc)
{
	const struct refusal *no = refusal_in(iq_refusals, rc);

	if (rc < 0) {
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		conn_error(c, st, "wait", "internal-server-error", NULL);
		return 1;
	}
	if (no)
		conn_error(c, st, no->type, no->cond, no->text);
	return no != NULL;
}

/* The password in a join's <x xmlns='http://jabber.org/protocol/muc'/>. */
static const char *join_password(const struct xml_node *st)
{
	struct xml_node *x = xml_child(st, NS_MUC, "x");
	struct xml_node *pw = x ? xml_child(x, NS_MUC, "password") : NULL;
	return pw ? xml_text(pw) : "";
}

/* XEP-0045 7.2: presence st to room/nick from a session not in room. */
static void join(struct conn *c, const struct xml_node *st, const char *room, const char *nick)
{
	struct muc_state *s = state_of(c);
	struct muc_join j;
	struct muc_room *r;
	struct muc_event self;
	const struct refusal *no;
	char chan[STORE_MAX_KEY], codes[16], *xml;
	size_t len;
	int rc, i;

	if (s->n == MUC_ROOMS_MAX) {
		conn_error(c, st, "wait", "resource-constraint", "in too many rooms");
		return;
	}
	/* Subscribed first: no event after our join goes unseen. */
	store_user_key(conn_store(c), room, NULL, chan, sizeof chan);
	if (route_subscribe_channel(conn_store(c), chan) < 0) {
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		conn_error(c, st, "wait", "internal-server-error", NULL);
		return;
	}
	xml = stored_presence(st, &len);
	mark(c, room, nick);    /* before: a death right after the join is covered */
	rc = muc_join(conn_store(c), room, nick, conn_full(c), xml, len, join_password(st),
	    config_muc_creator(conn_cfg(c), conn_bare(c)), &j);
	no = refusal_in(join_refusals, rc);
	/* MUC_UPDATED: this full JID was in already (an earlier session of
	 * the resource, replaced): a join all the same. */
	if (rc < 0 || no) {
		mark(c, room, NULL);
		if (rc < 0)
			log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		if (no)
			conn_error(c, st, no->type, no->cond, no->text);
		else
			conn_error(c, st, "wait", "internal-server-error", NULL);
		if (route_unsubscribe_channel(conn_store(c), chan) < 0)
			log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		free(xml);
		return;
	}
	r = xcalloc(1, sizeof *r);
	/* muc_inbound made room shorter than ROUTE_NODE_MAX. */
	memcpy(r->room, room, strnlen(room, sizeof r->room - 1));
	snprintf(r->nick, sizeof r->nick, "%s", nick);
	snprintf(r->last, sizeof r->last, "%s", j.id);
	snprintf(r->role, sizeof r->role, "%s", j.role);
	r->anyone = j.anyone;
	r->catchup = time(NULL) + MUC_CATCHUP_SEC;
	s->r[s->n++] = r;
	/* XEP-0045 7.2.3: the others' presence, then our own, then the
	 * history and the subject; what happens after our join comes from
	 * the log. */
	for (i = 0; i < j.nocc; i++)
		render_presence(c, r, &j.occ[i]);
	memset(&self, 0, sizeof self);
	self.id = j.id;
	self.type = "presence";
	self.nick = nick;
	self.jid = conn_full(c);
	self.role = j.role;
	self.aff = j.aff;
	self.ptype = "";
	self.newnick = self.tonick = "";
	self.actor = self.reason = self.venue = self.whois = "";
	snprintf(codes, sizeof codes, "%s %s %s", j.anyone ? MUC_STATUS_NONANON : "",
	    j.logging ? MUC_STATUS_LOGGED : "", rc == MUC_CREATED ? MUC_STATUS_CREATED : "");
	self.codes = codes;
	self.xml = xml;
	self.xml_len = len;
	render_presence(c, r, &self);
	muc_history_send(c, st, room, j.id, j.history);
	send_subject(c, r, j.subject_nick, j.subject, j.subject_len);
	muc_join_free(&j);
	free(xml);
}

/* The session leaves r with presence st (NULL: it ends, silently):
 * everyone, this client first if it is there, sees it go. */
static void leave(struct conn *c, struct muc_room *r, const struct xml_node *st)
{
	char id[MUC_ID_MAX], *xml;
	size_t len;
	int rc;

	if (st) {
		xml = stored_presence(st, &len);
	} else {
		xml = xstrdup("<presence/>");
		len = strlen(xml);
	}
	rc = muc_leave(conn_store(c), r->room, r->nick, conn_full(c), xml, len, "", id);
	free(xml);
	if (rc < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	/* Up to our own unavailable presence, which forgets the room. */
	else if (rc == MUC_LEFT && st && read_log(c, r))
		return;
	if (rc >= 0)
		mark(c, r->room, NULL);
	room_forget(c, r);
}

static void leave_all(struct conn *c, const struct xml_node *st)
{
	struct muc_state *s = state_peek(c);
	while (s && s->n > 0)
		leave(c, s->r[s->n - 1], st);
}

/* ---- stanzas from the client ---- */

static void presence_to_room(struct conn *c, const struct xml_node *st, const char *room,
    const char *nick)
{
	const char *type = xml_get(st, "type");
	struct muc_room *r = room_find(c, room);
	char id[MUC_ID_MAX], *xml;
	size_t len;
	struct muc_join j;
	int rc;

	if (type && !strcmp(type, "unavailable")) {
		if (r)
			leave(c, r, st);
		return;
	}
	if (type)               /* subscriptions, probes, errors: nothing here */
		return;
	if (!nick[0]) {         /* XEP-0045 7.2.1: a nick is required */
		conn_error(c, st, "modify", "jid-malformed", NULL);
		return;
	}
	if (!r) {
		join(c, st, room, nick);
		return;
	}
	/* A presence or nick change: the events reach us through the log. */
	xml = stored_presence(st, &len);
	if (strcmp(r->nick, nick)) {
		mark(c, room, nick);
		rc = muc_nick(conn_store(c), room, r->nick, conn_full(c), nick, xml, len, id);
		if (rc != MUC_CHANGED)
			mark(c, room, r->nick);
	} else if ((rc = muc_join(conn_store(c), room, nick, conn_full(c), xml, len, "", 0, &j))
	    >= 0) {
		muc_join_free(&j);
	}
	free(xml);
	if (rc < 0 || rc == MUC_NOT_OCCUPANT) {
		log_msg(LOG_ERR, "muc: %s", rc < 0 ? conn_store(c)->err : "not in the room");
		conn_error(c, st, "wait", "internal-server-error", NULL);
	} else if (rc == MUC_CONFLICT) {      /* XEP-0045 7.6: from room/newnick */
		conn_error(c, st, "cancel", "conflict", NULL);
	}
}

/* XEP-0045 8.1: a groupchat message with a subject and no body sets
 * the subject. */
static int is_subject(const struct xml_node *st)
{
	return xml_child(st, NS_CLIENT, "subject") && !xml_child(st, NS_CLIENT, "body");
}

/* A groupchat message to the room, or a private message (type chat) to
 * room/nick: one script decides, and not being in the room is
 * not-acceptable (XEP-0045 7.4, 7.5). */
static void message_to_room(struct conn *c, const struct xml_node *st, const char *room,
    const char *nick)
{
	const char *type = xml_get(st, "type");
	struct muc_room *r = room_find(c, room);
	const char *self = r ? r->nick : "";
	int private = nick[0] != '\0';
	struct xml_node *m;
	char sid[MUC_ID_MAX], *xml;
	size_t len;
	int rc;

	if (type && !strcmp(type, "error"))
		return;
	if (!type || strcmp(type, private ? "chat" : "groupchat")) {
		conn_error(c, st, "cancel", "feature-not-implemented",
		    "only groupchat messages to the room, chat to an occupant");
		return;
	}
	m = xml_copy(st);
	xml_unset(m, "from");
	xml_unset(m, "to");
	xml_remove_children(m, NS_SID, "stanza-id");
	xml = xml_string(m, &len);
	xml_free(m);
	if (private)
		rc = muc_private(conn_store(c), room, self, conn_full(c), nick, xml, len, sid);
	else if (is_subject(st))
		rc = muc_subject(conn_store(c), room, self, conn_full(c), xml, len, sid);
	else
		rc = muc_message(conn_store(c), room, self, conn_full(c), xml, len, sid);
	free(xml);
	if (rc < 0) {
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		conn_error(c, st, "wait", "internal-server-error", NULL);
	} else if (rc == MUC_NOT_OCCUPANT) {
		conn_error(c, st, "modify", "not-acceptable", "not in the room");
	} else if (rc == MUC_NO_NICK) {
		conn_error(c, st, "cancel", "item-not-found", "no such occupant");
	} else if (rc == MUC_FORBIDDEN) {
		conn_error(c, st, "auth", "forbidden", private ? "the room allows no such "
		    "private message" : is_subject(st) ? "not allowed to change the subject"
		    : "no voice in this room");
	}
}

struct forward_arg {
	struct conn *c;
	struct xml_node *st;    /* the IQ, from our occupant JID */
	int all;                /* to every session of the nick, or the first */
	int sent;
};

static void forward_one(const char *full, void *arg)
{
	struct forward_arg *f = arg;
	struct jid to;

	if ((f->sent && !f->all) || jid_parse(full, &to) == -1)
		return;
	xml_set(f->st, "to", full);
	if (relay_to_user(f->c, f->st, &to, time(NULL)) == RO_DELIVERED)
		f->sent++;
}

/* An IQ to room/nick, from occupant r (NULL: not in the room). XEP-0410:
 * a ping to one's own occupant JID is answered here, after asking the
 * room whether we are still in it. Any other request goes to the
 * occupant's (first) session from our occupant JID, as XEP-0045 has the
 * room do (vCards, versions, pings of others); an answer to such a
 * request goes back to every session of the nick that asked. */
static void iq_to_occupant(struct conn *c, const struct xml_node *iq, struct muc_room *r,
    const char *room, const char *nick)
{
	const char *type = xml_get(iq, "type");
	const struct xml_node *q = xml_first_element(iq);
	int request = type && (!strcmp(type, "get") || !strcmp(type, "set"));
	char from[ROUTE_NODE_MAX + JID_MAX_PART + 1];
	struct forward_arg f = { c, NULL, !request, 0 };
	int rc;

	if (!type)
		return;
	if (request && r && !strcmp(nick, r->nick) && !strcmp(type, "get") && q && q->ns &&
	    !strcmp(q->ns, NS_PING) && !strcmp(q->name, "ping")) {
		rc = muc_ping(conn_store(c), room, nick, conn_full(c));
		if (rc < 0) {
			log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
			conn_error(c, iq, "wait", "internal-server-error", NULL);
		} else if (rc == MUC_IN) {
			conn_iq_result(c, iq, NULL);
		} else {
			conn_error(c, iq, "modify", "not-acceptable", "not in the room as that nick");
		}
		return;
	}
	if (!r) {
		if (request)
			conn_error(c, iq, "modify", "not-acceptable", "not in the room");
		return;
	}
	snprintf(from, sizeof from, "%s/%s", r->room, r->nick);
	f.st = xml_copy(iq);
	xml_set(f.st, "from", from);
	rc = muc_occupant_jids(conn_store(c), room, r->nick, conn_full(c), nick, forward_one, &f);
	xml_free(f.st);
	if (!request)
		return;             /* answers that find nobody end here */
	if (rc < 0) {
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
	} else if (rc == MUC_NOT_OCCUPANT) {
		conn_error(c, iq, "modify", "not-acceptable", "not in the room");
	} else if (rc == MUC_NO_NICK) {
		conn_error(c, iq, "cancel", "item-not-found", "no such occupant");
	} else if (!f.sent) {
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
	}
}

/* XEP-0030 on the conference domain itself. */
static void service_iq(struct conn *c, const struct xml_node *iq)
{
	const char *type = xml_get(iq, "type");
	struct xml_node *q = xml_first_element(iq);

	if (!type || (strcmp(type, "get") && strcmp(type, "set")))
		return;             /* results and errors end here */
	if (!strcmp(type, "get") && q && q->ns && !strcmp(q->ns, NS_DISCO_INFO) &&
	    !xml_get(q, "node")) {
		conn_iq_result(c, iq, serveriq_service_info("conference", "text", MUC_SERVICE_NAME,
		    (const char *const[]){ NS_MUC, NS_RSM, NULL }));
		return;
	}
	if (!strcmp(type, "get") && q && q->ns && !strcmp(q->ns, NS_DISCO_ITEMS) &&
	    !xml_get(q, "node")) {
		muc_directory(c, iq);
		return;
	}
	conn_error(c, iq, "cancel", "service-unavailable", NULL);
}

/* An IQ to the room itself: its disco#info (XEP-0045 6.4), the
 * owner's use cases (10), its administration (8-10: mucadmin.c) and its
 * archive (XEP-0313: mam.c). */
static void room_iq(struct conn *c, const struct xml_node *iq, const char *room)
{
	const char *type = xml_get(iq, "type");
	const struct xml_node *q = xml_first_element(iq);
	const struct muc_room *r = room_find(c, room);

	if (!type || (strcmp(type, "get") && strcmp(type, "set")))
		return;             /* results and errors end here */
	if (!q || !q->ns)
		conn_error(c, iq, "modify", "bad-request", NULL);
	else if (!strcmp(type, "get") && !strcmp(q->ns, NS_DISCO_INFO) && !xml_get(q, "node"))
		muc_room_info(c, iq, room);
	else if (!strcmp(type, "get") && !strcmp(q->ns, NS_DISCO_ITEMS) && !xml_get(q, "node"))
		muc_room_items(c, iq, room);
	else if (!strcmp(q->ns, NS_MUC_OWNER))
		muc_owner_iq(c, iq, room);
	else if (!strcmp(q->ns, NS_MUC_ADMIN))
		muc_admin_iq(c, iq, room);
	else if (!strcmp(q->ns, NS_MAM))
		mam_room_iq(c, iq, room, r ? r->nick : "");
	else
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
}

static enum mod_ret muc_inbound(struct conn *c, struct xml_node *st)
{
	const char *mucd = conn_cfg(c)->muc_domain, *to = xml_get(st, "to");
	char room[JID_MAX];
	struct jid j;

	if (!mucd[0])
		return MOD_PASS;
	if (!to) {
		/* RFC 6121 4.6.3: unavailable to everyone ends directed presence. */
		const char *type = xml_get(st, "type");
		if (!strcmp(st->name, "presence") && type && !strcmp(type, "unavailable"))
			leave_all(c, st);
		return MOD_PASS;
	}
	if (jid_parse(to, &j) == -1 || strcmp(j.domain, mucd))
		return MOD_PASS;
	if (!j.node[0]) {
		if (!strcmp(st->name, "iq") && !j.resource[0])
			service_iq(c, st);
		else
			conn_error(c, st, "cancel", "service-unavailable", NULL);
		return MOD_HANDLED;
	}
	snprintf(room, sizeof room, "%s@%s", j.node, j.domain);
	if (strlen(room) >= ROUTE_NODE_MAX) {
		conn_error(c, st, "modify", "not-acceptable", "room name too long");
		return MOD_HANDLED;
	}
	if (!strcmp(st->name, "presence"))
		presence_to_room(c, st, room, j.resource);
	else if (!strcmp(st->name, "message") && !j.resource[0] && muc_is_invitation(st))
		muc_invitation(c, st, room);
	else if (!strcmp(st->name, "message"))
		message_to_room(c, st, room, j.resource);
	else if (!strcmp(st->name, "iq") && j.resource[0])
		iq_to_occupant(c, st, room_find(c, room), room, j.resource);
	else if (!strcmp(st->name, "iq"))
		room_iq(c, st, room);
	else
		conn_error(c, st, "cancel", "service-unavailable", NULL);
	return MOD_HANDLED;
}

/* ---- from Redis ---- */

/* Log entry IDs ("<ms>-<seq>") in order: <0, 0, >0. */
static int entry_cmp(const char *a, const char *b)
{
	unsigned long long am = strtoull(a, NULL, 10), bm = strtoull(b, NULL, 10);
	const char *ad = strchr(a, '-'), *bd = strchr(b, '-');
	unsigned long long as = ad ? strtoull(ad + 1, NULL, 10) : 0;
	unsigned long long bs = bd ? strtoull(bd + 1, NULL, 10) : 0;

	if (am != bm)
		return am < bm ? -1 : 1;
	return as < bs ? -1 : as > bs;
}

/* A wake-up that carries a groupchat message (lib/muc.lua): written from
 * there when we read the log up to the entry before it, skipped when we
 * read past it already; 0, or -1 when the log must be read. */
static int message_woken(struct conn *c, struct muc_room *r, const struct route_msg *m)
{
	const char *nl = memchr(m->body, '\n', m->body_len);
	char nick[JID_MAX_PART], sid[sizeof m->id + sizeof m->rand];
	size_t n;

	if (entry_cmp(m->id, r->last) <= 0)
		return 0;
	if (strcmp(m->prev, r->last) || !nl || (n = (size_t)(nl - m->body)) >= sizeof nick)
		return -1;
	memcpy(nick, m->body, n);
	nick[n] = '\0';
	snprintf(sid, sizeof sid, "%s-%s", m->id, m->rand);
	write_message(c, r, nick, nl + 1, m->body_len - n - 1, sid);
	snprintf(r->last, sizeof r->last, "%s", m->id);
	return 0;
}

static enum mod_ret muc_outbound(struct conn *c, const struct route_msg *m)
{
	struct muc_room *r;

	if (m->kind != ROUTE_MUC)
		return MOD_PASS;
	if (!(r = room_find(c, m->node)))
		return MOD_HANDLED;
	/* Once the log must be read, everything after waits for that read:
	 * one for all the wake-ups read together (muc_flush). */
	if (r->pending || !m->id[0] || message_woken(c, r, m) < 0)
		r->pending = 1;
	return MOD_HANDLED;
}

static void muc_flush(struct conn *c, const struct xml_node *next)
{
	struct muc_state *s = state_peek(c);
	int i;

	(void)next;
	for (i = 0; s && i < s->n; i++)
		if (s->r[i]->pending && read_log(c, s->r[i]))
			i--;        /* forgotten: another took its place */
}

static int muc_tick(struct conn *c, time_t now)
{
	struct muc_state *s = state_peek(c);
	int i, next = -1;

	if (!s)
		return -1;
	if (s->resume_wait && now >= s->resume_wait)
		resume_rooms(c);
	if (s->resume_wait)
		next = (int)(s->resume_wait > now ? s->resume_wait - now : 0);

	for (i = 0; i < s->n; i++) {
		struct muc_room *r = s->r[i];
		if (!r->catchup)
			continue;
		if (now >= r->catchup) {
			r->catchup = 0;
			if (read_log(c, r))
				i--;        /* r is gone, another took its place */
		} else if (next < 0 || r->catchup - now < next) {
			next = (int)(r->catchup - now);
		}
	}
	return next;
}

/* The session ends, however: it leaves its rooms, and the others see it
 * go (no reader here: the client is gone). */
static void muc_ended(struct conn *c)
{
	leave_all(c, NULL);
}

/* The connection ends. When the session goes on (XEP-0198: detached,
 * or resumed elsewhere), it stays in its rooms, and Redis keeps where
 * this handler stopped reading each, for the handler that resumes it;
 * a session replaced by a new one of its resource leaves them. */
static void muc_leaving(struct conn *c)
{
	struct muc_state *s = state_peek(c);
	char state[MUC_STATE_MAX];
	int i;

	if (!conn_session_goes_on(c)) {
		leave_all(c, NULL);
		return;
	}
	for (i = 0; s && i < s->n; i++) {
		struct muc_room *r = s->r[i];
		snprintf(state, sizeof state, "%s %s %d", r->last, r->role, r->anyone);
		if (muc_session_set(conn_store(c), conn_bare(c), conn_resource(c), r->room,
		    r->nick, state) < 0)
			log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	}
}

/* A room of a resumed session, as its last handler left it: reading
 * goes on from there. Without a state, that handler has not written it
 * yet (it is being kicked): muc_tick asks again. */
static void resume_room(const char *room, const char *nick, const char *state, void *arg)
{
	struct conn *c = arg;
	struct muc_state *s = state_of(c);
	char chan[STORE_MAX_KEY];
	struct muc_room *r;
	int anyone = 0;

	if (room_find(c, room) || s->n == MUC_ROOMS_MAX || strlen(room) >= ROUTE_NODE_MAX)
		return;
	if (!state[0]) {
		s->resume_missing++;
		return;
	}
	store_user_key(conn_store(c), room, NULL, chan, sizeof chan);
	if (route_subscribe_channel(conn_store(c), chan) < 0) {
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		return;
	}
	r = xcalloc(1, sizeof *r);
	memcpy(r->room, room, strlen(room));
	snprintf(r->nick, sizeof r->nick, "%s", nick);
	if (sscanf(state, "%63s %15s %d", r->last, r->role, &anyone) != 3)
		snprintf(r->last, sizeof r->last, "0");
	r->anyone = anyone;
	s->r[s->n++] = r;
	mark(c, room, nick);        /* its state is ours now */
	(void)read_log(c, r);       /* what happened while no handler read */
}

static void resume_rooms(struct conn *c)
{
	struct muc_state *s = state_of(c);

	s->resume_missing = 0;
	if (muc_session_list(conn_store(c), conn_bare(c), conn_resource(c), 0, resume_room,
	    c) < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	/* Rooms without a state yet: ask again, for a while. */
	s->resume_wait = s->resume_missing && s->resume_tries++ < MUC_RESUME_TRIES ?
	    time(NULL) + 1 : 0;
}

/* XEP-0198: the session was resumed on this connection, still in its
 * rooms. */
static void muc_resumed(struct conn *c)
{
	resume_rooms(c);
}

struct reaped_arg {
	struct conn *c;
	const char *full;
};

static void leave_reaped(const char *room, const char *nick, const char *state, void *arg)
{
	static const char gone[] = "<presence/>";
	struct reaped_arg *a = arg;
	char id[MUC_ID_MAX];

	(void)state;
	if (muc_leave(conn_store(a->c), room, nick, a->full, gone, sizeof gone - 1,
	    MUC_STATUS_TECHNICAL, id) < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(a->c)->err);
}

/* Another handler's session was reaped: it leaves the rooms its handler
 * could not leave, and the occupants see why (333). */
static void muc_reaped(struct conn *c, const char *bare, const char *resource,
    const char *presence)
{
	char full[JID_MAX + JID_MAX_PART];
	struct reaped_arg a = { c, full };

	(void)presence;
	snprintf(full, sizeof full, "%s/%s", bare, resource);
	if (muc_session_list(conn_store(c), bare, resource, 1, leave_reaped, &a) < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
}

static void muc_free(void *slot)
{
	struct muc_state *s = slot;
	int i;
	for (i = 0; i < s->n; i++)
		free(s->r[i]);
}

const struct module mod_muc = {
	.name = "muc",
	.inbound = muc_inbound,
	.outbound = muc_outbound,
	.flush = muc_flush,
	.tick = muc_tick,
	.resumed = muc_resumed,
	.ended = muc_ended,
	.leaving = muc_leaving,
	.reaped = muc_reaped,
	.free_slot = muc_free,
};
