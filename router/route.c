/*
 * route.c - envelopes on pub/sub channels.
 */
#include "route.h"

#include <stdio.h>
#include <string.h>

long route_publish(struct store *s, const char *channel, const char *payload, size_t len)
{
	const char *argv[3] = { "PUBLISH", channel, payload };
	size_t lens[3] = { 7, strlen(channel), len };
	redisReply *r = store_cmdargv(s, 3, argv, lens);
	long n;
	if (!r)
		return -1;
	n = (long)r->integer;
	freeReplyObject(r);
	return n;
}

long route_kick(struct store *s, const char *bare, const char *resource,
    const char *id, const char *cond)
{
	char chan[STORE_MAX_KEY], msg[256];
	int n;
	store_full_channel(s, bare, resource, chan, sizeof chan);
	n = snprintf(msg, sizeof msg, "kick %s %s\n", id, cond);
	return route_publish(s, chan, msg, (size_t)n);
}

int route_subscribe(struct store *s, const char *bare, const char *resource)
{
	char full[STORE_MAX_KEY], barech[STORE_MAX_KEY];
	redisReply *r;
	int i;

	if (store_open_sub(s) == -1)
		return -1;
	store_full_channel(s, bare, resource, full, sizeof full);
	store_user_key(s, bare, NULL, barech, sizeof barech);
	if (redisAppendCommand(s->sub, "SUBSCRIBE %s %s", full, barech) != REDIS_OK)
		return -1;
	/* Wait for both confirmations so nothing published after bind is missed. */
	for (i = 0; i < 2; i++) {
		if (redisGetReply(s->sub, (void **)&r) != REDIS_OK) {
			snprintf(s->err, sizeof s->err, "SUBSCRIBE: %s", s->sub->errstr);
			return -1;
		}
		freeReplyObject(r);
	}
	return 0;
}

int route_parse(const char *p, size_t len, struct route_msg *m)
{
	const char *nl = memchr(p, '\n', len);
	memset(m, 0, sizeof *m);
	m->kind = ROUTE_UNKNOWN;
	if (!nl)
		return -1;
	if (nl - p == 6 && !memcmp(p, "stanza", 6)) {
		m->kind = ROUTE_STANZA;
		m->body = nl + 1;
		m->body_len = len - (size_t)(nl + 1 - p);
		return 0;
	}
	if (nl - p > 5 && !memcmp(p, "kick ", 5)) {
		char line[192];
		size_t n = (size_t)(nl - p);
		if (n >= sizeof line)
			return -1;
		memcpy(line, p, n);
		line[n] = '\0';
		if (sscanf(line, "kick %63s %63s", m->id, m->cond) != 2)
			return -1;
		m->kind = ROUTE_KICK;
		return 0;
	}
	return -1;
}
