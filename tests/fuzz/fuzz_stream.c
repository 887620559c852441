/*
 * fuzz_stream.c - libFuzzer target over the whole client stream: the state
 * machine of handler/stream.c and every module it dispatches to (sasl,
 * iqauth, bind, serveriq, deliver, presence, rosteriq, ackq), with
 * fake_router.c in place of the router/ sources and Redis.
 *
 * Input: byte 0 = fault: router call number that fails as if Redis did
 * (0 = none); byte 1 = flags (low 3 bits: number of chunk-size bytes, see
 * fuzz_common.h; bit 3: after each chunk run the timers, 31 s later once
 * a resource is bound: heartbeats, reaping the dead session and, later,
 * the ack and idle timeouts; bit 5 with bit 3: before those timers every
 * session is reaped by another handler, as if this one had stalled past
 * the session TTL; bit 4: at the end run the timers far in the future;
 * bit 6: once a resource is bound, another login takes it, with a kick to
 * this session); the chunk sizes; then what the client sends, fed to
 * conn_input chunk by chunk. After each chunk what was published to the
 * connection's channels goes through conn_deliver, as the main loop does.
 * The end is an EOF: conn_eof, conn_finish, conn_free.
 *
 * Randomness (stream ids, SCRAM nonces, generated resources) comes from
 * getrandom(2), replaced here by a generator seeded afresh for each input,
 * so an input replays exactly and seeds can carry a valid XEP-0078 digest
 * or SCRAM proof (tests/fuzz/make-seeds.py computes them).
 *
 * FUZZ_DUMP=1 in the environment prints what the server wrote, FUZZ_LOG=1
 * the handler's log lines (quiet_log.c).
 *
 * Checked (abort on violation), besides what ASan and UBSan catch: what
 * the server writes to the client is well-formed XML: each stream the
 * server opens ("<?xml version='1.0'?><stream:stream ...") is parsed by a
 * second, client-side parser, and any bytes before the first header, any
 * XML error, or bytes after the server's </stream:stream> abort. Between
 * reads, a bound session has its full JID and the ackq's byte count
 * matches its items. Unless an injected Redis failure happened, after
 * conn_finish the session's record is gone and, unless another session
 * took the resource over, nothing is left in its inbox (issue 5: no stale
 * sessions, nothing lost).
 */
#include "conn-int.h"
#include "modules.h"
#include "fake_router.h"
#include "route.h"
#include "session.h"
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- deterministic randomness ---- */

static struct fuzz_rng rng;
static int deterministic;        /* inside LLVMFuzzerTestOneInput */

/* The handler's only source of randomness (stream ids, SCRAM nonces,
 * generated resources): replaced while an input runs; the kernel's
 * otherwise (libFuzzer and the sanitizers may ask too). */
ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	unsigned char *p = buf;
	size_t i;
	if (!deterministic)
		return syscall(SYS_getrandom, buf, len, flags);
	for (i = 0; i < len; i++)
		p[i] = fuzz_rng_byte(&rng);
	return (ssize_t)len;
}

/* ---- the client's view of the output ---- */

static const char HEADER_MARK[] = "<?xml version='1.0'?>";

struct outcheck {
	struct xml_stream *xs;
	int started;             /* a header has been seen */
	struct xbuf all;         /* everything written, for the report */
};

static struct outcheck oc;

static void oc_die(const char *cond, const char *reason)
{
	fprintf(stderr, "fuzz_stream: the server wrote broken XML: %s (%s)\n"
	    "--- everything the server wrote (%zu bytes):\n%.*s\n---\n", cond, reason,
	    oc.all.len, (int)oc.all.len, oc.all.p ? oc.all.p : "");
	abort();
}

static void oc_open(void *ctx, struct xml_node *root, const char *ns)
{
	(void)ctx; (void)root; (void)ns;
}

static void oc_element(void *ctx, struct xml_node *el)
{
	(void)ctx;
	xml_free(el);
}

static void oc_close(void *ctx)
{
	(void)ctx;
}

static void oc_error(void *ctx, const char *cond, const char *reason)
{
	(void)ctx;
	oc_die(cond, reason);
}

static void oc_feed_doc(const char *p, size_t n)
{
	size_t used;
	if (!n)
		return;
	if (!oc.started)
		oc_die("bytes before the first stream header", "");
	xml_stream_feed(oc.xs, p, n, &used);
}

static void oc_feed(const char *p, size_t n)
{
	const char *m;
	xbuf_add(&oc.all, p, n);
	while (n && (m = memmem(p, n, HEADER_MARK, sizeof HEADER_MARK - 1))) {
		oc_feed_doc(p, (size_t)(m - p));
		n -= (size_t)(m - p);
		p = m;
		/* A new stream from the server: a new document. */
		if (oc.started && xml_stream_reset(oc.xs) == -1)
			oc_die("reset failed", "");
		oc.started = 1;
		oc_feed_doc(p, sizeof HEADER_MARK - 1);
		p += sizeof HEADER_MARK - 1;
		n -= sizeof HEADER_MARK - 1;
	}
	oc_feed_doc(p, n);
}

/* ---- the harness ---- */

static void harness_die(const char *what)
{
	fprintf(stderr, "fuzz_stream: %s\n--- everything the server wrote (%zu bytes):\n%.*s\n---\n",
	    what, oc.all.len, (int)oc.all.len, oc.all.p ? oc.all.p : "");
	abort();
}

