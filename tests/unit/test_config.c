/*
 * test_config.c - unit tests for lib/config.c (xmpp.conf(5)).
 *
 * Every file is a mkstemp() file under /tmp, removed at the end.
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "config.h"
#include "jid.h"
#include "xmalloc.h"
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TEMP 1024
static char *temps[MAX_TEMP];
static int ntemps;

/* A temporary file holding text; the path lives until cleanup(). */
static const char *conf(const char *text)
{
	char tmpl[] = "/tmp/xmppd-test-config-XXXXXX";
	int fd = mkstemp(tmpl);
	size_t len = strlen(text);
	if (fd == -1 || ntemps == MAX_TEMP) {
		perror("mkstemp");
		exit(2);
	}
	if (write(fd, text, len) != (ssize_t)len) {
		perror("write");
		exit(2);
	}
	close(fd);
	temps[ntemps] = strdup(tmpl);
	return temps[ntemps++];
}

static void cleanup(void)
{
	int i;
	for (i = 0; i < ntemps; i++) {
		unlink(temps[i]);
		free(temps[i]);
	}
	ntemps = 0;
}

static struct config cfg;
static char err[512];

/* Load text; returns config_load's result. */
static int load(const char *text)
{
	err[0] = '\0';
	return config_load(&cfg, conf(text), err, sizeof err);
}

/* The error names this file and line and contains what. */
#define CHECK_ERR(text, line, what) do { \
	const char *p_ = conf(text); \
	char want_[600]; \
	err[0] = '\0'; \
	CHECK_INT(config_load(&cfg, p_, err, sizeof err), -1); \
	snprintf(want_, sizeof want_, "%s:%d:", p_, (line)); \
	if (!CHECK(strncmp(err, want_, strlen(want_)) == 0)) \
		printf("  errbuf \"%s\", want prefix \"%s\"\n", err, want_); \
	if (!CHECK(strstr(err, (what)) != NULL)) \
		printf("  errbuf \"%s\", want it to contain \"%s\"\n", err, (what)); \
} while (0)

static void check_defaults(const struct config *c)
{
	char host[256] = "";
	CHECK_INT(c->ndomains, 1);
	CHECK_STR(c->domains[0], "localhost");
	CHECK_STR(c->redis, "redis://127.0.0.1:6379/0");
	CHECK_STR(c->key_prefix, "xmpp:");
	CHECK_INT(c->allow_plaintext_auth, 0);
	CHECK_INT(c->password_change_kicks, 0);
	CHECK_STR(c->tls_cert, "");
	CHECK_STR(c->tls_key, "");
	if (gethostname(host, sizeof host - 1) == -1)
		strcpy(host, "localhost");
	CHECK_STR(c->hostname, host);
	CHECK_INT(c->max_stanza_size, 262144);
	CHECK_INT(c->vcard_max_size, 65536);
	CHECK_INT(c->pep_max_item_size, 65536);
	CHECK_INT(c->pep_max_items, 256);
	CHECK_INT(c->pep_max_nodes, 64);
	CHECK_INT(c->max_depth, 32);
	CHECK_INT(c->max_attrs, 64);
	CHECK_INT(c->idle_timeout, 600);
	CHECK_INT(c->auth_timeout, 30);
	CHECK_INT(c->ack_timeout, 30);
	CHECK_INT(c->ping_timeout, 60);
	CHECK_INT(c->auth_fail_delay_ms, 1000);
	CHECK_INT(c->auth_fail_window, 900);
	CHECK_INT(c->auth_block_after, 10);
	CHECK_INT(c->nauth_exempt, 0);
	CHECK_INT(c->max_read_rate, 131072);
	CHECK_INT(c->max_read_burst, 1048576);
	CHECK_INT(c->offline_max, 1000);
	CHECK_INT(c->session_ttl, 90);
	CHECK_INT(c->bosh_inactivity, 60);
	CHECK_INT(c->redis_timeout_ms, 2000);
	CHECK_INT(c->registration, CONFIG_REG_CLOSED);
	CHECK_INT(c->registration_limit, 3);
	CHECK_INT(c->registration_window, 3600);
	CHECK_INT(c->nextdisco, 0);
	CHECK_STR(c->turn_secret, "");
	CHECK_STR(c->turn_secret_file, "");
	CHECK_INT(c->turn_ttl, 86400);
}

static void test_defaults(void)
{
	CHECK_INT(load("# only comments\n\n   # indented comment\n\t\n"), 0);
	check_defaults(&cfg);
	CHECK_INT(load(""), 0);
	check_defaults(&cfg);

	/* A second load starts again from the defaults. */
	CHECK_INT(load("max_depth = 10\ndomain = a.example\n"), 0);
	CHECK_INT(cfg.max_depth, 10);
	CHECK_INT(load("# nothing\n"), 0);
	check_defaults(&cfg);

	/* No path, no $XMPP_CONFIG, and no default file: defaults, no error. */
	if (access(CONFIG_DEFAULT_PATH, F_OK) == -1) {
		unsetenv("XMPP_CONFIG");
		CHECK_INT(config_load(&cfg, NULL, err, sizeof err), 0);
		check_defaults(&cfg);
		CHECK_INT(config_load(&cfg, "", err, sizeof err), 0);
		check_defaults(&cfg);
	}
}

static void test_domains(void)
{
	CHECK_INT(load("domain = Example.COM other.ORG.\tThird.Net\n"), 0);
	CHECK_INT(cfg.ndomains, 3);
	CHECK_STR(cfg.domains[0], "example.com");
	CHECK_STR(cfg.domains[1], "other.org");
	CHECK_STR(cfg.domains[2], "third.net");
	CHECK_INT(load("domain = a.example, b.example,c.example\n"), 0);
	CHECK_INT(cfg.ndomains, 3);
	CHECK_STR(cfg.domains[2], "c.example");
	CHECK_INT(load("domain = single.example\n"), 0);
	CHECK_INT(cfg.ndomains, 1);
	CHECK_STR(cfg.domains[0], "single.example");

	/* At most 16 domains, each under 256 bytes. */
	{
		char text[8192], d[300];
		int i;
		strcpy(text, "domain =");
		for (i = 0; i < 16; i++)
			sprintf(text + strlen(text), " d%d.example", i);
		strcat(text, "\n");
		CHECK_INT(load(text), 0);
		CHECK_INT(cfg.ndomains, 16);
		CHECK_STR(cfg.domains[15], "d15.example");
		strcpy(text + strlen(text) - 1, " d16.example\n");
		CHECK_ERR(text, 1, "domain");

		memset(d, 'x', 255);
		d[255] = '\0';
		snprintf(text, sizeof text, "domain = %s\n", d);
		CHECK_INT(load(text), 0);
		CHECK_INT(strlen(cfg.domains[0]), 255);
		memset(d, 'x', 256);
		d[256] = '\0';
		snprintf(text, sizeof text, "domain = %s\n", d);
		CHECK_ERR(text, 1, "domain");
	}
	CHECK_ERR("domain =\n", 1, "domain");
	CHECK_ERR("domain = a@b.example\n", 1, "domain");
	CHECK_ERR("domain = b.example:5222\n", 1, "domain");
	CHECK_ERR("domain = .\n", 1, "domain");
}

