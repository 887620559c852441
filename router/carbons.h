/*
 * carbons.h - XEP-0280 message carbons in Redis: which sessions of a user
 * want copies of the user's messages.
 *
 * <prefix>{bare}:carbons is a hash resource -> the stream id of the
 * session that enabled carbons (xmpp-redis(7)). The id rather than a mere
 * flag makes a field left behind by an earlier session of the same
 * resource (killed, or replaced by a newer login) count for nothing:
 * route_stanza.lua copies only to a resource whose session record carries
 * that id, and a session that ends removes only its own field.
 *
 * The copies themselves are made by route_stanza.lua (lib/carbons.lua)
 * as part of routing a message (route.h, struct route_req), in the same
 * round trip, from the message's own envelope.
 *
 * Contract: as store.h. Functions return 0, or XE_REDIS / XE_REPLY with
 * store->err set.
 */
#ifndef XMPPD_CARBONS_H
#define XMPPD_CARBONS_H

#include <stddef.h>
#include "store.h"
#include "xml.h"

#define NS_CARBONS   "urn:xmpp:carbons:2"

/* XEP-0280 6: message st (jabber:client) is worth carbon copies: chat,
 * or normal with a body; not private, no-copy, a copy itself, nor a
 * MUC one. Pure (format.c). */
int carbons_copyable(const struct xml_node *st);

/* Session id of bare/resource enables carbons (carbons_set.lua), and
 * tells the user's other sessions (a "carbons" envelope on the bare
 * channel: route.h), which then ask for sent copies. */
int carbons_enable(struct store *s, const char *bare, const char *resource, const char *id);
/* ... disables them, if they are its own; id NULL: the session was
 * reaped, and the field goes unless the resource's current session set
 * it. */
int carbons_disable(struct store *s, const char *bare, const char *resource, const char *id);

#endif
