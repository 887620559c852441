/*
 * pep.c - XEP-0163 personal eventing: a subset of XEP-0060 pubsub on each
 * account's bare JID. The owner publishes, retracts, reads, purges,
 * deletes and configures its nodes; anyone may read a node whose access
 * model lets them; notifications go to the owner's available sessions
 * and, unless the node is whitelist, to every contact that sees the
 * owner's presence, whose clients filter by XEP-0115 "+notify". Storage
 * and the caps are router/pep.h's, atomic in Redis.
 *
 * Answers (xmpp-handler(8), "PEP"):
 *   publish            result <publish node><item id/></publish>; node
 *                      created on first publish (publish-options as its
 *                      configuration); an id made when absent
 *   items              result with the items, oldest first (max_items:
 *                      the newest N; <item id/> children: those)
 *   retract, purge, delete, configure, create: result
 *   no node            <item-not-found/> (cancel), the request echoed
 *   publish-options not met   <conflict/> + <precondition-not-met/>
 *   another user's node, not allowed by its access model
 *                      presence: <not-authorized/> + <presence-subscription-required/>
 *                      roster: <not-authorized/> + <not-in-roster-group/>
 *                      whitelist: <not-allowed/> + <closed-node/>
 *   a change to another user's node   <forbidden/> (auth)
 *   to the server's domain            <service-unavailable/>
 *   subscriptions, affiliations, default options, instant nodes...
 *                      <feature-not-implemented/> + <unsupported feature/>
 *   item over pep_max_item_size       <not-acceptable/> + <payload-too-big/>
 *   max_items over pep_max_items      <not-acceptable/> with a text
 *   a node beyond pep_max_nodes       <policy-violation/> with a text
 *   malformed request                 <bad-request/> (+ nodeid-required,
 *                      item-required, payload-required, invalid-payload)
 *   Redis failed                      <internal-server-error/>, type wait
 */
#include "modules.h"
#include "conn.h"
#include "config.h"
#include "jid.h"
#include "log.h"
#include "pep.h"
#include "random.h"
#include "route.h"
#include "strvec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PUBSUB_EVENT    NS_PUBSUB "#event"
#define NS_PUBSUB_ERRORS   NS_PUBSUB "#errors"
#define NS_PUBSUB_PUBOPTS  NS_PUBSUB "#publish-options"
#define NS_PUBSUB_NODECONF NS_PUBSUB "#node_config"
#define NS_DATA            "jabber:x:data"

#define PEP_ID_BYTES  8          /* random bytes of an item id the server makes */

_Static_assert(PEP_NODE_MAX + 1 == ROUTE_NODE_MAX, "a node name fits an envelope");

/* ---- errors ---- */

/* An error with an XEP-0060 pubsub#errors condition app (NULL: none),
 * its feature attribute (NULL: none) and a text (NULL: none). */
static void pep_fail(struct conn *c, const struct xml_node *iq, const char *etype,
    const char *cond, const char *app, const char *feature, const char *text)
{
	struct xml_node *r = conn_error_new(c, iq, etype, cond, text), *e, *a;
	if (!r)
		return;
	if (app && (e = xml_child(r, NS_CLIENT, "error"))) {
		a = xml_new_child(e, NS_PUBSUB_ERRORS, app);
		if (feature)
			xml_set(a, "feature", feature);
	}
	conn_send(c, r);
	xml_free(r);
}

static void unsupported(struct conn *c, const struct xml_node *iq, const char *feature)
{
	pep_fail(c, iq, "cancel", "feature-not-implemented", "unsupported", feature, NULL);
}

static void redis_failed(struct conn *c, const struct xml_node *iq, const char *what)
{
	log_msg(LOG_ERR, "pep %s: %s", what, conn_store(c)->err);
	conn_error(c, iq, "wait", "internal-server-error", NULL);
}

/* ---- configuration forms (XEP-0004, XEP-0060 16.4) ---- */

static const char *const access_models[] = { "open", "presence", "roster", "whitelist", NULL };
static const char *const send_last[] = { "never", "on_sub", "on_sub_and_presence", NULL };

/* The form field of each pep_field: its XEP-0004 type and, for lists,
 * the values allowed. */
