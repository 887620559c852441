/*
 * session.c - session records. Decisions that read and write one user's
 * sessions run as Lua scripts, so two handlers racing for one resource
 * cannot both believe they won.
 */
#include "session.h"
#include "scripts.h"
#include "keyslot.h"
#include "sm.h"
#include "strvec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What session_unregister.lua and session_update.lua answer, indexed by
 * enum session_result. */
static const char *const session_outcomes[] = {
	[SESSION_OURS] = "ours", [SESSION_TAKEN] = "taken", [SESSION_NORECORD] = "norecord",
	NULL
};

/* What session_register.lua answers. */
enum { REG_BOUND, REG_REPLACED };
static const char *const register_outcomes[] = {
	[REG_BOUND] = "bound", [REG_REPLACED] = "replaced", NULL
};

struct session_keys {
	char sessions[STORE_MAX_KEY], presence[STORE_MAX_KEY];
	char online[STORE_MAX_GLOBAL_KEY], expiry[STORE_MAX_GLOBAL_KEY];
};

static void keys_for(struct store *s, const char *bare, struct session_keys *k)
{
	store_user_key(s, bare, "sessions", k->sessions, sizeof k->sessions);
	store_user_key(s, bare, "presence", k->presence, sizeof k->presence);
	/* The shards of the global indexes beside the user's keys: one slot
	 * for the scripts (store.h). */
	store_shard_key(s, "online", bare, k->online, sizeof k->online);
	store_shard_key(s, "expiry", bare, k->expiry, sizeof k->expiry);
}

/* Element i of a script's reply when it is a string, else NULL. */
static const redisReply *reply_str(const redisReply *r, size_t i)
{
	return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ? r->element[i] : NULL;
}

/* A reply that lacks the data its outcome promises. */
static int bad_reply(struct store *s, const char *name, redisReply *r)
{
	snprintf(s->err, sizeof s->err, "%s: unexpected reply", name);
	freeReplyObject(r);
	return XE_REPLY;
}

int session_register(struct store *s, const char *bare, const char *resource,
    const char *id, const char *host, long pid, char *replaced_id, size_t idsz)
{
	struct session_keys k;
	struct session_info si;
	char rec[SESSION_MAX_RECORD], exp[32];
	const char *argv[8];
	const redisReply *old;
	redisReply *r;
	long now = (long)time(NULL);
	int o;

	if (idsz)
		replaced_id[0] = '\0';
	/* Not available, priority 0, until its first presence. */
	memset(&si, 0, sizeof si);
	snprintf(si.id, sizeof si.id, "%s", id);
	snprintf(si.host, sizeof si.host, "%s", host);
	si.pid = pid;
	si.since = si.seen = now;
	if (strlen(id) >= sizeof si.id || strlen(host) >= sizeof si.host ||
	    session_format(&si, rec, sizeof rec) < 0) {
		snprintf(s->err, sizeof s->err, "session_register: stream id or host unfit "
		    "for a session record");
		return XE_INVALID;
	}
	keys_for(s, bare, &k);
	snprintf(exp, sizeof exp, "%ld", now + s->session_ttl);
	argv[0] = k.sessions; argv[1] = k.online; argv[2] = k.expiry;
	argv[3] = bare; argv[4] = resource; argv[5] = rec; argv[6] = id; argv[7] = exp;
	o = store_script(s, "session_register", lua_session_register, lua_session_register_sha,
	    3, 8, argv, NULL, register_outcomes, &r);
	if (o < 0)
		return o;
	if (o == REG_REPLACED) {
		if (!(old = reply_str(r, 1)))
			return bad_reply(s, "session_register", r);
		snprintf(replaced_id, idsz, "%s", old->str);
	}
	freeReplyObject(r);
	return 0;
}

