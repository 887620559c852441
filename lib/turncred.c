/*
 * turncred.c - TURN credentials from a shared secret (see turncred.h).
 */
#include "turncred.h"
#include "scram.h"

#include <stdio.h>
#include <string.h>

#include <nettle/hmac.h>
#include <nettle/sha1.h>

int turncred_make(const char *secret, long expires, const char *bare,
    char user[TURNCRED_USER_MAX + 1], char pass[TURNCRED_PASS_LEN + 1])
{
	struct hmac_sha1_ctx ctx;
	unsigned char mac[SHA1_DIGEST_SIZE];
	int n = snprintf(user, TURNCRED_USER_MAX + 1, "%ld:%s", expires, bare);

	pass[0] = '\0';
	if (n < 0 || n > TURNCRED_USER_MAX) {
		user[0] = '\0';
		return -1;
	}
	hmac_sha1_set_key(&ctx, strlen(secret), (const uint8_t *)secret);
	hmac_sha1_update(&ctx, (size_t)n, (const uint8_t *)user);
	hmac_sha1_digest(&ctx, sizeof mac, mac);
	memset(&ctx, 0, sizeof ctx);    /* it holds the secret's derived keys */
	b64_encode(mac, sizeof mac, pass, TURNCRED_PASS_LEN + 1);
	return 0;
}
