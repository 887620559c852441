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
#define SASL_MAX_DELAY_MS 8000  /* the longest pause after a failure */

struct conn;
struct xml_node;

enum sasl_mech { SASL_NONE, SASL_PLAIN, SASL_SCRAM_SHA1, SASL_SCRAM_SHA256,
	SASL_SCRAM_SHA1_PLUS, SASL_SCRAM_SHA256_PLUS };

#define NS_SASL_CB "urn:xmpp:sasl-cb:0"    /* XEP-0440 */

struct sasl {
	enum sasl_mech mech;      /* exchange in progress, or SASL_NONE */
	int failures;
	struct scram_server scram;
	char node[1024];          /* user being authenticated */
};

/* <mechanisms/> for the features of an unauthenticated stream. */
void sasl_features(struct conn *c, struct xml_node *features);
/* An element in the SASL namespace (auth, response, abort). */
void sasl_handle(struct conn *c, struct xml_node *el);
/* Check a password against an account: 1 ok, 0 wrong or no such user,
 * -1 Redis error. Shared by PLAIN and iq:auth <password>. */
int sasl_check_password(struct conn *c, const char *node, const char *password);
/* 1 while the account or the client's address has failed too often
 * (auth_block_after within auth_fail_window, counted in Redis for every
 * host). Shared by SASL and iq:auth. */
int sasl_blocked(struct conn *c, const char *node);
/* Count a failure, log it, and pause: the pause grows with the count. */
void sasl_record_failure(struct conn *c, const char *node, const char *what);

#endif
