/*
 * xmalloc.c - allocation that never returns NULL (see xmalloc.h).
 */
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OOM_EXIT 111     /* system failure, as every program's exit status says */

static void oom(size_t n)
{
	char msg[96];
	int len = snprintf(msg, sizeof msg, "xmppd: out of memory allocating %zu bytes\n", n);
	/* write(2), not stdio: stdio may need memory itself. */
	if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0)
		len = 0;
	_exit(OOM_EXIT);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
