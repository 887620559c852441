/*
 * config.c - the xmpp.conf(5) reader. Small and strict: an unknown key or a
 * bad value is an error naming the line, so a typo never silently changes
 * how the server behaves.
 */
#include "config.h"
#include "jid.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX_LINE 4096
#define CRED_DIR_ENV    "CREDENTIALS_DIRECTORY"   /* systemd LoadCredential= */
#define TURN_TTL_DEFAULT 86400                    /* a day, as coturn's examples */

const char *const config_contact_kinds[CONFIG_CONTACT_KINDS] = {
	"abuse", "admin", "feedback", "sales", "security", "status", "support"
};

static void config_defaults(struct config *c)
{
	int i;

	/* The scalars and short strings only: see struct config. */
	memset(c, 0, offsetof(struct config, tls_cert));
	c->tls_cert[0] = c->tls_key[0] = c->muc_creators[0] = c->ws_origins[0] = c->http_url[0] = '\0';
	c->upload_types[0] = '\0';
	c->s2s_allow[0] = c->s2s_deny[0] = c->s2s_ca_file[0] = c->s2s_resolver[0] = '\0';
	for (i = 0; i < CONFIG_CONTACT_KINDS; i++)
		c->contacts[i][0] = '\0';
	c->turn_secret[0] = c->turn_secret_file[0] = '\0';
	strcpy(c->upload_dir, "/var/lib/xmpp/upload");
	strcpy(c->domains[0], "localhost");
	c->ndomains = 1;
	strcpy(c->redis, "redis://127.0.0.1:6379/0");
	strcpy(c->key_prefix, "xmpp:");
	c->allow_plaintext_auth = 0;
	if (gethostname(c->hostname, sizeof c->hostname - 1) == -1)
		strcpy(c->hostname, "localhost");
	c->max_stanza_size = 262144;
	c->max_depth = 32;
	c->max_attrs = 64;
	c->idle_timeout = 600;
	c->auth_timeout = 30;
	c->ack_timeout = 30;
	c->ping_timeout = 60;
	c->auth_fail_delay_ms = 1000;
	c->auth_fail_window = 900;
	c->auth_block_after = 10;
	c->max_read_rate = 131072;
	c->max_read_burst = 1048576;
	c->offline_max = 1000;
	c->vcard_max_size = 65536;
	c->pep_max_item_size = 65536;
	c->pep_max_items = 256;
	c->pep_max_nodes = 64;
	c->archive_max_count = 10000;
	c->archive_max_age = 7L * 86400;
	strcpy(c->archive_default, "always");
	c->session_ttl = 90;
	c->redis_timeout_ms = 2000;
	c->redis_wait_timeout_ms = 1000;
	c->resume_timeout = 300;
	c->fast_token_lifetime = 30L * 86400;
	c->bosh_inactivity = 60;
	c->s2s_secure = 1;
	c->s2s_timeout = 120;
	c->s2s_idle_timeout = 300;
	c->s2s_queue_max = 10000;
	c->push_interval = 30;
	c->ack_request_every = 5;
	c->ack_request_delay = 1;
	c->registration = CONFIG_REG_CLOSED;
	c->registration_limit = 3;
	c->registration_window = 3600;
	c->upload_max_size = 100L * 1024 * 1024;
	c->upload_quota = 1024L * 1024 * 1024;
	c->upload_expiry = 30L * 86400;
	c->upload_slot_ttl = 300;
	c->turn_ttl = TURN_TTL_DEFAULT;
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int parse_registration(const char *v, int *out)
{
	if (!strcmp(v, "closed"))
		*out = CONFIG_REG_CLOSED;
	else if (!strcmp(v, "open"))
		*out = CONFIG_REG_OPEN;
	else if (!strcmp(v, "invite"))
		*out = CONFIG_REG_INVITE;
	else
		return -1;
	return 0;
}

static int parse_int(const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

static int copy_str(char *dst, size_t dstsz, const char *v)
{
	if (strlen(v) >= dstsz)
		return -1;
	strcpy(dst, v);
	return 0;
}

/* Domains are compared byte-wise with prepped JID domains, so they are
 * prepped the same way (nameprep, lower case, no trailing dot). */
static int parse_domains(struct config *c, char *v)
{
	char *tok, *save = NULL;
	struct jid j;
	c->ndomains = 0;
	for (tok = strtok_r(v, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (c->ndomains == CONFIG_MAX_DOMAINS || jid_parse(tok, &j) == -1 ||
		    j.node[0] || j.resource[0] || strlen(j.domain) >= CONFIG_MAX_DOMAIN)
			return -1;
		strcpy(c->domains[c->ndomains++], j.domain);
	}
	return c->ndomains ? 0 : -1;
}

/* "DOMAIN CERT KEY": a certificate for one domain (chosen by SNI). */
static int parse_tls_domain(struct config *c, char *v)
{
	struct config_tls_domain *d;
	char *dom, *cert, *key, *save = NULL;
	struct jid j;

	if (c->ntls_domains == CONFIG_MAX_DOMAINS)
		return -1;
	d = &c->tls_domains[c->ntls_domains];
	dom = strtok_r(v, " \t", &save);
	cert = strtok_r(NULL, " \t", &save);
	key = strtok_r(NULL, " \t", &save);
	if (!key || strtok_r(NULL, " \t", &save) || jid_parse(dom, &j) == -1 ||
	    j.node[0] || j.resource[0] || strlen(j.domain) >= sizeof d->domain ||
	    copy_str(d->cert, sizeof d->cert, cert) == -1 ||
	    copy_str(d->key, sizeof d->key, key) == -1)
		return -1;
	strcpy(d->domain, j.domain);
	c->ntls_domains++;
	return 0;
}

/* "RANGE[ RANGE...]", separated by blanks or commas: added to those of
 * earlier auth_exempt lines, so a long list can be split over lines. */
static int parse_exempt(struct config *c, char *v)
{
	char *tok, *save = NULL;
	int n = 0;
	for (tok = strtok_r(v, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (c->nauth_exempt == CONFIG_MAX_EXEMPT ||
		    netaddr_range_parse(tok, &c->auth_exempt[c->nauth_exempt]) == -1)
			return -1;
		c->nauth_exempt++;
		n++;
	}
	return n ? 0 : -1;
}

struct int_key {
	const char *name;
	long lo, hi;
	size_t off;
	int kind;               /* KEY_INT, KEY_SIZE, KEY_LONG */
};

enum { KEY_INT, KEY_SIZE, KEY_LONG };

#define INT_KEY(n, lo, hi) { #n, lo, hi, offsetof(struct config, n), KEY_INT }
#define LONG_KEY(n, lo, hi) { #n, lo, hi, offsetof(struct config, n), KEY_LONG }
static const struct int_key int_keys[] = {
	{ "max_stanza_size", 1024, 16L * 1024 * 1024, offsetof(struct config, max_stanza_size), KEY_SIZE },
	INT_KEY(max_depth, 4, 1000),
	INT_KEY(max_attrs, 4, 10000),
	INT_KEY(idle_timeout, 1, 86400 * 7),
	INT_KEY(auth_timeout, 1, 3600),
	INT_KEY(ack_timeout, 1, 3600),
	INT_KEY(ping_timeout, 1, 3600),
	INT_KEY(auth_fail_delay_ms, 0, 60000),
	INT_KEY(offline_max, 0, 1000000),
	{ "vcard_max_size", 256, 16L * 1024 * 1024, offsetof(struct config, vcard_max_size), KEY_SIZE },
	{ "pep_max_item_size", 256, 16L * 1024 * 1024, offsetof(struct config, pep_max_item_size),
	  KEY_SIZE },
	INT_KEY(pep_max_items, 1, 100000),
	INT_KEY(pep_max_nodes, 1, 100000),
	INT_KEY(archive_max_count, 0, 100000000),
	LONG_KEY(archive_max_age, 0, 100L * 365 * 86400),
	INT_KEY(session_ttl, 5, 86400),
	INT_KEY(resume_timeout, 0, CONFIG_MAX_RESUME),
	LONG_KEY(fast_token_lifetime, 0, 3650L * 86400),
	INT_KEY(bosh_inactivity, 1, 3600),
	INT_KEY(ack_request_every, 1, 10000),
	INT_KEY(ack_request_delay, 1, 3600),
	INT_KEY(redis_timeout_ms, 10, 600000),
	INT_KEY(redis_wait_replicas, 0, 16),
	INT_KEY(redis_wait_timeout_ms, 1, 60000),
	INT_KEY(auth_fail_window, 1, 86400),
	INT_KEY(auth_block_after, 1, 1000000),
	INT_KEY(registration_limit, 1, 1000000),
	INT_KEY(registration_window, 1, 86400 * 30),
	LONG_KEY(max_read_rate, 1024, 1L << 30),
	LONG_KEY(max_read_burst, 4096, 1L << 30),
	LONG_KEY(upload_max_size, 1, CONFIG_MAX_UPLOAD),
	LONG_KEY(upload_quota, 0, CONFIG_MAX_UPLOAD),
	LONG_KEY(upload_expiry, 60, 100L * 365 * 86400),
	INT_KEY(upload_slot_ttl, 10, 86400),
	INT_KEY(s2s_timeout, 5, 86400),
	INT_KEY(s2s_idle_timeout, 5, 86400),
	INT_KEY(s2s_queue_max, 1, 10000000),
	INT_KEY(push_interval, 0, 86400),
	INT_KEY(turn_ttl, 60, CONFIG_MAX_TURN_TTL),
	/* the ranges of the client's keys; an s2s_limit line's too */
	{ "s2s_max_read_rate", 1024, 1L << 30, offsetof(struct config, s2s_default.read_rate),
	  KEY_LONG },
	{ "s2s_max_read_burst", 4096, 1L << 30, offsetof(struct config, s2s_default.read_burst),
	  KEY_LONG },
	{ "s2s_max_stanza_size", 1024, 16L * 1024 * 1024,
	  offsetof(struct config, s2s_default.max_stanza_size), KEY_SIZE },
};

/* The numeric key named name, or NULL. */
static const struct int_key *int_key(const char *name)
{
	size_t i;
	for (i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++)
		if (!strcmp(name, int_keys[i].name))
			return &int_keys[i];
	return NULL;
}

/* v as a value of numeric key name, within its range: 0, or -1. */
static int parse_key_value(const char *name, const char *v, long *out)
{
	const struct int_key *ik = int_key(name);
	return ik ? parse_int(v, ik->lo, ik->hi, out) : -1;
}

/* "DOMAIN RATE BURST STANZA": what that remote domain's server may send,
 * each number within the range of s2s_max_read_rate, s2s_max_read_burst,
 * s2s_max_stanza_size, or "-" for theirs. One line per domain. */
static int parse_s2s_limit(struct config *c, char *v)
{
	static const char *const keys[] = { "s2s_max_read_rate", "s2s_max_read_burst",
	    "s2s_max_stanza_size" };
	long n[3];
	char *dom, *w, *save = NULL;
	struct config_s2s_limit *l;
	struct jid j;
	int i;

	if (c->ns2s_limits == CONFIG_MAX_S2S_LIMITS)
		return -1;
	l = &c->s2s_limits[c->ns2s_limits];
	dom = strtok_r(v, " \t", &save);
	if (!dom || jid_parse(dom, &j) == -1 || j.node[0] || j.resource[0] ||
	    strlen(j.domain) >= sizeof l->domain)
		return -1;
	for (i = 0; i < 3; i++) {
		w = strtok_r(NULL, " \t", &save);
		if (!w)
			return -1;
		n[i] = 0;                    /* "-": config_s2s_limits fills it in */
		if (strcmp(w, "-") && parse_key_value(keys[i], w, &n[i]) == -1)
			return -1;
	}
	if (strtok_r(NULL, " \t", &save))
		return -1;
	for (i = 0; i < c->ns2s_limits; i++)
		if (!strcmp(c->s2s_limits[i].domain, j.domain))
			return -1;           /* two lines: which one was meant? */
	strcpy(l->domain, j.domain);
	l->lim.read_rate = n[0];
	l->lim.read_burst = n[1];
	l->lim.max_stanza_size = (size_t)n[2];
	c->ns2s_limits++;
	return 0;
}

struct config_s2s_limits config_s2s_limits(const struct config *c, const char *domain)
{
	struct config_s2s_limits l = { 0, 0, 0 };
	int i;

	for (i = 0; domain && i < c->ns2s_limits; i++)
		if (!strcmp(c->s2s_limits[i].domain, domain))
			l = c->s2s_limits[i].lim;
	if (!l.read_rate)
		l.read_rate = c->s2s_default.read_rate ? c->s2s_default.read_rate : c->max_read_rate;
	if (!l.read_burst)
		l.read_burst = c->s2s_default.read_burst ? c->s2s_default.read_burst :
		    c->max_read_burst;
	if (!l.max_stanza_size)
		l.max_stanza_size = c->s2s_default.max_stanza_size ?
		    c->s2s_default.max_stanza_size : c->max_stanza_size;
	return l;
}

/* "DOMAIN SECRET": a component's domain (a JID domain, none of this
 * server's own: served, conference or upload) and its secret, one word.
 * One line per domain. */
static int parse_component(struct config *c, char *v)
{
	char *dom, *secret, *save = NULL;
	struct config_component *k;
	struct jid j;

	if (c->ncomponents == CONFIG_MAX_COMPONENTS)
		return -1;
	k = &c->components[c->ncomponents];
	dom = strtok_r(v, " \t", &save);
	secret = strtok_r(NULL, " \t", &save);
	if (!dom || !secret || strtok_r(NULL, " \t", &save) || jid_parse(dom, &j) == -1 ||
	    j.node[0] || j.resource[0] || strlen(j.domain) >= sizeof k->domain ||
	    strlen(secret) >= sizeof k->secret)
		return -1;
	if (config_serves(c, j.domain) || !strcmp(j.domain, c->muc_domain) ||
	    !strcmp(j.domain, c->upload_domain) || config_component(c, j.domain))
		return -1;
	strcpy(k->domain, j.domain);
	strcpy(k->secret, secret);
	c->ncomponents++;
	return 0;
}

const char *config_component(const struct config *c, const char *domain)
{
	int i;

	for (i = 0; i < c->ncomponents; i++)
		if (!strcmp(c->components[i].domain, domain))
			return c->components[i].secret;
	return NULL;
}

/* The word of words (NULL-ended) that w is, or NULL. */
static const char *one_of(const char *w, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(w, *words))
			return *words;
	return NULL;
}

/* "TYPE HOST PORT TRANSPORT": a STUN or TURN server to announce
 * (XEP-0215). HOST goes into XML attributes as it is: no blanks, quotes
 * or markup. */
static int parse_extdisco(struct config *c, char *v)
{
	static const char *const types[] = { "stun", "stuns", "turn", "turns", NULL };
	static const char *const transports[] = { "udp", "tcp", NULL };
	struct config_extdisco *e;
	char *type, *host, *port, *transport, *save = NULL;
	long n;

	if (c->nextdisco == CONFIG_MAX_EXTDISCO)
		return -1;
	e = &c->extdisco[c->nextdisco];
	type = strtok_r(v, " \t", &save);
	host = strtok_r(NULL, " \t", &save);
	port = strtok_r(NULL, " \t", &save);
	transport = strtok_r(NULL, " \t", &save);
	if (!transport || strtok_r(NULL, " \t", &save) || !one_of(type, types) ||
	    !one_of(transport, transports) || strpbrk(host, "\"'<>&/@") ||
	    parse_int(port, 1, CONFIG_MAX_PORT, &n) == -1 ||
	    copy_str(e->host, sizeof e->host, host) == -1)
		return -1;
	strcpy(e->type, type);
	strcpy(e->transport, transport);
	e->port = (int)n;
	c->nextdisco++;
	return 0;
}

int config_file_path(const char *name, char *out, size_t outsz)
{
	const char *dir = getenv(CRED_DIR_ENV);
	int n;

	if (name == NULL || name[0] == '\0')
		return -1;
	if (name[0] != '/' && dir != NULL && dir[0] != '\0')
		n = snprintf(out, outsz, "%s/%s", dir, name);
	else
		n = snprintf(out, outsz, "%s", name);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int config_has_turn_secret(const struct config *c)
{
	return c->turn_secret[0] || c->turn_secret_file[0];
}

int config_turn_secret(const struct config *c, char *out, size_t outsz)
{
	char path[CONFIG_MAX_STR], buf[CONFIG_MAX_TURN_SECRET + 2];
	size_t n;
	FILE *f;
	int e, more;

	out[0] = '\0';
	if (c->turn_secret[0]) {
		if (copy_str(out, outsz, c->turn_secret) == -1) {
			errno = EINVAL;
			return -1;
		}
		return 0;
	}
	if (!c->turn_secret_file[0]) {
		errno = ENOENT;
		return -1;
	}
	if (config_file_path(c->turn_secret_file, path, sizeof path) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	more = n == sizeof buf - 1 && fgetc(f) != EOF;   /* longer than any secret */
	e = ferror(f) ? errno : 0;
	fclose(f);
	if (e) {
		errno = e;
		return -1;
	}
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (more || !n || strlen(buf) != n || strchr(buf, '\n') ||
	    copy_str(out, outsz, buf) == -1) {
		out[0] = '\0';
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* muc_domain, upload_domain: one domain name, lower-cased, none of the
 * served domains nor the other service's (each service is a domain of
 * its own). "" turns the service off. */
static int parse_service_domain(struct config *c, char *v, char *dst)
{
	char *p;
	if (strpbrk(v, " \t/@{}"))
		return -1;
	for (p = v; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (*v && (config_serves(c, v) || !strcmp(v, c->muc_domain) ||
	    !strcmp(v, c->upload_domain) || config_component(c, v)))
		return -1;
	return copy_str(dst, CONFIG_MAX_DOMAIN, v);
}

/* http_url: "http://" or "https://", a host (and port), no path, no
 * spaces or quotes (it is written into XML and JSON as it is). */
static int parse_http_url(struct config *c, char *v)
{
	size_t n = strlen(v);
	const char *host = !strncmp(v, "http://", 7) ? v + 7 : !strncmp(v, "https://", 8) ? v + 8 : NULL;

	while (n && v[n - 1] == '/')
		v[--n] = '\0';
	if (!host || !*host || strpbrk(host, "/?#\"'<>&\\ \t"))
		return -1;
	return copy_str(c->http_url, sizeof c->http_url, v);
}

/* A list of words, lower-cased, one space apart in dst (muc_creators,
 * ws_origins); -1 if a word holds a character of forbidden or the list
 * does not fit. */
static int parse_words(char *dst, size_t size, char *v, const char *forbidden)
{
	char *p, *w, *save = NULL;
	size_t used = 0;

	dst[0] = '\0';
	for (p = v; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (w = strtok_r(v, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (strpbrk(w, forbidden) || used + strlen(w) + 2 > size)
			return -1;
		used += (size_t)snprintf(dst + used, size - used, "%s%s", used ? " " : "", w);
	}
	return 0;
}

/* contact_<kind>: URIs (XEP-0157: mailto:, xmpp:, https: ...), space
 * separated, kept as written: each a scheme of letters, digits, '+',
 * '-' or '.', a colon and more. */
static int parse_uris(char *dst, size_t size, char *v)
{
	char *w, *save = NULL;
	size_t used = 0, n;

	dst[0] = '\0';
	for (w = strtok_r(v, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		n = strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
		if (n == 0 || !isalpha((unsigned char)w[0]) || w[n] != ':' || !w[n + 1] ||
		    used + strlen(w) + 2 > size)
			return -1;
		used += (size_t)snprintf(dst + used, size - used, "%s%s", used ? " " : "", w);
	}
	return 0;
}

/* upload_types: a list of words (parse_words), each "type/subtype" or a
 * whole type as "image/" and a star. */
static int parse_upload_types(struct config *c, char *v)
{
	const char *w, *slash;
	size_t n;

	if (parse_words(c->upload_types, sizeof c->upload_types, v, ";\",") == -1)
		return -1;
	for (w = c->upload_types; *w; w += n + (w[n] == ' ')) {
		n = strcspn(w, " ");
		slash = memchr(w, '/', n);
		if (!slash || slash == w || slash == w + n - 1 || memchr(slash + 1, '/', n - 1 - (size_t)(slash - w)))
			return -1;
	}
	return 0;
}

/* 1 if the n bytes at w are one of the words of list (parse_words). */
static int words_have(const char *list, const char *w, size_t n)
{
	size_t k;
	while (*list) {
		k = strcspn(list, " ");
		if (k == n && !strncmp(list, w, n))
			return 1;
		list += k;
		while (*list == ' ')
			list++;
	}
	return 0;
}

int config_muc_creator(const struct config *c, const char *bare)
{
	const char *at = strchr(bare, '@');
	const char *domain = at ? at + 1 : bare;

	return !c->muc_creators[0] || words_have(c->muc_creators, bare, strlen(bare)) ||
	    words_have(c->muc_creators, domain, strlen(domain));
}

int config_s2s_allowed(const struct config *c, const char *domain)
{
	size_t n = strlen(domain);

	if (!c->s2s || !n || config_serves(c, domain) || !strcmp(domain, c->muc_domain) ||
	    !strcmp(domain, c->upload_domain) || config_component(c, domain) ||
	    words_have(c->s2s_deny, domain, n))
		return 0;
	return !c->s2s_allow[0] || words_have(c->s2s_allow, domain, n);
}

int config_ws_origin(const struct config *c, const char *origin, size_t len)
{
	char low[CONFIG_MAX_STR];
	size_t i;

	if (!c->ws_origins[0])
		return 1;
	if (len >= sizeof low)
		return 0;
	for (i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)origin[i]);
	return words_have(c->ws_origins, low, len);
}

int config_upload_type(const struct config *c, const char *ctype)
{
	char low[CONFIG_MAX_STR];
	size_t i, len = strcspn(ctype, "; \t"), major = strcspn(ctype, "/");

	if (!c->upload_types[0])
		return 1;
	if (len + 2 >= sizeof low || major + 1 >= len)
		return 0;
	for (i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)ctype[i]);
	if (words_have(c->upload_types, low, len))
		return 1;
	low[major + 1] = '*';           /* "type/" and a star: the whole type */
	return words_have(c->upload_types, low, major + 2);
}

static int config_set(struct config *c, const char *k, char *v)
{
	const struct int_key *ik;
	long n;
	int i;
	if (!strcmp(k, "domain"))
		return parse_domains(c, v);
	if (!strcmp(k, "redis"))
		return copy_str(c->redis, sizeof c->redis, v);
	if (!strcmp(k, "key_prefix"))
		return strpbrk(v, "{} \t") ? -1 : copy_str(c->key_prefix, sizeof c->key_prefix, v);
	if (!strcmp(k, "allow_plaintext_auth"))
		return parse_bool(v, &c->allow_plaintext_auth);
	if (!strcmp(k, "password_change_kicks"))
		return parse_bool(v, &c->password_change_kicks);
	if (!strcmp(k, "registration"))
		return parse_registration(v, &c->registration);
	if (!strcmp(k, "tls_cert"))
		return copy_str(c->tls_cert, sizeof c->tls_cert, v);
	if (!strcmp(k, "tls_key"))
		return copy_str(c->tls_key, sizeof c->tls_key, v);
	if (!strcmp(k, "tls_domain"))
		return parse_tls_domain(c, v);
	if (!strcmp(k, "auth_exempt"))
		return parse_exempt(c, v);
	if (!strcmp(k, "archive_default"))
		return strcmp(v, "always") && strcmp(v, "roster") && strcmp(v, "never") ? -1 :
		    copy_str(c->archive_default, sizeof c->archive_default, v);
	if (!strcmp(k, "muc_domain"))
		return parse_service_domain(c, v, c->muc_domain);
	if (!strcmp(k, "upload_domain"))
		return parse_service_domain(c, v, c->upload_domain);
	if (!strcmp(k, "upload_dir"))
		return *v != '/' ? -1 : copy_str(c->upload_dir, sizeof c->upload_dir, v);
	if (!strcmp(k, "upload_types"))
		return parse_upload_types(c, v);
	if (!strcmp(k, "muc_creators"))
		return parse_words(c->muc_creators, sizeof c->muc_creators, v, "/");
	if (!strcmp(k, "http_url"))
		return parse_http_url(c, v);
	if (!strcmp(k, "ws_origins"))
		return parse_words(c->ws_origins, sizeof c->ws_origins, v, "");
	if (!strncmp(k, "contact_", 8))
		for (i = 0; i < CONFIG_CONTACT_KINDS; i++)
			if (!strcmp(k + 8, config_contact_kinds[i]))
				return parse_uris(c->contacts[i], sizeof c->contacts[i], v);
	if (!strcmp(k, "s2s"))
		return parse_bool(v, &c->s2s);
	if (!strcmp(k, "push_body"))
		return parse_bool(v, &c->push_body);
	if (!strcmp(k, "s2s_secure"))
		return parse_bool(v, &c->s2s_secure);
	if (!strcmp(k, "s2s_allow"))
		return parse_words(c->s2s_allow, sizeof c->s2s_allow, v, "/@{}");
	if (!strcmp(k, "s2s_deny"))
		return parse_words(c->s2s_deny, sizeof c->s2s_deny, v, "/@{}");
	if (!strcmp(k, "s2s_ca_file"))
		return copy_str(c->s2s_ca_file, sizeof c->s2s_ca_file, v);
	if (!strcmp(k, "s2s_resolver"))
		return strpbrk(v, " \t") ? -1 : copy_str(c->s2s_resolver, sizeof c->s2s_resolver, v);
	if (!strcmp(k, "s2s_limit"))
		return parse_s2s_limit(c, v);
	if (!strcmp(k, "component"))
		return parse_component(c, v);
	if (!strcmp(k, "extdisco_service"))
		return parse_extdisco(c, v);
	if (!strcmp(k, "turn_secret")) {
		c->turn_secret_file[0] = '\0';      /* the later key wins */
		return copy_str(c->turn_secret, sizeof c->turn_secret, v);
	}
	if (!strcmp(k, "turn_secret_file")) {
		c->turn_secret[0] = '\0';
		return !*v ? -1 : copy_str(c->turn_secret_file, sizeof c->turn_secret_file, v);
	}
	if (!strcmp(k, "hostname"))
		return strpbrk(v, " \t") ? -1 : copy_str(c->hostname, sizeof c->hostname, v);
	ik = int_key(k);
	if (!ik)
		return -2;
	if (parse_int(v, ik->lo, ik->hi, &n) == -1)
		return -1;
	if (ik->kind == KEY_SIZE)
		*(size_t *)((char *)c + ik->off) = (size_t)n;
	else if (ik->kind == KEY_LONG)
		*(long *)((char *)c + ik->off) = n;
	else
		*(int *)((char *)c + ik->off) = (int)n;
	return 0;
}

const char *config_path(const char *path)
{
	if (!path || !*path)
		path = getenv("XMPP_CONFIG");
	return path && *path ? path : CONFIG_DEFAULT_PATH;
}

int config_load(struct config *c, const char *path, char *errbuf, size_t errlen)
{
	char line[CONFIG_MAX_LINE];
	int explicit, lineno = 0, rc = 0;
	FILE *f;

	config_defaults(c);
	if (!path || !*path)
		path = getenv("XMPP_CONFIG");
	explicit = path && *path;     /* a missing default file is no error */
	path = config_path(path);
	f = fopen(path, "r");
	if (!f) {
		if (!explicit && errno == ENOENT)
			return 0;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *s, *eq, *k, *v;
		int r;
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(errbuf, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		s = trim(line);
		if (*s == '#' || *s == '\0')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(errbuf, errlen, "%s:%d: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		r = config_set(c, k, v);
		if (r == -2) {
			snprintf(errbuf, errlen, "%s:%d: unknown key '%s'", path, lineno, k);
			rc = -1;
			break;
		}
		if (r == -1) {
			snprintf(errbuf, errlen, "%s:%d: bad value for '%s'", path, lineno, k);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(errbuf, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

int config_auth_exempt(const struct config *c, const char *addr)
{
	return netaddr_match(c->auth_exempt, c->nauth_exempt, addr);
}

int config_serves(const struct config *c, const char *domain)
{
	int i;
	for (i = 0; i < c->ndomains; i++)
		if (!strcmp(c->domains[i], domain))
			return 1;
	return 0;
}

int config_federates(const struct config *c, const char *domain)
{
	return config_serves(c, domain) || (c->muc_domain[0] && !strcmp(domain, c->muc_domain));
}
