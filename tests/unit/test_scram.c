/*
 * test_scram.c - unit tests for lib/scram.c.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Ilib lib/scram.c \
 *        tests/unit/test_scram.c -lnettle -lssl -lcrypto -lidn -o test_scram
 *
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "scram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static int passed, failed;

/* A server secret for made-up credentials (what Redis would hold). */
static const unsigned char fake_secret[32] = "0123456789abcdef0123456789abcde";

#define CHECK(cond) check((cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(a, b) check_str((a), (b), #a, __FILE__, __LINE__)

static void check(int ok, const char *what, const char *file, int line)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s:%d: %s\n", file, line, what);
}

static void check_str(const char *got, const char *want, const char *what,
    const char *file, int line)
{
	if (got != NULL && want != NULL && strcmp(got, want) == 0) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s:%d: %s is \"%s\", want \"%s\"\n", file, line, what,
	    got ? got : "(null)", want ? want : "(null)");
}

/* --- helpers ---------------------------------------------------------- */

static int first(struct scram_server *s, const char *msg, enum scram_err *err)
{
	return scram_server_client_first(s, msg, strlen(msg), err);
}

static int final(struct scram_server *s, const char *msg, char *out,
    size_t outsz, enum scram_err *err)
{
	return scram_server_client_final(s, msg, strlen(msg), out, outsz, err);
}

static void make_cred(enum scram_hash h, const char *pw, const char *salt_b64,
    unsigned iter, struct scram_cred *c)
{
	unsigned char salt[64];
	int n = b64_decode(salt_b64, strlen(salt_b64), salt, sizeof salt);

	CHECK(n > 0);
	CHECK(scram_cred_make(h, pw, salt, (size_t)(n > 0 ? n : 0), iter,
	    c) == 0);
}

/*
 * A minimal independent SCRAM client (straight from RFC 5802 section 3),
 * used to drive the server through an exchange with a random nonce.
 */
static int client_proof(enum scram_hash h, const char *password,
    const unsigned char *salt, size_t salt_len, unsigned iter,
    const char *auth_msg, char *proof_b64, size_t sz,
    unsigned char *server_sig)
{
	const EVP_MD *md = h == SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
	int kl = EVP_MD_get_size(md);
	unsigned char sp[64], ck[64], sk[64], stk[64], sig[64], proof[64];
	unsigned int l;
	int i;

	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
	    (int)salt_len, (int)iter, md, kl, sp) != 1)
		return -1;
	HMAC(md, sp, kl, (const unsigned char *)"Client Key", 10, ck, &l);
	HMAC(md, sp, kl, (const unsigned char *)"Server Key", 10, sk, &l);
	EVP_Digest(ck, (size_t)kl, stk, &l, md, NULL);
	HMAC(md, stk, kl, (const unsigned char *)auth_msg, strlen(auth_msg),
	    sig, &l);
	for (i = 0; i < kl; i++)
		proof[i] = ck[i] ^ sig[i];
	HMAC(md, sk, kl, (const unsigned char *)auth_msg, strlen(auth_msg),
	    server_sig, &l);
	return b64_encode(proof, (size_t)kl, proof_b64, sz) < 0 ? -1 : 0;
}

/* --- RFC vectors ------------------------------------------------------ */