static const struct field_def {
	const char *var, *type;
	const char *const *options;
} field_defs[PEP_NFIELDS] = {
	[PEP_ACCESS_MODEL] = { "pubsub#access_model", "list-single", access_models },
	[PEP_PERSIST_ITEMS] = { "pubsub#persist_items", "boolean", NULL },
	[PEP_MAX_ITEMS] = { "pubsub#max_items", "text-single", NULL },
	[PEP_NOTIFY_RETRACT] = { "pubsub#notify_retract", "boolean", NULL },
	[PEP_SEND_LAST] = { "pubsub#send_last_published_item", "list-single", send_last },
};

enum form_ret { FORM_OK, FORM_BAD, FORM_TOO_MANY };

/* One field's value as stored, into out: FORM_OK, FORM_BAD (not a value
 * of that field) or FORM_TOO_MANY (max_items over the cap). */
static enum form_ret field_value(struct conn *c, int f, const char *v, char *out)
{
	char *end;
	long n;

	if (field_defs[f].options) {
		if (!strv_has(field_defs[f].options, v))
			return FORM_BAD;
		snprintf(out, PEP_VALUE_MAX, "%s", v);
	} else if (!strcmp(field_defs[f].type, "boolean")) {
		if (!strcmp(v, "1") || !strcmp(v, "true"))
			strcpy(out, "1");
		else if (!strcmp(v, "0") || !strcmp(v, "false"))
			strcpy(out, "0");
		else
			return FORM_BAD;
	} else if (!strcmp(v, "max")) {
		strcpy(out, "max");
	} else {
		n = strtol(v, &end, 10);
		if (end == v || *end || n < 1)
			return FORM_BAD;
		if (n > conn_cfg(c)->pep_max_items)
			return FORM_TOO_MANY;
		snprintf(out, PEP_VALUE_MAX, "%ld", n);
	}
	return FORM_OK;
}

/* Read a data form x of FORM_TYPE form_type into *cfg. The FORM_TYPE
 * field may be absent; another one, an unknown field or a bad value is
 * FORM_BAD, with the field's name in bad (badsz bytes). */
static enum form_ret parse_form(struct conn *c, struct xml_node *x, const char *form_type,
    struct pep_config *cfg, char *bad, size_t badsz)
{
	struct xml_node *fl, *val;
	const char *var, *v;
	enum form_ret r;
	int f;

	memset(cfg, 0, sizeof *cfg);
	bad[0] = '\0';
	for (fl = x ? x->children : NULL; fl; fl = fl->next) {
		if (!fl->name || strcmp(fl->name, "field") || !fl->ns || strcmp(fl->ns, NS_DATA))
			continue;
		var = xml_get(fl, "var");
		val = xml_child(fl, NS_DATA, "value");
		v = val ? xml_text(val) : "";
		snprintf(bad, badsz, "%s", var ? var : "(no var)");
		if (var && !strcmp(var, "FORM_TYPE")) {
			if (strcmp(v, form_type))
				return FORM_BAD;
			continue;
		}
		for (f = 0; var && f < PEP_NFIELDS && strcmp(field_defs[f].var, var); f++)
			;
		if (!var || f == PEP_NFIELDS)
			return FORM_BAD;
		if ((r = field_value(c, f, v, cfg->v[f])) != FORM_OK)
			return r;
		cfg->set |= 1u << f;
	}
	bad[0] = '\0';
	return FORM_OK;
}

/* The form of a node's configuration (XEP-0060 8.2.1). */
static struct xml_node *config_form(const struct pep_config *cfg)
{
	struct xml_node *x = xml_new(NS_DATA, "x"), *fl, *o;
	const char *const *opt;
	int f;

	xml_set(x, "type", "form");
	fl = xml_new_child(x, NS_DATA, "field");
	xml_set(fl, "var", "FORM_TYPE");
	xml_set(fl, "type", "hidden");
	xml_add_text(xml_new_child(fl, NS_DATA, "value"), NS_PUBSUB_NODECONF,
	    strlen(NS_PUBSUB_NODECONF));
	for (f = 0; f < PEP_NFIELDS; f++) {
		fl = xml_new_child(x, NS_DATA, "field");
		xml_set(fl, "var", field_defs[f].var);
		xml_set(fl, "type", field_defs[f].type);
		xml_add_text(xml_new_child(fl, NS_DATA, "value"), cfg->v[f], strlen(cfg->v[f]));
		for (opt = field_defs[f].options; opt && *opt; opt++) {
			o = xml_new_child(fl, NS_DATA, "option");
			xml_add_text(xml_new_child(o, NS_DATA, "value"), *opt, strlen(*opt));
		}
	}
	return x;
}

