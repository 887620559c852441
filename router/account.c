/*
 * account.c - account records and the users index.
 */
#include "account.h"
#include "mam.h"
#include "pep.h"
#include "invite.h"
#include "scripts.h"
#include "hex.h"
#include "random.h"
#include "scram.h"
#include "jid.h"
#include "strvec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECRET_KEY_NAME "server-secret"
#define SECRET_HEX_LEN  (2 * ACCOUNT_SECRET_LEN)
#define REG_KEY_NAME    "registration:"
/* REG_KEY_NAME and an address, truncated as ever; with the prefix it
 * fits a global key buffer. */
#define REG_NAME_MAX    256
_Static_assert(sizeof ((struct store *)0)->prefix + REG_NAME_MAX <= STORE_MAX_GLOBAL_KEY,
    "a registration counter's key fits STORE_MAX_GLOBAL_KEY");
#define NUM_MAX         24        /* a decimal long, and its NUL */

/* Every per-user key suffix; account_delete removes them all, and the
 * archive (mam_delete) and the PEP nodes (pep_delete_all). */
static const char *const user_keys[] = {
	"account", "roster", "rosterver", "pending", "sessions", "presence", "offline", "authfail",
	"carbons", "smids", "vcard", "private", "blocklist", "mamprefs", "pep", "uploads",
	"clients", "fast", NULL
};
/* ... and those of each session (its resource after the colon). */
static const char *const session_keys[] = { "inbox:", "sm:", "smq:", "muc:", NULL };

/* The keys of each session of bare: its inbox and stream management. */
static int delete_session_keys(struct store *s, const char *bare)
{
	return store_del_members(s, bare, "HKEYS", "sessions", session_keys);
}

static void copy_field(char *dst, const redisReply *r)
{
	dst[0] = '\0';
	if (r->type == REDIS_REPLY_STRING && r->len < ACCOUNT_MAX_FIELD) {
		memcpy(dst, r->str, r->len);
		dst[r->len] = '\0';
	}
}

int account_get(struct store *s, const char *bare, struct account *a)
{
	char key[STORE_MAX_KEY];
	redisReply *r;
	int found;

	memset(a, 0, sizeof *a);
	store_user_key(s, bare, "account", key, sizeof key);
	r = store_cmd(s, "HMGET %s scram-sha-1 scram-sha-256 digest-secret", key);
	if (!r)
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		freeReplyObject(r);
		snprintf(s->err, sizeof s->err, "HMGET: unexpected reply");
		return XE_REPLY;
	}
	copy_field(a->scram_sha1, r->element[0]);
	copy_field(a->scram_sha256, r->element[1]);
	copy_field(a->digest_secret, r->element[2]);
	freeReplyObject(r);
	found = a->scram_sha1[0] || a->scram_sha256[0];
	return found ? ACCOUNT_FOUND : ACCOUNT_NONE;
}

int account_put(struct store *s, const char *bare, const char *scram_sha1,
    const char *scram_sha256, const char *digest_secret, int create_only)
{
	char key[STORE_MAX_KEY], users[STORE_MAX_KEY];
	redisReply *r;

	store_user_key(s, bare, "account", key, sizeof key);
	store_shard_key(s, "users", bare, users, sizeof users);
	if (create_only) {
		r = store_cmd(s, "HSETNX %s created %lld", key, (long long)time(NULL));
		if (!r)
			return XE_REDIS;
		if (r->integer == 0) {
			freeReplyObject(r);
			return ACCOUNT_EXISTS;
		}
		freeReplyObject(r);
	}
	r = store_cmd(s, "HSET %s scram-sha-1 %s scram-sha-256 %s", key,
	    scram_sha1, scram_sha256);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	r = digest_secret ? store_cmd(s, "HSET %s digest-secret %s", key, digest_secret)
	    : store_cmd(s, "HDEL %s digest-secret", key);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	/* A new password ends every FAST token (fast.h): a stolen device
	 * must not outlive the password its owner changed because of it. */
	store_user_key(s, bare, "fast", key, sizeof key);
	if (!(r = store_cmd(s, "DEL %s", key)))
		return XE_REDIS;
	freeReplyObject(r);
	r = store_cmd(s, "SADD %s %s", users, bare);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return ACCOUNT_WRITTEN;
}

static void reg_key(const struct store *s, const char *addr, char *out, size_t outsz)
{
	char name[REG_NAME_MAX];
	snprintf(name, sizeof name, REG_KEY_NAME "%s", addr);
	store_global_key(s, name, out, outsz);
}