static void test_rfc5802(void)
{
	struct scram_server s;
	struct scram_cred c;
	enum scram_err err;
	char out[SCRAM_MAX_MSG];

	make_cred(SCRAM_SHA1, "pencil", "QSXCR+Q6sek8bf92", 4096, &c);
	CHECK(scram_server_init(&s, SCRAM_SHA1) == 0);
	scram_server_set_nonce(&s, "3rfcNHYJY1ZVvWVs7j");
	CHECK(first(&s, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", &err) == 0);
	CHECK(err == SCRAM_OK);
	CHECK_STR(s.username, "user");
	CHECK(scram_server_first(&s, &c, out, sizeof out) == 0);
	CHECK_STR(out, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	    "s=QSXCR+Q6sek8bf92,i=4096");
	CHECK(final(&s, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	    "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", out, sizeof out, &err) == 0);
	CHECK(err == SCRAM_OK);
	CHECK_STR(out, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
	CHECK(s.step == 2);
	CHECK(scram_cred_check_password(&c, "pencil") == 1);
}

static void test_rfc7677(void)
{
	struct scram_server s;
	struct scram_cred c;
	enum scram_err err;
	char out[SCRAM_MAX_MSG];

	make_cred(SCRAM_SHA256, "pencil", "W22ZaJ0SNY7soEsUEjb6gQ==", 4096, &c);
	CHECK(scram_server_init(&s, SCRAM_SHA256) == 0);
	scram_server_set_nonce(&s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	CHECK(first(&s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", &err) == 0);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == 0);
	CHECK_STR(out, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	CHECK(final(&s, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
	    "hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", out,
	    sizeof out, &err) == 0);
	CHECK(err == SCRAM_OK);
	CHECK_STR(out, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

/* --- client-final failures on the RFC 5802 exchange ------------------- */

#define V_FIRST  "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
#define V_NONCE  "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"
#define V_PROOF  "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="

/* Run the RFC 5802 exchange up to server-first, then feed final_msg. */
static int rfc_final(const char *final_msg, enum scram_err *err,
    struct scram_server *s, char *out, size_t outsz)
{
	struct scram_cred c;
	char sf[SCRAM_MAX_MSG];

	make_cred(SCRAM_SHA1, "pencil", "QSXCR+Q6sek8bf92", 4096, &c);
	scram_server_init(s, SCRAM_SHA1);
	scram_server_set_nonce(s, "3rfcNHYJY1ZVvWVs7j");
	if (first(s, V_FIRST, err) != 0 ||
	    scram_server_first(s, &c, sf, sizeof sf) != 0)
		return -2;
	return final(s, final_msg, out, outsz, err);
}

static void test_final_failures(void)
{
	struct scram_server s;
	enum scram_err err;
	char out[SCRAM_MAX_MSG];

	/* wrong proof */
	CHECK(rfc_final("c=biws,r=" V_NONCE ",p=w0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	    &err, &s, out, sizeof out) == -1);
	CHECK(err == SCRAM_NOT_AUTHORIZED);
	CHECK_STR(out, "");
	CHECK(s.step != 2);
	/* and the exchange is dead afterwards, even with the right proof */
	CHECK(final(&s, "c=biws,r=" V_NONCE ",p=" V_PROOF, out, sizeof out,
	    &err) == -1);

	/* proof of the wrong length / bad base64 / missing */
	CHECK(rfc_final("c=biws,r=" V_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjf"
	    "MHgsqmmiz7AndVQ=", &err, &s, out, sizeof out) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(rfc_final("c=biws,r=" V_NONCE ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts",
	    &err, &s, out, sizeof out) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(rfc_final("c=biws,r=" V_NONCE, &err, &s, out, sizeof out) == -1);
	CHECK(err == SCRAM_MALFORMED);

	/* tampered channel binding: "y,," instead of "n,," */
	CHECK(rfc_final("c=eSws,r=" V_NONCE ",p=" V_PROOF, &err, &s, out,
	    sizeof out) == -1);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);
	CHECK(rfc_final("c=,r=" V_NONCE ",p=" V_PROOF, &err, &s, out,
	    sizeof out) == -1);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);

	/* tampered nonce: changed, truncated, client part only, extended */
	CHECK(rfc_final("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7J,"
	    "p=" V_PROOF, &err, &s, out, sizeof out) == -1);
	CHECK(err != SCRAM_OK && err != SCRAM_INTERNAL);
	CHECK(rfc_final("c=biws,r=fyko+d2lbbFgONRv9qkxdawL,p=" V_PROOF, &err,
	    &s, out, sizeof out) == -1);
	CHECK(err != SCRAM_OK && err != SCRAM_INTERNAL);
	CHECK(rfc_final("c=biws,r=" V_NONCE "x,p=" V_PROOF, &err, &s, out,
	    sizeof out) == -1);
	CHECK(err != SCRAM_OK && err != SCRAM_INTERNAL);

	/* structure */
	CHECK(rfc_final("r=" V_NONCE ",c=biws,p=" V_PROOF, &err, &s, out,
	    sizeof out) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(rfc_final("c=biws,r=" V_NONCE ",p=" V_PROOF ",x=1", &err, &s,
	    out, sizeof out) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(rfc_final("c=biws,r=" V_NONCE ",p=" V_PROOF ",p=" V_PROOF, &err,
	    &s, out, sizeof out) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(rfc_final("", &err, &s, out, sizeof out) == -1);
	CHECK(err == SCRAM_MALFORMED);

	/* an extension before p= is part of AuthMessage: proof no longer fits */
	CHECK(rfc_final("c=biws,r=" V_NONCE ",x=y,p=" V_PROOF, &err, &s, out,
	    sizeof out) == -1);
	CHECK(err == SCRAM_NOT_AUTHORIZED);

	/* output buffer too small for server-final: fail, no overflow */
	CHECK(rfc_final("c=biws,r=" V_NONCE ",p=" V_PROOF, &err, &s, out,
	    10) == -1);
	CHECK(err == SCRAM_INTERNAL);
	CHECK_STR(out, "");

	/* the untouched message still works through the same helper */
	CHECK(rfc_final("c=biws,r=" V_NONCE ",p=" V_PROOF, &err, &s, out,
	    sizeof out) == 0);
	CHECK_STR(out, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
	/* replaying client-final after success fails */
	CHECK(final(&s, "c=biws,r=" V_NONCE ",p=" V_PROOF, out, sizeof out,
	    &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
}

/* --- client-first parsing --------------------------------------------- */

static int first_err(const char *msg, enum scram_err *err)
{
	struct scram_server s;

	scram_server_init(&s, SCRAM_SHA1);
	return first(&s, msg, err);
}

static void test_client_first(void)
{
	struct scram_server s;
	enum scram_err err;
	char big[SCRAM_MAX_MSG + 64];

	/* accepted forms */
	CHECK(first_err("y,,n=user,r=abc", &err) == 0);
	CHECK(first_err("n,a=,n=user,r=abc", &err) == 0);
	CHECK(first_err("n,,n=user,r=abc,x=ext", &err) == 0);

	scram_server_init(&s, SCRAM_SHA1);
	CHECK(first(&s, "n,,n=a=2Cb=3Dc,r=abc", &err) == 0);
	CHECK_STR(s.username, "a,b=c");
	CHECK_STR(s.gs2_header, "n,,");
	CHECK_STR(s.client_first_bare, "n=a=2Cb=3Dc,r=abc");
	CHECK_STR(s.nonce, "abc");

	scram_server_init(&s, SCRAM_SHA1);
	CHECK(first(&s, "n,,n=I\xC2\xAD" "X,r=abc", &err) == 0);
	CHECK_STR(s.username, "IX");

	/* channel binding demanded */
	CHECK(first_err("p=tls-unique,,n=user,r=abc", &err) == -1);
	CHECK(err == SCRAM_UNSUPPORTED_CB);

	/* authzid */
	CHECK(first_err("n,a=admin,n=user,r=abc", &err) == -1);
	CHECK(err != SCRAM_OK);

	/* malformed */
	CHECK(first_err("", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=user", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=user,r=", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=us=2Xer,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=user=,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=user=2,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=us=2cer,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,m=ext,n=user,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("x,,n=user,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,n=user,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=user,r=ab\x01" "c", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=user,r=ab c", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=user,r=abc,", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=user,r=abc,r=def", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=us\x07" "er,r=abc", &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	CHECK(first_err("n,,n=\xC2\xAD,r=abc", &err) == -1); /* empty after prep */
	CHECK(err == SCRAM_MALFORMED);

	/* embedded NUL */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(scram_server_client_first(&s, "n,,n=u\0x,r=abc", 15, &err) == -1);
	CHECK(err == SCRAM_MALFORMED);

	/* over-long message */
	memcpy(big, "n,,n=user,r=", 12);
	memset(big + 12, 'a', sizeof big - 13);
	big[sizeof big - 1] = '\0';
	CHECK(first_err(big, &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(scram_server_client_first(&s, big, SCRAM_MAX_MSG, &err) == -1);
	CHECK(err == SCRAM_MALFORMED);

	/* over-long username with valid syntax */
	memcpy(big, "n,,n=", 5);
	memset(big + 5, 'u', SCRAM_MAX_MSG - 20);
	strcpy(big + 5 + SCRAM_MAX_MSG - 20, ",r=abc");
	CHECK(first_err(big, &err) == 0 || err == SCRAM_MALFORMED);

	/* NULL message */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(scram_server_client_first(&s, NULL, 5, &err) == -1);
	CHECK(err == SCRAM_MALFORMED);
}

/* --- step ordering ---------------------------------------------------- */

static void test_order(void)
{
	struct scram_server s;
	struct scram_cred c;
	enum scram_err err;
	char out[SCRAM_MAX_MSG];

	CHECK(scram_cred_fake(SCRAM_SHA1, "user", fake_secret, sizeof fake_secret, &c) == 0);

	/* server-first before client-first */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == -1);
	CHECK_STR(out, "");

	/* client-final before server-first */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(first(&s, V_FIRST, &err) == 0);
	CHECK(final(&s, "c=biws,r=" V_NONCE ",p=" V_PROOF, out, sizeof out,
	    &err) == -1);
	CHECK(err == SCRAM_MALFORMED);

	/* client-final on a fresh and on a zeroed struct */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(final(&s, "c=biws,r=x,p=" V_PROOF, out, sizeof out, &err) == -1);
	memset(&s, 0, sizeof s);
	CHECK(final(&s, "c=biws,r=x,p=" V_PROOF, out, sizeof out, &err) == -1);

	/* client-first twice */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(first(&s, V_FIRST, &err) == 0);
	CHECK(first(&s, V_FIRST, &err) == -1);
	CHECK(err == SCRAM_MALFORMED);

	/* server-first twice */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(first(&s, V_FIRST, &err) == 0);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == 0);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == -1);

	/* client-first after server-first */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(first(&s, V_FIRST, &err) == 0);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == 0);
	CHECK(first(&s, V_FIRST, &err) == -1);

	/* after a failed client-first nothing proceeds */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(first(&s, "garbage", &err) == -1);
	CHECK(first(&s, V_FIRST, &err) == -1);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == -1);

	/* credential of the other hash */
	scram_server_init(&s, SCRAM_SHA256);
	CHECK(first(&s, V_FIRST, &err) == 0);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == -1);

	/* server-first into a too small buffer */
	scram_server_init(&s, SCRAM_SHA1);
	CHECK(first(&s, V_FIRST, &err) == 0);
	CHECK(scram_server_first(&s, &c, out, 8) == -1);
	CHECK(out[0] == '\0');

	/* bad nonce hook value makes server-first fail */
	scram_server_init(&s, SCRAM_SHA1);
	scram_server_set_nonce(&s, "a,b");
	CHECK(first(&s, V_FIRST, &err) == 0);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == -1);

	/* unknown hash */
	CHECK(scram_server_init(&s, (enum scram_hash)7) == -1);
	CHECK(first(&s, V_FIRST, &err) == -1);
}

/* --- full exchange with a random nonce and an escaped username -------- */

static void test_random_roundtrip(enum scram_hash h, const char *gs2,
    const char *cbind)
{
	struct scram_server s;
	struct scram_cred c;
	enum scram_err err;
	char sf[SCRAM_MAX_MSG], cf[2 * SCRAM_MAX_MSG], am[4 * SCRAM_MAX_MSG];
	char proof[64], sfin[SCRAM_MAX_MSG], want[128];
	unsigned char ssig[64];
	const char *cfb = "n=a=2Cb,r=clientnonce";
	const char *r;
	size_t kl = scram_key_len(h);

	CHECK(scram_cred_make(h, "s3cr\xC2\xAD" "et", NULL, 0, 4096, &c) == 0);
	CHECK(c.salt_len == SCRAM_SALT_LEN);
	CHECK(scram_server_init(&s, h) == 0);
	snprintf(cf, sizeof cf, "%s%s", gs2, cfb);
	CHECK(first(&s, cf, &err) == 0);
	CHECK_STR(s.username, "a,b");
	CHECK(scram_server_first(&s, &c, sf, sizeof sf) == 0);
	CHECK(strncmp(sf, "r=clientnonce", 13) == 0);
	r = strchr(sf, ',');
	CHECK(r != NULL && r - sf == 2 + 11 + 32); /* 24 bytes -> 32 chars */

	snprintf(cf, sizeof cf, "c=%s,r=%s", cbind, s.nonce);
	snprintf(am, sizeof am, "%s,%s,%s", cfb, sf, cf);
	CHECK(client_proof(h, "s3cret", c.salt, c.salt_len, c.iterations, am,
	    proof, sizeof proof, ssig) == 0);
	snprintf(cf + strlen(cf), sizeof cf - strlen(cf), ",p=%s", proof);
	CHECK(final(&s, cf, sfin, sizeof sfin, &err) == 0);
	strcpy(want, "v=");
	CHECK(b64_encode(ssig, kl, want + 2, sizeof want - 2) > 0);
	CHECK_STR(sfin, want);

	/* two exchanges never share a server nonce */
	{
		struct scram_server t;
		char sf2[SCRAM_MAX_MSG];

		scram_server_init(&t, h);
		CHECK(first(&t, "n,,n=a=2Cb,r=clientnonce", &err) == 0);
		CHECK(scram_server_first(&t, &c, sf2, sizeof sf2) == 0);
		CHECK(strcmp(sf, sf2) != 0);
	}
}

/* --- channel binding (-PLUS, RFC 5802 section 6, RFC 9266) ------------- */

/* What one side of a channel-binding exchange uses. */
struct cb_case {
	enum scram_hash h;
	int configure;                 /* call scram_server_set_channel_binding */
	int plus, advertised;
	const unsigned char *exporter; /* server's tls-exporter data or NULL */
	size_t exporter_len;
	const unsigned char *sep;      /* server's tls-server-end-point or NULL */
	size_t sep_len;
	const char *gs2;               /* client's gs2 header */
	const unsigned char *ccb;      /* client's cb data for c= (or NULL) */
	size_t ccb_len;
	const char *cgs2;              /* gs2 header the client puts in c=
	                                * (NULL: same as gs2) */
};

#define CB_FIRST_FAILED  (-1)
#define CB_FINAL_FAILED  (-2)
#define CB_SETUP_FAILED  (-3)

/*
 * Run a whole exchange as an independent client would: the client
 * computes c= = base64(gs2 || cb data) and its proof from the password,
 * parses the nonce out of server-first and checks the server signature.
 * 0 on success, CB_*_FAILED with *err on failure; *used gets
 * scram_server_cb_used() after client-first.
 */
static int cb_exchange(const struct cb_case *k, enum scram_err *err,
    const char **used)
{
	static const char *bare = "n=user,r=cbclientnonce";
	struct scram_server s;
	struct scram_cred c;
	unsigned char cbin[256], ssig[64];
	char msg[2 * SCRAM_MAX_MSG], sf[SCRAM_MAX_MSG], am[4 * SCRAM_MAX_MSG];
	char cb64[400], proof[64], sfin[SCRAM_MAX_MSG], want[128];
	const char *cgs2 = k->cgs2 != NULL ? k->cgs2 : k->gs2;
	const char *comma;
	size_t n;

	*err = SCRAM_OK;
	*used = NULL;
	if (scram_cred_make(k->h, "pencil", NULL, 0, 4096, &c) != 0 ||
	    scram_server_init(&s, k->h) != 0)
		return CB_SETUP_FAILED;
	if (k->configure &&
	    scram_server_set_channel_binding(&s, k->plus, k->advertised) != 0)
		return CB_SETUP_FAILED;
	if (k->exporter != NULL && scram_server_set_cb_data(&s,
	    SCRAM_CB_TLS_EXPORTER, k->exporter, k->exporter_len) != 0)
		return CB_SETUP_FAILED;
	if (k->sep != NULL && scram_server_set_cb_data(&s,
	    SCRAM_CB_TLS_SERVER_END_POINT, k->sep, k->sep_len) != 0)
		return CB_SETUP_FAILED;

	snprintf(msg, sizeof msg, "%s%s", k->gs2, bare);
	if (first(&s, msg, err) != 0)
		return CB_FIRST_FAILED;
	*used = scram_server_cb_used(&s);
	if (scram_server_first(&s, &c, sf, sizeof sf) != 0)
		return CB_SETUP_FAILED;

	/* client side from here on: only sf and its own inputs */
	n = strlen(cgs2);
	if (n + k->ccb_len > sizeof cbin)
		return CB_SETUP_FAILED;
	memcpy(cbin, cgs2, n);
	if (k->ccb != NULL)
		memcpy(cbin + n, k->ccb, k->ccb_len);
	if (b64_encode(cbin, n + (k->ccb != NULL ? k->ccb_len : 0), cb64,
	    sizeof cb64) < 0)
		return CB_SETUP_FAILED;
	comma = strchr(sf, ',');
	if (strncmp(sf, "r=", 2) != 0 || comma == NULL)
		return CB_SETUP_FAILED;
	snprintf(msg, sizeof msg, "c=%s,r=%.*s", cb64, (int)(comma - sf - 2),
	    sf + 2);
	snprintf(am, sizeof am, "%s,%s,%s", bare, sf, msg);
	if (client_proof(k->h, "pencil", c.salt, c.salt_len, c.iterations, am,
	    proof, sizeof proof, ssig) != 0)
		return CB_SETUP_FAILED;
	snprintf(msg + strlen(msg), sizeof msg - strlen(msg), ",p=%s", proof);
	if (final(&s, msg, sfin, sizeof sfin, err) != 0)
		return CB_FINAL_FAILED;
	strcpy(want, "v=");
	if (b64_encode(ssig, scram_key_len(k->h), want + 2,
	    sizeof want - 2) < 0 || strcmp(sfin, want) != 0)
		return CB_SETUP_FAILED;   /* the server's signature is wrong */
	return 0;
}

static void test_channel_binding(void)
{
	unsigned char exp[32], sep[32], other[32], big[SCRAM_CB_MAX + 1];
	struct cb_case k;
	enum scram_err err;
	const char *used;
	size_t i;

	for (i = 0; i < sizeof exp; i++) {
		exp[i] = (unsigned char)(0xa0 + i);
		sep[i] = (unsigned char)(0x10 + 3 * i);
		other[i] = exp[i];
	}
	other[31] ^= 1;
	for (i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)i;

	/* SCRAM-SHA-256-PLUS with tls-exporter (TLS 1.3) */
	memset(&k, 0, sizeof k);
	k.h = SCRAM_SHA256;
	k.configure = k.plus = k.advertised = 1;
	k.exporter = exp;
	k.exporter_len = sizeof exp;
	k.sep = sep;
	k.sep_len = sizeof sep;
	k.gs2 = "p=tls-exporter,,";
	k.ccb = exp;
	k.ccb_len = sizeof exp;
	CHECK(cb_exchange(&k, &err, &used) == 0);
	CHECK(err == SCRAM_OK);
	CHECK_STR(used, "tls-exporter");

	/* the same with an (empty) authzid in the gs2 header */
	k.gs2 = "p=tls-exporter,a=,";
	CHECK(cb_exchange(&k, &err, &used) == 0);

	/* SCRAM-SHA-1-PLUS, client picks tls-server-end-point */
	k.h = SCRAM_SHA1;
	k.gs2 = "p=tls-server-end-point,,";
	k.ccb = sep;
	CHECK(cb_exchange(&k, &err, &used) == 0);
	CHECK_STR(used, "tls-server-end-point");

	/* TLS 1.2: only tls-server-end-point offered */
	k.exporter = NULL;
	CHECK(cb_exchange(&k, &err, &used) == 0);
	k.gs2 = "p=tls-exporter,,";
	k.ccb = exp;
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_UNSUPPORTED_CB);

	/* the largest data we keep (a SHA-512 certificate hash) */
	k.h = SCRAM_SHA256;
	k.sep = big;
	k.sep_len = SCRAM_CB_MAX;
	k.gs2 = "p=tls-server-end-point,,";
	k.ccb = big;
	k.ccb_len = SCRAM_CB_MAX;
	CHECK(cb_exchange(&k, &err, &used) == 0);

	/* wrong channel-binding data: one bit, the other type's, none,
	 * truncated, extra bytes */
	k.exporter = exp;
	k.exporter_len = sizeof exp;
	k.sep = sep;
	k.sep_len = sizeof sep;
	k.gs2 = "p=tls-exporter,,";
	k.ccb = other;
	k.ccb_len = sizeof other;
	CHECK(cb_exchange(&k, &err, &used) == CB_FINAL_FAILED);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);
	k.ccb = sep;
	CHECK(cb_exchange(&k, &err, &used) == CB_FINAL_FAILED);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);
	k.ccb = NULL;
	k.ccb_len = 0;
	CHECK(cb_exchange(&k, &err, &used) == CB_FINAL_FAILED);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);
	k.ccb = exp;
	k.ccb_len = sizeof exp - 1;
	CHECK(cb_exchange(&k, &err, &used) == CB_FINAL_FAILED);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);
	k.ccb = big;
	k.ccb_len = sizeof big;
	memcpy(big, exp, sizeof exp);
	CHECK(cb_exchange(&k, &err, &used) == CB_FINAL_FAILED);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);

	/* right data under a different gs2 header in c= */
	k.ccb = exp;
	k.ccb_len = sizeof exp;
	k.cgs2 = "p=tls-server-end-point,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FINAL_FAILED);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);
	k.cgs2 = "n,,";
	k.ccb = NULL;
	k.ccb_len = 0;
	CHECK(cb_exchange(&k, &err, &used) == CB_FINAL_FAILED);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);
	k.cgs2 = NULL;

	/* -PLUS with an unknown / unoffered / malformed cb name */
	k.ccb = exp;
	k.ccb_len = sizeof exp;
	k.gs2 = "p=tls-unique,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_UNSUPPORTED_CB);
	k.gs2 = "p=TLS-EXPORTER,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_UNSUPPORTED_CB);
	k.gs2 = "p=tls-exporterx,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_UNSUPPORTED_CB);
	k.gs2 = "p=tls_exporter,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_MALFORMED);
	k.gs2 = "p=,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_MALFORMED);
	k.gs2 = "p=tls-exporter";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_MALFORMED);
	k.gs2 = "p=tls-exporter,a=admin,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err != SCRAM_OK);

	/* -PLUS without binding: 'n' and 'y' are protocol violations */
	k.ccb = NULL;
	k.ccb_len = 0;
	k.gs2 = "n,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_MALFORMED);
	k.gs2 = "y,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_MALFORMED);

	/* non-PLUS mechanism while -PLUS was advertised: 'n' fine, 'y' is a
	 * downgrade, 'p=' malformed */
	k.plus = 0;
	k.gs2 = "n,,";
	CHECK(cb_exchange(&k, &err, &used) == 0);
	CHECK(used == NULL);
	k.gs2 = "y,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);
	k.gs2 = "p=tls-exporter,,";
	k.ccb = exp;
	k.ccb_len = sizeof exp;
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_MALFORMED);
	/* 'n' but c= carrying cb data anyway */
	k.gs2 = "n,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FINAL_FAILED);
	CHECK(err == SCRAM_BAD_CHANNEL_BINDING);

	/* non-PLUS, nothing advertised (e.g. no TLS): 'y' and 'n' fine,
	 * 'p=' malformed */
	k.advertised = 0;
	k.exporter = NULL;
	k.sep = NULL;
	k.ccb = NULL;
	k.ccb_len = 0;
	k.gs2 = "y,,";
	CHECK(cb_exchange(&k, &err, &used) == 0);
	k.gs2 = "n,,";
	CHECK(cb_exchange(&k, &err, &used) == 0);
	k.gs2 = "p=tls-exporter,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_MALFORMED);

	/* a caller that sets nothing: plain SCRAM as before */
	k.configure = 0;
	k.gs2 = "y,,";
	CHECK(cb_exchange(&k, &err, &used) == 0);
	k.gs2 = "p=tls-exporter,,";
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_UNSUPPORTED_CB);

	/* -PLUS but no type offered at all */
	k.configure = k.plus = k.advertised = 1;
	CHECK(cb_exchange(&k, &err, &used) == CB_FIRST_FAILED);
	CHECK(err == SCRAM_UNSUPPORTED_CB);
}

/* The setters: timing, argument checks, copying, names. */
static void test_channel_binding_setup(void)
{
	struct scram_server s;
	struct scram_cred c;
	enum scram_err err;
	unsigned char data[SCRAM_CB_MAX + 1], keep[32];
	char out[SCRAM_MAX_MSG];
	struct cb_case k;
	const char *used;

	memset(data, 0x5a, sizeof data);

	/* the RFC 5802 vector is unchanged with a non-PLUS policy */
	make_cred(SCRAM_SHA1, "pencil", "QSXCR+Q6sek8bf92", 4096, &c);
	CHECK(scram_server_init(&s, SCRAM_SHA1) == 0);
	CHECK(scram_server_set_channel_binding(&s, 0, 1) == 0);
	CHECK(scram_server_set_cb_data(&s, SCRAM_CB_TLS_EXPORTER, data,
	    32) == 0);
	scram_server_set_nonce(&s, "3rfcNHYJY1ZVvWVs7j");
	CHECK(first(&s, V_FIRST, &err) == 0);
	CHECK(scram_server_cb_used(&s) == NULL);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == 0);
	CHECK(final(&s, "c=biws,r=" V_NONCE ",p=" V_PROOF, out, sizeof out,
	    &err) == 0);
	CHECK_STR(out, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");

	/* bad data arguments: -1, type not offered, exchange still usable */
	CHECK(scram_server_init(&s, SCRAM_SHA256) == 0);
	CHECK(scram_server_set_channel_binding(&s, 1, 1) == 0);
	CHECK(scram_server_set_cb_data(&s, SCRAM_CB_TLS_EXPORTER, data,
	    0) == -1);
	CHECK(scram_server_set_cb_data(&s, SCRAM_CB_TLS_EXPORTER, data,
	    SCRAM_CB_MAX + 1) == -1);
	CHECK(scram_server_set_cb_data(&s, SCRAM_CB_TLS_EXPORTER, NULL,
	    32) == -1);
	CHECK(scram_server_set_cb_data(&s, (enum scram_cb_type)7, data,
	    32) == -1);
	CHECK(scram_server_set_cb_data(&s, SCRAM_CB_NTYPES, data, 32) == -1);
	CHECK(s.failed == 0);
	CHECK(first(&s, "p=tls-exporter,,n=user,r=abc", &err) == -1);
	CHECK(err == SCRAM_UNSUPPORTED_CB);

	/* too late: after client-first the setters kill the exchange */
	CHECK(scram_server_init(&s, SCRAM_SHA256) == 0);
	CHECK(first(&s, "n,,n=user,r=abc", &err) == 0);
	CHECK(scram_server_set_channel_binding(&s, 0, 0) == -1);
	CHECK(s.failed == 1);
	CHECK(scram_server_init(&s, SCRAM_SHA256) == 0);
	CHECK(first(&s, "n,,n=user,r=abc", &err) == 0);
	CHECK(scram_server_set_cb_data(&s, SCRAM_CB_TLS_EXPORTER, data,
	    32) == -1);
	CHECK(scram_server_first(&s, &c, out, sizeof out) == -1);
	CHECK(scram_server_set_channel_binding(NULL, 1, 1) == -1);
	CHECK(scram_server_set_cb_data(NULL, SCRAM_CB_TLS_EXPORTER, data,
	    32) == -1);
	CHECK(scram_server_cb_used(NULL) == NULL);

	/* the data is copied: the caller's buffer may change afterwards */
	memset(keep, 0x33, sizeof keep);
	memset(&k, 0, sizeof k);
	k.h = SCRAM_SHA256;
	k.configure = k.plus = k.advertised = 1;
	memcpy(data, keep, sizeof keep);
	k.exporter = data;
	k.exporter_len = sizeof keep;
	k.gs2 = "p=tls-exporter,,";
	k.ccb = keep;
	k.ccb_len = sizeof keep;
	CHECK(cb_exchange(&k, &err, &used) == 0);
	CHECK(scram_server_init(&s, SCRAM_SHA256) == 0);
	CHECK(scram_server_set_channel_binding(&s, 1, 1) == 0);
	CHECK(scram_server_set_cb_data(&s, SCRAM_CB_TLS_EXPORTER, data,
	    sizeof keep) == 0);
	memset(data, 0, sizeof data);
	CHECK(first(&s, "p=tls-exporter,,n=user,r=abc", &err) == 0);
	CHECK_STR(scram_server_cb_used(&s), "tls-exporter");
	CHECK(s.cb[SCRAM_CB_TLS_EXPORTER].len == sizeof keep);
	CHECK(memcmp(s.cb[SCRAM_CB_TLS_EXPORTER].data, keep, sizeof keep) == 0);

	/* names */
	CHECK_STR(scram_mech_name_plus(SCRAM_SHA1), "SCRAM-SHA-1-PLUS");
	CHECK_STR(scram_mech_name_plus(SCRAM_SHA256), "SCRAM-SHA-256-PLUS");
	CHECK(scram_mech_name_plus((enum scram_hash)5) == NULL);
	CHECK_STR(scram_cb_name(SCRAM_CB_TLS_EXPORTER), "tls-exporter");
	CHECK_STR(scram_cb_name(SCRAM_CB_TLS_SERVER_END_POINT),
	    "tls-server-end-point");
	CHECK(scram_cb_name(SCRAM_CB_NTYPES) == NULL);
	CHECK(scram_cb_name((enum scram_cb_type)9) == NULL);
}

/* --- fake credentials ------------------------------------------------- */

static void test_fake(void)
{
	static const unsigned char other_secret[] = "another secret, 32 bytes long!!";
	struct scram_cred a, b, d, e, f, g;
	struct scram_server s;
	enum scram_err err;
	char out[SCRAM_MAX_MSG];

	CHECK(scram_cred_fake(SCRAM_SHA1, "ghost@example.org", fake_secret,
	    sizeof fake_secret, &a) == 0);
	CHECK(scram_cred_fake(SCRAM_SHA1, "ghost@example.org", fake_secret,
	    sizeof fake_secret, &b) == 0);
	CHECK(scram_cred_fake(SCRAM_SHA1, "other@example.org", fake_secret,
	    sizeof fake_secret, &d) == 0);
	CHECK(scram_cred_fake(SCRAM_SHA256, "ghost@example.org", fake_secret,
	    sizeof fake_secret, &e) == 0);
	CHECK(scram_cred_fake(SCRAM_SHA1, "ghost@example.org", other_secret,
	    sizeof other_secret, &f) == 0);
	CHECK(a.hash == SCRAM_SHA1 && e.hash == SCRAM_SHA256);
	/* what xmppctl gives every real account */
	CHECK(a.iterations == SCRAM_ITERATIONS && e.iterations == SCRAM_ITERATIONS);
	CHECK(a.salt_len == SCRAM_SALT_LEN && e.salt_len == SCRAM_SALT_LEN);
	/* same secret and name: the same credential, as a real account's */
	CHECK(memcmp(&a, &b, sizeof a) == 0);
	/* another name, another mechanism, another secret: other salts */
	CHECK(memcmp(a.salt, d.salt, a.salt_len) != 0);
	CHECK(memcmp(a.salt, e.salt, a.salt_len) != 0);
	CHECK(memcmp(a.salt, f.salt, a.salt_len) != 0);
	/* keys unrelated to the salt */
	CHECK(memcmp(a.stored_key, a.salt, a.salt_len) != 0);
	CHECK(memcmp(a.stored_key, a.server_key, scram_key_len(SCRAM_SHA1)) != 0);
	CHECK(memcmp(a.stored_key, d.stored_key, scram_key_len(SCRAM_SHA1)) != 0);
	CHECK(scram_cred_check_password(&a, "") == 0);
	CHECK(scram_cred_check_password(&a, "pencil") == 0);
	CHECK(scram_cred_check_password(&e, "pencil") == 0);

	/* no secret, no hash, no output: refused, and *out zeroed */
	memset(&g, 0xff, sizeof g);
	CHECK(scram_cred_fake(SCRAM_SHA1, "ghost", NULL, 32, &g) == -1);
	CHECK(g.salt_len == 0 && g.iterations == 0);
	CHECK(scram_cred_fake(SCRAM_SHA1, "ghost", fake_secret, 0, &g) == -1);
	CHECK(scram_cred_fake((enum scram_hash)7, "ghost", fake_secret,
	    sizeof fake_secret, &g) == -1);
	CHECK(scram_cred_fake(SCRAM_SHA1, NULL, fake_secret, sizeof fake_secret, &g) == -1);
	CHECK(scram_cred_fake(SCRAM_SHA1, "ghost", fake_secret, sizeof fake_secret, NULL) == -1);
	/* an empty name is a name */
	CHECK(scram_cred_fake(SCRAM_SHA1, "", fake_secret, sizeof fake_secret, &g) == 0);

	/* the RFC exchange against a fake credential is refused as a wrong
	 * password would be */
	scram_server_init(&s, SCRAM_SHA1);
	scram_server_set_nonce(&s, "3rfcNHYJY1ZVvWVs7j");
	CHECK(first(&s, V_FIRST, &err) == 0);
	CHECK(scram_server_first(&s, &a, out, sizeof out) == 0);
	CHECK(final(&s, "c=biws,r=" V_NONCE ",p=" V_PROOF, out, sizeof out,
	    &err) == -1);
	CHECK(err == SCRAM_NOT_AUTHORIZED);
}

/* --- credentials ------------------------------------------------------ */

static void test_cred(enum scram_hash h)
{
	struct scram_cred c, p;
	char line[512], bad[600];
	size_t kl = scram_key_len(h);

	CHECK(scram_cred_make(h, "correct horse", NULL, 0, SCRAM_ITERATIONS,
	    &c) == 0);
	CHECK(c.hash == h && c.iterations == SCRAM_ITERATIONS);
	CHECK(scram_cred_check_password(&c, "correct horse") == 1);
	CHECK(scram_cred_check_password(&c, "correct horsf") == 0);
	CHECK(scram_cred_check_password(&c, "") == 0);
	CHECK(scram_cred_check_password(&c, "bad\x07") == 0);
	CHECK(scram_cred_check_password(NULL, "x") == -1);

	/* SASLprep applies to the password: soft hyphen is mapped away */
	CHECK(scram_cred_check_password(&c, "correct\xC2\xAD horse") == 1);

	CHECK(scram_cred_format(&c, line, sizeof line) == 0);
	CHECK(strncmp(line, "4096,", 5) == 0);
	CHECK(scram_cred_parse(h, line, &p) == 0);
	CHECK(p.hash == h && p.iterations == c.iterations);
	CHECK(p.salt_len == c.salt_len);
	CHECK(memcmp(p.salt, c.salt, c.salt_len) == 0);
	CHECK(memcmp(p.stored_key, c.stored_key, kl) == 0);
	CHECK(memcmp(p.server_key, c.server_key, kl) == 0);
	CHECK(scram_cred_check_password(&p, "correct horse") == 1);

	/* format refuses to truncate */
	CHECK(scram_cred_format(&c, line, 20) == -1);
	CHECK(line[0] == '\0');
	CHECK(scram_cred_format(&c, line, sizeof line) == 0);

	/* parse with the wrong hash: key lengths differ */
	CHECK(scram_cred_parse(h == SCRAM_SHA1 ? SCRAM_SHA256 : SCRAM_SHA1,
	    line, &p) == -1);

	/* rejections */
	CHECK(scram_cred_parse(h, "", &p) == -1);
	CHECK(scram_cred_parse(h, NULL, &p) == -1);
	snprintf(bad, sizeof bad, "0%s", strchr(line, ','));
	CHECK(scram_cred_parse(h, bad, &p) == -1);       /* iterations 0 */
	snprintf(bad, sizeof bad, "1000001%s", strchr(line, ','));
	CHECK(scram_cred_parse(h, bad, &p) == -1);       /* too many */
	snprintf(bad, sizeof bad, "99999999999%s", strchr(line, ','));
	CHECK(scram_cred_parse(h, bad, &p) == -1);       /* overflow */
	snprintf(bad, sizeof bad, "-1%s", strchr(line, ','));
	CHECK(scram_cred_parse(h, bad, &p) == -1);
	snprintf(bad, sizeof bad, "%s", strchr(line, ','));
	CHECK(scram_cred_parse(h, bad, &p) == -1);       /* empty iterations */
	snprintf(bad, sizeof bad, "1000000%s", strchr(line, ','));
	CHECK(scram_cred_parse(h, bad, &p) == 0);        /* upper bound ok */
	snprintf(bad, sizeof bad, "%s,", line);
	CHECK(scram_cred_parse(h, bad, &p) == -1);       /* five fields */
	snprintf(bad, sizeof bad, "%s\n", line);
	CHECK(scram_cred_parse(h, bad, &p) == -1);       /* trailing junk */
	snprintf(bad, sizeof bad, "4096,,%s", strchr(strchr(line, ',') + 1,
	    ',') + 1);
	CHECK(scram_cred_parse(h, bad, &p) == -1);       /* empty salt */
	snprintf(bad, sizeof bad, "4096,QSXCR+Q6sek8bf9!%s",
	    strchr(strchr(line, ',') + 1, ','));
	CHECK(scram_cred_parse(h, bad, &p) == -1);       /* bad base64 */
	snprintf(bad, sizeof bad, "4096,QSXCR+Q6sek8bf92,AAAA,AAAA");
	CHECK(scram_cred_parse(h, bad, &p) == -1);       /* short keys */
	CHECK(p.iterations == 0);                        /* zeroed on failure */

	/* make rejections */
	CHECK(scram_cred_make(h, "pw", NULL, 0, 0, &c) == -1);
	CHECK(scram_cred_make(h, "pw", NULL, 0, 1000001, &c) == -1);
	CHECK(scram_cred_make(h, "pw", (const unsigned char *)"", 0, 4096,
	    &c) == -1);
	CHECK(scram_cred_make(h, "bad\x07", NULL, 0, 4096, &c) == -1);
	CHECK(scram_cred_make(h, NULL, NULL, 0, 4096, &c) == -1);
	CHECK(scram_cred_make((enum scram_hash)9, "pw", NULL, 0, 4096,
	    &c) == -1);
}

/* --- base64, sha1_hex, SASLprep, names -------------------------------- */

static void test_b64(void)
{
	unsigned char bin[256], dec[256];
	char enc[400];
	size_t i, n;
	int r;

	for (i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 7 + 3);
	for (n = 0; n <= 10; n++) {
		r = b64_encode(bin, n, enc, sizeof enc);
		CHECK(r == (int)((n + 2) / 3 * 4) && strlen(enc) == (size_t)r);
		CHECK(b64_decode(enc, strlen(enc), dec, sizeof dec) == (int)n);
		CHECK(memcmp(bin, dec, n) == 0);
		/* exact-size output buffer is enough despite pad bytes */
		CHECK(b64_decode(enc, strlen(enc), dec, n) == (int)n);
	}
	CHECK(b64_encode(bin, sizeof bin, enc, sizeof enc) == 344);
	CHECK(b64_decode(enc, 344, dec, sizeof dec) == 256);
	CHECK(memcmp(bin, dec, 256) == 0);

	r = b64_encode((const unsigned char *)"n,,", 3, enc, sizeof enc);
	CHECK(r == 4);
	CHECK_STR(enc, "biws");
	CHECK(b64_encode((const unsigned char *)"abc", 3, enc, 4) == -1);
	CHECK(b64_encode((const unsigned char *)"abc", 3, enc, 5) == 4);

	CHECK(b64_decode("QQ==", 4, dec, sizeof dec) == 1 && dec[0] == 'A');
	CHECK(b64_decode("QUI=", 4, dec, sizeof dec) == 2);
	CHECK(b64_decode("QUJD", 4, dec, 2) == -1);       /* no room */
	CHECK(b64_decode("QQ=", 3, dec, sizeof dec) == -1);
	CHECK(b64_decode("QQ", 2, dec, sizeof dec) == -1);
	CHECK(b64_decode("Q===", 4, dec, sizeof dec) == -1);
	CHECK(b64_decode("====", 4, dec, sizeof dec) == -1);
	CHECK(b64_decode("Q=Q=", 4, dec, sizeof dec) == -1);
	CHECK(b64_decode("QQ==QUJD", 8, dec, sizeof dec) == -1);
	CHECK(b64_decode("QU!D", 4, dec, sizeof dec) == -1);
	CHECK(b64_decode("QU D", 4, dec, sizeof dec) == -1);
	CHECK(b64_decode(" QUJ", 4, dec, sizeof dec) == -1);
	CHECK(b64_decode("QUJ\n", 4, dec, sizeof dec) == -1);
	CHECK(b64_decode("QU-_", 4, dec, sizeof dec) == -1);
	CHECK(b64_decode("", 0, dec, sizeof dec) == 0);
}

static void test_misc(void)
{
	char hex[41], out[64];

	sha1_hex("abc", 3, hex);
	CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1_hex("", 0, hex);
	CHECK_STR(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");

	CHECK(scram_saslprep("I\xC2\xADX", out, sizeof out) == 0);
	CHECK_STR(out, "IX");
	CHECK(scram_saslprep("user", out, sizeof out) == 0);
	CHECK_STR(out, "user");
	CHECK(scram_saslprep("\xC2\xAA", out, sizeof out) == 0);   /* NFKC */
	CHECK_STR(out, "a");
	CHECK(scram_saslprep("a\xC2\xA0" "b", out, sizeof out) == 0);
	CHECK_STR(out, "a b");                                    /* nbsp */
	CHECK(scram_saslprep("\x07", out, sizeof out) == -1);
	CHECK_STR(out, "");
	CHECK(scram_saslprep("\xD8\xA7" "1", out, sizeof out) == -1); /* bidi */
	CHECK(scram_saslprep("\xff\xfe", out, sizeof out) == -1); /* bad UTF-8 */
	CHECK(scram_saslprep("abcdef", out, 6) == -1);            /* no room */
	CHECK(scram_saslprep("abcdef", out, 7) == 0);

	CHECK_STR(scram_mech_name(SCRAM_SHA1), "SCRAM-SHA-1");
	CHECK_STR(scram_mech_name(SCRAM_SHA256), "SCRAM-SHA-256");
	CHECK(scram_key_len(SCRAM_SHA1) == 20);
	CHECK(scram_key_len(SCRAM_SHA256) == 32);
	CHECK(scram_mech_name((enum scram_hash)5) == NULL);
	CHECK(scram_key_len((enum scram_hash)5) == 0);
}

int main(void)
{
	test_rfc5802();
	test_rfc7677();
	test_final_failures();
	test_client_first();
	test_order();
	test_random_roundtrip(SCRAM_SHA1, "n,,", "biws");
	test_random_roundtrip(SCRAM_SHA256, "n,,", "biws");
	test_random_roundtrip(SCRAM_SHA256, "y,,", "eSws");
	test_random_roundtrip(SCRAM_SHA1, "n,a=,", "bixhPSw=");
	test_channel_binding();
	test_channel_binding_setup();
	test_fake();
	test_cred(SCRAM_SHA1);
	test_cred(SCRAM_SHA256);
	test_b64();
	test_misc();

	printf("%d passed, %d failed\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
