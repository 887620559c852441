/*
 * fake_router.h - the control side of fake_router.c: an in-memory stand-in
 * for router/ (its .c files and Redis) that the fuzz targets link instead.
 *
 * fake_router.c defines the functions declared in router/store.h,
 * account.h, session.h, route.h, roster.h, authfail.h, vcard.h and
 * private.h that router/format.c (linked too) does not. State lives in small tables
 * reset for each input, preloaded with:
 *   accounts  alice@localhost, bob@localhost, test@localhost, carol@localhost
 *             (password "secret" each, SCRAM-SHA-1 and -256 with a fixed salt
 *             and FAKE_ITERATIONS iterations, digest secret "secret")
 *   sessions  bob@localhost/phone (available), alice@localhost/laptop
 *             (available, priority 1), carol@localhost/old (available, dead:
 *             session_reap ends it)
 *   rosters   alice: bob (both), carol (from), dave@localhost (none, ask);
 *             bob: alice (both)
 *   pending   alice: a subscription request from eve@localhost
 *   offline   alice: one chat message from bob
 *   inbox     carol@localhost/old: one message (routed again when reaped)
 *   server secret  ACCOUNT_SECRET_LEN bytes of FAKE_SERVER_SECRET_BYTE
 *   invitation     FAKE_INVITE, any user, single use; an account
 *             registered in-band gets FAKE_PASSWORD's credentials
 * Whatever is published to a channel the connection subscribed to (its
 * full JID, its bare JID) is queued; the harness hands it to conn_deliver,
 * as the main loop would. A stanza routed to the connection's own session
 * waits in its inbox, with an "inbox" wake-up published (route.h); one
 * for any other live session counts as taken by that session's handler.
 */
#ifndef XMPPD_FUZZ_FAKE_ROUTER_H
#define XMPPD_FUZZ_FAKE_ROUTER_H

#include <stddef.h>

#define FAKE_ITERATIONS 8
#define FAKE_PASSWORD   "secret"
/* The fixed 16-byte salt of every fake account (make-seeds.py uses it). */
#define FAKE_SALT       "xmppd-fuzz-salt!"
/* The one invitation token (invite.h) valid until used; registration is
 * in invite mode for fuzz_stream. */
#define FAKE_INVITE     "0123456789abcdef0123456789abcdef"
/* Every byte of the server secret (account_server_secret). */
#define FAKE_SERVER_SECRET_BYTE 0x5a

/* Build the credentials (once) and reset every table to the preloaded state. */
void fake_router_reset(void);
/* Make router call number n (1-based, counted from the reset) fail as
 * Redis would (-1 / RO_ERROR with store->err set); 0: never. */
void fake_router_fail_at(unsigned n);
/* Take the oldest payload published to one of our channels: 1 and a
 * malloc'd copy in *payload / *len, or 0 when none is queued. */
int fake_router_take(char **payload, size_t *len);
/* Another handler reaps every session (this one stalled past the session
 * TTL): the records go, and what waited in their inboxes is routed again
 * (here: to offline storage). */
void fake_router_reap_all(void);
/* Router calls made since the reset. */
unsigned fake_router_calls(void);
/* 1 if the failure asked for with fake_router_fail_at has happened. */
int fake_router_failed(void);
/* Is there a session record bare/resource with this stream id (NULL: any
 * stream id)? */
int fake_router_has_session(const char *bare, const char *resource, const char *id);
/* Envelopes waiting in the inbox of bare/resource. */
int fake_router_inbox_len(const char *bare, const char *resource);

#endif
