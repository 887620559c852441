/*
 * sm.c - stream management (XEP-0198, urn:xmpp:sm:3): acknowledgements
 * in both directions, and sessions that outlive their connection and are
 * resumed on any host.
 *
 * Part of the connection (it includes conn-int.h, as stream.c does):
 * under stream management the output path itself changes. Every stanza
 * queued for the client is counted and, before it is written, recorded
 * in Redis (router/sm.h: the smq list) in the same script that removes
 * from the inbox what was taken from it; the client's <a h/> removes what
 * it acknowledged. So Redis always holds exactly what the client may not
 * have read, in order, whatever becomes of this process, and any handler
 * can resume the session:
 *
 *   <enable/>     -> sm_enable.lua -> <enabled id= resume= max=>
 *   stanza queued -> conn_sm_count: counted, kept for the next sync
 *   conn_flush    -> conn_sm_flush: sm_sync.lua (acked out, queued in,
 *                    inbox trimmed, hin) -> then written
 *   <r/> -> <a h=handled>;  <a h=/> -> acked (sent to Redis at the sync)
 *   connection lost (EOF, write error, timeout, shutdown), resumable
 *                 -> conn_sm_detach: sm_sync.lua with a deadline; the
 *                    session stays available, its inbox fills; the
 *                    reaper ends it at the deadline (session.c)
 *   <resume previd= h=> -> sm_resume.lua (the session becomes ours, the
 *                    old handler is kicked) -> <resumed/>, what the client
 *                    did not acknowledge, then the inbox
 *   stream ends   -> conn_sm_end: unacknowledged messages back to the
 *                    inbox, which conn_finish routes again
 *
 * The server asks for acknowledgement (<r/>) after ack_request_every
 * stanzas, or ack_request_delay seconds after the first unacknowledged
 * one; a client that leaves an <r/> unanswered for ack_timeout seconds
 * has lost its connection.
 */
#include "conn-int.h"
#include "sasl2.h"
#include "modules.h"
#include "log.h"
#include "random.h"
#include "route.h"
#include "session.h"
#include "sm.h"
#include "xerr.h"
#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SM_ID_BYTES     18       /* random bytes of an XEP-0198 id */
#define SM_PULL_MAX     256      /* unacknowledged stanzas beyond which the inbox waits */
#define SM_UNACKED_MAX  5000     /* beyond this the client does not acknowledge: lost */
#define RAW_HEAD        "raw\n"  /* an smq entry the handler made itself */

/* ---- the output path (conn.c calls these) ---- */

static void send_request(struct conn *c)
{
	xbuf_adds(&c->out, "<r xmlns='" NS_SM "'/>");
	c->sm.requested = c->sm.out;
	c->sm.request_sent = time(NULL);
}

static unsigned long unacked(const struct conn *c)
{
	return (c->sm.out - c->sm.acked) & SM_MASK;
}

/* The stanza at output offset start, to be recorded in smq at the next
 * sync: its inbox envelope, or what the handler made. */
static void keep_for_sync(struct conn *c, size_t start)
{
	struct xbuf e = { 0 };

	if (c->sm.unsynced_from == SIZE_MAX)
		c->sm.unsynced_from = start;
	if (c->sm.entry) {
		strvec_add(&c->sm.pending, c->sm.entry);
		return;
	}
	xbuf_adds(&e, RAW_HEAD);
	xbuf_add(&e, c->out.p + start, c->out.len - start);
	xbuf_add(&e, "", 1);
	strvec_add(&c->sm.pending, e.p);
	xbuf_free(&e);
}

void conn_sm_count(struct conn *c, size_t start)
{
	if (!c->sm.on || c->out.len == start)
		return;
	if (!c->sm.in_smq)             /* else Redis has it already (conn_sm_take) */
		keep_for_sync(c, start);
	c->sm.out = (c->sm.out + 1) & SM_MASK;
	if (!c->sm.first_unacked)
		c->sm.first_unacked = time(NULL);
	if (!c->sm.request_sent && !c->sm.implicit &&
	    ((c->sm.out - c->sm.requested) & SM_MASK) >= (unsigned long)c->cfg->ack_request_every)
		send_request(c);
}

void conn_sm_handled(struct conn *c)
{
	if (c->sm.on)
		c->sm.hin = (c->sm.hin + 1) & SM_MASK;
}

