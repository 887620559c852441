/*
 * store.h - the Redis connections of one process, and the names of keys and
 * channels (the layout xmpp-redis(7) documents).
 *
 * Every key of one user carries the bare JID as a hash tag, so a user's keys
 * share a Redis Cluster slot: <prefix>{alice@example.org}:<what>.
 * '{', '}' and '%' inside a JID are percent-encoded so the tag stays intact.
 *
 * Contract: functions return 0 on success, XE_REDIS (xerr.h) on a Redis or
 * protocol error, with the reason in store->err. So do the router's other
 * files, which add named results (>= 0) and XE_REPLY for a reply their
 * script never gives. Nothing here knows about sockets to clients or
 * about XML.
 */
#ifndef XMPPD_STORE_H
#define XMPPD_STORE_H

#include <stddef.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>
#include "xerr.h"

#define STORE_MAX_KEY  4096
/* A global key names no JID: "<prefix><name>", the prefix shorter than
 * 128 bytes (struct store) and every name a fixed word or "host:" and a
 * host name shorter than 300 bytes (session.c). A buffer this size never
 * truncates one, and keeps the callers' stack frames small. */
#define STORE_MAX_GLOBAL_KEY 512
#define STORE_ERR_LEN  1400
#define STORE_SCRIPTS_MAX 128   /* scripts a connection keeps track of (scripts.h) */

#define STORE_CHANNELS_MAX 64     /* channels one process listens to */
#define STORE_SENTINELS_MAX 8    /* sentinels one sentinel:// URL names */
#define STORE_PRIMARY_MAX   300  /* "host:port" */

struct store {
	redisContext *cmd;            /* request/response commands */
	redisContext *sub;            /* SUBSCRIBE only (RESP2: no other command) */
	/* Through Sentinel, the primary each connection reached (else ""). */
	char primary[STORE_PRIMARY_MAX];
	char sub_primary[STORE_PRIMARY_MAX];
	/* cluster://: the slot map and a connection per primary, used
	 * instead of cmd (cluster.h); the last command found its node's
	 * connection lost. */
	struct cluster *cluster;
	int cluster_lost;
	/* The channels subscribed (store_subscribe), to subscribe again
	 * where a resharding moved them; replies read while waiting for a
	 * confirmation, handed out by the next store_sub_read. */
	struct store_channel {
		char *name;
		char *resync;
	} chan[STORE_CHANNELS_MAX];
	int nchan;
	struct store_early {
		redisReply *r;
		struct store_early *next;
	} *early;
	int wait_replicas;            /* WAIT after routing (redis_wait_replicas) */
	int wait_timeout_ms;
	char prefix[128];
	char url[1024];
	int timeout_ms;
	int session_ttl;               /* seconds; older session records are stale */
	int resume_timeout;            /* seconds a lost resumable session waits (XEP-0198) */
	/* The archive policy (mam.h): entries kept per user (0: no cap),
	 * seconds kept (0: no limit), the default of users who set none. */
	int archive_max_count;
	long archive_max_age;
	char archive_default[8];       /* "always", "roster" or "never" */
	time_t last_ok;                /* when the command connection last answered */
	/* The scripts (scripts.h, by index) this connection saw Redis run
	 * or load: a pipeline loads the others first (store_pipeline). */
	unsigned char script_known[STORE_SCRIPTS_MAX];
	char err[STORE_ERR_LEN];
};

/* Parse url ("redis://[:password@]host[:port][/db]", "unix:/path[?db=N]"
 * or "sentinel://[:password@]host[:port][,host[:port]...]/name
 * [?password=PW&db=N]") and open the command connection (AUTH and SELECT
 * as needed): 0 or XE_REDIS. Through Sentinel (Redis's own failover),
 * every connection asks the sentinels in turn for the primary of name,
 * checks it with ROLE, and asks again when its connection is lost or the
 * server answers READONLY (a primary demoted by a failover): the
 * command that saw it fails, the next one goes to the new primary. */
int store_open(struct store *s, const char *url, const char *prefix, int timeout_ms);
/* A connection to host:port authenticated with password ("" for none),
 * labelled label in errors: NULL with s->err set. (cluster.c) */
redisContext *store_dial(struct store *s, const char *host, int port, const char *password,
    struct timeval tv, const char *label);
/* Open the subscriber connection (lazily: only bound sessions need it):
 * 0 or XE_REDIS. */
