/*
 * roomrelay.c - a room's log relayed to its occupants on other domains
 * (roomrelay.h).
 *
 *   lease -> subscribe to the room's channel -> [wake-up or poll:
 *   each occupant: read the log after its last entry -> queue -> record]
 *   -> no occupant left: unmarked, lease released.
 */
#include "roomrelay.h"
#include "local.h"
#include "log.h"
#include "mucin.h"
#include "mucremote.h"
#include "outconn.h"
#include "route.h"
#include "s2s.h"
#include "store.h"
#include "strvec.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RR_LEASE_RENEW (OUTCONN_LEASE_TTL / 3)
#define RR_TICK_MS     1000
#define RR_SUB_FDS     4      /* subscriber connections polled (store_sub_fds) */

struct relay {
	const struct config *cfg;
	const char *room;
	struct store st;
	struct strvec fulls, values;    /* the occupants, as read */
};

static void collect(const char *full, const char *value, void *arg)
{
	struct relay *r = arg;
	strvec_add(&r->fulls, full);
	strvec_add(&r->values, value);
}

/* Send occupant full (value as read) what it has not had, and record it.
 * 0, or -1 when Redis failed. */
static int relay_one(struct relay *r, const char *full, const char *value)
{
	struct muc_view *v = calloc(1, sizeof *v);
	struct s2s_muc_sink k = { &r->st, r->cfg, 0 };
	char state[MUC_STATE_MAX], nick[JID_MAX_PART], *next = malloc(MUC_REMOTE_VALUE_MAX);
	int rc = 0;

	if (!v || !next) {
		free(v);
		free(next);
		return -1;
	}
	if (muc_remote_split(value, state, nick) == -1) {
		log_msg(LOG_WARNING, "%s: %s: not an occupant's record: dropped", r->room, full);
		rc = muc_remote_sync(&r->st, r->room, full, value, NULL) < 0 ? -1 : 0;
		goto out;
	}
	muc_view_init(v, r->room, nick, full, "0", "", 0);
	muc_view_restore(v, state);
	s2s_muc_sink(v, &k);
	if (muc_view_read(&r->st, v) < 0) {
		rc = -1;
		goto out;
	}
	/* What could not be queued is read again next time. */
	if (k.failed)
		goto out;
	if (v->out) {
		log_msg(LOG_INFO, "%s: %s is out", r->room, full);
		rc = muc_remote_sync(&r->st, r->room, full, value, NULL) < 0 ? -1 : 0;
		goto out;
	}
	muc_view_state(v, state, sizeof state);
	snprintf(next, MUC_REMOTE_VALUE_MAX, "%s %s", state, v->nick);
	if (strcmp(next, value) && muc_remote_sync(&r->st, r->room, full, value, next) < 0)
		rc = -1;
out:
	free(v);
	free(next);
	return rc;
}

/* Every occupant in turn. 1 when none is left (the room is unmarked),
 * 0, or -1 when Redis failed. */
static int relay_all(struct relay *r)
{
	size_t i;
	int n;

	strvec_free(&r->fulls);
	strvec_free(&r->values);
	if ((n = muc_remote_each(&r->st, r->room, collect, r)) < 0)
		return -1;
	for (i = 0; i < r->fulls.n; i++)
		if (relay_one(r, r->fulls.v[i], r->values.v[i]) < 0)
			return -1;
	if (n > 0)
		return 0;
	n = muc_remote_sync(&r->st, r->room, NULL, NULL, NULL);
	return n < 0 ? -1 : n == MUC_REMOTE_IDLE;
}

static void woken(const char *payload, size_t len, void *arg)
{
	(void)payload;
	(void)len;
	*(int *)arg = 1;
}

static int serve(struct relay *r, volatile sig_atomic_t *stop)
{
	time_t now, last_lease = time(NULL), last_read = 0;
	int woke = 1, rc;

	while (!*stop) {
		now = time(NULL);
		if (now - last_lease >= RR_LEASE_RENEW) {
			rc = s2s_lease(&r->st, r->room, r->cfg->hostname, (long)getpid(),
			    OUTCONN_LEASE_TTL);
			if (rc != S2S_LEASE_OURS) {
				log_msg(LOG_WARNING, "%s: lost the lease", r->room);
				return rc < 0 ? OUTCONN_EXIT_FAIL : OUTCONN_EXIT_LEASE;
			}
			last_lease = now;
		}
		if (woke || now - last_read >= ROOMRELAY_POLL) {
			woke = 0;
			last_read = now;
			if ((rc = relay_all(r)) < 0) {
				log_msg(LOG_ERR, "%s: redis: %s", r->room, r->st.err);
				return OUTCONN_EXIT_FAIL;
			}
			if (rc == 1) {
				log_msg(LOG_INFO, "%s: no occupant of another domain left", r->room);
				return OUTCONN_EXIT_DONE;
			}
		}
		/* The room's channel: on a cluster, wherever its slot is now. */
		int fds[RR_SUB_FDS], nfd = store_sub_fds(&r->st, fds, RR_SUB_FDS), i;
		struct pollfd p[RR_SUB_FDS];
		if (nfd <= 0 || nfd > RR_SUB_FDS) {
			log_msg(LOG_ERR, "%s: the subscriber is gone", r->room);
			return OUTCONN_EXIT_FAIL;
		}
		for (i = 0; i < nfd; i++) {
			p[i].fd = fds[i];
			p[i].events = POLLIN;
		}
		if (poll(p, (nfds_t)nfd, RR_TICK_MS) == -1) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, "%s: poll: %s", r->room, strerror(errno));
			return OUTCONN_EXIT_FAIL;
		}
		for (i = 0; i < nfd; i++)
			if (p[i].revents && store_sub_read(&r->st, p[i].fd, woken, &woke) == -1) {
				log_msg(LOG_ERR, "%s: the subscriber is gone", r->room);
				return OUTCONN_EXIT_FAIL;
			}
	}
	return OUTCONN_EXIT_DONE;
}

int roomrelay_run(const struct config *cfg, const char *room, volatile sig_atomic_t *stop)
{
	struct relay r;
	char chan[STORE_MAX_KEY];
	int rc;

	memset(&r, 0, sizeof r);
	r.cfg = cfg;
	r.room = room;
	if (store_open_config(&r.st, cfg) == -1)
		return OUTCONN_EXIT_FAIL;
	rc = s2s_lease_take(&r.st, cfg, room, OUTCONN_LEASE_TTL);
	if (rc != S2S_LEASE_OURS) {
		if (rc >= 0)
			log_msg(LOG_INFO, "%s: relayed by another process", room);
		store_close(&r.st);
		return rc < 0 ? OUTCONN_EXIT_FAIL : OUTCONN_EXIT_LEASE;
	}
	/* Subscribed before the first read: no event after it goes unseen. */
	store_user_key(&r.st, room, NULL, chan, sizeof chan);
	if (route_subscribe_channel(&r.st, chan, "muc\n") < 0) {
		log_msg(LOG_ERR, "%s: redis: %s", room, r.st.err);
		rc = OUTCONN_EXIT_FAIL;
	} else {
		log_msg(LOG_INFO, "%s: relaying to its occupants of other domains", room);
		rc = serve(&r, stop);
	}
	s2s_lease_release(&r.st, room, cfg->hostname, (long)getpid());
	strvec_free(&r.fulls);
	strvec_free(&r.values);
	store_close(&r.st);
	return rc;
}
