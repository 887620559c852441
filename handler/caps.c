/*
 * caps.c - entity capabilities, XEP-0115: which notifications each
 * session's client wants (its "<node>+notify" features, XEP-0163 4).
 *
 * The client's available presence to its contacts (no 'to') carries
 * <c xmlns='http://jabber.org/protocol/caps' hash node ver/>. The
 * handler looks ver up in the table every host shares (router/caps.h);
 * when nobody has told it yet, it asks the client's disco#info for
 * node#ver, checks the answer against ver as XEP-0115 5.4 says (the
 * hash of the verification string of 5.1; no duplicate identity,
 * feature or form), and only then stores it for everyone. An answer
 * that does not match is used by no one: the client gets no
 * notifications until it says something true. Presence passes on
 * untouched either way. Once a session is available and its interests
 * known, it gets the last item of every node it wants (pep.c).
 *
 * Hashes: sha-1 and sha-256 (XEP-0115 5.2, through Nettle); a <c/> with
 * another hash, or the legacy form without one, is ignored.
 */
#include "modules.h"
#include "conn.h"
#include "caps.h"
#include "log.h"
#include "scram.h"
#include "strvec.h"
#include "xmalloc.h"

#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_CAPS     "http://jabber.org/protocol/caps"
#define NS_XDATA    "jabber:x:data"
#define NOTIFY      "+notify"
#define CAPS_VER_MAX 128        /* a base64 SHA-256 is 44 bytes */
#define CAPS_NODE_MAX 512       /* the software's URI, as sent in the query */
#define CAPS_ID     "caps-"     /* ids of the server's disco#info requests */

struct caps_state {
	char hash[8];                  /* "sha-1" or "sha-256" */
	char ver[CAPS_VER_MAX];        /* as the last presence said */
	char node[CAPS_NODE_MAX];
	unsigned asked;                /* requests sent: the id of the last one */
	int known;                     /* notify holds the client's interests */
	int last_sent;                 /* pep_send_last ran for this session */
	struct strvec notify;          /* nodes it has "+notify" for */
};

static struct caps_state *caps_of(struct conn *c)
{
	return conn_slot(c, &mod_caps, sizeof(struct caps_state));
}

int caps_wants(struct conn *c, const char *node)
{
	struct caps_state *cs = caps_of(c);
	size_t i;
	for (i = 0; cs->known && i < cs->notify.n; i++)
		if (!strcmp(cs->notify.v[i], node))
			return 1;
	return 0;
}

/* The client's interests are features: keep the nodes of "+notify". */
static void take_features(struct caps_state *cs, const struct strvec *features)
{
	size_t i, n, k = strlen(NOTIFY);
	strvec_free(&cs->notify);
	for (i = 0; i < features->n; i++) {
		n = strlen(features->v[i]);
		if (n > k && !strcmp(features->v[i] + n - k, NOTIFY)) {
			features->v[i][n - k] = '\0';
			strvec_add(&cs->notify, features->v[i]);
			features->v[i][n - k] = '+';
		}
	}
	cs->known = 1;
}

/* ---- the verification string, XEP-0115 5.1 ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort v; -1 if two entries are equal (5.4 3.: such an answer is not
 * to be trusted). */
static int sort_unique(struct strvec *v)
{
	size_t i;
	if (v->n > 1)
		qsort(v->v, v->n, sizeof *v->v, cmp_str);
	for (i = 1; i < v->n; i++)
		if (!strcmp(v->v[i - 1], v->v[i]))
			return -1;
	return 0;
}

static const char *attr_or_empty(const struct xml_node *n, const char *name)
{
	const char *v = xml_get(n, name);
	return v ? v : "";
}

static const char *lang_of(const struct xml_node *n)
{
	const struct xml_attr *a;
	for (a = n->attrs; a; a = a->next)
		if (a->ns && !strcmp(a->ns, NS_XML) && !strcmp(a->name, "lang"))
			return a->value;
	return "";
}

/* The value of a form's FORM_TYPE field, or NULL. */
static const char *form_type(struct xml_node *x)
{
	struct xml_node *f;
	for (f = x->children; f; f = f->next)
		if (f->name && !strcmp(f->name, "field") && xml_get(f, "var") &&
		    !strcmp(xml_get(f, "var"), "FORM_TYPE"))
			return xml_child(f, NS_XDATA, "value") ?
			    xml_text(xml_child(f, NS_XDATA, "value")) : NULL;
	return NULL;
}

/* One form's part of the string: its FORM_TYPE, then each other field
 * by var, with its values sorted. */
