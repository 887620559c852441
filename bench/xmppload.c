/*
 * xmppload - an XMPP client load generator (RFC 6120/6121; SASL2, Bind2,
 * FAST and direct TLS for the login).
 *
 * One process, one epoll loop, non-blocking sockets, thousands of client
 * connections. It speaks to any XMPP server (xmppd, Prosody, ejabberd):
 * stream header, SASL PLAIN or SCRAM-SHA-1 (OpenSSL for the crypto) without
 * TLS, stream restart, resource binding, the RFC 3921 session IQ when the
 * server advertises it as required, initial presence. Server pings (and any
 * other IQ get/set) are answered. What the server sends is cut into
 * top-level elements by a tiny incremental scanner: enough to find each
 * stanza, its name, a few attributes and the text of a child.
 *
 * Scenarios (each bounded in time; each prints one line of key=value pairs):
 *   login    N clients log in, C at a time (connect -> auth -> bind ->
 *            presence), then close: logins/s and latency from TCP connect
 *            to the bind result (p50/p90/p99/max), and the round trips
 *            to it. -2: SASL2 (XEP-0388) with Bind2 (XEP-0386) inline,
 *            no restart; -F: FAST (XEP-0484), a first login asks for a
 *            token, the measured ones use it; -e: a message to our own
 *            full JID leaves with the presence and ends the login.
 *            Round trips: bytes read from the socket after we wrote
 *            some end a wait for the server; TCP connect is the first.
 *   messages P pairs of users; each user keeps W chat messages in flight to
 *            its partner (bare JID) for T seconds, each carrying its send
 *            time; then a drain: delivered/s, latency p50/p99/max, lost.
 *            Messages of an earlier run (stored offline, routed again)
 *            are counted apart, not as this run's.
 *   idle     N clients log in and stay until SIGUSR1/SIGTERM/SIGINT (or
 *            T seconds): prints a line when all are up, another at the end.
 *   fanout   G groups of K+1 users, each group a clique of mutual contacts
 *            (set up by the caller): R times one user changes presence,
 *            time until all K contacts have it; then S storms where every
 *            user changes presence at once: presence stanzas/s delivered.
 *   sm       messages, with XEP-0198 stream management (urn:xmpp:sm:3)
 *            enabled after bind: every client counts the stanzas it
 *            receives (h), answers the server's <r/>, sends <r/> after
 *            every A stanzas it sends and checks the server's <a h/>
 *            against what it sent (mismatches counted).
 *   resume   N clients log in (connect to bind result timed, as login),
 *            enable stream management with resume, cut their TCP
 *            connections without closing the stream, reconnect, log in
 *            again and resume (connect to <resumed/> timed): resumes/s
 *            against logins/s, <failed/> answers counted.
 *   room     N users log in and join one multi-user chat room (XEP-0045,
 *            on MUCDOMAIN; a fresh room name per run): the first creates it
 *            and submits the empty instant-room form (XEP-0045 10.1.2),
 *            then the others join, C at a time, each waiting for its own
 *            presence (status 110). Then S of them keep W groupchat
 *            messages each in flight (a new one leaves when one has reached
 *            every occupant) for T seconds or -N messages: messages/s that
 *            reached every occupant, latency from the send to the last (and
 *            the first) occupant, messages that did not reach every
 *            occupant within D seconds, per-occupant order per sender.
 *   A server that offers no urn:xmpp:sm:3 feature after the restart makes
 *   sm and resume print sm_unsupported=N (the clients that saw none) and
 *   stop after the logins.
 *
 * Transport: plain TCP, with -E direct TLS (XEP-0368; OpenSSL over the
 * socket, certificate not checked), or with -x PATH XMPP over WebSocket (RFC 7395) for
 * every scenario: an HTTP/1.1 upgrade to PATH with the xmpp subprotocol
 * (Sec-WebSocket-Accept checked), then every element we send is one masked
 * text frame (RFC 6455 5.2, 5.3), <open/> and <close/> of the framing
 * namespace stand for the stream header and its end, and every text message
 * from the server is one whole element (fragmented ones are joined); pings
 * are answered with pongs. The framing is written here, not taken from
 * libwslay: it is a few dozen lines, and a client that shares no code with
 * xmpp-web's server side cannot hide a bug of that library by having it on
 * both ends. Everything above the framing is the TCP path's code.
 *
 * Users are PATTERN with %d replaced by FIRST, FIRST+1, ...
 * Build: cc -O2 -Wall -Wextra -o xmppload xmppload.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#define MAX_IN        (1 << 20)   /* largest element we accept */
#define READ_CHUNK    16384
#define NS_SM         "urn:xmpp:sm:3"
#define NS_SASL       "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_SASL2      "urn:xmpp:sasl:2"
#define NS_BIND2      "urn:xmpp:bind:0"
#define NS_FAST       "urn:xmpp:fast:0"
#define FAST_MECH     "HT-SHA-256-NONE"
#define FAST_MAC_LEN  32          /* HMAC-SHA-256 */
#define TOKEN_MAX     256         /* a FAST token as the server gave it */
#define RT_MAX        64          /* round trips counted, at most */
#define SM_RQ_MAX     64          /* our <r/> awaiting the server's <a/> */
#define SM_ID_MAX     128         /* the server's stream id for resumption */
#define NS_PER_MS     1000000LL
#define NS_PER_SEC    1000000000LL
#define SETTLE_MS     1000        /* initial presence settles / the cut is noticed */
#define ACK_WAIT_MS   3000        /* the last <r/> of every client is answered */
#define OUT_LINE_MAX  2048        /* one element we format and send */
/* WebSocket (RFC 6455, RFC 7395) */
#define WS_GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_BYTES  16          /* Sec-WebSocket-Key: base64 of 16 random bytes */
#define WS_ACCEPT_MAX 32          /* base64 of a SHA-1: 28 characters */
#define WS_HEAD_MAX   8192        /* the server's answer to the upgrade */
#define WS_FRAME_HEAD_MAX 14      /* 2 + 8 (length) + 4 (mask) */
#define WS_CONTROL_MAX 125        /* payload of a control frame, at most */
#define WS_OP_CONT    0x0
#define WS_OP_TEXT    0x1
#define WS_OP_BINARY  0x2
#define WS_OP_CLOSE   0x8
#define WS_OP_PING    0x9
#define WS_OP_PONG    0xa
#define NS_FRAMING    "urn:ietf:params:xml:ns:xmpp-framing"
#define XMLNS_CLIENT  " xmlns='jabber:client'"

/* ---- options ---- */

static struct {
	const char *host, *domain, *pattern, *password, *resource, *label;
	int port, mech;           /* mech: 0 auto, 1 PLAIN, 2 SCRAM-SHA-1 (3: FAST's, set per login) */
	int tls;                  /* direct TLS (XEP-0368) from the TCP connect */
	int sasl2;                /* SASL2 (XEP-0388) with Bind2 (XEP-0386) */
	int fast;                 /* FAST (XEP-0484): a token first, then logins with it */
	int echo;                 /* login: a message to ourselves ends the login */
	int n, conc, first;
	int pairs, window;
	double secs, drain;
	int k, groups, rounds, storms;
	int srcaddrs;             /* > 1: bind to 127.0.0.1 .. 127.0.0.N */
	int hold;                 /* login: keep connections until the end */
	double login_timeout;     /* seconds from connect to a bound session */
	int sm;                   /* stream management (sm, resume scenarios) */
	int ack_every;            /* sm: <r/> after this many stanzas sent, 0 never */
	const char *ws_path;      /* WebSocket at this HTTP path; NULL: plain TCP */
	const char *muc;          /* room: the conference domain */
	int senders;              /* room: occupants that send */
	long room_max;            /* room: messages to send at most, 0 no limit */
} opt = {
	.host = "127.0.0.1", .domain = "localhost", .pattern = "user%d",
	.password = "secret", .resource = "xl", .label = "-",
	.port = 5222, .mech = 1, .n = 100, .conc = 50, .first = 1,
	.pairs = 50, .window = 10, .secs = 10, .drain = 3,
	.k = 50, .groups = 4, .rounds = 20, .storms = 3, .srcaddrs = 1,
	.login_timeout = 30, .ack_every = 5,
	.muc = "conference.localhost", .senders = 1,
};

enum scenario { SC_LOGIN, SC_MESSAGES, SC_IDLE, SC_FANOUT, SC_SM, SC_RESUME, SC_ROOM };
static enum scenario scen;
static const char *scen_name;

#define MECH_FAST 3

static const char *mech_name(int m)
{
	return m == MECH_FAST ? FAST_MECH : m == 2 ? "SCRAM-SHA-1" : m == 1 ? "PLAIN" : "auto";
}

/* ---- time, stats ---- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct samples {
	int64_t *v;
	size_t n, cap;
};

static void samples_add(struct samples *s, int64_t x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v) {
			perror("xmppload: realloc");
			exit(111);
		}
	}
	s->v[s->n++] = x;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void samples_sort(struct samples *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, cmp64);
}

/* Percentile of sorted samples. */
static int64_t pct(const struct samples *s, double p)
{
	size_t i;
	if (!s->n)
		return 0;
	i = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
	if (i >= s->n)
		i = s->n - 1;
	return s->v[i];
}

/* ... of samples in nanoseconds, in milliseconds. */
static double pct_ms(const struct samples *s, double p)
{
	return (double)pct(s, p) / 1e6;
}

static double cpu_secs(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- connections ---- */

enum state {
	ST_FREE, ST_CONNECTING, ST_TLS, ST_UPGRADE, ST_HEADER, ST_FEATURES, ST_AUTH, ST_SCRAM_FINAL,
	ST_HEADER2, ST_FEATURES2, ST_BIND, ST_SESSION, ST_SM_ENABLE, ST_RESUME,
	ST_ECHO,                     /* -e: presence and a message to ourselves sent */
	ST_ONLINE, ST_CLOSING,
	ST_DONE, ST_FAILED
};

struct conn {
	int fd, idx, user;
	enum state st;
	unsigned ev;                 /* registered epoll events */
	char *in;
	size_t inlen, incap, pos, tagstart, elemstart;
	int depth, intag;
	char quote;
	char *out;
	size_t outlen, outcap;
	int dirty;
	int64_t t_start, t_bound;
	SSL *ssl;                    /* -E: the TLS session over fd */
	uint64_t wbytes;             /* bytes written to fd (plain TCP) */
	uint64_t rt_mark;            /* bytes written when the last round trip was counted */
	int rt;                      /* round trips so far: waits for the server */
	int bound2;                  /* SASL2's <success/> had <bound/>: features, then online */
	char full[300];              /* the bound full JID */
	char agent[40];              /* <user-agent id/>: one UUID per user */
	char token[TOKEN_MAX];       /* FAST: the token of the first login */
	/* WebSocket: upgraded (what we send is framed), the accept value the
	 * server must answer, and a fragmented message being joined */
	int ws_up, ws_frag;
	char ws_accept[WS_ACCEPT_MAX];
	char *msg;
	size_t msglen, msgcap;
	int need_session, mech;
	char cnonce[40];
	char first_bare[300];
	unsigned char server_sig[20];
	/* scenario state */
	int peer;
	long sent, recvd, inflight;
	long pres_in;                /* presence stanzas from others */
	/* XEP-0198: h counts wrap at 2^32, as the XEP says */
	int sm_offered, sm_on;
	uint32_t sm_in, sm_out;      /* stanzas received, sent since <enabled/> */
	uint32_t sm_acked;           /* the server's last <a h/> */
	uint32_t sm_rq[SM_RQ_MAX];   /* sm_out at each <r/> not yet answered */
	int rq_head, rq_n;
	char sm_id[SM_ID_MAX];       /* <enabled id/>: previd to resume */
	/* room */
	int joined;                  /* its own presence (110) came back */
	int64_t t_join;              /* join presence sent */
	long *room_last;             /* per sender: the last sequence number seen */
};

static struct conn *conns;
static int nconns;
static int epfd;
static int *dirty_list, ndirty;

/* counters */
static int started, active_logins, online, finished, failed_n, closed_n;
static char first_error[200];
static struct samples login_lat;
static int64_t t_first_connect, t_last_bound;
/* round trips (connect to bound, connect to the first message), the
 * first message (-e), FAST's first logins (-F), TLS (-E) */
static struct samples rt_bound_s, rt_echo_s, echo_lat;
static int64_t t_last_echo;
static int tokens_got, token_logins_failed;
static SSL_CTX *tls_ctx;
static char tls_version[16] = "none";
/* stream management */
static int sm_unsupported, sm_enabled, sm_enable_failed, resuming;
static int resumed_n, resume_failed;
static long sm_requests, sm_acks, sm_mismatch, sm_rq_skipped, sm_server_requests;
static char resume_first_failure[64];
static struct samples resume_lat;
static int64_t t_last_resumed;

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "xmppload: %s: %s\n", what, strerror(errno));
	exit(111);
}

static void user_name(int user, char *out, size_t outsz)
{
	snprintf(out, outsz, opt.pattern, user);
}

/* Room for len more bytes at the end of the output; out_commit() counts
 * them in and queues the connection for the next flush. */
static char *out_space(struct conn *c, size_t len)
{
	if (c->outlen + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 1024;
		while (cap < c->outlen + len)
			cap *= 2;
		c->out = realloc(c->out, cap);
		if (!c->out)
			die("realloc");
		c->outcap = cap;
	}
	return c->out + c->outlen;
}

static void out_commit(struct conn *c, size_t len)
{
	c->outlen += len;
	if (!c->dirty) {
		c->dirty = 1;
		dirty_list[ndirty++] = c->idx;
	}
}

/* Bytes as they go on the wire. */
static void out_raw(struct conn *c, const char *s, size_t len)
{
	if (c->fd < 0)
		return;
	memcpy(out_space(c, len), s, len);
	out_commit(c, len);
}

/* One final, masked client frame (RFC 6455 5.2): the masking key comes
 * from the CSPRNG, as 5.3 asks. */