static void test_strings(void)
{
	CHECK_INT(load("redis = unix:/run/redis/redis-server.sock?db=2\n"), 0);
	CHECK_STR(cfg.redis, "unix:/run/redis/redis-server.sock?db=2");
	/* Only the first '=' separates key and value. */
	CHECK_INT(load("redis=redis://:p=w@h:1/3\n"), 0);
	CHECK_STR(cfg.redis, "redis://:p=w@h:1/3");

	CHECK_INT(load("key_prefix = test:ns:\n"), 0);
	CHECK_STR(cfg.key_prefix, "test:ns:");
	CHECK_ERR("key_prefix = a{b}\n", 1, "key_prefix");
	CHECK_ERR("key_prefix = a b\n", 1, "key_prefix");
	{
		char text[400], v[200];
		memset(v, 'k', 127);
		v[127] = '\0';
		snprintf(text, sizeof text, "key_prefix = %s\n", v);
		CHECK_INT(load(text), 0);
		CHECK_STR(cfg.key_prefix, v);
		strcat(v, "k");
		snprintf(text, sizeof text, "key_prefix = %s\n", v);
		CHECK_ERR(text, 1, "key_prefix");
	}

	CHECK_INT(load("tls_cert = /etc/ssl/a.pem\ntls_key = /etc/ssl/a.key\n"), 0);
	CHECK_STR(cfg.tls_cert, "/etc/ssl/a.pem");
	CHECK_STR(cfg.tls_key, "/etc/ssl/a.key");
	CHECK_INT(load("hostname = node1.example\n"), 0);
	CHECK_STR(cfg.hostname, "node1.example");
	CHECK_ERR("hostname = node 1\n", 1, "hostname");

	/* muc_domain: off by default, lower-cased, never a served domain */
	CHECK_INT(load(""), 0);
	CHECK_STR(cfg.muc_domain, "");
	CHECK_INT(load("domain = example.org\nmuc_domain = Conference.Example.org\n"), 0);
	CHECK_STR(cfg.muc_domain, "conference.example.org");
	CHECK_ERR("domain = example.org\nmuc_domain = example.org\n", 2, "muc_domain");
	CHECK_ERR("muc_domain = a b\n", 1, "muc_domain");
	CHECK_ERR("muc_domain = room@conf\n", 1, "muc_domain");

	/* muc_creators: every local user by default, else the JIDs and
	 * domains listed */
	CHECK_INT(load(""), 0);
	CHECK_INT(config_muc_creator(&cfg, "anyone@example.org"), 1);
	CHECK_INT(load("muc_creators = Alice@Example.org  staff.example.org\n"), 0);
	CHECK_STR(cfg.muc_creators, "alice@example.org staff.example.org");
	CHECK_INT(config_muc_creator(&cfg, "alice@example.org"), 1);
	CHECK_INT(config_muc_creator(&cfg, "bob@staff.example.org"), 1);
	CHECK_INT(config_muc_creator(&cfg, "bob@example.org"), 0);
	CHECK_INT(config_muc_creator(&cfg, "alice@example.org.evil"), 0);
	CHECK_INT(config_muc_creator(&cfg, "example.org"), 0);
	CHECK_ERR("muc_creators = alice@example.org/phone\n", 1, "muc_creators");

	/* ws_origins: any origin by default, else the ones listed, whole
	 * and without case */
	CHECK_INT(load(""), 0);
	CHECK_INT(config_ws_origin(&cfg, "https://evil.example", 20), 1);
	CHECK_INT(load("ws_origins = https://Chat.example.org http://localhost:8080\n"), 0);
	CHECK_INT(config_ws_origin(&cfg, "https://chat.example.org", 24), 1);
	CHECK_INT(config_ws_origin(&cfg, "http://localhost:8080", 21), 1);
	CHECK_INT(config_ws_origin(&cfg, "https://chat.example.org.evil", 29), 0);
	CHECK_INT(config_ws_origin(&cfg, "https://chat.example", 20), 0);
	CHECK_INT(config_ws_origin(&cfg, "http://localhost", 16), 0);

	/* http_url: a scheme and a host, trailing slashes dropped */
	CHECK_INT(load(""), 0);
	CHECK_STR(cfg.http_url, "");
	CHECK_INT(load("http_url = https://xmpp.example.org/\n"), 0);
	CHECK_STR(cfg.http_url, "https://xmpp.example.org");
	CHECK_INT(load("http_url = http://localhost:5280\n"), 0);
	CHECK_STR(cfg.http_url, "http://localhost:5280");
	CHECK_ERR("http_url = ftp://example.org\n", 1, "http_url");
	CHECK_ERR("http_url = https://example.org/xmpp\n", 1, "http_url");
	CHECK_ERR("http_url = https://\n", 1, "http_url");
	CHECK_ERR("http_url = https://a'b.example\n", 1, "http_url");
}

/* The upload service (XEP-0363): off by default, its own domain, its
 * limits, the content types it takes and the public URL. */
