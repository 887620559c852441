/*
 * authfail.c - failed-authentication counters (see authfail.h).
 */
#include "authfail.h"
#include "scripts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void addr_key(struct store *s, const char *addr, char *out, size_t outsz)
{
	char name[256];
	snprintf(name, sizeof name, "authfail-addr:%s", addr);
	store_global_key(s, name, out, outsz);
}

long authfail_record(struct store *s, const char *bare, const char *addr, int window)
{
	char uk[STORE_MAX_KEY], ak[STORE_MAX_KEY], w[16];
	const char *argv[3];
	redisReply *r;
	long n;

	store_user_key(s, bare, "authfail", uk, sizeof uk);
	addr_key(s, addr, ak, sizeof ak);
	snprintf(w, sizeof w, "%d", window);
	argv[0] = uk; argv[1] = ak; argv[2] = w;
	r = store_eval(s, lua_authfail_record, lua_authfail_record_sha, 2, 3, argv, NULL);
	if (!r)
		return -1;
	n = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;
	freeReplyObject(r);
	return n;
}

long authfail_count(struct store *s, const char *bare, const char *addr)
{
	char uk[STORE_MAX_KEY], ak[STORE_MAX_KEY];
	redisReply *r;
	long n = 0, v;
	size_t i;

	store_user_key(s, bare, "authfail", uk, sizeof uk);
	addr_key(s, addr, ak, sizeof ak);
	r = store_cmd(s, "MGET %s %s", uk, ak);
	if (!r)
		return -1;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    (v = strtol(r->element[i]->str, NULL, 10)) > n)
			n = v;
	freeReplyObject(r);
	return n;
}

void authfail_clear(struct store *s, const char *bare)
{
	char uk[STORE_MAX_KEY];
	redisReply *r;
	store_user_key(s, bare, "authfail", uk, sizeof uk);
	r = store_cmd(s, "DEL %s", uk);
	if (r)
		freeReplyObject(r);
}
