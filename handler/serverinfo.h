/*
 * serverinfo.h - XEP-0157 contact addresses: the extended disco#info
 * form (XEP-0128) that tells people and programs whom to reach about a
 * server (abuse, admin, security, support ...), from xmpp.conf's
 * contact_<kind> keys. The server's disco#info carries it, to local
 * sessions (serveriq.c) and to other domains (xmpp-s2s-in).
 *
 * Contract: pure; strings are copied.
 */
#ifndef XMPPD_SERVERINFO_H
#define XMPPD_SERVERINFO_H

#include "config.h"
#include "xml.h"

#define NS_SERVERINFO "http://jabber.org/network/serverinfo"

/* Add the form to disco#info query q when cfg names at least one
 * address; nothing otherwise. */
void serverinfo_add(struct xml_node *q, const struct config *cfg);

#endif
