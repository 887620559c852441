/*
 * xmpp-listen - accept client connections on sockets systemd passes in
 * (Accept=no) and spawn one xmpp-handler per connection, with the
 * connection as its stdin/stdout: the split of sshd and sshd-session.
 *
 * Under Accept=yes, PID 1 creates a unit, a cgroup and the unit's sandbox
 * for every connection, which caps a host at a few dozen logins a second
 * (bench/README.md, "Real systemd"). Here systemd sets the sandbox up
 * once, for this service; each handler inherits it and then confines
 * itself further (xmpp-handler(8), SANDBOX). Spawning is posix_spawn()
 * (a vfork: no page tables copied).
 *
 * Admission control: at most max_login handlers are in their login phase
 * (from accept to a bound session) and at most max_conn run at all, at
 * most max_source of them from one address. Beyond that the listener
 * stops accepting and new connections wait in the kernel's listen backlog,
 * so a login storm is taken at the rate the machine can serve instead of
 * starving every handler at once. A handler marks the end of its login
 * phase by closing the pipe it gets as XMPP_LOGIN_FD (exiting does too).
 *
 *   signalfd (SIGCHLD, SIGTERM, ...) -> reap, or stop
 *   listening sockets (while admitting) -> accept4 -> spawn_handler
 *   login pipes (POLLHUP) -> login phase over
 *
 * Exit status: 0 stopped by a signal, 100 usage, 111 system failure.
 * Handlers outlive the listener (KillMode=process): a restart of the
 * listener, e.g. to upgrade it, costs no session.
 */
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define PROG  "xmpp-listen"
#define USAGE "usage: " PROG " [-l max-login] [-m max-conn] [-s max-source] handler [args...]"

#define MAX_LISTEN      16          /* listening sockets from systemd */
#define LOGIN_FD        3           /* the handler's end of its login pipe */
#define LOGIN_FD_ENV    "XMPP_LOGIN_FD=3"
#define TLS_FD_NAME     "xmpps"     /* FileDescriptorName= of direct-TLS sockets */
#define ACCEPT_PAUSE_MS 100         /* after EMFILE/ENFILE/ENOMEM from accept */
#define DEF_MAX_LOGIN   256
#define DEF_MAX_CONN    65536
#define DEF_MAX_SOURCE  256
#define LIMIT_MAX       1000000

extern char **environ;

struct child {
	pid_t pid;
	int login_fd;                   /* read end of the login pipe, or -1 */
	unsigned char addr[16];         /* the client's address, for max_source */
	socklen_t addrlen;
};

struct listener {
	int fds[MAX_LISTEN];
	int tls[MAX_LISTEN];            /* the handler gets -T */
	int nfds;
	char **argv;                    /* handler argv, ... */
	char **argv_tls;                /* ... and the same with -T */
	char **envp;                    /* environ minus LISTEN_*, plus LOGIN_FD_ENV */
	struct child *kids;
	int nkids, nlogin;
	long max_login, max_conn, max_source;
	struct timespec paused_until;
};

static long parse_limit(const char *s)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > LIMIT_MAX) {
		fprintf(stderr, "%s: not a limit between 1 and %d: %s\n", PROG, LIMIT_MAX, s);
		exit(100);
	}
	return v;
}

/* The client's address without the port: what max_source counts. */
static socklen_t source_key(const struct sockaddr_storage *ss, unsigned char out[16])
{
	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return 16;
	}
	return 0;
}

static int same_source(const struct listener *l, const unsigned char *key, socklen_t len)
{
	int i, n = 0;
	if (!len)
		return 0;
	for (i = 0; i < l->nkids; i++)
		if (l->kids[i].addrlen == len && !memcmp(l->kids[i].addr, key, len))
			n++;
	return n;
}

