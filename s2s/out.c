/*
 * xmpp-s2s-out - the outbound side of federation: the dispatcher that
 * starts one connection process per route with work, and one relay per
 * room with occupants on other domains (xmpp-s2s-out(8)).
 *
 * One dispatcher runs per host (systemd: xmpp-s2s-out.service). It
 * watches Redis for routes "REMOTE/LOCAL" with work (router/s2s.h: the
 * set of routes read at start and every DISPATCH_SCAN seconds, and the
 * wake channel the queueing scripts publish on) and forks a child for
 * each route that has none of ours (outconn.c). A child holds the
 * route's lease while it lives, so that one process in the whole cluster
 * serves a route; one that finds the lease taken exits at once, and the
 * route is looked at again later (the holder may die). The rooms
 * (router/mucremote.h: their set, read with the routes, and the wake-up
 * "room ROOM") get a child each the same way, their relay
 * (roomrelay.c). A child that
 * fails is started again after a backoff (DISPATCH_BACKOFF_MIN seconds,
 * doubling to DISPATCH_BACKOFF_MAX) while its route still has work.
 *
 * -c FILE: the configuration (else $XMPP_CONFIG, else /etc/xmpp/xmpp.conf).
 * Exit status: 0 stopped by SIGTERM/SIGINT, 100 usage, 111 system
 * failure (the configuration does not load).
 */
#include "config.h"
#include "log.h"
#include "mucremote.h"
#include "outconn.h"
#include "roomrelay.h"
#include "s2s.h"
#include "store.h"
#include "strvec.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG  "xmpp-s2s-out"
#define USAGE "usage: xmpp-s2s-out [-c config]"

#define EXIT_USAGE  100
#define EXIT_SYSTEM 111

#define DISPATCH_SCAN         5     /* seconds between reads of the route set:
                                       a wake-up lost by pub/sub waits no longer */
#define DISPATCH_TICK_MS      1000  /* the loop's longest sleep */
#define DISPATCH_BACKOFF_MIN  2     /* seconds before restarting a failed child */
#define DISPATCH_BACKOFF_MAX  60
#define DISPATCH_LEASE_RETRY  (OUTCONN_LEASE_TTL / 3)  /* route served elsewhere */
#define DISPATCH_REDIS_RETRY  2     /* seconds between attempts to reach Redis */
#define DISPATCH_STOP_GRACE   10    /* seconds children get to close on SIGTERM */
#define DISPATCH_ROUTE_MAX    S2S_ROUTE_MAX

struct child {
	char route[DISPATCH_ROUTE_MAX];     /* a route "REMOTE/LOCAL", or a room */
	pid_t pid;                  /* 0: none running */
	time_t not_before;          /* no new child before this (backoff) */
	int backoff;                /* seconds of the last backoff; 0 none */
	int wanted;                 /* has work: start one when allowed */
};

static struct config cfg;
static struct store st;
static struct child *children;
static size_t nchildren, capchildren;
static volatile sig_atomic_t stop, reap;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_child(int sig)
{
	(void)sig;
	reap = 1;
}

static struct child *child_of(const char *route, int add)
{
	size_t i;

	for (i = 0; i < nchildren; i++)
		if (!strcmp(children[i].route, route))
			return &children[i];
	if (!add || strlen(route) >= DISPATCH_ROUTE_MAX)
		return NULL;
	if (nchildren == capchildren) {
		capchildren = capchildren ? 2 * capchildren : 16;
		children = realloc(children, capchildren * sizeof *children);
		if (!children) {
			log_msg(LOG_ERR, "out of memory");
			exit(EXIT_SYSTEM);
		}
	}
	memset(&children[nchildren], 0, sizeof children[nchildren]);
	snprintf(children[nchildren].route, DISPATCH_ROUTE_MAX, "%s", route);
	return &children[nchildren++];
}

/* The child's life: serve one route (or relay one room: a name without
 * '/'), then exit with outconn's status. */
