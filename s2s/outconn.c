/*
 * outconn.c - one outbound federation connection, the life of one child
 * of xmpp-s2s-out (outconn.h).
 *
 *   lease -> DNS candidates -> TCP connect (each address in turn)
 *   -> [plain header, features, <starttls/>, <proceed/>] or direct TLS
 *   -> handshake, the peer's certificate judged -> secure header, features
 *   -> SASL EXTERNAL (restart) or dialback <db:result/> -> ready:
 *   queue -> stream -> s2s_done; verifications -> <db:verify/> -> answers
 *   -> idle: </stream:stream>, s2s_idle, lease released.
 */
#include "outconn.h"
#include "certid.h"
#include "dns.h"
#include "io.h"
#include "jid.h"
#include "local.h"
#include "mucin.h"
#include "log.h"
#include "route.h"
#include "s2s.h"
#include "store.h"
#include "stream.h"
#include "tls.h"
#include "xml.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS_SM "urn:xmpp:sm:3"    /* XEP-0198 */
#define OC_DNS_TIMEOUT      10    /* seconds for one DNS question */
#define OC_CONNECT_TIMEOUT  10    /* seconds for one TCP connect */
#define OC_SETUP_TIMEOUT    30    /* seconds from connect to authenticated */
#define OC_CLOSE_WAIT       2     /* seconds to wait for the peer's </stream> */
#define OC_POLL_QUEUE       2     /* seconds between looks at the queue
                                     without a wake-up (pub/sub may lose one) */
#define OC_LEASE_RENEW      (OUTCONN_LEASE_TTL / 3)
#define OC_BATCH            64    /* envelopes written per round */
#define OC_VERIFY_MAX       64    /* verifications waiting for an answer */
#define OC_VERIFY_WAIT      30    /* seconds the peer has to answer one */
#define OC_WRITE_TIMEOUT    60    /* seconds a batch may take to leave: a
                                     peer that stops reading is a failure */
#define OC_ASK_ID_MAX       64
#define OC_WHY_MAX          300   /* a failure's reason, for the log */

enum oc_state {
	OC_PLAIN,       /* header sent in the clear: waiting for features */
	OC_STARTTLS,    /* <starttls/> sent: waiting for <proceed/> */
	OC_HANDSHAKE,   /* TLS handshake under way */
	OC_SECURE,      /* secure header sent: waiting for features */
	OC_SASL,        /* <auth mechanism='EXTERNAL'/> sent */
	OC_SASL_OPEN,   /* restarted after <success/>: waiting for features */
	OC_DIALBACK,    /* <db:result/> sent: waiting for its verdict */
	OC_READY        /* LOCAL is authenticated to the peer */
};

/* How the route failed: what the queued stanzas become. */
enum oc_fail {
	OC_FAIL_NONE = 0,
	OC_FAIL_NOTFOUND,   /* no such domain or service: bounce everything */
	OC_FAIL_TIMEOUT     /* unreachable or refused: bounce what is too old */
};

struct oc_verify {
	char ask_id[OC_ASK_ID_MAX];
	char sid[DIALBACK_STREAM_ID_MAX + 1];
	time_t asked;
};

/* Where REMOTE's servers are, and how far down that list we are. */
struct oc_servers {
	struct dns *r;
	struct dns_candidates cs;
	struct dns_addrs as;          /* candidate i's addresses */
	int looked_up;
	int i;                        /* the candidate being tried */
	int k;                        /* its next address; -1: not resolved */
	int tried, nxcount;           /* addresses tried; hosts unknown */
	char why[OC_WHY_MAX];         /* the last failure */
};

struct oc {
	const struct config *cfg;
	struct store st;
	const char *route;
	volatile sig_atomic_t *stop;     /* set by SIGTERM: close and exit */
	char remote[CONFIG_MAX_DOMAIN], local[CONFIG_MAX_DOMAIN];
	struct s2s_stream s;
	int have_stream;
	enum oc_state state;
	int ncerts;
	struct tls_cert_spec certs[TLS_MAX_CERTS];
	int peer_auth;                   /* the certificate authenticated REMOTE */
	int can_verify;                  /* secure, header received: db:verify ok */
	char sid[DIALBACK_STREAM_ID_MAX + 1];
	int inflight;                    /* envelopes queued on the stream */
	time_t inflight_since;
	/* XEP-0198: with the peer's acknowledgements, an envelope leaves the
	 * queue once the peer says it handled it, not once written. */
	int peer_sm;                     /* the peer's last features offered it */
	enum { SM_OFF, SM_ASKED, SM_ON } sm;
	unsigned long sm_h;              /* what the peer acknowledged so far */
	int sm_asked;                    /* <r/> sent for the batch in flight */
	int sm_more;                     /* a batch was acknowledged: look again */
	time_t sm_since;                 /* <enable/> sent at */
	struct oc_verify verify[OC_VERIFY_MAX];
	int nverify;
	struct oc_servers sv;
	enum oc_fail fail;               /* set: the connection is over */
	char why[OC_WHY_MAX];
};

