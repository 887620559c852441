/*
 * tls.c - server-side TLS for one client connection, with OpenSSL 3.
 * See tls.h for the contract.
 *
 * One SSL_CTX per certificate/key pair; the handshake starts on the
 * default one and the SNI callback moves the connection to the context
 * whose domain the client named. Everything cryptographic (handshake,
 * exporters, certificate digests) is OpenSSL's; this file only wires it to
 * the connection's descriptors and maps its results onto tls.h's codes.
 */
#include "tls.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define TLS_ERR_MAX        512   /* saved error text, bytes */
#define TLS_ERR_ONE        256   /* one OpenSSL error line */
#define TLS_PATH_MAX       PATH_MAX
#define CRED_DIR_ENV       "CREDENTIALS_DIRECTORY"
#define CB_EXPORTER_LABEL  "EXPORTER-Channel-Binding" /* RFC 9266 */
#define CB_EXPORTER_LEN    32                          /* RFC 9266 */

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

int tls_file_path(const char *name, char *out, size_t outsz)
{
	const char *dir = getenv(CRED_DIR_ENV);
	int n;

	if (name == NULL || name[0] == '\0')
		return -1;
	if (name[0] != '/' && dir != NULL && dir[0] != '\0')
		n = snprintf(out, outsz, "%s/%s", dir, name);
	else
		n = snprintf(out, outsz, "%s", name);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
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
 * A configured server context for one certificate/key pair: TLS 1.2 and
 * 1.3, our cipher list and options, the certificate chain and a key that
 * matches it. NULL with err filled (naming the file) on failure.
 */
static SSL_CTX *ctx_new(const struct tls_cert_spec *spec, char *err,
    size_t errlen)
{
	char cert[TLS_PATH_MAX], key[TLS_PATH_MAX];
	SSL_CTX *ctx = NULL;

	if (resolve_path(spec->cert, cert, sizeof cert, err, errlen) < 0 ||
	    resolve_path(spec->key, key, sizeof key, err, errlen) < 0)
		goto fail;
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
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
 * Contexts for every pair, the default one (first without a domain, else
 * the first) carrying the SNI callback, and a server-side SSL on rfd/wfd.
 * Nothing is half-made: on failure everything is freed and NULL returned
 * with err saying which file and why.
 */
struct tls *tls_new(const struct tls_cert_spec *certs, int ncerts,
    int rfd, int wfd, char *err, size_t errlen)
{
	struct tls *t = NULL;
	int i;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (certs == NULL || ncerts < 1 || ncerts > TLS_MAX_CERTS) {
		fmt_err(err, errlen, "need 1 to %d certificates, got %d",
		    TLS_MAX_CERTS, ncerts);
		return NULL;
	}
	if (rfd < 0 || wfd < 0) {
		fmt_err(err, errlen, "bad file descriptors %d/%d", rfd, wfd);
		return NULL;
	}
	if (OPENSSL_init_ssl(0, NULL) != 1) {
		fmt_err(err, errlen, "OpenSSL initialisation failed");
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (t == NULL) {
		fmt_err(err, errlen, "out of memory");
		return NULL;
	}
	t->def = -1;
	for (i = 0; i < ncerts; i++) {
		t->ctx[i] = ctx_new(&certs[i], err, errlen);
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

	ERR_clear_error();
	SSL_CTX_set_tlsext_servername_callback(t->ctx[t->def], sni_cb);
	SSL_CTX_set_tlsext_servername_arg(t->ctx[t->def], t);
	t->ssl = SSL_new(t->ctx[t->def]);
	if (t->ssl == NULL) {
		fmt_err(err, errlen, "SSL_new failed");
		goto fail;
	}
	if (SSL_set_rfd(t->ssl, rfd) != 1 || SSL_set_wfd(t->ssl, wfd) != 1) {
		fmt_err(err, errlen, "cannot attach descriptors %d/%d", rfd, wfd);
		goto fail;
	}
	SSL_set_accept_state(t->ssl);
	return t;
fail:
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
	if (r == 1)
		return TLS_OK;
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
	cert = SSL_get_certificate(t->ssl);
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

/* The last saved error; "" if none. Never NULL. */
const char *tls_error(const struct tls *t)
{
	if (t == NULL)
		return "no TLS state";
	return t->err;
}
