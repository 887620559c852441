/*
 * federation.c - stanzas from the client to users of other domains
 * (RFC 6120 server-to-server): queued in Redis for the route from the
 * user's domain to theirs (router/s2s.h), where the outbound connection
 * of xmpp-s2s-out(8), on whatever host holds that route, sends them, or
 * bounces them to the sender when the domain cannot be reached.
 *
 * Only with s2s on and the domain allowed (config_s2s_allowed); else the
 * stanza goes on to the delivery module, which answers
 * remote-server-not-found.
 */
#include "conn.h"
#include "config.h"
#include "jid.h"
#include "log.h"
#include "modules.h"
#include "route.h"
#include "s2s.h"
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUTE_NAME_MAX (2 * JID_MAX_PART + 2)   /* "REMOTE/LOCAL" */

static enum mod_ret federation_inbound(struct conn *c, struct xml_node *st)
{
	const char *to = xml_get(st, "to"), *local = strchr(conn_bare(c), '@');
	char route[ROUTE_NAME_MAX], *xml, *env;
	struct jid j;
	size_t len;
	int r;

	if (strcmp(st->name, "message") && strcmp(st->name, "iq"))
		return MOD_PASS;
	if (!to || !local || jid_parse(to, &j) == -1 || !config_s2s_allowed(conn_cfg(c), j.domain))
		return MOD_PASS;
	xml_set(st, "from", conn_full(c));
	snprintf(route, sizeof route, "%s/%s", j.domain, local + 1);
	xml = xml_string(st, NULL);
	env = route_envelope_stanza(xml, (long)time(NULL), &len);
	r = s2s_queue(conn_store(c), route, env, len, conn_cfg(c)->s2s_queue_max);
	if (r == S2S_FULL) {
		log_msg(LOG_WARNING, "federation: the queue to %s is full", j.domain);
		conn_error(c, st, "wait", "resource-constraint", NULL);
	} else if (r < 0) {
		log_msg(LOG_ERR, "federation: %s", conn_store(c)->err);
		conn_error(c, st, "wait", "internal-server-error", NULL);
	}
	free(xml);
	free(env);
	return MOD_HANDLED;
}

const struct module mod_federation = {
	.name = "federation",
	.inbound = federation_inbound,
};
