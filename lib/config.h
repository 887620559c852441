/*
 * config.h - xmpp.conf(5): "key = value" lines, read on every connection.
 *
 * Contract: config_load() never exits and never crashes on bad input; it
 * fills defaults first, then the file, and on any error returns -1 with a
 * one-line reason in errbuf (file, line, what). Every string is owned by
 * the struct (fixed arrays: no free needed). Only what the counts and the
 * terminators cover is defined (see struct config).
 */
#ifndef XMPPD_CONFIG_H
#define XMPPD_CONFIG_H

#include <stddef.h>

#include "netaddr.h"

#define CONFIG_DEFAULT_PATH  "/etc/xmpp/xmpp.conf"
#define CONFIG_MAX_DOMAINS   16
#define CONFIG_MAX_DOMAIN    256     /* RFC 7622: domainpart <= 1023 bytes; we keep it smaller */
#define CONFIG_MAX_STR       1024
#define CONFIG_CONTACT_KINDS 7          /* config_contact_kinds */
#define CONFIG_MAX_PATH      256     /* per-domain certificate paths: kept
                                        small, every handler holds this
                                        struct on its stack */
#define CONFIG_MAX_EXEMPT    64      /* auth_exempt ranges, all lines together */
#define CONFIG_MAX_RESUME    86400   /* resume_timeout's ceiling, seconds */
#define CONFIG_MAX_UPLOAD    (1L << 40) /* upload_max_size's and upload_quota's ceiling, bytes */
#define CONFIG_MAX_S2S_LIMITS 32     /* s2s_limit lines: remote domains with
                                        limits of their own */
#define CONFIG_MAX_COMPONENTS 16     /* component lines (XEP-0114) */
#define CONFIG_MAX_SECRET     256    /* bytes of a component's secret, NUL included */
#define CONFIG_MAX_EXTDISCO  8       /* extdisco_service lines (XEP-0215) */
#define CONFIG_MAX_PORT      65535   /* a TCP or UDP port */
#define CONFIG_MAX_TURN_SECRET 256   /* bytes of turn_secret, with its NUL */
#define CONFIG_MAX_TURN_TTL  (30 * 86400) /* turn_ttl's ceiling, seconds */

/* registration: who may create an account in-band (XEP-0077). */
enum config_registration {
	CONFIG_REG_CLOSED = 0,               /* nobody: accounts come from xmppctl */
	CONFIG_REG_OPEN,                     /* anyone, within the per-address limit */
	CONFIG_REG_INVITE                    /* only with an invitation token */
};

struct config_tls_domain {
	char domain[CONFIG_MAX_DOMAIN];
	char cert[CONFIG_MAX_PATH];
	char key[CONFIG_MAX_PATH];
};

/* What one remote domain's server may send an inbound stream
 * (xmpp-s2s-in). In struct config, 0 means "not set here": read them
 * through config_s2s_limits(), which fills those in. */
struct config_s2s_limits {
	long read_rate;                      /* bytes/s on average */
	long read_burst;                     /* bytes at once */
	size_t max_stanza_size;              /* bytes of one top-level element */
};

/* "extdisco_service = TYPE HOST PORT TRANSPORT": a STUN or TURN server
 * the handler announces to clients (XEP-0215). */
struct config_extdisco {
	char type[8];                        /* stun, stuns, turn or turns */
	char host[CONFIG_MAX_DOMAIN];        /* a name or an address, as written */
	int port;                            /* 1 to CONFIG_MAX_PORT */
	char transport[4];                   /* udp or tcp */
};

/* "s2s_limit = DOMAIN RATE BURST STANZA" */
struct config_s2s_limit {
	char domain[CONFIG_MAX_DOMAIN];      /* prepped as JID domains are */
	struct config_s2s_limits lim;
};

/* "component = DOMAIN SECRET": an external component (XEP-0114) that
 * serves DOMAIN and proves it with SECRET (xmpp-component(8)). */
struct config_component {
	char domain[CONFIG_MAX_DOMAIN];      /* prepped as JID domains are */
	char secret[CONFIG_MAX_SECRET];
};

/* config_load() zeroes the scalars and short strings (up to tls_cert) and
 * only the first byte of each longer string: a handler loads this struct on
 * every connection, and the arrays below are mostly unused, so their pages
 * are never touched. Entries past ndomains, ntls_domains, nauth_exempt,
 * ns2s_limits, ncomponents and nextdisco, and the bytes after a
 * string's terminator, are unspecified. */
