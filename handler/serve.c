/*
 * serve.c - around one connection: the process's start (serve.h) and the
 * poll loop between the client, Redis's subscriber and the timers.
 */
#include "serve.h"
#include "rate.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "conn-int.h"
#include "sandbox.h"
#include "uploadstore.h"

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

#define READ_CHUNK        16384
#define OUT_MAX           (4 * 1024 * 1024)  /* unread output that ends a session */
#define CLOSE_GRACE_SEC   5                  /* to flush the last bytes */

static volatile sig_atomic_t got_term;

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

int serve_store(struct store *st, const struct config *cfg)
{
	return store_open_config(st, cfg);
}

static void deliver(const char *payload, size_t len, void *arg)
{
	conn_deliver(arg, payload, len);
}

int serve_sub_poll(const struct store *st, struct pollfd *pfd)
{
	int fds[SERVE_SUB_FDS], n = store_sub_fds(st, fds, SERVE_SUB_FDS), i;
	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return n;
}

int serve_subscriber(struct conn *c, struct store *st, const struct pollfd *pfd, int nsub)
{
	int i;
	for (i = 0; i < nsub; i++)
		if (pfd[i].revents && store_sub_read(st, pfd[i].fd, deliver, c) == -1)
			return -1;
	return store_sub_read(st, -1, deliver, c);
}

void serve_stream(struct conn *c, struct store *st, const struct config *cfg)
{
	char buf[READ_CHUNK];
	time_t closing_since = 0;
	struct rate rate;

	/* max_read_rate a second on average, max_read_burst at once */
	rate_init(&rate, cfg->max_read_rate, cfg->max_read_burst);
	for (;;) {
		struct pollfd pfd[1 + SERVE_SUB_FDS];
		int n = 0, nsub = 0, timeout;
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
		if (!conn_closing(c))
			n += nsub = serve_sub_poll(st, pfd + n);
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
				if (rate_take(&rate, got) == -1) {
					conn_stream_error(c, "policy-violation", "sending too fast");
					break;
				}
				conn_input(c, buf, (size_t)got);
			}
			if (got == -1)
				break;
		}
		if (serve_subscriber(c, st, pfd + 1, nsub) == -1) {
			store_suspect(st);
			conn_storage_lost(c, "storage unavailable");
		}
		if (store_moved(st) && !conn_closing(c))
			conn_storage_lost(c, "storage failover");
		conn_after_wakeups(c);
		if (conn_flush(c) == -1)
			break;
		if (login_fd >= 0 && (conn_logged_in(c) || conn_closing(c)))
			login_fd_release();
	}
	conn_flush(c);
}


void serve_start(const char *prog, char *peer, size_t peerlen)
{
	log_init(prog);
	login_fd_take();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGHUP, on_term);
	signal(SIGINT, on_term);
	peer_name(peer, peerlen);
	log_set_context(peer, NULL, NULL);
}

int serve_setup(struct config *cfg, const char *cfgpath, int uploads, char *err,
    size_t errlen)
{
	int flags;

	if (config_load(cfg, cfgpath, err, errlen) == -1)
		return -1;
	flags = fcntl(STDIN_FILENO, F_GETFL);
	/* Stanzas are small and each flush is one write: Nagle would hold
	 * an acknowledgement or a short answer back for a delayed ACK. */
	setsockopt(STDOUT_FILENO, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (flags == -1 || fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "stdin is not usable");
		return -1;
	}
	if (uploads && cfg->upload_domain[0])
		return sandbox_enter_writable(cfg, cfgpath, cfg->upload_dir,
		    UPLOADSTORE_FILE_MAX(cfg->upload_max_size), err, errlen);
	return sandbox_enter(cfg, cfgpath, err, errlen);
}
