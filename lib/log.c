/*
 * log.c - journal or stderr. The choice is made once: systemd sets
 * JOURNAL_STREAM to "dev:inode" of the stream it gave us as stderr.
 *
 * To the journal, each line is one datagram of the journal's native
 * protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL: "KEY=value\n" fields, or
 * "KEY\n", a 64-bit little-endian length and the value when it holds a
 * newline), sent to journald's socket. That is all sd_journal_sendv()
 * does for a line this small; written here, the programs link no
 * libsystemd and can be linked statically (a handler's exec is then
 * about as cheap as a trivial program's).
 */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_MAX_LINE     1024
#define JOURNAL_SOCKET   "/run/systemd/journal/socket"
#define JOURNAL_DGRAM    4096    /* one line's fields; values are cut to fit */

static const char *log_prog = "xmppd";
static int journal_fd = -1;
static char log_peer[128], log_sid[64], log_jid[512], log_remote[256], log_auth[32];

void log_init(const char *prog)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	log_prog = prog;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

/* Append one field at off; the value is cut to what fits. New offset. */
static size_t journal_field(char *buf, size_t off, const char *key, const char *val)
{
	size_t klen = strlen(key), vlen = strlen(val), room;
	uint64_t le;
	int i;

	if (off + klen + 10 >= JOURNAL_DGRAM)
		return off;
	room = JOURNAL_DGRAM - off - klen - 10;
	if (vlen > room)
		vlen = room;
	memcpy(buf + off, key, klen);
	off += klen;
	if (!memchr(val, '\n', vlen)) {
		buf[off++] = '=';
	} else {
		buf[off++] = '\n';
		for (i = 0, le = vlen; i < 8; i++, le >>= 8)
			buf[off++] = (char)(le & 0xff);
	}
	memcpy(buf + off, val, vlen);
	off += vlen;
	buf[off++] = '\n';
	return off;
}

/* 0 once journald has the line, -1 to fall back to stderr. */
static int journal_send(int priority, const char *line)
{
	static const struct sockaddr_un to = { AF_UNIX, JOURNAL_SOCKET };
	char buf[JOURNAL_DGRAM], num[16];
	size_t n = 0;

	snprintf(num, sizeof num, "%d", priority);
	n = journal_field(buf, n, "PRIORITY", num);
	n = journal_field(buf, n, "SYSLOG_IDENTIFIER", log_prog);
	snprintf(num, sizeof num, "%d", (int)getpid());
	n = journal_field(buf, n, "SYSLOG_PID", num);
	n = journal_field(buf, n, "XMPP_PEER", log_peer);
	n = journal_field(buf, n, "XMPP_STREAM_ID", log_sid);
	n = journal_field(buf, n, "XMPP_JID", log_jid);
	n = journal_field(buf, n, "XMPP_REMOTE_DOMAIN", log_remote);
	n = journal_field(buf, n, "XMPP_AUTH", log_auth);
	n = journal_field(buf, n, "MESSAGE", line);
	return sendto(journal_fd, buf, n, MSG_NOSIGNAL, (const struct sockaddr *)&to,
	    sizeof to) == (ssize_t)n ? 0 : -1;
}

static void set_field(char *dst, size_t n, const char *v)
{
	if (v)
		snprintf(dst, n, "%s", v);
}

void log_set_context(const char *peer, const char *stream_id, const char *jid)
{
	set_field(log_peer, sizeof log_peer, peer);
	set_field(log_sid, sizeof log_sid, stream_id);
	set_field(log_jid, sizeof log_jid, jid);
}

void log_set_remote(const char *domain, const char *auth)
{
	set_field(log_remote, sizeof log_remote, domain);
	set_field(log_auth, sizeof log_auth, auth);
}

void log_msg(int priority, const char *fmt, ...)
{
	char line[LOG_MAX_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (journal_fd >= 0 && journal_send(priority, line) == 0)
		return;
	fprintf(stderr, "%s[%d]: %s%s%s%s%s%s%s%s%s%s%s\n", log_prog, (int)getpid(), line,
	    log_peer[0] ? " peer=" : "", log_peer,
	    log_sid[0] ? " id=" : "", log_sid,
	    log_jid[0] ? " jid=" : "", log_jid,
	    log_remote[0] ? " remote=" : "", log_remote,
	    log_auth[0] ? " auth=" : "", log_auth);
}
