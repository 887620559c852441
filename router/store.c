/*
 * store.c - Redis connections and key names. Two connections per handler:
 * hiredis 0.14 speaks RESP2, where a subscribed connection can run nothing
 * else.
 */
#include "store.h"
#include "cluster.h"
#include "keyslot.h"
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
	/* sentinel://: the primary is whoever the sentinels (the nodes)
	 * name; cluster://: the nodes are the cluster's seeds. */
	int nnodes;
	int sentinel, cluster;   /* which of the two */
	char node_host[STORE_SENTINELS_MAX][256];
	int node_port[STORE_SENTINELS_MAX];
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

/* "[:PW@]HOST[:PORT][,HOST[:PORT]...]" up to end into u's nodes (default
 * port dflt), the password into pw (256 bytes): 0 or -1. */
static int parse_nodes(const char *p, const char *end, struct redis_url *u, int dflt, char *pw)
{
	const char *at = memchr(p, '@', (size_t)(end - p)), *comma;
	size_t n;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		n = colon ? (size_t)(at - colon - 1) : 0;
		if (!colon || n >= 256)
			return -1;
		memcpy(pw, colon + 1, n);
		pw[n] = '\0';
		p = at + 1;
	}
	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		n = comma ? (size_t)(comma - p) : (size_t)(end - p);
		if (u->nnodes == STORE_SENTINELS_MAX ||
		    host_port(p, n, u->node_host[u->nnodes], sizeof u->node_host[0],
		    &u->node_port[u->nnodes], dflt) == -1)
			return -1;
		u->nnodes++;
		p += n + (comma != NULL);
	}
	return u->nnodes ? 0 : -1;
}

/* sentinel://[:PW@]HOST[:PORT][,HOST[:PORT]...]/NAME[?password=PW&db=N] */
static int parse_sentinel_url(const char *url, struct redis_url *u)
{
	const char *p = url + 11, *slash = strchr(p, '/'), *q;
	size_t n;

	if (!slash || parse_nodes(p, slash, u, 26379, u->sentinel_password) == -1)
		return -1;
	q = strchr(slash, '?');
	n = q ? (size_t)(q - slash - 1) : strlen(slash + 1);
	if (n == 0 || n >= sizeof u->master)
		return -1;
	memcpy(u->master, slash + 1, n);
	return url_query(q, u);
}

/* cluster://[:PW@]HOST[:PORT][,HOST[:PORT]...][?password=PW]: the seeds
 * (any of the cluster's nodes), the password of every node. A cluster
 * has only database 0. */
static int parse_cluster_url(const char *url, struct redis_url *u)
{
	const char *p = url + 10, *q = strchr(p, '?');
	if (parse_nodes(p, q ? q : p + strlen(p), u, 6379, u->password) == -1 ||
	    url_query(q, u) == -1 || u->db)
		return -1;
	return 0;
}

