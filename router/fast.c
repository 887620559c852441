/*
 * fast.c - user agents and FAST tokens in Redis (fast.h).
 */
#include "fast.h"
#include "scripts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void slot_format(const struct fast_slot *s, char *out, size_t outsz)
{
	if (s->expiry > 0 && s->hash[0])
		snprintf(out, outsz, "%lld %s", s->expiry, s->hash);
	else
		snprintf(out, outsz, "0 -");
}

void fast_record_format(const struct fast_record *r, char *out, size_t outsz)
{
	char a[24 + FAST_HASH_HEX], b[24 + FAST_HASH_HEX];
	slot_format(&r->fresh, a, sizeof a);
	slot_format(&r->cur, b, sizeof b);
	snprintf(out, outsz, "%s %lld %s %s", r->mech, r->count, a, b);
}

static int slot_parse(long long expiry, const char *hash, struct fast_slot *s)
{
	memset(s, 0, sizeof *s);
	if (expiry == 0 && !strcmp(hash, "-"))
		return 0;
	if (expiry <= 0 || strlen(hash) != FAST_HASH_HEX - 1 ||
	    strspn(hash, "0123456789abcdef") != FAST_HASH_HEX - 1)
		return -1;
	s->expiry = expiry;
	memcpy(s->hash, hash, FAST_HASH_HEX);
	return 0;
}

int fast_record_parse(const char *s, struct fast_record *r)
{
	char fh[FAST_HASH_HEX + 1], ch[FAST_HASH_HEX + 1], tail;
	long long fe, ce;

	_Static_assert(FAST_MECH_MAX == 24 && FAST_HASH_HEX == 65, "fast_record_parse's widths");
	memset(r, 0, sizeof *r);
	if (sscanf(s, "%23s %lld %lld %65s %lld %65s %c", r->mech, &r->count, &fe, fh, &ce, ch,
	    &tail) != 6 || r->count < 0)
		return -1;
	if (slot_parse(fe, fh, &r->fresh) == -1 || slot_parse(ce, ch, &r->cur) == -1)
		return -1;
	return 0;
}

int fast_get(struct store *s, const char *bare, const char *id, struct fast_record *r,
    char raw[FAST_RECORD_MAX])
{
	char key[STORE_MAX_KEY];
	redisReply *x;

	raw[0] = '\0';
	memset(r, 0, sizeof *r);
	store_user_key(s, bare, "fast", key, sizeof key);
	if (!(x = store_cmd(s, "HGET %s %s", key, id)))
		return XE_REDIS;
	if (x->type != REDIS_REPLY_STRING) {
		freeReplyObject(x);
		return 0;
	}
	if (x->len >= FAST_RECORD_MAX || (memcpy(raw, x->str, x->len), raw[x->len] = '\0',
	    fast_record_parse(raw, r) == -1)) {
		freeReplyObject(x);
		snprintf(s->err, sizeof s->err, "fast: a token record that is none");
		return XE_REPLY;
	}
	freeReplyObject(x);
	return 1;
}

int fast_put(struct store *s, const char *bare, const char *id, const char *raw,
    const struct fast_record *r)
{
	static const char *const outcomes[] = { "changed", "ok", NULL };
	char key[STORE_MAX_KEY], rec[FAST_RECORD_MAX];
	const char *argv[4] = { key, id, raw, rec };
	redisReply *x;
	int o;

	store_user_key(s, bare, "fast", key, sizeof key);
	rec[0] = '\0';
	if (r)
		fast_record_format(r, rec, sizeof rec);
	o = store_script(s, "fast_cas", lua_fast_cas, lua_fast_cas_sha, 1, 4, argv, NULL,
	    outcomes, &x);
	if (o >= 0)
		freeReplyObject(x);
	return o;
}

int fast_revoke(struct store *s, const char *bare, const char *id)
{
	char key[STORE_MAX_KEY];
	redisReply *x;
	int n;

	store_user_key(s, bare, "fast", key, sizeof key);
	x = id ? store_cmd(s, "HDEL %s %s", key, id) : store_cmd(s, "HLEN %s", key);
	if (!x)
		return XE_REDIS;
	n = x->type == REDIS_REPLY_INTEGER ? (int)x->integer : 0;
	freeReplyObject(x);
	if (!id) {
		if (!(x = store_cmd(s, "DEL %s", key)))
			return XE_REDIS;
		freeReplyObject(x);
	}
	return n;
}

/* Tabs and newlines separate the stored fields: made spaces. */
static void agent_text(const char *in, char *out, size_t outsz)
{
	size_t i;
	snprintf(out, outsz, "%s", in);
	for (i = 0; out[i]; i++)
		if (out[i] == '\t' || out[i] == '\n' || out[i] == '\r')
			out[i] = ' ';
}

int fast_client_seen(struct store *s, const char *bare, const char *id,
    const char *software, const char *device, long long now)
{
	static const char *const outcomes[] = { "ok", "forgot", NULL };
	char key[STORE_MAX_KEY], fkey[STORE_MAX_KEY], sw[FAST_AGENT_TEXT], dev[FAST_AGENT_TEXT];
	char val[2 * FAST_AGENT_TEXT + 32], max[16];
	const char *argv[5] = { key, fkey, id, val, max };
	redisReply *x;
	int o;

	store_user_key(s, bare, "clients", key, sizeof key);
	store_user_key(s, bare, "fast", fkey, sizeof fkey);
	agent_text(software, sw, sizeof sw);
	agent_text(device, dev, sizeof dev);
	snprintf(val, sizeof val, "%lld\t%s\t%s", now, sw, dev);
	snprintf(max, sizeof max, "%d", FAST_CLIENTS_MAX);
	o = store_script(s, "clients_seen", lua_clients_seen, lua_clients_seen_sha, 2, 5, argv,
	    NULL, outcomes, &x);
	if (o < 0)
		return o;
	freeReplyObject(x);
	return 0;
}

/* "<seen>\t<software>\t<device>" into c. */
static void client_parse(const char *v, struct fast_client *c)
{
	const char *t1 = strchr(v, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
	c->seen = strtoll(v, NULL, 10);
	if (t1 && t2) {
		snprintf(c->software, sizeof c->software, "%.*s", (int)(t2 - t1 - 1), t1 + 1);
		snprintf(c->device, sizeof c->device, "%s", t2 + 1);
	}
}

static int by_seen(const void *a, const void *b)
{
	const struct fast_client *x = a, *y = b;
	return x->seen < y->seen ? -1 : x->seen > y->seen;
}

int fast_clients(struct store *s, const char *bare, struct fast_client *out, int max)
{
	char key[STORE_MAX_KEY];
	char raw[FAST_RECORD_MAX];
	redisReply *x;
	size_t i;
	int n = 0, k, r;

	store_user_key(s, bare, "clients", key, sizeof key);
	if (!(x = store_cmd(s, "HGETALL %s", key)))
		return XE_REDIS;
	for (i = 0; x->type == REDIS_REPLY_ARRAY && i + 1 < x->elements && n < max; i += 2) {
		memset(&out[n], 0, sizeof out[n]);
		store_reply_str(x, i, out[n].id, sizeof out[n].id);
		client_parse(x->element[i + 1]->str ? x->element[i + 1]->str : "", &out[n]);
		n++;
	}
	freeReplyObject(x);
	for (k = 0; k < n; k++) {
		r = fast_get(s, bare, out[k].id, &out[k].rec, raw);
		if (r == XE_REDIS)
			return r;
		out[k].has_record = r == 1;
	}
	qsort(out, (size_t)n, sizeof *out, by_seen);
	return n;
}
