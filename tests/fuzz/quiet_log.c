/*
 * quiet_log.c - lib/log.h for the fuzz targets, instead of
 * lib/log.c: every line is still formatted (so a bad format argument
 * is still caught by the sanitizers) but written only when FUZZ_LOG is set
 * in the environment; a line per event on stderr would drown libFuzzer.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int verbose = -1;

void log_init(const char *prog)
{
	(void)prog;
}

void log_set_context(const char *peer, const char *stream_id, const char *jid)
{
	(void)peer; (void)stream_id; (void)jid;
}

void log_msg(int priority, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (verbose < 0)
		verbose = getenv("FUZZ_LOG") != NULL;
	if (verbose)
		fprintf(stderr, "handler[%d]: %s\n", priority, line);
}
