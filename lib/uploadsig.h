/*
 * uploadsig.h - the signed URLs of the upload service (XEP-0363): what
 * the handler hands a client in a slot and what xmpp-web checks when the
 * client PUTs to it. One function signs and one verifies, for both.
 *
 * A slot is (id, name, size, type, expires):
 *   PUT  <http_url>/upload/<id>/<name>?n=<size>&e=<expires>[&t=<type>]&s=<sig>
 *   GET  <http_url>/upload/<id>/<name>
 * with id 128 random bits in hex (the GET URL's only secret), name and
 * type percent-encoded, and sig the hex HMAC-SHA256, under a key derived
 * from the server secret in Redis (xmpp-redis(7)), of every field of the
 * slot: a PUT URL whose field changed, or that outlived expires, is
 * refused, on any host.
 *
 * Contract: pure functions (no I/O, no clock: the caller passes now);
 * outputs are NUL-terminated and never overrun their stated sizes; a
 * parse that fails leaves its output unspecified and returns XE_INVALID.
 */
#ifndef XMPPD_UPLOADSIG_H
#define XMPPD_UPLOADSIG_H

#include <stddef.h>
#include <time.h>

#define UPLOADSIG_SECRET_LEN 32        /* bytes of the server secret */
#define UPLOADSIG_KEY_LEN    32        /* bytes of the derived signing key */
#define UPLOADSIG_ID_BYTES   16        /* random bytes of a slot id */
#define UPLOADSIG_ID_HEX     (2 * UPLOADSIG_ID_BYTES)
#define UPLOADSIG_HEX        64        /* hex digits of a signature */
#define UPLOADSIG_NAME_MAX   255       /* bytes of a file name (one path element) */
#define UPLOADSIG_TYPE_MAX   127       /* bytes of a content type */
#define UPLOADSIG_PREFIX     "/upload/"
/* The longest request target (path and query) of a slot's URLs, with
 * its NUL: what xmpp-web reads (HTTP_PATH_MAX, web/http.h). A slot whose
 * PUT URL would be longer (a long name of many non-ASCII characters) is
 * refused. */
#define UPLOADSIG_TARGET_MAX 1024

struct uploadsig_slot {
	char id[UPLOADSIG_ID_HEX + 1];
	char name[UPLOADSIG_NAME_MAX + 1];
	long size;                          /* bytes the PUT must carry */
	char type[UPLOADSIG_TYPE_MAX + 1];  /* Content-Type it must carry; "" any */
	long expires;                       /* PUT accepted until (Unix time) */
};

/* The signing key of the upload service, derived from the server
 * secret (so that it signs nothing else). */
void uploadsig_key(const unsigned char secret[UPLOADSIG_SECRET_LEN],
    unsigned char key[UPLOADSIG_KEY_LEN]);

/* 1 if name may name an uploaded file: 1 to UPLOADSIG_NAME_MAX bytes of
 * UTF-8 without control characters, '/' or '\\', not "." nor "..";
 * else 0. */
int uploadsig_name_ok(const char *name);
/* 1 if type may be a slot's content type: "" or type/subtype with
 * parameters, printable ASCII, at most UPLOADSIG_TYPE_MAX bytes; else 0. */
int uploadsig_type_ok(const char *type);
/* 1 if id is UPLOADSIG_ID_HEX lower-case hex digits; else 0. */
int uploadsig_id_ok(const char *id);

/* The signature of slot s under key, UPLOADSIG_HEX lower-case hex digits
 * and a NUL into hex. */
void uploadsig_sign(const unsigned char key[UPLOADSIG_KEY_LEN],
    const struct uploadsig_slot *s, char hex[UPLOADSIG_HEX + 1]);

/* The GET path of s ("/upload/<id>/<name>") into out (outsz bytes), or
 * the PUT path and query with its signature. Return the length, or
 * XE_INVALID (out "") when it does not fit or a field is invalid. */
int uploadsig_get_target(const struct uploadsig_slot *s, char *out, size_t outsz);
int uploadsig_put_target(const unsigned char key[UPLOADSIG_KEY_LEN],
    const struct uploadsig_slot *s, char *out, size_t outsz);

/* Parse a request's path and query (as on the request line, split at
 * '?'; query "" when there is none): the slot id and name of
 * "/upload/<id>/<name>" into s (size, type, expires zeroed); with a
 * query, its n, e, t and s fields into s and sig (sig "" without a
 * query). 0, or XE_INVALID for anything else (a name that fails
 * uploadsig_name_ok once decoded, an unknown or repeated query field, a
 * number out of range). */
int uploadsig_parse(const char *path, const char *query, struct uploadsig_slot *s,
    char sig[UPLOADSIG_HEX + 1]);

/* Check a parsed PUT: 0 if sig is the signature of s under key and now
 * is before s->expires; XE_INVALID if the signature is wrong (compared
 * in constant time); UPLOADSIG_EXPIRED if only the time is past. */
#define UPLOADSIG_EXPIRED 1
int uploadsig_verify(const unsigned char key[UPLOADSIG_KEY_LEN],
    const struct uploadsig_slot *s, const char *sig, time_t now);

#endif
