/*
 * scram.c - SCRAM-SHA-1 / SCRAM-SHA-256 server side (RFC 5802, RFC 7677),
 * with channel binding for the -PLUS variants (RFC 5802 section 6,
 * RFC 5929, RFC 9266), and the credential arithmetic behind it. See
 * scram.h for the contract.
 *
 * Every primitive comes from GNU Nettle (digests, HMAC, PBKDF2, base64,
 * constant-time compare), getrandom(2) or libidn (SASLprep); this file only
 * does framing. Not OpenSSL: its first use (provider and method-store
 * set-up) costs each handler process about 190 KiB of private heap, and
 * a plaintext connection needs no TLS.
 */
#include "scram.h"
#include "hex.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/pbkdf2.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stringprep.h>

#define SHA1_LEN          20
#define SHA256_LEN        32
#define MAX_PASSWORD      1024                /* SASLprep'd password bytes */
#define MAX_CNONCE        (SCRAM_MAX_MSG / 2) /* leaves room in server-first */
#define FAKE_LABEL_MAX    16                  /* "stored-key", "server-key", "salt" */
#define FAKE_MECH_MAX     32                  /* "SCRAM-SHA-256" */
#define CRED_SALT_MAX     sizeof(((struct scram_cred *)0)->salt)
#define B64_LEN(n)        ((((n) + 2) / 3) * 4) /* encoded length, no NUL */
#define AUTH_MSG_MAX      (3 * SCRAM_MAX_MSG)   /* three messages + 2 commas */
#define CLIENT_KEY_LABEL  "Client Key"
#define SERVER_KEY_LABEL  "Server Key"
#define GS2_HEADER_MAX    sizeof(((struct scram_server *)0)->gs2_header)
#define CBIND_INPUT_MAX   (GS2_HEADER_MAX + SCRAM_CB_MAX) /* gs2 + cb data */

_Static_assert(SHA1_LEN == SHA1_DIGEST_SIZE, "SHA-1 digest size");
_Static_assert(SHA256_LEN == SHA256_DIGEST_SIZE, "SHA-256 digest size");
_Static_assert(SCRAM_MAX_KEY >= SHA256_DIGEST_SIZE, "SCRAM_MAX_KEY");

/* Wipe a secret; not optimised away like a memset before it goes dead. */
static void wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

/*
 * n random bytes from the kernel (getrandom(2), blocking only until the
 * pool is initialised at boot). Retries on EINTR and short reads; -1 if
 * the call fails otherwise, e.g. ENOSYS under a seccomp filter.
 */
static int random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * SASL mechanism name; NULL for an unknown hash so it can never be
 * advertised by accident.
 */
const char *scram_mech_name(enum scram_hash h)
{
	switch (h) {
	case SCRAM_SHA1:
		return "SCRAM-SHA-1";
	case SCRAM_SHA256:
		return "SCRAM-SHA-256";
	}
	return NULL;
}

/* "SCRAM-...-PLUS" name; NULL for an unknown hash, as scram_mech_name. */
const char *scram_mech_name_plus(enum scram_hash h)
{
	switch (h) {
	case SCRAM_SHA1:
		return "SCRAM-SHA-1-PLUS";
	case SCRAM_SHA256:
		return "SCRAM-SHA-256-PLUS";
	}
	return NULL;
}

/* Registered channel-binding type name; NULL for an unknown type. */
const char *scram_cb_name(enum scram_cb_type t)
{
	switch (t) {
	case SCRAM_CB_TLS_EXPORTER:
		return "tls-exporter";
	case SCRAM_CB_TLS_SERVER_END_POINT:
		return "tls-server-end-point";
	case SCRAM_CB_NTYPES:
		break;
	}
	return NULL;
}

/*
 * Digest length; 0 for an unknown hash, which every caller here treats as
 * "invalid", so a zeroed or corrupted struct fails closed.
 */
size_t scram_key_len(enum scram_hash h)
{
	switch (h) {
	case SCRAM_SHA1:
		return SHA1_LEN;
	case SCRAM_SHA256:
		return SHA256_LEN;
	}
	return 0;
}

/* H(data) into out (scram_key_len(h) bytes); -1 for an unknown hash. */
static int hash_buf(enum scram_hash h, const void *data, size_t len,
    unsigned char *out)
{
	switch (h) {
	case SCRAM_SHA1: {
		struct sha1_ctx ctx;

		sha1_init(&ctx);
		if (len > 0)
			sha1_update(&ctx, len, data);
		sha1_digest(&ctx, SHA1_DIGEST_SIZE, out);
		wipe(&ctx, sizeof ctx);
		return 0;
	}
	case SCRAM_SHA256: {
		struct sha256_ctx ctx;

		sha256_init(&ctx);
		if (len > 0)
			sha256_update(&ctx, len, data);
		sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
		wipe(&ctx, sizeof ctx);
		return 0;
	}
	}
	return -1;
}

