/*
 * bosh.c - one HTTP request of a BOSH session (bosh.h; BOSH in
 * xmpp-web(8) is the design).
 *
 * The request runs an ordinary stream (handler/stream.c) with a framing
 * of its own: the stream's output is collected, element by element
 * (xmlout.h), into the answer's <body/>, and what the client sent is fed
 * to the stream as the <body/>'s children. The stream is first brought
 * to where the session is: a header (its features dropped), the account
 * marked authenticated, and, once bound, the XEP-0198 state resumed
 * (conn_sm_resume, the core of <resume/>).
 *
 *   no sid   -> session creation: header -> features -> hash (auth)
 *   sid      -> bosh_claim.lua (rid window: next, replay, held, early, bad)
 *     auth    -> header (dropped) -> [SCRAM begun: sasl_restore] -> <auth/>
 *                or <response/> -> success: bind; or the exchange kept
 *                (sasl_pending) for the next request
 *     bind    -> authenticated, header (features answered on restart)
 *                -> bind iq -> XEP-0198 on, resumable -> session
 *     session -> authenticated, header (dropped) -> resume under a new
 *                owner (the held request's process is kicked) -> the
 *                broadcast log read on from the session's position
 *                (route.h: kept for the session from its bind on) -> stanzas
 *   -> bosh_fed.lua (the next rid may go on)
 *   -> wait for output (at most 'wait') -> bosh_record.lua (answer and
 *      count kept under rid, if still the owner) -> detach (sm_sync.lua)
 *      -> the answer
 */
#include "bosh.h"
#include "boshsession.h"
#include "config.h"
#include "conn-int.h"
#include "http.h"
#include "log.h"
#include "random.h"
#include "route.h"
#include "sasl.h"
#include "serve.h"
#include "store.h"
#include "xmalloc.h"
#include "xmlout.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#define NS_HTTPBIND       "http://jabber.org/protocol/httpbind"
#define NS_XBOSH          "urn:xmpp:xbosh"
#define NS_STREAMS_URI    "http://etherx.jabber.org/streams"
#define CTYPE_XML         "text/xml; charset=utf-8"
#define BOSH_SID_BYTES    16
#define BOSH_BODY_SLACK   4096    /* the <body/> around max_stanza_size of stanzas */
#define BOSH_READ_SEC     10      /* to read the body */
#define BOSH_RID_MAX      9007199254740991ULL   /* 2^53 - 1 (XEP-0124 7) */
#define BOSH_EARLY_TRIES  20      /* waits for a predecessor request ... */
#define BOSH_EARLY_MS     100     /* ... each this long */
_Static_assert(SASL_PENDING_MAX <= BOSH_SASL_MAX, "a SASL exchange fits the hash's field");

#define PREFLIGHT_HEADERS "Access-Control-Allow-Methods: POST, OPTIONS\r\n" \
	"Access-Control-Allow-Headers: Content-Type\r\nAccess-Control-Max-Age: 86400\r\n"

/* The framing: the stream's output, collected for the answer. */
struct bosh_out {
	struct xbuf body;        /* the answer's children */
	int discard;             /* bringing the stream back: drop what it says */
	int ended;               /* </stream:stream> came */
	int stream_error;        /* ... after a <stream:error/> */
};

/* One request. */
struct bosh_req {
	struct http_req *http;
	const struct config *cfg;
	struct store st;
	struct conn c;
	struct bosh_out out;
	struct bosh_session b;
	char sid[BOSH_SID_MAX];
	unsigned long long rid;
	long long arrived_ms;    /* when the request came (Unix ms) */
	int empty;               /* no stanzas, no terminate: a poll */
	int conn_ready;          /* c was initialised */
	int client_gone;         /* the client closed the held request */
};

/* ---- the framing ---- */

static int collect_item(void *arg, enum xmlout_item kind, const char *p, size_t len,
    size_t tlen, size_t name_len)
{
	struct bosh_out *o = arg;

	if (kind == XO_END)
		o->ended = 1;
	if (kind != XO_ELEMENT || o->discard)
		return 0;
	if (name_len == 12 && !strncmp(p + 1, "stream:error", 12))
		o->stream_error = 1;
	xmlout_element(&o->body, p, len, tlen, name_len);
	return 0;
}

