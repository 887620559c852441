/*
 * fast.c - FAST token authentication (XEP-0484): a client that logged
 * in once with its password asks for a token, and logs in with it from
 * then on in one round trip (the HT-SHA-256 mechanisms: the client
 * sends HMAC(token, "Initiator" || channel binding), we answer
 * HMAC(token, "Responder" || channel binding)).
 *
 * Offered through SASL2 only, inside TLS, while fast_token_lifetime is
 * not 0: -EXPR binds to the TLS exporter (a login seen on one
 * connection is worth nothing on another), -ENDP to our certificate,
 * -NONE to nothing. -UNIQ is not offered: tls-unique does not exist in
 * TLS 1.3. TLS early data (0-RTT) is never accepted (tls.c issues no
 * session tickets), so no login can arrive in it; the <fast count/> that
 * guards 0-RTT logins is checked all the same when a client sends one.
 *
 * Tokens per user and client, in Redis (router/fast.h): issued on
 * <request-token/>, rotated when a login with one finds less than half
 * its life left, ended by <fast invalidate/>, by `xmppctl fast-revoke`,
 * a password change or the account's removal.
 */
#include "sasl2.h"
#include "sasl.h"
#include "modules.h"
#include "conn.h"
#include "config.h"
#include "datetime.h"
#include "fast.h"
#include "hex.h"
#include "jid.h"
#include "log.h"
#include "random.h"
#include "tls.h"

#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FAST_TOKEN_BYTES 34   /* random bytes: 68 hex digits, longer than
                                 SHA-256's 64-byte block (router/fast.h) */
#define FAST_PUT_TRIES   4    /* a record changed meanwhile: read it again */

/* This stream's login with a token, for fast_issue. */
struct fast_login {
	int used;                     /* the login was with a token */
	int invalidated;              /* ... which the client ended */
	long long expiry;             /* ... expiring then */
	char mech[FAST_MECH_MAX];
};

static struct fast_login *login_of(struct conn *c)
{
	return conn_slot(c, &mod_fast, sizeof(struct fast_login));
}

/* The channel binding of mechanism mech on this stream into out: its
 * length, 0 for -NONE, -1 unavailable. */
static int cb_data(struct conn *c, int m, unsigned char *out, size_t outsz)
{
	int n = -1;
	if (m == SASL_HT_SHA256_NONE)
		return 0;
	if (!conn_secure(c))
		return -1;
	if (m == SASL_HT_SHA256_EXPR)
		n = tls_cb_exporter(conn_tls(c), out, outsz);
	else if (m == SASL_HT_SHA256_ENDP)
		n = tls_cb_server_end_point(conn_tls(c), out, outsz);
	return n > 0 ? n : -1;
}

int fast_mech_offered(struct conn *c, int m)
{
	unsigned char d[TLS_CB_MAX];
	return conn_cfg(c)->fast_token_lifetime > 0 && conn_secure(c) &&
	    !conn_auth_one_step(c) && cb_data(c, m, d, sizeof d) >= 0;
}

void fast_offer(struct conn *c, struct xml_node *inl)
{
	struct xml_node *f = xml_new(NS_FAST, "fast");
	sasl_list_mechanisms(c, f, NS_FAST, 1);
	if (f->children)
		xml_add(inl, f);
	else
		xml_free(f);
}

/* HMAC-SHA-256 keyed with the token whose SHA-256 is hash_hex (the same
 * key: the token is longer than the block), over label || cb. */
