/*
 * roster.h - rosters and subscription state in Redis (RFC 6121 2, 3).
 *
 * <prefix>{jid}:roster     hash: contact bare JID -> roster item, stored as
 *                          the XML the client sees, always starting
 *                          "<item subscription='S'" [" ask='subscribe'"]
 *                          so scripts can read and rewrite the state.
 * <prefix>{jid}:rosterver  string: the roster version (XEP-0237), raised
 *                          on every change.
 * <prefix>{jid}:pending    hash: contact -> its subscription request
 *                          (presence stanza) awaiting the user's answer.
 */
#ifndef XMPPD_ROSTER_H
#define XMPPD_ROSTER_H

#include "store.h"

#define ROSTER_VER_MAX 32

enum roster_sub { SUB_NONE, SUB_TO, SUB_FROM, SUB_BOTH };
enum roster_action { RA_DROP, RA_ROUTE, RA_DELIVER, RA_AUTOREPLY };

/* Read the subscription and ask state from a stored item. */
enum roster_sub roster_item_sub(const char *item);
int roster_item_ask(const char *item);
/* Does the user receive the contact's presence (to/both), or send its
 * presence to the contact (from/both)? */
#define SUB_HAS_TO(s)   ((s) == SUB_TO || (s) == SUB_BOTH)
#define SUB_HAS_FROM(s) ((s) == SUB_FROM || (s) == SUB_BOTH)

/* Every item: fn(contact, item). ver receives the current version. */
int roster_each(struct store *s, const char *bare, char *ver, size_t versz,
    int (*fn)(const char *contact, const char *item, void *arg), void *arg);
int roster_version(struct store *s, const char *bare, char *ver, size_t versz);
/* Set name and groups; body is the item text after the state attributes
 * (" jid='...' ...>...</item>" or " jid='...'/>"). *item is malloc'd. */
int roster_set(struct store *s, const char *bare, const char *contact,
    const char *body, char **item, char *ver, size_t versz);
/* Write a whole item as is (operators seeding rosters: the caller builds
 * it in the stored form). */
int roster_put(struct store *s, const char *bare, const char *contact,
    const char *item, char *ver, size_t versz);
/* Remove; *old is the removed item (malloc'd) or NULL if there was none. */
int roster_remove(struct store *s, const char *bare, const char *contact,
    char **old, char *ver, size_t versz);
/* Run the subscription state machine (see roster_sub.lua). out==1: the
 * user sent type to contact; out==0: the contact sent it to the user.
 * *item is the changed item (malloc'd) or NULL when nothing changed. */
int roster_subscription(struct store *s, const char *bare, const char *contact,
    int out, const char *type, const char *contact_attr, const char *stanza,
    enum roster_action *action, char **item, char *ver, size_t versz);
/* Pending subscription requests: fn(contact, stanza). */
int roster_pending_each(struct store *s, const char *bare,
    int (*fn)(const char *contact, const char *stanza, void *arg), void *arg);

#endif
