/*
 * store.c - Redis connections and key names. Two connections per handler:
 * hiredis 0.14 speaks RESP2, where a subscribed connection can run nothing
 * else.
 */
#include "store.h"
#include "scripts.h"
#include "config.h"
#include "log.h"
#include "strvec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "xmalloc.h"

struct redis_url {
	char host[256];
	int port;
	char path[512];          /* unix socket; "" for TCP */
	char password[256];
	int db;
	/* sentinel://: the primary is whoever the sentinels name. */
	int nsentinels;
	struct { char host[256]; int port; } sentinel[STORE_SENTINELS_MAX];
	char sentinel_password[256];
	char master[128];        /* the name the sentinels monitor */
};

/* "host[:port]" of len bytes into host, port (default dflt): 0 or -1. */
static int host_port(const char *p, size_t n, char *host, size_t hostsz, int *port, int dflt)
{
	const char *colon = memchr(p, ':', n);
	char *end;
	*port = dflt;
	if (colon) {
		*port = (int)strtol(colon + 1, &end, 10);
		if (end != p + n || *port <= 0 || *port > 65535)
			return -1;
		n = (size_t)(colon - p);
	}
	if (n == 0 || n >= hostsz)
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

/* "?password=PW&db=N" (either, both, in any order): 0 or -1. */
static int url_query(const char *q, struct redis_url *u)
{
	char *end;
	while (q && *q) {
		const char *amp = strchr(q + 1, '&');
		size_t n = amp ? (size_t)(amp - q - 1) : strlen(q + 1);
		if (!strncmp(q + 1, "password=", 9) && n - 9 < sizeof u->password) {
			memcpy(u->password, q + 10, n - 9);
			u->password[n - 9] = '\0';
		} else if (!strncmp(q + 1, "db=", 3)) {
			u->db = (int)strtol(q + 4, &end, 10);
			if (end != q + 1 + n || u->db < 0)
				return -1;
		} else {
			return -1;
		}
		q = amp;
	}
	return 0;
}

/* sentinel://[:PW@]HOST[:PORT][,HOST[:PORT]...]/NAME[?password=PW&db=N] */
static int parse_sentinel_url(const char *url, struct redis_url *u)
{
	const char *p = url + 11, *at, *slash, *q, *comma;
	size_t n;

	at = strchr(p, '@');
	slash = strchr(p, '/');
	if (!slash)
		return -1;
	if (at && at < slash) {
		const char *pw = memchr(p, ':', (size_t)(at - p));
		n = pw ? (size_t)(at - pw - 1) : 0;
		if (!pw || n >= sizeof u->sentinel_password)
			return -1;
		memcpy(u->sentinel_password, pw + 1, n);
		p = at + 1;
	}
	while (p < slash) {
		comma = memchr(p, ',', (size_t)(slash - p));
		n = comma ? (size_t)(comma - p) : (size_t)(slash - p);
		if (u->nsentinels == STORE_SENTINELS_MAX ||
		    host_port(p, n, u->sentinel[u->nsentinels].host,
		    sizeof u->sentinel[u->nsentinels].host, &u->sentinel[u->nsentinels].port,
		    26379) == -1)
			return -1;
		u->nsentinels++;
		p += n + (comma != NULL);
	}
	q = strchr(slash, '?');
	n = q ? (size_t)(q - slash - 1) : strlen(slash + 1);
	if (u->nsentinels == 0 || n == 0 || n >= sizeof u->master)
		return -1;
	memcpy(u->master, slash + 1, n);
	return url_query(q, u);
}

static int parse_url(const char *url, struct redis_url *u)
{
	const char *p, *at, *slash, *colon;
	char *end;
	size_t n;

	memset(u, 0, sizeof *u);
	u->port = 6379;
	if (!strncmp(url, "sentinel://", 11))
		return parse_sentinel_url(url, u);
	if (!strncmp(url, "unix:", 5)) {
		const char *q = strchr(url + 5, '?');
		n = q ? (size_t)(q - url - 5) : strlen(url + 5);
		if (n == 0 || n >= sizeof u->path)
			return -1;
		memcpy(u->path, url + 5, n);
		if (q) {
			if (strncmp(q, "?db=", 4))
				return -1;
			u->db = (int)strtol(q + 4, &end, 10);
			if (*end || u->db < 0)
				return -1;
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8))
		return -1;
	p = url + 8;
	at = strchr(p, '@');
	if (at) {
		const char *pw = memchr(p, ':', (size_t)(at - p));
		if (pw) {
			n = (size_t)(at - pw - 1);
			if (n >= sizeof u->password)
				return -1;
			memcpy(u->password, pw + 1, n);
		}
		p = at + 1;
	}
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	colon = memchr(p, ':', n);
	if (colon) {
		u->port = (int)strtol(colon + 1, &end, 10);
		if (end != p + n || u->port <= 0 || u->port > 65535)
			return -1;
		n = (size_t)(colon - p);
	}
	if (n == 0 || n >= sizeof u->host)
		return -1;
	memcpy(u->host, p, n);
	if (slash && slash[1]) {
		u->db = (int)strtol(slash + 1, &end, 10);
		if (*end || u->db < 0)
			return -1;
	}
	return 0;
}

static void set_err(struct store *s, const char *what, const redisContext *c,
    const redisReply *r)
{
	if (r && r->type == REDIS_REPLY_ERROR)
		snprintf(s->err, sizeof s->err, "%s: %s", what, r->str);
	else if (c && c->err)
		snprintf(s->err, sizeof s->err, "%s: %s", what, c->errstr);
	else
		snprintf(s->err, sizeof s->err, "%s: unexpected reply", what);
}

/* A command whose reply must not be an error; 0 or -1 (s->err set). */
static int command_ok(struct store *s, redisContext *c, const char *what, redisReply *r)
{
	int ok = r && r->type != REDIS_REPLY_ERROR;
	if (!ok)
		set_err(s, what, c, r);
	if (r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

/* A TCP or unix connection with the timeouts set; NULL (s->err set,
 * naming the server as label). */
static redisContext *dial(struct store *s, const char *host, int port, const char *path,
    struct timeval tv, const char *label)
{
	redisContext *c = path && path[0] ? redisConnectUnixWithTimeout(path, tv)
	    : redisConnectWithTimeout(host, port, tv);
	if (!c || c->err) {
		snprintf(s->err, sizeof s->err, "connect %s: %s", label,
		    c ? c->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		set_err(s, "timeout", c, NULL);
		goto fail;
	}
	return c;
fail:
	if (c)
		redisFree(c);
	return NULL;
}

/* Ask the sentinels, in order, for the primary of u->master: 0 with
 * u->host and u->port set, or -1 when none answers with an address. */
static int sentinel_primary(struct store *s, struct redis_url *u, struct timeval tv)
{
	char why[STORE_ERR_LEN] = "no sentinel answered";
	redisContext *c;
	redisReply *r;
	int i;

	for (i = 0; i < u->nsentinels; i++) {
		char label[STORE_PRIMARY_MAX + 16];
		snprintf(label, sizeof label, "sentinel %s:%d", u->sentinel[i].host,
		    u->sentinel[i].port);
		c = dial(s, u->sentinel[i].host, u->sentinel[i].port, NULL, tv, label);
		if (!c) {
			snprintf(why, sizeof why, "%s", s->err);
			continue;
		}
		if (u->sentinel_password[0] &&
		    command_ok(s, c, "sentinel AUTH", redisCommand(c, "AUTH %s", u->sentinel_password))) {
			snprintf(why, sizeof why, "%s", s->err);
			redisFree(c);
			continue;
		}
		r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", u->master);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING &&
		    r->element[0]->len < sizeof u->host) {
			snprintf(u->host, sizeof u->host, "%s", r->element[0]->str);
			u->port = atoi(r->element[1]->str);
			freeReplyObject(r);
			redisFree(c);
			return 0;
		}
		snprintf(why, sizeof why, "sentinel %s:%d: no primary named %s", u->sentinel[i].host,
		    u->sentinel[i].port, u->master);
		if (r)
			freeReplyObject(r);
		redisFree(c);
	}
	snprintf(s->err, sizeof s->err, "%s", why);
	return -1;
}

/* A primary named by the sentinels must say it is one (ROLE): right
 * after a failover a sentinel may still name the old one. */
static int is_primary(struct store *s, redisContext *c)
{
	redisReply *r = redisCommand(c, "ROLE");
	int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING && !strcmp(r->element[0]->str, "master");
	if (!ok)
		snprintf(s->err, sizeof s->err, "the server the sentinels named is not a primary "
		    "(a failover in progress?)");
	if (r)
		freeReplyObject(r);
	return ok;
}

/* Connect, authenticate and select the database; a fresh context or NULL.
 * Through Sentinel, the primary's "host:port" goes to primary
 * (STORE_PRIMARY_MAX bytes; "" otherwise). */
static redisContext *store_connect(struct store *s, char *primary)
{
	char label[STORE_PRIMARY_MAX + 16];
	struct redis_url u;
	struct timeval tv;
	redisContext *c;

	primary[0] = '\0';
	if (parse_url(s->url, &u) == -1) {
		snprintf(s->err, sizeof s->err, "bad redis URL");     /* it may hold a password */
		return NULL;
	}
	tv.tv_sec = s->timeout_ms / 1000;
	tv.tv_usec = (s->timeout_ms % 1000) * 1000;
	if (u.nsentinels && sentinel_primary(s, &u, tv) == -1)
		return NULL;
	if (u.nsentinels)
		snprintf(label, sizeof label, "primary %s:%d", u.host, u.port);
	if (!(c = dial(s, u.host, u.port, u.path, tv, u.nsentinels ? label : s->url)))
		return NULL;
	if (u.password[0] && command_ok(s, c, "AUTH", redisCommand(c, "AUTH %s", u.password)))
		goto fail;
	if (u.nsentinels) {
		if (!is_primary(s, c))
			goto fail;
		snprintf(primary, STORE_PRIMARY_MAX, "%s:%d", u.host, u.port);
	}
	if (u.db && command_ok(s, c, "SELECT", redisCommand(c, "SELECT %d", u.db)))
		goto fail;
	return c;
fail:
	if (c)
		redisFree(c);
	return NULL;
}

int store_open(struct store *s, const char *url, const char *prefix, int timeout_ms)
{
	memset(s, 0, sizeof *s);
	snprintf(s->url, sizeof s->url, "%s", url);
	snprintf(s->prefix, sizeof s->prefix, "%s", prefix);
	s->timeout_ms = timeout_ms;
	s->cmd = store_connect(s, s->primary);
	return s->cmd ? 0 : -1;
}

int store_open_config(struct store *s, const struct config *cfg)
{
	int i;
	for (i = 0; i < STORE_OPEN_TRIES; i++) {
		if (store_open(s, cfg->redis, cfg->key_prefix, cfg->redis_timeout_ms) == 0) {
			store_policy(s, cfg);
			return 0;
		}
		usleep(STORE_OPEN_RETRY_MS * 1000);
	}
	log_msg(LOG_ERR, "redis: %s", s->err);
	return -1;
}

int store_open_sub(struct store *s)
{
	if (s->sub)
		return 0;
	s->sub = store_connect(s, s->sub_primary);
	return s->sub ? 0 : -1;
}

#define MEMBER_KEY_MAX (2 * 3072)   /* a prefix and a JID or resource */

int store_members(struct store *s, const char *key, struct strvec *out)
{
	redisReply *r = store_cmd(s, "SMEMBERS %s", key);
	size_t i;
	int n = 0;

	if (!r)
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(s->err, sizeof s->err, "SMEMBERS: unexpected reply");
		freeReplyObject(r);
		return XE_REPLY;
	}
	for (i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING) {
			strvec_add(out, r->element[i]->str);
			n++;
		}
	freeReplyObject(r);
	return n;
}

int store_del_members(struct store *s, const char *bare, const char *cmd,
    const char *list_what, const char *const *prefixes)
{
	char key[STORE_MAX_KEY], what[MEMBER_KEY_MAX];
	redisReply *r, *d;
	size_t i;
	int k;

	store_user_key(s, bare, list_what, key, sizeof key);
	if (!(r = store_cmd(s, "%s %s", cmd, key)))
		return XE_REDIS;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		for (k = 0; prefixes[k]; k++) {
			snprintf(what, sizeof what, "%s%s", prefixes[k], r->element[i]->str);
			store_user_key(s, bare, what, key, sizeof key);
			if (!(d = store_cmd(s, "DEL %s", key))) {
				freeReplyObject(r);
				return XE_REDIS;
			}
			freeReplyObject(d);
		}
	freeReplyObject(r);
	return 0;
}

void store_policy(struct store *s, const struct config *cfg)
{
	s->session_ttl = cfg->session_ttl;
	s->resume_timeout = cfg->resume_timeout;
	s->archive_max_count = cfg->archive_max_count;
	s->archive_max_age = cfg->archive_max_age;
	snprintf(s->archive_default, sizeof s->archive_default, "%s", cfg->archive_default);
	s->wait_replicas = cfg->redis_wait_replicas;
	s->wait_timeout_ms = cfg->redis_wait_timeout_ms;
}

void store_close(struct store *s)
{
	if (s->cmd)
		redisFree(s->cmd);
	if (s->sub)
		redisFree(s->sub);
	s->cmd = s->sub = NULL;
}

/* A command connection that failed (Redis restarted, a timeout) is
 * replaced before the next command; the command that saw the failure is
 * not repeated, since it may have run (a PUBLISH or RPUSH twice would
 * duplicate a stanza): its caller answers it with an error. */
static int store_ensure(struct store *s)
{
	if (s->cmd && !s->cmd->err)
		return 0;
	if (s->cmd)
		redisFree(s->cmd);
	/* Another connection, maybe another Redis: no script is known. */
	memset(s->script_known, 0, sizeof s->script_known);
	s->cmd = store_connect(s, s->primary);
	return s->cmd ? 0 : -1;
}

/* The index in lua_scripts of the script with SHA-1 sha (40 bytes), or
 * -1. */
static int script_index(const char *sha)
{
	int i;
	for (i = 0; lua_scripts[i].sha && i < STORE_SCRIPTS_MAX; i++)
		if (!memcmp(lua_scripts[i].sha, sha, 40))
			return i;
	return -1;
}

/* What a reply says of the script at index i: run or loaded, it is
 * known; NOSCRIPT, Redis lost its scripts (a restart): none is. */
static void script_seen(struct store *s, int i, const redisReply *r)
{
	if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
		memset(s->script_known, 0, sizeof s->script_known);
	else if (r && r->type != REDIS_REPLY_ERROR && i >= 0)
		s->script_known[i] = 1;
}

/* The script index an EVALSHA command runs, or -1 (another command, or
 * a script not in lua_scripts). */
static int evalsha_index(int argc, const char **argv, const size_t *lens)
{
	/* lens NULL: the arguments are strings (hiredis's convention) */
	if (argc < 2 || (lens ? lens[0] : strlen(argv[0])) != 7 ||
	    strncasecmp(argv[0], "EVALSHA", 7) || (lens ? lens[1] : strlen(argv[1])) != 40)
		return -1;
	return script_index(argv[1]);
}

/* A primary demoted by a failover answers writes with READONLY: the
 * connection is dropped, and the next command asks the sentinels again
 * (the command that saw it failed; its caller answers it as such). */
static void note_demoted(struct store *s, const redisReply *r)
{
	if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "READONLY", 8) && s->cmd) {
		redisFree(s->cmd);
		s->cmd = NULL;
		s->last_ok = 0;
	}
}

