/*
 * serveriq.c - IQs the server answers itself: ping (XEP-0199), service
 * discovery (XEP-0030) and software version (XEP-0092). Anything else gets
 * service-unavailable: a request left unanswered hangs a client's login.
 */
#include "modules.h"
#include "stream.h"

#include <string.h>

#ifndef XMPPD_VERSION
#define XMPPD_VERSION "0.1"
#endif

/* Every feature the server really implements, and nothing else. */
static const char *const server_features[] = {
	NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION, NS_IQ_AUTH,
	NS_ROSTER, "msgoffline", NULL
};

static struct xml_node *disco_info(struct conn *c, const char *to)
{
	struct xml_node *q = xml_new(NS_DISCO_INFO, "query"), *id;
	int i;
	id = xml_new_child(q, NS_DISCO_INFO, "identity");
	if (to && strcmp(to, c->domain)) {
		/* the user's own account (XEP-0030 identity account/registered) */
		xml_set(id, "category", "account");
		xml_set(id, "type", "registered");
		xml_add(q, xml_new(NS_DISCO_INFO, "feature"));
		xml_set(q->last, "var", NS_DISCO_INFO);
		return q;
	}
	xml_set(id, "category", "server");
	xml_set(id, "type", "im");
	xml_set(id, "name", "xmppd");
	for (i = 0; server_features[i]; i++)
		xml_set(xml_new_child(q, NS_DISCO_INFO, "feature"), "var", server_features[i]);
	return q;
}

void serveriq_handle(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq), *r;
	const char *type = xml_get(iq, "type"), *to = xml_get(iq, "to");
	int get = !strcmp(type, "get");

	if (strcmp(type, "get") && strcmp(type, "set"))
		return;               /* results and errors to the server end here */
	if (!q->ns) {
		stanza_error(c, iq, "cancel", "service-unavailable", NULL);
		return;
	}
	if (get && !strcmp(q->ns, NS_PING) && !strcmp(q->name, "ping")) {
		iq_result(c, iq, NULL);
	} else if (get && !strcmp(q->ns, NS_DISCO_INFO) && !strcmp(q->name, "query")) {
		if (xml_get(q, "node"))
			stanza_error(c, iq, "cancel", "item-not-found", NULL);
		else
			iq_result(c, iq, disco_info(c, to));
	} else if (get && !strcmp(q->ns, NS_DISCO_ITEMS) && !strcmp(q->name, "query")) {
		iq_result(c, iq, xml_new(NS_DISCO_ITEMS, "query"));
	} else if (get && !strcmp(q->ns, NS_VERSION) && !strcmp(q->name, "query") &&
	    (!to || !strcmp(to, c->domain))) {
		r = xml_new(NS_VERSION, "query");
		xml_add_text(xml_new_child(r, NS_VERSION, "name"), "xmppd", 5);
		xml_add_text(xml_new_child(r, NS_VERSION, "version"), XMPPD_VERSION,
		    strlen(XMPPD_VERSION));
		iq_result(c, iq, r);
	} else {
		stanza_error(c, iq, "cancel", "service-unavailable", NULL);
	}
}
