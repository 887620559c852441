/*
 * blocking.h - the XEP-0191 blocking command's list in Redis.
 *
 * <prefix>{bare}:blocklist is a set of the JIDs the user blocks, each as
 * the user gave it, normalised: a bare JID, a full JID, or a domain
 * (xmpp-redis(7)). route_stanza.lua reads it to keep messages and IQs
 * from those JIDs away from the user; the user's handlers keep a copy
 * (handler/blocking.c), which every change refreshes: a change publishes
 * a "blocking" envelope (route.h) on the user's bare channel in the same
 * script that makes it.
 *
 * Contract: as store.h. Functions return 0 or a count, or XE_REDIS /
 * XE_REPLY with store->err set.
 */
#ifndef XMPPD_BLOCKING_H
#define XMPPD_BLOCKING_H

#include "store.h"

struct strvec;

#define BLOCKLIST_MAX 1000      /* JIDs one user may block */

/* Every JID bare blocks, added to out (which the caller frees). */
int blocking_list(struct store *s, const char *bare, struct strvec *out);
/* Block (block 1) or unblock the n JIDs (normalised), or with unblock and
 * n == 0 every one, and publish push (the <block/> or <unblock/> element
 * the user's sessions get) on bare's channel (blocking_set.lua).
 * changed receives the JIDs whose state changed (newly blocked, or no
 * longer blocked). Returns 0, or 1 when blocking them would pass
 * BLOCKLIST_MAX (nothing changed, nothing published), or an error. */
int blocking_set(struct store *s, const char *bare, int block, const char *const *jids,
    int n, const char *push, struct strvec *changed);

#endif
