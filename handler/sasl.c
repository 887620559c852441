/*
 * sasl.c - SASL (RFC 6120 6). Credentials are SCRAM data only; PLAIN is
 * verified by deriving the keys from the offered password. A failure
 * leaves the stream open (clients try the next mechanism) but is delayed,
 * and SASL_MAX_FAILURES failures end the stream.
 */
#include "sasl.h"
#include "sasl2.h"
#include "modules.h"
#include "config.h"
#include "jid.h"
#include "tls.h"
#include "conn.h"
#include "account.h"
#include "authfail.h"
#include "log.h"
#include "random.h"
#include "xmalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Strongest first: clients that take the first they know get the best.
 * The FAST token mechanisms are offered apart (fast.c, SASL2's inline
 * <fast/>). */
static const struct {
	const char *name;
	enum sasl_mech mech;
	int fast;
} mechs[] = {
	{ "SCRAM-SHA-256-PLUS", SASL_SCRAM_SHA256_PLUS, 0 },
	{ "SCRAM-SHA-1-PLUS", SASL_SCRAM_SHA1_PLUS, 0 },
	{ "SCRAM-SHA-256", SASL_SCRAM_SHA256, 0 },
	{ "SCRAM-SHA-1", SASL_SCRAM_SHA1, 0 },
	{ "PLAIN", SASL_PLAIN, 0 },
	{ "HT-SHA-256-EXPR", SASL_HT_SHA256_EXPR, 1 },
	{ "HT-SHA-256-ENDP", SASL_HT_SHA256_ENDP, 1 },
	{ "HT-SHA-256-NONE", SASL_HT_SHA256_NONE, 1 },
};

static struct sasl *sasl_of(struct conn *c)
{
	return conn_slot(c, &mod_sasl, sizeof(struct sasl));
}

static int is_plus(enum sasl_mech m)
{
	return m == SASL_SCRAM_SHA1_PLUS || m == SASL_SCRAM_SHA256_PLUS;
}

static int is_fast(enum sasl_mech m)
{
	return m == SASL_HT_SHA256_EXPR || m == SASL_HT_SHA256_ENDP || m == SASL_HT_SHA256_NONE;
}

/* Which mechanisms this stream offers: PLAIN only inside TLS unless the
 * operator allows cleartext; -PLUS only inside TLS (they bind to it);
 * FAST tokens only to SASL2 (v2), inside TLS, where fast.c offers them. */
static int mech_offered(struct conn *c, enum sasl_mech m, int v2)
{
	if (conn_tls_required(c))
		return 0;         /* nothing before a required STARTTLS */
	if (m == SASL_PLAIN)
		return conn_secure(c) || conn_cfg(c)->allow_plaintext_auth;
	if (is_plus(m))
		return conn_secure(c);
	if (is_fast(m))
		return v2 && fast_mech_offered(c, m);
	return 1;
}

void sasl_list_mechanisms(struct conn *c, struct xml_node *parent, const char *ns, int fast)
{
	size_t i;
	for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
		if (mechs[i].fast != fast || !mech_offered(c, mechs[i].mech, 1))
			continue;
		xml_add_text(xml_new_child(parent, ns, "mechanism"), mechs[i].name,
		    strlen(mechs[i].name));
	}
}

static void sasl_features(struct conn *c, struct xml_node *features)
{
	/* Mechanisms only where they may be used (RFC 6120 5.3.1). */
	if (conn_phase(c) != PHASE_AUTH || conn_tls_required(c))
		return;
	sasl_list_mechanisms(c, xml_new_child(features, NS_SASL, "mechanisms"), NS_SASL, 0);
	if (conn_secure(c)) {
		/* XEP-0440: the channel-binding types a -PLUS client may use. */
		struct xml_node *cb = xml_new_child(features, NS_SASL_CB, "sasl-channel-binding");
		unsigned char d[TLS_CB_MAX];
		if (tls_cb_exporter(conn_tls(c), d, sizeof d) > 0)
			xml_set(xml_new_child(cb, NS_SASL_CB, "channel-binding"), "type", "tls-exporter");
		if (tls_cb_server_end_point(conn_tls(c), d, sizeof d) > 0)
			xml_set(xml_new_child(cb, NS_SASL_CB, "channel-binding"), "type",
			    "tls-server-end-point");
	}
}

