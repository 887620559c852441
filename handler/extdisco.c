/*
 * extdisco.c - XEP-0215 External Service Discovery (urn:xmpp:extdisco:2):
 * the STUN and TURN servers a user's client may use for calls, as the
 * configuration lists them (extdisco_service, xmpp.conf(5)). With
 * turn_secret set, every turn and turns service comes with credentials
 * of the asking user's own, valid turn_ttl seconds, that the TURN server
 * checks with the same secret (lib/turncred.h): nothing is stored, so
 * nothing touches Redis. The secret is read for each request
 * (turn_secret_file: a renewed secret is used at once).
 *
 * Answers (xmpp-handler(8)), to IQs addressed to the server (no 'to',
 * or the domain):
 *   get <services/>            every service in the order of the lines,
 *                              or those of its 'type' (none: empty)
 *   get <credentials><service type host [port]/></credentials>
 *                              that service, with fresh credentials
 *                              (XEP-0215 3.3)
 *   ... no such service, or one that takes no credentials (stun,
 *       stuns; no turn_secret) <item-not-found/>
 *   ... <service/> without type or host, or a bad port
 *                              <bad-request/>
 *   no service configured, to the user's bare JID, or a set
 *                              <service-unavailable/>
 *   a bare JID too long for a TURN username (RFC 8489 14.3)
 *                              <not-acceptable/>
 *   turn_secret_file unreadable, or not one line
 *                              <internal-server-error/>, type wait,
 *                              logged
 */
#include "modules.h"
#include "conn.h"
#include "config.h"
#include "datetime.h"
#include "log.h"
#include "turncred.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_EXTDISCO "urn:xmpp:extdisco:2"

/* 1 if service e is announced with credentials: turn or turns, and a
 * secret to make them with. */
static int takes_credentials(const struct config *cfg, const struct config_extdisco *e)
{
	return config_has_turn_secret(cfg) && !strncmp(e->type, "turn", 4);
}

/* A <service/> for e under parent, with the user's credentials under
 * secret (read by the caller) when e takes them. 0, or -1 if the user's
 * bare JID cannot be a TURN username (nothing added). */
static int add_service(struct conn *c, struct xml_node *parent, const struct config_extdisco *e,
    const char *secret)
{
	const struct config *cfg = conn_cfg(c);
	char user[TURNCRED_USER_MAX + 1], pass[TURNCRED_PASS_LEN + 1];
	char port[8], stamp[DATETIME_MAX];
	long expires = (long)time(NULL) + cfg->turn_ttl;
	struct xml_node *s;

	if (takes_credentials(cfg, e) &&
	    turncred_make(secret, expires, conn_bare(c), user, pass) == -1)
		return -1;
	s = xml_new_child(parent, NS_EXTDISCO, "service");
	snprintf(port, sizeof port, "%d", e->port);
	xml_set(s, "type", e->type);
	xml_set(s, "host", e->host);
	xml_set(s, "port", port);
	xml_set(s, "transport", e->transport);
	if (takes_credentials(cfg, e)) {
		datetime_format((long long)expires * 1000, 0, stamp, sizeof stamp);
		xml_set(s, "username", user);
		xml_set(s, "password", pass);
		xml_set(s, "expires", stamp);
		xml_set(s, "restricted", "1");
	}
	return 0;
}

/* add_service failed: drop the answer r was to become, refuse iq. */
static void refuse_long(struct conn *c, const struct xml_node *iq, struct xml_node *r)
{
	xml_free(r);
	conn_error(c, iq, "modify", "not-acceptable", "the JID is too long for a TURN username");
}

static void services(struct conn *c, const struct xml_node *iq, const struct xml_node *q,
    const char *secret)
{
	const struct config *cfg = conn_cfg(c);
	const char *type = xml_get(q, "type");
	struct xml_node *r = xml_new(NS_EXTDISCO, "services");
	int i;

	if (type)
		xml_set(r, "type", type);
	for (i = 0; i < cfg->nextdisco; i++) {
		if (type && strcmp(type, cfg->extdisco[i].type))
			continue;
		if (add_service(c, r, &cfg->extdisco[i], secret) == -1) {
			refuse_long(c, iq, r);
			return;
		}
	}
	conn_iq_result(c, iq, r);
}

/* The configured service that s, the first element of <credentials/>,
 * names (type, host, and port if it has one), or NULL. *bad is set when
 * s is not such a <service/> (NULL: none). */
static const struct config_extdisco *find(const struct config *cfg,
    const struct xml_node *s, int *bad)
{
	const char *type = NULL, *host = NULL, *port = NULL;
	long p = 0;
	char *end;
	int i;

	if (s && !strcmp(s->ns, NS_EXTDISCO) && !strcmp(s->name, "service")) {
		type = xml_get(s, "type");
		host = xml_get(s, "host");
		port = xml_get(s, "port");
	}
	*bad = !type || !host;
	if (!*bad && port) {
		p = strtol(port, &end, 10);
		*bad = end == port || *end || p < 1 || p > CONFIG_MAX_PORT;
	}
	for (i = 0; !*bad && i < cfg->nextdisco; i++)
		if (!strcmp(type, cfg->extdisco[i].type) && !strcmp(host, cfg->extdisco[i].host) &&
		    (!port || p == cfg->extdisco[i].port))
			return &cfg->extdisco[i];
	return NULL;
}

static void credentials(struct conn *c, const struct xml_node *iq, const struct xml_node *q,
    const char *secret)
{
	const struct config *cfg = conn_cfg(c);
	const struct config_extdisco *e;
	struct xml_node *r;
	int bad;

	e = find(cfg, xml_first_element(q), &bad);
	if (bad) {
		conn_error(c, iq, "modify", "bad-request", "a <service/> with type and host");
	} else if (!e || !takes_credentials(cfg, e)) {
		conn_error(c, iq, "cancel", "item-not-found", NULL);
	} else {
		r = xml_new(NS_EXTDISCO, "credentials");
		if (add_service(c, r, e, secret) == -1)
			refuse_long(c, iq, r);
		else
			conn_iq_result(c, iq, r);
	}
}

static int extdisco_offered(const struct config *cfg)
{
	return cfg->nextdisco > 0;
}

static void extdisco_iq(struct conn *c, struct xml_node *iq)
{
	const struct config *cfg = conn_cfg(c);
	struct xml_node *q = xml_first_element(iq);
	const char *to = xml_get(iq, "to");
	char secret[CONFIG_MAX_TURN_SECRET] = "";

	if (!extdisco_offered(cfg) || (to && strcmp(to, conn_domain(c))) ||
	    strcmp(xml_get(iq, "type"), "get") ||
	    (strcmp(q->name, "services") && strcmp(q->name, "credentials"))) {
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
		return;
	}
	/* read per request: a secret file may change under a running server */
	if (config_has_turn_secret(cfg) && config_turn_secret(cfg, secret, sizeof secret) == -1) {
		log_msg(LOG_ERR, "extdisco: TURN secret %s: %s", cfg->turn_secret_file,
		    strerror(errno));
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	if (!strcmp(q->name, "services"))
		services(c, iq, q, secret);
	else
		credentials(c, iq, q, secret);
	memset(secret, 0, sizeof secret);
}

static const char *const extdisco_ns[] = { NS_EXTDISCO, NULL };

const struct module mod_extdisco = {
	.name = "extdisco",
	.phases = PHASE_SESSION,
	.iq_ns = extdisco_ns,
	.disco = extdisco_ns,
	.offered = extdisco_offered,
	.iq = extdisco_iq,
};