/* The form inside el (<publish-options/> or <configure/>), if any, read
 * into *cfg: 0, or -1 with the error sent (bad_cond for a field that
 * cannot be taken, with app its pubsub#errors condition or NULL). */
static int form_of(struct conn *c, const struct xml_node *iq, struct xml_node *el,
    const char *form_type, struct pep_config *cfg, const char *bad_cond, const char *app)
{
	struct xml_node *x = el ? xml_child(el, NS_DATA, "x") : NULL;
	char bad[128], text[200];

	memset(cfg, 0, sizeof *cfg);
	if (!x || !strcmp(xml_get(x, "type") ? xml_get(x, "type") : "", "cancel"))
		return 0;
	switch (parse_form(c, x, form_type, cfg, bad, sizeof bad)) {
	case FORM_OK:
		return 0;
	case FORM_TOO_MANY:
		snprintf(text, sizeof text, "more than %d items per node",
		    conn_cfg(c)->pep_max_items);
		conn_error(c, iq, "modify", "not-acceptable", text);
		return -1;
	default:
		snprintf(text, sizeof text, "%s: not a field or value xmppd takes", bad);
		pep_fail(c, iq, app ? "cancel" : "modify", bad_cond, app, NULL, text);
		return -1;
	}
}

/* ---- notifications ---- */

/* Send the <event/> content inner (XML) about node to whoever should get
 * it: the owner's sessions always, the contacts that see its presence
 * unless model is whitelist. One round trip. */
static void notify(struct conn *c, const char *node, const char *model, const char *inner)
{
	struct strvec to = { 0 };
	struct xbuf msg = { 0 };
	const char **payloads;
	char *env, *env_own;
	size_t *lens, len, len_own, i, k;

	xbuf_adds(&msg, "<message from='");
	xbuf_add_esc(&msg, conn_bare(c), strlen(conn_bare(c)));
	xbuf_addf(&msg, "' type='headline'><event xmlns='%s'>%s</event></message>",
	    NS_PUBSUB_EVENT, inner);
	if (strcmp(model, "whitelist") &&
	    presence_contacts(conn_store(c), conn_bare(c), &to, NULL) == -1) {
		log_msg(LOG_ERR, "pep notify: %s", conn_store(c)->err);
		strvec_free(&to);
	}
	presence_unblocked(c, &to);
	/* Contacts of other domains: their servers deliver it (to the bare
	 * JID: which of their clients asked for the node is theirs to know). */
	federation_queue_each(conn_store(c), conn_cfg(c), &to, msg.p);
	for (i = k = 0; i < to.n; i++) {
		if (federation_remote(conn_cfg(c), to.v[i]))
			free(to.v[i]);
		else
			to.v[k++] = to.v[i];
	}
	to.n = k;
	/* the owner last, whether or not the roster was read */
	for (i = 0; i < to.n && strcmp(to.v[i], conn_bare(c)); i++)
		;
	if (i == to.n)
		strvec_add(&to, conn_bare(c));
	env = route_envelope_pep(node, 0, msg.p, &len);
	env_own = route_envelope_pep(node, 1, msg.p, &len_own);
	payloads = xcalloc(to.n, sizeof *payloads);
	lens = xcalloc(to.n, sizeof *lens);
	for (i = 0; i < to.n; i++) {
		int own = !strcmp(to.v[i], conn_bare(c));
		payloads[i] = own ? env_own : env;
		lens[i] = own ? len_own : len;
	}
	if (route_fanout(conn_store(c), (const char *const *)to.v, (int)to.n, payloads, lens,
	    NULL) == -1)
		log_msg(LOG_ERR, "pep notify: %s", conn_store(c)->err);
	free(payloads);
	free(lens);
	free(env);
	free(env_own);
	strvec_free(&to);
	xbuf_free(&msg);
}

/* "<items node='N'>" + what + "</items>", for notify. */
static char *items_event(const char *node, const char *what, size_t len)
{
	struct xbuf b = { 0 };
	xbuf_adds(&b, "<items node='");
	xbuf_add_esc(&b, node, strlen(node));
	xbuf_adds(&b, "'>");
	xbuf_add(&b, what, len);
	xbuf_adds(&b, "</items>");
	return b.p;
}

