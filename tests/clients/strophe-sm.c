/*
 * strophe-sm.c - a libstrophe (0.12, Debian 12's libstrophe-dev) client with
 * XEP-0198 stream management, for the protocol tests
 * (tests/proto/test_strophe_sm.py) and for trying a server by hand.
 *
 * Contract
 *   strophe-sm -j JID -p PASSWORD [-H HOST] [-P PORT] [-t PEER -n N]
 *              [-T SECONDS] [-v]
 *   connects to HOST:PORT (default 127.0.0.1:5222) in clear (TLS is turned
 *   off: loopback only), logs in as JID (a resource in JID is the one
 *   bound), and lets libstrophe enable stream management with resumption
 *   when the server offers urn:xmpp:sm:3. It answers XEP-0199 pings and
 *   refuses other IQ requests. When the session is ready (SM enabled, or
 *   not offered, or refused) it sends available presence and, with -t and
 *   -n, N chat messages with bodies "msg-1" .. "msg-N" to PEER. Then it
 *   obeys commands on stdin, one per line:
 *     send JID BODY...   send one chat message
 *     state              print a "state" line
 *     cut                shut the socket down underneath libstrophe
 *                        (shutdown(2), both ways: the server sees the
 *                        connection end without </stream:stream>)
 *     reconnect          after a cut: connect again on a new connection
 *                        object given the old one's SM state
 *                        (xmpp_conn_get_sm_state/xmpp_conn_set_sm_state),
 *                        so that libstrophe asks to <resume/>
 *     quit               close the stream and exit (EOF on stdin too)
 *   stdout is a line protocol, one event per line, flushed at once; the
 *   first word names the event, "key=value" fields follow:
 *     features sm=yes|no bind=yes|no   stream features with <bind/> seen
 *     enable resume=true|false          we sent <enable/>
 *     enabled id=ID resume=true|false   the server's <enabled/>
 *     connected jid=JID                 the session is established
 *     ready sm=on|off                   presence sent, commands welcome
 *     sent to=JID body=BODY             a message was queued for sending
 *     recv from=JID body=BODY           a message with a body arrived
 *                                       (BODY is the rest of the line;
 *                                       backslash and newline escaped as
 *                                       \\ and \n)
 *     msgerror from=JID                 a message of type error arrived
 *     answered id=ID type=result|error  we answered an IQ request
 *     r                                 the server's <r/>
 *     a h=N                             our answer <a h='N'/>
 *     ack h=N                           the server's <a h='N'/>
 *     state sm=on|off resumed=yes|no id=ID in=N h_out=N h_server=N queue=N
 *                                       in: messages received in all;
 *                                       h_out: the last h we sent (in <a/>
 *                                       or <resume/>), h_server: the last
 *                                       h the server sent (<a/> or
 *                                       <resumed/>), -1 for none yet;
 *                                       queue: libstrophe's send queue
 *     cut                               the socket was shut down
 *     disconnected error=N              libstrophe lost the connection
 *     resume previd=ID h=N              we asked to resume
 *     resumed previd=ID h=N             the server's <resumed/>
 *     failed condition=NAME             the server's <failed/>
 *     error TEXT                        a command could not be carried
 *                                       out, or (then exit 1) the client
 *                                       failed
 *     bye                               clean end
 *   libstrophe keeps SM's counters to itself (xmpp_sm_state_t is opaque),
 *   so what is printed about SM comes from the stream as libstrophe logs
 *   it (debug level: "SENT: ..." and "RECV: ..." lines) and from this
 *   program's own handlers. -v copies libstrophe's log to stderr.
 *   Exit status: 0 after quit or EOF, 1 on a failure (the connection was
 *   lost without a cut, a connection attempt failed, or -T SECONDS passed,
 *   default 60), 2 on a usage error.
 *
 * One client per process: libstrophe's socket callback has no user data,
 * so the state lives in one static struct.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <strophe.h>

#define DEFAULT_HOST      "127.0.0.1"
#define DEFAULT_PORT      5222
#define DEFAULT_DEADLINE  60        /* seconds before giving up (-T) */
#define LOOP_WAIT_MS      20        /* xmpp_run_once's wait per round */
#define LINE_MAX_LEN      4096      /* one stdin command */
#define ATTR_MAX_LEN      256       /* an attribute value we keep */
#define CLOSE_WAIT_ROUNDS 250       /* rounds (x LOOP_WAIT_MS) for a close */
#define BODY_PREFIX       "msg-"    /* bodies of the -n messages */
#define PING_NS           "urn:xmpp:ping"
#define SM_NS             XMPP_NS_SM
#define STANZAS_NS        "urn:ietf:params:xml:ns:xmpp-stanzas"