/*
 * HMAC(key, data) into out (scram_key_len(h) bytes); -1 for an unknown
 * hash. The context holds key-derived state, so it is wiped.
 */
static int hmac_buf(enum scram_hash h, const unsigned char *key,
    size_t keylen, const void *data, size_t len, unsigned char *out)
{
	switch (h) {
	case SCRAM_SHA1: {
		struct hmac_sha1_ctx ctx;

		hmac_sha1_set_key(&ctx, keylen, key);
		hmac_sha1_update(&ctx, len, data);
		hmac_sha1_digest(&ctx, SHA1_DIGEST_SIZE, out);
		wipe(&ctx, sizeof ctx);
		return 0;
	}
	case SCRAM_SHA256: {
		struct hmac_sha256_ctx ctx;

		hmac_sha256_set_key(&ctx, keylen, key);
		hmac_sha256_update(&ctx, len, data);
		hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
		wipe(&ctx, sizeof ctx);
		return 0;
	}
	}
	return -1;
}

/*
 * Standard base64 with padding and no line breaks. Fails rather than
 * truncates: on -1 out is "" (if it has room for that).
 */
int b64_encode(const unsigned char *in, size_t len, char *out, size_t outsz)
{
	if (out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	if ((in == NULL && len > 0) || len > (size_t)INT_MAX / 4 * 3 - 3)
		return -1;
	if (B64_LEN(len) >= outsz)
		return -1;
	if (len == 0)
		return 0;
	base64_encode_raw(out, len, in);
	out[B64_LEN(len)] = '\0';
	return (int)B64_LEN(len);
}

static int b64_alphabet(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Nettle's decoder for n characters (no padding, n a multiple of 4, all
 * already checked to be in the alphabet) into exactly n / 4 * 3 bytes.
 */
static int b64_decode_groups(const char *in, size_t n, unsigned char *out)
{
	struct base64_decode_ctx ctx;
	size_t got = 0;

	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &got, out, n, in) ||
	    !base64_decode_final(&ctx) || got != n / 4 * 3)
		return -1;
	return 0;
}

/*
 * Strict base64 decode: length a multiple of 4, only the alphabet, '='
 * only as one or two final pad characters, no whitespace. Nettle's decoder
 * is more lenient (it skips whitespace, and accepts unpadded input), so
 * all of that is checked here first and Nettle only sees whole groups of
 * alphabet characters. As before (OpenSSL's EVP_DecodeBlock), the unused
 * low bits of the last character before padding are ignored, not
 * required to be zero: the final group is decoded with its '=' read as
 * 'A' (zero bits) and only its real bytes kept. Returns the byte count and
 * never writes beyond outsz.
 */
int b64_decode(const char *in, size_t len, unsigned char *out, size_t outsz)
{
	unsigned char last[3];
	char tail[4];
	size_t i, pad = 0, outlen, head;

	if (in == NULL || (out == NULL && outsz > 0))
		return -1;
	if (len % 4 != 0 || len > INT_MAX)
		return -1;
	if (len == 0)
		return 0;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (!b64_alphabet((unsigned char)in[i]))
			return -1;
	outlen = len / 4 * 3 - pad;
	if (outlen > outsz)
		return -1;
	head = len - 4;
	if (head > 0 && b64_decode_groups(in, head, out) < 0)
		return -1;
	memcpy(tail, in + head, 4);
	for (i = 4 - pad; i < 4; i++)
		tail[i] = 'A';
	if (b64_decode_groups(tail, 4, last) < 0) {
		wipe(last, sizeof last);
		wipe(tail, sizeof tail);
		return -1;
	}
	memcpy(out + head / 4 * 3, last, 3 - pad);
	wipe(last, sizeof last);
	wipe(tail, sizeof tail);
	return (int)outlen;
}

/*
 * SASLprep (RFC 4013, query profile: unassigned code points allowed, as
 * libidn's flags 0). Prohibited output, bad bidi, invalid UTF-8 or an
 * output that does not fit all fail; on failure out is "".
 */
