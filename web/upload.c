/*
 * upload.c - PUT, GET, HEAD and OPTIONS on the upload service's URLs
 * (upload.h). The handler (handler/upload.c) made the slot and signed
 * its PUT URL; any host's xmpp-web checks that signature with the same
 * key (router/uploads.h), takes the body within limits of size and time,
 * and stores it (lib/uploadstore.h); then the file counts in its
 * owner's quota until it expires. A GET needs no Redis: the slot id is
 * the secret, the folder says the rest.
 */
#include "upload.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "uploads.h"
#include "uploadsig.h"
#include "uploadstore.h"
#include "web.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#define UPLOAD_CHUNK      65536     /* bytes read or written at a time */
#define UPLOAD_GRACE_SEC  60        /* a PUT body may take this long, plus ... */
#define UPLOAD_MIN_RATE   16384     /* ... a second per this many bytes (408) */
#define UPLOAD_LINGER_MS  1000      /* after refusing a body: read it this long ... */
#define UPLOAD_LINGER_MAX (1L << 20)  /* ... or this many bytes, then close */
#define UPLOAD_EXTRA_MAX  (2 * UPLOADSIG_NAME_MAX * 3 + 512)   /* headers we add */
#define UPLOAD_TYPE_DEFAULT "application/octet-stream"

_Static_assert(UPLOADSIG_TARGET_MAX <= HTTP_PATH_MAX,
    "every slot URL fits the request target xmpp-web reads");

/* ---- answers ---- */

static int status(const struct http_req *req, const char *st)
{
	return http_respond(req, st, NULL, NULL, NULL, 0);
}

/* The CORS preflight (Fetch standard): any origin may PUT and GET, with
 * a Content-Type. */
static int preflight(const struct http_req *req)
{
	return http_respond(req, "204 No Content",
	    "Access-Control-Allow-Methods: GET, HEAD, PUT, OPTIONS\r\n"
	    "Access-Control-Allow-Headers: Content-Type\r\n"
	    "Access-Control-Max-Age: 86400\r\n", NULL, NULL, 0);
}

/* ---- PUT ---- */

/* The slot's type and the request's agree: the same media type and
 * parameters, without case, blanks around ignored. */
static int same_type(const char *want, const char *got)
{
	size_t n;

	while (*got == ' ' || *got == '\t')
		got++;
	n = strlen(got);
	while (n && (got[n - 1] == ' ' || got[n - 1] == '\t'))
		n--;
	return strlen(want) == n && !strncasecmp(want, got, n);
}

/* Read the body (size bytes) into fd, pausing idle seconds at most, and
 * at a rate of UPLOAD_MIN_RATE after a grace. 0, or -1 (too slow, cut
 * short, or a write failed: *write_err set then). */
static int take_body(struct http_req *req, long size, int idle, int fd, int *write_err)
{
	char *buf = malloc(UPLOAD_CHUNK);
	time_t deadline = time(NULL) + UPLOAD_GRACE_SEC + size / UPLOAD_MIN_RATE;
	long got = 0;
	ssize_t n, w, off;

	*write_err = 0;
	if (!buf) {
		*write_err = 1;
		return -1;
	}
	while (got < size) {
		if (time(NULL) > deadline)
			break;
		n = http_body_read(req, buf, UPLOAD_CHUNK, idle);
		if (n <= 0)
			break;
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, (size_t)(n - off));
			if (w == -1 && errno == EINTR) {
				w = 0;
			} else if (w <= 0) {
				*write_err = 1;
				free(buf);
				return -1;
			}
		}
		got += n;
	}
	free(buf);
	return got == size ? 0 : -1;
}

