/*
 * route.h - what travels between handlers over Redis pub/sub, and the
 * routing decisions taken inside Redis.
 *
 * Each bound session subscribes to its full-JID channel
 * "<prefix>{bare}/<resource>" and its bare channel "<prefix>{bare}".
 * A published payload is one envelope: a header line, '\n', then a body:
 *   "inbox\n"                   stanzas wait in the session's inbox list
 *                               <prefix>{bare}:inbox:<resource>: take them
 *   "stanza [<accepted>]\n<xml>" deliver to the client as is (full channel;
 *                               inbox entries are such envelopes too);
 *                               accepted: when the server first accepted
 *                               the stanza (Unix seconds), for the delay
 *                               stamp of a message routed again; "echo"
 *                               after it: the session's own message come
 *                               back, which another resource got too, or
 *                               an XEP-0280 carbon copy (carbons.h): never
 *                               kept for a second delivery nor routed again
 *   "presence\n<xml>"           deliver only if this session is available
 *                               (presence broadcasts, subscription requests)
 *   "push <ver>\n<item>"        roster push: only to sessions that asked for
 *                               the roster
 *   "kick <id> <condition>\n"   session <id> must end with that stream error
 *   "carbons\n"                 a session of the user enabled XEP-0280 carbons
 *                               (bare channel): it wants sent copies
 *   "blocking\n<xml>"           the user's XEP-0191 blocklist changed (bare
 *                               channel, blocking.h): <xml> is the <block/>
 *                               or <unblock/> element pushed to the sessions
 *                               that asked for the list
 *   "pep <node> [own]\n<xml>"   an XEP-0163 notification (pep.h): <xml> is
 *                               the <message/> without a 'to', written to
 *                               the client with its full JID as 'to' if
 *                               the session is available and, unless
 *                               "own" (the owner's own sessions get every
 *                               one), its client wants <node>
 *                               notifications (XEP-0115 "+notify"); the
 *                               node is percent-encoded (%XX for '%' and
 *                               bytes up to space and DEL)
 *   "muc <room>\n"              the XEP-0045 room <room> (a bare JID)
 *                               has new events in its log (muc.h), on
 *                               the room channel <prefix>{room}
 *
 * What is published on a bare channel goes through bcast.lua: while a
 * reader keeps the user's broadcast log (route_bcast_hold), the payload
 * is first appended to the stream <prefix>{bare}:bcast (entry field
 * 'e'), so that a session whose handler comes and goes (BOSH: one
 * process per request) reads every broadcast exactly once, in order,
 * from where its last request stopped (the position is stream
 * management state, sm.h), rather than only those that come while a
 * process listens.
 *
 * Contract: as store.h. Functions return 0 or a count, or a negative
 * xerr.h code with store->err set: XE_REDIS, or XE_REPLY when a script
 * answers what it never does. route_stanza's outcomes are named
 * (enum route_outcome), RO_ERROR standing for both.
 */
#ifndef XMPPD_ROUTE_H
#define XMPPD_ROUTE_H

#include <stddef.h>
#include "store.h"
#include "xml.h"

enum route_kind { ROUTE_STANZA, ROUTE_PRESENCE, ROUTE_PUSH, ROUTE_KICK, ROUTE_INBOX,
	ROUTE_CARBONS, ROUTE_BLOCKING, ROUTE_PEP, ROUTE_MUC, ROUTE_UNKNOWN };

#define ROUTE_NODE_MAX 257      /* a PEP node name and its NUL (pep.h) */
#define ROUTE_HEADER_MAX 1024   /* an envelope's header line: a node encoded */

struct route_msg {
	enum route_kind kind;
	char id[64];            /* kick: target stream id */
	char cond[64];          /* kick: stream error condition */
	char ver[32];           /* push: roster version */
	long accepted;          /* stanza: accepted at (Unix seconds), 0 unknown */
	int echo;               /* stanza: the session's own message come back, which
	                           another resource of the user got too, or a
	                           carbon copy: not to be delivered twice */
	char node[ROUTE_NODE_MAX];  /* pep: the node, decoded; muc: the room */
	/* muc, a groupchat message carried in the wake-up (muc.h): its log
	 * entry in id, the entry before it, its random part; the body is
	 * the nick, a newline and the stanza. "" for a bare wake-up. */
	char prev[64], rand[40];
	int own;                /* pep: the owner's own sessions' copy */
	int offline;            /* inbox: offline storage may hold some too (the
	                           channel moved, route_subscribe) */
	const char *body;       /* the XML (points into the payload) */
	size_t body_len;
};

/* What became of a routed stanza: route_stanza.lua's outcomes ('delivered',
 * 'offline', 'nouser', 'unavailable', 'full', 'dropped', 'blocked'), in
 * that order, and RO_ERROR. */
