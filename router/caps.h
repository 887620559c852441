/*
 * caps.h - the entity capabilities table (XEP-0115) in Redis, which every
 * host shares: <prefix>caps:<hash>:<ver>, a set of the features of every
 * client whose disco#info hashes to ver (xmpp-redis(7)). A handler fills
 * it once it has checked a client's answer against the hash, so the
 * next client with the same software is not asked again.
 *
 * Contract: as store.h. Functions return a named result (>= 0), or
 * XE_REDIS / XE_REPLY with store->err set.
 */
#ifndef XMPPD_CAPS_H
#define XMPPD_CAPS_H

#include "store.h"
#include "strvec.h"

#define CAPS_TTL        (30 * 86400)   /* seconds an entry outlives its last writer */
#define CAPS_FEATURES_MAX 1000         /* features kept of one entry */

enum caps_result {
	CAPS_NONE = 0,          /* nobody has told this ver yet */
	CAPS_FOUND = 1          /* *features holds it */
};

/* The features of hash:ver (hash "sha-1" or "sha-256") into features. */
int caps_get(struct store *s, const char *hash, const char *ver, struct strvec *features);
/* Store them (replacing what was there), for CAPS_TTL seconds. 0 or XE_REDIS. */
int caps_put(struct store *s, const char *hash, const char *ver, const struct strvec *features);

#endif
