/*
 * tls.c - TLS for one connection, with OpenSSL 3: the server side of a
 * client or federation stream, and the client side of a federation
 * stream. See tls.h for the contract.
 *
 * One SSL_CTX per certificate/key pair; the server handshake starts on
 * the default one and the SNI callback moves the connection to the
 * context whose domain the client named. A client session has a single
 * context, with our domain's certificate. Federation sessions share one
 * X509_STORE of trust anchors between their contexts (the SNI switch
 * changes the context, and OpenSSL verifies with the current context's
 * store), and record the chain's verdict in a verify callback that never
 * fails the handshake. Everything cryptographic (handshake, exporters,
 * certificate digests, chain verification) is OpenSSL's; this file only
 * wires it to the connection's descriptors and maps its results onto
 * tls.h's codes.
 */
#include "tls.h"
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#define TLS_ERR_MAX        512   /* saved error text, bytes */
#define TLS_ERR_ONE        256   /* one OpenSSL error line */
#define TLS_PATH_MAX       PATH_MAX
#define CB_EXPORTER_LABEL  "EXPORTER-Channel-Binding" /* RFC 9266 */
#define CB_EXPORTER_LEN    32                          /* RFC 9266 */
#define TLS_ALPN_MAX       255   /* bytes of one ALPN protocol name */
/* TLS_ALPN_S2S as an ALPN protocol list: its length, then the name. */
#define ALPN_S2S_WIRE      "\x0b" TLS_ALPN_S2S

/*
 * TLS 1.2 suites: forward secret (ECDHE) AEAD only. TLS 1.3 keeps
 * OpenSSL's default suites (all AEAD, all forward secret).
 */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define TLS_CTX_OPTIONS \
	(SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET)
#define TLS_CTX_MODES \
	(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)

struct tls {
	SSL_CTX *ctx[TLS_MAX_CERTS];
	char *domain[TLS_MAX_CERTS];  /* NULL for a context without domain */
	int nctx;
	int def;                      /* index of the default context */
	SSL *ssl;
	int client;                   /* made by tls_new_client */
	int peer_asked;               /* the peer's certificate is verified */
	int verify_err;               /* first chain error, X509_V_OK if none */
	char alpn[TLS_ALPN_MAX + 1];  /* agreed ALPN protocol, "" if none */
	char err[TLS_ERR_MAX];
};

/*
 * Format a message into buf, followed by ": " and OpenSSL's queued errors
 * (all of them, oldest first, "; "-separated) if there are any. Always
 * NUL-terminates; truncates silently; empties the error queue.
 */
static void fmt_err(char *buf, size_t bufsz, const char *fmt, ...)
{
	char line[TLS_ERR_ONE];
	unsigned long e;
	size_t n;
	int first = 1;
	va_list ap;

	if (buf == NULL || bufsz == 0) {
		ERR_clear_error();
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, bufsz, fmt, ap);
	va_end(ap);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, line, sizeof line);
		n = strlen(buf);
		if (n + 1 >= bufsz)
			continue;   /* keep draining the queue */
		snprintf(buf + n, bufsz - n, "%s%s", first ? ": " : "; ", line);
		first = 0;
	}
}

/* The session's SSL on ctx, over rfd/wfd. 0, or -1 (err set). */
static int ssl_attach(struct tls *t, SSL_CTX *ctx, int rfd, int wfd, char *err, size_t errlen)
{
	t->ssl = SSL_new(ctx);
	if (t->ssl == NULL) {
		fmt_err(err, errlen, "SSL_new failed");
		return -1;
	}
	if (SSL_set_rfd(t->ssl, rfd) != 1 || SSL_set_wfd(t->ssl, wfd) != 1) {
		fmt_err(err, errlen, "cannot attach descriptors %d/%d", rfd, wfd);
		return -1;
	}
	return 0;
}

int tls_file_path(const char *name, char *out, size_t outsz)
{
	return config_file_path(name, out, outsz);   /* one rule for every file */
}

