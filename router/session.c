/*
 * session.c - session records. Decisions that read and write one user's
 * sessions run as Lua scripts, so two handlers racing for one resource
 * cannot both believe they won.
 */
#include "session.h"
#include "scripts.h"
#include "sm.h"
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
	store_global_key(s, "online", k->online, sizeof k->online);
	store_global_key(s, "expiry", k->expiry, sizeof k->expiry);
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

int session_reap(struct store *s, const char *host, int (*pid_alive)(long pid),
    void (*fn)(const char *bare, const char *resource, const char *id, const char *presence,
    void *arg), void *arg)
{
	static const char *const claimed[] = { "claimed", NULL };
	char expiry[STORE_MAX_GLOBAL_KEY], hkey[STORE_MAX_GLOBAL_KEY], now[32], batch[16], ttl[16];
	const char *argv[5];
	redisReply *r, *z;
	size_t i;
	int n = 0, o;
	long t = (long)time(NULL);

	store_global_key(s, "expiry", expiry, sizeof expiry);
	host_key(s, host, hkey, sizeof hkey);
	snprintf(now, sizeof now, "%ld", t);
	snprintf(batch, sizeof batch, "%d", SESSION_REAP_BATCH);
	snprintf(ttl, sizeof ttl, "%d", s->session_ttl > 0 ? s->session_ttl : 1);
	argv[0] = expiry; argv[1] = hkey; argv[2] = now; argv[3] = batch; argv[4] = ttl;
	o = store_script(s, "session_reap", lua_session_reap, lua_session_reap_sha, 2, 5, argv,
	    NULL, claimed, &r);
	if (o < 0)
		return o;
	for (i = 1; i < r->elements; i++) {
		/* "<id> <bare>/<resource>": ids have no spaces, bare JIDs no '/'. */
		const redisReply *e = reply_str(r, i);
		char *m = e ? xstrndup(e->str, e->len) : NULL;
		char *sp = m ? strchr(m, ' ') : NULL, *slash = sp ? strchr(sp + 1, '/') : NULL;
		char *pres = NULL;
		long seen = 0;
		if (sp && slash) {
			*sp = '\0';
			*slash = '\0';
			if (session_late(s, host, pid_alive, sp + 1, slash + 1, m, t, &seen)) {
				/* Alive, only starved: one more TTL, not the end. */
				z = store_cmd(s, "ZADD %s %ld %b", expiry, t + s->session_ttl, e->str, e->len);
				if (z)
					freeReplyObject(z);
			} else if (seen && sm_adopt(s, sp + 1, slash + 1, m, seen, s->resume_timeout,
			    t) == 1) {
				/* Its handler died; its client may still resume it. */
			} else if (session_unregister(s, sp + 1, slash + 1, m, &pres) == SESSION_OURS) {
				n++;
				if (fn)
					fn(sp + 1, slash + 1, m, pres, arg);
			}
			free(pres);
		}
		free(m);
	}
	freeReplyObject(r);
	return n;
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

	store_global_key(s, "expiry", expiry, sizeof expiry);
	/* "<stream id> <bare>/<resource>", one argument */
	snprintf(member, sizeof member, "%s %s/%s", id, bare, resource);
	r = store_cmd(s, "ZADD %s 0 %s", expiry, member);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}