static int fr_input(void *f, struct conn *c, const char *buf, size_t len)
{
	(void)f;
	stream_parse(c, buf, len);
	return 0;
}

static int fr_flush(void *f, struct io *io, struct xbuf *out)
{
	(void)io;
	xbuf_consume(out, xmlout_split(out->p, out->len, collect_item, f));
	return 0;
}

static size_t fr_pending(const void *f)
{
	(void)f;
	return 0;
}

static const char *fr_error(const void *f)
{
	(void)f;
	return "BOSH request";
}

static void fr_free(void *f)
{
	(void)f;                 /* struct bosh_req owns it */
}

static const struct framing bosh_framing = { fr_input, fr_flush, fr_pending, fr_error,
	fr_free };

/* ---- answers ---- */

/* <body/> with attrs (each " name='value'", or NULL) around children,
 * into b. */
static void body_make(struct xbuf *b, const char *attrs, const char *children, size_t len)
{
	xbuf_adds(b, "<body xmlns='" NS_HTTPBIND "'");
	if (attrs)
		xbuf_adds(b, attrs);
	if (!len) {
		xbuf_adds(b, "/>");
	} else {
		xbuf_adds(b, " xmlns:stream='" NS_STREAMS_URI "'>");
		xbuf_add(b, children, len);
		xbuf_adds(b, "</body>");
	}
}

/* Answer with body_make's <body/>. */
static void answer(struct bosh_req *r, const char *attrs, const char *children, size_t len)
{
	struct xbuf b = { 0 };

	body_make(&b, attrs, children, len);
	http_respond(r->http, "200 OK", NULL, CTYPE_XML, b.p, b.len);
	xbuf_free(&b);
}

/* The attributes of a terminating <body/> with condition (NULL: none). */
static void terminate_attrs(char *out, size_t outsz, const char *condition)
{
	snprintf(out, outsz, " type='terminate'%s%s%s", condition ? " condition='" : "",
	    condition ? condition : "", condition ? "'" : "");
}

/* XEP-0124 17: the session ends with condition (NULL: none). */
static void terminate(struct bosh_req *r, const char *condition)
{
	char attrs[128];
	terminate_attrs(attrs, sizeof attrs, condition);
	log_msg(LOG_INFO, "BOSH terminate%s%s", condition ? ": " : "", condition ? condition : "");
	answer(r, attrs, NULL, 0);
}

/* ---- the request ---- */

/* The body, whole, parsed: its root, or NULL (answered). */
static struct xml_node *read_body(struct bosh_req *r)
{
	size_t max = r->cfg->max_stanza_size + BOSH_BODY_SLACK, len = 0;
	struct xml_node *root;
	char *buf;
	ssize_t got;

	if (r->http->content_length < 0) {
		http_respond(r->http, "411 Length Required", NULL, NULL, NULL, 0);
		return NULL;
	}
	if ((unsigned long long)r->http->content_length > max) {
		http_respond(r->http, "413 Content Too Large", NULL, NULL, NULL, 0);
		return NULL;
	}
	buf = xmalloc((size_t)r->http->content_length + 1);
	while ((got = http_body_read(r->http, buf + len, (size_t)r->http->content_length - len,
	    BOSH_READ_SEC)) > 0)
		len += (size_t)got;
	if (got < 0 || len != (size_t)r->http->content_length) {
		log_msg(LOG_INFO, "BOSH body not read");
		free(buf);
		return NULL;
	}
	root = xml_parse_string(buf, len);
	free(buf);
	if (!root || !root->ns || strcmp(root->ns, NS_HTTPBIND) || strcmp(root->name, "body")) {
		xml_free(root);
		http_respond(r->http, "400 Bad Request", NULL, CTYPE_XML,
		    "<body xmlns='" NS_HTTPBIND "' type='terminate' condition='bad-request'/>",
		    sizeof "<body xmlns='" NS_HTTPBIND "' type='terminate' condition='bad-request'/>" - 1);
		return NULL;
	}
	return root;
}