static void child_main(const char *route)
{
	static char r[DISPATCH_ROUTE_MAX];
	int rc;

	snprintf(r, sizeof r, "%s", route);
	/* The dispatcher's Redis connections are its own: not used here. */
	store_close(&st);
	free(children);
	children = NULL;
	signal(SIGCHLD, SIG_DFL);
	rc = strchr(r, '/') ? outconn_run(&cfg, r, &stop) : roomrelay_run(&cfg, r, &stop);
	exit(rc);
}

static void start(struct child *c, time_t now)
{
	pid_t pid;

	c->wanted = 0;
	pid = fork();
	if (pid == -1) {
		log_msg(LOG_ERR, "%s: fork: %s", c->route, strerror(errno));
		c->not_before = now + DISPATCH_BACKOFF_MIN;
		c->wanted = 1;
		return;
	}
	if (pid == 0)
		child_main(c->route);
	c->pid = pid;
	log_msg(LOG_INFO, "%s: started connection process %ld", c->route, (long)pid);
}

/* route (or room) has work: start a child for it unless one runs or
 * backs off. */
static void consider(const char *route, time_t now)
{
	struct child *c;

	if (!strchr(route, '/') && !strchr(route, '@'))
		return;                /* neither a route (router/s2s.h) nor a room */
	if (s2s_is_component_route(route))
		return;                /* its component's own process serves it */
	if (!(c = child_of(route, 1)) || c->pid)
		return;
	if (now < c->not_before) {
		c->wanted = 1;
		return;
	}
	start(c, now);
}

/* Children that ended: their backoff. How many. */
static int reap_children(time_t now)
{
	int status, code, n = 0;
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nchildren && children[i].pid != pid; i++)
			;
		if (i == nchildren)
			continue;
		children[i].pid = 0;
		n++;
		code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (code == OUTCONN_EXIT_DONE) {
			children[i].backoff = 0;
			children[i].not_before = now;
		} else if (code == OUTCONN_EXIT_LEASE) {
			children[i].not_before = now + DISPATCH_LEASE_RETRY;
		} else {
			children[i].backoff = children[i].backoff ? 2 * children[i].backoff
			    : DISPATCH_BACKOFF_MIN;
			if (children[i].backoff > DISPATCH_BACKOFF_MAX)
				children[i].backoff = DISPATCH_BACKOFF_MAX;
			children[i].not_before = now + children[i].backoff;
			log_msg(LOG_NOTICE, "%s: connection process %ld failed (%d): "
			    "again in %d s if work remains", children[i].route, (long)pid, code,
			    children[i].backoff);
		}
	}
	return n;
}

/* Reach Redis and subscribe to the wake channel. 0, or -1. */
static int connect_redis(void)
{
	char ch[STORE_MAX_GLOBAL_KEY];
	redisReply *r;

	if (store_open(&st, cfg.redis, cfg.key_prefix, cfg.redis_timeout_ms) == -1 ||
	    store_open_sub(&st) == -1)
		goto fail;
	store_policy(&st, &cfg);
	store_global_key(&st, S2S_WAKE_CHANNEL, ch, sizeof ch);
	if (redisAppendCommand(st.sub, "SUBSCRIBE %s", ch) != REDIS_OK ||
	    redisGetReply(st.sub, (void **)&r) != REDIS_OK) {
		snprintf(st.err, sizeof st.err, "SUBSCRIBE: %s", st.sub->errstr);
		goto fail;
	}
	freeReplyObject(r);
	return 0;
fail:
	log_msg(LOG_ERR, "redis: %s", st.err);
	store_close(&st);
	return -1;
}

/* Every route with work, every room to relay. -1 if Redis is gone. */
static int scan(time_t now)
{
	struct strvec v = { 0 };
	size_t i;

	if (s2s_domains(&st, &v) < 0 || muc_remote_rooms(&st, &v) < 0) {
		log_msg(LOG_ERR, "redis: %s", st.err);
		strvec_free(&v);
		return -1;
	}
	for (i = 0; i < v.n && !stop; i++)
		consider(v.v[i], now);
	strvec_free(&v);
	return 0;
}

