/*
 * store.h - the Redis connections of one process, and the names of keys and
 * channels (the layout xmpp-redis(7) documents).
 *
 * Every key of one user carries the bare JID as a hash tag, so a user's keys
 * share a Redis Cluster slot: <prefix>{alice@example.org}:<what>.
 * '{', '}' and '%' inside a JID are percent-encoded so the tag stays intact.
 *
 * Contract: functions return 0 on success, -1 on a Redis or protocol error
 * (with the reason in store->err). Nothing here knows about sockets to
 * clients or about XML.
 */
#ifndef XMPPD_STORE_H
#define XMPPD_STORE_H

#include <stddef.h>
#include <hiredis/hiredis.h>

#define STORE_MAX_KEY  4096
#define STORE_ERR_LEN  1400

struct store {
	redisContext *cmd;            /* request/response commands */
	redisContext *sub;            /* SUBSCRIBE only (RESP2: no other command) */
	char prefix[128];
	char url[1024];
	int timeout_ms;
	int session_ttl;               /* seconds; older session records are stale */
	char err[STORE_ERR_LEN];
};

/* Parse url ("redis://[:password@]host[:port][/db]" or "unix:/path[?db=N]")
 * and open the command connection (AUTH and SELECT as needed). */
int store_open(struct store *s, const char *url, const char *prefix, int timeout_ms);
/* Open the subscriber connection (lazily: only bound sessions need it). */
int store_open_sub(struct store *s);
void store_close(struct store *s);

/* "<prefix>{<escaped bare>}:<what>" ; what may be NULL for the bare channel
 * "<prefix>{<escaped bare>}". */
void store_user_key(const struct store *s, const char *bare, const char *what,
    char *out, size_t outsz);
/* Full-JID channel "<prefix>{<escaped bare>}/<resource>". */
void store_full_channel(const struct store *s, const char *bare,
    const char *resource, char *out, size_t outsz);
/* Global keys: "<prefix><name>" (the users index, the online index). */
void store_global_key(const struct store *s, const char *name, char *out, size_t outsz);

/* Wait up to tries * wait_ms for Redis to answer PING (reconnecting as
 * needed): 0 once it does, -1 if it never did. */
int store_wait(struct store *s, int tries, int wait_ms);

/* Run a command (hiredis format) on the command connection; returns the
 * reply (caller frees with freeReplyObject) or NULL with s->err set. A
 * Redis error reply is returned as NULL too. */
redisReply *store_cmd(struct store *s, const char *fmt, ...);
redisReply *store_cmdargv(struct store *s, int argc, const char **argv, const size_t *lens);

/* Run a Lua script by EVALSHA (sha: its SHA-1 in hex, made at build
 * time), loading it with SCRIPT LOAD on NOSCRIPT: one round trip in the
 * common case. */
redisReply *store_eval(struct store *s, const char *script, const char *sha,
    int nkeys, int argc, const char **argv, const size_t *lens);

/* Send n commands in one round trip; replies[i] is each reply (NULL if
 * the connection failed; free each). -1 if any failed. */
int store_pipeline(struct store *s, int n, const char **cmd_argv[], const size_t *cmd_lens[],
    const int *cmd_argc, redisReply **replies);

#endif
