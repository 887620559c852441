/*
 * stream.h - one server-to-server XML stream (RFC 6120 with the
 * jabber:server namespace and XEP-0220's jabber:server:dialback), in
 * either direction: the bytes through handler/io.h (plain, then TLS
 * after STARTTLS or from the first byte, XEP-0368), parsed by lib/xml.h's
 * stream parser into the header and top-level elements, which go to the
 * owner's callbacks. The owner (xmpp-s2s-in's stream, xmpp-s2s-out's
 * connection) decides what they mean and runs its own poll loop with
 * s2s_stream_events / s2s_stream_read / s2s_stream_flush, so that it can
 * watch Redis beside the socket.
 *
 * Contract: nothing blocks. After a stream error (ours or the peer's),
 * or the peer's </stream:stream>, the stream is closing: what is queued
 * is flushed, input is ignored, and the owner ends it.
 */
#ifndef XMPPD_S2S_STREAM_H
#define XMPPD_S2S_STREAM_H

#include <stddef.h>
#include "io.h"
#include "rate.h"
#include "xml.h"

#define NS_SERVER        "jabber:server"
#define NS_DIALBACK      "jabber:server:dialback"
#define NS_STREAMS       "http://etherx.jabber.org/streams"
#define NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"
#define NS_TLS           "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL          "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_DIALBACK_FEATURE "urn:xmpp:features:dialback"
#define NS_COMPONENT     "jabber:component:accept"   /* XEP-0114 */
#define S2S_STREAM_ID_MAX 64
#define S2S_READ_CHUNK    16384

struct s2s_stream;
struct s2s_stream_cb {
	/* The peer's header: root holds its attributes (from, to, id,
	 * version); default_ns is the namespace it declared. */
	void (*open)(void *arg, struct s2s_stream *s, struct xml_node *root,
	    const char *default_ns);
	/* A top-level element; the callee owns it. */
	void (*element)(void *arg, struct s2s_stream *s, struct xml_node *el);
	/* The peer closed its stream (</stream:stream>). */
	void (*close)(void *arg, struct s2s_stream *s);
	/* The peer's bytes are not a stream (condition, RFC 6120 4.9.3); the
	 * owner sends the stream error (its header first, if none went out
	 * yet). NULL: s2s_stream_error. */
	void (*error)(void *arg, struct s2s_stream *s, const char *condition, const char *text);
};

struct s2s_stream {
	struct io io;
	struct xml_stream *xs;
	struct xbuf out;
	const struct s2s_stream_cb *cb;
	void *arg;
	const char *ns;              /* the stream's default namespace:
	                                NS_SERVER, or NS_COMPONENT (set by the
	                                owner after s2s_stream_init) */
	int closing;                 /* nothing more is read; flush and end */
	int restart;                 /* the parser starts a new document after
	                                the current element (STARTTLS, SASL) */
	struct rate *limit;          /* the peer's bytes, or NULL: no limit */
	char err[256];               /* why it is closing, for the log */
};

/* Start a stream over rfd/wfd with the configured XML limits. 0, or -1
 * (err set). */
int s2s_stream_init(struct s2s_stream *s, int rfd, int wfd, size_t max_stanza, int max_depth,
    int max_attrs, const struct s2s_stream_cb *cb, void *arg);
void s2s_stream_free(struct s2s_stream *s);

/* Queue our stream header: from, to (NULL: left out), id (NULL: none,
 * the initiating side's); for NS_SERVER version 1.0 with the dialback
 * namespace declared, for NS_COMPONENT neither (XEP-0114 has no
 * features). */
void s2s_stream_header(struct s2s_stream *s, const char *from, const char *to, const char *id);
/* Queue an element (written in the stream's default namespace). */
void s2s_stream_send(struct s2s_stream *s, const struct xml_node *el);
/* Queue bytes as they are (one complete element). */
void s2s_stream_send_raw(struct s2s_stream *s, const char *xml, size_t len);
/* Queue <stream:error> with condition (RFC 6120 4.9.3) and an optional
 * text, then </stream:stream>; the stream is closing. */
void s2s_stream_error(struct s2s_stream *s, const char *condition, const char *text);
/* Queue </stream:stream>; the stream is closing once it is written. */
void s2s_stream_end(struct s2s_stream *s);
/* The next bytes belong to a new document (after <proceed/> or SASL
 * <success/>): the parser is reset once the current element is done. */
void s2s_stream_restart(struct s2s_stream *s);
/* TLS from now on, with session t (handler/tls.h; the stream owns it),
 * once what is queued is written. 0, or -1 (err set). */
int s2s_stream_tls(struct s2s_stream *s, struct tls *t);

/* Poll events for the socket. */
short s2s_stream_events(const struct s2s_stream *s);
/* Read what the peer sent and feed it to the parser (the callbacks run
 * from here). 0, or -1 when the peer is gone (err set). */
int s2s_stream_read(struct s2s_stream *s);
/* Write what is queued as far as the socket takes it. 0, or -1 when the
 * peer is gone (err set). */
int s2s_stream_flush(struct s2s_stream *s);
/* 1 when closing and everything queued is written: the owner ends. */
int s2s_stream_done(const struct s2s_stream *s);

/* For the programs that serve one stream on stdin/stdout (xmpp-s2s-in,
 * xmpp-component): a configuration or setup that fails still deserves
 * a stream error rather than a dropped socket. Writes a header in
 * namespace ns with <internal-server-error/>, logs why, and exits 111. */
void s2s_stream_refuse(const char *ns, const char *why);
/* The peer's address as socket activation names it (REMOTE_ADDR,
 * REMOTE_PORT), "?" when it does not. */
void s2s_peer_name(char *out, size_t outsz);

#endif
