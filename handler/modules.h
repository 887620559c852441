/*
 * modules.h - the feature modules of xmpp-handler, one file each, in the
 * order of the table in modules.c (module.h says what a module is):
 *   sasl.c      SASL authentication (RFC 6120 6)
 *   sasl2.c     SASL2, XEP-0388, with Bind2 (bind2.c, XEP-0386) and
 *               stream management resumption inline
 *   fast.c      FAST token authentication, XEP-0484
 *   iqauth.c    legacy login, XEP-0078 (jabber:iq:auth)
 *   bind.c      resource binding (RFC 6120 7) and the RFC 3921 session IQ
 *   rosteriq.c  the roster (RFC 6121 2) and roster pushes
 *   blocking.c  the blocking command, XEP-0191
 *   caps.c      entity capabilities, XEP-0115: what each client wants
 *   muc.c       multi-user chat, XEP-0045 (first slice): the conference
 *               domain's stanzas, before presence and delivery take them
 *   upload.c    HTTP file upload, XEP-0363: slots on the upload domain
 *   presence.c  presence and subscriptions (RFC 6121 3, 4)
 *   serveriq.c  IQs the server answers itself: ping, disco, version
 *   carbons.c   message carbons, XEP-0280
 *   vcard.c     vcard-temp, XEP-0054
 *   private.c   private XML storage, XEP-0049 (bookmarks, XEP-0048)
 *   register.c  in-band registration, XEP-0077: new accounts (and XEP-0445
 *               invitations), password change, removal
 *   mam.c       the message archive, XEP-0313, and its preferences, XEP-0441
 *   pep.c       personal eventing, XEP-0163 (XEP-0060 pubsub on the account)
 *   bookmarks.c XEP-0048 bookmarks in private storage kept as XEP-0402 PEP
 *               items, XEP-0411
 *   avatar.c    vCard photos kept as XEP-0084 PEP avatars and back, XEP-0398
 *   extdisco.c  STUN and TURN servers for calls, with TURN credentials,
 *               XEP-0215
 *   deliver.c   messages and IQs from the client to others (RFC 6121 8)
 * and the few functions one module offers another.
 */
#ifndef XMPPD_MODULES_H
#define XMPPD_MODULES_H

#include "module.h"
#include "carbons.h"
#include "mam.h"

struct config;
struct conn;
struct store;
struct xml_node;

#define NS_IQ_AUTH       "jabber:iq:auth"
#define NS_IQ_AUTH_FEAT  "http://jabber.org/features/iq-auth"
#define NS_BIND          "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION       "urn:ietf:params:xml:ns:xmpp-session"
#define NS_PING          "urn:xmpp:ping"
#define NS_DISCO_INFO    "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS   "http://jabber.org/protocol/disco#items"
#define NS_VERSION       "jabber:iq:version"
#define NS_ROSTER        "jabber:iq:roster"
#define NS_ROSTERVER     "urn:xmpp:features:rosterver"
#define NS_VCARD         "vcard-temp"
#define NS_PRIVATE       "jabber:iq:private"
#define NS_BLOCKING      "urn:xmpp:blocking"
#define NS_MAM           "urn:xmpp:mam:2"
#define NS_PUBSUB        "http://jabber.org/protocol/pubsub"
#define NS_PUBSUB_OWNER  NS_PUBSUB "#owner"
#define NS_BOOKMARKS     "storage:bookmarks"
#define NS_SM            "urn:xmpp:sm:3"
#define NS_CSI           "urn:xmpp:csi:0"

extern const struct module mod_sasl, mod_iqauth, mod_bind, mod_sm, mod_csi, mod_roster,
       mod_presence, mod_serveriq, mod_carbons, mod_register, mod_deliver;
extern const struct module mod_vcard, mod_private, mod_blocking, mod_mam, mod_caps, mod_pep;
extern const struct module mod_push;
extern const struct module mod_bookmarks, mod_avatar, mod_muc, mod_upload, mod_federation;
extern const struct module mod_extdisco;
extern const struct module mod_sasl2, mod_fast;

/* muc.c: what the conference domain is called, in its disco#info
 * identity and in the server's disco#items (serveriq.c); upload.c: the
 * upload service's. */
#define MUC_SERVICE_NAME "Chatrooms"
#define UPLOAD_SERVICE_NAME "HTTP File Upload"

/* serveriq.c: the disco#info <query/> of a service domain (muc_domain,
 * upload_domain): one identity category/type named name, the features
 * disco#info and disco#items, then features (NULL-ended). */
struct xml_node *serveriq_service_info(const char *category, const char *type,
    const char *name, const char *const *features);

/* mam.c: the user's archive's first and last entries, <metadata/>
 * (XEP-0313 6.1), or NULL when Redis fails (logged by the caller). */
struct xml_node *mam_metadata_node(struct conn *c);
/* rosteriq.c: a roster push for item (stored form) at version ver to
 * every session of bare that asked for the roster. */
void rosteriq_push(struct conn *c, const char *bare, const char *item, const char *ver);

/* federation.c: 1 if jid is of a remote domain stanzas may go to
 * (config_s2s_allowed) or of an external component's (config_component). */
int federation_remote(const struct config *cfg, const char *jid);
/* s2s_send (router/s2s.h), its failure logged: its result. */
int federation_send(struct store *st, const struct config *cfg, const struct xml_node *stanza);
/* Answer the client's stanza st after federation_send returned r: an
 * error when it was not queued, nothing when it was. */
