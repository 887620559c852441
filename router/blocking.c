/*
 * blocking.c - the XEP-0191 blocklist in Redis (see blocking.h).
 */
#include "blocking.h"
#include "route.h"
#include "scripts.h"
#include "strvec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCKING_FIXED_ARGS 9     /* 3 keys, op, channel, push, cap, now, log length */

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
	int n;

	store_user_key(s, bare, "blocklist", key, sizeof key);
	n = store_members(s, key, out);
	return n < 0 ? n : 0;
}

int blocking_set(struct store *s, const char *bare, int block, const char *const *jids,
    int n, const char *push, struct strvec *changed)
{
	static const char *const outcomes[] = { "done", "full", NULL };
	enum { DONE, FULL };
	char key[STORE_MAX_KEY], chan[STORE_MAX_KEY], cap[16], now[24], logmax[16];
	char readers[STORE_MAX_KEY], log[STORE_MAX_KEY];
	const char **argv = xcalloc((size_t)n + BLOCKING_FIXED_ARGS, sizeof *argv);
	redisReply *r;
	int i, o;

	store_user_key(s, bare, "blocklist", key, sizeof key);
	store_user_key(s, bare, NULL, chan, sizeof chan);
	route_bcast_keys(s, bare, readers, log, sizeof log);
	snprintf(cap, sizeof cap, "%d", BLOCKLIST_MAX);
	snprintf(now, sizeof now, "%ld", (long)time(NULL));
	snprintf(logmax, sizeof logmax, "%d", ROUTE_BCAST_MAX);
	argv[0] = key;
	argv[1] = readers;
	argv[2] = log;
	argv[3] = block ? "block" : "unblock";
	argv[4] = chan;
	argv[5] = push;
	argv[6] = cap;
	argv[7] = now;
	argv[8] = logmax;
	for (i = 0; i < n; i++)
		argv[BLOCKING_FIXED_ARGS + i] = jids[i];
	o = store_script(s, "blocking_set", lua_blocking_set, lua_blocking_set_sha, 3,
	    n + BLOCKING_FIXED_ARGS, argv, NULL, outcomes, &r);
	free(argv);
	if (o < 0)
		return o;
	if (o == DONE)
		add_strings(r, 1, changed);
	freeReplyObject(r);
	return o == FULL ? 1 : 0;
}
