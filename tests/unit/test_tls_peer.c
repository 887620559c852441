/*
 * test_tls_peer.c - unit tests for the federation sessions of
 * handler/tls.c: tls_new_s2s_server and tls_new_client handshaking with
 * each other, and what they report about the peer's certificate.
 *
 * Makes a private PKI at test time with OpenSSL (EC P-256, written to a
 * mkdtemp directory): a CA with leaves for a.example and b.example (b's
 * with the serverAuth purpose only), a self-signed certificate, an
 * expired leaf of the CA, and a leaf of another CA. Both sessions run
 * non-blocking on the two ends of a socketpair in this one process,
 * driven by poll(). Prints one line per failing check, then "N passed,
 * M failed"; exits non-zero on failure.
 */
#include "check.h"
#include "certid.h"
#include "io.h"
#include "tls.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define POLL_MS     5000      /* a step that waits longer is a deadlock */
#define MAX_ROUNDS  1000      /* poll rounds per handshake / transfer */
#define DAY         86400L

static char tmpdir[] = "/tmp/test_tls_peer.XXXXXX";
static char ca_file[PATH_MAX];    /* the CA's certificate, PEM */
static char ca_dir[PATH_MAX];     /* the same, as a hashed directory */
static char ca_link[PATH_MAX + 32];

/* One certificate with its key, on disk and in memory. */
struct cert {
	const char *cn;
	char crt[PATH_MAX];
	char key[PATH_MAX];
	X509 *x;
	EVP_PKEY *k;
};

static struct cert ca = { .cn = "xmppd test CA" };
static struct cert ca2 = { .cn = "other test CA" };
static struct cert leaf_a = { .cn = "a.example" };
static struct cert leaf_b = { .cn = "b.example" };
static struct cert self = { .cn = "self.example" };
static struct cert expired = { .cn = "old.example" };
static struct cert stranger = { .cn = "c.example" };

/* --- certificates ----------------------------------------------------- */

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

static int write_pem(struct cert *c)
{
	FILE *f;
	int ok;

	snprintf(c->crt, sizeof c->crt, "%s/%s.crt", tmpdir, c->cn);
	snprintf(c->key, sizeof c->key, "%s/%s.key", tmpdir, c->cn);
	f = fopen(c->crt, "w");
	if (f == NULL)
		return -1;
	ok = PEM_write_X509(f, c->x) == 1;
	if (fclose(f) != 0 || !ok)
		return -1;
	f = fopen(c->key, "w");
	if (f == NULL)
		return -1;
	ok = PEM_write_PrivateKey(f, c->k, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(f) != 0 || !ok)
		return -1;
	return 0;
}

/*
 * c signed by issuer (NULL: self-signed), valid from `from` to `to`
 * seconds from now. A CA gets CA:TRUE; a leaf gets a DNS-ID for its CN
 * and, when eku is set, that extendedKeyUsage. 0 on success.
 */
static int make_cert(struct cert *c, struct cert *issuer, int is_ca,
    long from, long to, const char *eku)
{
	char san[300];
	X509_NAME *name;
	static long serial = 1;
	X509 *ix;

	c->k = EVP_EC_gen("P-256");
	c->x = X509_new();
	if (c->k == NULL || c->x == NULL)
		return -1;
	ix = issuer != NULL ? issuer->x : c->x;
	if (X509_set_version(c->x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(c->x), serial++) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(c->x), from) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(c->x), to) == NULL ||
	    X509_set_pubkey(c->x, c->k) != 1)
		return -1;
	name = X509_get_subject_name(c->x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)c->cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(c->x, X509_get_subject_name(ix)) != 1)
		return -1;
	if (is_ca) {
		if (add_ext(c->x, ix, NID_basic_constraints,
		    "critical,CA:TRUE") != 0 ||
		    add_ext(c->x, ix, NID_key_usage,
		    "critical,keyCertSign,cRLSign") != 0)
			return -1;
	} else {
		snprintf(san, sizeof san, "DNS:%s", c->cn);
		if (add_ext(c->x, ix, NID_subject_alt_name, san) != 0 ||
		    add_ext(c->x, ix, NID_basic_constraints, "CA:FALSE") != 0)
			return -1;
		if (eku != NULL && add_ext(c->x, ix, NID_ext_key_usage, eku) != 0)
			return -1;
	}
	if (X509_sign(c->x, issuer != NULL ? issuer->k : c->k,
	    EVP_sha256()) <= 0)
		return -1;
	return write_pem(c);
}

