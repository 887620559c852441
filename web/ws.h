/*
 * ws.h - XMPP over WebSocket (RFC 7395), for xmpp-web: the HTTP/1.1
 * upgrade (RFC 6455 4.2), WebSocket frames (libwslay), and the translation
 * between RFC 7395 framing and the ordinary stream the rest of the
 * handler speaks:
 *
 *   in:  <open/> -> a <stream:stream> header for the parser, <close/> ->
 *        </stream:stream>, any other text frame -> its bytes as they are;
 *   out: the stream header -> <open/>, </stream:stream> -> <close/> and a
 *        close frame, every other top-level element -> one text frame,
 *        with the namespace declarations it inherited from the header.
 *
 * The connection is plain TCP: TLS (wss) is a reverse proxy's.
 */
#ifndef XMPPD_WS_H
#define XMPPD_WS_H

#include <stddef.h>
#include "io.h"
#include "xml.h"

struct config;
struct http_req;
struct ws;

/* Where the stream's bytes translated from frames go (stream.c's parser). */
typedef void ws_feed_fn(void *arg, const char *xml, size_t len);

/* Answer req (http.h), an upgrade request for the stream: 101 Switching
 * Protocols and a new WebSocket, or NULL when it was refused with an HTTP
 * error (why says why). The bytes that came after the head are the first
 * frames: ws_input them. */
struct ws *ws_accept(const struct config *cfg, const struct http_req *req, char *why,
    size_t whylen);
void ws_free(struct ws *w);
/* Bytes from the client: each text frame's content, translated, goes to
 * feed. -1 once the WebSocket is closing (ws_error says why): a close
 * frame from the client, or one of ours (a binary frame: 1003, a frame
 * over max_stanza_size: 1009, a protocol error: 1002). */
int ws_input(struct ws *w, const char *buf, size_t len, ws_feed_fn *feed, void *arg);
const char *ws_error(const struct ws *w);
/* Frame what out holds, element by element, and write the frames. What
 * out held is consumed once its frames are written. -1: io failed. */
int ws_flush(struct ws *w, struct io *io, struct xbuf *out);
/* Bytes of frames not yet written. */
size_t ws_pending(const struct ws *w);

#endif