enum exit_code { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static struct client {
	/* command line */
	const char *jid, *password, *host, *peer;
	unsigned short port;
	long count;                 /* -n */
	int verbose;
	/* libstrophe */
	xmpp_ctx_t *ctx;
	xmpp_conn_t *conn;
	int fd;                     /* the socket libstrophe made, -1 none */
	/* progress */
	int connected;              /* XMPP_CONN_CONNECT seen on this conn */
	int ready;                  /* presence sent, commands welcome */
	int initial_sent;           /* the -n messages went out */
	int sm_offered;             /* urn:xmpp:sm:3 in the features */
	int sm_on;                  /* <enabled/> or <resumed/> received */
	int sm_refused;             /* <failed/> answered <enable/> */
	int resuming;               /* <resume/> sent, no answer yet */
	int resumed;                /* <resumed/> received */
	int was_cut;                /* a cut is why the connection ended */
	int lost;                   /* XMPP_CONN_DISCONNECT seen */
	int quitting;
	int failed;                 /* exit status will be EXIT_FAIL */
	long received;              /* messages received */
	long h_out, h_server;       /* last h sent / received, -1 none */
	char sm_id[ATTR_MAX_LEN];
	/* stdin */
	char line[LINE_MAX_LEN];
	size_t line_len;
	int stdin_open;
} cl;

/* ---- output ---- */

static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Print "prefix" then s with backslash and line breaks escaped. */
static void out_escaped(const char *prefix, const char *s)
{
	fputs(prefix, stdout);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\r')
			fputs("\\r", stdout);
		else
			fputc(*s, stdout);
	}
	fputc('\n', stdout);
	fflush(stdout);
}

static void fail(const char *what)
{
	out("error %s", what);
	cl.failed = 1;
}

/* ---- the stream as libstrophe logs it ---- */

/* Copy attribute `name` of the first tag in xml (single or double quoted)
 * into buf; 0 if found. Good enough for the flat SM elements. */
static int attr_of(const char *xml, const char *name, char *buf, size_t size)
{
	const char *end = strchr(xml, '>');
	size_t n = strlen(name);
	const char *p;

	for (p = xml; (p = strstr(p, name)) && (!end || p < end); p += n) {
		char quote;
		const char *v, *q;

		if (p == xml || p[-1] != ' ' || p[n] != '=' || (p[n + 1] != '\'' && p[n + 1] != '"'))
			continue;
		quote = p[n + 1];
		v = p + n + 2;
		q = strchr(v, quote);
		if (!q || (size_t)(q - v) >= size)
			return -1;
		memcpy(buf, v, (size_t)(q - v));
		buf[q - v] = '\0';
		return 0;
	}
	return -1;
}

/* Does xml start with element `name` (any prefix-free form)? */
static int starts_with_tag(const char *xml, const char *name)
{
	size_t n = strlen(name);

	return xml[0] == '<' && !strncmp(xml + 1, name, n) &&
	    (xml[n + 1] == ' ' || xml[n + 1] == '/' || xml[n + 1] == '>');
}

static long attr_long(const char *xml, const char *name)
{
	char buf[ATTR_MAX_LEN];

	if (attr_of(xml, name, buf, sizeof buf))
		return -1;
	return strtol(buf, NULL, 10);
}

