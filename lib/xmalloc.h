/*
 * xmalloc.h - allocation that never returns NULL. A handler serves one
 * connection; when memory runs out the only sane answer is to end it, and
 * the exit path still removes the session from Redis.
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
