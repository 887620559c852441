/*
 * stream.c - one server-to-server XML stream (stream.h).
 */
#include "stream.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_open(void *ctx, struct xml_node *root, const char *default_ns)
{
	struct s2s_stream *s = ctx;
	if (s->cb->open)
		s->cb->open(s->arg, s, root, default_ns);
}

static void on_element(void *ctx, struct xml_node *el)
{
	struct s2s_stream *s = ctx;
	if (s->closing) {
		xml_free(el);
		return;
	}
	s->cb->element(s->arg, s, el);
	if (s->restart)
		xml_stream_stop(s->xs);
}

static void on_close(void *ctx)
{
	struct s2s_stream *s = ctx;
	if (s->closing)
		return;
	if (s->cb->close)
		s->cb->close(s->arg, s);
	if (!s->closing)
		s2s_stream_end(s);
	snprintf(s->err, sizeof s->err, "the peer closed its stream");
}

static void on_error(void *ctx, const char *condition, const char *reason)
{
	struct s2s_stream *s = ctx;
	if (s->closing)
		return;
	if (s->cb->error)
		s->cb->error(s->arg, s, condition, reason);
	else
		s2s_stream_error(s, condition, reason);
}

static const struct xml_stream_cb parser_cb = { on_open, on_element, on_close, on_error };

int s2s_stream_init(struct s2s_stream *s, int rfd, int wfd, size_t max_stanza, int max_depth,
    int max_attrs, const struct s2s_stream_cb *cb, void *arg)
{
	struct xml_limits lim = { max_stanza, max_depth, max_attrs };

	memset(s, 0, sizeof *s);
	io_init(&s->io, rfd, wfd);
	s->cb = cb;
	s->arg = arg;
	s->ns = NS_SERVER;
	s->xs = xml_stream_new(&lim, &parser_cb, s);
	if (!s->xs) {
		snprintf(s->err, sizeof s->err, "no parser");
		return -1;
	}
	return 0;
}

void s2s_stream_free(struct s2s_stream *s)
{
	if (s->xs)
		xml_stream_free(s->xs);
	s->xs = NULL;
	io_free(&s->io);
	xbuf_free(&s->out);
}

void s2s_stream_header(struct s2s_stream *s, const char *from, const char *to, const char *id)
{
	xbuf_adds(&s->out, "<?xml version='1.0'?><stream:stream xmlns='");
	xbuf_adds(&s->out, s->ns);
	xbuf_adds(&s->out, "' xmlns:stream='" NS_STREAMS "'");
	if (!strcmp(s->ns, NS_SERVER))
		xbuf_adds(&s->out, " xmlns:db='" NS_DIALBACK "' version='1.0'");
	if (from) {
		xbuf_adds(&s->out, " from='");
		xbuf_add_esc(&s->out, from, strlen(from));
		xbuf_adds(&s->out, "'");
	}
	if (to) {
		xbuf_adds(&s->out, " to='");
		xbuf_add_esc(&s->out, to, strlen(to));
		xbuf_adds(&s->out, "'");
	}
	if (id) {
		xbuf_adds(&s->out, " id='");
		xbuf_add_esc(&s->out, id, strlen(id));
		xbuf_adds(&s->out, "'");
	}
	xbuf_adds(&s->out, ">");
}

void s2s_stream_send(struct s2s_stream *s, const struct xml_node *el)
{
	if (!s->closing)
		xml_write(&s->out, el, s->ns);
}

void s2s_stream_send_raw(struct s2s_stream *s, const char *xml, size_t len)
{
	if (!s->closing)
		xbuf_add(&s->out, xml, len);
}

