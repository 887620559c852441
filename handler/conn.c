/*
 * conn.c - the client connection: who it is, the one output path,
 * replies, authentication and the session in Redis, what arrives from
 * Redis and its confirmation by the client, timers, and the end.
 *
 * The stream's grammar (header, features, dispatch) is stream.c's; this
 * file is what the modules (conn.h) and the main loop (conn-int.h) use.
 */
#include "conn-int.h"
#include "modules.h"
#include "log.h"
#include "relay.h"
#include "route.h"
#include "session.h"
#include "tls.h"
#include "xerr.h"
#include "xmalloc.h"

#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* "1.2.3.4:5678" -> "1.2.3.4", "[::1]:5678" -> "::1", else as is. */
static void peer_address(const char *peer, char *out, size_t outsz)
{
	const char *end = peer[0] == '[' ? strchr(peer, ']') : strrchr(peer, ':');
	if (peer[0] == '[')
		peer++;
	if (!end || end <= peer)
		end = peer + strlen(peer);
	snprintf(out, outsz, "%.*s", (int)(end - peer), peer);
}

void conn_init(struct conn *c, const struct config *cfg, struct store *st, const char *peer,
    int rfd, int wfd)
{
	struct xml_limits lim;
	/* Not the JID strings: see struct conn. */
	memset(c, 0, offsetof(struct conn, jid));
	c->jid.node[0] = c->jid.domain[0] = c->jid.resource[0] = '\0';
	c->bare[0] = c->full[0] = c->peer_jid[0] = '\0';
	c->cfg = cfg;
	c->store = st;
	c->state = CS_WAIT_HEADER;
	c->phase = PHASE_AUTH;
	c->sm.unsynced_from = SIZE_MAX;
	io_init(&c->io, rfd, wfd);
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	peer_address(peer, c->peer_ip, sizeof c->peer_ip);
	snprintf(c->domain, sizeof c->domain, "%s", cfg->domains[0]);
	lim.max_stanza = cfg->max_stanza_size;
	lim.max_depth = cfg->max_depth;
	lim.max_attrs = cfg->max_attrs;
	c->xs = xml_stream_new(&lim, stream_callbacks(), c);
	if (!c->xs)
		abort();
	c->opened = c->last_input = c->last_heartbeat = time(NULL);
	stream_new_id(c);
	log_set_context(peer, c->stream_id, NULL);
}

void conn_set_storage(struct conn *c, int reachable)
{
	c->store_ok = reachable;
}

int conn_direct_tls(struct conn *c)
{
	if (io_tls_prepare(&c->io, c->cfg) == -1) {
		log_msg(LOG_ERR, "direct TLS: %s", c->io.err);
		return -1;
	}
	return 0;
}

void conn_set_framing(struct conn *c, const struct framing *ops, void *f)
{
	c->framing = ops;
	c->framing_state = f;
}

void conn_input(struct conn *c, const char *buf, size_t len)
{
	if (!c->framing) {
		stream_feed(c, buf, len);
		return;
	}
	c->last_input = time(NULL);     /* pings count as the client's bytes */
	c->idle_ping_sent = 0;
	if (c->framing->input(c->framing_state, c, buf, len) == -1)
		conn_eof(c, c->framing->error(c->framing_state));
	conn_flush_modules(c, NULL);     /* the read's frames were one batch */
}

void conn_free(struct conn *c)
{
	int i;
	if (c->framing)
		c->framing->free(c->framing_state);
	xml_stream_free(c->xs);
	io_free(&c->io);
	xbuf_free(&c->out);
	ackq_drain(&c->ackq, NULL, NULL);
	strvec_free(&c->sm.pending);
	for (i = 0; modules[i] && i < MODULES_MAX; i++) {
		if (!c->slots[i])
			continue;
		if (modules[i]->free_slot)
			modules[i]->free_slot(c->slots[i]);
		free(c->slots[i]);
		c->slots[i] = NULL;
	}
}

void *conn_slot(struct conn *c, const struct module *m, size_t size)
{
	int i;
	for (i = 0; modules[i] && i < MODULES_MAX; i++)
		if (modules[i] == m) {
			if (!c->slots[i])
				c->slots[i] = xcalloc(1, size);
			return c->slots[i];
		}
	abort();                     /* a module missing from the table */
}

