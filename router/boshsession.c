/*
 * boshsession.c - BOSH session hashes in Redis (boshsession.h).
 */
#include "boshsession.h"
#include "scripts.h"
#include "xerr.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOSH_KEY_KIND  "bosh:"

static void bosh_key(struct store *s, const char *sid, char *out, size_t outsz)
{
	char name[sizeof BOSH_KEY_KIND + BOSH_SID_MAX];
	snprintf(name, sizeof name, BOSH_KEY_KIND "%s", sid);
	store_global_key(s, name, out, outsz);
}

/* Run argv (argc strings) and drop the reply: 0 or XE_REDIS. */
static int run(struct store *s, struct store_argv *a)
{
	redisReply *r = store_cmdargv(s, a->argc, a->argv, a->lens);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}

int bosh_create(struct store *s, const char *sid, const struct bosh_session *b,
    unsigned long long rid, int ttl)
{
	char key[STORE_MAX_GLOBAL_KEY], rids[24], wait[16], inact[16], req[16], hold[16], t[16];
	struct store_argv a = { .argc = 0 };
	int r;

	bosh_key(s, sid, key, sizeof key);
	snprintf(rids, sizeof rids, "%llu", rid);
	snprintf(wait, sizeof wait, "%d", b->wait);
	snprintf(inact, sizeof inact, "%d", b->inactivity);
	snprintf(req, sizeof req, "%d", b->requests);
	snprintf(hold, sizeof hold, "%d", b->hold);
	snprintf(t, sizeof t, "%d", ttl);
	store_argv_str(&a, "HSET");
	store_argv_str(&a, key);
	store_argv_str(&a, "state"); store_argv_str(&a, b->state);
	store_argv_str(&a, "to"); store_argv_str(&a, b->to);
	store_argv_str(&a, "authid"); store_argv_str(&a, b->authid);
	store_argv_str(&a, "rid"); store_argv_str(&a, rids);
	store_argv_str(&a, "fed"); store_argv_str(&a, rids);
	store_argv_str(&a, "wait"); store_argv_str(&a, wait);
	store_argv_str(&a, "inactivity"); store_argv_str(&a, inact);
	store_argv_str(&a, "requests"); store_argv_str(&a, req);
	store_argv_str(&a, "hold"); store_argv_str(&a, hold);
	store_argv_str(&a, "ver"); store_argv_str(&a, b->ver);
	store_argv_str(&a, "acked"); store_argv_str(&a, "0");
	store_argv_str(&a, "sent"); store_argv_str(&a, "0");
	if ((r = run(s, &a)) < 0)
		return r;
	a.argc = 0;
	store_argv_str(&a, "EXPIRE");
	store_argv_str(&a, key);
	store_argv_str(&a, t);
	return run(s, &a);
}

int bosh_claim(struct store *s, const char *sid, unsigned long long rid, int ttl, int force,
    struct bosh_session *b, char **answer, size_t *answer_len)
{
	static const char *const outcomes[] = { [BOSH_CLAIMED] = "claimed",
		[BOSH_REPLAY] = "replay", [BOSH_HELD] = "held", [BOSH_EARLY] = "early",
		[BOSH_BAD] = "bad", [BOSH_NONE] = "none", NULL };
	char key[STORE_MAX_GLOBAL_KEY], rids[24], t[16], num[24];
	const char *argv[4];
	redisReply *r;
	int o;

	bosh_key(s, sid, key, sizeof key);
	snprintf(rids, sizeof rids, "%llu", rid);
	snprintf(t, sizeof t, "%d", ttl);
	argv[0] = key; argv[1] = rids; argv[2] = t; argv[3] = force ? "1" : "0";
	o = store_script(s, "bosh_claim", lua_bosh_claim, lua_bosh_claim_sha, 1, 4, argv, NULL,
	    outcomes, &r);
	if (o < 0)
		return o;
	if (o == BOSH_REPLAY) {
		if (r->elements < 2 || r->element[1]->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			snprintf(s->err, sizeof s->err, "bosh_claim: unexpected reply");
			return XE_REPLY;
		}
		*answer = xmalloc(r->element[1]->len + 1);
		memcpy(*answer, r->element[1]->str, r->element[1]->len);
		(*answer)[r->element[1]->len] = '\0';
		*answer_len = r->element[1]->len;
	} else if (o == BOSH_CLAIMED || o == BOSH_BAD || o == BOSH_HELD) {
		memset(b, 0, sizeof *b);
		store_reply_str(r, 1, b->state, sizeof b->state);
		store_reply_str(r, 2, b->jid, sizeof b->jid);
		store_reply_str(r, 3, b->res, sizeof b->res);
		store_reply_str(r, 4, b->smid, sizeof b->smid);
		store_reply_str(r, 5, num, sizeof num);
		b->acked = strtoul(num, NULL, 10);
		store_reply_str(r, 6, num, sizeof num);
		b->sent = strtoul(num, NULL, 10);
		store_reply_str(r, 7, b->to, sizeof b->to);
		store_reply_str(r, 8, b->authid, sizeof b->authid);
		store_reply_str(r, 9, num, sizeof num);
		b->wait = atoi(num);
		store_reply_str(r, 10, num, sizeof num);
		b->inactivity = atoi(num);
		store_reply_str(r, 11, num, sizeof num);
		b->requests = atoi(num);
		store_reply_str(r, 12, b->sasl, sizeof b->sasl);
		store_reply_str(r, 13, num, sizeof num);
		b->empty_poll_ms = strtoll(num, NULL, 10);
		store_reply_str(r, 14, num, sizeof num);
		b->auth_failures = atoi(num);
		store_reply_str(r, 15, num, sizeof num);
		b->claim = strtoull(num, NULL, 10);
	}
	freeReplyObject(r);
	return o;
}

