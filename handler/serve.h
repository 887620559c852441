/*
 * serve.h - what a program that serves one accepted connection on fd 0/1
 * does around it: xmpp-handler (handler/main.c) and xmpp-web
 * (web/main.c) share it, so both start, sandbox themselves and run a
 * stream the same way.
 *
 * Contract, in the order of a process's life:
 *   serve_start   once, first: logging as prog, XMPP_LOGIN_FD taken,
 *                 signals (SIGTERM, SIGHUP, SIGINT end the stream with
 *                 system-shutdown; SIGPIPE ignored), the peer's name in
 *                 every log line;
 *   serve_setup   the configuration, fd 0 non-blocking, TCP_NODELAY, and
 *                 the sandbox (sandbox.h; with uploads, and upload_domain
 *                 set, upload_dir writable: xmpp-web's files): -1 with a
 *                 reason in err, and the caller refuses the client in its
 *                 own protocol;
 *   serve_store   Redis, a few tries: -1 (logged) if unreachable;
 *   serve_stream  the poll loop of one XMPP stream (conn.h), until it
 *                 ends; the caller then calls conn_finish and conn_free.
 *                 A program with a loop of its own (BOSH, web/bosh.c)
 *                 reads the subscriber with serve_subscriber instead.
 */
#ifndef XMPPD_SERVE_H
#define XMPPD_SERVE_H

#include <stddef.h>

struct config;
struct conn;
struct store;

/* The peer's address as "ip:port" (from REMOTE_ADDR/REMOTE_PORT when a
 * listener set them, else getpeername), or "local". */
void serve_start(const char *prog, char *peer, size_t peerlen);
int serve_setup(struct config *cfg, const char *cfgpath, int uploads, char *err,
    size_t errlen);
int serve_store(struct store *st, const struct config *cfg);
void serve_stream(struct conn *c, struct store *st, const struct config *cfg);
/* The subscriber's connections (store_sub_fds; on a cluster, one per
 * primary carrying a channel of the session), as POLLIN entries written
 * to pfd (room for SERVE_SUB_FDS): how many. */
#define SERVE_SUB_FDS 8
struct pollfd;
int serve_sub_poll(const struct store *st, struct pollfd *pfd);
/* After poll: each payload published on those nsub entries, and any read
 * before, handed to the connection (conn_deliver). -1 if Redis went
 * away. */
int serve_subscriber(struct conn *c, struct store *st, const struct pollfd *pfd, int nsub);

#endif