static void drop_cert(struct cert *c)
{
	if (c->crt[0])
		unlink(c->crt);
	if (c->key[0])
		unlink(c->key);
	X509_free(c->x);
	EVP_PKEY_free(c->k);
	c->x = NULL;
	c->k = NULL;
}

/* The whole PKI, and the CA as a file and as a hashed directory. */
static int make_pki(void)
{
	if (make_cert(&ca, NULL, 1, -60, DAY, NULL) != 0 ||
	    make_cert(&ca2, NULL, 1, -60, DAY, NULL) != 0 ||
	    make_cert(&leaf_a, &ca, 0, -60, DAY, NULL) != 0 ||
	    make_cert(&leaf_b, &ca, 0, -60, DAY, "serverAuth") != 0 ||
	    make_cert(&self, NULL, 0, -60, DAY, NULL) != 0 ||
	    make_cert(&expired, &ca, 0, -2 * DAY, -DAY, NULL) != 0 ||
	    make_cert(&stranger, &ca2, 0, -60, DAY, NULL) != 0)
		return -1;
	snprintf(ca_file, sizeof ca_file, "%s", ca.crt);
	snprintf(ca_dir, sizeof ca_dir, "%s/cadir", tmpdir);
	snprintf(ca_link, sizeof ca_link, "%s/%08lx.0", ca_dir,
	    X509_NAME_hash_ex(X509_get_subject_name(ca.x), NULL, NULL, NULL));
	if (mkdir(ca_dir, 0700) != 0 || symlink(ca.crt, ca_link) != 0)
		return -1;
	return 0;
}

static struct tls_cert_spec spec(const char *domain, const struct cert *c)
{
	struct tls_cert_spec s = { domain, c->crt, c->key };

	return s;
}

/* --- two sessions on a socketpair ------------------------------------- */