/* A notification from the user's bare channel: to the client if it is
 * available, and, unless it is its own node's, if it wants the node's
 * notifications (XEP-0163 4: "+notify" in its XEP-0115 features). */
static enum mod_ret pep_outbound(struct conn *c, const struct route_msg *m)
{
	struct xbuf b = { 0 };

	if (m->kind != ROUTE_PEP)
		return MOD_PASS;
	if (!presence_available(c) || (!m->own && !caps_wants(c, m->node)))
		return MOD_HANDLED;
	if (m->body_len < 9 || memcmp(m->body, "<message ", 9)) {
		log_msg(LOG_WARNING, "pep: malformed notification");
		return MOD_HANDLED;
	}
	xbuf_adds(&b, "<message to='");
	xbuf_add_esc(&b, conn_full(c), strlen(conn_full(c)));
	xbuf_adds(&b, "' ");
	xbuf_add(&b, m->body + 9, m->body_len - 9);
	conn_send_deferrable(c, b.p, b.len);
	xbuf_free(&b);
	return MOD_HANDLED;
}

/* ---- the last items, when a session starts to want them ---- */

struct last_walk {
	struct conn *c;
	const char *owner, *node;
};

/* One last item, as the notification its publish would have been. */
static void send_last_item(const char *xml, size_t len, void *arg)
{
	struct last_walk *w = arg;
	struct xbuf b = { 0 };
	xbuf_adds(&b, "<message to='");
	xbuf_add_esc(&b, conn_full(w->c), strlen(conn_full(w->c)));
	xbuf_adds(&b, "' from='");
	xbuf_add_esc(&b, w->owner, strlen(w->owner));
	xbuf_addf(&b, "' type='headline'><event xmlns='%s'><items node='", NS_PUBSUB_EVENT);
	xbuf_add_esc(&b, w->node, strlen(w->node));
	xbuf_adds(&b, "'>");
	xbuf_add(&b, xml, len);
	xbuf_adds(&b, "</items></event></message>");
	conn_send_deferrable(w->c, b.p, b.len);
	xbuf_free(&b);
}

/* Does the owner's node say never to send its last item? (A read
 * that fails says no: the item goes.) */
static int last_wanted_never(struct conn *c, const char *owner, const char *node)
{
	struct pep_config cfg;
	return pep_config_get(conn_store(c), owner, node, &cfg) == PEP_CONFIGURED &&
	    !strcmp(cfg.v[PEP_SEND_LAST], "never");
}

void pep_send_last(struct conn *c)
{
	struct strvec to = { 0 }, *nodes;
	struct last_walk w = { c, NULL, NULL };
	struct pep_info info;
	size_t i, k;

	if (presence_contacts(conn_store(c), conn_bare(c), NULL, &to) == -1) {
		log_msg(LOG_ERR, "pep last items: %s", conn_store(c)->err);
		strvec_free(&to);
		return;
	}
	presence_unblocked(c, &to);
	nodes = xcalloc(to.n + 1, sizeof *nodes);
	if (pep_nodes_of(conn_store(c), (const char *const *)to.v, (int)to.n, nodes) < 0)
		log_msg(LOG_ERR, "pep last items: %s", conn_store(c)->err);
	for (i = 0; i < to.n; i++) {
		for (k = 0; k < nodes[i].n; k++) {
			if (!caps_wants(c, nodes[i].v[k]) || last_wanted_never(c, to.v[i],
			    nodes[i].v[k]))
				continue;
			w.owner = to.v[i];
			w.node = nodes[i].v[k];
			/* The access model decides, as for any read by this user. */
			if (pep_items(conn_store(c), to.v[i], nodes[i].v[k], conn_bare(c), 1, NULL, 0,
			    &info, send_last_item, &w) < 0)
				log_msg(LOG_ERR, "pep last items: %s", conn_store(c)->err);
		}
		strvec_free(&nodes[i]);
	}
	free(nodes);
	strvec_free(&to);
}

/* ---- requests ---- */

/* The node attribute of el, checked: NULL with the error sent. */
static const char *node_of(struct conn *c, const struct xml_node *iq, const struct xml_node *el)
{
	const char *node = xml_get(el, "node");
	char text[64];
	if (!node || !*node) {
		pep_fail(c, iq, "modify", "bad-request", "nodeid-required", NULL, NULL);
		return NULL;
	}
	if (strlen(node) > PEP_NODE_MAX) {
		snprintf(text, sizeof text, "node names are at most %d bytes", PEP_NODE_MAX);
		conn_error(c, iq, "modify", "not-acceptable", text);
		return NULL;
	}
	return node;
}