unsigned long conn_sm_mark(const struct conn *c)
{
	return c->sm.on ? c->sm.hin : 0;
}

int conn_sm_unhandle(struct conn *c, unsigned long mark)
{
	if (!c->sm.on)
		return 0;
	log_msg(LOG_WARNING, "%lu stanzas not kept: counted unhandled",
	    (c->sm.hin - mark) & SM_MASK);
	c->sm.hin = mark;
	return 1;
}

int conn_sm_room(const struct conn *c)
{
	return unacked(c) < SM_PULL_MAX;
}

static int nothing_to_sync(const struct conn *c)
{
	return !c->sm.pending.n && !c->sm.inbox_taken && c->sm.acked == c->sm.acked_synced &&
	    c->sm.hin == c->sm.hin_synced && !strcmp(c->sm.bpos, c->sm.bpos_synced);
}

/* What Redis is to be told (lens: the entries' lengths, the caller's). */
static void sync_args(struct conn *c, long detach_until, size_t *lens, struct sm_sync *x)
{
	size_t i;
	memset(x, 0, sizeof *x);
	for (i = 0; i < c->sm.pending.n; i++)
		lens[i] = strlen(c->sm.pending.v[i]);
	x->id = c->stream_id;
	x->hin = c->sm.hin;
	x->acked = c->sm.acked;
	x->trim = (c->sm.acked - c->sm.acked_synced) & SM_MASK;
	x->inbox_taken = c->sm.inbox_taken;
	x->detach_until = detach_until;
	x->n = (int)c->sm.pending.n;
	x->entry = (const char *const *)c->sm.pending.v;
	x->len = lens;
	x->bcast_pos = strcmp(c->sm.bpos, c->sm.bpos_synced) ? c->sm.bpos : NULL;
}

/* Redis has it all now. */
static void synced(struct conn *c)
{
	c->sm.acked_synced = c->sm.acked;
	c->sm.hin_synced = c->sm.hin;
	c->sm.inbox_taken = 0;
	strvec_free(&c->sm.pending);
	c->sm.unsynced_from = SIZE_MAX;
	memcpy(c->sm.bpos_synced, c->sm.bpos, sizeof c->sm.bpos);
}

/* Tell Redis; detach_until > 0 detaches the session too. */
static int sync_now(struct conn *c, long detach_until)
{
	struct sm_sync x;
	size_t *lens;
	int r;

	if (nothing_to_sync(c) && !detach_until)
		return SM_OK;
	lens = xcalloc(c->sm.pending.n + 1, sizeof *lens);
	sync_args(c, detach_until, lens, &x);
	r = sm_sync(c->store, c->bare, c->jid.resource, &x);
	free(lens);
	if (r == SM_OK)
		synced(c);
	return r;
}

/* The sync riding in another module's round trip (deliver.c): the
 * count of the messages it routes is recorded with them, so a handler
 * that dies then cannot make its client send them twice on resumption. */
struct sm_rider {
	struct sm_sync_cmd *cmd;
	size_t *lens;
};

struct sm_rider *conn_sm_rider(struct conn *c)
{
	struct sm_rider *r;
	struct sm_sync x;

	if (!c->sm.on || c->taken || nothing_to_sync(c))
		return NULL;
	r = xcalloc(1, sizeof *r);
	r->lens = xcalloc(c->sm.pending.n + 1, sizeof *r->lens);
	sync_args(c, 0, r->lens, &x);
	r->cmd = sm_sync_cmd_new(c->store, c->bare, c->jid.resource, &x);
	return r;
}

struct store_rider *conn_sm_rider_cmd(struct sm_rider *r)
{
	return r ? sm_sync_cmd_rider(r->cmd) : NULL;
}

void conn_sm_rider_done(struct conn *c, struct sm_rider *r)
{
	if (!r)
		return;
	/* Anything but success is left to conn_sm_flush, which will tell. */
	if (sm_sync_cmd_result(r->cmd) == SM_OK)
		synced(c);
	sm_sync_cmd_free(r->cmd);
	free(r->lens);
	free(r);
}