int scram_saslprep(const char *in, char *out, size_t outsz)
{
	char *prepped = NULL;
	size_t n;

	if (out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	if (in == NULL)
		return -1;
	if (stringprep_profile(in, &prepped, "SASLprep", 0) != STRINGPREP_OK ||
	    prepped == NULL) {
		free(prepped);
		return -1;
	}
	n = strlen(prepped);
	if (n < outsz)
		memcpy(out, prepped, n + 1);
	wipe(prepped, n);
	free(prepped);
	return n < outsz ? 0 : -1;
}

/*
 * Shape check for a credential handed to us: known hash, sane salt and
 * iteration count. Keeps PBKDF2 and the server steps away from garbage.
 */
static int cred_ok(const struct scram_cred *c)
{
	return c != NULL && scram_key_len(c->hash) != 0 &&
	    c->salt_len >= 1 && c->salt_len <= CRED_SALT_MAX &&
	    c->iterations >= 1 && c->iterations <= SCRAM_MAX_ITERATIONS;
}

/*
 * From an already SASLprep'd password: SaltedPassword = Hi(...),
 * StoredKey = H(HMAC(SP, "Client Key")), ServerKey = HMAC(SP, "Server Key")
 * (server may be NULL). Intermediate secrets are wiped on every path.
 */
static int derive_keys(enum scram_hash h, const char *prepped,
    const unsigned char *salt, size_t salt_len, unsigned iterations,
    unsigned char *stored, unsigned char *server)
{
	size_t kl = scram_key_len(h), plen = strlen(prepped);
	unsigned char salted[SCRAM_MAX_KEY], ckey[SCRAM_MAX_KEY];
	int rc = -1;

	/* Nettle asserts on zero iterations: refuse them here instead */
	if (kl == 0 || iterations < 1 || iterations > SCRAM_MAX_ITERATIONS)
		return -1;
	switch (h) {
	case SCRAM_SHA1:
		pbkdf2_hmac_sha1(plen, (const uint8_t *)prepped, iterations,
		    salt_len, salt, kl, salted);
		break;
	case SCRAM_SHA256:
		pbkdf2_hmac_sha256(plen, (const uint8_t *)prepped, iterations,
		    salt_len, salt, kl, salted);
		break;
	default:
		return -1;
	}
	if (hmac_buf(h, salted, kl, CLIENT_KEY_LABEL,
	    strlen(CLIENT_KEY_LABEL), ckey) < 0)
		goto out;
	if (hash_buf(h, ckey, kl, stored) < 0)
		goto out;
	if (server != NULL && hmac_buf(h, salted, kl, SERVER_KEY_LABEL,
	    strlen(SERVER_KEY_LABEL), server) < 0)
		goto out;
	rc = 0;
out:
	wipe(salted, sizeof salted);
	wipe(ckey, sizeof ckey);
	return rc;
}

/*
 * New credential from a password. Only the derived keys leave this
 * function; the password copy is wiped. On failure *out is zeroed, so a
 * half-made credential can never be stored.
 */
int scram_cred_make(enum scram_hash h, const char *password,
    const unsigned char *salt, size_t salt_len, unsigned iterations,
    struct scram_cred *out)
{
	char prepped[MAX_PASSWORD];
	struct scram_cred c;
	int rc = -1;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	memset(&c, 0, sizeof c);
	c.hash = h;
	c.iterations = iterations;
	if (salt == NULL) {
		c.salt_len = SCRAM_SALT_LEN;
		if (random_bytes(c.salt, c.salt_len) < 0)
			goto out;
	} else {
		if (salt_len > sizeof c.salt)
			goto out;
		memcpy(c.salt, salt, salt_len);
		c.salt_len = salt_len;
	}
	if (!cred_ok(&c) || password == NULL)
		goto out;
	if (scram_saslprep(password, prepped, sizeof prepped) < 0)
		goto out;
	if (derive_keys(h, prepped, c.salt, c.salt_len, c.iterations,
	    c.stored_key, c.server_key) < 0)
		goto out;
	*out = c;
	rc = 0;
out:
	wipe(prepped, sizeof prepped);
	wipe(&c, sizeof c);
	return rc;
}

/*
 * Password check against stored SCRAM data (for PLAIN / iq:auth). A
 * password SASLprep rejects can never have been stored, so it is a plain
 * mismatch (0), not an error; -1 only for a bad credential. The key
 * comparison is constant time (memeql_sec).
 */
/* SASLprep (NFKC) can lengthen a string up to this many times. */
#define SASLPREP_GROWTH 4

int scram_password_acceptable(const char *password, size_t max)
{
	size_t len = strlen(password), prepsz = SASLPREP_GROWTH * max + 1;
	char *prepped;
	int rc = -1;

	if (len == 0 || len > max || !(prepped = malloc(prepsz)))
		return -1;
	if (scram_saslprep(password, prepped, prepsz) == 0 && prepped[0])
		rc = 0;
	explicit_bzero(prepped, prepsz);
	free(prepped);
	return rc;
}

int scram_cred_lines(const char *password, char *sha1, char *sha256, size_t linesz)
{
	struct scram_cred cred;
	int rc = 0;

	if (scram_cred_make(SCRAM_SHA1, password, NULL, 0, SCRAM_ITERATIONS, &cred) == -1
	    || scram_cred_format(&cred, sha1, linesz) == -1
	    || scram_cred_make(SCRAM_SHA256, password, NULL, 0, SCRAM_ITERATIONS, &cred) == -1
	    || scram_cred_format(&cred, sha256, linesz) == -1)
		rc = -1;
	explicit_bzero(&cred, sizeof cred);
	return rc;
}

int scram_cred_check_password(const struct scram_cred *c, const char *password)
{
	char prepped[MAX_PASSWORD];
	unsigned char stored[SCRAM_MAX_KEY];
	int rc = -1;

	if (!cred_ok(c) || password == NULL)
		return -1;
	if (scram_saslprep(password, prepped, sizeof prepped) < 0) {
		rc = 0;
		goto out;
	}
	if (derive_keys(c->hash, prepped, c->salt, c->salt_len, c->iterations,
	    stored, NULL) < 0)
		goto out;
	rc = memeql_sec(stored, c->stored_key,
	    scram_key_len(c->hash)) ? 1 : 0;
out:
	wipe(prepped, sizeof prepped);
	wipe(stored, sizeof stored);
	return rc;
}

/*
 * One storage line, exactly what scram_cred_parse reads back. Fails (out
 * "") rather than truncating.
 */
int scram_cred_format(const struct scram_cred *c, char *out, size_t outsz)
{
	char salt[B64_LEN(CRED_SALT_MAX) + 1];
	char sk[B64_LEN(SCRAM_MAX_KEY) + 1], vk[B64_LEN(SCRAM_MAX_KEY) + 1];
	size_t kl;
	int n;

	if (out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	if (!cred_ok(c))
		return -1;
	kl = scram_key_len(c->hash);
	if (b64_encode(c->salt, c->salt_len, salt, sizeof salt) < 0 ||
	    b64_encode(c->stored_key, kl, sk, sizeof sk) < 0 ||
	    b64_encode(c->server_key, kl, vk, sizeof vk) < 0)
		return -1;
	n = snprintf(out, outsz, "%u,%s,%s,%s", c->iterations, salt, sk, vk);
	if (n < 0 || (size_t)n >= outsz) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Parse a storage line for hash h. Anything not exactly four fields, with
 * decimal iterations in [1, SCRAM_MAX_ITERATIONS], a non-empty salt and
 * keys of the digest length, is rejected; *out is zeroed on failure so
 * corrupt data never reaches the server steps.
 */
int scram_cred_parse(enum scram_hash h, const char *line, struct scram_cred *out)
{
	struct scram_cred c;
	const char *f[4], *p, *e;
	size_t flen[4], kl = scram_key_len(h), i;
	unsigned long iter = 0;
	int n, rc = -1;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	if (line == NULL || kl == 0)
		return -1;
	memset(&c, 0, sizeof c);
	c.hash = h;

	p = line;
	for (i = 0; i < 4; i++) {
		e = strchr(p, ',');
		f[i] = p;
		if (i < 3) {
			if (e == NULL)
				return -1;
			flen[i] = (size_t)(e - p);
			p = e + 1;
		} else {
			if (e != NULL)
				return -1;
			flen[i] = strlen(p);
		}
	}

	/* 7 digits is enough for SCRAM_MAX_ITERATIONS and cannot overflow */
	if (flen[0] == 0 || flen[0] > 7)
		goto out;
	for (i = 0; i < flen[0]; i++) {
		if (f[0][i] < '0' || f[0][i] > '9')
			goto out;
		iter = iter * 10 + (unsigned long)(f[0][i] - '0');
	}
	if (iter < 1 || iter > SCRAM_MAX_ITERATIONS)
		goto out;
	c.iterations = (unsigned)iter;

	n = b64_decode(f[1], flen[1], c.salt, sizeof c.salt);
	if (n < 1)
		goto out;
	c.salt_len = (size_t)n;
	if (b64_decode(f[2], flen[2], c.stored_key, sizeof c.stored_key) !=
	    (int)kl)
		goto out;
	if (b64_decode(f[3], flen[3], c.server_key, sizeof c.server_key) !=
	    (int)kl)
		goto out;
	*out = c;
	rc = 0;
out:
	wipe(&c, sizeof c);
	return rc;
}

/*
 * One derived value of a made-up credential: HMAC-SHA256(secret, label
 * || NUL || mechanism name || NUL || SHA-256(username)) into out. Hashing
 * the name first bounds the message whatever its length.
 */
static int fake_derive(const char *label, const char *mech, const char *username,
    const unsigned char *secret, size_t secret_len, unsigned char out[SHA256_LEN])
{
	unsigned char msg[FAKE_LABEL_MAX + 1 + FAKE_MECH_MAX + 1 + SHA256_LEN];
	size_t ll = strlen(label) + 1, ml = strlen(mech) + 1;

	if (ll > FAKE_LABEL_MAX + 1 || ml > FAKE_MECH_MAX + 1)
		return -1;
	memcpy(msg, label, ll);
	memcpy(msg + ll, mech, ml);
	if (hash_buf(SCRAM_SHA256, username, strlen(username), msg + ll + ml) < 0)
		return -1;
	return hmac_buf(SCRAM_SHA256, secret, secret_len, msg, ll + ml + SHA256_LEN, out);
}

/*
 * Credential for a user that does not exist, derived from the server's
 * secret and the name alone: every connection, on every host, sees the
 * same salt and iteration count for a name, as it would for a real
 * account, and two names get unrelated salts. The keys are derived too
 * (under labels of their own, so knowing the salt tells nothing of them)
 * and no proof verifies against them: that needs a ClientKey hashing to
 * StoredKey.
 */
int scram_cred_fake(enum scram_hash h, const char *username,
    const unsigned char *secret, size_t secret_len, struct scram_cred *out)
{
	unsigned char mac[SHA256_LEN];
	const char *name = scram_mech_name(h);
	size_t kl = scram_key_len(h);
	int rc = -1;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	if (name == NULL || username == NULL || secret == NULL || secret_len == 0)
		return -1;
	out->hash = h;
	out->iterations = SCRAM_ITERATIONS;     /* what xmppctl gives every account */
	out->salt_len = SCRAM_SALT_LEN;
	if (fake_derive("salt", name, username, secret, secret_len, mac) < 0)
		goto out;
	memcpy(out->salt, mac, SCRAM_SALT_LEN);
	if (fake_derive("stored-key", name, username, secret, secret_len, mac) < 0)
		goto out;
	memcpy(out->stored_key, mac, kl);
	if (fake_derive("server-key", name, username, secret, secret_len, mac) < 0)
		goto out;
	memcpy(out->server_key, mac, kl);
	rc = 0;
out:
	wipe(mac, sizeof mac);
	if (rc == -1)
		memset(out, 0, sizeof *out);
	return rc;
}

/*
 * Fresh exchange for hash h. Anything else than a known hash leaves the
 * struct in the failed state, so the later steps refuse it too.
 */
int scram_server_init(struct scram_server *s, enum scram_hash h)
{
	if (s == NULL)
		return -1;
	memset(s, 0, sizeof *s);
	if (scram_key_len(h) == 0) {
		s->failed = 1;
		return -1;
	}
	s->hash = h;
	return 0;
}

/*
 * Test hook. A value that is empty, too long or not a valid nonce is
 * remembered as bad so that scram_server_first fails, rather than silently
 * falling back to a random nonce the test did not expect.
 */
void scram_server_set_nonce(struct scram_server *s, const char *server_part)
{
	size_t n, i;

	if (s == NULL)
		return;
	s->fixed_nonce[0] = '\0';
	s->fixed_nonce_state = 0;
	if (server_part == NULL)
		return;
	n = strlen(server_part);
	s->fixed_nonce_state = -1;
	if (n == 0 || n >= sizeof s->fixed_nonce)
		return;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)server_part[i];
		if (c < 0x21 || c > 0x7e || c == ',')
			return;
	}
	memcpy(s->fixed_nonce, server_part, n + 1);
	s->fixed_nonce_state = 1;
}

/* Record a failure: the exchange is dead from here on. Always -1. */
static int server_fail(struct scram_server *s, enum scram_err *err,
    enum scram_err why)
{
	if (err != NULL)
		*err = why;
	if (s != NULL)
		s->failed = 1;
	return -1;
}

/*
 * Channel-binding policy. Only before client-first: changing it later
 * would make the earlier checks meaningless, so that kills the exchange.
 */
int scram_server_set_channel_binding(struct scram_server *s, int plus,
    int advertised)
{
	if (s == NULL)
		return -1;
	if (s->failed || s->step != 0 || s->have_client_first) {
		s->failed = 1;
		return -1;
	}
	s->cb_configured = 1;
	s->cb_plus = plus != 0;
	s->cb_advertised = advertised != 0;
	return 0;
}

/*
 * Offer one channel-binding type with a copy of its data. Bad arguments
 * leave the type unoffered (so a client naming it is refused); a call
 * after client-first kills the exchange, as above.
 */
int scram_server_set_cb_data(struct scram_server *s, enum scram_cb_type type,
    const unsigned char *data, size_t len)
{
	if (s == NULL)
		return -1;
	if (s->failed || s->step != 0 || s->have_client_first) {
		s->failed = 1;
		return -1;
	}
	if (scram_cb_name(type) == NULL || data == NULL || len == 0 ||
	    len > SCRAM_CB_MAX)
		return -1;
	s->cb_configured = 1;
	memcpy(s->cb[type].data, data, len);
	s->cb[type].len = len;
	s->cb[type].present = 1;
	return 0;
}

/* Name of the type client-first bound to; NULL if none (or no exchange). */
const char *scram_server_cb_used(const struct scram_server *s)
{
	if (s == NULL || s->failed || !s->cb_active)
		return NULL;
	return scram_cb_name(s->cb_type);
}

/* RFC 5802 "printable": %x21-7E except ','. */
static int nonce_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x21 || c > 0x7e || c == ',')
			return 0;
	}
	return 1;
}

