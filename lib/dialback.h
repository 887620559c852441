/*
 * dialback.h - server dialback keys (XEP-0220), made as XEP-0185 section 2
 * recommends, so that any host of this server that shares the secret can
 * answer a <db:verify/> for a key another host sent in a <db:result/>:
 *
 *   key = hex(HMAC-SHA256(hex(SHA-256(secret)),
 *                         receiving + ' ' + originating + ' ' + stream id))
 *
 * The HMAC key is the 64 lower-case hex digits of SHA-256(secret), as
 * ASCII text, not the 32 raw bytes: that is what XEP-0185's worked
 * example computes (its note 4: hash output in hex), so our keys can be
 * checked against the XEP's published vector. Only hosts of this server
 * ever verify our keys, but they must all compute the same bytes.
 *
 * Contract: pure functions over their arguments (Nettle only, no OpenSSL:
 * lib/ links into xmppctl too); no I/O, no allocation. A domain is
 * 1..DIALBACK_DOMAIN_MAX bytes without a space (a space would make the
 * joined message ambiguous) or control character; a stream id is
 * 1..DIALBACK_STREAM_ID_MAX bytes without control characters (it comes
 * from the peer's stream header, so its length is bounded here). Inputs
 * outside that are refused with XE_INVALID, never truncated.
 */
#ifndef XMPPD_DIALBACK_H
#define XMPPD_DIALBACK_H

#include <stddef.h>

#define DIALBACK_KEY_HEX       64      /* hex digits of a key (SHA-256) */
#define DIALBACK_DOMAIN_MAX    1023    /* bytes of a domainpart, RFC 7622 3.2 */
#define DIALBACK_STREAM_ID_MAX 256     /* bytes of a peer's stream id we accept */
#define DIALBACK_SECRET_MAX    1024    /* bytes of secret; 32 random ones suffice */

/* The key for (receiving, originating, stream_id) under secret
 * (secret_len bytes, 1..DIALBACK_SECRET_MAX), DIALBACK_KEY_HEX lower-case
 * hex digits and a NUL into key. 0, or XE_INVALID (key "") when an
 * argument breaks the contract above. */
int dialback_key(const unsigned char *secret, size_t secret_len,
    const char *receiving, const char *originating, const char *stream_id,
    char key[DIALBACK_KEY_HEX + 1]);

/* 1 if got is exactly the key want (DIALBACK_KEY_HEX characters, the same
 * bytes), else 0. The time taken does not depend on where they differ:
 * a peer that may ask for verifications learns nothing of a valid key
 * from how long a wrong one takes to refuse. got may be any string. */
int dialback_key_equal(const char *want, const char *got);

/* 0 if key is the key dialback_key makes for these arguments, compared
 * with dialback_key_equal; XE_INVALID if it is not or an argument breaks
 * the contract. What an authoritative server's <db:verify/> answers. */
int dialback_verify(const unsigned char *secret, size_t secret_len,
    const char *receiving, const char *originating, const char *stream_id,
    const char *key);

#endif
