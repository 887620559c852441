/*
 * s2s.c - federation's queues, leases and verifications in Redis (s2s.h).
 */
#include "s2s.h"
#include "config.h"
#include "jid.h"
#include "keyslot.h"
#include "route.h"
#include "scripts.h"
#include "xml.h"
#include "xerr.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S2S_WAIT_STEP_MS 100     /* s2s_verify_wait polls this often */
/* A route's key: a route (S2S_ROUTE_MAX) is longer than a global key
 * holds, and a truncated key would lose its tag's closing brace, and so
 * its slot: a route's keys must never be cut. */
#define S2S_KEY_MAX STORE_MAX_KEY
_Static_assert(S2S_KEY_MAX > sizeof "s2s:verify:{}" + S2S_ROUTE_MAX + 128,
    "S2S_KEY_MAX: a route's key, its prefix included, does not fit");

/* xmpp:s2s:<kind>{domain} (the tag keeps a domain's keys together). */
static void domain_key(struct store *s, const char *kind, const char *domain, char *out,
    size_t outsz)
{
	char name[S2S_KEY_MAX];
	snprintf(name, sizeof name, "s2s:%s{%s}", kind, domain);
	store_global_key(s, name, out, outsz);
}

static void name_key(struct store *s, const char *name, char *out, size_t outsz)
{
	store_global_key(s, name, out, outsz);
}

/* The shard of the set of routes with work (S2S_DOMAINS) that route is
 * marked in: in the slot of route's keys (domain_key's tag, taken from
 * the key itself), so that the scripts queueing or unmarking touch one
 * slot. On one Redis the one set. */
static void domains_key(struct store *s, const char *route, char *out, size_t outsz)
{
	char q[S2S_KEY_MAX];

	domain_key(s, "out:", route, q, sizeof q);
	store_shard_key_at(s, S2S_DOMAINS, keyslot(q, strlen(q)), out, outsz);
}

static const char *const queue_outcomes[] = { [S2S_QUEUED] = "queued", [S2S_FULL] = "full",
	[S2S_ABSENT] = "absent", NULL };

/* One call of s2s_queue.lua, its arguments and what they point to. */
struct queue_call {
	char q[S2S_KEY_MAX], set[STORE_MAX_GLOBAL_KEY], wake[STORE_MAX_GLOBAL_KEY];
	char lease[S2S_KEY_MAX], m[16], route[S2S_ROUTE_MAX];
	const char *av[10];         /* EVALSHA sha numkeys keys... args... */
	size_t al[10];
	int ac, nkeys;
	char *env;                  /* owned when made by send_call */
};

/* The call queueing env on route (domain), capped at max; with leased,
 * only while the route's lease is held (the lease is then the script's
 * third key). */
static void queue_call(struct store *s, struct queue_call *c, const char *domain,
    const char *env, size_t len, int max, int leased)
{
	int n = 0, i;

	snprintf(c->route, sizeof c->route, "%s", domain);
	domain_key(s, "out:", domain, c->q, sizeof c->q);
	domain_key(s, "lease:", domain, c->lease, sizeof c->lease);
	domains_key(s, domain, c->set, sizeof c->set);
	name_key(s, S2S_WAKE_CHANNEL, c->wake, sizeof c->wake);
	snprintf(c->m, sizeof c->m, "%d", max);
	c->av[n++] = "EVALSHA";
	c->av[n++] = lua_s2s_queue_sha;
	c->nkeys = leased ? 3 : 2;
	c->av[n++] = leased ? "3" : "2";
	c->av[n++] = c->q;
	c->av[n++] = c->set;
	if (leased)
		c->av[n++] = c->lease;
	c->av[n++] = env;
	c->av[n++] = c->m;
	c->av[n++] = c->route;
	c->av[n++] = c->wake;
	c->ac = n;
	for (i = 0; i < n; i++)
		c->al[i] = c->av[i] == env ? len : strlen(c->av[i]);
}

/* Run one call. */
static int queue_run(struct store *s, struct queue_call *c)
{
	redisReply *r;
	int o = store_script(s, "s2s_queue", lua_s2s_queue, lua_s2s_queue_sha, c->nkeys,
	    c->ac - 3, c->av + 3, c->al + 3, queue_outcomes, &r);

	if (o >= 0)
		freeReplyObject(r);
	return o;
}

int s2s_queue(struct store *s, const char *domain, const char *env, size_t len, int max)
{
	struct queue_call c;

	queue_call(s, &c, domain, env, len, max, 0);
	return queue_run(s, &c);
}

