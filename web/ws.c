/*
 * ws.c - XMPP over WebSocket (RFC 7395): the upgrade, the frames, and
 * RFC 7395 framing in and out (ws.h).
 *
 * The request head is parsed by libhttp-parser (http.c) and the frames
 * by libwslay, not here: both run before authentication on untrusted
 * bytes, and both are small, fuzzed and widely deployed (node.js,
 * nghttp2).
 */
#include "ws.h"
#include "http.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"
#include "xmlout.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <http_parser.h>
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <wslay/wslay.h>

#define WS_HEAD_MAX     8192    /* the request head, all of it */
#define HTTP_VALUE_MAX    1024    /* one header's value (repeats joined) */
#define WS_NAME_MAX     64      /* a header name we care about is shorter */
#define WS_KEY_BYTES    16      /* RFC 6455 4.1: the decoded key's size */
#define WS_VERSION      "13"
#define WS_PROTOCOL     "xmpp"
#define WS_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  /* RFC 6455 1.3 */
#define NS_FRAMING      "urn:ietf:params:xml:ns:xmpp-framing"
#define FRAMING_OPEN    "<open xmlns='" NS_FRAMING "'"
#define FRAMING_CLOSE   "<close xmlns='" NS_FRAMING "'/>"

struct ws {
	wslay_event_context_ptr ctx;
	const char *in;          /* ws_input's bytes, for the recv callback */
	size_t in_len;
	struct xbuf wire;        /* frames not yet written */
	size_t taken;            /* bytes of out framed into wire */
	int closing;             /* our close frame is queued: frame no more */
	int close_next;          /* queue it after the frames now queued */
	ws_feed_fn *feed;
	void *feed_arg;
	char err[128];
};

/* ---- the upgrade ---- */

/* 1 if key is the base64 of WS_KEY_BYTES bytes (RFC 6455 4.2.1 item 5). */
static int key_valid(const char *key, size_t len)
{
	struct base64_decode_ctx b;
	uint8_t raw[BASE64_DECODE_LENGTH(HTTP_VALUE_MAX)];
	size_t n = sizeof raw;

	base64_decode_init(&b);
	return base64_decode_update(&b, &n, raw, len, key) && base64_decode_final(&b) &&
	    n == WS_KEY_BYTES;
}

static void accept_value(const char *key, size_t len, char *out)
{
	struct sha1_ctx s;
	uint8_t digest[SHA1_DIGEST_SIZE];

	sha1_init(&s);
	sha1_update(&s, len, (const uint8_t *)key);
	sha1_update(&s, sizeof WS_GUID - 1, (const uint8_t *)WS_GUID);
	sha1_digest(&s, sizeof digest, digest);
	base64_encode_raw(out, sizeof digest, digest);
	out[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
}

/* Refuse the upgrade with status (its reason phrase included). */
static void refuse(const struct http_req *req, const char *status, const char *extra)
{
	if (http_respond(req, status, extra, NULL, NULL, 0) == -1)
		log_msg(LOG_INFO, "websocket: refusal not written: %s", strerror(errno));
}

/* The RFC 6455 4.2.1 and RFC 7395 3.2 checks: NULL if the upgrade is
 * acceptable, else the status to refuse it with (why says why). */
static const char *check_head(const struct config *cfg, const struct http_req *h,
    const char **extra, char *why, size_t whylen)
{
	*extra = NULL;
	if (h->too_long) {
		snprintf(why, whylen, "header value over %d bytes", HTTP_VALUE_MAX);
		return "400 Bad Request";
	}
	if (h->method != HTTP_GET || h->http_major != 1 || h->http_minor < 1) {
		snprintf(why, whylen, "not a GET over HTTP/1.1");
		return "400 Bad Request";
	}
	if (!h->seen[HH_HOST] || !http_list_has(h->value[HH_UPGRADE], "websocket", 1) ||
	    !http_list_has(h->value[HH_CONNECTION], "upgrade", 1)) {
		snprintf(why, whylen, "not a WebSocket upgrade");
		return "400 Bad Request";
	}
	if (strcmp(h->value[HH_WS_VERSION], WS_VERSION)) {
		snprintf(why, whylen, "WebSocket version '%s'", h->value[HH_WS_VERSION]);
		*extra = "Sec-WebSocket-Version: " WS_VERSION "\r\n";
		return "426 Upgrade Required";
	}
	if (!key_valid(h->value[HH_WS_KEY], h->value_len[HH_WS_KEY])) {
		snprintf(why, whylen, "bad Sec-WebSocket-Key");
		return "400 Bad Request";
	}
	/* Origin guards browsers' users against other sites' scripts; other
	 * clients send none (and could send any): they are not refused. */
	if (h->seen[HH_ORIGIN] &&
	    !config_ws_origin(cfg, h->value[HH_ORIGIN], h->value_len[HH_ORIGIN])) {
		snprintf(why, whylen, "origin '%s' refused", h->value[HH_ORIGIN]);
		return "403 Forbidden";
	}
	/* RFC 7395 3.2: without "xmpp" this is not an XMPP connection, and
	 * accepting it without a subprotocol would make the client close
	 * it anyway: say so at once. */
	if (!http_list_has(h->value[HH_WS_PROTOCOL], WS_PROTOCOL, 0)) {
		snprintf(why, whylen, "no '" WS_PROTOCOL "' in Sec-WebSocket-Protocol");
		return "400 Bad Request";
	}
	return NULL;
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct ws *w = arg;
	(void)flags;
	if (!w->in_len) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > w->in_len)
		len = w->in_len;
	memcpy(buf, w->in, len);
	w->in += len;
	w->in_len -= len;
	return (ssize_t)len;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
    void *arg)
{
	struct ws *w = arg;
	(void)ctx;
	(void)flags;
	xbuf_add(&w->wire, (const char *)data, len);
	return (ssize_t)len;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m,
    void *arg);

