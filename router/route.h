/*
 * route.h - what travels between handlers over Redis pub/sub.
 *
 * Each bound session subscribes to its full-JID channel
 * "<prefix>{bare}/<resource>" and its bare channel "<prefix>{bare}".
 * A published payload is one envelope: a header line, '\n', then a body:
 *   "stanza\n<xml>"             deliver this stanza to the client
 *   "kick <id> <condition>\n"   session <id> must end with that stream error
 *                               (conflict when a resource is taken over,
 *                               policy-violation / reset by xmppctl kick)
 */
#ifndef XMPPD_ROUTE_H
#define XMPPD_ROUTE_H

#include <stddef.h>
#include "store.h"

enum route_kind { ROUTE_STANZA, ROUTE_KICK, ROUTE_UNKNOWN };

struct route_msg {
	enum route_kind kind;
	char id[64];            /* kick: target stream id */
	char cond[64];          /* kick: stream error condition */
	const char *body;       /* stanza: the XML (points into the reply) */
	size_t body_len;
};

/* Publish a kick to one full JID's channel. Returns receivers or -1. */
long route_kick(struct store *s, const char *bare, const char *resource,
    const char *id, const char *cond);
/* Publish a stanza to a channel. Returns receivers or -1. */
long route_publish(struct store *s, const char *channel, const char *xml, size_t len);
/* Subscribe the sub connection to the session's two channels. */
int route_subscribe(struct store *s, const char *bare, const char *resource);
/* Parse a published payload; 0 ok, -1 malformed. */
int route_parse(const char *payload, size_t len, struct route_msg *m);

#endif
