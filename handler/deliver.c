/*
 * deliver.c - messages and IQs from the client to others (RFC 6121 8),
 * and what arrives for the client from Redis.
 *
 * The recipient-side decision (which resources, or offline storage) is one
 * script inside Redis (route_stanza.lua); this file turns its outcome into
 * the RFC's answer, so every stanza accepted ends delivered, stored, or
 * answered with an error.
 */
#include "modules.h"
#include "stream.h"
#include "route.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* XEP-0082 date-time in UTC. */
static void utc_stamp(time_t t, char *out, size_t outsz)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int is_query(const char *ns, const struct xml_node *iq)
{
	const struct xml_node *q = xml_first_element(iq);
	return q && q->ns && !strcmp(q->ns, ns);
}

/* The XEP-0203 <delay/> offline storage adds, or "" when the stanza
 * already carries one (it was stored before: the first stamp is true). */
static void delay_element(struct conn *c, const struct xml_node *st, struct xbuf *out)
{
	char stamp[32];
	if (xml_child(st, NS_DELAY, "delay"))
		return;
	utc_stamp(time(NULL), stamp, sizeof stamp);
	xbuf_adds(out, "<delay xmlns='" NS_DELAY "' from='");
	xbuf_add_esc(out, c->domain, strlen(c->domain));
	xbuf_addf(out, "' stamp='%s'>Offline Storage</delay>", stamp);
}

/* Route st (its 'from' already set), which the server accepted at
 * `accepted`, to local user `to`. */
static enum route_outcome route_to(struct conn *c, struct xml_node *st, const struct jid *to,
    time_t accepted)
{
	const char *type = xml_get(st, "type");
	int is_iq = !strcmp(st->name, "iq");
	char bare[JID_MAX], *xml, *env;
	struct xbuf delay = { 0 };
	size_t len;
	enum route_outcome o;

	jid_bare(to, bare, sizeof bare);
	xml = xml_string(st, NULL);
	env = route_envelope_stanza(xml, (long)accepted, &len);
	if (!is_iq)
		delay_element(c, st, &delay);
	o = route_stanza(c->store, bare, to->resource, is_iq,
	    type ? type : "normal", env, len, delay.p ? delay.p : "", c->cfg->offline_max);
	free(xml);
	free(env);
	xbuf_free(&delay);
	return o;
}

/* The answer the client gets for a stanza it sent, by outcome. */
static void answer_outcome(struct conn *c, const struct xml_node *st, enum route_outcome o)
{
	switch (o) {
	case RO_DELIVERED:
	case RO_OFFLINE:
	case RO_DROPPED:
		break;
	case RO_NOUSER:
	case RO_UNAVAILABLE:
	case RO_FULL:
		stanza_error(c, st, "cancel", "service-unavailable", NULL);
		break;
	case RO_ERROR:
		log_msg(LOG_ERR, "route: %s", c->store->err);
		stanza_error(c, st, "wait", "internal-server-error", NULL);
		break;
	}
}

/* Messages from the client wait here, already stamped and serialised,
 * so that all those of one read travel to Redis in one round trip. */
struct pending {
	struct xml_node *st;       /* for an error reply */
	char *bare, *resource, *env, *delay;
	size_t envlen;
};

static struct pending pending[DELIVER_BATCH];
static int npending;

void deliver_flush(struct conn *c)
{
	struct route_req req[DELIVER_BATCH] = { { 0 } };
	enum route_outcome out[DELIVER_BATCH];
	int i, n = npending;

	if (n == 0)
		return;
	npending = 0;
	for (i = 0; i < n; i++) {
		const char *type = xml_get(pending[i].st, "type");
		req[i].bare = pending[i].bare;
		req[i].resource = pending[i].resource;
		req[i].is_iq = 0;
		req[i].msg_type = type ? type : "normal";
		req[i].envelope = pending[i].env;
		req[i].envlen = pending[i].envlen;
		req[i].delay = pending[i].delay;
	}
	route_stanza_batch(c->store, n, req, c->cfg->offline_max, out);
	for (i = 0; i < n; i++) {
		answer_outcome(c, pending[i].st, out[i]);
		xml_free(pending[i].st);
		free(pending[i].bare);
		free(pending[i].resource);
		free(pending[i].env);
		free(pending[i].delay);
	}
}

/* A message from the client to a user of one of our domains: queued for
 * deliver_flush, in order. */
