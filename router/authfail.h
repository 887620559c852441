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
 * Contract: as store.h (-1 with store->err on a Redis error). Addresses
 * are taken as spelt: callers pass netaddr_canon()'s spelling.
 */
#ifndef XMPPD_AUTHFAIL_H
#define XMPPD_AUTHFAIL_H

#include "store.h"

/* Failures in the window after one was recorded. */
struct authfail_counts {
	long account;          /* of the account (0 if it was not counted) */
	long addr;             /* from the address (0 if it was not counted) */
};

/* Record one failure against the account bare and the address addr
 * (either may be NULL: not counted), each counter expiring window
 * seconds after its first failure. 0 with the new counts in *out, or -1. */
int authfail_record(struct store *s, const char *bare, const char *addr, int window,
    struct authfail_counts *out);
/* Failures from the address in the window (0 if none), or -1. */
long authfail_addr_count(struct store *s, const char *addr);
/* A successful login clears the account's counter. Never the address's:
 * a guesser with an account of its own could clear it between guesses. */
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
 * -1 to stop (authfail_each then returns -1 with store->err empty). */
int authfail_each(struct store *s, int (*fn)(const struct authfail_entry *e, void *arg),
    void *arg);
/* Forget the failures from an address: 1 removed, 0 none counted, -1. */
int authfail_unblock(struct store *s, const char *addr);

#endif
