/*
 * mam.c - the user's message archive, XEP-0313 (urn:xmpp:mam:2 and
 * #extended), with XEP-0441 preferences, served on the account's bare
 * JID (an IQ with no 'to', or to the own bare JID); and the same
 * queries on a room's archive (router/muc.h), for muc.c.
 *
 * Messages enter the archive as they are routed (deliver.c asks
 * mam_archivable; route_stanza.lua writes the entry and the XEP-0359
 * <stanza-id/>). This module answers the queries (router/mam.h):
 *   get <query/>               the XEP-0004 form of the fields below
 *   set <query/>               with, start, end, before-id, after-id, ids;
 *                              XEP-0059 max, after, before (empty: the
 *                              last page); <flip-page/>: the page newest
 *                              first. Results as <message><result/>,
 *                              then <fin> with first, last, count (when
 *                              known) and complete='true' on the last page
 *   get <metadata/>            the first and last entries
 *   get, set <prefs/>          the preferences (XEP-0441)
 * A room's archive answers the form and set <query/> alike, with its
 * messages from room/nick; 'with' is room/nick (that nick's messages).
 * Errors: an unknown archive id <item-not-found/>; an unknown field
 * <feature-not-implemented/> (XEP-0313 4.1.5); a bad date, number or
 * form <bad-request/>; a bad JID <jid-malformed/>; another's archive
 * <forbidden/>, a room's the asker may not read too, no such room
 * <item-not-found/>; <before/> with <after/>, or <index/>, <bad-request/> and
 * <feature-not-implemented/>; Redis failed <internal-server-error/>.
 */
#include "modules.h"
#include "conn.h"
#include "config.h"
#include "datetime.h"
#include "jid.h"
#include "log.h"
#include "mam.h"
#include "muc.h"
#include "rsm.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_MAM_EXT  "urn:xmpp:mam:2#extended"
#define NS_XDATA    "jabber:x:data"
#define NS_XVALIDATE "http://jabber.org/protocol/xdata-validate"
#define MAM_PAGE_DEFAULT 50     /* results of a query that gives no max */


#define FULL_JID_MAX (JID_MAX + JID_MAX_PART + 1)

/* A query as parsed, with the strings it points to. */
struct parsed {
	struct mam_query q;
	char with[FULL_JID_MAX];
	struct strvec ids;
	int flip;
};

/* The single value of a form field ("" if none). */
static const char *field_value(struct xml_node *f)
{
	struct xml_node *v = xml_child(f, NS_XDATA, "value");
	return v ? xml_text(v) : "";
}

/* A DateTime field into *ms; "" leaves it. 0, or -1 if malformed. */
static int parse_time(const char *v, long long *ms)
{
	return !*v ? 0 : datetime_parse(v, ms);
}

/* jid (a client's) normalised into out; -1 if it is no JID. */
static int normal_jid(const char *jid, char *out, size_t outsz)
{
	struct jid j;
	char bare[JID_MAX];
	if (jid_parse(jid, &j) == -1)
		return -1;
	jid_bare(&j, bare, sizeof bare);
	snprintf(out, outsz, "%s%s%s", bare, j.resource[0] ? "/" : "", j.resource);
	return 0;
}

/* The query's form into p; 0, or -1 with the error sent. */
static int parse_form(struct conn *c, const struct xml_node *iq, const struct xml_node *x,
    struct parsed *p)
{
	struct xml_node *f, *v;
	for (f = x ? x->children : NULL; f; f = f->next) {
		const char *var, *val;
		if (!f->name || strcmp(f->name, "field") || !f->ns || strcmp(f->ns, NS_XDATA))
			continue;
		var = xml_get(f, "var");
		val = field_value(f);
		if (!var) {
			conn_error(c, iq, "modify", "bad-request", "a field without var");
			return -1;
		} else if (!strcmp(var, "FORM_TYPE")) {
			if (strcmp(val, NS_MAM)) {
				conn_error(c, iq, "modify", "bad-request", "FORM_TYPE is not " NS_MAM);
				return -1;
			}
		} else if (!strcmp(var, "with")) {
			if (*val && normal_jid(val, p->with, sizeof p->with) == -1) {
				conn_error(c, iq, "modify", "jid-malformed", "with is no JID");
				return -1;
			}
			p->q.with = *val ? p->with : NULL;
		} else if (!strcmp(var, "start") || !strcmp(var, "end")) {
			if (parse_time(val, var[0] == 's' ? &p->q.start_ms : &p->q.end_ms) == -1) {
				conn_error(c, iq, "modify", "bad-request", "not an XEP-0082 DateTime");
				return -1;
			}
		} else if (!strcmp(var, "after-id")) {
			p->q.after_id = *val ? val : NULL;
		} else if (!strcmp(var, "before-id")) {
			p->q.before_id = *val ? val : NULL;
		} else if (!strcmp(var, "ids")) {
			for (v = f->children; v; v = v->next)
				if (v->name && !strcmp(v->name, "value"))
					strvec_add(&p->ids, xml_text(v));
			if (p->ids.n > MAM_IDS_MAX) {
				conn_error(c, iq, "modify", "policy-violation", "too many ids");
				return -1;
			}
		} else {
			conn_error(c, iq, "cancel", "feature-not-implemented", var);
			return -1;
		}
	}
	return 0;
}

