/*
 * conn-int.h - struct conn and the functions that drive a connection.
 *
 * Private to the files that implement the connection (conn.c, stream.c)
 * and the one that drives it (main.c; the fuzzing harness too). Feature
 * modules include conn.h instead.
 *
 * Contract: after any stream error the connection is closing: the error
 * and </stream:stream> are queued, input is ignored, nothing more is
 * written, and the driver flushes and ends.
 */
#ifndef XMPPD_CONN_INT_H
#define XMPPD_CONN_INT_H

#include <time.h>
#include "conn.h"
#include "ackq.h"
#include "config.h"
#include "io.h"
#include "jid.h"
#include "route.h"
#include "store.h"
#include "strvec.h"
#include "xml.h"

#define STREAM_ID_BYTES  12
#define PULL_BATCH       64      /* stanzas taken from Redis at a time */
#define FINISH_TRIES     10      /* waits for Redis before cleaning up ... */
#define FINISH_WAIT_MS   300     /* ... each this long */
#define IDLE_PING_ID     "xmppd-idle"   /* the ping a silent client must answer */
#define CONFIRM_DELAY    1       /* seconds a confirmation request waits for more */
#define CONFIRM_EAGER    (64 * 1024)    /* unconfirmed bytes that ask at once */

/* XEP-0198 as the output path keeps it (handler/sm.c). Counts are
 * modulo 2^32 (SM_MASK). */
#define SM_MASK 0xffffffffUL
#define SM_KICK_RESUMED "resumed"   /* the kick that hands a session over */
struct sm_out {
	int on;                          /* enabled */
	int resume;                      /* resumable: a lost connection detaches */
	unsigned long out;               /* stanzas queued for the client */
	unsigned long acked;             /* the client's last <a h/> */
	unsigned long acked_synced;      /* acked as Redis has it */
	unsigned long hin;               /* client stanzas handled */
	unsigned long hin_synced;
	unsigned long requested;         /* out when the last <r/> was sent */
	time_t request_sent;             /* an <r/> is unanswered since (0: none) */
	time_t first_unacked;            /* stanzas wait for acknowledgement since */
	long inbox_taken;                /* inbox entries consumed, not yet trimmed */
	int pull_stop;                   /* an inbox entry was not consumed */
	const char *entry;               /* the inbox envelope being delivered */
	int in_smq;                      /* ... which Redis already holds in smq */
	int took;                        /* entries conn_sm_take delivered */
	size_t unsynced_from;            /* output offset of the first stanza not
	                                    yet in Redis (SIZE_MAX: none) */
	struct strvec pending;           /* entries to add to smq before writing */
	int implicit;                    /* the transport acknowledges (BOSH's rid
	                                    window): no <sm/> feature, no <r/> */
	int detach_secs;                 /* > 0: a detach lasts this long, not
	                                    resume_timeout */
	/* Broadcasts read from the user's log (route.h), not as they come
	 * (BOSH: the log outlives each request's process; conn_bcast_log). */
	int bcast_log;
	int bcast_ready;                 /* a broadcast came: read the log */
	int bcast_reading;               /* one read from the log is delivered */
	char bpos[ROUTE_BCAST_ID_MAX];   /* the log read up to this entry */
	char bpos_synced[ROUTE_BCAST_ID_MAX];   /* ... as Redis has it */
};

enum conn_state {
	CS_WAIT_HEADER,     /* nothing yet, or a restart is pending */
	CS_AUTH,            /* header answered, not authenticated */
	CS_BIND,            /* authenticated (SASL), stream restarted, no resource */
	CS_SESSION,         /* resource bound: stanzas flow */
	CS_CLOSING          /* stream error sent or stream closed: flush and end */
};

/* conn_init() zeroes the members before jid and sets only the first
 * byte of the JID strings after it: those are large (JID_MAX each) and
 * mostly unused, so an idle handler never touches most of their pages.
 * Bytes after a string's terminator are unspecified; reroute_bare is
 * written before it is read. */
