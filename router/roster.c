/*
 * roster.c - roster items and the subscription state machine; every change
 * that reads and writes state is one Lua script (router/lua/roster_*.lua).
 */
#include "roster.h"
#include "scripts.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* roster_sub.lua's answers, indexed by enum roster_action. */
static const char *const action_outcomes[] = {
	[RA_DROP] = "drop", [RA_ROUTE] = "route", [RA_DELIVER] = "deliver",
	[RA_AUTOREPLY] = "autoreply", NULL
};

static void copy_ver(const redisReply *r, char *ver, size_t versz)
{
	if (r && r->type == REDIS_REPLY_STRING)
		snprintf(ver, versz, "%s", r->str);
	else
		snprintf(ver, versz, "0");
}

int roster_version(struct store *s, const char *bare, char *ver, size_t versz)
{
	char key[STORE_MAX_KEY];
	redisReply *r;
	store_user_key(s, bare, "rosterver", key, sizeof key);
	r = store_cmd(s, "GET %s", key);
	if (!r)
		return XE_REDIS;
	copy_ver(r, ver, versz);
	freeReplyObject(r);
	return 0;
}

int roster_each(struct store *s, const char *bare, char *ver, size_t versz,
    int (*fn)(const char *contact, const char *item, void *arg), void *arg)
{
	char key[STORE_MAX_KEY];
	redisReply *r;
	size_t i;
	int rc = 0;

	if (ver && (rc = roster_version(s, bare, ver, versz)) < 0)
		return rc;
	store_user_key(s, bare, "roster", key, sizeof key);
	r = store_cmd(s, "HGETALL %s", key);
	if (!r)
		return XE_REDIS;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		if (fn(r->element[i]->str, r->element[i + 1]->str, arg) == -1) {
			rc = XE_REDIS;
			break;
		}
	freeReplyObject(r);
	return rc;
}

/* The data of a { outcome, item, version } answer: *item (malloc'd; NULL
 * when '') and ver. XE_REPLY if the answer lacks them. */
static int item_reply(struct store *s, const char *name, redisReply *r, char **item,
    char *ver, size_t versz)
{
	int rc = 0;
	if (r->elements != 3 || r->element[1]->type != REDIS_REPLY_STRING) {
		snprintf(s->err, sizeof s->err, "%s: unexpected reply", name);
		rc = XE_REPLY;
	} else {
		*item = r->element[1]->len ? xstrndup(r->element[1]->str, r->element[1]->len) : NULL;
		copy_ver(r->element[2], ver, versz);
	}
	freeReplyObject(r);
	return rc;
}

int roster_set(struct store *s, const char *bare, const char *contact,
    const char *body, char **item, char *ver, size_t versz)
{
	static const char *const set[] = { "set", NULL };
	char rk[STORE_MAX_KEY], vk[STORE_MAX_KEY];
	const char *argv[4];
	redisReply *r;
	int rc;

	*item = NULL;
	store_user_key(s, bare, "roster", rk, sizeof rk);
	store_user_key(s, bare, "rosterver", vk, sizeof vk);
	argv[0] = rk; argv[1] = vk; argv[2] = contact; argv[3] = body;
	rc = store_script(s, "roster_set", lua_roster_set, lua_roster_set_sha, 2, 4, argv, NULL,
	    set, &r);
	if (rc < 0)
		return rc;
	return item_reply(s, "roster_set", r, item, ver, versz);
}

int roster_put(struct store *s, const char *bare, const char *contact,
    const char *item, char *ver, size_t versz)
{
	char rk[STORE_MAX_KEY], vk[STORE_MAX_KEY];
	redisReply *r;

	store_user_key(s, bare, "roster", rk, sizeof rk);
	store_user_key(s, bare, "rosterver", vk, sizeof vk);
	r = store_cmd(s, "HSET %s %s %s", rk, contact, item);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	r = store_cmd(s, "INCR %s", vk);
	if (!r)
		return XE_REDIS;
	snprintf(ver, versz, "%lld", r->integer);
	freeReplyObject(r);
	return 0;
}

int roster_remove(struct store *s, const char *bare, const char *contact,
    char **old, char *ver, size_t versz)
{
	enum { REMOVED, ABSENT };
	static const char *const outcomes[] = { [REMOVED] = "removed", [ABSENT] = "absent", NULL };
	char rk[STORE_MAX_KEY], vk[STORE_MAX_KEY], pk[STORE_MAX_KEY];
	const char *argv[4];
	redisReply *r;
	int o;

	*old = NULL;
	store_user_key(s, bare, "roster", rk, sizeof rk);
	store_user_key(s, bare, "rosterver", vk, sizeof vk);
	store_user_key(s, bare, "pending", pk, sizeof pk);
	argv[0] = rk; argv[1] = vk; argv[2] = pk; argv[3] = contact;
	o = store_script(s, "roster_remove", lua_roster_remove, lua_roster_remove_sha, 3, 4,
	    argv, NULL, outcomes, &r);
	if (o < 0)
		return o;
	if (o == ABSENT) {
		/* { 'absent', version } */
		copy_ver(r->elements == 2 ? r->element[1] : NULL, ver, versz);
		freeReplyObject(r);
		return 0;
	}
	return item_reply(s, "roster_remove", r, old, ver, versz);
}

int roster_subscription(struct store *s, const char *bare, const char *contact,
    int out, const char *type, const char *contact_attr, const char *stanza,
    enum roster_action *action, char **item, char *ver, size_t versz)
{
	char rk[STORE_MAX_KEY], vk[STORE_MAX_KEY], pk[STORE_MAX_KEY];
	const char *argv[8];
	redisReply *r;
	int o, rc;

	*action = RA_DROP;
	*item = NULL;
	store_user_key(s, bare, "roster", rk, sizeof rk);
	store_user_key(s, bare, "rosterver", vk, sizeof vk);
	store_user_key(s, bare, "pending", pk, sizeof pk);
	argv[0] = rk; argv[1] = vk; argv[2] = pk; argv[3] = contact;
	argv[4] = out ? "out" : "in"; argv[5] = type; argv[6] = contact_attr; argv[7] = stanza;
	o = store_script(s, "roster_sub", lua_roster_sub, lua_roster_sub_sha, 3, 8, argv, NULL,
	    action_outcomes, &r);
	if (o < 0)
		return o;
	if ((rc = item_reply(s, "roster_sub", r, item, ver, versz)) < 0)
		return rc;
	*action = (enum roster_action)o;
	return 0;
}

int roster_pending_each(struct store *s, const char *bare,
    int (*fn)(const char *contact, const char *stanza, void *arg), void *arg)
{
	char key[STORE_MAX_KEY];
	redisReply *r;
	size_t i;

	store_user_key(s, bare, "pending", key, sizeof key);
	r = store_cmd(s, "HGETALL %s", key);
	if (!r)
		return XE_REDIS;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		fn(r->element[i]->str, r->element[i + 1]->str, arg);
	freeReplyObject(r);
	return 0;
}