static void describe(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(out, n, "%s:%u", host, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(out, n, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		snprintf(out, n, "local");
	}
}

/* Run the handler on conn; its login pipe's write end becomes LOGIN_FD.
 * 0, or -1 with nothing left behind. */
static int spawn_handler(struct listener *l, int conn, int tls, const struct sockaddr_storage *ss)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, dfl;
	int p[2], rc;
	pid_t pid;
	struct child *k;
	char peer[INET6_ADDRSTRLEN + 8];

	if (pipe2(p, O_CLOEXEC) == -1) {
		log_msg(LOG_ERR, "pipe: %s", strerror(errno));
		return -1;
	}
	sigemptyset(&none);
	sigfillset(&dfl);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, conn, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, conn, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, p[1], LOGIN_FD);
	posix_spawnattr_init(&sa);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setsigdefault(&sa, &dfl);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, l->argv[0], &fa, &sa, tls ? l->argv_tls : l->argv, l->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(p[1]);
	if (rc) {
		log_msg(LOG_ERR, "spawn %s: %s", l->argv[0], strerror(rc));
		close(p[0]);
		return -1;
	}
	k = &l->kids[l->nkids++];
	k->pid = pid;
	k->login_fd = p[0];
	k->addrlen = source_key(ss, k->addr);
	l->nlogin++;
	describe(ss, peer, sizeof peer);
	log_msg(LOG_DEBUG, "handler %ld for %s", (long)pid, peer);
	return 0;
}

static void login_over(struct listener *l, struct child *k)
{
	if (k->login_fd < 0)
		return;
	close(k->login_fd);
	k->login_fd = -1;
	l->nlogin--;
}

static void reap(struct listener *l)
{
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < l->nkids && l->kids[i].pid != pid; i++)
			;
		if (i == l->nkids)
			continue;
		login_over(l, &l->kids[i]);
		l->kids[i] = l->kids[--l->nkids];
		/* A clean end is routine; anything else deserves a warning. */
		if (WIFSIGNALED(status))
			log_msg(LOG_WARNING, "handler %ld killed by signal %d", (long)pid, WTERMSIG(status));
		else
			log_msg(WEXITSTATUS(status) ? LOG_WARNING : LOG_DEBUG,
			    "handler %ld exited with status %d", (long)pid, WEXITSTATUS(status));
	}
}

static int admitting(const struct listener *l)
{
	struct timespec now;
	if (l->nlogin >= l->max_login || l->nkids >= l->max_conn)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > l->paused_until.tv_sec ||
	    (now.tv_sec == l->paused_until.tv_sec && now.tv_nsec >= l->paused_until.tv_nsec);
}

static void pause_accepting(struct listener *l, const char *why)
{
	clock_gettime(CLOCK_MONOTONIC, &l->paused_until);
	l->paused_until.tv_nsec += ACCEPT_PAUSE_MS * 1000000L;
	if (l->paused_until.tv_nsec >= 1000000000L) {
		l->paused_until.tv_sec++;
		l->paused_until.tv_nsec -= 1000000000L;
	}
	log_msg(LOG_WARNING, "accept: %s; pausing %d ms", why, ACCEPT_PAUSE_MS);
}

/* Take what one listening socket has queued, while admission allows. */
static void accept_some(struct listener *l, int i)
{
	while (admitting(l)) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		unsigned char key[16];
		socklen_t klen;
		int conn = accept4(l->fds[i], (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

		if (conn == -1) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				pause_accepting(l, strerror(errno));
			else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_msg(LOG_ERR, "accept: %s", strerror(errno));
			return;
		}
		klen = source_key(&ss, key);
		if (same_source(l, key, klen) >= l->max_source) {
			char peer[INET6_ADDRSTRLEN + 8];
			describe(&ss, peer, sizeof peer);
			log_msg(LOG_WARNING, "refusing %s: %ld connections from its address",
			    peer, l->max_source);
		} else {
			spawn_handler(l, conn, l->tls[i], &ss);
		}
		close(conn);
	}
}

/* A copy of the NULL-terminated vector src without the strings drop()
 * picks (NULL: none), with extra appended. */
static char **vec_with(char **src, int (*drop)(const char *), const char *extra)
{
	size_t n = 0, i, j = 0;
	char **v;
	while (src[n])
		n++;
	v = calloc(n + 2, sizeof *v);
	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		if (!drop || !drop(src[i]))
			v[j++] = src[i];
	v[j] = (char *)extra;
	return v;
}

/* What handlers must not inherit: systemd's LISTEN_*, an old login fd. */
static int listener_only(const char *env)
{
	return !strncmp(env, "LISTEN_", 7) || !strncmp(env, "XMPP_LOGIN_FD=", 14);
}

