/*
 * stream.c - the client stream: header, features, errors, and dispatch.
 * The state machine of RFC 6120 lives here and nowhere else:
 *
 *   WAIT_HEADER --header--> AUTH --SASL success--> (restart) WAIT_HEADER
 *     --header--> BIND --bind--> SESSION
 *   AUTH --iq:auth set (XEP-0078)--> SESSION
 *   any --stream error or </stream:stream>--> CLOSING
 */
#include "stream.h"
#include "modules.h"
#include "log.h"
#include "netaddr.h"
#include "route.h"
#include "session.h"
#include "xmalloc.h"
#include "random.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_open(void *ctx, struct xml_node *root, const char *default_ns);
static void on_element(void *ctx, struct xml_node *el);
static void on_close(void *ctx);
static void on_error(void *ctx, const char *cond, const char *reason);

static const struct xml_stream_cb stream_cb = { on_open, on_element, on_close, on_error };

static void new_stream_id(struct conn *c)
{
	if (random_hex(c->stream_id, STREAM_ID_BYTES) < 0)
		abort();                 /* no entropy: nothing safe to do */
}

/* "1.2.3.4:5678" -> "1.2.3.4", "[::1]:5678" -> "::1", else as is; an
 * address in its canonical spelling (netaddr_canon), so that a client
 * has one failure counter however its socket showed it. */
static void peer_address(const char *peer, char *out, size_t outsz)
{
	const char *end = peer[0] == '[' ? strchr(peer, ']') : strrchr(peer, ':');
	char addr[128];
	if (peer[0] == '[')
		peer++;
	if (!end || end <= peer)
		end = peer + strlen(peer);
	snprintf(addr, sizeof addr, "%.*s", (int)(end - peer), peer);
	if (netaddr_canon(addr, out, outsz) == -1)
		snprintf(out, outsz, "%s", addr);
}

void conn_init(struct conn *c, const struct config *cfg, struct store *st, const char *peer,
    int rfd, int wfd)
{
	struct xml_limits lim;
	memset(c, 0, sizeof *c);
	c->cfg = cfg;
	c->store = st;
	c->state = CS_WAIT_HEADER;
	io_init(&c->io, rfd, wfd);
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	peer_address(peer, c->peer_ip, sizeof c->peer_ip);
	snprintf(c->domain, sizeof c->domain, "%s", cfg->domains[0]);
	lim.max_stanza = cfg->max_stanza_size;
	lim.max_depth = cfg->max_depth;
	lim.max_attrs = cfg->max_attrs;
	c->xs = xml_stream_new(&lim, &stream_cb, c);
	if (!c->xs)
		abort();
	c->opened = c->last_input = c->last_heartbeat = time(NULL);
	new_stream_id(c);
	log_set_context(peer, c->stream_id, NULL);
}

void conn_free(struct conn *c)
{
	xml_stream_free(c->xs);
	io_free(&c->io);
	xbuf_free(&c->out);
	xbuf_free(&c->directed);
	free(c->last_presence);
	ackq_drain(c, NULL);
}

/* ---- output ---- */

void conn_send(struct conn *c, const struct xml_node *n)
{
	if (c->state == CS_CLOSING)
		return;
	xml_write(&c->out, n, NS_CLIENT);
}

void conn_send_raw(struct conn *c, const char *s)
{
	if (c->state == CS_CLOSING)
		return;
	xbuf_adds(&c->out, s);
}

static void send_header(struct conn *c)
{
	xbuf_addf(&c->out, "<?xml version='1.0'?><stream:stream xmlns='" NS_CLIENT
	    "' xmlns:stream='" NS_STREAMS "' id='%s' ", c->stream_id);
	if (c->peer_jid[0]) {
		/* RFC 6120 4.7.2: answer the client's 'from' with our 'to'. */
		xbuf_adds(&c->out, "to='");
		xbuf_add_esc(&c->out, c->peer_jid, strlen(c->peer_jid));
		xbuf_adds(&c->out, "' ");
	}
	xbuf_adds(&c->out, "from='");
	xbuf_add_esc(&c->out, c->domain, strlen(c->domain));
	/* RFC 6120 4.7.5: a pre-1.0 client gets a header without version. */
	xbuf_adds(&c->out, c->legacy ? "' xml:lang='en'>" : "' version='1.0' xml:lang='en'>");
	c->header_sent = 1;
}