struct conn {
	const struct config *cfg;
	struct store *store;
	int store_ok;                    /* Redis reachable */
	struct xml_stream *xs;
	enum conn_state state;
	enum conn_phase phase;           /* the last phase before CS_CLOSING */
	int restart;                     /* a restart is due after this element */
	int header_sent;
	int legacy;                      /* pre-1.0 stream: no features */
	struct xbuf out;                 /* bytes not yet written to the client */
	unsigned long long out_written;  /* bytes written to the client so far */
	struct ackq ackq;                /* messages written but not proven read */
	int offline_more;                /* offline messages wait to be pulled */
	int offline_archived;            /* ... but not those the archive holds */
	int inbox_ready;                 /* a wake-up arrived: pull the inbox */
	int modules_woken;               /* a wake-up went to a module: flush them */
	int pull_waiting;                /* a pull stopped: unconfirmed queue full */
	time_t opened, last_input, last_heartbeat;
	time_t idle_ping_sent;           /* a silent client was pinged (0: not) */
	time_t confirm_due;              /* when to ask for a confirmation (0: not due) */
	int tls_logged;                  /* the TLS line is in the log */
	int lost;                        /* the connection was lost, not ended */
	int holding;                     /* a module may hold stanzas back (csi.c) */
	int taken;                       /* the session is another handler's now
	                                    (resumed elsewhere): leave Redis alone */
	int goes_on;                     /* the connection ends, not the session:
	                                    detached or resumed elsewhere */
	int auth_one_step;               /* conn_auth_one_step (conn.h) */
	/* Where the stream's end (error, </stream:stream>) starts in out,
	 * while nothing of out was written since (close_queued). */
	size_t close_at;
	int close_queued;
	struct sm_out sm;
	void *slots[MODULES_MAX];        /* per-module state (conn_slot) */
	struct io io;                    /* the client's bytes, plain or TLS */
	const struct framing *framing;   /* NULL: the stream is the bytes */
	void *framing_state;
	char stream_id[2 * STREAM_ID_BYTES + 1];
	char peer[128];
	char peer_ip[128];               /* the address alone, for counters */
	char end_reason[320];            /* why the stream ended, for the log */
	char domain[JID_MAX_PART];       /* served domain this stream is for */
	/* not zeroed from here on (see above) */
	struct jid jid;                  /* node+domain after auth, +resource after bind */
	char bare[JID_MAX];
	char full[JID_MAX];
	char peer_jid[JID_MAX];          /* the 'from' of the client's header */
	char reroute_bare[JID_MAX];      /* whose inbox conn_drain_inbox empties */
};

/* ---- the driver (main.c) ---- */
void conn_init(struct conn *c, const struct config *cfg, struct store *st, const char *peer,
    int rfd, int wfd);
/* Redis was reached (or not) when the handler started. */
void conn_set_storage(struct conn *c, int reachable);
/* Direct TLS (XEP-0368): TLS from the first byte. -1 (logged) when no
 * certificate can be loaded. */
int conn_direct_tls(struct conn *c);
/* A layer between the client's bytes and the stream (xmpp-web's
 * WebSocket frames, web/ws.h). Installed before the first byte is fed
 * (conn_set_framing); the connection then owns the state f. */
struct framing {
	/* The client's bytes: the stream's bytes within go to stream_parse
	 * (conn_input flushes the modules once the whole read is parsed).
	 * -1 once the layer is closing (error says why). */
	int (*input)(void *f, struct conn *c, const char *buf, size_t len);
	/* Frame what out holds and write it; consume out as it goes. -1: the
	 * client is gone (io->err). */
	int (*flush)(void *f, struct io *io, struct xbuf *out);
	size_t (*pending)(const void *f);   /* framed bytes not yet written */
	const char *(*error)(const void *f);
	void (*free)(void *f);
};
void conn_set_framing(struct conn *c, const struct framing *ops, void *f);
/* Read what the client sent: > 0 bytes, 0 nothing yet, -1 it is gone
 * (the connection is then closing). */
long conn_read(struct conn *c, char *buf, size_t len);
/* Feed bytes from the client. */
void conn_input(struct conn *c, const char *buf, size_t len);
/* Feed the XML stream's bytes to the parser (stream.c; the WebSocket's
 * bytes after a framing took the frames off), then flush what the
 * modules batched (conn_flush_modules): the end of a read. stream_parse
 * leaves the flush to its caller, for a framing that feeds a read's
 * frames one by one: a read's work is still one batch. */
void stream_feed(struct conn *c, const char *buf, size_t len);
void stream_parse(struct conn *c, const char *buf, size_t len);
/* A payload published to one of our channels. */
void conn_deliver(struct conn *c, const char *payload, size_t len);
/* Broadcasts come from the user's log from now on, the session having
 * read it up to entry pos (route_bcast_hold's, or sm_bcast_pos's);
 * recorded: Redis has that position already (else the next sync writes
 * it). */
void conn_bcast_log(struct conn *c, const char *pos, int recorded);
/* Deliver what the log holds after the session's position. */
void conn_bcast_pull(struct conn *c);
/* After the subscriber was read: read the broadcast log if a broadcast
 * came for it, flush the modules that got wake-ups, take the inbox if a
 * wake-up came for it. */
