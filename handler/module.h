/*
 * module.h - a feature module as the stream sees it.
 *
 * A module is one file in handler/ and one line in modules.c. stream.c
 * and conn.c call the hooks of every module in table order at fixed
 * points of a connection's life; a module leaves NULL what it does not
 * need. The server's disco#info lists the features of the table.
 *
 * Contract:
 *  - A module sees the connection through conn.h only.
 *  - Hooks borrow what they are given; the caller frees it.
 *  - Output only through conn.h (nothing is written once the stream is
 *    closing); state changes are asked for (conn_stream_error,
 *    conn_restart, conn_authenticated, conn_bind), never made.
 *  - Per-connection state lives in conn_slot(c, &mod_x, size), zeroed on
 *    first use; free_slot releases what it points to, if anything.
 */
#ifndef XMPPD_MODULE_H
#define XMPPD_MODULE_H

#include <stddef.h>
#include <time.h>

struct config;
struct conn;
struct xml_node;
struct route_msg;

/* The phases of a stream (RFC 6120 4.3), as bits for struct module. */
enum conn_phase {
	PHASE_AUTH = 1,         /* before authentication */
	PHASE_BIND = 2,         /* authenticated, no resource yet */
	PHASE_SESSION = 4       /* resource bound: stanzas flow */
};

enum mod_ret { MOD_PASS, MOD_HANDLED };

struct module {
	const char *name;                  /* in logs */
	unsigned phases;                   /* where iq_ns and toplevel_ns are served */
	const char *const *iq_ns;          /* IQ payload namespaces it answers for the
	                                      server or the user's account, NULL-ended */
	const char *const *user_iq_ns;     /* ... and for any other user's bare JID of a
	                                      served domain, in a session: the server
	                                      answers on that user's behalf (RFC 6121
	                                      8.5.2.1.3; XEP-0054), NULL-ended */
	const char *const *disco;          /* features in the server's disco#info */
	/* 1 if this configuration offers the module's features (disco),
	 * 0 to leave them out of disco#info; NULL: always offered. */
	int (*offered)(const struct config *cfg);
	const char *const *account_disco;  /* ... in the disco#info of the user's
	                                      own bare JID (XEP-0313 7) */
	const char *const *account_identity; /* identities ("category/type") in the
	                                      disco#info of an account's bare JID
	                                      beside account/registered
	                                      (XEP-0163 pubsub/pep), NULL-ended */
	const char *toplevel_ns;           /* top-level elements it owns (not stanzas) */

	/* Stream features of the current phase (conn_phase). */
	void (*features)(struct conn *c, struct xml_node *features);
	/* A top-level element in toplevel_ns. */
	void (*element)(struct conn *c, struct xml_node *el);
	/* An IQ get or set to the server or the account whose payload is in
	 * iq_ns, or to another user's bare JID whose payload is in
	 * user_iq_ns, already checked (RFC 6120 8.2.3); it must be answered. */
	void (*iq)(struct conn *c, struct xml_node *iq);
	/* Any other stanza from a bound client (presence, messages, IQs to
	 * others); MOD_HANDLED ends the walk. */
	enum mod_ret (*inbound)(struct conn *c, struct xml_node *st);
	/* An IQ result or error from a bound client to the server or its
	 * account: the answer to a request a module sent the client itself
	 * (conn_send); MOD_HANDLED if it was the module's. */
	enum mod_ret (*response)(struct conn *c, struct xml_node *iq);
	/* An envelope from Redis that the connection does not deliver itself
	 * (presence, roster pushes); MOD_HANDLED ends the walk. */
	enum mod_ret (*outbound)(struct conn *c, const struct route_msg *m);
	/* Work queued for a batch must go out now: before `next` is handled
	 * (NULL: at the end of a read of the client or of the wake-ups that
	 * reached modules, or when the session ends). */
	void (*flush)(struct conn *c, const struct xml_node *next);
	void (*bound)(struct conn *c);     /* resource bound, session registered */
	void (*restored)(struct conn *c);  /* session record registered again */
	/* The session was resumed on this connection (XEP-0198): what the
	 * module keeps in memory comes back from Redis, or its default. */
	void (*resumed)(struct conn *c);
	void (*ended)(struct conn *c);     /* before the session leaves Redis */
	/* The connection ends, whether the session ends, is detached
	 * (XEP-0198) or goes on elsewhere: route again what the module
	 * holds for the client (conn_reroute), drop what is only state. */
	void (*leaving)(struct conn *c);
	/* Another handler's session was reaped: presence is what it had
	 * broadcast (NULL if none). */
	void (*reaped)(struct conn *c, const char *bare, const char *resource,
	    const char *presence);
	/* A stanza from Redis about to be written (conn_send_deferrable, and
	 * messages): deferrable when the client need not get it at once
	 * (presence from others, a message without a body). 1 if the module
	 * took it (XEP-0352 holds it; it writes it later with
	 * conn_send_raw), else 0: it is written now. */
	int (*hold)(struct conn *c, const char *xml, size_t len, int deferrable);
	/* Bind2 (XEP-0386): the feature (var) the module enables inline, and
	 * the hook acting on the client's element in its namespace inside
	 * <bind/>, once the session is bound; it may add to bound. */
	const char *bind2_var;
	void (*bind2)(struct conn *c, const struct xml_node *el, struct xml_node *bound);
	/* Timers of a bound session: seconds until the module's next, -1 none. */
	int (*tick)(struct conn *c, time_t now);
	void (*free_slot)(void *slot);
};

/* The table, in the order hooks are called; NULL-terminated. */
extern const struct module *const modules[];

#define MODULES_MAX 32

#endif
