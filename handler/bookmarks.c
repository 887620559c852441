/*
 * bookmarks.c - XEP-0411 bookmarks conversion: XEP-0048 bookmarks that a
 * client keeps in private storage (XEP-0049, storage:bookmarks) and the
 * XEP-0402 items of the PEP node urn:xmpp:bookmarks:1 are one list.
 *
 * The PEP node is the truth for conferences; private storage keeps the
 * rest of storage:bookmarks (URLs, anything else). A private-storage set
 * publishes the conferences that are new or changed (item id: the room's
 * JID) and retracts those no longer there, with the usual notifications
 * to the owner's sessions, then stores what is left; a get puts the
 * node's conferences back beside what private storage holds. A client
 * that publishes or retracts on the node itself changes what the next
 * private-storage get returns, with nothing to convert. Conferences
 * stored before the node existed are returned as stored until a set
 * converts them.
 *
 * Answers to a set (on top of private.c's):
 *   a conference without a jid           <bad-request/>
 *   more conferences than pep_max_items, one over pep_max_item_size or
 *   with a jid over PEP_ID_MAX           <not-acceptable/> with a text,
 *                                        nothing changed
 *   Redis failed                         <internal-server-error/>, type wait
 */
#include "modules.h"
#include "conn.h"
#include "config.h"
#include "log.h"
#include "pep.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_BOOKMARKS2     "urn:xmpp:bookmarks:1"
#define NS_CONVERSION     "urn:xmpp:bookmarks-conversion:0"
#define NS_BOOKMARKS2_COMPAT NS_BOOKMARKS2 "#compat"

/* One conference, in either form: pointers into a tree. */
struct conference {
	const char *jid, *name, *nick, *password;
	int autojoin;
};

