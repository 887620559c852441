/*
 * log.c - journal or stderr. The choice is made once: systemd sets
 * JOURNAL_STREAM to "dev:inode" of the stream it gave us as stderr.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#define LOG_MAX_LINE 1024

static const char *log_prog = "xmppd";
static int log_to_journal;
static char log_peer[128], log_sid[64], log_jid[512];

void log_init(const char *prog)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	log_prog = prog;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		log_to_journal = 1;
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
		sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", priority,
		    "SYSLOG_IDENTIFIER=%s", log_prog,
		    "XMPP_PEER=%s", log_peer, "XMPP_STREAM_ID=%s", log_sid,
		    "XMPP_JID=%s", log_jid, NULL);
		return;
	}
	fprintf(stderr, "%s[%d]: %s%s%s%s%s%s%s\n", log_prog, (int)getpid(), line,
	    log_peer[0] ? " peer=" : "", log_peer,
	    log_sid[0] ? " id=" : "", log_sid,
	    log_jid[0] ? " jid=" : "", log_jid);
}