int account_created_from(struct store *s, const char *addr, long *n)
{
	char key[STORE_MAX_GLOBAL_KEY];
	redisReply *r;

	*n = 0;
	reg_key(s, addr, key, sizeof key);
	if (!(r = store_cmd(s, "GET %s", key)))
		return XE_REDIS;
	if (r->type == REDIS_REPLY_STRING)
		*n = strtol(r->str, NULL, 10);
	freeReplyObject(r);
	return 0;
}

/* Take (mode "take") or give back ("give") a place in addr's count of
 * in-band creations (registration_count.lua): ACCOUNT_WRITTEN (taken or
 * given), ACCOUNT_LIMITED (the limit is reached: nothing taken), or
 * XE_REDIS / XE_REPLY. */
static int registration_count(struct store *s, const char *addr, const char *mode,
    int limit, int window)
{
	static const char *const outcomes[] = { "counted", "given", "limited", NULL };
	char key[STORE_MAX_GLOBAL_KEY], l[NUM_MAX], w[NUM_MAX];
	const char *argv[4];
	redisReply *r;
	int rc;

	reg_key(s, addr, key, sizeof key);
	snprintf(l, sizeof l, "%d", limit);
	snprintf(w, sizeof w, "%d", window);
	argv[0] = key;
	argv[1] = mode;
	argv[2] = l;
	argv[3] = w;
	rc = store_script(s, "registration_count", lua_registration_count,
	    lua_registration_count_sha, 1, 4, argv, NULL, outcomes, &r);
	if (rc < 0)
		return rc;
	freeReplyObject(r);
	return rc == 2 ? ACCOUNT_LIMITED : ACCOUNT_WRITTEN;
}

/* account_create.lua's outcomes, in the order of enum account_result. */
static const char *const create_outcomes[] = { "", "", "created", "exists", NULL };

/* The account script alone (account_create.lua): the user's keys only.
 * token: the invitation taken for it ("" none). */
static int create_in_slot(struct store *s, const char *bare, const char *sha1,
    const char *sha256, const char *digest, const char *token, int inband)
{
	char key[STORE_MAX_KEY], users[STORE_MAX_KEY], resv[STORE_MAX_KEY], now[NUM_MAX];
	const char *argv[10];
	redisReply *r;
	int rc;

	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	store_user_key(s, bare, "account", key, sizeof key);
	store_shard_key(s, "users", bare, users, sizeof users);
	invite_reservation_key(s, bare, resv, sizeof resv);
	argv[0] = key;
	argv[1] = users;
	argv[2] = resv;
	argv[3] = bare;
	argv[4] = sha1;
	argv[5] = sha256;
	argv[6] = digest;
	argv[7] = now;
	argv[8] = token;
	argv[9] = inband ? "1" : "0";
	rc = store_script(s, "account_create", lua_account_create, lua_account_create_sha, 3, 10,
	    argv, NULL, create_outcomes, &r);
	if (rc < 0)
		return rc;
	freeReplyObject(r);
	return rc;               /* create_outcomes follows enum account_result */
}

/*
 * The address's place and the invitation are taken first, each in one
 * step on its own key, then the account is created in its slot; a
 * refusal gives back what was taken, in the reverse order. So nothing
 * is given twice: a place or an invitation counts once it is taken, and
 * only a definite 'exists' gives it back. A failure of Redis (or of this
 * process) between the steps may lose a place until its window ends, or
 * the invitation, never create two accounts with one.
 */
int account_create(struct store *s, const char *bare, const char *password, int legacy,
    const struct account_claim *claim)
{
	char sha1[ACCOUNT_MAX_FIELD], sha256[ACCOUNT_MAX_FIELD];
	char node[JID_MAX_PART];
	const char *at = strchr(bare, '@'), *token = claim && claim->token ? claim->token : "";
	const char *addr = claim && claim->addr && claim->limit > 0 ? claim->addr : NULL;
	struct invite_held *held = NULL;
	int rc;

	if (scram_cred_lines(password, sha1, sha256, sizeof sha1) == -1) {
		snprintf(s->err, sizeof s->err, "cannot derive SCRAM credentials");
		return XE_ENTROPY;
	}
	snprintf(node, sizeof node, "%.*s", at ? (int)(at - bare) : 0, bare);
	if (addr && (rc = registration_count(s, addr, "take", claim->limit, claim->window))
	    != ACCOUNT_WRITTEN)
		goto out;
	if (token[0]) {
		held = xmalloc(sizeof *held);
		rc = invite_take(s, token, at ? at + 1 : "", node, held);
		if (rc != INVITE_TAKEN) {
			rc = rc == INVITE_NONE ? ACCOUNT_NO_INVITE :
			    rc == INVITE_OTHER_USER ? ACCOUNT_OTHER_USER : rc;
			goto give_place;
		}
	}
	rc = create_in_slot(s, bare, sha1, sha256, legacy ? password : "", token, claim != NULL);
	if (rc != ACCOUNT_EXISTS)
		goto out;
	/* The name is taken: what was taken for it goes back. A failure
	 * here is not the caller's answer (the name is taken still). */
	if (token[0])
		(void)invite_give_back(s, held);
give_place:
	if (addr && rc >= 0)
		(void)registration_count(s, addr, "give", claim->limit, claim->window);
out:
	explicit_bzero(sha1, sizeof sha1);
	explicit_bzero(sha256, sizeof sha256);
	free(held);
	return rc;
}