void s2s_stream_error(struct s2s_stream *s, const char *condition, const char *text)
{
	if (s->closing)
		return;
	xbuf_adds(&s->out, "<stream:error><");
	xbuf_adds(&s->out, condition);
	xbuf_adds(&s->out, " xmlns='" NS_STREAM_ERRORS "'/>");
	if (text) {
		xbuf_adds(&s->out, "<text xmlns='" NS_STREAM_ERRORS "'>");
		xbuf_add_esc(&s->out, text, strlen(text));
		xbuf_adds(&s->out, "</text>");
	}
	xbuf_adds(&s->out, "</stream:error>");
	snprintf(s->err, sizeof s->err, "stream error %s%s%s", condition, text ? ": " : "",
	    text ? text : "");
	s2s_stream_end(s);
}

void s2s_stream_end(struct s2s_stream *s)
{
	if (s->closing)
		return;
	xbuf_adds(&s->out, "</stream:stream>");
	s->closing = 1;
}

void s2s_stream_restart(struct s2s_stream *s)
{
	s->restart = 1;
}

int s2s_stream_tls(struct s2s_stream *s, struct tls *t)
{
	if (io_tls_attach(&s->io, t) == -1) {
		snprintf(s->err, sizeof s->err, "%s", s->io.err);
		return -1;
	}
	return 0;
}

short s2s_stream_events(const struct s2s_stream *s)
{
	return io_events(&s->io, s->out.len > 0);
}

/* Feed len bytes, resetting the parser where a restart was asked for. */
static int feed(struct s2s_stream *s, const char *buf, size_t len)
{
	size_t used;
	int r;

	while (len && !s->closing) {
		used = 0;
		r = xml_stream_feed(s->xs, buf, len, &used);
		if (r == XML_FEED_ERROR)
			return 0;             /* on_error queued the stream error */
		if (r != XML_FEED_RESTART)
			return 0;
		s->restart = 0;
		if (xml_stream_reset(s->xs) == -1) {
			s2s_stream_error(s, "internal-server-error", "parser reset failed");
			return 0;
		}
		buf += used;
		len -= used;
	}
	return 0;
}

int s2s_stream_read(struct s2s_stream *s)
{
	char buf[S2S_READ_CHUNK];
	long n;

	for (;;) {
		n = io_read(&s->io, buf, sizeof buf);
		if (n < 0) {
			if (!s->err[0] || !s->closing)
				snprintf(s->err, sizeof s->err, "%s", s->io.err);
			return -1;
		}
		if (n == 0)
			return 0;
		if (!s->closing && s->limit && rate_take(s->limit, n) == -1)
			s2s_stream_error(s, "policy-violation", "sending too fast");
		if (!s->closing)
			feed(s, buf, (size_t)n);
		/* TLS may hold more than one read's worth already decrypted. */
		if ((size_t)n < sizeof buf)
			return 0;
	}
}

int s2s_stream_flush(struct s2s_stream *s)
{
	if (io_flush(&s->io, &s->out) == -1) {
		snprintf(s->err, sizeof s->err, "%s", s->io.err);
		return -1;
	}
	return 0;
}

int s2s_stream_done(const struct s2s_stream *s)
{
	return s->closing && !s->out.len;
}

void s2s_stream_refuse(const char *ns, const char *why)
{
	char msg[512];
	/* XEP-0114's streams carry no version. */
	int n = snprintf(msg, sizeof msg, "<?xml version='1.0'?><stream:stream xmlns='%s' "
	    "xmlns:stream='" NS_STREAMS "'%s><stream:error><internal-server-error "
	    "xmlns='" NS_STREAM_ERRORS "'/></stream:error></stream:stream>", ns,
	    strcmp(ns, NS_COMPONENT) ? " version='1.0'" : "");

	log_msg(LOG_ERR, "refusing connection: %s", why);
	if (write(STDOUT_FILENO, msg, (size_t)n) == -1)
		log_msg(LOG_ERR, "write: %s", strerror(errno));
	exit(111);
}

void s2s_peer_name(char *out, size_t outsz)
{
	const char *a = getenv("REMOTE_ADDR"), *p = getenv("REMOTE_PORT");
	snprintf(out, outsz, "%s%s%s", a ? a : "?", p ? ":" : "", p ? p : "");
}
