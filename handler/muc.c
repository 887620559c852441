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
#include "mucview.h"
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
#define MUC_CATCHUP_SEC 1       /* a read after joining: a wake-up published
                                   before our SUBSCRIBE took effect is lost */
#define MUC_RESUME_TRIES 5      /* seconds a resumed session waits for the
                                   rooms its kicked handler still holds */
#define MUC_STATUS_SELF "110"   /* XEP-0045: the presence is one's own */

struct muc_room {
	struct muc_view v;              /* room, nick, last entry rendered ... */
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
		if (!strcmp(s->r[i]->v.room, room))
			return s->r[i];
	return NULL;
}

static void room_forget(struct conn *c, struct muc_room *r)
{
	struct muc_state *s = state_of(c);
	char chan[STORE_MAX_KEY];
	int i;

	store_user_key(conn_store(c), r->v.room, NULL, chan, sizeof chan);
	if (route_unsubscribe_channel(conn_store(c), chan) < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	for (i = 0; i < s->n; i++)
		if (s->r[i] == r) {
			s->r[i] = s->r[--s->n];
			break;
		}
	free(r);
}

/* Subscribe to room's channel (its name into chan): 0, or < 0 with the
 * store's error. Where a resharding moves the channel, a wake-up without
 * an event ("muc ROOM", route.h) makes the session read the room's log
 * for what it missed. */
static int subscribe_room(struct conn *c, const char *room, char *chan, size_t chansz)
{
	char wake[ROUTE_NODE_MAX + 8];
	store_user_key(conn_store(c), room, NULL, chan, chansz);
	snprintf(wake, sizeof wake, "muc %s\n", room);
	return route_subscribe_channel(conn_store(c), chan, wake);
}

/* Remember (nick) or forget (NULL) that our session is in room, for
 * whoever reaps it if this handler dies (muc_session_set). */
static void mark(struct conn *c, const char *room, const char *nick)
{
	if (muc_session_set(conn_store(c), conn_bare(c), conn_resource(c), room, nick,
	    NULL) < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
}

/* ---- rendering an event for this client (mucview.h) ---- */

static void view_send(const struct xml_node *st, void *arg)
{
	conn_send(arg, st);
}

static void view_send_raw(const char *xml, size_t len, void *arg)
{
	conn_send_raw(arg, xml, len);
}

/* A room of ours, as our client sees it from entry last on. */
static struct muc_room *room_new(struct conn *c, const char *room, const char *nick,
    const char *last, const char *role, int anyone)
{
	struct muc_room *r = xcalloc(1, sizeof *r);

	muc_view_init(&r->v, room, nick, conn_full(c), last, role, anyone);
	r->v.send = view_send;
	r->v.send_raw = view_send_raw;
	r->v.arg = c;
	return r;
}

/* Write what the room's log holds after the last entry we rendered.
 * When it said we are out, the room is forgotten (r is freed): returns
 * 1 then, else 0. */
static int read_log(struct conn *c, struct muc_room *r)
{
	r->pending = 0;
	if (muc_view_read(conn_store(c), &r->v) < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	if (!r->v.out)
		return 0;
	mark(c, r->v.room, NULL);
	room_forget(c, r);
	return 1;
}

/* ---- joining and leaving ---- */

int muc_refused(struct conn *c, const struct xml_node *st, int rc)
{
	const struct muc_refusal *no = muc_iq_refusal(rc);

	if (rc < 0) {
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		conn_error(c, st, "wait", "internal-server-error", NULL);
		return 1;
	}
	if (no)
		conn_error(c, st, no->type, no->cond, no->text);
	return no != NULL;
}

/* XEP-0045 7.2: presence st to room/nick from a session not in room. */
static void join(struct conn *c, const struct xml_node *st, const char *room, const char *nick)
{
	struct muc_state *s = state_of(c);
	struct muc_join j;
	struct muc_room *r;
	const struct muc_refusal *no;
	char chan[STORE_MAX_KEY], *xml;
	size_t len;
	int rc;

	if (s->n == MUC_ROOMS_MAX) {
		conn_error(c, st, "wait", "resource-constraint", "in too many rooms");
		return;
	}
	/* Subscribed first: no event after our join goes unseen. */
	if (subscribe_room(c, room, chan, sizeof chan) < 0) {
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		conn_error(c, st, "wait", "internal-server-error", NULL);
		return;
	}
	xml = muc_stored_presence(st, &len);
	mark(c, room, nick);    /* before: a death right after the join is covered */
	rc = muc_join(conn_store(c), room, nick, conn_full(c), xml, len, muc_join_password(st),
	    config_muc_creator(conn_cfg(c), conn_bare(c)), &j);
	no = muc_join_refusal(rc);
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
	/* muc_inbound made room shorter than ROUTE_NODE_MAX. */
	r = room_new(c, room, nick, j.id, j.role, j.anyone);
	r->catchup = time(NULL) + MUC_CATCHUP_SEC;
	s->r[s->n++] = r;
	muc_view_welcome(conn_store(c), &r->v, st, &j, rc, xml, len);
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
		xml = muc_stored_presence(st, &len);
	} else {
		xml = xstrdup("<presence/>");
		len = strlen(xml);
	}
	rc = muc_leave(conn_store(c), r->v.room, r->v.nick, conn_full(c), xml, len, "", id);
	free(xml);
	if (rc < 0)
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
	/* Up to our own unavailable presence, which forgets the room. */
	else if (rc == MUC_LEFT && st && read_log(c, r))
		return;
	if (rc >= 0)
		mark(c, r->v.room, NULL);
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
	xml = muc_stored_presence(st, &len);
	if (strcmp(r->v.nick, nick)) {
		mark(c, room, nick);
		rc = muc_nick(conn_store(c), room, r->v.nick, conn_full(c), nick, xml, len, id);
		if (rc != MUC_CHANGED)
			mark(c, room, r->v.nick);
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

/* A groupchat message to the room, or a private message (type chat) to
 * room/nick (muc_message_in). */
static void message_to_room(struct conn *c, const struct xml_node *st, const char *room,
    const char *nick)
{
	struct muc_room *r = room_find(c, room);
	const struct muc_refusal *no = muc_message_in(conn_store(c), room, r ? r->v.nick : "",
	    conn_full(c), nick, st);

	if (no)
		conn_error(c, st, no->type, no->cond, no->text);
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
	if (request && r && !strcmp(nick, r->v.nick) && !strcmp(type, "get") && q && q->ns &&
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
	snprintf(from, sizeof from, "%s/%s", r->v.room, r->v.nick);
	f.st = xml_copy(iq);
	xml_set(f.st, "from", from);
	rc = muc_occupant_jids(conn_store(c), room, r->v.nick, conn_full(c), nick, forward_one, &f);
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
		mam_room_iq(c, iq, room, r ? r->v.nick : "");
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
static int message_woken(struct muc_room *r, const struct route_msg *m)
{
	const char *nl = memchr(m->body, '\n', m->body_len);
	char nick[JID_MAX_PART], sid[sizeof m->id + sizeof m->rand];
	size_t n;

	if (entry_cmp(m->id, r->v.last) <= 0)
		return 0;
	if (strcmp(m->prev, r->v.last) || !nl || (n = (size_t)(nl - m->body)) >= sizeof nick)
		return -1;
	memcpy(nick, m->body, n);
	nick[n] = '\0';
	snprintf(sid, sizeof sid, "%s-%s", m->id, m->rand);
	muc_view_message(&r->v, nick, nl + 1, m->body_len - n - 1, sid);
	snprintf(r->v.last, sizeof r->v.last, "%s", m->id);
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
	if (r->pending || !m->id[0] || message_woken(r, m) < 0)
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
		muc_view_state(&r->v, state, sizeof state);
		if (muc_session_set(conn_store(c), conn_bare(c), conn_resource(c), r->v.room,
		    r->v.nick, state) < 0)
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

	if (room_find(c, room) || s->n == MUC_ROOMS_MAX || strlen(room) >= ROUTE_NODE_MAX)
		return;
	if (!state[0]) {
		s->resume_missing++;
		return;
	}
	if (subscribe_room(c, room, chan, sizeof chan) < 0) {
		log_msg(LOG_ERR, "muc: %s", conn_store(c)->err);
		return;
	}
	r = room_new(c, room, nick, "0", "", 0);
	muc_view_restore(&r->v, state);
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
