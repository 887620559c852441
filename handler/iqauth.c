/*
 * iqauth.c - legacy login, XEP-0078, as the clients xmppd grew from speak
 * it: get lists the fields, set logs in with a digest (hex SHA-1 of stream
 * id + password, possible only for accounts created with a digest secret)
 * or a password (where plaintext authentication is allowed), and binds the
 * resource at once.
 */
#include "modules.h"
#include "conn.h"
#include "account.h"
#include "config.h"
#include "jid.h"
#include "sasl.h"
#include "log.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void iqauth_features(struct conn *c, struct xml_node *features)
{
	if (conn_phase(c) == PHASE_AUTH && !conn_tls_required(c))
		xml_new_child(features, NS_IQ_AUTH_FEAT, "auth");
}

static const char *child_text(struct xml_node *q, const char *name)
{
	struct xml_node *n = xml_child(q, NS_IQ_AUTH, name);
	return n ? xml_text(n) : NULL;
}

/* A password travels in the clear unless TLS protects the stream. */
static int password_allowed(const struct conn *c)
{
	return conn_cfg(c)->allow_plaintext_auth || conn_secure(c);
}

static void iqauth_get(struct conn *c, struct xml_node *iq, struct xml_node *q)
{
	struct xml_node *r = xml_new(NS_IQ_AUTH, "query");
	const char *user = child_text(q, "username");
	struct xml_node *u = xml_new_child(r, NS_IQ_AUTH, "username");
	if (user)
		xml_add_text(u, user, strlen(user));
	if (password_allowed(c))
		xml_new_child(r, NS_IQ_AUTH, "password");
	xml_new_child(r, NS_IQ_AUTH, "digest");
	xml_new_child(r, NS_IQ_AUTH, "resource");
	conn_iq_result(c, iq, r);
}

/* 1 if the digest matches the account's digest secret. */
static int digest_ok(struct conn *c, const char *bare, const char *digest)
{
	struct account a;
	char want[41];
	struct xbuf in = { 0 };
	int r = account_get(conn_store(c), bare, &a);
	if (r != ACCOUNT_FOUND || !a.digest_secret[0])
		return r < 0 ? -1 : 0;
	xbuf_adds(&in, conn_stream_id(c));
	xbuf_adds(&in, a.digest_secret);
	sha1_hex(in.p, in.len, want);
	xbuf_free(&in);
	return strlen(digest) == 40 && !strcasecmp(digest, want);
}

/* A failed login, under SASL's policy (sasl.h): blocked says the
 * address was refused before any secret was checked. */
static void iqauth_fail(struct conn *c, struct xml_node *iq, const char *node, int blocked)
{
	if (blocked)
		sasl_record_blocked(c, node);
	else
		sasl_record_failure(c, node, "iq:auth");
	conn_error(c, iq, "auth", "not-authorized", NULL);
	sasl_stream_failure(c);
}

static void iqauth_set(struct conn *c, struct xml_node *iq, struct xml_node *q)
{
	const char *user = child_text(q, "username"), *res = child_text(q, "resource");
	const char *digest = child_text(q, "digest"), *pw = child_text(q, "password");
	char node[JID_MAX_PART], resource[JID_MAX_PART], bare[JID_MAX];
	int ok;

	if (!user || !*user || !res || !*res || ((!digest || !*digest) && (!pw || !*pw))) {
		conn_error(c, iq, "modify", "not-acceptable", "username, resource and a secret are required");
		return;
	}
	if (jid_nodeprep(user, node, sizeof node) == -1 ||
	    jid_resourceprep(res, resource, sizeof resource) == -1) {
		conn_error(c, iq, "modify", "jid-malformed", NULL);
		return;
	}
	snprintf(bare, sizeof bare, "%s@%s", node, conn_domain(c));
	if (sasl_blocked(c, node)) {
		iqauth_fail(c, iq, node, 1);
		return;
	}
	if (digest && *digest) {
		ok = digest_ok(c, bare, digest);
	} else if (!password_allowed(c)) {
		conn_error(c, iq, "cancel", "not-allowed", "plaintext passwords need TLS");
		return;
	} else {
		ok = sasl_check_password(c, node, pw);
	}
	if (ok == -1) {
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	if (!ok) {
		iqauth_fail(c, iq, node, 0);
		return;
	}
	sasl_record_success(c, node);
	conn_authenticated(c, node, digest && *digest ? "iq:auth digest" : "iq:auth password");
	if (conn_bind(c, resource) == -1) {
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		conn_unauthenticate(c);
		return;
	}
	conn_iq_result(c, iq, NULL);
}

static void iqauth_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	const char *type = xml_get(iq, "type");
	if (!strcmp(type, "get"))
		iqauth_get(c, iq, q);
	else if (!strcmp(type, "set"))
		iqauth_set(c, iq, q);
}

static const char *const iqauth_ns[] = { NS_IQ_AUTH, NULL };

const struct module mod_iqauth = {
	.name = "iqauth",
	.phases = PHASE_AUTH,
	.iq_ns = iqauth_ns,
	.disco = iqauth_ns,
	.features = iqauth_features,
	.iq = iqauth_iq,
};
