/*
 * push.c - XEP-0357 push notifications (push.h).
 */
#include "push.h"
#include "config.h"
#include "log.h"
#include "random.h"
#include "s2s.h"
#include "scripts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PUBSUB_P   "http://jabber.org/protocol/pubsub"
#define NS_XDATA_P    "jabber:x:data"
#define NS_SUMMARY    "urn:xmpp:push:summary"
#define PUSH_FIELD_MAX (3 * 1024 + 1024)   /* a JID, '\n', a node */
#define PUSH_ID_RAND  8                    /* random bytes of an IQ id */

static int field_of(const char *jid, const char *node, char *out, size_t outsz)
{
	return snprintf(out, outsz, "%s\n%s", jid, node) >= (int)outsz ? -1 : 0;
}

int push_enable(struct store *s, const char *bare, const char *jid, const char *node,
    const char *options)
{
	static const char *const outcomes[] = { [PUSH_OK] = "ok", [PUSH_FULL] = "full", NULL };
	char key[STORE_MAX_KEY], field[PUSH_FIELD_MAX], max[16];
	const char *argv[4] = { key, field, options, max };
	redisReply *r;
	int o;

	if (field_of(jid, node, field, sizeof field) == -1) {
		snprintf(s->err, sizeof s->err, "push: node too long");
		return XE_INVALID;
	}
	store_user_key(s, bare, "push", key, sizeof key);
	snprintf(max, sizeof max, "%d", PUSH_REGISTRATIONS_MAX);
	o = store_script(s, "push_enable", lua_push_enable, lua_push_enable_sha, 1, 4, argv, NULL,
	    outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

int push_disable(struct store *s, const char *bare, const char *jid, const char *node)
{
	char key[STORE_MAX_KEY], state[STORE_MAX_KEY], field[PUSH_FIELD_MAX];
	size_t n = strlen(jid);
	redisReply *r;
	size_t i;
	int gone = 0;

	store_user_key(s, bare, "push", key, sizeof key);
	store_user_key(s, bare, "pushstate", state, sizeof state);
	if (!(r = store_cmd(s, "HKEYS %s", key)))
		return XE_REDIS;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const char *f = r->element[i]->str;
		redisReply *d;
		if (strncmp(f, jid, n) || f[n] != '\n' || (node && strcmp(f + n + 1, node)))
			continue;
		snprintf(field, sizeof field, "%s", f);
		if (!(d = store_cmd(s, "HDEL %s %s", key, field))) {
			freeReplyObject(r);
			return XE_REDIS;
		}
		gone += d->type == REDIS_REPLY_INTEGER ? (int)d->integer : 0;
		freeReplyObject(d);
		if ((d = store_cmd(s, "HDEL %s %s", state, field)))
			freeReplyObject(d);
	}
	freeReplyObject(r);
	return gone;
}

int push_worthy(const struct xml_node *st)
{
	const char *type = xml_get(st, "type");
	const struct xml_node *k;

	if (strcmp(st->name, "message") || (type && strcmp(type, "chat") && strcmp(type, "normal")))
		return 0;
	for (k = st->children; k; k = k->next)
		if (k->name && ((!strcmp(k->name, "body") && k->ns && !strcmp(k->ns, NS_CLIENT)) ||
		    (!strcmp(k->name, "encrypted") && k->ns &&
		    (!strcmp(k->ns, "eu.siacs.conversations.axolotl") ||
		    !strcmp(k->ns, "urn:xmpp:openpgp:0")))))
			return 1;
	return 0;
}

static void field(struct xml_node *x, const char *var, const char *value)
{
	struct xml_node *f = xml_new_child(x, NS_XDATA_P, "field");

	xml_set(f, "var", var);
	xml_add_text(xml_new_child(f, NS_XDATA_P, "value"), value, strlen(value));
}

/* The publish of one notification to the app server in field ("jid\n
 * node") with publish-options form (serialised, "" none). */
static struct xml_node *notification(const struct config *cfg, const char *bare,
    const char *fieldname, const char *form, long count, const struct xml_node *st)
{
	const char *nl = strchr(fieldname, '\n'), *body;
	struct xml_node *iq, *ps, *pub, *x, *opts, *f;
	char jid[PUSH_FIELD_MAX], n[24], id[2 * PUSH_ID_RAND + 8];
	struct xml_node *b = xml_child(st, NS_CLIENT, "body");

	snprintf(jid, sizeof jid, "%.*s", (int)(nl - fieldname), fieldname);
	strcpy(id, "push-");
	if (random_hex(id + 5, PUSH_ID_RAND) < 0)
		strcpy(id + 5, "0");
	iq = xml_new(NS_CLIENT, "iq");
	xml_set(iq, "type", "set");
	xml_set(iq, "from", bare);
	xml_set(iq, "to", jid);
	xml_set(iq, "id", id);
	ps = xml_new_child(iq, NS_PUBSUB_P, "pubsub");
	pub = xml_new_child(ps, NS_PUBSUB_P, "publish");
	xml_set(pub, "node", nl + 1);
	x = xml_new_child(xml_new_child(xml_new_child(pub, NS_PUBSUB_P, "item"), NS_PUSH,
	    "notification"), NS_XDATA_P, "x");
	xml_set(x, "type", "submit");
	field(x, "FORM_TYPE", NS_SUMMARY);
	snprintf(n, sizeof n, "%ld", count);
	field(x, "message-count", n);
	field(x, "last-message-sender", xml_get(st, "from") ? xml_get(st, "from") : "");
	if (cfg->push_body && b && (body = xml_text(b)) && body[0])
		field(x, "last-message-body", body);
	if (form[0] && (f = xml_parse_string(form, strlen(form)))) {
		opts = xml_new_child(ps, NS_PUBSUB_P, "publish-options");
		xml_add(opts, f);
	}
	return iq;
}

int push_notify(struct store *s, const struct config *cfg, const char *bare,
    const struct xml_node *st)
{
	static const char *const outcomes[] = { "notify", NULL };
	char key[STORE_MAX_KEY], state[STORE_MAX_KEY], now[24], every[16];
	const char *argv[4] = { key, state, now, every };
	redisReply *r;
	size_t i;
	int o, sent = 0;

	if (!push_worthy(st))
		return 0;
	store_user_key(s, bare, "push", key, sizeof key);
	store_user_key(s, bare, "pushstate", state, sizeof state);
	snprintf(now, sizeof now, "%ld", (long)time(NULL));
	snprintf(every, sizeof every, "%d", cfg->push_interval);
	o = store_script(s, "push_note", lua_push_note, lua_push_note_sha, 2, 4, argv, NULL,
	    outcomes, &r);
	if (o < 0)
		return o;
	for (i = 1; i + 2 < r->elements; i += 3) {
		redisReply *f = r->element[i], *form = r->element[i + 1], *n = r->element[i + 2];
		struct xml_node *iq;
		int q;

		if (f->type != REDIS_REPLY_STRING || form->type != REDIS_REPLY_STRING ||
		    n->type != REDIS_REPLY_INTEGER || !strchr(f->str, '\n'))
			continue;
		iq = notification(cfg, bare, f->str, form->str, (long)n->integer, st);
		q = s2s_send(s, cfg, iq);
		if (q == S2S_QUEUED)
			sent++;
		else
			log_msg(LOG_WARNING, "push: %s to %s not sent (%s)", bare, xml_get(iq, "to"),
			    q == XE_INVALID ? "not a domain federation reaches" : s->err);
		xml_free(iq);
	}
	freeReplyObject(r);
	return sent;
}