int bosh_fed(struct store *s, const char *sid, unsigned long long rid)
{
	static const char *const outcomes[] = { "fed", "none", NULL };
	char key[STORE_MAX_GLOBAL_KEY], rids[24];
	const char *argv[2];
	redisReply *r;
	int o;

	bosh_key(s, sid, key, sizeof key);
	snprintf(rids, sizeof rids, "%llu", rid);
	argv[0] = key; argv[1] = rids;
	o = store_script(s, "bosh_fed", lua_bosh_fed, lua_bosh_fed_sha, 1, 2, argv, NULL,
	    outcomes, &r);
	if (o < 0)
		return o;
	freeReplyObject(r);
	return 0;
}

int bosh_set_state(struct store *s, const char *sid, const char *state, const char *jid,
    const char *res, const char *smid)
{
	char key[STORE_MAX_GLOBAL_KEY];
	struct store_argv a = { .argc = 0 };

	bosh_key(s, sid, key, sizeof key);
	store_argv_str(&a, "HSET");
	store_argv_str(&a, key);
	store_argv_str(&a, "state");
	store_argv_str(&a, state);
	if (jid) {
		store_argv_str(&a, "jid");
		store_argv_str(&a, jid);
	}
	if (res) {
		store_argv_str(&a, "res");
		store_argv_str(&a, res);
	}
	if (smid) {
		store_argv_str(&a, "smid");
		store_argv_str(&a, smid);
	}
	return run(s, &a);
}

/* Does stream id owner own the stream management state of bare/res?
 * 1, 0, or XE_REDIS. */
static int owns_sm(struct store *s, const char *owner, const char *bare, const char *res)
{
	char key[STORE_MAX_KEY], what[STORE_MAX_KEY];
	redisReply *r;
	int ours;

	snprintf(what, sizeof what, "sm:%s", res);
	store_user_key(s, bare, what, key, sizeof key);
	if (!(r = store_cmd(s, "HGET %s owner", key)))
		return XE_REDIS;
	ours = r->type == REDIS_REPLY_STRING && !strcmp(r->str, owner);
	freeReplyObject(r);
	return ours;
}

int bosh_record(struct store *s, const char *sid, unsigned long long rid, const char *answer,
    size_t len, int has_count, unsigned long count, const char *owner, const char *bare,
    const char *res, unsigned long long claim, long long empty_poll_ms)
{
	static const char *const outcomes[] = { [BOSH_RECORDED] = "recorded",
		[BOSH_TAKEN] = "taken", [BOSH_GONE] = "none", NULL };
	char key[STORE_MAX_GLOBAL_KEY], rids[24], n[24], cl[24] = "", pe[24] = "";
	const char *argv[6];
	size_t lens[6];
	redisReply *r;
	int o, i;

	if (owner[0]) {
		if ((o = owns_sm(s, owner, bare, res)) <= 0)
			return o < 0 ? o : BOSH_TAKEN;
		snprintf(cl, sizeof cl, "%llu", claim);
	}
	bosh_key(s, sid, key, sizeof key);
	snprintf(rids, sizeof rids, "%llu", rid);
	n[0] = '\0';
	if (has_count)
		snprintf(n, sizeof n, "%lu", count);
	if (empty_poll_ms > 0)
		snprintf(pe, sizeof pe, "%lld", empty_poll_ms);
	argv[0] = key; argv[1] = rids; argv[2] = answer; argv[3] = n; argv[4] = cl;
	argv[5] = pe;
	for (i = 0; i < 6; i++)
		lens[i] = i == 2 ? len : strlen(argv[i]);
	o = store_script(s, "bosh_record", lua_bosh_record, lua_bosh_record_sha, 1, 6, argv,
	    lens, outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

int bosh_set_sasl(struct store *s, const char *sid, const char *saved)
{
	char key[STORE_MAX_GLOBAL_KEY];
	struct store_argv a = { .argc = 0 };

	bosh_key(s, sid, key, sizeof key);
	store_argv_str(&a, saved[0] ? "HSET" : "HDEL");
	store_argv_str(&a, key);
	store_argv_str(&a, "sasl");
	if (saved[0])
		store_argv_str(&a, saved);
	return run(s, &a);
}

int bosh_set_failures(struct store *s, const char *sid, int n)
{
	char key[STORE_MAX_GLOBAL_KEY], num[16];
	struct store_argv a = { .argc = 0 };

	bosh_key(s, sid, key, sizeof key);
	snprintf(num, sizeof num, "%d", n);
	store_argv_str(&a, "HSET");
	store_argv_str(&a, key);
	store_argv_str(&a, "af");
	store_argv_str(&a, num);
	return run(s, &a);
}

int bosh_delete(struct store *s, const char *sid)
{
	char key[STORE_MAX_GLOBAL_KEY];
	struct store_argv a = { .argc = 0 };

	bosh_key(s, sid, key, sizeof key);
	store_argv_str(&a, "DEL");
	store_argv_str(&a, key);
	return run(s, &a);
}