static void failf(struct oc *c, enum oc_fail kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void failf(struct oc *c, enum oc_fail kind, const char *fmt, ...)
{
	va_list ap;

	if (c->fail)
		return;
	c->fail = kind;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
}


/* ---- bounces (RFC 6120 8.3, 10.4.3) ---- */

/* The namespace a parsed envelope body carries (xml_parse_string reads it
 * as jabber:client) becomes the stream's, as an inbound stanza's would. */
/* Answer st (an envelope's stanza) to its local sender with condition
 * (type etype), unless it is an error or presence itself: those are
 * dropped, as RFC 6120 8.3.1 and 6121 say. */
static void bounce(struct oc *c, struct xml_node *st, const char *etype, const char *condition)
{
	const char *type = xml_get(st, "type"), *from = xml_get(st, "from");
	const char *to = xml_get(st, "to");
	char f[JID_MAX], t[JID_MAX];
	struct xml_node *e;
	enum route_outcome o;

	if (!strcmp(st->name, "presence") || (type && !strcmp(type, "error")) ||
	    (!strcmp(st->name, "iq") && type && !strcmp(type, "result")) || !from || !to) {
		log_msg(LOG_INFO, "%s: dropped a %s%s%s that cannot be delivered (%s)", c->route,
		    st->name, type ? " of type " : "", type ? type : "", condition);
		return;
	}
	snprintf(f, sizeof f, "%s", from);
	snprintf(t, sizeof t, "%s", to);
	if (!strcmp(c->local, c->cfg->muc_domain)) {
		/* From a room to an occupant of REMOTE: it is gone. */
		char room[JID_MAX];
		snprintf(room, sizeof room, "%.*s", (int)strcspn(f, "/"), f);
		s2s_muc_gone(&c->st, room, t);
		return;
	}
	xml_set(st, "from", t);
	xml_set(st, "to", f);
	xml_set(st, "type", "error");
	xml_rename_ns(st, NS_CLIENT, NS_SERVER);
	e = xml_new_child(st, NS_SERVER, "error");
	xml_set(e, "type", etype);
	xml_new_child(e, "urn:ietf:params:xml:ns:xmpp-stanzas", condition);
	o = s2s_deliver_local(&c->st, c->cfg, st);
	log_msg(LOG_INFO, "%s: bounced a %s from %s with %s (outcome %d)", c->route, st->name,
	    f, condition, (int)o);
}

struct scan {
	struct oc *c;
	int all;              /* bounce everything */
	time_t older;         /* else what was accepted before this */
	int n;                /* envelopes handled from the head */
	int stop;             /* met one to keep: later ones wait too */
};

static void bounce_one(const char *env, size_t len, void *arg)
{
	struct scan *sc = arg;
	struct route_msg m;
	struct xml_node *st;

	if (sc->stop)
		return;
	if (route_parse(env, len, &m) < 0 || m.kind != ROUTE_STANZA) {
		log_msg(LOG_WARNING, "%s: dropped an envelope that is not a stanza",
		    sc->c->route);
		sc->n++;
		return;
	}
	if (!sc->all && m.accepted >= sc->older) {
		sc->stop = 1;
		return;
	}
	sc->n++;
	if (!(st = xml_parse_string(m.body, m.body_len))) {
		log_msg(LOG_WARNING, "%s: dropped an envelope that does not parse",
		    sc->c->route);
		return;
	}
	if (sc->all)
		bounce(sc->c, st, "cancel", "remote-server-not-found");
	else
		bounce(sc->c, st, "wait", "remote-server-timeout");
	xml_free(st);
}

/* Bounce the head of the queue: all of it, or what is older than
 * s2s_timeout. Returns how many stay queued (0 or more), or -1. */
static int bounce_queue(struct oc *c, int all)
{
	struct scan sc;
	int r;

	do {
		memset(&sc, 0, sizeof sc);
		sc.c = c;
		sc.all = all;
		sc.older = time(NULL) - c->cfg->s2s_timeout;
		if ((r = s2s_peek(&c->st, c->route, OC_BATCH, bounce_one, &sc)) < 0)
			return -1;
		if (sc.n && s2s_done(&c->st, c->route, sc.n) < 0)
			return -1;
	} while (sc.n == OC_BATCH);
	return sc.stop ? 1 : 0;
}

static void answer_error(const char *ask_id, const char *from, const char *to,
    const char *sid, const char *key, void *arg)
{
	struct oc *c = arg;
	(void)from, (void)to, (void)sid, (void)key;
	s2s_verify_answer(&c->st, ask_id, "error");
}

/* Every verification held or waiting is answered "error". */
static void fail_verifications(struct oc *c)
{
	int i;

	for (i = 0; i < c->nverify; i++)
		s2s_verify_answer(&c->st, c->verify[i].ask_id, "error");
	c->nverify = 0;
	while (s2s_verify_take(&c->st, c->route, OC_VERIFY_MAX, answer_error, c) > 0)
		;
}

/* The route could not be served (c->fail): stanzas and verifications
 * answered as outconn.h says. The exit status. */
static int give_up(struct oc *c)
{
	int left;

	log_msg(LOG_WARNING, "%s: %s", c->route, c->why);
	fail_verifications(c);
	left = bounce_queue(c, c->fail == OC_FAIL_NOTFOUND);
	if (left < 0) {
		log_msg(LOG_ERR, "%s: redis: %s", c->route, c->st.err);
		return OUTCONN_EXIT_FAIL;
	}
	if (left == 0 && s2s_idle(&c->st, c->route) == S2S_IDLE)
		return OUTCONN_EXIT_DONE;
	return OUTCONN_EXIT_FAIL;
}

static int lease(struct oc *c);

/* ---- connecting ---- */

static void addr_text(const struct sockaddr_storage *a, char *out, size_t outsz)
{
	char h[INET6_ADDRSTRLEN] = "?";

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;
		inet_ntop(AF_INET, &s4->sin_addr, h, sizeof h);
		snprintf(out, outsz, "%s:%u", h, ntohs(s4->sin_port));
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
		inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof h);
		snprintf(out, outsz, "[%s]:%u", h, ntohs(s6->sin6_port));
	}
}

