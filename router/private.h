/*
 * private.h - XEP-0049 private XML storage in Redis: <prefix>{bare}:private,
 * a hash from a namespace to the XML the user stored under it (one or
 * more elements of that namespace, as the handler serialised them;
 * xmpp-redis(7)). The handler checks form and size; this file reads and
 * writes, and keeps the number of namespaces under a cap.
 *
 * Contract: as store.h. Functions return a named result (>= 0), or
 * XE_REDIS / XE_REPLY with store->err set.
 */
#ifndef XMPPD_PRIVATE_H
#define XMPPD_PRIVATE_H

#include <stddef.h>
#include "store.h"

enum private_result {
	PRIVATE_NONE = 0,      /* private_get: nothing stored for ns */
	PRIVATE_FOUND = 1,     /* private_get: *xml holds it */
	PRIVATE_STORED = 2,    /* private_put: stored */
	PRIVATE_FULL = 3       /* private_put: ns is new and max_ns are stored */
};

/* What bare stored under ns into *xml (NUL-terminated, *len bytes; the
 * caller frees it), or *xml NULL with PRIVATE_NONE. */
int private_get(struct store *s, const char *bare, const char *ns, char **xml, size_t *len);
/* Store xml (len bytes) under ns for bare, replacing what was there,
 * unless ns is new and bare already has max_ns namespaces
 * (private_set.lua, atomic): PRIVATE_STORED or PRIVATE_FULL. */
int private_put(struct store *s, const char *bare, const char *ns, const char *xml,
    size_t len, int max_ns);

#endif