static void seen_received(const char *xml)
{
	char id[ATTR_MAX_LEN] = "", res[ATTR_MAX_LEN] = "", cond[ATTR_MAX_LEN];
	const char *p;

	if ((starts_with_tag(xml, "features") || starts_with_tag(xml, "stream:features")) &&
	    strstr(xml, "<bind")) {
		cl.sm_offered = strstr(xml, SM_NS) != NULL;
		out("features sm=%s bind=yes", cl.sm_offered ? "yes" : "no");
	} else if (starts_with_tag(xml, "enabled")) {
		attr_of(xml, "id", id, sizeof id);
		attr_of(xml, "resume", res, sizeof res);
		snprintf(cl.sm_id, sizeof cl.sm_id, "%s", id);
		cl.sm_on = 1;
		out("enabled id=%s resume=%s", id, res[0] ? res : "false");
	} else if (starts_with_tag(xml, "resumed")) {
		attr_of(xml, "previd", id, sizeof id);
		snprintf(cl.sm_id, sizeof cl.sm_id, "%s", id);
		cl.h_server = attr_long(xml, "h");
		cl.sm_on = cl.resumed = 1;
		out("resumed previd=%s h=%ld", id, cl.h_server);
	} else if (starts_with_tag(xml, "failed")) {
		/* <failed xmlns=...><item-not-found xmlns=.../></failed> */
		p = strchr(xml, '>');
		snprintf(cond, sizeof cond, "%s", "none");
		if (p && p[-1] != '/' && p[1] == '<' && p[2] != '/') {
			size_t n = strcspn(p + 2, " />");
			if (n < sizeof cond) {
				memcpy(cond, p + 2, n);
				cond[n] = '\0';
			}
		}
		if (cl.resuming)
			cl.resuming = 0;        /* libstrophe binds anew, enables again */
		else
			cl.sm_refused = 1;
		out("failed condition=%s", cond);
	} else if (starts_with_tag(xml, "r") && strstr(xml, SM_NS)) {
		out("r");
	} else if (starts_with_tag(xml, "a") && strstr(xml, SM_NS)) {
		cl.h_server = attr_long(xml, "h");
		out("ack h=%ld", cl.h_server);
	}
}

static void seen_sent(const char *xml)
{
	char buf[ATTR_MAX_LEN] = "";

	if (starts_with_tag(xml, "enable")) {
		attr_of(xml, "resume", buf, sizeof buf);
		out("enable resume=%s", buf[0] ? buf : "false");
	} else if (starts_with_tag(xml, "resume")) {
		attr_of(xml, "previd", buf, sizeof buf);
		cl.h_out = attr_long(xml, "h");
		cl.resuming = 1;
		out("resume previd=%s h=%ld", buf, cl.h_out);
	} else if (starts_with_tag(xml, "a") && strstr(xml, SM_NS)) {
		cl.h_out = attr_long(xml, "h");
		out("a h=%ld", cl.h_out);
	}
}

static void on_log(void *userdata, xmpp_log_level_t level, const char *area,
    const char *msg)
{
	static const char recv_mark[] = "RECV: ", sent_mark[] = "SENT: ";

	(void)userdata;
	if (cl.verbose)
		fprintf(stderr, "strophe %d %s: %s\n", (int)level, area, msg);
	if (!strncmp(msg, recv_mark, sizeof recv_mark - 1))
		seen_received(msg + sizeof recv_mark - 1);
	else if (!strncmp(msg, sent_mark, sizeof sent_mark - 1))
		seen_sent(msg + sizeof sent_mark - 1);
}

/* ---- stanzas ---- */

static int send_message(const char *to, const char *body)
{
	xmpp_stanza_t *m = xmpp_message_new(cl.ctx, "chat", to, NULL);

	if (!m) {
		fail("out of memory");
		return -1;
	}
	if (xmpp_message_set_body(m, body) != XMPP_EOK) {
		xmpp_stanza_release(m);
		fail("out of memory");
		return -1;
	}
	xmpp_send(cl.conn, m);
	xmpp_stanza_release(m);
	out("sent to=%s body=%s", to, body);
	return 0;
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *userdata)
{
	const char *type = xmpp_stanza_get_type(st);
	const char *from = xmpp_stanza_get_from(st);
	char *body;
	char prefix[ATTR_MAX_LEN + 32];

	(void)conn;
	(void)userdata;
	if (type && !strcmp(type, "error")) {
		out("msgerror from=%s", from ? from : "");
		return 1;
	}
	body = xmpp_message_get_body(st);
	if (!body)
		return 1;       /* chat states, receipts ...: not ours to count */
	cl.received++;
	snprintf(prefix, sizeof prefix, "recv from=%s body=", from ? from : "");
	out_escaped(prefix, body);
	xmpp_free(cl.ctx, body);
	return 1;
}