static int is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* RFC 5802 cb-name: 1*(ALPHA / DIGIT / "." / "-"). */
static int cb_name_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_alpha(p[i]) && !(p[i] >= '0' && p[i] <= '9') &&
		    p[i] != '.' && p[i] != '-')
			return 0;
	return 1;
}

/* The offered type called name (n bytes, exact match), or -1. */
static int cb_lookup(const struct scram_server *s, const char *name, size_t n)
{
	int i;

	for (i = 0; i < SCRAM_CB_NTYPES; i++) {
		const char *known = scram_cb_name((enum scram_cb_type)i);

		if (s->cb[i].present && known != NULL && strlen(known) == n &&
		    memcmp(known, name, n) == 0)
			return i;
	}
	return -1;
}

/*
 * Optional trailing extensions ",x=..." starting at e (a ',' or NULL).
 * Their values are ignored, but each must at least look like attr=value;
 * the core attributes may not be repeated this way.
 */
static int extensions_ok(const char *e, const char *core)
{
	const char *p;

	while (e != NULL) {
		p = e + 1;
		if (!is_alpha(p[0]) || p[1] != '=' || strchr(core, p[0]) != NULL)
			return 0;
		e = strchr(p, ',');
	}
	return 1;
}

/*
 * Step 1. Only accepts a complete, well-formed client-first-message whose
 * gs2 header fits the channel-binding policy (scram.h: 'p=' with a
 * -PLUS mechanism and an offered type, else 'n', or 'y' when no -PLUS
 * mechanism was advertised), no authzid, no mandatory extension, a
 * non-empty username that survives =2C/=3D decoding and SASLprep, and a
 * printable nonce. Nothing is stored in s unless all of that holds.
 */