static int parse_url(const char *url, struct redis_url *u)
{
	const char *p, *at, *slash, *colon;
	char *end;
	size_t n;

	memset(u, 0, sizeof *u);
	u->port = 6379;
	if (!strncmp(url, "sentinel://", 11)) {
		u->sentinel = 1;
		return parse_sentinel_url(url, u);
	}
	if (!strncmp(url, "cluster://", 10)) {
		u->cluster = 1;
		return parse_cluster_url(url, u);
	}
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

redisContext *store_dial(struct store *s, const char *host, int port, const char *password,
    struct timeval tv, const char *label)
{
	redisContext *c = dial(s, host, port, NULL, tv, label);
	if (c && password[0] &&
	    command_ok(s, c, "AUTH", redisCommand(c, "AUTH %s", password))) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Ask the sentinels, in order, for the primary of u->master: 0 with
 * u->host and u->port set, or -1 when none answers with an address. */
static int sentinel_primary(struct store *s, struct redis_url *u, struct timeval tv)
{
	char why[STORE_ERR_LEN] = "no sentinel answered";
	redisContext *c;
	redisReply *r;
	int i;

	for (i = 0; i < u->nnodes; i++) {
		char label[STORE_PRIMARY_MAX + 16];
		snprintf(label, sizeof label, "sentinel %s:%d", u->node_host[i],
		    u->node_port[i]);
		c = dial(s, u->node_host[i], u->node_port[i], NULL, tv, label);
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
		snprintf(why, sizeof why, "sentinel %s:%d: no primary named %s", u->node_host[i],
		    u->node_port[i], u->master);
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
	if (u.sentinel && sentinel_primary(s, &u, tv) == -1)
		return NULL;
	if (u.sentinel)
		snprintf(label, sizeof label, "primary %s:%d", u.host, u.port);
	if (!(c = dial(s, u.host, u.port, u.path, tv, u.sentinel ? label : s->url)))
		return NULL;
	if (u.password[0] && command_ok(s, c, "AUTH", redisCommand(c, "AUTH %s", u.password)))
		goto fail;
	if (u.sentinel) {
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
	struct redis_url u;

	memset(s, 0, sizeof *s);
	snprintf(s->url, sizeof s->url, "%s", url);
	snprintf(s->prefix, sizeof s->prefix, "%s", prefix);
	s->timeout_ms = timeout_ms;
	if (parse_url(url, &u) == 0 && u.cluster) {
		/* The slot map now: a cluster that cannot answer is down. */
		s->cluster = cluster_new((const char (*)[256])u.node_host, u.node_port, u.nnodes,
		    u.password, timeout_ms);
		if (cluster_refresh(s) == 0)
			return 0;
		cluster_free(s->cluster);
		s->cluster = NULL;
		return -1;
	}
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
	if (s->cluster) {
		/* PUBLISH reaches the subscribers of every node of a cluster. */
		int i = cluster_node_for(s, -1);
		struct cluster_node *n = i >= 0 ? &s->cluster->node[i] : NULL;
		if (n)
			s->sub = store_dial(s, n->host, n->port, s->cluster->password,
			    s->cluster->tv, "cluster node");
		return s->sub ? 0 : -1;
	}
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

int store_shard_members(struct store *s, const char *name, struct strvec *out)
{
	char (*key)[STORE_MAX_GLOBAL_KEY] = xcalloc(STORE_SHARD_BATCH, sizeof *key);
	const char **argv[STORE_SHARD_BATCH], *av[STORE_SHARD_BATCH][2];
	const size_t *lens[STORE_SHARD_BATCH];
	redisReply **r = xcalloc(STORE_SHARD_BATCH, sizeof *r);
	int argc[STORE_SHARD_BATCH], i, nb, n = 0, rc = 0;
	unsigned k = 0, shards = s->cluster ? KEYSLOT_SLOTS : 1;
	size_t e;

	while (k < shards && rc == 0) {
		for (nb = 0; k < shards && nb < STORE_SHARD_BATCH; k++, nb++) {
			store_shard_key_at(s, name, k, key[nb], sizeof key[nb]);
			av[nb][0] = "SMEMBERS";
			av[nb][1] = key[nb];
			argv[nb] = av[nb];
			lens[nb] = NULL;
			argc[nb] = 2;
		}
		if (store_pipeline(s, nb, argv, lens, argc, r) == -1)
			rc = XE_REDIS;
		for (i = 0; i < nb; i++) {
			for (e = 0; r[i] && r[i]->type == REDIS_REPLY_ARRAY && e < r[i]->elements; e++)
				if (r[i]->element[e]->type == REDIS_REPLY_STRING) {
					strvec_add(out, r[i]->element[e]->str);
					n++;
				}
			if (r[i])
				freeReplyObject(r[i]);
		}
	}
	free(r);
	free(key);
	return rc ? rc : n;
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
	int i;
	if (s->cmd)
		redisFree(s->cmd);
	if (s->sub)
		redisFree(s->sub);
	cluster_free(s->cluster);
	s->cmd = s->sub = NULL;
	s->cluster = NULL;
	for (i = 0; i < s->nchan; i++) {
		free(s->chan[i].name);
		free(s->chan[i].resync);
	}
	s->nchan = 0;
	while (s->early) {
		struct store_early *e = s->early;
		s->early = e->next;
		freeReplyObject(e->r);
		free(e);
	}
}

/* ---- channels ---- */

static int is_shard_channel(const char *channel)
{
	return strchr(channel, '{') != NULL;
}

const char *store_publish_command(const char *channel)
{
	return is_shard_channel(channel) ? "SPUBLISH" : "PUBLISH";
}

/* The connection that carries channel: s->sub, or on a cluster the
 * subscriber connection to the primary of a shard channel's slot, opened
 * as needed; NULL with s->err set. */
static redisContext *channel_conn(struct store *s, const char *channel)
{
	struct cluster_node *n;
	int i;
	if (!s->cluster || !is_shard_channel(channel))
		return store_open_sub(s) == 0 ? s->sub : NULL;
	if ((i = cluster_node_for(s, (int)keyslot(channel, strlen(channel)))) < 0)
		return NULL;
	n = &s->cluster->node[i];
	if (n->sub && n->sub->err) {
		redisFree(n->sub);      /* store_sub_read already said it failed */
		n->sub = NULL;
	}
	if (!n->sub)
		n->sub = store_dial(s, n->host, n->port, s->cluster->password, s->cluster->tv,
		    "cluster node");
	return n->sub;
}

/* Write cmd channel on c, without waiting for the answer: 0 or XE_REDIS. */
static int channel_write(struct store *s, redisContext *c, const char *cmd, const char *channel)
{
	int done = 0;
	if (redisAppendCommand(c, "%s %s", cmd, channel) != REDIS_OK)
		goto fail;
	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			goto fail;
	return 0;
fail:
	snprintf(s->err, sizeof s->err, "%s: %s", cmd, c->errstr);
	return XE_REDIS;
}

/* The reply r is ["what", channel, ...]: 1 or 0. */
static int channel_reply_is(const redisReply *r, const char *what, const char *channel)
{
	return r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_STRING && !strcmp(r->element[0]->str, what) &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    (!channel || !strcmp(r->element[1]->str, channel));
}

static int channel_index(const struct store *s, const char *channel)
{
	int i;
	for (i = 0; i < s->nchan; i++)
		if (!strcmp(s->chan[i].name, channel))
			return i;
	return -1;
}

int store_subscribe(struct store *s, const char *channel, const char *resync, int wait)
{
	const char *cmd = is_shard_channel(channel) ? "SSUBSCRIBE" : "SUBSCRIBE";
	redisContext *c = channel_conn(s, channel);
	struct store_early **tail = &s->early;
	int i = channel_index(s, channel);

	if (!c || channel_write(s, c, cmd, channel) == XE_REDIS)
		return XE_REDIS;
	if (i < 0 && s->nchan < STORE_CHANNELS_MAX) {
		i = s->nchan++;
		s->chan[i].name = xstrdup(channel);
		s->chan[i].resync = resync ? xstrdup(resync) : NULL;
	}
	while (*tail)
		tail = &(*tail)->next;
	while (wait) {
		redisReply *r;
		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			snprintf(s->err, sizeof s->err, "%s: %s", cmd, c->errstr);
			return XE_REDIS;
		}
		if (channel_reply_is(r, cmd[0] == 'S' ? "ssubscribe" : "subscribe", channel)) {
			freeReplyObject(r);
			break;
		}
		/* Published to an earlier channel meanwhile: kept for later. */
		*tail = xcalloc(1, sizeof **tail);
		(*tail)->r = r;
		tail = &(*tail)->next;
	}
	return 0;
}

int store_unsubscribe(struct store *s, const char *channel)
{
	redisContext *c = channel_conn(s, channel);
	int i = channel_index(s, channel);
	if (i >= 0) {
		free(s->chan[i].name);
		free(s->chan[i].resync);
		s->chan[i] = s->chan[--s->nchan];
	}
	if (!c)
		return XE_REDIS;
	return channel_write(s, c, is_shard_channel(channel) ? "SUNSUBSCRIBE" : "UNSUBSCRIBE",
	    channel);
}

int store_sub_fds(const struct store *s, int *fds, int max)
{
	int i, n = 0;
	if (s->sub && n < max)
		fds[n++] = s->sub->fd;
	for (i = 0; s->cluster && i < s->cluster->nnodes && n < max; i++)
		if (s->cluster->node[i].sub)
			fds[n++] = s->cluster->node[i].sub->fd;
	return n;
}

/* One reply of a subscriber connection: a message's payload to fn; a
 * shard channel that the server dropped (its slot moved: Redis 7 says
 * "sunsubscribe" unasked) subscribed again where it went, with its
 * resync payload to fn in place of what may have been missed. */
static void channel_reply(struct store *s, redisReply *r,
    void (*fn)(const char *payload, size_t len, void *arg), void *arg)
{
	int i;
	if ((channel_reply_is(r, "message", NULL) || channel_reply_is(r, "smessage", NULL)) &&
	    r->element[2]->type == REDIS_REPLY_STRING) {
		fn(r->element[2]->str, r->element[2]->len, arg);
	} else if (channel_reply_is(r, "sunsubscribe", NULL) &&
	    (i = channel_index(s, r->element[1]->str)) >= 0) {
		char *resync = s->chan[i].resync ? xstrdup(s->chan[i].resync) : NULL;
		if (s->cluster)
			(void)cluster_refresh(s);
		/* Confirmed before the resync: whatever routing found no
		 * listener for until then, the resync finds. */
		if (store_subscribe(s, r->element[1]->str, resync, 1) == XE_REDIS)
			log_msg(LOG_WARNING, "redis: %s", s->err);
		if (resync)
			fn(resync, strlen(resync), arg);
		free(resync);
	}
}

int store_sub_read(struct store *s, int fd,
    void (*fn)(const char *payload, size_t len, void *arg), void *arg)
{
	redisContext *c = NULL;
	redisReply *r;
	int i;

	while (s->early) {
		struct store_early *e = s->early;
		s->early = e->next;
		channel_reply(s, e->r, fn, arg);
		freeReplyObject(e->r);
		free(e);
	}
	if (fd < 0)
		return 0;
	if (s->sub && s->sub->fd == fd)
		c = s->sub;
	for (i = 0; !c && s->cluster && i < s->cluster->nnodes; i++)
		if (s->cluster->node[i].sub && s->cluster->node[i].sub->fd == fd)
			c = s->cluster->node[i].sub;
	if (!c)
		return 0;
	if (redisBufferRead(c) != REDIS_OK)
		return -1;
	for (;;) {
		if (redisGetReplyFromReader(c, (void **)&r) != REDIS_OK)
			return -1;
		if (!r)
			return 0;
		channel_reply(s, r, fn, arg);
		freeReplyObject(r);
	}
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

/*
 * Where a command goes: the one connection, or in a cluster the primary
 * of the command's slot (STORE_ANY: any primary) or node (>= 0) given.
 */
#define STORE_ANY   -1      /* a slot: a keyless command */
#define STORE_SLOT  -2      /* a slot: the command's own (cluster_command_slot) */
struct target {
	redisContext *c;
	int node;               /* in the cluster, or -1 */
	unsigned char *known;   /* the scripts the connection saw */
};

/* The connection for slot (or for node, when node >= 0): 0, or -1 with
 * s->err set. */
static int target_for(struct store *s, int slot, int node, struct target *t)
{
	if (!s->cluster) {
		t->node = -1;
		t->known = s->script_known;
		if (store_ensure(s) == -1)
			return -1;
		t->c = s->cmd;
		return 0;
	}
	if (node < 0 && (node = cluster_node_for(s, slot)) < 0)
		return -1;
	t->node = node;
	t->c = s->cluster->node[node].c;
	t->known = s->cluster->node[node].script_known;
	if (!t->c) {
		snprintf(s->err, sizeof s->err, "cluster: node %d not connected", node);
		return -1;
	}
	return 0;
}

/* The connection of t failed mid-command: in a cluster, the next command
 * reconnects (store_ensure does it otherwise). */
static void target_failed(struct store *s, const struct target *t)
{
	if (s->cluster && t->node >= 0 && t->c == s->cluster->node[t->node].c)
		cluster_drop(s->cluster, t->node);
}

/*
 * Send one command (RESP in buf, len bytes) to t and read its reply,
 * following a cluster's redirections: MOVED (the slot map read again)
 * and ASK (once, after ASKING), and TRYAGAIN (a multi-key command while
 * its slot moves) a moment later. NULL when the connection failed, or
 * the cluster is down (s->err set); t ends as the connection that
 * answered.
 */
static redisReply *run_at(struct store *s, const char *buf, size_t len, struct target *t)
{
	redisReply *r = NULL;
	int hops = 0, k, asking = 0, waited = 0;

	for (;;) {
		void *a = NULL;
		if ((asking && redisAppendCommand(t->c, "ASKING") != REDIS_OK) ||
		    redisAppendFormattedCommand(t->c, buf, len) != REDIS_OK ||
		    (asking && redisGetReply(t->c, &a) != REDIS_OK) ||
		    redisGetReply(t->c, (void **)&r) != REDIS_OK) {
			if (a)
				freeReplyObject(a);
			set_err(s, "redis", t->c, NULL);
			target_failed(s, t);
			return NULL;
		}
		if (a)
			freeReplyObject(a);
		if (!s->cluster || r->type != REDIS_REPLY_ERROR)
			return r;
		if (!strncmp(r->str, "CLUSTERDOWN", 11)) {
			/* A primary lost and not yet replaced: nothing runs; as
			 * for a lost connection, the command did not happen. */
			set_err(s, "redis", NULL, r);
			freeReplyObject(r);
			return NULL;
		}
		if (!strncmp(r->str, "TRYAGAIN", 8) && waited < CLUSTER_TRYAGAIN_MAX_MS) {
			/* The slot's keys are on both sides of a move: the rest
			 * follow in a moment. Again, there. */
			usleep(CLUSTER_TRYAGAIN_MS * 1000);
			waited += CLUSTER_TRYAGAIN_MS;
			freeReplyObject(r);
			continue;
		}
		if (hops++ == CLUSTER_HOPS_MAX || (k = cluster_redirect(s, r, &t->node)) <= 0)
			return r;        /* another error, or a node out of reach */
		freeReplyObject(r);
		r = NULL;
		asking = k == 2;
		t->c = s->cluster->node[t->node].c;
		t->known = s->cluster->node[t->node].script_known;
	}
}

/* run_at for the command in buf, at its slot (STORE_SLOT), any
 * (STORE_ANY), or the given one. */
static redisReply *run(struct store *s, const char *buf, size_t len, int slot,
    struct target *t)
{
	if (slot == STORE_SLOT)
		slot = s->cluster ? cluster_command_slot(buf, len) : STORE_ANY;
	if (target_for(s, slot, -1, t) == -1)
		return NULL;
	return run_at(s, buf, len, t);
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
static void script_seen(unsigned char *known, int i, const redisReply *r)
{
	if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
		memset(known, 0, STORE_SCRIPTS_MAX);
	else if (r && r->type != REDIS_REPLY_ERROR && i >= 0)
		known[i] = 1;
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

int store_is_open(const struct store *s)
{
	return s->cmd || s->cluster;
}

int store_lost(const struct store *s)
{
	if (s->cluster)
		return s->cluster_lost;
	return !s->cmd || s->cmd->err;
}

int store_still_primary(struct store *s)
{
	char primary[STORE_PRIMARY_MAX];
	struct redis_url u;
	struct timeval tv;

	if (!s->primary[0] || parse_url(s->url, &u) == -1 || !u.sentinel)
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
	s->cluster_lost = !r;
	if (!r || r->type == REDIS_REPLY_ERROR) {
		if (r)
			set_err(s, what, NULL, r);   /* else run_at set it */
		else
			s->last_ok = 0;      /* the connection is in doubt */
		note_demoted(s, r);
		if (r)
			freeReplyObject(r);
		return NULL;
	}
	s->last_ok = time(NULL);
	return r;
}

/* Run a command formatted by hiredis (len < 0: it failed). */
static redisReply *run_formatted(struct store *s, char *buf, int len, const char *what)
{
	struct target t;
	redisReply *r;
	if (len < 0) {
		snprintf(s->err, sizeof s->err, "%s: cannot format the command", what);
		return NULL;
	}
	r = run(s, buf, (size_t)len, STORE_SLOT, &t);
	free(buf);
	return check_reply(s, r, what);
}

redisReply *store_cmd(struct store *s, const char *fmt, ...)
{
	va_list ap;
	char *buf = NULL;
	int len;
	va_start(ap, fmt);
	len = redisvFormatCommand(&buf, fmt, ap);
	va_end(ap);
	return run_formatted(s, buf, len, "redis");
}

void store_suspect(struct store *s)
{
	s->last_ok = 0;
}

int store_wait(struct store *s, int tries, int wait_ms)
{
	int i;
	/* Redis answered a moment ago: a PING would only cost a round trip. */
	if (!store_lost(s) && (s->cmd || s->cluster) && time(NULL) - s->last_ok <= STORE_FRESH_SEC)
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
	char *buf = NULL;
	int len = redisFormatCommandArgv(&buf, argc, argv, lens);
	return run_formatted(s, buf, len, "redis");
}

/* One SCAN or SSCAN walk (argv as store_scan builds it, cursor its
 * argv[cursor_at]) on node (-1: where the command belongs). */
static int scan_walk(struct store *s, int node, int argc, const char **argv, char *cursor,
    int (*fn)(const char *item, void *arg), void *arg)
{
	redisReply *r, *items;
	size_t i;
	int rc = 0;

	do {
		struct target t;
		char *buf = NULL;
		int len = redisFormatCommandArgv(&buf, argc, argv, NULL);
		if (len < 0) {
			free(buf);
			return XE_REDIS;
		}
		if (node < 0)
			r = run(s, buf, (size_t)len, STORE_SLOT, &t);
		else
			r = target_for(s, STORE_ANY, node, &t) == 0 ?
			    run_at(s, buf, (size_t)len, &t) : NULL;
		free(buf);
		if (!(r = check_reply(s, r, argv[0])))
			return XE_REDIS;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= STORE_CURSOR_MAX ||
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

int store_scan(struct store *s, const char *set_key, const char *match,
    int (*fn)(const char *item, void *arg), void *arg)
{
	char cursor[STORE_CURSOR_MAX] = "0", count[16];
	const char *argv[7];
	int argc = 0, nodes[CLUSTER_NODES_MAX], n, i, rc;

	snprintf(count, sizeof count, "%d", STORE_SCAN_COUNT);
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
	if (set_key || !s->cluster)
		return scan_walk(s, -1, argc, argv, cursor, fn, arg);
	/* The key space of a cluster: every primary's share of it. */
	if ((n = cluster_primaries(s, nodes)) < 0)
		return XE_REDIS;
	for (i = 0; i < n; i++) {
		strcpy(cursor, "0");
		if ((rc = scan_walk(s, nodes[i], argc, argv, cursor, fn, arg)) != 0)
			return rc;
	}
	return 0;
}

redisReply *store_eval(struct store *s, const char *script, const char *sha,
    int nkeys, int argc, const char **argv, const size_t *lens)
{
	const char **av;
	size_t *al;
	char nk[16], *buf = NULL, *load = NULL;
	redisReply *r = NULL;
	struct target t;
	int i, len, loadlen;

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
	len = redisFormatCommandArgv(&buf, argc + 3, av, al);
	loadlen = redisFormatCommand(&load, "SCRIPT LOAD %s", script);
	if (len < 0 || loadlen < 0) {
		snprintf(s->err, sizeof s->err, "EVALSHA: cannot format the command");
		goto out;
	}
	r = run(s, buf, (size_t)len, STORE_SLOT, &t);
	if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
		/* Loaded where it was missing (t: the node that answered). */
		freeReplyObject(r);
		r = run_at(s, load, (size_t)loadlen, &t);
		if (!check_reply(s, r, "SCRIPT LOAD")) {
			r = NULL;
			goto out;
		}
		freeReplyObject(r);
		r = run(s, buf, (size_t)len, STORE_SLOT, &t);
	}
	if (r)
		script_seen(t.known, script_index(sha), r);
	r = check_reply(s, r, "EVALSHA");
out:
	free(buf);
	free(load);
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

/* A command of a pipeline that a cluster redirected (buf, len), run
 * again alone where it belongs; script (>= 0) is the script it runs,
 * loaded there if that node lacks it. Its reply or NULL. */
static redisReply *rerun(struct store *s, const char *buf, size_t len, int script)
{
	struct target t;
	redisReply *r = run(s, buf, len, STORE_SLOT, &t);
	char *load = NULL;
	int ll;

	if (!r || script < 0 || r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8))
		return r;
	freeReplyObject(r);
	if ((ll = redisFormatCommand(&load, "SCRIPT LOAD %s", lua_scripts[script].text)) < 0)
		return NULL;
	r = run_at(s, load, (size_t)ll, &t);
	free(load);
	if (!r)
		return NULL;
	freeReplyObject(r);
	return run(s, buf, len, STORE_SLOT, &t);
}

/* On a cluster, a WAIT (buf) at i of a pipeline whose commands t[] went
 * to several primaries: each counts its own replicas, so it goes to
 * every one of them; those other than t[i]'s into *also (*nalso). */
static void wait_others(struct store *s, const struct target *t, int i, const char *buf,
    size_t len, struct target **also, int *nalso)
{
	int j, k;
	*also = xcalloc((size_t)i + 1, sizeof **also);
	for (j = 0; j < i; j++) {
		if (!t[j].c || t[j].c == t[i].c)
			continue;
		for (k = 0; k < *nalso && (*also)[k].c != t[j].c; k++)
			;
		if (k < *nalso)
			continue;
		if (redisAppendFormattedCommand(t[j].c, buf, len) != REDIS_OK) {
			set_err(s, "WAIT", t[j].c, NULL);
			continue;
		}
		(*also)[(*nalso)++] = t[j];
	}
}

/*
 * A pipeline: each command is written to its connection (in a cluster,
 * the primary of its slot; a keyless one, MULTI, to the keyed command's
 * before it, or after it; WAIT to every primary written to before it,
 * answering the fewest replicas), all before any reply is read; then the replies are read in
 * the same order. A command a cluster redirected runs again alone,
 * where it belongs.
 */
int store_pipeline(struct store *s, int n, const char **cmd_argv[], const size_t *cmd_lens[],
    const int *cmd_argc, redisReply **replies)
{
	struct target *t = xcalloc((size_t)n + 1, sizeof *t);
	char **buf = xcalloc((size_t)n + 1, sizeof *buf);
	int *len = xcalloc((size_t)n + 1, sizeof *len);
	int *script = xcalloc((size_t)n + 1, sizeof *script);
	/* loading[i * STORE_SCRIPTS_MAX + k]: command i's connection loads k */
	unsigned char *loading = xcalloc((size_t)n * STORE_SCRIPTS_MAX + 1, 1);
	/* also[i]: the other primaries a WAIT at i goes to, nalso[i] of them */
	struct target **also = xcalloc((size_t)n + 1, sizeof *also);
	int *nalso = xcalloc((size_t)n + 1, sizeof *nalso);
	unsigned char dead[CLUSTER_NODES_MAX] = { 0 };
	int i, j, k, rc = 0, slot = STORE_ANY, own;

	/* Every command's connection first, before anything is written: a
	 * reconnection or a slot map read on a connection holding written
	 * commands would take their replies. A primary out of reach fails
	 * its commands without being tried again for each. */
	for (i = 0; i < n; i++) {
		replies[i] = NULL;
		script[i] = evalsha_index(cmd_argc[i], cmd_argv[i], cmd_lens[i]);
		len[i] = redisFormatCommandArgv(&buf[i], cmd_argc[i], cmd_argv[i], cmd_lens[i]);
		t[i].node = -1;
		if (len[i] < 0)
			continue;
		if (!s->cluster) {
			/* one connection, made once */
			if (i == 0 && target_for(s, STORE_ANY, -1, &t[0]) == -1)
				t[0].c = NULL;
			else if (i > 0)
				t[i] = t[0];
			continue;
		}
		/* A keyless command (WAIT, MULTI) goes with the keyed one
		 * before it, or the first one after it. */
		own = cluster_command_slot(buf[i], (size_t)len[i]);
		for (j = i + 1; own < 0 && slot < 0 && j < n; j++) {
			char *b = NULL;
			int l = redisFormatCommandArgv(&b, cmd_argc[j], cmd_argv[j], cmd_lens[j]);
			own = l < 0 ? -1 : cluster_command_slot(b, (size_t)l);
			free(b);
		}
		slot = own >= 0 ? own : slot;
		k = slot >= 0 ? s->cluster->slot[slot] : -1;
		if (k >= 0 && dead[k])
			continue;
		if (target_for(s, slot, -1, &t[i]) == -1) {
			t[i].node = -1;
			if (k >= 0)
				dead[k] = 1;
		}
	}
	for (i = 0; i < n; i++) {
		if (s->cluster) {
			/* now, after every reconnection of the loop above */
			t[i].c = t[i].node >= 0 ? s->cluster->node[t[i].node].c : NULL;
			if (t[i].c)
				t[i].known = s->cluster->node[t[i].node].script_known;
		}
		if (!t[i].c)
			continue;
		k = script[i];
		/* Alone, a command cannot run out of order: NOSCRIPT is
		 * cheaper than sending the script (its caller loads it). */
		if (k >= 0 && n > 1 && !t[i].known[k]) {
			for (j = 0; j < i && !(t[j].c == t[i].c && loading[j * STORE_SCRIPTS_MAX + k]); j++)
				;
			if (j == i) {
				loading[i * STORE_SCRIPTS_MAX + k] = 1;
				if (redisAppendCommand(t[i].c, "SCRIPT LOAD %s", lua_scripts[k].text)
				    != REDIS_OK)
					t[i].c = NULL;
			}
		}
		if (t[i].c && redisAppendFormattedCommand(t[i].c, buf[i], (size_t)len[i]) != REDIS_OK)
			t[i].c = NULL;
		if (s->cluster && t[i].c && cmd_argc[i] > 0 && !strcasecmp(cmd_argv[i][0], "WAIT"))
			wait_others(s, t, i, buf[i], (size_t)len[i], &also[i], &nalso[i]);
	}
	/* Every primary gets its commands now: hiredis would send each
	 * connection's only when its first reply is read, one primary after
	 * the other. */
	for (i = 0; s->cluster && i < n; i++) {
		int done = 0;
		for (j = 0; j < i && t[j].c != t[i].c; j++)
			;
		while (t[i].c && j == i && !done && !t[i].c->err)
			if (redisBufferWrite(t[i].c, &done) != REDIS_OK)
				break;
	}
	for (i = 0; i < n; i++) {
		void *r = NULL;
		k = script[i];
		for (j = 0; j < i && t[i].c; j++)
			if (t[j].c == t[i].c && t[j].c->err)
				break;       /* lost while reading an earlier reply */
		if (!t[i].c || j < i) {
			if (t[i].c || !s->err[0])
				set_err(s, "pipeline", t[i].c, NULL);
			continue;
		}
		if (k >= 0 && loading[i * STORE_SCRIPTS_MAX + k]) {
			/* the SCRIPT LOAD's answer comes first */
			if (redisGetReply(t[i].c, &r) != REDIS_OK)
				goto lost;
			script_seen(t[i].known, k, r);
			freeReplyObject(r);
			r = NULL;
		}
		if (redisGetReply(t[i].c, &r) != REDIS_OK)
			goto lost;
		replies[i] = r;
		script_seen(t[i].known, k, r);
		for (j = 0; j < nalso[i]; j++) {
			/* A WAIT: the fewest replicas any primary reached. */
			redisReply *w = NULL;
			if (redisGetReply(also[i][j].c, (void **)&w) != REDIS_OK || !w ||
			    w->type != REDIS_REPLY_INTEGER) {
				if (w)
					freeReplyObject(w);
				set_err(s, "WAIT", also[i][j].c, NULL);
				continue;
			}
			if (replies[i]->type == REDIS_REPLY_INTEGER && w->integer < replies[i]->integer)
				replies[i]->integer = w->integer;
			freeReplyObject(w);
		}
		continue;
lost:
		set_err(s, "pipeline", t[i].c, NULL);
	}
	/* Every reply read: a connection that failed can go (a reconnection
	 * below would free it under t[]). */
	for (i = 0; s->cluster && i < n; i++) {
		if (t[i].c && t[i].c == s->cluster->node[t[i].node].c && t[i].c->err)
			cluster_drop(s->cluster, t[i].node);
		for (j = 0; j < nalso[i]; j++)
			if (also[i][j].c == s->cluster->node[also[i][j].node].c && also[i][j].c->err)
				cluster_drop(s->cluster, also[i][j].node);
		free(also[i]);
	}
	for (i = 0; i < n; i++) {
		if (s->cluster && replies[i] && replies[i]->type == REDIS_REPLY_ERROR &&
		    !strncmp(replies[i]->str, "CLUSTERDOWN", 11)) {
			/* not run (run_at says why this counts as lost) */
			set_err(s, "pipeline", NULL, replies[i]);
			freeReplyObject(replies[i]);
			replies[i] = NULL;
		}
		if (s->cluster && replies[i] && replies[i]->type == REDIS_REPLY_ERROR &&
		    (!strncmp(replies[i]->str, "MOVED ", 6) || !strncmp(replies[i]->str, "ASK ", 4) ||
		    !strncmp(replies[i]->str, "TRYAGAIN", 8))) {
			/* Not run there: again, alone, where it belongs. */
			freeReplyObject(replies[i]);
			replies[i] = rerun(s, buf[i], (size_t)len[i], script[i]);
		}
		if (!replies[i] || replies[i]->type == REDIS_REPLY_ERROR)
			rc = -1;
		if (s->cmd)
			note_demoted(s, replies[i]);
		free(buf[i]);
	}
	s->last_ok = rc == 0 ? time(NULL) : 0;
	s->cluster_lost = 0;
	for (i = 0; i < n; i++)
		if (!replies[i])
			s->cluster_lost = 1;
	free(t);
	free(buf);
	free(len);
	free(script);
	free(loading);
	free(also);
	free(nalso);
	return rc;
}
