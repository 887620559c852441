/*
 * outconn.h - one outbound federation connection: the child of
 * xmpp-s2s-out (out.c) that serves one route "REMOTE/LOCAL"
 * (router/s2s.h) for as long as it has work.
 *
 * It takes the route's lease (one process in the whole cluster serves a
 * route), finds REMOTE's servers (dns.h), connects (direct TLS or
 * STARTTLS, TLS required), checks the peer's certificate, authenticates
 * LOCAL to the peer (SASL EXTERNAL, else dialback XEP-0220), then writes
 * the route's queue to the stream and sends the route's dialback
 * verification requests, until the route has been idle for
 * s2s_idle_timeout. When the route cannot be served it bounces what it
 * must (remote-server-not-found at once when DNS says there is no such
 * service; remote-server-timeout for stanzas older than s2s_timeout
 * otherwise) and answers the verifications it holds "error".
 *
 * Contract: outconn_run never returns to a caller that wants to go on
 * serving other routes: it is the whole life of a child process, it
 * opens its own Redis connections, and its result is the child's exit
 * status, one of OUTCONN_EXIT_*. It logs every failure with its reason.
 */
#ifndef XMPPD_S2S_OUTCONN_H
#define XMPPD_S2S_OUTCONN_H

#include <signal.h>

#include "config.h"

#define OUTCONN_EXIT_DONE   0   /* idle, or nothing left to do: no backoff */
#define OUTCONN_EXIT_FAIL   1   /* failed; work may remain: retry later */
#define OUTCONN_EXIT_LEASE  3   /* another process holds the route's lease */

#define OUTCONN_LEASE_TTL   30  /* seconds the lease lives unless renewed */

/* Serve route ("REMOTE/LOCAL") as described above; an OUTCONN_EXIT_*.
 * stop points to a flag a signal handler sets to end the connection
 * (closed politely, the queue kept). */
int outconn_run(const struct config *cfg, const char *route, volatile sig_atomic_t *stop);

#endif