/* A non-blocking connect within OC_CONNECT_TIMEOUT: the socket, or -1
 * with why set. */
static int connect_one(const struct sockaddr_storage *a, socklen_t len, char *why,
    size_t whysz, volatile sig_atomic_t *stop)
{
	struct pollfd p;
	int fd, e = 0, r;
	socklen_t el = sizeof e;

	fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(why, whysz, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)a, len) == -1 && errno != EINPROGRESS) {
		snprintf(why, whysz, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	p.fd = fd;
	p.events = POLLOUT;
	while ((r = poll(&p, 1, OC_CONNECT_TIMEOUT * 1000)) == -1 && errno == EINTR && !*stop)
		;
	if (r == 0) {
		snprintf(why, whysz, "connect timed out");
		close(fd);
		return -1;
	}
	if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1 || e) {
		snprintf(why, whysz, "%s", strerror(e ? e : errno));
		close(fd);
		return -1;
	}
	/* Stanzas are small and each flush is one write (as serve.c). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	return fd;
}

/* Connect to REMOTE's next server, in DNS's order (each candidate's
 * addresses in turn), after those tried before: the socket (direct TLS
 * in *direct), or -1 with c->fail set once none is left. */
static int connect_next(struct oc *c, int *direct)
{
	struct oc_servers *sv = &c->sv;
	struct dns_candidate *cd;
	char at[80];
	int e, fd, idx;

	if (!sv->looked_up) {
		sv->looked_up = 1;
		sv->k = -1;
		if (!(sv->r = dns_open(c->cfg->s2s_resolver, &e))) {
			failf(c, OC_FAIL_TIMEOUT, "resolver: %s", dns_str(e));
			return -1;
		}
		e = dns_lookup(sv->r, c->remote, OC_DNS_TIMEOUT, &sv->cs);
		if (e == DNS_NODOMAIN || e == DNS_NOSERVICE) {
			failf(c, OC_FAIL_NOTFOUND, "%s: %s", c->remote, dns_str(e));
			return -1;
		}
		if (e != DNS_OK) {
			failf(c, OC_FAIL_TIMEOUT, "%s: DNS %s", c->remote, dns_str(e));
			return -1;
		}
	}
	for (; sv->i < sv->cs.n; sv->i++, sv->k = -1) {
		cd = &sv->cs.c[sv->i];
		if (sv->k < 0) {
			e = dns_resolve(sv->r, cd, OC_DNS_TIMEOUT, &sv->as);
			if (e != DNS_OK) {
				if (e == DNS_NODOMAIN || e == DNS_NOSERVICE)
					sv->nxcount++;
				snprintf(sv->why, sizeof sv->why, "%s: %s", cd->host, dns_str(e));
				log_msg(LOG_INFO, "%s: %s", c->route, sv->why);
				continue;
			}
			sv->k = 0;
		}
		while (sv->k < sv->as.n) {
			/* Trying many servers can take longer than the lease
			 * lives: renewed before each, or another host would
			 * connect too. */
			if (lease(c) != S2S_LEASE_OURS) {
				failf(c, OC_FAIL_TIMEOUT, "lost the lease while connecting");
				return -1;
			}
			if (*c->stop) {
				failf(c, OC_FAIL_TIMEOUT, "stopped while connecting");
				return -1;
			}
			sv->tried++;
			idx = sv->k++;
			addr_text(&sv->as.a[idx], at, sizeof at);
			fd = connect_one(&sv->as.a[idx], sv->as.len[idx], sv->why, sizeof sv->why,
			    c->stop);
			if (fd >= 0) {
				log_msg(LOG_INFO, "%s: connected to %s (%s, %s)", c->route, at,
				    cd->host, cd->direct_tls ? "direct TLS" : "STARTTLS");
				*direct = cd->direct_tls;
				return fd;
			}
			log_msg(LOG_INFO, "%s: %s (%s): %s", c->route, at, cd->host, sv->why);
		}
	}
	/* Every host named is unknown: the domain has no server at all. */
	if (!sv->tried && sv->nxcount == sv->cs.n)
		failf(c, OC_FAIL_NOTFOUND, "%s: %s", c->remote, sv->why);
	else
		failf(c, OC_FAIL_TIMEOUT, "%s: no server would do (last: %s)", c->remote,
		    sv->why);
	return -1;
}

/* ---- the stream ---- */

static void send_header(struct oc *c)
{
	s2s_stream_header(&c->s, c->local, c->remote, NULL);
}

/* TLS is up: judge the peer's certificate (RFC 6120 13.7.2). */
static void tls_up(struct oc *c)
{
	struct tls *t = c->s.io.tls;
	enum tls_peer ps = tls_peer_status(t);
	enum certid_match m = CERTID_NONE;
	char names[512] = "";

	if (ps == TLS_PEER_TRUSTED)
		m = certid_match(tls_peer_cert(t), c->remote);
	if (m != CERTID_NONE) {
		c->peer_auth = 1;
		log_msg(LOG_INFO, "%s: %s %s, certificate authenticated by %s", c->route,
		    tls_version(t), tls_cipher(t), certid_match_name(m));
	} else {
		const char *why = ps == TLS_PEER_NONE ? "no certificate"
		    : ps == TLS_PEER_UNTRUSTED ? tls_peer_error(t) : "names do not match";
		if (tls_peer_cert(t))
			certid_describe(tls_peer_cert(t), names, sizeof names);
		if (c->cfg->s2s_secure) {
			failf(c, OC_FAIL_TIMEOUT, "the peer's certificate does not authenticate "
			    "%s: %s [%s]; s2s_secure forbids dialback", c->remote,
			    why ? why : "?", names);
			s2s_stream_error(&c->s, "remote-connection-failed", NULL);
			return;
		}
		log_msg(LOG_NOTICE, "%s: the peer's certificate does not authenticate %s "
		    "(%s) [%s]: going on, the peer is as trusted as DNS", c->route, c->remote,
		    why ? why : "?", names);
	}
	send_header(c);
	c->state = OC_SECURE;
}

static void send_dialback(struct oc *c)
{
	char key[DIALBACK_KEY_HEX + 1], buf[CONFIG_MAX_DOMAIN * 2 + 200];

	if (s2s_dialback_key(&c->st, c->remote, c->local, c->sid, key) < 0) {
		failf(c, OC_FAIL_TIMEOUT, "no dialback key (stream id '%s')", c->sid);
		s2s_stream_error(&c->s, "internal-server-error", NULL);
		return;
	}
	snprintf(buf, sizeof buf, "<db:result from='%s' to='%s'>%s</db:result>", c->local,
	    c->remote, key);
	s2s_stream_send_raw(&c->s, buf, strlen(buf));
	c->state = OC_DIALBACK;
}

/* The mechanisms offered include EXTERNAL. */
static int offers_external(struct xml_node *features)
{
	struct xml_node *ms = xml_child(features, NS_SASL, "mechanisms"), *m;

	for (m = ms ? ms->children : NULL; m; m = m->next)
		if (m->name && !strcmp(m->name, "mechanism") && !strcmp(xml_text(m), "EXTERNAL"))
			return 1;
	return 0;
}

static void base64(const char *in, char *out, size_t outsz)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), i, o = 0;
	const unsigned char *s = (const unsigned char *)in;

	for (i = 0; i < n && o + 5 < outsz; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
		    (i + 2 < n ? s[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Authenticated: ask for stream management if the peer offers it. No
 * batch goes out until it answers. */
static void sm_enable(struct oc *c)
{
	static const char enable[] = "<enable xmlns='" NS_SM "'/>";

	if (!c->peer_sm)
		return;
	s2s_stream_send_raw(&c->s, enable, sizeof enable - 1);
	c->sm = SM_ASKED;
	c->sm_since = time(NULL);
}

/* The peer's <a h=/>: what it handled of the batch in flight leaves the
 * queue. 0, or -1 (failed). */
static int sm_acked(struct oc *c, const char *h)
{
	char *end;
	unsigned long v = h ? strtoul(h, &end, 10) : 0;
	long n;

	if (!h || *end || v > 0xffffffffUL)
		return 0;           /* no count: nothing to take */
	n = (long)((v - c->sm_h) & 0xffffffffUL);
	if (n > c->inflight) {
		failf(c, OC_FAIL_TIMEOUT, "the peer acknowledged %ld of %d stanzas", n, c->inflight);
		s2s_stream_error(&c->s, "undefined-condition", "h beyond what was sent");
		return -1;
	}
	if (n > 0 && s2s_done(&c->st, c->route, n) < 0) {
		failf(c, OC_FAIL_TIMEOUT, "redis: %s", c->st.err);
		return -1;
	}
	c->sm_h = v;
	c->inflight -= (int)n;
	if (!c->inflight) {
		c->sm_asked = 0;
		c->sm_more = 1;
	}
	log_msg(LOG_DEBUG, "%s: %ld acknowledged", c->route, n);
	return 0;
}

static void on_features(struct oc *c, struct xml_node *el)
{
	char buf[CONFIG_MAX_DOMAIN * 2 + 200], b[CONFIG_MAX_DOMAIN * 2];

	c->peer_sm = xml_child(el, NS_SM, "sm") != NULL;
	switch (c->state) {
	case OC_PLAIN:
		if (!xml_child(el, NS_TLS, "starttls")) {
			failf(c, OC_FAIL_TIMEOUT, "the peer offers no STARTTLS");
			s2s_stream_error(&c->s, "policy-violation", "TLS required");
			return;
		}
		s2s_stream_send_raw(&c->s, "<starttls xmlns='" NS_TLS "'/>",
		    strlen("<starttls xmlns='" NS_TLS "'/>"));
		c->state = OC_STARTTLS;
		return;
	case OC_SECURE:
		c->can_verify = 1;
		if (c->ncerts > 0 && offers_external(el)) {
			base64(c->local, b, sizeof b);
			snprintf(buf, sizeof buf, "<auth xmlns='" NS_SASL
			    "' mechanism='EXTERNAL'>%s</auth>", b);
			s2s_stream_send_raw(&c->s, buf, strlen(buf));
			c->state = OC_SASL;
			return;
		}
		send_dialback(c);
		return;
	case OC_SASL_OPEN:
		c->state = OC_READY;
		log_set_remote(c->remote, "sasl");
		log_msg(LOG_INFO, "%s: authenticated by SASL EXTERNAL", c->route);
		sm_enable(c);
		return;
	default:
		return;
	}
}

static void on_verify_answer(struct oc *c, struct xml_node *el)
{
	const char *id = xml_get(el, "id"), *type = xml_get(el, "type");
	int i;

	for (i = 0; id && i < c->nverify; i++)
		if (!strcmp(c->verify[i].sid, id))
			break;
	if (!id || i == c->nverify) {
		log_msg(LOG_NOTICE, "%s: a db:verify answer nobody asked for", c->route);
		return;
	}
	s2s_verify_answer(&c->st, c->verify[i].ask_id,
	    type && !strcmp(type, "valid") ? "valid" : "invalid");
	c->verify[i] = c->verify[--c->nverify];
}

static void on_open(void *arg, struct s2s_stream *s, struct xml_node *root,
    const char *default_ns)
{
	struct oc *c = arg;
	const char *id = xml_get(root, "id");

	(void)default_ns;
	if (!id || strlen(id) > DIALBACK_STREAM_ID_MAX) {
		failf(c, OC_FAIL_TIMEOUT, "the peer's stream header has no usable id");
		s2s_stream_error(s, "invalid-id", NULL);
		return;
	}
	snprintf(c->sid, sizeof c->sid, "%s", id);
}

static void on_element(void *arg, struct s2s_stream *s, struct xml_node *el)
{
	struct oc *c = arg;
	const char *ns = el->ns ? el->ns : "", *type;
	struct xml_node *k;

	if (!strcmp(ns, NS_STREAMS) && !strcmp(el->name, "features")) {
		on_features(c, el);
	} else if (!strcmp(ns, NS_STREAMS) && !strcmp(el->name, "error")) {
		k = xml_first_element(el);
		failf(c, OC_FAIL_TIMEOUT, "stream error from the peer: %s",
		    k ? k->name : "?");
		s2s_stream_end(s);
	} else if (!strcmp(ns, NS_TLS) && c->state == OC_STARTTLS) {
		if (!strcmp(el->name, "proceed")) {
			char err[256];
			struct tls_client_opts o = { c->local, c->remote, 0 };
			struct tls_trust tr;
			struct tls *t;

			s2s_trust(c->cfg, &tr);
			t = tls_new_client(c->certs, c->ncerts, &tr, &o, s->io.rfd, s->io.wfd, err,
			    sizeof err);
			if (!t || s2s_stream_tls(s, t) == -1) {
				if (t)
					tls_free(t);
				failf(c, OC_FAIL_TIMEOUT, "TLS: %s", t ? s->err : err);
				s2s_stream_end(s);
			} else {
				s2s_stream_restart(s);
				c->state = OC_HANDSHAKE;
			}
		} else {
			failf(c, OC_FAIL_TIMEOUT, "the peer refused STARTTLS");
			s2s_stream_end(s);
		}
	} else if (!strcmp(ns, NS_SASL) && c->state == OC_SASL) {
		if (!strcmp(el->name, "success")) {
			s2s_stream_restart(s);
			send_header(c);
			c->state = OC_SASL_OPEN;
		} else {
			k = xml_first_element(el);
			log_msg(LOG_INFO, "%s: SASL EXTERNAL failed (%s): trying dialback",
			    c->route, k ? k->name : "?");
			send_dialback(c);
		}
	} else if (!strcmp(ns, NS_DIALBACK) && !strcmp(el->name, "result") &&
	    c->state == OC_DIALBACK) {
		type = xml_get(el, "type");
		if (type && !strcmp(type, "valid")) {
			c->state = OC_READY;
			log_set_remote(c->remote, "dialback");
			log_msg(LOG_INFO, "%s: authenticated by dialback", c->route);
			sm_enable(c);
		} else {
			k = xml_first_element(el);
			failf(c, OC_FAIL_TIMEOUT, "dialback refused (%s%s%s)",
			    type ? type : "no type", k ? " " : "", k ? k->name : "");
			s2s_stream_end(s);
		}
	} else if (!strcmp(ns, NS_DIALBACK) && !strcmp(el->name, "verify")) {
		on_verify_answer(c, el);
	} else if (!strcmp(ns, NS_SM) && c->sm == SM_ASKED &&
	    (!strcmp(el->name, "enabled") || !strcmp(el->name, "failed"))) {
		c->sm = el->name[0] == 'e' ? SM_ON : SM_OFF;
		log_msg(LOG_INFO, "%s: stream management %s", c->route,
		    c->sm == SM_ON ? "enabled" : "refused");
	} else if (!strcmp(ns, NS_SM) && c->sm == SM_ON && !strcmp(el->name, "a")) {
		sm_acked(c, xml_get(el, "h"));
	} else if (!strcmp(ns, NS_SM) && c->sm == SM_ON && !strcmp(el->name, "r")) {
		/* Nothing comes to us on this stream: none handled. */
		s2s_stream_send_raw(s, "<a xmlns='" NS_SM "' h='0'/>",
		    strlen("<a xmlns='" NS_SM "' h='0'/>"));
	} else {
		log_msg(LOG_NOTICE, "%s: ignored a <%s/> from the peer", c->route, el->name);
	}
	xml_free(el);
}

static void on_close(void *arg, struct s2s_stream *s)
{
	struct oc *c = arg;
	(void)s;
	if (c->state != OC_READY || c->inflight || c->nverify)
		failf(c, OC_FAIL_TIMEOUT, "the peer closed its stream");
}

static const struct s2s_stream_cb stream_cb = { on_open, on_element, on_close, NULL };

/* ---- work ---- */

struct batch {
	struct oc *c;
	int n;
};

/* The domain of jid, into out; 0, or -1 if it is not a JID. */
static int jid_domain(const char *jid, char *out, size_t outsz)
{
	struct jid j;

	if (!jid || jid_parse(jid, &j) == -1)
		return -1;
	snprintf(out, outsz, "%s", j.domain);
	return 0;
}

static void send_one(const char *env, size_t len, void *arg)
{
	struct batch *b = arg;
	struct oc *c = b->c;
	char fd[JID_MAX_PART], td[JID_MAX_PART];
	struct route_msg m;
	struct xml_node *st;

	b->n++;
	if (route_parse(env, len, &m) < 0 || m.kind != ROUTE_STANZA) {
		log_msg(LOG_WARNING, "%s: dropped an envelope that is not a stanza", c->route);
		return;
	}
	/* The handler queued it; checked again because whatever sits in this
	 * queue goes out under LOCAL's authenticated name. */
	if (!(st = xml_parse_string(m.body, m.body_len)) ||
	    jid_domain(xml_get(st, "from"), fd, sizeof fd) == -1 ||
	    jid_domain(xml_get(st, "to"), td, sizeof td) == -1 ||
	    strcasecmp(fd, c->local) || strcasecmp(td, c->remote)) {
		log_msg(LOG_WARNING, "%s: dropped a stanza not from %s to %s", c->route,
		    c->local, c->remote);
		if (st)
			xml_free(st);
		return;
	}
	xml_free(st);
	s2s_stream_send_raw(&c->s, m.body, m.body_len);
}

static void take_verify(const char *ask_id, const char *from, const char *to,
    const char *sid, const char *key, void *arg)
{
	struct oc *c = arg;
	struct xbuf x = { 0 };
	struct oc_verify *v;

	if (c->nverify == OC_VERIFY_MAX || strlen(ask_id) >= OC_ASK_ID_MAX ||
	    strlen(sid) > DIALBACK_STREAM_ID_MAX) {
		s2s_verify_answer(&c->st, ask_id, "error");
		return;
	}
	v = &c->verify[c->nverify++];
	snprintf(v->ask_id, sizeof v->ask_id, "%s", ask_id);
	snprintf(v->sid, sizeof v->sid, "%s", sid);
	v->asked = time(NULL);
	/* XEP-0220 2.4: from is the receiving (our) domain, to the one that
	 * made the key (router/s2s.h's from: the stream came from it), id
	 * the stream it was made for. */
	xbuf_adds(&x, "<db:verify from='");
	xbuf_add_esc(&x, to, strlen(to));
	xbuf_adds(&x, "' to='");
	xbuf_add_esc(&x, from, strlen(from));
	xbuf_adds(&x, "' id='");
	xbuf_add_esc(&x, sid, strlen(sid));
	xbuf_adds(&x, "'>");
	xbuf_add_esc(&x, key, strlen(key));
	xbuf_adds(&x, "</db:verify>");
	s2s_stream_send_raw(&c->s, x.p, x.len);
	xbuf_free(&x);
}

/* ---- the connection's life ---- */

static int lease(struct oc *c)
{
	return s2s_lease(&c->st, c->route, c->cfg->hostname, (long)getpid(), OUTCONN_LEASE_TTL);
}

/* Split "REMOTE/LOCAL"; -1 if it is not a route this server may serve. */
static int parse_route(struct oc *c)
{
	const char *slash = strchr(c->route, '/');
	size_t rl;

	if (!slash || slash == c->route || (rl = (size_t)(slash - c->route)) >= sizeof c->remote ||
	    strlen(slash + 1) >= sizeof c->local || !slash[1])
		return -1;
	memcpy(c->remote, c->route, rl);
	c->remote[rl] = '\0';
	snprintf(c->local, sizeof c->local, "%s", slash + 1);
	return 0;
}

/* Run the stream until idle, failure or stop. */
static void serve(struct oc *c, int fd, int direct, volatile sig_atomic_t *stop)
{
	time_t now = time(NULL), setup_until = now + OC_SETUP_TIMEOUT, last_work = now;
	time_t last_lease = now, last_poll = 0, closing_since = 0;
	int want = 1;

	if (s2s_stream_init(&c->s, fd, fd, c->cfg->max_stanza_size, c->cfg->max_depth,
	    c->cfg->max_attrs, &stream_cb, c) == -1) {
		failf(c, OC_FAIL_TIMEOUT, "stream: %s", c->s.err);
		close(fd);
		return;
	}
	c->have_stream = 1;
	if (direct) {
		char err[256];
		struct tls_client_opts o = { c->local, c->remote, 1 };
		struct tls_trust tr;
		struct tls *t;

		s2s_trust(c->cfg, &tr);
		t = tls_new_client(c->certs, c->ncerts, &tr, &o, fd, fd, err, sizeof err);
		if (!t) {
			failf(c, OC_FAIL_TIMEOUT, "TLS: %s", err);
			return;
		}
		if (s2s_stream_tls(&c->s, t) == -1) {
			tls_free(t);
			failf(c, OC_FAIL_TIMEOUT, "TLS: %s", c->s.err);
			return;
		}
		c->state = OC_HANDSHAKE;
	} else {
		send_header(c);
		c->state = OC_PLAIN;
	}
	for (;;) {
		struct pollfd p[2];
		int n = 1, r;

		now = time(NULL);
		if (*stop && !c->s.closing) {
			log_msg(LOG_INFO, "%s: stopping", c->route);
			s2s_stream_end(&c->s);
			failf(c, OC_FAIL_NONE, "stopped");
		}
		if (c->state == OC_HANDSHAKE && io_secure(&c->s.io) && !c->s.closing)
			tls_up(c);
		if (c->state != OC_READY && now >= setup_until && !c->s.closing) {
			failf(c, OC_FAIL_TIMEOUT, "not authenticated within %d s", OC_SETUP_TIMEOUT);
			s2s_stream_error(&c->s, "connection-timeout", NULL);
		}
		if (now - last_lease >= OC_LEASE_RENEW) {
			if (lease(c) != S2S_LEASE_OURS) {
				failf(c, OC_FAIL_TIMEOUT, "lost the lease");
				s2s_stream_end(&c->s);
			}
			last_lease = now;
		}
		if (c->sm == SM_ASKED && now - c->sm_since >= OC_VERIFY_WAIT) {
			log_msg(LOG_NOTICE, "%s: no answer to <enable/>: without stream management",
			    c->route);
			c->sm = SM_OFF;
		}
		if (now - last_poll >= OC_POLL_QUEUE || c->sm_more)
			want = 1;
		c->sm_more = 0;
		if (want && !c->s.closing) {
			last_poll = now;
			want = 0;
			if (c->can_verify && c->nverify < OC_VERIFY_MAX &&
			    (r = s2s_verify_take(&c->st, c->route, OC_VERIFY_MAX - c->nverify,
			    take_verify, c)) > 0)
				last_work = now;
			if (c->state == OC_READY && !c->inflight && c->sm != SM_ASKED) {
				struct batch b = { c, 0 };
				if (s2s_peek(&c->st, c->route, OC_BATCH, send_one, &b) > 0) {
					c->inflight = b.n;
					c->inflight_since = now;
					last_work = now;
				}
			}
		}
		/* A verification the peer leaves unanswered is an error for
		 * its asker, not a reason to keep the stream forever. */
		for (r = 0; r < c->nverify; r++)
			if (now - c->verify[r].asked >= OC_VERIFY_WAIT) {
				log_msg(LOG_NOTICE, "%s: no answer to db:verify %s", c->route,
				    c->verify[r].sid);
				s2s_verify_answer(&c->st, c->verify[r].ask_id, "error");
				c->verify[r--] = c->verify[--c->nverify];
			}
		if (c->nverify)
			last_work = now;
		if (c->inflight && now - c->inflight_since >= OC_WRITE_TIMEOUT &&
		    !c->s.closing) {
			failf(c, OC_FAIL_TIMEOUT, "the peer does not read (%d s)", OC_WRITE_TIMEOUT);
			break;
		}
		if (c->state == OC_READY && !c->inflight && !c->s.closing &&
		    now - last_work >= c->cfg->s2s_idle_timeout) {
			log_msg(LOG_INFO, "%s: idle for %d s: closing", c->route,
			    c->cfg->s2s_idle_timeout);
			s2s_stream_end(&c->s);
		}
		if (s2s_stream_flush(&c->s) == -1) {
			failf(c, OC_FAIL_TIMEOUT, "connection lost: %s", c->s.err);
			break;
		}
		if (c->state == OC_HANDSHAKE && io_secure(&c->s.io) && !c->s.closing) {
			tls_up(c);
			continue;
		}
		if (c->inflight && !c->s.out.len && !(c->s.io.tls && c->s.io.handshaking) &&
		    c->sm == SM_ON) {
			/* Written: the peer says what it handled (sm_acked). */
			if (!c->sm_asked) {
				s2s_stream_send_raw(&c->s, "<r xmlns='" NS_SM "'/>",
				    strlen("<r xmlns='" NS_SM "'/>"));
				c->sm_asked = 1;
				continue;
			}
		} else if (c->inflight && !c->s.out.len && !(c->s.io.tls && c->s.io.handshaking)) {
			if (s2s_done(&c->st, c->route, c->inflight) < 0) {
				failf(c, OC_FAIL_TIMEOUT, "redis: %s", c->st.err);
				break;
			}
			log_msg(LOG_DEBUG, "%s: %d sent", c->route, c->inflight);
			c->inflight = 0;
			want = 1;          /* more may be waiting */
			continue;
		}
		if (c->s.closing) {
			if (!closing_since)
				closing_since = now;
			/* Our </stream:stream> is out: wait briefly for the peer's. */
			if (c->s.out.len == 0 && (now - closing_since >= OC_CLOSE_WAIT ||
			    c->s.err[0]))
				break;
		}
		p[0].fd = fd;
		p[0].events = s2s_stream_events(&c->s);
		if (c->st.sub) {
			p[1].fd = c->st.sub->fd;
			p[1].events = POLLIN;
			n = 2;
		}
		r = poll(p, (nfds_t)n, 1000);
		if (r == -1 && errno != EINTR) {
			failf(c, OC_FAIL_TIMEOUT, "poll: %s", strerror(errno));
			break;
		}
		if (r <= 0)
			continue;
		if (p[0].revents && s2s_stream_read(&c->s) == -1) {
			if (!c->s.closing)
				failf(c, OC_FAIL_TIMEOUT, "connection lost: %s", c->s.err);
			break;
		}
		if (n == 2 && p[1].revents) {
			r = s2s_wake_read(&c->st, c->route);
			if (r < 0) {
				/* Only a wake-up source lost: the queue is still polled. */
				log_msg(LOG_WARNING, "%s: redis subscriber lost", c->route);
				redisFree(c->st.sub);
				c->st.sub = NULL;
			} else if (r == S2S_WAKE_CLOSE && !c->s.closing) {
				log_msg(LOG_NOTICE, "%s: closed by the operator", c->route);
				s2s_stream_end(&c->s);
			} else if (r > 0) {
				want = 1;
			}
		}
	}
}

/* A stream that failed before LOCAL was authenticated is dropped, and
 * with it what was asked on it, before the next server is tried. */
static void reset_stream(struct oc *c, int fd)
{
	int i;

	for (i = 0; i < c->nverify; i++)
		s2s_verify_answer(&c->st, c->verify[i].ask_id, "error");
	c->nverify = 0;
	if (c->have_stream) {
		s2s_stream_free(&c->s);
		close(fd);
	}
	c->have_stream = 0;
	c->state = OC_PLAIN;
	c->sid[0] = '\0';
	c->can_verify = c->peer_auth = c->inflight = 0;
	/* What the peer never acknowledged stays queued, for the next. */
	c->peer_sm = c->sm_asked = c->sm_more = 0;
	c->sm = SM_OFF;
	c->sm_h = 0;
	c->fail = OC_FAIL_NONE;
	c->why[0] = '\0';
}

/* Each server in turn until one serves the route to its end (idle,
 * stopped) or fails after authentication, or none is left. The exit
 * status; *fd the last socket (still open when c->have_stream). */
static int attempts(struct oc *c, volatile sig_atomic_t *stop, int *fd)
{
	int direct = 0;

	for (;;) {
		if ((*fd = connect_next(c, &direct)) == -1)
			return give_up(c);
		serve(c, *fd, direct, stop);
		if (c->fail == OC_FAIL_NONE) {
			/* Idle or stopped: whatever came meanwhile waits for the
			 * next connection, which the dispatcher starts. */
			if (!*stop)
				s2s_idle(&c->st, c->route);
			log_msg(LOG_INFO, "%s: closed (%s)", c->route, c->why[0] ? c->why : "idle");
			return OUTCONN_EXIT_DONE;
		}
		if (c->state == OC_READY || *stop)
			return give_up(c);
		/* RFC 6120 3.2.1: this server would not do; the next may. */
		log_msg(LOG_NOTICE, "%s: %s: trying the next server", c->route, c->why);
		snprintf(c->sv.why, sizeof c->sv.why, "%s", c->why);
		reset_stream(c, *fd);
	}
}

int outconn_run(const struct config *cfg, const char *route, volatile sig_atomic_t *stop)
{
	struct oc *c;
	int fd = -1, rc;

	c = calloc(1, sizeof *c);
	if (!c) {
		log_msg(LOG_ERR, "%s: out of memory", route);
		return OUTCONN_EXIT_FAIL;
	}
	c->cfg = cfg;
	c->route = route;
	c->stop = stop;
	if (store_open_config(&c->st, c->cfg) == -1) {
		free(c);
		return OUTCONN_EXIT_FAIL;
	}
	rc = s2s_lease_take(&c->st, cfg, route, OUTCONN_LEASE_TTL);
	if (rc != S2S_LEASE_OURS) {
		if (rc >= 0)
			log_msg(LOG_INFO, "%s: served by another process", route);
		store_close(&c->st);
		free(c);
		return rc < 0 ? OUTCONN_EXIT_FAIL : OUTCONN_EXIT_LEASE;
	}
	if (s2s_wake_subscribe(&c->st) == -1)
		log_msg(LOG_WARNING, "%s: no wake-ups (redis subscriber): polling", route);
	c->ncerts = io_cert_specs(cfg, c->certs, TLS_MAX_CERTS);
	if (parse_route(c) == -1 || !config_federates(cfg, c->local) ||
	    !config_s2s_allowed(cfg, c->remote)) {
		failf(c, OC_FAIL_NOTFOUND, "not a route this server may serve");
		rc = give_up(c);
	} else {
		rc = attempts(c, stop, &fd);
	}
	if (c->have_stream) {
		s2s_stream_free(&c->s);      /* TLS close_notify, best effort */
		close(fd);
	}
	dns_close(c->sv.r);
	s2s_lease_release(&c->st, route, cfg->hostname, (long)getpid());
	store_close(&c->st);
	free(c);
	return rc;
}
