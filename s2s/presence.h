/*
 * presence.h - presence from a contact of another domain to a local user
 * (RFC 6121 across servers), the contact's server having authenticated
 * its domain: the local user's side of the subscription state machine,
 * delivery to the user's sessions, and the answer to a probe. What goes
 * back is queued for federation (s2s_send).
 */
#ifndef XMPPD_S2S_PRESENCE_H
#define XMPPD_S2S_PRESENCE_H

#include "config.h"
#include "store.h"
#include "xml.h"

/* Handle presence p ('from' a JID of an authenticated remote domain,
 * 'to' a JID with a node of a served domain, both checked by the caller;
 * written in the jabber:server namespace). Failures are logged. */
void s2s_presence_in(struct store *s, const struct config *cfg, const struct xml_node *p);

#endif