struct pair {
	struct tls *s, *c;           /* inbound server, outbound client */
	int sfd, cfd;
	int s_rc, c_rc;              /* last tls_handshake() results */
	char err[512];
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void pair_close(struct pair *p)
{
	tls_free(p->s);
	tls_free(p->c);
	if (p->sfd >= 0)
		close(p->sfd);
	if (p->cfd >= 0)
		close(p->cfd);
	memset(p, 0, sizeof *p);
	p->sfd = p->cfd = -1;
	ERR_clear_error();
}

/*
 * Server with scerts (s2s unless c2s is set: then tls_new, as for a
 * client stream), client with ccerts and o; the same trust both sides.
 * 0, or -1 (the reason printed).
 */
static int pair_open(struct pair *p, const struct tls_cert_spec *scerts,
    int ns, int c2s, const struct tls_cert_spec *ccerts, int nc,
    const struct tls_client_opts *o, const struct tls_trust *trust)
{
	int sv[2];

	memset(p, 0, sizeof *p);
	p->sfd = p->cfd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	p->sfd = sv[0];
	p->cfd = sv[1];
	if (set_nonblock(p->sfd) != 0 || set_nonblock(p->cfd) != 0)
		return -1;
	p->s = c2s ? tls_new(scerts, ns, p->sfd, p->sfd, p->err, sizeof p->err)
	    : tls_new_s2s_server(scerts, ns, trust, p->sfd, p->sfd, p->err,
	    sizeof p->err);
	if (p->s == NULL) {
		printf("server: %s\n", p->err);
		return -1;
	}
	p->c = tls_new_client(ccerts, nc, trust, o, p->cfd, p->cfd, p->err,
	    sizeof p->err);
	if (p->c == NULL) {
		printf("client: %s\n", p->err);
		return -1;
	}
	return 0;
}

static short events(int rc)
{
	return rc == TLS_WANT_WRITE ? POLLOUT : POLLIN;
}

/* Drive both handshakes to the end: 0 when both completed. */
static int handshake(struct pair *p)
{
	struct pollfd fds[2];
	nfds_t n;
	int i;

	p->s_rc = p->c_rc = TLS_WANT_READ;
	for (i = 0; i < MAX_ROUNDS; i++) {
		if (p->c_rc != TLS_OK)
			p->c_rc = tls_handshake(p->c);
		if (p->s_rc != TLS_OK)
			p->s_rc = tls_handshake(p->s);
		if (p->s_rc == TLS_OK && p->c_rc == TLS_OK)
			return 0;
		if (p->s_rc == TLS_ERR || p->c_rc == TLS_ERR)
			break;
		n = 0;
		if (p->s_rc != TLS_OK) {
			fds[n].fd = p->sfd;
			fds[n++].events = events(p->s_rc);
		}
		if (p->c_rc != TLS_OK) {
			fds[n].fd = p->cfd;
			fds[n++].events = events(p->c_rc);
		}
		if (poll(fds, n, POLL_MS) <= 0)
			break;
	}
	printf("handshake: server %d (%s), client %d (%s)\n", p->s_rc,
	    tls_error(p->s), p->c_rc, tls_error(p->c));
	return -1;
}

static int connect_ok(struct pair *p, const struct tls_cert_spec *scerts,
    int ns, const struct tls_cert_spec *ccerts, int nc,
    const struct tls_client_opts *o, const struct tls_trust *trust)
{
	if (pair_open(p, scerts, ns, 0, ccerts, nc, o, trust) != 0)
		return -1;
	return handshake(p);
}

/* from -> to: len bytes with tls_write/tls_read; 0 if they arrived. */
static int transfer(struct tls *from, int ffd, struct tls *to, int tfd,
    const char *data)
{
	char got[256];
	size_t len = strlen(data), sent = 0, recvd = 0;
	struct pollfd fds[2];
	long r = TLS_WANT_READ;
	int i;

	for (i = 0; i < MAX_ROUNDS && recvd < len; i++) {
		if (sent < len) {
			r = tls_write(from, data + sent, len - sent);
			if (r > 0)
				sent += (size_t)r;
			else if (r != TLS_WANT_READ && r != TLS_WANT_WRITE)
				return -1;
		}
		r = tls_read(to, got + recvd, sizeof got - recvd);
		if (r > 0) {
			recvd += (size_t)r;
			continue;
		}
		if (r != TLS_WANT_READ && r != TLS_WANT_WRITE)
			return -1;
		fds[0].fd = tfd;
		fds[0].events = events((int)r);
		fds[1].fd = ffd;
		fds[1].events = POLLOUT;
		if (poll(fds, sent < len ? 2 : 1, POLL_MS) <= 0)
			return -1;
	}
	return recvd == len && memcmp(got, data, len) == 0 ? 0 : -1;
}

static int same_cert(X509 *a, X509 *b)
{
	return a != NULL && b != NULL && X509_cmp(a, b) == 0;
}

static int contains(const char *hay, const char *needle)
{
	return hay != NULL && needle != NULL && strstr(hay, needle) != NULL;
}

/* --- tests ------------------------------------------------------------ */

static const struct tls_trust trust_ca = { .ca_file = ca_file };

/*
 * Both leaves from our CA, the CA configured: each side trusts the
 * other, sees the other's leaf, and matches it with certid. b's
 * certificate, serverAuth only, is trusted as a client certificate too.
 */
static void test_trusted(void)
{
	struct tls_cert_spec s[1] = { spec("a.example", &leaf_a) };
	struct tls_cert_spec c[1] = { spec("b.example", &leaf_b) };
	struct tls_client_opts o = { .local = "b.example",
	    .remote = "a.example" };
	unsigned char cb_s[TLS_CB_MAX], cb_c[TLS_CB_MAX];
	int n;
	struct pair p;

	if (!CHECK(pair_open(&p, s, 1, 0, c, 1, &o, &trust_ca) == 0)) {
		pair_close(&p);
		return;
	}
	/* nothing to say before the handshake */
	CHECK_INT(tls_peer_status(p.s), TLS_PEER_PENDING);
	CHECK_INT(tls_peer_status(p.c), TLS_PEER_PENDING);
	CHECK(tls_peer_cert(p.c) == NULL);
	CHECK(tls_peer_error(p.c) == NULL);
	if (!CHECK(handshake(&p) == 0)) {
		pair_close(&p);
		return;
	}
	CHECK_INT(tls_is_client(p.c), 1);
	CHECK_INT(tls_is_client(p.s), 0);
	CHECK_STR(tls_sni(p.s), "a.example");

	CHECK_INT(tls_peer_status(p.c), TLS_PEER_TRUSTED);
	CHECK(tls_peer_error(p.c) == NULL);
	CHECK(same_cert(tls_peer_cert(p.c), leaf_a.x));
	CHECK_INT(certid_match(tls_peer_cert(p.c), "a.example"), CERTID_DNS_ID);
	CHECK_INT(certid_match(tls_peer_cert(p.c), "b.example"), CERTID_NONE);

	CHECK_INT(tls_peer_status(p.s), TLS_PEER_TRUSTED);
	if (!CHECK(tls_peer_error(p.s) == NULL))
		printf("  server: %s\n", tls_peer_error(p.s));
	CHECK(same_cert(tls_peer_cert(p.s), leaf_b.x));
	CHECK_INT(certid_match(tls_peer_cert(p.s), "b.example"), CERTID_DNS_ID);

	/* no ALPN unless direct TLS */
	CHECK(tls_alpn(p.c) == NULL);
	CHECK(tls_alpn(p.s) == NULL);

	/* tls-server-end-point: both sides hash the server's certificate */
	n = tls_cb_server_end_point(p.s, cb_s, sizeof cb_s);
	CHECK_INT(n, 32);
	CHECK_INT(tls_cb_server_end_point(p.c, cb_c, sizeof cb_c), 32);
	CHECK(n == 32 && memcmp(cb_s, cb_c, 32) == 0);

	/* the same read/write functions carry data both ways */
	CHECK(transfer(p.c, p.cfd, p.s, p.sfd, "<stream:stream to='a.example'>")
	    == 0);
	CHECK(transfer(p.s, p.sfd, p.c, p.cfd, "<stream:features/>") == 0);
	tls_shutdown(p.c);
	pair_close(&p);
}

/* The CA as a hashed directory works as the file does. */
static void test_ca_dir(void)
{
	struct tls_cert_spec s[1] = { spec("a.example", &leaf_a) };
	struct tls_cert_spec c[1] = { spec("b.example", &leaf_b) };
	struct tls_client_opts o = { .local = "b.example",
	    .remote = "a.example" };
	struct tls_trust dir = { .ca_dir = ca_dir };
	struct pair p;

	if (CHECK(connect_ok(&p, s, 1, c, 1, &o, &dir) == 0)) {
		CHECK_INT(tls_peer_status(p.c), TLS_PEER_TRUSTED);
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_TRUSTED);
	}
	pair_close(&p);
}

