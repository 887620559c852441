/*
 * mam.h - each user's XEP-0313 message archive in Redis, and its XEP-0441
 * preferences (the key layout: router/lua/lib/mam.lua, xmpp-redis(7)).
 *
 * Messages enter the archive inside the routing decision
 * (route_stanza.lua, route.h's archive_with): here they are read, the
 * preferences kept, an archive exported or deleted. An archive id is
 * "<stream entry ID>-<random hex>": the entry is found in O(log n), and
 * nobody guesses an id (XEP-0313 3.1). Retention (store.h's archive
 * policy) trims the oldest entries whenever an archive is written or
 * read.
 *
 * Contract: as store.h. Functions return a named result (>= 0) or
 * XE_REDIS / XE_REPLY with store->err set. What they fill is freed with
 * the matching _free function, also after an error.
 */
#ifndef XMPPD_MAM_H
#define XMPPD_MAM_H

#include <stddef.h>
#include "store.h"
#include "strvec.h"
#include "xml.h"

#define MAM_PAGE_MAX   250     /* results one query returns at most */
#define MAM_IDS_MAX    250     /* archive ids one query may name */
#define MAM_PREFS_MAX  1000    /* JIDs in the always and never lists */
#define MAM_ID_MAX     80      /* bytes of an archive id, with its NUL */
#define NS_SID         "urn:xmpp:sid:0"  /* XEP-0359: the archive id is the stanza-id */

enum mam_result {
	MAM_OK = 0,
	MAM_NOT_FOUND = 1,      /* an archive id given is not in the archive */
	MAM_FORBIDDEN = 2,      /* a room's: the asker may not read it */
	MAM_NO_ARCHIVE = 3      /* a room's: no such room */
};

/* A query: every field optional (NULL, -1). */
struct mam_query {
	const char *with;          /* bare or full JID (already prepped) */
	long long start_ms, end_ms;   /* inclusive bounds, Unix ms */
	const char *after_id, *before_id;   /* exclusive bounds (mam:2#extended) */
	/* XEP-0059: rsm_after pages forward from an id; rsm_before pages
	 * backward from an id, or from the end when "". */
	const char *rsm_after, *rsm_before;
	int max;                   /* page size, 0..MAM_PAGE_MAX */
	const char *const *ids;    /* or these ids alone (nids > 0) */
	int nids;
};

struct mam_item {
	char id[MAM_ID_MAX];
	long long ms;              /* when the server archived it */
	char *xml;                 /* the message, as routed (no xmlns) */
	size_t len;
};

/* A page, oldest first; complete: nothing more lies beyond it in the
 * direction of paging; count: all that match, or -1 unknown. */
struct mam_page {
	struct mam_item *items;
	int n;
	int complete;
	long count;
};

/* Run q on bare's archive: MAM_OK with *p filled, or MAM_NOT_FOUND. */
int mam_query(struct store *s, const char *bare, const struct mam_query *q, struct mam_page *p);
/* The first and last entries (their xml NULL): MAM_OK with p->n 0 (empty
 * archive) or 2. */
int mam_metadata(struct store *s, const char *bare, struct mam_page *p);
void mam_page_free(struct mam_page *p);          /* pure (format.c) */

/* Hand fn every entry of bare's archive, oldest first, MAM_PAGE_MAX at a
 * time (xmppctl's export): MAM_OK, or what fn returned if not 0. */
int mam_each(struct store *s, const char *bare,
    int (*fn)(const struct mam_item *it, void *arg), void *arg);
/* Delete bare's archive and its indexes (not the preferences): MAM_OK. */
int mam_delete(struct store *s, const char *bare);

/* XEP-0441 preferences: the default ("" for the server's) and the lists. */
struct mam_prefs {
	char dflt[8];
	struct strvec always, never;
};
int mam_prefs_get(struct store *s, const char *bare, struct mam_prefs *p);
/* Replace them all (mam_prefs_set.lua, atomic). */
int mam_prefs_put(struct store *s, const char *bare, const struct mam_prefs *p);
void mam_prefs_free(struct mam_prefs *p);        /* pure (format.c) */

/* The retention policy as a script that trims an archive takes it
 * (lib/mam.lua's mam_trim): now, archive_max_count, archive_max_age,
 * appended to v from buffers in p, which must outlive v's use. */
struct mam_policy {
	char now[24], count[24], age[24];
};
void mam_policy_args(const struct store *s, struct mam_policy *p, struct store_argv *v);

/* The arguments of query q from the mode on, as mam_query.lua and a
 * room's query script take them (lib/mam.lua's mam_answer), appended to
 * v; filter is the page's filter ("" none), strings in b outlive v's
 * use. */
struct mam_args {
	struct mam_policy policy;
	char start[24], end[24], max[16];
};
void mam_query_args(const struct store *s, const struct mam_query *q, const char *filter,
    struct mam_args *b, struct store_argv *v);
/* *p from a query script's reply { 'ok', complete, count, id, m, ... }:
 * MAM_OK, or XE_REPLY with s->err set (p emptied). */
int mam_page_parse(struct store *s, const redisReply *r, struct mam_page *p);

struct xbuf;
/* Append it as XEP-0297 forwards it in a result (XEP-0313 4.2):
 * <forwarded> with the XEP-0203 <delay/> of when it was archived and the
 * message, in the jabber:client namespace. Pure (format.c). */
void mam_forwarded(struct xbuf *b, const struct mam_item *it);

/* Unix ms from an archive id, -1 if it is none. Pure (format.c). */
long long mam_id_ms(const char *id);

/* Message st (jabber:client) belongs in the archives (XEP-0313 5.1.1):
 * type chat or normal, with a <body/> or an XEP-0334 <store/> hint, and
 * no <no-store/> nor <no-permanent-store/> hint. Pure (format.c). */
int mam_archivable(const struct xml_node *st);

#endif
