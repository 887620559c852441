/*
 * tls.h - TLS for one client connection (RFC 6120 5, RFC 7590), with
 * OpenSSL, over the connection's file descriptors (0 and 1, non-blocking),
 * for STARTTLS and for direct TLS (XEP-0368).
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

struct tls_cert_spec {
	const char *domain;    /* SNI name it serves; NULL for the default */
	const char *cert;      /* PEM file, chain included */
	const char *key;       /* PEM private key */
};

struct tls;                /* one connection's TLS state */

enum {
	TLS_OK = 0,            /* done / bytes moved (see return values) */
	TLS_WANT_READ = -2,    /* call again when fd 0 is readable */
	TLS_WANT_WRITE = -3,   /* call again when fd 1 is writable */
	TLS_ERR = -1,          /* failed; see tls_error() */
	TLS_EOF = -4           /* the peer closed (close_notify or TCP EOF) */
};

/* Load the certificates; paths that are not absolute are looked up in
 * $CREDENTIALS_DIRECTORY (systemd LoadCredential=) when it is set.
 * NULL with a reason in err (file and OpenSSL's reason) on failure. */
struct tls *tls_new(const struct tls_cert_spec *certs, int ncerts,
    int rfd, int wfd, char *err, size_t errlen);
void tls_free(struct tls *t);
/* The file tls_new opens for a configured name: an absolute name as it
 * is, another under $CREDENTIALS_DIRECTORY when that is set and not empty.
 * 0, or -1 for an empty name or one that does not fit in outsz. Touches
 * no OpenSSL state (the sandbox calls it on every connection). */
int tls_file_path(const char *name, char *out, size_t outsz);

/* Drive the server handshake: TLS_OK when complete. */
int tls_handshake(struct tls *t);
/* Read up to len decrypted bytes: > 0 bytes read, or TLS_WANT_*, TLS_EOF,
 * TLS_ERR. Call again while it returns > 0: OpenSSL may hold more. */
long tls_read(struct tls *t, void *buf, size_t len);
/* Write: > 0 bytes written (may be fewer than len), or TLS_WANT_*, TLS_ERR. */
long tls_write(struct tls *t, const void *buf, size_t len);
/* Send close_notify (best effort, non-blocking). */
void tls_shutdown(struct tls *t);
/* The SNI name the client asked for, or NULL. */
const char *tls_sni(const struct tls *t);
/* "TLSv1.3", cipher name: for logs. */
const char *tls_version(const struct tls *t);
const char *tls_cipher(const struct tls *t);
/* Channel binding data (RFC 9266 tls-exporter for TLS 1.3; RFC 5929
 * tls-server-end-point for any version): length, or -1 if not available
 * (e.g. tls-exporter on TLS 1.2). */
int tls_cb_exporter(struct tls *t, unsigned char *out, size_t outsz);
int tls_cb_server_end_point(struct tls *t, unsigned char *out, size_t outsz);
/* The last error, for logs. */
const char *tls_error(const struct tls *t);

#endif