static void send_sasl(struct conn *c, const char *name, const char *b64)
{
	struct xml_node *n = xml_new(sasl_of(c)->v2 ? NS_SASL2 : NS_SASL, name);
	if (b64)
		xml_add_text(n, b64, strlen(b64));
	conn_send(c, n);
	xml_free(n);
}

static void send_data(struct conn *c, const char *name, const char *data, size_t len)
{
	char b64[SASL_MAX_DATA * 2];
	if (len == 0) {
		send_sasl(c, name, sasl_of(c)->v2 ? "" : "=");  /* SASL2: no "=" case */
		return;
	}
	if (b64_encode((const unsigned char *)data, len, b64, sizeof b64) < 0) {
		conn_stream_error(c, "internal-server-error", NULL);
		return;
	}
	send_sasl(c, name, b64);
}

static void bare_of(const struct conn *c, const char *node, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s@%s", node, conn_domain(c));
}

static int exempt(const struct conn *c)
{
	return config_auth_exempt(conn_cfg(c), conn_peer_ip(c));
}

int sasl_blocked(struct conn *c, const char *node)
{
	struct authfail_counts n;
	char bare[JID_MAX];

	sasl_of(c)->account_counted = 1;     /* unknown: cleared on success */
	if (exempt(c))
		return 0;
	bare_of(c, node, bare, sizeof bare);
	if (authfail_counts_get(conn_store(c), bare, conn_peer_ip(c), &n) < 0)
		return 0;
	sasl_of(c)->account_counted = n.account > 0;
	return n.addr >= conn_cfg(c)->auth_block_after;
}

/* The pause before a wrong answer: base, doubled with each failure
 * counted beyond the first (n, the larger count), at most
 * SASL_MAX_DELAY_MS. The handler serves this one client, so sleeping
 * slows only it. */
static long fail_delay_ms(long base, long n)
{
	long ms = base;
	while (n-- > 1 && ms < SASL_MAX_DELAY_MS)
		ms *= 2;
	return ms > SASL_MAX_DELAY_MS ? SASL_MAX_DELAY_MS : ms;
}

/* Count a failure (for the account too when account is 1), log it, and
 * pause. An exempt address is only logged. */
static void record(struct conn *c, const char *node, const char *what, int account)
{
	struct authfail_counts n;
	char bare[JID_MAX];
	long ms;

	if (exempt(c)) {
		log_msg(LOG_NOTICE, "login failed for '%s': %s (exempt address: not counted)",
		    node, what);
		return;
	}
	bare_of(c, node, bare, sizeof bare);
	if (authfail_record(conn_store(c), account ? bare : NULL, conn_peer_ip(c),
	    conn_cfg(c)->auth_fail_window, &n) < 0) {
		log_msg(LOG_ERR, "counting a failed login: %s", conn_store(c)->err);
		n.account = n.addr = 1;           /* the base pause still applies */
	}
	log_msg(LOG_NOTICE, "login failed for '%s': %s (in window: %ld for the account, "
	    "%ld from the address)", node, what, n.account, n.addr);
	ms = fail_delay_ms(conn_cfg(c)->auth_fail_delay_ms, n.account > n.addr ? n.account : n.addr);
	if (ms > 0)
		usleep((useconds_t)ms * 1000);
}

void sasl_record_failure(struct conn *c, const char *node, const char *what)
{
	record(c, node, what, 1);
}

void sasl_record_blocked(struct conn *c, const char *node)
{
	record(c, node, "address blocked", 0);
}

void sasl_record_success(struct conn *c, const char *node)
{
	char bare[JID_MAX];
	if (!sasl_of(c)->account_counted)
		return;
	bare_of(c, node, bare, sizeof bare);
	authfail_clear(conn_store(c), bare);
}