/* tls_file_path with the reason in err. */
static int resolve_path(const char *name, char *out, size_t outsz,
    char *err, size_t errlen)
{
	if (name == NULL || name[0] == '\0') {
		fmt_err(err, errlen, "empty certificate or key file name");
		return -1;
	}
	if (tls_file_path(name, out, outsz) == -1) {
		fmt_err(err, errlen, "file name too long: %s", name);
		return -1;
	}
	return 0;
}

/*
 * The SNI callback (on the context the handshake starts with): switch
 * the connection to the context whose domain equals the requested name,
 * ignoring case. An unknown or absent name keeps the default certificate;
 * the handshake never fails here.
 */
static int sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls *t = arg;
	const char *name;
	int i;

	(void)alert;
	if (t == NULL)
		return SSL_TLSEXT_ERR_OK;
	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < t->nctx; i++) {
		if (t->domain[i] != NULL && strcasecmp(t->domain[i], name) == 0) {
			if (i != t->def && SSL_set_SSL_CTX(ssl, t->ctx[i]) == NULL)
				return SSL_TLSEXT_ERR_ALERT_FATAL;
			break;
		}
	}
	return SSL_TLSEXT_ERR_OK;
}

/*
 * A configured context for one certificate/key pair (server, or client
 * when client is set; a client context may have spec NULL: no
 * certificate): TLS 1.2 and 1.3, our cipher list and options, the
 * certificate chain and a key that matches it. NULL with err filled
 * (naming the file) on failure.
 */
