/*
 * route.c - envelopes on pub/sub channels, and the routing scripts.
 */
#include "route.h"
#include "scripts.h"
#include "log.h"
#include "random.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JID_INBOX_MAX 1100      /* "inbox:" + a resource of up to 1023 bytes */

/* route_stanza.lua's outcomes, indexed by enum route_outcome (RO_ERROR is
 * none of them). */
static const char *const route_outcomes[] = {
	[RO_DELIVERED] = "delivered", [RO_OFFLINE] = "offline", [RO_NOUSER] = "nouser",
	[RO_UNAVAILABLE] = "unavailable", [RO_FULL] = "full", [RO_DROPPED] = "dropped",
	[RO_BLOCKED] = "blocked", NULL
};

long route_publish(struct store *s, const char *channel, const char *payload, size_t len)
{
	const char *argv[3] = { store_publish_command(channel), channel, payload };
	size_t lens[3] = { strlen(argv[0]), strlen(channel), len };
	redisReply *r = store_cmdargv(s, 3, argv, lens);
	long n;
	if (!r)
		return XE_REDIS;
	n = (long)r->integer;
	freeReplyObject(r);
	return n;
}

/* A user key, allocated to its length: the buffer it is built in lives
 * in this short frame, so the callers' frames (which go on into hiredis)
 * stay small. Truncated at STORE_MAX_KEY as store_user_key does. */
static char *key_dup(struct store *s, const char *bare, const char *what)
{
	char k[STORE_MAX_KEY];
	store_user_key(s, bare, what, k, sizeof k);
	return xstrdup(k);
}

void route_bcast_keys(struct store *s, const char *bare, char *readers, char *log, size_t sz)
{
	store_user_key(s, bare, "bcastfor", readers, sz);
	store_user_key(s, bare, "bcast", log, sz);
}

#define FANOUT_ARGS 9     /* EVALSHA sha 3 channel readers log payload now max */

int route_fanout(struct store *s, const char *const *bares, int n,
    const char *const *payloads, const size_t *lens, long *counts)
{
	const char ***av = xcalloc((size_t)n + 1, sizeof *av);
	const size_t **al = xcalloc((size_t)n + 1, sizeof *al);
	int *ac = xcalloc((size_t)n + 1, sizeof *ac), i, k, rc;
	redisReply **rep = xcalloc((size_t)n + 1, sizeof *rep);
	char **keys = xcalloc(3 * ((size_t)n + 1), sizeof *keys);
	const char **argbuf = xcalloc(FANOUT_ARGS * ((size_t)n + 1), sizeof *argbuf);
	size_t *lenbuf = xcalloc(FANOUT_ARGS * ((size_t)n + 1), sizeof *lenbuf);
	char now[24], max[16], readers[STORE_MAX_KEY], log[STORE_MAX_KEY];

	snprintf(now, sizeof now, "%ld", (long)time(NULL));
	snprintf(max, sizeof max, "%d", ROUTE_BCAST_MAX);
	for (i = 0; i < n; i++) {
		const char **a = &argbuf[FANOUT_ARGS * i];
		route_bcast_keys(s, bares[i], readers, log, sizeof log);
		keys[3 * i] = key_dup(s, bares[i], NULL);
		keys[3 * i + 1] = xstrdup(readers);
		keys[3 * i + 2] = xstrdup(log);
		a[0] = "EVALSHA"; a[1] = lua_bcast_sha; a[2] = "3";
		a[3] = keys[3 * i]; a[4] = keys[3 * i + 1]; a[5] = keys[3 * i + 2];
		a[6] = payloads[i]; a[7] = now; a[8] = max;
		for (k = 0; k < FANOUT_ARGS; k++)
			lenbuf[FANOUT_ARGS * i + k] = strlen(a[k]);
		lenbuf[FANOUT_ARGS * i + 6] = lens[i];
		av[i] = a;
		al[i] = &lenbuf[FANOUT_ARGS * i];
		ac[i] = FANOUT_ARGS;
	}
	if (n)
		store_pipeline(s, n, av, al, ac, rep);
	for (i = 0, rc = 0; i < n; i++) {
		if (rep[i] && rep[i]->type == REDIS_REPLY_ERROR && !strncmp(rep[i]->str, "NOSCRIPT", 8)) {
			/* Alone in its pipeline, the script was not loaded first. */
			freeReplyObject(rep[i]);
			rep[i] = store_eval(s, lua_bcast, lua_bcast_sha, 3, FANOUT_ARGS - 3, av[i] + 3,
			    al[i] + 3);
		}
		/* { 'published', count } */
		k = rep[i] && rep[i]->type == REDIS_REPLY_ARRAY && rep[i]->elements == 2 &&
		    rep[i]->element[1]->type == REDIS_REPLY_INTEGER;
		if (!k)
			rc = XE_REDIS;
		if (counts)
			counts[i] = k ? (long)rep[i]->element[1]->integer : -1;
		if (rep[i])
			freeReplyObject(rep[i]);
	}
	for (i = 0; i < 3 * n; i++)
		free(keys[i]);
	free(av); free(al); free(ac); free(rep); free(keys); free(argbuf); free(lenbuf);
	return rc;
}