void conn_stream_error(struct conn *c, const char *cond, const char *text)
{
	if (c->state == CS_CLOSING)
		return;
	if (!c->header_sent)
		send_header(c);
	xbuf_addf(&c->out, "<stream:error><%s xmlns='" NS_STREAM_ERRORS "'/>", cond);
	if (text) {
		xbuf_adds(&c->out, "<text xmlns='" NS_STREAM_ERRORS "'>");
		xbuf_add_esc(&c->out, text, strlen(text));
		xbuf_adds(&c->out, "</text>");
	}
	xbuf_adds(&c->out, "</stream:error></stream:stream>");
	snprintf(c->end_reason, sizeof c->end_reason, "stream error %s%s%s", cond,
	    text ? ": " : "", text ? text : "");
	log_msg(LOG_INFO, "stream error %s (%s)", cond, text ? text : "");
	c->state = CS_CLOSING;
}

/* ---- stanza helpers ---- */

struct xml_node *stanza_reply(struct conn *c, const struct xml_node *st, const char *type)
{
	struct xml_node *r = xml_new(NS_CLIENT, st->name);
	const char *from = xml_get(st, "from"), *to = xml_get(st, "to"), *id = xml_get(st, "id");
	/* An answer comes from whom the stanza was sent to; with no 'to' the
	 * client addressed its own account (RFC 6120 10.3.3): the bare JID,
	 * or nothing before a resource is bound. */
	if (to)
		xml_set(r, "from", to);
	if (from)
		xml_set(r, "to", from);
	else if (c->state == CS_SESSION)
		xml_set(r, "to", c->full);
	if (id)
		xml_set(r, "id", id);
	if (type)
		xml_set(r, "type", type);
	return r;
}

struct xml_node *stanza_error_new(struct conn *c, const struct xml_node *st,
    const char *etype, const char *cond, const char *text)
{
	struct xml_node *r, *e, *ch;
	const char *t = xml_get(st, "type");

	if (t && !strcmp(t, "error"))
		return NULL;             /* never answer an error with an error */
	if (!strcmp(st->name, "iq") && t && !strcmp(t, "result"))
		return NULL;
	r = stanza_reply(c, st, "error");
	/* Keep the payload so the sender can match the error to its request. */
	for (ch = st->children; ch; ch = ch->next)
		if (ch->name && strcmp(ch->name, "error"))
			xml_add(r, xml_copy(ch));
	e = xml_new_child(r, NS_CLIENT, "error");
	xml_set(e, "type", etype);
	xml_new_child(e, NS_STANZA_ERRORS, cond);
	if (text)
		xml_add_text(xml_new_child(e, NS_STANZA_ERRORS, "text"), text, strlen(text));
	return r;
}

void stanza_error(struct conn *c, const struct xml_node *st, const char *etype,
    const char *cond, const char *text)
{
	struct xml_node *r = stanza_error_new(c, st, etype, cond, text);
	if (r) {
		conn_send(c, r);
		xml_free(r);
	}
}

void iq_result(struct conn *c, const struct xml_node *iq, struct xml_node *payload)
{
	struct xml_node *r = stanza_reply(c, iq, "result");
	if (payload)
		xml_add(r, payload);
	conn_send(c, r);
	xml_free(r);
}

/* ---- the header ---- */

/* RFC 6120 4.7.5: "1.0" is ours; a higher major is unsupported; none at all
 * is a pre-1.0 stream, which old iq:auth clients still open. */
static int check_version(struct conn *c, const char *v)
{
	unsigned major, minor;
	char tail;
	c->legacy = !v;
	if (v && (sscanf(v, "%u.%u%c", &major, &minor, &tail) != 2 || major != 1))
		return -1;
	return 0;
}

