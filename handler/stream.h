/*
 * stream.h - one client connection: the stream state machine (RFC 6120 4),
 * output, stream errors, and dispatch of each top-level element to the
 * module that owns it (sasl, iqauth, bind, serveriq, route).
 *
 * Contract: after any stream error the connection is "closing": the error
 * and </stream:stream> are queued, input is ignored, and the main loop
 * flushes and ends. Every handler function takes ownership of nothing but
 * what it is told; stanzas passed to handlers are freed by stream.c.
 */
#ifndef XMPPD_STREAM_H
#define XMPPD_STREAM_H

#include <time.h>
#include "config.h"
#include "jid.h"
#include "store.h"
#include "xml.h"
#include "sasl.h"
#include "ackq.h"
#include "io.h"

#define NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"
#define NS_STANZA_ERRORS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_TLS           "urn:ietf:params:xml:ns:xmpp-tls"
#define STREAM_ID_BYTES  12
#define PULL_BATCH       64      /* stanzas taken from Redis at a time */
#define FINISH_TRIES     10      /* waits for Redis before cleaning up ... */
#define FINISH_WAIT_MS   300     /* ... each this long */
#define IDLE_PING_ID     "xmppd-idle"   /* the ping a silent client must answer */

enum conn_state {
	CS_WAIT_HEADER,     /* nothing yet, or a restart is pending */
	CS_AUTH,            /* header answered, not authenticated */
	CS_BIND,            /* authenticated (SASL), stream restarted, no resource */
	CS_SESSION,         /* resource bound: stanzas flow */
	CS_CLOSING          /* stream error sent or stream closed: flush and end */
};

struct conn {
	const struct config *cfg;
	struct store *store;
	int store_ok;                    /* Redis reachable */
	struct xml_stream *xs;
	enum conn_state state;
	int restart;                     /* a restart is due after this element */
	int header_sent;
	int legacy;                      /* pre-1.0 stream: no features */
	char stream_id[2 * STREAM_ID_BYTES + 1];
	char domain[JID_MAX_PART];       /* served domain this stream is for */
	char peer[128];
	char peer_ip[128];               /* the address alone, for counters */
	char peer_jid[JID_MAX];          /* the 'from' of the client's header */
	struct jid jid;                  /* node+domain after auth, +resource after bind */
	char bare[JID_MAX];
	char full[JID_MAX];
	struct sasl sasl;
	struct io io;                    /* the client's bytes, plain or TLS */
	struct xbuf out;                 /* bytes not yet written to the client */
	unsigned long long out_written;  /* bytes written to the client so far */
	struct ackq ackq;                /* messages written but not proven read */
	int available;                   /* initial presence sent, not unavailable */
	int priority;
	char *last_presence;             /* what we broadcast last, while available */
	int offline_more;                /* offline messages wait to be pulled */
	int inbox_ready;                 /* a wake-up arrived: pull the inbox */
	int pull_waiting;                /* a pull stopped: unconfirmed queue full */
	char reroute_bare[JID_MAX];      /* whose inbox conn_drain_inbox empties */
	int roster_requested;            /* roster pushes go to this session */
	struct xbuf directed;            /* JIDs sent directed presence, '\n'-separated */
	time_t opened, last_input, last_heartbeat;
	time_t idle_ping_sent;           /* a silent client was pinged (0: not) */
	char end_reason[128];
};

void conn_init(struct conn *c, const struct config *cfg, struct store *st, const char *peer,
    int rfd, int wfd);
/* Feed bytes from the client. */
void conn_input(struct conn *c, const char *buf, size_t len);
/* A payload published to one of our channels. */
void conn_deliver(struct conn *c, const char *payload, size_t len);
/* Timers: authentication and idle timeouts, session heartbeat. Returns the
 * seconds until the next timer is due. */
int conn_tick(struct conn *c, time_t now);
/* Write queued output as far as the client takes it; -1 it is gone. */
int conn_flush(struct conn *c);
/* Input ended (EOF or error) without </stream:stream>. */
void conn_eof(struct conn *c, const char *why);
/* Leave Redis tidy (session record removed); call once at the end. */
void conn_finish(struct conn *c);
void conn_free(struct conn *c);


/* Output. */
void conn_send(struct conn *c, const struct xml_node *n);
void conn_send_raw(struct conn *c, const char *s);
/* Take what waits for this session in Redis (its inbox, then offline
 * messages after initial presence) as far as the client keeps up. */
void conn_pull(struct conn *c);
/* Route again what waits in a session's inbox (ours at the end, or a dead
 * session's when it is reaped). */
void conn_drain_inbox(struct conn *c, const char *bare, const char *resource);
/* A message for the client, accepted by the server at `accepted` (Unix
 * seconds, 0 unknown): written, and kept until proven read (ackq). */
void conn_send_message(struct conn *c, const char *xml, size_t len, long accepted);
void conn_stream_error(struct conn *c, const char *cond, const char *text);

/* Stanza helpers shared by the modules. */
/* A reply skeleton: same element name, to=<from>, from=<to or domain>, id. */
struct xml_node *stanza_reply(struct conn *c, const struct xml_node *st, const char *type);
/* The error reply (RFC 6120 8.3) to st, or NULL where none is due
 * (st is an error, or an IQ result). */
struct xml_node *stanza_error_new(struct conn *c, const struct xml_node *st,
    const char *etype, const char *cond, const char *text);
/* Send a stanza error (RFC 6120 8.3) for st; never for type='error'. */
void stanza_error(struct conn *c, const struct xml_node *st, const char *etype,
    const char *cond, const char *text);
/* Send an empty IQ result for iq (optionally with one payload child). */
void iq_result(struct conn *c, const struct xml_node *iq, struct xml_node *payload);

/* STARTTLS must come before authentication: a certificate is configured,
 * the operator does not allow plaintext authentication, TLS is not up. */
int conn_tls_required(const struct conn *c);

/* Called by sasl / iqauth when the user is authenticated (node set). */
void conn_authenticated(struct conn *c, const char *node, const char *how);
/* Called by bind / iqauth: take resource (already prepped). 0 ok, -1 error. */
int conn_bind(struct conn *c, const char *resource);

#endif
