/*
 * fast.h - what a user's clients are and the FAST tokens they hold
 * (XEP-0388 user agents, XEP-0484 tokens).
 *
 *   <prefix>{bare}:clients  hash: user-agent id -> "<last login, Unix s>\t
 *                           <software>\t<device>" (each from the client's
 *                           <user-agent/>, tabs and newlines made spaces)
 *   <prefix>{bare}:fast     hash: user-agent id -> the client's tokens,
 *                           "<mechanism> <count> <new expiry> <new hash>
 *                           <current expiry> <current hash>" (an empty
 *                           slot: "0 -")
 *
 * A token is never stored, only its SHA-256 in hex: tokens are longer
 * than SHA-256's block, so HMAC keyed with the token is HMAC keyed with
 * its hash (RFC 2104 2), which is what the HT mechanisms need and no
 * more. Each client has two slots (XEP-0484 8.1): a token issued goes
 * to 'new'; the first login with it moves it to 'current', which ends
 * the token before it. count is the highest <fast count/> seen for the
 * token in use (XEP-0484 replay protection).
 *
 * A user has at most FAST_CLIENTS_MAX clients: a login from another one
 * forgets the one seen least recently, and its tokens. A password change
 * (account_put) and the account's removal end every token.
 *
 * Contract: as store.h; results >= 0, or XE_REDIS / XE_REPLY.
 */
#ifndef XMPPD_FAST_H
#define XMPPD_FAST_H

#include "store.h"

#define FAST_CLIENTS_MAX   64     /* user agents remembered per user */
#define FAST_ID_MAX        128    /* bytes of a user-agent id */
#define FAST_AGENT_TEXT    128    /* bytes kept of <software/>, <device/> */
#define FAST_MECH_MAX      24
#define FAST_HASH_HEX      65     /* SHA-256 in hex, and its NUL */
#define FAST_RECORD_MAX    (FAST_MECH_MAX + 3 * 24 + 2 * FAST_HASH_HEX + 8)

struct fast_slot {
	long long expiry;                 /* Unix s; 0: empty */
	char hash[FAST_HASH_HEX];         /* "" when empty */
};

struct fast_record {
	char mech[FAST_MECH_MAX];
	long long count;
	struct fast_slot fresh;           /* issued, not yet used ('new') */
	struct fast_slot cur;             /* in use ('current') */
};

/* The stored text of r, and back (pure). Parse: 0, or -1 (not a record). */
void fast_record_format(const struct fast_record *r, char *out, size_t outsz);
int fast_record_parse(const char *s, struct fast_record *r);

/* Client id's record of bare: 1 found (raw gets its stored text, for
 * fast_put), 0 none (raw ""), or an error. */
int fast_get(struct store *s, const char *bare, const char *id, struct fast_record *r,
    char raw[FAST_RECORD_MAX]);
/* Replace the record whose stored text was raw ("" none) with r (NULL:
 * remove it), only if nobody changed it since (fast_cas.lua): 1 done, 0
 * it changed meanwhile (read it again), or an error. */
int fast_put(struct store *s, const char *bare, const char *id, const char *raw,
    const struct fast_record *r);
/* End the tokens of client id of bare (NULL: of every client): how many
 * clients had some, or an error. */
int fast_revoke(struct store *s, const char *bare, const char *id);

/* A login of bare from user agent id (software, device may be ""): its
 * entry written (clients_seen.lua), the oldest forgotten past
 * FAST_CLIENTS_MAX. 0, or an error. */
int fast_client_seen(struct store *s, const char *bare, const char *id,
    const char *software, const char *device, long long now);

struct fast_client {
	char id[FAST_ID_MAX];
	long long seen;
	char software[FAST_AGENT_TEXT];
	char device[FAST_AGENT_TEXT];
	int has_record;                   /* a token record exists */
	struct fast_record rec;
};
/* bare's clients, least recently seen first, into out (at most max):
 * how many, or an error. */
int fast_clients(struct store *s, const char *bare, struct fast_client *out, int max);

#endif