/*
 * Without our CA (the system store by default, which does not know it),
 * the same certificates are presented but not trusted; the handshake
 * still completes and the leaf is still there for certid.
 */
static void test_unknown_ca(void)
{
	struct tls_cert_spec s[1] = { spec("a.example", &leaf_a) };
	struct tls_cert_spec c[1] = { spec("b.example", &leaf_b) };
	struct tls_client_opts o = { .local = "b.example",
	    .remote = "a.example" };
	struct tls_trust other = { .ca_file = ca2.crt };
	struct pair p;

	if (CHECK(connect_ok(&p, s, 1, c, 1, &o, NULL) == 0)) {
		CHECK_INT(tls_peer_status(p.c), TLS_PEER_UNTRUSTED);
		CHECK(contains(tls_peer_error(p.c), "local issuer"));
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_UNTRUSTED);
		CHECK(contains(tls_peer_error(p.s), "local issuer"));
		CHECK(same_cert(tls_peer_cert(p.c), leaf_a.x));
		CHECK_INT(certid_match(tls_peer_cert(p.c), "a.example"),
		    CERTID_DNS_ID);
	}
	pair_close(&p);

	/* another CA configured: still not ours */
	if (CHECK(connect_ok(&p, s, 1, c, 1, &o, &other) == 0)) {
		CHECK_INT(tls_peer_status(p.c), TLS_PEER_UNTRUSTED);
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_UNTRUSTED);
	}
	pair_close(&p);
}

