/*
 * session.h - bound sessions in Redis.
 *
 * <prefix>{jid}:sessions is a hash resource -> record, the record being
 * space-separated key=value pairs an operator can read in redis-cli:
 *   "id=<stream id> prio=<n> avail=<0|1> host=<host> pid=<pid> since=<unix> seen=<unix>"
 * <prefix>online is a set of bare JIDs with at least one session (index for
 * xmppctl sessions; entries are removed with the last session).
 *
 * A record whose seen is older than the session TTL belongs to a handler
 * that died without cleaning up; readers treat it as gone and remove it.
 */
#ifndef XMPPD_SESSION_H
#define XMPPD_SESSION_H

#include <time.h>
#include "store.h"

#define SESSION_MAX_RECORD 1024

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
 * held the resource, its stream id is copied to replaced_id (else "") so
 * the caller can tell it to end with <conflict/>. */
int session_register(struct store *s, const char *bare, const char *resource,
    const char *id, const char *host, long pid, char *replaced_id, size_t idsz);
/* Remove the record only if it is still ours (same id): a replaced session
 * must not remove its successor. */
int session_unregister(struct store *s, const char *bare, const char *resource,
    const char *id);
/* Refresh seen (and set prio/avail when avail >= 0). */
int session_update(struct store *s, const char *bare, const char *resource,
    const char *id, int prio, int avail);
/* Parse a record; 0 ok, -1 malformed. */
int session_parse(const char *resource, const char *record, struct session_info *out);
/* Call fn for each live session of bare. */
int session_each(struct store *s, const char *bare,
    int (*fn)(const struct session_info *si, void *arg), void *arg);

#endif