static void test_upload(void)
{
	CHECK_INT(load(""), 0);
	CHECK_STR(cfg.upload_domain, "");
	CHECK_STR(cfg.upload_dir, "/var/lib/xmpp/upload");
	CHECK_STR(cfg.http_url, "");
	CHECK_INT(cfg.upload_max_size, 100L * 1024 * 1024);
	CHECK_INT(cfg.upload_quota, 1024L * 1024 * 1024);
	CHECK_INT(cfg.upload_expiry, 30L * 86400);
	CHECK_INT(cfg.upload_slot_ttl, 300);
	CHECK_INT(config_upload_type(&cfg, "application/x-anything"), 1);

	CHECK_INT(load("domain = example.org\nupload_domain = Upload.Example.org\n"
	    "upload_dir = /srv/up\nhttp_url = https://web.example.org:8443//\n"
	    "upload_max_size = 1000\nupload_quota = 0\nupload_expiry = 3600\n"
	    "upload_slot_ttl = 60\n"), 0);
	CHECK_STR(cfg.upload_domain, "upload.example.org");
	CHECK_STR(cfg.upload_dir, "/srv/up");
	CHECK_STR(cfg.http_url, "https://web.example.org:8443");
	CHECK_INT(cfg.upload_max_size, 1000);
	CHECK_INT(cfg.upload_quota, 0);
	CHECK_INT(cfg.upload_expiry, 3600);
	CHECK_INT(cfg.upload_slot_ttl, 60);
	CHECK_ERR("domain = example.org\nupload_domain = example.org\n", 2, "upload_domain");
	CHECK_ERR("muc_domain = c.example\nupload_domain = c.example\n", 2, "upload_domain");
	CHECK_ERR("upload_domain = u.example\nmuc_domain = u.example\n", 2, "muc_domain");
	CHECK_ERR("upload_dir = relative\n", 1, "upload_dir");
	CHECK_ERR("upload_max_size = 0\n", 1, "upload_max_size");
	CHECK_ERR("upload_slot_ttl = 5\n", 1, "upload_slot_ttl");

	CHECK_INT(load("upload_types = Image/* text/plain application/pdf\n"), 0);
	CHECK_STR(cfg.upload_types, "image/* text/plain application/pdf");
	CHECK_INT(config_upload_type(&cfg, "image/png"), 1);
	CHECK_INT(config_upload_type(&cfg, "IMAGE/JPEG"), 1);
	CHECK_INT(config_upload_type(&cfg, "text/plain; charset=utf-8"), 1);
	CHECK_INT(config_upload_type(&cfg, "text/plainx"), 0);
	CHECK_INT(config_upload_type(&cfg, "text/html"), 0);
	CHECK_INT(config_upload_type(&cfg, "imagex/png"), 0);
	CHECK_INT(config_upload_type(&cfg, "image"), 0);
	CHECK_INT(config_upload_type(&cfg, ""), 0);
	CHECK_ERR("upload_types = image\n", 1, "upload_types");
	CHECK_ERR("upload_types = a/b/c\n", 1, "upload_types");
	CHECK_ERR("upload_types = a/b, c/d\n", 1, "upload_types");
	CHECK_ERR("upload_types = /b\n", 1, "upload_types");
	CHECK_ERR("upload_types = a/\n", 1, "upload_types");
}

static void test_bool(void)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	char text[100];
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof text, "allow_plaintext_auth = %s\n", yes[i]);
		CHECK_INT(load(text), 0);
		CHECK_INT(cfg.allow_plaintext_auth, 1);
		snprintf(text, sizeof text, "allow_plaintext_auth = %s\n", no[i]);
		CHECK_INT(load(text), 0);
		CHECK_INT(cfg.allow_plaintext_auth, 0);
		snprintf(text, sizeof text, "password_change_kicks = %s\n", yes[i]);
		CHECK_INT(load(text), 0);
		CHECK_INT(cfg.password_change_kicks, 1);
	}
	CHECK_ERR("password_change_kicks = maybe\n", 1, "password_change_kicks");
	CHECK_ERR("# c\nallow_plaintext_auth = maybe\n", 2, "allow_plaintext_auth");
	CHECK_ERR("allow_plaintext_auth =\n", 1, "allow_plaintext_auth");
	CHECK_ERR("allow_plaintext_auth = yes # comment\n", 1, "allow_plaintext_auth");
}

static void test_registration(void)
{
	CHECK_INT(load("registration = open\n"), 0);
	CHECK_INT(cfg.registration, CONFIG_REG_OPEN);
	CHECK_INT(load("registration = invite\n"), 0);
	CHECK_INT(cfg.registration, CONFIG_REG_INVITE);
	CHECK_INT(load("registration = closed\n"), 0);
	CHECK_INT(cfg.registration, CONFIG_REG_CLOSED);
	CHECK_ERR("registration = yes\n", 1, "registration");
	CHECK_ERR("\nregistration = Open\n", 2, "registration");
}

struct range {
	const char *key;
	long lo, hi;
};

static long get_num(const struct config *c, const char *key)
{
	if (!strcmp(key, "max_stanza_size")) return (long)c->max_stanza_size;
	if (!strcmp(key, "max_depth")) return c->max_depth;
	if (!strcmp(key, "max_attrs")) return c->max_attrs;
	if (!strcmp(key, "idle_timeout")) return c->idle_timeout;
	if (!strcmp(key, "auth_timeout")) return c->auth_timeout;
	if (!strcmp(key, "auth_fail_delay_ms")) return c->auth_fail_delay_ms;
	if (!strcmp(key, "offline_max")) return c->offline_max;
	if (!strcmp(key, "vcard_max_size")) return (long)c->vcard_max_size;
	if (!strcmp(key, "pep_max_item_size")) return (long)c->pep_max_item_size;
	if (!strcmp(key, "pep_max_items")) return c->pep_max_items;
	if (!strcmp(key, "pep_max_nodes")) return c->pep_max_nodes;
	if (!strcmp(key, "session_ttl")) return c->session_ttl;
	if (!strcmp(key, "bosh_inactivity")) return c->bosh_inactivity;
	if (!strcmp(key, "redis_timeout_ms")) return c->redis_timeout_ms;
	if (!strcmp(key, "auth_fail_window")) return c->auth_fail_window;
	if (!strcmp(key, "ack_timeout")) return c->ack_timeout;
	if (!strcmp(key, "ping_timeout")) return c->ping_timeout;
	if (!strcmp(key, "auth_block_after")) return c->auth_block_after;
	if (!strcmp(key, "max_read_rate")) return c->max_read_rate;
	if (!strcmp(key, "max_read_burst")) return c->max_read_burst;
	if (!strcmp(key, "registration_limit")) return c->registration_limit;
	if (!strcmp(key, "registration_window")) return c->registration_window;
	if (!strcmp(key, "s2s_timeout")) return c->s2s_timeout;
	if (!strcmp(key, "s2s_idle_timeout")) return c->s2s_idle_timeout;
	if (!strcmp(key, "s2s_queue_max")) return c->s2s_queue_max;
	if (!strcmp(key, "push_interval")) return c->push_interval;
	if (!strcmp(key, "s2s_max_read_rate")) return config_s2s_limits(c, NULL).read_rate;
	if (!strcmp(key, "s2s_max_read_burst")) return config_s2s_limits(c, NULL).read_burst;
	if (!strcmp(key, "s2s_max_stanza_size")) return (long)config_s2s_limits(c, NULL).max_stanza_size;
	return -12345;
}