/* The sync failed: nothing unrecorded may be written. */
static int sync_failed(struct conn *c, int r)
{
	/* Not recorded: not written either; but the stream's end, queued
	 * after them, still is (the client learns why it ends). */
	if (c->sm.unsynced_from != SIZE_MAX && c->sm.unsynced_from <= c->out.len) {
		struct xbuf end = { 0 };
		if (c->close_queued && c->close_at >= c->sm.unsynced_from &&
		    c->close_at <= c->out.len)
			xbuf_add(&end, c->out.p + c->close_at, c->out.len - c->close_at);
		c->out.len = c->sm.unsynced_from;
		if (end.len) {
			conn_mark_close(c);
			xbuf_add(&c->out, end.p, end.len);
		}
		xbuf_free(&end);
	}
	c->sm.unsynced_from = SIZE_MAX;
	strvec_free(&c->sm.pending);
	c->sm.inbox_taken = 0;
	/* The broadcasts are read again from where Redis has it. */
	memcpy(c->sm.bpos, c->sm.bpos_synced, sizeof c->sm.bpos);
	if (r == SM_TAKEN) {
		c->taken = c->goes_on = 1;
		conn_stream_error(c, "conflict", "session resumed on another connection");
	} else if (r == SM_NONE) {
		/* Redis lost what it held for the session: it cannot go on as
		 * the client believes it does; the client logs in again. */
		log_msg(LOG_ERR, "stream management state lost");
		c->sm.resume = 0;
		conn_stream_error(c, "internal-server-error", "session state lost");
	} else {
		log_msg(LOG_ERR, "stream management: %s", c->store->err);
		store_suspect(c->store);
		conn_stream_error(c, "internal-server-error", "storage unavailable");
	}
	return -1;
}

int conn_sm_flush(struct conn *c)
{
	int r;

	if (!c->sm.on || c->taken)
		return 0;
	r = sync_now(c, 0);
	return r == SM_OK ? 0 : sync_failed(c, r);
}

/* An inbox entry sm_sync.lua has just moved to smq: written, counted,
 * already recorded. */
static void take_one(const char *env, size_t len, void *arg)
{
	struct conn *c = arg;
	c->sm.in_smq = 1;
	conn_deliver(c, env, len);
	c->sm.in_smq = 0;
	c->sm.took++;
}

int conn_sm_take(struct conn *c, int max)
{
	struct sm_sync x;
	size_t *lens = xcalloc(c->sm.pending.n + 1, sizeof *lens);
	int r;

	sync_args(c, 0, lens, &x);
	x.take = max;
	x.taken = take_one;
	x.arg = c;
	c->sm.took = 0;
	r = sm_sync(c->store, c->bare, c->jid.resource, &x);
	free(lens);
	if (r != SM_OK)
		return sync_failed(c, r);
	synced(c);
	return c->sm.took;
}

void conn_sm_closed(struct conn *c)
{
	/* As for the ping confirmation (ackq_confirm_written): a client
	 * that closes its stream once everything was written has read it. */
	if (c->sm.on && c->out.len == 0 && !c->sm.pending.n)
		c->sm.acked = c->sm.out;
}

int conn_sm_detach(struct conn *c)
{
	int secs = c->sm.detach_secs > 0 ? c->sm.detach_secs : c->cfg->resume_timeout;
	long until = (long)time(NULL) + secs;
	int r;

	if (!c->sm.on || !c->sm.resume || !c->lost || secs <= 0)
		return 0;
	conn_flush_modules(c, NULL);
	r = sync_now(c, until);
	if (r == SM_TAKEN) {
		c->taken = 1;
		return 1;
	}
	if (r == SM_NONE)
		return 0;               /* nothing to resume: end it as any session */
	if (r != SM_OK) {
		log_msg(LOG_ERR, "detach: %s", c->store->err);
		return 0;
	}
	log_msg(LOG_INFO, "session detached, resumable for %d s (%s)", secs,
	    c->end_reason[0] ? c->end_reason : "connection lost");
	return 1;
}

void conn_sm_forget(struct conn *c)
{
	if (!c->sm.on)
		return;
	c->sm.on = 0;
	c->sm.resume = 0;
	c->sm.inbox_taken = 0;       /* the inbox goes with the other keys */
	strvec_free(&c->sm.pending);
	c->sm.unsynced_from = SIZE_MAX;
}

void conn_sm_end(struct conn *c, const char *bare, const char *resource, const char *id)
{
	if (sm_end(c->store, bare, resource, id) < 0)
		log_msg(LOG_ERR, "stream management end: %s", c->store->err);
}

