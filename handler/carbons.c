/*
 * carbons.c - message carbons (XEP-0280, urn:xmpp:carbons:2): a session
 * that enables them gets a copy of each message its user receives on
 * another resource (<received/>) or sends from another resource
 * (<sent/>), so that all of the user's clients see both sides of every
 * conversation.
 *
 * Contract:
 *  - The flag is per session and lives in Redis (router/carbons.h), so
 *    that handlers on other hosts see it; it is set by <enable/>, and
 *    goes with <disable/>, the session's end, or its reaping. This file
 *    keeps only whether its own session turned it on.
 *  - The copies are made inside Redis while a message is routed
 *    (route_stanza.lua, from the message's own envelope, only when a
 *    session is to get one): the delivery module asks carbons_eligible,
 *    and adds the request for sent copies to its one pipelined round trip
 *    only while another session of the user may have carbons on (the
 *    answer counts them; a session that enables them says so on the
 *    user's bare channel, a "carbons" envelope). A copy
 *    travels like any stanza, through the receiving session's inbox, but
 *    is never kept for a second delivery nor routed again: the original
 *    reached its recipient.
 *  - Every copy comes from the user's bare JID, the only sender a client
 *    may accept a carbon from (XEP-0280 11); a copy is never copied.
 *  - Eligible (XEP-0280 6): type chat, or normal with a <body/>; never
 *    error, groupchat or headline; never with <private/> or an XEP-0334
 *    <no-copy/> hint, never a carbon itself, never a MUC private message
 *    (<x xmlns='http://jabber.org/protocol/muc#user'/>). Messages between
 *    the user's own resources are not copied: they reach those resources
 *    themselves.
 *  - <private/> stays in the message delivered: XEP-0280 (since 0.9) no
 *    longer asks the sending server to strip it, and the recipient's
 *    server reads it to make no received copies.
 */
#include "modules.h"
#include "conn.h"
#include "carbons.h"
#include "log.h"
#include "route.h"

#include <stdlib.h>
#include <string.h>


/* What this handler knows of its user's other sessions. */
enum others { OTHERS_UNKNOWN, OTHERS_NONE, OTHERS_SOME };

struct carbons_state {
	int enabled;            /* this session turned carbons on */
	enum others others;     /* other sessions with carbons on */
};

static struct carbons_state *carbons_of(struct conn *c)
{
	return conn_slot(c, &mod_carbons, sizeof(struct carbons_state));
}

int carbons_eligible(struct conn *c, const struct xml_node *st, const char *to_bare)
{
	return strcmp(to_bare, conn_bare(c)) && carbons_copyable(st);
}

int carbons_sent_wanted(struct conn *c)
{
	return carbons_of(c)->others != OTHERS_NONE;
}

void carbons_sent_found(struct conn *c, long enabled)
{
	carbons_of(c)->others = enabled > 0 ? OTHERS_SOME : OTHERS_NONE;
}

/* Another session of the user enabled carbons: it wants sent copies. */
static enum mod_ret carbons_outbound(struct conn *c, const struct route_msg *m)
{
	if (m->kind != ROUTE_CARBONS)
		return MOD_PASS;
	carbons_of(c)->others = OTHERS_SOME;
	return MOD_HANDLED;
}

/* <enable/> and <disable/> (XEP-0280 4, 5): an IQ set to the user's own
 * account; enabling twice, or disabling what is off, is no error. */
static void carbons_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	struct carbons_state *cs = carbons_of(c);
	int on = !strcmp(q->name, "enable"), rc;

	if (strcmp(xml_get(iq, "type"), "set") || (!on && strcmp(q->name, "disable"))) {
		conn_error(c, iq, "modify", "bad-request", NULL);
		return;
	}
	if (on)
		rc = carbons_enable(conn_store(c), conn_bare(c), conn_resource(c),
		    conn_stream_id(c));
	else
		rc = carbons_disable(conn_store(c), conn_bare(c), conn_resource(c),
		    conn_stream_id(c));
	if (rc < 0) {
		log_msg(LOG_ERR, "carbons: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	cs->enabled = on;
	log_msg(LOG_INFO, "carbons %s", on ? "enabled" : "disabled");
	conn_iq_result(c, iq, NULL);
}

/* Bind2 (XEP-0386): <enable/> inline, as the IQ would; nothing in
 * <bound/> (XEP-0280 has no reply element of its own). */
static void carbons_bind2(struct conn *c, const struct xml_node *el, struct xml_node *bound)
{
	(void)bound;
	if (strcmp(el->name, "enable"))
		return;
	if (carbons_enable(conn_store(c), conn_bare(c), conn_resource(c), conn_stream_id(c)) < 0) {
		log_msg(LOG_ERR, "carbons: %s", conn_store(c)->err);
		return;
	}
	carbons_of(c)->enabled = 1;
	log_msg(LOG_INFO, "carbons enabled (Bind2)");
}

/* The session record was registered again (Redis lost it): so is the
 * flag, which carries the same stream id. */
static void carbons_restored(struct conn *c)
{
	if (carbons_of(c)->enabled &&
	    carbons_enable(conn_store(c), conn_bare(c), conn_resource(c), conn_stream_id(c)) < 0)
		log_msg(LOG_ERR, "carbons restore: %s", conn_store(c)->err);
}

static void carbons_ended(struct conn *c)
{
	if (carbons_of(c)->enabled &&
	    carbons_disable(conn_store(c), conn_bare(c), conn_resource(c), conn_stream_id(c)) < 0)
		log_msg(LOG_ERR, "carbons: %s", conn_store(c)->err);
}

/* A dead handler's session cannot clean up after itself. */
static void carbons_reaped(struct conn *c, const char *bare, const char *resource,
    const char *presence)
{
	(void)presence;
	if (carbons_disable(conn_store(c), bare, resource, NULL) < 0)
		log_msg(LOG_ERR, "carbons: %s", conn_store(c)->err);
}

static const char *const carbons_ns[] = { NS_CARBONS, NULL };

const struct module mod_carbons = {
	.name = "carbons",
	.phases = PHASE_SESSION,
	.iq_ns = carbons_ns,
	.disco = carbons_ns,
	.iq = carbons_iq,
	.bind2_var = NS_CARBONS,
	.bind2 = carbons_bind2,
	.outbound = carbons_outbound,
	.restored = carbons_restored,
	.ended = carbons_ended,
	.reaped = carbons_reaped,
};
