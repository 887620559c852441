/*
 * mucview.c - a room's events as one occupant sees them (mucview.h).
 */
#include "mucview.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void muc_view_init(struct muc_view *v, const char *room, const char *nick, const char *to,
    const char *last, const char *role, int anyone)
{
	snprintf(v->room, sizeof v->room, "%s", room);
	snprintf(v->nick, sizeof v->nick, "%s", nick);
	snprintf(v->to, sizeof v->to, "%s", to);
	snprintf(v->last, sizeof v->last, "%s", last);
	snprintf(v->role, sizeof v->role, "%s", role);
	v->anyone = anyone;
	v->out = 0;
}

void muc_view_state(const struct muc_view *v, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s %s %d", v->last, v->role, v->anyone);
}

void muc_view_restore(struct muc_view *v, const char *state)
{
	int anyone = 0;

	if (sscanf(state, "%63s %15s %d", v->last, v->role, &anyone) != 3)
		snprintf(v->last, sizeof v->last, "0");
	v->anyone = anyone;
}

static void add_status(struct xml_node *x, const char *code)
{
	xml_set(xml_new_child(x, NS_MUC_USER, "status"), "code", code);
}

/* Each of the space-separated status codes in codes. */
static void add_statuses(struct xml_node *x, const char *codes)
{
	char buf[64], *w, *save = NULL;

	snprintf(buf, sizeof buf, "%s", codes);
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		add_status(x, w);
}

/* The stanza of event e as the occupant sees it: from room/nick, to it. */
static struct xml_node *stanza_of(const struct muc_view *v, const struct muc_event *e,
    const char *name)
{
	struct xml_node *st = e->xml_len ? xml_parse_string(e->xml, e->xml_len) : NULL;
	char from[ROUTE_NODE_MAX + JID_MAX_PART + 1];

	if (!st || strcmp(st->name, name)) {
		xml_free(st);
		st = xml_new(NS_CLIENT, name);
	}
	snprintf(from, sizeof from, "%s/%s", v->room, e->nick);
	xml_set(st, "from", from);
	xml_set(st, "to", v->to);
	return st;
}

static void send_free(struct muc_view *v, struct xml_node *st)
{
	v->send(st, v->arg);
	xml_free(st);
}

/* A presence event (or an occupant, when joining): XEP-0045 7.2.3; a
 * nick change's unavailable (7.6) keeps the role and names the new nick,
 * and our own moves us to it. */
static void render_presence(struct muc_view *v, const struct muc_event *e)
{
	int own = !strcmp(e->nick, v->nick), gone = !strcmp(e->ptype, "unavailable");
	int renamed = gone && e->newnick[0];
	struct xml_node *st, *x, *item;

	/* One session of a nick that others still hold: only it sees it go. */
	if (gone && !e->last && strcmp(e->jid, v->to))
		return;
	/* We are out (we left, were removed, or our nick's last session
	 * left). */
	if (own && gone && !renamed)
		v->out = 1;
	if (own && !gone)
		snprintf(v->role, sizeof v->role, "%s", e->role);
	st = stanza_of(v, e, "presence");
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
	if (own || v->anyone || !strcmp(v->role, "moderator"))
		xml_set(item, "jid", e->jid);
	if (e->actor[0])
		xml_set(xml_new_child(item, NS_MUC_USER, "actor"), "nick", e->actor);
	if (e->reason[0])
		xml_add_text(xml_new_child(item, NS_MUC_USER, "reason"), e->reason,
		    strlen(e->reason));
	if (own)
		add_status(x, MUC_STATUS_SELF);
	add_statuses(x, e->codes);
	send_free(v, st);
	if (own && renamed)
		snprintf(v->nick, sizeof v->nick, "%s", e->newnick);
}

