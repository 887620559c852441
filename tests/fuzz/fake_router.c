/*
 * fake_router.c - router/ without Redis, for the fuzz targets: every
 * function of router/store.h, account.h, session.h, route.h, roster.h,
 * authfail.h, carbons.h, sm.h, blocking.h, vcard.h, private.h, mam.h,
 * caps.h, invite.h, pep.h, muc.h and uploads.h that
 * router/format.c does not define (the formats: key and channel names,
 * envelopes, session records, roster item heads; linked as they are),
 * over small in-memory tables (see fake_router.h for what is preloaded).
 *
 * The decisions the Lua scripts take inside Redis (roster_sub.lua,
 * roster_set.lua, roster_remove.lua, route_stanza.lua, offline_move.lua,
 * presence_get.lua, session_register.lua) are written again here in C,
 * close enough that the handler sees the same kinds of answers. Raw
 * commands (store_cmd, store_cmdargv, store_eval, store_script,
 * store_pipeline) are not used by handler/; they answer as an unreachable
 * Redis would. So do the rooms of muc.h and the slots of uploads.h (no
 * conference nor upload domain is configured for the fuzz targets).
 */
#include "store.h"
#include "account.h"
#include "session.h"
#include "route.h"
#include "s2s.h"
#include "roster.h"
#include "authfail.h"
#include "carbons.h"
#include "push.h"
#include "fast.h"
#include "vcard.h"
#include "private.h"
#include "blocking.h"
#include "mam.h"
#include "caps.h"
#include "invite.h"
#include "pep.h"
#include "muc.h"
#include "uploads.h"
#include "xml.h"
#include "sm.h"
#include "scram.h"
#include "xmalloc.h"
#include "fake_router.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- generic small tables of (a, b) -> value ---- */

struct kv {
	char *a, *b, *v;
	size_t vlen;
};

struct table {
	struct kv *e;
	int n, max;
};

