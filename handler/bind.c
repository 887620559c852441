/*
 * bind.c - resource binding (RFC 6120 7) and the RFC 3921 session IQ that
 * older clients (Pidgin, sendxmpp) send whenever it is advertised.
 */
#include "modules.h"
#include "stream.h"
#include "log.h"
#include "random.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIND_RANDOM_BYTES 8

void bind_features(struct conn *c, struct xml_node *features)
{
	(void)c;
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

	if (c->state == CS_SESSION) {
		stanza_error(c, iq, "cancel", "not-allowed", "one resource per stream");
		return;
	}
	if (rn && xml_text(rn)[0]) {
		if (jid_resourceprep(xml_text(rn), res, sizeof res) == -1) {
			stanza_error(c, iq, "modify", "bad-request", "invalid resource");
			return;
		}
	} else {
		random_resource(res, sizeof res);
	}
	if (conn_bind(c, res) == -1) {
		stanza_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	r = xml_new(NS_BIND, "bind");
	xml_add_text(xml_new_child(r, NS_BIND, "jid"), c->full, strlen(c->full));
	iq_result(c, iq, r);
}

int bind_handle(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	const char *type = xml_get(iq, "type");

	if (!q || !q->ns || strcmp(type, "set"))
		return 0;
	if (!strcmp(q->ns, NS_BIND) && !strcmp(q->name, "bind")) {
		bind_resource(c, iq, q);
		return 1;
	}
	if (!strcmp(q->ns, NS_SESSION) && !strcmp(q->name, "session")) {
		if (c->state != CS_SESSION)
			stanza_error(c, iq, "wait", "not-allowed", "bind a resource first");
		else
			iq_result(c, iq, NULL);
		return 1;
	}
	return 0;
}
