/*
 * modules.h - the stanza handlers stream.c dispatches to, one file each:
 *   iqauth.c    legacy login, XEP-0078 (jabber:iq:auth)
 *   bind.c      resource binding (RFC 6120 7) and the RFC 3921 session IQ
 *   serveriq.c  IQs addressed to the server: ping, disco, version
 *   rosteriq.c  the roster (RFC 6121 2) and roster pushes
 *   presence.c  presence and subscriptions (RFC 6121 3, 4)
 *   deliver.c   messages and IQs from the client to others (RFC 6121 8)
 * Each takes a stanza it does not own: stream.c frees it afterwards.
 */
#ifndef XMPPD_MODULES_H
#define XMPPD_MODULES_H

#include <stddef.h>

struct conn;
struct xml_node;

#define NS_IQ_AUTH       "jabber:iq:auth"
#define NS_IQ_AUTH_FEAT  "http://jabber.org/features/iq-auth"
#define NS_BIND          "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION       "urn:ietf:params:xml:ns:xmpp-session"
#define NS_PING          "urn:xmpp:ping"
#define NS_DISCO_INFO    "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS   "http://jabber.org/protocol/disco#items"
#define NS_VERSION       "jabber:iq:version"

/* iqauth.c */
void iqauth_features(struct conn *c, struct xml_node *features);
void iqauth_handle(struct conn *c, struct xml_node *iq);

/* bind.c */
void bind_features(struct conn *c, struct xml_node *features);
/* 1 if iq was a bind or session IQ (and was answered), else 0. */
int bind_handle(struct conn *c, struct xml_node *iq);

/* serveriq.c: answer an IQ addressed to the server or the user's account. */
void serveriq_handle(struct conn *c, struct xml_node *iq);

#define NS_ROSTER        "jabber:iq:roster"
#define NS_ROSTERVER     "urn:xmpp:features:rosterver"
#define NS_DELAY         "urn:xmpp:delay"

/* rosteriq.c: jabber:iq:roster, and roster pushes */
void rosteriq_handle(struct conn *c, struct xml_node *iq);
/* Send a roster push for item (stored form) with version ver to the
 * user's every session that asked for the roster. */
void rosteriq_push(struct conn *c, const char *bare, const char *item, const char *ver);
/* Write a push that arrived on our bare channel to the client. */
void rosteriq_deliver_push(struct conn *c, const char *item, size_t len, const char *ver);

/* presence.c */
void presence_outbound(struct conn *c, struct xml_node *p);
/* The user sends a subscription presence of type to contact (bare JID),
 * from its stanza orig or, with orig NULL, on its behalf (roster removal). */
void presence_subscription(struct conn *c, const char *contact, const char *type,
    const struct xml_node *orig);
/* Store our current presence again (after our session record was lost). */
void presence_refresh(struct conn *c);
/* The session ends: unavailable to everyone who saw it available. */
void presence_end(struct conn *c);
/* Tell the contacts of a dead session (reaped) that it is unavailable. */
void presence_reaped(const char *bare, const char *resource, const char *presence, void *conn);

/* deliver.c */
void deliver_outbound(struct conn *c, struct xml_node *st);
/* Route the messages deliver_outbound queued (all those of one read go
 * to Redis in one round trip). stream.c calls it before anything else is
 * handled, so stanzas are processed in order (RFC 6120 10.1), at the end
 * of each read, and when the session ends. */
#define DELIVER_BATCH 64
void deliver_flush(struct conn *c);
/* Route again a stanza a session of bare never delivered (unconfirmed,
 * or left in its inbox), which the server accepted at `accepted` (Unix
 * seconds, 0 unknown): a message, stamped with an XEP-0203 <delay/> of
 * that time, to the user's other resources or offline, else bounced to
 * its sender; an IQ request bounced. */
void deliver_reroute(struct conn *c, const char *bare, const char *xml, size_t len,
    long accepted);

#endif
