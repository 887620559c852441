/*
 * stanzain.h - a stanza from outside this server (a remote domain's,
 * through xmpp-s2s-in; an external component's, through xmpp-component)
 * to one of its domains: served as a local sender's would be, and
 * whatever goes back (answers, errors) queued for the sender through
 * router/s2s.h's s2s_send, which knows the sender's route.
 *
 * Contract: the caller has checked that 'from' is a JID the stream may
 * speak for and 'to' a JID of a domain this server federates
 * (config_federates); the stanza is in the jabber:server namespace.
 */
#ifndef XMPPD_S2S_STANZAIN_H
#define XMPPD_S2S_STANZAIN_H

#include "config.h"
#include "jid.h"
#include "store.h"
#include "xml.h"

/* Serve st, addressed to to (parsed, domain lower-cased): a room of
 * muc_domain (mucin.h), presence (presence.h), an IQ to the domain
 * (ping, disco#info), an IQ to a user's bare JID that the server
 * answers (useriq.h), or delivery to the user (s2s_deliver_local), an
 * error to the sender when it cannot be. 0, or -1 when Redis failed:
 * nor could an error be queued, and the caller ends the stream
 * (internal-server-error) so that the peer knows. */
int s2s_stanza_in(struct store *s, const struct config *cfg, const struct xml_node *st,
    const struct jid *to);

/* The error (etype, cond) that answers st, from its 'to' to its 'from',
 * in the jabber:server namespace (the caller frees it); NULL when st is
 * an error or an IQ result, which are never answered (RFC 6120 8.3.1). */
struct xml_node *s2s_error_for(const struct xml_node *st, const char *etype, const char *cond);
/* Send s2s_error_for(st, etype, cond) back to the sender, through
 * s2s_send. */
void s2s_bounce(struct store *s, const struct config *cfg, const struct xml_node *st,
    const char *etype, const char *cond);

#endif
