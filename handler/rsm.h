/*
 * rsm.h - XEP-0059 result set management, the parts every paged answer
 * of the handler shares (the message archive, the directory of rooms):
 * reading the <set/> of a request, writing the <set/> of an answer.
 *
 * Contract: rsm_parse points into the request it reads; rsm_answer
 * copies what it is given into the answer.
 */
#ifndef XMPPD_RSM_H
#define XMPPD_RSM_H

#include "xml.h"

#define NS_RSM "http://jabber.org/protocol/rsm"

/* What a request asks for. */
struct rsm {
	int max;                /* items wanted: def without <max/>, at most cap */
	const char *after;      /* <after/>'s item; NULL none (an empty
	                           <after/> names none: from the first) */
	const char *before;     /* <before/>'s item; NULL none, "": the last page */
	long index;             /* <index/>: items to skip; -1 none */
};

/* Read the request's <set/> (NULL: none) into r, with max def when it
 * has no <max/> and at most cap: 0, or -1 (a bad-request) with the
 * reason in *why: <max/> or <index/> not a number, <after/> with
 * <before/>. */
int rsm_parse(struct xml_node *set, int def, int cap, struct rsm *r, const char **why);
/* Add an answer's <set/> to parent: first and last, the page's first and
 * last items (both NULL for an empty page), index the first's position
 * in the whole set (-1 unknown), count the items of the whole set (-1
 * unknown). Returns the <set/>. */
struct xml_node *rsm_answer(struct xml_node *parent, const char *first, long index,
    const char *last, long count);

#endif