/* Checked, stored, counted: the whole PUT once the signature is good. */
static int put_checked(struct http_req *req, const struct config *cfg, struct store *st,
    const struct uploadsig_slot *s)
{
	const char *ctype = req->value[HH_CONTENT_TYPE];
	struct uploadstore_meta m;
	time_t now = time(NULL);
	int fd, rc, werr;

	if (req->seen[HH_TRANSFER_ENCODING] || req->content_length < 0)
		return status(req, "411 Length Required");
	if (req->content_length > s->size)
		return status(req, "413 Content Too Large");
	if (req->content_length < s->size)
		return status(req, "400 Bad Request");
	if (s->type[0] && (!req->seen[HH_CONTENT_TYPE] || !same_type(s->type, ctype)))
		return status(req, "415 Unsupported Media Type");
	rc = uploadstore_begin(cfg->upload_dir, s->id, &fd);
	if (rc == UPLOADSTORE_EXISTS)
		return status(req, "409 Conflict");
	if (rc < 0) {
		log_msg(LOG_ERR, "upload %s: %s: %s", s->id, cfg->upload_dir, strerror(errno));
		return status(req, "500 Internal Server Error");
	}
	memset(&m, 0, sizeof m);
	rc = st ? upload_owner(st, s->id, m.owner, sizeof m.owner) : XE_REDIS;
	if (rc != UPLOAD_FOUND) {
		close(fd);
		uploadstore_remove(cfg->upload_dir, s->id);
		if (rc < 0)
			log_msg(LOG_ERR, "upload %s: %s", s->id, st ? st->err : "no Redis");
		return status(req, rc < 0 ? "503 Service Unavailable" : "410 Gone");
	}
	/* Everything but the body checked: a client that sent "Expect:
	 * 100-continue" waits for this before it sends the body (RFC 9110
	 * 10.1.1); none is sent to others (a proxy may not pass it on). */
	if (req->seen[HH_EXPECT] && http_list_has(req->value[HH_EXPECT], "100-continue", 1) &&
	    req->early_used >= req->early_len &&
	    http_write_all(req->wfd, "HTTP/1.1 100 Continue\r\n\r\n", 25) == -1) {
		close(fd);
		uploadstore_remove(cfg->upload_dir, s->id);
		return -1;
	}
	/* a client may stay silent as long as before it authenticates */
	if (take_body(req, s->size, cfg->auth_timeout, fd, &werr) == -1) {
		close(fd);
		uploadstore_remove(cfg->upload_dir, s->id);
		if (werr) {
			log_msg(LOG_ERR, "upload %s: writing: %s", s->id, strerror(errno));
			return status(req, "500 Internal Server Error");
		}
		log_msg(LOG_INFO, "upload %s: body too slow or cut short", s->id);
		return status(req, "408 Request Timeout");
	}
	snprintf(m.name, sizeof m.name, "%s", s->name);
	/* the slot's type, else the request's if it is one (at most
	 * UPLOADSIG_TYPE_MAX bytes, uploadsig_type_ok) */
	if (!s->type[0] && (!req->seen[HH_CONTENT_TYPE] || !*ctype || !uploadsig_type_ok(ctype)))
		ctype = UPLOAD_TYPE_DEFAULT;
	snprintf(m.type, sizeof m.type, "%.*s", UPLOADSIG_TYPE_MAX, s->type[0] ? s->type : ctype);
	m.size = s->size;
	m.expires = (long)now + cfg->upload_expiry;
	if (uploadstore_finish(cfg->upload_dir, s->id, &m, fd) < 0) {
		log_msg(LOG_ERR, "upload %s: storing: %s", s->id, strerror(errno));
		uploadstore_remove(cfg->upload_dir, s->id);
		return status(req, "500 Internal Server Error");
	}
	rc = upload_commit(st, m.owner, s->id, m.size, (time_t)m.expires, now);
	if (rc != UPLOAD_KEPT) {
		/* the owner's account was removed meanwhile: the file would
		 * count for nobody */
		uploadstore_remove(cfg->upload_dir, s->id);
		if (rc < 0)
			log_msg(LOG_ERR, "upload %s: %s", s->id, st->err);
		return status(req, rc < 0 ? "503 Service Unavailable" : "410 Gone");
	}
	log_msg(LOG_INFO, "upload %s: %ld bytes stored for %s", s->id, m.size, m.owner);
	return status(req, "201 Created");
}

