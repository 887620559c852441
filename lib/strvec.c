/*
 * strvec.c - a growable list of strings (see strvec.h).
 */
#include "strvec.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define STRVEC_FIRST 16         /* the first allocation, doubled after */

void strvec_add(struct strvec *sv, const char *s)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? 2 * sv->cap : STRVEC_FIRST;
		sv->v = xrealloc(sv->v, sv->cap * sizeof *sv->v);
	}
	sv->v[sv->n++] = xstrdup(s);
}

static int strvec_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_sort_uniq(struct strvec *sv)
{
	size_t i, o = 0;
	if (sv->n == 0)
		return;
	qsort(sv->v, sv->n, sizeof *sv->v, strvec_cmp);
	for (i = 1; i < sv->n; i++) {
		if (!strcmp(sv->v[i], sv->v[o]))
			free(sv->v[i]);
		else
			sv->v[++o] = sv->v[i];
	}
	sv->n = o + 1;
}

void strvec_free(struct strvec *sv)
{
	size_t i;
	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

int strv_has(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}