/* The XEP-0059 part into p; 0, or -1 with the error sent. */
static int parse_rsm(struct conn *c, const struct xml_node *iq, struct xml_node *set,
    struct parsed *p)
{
	struct rsm r;
	const char *why;

	if (rsm_parse(set, MAM_PAGE_DEFAULT, MAM_PAGE_MAX, &r, &why) == -1) {
		conn_error(c, iq, "modify", "bad-request", why);
		return -1;
	}
	if (r.index >= 0) {
		conn_error(c, iq, "cancel", "feature-not-implemented", "no paging by index");
		return -1;
	}
	p->q.max = r.max;
	p->q.rsm_after = r.after;
	p->q.rsm_before = r.before;
	return 0;
}

/* Send the page's results, oldest first unless flipped, to the client. */
static void send_results(struct conn *c, const struct xml_node *iq, const char *queryid,
    const struct mam_page *page, int flip)
{
	const char *from = xml_get(iq, "to");
	struct xbuf b = { 0 };
	int k;

	for (k = 0; k < page->n; k++) {
		const struct mam_item *it = &page->items[flip ? page->n - 1 - k : k];
		b.len = 0;
		xbuf_adds(&b, "<message to='");
		xbuf_add_esc(&b, conn_full(c), strlen(conn_full(c)));
		if (from) {
			/* As the query was addressed: the client matches on it. */
			xbuf_adds(&b, "' from='");
			xbuf_add_esc(&b, from, strlen(from));
		}
		xbuf_adds(&b, "'><result xmlns='" NS_MAM "'");
		if (queryid) {
			xbuf_adds(&b, " queryid='");
			xbuf_add_esc(&b, queryid, strlen(queryid));
			xbuf_adds(&b, "'");
		}
		xbuf_adds(&b, " id='");
		xbuf_add_esc(&b, it->id, strlen(it->id));
		xbuf_adds(&b, "'>");
		mam_forwarded(&b, it);
		xbuf_adds(&b, "</result></message>");
		conn_send_raw(c, b.p, b.len);
	}
	xbuf_free(&b);
}

/* The <fin/> that ends a query. */
static struct xml_node *fin(const struct mam_page *page, const char *queryid)
{
	struct xml_node *f = xml_new(NS_MAM, "fin");
	if (page->complete)
		xml_set(f, "complete", "true");
	if (queryid)
		xml_set(f, "queryid", queryid);
	rsm_answer(f, page->n ? page->items[0].id : NULL, -1,
	    page->n ? page->items[page->n - 1].id : NULL, page->count);
	return f;
}

/* A Redis failure, as the client and the log see it. */
static void failed(struct conn *c, const struct xml_node *iq, const char *what)
{
	log_msg(LOG_ERR, "%s of %s: %s", what, conn_bare(c), conn_store(c)->err);
	conn_error(c, iq, "wait", "internal-server-error", NULL);
}

/* Whose archive a query reads: the user's own (room NULL), or room's,
 * asked by the session that is its occupant nick ("" none). */
struct archive {
	const char *room, *nick;
};