static int take_sockets(struct listener *l)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names), i;

	if (n <= 0) {
		log_msg(LOG_ERR, "no listening sockets from systemd (%s)",
		    n < 0 ? strerror(-n) : "LISTEN_FDS unset");
		return -1;
	}
	if (n > MAX_LISTEN) {
		log_msg(LOG_ERR, "%d listening sockets; at most %d", n, MAX_LISTEN);
		return -1;
	}
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		int fl = fcntl(fd, F_GETFL);
		if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
		    sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			log_msg(LOG_ERR, "fd %d is not a listening stream socket", fd);
			return -1;
		}
		l->fds[i] = fd;
		l->tls[i] = names && names[i] && !strcmp(names[i], TLS_FD_NAME);
	}
	l->nfds = n;
	for (i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	return 0;
}

static int signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Poll set: the signalfd, the listening sockets while admitting, every
 * open login pipe. Returns 1 to go on, 0 once told to stop. */
static int serve_once(struct listener *l, int sfd, struct pollfd *pfd)
{
	int n = 0, i, nlisten = 0, timeout = -1, kid0;
	struct signalfd_siginfo si;

	pfd[n].fd = sfd;
	pfd[n++].events = POLLIN;
	if (admitting(l)) {
		for (i = 0; i < l->nfds; i++) {
			pfd[n].fd = l->fds[i];
			pfd[n++].events = POLLIN;
		}
		nlisten = l->nfds;
	} else if (l->nlogin < l->max_login && l->nkids < l->max_conn) {
		timeout = ACCEPT_PAUSE_MS;      /* paused after an accept error */
	}
	kid0 = n;
	for (i = 0; i < l->nkids; i++)
		if (l->kids[i].login_fd >= 0) {
			pfd[n].fd = l->kids[i].login_fd;
			pfd[n++].events = POLLIN;
		}
	if (poll(pfd, (nfds_t)n, timeout) == -1) {
		if (errno == EINTR)
			return 1;
		log_msg(LOG_ERR, "poll: %s", strerror(errno));
		return 0;
	}
	/* Login pipes first: they free admission slots. Match by fd. */
	for (i = kid0; i < n; i++) {
		int k;
		if (!pfd[i].revents)
			continue;
		for (k = 0; k < l->nkids && l->kids[k].login_fd != pfd[i].fd; k++)
			;
		if (k < l->nkids)
			login_over(l, &l->kids[k]);
	}
	if (pfd[0].revents) {
		while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
			if (si.ssi_signo != SIGCHLD) {
				log_msg(LOG_INFO, "stopping on signal %u; %d handlers keep running",
				    si.ssi_signo, l->nkids);
				return 0;
			}
		}
		reap(l);
	}
	for (i = 0; i < nlisten; i++)
		if (pfd[1 + i].revents)
			accept_some(l, i);
	return 1;
}

int main(int argc, char **argv)
{
	struct listener l;
	struct pollfd *pfd;
	int opt, sfd;

	memset(&l, 0, sizeof l);
	l.max_login = DEF_MAX_LOGIN;
	l.max_conn = DEF_MAX_CONN;
	l.max_source = DEF_MAX_SOURCE;
	log_init(PROG);
	while ((opt = getopt(argc, argv, "+l:m:s:")) != -1) {
		if (opt == 'l')
			l.max_login = parse_limit(optarg);
		else if (opt == 'm')
			l.max_conn = parse_limit(optarg);
		else if (opt == 's')
			l.max_source = parse_limit(optarg);
		else
			goto usage;
	}
	if (optind >= argc || argv[optind][0] != '/')
		goto usage;
	l.argv = argv + optind;
	l.argv_tls = vec_with(l.argv, NULL, "-T");
	l.envp = vec_with(environ, listener_only, LOGIN_FD_ENV);
	l.kids = calloc((size_t)l.max_conn, sizeof *l.kids);
	pfd = calloc((size_t)(1 + MAX_LISTEN + l.max_login), sizeof *pfd);
	if (!l.argv_tls || !l.envp || !l.kids || !pfd) {
		log_msg(LOG_ERR, "out of memory");
		return 111;
	}
	if (take_sockets(&l) == -1)
		return 111;
	if ((sfd = signals()) == -1) {
		log_msg(LOG_ERR, "signals: %s", strerror(errno));
		return 111;
	}
	log_msg(LOG_INFO, "listening on %d sockets: at most %ld logins at once, "
	    "%ld connections, %ld per address", l.nfds, l.max_login, l.max_conn, l.max_source);
	while (serve_once(&l, sfd, pfd))
		;
	free(pfd);
	free(l.kids);
	free(l.envp);
	free(l.argv_tls);
	return 0;
usage:
	fprintf(stderr, "%s\n", USAGE);
	return 100;
}
