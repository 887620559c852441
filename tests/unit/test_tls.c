/*
 * test_tls.c - unit tests for handler/tls.c.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Ihandler \
 *        tests/unit/test_tls.c handler/tls.c -lssl -lcrypto -o test_tls
 *
 * Makes throwaway self-signed certificates (EC P-256, built in memory with
 * OpenSSL and written to a mkdtemp directory), then runs our tls_* server
 * on one end of a socketpair and a plain OpenSSL client on the other, both
 * non-blocking in this one process, driven by poll(). Prints one line per
 * failing check, then "N passed, M failed"; exits non-zero on failure.
 */
#include "check.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define POLL_MS        5000      /* a step that waits longer is a deadlock */
#define MAX_ROUNDS     10000     /* poll rounds per handshake / transfer */
#define BIG_LEN        (1 << 20) /* bytes for the bulk transfer test */
#define CERT_DAYS      1
#define EXPORTER_LABEL "EXPORTER-Channel-Binding"
#define EXPORTER_LEN   32

static char tmpdir[] = "/tmp/test_tls.XXXXXX";

/* One certificate on disk and in memory. */
struct cert {
	const char *cn;
	char cert_path[PATH_MAX];
	char key_path[PATH_MAX];
	char cert_name[64];          /* relative names, for CREDENTIALS_DIRECTORY */
	char key_name[64];
	X509 *x509;
};

static struct cert cert_a = { .cn = "a.example.org" };
static struct cert cert_b = { .cn = "default.test" };
static struct cert cert_c = { .cn = "chat.example.net" };
static struct cert cert_384 = { .cn = "sha384.test" };

/* Our server and an OpenSSL client on the two ends of a socketpair. */
struct pair {
	struct tls *t;
	int sfd, sfd_w;              /* server read fd and a dup for writing */
	int cfd;
	SSL_CTX *cctx;
	SSL *c;
};

/* What the client offers. */
struct client_opts {
	int max_version;             /* 0: highest */
	int min_version;             /* 0: OpenSSL's default */
	const char *ciphers;         /* TLS <= 1.2 cipher list, NULL default */
	const char *sni;             /* NULL: no SNI */
	int seclevel0;               /* allow legacy protocol versions */
};

/* --- certificates ----------------------------------------------------- */

/*
 * Self-signed certificate for c->cn with a fresh P-256 key, signed with
 * md, written as PEM to tmpdir. 0 on success.
 */
