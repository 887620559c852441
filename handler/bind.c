/*
 * bind.c - resource binding (RFC 6120 7) and the RFC 3921 session IQ
 * that older clients (Pidgin, sendxmpp) send whenever it is advertised.
 */
#include "modules.h"
#include "conn.h"
#include "jid.h"
#include "random.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIND_RANDOM_BYTES 8

static void bind_features(struct conn *c, struct xml_node *features)
{
	if (conn_phase(c) != PHASE_BIND)
		return;
	xml_new_child(features, NS_BIND, "bind");
	xml_new_child(features, NS_ROSTERVER, "ver");
	xml_new_child(xml_new_child(features, NS_SESSION, "session"), NS_SESSION, "optional");
}

static void random_resource(char *out, size_t outsz)
{
	char hex[2 * BIND_RANDOM_BYTES + 1];
	if (random_hex(hex, BIND_RANDOM_BYTES) < 0)
		abort();                 /* no entropy: nothing safe to do */
	snprintf(out, outsz, "xmppd-%s", hex);
}

static void bind_resource(struct conn *c, struct xml_node *iq, struct xml_node *b)
{
	struct xml_node *rn = xml_child(b, NS_BIND, "resource"), *r;
	char res[JID_MAX_PART];

	if (conn_phase(c) == PHASE_SESSION) {
		conn_error(c, iq, "cancel", "not-allowed", "one resource per stream");
		return;
	}
	if (rn && xml_text(rn)[0]) {
		if (jid_resourceprep(xml_text(rn), res, sizeof res) == -1) {
			conn_error(c, iq, "modify", "bad-request", "invalid resource");
			return;
		}
	} else {
		random_resource(res, sizeof res);
	}
	if (conn_bind(c, res) < 0) {
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	r = xml_new(NS_BIND, "bind");
	xml_add_text(xml_new_child(r, NS_BIND, "jid"), conn_full(c), strlen(conn_full(c)));
	conn_iq_result(c, iq, r);
}

static void bind_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);

	if (strcmp(xml_get(iq, "type"), "set")) {
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
		return;
	}
	if (!strcmp(q->ns, NS_BIND) && !strcmp(q->name, "bind")) {
		bind_resource(c, iq, q);
	} else if (!strcmp(q->ns, NS_SESSION) && !strcmp(q->name, "session")) {
		if (conn_phase(c) != PHASE_SESSION)
			conn_error(c, iq, "wait", "not-allowed", "bind a resource first");
		else
			conn_iq_result(c, iq, NULL);
	} else {
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
	}
}

static const char *const bind_ns[] = { NS_BIND, NS_SESSION, NULL };

const struct module mod_bind = {
	.name = "bind",
	.phases = PHASE_BIND | PHASE_SESSION,
	.iq_ns = bind_ns,
	.features = bind_features,
	.iq = bind_iq,
};