static int put(struct http_req *req, const struct config *cfg, struct store *st,
    const struct uploadsig_slot *s, const char *sig)
{
	unsigned char key[UPLOADSIG_KEY_LEN];
	int rc;

	if (!sig[0])
		return status(req, "403 Forbidden");
	if (!st || upload_key(st, key) < 0) {
		log_msg(LOG_ERR, "upload: signing key: %s", st ? st->err : "no Redis");
		return status(req, "503 Service Unavailable");
	}
	rc = uploadsig_verify(key, s, sig, time(NULL));
	memset(key, 0, sizeof key);
	if (rc == UPLOADSIG_EXPIRED)
		return status(req, "410 Gone");
	if (rc != 0) {
		log_msg(LOG_NOTICE, "upload %s: bad signature", s->id);
		return status(req, "403 Forbidden");
	}
	return put_checked(req, cfg, st, s);
}

/* ---- GET and HEAD ---- */

/* A single "bytes=" range of a file of size bytes (RFC 9110 14.1.2):
 * 1 with [*from, *to] set, 0 to serve it whole (no Range, or one this
 * does not take: several ranges, another unit), -1 not satisfiable. */
static int parse_range(const char *v, long size, long *from, long *to)
{
	char *end;
	long a, b;

	if (strncmp(v, "bytes=", 6) || strchr(v, ','))
		return 0;
	v += 6;
	if (*v == '-') {                        /* the last N bytes */
		b = strtol(v + 1, &end, 10);
		if (end == v + 1 || *end || b < 0)
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
		return 1;
	}
	if (*v < '0' || *v > '9')
		return 0;
	a = strtol(v, &end, 10);
	if (*end != '-')
		return 0;
	v = end + 1;
	b = size - 1;
	if (*v) {
		if (*v < '0' || *v > '9')
			return 0;
		b = strtol(v, &end, 10);
		if (*end || b < a)
			return 0;
	}
	if (a >= size)
		return -1;
	*from = a;
	*to = b >= size ? size - 1 : b;
	return 1;
}

/* Shown in the browser or saved: media and plain text inline, anything
 * else (HTML, scripts, PDF ...) as an attachment. */
static int inline_type(const char *type)
{
	return !strncasecmp(type, "image/", 6) || !strncasecmp(type, "video/", 6) ||
	    !strncasecmp(type, "audio/", 6) || !strncasecmp(type, "text/plain", 10);
}

/* Content-Disposition with name (RFC 6266 4.3: an ASCII fallback in
 * filename, the UTF-8 name percent-encoded in filename*, RFC 8187). */
static void disposition(char *out, size_t outsz, const char *type, const char *name)
{
	static const char hexd[] = "0123456789ABCDEF";
	char ascii[UPLOADSIG_NAME_MAX + 1], ext[3 * UPLOADSIG_NAME_MAX + 1];
	const unsigned char *p;
	size_t a = 0, e = 0;

	for (p = (const unsigned char *)name; *p; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("!#$&+-.^_`|~", *p);
		ascii[a++] = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' ? (char)*p : '_';
		if (plain) {
			ext[e++] = (char)*p;
		} else {
			ext[e++] = '%';
			ext[e++] = hexd[*p >> 4];
			ext[e++] = hexd[*p & 15];
		}
	}
	ascii[a] = ext[e] = '\0';
	snprintf(out, outsz, "Content-Disposition: %s; filename=\"%s\"; filename*=UTF-8''%s\r\n",
	    inline_type(type) ? "inline" : "attachment", ascii, ext);
}

/* Write len bytes of fd from offset to the client. */
static int send_file(const struct http_req *req, int fd, long offset, long len)
{
	char *buf = malloc(UPLOAD_CHUNK);
	ssize_t n;
	int rc = 0;

	if (!buf)
		return -1;
	while (len > 0 && rc == 0) {
		n = pread(fd, buf, len < UPLOAD_CHUNK ? (size_t)len : UPLOAD_CHUNK, (off_t)offset);
		if (n <= 0) {
			rc = -1;
			break;
		}
		rc = http_write_all(req->wfd, buf, (size_t)n);
		offset += n;
		len -= n;
	}
	free(buf);
	return rc;
}

