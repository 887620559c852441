/*
 * serveriq.c - IQs the server answers itself: ping (XEP-0199), service
 * discovery (XEP-0030) and software version (XEP-0092). The features
 * disco#info lists are those of the module table: a module that is not
 * there is not advertised.
 */
#include "modules.h"
#include "conn.h"
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

static struct xml_node *disco_info(struct conn *c, const char *to)
{
	struct xml_node *q = xml_new(NS_DISCO_INFO, "query"), *id;
	int i;
	id = xml_new_child(q, NS_DISCO_INFO, "identity");
	if (to && strcmp(to, conn_domain(c))) {
		/* the user's own account (XEP-0030 identity account/registered) */
		xml_set(id, "category", "account");
		xml_set(id, "type", "registered");
		add_features(q, (const char *const[]){ NS_DISCO_INFO, NULL });
		for (i = 0; modules[i]; i++)
			add_features(q, modules[i]->account_disco);
		return q;
	}
	xml_set(id, "category", "server");
	xml_set(id, "type", "im");
	xml_set(id, "name", "xmppd");
	add_features(q, serveriq_disco);
	for (i = 0; modules[i]; i++)
		if (modules[i] != &mod_serveriq)
			add_features(q, modules[i]->disco);
	return q;
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
		else
			conn_iq_result(c, iq, disco_info(c, to));
	} else if (get && !strcmp(q->ns, NS_DISCO_ITEMS) && !strcmp(q->name, "query")) {
		conn_iq_result(c, iq, xml_new(NS_DISCO_ITEMS, "query"));
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

const struct module mod_serveriq = {
	.name = "serveriq",
	.phases = PHASE_BIND | PHASE_SESSION,
	.iq_ns = serveriq_ns,
	.iq = serveriq_iq,
};