void federation_answer(struct conn *c, const struct xml_node *st, int r);
/* ... of xml (one stanza), addressed to `to` unless it has a 'to'. */
int federation_queue_xml(struct store *st, const struct config *cfg, const char *to,
    const char *xml);
struct strvec;
/* ... to each JID of to that federation reaches (federation_remote; the
 * others are skipped), in one round trip; failures logged. How many
 * were queued, or XE_INVALID (xml is no stanza). */
int federation_queue_each(struct store *st, const struct config *cfg, const struct strvec *to,
    const char *xml);

/* presence.c: the user sends a subscription presence of type to contact
 * (bare JID), from its stanza orig or, with orig NULL, on its behalf
 * (roster removal). */
void presence_subscription(struct conn *c, const char *contact, const char *type,
    const struct xml_node *orig);

/* presence.c: the contacts of bare that may see its presence (from:
 * subscription from or both) and whose presence it receives (to: to or
 * both), either NULL, from one read of the roster; bare itself is added
 * last to each. 0, or -1 with the store's err set. */
struct store;
struct strvec;
int presence_contacts(struct store *st, const char *bare, struct strvec *from,
    struct strvec *to);
/* mam.c: a urn:xmpp:mam:2 IQ iq to room (XEP-0313 on a MUC room) from
 * the session that is its occupant nick ("" none): the query form, or a
 * query of the room's archive; answered. */
void mam_room_iq(struct conn *c, const struct xml_node *iq, const char *room, const char *nick);

/* presence.c: drop from v the contacts the user blocks (XEP-0191), never
 * the user itself. */
void presence_unblocked(struct conn *c, struct strvec *v);
/* presence.c: the session has sent initial presence and is not
 * unavailable (RFC 6121 4.4.2: what may be broadcast to it). */
int presence_available(struct conn *c);

/* presence.c: the user blocked (blocked 1) or unblocked the JIDs items
 * (XEP-0191 3.3, 3.4): the contacts they cover get unavailable presence,
 * or the current presence, from each available resource of the user,
 * and after an unblock the user gets theirs. */
void presence_blocked(struct conn *c, const struct strvec *items, int blocked);

/* blocking.c: does the user block jid (that JID, its bare JID or its
 * domain is on the list)? From the session's copy of the list. */
int blocking_blocks(struct conn *c, const char *jid);

/* carbons.c: st, a message the client sends to user to_bare, is eligible
 * for XEP-0280 copies (6): route_stanza.lua makes the received copies for
 * to_bare's other carbons-enabled sessions. Never a message to the
 * user's own JID. */
int carbons_eligible(struct conn *c, const struct xml_node *st, const char *to_bare);
/* Whether the user's other sessions may want sent copies: 0 only when
 * the last request found none with carbons on and none enabled them
 * since (they say so on the user's bare channel). */
int carbons_sent_wanted(struct conn *c);
/* What the last sent-copies request found: how many of the user's other
 * sessions have carbons on. */
void carbons_sent_found(struct conn *c, long enabled);

/* caps.c: does this session's client want notifications of node (its
 * XEP-0115 features hold "<node>+notify", XEP-0163 4)? 0 while its
 * capabilities are unknown. */
int caps_wants(struct conn *c, const char *node);

/* pep.c: this session, available, has just made its interests known
 * (caps.c): send its client the last item of each node it wants, of
 * every contact whose presence it sees and of its own account, where the
 * node's access model lets the user read (XEP-0163 4.3.2, 6.1.2). */
void pep_send_last(struct conn *c);

/* pep.c: publish item (stored form, pep.h; at most pep_max_item_size
 * bytes, the caller checks) under id on the user's own node, as a
 * publish from the user would, with its notifications; opts as in
 * pep_publish. A pep_result, or < 0 with the store's err set. */
struct pep_config;
int pep_publish_own(struct conn *c, const char *node, const char *id, const char *item,
    size_t len, const struct pep_config *opts);
/* pep.c: retract item id of the user's own node, with the notification
 * the node's notify_retract asks for. A pep_result, or < 0. */
int pep_retract_own(struct conn *c, const char *node, const char *id);

/* bookmarks.c: q, a private-storage set of storage:bookmarks (checked by
 * private.c), is about to be stored: its conferences become the XEP-0402
 * items of the user's urn:xmpp:bookmarks:1 node and leave q. 0 to go on
 * storing q, or -1 with the error answered and nothing stored. */
int bookmarks_set(struct conn *c, const struct xml_node *iq, struct xml_node *q);
/* bookmarks.c: the <query xmlns='jabber:iq:private'/> answering a get of
 * storage:bookmarks, from what private storage holds (xml, len bytes, or
 * NULL) and the conferences of the PEP node; NULL if Redis failed. */
struct xml_node *bookmarks_get(struct conn *c, const char *xml, size_t len);

/* avatar.c: the user stored vCard v: a PHOTO becomes its XEP-0084 avatar. */
void avatar_vcard_set(struct conn *c, const struct xml_node *v);
/* avatar.c: the user published payload on its node: avatar metadata
 * becomes the vCard's PHOTO. */
void avatar_published(struct conn *c, const char *node, const struct xml_node *payload);


#endif