int store_lost(const struct store *s)
{
	return !s->cmd || s->cmd->err;
}

int store_still_primary(struct store *s)
{
	char primary[STORE_PRIMARY_MAX];
	struct redis_url u;
	struct timeval tv;

	if (!s->primary[0] || parse_url(s->url, &u) == -1 || !u.nsentinels)
		return 1;
	tv.tv_sec = s->timeout_ms / 1000;
	tv.tv_usec = (s->timeout_ms % 1000) * 1000;
	if (sentinel_primary(s, &u, tv) == -1)
		return 1;
	snprintf(primary, sizeof primary, "%s:%d", u.host, u.port);
	if (!strcmp(primary, s->primary))
		return 1;
	snprintf(s->err, sizeof s->err, "the sentinels name %s the primary now, not %s",
	    primary, s->primary);
	if (s->cmd)
		redisFree(s->cmd);
	s->cmd = NULL;
	s->last_ok = 0;
	return 0;
}

int store_moved(const struct store *s)
{
	return s->sub && s->sub_primary[0] && strcmp(s->primary, s->sub_primary);
}

static redisReply *check_reply(struct store *s, redisReply *r, const char *what)
{
	if (!r || r->type == REDIS_REPLY_ERROR) {
		set_err(s, what, s->cmd, r);
		if (!r)
			s->last_ok = 0;      /* the connection is in doubt */
		note_demoted(s, r);
		if (r)
			freeReplyObject(r);
		return NULL;
	}
	s->last_ok = time(NULL);
	return r;
}

