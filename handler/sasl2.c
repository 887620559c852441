/*
 * sasl2.c - SASL2 (XEP-0388): authentication, resource binding and
 * resumption in one round trip, without a stream restart (sasl2.h has
 * the flow). Offered beside RFC 6120's SASL, with the same mechanisms
 * and failed-login policy (sasl.c), and the FAST token mechanisms.
 * Not offered where each request is its own process (BOSH): SCRAM's
 * second step would need what sasl_pending keeps, in SASL2's elements.
 */
#include "sasl2.h"
#include "sasl.h"
#include "modules.h"
#include "conn.h"
#include "fast.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sasl2 {
	struct xml_node *req;        /* the client's <authenticate/>, until the outcome */
	char agent[FAST_ID_MAX];     /* its <user-agent id/>, "" none */
};

static struct sasl2 *sasl2_of(struct conn *c)
{
	return conn_slot(c, &mod_sasl2, sizeof(struct sasl2));
}

const struct xml_node *sasl2_request(struct conn *c)
{
	return sasl2_of(c)->req;
}

const char *sasl2_agent_id(struct conn *c)
{
	return sasl2_of(c)->agent;
}

static void drop_request(struct sasl2 *s)
{
	xml_free(s->req);
	s->req = NULL;
}

static void sasl2_features(struct conn *c, struct xml_node *f)
{
	struct xml_node *a, *inl;

	if (conn_phase(c) != PHASE_AUTH || conn_tls_required(c) || conn_auth_one_step(c))
		return;
	a = xml_new_child(f, NS_SASL2, "authentication");
	sasl_list_mechanisms(c, a, NS_SASL2, 0);
	inl = xml_new_child(a, NS_SASL2, "inline");
	bind2_offer(c, inl);
	sm_sasl2_offer(c, inl);
	fast_offer(c, inl);
}

/* The text of child name of el, "" if none. */
static const char *child_text(struct xml_node *el, const char *name)
{
	struct xml_node *ch = el ? xml_child(el, NS_SASL2, name) : NULL;
	return ch ? xml_text(ch) : "";
}

/* A user-agent id is kept as a hash field and shown by xmppctl: printable
 * ASCII without spaces, FAST_ID_MAX - 1 bytes at most. */
static int agent_id_ok(const char *id)
{
	size_t i, n = strlen(id);
	if (n == 0 || n >= FAST_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~')
			return 0;
	return 1;
}

static void fail_early(struct conn *c, const char *cond, const char *text)
{
	struct xml_node *f = xml_new(NS_SASL2, "failure");
	xml_new_child(f, NS_SASL, cond);
	if (text)
		xml_add_text(xml_new_child(f, NS_SASL2, "text"), text, strlen(text));
	conn_send(c, f);
	xml_free(f);
	sasl_stream_failure(c);
}

static void authenticate(struct conn *c, struct xml_node *el)
{
	struct sasl2 *s = sasl2_of(c);
	struct xml_node *ua = xml_child(el, NS_SASL2, "user-agent");
	struct xml_node *ir = xml_child(el, NS_SASL2, "initial-response");
	struct xml_node *bind = xml_child(el, NS_BIND2, "bind");
	char data[SASL_MAX_DATA];
	int len = -1;

	drop_request(s);
	s->agent[0] = '\0';
	if (ua) {
		const char *id = xml_get(ua, "id");
		if (id && !agent_id_ok(id)) {
			fail_early(c, "malformed-request", "user-agent id: printable, no spaces, "
			    "at most 127 bytes");
			return;
		}
		if (id)
			snprintf(s->agent, sizeof s->agent, "%s", id);
	}
	if (bind && bind2_check(bind) == -1) {
		fail_early(c, "malformed-request", "bind: the tag is no resource");
		return;
	}
	if (ir)
		len = sasl_decode(ir, data, sizeof data);
	s->req = xml_copy(el);
	sasl_begin(c, 1, xml_get(el, "mechanism"), data, len);
}

static void sasl2_element(struct conn *c, struct xml_node *el)
{
	char data[SASL_MAX_DATA];

	if (!strcmp(el->name, "authenticate")) {
		/* XEP-0388 5: nothing but <response/> or <abort/> mid-exchange. */
		if (sasl_in_progress(c))
			conn_stream_error(c, "policy-violation", "an authentication is in progress");
		else
			authenticate(c, el);
	} else if (!strcmp(el->name, "response")) {
		sasl_next(c, 1, data, sasl_decode(el, data, sizeof data));
	} else if (!strcmp(el->name, "abort")) {
		sasl_abort(c, 1);
	} else {
		conn_stream_error(c, "unsupported-stanza-type", el->name);
	}
}

void sasl2_failed(struct conn *c)
{
	drop_request(sasl2_of(c));
}

/* The user agent's login, for `xmppctl clients` (best effort: a login
 * does not fail for want of this record). */
static void agent_seen(struct conn *c, struct xml_node *req, const char *id)
{
	struct xml_node *ua = xml_child(req, NS_SASL2, "user-agent");
	if (fast_client_seen(conn_store(c), conn_bare(c), id, child_text(ua, "software"),
	    child_text(ua, "device"), (long long)time(NULL)) < 0)
		log_msg(LOG_ERR, "user agent: %s", conn_store(c)->err);
}

void sasl2_succeeded(struct conn *c, const char *data, size_t len)
{
	struct sasl2 *s = sasl2_of(c);
	struct xml_node *req = s->req, *success, *el, *aid;
	struct xbuf replay = { 0 };
	char b64[SASL_MAX_DATA * 2];
	int resumed = 0;

	conn_enter_bind(c);
	success = xml_new(NS_SASL2, "success");
	if (data && b64_encode((const unsigned char *)data, len, b64, sizeof b64) >= 0)
		xml_add_text(xml_new_child(success, NS_SASL2, "additional-data"), b64, strlen(b64));
	aid = xml_new_child(success, NS_SASL2, "authorization-identifier");
	if (req && s->agent[0])
		agent_seen(c, req, s->agent);
	if (req && (el = xml_child(req, NS_SM, "resume")))
		resumed = sm_sasl2_resume(c, el, success, &replay);
	if (req && !resumed && (el = xml_child(req, NS_BIND2, "bind")))
		(void)bind2_request(c, el, success);
	if (req)
		fast_issue(c, req, success);
	/* A full JID once a resource is bound (XEP-0388 6.4.1). */
	xml_add_text(aid, conn_full(c)[0] ? conn_full(c) : conn_bare(c),
	    strlen(conn_full(c)[0] ? conn_full(c) : conn_bare(c)));
	conn_send(c, success);
	xml_free(success);
	conn_send_features(c);        /* no restart: the new phase's features */
	if (resumed)
		sm_sasl2_replay(c, &replay);
	drop_request(s);
}

static void sasl2_free(void *slot)
{
	drop_request(slot);
}

const struct module mod_sasl2 = {
	.name = "sasl2",
	.phases = PHASE_AUTH,
	.toplevel_ns = NS_SASL2,
	.features = sasl2_features,
	.element = sasl2_element,
	.free_slot = sasl2_free,
};