static int make_cert(struct cert *c, const EVP_MD *md)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	FILE *f = NULL;
	int rc = -1;

	snprintf(c->cert_name, sizeof c->cert_name, "%s.crt", c->cn);
	snprintf(c->key_name, sizeof c->key_name, "%s.key", c->cn);
	snprintf(c->cert_path, sizeof c->cert_path, "%s/%s", tmpdir,
	    c->cert_name);
	snprintf(c->key_path, sizeof c->key_path, "%s/%s", tmpdir, c->key_name);

	key = EVP_EC_gen("P-256");
	x = X509_new();
	if (key == NULL || x == NULL)
		goto fail;
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -60) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * CERT_DAYS) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)c->cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_sign(x, key, md) <= 0)
		goto fail;

	f = fopen(c->cert_path, "w");
	if (f == NULL || PEM_write_X509(f, x) != 1 || fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	f = fopen(c->key_path, "w");
	if (f == NULL || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
	    NULL) != 1 || fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	f = NULL;
	c->x509 = x;
	x = NULL;
	rc = 0;
fail:
	if (f != NULL)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

static void drop_cert(struct cert *c)
{
	unlink(c->cert_path);
	unlink(c->key_path);
	X509_free(c->x509);
	c->x509 = NULL;
}

static struct tls_cert_spec spec(const char *domain, const struct cert *c)
{
	struct tls_cert_spec s = { domain, c->cert_path, c->key_path };

	return s;
}

/* --- the connection pair ---------------------------------------------- */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Socketpair, our server on one end, a configured client on the other. */
static int pair_open(struct pair *p, const struct tls_cert_spec *certs,
    int n, const struct client_opts *o)
{
	int sv[2];
	char err[512];

	memset(p, 0, sizeof *p);
	p->sfd = p->sfd_w = p->cfd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	p->sfd = sv[0];
	p->cfd = sv[1];
	p->sfd_w = dup(p->sfd);
	if (p->sfd_w < 0 || set_nonblock(p->sfd) != 0 ||
	    set_nonblock(p->cfd) != 0)
		return -1;
	p->t = tls_new(certs, n, p->sfd, p->sfd_w, err, sizeof err);
	if (p->t == NULL) {
		printf("tls_new: %s\n", err);
		return -1;
	}
	p->cctx = SSL_CTX_new(TLS_client_method());
	if (p->cctx == NULL)
		return -1;
	SSL_CTX_set_mode(p->cctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (o != NULL && o->seclevel0)
		SSL_CTX_set_security_level(p->cctx, 0);
	if (o != NULL && o->min_version &&
	    SSL_CTX_set_min_proto_version(p->cctx, o->min_version) != 1)
		return -1;
	if (o != NULL && o->max_version &&
	    SSL_CTX_set_max_proto_version(p->cctx, o->max_version) != 1)
		return -1;
	if (o != NULL && o->ciphers != NULL &&
	    SSL_CTX_set_cipher_list(p->cctx, o->ciphers) != 1)
		return -1;
	p->c = SSL_new(p->cctx);
	if (p->c == NULL || SSL_set_fd(p->c, p->cfd) != 1)
		return -1;
	if (o != NULL && o->sni != NULL &&
	    SSL_set_tlsext_host_name(p->c, o->sni) != 1)
		return -1;
	SSL_set_connect_state(p->c);
	return 0;
}

static void pair_close(struct pair *p)
{
	tls_free(p->t);
	SSL_free(p->c);
	SSL_CTX_free(p->cctx);
	if (p->sfd >= 0)
		close(p->sfd);
	if (p->sfd_w >= 0)
		close(p->sfd_w);
	if (p->cfd >= 0)
		close(p->cfd);
	memset(p, 0, sizeof *p);
	p->sfd = p->sfd_w = p->cfd = -1;
	ERR_clear_error();
}

/* poll() events for the client's last SSL result r. -1 if it failed. */
static int client_events(SSL *c, int r)
{
	switch (SSL_get_error(c, r)) {
	case SSL_ERROR_WANT_READ:
		return POLLIN;
	case SSL_ERROR_WANT_WRITE:
		return POLLOUT;
	default:
		return -1;
	}
}

/*
 * Wait until the server side (want = TLS_WANT_READ/WRITE, or 0 for
 * nothing) or the client side (cev poll events, 0 for nothing) can go
 * on. -1 on timeout: then both sides wait on each other.
 */
static int wait_both(struct pair *p, int want, int cev)
{
	struct pollfd fds[2];
	nfds_t n = 0;

	if (want == TLS_WANT_READ || want == TLS_WANT_WRITE) {
		fds[n].fd = want == TLS_WANT_READ ? p->sfd : p->sfd_w;
		fds[n].events = want == TLS_WANT_READ ? POLLIN : POLLOUT;
		n++;
	}
	if (cev > 0) {
		fds[n].fd = p->cfd;
		fds[n].events = (short)cev;
		n++;
	}
	if (n == 0)
		return 0;
	return poll(fds, n, POLL_MS) > 0 ? 0 : -1;
}

/*
 * Run both handshakes until both finish (0) or either fails (-1).
 * *srv gets the server's last tls_handshake() result, *cli 1 if the
 * client failed.
 */
static int handshake(struct pair *p, int *srv, int *cli)
{
	int s_rc = TLS_WANT_READ, s_done = 0, c_done = 0, cev = 0, r, i;

	*cli = 0;
	for (i = 0; i < MAX_ROUNDS; i++) {
		if (!s_done) {
			s_rc = tls_handshake(p->t);
			if (s_rc == TLS_OK)
				s_done = 1;
			else if (s_rc != TLS_WANT_READ && s_rc != TLS_WANT_WRITE)
				break;
		}
		if (!c_done) {
			r = SSL_do_handshake(p->c);
			if (r == 1) {
				c_done = 1;
				cev = 0;
			} else if ((cev = client_events(p->c, r)) < 0) {
				*cli = 1;
				break;
			}
		}
		if (s_done && c_done)
			break;
		if (wait_both(p, s_done ? 0 : s_rc, c_done ? 0 : cev) < 0)
			break;
	}
	*srv = s_rc;
	return s_done && c_done ? 0 : -1;
}

/* Handshake that must succeed; 0 if it did. */
static int connect_ok(struct pair *p, const struct tls_cert_spec *certs,
    int n, const struct client_opts *o)
{
	int srv, cli;

	if (pair_open(p, certs, n, o) != 0)
		return -1;
	if (handshake(p, &srv, &cli) != 0) {
		printf("handshake: server %d (%s), client %s\n", srv,
		    tls_error(p->t), cli ? "failed" : "waiting");
		return -1;
	}
	return 0;
}

/*
 * Server -> client: len bytes through tls_write (partial writes allowed)
 * while the client reads. 0 if the client got exactly data; *writes
 * counts tls_write calls that moved bytes.
 */
static int send_to_client(struct pair *p, const unsigned char *data,
    size_t len, unsigned char *got, int *writes)
{
	size_t sent = 0, recvd = 0;
	long w = TLS_OK;
	int r, cev = POLLIN, i;

	*writes = 0;
	for (i = 0; i < MAX_ROUNDS && recvd < len; i++) {
		if (sent < len) {
			w = tls_write(p->t, data + sent, len - sent);
			if (w > 0) {
				sent += (size_t)w;
				(*writes)++;
			} else if (w != TLS_WANT_READ && w != TLS_WANT_WRITE) {
				return -1;
			}
		}
		while (recvd < len) {
			r = SSL_read(p->c, got + recvd, (int)(len - recvd));
			if (r <= 0) {
				if ((cev = client_events(p->c, r)) < 0)
					return -1;
				break;
			}
			recvd += (size_t)r;
		}
		if (sent < len && w > 0)
			continue;              /* the server can write more now */
		if (recvd < len && wait_both(p, sent < len ? (int)w : 0,
		    cev) < 0)
			return -1;
	}
	return recvd == len && memcmp(data, got, len) == 0 ? 0 : -1;
}

/*
 * Client -> server: len bytes through SSL_write while the server reads
 * with tls_read (calling it again while it returns > 0). 0 if the server
 * got exactly data.
 */
static int send_to_server(struct pair *p, const unsigned char *data,
    size_t len, unsigned char *got)
{
	size_t sent = 0, recvd = 0;
	long r = TLS_WANT_READ;
	int w, cev = 0, i;

	for (i = 0; i < MAX_ROUNDS && recvd < len; i++) {
		cev = 0;
		if (sent < len) {
			w = SSL_write(p->c, data + sent, (int)(len - sent));
			if (w > 0)
				sent += (size_t)w;
			else if ((cev = client_events(p->c, w)) < 0)
				return -1;
		}
		while (recvd < len) {
			r = tls_read(p->t, got + recvd, len - recvd);
			if (r <= 0)
				break;
			recvd += (size_t)r;
		}
		if (recvd < len && r != TLS_WANT_READ && r != TLS_WANT_WRITE)
			return -1;
		if (sent < len && cev == 0)
			continue;              /* the client can write more now */
		if (recvd < len && wait_both(p, (int)r, cev) < 0)
			return -1;
	}
	return recvd == len && memcmp(data, got, len) == 0 ? 0 : -1;
}

/* tls_read until it stops waiting; its final result. */
static long read_until_done(struct pair *p)
{
	unsigned char buf[256];
	long r = TLS_WANT_READ;
	int i;

	for (i = 0; i < MAX_ROUNDS; i++) {
		r = tls_read(p->t, buf, sizeof buf);
		if (r != TLS_WANT_READ && r != TLS_WANT_WRITE)
			return r;
		if (wait_both(p, (int)r, 0) < 0)
			return r;
	}
	return r;
}

/* 1 if the client was shown exactly certificate x. */
static int client_saw(struct pair *p, X509 *x)
{
	X509 *peer = SSL_get1_peer_certificate(p->c);
	int same = peer != NULL && X509_cmp(peer, x) == 0;

	X509_free(peer);
	return same;
}

static int contains(const char *hay, const char *needle)
{
	return hay != NULL && needle != NULL && strstr(hay, needle) != NULL;
}

/* --- tests ------------------------------------------------------------ */

/* TLS 1.3 by default: data both ways, channel binding, no tickets. */
static void test_tls13(void)
{
	struct tls_cert_spec certs[1] = { spec(NULL, &cert_b) };
	struct pair p;
	unsigned char cb[TLS_CB_MAX], want[TLS_CB_MAX], got[64];
	unsigned int wlen = 0;
	static unsigned char big[BIG_LEN], bigot[BIG_LEN];
	const char *hello = "<stream:stream to='example.org'>";
	int writes, n;
	size_t i;

	if (!CHECK(connect_ok(&p, certs, 1, NULL) == 0)) {
		pair_close(&p);
		return;
	}
	CHECK_STR(tls_version(p.t), "TLSv1.3");
	CHECK_STR(SSL_get_version(p.c), "TLSv1.3");
	CHECK(contains(tls_cipher(p.t), "TLS_"));
	CHECK(tls_sni(p.t) == NULL);
	CHECK(client_saw(&p, cert_b.x509));
	CHECK_INT(tls_handshake(p.t), TLS_OK);     /* stays done */

	/* tls-exporter equals what the client derives */
	n = tls_cb_exporter(p.t, cb, sizeof cb);
	CHECK_INT(n, EXPORTER_LEN);
	CHECK(SSL_export_keying_material(p.c, want, EXPORTER_LEN,
	    EXPORTER_LABEL, strlen(EXPORTER_LABEL), NULL, 0, 0) == 1);
	CHECK(n == EXPORTER_LEN && memcmp(cb, want, EXPORTER_LEN) == 0);
	CHECK_INT(tls_cb_exporter(p.t, cb, EXPORTER_LEN - 1), -1);

	/* tls-server-end-point: SHA-256 of our (sha256-signed) cert's DER */
	CHECK(X509_digest(cert_b.x509, EVP_sha256(), want, &wlen) == 1);
	n = tls_cb_server_end_point(p.t, cb, sizeof cb);
	CHECK_INT(n, 32);
	CHECK(n == 32 && wlen == 32 && memcmp(cb, want, 32) == 0);
	CHECK_INT(tls_cb_server_end_point(p.t, cb, 31), -1);

	/* data both ways, small */
	CHECK(send_to_client(&p, (const unsigned char *)"<stream:features/>",
	    18, got, &writes) == 0);
	CHECK(send_to_server(&p, (const unsigned char *)hello, strlen(hello),
	    got) == 0);
	CHECK_INT(tls_read(p.t, got, 0), TLS_OK);
	CHECK_INT(tls_write(p.t, got, 0), TLS_OK);
	CHECK_INT(tls_read(p.t, got, sizeof got), TLS_WANT_READ);

	/* and a megabyte each way: partial writes, WANT_WRITE, more reads */
	for (i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)(i * 31 + (i >> 12));
	CHECK(send_to_client(&p, big, sizeof big, bigot, &writes) == 0);
	CHECK(writes > 1);
	memset(bigot, 0, sizeof bigot);
	CHECK(send_to_server(&p, big, sizeof big, bigot) == 0);

	/* one process per connection: no session tickets to resume with */
	CHECK(SSL_SESSION_is_resumable(SSL_get_session(p.c)) == 0);

	/* client close_notify: TLS_EOF, then our close_notify goes out */
	CHECK(SSL_shutdown(p.c) == 0);
	CHECK_INT(read_until_done(&p), TLS_EOF);
	tls_shutdown(p.t);
	CHECK(SSL_shutdown(p.c) == 1);
	pair_close(&p);
}

/* A client limited to TLS 1.2 gets ECDHE + AEAD, no tls-exporter. */
static void test_tls12(void)
{
	struct tls_cert_spec certs[1] = { spec(NULL, &cert_b) };
	struct client_opts o = { .max_version = TLS1_2_VERSION };
	struct pair p;
	unsigned char cb[TLS_CB_MAX], want[TLS_CB_MAX], got[16];
	unsigned int wlen = 0;
	int writes;

	if (!CHECK(connect_ok(&p, certs, 1, &o) == 0)) {
		pair_close(&p);
		return;
	}
	CHECK_STR(tls_version(p.t), "TLSv1.2");
	CHECK(contains(tls_cipher(p.t), "ECDHE-"));
	CHECK(contains(tls_cipher(p.t), "GCM") ||
	    contains(tls_cipher(p.t), "CHACHA20"));
	CHECK_INT(tls_cb_exporter(p.t, cb, sizeof cb), -1);
	CHECK(X509_digest(cert_b.x509, EVP_sha256(), want, &wlen) == 1);
	CHECK_INT(tls_cb_server_end_point(p.t, cb, sizeof cb), 32);
	CHECK(memcmp(cb, want, 32) == 0);
	CHECK(send_to_client(&p, (const unsigned char *)"hi", 2, got,
	    &writes) == 0);
	CHECK(send_to_server(&p, (const unsigned char *)"hello", 5, got) == 0);
	CHECK(SSL_shutdown(p.c) == 0);
	CHECK_INT(read_until_done(&p), TLS_EOF);
	pair_close(&p);
}

/* Refusals: old protocol versions, weak TLS 1.2 suites. */
static void test_refused(void)
{
	struct tls_cert_spec certs[1] = { spec(NULL, &cert_b) };
	struct client_opts tls11 = { .min_version = TLS1_VERSION,
	    .max_version = TLS1_1_VERSION, .ciphers = "DEFAULT:@SECLEVEL=0",
	    .seclevel0 = 1 };
	struct client_opts cbc = { .max_version = TLS1_2_VERSION,
	    .ciphers = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384" };
	struct client_opts nopfs = { .max_version = TLS1_2_VERSION,
	    .ciphers = "AES128-GCM-SHA256:AES256-GCM-SHA384" };
	struct pair p;
	int srv, cli;

	CHECK(pair_open(&p, certs, 1, &tls11) == 0);
	CHECK(handshake(&p, &srv, &cli) == -1);
	CHECK_INT(srv, TLS_ERR);
	CHECK(contains(tls_error(p.t), "TLS handshake"));
	CHECK(contains(tls_error(p.t), "unsupported protocol"));
	pair_close(&p);

	CHECK(pair_open(&p, certs, 1, &cbc) == 0);
	CHECK(handshake(&p, &srv, &cli) == -1);
	CHECK_INT(srv, TLS_ERR);
	pair_close(&p);

	CHECK(pair_open(&p, certs, 1, &nopfs) == 0);
	CHECK(handshake(&p, &srv, &cli) == -1);
	CHECK_INT(srv, TLS_ERR);
	pair_close(&p);
}

/* Peer going away: TCP EOF is TLS_EOF after the handshake, TLS_ERR in it. */
static void test_peer_gone(void)
{
	struct tls_cert_spec certs[1] = { spec(NULL, &cert_b) };
	struct pair p;
	unsigned char buf[16];
	long r;
	int i;

	/* TCP close without close_notify after the handshake */
	if (CHECK(connect_ok(&p, certs, 1, NULL) == 0)) {
		close(p.cfd);
		p.cfd = -1;
		CHECK_INT(read_until_done(&p), TLS_EOF);
		CHECK(contains(tls_error(p.t), "TLS read"));
		/* writing to a closed peer fails (EPIPE; SIGPIPE ignored) */
		r = TLS_WANT_WRITE;
		for (i = 0; i < 4 && r != TLS_ERR; i++)
			r = tls_write(p.t, "x", 1);
		CHECK_INT(r, TLS_ERR);
	}
	pair_close(&p);

	/* close during the handshake: an error, not a clean EOF */
	CHECK(pair_open(&p, certs, 1, NULL) == 0);
	CHECK_INT(tls_handshake(p.t), TLS_WANT_READ);
	close(p.cfd);
	p.cfd = -1;
	CHECK_INT(tls_handshake(p.t), TLS_ERR);
	CHECK(contains(tls_error(p.t), "closed"));
	pair_close(&p);

	/* no application data before the handshake */
	CHECK(pair_open(&p, certs, 1, NULL) == 0);
	CHECK_INT(tls_read(p.t, buf, sizeof buf), TLS_ERR);
	CHECK_INT(tls_write(p.t, buf, sizeof buf), TLS_ERR);
	CHECK_INT(tls_cb_exporter(p.t, buf, sizeof buf), -1);
	CHECK_INT(tls_cb_server_end_point(p.t, buf, sizeof buf), -1);
	tls_shutdown(p.t);                         /* harmless no-op */
	pair_close(&p);
}

/* SNI picks the certificate; the default is the first without a domain. */
static void test_sni(void)
{
	struct tls_cert_spec three[3] = {
		spec("A.Example.ORG", &cert_a),
		spec(NULL, &cert_b),
		spec("chat.example.net", &cert_c),
	};
	struct tls_cert_spec two[2] = {
		spec("a.example.org", &cert_a),
		spec("chat.example.net", &cert_c),
	};
	struct client_opts o = { 0 };
	unsigned char cb[TLS_CB_MAX], want[TLS_CB_MAX];
	unsigned int wlen = 0;
	struct pair p;

	/* no SNI: the first certificate without a domain */
	if (CHECK(connect_ok(&p, three, 3, NULL) == 0))
		CHECK(client_saw(&p, cert_b.x509));
	pair_close(&p);

	/* matching, case-insensitively */
	o.sni = "a.example.org";
	if (CHECK(connect_ok(&p, three, 3, &o) == 0)) {
		CHECK(client_saw(&p, cert_a.x509));
		CHECK_STR(tls_sni(p.t), "a.example.org");
	}
	pair_close(&p);

	o.sni = "CHAT.example.net";
	if (CHECK(connect_ok(&p, three, 3, &o) == 0)) {
		CHECK(client_saw(&p, cert_c.x509));
		CHECK_STR(tls_sni(p.t), "CHAT.example.net");
		/* channel binding follows the certificate actually sent */
		CHECK(X509_digest(cert_c.x509, EVP_sha256(), want, &wlen) == 1);
		CHECK_INT(tls_cb_server_end_point(p.t, cb, sizeof cb), 32);
		CHECK(memcmp(cb, want, 32) == 0);
	}
	pair_close(&p);

	/* unknown name: default certificate, name still reported */
	o.sni = "elsewhere.test";
	if (CHECK(connect_ok(&p, three, 3, &o) == 0)) {
		CHECK(client_saw(&p, cert_b.x509));
		CHECK_STR(tls_sni(p.t), "elsewhere.test");
	}
	pair_close(&p);

	/* every certificate has a domain: the first is the default */
	if (CHECK(connect_ok(&p, two, 2, NULL) == 0))
		CHECK(client_saw(&p, cert_a.x509));
	pair_close(&p);
	o.sni = "chat.example.net";
	if (CHECK(connect_ok(&p, two, 2, &o) == 0))
		CHECK(client_saw(&p, cert_c.x509));
	pair_close(&p);
}

/* tls-server-end-point uses the signature's hash: SHA-384 here. */
static void test_end_point_sha384(void)
{
	struct tls_cert_spec certs[1] = { spec(NULL, &cert_384) };
	unsigned char cb[TLS_CB_MAX], want[TLS_CB_MAX];
	unsigned int wlen = 0;
	struct pair p;

	if (CHECK(connect_ok(&p, certs, 1, NULL) == 0)) {
		CHECK(X509_digest(cert_384.x509, EVP_sha384(), want,
		    &wlen) == 1);
		CHECK_INT(tls_cb_server_end_point(p.t, cb, sizeof cb), 48);
		CHECK(wlen == 48 && memcmp(cb, want, 48) == 0);
		CHECK_INT(tls_cb_server_end_point(p.t, cb, 47), -1);
	}
	pair_close(&p);
}

/* Loading: missing files and mismatched keys name the file; bad args. */
static void test_load(void)
{
	char err[512], missing[PATH_MAX + 16];
	struct tls_cert_spec s[TLS_MAX_CERTS + 1];
	struct tls *t;
	int i;

	snprintf(missing, sizeof missing, "%s/nonexistent.pem", tmpdir);
	s[0] = spec(NULL, &cert_a);
	s[0].cert = missing;
	strcpy(err, "junk");
	t = tls_new(s, 1, 0, 1, err, sizeof err);
	CHECK(t == NULL);
	CHECK(contains(err, missing));
	CHECK(contains(err, "certificate"));
	tls_free(t);

	s[0] = spec(NULL, &cert_a);
	s[0].key = missing;
	t = tls_new(s, 1, 0, 1, err, sizeof err);
	CHECK(t == NULL);
	CHECK(contains(err, missing));
	CHECK(contains(err, "key"));

	/* a later pair failing frees the earlier ones (ASan checks) */
	s[0] = spec(NULL, &cert_a);
	s[1] = spec("x.test", &cert_b);
	s[1].key = cert_a.key_path;
	t = tls_new(s, 2, 0, 1, err, sizeof err);
	CHECK(t == NULL);
	CHECK(contains(err, "mismatch") || contains(err, "does not match"));
	CHECK(contains(err, cert_a.key_path));
	CHECK(contains(err, cert_b.cert_path));

	/* a small err buffer is filled, truncated, terminated */
	s[0].cert = missing;
	memset(err, 'x', sizeof err);
	CHECK(tls_new(s, 1, 0, 1, err, 10) == NULL);
	CHECK(strlen(err) == 9);
	CHECK(tls_new(s, 1, 0, 1, NULL, 0) == NULL);

	CHECK(tls_new(s, 0, 0, 1, err, sizeof err) == NULL);
	CHECK(err[0] != '\0');
	CHECK(tls_new(NULL, 1, 0, 1, err, sizeof err) == NULL);
	for (i = 0; i <= TLS_MAX_CERTS; i++)
		s[i] = spec(NULL, &cert_a);
	CHECK(tls_new(s, TLS_MAX_CERTS + 1, 0, 1, err, sizeof err) == NULL);
	CHECK(tls_new(s, 1, -1, 1, err, sizeof err) == NULL);
	t = tls_new(s, TLS_MAX_CERTS, 0, 1, err, sizeof err);
	CHECK(t != NULL);
	tls_free(t);
	tls_free(NULL);

	/* NULL state */
	CHECK_INT(tls_handshake(NULL), TLS_ERR);
	CHECK_INT(tls_read(NULL, err, 1), TLS_ERR);
	CHECK_INT(tls_write(NULL, err, 1), TLS_ERR);
	CHECK(tls_sni(NULL) == NULL);
	CHECK(tls_error(NULL) != NULL);
	CHECK(tls_version(NULL) != NULL);
	CHECK(tls_cipher(NULL) != NULL);
	tls_shutdown(NULL);
}

/* Relative names are looked up in $CREDENTIALS_DIRECTORY. */
static void test_credentials_dir(void)
{
	struct tls_cert_spec s[1];
	struct client_opts o = { .sni = "a.example.org" };
	struct pair p;
	char err[512];
	struct tls *t;

	s[0].domain = NULL;
	s[0].cert = cert_a.cert_name;
	s[0].key = cert_a.key_name;
	unsetenv("CREDENTIALS_DIRECTORY");
	if (chdir("/") == 0) {
		t = tls_new(s, 1, 0, 1, err, sizeof err);
		CHECK(t == NULL);
		CHECK(contains(err, cert_a.cert_name));
		tls_free(t);
	}

	CHECK(setenv("CREDENTIALS_DIRECTORY", tmpdir, 1) == 0);
	if (CHECK(connect_ok(&p, s, 1, &o) == 0))
		CHECK(client_saw(&p, cert_a.x509));
	pair_close(&p);

	/* absolute names are not redirected */
	s[0] = spec(NULL, &cert_b);
	if (CHECK(connect_ok(&p, s, 1, NULL) == 0))
		CHECK(client_saw(&p, cert_b.x509));
	pair_close(&p);

	/* the error names the resolved path */
	s[0].cert = "absent.crt";
	t = tls_new(s, 1, 0, 1, err, sizeof err);
	CHECK(t == NULL);
	CHECK(contains(err, tmpdir));
	CHECK(contains(err, "absent.crt"));
	unsetenv("CREDENTIALS_DIRECTORY");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (make_cert(&cert_a, EVP_sha256()) != 0 ||
	    make_cert(&cert_b, EVP_sha256()) != 0 ||
	    make_cert(&cert_c, EVP_sha256()) != 0 ||
	    make_cert(&cert_384, EVP_sha384()) != 0) {
		ERR_print_errors_fp(stdout);
		CHECK(!"certificates made");
	} else {
		test_tls13();
		test_tls12();
		test_refused();
		test_peer_gone();
		test_sni();
		test_end_point_sha384();
		test_load();
		test_credentials_dir();
	}
	drop_cert(&cert_a);
	drop_cert(&cert_b);
	drop_cert(&cert_c);
	drop_cert(&cert_384);
	rmdir(tmpdir);
	return CHECK_DONE();
}
