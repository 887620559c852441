/*
 * vcard.h - XEP-0054 vCards in Redis: <prefix>{bare}:vcard, a string
 * holding the user's <vCard xmlns='vcard-temp'> element as the handler
 * serialised it (xmpp-redis(7)). The handler checks size and form; this
 * file only reads and writes.
 *
 * Contract: as store.h. Functions return a named result (>= 0), or
 * XE_REDIS / XE_REPLY with store->err set.
 */
#ifndef XMPPD_VCARD_H
#define XMPPD_VCARD_H

#include <stddef.h>
#include "store.h"

enum vcard_result {
	VCARD_NONE = 0,      /* vcard_get: the user has stored none */
	VCARD_FOUND = 1,     /* vcard_get: *xml holds it */
	VCARD_STORED = 2     /* vcard_put: replaced */
};

/* The stored vCard of bare into *xml (NUL-terminated, *len bytes; the
 * caller frees it), or *xml NULL with VCARD_NONE. */
int vcard_get(struct store *s, const char *bare, char **xml, size_t *len);
/* Replace the vCard of bare with xml (len bytes): VCARD_STORED. */
int vcard_put(struct store *s, const char *bare, const char *xml, size_t len);

#endif