/* Self-signed, expired, or from another CA: untrusted, with the reason. */
static void test_bad_chains(void)
{
	struct tls_cert_spec good[1] = { spec("a.example", &leaf_a) };
	struct tls_cert_spec s_self[1] = { spec(NULL, &self) };
	struct tls_cert_spec c_self[1] = { spec("self.example", &self) };
	struct tls_cert_spec c_old[1] = { spec("old.example", &expired) };
	struct tls_cert_spec c_other[1] = { spec("c.example", &stranger) };
	struct tls_client_opts o = { .local = "x.example",
	    .remote = "a.example" };
	struct pair p;

	/* a self-signed server certificate, seen by the client */
	if (CHECK(connect_ok(&p, s_self, 1, good, 1, &o, &trust_ca) == 0)) {
		CHECK_INT(tls_peer_status(p.c), TLS_PEER_UNTRUSTED);
		CHECK(contains(tls_peer_error(p.c), "self") &&
		    contains(tls_peer_error(p.c), "signed"));
		CHECK(same_cert(tls_peer_cert(p.c), self.x));
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_TRUSTED);
	}
	pair_close(&p);

	/* a self-signed client certificate, seen by the server */
	if (CHECK(connect_ok(&p, good, 1, c_self, 1, &o, &trust_ca) == 0)) {
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_UNTRUSTED);
		CHECK(contains(tls_peer_error(p.s), "self") &&
		    contains(tls_peer_error(p.s), "signed"));
		CHECK(same_cert(tls_peer_cert(p.s), self.x));
		CHECK_INT(tls_peer_status(p.c), TLS_PEER_TRUSTED);
	}
	pair_close(&p);

	/* our CA's leaf, but expired */
	if (CHECK(connect_ok(&p, good, 1, c_old, 1, &o, &trust_ca) == 0)) {
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_UNTRUSTED);
		CHECK(contains(tls_peer_error(p.s), "expired"));
	}
	pair_close(&p);

	/* a leaf of a CA we were not told of */
	if (CHECK(connect_ok(&p, good, 1, c_other, 1, &o, &trust_ca) == 0)) {
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_UNTRUSTED);
		CHECK(contains(tls_peer_error(p.s), "local issuer"));
		CHECK(same_cert(tls_peer_cert(p.s), stranger.x));
	}
	pair_close(&p);
}

/* A client without a certificate: "none" on the server, not an error. */
static void test_no_cert(void)
{
	struct tls_cert_spec s[1] = { spec("a.example", &leaf_a) };
	struct tls_client_opts o = { .local = "b.example",
	    .remote = "a.example" };
	struct pair p;

	if (CHECK(connect_ok(&p, s, 1, NULL, 0, &o, &trust_ca) == 0)) {
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_NONE);
		CHECK(tls_peer_cert(p.s) == NULL);
		CHECK(tls_peer_error(p.s) == NULL);
		CHECK_INT(tls_peer_status(p.c), TLS_PEER_TRUSTED);
		CHECK(transfer(p.c, p.cfd, p.s, p.sfd, "<db:result/>") == 0);
	}
	pair_close(&p);
}

/*
 * SNI: the server with several certificates answers the name the client
 * asked for; the client presents the certificate of its own domain,
 * chosen like the server chooses (ignoring case; default otherwise).
 */
static void test_choice(void)
{
	struct tls_cert_spec many[3] = {
		spec(NULL, &self),
		spec("a.example", &leaf_a),
		spec("b.example", &leaf_b),
	};
	struct tls_cert_spec later_default[2] = {
		spec("b.example", &leaf_b),
		spec(NULL, &self),
	};
	struct tls_client_opts o = { .local = "A.Example",
	    .remote = "b.example" };
	struct pair p;

	if (CHECK(connect_ok(&p, many, 3, many, 3, &o, &trust_ca) == 0)) {
		CHECK_STR(tls_sni(p.s), "b.example");
		CHECK_STR(tls_sni(p.c), "b.example");
		CHECK(same_cert(tls_peer_cert(p.c), leaf_b.x));
		CHECK_INT(certid_match(tls_peer_cert(p.c), "b.example"),
		    CERTID_DNS_ID);
		CHECK_INT(tls_peer_status(p.c), TLS_PEER_TRUSTED);
		CHECK(same_cert(tls_peer_cert(p.s), leaf_a.x));
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_TRUSTED);
	}
	pair_close(&p);

	/* an unknown local domain: the default certificate */
	o.local = "elsewhere.example";
	o.remote = "a.example";
	if (CHECK(connect_ok(&p, many, 3, many, 3, &o, &trust_ca) == 0)) {
		CHECK_STR(tls_sni(p.s), "a.example");
		CHECK(same_cert(tls_peer_cert(p.c), leaf_a.x));
		CHECK(same_cert(tls_peer_cert(p.s), self.x));
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_UNTRUSTED);
	}
	pair_close(&p);

	/* the default is the first without a domain, wherever it is */
	if (CHECK(connect_ok(&p, many, 3, later_default, 2, &o,
	    &trust_ca) == 0))
		CHECK(same_cert(tls_peer_cert(p.s), self.x));
	pair_close(&p);
}

