/*
 * pep.c - XEP-0163 PEP nodes in Redis (see pep.h): the pep_*.lua scripts
 * for every change and for reading items under the access model, an
 * HMGET for a node's configuration.
 */
#include "pep.h"
#include "scripts.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pep_field_names[PEP_NFIELDS] = {
	"access_model", "persist_items", "max_items", "notify_retract",
	"send_last_published_item"
};

/* The keys of every pep script (lib/pep.lua), and the owner's roster. */
#define PEP_NKEYS 6
#define NUM_MAX 24

struct pep_args {
	char keys[PEP_NKEYS][STORE_MAX_KEY];
	char num[2][NUM_MAX];
	struct store_argv v;             /* the script's keys and arguments */
};

/* The node's keys (nkeys of them: 4, or 5 with the roster), and the
 * node name as ARGV[1]. */
static void node_keys(struct store *s, struct pep_args *a, const char *bare, const char *node,
    int nkeys)
{
	static const char *const what[PEP_NKEYS] = { "pep", "pep:conf:", "pep:items:",
		"pep:order:", "roster", "blocklist" };
	char w[PEP_NODE_MAX + 16];
	int i;

	a->v.argc = 0;
	for (i = 0; i < nkeys; i++) {
		if (i == 0 || i >= 4) {        /* the user's, not the node's */
			store_user_key(s, bare, what[i], a->keys[i], sizeof a->keys[i]);
		} else {
			snprintf(w, sizeof w, "%s%s", what[i], node);
			store_user_key(s, bare, w, a->keys[i], sizeof a->keys[i]);
		}
		store_argv_str(&a->v, a->keys[i]);
	}
	store_argv_str(&a->v, node);
}

static void config_args(struct pep_args *a, const struct pep_config *cfg)
{
	int f;
	for (f = 0; cfg && f < PEP_NFIELDS; f++)
		if (cfg->set & (1u << f)) {
			store_argv_str(&a->v, pep_field_names[f]);
			store_argv_str(&a->v, cfg->v[f]);
		}
}

static void limit_args(struct pep_args *a, const struct pep_limits *lim)
{
	snprintf(a->num[0], NUM_MAX, "%d", lim->max_nodes);
	snprintf(a->num[1], NUM_MAX, "%d", lim->max_items);
	store_argv_str(&a->v, a->num[0]);
	store_argv_str(&a->v, a->num[1]);
}

/* Run one pep script; outcomes map to results (same index). */
static int run(struct store *s, const char *name, const char *script, const char *sha,
    int nkeys, struct pep_args *a, const char *const *outcomes, const int *results,
    redisReply **reply)
{
	int o = store_script(s, name, script, sha, nkeys, a->v.argc, a->v.argv, a->v.lens, outcomes,
	    reply);
	return o < 0 ? o : results[o];
}

int pep_publish(struct store *s, const char *bare, const char *node, const char *id,
    const char *item, size_t len, const struct pep_config *opts,
    const struct pep_limits *lim, struct pep_info *info)
{
	static const char *const outcomes[] = { "published", "conflict", "full", NULL };
	static const int results[] = { PEP_PUBLISHED, PEP_CONFLICT, PEP_FULL };
	struct pep_args a;
	redisReply *r;
	char made[8];
	int rc;

	memset(info, 0, sizeof *info);
	node_keys(s, &a, bare, node, 4);
	store_argv_str(&a.v, id);
	store_argv_add(&a.v, item, len);
	limit_args(&a, lim);
	config_args(&a, opts);
	rc = run(s, "pep_publish", lua_pep_publish, lua_pep_publish_sha, 4, &a, outcomes,
	    results, &r);
	if (rc < 0)
		return rc;
	if (rc == PEP_PUBLISHED) {
		store_reply_str(r, 1, info->access_model, sizeof info->access_model);
		store_reply_str(r, 2, made, sizeof made);
		if (!strcmp(made, "new"))
			rc = PEP_CREATED;
	} else if (rc == PEP_CONFLICT) {
		store_reply_str(r, 1, info->field, sizeof info->field);
		store_reply_str(r, 2, info->value, sizeof info->value);
	}
	freeReplyObject(r);
	return rc;
}

