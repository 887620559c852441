/*
 * stream.c - the client stream: header, features, STARTTLS, restarts,
 * stream errors, and the walk of the module table for each top-level
 * element. The state machine of RFC 6120 lives here and nowhere else; it
 * names no feature module:
 *
 *   WAIT_HEADER --header--> AUTH --SASL success--> (restart) WAIT_HEADER
 *     --header--> BIND --bind--> SESSION
 *   AUTH --<starttls/>--> (TLS, restart) WAIT_HEADER --header--> AUTH
 *   AUTH --iq:auth set (XEP-0078)--> SESSION
 *   any --stream error or </stream:stream>--> CLOSING
 *
 * What a phase allows: before authentication, STARTTLS and the top-level
 * elements and IQs of the modules serving PHASE_AUTH; anything else is
 * <not-authorized/> (RFC 6120 4.9.3.12). Before a resource is bound, IQs
 * to the server. Then every stanza: IQs to the server or the account go
 * to the module serving their namespace, IQ requests to another user's
 * bare JID to a module answering for users there (user_iq_ns), the rest
 * to the inbound hooks.
 */
#include "conn-int.h"
#include "modules.h"
#include "log.h"
#include "random.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"

static void on_open(void *ctx, struct xml_node *root, const char *default_ns);
static void on_element(void *ctx, struct xml_node *el);
static void on_close(void *ctx);
static void on_error(void *ctx, const char *cond, const char *reason);

static const struct xml_stream_cb stream_cb = { on_open, on_element, on_close, on_error };

const struct xml_stream_cb *stream_callbacks(void)
{
	return &stream_cb;
}

/* RFC 6120 4.3.2: every stream, restarts included, has its own id. */
void stream_new_id(struct conn *c)
{
	if (random_hex(c->stream_id, STREAM_ID_BYTES) < 0)
		abort();                 /* no entropy: nothing safe to do */
}

static void stream_send_header(struct conn *c)
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
	conn_stream_error_app(c, cond, text, NULL);
}

void conn_stream_error_app(struct conn *c, const char *cond, const char *text, const char *app)
{
	if (c->state == CS_CLOSING)
		return;
	/* A connection that timed out, or a server that stops, loses the
	 * session's connection, not the session (XEP-0198 may resume it). */
	if (!strcmp(cond, "connection-timeout") || !strcmp(cond, "system-shutdown"))
		c->lost = 1;
	conn_mark_close(c);
	if (!c->header_sent)
		stream_send_header(c);
	xbuf_addf(&c->out, "<stream:error><%s xmlns='" NS_STREAM_ERRORS "'/>", cond);
	if (text) {
		xbuf_adds(&c->out, "<text xmlns='" NS_STREAM_ERRORS "'>");
		xbuf_add_esc(&c->out, text, strlen(text));
		xbuf_adds(&c->out, "</text>");
	}
	if (app)
		xbuf_adds(&c->out, app);
	xbuf_adds(&c->out, "</stream:error></stream:stream>");
	snprintf(c->end_reason, sizeof c->end_reason, "stream error %s%s%s", cond,
	    text ? ": " : "", text ? text : "");
	log_msg(LOG_INFO, "stream error %s (%s)", cond, text ? text : "");
	c->state = CS_CLOSING;
}

void conn_restart(struct conn *c)
{
	c->restart = 1;
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

void conn_enter_bind(struct conn *c)
{
	c->state = CS_BIND;
	c->phase = PHASE_BIND;
}

void conn_send_features(struct conn *c)
{
	struct xml_node *f, *ch;
	int i;

	if (c->legacy)
		return;
	f = xml_new(NS_STREAMS, "features");
	if (c->state == CS_AUTH && io_tls_configured(c->cfg) && !c->io.tls && !c->framing) {
		struct xml_node *t = xml_new_child(f, NS_TLS, "starttls");
		if (conn_tls_required(c))
			xml_new_child(t, NS_TLS, "required");
	}
	for (i = 0; modules[i]; i++)
		if (modules[i]->features)
			modules[i]->features(c, f);
	/* The stream prefix is declared on the header: write it bare. */
	xbuf_adds(&c->out, "<stream:features>");
	for (ch = f->children; ch; ch = ch->next)
		xml_write(&c->out, ch, NS_CLIENT);
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
		stream_new_id(c);
		log_set_context(NULL, c->stream_id, NULL);
	}
	if (check_version(c, xml_get(root, "version")) == -1) {
		conn_stream_error(c, "unsupported-version", NULL);
		return;
	}
	stream_send_header(c);
	if (!c->store_ok) {
		conn_stream_error(c, "internal-server-error", "storage unavailable");
		return;
	}
	c->state = c->jid.node[0] ? CS_BIND : CS_AUTH;
	c->phase = c->state == CS_BIND ? PHASE_BIND : PHASE_AUTH;
	conn_send_features(c);
}

