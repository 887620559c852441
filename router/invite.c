/*
 * invite.c - invitations to register (see invite.h).
 */
#include "invite.h"
#include "scripts.h"
#include "random.h"
#include "jid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INVITE_KEY_NAME  "invite:"
#define RESERVATION_NAME "invite"
#define FIELD_MAX        JID_MAX       /* a domain or a node, as stored */
#define NUM_MAX          24            /* a decimal long, and its NUL */

void invite_key(const struct store *s, const char *token, char *out, size_t outsz)
{
	char name[sizeof INVITE_KEY_NAME + INVITE_TOKEN_MAX];
	snprintf(name, sizeof name, INVITE_KEY_NAME "%.*s", INVITE_TOKEN_LEN, token);
	store_global_key(s, name, out, outsz);
}

void invite_reservation_key(const struct store *s, const char *bare, char *out, size_t outsz)
{
	store_user_key(s, bare, RESERVATION_NAME, out, outsz);
}

/* Run the pipeline of n commands; XE_REDIS (store->err set) if any failed. */
static int run(struct store *s, int n, const char **av[], const int *ac)
{
	redisReply *rep[4] = { NULL, NULL, NULL, NULL };
	const size_t *lens[4] = { NULL, NULL, NULL, NULL };
	int rc = store_pipeline(s, n, av, lens, ac, rep), i;
	for (i = 0; i < n; i++)
		if (rep[i])
			freeReplyObject(rep[i]);
	return rc < 0 ? XE_REDIS : 0;
}

/* Store the invitation hash key, its life expire_cmd ("EXPIRE" or
 * "PEXPIRE") amount, or for ever when expire_cmd is NULL: one
 * transaction, so never an invitation without its expiry. MULTI and
 * EXEC carry no key: store_pipeline sends them to key's node. 0 or
 * XE_REDIS. */
static int put(struct store *s, const char *key, const char *domain, const char *node,
    const char *created, const char *expire_cmd, const char *amount)
{
	const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" };
	const char *hset[] = { "HSET", key, "domain", domain, "node", node, "created", created };
	const char *expire[] = { expire_cmd, key, amount };
	const char **av[4] = { multi, hset, expire, exec };
	int ac[4] = { 1, 8, 3, 1 };

	if (!expire_cmd) {
		av[2] = exec;
		ac[2] = 1;
	}
	return run(s, expire_cmd ? 4 : 3, av, ac);
}

int invite_create(struct store *s, const char *domain, const char *node, int ttl,
    char token[INVITE_TOKEN_MAX])
{
	char key[STORE_MAX_GLOBAL_KEY], rkey[STORE_MAX_KEY], bare[2 * FIELD_MAX + 2];
	char secs[NUM_MAX], now[NUM_MAX];
	redisReply *r;
	int rc;

	if ((rc = random_hex(token, INVITE_TOKEN_BYTES)) < 0) {
		snprintf(s->err, sizeof s->err, "getrandom: cannot draw a token");
		return rc;
	}
	if (!node)
		node = "";
	snprintf(secs, sizeof secs, "%d", ttl);
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	invite_key(s, token, key, sizeof key);
	if (*node) {
		/* The name first: a second invitation for it is refused. */
		snprintf(bare, sizeof bare, "%s@%s", node, domain);
		invite_reservation_key(s, bare, rkey, sizeof rkey);
		r = store_cmd(s, "SET %s %s NX EX %d", rkey, token, ttl);
		if (!r)
			return XE_REDIS;
		rc = r->type == REDIS_REPLY_NIL ? INVITE_RESERVED : INVITE_CREATED;
		freeReplyObject(r);
		if (rc == INVITE_RESERVED)
			return rc;
	}
	if (put(s, key, domain, node, now, "EXPIRE", secs) < 0)
		return XE_REDIS;
	return INVITE_CREATED;
}

int invite_check(struct store *s, const char *token, const char *domain, int min_ttl,
    char *node, size_t nodesz)
{
	static const char *const outcomes[] = { "none", "valid", NULL };
	char key[STORE_MAX_GLOBAL_KEY], secs[NUM_MAX];
	const char *argv[3];
	redisReply *r;
	int rc;

	node[0] = '\0';
	if (!invite_token_ok(token))
		return INVITE_NONE;
	invite_key(s, token, key, sizeof key);
	snprintf(secs, sizeof secs, "%d", min_ttl);
	argv[0] = key;
	argv[1] = domain;
	argv[2] = secs;
	rc = store_script(s, "invite_check", lua_invite_check, lua_invite_check_sha, 1, 3,
	    argv, NULL, outcomes, &r);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		if (r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING) {
			snprintf(node, nodesz, "%s", r->element[1]->str);
			rc = INVITE_VALID;
		} else {
			snprintf(s->err, sizeof s->err, "invite_check: unexpected reply");
			rc = XE_REPLY;
		}
	} else {
		rc = INVITE_NONE;
	}
	freeReplyObject(r);
	return rc;
}

int invite_take(struct store *s, const char *token, const char *domain, const char *node,
    struct invite_held *held)
{
	static const char *const outcomes[] = { "no-invite", "other-user", "taken", NULL };
	char key[STORE_MAX_GLOBAL_KEY];
	const char *argv[3];
	redisReply *r;
	int rc;