static void queue_message(struct conn *c, struct xml_node *st, const struct jid *to)
{
	struct pending *p;
	struct xbuf delay = { 0 };
	char bare[JID_MAX], *xml;

	if (npending == DELIVER_BATCH)
		deliver_flush(c);
	p = &pending[npending++];
	xml_set(st, "from", c->full);
	jid_bare(to, bare, sizeof bare);
	xml = xml_string(st, NULL);
	p->env = route_envelope_stanza(xml, (long)time(NULL), &p->envlen);
	free(xml);
	delay_element(c, st, &delay);
	p->delay = delay.p ? delay.p : xstrdup("");
	p->bare = xstrdup(bare);
	p->resource = xstrdup(to->resource);
	p->st = xml_copy(st);
}

/* An IQ from the client to a user of one of our domains. */
static void route_iq(struct conn *c, struct xml_node *st, const struct jid *to)
{
	xml_set(st, "from", c->full);
	answer_outcome(c, st, route_to(c, st, to, time(NULL)));
}

/* XEP-0203: a message that reaches its recipient late says since when
 * the server has held it (the first stamp, if it has one, stays). */
static void stamp_delay(struct conn *c, struct xml_node *st, time_t accepted)
{
	char stamp[32];
	struct xml_node *d;
	if (strcmp(st->name, "message") || xml_child(st, NS_DELAY, "delay"))
		return;
	utc_stamp(accepted > 0 ? accepted : time(NULL), stamp, sizeof stamp);
	d = xml_new_child(st, NS_DELAY, "delay");
	xml_set(d, "from", c->domain);
	xml_set(d, "stamp", stamp);
}

void deliver_reroute(struct conn *c, const char *bare, const char *xml, size_t len,
    long accepted)
{
	struct xml_node *st = xml_parse_string(xml, len), *err;
	const char *from;
	struct jid to, sender;
	enum route_outcome o;

	if (!st)
		return;
	if (jid_parse(bare, &to) == -1) {
		xml_free(st);
		return;
	}
	stamp_delay(c, st, (time_t)accepted);
	o = route_to(c, st, &to, (time_t)accepted);
	if (o == RO_ERROR)
		log_msg(LOG_ERR, "route: %s", c->store->err);
	from = xml_get(st, "from");
	if (o != RO_DELIVERED && o != RO_OFFLINE && from && jid_parse(from, &sender) == 0 &&
	    (err = stanza_error_new(c, st, "cancel", "service-unavailable", NULL))) {
		xml_set(err, "from", bare);
		route_to(c, err, &sender, time(NULL));
		xml_free(err);
	}
	log_msg(LOG_INFO, "undelivered %s for %s routed again (%d)", st->name, bare, (int)o);
	xml_free(st);
}

void deliver_outbound(struct conn *c, struct xml_node *st)
{
	const char *to = xml_get(st, "to");
	struct jid j;

	if (!strcmp(st->name, "presence")) {
		presence_outbound(c, st);
		return;
	}
	if (to && jid_parse(to, &j) == -1) {
		stanza_error(c, st, "modify", "jid-malformed", NULL);
		return;
	}
	if (!strcmp(st->name, "iq")) {
		/* No 'to', or the user's own bare JID: the server answers for
		 * the account (RFC 6120 10.3.3). */
		if (!to || (!j.resource[0] && !strcmp(j.node, c->jid.node) &&
		    !strcmp(j.domain, c->jid.domain))) {
			if (is_query(NS_ROSTER, st))
				rosteriq_handle(c, st);
			else
				serveriq_handle(c, st);
			return;
		}
		if (!j.node[0] && !j.resource[0] && !strcmp(j.domain, c->domain)) {
			serveriq_handle(c, st);
			return;
		}
	}
	if (!to) {
		/* A message without 'to' is for the user's own account. */
		jid_parse(c->bare, &j);
	}
	if (!config_serves(c->cfg, j.domain)) {
		stanza_error(c, st, "cancel", "remote-server-not-found", NULL);
		return;
	}
	if (!j.node[0]) {
		stanza_error(c, st, "cancel", "service-unavailable", NULL);
		return;
	}
	if (!strcmp(st->name, "iq") && !j.resource[0]) {
		/* To another user's bare JID: the server answers on the
		 * user's behalf (RFC 6121 8.5.2.1.3) and serves nothing there. */
		stanza_error(c, st, "cancel", "service-unavailable", NULL);
		return;
	}
	if (!strcmp(st->name, "message"))
		queue_message(c, st, &j);
	else
		route_iq(c, st, &j);
}
