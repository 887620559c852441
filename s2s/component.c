/*
 * xmpp-component - serve one external component's connection (XEP-0114,
 * jabber:component:accept) on stdin/stdout.
 *
 * Started by systemd (xmpp-component.socket, loopback, Accept=yes) or
 * any inetd. A gateway or bridge (a component) serves a domain of its
 * own (a component line of xmpp.conf) beside this server's; this
 * process is the component's end of the server for as long as it is
 * connected. A connection's whole life, from main():
 *
 *   config, sandbox -> Redis -> loop: poll(socket, wake-ups, timer)
 *   component's header (on_open): jabber:component:accept, 'to' a
 *     component's domain, else a stream error; our header (new id)
 *   <handshake> (handshake): hex SHA-1 of the id and the domain's
 *     secret, else not-authorized; the route's lease (router/s2s.h:
 *     one connection per domain in the cluster), else conflict; then
 *     <handshake/>
 *   stanzas from the component (stanza): 'from' of its domain, else
 *     invalid-from; to a domain of this server -> s2s_stanza_in (as a
 *     remote server's), to a component's -> its queue (s2s_send);
 *     anything else answered remote-server-not-found
 *   the route's queue (drain): what users and other components sent to
 *     the domain, written to the component, removed once written
 *     (s2s_done), woken by the route's wake-ups and polled
 *   the end: the lease is left vacant for COMP_VACANT_TTL (s2s_lease_vacate),
 *     so that what is sent while the component reconnects still waits
 *     for it; after that, senders are answered service-unavailable
 *
 * Exit status: 0 the stream ended, 100 usage, 111 system failure before
 * serving.
 */
#include "config.h"
#include "jid.h"
#include "local.h"
#include "log.h"
#include "random.h"
#include "rate.h"
#include "route.h"
#include "s2s.h"
#include "sandbox.h"
#include "scram.h"
#include "stanzain.h"
#include "store.h"
#include "stream.h"
#include "xerr.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG  "xmpp-component"
#define USAGE "usage: " PROG " [-c config-file]"

#define STREAM_ID_BYTES   16    /* random bytes of our stream id */
#define HANDSHAKE_HEX     40    /* hex digits of a SHA-1 */
#define COMP_LEASE_TTL    30    /* seconds the route's lease lives unless renewed */
#define COMP_LEASE_RENEW  (COMP_LEASE_TTL / 3)
#define COMP_VACANT_TTL   30    /* seconds the route still queues after the
                                   component left: time to reconnect */
#define COMP_POLL_QUEUE   2     /* seconds between looks at the queue
                                   without a wake-up (pub/sub may lose one) */
#define COMP_BATCH        64    /* envelopes written per round */
#define CLOSE_GRACE_SEC   5     /* to flush the last bytes */
#define OUT_MAX           (4 * 1024 * 1024) /* unread output that ends the stream */

