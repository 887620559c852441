/*
 * session.h - bound sessions in Redis.
 *
 * <prefix>{jid}:sessions is a hash resource -> record, the record being
 * space-separated key=value pairs an operator can read in redis-cli:
 *   "id=<stream id> prio=<n> avail=<0|1> host=<host> pid=<pid> since=<unix> seen=<unix>"
 * <prefix>{jid}:presence is a hash resource -> the last presence that
 * resource broadcast (only while available).
 * <prefix>online is a set of bare JIDs with at least one session.
 * <prefix>expiry is a sorted set "<stream id> <bare>/<resource>" scored by
 * the time the session expires unless its handler refreshes it; living
 * handlers reap what expires (session_reap), so a handler killed with
 * SIGKILL or a lost host is noticed within the session TTL plus one
 * heartbeat.
 */
#ifndef XMPPD_SESSION_H
#define XMPPD_SESSION_H

#include <time.h>
#include "store.h"

#define SESSION_MAX_RECORD 1024
#define SESSION_REAP_BATCH 16

struct session_info {
	char resource[1024];
	char id[64];
	int prio;
	int avail;
	char host[256];
	long pid;
	long since;
	long seen;
};

/* Register (or replace) the session for bare/resource. If another session
 * held the resource, its stream id is copied to replaced_id (else ""). */
int session_register(struct store *s, const char *bare, const char *resource,
    const char *id, const char *host, long pid, char *replaced_id, size_t idsz);
/* Remove the session if it is still ours (same id). Returns 1 and the
 * presence it had broadcast in *presence (malloc'd, NULL if it was not
 * available), 0 if another session holds the resource, 2 if there is no
 * record at all (removed by someone else), -1 on error. */
int session_unregister(struct store *s, const char *bare, const char *resource,
    const char *id, char **presence);
/* Refresh seen; with avail >= 0 also set prio/avail and the presence
 * (presence_xml when avail is 1). 0 ok, 1 another session holds the
 * resource, 2 no record (reaped, or Redis lost its data), -1 error. */
int session_update(struct store *s, const char *bare, const char *resource,
    const char *id, int prio, int avail, const char *presence_xml);
/* Claim expired sessions and end each (as session_unregister); fn is
 * called for each, with the presence it had broadcast (NULL if none), so
 * the caller tells its contacts it is unavailable and routes again what
 * waits in its inbox. Returns the number reaped or -1. */
int session_reap(struct store *s,
    void (*fn)(const char *bare, const char *resource, const char *presence, void *arg),
    void *arg);
int session_parse(const char *resource, const char *record, struct session_info *out);
/* Call fn for each live session of bare. */
int session_each(struct store *s, const char *bare,
    int (*fn)(const struct session_info *si, void *arg), void *arg);

#endif
