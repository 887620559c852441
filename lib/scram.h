/*
 * scram.h - SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677), server side,
 * with or without channel binding (the -PLUS variants, RFC 5802 section 6,
 * RFC 5929 tls-server-end-point, RFC 9266 tls-exporter), plus the
 * credential arithmetic xmppctl needs to create accounts.
 *
 * All hashing, HMAC, PBKDF2, base64 and constant-time comparison come from
 * GNU Nettle, randomness from getrandom(2), SASLprep from libidn. OpenSSL
 * is not used here, so a plaintext connection never initialises it (its
 * first use costs every handler process about 190 KiB of heap). Nothing
 * here touches Redis or the network: the caller fetches the stored
 * credential for the user named in client-first and hands it in.
 *
 * Contract:
 *  - every function returns 0 on success, -1 on failure; no function aborts
 *    on bad input, and every output buffer is NUL-terminated and bounded.
 *  - a struct scram_server is a plain value: zero it (or call
 *    scram_server_init) before use; it owns no heap memory.
 */
#ifndef XMPPD_SCRAM_H
#define XMPPD_SCRAM_H

#include <stddef.h>

#define SCRAM_MAX_KEY      32      /* SHA-256 output */
#define SCRAM_SALT_LEN     16      /* bytes of salt for new accounts */
#define SCRAM_ITERATIONS   4096    /* default for new accounts */
#define SCRAM_MAX_MSG      1024    /* longest SCRAM message we accept or make */
#define SCRAM_NONCE_LEN    24      /* random bytes in the server nonce part */
#define SCRAM_MAX_USER     1024
#define SCRAM_MAX_ITERATIONS 1000000 /* highest iteration count we accept */
#define SCRAM_FIXED_NONCE_MAX 128    /* buffer for scram_server_set_nonce */
#define SCRAM_CB_MAX       64      /* channel-binding data, bytes (TLS_CB_MAX) */

enum scram_hash { SCRAM_SHA1 = 0, SCRAM_SHA256 = 1 };

/* Channel-binding types a server can offer ("p=<name>" in the gs2 header). */
enum scram_cb_type {
	SCRAM_CB_TLS_EXPORTER = 0,          /* "tls-exporter", RFC 9266 */
	SCRAM_CB_TLS_SERVER_END_POINT = 1,  /* "tls-server-end-point", RFC 5929 */
	SCRAM_CB_NTYPES
};

/* A stored credential: what an account hash in Redis holds per hash. */
struct scram_cred {
	enum scram_hash hash;
	unsigned char salt[64];
	size_t salt_len;
	unsigned iterations;
	unsigned char stored_key[SCRAM_MAX_KEY];
	unsigned char server_key[SCRAM_MAX_KEY];
};

/* Failure conditions, mapped by the caller onto RFC 6120 <failure/>s. */
enum scram_err {
	SCRAM_OK = 0,
	SCRAM_MALFORMED,          /* -> malformed-request */
	SCRAM_NOT_AUTHORIZED,     /* -> not-authorized (bad proof) */
	SCRAM_BAD_CHANNEL_BINDING,/* -> not-authorized: c= does not match our
	                           * channel binding, or a downgrade ('y' while
	                           * we advertised a -PLUS mechanism) */
	SCRAM_UNSUPPORTED_CB,     /* 'p=' naming a type we do not offer (or any
	                           * 'p=' when no channel binding is set up) */
	SCRAM_INTERNAL            /* -> temporary-auth-failure */
};

struct scram_server {
	enum scram_hash hash;
	int step;                            /* 0 start, 1 sent server-first, 2 done */
	char gs2_header[64];                 /* e.g. "n,," or "y,," */
	char client_first_bare[SCRAM_MAX_MSG];
	char server_first[SCRAM_MAX_MSG];
	char nonce[SCRAM_MAX_MSG];           /* full nonce: client part + server part */
	char username[SCRAM_MAX_USER];       /* decoded (=2C, =3D) and SASLprep'd */
	struct scram_cred cred;
	int have_client_first;               /* client-first parsed, step still 0 */
	int failed;                          /* a step failed: every later call fails */
	int fixed_nonce_state;               /* 0 random, 1 use fixed_nonce, -1 bad hook value */
	char fixed_nonce[SCRAM_FIXED_NONCE_MAX];
	/* channel binding: set by scram_server_set_channel_binding and
	 * scram_server_set_cb_data before client-first */
	int cb_configured;                   /* either of them was called */
	int cb_plus;                         /* mechanism in use is -PLUS */
	int cb_advertised;                   /* a -PLUS mechanism was offered */
	struct {
		int present;
		size_t len;
		unsigned char data[SCRAM_CB_MAX];
	} cb[SCRAM_CB_NTYPES];               /* types offered, with their data */
	int cb_active;                       /* client-first had a valid 'p=' */
	enum scram_cb_type cb_type;          /* ... naming this type */
};

/* Name as in SASL ("SCRAM-SHA-1"), digest length in bytes. */
const char *scram_mech_name(enum scram_hash h);
/* The channel-binding variant's name ("SCRAM-SHA-1-PLUS"); NULL if unknown. */
const char *scram_mech_name_plus(enum scram_hash h);
/* Channel-binding type name as in the gs2 header ("tls-exporter"); NULL if
 * unknown. */
const char *scram_cb_name(enum scram_cb_type t);
size_t scram_key_len(enum scram_hash h);

/* SASLprep (RFC 4013) of a UTF-8 string into out (size outsz). -1 if the
 * string is prohibited or does not fit. */
