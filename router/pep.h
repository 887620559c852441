/*
 * pep.h - XEP-0163 personal eventing (a subset of XEP-0060 pubsub on each
 * account's bare JID) in Redis. Per user, under its hash tag
 * (xmpp-redis(7)):
 *   <prefix>{bare}:pep              set: the user's node names
 *   <prefix>{bare}:pep:conf:<node>  hash: the node's configuration (the
 *                                   fields of pep_field_names) and 'seq'
 *   <prefix>{bare}:pep:items:<node> hash: item id -> the item as stored
 *   <prefix>{bare}:pep:order:<node> sorted set: item ids, newest last
 * Every change is one script (router/lua/pep_*.lua, atomic); the handler
 * checks form, names and sizes before. The defaults of a new node live
 * in router/lua/lib/pep.lua alone.
 *
 * An item is stored as "<item id='ID'>PAYLOAD</item>" with no namespace
 * declaration on <item/> itself, so that it takes the namespace of
 * whatever element it is written into (pubsub, or pubsub#event), and the
 * payload declaring its own.
 *
 * Contract: as store.h. Functions return a named result (>= 0, enum
 * pep_result), or XE_REDIS / XE_REPLY with store->err set.
 */
#ifndef XMPPD_PEP_H
#define XMPPD_PEP_H

#include <stddef.h>
#include "store.h"
#include "strvec.h"

#define PEP_NODE_MAX   256      /* bytes of a node name */
#define PEP_ID_MAX     256      /* bytes of an item id */
#define PEP_VALUE_MAX  24       /* bytes of a configuration value, NUL included */

/* The configuration fields xmppd keeps, as stored (XEP-0060 16.4 names
 * without "pubsub#"). */
enum pep_field {
	PEP_ACCESS_MODEL,       /* open, presence, roster, whitelist */
	PEP_PERSIST_ITEMS,      /* "1" or "0" */
	PEP_MAX_ITEMS,          /* a number, or "max" (the store's cap) */
	PEP_NOTIFY_RETRACT,     /* "1" or "0" */
	PEP_SEND_LAST,          /* never, on_sub, on_sub_and_presence (never: no last
	                           item when a contact's session starts) */
	PEP_NFIELDS
};
extern const char *const pep_field_names[PEP_NFIELDS];

/* A configuration, or some fields of one: bit 1 << field of set says
 * which are given. */
struct pep_config {
	unsigned set;
	char v[PEP_NFIELDS][PEP_VALUE_MAX];
};

/* The caps an operator sets (xmpp.conf(5)). */
struct pep_limits {
	int max_nodes;          /* nodes per user */
	int max_items;          /* items per node; what "max" stands for */
};

enum pep_result {
	PEP_PUBLISHED,          /* pep_publish: stored (or, not persistent, not) */
	PEP_CREATED,            /* pep_publish (node new too), pep_configure create */
	PEP_CONFIGURED,
	PEP_RETRACTED,
	PEP_PURGED,
	PEP_DELETED,
	PEP_ITEMS,              /* pep_items: the requester may read them */
	PEP_CONFLICT,           /* a precondition is not met: *info says which */
	PEP_FULL,               /* a new node beyond max_nodes */
	PEP_EXISTS,             /* create: the node is there */
	PEP_NONODE,             /* no such node */
	PEP_NOITEM,             /* retract: no such item */
	PEP_DENIED,             /* pep_items: the access model refuses the requester */
	PEP_BLOCKED             /* pep_items: the owner blocks the requester (XEP-0191) */
};

/* What a script told of the node. */
struct pep_info {
	char access_model[PEP_VALUE_MAX];
	int notify_retract;            /* retract: notifications are due */
	char field[PEP_VALUE_MAX];     /* conflict: the field, and its value now */
	char value[PEP_VALUE_MAX];
};

/* Publish item (len bytes, stored form) under id to node of bare,
 * creating the node with opts (and the defaults) when it is new, else
 * requiring that opts match (XEP-0060 7.1.5): PEP_PUBLISHED (PEP_CREATED
 * when the node was made), PEP_CONFLICT or PEP_FULL. */
int pep_publish(struct store *s, const char *bare, const char *node, const char *id,
    const char *item, size_t len, const struct pep_config *opts,
    const struct pep_limits *lim, struct pep_info *info);
/* Create node with cfg (create 1: PEP_CREATED, PEP_EXISTS, PEP_FULL), or
 * change the fields cfg sets (create 0: PEP_CONFIGURED, PEP_NONODE). */
int pep_configure(struct store *s, const char *bare, const char *node, int create,
    const struct pep_config *cfg, const struct pep_limits *lim);
/* Retract item id: PEP_RETRACTED (info: model, notify_retract),
 * PEP_NONODE, PEP_NOITEM. */
int pep_retract(struct store *s, const char *bare, const char *node, const char *id,
    struct pep_info *info);
/* Remove every item (del 0: PEP_PURGED) or the node (del 1: PEP_DELETED),
 * or PEP_NONODE. info: the access model it had. */
int pep_purge(struct store *s, const char *bare, const char *node, int del,
    struct pep_info *info);
/* The node's whole configuration: PEP_CONFIGURED with
 * *cfg filled (every field set), or PEP_NONODE. */
int pep_config_get(struct store *s, const char *bare, const char *node, struct pep_config *cfg);
/* Items of node for requester (NULL or "": the owner) (pep_items.lua):
 * the n ids given, else the newest max (0: all), oldest first; fn(xml)
 * for each, borrowed for the call. PEP_ITEMS, PEP_DENIED or PEP_NONODE;
 * info: the access model. */
int pep_items(struct store *s, const char *bare, const char *node, const char *requester,
    int max, const char *const *ids, int n, struct pep_info *info,
    void (*fn)(const char *xml, size_t len, void *arg), void *arg);
/* The XEP-0060 6.5.9 error for a refused pep_items (PEP_NONODE,
 * PEP_DENIED, PEP_BLOCKED): its type, condition and pubsub application
 * condition (NULL: none). Pure (format.c). */
void pep_items_error(int rc, const struct pep_info *info, const char **etype,
    const char **cond, const char **app);
/* The node names of each of n users, in one round trip: out[i] gets
 * those of bares[i] (out: n empty lists). 0 or XE_REDIS. */
int pep_nodes_of(struct store *s, const char *const *bares, int n, struct strvec *out);
/* Every node of bare, for account removal: 0 or XE_REDIS. */
int pep_delete_all(struct store *s, const char *bare);

#endif
