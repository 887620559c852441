/*
 * dialback.c - XEP-0185 dialback keys (see dialback.h).
 */
#include "dialback.h"
#include "hex.h"
#include "xerr.h"

#include <string.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>

/* 1 if s is 1..max bytes, none of them a control character, and (when
 * nospace) none a space; else 0. Reads at most max + 1 bytes of s. */
static int field_ok(const char *s, size_t max, int nospace)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (n >= max || ch < 0x20 || ch == 0x7f || (nospace && ch == ' '))
			return 0;
	}
	return n > 0;
}

int dialback_key(const unsigned char *secret, size_t secret_len,
    const char *receiving, const char *originating, const char *stream_id,
    char key[DIALBACK_KEY_HEX + 1])
{
	struct sha256_ctx sha;
	struct hmac_sha256_ctx hmac;
	unsigned char digest[SHA256_DIGEST_SIZE];
	char hkey[2 * SHA256_DIGEST_SIZE + 1];

	key[0] = '\0';
	if (secret == NULL || secret_len == 0 || secret_len > DIALBACK_SECRET_MAX
	    || !field_ok(receiving, DIALBACK_DOMAIN_MAX, 1)
	    || !field_ok(originating, DIALBACK_DOMAIN_MAX, 1)
	    || !field_ok(stream_id, DIALBACK_STREAM_ID_MAX, 0))
		return XE_INVALID;

	/* XEP-0185: the HMAC key is SHA-256(secret) in hex, as text. */
	sha256_init(&sha);
	sha256_update(&sha, secret_len, secret);
	sha256_digest(&sha, sizeof digest, digest);
	hex_encode(digest, sizeof digest, hkey);

	hmac_sha256_set_key(&hmac, 2 * SHA256_DIGEST_SIZE, (const uint8_t *)hkey);
	hmac_sha256_update(&hmac, strlen(receiving), (const uint8_t *)receiving);
	hmac_sha256_update(&hmac, 1, (const uint8_t *)" ");
	hmac_sha256_update(&hmac, strlen(originating), (const uint8_t *)originating);
	hmac_sha256_update(&hmac, 1, (const uint8_t *)" ");
	hmac_sha256_update(&hmac, strlen(stream_id), (const uint8_t *)stream_id);
	hmac_sha256_digest(&hmac, sizeof digest, digest);
	hex_encode(digest, sizeof digest, key);

	/* The secret's hash is as good as the secret: leave none of it. */
	memset(&sha, 0, sizeof sha);
	memset(&hmac, 0, sizeof hmac);
	memset(hkey, 0, sizeof hkey);
	memset(digest, 0, sizeof digest);
	return 0;
}

int dialback_key_equal(const char *want, const char *got)
{
	size_t n;

	if (want == NULL || got == NULL || strlen(want) != DIALBACK_KEY_HEX)
		return 0;
	/* The length of got says nothing of want's digits; only then are
	 * the digits compared, all of them, whatever the first difference. */
	n = strnlen(got, DIALBACK_KEY_HEX + 1);
	if (n != DIALBACK_KEY_HEX)
		return 0;
	return memeql_sec(want, got, DIALBACK_KEY_HEX) ? 1 : 0;
}

int dialback_verify(const unsigned char *secret, size_t secret_len,
    const char *receiving, const char *originating, const char *stream_id,
    const char *key)
{
	char want[DIALBACK_KEY_HEX + 1];
	int same;

	if (dialback_key(secret, secret_len, receiving, originating, stream_id,
	    want) != 0)
		return XE_INVALID;
	same = dialback_key_equal(want, key);
	memset(want, 0, sizeof want);
	return same ? 0 : XE_INVALID;
}
