/*
 * boshsession.h - the Redis side of BOSH sessions (XEP-0124/XEP-0206) for
 * xmpp-web: one hash per session, xmpp:bosh:SID (xmpp-redis(7) BOSH
 * sessions), holding what a request needs to bring the stream back to
 * where the session is; the stanzas themselves live where any session's
 * do (its inbox, and its stream management list once bound).
 *
 * Contract: as store.h. Functions return a named result (>= 0) or a
 * negative xerr.h code (XE_REDIS, XE_REPLY) with store->err set.
 */
#ifndef XMPPD_BOSH_STORE_H
#define XMPPD_BOSH_STORE_H

#include "jid.h"
#include "sm.h"
#include "store.h"

#define BOSH_SID_MAX    64
#define BOSH_STATE_MAX  16
#define BOSH_ID_MAX     64
#define BOSH_SASL_MAX   4096    /* a SASL exchange in progress (handler/sasl.h) */

/* The session's states (the hash's 'state'). */
#define BOSH_ST_AUTH    "auth"      /* no account yet */
#define BOSH_ST_BIND    "bind"      /* authenticated, no resource */
#define BOSH_ST_SESSION "session"   /* bound: a detached XEP-0198 session */

struct bosh_session {
	char state[BOSH_STATE_MAX];
	char to[JID_MAX_PART];           /* the served domain */
	char authid[BOSH_ID_MAX];        /* the stream id the client was told */
	char jid[JID_MAX];               /* the account (bare), from "bind" on */
	char res[JID_MAX_PART];          /* from "session" on */
	char smid[SM_ID_MAX];            /* ... and its XEP-0198 id */
	unsigned long acked;             /* stanzas the client proved it read */
	unsigned long sent;              /* the count at the end of the last answer kept */
	int wait, inactivity, requests, hold;
	char ver[16];
	char sasl[BOSH_SASL_MAX];        /* the login in progress, in state "auth" */
	int auth_failures;               /* failed login attempts of its stream */
	long long empty_poll_ms;         /* the last request, empty, got an empty answer:
	                                    when it came (Unix ms; 0: not so) */
	unsigned long long claim;        /* the session's claims, this one's included
	                                    (bosh_claim), for bosh_record's check */
};

/* Make the session sid (its first request, rid), alive for ttl seconds.
 * 0, or an xerr.h code. */
int bosh_create(struct store *s, const char *sid, const struct bosh_session *b,
    unsigned long long rid, int ttl);

enum bosh_claim_result {
	BOSH_CLAIMED = 0,       /* rid is the next request: b filled */
	BOSH_REPLAY = 1,        /* a repeated request: *answer (malloc'd) is its answer */
	BOSH_HELD = 2,          /* a repeated request whose answer is not kept yet:
	                           b filled, it takes the held one's place */
	BOSH_EARLY = 3,         /* it overtook its predecessor: try again shortly */
	BOSH_BAD = 4,           /* outside the window: b filled, the session is to end */
	BOSH_NONE = 5           /* no such session */
};
/* Claim request rid of sid (bosh_claim.lua), the hash then alive for ttl
 * seconds. The next rid is BOSH_EARLY until its predecessor was fed
 * (bosh_fed), unless force (a predecessor that never says so died). */
int bosh_claim(struct store *s, const char *sid, unsigned long long rid, int ttl, int force,
    struct bosh_session *b, char **answer, size_t *answer_len);
/* Request rid fed its stanzas to the stream: its successor may go on
 * (bosh_fed.lua). 0, or an xerr.h code. */
int bosh_fed(struct store *s, const char *sid, unsigned long long rid);

/* Change the session's state: state, and jid, res, smid when not NULL.
 * 0, or an xerr.h code. */
int bosh_set_state(struct store *s, const char *sid, const char *state, const char *jid,
    const char *res, const char *smid);

enum bosh_record_result { BOSH_RECORDED = 0, BOSH_TAKEN = 1, BOSH_GONE = 2 };
/*
 * Keep the answer to rid, and count (when has_count) as the session's
 * count at its end, if stream id owner still owns the stream management
 * state of bare/res (owner "": none yet, no check): BOSH_RECORDED, or
 * BOSH_TAKEN (a newer request took the session over: nothing kept), or
 * BOSH_GONE (no such session); or an xerr.h code. empty_poll_ms > 0: the
 * request was empty, and so is its answer, and it came then (Unix ms),
 * for the next request's polling check.
 * The state and the session's hash lie in different hash slots of a
 * cluster: two steps, the owner read (HGET), then the answer kept
 * (bosh_record.lua) only if no request claimed the session after this
 * one's claim (claim: its b.claim). A takeover by a BOSH request begins
 * with a claim, so none slips between the two; one by a plain XEP-0198
 * <resume/> between them is as if it came right after.
 */
int bosh_record(struct store *s, const char *sid, unsigned long long rid, const char *answer,
    size_t len, int has_count, unsigned long count, const char *owner, const char *bare,
    const char *res, unsigned long long claim, long long empty_poll_ms);

/* Keep the SASL exchange in progress (sasl_pending's string; "": none).
 * 0, or an xerr.h code. */
int bosh_set_sasl(struct store *s, const char *sid, const char *saved);

/* Keep the count of failed login attempts of the session's stream. 0,
 * or an xerr.h code. */
int bosh_set_failures(struct store *s, const char *sid, int n);

/* The session is over: remove its hash. 0, or an xerr.h code. */
int bosh_delete(struct store *s, const char *sid);

#endif
