/*
 * mucin.c - users of other domains in our rooms (mucin.h).
 */
#include "mucin.h"
#include "jid.h"
#include "log.h"
#include "mucinfo.h"
#include "mucremote.h"
#include "s2s.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PING "urn:xmpp:ping"
#define NS_DISCO_INFO_NS "http://jabber.org/protocol/disco#info"

static void queue(const struct xml_node *st, void *arg)
{
	struct s2s_muc_sink *k = arg;
	int r = s2s_send(k->s, k->cfg, st);

	if (r < 0 || r == S2S_FULL) {
		log_msg(r == S2S_FULL ? LOG_WARNING : LOG_ERR, "muc: queue to %s: %s",
		    xml_get(st, "to"), r == XE_INVALID ? "not for federation" : k->s->err);
		k->failed = 1;
	}
}

static void queue_raw(const char *xml, size_t len, void *arg)
{
	struct xml_node *st = xml_parse_string(xml, len);

	if (st)
		queue(st, arg);
	xml_free(st);
}

void s2s_muc_sink(struct muc_view *v, struct s2s_muc_sink *k)
{
	k->failed = 0;
	v->send = queue;
	v->send_raw = queue_raw;
	v->arg = k;
}

static const struct muc_refusal failed = { 0, "wait", "internal-server-error", NULL };
static const struct muc_refusal unavailable = { 0, "cancel", "service-unavailable", NULL };

/* What room records of occupant full: its nick (JID_MAX_PART bytes) and
 * view state. 1, 0 when full is not such an occupant, or XE_REDIS. */
static int occupant_of(struct store *s, const char *room, const char *full, char *nick,
    char *state)
{
	char value[MUC_REMOTE_VALUE_MAX];
	int r = muc_remote_get(s, room, full, value);

	if (r <= 0)
		return r;
	return muc_remote_split(value, state, nick) == 0;
}

/* XEP-0045 7.2: full joins room as nick with presence st. */
static const struct muc_refusal *join(struct store *s, const struct config *cfg,
    const struct xml_node *st, const char *room, const char *nick, const char *full)
{
	struct s2s_muc_sink k = { s, cfg, 0 };
	struct muc_view *v;
	struct muc_join j;
	const struct muc_refusal *no;
	char bare[JID_MAX], state[MUC_STATE_MAX], *value, *xml;
	size_t len;
	int rc;

	snprintf(bare, sizeof bare, "%.*s", (int)strcspn(full, "/"), full);
	xml = muc_stored_presence(st, &len);
	/* Users of other domains make rooms only where muc_creators names
	 * them: empty means every local user. */
	rc = muc_join(s, room, nick, full, xml, len, muc_join_password(st),
	    cfg->muc_creators[0] && config_muc_creator(cfg, bare), &j);
	if (rc < 0) {
		log_msg(LOG_ERR, "muc: %s", s->err);
		free(xml);
		return &failed;
	}
	if ((no = muc_join_refusal(rc))) {
		free(xml);
		return no;
	}
	v = calloc(1, sizeof *v);
	value = malloc(MUC_REMOTE_VALUE_MAX);
	if (!v || !value) {
		free(v);
		free(value);
		free(xml);
		muc_join_free(&j);
		return &failed;
	}
	muc_view_init(v, room, nick, full, j.id, j.role, j.anyone);
	s2s_muc_sink(v, &k);
	/* The welcome is queued before the relay may send what follows. */
	muc_view_welcome(s, v, st, &j, rc, xml, len);
	muc_view_state(v, state, sizeof state);
	snprintf(value, MUC_REMOTE_VALUE_MAX, "%s %s", state, nick);
	if (muc_remote_add(s, room, full, value) < 0)
		log_msg(LOG_ERR, "muc: %s joined %s, but is not relayed: %s", full, room, s->err);
	else
		log_msg(LOG_INFO, "muc: %s joined %s as %s", full, room, nick);
	muc_join_free(&j);
	free(value);
	free(v);
	free(xml);
	return NULL;
}

/* Presence st from full to room/nick: a join, a change of presence or
 * nick, an exit. */
static const struct muc_refusal *presence(struct store *s, const struct config *cfg,
    const struct xml_node *st, const char *room, const char *nick, const char *full)
{
	static const struct muc_refusal no_nick = { 0, "modify", "jid-malformed",
		"a nick is required" };
	static const struct muc_refusal conflict = { 0, "cancel", "conflict", NULL };
	const char *type = xml_get(st, "type");
	char cur[JID_MAX_PART], state[MUC_STATE_MAX], id[MUC_ID_MAX], *xml;
	struct muc_join j;
	size_t len;
	int in, rc;

	if (type && !strcmp(type, "error")) {
		s2s_muc_gone(s, room, full);
		return NULL;
	}
	if (type && strcmp(type, "unavailable"))
		return NULL;            /* subscriptions, probes: nothing here */
	if ((in = occupant_of(s, room, full, cur, state)) < 0) {
		log_msg(LOG_ERR, "muc: %s", s->err);
		return &failed;
	}
	if (type) {
		if (!in)
			return NULL;
		xml = muc_stored_presence(st, &len);
		rc = muc_leave(s, room, cur, full, xml, len, "", id);
		free(xml);
	} else if (!nick[0]) {
		return &no_nick;
	} else if (!in) {
		return join(s, cfg, st, room, nick, full);
	} else {
		/* A change: what it makes reaches the occupant through the relay. */
		xml = muc_stored_presence(st, &len);
		if (strcmp(cur, nick))
			rc = muc_nick(s, room, cur, full, nick, xml, len, id);
		else if ((rc = muc_join(s, room, nick, full, xml, len, "", 0, &j)) >= 0)
			muc_join_free(&j);
		free(xml);
	}
	if (rc < 0) {
		log_msg(LOG_ERR, "muc: %s", s->err);
		return &failed;
	}
	return rc == MUC_CONFLICT ? &conflict : NULL;
}

