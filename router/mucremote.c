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

/* The shard of MUC_REMOTE_ROOMS that room is marked in, in its slot. */
static void rooms_key(struct store *s, const char *room, char *out, size_t outsz)
{
	store_shard_key(s, MUC_REMOTE_ROOMS, room, out, outsz);
}

int muc_remote_add(struct store *s, const char *room, const char *full, const char *value)
{
	static const char *const outcomes[] = { "added", NULL };
	char h[STORE_MAX_KEY], set[STORE_MAX_GLOBAL_KEY], wake[STORE_MAX_GLOBAL_KEY];
	char msg[sizeof MUC_REMOTE_WAKE_PREFIX + JID_MAX];     /* a room's bare JID */
	const char *argv[7] = { h, set, room, full, value, wake, msg };
	redisReply *r;
	int o;

	remote_key(s, room, h, sizeof h);
	rooms_key(s, room, set, sizeof set);
	store_global_key(s, S2S_WAKE_CHANNEL, wake, sizeof wake);
	snprintf(msg, sizeof msg, "%s%s", MUC_REMOTE_WAKE_PREFIX, room);
	o = store_script(s, "muc_remote_add", lua_muc_remote_add, lua_muc_remote_add_sha, 2, 7,
	    argv, NULL, outcomes, &r);
	if (o < 0)
		return o;
	freeReplyObject(r);
	return 0;
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
	rooms_key(s, room, set, sizeof set);
	o = store_script(s, "muc_remote_sync", lua_muc_remote_sync, lua_muc_remote_sync_sha, 2,
	    6, argv, NULL, outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

int muc_remote_rooms(struct store *s, struct strvec *out)
{
	int n = store_shard_members(s, MUC_REMOTE_ROOMS, out);
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