struct config {
	int ndomains;
	int allow_plaintext_auth;            /* PLAIN / iq:auth <password> without TLS */
	int password_change_kicks;           /* XEP-0077: a new password ends the other sessions */
	int registration;                    /* enum config_registration */
	int registration_limit;              /* accounts one address may create per window */
	int registration_window;             /* seconds those creations are counted */
	int ntls_domains;                    /* "tls_domain = DOMAIN CERT KEY" lines */
	size_t max_stanza_size;              /* bytes; policy-violation beyond */
	int max_depth;                       /* XML nesting below the stream root */
	int max_attrs;                       /* attributes on one element */
	int idle_timeout;                    /* seconds without input before a ping */
	int ping_timeout;                    /* seconds that ping has to be answered */
	int auth_timeout;                    /* seconds allowed to authenticate */
	int ack_timeout;                     /* seconds a message may stay unconfirmed */
	int auth_fail_delay_ms;              /* pause after a failed authentication */
	int auth_fail_window;                /* seconds failures are remembered */
	int auth_block_after;                /* failures from one address that block it */
	int nauth_exempt;                    /* networks never blocked nor delayed */
	long max_read_rate;                  /* bytes/s a client may send on average */
	long max_read_burst;                 /* bytes it may send at once */
	int offline_max;                     /* offline messages kept per user */
	size_t vcard_max_size;               /* bytes of one stored vCard (XEP-0054) */
	size_t pep_max_item_size;            /* bytes of one PEP item (XEP-0163) */
	int pep_max_items;                   /* items per PEP node; what "max" means */
	int pep_max_nodes;                   /* PEP nodes per user */
	int archive_max_count;               /* XEP-0313 entries kept per user; 0 no cap */
	long archive_max_age;                /* seconds an entry is kept; 0 no limit */
	char archive_default[8];             /* always, roster or never (XEP-0441) */
	int session_ttl;                     /* seconds a session lives without heartbeat */
	int redis_timeout_ms;                /* connect and command timeout */
	int redis_wait_replicas;             /* routing waits for this many replicas */
	int redis_wait_timeout_ms;           /* ... at most this long */
	int resume_timeout;                  /* seconds a lost XEP-0198 session waits; 0 none */
	long fast_token_lifetime;            /* seconds a FAST token lives (XEP-0484); 0 none */
	int bosh_inactivity;                 /* seconds a BOSH session waits for a request */
	int ack_request_every;               /* XEP-0198: <r/> after this many stanzas ... */
	int ack_request_delay;               /* ... or this many seconds after one */
	char key_prefix[128];                /* default "xmpp:" */
	char muc_domain[CONFIG_MAX_DOMAIN];  /* XEP-0045 conference domain; "" none */
	char upload_domain[CONFIG_MAX_DOMAIN]; /* XEP-0363 upload service; "" none */
	long upload_max_size;                /* bytes of one uploaded file */
	long upload_quota;                   /* bytes one user may keep; 0 no quota */
	long upload_expiry;                  /* seconds an uploaded file is kept */
	int upload_slot_ttl;                 /* seconds a slot's PUT URL stays valid */
	int s2s;                             /* federation (RFC 6120 server-to-server) on */
	int s2s_secure;                      /* peers must authenticate by certificate:
	                                        no dialback-only domains */
	int s2s_timeout;                     /* seconds before a queued stanza is bounced */
	int s2s_idle_timeout;                /* seconds an idle outbound stream stays */
	int s2s_queue_max;                   /* stanzas queued per remote domain */
	int push_interval;                   /* seconds between two push
	                                        notifications of one device */
	int push_body;                       /* notifications carry the body */
	struct config_s2s_limits s2s_default; /* s2s_max_read_rate, s2s_max_read_burst,
	                                        s2s_max_stanza_size; 0: the
	                                        client's (max_read_rate ...) */
	int ns2s_limits;                     /* "s2s_limit" lines */
	int ncomponents;                     /* "component" lines */
	int nextdisco;                       /* "extdisco_service" lines */
	int turn_ttl;                        /* seconds TURN credentials stay valid */
	char hostname[256];                  /* this host's name in session records */
	/* not zeroed from here on (see above) */
	char tls_cert[CONFIG_MAX_STR];
	char tls_key[CONFIG_MAX_STR];
	char redis[CONFIG_MAX_STR];          /* redis://[:pw@]host[:port][/db] or unix:/path */
	char muc_creators[CONFIG_MAX_STR];   /* who may create rooms: bare JIDs and
	                                        domains, space separated; "" every
	                                        local user */
	char http_url[CONFIG_MAX_PATH];      /* xmpp-web's public base URL
	                                        (http[s]://host[:port], no
	                                        path); "" from each request's Host */
	char ws_origins[CONFIG_MAX_STR];     /* WebSocket origins allowed, space
	                                        separated, lower-cased; "" any */
	char upload_dir[CONFIG_MAX_PATH];    /* where uploaded files live */
	char upload_types[CONFIG_MAX_STR];   /* content types allowed, space
	                                        separated, a star for any
	                                        subtype; "" any */
	char s2s_allow[CONFIG_MAX_STR];      /* remote domains we federate with, space
	                                        separated, lower-cased; "" any */
	char s2s_deny[CONFIG_MAX_STR];       /* ... never, whatever s2s_allow says */
	char s2s_ca_file[CONFIG_MAX_PATH];   /* trust anchors for peers; "" the system's */
	/* XEP-0157 contact addresses, one list per kind of
	 * config_contact_kinds: URIs, space separated; "" none. */
	char contacts[CONFIG_CONTACT_KINDS][CONFIG_MAX_STR];
	char s2s_resolver[CONFIG_MAX_STR];   /* DNS servers host:port,...; "" resolv.conf */
	char turn_secret[CONFIG_MAX_TURN_SECRET]; /* the TURN server's shared
	                                        secret; "" none (see
	                                        config_turn_secret) */
	char turn_secret_file[CONFIG_MAX_PATH]; /* ... or the file holding it:
	                                        each key clears the other */
	char domains[CONFIG_MAX_DOMAINS][CONFIG_MAX_DOMAIN];
	struct config_tls_domain tls_domains[CONFIG_MAX_DOMAINS];
	struct netaddr_range auth_exempt[CONFIG_MAX_EXEMPT];
	struct config_s2s_limit s2s_limits[CONFIG_MAX_S2S_LIMITS];
	struct config_component components[CONFIG_MAX_COMPONENTS];
	struct config_extdisco extdisco[CONFIG_MAX_EXTDISCO];
};

