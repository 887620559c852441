/*
 * session.h - bound sessions in Redis.
 *
 * <prefix>{jid}:sessions is a hash resource -> record. The record is one
 * line of space-separated name=value pairs an operator can read in
 * redis-cli, always in this order, values without spaces:
 *   "id=<stream id> prio=<n> avail=<0|1> host=<host> pid=<pid> since=<unix> seen=<unix>
 *    det=<unix>"
 * (the fields of struct session_info below). It is defined here and
 * nowhere else: router/format.c writes and parses it in C
 * (session_format, session_parse), router/lua/lib/record.lua reads and
 * rewrites it in the scripts; change the three together, and
 * xmpp-redis(7).
 * <prefix>{jid}:presence is a hash resource -> the last presence that
 * resource broadcast (only while available).
 * <prefix>online is a set of bare JIDs with at least one session.
 * <prefix>expiry is a sorted set "<stream id> <bare>/<resource>" scored by
 * the time the session expires unless its handler refreshes it; living
 * handlers reap what expires (session_reap), so a handler killed with
 * SIGKILL or a lost host is noticed within the session TTL plus one
 * heartbeat (on a cluster, plus the reaper's interval).
 * On a cluster both are sharded per hash slot (store_shard_key):
 * <prefix>online:{TAG} and <prefix>expiry:{TAG} hold the entries of the
 * users whose keys are in that slot, so each script touches one slot.
 *
 * Contract: as store.h. Functions return 0, a count or a named result
 * (>= 0), or a negative xerr.h code: XE_REDIS (Redis failed) or XE_REPLY
 * (a script answered what it never does), with store->err set.
 */
#ifndef XMPPD_SESSION_H
#define XMPPD_SESSION_H

#include <time.h>
#include "store.h"

#define SESSION_MAX_RECORD 1024
#define SESSION_REAP_BATCH 16

/* Whose record holds a resource, as session_update and
 * session_unregister find it (their scripts answer 'ours', 'taken',
 * 'norecord'). A caller switches on these names, never on digits. */
enum session_result {
	SESSION_OURS = 0,      /* the record carries the caller's stream id */
	SESSION_TAKEN = 1,     /* another session holds the resource */
	SESSION_NORECORD = 2   /* no record at all (reaped, or Redis lost it) */
};

/* One record, parsed. */
struct session_info {
	char resource[1024];
	char id[64];           /* stream id */
	int prio;              /* priority of its last available presence */
	int avail;             /* 1 while it has sent available presence */
	char host[256];        /* hostname of the machine running its handler */
	long pid;              /* its handler's process id there */
	long since;            /* bound at (Unix time) */
	long seen;             /* last heartbeat (Unix time) */
	long det;              /* detached (XEP-0198): resumable until then (Unix
	                          time), its handler gone; 0 attached */
};

/*
 * Register (or replace) the session of bare/resource: its record, the
 * online index, its expiry entry (session_register.lua).
 *
 * Accepts: id and host not empty and without spaces (they go into the
 *   record); replaced_id of idsz bytes.
 * Returns: 0, with in replaced_id the stream id of the session whose
 *   record it replaced ("" if none: the caller kicks that one); or
 *   XE_REDIS / XE_REPLY; or XE_INVALID (id or host breaks the record:
 *   nothing written).
 */
int session_register(struct store *s, const char *bare, const char *resource,
    const char *id, const char *host, long pid, char *replaced_id, size_t idsz);

/*
 * Remove the session of bare/resource if it is still ours (its record
 * carries stream id): record, presence, expiry entry, and the online
 * entry with the user's last session (session_unregister.lua). The
 * expiry entry (id, bare, resource) goes whatever the answer.
 *
 * Accepts: presence NULL, or where to put the presence it had broadcast.
 * Returns: SESSION_OURS, with *presence that presence (malloc'd: the
 *   caller frees it; NULL if it was not available); SESSION_TAKEN
 *   (another session holds the resource: nothing removed);
 *   SESSION_NORECORD (nothing to remove: someone else did); or
 *   XE_REDIS / XE_REPLY. *presence is NULL but for SESSION_OURS.
 */
int session_unregister(struct store *s, const char *bare, const char *resource,
    const char *id, char **presence);

