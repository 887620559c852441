/*
 * hostmeta.h - XEP-0156 discovery: /.well-known/host-meta (XRD, RFC 6415)
 * and /.well-known/host-meta.json, naming the WebSocket endpoint of this
 * front, so that a browser client finds it from the domain alone.
 *
 * The URLs are built from http_url (xmpp.conf(5)), or, when it is not
 * set, from the request's Host as plain http: behind a TLS proxy,
 * http_url must be set.
 */
#ifndef XMPPD_HOSTMETA_H
#define XMPPD_HOSTMETA_H

#include <stddef.h>

struct config;
struct http_req;

/* Answer req: the XRD, or the JSON when json is set (GET and HEAD; any
 * other method 405). -1 if the answer could not be written. */
int hostmeta_serve(const struct http_req *req, const struct config *cfg, int json);

/* The public base URL ("http://host:port", no trailing slash) into out:
 * http_url, else from the request's Host. -1 if there is neither. */
int hostmeta_base(const struct http_req *req, const struct config *cfg, char *out,
    size_t outlen);

#endif
