/*
 * conn.h - the client connection, as a feature module sees it.
 *
 * The one header a module includes to reach its connection: who the
 * client is, the single output path, replies and errors, authentication
 * and session registration, the inbox, and a state slot per module.
 * struct conn itself is private to conn.c, stream.c and main.c
 * (conn-int.h).
 *
 * Contract:
 *  - Every write to the client goes through these functions, and none
 *    writes once the stream is closing (after a stream error or the
 *    client's </stream:stream>).
 *  - Strings returned are owned by the connection and valid while it is.
 *  - A stanza passed in is borrowed; one returned (conn_error_new,
 *    conn_reply) belongs to the caller.
 */
#ifndef XMPPD_CONN_H
#define XMPPD_CONN_H

#include <stddef.h>
#include <time.h>
#include "module.h"
#include "xml.h"

#define NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"
#define NS_STANZA_ERRORS "urn:ietf:params:xml:ns:xmpp-stanzas"

struct conn;
struct config;
struct store;
struct tls;

/* ---- who ---- */
const struct config *conn_cfg(const struct conn *c);
struct store *conn_store(const struct conn *c);
/* The served domain this stream is for. */
const char *conn_domain(const struct conn *c);
/* The user's bare JID and resource: "" until authenticated / bound. */
const char *conn_bare(const struct conn *c);
const char *conn_resource(const struct conn *c);
/* The full JID: "" until a resource is bound. */
const char *conn_full(const struct conn *c);
const char *conn_stream_id(const struct conn *c);
/* In a leaving hook: the session goes on without this connection
 * (XEP-0198: detached, or resumed on another one), rather than ending
 * or being replaced by a new one of the same resource. */
int conn_session_goes_on(const struct conn *c);
/* The client's address alone (no port), for counters and logs. */
const char *conn_peer_ip(const struct conn *c);
enum conn_phase conn_phase(const struct conn *c);
/* st is addressed to the server: no 'to', the domain, or the user's own
 * bare JID (RFC 6120 10.3.3: the server answers for the account). */
int conn_to_server(const struct conn *c, const struct xml_node *st);
/* ... and to the account itself: no 'to', or the user's bare JID. */
int conn_to_account(const struct conn *c, const struct xml_node *st);
/* TLS is up and its handshake done; conn_tls() is then not NULL. */
int conn_secure(const struct conn *c);
struct tls *conn_tls(const struct conn *c);
/* STARTTLS must come before authentication: a certificate is configured,
 * the operator does not allow plaintext authentication, TLS is not up. */
int conn_tls_required(const struct conn *c);
/* The transport keeps nothing between two client elements of a login
 * (BOSH: each request is its own process): SASL makes its own nonce and
 * keeps what sasl_pending needs to describe the exchange (sasl.h). */
int conn_auth_one_step(const struct conn *c);
/* A resumption is one request of a session detached between requests
 * (BOSH), not a client back after a lost connection (XEP-0198): 0, and
 * modules restore their state without sending the client everything
 * again (a BOSH client would get it at every request). */
int conn_resume_refresh(const struct conn *c);

/* ---- output ---- */
void conn_send(struct conn *c, const struct xml_node *n);
/* XML that xmppd made itself (stored or routed stanzas, pushes). */
void conn_send_raw(struct conn *c, const char *xml, size_t len);
/* A module may hold stanzas back from now on (on), or no longer (0):
 * while none may, stream management takes the inbox in fewer round
 * trips (sm.c). */
void conn_set_holding(struct conn *c, int on);
/* A stanza from others that the client need not get at once (presence):
 * written, unless a module holds it back for now (XEP-0352). */
void conn_send_deferrable(struct conn *c, const char *xml, size_t len);
/* End the stream with a stream error (RFC 6120 4.9); text may be NULL. */
void conn_stream_error(struct conn *c, const char *cond, const char *text);
/* A stream restart follows the element being handled (RFC 6120 4.3.3). */
void conn_restart(struct conn *c);
/* Authentication took effect without a restart (SASL2, XEP-0388): the
 * stream is in the bind phase now; conn_send_features writes the
 * features of the phase the stream is in. */