int s2s_peek(struct store *s, const char *domain, int max,
    void (*fn)(const char *env, size_t len, void *arg), void *arg)
{
	char q[S2S_KEY_MAX];
	redisReply *r;
	size_t i;
	int n = 0;

	domain_key(s, "out:", domain, q, sizeof q);
	r = store_cmd(s, "LRANGE %s 0 %d", q, max - 1);
	if (!r)
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(s->err, sizeof s->err, "LRANGE: unexpected reply");
		freeReplyObject(r);
		return XE_REPLY;
	}
	for (i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING) {
			fn(r->element[i]->str, r->element[i]->len, arg);
			n++;
		}
	freeReplyObject(r);
	return n;
}

int s2s_done(struct store *s, const char *domain, int n)
{
	char q[S2S_KEY_MAX];
	redisReply *r;

	if (n <= 0)
		return 0;
	domain_key(s, "out:", domain, q, sizeof q);
	r = store_cmd(s, "LTRIM %s %d -1", q, n);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}

int s2s_verify_ask(struct store *s, const char *domain, const char *ask_id, const char *from,
    const char *to, const char *sid, const char *key)
{
	static const char *const outcomes[] = { "asked", NULL };
	char l[S2S_KEY_MAX], set[STORE_MAX_GLOBAL_KEY], wake[STORE_MAX_GLOBAL_KEY];
	char ans[STORE_MAX_GLOBAL_KEY], name[STORE_MAX_GLOBAL_KEY], entry[S2S_VERIFY_MAX];
	const char *argv[5] = { l, set, entry, domain, wake };
	redisReply *r;
	int o;

	if ((size_t)snprintf(entry, sizeof entry, "%s %s %s %s %s", ask_id, from, to, sid, key)
	    >= sizeof entry) {
		snprintf(s->err, sizeof s->err, "s2s_verify_ask: entry too long");
		return XE_INVALID;
	}
	domain_key(s, "verify:", domain, l, sizeof l);
	domains_key(s, domain, set, sizeof set);
	name_key(s, S2S_WAKE_CHANNEL, wake, sizeof wake);
	snprintf(name, sizeof name, "s2s:verified:%s", ask_id);
	name_key(s, name, ans, sizeof ans);
	/* An earlier answer under this id goes first, by itself: the answer
	 * list has no tag (another slot than the route's), and no answer
	 * can come before the request the script queues next. */
	if (!(r = store_cmd(s, "DEL %s", ans)))
		return XE_REDIS;
	freeReplyObject(r);
	o = store_script(s, "s2s_verify_ask", lua_s2s_verify_ask, lua_s2s_verify_ask_sha, 2, 5,
	    argv, NULL, outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

int s2s_verify_take(struct store *s, const char *domain, int max,
    void (*fn)(const char *ask_id, const char *from, const char *to, const char *sid,
    const char *key, void *arg), void *arg)
{
	char l[S2S_KEY_MAX], e[S2S_VERIFY_MAX], *f[5], *save = NULL;
	redisReply *r;
	size_t i;
	int n = 0, k;

	domain_key(s, "verify:", domain, l, sizeof l);
	r = store_cmd(s, "LPOP %s %d", l, max);
	if (!r)
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY && r->type != REDIS_REPLY_NIL) {
		snprintf(s->err, sizeof s->err, "LPOP: unexpected reply");
		freeReplyObject(r);
		return XE_REPLY;
	}
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i]->len >= sizeof e)
			continue;
		memcpy(e, r->element[i]->str, r->element[i]->len + 1);
		for (k = 0; k < 5; k++)
			f[k] = strtok_r(k ? NULL : e, " ", &save);
		if (!f[4])
			continue;           /* not made by s2s_verify_ask */
		fn(f[0], f[1], f[2], f[3], f[4], arg);
		n++;
	}
	freeReplyObject(r);
	return n;
}

int s2s_verify_answer(struct store *s, const char *ask_id, const char *result)
{
	char ans[STORE_MAX_GLOBAL_KEY], name[STORE_MAX_GLOBAL_KEY];
	redisReply *r;

	snprintf(name, sizeof name, "s2s:verified:%s", ask_id);
	name_key(s, name, ans, sizeof ans);
	r = store_cmd(s, "RPUSH %s %s", ans, result);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	r = store_cmd(s, "EXPIRE %s %d", ans, S2S_ANSWER_TTL);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}

