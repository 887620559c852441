/*
 * muc-int.h - what the files of the multi-user chat module share
 * (muc.c, the occupant's side and the dispatch of everything sent to the
 * conference domain; mucconfig.c, the room's configuration: the owner
 * form, destruction, disco#info; mucadmin.c, its administration: roles,
 * affiliations, invitations; mucdirectory.c, disco#items: the directory
 * of rooms, a room's items). What an occupant is sent of the room is
 * router/mucview.h's.
 *
 * Contract: every function given an IQ answers it (a result or an
 * error); room is the room's bare JID, shorter than ROUTE_NODE_MAX.
 */
#ifndef XMPPD_MUC_INT_H
#define XMPPD_MUC_INT_H

#include "conn.h"
#include "mucview.h"
#include "xml.h"


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

#endif