int scram_saslprep(const char *in, char *out, size_t outsz);

/* Derive a credential from a password (SASLprep applied here). If salt is
 * NULL a fresh random salt of SCRAM_SALT_LEN bytes is drawn. */
int scram_cred_make(enum scram_hash h, const char *password,
    const unsigned char *salt, size_t salt_len, unsigned iterations,
    struct scram_cred *out);

/* A new password: 0 if acceptable (not empty, at most max bytes, and
 * SASLprep neither prohibits it nor makes it empty), -1 if not. */
int scram_password_acceptable(const char *password, size_t max);

/* Fresh SCRAM-SHA-1 and SCRAM-SHA-256 credentials for password (random
 * salts, SCRAM_ITERATIONS) as storage lines (scram_cred_format), each in
 * a buffer of linesz bytes: what an account stores for a new password. */
int scram_cred_lines(const char *password, char *sha1, char *sha256, size_t linesz);

/* 1 if password (SASLprep applied here) matches the credential, 0 if not,
 * -1 on error. Used to verify PLAIN and iq:auth <password> against SCRAM
 * data; constant time in the comparison. */
int scram_cred_check_password(const struct scram_cred *c, const char *password);

/* Serialise / parse a credential as one line for storage:
 *   "<iterations>,<base64 salt>,<base64 StoredKey>,<base64 ServerKey>" */
int scram_cred_format(const struct scram_cred *c, char *out, size_t outsz);
int scram_cred_parse(enum scram_hash h, const char *line, struct scram_cred *out);

/* Step 1: parse client-first-message (the decoded SASL initial response,
 * not base64). On success s->username holds the authentication identity.
 * An authzid ('a=') is accepted only when empty; *err says why on failure. */
int scram_server_init(struct scram_server *s, enum scram_hash h);
int scram_server_client_first(struct scram_server *s, const char *msg,
    size_t len, enum scram_err *err);

/*
 * Channel binding, set after scram_server_init and before
 * scram_server_client_first (at any other time they fail and the exchange
 * is dead). A caller that never calls them gets plain SCRAM as before: 'n'
 * and 'y' accepted, any 'p=' refused with SCRAM_UNSUPPORTED_CB.
 *
 * scram_server_set_channel_binding: plus = 1 if the mechanism in use is
 * SCRAM-*-PLUS; advertised = 1 if this stream's <mechanisms/> offered any
 * -PLUS mechanism. Then, in client-first:
 *  - -PLUS mechanism: the gs2 header must be "p=<name>" with a type given
 *    to scram_server_set_cb_data (else SCRAM_UNSUPPORTED_CB); 'n' or 'y'
 *    is SCRAM_MALFORMED.
 *  - other mechanism: 'n' is fine; 'y' is fine only if advertised = 0,
 *    else a downgrade, SCRAM_BAD_CHANNEL_BINDING; 'p=' is SCRAM_MALFORMED.
 * In client-final, c= must be base64(gs2-header || cb-data) (cb-data only
 * with 'p='), else SCRAM_BAD_CHANNEL_BINDING.
 *
 * scram_server_set_cb_data: offer one type with its data (copied,
 * 1..SCRAM_CB_MAX bytes, e.g. from tls_cb_exporter); a type whose data is
 * unavailable (tls-exporter on TLS 1.2) is simply not set. -1 on bad
 * arguments leaves the type unset (the exchange stays usable).
 */
int scram_server_set_channel_binding(struct scram_server *s, int plus,
    int advertised);
int scram_server_set_cb_data(struct scram_server *s, enum scram_cb_type type,
    const unsigned char *data, size_t len);
/* After a successful client-first: the channel-binding type name the
 * client chose ('p='), or NULL if it used none. For logs. */
const char *scram_server_cb_used(const struct scram_server *s);

/* Step 2: with the user's credential (or, for an unknown user, a fake
 * credential made by scram_cred_fake so timing and replies do not reveal
 * which users exist), produce server-first-message into out. */
int scram_server_first(struct scram_server *s, const struct scram_cred *cred,
    char *out, size_t outsz);
/* A made-up credential for username, which has no account: a pure
 * function of (h, username, secret), so the salt and iteration count a
 * client sees are as stable as a real account's when the secret is (the
 * server's, kept in Redis). No proof or password ever verifies against
 * it. -1 (and *out zeroed) for an unknown hash or no secret. */
int scram_cred_fake(enum scram_hash h, const char *username,
    const unsigned char *secret, size_t secret_len, struct scram_cred *out);

/* Step 3: verify client-final-message; on success writes server-final
 * ("v=...") into out. *err is SCRAM_NOT_AUTHORIZED on a wrong proof. */
int scram_server_client_final(struct scram_server *s, const char *msg,
    size_t len, char *out, size_t outsz, enum scram_err *err);

/* Testing hook: use this exact server nonce part instead of a random one
 * (for RFC test vectors). NULL restores randomness. */
void scram_server_set_nonce(struct scram_server *s, const char *server_part);

/* Base64 (Nettle), no line breaks. Return the output length or -1. */
int b64_encode(const unsigned char *in, size_t len, char *out, size_t outsz);
int b64_decode(const char *in, size_t len, unsigned char *out, size_t outsz);

/* Lower-case hex SHA-1 of a byte string, as XEP-0078 <digest/> uses:
 * out must hold 41 bytes. */
void sha1_hex(const void *data, size_t len, char out[41]);

#endif
