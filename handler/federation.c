/*
 * federation.c - stanzas from the client to users of other domains
 * (RFC 6120 server-to-server): queued in Redis for the route from the
 * user's domain to theirs (router/s2s.h), where the outbound connection
 * of xmpp-s2s-out(8), on whatever host holds that route, sends them, or
 * bounces them to the sender when the domain cannot be reached.
 *
 * Only with s2s on and the domain allowed (config_s2s_allowed); else the
 * stanza goes on to the delivery module, which answers
 * remote-server-not-found. An external component's domain
 * (config_component) goes the same way, s2s on or off, to the queue its
 * connection (xmpp-component(8)) drains; when none is connected the
 * sender is answered service-unavailable at once (S2S_ABSENT).
 */
#include "conn.h"
#include "config.h"
#include "jid.h"
#include "log.h"
#include "modules.h"
#include "route.h"
#include "s2s.h"
#include "xerr.h"
#include "xml.h"
#include "xmalloc.h"
#include "strvec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int federation_remote(const struct config *cfg, const char *jid)
{
	struct jid j;
	return jid_parse(jid, &j) == 0 && (config_s2s_allowed(cfg, j.domain) ||
	    config_component(cfg, j.domain));
}

int federation_send(struct store *st, const struct config *cfg, const struct xml_node *stanza)
{
	int r = s2s_send(st, cfg, stanza);
	if (r == S2S_FULL)
		log_msg(LOG_WARNING, "federation: %s", st->err);
	else if (r == XE_REDIS)
		log_msg(LOG_ERR, "federation: %s", st->err);
	return r;
}

void federation_answer(struct conn *c, const struct xml_node *st, int r)
{
	if (r == S2S_FULL)
		conn_error(c, st, "wait", "resource-constraint", NULL);
	else if (r == S2S_ABSENT)
		conn_error(c, st, "cancel", "service-unavailable", "the component is not connected");
	else if (r < 0)
		conn_error(c, st, "wait", "internal-server-error", NULL);
}

int federation_queue_xml(struct store *st, const struct config *cfg, const char *to,
    const char *xml)
{
	struct xml_node *p = xml_parse_string(xml, strlen(xml));
	int r;

	if (!p)
		return XE_INVALID;
	if (!xml_get(p, "to"))
		xml_set(p, "to", to);
	r = federation_send(st, cfg, p);
	xml_free(p);
	return r;
}

int federation_queue_each(struct store *st, const struct config *cfg, const struct strvec *to,
    const char *xml)
{
	struct xml_node *p = xml_parse_string(xml, strlen(xml));
	struct xml_node **each;
	int *out, n = 0, queued = 0, i;
	size_t k;

	if (!p)
		return XE_INVALID;
	each = xcalloc(to->n + 1, sizeof *each);
	out = xcalloc(to->n + 1, sizeof *out);
	for (k = 0; k < to->n; k++) {
		if (!federation_remote(cfg, to->v[k]))
			continue;
		each[n] = xml_copy(p);
		if (!xml_get(p, "to"))
			xml_set(each[n], "to", to->v[k]);
		n++;
	}
	/* One round trip for all: a presence to a hundred remote contacts
	 * costs one, not a hundred. */
	s2s_send_many(st, cfg, n, (const struct xml_node *const *)each, out);
	for (i = 0; i < n; i++) {
		if (out[i] == S2S_QUEUED)
			queued++;
		else
			log_msg(out[i] == XE_REDIS ? LOG_ERR : LOG_WARNING, "federation: to %s: %s",
			    xml_get(each[i], "to"), out[i] == XE_INVALID ? "not for federation" : st->err);
		xml_free(each[i]);
	}
	free(each);
	free(out);
	xml_free(p);
	return queued;
}

static enum mod_ret federation_inbound(struct conn *c, struct xml_node *st)
{
	const char *to = xml_get(st, "to");

	/* Messages go with the delivery module's batch (their sent copies and
	 * archive entry ride with them, deliver.c). */
	if (strcmp(st->name, "iq"))
		return MOD_PASS;
	if (!to || !federation_remote(conn_cfg(c), to))
		return MOD_PASS;
	xml_set(st, "from", conn_full(c));
	federation_answer(c, st, federation_send(conn_store(c), conn_cfg(c), st));
	return MOD_HANDLED;
}

const struct module mod_federation = {
	.name = "federation",
	.inbound = federation_inbound,
};
