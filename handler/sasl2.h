/*
 * sasl2.h - SASL2 (XEP-0388) and what it carries inline: Bind2
 * (XEP-0386, bind2.c), FAST tokens (XEP-0484, fast.c) and stream
 * management resumption (XEP-0198, sm.c).
 *
 * One login, from sasl2.c:
 *   <authenticate/> -> the exchange (sasl.c's, in SASL2's elements; a
 *     token is checked by fast.c) -> sasl2_succeeded: the user agent
 *     recorded, then <resume/> (sm.c) or else <bind/> (bind2.c), then a
 *     token issued or rotated (fast.c) -> <success/> with what each
 *     added, the features of the new phase, no stream restart.
 *
 * Contract: the request (the client's <authenticate/>) is kept from
 * sasl2.c's element hook until success or failure; the functions below
 * borrow it.
 */
#ifndef XMPPD_SASL2_H
#define XMPPD_SASL2_H

#include <stddef.h>

#define NS_SASL2  "urn:xmpp:sasl:2"
#define NS_BIND2  "urn:xmpp:bind:0"
#define NS_FAST   "urn:xmpp:fast:0"

struct conn;
struct xml_node;
struct xbuf;

/* ---- sasl2.c ---- */
/* The exchange succeeded (sasl.c, after conn_authenticated): data is
 * the mechanism's additional data (NULL none). */
void sasl2_succeeded(struct conn *c, const char *data, size_t len);
/* ... or failed (the <failure/> is written): the request is dropped. */
void sasl2_failed(struct conn *c);
/* The request being served (NULL outside a SASL2 login). */
const struct xml_node *sasl2_request(struct conn *c);
/* The client's <user-agent id/>, "" if it gave none. */
const char *sasl2_agent_id(struct conn *c);

/* ---- bind2.c ---- */
/* <bind/> in SASL2's <inline/>: the features modules enable inline. */
void bind2_offer(struct conn *c, struct xml_node *inl);
/* 0 if the request's <bind/> can be served (checked before the
 * exchange), -1 not (a malformed tag). */
int bind2_check(const struct xml_node *bind);
/* Bind the session as <bind/> asks, adding <bound/> to success: 0, or
 * -1 (logged; nothing bound: the client binds as RFC 6120 says). */
int bind2_request(struct conn *c, const struct xml_node *bind, struct xml_node *success);

/* ---- fast.c ---- */
#define FAST_MAC_LEN 32           /* HMAC-SHA-256 */
enum fast_verdict { FAST_OK = 1, FAST_REFUSED = 0, FAST_ERROR = -1 };
/* <fast/> in SASL2's <inline/>, when this stream offers tokens. */
void fast_offer(struct conn *c, struct xml_node *inl);
/* Mechanism m (enum sasl_mech) may be used on this stream. */
int fast_mech_offered(struct conn *c, int m);
/* Check the initiator's HMAC mac for node's token under mechanism m
 * (enum sasl_mech), named mech
 * (the client is sasl2_agent_id's): FAST_OK (out gets the responder's
 * HMAC; the token is marked used), FAST_REFUSED (*cond: not-authorized,
 * credentials-expired), FAST_ERROR (Redis). */
int fast_verify(struct conn *c, int m, const char *mech, const char *node,
    const unsigned char mac[FAST_MAC_LEN], unsigned char out[FAST_MAC_LEN], const char **cond);
/* After a successful login: a token asked for (<request-token/>), or a
 * rotation due, as <token/> in success. */
void fast_issue(struct conn *c, const struct xml_node *req, struct xml_node *success);

/* ---- sm.c ---- */
/* <sm/> in SASL2's <inline/>, where stream management is offered. */
void sm_sasl2_offer(struct conn *c, struct xml_node *inl);
/* <resume/> inline (XEP-0198 6): 1 resumed (<resumed/> added to success,
 * replay holds what the client gets again after it: sm_sasl2_replay),
 * 0 not (<failed/> added). */
int sm_sasl2_resume(struct conn *c, const struct xml_node *el, struct xml_node *success,
    struct xbuf *replay);
/* Write replay (freed) once <success/> is out; the session goes on. */
void sm_sasl2_replay(struct conn *c, struct xbuf *replay);

#endif
