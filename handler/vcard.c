/*
 * vcard.c - XEP-0054 vcard-temp: a user reads and replaces the own vCard
 * (an IQ with no 'to', or to the own bare JID) and reads another user's
 * (an IQ get to that user's bare JID, answered by the server on the
 * user's behalf: user_iq_ns). The vCard is stored whole, as the client
 * sent it, in Redis (router/vcard.h): a set replaces it, and its PHOTO
 * becomes the user's XEP-0084 avatar (avatar.c).
 *
 * Answers (xmpp-handler(8)):
 *   get, own, none stored      an empty <vCard xmlns='vcard-temp'/>
 *                              (XEP-0054 3.1 allows it)
 *   get, another user or the server, none stored
 *                              <service-unavailable/> (XEP-0054 3.3),
 *                              the same for a user that does not exist:
 *                              the answer tells no account apart
 *   set, not to oneself        <forbidden/>, type auth (XEP-0054 3.2)
 *   set, over vcard_max_size   <not-acceptable/> with a text, nothing stored
 *                              (xmpp.conf(5))
 *   payload not <vCard/>       <bad-request/>
 *   Redis failed               <internal-server-error/>, type wait
 */
#include "modules.h"
#include "conn.h"
#include "config.h"
#include "jid.h"
#include "log.h"
#include "vcard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An IQ result carrying stored XML (a whole <vCard/> element). */
static void send_stored(struct conn *c, const struct xml_node *iq, const char *xml, size_t len)
{
	struct xml_node *r = conn_reply(c, iq, "result");
	xml_add_raw(r, xml, len);
	conn_send(c, r);
	xml_free(r);
}

static void vcard_read(struct conn *c, const struct xml_node *iq, const char *bare, int own)
{
	char *xml;
	size_t len;
	int rc = vcard_get(conn_store(c), bare, &xml, &len);

	if (rc < 0) {
		log_msg(LOG_ERR, "vcard get: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
	} else if (rc == VCARD_FOUND) {
		send_stored(c, iq, xml, len);
	} else if (own) {
		conn_iq_result(c, iq, xml_new(NS_VCARD, "vCard"));
	} else {
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
	}
	free(xml);
}

static void vcard_write(struct conn *c, const struct xml_node *iq, const struct xml_node *v)
{
	size_t len, max = conn_cfg(c)->vcard_max_size;
	char text[64];
	char *xml = xml_string(v, &len);

	if (len > max) {
		snprintf(text, sizeof text, "vCard larger than %zu bytes", max);
		conn_error(c, iq, "modify", "not-acceptable", text);
	} else if (vcard_put(conn_store(c), conn_bare(c), xml, len) < 0) {
		log_msg(LOG_ERR, "vcard set: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
	} else {
		conn_iq_result(c, iq, NULL);
		avatar_vcard_set(c, v);        /* XEP-0398: the PHOTO as a PEP avatar */
	}
	free(xml);
}

static void vcard_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *v = xml_first_element(iq);
	int get = !strcmp(xml_get(iq, "type"), "get");
	char bare[JID_MAX];
	struct jid j;

	if (strcmp(v->name, "vCard")) {
		conn_error(c, iq, "modify", "bad-request", "the payload is <vCard/>");
		return;
	}
	if (conn_to_account(c, iq)) {
		if (get)
			vcard_read(c, iq, conn_bare(c), 1);
		else
			vcard_write(c, iq, v);
		return;
	}
	if (!get) {
		conn_error(c, iq, "auth", "forbidden", "only the owner sets a vCard");
		return;
	}
	if (conn_to_server(c, iq)) {     /* the server itself has no vCard */
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
		return;
	}
	/* Another user's bare JID (stream.c checked it parses). */
	if (jid_parse(xml_get(iq, "to"), &j) == -1) {
		conn_error(c, iq, "modify", "jid-malformed", NULL);
		return;
	}
	jid_bare(&j, bare, sizeof bare);
	vcard_read(c, iq, bare, 0);
}

static const char *const vcard_ns[] = { NS_VCARD, NULL };

const struct module mod_vcard = {
	.name = "vcard",
	.phases = PHASE_SESSION,
	.iq_ns = vcard_ns,
	.user_iq_ns = vcard_ns,
	.disco = vcard_ns,
	.iq = vcard_iq,
};