int scram_server_client_first(struct scram_server *s, const char *msg,
    size_t len, enum scram_err *err)
{
	char buf[SCRAM_MAX_MSG], user[SCRAM_MAX_USER];
	char *p, *end, *bare, *nonce;
	size_t hlen, ulen = 0, nlen;
	int cbt = -1;

	if (err != NULL)
		*err = SCRAM_OK;
	if (s == NULL)
		return server_fail(NULL, err, SCRAM_INTERNAL);
	if (s->failed || s->step != 0 || s->have_client_first ||
	    scram_key_len(s->hash) == 0)
		return server_fail(s, err, SCRAM_MALFORMED);
	if (msg == NULL || len == 0 || len >= sizeof buf ||
	    memchr(msg, '\0', len) != NULL)
		return server_fail(s, err, SCRAM_MALFORMED);
	memcpy(buf, msg, len);
	buf[len] = '\0';

	/* gs2-header: cbind flag, optional empty authzid */
	p = buf;
	if (p[0] == 'p' && p[1] == '=') {
		if (!s->cb_configured)     /* plain SCRAM: no binding at all */
			return server_fail(s, err, SCRAM_UNSUPPORTED_CB);
		if (!s->cb_plus)           /* 'p' belongs to -PLUS only */
			return server_fail(s, err, SCRAM_MALFORMED);
		end = strchr(p + 2, ',');
		if (end == NULL || !cb_name_ok(p + 2, (size_t)(end - p - 2)))
			return server_fail(s, err, SCRAM_MALFORMED);
		cbt = cb_lookup(s, p + 2, (size_t)(end - p - 2));
		if (cbt < 0)
			return server_fail(s, err, SCRAM_UNSUPPORTED_CB);
		p = end + 1;
	} else if ((p[0] == 'n' || p[0] == 'y') && p[1] == ',') {
		if (s->cb_plus)            /* -PLUS without binding */
			return server_fail(s, err, SCRAM_MALFORMED);
		/* 'y': the client could bind but thinks we cannot; if we
		 * offered -PLUS, someone removed it from <mechanisms/> */
		if (p[0] == 'y' && s->cb_advertised)
			return server_fail(s, err, SCRAM_BAD_CHANNEL_BINDING);
		p += 2;
	} else {
		return server_fail(s, err, SCRAM_MALFORMED);
	}
	if (p[0] == 'a' && p[1] == '=') {
		p += 2;
		if (*p != ',')
			return server_fail(s, err, SCRAM_NOT_AUTHORIZED);
	}
	if (*p != ',')
		return server_fail(s, err, SCRAM_MALFORMED);
	p++;
	hlen = (size_t)(p - buf);
	if (hlen >= sizeof s->gs2_header)
		return server_fail(s, err, SCRAM_MALFORMED);

	/* client-first-bare: no mandatory extension, then n=, r= */
	bare = p;
	if (bare[0] != 'n' || bare[1] != '=')
		return server_fail(s, err, SCRAM_MALFORMED);
	end = strchr(bare + 2, ',');
	if (end == NULL)
		return server_fail(s, err, SCRAM_MALFORMED);
	for (p = bare + 2; p < end; p++) {
		char c = *p;

		if (c == '=') {
			if (end - p >= 3 && p[1] == '2' && p[2] == 'C')
				c = ',';
			else if (end - p >= 3 && p[1] == '3' && p[2] == 'D')
				c = '=';
			else
				return server_fail(s, err, SCRAM_MALFORMED);
			p += 2;
		}
		if (ulen + 1 >= sizeof user)
			return server_fail(s, err, SCRAM_MALFORMED);
		user[ulen++] = c;
	}
	user[ulen] = '\0';
	if (ulen == 0)
		return server_fail(s, err, SCRAM_MALFORMED);

	p = end + 1;
	if (p[0] != 'r' || p[1] != '=')
		return server_fail(s, err, SCRAM_MALFORMED);
	nonce = p + 2;
	end = strchr(nonce, ',');
	nlen = end != NULL ? (size_t)(end - nonce) : strlen(nonce);
	if (!nonce_ok(nonce, nlen) || nlen > MAX_CNONCE)
		return server_fail(s, err, SCRAM_MALFORMED);
	if (!extensions_ok(end, "mnr"))
		return server_fail(s, err, SCRAM_MALFORMED);

	if (scram_saslprep(user, s->username, sizeof s->username) < 0 ||
	    s->username[0] == '\0')
		return server_fail(s, err, SCRAM_MALFORMED);
	memcpy(s->gs2_header, buf, hlen);
	s->gs2_header[hlen] = '\0';
	memcpy(s->client_first_bare, bare, strlen(bare) + 1);
	memcpy(s->nonce, nonce, nlen);
	s->nonce[nlen] = '\0';
	s->cb_active = cbt >= 0;
	s->cb_type = cbt >= 0 ? (enum scram_cb_type)cbt : SCRAM_CB_TLS_EXPORTER;
	s->have_client_first = 1;
	return 0;
}