int route_bcast_hold(struct store *s, const char *bare, const char *reader, long until,
    char *last, size_t lastsz)
{
	static const char *const outcomes[] = { "held", NULL };
	char readers[STORE_MAX_KEY], log[STORE_MAX_KEY], u[24];
	const char *argv[4] = { readers, log, reader, u };
	redisReply *r;
	int o;

	route_bcast_keys(s, bare, readers, log, sizeof log);
	snprintf(u, sizeof u, "%ld", until);
	o = store_script(s, "bcast_hold", lua_bcast_hold, lua_bcast_hold_sha, 2, 4, argv, NULL,
	    outcomes, &r);
	if (o < 0)
		return o;
	if (r->elements != 2 || r->element[1]->type != REDIS_REPLY_STRING) {
		snprintf(s->err, sizeof s->err, "bcast_hold: unexpected reply");
		freeReplyObject(r);
		return XE_REPLY;
	}
	snprintf(last, lastsz, "%s", r->element[1]->str);
	freeReplyObject(r);
	return 0;
}

int route_bcast_release(struct store *s, const char *bare, const char *reader)
{
	char readers[STORE_MAX_KEY], log[STORE_MAX_KEY];
	redisReply *r;

	route_bcast_keys(s, bare, readers, log, sizeof log);
	r = store_cmd(s, "ZREM %s %s", readers, reader);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}

int route_bcast_read(struct store *s, const char *bare, const char *after, int max,
    void (*fn)(const char *id, const char *payload, size_t len, void *arg), void *arg)
{
	char readers[STORE_MAX_KEY], log[STORE_MAX_KEY], from[ROUTE_BCAST_ID_MAX + 1];
	redisReply *r, *e, *f;
	size_t i;
	int n = 0;

	route_bcast_keys(s, bare, readers, log, sizeof log);
	snprintf(from, sizeof from, "(%s", after);
	r = store_cmd(s, "XRANGE %s %s + COUNT %d", log, from, max);
	if (!r)
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(s->err, sizeof s->err, "XRANGE: unexpected reply");
		freeReplyObject(r);
		return XE_REPLY;
	}
	/* Each entry: [ id, [ 'e', payload ] ]. */
	for (i = 0; i < r->elements; i++) {
		e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type !=
		    REDIS_REPLY_ARRAY || e->element[1]->elements != 2)
			continue;
		f = e->element[1]->element[1];
		if (f->type != REDIS_REPLY_STRING)
			continue;
		fn(e->element[0]->str, f->str, f->len, arg);
		n++;
	}
	freeReplyObject(r);
	return n;
}

long route_push(struct store *s, const char *bare, const char *item, const char *ver)
{
	size_t len;
	long n;
	char *env = route_envelope_push(item, ver, &len);
	int rc = route_fanout(s, &bare, 1, (const char *const *)&env, &len, &n);
	free(env);
	return rc < 0 ? rc : n;
}

long route_kick(struct store *s, const char *bare, const char *resource,
    const char *id, const char *cond)
{
	char chan[STORE_MAX_KEY], *env;
	size_t len;
	long n;
	env = route_envelope_kick(id, cond, &len);
	store_full_channel(s, bare, resource, chan, sizeof chan);
	n = route_publish(s, chan, env, len);
	free(env);
	return n;
}

int route_subscribe(struct store *s, const char *bare, const char *resource)
{
	char full[STORE_MAX_KEY], barech[STORE_MAX_KEY];
	static const char resync[] = "inbox offline\n";

	store_full_channel(s, bare, resource, full, sizeof full);
	store_user_key(s, bare, NULL, barech, sizeof barech);
	/* Confirmed before bind goes on: nothing published after it is missed. */
	if (store_subscribe(s, full, resync, 1) == XE_REDIS ||
	    store_subscribe(s, barech, resync, 1) == XE_REDIS)
		return XE_REDIS;
	return 0;
}

