/*
 * account.h - accounts in Redis: <prefix>{jid}:account, a hash holding only
 * SCRAM data (and a plaintext secret for accounts created for legacy
 * XEP-0078 digest login), plus the index set <prefix>users.
 *
 * Hash fields: "scram-sha-1" and "scram-sha-256", each a line
 * "<iterations>,<b64 salt>,<b64 StoredKey>,<b64 ServerKey>" (see scram.h),
 * "digest-secret" (only with legacy digest), "created" (unix time).
 *
 * Also <prefix>server-secret: 64 hex digits, drawn once, from which the
 * made-up credentials of users that do not exist are derived (scram.h).
 */
#ifndef XMPPD_ACCOUNT_H
#define XMPPD_ACCOUNT_H

#include "store.h"

#define ACCOUNT_MAX_FIELD 512
#define ACCOUNT_SECRET_LEN 32     /* bytes of the server secret */

struct account {
	char scram_sha1[ACCOUNT_MAX_FIELD];    /* "" when absent */
	char scram_sha256[ACCOUNT_MAX_FIELD];
	char digest_secret[ACCOUNT_MAX_FIELD]; /* "" unless legacy digest enabled */
};

/* 1 found, 0 no such account, -1 Redis error. */
int account_get(struct store *s, const char *bare, struct account *a);
/* Create or replace the credentials (and index the user). digest_secret
 * may be NULL (no legacy digest) . create_only: fail with 0 if it exists.
 * Returns 1 written, 0 exists (create_only), -1 error. */
int account_put(struct store *s, const char *bare, const char *scram_sha1,
    const char *scram_sha256, const char *digest_secret, int create_only);
/* Remove every key of the user (account, roster, sessions, presence,
 * offline ...) and the index entry. 1 removed, 0 no such user, -1 error. */
int account_delete(struct store *s, const char *bare);
/* The server secret into out: read, or created from fresh random bytes
 * on first use, in one round trip. 0, or -1 on a Redis error or when
 * the stored value is not 64 hex digits. */
int account_server_secret(struct store *s, unsigned char out[ACCOUNT_SECRET_LEN]);
/* Call fn for each indexed user (SSCAN, never KEYS). */
int account_each(struct store *s, int (*fn)(const char *bare, void *arg), void *arg);

#endif