/* How a failure counts: not at all (the client gave up or asked for
 * what is not offered), toward this stream's limit only (a malformed or
 * refused exchange: no secret was tried), as a wrong secret, counted
 * in Redis for the account and the address and delayed, or as the
 * refusal of a blocked address, counted for the address and delayed. */
enum sasl_blame { SF_NONE, SF_PROTOCOL, SF_SECRET, SF_BLOCKED };

static void sasl_fail(struct conn *c, const char *cond, enum sasl_blame blame)
{
	int v2 = sasl_of(c)->v2;
	struct xml_node *f = xml_new(v2 ? NS_SASL2 : NS_SASL, "failure");
	xml_new_child(f, NS_SASL, cond);      /* SASL2 too: RFC 6120's conditions */
	sasl_of(c)->mech = SASL_NONE;
	if (blame == SF_SECRET)
		sasl_record_failure(c, sasl_of(c)->node, cond);
	else if (blame == SF_BLOCKED)
		sasl_record_blocked(c, sasl_of(c)->node);
	conn_send(c, f);
	xml_free(f);
	if (v2)
		sasl2_failed(c);
	if (blame != SF_NONE)
		sasl_stream_failure(c);
}

void sasl_stream_failure(struct conn *c)
{
	/* One budget of failures per stream, whichever way the client tries. */
	if (++sasl_of(c)->failures >= SASL_MAX_FAILURES)
		conn_stream_error(c, "policy-violation", "too many failed authentication attempts");
}

int sasl_failures(struct conn *c)
{
	return sasl_of(c)->failures;
}

void sasl_set_failures(struct conn *c, int n)
{
	sasl_of(c)->failures = n;
}

static void sasl_success(struct conn *c, const char *data, size_t len, const char *how)
{
	sasl_record_success(c, sasl_of(c)->node);
	if (sasl_of(c)->v2) {
		/* SASL2: what the client asked for inline, then <success/>
		 * and the features, without a restart (sasl2.c). */
		sasl_of(c)->mech = SASL_NONE;
		conn_authenticated(c, sasl_of(c)->node, how);
		sasl2_succeeded(c, data, len);
		return;
	}
	if (data)
		send_data(c, "success", data, len);
	else
		send_sasl(c, "success", NULL);
	sasl_of(c)->mech = SASL_NONE;
	conn_authenticated(c, sasl_of(c)->node, how);
	conn_restart(c);         /* RFC 6120 6.4.6: a new stream follows */
}

int sasl_decode(struct xml_node *el, char *out, size_t outsz)
{
	const char *t = xml_text(el);
	size_t n = strlen(t);
	int len;
	if (n == 0 || (n == 1 && t[0] == '='))
		return 0;
	len = b64_decode(t, n, (unsigned char *)out, outsz - 1);
	if (len < 0)
		return -2;
	out[len] = '\0';
	return len;
}

/* A password is checked against the SCRAM-SHA-1 credential: both are
 * derived from the same password with the same iteration count, so either
 * proves it, and SHA-1's PBKDF2 costs about half of SHA-256's, which is
 * nearly all the CPU of a PLAIN login. An account without a SHA-1
 * credential is checked against its SHA-256 one. */
#define PASSWORD_HASH SCRAM_SHA1

/* The account's credential of hash h (with either, a password check of
 * PASSWORD_HASH: or, failing that, its SHA-256 one). 1 found, 0 no account
 * or no such credential, -1 Redis. */
static int lookup_cred(struct conn *c, const char *node, enum scram_hash h, int either,
    struct scram_cred *cred)
{
	struct account a;
	char bare[JID_MAX];
	int r;
	snprintf(bare, sizeof bare, "%s@%s", node, conn_domain(c));
	r = account_get(conn_store(c), bare, &a);
	if (r < 0) {
		log_msg(LOG_ERR, "account lookup: %s", conn_store(c)->err);
		return -1;
	}
	if (r == ACCOUNT_NONE)
		return 0;
	if (scram_cred_parse(h, h == SCRAM_SHA1 ? a.scram_sha1 : a.scram_sha256, cred) == 0)
		return 1;
	/* A password check takes either credential (below). */
	return either && scram_cred_parse(SCRAM_SHA256, a.scram_sha256, cred) == 0;
}