int route_subscribe_channel(struct store *s, const char *channel, const char *resync)
{
	return store_subscribe(s, channel, resync, 0);
}

int route_unsubscribe_channel(struct store *s, const char *channel)
{
	return store_unsubscribe(s, channel);
}

#define ROUTE_KEYS 9
#define ROUTE_ARGS 31      /* EVALSHA sha numkeys + 9 keys + 19 arguments */
#define ROUTE_RAND 8       /* random bytes of an archive id (mam.h) */
#define ROUTE_STR_(x) #x
#define ROUTE_STR(x)  ROUTE_STR_(x)

/* The arguments of route_stanza.lua for one request; strings it made are
 * kept in mine[] to be freed. */
struct route_call {
	const char *av[ROUTE_ARGS];
	size_t al[ROUTE_ARGS];
	int ac, nkeys;
	const char *script;            /* its text, for a Redis that lost it */
	char *mine[12];
	char rand[2 * ROUTE_RAND + 1];
};

#define MAM_ADD_KEYS 3
#define MAM_ADD_ARGS 13    /* EVALSHA sha numkeys + 3 keys + 7 arguments */

/* A message the user sent with no carbon copy due: its archive entry
 * alone (mam_add.lua), far cheaper than route_stanza.lua's kind 'sent'.
 * c->mine holds the keys call_args made. */
static void mam_add_args(const struct route_req *q, const char *with, const char *now,
    const char *const *policy, struct route_call *c)
{
	int i;
	c->script = lua_mam_add;
	c->nkeys = MAM_ADD_KEYS;
	c->ac = MAM_ADD_ARGS;
	c->av[0] = "EVALSHA"; c->av[1] = lua_mam_add_sha; c->av[2] = ROUTE_STR(MAM_ADD_KEYS);
	c->av[3] = c->mine[7]; c->av[4] = c->mine[8]; c->av[5] = c->mine[9];
	c->av[6] = with; c->av[7] = q->envelope; c->av[8] = c->rand; c->av[9] = now;
	c->av[10] = policy[0]; c->av[11] = policy[1]; c->av[12] = policy[2];
	for (i = 0; i < MAM_ADD_ARGS; i++)
		c->al[i] = strlen(c->av[i]);
	c->al[7] = q->envlen;
}

/* Fresh random hex for the archive ids of one pipeline, drawn from the
 * kernel RANDOM_HEX_MAX bytes at a time: a message archived on both
 * sides costs one getrandom(2) between several requests, not one each. */
struct rand_pool {
	char hex[2 * RANDOM_HEX_MAX + 1];
	size_t used;                   /* hex digits handed out */
};

/* 2 * ROUTE_RAND hex digits into out (2 * ROUTE_RAND + 1 bytes): 0, or
 * -1 when the kernel gave none. */
static int pool_take(struct rand_pool *p, char *out)
{
	if (!p->hex[0] || p->used + 2 * ROUTE_RAND > 2 * RANDOM_HEX_MAX) {
		if (random_hex(p->hex, RANDOM_HEX_MAX) < 0)
			return -1;
		p->used = 0;
	}
	memcpy(out, p->hex + p->used, 2 * ROUTE_RAND);
	out[2 * ROUTE_RAND] = '\0';
	p->used += 2 * ROUTE_RAND;
	return 0;
}