void conn_enter_bind(struct conn *c);
void conn_send_features(struct conn *c);

/* ---- replies ---- */
/* A reply skeleton: same element name, to=<from>, from=<to>, id, type. */
struct xml_node *conn_reply(struct conn *c, const struct xml_node *st, const char *type);
/* The error reply (RFC 6120 8.3) to st, or NULL where none is due (st is
 * an error, or an IQ result). */
struct xml_node *conn_error_new(struct conn *c, const struct xml_node *st,
    const char *etype, const char *cond, const char *text);
/* Send that error, if one is due. */
void conn_error(struct conn *c, const struct xml_node *st, const char *etype,
    const char *cond, const char *text);
/* Send an IQ result for iq, with payload (taken) as its child if not NULL. */
void conn_iq_result(struct conn *c, const struct xml_node *iq, struct xml_node *payload);

/* ---- authentication and the session ---- */
/* The user node of the stream's domain has authenticated (how: for the
 * log). conn_unauthenticate takes it back (a login that failed later). */
void conn_authenticated(struct conn *c, const char *node, const char *how);
void conn_unauthenticate(struct conn *c);
/* Bind resource (already prepped): register the session in Redis,
 * subscribe to its channels, end an older session of the same resource.
 * 0, or a negative XE_ code (nothing bound). */
int conn_bind(struct conn *c, const char *resource);
/* Offline messages may now flow into the session (initial presence), or
 * must stop (unavailable). */
void conn_offline_start(struct conn *c);
void conn_offline_stop(struct conn *c);
/* Offline messages that the archive holds stay out of this session: its
 * client reads the archive instead (Bind2, XEP-0386 4); the others still
 * come. They are taken out of offline storage all the same. */
void conn_offline_from_archive(struct conn *c);
/* A stanza the client was never written (xmppd made it; its 'to' is this
 * session) goes to the user again: other resources, offline storage,
 * or back to its sender as an error (relay.c). */
void conn_reroute(struct conn *c, const char *xml, size_t len);
/* Route again what waits in a session's inbox (a dead session's, when it
 * is reaped). */
void conn_drain_inbox(struct conn *c, const char *bare, const char *resource);

/* ---- stream management (XEP-0198, sm.c) ---- */
/* A module about to send a pipeline (deliver.c) takes what stream
 * management must record along with it (NULL: nothing), hands its
 * command to the pipeline (route.h, route_stanza_batch_with), and gives
 * it back after the round trip. */
struct sm_rider;
struct store_rider;
struct sm_rider *conn_sm_rider(struct conn *c);
struct store_rider *conn_sm_rider_cmd(struct sm_rider *r);
void conn_sm_rider_done(struct conn *c, struct sm_rider *r);
/* Stream management stops for this connection, without a word to the
 * client: nothing more is recorded in Redis, the session cannot be
 * resumed, what is queued is written as without it. Only for a session
 * whose keys are about to go (its account is removed) and whose stream
 * ends at once. */
void conn_sm_forget(struct conn *c);
/* The client's stanzas handled so far (XEP-0198's count; 0 when off),
 * and taking that count back to an earlier mark: the stanzas handled
 * since were not kept (Redis was lost before they were), so the client,
 * told the count when it resumes, sends them again. */
unsigned long conn_sm_mark(const struct conn *c);
/* 1 done; 0 stream management is off (nothing to take back). */
int conn_sm_unhandle(struct conn *c, unsigned long mark);
/* Redis is gone, or another server is the primary now: the stream ends
 * with <internal-server-error/> (text why); through Sentinel a
 * resumable session is detached, as for a lost connection, for its
 * client to resume on the new primary. */
void conn_storage_lost(struct conn *c, const char *why);

/* ---- per-module state ---- */
/* The module's state for this connection: size bytes, zeroed, allocated
 * on first use, freed with the connection (after m->free_slot). */
void *conn_slot(struct conn *c, const struct module *m, size_t size);
/* The same state, or NULL until conn_slot made it: hooks that run for
 * every connection look without allocating for those that never use
 * the module. */
void *conn_slot_peek(const struct conn *c, const struct module *m);

#endif