/* ---- the protocol ---- */

/* <failed xmlns='urn:xmpp:sm:3' [h=]><cond/>[extra]</failed> into out */
static void put_failed(struct xbuf *out, const char *cond, const unsigned long *h,
    const char *extra)
{
	xbuf_adds(out, "<failed xmlns='" NS_SM "'");
	if (h)
		xbuf_addf(out, " h='%lu'", *h);
	xbuf_addf(out, "><%s xmlns='" NS_STANZA_ERRORS "'/>%s</failed>", cond,
	    extra ? extra : "");
}

static void send_failed(struct conn *c, const char *cond, const unsigned long *h,
    const char *extra)
{
	put_failed(&c->out, cond, h, extra);
}

/* An h attribute: a number below 2^32. */
static int parse_h(const struct xml_node *el, unsigned long *h)
{
	const char *v = xml_get(el, "h");
	char *end;
	unsigned long long n;
	if (!v || !*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 10)
		return -1;
	n = strtoull(v, &end, 10);
	if (n > SM_MASK)
		return -1;
	*h = (unsigned long)n;
	return 0;
}

static int attr_true(const struct xml_node *el, const char *name)
{
	const char *v = xml_get(el, name);
	return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

int conn_sm_start(struct conn *c, int resume, char *id, size_t idsz)
{
	int r;

	if (idsz < 2 * SM_ID_BYTES + 1 || random_hex(id, SM_ID_BYTES) < 0)
		abort();
	r = sm_enable(c->store, c->bare, c->jid.resource, c->stream_id, id, resume,
	    c->sm.detach_secs);
	if (r == SM_TAKEN) {
		c->taken = 1;
		conn_stream_error(c, "conflict", "resource taken by another session");
		return -1;
	}
	if (r != SM_OK) {
		log_msg(LOG_ERR, "stream management enable: %s", c->store->err);
		return -2;
	}
	c->sm.on = 1;
	c->sm.resume = resume;
	return 0;
}

/* <enable/>, answered into out: <enabled/> or <failed/>, or nothing
 * when the stream is closing (the resource is another handler's). */
static void enable_into(struct conn *c, const struct xml_node *el, struct xbuf *out)
{
	char id[2 * SM_ID_BYTES + 1];
	int resume = attr_true(el, "resume") && c->cfg->resume_timeout > 0, r;

	if (c->state != CS_SESSION || c->sm.on) {
		put_failed(out, "unexpected-request", NULL, NULL);
		return;
	}
	r = conn_sm_start(c, resume, id, sizeof id);
	if (r == -2)
		put_failed(out, "internal-server-error", NULL, NULL);
	if (r < 0)
		return;
	xbuf_addf(out, "<enabled xmlns='" NS_SM "' id='%s'", id);
	if (resume)
		xbuf_addf(out, " resume='true' max='%d'", c->cfg->resume_timeout);
	xbuf_adds(out, "/>");
	log_msg(LOG_INFO, "stream management on%s", resume ? ", resumable" : "");
}

static void sm_enable_el(struct conn *c, struct xml_node *el)
{
	enable_into(c, el, &c->out);
}

/* Bind2 (XEP-0198 5, inline): <enabled/> goes into <bound/>. */
static void sm_bind2(struct conn *c, const struct xml_node *el, struct xml_node *bound)
{
	struct xbuf b = { 0 };
	if (strcmp(el->name, "enable"))
		return;
	enable_into(c, el, &b);
	if (b.len)
		xml_add_raw(bound, b.p, b.len);
	xbuf_free(&b);
}

static void sm_ack_el(struct conn *c, struct xml_node *el)
{
	unsigned long h;
	char app[160];

	if (parse_h(el, &h) == -1) {
		conn_stream_error(c, "undefined-condition", "<a/> needs an h between 0 and 2^32-1");
		return;
	}
	if (((h - c->sm.acked) & SM_MASK) > unacked(c)) {
		/* XEP-0198 4: more than was sent is a broken client. */
		snprintf(app, sizeof app, "<handled-count-too-high xmlns='" NS_SM "' h='%lu' "
		    "send-count='%lu'/>", h, c->sm.out);
		conn_stream_error_app(c, "undefined-condition", "h counts more than was sent", app);
		return;
	}
	c->sm.acked = h;
	c->sm.first_unacked = unacked(c) ? time(NULL) : 0;
	if (((h - c->sm.requested) & SM_MASK) <= unacked(c) || !unacked(c))
		c->sm.request_sent = 0;     /* the answer to our last request, or later */
	if (c->pull_waiting)
		conn_pull(c);
}

/* An entry of smq written again after a resumption: what the handler
 * made, or an inbox envelope's stanza; the first skip entries only
 * counted (the client has them already, BOSH's kept answers). */
struct replay {
	struct conn *c;
	unsigned long skip;
};

static void replay_one(const char *e, size_t len, void *arg)
{
	struct replay *rp = arg;
	struct conn *c = rp->c;
	struct route_msg m;
	const char *body;
	size_t blen;

	if (len >= sizeof RAW_HEAD - 1 && !memcmp(e, RAW_HEAD, sizeof RAW_HEAD - 1)) {
		body = e + sizeof RAW_HEAD - 1;
		blen = len - (sizeof RAW_HEAD - 1);
	} else if (route_parse(e, len, &m) == 0 && m.kind == ROUTE_STANZA) {
		body = m.body;
		blen = m.body_len;
	} else {
		return;
	}
	if (rp->skip)
		rp->skip--;
	else
		xbuf_add(&c->out, body, blen);
	c->sm.out = (c->sm.out + 1) & SM_MASK;
}

int conn_sm_resume(struct conn *c, const char *previd, unsigned long h, unsigned long skip,
    unsigned long *hin, struct xbuf *replay)
{
	char resource[JID_MAX_PART], old[64];
	struct replay rp = { c, skip };
	struct xbuf save = c->out;
	int r;

	/* The entries go to replay, not after what out holds. */
	memset(&c->out, 0, sizeof c->out);
	r = sm_resume(c->store, c->bare, previd, h, c->stream_id, c->cfg->hostname,
	    (long)getpid(), hin, resource, sizeof resource, old, sizeof old, replay_one, &rp);
	*replay = c->out;
	c->out = save;
	if (r != SM_RESUMED)
		return r;
	if (conn_session_start(c, resource) < 0) {
		/* The session is ours in Redis but cannot be served: detach
		 * it again for another try. */
		snprintf(c->jid.resource, sizeof c->jid.resource, "%s", resource);
		c->sm.on = c->sm.resume = c->lost = 1;
		conn_stream_error(c, "internal-server-error", "storage unavailable");
		return XE_REDIS;
	}
	if (old[0] && strcmp(old, c->stream_id))
		route_kick(c->store, c->bare, resource, old, SM_KICK_RESUMED);
	c->sm.on = c->sm.resume = 1;
	c->sm.acked = c->sm.acked_synced = c->sm.requested = h;
	c->sm.hin = c->sm.hin_synced = *hin;
	c->sm.out = (h + c->sm.out) & SM_MASK;     /* replay_one counted the entries */
	return SM_RESUMED;
}

void conn_sm_resumed(struct conn *c)
{
	int i;

	if (unacked(c)) {
		c->sm.first_unacked = time(NULL);
		if (!c->sm.implicit)
			send_request(c);
	}
	log_msg(LOG_INFO, "session resumed (%lu unacknowledged)", unacked(c));
	for (i = 0; modules[i]; i++)
		if (modules[i]->resumed)
			modules[i]->resumed(c);
	conn_pull(c);
}

/* <resume/>, answered into out: 1 <resumed/> (replay then holds what
 * the client gets again, to be written after whatever carries out, and
 * conn_sm_resumed is due), else 0 (<failed/>, or nothing when the
 * stream is closing). */
static int resume_into(struct conn *c, const struct xml_node *el, struct xbuf *out,
    struct xbuf *replay)
{
	const char *previd = xml_get(el, "previd");
	char app[160];
	unsigned long h, hin;

	if (c->state != CS_BIND || c->sm.on) {
		put_failed(out, "unexpected-request", NULL, NULL);
		return 0;
	}
	if (!previd || !*previd || strlen(previd) >= SM_ID_MAX || parse_h(el, &h) == -1) {
		put_failed(out, "bad-request", NULL, NULL);
		return 0;
	}
	switch (conn_sm_resume(c, previd, h, 0, &hin, replay)) {
	case SM_RESUMED:
		break;
	case SM_GONE:
		put_failed(out, "item-not-found", &hin, NULL);
		return 0;
	case SM_UNKNOWN:
		put_failed(out, "item-not-found", NULL, NULL);
		return 0;
	case SM_TOOHIGH:
		snprintf(app, sizeof app, "<handled-count-too-high xmlns='" NS_SM "' h='%lu' "
		    "send-count='%lu'/>", h, hin);
		put_failed(out, "undefined-condition", NULL, app);
		return 0;
	case XE_REDIS:
		if (c->state == CS_CLOSING)
			return 0;        /* conn_sm_resume ended the stream */
		/* fall through */
	default:
		log_msg(LOG_ERR, "stream management resume: %s", c->store->err);
		put_failed(out, "internal-server-error", NULL, NULL);
		return 0;
	}
	xbuf_addf(out, "<resumed xmlns='" NS_SM "' h='%lu' previd='", hin);
	xbuf_add_esc(out, previd, strlen(previd));
	xbuf_adds(out, "'/>");
	return 1;
}

void sm_sasl2_replay(struct conn *c, struct xbuf *replay)
{
	if (replay->len)
		xbuf_add(&c->out, replay->p, replay->len);
	xbuf_free(replay);
	conn_sm_resumed(c);
}

static void sm_resume_el(struct conn *c, struct xml_node *el)
{
	struct xbuf replay = { 0 };
	if (resume_into(c, el, &c->out, &replay))
		sm_sasl2_replay(c, &replay);
	else
		xbuf_free(&replay);
}

int sm_sasl2_resume(struct conn *c, const struct xml_node *el, struct xml_node *success,
    struct xbuf *replay)
{
	struct xbuf b = { 0 };
	int r = resume_into(c, el, &b, replay);
	if (b.len)
		xml_add_raw(success, b.p, b.len);
	xbuf_free(&b);
	if (!r)
		xbuf_free(replay);
	return r;
}

void sm_sasl2_offer(struct conn *c, struct xml_node *inl)
{
	if (c->store_ok && !c->sm.implicit)
		xml_new_child(inl, NS_SM, "sm");
}

static void sm_element(struct conn *c, struct xml_node *el)
{
	if (!strcmp(el->name, "enable"))
		sm_enable_el(c, el);
	else if (!strcmp(el->name, "resume"))
		sm_resume_el(c, el);
	else if (!c->sm.on)
		send_failed(c, "unexpected-request", NULL, NULL);
	else if (!strcmp(el->name, "r"))
		xbuf_addf(&c->out, "<a xmlns='" NS_SM "' h='%lu'/>", c->sm.hin);
	else if (!strcmp(el->name, "a"))
		sm_ack_el(c, el);
	else
		conn_stream_error(c, "unsupported-stanza-type", el->name);
}

/* After authentication (the features that offer bind), when the session
 * can be kept in Redis. */
static void sm_features(struct conn *c, struct xml_node *f)
{
	if (c->phase == PHASE_BIND && c->store_ok && !c->sm.implicit)
		xml_new_child(f, NS_SM, "sm");
}

/* Ask for acknowledgement a moment after the first unacknowledged
 * stanza; a request unanswered for ack_timeout means the connection is
 * gone. */
static int sm_tick(struct conn *c, time_t now)
{
	int left;

	if (!c->sm.on || c->sm.implicit)
		return -1;
	if (c->sm.request_sent) {
		left = (int)(c->sm.request_sent + c->cfg->ack_timeout - now);
		if (left <= 0 || unacked(c) > SM_UNACKED_MAX) {
			c->lost = 1;
			conn_stream_error(c, "connection-timeout", "no acknowledgement");
			return 1;
		}
		return left;
	}
	if (!unacked(c))
		return -1;
	left = (int)(c->sm.first_unacked + c->cfg->ack_request_delay - now);
	if (left > 0)
		return left;
	send_request(c);
	return c->cfg->ack_timeout;
}

const struct module mod_sm = {
	.name = "sm",
	.phases = PHASE_BIND | PHASE_SESSION,
	.toplevel_ns = NS_SM,
	.features = sm_features,
	.element = sm_element,
	.bind2_var = NS_SM,
	.bind2 = sm_bind2,
	.tick = sm_tick,
};
