/*
 * mam.c - XEP-0313 archives in Redis (see mam.h): mam_query.lua reads
 * and trims, mam_prefs_set.lua replaces the preferences. The pure parts
 * (ids, the forwarded form) are in format.c.
 */
#include "mam.h"
#include "scripts.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAM_ARGS_MAX (12 + MAM_IDS_MAX)   /* mam_query.lua's arguments at most */
#define MAM_WITH_KEY_MAX (2 * 3072)       /* "mam:w:" and a bare JID */

void mam_policy_args(const struct store *s, struct mam_policy *p, struct store_argv *v)
{
	snprintf(p->now, sizeof p->now, "%ld", (long)time(NULL));
	snprintf(p->count, sizeof p->count, "%d", s->archive_max_count);
	snprintf(p->age, sizeof p->age, "%ld", s->archive_max_age);
	store_argv_str(v, p->now);
	store_argv_str(v, p->count);
	store_argv_str(v, p->age);
}

/* *p from mam_query.lua's { 'ok', complete, count, id, m, ... }. */
static int page_of(struct store *s, const redisReply *r, struct mam_page *p)
{
	size_t i;
	memset(p, 0, sizeof *p);
	if (r->elements < 3 || r->element[1]->type != REDIS_REPLY_INTEGER ||
	    r->element[2]->type != REDIS_REPLY_INTEGER || (r->elements - 3) % 2) {
		snprintf(s->err, sizeof s->err, "mam_query: unexpected reply");
		return XE_REPLY;
	}
	p->complete = r->element[1]->integer != 0;
	p->count = (long)r->element[2]->integer;
	p->items = xcalloc((r->elements - 3) / 2 + 1, sizeof *p->items);
	for (i = 3; i + 1 < r->elements; i += 2) {
		const redisReply *id = r->element[i], *m = r->element[i + 1];
		struct mam_item *it = &p->items[p->n];
		if (id->type != REDIS_REPLY_STRING || id->len >= MAM_ID_MAX ||
		    m->type != REDIS_REPLY_STRING) {
			snprintf(s->err, sizeof s->err, "mam_query: unexpected entry");
			mam_page_free(p);
			return XE_REPLY;
		}
		memcpy(it->id, id->str, id->len);
		it->id[id->len] = '\0';
		it->ms = mam_id_ms(it->id);
		it->xml = m->len ? xstrndup(m->str, m->len) : NULL;
		it->len = m->len;
		p->n++;
	}
	return MAM_OK;
}

/* Run mam_query.lua in mode with args (after the policy) on bare's
 * archive, and the index of with's bare JID if with is not NULL. */
static int run_query(struct store *s, const char *bare, const char *with, const char *mode,
    int nargs, const char **args, struct mam_page *p)
{
	static const char *const outcomes[] = { "ok", "notfound", NULL };
	const char *argv[2 + 4 + MAM_ARGS_MAX];
	size_t lens[2 + 4 + MAM_ARGS_MAX];
	char key[STORE_MAX_KEY], idx[STORE_MAX_KEY], what[MAM_WITH_KEY_MAX];
	char now[24], count[24], age[24];
	int i, k = 0, o;
	redisReply *r;

	memset(p, 0, sizeof *p);
	store_user_key(s, bare, "mam", key, sizeof key);
	argv[k++] = key;
	if (with) {
		size_t n = strcspn(with, "/");
		snprintf(what, sizeof what, "mam:w:%.*s", (int)n, with);
		store_user_key(s, bare, what, idx, sizeof idx);
		argv[k++] = idx;
	}
	snprintf(now, sizeof now, "%ld", (long)time(NULL));
	snprintf(count, sizeof count, "%d", s->archive_max_count);
	snprintf(age, sizeof age, "%ld", s->archive_max_age);
	argv[k++] = mode; argv[k++] = now; argv[k++] = count; argv[k++] = age;
	for (i = 0; i < nargs && i < MAM_ARGS_MAX; i++)
		argv[k++] = args[i];
	for (i = 0; i < k; i++)
		lens[i] = strlen(argv[i]);
	o = store_script(s, "mam_query", lua_mam_query, lua_mam_query_sha, with ? 2 : 1, k,
	    argv, lens, outcomes, &r);
	if (o < 0)
		return o;
	if (o == MAM_OK)
		o = page_of(s, r, p);
	freeReplyObject(r);
	return o;
}