int store_open_sub(struct store *s);
/*
 * Channels (xmpp-redis(7) CHANNELS). One with a hash tag (a user's, a
 * room's: store_user_key, store_full_channel) is a shard channel,
 * SSUBSCRIBE and SPUBLISH: on a cluster only the primary of its slot
 * carries it. One without (the federation wake-up) is a classic one,
 * SUBSCRIBE and PUBLISH, which every node of a cluster relays, on
 * s->sub. On one Redis both kinds go through s->sub.
 *
 * store_subscribe: listen to channel (wait: until Redis confirms, so
 *   that nothing published after the return is missed); resync, if not
 *   NULL, is the payload store_sub_read hands out in place of what may
 *   have been missed when a resharding moved the channel's slot (the
 *   channel is then subscribed again where it went). 0 or XE_REDIS.
 * store_unsubscribe: stop listening (without waiting). 0 or XE_REDIS.
 * store_sub_fds: the subscriber connections' descriptors to poll, into
 *   fds (at most max): how many.
 * store_sub_read: read what arrived on fd (one store_sub_fds gave) and
 *   call fn with each message's payload: 0, or -1 when the connection
 *   failed (a wake-up may have been lost: the caller's problem).
 * store_publish_command: "SPUBLISH" or "PUBLISH", for channel.
 */
int store_subscribe(struct store *s, const char *channel, const char *resync, int wait);
int store_unsubscribe(struct store *s, const char *channel);
int store_sub_fds(const struct store *s, int *fds, int max);
int store_sub_read(struct store *s, int fd,
    void (*fn)(const char *payload, size_t len, void *arg), void *arg);
const char *store_publish_command(const char *channel);
/* Through Sentinel: the command connection now reaches another primary
 * than the subscriber does (a failover), whose channels hear nothing
 * more: the connection must end, and its client come back. */
int store_moved(const struct store *s);
/* Whether the store is open (store_open succeeded, store_close not yet
 * called): 1 or 0. */
int store_is_open(const struct store *s);
/* The command connection is gone (lost, or dropped after a failover):
 * the last commands may not have run, and the next one reconnects. */
int store_lost(const struct store *s);
/* Through Sentinel: ask the sentinels whether the command connection's
 * server is still the primary; if not, drop the connection (store_lost)
 * and return 0; 1 if it is, or when there is no Sentinel or no answer. */
int store_still_primary(struct store *s);
void store_close(struct store *s);
struct config;
/* Take the operator's policies that the routing decisions apply (session
 * staleness, resumption, the archive) from cfg. */
void store_policy(struct store *s, const struct config *cfg);
/* store_open for cfg's Redis, tried STORE_OPEN_TRIES times
 * STORE_OPEN_RETRY_MS apart (Redis restarting), then store_policy: 0,
 * or -1 (logged). What a program does first with Redis. */
#define STORE_OPEN_TRIES     3
#define STORE_OPEN_RETRY_MS  300
int store_open_config(struct store *s, const struct config *cfg);

/* "<prefix>{<escaped bare>}:<what>" ; what may be NULL for the bare channel
 * "<prefix>{<escaped bare>}". */
void store_user_key(const struct store *s, const char *bare, const char *what,
    char *out, size_t outsz);
/* Full-JID channel "<prefix>{<escaped bare>}/<resource>". */
void store_full_channel(const struct store *s, const char *bare,
    const char *resource, char *out, size_t outsz);
/* For each member m of bare's key list_what, read with cmd ("SMEMBERS"
 * for a set, "HKEYS" for a hash), delete bare's keys <prefix>m for each
 * of prefixes (NULL-ended): the keys a user's sessions or archive
 * indexes own. 0 or XE_REDIS. */
int store_del_members(struct store *s, const char *bare, const char *cmd,
    const char *list_what, const char *const *prefixes);
struct strvec;
/* Every member of the set key (SMEMBERS: for small sets), added to out.
 * How many, or XE_REDIS / XE_REPLY. */
int store_members(struct store *s, const char *key, struct strvec *out);
/* Global keys: "<prefix><name>" (the users index, the online index). */
void store_global_key(const struct store *s, const char *name, char *out, size_t outsz);
/*
 * A global index that scripts update beside a user's, a room's or a
 * route's keys (the online users, the session expiry, the users, the
 * rooms): one key on one Redis, one shard per hash slot on a cluster
 * (keyslot.h), so that a script touches one slot.
 * store_shard_key: the shard of index name beside owner's keys (owner as
 * store_user_key tags it): "<prefix><name>", or "<prefix><name>:{TAG}".
 * store_shard_each: fn(key, arg) for every shard of name, in slot order
 * (one key, or KEYSLOT_SLOTS of them); fn's non-zero return stops the walk and
 * is returned.
 */
void store_shard_key(const struct store *s, const char *name, const char *owner,
    char *out, size_t outsz);
/* The shard of name at slot (on one Redis: the one key). */
void store_shard_key_at(const struct store *s, const char *name, unsigned slot,
    char *out, size_t outsz);
int store_shard_each(const struct store *s, const char *name,
    int (*fn)(const char *key, void *arg), void *arg);
/* Every member of every shard of the set index name, added to out (read
 * in pipelines of STORE_SHARD_BATCH shards): how many, or XE_REDIS. */
#define STORE_SHARD_BATCH 512
int store_shard_members(struct store *s, const char *name, struct strvec *out);
/* in (a key prefix) as the start of a SCAN MATCH pattern: glob
 * characters escaped; out holds twice in's length and a NUL. Pure
 * (router/format.c). */