int s2s_verify_wait(struct store *s, const char *ask_id, int timeout, char *out, size_t outsz)
{
	char ans[STORE_MAX_GLOBAL_KEY], name[STORE_MAX_GLOBAL_KEY];
	long waited;
	redisReply *r;

	out[0] = '\0';
	snprintf(name, sizeof name, "s2s:verified:%s", ask_id);
	name_key(s, name, ans, sizeof ans);
	/* Polled rather than BLPOP: the command connection's timeout is
	 * shorter than a verification may take. */
	for (waited = 0; waited <= (long)timeout * 1000; waited += S2S_WAIT_STEP_MS) {
		if (waited)
			usleep(S2S_WAIT_STEP_MS * 1000);
		r = store_cmd(s, "LPOP %s", ans);
		if (!r)
			return XE_REDIS;
		if (r->type == REDIS_REPLY_STRING) {
			snprintf(out, outsz, "%s", r->str);
			freeReplyObject(r);
			return 0;
		}
		freeReplyObject(r);
	}
	return 0;
}

int s2s_lease(struct store *s, const char *domain, const char *host, long pid, int ttl)
{
	static const char *const outcomes[] = { [S2S_LEASE_OTHER] = "other",
		[S2S_LEASE_OURS] = "ours", NULL };
	char k[S2S_KEY_MAX], me[300], t[16];
	const char *argv[4] = { k, me, t, S2S_LEASE_VACANT };
	redisReply *r;
	int o;

	domain_key(s, "lease:", domain, k, sizeof k);
	snprintf(me, sizeof me, "%s %ld", host, pid);
	snprintf(t, sizeof t, "%d", ttl);
	o = store_script(s, "s2s_lease", lua_s2s_lease, lua_s2s_lease_sha, 1, 4, argv, NULL,
	    outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

int s2s_lease_release(struct store *s, const char *domain, const char *host, long pid)
{
	char k[S2S_KEY_MAX], me[300];
	redisReply *r;

	domain_key(s, "lease:", domain, k, sizeof k);
	snprintf(me, sizeof me, "%s %ld", host, pid);
	/* Only ours: compare and delete in one step (DEL IFEQ is Redis 8). */
	r = store_cmd(s, "EVAL %s 1 %s %s",
	    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end "
	    "return 0", k, me);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}

int s2s_lease_vacate(struct store *s, const char *domain, const char *host, long pid, int ttl)
{
	char k[S2S_KEY_MAX], me[300], t[16];
	redisReply *r;

	domain_key(s, "lease:", domain, k, sizeof k);
	snprintf(me, sizeof me, "%s %ld", host, pid);
	snprintf(t, sizeof t, "%d", ttl);
	r = store_cmd(s, "EVAL %s 1 %s %s %s %s",
	    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
	    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end return 0",
	    k, me, S2S_LEASE_VACANT, t);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}

int s2s_domains(struct store *s, struct strvec *out)
{
	int n = store_shard_members(s, S2S_DOMAINS, out);
	return n < 0 ? n : 0;
}

int s2s_idle(struct store *s, const char *domain)
{
	static const char *const outcomes[] = { [S2S_BUSY] = "busy", [S2S_IDLE] = "idle", NULL };
	char q[S2S_KEY_MAX], l[S2S_KEY_MAX], set[STORE_MAX_GLOBAL_KEY];
	const char *argv[4] = { q, l, set, domain };
	redisReply *r;
	int o;

	domain_key(s, "out:", domain, q, sizeof q);
	domain_key(s, "verify:", domain, l, sizeof l);
	domains_key(s, domain, set, sizeof set);
	o = store_script(s, "s2s_idle", lua_s2s_idle, lua_s2s_idle_sha, 3, 4, argv, NULL,
	    outcomes, &r);
	if (o >= 0)
		freeReplyObject(r);
	return o;
}

void s2s_component_route(const char *domain, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/" S2S_COMPONENT_LOCAL, domain);
}

int s2s_is_component_route(const char *route)
{
	const char *slash = strchr(route, '/');
	return slash && !strcmp(slash + 1, S2S_COMPONENT_LOCAL);
}

/* The call queueing stanza on its route (s2s_send's rules), its
 * envelope made and owned by c: 0, or XE_INVALID. */
static int send_call(struct store *st, const struct config *cfg,
    const struct xml_node *stanza, struct queue_call *c)
{
	const char *to = xml_get(stanza, "to"), *from = xml_get(stanza, "from");
	char route[S2S_ROUTE_MAX], *xml;
	struct jid t, f;
	size_t len;
	int component;

	c->env = NULL;
	if (!to || !from || jid_parse(to, &t) == -1 || jid_parse(from, &f) == -1)
		return XE_INVALID;
	component = config_component(cfg, t.domain) != NULL;
	if (component && (config_federates(cfg, f.domain) || config_component(cfg, f.domain)))
		s2s_component_route(t.domain, route, sizeof route);
	else if (config_s2s_allowed(cfg, t.domain) && config_federates(cfg, f.domain))
		snprintf(route, sizeof route, "%s/%s", t.domain, f.domain);
	else
		return XE_INVALID;
	xml = xml_string(stanza, NULL);
	c->env = route_envelope_stanza(xml, (long)time(NULL), &len);
	free(xml);
	queue_call(st, c, route, c->env, len, cfg->s2s_queue_max, component);
	return 0;
}

/* What an outcome o of c leaves in st->err. */
static void send_err(struct store *st, const struct queue_call *c, int o)
{
	const char *remote = c->route;
	int n = (int)strcspn(remote, "/");

	if (o == S2S_FULL)
		snprintf(st->err, sizeof st->err, "the queue to %.*s is full", n, remote);
	else if (o == S2S_ABSENT)
		snprintf(st->err, sizeof st->err, "no component of %.*s is connected", n, remote);
}

int s2s_send(struct store *st, const struct config *cfg, const struct xml_node *stanza)
{
	struct queue_call *c = xcalloc(1, sizeof *c);
	int r = send_call(st, cfg, stanza, c);

	if (r == 0) {
		r = queue_run(st, c);
		send_err(st, c, r);
	}
	free(c->env);
	free(c);
	return r;
}

void s2s_send_many(struct store *st, const struct config *cfg, int n,
    const struct xml_node *const *stanzas, int *out)
{
	struct queue_call *c = xcalloc((size_t)n + 1, sizeof *c);
	const char ***av = xcalloc((size_t)n + 1, sizeof *av);
	const size_t **al = xcalloc((size_t)n + 1, sizeof *al);
	int *ac = xcalloc((size_t)n + 1, sizeof *ac), *res = xcalloc((size_t)n + 1, sizeof *res);
	redisReply **rep = xcalloc((size_t)n + 1, sizeof *rep);
	int i, k = 0, *at = xcalloc((size_t)n + 1, sizeof *at);

	/* The valid ones in one pipeline; at[k]: the stanza of call k. */
	for (i = 0; i < n; i++) {
		res[i] = send_call(st, cfg, stanzas[i], &c[i]);
		if (res[i] < 0)
			continue;
		av[k] = c[i].av;
		al[k] = c[i].al;
		ac[k] = c[i].ac;
		at[k++] = i;
	}
	if (k > 0)
		store_pipeline(st, k, av, al, ac, rep);
	for (i = 0; i < k; i++) {
		struct queue_call *q = &c[at[i]];
		if (rep[i] && rep[i]->type == REDIS_REPLY_ERROR && !strncmp(rep[i]->str, "NOSCRIPT", 8)) {
			/* Not run (Redis restarted meanwhile): run it alone. */
			freeReplyObject(rep[i]);
			rep[i] = NULL;
			res[at[i]] = queue_run(st, q);
		} else {
			res[at[i]] = store_outcome(rep[i], queue_outcomes);
			if (!rep[i])
				res[at[i]] = XE_REDIS;
			else if (res[at[i]] < 0)
				snprintf(st->err, sizeof st->err, "s2s_queue: %s",
				    rep[i]->type == REDIS_REPLY_ERROR ? rep[i]->str : "unexpected reply");
		}
		send_err(st, q, res[at[i]]);
		if (rep[i])
			freeReplyObject(rep[i]);
	}
	for (i = 0; i < n; i++) {
		if (out)
			out[i] = res[i];
		free(c[i].env);
	}
	free(c); free(av); free(al); free(ac); free(res); free(rep); free(at);
}

/* A lease key found by SCAN: its route, between the braces. */
static int add_leased(const char *key, void *arg)
{
	const char *open = strchr(key, '{'), *close = strrchr(key, '}');
	char route[S2S_ROUTE_MAX];

	if (open && close && close > open && (size_t)(close - open) < sizeof route) {
		snprintf(route, sizeof route, "%.*s", (int)(close - open - 1), open + 1);
		if (strchr(route, '/'))     /* not a room's relay (mucremote.h) */
			strvec_add(arg, route);
	}
	return 0;
}

int s2s_routes(struct store *s, struct strvec *out)
{
	char match[STORE_MAX_GLOBAL_KEY];
	int r;

	if ((r = s2s_domains(s, out)) < 0)
		return r;
	name_key(s, "s2s:lease:*", match, sizeof match);
	return store_scan(s, NULL, match, add_leased, out);
}

int s2s_route_info(struct store *s, const char *route, struct s2s_route_info *info)
{
	char q[S2S_KEY_MAX], l[S2S_KEY_MAX], k[S2S_KEY_MAX];
	const char *a0[2] = { "LLEN", q }, *a1[4] = { "LRANGE", q, "0", "0" };
	const char *a2[2] = { "LLEN", l }, *a3[2] = { "GET", k };
	const char **av[4] = { a0, a1, a2, a3 };
	const size_t *lens[4];
	size_t ln[4][4];
	int ac[4] = { 2, 4, 2, 2 }, i, j, rc;
	redisReply *rep[4];

	memset(info, 0, sizeof *info);
	domain_key(s, "out:", route, q, sizeof q);
	domain_key(s, "verify:", route, l, sizeof l);
	domain_key(s, "lease:", route, k, sizeof k);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < ac[i]; j++)
			ln[i][j] = strlen(av[i][j]);
		lens[i] = ln[i];
	}
	rc = store_pipeline(s, 4, av, lens, ac, rep);
	if (rc == 0) {
		info->queued = rep[0]->type == REDIS_REPLY_INTEGER ? (long)rep[0]->integer : 0;
		/* The head's envelope: "stanza <accepted>\n..." */
		if (rep[1]->type == REDIS_REPLY_ARRAY && rep[1]->elements == 1 &&
		    rep[1]->element[0]->type == REDIS_REPLY_STRING &&
		    !strncmp(rep[1]->element[0]->str, "stanza ", 7))
			info->oldest = strtol(rep[1]->element[0]->str + 7, NULL, 10);
		info->verifies = rep[2]->type == REDIS_REPLY_INTEGER ? (long)rep[2]->integer : 0;
		if (rep[3]->type == REDIS_REPLY_STRING)
			snprintf(info->holder, sizeof info->holder, "%s", rep[3]->str);
	}
	for (i = 0; i < 4; i++)
		if (rep[i])
			freeReplyObject(rep[i]);
	return rc < 0 ? XE_REDIS : 0;
}