struct ws *ws_accept(const struct config *cfg, const struct http_req *req, char *why,
    size_t whylen)
{
	static const struct wslay_event_callbacks cbs = {
		.recv_callback = recv_cb,
		.send_callback = send_cb,
		.on_msg_recv_callback = on_msg,
	};
	char answer[256], acc[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) + 1];
	const char *status, *extra;
	struct ws *w;
	int n;

	if ((status = check_head(cfg, req, &extra, why, whylen))) {
		refuse(req, status, extra);
		return NULL;
	}
	accept_value(req->value[HH_WS_KEY], req->value_len[HH_WS_KEY], acc);
	n = snprintf(answer, sizeof answer, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
	    "Sec-WebSocket-Protocol: " WS_PROTOCOL "\r\n\r\n", acc);
	if (http_write_all(req->wfd, answer, (size_t)n) == -1) {
		snprintf(why, whylen, "upgrade not written: %s", strerror(errno));
		return NULL;
	}
	w = xcalloc(1, sizeof *w);
	if (wslay_event_context_server_init(&w->ctx, &cbs, w) != 0)
		abort();                 /* only out of memory fails */
	/* RFC 7395 3.3.3: a frame is one stanza: none may be bigger. */
	wslay_event_config_set_max_recv_msg_length(w->ctx, cfg->max_stanza_size);
	return w;
}

void ws_free(struct ws *w)
{
	if (!w)
		return;
	wslay_event_context_free(w->ctx);
	xbuf_free(&w->wire);
	free(w);
}

const char *ws_error(const struct ws *w)
{
	return w->err;
}

size_t ws_pending(const struct ws *w)
{
	return w->wire.len;
}

/* ---- frames in ---- */

/* 1 if the frame's element is RFC 7395's el (open or close). */
static int is_framing(const char *xml, size_t len, const char *el)
{
	size_t n = strlen(el);
	while (len && isspace((unsigned char)*xml))
		xml++, len--;
	return len > n + 1 && xml[0] == '<' && !strncmp(xml + 1, el, n) &&
	    strchr(" \t\r\n/>", xml[n + 1]);
}

/* <open/> becomes the stream header the parser expects (to, from and
 * version carried over); anything else that is not <open/> in the
 * framing namespace goes to the parser as it is, which refuses it. */
static void feed_open(struct ws *w, const char *xml, size_t len)
{
	static const char *const carried[] = { "to", "from", "version", NULL };
	struct xml_node *open = xml_parse_string(xml, len);
	struct xbuf b = { NULL, 0, 0 };
	const char *v;
	int i;

	if (!open || !open->ns || strcmp(open->ns, NS_FRAMING)) {
		w->feed(w->feed_arg, xml, len);
		xml_free(open);
		return;
	}
	xbuf_adds(&b, "<stream:stream xmlns='" NS_CLIENT "' xmlns:stream='" NS_STREAMS "'");
	for (i = 0; carried[i]; i++) {
		if (!(v = xml_get(open, carried[i])))
			continue;
		xbuf_addf(&b, " %s='", carried[i]);
		xbuf_add_esc(&b, v, strlen(v));
		xbuf_adds(&b, "'");
	}
	xbuf_adds(&b, ">");
	w->feed(w->feed_arg, b.p, b.len);
	xbuf_free(&b);
	xml_free(open);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m,
    void *arg)
{
	struct ws *w = arg;
	const char *xml = (const char *)m->msg;
	static const char end[] = "</stream:stream>";

	if (w->closing)
		return;
	switch (m->opcode) {
	case WSLAY_TEXT_FRAME:
		if (is_framing(xml, m->msg_length, "open"))
			feed_open(w, xml, m->msg_length);
		else if (is_framing(xml, m->msg_length, "close"))
			w->feed(w->feed_arg, end, sizeof end - 1);
		else
			w->feed(w->feed_arg, xml, m->msg_length);
		break;
	case WSLAY_BINARY_FRAME:
		/* RFC 7395 3.2: XMPP is text frames only. */
		wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, NULL, 0);
		snprintf(w->err, sizeof w->err, "binary WebSocket frame");
		w->closing = 1;
		break;
	case WSLAY_CONNECTION_CLOSE:
		snprintf(w->err, sizeof w->err, "client closed the WebSocket (%u)",
		    (unsigned)m->status_code);
		break;
	default:                         /* ping (wslay answers it), pong */
		break;
	}
}