/* A set <query/>: the same form, paging and results for every archive. */
static void query_set(struct conn *c, const struct xml_node *iq, const struct xml_node *q,
    const struct archive *a)
{
	struct parsed p;
	struct mam_page page;
	const char *queryid = xml_get(q, "queryid");
	int r;

	memset(&p, 0, sizeof p);
	p.q.start_ms = p.q.end_ms = -1;
	p.flip = xml_child(q, NS_MAM, "flip-page") != NULL;
	if (parse_form(c, iq, xml_child(q, NS_XDATA, "x"), &p) == -1 ||
	    parse_rsm(c, iq, xml_child(q, NS_RSM, "set"), &p) == -1) {
		strvec_free(&p.ids);
		return;
	}
	p.q.ids = (const char *const *)p.ids.v;
	p.q.nids = (int)p.ids.n;
	if (a->room)
		r = muc_archive_query(conn_store(c), a->room, conn_full(c), a->nick, &p.q, &page);
	else
		r = mam_query(conn_store(c), conn_bare(c), &p.q, &page);
	if (r < 0) {
		failed(c, iq, "archive query");
	} else if (r == MAM_NOT_FOUND) {
		conn_error(c, iq, "cancel", "item-not-found", "no such archive id");
	} else if (r == MAM_FORBIDDEN) {
		conn_error(c, iq, "auth", "forbidden", "not allowed to read the room's archive");
	} else if (r == MAM_NO_ARCHIVE) {
		conn_error(c, iq, "cancel", "item-not-found", "no such room");
	} else {
		send_results(c, iq, queryid, &page, p.flip);
		conn_iq_result(c, iq, fin(&page, queryid));
		mam_page_free(&page);
	}
	strvec_free(&p.ids);
}

static void add_field(struct xml_node *x, const char *type, const char *var, const char *value)
{
	struct xml_node *f = xml_new_child(x, NS_XDATA, "field");
	xml_set(f, "type", type);
	xml_set(f, "var", var);
	if (value)
		xml_add_text(xml_new_child(f, NS_XDATA, "value"), value, strlen(value));
}

/* 4.1.5: the fields a query may have; ids is open to any value. */
static void query_form(struct conn *c, const struct xml_node *iq)
{
	struct xml_node *q = xml_new(NS_MAM, "query"), *x, *v;
	x = xml_new_child(q, NS_XDATA, "x");
	xml_set(x, "type", "form");
	add_field(x, "hidden", "FORM_TYPE", NS_MAM);
	add_field(x, "jid-single", "with", NULL);
	add_field(x, "text-single", "start", NULL);
	add_field(x, "text-single", "end", NULL);
	add_field(x, "text-single", "before-id", NULL);
	add_field(x, "text-single", "after-id", NULL);
	add_field(x, "list-multi", "ids", NULL);
	v = xml_new_child(x->last, NS_XVALIDATE, "validate");
	xml_set(v, "datatype", "xs:string");
	xml_new_child(v, NS_XVALIDATE, "open");
	conn_iq_result(c, iq, q);
}

static void add_edge(struct xml_node *m, const char *name, const struct mam_item *it)
{
	struct xml_node *e = xml_new_child(m, NS_MAM, name);
	char stamp[DATETIME_MAX];
	datetime_format(it->ms, 1, stamp, sizeof stamp);
	xml_set(e, "id", it->id);
	xml_set(e, "timestamp", stamp);
}

struct xml_node *mam_metadata_node(struct conn *c)
{
	struct mam_page page;
	struct xml_node *m;
	if (mam_metadata(conn_store(c), conn_bare(c), &page) < 0)
		return NULL;
	m = xml_new(NS_MAM, "metadata");
	if (page.n == 2) {
		add_edge(m, "start", &page.items[0]);
		add_edge(m, "end", &page.items[1]);
	}
	mam_page_free(&page);
	return m;
}

static void metadata(struct conn *c, const struct xml_node *iq)
{
	struct xml_node *m = mam_metadata_node(c);
	if (!m) {
		failed(c, iq, "archive metadata");
		return;
	}
	conn_iq_result(c, iq, m);
}

static void add_jids(struct xml_node *prefs, const char *name, const struct strvec *jids)
{
	struct xml_node *l = xml_new_child(prefs, NS_MAM, name);
	size_t i;
	for (i = 0; i < jids->n; i++)
		xml_add_text(xml_new_child(l, NS_MAM, "jid"), jids->v[i], strlen(jids->v[i]));
}

