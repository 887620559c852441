/*
 * account.h - accounts in Redis: <prefix>{jid}:account, a hash holding only
 * SCRAM data (and a plaintext secret for accounts created for legacy
 * XEP-0078 digest login), plus the index set of users: <prefix>users on
 * one Redis, one shard per hash slot on a cluster (store_shard_key), each
 * user in the shard of its own keys' slot.
 *
 * Hash fields: "scram-sha-1" and "scram-sha-256", each a line
 * "<iterations>,<b64 salt>,<b64 StoredKey>,<b64 ServerKey>" (see scram.h),
 * "digest-secret" (only with legacy digest), "created" (unix time).
 *
 * Also <prefix>server-secret: 64 hex digits, drawn once, from which the
 * made-up credentials of users that do not exist are derived (scram.h),
 * and <prefix>registration:<address>, a counter of the accounts created
 * in-band from one source address, expiring with its window.
 */
#ifndef XMPPD_ACCOUNT_H
#define XMPPD_ACCOUNT_H

#include "store.h"

#define ACCOUNT_MAX_FIELD 512
#define ACCOUNT_SECRET_LEN 32     /* bytes of the server secret */
/* The longest password: a digest secret must fit a field, and one limit
 * for every account is simpler (SCRAM itself has none). */
#define ACCOUNT_PASSWORD_MAX (ACCOUNT_MAX_FIELD - 1)

struct account {
	char scram_sha1[ACCOUNT_MAX_FIELD];    /* "" when absent */
	char scram_sha256[ACCOUNT_MAX_FIELD];
	char digest_secret[ACCOUNT_MAX_FIELD]; /* "" unless legacy digest enabled */
};

/* What the account functions found or did; errors are negative (xerr.h:
 * XE_REDIS, XE_REPLY ... with store->err set). A caller compares with
 * these names, never with digits. */
enum account_result {
	ACCOUNT_NONE = 0,      /* no such account */
	ACCOUNT_FOUND = 1,     /* account_get: read */
	ACCOUNT_WRITTEN = 2,   /* account_put: created or replaced */
	ACCOUNT_EXISTS = 3,    /* account_put, create_only: there already, unchanged */
	ACCOUNT_REMOVED = 4,   /* account_delete: removed */
	ACCOUNT_LIMITED = 5,   /* account_create: the address's limit is reached */
	ACCOUNT_NO_INVITE = 6, /* ... no such invitation (used, expired, revoked,
	                          or for another domain) */
	ACCOUNT_OTHER_USER = 7 /* ... the invitation names another user */
};

/*
 * Read the credentials of bare into *a (zeroed first). An account exists
 * when it has a SCRAM credential.
 *
 * Returns: ACCOUNT_FOUND, ACCOUNT_NONE (*a all ""), or XE_REDIS /
 *   XE_REPLY. The caller wipes *a when done (it holds secrets).
 */
int account_get(struct store *s, const char *bare, struct account *a);

/*
 * Create or replace the credentials of bare, and index the user (its
 * users shard).
 *
 * Accepts: the SCRAM lines in stored form (scram.h); digest_secret NULL
 *   for no legacy digest (any old one is removed); create_only: leave an
 *   existing account alone. Every FAST token of the user ends (fast.h).
 * Returns: ACCOUNT_WRITTEN, ACCOUNT_EXISTS (create_only and it exists:
 *   nothing changed), or XE_REDIS. Not atomic: a failure may leave the
 *   account half written (its "created" field set, say).
 */
int account_put(struct store *s, const char *bare, const char *scram_sha1,
    const char *scram_sha256, const char *digest_secret, int create_only);

/* Who asks for a new account (account_create): a client registering
 * in-band, counted against its address and perhaps holding an
 * invitation. The operator passes none. */
struct account_claim {
	const char *addr;      /* source address counted; NULL: not counted */
	int limit;             /* accounts addr may create per window (> 0) */
	int window;            /* seconds */
	const char *token;     /* invitation consumed with the creation (invite.h);
	                          NULL: none needed */
};

/*
 * Create the account bare with fresh SCRAM-SHA-1 and SCRAM-SHA-256
 * credentials for password (and, with legacy, the password itself as
 * its digest secret), and index it: what `xmppctl adduser` and in-band
 * registration both do. With a claim, a place in the address's count
 * (registration_count.lua) and the invitation (invite_take) are taken
 * first, each atomically on its own key, then the account is created
 * by one script on the user's keys (account_create.lua), and what was
 * taken is given back if the name is taken: two creations never share
 * one invitation or the limit's last place, or create one name twice.
 * (A cluster keeps the address's counter, the invitation and the
 * account in three hash slots, which no one script may touch.) A
 * failure between the steps may use up the place or the invitation
 * without an account, never give them twice.
 *
 * Accepts: password already checked (scram_password_acceptable); claim
 *   NULL for the operator, who is neither counted nor held to the
 *   reservation of a JID by an invitation.
 * Returns, checked in this order: with a claim ACCOUNT_LIMITED,
 *   ACCOUNT_NO_INVITE, ACCOUNT_OTHER_USER; ACCOUNT_EXISTS (there
 *   already, or reserved for an invitation's holder): for these nothing
 *   changed (an invitation given back lives on with the time it had
 *   left); ACCOUNT_WRITTEN; or XE_ENTROPY (no salt could be drawn),
 *   XE_REDIS, XE_REPLY.
 */
int account_create(struct store *s, const char *bare, const char *password, int legacy,
    const struct account_claim *claim);

/* The accounts created in-band from addr in the current window, into *n
 * (0 if none): 0, or XE_REDIS. A cheap look before the SCRAM work that
 * account_create would refuse anyway. */
int account_created_from(struct store *s, const char *addr, long *n);

/*
 * Remove every key of the user (account, roster, sessions, presence,
 * offline ...), its entry in the users index and in the online index
 * (their shards beside its keys). One command at a time.
 *
 * Returns: ACCOUNT_REMOVED, ACCOUNT_NONE (no account and no index entry),
 *   or XE_REDIS.
 */
int account_delete(struct store *s, const char *bare);

/*
 * The server secret into out: read, or created from fresh random bytes
 * on first use, in one round trip (server_secret.lua).
 *
 * Returns: 0; XE_ENTROPY (no random bytes to offer), XE_REDIS, or
 *   XE_REPLY (the stored value is not 64 hex digits), with store->err set
 *   and out zeroed.
 */
int account_server_secret(struct store *s, unsigned char out[ACCOUNT_SECRET_LEN]);

/*
 * Call fn for each indexed user: the members of every shard of the
 * index (store_shard_members, read whole first), in no order; a user
 * added or removed meanwhile may be missed. fn returns 0 to go on, -1
 * to stop.
 *
 * Returns: 0, or XE_REDIS / XE_REPLY; XE_REDIS too when fn stopped the
 *   walk (store->err is then as fn left it).
 */
int account_each(struct store *s, int (*fn)(const char *bare, void *arg), void *arg);

#endif
