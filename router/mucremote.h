/*
 * mucremote.h - the occupants of local rooms whose sessions are on other
 * domains (XEP-0045 over federation): who they are, and where the relay
 * of their room (s2s/roomrelay.c) has read the room's log to for each.
 *
 *   <prefix>{room}:remote  hash: the occupant's full JID -> "<state>
 *                          <nick>", the state as a view keeps it
 *                          (mucview.h: "<last> <role> <anyone>"), the
 *                          nick to the end (it may hold spaces)
 *   <prefix>s2s:rooms      set: rooms with such occupants, for the
 *                          dispatcher (xmpp-s2s-out), which starts one
 *                          relay per room; S2S_WAKE_CHANNEL (s2s.h)
 *                          carries MUC_REMOTE_WAKE_PREFIX "<room>" when a
 *                          room gets one; on a cluster one shard per
 *                          slot, <prefix>s2s:rooms:{TAG}, beside the
 *                          rooms of that slot (store_shard_key), so that
 *                          the scripts touch one slot
 *
 * xmpp-s2s-in adds an occupant after its join; the relay alone changes
 * or removes it afterwards, and only an entry still as it read it, so a
 * join meanwhile is never undone.
 *
 * Contract: as store.h; values are at most MUC_REMOTE_VALUE_MAX bytes.
 */
#ifndef XMPPD_MUCREMOTE_H
#define XMPPD_MUCREMOTE_H

#include <stddef.h>
#include "jid.h"
#include "muc.h"
#include "route.h"
#include "store.h"
#include "strvec.h"

#define MUC_REMOTE_KEY "remote"          /* after {room}: */
#define MUC_REMOTE_ROOMS "s2s:rooms"      /* store_shard_key name */
#define MUC_REMOTE_WAKE_PREFIX "room "    /* a wake-up for a room's relay */
#define MUC_REMOTE_VALUE_MAX (MUC_STATE_MAX + JID_MAX_PART)

enum muc_remote_left { MUC_REMOTE_BUSY = 0, MUC_REMOTE_IDLE = 1 };

/* Occupant full of room (a session of another domain) is read from
 * value on, the room is marked and its relay woken, in one step
 * (muc_remote_add.lua). 0 or a negative xerr. */
int muc_remote_add(struct store *s, const char *room, const char *full, const char *value);
/* full's value in room into value (MUC_REMOTE_VALUE_MAX bytes): 1, 0
 * when full is no such occupant, or XE_REDIS. */
int muc_remote_get(struct store *s, const char *room, const char *full, char *value);
/* fn(full, value) for each such occupant of room, in no order. How
 * many, or XE_REDIS. */
int muc_remote_each(struct store *s, const char *room,
    void (*fn)(const char *full, const char *value, void *arg), void *arg);
/* The relay's write (muc_remote_sync.lua): full's entry becomes value
 * (NULL: removed) if it is still old; then a room left without such
 * occupants is unmarked (full NULL: only that). MUC_REMOTE_IDLE
 * (unmarked), MUC_REMOTE_BUSY, or a negative xerr. */
int muc_remote_sync(struct store *s, const char *room, const char *full, const char *old,
    const char *value);
/* Every marked room (every shard), added to out. 0 or XE_REDIS. */
int muc_remote_rooms(struct store *s, struct strvec *out);

/* value's parts: the view state (MUC_STATE_MAX bytes) and the nick
 * (JID_MAX_PART bytes). 0, or -1 when value has no nick. Pure. */
int muc_remote_split(const char *value, char *state, char *nick);

#endif