long s2s_close(struct store *s, const char *route)
{
	char wake[STORE_MAX_GLOBAL_KEY], msg[S2S_ROUTE_MAX + sizeof S2S_CLOSE_PREFIX];

	name_key(s, S2S_WAKE_CHANNEL, wake, sizeof wake);
	snprintf(msg, sizeof msg, S2S_CLOSE_PREFIX "%s", route);
	return route_publish(s, wake, msg, strlen(msg));
}

static void in_key(struct store *s, const char *host, long pid, char *out, size_t outsz)
{
	char name[STORE_MAX_GLOBAL_KEY];
	snprintf(name, sizeof name, "s2s:in:%s:%ld", host, pid);
	store_global_key(s, name, out, outsz);
}

int s2s_in_register(struct store *s, const char *host, long pid, const char *desc)
{
	char k[STORE_MAX_GLOBAL_KEY];
	redisReply *r;

	in_key(s, host, pid, k, sizeof k);
	r = store_cmd(s, "SET %s %s EX %d", k, desc, S2S_IN_TTL);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}

int s2s_in_unregister(struct store *s, const char *host, long pid)
{
	char k[STORE_MAX_GLOBAL_KEY];
	redisReply *r;

	in_key(s, host, pid, k, sizeof k);
	r = store_cmd(s, "DEL %s", k);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}

struct in_list {
	struct store *s;
	struct strvec *out;
	size_t prefix;                   /* bytes of "<prefix>s2s:in:" */
};

static int add_in(const char *key, void *arg)
{
	struct in_list *l = arg;
	char line[STORE_MAX_GLOBAL_KEY + S2S_IN_DESC_MAX];
	redisReply *r = store_cmd(l->s, "GET %s", key);

	if (!r)
		return XE_REDIS;
	if (r->type == REDIS_REPLY_STRING && strlen(key) > l->prefix) {
		snprintf(line, sizeof line, "%s %s", key + l->prefix, r->str);
		strvec_add(l->out, line);
	}
	freeReplyObject(r);
	return 0;
}

int s2s_in_list(struct store *s, struct strvec *out)
{
	char match[STORE_MAX_GLOBAL_KEY];
	struct in_list l = { s, out, 0 };

	name_key(s, "s2s:in:", match, sizeof match);
	l.prefix = strlen(match);
	name_key(s, "s2s:in:*", match, sizeof match);
	return store_scan(s, NULL, match, add_in, &l);
}
