/*
 * useriq.h - IQs from another domain to a local user's bare JID that the
 * server answers on the user's behalf (RFC 6121 8.5.2.1.3): the user's
 * vCard (XEP-0054), and the items of one of the user's PEP nodes
 * (XEP-0163, XEP-0060 6.5: avatars, OMEMO bundles), the node's access
 * model applied to the asker, as xmpp-handler answers a local asker.
 */
#ifndef XMPPD_S2S_USERIQ_H
#define XMPPD_S2S_USERIQ_H

#include "store.h"
#include "xml.h"

struct s2s_iq_error {
	const char *type, *cond;
	const char *app;                 /* pubsub#errors condition, or NULL */
};

/* iq: a get from a remote JID ('from') to a local user's bare JID ('to'),
 * both checked by the caller, in the jabber:server namespace. Returns the
 * result IQ to send back (the caller frees it); or NULL with err set to
 * the error to answer (err->cond NULL: not an IQ answered here, nor one
 * whose answer failed: the caller decides). */
struct xml_node *s2s_user_iq(struct store *s, const struct xml_node *iq,
    struct s2s_iq_error *err);

#endif