static int token_mac(const char *hash_hex, const char *label, const unsigned char *cb,
    size_t cblen, unsigned char out[FAST_MAC_LEN])
{
	unsigned char key[SHA256_DIGEST_SIZE];
	struct hmac_sha256_ctx h;
	size_t i;

	for (i = 0; i < sizeof key; i++) {
		int hi = hex_value(hash_hex[2 * i]), lo = hex_value(hash_hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	hmac_sha256_set_key(&h, sizeof key, key);
	hmac_sha256_update(&h, strlen(label), (const uint8_t *)label);
	hmac_sha256_update(&h, cblen, cb);
	hmac_sha256_digest(&h, FAST_MAC_LEN, out);
	explicit_bzero(key, sizeof key);
	explicit_bzero(&h, sizeof h);
	return 0;
}

/* Does mac prove slot's token (and is it still alive)? 1 yes, 0 no, 2
 * it would but the token expired. */
static int slot_proves(const struct fast_slot *s, const unsigned char *cb, size_t cblen,
    const unsigned char mac[FAST_MAC_LEN], long long now)
{
	unsigned char want[FAST_MAC_LEN];
	int same;
	if (!s->expiry || token_mac(s->hash, "Initiator", cb, cblen, want) == -1)
		return 0;
	same = memeql_sec(want, mac, FAST_MAC_LEN);
	if (!same)
		return 0;
	return s->expiry > now ? 1 : 2;
}

/* <fast count/>: -1 none, -2 not a count, else the count. */
static long long count_of(const struct xml_node *fastel)
{
	const char *v = fastel ? xml_get(fastel, "count") : NULL;
	char *end;
	long long n;
	if (!v)
		return -1;
	n = strtoll(v, &end, 10);
	if (!*v || *end || n <= 0 || strlen(v) > 18)
		return -2;
	return n;
}

static int attr_true(const struct xml_node *el, const char *name)
{
	const char *v = el ? xml_get(el, name) : NULL;
	return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

int fast_verify(struct conn *c, int m, const char *mech, const char *node,
    const unsigned char mac[FAST_MAC_LEN], unsigned char out[FAST_MAC_LEN], const char **cond)
{
	const struct xml_node *req = sasl2_request(c);
	const struct xml_node *fastel = req ? xml_child(req, NS_FAST, "fast") : NULL;
	const char *id = sasl2_agent_id(c);
	long long count = count_of(fastel), now = (long long)time(NULL);
	int invalidate = attr_true(fastel, "invalidate");
	unsigned char cb[TLS_CB_MAX];
	struct fast_record rec, next;
	char raw[FAST_RECORD_MAX], bare[JID_MAX];
	int cblen = cb_data(c, m, cb, sizeof cb), tries, r, fresh = 0, cur = 0;

	*cond = "not-authorized";
	snprintf(bare, sizeof bare, "%s@%s", node, conn_domain(c));
	if (!id[0] || cblen < 0 || count == -2) {
		log_msg(LOG_NOTICE, "token login refused: %s", !id[0] ? "no user-agent id" :
		    cblen < 0 ? "no channel binding" : "count is no positive number");
		return FAST_REFUSED;
	}
	for (tries = 0; tries < FAST_PUT_TRIES; tries++) {
		r = fast_get(conn_store(c), bare, id, &rec, raw);
		if (r == XE_REDIS)
			return FAST_ERROR;
		if (r <= 0 || strcmp(rec.mech, mech))
			return FAST_REFUSED;     /* no token, or one bound to another mechanism */
		fresh = slot_proves(&rec.fresh, cb, (size_t)cblen, mac, now);
		cur = fresh == 1 ? 0 : slot_proves(&rec.cur, cb, (size_t)cblen, mac, now);
		if (fresh != 1 && cur != 1) {
			if (fresh == 2 || cur == 2)
				*cond = "credentials-expired";
			return FAST_REFUSED;
		}
		if (count > 0 && count <= rec.count) {
			log_msg(LOG_NOTICE, "token login refused: count %lld not above %lld (replay)",
			    count, rec.count);
			return FAST_REFUSED;
		}
		next = rec;
		if (fresh == 1) {
			/* The new token is in use: the one before it ends. */
			next.cur = rec.fresh;
			memset(&next.fresh, 0, sizeof next.fresh);
			next.count = 0;
		}
		if (count > 0)
			next.count = count;
		login_of(c)->expiry = next.cur.expiry;
		if (invalidate)
			memset(&next.cur, 0, sizeof next.cur);
		r = fast_put(conn_store(c), bare, id, raw,
		    next.cur.expiry || next.fresh.expiry ? &next : NULL);
		if (r < 0)
			return FAST_ERROR;
		if (r == 1)
			break;
	}
	if (tries == FAST_PUT_TRIES) {
		snprintf(conn_store(c)->err, sizeof conn_store(c)->err, "token record kept changing");
		return FAST_ERROR;
	}
	login_of(c)->used = 1;
	login_of(c)->invalidated = invalidate;
	snprintf(login_of(c)->mech, sizeof login_of(c)->mech, "%s", mech);
	if (invalidate)
		log_msg(LOG_INFO, "FAST token ended by its client");
	return token_mac(fresh == 1 ? rec.fresh.hash : rec.cur.hash, "Responder", cb,
	    (size_t)cblen, out) == 0 ? FAST_OK : FAST_ERROR;
}

/* A new token for mechanism mech into the client's 'new' slot (an
 * unused one there ends): 0 and token filled, or -1 (logged). */
static int issue(struct conn *c, const char *mech, char token[2 * FAST_TOKEN_BYTES + 1],
    long long *expiry)
{
	const char *id = sasl2_agent_id(c);
	struct fast_record rec;
	char raw[FAST_RECORD_MAX];
	unsigned char d[SHA256_DIGEST_SIZE];
	struct sha256_ctx h;
	int tries, r;

	if (random_hex(token, FAST_TOKEN_BYTES) < 0) {
		log_msg(LOG_ERR, "FAST token: no randomness");
		return -1;
	}
	*expiry = (long long)time(NULL) + conn_cfg(c)->fast_token_lifetime;
	for (tries = 0; tries < FAST_PUT_TRIES; tries++) {
		r = fast_get(conn_store(c), conn_bare(c), id, &rec, raw);
		if (r < 0)
			break;
		if (r == 0 || strcmp(rec.mech, mech)) {
			/* Tokens are bound to one mechanism (XEP-0484 4.4). */
			memset(&rec, 0, sizeof rec);
			snprintf(rec.mech, sizeof rec.mech, "%s", mech);
		}
		sha256_init(&h);
		sha256_update(&h, strlen(token), (const uint8_t *)token);
		sha256_digest(&h, sizeof d, d);
		hex_encode(d, sizeof d, rec.fresh.hash);
		rec.fresh.expiry = *expiry;
		r = fast_put(conn_store(c), conn_bare(c), id, raw, &rec);
		if (r != 0)
			break;
	}
	if (r != 1) {
		log_msg(LOG_ERR, "FAST token not issued: %s", r < 0 ? conn_store(c)->err :
		    "its record kept changing");
		explicit_bzero(token, 2 * FAST_TOKEN_BYTES + 1);
		return -1;
	}
	log_msg(LOG_INFO, "FAST token issued (%s)", mech);
	return 0;
}

void fast_issue(struct conn *c, const struct xml_node *req, struct xml_node *success)
{
	const struct xml_node *rt = xml_child(req, NS_FAST, "request-token");
	struct fast_login *l = login_of(c);
	const char *mech = NULL;
	char token[2 * FAST_TOKEN_BYTES + 1], stamp[DATETIME_MAX];
	long long expiry, now = (long long)time(NULL);
	struct xml_node *t;

	if (rt)
		mech = xml_get(rt, "mechanism");
	else if (l->used && !l->invalidated &&
	    l->expiry - now < conn_cfg(c)->fast_token_lifetime / 2)
		mech = l->mech;          /* rotation: half its life is gone */
	if (!mech)
		return;
	if (!sasl2_agent_id(c)[0] || !fast_mech_offered(c, sasl_mech_named(mech))) {
		log_msg(LOG_NOTICE, "FAST token not issued: %s", !sasl2_agent_id(c)[0] ?
		    "no user-agent id" : "mechanism not offered");
		return;
	}
	if (issue(c, mech, token, &expiry) == -1)
		return;
	datetime_format(expiry * 1000, 0, stamp, sizeof stamp);
	t = xml_new_child(success, NS_FAST, "token");
	xml_set(t, "expiry", stamp);
	xml_set(t, "token", token);
	explicit_bzero(token, sizeof token);
}

const struct module mod_fast = {
	.name = "fast",
};