static SSL_CTX *ctx_new(const struct tls_cert_spec *spec, int client,
    char *err, size_t errlen)
{
	char cert[TLS_PATH_MAX], key[TLS_PATH_MAX];
	SSL_CTX *ctx = NULL;

	if (spec != NULL &&
	    (resolve_path(spec->cert, cert, sizeof cert, err, errlen) < 0 ||
	    resolve_path(spec->key, key, sizeof key, err, errlen) < 0))
		goto fail;
	ERR_clear_error();
	ctx = SSL_CTX_new(client ? TLS_client_method() : TLS_server_method());
	if (ctx == NULL) {
		fmt_err(err, errlen, "SSL_CTX_new failed");
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, 0) != 1) {
		fmt_err(err, errlen, "cannot set TLS versions");
		goto fail;
	}
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		fmt_err(err, errlen, "cannot set TLS 1.2 cipher list");
		goto fail;
	}
	SSL_CTX_set_options(ctx, TLS_CTX_OPTIONS);
	SSL_CTX_set_mode(ctx, TLS_CTX_MODES);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		fmt_err(err, errlen, "cannot disable session tickets");
		goto fail;
	}
	if (spec == NULL)
		return ctx;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		fmt_err(err, errlen, "cannot load certificate chain %s", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fmt_err(err, errlen, "cannot load private key %s for %s",
		    key, cert);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		fmt_err(err, errlen, "private key %s does not match certificate %s",
		    key, cert);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * The trust anchors of a federation session: the CA file and/or
 * directory, or the system store when neither is named. A new reference
 * (X509_STORE_free it), or NULL with err naming what did not load. A directory is checked here
 * because OpenSSL only looks into it during a verification, and an
 * operator's typo would otherwise read as "unable to get local issuer".
 */
static X509_STORE *trust_store(const struct tls_trust *tr, char *err,
    size_t errlen)
{
	const char *file = NULL, *dir = NULL;
	X509_STORE *st;
	struct stat sb;

	if (tr != NULL && tr->ca_file != NULL && tr->ca_file[0] != '\0')
		file = tr->ca_file;
	if (tr != NULL && tr->ca_dir != NULL && tr->ca_dir[0] != '\0')
		dir = tr->ca_dir;
	ERR_clear_error();
	st = X509_STORE_new();
	if (st == NULL) {
		fmt_err(err, errlen, "X509_STORE_new failed");
		return NULL;
	}
	if (file == NULL && dir == NULL) {
		if (X509_STORE_set_default_paths(st) != 1) {
			fmt_err(err, errlen, "cannot load the system CA store");
			goto fail;
		}
		return st;
	}
	if (file != NULL && X509_STORE_load_file(st, file) != 1) {
		fmt_err(err, errlen, "cannot load CA file %s", file);
		goto fail;
	}
	if (dir == NULL)
		return st;
	if (stat(dir, &sb) == -1) {
		fmt_err(err, errlen, "CA directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (!S_ISDIR(sb.st_mode)) {
		fmt_err(err, errlen, "CA directory %s: not a directory", dir);
		goto fail;
	}
	if (X509_STORE_load_path(st, dir) != 1) {
		fmt_err(err, errlen, "cannot use CA directory %s", dir);
		goto fail;
	}
	return st;
fail:
	X509_STORE_free(st);
	return NULL;
}

/*
 * Verification callback of federation sessions: remember the first
 * error of the chain and carry on, so that the handshake completes and
 * the stream decides (dialback may still authenticate a peer whose
 * certificate we cannot verify). Always 1.
 */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls *t = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	int e;

	if (!ok && t != NULL && t->verify_err == X509_V_OK) {
		e = X509_STORE_CTX_get_error(xs);
		t->verify_err = e != X509_V_OK ? e : X509_V_ERR_UNSPECIFIED;
	}
	return 1;
}

/*
 * ALPN on an inbound federation session: agree on TLS_ALPN_S2S when the
 * client offers it (XEP-0368 direct TLS), otherwise on nothing, which
 * leaves the handshake as it would be without ALPN.
 */
static int alpn_cb(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg)
{
	size_t want = strlen(TLS_ALPN_S2S);
	unsigned int i = 0, n;

	(void)ssl;
	(void)arg;
	while (i < inlen) {
		n = in[i];
		if (n > inlen - i - 1)
			break;             /* malformed list: ignore the rest */
		if (n == want && memcmp(in + i + 1, TLS_ALPN_S2S, n) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* Arguments shared by the constructors; err emptied. 0, or -1 with err. */
static int check_args(const struct tls_cert_spec *certs, int ncerts,
    int min, int rfd, int wfd, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (ncerts < min || ncerts > TLS_MAX_CERTS ||
	    (certs == NULL && ncerts > 0)) {
		fmt_err(err, errlen, "need %d to %d certificates, got %d",
		    min, TLS_MAX_CERTS, ncerts);
		return -1;
	}
	if (rfd < 0 || wfd < 0) {
		fmt_err(err, errlen, "bad file descriptors %d/%d", rfd, wfd);
		return -1;
	}
	if (OPENSSL_init_ssl(0, NULL) != 1) {
		fmt_err(err, errlen, "OpenSSL initialisation failed");
		return -1;
	}
	return 0;
}

/*
 * A server session: contexts for every pair, the default one (first
 * without a domain, else the first) carrying the SNI callback, and a
 * server-side SSL on rfd/wfd. With s2s set, the peer is asked for its
 * certificate, checked against trust. Nothing is half-made: on failure
 * everything is freed and NULL returned with err saying which file and
 * why.
 */
static struct tls *server_new(const struct tls_cert_spec *certs,
    int ncerts, int s2s, const struct tls_trust *trust, int rfd, int wfd,
    char *err, size_t errlen)
{
	struct tls *t = NULL;
	X509_STORE *store = NULL;
	int i;

	if (check_args(certs, ncerts, 1, rfd, wfd, err, errlen) < 0)
		return NULL;
	t = calloc(1, sizeof *t);
	if (t == NULL) {
		fmt_err(err, errlen, "out of memory");
		return NULL;
	}
	t->def = -1;
	for (i = 0; i < ncerts; i++) {
		t->ctx[i] = ctx_new(&certs[i], 0, err, errlen);
		if (t->ctx[i] == NULL)
			goto fail;
		t->nctx = i + 1;
		if (certs[i].domain != NULL && certs[i].domain[0] != '\0') {
			t->domain[i] = strdup(certs[i].domain);
			if (t->domain[i] == NULL) {
				fmt_err(err, errlen, "out of memory");
				goto fail;
			}
		} else if (t->def < 0) {
			t->def = i;
		}
	}
	if (t->def < 0)
		t->def = 0;
	if (s2s) {
		store = trust_store(trust, err, errlen);
		if (store == NULL)
			goto fail;
		for (i = 0; i < t->nctx; i++) {
			SSL_CTX_set1_cert_store(t->ctx[i], store);
			SSL_CTX_set_alpn_select_cb(t->ctx[i], alpn_cb, NULL);
		}
		X509_STORE_free(store);    /* the contexts hold it */
		store = NULL;
	}

	ERR_clear_error();
	SSL_CTX_set_tlsext_servername_callback(t->ctx[t->def], sni_cb);
	SSL_CTX_set_tlsext_servername_arg(t->ctx[t->def], t);
	if (ssl_attach(t, t->ctx[t->def], rfd, wfd, err, errlen) == -1)
		goto fail;
	if (s2s) {
		/*
		 * Ask without requiring (no FAIL_IF_NO_PEER_CERT). Verify
		 * the chain for a TLS server's purpose, not a client's: the
		 * peer is a server whatever side of TLS it is on, and server
		 * certificates often carry serverAuth only. Set on the SSL,
		 * which keeps it across the SNI switch.
		 */
		SSL_set_app_data(t->ssl, t);
		SSL_set_verify(t->ssl, SSL_VERIFY_PEER, verify_cb);
		if (SSL_set_purpose(t->ssl, X509_PURPOSE_SSL_SERVER) != 1) {
			fmt_err(err, errlen, "cannot set verification purpose");
			goto fail;
		}
		t->peer_asked = 1;
	}
	SSL_set_accept_state(t->ssl);
	return t;
fail:
	X509_STORE_free(store);
	tls_free(t);
	return NULL;
}

struct tls *tls_new(const struct tls_cert_spec *certs, int ncerts,
    int rfd, int wfd, char *err, size_t errlen)
{
	return server_new(certs, ncerts, 0, NULL, rfd, wfd, err, errlen);
}

struct tls *tls_new_s2s_server(const struct tls_cert_spec *certs,
    int ncerts, const struct tls_trust *trust, int rfd, int wfd,
    char *err, size_t errlen)
{
	return server_new(certs, ncerts, 1, trust, rfd, wfd, err, errlen);
}

/*
 * Which of certs a client session presents for domain local: the one
 * whose domain equals it (ignoring case), else the default the server
 * side would use (first without a domain, else the first).
 */
static int pick_cert(const struct tls_cert_spec *certs, int ncerts,
    const char *local)
{
	int i, def = -1;

	for (i = 0; i < ncerts; i++) {
		if (certs[i].domain == NULL || certs[i].domain[0] == '\0') {
			if (def < 0)
				def = i;
		} else if (local != NULL &&
		    strcasecmp(certs[i].domain, local) == 0) {
			return i;
		}
	}
	return def < 0 ? 0 : def;
}

/*
 * One client context with our domain's certificate (or none), the trust
 * store, SNI and, for direct TLS, ALPN; a client-side SSL on rfd/wfd.
 * Nothing is half-made on failure.
 */
struct tls *tls_new_client(const struct tls_cert_spec *certs, int ncerts,
    const struct tls_trust *trust, const struct tls_client_opts *o,
    int rfd, int wfd, char *err, size_t errlen)
{
	struct tls *t = NULL;
	X509_STORE *store = NULL;

	if (check_args(certs, ncerts, 0, rfd, wfd, err, errlen) < 0)
		return NULL;
	if (o == NULL || o->remote == NULL || o->remote[0] == '\0') {
		fmt_err(err, errlen, "no remote domain for SNI");
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (t == NULL) {
		fmt_err(err, errlen, "out of memory");
		return NULL;
	}
	t->client = 1;
	t->ctx[0] = ctx_new(ncerts > 0 ?
	    &certs[pick_cert(certs, ncerts, o->local)] : NULL, 1, err, errlen);
	if (t->ctx[0] == NULL)
		goto fail;
	t->nctx = 1;
	store = trust_store(trust, err, errlen);
	if (store == NULL)
		goto fail;
	SSL_CTX_set1_cert_store(t->ctx[0], store);
	X509_STORE_free(store);
	store = NULL;

	ERR_clear_error();
	if (ssl_attach(t, t->ctx[0], rfd, wfd, err, errlen) == -1)
		goto fail;
	if (SSL_set_tlsext_host_name(t->ssl, o->remote) != 1) {
		fmt_err(err, errlen, "cannot send SNI %s", o->remote);
		goto fail;
	}
	/* SSL_set_alpn_protos is the one that returns 0 on success. */
	if (o->direct && SSL_set_alpn_protos(t->ssl,
	    (const unsigned char *)ALPN_S2S_WIRE,
	    sizeof ALPN_S2S_WIRE - 1) != 0) {
		fmt_err(err, errlen, "cannot offer ALPN %s", TLS_ALPN_S2S);
		goto fail;
	}
	SSL_set_app_data(t->ssl, t);
	SSL_set_verify(t->ssl, SSL_VERIFY_PEER, verify_cb);
	t->peer_asked = 1;
	SSL_set_connect_state(t->ssl);
	return t;
fail:
	X509_STORE_free(store);
	tls_free(t);
	return NULL;
}

/* Frees everything tls_new made; the descriptors stay open (the caller's). */
void tls_free(struct tls *t)
{
	int i;

	if (t == NULL)
		return;
	SSL_free(t->ssl);
	for (i = 0; i < t->nctx; i++) {
		SSL_CTX_free(t->ctx[i]);
		free(t->domain[i]);
	}
	free(t);
}

/*
 * Map an SSL_* I/O result that was <= 0 onto tls.h's codes, saving the
 * error text. TLS_EOF when the peer closed: close_notify, or the TCP
 * connection ending without one (SSL_ERROR_SYSCALL with errno 0, or
 * OpenSSL 3's "unexpected eof while reading").
 */
static int map_result(struct tls *t, int r, int saved_errno, const char *op)
{
	unsigned long e;

	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		fmt_err(t->err, sizeof t->err, "%s: peer sent close_notify", op);
		return TLS_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (saved_errno == 0) {
				fmt_err(t->err, sizeof t->err,
				    "%s: peer closed the connection", op);
				return TLS_EOF;
			}
			fmt_err(t->err, sizeof t->err, "%s: %s", op,
			    strerror(saved_errno));
			return TLS_ERR;
		}
		break;
	case SSL_ERROR_SSL:
		e = ERR_peek_last_error();
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			fmt_err(t->err, sizeof t->err, "%s", op);
			return TLS_EOF;
		}
		break;
	default:
		break;
	}
	fmt_err(t->err, sizeof t->err, "%s failed", op);
	return TLS_ERR;
}

/* Keep the agreed ALPN protocol as a string for tls_alpn(). */
static void save_alpn(struct tls *t)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;

	SSL_get0_alpn_selected(t->ssl, &p, &n);
	if (p == NULL || n > TLS_ALPN_MAX)
		n = 0;
	if (n > 0)
		memcpy(t->alpn, p, n);
	t->alpn[n] = '\0';
}

/*
 * TLS_OK once the handshake is complete (and on every later call),
 * TLS_WANT_* while it needs the socket, TLS_ERR otherwise, including the
 * peer going away mid-handshake (tls_error() then says so).
 */
int tls_handshake(struct tls *t)
{
	int r;

	if (t == NULL || t->ssl == NULL)
		return TLS_ERR;
	if (SSL_is_init_finished(t->ssl))
		return TLS_OK;
	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		save_alpn(t);
		return TLS_OK;
	}
	r = map_result(t, r, errno, "TLS handshake");
	if (r == TLS_EOF) {
		fmt_err(t->err, sizeof t->err,
		    "TLS handshake: peer closed the connection");
		return TLS_ERR;
	}
	return r;
}

