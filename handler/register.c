/*
 * register.c - in-band registration, XEP-0077 (jabber:iq:register), for
 * the account a bound session belongs to:
 *   get                      -> <registered/> and the username (3.2.1)
 *   set username + password  -> a new password (3.3): fresh SCRAM-SHA-1
 *                               and SCRAM-SHA-256 data, and the digest
 *                               secret renewed where the account keeps
 *                               one for XEP-0078, as `xmppctl passwd
 *                               --legacy-digest` would; the user's other
 *                               sessions go on, or, with the operator's
 *                               password_change_kicks, end with
 *                               <not-authorized/>
 *   set <remove/>            -> the account and all its keys removed, as
 *                               `xmppctl deluser` does (3.2): the other
 *                               sessions are kicked with <not-authorized/>,
 *                               this one gets the result, then that
 *                               stream error.
 * A password travels only where a PLAIN one may (TLS, or the operator's
 * allow_plaintext_auth); elsewhere <not-authorized/>, the XEP's answer
 * for a channel not safe enough.
 *
 * Creating accounts in-band is not offered: no register stream feature,
 * and a register IQ before authentication is answered
 * <service-unavailable/> (XEP-0077 3.1: the host does not support
 * registration), the stream going on.
 */
#include "modules.h"
#include "conn.h"
#include "account.h"
#include "session.h"
#include "route.h"
#include "config.h"
#include "jid.h"
#include "scram.h"
#include "log.h"

#include <string.h>

#define NS_REGISTER "jabber:iq:register"
/* The stream error that ends the user's other sessions when the account
 * is removed (3.2) or, where the operator wants it, its password changes:
 * what they authenticated with is no longer valid. */
#define KICK_COND "not-authorized"

static struct xml_node *query_child(const struct xml_node *q, const char *name)
{
	return xml_child(q, NS_REGISTER, name);
}

/* The user's node: conn_bare() up to its '@', into out. */
static void own_node(struct conn *c, char *out, size_t outsz)
{
	const char *bare = conn_bare(c), *at = strchr(bare, '@');
	size_t n = at ? (size_t)(at - bare) : strlen(bare);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, bare, n);
	out[n] = '\0';
}

static void register_get(struct conn *c, struct xml_node *iq)
{
	struct xml_node *r = xml_new(NS_REGISTER, "query");
	char node[JID_MAX_PART];

	own_node(c, node, sizeof node);
	xml_new_child(r, NS_REGISTER, "registered");
	xml_add_text(xml_new_child(r, NS_REGISTER, "username"), node, strlen(node));
	conn_iq_result(c, iq, r);
}

struct kick_walk {
	struct conn *c;
	int failed;
};

/* Every session of the user but this one ends with KICK_COND. One
 * nobody listens for is left to the reaper (its handler is gone) or
 * goes with the account's keys. */
static int kick_other(const struct session_info *si, void *arg)
{
	struct kick_walk *k = arg;
	if (!strcmp(si->resource, conn_resource(k->c)) && !strcmp(si->id, conn_stream_id(k->c)))
		return 0;
	if (route_kick(conn_store(k->c), conn_bare(k->c), si->resource, si->id, KICK_COND) < 0)
		k->failed = 1;
	return 0;
}

/* Kick the user's other sessions: 0, or -1 if Redis failed (store->err). */
static int kick_others(struct conn *c)
{
	struct kick_walk k = { c, 0 };
	if (session_each(conn_store(c), conn_bare(c), kick_other, &k) < 0 || k.failed)
		return -1;
	return 0;
}