int session_unregister(struct store *s, const char *bare, const char *resource,
    const char *id, char **presence)
{
	struct session_keys k;
	const char *argv[7];
	const redisReply *pres;
	redisReply *r;
	int o;

	if (presence)
		*presence = NULL;
	keys_for(s, bare, &k);
	argv[0] = k.sessions; argv[1] = k.online; argv[2] = k.presence; argv[3] = k.expiry;
	argv[4] = bare; argv[5] = resource; argv[6] = id;
	o = store_script(s, "session_unregister", lua_session_unregister,
	    lua_session_unregister_sha, 4, 7, argv, NULL, session_outcomes, &r);
	if (o < 0)
		return o;
	if (o == SESSION_OURS) {
		if (!(pres = reply_str(r, 1)))
			return bad_reply(s, "session_unregister", r);
		if (presence && pres->len)
			*presence = xstrndup(pres->str, pres->len);
	}
	freeReplyObject(r);
	return o;
}

int session_update(struct store *s, const char *bare, const char *resource,
    const char *id, int prio, int avail, const char *presence_xml)
{
	struct session_keys k;
	char now[32], p[16], a[16], exp[32];
	const char *argv[11];
	redisReply *r;
	long t = (long)time(NULL);
	int o;

	keys_for(s, bare, &k);
	snprintf(now, sizeof now, "%ld", t);
	snprintf(exp, sizeof exp, "%ld", t + s->session_ttl);
	snprintf(p, sizeof p, "%d", prio);
	snprintf(a, sizeof a, "%d", avail);
	argv[0] = k.sessions; argv[1] = k.presence; argv[2] = k.expiry;
	argv[3] = resource; argv[4] = id; argv[5] = now; argv[6] = p; argv[7] = a;
	argv[8] = exp; argv[9] = bare; argv[10] = presence_xml ? presence_xml : "";
	o = store_script(s, "session_update", lua_session_update, lua_session_update_sha,
	    3, 11, argv, NULL, session_outcomes, &r);
	if (o < 0)
		return o;
	freeReplyObject(r);
	return o;
}

/* "host:" and a host name, truncated as ever; with the prefix it fits a
 * global key buffer. */
#define HOST_NAME_KEY 300
_Static_assert(sizeof ((struct store *)0)->prefix + HOST_NAME_KEY <= STORE_MAX_GLOBAL_KEY,
    "a host key fits STORE_MAX_GLOBAL_KEY");

/* The liveness key of a host, "<prefix>host:<host>". */
static void host_key(const struct store *s, const char *host, char *out, size_t outsz)
{
	char name[HOST_NAME_KEY];
	snprintf(name, sizeof name, "host:%s", host);
	store_global_key(s, name, out, outsz);
}

/* Is the expired session id of bare/resource only late? Its record says
 * on which host and in which process its handler runs. */
static int session_late(struct store *s, const char *host, int (*pid_alive)(long pid),
    const char *bare, const char *resource, const char *id, long now, long *seen)
{
	struct session_keys k;
	struct session_info si;
	char hkey[STORE_MAX_GLOBAL_KEY];
	redisReply *r;
	int late = 0;

	keys_for(s, bare, &k);
	r = store_cmd(s, "HGET %s %s", k.sessions, resource);
	if (!r)
		return 0;
	if (r->type != REDIS_REPLY_STRING || session_parse(resource, r->str, &si) < 0 ||
	    strcmp(si.id, id) || now - si.seen > (long)SESSION_STALE_MAX * s->session_ttl) {
		freeReplyObject(r);
		return 0;            /* gone, taken over, or stale for too long */
	}
	freeReplyObject(r);
	*seen = si.seen;
	if (si.det > 0)
		return 0;            /* detached, and its resumption time is over */
	if (!strcmp(si.host, host))
		return pid_alive && pid_alive(si.pid);
	host_key(s, si.host, hkey, sizeof hkey);
	r = store_cmd(s, "EXISTS %s", hkey);
	if (r && r->type == REDIS_REPLY_INTEGER)
		late = r->integer == 1;
	if (r)
		freeReplyObject(r);
	return late;
}

