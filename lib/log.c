/*
 * log.c - journal or stderr. The choice is made once: systemd sets
 * JOURNAL_STREAM to "dev:inode" of the stream it gave us as stderr.
 *
 * libsystemd is loaded with dlopen() only then: linked, it and the six
 * libraries it pulls in cost every process about half a millisecond of
 * exec time, even when nothing goes to the journal.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define LOG_MAX_LINE 1024
#define LOG_LIBSYSTEMD "libsystemd.so.0"

static const char *log_prog = "xmppd";
static int log_to_journal;
static int (*journal_sendv)(const struct iovec *iov, int n);
static char log_peer[128], log_sid[64], log_jid[512];

void log_init(const char *prog)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	log_prog = prog;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino) {
		void *lib = dlopen(LOG_LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL);
		if (lib)
			*(void **)&journal_sendv = dlsym(lib, "sd_journal_sendv");
		log_to_journal = journal_sendv != NULL;
	}
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

void log_msg(int priority, const char *fmt, ...)
{
	char line[LOG_MAX_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (log_to_journal) {
		char f[7][LOG_MAX_LINE + 32];
		struct iovec iov[7];
		int i;
		snprintf(f[0], sizeof f[0], "MESSAGE=%s", line);
		snprintf(f[1], sizeof f[1], "PRIORITY=%d", priority);
		snprintf(f[2], sizeof f[2], "SYSLOG_IDENTIFIER=%s", log_prog);
		snprintf(f[3], sizeof f[3], "XMPP_PEER=%s", log_peer);
		snprintf(f[4], sizeof f[4], "XMPP_STREAM_ID=%s", log_sid);
		snprintf(f[5], sizeof f[5], "XMPP_JID=%s", log_jid);
		snprintf(f[6], sizeof f[6], "SYSLOG_PID=%d", (int)getpid());
		for (i = 0; i < 7; i++) {
			iov[i].iov_base = f[i];
			iov[i].iov_len = strlen(f[i]);
		}
		journal_sendv(iov, 7);
		return;
	}
	fprintf(stderr, "%s[%d]: %s%s%s%s%s%s%s\n", log_prog, (int)getpid(), line,
	    log_peer[0] ? " peer=" : "", log_peer,
	    log_sid[0] ? " id=" : "", log_sid,
	    log_jid[0] ? " jid=" : "", log_jid);
}