static void send_features(struct conn *c)
{
	struct xml_node *f;
	if (c->legacy)
		return;
	f = xml_new(NS_STREAMS, "features");
	f->prefix = xstrdup("stream");
	if (c->state == CS_AUTH) {
		if (io_tls_configured(c->cfg) && !c->io.tls) {
			struct xml_node *t = xml_new_child(f, NS_TLS, "starttls");
			if (conn_tls_required(c))
				xml_new_child(t, NS_TLS, "required");
		}
		/* Mechanisms only where they may be used (RFC 6120 5.3.1). */
		if (!conn_tls_required(c)) {
			sasl_features(c, f);
			iqauth_features(c, f);
		}
	} else {
		bind_features(c, f);
	}
	/* The stream prefix is declared on the header: write it bare. */
	xbuf_adds(&c->out, "<stream:features>");
	{
		struct xml_node *ch;
		for (ch = f->children; ch; ch = ch->next)
			xml_write(&c->out, ch, NS_CLIENT);
	}
	xbuf_adds(&c->out, "</stream:features>");
	xml_free(f);
}

static void on_open(void *ctx, struct xml_node *root, const char *default_ns)
{
	struct conn *c = ctx;
	const char *to = xml_get(root, "to"), *from = xml_get(root, "from");
	struct jid j;

	if (c->state == CS_CLOSING)
		return;
	if (!root->ns || strcmp(root->ns, NS_STREAMS) || strcmp(root->name, "stream")) {
		conn_stream_error(c, "invalid-namespace", "not a stream header");
		return;
	}
	if (strcmp(default_ns, NS_CLIENT)) {
		conn_stream_error(c, "invalid-namespace", "default namespace must be jabber:client");
		return;
	}
	if (to) {
		if (jid_parse(to, &j) == -1 || j.node[0] || j.resource[0] ||
		    !config_serves(c->cfg, j.domain)) {
			conn_stream_error(c, "host-unknown", NULL);
			return;
		}
		if (c->jid.domain[0] && strcmp(j.domain, c->jid.domain)) {
			conn_stream_error(c, "host-unknown", "domain changed on restart");
			return;
		}
		snprintf(c->domain, sizeof c->domain, "%s", j.domain);
	}
	c->peer_jid[0] = '\0';
	if (from && jid_parse(from, &j) == 0)
		jid_full(&j, c->peer_jid, sizeof c->peer_jid);
	if (c->header_sent) {
		/* RFC 6120 4.3.2: every stream, restarts included, has its own id. */
		new_stream_id(c);
		log_set_context(NULL, c->stream_id, NULL);
	}
	if (check_version(c, xml_get(root, "version")) == -1) {
		conn_stream_error(c, "unsupported-version", NULL);
		return;
	}
	send_header(c);
	if (!c->store_ok) {
		conn_stream_error(c, "internal-server-error", "storage unavailable");
		return;
	}
	c->state = c->jid.node[0] ? CS_BIND : CS_AUTH;
	send_features(c);
}

static void on_close(void *ctx)
{
	struct conn *c = ctx;
	if (c->state != CS_CLOSING) {
		/* An orderly goodbye: the client has read what was written to
		 * it before (it would otherwise see the same messages again,
		 * from offline storage, at its next login). What is still
		 * queued here was never written and is routed again. */
		ackq_confirm_written(c, c->out_written);
		xbuf_adds(&c->out, "</stream:stream>");
		snprintf(c->end_reason, sizeof c->end_reason, "closed by client");
		c->state = CS_CLOSING;
	}
}

static void on_error(void *ctx, const char *cond, const char *reason)
{
	conn_stream_error(ctx, cond, reason);
}

/* ---- dispatch ---- */

static int is_stanza_name(const char *n)
{
	return !strcmp(n, "message") || !strcmp(n, "presence") || !strcmp(n, "iq");
}

/* RFC 6120 8.2.3: an IQ needs an id and a known type; get/set carry
 * exactly one payload element. Answers bad-request and returns -1 if not. */
static int iq_valid(struct conn *c, struct xml_node *iq)
{
	const char *type = xml_get(iq, "type"), *id = xml_get(iq, "id");
	struct xml_node *ch;
	int n = 0;

	if (!type || (strcmp(type, "get") && strcmp(type, "set") &&
	    strcmp(type, "result") && strcmp(type, "error"))) {
		stanza_error(c, iq, "modify", "bad-request", "missing or unknown IQ type");
		return -1;
	}
	if (!id || !*id) {
		stanza_error(c, iq, "modify", "bad-request", "IQ without id");
		return -1;
	}
	if (!strcmp(type, "get") || !strcmp(type, "set")) {
		for (ch = iq->children; ch; ch = ch->next)
			n += ch->name != NULL;
		if (n != 1) {
			stanza_error(c, iq, "modify", "bad-request",
			    "IQ get/set needs exactly one payload");
			return -1;
		}
	}
	return 0;
}

