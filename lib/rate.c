/*
 * rate.c - a token bucket over a peer's bytes (rate.h).
 */
#include "rate.h"

void rate_init(struct rate *r, long per_sec, long burst)
{
	r->per_sec = per_sec;
	r->burst = burst;
	r->tokens = (double)burst;
	clock_gettime(CLOCK_MONOTONIC, &r->last);
}

int rate_take(struct rate *r, long n)
{
	struct timespec now;
	double dt;

	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - r->last.tv_sec) + (double)(now.tv_nsec - r->last.tv_nsec) / 1e9;
	r->last = now;
	r->tokens += dt * (double)r->per_sec;
	if (r->tokens > (double)r->burst)
		r->tokens = (double)r->burst;
	r->tokens -= (double)n;
	return r->tokens < 0 ? -1 : 0;
}

void rate_set(struct rate *r, long per_sec, long burst)
{
	rate_take(r, 0);               /* credit the time since, at the old rate */
	r->tokens += (double)(burst - r->burst);
	if (r->tokens < 0)
		r->tokens = 0;
	r->per_sec = per_sec;
	r->burst = burst;
}
