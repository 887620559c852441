/*
 * sm.c - stream management state in Redis (see sm.h). Every change is
 * one script, checked against the session's owner.
 */
#include "sm.h"
#include "scripts.h"
#include "session.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RES_KEY_MAX 1100         /* "smq:" + a resource of up to 1023 bytes */
#define SYNC_FIXED_ARGS 15       /* sm_sync's keys and fixed arguments */

static const char *const ok_taken[] = { [SM_OK] = "synced", [SM_TAKEN] = "taken",
	[SM_NONE] = "none", NULL };

/* "<prefix>{bare}:<kind><resource>" */
static void res_key(struct store *s, const char *bare, const char *kind, const char *resource,
    char *out, size_t outsz)
{
	char what[RES_KEY_MAX];
	snprintf(what, sizeof what, "%s%s", kind, resource);
	store_user_key(s, bare, what, out, outsz);
}

int sm_enable(struct store *s, const char *bare, const char *resource, const char *id,
    const char *smid, int resume, int detach_secs)
{
	static const char *const outcomes[] = { [SM_OK] = "enabled", [SM_TAKEN] = "taken", NULL };
	char sessions[STORE_MAX_KEY], sm[STORE_MAX_KEY], smq[STORE_MAX_KEY], smids[STORE_MAX_KEY];
	char ds[16] = "";
	const char *argv[9];
	redisReply *r;
	int o;

	store_user_key(s, bare, "sessions", sessions, sizeof sessions);
	res_key(s, bare, "sm:", resource, sm, sizeof sm);
	res_key(s, bare, "smq:", resource, smq, sizeof smq);
	store_user_key(s, bare, "smids", smids, sizeof smids);
	argv[0] = sessions; argv[1] = sm; argv[2] = smq; argv[3] = smids;
	argv[4] = resource; argv[5] = id; argv[6] = smid; argv[7] = resume ? "1" : "0";
	if (detach_secs > 0)
		snprintf(ds, sizeof ds, "%d", detach_secs);
	argv[8] = ds;
	o = store_script(s, "sm_enable", lua_sm_enable, lua_sm_enable_sha, 4, 9, argv, NULL,
	    outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

/* Element i of r as a string, or NULL. */
static const redisReply *str_at(const redisReply *r, size_t i)
{
	return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ? r->element[i] : NULL;
}

#define SYNC_KEYS 5

/* sm_sync.lua for x, as an EVALSHA command: the strings argv points to
 * live in the struct. */
struct sm_sync_cmd {
	struct store_rider rider;
	char *keys[SYNC_KEYS];        /* each allocated to its length */
	char hin[24], acked[24], trim[24], taken[24], det[24], take[16], nkeys[8];
	const char **argv;
	size_t *lens;
};

/* res_key, allocated to its length (a sync is made for every write:
 * no buffers of STORE_MAX_KEY to clear each time). */
static char *res_key_dup(struct store *s, const char *bare, const char *kind,
    const char *resource)
{
	char k[STORE_MAX_KEY];
	res_key(s, bare, kind, resource, k, sizeof k);
	return xstrdup(k);
}

struct sm_sync_cmd *sm_sync_cmd_new(struct store *s, const char *bare, const char *resource,
    const struct sm_sync *x)
{
	struct sm_sync_cmd *c = xcalloc(1, sizeof *c);
	char key[STORE_MAX_GLOBAL_KEY];
	int argc = 3 + SYNC_FIXED_ARGS + x->n, i;

	c->argv = xcalloc((size_t)argc, sizeof *c->argv);
	c->lens = xcalloc((size_t)argc, sizeof *c->lens);
	c->keys[0] = res_key_dup(s, bare, "sm:", resource);
	c->keys[1] = res_key_dup(s, bare, "smq:", resource);
	c->keys[2] = res_key_dup(s, bare, "inbox:", resource);
	c->keys[3] = res_key_dup(s, bare, "sessions", "");
	store_shard_key(s, "expiry", bare, key, sizeof key);
	c->keys[4] = xstrdup(key);
	snprintf(c->nkeys, sizeof c->nkeys, "%d", SYNC_KEYS);
	snprintf(c->hin, sizeof c->hin, "%lu", x->hin);
	snprintf(c->acked, sizeof c->acked, "%lu", x->acked);
	snprintf(c->trim, sizeof c->trim, "%lu", x->trim);
	snprintf(c->taken, sizeof c->taken, "%ld", x->inbox_taken);
	snprintf(c->det, sizeof c->det, "%ld", x->detach_until > 0 ? x->detach_until : 0L);
	snprintf(c->take, sizeof c->take, "%d", x->take > 0 ? x->take : 0);
	c->argv[0] = "EVALSHA"; c->argv[1] = lua_sm_sync_sha; c->argv[2] = c->nkeys;
	for (i = 0; i < SYNC_KEYS; i++)
		c->argv[3 + i] = c->keys[i];
	c->argv[8] = x->id; c->argv[9] = c->hin; c->argv[10] = c->acked; c->argv[11] = c->trim;
	c->argv[12] = c->taken; c->argv[13] = c->det; c->argv[14] = bare; c->argv[15] = resource;
	c->argv[16] = c->take;
	c->argv[17] = x->bcast_pos ? x->bcast_pos : "";
	for (i = 0; i < 3 + SYNC_FIXED_ARGS; i++)
		c->lens[i] = strlen(c->argv[i]);
	for (i = 0; i < x->n; i++) {
		c->argv[3 + SYNC_FIXED_ARGS + i] = x->entry[i];
		c->lens[3 + SYNC_FIXED_ARGS + i] = x->len[i];
	}
	c->rider.argc = argc;
	c->rider.argv = c->argv;
	c->rider.lens = c->lens;
	return c;
}

struct store_rider *sm_sync_cmd_rider(struct sm_sync_cmd *c)
{
	return &c->rider;
}

int sm_sync_cmd_result(struct sm_sync_cmd *c)
{
	return c->rider.reply ? store_outcome(c->rider.reply, ok_taken) : XE_REDIS;
}

void sm_sync_cmd_free(struct sm_sync_cmd *c)
{
	int i;
	if (!c)
		return;
	for (i = 0; i < SYNC_KEYS; i++)
		free(c->keys[i]);
	if (c->rider.reply)
		freeReplyObject(c->rider.reply);
	free(c->argv);
	free(c->lens);
	free(c);
}

int sm_sync(struct store *s, const char *bare, const char *resource, const struct sm_sync *x)
{
	struct sm_sync_cmd *c = sm_sync_cmd_new(s, bare, resource, x);
	redisReply *r;
	int o;

	o = store_script(s, "sm_sync", lua_sm_sync, lua_sm_sync_sha, SYNC_KEYS,
	    c->rider.argc - 3, c->argv + 3, c->lens + 3, ok_taken, &r);
	if (o == SM_OK && x->taken) {
		const redisReply *e;
		size_t i;
		for (i = 1; i < r->elements; i++)
			if ((e = str_at(r, i)))
				x->taken(e->str, e->len, x->arg);
	}
	if (o >= 0)
		freeReplyObject(r);
	sm_sync_cmd_free(c);
	return o;
}


int sm_bcast_pos(struct store *s, const char *bare, const char *resource, char *pos,
    size_t sz)
{
	char key[STORE_MAX_KEY];
	redisReply *r;

	res_key(s, bare, "sm:", resource, key, sizeof key);
	r = store_cmd(s, "HGET %s bpos", key);
	if (!r)
		return XE_REDIS;
	snprintf(pos, sz, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return 0;
}

int sm_resume(struct store *s, const char *bare, const char *smid, unsigned long h,
    const char *id, const char *host, long pid, unsigned long *hin,
    char *resource, size_t rsz, char *old_id, size_t osz,
    void (*fn)(const char *entry, size_t len, void *arg), void *arg)
{
	static const char *const outcomes[] = { [SM_RESUMED] = "resumed", [SM_GONE] = "gone",
		[SM_UNKNOWN] = "unknown", [SM_TOOHIGH] = "toohigh", NULL };
	char smids[STORE_MAX_KEY], sessions[STORE_MAX_KEY], expiry[STORE_MAX_GLOBAL_KEY];
	char prefix[STORE_MAX_KEY], hs[24], pids[24], now[24], ttl[24];
	const char *argv[12];
	const redisReply *a, *b, *c;
	redisReply *r;
	size_t i;
	int o;

	*hin = 0;
	store_user_key(s, bare, "smids", smids, sizeof smids);
	store_user_key(s, bare, "sessions", sessions, sizeof sessions);
	store_shard_key(s, "expiry", bare, expiry, sizeof expiry);
	store_user_key(s, bare, "", prefix, sizeof prefix);
	snprintf(hs, sizeof hs, "%lu", h);
	snprintf(pids, sizeof pids, "%ld", pid);
	snprintf(now, sizeof now, "%ld", (long)time(NULL));
	snprintf(ttl, sizeof ttl, "%d", s->session_ttl);
	argv[0] = smids; argv[1] = sessions; argv[2] = expiry;
	argv[3] = smid; argv[4] = hs; argv[5] = id; argv[6] = host; argv[7] = pids;
	argv[8] = now; argv[9] = ttl; argv[10] = bare; argv[11] = prefix;
	o = store_script(s, "sm_resume", lua_sm_resume, lua_sm_resume_sha, 3, 12, argv, NULL,
	    outcomes, &r);
	if (o < 0)
		return o;
	if (o == SM_GONE || o == SM_TOOHIGH) {
		if ((a = str_at(r, 1)))
			*hin = strtoul(a->str, NULL, 10);
	} else if (o == SM_RESUMED) {
		if (!(a = str_at(r, 1)) || !(b = str_at(r, 2)) || !(c = str_at(r, 3))) {
			freeReplyObject(r);
			snprintf(s->err, sizeof s->err, "sm_resume: unexpected reply");
			return XE_REPLY;
		}
		snprintf(resource, rsz, "%.*s", (int)a->len, a->str);
		*hin = strtoul(b->str, NULL, 10);
		snprintf(old_id, osz, "%.*s", (int)c->len, c->str);
		for (i = 4; i < r->elements; i++)
			if ((a = str_at(r, i)))
				fn(a->str, a->len, arg);
	}
	freeReplyObject(r);
	return o;
}

int sm_end(struct store *s, const char *bare, const char *resource, const char *id)
{
	static const char *const outcomes[] = { [SM_OK] = "ended", [SM_TAKEN] = "taken",
		[SM_NONE] = "none", NULL };
	char sm[STORE_MAX_KEY], smq[STORE_MAX_KEY], smids[STORE_MAX_KEY], inbox[STORE_MAX_KEY];
	char gone[STORE_MAX_KEY], ttl[16];
	const char *argv[7];
	redisReply *r;
	int o;

	res_key(s, bare, "sm:", resource, sm, sizeof sm);
	res_key(s, bare, "smq:", resource, smq, sizeof smq);
	store_user_key(s, bare, "smids", smids, sizeof smids);
	res_key(s, bare, "inbox:", resource, inbox, sizeof inbox);
	store_user_key(s, bare, "smgone:", gone, sizeof gone);
	snprintf(ttl, sizeof ttl, "%d", SM_GONE_TTL);
	argv[0] = sm; argv[1] = smq; argv[2] = smids; argv[3] = inbox;
	argv[4] = id; argv[5] = gone; argv[6] = ttl;
	o = store_script(s, "sm_end", lua_sm_end, lua_sm_end_sha, 4, 7, argv, NULL, outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

int sm_adopt(struct store *s, const char *bare, const char *resource, const char *id,
    long seen, int secs, long now)
{
	static const char *const outcomes[] = { "no", "adopted", NULL };
	char sessions[STORE_MAX_KEY], expiry[STORE_MAX_GLOBAL_KEY], sm[STORE_MAX_KEY], dl[24];
	char se[24], ns[24];
	const char *argv[9];
	redisReply *r;
	int o;

	store_user_key(s, bare, "sessions", sessions, sizeof sessions);
	store_shard_key(s, "expiry", bare, expiry, sizeof expiry);
	res_key(s, bare, "sm:", resource, sm, sizeof sm);
	snprintf(dl, sizeof dl, "%ld", seen + secs);
	snprintf(se, sizeof se, "%ld", seen);
	snprintf(ns, sizeof ns, "%ld", now);
	argv[0] = sessions; argv[1] = expiry; argv[2] = sm;
	argv[3] = resource; argv[4] = id; argv[5] = dl; argv[6] = bare; argv[7] = se; argv[8] = ns;
	o = store_script(s, "sm_adopt", lua_sm_adopt, lua_sm_adopt_sha, 3, 9, argv, NULL,
	    outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}