static void ws_frame(struct conn *c, int op, const char *p, size_t len)
{
	unsigned char *o, *mask;
	size_t hl = 2, i;
	if (c->fd < 0)
		return;
	o = (unsigned char *)out_space(c, WS_FRAME_HEAD_MAX + len);
	o[0] = (unsigned char)(0x80 | op);
	if (len < 126) {
		o[1] = (unsigned char)(0x80 | len);
	} else if (len <= 0xffff) {
		o[1] = 0x80 | 126;
		o[2] = (unsigned char)(len >> 8);
		o[3] = (unsigned char)len;
		hl = 4;
	} else {
		o[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			o[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	mask = o + hl;
	if (RAND_bytes(mask, 4) != 1)
		die("RAND_bytes");
	hl += 4;
	for (i = 0; i < len; i++)
		o[hl + i] = (unsigned char)p[i] ^ mask[i & 3];
	out_commit(c, hl + len);
}

static const char *mem_find(const char *h, size_t hlen, const char *n);

/* A stanza as a WebSocket message: a document of its own, so with the
 * jabber:client namespace it inherits from the stream header over TCP
 * (RFC 7395 3.3.3; Prosody refuses a stanza without it). */
static void ws_stanza(struct conn *c, const char *s, size_t len)
{
	char buf[OUT_LINE_MAX + sizeof XMLNS_CLIENT];
	size_t nl = 1;
	const char *gt = memchr(s, '>', len);
	while (nl < len && s[nl] != ' ' && s[nl] != '>' && s[nl] != '/')
		nl++;
	if (!gt || mem_find(s, (size_t)(gt - s), "xmlns=") ||
	    !((nl == 8 && !memcmp(s, "<message", 8)) || (nl == 9 && !memcmp(s, "<presence", 9)) ||
	      (nl == 3 && !memcmp(s, "<iq", 3)))) {
		ws_frame(c, WS_OP_TEXT, s, len);
		return;
	}
	if (len >= OUT_LINE_MAX) {
		fprintf(stderr, "xmppload: stanza too long for WebSocket\n");
		exit(111);
	}
	memcpy(buf, s, nl);
	memcpy(buf + nl, XMLNS_CLIENT, sizeof XMLNS_CLIENT - 1);
	memcpy(buf + nl + sizeof XMLNS_CLIENT - 1, s + nl, len - nl);
	ws_frame(c, WS_OP_TEXT, buf, len + sizeof XMLNS_CLIENT - 1);
}

/* One element: as it is over TCP, one text frame over WebSocket. */
static void out_append(struct conn *c, const char *s, size_t len)
{
	if (c->ws_up)
		ws_stanza(c, s, len);
	else
		out_raw(c, s, len);
}

static void out_printf(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out_vprintf(struct conn *c, const char *fmt, va_list ap)
{
	char buf[OUT_LINE_MAX];
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		fprintf(stderr, "xmppload: output line too long\n");
		exit(111);
	}
	out_append(c, buf, (size_t)n);
}

static void out_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	out_vprintf(c, fmt, ap);
	va_end(ap);
}

/* Ask the server how many of our stanzas it has handled; remember what the
 * answer must be (TCP keeps the order: all we sent before the <r/>). */
static void sm_request(struct conn *c)
{
	if (c->rq_n == SM_RQ_MAX) {
		sm_rq_skipped++;
		return;
	}
	c->sm_rq[(c->rq_head + c->rq_n++) % SM_RQ_MAX] = c->sm_out;
	out_printf(c, "<r xmlns='" NS_SM "'/>");
	sm_requests++;
}

/* Every stanza (message, presence, iq) goes out here: once stream
 * management is on it is counted, and every opt.ack_every-th is followed
 * by an <r/>, as Conversations does. */
static void stanza_printf(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void stanza_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	out_vprintf(c, fmt, ap);
	va_end(ap);
	if (!c->sm_on)
		return;
	c->sm_out++;
	if (opt.ack_every > 0 && c->sm_out % (uint32_t)opt.ack_every == 0)
		sm_request(c);
}

static void set_events(struct conn *c, unsigned ev)
{
	struct epoll_event e = { .events = ev, .data.u32 = (uint32_t)c->idx };
	if (c->ev == ev)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) == -1)
		die("epoll_ctl MOD");
	c->ev = ev;
}

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);        /* the socket stays ours: closed below */
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
		closed_n++;
	}
	free(c->in);
	c->in = NULL;
	c->inlen = c->incap = 0;
	free(c->out);
	c->out = NULL;
	c->outlen = c->outcap = 0;
	free(c->msg);
	c->msg = NULL;
	c->msglen = c->msgcap = 0;
	c->ws_up = c->ws_frag = 0;
}

static int in_login(const struct conn *c)
{
	return c->st >= ST_CONNECTING && c->st < ST_ONLINE;
}

static void conn_fail(struct conn *c, const char *why)
{
	if (c->st == ST_FAILED || c->st == ST_DONE)
		return;
	if (c->st == ST_CLOSING) {      /* we were leaving anyway */
		c->st = ST_DONE;
		finished++;
		conn_close(c);
		return;
	}
	if (!first_error[0]) {
		char u[64];
		user_name(c->user, u, sizeof u);
		snprintf(first_error, sizeof first_error, "%s:%s", u, why);
		for (char *p = first_error; *p; p++)
			if (*p == ' ' || *p == '=')
				*p = '_';
	}
	if (in_login(c))
		active_logins--;
	if (c->st == ST_ONLINE)
		online--;
	c->st = ST_FAILED;
	failed_n++;
	conn_close(c);
}

/* ---- the transport: plain TCP, or TLS over it (-E) ---- */

/* Bytes that left on the socket so far (with TLS: records, the
 * handshake's too). */
static uint64_t wire_out(const struct conn *c)
{
	return c->ssl ? (uint64_t)BIO_number_written(SSL_get_wbio(c->ssl)) : c->wbytes;
}

/* Bytes were read from the socket: if we sent something since bytes
 * were last read, we were waiting for the server, and one round trip
 * ends. Counted where the socket is read (sock_read, and with TLS the
 * socket BIO's callback): one SSL call may send a flight and read the
 * answer when the server is quicker than our next read. */
static void rt_arrival(struct conn *c)
{
	uint64_t w = wire_out(c);
	if (w != c->rt_mark) {
		c->rt++;
		c->rt_mark = w;
	}
}

/* errno for a failed SSL_read/SSL_write/SSL_do_handshake: EAGAIN when
 * it waits for the socket. */
static int tls_errno(struct conn *c, int r)
{
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return EAGAIN;
	if (e == SSL_ERROR_SYSCALL && errno)
		return errno;
	return EPROTO;
}

/* The TLS socket BIO's reads, for rt_arrival. */
static long tls_bio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
    int ret, size_t *processed)
{
	(void)argp, (void)len, (void)argi, (void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed && *processed > 0)
		rt_arrival((struct conn *)BIO_get_callback_arg(b));
	return ret;
}

/* write(2), or SSL_write: bytes taken, or -1 and errno. */
static ssize_t sock_write(struct conn *c, const void *p, size_t len)
{
	ssize_t w;
	int n;
	if (!c->ssl) {
		w = write(c->fd, p, len);
		if (w > 0)
			c->wbytes += (uint64_t)w;
		return w;
	}
	ERR_clear_error();
	n = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	errno = tls_errno(c, n);
	return -1;
}

/* read(2), or SSL_read: bytes, 0 at the end of the stream, or -1 and
 * errno (an end without close_notify is an end: the options of tls_ctx). */
static ssize_t sock_read(struct conn *c, void *p, size_t len)
{
	ssize_t r;
	int n;
	if (!c->ssl) {
		r = read(c->fd, p, len);
		if (r > 0)
			rt_arrival(c);
		return r;
	}
	ERR_clear_error();
	n = SSL_read(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	if (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = tls_errno(c, n);
	return -1;
}

static void flush_conn(struct conn *c)
{
	while (c->fd >= 0 && c->outlen) {
		ssize_t w = sock_write(c, c->out, c->outlen);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				set_events(c, EPOLLIN | EPOLLOUT);
				return;
			}
			conn_fail(c, "write-error");
			return;
		}
		memmove(c->out, c->out + w, c->outlen - (size_t)w);
		c->outlen -= (size_t)w;
	}
	if (c->fd >= 0 && c->st != ST_CONNECTING && c->st != ST_TLS)
		set_events(c, EPOLLIN);
}

static void flush_dirty(void)
{
	int i;
	for (i = 0; i < ndirty; i++) {
		struct conn *c = &conns[dirty_list[i]];
		c->dirty = 0;
		if (c->st != ST_CONNECTING && c->st != ST_TLS)
			flush_conn(c);
	}
	ndirty = 0;
}

/* ---- base64 and SCRAM-SHA-1 ---- */

static size_t b64enc(const unsigned char *in, size_t len, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* -1 on bad input. */
static int b64dec(const char *in, size_t len, unsigned char *out, size_t outsz)
{
	int n;
	size_t pad = 0;
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\n' || in[len - 1] == '\r' || in[len - 1] == '\t'))
		len--;
	while (len && (*in == ' ' || *in == '\n' || *in == '\r' || *in == '\t'))
		in++, len--;
	if (len % 4 || len / 4 * 3 > outsz)
		return -1;
	if (len && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	return n - (int)pad;
}

/* SaltedPassword cache: the same salt and count need no new PBKDF2. */
#define SP_CACHE 64
static struct {
	unsigned char salt[64], sp[20];
	int saltlen, iter, used;
} sp_cache[SP_CACHE];
static long pbkdf2_calls;

static int salted_password(const unsigned char *salt, int saltlen, int iter, unsigned char sp[20])
{
	unsigned h = (unsigned)iter;
	int i, slot;
	for (i = 0; i < saltlen; i++)
		h = h * 31 + salt[i];
	slot = (int)(h % SP_CACHE);
	if (sp_cache[slot].used && sp_cache[slot].iter == iter && sp_cache[slot].saltlen == saltlen &&
	    !memcmp(sp_cache[slot].salt, salt, (size_t)saltlen)) {
		memcpy(sp, sp_cache[slot].sp, 20);
		return 0;
	}
	pbkdf2_calls++;
	if (PKCS5_PBKDF2_HMAC_SHA1(opt.password, (int)strlen(opt.password), salt, saltlen,
	    iter, 20, sp) != 1)
		return -1;
	if (saltlen <= (int)sizeof sp_cache[slot].salt) {
		memcpy(sp_cache[slot].salt, salt, (size_t)saltlen);
		sp_cache[slot].saltlen = saltlen;
		sp_cache[slot].iter = iter;
		memcpy(sp_cache[slot].sp, sp, 20);
		sp_cache[slot].used = 1;
	}
	return 0;
}

static void hmac_sha1(const unsigned char *key, size_t klen, const void *data, size_t dlen,
    unsigned char out[20])
{
	unsigned int l = 20;
	HMAC(EVP_sha1(), key, (int)klen, data, dlen, out, &l);
}

/* server-first (decoded) -> client-final (plain, not yet base64). */
static int scram_final(struct conn *c, const char *sfirst, char *out, size_t outsz)
{
	const char *r = NULL, *s = NULL, *i = NULL, *p;
	size_t rlen = 0, slen = 0;
	unsigned char salt[64], sp[20], ck[20], sk[20], cs[20], proof[20], svk[20];
	char am[1200], proof64[40], without[400];
	int saltlen, iter, k;

	for (p = sfirst; *p; ) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l > 2 && p[1] == '=') {
			if (p[0] == 'r') r = p + 2, rlen = l - 2;
			else if (p[0] == 's') s = p + 2, slen = l - 2;
			else if (p[0] == 'i') i = p + 2;
		}
		p += l;
		if (*p == ',')
			p++;
	}
	if (!r || !s || !i || rlen >= 200 || rlen < strlen(c->cnonce) ||
	    strncmp(r, c->cnonce, strlen(c->cnonce)))
		return -1;
	iter = atoi(i);
	saltlen = b64dec(s, slen, salt, sizeof salt);
	if (iter < 1 || saltlen <= 0)
		return -1;
	if (salted_password(salt, saltlen, iter, sp) < 0)
		return -1;
	snprintf(without, sizeof without, "c=biws,r=%.*s", (int)rlen, r);
	if ((size_t)snprintf(am, sizeof am, "%s,%s,%s", c->first_bare, sfirst, without) >= sizeof am)
		return -1;
	hmac_sha1(sp, 20, "Client Key", 10, ck);
	SHA1(ck, 20, sk);
	hmac_sha1(sk, 20, am, strlen(am), cs);
	for (k = 0; k < 20; k++)
		proof[k] = ck[k] ^ cs[k];
	hmac_sha1(sp, 20, "Server Key", 10, svk);
	hmac_sha1(svk, 20, am, strlen(am), c->server_sig);
	b64enc(proof, 20, proof64);
	if ((size_t)snprintf(out, outsz, "%s,p=%s", without, proof64) >= outsz)
		return -1;
	return 0;
}

/* "v=..." (decoded) must carry the server signature. */
static int scram_verify(struct conn *c, const char *data)
{
	unsigned char v[40];
	int n;
	if (strncmp(data, "v=", 2))
		return -1;
	n = b64dec(data + 2, strlen(data + 2), v, sizeof v);
	return n == 20 && !memcmp(v, c->server_sig, 20) ? 0 : -1;
}

/* ---- element helpers (e points at '<', len covers the whole element) ---- */

/* Local name of the element's start tag. */
static void el_name(const char *e, size_t len, char *out, size_t outsz)
{
	size_t i = 1, j = 0, start = 1;
	while (i < len && e[i] != ' ' && e[i] != '>' && e[i] != '/' && e[i] != '\t' &&
	    e[i] != '\n' && e[i] != '\r') {
		if (e[i] == ':')
			start = i + 1;
		i++;
	}
	for (j = 0; start + j < i && j + 1 < outsz; j++)
		out[j] = e[start + j];
	out[j] = 0;
}

static const char *mem_find(const char *h, size_t hlen, const char *n)
{
	return memmem(h, hlen, n, strlen(n));
}