static void test_numbers(void)
{
	/* The ranges xmpp.conf.example documents. */
	static const struct range r[] = {
		{ "max_stanza_size", 1024, 16777216 },
		{ "max_depth", 4, 1000 },
		{ "max_attrs", 4, 10000 },
		{ "idle_timeout", 1, 604800 },
		{ "auth_timeout", 1, 3600 },
		{ "auth_fail_delay_ms", 0, 60000 },
		{ "offline_max", 0, 1000000 },
		{ "vcard_max_size", 256, 16777216 },
		{ "pep_max_item_size", 256, 16777216 },
		{ "pep_max_items", 1, 100000 },
		{ "pep_max_nodes", 1, 100000 },
		{ "session_ttl", 5, 86400 },
		{ "bosh_inactivity", 1, 3600 },
		{ "redis_timeout_ms", 10, 600000 },
		{ "auth_fail_window", 1, 86400 },
		{ "ack_timeout", 1, 3600 },
		{ "ping_timeout", 1, 3600 },
		{ "auth_block_after", 1, 1000000 },
		{ "max_read_rate", 1024, 1073741824 },
		{ "max_read_burst", 4096, 1073741824 },
		{ "registration_limit", 1, 1000000 },
		{ "registration_window", 1, 2592000 },
		{ "s2s_timeout", 5, 86400 },
		{ "s2s_idle_timeout", 5, 86400 },
		{ "s2s_queue_max", 1, 10000000 },
		{ "s2s_max_read_rate", 1024, 1073741824 },
		{ "s2s_max_read_burst", 4096, 1073741824 },
		{ "s2s_max_stanza_size", 1024, 16777216 },
		{ "push_interval", 0, 86400 },
	};
	static const char *junk[] = { "", "abc", "10x", "1e3", "0x10", "1 0",
	    "99999999999999999999999" };
	char text[200];
	size_t i, k;

	for (i = 0; i < sizeof r / sizeof r[0]; i++) {
		snprintf(text, sizeof text, "%s = %ld\n", r[i].key, r[i].lo);
		if (CHECK_INT(load(text), 0))
			CHECK_INT(get_num(&cfg, r[i].key), r[i].lo);
		snprintf(text, sizeof text, "%s = %ld\n", r[i].key, r[i].hi);
		if (CHECK_INT(load(text), 0))
			CHECK_INT(get_num(&cfg, r[i].key), r[i].hi);
		snprintf(text, sizeof text, "%s = %ld\n", r[i].key, (r[i].lo + r[i].hi) / 2);
		if (CHECK_INT(load(text), 0))
			CHECK_INT(get_num(&cfg, r[i].key), (r[i].lo + r[i].hi) / 2);
		snprintf(text, sizeof text, "\n%s = %ld\n", r[i].key, r[i].lo - 1);
		CHECK_ERR(text, 2, r[i].key);
		snprintf(text, sizeof text, "\n\n%s = %ld\n", r[i].key, r[i].hi + 1);
		CHECK_ERR(text, 3, r[i].key);
		for (k = 0; k < sizeof junk / sizeof junk[0]; k++) {
			snprintf(text, sizeof text, "%s = %s\n", r[i].key, junk[k]);
			CHECK_ERR(text, 1, r[i].key);
		}
	}
	CHECK_ERR("auth_fail_delay_ms = -1\n", 1, "auth_fail_delay_ms");

	/* Layout: blanks around key and value, CRLF, no final newline. */
	CHECK_INT(load("  max_depth\t=\t10  \r\nmax_attrs=20\r\nidle_timeout = 30"), 0);
	CHECK_INT(cfg.max_depth, 10);
	CHECK_INT(cfg.max_attrs, 20);
	CHECK_INT(cfg.idle_timeout, 30);
}

static void test_all_keys(void)
{
	CHECK_INT(load(
	    "# every key\n"
	    "domain = A.example B.example\n"
	    "redis = redis://:pw@db.example:6380/2\n"
	    "key_prefix = x1:\n"
	    "allow_plaintext_auth = true\n"
	    "tls_cert = /c.pem\n"
	    "tls_key = /k.pem\n"
	    "hostname = h1\n"
	    "max_stanza_size = 65536\n"
	    "max_depth = 16\n"
	    "max_attrs = 32\n"
	    "idle_timeout = 300\n"
	    "auth_timeout = 30\n"
	    "auth_fail_delay_ms = 0\n"
	    "offline_max = 50\n"
	    "session_ttl = 60\n"
	    "redis_timeout_ms = 500\n"), 0);
	CHECK_INT(cfg.ndomains, 2);
	CHECK_STR(cfg.domains[0], "a.example");
	CHECK_STR(cfg.domains[1], "b.example");
	CHECK_STR(cfg.redis, "redis://:pw@db.example:6380/2");
	CHECK_STR(cfg.key_prefix, "x1:");
	CHECK_INT(cfg.allow_plaintext_auth, 1);
	CHECK_STR(cfg.tls_cert, "/c.pem");
	CHECK_STR(cfg.tls_key, "/k.pem");
	CHECK_STR(cfg.hostname, "h1");
	CHECK_INT(cfg.max_stanza_size, 65536);
	CHECK_INT(cfg.max_depth, 16);
	CHECK_INT(cfg.max_attrs, 32);
	CHECK_INT(cfg.idle_timeout, 300);
	CHECK_INT(cfg.auth_timeout, 30);
	CHECK_INT(cfg.auth_fail_delay_ms, 0);
	CHECK_INT(cfg.offline_max, 50);
	CHECK_INT(cfg.session_ttl, 60);
	CHECK_INT(cfg.redis_timeout_ms, 500);
}

