/*
 * io.h - the client connection's bytes: plain on fd 0/1, or through TLS
 * (STARTTLS after <proceed/>, or direct TLS from the first byte).
 *
 * Contract: nothing blocks; io_events() says what to poll for, so a TLS
 * read that needs the socket writable (or the reverse) is not lost.
 */
#ifndef XMPPD_IO_H
#define XMPPD_IO_H

#include <stddef.h>
#include "tls.h"
#include "xml.h"

struct config;

struct io {
	int rfd, wfd;
	struct tls *tls;          /* NULL: plaintext */
	int handshaking;          /* TLS handshake not finished */
	int start_pending;        /* start TLS once queued plaintext is out */
	int read_wants_write;     /* TLS read waits for POLLOUT */
	int write_wants_read;     /* TLS write waits for POLLIN */
	char err[256];
};

void io_init(struct io *io, int rfd, int wfd);
void io_free(struct io *io);
/* Load the configured certificates and prepare TLS; it begins when the
 * plaintext already queued has been written (STARTTLS: after <proceed/>).
 * -1 with io->err when no certificate can be loaded. */
int io_tls_prepare(struct io *io, const struct config *cfg);
/* Use t, a session already made (tls_new_s2s_server, tls_new_client), on
 * this connection; io owns it from now on (io_free frees it). It starts
 * as io_tls_prepare's does, at an io_flush once the plaintext already
 * queued has been written: for direct TLS call io_flush with nothing
 * queued, and a client session sends its ClientHello there. 0, or -1
 * with io->err if TLS is already on (t is then not taken). */
int io_tls_attach(struct io *io, struct tls *t);
/* The configured certificates (tls_cert, then each tls_domain) as tls.h
 * takes them: how many, at most max. */
int io_cert_specs(const struct config *cfg, struct tls_cert_spec *specs, int max);
/* 1 if the configuration has a certificate (STARTTLS can be offered). */
int io_tls_configured(const struct config *cfg);
/* Poll events for the client fd, given whether output is queued. */
short io_events(const struct io *io, int have_output);
/* Read: > 0 bytes, 0 nothing yet, -1 the client is gone (io->err). */
long io_read(struct io *io, char *buf, size_t len);
/* Write what b holds, as far as the socket takes it; advance TLS (start
 * it, or finish its handshake). -1 the client is gone (io->err). */
int io_flush(struct io *io, struct xbuf *b);
/* TLS is up and the handshake done. */
int io_secure(const struct io *io);

#endif