/* A rid: decimal, 1 to 2^53 - 1. */
static int parse_rid(const char *v, unsigned long long *rid)
{
	char *end;
	if (!v || !*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 16)
		return -1;
	*rid = strtoull(v, &end, 10);
	return *rid >= 1 && *rid <= BOSH_RID_MAX ? 0 : -1;
}

/* XEP-0206 5: xmpp:restart='true' (urn:xmpp:xbosh). */
static int wants_restart(const struct xml_node *body)
{
	const struct xml_attr *a;
	for (a = body->attrs; a; a = a->next)
		if (a->ns && !strcmp(a->ns, NS_XBOSH) && !strcmp(a->name, "restart"))
			return !strcmp(a->value, "true") || !strcmp(a->value, "1");
	return 0;
}

static void conn_start(struct bosh_req *r, const char *peer)
{
	conn_init(&r->c, r->cfg, &r->st, peer, r->http->rfd, r->http->wfd);
	conn_set_framing(&r->c, &bosh_framing, &r->out);
	conn_set_storage(&r->c, 1);
	r->c.sm.implicit = 1;
	r->c.auth_one_step = 1;
	r->conn_ready = 1;
}

/* The stream header the session's stream starts with. */
static void feed_header(struct bosh_req *r, const char *to)
{
	struct xbuf h = { 0 };
	xbuf_adds(&h, "<stream:stream xmlns='jabber:client' xmlns:stream='" NS_STREAMS_URI
	    "' version='1.0' to='");
	xbuf_add_esc(&h, to, strlen(to));
	xbuf_adds(&h, "'>");
	stream_feed(&r->c, h.p, h.len);
	xbuf_free(&h);
}

/* The <body/>'s children, to the stream as they came. */
static void feed_children(struct bosh_req *r, const struct xml_node *body)
{
	const struct xml_node *ch;
	struct xbuf x = { 0 };

	for (ch = body->children; ch && !conn_closing(&r->c); ch = ch->next) {
		if (!ch->name)
			continue;
		x.len = 0;
		xml_write(&x, ch, "jabber:client");
		stream_feed(&r->c, x.p, x.len);
	}
	xbuf_free(&x);
}

static void create(struct bosh_req *r, const struct xml_node *body, const char *peer)
{
	const char *to = xml_get(body, "to"), *w = xml_get(body, "wait"), *h = xml_get(body, "hold");
	char attrs[2 * JID_MAX_PART + 512];
	int wait = w ? atoi(w) : BOSH_WAIT_MAX;

	if (parse_rid(xml_get(body, "rid"), &r->rid) == -1) {
		terminate(r, "bad-request");
		return;
	}
	if (!to || !config_serves(r->cfg, to)) {
		terminate(r, "host-unknown");
		return;
	}
	if (random_hex(r->sid, BOSH_SID_BYTES) < 0)
		abort();
	memset(&r->b, 0, sizeof r->b);
	snprintf(r->b.state, sizeof r->b.state, BOSH_ST_AUTH);
	snprintf(r->b.to, sizeof r->b.to, "%s", to);
	snprintf(r->b.ver, sizeof r->b.ver, BOSH_VER);
	r->b.wait = wait > 0 && wait < BOSH_WAIT_MAX ? wait : BOSH_WAIT_MAX;
	r->b.hold = h && !strcmp(h, "0") ? 0 : BOSH_HOLD;
	r->b.requests = r->b.hold + 1;
	r->b.inactivity = r->cfg->bosh_inactivity;
	conn_start(r, peer);
	feed_header(r, to);
	conn_flush(&r->c);
	snprintf(r->b.authid, sizeof r->b.authid, "%s", r->c.stream_id);
	if (conn_closing(&r->c) || bosh_create(&r->st, r->sid, &r->b, r->rid,
	    r->b.inactivity + r->b.wait + BOSH_TTL_SLACK) < 0) {
		terminate(r, "internal-server-error");
		return;
	}
	snprintf(attrs, sizeof attrs, " xmlns:xmpp='" NS_XBOSH "' sid='%s' wait='%d' "
	    "requests='%d' hold='%d' inactivity='%d' polling='%d' ver='%s' from='%s' "
	    "authid='%s' xmpp:version='1.0' xmpp:restartlogic='true'", r->sid, r->b.wait,
	    r->b.requests, r->b.hold, r->b.inactivity, BOSH_POLLING, BOSH_VER, r->b.to,
	    r->b.authid);
	log_msg(LOG_INFO, "BOSH session %s created", r->sid);
	answer(r, attrs, r->out.body.p, r->out.body.len);
}