redisReply *store_cmd(struct store *s, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	if (store_ensure(s) == -1)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(s->cmd, fmt, ap);
	va_end(ap);
	return check_reply(s, r, "redis");
}

void store_suspect(struct store *s)
{
	s->last_ok = 0;
}

int store_wait(struct store *s, int tries, int wait_ms)
{
	int i;
	/* Redis answered a moment ago: a PING would only cost a round trip. */
	if (s->cmd && !s->cmd->err && time(NULL) - s->last_ok <= STORE_FRESH_SEC)
		return 0;
	for (i = 0; i < tries; i++) {
		redisReply *r = store_cmd(s, "PING");
		if (r) {
			freeReplyObject(r);
			return 0;
		}
		usleep((useconds_t)wait_ms * 1000);
	}
	return -1;
}

redisReply *store_cmdargv(struct store *s, int argc, const char **argv, const size_t *lens)
{
	if (store_ensure(s) == -1)
		return NULL;
	return check_reply(s, redisCommandArgv(s->cmd, argc, argv, lens), "redis");
}

int store_scan(struct store *s, const char *set_key, const char *match,
    int (*fn)(const char *item, void *arg), void *arg)
{
	char cursor[STORE_CURSOR_MAX] = "0", count[16];
	const char *argv[7];
	redisReply *r, *items;
	size_t i;
	int argc, rc = 0;

	snprintf(count, sizeof count, "%d", STORE_SCAN_COUNT);
	do {
		argc = 0;
		argv[argc++] = set_key ? "SSCAN" : "SCAN";
		if (set_key)
			argv[argc++] = set_key;
		argv[argc++] = cursor;
		if (match) {
			argv[argc++] = "MATCH";
			argv[argc++] = match;
		}
		argv[argc++] = "COUNT";
		argv[argc++] = count;
		r = store_cmdargv(s, argc, argv, NULL);
		if (!r)
			return XE_REDIS;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= sizeof cursor ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			snprintf(s->err, sizeof s->err, "%s: unexpected reply", argv[0]);
			freeReplyObject(r);
			return XE_REPLY;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
		items = r->element[1];
		for (i = 0; i < items->elements && rc == 0; i++)
			if (items->element[i]->type == REDIS_REPLY_STRING)
				rc = fn(items->element[i]->str, arg);
		freeReplyObject(r);
	} while (rc == 0 && strcmp(cursor, "0"));
	return rc;
}

