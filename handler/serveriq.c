/*
 * serveriq.c - IQs the server answers itself: ping (XEP-0199), service
 * discovery (XEP-0030) and software version (XEP-0092). The features
 * disco#info lists are those of the module table: a module that is not
 * there, or whose offered hook says the configuration leaves it out, is
 * not advertised. disco#info to another user's bare JID is
 * answered on that user's behalf (XEP-0030 3.1, RFC 6121 8.5.2.1.3):
 * the account's identities and features, as its owner sees them, or
 * <service-unavailable/> when there is no such account. The server's
 * disco#items names the conference domain (muc_domain)
 * it has, the upload service (upload_domain) and the external
 * components (XEP-0114: component lines); its disco#info carries the
 * contact addresses (serverinfo.h).
 */
#include "modules.h"
#include "conn.h"
#include "account.h"
#include "config.h"
#include "jid.h"
#include "log.h"
#include "serverinfo.h"
#include "version.h"

#include <string.h>

static const char *const serveriq_ns[] = {
	NS_PING, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_VERSION, NULL
};

static const char *const serveriq_disco[] = {
	NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION, NULL
};

static void add_features(struct xml_node *q, const char *const *vars)
{
	int k;
	for (k = 0; vars && vars[k]; k++)
		xml_set(xml_new_child(q, NS_DISCO_INFO, "feature"), "var", vars[k]);
}

/* An <identity/> for "category/type". */
static void add_identity(struct xml_node *q, const char *cat_type)
{
	struct xml_node *id = xml_new_child(q, NS_DISCO_INFO, "identity");
	const char *slash = strchr(cat_type, '/');
	char cat[64];

	snprintf(cat, sizeof cat, "%.*s", (int)(slash - cat_type), cat_type);
	xml_set(id, "category", cat);
	xml_set(id, "type", slash + 1);
}

static struct xml_node *disco_info(struct conn *c, const char *to)
{
	struct xml_node *q = xml_new(NS_DISCO_INFO, "query"), *id;
	int i, k;
	if (to && strcmp(to, conn_domain(c))) {
		/* an account (XEP-0030 identity account/registered), and what
		 * modules serve on it (XEP-0163 pubsub/pep) */
		add_identity(q, "account/registered");
		for (i = 0; modules[i]; i++)
			for (k = 0; modules[i]->account_identity && modules[i]->account_identity[k]; k++)
				add_identity(q, modules[i]->account_identity[k]);
		add_features(q, (const char *const[]){ NS_DISCO_INFO, NULL });
		for (i = 0; modules[i]; i++)
			add_features(q, modules[i]->account_disco);
		return q;
	}
	id = xml_new_child(q, NS_DISCO_INFO, "identity");
	xml_set(id, "category", "server");
	xml_set(id, "type", "im");
	xml_set(id, "name", "xmppd");
	add_features(q, serveriq_disco);
	for (i = 0; modules[i]; i++)
		if (modules[i] != &mod_serveriq &&
		    (!modules[i]->offered || modules[i]->offered(conn_cfg(c))))
			add_features(q, modules[i]->disco);
	serverinfo_add(q, conn_cfg(c));
	return q;
}

struct xml_node *serveriq_service_info(const char *category, const char *type,
    const char *name, const char *const *features)
{
	struct xml_node *q = xml_new(NS_DISCO_INFO, "query");
	struct xml_node *id = xml_new_child(q, NS_DISCO_INFO, "identity");

	xml_set(id, "category", category);
	xml_set(id, "type", type);
	xml_set(id, "name", name);
	add_features(q, (const char *const[]){ NS_DISCO_INFO, NS_DISCO_ITEMS, NULL });
	add_features(q, features);
	return q;
}

static void add_item(struct xml_node *r, const char *jid, const char *name)
{
	struct xml_node *it = xml_new_child(r, NS_DISCO_ITEMS, "item");

	xml_set(it, "jid", jid);
	if (name)
		xml_set(it, "name", name);
}

/* The server's items: the conference domain, the upload service and the
 * components, when there are (how clients find them; a component names
 * itself in its own disco#info); the account's: none. */
static struct xml_node *disco_items(struct conn *c, const char *to, const struct xml_node *q)
{
	struct xml_node *r = xml_new(NS_DISCO_ITEMS, "query");
	const struct config *cfg = conn_cfg(c);
	int i;

	if (xml_get(q, "node") || (to && strcmp(to, conn_domain(c))))
		return r;
	if (cfg->muc_domain[0])
		add_item(r, cfg->muc_domain, MUC_SERVICE_NAME);
	if (cfg->upload_domain[0])
		add_item(r, cfg->upload_domain, UPLOAD_SERVICE_NAME);
	for (i = 0; i < cfg->ncomponents; i++)
		add_item(r, cfg->components[i].domain, NULL);
	return r;
}

/* iq is to another user's bare JID: does that account exist? A Redis
 * failure answers no (logged). */
static int account_exists(struct conn *c, const struct xml_node *iq)
{
	struct account a;
	struct jid j;
	char bare[JID_MAX];
	int rc;

	if (jid_parse(xml_get(iq, "to"), &j) == -1)
		return 0;
	jid_bare(&j, bare, sizeof bare);
	rc = account_get(conn_store(c), bare, &a);
	if (rc < 0)
		log_msg(LOG_ERR, "disco#info: %s", conn_store(c)->err);
	return rc == ACCOUNT_FOUND;
}

static void serveriq_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq), *r;
	const char *to = xml_get(iq, "to");
	int get = !strcmp(xml_get(iq, "type"), "get");

	if (get && !strcmp(q->ns, NS_PING) && !strcmp(q->name, "ping")) {
		conn_iq_result(c, iq, NULL);
	} else if (get && !strcmp(q->ns, NS_DISCO_INFO) && !strcmp(q->name, "query")) {
		if (xml_get(q, "node"))
			conn_error(c, iq, "cancel", "item-not-found", NULL);
		else if (!conn_to_server(c, iq) && !account_exists(c, iq))
			conn_error(c, iq, "cancel", "service-unavailable", NULL);
		else
			conn_iq_result(c, iq, disco_info(c, to));
	} else if (get && !strcmp(q->ns, NS_DISCO_ITEMS) && !strcmp(q->name, "query")) {
		conn_iq_result(c, iq, disco_items(c, to, q));
	} else if (get && !strcmp(q->ns, NS_VERSION) && !strcmp(q->name, "query") &&
	    (!to || !strcmp(to, conn_domain(c)))) {
		r = xml_new(NS_VERSION, "query");
		xml_add_text(xml_new_child(r, NS_VERSION, "name"), "xmppd", 5);
		xml_add_text(xml_new_child(r, NS_VERSION, "version"), XMPPD_VERSION,
		    strlen(XMPPD_VERSION));
		conn_iq_result(c, iq, r);
	} else {
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
	}
}

/* Answered for another user's bare JID: disco#info (its account). */
static const char *const serveriq_user_ns[] = { NS_DISCO_INFO, NULL };

const struct module mod_serveriq = {
	.name = "serveriq",
	.phases = PHASE_BIND | PHASE_SESSION,
	.iq_ns = serveriq_ns,
	.user_iq_ns = serveriq_user_ns,
	.iq = serveriq_iq,
};