/* Claim the request's rid, waiting a little for a predecessor that it
 * overtook. The claim's result; a replayed answer is written here. */
static int claim(struct bosh_req *r)
{
	char *ans = NULL;
	size_t len = 0;
	int i, o = BOSH_EARLY;

	for (i = 0; i < BOSH_EARLY_TRIES && o == BOSH_EARLY; i++) {
		if (i)
			usleep(BOSH_EARLY_MS * 1000);
		o = bosh_claim(&r->st, r->sid, r->rid, r->cfg->bosh_inactivity + BOSH_WAIT_MAX +
		    BOSH_TTL_SLACK, i == BOSH_EARLY_TRIES - 1, &r->b, &ans, &len);
	}
	switch (o) {
	case BOSH_CLAIMED:
		break;
	case BOSH_REPLAY:
		log_msg(LOG_INFO, "BOSH rid %llu answered again", r->rid);
		http_respond(r->http, "200 OK", NULL, CTYPE_XML, ans, len);
		free(ans);
		break;
	case BOSH_HELD:
		log_msg(LOG_INFO, "BOSH rid %llu sent again while held: taken over", r->rid);
		break;
	case BOSH_BAD:
		break;                   /* go_on ends the session */
	case BOSH_NONE:
	case BOSH_EARLY:
		terminate(r, "item-not-found");
		break;
	default:
		log_msg(LOG_ERR, "BOSH claim: %s", r->st.err);
		terminate(r, "internal-server-error");
		break;
	}
	return o;
}

/* The session is over: its hash goes, and the broadcast log is no
 * longer kept for it. */
static void session_over(struct bosh_req *r)
{
	bosh_delete(&r->st, r->sid);
	if (r->b.jid[0] && route_bcast_release(&r->st, r->b.jid, r->sid) < 0)
		log_msg(LOG_ERR, "BOSH: %s", r->st.err);
}

/* Keep the user's broadcast log for the session until it may end
 * (route.h: between two requests no process listens); pos gets the
 * log's newest entry. 0, or -1 (logged). */
static int bcast_hold(struct bosh_req *r, char *pos, size_t sz)
{
	long until = (long)time(NULL) + r->b.inactivity + r->b.wait + BOSH_TTL_SLACK;
	if (route_bcast_hold(&r->st, r->b.jid, r->sid, until, pos, sz) < 0) {
		log_msg(LOG_ERR, "BOSH broadcast log: %s", r->st.err);
		return -1;
	}
	return 0;
}

/* Bring the stream to where the session is (b.state). 0, or -1 when the
 * session cannot go on (answered). */
