/*
 * stanzain.c - a stanza from outside this server to one of its domains
 * (stanzain.h).
 */
#include "stanzain.h"
#include "local.h"
#include "log.h"
#include "mucin.h"
#include "presence.h"
#include "route.h"
#include "s2s.h"
#include "serverinfo.h"
#include "stream.h"
#include "useriq.h"
#include "xerr.h"

#include <stdlib.h>
#include <string.h>

#define NS_STANZAS         "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_PUBSUB_ERRORS   "http://jabber.org/protocol/pubsub#errors"
#define NS_PING            "urn:xmpp:ping"
#define NS_DISCO_INFO      "http://jabber.org/protocol/disco#info"

/* Queue st for the sender (s2s_send); failures are logged. */
static void send_out(struct store *s, const struct config *cfg, const struct xml_node *st)
{
	int r = s2s_send(s, cfg, st);

	if (r < 0 || r == S2S_FULL || r == S2S_ABSENT)
		log_msg(r < 0 ? LOG_ERR : LOG_WARNING, "queue to %s: %s", xml_get(st, "to"),
		    r == XE_INVALID ? "not a stanza for federation" : s->err);
}

/* s2s_error_for, with a pubsub#errors condition app (or NULL). */
static struct xml_node *error_app(const struct xml_node *st, const char *etype,
    const char *cond, const char *app)
{
	const char *type = xml_get(st, "type");
	struct xml_node *e, *er;

	if ((type && !strcmp(type, "error")) || (!strcmp(st->name, "iq") && type &&
	    !strcmp(type, "result")))
		return NULL;
	e = xml_copy(st);
	xml_set(e, "from", xml_get(st, "to"));
	xml_set(e, "to", xml_get(st, "from"));
	xml_set(e, "type", "error");
	er = xml_new_child(e, NS_SERVER, "error");
	xml_set(er, "type", etype);
	xml_new_child(er, NS_STANZAS, cond);
	if (app)
		xml_new_child(er, NS_PUBSUB_ERRORS, app);
	return e;
}

struct xml_node *s2s_error_for(const struct xml_node *st, const char *etype, const char *cond)
{
	return error_app(st, etype, cond, NULL);
}

static void bounce_app(struct store *s, const struct config *cfg, const struct xml_node *st,
    const char *etype, const char *cond, const char *app)
{
	struct xml_node *e = error_app(st, etype, cond, app);

	if (e)
		send_out(s, cfg, e);
	xml_free(e);
}

void s2s_bounce(struct store *s, const struct config *cfg, const struct xml_node *st,
    const char *etype, const char *cond)
{
	bounce_app(s, cfg, st, etype, cond, NULL);
}

/* Answer an IQ for the domain itself (XEP-0199, XEP-0030). */
static void answer_domain_iq(struct store *s, const struct config *cfg,
    const struct xml_node *st)
{
	const char *type = xml_get(st, "type"), *id = xml_get(st, "id");
	struct xml_node *q = xml_first_element(st), *r, *d;

	if (!type || (strcmp(type, "get") && strcmp(type, "set")))
		return;                     /* results and errors need no answer */
	if (strcmp(type, "get") || !q || !q->ns ||
	    !((!strcmp(q->ns, NS_PING) && !strcmp(q->name, "ping")) ||
	    (!strcmp(q->ns, NS_DISCO_INFO) && !strcmp(q->name, "query") && !xml_get(q, "node")))) {
		s2s_bounce(s, cfg, st, "cancel", "service-unavailable");
		return;
	}
	r = xml_new(NS_SERVER, "iq");
	xml_set(r, "type", "result");
	xml_set(r, "from", xml_get(st, "to"));
	xml_set(r, "to", xml_get(st, "from"));
	xml_set(r, "id", id ? id : "");
	if (!strcmp(q->ns, NS_DISCO_INFO)) {
		d = xml_new_child(r, NS_DISCO_INFO, "query");
		d = xml_new_child(d, NS_DISCO_INFO, "identity");
		xml_set(d, "category", "server");
		xml_set(d, "type", "im");
		xml_set(xml_new_child(d->parent, NS_DISCO_INFO, "feature"), "var", NS_DISCO_INFO);
		xml_set(xml_new_child(d->parent, NS_DISCO_INFO, "feature"), "var", NS_PING);
		serverinfo_add(d->parent, cfg);
	}
	send_out(s, cfg, r);
	xml_free(r);
}

int s2s_stanza_in(struct store *s, const struct config *cfg, const struct xml_node *st,
    const struct jid *to)
{
	enum route_outcome o;

	if (cfg->muc_domain[0] && !strcmp(to->domain, cfg->muc_domain)) {
		const struct muc_refusal *no = s2s_muc_in(s, cfg, st);
		if (no && !strcmp(no->cond, "internal-server-error"))
			return -1;
		if (no)
			bounce_app(s, cfg, st, no->type, no->cond, NULL);
		return 0;
	}
	if (!strcmp(st->name, "presence")) {
		/* RFC 6121 across domains (presence.h); nothing of the
		 * server's own presence to share. */
		if (to->node[0])
			s2s_presence_in(s, cfg, st);
		else
			log_msg(LOG_DEBUG, "presence to %s from %s ignored", to->domain,
			    xml_get(st, "from"));
		return 0;
	}
	if (!to->node[0]) {
		if (!strcmp(st->name, "iq"))
			answer_domain_iq(s, cfg, st);
		else
			s2s_bounce(s, cfg, st, "cancel", "service-unavailable");
		return 0;
	}
	if (!strcmp(st->name, "iq") && !to->resource[0]) {
		/* To the user's bare JID: the server answers for the user. */
		struct s2s_iq_error err;
		struct xml_node *r = s2s_user_iq(s, st, &err);
		if (r || err.cond) {
			if (r)
				send_out(s, cfg, r);
			else
				bounce_app(s, cfg, st, err.type, err.cond, err.app);
			xml_free(r);
			return 0;
		}
	}
	o = s2s_deliver_local(s, cfg, st);
	if (o == RO_NOUSER || o == RO_UNAVAILABLE || o == RO_FULL || o == RO_BLOCKED) {
		s2s_bounce(s, cfg, st, "cancel", "service-unavailable");
	} else if (o == RO_ERROR) {
		log_msg(LOG_ERR, "deliver: %s", s->err);
		return -1;
	}
	return 0;
}
