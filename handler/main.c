/*
 * xmpp-handler - serve one XMPP client connection on stdin/stdout.
 *
 * Started by systemd (Accept=yes), xmpp-listen or any inetd with the
 * connection as fd 0 and 1. The whole life of a connection, from this
 * file's main():
 *
 *   config -> Redis (commands, subscriber) -> loop: poll(client, subscriber, timer)
 *   client -> Redis:
 *     conn_read -> conn_input -> expat -> stream.c (header, features,
 *     STARTTLS, restarts) -> the module table (modules.c):
 *       SASL / iq:auth -> conn_authenticated;  bind -> conn_bind (session
 *       record, subscribe);  IQ to the server or account -> the module of
 *       its namespace (roster, serveriq, vcard, private), and so is a
 *       request to another user's bare JID in a namespace a module
 *       answers for users (vcard);  other stanzas -> inbound hooks:
 *       presence (fan-out to contacts), deliver (a read's messages in one
 *       round trip: route_stanza.lua appends to each recipient session's
 *       inbox and PUBLISHes a wake-up, or stores offline, or says error)
 *   Redis -> client:
 *     subscriber -> conn_deliver: "inbox" -> conn_after_wakeups -> conn_pull
 *       (LRANGE+LTRIM the inbox; each message written and kept in the ackq
 *       until the client answers the ping after it; the pull waits while
 *       512 KiB are unconfirmed);  presence, roster push -> outbound hooks
 *     (a module may hold back what can wait: csi.c);  with XEP-0198 (sm.c)
 *     the client's <a/> confirms instead, and what it has not yet
 *     acknowledged is kept in Redis, not here
 *   conn_tick: login and idle timers (idle ping), ack_timeout, heartbeat,
 *     reaping of dead handlers' sessions;  conn_flush: (sm_sync.lua) ->
 *     output -> client
 *   -> conn_finish: ended hooks (unavailable presence), record removed,
 *      inbox and unconfirmed messages routed again (relay.c) -> exit;
 *      or, a resumable session only lost, detached for resume_timeout
 *
 * -T: direct TLS (XEP-0368, port 5223): TLS from the first byte.
 * -w: XMPP over WebSocket (RFC 7395, ws.c): an HTTP/1.1 upgrade first,
 *     then WebSocket frames; TLS (wss) is a reverse proxy's, so not with -T.
 * -V: print the version compiled in (version.h) and exit.
 * Exit status: 0 the stream ended, 100 usage, 111 system failure before serving.
 */
#include "config.h"
#include "log.h"
#include "store.h"
#include "conn-int.h"
#include "sandbox.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG  "xmpp-handler"
#define USAGE "usage: " PROG " [-V] [-c config-file] [-T | -w]"

#define READ_CHUNK        16384
#define OUT_MAX           (4 * 1024 * 1024)  /* unread output that ends a session */
#define CLOSE_GRACE_SEC   5                  /* to flush the last bytes */
#define REDIS_TRIES       3
#define REDIS_RETRY_MS    300

static volatile sig_atomic_t got_term;

/* -w: the client expects an HTTP answer first, even to a refusal. */
static int websocket;

/* xmpp-listen's admission control: the write end of a pipe it holds the
 * read end of, closed when the login phase is over (XMPP_LOGIN_FD). */
static int login_fd = -1;

static void login_fd_take(void)
{
	const char *v = getenv("XMPP_LOGIN_FD");
	struct stat sb;
	char *end;
	long fd;

	if (!v)
		return;
	fd = strtol(v, &end, 10);
	if (!*end && fd > STDERR_FILENO && fd < 1024 && fstat((int)fd, &sb) == 0 &&
	    S_ISFIFO(sb.st_mode)) {
		login_fd = (int)fd;
		fcntl(login_fd, F_SETFD, FD_CLOEXEC);
	}
	unsetenv("XMPP_LOGIN_FD");
}

