/*
 * authfail.c - failed-authentication counters (see authfail.h).
 */
#include "authfail.h"
#include "scripts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_KEY_NAME   "authfail-addr:"
#define ACCOUNT_KEY_END "}:authfail"
/* ADDR_KEY_NAME and an address, truncated as ever; with the prefix it
 * fits a global key buffer. */
#define ADDR_NAME_MAX   256
_Static_assert(sizeof ((struct store *)0)->prefix + ADDR_NAME_MAX <= STORE_MAX_GLOBAL_KEY,
    "an address key fits STORE_MAX_GLOBAL_KEY");

static void addr_key(struct store *s, const char *addr, char *out, size_t outsz)
{
	char name[ADDR_NAME_MAX];
	snprintf(name, sizeof name, ADDR_KEY_NAME "%s", addr);
	store_global_key(s, name, out, outsz);
}

/* The counters of bare and addr (either NULL: not that one) into key[],
 * and where each count goes into slot[]: how many. */
static int counter_keys(struct store *s, const char *bare, const char *addr,
    struct authfail_counts *out, char uk[STORE_MAX_KEY], char ak[STORE_MAX_GLOBAL_KEY],
    const char *key[2], long *slot[2])
{
	int n = 0;
	if (bare) {
		store_user_key(s, bare, "authfail", uk, STORE_MAX_KEY);
		key[n] = uk;
		slot[n++] = &out->account;
	}
	if (addr) {
		addr_key(s, addr, ak, STORE_MAX_GLOBAL_KEY);
		key[n] = ak;
		slot[n++] = &out->addr;
	}
	return n;
}

/*
 * The two counters lie in different hash slots of a cluster: one
 * command (a script, or a GET) for each, in one round trip. Counting
 * one and not the other (a failure between) only misses one failure of
 * the policy's counts; nothing reads the two as one.
 */
int authfail_record(struct store *s, const char *bare, const char *addr, int window,
    struct authfail_counts *out)
{
	static const char *const counted[] = { "counted", NULL };
	char uk[STORE_MAX_KEY], ak[STORE_MAX_GLOBAL_KEY], w[16], nk[] = "1";
	const char *key[2], *av[2][5], **argv[2];
	const size_t *lens[2] = { NULL, NULL };
	redisReply *rep[2] = { NULL, NULL };
	int argc[2], n, i, rc;
	long *slot[2];

	memset(out, 0, sizeof *out);
	if ((n = counter_keys(s, bare, addr, out, uk, ak, key, slot)) == 0)
		return 0;
	snprintf(w, sizeof w, "%d", window);
	for (i = 0; i < n; i++) {
		av[i][0] = "EVALSHA";
		av[i][1] = lua_authfail_record_sha;
		av[i][2] = nk;
		av[i][3] = key[i];
		av[i][4] = w;
		argv[i] = av[i];
		argc[i] = 5;
	}
	store_pipeline(s, n, argv, lens, argc, rep);
	rc = 0;
	for (i = 0; i < n; i++) {
		if (rep[i] && rep[i]->type == REDIS_REPLY_ERROR && !strncmp(rep[i]->str, "NOSCRIPT", 8)) {
			/* Alone in its pipeline, or Redis restarted: loaded now. */
			freeReplyObject(rep[i]);
			rep[i] = store_eval(s, lua_authfail_record, lua_authfail_record_sha, 1, 2,
			    av[i] + 3, NULL);
		}
		/* { 'counted', count } */
		if (rc < 0) {
			/* the first failure is the one told */
		} else if (!rep[i] || rep[i]->type == REDIS_REPLY_ERROR) {
			if (rep[i])
				snprintf(s->err, sizeof s->err, "authfail_record: %s", rep[i]->str);
			rc = XE_REDIS;
		} else if (store_outcome(rep[i], counted) == 0 && rep[i]->elements == 2 &&
		    rep[i]->element[1]->type == REDIS_REPLY_INTEGER) {
			*slot[i] = (long)rep[i]->element[1]->integer;
		} else {
			snprintf(s->err, sizeof s->err, "authfail_record: unexpected reply");
			rc = XE_REPLY;
		}
		if (rep[i])
			freeReplyObject(rep[i]);
	}
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int authfail_counts_get(struct store *s, const char *bare, const char *addr,
    struct authfail_counts *out)
{
	char uk[STORE_MAX_KEY], ak[STORE_MAX_GLOBAL_KEY];
	const char *key[2], *av[2][2], **argv[2];
	const size_t *lens[2] = { NULL, NULL };
	redisReply *rep[2] = { NULL, NULL };
	int argc[2] = { 2, 2 }, n, i, rc;
	long *slot[2];

