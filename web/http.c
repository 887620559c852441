/*
 * http.c - one HTTP/1.1 request's head, read and parsed with
 * libhttp-parser, and the answers (http.h).
 *
 * The head is untrusted bytes from anyone: its parsing is the library's,
 * which node.js used for years, and here only its callbacks.
 */
#include "http.h"
#include "xmalloc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#define HTTP_NAME_MAX 64        /* a header name we care about is shorter */

static const char *const header_names[HH_COUNT] = {
	NULL, "Host", "Upgrade", "Connection", "Sec-WebSocket-Version",
	"Sec-WebSocket-Key", "Sec-WebSocket-Protocol", "Origin", "Content-Type",
	"Content-Length", "Range", "Transfer-Encoding", "Access-Control-Request-Method",
	"Expect",
};

struct head {
	struct http_req *req;
	char name[HTTP_NAME_MAX];
	size_t name_len;
	int in_value;            /* the last callback was a value's */
	int cur;                 /* HH_* of the header being read */
	char url[HTTP_PATH_MAX];
	size_t url_len;
	int url_too_long;
	int done;
};

/* Append at[0..len) to the string dst of *dlen bytes and capacity cap
 * (terminator included); -1, dst unchanged, if it would not fit. The
 * parser hands over each piece in as many calls as the reads split it. */
static int append(char *dst, size_t *dlen, size_t cap, const char *at, size_t len)
{
	if (*dlen + len >= cap)
		return -1;
	memcpy(dst + *dlen, at, len);
	*dlen += len;
	dst[*dlen] = '\0';
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct head *h = p->data;
	if (append(h->url, &h->url_len, sizeof h->url, at, len) == -1)
		h->url_too_long = 1;
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct head *h = p->data;
	if (h->in_value) {
		h->in_value = 0;
		h->name_len = 0;
	}
	if (append(h->name, &h->name_len, sizeof h->name, at, len) == -1)
		h->name[0] = '\0', h->name_len = sizeof h->name - 1;   /* not one of ours */
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct head *h = p->data;
	struct http_req *r = h->req;
	int i;

	if (!h->in_value) {
		h->in_value = 1;
		h->cur = HH_NONE;
		for (i = 1; i < HH_COUNT; i++)
			if (!strcasecmp(h->name, header_names[i]))
				h->cur = i;
		/* RFC 7230 3.2.2: repeats of a list header are one list. */
		if (h->cur && r->seen[h->cur] && r->value_len[h->cur] + 2 < HTTP_VALUE_MAX) {
			memcpy(r->value[h->cur] + r->value_len[h->cur], ", ", 2);
			r->value_len[h->cur] += 2;
		}
		if (h->cur)
			r->seen[h->cur] = 1;
	}
	if (!h->cur)
		return 0;
	if (append(r->value[h->cur], &r->value_len[h->cur], HTTP_VALUE_MAX, at, len) == -1)
		r->too_long = 1;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct head *h = p->data;
	h->done = 1;
	http_parser_pause(p, 1);     /* the body, or frames, are the service's */
	return 0;
}

int http_list_has(const char *list, const char *token, int nocase)
{
	size_t n = strlen(token), k;
	while (*list) {
		list += strspn(list, " \t,");
		k = strcspn(list, " \t,");
		if (k == n && (nocase ? !strncasecmp(list, token, n) : !strncmp(list, token, n)))
			return 1;
		list += k;
	}
	return 0;
}

