/*
 * xmalloc.h - allocation that never returns NULL.
 *
 * Contract: when memory runs out the process says so on stderr and exits
 * with status 111 (system failure) at once, running no cleanup: cleanup
 * would allocate too. A handler that ends this way leaves its session to
 * be reaped by the living ones (after session_ttl), which route again
 * what waited in its inbox, as for any handler that dies.
 */
#ifndef XMPPD_XMALLOC_H
#define XMPPD_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