static struct xml_node *pubsub_reply(const char *ns, const char *name, const char *node)
{
	struct xml_node *ps = xml_new(ns, "pubsub");
	xml_set(xml_new_child(ps, ns, name), "node", node);
	return ps;
}

/* The one element child of el, or NULL; *n receives how many there are. */
static struct xml_node *only_child(const struct xml_node *el, const char *name, int *n)
{
	struct xml_node *ch, *first = NULL;
	*n = 0;
	for (ch = el->children; ch; ch = ch->next)
		if (ch->name && (!name || (!strcmp(ch->name, name) && ch->ns &&
		    !strcmp(ch->ns, NS_PUBSUB)))) {
			if (!first)
				first = ch;
			(*n)++;
		}
	return first;
}

int pep_publish_own(struct conn *c, const char *node, const char *id, const char *item,
    size_t len, const struct pep_config *opts)
{
	const struct config *cfg = conn_cfg(c);
	struct pep_limits lim = { cfg->pep_max_nodes, cfg->pep_max_items };
	struct pep_info info;
	char *ev;
	int rc;

	rc = pep_publish(conn_store(c), conn_bare(c), node, id, item, len, opts, &lim, &info);
	if (rc == PEP_PUBLISHED || rc == PEP_CREATED) {
		ev = items_event(node, item, len);
		notify(c, node, info.access_model, ev);
		free(ev);
	}
	return rc;
}

/* A retract notification of id, if the request or the node asks for it. */
static void retract_notify(struct conn *c, const char *node, const char *id, const char *model)
{
	struct xbuf b = { 0 };
	char *ev;

	xbuf_adds(&b, "<retract id='");
	xbuf_add_esc(&b, id, strlen(id));
	xbuf_adds(&b, "'/>");
	ev = items_event(node, b.p, b.len);
	notify(c, node, model, ev);
	free(ev);
	xbuf_free(&b);
}

int pep_retract_own(struct conn *c, const char *node, const char *id)
{
	struct pep_info info;
	int rc = pep_retract(conn_store(c), conn_bare(c), node, id, &info);

	if (rc == PEP_RETRACTED && info.notify_retract)
		retract_notify(c, node, id, info.access_model);
	return rc;
}

static void pep_publish_iq(struct conn *c, const struct xml_node *iq, struct xml_node *ps,
    struct xml_node *pub)
{
	const struct config *cfg = conn_cfg(c);
	struct pep_limits lim = { cfg->pep_max_nodes, cfg->pep_max_items };
	struct xml_node *item, *payload, *r;
	struct pep_config opts;
	struct pep_info info;
	struct xbuf b = { 0 };
	char idbuf[2 * PEP_ID_BYTES + 1], text[160], *ev;
	const char *node, *id;
	int n, rc;

