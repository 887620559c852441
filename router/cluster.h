/*
 * cluster.h - Redis Cluster under store.c: which primary serves a key, one
 * connection to each primary, and the redirections that a resharding or
 * a failover answers with (hiredis 0.14 knows none of this).
 *
 * A cluster splits the keys into CLUSTER_SLOTS hash slots, each served by
 * one primary. A command goes to the primary of its first key's slot; a
 * primary that does not serve it answers MOVED (the slot moved: read the
 * map again) or ASK (the slot is being moved and this key already went:
 * ask the other primary once, after ASKING). xmppd's keys of one user,
 * room or route share a hash tag (store.h), and no command or script
 * touches two slots, so every command has one home.
 *
 * Contract: only store.c uses these, on its store's cluster (s->cluster);
 * those that reach Redis return 0 (or what they say) or -1 with the reason
 * in s->err. Pure ones say so.
 */
#ifndef XMPPD_CLUSTER_H
#define XMPPD_CLUSTER_H

#include <stddef.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>
#include "store.h"
#include "keyslot.h"

#define CLUSTER_SLOTS      KEYSLOT_SLOTS
#define CLUSTER_NODES_MAX  64      /* primaries (and seeds) one process knows */
#define CLUSTER_HOPS_MAX   5       /* redirections one command follows */
#define CLUSTER_TRYAGAIN_MS 50     /* a multi-key command during a move waits, */
#define CLUSTER_TRYAGAIN_MAX_MS 5000  /* ... at most this long in all */

struct cluster_node {
	char host[256];
	int port;
	redisContext *c;
	redisContext *sub;             /* its shard channels (store_subscribe) */
	int primary;                   /* it serves slots, as the map says */
	/* The scripts (scripts.h) this connection saw Redis run or load. */
	unsigned char script_known[STORE_SCRIPTS_MAX];
};

struct cluster {
	struct cluster_node node[CLUSTER_NODES_MAX];
	int nnodes;                    /* the first nseeds are the URL's */
	int nseeds;
	short slot[CLUSTER_SLOTS];     /* node index, -1 while unknown */
	char password[256];
	struct timeval tv;             /* connect and command timeout */
};

/* A cluster of the seed nodes "host:port" (nseeds of them), reached with
 * password ("" for none); no connection yet. */
struct cluster *cluster_new(const char (*host)[256], const int *port, int nseeds,
    const char *password, int timeout_ms);
void cluster_free(struct cluster *cl);

/* The slot the command in buf (RESP, as hiredis formats it) must run at:
 * that of its first key (EVALSHA/EVAL: of KEYS[1]; PUBLISH and SPUBLISH:
 * of the channel), or -1 for a command with no key (PING, WAIT, SCRIPT,
 * SCAN). Pure. */
int cluster_command_slot(const char *buf, size_t len);

/* The node serving slot (-1: any), connected (the slot map read first
 * when it is unknown): its index, or -1. */
int cluster_node_for(struct store *s, int slot);
/* A reply that redirects: MOVED (the map is read again; returns 1, *node
 * the new home) or ASK (returns 2, *node the index to ask once, after
 * ASKING); 0 for any other reply, -1 when the node named cannot be
 * reached. */
int cluster_redirect(struct store *s, const redisReply *r, int *node);
/* Read the slot map from any node that answers (at the start, and after a
 * failure: a replica may have replaced a primary): 0 or -1. */
int cluster_refresh(struct store *s);
/* The connection of node i failed: drop it (the next use reconnects). */
void cluster_drop(struct cluster *cl, int i);
/* The primaries serving slots now, by index, into out (at most
 * CLUSTER_NODES_MAX), each connected: how many, or -1 (one cannot be
 * reached). What a command sent to every primary (SCAN) walks. */
int cluster_primaries(struct store *s, int *out);
#endif
