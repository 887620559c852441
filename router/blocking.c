/*
 * blocking.c - the XEP-0191 blocklist in Redis (see blocking.h).
 */
#include "blocking.h"
#include "scripts.h"
#include "strvec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKING_FIXED_ARGS 5     /* key, op, channel, push, cap */

/* Each string element of r from the first-th on, added to out. */
static void add_strings(const redisReply *r, size_t first, struct strvec *out)
{
	size_t i;
	for (i = first; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			strvec_add(out, r->element[i]->str);
}

int blocking_list(struct store *s, const char *bare, struct strvec *out)
{
	char key[STORE_MAX_KEY];
	redisReply *r;

	store_user_key(s, bare, "blocklist", key, sizeof key);
	r = store_cmd(s, "SMEMBERS %s", key);
	if (!r)
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(s->err, sizeof s->err, "SMEMBERS: unexpected reply");
		freeReplyObject(r);
		return XE_REPLY;
	}
	add_strings(r, 0, out);
	freeReplyObject(r);
	return 0;
}

int blocking_set(struct store *s, const char *bare, int block, const char *const *jids,
    int n, const char *push, struct strvec *changed)
{
	static const char *const outcomes[] = { "done", "full", NULL };
	enum { DONE, FULL };
	char key[STORE_MAX_KEY], chan[STORE_MAX_KEY], cap[16];
	const char **argv = xcalloc((size_t)n + BLOCKING_FIXED_ARGS, sizeof *argv);
	redisReply *r;
	int i, o;

	store_user_key(s, bare, "blocklist", key, sizeof key);
	store_user_key(s, bare, NULL, chan, sizeof chan);
	snprintf(cap, sizeof cap, "%d", BLOCKLIST_MAX);
	argv[0] = key;
	argv[1] = block ? "block" : "unblock";
	argv[2] = chan;
	argv[3] = push;
	argv[4] = cap;
	for (i = 0; i < n; i++)
		argv[BLOCKING_FIXED_ARGS + i] = jids[i];
	o = store_script(s, "blocking_set", lua_blocking_set, lua_blocking_set_sha, 1,
	    n + BLOCKING_FIXED_ARGS, argv, NULL, outcomes, &r);
	free(argv);
	if (o < 0)
		return o;
	if (o == DONE)
		add_strings(r, 1, changed);
	freeReplyObject(r);
	return o == FULL ? 1 : 0;
}