/*
 * The heartbeat, and presence changes (session_update.lua): if the record
 * of bare/resource is ours, refresh seen and its expiry; with avail >= 0
 * also set prio and avail, and the presence hash (presence_xml when avail
 * is 1, removed when 0).
 *
 * Accepts: avail -1 (heartbeat only: prio and presence_xml are ignored),
 *   0 or 1; presence_xml may be NULL when avail is not 1.
 * Returns: SESSION_OURS (refreshed), SESSION_TAKEN (another session holds
 *   the resource: nothing changed; the caller ends its stream),
 *   SESSION_NORECORD (reaped while the handler stalled, or Redis lost its
 *   data: nothing changed), or XE_REDIS / XE_REPLY.
 */
int session_update(struct store *s, const char *bare, const char *resource,
    const char *id, int prio, int avail, const char *presence_xml);

/*
 * Claim up to SESSION_REAP_BATCH expired sessions of an expiry index
 * (session_reap.lua: exactly one caller claims each, the script removing
 * each entry it claims) and end each with session_unregister,
 * unless its handler is alive: a session is late, not dead, when its
 * record names this host (host) and pid_alive says its process is there,
 * or when it names another host whose liveness key is fresh (a handler
 * there reaped lately: that host checks its own). A late session goes
 * back into the expiry index for one more TTL. After SESSION_STALE_MAX
 * TTLs without a heartbeat a session ends whatever its process seems to
 * be (a recycled pid, a host wedged for good).
 * A resumable session (XEP-0198, sm.h) whose handler died is detached
 * instead (sm_adopt), until its last heartbeat plus s->resume_timeout;
 * it is ended when that time comes.
 * The call also marks this host alive (<prefix>host:<host>, one TTL), a
 * command of its own in the claim's round trip.
 * On one Redis every call claims from the one index. On a cluster the
 * index has one shard per slot, too many to read at every heartbeat of
 * every handler: a call claims only when it wins <prefix>reaper (SET NX,
 * expiring after the TTL / SESSION_REAP_PASSES), and then claims from
 * every shard (STORE_SHARD_BATCH a round trip): one pass that often, for
 * the whole cluster.
 * fn, when not NULL, is called for each one ended (its stream id too),
 * with the presence it had broadcast (NULL if none; borrowed for the
 * call), so the caller tells its contacts it is unavailable and routes
 * again what waits in its inbox.
 *
 * Returns: how many were ended (0: none due, or not this call's turn),
 *   or XE_REDIS / XE_REPLY when a claim failed and none was ended
 *   (what the other claims took is ended all the same).
 */
#define SESSION_STALE_MAX 10
#define SESSION_REAP_PASSES 2     /* a cluster's passes per session TTL */
int session_reap(struct store *s, const char *host, int (*pid_alive)(long pid),
    void (*fn)(const char *bare, const char *resource, const char *id, const char *presence,
    void *arg), void *arg);

/*
 * Mark the session id of bare/resource expired now, so that the next
 * reaper (any living handler's heartbeat) ends it as it ends a dead
 * session: unavailable presence, what waits in its inbox routed again.
 * For a session no handler serves (detached, or its handler gone).
 *
 * Returns: 0, or XE_REDIS.
 */
int session_expire(struct store *s, const char *bare, const char *resource, const char *id);

/*
 * Read the record of bare/resource into *si and, when presence is not
 * NULL, the presence it last broadcast into *presence (malloc'd: the
 * caller frees it; NULL if none).
 *
 * Returns: SESSION_OURS (found; the caller compares si->id), or
 *   SESSION_NORECORD (none, or one that does not parse), or XE_REDIS.
 */
int session_get(struct store *s, const char *bare, const char *resource,
    struct session_info *si, char **presence);

/*
 * Write the record of si (all but its resource) into out. Pure
 * (router/format.c), like session_parse, its inverse.
 *
 * Accepts: si->id and si->host not empty and without spaces.
 * Returns: the record's length, or XE_INVALID when id or host breaks
 *   that or the record does not fit in outsz bytes (out is then "").
 */
int session_format(const struct session_info *si, char *out, size_t outsz);

/*
 * Parse a record of resource into *out (zeroed first). Pure
 * (router/format.c).
 *
 * Returns: 0, or XE_INVALID when a field is missing or too long for out.
 */
int session_parse(const char *resource, const char *record, struct session_info *out);

/*
 * Call fn for each live session of bare (records seen within
 * s->session_ttl; any, if it is 0), in no set order. fn returns 0 to go
 * on, -1 to stop.
 *
 * Returns: 0, or XE_REDIS; XE_REDIS too when fn stopped the walk
 *   (s->err is then as fn left it). A record that does not parse is
 *   skipped.
 */
int session_each(struct store *s, const char *bare,
    int (*fn)(const struct session_info *si, void *arg), void *arg);

#endif