/* The value of attribute name in the start tag (no entity decoding). */
static int el_attr(const char *e, size_t len, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name), i;
	const char *end = memchr(e, '>', len);
	char q = 0;
	if (!end)
		return -1;
	for (i = 1; e + i + nl + 2 < end; i++) {
		if (q) {
			if (e[i] == q)
				q = 0;
			continue;
		}
		if (e[i] == '\'' || e[i] == '"') {
			q = e[i];
			continue;
		}
		if ((e[i - 1] == ' ' || e[i - 1] == '\t' || e[i - 1] == '\n' || e[i - 1] == '\r') &&
		    !memcmp(e + i, name, nl)) {
			size_t k = i + nl, j = 0;
			while (e + k < end && (e[k] == ' ' || e[k] == '\t' || e[k] == '\n'))
				k++;
			if (e[k] != '=')
				continue;
			k++;
			while (e + k < end && (e[k] == ' ' || e[k] == '\t' || e[k] == '\n'))
				k++;
			if (e[k] != '\'' && e[k] != '"')
				return -1;
			q = e[k++];
			while (e + k < end && e[k] != q && j + 1 < outsz)
				out[j++] = e[k++];
			out[j] = 0;
			return 0;
		}
	}
	return -1;
}

/* First descendant element with this local name: its start, or NULL. */
static const char *el_child(const char *e, size_t len, const char *name, size_t *clen)
{
	size_t nl = strlen(name), i;
	for (i = 1; i + nl + 1 < len; i++) {
		if (e[i] != '<' || e[i + 1] == '/' || e[i + 1] == '!' || e[i + 1] == '?')
			continue;
		{
			size_t s = i + 1, k = s;
			while (k < len && e[k] != ' ' && e[k] != '>' && e[k] != '/' && e[k] != '\t' && e[k] != '\n') {
				if (e[k] == ':')
					s = k + 1;
				k++;
			}
			if (k - s == nl && !memcmp(e + s, name, nl)) {
				*clen = len - i;
				return e + i;
			}
		}
	}
	return NULL;
}

/* Text content of a simple element (up to its first '<' after the start tag). */
static int el_text(const char *e, size_t len, char *out, size_t outsz)
{
	const char *gt = memchr(e, '>', len), *lt;
	size_t n;
	if (!gt || gt[-1] == '/') {
		if (outsz)
			out[0] = 0;
		return gt ? 0 : -1;
	}
	lt = memchr(gt + 1, '<', (size_t)(e + len - gt - 1));
	if (!lt)
		return -1;
	n = (size_t)(lt - gt - 1);
	if (n + 1 > outsz)
		return -1;
	memcpy(out, gt + 1, n);
	out[n] = 0;
	return 0;
}

/* ---- the login state machine ---- */

