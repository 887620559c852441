/*
 * modules.h - the stanza handlers stream.c dispatches to, one file each:
 *   iqauth.c    legacy login, XEP-0078 (jabber:iq:auth)
 *   bind.c      resource binding (RFC 6120 7) and the RFC 3921 session IQ
 *   serveriq.c  IQs addressed to the server: ping, disco, version
 *   deliver.c   stanzas from the client to others, and from others to it
 * Each takes a stanza it does not own: stream.c frees it afterwards.
 */
#ifndef XMPPD_MODULES_H
#define XMPPD_MODULES_H

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

/* deliver.c */
void deliver_outbound(struct conn *c, struct xml_node *st);
void deliver_inbound(struct conn *c, struct xml_node *st);

#endif