static void call_args(struct store *s, const struct route_req *q, const char *now,
    const char *ttl, const char *cap, const char *const *policy,
    struct rand_pool *pool, struct route_call *c)
{
	const char *with = q->archive_with ? q->archive_with : "";
	char expiry[STORE_MAX_GLOBAL_KEY];
	int i;
	c->mine[0] = key_dup(s, q->bare, "account");
	c->mine[1] = key_dup(s, q->bare, "sessions");
	c->mine[2] = key_dup(s, q->bare, "offline");
	c->mine[3] = key_dup(s, q->bare, NULL);
	c->mine[4] = key_dup(s, q->bare, "inbox:");
	c->mine[5] = key_dup(s, q->bare, "carbons");
	c->mine[6] = key_dup(s, q->bare, "blocklist");
	c->mine[7] = key_dup(s, q->bare, "mamprefs");
	c->mine[8] = key_dup(s, q->bare, "mam");
	c->mine[9] = key_dup(s, q->bare, "roster");
	/* The expiry index's shard beside the user's keys (store.h). */
	store_shard_key(s, "expiry", q->bare, expiry, sizeof expiry);
	c->mine[10] = xstrdup(expiry);
	c->mine[11] = NULL;
	/* No randomness, no archive: the message goes on unarchived. */
	if (with[0] && pool_take(pool, c->rand) < 0)
		with = "";
	if (q->sent && !q->carbons && with[0]) {
		mam_add_args(q, with, now, policy, c);
		return;
	}
	c->script = lua_route_stanza;
	c->nkeys = ROUTE_KEYS;
	c->ac = ROUTE_ARGS;
	c->av[0] = "EVALSHA"; c->av[1] = lua_route_stanza_sha;
	c->av[2] = ROUTE_STR(ROUTE_KEYS);
	c->av[3] = c->mine[0]; c->av[4] = c->mine[1]; c->av[5] = c->mine[2]; c->av[6] = c->mine[10];
	c->av[7] = c->mine[5]; c->av[8] = c->mine[6];
	c->av[9] = c->mine[7]; c->av[10] = c->mine[8]; c->av[11] = c->mine[9];
	c->av[12] = c->mine[3]; c->av[13] = q->resource;
	c->av[14] = q->is_iq ? "iq" : q->sent ? "sent" : "message";
	c->av[15] = q->msg_type; c->av[16] = q->envelope; c->av[17] = q->delay;
	c->av[18] = now; c->av[19] = ttl; c->av[20] = cap; c->av[21] = q->bare;
	c->av[22] = c->mine[4];
	c->av[23] = q->echo_of ? q->echo_of : "";
	c->av[24] = q->carbons ? "1" : "";
	c->av[25] = q->from ? q->from : "";
	c->av[26] = with;
	c->av[27] = c->rand;
	c->av[28] = policy[0]; c->av[29] = policy[1]; c->av[30] = policy[2];
	for (i = 0; i < ROUTE_ARGS; i++)
		c->al[i] = strlen(c->av[i]);
	c->al[16] = q->envlen;
}


void route_stanza_batch(struct store *s, int n, const struct route_req *req,
    int offline_cap, enum route_outcome *out)
{
	route_stanza_batch_with(s, n, req, offline_cap, out, NULL);
}