/* The SET that marks a host alive for one TTL, "SET <prefix>host:<host>
 * <now> EX <ttl>", as a pipeline command (its strings in the struct). */
struct host_alive {
	char key[STORE_MAX_GLOBAL_KEY], now[32], ttl[16];
	const char *argv[5];
};

static void host_alive_cmd(const struct store *s, const char *host, long now,
    struct host_alive *h)
{
	host_key(s, host, h->key, sizeof h->key);
	snprintf(h->now, sizeof h->now, "%ld", now);
	snprintf(h->ttl, sizeof h->ttl, "%d", s->session_ttl > 0 ? s->session_ttl : 1);
	h->argv[0] = "SET"; h->argv[1] = h->key; h->argv[2] = h->now;
	h->argv[3] = "EX"; h->argv[4] = h->ttl;
}

/* A reply of a pipeline that must not be an error: 0, or XE_REDIS with
 * s->err set (when r is NULL store_pipeline set it). */
static int reply_ok(struct store *s, const char *what, const redisReply *r)
{
	if (r && r->type == REDIS_REPLY_ERROR)
		snprintf(s->err, sizeof s->err, "%s: %s", what, r->str);
	return r && r->type != REDIS_REPLY_ERROR ? 0 : XE_REDIS;
}

static const char *const claimed_outcome[] = { "claimed", NULL };

#define REAP_ARGC 6       /* EVALSHA sha 1 expiry now batch */

/*
 * One round trip: first, a command of firstc arguments (none when 0),
 * then session_reap.lua on the expiry shards of slots from to to - 1
 * (on one Redis: the one index, from 0 to 1). Every member a script
 * claimed is added to claimed, whatever else failed: a claimed entry is
 * out of the index, and only this caller ends its session.
 * Returns 0, or XE_REDIS / XE_REPLY when a command failed (s->err set).
 */
static int claim_shards(struct store *s, const char **first, int firstc,
    unsigned from, unsigned to, const char *now, struct strvec *claimed)
{
	int f = firstc > 0, n = (int)(to - from) + f, i, rc = 0;
	char (*key)[STORE_MAX_GLOBAL_KEY] = xcalloc(to - from, sizeof *key);
	const char **argv = xcalloc((size_t)n * REAP_ARGC, sizeof *argv);
	const char ***cmd = xcalloc((size_t)n, sizeof *cmd);
	const size_t **lens = xcalloc((size_t)n, sizeof *lens);
	int *argc = xcalloc((size_t)n, sizeof *argc);
	redisReply **r = xcalloc((size_t)n, sizeof *r);
	char batch[16];
	size_t e;

	snprintf(batch, sizeof batch, "%d", SESSION_REAP_BATCH);
	if (f) {
		cmd[0] = first;
		argc[0] = firstc;
	}
	for (i = f; i < n; i++) {
		const char **a = &argv[(size_t)i * REAP_ARGC];
		store_shard_key_at(s, "expiry", from + (unsigned)(i - f), key[i - f],
		    sizeof key[0]);
		a[0] = "EVALSHA"; a[1] = lua_session_reap_sha; a[2] = "1";
		a[3] = key[i - f]; a[4] = now; a[5] = batch;
		cmd[i] = a;
		argc[i] = REAP_ARGC;
	}
	store_pipeline(s, n, cmd, lens, argc, r);
	if (f && reply_ok(s, "session_reap", r[0]) < 0)
		rc = XE_REDIS;
	for (i = f; i < n; i++) {
		if (r[i] && r[i]->type == REDIS_REPLY_ERROR && !strncmp(r[i]->str, "NOSCRIPT", 8)) {
			/* Redis lost its scripts (a restart): loaded, run again. */
			freeReplyObject(r[i]);
			r[i] = store_eval(s, lua_session_reap, lua_session_reap_sha, 1,
			    REAP_ARGC - 3, cmd[i] + 3, NULL);
		}
		if (reply_ok(s, "session_reap", r[i]) < 0) {
			rc = XE_REDIS;
		} else if (store_outcome(r[i], claimed_outcome) < 0) {
			snprintf(s->err, sizeof s->err, "session_reap: unexpected reply");
			rc = XE_REPLY;
		} else {
			/* { 'claimed', member... } */
			for (e = 1; e < r[i]->elements; e++)
				if (r[i]->element[e]->type == REDIS_REPLY_STRING)
					strvec_add(claimed, r[i]->element[e]->str);
		}
		if (r[i])
			freeReplyObject(r[i]);
	}
	if (f && r[0])
		freeReplyObject(r[0]);
	free(key); free(argv); free(cmd); free(lens); free(argc); free(r);
	return rc;
}