/*
 * Step 2. Appends the server nonce part and builds server-first from cred
 * (copied, so the caller's storage may go away). Needs a parsed
 * client-first and a credential of this exchange's hash; any failure,
 * including out being too small, kills the exchange and leaves out "".
 */
int scram_server_first(struct scram_server *s, const struct scram_cred *cred,
    char *out, size_t outsz)
{
	unsigned char rnd[SCRAM_NONCE_LEN];
	char snonce[B64_LEN(SCRAM_NONCE_LEN) + 1];
	char salt[B64_LEN(CRED_SALT_MAX) + 1];
	const char *sp;
	size_t clen, splen;
	int n;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (s == NULL)
		return -1;
	if (out == NULL || outsz == 0 || s->failed || s->step != 0 ||
	    !s->have_client_first || !cred_ok(cred) || cred->hash != s->hash ||
	    s->fixed_nonce_state < 0)
		goto fail;

	if (s->fixed_nonce_state > 0) {
		sp = s->fixed_nonce;
	} else {
		if (random_bytes(rnd, sizeof rnd) < 0 ||
		    b64_encode(rnd, sizeof rnd, snonce, sizeof snonce) < 0)
			goto fail;
		sp = snonce;
	}
	clen = strlen(s->nonce);
	splen = strlen(sp);
	if (clen + splen >= sizeof s->nonce)
		goto fail;
	if (b64_encode(cred->salt, cred->salt_len, salt, sizeof salt) < 0)
		goto fail;
	n = snprintf(s->server_first, sizeof s->server_first,
	    "r=%s%s,s=%s,i=%u", s->nonce, sp, salt, cred->iterations);
	if (n < 0 || (size_t)n >= sizeof s->server_first || (size_t)n >= outsz)
		goto fail;

	memcpy(s->nonce + clen, sp, splen + 1);
	memcpy(out, s->server_first, (size_t)n + 1);
	s->cred = *cred;
	s->have_client_first = 0;
	s->step = 1;
	wipe(rnd, sizeof rnd);
	return 0;
fail:
	wipe(rnd, sizeof rnd);
	s->server_first[0] = '\0';
	if (out != NULL && outsz > 0)
		out[0] = '\0';
	s->failed = 1;
	return -1;
}