void route_stanza_batch_with(struct store *s, int n, const struct route_req *req,
    int offline_cap, enum route_outcome *out, struct store_rider *rider)
{
	struct route_call *calls = xcalloc((size_t)n, sizeof *calls);
	const char ***av = xcalloc((size_t)n + 2, sizeof *av);
	const size_t **al = xcalloc((size_t)n + 2, sizeof *al);
	int *ac = xcalloc((size_t)n + 2, sizeof *ac), i, j, o, m;
	redisReply **rep = xcalloc((size_t)n + 2, sizeof *rep);
	char wn[16], wt[16];
	const char *wargv[3] = { "WAIT", NULL, NULL };
	char now[32], ttl[16], cap[16], count[24], age[24];
	const char *policy[3] = { count, age, s->archive_default };
	struct rand_pool pool = { "", 0 };

	snprintf(now, sizeof now, "%ld", (long)time(NULL));
	snprintf(ttl, sizeof ttl, "%d", s->session_ttl);
	snprintf(cap, sizeof cap, "%d", offline_cap);
	snprintf(count, sizeof count, "%d", s->archive_max_count);
	snprintf(age, sizeof age, "%ld", s->archive_max_age);
	for (i = 0; i < n; i++) {
		call_args(s, &req[i], now, ttl, cap, policy, &pool, &calls[i]);
		av[i] = calls[i].av;
		al[i] = calls[i].al;
		ac[i] = calls[i].ac;
	}
	if (rider) {
		av[n] = rider->argv;
		al[n] = rider->lens;
		ac[n] = rider->argc;
	}
	/* Accepted means on wait_replicas replicas too, when asked: WAIT
	 * closes the pipeline, so it costs no round trip of its own. */
	m = n + (rider != NULL);
	if (s->wait_replicas > 0) {
		snprintf(wn, sizeof wn, "%d", s->wait_replicas);
		snprintf(wt, sizeof wt, "%d", s->wait_timeout_ms);
		wargv[1] = wn;
		wargv[2] = wt;
		av[m] = wargv;
		al[m] = NULL;
		ac[m] = 3;
	}
	store_pipeline(s, m + (s->wait_replicas > 0), av, al, ac, rep);
	if (rider)
		rider->reply = rep[n];
	if (s->wait_replicas > 0) {
		/* Too few replicas: through Sentinel, a primary that lost its
		 * replicas may have been replaced meanwhile (what it takes
		 * now is lost at the switch): if so, the connection goes and
		 * the batch counts as not kept (store_lost). Else the stanzas
		 * are on the primary alone, which is said. */
		if (!store_lost(s) && (!rep[m] || rep[m]->type != REDIS_REPLY_INTEGER ||
		    rep[m]->integer < s->wait_replicas) && store_still_primary(s))
			log_msg(LOG_WARNING, "redis: %lld of %d replicas had the routed stanzas within "
			    "%d ms (they are on the primary)", rep[m] && rep[m]->type ==
			    REDIS_REPLY_INTEGER ? rep[m]->integer : 0, s->wait_replicas,
			    s->wait_timeout_ms);
		if (rep[m])
			freeReplyObject(rep[m]);
	}
	for (i = 0; i < n; i++) {
		if (rep[i] && rep[i]->type == REDIS_REPLY_ERROR && !strncmp(rep[i]->str, "NOSCRIPT", 8)) {
			/* Not run: load the script (store_eval does) and run it. */
			freeReplyObject(rep[i]);
			rep[i] = store_eval(s, calls[i].script, calls[i].av[1], calls[i].nkeys,
			    calls[i].ac - 3, calls[i].av + 3, calls[i].al + 3);
		} else if (rep[i] && rep[i]->type == REDIS_REPLY_ERROR) {
			snprintf(s->err, sizeof s->err, "route_stanza: %s", rep[i]->str);
		}
		o = store_outcome(rep[i], route_outcomes);
		if (o < 0 && rep[i] && rep[i]->type != REDIS_REPLY_ERROR)
			snprintf(s->err, sizeof s->err, "route_stanza: unexpected reply");
		out[i] = o < 0 ? RO_ERROR : (enum route_outcome)o;
		/* { 'delivered', copies, sessions with carbons on } */
		if (o >= 0 && req[i].sent && req[i].carbons_found && rep[i]->elements == 3 &&
		    rep[i]->element[2]->type == REDIS_REPLY_INTEGER)
			*req[i].carbons_found = (long)rep[i]->element[2]->integer;
		/* { 'delivered', receivers, receivers with a handler listening } */
		if (req[i].asleep)
			*req[i].asleep = o == RO_OFFLINE || (o == RO_DELIVERED && !req[i].sent &&
			    rep[i]->elements == 3 && rep[i]->element[2]->type == REDIS_REPLY_INTEGER &&
			    rep[i]->element[2]->integer == 0);
		if (rep[i])
			freeReplyObject(rep[i]);
		for (j = 0; calls[i].mine[j]; j++)
			free(calls[i].mine[j]);
	}
	free(calls); free(av); free(al); free(ac); free(rep);
}

