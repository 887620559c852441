/*
 * xmpp-s2s-in - serve one inbound server-to-server connection (RFC 6120
 * with jabber:server, XEP-0220 dialback, XEP-0344, XEP-0368) on
 * stdin/stdout.
 *
 * Started by systemd (xmpp-s2s.socket, port 5269, Accept=yes; with -T by
 * xmpps-s2s.socket, port 5270, direct TLS) or any inetd. A connection's
 * whole life, from main():
 *
 *   config, sandbox -> Redis -> loop: poll(socket, timer)
 *   peer header (on_open): jabber:server, version 1.x, 'to' served, else
 *     a stream error; our header (new id) and features:
 *       before TLS   <starttls><required/></starttls> only; anything but
 *                    <starttls/> -> policy-violation (stanzas:
 *                    not-authorized); <starttls/> -> <proceed/>, TLS
 *                    (tls_new_s2s_server), restart
 *       after TLS    SASL EXTERNAL if the peer's certificate chains, and
 *                    the dialback feature (with <errors/>)
 *   elements (on_element), after TLS:
 *     <auth mechanism='EXTERNAL'> -> sasl_external: the certificate
 *       authenticates the domain -> <success/>, restart; else <failure/>
 *     <db:result> -> db_result: a trusted certificate naming the domain
 *       answers at once (XEP-0344); s2s_secure refuses the rest; else the
 *       domain's authoritative server is asked through the outbound side
 *       (s2s_verify_ask) and the answer polled from the loop
 *       (verify_poll), the stream served meanwhile
 *     <db:verify> -> db_verify: our own key checked, stateless
 *     message / iq / presence -> stanza: 'from' and 'to' must be an
 *       authenticated (remote, local) pair -> s2s_stanza_in (stanzain.h);
 *       errors and answers to the sender are queued outbound (s2s_send)
 *   timers (tick): auth_timeout before any domain is authenticated,
 *     idle_timeout without input, each verification's deadline
 *   limits: what the peer may send (read rate, stanza size) is
 *     s2s_max_* until a domain is authenticated, then the tightest of
 *     the authenticated domains' (apply_limits, config_s2s_limits)
 *
 * -T: direct TLS (XEP-0368): TLS from the first byte.
 * Exit status: 0 the stream ended, 100 usage, 111 system failure before
 * serving.
 */
#include "config.h"
#include "certid.h"
#include "jid.h"
#include "local.h"
#include "log.h"
#include "random.h"
#include "route.h"
#include "s2s.h"
#include "sandbox.h"
#include "stanzain.h"
#include "scram.h"
#include "store.h"
#include "stream.h"
#include "tls.h"

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

#define PROG  "xmpp-s2s-in"
#define USAGE "usage: " PROG " [-c config-file] [-T]"

#define PAIRS_MAX          16    /* (remote, local) pairs one stream may
                                    authenticate (piggybacking) */
#define PENDING_MAX        8     /* dialback verifications in flight */
#define VERIFY_TIMEOUT_SEC 30    /* for the authoritative server's answer */
#define VERIFY_POLL_MS     200   /* how often Redis is asked for it */
#define ASK_ID_BYTES       12    /* random bytes of a verification's name */
#define NS_SM "urn:xmpp:sm:3"       /* XEP-0198 */
#define STREAM_ID_BYTES    16    /* random bytes of our stream id */
#define SASL_TRIES_MAX     3     /* failed SASL attempts before the stream ends */
#define KEY_MAX            256   /* bytes of a dialback key we look at */
#define CLOSE_GRACE_SEC    5     /* to flush the last bytes */
#define OUT_MAX            (4 * 1024 * 1024) /* unread output that ends the stream */
#define NS_STANZAS         "urn:ietf:params:xml:ns:xmpp-stanzas"

struct pair {
	char remote[CONFIG_MAX_DOMAIN], local[CONFIG_MAX_DOMAIN];
	char how[16];                    /* sasl, dialback+cert, dialback */
};

/* A <db:result/> waiting for the authoritative server's verdict. */
struct pending {
	int used;
	char ask[2 * ASK_ID_BYTES + 1];
	struct pair p;
	time_t deadline;
};

