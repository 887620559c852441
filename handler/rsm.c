/*
 * rsm.c - XEP-0059 result set management (see rsm.h).
 */
#include "rsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RSM_NUM_MAX 24          /* a long in decimal */

/* The text of n as a number >= 0, or -1 when it is none. */
static long number(struct xml_node *n)
{
	const char *t = xml_text(n);
	char *end;
	long v = strtol(t, &end, 10);

	return end == t || *end || v < 0 ? -1 : v;
}

int rsm_parse(struct xml_node *set, int def, int cap, struct rsm *r, const char **why)
{
	struct xml_node *max = set ? xml_child(set, NS_RSM, "max") : NULL;
	struct xml_node *after = set ? xml_child(set, NS_RSM, "after") : NULL;
	struct xml_node *before = set ? xml_child(set, NS_RSM, "before") : NULL;
	struct xml_node *index = set ? xml_child(set, NS_RSM, "index") : NULL;
	long n;

	r->max = def > cap ? cap : def;
	r->after = r->before = NULL;
	r->index = -1;
	if (after && before) {
		*why = "both <after/> and <before/>";
		return -1;
	}
	if (max) {
		if ((n = number(max)) < 0) {
			*why = "<max/> is not a number";
			return -1;
		}
		r->max = n > cap ? cap : (int)n;
	}
	if (index && (r->index = number(index)) < 0) {
		*why = "<index/> is not a number";
		return -1;
	}
	if (after && *xml_text(after))
		r->after = xml_text(after);
	if (before)
		r->before = xml_text(before);
	return 0;
}

static void add_text(struct xml_node *parent, const char *name, const char *text)
{
	xml_add_text(xml_new_child(parent, NS_RSM, name), text, strlen(text));
}

struct xml_node *rsm_answer(struct xml_node *parent, const char *first, long index,
    const char *last, long count)
{
	struct xml_node *set = xml_new_child(parent, NS_RSM, "set");
	char num[RSM_NUM_MAX];

	if (first) {
		add_text(set, "first", first);
		if (index >= 0) {
			snprintf(num, sizeof num, "%ld", index);
			xml_set(set->last, "index", num);
		}
	}
	if (last)
		add_text(set, "last", last);
	if (count >= 0) {
		snprintf(num, sizeof num, "%ld", count);
		add_text(set, "count", num);
	}
	return set;
}