static int restore(struct bosh_req *r, const struct xml_node *body)
{
	struct xbuf replay = { 0 };
	char pos[ROUTE_BCAST_ID_MAX], done[ROUTE_BCAST_ID_MAX];
	struct jid j;
	unsigned long hin;
	int rs;

	r->c.sm.detach_secs = r->b.inactivity;
	snprintf(r->c.domain, sizeof r->c.domain, "%s", r->b.to);
	/* Before authentication the stream id is the one the client was
	 * told (XEP-0078's digest hashes it); after, each request has its
	 * own, the owner of the session's stream management state. */
	if (!strcmp(r->b.state, BOSH_ST_AUTH) && strlen(r->b.authid) < sizeof r->c.stream_id)
		memcpy(r->c.stream_id, r->b.authid, strlen(r->b.authid) + 1);
	if (strcmp(r->b.state, BOSH_ST_AUTH)) {
		if (jid_parse(r->b.jid, &j) == -1) {
			terminate(r, "internal-server-error");
			return -1;
		}
		conn_authenticated(&r->c, j.node, "BOSH session");
		/* From the bind on, every broadcast is logged for the session
		 * (conn_bcast_log); bound, it reads on where it stopped. */
		if (bcast_hold(r, pos, sizeof pos) == -1) {
			terminate(r, "internal-server-error");
			return -1;
		}
		if (!strcmp(r->b.state, BOSH_ST_BIND))
			conn_bcast_log(&r->c, pos, 0);
	}
	r->out.discard = !(wants_restart(body) && !strcmp(r->b.state, BOSH_ST_BIND));
	feed_header(r, r->b.to);
	conn_flush(&r->c);
	r->out.discard = 0;
	/* A SCRAM exchange the previous request began. */
	if (!strcmp(r->b.state, BOSH_ST_AUTH) && r->b.sasl[0] &&
	    sasl_restore(&r->c, r->b.sasl) == -1)
		log_msg(LOG_INFO, "BOSH: SASL exchange not restored");
	/* One budget of failed attempts per session, as per stream. */
	if (!strcmp(r->b.state, BOSH_ST_AUTH))
		sasl_set_failures(&r->c, r->b.auth_failures);
	if (strcmp(r->b.state, BOSH_ST_SESSION))
		return 0;
	rs = conn_sm_resume(&r->c, r->b.smid, r->b.acked, (r->b.sent - r->b.acked) & SM_MASK,
	    &hin, &replay);
	if (rs != SM_RESUMED) {
		xbuf_free(&replay);
		log_msg(LOG_INFO, "BOSH session %s is over (%d)", r->sid, rs);
		session_over(r);
		terminate(r, rs < 0 ? "internal-server-error" : "item-not-found");
		return -1;
	}
	/* Already in Redis (smq): written, not counted again. */
	if (replay.len)
		xbuf_add(&r->c.out, replay.p, replay.len);
	xbuf_free(&replay);
	conn_sm_resumed(&r->c);
	/* Owned now: where the log was read up to is ours to change. */
	if (sm_bcast_pos(&r->st, r->b.jid, r->c.jid.resource, done, sizeof done) < 0) {
		log_msg(LOG_ERR, "BOSH broadcast log: %s", r->st.err);
		done[0] = '\0';
	}
	conn_bcast_log(&r->c, done[0] ? done : pos, done[0] != '\0');
	conn_bcast_pull(&r->c);
	return 0;
}

/* After the body: what changed in the session's state goes to the hash. */
static int advance(struct bosh_req *r)
{
	char smid[SM_ID_MAX], sasl[SASL_PENDING_MAX];
	int rs;

	if (!strcmp(r->b.state, BOSH_ST_AUTH) && r->c.jid.node[0]) {
		if ((rs = bosh_set_sasl(&r->st, r->sid, "")) < 0)
			return rs;
		return bosh_set_state(&r->st, r->sid, BOSH_ST_BIND, r->c.bare, NULL, NULL);
	}
	if (!strcmp(r->b.state, BOSH_ST_AUTH) && sasl_failures(&r->c) != r->b.auth_failures &&
	    (rs = bosh_set_failures(&r->st, r->sid, sasl_failures(&r->c))) < 0)
		return rs;
	if (!strcmp(r->b.state, BOSH_ST_AUTH)) {
		/* A SCRAM exchange goes on in the next request: keep it. */
		if (!sasl_pending(&r->c, sasl, sizeof sasl))
			sasl[0] = '\0';
		if (strcmp(sasl, r->b.sasl))
			return bosh_set_sasl(&r->st, r->sid, sasl);
		return 0;
	}
	if (!strcmp(r->b.state, BOSH_ST_BIND) && r->c.state == CS_SESSION) {
		if (conn_sm_start(&r->c, 1, smid, sizeof smid) < 0)
			return -1;
		snprintf(r->b.state, sizeof r->b.state, BOSH_ST_SESSION);
		return bosh_set_state(&r->st, r->sid, BOSH_ST_SESSION, NULL, r->c.jid.resource,
		    smid);
	}
	return 0;
}

