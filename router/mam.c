/*
 * mam.c - XEP-0313 archives in Redis (see mam.h): mam_query.lua reads
 * and trims, mam_prefs_set.lua replaces the preferences; the arguments
 * and the reply of a query, which a room's archive query (muc.c) shares.
 * The pure parts (ids, the forwarded form) are in format.c.
 */
#include "mam.h"
#include "scripts.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAM_WITH_KEY_MAX (2 * 3072)       /* "mam:w:" and a bare JID */

/* A query by ids, with the keys and the arguments before them. */
_Static_assert(STORE_ARGV_MAX >= MAM_IDS_MAX + 16, "STORE_ARGV_MAX too small for MAM ids");

void mam_policy_args(const struct store *s, struct mam_policy *p, struct store_argv *v)
{
	snprintf(p->now, sizeof p->now, "%ld", (long)time(NULL));
	snprintf(p->count, sizeof p->count, "%d", s->archive_max_count);
	snprintf(p->age, sizeof p->age, "%ld", s->archive_max_age);
	store_argv_str(v, p->now);
	store_argv_str(v, p->count);
	store_argv_str(v, p->age);
}

int mam_page_parse(struct store *s, const redisReply *r, struct mam_page *p)
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

/* The mode, then the retention policy: what mam_answer takes first. */
static void head_args(const struct store *s, const char *mode, struct mam_args *b,
    struct store_argv *v)
{
	store_argv_str(v, mode);
	mam_policy_args(s, &b->policy, v);
}

void mam_query_args(const struct store *s, const struct mam_query *q, const char *filter,
    struct mam_args *b, struct store_argv *v)
{
	int i;

	if (q->nids > 0) {
		head_args(s, "ids", b, v);
		for (i = 0; i < q->nids && i < MAM_IDS_MAX; i++)
			store_argv_str(v, q->ids[i]);
		return;
	}
	head_args(s, "page", b, v);
	b->start[0] = b->end[0] = '\0';
	if (q->start_ms >= 0)
		snprintf(b->start, sizeof b->start, "%lld", q->start_ms);
	if (q->end_ms >= 0)
		snprintf(b->end, sizeof b->end, "%lld", q->end_ms);
	snprintf(b->max, sizeof b->max, "%d", q->max);
	store_argv_str(v, filter);
	store_argv_str(v, b->start);
	store_argv_str(v, b->end);
	store_argv_str(v, q->after_id ? q->after_id : "");
	store_argv_str(v, q->before_id ? q->before_id : "");
	store_argv_str(v, q->rsm_before ? "before" : q->rsm_after ? "after" : "");
	store_argv_str(v, q->rsm_before ? q->rsm_before : q->rsm_after ? q->rsm_after : "");
	store_argv_str(v, b->max);
}

/* Run mam_query.lua on bare's archive, and the index of with's bare JID
 * if with is not NULL; q NULL: the metadata. */
static int run_query(struct store *s, const char *bare, const char *with,
    const struct mam_query *q, struct mam_page *p)
{
	static const char *const outcomes[] = { "ok", "notfound", NULL };
	char key[STORE_MAX_KEY], idx[STORE_MAX_KEY], what[MAM_WITH_KEY_MAX];
	struct store_argv v = { .argc = 0 };
	struct mam_args b;
	const char *full = "";
	redisReply *r;
	int o;

	memset(p, 0, sizeof *p);
	store_user_key(s, bare, "mam", key, sizeof key);
	store_argv_str(&v, key);
	if (with) {
		size_t n = strcspn(with, "/");
		snprintf(what, sizeof what, "mam:w:%.*s", (int)n, with);
		store_user_key(s, bare, what, idx, sizeof idx);
		store_argv_str(&v, idx);
		if (with[n])
			full = with;
	}
	if (q)
		mam_query_args(s, q, full, &b, &v);
	else
		head_args(s, "meta", &b, &v);
	o = store_script(s, "mam_query", lua_mam_query, lua_mam_query_sha, with ? 2 : 1, v.argc,
	    v.argv, v.lens, outcomes, &r);
	if (o < 0)
		return o;
	if (o == MAM_OK)
		o = mam_page_parse(s, r, p);
	freeReplyObject(r);
	return o;
}

int mam_query(struct store *s, const char *bare, const struct mam_query *q, struct mam_page *p)
{
	/* A query by ids reads no index. */
	return run_query(s, bare, q->nids > 0 ? NULL : q->with, q, p);
}

int mam_metadata(struct store *s, const char *bare, struct mam_page *p)
{
	return run_query(s, bare, NULL, NULL, p);
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
