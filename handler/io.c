/*
 * io.c - plaintext or TLS bytes to and from the client.
 */
#include "io.h"
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void io_init(struct io *io, int rfd, int wfd)
{
	memset(io, 0, sizeof *io);
	io->rfd = rfd;
	io->wfd = wfd;
}

void io_free(struct io *io)
{
	if (io->tls) {
		tls_shutdown(io->tls);
		tls_free(io->tls);
		io->tls = NULL;
	}
}

int io_tls_configured(const struct config *cfg)
{
	return cfg->tls_cert[0] || cfg->ntls_domains;
}

int io_cert_specs(const struct config *cfg, struct tls_cert_spec *specs, int max)
{
	int n = 0, i;

	if (cfg->tls_cert[0] && n < max) {
		specs[n].domain = NULL;
		specs[n].cert = cfg->tls_cert;
		specs[n].key = cfg->tls_key[0] ? cfg->tls_key : cfg->tls_cert;
		n++;
	}
	for (i = 0; i < cfg->ntls_domains && n < max; i++, n++) {
		specs[n].domain = cfg->tls_domains[i].domain;
		specs[n].cert = cfg->tls_domains[i].cert;
		specs[n].key = cfg->tls_domains[i].key;
	}
	return n;
}

int io_tls_prepare(struct io *io, const struct config *cfg)
{
	struct tls_cert_spec specs[TLS_MAX_CERTS];
	int n = io_cert_specs(cfg, specs, TLS_MAX_CERTS);

	if (n == 0) {
		snprintf(io->err, sizeof io->err, "no tls_cert configured");
		return -1;
	}
	io->tls = tls_new(specs, n, io->rfd, io->wfd, io->err, sizeof io->err);
	if (!io->tls)
		return -1;
	io->start_pending = 1;
	return 0;
}

int io_tls_attach(struct io *io, struct tls *t)
{
	if (io->tls || !t) {
		snprintf(io->err, sizeof io->err, "%s",
		    io->tls ? "TLS already started" : "no TLS session");
		return -1;
	}
	io->tls = t;
	io->start_pending = 1;
	return 0;
}

int io_secure(const struct io *io)
{
	return io->tls && !io->start_pending && !io->handshaking;
}

short io_events(const struct io *io, int have_output)
{
	short ev = POLLIN;
	if (io->tls && (io->start_pending || io->handshaking))
		return have_output && io->start_pending ? POLLOUT : POLLIN | (io->handshaking ? POLLOUT : 0);
	if (have_output || io->read_wants_write)
		ev |= POLLOUT;
	return ev;
}

/* One step of the handshake: 0 going on or done, -1 failed. */
static int handshake(struct io *io)
{
	int r = tls_handshake(io->tls);
	if (r == TLS_OK) {
		io->handshaking = 0;
		return 0;
	}
	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
		return 0;
	snprintf(io->err, sizeof io->err, "TLS handshake: %s", tls_error(io->tls));
	return -1;
}

long io_read(struct io *io, char *buf, size_t len)
{
	long n;
	if (io->tls && io->start_pending)
		return 0;                 /* nothing may be read until TLS starts */
	if (io->tls && io->handshaking)
		return handshake(io);
	if (!io->tls) {
		n = read(io->rfd, buf, len);
		if (n > 0)
			return n;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		snprintf(io->err, sizeof io->err, "%s",
		    n == 0 ? "client closed the connection" : strerror(errno));
		return -1;
	}
	io->read_wants_write = 0;
	n = tls_read(io->tls, buf, len);
	if (n > 0)
		return n;
	if (n == TLS_WANT_READ)
		return 0;
	if (n == TLS_WANT_WRITE) {
		io->read_wants_write = 1;
		return 0;
	}
	snprintf(io->err, sizeof io->err, "%s",
	    n == TLS_EOF ? "client closed the connection" : tls_error(io->tls));
	return -1;
}

int io_flush(struct io *io, struct xbuf *b)
{
	long n;

	/* Until TLS starts, queued bytes (the <proceed/>) go out in the clear. */
	while (b->len && !(io->tls && io->handshaking)) {
		if (io->tls && !io->start_pending) {
			n = tls_write(io->tls, b->p, b->len);
			if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
				break;
			if (n < 0) {
				snprintf(io->err, sizeof io->err, "%s", tls_error(io->tls));
				return -1;
			}
		} else {
			n = write(io->wfd, b->p, b->len);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				snprintf(io->err, sizeof io->err, "%s", strerror(errno));
				return -1;
			}
		}
		xbuf_consume(b, (size_t)n);
	}
	/* STARTTLS: <proceed/> is out in plaintext; now the handshake. */
	if (io->tls && io->start_pending && !b->len) {
		io->start_pending = 0;
		io->handshaking = 1;
	}
	if (io->tls && io->handshaking)
		return handshake(io);
	return 0;
}