int muc_groupchat_xml(const char *room, const char *nick, const char *to, const char *xml,
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
	xbuf_add_esc(b, to, strlen(to));
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

void muc_view_message(struct muc_view *v, const char *nick, const char *xml, size_t len,
    const char *sid)
{
	struct xbuf b = { 0 };

	if (muc_groupchat_xml(v->room, nick, v->to, xml, len, sid, "", &b) == 0)
		v->send_raw(b.p, b.len, v->arg);
	xbuf_free(&b);
}

/* A private message event (XEP-0045 7.5), for the recipient nick's
 * sessions only: from room/sendernick, marked with an empty muc#user
 * <x/>. */
static void render_private(struct muc_view *v, const struct muc_event *e)
{
	struct xml_node *st;

	if (strcmp(e->tonick, v->nick))
		return;
	st = stanza_of(v, e, "message");
	xml_remove_children(st, NS_MUC_USER, "x");
	xml_new_child(st, NS_MUC_USER, "x");
	send_free(v, st);
}

/* A subject change (XEP-0045 8.1): the stored message, from room/nick. */
static void render_subject(struct muc_view *v, const struct muc_event *e)
{
	struct xml_node *st = stanza_of(v, e, "message");

	xml_set(st, "type", "groupchat");
	send_free(v, st);
}

/* A configuration change (XEP-0045 10.2.1): a message from the room
 * with the status codes; whether real JIDs show may have changed. */
static void render_config(struct muc_view *v, const struct muc_event *e)
{
	struct xml_node *m = xml_new(NS_CLIENT, "message");

	v->anyone = !strcmp(e->whois, "anyone");
	xml_set(m, "from", v->room);
	xml_set(m, "to", v->to);
	xml_set(m, "type", "groupchat");
	add_statuses(xml_new_child(m, NS_MUC_USER, "x"), e->codes);
	send_free(v, m);
}

/* The room is destroyed (XEP-0045 10.9): our unavailable presence with
 * the reason and alternate venue; we are out. */
static void render_destroy(struct muc_view *v, const struct muc_event *e)
{
	struct xml_node *p = xml_new(NS_CLIENT, "presence"), *x, *item, *d;
	char from[ROUTE_NODE_MAX + JID_MAX_PART + 1];

	snprintf(from, sizeof from, "%s/%s", v->room, v->nick);
	xml_set(p, "from", from);
	xml_set(p, "to", v->to);
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
	send_free(v, p);
	v->out = 1;
}

void muc_view_event(struct muc_view *v, const struct muc_event *e)
{
	if (!strcmp(e->type, "presence"))
		render_presence(v, e);
	else if (!strcmp(e->type, "message"))
		muc_view_message(v, e->nick, e->xml, e->xml_len, e->sid);
	else if (!strcmp(e->type, "private"))
		render_private(v, e);
	else if (!strcmp(e->type, "subject"))
		render_subject(v, e);
	else if (!strcmp(e->type, "config"))
		render_config(v, e);
	else if (!strcmp(e->type, "destroy"))
		render_destroy(v, e);
}

static void render(const struct muc_event *e, void *arg)
{
	struct muc_view *v = arg;
	/* A batch goes on past our own exit: what follows is not ours. */
	if (!v->out)
		muc_view_event(v, e);
}

int muc_view_read(struct store *s, struct muc_view *v)
{
	int n, total = 0;

	do {
		n = muc_log_read(s, v->room, v->last, MUC_VIEW_READ_BATCH, render, v, v->last);
		if (n < 0)
			return n;
		total += n;
	} while (n == MUC_VIEW_READ_BATCH && !v->out);
	return total;
}

/* XEP-0045 7.2.16: the subject, empty until set, ends the join: the
 * room keeps the message that set it (xml) and who (nick). */
static void send_subject(struct muc_view *v, const char *nick, const char *xml, size_t len)
{
	struct xml_node *m = len ? xml_parse_string(xml, len) : NULL;
	char from[ROUTE_NODE_MAX + JID_MAX_PART + 1];

	if (!m || strcmp(m->name, "message")) {
		xml_free(m);
		m = xml_new(NS_CLIENT, "message");
		xml_new_child(m, NS_CLIENT, "subject");
	}
	snprintf(from, sizeof from, "%s%s%.*s", v->room, nick[0] ? "/" : "", JID_MAX_PART - 1,
	    nick);
	xml_set(m, "from", from);
	xml_set(m, "to", v->to);
	xml_set(m, "type", "groupchat");
	send_free(v, m);
}

void muc_view_welcome(struct store *s, struct muc_view *v, const struct xml_node *st,
    const struct muc_join *j, int rc, const char *xml, size_t len)
{
	struct muc_event self;
	char codes[16];
	int i;

	/* XEP-0045 7.2.3: the others' presence, then our own, then the
	 * history and the subject; what happens after the join comes from
	 * the log. */
	for (i = 0; i < j->nocc; i++)
		render_presence(v, &j->occ[i]);
	memset(&self, 0, sizeof self);
	self.id = j->id;
	self.type = "presence";
	self.nick = v->nick;
	self.jid = v->to;
	self.role = j->role;
	self.aff = j->aff;
	self.ptype = "";
	self.newnick = self.tonick = "";
	self.actor = self.reason = self.venue = self.whois = "";
	snprintf(codes, sizeof codes, "%s %s %s", j->anyone ? MUC_STATUS_NONANON : "",
	    j->logging ? MUC_STATUS_LOGGED : "", rc == MUC_CREATED ? MUC_STATUS_CREATED : "");
	self.codes = codes;
	self.xml = xml;
	self.xml_len = len;
	render_presence(v, &self);
	muc_view_history(s, v, st, j->id, j->history);
	send_subject(v, j->subject_nick, j->subject, j->subject_len);
}

char *muc_stored_presence(const struct xml_node *st, size_t *len)
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

const char *muc_join_password(const struct xml_node *st)
{
	struct xml_node *x = xml_child(st, NS_MUC, "x");
	struct xml_node *pw = x ? xml_child(x, NS_MUC, "password") : NULL;
	return pw ? xml_text(pw) : "";
}

static const struct muc_refusal join_refusals[] = {
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

static const struct muc_refusal iq_refusals[] = {
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
static const struct muc_refusal *refusal_in(const struct muc_refusal *t, int rc)
{
	for (; t->cond; t++)
		if (t->rc == rc)
			return t;
	return NULL;
}

const struct muc_refusal *muc_join_refusal(int rc)
{
	return refusal_in(join_refusals, rc);
}

const struct muc_refusal *muc_iq_refusal(int rc)
{
	return refusal_in(iq_refusals, rc);
}

/* XEP-0045 8.1: a groupchat message with a subject and no body sets
 * the subject. */
static int is_subject(const struct xml_node *st)
{
	return xml_child(st, NS_CLIENT, "subject") && !xml_child(st, NS_CLIENT, "body");
}

const struct muc_refusal *muc_message_in(struct store *s, const char *room, const char *self,
    const char *full, const char *tonick, const struct xml_node *st)
{
	static const struct muc_refusal type = { 0, "cancel", "feature-not-implemented",
		"only groupchat messages to the room, chat to an occupant" };
	static const struct muc_refusal failed = { 0, "wait", "internal-server-error", NULL };
	static const struct muc_refusal no_pm = { MUC_FORBIDDEN, "auth", "forbidden",
		"the room allows no such private message" };
	static const struct muc_refusal no_subject = { MUC_FORBIDDEN, "auth", "forbidden",
		"not allowed to change the subject" };
	static const struct muc_refusal no_voice = { MUC_FORBIDDEN, "auth", "forbidden",
		"no voice in this room" };
	const char *t = xml_get(st, "type");
	int private = tonick[0] != '\0';
	struct xml_node *m;
	char sid[MUC_ID_MAX], *xml;
	size_t len;
	int rc;

	if (t && !strcmp(t, "error"))
		return NULL;
	if (!t || strcmp(t, private ? "chat" : "groupchat"))
		return &type;
	m = xml_copy(st);
	xml_unset(m, "from");
	xml_unset(m, "to");
	xml_remove_children(m, NS_SID, "stanza-id");
	xml = xml_string(m, &len);
	xml_free(m);
	if (private)
		rc = muc_private(s, room, self, full, tonick, xml, len, sid);
	else if (is_subject(st))
		rc = muc_subject(s, room, self, full, xml, len, sid);
	else
		rc = muc_message(s, room, self, full, xml, len, sid);
	free(xml);
	if (rc < 0) {
		log_msg(LOG_ERR, "muc: %s", s->err);
		return &failed;
	}
	if (rc == MUC_FORBIDDEN)
		return private ? &no_pm : is_subject(st) ? &no_subject : &no_voice;
	return rc == MUC_NOT_OCCUPANT || rc == MUC_NO_NICK ? muc_iq_refusal(rc) : NULL;
}
