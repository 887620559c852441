/*
 * mucdirectory.c - what disco#items finds on the conference domain: the
 * directory of rooms (XEP-0045 6.3) and a room's own items (6.5).
 *
 * The directory lists the rooms that are public and not locked (a new
 * room stays out until its owner submits the configuration form), each
 * as <item jid='room' name='its name, or its node'/>, sorted by JID so
 * that paging is stable. One answer holds MUC_DIRECTORY_PAGE rooms at
 * most; XEP-0059 pages through the rest: <max/>, <after/> (the rooms
 * after that JID, which need not be a room any more: one destroyed
 * between two pages breaks nothing), <before/> (the rooms before it;
 * empty, the last page) and <index/>. Every answer carries <set/> with
 * <first index=.../>, <last/> and <count/>, asked for or not, so that a
 * client that did not page learns there is more.
 *
 * A room lists no items: XEP-0045 6.5 lets a room tell its occupants,
 * and advises deployments not to by default; a members-only or
 * password-protected room would show who is inside to anyone. So the
 * answer is an empty list, for a room that exists, and item-not-found
 * for one that does not.
 */
#include "modules.h"
#include "muc-int.h"
#include "muc.h"
#include "rsm.h"
#include "log.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define MUC_DIRECTORY_PAGE 100  /* rooms one answer lists at most */

/* One room of the page. */
struct listed {
	char *room, *name;
};

/* The page being chosen while the router hands every listed room, in
 * JID order: paging forward, the first max after the start; paging
 * back, the last max before the end (a ring). */
struct page {
	const struct rsm *r;
	long count;             /* the rooms listed in all */
	long skipped;           /* those before the page: its first's index */
	struct listed *e;       /* r->max entries */
	int n, head;            /* kept, and where the oldest is (back) */
};

static void listed_set(struct listed *l, const char *room, const char *name)
{
	const char *at = strchr(room, '@');
	size_t node = at ? (size_t)(at - room) : strlen(room);

	l->room = xstrdup(room);
	if (name[0]) {
		l->name = xstrdup(name);
	} else {
		l->name = xcalloc(1, node + 1);
		memcpy(l->name, room, node);
	}
}

static void listed_free(struct listed *l)
{
	free(l->room);
	free(l->name);
}

/* muc_rooms' fn: one more listed room. */
static void take(const char *room, const char *name, void *arg)
{
	struct page *p = arg;
	const struct rsm *r = p->r;

	p->count++;
	if (r->before) {
		if (r->before[0] && strcmp(room, r->before) >= 0)
			return;
		if (r->max == 0) {
			p->skipped++;
		} else if (p->n < r->max) {
			listed_set(&p->e[p->n++], room, name);
		} else {        /* the oldest leaves the ring */
			listed_free(&p->e[p->head]);
			listed_set(&p->e[p->head], room, name);
			p->head = (p->head + 1) % r->max;
			p->skipped++;
		}
		return;
	}
	if (r->after ? strcmp(room, r->after) <= 0 : p->skipped < r->index) {
		p->skipped++;
		return;
	}
	if (p->n < r->max)
		listed_set(&p->e[p->n++], room, name);
}

/* XEP-0045 6.3: disco#items on the conference domain. */
void muc_directory(struct conn *c, const struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq), *a, *it;
	struct page p;
	struct rsm r;
	const char *why;
	int i, rc;

	if (rsm_parse(xml_child(q, NS_RSM, "set"), MUC_DIRECTORY_PAGE, MUC_DIRECTORY_PAGE,
	    &r, &why) == -1) {
		conn_error(c, iq, "modify", "bad-request", why);
		return;
	}
	memset(&p, 0, sizeof p);
	p.r = &r;
	p.e = xcalloc((size_t)r.max + 1, sizeof *p.e);
	rc = muc_rooms(conn_store(c), take, &p);
	if (rc < 0) {
		log_msg(LOG_ERR, "muc: the directory: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
	} else {
		a = xml_new(NS_DISCO_ITEMS, "query");
		for (i = 0; i < p.n; i++) {
			const struct listed *l = &p.e[(p.head + i) % p.n];
			it = xml_new_child(a, NS_DISCO_ITEMS, "item");
			xml_set(it, "jid", l->room);
			xml_set(it, "name", l->name);
		}
		rsm_answer(a, p.n ? p.e[p.head].room : NULL, p.skipped,
		    p.n ? p.e[(p.head + p.n - 1) % p.n].room : NULL, p.count);
		conn_iq_result(c, iq, a);
	}
	for (i = 0; i < p.n; i++)
		listed_free(&p.e[i]);
	free(p.e);
}

/* XEP-0045 6.5: disco#items on a room: none, for a room that exists. */
void muc_room_items(struct conn *c, const struct xml_node *iq, const char *room)
{
	struct muc_info info;
	int rc = muc_info(conn_store(c), room, conn_bare(c), &info);

	if (muc_refused(c, iq, rc))
		return;
	muc_info_free(&info);
	conn_iq_result(c, iq, xml_new(NS_DISCO_ITEMS, "query"));
}