struct comp {
	const struct config *cfg;
	struct store *st;
	int store_ok;
	struct s2s_stream s;
	struct rate rate;                /* the read rate over the component's bytes */
	char peer[128];
	char domain[CONFIG_MAX_DOMAIN];  /* the header's 'to': the component's */
	char route[S2S_ROUTE_MAX];       /* its route (s2s_component_route) */
	char id[2 * STREAM_ID_BYTES + 1];/* our stream id */
	int in_doc;                      /* our header is out */
	int authed;                      /* handshake done, lease held */
	int want;                        /* look at the queue */
	int had_work;                    /* the last look found some */
	int inflight;                    /* envelopes queued on the stream */
	time_t opened, last_lease, last_poll;
};

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Our header, with a new id (the handshake's salt) and the component's
 * domain as 'from'. */
static void send_header(struct comp *c)
{
	/* Unguessable: a replayed handshake must not fit another stream. */
	if (random_hex(c->id, STREAM_ID_BYTES) < 0)
		snprintf(c->id, sizeof c->id, "%lx%lx", (long)getpid(), (long)time(NULL));
	log_set_context(NULL, c->id, NULL);
	c->in_doc = 1;
	s2s_stream_header(&c->s, c->domain[0] ? c->domain : NULL, NULL, c->id);
}

/* A stream error, after our header when none went out yet (RFC 6120
 * 4.9.1.2). */
static void fail_stream(struct comp *c, const char *cond, const char *text)
{
	if (!c->in_doc)
		send_header(c);
	log_msg(LOG_NOTICE, "stream error %s%s%s", cond, text ? ": " : "", text ? text : "");
	s2s_stream_error(&c->s, cond, text);
}

static void on_open(void *arg, struct s2s_stream *s, struct xml_node *root, const char *ns)
{
	struct comp *c = arg;
	const char *to = xml_get(root, "to");
	size_t n = to ? strlen(to) : 0;

	(void)s;
	c->domain[0] = '\0';
	if (n && n < sizeof c->domain && !strpbrk(to, "@/ ")) {
		memcpy(c->domain, to, n + 1);
		lower(c->domain);
		if (!config_component(c->cfg, c->domain))
			c->domain[0] = '\0';
	}
	if (!root->ns || strcmp(root->ns, NS_STREAMS) || strcmp(root->name, "stream") ||
	    strcmp(ns, NS_COMPONENT)) {
		fail_stream(c, "invalid-namespace", "not jabber:component:accept");
		return;
	}
	if (!c->domain[0]) {
		fail_stream(c, "host-unknown", "no component of that domain");
		return;
	}
	send_header(c);
}

/* XEP-0114 3: hex SHA-1 of our stream id and the secret. Compared in
 * full whatever differs: how long it took says nothing of the secret. */
static int handshake_ok(const struct comp *c, const char *got)
{
	const char *secret = config_component(c->cfg, c->domain);
	struct xbuf in = { 0 };
	char want[HANDSHAKE_HEX + 1];
	unsigned diff = 0;
	int i;

	if (!secret || strlen(got) != HANDSHAKE_HEX ||
	    strspn(got, "0123456789abcdefABCDEF") != HANDSHAKE_HEX)
		return 0;
	xbuf_adds(&in, c->id);
	xbuf_adds(&in, secret);
	sha1_hex(in.p, in.len, want);
	xbuf_free(&in);
	for (i = 0; i < HANDSHAKE_HEX; i++)
		diff |= (unsigned)((got[i] | 0x20) ^ want[i]);   /* hex without case */
	return diff == 0;
}

static void handshake(struct comp *c, struct xml_node *el)
{
	struct config_s2s_limits lim;
	int r;

	if (c->authed) {
		fail_stream(c, "policy-violation", "already authenticated");
		return;
	}
	if (!handshake_ok(c, xml_text(el))) {
		fail_stream(c, "not-authorized", NULL);
		return;
	}
	if (!c->store_ok) {
		fail_stream(c, "internal-server-error", "storage unavailable");
		return;
	}
	s2s_component_route(c->domain, c->route, sizeof c->route);
	r = s2s_lease_take(c->st, c->cfg, c->route, COMP_LEASE_TTL);
	if (r == S2S_LEASE_OTHER) {
		fail_stream(c, "conflict", "another connection serves this domain");
		return;
	}
	if (r < 0) {
		fail_stream(c, "internal-server-error", "storage unavailable");
		return;
	}
	c->authed = 1;
	c->want = 1;
	c->last_lease = time(NULL);
	log_set_remote(c->domain, "handshake");
	log_msg(LOG_INFO, "authenticated %s", c->domain);
	xbuf_adds(&c->s.out, "<handshake/>");
	if (s2s_wake_subscribe(c->st) == -1)
		log_msg(LOG_WARNING, "no wake-ups (redis subscriber): polling");
	/* From now on the domain's limits (an s2s_limit line may name it). */
	lim = config_s2s_limits(c->cfg, c->domain);
	rate_set(&c->rate, lim.read_rate, lim.read_burst);
	xml_stream_set_max_stanza(c->s.xs, lim.max_stanza_size);
}

/* An error for st written straight to the component. */
static void answer_error(struct comp *c, const struct xml_node *st, const char *etype,
    const char *cond)
{
	struct xml_node *e = s2s_error_for(st, etype, cond);

	if (e) {
		xml_rename_ns(e, NS_SERVER, NS_COMPONENT);
		s2s_stream_send(&c->s, e);
	}
	xml_free(e);
}

/* A stanza of the component's, in the jabber:server namespace by now. */
static void stanza(struct comp *c, struct xml_node *st)
{
	struct jid *from = malloc(sizeof *from), *to = malloc(sizeof *to);
	int r;

	if (!from || !to)
		goto out;
	if (!xml_get(st, "from") || !xml_get(st, "to") || jid_parse(xml_get(st, "from"), from) ||
	    jid_parse(xml_get(st, "to"), to)) {
		fail_stream(c, "improper-addressing", NULL);
		goto out;
	}
	lower(from->domain);
	lower(to->domain);
	if (strcmp(from->domain, c->domain)) {
		fail_stream(c, "invalid-from", "not of the component's domain");
		goto out;
	}
	if (config_federates(c->cfg, to->domain)) {
		if (s2s_stanza_in(c->st, c->cfg, st, to) == -1)
			fail_stream(c, "internal-server-error", "storage unavailable");
		goto out;
	}
	if (!config_component(c->cfg, to->domain)) {
		/* Other servers know no component: it has no name in the DNS
		 * nor a certificate, and federation speaks for our domains. */
		answer_error(c, st, "cancel", "remote-server-not-found");
		goto out;
	}
	r = s2s_send(c->st, c->cfg, st);
	if (r == S2S_ABSENT) {
		answer_error(c, st, "cancel", "service-unavailable");
	} else if (r == S2S_FULL) {
		answer_error(c, st, "wait", "resource-constraint");
	} else if (r < 0) {
		log_msg(LOG_ERR, "queue to %s: %s", to->domain, c->st->err);
		fail_stream(c, "internal-server-error", "storage unavailable");
	}
out:
	free(from);
	free(to);
}

static void on_element(void *arg, struct s2s_stream *s, struct xml_node *el)
{
	struct comp *c = arg;
	int st = el->ns && !strcmp(el->ns, NS_COMPONENT) && (!strcmp(el->name, "message") ||
	    !strcmp(el->name, "presence") || !strcmp(el->name, "iq"));

	(void)s;
	if (el->ns && !strcmp(el->ns, NS_COMPONENT) && !strcmp(el->name, "handshake")) {
		handshake(c, el);
	} else if (!c->authed) {
		fail_stream(c, "not-authorized", "handshake first");
	} else if (st) {
		/* Served as a server's stanza from here on (stanzain.h). */
		xml_rename_ns(el, NS_COMPONENT, NS_SERVER);
		stanza(c, el);
	} else {
		fail_stream(c, "unsupported-stanza-type", NULL);
	}
	xml_free(el);
}

static void on_error(void *arg, struct s2s_stream *s, const char *cond, const char *text)
{
	(void)s;
	fail_stream(arg, cond, text);
}

static const struct s2s_stream_cb stream_cb = { on_open, on_element, NULL, on_error };

/* ---- the route's queue ---- */

static void send_one(const char *env, size_t len, void *arg)
{
	struct comp *c = arg;
	struct route_msg m;
	struct xml_node *st;
	struct jid to;

	c->inflight++;
	if (route_parse(env, len, &m) < 0 || m.kind != ROUTE_STANZA) {
		log_msg(LOG_WARNING, "dropped an envelope that is not a stanza");
		return;
	}
	/* Checked again: whatever sits in this queue goes to the component. */
	if (!(st = xml_parse_string(m.body, m.body_len)) || !xml_get(st, "to") ||
	    jid_parse(xml_get(st, "to"), &to) == -1 || strcasecmp(to.domain, c->domain)) {
		log_msg(LOG_WARNING, "dropped a stanza not to %s", c->domain);
		xml_free(st);
		return;
	}
	xml_rename_ns(st, NS_CLIENT, NS_COMPONENT);
	xml_rename_ns(st, NS_SERVER, NS_COMPONENT);
	s2s_stream_send(&c->s, st);
	xml_free(st);
}

/* Write the head of the queue, unless a batch is still on its way. */
static void drain(struct comp *c, time_t now)
{
	int n;

	c->want = 0;
	c->last_poll = now;
	if (c->inflight)
		return;
	n = s2s_peek(c->st, c->route, COMP_BATCH, send_one, c);
	if (n < 0) {
		log_msg(LOG_ERR, "redis: %s", c->st->err);
		return;
	}
	/* Empty after work: no longer a route with work (s2s_idle checks
	 * again, atomically). */
	if (!n && c->had_work)
		s2s_idle(c->st, c->route);
	c->had_work = n > 0;
}

/* The batch is written: out of the queue. Whatever was written and not
 * yet removed when the connection ends is written again next time. */
static void written(struct comp *c)
{
	if (s2s_done(c->st, c->route, c->inflight) < 0)
		log_msg(LOG_ERR, "redis: %s", c->st->err);
	c->inflight = 0;
	c->want = 1;                     /* more may be waiting */
}

/* ---- the loop ---- */

/* Timers; the poll timeout in ms. */
static int tick(struct comp *c, time_t now)
{
	if (got_term)
		fail_stream(c, "system-shutdown", NULL);
	if (!c->authed && now - c->opened >= c->cfg->auth_timeout)
		fail_stream(c, "connection-timeout", "no handshake in time");
	if (c->authed && !c->s.closing && now - c->last_lease >= COMP_LEASE_RENEW) {
		if (s2s_lease(c->st, c->route, c->cfg->hostname, (long)getpid(), COMP_LEASE_TTL)
		    != S2S_LEASE_OURS)
			fail_stream(c, "conflict", "the domain's lease was lost");
		c->last_lease = now;
	}
	if (c->authed && now - c->last_poll >= COMP_POLL_QUEUE)
		c->want = 1;
	if (c->authed && c->want && !c->s.closing)
		drain(c, now);
	return 1000;
}

static void serve(struct comp *c)
{
	time_t closing_since = 0;

	for (;;) {
		struct pollfd p[2] = { { c->s.io.rfd, 0, 0 }, { -1, POLLIN, 0 } };
		time_t now = time(NULL);
		int timeout = tick(c, now), r;

		if (c->s.closing) {
			if (!closing_since)
				closing_since = now;
			if (s2s_stream_done(&c->s) || now - closing_since >= CLOSE_GRACE_SEC)
				break;
		}
		if (c->s.out.len > OUT_MAX) {
			log_msg(LOG_NOTICE, "the component does not read");
			break;
		}
		p[0].events = s2s_stream_events(&c->s);
		if (c->st->sub)
			p[1].fd = c->st->sub->fd;
		if (poll(p, 2, timeout) == -1 && errno != EINTR) {
			log_msg(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents && s2s_stream_read(&c->s) == -1)
			break;
		if (p[1].fd != -1 && p[1].revents) {
			r = s2s_wake_read(c->st, c->route);
			if (r < 0) {
				/* Only a wake-up source lost: the queue is still polled. */
				log_msg(LOG_WARNING, "redis subscriber lost");
				redisFree(c->st->sub);
				c->st->sub = NULL;
			} else if (r == S2S_WAKE_CLOSE) {
				log_msg(LOG_NOTICE, "closed by the operator");
				s2s_stream_end(&c->s);
			} else if (r == S2S_WAKE_WORK) {
				c->want = 1;
			}
		}
		if (c->want && c->authed && !c->s.closing)
			drain(c, time(NULL));
		if (s2s_stream_flush(&c->s) == -1)
			break;
		if (c->inflight && !c->s.out.len)
			written(c);
	}
	s2s_stream_flush(&c->s);
	if (c->authed) {
		if (s2s_lease_vacate(c->st, c->route, c->cfg->hostname, (long)getpid(),
		    COMP_VACANT_TTL) < 0)
			log_msg(LOG_ERR, "redis: %s", c->st->err);
	}
	log_msg(LOG_INFO, "end: %s", c->s.err[0] ? c->s.err : "closed");
}

static void refuse(const char *why)
{
	s2s_stream_refuse(NS_COMPONENT, why);
}

int main(int argc, char **argv)
{
	static struct config cfg;
	static struct store st;
	static struct comp c;
	struct config_s2s_limits lim;
	const char *cfgpath = NULL;
	int opt, flags;
	char err[512];

	log_init(PROG);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGHUP, on_term);
	signal(SIGINT, on_term);
	while ((opt = getopt(argc, argv, "c:")) != -1) {
		if (opt == 'c') {
			cfgpath = optarg;
		} else {
			fprintf(stderr, "%s\n", USAGE);
			return 100;
		}
	}
	s2s_peer_name(c.peer, sizeof c.peer);
	log_set_context(c.peer, NULL, NULL);
	if (config_load(&cfg, cfgpath, err, sizeof err) == -1)
		refuse(err);
	flags = fcntl(STDIN_FILENO, F_GETFL);
	if (flags == -1 || fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK) == -1)
		refuse("stdin is not usable");
	setsockopt(STDOUT_FILENO, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (sandbox_enter(&cfg, cfgpath, err, sizeof err) == -1)
		refuse(err);
	c.cfg = &cfg;
	c.st = &st;
	c.opened = time(NULL);
	/* Before the handshake, a remote server's defaults; after it, the
	 * domain's (an s2s_limit line may name it). */
	lim = config_s2s_limits(&cfg, NULL);
	if (s2s_stream_init(&c.s, STDIN_FILENO, STDOUT_FILENO, lim.max_stanza_size, cfg.max_depth,
	    cfg.max_attrs, &stream_cb, &c) == -1)
		refuse(c.s.err);
	c.s.ns = NS_COMPONENT;
	rate_init(&c.rate, lim.read_rate, lim.read_burst);
	c.s.limit = &c.rate;
	log_msg(LOG_INFO, "connect");
	c.store_ok = store_open_config(&st, &cfg) == 0;
	serve(&c);
	s2s_stream_free(&c.s);
	if (c.store_ok)
		store_close(&st);
	return 0;
}
