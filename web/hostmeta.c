/*
 * hostmeta.c - XEP-0156's host-meta documents (hostmeta.h).
 */
#include "hostmeta.h"
#include "config.h"
#include "http.h"
#include "web.h"

#include <stdio.h>
#include <string.h>

#include <http_parser.h>

#define REL_WEBSOCKET "urn:xmpp:alt-connections:websocket"
#define REL_BOSH      "urn:xmpp:alt-connections:xbosh"

int hostmeta_base(const struct http_req *req, const struct config *cfg, char *out,
    size_t outlen)
{
	const char *host = req->value[HH_HOST];
	int n;

	if (cfg->http_url[0])
		n = snprintf(out, outlen, "%s", cfg->http_url);
	else if (req->seen[HH_HOST] && *host && !strpbrk(host, "/?#\"'<>&\\ \t"))
		n = snprintf(out, outlen, "http://%s", host);
	else
		return -1;
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int hostmeta_serve(const struct http_req *req, const struct config *cfg, int json)
{
	char base[HTTP_VALUE_MAX + 16], ws[sizeof base + sizeof WEB_PATH_WEBSOCKET];
	char bosh[sizeof base + sizeof WEB_PATH_BOSH], body[4096];
	int n;

	if (req->method != HTTP_GET && req->method != HTTP_HEAD)
		return http_respond(req, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", NULL, NULL, 0);
	if (hostmeta_base(req, cfg, base, sizeof base) == -1)
		return http_respond(req, "400 Bad Request", NULL, NULL, NULL, 0);
	/* http -> ws, https -> wss: the same host and port. */
	snprintf(ws, sizeof ws, "ws%s" WEB_PATH_WEBSOCKET, base + 4);
	snprintf(bosh, sizeof bosh, "%s" WEB_PATH_BOSH, base);
	if (json)
		n = snprintf(body, sizeof body, "{\"links\":[{\"rel\":\"" REL_WEBSOCKET "\","
		    "\"href\":\"%s\"},{\"rel\":\"" REL_BOSH "\",\"href\":\"%s\"}]}\n", ws, bosh);
	else
		n = snprintf(body, sizeof body, "<?xml version='1.0' encoding='utf-8'?>\n"
		    "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
		    "  <Link rel='" REL_WEBSOCKET "' href='%s'/>\n"
		    "  <Link rel='" REL_BOSH "' href='%s'/>\n</XRD>\n", ws, bosh);
	/* Any page may read it: that is what it is for (XEP-0156 3.2). */
	return http_respond(req, "200 OK", req->seen[HH_ORIGIN] ? NULL :
	    "Access-Control-Allow-Origin: *\r\n", json ? "application/json" : "application/xrd+xml",
	    body, (size_t)n);
}
