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
#define SYNC_FIXED_ARGS 13       /* sm_sync's keys and fixed arguments */

static const char *const ok_taken[] = { [SM_OK] = "synced", [SM_TAKEN] = "taken", NULL };

/* "<prefix>{bare}:<kind><resource>" */
static void res_key(struct store *s, const char *bare, const char *kind, const char *resource,
    char *out, size_t outsz)
{
	char what[RES_KEY_MAX];
	snprintf(what, sizeof what, "%s%s", kind, resource);
	store_user_key(s, bare, what, out, outsz);
}

int sm_enable(struct store *s, const char *bare, const char *resource, const char *id,
    const char *smid, int resume)
{
	static const char *const outcomes[] = { [SM_OK] = "enabled", [SM_TAKEN] = "taken", NULL };
	char sessions[STORE_MAX_KEY], sm[STORE_MAX_KEY], smq[STORE_MAX_KEY], smids[STORE_MAX_KEY];
	const char *argv[8];
	redisReply *r;
	int o;

	store_user_key(s, bare, "sessions", sessions, sizeof sessions);
	res_key(s, bare, "sm:", resource, sm, sizeof sm);
	res_key(s, bare, "smq:", resource, smq, sizeof smq);
	store_user_key(s, bare, "smids", smids, sizeof smids);
	argv[0] = sessions; argv[1] = sm; argv[2] = smq; argv[3] = smids;
	argv[4] = resource; argv[5] = id; argv[6] = smid; argv[7] = resume ? "1" : "0";
	o = store_script(s, "sm_enable", lua_sm_enable, lua_sm_enable_sha, 4, 8, argv, NULL,
	    outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

int sm_sync(struct store *s, const char *bare, const char *resource, const struct sm_sync *x)
{
	char sm[STORE_MAX_KEY], smq[STORE_MAX_KEY], inbox[STORE_MAX_KEY];
	char sessions[STORE_MAX_KEY], expiry[STORE_MAX_GLOBAL_KEY];
	char hin[24], acked[24], trim[24], taken[24], det[24];
	int argc = SYNC_FIXED_ARGS + x->n, i, o;
	const char **argv = xcalloc((size_t)argc, sizeof *argv);
	size_t *lens = xcalloc((size_t)argc, sizeof *lens);
	redisReply *r;

	res_key(s, bare, "sm:", resource, sm, sizeof sm);
	res_key(s, bare, "smq:", resource, smq, sizeof smq);
	res_key(s, bare, "inbox:", resource, inbox, sizeof inbox);
	store_user_key(s, bare, "sessions", sessions, sizeof sessions);
	store_global_key(s, "expiry", expiry, sizeof expiry);
	snprintf(hin, sizeof hin, "%lu", x->hin);
	snprintf(acked, sizeof acked, "%lu", x->acked);
	snprintf(trim, sizeof trim, "%lu", x->trim);
	snprintf(taken, sizeof taken, "%ld", x->inbox_taken);
	snprintf(det, sizeof det, "%ld", x->detach_until > 0 ? x->detach_until : 0L);
	argv[0] = sm; argv[1] = smq; argv[2] = inbox; argv[3] = sessions; argv[4] = expiry;
	argv[5] = x->id; argv[6] = hin; argv[7] = acked; argv[8] = trim; argv[9] = taken;
	argv[10] = det; argv[11] = bare; argv[12] = resource;
	for (i = 0; i < SYNC_FIXED_ARGS; i++)
		lens[i] = strlen(argv[i]);
	for (i = 0; i < x->n; i++) {
		argv[SYNC_FIXED_ARGS + i] = x->entry[i];
		lens[SYNC_FIXED_ARGS + i] = x->len[i];
	}
	o = store_script(s, "sm_sync", lua_sm_sync, lua_sm_sync_sha, 5, argc, argv, lens,
	    ok_taken, &r);
	if (o >= 0)
		freeReplyObject(r);
	free(argv);
	free(lens);
	return o;
}

/* Element i of r as a string, or NULL. */
static const redisReply *str_at(const redisReply *r, size_t i)
{
	return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ? r->element[i] : NULL;
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
	store_global_key(s, "expiry", expiry, sizeof expiry);
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
    long deadline)
{
	static const char *const outcomes[] = { "no", "adopted", NULL };
	char sessions[STORE_MAX_KEY], expiry[STORE_MAX_GLOBAL_KEY], sm[STORE_MAX_KEY], dl[24];
	const char *argv[7];
	redisReply *r;
	int o;

	store_user_key(s, bare, "sessions", sessions, sizeof sessions);
	store_global_key(s, "expiry", expiry, sizeof expiry);
	res_key(s, bare, "sm:", resource, sm, sizeof sm);
	snprintf(dl, sizeof dl, "%ld", deadline);
	argv[0] = sessions; argv[1] = expiry; argv[2] = sm;
	argv[3] = resource; argv[4] = id; argv[5] = dl; argv[6] = bare;
	o = store_script(s, "sm_adopt", lua_sm_adopt, lua_sm_adopt_sha, 3, 7, argv, NULL,
	    outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}
