/*
 * xmpp-handler - serve one XMPP client connection on stdin/stdout.
 *
 * Started by systemd (Accept=yes), xmpp-listen or any inetd with the
 * connection as fd 0 and 1. The whole life of a connection, from this
 * file's main():
 *
 *   serve.c: config, sandbox -> Redis (commands, subscriber) ->
 *     serve_stream: poll(client, subscriber, timer)
 *   client -> Redis:
 *     conn_read -> conn_input -> expat -> stream.c (header, features,
 *     STARTTLS, restarts) -> the module table (modules.c):
 *       SASL / iq:auth -> conn_authenticated;  bind -> conn_bind (session
 *       record, subscribe);  IQ to the server or account -> the module of
 *       its namespace (roster, serveriq, vcard, private), and so is a
 *       request to another user's bare JID in a namespace a module
 *       answers for users (vcard);  other stanzas -> inbound hooks:
 *       presence (fan-out to contacts), deliver (a read's messages in one
 *       round trip: route_stanza.lua appends to each recipient session's
 *       inbox and PUBLISHes a wake-up, or stores offline, or says error)
 *   Redis -> client:
 *     subscriber -> conn_deliver: "inbox" -> conn_after_wakeups -> conn_pull
 *       (LRANGE+LTRIM the inbox; each message written and kept in the ackq
 *       until the client answers the ping after it; the pull waits while
 *       512 KiB are unconfirmed);  presence, roster push -> outbound hooks
 *     (a module may hold back what can wait: csi.c);  with XEP-0198 (sm.c)
 *     the client's <a/> confirms instead, and what it has not yet
 *     acknowledged is kept in Redis, not here
 *   conn_tick: login and idle timers (idle ping), ack_timeout, heartbeat,
 *     reaping of dead handlers' sessions;  conn_flush: (sm_sync.lua) ->
 *     output -> client
 *   -> conn_finish: ended hooks (unavailable presence), record removed,
 *      inbox and unconfirmed messages routed again (relay.c) -> exit;
 *      or, a resumable session only lost, detached for resume_timeout
 *
 * -T: direct TLS (XEP-0368, port 5223): TLS from the first byte.
 * -V: print the version compiled in (version.h) and exit.
 * Exit status: 0 the stream ended, 100 usage, 111 system failure before serving.
 */
#include "config.h"
#include "log.h"
#include "store.h"
#include "conn-int.h"
#include "serve.h"
#include "version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG  "xmpp-handler"
#define USAGE "usage: " PROG " [-V] [-c config-file] [-T]"

/* A bad config still deserves a stream error rather than a dropped socket. */
static void refuse(const char *why)
{
	static const char msg[] = "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
	    "version='1.0'><stream:error><internal-server-error "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>";
	log_msg(LOG_ERR, "refusing connection: %s", why);
	if (write(STDOUT_FILENO, msg, sizeof msg - 1) == -1)
		log_msg(LOG_ERR, "write: %s", strerror(errno));
	exit(111);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct store st;
	struct conn c;
	char err[512], peer[128];
	const char *cfgpath = NULL;
	int opt, direct_tls = 0;

	serve_start(PROG, peer, sizeof peer);
	while ((opt = getopt(argc, argv, "c:TV")) != -1) {
		if (opt == 'c') {
			cfgpath = optarg;
		} else if (opt == 'T') {
			direct_tls = 1;
		} else if (opt == 'V') {
			printf("%s %s\n", PROG, XMPPD_VERSION);
			return 0;
		} else {
			fprintf(stderr, "%s\n", USAGE);
			return 100;
		}
	}
	if (serve_setup(&cfg, cfgpath, 0, err, sizeof err) == -1)
		refuse(err);
	conn_init(&c, &cfg, &st, peer, STDIN_FILENO, STDOUT_FILENO);
	log_msg(LOG_INFO, "connect%s", direct_tls ? " (direct TLS)" : "");
	if (direct_tls && conn_direct_tls(&c) == -1) {
		conn_free(&c);
		return 111;     /* no TLS to speak: nothing can be said to the client */
	}
	conn_set_storage(&c, serve_store(&st, &cfg) == 0);
	serve_stream(&c, &st, &cfg);
	conn_finish(&c);
	conn_free(&c);
	store_close(&st);
	return 0;
}
