/*
 * strvec.h - a growable list of strings (contacts to tell, users and
 * sessions to list), and the fixed lists of the values a field takes.
 *
 * Contract: the list owns copies of what is added; a zeroed struct is an
 * empty list; memory runs out only as xmalloc.h says.
 */
#ifndef XMPPD_STRVEC_H
#define XMPPD_STRVEC_H

#include <stddef.h>

struct strvec {
	char **v;
	size_t n, cap;
};

/* Append a copy of s. */
void strvec_add(struct strvec *sv, const char *s);
/* Sort (strcmp order) and drop duplicates. */
void strvec_sort_uniq(struct strvec *sv);
/* Free every string and the list; it is empty again. */
void strvec_free(struct strvec *sv);

/* Is s one of the strings of list (NULL-terminated)? */
int strv_has(const char *const *list, const char *s);

#endif