	if (!(node = node_of(c, iq, pub)))
		return;
	item = only_child(pub, "item", &n);
	if (n != 1) {
		pep_fail(c, iq, "modify", "bad-request", n ? "invalid-payload" : "item-required",
		    NULL, n ? "one item per publish" : NULL);
		return;
	}
	payload = only_child(item, NULL, &n);
	if (n != 1) {
		pep_fail(c, iq, "modify", "bad-request", n ? "invalid-payload" : "payload-required",
		    NULL, NULL);
		return;
	}
	if (!(id = xml_get(item, "id")) || !*id) {
		if (random_hex(idbuf, PEP_ID_BYTES) < 0) {
			conn_error(c, iq, "wait", "internal-server-error", NULL);
			return;
		}
		id = idbuf;
	} else if (strlen(id) > PEP_ID_MAX) {
		snprintf(text, sizeof text, "item ids are at most %d bytes", PEP_ID_MAX);
		conn_error(c, iq, "modify", "not-acceptable", text);
		return;
	}
	if (form_of(c, iq, xml_child(ps, NS_PUBSUB, "publish-options"), NS_PUBSUB_PUBOPTS, &opts,
	    "conflict", "precondition-not-met") == -1)
		return;
	/* stored form (pep.h): no namespace on <item/>, the payload declaring its own */
	xbuf_adds(&b, "<item id='");
	xbuf_add_esc(&b, id, strlen(id));
	xbuf_adds(&b, "'>");
	xml_write(&b, payload, NULL);
	xbuf_adds(&b, "</item>");
	if (b.len > cfg->pep_max_item_size) {
		snprintf(text, sizeof text, "an item is at most %zu bytes", cfg->pep_max_item_size);
		pep_fail(c, iq, "modify", "not-acceptable", "payload-too-big", NULL, text);
		goto out;
	}
	rc = pep_publish(conn_store(c), conn_bare(c), node, id, b.p, b.len, &opts, &lim, &info);
	if (rc < 0) {
		redis_failed(c, iq, "publish");
	} else if (rc == PEP_CONFLICT) {
		snprintf(text, sizeof text, "pubsub#%s is %s", info.field, info.value);
		pep_fail(c, iq, "cancel", "conflict", "precondition-not-met", NULL, text);
	} else if (rc == PEP_FULL) {
		snprintf(text, sizeof text, "more than %d nodes", lim.max_nodes);
		conn_error(c, iq, "cancel", "policy-violation", text);
	} else {
		r = pubsub_reply(NS_PUBSUB, "publish", node);
		xml_set(xml_new_child(xml_first_element(r), NS_PUBSUB, "item"), "id", id);
		conn_iq_result(c, iq, r);
		ev = items_event(node, b.p, b.len);
		notify(c, node, info.access_model, ev);
		free(ev);
		avatar_published(c, node, payload);
	}
out:
	xbuf_free(&b);
}

struct collect_items {
	struct xml_node *items;
};

static void add_item(const char *xml, size_t len, void *arg)
{
	xml_add_raw(((struct collect_items *)arg)->items, xml, len);
}

/* Items of owner's node (XEP-0060 6.5) for the session's user. */
static void pep_items_iq(struct conn *c, const struct xml_node *iq, const char *owner,
    struct xml_node *el)
{
	struct collect_items ci;
	struct strvec ids = { 0 };
	struct xml_node *ch, *r;
	struct pep_info info;
	const char *node, *mx = xml_get(el, "max_items"), *id, *etype, *cond, *app;
	char *end;
	long max = 0;
	int rc;

	if (!(node = node_of(c, iq, el)))
		return;
	if (mx && ((max = strtol(mx, &end, 10)) < 1 || *end || end == mx || max > 1000000)) {
		conn_error(c, iq, "modify", "bad-request", "max_items is a positive number");
		return;
	}
	for (ch = el->children; ch; ch = ch->next)
		if (ch->name && !strcmp(ch->name, "item") && (id = xml_get(ch, "id")))
			strvec_add(&ids, id);
	r = pubsub_reply(NS_PUBSUB, "items", node);
	ci.items = xml_first_element(r);
	rc = pep_items(conn_store(c), owner, node, strcmp(owner, conn_bare(c)) ? conn_bare(c) : "",
	    (int)max, (const char *const *)ids.v, (int)ids.n, &info, add_item, &ci);
	if (rc < 0) {
		redis_failed(c, iq, "items");
	} else if (rc != PEP_ITEMS) {
		/* the request is echoed (conn_error_new): clients rely on it */
		pep_items_error(rc, &info, &etype, &cond, &app);
		pep_fail(c, iq, etype, cond, app, NULL, NULL);
	} else {
		conn_iq_result(c, iq, r);
		r = NULL;
	}
	xml_free(r);
	strvec_free(&ids);
}

static int notify_attr(const char *v, int dflt)
{
	if (!v)
		return dflt;
	return !strcmp(v, "1") || !strcmp(v, "true");
}

static void pep_retract_iq(struct conn *c, const struct xml_node *iq, struct xml_node *el)
{
	struct xml_node *item;
	struct pep_info info;
	const char *node, *id;
	int n, rc;

	if (!(node = node_of(c, iq, el)))
		return;
	item = only_child(el, "item", &n);
	if (n != 1 || !(id = xml_get(item, "id")) || !*id) {
		pep_fail(c, iq, "modify", "bad-request", "item-required", NULL, NULL);
		return;
	}
	rc = pep_retract(conn_store(c), conn_bare(c), node, id, &info);
	if (rc < 0) {
		redis_failed(c, iq, "retract");
		return;
	}
	if (rc == PEP_NONODE || rc == PEP_NOITEM) {
		conn_error(c, iq, "cancel", "item-not-found", NULL);
		return;
	}
	conn_iq_result(c, iq, NULL);
	if (notify_attr(xml_get(el, "notify"), info.notify_retract))
		retract_notify(c, node, id, info.access_model);
}

