/*
 * uploads.c - the upload service's keys in Redis (see uploads.h).
 */
#include "uploads.h"
#include "account.h"
#include "scripts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_MAX   24            /* a decimal long and its NUL */
#define SLOT_NAME "upload:"     /* the owner key: <prefix>upload:<id> */

_Static_assert(ACCOUNT_SECRET_LEN == UPLOADSIG_SECRET_LEN,
    "the upload key is derived from the whole server secret");

int upload_key(struct store *s, unsigned char key[UPLOADSIG_KEY_LEN])
{
	unsigned char secret[ACCOUNT_SECRET_LEN];
	int rc = account_server_secret(s, secret);

	if (rc < 0)
		return rc;
	uploadsig_key(secret, key);
	memset(secret, 0, sizeof secret);
	return 0;
}

static void slot_key(const struct store *s, const char *id, char *out, size_t outsz)
{
	char name[sizeof SLOT_NAME + UPLOADSIG_ID_HEX];

	snprintf(name, sizeof name, SLOT_NAME "%.*s", UPLOADSIG_ID_HEX, id);
	store_global_key(s, name, out, outsz);
}

/* Element i of r as a number, or -1. */
static long reply_num(const redisReply *r, size_t i)
{
	if (i >= r->elements)
		return -1;
	if (r->element[i]->type == REDIS_REPLY_INTEGER)
		return (long)r->element[i]->integer;
	return -1;
}

int upload_reserve(struct store *s, const char *bare, const char *id, long size,
    long quota, time_t now, int ttl, long *used)
{
	static const char *const outcomes[] = { "reserved", "over", NULL };
	char key[STORE_MAX_KEY], skey[STORE_MAX_GLOBAL_KEY];
	char nsize[NUM_MAX], nquota[NUM_MAX], nnow[NUM_MAX], nuntil[NUM_MAX];
	const char *argv[6] = { key, id, nsize, nquota, nnow, nuntil };
	redisReply *r;
	int o;

	store_user_key(s, bare, "uploads", key, sizeof key);
	snprintf(nsize, sizeof nsize, "%ld", size);
	snprintf(nquota, sizeof nquota, "%ld", quota);
	snprintf(nnow, sizeof nnow, "%ld", (long)now);
	snprintf(nuntil, sizeof nuntil, "%ld", (long)now + ttl);
	o = store_script(s, "upload_reserve", lua_upload_reserve, lua_upload_reserve_sha, 1, 6,
	    argv, NULL, outcomes, &r);
	if (o < 0)
		return o;
	*used = reply_num(r, 1);
	freeReplyObject(r);
	if (o == 1)
		return UPLOAD_OVER_QUOTA;
	slot_key(s, id, skey, sizeof skey);
	r = store_cmd(s, "SET %s %s EX %d", skey, bare, ttl);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return UPLOAD_RESERVED;
}

int upload_owner(struct store *s, const char *id, char *owner, size_t ownersz)
{
	char skey[STORE_MAX_GLOBAL_KEY];
	redisReply *r;
	int rc = UPLOAD_GONE;

	slot_key(s, id, skey, sizeof skey);
	if (!(r = store_cmd(s, "GET %s", skey)))
		return XE_REDIS;
	if (r->type == REDIS_REPLY_STRING && r->len < ownersz) {
		snprintf(owner, ownersz, "%s", r->str);
		rc = UPLOAD_FOUND;
	} else if (r->type != REDIS_REPLY_NIL) {
		snprintf(s->err, sizeof s->err, "%.256s: not a bare JID", skey);
		rc = XE_REPLY;
	}
	freeReplyObject(r);
	return rc;
}

int upload_commit(struct store *s, const char *bare, const char *id, long size,
    time_t until, time_t now)
{
	static const char *const outcomes[] = { "kept", "gone", NULL };
	char key[STORE_MAX_KEY], akey[STORE_MAX_KEY], skey[STORE_MAX_GLOBAL_KEY];
	char nsize[NUM_MAX], nuntil[NUM_MAX], nnow[NUM_MAX];
	const char *argv[6] = { key, akey, id, nsize, nuntil, nnow };
	redisReply *r;
	int o;

	store_user_key(s, bare, "uploads", key, sizeof key);
	store_user_key(s, bare, "account", akey, sizeof akey);
	snprintf(nsize, sizeof nsize, "%ld", size);
	snprintf(nuntil, sizeof nuntil, "%ld", (long)until);
	snprintf(nnow, sizeof nnow, "%ld", (long)now);
	o = store_script(s, "upload_commit", lua_upload_commit, lua_upload_commit_sha, 2, 6,
	    argv, NULL, outcomes, &r);
	if (o < 0)
		return o;
	freeReplyObject(r);
	slot_key(s, id, skey, sizeof skey);
	if (!(r = store_cmd(s, "DEL %s", skey)))
		return XE_REDIS;
	freeReplyObject(r);
	return o == 0 ? UPLOAD_KEPT : UPLOAD_GONE;
}

int upload_each(struct store *s, const char *bare,
    int (*fn)(const char *id, long size, long until, void *arg), void *arg)
{
	char key[STORE_MAX_KEY];
	redisReply *r;
	long size, until;
	size_t i;
	int rc = 0;

	store_user_key(s, bare, "uploads", key, sizeof key);
	if (!(r = store_cmd(s, "HGETALL %s", key)))
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		snprintf(s->err, sizeof s->err, "%.256s: not a hash", key);
		freeReplyObject(r);
		return XE_REPLY;
	}
	for (i = 0; i < r->elements && rc == 0; i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];
		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    sscanf(v->str, "%ld %ld", &size, &until) != 2)
			continue;       /* not one of ours: upload_reserve.lua drops it */
		rc = fn(f->str, size, until, arg);
	}
	freeReplyObject(r);
	return rc;
}

struct usage {
	time_t now;
	long count, bytes;
};

static int add_usage(const char *id, long size, long until, void *arg)
{
	struct usage *u = arg;

	(void)id;
	if (until > (long)u->now) {
		u->count++;
		u->bytes += size;
	}
	return 0;
}

int upload_usage(struct store *s, const char *bare, time_t now, long *count, long *bytes)
{
	struct usage u = { now, 0, 0 };
	int rc = upload_each(s, bare, add_usage, &u);

	*count = u.count;
	*bytes = u.bytes;
	return rc;
}

int upload_forget(struct store *s, const char *bare, const char *id)
{
	char key[STORE_MAX_KEY];
	redisReply *r;

	store_user_key(s, bare, "uploads", key, sizeof key);
	r = id ? store_cmd(s, "HDEL %s %s", key, id) : store_cmd(s, "DEL %s", key);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}
