/*
 * authfail.c - failed-authentication counters (see authfail.h).
 */
#include "authfail.h"
#include "scripts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_KEY_NAME "authfail-addr:"

static void addr_key(struct store *s, const char *addr, char *out, size_t outsz)
{
	char name[256];
	snprintf(name, sizeof name, ADDR_KEY_NAME "%s", addr);
	store_global_key(s, name, out, outsz);
}

int authfail_record(struct store *s, const char *bare, const char *addr, int window,
    struct authfail_counts *out)
{
	char uk[STORE_MAX_KEY], ak[STORE_MAX_KEY], w[16];
	const char *argv[3];
	long *slot[2];
	redisReply *r;
	int nkeys = 0, rc = -1;
	size_t i;

	memset(out, 0, sizeof *out);
	if (bare) {
		store_user_key(s, bare, "authfail", uk, sizeof uk);
		slot[nkeys] = &out->account;
		argv[nkeys++] = uk;
	}
	if (addr) {
		addr_key(s, addr, ak, sizeof ak);
		slot[nkeys] = &out->addr;
		argv[nkeys++] = ak;
	}
	if (nkeys == 0)
		return 0;
	snprintf(w, sizeof w, "%d", window);
	argv[nkeys] = w;
	r = store_eval(s, lua_authfail_record, lua_authfail_record_sha, nkeys, nkeys + 1,
	    argv, NULL);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)nkeys) {
		for (i = 0; i < r->elements; i++)
			if (r->element[i]->type == REDIS_REPLY_INTEGER)
				*slot[i] = (long)r->element[i]->integer;
		rc = 0;
	} else {
		snprintf(s->err, sizeof s->err, "authfail_record: unexpected reply");
	}
	freeReplyObject(r);
	return rc;
}

long authfail_addr_count(struct store *s, const char *addr)
{
	char ak[STORE_MAX_KEY];
	redisReply *r;
	long n = 0;

	addr_key(s, addr, ak, sizeof ak);
	r = store_cmd(s, "GET %s", ak);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_STRING)
		n = strtol(r->str, NULL, 10);
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