static void form_part(struct xml_node *x, struct xbuf *out)
{
	struct strvec fields = { 0 }, values = { 0 };
	struct xml_node *f, *v;
	struct xbuf b = { 0 };
	size_t i, k;

	for (f = x->children; f; f = f->next) {
		const char *var = f->name && !strcmp(f->name, "field") ? xml_get(f, "var") : NULL;
		if (!var || !strcmp(var, "FORM_TYPE"))
			continue;
		b.len = 0;
		xbuf_adds(&b, var);
		xbuf_adds(&b, "<");
		for (v = f->children; v; v = v->next)
			if (v->name && !strcmp(v->name, "value"))
				strvec_add(&values, xml_text(v));
		if (values.n > 1)
			qsort(values.v, values.n, sizeof *values.v, cmp_str);
		for (k = 0; k < values.n; k++) {
			xbuf_adds(&b, values.v[k]);
			xbuf_adds(&b, "<");
		}
		strvec_free(&values);
		xbuf_add(&b, "", 1);
		strvec_add(&fields, b.p);
	}
	if (fields.n > 1)
		qsort(fields.v, fields.n, sizeof *fields.v, cmp_str);
	xbuf_adds(out, form_type(x));
	xbuf_adds(out, "<");
	for (i = 0; i < fields.n; i++)
		xbuf_adds(out, fields.v[i]);
	strvec_free(&fields);
	xbuf_free(&b);
}

/* The verification string of a disco#info <query/> into out, and its
 * features into features; -1 if the answer may not be trusted (a
 * duplicate identity, feature or FORM_TYPE). */
static int ver_string(struct xml_node *q, struct xbuf *out, struct strvec *features)
{
	struct strvec ids = { 0 }, types = { 0 };
	struct xml_node *n, **forms = NULL;
	struct xbuf b = { 0 };
	size_t i, nforms = 0, k;
	int rc = 0;

	for (n = q->children; n; n = n->next) {
		if (!n->name || !n->ns)
			continue;
		if (!strcmp(n->ns, NS_DISCO_INFO) && !strcmp(n->name, "identity")) {
			b.len = 0;
			xbuf_addf(&b, "%s/%s/%s/%s", attr_or_empty(n, "category"),
			    attr_or_empty(n, "type"), lang_of(n), attr_or_empty(n, "name"));
			xbuf_add(&b, "", 1);
			strvec_add(&ids, b.p);
		} else if (!strcmp(n->ns, NS_DISCO_INFO) && !strcmp(n->name, "feature") &&
		    xml_get(n, "var")) {
			strvec_add(features, xml_get(n, "var"));
		} else if (!strcmp(n->ns, NS_XDATA) && !strcmp(n->name, "x") && form_type(n)) {
			forms = xrealloc(forms, (nforms + 1) * sizeof *forms);
			forms[nforms++] = n;
			strvec_add(&types, form_type(n));
		}
	}
	if (sort_unique(&ids) == -1 || sort_unique(features) == -1 || sort_unique(&types) == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < ids.n; i++) {
		xbuf_adds(out, ids.v[i]);
		xbuf_adds(out, "<");
	}
	for (i = 0; rc == 0 && i < features->n; i++) {
		xbuf_adds(out, features->v[i]);
		xbuf_adds(out, "<");
	}
	/* Forms by FORM_TYPE: types is sorted, find each one's form. */
	for (i = 0; rc == 0 && i < types.n; i++)
		for (k = 0; k < nforms; k++)
			if (!strcmp(form_type(forms[k]), types.v[i])) {
				form_part(forms[k], out);
				break;
			}
	strvec_free(&ids);
	strvec_free(&types);
	free(forms);
	xbuf_free(&b);
	return rc;
}

/* base64 of the hash of s, into out; -1 for a hash not supported. */
static int hash_b64(const char *hash, const char *s, size_t len, char *out, size_t outsz)
{
	unsigned char d[SHA256_DIGEST_SIZE];
	size_t n;
	if (!strcmp(hash, "sha-1")) {
		struct sha1_ctx x;
		sha1_init(&x);
		sha1_update(&x, len, (const uint8_t *)s);
		sha1_digest(&x, SHA1_DIGEST_SIZE, d);
		n = SHA1_DIGEST_SIZE;
	} else if (!strcmp(hash, "sha-256")) {
		struct sha256_ctx x;
		sha256_init(&x);
		sha256_update(&x, len, (const uint8_t *)s);
		sha256_digest(&x, SHA256_DIGEST_SIZE, d);
		n = SHA256_DIGEST_SIZE;
	} else {
		return -1;
	}
	return b64_encode(d, n, out, outsz) < 0 ? -1 : 0;
}

/* ---- the client's presence and our question ---- */