int conn_tls_required(const struct conn *c)
{
	return io_tls_configured(c->cfg) && !c->cfg->allow_plaintext_auth && !c->io.tls;
}

/* RFC 6120 5.4.2: <starttls/> -> <proceed/>, TLS, a new stream. */
static void starttls(struct conn *c)
{
	if (c->io.tls) {
		conn_stream_error(c, "policy-violation", "TLS is already up");
		return;
	}
	if (!io_tls_configured(c->cfg) || io_tls_prepare(&c->io, c->cfg) == -1) {
		log_msg(LOG_ERR, "STARTTLS refused: %s", c->io.err[0] ? c->io.err : "no certificate");
		xbuf_adds(&c->out, "<failure xmlns='" NS_TLS "'/></stream:stream>");
		snprintf(c->end_reason, sizeof c->end_reason, "TLS unavailable");
		c->state = CS_CLOSING;
		return;
	}
	xbuf_adds(&c->out, "<proceed xmlns='" NS_TLS "'/>");
	c->restart = 1;
}

static void dispatch_auth(struct conn *c, struct xml_node *el)
{
	struct xml_node *q;
	if (el->ns && !strcmp(el->ns, NS_TLS) && !strcmp(el->name, "starttls")) {
		starttls(c);
		return;
	}
	if (el->ns && !strcmp(el->ns, NS_SASL)) {
		/* Before a required STARTTLS no mechanism is offered: SASL
		 * answers <encryption-required/> (RFC 6120 6.4.5). */
		sasl_handle(c, el);
		return;
	}
	if (conn_tls_required(c)) {
		/* RFC 6120 4.9.3.12: stanzas before authentication. */
		conn_stream_error(c, "not-authorized", "STARTTLS required");
		return;
	}
	if (!strcmp(el->name, "iq") && (q = xml_first_element(el)) && q->ns &&
	    !strcmp(q->ns, NS_IQ_AUTH)) {
		if (iq_valid(c, el) == 0)
			iqauth_handle(c, el);
		return;
	}
	conn_stream_error(c, "not-authorized", "authenticate first");
}

static void dispatch_bind(struct conn *c, struct xml_node *el)
{
	if (!strcmp(el->name, "iq")) {
		if (iq_valid(c, el) == -1)
			return;
		if (bind_handle(c, el))
			return;
		if (!xml_get(el, "to") || !strcmp(xml_get(el, "to"), c->domain)) {
			serveriq_handle(c, el);
			return;
		}
	}
	conn_stream_error(c, "not-authorized", "bind a resource first");
}

static void dispatch_session(struct conn *c, struct xml_node *el)
{
	if (!strcmp(el->name, "iq")) {
		const char *type = xml_get(el, "type");
		const char *id = xml_get(el, "id");
		if (type && (!strcmp(type, "result") || !strcmp(type, "error"))) {
			if (ackq_answer(c, id)) {
				if (c->pull_waiting)
					conn_pull(c);
				return;
			}
			if (id && !strcmp(id, IDLE_PING_ID))
				return;       /* its arrival was the answer */
		}
		if (iq_valid(c, el) == -1)
			return;
		if (bind_handle(c, el))
			return;
	}
	deliver_outbound(c, el);
}

