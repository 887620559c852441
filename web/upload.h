/*
 * upload.h - the HTTP side of the upload service (XEP-0363): the PUT
 * and GET URLs that slots name (lib/uploadsig.h), on the files of
 * upload_dir (lib/uploadstore.h).
 *
 *   PUT /upload/<id>/<name>?n=&e=[&t=]&s=   the signature, then the
 *       request checked against the slot; the body stored; 201 Created.
 *   GET, HEAD /upload/<id>/<name>           the file, with its type,
 *       length, Content-Disposition, byte ranges; 404 if there is none
 *       or it expired (then removed).
 *   OPTIONS                                 a CORS preflight: 204.
 *
 * Statuses, in the order they are checked (xmpp-web(8)):
 *   PUT: 403 bad or missing signature; 410 URL past its time, or the
 *   slot's owner key gone (it expired, or the owner's account was
 *   removed); 411 no Content-Length (chunked); 413
 *   Content-Length above the slot's size, 400 below it; 415
 *   Content-Type other than the slot's; 409 the slot has a file, or a
 *   PUT is under way; 408 the body paused longer than auth_timeout, came
 *   slower than 16 KiB/s after a minute, or not whole; 503
 *   Redis unreachable; 500 the file could not be written.
 *   GET/HEAD: 404, 416 range not satisfiable, 206 a range, 200.
 *   Any other method 405. Every answer carries the CORS header when the
 *   request had an Origin.
 */
#ifndef XMPPD_WEB_UPLOAD_H
#define XMPPD_WEB_UPLOAD_H

struct config;
struct http_req;
struct store;

/* Answer req, a request for a path under /upload/ (WEB_PATH_UPLOAD). st
 * is the Redis connection, or NULL when Redis could not be reached
 * (only a PUT needs it). 0 once answered, -1 if the answer could not be
 * written. */
int upload_serve(struct http_req *req, const struct config *cfg, struct store *st);

#endif