/* An empty <iq type='result'/>, or an <iq type='error'/> with
 * <service-unavailable/>, answering request st; NULL without memory. */
static xmpp_stanza_t *iq_answer(xmpp_stanza_t *st, int ok)
{
	const char *from = xmpp_stanza_get_from(st);
	xmpp_stanza_t *iq, *err = NULL, *cond = NULL;

	iq = xmpp_iq_new(cl.ctx, ok ? "result" : "error", xmpp_stanza_get_id(st));
	if (!iq)
		return NULL;
	if (from && xmpp_stanza_set_to(iq, from) != XMPP_EOK)
		goto fail;
	if (ok)
		return iq;
	err = xmpp_stanza_new(cl.ctx);
	cond = xmpp_stanza_new(cl.ctx);
	if (!err || !cond || xmpp_stanza_set_name(err, "error") != XMPP_EOK ||
	    xmpp_stanza_set_type(err, "cancel") != XMPP_EOK ||
	    xmpp_stanza_set_name(cond, "service-unavailable") != XMPP_EOK ||
	    xmpp_stanza_set_ns(cond, STANZAS_NS) != XMPP_EOK ||
	    xmpp_stanza_add_child(err, cond) != XMPP_EOK ||
	    xmpp_stanza_add_child(iq, err) != XMPP_EOK)
		goto fail;
	xmpp_stanza_release(cond);
	xmpp_stanza_release(err);
	return iq;
fail:
	if (cond)
		xmpp_stanza_release(cond);
	if (err)
		xmpp_stanza_release(err);
	xmpp_stanza_release(iq);
	return NULL;
}

/* Answer pings (xmppd asks one to confirm what it wrote); refuse any other
 * request, as RFC 6120 8.2.3 wants. */
static int on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *userdata)
{
	const char *type = xmpp_stanza_get_type(st);
	xmpp_stanza_t *reply;

	(void)userdata;
	if (!type || (strcmp(type, "get") && strcmp(type, "set")))
		return 1;
	reply = iq_answer(st, !strcmp(type, "get") &&
	    xmpp_stanza_get_child_by_ns(st, PING_NS) != NULL);
	if (!reply) {
		fail("out of memory");
		return 1;
	}
	xmpp_send(conn, reply);
	out("answered id=%s type=%s", xmpp_stanza_get_id(st) ? xmpp_stanza_get_id(st) : "",
	    xmpp_stanza_get_type(reply));
	xmpp_stanza_release(reply);
	return 1;
}

/* The session is usable: SM is on, or will not be. libstrophe counts only
 * the stanzas sent after <enabled/> arrives, the server all after
 * <enable/>: sending nothing in between keeps the two counts equal. */
static void check_ready(void)
{
	xmpp_stanza_t *pres;
	long i;
	char body[64];

	if (cl.ready || !cl.connected || (cl.sm_offered && !cl.sm_on && !cl.sm_refused))
		return;
	cl.ready = 1;
	if (!cl.resumed) {           /* a resumed session keeps its presence */
		pres = xmpp_presence_new(cl.ctx);
		if (!pres) {
			fail("out of memory");
			return;
		}
		xmpp_send(cl.conn, pres);
		xmpp_stanza_release(pres);
	}
	out("ready sm=%s", cl.sm_on ? "on" : "off");
	if (cl.peer && !cl.initial_sent) {
		cl.initial_sent = 1;
		for (i = 1; i <= cl.count; i++) {
			snprintf(body, sizeof body, BODY_PREFIX "%ld", i);
			if (send_message(cl.peer, body))
				return;
		}
	}
}

/* ---- the connection ---- */

static int on_socket(xmpp_conn_t *conn, void *sock)
{
	(void)conn;
	cl.fd = *(int *)sock;
	return 0;
}