/* Direct TLS offers ALPN "xmpp-server"; an inbound session agrees. */
static void test_direct_alpn(void)
{
	struct tls_cert_spec s[1] = { spec("a.example", &leaf_a) };
	struct tls_cert_spec c[1] = { spec("b.example", &leaf_b) };
	struct tls_client_opts o = { .local = "b.example",
	    .remote = "a.example", .direct = 1 };
	struct pair p;

	if (CHECK(connect_ok(&p, s, 1, c, 1, &o, &trust_ca) == 0)) {
		CHECK_STR(tls_alpn(p.c), TLS_ALPN_S2S);
		CHECK_STR(tls_alpn(p.s), TLS_ALPN_S2S);
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_TRUSTED);
	}
	pair_close(&p);
}

/*
 * An inbound session against a plain OpenSSL client limited to TLS 1.2,
 * where the certificate request travels in the first flight: the
 * client's certificate is verified the same way. The client offers ALPN
 * "xmpp-client" only, which the session declines without failing.
 */
static void test_tls12_openssl_client(void)
{
	static const unsigned char alpn[] = "\x0bxmpp-client";
	struct tls_cert_spec s[1] = { spec("a.example", &leaf_a) };
	struct pair p;
	struct pollfd fds[2];
	nfds_t n;
	SSL_CTX *cctx = NULL;
	SSL *c = NULL;
	int s_rc = TLS_WANT_READ, c_done = 0, r, i, cev = POLLOUT;
	int sv[2];

	memset(&p, 0, sizeof p);
	p.sfd = p.cfd = -1;
	if (!CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0))
		return;
	p.sfd = sv[0];
	p.cfd = sv[1];
	p.s = tls_new_s2s_server(s, 1, &trust_ca, p.sfd, p.sfd, p.err,
	    sizeof p.err);
	cctx = SSL_CTX_new(TLS_client_method());
	if (!CHECK(p.s != NULL && cctx != NULL) ||
	    !CHECK(set_nonblock(p.sfd) == 0 && set_nonblock(p.cfd) == 0) ||
	    !CHECK(SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION) == 1) ||
	    !CHECK(SSL_CTX_use_certificate_file(cctx, leaf_b.crt,
	    SSL_FILETYPE_PEM) == 1) ||
	    !CHECK(SSL_CTX_use_PrivateKey_file(cctx, leaf_b.key,
	    SSL_FILETYPE_PEM) == 1) ||
	    !CHECK(SSL_CTX_set_alpn_protos(cctx, alpn, sizeof alpn - 1) == 0) ||
	    !CHECK((c = SSL_new(cctx)) != NULL) ||
	    !CHECK(SSL_set_fd(c, p.cfd) == 1) ||
	    !CHECK(SSL_set_tlsext_host_name(c, "a.example") == 1))
		goto out;
	SSL_set_connect_state(c);
	for (i = 0; i < MAX_ROUNDS && !(c_done && s_rc == TLS_OK); i++) {
		if (!c_done) {
			r = SSL_do_handshake(c);
			if (r == 1)
				c_done = 1;
			else if (SSL_get_error(c, r) == SSL_ERROR_WANT_READ)
				cev = POLLIN;
			else if (SSL_get_error(c, r) == SSL_ERROR_WANT_WRITE)
				cev = POLLOUT;
			else
				break;
		}
		if (s_rc != TLS_OK)
			s_rc = tls_handshake(p.s);
		if (s_rc == TLS_ERR || (c_done && s_rc == TLS_OK))
			break;
		n = 0;
		if (s_rc != TLS_OK) {
			fds[n].fd = p.sfd;
			fds[n++].events = events(s_rc);
		}
		if (!c_done) {
			fds[n].fd = p.cfd;
			fds[n++].events = (short)cev;
		}
		if (poll(fds, n, POLL_MS) <= 0)
			break;
	}
	if (CHECK(c_done && s_rc == TLS_OK)) {
		CHECK_STR(tls_version(p.s), "TLSv1.2");
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_TRUSTED);
		CHECK(same_cert(tls_peer_cert(p.s), leaf_b.x));
		CHECK(tls_alpn(p.s) == NULL);
		CHECK_STR(tls_sni(p.s), "a.example");
	}
