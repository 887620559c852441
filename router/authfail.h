/*
 * authfail.h - failed authentications counted in Redis, per account and
 * per source address, so every host sees the same counts:
 *   <prefix>{jid}:authfail          string counter, expires after a window
 *   <prefix>authfail-addr:<address> string counter, expires after a window
 * The policy built on them (handler/sasl.c): an address whose count
 * reaches auth_block_after is refused until its counter expires; both
 * counts lengthen the (bounded) pause before a wrong answer; an account
 * is never refused, so a stranger cannot lock its owner out.
 *
 * Contract: as store.h: a negative xerr.h code (XE_REDIS, XE_REPLY) with
 * store->err set on failure. Addresses are taken as spelt: callers pass
 * netaddr_canon()'s spelling.
 */
#ifndef XMPPD_AUTHFAIL_H
#define XMPPD_AUTHFAIL_H

#include "store.h"

/* Failures in the window after one was recorded. */
struct authfail_counts {
	long account;          /* of the account (0 if it was not counted) */
	long addr;             /* from the address (0 if it was not counted) */
};

/*
 * Record one failure against the account bare and the address addr
 * (authfail_record.lua, once for each counter: they lie in different
 * hash slots of a cluster; both in one round trip), each counter
 * expiring window seconds after its first failure (a counter found
 * without a TTL gets one). The two are not counted as one step: a
 * failure between may count one and not the other.
 *
 * Accepts: bare and addr, either NULL (not counted; both NULL: nothing
 *   to do); window > 0.
 * Returns: 0 with the new counts in *out (0 for what was not counted),
 *   or XE_REDIS / XE_REPLY with *out zeroed.
 */
int authfail_record(struct store *s, const char *bare, const char *addr, int window,
    struct authfail_counts *out);
/* The failures in the window of the account bare and of the address
 * addr (either NULL: not read), in one round trip (a GET each: their
 * keys lie in different hash slots of a cluster): 0 with *out (0 where
 * none), or XE_REDIS with *out zeroed. */
int authfail_counts_get(struct store *s, const char *bare, const char *addr,
    struct authfail_counts *out);
/* A successful login clears the account's counter. Never the address's:
 * a guesser with an account of its own could clear it between guesses.
 * Best effort: a Redis failure leaves it to expire. */
void authfail_clear(struct store *s, const char *bare);

/* ---- for the operator (xmppctl) ---- */

enum authfail_kind { AUTHFAIL_ADDR, AUTHFAIL_ACCOUNT };

struct authfail_entry {
	enum authfail_kind kind;
	const char *name;      /* the address, or the account's bare JID */
	long count;
	long ttl;              /* seconds left in the window; -1 if none */
};

/* Call fn for every counter, addresses first. SCAN MATCH, never KEYS:
 * Redis walks its whole key space in batches, so a counter may come
 * twice and one created meanwhile may be missed. fn returns 0 to go on,
 * -1 to stop (authfail_each then returns XE_REDIS with store->err
 * empty). Returns 0, or XE_REDIS / XE_REPLY. */
int authfail_each(struct store *s, int (*fn)(const struct authfail_entry *e, void *arg),
    void *arg);

/* What authfail_unblock found; compare with these names, not digits. */
enum authfail_unblock_result {
	AUTHFAIL_UNCOUNTED = 0,   /* no failures were counted for the address */
	AUTHFAIL_CLEARED = 1      /* its counter is removed */
};
/* Forget the failures from an address: AUTHFAIL_CLEARED,
 * AUTHFAIL_UNCOUNTED, or XE_REDIS. */
int authfail_unblock(struct store *s, const char *addr);

#endif