int pep_configure(struct store *s, const char *bare, const char *node, int create,
    const struct pep_config *cfg, const struct pep_limits *lim)
{
	static const char *const outcomes[] = { "created", "configured", "exists", "full",
		"nonode", NULL };
	static const int results[] = { PEP_CREATED, PEP_CONFIGURED, PEP_EXISTS, PEP_FULL,
		PEP_NONODE };
	struct pep_args a;
	redisReply *r;
	int rc;

	node_keys(s, &a, bare, node, 4);
	store_argv_str(&a.v, create ? "create" : "configure");
	limit_args(&a, lim);
	config_args(&a, cfg);
	rc = run(s, "pep_configure", lua_pep_configure, lua_pep_configure_sha, 4, &a, outcomes,
	    results, &r);
	if (rc >= 0)
		freeReplyObject(r);
	return rc;
}

int pep_retract(struct store *s, const char *bare, const char *node, const char *id,
    struct pep_info *info)
{
	static const char *const outcomes[] = { "retracted", "nonode", "noitem", NULL };
	static const int results[] = { PEP_RETRACTED, PEP_NONODE, PEP_NOITEM };
	struct pep_args a;
	redisReply *r;
	char notify[4];
	int rc;

	memset(info, 0, sizeof *info);
	node_keys(s, &a, bare, node, 4);
	store_argv_str(&a.v, id);
	rc = run(s, "pep_retract", lua_pep_retract, lua_pep_retract_sha, 4, &a, outcomes,
	    results, &r);
	if (rc < 0)
		return rc;
	if (rc == PEP_RETRACTED) {
		store_reply_str(r, 1, info->access_model, sizeof info->access_model);
		store_reply_str(r, 2, notify, sizeof notify);
		info->notify_retract = !strcmp(notify, "1");
	}
	freeReplyObject(r);
	return rc;
}

int pep_purge(struct store *s, const char *bare, const char *node, int del,
    struct pep_info *info)
{
	static const char *const outcomes[] = { "purged", "deleted", "nonode", NULL };
	static const int results[] = { PEP_PURGED, PEP_DELETED, PEP_NONODE };
	struct pep_args a;
	redisReply *r;
	int rc;

	memset(info, 0, sizeof *info);
	node_keys(s, &a, bare, node, 4);
	store_argv_str(&a.v, del ? "delete" : "purge");
	rc = run(s, "pep_purge", lua_pep_purge, lua_pep_purge_sha, 4, &a, outcomes, results, &r);
	if (rc < 0)
		return rc;
	store_reply_str(r, 1, info->access_model, sizeof info->access_model);
	freeReplyObject(r);
	return rc;
}

int pep_config_get(struct store *s, const char *bare, const char *node, struct pep_config *cfg)
{
	char key[STORE_MAX_KEY], w[PEP_NODE_MAX + 16];
	redisReply *r;
	int f;

	memset(cfg, 0, sizeof *cfg);
	snprintf(w, sizeof w, "pep:conf:%s", node);
	store_user_key(s, bare, w, key, sizeof key);
	r = store_cmd(s, "HMGET %s %s %s %s %s %s", key, pep_field_names[0], pep_field_names[1],
	    pep_field_names[2], pep_field_names[3], pep_field_names[4]);
	if (!r)
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != PEP_NFIELDS) {
		snprintf(s->err, sizeof s->err, "HMGET %.256s: unexpected reply", key);
		freeReplyObject(r);
		return XE_REPLY;
	}
	for (f = 0; f < PEP_NFIELDS; f++) {
		store_reply_str(r, (size_t)f, cfg->v[f], sizeof cfg->v[f]);
		if (cfg->v[f][0])
			cfg->set |= 1u << f;
	}
	freeReplyObject(r);
	/* a node's hash always holds every field (lib/pep.lua creates it so) */
	return cfg->set ? PEP_CONFIGURED : PEP_NONODE;
}

