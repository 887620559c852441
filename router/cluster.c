/*
 * cluster.c - Redis Cluster's slot map and redirections for store.c
 * (cluster.h). One connection per primary, made on first use; the map is
 * read with CLUSTER SLOTS at the start and again whenever a primary
 * answers MOVED or a connection fails.
 */
#include "cluster.h"
#include "keyslot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "xmalloc.h"

/* One RESP bulk string at *p (within end): its start and length, *p moved
 * past it; -1 when the buffer is not that. */
static int bulk(const char **p, const char *end, const char **str, size_t *len)
{
	char *e;
	long n;
	if (*p >= end || **p != '$')
		return -1;
	n = strtol(*p + 1, &e, 10);
	if (n < 0 || e + 2 > end || e[0] != '\r' || (size_t)(end - (e + 2)) < (size_t)n + 2)
		return -1;
	*str = e + 2;
	*len = (size_t)n;
	*p = e + 2 + n + 2;
	return 0;
}

static int word_is(const char *s, size_t n, const char *w)
{
	return n == strlen(w) && !strncasecmp(s, w, n);
}

int cluster_command_slot(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *cmd, *arg;
	size_t cmdlen, arglen;
	char *e;
	long argc = buf[0] == '*' ? strtol(buf + 1, &e, 10) : 0;

	if (argc < 2 || !(p = memchr(buf, '\n', len)))
		return -1;
	p++;
	if (bulk(&p, end, &cmd, &cmdlen) == -1 || bulk(&p, end, &arg, &arglen) == -1)
		return -1;
	if (word_is(cmd, cmdlen, "PING") || word_is(cmd, cmdlen, "WAIT") ||
	    word_is(cmd, cmdlen, "SCRIPT") || word_is(cmd, cmdlen, "SCAN") ||
	    word_is(cmd, cmdlen, "CLUSTER") || word_is(cmd, cmdlen, "INFO"))
		return -1;
	if (word_is(cmd, cmdlen, "EVALSHA") || word_is(cmd, cmdlen, "EVAL") ||
	    word_is(cmd, cmdlen, "EVALSHA_RO") || word_is(cmd, cmdlen, "EVAL_RO")) {
		const char *nk;
		size_t nklen;
		if (bulk(&p, end, &nk, &nklen) == -1 || nklen == 0 || *nk == '0' ||
		    bulk(&p, end, &arg, &arglen) == -1)
			return -1;
	}
	return (int)keyslot(arg, arglen);
}

struct cluster *cluster_new(const char (*host)[256], const int *port, int nseeds,
    const char *password, int timeout_ms)
{
	struct cluster *cl = xcalloc(1, sizeof *cl);
	int i;
	for (i = 0; i < nseeds && i < CLUSTER_NODES_MAX; i++) {
		snprintf(cl->node[i].host, sizeof cl->node[i].host, "%s", host[i]);
		cl->node[i].port = port[i];
	}
	cl->nnodes = cl->nseeds = i;
	for (i = 0; i < CLUSTER_SLOTS; i++)
		cl->slot[i] = -1;
	snprintf(cl->password, sizeof cl->password, "%s", password);
	cl->tv.tv_sec = timeout_ms / 1000;
	cl->tv.tv_usec = (timeout_ms % 1000) * 1000;
	return cl;
}

void cluster_drop(struct cluster *cl, int i)
{
	if (cl->node[i].c)
		redisFree(cl->node[i].c);
	cl->node[i].c = NULL;
	memset(cl->node[i].script_known, 0, sizeof cl->node[i].script_known);
}

void cluster_free(struct cluster *cl)
{
	int i;
	if (!cl)
		return;
	for (i = 0; i < cl->nnodes; i++) {
		cluster_drop(cl, i);
		if (cl->node[i].sub)
			redisFree(cl->node[i].sub);
	}
	free(cl);
}

/* Node i connected: 0 or -1 (s->err set). */
static int node_connect(struct store *s, int i)
{
	struct cluster *cl = s->cluster;
	struct cluster_node *n = &cl->node[i];
	char label[300];
	if (n->c && !n->c->err)
		return 0;
	cluster_drop(cl, i);
	snprintf(label, sizeof label, "cluster node %s:%d", n->host, n->port);
	n->c = store_dial(s, n->host, n->port, cl->password, cl->tv, label);
	return n->c ? 0 : -1;
}

/* The index of node host:port, added when new; -1 when the table is full. */
static int node_index(struct cluster *cl, const char *host, size_t hostlen, int port)
{
	int i;
	for (i = 0; i < cl->nnodes; i++)
		if (cl->node[i].port == port && strlen(cl->node[i].host) == hostlen &&
		    !memcmp(cl->node[i].host, host, hostlen))
			return i;
	if (cl->nnodes == CLUSTER_NODES_MAX || hostlen >= sizeof cl->node[0].host)
		return -1;
	memcpy(cl->node[i].host, host, hostlen);
	cl->node[i].host[hostlen] = '\0';
	cl->node[i].port = port;
	return cl->nnodes++;
}