/* Wake-ups published since the last read. -1 if the subscriber is gone. */
static int read_wakes(time_t now)
{
	redisReply *r;

	if (redisBufferRead(st.sub) != REDIS_OK)
		return -1;
	for (;;) {
		if (redisGetReplyFromReader(st.sub, (void **)&r) != REDIS_OK)
			return -1;
		if (!r)
			return 0;
		/* "close ROUTE" is for the route's connection, not work;
		 * "room ROOM" names a room to relay. */
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[2]->type == REDIS_REPLY_STRING &&
		    !strcmp(r->element[0]->str, "message")) {
			const char *m = r->element[2]->str;
			if (!strncmp(m, MUC_REMOTE_WAKE_PREFIX, sizeof MUC_REMOTE_WAKE_PREFIX - 1))
				consider(m + sizeof MUC_REMOTE_WAKE_PREFIX - 1, now);
			else if (strncmp(m, S2S_CLOSE_PREFIX, sizeof S2S_CLOSE_PREFIX - 1))
				consider(m, now);
		}
		freeReplyObject(r);
	}
}

static int running(void)
{
	size_t i;
	int n = 0;

	for (i = 0; i < nchildren; i++)
		n += children[i].pid != 0;
	return n;
}

/* SIGTERM to every child, SIGKILL to those still there after the grace. */
static void stop_children(void)
{
	time_t until = time(NULL) + DISPATCH_STOP_GRACE;
	size_t i;

	for (i = 0; i < nchildren; i++)
		if (children[i].pid)
			kill(children[i].pid, SIGTERM);
	while (running() && time(NULL) < until) {
		reap_children(time(NULL));
		usleep(50 * 1000);
	}
	for (i = 0; i < nchildren; i++)
		if (children[i].pid) {
			log_msg(LOG_WARNING, "%s: connection process %ld killed", children[i].route,
			    (long)children[i].pid);
			kill(children[i].pid, SIGKILL);
			waitpid(children[i].pid, NULL, 0);
			children[i].pid = 0;
		}
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	char err[512];
	struct sigaction sa;
	time_t last_scan = 0, last_try = 0, now;
	int opt, rescan = 1;
	size_t i;

	while ((opt = getopt(argc, argv, "c:")) != -1) {
		if (opt == 'c') {
			path = optarg;
		} else {
			fprintf(stderr, "%s\n", USAGE);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s\n", USAGE);
		return EXIT_USAGE;
	}
	log_init(PROG);
	if (config_load(&cfg, path, err, sizeof err) == -1) {
		log_msg(LOG_ERR, "%s", err);
		return EXIT_SYSTEM;
	}
	if (!cfg.s2s)
		log_msg(LOG_NOTICE, "federation is off (s2s = no): nothing will be queued");
	/* No SA_RESTART: poll returns at once for a signal. */
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_msg(LOG_INFO, "dispatching outbound federation for host %s", cfg.hostname);

	while (!stop) {
		struct pollfd p;
		int n = 0;

		now = time(NULL);
		reap = 0;
		if (reap_children(now) > 0)
			rescan = 1;     /* its route is looked at again at once */
		if (!store_is_open(&st) && now - last_try >= DISPATCH_REDIS_RETRY) {
			last_try = now;
			if (connect_redis() == 0)
				rescan = 1;
		}
		if (store_is_open(&st) && (rescan || now - last_scan >= DISPATCH_SCAN)) {
			rescan = 0;
			last_scan = now;
			if (scan(now) == -1)
				store_close(&st);
		}
		for (i = 0; i < nchildren && !stop; i++)
			if (children[i].wanted && !children[i].pid && now >= children[i].not_before)
				start(&children[i], now);
		if (st.sub) {
			p.fd = st.sub->fd;
			p.events = POLLIN;
			n = 1;
		}
		if (reap || stop)
			continue;
		if (poll(&p, (nfds_t)n, DISPATCH_TICK_MS) == -1) {
			if (errno != EINTR) {
				log_msg(LOG_ERR, "poll: %s", strerror(errno));
				break;
			}
			continue;
		}
		if (n && p.revents && read_wakes(time(NULL)) == -1) {
			log_msg(LOG_ERR, "redis: the subscriber is gone");
			store_close(&st);
		}
	}
	log_msg(LOG_INFO, "stopping");
	stop_children();
	store_close(&st);
	free(children);
	return 0;
}