static void test_errors(void)
{
	char path[64];

	CHECK_ERR("# c\n\nfrobnicate = 1\n", 3, "frobnicate");
	CHECK_ERR("max_depth = 10\njust some words\n", 2, "key = value");
	CHECK_ERR("= 5\n", 1, "unknown key");
	CHECK_ERR("Max_Depth = 10\n", 1, "Max_Depth");      /* keys are exact */
	CHECK_ERR("max_depth = 10\nmax_depth = 3\n", 2, "max_depth");
	/* A line that does not fit the 4096-byte line buffer. */
	{
		char *text = xmalloc(6000);
		memset(text, ' ', 5000);
		memcpy(text, "redis = ", 8);
		strcpy(text + 5000, "x\n");
		CHECK_ERR(text, 1, "too long");
		free(text);
	}

	/* A missing explicit file is an error naming it. */
	strcpy(path, conf(""));
	unlink(path);
	err[0] = '\0';
	CHECK_INT(config_load(&cfg, path, err, sizeof err), -1);
	if (!CHECK(strstr(err, path) != NULL))
		printf("  errbuf \"%s\" does not name %s\n", err, path);
	/* A directory cannot be read as a file. */
	err[0] = '\0';
	CHECK_INT(config_load(&cfg, "/tmp", err, sizeof err), -1);
	CHECK(err[0] != '\0');
	/* A tiny errbuf is still terminated. */
	{
		char tiny[8];
		memset(tiny, 'Z', sizeof tiny);
		CHECK_INT(config_load(&cfg, conf("bogus = 1\n"), tiny, sizeof tiny), -1);
		CHECK(memchr(tiny, '\0', sizeof tiny) != NULL);
	}
}

static void test_env(void)
{
	const char *p = conf("max_depth = 7\ndomain = env.example\n");
	char path[64];

	setenv("XMPP_CONFIG", p, 1);
	CHECK_INT(config_load(&cfg, NULL, err, sizeof err), 0);
	CHECK_INT(cfg.max_depth, 7);
	CHECK_STR(cfg.domains[0], "env.example");
	CHECK_INT(config_load(&cfg, "", err, sizeof err), 0);   /* "" is no path */
	CHECK_INT(cfg.max_depth, 7);
	/* An explicit path wins over the environment. */
	CHECK_INT(config_load(&cfg, conf("max_depth = 9\n"), err, sizeof err), 0);
	CHECK_INT(cfg.max_depth, 9);
	/* A file named by $XMPP_CONFIG must exist. */
	strcpy(path, conf(""));
	unlink(path);
	setenv("XMPP_CONFIG", path, 1);
	err[0] = '\0';
	CHECK_INT(config_load(&cfg, NULL, err, sizeof err), -1);
	CHECK(strstr(err, path) != NULL);
	/* Errors in it name it too. */
	setenv("XMPP_CONFIG", conf("\nnope\n"), 1);
	err[0] = '\0';
	CHECK_INT(config_load(&cfg, NULL, err, sizeof err), -1);
	CHECK(strstr(err, getenv("XMPP_CONFIG")) != NULL);
	CHECK(strstr(err, ":2:") != NULL);
	unsetenv("XMPP_CONFIG");
}

static void test_serves(void)
{
	struct jid j;

	CHECK_INT(load("domain = Example.COM chat.example.org.\n"), 0);
	CHECK_INT(config_serves(&cfg, "example.com"), 1);
	CHECK_INT(config_serves(&cfg, "chat.example.org"), 1);
	CHECK_INT(config_serves(&cfg, "example.org"), 0);
	CHECK_INT(config_serves(&cfg, "example.co"), 0);
	CHECK_INT(config_serves(&cfg, "example.com.evil"), 0);
	CHECK_INT(config_serves(&cfg, ""), 0);
	CHECK_INT(load("# defaults\n"), 0);
	CHECK_INT(config_serves(&cfg, "localhost"), 1);
	CHECK_INT(config_serves(&cfg, "example.com"), 0);

	/* A configured domain matches the prepped domain of a JID at it,
	 * however either is spelt. */
	CHECK_INT(load("domain = Example.COM.\n"), 0);
	if (CHECK_INT(jid_parse("u@EXAMPLE.com", &j), 0))
		CHECK_INT(config_serves(&cfg, j.domain), 1);
	CHECK_INT(load("domain = B\xC3\x9C" "CHER.example\n"), 0);
	if (CHECK_INT(jid_parse("u@B\xC3\x9C" "CHER.example", &j), 0))
		CHECK_INT(config_serves(&cfg, j.domain), 1);
}

static void test_exempt(void)
{
	char text[(CONFIG_MAX_EXEMPT + 1) * 40];   /* a line per range */
	int i, n;

	CHECK_INT(load("auth_exempt = 127.0.0.0/8 ::1/128 10.0.0.0/8\n"), 0);
	CHECK_INT(cfg.nauth_exempt, 3);
	CHECK_INT(config_auth_exempt(&cfg, "127.0.0.1"), 1);
	CHECK_INT(config_auth_exempt(&cfg, "::ffff:127.0.0.1"), 1);
	CHECK_INT(config_auth_exempt(&cfg, "::1"), 1);
	CHECK_INT(config_auth_exempt(&cfg, "10.200.0.1"), 1);
	CHECK_INT(config_auth_exempt(&cfg, "11.0.0.1"), 0);
	CHECK_INT(config_auth_exempt(&cfg, "::2"), 0);
	CHECK_INT(config_auth_exempt(&cfg, "local"), 0);

	/* commas, blanks, and repeated lines add up */
	CHECK_INT(load("auth_exempt = 192.0.2.0/24,198.51.100.7\n"
	    "auth_exempt =2001:db8::/32 ,\t 203.0.113.0/25\n"), 0);
	CHECK_INT(cfg.nauth_exempt, 4);
	CHECK_INT(config_auth_exempt(&cfg, "192.0.2.200"), 1);
	CHECK_INT(config_auth_exempt(&cfg, "198.51.100.7"), 1);
	CHECK_INT(config_auth_exempt(&cfg, "198.51.100.8"), 0);
	CHECK_INT(config_auth_exempt(&cfg, "2001:db8:1::5"), 1);
	CHECK_INT(config_auth_exempt(&cfg, "203.0.113.127"), 1);
	CHECK_INT(config_auth_exempt(&cfg, "203.0.113.128"), 0);
	CHECK_INT(config_auth_exempt(&cfg, "127.0.0.1"), 0);

	/* no range at all: nothing is exempt */
	CHECK_INT(load("# none\n"), 0);
	CHECK_INT(config_auth_exempt(&cfg, "127.0.0.1"), 0);

	/* as many ranges as fit, over several lines; one more is an error */
	text[0] = '\0';
	for (i = 0; i < CONFIG_MAX_EXEMPT; i++) {
		n = (int)strlen(text);
		snprintf(text + n, sizeof text - (size_t)n, "auth_exempt = 10.%d.0.0/16\n", i);
	}
	CHECK_INT(load(text), 0);
	CHECK_INT(cfg.nauth_exempt, CONFIG_MAX_EXEMPT);
	CHECK_INT(config_auth_exempt(&cfg, "10.63.1.1"), 1);
	n = (int)strlen(text);
	snprintf(text + n, sizeof text - (size_t)n, "auth_exempt = 10.250.0.0/16\n");
	CHECK_ERR(text, CONFIG_MAX_EXEMPT + 1, "auth_exempt");

	/* bad values name the file and the line */
	CHECK_ERR("auth_exempt = 127.0.0.0/8\nauth_exempt = 10.1.2.3/8\n", 2, "auth_exempt");
	CHECK_ERR("auth_exempt = 10.0.0.0/33\n", 1, "auth_exempt");
	CHECK_ERR("auth_exempt = ::/129\n", 1, "auth_exempt");
	CHECK_ERR("# x\nauth_exempt = localhost\n", 2, "auth_exempt");
	CHECK_ERR("auth_exempt = 10.0.0.0/8 nonsense\n", 1, "auth_exempt");
	CHECK_ERR("auth_exempt = 10.0.0.0/\n", 1, "auth_exempt");
	CHECK_ERR("auth_exempt =\n", 1, "auth_exempt");
	CHECK_ERR("auth_exempt = , ,\n", 1, "auth_exempt");
}

