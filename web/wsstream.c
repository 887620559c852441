/*
 * wsstream.c - a WebSocket (ws.h) as the framing of one XMPP stream
 * (conn-int.h's struct framing): what arrives in frames goes to the
 * stream's parser, what the stream writes goes out in frames.
 */
#include "wsstream.h"
#include "conn-int.h"
#include "ws.h"

static void feed(void *arg, const char *xml, size_t len)
{
	stream_parse(arg, xml, len);
}

static int input(void *f, struct conn *c, const char *buf, size_t len)
{
	return ws_input(f, buf, len, feed, c);
}

static int flush(void *f, struct io *io, struct xbuf *out)
{
	return ws_flush(f, io, out);
}

static size_t pending(const void *f)
{
	return ws_pending(f);
}

static const char *error(const void *f)
{
	return ws_error(f);
}

static void release(void *f)
{
	ws_free(f);
}

static const struct framing ws_framing = { input, flush, pending, error, release };

void wsstream_attach(struct conn *c, struct ws *w)
{
	conn_set_framing(c, &ws_framing, w);
}