/*
 * On a cluster, whether this handler's heartbeat is the reaper's turn:
 * SET <prefix>reaper NX for a TTL / SESSION_REAP_PASSES, so that one
 * handler of the cluster walks the 16384 expiry shards that often, not
 * every handler at every heartbeat. h (the host's liveness) rides along:
 * every heartbeat marks its host alive, reaper or not.
 * Returns 1 (its turn, even if the liveness SET failed), 0 (another
 * handler's), or XE_REDIS.
 */
static int reaper_turn(struct store *s, struct host_alive *h, const char *host)
{
	char key[STORE_MAX_GLOBAL_KEY], every[16];
	const char *nx[6] = { "SET", key, host, "NX", "EX", every };
	const char **cmd[2] = { h->argv, nx };
	const size_t *lens[2] = { NULL, NULL };
	int argc[2] = { 5, 6 }, won;
	redisReply *r[2];

	store_global_key(s, "reaper", key, sizeof key);
	snprintf(every, sizeof every, "%d", s->session_ttl / SESSION_REAP_PASSES > 0 ?
	    s->session_ttl / SESSION_REAP_PASSES : 1);
	store_pipeline(s, 2, cmd, lens, argc, r);
	/* "OK", or nil: another handler's turn. Won, the walk is due
	 * whatever became of the liveness SET. */
	won = r[1] && r[1]->type == REDIS_REPLY_STATUS;
	if (!won && (reply_ok(s, "session_reap", r[0]) < 0 ||
	    reply_ok(s, "session_reap", r[1]) < 0))
		won = XE_REDIS;
	if (r[0])
		freeReplyObject(r[0]);
	if (r[1])
		freeReplyObject(r[1]);
	return won;
}

/* End the claimed session of member ("<id> <bare>/<resource>": ids have
 * no spaces, bare JIDs no '/'), as session_reap says: 1 if it ended it,
 * else 0. */
static int reap_one(struct store *s, const char *host, int (*pid_alive)(long pid),
    void (*fn)(const char *bare, const char *resource, const char *id, const char *presence,
    void *arg), void *arg, const char *member, long t)
{
	char *m = xstrdup(member), *sp = strchr(m, ' '), *slash = sp ? strchr(sp + 1, '/') : NULL;
	char expiry[STORE_MAX_GLOBAL_KEY], *pres = NULL;
	redisReply *z;
	long seen = 0;
	int ended = 0;

	if (!sp || !slash)
		goto out;
	*sp = '\0';
	*slash = '\0';
	if (session_late(s, host, pid_alive, sp + 1, slash + 1, m, t, &seen)) {
		/* Alive, only starved: one more TTL, not the end. */
		store_shard_key(s, "expiry", sp + 1, expiry, sizeof expiry);
		z = store_cmd(s, "ZADD %s %ld %s", expiry, t + s->session_ttl, member);
		if (z)
			freeReplyObject(z);
	} else if (seen && sm_adopt(s, sp + 1, slash + 1, m, seen, s->resume_timeout, t) == 1) {
		/* Its handler died; its client may still resume it. */
	} else if (session_unregister(s, sp + 1, slash + 1, m, &pres) == SESSION_OURS) {
		ended = 1;
		if (fn)
			fn(sp + 1, slash + 1, m, pres, arg);
	}
out:
	free(pres);
	free(m);
	return ended;
}

