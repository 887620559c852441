/*
 * sasl.h - SASL negotiation (RFC 6120 6): SCRAM-SHA-256, SCRAM-SHA-1 and
 * (when the operator allows authentication without TLS) PLAIN, all checked
 * against the SCRAM data in the account record.
 */
#ifndef XMPPD_SASL_H
#define XMPPD_SASL_H

#include "scram.h"

#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define SASL_MAX_FAILURES 5     /* then the stream ends: slows guessing */
#define SASL_MAX_DELAY_MS 2000  /* the longest pause before a wrong answer:
                                   it also delays honest clients that share
                                   an address or mistype */

struct conn;
struct xml_node;

enum sasl_mech { SASL_NONE, SASL_PLAIN, SASL_SCRAM_SHA1, SASL_SCRAM_SHA256,
	SASL_SCRAM_SHA1_PLUS, SASL_SCRAM_SHA256_PLUS,
	/* XEP-0484 FAST tokens (fast.c), through SASL2 only, inside TLS */
	SASL_HT_SHA256_EXPR, SASL_HT_SHA256_ENDP, SASL_HT_SHA256_NONE };

#define NS_SASL_CB "urn:xmpp:sasl-cb:0"    /* XEP-0440 */

#define SASL_NONCE_BYTES  18   /* random bytes of a server nonce we make */
/* sasl_pending's string: a mechanism, a nonce, a client-first in base64. */
#define SASL_PENDING_MAX  (64 + 2 * SASL_NONCE_BYTES + 2 * SCRAM_MAX_MSG)

/* The module's state for one stream (its slot). */
struct sasl {
	enum sasl_mech mech;      /* exchange in progress, or SASL_NONE */
	int v2;                   /* ... in XEP-0388's elements (sasl2.c) */
	int failures;             /* on this stream, SASL and iq:auth alike */
	struct scram_server scram;
	char node[1024];          /* user being authenticated */
	int account_counted;      /* the account had failures when the attempt began */
	/* Where the transport keeps nothing between two login elements
	 * (conn_auth_one_step): what brings SCRAM's first step back. */
	char snonce[2 * SASL_NONCE_BYTES + 1];     /* our nonce part */
	char client_first[SCRAM_MAX_MSG];          /* the client's first message */
	size_t client_first_len;
};

/*
 * An exchange that spans two login elements on a transport that keeps
 * nothing between them (BOSH: each request is its own process). After
 * an element, sasl_pending describes the exchange in progress (1, with
 * out set), or says there is none (0); before the next element of the
 * same login, sasl_restore brings it back: SCRAM's first step is done
 * again with the same server nonce, so the client's proof checks
 * against the server-first message it saw. -1: saved was not made by
 * sasl_pending (the exchange is not restored; the client's next element
 * is then refused as on any stream).
 */
int sasl_pending(struct conn *c, char *out, size_t outsz);
int sasl_restore(struct conn *c, const char *saved);

/*
 * The exchange itself, for RFC 6120's elements (this file) and SASL2's
 * (sasl2.c, v2 = 1), which differ only in how they are written:
 *  - sasl_begin: the client chose mechanism name, with an initial
 *    response of len bytes (len -1: none; -2: it was not base64);
 *  - sasl_next: its response to our challenge (len as above);
 *  - sasl_abort: it gave up
 * (v2: the element came in SASL2's namespace, and so does the answer).
 * Each ends in a challenge, a failure (sasl2_failed, with v2) or a
 * success (then conn_authenticated, and with v2 sasl2_succeeded: no
 * stream restart).
 */
void sasl_begin(struct conn *c, int v2, const char *name, const char *data, int len);
void sasl_next(struct conn *c, int v2, const char *data, int len);
void sasl_abort(struct conn *c, int v2);
/* The mechanism called name (enum sasl_mech), or SASL_NONE. */
int sasl_mech_named(const char *name);
/* An exchange is in progress (a challenge awaits its response). */
int sasl_in_progress(struct conn *c);
/* Decode the base64 text of el into out: bytes, or -2 when it is not
 * base64 (RFC 6120's "=" is the empty response). */
int sasl_decode(struct xml_node *el, char *out, size_t outsz);
#define SASL_MAX_DATA 4096     /* decoded bytes of one SASL message */
/* The mechanisms this stream offers, as <mechanism/> children (in ns)
 * of parent: with fast, the FAST token mechanisms (SASL2 only), else
 * the others. */
void sasl_list_mechanisms(struct conn *c, struct xml_node *parent, const char *ns, int fast);

/* Count a failed attempt on this stream (SASL or iq:auth); the stream
 * ends with <policy-violation/> at SASL_MAX_FAILURES. */
void sasl_stream_failure(struct conn *c);
/* The stream's failed attempts so far, and the count brought back on a
 * transport that keeps nothing between two elements (BOSH). */
int sasl_failures(struct conn *c);
void sasl_set_failures(struct conn *c, int n);
/* Check a password against an account: 1 ok, 0 wrong or no such user,
 * -1 Redis error. Shared by PLAIN and iq:auth <password>. */
int sasl_check_password(struct conn *c, const char *node, const char *password);

/*
 * The failed-login policy, shared by SASL and iq:auth (xmpp.conf(5)):
 *  - an address with auth_block_after failures within auth_fail_window
 *    (counted in Redis, for every host) is refused without its secret
 *    being checked, until its counter expires or xmppctl unblocks it;
 *  - an account is never refused: the right secret from an address that
 *    is not blocked logs in at once, however many strangers guessed;
 *  - each wrong answer waits auth_fail_delay_ms, doubled with each
 *    failure counted for the account or the address, at most
 *    SASL_MAX_DELAY_MS;
 *  - an address in auth_exempt is neither counted, blocked nor delayed
 *    (its failures are logged).
 */
/* 1 if the client's address is blocked (0 too when Redis fails: the
 * login then fails on the account lookup). Called as an attempt for node
 * begins; it also notes whether node's account has failures to clear. */
int sasl_blocked(struct conn *c, const char *node);
/* A wrong secret for node (what: for the log): counted for the account
 * and the address, logged, then the pause. */
void sasl_record_failure(struct conn *c, const char *node, const char *what);
/* A refusal of a blocked address: no secret was tried, so it is counted
 * for the address alone; logged, then the pause. */
void sasl_record_blocked(struct conn *c, const char *node);
/* A login as node succeeded: the account's counter is cleared (no round
 * trip when sasl_blocked saw none). */
void sasl_record_success(struct conn *c, const char *node);

#endif
