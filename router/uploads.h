/*
 * uploads.h - the upload service (XEP-0363) in Redis: each user's uploads
 * and quota, the owner of each slot, and the signing key.
 *
 *   <prefix>{bare}:uploads   hash: slot id -> "<size> <until>", every slot
 *                            of the user that holds or may still hold a
 *                            file, and until when (Unix time)
 *   <prefix>upload:<id>      string: the owner's bare JID while the slot's
 *                            PUT URL is valid (EXPIRE: upload_slot_ttl)
 *
 * (xmpp-redis(7)). The files themselves are on disk (uploadstore.h);
 * Redis says whose they are and what they count for.
 *
 * Contract: as store.h. Functions return a named result (>= 0), or
 * XE_REDIS / XE_REPLY with store->err set (XE_ENTROPY too for the key).
 */
#ifndef XMPPD_UPLOADS_H
#define XMPPD_UPLOADS_H

#include <stddef.h>
#include <time.h>
#include "store.h"
#include "uploadsig.h"

enum upload_result {
	UPLOAD_RESERVED = 0,    /* upload_reserve: the slot is the user's */
	UPLOAD_OVER_QUOTA = 1,  /* upload_reserve: size would exceed the quota */
	UPLOAD_KEPT = 2,        /* upload_commit: the file counts until it expires */
	UPLOAD_GONE = 3,        /* upload_commit: the owner's account is gone;
	                           upload_owner: no such slot (or expired) */
	UPLOAD_FOUND = 4        /* upload_owner: *owner is set */
};

/* The signing key of slot URLs (uploadsig_key of the server secret,
 * account_server_secret). 0 or an error. */
int upload_key(struct store *s, unsigned char key[UPLOADSIG_KEY_LEN]);

/* Reserve size bytes for slot id of bare until now + ttl, if bare's
 * slots and files (those not past their time) and size together stay
 * within quota bytes (0: no quota), and record bare as the slot's owner
 * for ttl seconds (upload_reserve.lua, then SET). *used: the bytes in use
 * (with the slot when reserved). UPLOAD_RESERVED or UPLOAD_OVER_QUOTA. */
int upload_reserve(struct store *s, const char *bare, const char *id, long size,
    long quota, time_t now, int ttl, long *used);

/* The owner of slot id while its PUT URL is valid: UPLOAD_FOUND with the
 * bare JID in owner (ownersz bytes), or UPLOAD_GONE. */
int upload_owner(struct store *s, const char *id, char *owner, size_t ownersz);

/* Slot id's file of size bytes is stored and expires at until: it counts
 * for bare until then (its entry set again if it lapsed during the
 * PUT), and the slot takes no second PUT (upload_commit.lua, then DEL
 * of the owner key). UPLOAD_KEPT, or UPLOAD_GONE when bare's account no
 * longer exists. */
int upload_commit(struct store *s, const char *bare, const char *id, long size,
    time_t until, time_t now);

/* For each slot of bare (in use or not), fn(id, size, until, arg); fn
 * returns 0 to go on, < 0 to stop (returned). 0 at the end. */
int upload_each(struct store *s, const char *bare,
    int (*fn)(const char *id, long size, long until, void *arg), void *arg);

/* bare's usage at now: slots and files not past their time, and their
 * bytes. 0 or an error. */
int upload_usage(struct store *s, const char *bare, time_t now, long *count, long *bytes);

/* Forget slot id of bare (HDEL), or all of bare's (id NULL: DEL). 0 or
 * XE_REDIS. */
int upload_forget(struct store *s, const char *bare, const char *id);

#endif
