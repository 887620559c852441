/*
 * bosh.h - XMPP over BOSH (XEP-0124 with XEP-0206) for xmpp-web: one
 * HTTP request of a BOSH session, at WEB_PATH_BOSH.
 *
 * A BOSH session outlives the process: between requests it is a hash in
 * Redis (router/bosh.h) and, once bound, a detached XEP-0198 session
 * (handler/sm.c) that each request resumes, feeds, waits on, answers
 * from and detaches again. BOSH in xmpp-web(8) is the design.
 *
 * Contract: bosh_serve answers req (a POST with a <body/>, or the OPTIONS
 * preflight; any other method 405) and returns when the answer is
 * written or the client is gone; Redis is opened here, only for POST.
 * The connection is plain HTTP: TLS (https) is a reverse proxy's.
 */
#ifndef XMPPD_BOSH_H
#define XMPPD_BOSH_H

struct config;
struct http_req;

#define BOSH_WAIT_MAX     120     /* seconds a request may be held (Prosody's max) */
#define BOSH_HOLD         1       /* requests held at once */
#define BOSH_REQUESTS     (BOSH_HOLD + 1)
#define BOSH_POLLING      5       /* announced shortest polling interval */
#define BOSH_VER          "1.11"
#define BOSH_TTL_SLACK    30      /* the hash outlives the session by this */

void bosh_serve(struct http_req *req, const struct config *cfg, const char *peer);

#endif
