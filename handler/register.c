/*
 * register.c - in-band registration, XEP-0077 (jabber:iq:register).
 *
 * For the account a bound session belongs to:
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
 *
 * Before authentication, new accounts (3.1, 3.1.1), as the operator's
 * registration key says: closed (the default) offers no stream feature
 * and answers <service-unavailable/> (the host does not support
 * registration); open and invite offer the register feature and answer
 *   get                      -> instructions, <username/>, <password/>,
 *                               and in invite mode a data form with a
 *                               token field (XEP-0004)
 *   set username + password  -> the account, created as `xmppctl adduser`
 *                               creates it (account_create), one per
 *                               stream; the client then authenticates
 *                               on the same stream
 *   XEP-0445 <preauth/>      -> the invitation token checked (not used
 *                               up) for the registration that follows
 * Each address may create registration_limit accounts per
 * registration_window, counted in Redis for every host; auth_exempt
 * networks are not counted.
 *
 * A password travels only where a PLAIN one may (TLS, or the operator's
 * allow_plaintext_auth); elsewhere <not-authorized/>, the XEP's answer
 * for a channel not safe enough. Errors to a request holding a password
 * do not echo it.
 */
#include "modules.h"
#include "conn.h"
#include "account.h"
#include "session.h"
#include "route.h"
#include "config.h"
#include "jid.h"
#include "scram.h"
#include "invite.h"
#include "log.h"
#include "xdata.h"

#include <string.h>

#define NS_REGISTER "jabber:iq:register"
#define NS_REGISTER_FEAT "http://jabber.org/features/iq-register"
#define NS_IBR_TOKEN "urn:xmpp:ibr-token:0"     /* XEP-0445 stream feature */
#define NS_PARS "urn:xmpp:pars:0"               /* XEP-0445 <preauth/> */
#define REG_INSTRUCTIONS "Choose a username and a password."
#define REG_INSTRUCTIONS_INVITE \
	"Choose a username and a password, and give your invitation token " \
	"(the preauth part of the xmpp: link you were sent)."
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

/* ---- new accounts, before authentication ---- */

/* What one stream did toward a new account. */
struct reg_state {
	char token[INVITE_TOKEN_MAX];   /* accepted by a preauth (XEP-0445) */
	int created;                    /* an account was made on this stream */
};

static struct reg_state *reg_of(struct conn *c)
{
	return conn_slot(c, &mod_register, sizeof(struct reg_state));
}

static int reg_closed(const struct conn *c)
{
	return conn_cfg(c)->registration == CONFIG_REG_CLOSED;
}

/* A password may be sent here: where SASL offers PLAIN. */
static int password_may_travel(const struct conn *c)
{
	return conn_secure(c) || conn_cfg(c)->allow_plaintext_auth;
}

static void register_features(struct conn *c, struct xml_node *features)
{
	if (conn_phase(c) != PHASE_AUTH || reg_closed(c) || conn_tls_required(c) ||
	    !password_may_travel(c))
		return;
	xml_new_child(features, NS_REGISTER_FEAT, "register");
	if (conn_cfg(c)->registration == CONFIG_REG_INVITE)
		xml_new_child(features, NS_IBR_TOKEN, "register");
}

/* An error to iq without its payload: a registration holds a password,
 * which is not sent back (XEP-0077 3.3 says so for password changes). */
static void reg_error(struct conn *c, const struct xml_node *iq, const char *etype,
    const char *cond, const char *text)
{
	static const char *const attrs[] = { "to", "from", "id", "type", NULL };
	struct xml_node *bare = xml_new(NS_CLIENT, "iq");
	const char *v;
	int i;

	for (i = 0; attrs[i]; i++)
		if ((v = xml_get(iq, attrs[i])))
			xml_set(bare, attrs[i], v);
	conn_error(c, bare, etype, cond, text);
	xml_free(bare);
}

static int invite_mode(const struct conn *c)
{
	return conn_cfg(c)->registration == CONFIG_REG_INVITE;
}

static void form_field(struct xml_node *x, const char *type, const char *var,
    const char *label)
{
	xml_new_child(xdata_field(x, var, type, label, NULL, NULL), NS_XDATA, "required");
}

