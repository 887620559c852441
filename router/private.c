/*
 * private.c - XEP-0049 private XML storage in Redis (see private.h): an
 * HGET to read, private_set.lua to write under the cap.
 */
#include "private.h"
#include "scripts.h"
#include "xmalloc.h"

#include <stdio.h>
#include <string.h>

int private_get(struct store *s, const char *bare, const char *ns, char **xml, size_t *len)
{
	char key[STORE_MAX_KEY];
	redisReply *r;

	*xml = NULL;
	*len = 0;
	store_user_key(s, bare, "private", key, sizeof key);
	if (!(r = store_cmd(s, "HGET %s %s", key, ns)))
		return XE_REDIS;
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return PRIVATE_NONE;
	}
	if (r->type != REDIS_REPLY_STRING) {
		snprintf(s->err, sizeof s->err, "HGET %.256s: unexpected reply", key);
		freeReplyObject(r);
		return XE_REPLY;
	}
	*xml = xstrndup(r->str, r->len);
	*len = r->len;
	freeReplyObject(r);
	return PRIVATE_FOUND;
}

int private_put(struct store *s, const char *bare, const char *ns, const char *xml,
    size_t len, int max_ns)
{
	/* In the order of enum private_result from PRIVATE_STORED. */
	static const char *const outcomes[] = { "stored", "full", NULL };
	char key[STORE_MAX_KEY], max[16];
	const char *argv[4];
	size_t lens[4];
	redisReply *r;
	int o;

	store_user_key(s, bare, "private", key, sizeof key);
	snprintf(max, sizeof max, "%d", max_ns);
	argv[0] = key; lens[0] = strlen(key);
	argv[1] = ns; lens[1] = strlen(ns);
	argv[2] = xml; lens[2] = len;
	argv[3] = max; lens[3] = strlen(max);
	o = store_script(s, "private_set", lua_private_set, lua_private_set_sha, 1, 4, argv,
	    lens, outcomes, &r);
	if (o < 0)
		return o;
	freeReplyObject(r);
	return o == 0 ? PRIVATE_STORED : PRIVATE_FULL;
}
