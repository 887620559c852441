/*
 * muc-int.h - what the files of the multi-user chat module share
 * (muc.c, the occupant's side and the dispatch of everything sent to the
 * conference domain; mucconfig.c, the room's configuration: the owner
 * form, destruction, disco#info; mucadmin.c, its administration: roles,
 * affiliations, invitations; mucdirectory.c, disco#items: the directory
 * of rooms, a room's items; muchistory.c, the history a joiner gets).
 *
 * Contract: every function given an IQ answers it (a result or an
 * error); room is the room's bare JID, shorter than ROUTE_NODE_MAX.
 */
#ifndef XMPPD_MUC_INT_H
#define XMPPD_MUC_INT_H

#include "conn.h"
#include "xml.h"

#define NS_MUC        "http://jabber.org/protocol/muc"
#define NS_MUC_USER   NS_MUC "#user"
#define NS_MUC_OWNER  NS_MUC "#owner"
#define NS_MUC_ADMIN  NS_MUC "#admin"

/* Answer st with the error of a script's refusal or a failure rc
 * (forbidden, not-allowed, conflict, item-not-found for no such nick or
 * room, not-acceptable for a non-occupant): 1, or 0 when rc is neither
 * (nothing sent). */
int muc_refused(struct conn *c, const struct xml_node *st, int rc);

/* XEP-0045 10.1-10.2 and 10.9: an IQ of namespace muc#owner to room. */
void muc_owner_iq(struct conn *c, const struct xml_node *iq, const char *room);
/* XEP-0045 6.4: the room's disco#info. */
void muc_room_info(struct conn *c, const struct xml_node *iq, const char *room);
/* XEP-0045 8-10: an IQ get or set of namespace muc#admin to room. */
void muc_admin_iq(struct conn *c, const struct xml_node *iq, const char *room);
/* XEP-0045 7.8.2: is st, a message to a room, a mediated invitation or
 * a decline (muc_invitation's, then)? Answers nothing. */
int muc_is_invitation(const struct xml_node *st);
void muc_invitation(struct conn *c, const struct xml_node *st, const char *room);

/* XEP-0045 6.3: disco#items on the conference domain, the public rooms. */
void muc_directory(struct conn *c, const struct xml_node *iq);
/* XEP-0045 6.5: disco#items on the room. */
void muc_room_items(struct conn *c, const struct xml_node *iq, const char *room);

struct xbuf;
/* muc.c: groupchat message xml, as muc_message stored it (no 'from' nor
 * 'to'), sent by nick in room, as client c gets it, appended to b: from
 * room/nick, to c, with its XEP-0359 stanza-id sid by the room, then
 * extra (serialised XML, "" none) before its end. Spliced, not parsed:
 * the one stanza every occupant's handler writes for every message of
 * the room. 0, or -1 with nothing appended when xml is no such message. */
int muc_groupchat_xml(struct conn *c, const char *room, const char *nick, const char *xml,
    size_t len, const char *sid, const char *extra, struct xbuf *b);
/* XEP-0045 7.2.15: after the joiner's own presence and before the
 * subject, the room's groupchat messages from before the join's log
 * entry before, at most room_max (the room's history setting) and within
 * the limits of the join presence st's <history/>, oldest first, each
 * with its stanza-id and an XEP-0203 delay from the room. A Redis
 * failure is logged: the join goes on without history. */
void muc_history_send(struct conn *c, const struct xml_node *st, const char *room,
    const char *before, int room_max);

#endif