/* 3.3: username and password, the username the user's own. */
static void register_password(struct conn *c, struct xml_node *iq, const struct xml_node *q)
{
	struct xml_node *u = query_child(q, "username"), *p = query_child(q, "password");
	char node[JID_MAX_PART], own[JID_MAX_PART];
	char sha1[ACCOUNT_MAX_FIELD], sha256[ACCOUNT_MAX_FIELD];
	const char *pw;
	struct account a;
	int r, legacy;

	if (!u || !p) {
		conn_error(c, iq, "modify", "bad-request", "username and password are required");
		return;
	}
	if (!conn_cfg(c)->allow_plaintext_auth && !conn_secure(c)) {
		conn_error(c, iq, "auth", "not-authorized", "a password needs TLS");
		return;
	}
	own_node(c, own, sizeof own);
	if (jid_nodeprep(xml_text(u), node, sizeof node) == -1 || strcmp(node, own)) {
		conn_error(c, iq, "auth", "not-authorized", "not your username");
		return;
	}
	pw = xml_text(p);
	if (scram_password_acceptable(pw, ACCOUNT_PASSWORD_MAX) == -1) {
		conn_error(c, iq, "modify", "not-acceptable",
		    "empty, too long, or refused by SASLprep");
		return;
	}
	r = account_get(conn_store(c), conn_bare(c), &a);
	legacy = a.digest_secret[0] != '\0';
	explicit_bzero(&a, sizeof a);
	if (r == ACCOUNT_NONE) {
		conn_error(c, iq, "cancel", "unexpected-request", "no such account");
		return;
	}
	if (r < 0 || scram_cred_lines(pw, sha1, sha256, sizeof sha1) == -1) {
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	/* Not atomic with the read: an account removed meanwhile comes back
	 * with credentials only; its sessions were kicked all the same. */
	r = account_put(conn_store(c), conn_bare(c), sha1, sha256, legacy ? pw : NULL, 0);
	explicit_bzero(sha1, sizeof sha1);
	explicit_bzero(sha256, sizeof sha256);
	if (r < 0) {
		log_msg(LOG_ERR, "password change of %s: %s", conn_bare(c), conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	log_msg(LOG_NOTICE, "%s changed its password (XEP-0077)", conn_full(c));
	/* The password is changed whatever comes of the kicks. */
	if (conn_cfg(c)->password_change_kicks && kick_others(c) == -1)
		log_msg(LOG_ERR, "password change of %s: other sessions not ended: %s",
		    conn_bare(c), conn_store(c)->err);
	conn_iq_result(c, iq, NULL);
}

/* Redis failed: the account may be half removed. */
static void remove_failed(struct conn *c, struct xml_node *iq)
{
	log_msg(LOG_ERR, "removal of %s: %s", conn_bare(c), conn_store(c)->err);
	conn_error(c, iq, "wait", "internal-server-error", NULL);
}

/* 3.2: <remove/>, alone in the query. */
static void register_remove(struct conn *c, struct xml_node *iq, const struct xml_node *q)
{
	const struct xml_node *ch;
	int r;

	for (ch = q->children; ch; ch = ch->next)
		if (ch->name && strcmp(ch->name, "remove")) {
			conn_error(c, iq, "modify", "bad-request", "<remove/> must be alone");
			return;
		}
	if (kick_others(c) == -1) {
		remove_failed(c, iq);
		return;
	}
	/* Stream management would record the answer in keys that are
	 * about to go, and fail: this stream ends either way. */
	conn_sm_forget(c);
	if ((r = account_delete(conn_store(c), conn_bare(c))) < 0) {
		remove_failed(c, iq);
		conn_stream_error(c, "internal-server-error", "storage unavailable");
		return;
	}
	log_msg(LOG_NOTICE, "%s removed its account (XEP-0077)%s", conn_full(c),
	    r == ACCOUNT_NONE ? ", which was gone already" : "");
	conn_iq_result(c, iq, NULL);
	conn_stream_error(c, KICK_COND, "account removed");
}

static void register_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	const char *type = xml_get(iq, "type");

	if (conn_phase(c) != PHASE_SESSION) {
		conn_error(c, iq, "cancel", "service-unavailable", "in-band registration is off");
		return;
	}
	if (strcmp(q->name, "query")) {
		conn_error(c, iq, "modify", "bad-request", NULL);
	} else if (!strcmp(type, "get")) {
		register_get(c, iq);
	} else if (query_child(q, "remove")) {
		register_remove(c, iq, q);
	} else {
		register_password(c, iq, q);
	}
}

static const char *const register_ns[] = { NS_REGISTER, NULL };

const struct module mod_register = {
	.name = "register",
	.phases = PHASE_AUTH | PHASE_SESSION,
	.iq_ns = register_ns,
	.disco = register_ns,
	.iq = register_iq,
};