static int get(const struct http_req *req, const struct config *cfg,
    const struct uploadsig_slot *s)
{
	struct uploadstore_meta m;
	char extra[UPLOAD_EXTRA_MAX];
	size_t used;
	long from = 0, to;
	int fd, r = 0, rc;

	if (uploadstore_open(cfg->upload_dir, s->id, &m, &fd) != UPLOADSTORE_OK)
		return status(req, "404 Not Found");
	if (strcmp(m.name, s->name)) {
		close(fd);
		return status(req, "404 Not Found");
	}
	if (m.expires <= (long)time(NULL)) {
		close(fd);
		if (uploadstore_remove(cfg->upload_dir, s->id) < 0)
			log_msg(LOG_ERR, "upload %s: removing: %s", s->id, strerror(errno));
		else
			log_msg(LOG_INFO, "upload %s: expired, removed", s->id);
		return status(req, "404 Not Found");
	}
	to = m.size - 1;
	if (req->seen[HH_RANGE])
		r = parse_range(req->value[HH_RANGE], m.size, &from, &to);
	/* Served as stored, never sniffed into something else, and never
	 * run as a page of this origin. */
	disposition(extra, sizeof extra, m.type, m.name);
	used = strlen(extra);
	snprintf(extra + used, sizeof extra - used, "Accept-Ranges: bytes\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: default-src 'none'; sandbox\r\n");
	used = strlen(extra);
	if (r < 0) {
		close(fd);
		snprintf(extra + used, sizeof extra - used, "Content-Range: bytes */%ld\r\n", m.size);
		return http_respond(req, "416 Range Not Satisfiable", extra, NULL, NULL, 0);
	}
	if (r > 0)
		snprintf(extra + used, sizeof extra - used, "Content-Range: bytes %ld-%ld/%ld\r\n",
		    from, to, m.size);
	rc = http_respond_head(req, r > 0 ? "206 Partial Content" : "200 OK", extra, m.type,
	    to - from + 1);
	if (rc == 0 && req->method != HTTP_HEAD)
		rc = send_file(req, fd, from, to - from + 1);
	close(fd);
	return rc;
}

/* A PUT refused before its body was read: the answer is written, but
 * closing with the body unread would reset the connection, and the
 * client might lose the answer with it (a browser shows a network error
 * instead of the status). Say no more, read on a little, then close. */
static void linger(const struct http_req *req)
{
	char buf[UPLOAD_CHUNK / 4];
	struct pollfd pfd = { req->rfd, POLLIN, 0 };
	struct timespec t0, t;
	long left = UPLOAD_LINGER_MAX, ms = 0;
	ssize_t n;

	if (req->content_length <= req->body_read + (long long)(req->early_len - req->early_used))
		return;         /* nothing unread */
	shutdown(req->wfd, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left > 0 && ms < UPLOAD_LINGER_MS && poll(&pfd, 1, (int)(UPLOAD_LINGER_MS - ms)) > 0) {
		n = read(req->rfd, buf, sizeof buf);
		if (n <= 0 && !(n == -1 && (errno == EINTR || errno == EAGAIN)))
			break;
		if (n > 0)
			left -= n;
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
	}
}

int upload_serve(struct http_req *req, const struct config *cfg, struct store *st)
{
	struct uploadsig_slot s;
	char sig[UPLOADSIG_HEX + 1];
	int rc;

	if (!cfg->upload_domain[0])
		return status(req, "404 Not Found");
	if (req->method == HTTP_OPTIONS)
		return preflight(req);
	if (req->method != HTTP_PUT && req->method != HTTP_GET && req->method != HTTP_HEAD)
		return http_respond(req, "405 Method Not Allowed",
		    "Allow: GET, HEAD, PUT, OPTIONS\r\n", NULL, NULL, 0);
	if (req->method == HTTP_PUT) {
		rc = uploadsig_parse(req->path, req->query, &s, sig) < 0 ?
		    status(req, "403 Forbidden") : put(req, cfg, st, &s, sig);
		linger(req);
		return rc;
	}
	if (uploadsig_parse(req->path, req->query, &s, sig) < 0)
		return status(req, "404 Not Found");
	return get(req, cfg, &s);
}