/* The result of IQ st, with payload q (NULL none; taken), queued. */
static void result(struct store *s, const struct config *cfg, const struct xml_node *st,
    struct xml_node *q)
{
	struct s2s_muc_sink k = { s, cfg, 0 };
	struct xml_node *r = xml_new(NS_CLIENT, "iq");

	xml_set(r, "type", "result");
	xml_set(r, "id", xml_get(st, "id") ? xml_get(st, "id") : "");
	xml_set(r, "from", xml_get(st, "to"));
	xml_set(r, "to", xml_get(st, "from"));
	if (q)
		xml_add(r, q);
	queue(r, &k);
	xml_free(r);
}

static int is_query(const struct xml_node *q, const char *ns, const char *name)
{
	return q && q->ns && !strcmp(q->ns, ns) && !strcmp(q->name, name) && !xml_get(q, "node");
}

/* An IQ to the room: its disco#info (XEP-0045 6.4), without the archive,
 * whose queries are not served across domains; to one's own occupant
 * JID, XEP-0410's ping, which says whether one is in. */
static const struct muc_refusal *iq(struct store *s, const struct config *cfg,
    const struct xml_node *st, const char *room, const char *nick, const char *full)
{
	static const struct muc_refusal out = { 0, "modify", "not-acceptable",
		"not in the room as that nick" };
	const char *type = xml_get(st, "type");
	const struct xml_node *q = xml_first_element(st);
	char bare[JID_MAX];
	struct muc_info info;
	int rc;

	if (!type || (strcmp(type, "get") && strcmp(type, "set")))
		return NULL;            /* results and errors end here */
	if (!strcmp(type, "get") && !nick[0] && is_query(q, NS_DISCO_INFO_NS, "query")) {
		snprintf(bare, sizeof bare, "%.*s", (int)strcspn(full, "/"), full);
		if ((rc = muc_info(s, room, bare, &info)) == MUC_ROOM) {
			result(s, cfg, st, muc_room_info_query(&info, room, 0));
			muc_info_free(&info);
			return NULL;
		}
	} else if (!strcmp(type, "get") && nick[0] && is_query(q, NS_PING, "ping")) {
		rc = muc_ping(s, room, nick, full);
		if (rc == MUC_IN) {
			result(s, cfg, st, NULL);
			return NULL;
		}
		if (rc >= 0)
			return &out;
	} else {
		return &unavailable;
	}
	if (rc < 0) {
		log_msg(LOG_ERR, "muc: %s", s->err);
		return &failed;
	}
	return muc_iq_refusal(rc) ? muc_iq_refusal(rc) : &unavailable;
}

static const struct muc_refusal *muc_in(struct store *s, const struct config *cfg,
    const struct xml_node *st)
{
	static const struct muc_refusal too_long = { 0, "modify", "not-acceptable",
		"room name too long" };
	const char *full = xml_get(st, "from");
	char room[JID_MAX], cur[JID_MAX_PART], state[MUC_STATE_MAX];
	struct jid j;
	int in;

	if (jid_parse(xml_get(st, "to"), &j) == -1 || !j.node[0])
		return strcmp(st->name, "presence") ? &unavailable : NULL;
	snprintf(room, sizeof room, "%s@%s", j.node, j.domain);
	if (strlen(room) >= ROUTE_NODE_MAX)
		return &too_long;
	if (!strcmp(st->name, "presence"))
		return presence(s, cfg, st, room, j.resource, full);
	if (!strcmp(st->name, "iq"))
		return iq(s, cfg, st, room, j.resource, full);
	if (xml_get(st, "type") && !strcmp(xml_get(st, "type"), "error")) {
		s2s_muc_gone(s, room, full);
		return NULL;
	}
	if ((in = occupant_of(s, room, full, cur, state)) < 0) {
		log_msg(LOG_ERR, "muc: %s", s->err);
		return &failed;
	}
	return muc_message_in(s, room, in ? cur : "", full, j.resource, st);
}

const struct muc_refusal *s2s_muc_in(struct store *s, const struct config *cfg,
    const struct xml_node *st)
{
	/* The room keeps what its occupants send as a client sends it. */
	struct xml_node *c = xml_copy(st);
	const struct muc_refusal *no;

	xml_rename_ns(c, NS_SERVER, NS_CLIENT);
	no = muc_in(s, cfg, c);
	xml_free(c);
	return no;
}

void s2s_muc_gone(struct store *s, const char *room, const char *full)
{
	static const char gone[] = "<presence/>";
	char nick[JID_MAX_PART], state[MUC_STATE_MAX], id[MUC_ID_MAX];
	int in = occupant_of(s, room, full, nick, state);

	if (in < 0 || (in && muc_leave(s, room, nick, full, gone, sizeof gone - 1,
	    MUC_STATUS_TECHNICAL, id) < 0))
		log_msg(LOG_ERR, "muc: %s", s->err);
	else if (in)
		log_msg(LOG_NOTICE, "muc: %s left %s: its server cannot be reached", full, room);
}
