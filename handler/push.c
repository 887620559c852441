/*
 * push.c - XEP-0357 push notifications, the client's side: a device
 * registers (<enable/>) or unregisters (<disable/>) the app server and
 * node that wake it up; the account's disco#info says urn:xmpp:push:0.
 * What is sent, when, and from where is router/push.h's: the process
 * that routes a message to a user with no session listening notifies,
 * on any host.
 */
#include "modules.h"
#include "conn.h"
#include "jid.h"
#include "log.h"
#include "push.h"
#include "xdata.h"

#include <stdlib.h>
#include <string.h>

/* The publish-options form of an <enable/> (XEP-0357 5, "" none),
 * serialised; NULL when it is too long to keep. */
static char *options_of(const struct xml_node *q)
{
	struct xml_node *x = xml_child(q, NS_XDATA, "x");
	size_t len = 0;
	char *s;

	if (!x)
		return strdup("");
	s = xml_string(x, &len);
	if (s && len > PUSH_OPTIONS_MAX) {
		free(s);
		return NULL;
	}
	return s;
}

static void push_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	const char *jid = xml_get(q, "jid"), *node = xml_get(q, "node");
	int enable = !strcmp(q->name, "enable"), rc;
	struct jid j;
	char *options;

	if (strcmp(xml_get(iq, "type"), "set") || (!enable && strcmp(q->name, "disable")) ||
	    !jid || jid_parse(jid, &j) == -1 || (enable && (!node || !node[0]))) {
		conn_error(c, iq, "modify", "bad-request", "a set of <enable jid= node=/> or "
		    "<disable jid=/>");
		return;
	}
	if (!enable) {
		rc = push_disable(conn_store(c), conn_bare(c), jid, node);
	} else if (!(options = options_of(q))) {
		conn_error(c, iq, "modify", "not-acceptable", "publish-options too long");
		return;
	} else {
		rc = push_enable(conn_store(c), conn_bare(c), jid, node, options);
		free(options);
	}
	if (rc == XE_INVALID) {
		conn_error(c, iq, "modify", "not-acceptable", "node too long");
	} else if (rc < 0) {
		log_msg(LOG_ERR, "push: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
	} else if (enable && rc == PUSH_FULL) {
		conn_error(c, iq, "wait", "resource-constraint", "too many push registrations");
	} else {
		log_msg(LOG_INFO, "push %s for %s", enable ? "enabled" : "disabled", jid);
		conn_iq_result(c, iq, NULL);
	}
}

static const char *const push_ns[] = { NS_PUSH, NULL };

const struct module mod_push = {
	.name = "push",
	.phases = PHASE_SESSION,
	.iq_ns = push_ns,
	.account_disco = push_ns,
	.iq = push_iq,
};