static void on_conn(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
    xmpp_stream_error_t *stream_error, void *userdata)
{
	(void)conn;
	(void)userdata;
	switch (event) {
	case XMPP_CONN_CONNECT:
	case XMPP_CONN_RAW_CONNECT:
		cl.connected = 1;
		out("connected jid=%s", xmpp_conn_get_bound_jid(conn) ?
		    xmpp_conn_get_bound_jid(conn) : "");
		break;
	case XMPP_CONN_DISCONNECT:
	case XMPP_CONN_FAIL:
		if (stream_error)
			out("disconnected error=%d stream-error=%d", error, (int)stream_error->type);
		else
			out("disconnected error=%d", error);
		cl.lost = 1;
		cl.fd = -1;
		break;
	}
}

static int conn_start(xmpp_sm_state_t *sm)
{
	xmpp_conn_t *c = xmpp_conn_new(cl.ctx);

	if (!c) {
		fail("out of memory");
		return -1;
	}
	if (xmpp_conn_set_flags(c, XMPP_CONN_FLAG_DISABLE_TLS) != XMPP_EOK) {
		xmpp_conn_release(c);
		fail("xmpp_conn_set_flags");
		return -1;
	}
	xmpp_conn_set_jid(c, cl.jid);
	xmpp_conn_set_pass(c, cl.password);
	xmpp_conn_set_sockopt_callback(c, on_socket);
	if (sm && xmpp_conn_set_sm_state(c, sm) != XMPP_EOK) {
		xmpp_free_sm_state(sm);
		xmpp_conn_release(c);
		fail("xmpp_conn_set_sm_state");
		return -1;
	}
	xmpp_handler_add(c, on_message, NULL, "message", NULL, NULL);
	xmpp_handler_add(c, on_iq, NULL, "iq", NULL, NULL);
	cl.conn = c;
	cl.connected = cl.ready = cl.lost = cl.was_cut = 0;
	cl.sm_offered = cl.sm_on = cl.sm_refused = cl.resuming = cl.resumed = 0;
	if (xmpp_connect_client(c, cl.host, cl.port, on_conn, NULL) != XMPP_EOK) {
		fail("xmpp_connect_client");
		return -1;
	}
	return 0;
}

/* After a cut: a new connection object with the old one's SM state. */
static int reconnect(void)
{
	xmpp_sm_state_t *sm;

	if (!cl.lost) {
		out("error reconnect: still connected");
		return 0;
	}
	sm = xmpp_conn_get_sm_state(cl.conn);
	xmpp_conn_release(cl.conn);
	cl.conn = NULL;
	return conn_start(sm);
}

static void cut(void)
{
	if (cl.fd < 0 || cl.lost) {
		out("error cut: no connection");
		return;
	}
	if (shutdown(cl.fd, SHUT_RDWR)) {
		out("error cut: shutdown: %s", strerror(errno));
		return;
	}
	cl.was_cut = 1;
	out("cut");
}

static void print_state(void)
{
	out("state sm=%s resumed=%s id=%s in=%ld h_out=%ld h_server=%ld queue=%d",
	    cl.sm_on ? "on" : "off", cl.resumed ? "yes" : "no",
	    cl.sm_id[0] ? cl.sm_id : "-", cl.received, cl.h_out, cl.h_server,
	    cl.conn ? xmpp_conn_send_queue_len(cl.conn) : 0);
}

/* ---- commands ---- */

static void command(char *line)
{
	char *verb = strtok(line, " \t");
	char *to, *body;

	if (!verb)
		return;
	if (!strcmp(verb, "send")) {
		to = strtok(NULL, " \t");
		body = strtok(NULL, "");
		if (!to || !body) {
			out("error usage: send JID BODY");
			return;
		}
		if (cl.lost) {
			out("error send: no connection");
			return;
		}
		send_message(to, body);
	} else if (!strcmp(verb, "state")) {
		print_state();
	} else if (!strcmp(verb, "cut")) {
		cut();
	} else if (!strcmp(verb, "reconnect")) {
		reconnect();
	} else if (!strcmp(verb, "quit")) {
		cl.quitting = 1;
	} else {
		out("error unknown command %s", verb);
	}
}

