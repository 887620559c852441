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
		return -1;
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

	if (ver && roster_version(s, bare, ver, versz) == -1)
		return -1;
	store_user_key(s, bare, "roster", key, sizeof key);
	r = store_cmd(s, "HGETALL %s", key);
	if (!r)
		return -1;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		if (fn(r->element[i]->str, r->element[i + 1]->str, arg) == -1) {
			rc = -1;
			break;
		}
	freeReplyObject(r);
	return rc;
}

/* The reply { item, version } of roster_set / roster_remove. */
static int item_reply(redisReply *r, char **item, char *ver, size_t versz)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		freeReplyObject(r);
		return -1;
	}
	*item = r->element[0]->len ? xstrndup(r->element[0]->str, r->element[0]->len) : NULL;
	copy_ver(r->element[1], ver, versz);
	freeReplyObject(r);
	return 0;
}

int roster_set(struct store *s, const char *bare, const char *contact,
    const char *body, char **item, char *ver, size_t versz)
{
	char rk[STORE_MAX_KEY], vk[STORE_MAX_KEY];
	const char *argv[4];
	redisReply *r;

	store_user_key(s, bare, "roster", rk, sizeof rk);
	store_user_key(s, bare, "rosterver", vk, sizeof vk);
	argv[0] = rk; argv[1] = vk; argv[2] = contact; argv[3] = body;
	r = store_eval(s, lua_roster_set, lua_roster_set_sha, 2, 4, argv, NULL);
	if (!r)
		return -1;
	return item_reply(r, item, ver, versz);
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
		return -1;
	freeReplyObject(r);
	r = store_cmd(s, "INCR %s", vk);
	if (!r)
		return -1;
	snprintf(ver, versz, "%lld", r->integer);
	freeReplyObject(r);
	return 0;
}

int roster_remove(struct store *s, const char *bare, const char *contact,
    char **old, char *ver, size_t versz)
{
	char rk[STORE_MAX_KEY], vk[STORE_MAX_KEY], pk[STORE_MAX_KEY];
	const char *argv[4];
	redisReply *r;

	store_user_key(s, bare, "roster", rk, sizeof rk);
	store_user_key(s, bare, "rosterver", vk, sizeof vk);
	store_user_key(s, bare, "pending", pk, sizeof pk);
	argv[0] = rk; argv[1] = vk; argv[2] = pk; argv[3] = contact;
	r = store_eval(s, lua_roster_remove, lua_roster_remove_sha, 3, 4, argv, NULL);
	if (!r)
		return -1;
	return item_reply(r, old, ver, versz);
}

int roster_subscription(struct store *s, const char *bare, const char *contact,
    int out, const char *type, const char *contact_attr, const char *stanza,
    enum roster_action *action, char **item, char *ver, size_t versz)
{
	char rk[STORE_MAX_KEY], vk[STORE_MAX_KEY], pk[STORE_MAX_KEY];
	const char *argv[8];
	const char *a;
	redisReply *r;

	store_user_key(s, bare, "roster", rk, sizeof rk);
	store_user_key(s, bare, "rosterver", vk, sizeof vk);
	store_user_key(s, bare, "pending", pk, sizeof pk);
	argv[0] = rk; argv[1] = vk; argv[2] = pk; argv[3] = contact;
	argv[4] = out ? "out" : "in"; argv[5] = type; argv[6] = contact_attr; argv[7] = stanza;
	r = store_eval(s, lua_roster_sub, lua_roster_sub_sha, 3, 8, argv, NULL);
	if (!r)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		freeReplyObject(r);
		return -1;
	}
	a = r->element[0]->str;
	*action = !strcmp(a, "route") ? RA_ROUTE : !strcmp(a, "deliver") ? RA_DELIVER :
	    !strcmp(a, "autoreply") ? RA_AUTOREPLY : RA_DROP;
	*item = r->element[1]->len ? xstrndup(r->element[1]->str, r->element[1]->len) : NULL;
	copy_ver(r->element[2], ver, versz);
	freeReplyObject(r);
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
		return -1;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		fn(r->element[i]->str, r->element[i + 1]->str, arg);
	freeReplyObject(r);
	return 0;
}