static void send_header(struct conn *c)
{
	if (opt.ws_path)
		out_printf(c, "<open xmlns='" NS_FRAMING "' to='%s' version='1.0'/>", opt.domain);
	else
		out_printf(c, "<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
		    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", opt.domain);
}

static void scenario_online(struct conn *c);
static void scenario_stanza(struct conn *c, const char *e, size_t len, const char *name);

/* The login is over (with -e: the first message came back). */
static void logged_in(struct conn *c)
{
	c->st = ST_ONLINE;
	active_logins--;
	online++;
	scenario_online(c);
}

/* Initial presence; with -e a message to our own full JID in the same
 * flight (nothing in the protocol makes it wait for an answer to the
 * presence), and the login ends when it arrives. */
static void go_online(struct conn *c)
{
	stanza_printf(c, "<presence/>");
	if (!opt.echo) {
		logged_in(c);
		return;
	}
	if (!c->full[0]) {
		conn_fail(c, "no-full-jid");
		return;
	}
	stanza_printf(c, "<message to='%s' type='chat' id='echo'><body>xl echo</body></message>", c->full);
	c->st = ST_ECHO;
}

/* The session is bound (bind result, or SASL2's <success/> with <bound/>). */
static void login_bound(struct conn *c)
{
	c->t_bound = now_ns();
	t_last_bound = c->t_bound;
	samples_add(&login_lat, c->t_bound - c->t_start);
	samples_add(&rt_bound_s, c->rt);
}

/* The first message arrived (-e): connect to it timed, round trips counted. */
static void echo_arrived(struct conn *c)
{
	t_last_echo = now_ns();
	samples_add(&echo_lat, t_last_echo - c->t_start);
	samples_add(&rt_echo_s, c->rt);
	logged_in(c);
}

/* Bound (and the session IQ done): enable stream management first if the
 * scenario wants it and the server offered it, else go online. */
static void session_ready(struct conn *c)
{
	if (!opt.sm) {
		go_online(c);
	} else if (!c->sm_offered) {
		sm_unsupported++;
		go_online(c);
	} else {
		out_printf(c, "<enable xmlns='" NS_SM "' resume='true'/>");
		c->st = ST_SM_ENABLE;
	}
}

/* h='...' of an SM element; -1 if absent or not a number. */
static int sm_h(const char *e, size_t len, uint32_t *h)
{
	char buf[16], *end;
	unsigned long v;
	if (el_attr(e, len, "h", buf, sizeof buf) < 0)
		return -1;
	v = strtoul(buf, &end, 10);
	if (end == buf || *end || v > UINT32_MAX)
		return -1;
	*h = (uint32_t)v;
	return 0;
}

/* The server's <a h/>: the answer to our oldest <r/> must be what we had
 * sent by then; one we did not ask for must lie between its last answer
 * and what we have sent (mod 2^32). */
static void sm_on_ack(struct conn *c, const char *e, size_t len)
{
	uint32_t h;
	sm_acks++;
	if (sm_h(e, len, &h) < 0) {
		sm_mismatch++;
		return;
	}
	if (c->rq_n) {
		if (h != c->sm_rq[c->rq_head])
			sm_mismatch++;
		c->rq_head = (c->rq_head + 1) % SM_RQ_MAX;
		c->rq_n--;
	} else if ((uint32_t)(h - c->sm_acked) > (uint32_t)(c->sm_out - c->sm_acked)) {
		sm_mismatch++;
	}
	c->sm_acked = h;
}

/* The condition of an SM <failed/> (its first child), for the report. */
static void sm_failure(const char *e, size_t len, char *out, size_t outsz)
{
	const char *ch = memchr(e, '>', len);
	snprintf(out, outsz, "failed");
	if (ch && ch[-1] != '/' && (ch = memchr(ch, '<', (size_t)(e + len - ch))) && ch[1] != '/')
		el_name(ch, (size_t)(e + len - ch), out, outsz);
}

/* Elements of XEP-0198; 1 if e was one. */
static int sm_element(struct conn *c, const char *e, size_t len, const char *name)
{
	char cond[64];
	uint32_t h;
	if ((strcmp(name, "r") && strcmp(name, "a") && strcmp(name, "enabled") &&
	    strcmp(name, "resumed") && strcmp(name, "failed")) || !mem_find(e, len, NS_SM))
		return 0;
	if (!strcmp(name, "r")) {
		sm_server_requests++;
		out_printf(c, "<a xmlns='" NS_SM "' h='%" PRIu32 "'/>", c->sm_in);
	} else if (!strcmp(name, "a")) {
		sm_on_ack(c, e, len);
	} else if (!strcmp(name, "enabled") && c->st == ST_SM_ENABLE) {
		if (el_attr(e, len, "id", c->sm_id, sizeof c->sm_id) < 0)
			c->sm_id[0] = 0;
		c->sm_on = 1;
		c->sm_in = c->sm_out = c->sm_acked = 0;
		c->rq_n = 0;
		sm_enabled++;
		go_online(c);
	} else if (!strcmp(name, "resumed") && c->st == ST_RESUME) {
		/* what the server handled of ours must be all we sent */
		if (sm_h(e, len, &h) < 0 || h != c->sm_out)
			sm_mismatch++;
		c->sm_acked = c->sm_out;
		c->rq_n = 0;             /* <r/> of the old connection are void */
		t_last_resumed = now_ns();
		samples_add(&resume_lat, t_last_resumed - c->t_start);
		resumed_n++;
		c->st = ST_ONLINE;
		active_logins--;
		online++;
	} else if (!strcmp(name, "failed") && (c->st == ST_SM_ENABLE || c->st == ST_RESUME)) {
		char why[100];
		sm_failure(e, len, cond, sizeof cond);
		if (c->st == ST_RESUME) {
			resume_failed++;
			if (!resume_first_failure[0])
				snprintf(resume_first_failure, sizeof resume_first_failure, "%s", cond);
		} else {
			sm_enable_failed++;
		}
		snprintf(why, sizeof why, "sm-%s-failed-%s", c->st == ST_RESUME ? "resume" : "enable", cond);
		conn_fail(c, why);
	}
	return 1;
}

/* HMAC-SHA-256 of label keyed with the FAST token (XEP-0484 4: no
 * channel binding data with -NONE). */
static void token_mac(const struct conn *c, const char *label, unsigned char out[FAST_MAC_LEN])
{
	unsigned int l = FAST_MAC_LEN;
	HMAC(EVP_sha256(), c->token, (int)strlen(c->token), (const unsigned char *)label,
	    strlen(label), out, &l);
}

/* The initial response of mechanism mech, base64 into b64. */
static void initial_response(struct conn *c, int mech, char *b64)
{
	char u[128], buf[400];
	size_t ul;
	user_name(c->user, u, sizeof u);
	ul = strlen(u);
	if (mech == 1) {
		size_t pl = strlen(opt.password);
		buf[0] = 0;
		memcpy(buf + 1, u, ul);
		buf[1 + ul] = 0;
		memcpy(buf + 2 + ul, opt.password, pl);
		b64enc((unsigned char *)buf, 2 + ul + pl, b64);
	} else if (mech == MECH_FAST) {
		/* authcid NUL HMAC(token, "Initiator") */
		memcpy(buf, u, ul);
		buf[ul] = 0;
		token_mac(c, "Initiator", (unsigned char *)buf + ul + 1);
		b64enc((unsigned char *)buf, ul + 1 + FAST_MAC_LEN, b64);
	} else {
		unsigned char rnd[18];
		if (RAND_bytes(rnd, sizeof rnd) != 1)
			die("RAND_bytes");
		b64enc(rnd, sizeof rnd, c->cnonce);
		snprintf(c->first_bare, sizeof c->first_bare, "n=%s,r=%s", u, c->cnonce);
		snprintf(buf, sizeof buf, "n,,%s", c->first_bare);
		b64enc((unsigned char *)buf, strlen(buf), b64);
	}
}

/* Where the features list the mechanisms we may use: the whole of them,
 * or with -2 SASL2's <authentication/> (with Bind2 in its <inline/>);
 * NULL if SASL2 or Bind2 is not offered. */
static const char *mech_offer(const char *e, size_t len, size_t *olen)
{
	const char *a, *end;
	size_t alen;
	if (!opt.sasl2) {
		*olen = len;
		return e;
	}
	if (!(a = el_child(e, len, "authentication", &alen)) || !mem_find(a, alen, NS_SASL2))
		return NULL;
	end = memchr(a, '>', alen);                      /* then its end tag */
	end = end ? mem_find(end, alen - (size_t)(end - a), "authentication>") : NULL;
	*olen = end ? (size_t)(end - a) : alen;
	return mem_find(a, *olen, NS_BIND2) ? a : NULL;
}

static void on_features(struct conn *c, const char *e, size_t len)
{
	char b64[600];
	int mech = opt.fast && c->token[0] ? MECH_FAST : opt.mech;
	if (c->st == ST_FEATURES) {
		size_t ol;
		const char *offer = mech_offer(e, len, &ol);
		int plain, scram, fast;
		if (!offer) {
			conn_fail(c, "sasl2-or-bind2-not-offered");
			return;
		}
		plain = mem_find(offer, ol, ">PLAIN<") != NULL;
		scram = mem_find(offer, ol, ">SCRAM-SHA-1<") != NULL;
		fast = mem_find(offer, ol, ">" FAST_MECH "<") != NULL;
		if (mech == 0)
			mech = scram ? 2 : 1;
		if ((mech == 1 && !plain) || (mech == 2 && !scram) || (mech == MECH_FAST && !fast) ||
		    (opt.fast && !fast)) {
			conn_fail(c, "mechanism-not-offered");
			return;
		}
		initial_response(c, mech, b64);
		if (!opt.sasl2)
			out_printf(c, "<auth xmlns='" NS_SASL "' mechanism='%s'>%s</auth>", mech_name(mech), b64);
		else
			/* XEP-0388 with Bind2 (XEP-0386) inline; FAST (XEP-0484): a
			 * token asked for at the first login, used at the next */
			out_printf(c, "<authenticate xmlns='" NS_SASL2 "' mechanism='%s'>"
			    "<initial-response>%s</initial-response>"
			    "<user-agent id='%s'><software>xmppload</software></user-agent>"
			    "<bind xmlns='" NS_BIND2 "'><tag>xmppload</tag></bind>%s</authenticate>",
			    mech_name(mech), b64, c->agent,
			    mech == MECH_FAST ? "<fast xmlns='" NS_FAST "'/>" :
			    opt.fast ? "<request-token xmlns='" NS_FAST "' mechanism='" FAST_MECH "'/>" : "");
		c->mech = mech;
		c->st = ST_AUTH;
		return;
	}
	/* after the restart, or after SASL2's <success/> (no restart) */
	{
		size_t sl;
		const char *s;
		c->sm_offered = mem_find(e, len, NS_SM) != NULL;
		if (c->bound2) {
			session_ready(c);       /* bound inline */
			return;
		}
		if (resuming) {
			if (!c->sm_offered) {
				conn_fail(c, "no-sm-feature-at-resume");
				return;
			}
			out_printf(c, "<resume xmlns='" NS_SM "' previd='%s' h='%" PRIu32 "'/>",
			    c->sm_id, c->sm_in);
			c->st = ST_RESUME;
			return;
		}
		if (!el_child(e, len, "bind", &sl)) {
			conn_fail(c, "no-bind-feature");
			return;
		}
		s = el_child(e, len, "session", &sl);
		c->need_session = 0;
		if (s) {
			/* optional unless it says nothing: look inside <session .../> */
			const char *gt = memchr(s, '>', sl);
			if (gt && gt[-1] != '/') {
				const char *endt = mem_find(s, sl, "session>");
				c->need_session = !(endt && mem_find(s, (size_t)(endt - s), "optional"));
			} else {
				c->need_session = 1;
			}
		}
		out_printf(c, "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
		    "<resource>%s</resource></bind></iq>", opt.resource);
		c->st = ST_BIND;
	}
}

/* SASL2's <success/>: the server's data checked (on_sasl), the session
 * bound (<bound/>), our full JID, a FAST token if one came; then the
 * features, without a restart. */
static void sasl2_success(struct conn *c, const char *e, size_t len)
{
	size_t cl;
	const char *ch;
	if (!el_child(e, len, "bound", &cl) || !mem_find(e, len, NS_BIND2)) {
		conn_fail(c, "bind2-not-bound");
		return;
	}
	ch = el_child(e, len, "authorization-identifier", &cl);
	if (!ch || el_text(ch, cl, c->full, sizeof c->full) < 0 || !strchr(c->full, '/')) {
		conn_fail(c, "sasl2-no-full-jid");
		return;
	}
	/* issued at the first login, or rotated at a later one */
	if ((ch = el_child(e, len, "token", &cl)) && mem_find(e, len, NS_FAST)) {
		if (el_attr(ch, cl, "token", c->token, sizeof c->token) < 0 || !c->token[0]) {
			conn_fail(c, "fast-bad-token");
			return;
		}
		if (c->mech != MECH_FAST)
			tokens_got++;
	} else if (opt.fast && c->mech != MECH_FAST) {
		conn_fail(c, "fast-no-token");
		return;
	}
	login_bound(c);
	c->bound2 = 1;
	c->st = ST_FEATURES2;
}

static void on_sasl(struct conn *c, const char *e, size_t len, const char *name)
{
	char text[1200], dec[900], out[600], b64[900];
	const char *ns = opt.sasl2 ? NS_SASL2 : NS_SASL, *data = e;
	size_t dl = len;
	int n;
	if (!strcmp(name, "failure")) {
		char cond[64] = "failure", why[80];
		const char *ch = memchr(e, '>', len);
		/* the first child element names the condition */
		if (ch && ch[-1] != '/' && (ch = memchr(ch, '<', (size_t)(e + len - ch))) && ch[1] != '/')
			el_name(ch, (size_t)(e + len - ch), cond, sizeof cond);
		snprintf(why, sizeof why, "sasl-%s", cond);
		conn_fail(c, why);
		return;
	}
	/* SASL2 puts the server's final data in <additional-data/> */
	if (opt.sasl2 && !strcmp(name, "success") && !(data = el_child(e, len, "additional-data", &dl)))
		text[0] = 0;
	else if (el_text(data, dl, text, sizeof text) < 0) {
		conn_fail(c, "sasl-bad-element");
		return;
	}
	n = 0;
	if (text[0] && strcmp(text, "=")) {
		n = b64dec(text, strlen(text), (unsigned char *)dec, sizeof dec - 1);
		if (n < 0) {
			conn_fail(c, "sasl-bad-base64");
			return;
		}
	}
	dec[n] = 0;
	if (!strcmp(name, "challenge")) {
		if (c->st == ST_AUTH && c->mech == 2) {
			if (scram_final(c, dec, out, sizeof out) < 0) {
				conn_fail(c, "scram-bad-server-first");
				return;
			}
			b64enc((unsigned char *)out, strlen(out), b64);
			out_printf(c, "<response xmlns='%s'>%s</response>", ns, b64);
			c->st = ST_SCRAM_FINAL;
		} else if (c->st == ST_SCRAM_FINAL) {
			/* server-final as a challenge: verify, answer empty */
			if (scram_verify(c, dec) < 0) {
				conn_fail(c, "scram-bad-server-signature");
				return;
			}
			out_printf(c, "<response xmlns='%s'/>", ns);
			c->st = ST_AUTH;    /* verified: an empty success follows */
		} else {
			conn_fail(c, "unexpected-challenge");
		}
		return;
	}
	if (!strcmp(name, "success")) {
		if (c->st == ST_SCRAM_FINAL && scram_verify(c, dec) < 0) {
			conn_fail(c, "scram-bad-server-signature");
			return;
		}
		if (c->mech == MECH_FAST) {
			/* the server proves the token: HMAC(token, "Responder") */
			unsigned char want[FAST_MAC_LEN];
			token_mac(c, "Responder", want);
			if (n != FAST_MAC_LEN || memcmp(dec, want, FAST_MAC_LEN)) {
				conn_fail(c, "fast-bad-server-hmac");
				return;
			}
		}
		if (opt.sasl2) {
			sasl2_success(c, e, len);
			return;
		}
		c->depth = 0;       /* the server's new header follows */
		send_header(c);
		c->st = ST_HEADER2;
		return;
	}
	conn_fail(c, "unexpected-sasl-element");
}

/* Answer IQ get/set from the server: pings (and roster pushes) get a result,
 * anything else service-unavailable. */
static void answer_iq(struct conn *c, const char *e, size_t len)
{
	char type[16], id[128], from[300];
	size_t cl;
	if (el_attr(e, len, "type", type, sizeof type) < 0 ||
	    (strcmp(type, "get") && strcmp(type, "set")))
		return;
	if (el_attr(e, len, "id", id, sizeof id) < 0)
		id[0] = 0;
	if (el_attr(e, len, "from", from, sizeof from) < 0)
		from[0] = 0;
	if (el_child(e, len, "ping", &cl) || el_child(e, len, "query", &cl))
		stanza_printf(c, "<iq type='result' id='%s'%s%s%s/>", id,
		    from[0] ? " to='" : "", from, from[0] ? "'" : "");
	else
		stanza_printf(c, "<iq type='error' id='%s'%s%s%s><error type='cancel'>"
		    "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
		    id, from[0] ? " to='" : "", from, from[0] ? "'" : "");
}

static void on_element(struct conn *c, const char *e, size_t len)
{
	char name[64];
	el_name(e, len, name, sizeof name);
	if (!strcmp(name, "error") && (e[1] == 's' && !strncmp(e, "<stream:error", 13))) {
		char cond[64] = "?", why[100];
		const char *ch = memchr(e, '>', len);
		if (ch && (ch = memchr(ch, '<', (size_t)(e + len - ch))) && ch[1] != '/')
			el_name(ch, (size_t)(e + len - ch), cond, sizeof cond);
		snprintf(why, sizeof why, "stream-error-%s", cond);
		conn_fail(c, why);
		return;
	}
	if (sm_element(c, e, len, name))
		return;
	if (c->sm_on && (!strcmp(name, "message") || !strcmp(name, "presence") || !strcmp(name, "iq")))
		c->sm_in++;
	switch (c->st) {
	case ST_FEATURES:
	case ST_FEATURES2:
		if (!strcmp(name, "features"))
			on_features(c, e, len);
		else
			conn_fail(c, "expected-features");
		return;
	case ST_AUTH:
	case ST_SCRAM_FINAL:
		on_sasl(c, e, len, name);
		return;
	case ST_BIND:
	case ST_SESSION:
	case ST_SM_ENABLE:
	case ST_RESUME: {
		char id[32], type[16];
		if (strcmp(name, "iq") || el_attr(e, len, "id", id, sizeof id) < 0) {
			if (!strcmp(name, "iq"))
				answer_iq(c, e, len);
			return;  /* something else early: ignore */
		}
		if (el_attr(e, len, "type", type, sizeof type) < 0)
			type[0] = 0;
		if (c->st == ST_BIND && !strcmp(id, "b1")) {
			if (strcmp(type, "result")) {
				conn_fail(c, "bind-error");
				return;
			}
			{
				size_t jl;
				const char *j = el_child(e, len, "jid", &jl);
				if (!j || el_text(j, jl, c->full, sizeof c->full) < 0)
					c->full[0] = 0;
			}
			login_bound(c);
			if (c->need_session) {
				out_printf(c, "<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
				c->st = ST_SESSION;
			} else {
				session_ready(c);
			}
		} else if (c->st == ST_SESSION && !strcmp(id, "s1")) {
			if (strcmp(type, "result")) {
				conn_fail(c, "session-error");
				return;
			}
			session_ready(c);
		} else {
			answer_iq(c, e, len);
		}
		return;
	}
	case ST_ECHO:
		if (!strcmp(name, "message")) {
			char id[16], type[16];
			if (el_attr(e, len, "id", id, sizeof id) < 0 || strcmp(id, "echo"))
				return;  /* not ours */
			if (el_attr(e, len, "type", type, sizeof type) == 0 && !strcmp(type, "error"))
				conn_fail(c, "echo-error");
			else
				echo_arrived(c);
		} else if (!strcmp(name, "iq")) {
			answer_iq(c, e, len);
		}
		return;
	case ST_ONLINE:
	case ST_CLOSING:
		if (!strcmp(name, "iq")) {
			answer_iq(c, e, len);
			/* results and errors: the scenario's own IQs */
			if (scen == SC_ROOM && c->st == ST_ONLINE)
				scenario_stanza(c, e, len, name);
			return;
		}
		if (c->st == ST_ONLINE)
			scenario_stanza(c, e, len, name);
		return;
	default:
		return;
	}
}

static void on_stream_open(struct conn *c)
{
	if (c->st == ST_HEADER)
		c->st = ST_FEATURES;
	else if (c->st == ST_HEADER2)
		c->st = ST_FEATURES2;
}

static void on_stream_close(struct conn *c)
{
	if (c->st == ST_CLOSING) {
		c->st = ST_DONE;
		finished++;
		conn_close(c);
	} else {
		conn_fail(c, "stream-closed-by-server");
	}
}

/* Cut the input into top-level elements. */
static void scan(struct conn *c)
{
	size_t keep;
	while (c->fd >= 0 && c->pos < c->inlen) {
		char ch = c->in[c->pos];
		if (!c->intag) {
			if (ch == '<') {
				c->intag = 1;
				c->quote = 0;
				c->tagstart = c->pos;
			}
			c->pos++;
			continue;
		}
		if (c->quote) {
			if (ch == c->quote)
				c->quote = 0;
			c->pos++;
			continue;
		}
		if ((ch == '\'' || ch == '"') && c->in[c->tagstart + 1] != '!') {
			c->quote = ch;
			c->pos++;
			continue;
		}
		if (ch != '>') {
			c->pos++;
			continue;
		}
		c->intag = 0;
		c->pos++;
		{
			char k = c->in[c->tagstart + 1];
			if (k == '?' || k == '!')
				continue;            /* declaration, comment */
			if (k == '/') {
				c->depth--;
				if (c->depth == 1)
					on_element(c, c->in + c->elemstart, c->pos - c->elemstart);
				else if (c->depth <= 0) {
					c->depth = 0;
					on_stream_close(c);
				}
			} else if (c->in[c->pos - 2] == '/') {
				if (c->depth == 1)
					on_element(c, c->in + c->tagstart, c->pos - c->tagstart);
				else if (c->depth == 0)
					conn_fail(c, "empty-stream");
			} else {
				if (c->depth == 0) {
					c->depth = 1;
					on_stream_open(c);
				} else {
					if (c->depth == 1)
						c->elemstart = c->tagstart;
					c->depth++;
				}
			}
		}
	}
	if (c->fd < 0 || !c->in)
		return;
	/* keep only what a pending element still needs */
	keep = c->depth >= 2 ? c->elemstart : c->intag ? c->tagstart : c->pos;
	if (keep > 0) {
		memmove(c->in, c->in + keep, c->inlen - keep);
		c->inlen -= keep;
		c->pos -= keep;
		if (c->tagstart >= keep)
			c->tagstart -= keep;
		if (c->elemstart >= keep)
			c->elemstart -= keep;
	}
}

/* ---- WebSocket (RFC 6455, RFC 7395) ---- */

/* The upgrade request; the server's answer must carry what we compute
 * here as Sec-WebSocket-Accept (RFC 6455 4.1, 4.2.2). */
static void ws_request(struct conn *c)
{
	unsigned char key[WS_KEY_BYTES], digest[SHA_DIGEST_LENGTH];
	char key64[WS_ACCEPT_MAX], both[WS_ACCEPT_MAX + sizeof WS_GUID];
	if (RAND_bytes(key, sizeof key) != 1)
		die("RAND_bytes");
	b64enc(key, sizeof key, key64);
	snprintf(both, sizeof both, "%s%s", key64, WS_GUID);
	SHA1((const unsigned char *)both, strlen(both), digest);
	b64enc(digest, sizeof digest, c->ws_accept);
	out_printf(c, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: xmpp\r\n\r\n", opt.ws_path, opt.host, opt.port, key64);
}

/* Does the comma-separated header value list token (case-insensitive)? */
static int ws_has_token(const char *v, size_t vlen, const char *token)
{
	size_t tl = strlen(token);
	while (vlen) {
		size_t n = 0;
		while (vlen && (*v == ' ' || *v == '\t' || *v == ','))
			v++, vlen--;
		while (n < vlen && v[n] != ',')
			n++;
		{
			size_t m = n;
			while (m && (v[m - 1] == ' ' || v[m - 1] == '\t'))
				m--;
			if (m == tl && !strncasecmp(v, token, tl))
				return 1;
		}
		v += n;
		vlen -= n;
	}
	return 0;
}

/* The server's answer to the upgrade, in c->in: 0 while incomplete, 1 when
 * it was 101 with the right headers (then removed from c->in, and the
 * stream opened), -1 when the connection failed. */
static int ws_answer(struct conn *c)
{
	const char *end = mem_find(c->in, c->inlen, "\r\n\r\n"), *line, *next;
	int upgrade = 0, connection = 0, accept = 0, protocol = 0;
	size_t head;
	if (!end) {
		if (c->inlen > WS_HEAD_MAX) {
			conn_fail(c, "ws-answer-too-long");
			return -1;
		}
		return 0;
	}
	head = (size_t)(end - c->in) + 4;
	if (head < 13 || strncmp(c->in, "HTTP/1.1 ", 9)) {
		conn_fail(c, "ws-answer-not-http");
		return -1;
	}
	if (strncmp(c->in + 9, "101", 3)) {
		char why[32];
		snprintf(why, sizeof why, "ws-upgrade-status-%.3s", c->in + 9);
		conn_fail(c, why);
		return -1;
	}
	for (line = memchr(c->in, '\n', head) + 1; line < end; line = next + 2) {
		const char *colon, *v;
		size_t vlen;
		next = mem_find(line, (size_t)(end + 2 - line), "\r\n");
		colon = memchr(line, ':', (size_t)(next - line));
		if (!colon)
			continue;
		for (v = colon + 1; v < next && (*v == ' ' || *v == '\t'); v++)
			;
		vlen = (size_t)(next - v);
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
#define HDR(name) ((size_t)(colon - line) == sizeof name - 1 && !strncasecmp(line, name, sizeof name - 1))
		if (HDR("Upgrade"))
			upgrade = ws_has_token(v, vlen, "websocket");
		else if (HDR("Connection"))
			connection = ws_has_token(v, vlen, "upgrade");
		else if (HDR("Sec-WebSocket-Accept"))
			accept = vlen == strlen(c->ws_accept) && !memcmp(v, c->ws_accept, vlen);
		else if (HDR("Sec-WebSocket-Protocol"))
			protocol = vlen == 4 && !memcmp(v, "xmpp", 4);
#undef HDR
	}
	if (!upgrade || !connection || !accept || !protocol) {
		conn_fail(c, !accept ? "ws-bad-accept" : !protocol ? "ws-no-xmpp-protocol" : "ws-bad-upgrade");
		return -1;
	}
	memmove(c->in, c->in + head, c->inlen - head);
	c->inlen -= head;
	c->ws_up = 1;
	c->st = ST_HEADER;
	send_header(c);
	return 1;
}

/* One whole message from the server: one element (RFC 7395 3.3.3), the
 * framing's <open/> and <close/> standing for the stream's ends. */
static void ws_message(struct conn *c, const char *p, size_t len)
{
	char name[64];
	while (len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++, len--;
	if (!len)
		return;
	if (*p != '<') {
		conn_fail(c, "ws-not-an-element");
		return;
	}
	el_name(p, len, name, sizeof name);
	if (!strcmp(name, "open") && mem_find(p, len, NS_FRAMING))
		on_stream_open(c);
	else if (!strcmp(name, "close") && mem_find(p, len, NS_FRAMING))
		on_stream_close(c);
	else
		on_element(c, p, len);
}

/* The server's close frame: answered with one (its status code echoed),
 * and the connection ended: done if we were leaving, failed if not. */
static void ws_on_close(struct conn *c, const unsigned char *p, size_t len)
{
	char why[32];
	unsigned code = len >= 2 ? (unsigned)p[0] << 8 | p[1] : 1005;
	ws_frame(c, WS_OP_CLOSE, (const char *)p, len >= 2 ? 2 : 0);
	flush_conn(c);
	if (c->st == ST_CLOSING) {
		c->st = ST_DONE;
		finished++;
		conn_close(c);
		return;
	}
	snprintf(why, sizeof why, "ws-closed-%u", code);
	conn_fail(c, why);
}

/* One frame from the server (unmasked: RFC 6455 5.1). */
static void ws_on_frame(struct conn *c, int fin, int op, const unsigned char *p, size_t len)
{
	if (op >= WS_OP_CLOSE && (!fin || len > WS_CONTROL_MAX)) {
		conn_fail(c, "ws-bad-control-frame");
		return;
	}
	switch (op) {
	case WS_OP_TEXT:
	case WS_OP_CONT:
		if ((op == WS_OP_CONT) != (c->ws_frag != 0)) {
			conn_fail(c, op == WS_OP_CONT ? "ws-stray-continuation" : "ws-interleaved-message");
			return;
		}
		if (fin && !c->ws_frag) {
			ws_message(c, (const char *)p, len);
			return;
		}
		if (c->msglen + len > MAX_IN) {
			conn_fail(c, "element-too-large");
			return;
		}
		if (c->msglen + len > c->msgcap) {
			size_t cap = c->msgcap ? c->msgcap : READ_CHUNK;
			while (cap < c->msglen + len)
				cap *= 2;
			c->msg = realloc(c->msg, cap);
			if (!c->msg)
				die("realloc");
			c->msgcap = cap;
		}
		memcpy(c->msg + c->msglen, p, len);
		c->msglen += len;
		c->ws_frag = !fin;
		if (fin) {
			size_t n = c->msglen;
			c->msglen = 0;
			ws_message(c, c->msg, n);
		}
		return;
	case WS_OP_CLOSE:
		ws_on_close(c, p, len);
		return;
	case WS_OP_PING:
		ws_frame(c, WS_OP_PONG, (const char *)p, len);
		return;
	case WS_OP_PONG:
		return;
	case WS_OP_BINARY:
		conn_fail(c, "ws-binary-frame");
		return;
	default:
		conn_fail(c, "ws-bad-opcode");
		return;
	}
}

/* What was read, over WebSocket: the upgrade's answer, then frames. */
static void ws_scan(struct conn *c)
{
	size_t off = 0;
	if (!c->ws_up && ws_answer(c) <= 0)
		return;
	while (c->fd >= 0 && c->inlen - off >= 2) {
		const unsigned char *h = (const unsigned char *)c->in + off;
		size_t avail = c->inlen - off, hl = 2, len = h[1] & 0x7f, i;
		if (h[0] & 0x70 || h[1] & 0x80) {
			conn_fail(c, h[1] & 0x80 ? "ws-masked-server-frame" : "ws-reserved-bits");
			return;
		}
		if (len == 126)
			hl = 4;
		else if (len == 127)
			hl = 10;
		if (avail < hl)
			break;
		if (hl > 2)
			for (len = 0, i = 2; i < hl; i++)
				len = len << 8 | h[i];
		if (len > MAX_IN) {
			conn_fail(c, "ws-frame-too-large");
			return;
		}
		if (avail - hl < len)
			break;
		off += hl + len;
		ws_on_frame(c, h[0] & 0x80, h[0] & 0x0f, h + hl, len);
	}
	if (c->fd < 0 || !c->in)
		return;
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
}

static void on_readable(struct conn *c)
{
	for (;;) {
		ssize_t r;
		if (c->incap - c->inlen < READ_CHUNK) {
			size_t cap = c->incap ? c->incap * 2 : READ_CHUNK * 2;
			if (cap > MAX_IN + READ_CHUNK) {
				conn_fail(c, "element-too-large");
				return;
			}
			c->in = realloc(c->in, cap);
			if (!c->in)
				die("realloc");
			c->incap = cap;
		}
		r = sock_read(c, c->in + c->inlen, c->incap - c->inlen);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			conn_fail(c, c->st == ST_CLOSING ? "reset-at-close" : "read-error");
			return;
		}
		if (r == 0) {
			if (c->st == ST_CLOSING) {
				c->st = ST_DONE;
				finished++;
				conn_close(c);
			} else {
				conn_fail(c, "eof");
			}
			return;
		}
		c->inlen += (size_t)r;
		if (opt.ws_path)
			ws_scan(c);
		else
			scan(c);
		if (c->fd < 0)
			return;
		if ((size_t)r < READ_CHUNK && !c->ssl)
			return;          /* TLS: SSL_read gives a record at a time */
	}
}

static void conn_start(struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
	struct epoll_event e;
	int one = 1;

	if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1) {
		fprintf(stderr, "xmppload: bad host %s (an IPv4 address)\n", opt.host);
		exit(100);
	}
	c->depth = c->intag = 0;     /* a connection may be started again (resume) */
	c->quote = 0;
	c->pos = c->tagstart = c->elemstart = 0;
	c->bound2 = 0;
	c->full[0] = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->t_start = now_ns();
	if (!t_first_connect)
		t_first_connect = c->t_start;
	c->st = ST_CONNECTING;
	started++;
	active_logins++;
	if (c->fd < 0) {
		conn_fail(c, errno == EMFILE || errno == ENFILE ? "too-many-files" : "socket");
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (opt.srcaddrs > 1) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(c->idx % opt.srcaddrs));
#ifdef IP_BIND_ADDRESS_NO_PORT
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
		if (bind(c->fd, (struct sockaddr *)&src, sizeof src) == -1) {
			close(c->fd);
			c->fd = -1;
			conn_fail(c, "bind-source");
			return;
		}
	}
	e.events = EPOLLOUT;
	e.data.u32 = (uint32_t)c->idx;
	c->ev = EPOLLOUT;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &e) == -1)
		die("epoll_ctl ADD");
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == -1 && errno != EINPROGRESS) {
		conn_fail(c, "connect");
		return;
	}
}