/* The map from one CLUSTER SLOTS reply: 0, or -1 when it is not one. */
static int read_map(struct cluster *cl, const redisReply *r)
{
	size_t i;
	long long k;
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		return -1;
	for (k = 0; k < CLUSTER_SLOTS; k++)
		cl->slot[k] = -1;
	for (k = 0; k < cl->nnodes; k++)
		cl->node[k].primary = 0;
	for (i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i], *who;
		int n;
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2)
			return -1;
		who = e->element[2];
		if (who->element[0]->type != REDIS_REPLY_STRING ||
		    who->element[1]->type != REDIS_REPLY_INTEGER)
			return -1;
		n = node_index(cl, who->element[0]->str, who->element[0]->len,
		    (int)who->element[1]->integer);
		if (n < 0)
			return -1;
		cl->node[n].primary = 1;
		for (k = e->element[0]->integer; k <= e->element[1]->integer && k < CLUSTER_SLOTS; k++)
			if (k >= 0)
				cl->slot[k] = (short)n;
	}
	return 0;
}

int cluster_refresh(struct store *s)
{
	struct cluster *cl = s->cluster;
	int k, i, from = cl->nnodes ? (int)(getpid() % cl->nnodes) : 0;
	/* Any node knows the map: each process starts with another one, so
	 * that thousands of handlers do not all connect to the first seed. */
	for (k = 0; k < cl->nnodes; k++) {
		redisReply *r;
		i = (from + k) % cl->nnodes;
		if (node_connect(s, i) == -1)
			continue;
		r = redisCommand(cl->node[i].c, "CLUSTER SLOTS");
		if (!r) {
			cluster_drop(cl, i);
			continue;
		}
		if (read_map(cl, r) == 0) {
			freeReplyObject(r);
			return 0;
		}
		snprintf(s->err, sizeof s->err, "cluster node %s:%d: %s", cl->node[i].host,
		    cl->node[i].port, r->type == REDIS_REPLY_ERROR ? r->str : "no slot map");
		freeReplyObject(r);
	}
	return -1;
}

int cluster_node_for(struct store *s, int slot)
{
	struct cluster *cl = s->cluster;
	int i;
	if (slot < 0) {
		/* Any primary: one connected already, else one of the map's. */
		for (i = 0; i < cl->nnodes; i++)
			if (cl->node[i].c && !cl->node[i].c->err && cl->node[i].primary)
				return i;
		slot = (int)(getpid() % CLUSTER_SLOTS);
	}
	if (cl->slot[slot] < 0 && cluster_refresh(s) == -1)
		return -1;
	i = cl->slot[slot];
	if (i < 0) {
		snprintf(s->err, sizeof s->err, "cluster: no node serves slot %d", slot);
		return -1;
	}
	if (node_connect(s, i) == 0)
		return i;
	/* Gone: maybe replaced by a replica after a failover. */
	if (cluster_refresh(s) == -1 || (i = cl->slot[slot]) < 0 || node_connect(s, i) == -1)
		return -1;
	return i;
}

int cluster_redirect(struct store *s, const redisReply *r, int *node)
{
	struct cluster *cl = s->cluster;
	const char *sp, *colon;
	int ask, slot, port, n;

	if (!r || r->type != REDIS_REPLY_ERROR)
		return 0;
	ask = !strncmp(r->str, "ASK ", 4);
	if (!ask && strncmp(r->str, "MOVED ", 6))
		return 0;
	/* "MOVED 3999 127.0.0.1:6381" */
	slot = atoi(r->str + (ask ? 4 : 6));
	sp = strchr(r->str + (ask ? 4 : 6), ' ');
	colon = sp ? strrchr(sp, ':') : NULL;
	if (!colon || slot < 0 || slot >= CLUSTER_SLOTS || (port = atoi(colon + 1)) <= 0) {
		snprintf(s->err, sizeof s->err, "cluster: bad redirection: %s", r->str);
		return -1;
	}
	n = node_index(cl, sp + 1, (size_t)(colon - sp - 1), port);
	if (n < 0) {
		snprintf(s->err, sizeof s->err, "cluster: more than %d nodes", CLUSTER_NODES_MAX);
		return -1;
	}
	if (!ask) {
		/* A slot moved: others moved with it, most likely. */
		cl->slot[slot] = (short)n;
		cl->node[n].primary = 1;
		(void)cluster_refresh(s);
		if (cl->slot[slot] >= 0)
			n = cl->slot[slot];
	}
	if (node_connect(s, n) == -1)
		return -1;
	*node = n;
	return ask ? 2 : 1;
}

int cluster_primaries(struct store *s, int *out)
{
	struct cluster *cl = s->cluster;
	int i, n = 0;
	if (cl->slot[0] < 0 && cluster_refresh(s) == -1)
		return -1;
	/* Connected, as a command sent to one of them needs (the map
	 * names primaries no command reached yet). */
	for (i = 0; i < cl->nnodes; i++)
		if (cl->node[i].primary) {
			if (node_connect(s, i) == -1)
				return -1;
			out[n++] = i;
		}
	return n;
}
