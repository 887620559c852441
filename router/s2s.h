/*
 * s2s.h - federation's state in Redis (xmpp-redis(7) Federation): what
 * waits for each remote domain, who holds the outbound connection to
 * it, and the dialback verifications to ask of it. Every queue lives
 * here, so any host may take a domain over when its connection's
 * process dies.
 *
 *   xmpp:s2s:out:{DOMAIN}     list: envelopes "stanza <accepted>\n<xml>"
 *                             (route.h) for DOMAIN, oldest first
 *   xmpp:s2s:verify:{DOMAIN}  list: XEP-0220 verifications to send to
 *                             DOMAIN's server, "<ask-id> <from> <to>
 *                             <stream-id> <key>", oldest first
 *   xmpp:s2s:verified:ASKID   list: the one answer to a verification,
 *                             "valid", "invalid" or "error", for the
 *                             asker's blocking pop; it expires
 *   xmpp:s2s:domains          set: domains with work waiting; on a
 *                             cluster one shard per slot,
 *                             xmpp:s2s:domains:{TAG}, each beside the
 *                             routes of its slot (store_shard_key_at),
 *                             so that the scripts touch one slot
 *   xmpp:s2s:wake             channel: payload DOMAIN, when DOMAIN got
 *                             work (published by the queueing scripts)
 *   xmpp:s2s:lease:{DOMAIN}   string: "<host> <pid>" of the one process
 *                             connected out to DOMAIN; it expires unless
 *                             renewed
 *   xmpp:s2s:in:HOST:PID      string: what one inbound stream (an
 *                             xmpp-s2s-in process) authenticated, for
 *                             xmppctl; it expires unless renewed
 *
 * DOMAIN (the `domain` argument below) names one route: "REMOTE/LOCAL",
 * the remote domain and the served domain a stream to it speaks for
 * (lower case; a domain has no '/'), since a stream is authenticated for
 * one local domain: stanzas from two of our domains to one remote go on
 * two streams. An external component (XEP-0114, config_component) has
 * one route, "COMPONENT/component", whatever domain its stanzas come
 * from: its own connection process holds the lease and drains the queue
 * (xmpp-component(8)), never xmpp-s2s-out. No served domain that
 * federates is named "component" (other servers find ours in the DNS).
 *
 * Contract: as store.h. Functions return a named result (>= 0) or a
 * negative xerr.h code (XE_REDIS, XE_REPLY) with store->err set.
 */
#ifndef XMPPD_S2S_STORE_H
#define XMPPD_S2S_STORE_H

#include <stddef.h>
#include "store.h"
#include "strvec.h"

#define S2S_ROUTE_MAX     2048         /* "REMOTE/LOCAL" and its NUL */
#define S2S_WAKE_CHANNEL  "s2s:wake"   /* store_global_key name of the channel */
#define S2S_DOMAINS       "s2s:domains" /* the sharded set of routes with work */
#define S2S_CLOSE_PREFIX  "close "     /* a wake-up "close ROUTE": its connection
                                          ends (xmppctl s2s close) */
#define S2S_VERIFY_MAX    1024         /* bytes of one verification entry */
#define S2S_ANSWER_TTL    120          /* seconds an unread answer is kept */

#define S2S_COMPONENT_LOCAL "component" /* a component's route:
                                          "COMPONENT/component" */
#define S2S_LEASE_VACANT  "-"          /* a lease nobody holds, still alive:
                                          a component's, while it reconnects */

/* S2S_ABSENT: no component holds the route's lease (nobody would read
 * the queue). */
enum s2s_queued { S2S_QUEUED = 0, S2S_FULL = 1, S2S_ABSENT = 2 };
struct config;
struct xml_node;
/* Queue stanza for federation: its 'from' a JID of a served domain, its
 * 'to' one of a remote domain cfg allows (config_s2s_allowed), on the
 * route between the two, accepted now, capped at s2s_queue_max. Or for
 * a component: 'to' of a component's domain (config_component), 'from'
 * of a served domain, the conference domain or a component's, on the
 * component's route, only while its lease is held. S2S_QUEUED, S2S_FULL
 * (logged), S2S_ABSENT, or XE_INVALID (not such a stanza) / XE_REDIS. */
int s2s_send(struct store *s, const struct config *cfg, const struct xml_node *stanza);
/* s2s_send for n stanzas in one pipelined round trip (a presence to
 * every remote contact): out[i], if out is not NULL, gets what s2s_send
 * would have answered for stanzas[i]; store->err the last failure's. */
void s2s_send_many(struct store *s, const struct config *cfg, int n,
    const struct xml_node *const *stanzas, int *out);