void store_glob_escape(const char *in, char *out, size_t outsz);

/* Wait up to tries * wait_ms for Redis to answer PING (reconnecting as
 * needed): 0 once it does, XE_REDIS if it never did. A connection that
 * answered within STORE_FRESH_SEC is taken as up without a PING. */
#define STORE_FRESH_SEC 1
/* Something (the subscriber connection failing) says Redis may be gone:
 * the next store_wait asks it. */
void store_suspect(struct store *s);
int store_wait(struct store *s, int tries, int wait_ms);

/* Run a command (hiredis format) on the command connection; returns the
 * reply (caller frees with freeReplyObject) or NULL with s->err set. A
 * Redis error reply is returned as NULL too. */
redisReply *store_cmd(struct store *s, const char *fmt, ...);
redisReply *store_cmdargv(struct store *s, int argc, const char **argv, const size_t *lens);

/*
 * Walk a cursor to its end: SSCAN set_key, or SCAN over the key space
 * when set_key is NULL (MATCH match when it is not NULL), COUNT
 * STORE_SCAN_COUNT at a time, calling fn with each string element.
 *
 * Accepts: fn returns 0 to go on, or a negative value that stops the
 *   walk; fn may run commands itself (each batch is read whole first).
 * Returns: 0 at the end, fn's stop value, XE_REDIS, or XE_REPLY (a reply
 *   that is not a cursor and a list) with s->err set. An element may come
 *   twice (Redis's SCAN guarantee): callers that list sort and unique.
 */
#define STORE_SCAN_COUNT  1000     /* elements Redis looks at per call */
#define STORE_CURSOR_MAX  32       /* a cursor is a 64-bit decimal */
int store_scan(struct store *s, const char *set_key, const char *match,
    int (*fn)(const char *item, void *arg), void *arg);

/* Run a Lua script by EVALSHA (sha: its SHA-1 in hex, made at build
 * time, of the whole text, a "#!lua" first line included), loading it
 * with SCRIPT LOAD on NOSCRIPT: one round trip in the common case.
 * Returns the reply (caller frees) or NULL with s->err set, as
 * store_cmd. */
redisReply *store_eval(struct store *s, const char *script, const char *sha,
    int nkeys, int argc, const char **argv, const size_t *lens);

/*
 * Every router/lua script answers in one shape: an array whose first
 * element is a string outcome ('ours', 'delivered' ...), then that
 * outcome's data. store_script runs one (as store_eval) and names the
 * outcome.
 *
 * Accepts: name, the script's name for s->err; outcomes, the outcomes the
 *   script may answer, NULL-terminated: a caller's enum of named results
 *   indexes it.
 * Returns: the index of the outcome in outcomes (>= 0), with the whole
 *   reply in *reply (the caller frees it); or XE_REDIS (Redis failed, or
 *   the script raised an error) or XE_REPLY (another reply), with s->err
 *   set and *reply NULL.
 */
int store_script(struct store *s, const char *name, const char *script, const char *sha,
    int nkeys, int argc, const char **argv, const size_t *lens,
    const char *const *outcomes, redisReply **reply);
/* The outcome of a script's reply r, as store_script finds it: its index
 * in outcomes, or XE_REPLY when r is NULL, not that shape, or an outcome
 * not in the list. Pure (router/format.c). */
int store_outcome(const redisReply *r, const char *const *outcomes);

/* Element i of a script's array reply r as a string into out (outsz
 * bytes), or "" when it is not there, not a string or too long. Pure. */
void store_reply_str(const redisReply *r, size_t i, char *out, size_t outsz);

/* An argument list for store_script, built one argument at a time; at
 * most STORE_ARGV_MAX (a call beyond is ignored: callers' lists are
 * shorter, the bound only keeps a mistake in). The longest is an archive
 * query naming mam.h's MAM_IDS_MAX ids. */
#define STORE_ARGV_MAX 300
struct store_argv {
	const char *argv[STORE_ARGV_MAX];
	size_t lens[STORE_ARGV_MAX];
	int argc;
};
void store_argv_add(struct store_argv *a, const char *v, size_t len);
void store_argv_str(struct store_argv *a, const char *v);

/* One more command to send in another function's pipeline (one round
 * trip for both): argv as store_pipeline takes it; reply is set to its
 * reply (NULL if the connection failed; the owner frees it). */
struct store_rider {
	int argc;
	const char **argv;
	const size_t *lens;
	redisReply *reply;
};

/* Send n commands in one round trip; replies[i] is each reply (NULL if
 * the connection failed; free each). XE_REDIS if any failed (a Redis
 * error reply counts). The commands run in order: a script (EVALSHA)
 * this connection has not seen Redis know is loaded first, in the same
 * round trip, so that none answers NOSCRIPT and runs later than the
 * commands after it (a Redis restart still may: its caller runs it
 * again, out of order). */
int store_pipeline(struct store *s, int n, const char **cmd_argv[], const size_t *cmd_lens[],
    const int *cmd_argc, redisReply **replies);

#endif