	memset(out, 0, sizeof *out);
	n = counter_keys(s, bare, addr, out, uk, ak, key, slot);
	for (i = 0; i < n; i++) {
		av[i][0] = "GET";
		av[i][1] = key[i];
		argv[i] = av[i];
	}
	rc = n && store_pipeline(s, n, argv, lens, argc, rep) < 0 ? XE_REDIS : 0;
	for (i = 0; i < n; i++) {
		if (rc == 0 && rep[i]->type == REDIS_REPLY_STRING)
			*slot[i] = strtol(rep[i]->str, NULL, 10);
		if (rep[i])
			freeReplyObject(rep[i]);
	}
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

void authfail_clear(struct store *s, const char *bare)
{
	char uk[STORE_MAX_KEY];
	redisReply *r;
	store_user_key(s, bare, "authfail", uk, sizeof uk);
	r = store_cmd(s, "DEL %s", uk);
	if (r)
		freeReplyObject(r);
}

int authfail_unblock(struct store *s, const char *addr)
{
	char ak[STORE_MAX_GLOBAL_KEY];
	redisReply *r;
	int n;

	addr_key(s, addr, ak, sizeof ak);
	r = store_cmd(s, "DEL %s", ak);
	if (!r)
		return XE_REDIS;
	n = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return n ? AUTHFAIL_CLEARED : AUTHFAIL_UNCOUNTED;
}

/* ---- listing ---- */

/* Undo store_user_key's percent-encoding of a bare JID ("%7B" -> "{"). */
static void unescape_jid(const char *in, size_t len, char *out, size_t outsz)
{
	size_t i, o = 0;
	unsigned v;
	for (i = 0; i < len && o + 1 < outsz; i++) {
		if (in[i] == '%' && i + 2 < len && sscanf(in + i + 1, "%2x", &v) == 1) {
			out[o++] = (char)v;
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
}

/* What a key returned by SCAN names: 0 with the address or bare JID in
 * name, or -1 for a key that only looks like a counter. */
static int key_name(const struct store *s, enum authfail_kind kind, const char *key,
    char *name, size_t namesz)
{
	size_t pl = strlen(s->prefix), kl = strlen(key), el = strlen(ACCOUNT_KEY_END);

	if (strncmp(key, s->prefix, pl))
		return -1;
	key += pl;
	kl -= pl;
	if (kind == AUTHFAIL_ADDR) {
		if (strncmp(key, ADDR_KEY_NAME, strlen(ADDR_KEY_NAME)))
			return -1;
		snprintf(name, namesz, "%s", key + strlen(ADDR_KEY_NAME));
		return 0;
	}
	/* An escaped JID holds no '}': this rules out other keys ending
	 * alike, such as an inbox whose resource ends in "}:authfail". */
	if (kl < 1 + el || key[0] != '{' || strcmp(key + kl - el, ACCOUNT_KEY_END) ||
	    memchr(key + 1, '}', kl - 1 - el))
		return -1;
	unescape_jid(key + 1, kl - 1 - el, name, namesz);
	return 0;
}

/* Count and TTL of one counter, in one round trip: 1; 0 if it has gone
 * since SCAN saw it or is no counter (another key that fits the
 * pattern); XE_REDIS if Redis failed. */
static int counter_get(struct store *s, const char *key, long *count, long *ttl)
{
	const char *get[2] = { "GET", key }, *ttlc[2] = { "TTL", key };
	const char **av[2] = { get, ttlc };
	const size_t *lens[2] = { NULL, NULL };
	const int ac[2] = { 2, 2 };
	redisReply *rep[2] = { NULL, NULL };   /* an early failure fills none */
	int rc = 0, i;

	store_pipeline(s, 2, av, lens, ac, rep);
	if (!rep[0] || !rep[1])
		rc = XE_REDIS;
	else if (rep[0]->type == REDIS_REPLY_STRING && rep[1]->type == REDIS_REPLY_INTEGER) {
		*count = strtol(rep[0]->str, NULL, 10);
		*ttl = (long)rep[1]->integer;
		rc = 1;
	}
	for (i = 0; i < 2; i++)
		if (rep[i])
			freeReplyObject(rep[i]);
	return rc;
}

struct scan_ctx {
	struct store *s;
	enum authfail_kind kind;
	int (*fn)(const struct authfail_entry *e, void *arg);
	void *arg;
};

/* One key the SCAN found: its counter, if it still has one, for fn. */
static int scan_one(const char *key, void *arg)
{
	struct scan_ctx *x = arg;
	char name[STORE_MAX_KEY];
	struct authfail_entry e;
	int got;

	if (key_name(x->s, x->kind, key, name, sizeof name) == -1)
		return 0;
	e.kind = x->kind;
	e.name = name;
	got = counter_get(x->s, key, &e.count, &e.ttl);
	if (got < 0)
		return got;
	if (got == 1 && x->fn(&e, x->arg) == -1) {
		x->s->err[0] = '\0';
		return XE_REDIS;
	}
	return 0;
}

/* SCAN the key space for one kind of counter, calling fn for each. */
static int scan_kind(struct store *s, enum authfail_kind kind,
    int (*fn)(const struct authfail_entry *e, void *arg), void *arg)
{
	char pattern[STORE_MAX_KEY], esc[sizeof s->prefix * 2];
	struct scan_ctx x = { s, kind, fn, arg };

	store_glob_escape(s->prefix, esc, sizeof esc);
	snprintf(pattern, sizeof pattern, "%s%s", esc,
	    kind == AUTHFAIL_ADDR ? ADDR_KEY_NAME "*" : "{*" ACCOUNT_KEY_END);
	return store_scan(s, NULL, pattern, scan_one, &x);
}

int authfail_each(struct store *s, int (*fn)(const struct authfail_entry *e, void *arg),
    void *arg)
{
	int rc = scan_kind(s, AUTHFAIL_ADDR, fn, arg);
	if (rc < 0)
		return rc;
	return scan_kind(s, AUTHFAIL_ACCOUNT, fn, arg);
}