out:
	SSL_free(c);
	SSL_CTX_free(cctx);
	pair_close(&p);
}

/*
 * A client stream's server (tls_new) is unchanged: it asks for no
 * certificate, so the peer's stays unknown, and agrees on no ALPN.
 */
static void test_c2s_unchanged(void)
{
	struct tls_cert_spec s[1] = { spec("a.example", &leaf_a) };
	struct tls_cert_spec c[1] = { spec("b.example", &leaf_b) };
	struct tls_client_opts o = { .local = "b.example",
	    .remote = "a.example", .direct = 1 };
	struct pair p;

	if (CHECK(pair_open(&p, s, 1, 1, c, 1, &o, &trust_ca) == 0) &&
	    CHECK(handshake(&p) == 0)) {
		CHECK_INT(tls_peer_status(p.s), TLS_PEER_PENDING);
		CHECK(tls_peer_cert(p.s) == NULL);
		CHECK(tls_alpn(p.s) == NULL);
		CHECK(tls_alpn(p.c) == NULL);
		CHECK_INT(tls_peer_status(p.c), TLS_PEER_TRUSTED);
	}
	pair_close(&p);
}

/*
 * The connection wrapper: an outbound direct TLS session attached to an
 * io starts at the first io_flush (nothing queued), finishes through
 * io_read/io_flush, and then carries the stream.
 */
static void test_io_attach(void)
{
	struct tls_cert_spec s[1] = { spec("a.example", &leaf_a) };
	struct tls_cert_spec c[1] = { spec("b.example", &leaf_b) };
	struct tls_client_opts o = { .local = "b.example",
	    .remote = "a.example", .direct = 1 };
	struct xbuf out = { 0 };
	struct pollfd fds[2];
	struct io io;
	struct tls *other;
	char buf[64];
	long n = 0;
	int i, s_rc = TLS_WANT_READ;
	struct pair p;

	if (!CHECK(pair_open(&p, s, 1, 0, c, 1, &o, &trust_ca) == 0)) {
		pair_close(&p);
		return;
	}
	io_init(&io, p.cfd, p.cfd);
	CHECK_INT(io_tls_attach(&io, p.c), 0);
	p.c = NULL;                            /* io owns it now */
	other = tls_new_client(c, 1, &trust_ca, &o, p.cfd, p.cfd, p.err,
	    sizeof p.err);
	CHECK_INT(io_tls_attach(&io, other), -1);  /* TLS already on */
	tls_free(other);
	CHECK(!io_secure(&io));
	for (i = 0; i < MAX_ROUNDS && !(io_secure(&io) && s_rc == TLS_OK);
	    i++) {
		if (!CHECK(io_flush(&io, &out) == 0) ||
		    !CHECK(io_read(&io, buf, sizeof buf) >= 0))
			break;
		if (s_rc != TLS_OK)
			s_rc = tls_handshake(p.s);
		if (s_rc == TLS_ERR)
			break;
		fds[0].fd = p.cfd;
		fds[0].events = io_events(&io, 0);
		fds[1].fd = p.sfd;
		fds[1].events = events(s_rc);
		if (!io_secure(&io) && poll(fds, s_rc == TLS_OK ? 1 : 2,
		    POLL_MS) <= 0)
			break;
	}
	CHECK(io_secure(&io));
	CHECK_INT(s_rc, TLS_OK);
	CHECK_INT(tls_peer_status(io.tls), TLS_PEER_TRUSTED);
	CHECK_STR(tls_alpn(p.s), TLS_ALPN_S2S);
	xbuf_adds(&out, "<stream:stream/>");
	CHECK(io_flush(&io, &out) == 0);
	CHECK_INT(out.len, 0);
	for (i = 0; i < MAX_ROUNDS; i++) {
		n = tls_read(p.s, buf, sizeof buf);
		if (n != TLS_WANT_READ)
			break;
		fds[0].fd = p.sfd;
		fds[0].events = POLLIN;
		if (poll(fds, 1, POLL_MS) <= 0)
			break;
	}
	CHECK(n == 16 && memcmp(buf, "<stream:stream/>", 16) == 0);
	xbuf_free(&out);
	io_free(&io);                          /* frees the client session */
	pair_close(&p);
}

