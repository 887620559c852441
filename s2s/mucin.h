/*
 * mucin.h - the rooms of our conference domain (muc_domain) as users of
 * other domains reach them through xmpp-s2s-in (XEP-0045 across
 * domains).
 *
 * Their sessions have no handler here: a join is decided as a local
 * one is (muc.h's scripts), its welcome (mucview.h) queued to their
 * server, and the occupant recorded (mucremote.h); from then on the
 * relay of the room (roomrelay.h, started by xmpp-s2s-out) sends them
 * what the room's log says, as a local occupant's handler writes it to
 * its client. Presence changes, nick changes, exits, groupchat, subject
 * and private messages, the room's disco#info and XEP-0410 self-pings
 * are served; other IQs to the room or to an occupant are refused
 * (service-unavailable).
 *
 * Contract: st's 'from' is a JID of an authenticated remote domain and
 * its 'to' a JID of muc_domain (the caller checked both); stanzas go out
 * through the federation queues (s2s.h).
 */
#ifndef XMPPD_S2S_MUCIN_H
#define XMPPD_S2S_MUCIN_H

#include "config.h"
#include "mucview.h"
#include "store.h"
#include "xml.h"

/* Where the stanzas of a view (mucview.h) of an occupant on another
 * domain go: its server's queue (s2s_send). failed is set when one
 * could not be queued (the queue full, Redis failing). */
struct s2s_muc_sink {
	struct store *s;
	const struct config *cfg;
	int failed;
};
void s2s_muc_sink(struct muc_view *v, struct s2s_muc_sink *k);

/* Serve st. NULL when it was taken or needs no answer, else the stanza
 * error to answer it with. */
const struct muc_refusal *s2s_muc_in(struct store *s, const struct config *cfg,
    const struct xml_node *st);

/* Occupant full of room (the bare JID) cannot be reached: its server
 * bounced a stanza of the room, or answered one with an error. It
 * leaves, and the room hears why (status 333). Logged. */
void s2s_muc_gone(struct store *s, const char *room, const char *full);

#endif