/* The route of component domain into out (S2S_ROUTE_MAX bytes). */
void s2s_component_route(const char *domain, char *out, size_t outsz);
/* 1 if route is a component's (s2s_component_route). */
int s2s_is_component_route(const char *route);
/* Queue envelope env (len bytes) for remote domain, unless its queue
 * holds max entries already; the domain is marked as having work and
 * S2S_WAKE_CHANNEL told (s2s_queue.lua). S2S_QUEUED or S2S_FULL. */
int s2s_queue(struct store *s, const char *domain, const char *env, size_t len, int max);

/* fn for each of up to max (>= 1) envelopes at the head of domain's
 * queue, oldest first, none removed (fn borrows each). Returns how
 * many. */
int s2s_peek(struct store *s, const char *domain, int max,
    void (*fn)(const char *env, size_t len, void *arg), void *arg);
/* The first n envelopes of domain's queue were written to its server, or
 * bounced: remove them. 0 or an error. */
int s2s_done(struct store *s, const char *domain, int n);

/* Ask domain's server, through whoever connects out to it, whether key
 * is the dialback key it made for a stream from it (from) to us (to)
 * with stream id sid (XEP-0220 2.4); ask_id (random, no spaces) names
 * the answer (s2s_queue.lua's sibling, s2s_verify_ask.lua). 0 or an
 * error. */
int s2s_verify_ask(struct store *s, const char *domain, const char *ask_id, const char *from,
    const char *to, const char *sid, const char *key);
/* Take up to max verifications waiting for domain's server, each handed
 * to fn as its fields (borrowed for the call). Returns how many. */
int s2s_verify_take(struct store *s, const char *domain, int max,
    void (*fn)(const char *ask_id, const char *from, const char *to, const char *sid,
    const char *key, void *arg), void *arg);
/* Answer verification ask_id: "valid", "invalid" or "error". 0 or an
 * error. */
int s2s_verify_answer(struct store *s, const char *ask_id, const char *result);
/* Wait up to timeout seconds for verification ask_id's answer, into out
 * ("" when none came in time). 0 or an error. */
int s2s_verify_wait(struct store *s, const char *ask_id, int timeout, char *out, size_t outsz);

enum s2s_lease { S2S_LEASE_OTHER = 0, S2S_LEASE_OURS = 1 };
/* Take domain's lease for host/pid for ttl seconds if nobody holds it
 * (or it is vacant), or renew it if it is ours (s2s_lease.lua). S2S_LEASE_OURS, or
 * S2S_LEASE_OTHER (another process is connected out to domain). */
int s2s_lease(struct store *s, const char *domain, const char *host, long pid, int ttl);
/* Give domain's lease up, if ours. 0 or an error. */
int s2s_lease_release(struct store *s, const char *domain, const char *host, long pid);
/* Give domain's lease up, if ours, but keep it alive for ttl seconds as
 * S2S_LEASE_VACANT: anyone may take it, and a component's route still
 * queues (s2s_send) while its component reconnects. 0 or an error. */
int s2s_lease_vacate(struct store *s, const char *domain, const char *host, long pid, int ttl);

/* Ask the process connected out on route to close its stream (a
 * wake-up S2S_CLOSE_PREFIX route). How many subscribers got it (every
 * dispatcher and connection process listens), or XE_REDIS. */
long s2s_close(struct store *s, const char *route);

/* Inbound streams. S2S_IN_TTL: an entry outlives its process's last
 * renewal by this long. */
#define S2S_IN_TTL       180
#define S2S_IN_RENEW     60            /* seconds between renewals */
#define S2S_IN_DESC_MAX  1024          /* bytes of an entry */
/* Say (again) what the stream of host/pid serves: desc, one line. 0 or
 * XE_REDIS. */
int s2s_in_register(struct store *s, const char *host, long pid, const char *desc);
/* The stream of host/pid ended. 0 or XE_REDIS. */
int s2s_in_unregister(struct store *s, const char *host, long pid);
/* "HOST:PID desc" of every inbound stream, added to out (may repeat). 0
 * or an error. */
int s2s_in_list(struct store *s, struct strvec *out);

/* The domains with work waiting (every shard), added to out. 0 or an
 * error. */
int s2s_domains(struct store *s, struct strvec *out);
/* Every route with work waiting or a process connected out on it, added
 * to out (may repeat: sort and unique). 0 or an error. */
int s2s_routes(struct store *s, struct strvec *out);
/* What one route holds: envelopes queued, the accepted time of the
 * oldest (0: none), verifications waiting, and the lease's holder
 * ("<host> <pid>", "" none). 0 or an error. */
struct s2s_route_info {
	long queued, verifies;
	long oldest;
	char holder[300];
};
int s2s_route_info(struct store *s, const char *route, struct s2s_route_info *info);

enum s2s_idle { S2S_BUSY = 0, S2S_IDLE = 1 };
/* If domain has nothing waiting (no envelope, no verification), it is
 * no longer marked as having work (s2s_idle.lua). S2S_IDLE or S2S_BUSY. */
int s2s_idle(struct store *s, const char *domain);

#endif