/* The first thing the client says on the stream it has: the WebSocket
 * upgrade, or the stream header. */
static void stream_begin(struct conn *c)
{
	if (opt.ws_path) {
		c->st = ST_UPGRADE;
		ws_request(c);
	} else {
		c->st = ST_HEADER;
		send_header(c);
	}
}

/* Direct TLS (XEP-0368): the handshake goes on as the socket allows;
 * once it is done the stream begins (in TLS 1.3 in the flight of our
 * Finished). The certificate is not checked: the bench's own, on
 * loopback. */
static void tls_step(struct conn *c)
{
	int r;
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		snprintf(tls_version, sizeof tls_version, "%s", SSL_get_version(c->ssl));
		set_events(c, EPOLLIN);
		stream_begin(c);
	} else if (tls_errno(c, r) != EAGAIN) {
		conn_fail(c, "tls-handshake");
	} else {
		set_events(c, SSL_want_write(c->ssl) ? EPOLLIN | EPOLLOUT : EPOLLIN);
	}
}

static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t l = sizeof err;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err) {
		errno = err;
		conn_fail(c, err == ECONNREFUSED ? "connection-refused" : "connect-error");
		return;
	}
	set_events(c, EPOLLIN);
	c->rt = 1;                   /* SYN, SYN-ACK */
	c->rt_mark = c->wbytes = 0;
	if (!opt.tls) {
		stream_begin(c);
		return;
	}
	if (!(c->ssl = SSL_new(tls_ctx)) || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, opt.domain) != 1) {
		conn_fail(c, "tls-setup");
		return;
	}
	BIO_set_callback_arg(SSL_get_rbio(c->ssl), (char *)c);
	BIO_set_callback_ex(SSL_get_rbio(c->ssl), tls_bio_cb);
	SSL_set_connect_state(c->ssl);
	c->st = ST_TLS;
	tls_step(c);
}

/* Send </stream:stream> (WebSocket: <close/>); the connection ends when
 * the server closes. */
static void conn_end(struct conn *c)
{
	if (c->st != ST_ONLINE)
		return;
	online--;
	if (c->ws_up)
		out_printf(c, "<close xmlns='" NS_FRAMING "'/>");
	else
		out_printf(c, "</stream:stream>");
	c->st = ST_CLOSING;
}

/* ---- scenarios ---- */

/* messages */
static long msg_sent, msg_recvd, msg_errors, msg_stray, msg_old;
static unsigned run_tag;     /* tells this run's messages from older ones */
static struct samples msg_lat;
static int sending;
static long seq_counter;

static void send_chat(struct conn *c)
{
	char to[128];
	struct conn *p = &conns[c->peer];
	user_name(p->user, to, sizeof to);
	seq_counter++;
	stanza_printf(c, "<message to='%s@%s' type='chat' id='m%ld'><body>xl %08x %d %ld %" PRId64 "</body></message>",
	    to, opt.domain, seq_counter, run_tag, c->idx, seq_counter, now_ns());
	c->sent++;
	c->inflight++;
	msg_sent++;
}

/* fanout */
static int fo_phase;        /* 0 setup, 1 single rounds, 2 storms, 3 done */
static int fo_round;
static long fo_expect, fo_got;
static int64_t fo_t0, fo_tlast;
static struct samples fo_single, fo_single_first;
static long fo_single_missing, fo_storm_missing, fo_initial;
static long fo_presences;   /* every available presence received */
static double fo_storm_rates[64], fo_storm_ms[64];
static int fo_nstorms;
static char fo_tag;         /* 'o' one, 's' storm */

/* room */
#define ROOM_SENDERS_MAX 16
#define NS_MUC "http://jabber.org/protocol/muc"
#define ROOM_SETUP_SECS 60       /* joins, the owner form, the presence flood */
struct room_msg {
	int64_t t_sent;
	int sender, got;
	int done;                    /* 0 in flight, 1 reached all, 2 error, 3 timed out */
};
static char room_jid[300];
static struct room_msg *room_msgs;   /* by sequence number, 1 .. room_nmsgs */
static long room_nmsgs, room_cap, room_oldest = 1;
static int room_n;                   /* occupants every message must reach */
static int room_sending, room_joins_open, room_joined, room_join_failed;
static long room_completed, room_errors, room_timedout, room_dups, room_disorder;
static long room_stray, room_old, room_receipts, room_presences;
static char room_join_error[64], room_msg_error[64];
static char owner_form[64];          /* "" no answer yet, "result" or the error's condition */
static struct samples room_lat, room_first, room_join_lat;
static int64_t room_t_last_done, room_t_last_join;

/* The defined condition of a stanza error: the first child of <error/>
 * other than <text/>. */
static void error_condition(const char *e, size_t len, char *out, size_t outsz)
{
	size_t cl;
	const char *er = el_child(e, len, "error", &cl), *end, *p;
	snprintf(out, outsz, "error");
	if (!er)
		return;
	end = er + cl;
	p = memchr(er, '>', cl);
	if (!p || p[-1] == '/')
		return;
	while ((p = memchr(p + 1, '<', (size_t)(end - p - 1))) != NULL) {
		if (p[1] == '/')
			return;             /* </error>: no condition */
		el_name(p, (size_t)(end - p), out, outsz);
		if (strcmp(out, "text"))
			return;
	}
	snprintf(out, outsz, "error");
}

/* Ask to enter the room as our user name, without history (XEP-0045 7.2). */
static void room_join(struct conn *c)
{
	char nick[128];
	user_name(c->user, nick, sizeof nick);
	c->t_join = now_ns();
	room_joins_open++;
	stanza_printf(c, "<presence to='%s/%s'><x xmlns='" NS_MUC "'><history maxstanzas='0'/></x></presence>",
	    room_jid, nick);
}

static void room_send(struct conn *c)
{
	struct room_msg *m;
	if (opt.room_max && room_nmsgs >= opt.room_max)
		return;
	if (room_nmsgs + 1 >= room_cap) {
		room_cap = room_cap ? room_cap * 2 : 65536;
		room_msgs = realloc(room_msgs, (size_t)room_cap * sizeof *room_msgs);
		if (!room_msgs)
			die("realloc");
	}
	m = &room_msgs[++room_nmsgs];
	m->t_sent = now_ns();
	m->sender = c->idx;
	m->got = m->done = 0;
	stanza_printf(c, "<message to='%s' type='groupchat' id='r%ld'><body>xl %08x %d %ld</body></message>",
	    room_jid, room_nmsgs, run_tag, c->idx, room_nmsgs);
	c->sent++;
	c->inflight++;
}

