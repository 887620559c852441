/*
 * tls.h - TLS for one connection (RFC 6120 5, RFC 7590), with OpenSSL,
 * over the connection's file descriptors (a client's: 0 and 1; all of
 * them non-blocking), for STARTTLS and for direct TLS (XEP-0368).
 *
 * For federation (RFC 6120 13.7, server-to-server) the same session can
 * also be a server that asks the peer for its certificate (an inbound
 * stream) or a client that connects to a remote server (an outbound
 * stream, STARTTLS or direct TLS), presenting our domain's certificate
 * and verifying the peer's chain. The chain's verdict is recorded, never
 * enforced here: whether an untrusted or missing certificate still allows
 * dialback is the stream's decision, and the peer's identity is judged by
 * certid.h on tls_peer_cert().
 *
 * Contract: nothing here blocks; every call that cannot complete says
 * whether it waits for the socket to become readable or writable. Errors
 * are returned, logged by the caller; nothing aborts. TLS 1.2 and 1.3
 * only. OpenSSL is initialised only when a TLS context is made, so a
 * plaintext connection pays nothing for it.
 */
#ifndef XMPPD_TLS_H
#define XMPPD_TLS_H

#include <stddef.h>

#define TLS_MAX_CERTS   16     /* certificate/key pairs (one per domain) */
#define TLS_CB_MAX      64     /* channel-binding data, bytes */
#define TLS_ALPN_S2S    "xmpp-server" /* XEP-0368 ALPN for direct TLS s2s */

struct x509_st;            /* OpenSSL's X509, for certid_match() */

struct tls_cert_spec {
	const char *domain;    /* SNI name it serves; NULL for the default */
	const char *cert;      /* PEM file, chain included */
	const char *key;       /* PEM private key */
};

struct tls;                /* one connection's TLS state */

/* Trust anchors for verifying a peer's certificate chain: a PEM bundle,
 * a hashed directory (openssl rehash), or both; both NULL (or "") for
 * the system store (SSL_CTX_set_default_verify_paths). Paths are used as
 * given, not looked up in $CREDENTIALS_DIRECTORY: they are public. */
struct tls_trust {
	const char *ca_file;
	const char *ca_dir;
};

/* The peer's certificate, as the handshake left it. */
enum tls_peer {
	TLS_PEER_PENDING = 0,  /* handshake not complete, or not asked */
	TLS_PEER_NONE,         /* the peer presented no certificate */
	TLS_PEER_UNTRUSTED,    /* presented; the chain did not verify
	                        * (tls_peer_error() says why) */
	TLS_PEER_TRUSTED       /* presented; chains to a trust anchor */
};

/* An outbound (client) session for federation. */
struct tls_client_opts {
	const char *local;     /* our domain: picks our certificate */
	const char *remote;    /* the peer's domain: sent as SNI */
	int direct;            /* direct TLS (XEP-0368): offer ALPN
	                        * TLS_ALPN_S2S */
};

enum {
	TLS_OK = 0,            /* done / bytes moved (see return values) */
	TLS_WANT_READ = -2,    /* call again when rfd is readable */
	TLS_WANT_WRITE = -3,   /* call again when wfd is writable */
	TLS_ERR = -1,          /* failed; see tls_error() */
	TLS_EOF = -4           /* the peer closed (close_notify or TCP EOF) */
};

/* Load the certificates; paths that are not absolute are looked up in
 * $CREDENTIALS_DIRECTORY (systemd LoadCredential=) when it is set.
 * NULL with a reason in err (file and OpenSSL's reason) on failure. */
struct tls *tls_new(const struct tls_cert_spec *certs, int ncerts,
    int rfd, int wfd, char *err, size_t errlen);