int ws_input(struct ws *w, const char *buf, size_t len, ws_feed_fn *feed, void *arg)
{
	int r;

	w->in = buf;
	w->in_len = len;
	w->feed = feed;
	w->feed_arg = arg;
	r = wslay_event_recv(w->ctx);
	wslay_event_send(w->ctx);       /* pongs, a close frame: into wire */
	if (r != 0 && !w->err[0])
		snprintf(w->err, sizeof w->err, "WebSocket error %d", r);
	if (!w->err[0] && wslay_event_get_close_sent(w->ctx))
		snprintf(w->err, sizeof w->err, "WebSocket closed by the server (%u)",
		    (unsigned)wslay_event_get_status_code_sent(w->ctx));
	if (w->err[0]) {
		w->closing = 1;
		return -1;
	}
	return 0;
}

/* ---- frames out ---- */

static void queue_text(struct ws *w, const char *s, size_t len)
{
	struct wslay_event_msg m = { WSLAY_TEXT_FRAME, (const uint8_t *)s, len };
	if (wslay_event_queue_msg(w->ctx, &m) != 0)
		w->closing = 1;          /* a close frame went first: no more */
}

/* The stream header as <open/>: its attributes but the namespaces. */
static void frame_open(struct ws *w, const char *t, size_t tlen, size_t name_len)
{
	struct xbuf b = { NULL, 0, 0 };
	const char *name, *val;
	size_t nlen, vlen, i = 1 + name_len;

	xbuf_adds(&b, FRAMING_OPEN);
	while (xmlout_attr_next(t, tlen, &i, &name, &nlen, &val, &vlen))
		if (!xmlout_attr_is_ns(name, nlen)) {
			xbuf_adds(&b, " ");
			xbuf_add(&b, name, nlen);
			xbuf_adds(&b, "=");
			xbuf_add(&b, val, vlen);
		}
	xbuf_adds(&b, "/>");
	queue_text(w, b.p, b.len);
	xbuf_free(&b);
}

/* One top-level item as a frame of its own: RFC 7395 3.3.3 wants each
 * frame to parse alone (xmlout_element declares the namespaces). */
static int frame_item(void *arg, enum xmlout_item kind, const char *p, size_t len,
    size_t tlen, size_t name_len)
{
	struct ws *w = arg;
	struct xbuf b = { NULL, 0, 0 };

	switch (kind) {
	case XO_HEADER:
		frame_open(w, p, tlen, name_len);
		break;
	case XO_END:
		queue_text(w, FRAMING_CLOSE, sizeof FRAMING_CLOSE - 1);
		w->close_next = w->closing = 1;
		break;
	case XO_ELEMENT:
		xmlout_element(&b, p, len, tlen, name_len);
		queue_text(w, b.p, b.len);
		xbuf_free(&b);
		break;
	}
	return w->closing;
}

/* Frame the complete top-level items of p: the bytes used. Once
 * closing, the rest can never be sent: drop it. */
static size_t frame_output(struct ws *w, const char *p, size_t n)
{
	size_t used = xmlout_split(p, n, frame_item, w);
	return w->closing ? n : used;
}

int ws_flush(struct ws *w, struct io *io, struct xbuf *out)
{
	int r;

	if (!w->wire.len && !w->taken && out->len) {
		w->taken = frame_output(w, out->p, out->len);
		wslay_event_send(w->ctx);
	}
	/* wslay sends control frames before data: the close frame is queued
	 * once the data frames before it are in wire. */
	if (w->close_next) {
		w->close_next = 0;
		wslay_event_queue_close(w->ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
		wslay_event_send(w->ctx);
	}
	r = io_flush(io, &w->wire);
	if (!w->wire.len && w->taken) {
		xbuf_consume(out, w->taken);
		w->taken = 0;
	}
	return r;
}