/* Read what stdin has without waiting; run each complete line. */
static void read_commands(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	ssize_t n;
	char *nl;

	while (cl.stdin_open && poll(&p, 1, 0) > 0) {
		if (cl.line_len >= sizeof cl.line - 1) {
			out("error command line too long");
			cl.line_len = 0;
		}
		n = read(0, cl.line + cl.line_len, sizeof cl.line - 1 - cl.line_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			cl.stdin_open = 0;
			cl.quitting = 1;
			return;
		}
		cl.line_len += (size_t)n;
		cl.line[cl.line_len] = '\0';
		while ((nl = strchr(cl.line, '\n'))) {
			size_t used = (size_t)(nl - cl.line) + 1;
			*nl = '\0';
			if (nl > cl.line && nl[-1] == '\r')
				nl[-1] = '\0';
			command(cl.line);
			memmove(cl.line, cl.line + used, cl.line_len - used + 1);
			cl.line_len -= used;
		}
	}
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr, "usage: strophe-sm -j JID -p PASSWORD [-H HOST] [-P PORT] "
	    "[-t PEER -n N] [-T SECONDS] [-v]\n");
}

static int parse_args(int argc, char **argv, long *deadline_s)
{
	int opt;
	char *end;
	long v;

	cl.host = DEFAULT_HOST;
	cl.port = DEFAULT_PORT;
	*deadline_s = DEFAULT_DEADLINE;
	while ((opt = getopt(argc, argv, "j:p:H:P:t:n:T:v")) != -1) {
		switch (opt) {
		case 'j': cl.jid = optarg; break;
		case 'p': cl.password = optarg; break;
		case 'H': cl.host = optarg; break;
		case 't': cl.peer = optarg; break;
		case 'v': cl.verbose = 1; break;
		case 'P': case 'n': case 'T':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 0 || (opt == 'P' && (v == 0 || v > 65535))) {
				fprintf(stderr, "strophe-sm: bad -%c %s\n", opt, optarg);
				return -1;
			}
			if (opt == 'P')
				cl.port = (unsigned short)v;
			else if (opt == 'n')
				cl.count = v;
			else
				*deadline_s = v;
			break;
		default:
			return -1;
		}
	}
	if (!cl.jid || !cl.password || optind != argc || (cl.count && !cl.peer))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	xmpp_log_t log = { on_log, NULL };
	long deadline_s;
	time_t deadline;
	int rounds;

	if (parse_args(argc, argv, &deadline_s)) {
		usage();
		return EXIT_USAGE;
	}
	/* After a cut, libstrophe may still write to the dead socket: that
	 * is its EPIPE to report, not a signal that kills the client. */
	signal(SIGPIPE, SIG_IGN);
	cl.fd = -1;
	cl.h_out = cl.h_server = -1;
	cl.stdin_open = 1;
	deadline = time(NULL) + deadline_s;

	xmpp_initialize();
	cl.ctx = xmpp_ctx_new(NULL, &log);
	if (!cl.ctx) {
		fprintf(stderr, "strophe-sm: xmpp_ctx_new failed\n");
		xmpp_shutdown();
		return EXIT_FAIL;
	}
	if (conn_start(NULL))
		goto done;

	while (!cl.failed && !cl.quitting) {
		xmpp_run_once(cl.ctx, LOOP_WAIT_MS);
		check_ready();
		if (cl.lost && !cl.was_cut) {
			fail("connection lost");
			break;
		}
		read_commands();
		if (time(NULL) > deadline) {
			fail("timeout");
			break;
		}
	}

	/* quit: close the stream and wait (bounded) for the server's close */
	if (cl.conn && !cl.lost) {
		xmpp_disconnect(cl.conn);
		for (rounds = 0; !cl.lost && rounds < CLOSE_WAIT_ROUNDS; rounds++)
			xmpp_run_once(cl.ctx, LOOP_WAIT_MS);
	}
	if (!cl.failed)
		out("bye");
done:
	if (cl.conn)
		xmpp_conn_release(cl.conn);
	xmpp_ctx_free(cl.ctx);
	xmpp_shutdown();
	return cl.failed ? EXIT_FAIL : EXIT_OK;
}
