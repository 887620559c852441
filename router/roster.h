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
/* What to do with a subscription presence (roster_sub.lua answers
 * 'drop', 'route', 'deliver', 'autoreply'). */
enum roster_action { RA_DROP, RA_ROUTE, RA_DELIVER, RA_AUTOREPLY };

/* The subscription state and the pending ask of a stored item (pure,
 * router/format.c): SUB_NONE for an item that does not start as stored
 * items do; ask 1 if " ask='subscribe'" follows the subscription, else 0. */
enum roster_sub roster_item_sub(const char *item);
int roster_item_ask(const char *item);
/* Does the user receive the contact's presence (to/both), or send its
 * presence to the contact (from/both)? */
#define SUB_HAS_TO(s)   ((s) == SUB_TO || (s) == SUB_BOTH)
#define SUB_HAS_FROM(s) ((s) == SUB_FROM || (s) == SUB_BOTH)

/*
 * Contract, for every function below: 0 on success, else a negative
 * xerr.h code with store->err set: XE_REDIS, or XE_REPLY when a script
 * answers what it never does. ver (versz bytes, ROSTER_VER_MAX is
 * enough) receives the roster version after the call ("0" if none).
 * Items are in stored form (above); what is returned in *item or *old
 * is malloc'd and the caller frees it.
 */

/* Every item: fn(contact, item), borrowed for the call; fn returns -1 to
 * stop (then XE_REDIS). ver, when not NULL, receives the version. */
int roster_each(struct store *s, const char *bare, char *ver, size_t versz,
    int (*fn)(const char *contact, const char *item, void *arg), void *arg);
int roster_version(struct store *s, const char *bare, char *ver, size_t versz);
/* Set name and groups, keeping the subscription state (roster_set.lua);
 * body is the item text after the state attributes (" jid='...' ...>
 * ...</item>" or " jid='...'/>"). *item: the new item (NULL on error). */
int roster_set(struct store *s, const char *bare, const char *contact,
    const char *body, char **item, char *ver, size_t versz);
/* Write a whole item as is and raise the version (operators seeding
 * rosters: the caller builds it in the stored form). Not atomic. */
int roster_put(struct store *s, const char *bare, const char *contact,
    const char *item, char *ver, size_t versz);
/* Remove the contact, and any pending request from it (roster_remove.lua).
 * *old: the removed item, or NULL if there was none (then the version
 * is not raised) or on error. */
int roster_remove(struct store *s, const char *bare, const char *contact,
    char **old, char *ver, size_t versz);
/* Run the subscription state machine (see roster_sub.lua). out==1: the
 * user sent type to contact; out==0: the contact sent it to the user.
 * contact_attr: the contact's JID escaped for an XML attribute (for a new
 * item); stanza: kept while a request is pending. *action: what to do
 * with the presence (RA_DROP on error); *item: the changed item, or NULL
 * when nothing changed (or on error). */
int roster_subscription(struct store *s, const char *bare, const char *contact,
    int out, const char *type, const char *contact_attr, const char *stanza,
    enum roster_action *action, char **item, char *ver, size_t versz);
/* Pending subscription requests: fn(contact, stanza), borrowed. */
int roster_pending_each(struct store *s, const char *bare,
    int (*fn)(const char *contact, const char *stanza, void *arg), void *arg);

#endif
