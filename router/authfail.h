/*
 * authfail.h - failed authentications counted in Redis, per account and
 * per source address, so every host sees the same counts:
 *   <prefix>{jid}:authfail          string counter, expires after a window
 *   <prefix>authfail-addr:<address> string counter, expires after a window
 * Handlers slow down (growing delays) and then refuse (a temporary block)
 * while a counter is high.
 */
#ifndef XMPPD_AUTHFAIL_H
#define XMPPD_AUTHFAIL_H

#include "store.h"

/* Record a failure; returns the larger count in the window, or -1. */
long authfail_record(struct store *s, const char *bare, const char *addr, int window);
/* The larger of the two current counts (0 if none), or -1. */
long authfail_count(struct store *s, const char *bare, const char *addr);
/* A successful login clears the account's counter. */
void authfail_clear(struct store *s, const char *bare);

#endif
