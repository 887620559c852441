/*
 * vcard.c - XEP-0054 vCards in Redis (see vcard.h): one GET or SET of
 * the user's vcard key per request.
 */
#include "vcard.h"
#include "xmalloc.h"

#include <stdio.h>

int vcard_get(struct store *s, const char *bare, char **xml, size_t *len)
{
	char key[STORE_MAX_KEY];
	redisReply *r;

	*xml = NULL;
	*len = 0;
	store_user_key(s, bare, "vcard", key, sizeof key);
	if (!(r = store_cmd(s, "GET %s", key)))
		return XE_REDIS;
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return VCARD_NONE;
	}
	if (r->type != REDIS_REPLY_STRING) {
		snprintf(s->err, sizeof s->err, "GET %.256s: unexpected reply", key);
		freeReplyObject(r);
		return XE_REPLY;
	}
	*xml = xstrndup(r->str, r->len);
	*len = r->len;
	freeReplyObject(r);
	return VCARD_FOUND;
}

int vcard_put(struct store *s, const char *bare, const char *xml, size_t len)
{
	char key[STORE_MAX_KEY];
	redisReply *r;

	store_user_key(s, bare, "vcard", key, sizeof key);
	if (!(r = store_cmd(s, "SET %s %b", key, xml, len)))
		return XE_REDIS;
	freeReplyObject(r);
	return VCARD_STORED;
}