/* Hold the request until the stream has something to say, the session
 * is taken by a newer request, or wait seconds have passed. */
static void hold(struct bosh_req *r)
{
	time_t deadline = time(NULL) + r->b.wait;
	char junk[512];

	for (;;) {
		time_t now = time(NULL);
		struct pollfd pfd[1 + SERVE_SUB_FDS];
		int t = conn_tick(&r->c, now), nsub;
		ssize_t got;

		conn_flush(&r->c);
		if (conn_closing(&r->c) || r->out.body.len || now >= deadline)
			return;
		if (t < 0 || t > deadline - now)
			t = (int)(deadline - now);
		pfd[0].fd = r->http->rfd;
		pfd[0].events = POLLIN;
		nsub = serve_sub_poll(&r->st, pfd + 1);
		if (poll(pfd, (nfds_t)(1 + nsub), t * 1000) == -1) {
			if (errno == EINTR)
				continue;
			conn_eof(&r->c, "poll failed");
			return;
		}
		if (pfd[0].revents) {
			/* Nothing more is due from the client: EOF means it left. */
			got = read(r->http->rfd, junk, sizeof junk);
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
				r->client_gone = 1;
				conn_eof(&r->c, "client left a held BOSH request");
				return;
			}
		}
		if (serve_subscriber(&r->c, &r->st, pfd + 1, nsub) == -1) {
			store_suspect(&r->st);
			conn_stream_error(&r->c, "internal-server-error", "storage unavailable");
		}
		conn_after_wakeups(&r->c);
	}
}

/* The answer to a claimed request: kept under its rid for a replay,
 * then written; the session detached, or ended when terminating is not
 * NULL (its condition, or "" for none). */
static void finish(struct bosh_req *r, const char *terminating)
{
	struct conn *c = &r->c;
	char attrs[128] = "";
	struct xbuf b = { 0 };
	int bound = !strcmp(r->b.state, BOSH_ST_SESSION), rec;

	conn_flush(c);
	if (c->taken) {
		/* A newer request resumed the session: it sends what this one
		 * had, which Redis still holds unacknowledged. */
		r->out.body.len = 0;
		r->out.ended = r->out.stream_error = 0;
	}
	if (r->out.ended || terminating)
		terminate_attrs(attrs, sizeof attrs, r->out.stream_error ? "remote-stream-error" :
		    terminating && *terminating ? terminating : NULL);
	body_make(&b, attrs, r->out.body.p, r->out.body.len);
	if (r->out.ended || terminating) {
		/* The stream is over: the session ends as any does. */
		session_over(r);
		conn_finish(c);
	} else if (r->client_gone) {
		/* Nobody reads this answer (a page reload aborts its requests):
		 * not kept, its stanzas stay unacknowledged and go out in the
		 * next request's answer. */
		conn_finish(c);
		goto out;
	} else {
		rec = bosh_record(&r->st, r->sid, r->rid, b.p, b.len, bound && !c->taken,
		    c->sm.out, bound && !c->taken ? c->stream_id : "", c->bare, c->jid.resource,
		    r->b.claim, r->empty && !r->out.body.len ? r->arrived_ms : 0);
		if (rec == BOSH_TAKEN) {
			b.len = 0;
			body_make(&b, NULL, NULL, 0);
			c->taken = c->goes_on = 1;
		} else if (rec < 0) {
			log_msg(LOG_ERR, "BOSH record: %s", r->st.err);
		}
		/* The request ends, not the session: detach it. */
		conn_eof(c, "BOSH request answered");
		conn_finish(c);
	}
	http_respond(r->http, "200 OK", NULL, CTYPE_XML, b.p, b.len);
out:
	xbuf_free(&b);
}

/* XEP-0124 11: in a polling session (hold 0), an empty request that
 * comes less than 'polling' seconds after an empty one that got an empty
 * answer is too early. */