/*
 * > 0 bytes of application data (at most len, at most INT_MAX), or
 * TLS_WANT_*, TLS_EOF, TLS_ERR; 0 (TLS_OK) only for len 0. Never reads
 * before the handshake is done (SSL_read would drive it implicitly).
 */
long tls_read(struct tls *t, void *buf, size_t len)
{
	int r, n;

	if (t == NULL || t->ssl == NULL || (buf == NULL && len > 0))
		return TLS_ERR;
	if (!SSL_is_init_finished(t->ssl)) {
		fmt_err(t->err, sizeof t->err, "read before TLS handshake");
		return TLS_ERR;
	}
	if (len == 0)
		return TLS_OK;
	n = len > INT_MAX ? INT_MAX : (int)len;
	ERR_clear_error();
	errno = 0;
	r = SSL_read(t->ssl, buf, n);
	if (r > 0)
		return r;
	return map_result(t, r, errno, "TLS read");
}

/*
 * > 0 bytes accepted (partial writes are on, so possibly fewer than len),
 * or TLS_WANT_*, TLS_ERR; 0 (TLS_OK) only for len 0. After TLS_WANT_*,
 * call again with the same data (the buffer may move: moving write buffer
 * mode is on). A peer that has gone away is TLS_ERR here.
 */
long tls_write(struct tls *t, const void *buf, size_t len)
{
	int r, n;

	if (t == NULL || t->ssl == NULL || (buf == NULL && len > 0))
		return TLS_ERR;
	if (!SSL_is_init_finished(t->ssl)) {
		fmt_err(t->err, sizeof t->err, "write before TLS handshake");
		return TLS_ERR;
	}
	if (len == 0)
		return TLS_OK;
	n = len > INT_MAX ? INT_MAX : (int)len;
	ERR_clear_error();
	errno = 0;
	r = SSL_write(t->ssl, buf, n);
	if (r > 0)
		return r;
	r = map_result(t, r, errno, "TLS write");
	return r == TLS_EOF ? TLS_ERR : r;
}