int session_reap(struct store *s, const char *host, int (*pid_alive)(long pid),
    void (*fn)(const char *bare, const char *resource, const char *id, const char *presence,
    void *arg), void *arg)
{
	struct strvec claimed = { 0 };
	struct host_alive h;
	char now[32];
	long t = (long)time(NULL);
	unsigned k;
	size_t i;
	int n = 0, rc;

	host_alive_cmd(s, host, t, &h);
	snprintf(now, sizeof now, "%ld", t);
	if (!s->cluster) {
		/* One index: every heartbeat claims what is due there. */
		rc = claim_shards(s, h.argv, 5, 0, 1, now, &claimed);
	} else if ((rc = reaper_turn(s, &h, host)) == 1) {
		for (rc = 0, k = 0; k < KEYSLOT_SLOTS; k += STORE_SHARD_BATCH)
			if (claim_shards(s, NULL, 0, k, k + STORE_SHARD_BATCH < KEYSLOT_SLOTS ?
			    k + STORE_SHARD_BATCH : KEYSLOT_SLOTS, now, &claimed) < 0)
				rc = XE_REDIS;
	}
	for (i = 0; i < claimed.n; i++)
		n += reap_one(s, host, pid_alive, fn, arg, claimed.v[i], t);
	strvec_free(&claimed);
	return rc < 0 && n == 0 ? rc : n;
}

int session_each(struct store *s, const char *bare,
    int (*fn)(const struct session_info *si, void *arg), void *arg)
{
	char key[STORE_MAX_KEY];
	struct session_info si;
	redisReply *r;
	long now = (long)time(NULL);
	size_t i;
	int rc = 0;

	store_user_key(s, bare, "sessions", key, sizeof key);
	r = store_cmd(s, "HGETALL %s", key);
	if (!r)
		return XE_REDIS;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
		const char *res = r->element[i]->str, *rec = r->element[i + 1]->str;
		if (session_parse(res, rec, &si) < 0)
			continue;
		if (si.det > 0 ? now >= si.det :
		    s->session_ttl > 0 && now - si.seen > s->session_ttl)
			continue;          /* stale: its handler died, or never resumed */
		if (fn(&si, arg) == -1) {
			rc = XE_REDIS;
			break;
		}
	}
	freeReplyObject(r);
	return rc;
}

int session_get(struct store *s, const char *bare, const char *resource,
    struct session_info *si, char **presence)
{
	struct session_keys k;
	redisReply *r;
	int o;

	if (presence)
		*presence = NULL;
	keys_for(s, bare, &k);
	r = store_cmd(s, "HGET %s %s", k.sessions, resource);
	if (!r)
		return XE_REDIS;
	o = r->type == REDIS_REPLY_STRING && session_parse(resource, r->str, si) == 0 ?
	    SESSION_OURS : SESSION_NORECORD;
	freeReplyObject(r);
	if (o != SESSION_OURS || !presence)
		return o;
	r = store_cmd(s, "HGET %s %s", k.presence, resource);
	if (!r)
		return XE_REDIS;
	if (r->type == REDIS_REPLY_STRING)
		*presence = xstrndup(r->str, r->len);
	freeReplyObject(r);
	return o;
}

int session_expire(struct store *s, const char *bare, const char *resource, const char *id)
{
	char expiry[STORE_MAX_GLOBAL_KEY], member[SESSION_MAX_RECORD + STORE_MAX_KEY];
	redisReply *r;

	store_shard_key(s, "expiry", bare, expiry, sizeof expiry);
	/* "<stream id> <bare>/<resource>", one argument */
	snprintf(member, sizeof member, "%s %s/%s", id, bare, resource);
	r = store_cmd(s, "ZADD %s 0 %s", expiry, member);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}