/* Federation: off by default; which remote domains; trust and DNS. */
static void test_s2s(void)
{
	CHECK_INT(load("domain = a.example\nmuc_domain = rooms.a.example\n"), 0);
	CHECK_INT(cfg.s2s, 0);
	CHECK_INT(cfg.s2s_secure, 1);
	CHECK_INT(cfg.s2s_timeout, 120);
	CHECK_INT(cfg.s2s_idle_timeout, 300);
	CHECK_INT(cfg.s2s_queue_max, 10000);
	CHECK_STR(cfg.s2s_ca_file, "");
	CHECK_STR(cfg.s2s_resolver, "");
	CHECK_INT(config_s2s_allowed(&cfg, "b.example"), 0);      /* off */
	CHECK_INT(load("domain = a.example\nmuc_domain = rooms.a.example\ns2s = yes\n"
	    "s2s_secure = no\ns2s_ca_file = /etc/ca.pem\ns2s_resolver = 127.0.0.1:5353\n"), 0);
	CHECK_INT(cfg.s2s_secure, 0);
	CHECK_STR(cfg.s2s_ca_file, "/etc/ca.pem");
	CHECK_STR(cfg.s2s_resolver, "127.0.0.1:5353");
	CHECK_INT(config_s2s_allowed(&cfg, "b.example"), 1);      /* any */
	CHECK_INT(config_s2s_allowed(&cfg, "a.example"), 0);      /* ours */
	CHECK_INT(config_s2s_allowed(&cfg, "rooms.a.example"), 0);
	CHECK_INT(config_s2s_allowed(&cfg, ""), 0);
	CHECK_INT(load("domain = a.example\ns2s = yes\ns2s_allow = B.example c.example\n"
	    "s2s_deny = c.example\n"), 0);
	CHECK_STR(cfg.s2s_allow, "b.example c.example");
	CHECK_INT(config_s2s_allowed(&cfg, "b.example"), 1);
	CHECK_INT(config_s2s_allowed(&cfg, "c.example"), 0);      /* denied wins */
	CHECK_INT(config_s2s_allowed(&cfg, "d.example"), 0);      /* not allowed */
	CHECK_INT(config_s2s_allowed(&cfg, "xb.example"), 0);
	CHECK_ERR("s2s_allow = a@b.example\n", 1, "s2s_allow");
	CHECK_ERR("s2s_resolver = 1.2.3.4 5.6.7.8\n", 1, "s2s_resolver");
	CHECK_ERR("s2s = maybe\n", 1, "s2s");
}

#define CHECK_LIMITS(l, rate, burst, stanza) do { \
	struct config_s2s_limits l_ = (l); \
	CHECK_INT(l_.read_rate, (rate)); \
	CHECK_INT(l_.read_burst, (burst)); \
	CHECK_INT(l_.max_stanza_size, (stanza)); \
} while (0)

/* What remote servers may send: s2s_max_* over the client's keys, and
 * s2s_limit lines over those. */
/* XEP-0157 contact addresses: URIs kept as written, one list per kind;
 * a word without a scheme, or a kind XEP-0157 does not name, refused. */
static void test_contacts(void)
{
	int i;

	/* push_body: the body stays home unless the operator says so. */
	CHECK_INT(load(""), 0);
	CHECK_INT(cfg.push_body, 0);
	CHECK_INT(cfg.push_interval, 30);
	CHECK_INT(load("push_body = yes\n"), 0);
	CHECK_INT(cfg.push_body, 1);

	CHECK_INT(load(""), 0);
	for (i = 0; i < CONFIG_CONTACT_KINDS; i++)
		CHECK_STR(cfg.contacts[i], "");
	CHECK_INT(load("contact_abuse = mailto:Abuse@example.org  xmpp:abuse@example.org\n"
	    "contact_support = https://example.org/Help\n"), 0);
	CHECK_STR(cfg.contacts[0], "mailto:Abuse@example.org xmpp:abuse@example.org");
	CHECK_STR(config_contact_kinds[0], "abuse");
	CHECK_STR(cfg.contacts[6], "https://example.org/Help");
	CHECK_STR(config_contact_kinds[6], "support");
	CHECK_STR(cfg.contacts[1], "");
	CHECK_INT(load("contact_admin = admin@example.org\n"), -1);      /* no scheme */
	CHECK_INT(load("contact_admin = :x\n"), -1);
	CHECK_INT(load("contact_admin = 1x:y\n"), -1);
	CHECK_INT(load("contact_admin = mailto:\n"), -1);
	CHECK_INT(load("contact_owner = mailto:o@example.org\n"), -1);   /* no such kind */
}