/* The server side of an inbound federation stream: tls_new's
 * certificates and SNI choice, and the peer is asked (not required) for
 * its certificate, verified against trust (NULL: the system store). A
 * client offering ALPN TLS_ALPN_S2S gets it. The handshake never fails
 * on the peer's certificate: see tls_peer_status(). NULL with err as
 * tls_new, or naming the CA file or directory that did not load. */
struct tls *tls_new_s2s_server(const struct tls_cert_spec *certs,
    int ncerts, const struct tls_trust *trust, int rfd, int wfd,
    char *err, size_t errlen);
/* The client side of an outbound federation stream over connected
 * descriptors, to be driven by tls_handshake() like the server side (the
 * first call sends the ClientHello: for direct TLS, the first thing on
 * the connection). Our certificate is the one of certs whose domain
 * equals o->local (ignoring case), else the default as tls_new chooses
 * it; ncerts 0 presents none. SNI is o->remote (required). The server's
 * chain is verified against trust and the result recorded as above: a
 * server we do not trust still completes the handshake. NULL with err on
 * failure (as tls_new). */
struct tls *tls_new_client(const struct tls_cert_spec *certs, int ncerts,
    const struct tls_trust *trust, const struct tls_client_opts *o,
    int rfd, int wfd, char *err, size_t errlen);
void tls_free(struct tls *t);
/* The file tls_new opens for a configured name: an absolute name as it
 * is, another under $CREDENTIALS_DIRECTORY when that is set and not empty.
 * 0, or -1 for an empty name or one that does not fit in outsz. Touches
 * no OpenSSL state (the sandbox calls it on every connection). */
int tls_file_path(const char *name, char *out, size_t outsz);

/* Drive the handshake (server or client): TLS_OK when complete. */
int tls_handshake(struct tls *t);
/* Read up to len decrypted bytes: > 0 bytes read, or TLS_WANT_*, TLS_EOF,
 * TLS_ERR. Call again while it returns > 0: OpenSSL may hold more. */
long tls_read(struct tls *t, void *buf, size_t len);
/* Write: > 0 bytes written (may be fewer than len), or TLS_WANT_*, TLS_ERR. */
long tls_write(struct tls *t, const void *buf, size_t len);
/* Send close_notify (best effort, non-blocking). */
void tls_shutdown(struct tls *t);
/* The SNI name the client asked for (on a client session: the name we
 * sent), or NULL. */
const char *tls_sni(const struct tls *t);
/* "TLSv1.3", cipher name: for logs. */
const char *tls_version(const struct tls *t);
const char *tls_cipher(const struct tls *t);
/* Channel binding data (RFC 9266 tls-exporter for TLS 1.3; RFC 5929
 * tls-server-end-point for any version, over the server's certificate:
 * ours, or on a client session the peer's): length, or -1 if not
 * available (e.g. tls-exporter on TLS 1.2). */
int tls_cb_exporter(struct tls *t, unsigned char *out, size_t outsz);
int tls_cb_server_end_point(struct tls *t, unsigned char *out, size_t outsz);
/* Peer verification, after the handshake (sessions made by
 * tls_new_s2s_server or tls_new_client; a tls_new session asks for no
 * certificate and says TLS_PEER_PENDING). */
enum tls_peer tls_peer_status(const struct tls *t);
/* Why the chain did not verify (OpenSSL's text, e.g. "self-signed
 * certificate"), or NULL unless tls_peer_status() is TLS_PEER_UNTRUSTED. */
const char *tls_peer_error(const struct tls *t);
/* The peer's leaf certificate, borrowed: valid until tls_free, not to be
 * freed; NULL when none was presented or the handshake is not done. */
struct x509_st *tls_peer_cert(const struct tls *t);
/* The ALPN protocol agreed on, or NULL: "xmpp-server" on direct TLS. */
const char *tls_alpn(const struct tls *t);
/* 1 for a client session (tls_new_client), else 0. */
int tls_is_client(const struct tls *t);

/* The last error, for logs. */
const char *tls_error(const struct tls *t);

#endif