static void on_element(void *ctx, struct xml_node *el)
{
	struct conn *c = ctx;

	if (strcmp(el->name, "message"))
		deliver_flush(c);       /* in order: queued messages go first */
	if (c->state == CS_CLOSING)
		goto done;
	if (el->ns && !strcmp(el->ns, NS_STREAMS) && !strcmp(el->name, "error")) {
		xbuf_adds(&c->out, "</stream:stream>");
		snprintf(c->end_reason, sizeof c->end_reason, "client sent a stream error");
		c->state = CS_CLOSING;
		goto done;
	}
	if (is_stanza_name(el->name) && (!el->ns || strcmp(el->ns, NS_CLIENT))) {
		conn_stream_error(c, "invalid-namespace", "stanza outside jabber:client");
		goto done;
	}
	if (!is_stanza_name(el->name) && !(c->state == CS_AUTH && el->ns &&
	    (!strcmp(el->ns, NS_SASL) || !strcmp(el->ns, NS_TLS)))) {
		conn_stream_error(c, "unsupported-stanza-type", el->name);
		goto done;
	}
	switch (c->state) {
	case CS_AUTH:
		dispatch_auth(c, el);
		break;
	case CS_BIND:
		dispatch_bind(c, el);
		break;
	case CS_SESSION:
		dispatch_session(c, el);
		break;
	default:
		break;
	}
done:
	xml_free(el);
	if (c->restart) {
		c->restart = 0;
		c->state = CS_WAIT_HEADER;
		xml_stream_stop(c->xs);
	}
}

/* ---- input ---- */

void conn_input(struct conn *c, const char *buf, size_t len)
{
	size_t used;
	int r;

	c->last_input = time(NULL);
	c->idle_ping_sent = 0;       /* any byte proves the client is there */
	while (len > 0 && c->state != CS_CLOSING) {
		r = xml_stream_feed(c->xs, buf, len, &used);
		if (r != XML_FEED_RESTART)
			break;
		/* RFC 6120 5.4.3.3: what follows <starttls/> in the clear is
		 * not the client's (a man in the middle may have added it):
		 * the next stream starts inside TLS. */
		if (c->io.start_pending) {
			xml_stream_reset(c->xs);
			break;
		}
		/* Bytes after the element that finished authentication belong
		 * to the new stream (RFC 6120 6.4.6). */
		if (xml_stream_reset(c->xs) == -1) {
			conn_stream_error(c, "internal-server-error", NULL);
			break;
		}
		buf += used;
		len -= used;
	}
	deliver_flush(c);
}

int conn_flush(struct conn *c)
{
	size_t before = c->out.len;
	int r = io_flush(&c->io, &c->out);
	c->out_written += before - c->out.len;
	return r;
}

void conn_eof(struct conn *c, const char *why)
{
	if (c->state != CS_CLOSING)
		snprintf(c->end_reason, sizeof c->end_reason, "%s", why);
	c->state = CS_CLOSING;
}

/* ---- authentication and binding, shared by SASL and iq:auth ---- */

void conn_authenticated(struct conn *c, const char *node, const char *how)
{
	snprintf(c->jid.node, sizeof c->jid.node, "%s", node);
	snprintf(c->jid.domain, sizeof c->jid.domain, "%s", c->domain);
	jid_bare(&c->jid, c->bare, sizeof c->bare);
	log_set_context(NULL, NULL, c->bare);
	log_msg(LOG_INFO, "login ok (%s)", how);
}

int conn_bind(struct conn *c, const char *resource)
{
	char replaced[64];
	snprintf(c->jid.resource, sizeof c->jid.resource, "%s", resource);
	jid_full(&c->jid, c->full, sizeof c->full);
	if (session_register(c->store, c->bare, resource, c->stream_id,
	    c->cfg->hostname, (long)getpid(), replaced, sizeof replaced) < 0) {
		log_msg(LOG_ERR, "session register: %s", c->store->err);
		c->jid.resource[0] = '\0';
		return -1;
	}
	if (route_subscribe(c->store, c->bare, resource) == -1) {
		log_msg(LOG_ERR, "subscribe: %s", c->store->err);
		session_unregister(c->store, c->bare, resource, c->stream_id, NULL);
		c->jid.resource[0] = '\0';
		return -1;
	}
	/* The session that held this resource ends with <conflict/>
	 * (RFC 6120 7.7.2.2): the newest login wins. */
	if (replaced[0] && strcmp(replaced, c->stream_id))
		route_kick(c->store, c->bare, resource, replaced, "conflict");
	log_set_context(NULL, NULL, c->full);
	log_msg(LOG_INFO, "session bound");
	c->state = CS_SESSION;
	c->last_heartbeat = time(NULL);
	return 0;
}

/* ---- from Redis ---- */

