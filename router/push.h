/*
 * push.h - XEP-0357 push notifications: where a user's devices asked
 * the server to notify them, and the notification itself.
 *
 *   <prefix>{bare}:push       hash: "<app server JID>\n<node>" -> the
 *                             publish-options form the client gave
 *                             (serialised <x/>, "" none)
 *   <prefix>{bare}:pushstate  hash: the same fields -> "<messages since
 *                             the last notification> <when it was sent>"
 *
 * When a message is accepted for a user and no session with a handler
 * listening gets it (it is stored offline, or kept only by detached
 * sessions' inboxes: route.h's route_req.asleep), the process that
 * routed it, on whatever host, notifies each registration: an XEP-0060
 * publish to the app server with the urn:xmpp:push:summary form
 * (message-count, last-message-sender, and the body only when the
 * operator allows it), from the user's bare JID, through the federation
 * queues (s2s.h). One notification per registration per burst: none
 * within push_interval seconds of the last one (push_note.lua), the
 * messages meanwhile counted in the next.
 *
 * Contract: as store.h; named results >= 0, or XE_REDIS / XE_REPLY.
 */
#ifndef XMPPD_PUSH_H
#define XMPPD_PUSH_H

#include "store.h"
#include "xml.h"

#define NS_PUSH "urn:xmpp:push:0"
#define PUSH_REGISTRATIONS_MAX 16   /* app server and node pairs per user */
#define PUSH_OPTIONS_MAX 4096       /* bytes of one publish-options form */

enum push_result { PUSH_OK = 0, PUSH_FULL = 1 };

/* Register app server jid, node, with publish-options options ("" none)
 * for bare (push_enable.lua): PUSH_OK, PUSH_FULL (PUSH_REGISTRATIONS_MAX
 * others), or an error. */
int push_enable(struct store *s, const char *bare, const char *jid, const char *node,
    const char *options);
/* Unregister jid's node (node NULL: every node of jid): how many went,
 * or an error. */
int push_disable(struct store *s, const char *bare, const char *jid, const char *node);

struct config;
/* Message st (from sender, a full JID) was accepted for bare and no
 * listening session got it: notify bare's registrations as above, each
 * notification queued through s2s_send. How many were sent, or an error
 * (logged by the caller). A message push_worthy refuses is left. */
int push_notify(struct store *s, const struct config *cfg, const char *bare,
    const struct xml_node *st);
/* Is st a message a phone should wake up for: a chat or normal message
 * with a body, or an encrypted payload (OMEMO, OpenPGP)? Pure. */
int push_worthy(const struct xml_node *st);

#endif
