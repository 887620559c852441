/*
 * http.h - one HTTP/1.1 request on an accepted connection, for xmpp-web.
 *
 * xmpp-web reads the request head with http_read_head (libhttp-parser
 * does the parsing), picks the service by path (main.c's table), and the
 * service answers with http_respond or its own bytes. A request body is
 * the service's to read, from rfd, starting with the bytes that came with
 * the head (req->early): http_body_read does both, with the limits.
 *
 * Keep-alive: one request per process is enough for every service here
 * (a browser opens another connection), so every answer says
 * "Connection: close" and the process exits after it.
 */
#ifndef XMPPD_HTTP_H
#define XMPPD_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#define HTTP_HEAD_MAX   8192    /* the request head, all of it */
#define HTTP_VALUE_MAX  1024    /* one header's value (repeats joined) */
#define HTTP_PATH_MAX   1024    /* the request target */

/* The headers a service may look at; others are skipped. */
enum http_header {
	HH_NONE, HH_HOST, HH_UPGRADE, HH_CONNECTION, HH_WS_VERSION, HH_WS_KEY,
	HH_WS_PROTOCOL, HH_ORIGIN, HH_CONTENT_TYPE, HH_CONTENT_LENGTH, HH_RANGE,
	HH_TRANSFER_ENCODING, HH_ACCESS_CONTROL_REQUEST_METHOD, HH_EXPECT, HH_COUNT
};

struct http_req {
	int rfd, wfd;                    /* the connection (non-blocking) */
	int method;                      /* http_parser's HTTP_GET, HTTP_PUT, ... */
	int http_major, http_minor;
	char path[HTTP_PATH_MAX];        /* the target's path, percent-encoded, no query */
	char query[HTTP_PATH_MAX];       /* after '?', "" if none */
	int seen[HH_COUNT];
	char value[HH_COUNT][HTTP_VALUE_MAX];
	size_t value_len[HH_COUNT];
	long long content_length;        /* -1 if none */
	int too_long;                    /* a header value was over HTTP_VALUE_MAX */
	char *early;                     /* bytes read after the head */
	size_t early_len;
	size_t early_used;               /* ... of which http_body_read took */
	long long body_read;             /* body bytes http_body_read gave */
};

/* Read and parse the request head within timeout_sec seconds. 0 with req
 * filled; -1 if the client went away or was too slow (nothing to answer);
 * -2 if the head was malformed or too big (answer 400). why says which. */
int http_read_head(struct http_req *req, int rfd, int wfd, int timeout_sec,
    char *why, size_t whylen);
void http_req_free(struct http_req *req);

/* 1 if the header's comma-separated list holds token (case-insensitive if nocase). */
int http_list_has(const char *list, const char *token, int nocase);

/* Write all of s to the client, waiting at most HTTP_WRITE_WAIT_MS for
 * each part to go out. -1 if it could not. */
#define HTTP_WRITE_WAIT_MS 5000
int http_write_all(int wfd, const char *s, size_t len);

/* Answer with status ("404 Not Found"), extra header lines (each ending
 * in "\r\n", or NULL), and a body of body_len bytes of type ctype (NULL
 * with no body). Adds Content-Length, Connection: close and, when the
 * request had an Origin, the CORS headers (Access-Control-Allow-Origin: *).
 * -1 if it could not be written. */
int http_respond(const struct http_req *req, const char *status, const char *extra,
    const char *ctype, const char *body, size_t body_len);

/* http_respond's head alone, for a body of body_len bytes the caller
 * then writes itself (a file). -1 if it could not be written. */
int http_respond_head(const struct http_req *req, const char *status, const char *extra,
    const char *ctype, long long body_len);

/* Read up to len bytes of the body into buf within timeout_sec seconds
 * from the last byte received: the early bytes first, then rfd. The
 * number read, 0 at the end of the body (content_length reached), -1 if
 * the client went away or was too slow. */
ssize_t http_body_read(struct http_req *req, char *buf, size_t len, int timeout_sec);

#endif