/* A message is over (how: reached all, error, timed out): its sender may
 * send the next. */
static void room_msg_end(long seq, int how)
{
	struct conn *s;
	if (room_msgs[seq].done)
		return;
	room_msgs[seq].done = how;
	if (how == 3)
		room_timedout++;
	s = &conns[room_msgs[seq].sender];
	s->inflight--;
	if (room_sending && s->st == ST_ONLINE)
		room_send(s);
}

/* Messages that did not reach every occupant within opt.drain seconds. */
static void room_sweep(void)
{
	int64_t t = now_ns(), limit = (int64_t)(opt.drain * 1e9);
	while (room_oldest <= room_nmsgs) {
		if (!room_msgs[room_oldest].done) {
			if (t - room_msgs[room_oldest].t_sent < limit)
				break;
			room_msg_end(room_oldest, 3);
		}
		room_oldest++;
	}
}

static void room_stanza(struct conn *c, const char *e, size_t len, const char *name, const char *type)
{
	char from[300], buf[200];
	size_t rl = strlen(room_jid), cl;
	const char *ch;

	if (!strcmp(name, "iq")) {
		char id[32];
		if (el_attr(e, len, "id", id, sizeof id) == 0 && !strcmp(id, "own1") && !owner_form[0]) {
			if (!strcmp(type, "result"))
				snprintf(owner_form, sizeof owner_form, "result");
			else
				error_condition(e, len, owner_form, sizeof owner_form);
		}
		return;
	}
	if (!strcmp(name, "presence")) {
		char nick[128];
		if (el_attr(e, len, "from", from, sizeof from) < 0 || strncmp(from, room_jid, rl) ||
		    from[rl] != '/')
			return;
		if (!strcmp(type, "error")) {
			if (c->t_join && !c->joined) {
				c->joined = -1;
				room_joins_open--;
				room_join_failed++;
				if (!room_join_error[0])
					error_condition(e, len, room_join_error, sizeof room_join_error);
			}
			return;
		}
		if (type[0])
			return;         /* unavailable */
		room_presences++;
		c->pres_in++;
		user_name(c->user, nick, sizeof nick);
		if (!c->joined && c->t_join && !strcmp(from + rl + 1, nick) &&
		    (mem_find(e, len, "code='110'") || mem_find(e, len, "code=\"110\""))) {
			c->joined = 1;
			room_joins_open--;
			room_joined++;
			room_t_last_join = now_ns();
			samples_add(&room_join_lat, room_t_last_join - c->t_join);
		}
		return;
	}
	if (strcmp(name, "message"))
		return;
	if (!strcmp(type, "error")) {
		char id[32];
		long seq;
		room_errors++;
		if (!room_msg_error[0])
			error_condition(e, len, room_msg_error, sizeof room_msg_error);
		if (el_attr(e, len, "id", id, sizeof id) == 0 && sscanf(id, "r%ld", &seq) == 1 &&
		    seq >= 1 && seq <= room_nmsgs)
			room_msg_end(seq, 2);
		return;
	}
	ch = el_child(e, len, "body", &cl);
	if (!ch) {
		return;             /* the subject, a chat state ... */
	}
	{
		unsigned tag;
		int sender;
		long seq;
		int64_t t = now_ns();
		struct room_msg *m;
		if (strcmp(type, "groupchat") || el_text(ch, cl, buf, sizeof buf) < 0 ||
		    sscanf(buf, "xl %x %d %ld", &tag, &sender, &seq) != 3) {
			room_stray++;
			return;
		}
		if (tag != run_tag) {
			room_old++;
			return;
		}
		if (sender < 0 || sender >= opt.senders || seq < 1 || seq > room_nmsgs ||
		    room_msgs[seq].sender != sender) {
			room_stray++;
			return;
		}
		/* one room, one order: what a sender sent later comes later */
		if (seq <= c->room_last[sender])
			room_disorder++;
		else
			c->room_last[sender] = seq;
		room_receipts++;
		m = &room_msgs[seq];
		if (++m->got == 1)
			samples_add(&room_first, t - m->t_sent);
		if (m->got > room_n)
			room_dups++;
		if (m->got == room_n && !m->done) {
			samples_add(&room_lat, t - m->t_sent);
			room_completed++;
			room_t_last_done = t;
			room_msg_end(seq, 1);
		}
	}
}

static void scenario_online(struct conn *c)
{
	(void)c;
	if (scen == SC_LOGIN && !opt.hold)
		conn_end(c);
}

static void scenario_stanza(struct conn *c, const char *e, size_t len, const char *name)
{
	char type[16] = "", buf[200];
	size_t cl;
	const char *ch;

	if (el_attr(e, len, "type", type, sizeof type) < 0)
		type[0] = 0;
	if ((scen == SC_MESSAGES || scen == SC_SM) && !strcmp(name, "message")) {
		int from;
		long seq;
		int64_t t;
		unsigned tag;
		if (!strcmp(type, "error")) {
			msg_errors++;
			return;
		}
		ch = el_child(e, len, "body", &cl);
		if (!ch || el_text(ch, cl, buf, sizeof buf) < 0 ||
		    sscanf(buf, "xl %x %d %ld %" SCNd64, &tag, &from, &seq, &t) != 4 ||
		    from < 0 || from >= nconns) {
			msg_stray++;
			return;
		}
		if (tag != run_tag) {
			/* sent by an earlier run, kept for the user (offline or
			 * routed again by the server): not this run's traffic */
			msg_old++;
			return;
		}
		msg_recvd++;
		c->recvd++;
		samples_add(&msg_lat, now_ns() - t);
		{
			struct conn *s = &conns[from];
			s->inflight--;
			if (sending && s->st == ST_ONLINE)
				send_chat(s);
		}
		return;
	}
	if (scen == SC_ROOM) {
		room_stanza(c, e, len, name, type);
		return;
	}
	if (scen == SC_FANOUT && !strcmp(name, "presence")) {
		char tag;
		int round, sender;
		if (type[0])
			return;         /* unavailable, subscribe, error ... */
		fo_presences++;
		ch = el_child(e, len, "status", &cl);
		if (!ch || el_text(ch, cl, buf, sizeof buf) < 0 || sscanf(buf, "f%c %d %d", &tag, &round, &sender) != 3) {
			/* initial presence: count what comes from contacts, not our own echo */
			char from[300], me[128];
			size_t ml;
			user_name(c->user, me, sizeof me);
			ml = strlen(me);
			if (el_attr(e, len, "from", from, sizeof from) == 0 &&
			    !(strncmp(from, me, ml) == 0 && from[ml] == '@')) {
				c->pres_in++;
				fo_initial++;
			}
			return;
		}
		if (sender == c->idx || tag != fo_tag || round != fo_round)
			return;
		fo_got++;
		fo_tlast = now_ns();
		if (fo_tag == 'o' && fo_got == 1)
			samples_add(&fo_single_first, fo_tlast - fo_t0);
		return;
	}
}

/* ---- main loop ---- */

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: xmppload login|messages|idle|fanout|sm|resume|room [options]\n"
	    "  -H HOST      server IPv4 address (127.0.0.1)\n"
	    "  -p PORT      server port (5222)\n"
	    "  -d DOMAIN    XMPP domain (localhost)\n"
	    "  -u PATTERN   user name pattern with %%d (user%%d)\n"
	    "  -w PASSWORD  password of every user (secret)\n"
	    "  -m MECH      plain, scram-sha-1 or auto (plain)\n"
	    "  -r RESOURCE  resource to bind (xl)\n"
	    "  -f FIRST     number of the first user (1)\n"
	    "  -n N         clients (login, idle, resume); room: occupants\n"
	    "  -c C         logins in progress at a time (50)\n"
	    "  -P PAIRS     messages, sm: pairs of users (50)\n"
	    "  -W WINDOW    messages, sm, room: messages in flight per sender (10)\n"
	    "  -T SECONDS   messages, sm, room: sending time; idle: longest hold (10)\n"
	    "  -D SECONDS   messages, sm: drain time after sending; room: what a\n"
	    "               message may take to reach every occupant (3)\n"
	    "  -M DOMAIN    room: the conference domain (conference.localhost)\n"
	    "  -s S         room: occupants that send, the first S (1, at most 16)\n"
	    "  -N M         room: messages to send at most, 0 no limit (0)\n"
	    "  -K K         fanout: contacts per user, group size K+1 (50)\n"
	    "  -G G         fanout: groups (4)\n"
	    "  -R R         fanout: single-change rounds (20)\n"
	    "  -S S         fanout: storms (3)\n"
	    "  -A N         use source addresses 127.0.0.1 .. 127.0.0.N (1)\n"
	    "  -k           login: keep every connection until the end\n"
	    "  -t SECONDS   give up a login this long after its connect (30)\n"
	    "  -l LABEL     label printed as server= (-)\n"
	    "  -a A         sm, resume: send <r/> after every A stanzas, 0 never (5)\n"
	    "  -x PATH      XMPP over WebSocket (RFC 7395): upgrade at this HTTP path\n"
	    "               (e.g. /xmpp-websocket) instead of plain TCP\n"
	    "  -E           direct TLS (XEP-0368) from the TCP connect on (certificate\n"
	    "               not checked)\n"
	    "  -2           SASL2 (XEP-0388) with Bind2 (XEP-0386): no restart, no bind IQ\n"
	    "  -F           login: FAST (XEP-0484, implies -2): a token at a first,\n"
	    "               untimed login with -m, then the logins with " FAST_MECH "\n"
	    "  -e           after the bind, presence and a message to our full JID in\n"
	    "               one flight; the login ends when the message arrives\n");
	exit(code);
}

static void raise_nofile(int need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need + 16)
		fprintf(stderr, "xmppload: warning: RLIMIT_NOFILE %llu < %d connections\n",
		    (unsigned long long)rl.rlim_cur, need);
}

/* One pass of the event loop, waiting at most ms. */
static void loop_once(int ms)
{
	struct epoll_event ev[256];
	int n, i;
	flush_dirty();
	n = epoll_wait(epfd, ev, 256, ms);
	if (n < 0) {
		if (errno == EINTR)
			return;
		die("epoll_wait");
	}
	for (i = 0; i < n; i++) {
		struct conn *c = &conns[ev[i].data.u32];
		if (c->fd < 0)
			continue;
		if (c->st == ST_CONNECTING) {
			if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				on_connected(c);
			continue;
		}
		if (c->st == ST_TLS) {
			tls_step(c);
			continue;
		}
		if (ev[i].events & EPOLLOUT)
			flush_conn(c);
		if (c->fd >= 0 && (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			on_readable(c);
	}
	flush_dirty();
}

/* Start logins until C are in progress; fail those stuck past the timeout. */
static int64_t last_sweep;
static void drive_logins(int total)
{
	int64_t t = now_ns();
	while (started < total && active_logins < opt.conc) {
		if (conns[started].st == ST_DONE)
			started++;      /* nothing to start again (resume) */
		else
			conn_start(&conns[started]);
	}
	if (t - last_sweep > 500000000LL) {
		int i;
		last_sweep = t;
		for (i = 0; i < started; i++)
			if (in_login(&conns[i]) &&
			    t - conns[i].t_start > (int64_t)(opt.login_timeout * 1e9))
				conn_fail(&conns[i], "login-timeout");
	}
}

/* Log in `total` connections (C at a time); returns when all are online or failed. */
static void login_all(int total, int64_t deadline)
{
	while (started < total || active_logins > 0) {
		drive_logins(total);
		loop_once(20);
		if (got_signal || now_ns() > deadline)
			break;
	}
}

/* Close every online connection and wait up to ms for the server to close. */
static void end_all(int ms)
{
	int i;
	int64_t deadline = now_ns() + (int64_t)ms * 1000000;
	for (i = 0; i < nconns; i++)
		if (conns[i].st == ST_ONLINE)
			conn_end(&conns[i]);
		else if (in_login(&conns[i]) && conns[i].fd >= 0)
			conn_fail(&conns[i], "unfinished-at-end");
	for (;;) {
		int open = 0;
		for (i = 0; i < nconns; i++)
			if (conns[i].fd >= 0)
				open++;
		if (!open || now_ns() > deadline)
			break;
		loop_once(20);
	}
	for (i = 0; i < nconns; i++)
		if (conns[i].fd >= 0) {
			conns[i].st = ST_DONE;
			conn_close(&conns[i]);
		}
}

static void print_login_stats(const char *scenario, int total)
{
	double secs = t_last_bound > t_first_connect ? (double)(t_last_bound - t_first_connect) / 1e9 : 0;
	int ok = (int)login_lat.n;
	samples_sort(&login_lat);
	printf("scenario=%s server=%s mech=%s n=%d c=%d ok=%d failed=%d secs=%.3f rate=%.1f "
	    "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f",
	    scenario, opt.label, mech_name(opt.fast ? MECH_FAST : opt.mech), total, opt.conc, ok, failed_n, secs,
	    secs > 0 ? ok / secs : 0, pct_ms(&login_lat, 50), pct_ms(&login_lat, 90),
	    pct_ms(&login_lat, 99), pct_ms(&login_lat, 100));
	/* the path, and its round trips: all logins take the same, unless
	 * the server split an answer (min < max says so) */
	samples_sort(&rt_bound_s);
	printf(" path=%s tls=%s rt_bound=%" PRId64 " rt_bound_min=%" PRId64 " rt_bound_max=%" PRId64,
	    opt.fast ? "fast" : opt.sasl2 ? "sasl2" : "rfc6120", tls_version, pct(&rt_bound_s, 50),
	    pct(&rt_bound_s, 0), pct(&rt_bound_s, 100));
	if (opt.echo) {
		double es = t_last_echo > t_first_connect ? (double)(t_last_echo - t_first_connect) / 1e9 : 0;
		samples_sort(&echo_lat);
		samples_sort(&rt_echo_s);
		printf(" echo_ok=%zu echo_rate=%.1f echo_p50_ms=%.2f echo_p99_ms=%.2f rt_echo=%" PRId64
		    " rt_echo_min=%" PRId64 " rt_echo_max=%" PRId64,
		    echo_lat.n, es > 0 ? (double)echo_lat.n / es : 0, pct_ms(&echo_lat, 50),
		    pct_ms(&echo_lat, 99), pct(&rt_echo_s, 50), pct(&rt_echo_s, 0), pct(&rt_echo_s, 100));
	}
	if (opt.fast)
		printf(" tokens=%d token_logins_failed=%d", tokens_got, token_logins_failed);
}

static void print_tail(void)
{
	printf(" transport=%s client_cpu_s=%.2f pbkdf2=%ld first_error=%s\n",
	    opt.ws_path ? "ws" : "tcp", cpu_secs(), pbkdf2_calls, first_error[0] ? first_error : "none");
	fflush(stdout);
}

/* A user agent id (XEP-0388) in a UUID's form, the same for a user in
 * every run: FAST tokens are bound to it (one client per user, not a new
 * one per run in the server's records), and Bind2 derives the resource
 * from it. */
static void agent_id(int user, char *out, size_t outsz)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	char u[128], in[400];
	user_name(user, u, sizeof u);
	snprintf(in, sizeof in, "xmppload %s@%s", u, opt.domain);
	SHA256((const unsigned char *)in, strlen(in), d);
	d[6] = (unsigned char)((d[6] & 0x0f) | 0x40);     /* version 4 */
	d[8] = (unsigned char)((d[8] & 0x3f) | 0x80);     /* RFC 4122 variant */
	snprintf(out, outsz, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13],
	    d[14], d[15]);
}

