/*
 * relay.h - stanzas to local users through Redis, and the second chance
 * of what a session never delivered.
 *
 * The recipient-side decision (which resources, or offline storage) is
 * one script inside Redis (route_stanza.lua); these functions prepare its
 * arguments: the envelope with the time the server accepted the stanza,
 * and the XEP-0203 <delay/> that offline storage adds. Shared by the
 * delivery module (stanzas from the client) and the connection (what a
 * session leaves unconfirmed or in its inbox when it ends or is reaped).
 */
#ifndef XMPPD_RELAY_H
#define XMPPD_RELAY_H

#include <stddef.h>
#include <time.h>
#include "jid.h"
#include "route.h"
#include "xml.h"

struct conn;

/* route_delay_element for the connection's domain. */
void relay_delay_element(struct conn *c, const struct xml_node *st, struct xbuf *out);
/* Route st (its 'from' already set), accepted by the server at
 * `accepted`, to local user `to` (route_stanza.lua). */
enum route_outcome relay_to_user(struct conn *c, struct xml_node *st, const struct jid *to,
    time_t accepted);
/* Route again a stanza a session of bare never delivered (unconfirmed,
 * or left in its inbox), which the server accepted at `accepted` (Unix
 * seconds, 0 unknown): a message, stamped with an XEP-0203 <delay/> of
 * that time, to the user's other resources or offline, else bounced to
 * its sender; an IQ request bounced. */
void relay_again(struct conn *c, const char *bare, const char *xml, size_t len, long accepted);

#endif
