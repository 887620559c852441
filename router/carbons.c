/*
 * carbons.c - XEP-0280 message carbons in Redis (see carbons.h).
 */
#include "carbons.h"
#include "route.h"
#include "scripts.h"

static int carbons_set(struct store *s, const char *bare, const char *resource,
    const char *op, const char *id)
{
	static const char *const done[] = { "done", NULL };
	char ckey[STORE_MAX_KEY], skey[STORE_MAX_KEY];
	const char *argv[5];
	redisReply *r;
	int o;

	store_user_key(s, bare, "carbons", ckey, sizeof ckey);
	store_user_key(s, bare, "sessions", skey, sizeof skey);
	argv[0] = ckey; argv[1] = skey; argv[2] = resource; argv[3] = op; argv[4] = id;
	o = store_script(s, "carbons_set", lua_carbons_set, lua_carbons_set_sha, 2, 5, argv,
	    NULL, done, &r);
	if (o < 0)
		return o;
	freeReplyObject(r);
	return 0;
}

int carbons_enable(struct store *s, const char *bare, const char *resource, const char *id)
{
	static const char note[] = "carbons\n";
	char chan[STORE_MAX_KEY];
	int rc = carbons_set(s, bare, resource, "on", id);

	if (rc < 0)
		return rc;
	store_user_key(s, bare, NULL, chan, sizeof chan);
	return route_publish(s, chan, note, sizeof note - 1) < 0 ? XE_REDIS : 0;
}

int carbons_disable(struct store *s, const char *bare, const char *resource, const char *id)
{
	return carbons_set(s, bare, resource, "off", id ? id : "");
}
