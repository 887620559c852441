/*
 * caps.c - the XEP-0115 table in Redis (see caps.h).
 */
#include "caps.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAPS_KEY_MAX 512        /* "caps:" + a hash name + a ver, both short */

static void caps_key(struct store *s, const char *hash, const char *ver, char *out,
    size_t outsz)
{
	char name[CAPS_KEY_MAX];
	snprintf(name, sizeof name, "caps:%.16s:%.256s", hash, ver);
	store_global_key(s, name, out, outsz);
}

int caps_get(struct store *s, const char *hash, const char *ver, struct strvec *features)
{
	char key[STORE_MAX_GLOBAL_KEY];
	redisReply *r;
	size_t i;

	caps_key(s, hash, ver, key, sizeof key);
	if (!(r = store_cmd(s, "SMEMBERS %s", key)))
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(s->err, sizeof s->err, "SMEMBERS %.256s: unexpected reply", key);
		freeReplyObject(r);
		return XE_REPLY;
	}
	for (i = 0; i < r->elements && i < CAPS_FEATURES_MAX; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			strvec_add(features, r->element[i]->str);
	i = r->elements;
	freeReplyObject(r);
	return i ? CAPS_FOUND : CAPS_NONE;
}

int caps_put(struct store *s, const char *hash, const char *ver, const struct strvec *features)
{
	char key[STORE_MAX_GLOBAL_KEY], ttl[16];
	size_t n = features->n < CAPS_FEATURES_MAX ? features->n : CAPS_FEATURES_MAX, i;
	const char **av[3];
	const size_t *al[3];
	int ac[3] = { 2, (int)n + 2, 3 }, rc = 0, k;
	const char **sadd = xcalloc(n + 2, sizeof *sadd);
	size_t *sl = xcalloc(n + 2, sizeof *sl);
	const char *del[2] = { "DEL", key }, *exp[3] = { "EXPIRE", key, ttl };
	size_t dl[2], el[3];
	redisReply *rep[3];

	if (n == 0) {           /* an empty set cannot be stored: nothing to tell */
		free(sadd);
		free(sl);
		return 0;
	}
	caps_key(s, hash, ver, key, sizeof key);
	snprintf(ttl, sizeof ttl, "%d", CAPS_TTL);
	sadd[0] = "SADD";
	sadd[1] = key;
	for (i = 0; i < n; i++)
		sadd[i + 2] = features->v[i];
	for (i = 0; i < n + 2; i++)
		sl[i] = strlen(sadd[i]);
	dl[0] = 3; dl[1] = strlen(key);
	el[0] = 6; el[1] = strlen(key); el[2] = strlen(ttl);
	av[0] = del; al[0] = dl;
	av[1] = sadd; al[1] = sl;
	av[2] = exp; al[2] = el;
	if (store_pipeline(s, 3, av, al, ac, rep) < 0)
		rc = XE_REDIS;
	for (k = 0; k < 3; k++) {
		if (rep[k] && rep[k]->type == REDIS_REPLY_ERROR) {
			snprintf(s->err, sizeof s->err, "caps: %s", rep[k]->str);
			rc = XE_REDIS;
		}
		if (rep[k])
			freeReplyObject(rep[k]);
	}
	free(sadd);
	free(sl);
	return rc;
}
