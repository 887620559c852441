/*
 * log.h - one log line per event. To the journal with structured fields
 * (XMPP_JID, XMPP_PEER, XMPP_STREAM_ID; XMPP_REMOTE_DOMAIN and XMPP_AUTH
 * on federation streams) when stderr is connected to it
 * (JOURNAL_STREAM matches), else plain lines on stderr. Never to stdout:
 * stdout is the client.
 */
#ifndef XMPPD_LOG_H
#define XMPPD_LOG_H

#include <syslog.h>

void log_init(const char *prog);
/* Context fields attached to every later line; NULL leaves a field as is. */
void log_set_context(const char *peer, const char *stream_id, const char *jid);
/* Federation: the remote domain of the stream and how it was
 * authenticated (sasl, dialback, ...); NULL leaves a field as is. */
void log_set_remote(const char *domain, const char *auth);
void log_msg(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