/* Made-up credentials for a user without an account, derived from the
 * server's secret in Redis and the bare JID: the same salt and iteration
 * count on every connection and host, as a real account shows. -1 if
 * Redis cannot give the secret: no answer rather than one that tells
 * unknown users apart. */
static int fake_cred(struct conn *c, const char *node, enum scram_hash h,
    struct scram_cred *cred)
{
	unsigned char secret[ACCOUNT_SECRET_LEN];
	char bare[JID_MAX];
	int r;

	if (account_server_secret(conn_store(c), secret) < 0) {
		log_msg(LOG_ERR, "server secret: %s", conn_store(c)->err);
		return -1;
	}
	bare_of(c, node, bare, sizeof bare);
	r = scram_cred_fake(h, bare, secret, sizeof secret, cred);
	explicit_bzero(secret, sizeof secret);
	return r;
}

int sasl_check_password(struct conn *c, const char *node, const char *password)
{
	struct scram_cred cred;
	int r = lookup_cred(c, node, PASSWORD_HASH, 1, &cred);
	if (r == -1)
		return -1;
	if (r == 0) {
		/* No such user: derive the keys all the same, so the time taken
		 * does not tell (the stream id stands in for the secret: nothing
		 * of this credential is shown). The answer is no regardless. */
		if (scram_cred_fake(PASSWORD_HASH, node, (const unsigned char *)conn_stream_id(c),
		    strlen(conn_stream_id(c)), &cred) == 0)
			(void)scram_cred_check_password(&cred, password);
		return 0;
	}
	return scram_cred_check_password(&cred, password) == 1;
}

static void plain_exchange(struct conn *c, const char *data, size_t len)
{
	const char *authzid = data, *authcid, *pw;
	char want[JID_MAX];
	int r;

	authcid = memchr(data, '\0', len);
	if (!authcid) {
		sasl_fail(c, "malformed-request", SF_PROTOCOL);
		return;
	}
	authcid++;
	pw = memchr(authcid, '\0', len - (size_t)(authcid - data));
	if (!pw || memchr(pw + 1, '\0', len - (size_t)(pw + 1 - data))) {
		sasl_fail(c, "malformed-request", SF_PROTOCOL);
		return;
	}
	pw++;
	if (jid_nodeprep(authcid, sasl_of(c)->node, sizeof sasl_of(c)->node) == -1) {
		snprintf(sasl_of(c)->node, sizeof sasl_of(c)->node, "(invalid)");
		sasl_fail(c, "not-authorized", SF_PROTOCOL);
		return;
	}
	snprintf(want, sizeof want, "%s@%s", sasl_of(c)->node, conn_domain(c));
	if (*authzid && strcmp(authzid, want)) {
		sasl_fail(c, "invalid-authzid", SF_PROTOCOL);
		return;
	}
	if (sasl_blocked(c, sasl_of(c)->node)) {
		sasl_fail(c, "not-authorized", SF_BLOCKED);
		return;
	}
	r = sasl_check_password(c, sasl_of(c)->node, pw);
	if (r == -1) {
		sasl_fail(c, "temporary-auth-failure", SF_NONE);
		return;
	}
	if (r == 0) {
		sasl_fail(c, "not-authorized", SF_SECRET);
		return;
	}
	sasl_success(c, NULL, 0, "PLAIN");
}

static const char *scram_cond(enum scram_err e)
{
	switch (e) {
	case SCRAM_MALFORMED: return "malformed-request";
	case SCRAM_UNSUPPORTED_CB: return "malformed-request";
	case SCRAM_INTERNAL: return "temporary-auth-failure";
	default: return "not-authorized";
	}
}

/* Give SCRAM what it needs to check channel binding (RFC 5802 6) and to
 * detect a downgrade: -PLUS was offered on this stream when TLS is up. */