static int polls_too_often(const struct bosh_req *r)
{
	return r->empty && r->b.requests == 1 && r->b.empty_poll_ms > 0 &&
	    r->arrived_ms - r->b.empty_poll_ms < BOSH_POLLING * 1000LL;
}

/* Unix time in milliseconds. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* No stanza and no terminate in the body. */
static int is_empty(const struct xml_node *body, int terminating)
{
	const struct xml_node *ch;
	for (ch = body->children; ch; ch = ch->next)
		if (ch->name)
			return 0;
	return !terminating;
}

static void go_on(struct bosh_req *r, const struct xml_node *body, const char *peer)
{
	const char *type = xml_get(body, "type");
	int terminating = type && !strcmp(type, "terminate"), o;
	static const char end[] = "</stream:stream>";

	if (parse_rid(xml_get(body, "rid"), &r->rid) == -1) {
		terminate(r, "bad-request");
		return;
	}
	r->empty = is_empty(body, terminating);
	o = claim(r);
	if (o != BOSH_CLAIMED && o != BOSH_BAD && o != BOSH_HELD)
		return;
	conn_start(r, peer);
	if (restore(r, body) == -1)
		return;
	if (o == BOSH_BAD || (o == BOSH_CLAIMED && polls_too_often(r))) {
		/* XEP-0124 14.2: a rid outside the window ends the session,
		 * as the client's own terminate would (nothing of it fed);
		 * so does polling faster than allowed (XEP-0124 12). */
		log_msg(LOG_INFO, "BOSH rid %llu %s", r->rid, o == BOSH_BAD ?
		    "outside the window" : "polls too often");
		if (!conn_closing(&r->c))
			stream_feed(&r->c, end, sizeof end - 1);
		finish(r, o == BOSH_BAD ? "item-not-found" : "policy-violation");
		return;
	}
	if (o == BOSH_HELD) {
		/* XEP-0124 14.3: the client lost the connection of a request
		 * still held and sent it again; its content was fed already.
		 * Resuming kicked the process that held it: this one waits and
		 * answers in its place, under the same rid. */
		if (!strcmp(r->b.state, BOSH_ST_SESSION) && r->b.requests > 1)
			hold(r);
		finish(r, NULL);
		return;
	}
	feed_children(r, body);
	if (terminating && !conn_closing(&r->c))
		stream_feed(&r->c, end, sizeof end - 1);
	if (advance(r) < 0 || bosh_fed(&r->st, r->sid, r->rid) < 0) {
		log_msg(LOG_ERR, "BOSH state: %s", r->st.err);
		conn_stream_error(&r->c, "internal-server-error", "storage unavailable");
	}
	conn_flush(&r->c);
	/* hold='0' (requests 1): answered at once, polling. */
	if (!strcmp(r->b.state, BOSH_ST_SESSION) && !terminating && r->b.requests > 1)
		hold(r);
	finish(r, terminating ? "" : NULL);
}

void bosh_serve(struct http_req *req, const struct config *cfg, const char *peer)
{
	struct bosh_req *r;
	struct xml_node *body;
	const char *sid;

	if (req->method == HTTP_OPTIONS) {
		http_respond(req, "200 OK", PREFLIGHT_HEADERS, NULL, NULL, 0);
		return;
	}
	if (req->method != HTTP_POST) {
		http_respond(req, "405 Method Not Allowed", "Allow: POST, OPTIONS\r\n", NULL, NULL, 0);
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->http = req;
	r->cfg = cfg;
	r->arrived_ms = now_ms();
	if (!(body = read_body(r)))
		goto out;
	if (serve_store(&r->st, cfg) == -1) {
		terminate(r, "internal-server-error");
		goto out;
	}
	sid = xml_get(body, "sid");
	if (!sid) {
		create(r, body, peer);
	} else if (strlen(sid) >= sizeof r->sid) {
		terminate(r, "item-not-found");
	} else {
		snprintf(r->sid, sizeof r->sid, "%s", sid);
		go_on(r, body, peer);
	}
	if (r->conn_ready)
		conn_free(&r->c);
	store_close(&r->st);
out:
	xml_free(body);
	xbuf_free(&r->out.body);
	free(r);
}
