/*
 * local.h - what both federation programs need of this server: the
 * dialback keys of our domains (XEP-0185, from the server secret in
 * Redis, so that any host makes and checks the same), our certificates
 * and trust anchors for TLS, and delivery of a stanza from another
 * domain to a local user (route_stanza.lua, as a local sender's).
 *
 * Contract: store.h's for Redis; functions return 0 (or a named result)
 * or a negative xerr.h code.
 */
#ifndef XMPPD_S2S_LOCAL_H
#define XMPPD_S2S_LOCAL_H

#include "config.h"
#include "dialback.h"
#include "route.h"
#include "store.h"
#include "tls.h"
#include "xml.h"

#define S2S_DIALBACK_LABEL "xmppd dialback"   /* what the secret is derived for */

/* XEP-0185's key for a stream from originating to receiving with stream
 * id sid, from the server secret (account_server_secret) through
 * HMAC-SHA256 with S2S_DIALBACK_LABEL, so the secret itself serves one
 * purpose only. 0, or XE_REDIS / XE_INVALID. */
int s2s_dialback_key(struct store *s, const char *receiving, const char *originating,
    const char *sid, char key[DIALBACK_KEY_HEX + 1]);
/* 1 if key is that key, 0 if not, or XE_REDIS / XE_INVALID. */
int s2s_dialback_check(struct store *s, const char *receiving, const char *originating,
    const char *sid, const char *key);

/* Our certificates are io_cert_specs' (handler/io.h). The trust anchors for peers' certificates (s2s_ca_file). */
void s2s_trust(const struct config *cfg, struct tls_trust *t);

/* Deliver st (from a remote domain; 'from' and 'to' checked by the
 * caller, 'to' a JID of a served domain with a node) to the local user,
 * accepted now: route_stanza.lua's outcome. */
enum route_outcome s2s_deliver_local(struct store *s, const struct config *cfg,
    const struct xml_node *st);

/* Take the lease of name (a route, or a room for its relay: s2s.h's
 * s2s_lease) for this host and process, for ttl seconds; a lease held
 * by a process of this host that no longer exists (killed with its
 * dispatcher) is freed rather than waited for. S2S_LEASE_OURS,
 * S2S_LEASE_OTHER, or a negative xerr (logged). */
int s2s_lease_take(struct store *s, const struct config *cfg, const char *name, int ttl);

/* Subscribe to S2S_WAKE_CHANNEL on s's subscriber connection (opened
 * here), for the process that serves one route. 0, or -1 (Redis). */
int s2s_wake_subscribe(struct store *s);
/* What the wake-ups that came on s->sub say of route: S2S_WAKE_WORK
 * (it got work), S2S_WAKE_CLOSE (its connection is asked to close:
 * s2s_close; it wins over work), S2S_WAKE_NONE; -1 if the subscriber
 * is gone. */
enum s2s_wake { S2S_WAKE_NONE = 0, S2S_WAKE_WORK = 1, S2S_WAKE_CLOSE = 2 };
int s2s_wake_read(struct store *s, const char *route);

#endif