void conn_after_wakeups(struct conn *c);
/* Timers: authentication and idle timeouts, unconfirmed messages, the
 * session heartbeat. Returns the seconds until the next is due. */
int conn_tick(struct conn *c, time_t now);
/* Poll events wanted on the client's descriptor. */
short conn_poll_events(const struct conn *c);
/* The stream is closing: flush and end. */
int conn_closing(const struct conn *c);
/* 1 once a resource is bound: the login phase is over. */
int conn_logged_in(const struct conn *c);
/* Bytes queued for the client and not yet written. */
size_t conn_output_pending(const struct conn *c);
/* Write queued output as far as the client takes it; -1 it is gone. */
int conn_flush(struct conn *c);
/* Input ended (EOF or error) without </stream:stream>. */
void conn_eof(struct conn *c, const char *why);
/* Leave Redis tidy (session record removed, what the client did not
 * confirm routed again); call once at the end. */
void conn_finish(struct conn *c);
void conn_free(struct conn *c);

/* ---- between conn.c and stream.c ---- */
/* stream.c: the parser's callbacks, and a fresh stream id. */
const struct xml_stream_cb *stream_callbacks(void);
void stream_new_id(struct conn *c);
/* The stream's end is about to be queued (for conn_sm_flush, which may
 * drop stanzas queued before it but never the end). */
void conn_mark_close(struct conn *c);
/* message, presence or iq (RFC 6120 8). */
int conn_is_stanza_name(const char *n);
/* Walk the modules' flush hooks (next: the element about to be handled). */
void conn_flush_modules(struct conn *c, const struct xml_node *next);
/* The client's confirmation of delivered messages, or of the idle ping:
 * 1 if el was one (consumed). */
int conn_take_confirmation(struct conn *c, const struct xml_node *el);
/* Take what waits for this session in Redis as far as the client keeps up. */
void conn_pull(struct conn *c);
/* A stream error with an application-specific condition element app
 * (XML, or NULL) after the text. */
void conn_stream_error_app(struct conn *c, const char *cond, const char *text, const char *app);
/* The session is now bound to resource (already in the session record):
 * subscribe and start delivering. 0 or XE_REDIS (nothing changed). */
int conn_session_start(struct conn *c, const char *resource);

/* ---- stream management (sm.c) ---- */
/* A stanza was queued at output offset start (to the end of out). */
void conn_sm_count(struct conn *c, size_t start);
/* A client stanza was handled. */
void conn_sm_handled(struct conn *c);
/* Before writing: record in Redis what is about to be written. -1 when
 * the session is not ours any more or Redis failed (the stream is then
 * closing, the unrecorded output dropped). */
int conn_sm_flush(struct conn *c);
/* The client closed its stream with everything written: all read. */
void conn_sm_closed(struct conn *c);
/* The connection ends: 1 if the session was detached (resumable) and
 * must be left as it is, else 0. */
int conn_sm_detach(struct conn *c);
/* The session ends for good: its unacknowledged stanzas go back to its
 * inbox (owned by id; "" whoever). */
void conn_sm_end(struct conn *c, const char *bare, const char *resource, const char *id);
/* Enable stream management for the bound session (the core of
 * <enable/>): id (idsz >= SM_ID_MAX) gets its new XEP-0198 id. 0; -1
 * the resource is another handler's (the stream is closing); -2 Redis
 * failed (logged). */
int conn_sm_start(struct conn *c, int resume, char *id, size_t idsz);
/* Resume session previd of the authenticated account, the client having
 * handled h stanzas (the core of <resume/>): the unacknowledged entries
 * after the first skip go to replay (to be written after whatever
 * announces the resumption), *hin the client's count. SM_RESUMED (then
 * call conn_sm_resumed once replay is queued), SM_GONE, SM_UNKNOWN,
 * SM_TOOHIGH (router/sm.h), or an xerr.h code (with XE_REDIS the stream
 * may be closing already). */
int conn_sm_resume(struct conn *c, const char *previd, unsigned long h, unsigned long skip,
    unsigned long *hin, struct xbuf *replay);
void conn_sm_resumed(struct conn *c);
/* Room for more unacknowledged stanzas. */
int conn_sm_room(const struct conn *c);
/* Take up to max inbox entries in the sync itself, each delivered as it
 * comes (one round trip instead of a read and a sync): only while no
 * module holds stanzas back, so that every entry taken is written.
 * Returns how many, or -1 (the stream is closing). */
int conn_sm_take(struct conn *c, int max);

#endif