#define TABLE(name, cap) static struct kv name##_e[cap]; \
	static struct table name = { name##_e, 0, cap }

TABLE(rosters, 96);     /* owner, contact -> stored item */
TABLE(pending, 32);     /* owner, contact -> subscription stanza */
TABLE(offline, 32);     /* bare, "" -> stored stanza (in order) */
TABLE(inbox, 64);       /* bare, resource -> envelope for that session (in order) */
TABLE(versions, 16);    /* bare, "" -> roster version (decimal) */
TABLE(channels, 8);     /* channel, "" -> "" : the connection's subscriptions */
TABLE(queue, 64);       /* "", "" -> payload published to one of our channels */
TABLE(authfails, 16);   /* bare JID or "addr:<address>", "" -> failure count */
TABLE(vcards, 8);       /* bare, "" -> stored vCard */
TABLE(privates, 16);    /* bare, namespace -> stored private XML */
TABLE(archives, 32);    /* bare, archive id -> message (in order) */
TABLE(pepnodes, 8);     /* bare, node -> access model */
TABLE(pepitems, 16);    /* bare, "node\nid" -> item (in order) */
static unsigned archived;     /* archive ids given so far */

#define QUEUE_MAX_BYTES (1024 * 1024)
static size_t queue_bytes;

static int same(const char *x, const char *y)
{
	return (!x && !y) || (x && y && !strcmp(x, y));
}

static int tfind(const struct table *t, const char *a, const char *b)
{
	int i;
	for (i = 0; i < t->n; i++)
		if (same(t->e[i].a, a) && same(t->e[i].b, b))
			return i;
	return -1;
}

static void kv_free(struct kv *e)
{
	free(e->a);
	free(e->b);
	free(e->v);
	memset(e, 0, sizeof *e);
}

static void tdel(struct table *t, int i)
{
	kv_free(&t->e[i]);
	memmove(&t->e[i], &t->e[i + 1], (size_t)(t->n - i - 1) * sizeof t->e[0]);
	t->n--;
	memset(&t->e[t->n], 0, sizeof t->e[0]);
}

static char *dupn(const char *s, size_t n)
{
	return s ? xstrndup(s, n) : NULL;
}

/* Replace (when a, b exist and replace is set) or append. -1 when full. */
static int tput(struct table *t, const char *a, const char *b, const char *v, size_t vlen,
    int replace)
{
	int i = replace ? tfind(t, a, b) : -1;
	if (i >= 0) {
		free(t->e[i].v);
		t->e[i].v = dupn(v, vlen);
		t->e[i].vlen = vlen;
		return 0;
	}
	if (t->n == t->max)
		return -1;
	i = t->n++;
	t->e[i].a = a ? xstrdup(a) : NULL;
	t->e[i].b = b ? xstrdup(b) : NULL;
	t->e[i].v = dupn(v, vlen);
	t->e[i].vlen = vlen;
	return 0;
}

static void tclear(struct table *t)
{
	while (t->n)
		tdel(t, t->n - 1);
}

/* ---- accounts and sessions ---- */

struct acct {
	char *bare;
	struct account a;
};

#define MAX_ACCOUNTS 8
static struct acct accounts[MAX_ACCOUNTS];
static int naccounts;

struct sess {
	char *bare, *res, *id, *presence;
	int prio, avail, dead;
	long since, seen;
};

#define MAX_SESSIONS 16
static struct sess sessions[MAX_SESSIONS];
static int nsessions;

static int find_account(const char *bare)
{
	int i;
	for (i = 0; i < naccounts; i++)
		if (!strcmp(accounts[i].bare, bare))
			return i;
	return -1;
}

static int find_session(const char *bare, const char *res)
{
	int i;
	for (i = 0; i < nsessions; i++)
		if (!strcmp(sessions[i].bare, bare) && !strcmp(sessions[i].res, res))
			return i;
	return -1;
}

static void del_session(int i)
{
	free(sessions[i].bare);
	free(sessions[i].res);
	free(sessions[i].id);
	free(sessions[i].presence);
	memmove(&sessions[i], &sessions[i + 1], (size_t)(nsessions - i - 1) * sizeof sessions[0]);
	nsessions--;
	memset(&sessions[nsessions], 0, sizeof sessions[0]);
}

static void del_account(int i)
{
	free(accounts[i].bare);
	memmove(&accounts[i], &accounts[i + 1], (size_t)(naccounts - i - 1) * sizeof accounts[0]);
	naccounts--;
	memset(&accounts[naccounts], 0, sizeof accounts[0]);
}

/* ---- fault injection ---- */

static unsigned calls, fail_at;

static int failing(struct store *s, const char *fn)
{
	calls++;
	if (fail_at && calls == fail_at) {
		if (s)
			snprintf(s->err, sizeof s->err, "fake router: injected failure in %s", fn);
		return 1;
	}
	return 0;
}

void fake_router_fail_at(unsigned n)
{
	fail_at = n;
}

unsigned fake_router_calls(void)
{
	return calls;
}

int fake_router_failed(void)
{
	return fail_at && calls >= fail_at;
}

/* ---- store.h ---- */

int store_open(struct store *s, const char *url, const char *prefix, int timeout_ms)
{
	memset(s, 0, sizeof *s);
	snprintf(s->url, sizeof s->url, "%s", url ? url : "");
	snprintf(s->prefix, sizeof s->prefix, "%s", prefix ? prefix : "");
	s->timeout_ms = timeout_ms;
	return 0;
}

int store_open_sub(struct store *s)
{
	(void)s;
	return 0;
}

void store_close(struct store *s)
{
	s->cmd = s->sub = NULL;
}

/* Nothing is published in the fake: no subscriber connection to poll. */
int store_sub_fds(const struct store *s, int *fds, int max)
{
	(void)s;
	(void)fds;
	(void)max;
	return 0;
}

int store_sub_read(struct store *s, int fd,
    void (*fn)(const char *payload, size_t len, void *arg), void *arg)
{
	(void)s;
	(void)fd;
	(void)fn;
	(void)arg;
	return 0;
}

void store_suspect(struct store *s)
{
	s->last_ok = 0;
}

/* One fake Redis that never fails over; a failing call is an error
 * answered, not a lost connection. */
int store_lost(const struct store *s)
{
	(void)s;
	return 0;
}

int store_moved(const struct store *s)
{
	(void)s;
	return 0;
}

int store_wait(struct store *s, int tries, int wait_ms)
{
	(void)tries; (void)wait_ms;
	return failing(s, "store_wait") ? -1 : 0;
}

redisReply *store_cmd(struct store *s, const char *fmt, ...)
{
	(void)fmt;
	snprintf(s->err, sizeof s->err, "fake router: no raw Redis commands");
	return NULL;
}

redisReply *store_cmdargv(struct store *s, int argc, const char **argv, const size_t *lens)
{
	(void)argc; (void)argv; (void)lens;
	snprintf(s->err, sizeof s->err, "fake router: no raw Redis commands");
	return NULL;
}

redisReply *store_eval(struct store *s, const char *script, const char *sha,
    int nkeys, int argc, const char **argv, const size_t *lens)
{
	(void)script; (void)sha; (void)nkeys; (void)argc; (void)argv; (void)lens;
	snprintf(s->err, sizeof s->err, "fake router: no raw Redis commands");
	return NULL;
}

int store_script(struct store *s, const char *name, const char *script, const char *sha,
    int nkeys, int argc, const char **argv, const size_t *lens,
    const char *const *outcomes, redisReply **reply)
{
	(void)name; (void)script; (void)sha; (void)nkeys; (void)argc; (void)argv; (void)lens;
	(void)outcomes;
	*reply = NULL;
	snprintf(s->err, sizeof s->err, "fake router: no raw Redis commands");
	return XE_REDIS;
}

int store_pipeline(struct store *s, int n, const char **cmd_argv[], const size_t *cmd_lens[],
    const int *cmd_argc, redisReply **replies)
{
	int i;
	(void)cmd_argv; (void)cmd_lens; (void)cmd_argc;
	for (i = 0; i < n; i++)
		replies[i] = NULL;
	snprintf(s->err, sizeof s->err, "fake router: no raw Redis commands");
	return -1;
}

/* ---- account.h ---- */

int account_get(struct store *s, const char *bare, struct account *a)
{
	int i;
	memset(a, 0, sizeof *a);
	if (failing(s, "account_get"))
		return -1;
	i = find_account(bare);
	if (i < 0)
		return ACCOUNT_NONE;
	*a = accounts[i].a;
	return ACCOUNT_FOUND;
}

static void set_field(char *dst, const char *v)
{
	snprintf(dst, ACCOUNT_MAX_FIELD, "%s", v ? v : "");
}

int account_put(struct store *s, const char *bare, const char *scram_sha1,
    const char *scram_sha256, const char *digest_secret, int create_only)
{
	int i;
	if (failing(s, "account_put"))
		return -1;
	i = find_account(bare);
	if (i >= 0 && create_only)
		return ACCOUNT_EXISTS;
	if (i < 0) {
		if (naccounts == MAX_ACCOUNTS) {
			snprintf(s->err, sizeof s->err, "fake router: account table full");
			return -1;
		}
		i = naccounts++;
		accounts[i].bare = xstrdup(bare);
	}
	set_field(accounts[i].a.scram_sha1, scram_sha1);
	set_field(accounts[i].a.scram_sha256, scram_sha256);
	set_field(accounts[i].a.digest_secret, digest_secret);
	return ACCOUNT_WRITTEN;
}

static void drop_owned(struct table *t, const char *bare)
{
	int i;
	for (i = t->n - 1; i >= 0; i--)
		if (same(t->e[i].a, bare))
			tdel(t, i);
}

int account_server_secret(struct store *s, unsigned char out[ACCOUNT_SECRET_LEN])
{
	if (failing(s, "account_server_secret"))
		return -1;
	memset(out, FAKE_SERVER_SECRET_BYTE, ACCOUNT_SECRET_LEN);
	return 0;
}

int account_delete(struct store *s, const char *bare)
{
	int i;
	if (failing(s, "account_delete"))
		return -1;
	i = find_account(bare);
	if (i < 0)
		return ACCOUNT_NONE;
	del_account(i);
	drop_owned(&rosters, bare);
	drop_owned(&pending, bare);
	drop_owned(&offline, bare);
	drop_owned(&versions, bare);
	drop_owned(&vcards, bare);
	drop_owned(&privates, bare);
	pep_delete_all(s, bare);
	for (i = nsessions - 1; i >= 0; i--)
		if (!strcmp(sessions[i].bare, bare))
			del_session(i);
	return 1;
}

int account_each(struct store *s, int (*fn)(const char *bare, void *arg), void *arg)
{
	char *names[MAX_ACCOUNTS];
	int i, n = naccounts, rc = 0;
	if (failing(s, "account_each"))
		return -1;
	for (i = 0; i < n; i++)
		names[i] = xstrdup(accounts[i].bare);
	for (i = 0; i < n; i++)
		if (rc == 0 && fn(names[i], arg) == -1)
			rc = -1;
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

/* ---- the connection's channels and the delivery queue ---- */

static int ours(const char *channel)
{
	return tfind(&channels, channel, "") >= 0;
}

static long publish(const char *channel, const char *payload, size_t len)
{
	if (!ours(channel))
		return 0;
	/* Bounded like a client that reads slowly: the rest is dropped. */
	if (queue.n < queue.max && queue_bytes + len <= QUEUE_MAX_BYTES) {
		tput(&queue, "", "", payload, len, 0);
		queue_bytes += len;
	}
	return 1;
}

int fake_router_take(char **payload, size_t *len)
{
	if (!queue.n)
		return 0;
	*payload = queue.e[0].v;
	*len = queue.e[0].vlen;
	queue.e[0].v = NULL;
	queue_bytes -= *len;
	tdel(&queue, 0);
	return 1;
}

/* ---- session.h ---- */

int fake_router_has_session(const char *bare, const char *resource, const char *id)
{
	int i = find_session(bare, resource);
	return i >= 0 && (!id || !strcmp(sessions[i].id, id));
}

int fake_router_inbox_len(const char *bare, const char *resource)
{
	int i, n = 0;
	for (i = 0; i < inbox.n; i++)
		n += same(inbox.e[i].a, bare) && same(inbox.e[i].b, resource);
	return n;
}

/* The XML of a "stanza" envelope (route.h), whatever its header says of
 * the time it was accepted; -1 for other envelopes. */
static int stanza_body(const char *env, size_t len, const char **body, size_t *blen)
{
	const char *nl = memchr(env, '\n', len);
	if (!nl || len < 6 || memcmp(env, "stanza", 6) || (env + 6 != nl && env[6] != ' '))
		return -1;
	*body = nl + 1;
	*blen = len - (size_t)(nl + 1 - env);
	return 0;
}

void fake_router_reap_all(void)
{
	int i;
	/* The reaper routes again what waited in each inbox (conn_drain_inbox);
	 * here it all goes to offline storage, as far as the table takes it. */
	for (i = 0; i < inbox.n; ) {
		struct kv *e = &inbox.e[i];
		const char *body;
		size_t blen;
		if (stanza_body(e->v, e->vlen, &body, &blen) == 0)
			tput(&offline, e->a, "", body, blen, 0);
		tdel(&inbox, i);
	}
	while (nsessions)
		del_session(nsessions - 1);
}

int session_register(struct store *s, const char *bare, const char *resource,
    const char *id, const char *host, long pid, char *replaced_id, size_t idsz)
{
	int i;
	(void)host; (void)pid;
	if (idsz)
		replaced_id[0] = '\0';
	if (failing(s, "session_register"))
		return -1;
	i = find_session(bare, resource);
	if (i >= 0) {
		snprintf(replaced_id, idsz, "%s", sessions[i].id);
		free(sessions[i].id);
		sessions[i].id = xstrdup(id);
		/* session_register.lua replaces the record: not available yet */
		sessions[i].avail = sessions[i].prio = sessions[i].dead = 0;
		return 0;
	}
	if (nsessions == MAX_SESSIONS) {
		snprintf(s->err, sizeof s->err, "fake router: session table full");
		return -1;
	}
	i = nsessions++;
	memset(&sessions[i], 0, sizeof sessions[i]);
	sessions[i].bare = xstrdup(bare);
	sessions[i].res = xstrdup(resource);
	sessions[i].id = xstrdup(id);
	return 0;
}

int session_unregister(struct store *s, const char *bare, const char *resource,
    const char *id, char **presence)
{
	int i;
	if (presence)
		*presence = NULL;
	if (failing(s, "session_unregister"))
		return -1;
	i = find_session(bare, resource);
	if (i < 0)
		return SESSION_NORECORD;
	if (strcmp(sessions[i].id, id))
		return SESSION_TAKEN;
	if (presence && sessions[i].avail && sessions[i].presence)
		*presence = xstrdup(sessions[i].presence);
	del_session(i);
	return SESSION_OURS;
}

int session_update(struct store *s, const char *bare, const char *resource,
    const char *id, int prio, int avail, const char *presence_xml)
{
	int i;
	if (failing(s, "session_update"))
		return -1;
	i = find_session(bare, resource);
	if (i < 0)
		return SESSION_NORECORD;
	if (strcmp(sessions[i].id, id))
		return SESSION_TAKEN;
	if (avail >= 0) {
		sessions[i].prio = prio;
		sessions[i].avail = avail;
		free(sessions[i].presence);
		sessions[i].presence = avail == 1 && presence_xml ? xstrdup(presence_xml) : NULL;
	}
	return SESSION_OURS;
}

int session_reap(struct store *s, const char *host, int (*pid_alive)(long pid),
    void (*fn)(const char *bare, const char *resource, const char *id, const char *presence,
    void *arg), void *arg)
{
	int i, n = 0;
	(void)host;
	(void)pid_alive;         /* sessions marked dead here have no process */
	if (failing(s, "session_reap"))
		return -1;
	for (i = 0; i < nsessions && n < SESSION_REAP_BATCH; ) {
		if (!sessions[i].dead) {
			i++;
			continue;
		}
		{
			char *bare = xstrdup(sessions[i].bare), *res = xstrdup(sessions[i].res);
			char *id = xstrdup(sessions[i].id);
			char *pres = sessions[i].avail && sessions[i].presence ?
			    xstrdup(sessions[i].presence) : NULL;
			del_session(i);
			if (fn)
				fn(bare, res, id, pres, arg);
			free(id);
			free(bare);
			free(res);
			free(pres);
		}
		n++;
	}
	return n;
}

int session_get(struct store *s, const char *bare, const char *resource,
    struct session_info *si, char **presence)
{
	int i;
	if (presence)
		*presence = NULL;
	if (failing(s, "session_get"))
		return XE_REDIS;
	if ((i = find_session(bare, resource)) < 0)
		return SESSION_NORECORD;
	memset(si, 0, sizeof *si);
	snprintf(si->resource, sizeof si->resource, "%s", resource);
	snprintf(si->id, sizeof si->id, "%s", sessions[i].id);
	si->prio = sessions[i].prio;
	si->avail = sessions[i].avail;
	si->since = sessions[i].since;
	si->seen = sessions[i].seen;
	if (presence && sessions[i].avail && sessions[i].presence)
		*presence = xstrdup(sessions[i].presence);
	return SESSION_OURS;
}

int session_each(struct store *s, const char *bare,
    int (*fn)(const struct session_info *si, void *arg), void *arg)
{
	struct session_info si;
	int i;
	if (failing(s, "session_each"))
		return -1;
	for (i = 0; i < nsessions; i++) {
		char rec[SESSION_MAX_RECORD];
		if (strcmp(sessions[i].bare, bare) || sessions[i].dead)
			continue;
		/* Through the record, as session.c stores it and reads it. */
		memset(&si, 0, sizeof si);
		snprintf(si.id, sizeof si.id, "%s", sessions[i].id);
		snprintf(si.host, sizeof si.host, "fuzzhost");
		si.prio = sessions[i].prio;
		si.avail = sessions[i].avail;
		si.pid = 1;
		si.since = sessions[i].since;
		si.seen = sessions[i].seen;
		if (session_format(&si, rec, sizeof rec) < 0 ||
		    session_parse(sessions[i].res, rec, &si) < 0)
			continue;
		if (fn(&si, arg) == -1)
			return -1;
	}
	return 0;
}

/* ---- route.h ---- */

long route_publish(struct store *s, const char *channel, const char *payload, size_t len)
{
	if (failing(s, "route_publish"))
		return -1;
	return publish(channel, payload, len);
}

int route_fanout(struct store *s, const char *const *bares, int n,
    const char *const *payloads, const size_t *lens, long *counts)
{
	char chan[STORE_MAX_KEY];
	int i;
	if (failing(s, "route_fanout")) {
		for (i = 0; counts && i < n; i++)
			counts[i] = -1;
		return -1;
	}
	for (i = 0; i < n; i++) {
		long r;
		store_user_key(s, bares[i], NULL, chan, sizeof chan);
		r = publish(chan, payloads[i], lens[i]);
		if (counts)
			counts[i] = r;
	}
	return 0;
}

/* ---- s2s.h: federation's queue takes everything ---- */
int s2s_send(struct store *s, const struct config *cfg, const struct xml_node *stanza)
{
	(void)cfg; (void)stanza;
	return failing(s, "s2s_send") ? XE_REDIS : S2S_QUEUED;
}

void s2s_send_many(struct store *s, const struct config *cfg, int n,
    const struct xml_node *const *stanzas, int *out)
{
	int i;
	for (i = 0; i < n; i++) {
		int r = s2s_send(s, cfg, stanzas[i]);
		if (out)
			out[i] = r;
	}
}

/* No session reads broadcasts from a log here (only xmpp-web's BOSH
 * does): the log is always empty. */
int route_bcast_read(struct store *s, const char *bare, const char *after, int max,
    void (*fn)(const char *id, const char *payload, size_t len, void *arg), void *arg)
{
	(void)bare; (void)after; (void)max; (void)fn; (void)arg;
	return failing(s, "route_bcast_read") ? -1 : 0;
}

/* route.c's route_push and route_kick over the in-memory publish: the
 * envelopes come from format.c, as there. */
long route_push(struct store *s, const char *bare, const char *item, const char *ver)
{
	char chan[STORE_MAX_KEY], *env;
	size_t len;
	long n;
	if (failing(s, "route_push"))
		return -1;
	env = route_envelope_push(item, ver, &len);
	store_user_key(s, bare, NULL, chan, sizeof chan);
	n = publish(chan, env, len);
	free(env);
	return n;
}

long route_kick(struct store *s, const char *bare, const char *resource,
    const char *id, const char *cond)
{
	char chan[STORE_MAX_KEY], *env;
	size_t len;
	long n;
	if (failing(s, "route_kick"))
		return -1;
	env = route_envelope_kick(id, cond, &len);
	store_full_channel(s, bare, resource, chan, sizeof chan);
	n = publish(chan, env, len);
	free(env);
	return n;
}

int route_subscribe(struct store *s, const char *bare, const char *resource)
{
	char full[STORE_MAX_KEY], barech[STORE_MAX_KEY];
	if (failing(s, "route_subscribe"))
		return -1;
	store_full_channel(s, bare, resource, full, sizeof full);
	store_user_key(s, bare, NULL, barech, sizeof barech);
	if ((!ours(full) && tput(&channels, full, "", "", 0, 0) == -1) ||
	    (!ours(barech) && tput(&channels, barech, "", "", 0, 0) == -1)) {
		snprintf(s->err, sizeof s->err, "fake router: too many subscriptions");
		return -1;
	}
	return 0;
}

int route_subscribe_channel(struct store *s, const char *channel, const char *resync)
{
	(void)channel;
	(void)resync;
	return failing(s, "route_subscribe_channel") ? -1 : 0;
}

int route_unsubscribe_channel(struct store *s, const char *channel)
{
	(void)channel;
	return failing(s, "route_unsubscribe_channel") ? -1 : 0;
}

/* ---- uploads.h: as an unreachable Redis ---- */

static int no_uploads(struct store *s)
{
	snprintf(s->err, sizeof s->err, "fake router: no uploads");
	return XE_REDIS;
}

int upload_key(struct store *s, unsigned char key[UPLOADSIG_KEY_LEN])
{
	memset(key, 0, UPLOADSIG_KEY_LEN);
	return no_uploads(s);
}

int upload_reserve(struct store *s, const char *bare, const char *id, long size,
    long quota, time_t now, int ttl, long *used)
{
	(void)bare; (void)id; (void)size; (void)quota; (void)now; (void)ttl;
	*used = 0;
	return no_uploads(s);
}

int upload_forget(struct store *s, const char *bare, const char *id)
{
	(void)bare; (void)id;
	return no_uploads(s);
}

/* ---- muc.h: as an unreachable Redis ---- */

static int no_rooms(struct store *s)
{
	snprintf(s->err, sizeof s->err, "fake router: no rooms");
	return XE_REDIS;
}

int muc_join(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, const char *password, int may_create,
    struct muc_join *out)
{
	(void)room; (void)nick; (void)full; (void)xml; (void)len; (void)password;
	(void)may_create;
	memset(out, 0, sizeof *out);
	return no_rooms(s);
}

void muc_join_free(struct muc_join *j)
{
	memset(j, 0, sizeof *j);
}

int muc_leave(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, const char *codes, char *id)
{
	(void)room; (void)nick; (void)full; (void)xml; (void)len; (void)codes;
	id[0] = '\0';
	return no_rooms(s);
}

int muc_nick(struct store *s, const char *room, const char *nick, const char *full,
    const char *newnick, const char *xml, size_t len, char *id)
{
	(void)room; (void)nick; (void)full; (void)newnick; (void)xml; (void)len;
	id[0] = '\0';
	return no_rooms(s);
}

int muc_message(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, char *sid)
{
	(void)room; (void)nick; (void)full; (void)xml; (void)len;
	sid[0] = '\0';
	return no_rooms(s);
}

int muc_private(struct store *s, const char *room, const char *nick, const char *full,
    const char *tonick, const char *xml, size_t len, char *sid)
{
	(void)room; (void)nick; (void)full; (void)tonick; (void)xml; (void)len;
	sid[0] = '\0';
	return no_rooms(s);
}

int muc_subject(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, char *sid)
{
	(void)room; (void)nick; (void)full; (void)xml; (void)len;
	sid[0] = '\0';
	return no_rooms(s);
}

int muc_info(struct store *s, const char *room, const char *asker, struct muc_info *out)
{
	(void)room; (void)asker;
	memset(out, 0, sizeof *out);
	return no_rooms(s);
}

const char *muc_info_get(const struct muc_info *i, const char *field)
{
	(void)i; (void)field;
	return "";
}

void muc_info_free(struct muc_info *i)
{
	memset(i, 0, sizeof *i);
}

int muc_config_set(struct store *s, const char *room, const char *asker,
    const char *const *fields, int n, char *codes, size_t codes_size)
{
	(void)room; (void)asker; (void)fields; (void)n; (void)codes_size;
	codes[0] = '\0';
	return no_rooms(s);
}

int muc_destroy(struct store *s, const char *room, const char *asker, const char *reason,
    const char *venue)
{
	(void)room; (void)asker; (void)reason; (void)venue;
	return no_rooms(s);
}

int muc_occupant_jids(struct store *s, const char *room, const char *nick, const char *full,
    const char *target, void (*fn)(const char *jid, void *arg), void *arg)
{
	(void)room; (void)nick; (void)full; (void)target; (void)fn; (void)arg;
	return no_rooms(s);
}

int muc_ping(struct store *s, const char *room, const char *nick, const char *full)
{
	(void)room; (void)nick; (void)full;
	return no_rooms(s);
}

int muc_session_set(struct store *s, const char *bare, const char *resource,
    const char *room, const char *nick, const char *state)
{
	(void)bare; (void)resource; (void)room; (void)nick; (void)state;
	return no_rooms(s);
}

int muc_session_list(struct store *s, const char *bare, const char *resource, int take,
    void (*fn)(const char *room, const char *nick, const char *state, void *arg), void *arg)
{
	(void)bare; (void)resource; (void)take; (void)fn; (void)arg;
	return no_rooms(s);
}

int muc_archive_query(struct store *s, const char *room, const char *full, const char *nick,
    const struct mam_query *q, struct mam_page *p)
{
	(void)room; (void)full; (void)nick; (void)q;
	memset(p, 0, sizeof *p);
	return no_rooms(s);
}

int muc_history(struct store *s, const char *room, const char *before, long long since_ms,
    int max, int (*fn)(const struct muc_event *e, void *arg), void *arg)
{
	(void)room; (void)before; (void)since_ms; (void)max; (void)fn; (void)arg;
	return no_rooms(s);
}

int muc_log_read(struct store *s, const char *room, const char *after, int max,
    void (*fn)(const struct muc_event *e, void *arg), void *arg, char *last)
{
	(void)room; (void)after; (void)max; (void)fn; (void)arg; (void)last;
	return no_rooms(s);
}

int muc_role_set(struct store *s, const char *room, const char *full,
    const struct muc_item *items, int n)
{
	(void)room; (void)full; (void)items; (void)n;
	return no_rooms(s);
}

int muc_aff_set(struct store *s, const char *room, const char *full,
    const struct muc_item *items, int n)
{
	(void)room; (void)full; (void)items; (void)n;
	return no_rooms(s);
}

int muc_list(struct store *s, const char *room, const char *full, const char *attr,
    const char *value, struct muc_list *out)
{
	(void)room; (void)full; (void)attr; (void)value;
	memset(out, 0, sizeof *out);
	return no_rooms(s);
}

void muc_list_free(struct muc_list *l)
{
	memset(l, 0, sizeof *l);
}

int muc_invite(struct store *s, const char *room, const char *full,
    const char *const *invitees, int n, char *password, size_t pwsize, int *members_only)
{
	(void)room; (void)full; (void)invitees; (void)n;
	if (pwsize)
		password[0] = '\0';
	*members_only = 0;
	return no_rooms(s);
}

int muc_rooms(struct store *s, void (*fn)(const char *room, const char *name, void *arg),
    void *arg)
{
	(void)fn; (void)arg;
	return no_rooms(s);
}

/* route_stanza.lua's publish(): the envelope goes into the session's
 * inbox and "inbox\n" wakes its handler. Ours: inbox and wake-up kept
 * (the queue); any other live session's handler takes it at once. */
static long publish_session(struct store *s, int i, const char *env, size_t len)
{
	char chan[STORE_MAX_KEY];
	store_full_channel(s, sessions[i].bare, sessions[i].res, chan, sizeof chan);
	if (!ours(chan))
		return 1;
	if (tput(&inbox, sessions[i].bare, sessions[i].res, env, len, 0) == -1)
		return 1;        /* the fake's table is full: taken as delivered */
	return publish(chan, "inbox\n", 6);
}

static int count_offline(const char *bare)
{
	int i, n = 0;
	for (i = 0; i < offline.n; i++)
		n += same(offline.e[i].a, bare);
	return n;
}

/* The stored form (route_stanza.lua): the stanza of the envelope with its
 * <delay/> inside, before "</message>" or in place of the final "/>". */
static char *stored_form(const char *env, size_t envlen, const char *delay)
{
	const char *xml = "";
	size_t n = 0, dl = strlen(delay);
	char *p;
	stanza_body(env, envlen, &xml, &n);
	p = xmalloc(n + dl + 16);
	if (dl && n >= 10 && !memcmp(xml + n - 10, "</message>", 10))
		snprintf(p, n + dl + 16, "%.*s%s</message>", (int)(n - 10), xml, delay);
	else if (dl && n >= 2 && !memcmp(xml + n - 2, "/>", 2))
		snprintf(p, n + dl + 16, "%.*s>%s</message>", (int)(n - 2), xml, delay);
	else
		snprintf(p, n + dl + 16, "%.*s", (int)n, xml);
	return p;
}

/* route_stanza.lua, with every session not marked dead alive. */
static enum route_outcome route_decide(struct store *s, const struct route_req *q,
    int offline_cap)
{
	const char *bare = q->bare, *resource = q->resource, *msg_type = q->msg_type;
	long delivered = 0;
	int i, is_iq = q->is_iq;
	char *stored;

	if (failing(s, "route_stanza"))
		return RO_ERROR;
	if (find_account(bare) < 0)
		return RO_NOUSER;
	if (resource[0]) {
		i = find_session(bare, resource);
		if (i >= 0 && !sessions[i].dead && publish_session(s, i, q->envelope, q->envlen) > 0)
			return RO_DELIVERED;
		if (!strcmp(msg_type, "headline") || !strcmp(msg_type, "error"))
			return RO_DROPPED;
		if (is_iq || strcmp(msg_type, "chat"))
			return RO_UNAVAILABLE;
	}
	if (!is_iq && strcmp(msg_type, "groupchat")) {
		const char *echo_of = q->echo_of ? q->echo_of : "";
		int sender = -1;
		for (i = 0; i < nsessions; i++)
			if (!strcmp(sessions[i].bare, bare) && sessions[i].avail &&
			    sessions[i].prio >= 0 && !sessions[i].dead) {
				if (*echo_of && !strcmp(sessions[i].res, echo_of))
					sender = i;
				else
					delivered += publish_session(s, i, q->envelope, q->envlen);
			}
		/* route_stanza.lua: the sender's copy last, an echo if others
		 * got it too */
		if (sender >= 0 && delivered > 0) {
			const char *nl = memchr(q->envelope, '\n', q->envlen);
			size_t h = nl ? (size_t)(nl - q->envelope) : q->envlen;
			char *echo = xmalloc(q->envlen + 6);
			memcpy(echo, q->envelope, h);
			memcpy(echo + h, " echo", 5);
			memcpy(echo + h + 5, q->envelope + h, q->envlen - h);
			delivered += publish_session(s, sender, echo, q->envlen + 5);
			free(echo);
		} else if (sender >= 0) {
			delivered += publish_session(s, sender, q->envelope, q->envlen);
		}
	}
	if (delivered > 0)
		return RO_DELIVERED;
	if (is_iq || !strcmp(msg_type, "groupchat"))
		return RO_UNAVAILABLE;
	if (!strcmp(msg_type, "headline") || !strcmp(msg_type, "error"))
		return RO_DROPPED;
	if (count_offline(bare) >= offline_cap)
		return RO_FULL;
	stored = stored_form(q->envelope, q->envlen, q->delay ? q->delay : "");
	i = tput(&offline, bare, "", stored, strlen(stored), 0);
	free(stored);
	return i == -1 ? RO_FULL : RO_OFFLINE;
}

/* route_stanza.lua: the sender's keys get nothing but the archive entry
 * (nobody has carbons on); an accepted message is archived. */
static enum route_outcome route_one(struct store *s, const struct route_req *q, int offline_cap)
{
	enum route_outcome o = q->sent ? RO_DELIVERED : route_decide(s, q, offline_cap);
	const char *nl = memchr(q->envelope, '\n', q->envlen);
	char id[32];
	if ((o == RO_DELIVERED || o == RO_OFFLINE) && q->archive_with && *q->archive_with && nl) {
		snprintf(id, sizeof id, "%u-0-aa", ++archived);
		tput(&archives, q->bare, id, nl + 1, q->envlen - (size_t)(nl + 1 - q->envelope), 0);
	}
	return o;
}

void route_stanza_batch(struct store *s, int n, const struct route_req *req,
    int offline_cap, enum route_outcome *out)
{
	int i;
	for (i = 0; i < n; i++)
		out[i] = route_one(s, &req[i], offline_cap);
}

/* The rider is not run: its owner does what it asked later (sm_sync). */
void route_stanza_batch_with(struct store *s, int n, const struct route_req *req,
    int offline_cap, enum route_outcome *out, struct store_rider *rider)
{
	route_stanza_batch(s, n, req, offline_cap, out);
	if (rider)
		rider->reply = NULL;
}

int route_presence_of(struct store *s, const char *const *bares, int n,
    void (*fn)(const char *xml, size_t len, void *arg), void *arg)
{
	int b, i;
	if (failing(s, "route_presence_of"))
		return -1;
	for (b = 0; b < n; b++)
		for (i = 0; i < nsessions; i++)
			if (!strcmp(sessions[i].bare, bares[b]) && sessions[i].avail &&
			    sessions[i].presence && !sessions[i].dead) {
				char *p = xstrdup(sessions[i].presence);
				fn(p, strlen(p), arg);
				free(p);
			}
	return 0;
}

/* offline_move.lua: up to max offline stanzas of bare, oldest first,
 * into the session's inbox as "stanza" envelopes. */
int route_offline_move(struct store *s, const char *bare, const char *resource, int max,
    int from_archive)
{
	int i, n = 0;
	(void)from_archive;      /* no stanza here carries the archive's mark */
	if (failing(s, "route_offline_move"))
		return -1;
	for (i = 0; i < offline.n && n < max; ) {
		struct kv *e = &offline.e[i];
		char *env;
		size_t len;
		if (!same(e->a, bare)) {
			i++;
			continue;
		}
		env = route_envelope("stanza", e->v, &len);
		if (tput(&inbox, bare, resource, env, len, 0) == -1) {
			free(env);
			break;          /* the fake's table is full: the rest waits */
		}
		free(env);
		tdel(&offline, i);
		n++;
	}
	return n;
}

/* LRANGE, fn for each, then LTRIM (route.c): the entries are removed only
 * after fn saw them, and a failed trim leaves them to be taken again. */
int route_inbox_take(struct store *s, const char *bare, const char *resource, int max,
    void (*fn)(const char *env, size_t len, void *arg), void *arg)
{
	struct kv copy[64];
	int i, n = 0;
	if (failing(s, "route_inbox_take"))
		return -1;
	for (i = 0; i < inbox.n && n < max && n < 64; i++)
		if (same(inbox.e[i].a, bare) && same(inbox.e[i].b, resource)) {
			copy[n].v = dupn(inbox.e[i].v, inbox.e[i].vlen);
			copy[n++].vlen = inbox.e[i].vlen;
		}
	for (i = 0; i < n; i++) {
		fn(copy[i].v, copy[i].vlen, arg);
		free(copy[i].v);
	}
	if (n == 0)
		return 0;
	if (failing(s, "route_inbox_take (trim)"))
		return -1;
	for (i = 0; i < n; i++) {
		int k = tfind(&inbox, bare, resource);
		if (k >= 0)
			tdel(&inbox, k);
	}
	return n;
}

/* LRANGE from offset, removing nothing (route.c). */
int route_inbox_peek(struct store *s, const char *bare, const char *resource, long offset,
    int max, void (*fn)(const char *env, size_t len, void *arg), void *arg)
{
	struct kv copy[64];
	int i, n = 0;
	long skip = offset;
	if (failing(s, "route_inbox_peek"))
		return -1;
	for (i = 0; i < inbox.n && n < max && n < 64; i++)
		if (same(inbox.e[i].a, bare) && same(inbox.e[i].b, resource)) {
			if (skip > 0) {
				skip--;
				continue;
			}
			copy[n].v = dupn(inbox.e[i].v, inbox.e[i].vlen);
			copy[n++].vlen = inbox.e[i].vlen;
		}
	for (i = 0; i < n; i++) {
		fn(copy[i].v, copy[i].vlen, arg);
		free(copy[i].v);
	}
	return n;
}

/* ---- sm.h: stream management state is not kept; the inbox entries a
 * sync says were taken leave the inbox, as sm_sync.lua does. ---- */

int sm_enable(struct store *s, const char *bare, const char *resource, const char *id,
    const char *smid, int resume, int detach_secs)
{
	(void)bare; (void)resource; (void)id; (void)smid; (void)resume; (void)detach_secs;
	return failing(s, "sm_enable") ? XE_REDIS : SM_OK;
}

int sm_sync(struct store *s, const char *bare, const char *resource, const struct sm_sync *x)
{
	long i;
	if (failing(s, "sm_sync"))
		return XE_REDIS;
	for (i = 0; i < x->inbox_taken; i++) {
		int k = tfind(&inbox, bare, resource);
		if (k >= 0)
			tdel(&inbox, k);
	}
	for (i = 0; i < x->take; i++) {
		int k = tfind(&inbox, bare, resource);
		char *e;
		size_t len;
		if (k < 0)
			break;
		e = dupn(inbox.e[k].v, inbox.e[k].vlen);
		len = inbox.e[k].vlen;
		tdel(&inbox, k);
		if (x->taken)
			x->taken(e, len, x->arg);
		free(e);
	}
	return SM_OK;
}

struct sm_sync_cmd {
	struct store_rider rider;
};

struct sm_sync_cmd *sm_sync_cmd_new(struct store *s, const char *bare, const char *resource,
    const struct sm_sync *x)
{
	(void)s; (void)bare; (void)resource; (void)x;
	return xcalloc(1, sizeof(struct sm_sync_cmd));
}

struct store_rider *sm_sync_cmd_rider(struct sm_sync_cmd *c)
{
	return &c->rider;
}

int sm_sync_cmd_result(struct sm_sync_cmd *c)
{
	(void)c;
	return XE_REDIS;             /* never run here: sm_sync does it */
}

void sm_sync_cmd_free(struct sm_sync_cmd *c)
{
	free(c);
}

int sm_resume(struct store *s, const char *bare, const char *smid, unsigned long h,
    const char *id, const char *host, long pid, unsigned long *hin,
    char *resource, size_t rsz, char *old_id, size_t osz,
    void (*fn)(const char *entry, size_t len, void *arg), void *arg)
{
	(void)bare; (void)smid; (void)h; (void)id; (void)host; (void)pid; (void)resource;
	(void)rsz; (void)old_id; (void)osz; (void)fn; (void)arg;
	*hin = 0;
	return failing(s, "sm_resume") ? XE_REDIS : SM_UNKNOWN;
}

int sm_end(struct store *s, const char *bare, const char *resource, const char *id)
{
	(void)bare; (void)resource; (void)id;
	return failing(s, "sm_end") ? XE_REDIS : SM_NONE;
}

int sm_adopt(struct store *s, const char *bare, const char *resource, const char *id,
    long seen, int secs, long now)
{
	(void)bare; (void)resource; (void)id; (void)seen; (void)secs; (void)now;
	return failing(s, "sm_adopt") ? XE_REDIS : 0;
}

/* ---- fast.h: user agents noted, nobody holds a token ---- */

int fast_get(struct store *s, const char *bare, const char *id, struct fast_record *r,
    char raw[FAST_RECORD_MAX])
{
	(void)bare; (void)id;
	memset(r, 0, sizeof *r);
	raw[0] = '\0';
	return failing(s, "fast_get") ? XE_REDIS : 0;
}

int fast_put(struct store *s, const char *bare, const char *id, const char *raw,
    const struct fast_record *r)
{
	(void)bare; (void)id; (void)raw; (void)r;
	return failing(s, "fast_put") ? XE_REDIS : 1;
}

int fast_client_seen(struct store *s, const char *bare, const char *id,
    const char *software, const char *device, long long now)
{
	(void)bare; (void)id; (void)software; (void)device; (void)now;
	return failing(s, "fast_client_seen") ? XE_REDIS : 0;
}

/* ---- push.h: registrations accepted, nobody to notify ---- */

int push_enable(struct store *s, const char *bare, const char *jid, const char *node,
    const char *options)
{
	(void)bare; (void)jid; (void)node; (void)options;
	return failing(s, "push_enable") ? XE_REDIS : PUSH_OK;
}

int push_disable(struct store *s, const char *bare, const char *jid, const char *node)
{
	(void)bare; (void)jid; (void)node;
	return failing(s, "push_disable") ? XE_REDIS : 0;
}

int push_notify(struct store *s, const struct config *cfg, const char *bare,
    const struct xml_node *st)
{
	(void)cfg; (void)bare; (void)st;
	return failing(s, "push_notify") ? XE_REDIS : 0;
}

/* ---- carbons.h: nobody has carbons enabled ---- */

int carbons_enable(struct store *s, const char *bare, const char *resource, const char *id)
{
	(void)bare; (void)resource; (void)id;
	return failing(s, "carbons_enable") ? XE_REDIS : 0;
}

int carbons_disable(struct store *s, const char *bare, const char *resource, const char *id)
{
	(void)bare; (void)resource; (void)id;
	return failing(s, "carbons_disable") ? XE_REDIS : 0;
}

/* ---- vcard.h, private.h: string and hash in one table each ---- */

/* The value of (a, b) in t, copied to *xml, or PRIVATE_NONE / VCARD_NONE. */
static int fake_get(const struct table *t, const char *a, const char *b, char **xml,
    size_t *len)
{
	int i = tfind(t, a, b);
	*xml = NULL;
	*len = 0;
	if (i < 0)
		return 0;
	*xml = dupn(t->e[i].v, t->e[i].vlen);
	*len = t->e[i].vlen;
	return 1;
}

int vcard_get(struct store *s, const char *bare, char **xml, size_t *len)
{
	if (failing(s, "vcard_get")) {
		*xml = NULL;
		return XE_REDIS;
	}
	return fake_get(&vcards, bare, "", xml, len) ? VCARD_FOUND : VCARD_NONE;
}

int vcard_put(struct store *s, const char *bare, const char *xml, size_t len)
{
	if (failing(s, "vcard_put") || tput(&vcards, bare, "", xml, len, 1) == -1)
		return XE_REDIS;
	return VCARD_STORED;
}

int private_get(struct store *s, const char *bare, const char *ns, char **xml, size_t *len)
{
	if (failing(s, "private_get")) {
		*xml = NULL;
		return XE_REDIS;
	}
	return fake_get(&privates, bare, ns, xml, len) ? PRIVATE_FOUND : PRIVATE_NONE;
}

int private_put(struct store *s, const char *bare, const char *ns, const char *xml,
    size_t len, int max_ns)
{
	(void)max_ns;                 /* the table's own size caps it here */
	if (failing(s, "private_put"))
		return XE_REDIS;
	return tput(&privates, bare, ns, xml, len, 1) == -1 ? PRIVATE_FULL : PRIVATE_STORED;
}

/* ---- pep.h: nodes and items in two tables; every node has the
 * defaults of lib/pep.lua but its access model, caps are the tables'
 * sizes, max_items is not applied ---- */

static char *item_key(const char *node, const char *id)
{
	struct xbuf b = { 0 };
	xbuf_addf(&b, "%s\n%s", node, id);
	return b.p;
}

/* Remove node's items (all nodes': node NULL) of bare. */
static void pep_clear(const char *bare, const char *node)
{
	size_t n = node ? strlen(node) : 0;
	int i;
	for (i = pepitems.n - 1; i >= 0; i--)
		if (!strcmp(pepitems.e[i].a, bare) && (!node || (!strncmp(pepitems.e[i].b, node, n) &&
		    pepitems.e[i].b[n] == '\n')))
			tdel(&pepitems, i);
}

static int pep_node(const char *bare, const char *node, struct pep_info *info)
{
	int i = tfind(&pepnodes, bare, node);
	if (i >= 0 && info)
		snprintf(info->access_model, sizeof info->access_model, "%s", pepnodes.e[i].v);
	return i;
}

int pep_publish(struct store *s, const char *bare, const char *node, const char *id,
    const char *item, size_t len, const struct pep_config *opts,
    const struct pep_limits *lim, struct pep_info *info)
{
	const char *model = opts->set & (1u << PEP_ACCESS_MODEL) ? opts->v[PEP_ACCESS_MODEL] :
	    "presence";
	int made = 0, rc;
	char *k;

	(void)lim;
	memset(info, 0, sizeof *info);
	if (failing(s, "pep_publish"))
		return XE_REDIS;
	if (pep_node(bare, node, info) < 0) {
		if (tput(&pepnodes, bare, node, model, strlen(model), 0) == -1)
			return PEP_FULL;
		pep_node(bare, node, info);
		made = 1;
	} else if ((opts->set & (1u << PEP_ACCESS_MODEL)) && strcmp(info->access_model, model)) {
		strcpy(info->field, "access_model");
		snprintf(info->value, sizeof info->value, "%s", info->access_model);
		return PEP_CONFLICT;
	}
	k = item_key(node, id);
	rc = tput(&pepitems, bare, k, item, len, 1);
	free(k);
	if (rc == -1)
		return XE_REDIS;
	return made ? PEP_CREATED : PEP_PUBLISHED;
}

int pep_configure(struct store *s, const char *bare, const char *node, int create,
    const struct pep_config *cfg, const struct pep_limits *lim)
{
	const char *model = cfg->set & (1u << PEP_ACCESS_MODEL) ? cfg->v[PEP_ACCESS_MODEL] :
	    "presence";
	int i;

	(void)lim;
	if (failing(s, "pep_configure"))
		return XE_REDIS;
	i = pep_node(bare, node, NULL);
	if (create) {
		if (i >= 0)
			return PEP_EXISTS;
		return tput(&pepnodes, bare, node, model, strlen(model), 0) == -1 ? PEP_FULL :
		    PEP_CREATED;
	}
	if (i < 0)
		return PEP_NONODE;
	if (cfg->set & (1u << PEP_ACCESS_MODEL))
		tput(&pepnodes, bare, node, model, strlen(model), 1);
	return PEP_CONFIGURED;
}

int pep_retract(struct store *s, const char *bare, const char *node, const char *id,
    struct pep_info *info)
{
	char *k;
	int i;

	memset(info, 0, sizeof *info);
	if (failing(s, "pep_retract"))
		return XE_REDIS;
	if (pep_node(bare, node, info) < 0)
		return PEP_NONODE;
	k = item_key(node, id);
	i = tfind(&pepitems, bare, k);
	free(k);
	if (i < 0)
		return PEP_NOITEM;
	tdel(&pepitems, i);
	info->notify_retract = 1;
	return PEP_RETRACTED;
}

int pep_purge(struct store *s, const char *bare, const char *node, int del,
    struct pep_info *info)
{
	int i;

	memset(info, 0, sizeof *info);
	if (failing(s, "pep_purge"))
		return XE_REDIS;
	if ((i = pep_node(bare, node, info)) < 0)
		return PEP_NONODE;
	pep_clear(bare, node);
	if (!del)
		return PEP_PURGED;
	tdel(&pepnodes, i);
	return PEP_DELETED;
}

int pep_config_get(struct store *s, const char *bare, const char *node, struct pep_config *cfg)
{
	static const char *const dflt[PEP_NFIELDS] = { "presence", "1", "1", "1", "never" };
	struct pep_info info;
	int f;

	memset(cfg, 0, sizeof *cfg);
	if (failing(s, "pep_config_get"))
		return XE_REDIS;
	if (pep_node(bare, node, &info) < 0)
		return PEP_NONODE;
	for (f = 0; f < PEP_NFIELDS; f++)
		snprintf(cfg->v[f], sizeof cfg->v[f], "%s", f ? dflt[f] : info.access_model);
	cfg->set = (1u << PEP_NFIELDS) - 1;
	return PEP_CONFIGURED;
}

int pep_items(struct store *s, const char *bare, const char *node, const char *requester,
    int max, const char *const *ids, int n, struct pep_info *info,
    void (*fn)(const char *xml, size_t len, void *arg), void *arg)
{
	size_t len = strlen(node);
	int i, k;
	char *key;

	(void)max;
	memset(info, 0, sizeof *info);
	if (failing(s, "pep_items"))
		return XE_REDIS;
	if (pep_node(bare, node, info) < 0)
		return PEP_NONODE;
	if (requester && *requester && strcmp(info->access_model, "open"))
		return PEP_DENIED;
	for (k = 0; k < n; k++) {
		key = item_key(node, ids[k]);
		if ((i = tfind(&pepitems, bare, key)) >= 0)
			fn(pepitems.e[i].v, pepitems.e[i].vlen, arg);
		free(key);
	}
	for (i = 0; !n && i < pepitems.n; i++)
		if (!strcmp(pepitems.e[i].a, bare) && !strncmp(pepitems.e[i].b, node, len) &&
		    pepitems.e[i].b[len] == '\n')
			fn(pepitems.e[i].v, pepitems.e[i].vlen, arg);
	return PEP_ITEMS;
}

int pep_nodes_of(struct store *s, const char *const *bares, int n, struct strvec *out)
{
	int i, k;
	if (failing(s, "pep_nodes_of"))
		return XE_REDIS;
	for (i = 0; i < n; i++)
		for (k = 0; k < pepnodes.n; k++)
			if (!strcmp(pepnodes.e[k].a, bares[i]))
				strvec_add(&out[i], pepnodes.e[k].b);
	return 0;
}

int pep_delete_all(struct store *s, const char *bare)
{
	(void)s;
	drop_owned(&pepnodes, bare);
	pep_clear(bare, NULL);
	return 0;
}

/* ---- mam.h: an archive is a table; filters other than ids and the
 * paging ids are not applied ---- */

static int archive_has(const char *bare, const char *id)
{
	return tfind(&archives, bare, id) >= 0;
}

int mam_query(struct store *s, const char *bare, const struct mam_query *q, struct mam_page *p)
{
	const char *edges[4] = { q->after_id, q->before_id, q->rsm_after, q->rsm_before };
	int i, k;

	memset(p, 0, sizeof *p);
	if (failing(s, "mam_query"))
		return XE_REDIS;
	for (k = 0; k < 4; k++)
		if (edges[k] && *edges[k] && !archive_has(bare, edges[k]))
			return MAM_NOT_FOUND;
	for (k = 0; k < q->nids; k++)
		if (!archive_has(bare, q->ids[k]))
			return MAM_NOT_FOUND;
	p->items = xcalloc((size_t)archives.n + 1, sizeof *p->items);
	p->complete = 1;
	for (i = 0; i < archives.n; i++) {
		struct mam_item *it;
		if (strcmp(archives.e[i].a, bare))
			continue;
		if (p->n == q->max) {
			p->complete = 0;
			break;
		}
		it = &p->items[p->n++];
		snprintf(it->id, sizeof it->id, "%s", archives.e[i].b);
		it->ms = mam_id_ms(it->id);
		it->xml = dupn(archives.e[i].v, archives.e[i].vlen);
		it->len = archives.e[i].vlen;
	}
	p->count = p->n;
	return MAM_OK;
}

int mam_metadata(struct store *s, const char *bare, struct mam_page *p)
{
	struct mam_query q = { 0 };
	q.max = MAM_PAGE_MAX;
	if (mam_query(s, bare, &q, p) < 0)
		return XE_REDIS;
	if (p->n > 2) {            /* the first and the last */
		free(p->items[1].xml);
		p->items[1] = p->items[p->n - 1];
		p->n = 2;
	}
	return MAM_OK;
}

int mam_prefs_get(struct store *s, const char *bare, struct mam_prefs *p)
{
	(void)bare;
	memset(p, 0, sizeof *p);
	return failing(s, "mam_prefs_get") ? XE_REDIS : MAM_OK;
}

int mam_prefs_put(struct store *s, const char *bare, const struct mam_prefs *p)
{
	(void)bare; (void)p;
	return failing(s, "mam_prefs_put") ? XE_REDIS : MAM_OK;
}

/* ---- caps.h: nobody has told any ver; a store is accepted ---- */

int caps_get(struct store *s, const char *hash, const char *ver, struct strvec *features)
{
	(void)hash; (void)ver; (void)features;
	return failing(s, "caps_get") ? XE_REDIS : CAPS_NONE;
}

int caps_put(struct store *s, const char *hash, const char *ver, const struct strvec *features)
{
	(void)hash; (void)ver; (void)features;
	return failing(s, "caps_put") ? XE_REDIS : 0;
}

/* ---- blocking.h: nobody blocks anyone; a change is accepted ---- */

int blocking_list(struct store *s, const char *bare, struct strvec *out)
{
	(void)bare; (void)out;
	return failing(s, "blocking_list") ? XE_REDIS : 0;
}

int blocking_set(struct store *s, const char *bare, int block, const char *const *jids,
    int n, const char *push, struct strvec *changed)
{
	(void)bare; (void)block; (void)jids; (void)n; (void)push; (void)changed;
	return failing(s, "blocking_set") ? XE_REDIS : 0;
}

/* ---- roster.h ---- */

static void get_ver(const char *bare, char *ver, size_t versz)
{
	int i = tfind(&versions, bare, "");
	if (ver && versz)
		snprintf(ver, versz, "%s", i >= 0 ? versions.e[i].v : "0");
}

static void incr_ver(const char *bare, char *ver, size_t versz)
{
	char buf[32];
	int i = tfind(&versions, bare, "");
	long v = i >= 0 ? atol(versions.e[i].v) : 0;
	snprintf(buf, sizeof buf, "%ld", v + 1);
	tput(&versions, bare, "", buf, strlen(buf), 1);
	get_ver(bare, ver, versz);
}

int roster_version(struct store *s, const char *bare, char *ver, size_t versz)
{
	if (failing(s, "roster_version"))
		return -1;
	get_ver(bare, ver, versz);
	return 0;
}

int roster_each(struct store *s, const char *bare, char *ver, size_t versz,
    int (*fn)(const char *contact, const char *item, void *arg), void *arg)
{
	int i;
	if (failing(s, "roster_each"))
		return -1;
	if (ver)
		get_ver(bare, ver, versz);
	for (i = 0; i < rosters.n; i++)
		if (same(rosters.e[i].a, bare) && fn(rosters.e[i].b, rosters.e[i].v, arg) == -1)
			return -1;
	return 0;
}

/* The state attributes at the head of a stored item: "<item subscription='S'"
 * [" ask='subscribe'"]; *sub and *ask receive them, the length is returned
 * (0 if the item does not start that way). */
static size_t item_head(const char *item, char *sub, size_t subsz, int *ask)
{
	static const char head[] = "<item subscription='", askattr[] = " ask='subscribe'";
	size_t n = 0, len;
	snprintf(sub, subsz, "none");
	*ask = 0;
	if (!item || strncmp(item, head, sizeof head - 1))
		return 0;
	n = sizeof head - 1;
	len = 0;
	while ((item[n + len] >= 'a' && item[n + len] <= 'z') ||
	    (item[n + len] >= 'A' && item[n + len] <= 'Z'))
		len++;
	if (!len || item[n + len] != '\'')
		return 0;
	snprintf(sub, subsz, "%.*s", (int)len, item + n);
	n += len + 1;
	if (!strncmp(item + n, askattr, sizeof askattr - 1)) {
		*ask = 1;
		n += sizeof askattr - 1;
	}
	return n;
}

static char *make_item(const char *sub, int ask, const char *rest)
{
	size_t len = strlen(sub) + strlen(rest) + 64;
	char *p = xmalloc(len);
	snprintf(p, len, "<item subscription='%s'%s%s", sub, ask ? " ask='subscribe'" : "", rest);
	return p;
}

int roster_set(struct store *s, const char *bare, const char *contact,
    const char *body, char **item, char *ver, size_t versz)
{
	char sub[32];
	int ask, i;
	char *n;

	*item = NULL;
	if (failing(s, "roster_set"))
		return -1;
	i = tfind(&rosters, bare, contact);
	item_head(i >= 0 ? rosters.e[i].v : NULL, sub, sizeof sub, &ask);
	n = make_item(sub, ask, body ? body : "");
	if (tput(&rosters, bare, contact, n, strlen(n), 1) == -1) {
		free(n);
		snprintf(s->err, sizeof s->err, "fake router: roster table full");
		return -1;
	}
	incr_ver(bare, ver, versz);
	*item = n;
	return 0;
}

int roster_put(struct store *s, const char *bare, const char *contact,
    const char *item, char *ver, size_t versz)
{
	if (failing(s, "roster_put"))
		return -1;
	if (tput(&rosters, bare, contact, item, strlen(item), 1) == -1) {
		snprintf(s->err, sizeof s->err, "fake router: roster table full");
		return -1;
	}
	incr_ver(bare, ver, versz);
	return 0;
}

int roster_remove(struct store *s, const char *bare, const char *contact,
    char **old, char *ver, size_t versz)
{
	int i;
	*old = NULL;
	if (failing(s, "roster_remove"))
		return -1;
	if ((i = tfind(&pending, bare, contact)) >= 0)
		tdel(&pending, i);
	i = tfind(&rosters, bare, contact);
	if (i < 0) {
		get_ver(bare, ver, versz);
		return 0;
	}
	*old = xstrdup(rosters.e[i].v);
	tdel(&rosters, i);
	incr_ver(bare, ver, versz);
	return 0;
}

/* roster_sub.lua */
int roster_subscription(struct store *s, const char *bare, const char *contact,
    int out, const char *type, const char *contact_attr, const char *stanza,
    enum roster_action *action, char **item, char *ver, size_t versz)
{
	char sub[32], nsub[32];
	int ask, nask, i, p;
	const char *cur, *rest;
	char *fresh = NULL, *n;
	size_t hl;

	*action = RA_DROP;
	*item = NULL;
	if (failing(s, "roster_subscription"))
		return -1;
	i = tfind(&rosters, bare, contact);
	cur = i >= 0 ? rosters.e[i].v : NULL;
	hl = item_head(cur, sub, sizeof sub, &ask);
	snprintf(nsub, sizeof nsub, "%s", sub);
	nask = ask;
#define IS(x) (!strcmp(sub, x))
#define SET(x) snprintf(nsub, sizeof nsub, "%s", x)
	if (out) {
		if (!strcmp(type, "subscribe")) {
			if (IS("none") || IS("from"))
				nask = 1;
			*action = RA_ROUTE;
		} else if (!strcmp(type, "subscribed")) {
			if ((p = tfind(&pending, bare, contact)) >= 0) {
				tdel(&pending, p);
				if (IS("none")) SET("from"); else if (IS("to")) SET("both");
				*action = RA_ROUTE;
			}
		} else if (!strcmp(type, "unsubscribe")) {
			if (IS("to")) SET("none"); else if (IS("both")) SET("from");
			nask = 0;
			*action = RA_ROUTE;
		} else if (!strcmp(type, "unsubscribed")) {
			if ((p = tfind(&pending, bare, contact)) >= 0)
				tdel(&pending, p);
			if (IS("from")) SET("none"); else if (IS("both")) SET("to");
			*action = RA_ROUTE;
		}
	} else {
		if (!strcmp(type, "subscribe")) {
			if (IS("from") || IS("both")) {
				*action = RA_AUTOREPLY;
			} else {
				tput(&pending, bare, contact, stanza, strlen(stanza), 1);
				*action = RA_DELIVER;
			}
		} else if (!strcmp(type, "subscribed")) {
			if (ask && (IS("none") || IS("from"))) {
				SET(IS("none") ? "to" : "both");
				nask = 0;
				*action = RA_DELIVER;
			}
		} else if (!strcmp(type, "unsubscribe")) {
			int had = (p = tfind(&pending, bare, contact)) >= 0;
			if (had)
				tdel(&pending, p);
			if (IS("from")) SET("none"); else if (IS("both")) SET("to");
			if (had || strcmp(nsub, sub))
				*action = RA_DELIVER;
		} else if (!strcmp(type, "unsubscribed")) {
			if (IS("to") || IS("both") || ask) {
				if (IS("to")) SET("none"); else if (IS("both")) SET("from");
				nask = 0;
				*action = RA_DELIVER;
			}
		}
	}
#undef IS
#undef SET
	if (!strcmp(nsub, sub) && nask == ask) {
		get_ver(bare, ver, versz);
		return 0;
	}
	if (cur && hl) {
		rest = cur + hl;
	} else {
		size_t l = strlen(contact_attr) + 16;
		fresh = xmalloc(l);
		snprintf(fresh, l, " jid='%s'/>", contact_attr);
		rest = fresh;
	}
	n = make_item(nsub, nask, rest);
	free(fresh);
	if (tput(&rosters, bare, contact, n, strlen(n), 1) == -1) {
		free(n);
		snprintf(s->err, sizeof s->err, "fake router: roster table full");
		*action = RA_DROP;
		return -1;
	}
	incr_ver(bare, ver, versz);
	*item = n;
	return 0;
}

int roster_pending_each(struct store *s, const char *bare,
    int (*fn)(const char *contact, const char *stanza, void *arg), void *arg)
{
	int i;
	if (failing(s, "roster_pending_each"))
		return -1;
	for (i = 0; i < pending.n; i++)
		if (same(pending.e[i].a, bare) && fn(pending.e[i].b, pending.e[i].v, arg) == -1)
			return -1;
	return 0;
}

/* ---- authfail.h (the window is not modelled: counts never expire) ---- */

static long count_of(const char *key)
{
	int i = tfind(&authfails, key, "");
	return i >= 0 ? atol(authfails.e[i].v) : 0;
}

static void set_count(const char *key, long n)
{
	char v[32];
	snprintf(v, sizeof v, "%ld", n);
	tput(&authfails, key, "", v, strlen(v), 1);
}

static void addr_key(const char *addr, char *out, size_t outsz)
{
	snprintf(out, outsz, "addr:%s", addr ? addr : "");
}

int authfail_record(struct store *s, const char *bare, const char *addr, int window,
    struct authfail_counts *out)
{
	char ak[256];
	(void)window;
	memset(out, 0, sizeof *out);
	if (failing(s, "authfail_record"))
		return -1;
	if (bare)
		set_count(bare, out->account = count_of(bare) + 1);
	if (addr) {
		addr_key(addr, ak, sizeof ak);
		set_count(ak, out->addr = count_of(ak) + 1);
	}
	return 0;
}

int authfail_counts_get(struct store *s, const char *bare, const char *addr,
    struct authfail_counts *out)
{
	char ak[256];
	memset(out, 0, sizeof *out);
	if (failing(s, "authfail_counts_get"))
		return -1;
	addr_key(addr, ak, sizeof ak);
	out->account = count_of(bare);
	out->addr = count_of(ak);
	return 0;
}

void authfail_clear(struct store *s, const char *bare)
{
	int i;
	if (failing(s, "authfail_clear"))
		return;
	if ((i = tfind(&authfails, bare, "")) >= 0)
		tdel(&authfails, i);
}

int authfail_each(struct store *s, int (*fn)(const struct authfail_entry *e, void *arg),
    void *arg)
{
	struct authfail_entry e;
	int i, pass;
	if (failing(s, "authfail_each"))
		return -1;
	for (pass = 0; pass < 2; pass++)          /* addresses first */
		for (i = 0; i < authfails.n; i++) {
			int is_addr = !strncmp(authfails.e[i].a, "addr:", 5);
			if (is_addr != (pass == 0))
				continue;
			e.kind = is_addr ? AUTHFAIL_ADDR : AUTHFAIL_ACCOUNT;
			e.name = authfails.e[i].a + (is_addr ? 5 : 0);
			e.count = atol(authfails.e[i].v);
			e.ttl = -1;
			if (fn(&e, arg) == -1) {
				s->err[0] = '\0';
				return -1;
			}
		}
	return 0;
}

int authfail_unblock(struct store *s, const char *addr)
{
	char ak[256];
	int i;
	if (failing(s, "authfail_unblock"))
		return -1;
	addr_key(addr, ak, sizeof ak);
	if ((i = tfind(&authfails, ak, "")) < 0)
		return AUTHFAIL_UNCOUNTED;
	tdel(&authfails, i);
	return AUTHFAIL_CLEARED;
}

/* ---- the preloaded state ---- */

static char cred_sha1[ACCOUNT_MAX_FIELD], cred_sha256[ACCOUNT_MAX_FIELD];

/* ---- in-band registration (account.h, invite.h) ---- */

static int invite_used;          /* FAKE_INVITE was consumed */

int invite_check(struct store *s, const char *token, const char *domain, int min_ttl,
    char *node, size_t nodesz)
{
	(void)domain;
	(void)min_ttl;
	node[0] = '\0';
	(void)nodesz;
	if (failing(s, "invite_check"))
		return -1;
	return !invite_used && !strcmp(token, FAKE_INVITE) ? INVITE_VALID : INVITE_NONE;
}

int account_created_from(struct store *s, const char *addr, long *n)
{
	char k[256];
	*n = 0;
	if (failing(s, "account_created_from"))
		return -1;
	snprintf(k, sizeof k, "reg:%s", addr);
	*n = count_of(k);
	return 0;
}

/* The new account gets FAKE_PASSWORD's credentials whatever the password:
 * a real derivation (SCRAM_ITERATIONS) would slow every input down. */
int account_create(struct store *s, const char *bare, const char *password, int legacy,
    const struct account_claim *claim)
{
	char k[256];
	int r;
	(void)password;
	(void)legacy;
	if (failing(s, "account_create"))
		return -1;
	if (claim && claim->addr) {
		snprintf(k, sizeof k, "reg:%s", claim->addr);
		if (count_of(k) >= claim->limit)
			return ACCOUNT_LIMITED;
	}
	if (claim && claim->token && (invite_used || strcmp(claim->token, FAKE_INVITE)))
		return ACCOUNT_NO_INVITE;
	if (find_account(bare) >= 0)
		return ACCOUNT_EXISTS;
	r = account_put(s, bare, cred_sha1, cred_sha256, NULL, 1);
	if (r == ACCOUNT_WRITTEN && claim && claim->addr)
		set_count(k, count_of(k) + 1);
	if (r == ACCOUNT_WRITTEN && claim && claim->token)
		invite_used = 1;
	return r;
}

static void make_creds(void)
{
	struct scram_cred c;
	if (cred_sha1[0])
		return;
	if (scram_cred_make(SCRAM_SHA1, FAKE_PASSWORD, (const unsigned char *)FAKE_SALT,
	    sizeof FAKE_SALT - 1, FAKE_ITERATIONS, &c) == -1 ||
	    scram_cred_format(&c, cred_sha1, sizeof cred_sha1) == -1 ||
	    scram_cred_make(SCRAM_SHA256, FAKE_PASSWORD, (const unsigned char *)FAKE_SALT,
	    sizeof FAKE_SALT - 1, FAKE_ITERATIONS, &c) == -1 ||
	    scram_cred_format(&c, cred_sha256, sizeof cred_sha256) == -1) {
		fprintf(stderr, "fake_router: cannot make SCRAM credentials\n");
		abort();
	}
}

static void add_session(const char *bare, const char *res, const char *id, int prio,
    const char *presence, int dead)
{
	int i = nsessions++;
	memset(&sessions[i], 0, sizeof sessions[i]);
	sessions[i].bare = xstrdup(bare);
	sessions[i].res = xstrdup(res);
	sessions[i].id = xstrdup(id);
	sessions[i].prio = prio;
	sessions[i].avail = presence != NULL;
	sessions[i].presence = presence ? xstrdup(presence) : NULL;
	sessions[i].dead = dead;
}

static void put(struct table *t, const char *a, const char *b, const char *v)
{
	tput(t, a, b, v, strlen(v), 1);
}

void fake_router_reset(void)
{
	static const char *const users[] = {
		"alice@localhost", "bob@localhost", "test@localhost", "carol@localhost"
	};
	size_t i;

	make_creds();
	calls = fail_at = 0;
	invite_used = 0;
	while (naccounts)
		del_account(naccounts - 1);
	while (nsessions)
		del_session(nsessions - 1);
	tclear(&rosters);
	tclear(&pending);
	tclear(&offline);
	tclear(&inbox);
	tclear(&versions);
	tclear(&channels);
	tclear(&queue);
	tclear(&authfails);
	tclear(&vcards);
	tclear(&privates);
	tclear(&archives);
	tclear(&pepnodes);
	tclear(&pepitems);
	archived = 0;
	queue_bytes = 0;

	for (i = 0; i < sizeof users / sizeof users[0]; i++) {
		int k = naccounts++;
		accounts[k].bare = xstrdup(users[i]);
		set_field(accounts[k].a.scram_sha1, cred_sha1);
		set_field(accounts[k].a.scram_sha256, cred_sha256);
		set_field(accounts[k].a.digest_secret, FAKE_PASSWORD);
	}
	add_session("bob@localhost", "phone", "b0b0b0b0b0b0b0b0b0b0b0b0", 5,
	    "<presence from='bob@localhost/phone' xml:lang='en'><show>away</show>"
	    "<status>at lunch &amp; out</status><priority>5</priority></presence>", 0);
	add_session("alice@localhost", "laptop", "a1a1a1a1a1a1a1a1a1a1a1a1", 1,
	    "<presence from='alice@localhost/laptop'><priority>1</priority></presence>", 0);
	add_session("carol@localhost", "old", "c0c0c0c0c0c0c0c0c0c0c0c0", 0,
	    "<presence from='carol@localhost/old'/>", 1);

	put(&rosters, "alice@localhost", "bob@localhost",
	    "<item subscription='both' jid='bob@localhost' name='Bob'><group>Friends</group></item>");
	put(&rosters, "alice@localhost", "carol@localhost",
	    "<item subscription='from' jid='carol@localhost'/>");
	put(&rosters, "alice@localhost", "dave@localhost",
	    "<item subscription='none' ask='subscribe' jid='dave@localhost'/>");
	put(&rosters, "bob@localhost", "alice@localhost",
	    "<item subscription='both' jid='alice@localhost'/>");
	put(&rosters, "carol@localhost", "alice@localhost",
	    "<item subscription='to' jid='alice@localhost'/>");
	put(&versions, "alice@localhost", "", "3");
	put(&versions, "bob@localhost", "", "1");
	put(&pending, "alice@localhost", "eve@localhost",
	    "<presence from='eve@localhost' to='alice@localhost' type='subscribe' id='eve1'/>");
	/* what the dead session left in its inbox: routed again when reaped */
	put(&inbox, "carol@localhost", "old", "stanza\n<message from='bob@localhost/phone' "
	    "to='carol@localhost/old' type='chat' id='lost1'><body>unread</body></message>");
	put(&offline, "alice@localhost", "",
	    "<message from='bob@localhost/phone' to='alice@localhost' type='chat' id='off1'>"
	    "<body>while you were away</body><delay xmlns='urn:xmpp:delay' from='localhost' "
	    "stamp='2024-01-01T00:00:00Z'>Offline Storage</delay></message>");
}