static void test_s2s_limits(void)
{
	char text[64 * (CONFIG_MAX_S2S_LIMITS + 2)];
	size_t n = 0, last = 0;
	int i;

	/* Unset: the client's limits, whatever order the lines come in. */
	CHECK_INT(load(""), 0);
	CHECK_INT(cfg.ns2s_limits, 0);
	CHECK_LIMITS(config_s2s_limits(&cfg, NULL), 131072, 1048576, 262144);
	CHECK_LIMITS(config_s2s_limits(&cfg, "b.example"), 131072, 1048576, 262144);
	CHECK_INT(load("s2s_limit = b.example - - -\nmax_read_rate = 2048\n"
	    "max_read_burst = 8192\nmax_stanza_size = 4096\n"), 0);
	CHECK_LIMITS(config_s2s_limits(&cfg, NULL), 2048, 8192, 4096);
	CHECK_LIMITS(config_s2s_limits(&cfg, "b.example"), 2048, 8192, 4096);

	/* s2s defaults of their own; per domain, "-" takes them. */
	CHECK_INT(load("s2s_limit = B.Example. 20000 100000 65536\n"
	    "s2s_limit = c.example - 5000 -\n"
	    "s2s_max_read_rate = 1000000\ns2s_max_read_burst = 4000000\n"
	    "s2s_max_stanza_size = 1048576\nmax_read_rate = 2048\n"), 0);
	CHECK_INT(cfg.ns2s_limits, 2);
	CHECK_STR(cfg.s2s_limits[0].domain, "b.example");
	CHECK_LIMITS(config_s2s_limits(&cfg, NULL), 1000000, 4000000, 1048576);
	CHECK_LIMITS(config_s2s_limits(&cfg, "b.example"), 20000, 100000, 65536);
	CHECK_LIMITS(config_s2s_limits(&cfg, "c.example"), 1000000, 5000, 1048576);
	CHECK_LIMITS(config_s2s_limits(&cfg, "d.example"), 1000000, 4000000, 1048576);
	CHECK_LIMITS(config_s2s_limits(&cfg, "xb.example"), 1000000, 4000000, 1048576);
	CHECK_INT(cfg.max_read_rate, 2048);            /* clients keep theirs */

	/* Each field in its key's range; four words; one line per domain. */
	CHECK_ERR("s2s_limit = b.example 1023 - -\n", 1, "s2s_limit");
	CHECK_ERR("s2s_limit = b.example - 4095 -\n", 1, "s2s_limit");
	CHECK_ERR("s2s_limit = b.example - - 16777217\n", 1, "s2s_limit");
	CHECK_ERR("s2s_limit = b.example 1e4 - -\n", 1, "s2s_limit");
	CHECK_ERR("s2s_limit = b.example - -\n", 1, "s2s_limit");
	CHECK_ERR("s2s_limit = b.example - - - -\n", 1, "s2s_limit");
	CHECK_ERR("s2s_limit =\n", 1, "s2s_limit");
	CHECK_ERR("s2s_limit = a@b.example - - -\n", 1, "s2s_limit");
	CHECK_ERR("s2s_limit = b.example/r - - -\n", 1, "s2s_limit");
	CHECK_ERR("s2s_limit = b.example - - -\ns2s_limit = B.example 2048 - -\n", 2,
	    "s2s_limit");
	CHECK_ERR("s2s_max_read_rate = 0\n", 1, "s2s_max_read_rate");

	/* At most CONFIG_MAX_S2S_LIMITS domains. */
	for (i = 0; i <= CONFIG_MAX_S2S_LIMITS; i++) {
		last = n;
		n += (size_t)snprintf(text + n, sizeof text - n, "s2s_limit = d%d.example - - 2048\n", i);
	}
	CHECK_ERR(text, CONFIG_MAX_S2S_LIMITS + 1, "s2s_limit");
	text[last] = '\0';                             /* without the last line */
	if (CHECK_INT(load(text), 0)) {
		CHECK_INT(cfg.ns2s_limits, CONFIG_MAX_S2S_LIMITS);
		CHECK_LIMITS(config_s2s_limits(&cfg, "d31.example"), 131072, 1048576, 2048);
	}
}

/* External components: a domain and its secret per line; theirs is no
 * remote domain, even with federation on. */
static void test_components(void)
{
	CHECK_INT(load(""), 0);
	CHECK_INT(cfg.ncomponents, 0);
	CHECK_INT(config_component(&cfg, "irc.example") == NULL, 1);
	CHECK_INT(load("domain = example.org\ns2s = yes\n"
	    "component = IRC.Example.ORG s3cret\ncomponent = gw.example.org\tx\n"), 0);
	CHECK_INT(cfg.ncomponents, 2);
	CHECK_STR(cfg.components[0].domain, "irc.example.org");
	if (CHECK_INT(config_component(&cfg, "irc.example.org") != NULL, 1))
		CHECK_STR(config_component(&cfg, "irc.example.org"), "s3cret");
	if (CHECK_INT(config_component(&cfg, "gw.example.org") != NULL, 1))
		CHECK_STR(config_component(&cfg, "gw.example.org"), "x");
	CHECK_INT(config_component(&cfg, "example.org") == NULL, 1);
	CHECK_INT(config_s2s_allowed(&cfg, "irc.example.org"), 0);
	CHECK_INT(config_s2s_allowed(&cfg, "other.example"), 1);

	/* Two words; a domain of its own, once. */
	CHECK_ERR("component = irc.example.org\n", 1, "component");
	CHECK_ERR("component = irc.example.org a b\n", 1, "component");
	CHECK_ERR("component = u@irc.example.org a\n", 1, "component");
	CHECK_ERR("component = irc.example.org/r a\n", 1, "component");
	CHECK_ERR("domain = example.org\ncomponent = example.org a\n", 2, "component");
	CHECK_ERR("muc_domain = muc.example.org\ncomponent = muc.example.org a\n", 2,
	    "component");
	CHECK_ERR("component = muc.example.org a\nmuc_domain = muc.example.org\n", 2,
	    "muc_domain");
	CHECK_ERR("component = a.example x\ncomponent = A.example y\n", 2, "component");
}

/* A secret file holding text loads, and config_turn_secret refuses it
 * with EINVAL. */
