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
