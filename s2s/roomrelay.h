/*
 * roomrelay.h - the relay of one room's occupants on other domains: a
 * child of xmpp-s2s-out (out.c), as a route's connection is.
 *
 * A local occupant's handler reads the room's log for its client; an
 * occupant whose session is on another domain has no handler here, so
 * the relay reads the log for it: on each wake-up of the room's channel
 * (and every ROOMRELAY_POLL seconds, pub/sub may lose one), for each
 * such occupant (mucremote.h), what came after the last entry it was
 * sent, rendered as its handler would (mucview.h), queued to its server
 * (s2s.h), then where it is recorded. A relay killed between the two
 * sends those stanzas again: at least once, never lost. It holds the
 * room's lease (s2s_lease: one relay per room in the whole cluster) and
 * ends when the room has no such occupant left.
 *
 * Contract: as outconn.h's outconn_run: the whole life of a child
 * process; the result is its exit status, an OUTCONN_EXIT_*.
 */
#ifndef XMPPD_S2S_ROOMRELAY_H
#define XMPPD_S2S_ROOMRELAY_H

#include <signal.h>

#include "config.h"

#define ROOMRELAY_POLL 2        /* seconds between reads without a wake-up */

/* Relay room (a bare JID of muc_domain) as described above. */
int roomrelay_run(const struct config *cfg, const char *room, volatile sig_atomic_t *stop);

#endif