int account_delete(struct store *s, const char *bare)
{
	/* The indexes that name the user: its account's first. */
	static const char *const indexes[] = { "users", "online", NULL };
	char key[STORE_MAX_KEY];
	redisReply *r;
	long long existed;
	int i;

	store_user_key(s, bare, "account", key, sizeof key);
	r = store_cmd(s, "EXISTS %s", key);
	if (!r)
		return XE_REDIS;
	existed = r->integer;
	freeReplyObject(r);
	if (delete_session_keys(s, bare) < 0 || mam_delete(s, bare) < 0 ||
	    pep_delete_all(s, bare) < 0)
		return XE_REDIS;
	for (i = 0; user_keys[i]; i++) {
		store_user_key(s, bare, user_keys[i], key, sizeof key);
		r = store_cmd(s, "DEL %s", key);
		if (!r)
			return XE_REDIS;
		freeReplyObject(r);
	}
	/* Its sessions' records went with the sessions hash: a handler
	 * ending one later finds none and leaves the online index alone.
	 * Both indexes are shards beside the user's keys (store.h). */
	for (i = 0; indexes[i]; i++) {
		store_shard_key(s, indexes[i], bare, key, sizeof key);
		if (!(r = store_cmd(s, "SREM %s %s", key, bare)))
			return XE_REDIS;
		if (i == 0)
			existed |= r->integer;
		freeReplyObject(r);
	}
	return existed ? ACCOUNT_REMOVED : ACCOUNT_NONE;
}

int account_each(struct store *s, int (*fn)(const char *bare, void *arg), void *arg)
{
	struct strvec users = { 0 };
	size_t i;
	int rc = store_shard_members(s, "users", &users);

	for (i = 0; rc >= 0 && i < users.n; i++)
		if (fn(users.v[i], arg) != 0)
			rc = XE_REDIS;
	strvec_free(&users);
	return rc < 0 ? rc : 0;
}

int account_server_secret(struct store *s, unsigned char out[ACCOUNT_SECRET_LEN])
{
	/* Read as it was, or stored from ARGV: the secret either way. */
	static const char *const outcomes[] = { "found", "stored", NULL };
	char key[STORE_MAX_KEY], fresh[SECRET_HEX_LEN + 1];
	const char *argv[2];
	const redisReply *v;
	redisReply *r;
	int rc, hi, lo;
	size_t i;

	memset(out, 0, ACCOUNT_SECRET_LEN);
	/* Drawn on every call, used only the first time ever: one round
	 * trip instead of a GET, then a SET when there is none. */
	if ((rc = random_hex(fresh, ACCOUNT_SECRET_LEN)) < 0) {
		snprintf(s->err, sizeof s->err, "getrandom: cannot draw the server secret");
		return rc;
	}
	store_global_key(s, SECRET_KEY_NAME, key, sizeof key);
	argv[0] = key;
	argv[1] = fresh;
	rc = store_script(s, "server_secret", lua_server_secret, lua_server_secret_sha, 1, 2,
	    argv, NULL, outcomes, &r);
	memset(fresh, 0, sizeof fresh);
	if (rc < 0)
		return rc;
	rc = XE_REPLY;
	v = r->elements == 2 ? r->element[1] : NULL;
	if (v && v->type == REDIS_REPLY_STRING && v->len == SECRET_HEX_LEN) {
		for (i = 0; i < ACCOUNT_SECRET_LEN; i++) {
			hi = hex_value(v->str[2 * i]);
			lo = hex_value(v->str[2 * i + 1]);
			if (hi < 0 || lo < 0)
				break;
			out[i] = (unsigned char)(hi << 4 | lo);
		}
		rc = i == ACCOUNT_SECRET_LEN ? 0 : XE_REPLY;
	}
	if (rc < 0) {
		memset(out, 0, ACCOUNT_SECRET_LEN);
		snprintf(s->err, sizeof s->err, "%.256s is not %d hex digits", key, SECRET_HEX_LEN);
	}
	freeReplyObject(r);
	return rc;
}