static void bind_channel(struct conn *c)
{
	unsigned char d[TLS_CB_MAX];
	int n;
	scram_server_set_channel_binding(&sasl_of(c)->scram, is_plus(sasl_of(c)->mech), conn_secure(c));
	if (!conn_secure(c))
		return;
	if ((n = tls_cb_exporter(conn_tls(c), d, sizeof d)) > 0)
		scram_server_set_cb_data(&sasl_of(c)->scram, SCRAM_CB_TLS_EXPORTER, d, (size_t)n);
	if ((n = tls_cb_server_end_point(conn_tls(c), d, sizeof d)) > 0)
		scram_server_set_cb_data(&sasl_of(c)->scram, SCRAM_CB_TLS_SERVER_END_POINT, d, (size_t)n);
}

/* SCRAM's first step: the challenge is sent unless quiet (sasl_restore
 * does the step again, the client has it). */
static void scram_first(struct conn *c, const char *data, size_t len, int quiet)
{
	enum scram_hash h = sasl_of(c)->mech == SASL_SCRAM_SHA1 || sasl_of(c)->mech == SASL_SCRAM_SHA1_PLUS ?
	    SCRAM_SHA1 : SCRAM_SHA256;
	struct sasl *s = sasl_of(c);
	struct scram_cred cred;
	enum scram_err err = SCRAM_MALFORMED;
	char out[SCRAM_MAX_MSG];
	int r;

	scram_server_init(&sasl_of(c)->scram, h);
	bind_channel(c);
	if (conn_auth_one_step(c)) {
		/* Our nonce, remembered with the client's message, so that
		 * sasl_restore makes the same server-first message. */
		if (len >= sizeof s->client_first) {
			sasl_fail(c, "malformed-request", SF_PROTOCOL);
			return;
		}
		if (!quiet && random_hex(s->snonce, SASL_NONCE_BYTES) < 0) {
			sasl_fail(c, "temporary-auth-failure", SF_NONE);
			return;
		}
		memcpy(s->client_first, data, len);
		s->client_first_len = len;
		scram_server_set_nonce(&s->scram, s->snonce);
	}
	if (scram_server_client_first(&sasl_of(c)->scram, data, len, &err) == -1) {
		sasl_fail(c, scram_cond(err), SF_PROTOCOL);
		return;
	}
	if (jid_nodeprep(sasl_of(c)->scram.username, sasl_of(c)->node, sizeof sasl_of(c)->node) == -1) {
		snprintf(sasl_of(c)->node, sizeof sasl_of(c)->node, "(invalid)");
		sasl_fail(c, "not-authorized", SF_PROTOCOL);
		return;
	}
	if (sasl_blocked(c, sasl_of(c)->node)) {
		sasl_fail(c, "not-authorized", SF_BLOCKED);
		return;
	}
	r = lookup_cred(c, sasl_of(c)->node, h, 0, &cred);
	if (r == -1) {
		sasl_fail(c, "temporary-auth-failure", SF_NONE);
		return;
	}
	if (r == 0 && fake_cred(c, sasl_of(c)->node, h, &cred) == -1) {
		/* No account: go on with made-up credentials (the proof will
		 * fail); without them stop, rather than show a telling salt. */
		sasl_fail(c, "temporary-auth-failure", SF_NONE);
		return;
	}
	if (scram_server_first(&sasl_of(c)->scram, &cred, out, sizeof out) == -1) {
		sasl_fail(c, "temporary-auth-failure", SF_NONE);
		return;
	}
	if (!quiet)
		send_data(c, "challenge", out, strlen(out));
}

static void scram_final(struct conn *c, const char *data, size_t len)
{
	enum scram_err err = SCRAM_MALFORMED;
	char out[SCRAM_MAX_MSG];
	const char *how = "SCRAM";
	size_t i;

	for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (mechs[i].mech == sasl_of(c)->mech)
			how = mechs[i].name;

	if (scram_server_client_final(&sasl_of(c)->scram, data, len, out, sizeof out, &err) == -1) {
		sasl_fail(c, scram_cond(err), err == SCRAM_NOT_AUTHORIZED ? SF_SECRET : SF_PROTOCOL);
		return;
	}
	sasl_success(c, out, strlen(out), how);
}