int pep_nodes_of(struct store *s, const char *const *bares, int n, struct strvec *out)
{
	const char ***av = xcalloc((size_t)n + 1, sizeof *av);
	const size_t **al = xcalloc((size_t)n + 1, sizeof *al);
	int *ac = xcalloc((size_t)n + 1, sizeof *ac), i, rc;
	redisReply **rep = xcalloc((size_t)n + 1, sizeof *rep);
	char (*keys)[STORE_MAX_KEY] = xcalloc((size_t)n + 1, sizeof *keys);
	const char **argbuf = xcalloc(2 * ((size_t)n + 1), sizeof *argbuf);
	size_t *lenbuf = xcalloc(2 * ((size_t)n + 1), sizeof *lenbuf), k;

	for (i = 0; i < n; i++) {
		store_user_key(s, bares[i], "pep", keys[i], sizeof keys[i]);
		argbuf[2 * i] = "SMEMBERS"; lenbuf[2 * i] = 8;
		argbuf[2 * i + 1] = keys[i]; lenbuf[2 * i + 1] = strlen(keys[i]);
		av[i] = &argbuf[2 * i];
		al[i] = &lenbuf[2 * i];
		ac[i] = 2;
	}
	rc = n ? store_pipeline(s, n, av, al, ac, rep) : 0;
	for (i = 0; i < n; i++) {
		for (k = 0; rep[i] && rep[i]->type == REDIS_REPLY_ARRAY && k < rep[i]->elements; k++)
			if (rep[i]->element[k]->type == REDIS_REPLY_STRING)
				strvec_add(&out[i], rep[i]->element[k]->str);
		if (rep[i])
			freeReplyObject(rep[i]);
	}
	free(av); free(al); free(ac); free(rep); free(keys); free(argbuf); free(lenbuf);
	return rc < 0 ? XE_REDIS : 0;
}

int pep_items(struct store *s, const char *bare, const char *node, const char *requester,
    int max, const char *const *ids, int n, struct pep_info *info,
    void (*fn)(const char *xml, size_t len, void *arg), void *arg)
{
	static const char *const outcomes[] = { "items", "denied", "nonode", "blocked", NULL };
	static const int results[] = { PEP_ITEMS, PEP_DENIED, PEP_NONODE, PEP_BLOCKED };
	struct pep_args a;
	const char **argv;
	size_t *lens, i;
	redisReply *r;
	int rc, k;

	memset(info, 0, sizeof *info);
	node_keys(s, &a, bare, node, 6);
	store_argv_str(&a.v, requester ? requester : "");
	snprintf(a.num[0], NUM_MAX, "%d", max);
	store_argv_str(&a.v, a.num[0]);
	/* the ids make the argument list as long as the request */
	argv = xcalloc((size_t)(a.v.argc + n), sizeof *argv);
	lens = xcalloc((size_t)(a.v.argc + n), sizeof *lens);
	memcpy(argv, a.v.argv, (size_t)a.v.argc * sizeof *argv);
	memcpy(lens, a.v.lens, (size_t)a.v.argc * sizeof *lens);
	for (k = 0; k < n; k++) {
		argv[a.v.argc + k] = ids[k];
		lens[a.v.argc + k] = strlen(ids[k]);
	}
	k = store_script(s, "pep_items", lua_pep_items, lua_pep_items_sha, 6, a.v.argc + n, argv,
	    lens, outcomes, &r);
	free(argv);
	free(lens);
	if (k < 0)
		return k;
	rc = results[k];
	store_reply_str(r, 1, info->access_model, sizeof info->access_model);
	for (i = 2; rc == PEP_ITEMS && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			fn(r->element[i]->str, r->element[i]->len, arg);
	freeReplyObject(r);
	return rc;
}

int pep_delete_all(struct store *s, const char *bare)
{
	static const char *const prefixes[] = { "pep:conf:", "pep:items:", "pep:order:", NULL };
	return store_del_members(s, bare, "SMEMBERS", "pep", prefixes);
}
