/*
 * sm.h - stream management (XEP-0198) state in Redis, so that a session
 * can be resumed on any host, after its handler died, or while its old
 * handler still sits on a dead socket.
 *
 * Per session (router/lua/lib/sm.lua has the exact layout):
 *   <prefix>{bare}:sm:<resource>   hash id, owner, resume, dsecs, hin, acked,
 *                                  bpos
 *   <prefix>{bare}:smq:<resource>  list: written, not yet acknowledged
 *   <prefix>{bare}:smids           hash: XEP-0198 id -> resource
 *   <prefix>{bare}:smgone:<id>     the handled count of an ended session
 * A detached session keeps its session record (session.h) with det set:
 * it stays available, and what comes for it waits in its inbox.
 *
 * The owner is the one handler that may change a session's state; every
 * script checks it, so a handler that lost its session (resumed
 * elsewhere) changes nothing and learns it from the answer.
 *
 * Contract: as store.h. Functions return a named result (>= 0) or a
 * negative xerr.h code: XE_REDIS, XE_REPLY, with store->err set.
 */
#ifndef XMPPD_SM_H
#define XMPPD_SM_H

#include <stddef.h>
#include "store.h"

#define SM_ID_MAX     64
#define SM_GONE_TTL   86400    /* seconds an ended session's count is kept */

enum sm_result {
	SM_OK = 0,              /* done */
	SM_TAKEN = 1,           /* another handler owns the session: nothing done */
	SM_NONE = 2             /* no such state */
};

/* Start stream management for the session bare/resource held by stream
 * id, under XEP-0198 id smid (sm_enable.lua); a detach of it lasts
 * detach_secs (0: the server's resume_timeout). SM_OK or SM_TAKEN. */
int sm_enable(struct store *s, const char *bare, const char *resource, const char *id,
    const char *smid, int resume, int detach_secs);

/* What a handler tells Redis before it writes (sm_sync.lua). */
struct sm_sync {
	const char *id;                /* the handler's stream id */
	unsigned long hin, acked;      /* counts, modulo 2^32 */
	unsigned long trim;            /* smq entries acknowledged since the last sync */
	long inbox_taken;              /* inbox entries taken since */
	long detach_until;             /* > 0: detach, resumable until then */
	int n;                         /* entries to append to smq */
	const char *const *entry;
	const size_t *len;
	int take;                      /* then move up to this many inbox entries to
	                                  smq, each handed to taken (they are to be
	                                  written); 0 with a rider */
	void (*taken)(const char *env, size_t len, void *arg);
	void *arg;
	const char *bcast_pos;         /* the broadcast log read up to this entry
	                                  (route.h), or NULL / "": unchanged */
};
/* SM_OK (x->taken called for each inbox entry taken), SM_TAKEN (another
 * handler owns the session: nothing changed), or SM_NONE (no state:
 * Redis lost its data). */
int sm_sync(struct store *s, const char *bare, const char *resource, const struct sm_sync *x);
/* The same as one command riding in another pipeline (store.h): made,
 * its rider handed to the pipeline, its result read (SM_OK, SM_TAKEN,
 * SM_NONE, or
 * XE_REDIS / XE_REPLY when it did not run, e.g. Redis had not loaded the
 * script: nothing changed, sm_sync will do it), freed. */
struct sm_sync_cmd;
struct sm_sync_cmd *sm_sync_cmd_new(struct store *s, const char *bare, const char *resource,
    const struct sm_sync *x);
struct store_rider *sm_sync_cmd_rider(struct sm_sync_cmd *c);
int sm_sync_cmd_result(struct sm_sync_cmd *c);
void sm_sync_cmd_free(struct sm_sync_cmd *c);

/* Where the session read the user's broadcast log up to (route.h), as
 * its last sync recorded it, into pos ("": never). 0 or XE_REDIS. */
int sm_bcast_pos(struct store *s, const char *bare, const char *resource, char *pos,
    size_t sz);
/* The answer to a resumption. */
enum sm_resume_result {
	SM_RESUMED = 0,         /* the session is the caller's now */
	SM_GONE = 1,            /* it ended: *hin is its handled count */
	SM_UNKNOWN = 2,         /* no such session of this user */
	SM_TOOHIGH = 3          /* h counts more than was sent: *hin is the count sent */
};
/*
 * Resume the session smid of bare for the handler of stream id on host
 * and pid, the client having handled h stanzas (sm_resume.lua). On
 * SM_RESUMED: resource, *hin (the client's stanzas handled), old_id (the
 * stream id of the handler that served it: kick it), and fn called with
 * each entry still unacknowledged, oldest first (borrowed for the call).
 */
int sm_resume(struct store *s, const char *bare, const char *smid, unsigned long h,
    const char *id, const char *host, long pid, unsigned long *hin,
    char *resource, size_t rsz, char *old_id, size_t osz,
    void (*fn)(const char *entry, size_t len, void *arg), void *arg);

/* End the state of bare/resource if id owns it (id "": whoever does):
 * unacknowledged messages and IQs go to the front of the inbox, to be
 * routed again by whoever empties it (sm_end.lua). SM_OK, SM_NONE, or
 * SM_TAKEN. */
int sm_end(struct store *s, const char *bare, const char *resource, const char *id);

/* The handler of session id of bare/resource is dead, last seen alive
 * at `seen`: if the session is resumable, detach it instead of ending
 * it, until seen + its own detach time (sm_enable's detach_secs), or
 * seen + secs without one, if that is after now (sm_adopt.lua). 1
 * adopted, 0 not (end it), or XE_REDIS / XE_REPLY. */
int sm_adopt(struct store *s, const char *bare, const char *resource, const char *id,
    long seen, int secs, long now);

#endif