/* fn for each string element of array r from the first-th on. */
static void each_string(redisReply *r, size_t first,
    void (*fn)(const char *, size_t, void *), void *arg)
{
	size_t i;
	for (i = first; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			fn(r->element[i]->str, r->element[i]->len, arg);
}

int route_presence_of(struct store *s, const char *const *bares, int n,
    void (*fn)(const char *xml, size_t len, void *arg), void *arg)
{
	static const char *const presence[] = { "presence", NULL };
	/* Users per script call: all of them on one Redis; one on a
	 * cluster, where a script reads the keys of one slot. */
	int per = s->cluster ? 1 : n, calls = per ? n / per : 0, i, k, rc = 0;
	char **keys = xcalloc(2 * (size_t)n + 1, sizeof *keys), now[32], ttl[16], nk[16];
	const char **argv = xcalloc(2 * (size_t)n + 5 * (size_t)calls + 1, sizeof *argv);
	const char ***cmd = xcalloc((size_t)calls + 1, sizeof *cmd);
	const size_t **lens = xcalloc((size_t)calls + 1, sizeof *lens);
	int *argc = xcalloc((size_t)calls + 1, sizeof *argc);
	redisReply **r = xcalloc((size_t)calls + 1, sizeof *r);
	const char **a = argv;

	snprintf(now, sizeof now, "%ld", (long)time(NULL));
	snprintf(ttl, sizeof ttl, "%d", s->session_ttl);
	for (i = 0; i < n; i++) {
		keys[2 * i] = key_dup(s, bares[i], "sessions");
		keys[2 * i + 1] = key_dup(s, bares[i], "presence");
	}
	/* EVALSHA sha 2per, sessions and presence of per users, now, ttl */
	snprintf(nk, sizeof nk, "%d", 2 * per);
	for (k = 0; k < calls; k++) {
		cmd[k] = a;
		*a++ = "EVALSHA";
		*a++ = lua_presence_get_sha;
		*a++ = nk;
		for (i = 0; i < 2 * per; i++)
			*a++ = keys[2 * per * k + i];
		*a++ = now;
		*a++ = ttl;
		argc[k] = 5 + 2 * per;
	}
	if (calls)
		store_pipeline(s, calls, cmd, lens, argc, r);
	for (k = 0; k < calls; k++) {
		if (r[k] && r[k]->type == REDIS_REPLY_ERROR && !strncmp(r[k]->str, "NOSCRIPT", 8)) {
			/* Alone in its pipeline, the script was not loaded first. */
			freeReplyObject(r[k]);
			r[k] = store_eval(s, lua_presence_get, lua_presence_get_sha,
			    argc[k] - 5, argc[k] - 3, cmd[k] + 3, NULL);
		}
		if (store_outcome(r[k], presence) < 0) {
			if (r[k])
				snprintf(s->err, sizeof s->err, "presence_get: %s",
				    r[k]->type == REDIS_REPLY_ERROR ? r[k]->str : "unexpected reply");
			rc = r[k] && r[k]->type != REDIS_REPLY_ERROR ? XE_REPLY : XE_REDIS;
		} else {
			each_string(r[k], 1, fn, arg);     /* { 'presence', xml... } */
		}
		if (r[k])
			freeReplyObject(r[k]);
	}
	for (i = 0; i < 2 * n; i++)
		free(keys[i]);
	free(keys); free(argv); free(cmd); free(lens); free(argc); free(r);
	return rc;
}

static void inbox_key(struct store *s, const char *bare, const char *resource,
    char *out, size_t outsz)
{
	char what[JID_INBOX_MAX];
	snprintf(what, sizeof what, "inbox:%s", resource);
	store_user_key(s, bare, what, out, outsz);
}

int route_offline_move(struct store *s, const char *bare, const char *resource, int max,
    int archived)
{
	static const char *const moved[] = { "moved", NULL };
	char off[STORE_MAX_KEY], box[STORE_MAX_KEY], n[16], mark[STORE_MAX_KEY];
	const char *argv[4];
	redisReply *r;
	int got;

	store_user_key(s, bare, "offline", off, sizeof off);
	inbox_key(s, bare, resource, box, sizeof box);
	snprintf(n, sizeof n, "%d", max);
	/* The archive's mark, as route_stanza.lua writes it (a bare JID
	 * has nothing to escape). */
	mark[0] = '\0';
	if (archived)
		snprintf(mark, sizeof mark, "<stanza-id xmlns='urn:xmpp:sid:0' by='%s'", bare);
	argv[0] = off; argv[1] = box; argv[2] = n; argv[3] = mark;
	got = store_script(s, "offline_move", lua_offline_move, lua_offline_move_sha, 2, 4, argv,
	    NULL, moved, &r);
	if (got < 0)
		return got;
	/* { 'moved', count } */
	if (r->elements == 2 && r->element[1]->type == REDIS_REPLY_INTEGER) {
		got = (int)r->element[1]->integer;
	} else {
		snprintf(s->err, sizeof s->err, "offline_move: unexpected reply");
		got = XE_REPLY;
	}
	freeReplyObject(r);
	return got;
}

int route_inbox_peek(struct store *s, const char *bare, const char *resource, long offset,
    int max, void (*fn)(const char *env, size_t len, void *arg), void *arg)
{
	char key[STORE_MAX_KEY];
	redisReply *r;
	int got;

	inbox_key(s, bare, resource, key, sizeof key);
	r = store_cmd(s, "LRANGE %s %ld %ld", key, offset, offset + max - 1);
	if (!r)
		return XE_REDIS;
	got = r->type == REDIS_REPLY_ARRAY ? (int)r->elements : 0;
	each_string(r, 0, fn, arg);
	freeReplyObject(r);
	return got;
}

int route_inbox_take(struct store *s, const char *bare, const char *resource, int max,
    void (*fn)(const char *env, size_t len, void *arg), void *arg)
{
	char key[STORE_MAX_KEY];
	redisReply *r;
	int got = route_inbox_peek(s, bare, resource, 0, max, fn, arg);

	if (got <= 0)
		return got;
	inbox_key(s, bare, resource, key, sizeof key);
	r = store_cmd(s, "LTRIM %s %d -1", key, got);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return got;
}