static void prefs_get(struct conn *c, const struct xml_node *iq)
{
	struct mam_prefs p;
	struct xml_node *r;
	if (mam_prefs_get(conn_store(c), conn_bare(c), &p) < 0) {
		failed(c, iq, "archive preferences");
		return;
	}
	r = xml_new(NS_MAM, "prefs");
	xml_set(r, "default", p.dflt[0] ? p.dflt : conn_cfg(c)->archive_default);
	add_jids(r, "always", &p.always);
	add_jids(r, "never", &p.never);
	mam_prefs_free(&p);
	conn_iq_result(c, iq, r);
}

/* The <jid/>s of list into out; 0, or -1 with the error sent. */
static int parse_jids(struct conn *c, const struct xml_node *iq, const struct xml_node *list,
    struct strvec *out)
{
	struct xml_node *j;
	char norm[FULL_JID_MAX];
	for (j = list ? list->children : NULL; j; j = j->next) {
		if (!j->name || strcmp(j->name, "jid"))
			continue;
		if (normal_jid(xml_text(j), norm, sizeof norm) == -1) {
			conn_error(c, iq, "modify", "jid-malformed", xml_text(j));
			return -1;
		}
		strvec_add(out, norm);
	}
	return 0;
}

static void prefs_set(struct conn *c, struct xml_node *iq, struct xml_node *q)
{
	struct mam_prefs p;
	const char *d = xml_get(q, "default");

	memset(&p, 0, sizeof p);
	if (!d || (strcmp(d, "always") && strcmp(d, "roster") && strcmp(d, "never"))) {
		conn_error(c, iq, "modify", "bad-request", "default is always, roster or never");
		return;
	}
	snprintf(p.dflt, sizeof p.dflt, "%s", d);
	if (parse_jids(c, iq, xml_child(q, NS_MAM, "always"), &p.always) == -1 ||
	    parse_jids(c, iq, xml_child(q, NS_MAM, "never"), &p.never) == -1) {
		mam_prefs_free(&p);
		return;
	}
	if (p.always.n + p.never.n > MAM_PREFS_MAX) {
		conn_error(c, iq, "modify", "policy-violation", "too many JIDs");
	} else if (mam_prefs_put(conn_store(c), conn_bare(c), &p) < 0) {
		failed(c, iq, "archive preferences");
	} else {
		prefs_get(c, iq);      /* what now applies */
	}
	mam_prefs_free(&p);
}

static void mam_iq(struct conn *c, struct xml_node *iq)
{
	static const struct archive own = { NULL, "" };
	struct xml_node *q = xml_first_element(iq);
	int get = !strcmp(xml_get(iq, "type"), "get");

	if (!conn_to_account(c, iq)) {
		/* The domain keeps no archive; another user's is theirs. */
		conn_error(c, iq, "cancel", conn_to_server(c, iq) ? "service-unavailable" :
		    "forbidden", NULL);
	} else if (!strcmp(q->name, "query") && xml_get(q, "node")) {
		conn_error(c, iq, "cancel", "feature-not-implemented", "no pubsub archives");
	} else if (!strcmp(q->name, "query")) {
		if (get)
			query_form(c, iq);
		else
			query_set(c, iq, q, &own);
	} else if (!strcmp(q->name, "metadata") && get) {
		metadata(c, iq);
	} else if (!strcmp(q->name, "prefs")) {
		if (get)
			prefs_get(c, iq);
		else
			prefs_set(c, iq, q);
	} else {
		conn_error(c, iq, "cancel", "feature-not-implemented", NULL);
	}
}

void mam_room_iq(struct conn *c, const struct xml_node *iq, const char *room, const char *nick)
{
	const struct archive a = { room, nick };
	const struct xml_node *q = xml_first_element(iq);

	if (!strcmp(q->name, "query") && !xml_get(q, "node")) {
		if (!strcmp(xml_get(iq, "type"), "get"))
			query_form(c, iq);
		else
			query_set(c, iq, q, &a);
	} else {
		conn_error(c, iq, "cancel", "feature-not-implemented", NULL);
	}
}

static const char *const mam_ns[] = { NS_MAM, NULL };
static const char *const mam_account_disco[] = { NS_MAM, NS_MAM_EXT, NS_SID, NULL };

const struct module mod_mam = {
	.name = "mam",
	.phases = PHASE_SESSION,
	.iq_ns = mam_ns,
	.user_iq_ns = mam_ns,          /* to answer <forbidden/> (XEP-0313 8) */
	.account_disco = mam_account_disco,
	.iq = mam_iq,
};