struct in {
	const struct config *cfg;
	struct store *st;
	int store_ok;
	struct s2s_stream s;
	struct rate rate;                /* the read rate over the peer's bytes */
	char peer[128];
	char local[CONFIG_MAX_DOMAIN];   /* the peer header's 'to' */
	char from[CONFIG_MAX_DOMAIN];    /* the peer header's 'from', or "" */
	char id[2 * STREAM_ID_BYTES + 1];/* our current stream id */
	int in_doc;                      /* our header of this document is out */
	int sasl_done, sasl_fails;
	struct pair auth[PAIRS_MAX];
	int nauth;
	struct pending pend[PENDING_MAX];
	int npend;
	time_t opened, last_input;
	time_t announced;                /* our entry in Redis renewed (0: none) */
	int sm;                          /* XEP-0198 enabled by the peer */
	unsigned long handled;           /* ... stanzas handled since (h) */
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

/* Copy a domain from the peer, lower-cased: 0, or -1 if absent, empty or
 * too long (it then names no domain we could serve or authenticate). */
static int domain_copy(char *out, const char *in)
{
	size_t n = in ? strlen(in) : 0;
	if (!n || n >= CONFIG_MAX_DOMAIN || strpbrk(in, "@/ "))
		return -1;
	memcpy(out, in, n + 1);
	lower(out);
	return 0;
}

static int tls_on(const struct in *c)
{
	return c->s.io.tls && io_secure(&c->s.io);
}

static enum tls_peer peer_status(const struct in *c)
{
	return c->s.io.tls ? tls_peer_status(c->s.io.tls) : TLS_PEER_PENDING;
}

/* The peer's certificate chains and names remote (RFC 6120 13.7.2). */
static enum certid_match cert_names(const struct in *c, const char *remote)
{
	if (peer_status(c) != TLS_PEER_TRUSTED)
		return CERTID_NONE;
	return certid_match(tls_peer_cert(c->s.io.tls), remote);
}

/* What this stream serves, in Redis for xmppctl s2s (router/s2s.h):
 * its routes and how each was authenticated, the peer, since when. */
static void announce(struct in *c, time_t now)
{
	char desc[S2S_IN_DESC_MAX];
	size_t n = 0;
	int i;

	if (!c->store_ok || !c->nauth)
		return;
	for (i = 0; i < c->nauth && n < sizeof desc; i++)
		n += (size_t)snprintf(desc + n, sizeof desc - n, "%s%s/%s:%s", i ? "," : "",
		    c->auth[i].remote, c->auth[i].local, c->auth[i].how);
	if (n < sizeof desc)
		snprintf(desc + n, sizeof desc - n, " peer=%s since=%ld", c->peer, (long)c->opened);
	if (s2s_in_register(c->st, c->cfg->hostname, (long)getpid(), desc) < 0)
		log_msg(LOG_WARNING, "announce: %s", c->st->err);
	c->announced = now;
}

static int authed(const struct in *c, const char *remote, const char *local)
{
	int i;
	for (i = 0; i < c->nauth; i++)
		if (!strcmp(c->auth[i].remote, remote) && (!local || !strcmp(c->auth[i].local, local)))
			return 1;
	return 0;
}

/* What the peer may send once domains are authenticated: each limit the
 * tightest of theirs (config_s2s_limits), so that piggybacking a domain
 * never loosens another's. Until then the stream keeps the defaults it
 * started with. */
static void apply_limits(struct in *c)
{
	struct config_s2s_limits l = config_s2s_limits(c->cfg, c->auth[0].remote), d;
	int i;

	for (i = 1; i < c->nauth; i++) {
		d = config_s2s_limits(c->cfg, c->auth[i].remote);
		if (d.read_rate < l.read_rate)
			l.read_rate = d.read_rate;
		if (d.read_burst < l.read_burst)
			l.read_burst = d.read_burst;
		if (d.max_stanza_size < l.max_stanza_size)
			l.max_stanza_size = d.max_stanza_size;
	}
	rate_set(&c->rate, l.read_rate, l.read_burst);
	xml_stream_set_max_stanza(c->s.xs, l.max_stanza_size);
	log_msg(LOG_INFO, "limits: %ld bytes/s, %ld at once, stanzas up to %zu bytes",
	    l.read_rate, l.read_burst, l.max_stanza_size);
}

/* Record (remote, local) as authenticated: 0, or -1 when the set is full. */
static int auth_add(struct in *c, const char *remote, const char *local, const char *how)
{
	if (authed(c, remote, local))
		return 0;
	if (c->nauth == PAIRS_MAX)
		return -1;
	snprintf(c->auth[c->nauth].remote, CONFIG_MAX_DOMAIN, "%s", remote);
	snprintf(c->auth[c->nauth].local, CONFIG_MAX_DOMAIN, "%s", local);
	/* One word for xmppctl s2s. */
	snprintf(c->auth[c->nauth].how, sizeof c->auth[c->nauth].how, "%s",
	    strstr(how, "SASL") ? "sasl" : strstr(how, "certificate") ? "dialback+cert" :
	    "dialback");
	c->nauth++;
	if (c->nauth == 1)
		log_set_remote(remote, c->auth[0].how);
	log_msg(LOG_INFO, "authenticated %s for %s by %s", remote, local, how);
	apply_limits(c);
	announce(c, time(NULL));
	return 0;
}

/* Our header (a new id each time: RFC 6120 4.3.3) and the features. */
static void send_header(struct in *c)
{
	/* Without entropy an id need only be unique: dialback keys are
	 * secret because of the server secret, not of the id. */
	if (random_hex(c->id, STREAM_ID_BYTES) < 0)
		snprintf(c->id, sizeof c->id, "%lx%lx", (long)getpid(), (long)time(NULL));
	log_set_context(NULL, c->id, NULL);
	c->in_doc = 1;
	s2s_stream_header(&c->s, c->local[0] ? c->local : NULL, c->from[0] ? c->from : NULL, c->id);
}

static void send_features(struct in *c)
{
	struct xbuf *o = &c->s.out;

	xbuf_adds(o, "<stream:features>");
	if (!tls_on(c)) {
		xbuf_adds(o, "<starttls xmlns='" NS_TLS "'><required/></starttls>");
	} else {
		if (!c->sasl_done && peer_status(c) == TLS_PEER_TRUSTED)
			xbuf_adds(o, "<mechanisms xmlns='" NS_SASL "'><mechanism>EXTERNAL"
			    "</mechanism></mechanisms>");
		xbuf_adds(o, "<dialback xmlns='" NS_DIALBACK_FEATURE "'><errors/></dialback>");
		xbuf_adds(o, "<sm xmlns='" NS_SM "'/>");
	}
	xbuf_adds(o, "</stream:features>");
}

/* A stream error; one before our header of this document went out (a
 * refused header, a timer between a restart and the peer's new header)
 * needs the header first (RFC 6120 4.9.1.2). Returns 0, for functions
 * that return what they answered. */
static int fail_stream(struct in *c, const char *cond, const char *text)
{
	if (!c->in_doc)
		send_header(c);
	s2s_stream_error(&c->s, cond, text);
	return 0;
}

static int open_error(struct in *c, const char *cond, const char *text)
{
	log_msg(LOG_NOTICE, "refused stream: %s%s%s", cond, text ? ": " : "", text ? text : "");
	return fail_stream(c, cond, text);
}

/* The next bytes are a new document (after <proceed/>, SASL success). */
static void restart(struct in *c)
{
	c->in_doc = 0;
	s2s_stream_restart(&c->s);
}

/* The peer's header: 0 once answered (with our header, or an error). */
static int header(struct in *c, struct xml_node *root, const char *ns)
{
	const char *ver = xml_get(root, "version"), *to = xml_get(root, "to");

	c->local[0] = c->from[0] = '\0';
	if (domain_copy(c->from, xml_get(root, "from")) == -1)
		c->from[0] = '\0';
	if (to && domain_copy(c->local, to) == 0 && !config_federates(c->cfg, c->local))
		c->local[0] = '\0';
	if (!root->ns || strcmp(root->ns, NS_STREAMS) || strcmp(root->name, "stream"))
		return open_error(c, "invalid-namespace", NULL);
	if (strcmp(ns, NS_SERVER))
		return open_error(c, "invalid-namespace", "not jabber:server");
	/* Version 1.x: what RFC 6120 defines; older streams know no TLS. */
	if (!ver || strncmp(ver, "1.", 2))
		return open_error(c, "unsupported-version", NULL);
	if (!c->local[0])
		return open_error(c, "host-unknown", NULL);
	if (!c->cfg->s2s)
		return open_error(c, "policy-violation", "federation is off");
	send_header(c);
	send_features(c);
	return 0;
}

static void on_open(void *arg, struct s2s_stream *s, struct xml_node *root, const char *ns)
{
	(void)s;
	header(arg, root, ns);
}

/* ---- authentication ---- */

static void starttls(struct in *c)
{
	struct tls_cert_spec specs[TLS_MAX_CERTS];
	struct tls_trust trust;
	struct tls *t;
	char err[256];
	int n = io_cert_specs(c->cfg, specs, TLS_MAX_CERTS);

	s2s_trust(c->cfg, &trust);
	t = n > 0 ? tls_new_s2s_server(specs, n, &trust, c->s.io.rfd, c->s.io.wfd, err, sizeof err)
	    : NULL;
	if (!t) {
		log_msg(LOG_ERR, "starttls: %s", n > 0 ? err : "no certificate configured");
		xbuf_adds(&c->s.out, "<failure xmlns='" NS_TLS "'/>");
		s2s_stream_end(&c->s);
		return;
	}
	xbuf_adds(&c->s.out, "<proceed xmlns='" NS_TLS "'/>");
	if (s2s_stream_tls(&c->s, t) == -1) {
		fail_stream(c, "internal-server-error", NULL);
		return;
	}
	restart(c);
}

static int sasl_failure(struct in *c, const char *cond, const char *why)
{
	log_msg(LOG_NOTICE, "SASL EXTERNAL refused: %s", why);
	xbuf_addf(&c->s.out, "<failure xmlns='" NS_SASL "'><%s/></failure>", cond);
	if (++c->sasl_fails >= SASL_TRIES_MAX)
		fail_stream(c, "policy-violation", "too many failed authentications");
	return 0;
}

/* SASL EXTERNAL (RFC 6120 6.4, 13.7.2): the authorization identity is
 * the header's 'from' unless the peer names one. */
static int sasl_external(struct in *c, struct xml_node *el)
{
	const char *mech = xml_get(el, "mechanism"), *t = xml_text(el);
	char authz[CONFIG_MAX_DOMAIN + 1], remote[CONFIG_MAX_DOMAIN];
	enum certid_match m;
	size_t n = strlen(t);
	int len = 0;

	if (c->sasl_done)
		return sasl_failure(c, "malformed-request", "already authenticated");
	if (!mech || strcmp(mech, "EXTERNAL") || peer_status(c) != TLS_PEER_TRUSTED)
		return sasl_failure(c, "invalid-mechanism", mech ? mech : "no mechanism");
	if (n && !(n == 1 && t[0] == '=')) {
		len = b64_decode(t, n, (unsigned char *)authz, sizeof authz - 1);
		if (len < 0)
			return sasl_failure(c, "incorrect-encoding", "authzid not base64");
		if (memchr(authz, '\0', (size_t)len))      /* "a.example\0b.example" */
			return sasl_failure(c, "invalid-authzid", "NUL in the authzid");
	}
	authz[len] = '\0';
	if (domain_copy(remote, len ? authz : c->from) == -1)
		return sasl_failure(c, "invalid-authzid", "no domain to authenticate");
	if (len && c->from[0] && strcmp(remote, c->from))
		return sasl_failure(c, "invalid-authzid", "authzid is not the stream's 'from'");
	if (!config_s2s_allowed(c->cfg, remote))
		return sasl_failure(c, "not-authorized", "domain not allowed by configuration");
	if ((m = cert_names(c, remote)) == CERTID_NONE)
		return sasl_failure(c, "not-authorized", "certificate does not name the domain");
	if (auth_add(c, remote, c->local, "SASL EXTERNAL") == -1)
		return sasl_failure(c, "temporary-auth-failure", "too many domains");
	log_msg(LOG_INFO, "certificate matched %s by %s", remote, certid_match_name(m));
	c->sasl_done = 1;
	xbuf_adds(&c->s.out, "<success xmlns='" NS_SASL "'/>");
	restart(c);
	return 0;
}

/* <db:result/> answer; cond (an XEP-0220 error, stanza-error condition)
 * makes it type='error'. */
static int db_answer(struct in *c, const char *local, const char *remote, const char *type,
    const char *etype, const char *cond)
{
	struct xbuf *o = &c->s.out;

	xbuf_adds(o, "<db:result from='");
	xbuf_add_esc(o, local, strlen(local));
	xbuf_adds(o, "' to='");
	xbuf_add_esc(o, remote, strlen(remote));
	xbuf_addf(o, "' type='%s'", type);
	if (!cond) {
		xbuf_adds(o, "/>");
		return 0;
	}
	xbuf_addf(o, "><error type='%s'><%s xmlns='" NS_STANZAS "'/></error></db:result>",
	    etype, cond);
	return 0;
}

static int db_result(struct in *c, struct xml_node *el)
{
	char remote[CONFIG_MAX_DOMAIN], local[CONFIG_MAX_DOMAIN], route[2 * CONFIG_MAX_DOMAIN];
	const char *key = xml_text(el);
	struct pending *p = NULL;
	int i;

	if (domain_copy(remote, xml_get(el, "from")) == -1 ||
	    domain_copy(local, xml_get(el, "to")) == -1)
		return fail_stream(c, "improper-addressing", "db:result without from or to");
	if (!config_federates(c->cfg, local))
		return db_answer(c, local, remote, "error", "cancel", "item-not-found");
	if (!config_s2s_allowed(c->cfg, remote)) {
		log_msg(LOG_NOTICE, "dialback from %s refused: not allowed by configuration", remote);
		return db_answer(c, local, remote, "error", "cancel", "policy-violation");
	}
	if (authed(c, remote, local))
		return db_answer(c, local, remote, "valid", NULL, NULL);
	if (cert_names(c, remote) != CERTID_NONE) {        /* XEP-0344 */
		if (auth_add(c, remote, local, "dialback with certificate") == -1)
			return db_answer(c, local, remote, "error", "wait", "resource-constraint");
		return db_answer(c, local, remote, "valid", NULL, NULL);
	}
	if (c->cfg->s2s_secure) {
		log_msg(LOG_NOTICE, "dialback from %s refused: s2s_secure and no certificate "
		    "naming it (%s)", remote, c->s.io.tls && tls_peer_error(c->s.io.tls) ?
		    tls_peer_error(c->s.io.tls) : "none matched");
		return db_answer(c, local, remote, "invalid", NULL, NULL);
	}
	if (!key[0] || strlen(key) > KEY_MAX)
		return db_answer(c, local, remote, "invalid", NULL, NULL);
	for (i = 0; i < PENDING_MAX && !p; i++)
		if (!c->pend[i].used)
			p = &c->pend[i];
	if (!p || !c->store_ok)
		return db_answer(c, local, remote, "error", "wait",
		    p ? "internal-server-error" : "resource-constraint");
	if (random_hex(p->ask, ASK_ID_BYTES) < 0)
		return db_answer(c, local, remote, "error", "wait", "internal-server-error");
	snprintf(route, sizeof route, "%s/%s", remote, local);
	if (s2s_verify_ask(c->st, route, p->ask, remote, local, c->id, key) < 0) {
		log_msg(LOG_ERR, "verify ask: %s", c->st->err);
		return db_answer(c, local, remote, "error", "wait", "internal-server-error");
	}
	p->used = 1;
	p->p = (struct pair){ { 0 }, { 0 }, { 0 } };
	snprintf(p->p.remote, sizeof p->p.remote, "%s", remote);
	snprintf(p->p.local, sizeof p->p.local, "%s", local);
	p->deadline = time(NULL) + VERIFY_TIMEOUT_SEC;
	c->npend++;
	log_msg(LOG_INFO, "dialback from %s for %s: asking its authoritative server", remote, local);
	return 0;
}

/* The verdicts that came in, and those that did not come in time. */
static void verify_poll(struct in *c, time_t now)
{
	char ans[16];
	int i;

	for (i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &c->pend[i];
		if (!p->used)
			continue;
		if (s2s_verify_wait(c->st, p->ask, 0, ans, sizeof ans) < 0) {
			log_msg(LOG_ERR, "verify wait: %s", c->st->err);
			ans[0] = '\0';
			p->deadline = now;
		}
		if (!ans[0] && now < p->deadline)
			continue;
		p->used = 0;
		c->npend--;
		if (!strcmp(ans, "valid")) {
			if (auth_add(c, p->p.remote, p->p.local, "dialback") == -1)
				db_answer(c, p->p.local, p->p.remote, "error", "wait",
				    "resource-constraint");
			else
				db_answer(c, p->p.local, p->p.remote, "valid", NULL, NULL);
		} else if (!strcmp(ans, "invalid")) {
			log_msg(LOG_NOTICE, "dialback from %s: key invalid", p->p.remote);
			db_answer(c, p->p.local, p->p.remote, "invalid", NULL, NULL);
		} else {
			log_msg(LOG_NOTICE, "dialback from %s: %s", p->p.remote,
			    ans[0] ? "its server could not be asked" : "no verdict in time");
			db_answer(c, p->p.local, p->p.remote, "error", "cancel",
			    ans[0] ? "remote-connection-failed" : "remote-server-timeout");
		}
	}
}

/* <db:verify/>: is key one our outbound side made? Stateless: any host
 * answers the same, from the shared secret. */
static int db_verify(struct in *c, struct xml_node *el)
{
	char recv[CONFIG_MAX_DOMAIN], orig[CONFIG_MAX_DOMAIN];
	const char *sid = xml_get(el, "id"), *key = xml_text(el);
	struct xbuf *o = &c->s.out;
	int r = 0;

	if (domain_copy(recv, xml_get(el, "from")) == -1 ||
	    domain_copy(orig, xml_get(el, "to")) == -1 || !sid)
		return fail_stream(c, "improper-addressing", "db:verify without from, "
		    "to or id");
	xbuf_adds(o, "<db:verify from='");
	xbuf_add_esc(o, orig, strlen(orig));
	xbuf_adds(o, "' to='");
	xbuf_add_esc(o, recv, strlen(recv));
	xbuf_adds(o, "' id='");
	xbuf_add_esc(o, sid, strlen(sid));
	if (!config_federates(c->cfg, orig)) {
		xbuf_adds(o, "' type='error'><error type='cancel'><item-not-found xmlns='"
		    NS_STANZAS "'/></error></db:verify>");
		return 0;
	}
	r = c->store_ok ? s2s_dialback_check(c->st, recv, orig, sid, key) : XE_REDIS;
	if (r == XE_REDIS) {
		xbuf_adds(o, "' type='error'><error type='wait'><internal-server-error xmlns='"
		    NS_STANZAS "'/></error></db:verify>");
		return 0;
	}
	xbuf_addf(o, "' type='%s'/>", r == 1 ? "valid" : "invalid");
	log_msg(LOG_INFO, "db:verify from %s for %s: %s", recv, orig, r == 1 ? "valid" : "invalid");
	return 0;
}

/* ---- stanzas ---- */

/* RFC 6120 4.9.3, 8.1.1.2: 'from' of an authenticated remote domain, 'to'
 * of the local domain it was authenticated for. */
static void stanza(struct in *c, struct xml_node *st)
{
	struct jid *from = malloc(sizeof *from), *to = malloc(sizeof *to);

	if (!from || !to)
		goto out;
	if (!c->nauth) {
		fail_stream(c, "not-authorized", "stanza before authentication");
		goto out;
	}
	if (!xml_get(st, "from") || !xml_get(st, "to") || jid_parse(xml_get(st, "from"), from) ||
	    jid_parse(xml_get(st, "to"), to)) {
		fail_stream(c, "improper-addressing", NULL);
		goto out;
	}
	lower(from->domain);
	lower(to->domain);
	if (!authed(c, from->domain, NULL)) {
		fail_stream(c, "invalid-from", NULL);
		goto out;
	}
	if (!config_federates(c->cfg, to->domain)) {
		fail_stream(c, "host-unknown", NULL);
		goto out;
	}
	if (!authed(c, from->domain, to->domain)) {
		fail_stream(c, "invalid-from", "not authenticated for that domain");
		goto out;
	}
	if (!c->store_ok) {
		/* An error could not be queued either: the stream ends, and the
		 * peer knows its stanzas were not accepted (RFC 6120 4.9.3.8). */
		fail_stream(c, "internal-server-error", "storage unavailable");
		goto out;
	}
	if (s2s_stanza_in(c->st, c->cfg, st, to) == -1)
		fail_stream(c, "internal-server-error", "storage unavailable");
out:
	free(from);
	free(to);
}

static int is(const struct xml_node *el, const char *ns, const char *name)
{
	return el->ns && !strcmp(el->ns, ns) && !strcmp(el->name, name);
}

/* XEP-0198 on this stream, the receiving side: once a domain is
 * authenticated the peer may enable it, and each <r/> is answered with
 * the stanzas handled (delivered, stored, or answered with an error)
 * since, so that the peer knows what was taken and what to bounce if
 * the stream breaks. Nothing is sent here that would need acks back,
 * and there is no resumption. */
static void stream_management(struct in *c, const struct xml_node *el)
{
	struct xbuf *o = &c->s.out;

	if (!strcmp(el->name, "enable")) {
		if (!c->nauth || c->sm) {
			xbuf_adds(o, "<failed xmlns='" NS_SM "'><unexpected-request xmlns='"
			    NS_STANZAS "'/></failed>");
			return;
		}
		c->sm = 1;
		xbuf_adds(o, "<enabled xmlns='" NS_SM "'/>");
		log_msg(LOG_INFO, "stream management enabled");
	} else if (!strcmp(el->name, "r")) {
		if (!c->sm) {
			fail_stream(c, "unsupported-stanza-type", "stream management not enabled");
			return;
		}
		xbuf_addf(o, "<a xmlns='" NS_SM "' h='%lu'/>", c->handled & 0xffffffffUL);
	} else if (strcmp(el->name, "a")) {
		fail_stream(c, "unsupported-stanza-type", NULL);
	}
	/* <a/>: this stream carries nothing of ours to acknowledge. */
}

static void on_element(void *arg, struct s2s_stream *s, struct xml_node *el)
{
	struct in *c = arg;
	int st = el->ns && !strcmp(el->ns, NS_SERVER) && (!strcmp(el->name, "message") ||
	    !strcmp(el->name, "presence") || !strcmp(el->name, "iq"));

	(void)s;
	if (!tls_on(c)) {
		/* RFC 6120 5.3.1: TLS is required here. */
		if (is(el, NS_TLS, "starttls"))
			starttls(c);
		else
			fail_stream(c, st ? "not-authorized" : "policy-violation",
			    "STARTTLS required");
	} else if (is(el, NS_SASL, "auth")) {
		sasl_external(c, el);
	} else if (el->ns && !strcmp(el->ns, NS_SASL)) {
		sasl_failure(c, "aborted", "SASL exchange not started");
	} else if (is(el, NS_DIALBACK, "result")) {
		db_result(c, el);
	} else if (is(el, NS_DIALBACK, "verify")) {
		db_verify(c, el);
	} else if (el->ns && !strcmp(el->ns, NS_SM)) {
		stream_management(c, el);
	} else if (st) {
		stanza(c, el);
		if (!c->s.closing)
			c->handled++;
	} else {
		fail_stream(c, "unsupported-stanza-type", NULL);
	}
	xml_free(el);
}

/* Bytes that are no stream: the error, after our header if needed. */
static void on_error(void *arg, struct s2s_stream *s, const char *cond, const char *text)
{
	(void)s;
	log_msg(LOG_NOTICE, "not a stream: %s%s%s", cond, text ? ": " : "", text ? text : "");
	fail_stream(arg, cond, text);
}

static const struct s2s_stream_cb stream_cb = { on_open, on_element, NULL, on_error };

/* ---- the loop ---- */

/* Timers; the poll timeout in ms. */
static int tick(struct in *c, time_t now)
{
	if (got_term)
		fail_stream(c, "system-shutdown", NULL);
	if (c->npend && !c->s.closing)
		verify_poll(c, now);
	/* A verification in flight extends the limit by its own, once: a
	 * peer cannot hold the process by asking again and again. */
	if (!c->nauth && now - c->opened >= c->cfg->auth_timeout +
	    (c->npend ? VERIFY_TIMEOUT_SEC : 0))
		fail_stream(c, "connection-timeout", "not authenticated in time");
	if (now - c->last_input >= c->cfg->idle_timeout && !c->s.closing) {
		log_msg(LOG_INFO, "idle for %d s: closing", c->cfg->idle_timeout);
		s2s_stream_end(&c->s);
	}
	if (c->announced && now - c->announced >= S2S_IN_RENEW)
		announce(c, now);
	if (c->npend)
		return VERIFY_POLL_MS;
	return 1000;
}

static void serve(struct in *c)
{
	time_t closing_since = 0;

	for (;;) {
		struct pollfd pfd = { c->s.io.rfd, 0, 0 };
		time_t now = time(NULL);
		int timeout = tick(c, now);

		if (c->s.closing) {
			if (!closing_since)
				closing_since = now;
			if (s2s_stream_done(&c->s) || now - closing_since >= CLOSE_GRACE_SEC)
				break;
		}
		if (c->s.out.len > OUT_MAX) {
			log_msg(LOG_NOTICE, "peer does not read");
			break;
		}
		pfd.events = s2s_stream_events(&c->s);
		if (poll(&pfd, 1, timeout) == -1 && errno != EINTR) {
			log_msg(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd.revents) {
			if (s2s_stream_read(&c->s) == -1)
				break;
			c->last_input = time(NULL);
		}
		if (s2s_stream_flush(&c->s) == -1)
			break;
	}
	s2s_stream_flush(&c->s);
	if (c->announced)
		s2s_in_unregister(c->st, c->cfg->hostname, (long)getpid());
	log_msg(LOG_INFO, "end: %s", c->s.err[0] ? c->s.err : "closed");
}


static void refuse(const char *why)
{
	s2s_stream_refuse(NS_SERVER, why);
}

int main(int argc, char **argv)
{
	static struct config cfg;
	static struct store st;
	static struct in c;
	struct config_s2s_limits lim;
	const char *cfgpath = NULL;
	int opt, direct = 0, flags;
	char err[512];

	log_init(PROG);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGHUP, on_term);
	signal(SIGINT, on_term);
	while ((opt = getopt(argc, argv, "c:T")) != -1) {
		if (opt == 'c') {
			cfgpath = optarg;
		} else if (opt == 'T') {
			direct = 1;
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
	c.opened = c.last_input = time(NULL);
	/* No domain authenticated yet: the defaults (apply_limits). */
	lim = config_s2s_limits(&cfg, NULL);
	if (s2s_stream_init(&c.s, STDIN_FILENO, STDOUT_FILENO, lim.max_stanza_size, cfg.max_depth,
	    cfg.max_attrs, &stream_cb, &c) == -1)
		refuse(c.s.err);
	rate_init(&c.rate, lim.read_rate, lim.read_burst);
	c.s.limit = &c.rate;
	log_msg(LOG_INFO, "connect%s", direct ? " (direct TLS)" : "");
	c.store_ok = store_open_config(&st, &cfg) == 0;
	if (direct) {
		struct tls_cert_spec specs[TLS_MAX_CERTS];
		struct tls_trust trust;
		struct tls *t;
		int n = io_cert_specs(&cfg, specs, TLS_MAX_CERTS);

		s2s_trust(&cfg, &trust);
		t = n > 0 ? tls_new_s2s_server(specs, n, &trust, STDIN_FILENO, STDOUT_FILENO, err,
		    sizeof err) : NULL;
		if (!t || s2s_stream_tls(&c.s, t) == -1) {
			log_msg(LOG_ERR, "direct TLS: %s", n > 0 ? err : "no certificate configured");
			s2s_stream_free(&c.s);
			return 111;     /* no TLS to speak: nothing can be said */
		}
	}
	serve(&c);
	s2s_stream_free(&c.s);
	if (c.store_ok)
		store_close(&st);
	return 0;
}