/* Construction errors name what failed; nothing leaks (ASan checks). */
static void test_errors(void)
{
	struct tls_cert_spec c[1] = { spec("b.example", &leaf_b) };
	struct tls_client_opts o = { .local = "b.example",
	    .remote = "a.example" };
	struct tls_client_opts nosni = { .local = "b.example" };
	char missing[PATH_MAX + 16], err[512];
	struct tls_trust bad_file = { .ca_file = missing };
	struct tls_trust bad_dir = { .ca_dir = missing };
	struct tls_trust file_as_dir = { .ca_dir = ca_file };
	struct tls *t;

	snprintf(missing, sizeof missing, "%s/absent.pem", tmpdir);
	t = tls_new_client(c, 1, &bad_file, &o, 0, 1, err, sizeof err);
	CHECK(t == NULL);
	CHECK(contains(err, "CA file") && contains(err, missing));
	t = tls_new_s2s_server(c, 1, &bad_file, 0, 1, err, sizeof err);
	CHECK(t == NULL);
	CHECK(contains(err, missing));
	t = tls_new_client(c, 1, &bad_dir, &o, 0, 1, err, sizeof err);
	CHECK(t == NULL);
	CHECK(contains(err, "CA directory") && contains(err, missing));
	t = tls_new_client(c, 1, &file_as_dir, &o, 0, 1, err, sizeof err);
	CHECK(t == NULL);
	CHECK(contains(err, "not a directory"));
	CHECK(tls_new_client(c, 1, &trust_ca, &nosni, 0, 1, err,
	    sizeof err) == NULL);
	CHECK(contains(err, "SNI"));
	CHECK(tls_new_client(c, 1, &trust_ca, NULL, 0, 1, err,
	    sizeof err) == NULL);
	CHECK(tls_new_client(c, -1, &trust_ca, &o, 0, 1, err,
	    sizeof err) == NULL);
	CHECK(tls_new_client(NULL, 1, &trust_ca, &o, 0, 1, err,
	    sizeof err) == NULL);
	CHECK(tls_new_client(c, 1, &trust_ca, &o, -1, 1, err,
	    sizeof err) == NULL);
	CHECK(tls_new_s2s_server(c, 0, &trust_ca, 0, 1, err,
	    sizeof err) == NULL);
	/* the system store loads: NULL trust is the default */
	t = tls_new_client(c, 1, NULL, &o, 0, 1, err, sizeof err);
	CHECK(t != NULL);
	tls_free(t);

	CHECK_INT(tls_peer_status(NULL), TLS_PEER_PENDING);
	CHECK(tls_peer_cert(NULL) == NULL);
	CHECK(tls_peer_error(NULL) == NULL);
	CHECK(tls_alpn(NULL) == NULL);
	CHECK_INT(tls_is_client(NULL), 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (make_pki() != 0) {
		ERR_print_errors_fp(stdout);
		CHECK(!"certificates made");
	} else {
		test_trusted();
		test_ca_dir();
		test_unknown_ca();
		test_bad_chains();
		test_no_cert();
		test_choice();
		test_direct_alpn();
		test_tls12_openssl_client();
		test_c2s_unchanged();
		test_io_attach();
		test_errors();
	}
	unlink(ca_link);
	rmdir(ca_dir);
	drop_cert(&ca);
	drop_cert(&ca2);
	drop_cert(&leaf_a);
	drop_cert(&leaf_b);
	drop_cert(&self);
	drop_cert(&expired);
	drop_cert(&stranger);
	rmdir(tmpdir);
	return CHECK_DONE();
}