	memset(held, 0, sizeof *held);
	if (!invite_token_ok(token))
		return INVITE_NONE;
	invite_key(s, token, key, sizeof key);
	argv[0] = key;
	argv[1] = domain;
	argv[2] = node;
	rc = store_script(s, "invite_take", lua_invite_take, lua_invite_take_sha, 1, 3, argv,
	    NULL, outcomes, &r);
	if (rc < 0)
		return rc;
	if (rc != 2) {
		freeReplyObject(r);
		return rc == 0 ? INVITE_NONE : INVITE_OTHER_USER;
	}
	/* { 'taken', node, created, pttl } */
	if (r->elements != 4 || r->element[3]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		snprintf(s->err, sizeof s->err, "invite_take: unexpected reply");
		return XE_REPLY;
	}
	snprintf(held->token, sizeof held->token, "%s", token);
	snprintf(held->domain, sizeof held->domain, "%s", domain);
	store_reply_str(r, 1, held->node, sizeof held->node);
	store_reply_str(r, 2, held->created, sizeof held->created);
	held->pttl = r->element[3]->integer;
	freeReplyObject(r);
	return INVITE_TAKEN;
}

int invite_give_back(struct store *s, const struct invite_held *held)
{
	char key[STORE_MAX_GLOBAL_KEY], ms[24];

	invite_key(s, held->token, key, sizeof key);
	snprintf(ms, sizeof ms, "%lld", held->pttl > 0 ? held->pttl : 1);
	return put(s, key, held->domain, held->node, held->created,
	    held->pttl == -1 ? NULL : "PEXPIRE", ms);
}

/* ---- for the operator ---- */

static void copy_str(char *dst, size_t dstsz, const redisReply *r)
{
	dst[0] = '\0';
	if (r && r->type == REDIS_REPLY_STRING)
		snprintf(dst, dstsz, "%s", r->str);
}

struct scan_ctx {
	struct store *s;
	int (*fn)(const struct invite_info *inv, void *arg);
	void *arg;
};

/* One key SCAN found: its fields and TTL in one round trip, for fn. */
static int scan_one(const char *key, void *arg)
{
	struct scan_ctx *x = arg;
	const char *hm[5] = { "HMGET", key, "domain", "node", "created" }, *ttl[2] = { "TTL", key };
	const char **av[2] = { hm, ttl };
	const size_t *lens[2] = { NULL, NULL };
	const int ac[2] = { 5, 2 };
	redisReply *rep[2] = { NULL, NULL };
	char domain[FIELD_MAX], node[FIELD_MAX], created[NUM_MAX];
	size_t pl = strlen(x->s->prefix) + strlen(INVITE_KEY_NAME);
	struct invite_info inv;
	int rc = 0;

	if (strlen(key) <= pl || !invite_token_ok(key + pl))
		return 0;                 /* only looks like an invitation */
	store_pipeline(x->s, 2, av, lens, ac, rep);
	if (!rep[0] || !rep[1]) {
		rc = XE_REDIS;
	} else if (rep[0]->type == REDIS_REPLY_ARRAY && rep[0]->elements == 3 &&
	    rep[0]->element[0]->type == REDIS_REPLY_STRING && rep[1]->type == REDIS_REPLY_INTEGER) {
		copy_str(domain, sizeof domain, rep[0]->element[0]);
		copy_str(node, sizeof node, rep[0]->element[1]);
		copy_str(created, sizeof created, rep[0]->element[2]);
		inv.token = key + pl;
		inv.domain = domain;
		inv.node = node;
		inv.created = strtol(created, NULL, 10);
		inv.ttl = (long)rep[1]->integer;
		if (x->fn(&inv, x->arg) == -1) {
			x->s->err[0] = '\0';
			rc = XE_REDIS;
		}
	}                                 /* else gone since SCAN saw it */
	if (rep[0])
		freeReplyObject(rep[0]);
	if (rep[1])
		freeReplyObject(rep[1]);
	return rc;
}

int invite_each(struct store *s, int (*fn)(const struct invite_info *inv, void *arg),
    void *arg)
{
	char pattern[STORE_MAX_GLOBAL_KEY], esc[sizeof s->prefix * 2];
	struct scan_ctx x = { s, fn, arg };

	store_glob_escape(s->prefix, esc, sizeof esc);
	snprintf(pattern, sizeof pattern, "%s" INVITE_KEY_NAME "*", esc);
	return store_scan(s, NULL, pattern, scan_one, &x);
}

int invite_delete(struct store *s, const char *token)
{
	char key[STORE_MAX_GLOBAL_KEY], rkey[STORE_MAX_KEY], bare[2 * FIELD_MAX + 2];
	char domain[FIELD_MAX], node[FIELD_MAX];
	redisReply *r;
	int gone;

	if (!invite_token_ok(token))
		return INVITE_NONE;
	invite_key(s, token, key, sizeof key);
	r = store_cmd(s, "HMGET %s domain node", key);
	if (!r)
		return XE_REDIS;
	domain[0] = node[0] = '\0';
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		copy_str(domain, sizeof domain, r->element[0]);
		copy_str(node, sizeof node, r->element[1]);
	}
	freeReplyObject(r);
	r = store_cmd(s, "DEL %s", key);
	if (!r)
		return XE_REDIS;
	gone = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	if (gone && node[0]) {
		/* The name it held, unless another invitation holds it now. */
		const char *argv[3];
		snprintf(bare, sizeof bare, "%s@%s", node, domain);
		invite_reservation_key(s, bare, rkey, sizeof rkey);
		r = store_cmd(s, "GET %s", rkey);
		if (!r)
			return XE_REDIS;
		argv[0] = r->type == REDIS_REPLY_STRING && !strcmp(r->str, token) ? "DEL" : NULL;
		freeReplyObject(r);
		if (argv[0]) {
			argv[1] = rkey;
			if (!(r = store_cmdargv(s, 2, argv, NULL)))
				return XE_REDIS;
			freeReplyObject(r);
		}
	}
	return gone ? INVITE_REMOVED : INVITE_NONE;
}
