/*
 * rate.h - a token bucket over a peer's bytes: per_sec bytes a second on
 * average, burst at once (max_read_rate, max_read_burst in xmpp.conf(5)),
 * for the client handler and the federation streams alike.
 */
#ifndef XMPPD_RATE_H
#define XMPPD_RATE_H

#include <time.h>

struct rate {
	double tokens;
	struct timespec last;
	long per_sec, burst;
};

/* A full bucket. */
void rate_init(struct rate *r, long per_sec, long burst);
/* Take n bytes: 0, or -1 once the peer has outrun the bucket. */
int rate_take(struct rate *r, long n);
/* New limits from now on. What the peer has used of its burst stays
 * used: the bucket grows or shrinks by the change of burst, never below
 * empty, so a peer that has spent nothing has the new burst at once. */
void rate_set(struct rate *r, long per_sec, long burst);

#endif