redisReply *store_eval(struct store *s, const char *script, const char *sha,
    int nkeys, int argc, const char **argv, const size_t *lens)
{
	const char **av;
	size_t *al;
	char nk[16];
	redisReply *r = NULL;
	int i;

	if (store_ensure(s) == -1)
		return NULL;
	av = xcalloc((size_t)argc + 3, sizeof *av);
	al = xcalloc((size_t)argc + 3, sizeof *al);
	snprintf(nk, sizeof nk, "%d", nkeys);
	av[0] = "EVALSHA"; al[0] = 7;
	av[1] = sha; al[1] = 40;
	av[2] = nk; al[2] = strlen(nk);
	for (i = 0; i < argc; i++) {
		av[i + 3] = argv[i];
		al[i + 3] = lens ? lens[i] : strlen(argv[i]);
	}
	r = redisCommandArgv(s->cmd, argc + 3, av, al);
	if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
		freeReplyObject(r);
		r = redisCommand(s->cmd, "SCRIPT LOAD %s", script);
		if (!check_reply(s, r, "SCRIPT LOAD"))
			goto out;
		freeReplyObject(r);
		r = redisCommandArgv(s->cmd, argc + 3, av, al);
	}
	script_seen(s, script_index(sha), r);
	r = check_reply(s, r, "EVALSHA");