/* create (XEP-0060 8.1), with its configure form if any. */
static void pep_create_iq(struct conn *c, const struct xml_node *iq, struct xml_node *ps,
    struct xml_node *el)
{
	const struct config *cfg = conn_cfg(c);
	struct pep_limits lim = { cfg->pep_max_nodes, cfg->pep_max_items };
	struct pep_config conf;
	char text[64];
	const char *node;
	int rc;

	if (!xml_get(el, "node")) {
		/* instant nodes (8.1.2) make no sense for PEP */
		pep_fail(c, iq, "modify", "not-acceptable", "nodeid-required", NULL, NULL);
		return;
	}
	if (!(node = node_of(c, iq, el)))
		return;
	if (form_of(c, iq, xml_child(ps, NS_PUBSUB, "configure"), NS_PUBSUB_NODECONF, &conf,
	    "bad-request", NULL) == -1)
		return;
	rc = pep_configure(conn_store(c), conn_bare(c), node, 1, &conf, &lim);
	if (rc < 0) {
		redis_failed(c, iq, "create");
	} else if (rc == PEP_EXISTS) {
		conn_error(c, iq, "cancel", "conflict", "the node exists");
	} else if (rc == PEP_FULL) {
		snprintf(text, sizeof text, "more than %d nodes", lim.max_nodes);
		conn_error(c, iq, "cancel", "policy-violation", text);
	} else {
		conn_iq_result(c, iq, NULL);
	}
}

/* #owner: configure get/set, delete, purge (XEP-0060 8.2, 8.4, 8.5). */
static void pep_owner_iq(struct conn *c, const struct xml_node *iq, struct xml_node *el,
    int get)
{
	const struct config *cfg = conn_cfg(c);
	struct pep_limits lim = { cfg->pep_max_nodes, cfg->pep_max_items };
	struct pep_config conf;
	struct pep_info info;
	struct xml_node *r;
	const char *node;
	char *ev;
	int rc, del = !strcmp(el->name, "delete");

	if (!(node = node_of(c, iq, el)))
		return;
	if (!strcmp(el->name, "configure") && get) {
		rc = pep_config_get(conn_store(c), conn_bare(c), node, &conf);
		if (rc == PEP_CONFIGURED) {
			r = pubsub_reply(NS_PUBSUB_OWNER, "configure", node);
			xml_add(xml_first_element(r), config_form(&conf));
			conn_iq_result(c, iq, r);
			return;
		}
	} else if (!strcmp(el->name, "configure")) {
		if (form_of(c, iq, el, NS_PUBSUB_NODECONF, &conf, "bad-request", NULL) == -1)
			return;
		rc = pep_configure(conn_store(c), conn_bare(c), node, 0, &conf, &lim);
	} else {
		rc = pep_purge(conn_store(c), conn_bare(c), node, del, &info);
	}
	if (rc < 0) {
		redis_failed(c, iq, el->name);
	} else if (rc == PEP_NONODE) {
		conn_error(c, iq, "cancel", "item-not-found", NULL);
	} else {
		conn_iq_result(c, iq, NULL);
		if (rc == PEP_DELETED) {
			struct xbuf b = { 0 };
			xbuf_adds(&b, "<delete node='");
			xbuf_add_esc(&b, node, strlen(node));
			xbuf_adds(&b, "'/>");
			ev = b.p;
			notify(c, node, info.access_model, ev);
			xbuf_free(&b);
		}
	}
}

/* XEP-0060 features a request names that xmppd does not serve on PEP
 * nodes (10: <unsupported feature='...'/>). */
static const char *const unsupported_ops[][2] = {
	{ "subscribe", "subscribe" }, { "unsubscribe", "subscribe" },
	{ "options", "subscription-options" }, { "subscriptions", "retrieve-subscriptions" },
	{ "affiliations", "retrieve-affiliations" }, { "default", "retrieve-default" },
	{ NULL, NULL }
};

static const char *unsupported_feature(const char *ns, const char *op)
{
	int i;
	if (!strcmp(ns, NS_PUBSUB_OWNER)) {
		if (!strcmp(op, "subscriptions"))
			return "manage-subscriptions";
		if (!strcmp(op, "affiliations"))
			return "modify-affiliations";
	}
	for (i = 0; unsupported_ops[i][0]; i++)
		if (!strcmp(unsupported_ops[i][0], op))
			return unsupported_ops[i][1];
	return NULL;
}

