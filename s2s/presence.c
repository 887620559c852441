/*
 * presence.c - presence from other domains to local users (presence.h).
 *
 *   subscribe, subscribed, unsubscribe, unsubscribed
 *       -> roster_sub.lua for the local user (the contact's side is
 *          its server's): roster push, delivery to the user's sessions
 *          or kept as a pending request; an automatic 'subscribed' (the
 *          user had approved ahead) goes back with the user's presence
 *   probe -> the user's available presences, or unavailable, back to the
 *          contact if it may see them (from/both), else nothing
 *   available, unavailable, error
 *       -> the user's available sessions (to a bare JID), or the one
 *          session (to a full JID)
 */
#include "presence.h"
#include "jid.h"
#include "log.h"
#include "roster.h"
#include "route.h"
#include "s2s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* p as a local client's stanza would be written (no stream namespace). */
static char *local_xml(const struct xml_node *p)
{
	struct xbuf x = { 0 };
	xml_write(&x, p, "jabber:server");
	xbuf_add(&x, "", 1);
	return x.p;
}

/* A "presence" envelope to bare's available sessions, or a "stanza" one
 * to the session of resource. */
static void deliver(struct store *s, const char *bare, const char *resource, const char *xml)
{
	char chan[STORE_MAX_KEY], *env;
	size_t len;

	if (resource[0]) {
		env = route_envelope("stanza", xml, &len);
		store_full_channel(s, bare, resource, chan, sizeof chan);
		if (route_publish(s, chan, env, len) < 0)
			log_msg(LOG_ERR, "presence: %s", s->err);
	} else {
		env = route_envelope("presence", xml, &len);
		if (route_fanout(s, &bare, 1, (const char *const *)&env, &len, NULL) < 0)
			log_msg(LOG_ERR, "presence: %s", s->err);
	}
	free(env);
}

/* Queue a presence of type (NULL: the xml given) from `from` to `to`. */
static void send_back(struct store *s, const struct config *cfg, const char *from,
    const char *to, const char *type, const char *xml)
{
	struct xml_node *p = xml ? xml_parse_string(xml, strlen(xml)) : xml_new("jabber:client",
	    "presence");
	int r;

	if (!p)
		return;
	if (type)
		xml_set(p, "type", type);
	xml_set(p, "from", from);
	xml_set(p, "to", to);
	if ((r = s2s_send(s, cfg, p)) < 0 || r == S2S_FULL)
		log_msg(LOG_WARNING, "presence to %s not queued: %s", to, s->err);
	xml_free(p);
}

struct answer {
	struct store *s;
	const struct config *cfg;
	const char *to;
	int sent;
};

static void answer_one(const char *xml, size_t len, void *arg)
{
	struct answer *a = arg;
	char *x = strndup(xml, len);
	struct xml_node *p = x ? xml_parse_string(x, len) : NULL;
	const char *from = p ? xml_get(p, "from") : NULL;

	if (from) {
		send_back(a->s, a->cfg, from, a->to, NULL, x);
		a->sent++;
	}
	xml_free(p);
	free(x);
}

/* The local user's subscription to contact, as its roster item says. */
static enum roster_sub subscription(struct store *s, const char *bare, const char *contact)
{
	char key[STORE_MAX_KEY];
	enum roster_sub sub = SUB_NONE;
	redisReply *r;

	store_user_key(s, bare, "roster", key, sizeof key);
	r = store_cmd(s, "HGET %s %s", key, contact);
	if (r && r->type == REDIS_REPLY_STRING)
		sub = roster_item_sub(r->str);
	if (r)
		freeReplyObject(r);
	return sub;
}

/* RFC 6121 4.3.2: a probe is answered only to a contact allowed to see
 * the user's presence. */
static void probe(struct store *s, const struct config *cfg, const char *bare,
    const char *contact, const char *from)
{
	struct answer a = { s, cfg, from, 0 };
	const char *who[1] = { bare };

	if (!SUB_HAS_FROM(subscription(s, bare, contact)))
		return;
	if (route_presence_of(s, who, 1, answer_one, &a) < 0)
		log_msg(LOG_ERR, "probe: %s", s->err);
	else if (!a.sent)
		send_back(s, cfg, bare, from, "unavailable", NULL);
}

/* The local user's side of a subscription presence from contact. */
static void subscription_in(struct store *s, const struct config *cfg, const char *bare,
    const char *contact, const char *type, const char *xml)
{
	enum roster_action a = RA_DROP;
	char ver[ROSTER_VER_MAX], *item = NULL;
	struct xbuf attr = { 0 };
	struct answer ans = { s, cfg, contact, 0 };
	const char *who[1] = { bare };

	xbuf_add_esc(&attr, contact, strlen(contact));
	if (roster_subscription(s, bare, contact, 0, type, attr.p ? attr.p : "", xml, &a, &item,
	    ver, sizeof ver) < 0) {
		log_msg(LOG_ERR, "subscription: %s", s->err);
		a = RA_DROP;
	}
	if (item && route_push(s, bare, item, ver) < 0)
		log_msg(LOG_ERR, "roster push: %s", s->err);
	if (a == RA_DELIVER)
		deliver(s, bare, "", xml);
	else if (a == RA_AUTOREPLY) {
		/* Approved ahead: subscribed, and what the contact may now see. */
		send_back(s, cfg, bare, contact, "subscribed", NULL);
		if (route_presence_of(s, who, 1, answer_one, &ans) < 0)
			log_msg(LOG_ERR, "subscription: %s", s->err);
	}
	free(item);
	xbuf_free(&attr);
}

void s2s_presence_in(struct store *s, const struct config *cfg, const struct xml_node *p)
{
	const char *type = xml_get(p, "type"), *from = xml_get(p, "from"), *to = xml_get(p, "to");
	char bare[JID_MAX], contact[JID_MAX], *xml;
	struct jid t, f;

	if (!from || !to || jid_parse(to, &t) == -1 || jid_parse(from, &f) == -1)
		return;
	jid_bare(&t, bare, sizeof bare);
	jid_bare(&f, contact, sizeof contact);
	xml = local_xml(p);
	if (type && (!strcmp(type, "subscribe") || !strcmp(type, "subscribed") ||
	    !strcmp(type, "unsubscribe") || !strcmp(type, "unsubscribed"))) {
		/* RFC 6121 3.1.3: stamped with bare JIDs. */
		struct xml_node *c = xml_copy(p);
		free(xml);
		xml_set(c, "from", contact);
		xml_set(c, "to", bare);
		xml = local_xml(c);
		xml_free(c);
		subscription_in(s, cfg, bare, contact, type, xml);
	} else if (type && !strcmp(type, "probe")) {
		probe(s, cfg, bare, contact, from);
	} else if (!type || !strcmp(type, "unavailable") || !strcmp(type, "error")) {
		deliver(s, bare, t.resource, xml);
	} else {
		log_msg(LOG_INFO, "presence of unknown type %s from %s dropped", type, from);
	}
	free(xml);
}