void *conn_slot_peek(const struct conn *c, const struct module *m)
{
	int i;
	for (i = 0; modules[i] && i < MODULES_MAX; i++)
		if (modules[i] == m)
			return c->slots[i];
	abort();                     /* a module missing from the table */
}

/* ---- who ---- */

const struct config *conn_cfg(const struct conn *c) { return c->cfg; }
struct store *conn_store(const struct conn *c) { return c->store; }
const char *conn_domain(const struct conn *c) { return c->domain; }
const char *conn_bare(const struct conn *c) { return c->bare; }
const char *conn_resource(const struct conn *c) { return c->jid.resource; }
int conn_session_goes_on(const struct conn *c) { return c->goes_on; }
const char *conn_full(const struct conn *c) { return c->full; }
const char *conn_stream_id(const struct conn *c) { return c->stream_id; }
const char *conn_peer_ip(const struct conn *c) { return c->peer_ip; }
enum conn_phase conn_phase(const struct conn *c) { return c->phase; }
int conn_secure(const struct conn *c) { return io_secure(&c->io); }
int conn_auth_one_step(const struct conn *c) { return c->auth_one_step; }
int conn_resume_refresh(const struct conn *c) { return !c->sm.implicit; }
struct tls *conn_tls(const struct conn *c) { return c->io.tls; }

int conn_tls_required(const struct conn *c)
{
	/* No STARTTLS inside a framing: TLS (wss) is a proxy's. */
	return io_tls_configured(c->cfg) && !c->cfg->allow_plaintext_auth && !c->io.tls &&
	    !c->framing;
}

/* 'to' as a bare JID with no node (the domain), or the account's. */
static int to_is(const struct conn *c, const struct xml_node *st, int domain_too)
{
	const char *to = xml_get(st, "to");
	struct jid j;
	if (!to)
		return 1;
	/* A full JID is never the server's nor the account's: no stringprep
	 * for the common IQ to another user's resource. */
	if (strchr(to, '/') || jid_parse(to, &j) == -1 || j.resource[0])
		return 0;
	if (!j.node[0])
		return domain_too && !strcmp(j.domain, c->domain);
	return !strcmp(j.node, c->jid.node) && !strcmp(j.domain, c->jid.domain);
}

int conn_to_server(const struct conn *c, const struct xml_node *st)
{
	return to_is(c, st, 1);
}

int conn_to_account(const struct conn *c, const struct xml_node *st)
{
	return to_is(c, st, 0);
}

/* ---- output ---- */

void conn_mark_close(struct conn *c)
{
	c->close_at = c->out.len;
	c->close_queued = 1;
}

int conn_is_stanza_name(const char *n)
{
	return !strcmp(n, "message") || !strcmp(n, "presence") || !strcmp(n, "iq");
}

/* Every stanza is queued here (or in send_message), one per call: stream
 * management counts it. */
void conn_send(struct conn *c, const struct xml_node *n)
{
	size_t start = c->out.len;
	if (c->state == CS_CLOSING)
		return;
	xml_write(&c->out, n, NS_CLIENT);
	/* XEP-0198 counts stanzas only: not SASL2's <success/>, say, which
	 * may carry the <enabled/> that starts the count. */
	if (n->name && conn_is_stanza_name(n->name))
		conn_sm_count(c, start);
}

void conn_send_raw(struct conn *c, const char *xml, size_t len)
{
	size_t start = c->out.len;
	if (c->state == CS_CLOSING)
		return;
	xbuf_add(&c->out, xml, len);
	conn_sm_count(c, start);
}

/* Does a module hold st back (module.h, hold)? */
static int held(struct conn *c, const char *xml, size_t len, int deferrable)
{
	int i;
	for (i = 0; modules[i]; i++)
		if (modules[i]->hold && modules[i]->hold(c, xml, len, deferrable))
			return 1;
	return 0;
}

void conn_set_holding(struct conn *c, int on)
{
	c->holding = on;
}

void conn_send_deferrable(struct conn *c, const char *xml, size_t len)
{
	if (c->state != CS_CLOSING && !held(c, xml, len, 1))
		conn_send_raw(c, xml, len);
}

/* ---- replies ---- */

struct xml_node *conn_reply(struct conn *c, const struct xml_node *st, const char *type)
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

