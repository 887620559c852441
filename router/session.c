/*
 * session.c - session records. Decisions that read and write one user's
 * sessions run as Lua scripts, so two handlers racing for one resource
 * cannot both believe they won.
 */
#include "session.h"
#include "scripts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char sha_register[41], sha_unregister[41], sha_update[41];

int session_register(struct store *s, const char *bare, const char *resource,
    const char *id, const char *host, long pid, char *replaced_id, size_t idsz)
{
	char key[STORE_MAX_KEY], online[STORE_MAX_KEY], rec[SESSION_MAX_RECORD];
	const char *argv[5];
	redisReply *r;
	long now = (long)time(NULL);

	store_user_key(s, bare, "sessions", key, sizeof key);
	store_global_key(s, "online", online, sizeof online);
	snprintf(rec, sizeof rec, "id=%s prio=0 avail=0 host=%s pid=%ld since=%ld seen=%ld",
	    id, host, pid, now, now);
	argv[0] = key; argv[1] = online; argv[2] = bare; argv[3] = resource; argv[4] = rec;
	r = store_eval(s, lua_session_register, sha_register, 2, 5, argv, NULL);
	if (!r)
		return -1;
	snprintf(replaced_id, idsz, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return 0;
}

int session_unregister(struct store *s, const char *bare, const char *resource,
    const char *id)
{
	char key[STORE_MAX_KEY], online[STORE_MAX_KEY];
	const char *argv[5];
	redisReply *r;

	store_user_key(s, bare, "sessions", key, sizeof key);
	store_global_key(s, "online", online, sizeof online);
	argv[0] = key; argv[1] = online; argv[2] = bare; argv[3] = resource; argv[4] = id;
	r = store_eval(s, lua_session_unregister, sha_unregister, 2, 5, argv, NULL);
	if (!r)
		return -1;
	freeReplyObject(r);
	return 0;
}

int session_update(struct store *s, const char *bare, const char *resource,
    const char *id, int prio, int avail)
{
	char key[STORE_MAX_KEY], now[32], p[16], a[16];
	const char *argv[6];
	redisReply *r;
	int ok;

	store_user_key(s, bare, "sessions", key, sizeof key);
	snprintf(now, sizeof now, "%ld", (long)time(NULL));
	snprintf(p, sizeof p, "%d", prio);
	snprintf(a, sizeof a, "%d", avail);
	argv[0] = key; argv[1] = resource; argv[2] = id; argv[3] = now; argv[4] = p; argv[5] = a;
	r = store_eval(s, lua_session_update, sha_update, 1, 6, argv, NULL);
	if (!r)
		return -1;
	ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	return ok ? 0 : -1;
}

static int field(const char *rec, const char *name, char *out, size_t outsz)
{
	char pat[32];
	const char *p;
	size_t n;
	snprintf(pat, sizeof pat, "%s=", name);
	for (p = rec; (p = strstr(p, pat)); p++)
		if (p == rec || p[-1] == ' ')
			break;
	if (!p)
		return -1;
	p += strlen(pat);
	n = strcspn(p, " ");
	if (n >= outsz)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int session_parse(const char *resource, const char *rec, struct session_info *si)
{
	char v[64];
	memset(si, 0, sizeof *si);
	snprintf(si->resource, sizeof si->resource, "%s", resource);
	if (field(rec, "id", si->id, sizeof si->id) == -1 ||
	    field(rec, "host", si->host, sizeof si->host) == -1)
		return -1;
	if (field(rec, "prio", v, sizeof v) == -1) return -1;
	si->prio = atoi(v);
	if (field(rec, "avail", v, sizeof v) == -1) return -1;
	si->avail = atoi(v);
	if (field(rec, "pid", v, sizeof v) == -1) return -1;
	si->pid = atol(v);
	if (field(rec, "since", v, sizeof v) == -1) return -1;
	si->since = atol(v);
	if (field(rec, "seen", v, sizeof v) == -1) return -1;
	si->seen = atol(v);
	return 0;
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
		return -1;
	for (i = 0; i + 1 < r->elements; i += 2) {
		const char *res = r->element[i]->str, *rec = r->element[i + 1]->str;
		if (session_parse(res, rec, &si) == -1)
			continue;
		if (s->session_ttl > 0 && now - si.seen > s->session_ttl)
			continue;          /* stale: its handler died */
		if (fn(&si, arg) == -1) {
			rc = -1;
			break;
		}
	}
	freeReplyObject(r);
	return rc;
}
