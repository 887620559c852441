/*
 * invite.h - invitations to register an account in-band (XEP-0401 URIs,
 * XEP-0445 tokens), kept in Redis so every host honours them:
 *   <prefix>invite:<token>  hash: domain, node ("" : any user), created
 *                           (unix time); expires when the invitation does
 *   <prefix>{jid}:invite    string: the token of the invitation made for
 *                           that very user, which reserves the name
 *                           (XEP-0445 4) until it is used or expires
 * A token is INVITE_TOKEN_LEN lower-case hex digits of fresh randomness,
 * used once: account_create (account.h) takes it (invite_take, atomic on
 * the invitation's key) before it creates the account, and gives it back
 * (invite_give_back) if the account is not created. The invitation and
 * the account are in different hash slots of a Redis Cluster, so no one
 * script can do both.
 *
 * Contract: as store.h: named results >= 0, or a negative xerr.h code
 * (XE_REDIS, XE_REPLY, XE_ENTROPY) with store->err set.
 */
#ifndef XMPPD_INVITE_H
#define XMPPD_INVITE_H

#include "jid.h"
#include "store.h"

#define INVITE_TOKEN_BYTES 16                       /* 128 bits: not guessable */
#define INVITE_TOKEN_LEN   (2 * INVITE_TOKEN_BYTES)
#define INVITE_TOKEN_MAX   (INVITE_TOKEN_LEN + 1)   /* with its NUL */

/* What the invite functions found or did; compare with these names. */
enum invite_result {
	INVITE_NONE = 0,       /* no such invitation (or for another domain) */
	INVITE_VALID = 1,      /* invite_check: it may be used */
	INVITE_CREATED = 2,    /* invite_create: stored */
	INVITE_RESERVED = 3,   /* invite_create: another one holds the name */
	INVITE_REMOVED = 4,    /* invite_delete: gone */
	INVITE_TAKEN = 5,      /* invite_take: taken out of Redis, to use or give back */
	INVITE_OTHER_USER = 6  /* invite_take: it names another user: left alone */
};

/* 1 if token is spelt as invite_create makes them, else 0: anything
 * else is refused without asking Redis. */
int invite_token_ok(const char *token);      /* pure (format.c) */

/* Key names (the layout above). */
void invite_key(const struct store *s, const char *token, char *out, size_t outsz);
void invite_reservation_key(const struct store *s, const char *bare, char *out, size_t outsz);

/*
 * A new invitation to register on domain, as node (NULL or "": any
 * name), living ttl seconds; its token into token.
 * Returns: INVITE_CREATED; INVITE_RESERVED (an invitation for that user
 *   exists: nothing stored); XE_ENTROPY, XE_REDIS.
 */
int invite_create(struct store *s, const char *domain, const char *node, int ttl,
    char token[INVITE_TOKEN_MAX]);

/*
 * May token register an account on domain (XEP-0445 preauth)? It is not
 * consumed; a good one lives at least min_ttl seconds more
 * (invite_check.lua). The node it is for ("" any) into node.
 * Returns: INVITE_VALID, INVITE_NONE, or XE_REDIS / XE_REPLY.
 */
int invite_check(struct store *s, const char *token, const char *domain, int min_ttl,
    char *node, size_t nodesz);

/* An invitation invite_take took out of Redis: what invite_give_back
 * needs to put it back as it was. */
struct invite_held {
	char token[INVITE_TOKEN_MAX];
	char domain[JID_MAX_PART];
	char node[JID_MAX_PART];         /* "" : any user */
	char created[24];                /* unix time, as stored */
	long long pttl;                  /* milliseconds it had left; -1: no expiry */
};

/*
 * Take token to register node@domain with (invite_take.lua): the
 * invitation is deleted in the same step as it is checked, so that of
 * two registrations racing on one token only one has it. Its
 * reservation of a name (<prefix>{jid}:invite) stays: the account's
 * creation removes it, in the account's slot.
 * Returns: INVITE_TAKEN with *held filled; INVITE_NONE (no such
 *   invitation: used, expired, revoked, for another domain, or a token
 *   not spelt as ours), INVITE_OTHER_USER (it is for another name):
 *   nothing changed; or XE_REDIS / XE_REPLY.
 */
int invite_take(struct store *s, const char *token, const char *domain, const char *node,
    struct invite_held *held);
/*
 * Put back an invitation taken by invite_take whose account was not
 * created (the name was taken), with the time it had left: it can be
 * used again. Between the two, the invitation was absent: a preauth or a
 * registration with it in that moment is refused, and an `xmppctl
 * uninvite` of it finds nothing (and does not stop its return).
 * Returns 0, or XE_REDIS (the invitation is then lost, never given twice).
 */
int invite_give_back(struct store *s, const struct invite_held *held);

/* ---- for the operator (xmppctl) ---- */

struct invite_info {
	const char *token;
	const char *domain;
	const char *node;      /* "" : any user */
	long created;          /* unix time */
	long ttl;              /* seconds left */
};

/* Call fn for every invitation (SCAN MATCH, never KEYS: one may come
 * twice, one made meanwhile may be missed). fn returns 0 to go on, -1 to
 * stop (XE_REDIS is then returned with store->err empty). Returns 0, or
 * XE_REDIS / XE_REPLY. */
int invite_each(struct store *s, int (*fn)(const struct invite_info *inv, void *arg),
    void *arg);

/* Revoke token, and the reservation it holds: INVITE_REMOVED,
 * INVITE_NONE, or XE_REDIS. */
int invite_delete(struct store *s, const char *token);

#endif
