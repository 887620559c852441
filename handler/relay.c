/*
 * relay.c - stanzas to local users through Redis (see relay.h).
 */
#include "relay.h"
#include "datetime.h"
#include "conn.h"
#include "config.h"
#include "log.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* XEP-0082 date-time in UTC. */
static void utc_stamp(time_t t, char *out, size_t outsz)
{
	datetime_format((long long)t * 1000, 0, out, outsz);
}

void relay_delay_element(struct conn *c, const struct xml_node *st, struct xbuf *out)
{
	route_delay_element(conn_domain(c), st, out);
}

enum route_outcome relay_to_user(struct conn *c, struct xml_node *st, const struct jid *to,
    time_t accepted)
{
	const char *type = xml_get(st, "type");
	int is_iq = !strcmp(st->name, "iq");
	char bare[JID_MAX], *xml, *env;
	struct xbuf delay = { 0 };
	size_t len;
	struct route_req q = { 0 };
	enum route_outcome o;

	jid_bare(to, bare, sizeof bare);
	xml = xml_string(st, NULL);
	env = route_envelope_stanza(xml, (long)accepted, &len);
	if (!is_iq)
		relay_delay_element(c, st, &delay);
	q.bare = bare;
	q.resource = to->resource;
	q.is_iq = is_iq;
	q.msg_type = type ? type : "normal";
	q.envelope = env;
	q.envlen = len;
	q.delay = delay.p ? delay.p : "";
	q.echo_of = "";
	q.from = xml_get(st, "from");      /* the recipient may block it */
	route_stanza_batch(conn_store(c), 1, &q, conn_cfg(c)->offline_max, &o);
	free(xml);
	free(env);
	xbuf_free(&delay);
	return o;
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
	xml_set(d, "from", conn_domain(c));
	xml_set(d, "stamp", stamp);
}

void relay_again(struct conn *c, const char *bare, const char *xml, size_t len, long accepted)
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
	o = relay_to_user(c, st, &to, (time_t)accepted);
	if (o == RO_ERROR)
		log_msg(LOG_ERR, "route: %s", conn_store(c)->err);
	from = xml_get(st, "from");
	if (o != RO_DELIVERED && o != RO_OFFLINE && from && jid_parse(from, &sender) == 0 &&
	    (err = conn_error_new(c, st, "cancel", "service-unavailable", NULL))) {
		xml_set(err, "from", bare);
		relay_to_user(c, err, &sender, time(NULL));
		xml_free(err);
	}
	log_msg(LOG_INFO, "undelivered %s for %s routed again (%d)", st->name, bare, (int)o);
	xml_free(st);
}