int mam_query(struct store *s, const char *bare, const struct mam_query *q, struct mam_page *p)
{
	const char *args[MAM_ARGS_MAX];
	char start[24] = "", end[24] = "", max[16];
	const char *full = "";
	int n = 0, i;

	if (q->nids > 0) {
		for (i = 0; i < q->nids && i < MAM_IDS_MAX; i++)
			args[n++] = q->ids[i];
		return run_query(s, bare, NULL, "ids", n, args, p);
	}
	if (q->with && strchr(q->with, '/'))
		full = q->with;
	if (q->start_ms >= 0)
		snprintf(start, sizeof start, "%lld", q->start_ms);
	if (q->end_ms >= 0)
		snprintf(end, sizeof end, "%lld", q->end_ms);
	snprintf(max, sizeof max, "%d", q->max);
	args[n++] = full;
	args[n++] = start;
	args[n++] = end;
	args[n++] = q->after_id ? q->after_id : "";
	args[n++] = q->before_id ? q->before_id : "";
	args[n++] = q->rsm_before ? "before" : q->rsm_after ? "after" : "";
	args[n++] = q->rsm_before ? q->rsm_before : q->rsm_after ? q->rsm_after : "";
	args[n++] = max;
	return run_query(s, bare, q->with, "page", n, args, p);
}

int mam_metadata(struct store *s, const char *bare, struct mam_page *p)
{
	return run_query(s, bare, NULL, "meta", 0, NULL, p);
}

int mam_each(struct store *s, const char *bare,
    int (*fn)(const struct mam_item *it, void *arg), void *arg)
{
	struct mam_query q = { 0 };
	struct mam_page p;
	char last[MAM_ID_MAX] = "";
	int r, i;

	q.start_ms = q.end_ms = -1;
	q.max = MAM_PAGE_MAX;
	for (;;) {
		q.rsm_after = last[0] ? last : NULL;
		if ((r = mam_query(s, bare, &q, &p)) != MAM_OK)
			return r;
		for (i = 0; i < p.n; i++)
			if ((r = fn(&p.items[i], arg)) != 0) {
				mam_page_free(&p);
				return r;
			}
		if (p.n)
			snprintf(last, sizeof last, "%s", p.items[p.n - 1].id);
		r = p.complete || !p.n;
		mam_page_free(&p);
		if (r)
			return MAM_OK;
	}
}

int mam_delete(struct store *s, const char *bare)
{
	static const char *const index_keys[] = { "mam:w:", NULL };
	char key[STORE_MAX_KEY];
	redisReply *d;

	if (store_del_members(s, bare, "SMEMBERS", "mam:with", index_keys) < 0)
		return XE_REDIS;
	store_user_key(s, bare, "mam", key, sizeof key);
	if (!(d = store_cmd(s, "DEL %s %s:with", key, key)))
		return XE_REDIS;
	freeReplyObject(d);
	return MAM_OK;
}

int mam_prefs_get(struct store *s, const char *bare, struct mam_prefs *p)
{
	char key[STORE_MAX_KEY];
	redisReply *r;
	size_t i;

	memset(p, 0, sizeof *p);
	store_user_key(s, bare, "mamprefs", key, sizeof key);
	if (!(r = store_cmd(s, "HGETALL %s", key)))
		return XE_REDIS;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
		const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
		if (!strcmp(f, "default"))
			snprintf(p->dflt, sizeof p->dflt, "%s", v);
		else if (!strncmp(f, "j:", 2))
			strvec_add(!strcmp(v, "always") ? &p->always : &p->never, f + 2);
	}
	freeReplyObject(r);
	strvec_sort_uniq(&p->always);
	strvec_sort_uniq(&p->never);
	return MAM_OK;
}

int mam_prefs_put(struct store *s, const char *bare, const struct mam_prefs *p)
{
	static const char *const outcomes[] = { "stored", NULL };
	size_t n = 3 + p->always.n + p->never.n, i, k = 0;
	const char **argv = xcalloc(n, sizeof *argv);
	size_t *lens = xcalloc(n, sizeof *lens);
	char key[STORE_MAX_KEY], na[24];
	redisReply *r;
	int o;

	store_user_key(s, bare, "mamprefs", key, sizeof key);
	snprintf(na, sizeof na, "%zu", p->always.n);
	argv[k++] = key;
	argv[k++] = p->dflt;
	argv[k++] = na;
	for (i = 0; i < p->always.n; i++)
		argv[k++] = p->always.v[i];
	for (i = 0; i < p->never.n; i++)
		argv[k++] = p->never.v[i];
	for (i = 0; i < k; i++)
		lens[i] = strlen(argv[i]);
	o = store_script(s, "mam_prefs_set", lua_mam_prefs_set, lua_mam_prefs_set_sha, 1,
	    (int)k, argv, lens, outcomes, &r);
	free(argv);
	free(lens);
	if (o < 0)
		return o;
	freeReplyObject(r);
	return MAM_OK;
}