static void login_fd_release(void)
{
	if (login_fd >= 0) {
		close(login_fd);
		login_fd = -1;
	}
}

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void peer_name(char *out, size_t outsz)
{
	const char *a = getenv("REMOTE_ADDR"), *p = getenv("REMOTE_PORT");
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN] = "?";

	if (a) {
		snprintf(out, outsz, "%s%s%s", a, p ? ":" : "", p ? p : "");
		return;
	}
	if (getpeername(STDIN_FILENO, (struct sockaddr *)&ss, &len) == -1) {
		snprintf(out, outsz, "local");
		return;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(out, outsz, "%s:%u", host, ntohs(s4->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(out, outsz, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		snprintf(out, outsz, "local");
	}
}

/* A bad config still deserves a stream error rather than a dropped socket. */
static void refuse(const char *why)
{
	static const char msg[] = "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
	    "version='1.0'><stream:error><internal-server-error "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>";
	static const char http[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	log_msg(LOG_ERR, "refusing connection: %s", why);
	if ((websocket ? write(STDOUT_FILENO, http, sizeof http - 1) :
	    write(STDOUT_FILENO, msg, sizeof msg - 1)) == -1)
		log_msg(LOG_ERR, "write: %s", strerror(errno));
	exit(111);
}

static int open_store(struct store *st, const struct config *cfg)
{
	int i;
	for (i = 0; i < REDIS_TRIES; i++) {
		if (store_open(st, cfg->redis, cfg->key_prefix, cfg->redis_timeout_ms) == 0) {
			store_policy(st, cfg);
			return 0;
		}
		usleep(REDIS_RETRY_MS * 1000);
	}
	log_msg(LOG_ERR, "redis: %s", st->err);
	return -1;
}

/* Hand each published payload to the connection. -1 if Redis went away. */
static int read_subscriber(struct conn *c, struct store *st)
{
	redisReply *r;
	if (redisBufferRead(st->sub) != REDIS_OK)
		return -1;
	for (;;) {
		if (redisGetReplyFromReader(st->sub, (void **)&r) != REDIS_OK)
			return -1;
		if (!r)
			return 0;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[2]->type == REDIS_REPLY_STRING &&
		    !strcmp(r->element[0]->str, "message"))
			conn_deliver(c, r->element[2]->str, r->element[2]->len);
		freeReplyObject(r);
	}
}

/* Token bucket over the client's bytes: max_read_rate per second on
 * average, max_read_burst at once. -1 once the client has outrun it. */
struct rate {
	double tokens;
	struct timespec last;
};

static int rate_take(struct rate *r, const struct config *cfg, long n)
{
	struct timespec now;
	double dt;
	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - r->last.tv_sec) + (double)(now.tv_nsec - r->last.tv_nsec) / 1e9;
	r->last = now;
	r->tokens += dt * (double)cfg->max_read_rate;
	if (r->tokens > (double)cfg->max_read_burst)
		r->tokens = (double)cfg->max_read_burst;
	r->tokens -= (double)n;
	return r->tokens < 0 ? -1 : 0;
}

static void serve(struct conn *c, struct store *st, const struct config *cfg)
{
	char buf[READ_CHUNK];
	time_t closing_since = 0;
	struct rate rate = { (double)cfg->max_read_burst, { 0, 0 } };

	clock_gettime(CLOCK_MONOTONIC, &rate.last);
	for (;;) {
		struct pollfd pfd[2];
		int n = 0, timeout, isub = -1;
		time_t now = time(NULL);

		if (got_term)
			conn_stream_error(c, "system-shutdown", NULL);
		timeout = conn_tick(c, now);
		if (conn_closing(c)) {
			if (!closing_since)
				closing_since = now;
			if (!conn_output_pending(c) || now - closing_since >= CLOSE_GRACE_SEC)
				break;
		}
		if (conn_output_pending(c) > OUT_MAX) {
			conn_eof(c, "client does not read");
			break;
		}
		pfd[n].fd = STDIN_FILENO;
		pfd[n++].events = conn_poll_events(c);
		if (st->sub && !conn_closing(c)) {
			isub = n;
			pfd[n].fd = st->sub->fd;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, timeout * 1000) == -1) {
			if (errno == EINTR)
				continue;
			conn_eof(c, "poll failed");
			break;
		}
		if (pfd[0].revents) {
			long got = 0;
			/* TLS may hold more than one read's worth: drain it. */
			while (!conn_closing(c) && (got = conn_read(c, buf, sizeof buf)) > 0) {
				if (rate_take(&rate, cfg, got) == -1) {
					conn_stream_error(c, "policy-violation", "sending too fast");
					break;
				}
				conn_input(c, buf, (size_t)got);
			}
			if (got == -1)
				break;
		}
		if (isub >= 0 && pfd[isub].revents && read_subscriber(c, st) == -1) {
			store_suspect(st);
			conn_stream_error(c, "internal-server-error", "storage unavailable");
		}
		conn_after_wakeups(c);
		if (conn_flush(c) == -1)
			break;
		if (login_fd >= 0 && (conn_logged_in(c) || conn_closing(c)))
			login_fd_release();
	}
	conn_flush(c);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct store st;
	struct conn c;
	char err[512], peer[128];
	const char *cfgpath = NULL;
	int opt, flags, direct_tls = 0;

	log_init(PROG);
	login_fd_take();
	while ((opt = getopt(argc, argv, "c:TVw")) != -1) {
		if (opt == 'c') {
			cfgpath = optarg;
		} else if (opt == 'T') {
			direct_tls = 1;
		} else if (opt == 'w') {
			websocket = 1;
		} else if (opt == 'V') {
			printf("%s %s\n", PROG, XMPPD_VERSION);
			return 0;
		} else {
			fprintf(stderr, "%s\n", USAGE);
			return 100;
		}
	}
	if (direct_tls && websocket) {
		fprintf(stderr, "%s\n", USAGE);
		return 100;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGHUP, on_term);
	signal(SIGINT, on_term);
	peer_name(peer, sizeof peer);
	log_set_context(peer, NULL, NULL);
	if (config_load(&cfg, cfgpath, err, sizeof err) == -1)
		refuse(err);
	flags = fcntl(STDIN_FILENO, F_GETFL);
	/* Stanzas are small and each flush is one write: Nagle would hold
	 * an acknowledgement or a short answer back for a delayed ACK. */
	setsockopt(STDOUT_FILENO, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (flags == -1 || fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK) == -1)
		refuse("stdin is not usable");
	if (sandbox_enter(&cfg, cfgpath, err, sizeof err) == -1)
		refuse(err);
	conn_init(&c, &cfg, &st, peer, STDIN_FILENO, STDOUT_FILENO);
	log_msg(LOG_INFO, "connect%s", direct_tls ? " (direct TLS)" : websocket ? " (WebSocket)" : "");
	if (direct_tls && conn_direct_tls(&c) == -1) {
		conn_free(&c);
		store_close(&st);
		return 111;     /* no TLS to speak: nothing can be said to the client */
	}
	if (websocket && conn_websocket(&c) == -1) {
		conn_free(&c);
		return 0;       /* refused with an HTTP status, or the client left */
	}
	conn_set_storage(&c, open_store(&st, &cfg) == 0);
	if (websocket)
		conn_websocket_early(&c);
	serve(&c, &st, &cfg);
	conn_finish(&c);
	conn_free(&c);
	store_close(&st);
	return 0;
}