static void check_bad_secret_file(const char *text)
{
	char line[CONFIG_MAX_STR], got[CONFIG_MAX_TURN_SECRET];

	snprintf(line, sizeof line, "turn_secret_file = %s\n", conf(text));
	CHECK_INT(load(line), 0);
	CHECK_INT(config_turn_secret(&cfg, got, sizeof got), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_STR(got, "");
}

/* extdisco_service lines (XEP-0215), turn_secret, turn_secret_file and
 * turn_ttl. */
static void test_extdisco(void)
{
	char text[CONFIG_MAX_EXTDISCO * 64 + 64], line[CONFIG_MAX_STR + 64];
	char got[CONFIG_MAX_TURN_SECRET];
	char dir[] = "/tmp/xmppd-test-cred-XXXXXX", path[sizeof dir + 16];
	const char *secret;
	size_t n = 0, last = 0;
	FILE *f;
	int i;

	if (CHECK_INT(load("extdisco_service = stun stun.example 3478 udp\n"
	    "extdisco_service = turns 192.0.2.1\t5349 tcp\n"
	    "turn_secret = two words\n"
	    "turn_ttl = 600\n"), 0)) {
		CHECK_INT(cfg.nextdisco, 2);
		CHECK_STR(cfg.extdisco[0].type, "stun");
		CHECK_STR(cfg.extdisco[0].host, "stun.example");
		CHECK_INT(cfg.extdisco[0].port, 3478);
		CHECK_STR(cfg.extdisco[0].transport, "udp");
		CHECK_STR(cfg.extdisco[1].type, "turns");
		CHECK_STR(cfg.extdisco[1].host, "192.0.2.1");
		CHECK_INT(cfg.extdisco[1].port, 5349);
		CHECK_STR(cfg.extdisco[1].transport, "tcp");
		CHECK_STR(cfg.turn_secret, "two words");
		CHECK_INT(cfg.turn_ttl, 600);
	}
	CHECK_ERR("extdisco_service = turn t.example 3478\n", 1, "extdisco_service");
	CHECK_ERR("extdisco_service = turn t.example 3478 udp x\n", 1, "extdisco_service");
	CHECK_ERR("extdisco_service = relay t.example 3478 udp\n", 1, "extdisco_service");
	CHECK_ERR("extdisco_service = turn t.example 3478 sctp\n", 1, "extdisco_service");
	CHECK_ERR("extdisco_service = turn t.example 0 udp\n", 1, "extdisco_service");
	CHECK_ERR("extdisco_service = turn t.example 65536 udp\n", 1, "extdisco_service");
	CHECK_ERR("extdisco_service = turn t'x 3478 udp\n", 1, "extdisco_service");
	CHECK_ERR("turn_ttl = 59\n", 1, "turn_ttl");
	CHECK_ERR("turn_ttl = 2592001\n", 1, "turn_ttl");
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\0';
	memcpy(line, "turn_secret = ", 14);
	line[14 + CONFIG_MAX_TURN_SECRET] = '\n';     /* one byte too many */
	line[15 + CONFIG_MAX_TURN_SECRET] = '\0';
	CHECK_ERR(line, 1, "turn_secret");
	line[13 + CONFIG_MAX_TURN_SECRET] = '\n';     /* exactly what fits */
	line[14 + CONFIG_MAX_TURN_SECRET] = '\0';
	CHECK_INT(load(line), 0);
	CHECK_INT(strlen(cfg.turn_secret), CONFIG_MAX_TURN_SECRET - 1);

	/* At most CONFIG_MAX_EXTDISCO services. */
	for (i = 0; i <= CONFIG_MAX_EXTDISCO; i++) {
		last = n;
		n += (size_t)snprintf(text + n, sizeof text - n,
		    "extdisco_service = turn t%d.example 3478 udp\n", i);
	}
	CHECK_ERR(text, CONFIG_MAX_EXTDISCO + 1, "extdisco_service");
	text[last] = '\0';
	if (CHECK_INT(load(text), 0))
		CHECK_INT(cfg.nextdisco, CONFIG_MAX_EXTDISCO);

	/* turn_secret_file: absolute, or under $CREDENTIALS_DIRECTORY, read
	 * by config_turn_secret, not by config_load. */
	CHECK_INT(load("turn_secret = s\n"), 0);
	if (CHECK_INT(config_turn_secret(&cfg, got, sizeof got), 0))
		CHECK_STR(got, "s");
	CHECK_INT(config_has_turn_secret(&cfg), 1);
	CHECK_INT(load(""), 0);
	CHECK_INT(config_has_turn_secret(&cfg), 0);
	CHECK_INT(config_turn_secret(&cfg, got, sizeof got), -1);
	CHECK_INT(errno, ENOENT);
	secret = conf("s3cret\n");
	snprintf(line, sizeof line, "turn_secret = old\nturn_secret_file = %s\n", secret);
	if (CHECK_INT(load(line), 0)) {
		CHECK_STR(cfg.turn_secret, "");             /* the later key wins */
		CHECK_INT(config_has_turn_secret(&cfg), 1);
		CHECK_INT(config_turn_secret(&cfg, got, sizeof got), 0);
		CHECK_STR(got, "s3cret");
	}
	snprintf(line, sizeof line, "turn_secret_file = %s\nturn_secret = new\n", secret);
	if (CHECK_INT(load(line), 0)) {
		CHECK_STR(cfg.turn_secret_file, "");
		CHECK_INT(config_turn_secret(&cfg, got, sizeof got), 0);
		CHECK_STR(got, "new");
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, sizeof path, "%s/turn", dir);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs("from-credential\r\n", f);
	fclose(f);
	/* a credential that is not there yet still loads (xmppctl has none) */
	CHECK_INT(load("turn_secret_file = turn\n"), 0);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	if (CHECK_INT(config_turn_secret(&cfg, got, sizeof got), 0))
		CHECK_STR(got, "from-credential");
	CHECK_INT(load("turn_secret_file = missing\n"), 0);
	CHECK_INT(config_turn_secret(&cfg, got, sizeof got), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_STR(got, "");
	unsetenv("CREDENTIALS_DIRECTORY");
	unlink(path);
	rmdir(dir);
	CHECK_ERR("turn_secret_file =\n", 1, "turn_secret_file");
	check_bad_secret_file("\n");                        /* empty */
	check_bad_secret_file("a\nb\n");                    /* two lines */
	memset(line, 'x', CONFIG_MAX_TURN_SECRET);         /* one byte too many */
	line[CONFIG_MAX_TURN_SECRET] = '\0';
	check_bad_secret_file(line);
	/* what fits, a CRLF, and a second line past what is read at once */
	memcpy(line + CONFIG_MAX_TURN_SECRET - 1, "\r\nx\n", 5);
	check_bad_secret_file(line);
	line[CONFIG_MAX_TURN_SECRET - 1] = '\0';           /* exactly what fits */
	snprintf(line + CONFIG_MAX_TURN_SECRET, sizeof line - CONFIG_MAX_TURN_SECRET,
	    "turn_secret_file = %s\n", conf(line));
	if (CHECK_INT(load(line + CONFIG_MAX_TURN_SECRET), 0) &&
	    CHECK_INT(config_turn_secret(&cfg, got, sizeof got), 0))
		CHECK_INT(strlen(got), CONFIG_MAX_TURN_SECRET - 1);
}

int main(void)
{
	unsetenv("XMPP_CONFIG");
	test_defaults();
	test_domains();
	test_strings();
	test_upload();
	test_bool();
	test_registration();
	test_numbers();
	test_all_keys();
	test_errors();
	test_env();
	test_serves();
	test_exempt();
	test_s2s();
	test_s2s_limits();
	test_contacts();
	test_components();
	test_extdisco();
	cleanup();
	return CHECK_DONE();
}