/* What must hold between two reads of the main loop. */
static void invariants(const struct conn *c)
{
	const struct ackq_item *it;
	size_t bytes = 0;
	if (c->state == CS_SESSION && (!c->jid.node[0] || !c->jid.resource[0] ||
	    !c->bare[0] || !c->full[0]))
		harness_die("a session without a full JID");
	for (it = c->ackq.head; it; it = it->next)
		bytes += it->len;
	if (bytes != c->ackq.bytes)
		harness_die("ackq byte count differs from its items");
}

static struct config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	(void)argc; (void)argv;

	if (config_load(&cfg, "/dev/null", err, sizeof err) == -1) {
		fprintf(stderr, "fuzz_stream: config: %s\n", err);
		abort();
	}
	snprintf(cfg.domains[0], sizeof cfg.domains[0], "localhost");
	snprintf(cfg.domains[1], sizeof cfg.domains[1], "example.org");
	cfg.ndomains = 2;
	snprintf(cfg.hostname, sizeof cfg.hostname, "fuzzhost");
	cfg.allow_plaintext_auth = 1;
	cfg.registration = CONFIG_REG_INVITE;      /* the whole pre-auth registration path */
	cfg.auth_fail_delay_ms = 0;
	cfg.max_stanza_size = 8192;
	cfg.max_depth = 12;
	cfg.max_attrs = 12;
	cfg.offline_max = 4;
	cfg.session_ttl = 90;
	cfg.idle_timeout = 600;
	cfg.auth_timeout = 60;
	cfg.ack_timeout = 100;     /* a few heartbeats (30 s) before it ends a session */
	fake_router_reset();
	return 0;
}

/* What the main loop does between reads: hand over published payloads,
 * take the inbox they woke, write the output (here: check it, then drop
 * it). */
static void pump(struct conn *c)
{
	char *payload;
	size_t len;
	int n = 0;

	while (fake_router_take(&payload, &len)) {
		if (c->state != CS_CLOSING && n++ < 256)
			conn_deliver(c, payload, len);
		free(payload);
	}
	conn_after_wakeups(c);
	if (c->out.len) {
		/* All written, as conn_flush counts it (an orderly close then
		 * confirms the messages written before it). */
		oc_feed(c->out.p, c->out.len);
		c->out_written += c->out.len;
		xbuf_consume(&c->out, c->out.len);
	}
	invariants(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xml_stream_cb cb = { oc_open, oc_element, oc_close, oc_error };
	static const struct xml_limits big = { (size_t)1 << 30, 1 << 20, 1 << 20 };
	struct store st;
	struct conn c;
	struct chunker ck;
	const uint8_t *chunk;
	uint8_t flags, fault = 0;
	size_t n, len;
	char *payload, resource[JID_MAX_PART];
	int kicked = 0;
	time_t clock;

	if (size) {
		fault = data[0];
		data++, size--;
	}
	flags = chunker_init(&ck, &data, &size);

	fuzz_rng_seed(&rng, FUZZ_RNG_SEED);
	deterministic = 1;
	fake_router_reset();
	fake_router_fail_at(fault);
	memset(&oc, 0, sizeof oc);
	oc.xs = xml_stream_new(&big, &cb, NULL);
	if (!oc.xs)
		abort();

	memset(&st, 0, sizeof st);
	snprintf(st.prefix, sizeof st.prefix, "xmpp:");
	st.session_ttl = cfg.session_ttl;
	conn_init(&c, &cfg, &st, "fuzz", -1, -1);
	c.store_ok = 1;
	clock = time(NULL);

	while ((n = chunker_next(&ck, &chunk))) {
		conn_input(&c, (const char *)chunk, n);
		pump(&c);
		if ((flags & 64) && !kicked && c.state == CS_SESSION) {
			/* Another login takes our resource (RFC 6120 7.7.2.2). */
			char old[64];
			kicked = 1;
			session_register(&st, c.bare, c.jid.resource, "f00df00df00df00df00df00d",
			    "elsewhere", 2, old, sizeof old);
			route_kick(&st, c.bare, c.jid.resource, old, "conflict");
			pump(&c);
		}
		if (c.state == CS_CLOSING)
			break;
		if (flags & 8) {
			/* The clock moves on in a session only: before, a few
			 * moves would end the stream at auth_timeout, which
			 * bit 4 reaches anyway. */
			if (c.state == CS_SESSION) {
				if (flags & 32)
					fake_router_reap_all();
				clock += 31;
			}
			conn_tick(&c, clock);
			pump(&c);
			if (c.state == CS_CLOSING)
				break;
		}
	}
	if ((flags & 16) && c.state != CS_CLOSING) {
		conn_tick(&c, clock + 100000);
		pump(&c);
	}
	conn_eof(&c, "fuzz input ended");
	snprintf(resource, sizeof resource, "%s", c.jid.resource);
	conn_finish(&c);
	/* Unless Redis failed: no stale session, and nothing left in the
	 * resource's inbox unless a successor holds the resource (after a
	 * takeover the inbox is the new session's to read). */
	if (resource[0] && !fake_router_failed()) {
		if (fake_router_has_session(c.bare, resource, c.stream_id))
			harness_die("the session record outlived conn_finish");
		if (!fake_router_has_session(c.bare, resource, NULL) &&
		    fake_router_inbox_len(c.bare, resource))
			harness_die("stanzas left in the session's inbox after conn_finish");
	}
	/* Nothing more reaches the client once it is gone. */
	while (fake_router_take(&payload, &len))
		free(payload);
	conn_free(&c);
	if (getenv("FUZZ_DUMP"))
		fprintf(stderr, "--- server output (%zu bytes):\n%.*s\n---\n", oc.all.len,
		    (int)oc.all.len, oc.all.p ? oc.all.p : "");
	xml_stream_free(oc.xs);
	xbuf_free(&oc.all);
	deterministic = 0;
	return 0;
}