/*
 * Step 3. Succeeds only if c= is exactly base64(gs2-header || cb-data)
 * (cb-data: the offered type's data when client-first said 'p=', else
 * nothing), r= is exactly
 * our full nonce and the proof verifies (constant-time compare of
 * H(ClientKey) with StoredKey). A nonce mismatch is reported as
 * SCRAM_MALFORMED (protocol confusion or replay, not a wrong password).
 * Only then is server-final written; on any failure out is "".
 */
int scram_server_client_final(struct scram_server *s, const char *msg,
    size_t len, char *out, size_t outsz, enum scram_err *err)
{
	char buf[SCRAM_MAX_MSG], am[AUTH_MSG_MAX];
	unsigned char cbin[CBIND_INPUT_MAX];
	char cbind[B64_LEN(CBIND_INPUT_MAX) + 1];
	unsigned char proof[SCRAM_MAX_KEY], csig[SCRAM_MAX_KEY];
	unsigned char ckey[SCRAM_MAX_KEY], check[SCRAM_MAX_KEY];
	unsigned char ssig[SCRAM_MAX_KEY];
	char *last, *cval, *rval, *e, *pval;
	size_t kl, i, clen, rlen, hlen, cblen;
	enum scram_err why = SCRAM_MALFORMED;
	int n, rc = -1;

	if (err != NULL)
		*err = SCRAM_OK;
	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (s == NULL)
		return server_fail(NULL, err, SCRAM_INTERNAL);
	if (out == NULL || outsz == 0)
		return server_fail(s, err, SCRAM_INTERNAL);
	kl = scram_key_len(s->hash);
	if (s->failed || s->step != 1 || kl == 0)
		return server_fail(s, err, SCRAM_MALFORMED);
	if (msg == NULL || len == 0 || len >= sizeof buf ||
	    memchr(msg, '\0', len) != NULL)
		return server_fail(s, err, SCRAM_MALFORMED);
	memcpy(buf, msg, len);
	buf[len] = '\0';

	/* proof is the last attribute; cut it off to get ...-without-proof */
	last = strrchr(buf, ',');
	if (last == NULL || last[1] != 'p' || last[2] != '=')
		goto fail;
	*last = '\0';
	pval = last + 3;

	if (buf[0] != 'c' || buf[1] != '=')
		goto fail;
	cval = buf + 2;
	e = strchr(cval, ',');
	if (e == NULL)
		goto fail;
	clen = (size_t)(e - cval);
	if (e[1] != 'r' || e[2] != '=')
		goto fail;
	rval = e + 3;
	e = strchr(rval, ',');
	rlen = e != NULL ? (size_t)(e - rval) : strlen(rval);
	if (!extensions_ok(e, "crp"))
		goto fail;

	hlen = strlen(s->gs2_header);
	cblen = hlen;
	memcpy(cbin, s->gs2_header, hlen);
	if (s->cb_active) {
		if (scram_cb_name(s->cb_type) == NULL ||
		    !s->cb[s->cb_type].present ||
		    s->cb[s->cb_type].len > sizeof cbin - hlen) {
			why = SCRAM_INTERNAL;
			goto fail;
		}
		memcpy(cbin + hlen, s->cb[s->cb_type].data,
		    s->cb[s->cb_type].len);
		cblen += s->cb[s->cb_type].len;
	}
	if (b64_encode(cbin, cblen, cbind, sizeof cbind) < 0) {
		why = SCRAM_INTERNAL;
		goto fail;
	}
	if (clen != strlen(cbind) || !memeql_sec(cval, cbind, clen)) {
		why = SCRAM_BAD_CHANNEL_BINDING;
		goto fail;
	}
	if (rlen != strlen(s->nonce) || memcmp(rval, s->nonce, rlen) != 0)
		goto fail;
	if (b64_decode(pval, strlen(pval), proof, sizeof proof) != (int)kl)
		goto fail;

	n = snprintf(am, sizeof am, "%s,%s,%s", s->client_first_bare,
	    s->server_first, buf);
	why = SCRAM_INTERNAL;
	if (n < 0 || (size_t)n >= sizeof am)
		goto fail;
	if (hmac_buf(s->hash, s->cred.stored_key, kl, am, (size_t)n, csig) < 0)
		goto fail;
	for (i = 0; i < kl; i++)
		ckey[i] = proof[i] ^ csig[i];
	if (hash_buf(s->hash, ckey, kl, check) < 0)
		goto fail;
	if (!memeql_sec(check, s->cred.stored_key, kl)) {
		why = SCRAM_NOT_AUTHORIZED;
		goto fail;
	}
	if (hmac_buf(s->hash, s->cred.server_key, kl, am, (size_t)n, ssig) < 0)
		goto fail;
	if (outsz < 3 || b64_encode(ssig, kl, out + 2, outsz - 2) < 0) {
		out[0] = '\0';
		goto fail;
	}
	out[0] = 'v';
	out[1] = '=';
	s->step = 2;
	rc = 0;
	goto done;
fail:
	out[0] = '\0';
	server_fail(s, err, why);
done:
	wipe(proof, sizeof proof);
	wipe(csig, sizeof csig);
	wipe(ckey, sizeof ckey);
	wipe(check, sizeof check);
	wipe(ssig, sizeof ssig);
	wipe(cbin, sizeof cbin);
	return rc;
}

/*
 * XEP-0078 digest form: 40 lower-case hex digits. out is "" if hashing
 * fails, never partially filled.
 */
void sha1_hex(const void *data, size_t len, char out[41])
{
	unsigned char md[SHA1_LEN];

	if (out == NULL)
		return;
	out[0] = '\0';
	if ((data == NULL && len > 0) || hash_buf(SCRAM_SHA1, data, len, md) < 0)
		return;
	hex_encode(md, SHA1_LEN, out);
}