void conn_send_message(struct conn *c, const char *xml, size_t len, long accepted)
{
	/* Kept until confirmed, whatever happens next: if the session ends
	 * now, conn_finish routes it again. */
	if (c->state == CS_CLOSING) {
		ackq_add(c, xml, len, accepted, ACKQ_UNWRITTEN);
		return;
	}
	ackq_add(c, xml, len, accepted, c->out_written + c->out.len + len);
	if (c->ackq.bytes > ACKQ_MAX_BYTES) {
		conn_stream_error(c, "resource-constraint", "client does not confirm what it reads");
		return;
	}
	xbuf_add(&c->out, xml, len);
	ackq_ping(c);
}

void conn_deliver(struct conn *c, const char *payload, size_t len)
{
	struct route_msg m;
	if (route_parse(payload, len, &m) < 0) {
		log_msg(LOG_WARNING, "malformed payload on our channel");
		return;
	}
	if (m.kind == ROUTE_KICK) {
		if (!strcmp(m.id, c->stream_id))
			conn_stream_error(c, m.cond, NULL);
		return;
	}
	if (c->state != CS_SESSION)
		return;       /* an inbox waits: taken by conn_finish if we end */
	/* Stanzas on channels were produced by xmppd and are trusted. */
	if (m.kind == ROUTE_INBOX)
		c->inbox_ready = 1;     /* pulled once per read of the subscriber */
	else if (m.kind == ROUTE_STANZA && m.body_len > 8 && !memcmp(m.body, "<message", 8))
		conn_send_message(c, m.body, m.body_len, m.accepted);
	else if (m.kind == ROUTE_STANZA || (m.kind == ROUTE_PRESENCE && c->available))
		xbuf_add(&c->out, m.body, m.body_len);
	else if (m.kind == ROUTE_PUSH)
		rosteriq_deliver_push(c, m.body, m.body_len, m.ver);
}

static void pull_one(const char *env, size_t len, void *arg)
{
	conn_deliver(arg, env, len);
}

/* Room for more unconfirmed messages: pull only while the client keeps
 * up, so a backlog waits in Redis rather than in this process. */
static int ackq_room(const struct conn *c)
{
	return c->ackq.bytes < ACKQ_MAX_BYTES / 2;
}

void conn_pull(struct conn *c)
{
	int got;

	c->inbox_ready = 0;
	while (c->state == CS_SESSION && ackq_room(c)) {
		got = route_inbox_take(c->store, c->bare, c->jid.resource, PULL_BATCH, pull_one, c);
		if (got == PULL_BATCH)
			continue;
		if (got == -1 || !c->offline_more || !c->available)
			break;
		/* The inbox is empty: bring the next offline batch into it. */
		got = route_offline_move(c->store, c->bare, c->jid.resource, PULL_BATCH);
		if (got < PULL_BATCH)
			c->offline_more = 0;
		if (got <= 0)
			break;
	}
	/* Stopped for want of room: the next confirmation resumes it. */
	c->pull_waiting = c->state == CS_SESSION && !ackq_room(c);
}

static void reroute_env(const char *env, size_t len, void *arg)
{
	struct conn *c = arg;
	struct route_msg m;
	if (route_parse(env, len, &m) == 0 && m.kind == ROUTE_STANZA)
		deliver_reroute(c, c->reroute_bare, m.body, m.body_len, m.accepted);
}

/* Whatever waits in a session's inbox goes to the user's other resources
 * or offline storage, or back to its sender as an error. */
void conn_drain_inbox(struct conn *c, const char *bare, const char *resource)
{
	int got;
	snprintf(c->reroute_bare, sizeof c->reroute_bare, "%s", bare);
	do
		got = route_inbox_take(c->store, bare, resource, PULL_BATCH, reroute_env, c);
	while (got == PULL_BATCH);
}

static void session_restore(struct conn *c)
{
	char replaced[64];
	if (session_register(c->store, c->bare, c->jid.resource, c->stream_id,
	    c->cfg->hostname, (long)getpid(), replaced, sizeof replaced) < 0) {
		log_msg(LOG_ERR, "session register: %s", c->store->err);
		return;
	}
	if (c->available)
		presence_refresh(c);
}

/* ---- timers ---- */

