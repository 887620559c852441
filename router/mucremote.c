/*
 * mucremote.c - occupants of local rooms on other domains (mucremote.h).
 */
#include "mucremote.h"
#include "s2s.h"
#include "scripts.h"
#include "xerr.h"

#include <stdio.h>
#include <string.h>

static void remote_key(struct store *s, const char *room, char *out, size_t outsz)
{
	store_user_key(s, room, MUC_REMOTE_KEY, out, outsz);
}

int muc_remote_add(struct store *s, const char *room, const char *full, const char *value)
{
	char h[STORE_MAX_KEY], set[STORE_MAX_GLOBAL_KEY], wake[STORE_MAX_GLOBAL_KEY];
	char msg[sizeof MUC_REMOTE_WAKE_PREFIX + ROUTE_NODE_MAX];
	const char *hset[4] = { "HSET", h, full, value }, *sadd[3] = { "SADD", set, room };
	const char *pub[3] = { "PUBLISH", wake, msg };
	const char **av[3] = { hset, sadd, pub };
	size_t l0[4], l1[3], l2[3];
	const size_t *al[3] = { l0, l1, l2 };
	int ac[3] = { 4, 3, 3 }, i, rc;
	redisReply *rep[3] = { NULL, NULL, NULL };

	remote_key(s, room, h, sizeof h);
	store_global_key(s, MUC_REMOTE_ROOMS, set, sizeof set);
	store_global_key(s, S2S_WAKE_CHANNEL, wake, sizeof wake);
	snprintf(msg, sizeof msg, "%s%s", MUC_REMOTE_WAKE_PREFIX, room);
	for (i = 0; i < 4; i++)
		l0[i] = strlen(hset[i]);
	for (i = 0; i < 3; i++) {
		l1[i] = strlen(sadd[i]);
		l2[i] = strlen(pub[i]);
	}
	/* One round trip, in this order: a relay that finds the room empty
	 * between the HSET and the SADD unmarks it, and the SADD marks it
	 * again. */
	rc = store_pipeline(s, 3, av, al, ac, rep);
	for (i = 0; i < 3; i++)
		if (rep[i])
			freeReplyObject(rep[i]);
	return rc < 0 ? XE_REDIS : 0;
}

int muc_remote_get(struct store *s, const char *room, const char *full, char *value)
{
	char h[STORE_MAX_KEY];
	redisReply *r;
	int found;

	remote_key(s, room, h, sizeof h);
	if (!(r = store_cmd(s, "HGET %s %s", h, full)))
		return XE_REDIS;
	found = r->type == REDIS_REPLY_STRING && r->len < MUC_REMOTE_VALUE_MAX;
	if (found)
		memcpy(value, r->str, r->len + 1);
	freeReplyObject(r);
	return found;
}

int muc_remote_each(struct store *s, const char *room,
    void (*fn)(const char *full, const char *value, void *arg), void *arg)
{
	char h[STORE_MAX_KEY];
	redisReply *r;
	size_t i;
	int n = 0;

	remote_key(s, room, h, sizeof h);
	if (!(r = store_cmd(s, "HGETALL %s", h)))
		return XE_REDIS;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING) {
			fn(r->element[i]->str, r->element[i + 1]->str, arg);
			n++;
		}
	freeReplyObject(r);
	return n;
}

int muc_remote_sync(struct store *s, const char *room, const char *full, const char *old,
    const char *value)
{
	static const char *const outcomes[] = { [MUC_REMOTE_BUSY] = "busy",
		[MUC_REMOTE_IDLE] = "idle", NULL };
	char h[STORE_MAX_KEY], set[STORE_MAX_GLOBAL_KEY];
	const char *argv[6] = { h, set, room, full ? full : "", old ? old : "",
		value ? value : "" };
	redisReply *r;
	int o;

	remote_key(s, room, h, sizeof h);
	store_global_key(s, MUC_REMOTE_ROOMS, set, sizeof set);
	o = store_script(s, "muc_remote_sync", lua_muc_remote_sync, lua_muc_remote_sync_sha, 2,
	    6, argv, NULL, outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

int muc_remote_rooms(struct store *s, struct strvec *out)
{
	char set[STORE_MAX_GLOBAL_KEY];
	int n;

	store_global_key(s, MUC_REMOTE_ROOMS, set, sizeof set);
	n = store_members(s, set, out);
	return n < 0 ? n : 0;
}

int muc_remote_split(const char *value, char *state, char *nick)
{
	const char *p = value;
	int spaces = 0;

	/* The state is three words; the nick is the rest. */
	while (*p && spaces < 3)
		if (*p++ == ' ')
			spaces++;
	if (spaces < 3 || !*p || (size_t)(p - 1 - value) >= MUC_STATE_MAX ||
	    strlen(p) >= JID_MAX_PART)
		return -1;
	memcpy(state, value, (size_t)(p - 1 - value));
	state[p - 1 - value] = '\0';
	snprintf(nick, JID_MAX_PART, "%s", p);
	return 0;
}