int http_write_all(int wfd, const char *s, size_t len)
{
	struct pollfd pfd = { wfd, POLLOUT, 0 };
	ssize_t n;

	while (len) {
		n = write(wfd, s, len);
		if (n > 0) {
			s += n;
			len -= (size_t)n;
		} else if (n == -1 && errno == EINTR) {
			continue;
		} else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (poll(&pfd, 1, HTTP_WRITE_WAIT_MS) <= 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* The target into path and query; -1 if it is not an origin-form path. */
static int split_target(struct http_req *r, const char *url, size_t len)
{
	struct http_parser_url u;

	http_parser_url_init(&u);
	if (http_parser_parse_url(url, len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH)) ||
	    url[0] != '/')
		return -1;
	memcpy(r->path, url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
	r->path[u.field_data[UF_PATH].len] = '\0';
	if (u.field_set & (1 << UF_QUERY)) {
		memcpy(r->query, url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
		r->query[u.field_data[UF_QUERY].len] = '\0';
	}
	return 0;
}

int http_read_head(struct http_req *r, int rfd, int wfd, int timeout_sec, char *why,
    size_t whylen)
{
	static const http_parser_settings settings = {
		.on_url = on_url,
		.on_header_field = on_header_field,
		.on_header_value = on_header_value,
		.on_headers_complete = on_headers_complete,
	};
	struct pollfd pfd = { rfd, POLLIN, 0 };
	time_t deadline = time(NULL) + timeout_sec;
	char *buf = xmalloc(HTTP_HEAD_MAX);
	struct head h;
	http_parser p;
	size_t have = 0, parsed = 0, n;
	ssize_t got;
	int rc = -1;

	memset(r, 0, sizeof *r);
	memset(&h, 0, sizeof h);
	r->rfd = rfd;
	r->wfd = wfd;
	r->content_length = -1;
	h.req = r;
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &h;
	while (!h.done) {
		time_t left = deadline - time(NULL);
		if (have == HTTP_HEAD_MAX) {
			snprintf(why, whylen, "request head over %d bytes", HTTP_HEAD_MAX);
			rc = -2;
			goto out;
		}
		if (left <= 0 || poll(&pfd, 1, (int)left * 1000) == 0) {
			snprintf(why, whylen, "no request head in %d s", timeout_sec);
			goto out;
		}
		got = read(rfd, buf + have, HTTP_HEAD_MAX - have);
		if (got == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			snprintf(why, whylen, "%s", got ? strerror(errno) : "client closed the connection");
			goto out;
		}
		n = http_parser_execute(&p, &settings, buf + have, (size_t)got);
		have += (size_t)got;
		parsed = have - (size_t)got + n;
		if (HTTP_PARSER_ERRNO(&p) != HPE_OK && HTTP_PARSER_ERRNO(&p) != HPE_PAUSED) {
			snprintf(why, whylen, "bad request: %s", http_errno_name(HTTP_PARSER_ERRNO(&p)));
			rc = -2;
			goto out;
		}
	}
	/* Paused in on_headers_complete, the parser has not taken the head's
	 * last LF: one byte more finishes the head (and a bodiless message). */
	http_parser_pause(&p, 0);
	if (parsed < have)
		parsed += http_parser_execute(&p, &settings, buf + parsed, 1);
	if (h.url_too_long || split_target(r, h.url, h.url_len) == -1) {
		snprintf(why, whylen, "bad request target");
		rc = -2;
		goto out;
	}
	r->method = (int)p.method;
	r->http_major = p.http_major;
	r->http_minor = p.http_minor;
	/* http_parser checked the number; chunked bodies have none. */
	if (r->seen[HH_CONTENT_LENGTH] && !(p.flags & F_CHUNKED))
		r->content_length = (long long)p.content_length;
	r->early_len = have - parsed;
	r->early = xmalloc(r->early_len + 1);
	memcpy(r->early, buf + parsed, r->early_len);
	rc = 0;
out:
	free(buf);
	return rc;
}

void http_req_free(struct http_req *r)
{
	free(r->early);
	r->early = NULL;
	r->early_len = 0;
}

int http_respond_head(const struct http_req *r, const char *status, const char *extra,
    const char *ctype, long long body_len)
{
	char head[2048];
	int n;

	n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\n%s%s%s%s%sContent-Length: %lld\r\n"
	    "Connection: close\r\n\r\n", status, extra ? extra : "",
	    r->seen[HH_ORIGIN] ? "Access-Control-Allow-Origin: *\r\n" : "",
	    ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", body_len);
	if (n < 0 || (size_t)n >= sizeof head)
		return -1;
	return http_write_all(r->wfd, head, (size_t)n);
}

int http_respond(const struct http_req *r, const char *status, const char *extra,
    const char *ctype, const char *body, size_t body_len)
{
	if (!ctype)
		body_len = 0;
	if (http_respond_head(r, status, extra, ctype, (long long)body_len) == -1)
		return -1;
	/* HEAD: the same head, no body. */
	if (!body_len || r->method == HTTP_HEAD)
		return 0;
	return http_write_all(r->wfd, body, body_len);
}

ssize_t http_body_read(struct http_req *r, char *buf, size_t len, int timeout_sec)
{
	struct pollfd pfd = { r->rfd, POLLIN, 0 };
	long long left = r->content_length - r->body_read;
	ssize_t got;

	if (left <= 0)
		return 0;
	if ((long long)len > left)
		len = (size_t)left;
	if (r->early_len > r->early_used) {
		size_t k = r->early_len - r->early_used;
		if (k > len)
			k = len;
		memcpy(buf, r->early + r->early_used, k);
		r->early_used += k;
		r->body_read += (long long)k;
		return (ssize_t)k;
	}
	for (;;) {
		got = read(r->rfd, buf, len);
		if (got > 0) {
			r->body_read += got;
			return got;
		}
		if (got == 0)
			return -1;       /* the client left before the end */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (poll(&pfd, 1, timeout_sec * 1000) <= 0)
			return -1;
	}
}