struct xml_node *conn_error_new(struct conn *c, const struct xml_node *st,
    const char *etype, const char *cond, const char *text)
{
	struct xml_node *r, *e, *ch;
	const char *t = xml_get(st, "type");

	if (t && !strcmp(t, "error"))
		return NULL;             /* never answer an error with an error */
	if (!strcmp(st->name, "iq") && t && !strcmp(t, "result"))
		return NULL;
	r = conn_reply(c, st, "error");
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

void conn_error(struct conn *c, const struct xml_node *st, const char *etype,
    const char *cond, const char *text)
{
	struct xml_node *r = conn_error_new(c, st, etype, cond, text);
	if (r) {
		conn_send(c, r);
		xml_free(r);
	}
}

void conn_iq_result(struct conn *c, const struct xml_node *iq, struct xml_node *payload)
{
	struct xml_node *r = conn_reply(c, iq, "result");
	if (payload)
		xml_add(r, payload);
	conn_send(c, r);
	xml_free(r);
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

void conn_unauthenticate(struct conn *c)
{
	c->jid.node[0] = '\0';
	c->bare[0] = '\0';
}

int conn_session_start(struct conn *c, const char *resource)
{
	snprintf(c->jid.resource, sizeof c->jid.resource, "%s", resource);
	jid_full(&c->jid, c->full, sizeof c->full);
	if (route_subscribe(c->store, c->bare, resource) == -1) {
		log_msg(LOG_ERR, "subscribe: %s", c->store->err);
		c->jid.resource[0] = c->full[0] = '\0';
		return XE_REDIS;
	}
	log_set_context(NULL, NULL, c->full);
	c->state = CS_SESSION;
	c->phase = PHASE_SESSION;
	c->last_heartbeat = time(NULL);
	return 0;
}

int conn_bind(struct conn *c, const char *resource)
{
	char replaced[64];
	int i;

	if (session_register(c->store, c->bare, resource, c->stream_id,
	    c->cfg->hostname, (long)getpid(), replaced, sizeof replaced) < 0) {
		log_msg(LOG_ERR, "session register: %s", c->store->err);
		return XE_REDIS;
	}
	if (conn_session_start(c, resource) < 0) {
		session_unregister(c->store, c->bare, resource, c->stream_id, NULL);
		return XE_REDIS;
	}
	/* The session that held this resource ends with <conflict/>
	 * (RFC 6120 7.7.2.2): the newest login wins. What it left
	 * unacknowledged under stream management (it may be detached, with
	 * no handler to do it) comes to this session's inbox. */
	if (replaced[0] && strcmp(replaced, c->stream_id)) {
		route_kick(c->store, c->bare, resource, replaced, "conflict");
		conn_sm_end(c, c->bare, resource, replaced);
	}
	log_msg(LOG_INFO, "session bound");
	for (i = 0; modules[i]; i++)
		if (modules[i]->bound)
			modules[i]->bound(c);
	return 0;
}

/* ---- confirmation of what the client was sent ---- */

#define ACK_ID_PREFIX "xmppd-ack-"

/* XEP-0199: a ping after the messages; any answer, even an error,
 * proves the client read the stream up to it. */
static void ping_request(struct conn *c, unsigned long mark)
{
	xbuf_addf(&c->out, "<iq type='get' id='" ACK_ID_PREFIX "%lu' from='", mark);
	xbuf_add_esc(&c->out, c->domain, strlen(c->domain));
	xbuf_adds(&c->out, "' to='");
	xbuf_add_esc(&c->out, c->full, strlen(c->full));
	xbuf_adds(&c->out, "'><ping xmlns='urn:xmpp:ping'/></iq>");
}

static int ping_answer(const struct xml_node *el, unsigned long *mark)
{
	const char *id = xml_get(el, "id");
	char tail;
	return strcmp(el->name, "iq") == 0 && id &&
	    !strncmp(id, ACK_ID_PREFIX, sizeof ACK_ID_PREFIX - 1) &&
	    sscanf(id + sizeof ACK_ID_PREFIX - 1, "%lu%c", mark, &tail) == 1;
}

static void ask_confirmation(struct conn *c)
{
	long mark = ackq_request(&c->ackq);
	c->confirm_due = 0;
	if (mark >= 0)
		ping_request(c, (unsigned long)mark);
}

/* Messages wait to be confirmed: ask a moment later, so that one request
 * covers a burst, and a client that only sends a message and says
 * goodbye is never asked (its orderly close confirms what it read;
 * some simple clients, go-sendxmpp 0.5.6 among them, die on a ping).
 * A backlog asks at once, to keep the inbox flowing. */
static void want_confirmation(struct conn *c)
{
	if (ackq_bytes(&c->ackq) >= CONFIRM_EAGER)
		ask_confirmation(c);
	else if (!c->confirm_due)
		c->confirm_due = time(NULL) + CONFIRM_DELAY;
}

int conn_take_confirmation(struct conn *c, const struct xml_node *el)
{
	unsigned long mark;
	const char *id = xml_get(el, "id");

	if (ping_answer(el, &mark)) {
		if (ackq_confirm(&c->ackq, mark))
			want_confirmation(c);
		if (c->pull_waiting)
			conn_pull(c);
		return 1;
	}
	/* The answer to the idle ping: its arrival was the answer. */
	return !strcmp(el->name, "iq") && id && !strcmp(id, IDLE_PING_ID);
}

/* A message for the client: written, and kept until confirmed whatever
 * happens next (if the session ends now, conn_finish routes it again) -
 * unless it is an echo, the session's own message come back, which
 * another resource of the user got too, or a carbon copy: routing it
 * again would only duplicate it. */
static void send_message(struct conn *c, const char *xml, size_t len, long accepted, int echo)
{
	if (c->sm.on) {
		/* Redis keeps it until the client acknowledges it (sm.c);
		 * an echo is kept as what the handler wrote, never routed
		 * again. */
		if (echo)
			c->sm.entry = NULL;
		conn_send_raw(c, xml, len);
		return;
	}
	if (echo) {
		conn_send_raw(c, xml, len);
		return;
	}
	if (c->state == CS_CLOSING) {
		ackq_add(&c->ackq, xml, len, accepted, ACKQ_UNWRITTEN);
		return;
	}
	ackq_add(&c->ackq, xml, len, accepted, c->out_written + c->out.len + len);
	if (ackq_bytes(&c->ackq) > ACKQ_MAX_BYTES) {
		conn_stream_error(c, "resource-constraint", "client does not confirm what it reads");
		return;
	}
	xbuf_add(&c->out, xml, len);
	want_confirmation(c);
}

/* ---- from Redis ---- */

void conn_deliver(struct conn *c, const char *payload, size_t len)
{
	struct route_msg m;
	int i;

	if (route_parse(payload, len, &m) < 0) {
		log_msg(LOG_WARNING, "malformed payload on our channel");
		return;
	}
	if (m.kind == ROUTE_KICK) {
		if (strcmp(m.id, c->stream_id))
			return;
		if (!strcmp(m.cond, SM_KICK_RESUMED)) {
			/* Resumed on another connection: the session goes on there. */
			c->taken = c->goes_on = 1;
			conn_stream_error(c, "conflict", "session resumed on another connection");
		} else {
			conn_stream_error(c, m.cond, NULL);
		}
		return;
	}
	if (c->state != CS_SESSION)
		return;       /* an inbox waits: taken by conn_finish if we end */
	if (c->sm.bcast_log && !c->sm.bcast_reading && route_logged(m.kind)) {
		c->sm.bcast_ready = 1;  /* the log has it too: read from there */
		return;
	}
	/* Stanzas on channels were produced by xmppd and are trusted. */
	if (m.kind == ROUTE_INBOX) {
		c->inbox_ready = 1;     /* pulled once per read of the subscriber */
		/* The channels moved (a cluster's resharding): a message that
		 * found no listener meanwhile went to offline storage, which
		 * an available session takes as at its initial presence. */
		if (m.offline && presence_available(c))
			c->offline_more = 1;
	} else if (m.kind == ROUTE_STANZA) {
		if (m.body_len > 8 && !memcmp(m.body, "<message", 8)) {
			/* Without a body (a chat state, a receipt) it can wait. */
			if (held(c, m.body, m.body_len, !memmem(m.body, m.body_len, "<body", 5)))
				return;
			send_message(c, m.body, m.body_len, m.accepted, m.echo);
		} else {
			conn_send_raw(c, m.body, m.body_len);
		}
	} else {
		c->modules_woken = 1;
		for (i = 0; modules[i]; i++)
			if (modules[i]->outbound && modules[i]->outbound(c, &m) == MOD_HANDLED)
				break;
	}
}

void conn_bcast_log(struct conn *c, const char *pos, int recorded)
{
	c->sm.bcast_log = 1;
	snprintf(c->sm.bpos, sizeof c->sm.bpos, "%s", pos);
	if (recorded)
		memcpy(c->sm.bpos_synced, c->sm.bpos, sizeof c->sm.bpos);
}

static void bcast_one(const char *id, const char *payload, size_t len, void *arg)
{
	struct conn *c = arg;
	c->sm.bcast_reading = 1;
	conn_deliver(c, payload, len);
	c->sm.bcast_reading = 0;
	snprintf(c->sm.bpos, sizeof c->sm.bpos, "%s", id);
}

void conn_bcast_pull(struct conn *c)
{
	int got;

	c->sm.bcast_ready = 0;
	do {
		if (c->state != CS_SESSION || !c->sm.bpos[0])
			return;
		got = route_bcast_read(c->store, c->bare, c->sm.bpos, PULL_BATCH, bcast_one, c);
	} while (got == PULL_BATCH);
	if (got < 0)
		log_msg(LOG_ERR, "broadcast log: %s", c->store->err);
}

void conn_after_wakeups(struct conn *c)
{
	if (c->sm.bcast_ready)
		conn_bcast_pull(c);
	/* What modules put off while the wake-ups came (a room's log read
	 * once for all of them) goes out first. */
	if (c->modules_woken) {
		c->modules_woken = 0;
		conn_flush_modules(c, NULL);
	}
	if (c->inbox_ready)
		conn_pull(c);     /* one pull for every wake-up read at once */
}

static void pull_one(const char *env, size_t len, void *arg)
{
	struct conn *c = arg;
	if (!c->sm.on) {
		conn_deliver(c, env, len);
		return;
	}
	/* Under stream management the inbox keeps each entry until sm_sync
	 * records it as written: count only what was consumed, in order. */
	if (c->sm.pull_stop || c->state != CS_SESSION) {
		c->sm.pull_stop = 1;
		return;
	}
	c->sm.entry = env;
	conn_deliver(c, env, len);
	c->sm.entry = NULL;
	c->sm.inbox_taken++;
}

/* Room for more unconfirmed messages: pull only while the client keeps
 * up, so a backlog waits in Redis rather than in this process. */
static int ackq_room(const struct conn *c)
{
	if (c->sm.on)
		return conn_sm_room(c);
	return ackq_bytes(&c->ackq) < ACKQ_MAX_BYTES / 2;
}

/* The next batch of the inbox: taken away, or, under stream management,
 * read where the last one ended (sm_sync removes it). */
static int inbox_next(struct conn *c)
{
	int got;
	if (!c->sm.on)
		return route_inbox_take(c->store, c->bare, c->jid.resource, PULL_BATCH, pull_one, c);
	if (!c->holding)
		return conn_sm_take(c, PULL_BATCH);
	c->sm.pull_stop = 0;
	got = route_inbox_peek(c->store, c->bare, c->jid.resource, c->sm.inbox_taken,
	    PULL_BATCH, pull_one, c);
	return c->sm.pull_stop ? -1 : got;
}

void conn_pull(struct conn *c)
{
	int got;

	c->inbox_ready = 0;
	while (c->state == CS_SESSION && ackq_room(c)) {
		got = inbox_next(c);
		if (got == PULL_BATCH)
			continue;
		if (got == -1 || !c->offline_more)
			break;
		/* The inbox is empty: bring the next offline batch into it. */
		got = route_offline_move(c->store, c->bare, c->jid.resource, PULL_BATCH,
		    c->offline_archived);
		if (got < PULL_BATCH)
			c->offline_more = 0;
		if (got <= 0)
			break;
	}
	/* Stopped for want of room: the next confirmation resumes it. */
	c->pull_waiting = c->state == CS_SESSION && !ackq_room(c);
}

void conn_offline_start(struct conn *c)
{
	c->offline_more = 1;
	conn_pull(c);
}

void conn_offline_from_archive(struct conn *c)
{
	c->offline_archived = 1;
}

void conn_offline_stop(struct conn *c)
{
	c->offline_more = 0;
}

static void reroute_env(const char *env, size_t len, void *arg)
{
	struct conn *c = arg;
	struct route_msg m;
	if (route_parse(env, len, &m) == 0 && m.kind == ROUTE_STANZA && !m.echo)
		relay_again(c, c->reroute_bare, m.body, m.body_len, m.accepted);
}

/* Whatever waits in a session's inbox goes to the user's other resources
 * or offline storage, or back to its sender as an error - but for echoes
 * and carbon copies, whose originals reached a session already. */
void conn_drain_inbox(struct conn *c, const char *bare, const char *resource)
{
	int got;
	snprintf(c->reroute_bare, sizeof c->reroute_bare, "%s", bare);
	do
		got = route_inbox_take(c->store, bare, resource, PULL_BATCH, reroute_env, c);
	while (got == PULL_BATCH);
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

/* Our session record is gone (reaped while we stalled, or Redis
 * restarted empty): put it back rather than end a live session. */
static void session_restore(struct conn *c)
{
	char replaced[64];
	int i;
	if (session_register(c->store, c->bare, c->jid.resource, c->stream_id,
	    c->cfg->hostname, (long)getpid(), replaced, sizeof replaced) < 0) {
		log_msg(LOG_ERR, "session register: %s", c->store->err);
		return;
	}
	for (i = 0; modules[i]; i++)
		if (modules[i]->restored)
			modules[i]->restored(c);
}

/* A dead handler's session: its modules' goodbyes, then its inbox. */
static void reaped(const char *bare, const char *resource, const char *id, const char *presence,
    void *arg)
{
	struct conn *c = arg;
	int i;
	log_msg(LOG_INFO, "reaped dead session %s/%s", bare, resource);
	for (i = 0; modules[i]; i++)
		if (modules[i]->reaped)
			modules[i]->reaped(c, bare, resource, presence);
	conn_sm_end(c, bare, resource, id);
	conn_drain_inbox(c, bare, resource);
}

/* The process of a session on this host is there: a process of another
 * user, as every sandboxed handler is, answers EPERM. */
static int pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int min_left(int left, int other)
{
	return other >= 0 && other < left ? other : left;
}

int conn_tick(struct conn *c, time_t now)
{
	int hb = c->cfg->session_ttl / 3, left, i;
	time_t oldest;

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
	if (c->confirm_due) {
		if (now >= c->confirm_due)
			ask_confirmation(c);
		else
			left = min_left(left, (int)(c->confirm_due - now));
	}
	if ((oldest = ackq_oldest(&c->ackq))) {
		/* A client that does not confirm a message within ack_timeout
		 * is gone or stuck: end the session, so what it did not
		 * confirm goes elsewhere (conn_finish). */
		int ack_left = (int)(oldest + c->cfg->ack_timeout - now);
		if (ack_left <= 0) {
			conn_stream_error(c, "resource-constraint", "client does not confirm what it reads");
			return 1;
		}
		left = min_left(left, ack_left);
	}
	for (i = 0; modules[i]; i++)
		if (modules[i]->tick)
			left = min_left(left, modules[i]->tick(c, now));
	if (now - c->last_heartbeat >= hb) {
		c->last_heartbeat = now;
		switch (session_update(c->store, c->bare, c->jid.resource, c->stream_id, 0, -1, NULL)) {
		case SESSION_TAKEN:
			c->taken = 1;
			conn_stream_error(c, "conflict", "resource taken by another session");
			return 1;
		case SESSION_NORECORD:
			log_msg(LOG_WARNING, "session record lost; registering again");
			session_restore(c);
			break;
		default:
			break;
		}
		/* Living handlers clean up after dead ones. */
		session_reap(c->store, c->cfg->hostname, pid_alive, reaped, c);
	}
	return left < hb ? left : hb;
}

/* ---- the main loop's view ---- */

short conn_poll_events(const struct conn *c)
{
	short ev = io_events(&c->io, conn_output_pending(c) > 0);
	if (c->state == CS_CLOSING)
		ev &= (short)~POLLIN;
	return ev;
}

int conn_closing(const struct conn *c)
{
	return c->state == CS_CLOSING;
}

int conn_logged_in(const struct conn *c)
{
	return c->state == CS_SESSION;
}

size_t conn_output_pending(const struct conn *c)
{
	return c->out.len + (c->framing ? c->framing->pending(c->framing_state) : 0);
}

long conn_read(struct conn *c, char *buf, size_t len)
{
	long n = io_read(&c->io, buf, len);
	if (n == -1)
		conn_eof(c, c->io.err);
	return n;
}

int conn_flush(struct conn *c)
{
	size_t before;
	int r;

	conn_sm_flush(c);               /* Redis first: then it may be written */
	before = c->out.len;
	r = c->framing ? c->framing->flush(c->framing_state, &c->io, &c->out) :
	    io_flush(&c->io, &c->out);
	c->out_written += before - c->out.len;
	if (before != c->out.len)
		c->close_queued = 0;        /* offsets moved */
	if (r == -1) {
		conn_eof(c, c->io.err);
		return -1;
	}
	/* The handshake may end on a read or on a write. */
	if (!c->tls_logged && io_secure(&c->io)) {
		c->tls_logged = 1;
		log_msg(LOG_INFO, "TLS %s %s sni=%s", tls_version(c->io.tls),
		    tls_cipher(c->io.tls), tls_sni(c->io.tls) ? tls_sni(c->io.tls) : "-");
	}
	return 0;
}

/* Through Sentinel the loss is a failover, which a resumable session
 * (XEP-0198) survives: detached like a lost connection. */
void conn_storage_lost(struct conn *c, const char *why)
{
	if (c->state != CS_CLOSING && (c->store->primary[0] || c->store->sub_primary[0]))
		c->lost = 1;
	conn_stream_error(c, "internal-server-error", why);
}

void conn_eof(struct conn *c, const char *why)
{
	if (c->state != CS_CLOSING) {
		snprintf(c->end_reason, sizeof c->end_reason, "%s", why);
		c->lost = 1;
	}
	c->state = CS_CLOSING;
}

void conn_flush_modules(struct conn *c, const struct xml_node *next)
{
	int i;
	for (i = 0; modules[i]; i++)
		if (modules[i]->flush)
			modules[i]->flush(c, next);
}

/* ---- the end ---- */

static void reroute_unconfirmed(const char *xml, size_t len, long accepted, void *arg)
{
	struct conn *c = arg;
	relay_again(c, c->bare, xml, len, accepted);
}

void conn_reroute(struct conn *c, const char *xml, size_t len)
{
	relay_again(c, c->bare, xml, len, 0);
}

/* The connection ends, however the session goes on or not: what this
 * process still holds for the client (messages not confirmed, stanzas a
 * module held back) goes back to Redis, routed to the user again. */
static void leave(struct conn *c)
{
	int i;
	if (!c->jid.resource[0] || !c->store_ok)
		return;
	ackq_drain(&c->ackq, reroute_unconfirmed, c);
	for (i = 0; modules[i]; i++)
		if (modules[i]->leaving)
			modules[i]->leaving(c);
}

void conn_finish(struct conn *c)
{
	int i, ours;

	conn_flush_modules(c, NULL);     /* what the client sent before leaving */
	/* Redis may be restarting: wait a little rather than leave a stale
	 * session (which would otherwise expire after session_ttl). */
	if (c->jid.resource[0] && c->store_ok &&
	    store_wait(c->store, FINISH_TRIES, FINISH_WAIT_MS) == -1)
		log_msg(LOG_ERR, "cannot clean up, Redis unreachable (%s): the session expires "
		    "in %d s", c->store->err, c->cfg->session_ttl);
	if (c->taken) {
		/* Resumed or replaced elsewhere: the session is not ours to end. */
		log_msg(LOG_INFO, "session continues on another connection");
		leave(c);
	} else if (c->jid.resource[0] && c->store_ok && conn_sm_detach(c)) {
		/* Detached (XEP-0198): it waits for its client to resume it. */
		c->goes_on = 1;
		leave(c);
	} else if (c->jid.resource[0] && c->store_ok) {
		for (i = 0; modules[i]; i++)
			if (modules[i]->ended)
				modules[i]->ended(c);
		ours = session_unregister(c->store, c->bare, c->jid.resource, c->stream_id, NULL);
		if (ours < 0)
			log_msg(LOG_ERR, "session unregister: %s", c->store->err);
		/* Unregistered first, so nothing is routed back to us. The
		 * inbox is the resource's: after a takeover it is the new
		 * session's to read, not ours to empty; with no record at
		 * all, nobody else will read it. What stream management kept
		 * unacknowledged goes first. */
		if (ours == SESSION_OURS || ours == SESSION_NORECORD) {
			conn_sm_end(c, c->bare, c->jid.resource, c->stream_id);
			conn_drain_inbox(c, c->bare, c->jid.resource);
		}
		leave(c);
	}
	log_msg(LOG_INFO, "disconnect: %s", c->end_reason[0] ? c->end_reason : "end");
}