/*
 * One non-blocking attempt to send close_notify after a completed
 * handshake; whatever happens is ignored (the connection is closing).
 */
void tls_shutdown(struct tls *t)
{
	if (t == NULL || t->ssl == NULL || !SSL_is_init_finished(t->ssl))
		return;
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

/* The name from the client's SNI extension, or NULL; valid until tls_free. */
const char *tls_sni(const struct tls *t)
{
	if (t == NULL || t->ssl == NULL)
		return NULL;
	return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

/* Negotiated protocol name; never NULL. */
const char *tls_version(const struct tls *t)
{
	if (t == NULL || t->ssl == NULL)
		return "none";
	return SSL_get_version(t->ssl);
}

/* Negotiated cipher suite name ("(NONE)" before the handshake); never NULL. */
const char *tls_cipher(const struct tls *t)
{
	const char *c;

	if (t == NULL || t->ssl == NULL)
		return "none";
	c = SSL_get_cipher_name(t->ssl);
	return c != NULL ? c : "none";
}

/*
 * RFC 9266 tls-exporter: 32 bytes of SSL_export_keying_material with
 * label "EXPORTER-Channel-Binding" and no context. Only after a completed
 * TLS 1.3 handshake (RFC 9266 section 3 forbids it on 1.2 without
 * extended master secret, and we do not offer it there at all); -1
 * otherwise or if out is too small.
 */
int tls_cb_exporter(struct tls *t, unsigned char *out, size_t outsz)
{
	if (t == NULL || t->ssl == NULL || out == NULL ||
	    outsz < CB_EXPORTER_LEN || !SSL_is_init_finished(t->ssl) ||
	    SSL_version(t->ssl) != TLS1_3_VERSION)
		return -1;
	ERR_clear_error();
	if (SSL_export_keying_material(t->ssl, out, CB_EXPORTER_LEN,
	    CB_EXPORTER_LABEL, strlen(CB_EXPORTER_LABEL), NULL, 0, 0) != 1) {
		fmt_err(t->err, sizeof t->err, "tls-exporter failed");
		return -1;
	}
	return CB_EXPORTER_LEN;
}

/*
 * RFC 5929 section 4.1 tls-server-end-point: the hash of our certificate
 * (the one actually sent, after any SNI switch) with its signature's hash
 * function, MD5 and SHA-1 replaced by SHA-256. -1 before the handshake
 * completes, when the signature uses no single hash (e.g. Ed25519, where
 * RFC 5929 leaves the binding undefined), or if out is too small.
 */
int tls_cb_server_end_point(struct tls *t, unsigned char *out, size_t outsz)
{
	X509 *cert;
	const EVP_MD *md;
	unsigned int len = 0;
	int mdnid = NID_undef;

	if (t == NULL || t->ssl == NULL || out == NULL ||
	    !SSL_is_init_finished(t->ssl))
		return -1;
	/* RFC 5929 4.1: the server's certificate, whichever side we are. */
	cert = t->client ? SSL_get0_peer_certificate(t->ssl) :
	    SSL_get_certificate(t->ssl);
	if (cert == NULL)
		return -1;
	ERR_clear_error();
	if (X509_get_signature_info(cert, &mdnid, NULL, NULL, NULL) != 1 ||
	    mdnid == NID_undef) {
		fmt_err(t->err, sizeof t->err,
		    "tls-server-end-point: no single signature hash");
		return -1;
	}
	if (mdnid == NID_md5 || mdnid == NID_sha1)
		mdnid = NID_sha256;
	md = EVP_get_digestbynid(mdnid);
	if (md == NULL || EVP_MD_get_size(md) <= 0 ||
	    (size_t)EVP_MD_get_size(md) > outsz ||
	    (size_t)EVP_MD_get_size(md) > EVP_MAX_MD_SIZE) {
		fmt_err(t->err, sizeof t->err,
		    "tls-server-end-point: unusable hash %s", OBJ_nid2sn(mdnid));
		return -1;
	}
	if (X509_digest(cert, md, out, &len) != 1 ||
	    len != (unsigned int)EVP_MD_get_size(md)) {
		fmt_err(t->err, sizeof t->err, "tls-server-end-point failed");
		return -1;
	}
	return (int)len;
}

/*
 * The chain's verdict. The first error the verify callback saw decides;
 * OpenSSL's own result is consulted too, so that a failure reported
 * without the callback cannot read as trusted.
 */
enum tls_peer tls_peer_status(const struct tls *t)
{
	if (t == NULL || t->ssl == NULL || !t->peer_asked ||
	    !SSL_is_init_finished(t->ssl))
		return TLS_PEER_PENDING;
	if (SSL_get0_peer_certificate(t->ssl) == NULL)
		return TLS_PEER_NONE;
	if (t->verify_err != X509_V_OK ||
	    SSL_get_verify_result(t->ssl) != X509_V_OK)
		return TLS_PEER_UNTRUSTED;
	return TLS_PEER_TRUSTED;
}

/* OpenSSL's static text for the first chain error; NULL unless untrusted. */
const char *tls_peer_error(const struct tls *t)
{
	long e;

	if (tls_peer_status(t) != TLS_PEER_UNTRUSTED)
		return NULL;
	e = t->verify_err != X509_V_OK ? t->verify_err :
	    SSL_get_verify_result(t->ssl);
	return X509_verify_cert_error_string(e);
}

/* The leaf the peer presented, owned by the SSL; NULL before the end. */
struct x509_st *tls_peer_cert(const struct tls *t)
{
	if (t == NULL || t->ssl == NULL || !SSL_is_init_finished(t->ssl))
		return NULL;
	return SSL_get0_peer_certificate(t->ssl);
}

/* The agreed ALPN protocol, or NULL; valid until tls_free. */
const char *tls_alpn(const struct tls *t)
{
	if (t == NULL || t->alpn[0] == '\0')
		return NULL;
	return t->alpn;
}

int tls_is_client(const struct tls *t)
{
	return t != NULL && t->client;
}

/* The last saved error; "" if none. Never NULL. */
const char *tls_error(const struct tls *t)
{
	if (t == NULL)
		return "no TLS state";
	return t->err;
}