static void on_close(void *ctx)
{
	struct conn *c = ctx;
	if (c->state != CS_CLOSING) {
		/* An orderly goodbye: the client has read what was written to
		 * it before (it would otherwise see the same messages again,
		 * from offline storage, at its next login). What is still
		 * queued here was never written and is routed again. */
		ackq_confirm_written(&c->ackq, c->out_written);
		conn_sm_closed(c);
		conn_mark_close(c);
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

/* RFC 6120 8.2.3: an IQ needs an id and a known type; get/set carry
 * exactly one payload element. Answers bad-request and returns -1 if not. */
static int iq_valid(struct conn *c, struct xml_node *iq)
{
	const char *type = xml_get(iq, "type"), *id = xml_get(iq, "id");
	struct xml_node *ch;
	int n = 0;

	if (!type || (strcmp(type, "get") && strcmp(type, "set") &&
	    strcmp(type, "result") && strcmp(type, "error"))) {
		conn_error(c, iq, "modify", "bad-request", "missing or unknown IQ type");
		return -1;
	}
	if (!id || !*id) {
		conn_error(c, iq, "modify", "bad-request", "IQ without id");
		return -1;
	}
	if (!strcmp(type, "get") || !strcmp(type, "set")) {
		for (ch = iq->children; ch; ch = ch->next)
			n += ch->name != NULL;
		if (n != 1) {
			conn_error(c, iq, "modify", "bad-request",
			    "IQ get/set needs exactly one payload");
			return -1;
		}
	}
	return 0;
}

static int is_request(const struct xml_node *iq)
{
	const char *type = xml_get(iq, "type");
	return type && (!strcmp(type, "get") || !strcmp(type, "set"));
}

/* The module serving IQs whose payload is in ns in the current phase:
 * for the server or the account (iq_ns), or, users set, for another
 * user's bare JID (user_iq_ns). */
static const struct module *iq_module_of(const struct conn *c, const char *ns, int users)
{
	const char *const *list;
	int i, k;
	for (i = 0; ns && modules[i]; i++) {
		if (!(modules[i]->phases & c->phase) || !modules[i]->iq)
			continue;
		list = users ? modules[i]->user_iq_ns : modules[i]->iq_ns;
		for (k = 0; list && list[k]; k++)
			if (!strcmp(list[k], ns))
				return modules[i];
	}
	return NULL;
}

static const struct module *iq_module(const struct conn *c, const char *ns)
{
	return iq_module_of(c, ns, 0);
}

/* The module answering an IQ request to another user's bare JID of a
 * served domain on that user's behalf, or NULL (the IQ is delivered, or
 * refused, as any other: deliver.c). */
static const struct module *user_iq_module(const struct conn *c, const struct xml_node *iq)
{
	const char *to = xml_get(iq, "to");
	struct jid j;

	if (!to || jid_parse(to, &j) == -1 || !j.node[0] || j.resource[0] ||
	    !config_serves(c->cfg, j.domain))
		return NULL;
	return iq_module_of(c, xml_first_element(iq)->ns, 1);
}

/* The module owning a top-level element that is not a stanza. */
static const struct module *toplevel_module(const struct conn *c, const char *ns)
{
	int i;
	for (i = 0; ns && modules[i]; i++)
		if ((modules[i]->phases & c->phase) && modules[i]->element &&
		    modules[i]->toplevel_ns && !strcmp(modules[i]->toplevel_ns, ns))
			return modules[i];
	return NULL;
}

/* An IQ request to the server or the account: its module answers, or
 * nobody serves it (RFC 6120 8.4: service-unavailable). */
static void server_iq(struct conn *c, struct xml_node *iq)
{
	const struct module *m = iq_module(c, xml_first_element(iq)->ns);
	if (m)
		m->iq(c, iq);
	else
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
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

/* Before authentication: the modules serving PHASE_AUTH (SASL answers
 * <encryption-required/> itself before a required STARTTLS, RFC 6120
 * 6.4.5); any other stanza is <not-authorized/> (RFC 6120 4.9.3.12). */
static void dispatch_auth(struct conn *c, struct xml_node *el)
{
	const struct module *m;
	struct xml_node *q;

	if (!strcmp(el->name, "iq") && !conn_tls_required(c) &&
	    (q = xml_first_element(el)) && (m = iq_module(c, q->ns))) {
		if (iq_valid(c, el) == 0)
			m->iq(c, el);
		return;
	}
	conn_stream_error(c, "not-authorized",
	    conn_tls_required(c) ? "STARTTLS required" : "authenticate first");
}

/* Authenticated, no resource: IQs to the server only. */
static void dispatch_bind(struct conn *c, struct xml_node *el)
{
	if (strcmp(el->name, "iq") || !conn_to_server(c, el)) {
		conn_stream_error(c, "not-authorized", "bind a resource first");
		return;
	}
	if (iq_valid(c, el) == 0 && is_request(el))
		server_iq(c, el);
}

static void dispatch_session(struct conn *c, struct xml_node *el)
{
	const struct module *m;
	int i;

	if (!strcmp(el->name, "iq")) {
		if (!is_request(el) && conn_take_confirmation(c, el))
			return;
		if (iq_valid(c, el) == -1)
			return;
		if (conn_to_server(c, el)) {
			if (is_request(el))
				server_iq(c, el);
			else              /* results and errors to the server end here */
				for (i = 0; modules[i]; i++)
					if (modules[i]->response &&
					    modules[i]->response(c, el) == MOD_HANDLED)
						break;
			return;
		}
		if (is_request(el) && (m = user_iq_module(c, el))) {
			m->iq(c, el);
			return;
		}
	}
	for (i = 0; modules[i]; i++)
		if (modules[i]->inbound && modules[i]->inbound(c, el) == MOD_HANDLED)
			return;
	conn_error(c, el, "cancel", "service-unavailable", NULL);
}

static void on_element(void *ctx, struct xml_node *el)
{
	struct conn *c = ctx;
	const struct module *m;

	conn_flush_modules(c, el);     /* in order: batched work goes first */
	if (c->state == CS_CLOSING)
		goto done;
	if (el->ns && !strcmp(el->ns, NS_STREAMS) && !strcmp(el->name, "error")) {
		conn_mark_close(c);
		xbuf_adds(&c->out, "</stream:stream>");
		snprintf(c->end_reason, sizeof c->end_reason, "client sent a stream error");
		c->state = CS_CLOSING;
		goto done;
	}
	if (conn_is_stanza_name(el->name)) {
		if (!el->ns || strcmp(el->ns, NS_CLIENT)) {
			conn_stream_error(c, "invalid-namespace", "stanza outside jabber:client");
			goto done;
		}
	} else {
		if (c->state == CS_AUTH && !c->framing && el->ns && !strcmp(el->ns, NS_TLS) &&
		    !strcmp(el->name, "starttls"))
			starttls(c);
		else if ((m = toplevel_module(c, el->ns)))
			m->element(c, el);
		else
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
		conn_sm_handled(c);       /* XEP-0198 counts every stanza handled */
		break;
	default:
		break;
	}
done:
	xml_free(el);
	if (c->restart) {
		c->restart = 0;
		if (c->state != CS_CLOSING)
			c->state = CS_WAIT_HEADER;
		xml_stream_stop(c->xs);
	}
}

/* ---- input ---- */

void stream_parse(struct conn *c, const char *buf, size_t len)
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
}

void stream_feed(struct conn *c, const char *buf, size_t len)
{
	stream_parse(c, buf, len);
	conn_flush_modules(c, NULL);
}