static void send_idle_ping(struct conn *c)
{
	xbuf_adds(&c->out, "<iq type='get' id='" IDLE_PING_ID "' from='");
	xbuf_add_esc(&c->out, c->domain, strlen(c->domain));
	xbuf_adds(&c->out, "' to='");
	xbuf_add_esc(&c->out, c->full, strlen(c->full));
	xbuf_adds(&c->out, "'><ping xmlns='urn:xmpp:ping'/></iq>");
}

int conn_tick(struct conn *c, time_t now)
{
	int hb = c->cfg->session_ttl / 3, left;
	if (c->state == CS_CLOSING)
		return 1;
	if (c->state != CS_SESSION) {
		left = (int)(c->opened + c->cfg->auth_timeout - now);
		if (left <= 0) {
			conn_stream_error(c, "connection-timeout", "authentication took too long");
			return 1;
		}
		return left;
	}
	left = (int)(c->last_input + c->cfg->idle_timeout - now);
	if (left <= 0) {
		/* Silent is not gone (a listen-only client, one that relies on
		 * TCP keepalive): ask before ending the stream (XEP-0199). Every
		 * client answers an IQ get, with a result or an error, and any
		 * input at all counts as the answer. */
		if (!c->idle_ping_sent) {
			c->idle_ping_sent = now;
			send_idle_ping(c);
		}
		left = (int)(c->idle_ping_sent + c->cfg->ping_timeout - now);
		if (left <= 0) {
			conn_stream_error(c, "connection-timeout", "idle, and no answer to a ping");
			return 1;
		}
	}
	if (c->ackq.head) {
		/* A client that does not answer the ping sent after a message
		 * within ack_timeout is gone or stuck: end the session, so
		 * what it did not confirm goes elsewhere (conn_finish). */
		int ack_left = (int)(c->ackq.head->since + c->cfg->ack_timeout - now);
		if (ack_left <= 0) {
			conn_stream_error(c, "resource-constraint", "client does not confirm what it reads");
			return 1;
		}
		if (ack_left < left)
			left = ack_left;
	}
	if (now - c->last_heartbeat >= hb) {
		c->last_heartbeat = now;
		switch (session_update(c->store, c->bare, c->jid.resource, c->stream_id, 0, -1, NULL)) {
		case SESSION_TAKEN:
			conn_stream_error(c, "conflict", "resource taken by another session");
			return 1;
		case SESSION_NORECORD:
			/* Our record is gone (reaped while we stalled, or Redis
			 * restarted empty): put it back rather than end a live
			 * session. */
			log_msg(LOG_WARNING, "session record lost; registering again");
			session_restore(c);
			break;
		default:
			break;
		}
		/* Living handlers clean up after dead ones. */
		session_reap(c->store, presence_reaped, c);
	}
	return left < hb ? left : hb;
}

static void reroute_unconfirmed(struct conn *c, const char *xml, size_t len, long accepted)
{
	deliver_reroute(c, c->bare, xml, len, accepted);
}

void conn_finish(struct conn *c)
{
	deliver_flush(c);           /* what the client sent before leaving */
	/* Redis may be restarting: wait a little rather than leave a stale
	 * session (which would otherwise expire after session_ttl). */
	if (c->jid.resource[0] && c->store_ok &&
	    store_wait(c->store, FINISH_TRIES, FINISH_WAIT_MS) == -1)
		log_msg(LOG_ERR, "cannot clean up, Redis unreachable (%s): the session expires "
		    "in %d s", c->store->err, c->cfg->session_ttl);
	if (c->jid.resource[0] && c->store_ok) {
		presence_end(c);
		int ours = session_unregister(c->store, c->bare, c->jid.resource, c->stream_id, NULL);
		if (ours < 0)
			log_msg(LOG_ERR, "session unregister: %s", c->store->err);
		/* Unregistered first, so nothing is routed back to us. The
		 * inbox is the resource's: after a takeover it is the new
		 * session's to read, not ours to empty; with no record at
		 * all, nobody else will read it. */
		if (ours == SESSION_OURS || ours == SESSION_NORECORD)
			conn_drain_inbox(c, c->bare, c->jid.resource);
		ackq_drain(c, reroute_unconfirmed);
	}
	log_msg(LOG_INFO, "disconnect: %s", c->end_reason[0] ? c->end_reason : "end");
}