enum route_outcome {
	RO_DELIVERED,           /* published to at least one live session */
	RO_OFFLINE,             /* stored for the user's next login */
	RO_NOUSER,              /* no such account */
	RO_UNAVAILABLE,         /* nobody can take it: service-unavailable */
	RO_FULL,                /* offline store full: service-unavailable */
	RO_DROPPED,             /* RFC 6121 says to ignore it silently */
	RO_BLOCKED,             /* the recipient blocks the sender (XEP-0191):
	                           service-unavailable; what needs no answer
	                           is 'dropped' */
	RO_ERROR                /* Redis failed, or answered nonsense: store->err */
};

/* Publish a kick to one full JID's channel. Returns receivers (0: nobody
 * listens, the session is dead) or XE_REDIS. */
long route_kick(struct store *s, const char *bare, const char *resource,
    const char *id, const char *cond);
/* Publish a payload to a channel. Returns receivers or XE_REDIS. */
long route_publish(struct store *s, const char *channel, const char *payload, size_t len);
/* Publish one envelope to many users' bare channels (bcast.lua) in one
 * round trip. counts[i] receives the receivers of bares[i], or -1 if
 * that publication failed (counts may be NULL). Returns 0, or XE_REDIS
 * if any failed. */
int route_fanout(struct store *s, const char *const *bares, int n,
    const char *const *payloads, const size_t *lens, long *counts);
/* A roster push of item (stored form) at version ver to every session of
 * bare that asked for the roster. Returns receivers or XE_REDIS. */
long route_push(struct store *s, const char *bare, const char *item, const char *ver);
/* The broadcast log. */
#define ROUTE_BCAST_MAX    1000   /* about how many entries a user's log keeps */
#define ROUTE_BCAST_ID_MAX 48     /* a log entry's id ("<ms>-<seq>") and its NUL */
/* The keys of bare's broadcast log: its readers and the log itself
 * (each of size sz). */
void route_bcast_keys(struct store *s, const char *bare, char *readers, char *log, size_t sz);
/* Keep bare's broadcast log for reader (any name unique to it) until
 * `until` (Unix seconds); again to keep it longer. last gets the newest
 * entry's id ("0-0": none): the reader has had everything up to it.
 * 0, or XE_REDIS / XE_REPLY. */
int route_bcast_hold(struct store *s, const char *bare, const char *reader, long until,
    char *last, size_t lastsz);
/* Reader no longer keeps the log. 0 or XE_REDIS. */
int route_bcast_release(struct store *s, const char *bare, const char *reader);
/* fn for each of up to max (>= 1) entries of bare's log after id
 * `after`, oldest first (id and payload borrowed for the call). Returns
 * how many, or XE_REDIS / XE_REPLY. */
int route_bcast_read(struct store *s, const char *bare, const char *after, int max,
    void (*fn)(const char *id, const char *payload, size_t len, void *arg), void *arg);
/* Subscribe to the session's two channels (store_subscribe), and wait
 * for Redis to confirm both; where a resharding moves them, the session
 * gets an "inbox offline" wake-up: what routing found no listener for
 * while the channel moved went to offline storage. 0 or XE_REDIS. */
int route_subscribe(struct store *s, const char *bare, const char *resource);
/* Subscribe to one more channel (a room's), or no longer: the command
 * is written, its confirmation is read with the published payloads (and
 * skipped), so one may come first; resync (store_subscribe) stands for
 * what a resharding may make missed. 0 or XE_REDIS. */
int route_subscribe_channel(struct store *s, const char *channel, const char *resync);
int route_unsubscribe_channel(struct store *s, const char *channel);
/* Parse a published payload into *m (zeroed first; m->body points into
 * payload). Pure (router/format.c). Returns 0, or XE_INVALID when the
 * payload is none of the envelopes above (m->kind is then ROUTE_UNKNOWN). */
int route_parse(const char *payload, size_t len, struct route_msg *m);
/* 1 if envelopes of kind k go through the broadcast log (bcast.lua):
 * presence, roster and blocklist pushes, PEP notifications. Pure. */
int route_logged(enum route_kind k);
#define NS_DELAY "urn:xmpp:delay"
/* The XEP-0203 <delay/> element (from domain, stamped now) that offline
 * storage adds to st, appended to out, or nothing when st already
 * carries one (the first stamp is the true one). */
void route_delay_element(const char *domain, const struct xml_node *st, struct xbuf *out);
/* Build an envelope: header line + '\n' + body, into a malloc'd buffer
 * (NUL-terminated; *len excludes the NUL). Pure. */
char *route_envelope(const char *header, const char *body, size_t *len);
/* A "stanza <accepted>" envelope for xml, accepted by the server at
 * `accepted` (Unix seconds). Pure. */