out:
	free(av);
	free(al);
	return r;
}

int store_script(struct store *s, const char *name, const char *script, const char *sha,
    int nkeys, int argc, const char **argv, const size_t *lens,
    const char *const *outcomes, redisReply **reply)
{
	redisReply *r = store_eval(s, script, sha, nkeys, argc, argv, lens);
	int o;

	*reply = NULL;
	if (!r)
		return XE_REDIS;
	o = store_outcome(r, outcomes);
	if (o < 0) {
		snprintf(s->err, sizeof s->err, "%s: unexpected reply", name);
		freeReplyObject(r);
		return o;
	}
	*reply = r;
	return o;
}

int store_pipeline(struct store *s, int n, const char **cmd_argv[], const size_t *cmd_lens[],
    const int *cmd_argc, redisReply **replies)
{
	int i, k, rc = 0, *script = xcalloc((size_t)n + 1, sizeof *script);
	unsigned char *loading = xcalloc(STORE_SCRIPTS_MAX, 1);

	if (store_ensure(s) == -1) {
		for (i = 0; i < n; i++)
			replies[i] = NULL;
		rc = -1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		script[i] = evalsha_index(cmd_argc[i], cmd_argv[i], cmd_lens[i]);
		k = script[i];
		/* Alone, a command cannot run out of order: NOSCRIPT is
		 * cheaper than sending the script (its caller loads it). */
		if (k >= 0 && n > 1 && !s->script_known[k] && !loading[k]) {
			loading[k] = 1;
			if (redisAppendCommand(s->cmd, "SCRIPT LOAD %s", lua_scripts[k].text)
			    != REDIS_OK)
				goto failed;
		}
		if (redisAppendCommandArgv(s->cmd, cmd_argc[i], cmd_argv[i], cmd_lens[i]) != REDIS_OK)
			goto failed;
	}
	for (i = 0; i < n; i++) {
		void *r = NULL;
		k = script[i];
		if (k >= 0 && loading[k] == 1) {
			loading[k] = 2;         /* the SCRIPT LOAD's answer comes first */
			if (redisGetReply(s->cmd, &r) != REDIS_OK)
				goto lost;
			script_seen(s, k, r);
			freeReplyObject(r);
			r = NULL;
		}
		if (redisGetReply(s->cmd, &r) != REDIS_OK)
			goto lost;
		replies[i] = r;
		script_seen(s, k, r);
		if (!r || replies[i]->type == REDIS_REPLY_ERROR)
			rc = -1;
	}
	s->last_ok = rc == 0 ? time(NULL) : 0;
	for (i = 0; i < n && s->cmd; i++)
		note_demoted(s, replies[i]);
	goto out;
failed:
	set_err(s, "pipeline", s->cmd, NULL);
	for (i = 0; i < n; i++)
		replies[i] = NULL;
	rc = -1;
	goto out;
lost:
	set_err(s, "pipeline", s->cmd, NULL);
	for (; i < n; i++)
		replies[i] = NULL;
	rc = -1;
out:
	free(script);
	free(loading);
	return rc;
}