static void alloc_conns(int n)
{
	int i;
	nconns = n;
	conns = calloc((size_t)n, sizeof *conns);
	dirty_list = calloc((size_t)n, sizeof *dirty_list);
	if (!conns || !dirty_list)
		die("calloc");
	for (i = 0; i < n; i++) {
		conns[i].fd = -1;
		conns[i].idx = i;
		conns[i].user = opt.first + i;
		conns[i].peer = -1;
		agent_id(conns[i].user, conns[i].agent, sizeof conns[i].agent);
	}
	raise_nofile(n);
}

static void wait_ms(int ms);
static void print_mark(const char *phase);

/* FAST (-F): every client logs in once with its password over SASL2 and
 * asks for a token (not timed); the logins measured are then the ones
 * with the tokens, by the clients that got one. Marks (for the caller's
 * CPU figures): "tokens" once those first sessions have ended, "logins"
 * at the end (run_login). */
static void fast_tokens(void)
{
	int i;
	login_all(opt.n, now_ns() + 600LL * NS_PER_SEC);
	end_all(3000);
	wait_ms(SETTLE_MS);          /* the handlers have exited */
	print_mark("tokens");
	token_logins_failed = failed_n;
	for (i = 0; i < nconns; i++)
		conns[i].st = conns[i].token[0] ? ST_FREE : ST_DONE;
	started = active_logins = failed_n = finished = 0;
	t_first_connect = t_last_bound = t_last_echo = 0;
	login_lat.n = rt_bound_s.n = rt_echo_s.n = echo_lat.n = 0;
}

static int run_login(void)
{
	alloc_conns(opt.n);
	if (opt.fast)
		fast_tokens();
	login_all(opt.n, now_ns() + 600LL * 1000000000LL);
	print_login_stats("login", opt.n);
	print_tail();
	end_all(3000);
	if (opt.fast) {
		wait_ms(SETTLE_MS);
		print_mark("logins");
	}
	return failed_n ? 1 : 0;
}

static int run_idle(void)
{
	int64_t deadline;
	alloc_conns(opt.n);
	login_all(opt.n, now_ns() + 600LL * 1000000000LL);
	print_login_stats("idle", opt.n);
	printf(" up=%d", online);
	print_tail();
	deadline = now_ns() + (int64_t)(opt.secs * 1e9);
	while (!got_signal && now_ns() < deadline)
		loop_once(100);
	printf("scenario=idle-end server=%s n=%d still_online=%d failed=%d first_error=%s\n",
	    opt.label, opt.n, online, failed_n, first_error[0] ? first_error : "none");
	fflush(stdout);
	end_all(5000);
	return 0;
}

static void wait_ms(int ms)
{
	int64_t until = now_ns() + ms * NS_PER_MS;
	while (now_ns() < until && !got_signal)
		loop_once(20);
}

/* The stream management counters, appended to a result line. */
static void print_sm_stats(void)
{
	long unanswered = 0;
	int i;
	for (i = 0; i < nconns; i++)
		unanswered += conns[i].rq_n;
	printf(" sm_unsupported=%d sm_enabled=%d sm_enable_failed=%d ack_every=%d sm_requests=%ld "
	    "sm_acks=%ld ack_mismatches=%ld acks_unanswered=%ld sm_requests_skipped=%ld "
	    "server_requests=%ld",
	    sm_unsupported, sm_enabled, sm_enable_failed, opt.ack_every, sm_requests, sm_acks,
	    sm_mismatch, unanswered, sm_rq_skipped, sm_server_requests);
}

/* Before the streams close: every client acknowledges what it received and
 * asks once more, so that every server answer is checked. */
static void sm_last_acks(void)
{
	int64_t deadline = now_ns() + ACK_WAIT_MS * NS_PER_MS;
	int i, waiting;
	for (i = 0; i < nconns; i++)
		if (conns[i].st == ST_ONLINE && conns[i].sm_on) {
			out_printf(&conns[i], "<a xmlns='" NS_SM "' h='%" PRIu32 "'/>", conns[i].sm_in);
			sm_request(&conns[i]);
		}
	do {
		loop_once(10);
		for (i = waiting = 0; i < nconns; i++)
			waiting += conns[i].st == ST_ONLINE && conns[i].rq_n > 0;
	} while (waiting && now_ns() < deadline && !got_signal);
}

static int run_messages(void)
{
	int i, n = 2 * opt.pairs;
	int64_t t0, t_end, t_drain, last_recv_count_t;
	long last_recvd;
	double secs;
	alloc_conns(n);
	for (i = 0; i < n; i++)
		conns[i].peer = i ^ 1;
	login_all(n, now_ns() + 120LL * 1000000000LL);
	if (online < n || sm_unsupported) {
		printf("scenario=%s server=%s pairs=%d window=%d online=%d failed=%d",
		    scen_name, opt.label, opt.pairs, opt.window, online, failed_n);
		if (opt.sm)
			print_sm_stats();
		print_tail();
		end_all(2000);
		return 1;
	}
	/* let initial presence settle */
	wait_ms(SETTLE_MS);
	sending = 1;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int w;
		for (w = 0; w < opt.window; w++)
			send_chat(&conns[i]);
	}
	t_end = t0 + (int64_t)(opt.secs * 1e9);
	while (now_ns() < t_end && !got_signal)
		loop_once(10);
	sending = 0;
	{
		/* what was delivered within the sending time */
		long sent_at_end = msg_sent, recvd_at_end = msg_recvd;
		secs = (double)(now_ns() - t0) / 1e9;
		t_drain = now_ns() + (int64_t)(opt.drain * 1e9);
		last_recvd = msg_recvd;
		last_recv_count_t = now_ns();
		while (now_ns() < t_drain && msg_recvd + msg_errors < msg_sent && !got_signal) {
			loop_once(10);
			if (msg_recvd != last_recvd) {
				last_recvd = msg_recvd;
				last_recv_count_t = now_ns();
			}
		}
		(void)last_recv_count_t;
		if (opt.sm)
			sm_last_acks();
		samples_sort(&msg_lat);
		printf("scenario=%s server=%s pairs=%d window=%d secs=%.2f sent=%ld received=%ld "
		    "rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f lost=%ld errors=%ld stray=%ld "
		    "from_earlier_runs=%ld failed=%d",
		    scen_name, opt.label, opt.pairs, opt.window, secs, msg_sent, msg_recvd,
		    recvd_at_end / secs, pct_ms(&msg_lat, 50), pct_ms(&msg_lat, 90), pct_ms(&msg_lat, 99),
		    pct_ms(&msg_lat, 100), msg_sent - msg_recvd - msg_errors, msg_errors, msg_stray, msg_old,
		    failed_n);
		(void)sent_at_end;
	}
	if (opt.sm)
		print_sm_stats();
	print_tail();
	end_all(3000);
	return 0;
}

/* Drop the TCP connection as a phone losing its network does: no
 * </stream:stream>, the stream management state kept for a resume. */
static void conn_cut(struct conn *c)
{
	if (c->st != ST_ONLINE)
		return;
	online--;
	conn_close(c);
	c->st = ST_FREE;
}

/* A line the caller may time the server's CPU by: a phase has ended. */
static void print_resume_logins(int logged_in, double login_rate)
{
	printf("scenario=resume server=%s mech=%s n=%d c=%d logged_in=%d login_rate=%.1f "
	    "login_p50_ms=%.2f login_p99_ms=%.2f",
	    opt.label, mech_name(opt.mech), opt.n, opt.conc, logged_in, login_rate,
	    pct_ms(&login_lat, 50), pct_ms(&login_lat, 99));
}

static void print_mark(const char *phase)
{
	printf("scenario=%s-mark server=%s phase=%s\n", scen_name, opt.label, phase);
	fflush(stdout);
}

/* Log in N clients with SM and resume enabled (connect to bind result:
 * the fresh login's time), cut them, reconnect, authenticate and resume
 * (connect to <resumed/>). Marks: "logged-in" before the cut, "resumed"
 * once every resume has ended and what followed has arrived. */
static int run_resume(void)
{
	int i, n = opt.n, logged_in, no_resume = 0;
	double login_secs, login_rate, resume_secs, resume_rate;
	alloc_conns(n);
	login_all(n, now_ns() + 600LL * NS_PER_SEC);
	logged_in = (int)login_lat.n;
	samples_sort(&login_lat);
	login_secs = t_last_bound > t_first_connect ? (double)(t_last_bound - t_first_connect) / 1e9 : 0;
	login_rate = login_secs > 0 ? logged_in / login_secs : 0;
	if (sm_unsupported || !sm_enabled) {
		print_resume_logins(logged_in, login_rate);
		printf(" failed=%d", failed_n);
		print_sm_stats();
		print_tail();
		end_all(2000);
		return 1;
	}
	wait_ms(SETTLE_MS);          /* presence and its echo arrive, counted */
	print_mark("logged-in");
	for (i = 0; i < n; i++)
		conn_cut(&conns[i]);
	wait_ms(SETTLE_MS);          /* the servers see the connections gone */
	resuming = 1;
	started = active_logins = 0;
	t_first_connect = 0;
	for (i = 0; i < n; i++)
		if (!conns[i].sm_id[0]) {
			/* never enabled (failed login), or <enabled/> without an
			 * id (no resumption offered): nothing to resume */
			no_resume += conns[i].sm_on;
			conns[i].st = ST_DONE;
		}
	login_all(n, now_ns() + 600LL * NS_PER_SEC);
	wait_ms(SETTLE_MS / 2);      /* what the server sends again after <resumed/> */
	print_mark("resumed");
	samples_sort(&resume_lat);
	resume_secs = t_last_resumed > t_first_connect ? (double)(t_last_resumed - t_first_connect) / 1e9 : 0;
	resume_rate = resume_secs > 0 ? resumed_n / resume_secs : 0;
	print_resume_logins(logged_in, login_rate);
	printf(" resume_not_offered=%d resumed=%d resume_failed=%d resume_first_failure=%s resume_rate=%.1f "
	    "resume_p50_ms=%.2f resume_p99_ms=%.2f resume_login_time_ratio=%.3f "
	    "resume_login_p50_ratio=%.3f failed=%d",
	    no_resume, resumed_n, resume_failed, resume_first_failure[0] ? resume_first_failure : "none",
	    resume_rate, pct_ms(&resume_lat, 50), pct_ms(&resume_lat, 99),
	    resume_rate > 0 ? login_rate / resume_rate : 0,
	    pct_ms(&login_lat, 50) > 0 ? pct_ms(&resume_lat, 50) / pct_ms(&login_lat, 50) : 0, failed_n);
	sm_last_acks();
	print_sm_stats();
	print_tail();
	end_all(3000);
	return resume_failed || sm_mismatch ? 1 : 0;
}

static void fo_send(struct conn *c, char tag, int round, int away)
{
	if (c->st != ST_ONLINE)
		return;
	stanza_printf(c, "<presence>%s<status>f%c %d %d</status></presence>",
	    away ? "<show>away</show>" : "", tag, round, c->idx);
}

/* Wait until fo_got reaches fo_expect or timeout; true if complete. */
static int fo_wait(int64_t timeout_ns)
{
	int64_t deadline = fo_t0 + timeout_ns;
	while (fo_got < fo_expect && now_ns() < deadline && !got_signal)
		loop_once(5);
	return fo_got >= fo_expect;
}

