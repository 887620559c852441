/*
 * xmpp-web - serve one HTTP/1.1 connection on stdin/stdout: XMPP over
 * WebSocket (RFC 7395), over BOSH (XEP-0206) and XEP-0156 discovery.
 *
 * Started by systemd (xmpp-web.socket, Accept=yes) or any inetd with the
 * connection as fd 0 and 1, like xmpp-handler, whose stream it runs. The
 * life of a connection:
 *
 *   serve.c: config, sandbox -> http.c: the request head (libhttp-parser)
 *   -> the path:
 *     /xmpp-websocket: ws.c answers the upgrade (101, or 400/403/426)
 *       -> Redis -> the XMPP stream of xmpp-handler(8) (serve_stream),
 *       its bytes in WebSocket frames (wsstream.c, libwslay) -> exit
 *     /http-bind: bosh.c, one request of a BOSH session (XEP-0124/0206):
 *       Redis -> the session's stream brought back (auth, bind, or its
 *       XEP-0198 state resumed) -> the body's stanzas -> held until
 *       output -> the answer kept for replay, the session detached -> exit
 *     /.well-known/host-meta[.json]: hostmeta.c -> exit
 *     /upload/...: upload.c, XEP-0363 files (Redis for a PUT) -> exit
 *     anything else: 404 -> exit
 *
 * It is a separate program from xmpp-handler because libwslay comes as a
 * shared library only: this one is linked dynamically, xmpp-handler
 * stays static (its exec cost is every TCP connection's).
 *
 * -V: print the version compiled in and exit.
 * Exit status: 0 the connection was served, 100 usage, 111 system failure.
 */
#include "config.h"
#include "log.h"
#include "store.h"
#include "conn-int.h"
#include "serve.h"
#include "version.h"
#include "http.h"
#include "bosh.h"
#include "hostmeta.h"
#include "upload.h"
#include "web.h"
#include "ws.h"
#include "wsstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <http_parser.h>

#define PROG  "xmpp-web"
#define USAGE "usage: " PROG " [-V] [-c config-file]"

/* Before a request is read, a failure can only be said in HTTP. */
static void refuse(const char *why)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	log_msg(LOG_ERR, "refusing connection: %s", why);
	if (write(STDOUT_FILENO, msg, sizeof msg - 1) == -1)
		log_msg(LOG_ERR, "write: %s", strerror(errno));
	exit(111);
}

/* The upgrade, then an XMPP stream in frames, as xmpp-handler's. */
static void websocket(struct http_req *req, const struct config *cfg, const char *peer)
{
	struct store st;
	struct conn c;
	struct ws *w;
	char why[256];

	if (!(w = ws_accept(cfg, req, why, sizeof why))) {
		log_msg(LOG_INFO, "websocket refused: %s", why);
		return;
	}
	log_msg(LOG_INFO, "websocket upgrade");
	conn_init(&c, cfg, &st, peer, STDIN_FILENO, STDOUT_FILENO);
	wsstream_attach(&c, w);
	conn_set_storage(&c, serve_store(&st, cfg) == 0);
	if (req->early_len)              /* frames sent with the request */
		conn_input(&c, req->early, req->early_len);
	serve_stream(&c, &st, cfg);
	conn_finish(&c);
	conn_free(&c);
	store_close(&st);
}

/* A file of the upload service: Redis only for a PUT (a GET reads the
 * folder alone, and works while Redis is away). */
static void uploads(struct http_req *req, const struct config *cfg)
{
	struct store st;
	int redis = req->method == HTTP_PUT && serve_store(&st, cfg) == 0;

	upload_serve(req, cfg, redis ? &st : NULL);
	if (redis)
		store_close(&st);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct http_req req;
	char err[512], peer[128];
	const char *cfgpath = NULL;
	int opt, r;

	serve_start(PROG, peer, sizeof peer);
	while ((opt = getopt(argc, argv, "c:V")) != -1) {
		if (opt == 'c') {
			cfgpath = optarg;
		} else if (opt == 'V') {
			printf("%s %s\n", PROG, XMPPD_VERSION);
			return 0;
		} else {
			fprintf(stderr, "%s\n", USAGE);
			return 100;
		}
	}
	if (serve_setup(&cfg, cfgpath, 1, err, sizeof err) == -1)
		refuse(err);
	r = http_read_head(&req, STDIN_FILENO, STDOUT_FILENO, cfg.auth_timeout, err, sizeof err);
	if (r < 0) {
		log_msg(LOG_INFO, "no request: %s", err);
		if (r == -2)
			http_respond(&req, "400 Bad Request", NULL, NULL, NULL, 0);
		return 0;
	}
	log_msg(LOG_INFO, "request %s %s", http_method_str(req.method), req.path);
	if (!strcmp(req.path, WEB_PATH_WEBSOCKET))
		websocket(&req, &cfg, peer);
	else if (!strcmp(req.path, WEB_PATH_BOSH))
		bosh_serve(&req, &cfg, peer);
	else if (!strcmp(req.path, WEB_PATH_HOSTMETA))
		hostmeta_serve(&req, &cfg, 0);
	else if (!strcmp(req.path, WEB_PATH_HOSTMETA_JSON))
		hostmeta_serve(&req, &cfg, 1);
	else if (!strncmp(req.path, WEB_PATH_UPLOAD, sizeof WEB_PATH_UPLOAD - 1))
		uploads(&req, &cfg);
	else
		http_respond(&req, "404 Not Found", NULL, NULL, NULL, 0);
	http_req_free(&req);
	return 0;
}