static void ask(struct conn *c, struct caps_state *cs)
{
	struct xml_node *iq = xml_new(NS_CLIENT, "iq"), *q;
	char id[32], node[CAPS_NODE_MAX + CAPS_VER_MAX + 2];

	snprintf(id, sizeof id, CAPS_ID "%u", ++cs->asked);
	snprintf(node, sizeof node, "%s#%s", cs->node, cs->ver);
	xml_set(iq, "type", "get");
	xml_set(iq, "id", id);
	xml_set(iq, "from", conn_domain(c));
	xml_set(iq, "to", conn_full(c));
	q = xml_new_child(iq, NS_DISCO_INFO, "query");
	xml_set(q, "node", node);
	conn_send(c, iq);
	xml_free(iq);
}

/* A new <c/> in the client's available presence. */
static void caps_seen(struct conn *c, const struct xml_node *cn)
{
	struct caps_state *cs = caps_of(c);
	const char *hash = xml_get(cn, "hash"), *ver = xml_get(cn, "ver"),
	    *node = xml_get(cn, "node");
	struct strvec features = { 0 };
	int r;

	if (!hash || !ver || !node || (strcmp(hash, "sha-1") && strcmp(hash, "sha-256")) ||
	    strlen(ver) >= CAPS_VER_MAX || strlen(node) >= CAPS_NODE_MAX)
		return;
	if (!strcmp(cs->ver, ver) && !strcmp(cs->hash, hash))
		return;                        /* the same software as before */
	snprintf(cs->hash, sizeof cs->hash, "%s", hash);
	snprintf(cs->ver, sizeof cs->ver, "%s", ver);
	snprintf(cs->node, sizeof cs->node, "%s", node);
	cs->known = 0;
	strvec_free(&cs->notify);
	r = caps_get(conn_store(c), hash, ver, &features);
	if (r == CAPS_FOUND)
		take_features(cs, &features);
	else if (r < 0)
		log_msg(LOG_ERR, "caps: %s", conn_store(c)->err);
	else
		ask(c, cs);
	strvec_free(&features);
}

/* Once per session, when it is available and its interests are known:
 * the last items it wants (pep.c). */
static void send_last(struct conn *c, struct caps_state *cs)
{
	if (cs->known && !cs->last_sent && presence_available(c)) {
		cs->last_sent = 1;
		pep_send_last(c);
	}
}

/* The presence that carried <c/> has been handled (presence.c comes
 * after this module): the session may be available now. */
static void caps_flush(struct conn *c, const struct xml_node *next)
{
	(void)next;
	send_last(c, caps_of(c));
}

static enum mod_ret caps_inbound(struct conn *c, struct xml_node *st)
{
	const struct xml_node *cn;
	if (!strcmp(st->name, "presence") && !xml_get(st, "type") && !xml_get(st, "to") &&
	    (cn = xml_child(st, NS_CAPS, "c")))
		caps_seen(c, cn);
	return MOD_PASS;
}

/* The client's answer to our disco#info: trusted and stored only if it
 * hashes to the ver it announced. */
static enum mod_ret caps_response(struct conn *c, struct xml_node *iq)
{
	struct caps_state *cs = caps_of(c);
	const char *id = xml_get(iq, "id"), *type = xml_get(iq, "type");
	struct xml_node *q = xml_child(iq, NS_DISCO_INFO, "query");
	struct strvec features = { 0 };
	struct xbuf s = { 0 };
	char want[32], got[CAPS_VER_MAX];

	snprintf(want, sizeof want, CAPS_ID "%u", cs->asked);
	if (!id || strncmp(id, CAPS_ID, strlen(CAPS_ID)))
		return MOD_PASS;
	if (strcmp(id, want) || strcmp(type, "result") || !q)
		return MOD_HANDLED;            /* an old question, or no answer */
	if (ver_string(q, &s, &features) == -1 ||
	    hash_b64(cs->hash, s.p ? s.p : "", s.len, got, sizeof got) == -1 ||
	    strcmp(got, cs->ver)) {
		log_msg(LOG_NOTICE, "caps of %s: disco#info does not hash to %s", conn_full(c),
		    cs->ver);
	} else {
		take_features(cs, &features);
		if (caps_put(conn_store(c), cs->hash, cs->ver, &features) < 0)
			log_msg(LOG_ERR, "caps: %s", conn_store(c)->err);
		send_last(c, cs);
	}
	strvec_free(&features);
	xbuf_free(&s);
	return MOD_HANDLED;
}

static void caps_free(void *slot)
{
	struct caps_state *cs = slot;
	strvec_free(&cs->notify);
}

const struct module mod_caps = {
	.name = "caps",
	.inbound = caps_inbound,
	.response = caps_response,
	.flush = caps_flush,
	.free_slot = caps_free,
};
