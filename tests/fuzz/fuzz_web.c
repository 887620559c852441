/*
 * fuzz_web.c - libFuzzer target over xmpp-web's untrusted input before
 * any XMPP: the request head (web/http.c, libhttp-parser) and, when it
 * is an acceptable upgrade, the WebSocket frames after it (web/ws.c,
 * libwslay) with RFC 7395's <open/>/<close/> translation.
 *
 * Input: the bytes a client sends, all at once, through a pipe (the head
 * reader reads a file descriptor); answers go to /dev/null. Whatever
 * follows the head is fed to ws_input in chunks of the sizes that byte 0
 * selects (fuzz_common.h style: 1, 7, 64 or all at once).
 *
 * Checked (abort on violation):
 *  - http_read_head's contract: 0, -1 or -2; on 0, the path starts with
 *    '/', and early_len bytes follow the head;
 *  - ws_input's: once it returned -1, ws_error says why (and it is not
 *    called again).
 */
#include "config.h"
#include "http.h"
#include "ws.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct config cfg;
static int devnull = -1;

struct fed {
	size_t bytes;
};

static void feed(void *arg, const char *xml, size_t len)
{
	struct fed *f = arg;
	(void)xml;
	f->bytes += len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	(void)argc;
	(void)argv;
	if (config_load(&cfg, "/dev/null", err, sizeof err) == -1)
		abort();
	cfg.max_stanza_size = 8192;
	snprintf(cfg.ws_origins, sizeof cfg.ws_origins, "https://good.example");
	devnull = open("/dev/null", O_WRONLY);
	if (devnull == -1)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[4] = { 1, 7, 64, (size_t)-1 };
	struct http_req req;
	struct ws *w;
	struct fed f = { 0 };
	char why[256];
	size_t chunk, off = 0;
	int p[2], r;

	if (devnull == -1)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1 || size > 60000)    /* a pipe holds 64 KiB: no writer needed */
		return 0;
	chunk = chunks[data[0] & 3];
	data++, size--;
	if (pipe(p) == -1)
		abort();
	if (size && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	r = http_read_head(&req, p[0], devnull, 1, why, sizeof why);
	close(p[0]);
	if (r != 0 && r != -1 && r != -2)
		abort();
	if (r != 0)
		return 0;
	if (req.path[0] != '/' || req.early_len > size)
		abort();
	w = ws_accept(&cfg, &req, why, sizeof why);
	while (w && off < req.early_len) {
		size_t n = req.early_len - off < chunk ? req.early_len - off : chunk;
		r = ws_input(w, req.early + off, n, feed, &f);
		off += n;
		if (r == -1) {
			if (!ws_error(w)[0])
				abort();
			break;
		}
	}
	ws_free(w);
	http_req_free(&req);
	return 0;
}