/* XEP-0048 and XEP-0402 both write a boolean as "true"/"1". */
static int truth(const char *v)
{
	return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

/* The text of el's child name in ns, or NULL when there is none. */
static const char *child_text(const struct xml_node *el, const char *ns, const char *name)
{
	struct xml_node *ch = xml_child(el, ns, name);
	return ch ? xml_text(ch) : NULL;
}

/* A conference element of namespace ns; jid given by the caller (an
 * attribute in XEP-0048, the item id in XEP-0402). */
static void conference_of(const struct xml_node *el, const char *ns, const char *jid,
    struct conference *cf)
{
	cf->jid = jid;
	cf->name = xml_get(el, "name");
	cf->autojoin = truth(xml_get(el, "autojoin"));
	cf->nick = child_text(el, ns, "nick");
	cf->password = child_text(el, ns, "password");
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_conference(const struct conference *a, const struct conference *b)
{
	return a->autojoin == b->autojoin && same_str(a->name, b->name) &&
	    same_str(a->nick, b->nick) && same_str(a->password, b->password);
}

/* The attributes and children both forms share, after "<conference". */
static void conference_body(struct xbuf *b, const struct conference *cf)
{
	if (cf->name) {
		xbuf_adds(b, " name='");
		xbuf_add_esc(b, cf->name, strlen(cf->name));
		xbuf_adds(b, "'");
	}
	if (cf->autojoin)
		xbuf_adds(b, " autojoin='true'");
	xbuf_adds(b, ">");
	if (cf->nick) {
		xbuf_adds(b, "<nick>");
		xbuf_add_esc(b, cf->nick, strlen(cf->nick));
		xbuf_adds(b, "</nick>");
	}
	if (cf->password) {
		xbuf_adds(b, "<password>");
		xbuf_add_esc(b, cf->password, strlen(cf->password));
		xbuf_adds(b, "</password>");
	}
	xbuf_adds(b, "</conference>");
}

/* The XEP-0402 item of cf, in pep.h's stored form. */
static void item_of(struct xbuf *b, const struct conference *cf)
{
	xbuf_adds(b, "<item id='");
	xbuf_add_esc(b, cf->jid, strlen(cf->jid));
	xbuf_adds(b, "'><conference xmlns='" NS_BOOKMARKS2 "'");
	conference_body(b, cf);
	xbuf_adds(b, "</item>");
}

/* ---- the node's items ---- */

/* The node's conferences: parsed items, and each one's fields. */
struct pep_confs {
	struct xml_node **items;
	struct conference *cf;
	size_t n;
};

static void collect(const char *xml, size_t len, void *arg)
{
	struct pep_confs *p = arg;
	struct xml_node *it = xml_parse_string(xml, len), *el;
	const char *id;

	if (!it || !(id = xml_get(it, "id")) ||
	    !(el = xml_child(it, NS_BOOKMARKS2, "conference"))) {
		xml_free(it);   /* not a bookmark: another client's business */
		return;
	}
	p->items = xrealloc(p->items, (p->n + 1) * sizeof *p->items);
	p->cf = xrealloc(p->cf, (p->n + 1) * sizeof *p->cf);
	p->items[p->n] = it;
	conference_of(el, NS_BOOKMARKS2, id, &p->cf[p->n]);
	p->n++;
}

static void pep_confs_free(struct pep_confs *p)
{
	size_t i;
	for (i = 0; i < p->n; i++)
		xml_free(p->items[i]);
	free(p->items);
	free(p->cf);
}

/* Read the node: PEP_ITEMS, PEP_NONODE, or < 0 (Redis). */
static int read_node(struct conn *c, struct pep_confs *p)
{
	struct pep_info info;
	memset(p, 0, sizeof *p);
	return pep_items(conn_store(c), conn_bare(c), NS_BOOKMARKS2, "", 0, NULL, 0, &info,
	    collect, p);
}

/* ---- private storage set ---- */

/* The conferences of a set, the last of each JID winning. */
struct set_confs {
	struct conference *cf;
	size_t n;
};

static void set_add(struct set_confs *s, const struct conference *cf)
{
	size_t i;
	for (i = 0; i < s->n && strcmp(s->cf[i].jid, cf->jid); i++)
		;
	if (i == s->n)
		s->cf = xrealloc(s->cf, ++s->n * sizeof *s->cf);
	s->cf[i] = *cf;
}

/* Read the conferences of q into *s: 0, or -1 with the error answered. */
static int read_set(struct conn *c, const struct xml_node *iq, const struct xml_node *q,
    struct set_confs *s)
{
	const struct config *cfg = conn_cfg(c);
	struct xml_node *st, *el;
	struct conference cf;
	struct xbuf b = { 0 };
	char text[96];
	const char *jid;

	for (st = q->children; st; st = st->next) {
		if (!st->name || strcmp(st->name, "storage"))
			continue;
		for (el = st->children; el; el = el->next) {
			if (!el->name || strcmp(el->name, "conference") || !el->ns ||
			    strcmp(el->ns, NS_BOOKMARKS))
				continue;
			if (!(jid = xml_get(el, "jid")) || !*jid) {
				conn_error(c, iq, "modify", "bad-request", "a conference needs a jid");
				return -1;
			}
			if (strlen(jid) > PEP_ID_MAX) {
				snprintf(text, sizeof text, "conference jids are at most %d bytes",
				    PEP_ID_MAX);
				conn_error(c, iq, "modify", "not-acceptable", text);
				return -1;
			}
			conference_of(el, NS_BOOKMARKS, jid, &cf);
			b.len = 0;
			item_of(&b, &cf);
			if (b.len > cfg->pep_max_item_size) {
				snprintf(text, sizeof text, "a conference is at most %zu bytes",
				    cfg->pep_max_item_size);
				conn_error(c, iq, "modify", "not-acceptable", text);
				xbuf_free(&b);
				return -1;
			}
			set_add(s, &cf);
		}
	}
	xbuf_free(&b);
	if (s->n > (size_t)cfg->pep_max_items) {
		snprintf(text, sizeof text, "more than %d conferences", cfg->pep_max_items);
		conn_error(c, iq, "modify", "not-acceptable", text);
		return -1;
	}
	return 0;
}

/* XEP-0402 3.1: the node's configuration, asked of a new node. */
static void node_options(struct pep_config *o)
{
	memset(o, 0, sizeof *o);
	snprintf(o->v[PEP_ACCESS_MODEL], PEP_VALUE_MAX, "whitelist");
	snprintf(o->v[PEP_MAX_ITEMS], PEP_VALUE_MAX, "max");
	snprintf(o->v[PEP_PERSIST_ITEMS], PEP_VALUE_MAX, "1");
	o->set = 1u << PEP_ACCESS_MODEL | 1u << PEP_MAX_ITEMS | 1u << PEP_PERSIST_ITEMS;
}

/* Publish cf unless the node holds it already as it is. */
static int publish_one(struct conn *c, const struct conference *cf, const struct pep_confs *old)
{
	struct pep_config opts;
	struct xbuf b = { 0 };
	size_t i;
	int rc;

	for (i = 0; i < old->n; i++)
		if (!strcmp(old->cf[i].jid, cf->jid))
			break;
	if (i < old->n && same_conference(&old->cf[i], cf))
		return 0;       /* unchanged: whatever else the item carries stays */
	item_of(&b, cf);
	node_options(&opts);
	rc = pep_publish_own(c, NS_BOOKMARKS2, cf->jid, b.p, b.len, &opts);
	if (rc == PEP_CONFLICT) {
		/* the user configured the node otherwise: the user's choice stands */
		rc = pep_publish_own(c, NS_BOOKMARKS2, cf->jid, b.p, b.len, NULL);
	}
	xbuf_free(&b);
	if (rc == PEP_FULL) {
		log_msg(LOG_NOTICE, "bookmarks: %s has pep_max_nodes nodes", conn_bare(c));
		return 0;
	}
	return rc < 0 ? -1 : 0;
}

/* Remove from q's storage elements every conference: the node holds them. */
static void strip_conferences(struct xml_node *q)
{
	struct xml_node *st;
	for (st = q->children; st; st = st->next)
		if (st->name && !strcmp(st->name, "storage"))
			xml_remove_children(st, NS_BOOKMARKS, "conference");
}

int bookmarks_set(struct conn *c, const struct xml_node *iq, struct xml_node *q)
{
	struct set_confs s = { 0 };
	struct pep_confs old;
	size_t i, k;
	int rc = -1;

	if (read_set(c, iq, q, &s) == -1) {
		free(s.cf);
		return -1;
	}
	if (read_node(c, &old) < 0)
		goto redis;
	for (i = 0; i < s.n; i++)
		if (publish_one(c, &s.cf[i], &old) == -1)
			goto redis;
	for (k = 0; k < old.n; k++) {
		for (i = 0; i < s.n && strcmp(s.cf[i].jid, old.cf[k].jid); i++)
			;
		if (i == s.n && pep_retract_own(c, NS_BOOKMARKS2, old.cf[k].jid) < 0)
			goto redis;
	}
	strip_conferences(q);
	rc = 0;
	goto out;
redis:
	log_msg(LOG_ERR, "bookmarks set: %s", conn_store(c)->err);
	conn_error(c, iq, "wait", "internal-server-error", NULL);
out:
	pep_confs_free(&old);
	free(s.cf);
	return rc;
}

/* ---- private storage get ---- */

/* XEP-0048 <conference/> of cf into st. */
static void add_legacy(struct xml_node *st, const struct conference *cf)
{
	struct xbuf b = { 0 };
	xbuf_adds(&b, "<conference jid='");
	xbuf_add_esc(&b, cf->jid, strlen(cf->jid));
	xbuf_adds(&b, "'");
	conference_body(&b, cf);
	xml_add_raw(st, b.p, b.len);
	xbuf_free(&b);
}

struct xml_node *bookmarks_get(struct conn *c, const char *xml, size_t len)
{
	struct xml_node *q = NULL, *st;
	struct pep_confs p;
	struct xbuf b = { 0 };
	size_t i;
	int rc;

	if (xml) {
		/* what private storage holds is one or more elements: wrap them */
		xbuf_adds(&b, "<query xmlns='" NS_PRIVATE "'>");
		xbuf_add(&b, xml, len);
		xbuf_adds(&b, "</query>");
		if (!(q = xml_parse_string(b.p, b.len)))
			log_msg(LOG_WARNING, "bookmarks: %s: stored XML does not parse",
			    conn_bare(c));
		xbuf_free(&b);
	}
	if (!q)
		q = xml_new(NS_PRIVATE, "query");
	if ((rc = read_node(c, &p)) < 0) {
		log_msg(LOG_ERR, "bookmarks get: %s", conn_store(c)->err);
		xml_free(q);
		pep_confs_free(&p);
		return NULL;
	}
	if (rc == PEP_ITEMS) {
		strip_conferences(q);
		if (!(st = xml_child(q, NS_BOOKMARKS, "storage")))
			st = xml_new_child(q, NS_BOOKMARKS, "storage");
		for (i = 0; i < p.n; i++)
			add_legacy(st, &p.cf[i]);
	}
	pep_confs_free(&p);
	return q;
}

static const char *const bookmarks_disco[] = { NS_CONVERSION, NS_BOOKMARKS2_COMPAT, NULL };

const struct module mod_bookmarks = {
	.name = "bookmarks",
	.phases = PHASE_SESSION,
	.account_disco = bookmarks_disco,
};