static int run_fanout(void)
{
	int n = opt.groups * (opt.k + 1), r, i;
	long last;
	int64_t quiet;
	double storm_sorted[64];
	alloc_conns(n);
	login_all(n, now_ns() + 120LL * 1000000000LL);
	if (online < n) {
		printf("scenario=fanout server=%s k=%d groups=%d online=%d failed=%d",
		    opt.label, opt.k, opt.groups, online, failed_n);
		print_tail();
		end_all(2000);
		return 1;
	}
	/* initial presence: wait until it stops arriving (or every contact is seen) */
	last = -1;
	quiet = now_ns();
	{
		int64_t deadline = now_ns() + 30LL * 1000000000LL;
		while (now_ns() < deadline && !got_signal) {
			loop_once(20);
			if (fo_initial != last) {
				last = fo_initial;
				quiet = now_ns();
			}
			if (fo_initial >= (long)n * opt.k && now_ns() - quiet > 200000000LL)
				break;
			if (now_ns() - quiet > 1500000000LL)
				break;
		}
	}
	/* one user changes presence: time until all K contacts have it */
	fo_phase = 1;
	fo_tag = 'o';
	for (r = 1; r <= opt.rounds && !got_signal; r++) {
		fo_round = r;
		fo_got = 0;
		fo_expect = opt.k;
		fo_t0 = now_ns();
		fo_send(&conns[0], 'o', r, r & 1);
		flush_dirty();
		if (fo_wait(5000000000LL))
			samples_add(&fo_single, fo_tlast - fo_t0);
		else
			fo_single_missing += fo_expect - fo_got;
		{
			int64_t pause = now_ns() + 50000000LL;
			while (now_ns() < pause)
				loop_once(5);
		}
	}
	/* every user changes presence at once */
	fo_phase = 2;
	fo_tag = 's';
	for (r = 1; r <= opt.storms && r <= 64 && !got_signal; r++) {
		fo_round = r;
		fo_got = 0;
		fo_expect = (long)n * opt.k;
		fo_t0 = now_ns();
		for (i = 0; i < n; i++)
			fo_send(&conns[i], 's', r, r & 1);
		flush_dirty();
		fo_wait(20000000000LL);
		{
			double ms = (double)((fo_got ? fo_tlast : now_ns()) - fo_t0) / 1e6;
			fo_storm_ms[fo_nstorms] = ms;
			fo_storm_rates[fo_nstorms] = ms > 0 ? fo_got / (ms / 1000.0) : 0;
			fo_nstorms++;
			fo_storm_missing += fo_expect - fo_got;
		}
		{
			int64_t pause = now_ns() + 300000000LL;
			while (now_ns() < pause)
				loop_once(5);
		}
	}
	fo_phase = 3;
	samples_sort(&fo_single);
	samples_sort(&fo_single_first);
	memcpy(storm_sorted, fo_storm_rates, sizeof storm_sorted);
	for (i = 1; i < fo_nstorms; i++) {      /* insertion sort, few items */
		double v = storm_sorted[i];
		int j = i - 1;
		while (j >= 0 && storm_sorted[j] > v) {
			storm_sorted[j + 1] = storm_sorted[j];
			j--;
		}
		storm_sorted[j + 1] = v;
	}
	{
		int incomplete = 0;
		for (i = 0; i < n; i++)
			if (conns[i].pres_in < opt.k)
				incomplete++;
		printf("scenario=fanout server=%s k=%d groups=%d users=%d initial_presences=%ld "
		    "initial_expected=%ld initial_incomplete_users=%d ",
		    opt.label, opt.k, opt.groups, n, fo_initial, (long)n * opt.k, incomplete);
	}
	printf("rounds=%d one_p50_ms=%.2f one_max_ms=%.2f one_first_p50_ms=%.2f one_missing=%ld "
	    "storms=%d storm_stanzas=%ld storm_rate=%.1f storm_rate_min=%.1f storm_rate_max=%.1f "
	    "storm_missing=%ld presences_in=%ld",
	    opt.rounds, pct_ms(&fo_single, 50), pct_ms(&fo_single, 100), pct_ms(&fo_single_first, 50),
	    fo_single_missing, fo_nstorms, (long)n * opt.k,
	    fo_nstorms ? storm_sorted[fo_nstorms / 2] : 0, fo_nstorms ? storm_sorted[0] : 0,
	    fo_nstorms ? storm_sorted[fo_nstorms - 1] : 0, fo_storm_missing, fo_presences);
	print_tail();
	end_all(3000);
	return 0;
}

static void room_print_head(void)
{
	printf("scenario=room server=%s room=%s n=%d senders=%d window=%d online=%d joined=%d "
	    "join_failed=%d join_error=%s owner_form=%s",
	    opt.label, room_jid, opt.n, opt.senders, opt.window, online, room_joined,
	    room_join_failed, room_join_error[0] ? room_join_error : "none",
	    owner_form[0] ? owner_form : "none");
}

/* Wait until cond() or the deadline (or a signal); true if cond(). */
static int room_wait(int (*cond)(void), int64_t deadline)
{
	while (!cond() && now_ns() < deadline && !got_signal)
		loop_once(5);
	return cond();
}

static int creator_in(void) { return conns[0].joined != 0; }
static int form_answered(void) { return owner_form[0] != 0; }
static int joins_over(void) { return room_joined + room_join_failed >= nconns; }

/* Every occupant has every occupant's presence. */
static int flood_over(void)
{
	int i;
	for (i = 0; i < nconns; i++)
		if (conns[i].joined == 1 && conns[i].pres_in < room_joined)
			return 0;
	return 1;
}

static int run_room(void)
{
	int i, w, next, n = opt.n;
	int64_t t0, t_end, deadline, quiet;
	long last, missing = 0;
	double join_secs, secs;
	char join_stats[300];

	if (opt.senders > n)
		opt.senders = n;
	alloc_conns(n);
	for (i = 0; i < n; i++) {
		conns[i].room_last = calloc((size_t)opt.senders, sizeof *conns[i].room_last);
		if (!conns[i].room_last)
			die("calloc");
	}
	snprintf(room_jid, sizeof room_jid, "bench%08x@%s", run_tag, opt.muc);
	login_all(n, now_ns() + 120LL * NS_PER_SEC);
	if (online < n) {
		room_print_head();
		printf(" failed=%d", failed_n);
		print_tail();
		end_all(2000);
		return 1;
	}
	/* the creator: its join, then the instant-room form (XEP-0045
	 * 10.1.2), which unlocks a room that waits for it */
	deadline = now_ns() + ROOM_SETUP_SECS * NS_PER_SEC;
	room_join(&conns[0]);
	room_wait(creator_in, deadline);
	if (conns[0].joined == 1) {
		stanza_printf(&conns[0], "<iq type='set' id='own1' to='%s'><query xmlns='" NS_MUC "#owner'>"
		    "<x xmlns='jabber:x:data' type='submit'/></query></iq>", room_jid);
		room_wait(form_answered, deadline);
	}
	if (conns[0].joined != 1 || !owner_form[0]) {
		room_print_head();
		printf(" failed=%d", failed_n);
		print_tail();
		end_all(2000);
		return 1;
	}
	/* the others, C at a time, each until its own presence (110) */
	t0 = now_ns();
	next = 1;
	while (!joins_over() && now_ns() < deadline && !got_signal) {
		while (next < n && room_joins_open < opt.conc)
			room_join(&conns[next++]);
		loop_once(5);
	}
	join_secs = room_t_last_join > t0 ? (double)(room_t_last_join - t0) / 1e9 : 0;
	/* the presence flood: until every occupant has everyone's presence
	 * and nothing came for 300 ms */
	room_wait(flood_over, deadline);
	last = -1;
	quiet = now_ns();
	while (now_ns() - quiet < 300 * NS_PER_MS && now_ns() < deadline && !got_signal) {
		loop_once(5);
		if (room_presences != last) {
			last = room_presences;
			quiet = now_ns();
		}
	}
	/* the caller reads the server's CPU at each mark: nothing happens for
	 * a second after one, so that the next phase is not counted in it */
	print_mark("joined");
	wait_ms(SETTLE_MS);
	room_n = room_joined;
	samples_sort(&room_join_lat);
	snprintf(join_stats, sizeof join_stats, " join_secs=%.3f join_rate=%.1f join_p50_ms=%.2f "
	    "join_p99_ms=%.2f join_presences=%ld presence_incomplete=%d", join_secs,
	    join_secs > 0 ? (room_joined - 1) / join_secs : 0, pct_ms(&room_join_lat, 50),
	    pct_ms(&room_join_lat, 99), room_presences, flood_over() ? 0 : 1);
	if (room_joined < n) {
		room_print_head();
		printf("%s failed=%d", join_stats, failed_n);
		print_tail();
		end_all(3000);
		return 1;
	}
	/* the load: W messages in flight per sender; a message reaching the
	 * last occupant lets its sender send the next */
	room_sending = 1;
	t0 = now_ns();
	for (i = 0; i < opt.senders; i++)
		for (w = 0; w < opt.window; w++)
			room_send(&conns[i]);
	t_end = t0 + (int64_t)(opt.secs * 1e9);
	while (now_ns() < t_end && !got_signal &&
	    !(opt.room_max && room_nmsgs >= opt.room_max && room_oldest > room_nmsgs)) {
		loop_once(5);
		room_sweep();
	}
	room_sending = 0;
	/* what is on its way: until it arrives or times out */
	deadline = now_ns() + (int64_t)(opt.drain * 1e9) + 100 * NS_PER_MS;
	while (room_oldest <= room_nmsgs && now_ns() < deadline && !got_signal) {
		loop_once(5);
		room_sweep();
	}
	print_mark("sent");
	wait_ms(SETTLE_MS);
	for (i = 1; i <= room_nmsgs; i++)
		if (room_msgs[i].done != 1 && room_msgs[i].got < room_n)
			missing += room_n - room_msgs[i].got;
	samples_sort(&room_lat);
	samples_sort(&room_first);
	secs = room_t_last_done > t0 ? (double)(room_t_last_done - t0) / 1e9 : 0;
	room_print_head();
	printf("%s secs=%.3f sent=%ld completed=%ld rate=%.1f stanza_rate=%.1f p50_ms=%.2f p90_ms=%.2f "
	    "p99_ms=%.2f max_ms=%.2f first_p50_ms=%.2f incomplete=%ld timed_out=%ld missing=%ld "
	    "receipts=%ld duplicates=%ld out_of_order=%ld errors=%ld msg_error=%s stray=%ld "
	    "from_earlier_runs=%ld failed=%d",
	    join_stats, secs, room_nmsgs, room_completed, secs > 0 ? room_completed / secs : 0,
	    secs > 0 ? (double)room_completed * room_n / secs : 0,
	    pct_ms(&room_lat, 50), pct_ms(&room_lat, 90), pct_ms(&room_lat, 99), pct_ms(&room_lat, 100),
	    pct_ms(&room_first, 50), room_nmsgs - room_completed, room_timedout, missing, room_receipts,
	    room_dups, room_disorder, room_errors, room_msg_error[0] ? room_msg_error : "none",
	    room_stray, room_old, failed_n);
	print_tail();
	end_all(5000);
	return room_nmsgs > room_completed || room_disorder ? 1 : 0;
}

int main(int argc, char **argv)
{
	int o;
	struct sigaction sa;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		usage(argc < 2 ? 100 : 0);
	scen_name = argv[1];
	if (!strcmp(scen_name, "login"))
		scen = SC_LOGIN;
	else if (!strcmp(scen_name, "messages"))
		scen = SC_MESSAGES;
	else if (!strcmp(scen_name, "idle"))
		scen = SC_IDLE;
	else if (!strcmp(scen_name, "fanout"))
		scen = SC_FANOUT;
	else if (!strcmp(scen_name, "sm"))
		scen = SC_SM, opt.sm = 1;
	else if (!strcmp(scen_name, "resume"))
		scen = SC_RESUME, opt.sm = 1;
	else if (!strcmp(scen_name, "room"))
		scen = SC_ROOM;
	else
		usage(100);
	optind = 2;
	while ((o = getopt(argc, argv, "H:p:d:u:w:m:r:f:n:c:P:W:T:D:K:G:R:S:A:kt:l:a:M:s:N:x:E2Feh")) != -1) {
		switch (o) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'd': opt.domain = optarg; break;
		case 'u': opt.pattern = optarg; break;
		case 'w': opt.password = optarg; break;
		case 'm':
			if (!strcasecmp(optarg, "plain")) opt.mech = 1;
			else if (!strcasecmp(optarg, "scram-sha-1")) opt.mech = 2;
			else if (!strcasecmp(optarg, "auto")) opt.mech = 0;
			else usage(100);
			break;
		case 'r': opt.resource = optarg; break;
		case 'f': opt.first = atoi(optarg); break;
		case 'n': opt.n = atoi(optarg); break;
		case 'c': opt.conc = atoi(optarg); break;
		case 'P': opt.pairs = atoi(optarg); break;
		case 'W': opt.window = atoi(optarg); break;
		case 'T': opt.secs = atof(optarg); break;
		case 'D': opt.drain = atof(optarg); break;
		case 'K': opt.k = atoi(optarg); break;
		case 'G': opt.groups = atoi(optarg); break;
		case 'R': opt.rounds = atoi(optarg); break;
		case 'S': opt.storms = atoi(optarg); break;
		case 'A': opt.srcaddrs = atoi(optarg); break;
		case 'k': opt.hold = 1; break;
		case 't': opt.login_timeout = atof(optarg); break;
		case 'l': opt.label = optarg; break;
		case 'a': opt.ack_every = atoi(optarg); break;
		case 'M': opt.muc = optarg; break;
		case 's': opt.senders = atoi(optarg); break;
		case 'N': opt.room_max = atol(optarg); break;
		case 'x': opt.ws_path = optarg; break;
		case 'E': opt.tls = 1; break;
		case '2': opt.sasl2 = 1; break;
		case 'F': opt.fast = opt.sasl2 = 1; break;
		case 'e': opt.echo = 1; break;
		case 'h': usage(0); break;
		default: usage(100);
		}
	}
	if (optind != argc || opt.n < 1 || opt.conc < 1 || opt.pairs < 1 || opt.window < 1 ||
	    opt.k < 1 || opt.groups < 1 || opt.srcaddrs < 1 || opt.srcaddrs > 250 || opt.ack_every < 0 ||
	    !(opt.login_timeout > 0) || opt.senders < 1 || opt.senders > ROOM_SENDERS_MAX ||
	    opt.room_max < 0 || !(opt.drain > 0 || scen != SC_ROOM) ||
	    opt.port < 1 || opt.port > 65535 || !strstr(opt.pattern, "%d") ||
	    (opt.ws_path && opt.ws_path[0] != '/') || (opt.sasl2 && scen == SC_RESUME) ||
	    (opt.fast && scen != SC_LOGIN))
		usage(100);
	if (opt.tls) {
		if (!(tls_ctx = SSL_CTX_new(TLS_client_method())))
			die("SSL_CTX_new");
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
		/* an end of the stream without close_notify is an end */
		SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
		SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (RAND_bytes((unsigned char *)&run_tag, sizeof run_tag) != 1)
		run_tag = (unsigned)getpid() ^ (unsigned)now_ns();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	switch (scen) {
	case SC_LOGIN: return run_login();
	case SC_MESSAGES: return run_messages();
	case SC_IDLE: return run_idle();
	case SC_FANOUT: return run_fanout();
	case SC_SM: return run_messages();
	case SC_RESUME: return run_resume();
	case SC_ROOM: return run_room();
	}
	return 0;
}
