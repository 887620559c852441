/*
 * useriq.c - IQs from other domains answered for a local user (useriq.h).
 */
#include "useriq.h"
#include "jid.h"
#include "log.h"
#include "pep.h"
#include "strvec.h"
#include "vcard.h"

#include <stdlib.h>
#include <string.h>

#define NS_SERVER_IQ     "jabber:server"
#define NS_VCARD_TEMP    "vcard-temp"
#define NS_PUBSUB_IQ     "http://jabber.org/protocol/pubsub"
#define ITEMS_MAX_ASKED  1000000  /* the largest max_items taken */

/* The result IQ for iq, from its 'to' to its 'from'. */
static struct xml_node *result_of(const struct xml_node *iq)
{
	struct xml_node *r = xml_new(NS_SERVER_IQ, "iq");
	const char *id = xml_get(iq, "id");

	xml_set(r, "type", "result");
	xml_set(r, "from", xml_get(iq, "to"));
	xml_set(r, "to", xml_get(iq, "from"));
	xml_set(r, "id", id ? id : "");
	return r;
}

static struct xml_node *fail(struct s2s_iq_error *err, const char *type, const char *cond,
    const char *app)
{
	err->type = type;
	err->cond = cond;
	err->app = app;
	return NULL;
}

/* XEP-0054: the stored vCard; none is service-unavailable, as for a
 * local asker (another user's empty vCard is not for others to see). */
static struct xml_node *vcard(struct store *s, const struct xml_node *iq, const char *bare,
    struct s2s_iq_error *err)
{
	struct xml_node *r, *v;
	char *xml = NULL;
	size_t len;
	int rc = vcard_get(s, bare, &xml, &len);

	if (rc < 0) {
		log_msg(LOG_ERR, "vcard get: %s", s->err);
		return fail(err, "wait", "internal-server-error", NULL);
	}
	if (rc != VCARD_FOUND || !(v = xml_parse_string(xml, len))) {
		free(xml);
		return fail(err, "cancel", "service-unavailable", NULL);
	}
	free(xml);
	r = result_of(iq);
	xml_add(r, v);
	return r;
}

static void add_item(const char *xml, size_t len, void *arg)
{
	xml_add_raw(arg, xml, len);
}

/* XEP-0060 6.5: items of one node, for the asker's bare JID. */
static struct xml_node *items(struct store *s, const struct xml_node *iq, const char *bare,
    const struct xml_node *el, struct s2s_iq_error *err)
{
	const char *node = xml_get(el, "node"), *mx = xml_get(el, "max_items"), *id;
	struct xml_node *r, *ps, *its, *ch;
	struct strvec ids = { 0 };
	struct pep_info info;
	char asker[JID_MAX], *end;
	struct jid j;
	long max = 0;
	int rc;

	if (!node || !*node)
		return fail(err, "modify", "bad-request", "nodeid-required");
	if (mx && ((max = strtol(mx, &end, 10)) < 1 || *end || max > ITEMS_MAX_ASKED))
		return fail(err, "modify", "bad-request", NULL);
	if (jid_parse(xml_get(iq, "from"), &j) == -1)
		return fail(err, "modify", "jid-malformed", NULL);
	jid_bare(&j, asker, sizeof asker);
	for (ch = el->children; ch; ch = ch->next)
		if (ch->name && !strcmp(ch->name, "item") && (id = xml_get(ch, "id")))
			strvec_add(&ids, id);
	r = result_of(iq);
	ps = xml_new_child(r, NS_PUBSUB_IQ, "pubsub");
	its = xml_new_child(ps, NS_PUBSUB_IQ, "items");
	xml_set(its, "node", node);
	rc = pep_items(s, bare, node, asker, (int)max, (const char *const *)ids.v, (int)ids.n,
	    &info, add_item, its);
	strvec_free(&ids);
	if (rc == PEP_ITEMS)
		return r;
	xml_free(r);
	if (rc < 0) {
		log_msg(LOG_ERR, "pep items: %s", s->err);
		return fail(err, "wait", "internal-server-error", NULL);
	}
	pep_items_error(rc, &info, &err->type, &err->cond, &err->app);
	return NULL;
}

struct xml_node *s2s_user_iq(struct store *s, const struct xml_node *iq,
    struct s2s_iq_error *err)
{
	const char *type = xml_get(iq, "type"), *to = xml_get(iq, "to");
	struct xml_node *q = xml_first_element(iq), *el;
	char bare[JID_MAX];
	struct jid j;

	err->type = err->cond = err->app = NULL;
	if (!type || strcmp(type, "get") || !q || !q->ns || !to || jid_parse(to, &j) == -1)
		return NULL;
	jid_bare(&j, bare, sizeof bare);
	if (!strcmp(q->ns, NS_VCARD_TEMP) && !strcmp(q->name, "vCard"))
		return vcard(s, iq, bare, err);
	if (!strcmp(q->ns, NS_PUBSUB_IQ) && !strcmp(q->name, "pubsub") &&
	    (el = xml_first_element(q)) && !strcmp(el->name, "items"))
		return items(s, iq, bare, el, err);
	return NULL;
}