static void pep_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *ps = xml_first_element(iq), *el, *ch;
	int get = !strcmp(xml_get(iq, "type"), "get"), own = conn_to_account(c, iq);
	const char *feature, *op;
	char owner[JID_MAX];
	struct jid j;

	if (!own && conn_to_server(c, iq)) {
		conn_error(c, iq, "cancel", "service-unavailable", "the server has no pubsub service");
		return;
	}
	if (own) {
		snprintf(owner, sizeof owner, "%s", conn_bare(c));
	} else if (jid_parse(xml_get(iq, "to"), &j) == 0) {
		jid_bare(&j, owner, sizeof owner);
	} else {
		conn_error(c, iq, "modify", "jid-malformed", NULL);
		return;
	}
	if (strcmp(ps->name, "pubsub")) {
		conn_error(c, iq, "modify", "bad-request", "the payload is <pubsub/>");
		return;
	}
	/* the operation: the first child (create may come with configure,
	 * publish with publish-options) */
	for (el = NULL, ch = ps->children; ch && !el; ch = ch->next)
		if (ch->name)
			el = ch;
	if (!el) {
		conn_error(c, iq, "modify", "bad-request", "no pubsub operation");
		return;
	}
	op = el->name;
	if ((feature = unsupported_feature(ps->ns, op))) {
		unsupported(c, iq, feature);
		return;
	}
	if (!strcmp(ps->ns, NS_PUBSUB) && !strcmp(op, "items") && get) {
		pep_items_iq(c, iq, owner, el);
		return;
	}
	if (!own) {
		conn_error(c, iq, "auth", "forbidden", "only the owner changes its nodes");
		return;
	}
	if (!strcmp(ps->ns, NS_PUBSUB) && !get && !strcmp(op, "publish"))
		pep_publish_iq(c, iq, ps, el);
	else if (!strcmp(ps->ns, NS_PUBSUB) && !get && !strcmp(op, "retract"))
		pep_retract_iq(c, iq, el);
	else if (!strcmp(ps->ns, NS_PUBSUB) && !get && !strcmp(op, "create"))
		pep_create_iq(c, iq, ps, el);
	else if (!strcmp(ps->ns, NS_PUBSUB_OWNER) && !strcmp(op, "configure"))
		pep_owner_iq(c, iq, el, get);
	else if (!strcmp(ps->ns, NS_PUBSUB_OWNER) && !get &&
	    (!strcmp(op, "delete") || !strcmp(op, "purge")))
		pep_owner_iq(c, iq, el, get);
	else
		conn_error(c, iq, "modify", "bad-request", "not a pubsub request xmppd knows");
}

static const char *const pep_ns[] = { NS_PUBSUB, NS_PUBSUB_OWNER, NULL };

/* The XEP-0060 features xmppd serves on the account (XEP-0163 and 10). */
static const char *const pep_features[] = {
	NS_PUBSUB "#publish", NS_PUBSUB "#publish-options", NS_PUBSUB "#retrieve-items",
	NS_PUBSUB "#retract-items", NS_PUBSUB "#delete-items", NS_PUBSUB "#delete-nodes",
	NS_PUBSUB "#purge-nodes", NS_PUBSUB "#config-node", NS_PUBSUB "#create-nodes",
	NS_PUBSUB "#create-and-configure", NS_PUBSUB "#auto-create", NS_PUBSUB "#access-open",
	NS_PUBSUB "#access-presence", NS_PUBSUB "#access-roster", NS_PUBSUB "#access-whitelist",
	NS_PUBSUB "#persistent-items", NS_PUBSUB "#item-ids", NS_PUBSUB "#last-published",
	NS_PUBSUB "#auto-subscribe", NS_PUBSUB "#filtered-notifications", NULL
};

static const char *const pep_identity[] = { "pubsub/pep", NULL };

const struct module mod_pep = {
	.name = "pep",
	.phases = PHASE_SESSION,
	.iq_ns = pep_ns,
	.user_iq_ns = pep_ns,
	.account_disco = pep_features,
	.account_identity = pep_identity,
	.iq = pep_iq,
	.outbound = pep_outbound,
};