char *route_envelope_stanza(const char *xml, long accepted, size_t *len);
/* A "push <ver>" envelope for a roster item (stored form). */
char *route_envelope_push(const char *item, const char *ver, size_t *len);
/* A "pep <node> [own]" envelope for a notification (xml: a <message/>
 * without 'to'); own: for the owner's sessions. Pure. */
char *route_envelope_pep(const char *node, int own, const char *xml, size_t *len);
/* The "kick <id> <condition>" envelope, in a malloc'd buffer. */
char *route_envelope_kick(const char *id, const char *cond, size_t *len);

/* One stanza for route_stanza_batch. */
struct route_req {
	const char *bare, *resource;   /* resource "" for the bare JID */
	int is_iq;
	const char *msg_type;
	const char *envelope;
	size_t envlen;
	const char *delay;             /* see route_stanza */
	const char *echo_of;           /* the sending resource when a user writes to
	                                  its own bare JID, else "" (route_stanza.lua) */
	/* XEP-0280 (carbons.h): carbons, the message is eligible for copies,
	 * which route_stanza.lua makes from the envelope. A message delivered
	 * is copied to bare's carbons-enabled sessions it did not reach
	 * itself. With sent, bare is the sender and nothing is delivered:
	 * the message goes into the sender's archive (archive_with) and its
	 * copies to every carbons-enabled session except echo_of; the outcome
	 * is RO_DELIVERED even with no copy made, and *carbons_found (if not
	 * NULL) gets how many of the sender's other sessions have carbons on. */
	int carbons;
	int sent;
	long *carbons_found;
	/* XEP-0313 (mam.h): the other party's JID (the sender's, or with
	 * sent the recipient's) when the message is to be archived in bare's
	 * archive, as the user's preferences and the store's archive policy
	 * say; NULL or "": not archived. An archived message carries its
	 * archive id in an XEP-0359 <stanza-id/> to every copy. */
	const char *archive_with;
	/* The sender's full JID: a stanza from a JID bare blocks (blocking.h:
	 * that JID, its bare JID or its domain) is not delivered. NULL or "":
	 * no check (the sender is bare itself, or the server). */
	const char *from;
	/* XEP-0357 (push.h): if not NULL, set to 1 when the stanza was
	 * accepted but no session with a handler listening got it (stored
	 * offline, or kept only by detached sessions' inboxes), else 0. */
	int *asleep;
};

/* route_stanza for n stanzas in one pipelined round trip, executed in
 * order; out[i] is the outcome of req[i] (RO_ERROR with store->err set
 * when Redis failed or answered nonsense). With store->wait_replicas the
 * round trip ends with WAIT; when fewer replicas answer and the sentinels
 * name another primary, the connection is dropped: store_lost() then
 * says that the batch may not be kept, whatever out says. */
void route_stanza_batch(struct store *s, int n, const struct route_req *req,
    int offline_cap, enum route_outcome *out);
/* ... with rider (if not NULL) sent last in the same round trip. */
void route_stanza_batch_with(struct store *s, int n, const struct route_req *req,
    int offline_cap, enum route_outcome *out, struct store_rider *rider);

/* The current presence of each of n users (presence_get.lua, read only,
 * one round trip: one call for them all on one Redis, one call per user
 * on a cluster, pipelined): fn(xml) for each available, live resource
 * (xml borrowed for the call), users in order. Returns 0, or XE_REDIS /
 * XE_REPLY when a call failed (fn has seen what the others found). */
int route_presence_of(struct store *s, const char *const *bares, int n,
    void (*fn)(const char *xml, size_t len, void *arg), void *arg);
/* Move up to max (>= 1) of the user's offline stanzas, oldest first, into
 * one session's inbox (offline_move.lua); with archived, those the
 * archive holds are taken but not moved (the client reads the archive).
 * Returns how many were taken (fewer than max: no more wait), or
 * XE_REDIS / XE_REPLY. */
int route_offline_move(struct store *s, const char *bare, const char *resource, int max,
    int archived);
/* Hand fn up to max envelopes from one session's inbox, oldest first, and
 * only then remove them: a lost answer repeats a stanza, never loses one.
 * One reader per inbox (its session, or whoever reaps it). max >= 1;
 * fn borrows each envelope. Returns how many, or XE_REDIS. */
int route_inbox_take(struct store *s, const char *bare, const char *resource, int max,
    void (*fn)(const char *env, size_t len, void *arg), void *arg);
/* Hand fn up to max envelopes of one session's inbox from position
 * offset on, removing none: a session with stream management (sm.h)
 * removes them when it records them as sent (sm_sync). Returns how many,
 * or XE_REDIS. */
int route_inbox_peek(struct store *s, const char *bare, const char *resource, long offset,
    int max, void (*fn)(const char *env, size_t len, void *arg), void *arg);

#endif