static const char *mech_name(enum sasl_mech m);

/* A FAST token (XEP-0484): "authcid NUL HMAC", checked by fast.c. */
static void token_exchange(struct conn *c, const char *data, size_t len)
{
	struct sasl *s = sasl_of(c);
	const char *mac = memchr(data, '\0', len);
	unsigned char fin[FAST_MAC_LEN];
	const char *cond = "not-authorized";
	int r;

	if (!mac || mac == data || (size_t)(mac + 1 - data) + FAST_MAC_LEN != len) {
		sasl_fail(c, "malformed-request", SF_PROTOCOL);
		return;
	}
	mac++;
	if (jid_nodeprep(data, s->node, sizeof s->node) == -1) {
		snprintf(s->node, sizeof s->node, "(invalid)");
		sasl_fail(c, "not-authorized", SF_PROTOCOL);
		return;
	}
	if (sasl_blocked(c, s->node)) {
		sasl_fail(c, "not-authorized", SF_BLOCKED);
		return;
	}
	r = fast_verify(c, s->mech, mech_name(s->mech), s->node, (const unsigned char *)mac, fin,
	    &cond);
	if (r == FAST_ERROR)
		sasl_fail(c, "temporary-auth-failure", SF_NONE);
	else if (r == FAST_REFUSED)
		sasl_fail(c, cond, SF_SECRET);
	else
		sasl_success(c, (const char *)fin, sizeof fin, mech_name(s->mech));
}

/* One step of the exchange in progress with the client's data. */
static void step(struct conn *c, const char *data, size_t len)
{
	switch (sasl_of(c)->mech) {
	case SASL_PLAIN:
		plain_exchange(c, data, len);
		break;
	case SASL_SCRAM_SHA1:
	case SASL_SCRAM_SHA256:
	case SASL_SCRAM_SHA1_PLUS:
	case SASL_SCRAM_SHA256_PLUS:
		if (sasl_of(c)->scram.step == 0)
			scram_first(c, data, len, 0);
		else
			scram_final(c, data, len);
		break;
	case SASL_HT_SHA256_EXPR:
	case SASL_HT_SHA256_ENDP:
	case SASL_HT_SHA256_NONE:
		token_exchange(c, data, len);
		break;
	default:
		break;
	}
}

void sasl_begin(struct conn *c, int v2, const char *name, const char *data, int len)
{
	struct sasl *s = sasl_of(c);
	enum sasl_mech m;

	s->v2 = v2;
	s->mech = SASL_NONE;
	s->node[0] = '\0';
	memset(&s->scram, 0, sizeof s->scram);
	m = (enum sasl_mech)sasl_mech_named(name);
	if (!v2 && is_fast(m))
		m = SASL_NONE;            /* tokens only through SASL2 */
	if (m == SASL_NONE || (is_fast(m) && conn_secure(c) && !mech_offered(c, m, v2))) {
		sasl_fail(c, "invalid-mechanism", SF_NONE);
		return;
	}
	if (!mech_offered(c, m, v2)) {
		/* PLAIN, -PLUS or a token without TLS (RFC 6120 6.4.5) */
		sasl_fail(c, "encryption-required", SF_NONE);
		return;
	}
	s->mech = m;
	if (len == -1) {
		/* No initial response: ask for it with an empty challenge. */
		send_sasl(c, "challenge", NULL);
		return;
	}
	sasl_next(c, v2, data, len);
}

void sasl_next(struct conn *c, int v2, const char *data, int len)
{
	if (sasl_of(c)->mech == SASL_NONE) {
		sasl_of(c)->v2 = v2;          /* answered in the namespace asked in */
		sasl_fail(c, "malformed-request", SF_NONE);
		return;
	}
	if (len < 0) {
		sasl_fail(c, "incorrect-encoding", SF_PROTOCOL);
		return;
	}
	step(c, data, (size_t)len);
}

