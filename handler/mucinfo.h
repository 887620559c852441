/*
 * mucinfo.h - a room's disco#info (XEP-0045 6.4), made from what
 * muc_info (router/muc.h) read: the identity, the features of its
 * configuration and the muc#roominfo form. Whoever asks, a local
 * session (mucconfig.c) or a user of another domain (s2s/mucin.c), gets
 * the same answer but for what it cannot use.
 *
 * Contract: pure; the query returned belongs to the caller.
 */
#ifndef XMPPD_MUCINFO_H
#define XMPPD_MUCINFO_H

#include "muc.h"
#include "xml.h"

/* The <query xmlns='http://jabber.org/protocol/disco#info'/> of room as
 * info describes it; archive: say urn:xmpp:mam:2 when the room archives
 * (0 for an asker whose queries would not be answered). */
struct xml_node *muc_room_info_query(const struct muc_info *info, const char *room,
    int archive);

#endif