/* 3.1: what to send. In invite mode, unless a preauth was accepted on
 * this stream, also a form (XEP-0077 4) with the token field. */
static void new_form(struct conn *c, struct xml_node *iq)
{
	struct xml_node *r = xml_new(NS_REGISTER, "query"), *x;
	int token = invite_mode(c) && !reg_of(c)->token[0];
	const char *ins = token ? REG_INSTRUCTIONS_INVITE : REG_INSTRUCTIONS;

	xml_add_text(xml_new_child(r, NS_REGISTER, "instructions"), ins, strlen(ins));
	xml_new_child(r, NS_REGISTER, "username");
	xml_new_child(r, NS_REGISTER, "password");
	if (token) {
		x = xml_add(r, xdata_form("form", NULL));
		xml_add_text(xml_new_child(x, NS_XDATA, "instructions"), ins, strlen(ins));
		xdata_field(x, "FORM_TYPE", "hidden", NULL, NS_REGISTER, NULL);
		form_field(x, "text-single", "username", "Username");
		form_field(x, "text-private", "password", "Password");
		form_field(x, "text-single", "token", "Invitation token");
	}
	conn_iq_result(c, iq, r);
}

/* XEP-0445: is the token good? It is kept for this stream's
 * registration, and used up only by it. */
static void new_preauth(struct conn *c, struct xml_node *iq, const struct xml_node *p)
{
	const char *token = xml_get(p, "token");
	char node[JID_MAX_PART];
	int r;

	if (strcmp(p->name, "preauth") || !token || !*token) {
		conn_error(c, iq, "modify", "bad-request", "<preauth token='...'/> expected");
		return;
	}
	r = invite_check(conn_store(c), token, conn_domain(c), conn_cfg(c)->auth_timeout,
	    node, sizeof node);
	if (r < 0) {
		log_msg(LOG_ERR, "invitation check: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	if (r != INVITE_VALID) {
		log_msg(LOG_NOTICE, "registration: unknown or expired invitation from %s",
		    conn_peer_ip(c));
		conn_error(c, iq, "cancel", "item-not-found",
		    "the invitation token is invalid or expired");
		return;
	}
	snprintf(reg_of(c)->token, sizeof reg_of(c)->token, "%s", token);
	conn_iq_result(c, iq, NULL);
}

/* Within the address's limit (an exempt address always is): 1, 0 if
 * not (answered), -1 if Redis failed (answered). */
static int within_limit(struct conn *c, struct xml_node *iq)
{
	long n;
	if (config_auth_exempt(conn_cfg(c), conn_peer_ip(c)))
		return 1;
	if (account_created_from(conn_store(c), conn_peer_ip(c), &n) < 0) {
		log_msg(LOG_ERR, "registration count: %s", conn_store(c)->err);
		reg_error(c, iq, "wait", "internal-server-error", NULL);
		return -1;
	}
	if (n < conn_cfg(c)->registration_limit)
		return 1;
	log_msg(LOG_NOTICE, "registration refused: %s created %ld accounts in the window",
	    conn_peer_ip(c), n);
	reg_error(c, iq, "wait", "policy-violation",
	    "too many accounts registered from your address; try again later");
	return 0;
}

/* 3.1: a new account from the username and password (legacy fields, or
 * the submitted form with its token). */
static void new_account(struct conn *c, struct xml_node *iq, const struct xml_node *q)
{
	struct reg_state *rs = reg_of(c);
	struct xml_node *x = xml_child(q, NS_XDATA, "x"), *u, *p;
	const char *user = NULL, *pw = NULL, *token = NULL, *type;
	char node[JID_MAX_PART], bare[JID_MAX];
	struct account_claim claim;
	int r;

	if (x) {
		type = xml_get(x, "type");
		if (!type || strcmp(type, "submit")) {
			reg_error(c, iq, "modify", "bad-request", "submit the form");
			return;
		}
		user = xdata_value(x, "username");
		pw = xdata_value(x, "password");
		token = xdata_value(x, "token");
	} else {
		if ((u = query_child(q, "username")))
			user = xml_text(u);
		if ((p = query_child(q, "password")))
			pw = xml_text(p);
	}
	if (rs->created) {
		reg_error(c, iq, "cancel", "not-acceptable", "one account per stream");
		return;
	}
	/* 3.1: missing or empty information is <not-acceptable/>. */
	if (!user || !*user || !pw || !*pw) {
		reg_error(c, iq, "modify", "not-acceptable", "username and password are required");
		return;
	}
	if (jid_nodeprep(user, node, sizeof node) == -1 || !node[0]) {
		reg_error(c, iq, "modify", "not-acceptable", "this username is not allowed");
		return;
	}
	if (scram_password_acceptable(pw, ACCOUNT_PASSWORD_MAX) == -1) {
		reg_error(c, iq, "modify", "not-acceptable",
		    "password empty, too long, or refused by SASLprep");
		return;
	}
	if (!token || !*token)
		token = rs->token[0] ? rs->token : NULL;
	if (invite_mode(c) && !token) {
		reg_error(c, iq, "auth", "forbidden", "registration is by invitation only");
		return;
	}
	if (token && !invite_token_ok(token)) {
		reg_error(c, iq, "auth", "forbidden", "the invitation is invalid, used or expired");
		return;
	}
	if (within_limit(c, iq) != 1)
		return;
	snprintf(bare, sizeof bare, "%s@%s", node, conn_domain(c));
	claim.addr = config_auth_exempt(conn_cfg(c), conn_peer_ip(c)) ? NULL : conn_peer_ip(c);
	claim.limit = conn_cfg(c)->registration_limit;
	claim.window = conn_cfg(c)->registration_window;
	claim.token = token;
	r = account_create(conn_store(c), bare, pw, 0, &claim);
	switch (r) {
	case ACCOUNT_WRITTEN:
		rs->created = 1;
		rs->token[0] = '\0';
		log_msg(LOG_NOTICE, "account %s registered in-band from %s%s", bare,
		    conn_peer_ip(c), token ? " with an invitation" : "");
		conn_iq_result(c, iq, NULL);
		break;
	case ACCOUNT_EXISTS:
		reg_error(c, iq, "cancel", "conflict", "this username is taken");
		break;
	case ACCOUNT_LIMITED:
		reg_error(c, iq, "wait", "policy-violation",
		    "too many accounts registered from your address; try again later");
		break;
	case ACCOUNT_NO_INVITE:
		rs->token[0] = '\0';
		reg_error(c, iq, "auth", "forbidden", "the invitation is invalid, used or expired");
		break;
	case ACCOUNT_OTHER_USER:
		reg_error(c, iq, "auth", "forbidden", "the invitation is for another username");
		break;
	default:
		log_msg(LOG_ERR, "registration of %s: %s", bare, conn_store(c)->err);
		reg_error(c, iq, "wait", "internal-server-error", NULL);
		break;
	}
}

/* Any register or preauth IQ before authentication. */
static void register_new(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	const char *type = xml_get(iq, "type");

	if (reg_closed(c)) {
		conn_error(c, iq, "cancel", "service-unavailable", "in-band registration is off");
		return;
	}
	if (!password_may_travel(c)) {
		reg_error(c, iq, "auth", "not-authorized", "a password needs TLS");
		return;
	}
	if (!strcmp(q->ns, NS_PARS)) {
		new_preauth(c, iq, q);
	} else if (strcmp(q->name, "query")) {
		conn_error(c, iq, "modify", "bad-request", NULL);
	} else if (!strcmp(type, "get")) {
		new_form(c, iq);
	} else if (query_child(q, "remove")) {
		/* 3.2: nothing to remove before authentication. */
		conn_error(c, iq, "auth", "registration-required", "authenticate first");
	} else {
		new_account(c, iq, q);
	}
}

static void register_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq);
	const char *type = xml_get(iq, "type");

	if (conn_phase(c) != PHASE_SESSION) {
		register_new(c, iq);
		return;
	}
	if (strcmp(q->ns, NS_REGISTER)) {
		/* A preauth token means nothing once authenticated. */
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
	} else if (strcmp(q->name, "query")) {
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
static const char *const register_iq_ns[] = { NS_REGISTER, NS_PARS, NULL };

const struct module mod_register = {
	.name = "register",
	.phases = PHASE_AUTH | PHASE_SESSION,
	.iq_ns = register_iq_ns,
	.disco = register_ns,
	.features = register_features,
	.iq = register_iq,
};