void sasl_abort(struct conn *c, int v2)
{
	sasl_of(c)->v2 = v2;
	sasl_fail(c, "aborted", SF_NONE);
}

int sasl_mech_named(const char *name)
{
	size_t i;
	for (i = 0; name && i < sizeof mechs / sizeof mechs[0]; i++)
		if (!strcmp(name, mechs[i].name))
			return mechs[i].mech;
	return SASL_NONE;
}

int sasl_in_progress(struct conn *c)
{
	return sasl_of(c)->mech != SASL_NONE;
}

static void sasl_handle(struct conn *c, struct xml_node *el)
{
	char data[SASL_MAX_DATA];
	int len;

	if (!strcmp(el->name, "abort")) {
		sasl_abort(c, 0);
		return;
	}
	if (strcmp(el->name, "auth") && strcmp(el->name, "response")) {
		conn_stream_error(c, "unsupported-stanza-type", el->name);
		return;
	}
	len = xml_text(el)[0] ? sasl_decode(el, data, sizeof data) : -1;
	if (!strcmp(el->name, "auth")) {
		sasl_begin(c, 0, xml_get(el, "mechanism"), data, len);
	} else {
		sasl_next(c, 0, data, len == -1 ? 0 : len);
	}
}

static const char *mech_name(enum sasl_mech m)
{
	size_t i;
	for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (mechs[i].mech == m)
			return mechs[i].name;
	return NULL;
}

/* "MECH" (waiting for the initial response) or "MECH NONCE FIRST64"
 * (the challenge was sent). */
int sasl_pending(struct conn *c, char *out, size_t outsz)
{
	struct sasl *s = sasl_of(c);
	const char *name = mech_name(s->mech);
	char b64[2 * SCRAM_MAX_MSG];
	int n;

	if (s->mech == SASL_NONE || !name)
		return 0;
	if (s->scram.step == 0) {
		n = snprintf(out, outsz, "%s", name);
	} else {
		if (b64_encode((const unsigned char *)s->client_first, s->client_first_len, b64,
		    sizeof b64) < 0)
			return 0;
		n = snprintf(out, outsz, "%s %s %s", name, s->snonce, b64);
	}
	return n > 0 && (size_t)n < outsz;
}

int sasl_restore(struct conn *c, const char *saved)
{
	struct sasl *s = sasl_of(c);
	char name[64], nonce[sizeof s->snonce], b64[2 * SCRAM_MAX_MSG];
	unsigned char first[SCRAM_MAX_MSG];
	size_t i;
	int n, len;

	/* The widths: name, nonce and b64 less their terminators. */
	_Static_assert(2 * SASL_NONCE_BYTES == 36 && 2 * SCRAM_MAX_MSG == 2048,
	    "sasl_restore's sscanf widths");
	n = sscanf(saved, "%63s %36s %2047s", name, nonce, b64);
	if (n != 1 && n != 3)
		return -1;
	memset(s, 0, offsetof(struct sasl, snonce));
	for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (!strcmp(name, mechs[i].name) && mech_offered(c, mechs[i].mech, 0))
			s->mech = mechs[i].mech;
	if (s->mech == SASL_NONE || (n == 3 && s->mech == SASL_PLAIN))
		return -1;
	if (n == 1)
		return 0;
	len = b64_decode(b64, strlen(b64), first, sizeof first);
	if (len < 0 || strlen(nonce) != 2 * SASL_NONCE_BYTES) {
		s->mech = SASL_NONE;
		return -1;
	}
	snprintf(s->snonce, sizeof s->snonce, "%s", nonce);
	scram_first(c, (const char *)first, (size_t)len, 1);
	return s->mech == SASL_NONE ? -1 : 0;
}

const struct module mod_sasl = {
	.name = "sasl",
	.phases = PHASE_AUTH,
	.toplevel_ns = NS_SASL,
	.features = sasl_features,
	.element = sasl_handle,
};