/* The file config_load reads for path: path itself, else $XMPP_CONFIG,
 * else the default path (the sandbox lets the handler read its folder). */
const char *config_path(const char *path);

/* Load defaults, then the file at path (NULL: $XMPP_CONFIG, then the
 * default path). A missing default file is not an error (defaults apply);
 * a missing explicit file is. */
int config_load(struct config *c, const char *path, char *errbuf, size_t errlen);

/* 1 if the client address addr (as text) lies in an auth_exempt range. */
int config_auth_exempt(const struct config *c, const char *addr);

/* 1 if bare JID bare (prepped) may create rooms (muc_creators). */
int config_muc_creator(const struct config *c, const char *bare);

/* 1 if the len bytes at origin (a WebSocket Origin header) may connect:
 * ws_origins is empty or lists it (compared without case). */
int config_ws_origin(const struct config *c, const char *origin, size_t len);

/* 1 if content type ctype (as the client sent it) may be uploaded
 * (upload_types; matched without case, parameters ignored). */
int config_upload_type(const struct config *c, const char *ctype);

/* 1 if stanzas may go to and come from remote domain (lower-cased):
 * federation is on, the domain is not served here nor a component's,
 * s2s_deny does not name it and s2s_allow is empty or does. */
int config_s2s_allowed(const struct config *c, const char *domain);

/* The limits on what remote domain's server sends (domain lower-cased;
 * NULL: a stream that has authenticated no domain yet): its s2s_limit
 * line, each field that line leaves out ("-") or a domain without a line
 * taking s2s_max_read_rate, s2s_max_read_burst, s2s_max_stanza_size, and
 * each of those that is not set the client's max_read_rate,
 * max_read_burst, max_stanza_size. Every field of the answer is set. */
struct config_s2s_limits config_s2s_limits(const struct config *c, const char *domain);

/* The secret of the component that serves domain (lower-cased; a
 * component line), or NULL when no component serves it. Federation
 * need not be on: a component is part of this server. */
const char *config_component(const struct config *c, const char *domain);
/* 1 if a TURN secret is configured (turn_secret or turn_secret_file),
 * else 0. */
int config_has_turn_secret(const struct config *c);
/* The TURN secret into out (outsz bytes, at least
 * CONFIG_MAX_TURN_SECRET): turn_secret, or the first line of the file
 * turn_secret_file names (config_file_path), read now, its line end
 * dropped. 0; or -1 with errno set when none is configured (ENOENT),
 * the file cannot be read, or it is empty, holds more than one line or
 * a NUL, or its line is too long (EINVAL); out is then "". The file is
 * read when needed, not by config_load: a program that loads the
 * configuration without the credential (xmppctl) still can. */
int config_turn_secret(const struct config *c, char *out, size_t outsz);

/* The file a configured secret file name means: an absolute name as it
 * is, another under $CREDENTIALS_DIRECTORY (systemd LoadCredential=)
 * when that is set and not empty. 0, or -1 for an empty name or one
 * that does not fit in outsz. */
int config_file_path(const char *name, char *out, size_t outsz);

/* 1 if name (already lower-cased/prepped) is one of the served domains. */
int config_serves(const struct config *c, const char *domain);
/* 1 if domain speaks for this server to other domains: a served domain,
 * or the conference domain (muc_domain), whose rooms remote users join. */
int config_federates(const struct config *c, const char *domain);

/* XEP-0157's kinds of contact address, in its order ("abuse", "admin",
 * ...): xmpp.conf's contact_<kind> keys, and the serverinfo form's
 * <kind>-addresses fields. */
extern const char *const config_contact_kinds[CONFIG_CONTACT_KINDS];

#endif
