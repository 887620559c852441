/*
 * xmppctl - the operator's tool for xmppd.
 *
 * It reads the same xmpp.conf(5) as the handlers (Redis URL, key prefix,
 * served domains) and works directly on the Redis they share: accounts
 * (adduser, passwd, deluser, users), a view of bound sessions
 * (sessions), the failed-login counters (blocks, unblock),
 * invitations to register in-band (invite, invites, uninvite),
 * group chat rooms (rooms, room, room-destroy), and the files of the
 * upload service (uploads, upload-remove, upload-expire: on upload_dir
 * too). It never sees a client connection.
 *
 * Passwords never reach Redis: only SCRAM-SHA-1 and SCRAM-SHA-256 data
 * (salt, iterations, StoredKey, ServerKey) is stored, unless the operator
 * asks for legacy XEP-0078 digest login, which needs the plaintext.
 *
 * Exit codes (s6 style):
 *   0   ok
 *   1   what was asked for failed: no such user, user exists, no
 *       failures counted for an address to unblock, no such invitation,
 *       one for that user exists, no such room
 *   100 usage error or bad input: unknown command, bad JID, domain not
 *       served (or not the conference domain, for a room), empty /
 *       mismatched / unacceptable password
 *   111 system failure: bad configuration, Redis unreachable or failing,
 *       no terminal, out of memory
 */
#define PROG "xmppctl"
#define USAGE PROG " [-c FILE] adduser|passwd [--legacy-digest] JID | deluser JID" \
" | users | sessions [JID] | roster JID [add|remove CONTACT ...] | kick JID[/RESOURCE]" \
" | blocks | unblock ADDRESS|--all | archive [--delete] JID" \
" | clients JID | fast-revoke JID [CLIENT-ID]" \
" | invite [--expires SECONDS] [--user NODE|JID] [--domain DOMAIN] | invites | uninvite TOKEN" \
" | rooms | room ROOM | room-destroy ROOM [REASON]" \
" | uploads [JID] | upload-remove JID | upload-expire | s2s [close ROUTE]   (-h for help)"
#define HELP \
"usage: " PROG " [-c FILE] COMMAND [ARGS]\n" \
"\n" \
"commands:\n" \
"  adduser [--legacy-digest] JID   create the account JID (user@domain)\n" \
"  passwd [--legacy-digest] JID    set a new password for JID\n" \
"  deluser JID                     remove JID and everything it owns\n" \
"  users                           list accounts, one bare JID per line\n" \
"  sessions [JID]                  list bound sessions (of all online users or of JID)\n" \
"  roster JID                      show JID's roster, one contact per line\n" \
"  roster JID add CONTACT [-s SUB] [-n NAME] [-g GROUP]...\n" \
"                                  add or replace CONTACT in JID's roster with\n" \
"                                  subscription SUB (none|to|from|both, default\n" \
"                                  both); online sessions get a roster push\n" \
"  roster JID remove CONTACT       remove CONTACT from JID's roster\n" \
"  kick JID[/RESOURCE]             end the user's sessions (or one) with a\n" \
"                                  <policy-violation/> stream error\n" \
"  blocks                          list the failed-login counters: addresses\n" \
"                                  (blocked at auth_block_after) and accounts,\n" \
"                                  with failures and seconds left in the window\n" \
"  unblock ADDRESS | --all         forget the failures from ADDRESS (or from\n" \
"                                  every address): it may log in again at once\n" \
"  archive JID                     export JID's message archive (XEP-0313) as\n" \
"                                  XML on standard output, oldest first\n" \
"  archive --delete JID            delete JID's message archive\n" \
"  clients JID                     list JID's clients (SASL2 user agents) with\n" \
"                                  their last login and FAST token's expiry\n" \
"  fast-revoke JID [CLIENT-ID]     end the FAST tokens of one client of JID\n" \
"                                  (or of all): they log in with a password next\n" \
"  invite [--expires SECONDS] [--user NODE|JID] [--domain DOMAIN]\n" \
"                                  make a single-use invitation to register an\n" \
"                                  account in-band (registration = invite), valid\n" \
"                                  SECONDS (default 604800, a week), for that user\n" \
"                                  only or any name; prints the token and its\n" \
"                                  xmpp: URI (XEP-0401)\n" \
"  invites                         list the invitations not yet used\n" \
"  uninvite TOKEN                  revoke an invitation\n" \
"  rooms                           list the group chat rooms (XEP-0045), one per\n" \
"                                  line: occupants and flags\n" \
"  room ROOM                       show a room: configuration, affiliations,\n" \
"                                  occupants and their sessions\n" \
"  room-destroy ROOM [REASON]      destroy a room; its occupants are told, with\n" \
"                                  REASON\n" \
"  uploads [JID]                   show the upload service's usage (XEP-0363) of\n" \
"                                  JID or of every user with files: files (and\n" \
"                                  slots not yet used) and bytes\n" \
"  upload-remove JID               remove JID's uploaded files\n" \
"  upload-expire                   remove the files of upload_dir past their\n" \
"                                  time, those of removed accounts, and uploads\n" \
"                                  that never finished; prints how many\n" \
"  s2s                             list federation's outbound routes (REMOTE/LOCAL):\n" \
"                                  stanzas queued, the oldest's age, verifications\n" \
"                                  waiting, the host and process connected; then\n" \
"                                  the inbound streams and what they authenticated;\n" \
"                                  then the rooms with occupants of other domains\n" \
"                                  and the process relaying each\n" \
"  s2s close REMOTE/LOCAL          ask the process connected out on that route to\n" \
"                                  close its stream (what is queued stays)\n" \
"\n" \
"options:\n" \
"  -c FILE          configuration file (default: $XMPP_CONFIG, then\n" \
"                   /etc/xmpp/xmpp.conf)\n" \
"  --legacy-digest  also store the password itself in Redis, which legacy\n" \
"                   XEP-0078 <digest/> login (old clients such as Pandion)\n" \
"                   needs; without it only SCRAM data is stored and digest\n" \
"                   login fails for the account. passwd without it removes\n" \
"                   a stored plaintext.\n" \
"\n" \
"The password is the first line of standard input when that is not a\n" \
"terminal; otherwise it is asked twice on the terminal, without echo.\n" \
"\n" \
"exit codes: 0 ok, 1 failed (no such user, user exists, nothing to unblock,\n" \
"no such invitation, no such room),\n" \
"100 usage error, " \
"111 system failure (configuration, Redis).\n"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "datetime.h"
#include "jid.h"
#include "scram.h"
#include "store.h"
#include "account.h"
#include "session.h"
#include "roster.h"
#include "route.h"
#include "authfail.h"
#include "mam.h"
#include "fast.h"
#include "invite.h"
#include "muc.h"
#include "uploads.h"
#include "uploadstore.h"
#include "mucremote.h"
#include "s2s.h"
#include "netaddr.h"
#include "xml.h"
#include "strvec.h"
#include "xmalloc.h"

enum {
	XC_OK = 0,
	XC_FAIL = 1,
	XC_USAGE = 100,
	XC_SYS = 111
};

/* A stored digest secret must fit an account field, so that bounds every
 * password (SCRAM itself has no such limit, but one limit is simpler). */
#define PASSWORD_MAX      ACCOUNT_PASSWORD_MAX
#define TTY_PATH          "/dev/tty"
#define SESSION_LINE_MAX  (JID_MAX + 1024 + 512)
#define ISO8601_MAX       32
#define URL_SHOWN_MAX     1024
#define BLOCK_LINE_MAX    (JID_MAX + 128)
#define INVITE_TTL_DEFAULT (7 * 86400)   /* a week */
#define INVITE_TTL_MAX    (366 * 86400)
#define INVITE_LINE_MAX   (3 * JID_MAX + 128)
/* upload-expire: a slot folder without a complete file is a PUT that
 * died once it is this much older than a PUT URL may be. */
#define UPLOAD_STALE_EXTRA 86400

/* What one run needs: the configuration, the Redis connection, and where
 * the configuration came from (-c, or NULL for the default search). */
struct ctl {
	const char *conf_path;
	struct config cfg;
	struct store st;
	int connected;
};

static void ctl_verr(const char *fmt, va_list ap)
{
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void ctl_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctl_verr(fmt, ap);
	va_end(ap);
}

/* Print the reason and the usage text; the exit code of a usage error. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctl_verr(fmt, ap);
	va_end(ap);
	fputs(PROG ": usage: " USAGE "\n", stderr);
	return XC_USAGE;
}

/* ---- configuration, Redis, JIDs ---- */

static int ctl_load_config(struct ctl *c)
{
	char err[CONFIG_MAX_STR + 256];
	if (config_load(&c->cfg, c->conf_path, err, sizeof err) == -1) {
		ctl_err("config: %s", err);
		return XC_SYS;
	}
	return XC_OK;
}

/* The URL as shown in messages: passwords in it are masked (before the
 * '@', and a sentinel:// URL's password= for the servers). */
static void url_shown(const char *url, char *out, size_t outsz)
{
	const char *at = strchr(url, '@'), *colon, *pw = strstr(url, "password=");
	size_t scheme = !strncmp(url, "redis://", 8) ? 8 : !strncmp(url, "sentinel://", 11) ? 11 : 0;
	char head[CONFIG_MAX_STR];

	snprintf(head, sizeof head, "%s", url);
	if (scheme && at && (colon = memchr(url + scheme, ':', (size_t)(at - url - scheme))))
		snprintf(head, sizeof head, "%.*s:***%s", (int)(colon - url), url, at);
	if (scheme == 11 && pw && (pw = strstr(head, "password="))) {
		const char *amp = strchr(pw, '&');
		snprintf(out, outsz, "%.*spassword=***%s", (int)(pw - head), head, amp ? amp : "");
		return;
	}
	snprintf(out, outsz, "%s", head);
}

/* store_open()'s reason may start with "connect <url>: ", which would
 * repeat the URL (and show its password): keep only what follows. */
static const char *connect_reason(const struct store *st, const char *url)
{
	size_t n = strlen(url);
	const char *e = st->err;
	if (!strncmp(e, "connect ", 8) && !strncmp(e + 8, url, n) && !strncmp(e + 8 + n, ": ", 2))
		return e + 8 + n + 2;
	return e;
}

static int ctl_connect(struct ctl *c)
{
	char shown[URL_SHOWN_MAX];
	if (store_open(&c->st, c->cfg.redis, c->cfg.key_prefix,
	    c->cfg.redis_timeout_ms) == -1) {
		url_shown(c->cfg.redis, shown, sizeof shown);
		ctl_err("redis %s: %s", shown, connect_reason(&c->st, c->cfg.redis));
		store_close(&c->st);
		return XC_SYS;
	}
	/* store_open() leaves this 0 (no staleness check); session_each()
	 * must hide the records of handlers that died, as the handlers do. */
	store_policy(&c->st, &c->cfg);
	c->connected = 1;
	return XC_OK;
}

static int redis_failed(struct ctl *c)
{
	ctl_err("redis: %s", c->st.err[0] ? c->st.err : "unknown error");
	return XC_SYS;
}

/* Parse arg as an account JID: a bare "user@domain" whose domain is served.
 * On success the normalised bare JID is in bare. */
static int ctl_account_jid(const struct ctl *c, const char *arg, char *bare,
    size_t baresz)
{
	struct jid j;
	if (jid_parse(arg, &j) == -1) {
		ctl_err("bad JID '%s': not a valid address (RFC 7622)", arg);
		return XC_USAGE;
	}
	if (!j.node[0]) {
		ctl_err("bad JID '%s': a user part is required (user@domain)", arg);
		return XC_USAGE;
	}
	if (j.resource[0]) {
		ctl_err("bad JID '%s': an account is a bare JID, without /resource", arg);
		return XC_USAGE;
	}
	if (!config_serves(&c->cfg, j.domain)) {
		ctl_err("bad JID '%s': domain '%s' is not served (see 'domain' in the configuration)",
		    arg, j.domain);
		return XC_USAGE;
	}
	jid_bare(&j, bare, baresz);
	return XC_OK;
}

/* Load the configuration, check the JID and connect, in the order that
 * reports a usage error before a system failure where it can. */
static int ctl_open_for(struct ctl *c, const char *arg, char *bare, size_t baresz)
{
	int rc;
	if ((rc = ctl_load_config(c)) != XC_OK)
		return rc;
	if (arg && (rc = ctl_account_jid(c, arg, bare, baresz)) != XC_OK)
		return rc;
	return ctl_connect(c);
}

/* ---- passwords ---- */

enum { PW_ERR_IO = -1, PW_ERR_LONG = -2, PW_ERR_NUL = -3 };

/* The terminal whose echo is off, so a signal can turn it back on. */
static int tty_fd = -1;
static struct termios tty_saved;
static volatile sig_atomic_t tty_echo_off;

static void tty_restore(void)
{
	if (tty_echo_off) {
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
		tty_echo_off = 0;
	}
}

/* Restore the terminal, then die of the signal as if we had no handler. */
static void tty_on_signal(int sig)
{
	struct sigaction sa;
	tty_restore();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	raise(sig);
}

static void tty_catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;
	size_t i;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tty_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Read one line from fd a byte at a time (so nothing after it is consumed),
 * without its "\n" or "\r\n". Returns the length, or PW_ERR_*. */
static int pw_read_line(int fd, char *buf, size_t bufsz)
{
	size_t n = 0;
	char ch;
	for (;;) {
		ssize_t r = read(fd, &ch, 1);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return PW_ERR_IO;
		}
		if (r == 0 || ch == '\n')
			break;
		if (ch == '\0')
			return PW_ERR_NUL;
		if (n + 1 >= bufsz)
			return PW_ERR_LONG;
		buf[n++] = ch;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (int)n;
}

static int pw_read_error(int r, const char *from)
{
	switch (r) {
	case PW_ERR_LONG:
		ctl_err("password longer than %d bytes", PASSWORD_MAX);
		return XC_USAGE;
	case PW_ERR_NUL:
		ctl_err("password contains a NUL byte");
		return XC_USAGE;
	default:
		ctl_err("reading password from %s: %s", from, strerror(errno));
		return XC_SYS;
	}
}

/* Ask for the password twice on the terminal, echo off (newline echoed). */
static int pw_from_tty(const char *bare, char *pw, size_t pwsz)
{
	char again[PASSWORD_MAX + 1];
	struct termios t;
	int r1, r2, rc = XC_OK;

	tty_fd = open(TTY_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty_fd == -1) {
		ctl_err("%s: %s", TTY_PATH, strerror(errno));
		return XC_SYS;
	}
	if (tcgetattr(tty_fd, &tty_saved) == -1) {
		ctl_err("%s: %s", TTY_PATH, strerror(errno));
		close(tty_fd);
		return XC_SYS;
	}
	tty_catch_signals();
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	tty_echo_off = 1;
	if (tcsetattr(tty_fd, TCSAFLUSH, &t) == -1) {
		tty_echo_off = 0;
		ctl_err("%s: %s", TTY_PATH, strerror(errno));
		close(tty_fd);
		return XC_SYS;
	}
	dprintf(tty_fd, "Password for %s: ", bare);
	r1 = pw_read_line(tty_fd, pw, pwsz);
	r2 = PW_ERR_IO;
	if (r1 >= 0) {
		dprintf(tty_fd, "Retype password: ");
		r2 = pw_read_line(tty_fd, again, sizeof again);
	}
	tty_restore();
	close(tty_fd);
	tty_fd = -1;
	if (r1 < 0)
		rc = pw_read_error(r1, TTY_PATH);
	else if (r2 < 0)
		rc = pw_read_error(r2, TTY_PATH);
	else if (strcmp(pw, again)) {
		ctl_err("passwords do not match");
		rc = XC_USAGE;
	}
	explicit_bzero(again, sizeof again);
	return rc;
}

/* The new password: first line of stdin, or asked on the terminal. Refuses
 * an empty password and one SASLprep (RFC 4013) prohibits. */
static int pw_get(const char *bare, char *pw, size_t pwsz)
{
	int rc = XC_OK, r;

	if (isatty(STDIN_FILENO)) {
		if ((rc = pw_from_tty(bare, pw, pwsz)) != XC_OK)
			return rc;
	} else if ((r = pw_read_line(STDIN_FILENO, pw, pwsz)) < 0) {
		return pw_read_error(r, "standard input");
	}
	if (!pw[0]) {
		ctl_err("empty password refused");
		return XC_USAGE;
	}
	if (scram_password_acceptable(pw, PASSWORD_MAX) == -1) {
		ctl_err("password refused: SASLprep (RFC 4013) prohibits it");
		rc = XC_USAGE;
	}
	return rc;
}

/* Fresh SCRAM-SHA-1 and SCRAM-SHA-256 credentials as storage lines. */
static int creds_make(const char *pw, char *sha1, char *sha256, size_t linesz)
{
	if (scram_cred_lines(pw, sha1, sha256, linesz) == -1) {
		ctl_err("cannot compute SCRAM credentials");
		return XC_SYS;
	}
	return XC_OK;
}

/* ---- commands ---- */

/* adduser / passwd: [--legacy-digest] JID. create says which. */
static int cmd_setpw(struct ctl *c, int argc, char **argv, int create)
{
	char bare[JID_MAX], pw[PASSWORD_MAX + 1];
	char sha1[ACCOUNT_MAX_FIELD], sha256[ACCOUNT_MAX_FIELD];
	const char *jid = NULL;
	struct account acct;
	int legacy = 0, i, rc, r;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--legacy-digest"))
			legacy = 1;
		else if (argv[i][0] == '-')
			return usage_error("unknown option '%s'", argv[i]);
		else if (jid)
			return usage_error("one JID expected");
		else
			jid = argv[i];
	}
	if (!jid)
		return usage_error("%s: JID expected", create ? "adduser" : "passwd");
	if ((rc = ctl_open_for(c, jid, bare, sizeof bare)) != XC_OK)
		return rc;

	/* Check first so nobody types a password for nothing;
	 * account_create still settles a race. */
	r = account_get(&c->st, bare, &acct);
	explicit_bzero(&acct, sizeof acct);
	if (r < 0)
		return redis_failed(c);
	if (create && r == ACCOUNT_FOUND) {
		ctl_err("user %s exists", bare);
		return XC_FAIL;
	}
	if (!create && r == ACCOUNT_NONE) {
		ctl_err("no such user %s", bare);
		return XC_FAIL;
	}

	if ((rc = pw_get(bare, pw, sizeof pw)) != XC_OK) {
		/* nothing to store */
	} else if (create) {
		/* What in-band registration does too (account_create). */
		r = account_create(&c->st, bare, pw, legacy, NULL);
		if (r == XE_ENTROPY) {
			ctl_err("cannot compute SCRAM credentials");
			rc = XC_SYS;
		} else if (r < 0)
			rc = redis_failed(c);
		else if (r == ACCOUNT_EXISTS) {
			ctl_err("user %s exists", bare);
			rc = XC_FAIL;
		}
	} else if ((rc = creds_make(pw, sha1, sha256, sizeof sha1)) == XC_OK) {
		r = account_put(&c->st, bare, sha1, sha256, legacy ? pw : NULL, 0);
		if (r < 0)
			rc = redis_failed(c);
	}
	explicit_bzero(pw, sizeof pw);
	return rc;
}

static int cmd_adduser(struct ctl *c, int argc, char **argv)
{
	return cmd_setpw(c, argc, argv, 1);
}

static int cmd_passwd(struct ctl *c, int argc, char **argv)
{
	return cmd_setpw(c, argc, argv, 0);
}

static int stdout_flush(void);

/* ---- kick ---- */

struct kick {
	struct ctl *c;
	const char *bare;
	const char *resource;     /* NULL: every session */
	const char *cond;         /* the stream error the session ends with */
	int quiet;
	int n;
};

static int kick_one(const struct session_info *si, void *arg)
{
	struct kick *k = arg;
	long got;
	if (k->resource && strcmp(k->resource, si->resource))
		return 0;
	got = route_kick(&k->c->st, k->bare, si->resource, si->id, k->cond);
	if (got == -1)
		return -1;
	/* Nobody listening (its handler is gone, or it is detached): the
	 * next reaper ends it, its messages routed again. A user being
	 * deleted loses it with its other keys (account_delete). */
	if (got == 0 && !k->quiet && session_expire(&k->c->st, k->bare, si->resource, si->id) < 0)
		return -1;
	if (!k->quiet)
		printf("%s/%s %s\n", k->bare, si->resource, got ? "kicked" : "expired (no handler)");
	k->n++;
	return 0;
}

/* End every session of a user who is being deleted. */
static int deluser_kick(struct ctl *c, const char *bare)
{
	struct kick k = { c, bare, NULL, "not-authorized", 1, 0 };
	return session_each(&c->st, bare, kick_one, &k);
}

static int cmd_kick(struct ctl *c, int argc, char **argv)
{
	struct kick k;
	struct jid j;
	char bare[JID_MAX];
	int rc;

	if (argc != 1 || argv[0][0] == '-')
		return usage_error("kick: one JID[/RESOURCE] expected");
	if (jid_parse(argv[0], &j) == -1 || !j.node[0]) {
		ctl_err("bad JID '%s'", argv[0]);
		return XC_USAGE;
	}
	jid_bare(&j, bare, sizeof bare);
	if ((rc = ctl_open_for(c, bare, bare, sizeof bare)) != XC_OK)
		return rc;
	k.c = c;
	k.bare = bare;
	k.resource = j.resource[0] ? j.resource : NULL;
	k.cond = "policy-violation";
	k.quiet = 0;
	k.n = 0;
	if (session_each(&c->st, bare, kick_one, &k) == -1)
		return redis_failed(c);
	if (k.n == 0) {
		ctl_err("no session of %s", argv[0]);
		return XC_FAIL;
	}
	return stdout_flush();
}

/* ---- the upload service's files (XEP-0363) ---- */

struct upload_walk {
	struct ctl *c;
	int failed;
	long removed;
};

static int upload_remove_one(const char *id, long size, long until, void *arg)
{
	struct upload_walk *w = arg;

	(void)size; (void)until;
	if (!uploadsig_id_ok(id))
		return 0;               /* not one of ours: never a path */
	if (uploadstore_remove(w->c->cfg.upload_dir, id) < 0) {
		ctl_err("%s/%s: %s", w->c->cfg.upload_dir, id, strerror(errno));
		w->failed = 1;
	} else {
		w->removed++;
	}
	return 0;
}

/* Remove bare's files from upload_dir, then its uploads from Redis (kept
 * when a file could not be removed, so that a second run finds it). */
static int uploads_remove(struct ctl *c, const char *bare)
{
	struct upload_walk w = { c, 0, 0 };

	if (upload_each(&c->st, bare, upload_remove_one, &w) < 0)
		return redis_failed(c);
	if (w.failed)
		return XC_SYS;
	return upload_forget(&c->st, bare, NULL) < 0 ? redis_failed(c) : XC_OK;
}

static int cmd_upload_remove(struct ctl *c, int argc, char **argv)
{
	char bare[JID_MAX];
	int rc;

	if (argc != 1 || argv[0][0] == '-')
		return usage_error("upload-remove: one JID expected");
	if ((rc = ctl_open_for(c, argv[0], bare, sizeof bare)) != XC_OK)
		return rc;
	return uploads_remove(c, bare);
}

static int cmd_deluser(struct ctl *c, int argc, char **argv)
{
	char bare[JID_MAX];
	int rc, r;

	if (argc != 1 || argv[0][0] == '-')
		return usage_error("deluser: one JID expected");
	if ((rc = ctl_open_for(c, argv[0], bare, sizeof bare)) != XC_OK)
		return rc;
	r = deluser_kick(c, bare);
	if (r == -1)
		return redis_failed(c);
	if ((rc = uploads_remove(c, bare)) != XC_OK)
		return rc;
	r = account_delete(&c->st, bare);
	if (r < 0)
		return redis_failed(c);
	if (r == ACCOUNT_NONE) {
		ctl_err("no such user %s", bare);
		return XC_FAIL;
	}
	return XC_OK;
}

static int users_collect(const char *bare, void *arg)
{
	strvec_add(arg, bare);
	return 0;
}

static void print_lines(const struct strvec *sv)
{
	size_t i;
	for (i = 0; i < sv->n; i++)
		puts(sv->v[i]);
}

/* A listing that did not reach its reader (full disk, closed pipe) is a
 * failure, not a success. */
static int stdout_flush(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_err("standard output: %s", strerror(errno));
		return XC_SYS;
	}
	return XC_OK;
}

static int cmd_users(struct ctl *c, int argc, char **argv)
{
	struct strvec users = { 0 };
	int rc;

	(void)argv;
	if (argc != 0)
		return usage_error("users: no arguments expected");
	if ((rc = ctl_open_for(c, NULL, NULL, 0)) != XC_OK)
		return rc;
	if (account_each(&c->st, users_collect, &users) < 0)
		rc = redis_failed(c);
	else {
		strvec_sort_uniq(&users);
		print_lines(&users);
		rc = stdout_flush();
	}
	strvec_free(&users);
	return rc;
}

/* ---- the upload service's usage and its sweep ---- */

/* "JID files bytes" of one user, if it has any; -1 when Redis failed. */
static int usage_line(struct ctl *c, const char *bare)
{
	long n, bytes;

	if (upload_usage(&c->st, bare, time(NULL), &n, &bytes) < 0)
		return -1;
	if (n)
		printf("%s %ld %ld\n", bare, n, bytes);
	return 0;
}

static int cmd_uploads(struct ctl *c, int argc, char **argv)
{
	struct strvec users = { 0 };
	char bare[JID_MAX];
	size_t i;
	int rc;

	if (argc > 1 || (argc == 1 && argv[0][0] == '-'))
		return usage_error("uploads [JID]");
	if ((rc = ctl_open_for(c, argc ? argv[0] : NULL, bare, sizeof bare)) != XC_OK)
		return rc;
	puts("# JID files bytes");
	if (argc)
		return usage_line(c, bare) < 0 ? redis_failed(c) : stdout_flush();
	if (account_each(&c->st, users_collect, &users) < 0) {
		strvec_free(&users);
		return redis_failed(c);
	}
	strvec_sort_uniq(&users);
	for (i = 0; i < users.n && rc == XC_OK; i++)
		if (usage_line(c, users.v[i]) < 0)
			rc = redis_failed(c);
	strvec_free(&users);
	return rc == XC_OK ? stdout_flush() : rc;
}

/* One slot folder of upload_dir: removed when its file expired, its
 * owner's account is gone, or it never got a whole file in time. */
static int expire_one(const char *id, void *arg)
{
	struct upload_walk *w = arg;
	const struct config *cfg = &w->c->cfg;
	struct uploadstore_meta m;
	struct account a;
	time_t now = time(NULL);
	int gone, rc;

	if (uploadstore_open(cfg->upload_dir, id, &m, NULL) == UPLOADSTORE_OK) {
		gone = m.expires <= (long)now;
		if (!gone) {
			rc = account_get(&w->c->st, m.owner, &a);
			if (rc < 0)
				return -1;
			gone = rc != ACCOUNT_FOUND;
		}
	} else {
		rc = uploadstore_stale(cfg->upload_dir, id, now,
		    cfg->upload_slot_ttl + UPLOAD_STALE_EXTRA);
		gone = rc == UPLOADSTORE_STALE;
	}
	if (gone && uploadstore_remove(cfg->upload_dir, id) < 0) {
		ctl_err("%s/%s: %s", cfg->upload_dir, id, strerror(errno));
		w->failed = 1;
	} else if (gone) {
		w->removed++;
	}
	return 0;
}

static int cmd_upload_expire(struct ctl *c, int argc, char **argv)
{
	struct upload_walk w = { c, 0, 0 };
	int rc;

	(void)argv;
	if (argc != 0)
		return usage_error("upload-expire: no arguments expected");
	if ((rc = ctl_open_for(c, NULL, NULL, 0)) != XC_OK)
		return rc;
	rc = uploadstore_each(c->cfg.upload_dir, expire_one, &w);
	if (rc == XE_SYS) {
		ctl_err("%s: %s", c->cfg.upload_dir, strerror(errno));
		return XC_SYS;
	}
	if (rc < 0)
		return redis_failed(c);
	printf("%ld removed\n", w.removed);
	return w.failed ? XC_SYS : stdout_flush();
}

static int online_one(const char *bare, void *arg)
{
	strvec_add(arg, bare);
	return 0;
}

/* Every member of the online index: on one Redis by SSCAN (never
 * SMEMBERS on a big set); on a cluster SMEMBERS of each of its shards
 * (a slot's users each, a few), pipelined: 16384 SSCAN walks would be
 * as many round trips. */
static int online_collect(struct ctl *c, struct strvec *out)
{
	char key[STORE_MAX_GLOBAL_KEY];
	if (c->st.cluster)
		return store_shard_members(&c->st, "online", out);
	store_shard_key_at(&c->st, "online", 0, key, sizeof key);
	return store_scan(&c->st, key, NULL, online_one, out);
}

struct session_lines {
	const char *bare;
	struct strvec lines;
};

static void iso8601_utc(long t, char *out, size_t outsz)
{
	datetime_format((long long)t * 1000, 0, out, outsz);
}

static int session_line(const struct session_info *si, void *arg)
{
	struct session_lines *sl = arg;
	char line[SESSION_LINE_MAX], since[ISO8601_MAX], det[ISO8601_MAX];
	int n;
	iso8601_utc(si->since, since, sizeof since);
	n = snprintf(line, sizeof line, "%s/%s  host=%s pid=%ld prio=%d avail=%d since=%s",
	    sl->bare, si->resource, si->host, si->pid, si->prio, si->avail ? 1 : 0, since);
	if (si->det > 0 && n > 0 && (size_t)n < sizeof line) {
		/* XEP-0198: no handler now; resumable until then. */
		iso8601_utc(si->det, det, sizeof det);
		snprintf(line + n, sizeof line - (size_t)n, " detached-until=%s", det);
	}
	strvec_add(&sl->lines, line);
	return 0;
}

/* The sessions of each user in users (sorted), each user's sorted by
 * resource, under one header line. */
static int sessions_print(struct ctl *c, const struct strvec *users)
{
	struct session_lines sl;
	size_t i;
	int rc = XC_OK;

	puts("# JID/resource  host pid prio avail since(UTC)");
	for (i = 0; i < users->n && rc == XC_OK; i++) {
		memset(&sl, 0, sizeof sl);
		sl.bare = users->v[i];
		if (session_each(&c->st, sl.bare, session_line, &sl) == -1)
			rc = redis_failed(c);
		else {
			strvec_sort_uniq(&sl.lines);
			print_lines(&sl.lines);
		}
		strvec_free(&sl.lines);
	}
	return rc == XC_OK ? stdout_flush() : rc;
}

static int cmd_sessions(struct ctl *c, int argc, char **argv)
{
	struct strvec users = { 0 };
	struct account acct;
	char bare[JID_MAX];
	int rc, r;

	if (argc > 1 || (argc == 1 && argv[0][0] == '-'))
		return usage_error("sessions: at most one JID expected");
	if ((rc = ctl_open_for(c, argc ? argv[0] : NULL, bare, sizeof bare)) != XC_OK)
		return rc;
	if (argc) {
		r = account_get(&c->st, bare, &acct);
		explicit_bzero(&acct, sizeof acct);
		if (r < 0)
			return redis_failed(c);
		if (r == ACCOUNT_NONE) {
			ctl_err("no such user %s", bare);
			return XC_FAIL;
		}
		strvec_add(&users, bare);
	} else if (online_collect(c, &users) < 0) {
		strvec_free(&users);
		return redis_failed(c);
	}
	strvec_sort_uniq(&users);
	rc = sessions_print(c, &users);
	strvec_free(&users);
	return rc;
}

/* ---- rosters ---- */

static int roster_line(const char *contact, const char *item, void *arg)
{
	struct strvec *sv = arg;
	static const char *const names[] = { "none", "to", "from", "both" };
	struct xml_node *n = xml_parse_string(item, strlen(item)), *g;
	struct xbuf line = { 0 };
	const char *name = n ? xml_get(n, "name") : NULL;

	xbuf_addf(&line, "%s  subscription=%s%s", contact, names[roster_item_sub(item)],
	    roster_item_ask(item) ? " ask=subscribe" : "");
	if (name)
		xbuf_addf(&line, " name=\"%s\"", name);
	for (g = n ? n->children : NULL; g; g = g->next)
		if (g->name && !strcmp(g->name, "group"))
			xbuf_addf(&line, " group=\"%s\"", xml_text(g));
	strvec_add(sv, line.p);
	xbuf_free(&line);
	xml_free(n);
	return 0;
}

static int roster_show(struct ctl *c, const char *bare)
{
	struct strvec lines = { 0 };
	char ver[ROSTER_VER_MAX];
	int rc;
	if (roster_each(&c->st, bare, ver, sizeof ver, roster_line, &lines) == -1) {
		strvec_free(&lines);
		return redis_failed(c);
	}
	strvec_sort_uniq(&lines);
	printf("# roster of %s, version %s\n", bare, ver);
	print_lines(&lines);
	strvec_free(&lines);
	rc = stdout_flush();
	return rc;
}

static int roster_add(struct ctl *c, const char *bare, const char *contact,
    int argc, char **argv)
{
	const char *sub = "both", *name = NULL;
	char ver[ROSTER_VER_MAX];
	struct xbuf body = { 0 }, groups = { 0 };
	int i, rc = XC_OK;

	for (i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-s"))
			sub = argv[i + 1];
		else if (!strcmp(argv[i], "-n"))
			name = argv[i + 1];
		else if (!strcmp(argv[i], "-g")) {
			xbuf_adds(&groups, "<group>");
			xbuf_add_esc(&groups, argv[i + 1], strlen(argv[i + 1]));
			xbuf_adds(&groups, "</group>");
		} else
			break;
	}
	if (i != argc || (strcmp(sub, "none") && strcmp(sub, "to") &&
	    strcmp(sub, "from") && strcmp(sub, "both"))) {
		xbuf_free(&groups);
		return usage_error("roster JID add CONTACT [-s none|to|from|both] [-n NAME] [-g GROUP]...");
	}
	/* The stored form starts with the subscription (see roster.h). */
	xbuf_addf(&body, "<item subscription='%s' jid='", sub);
	xbuf_add_esc(&body, contact, strlen(contact));
	xbuf_adds(&body, "'");
	if (name) {
		xbuf_adds(&body, " name='");
		xbuf_add_esc(&body, name, strlen(name));
		xbuf_adds(&body, "'");
	}
	if (groups.len) {
		xbuf_adds(&body, ">");
		xbuf_add(&body, groups.p, groups.len);
		xbuf_adds(&body, "</item>");
	} else {
		xbuf_adds(&body, "/>");
	}
	if (roster_put(&c->st, bare, contact, body.p, ver, sizeof ver) == -1 ||
	    route_push(&c->st, bare, body.p, ver) == -1)
		rc = redis_failed(c);
	xbuf_free(&body);
	xbuf_free(&groups);
	return rc;
}

static int roster_del(struct ctl *c, const char *bare, const char *contact)
{
	char ver[ROSTER_VER_MAX], *old = NULL;
	struct xbuf push = { 0 };
	int rc = XC_OK;

	if (roster_remove(&c->st, bare, contact, &old, ver, sizeof ver) < 0)
		return redis_failed(c);
	if (!old) {
		ctl_err("%s is not in the roster of %s", contact, bare);
		return XC_FAIL;
	}
	xbuf_adds(&push, "<item jid='");
	xbuf_add_esc(&push, contact, strlen(contact));
	xbuf_adds(&push, "' subscription='remove'/>");
	if (route_push(&c->st, bare, push.p, ver) == -1)
		rc = redis_failed(c);
	xbuf_free(&push);
	free(old);
	return rc;
}

static int cmd_roster(struct ctl *c, int argc, char **argv)
{
	char bare[JID_MAX], contact[JID_MAX];
	struct account acct;
	struct jid j;
	int rc, r;

	if (argc < 1 || argv[0][0] == '-' || argc == 2)
		return usage_error("roster JID [add|remove CONTACT ...]");
	if ((rc = ctl_open_for(c, argv[0], bare, sizeof bare)) != XC_OK)
		return rc;
	r = account_get(&c->st, bare, &acct);
	explicit_bzero(&acct, sizeof acct);
	if (r < 0)
		return redis_failed(c);
	if (r == ACCOUNT_NONE) {
		ctl_err("no such user %s", bare);
		return XC_FAIL;
	}
	if (argc == 1)
		return roster_show(c, bare);
	if (jid_parse(argv[2], &j) == -1 || j.resource[0]) {
		ctl_err("bad JID '%s'", argv[2]);
		return XC_USAGE;
	}
	jid_bare(&j, contact, sizeof contact);
	if (!strcmp(argv[1], "add"))
		return roster_add(c, bare, contact, argc - 3, argv + 3);
	if (!strcmp(argv[1], "remove") && argc == 3)
		return roster_del(c, bare, contact);
	return usage_error("roster JID [add|remove CONTACT ...]");
}

/* ---- failed-login counters ---- */

struct blocks {
	const struct config *cfg;
	struct strvec addrs, accounts;
};

static int block_line(const struct authfail_entry *e, void *arg)
{
	struct blocks *b = arg;
	char line[BLOCK_LINE_MAX];
	const char *state = "";

	if (e->kind == AUTHFAIL_ADDR) {
		if (config_auth_exempt(b->cfg, e->name))
			state = " exempt";
		else if (e->count >= b->cfg->auth_block_after)
			state = " blocked";
	}
	snprintf(line, sizeof line, "%s %s  failures=%ld left=%ld%s",
	    e->kind == AUTHFAIL_ADDR ? "address" : "account", e->name, e->count, e->ttl, state);
	strvec_add(e->kind == AUTHFAIL_ADDR ? &b->addrs : &b->accounts, line);
	return 0;
}

static int cmd_blocks(struct ctl *c, int argc, char **argv)
{
	struct blocks b = { 0 };
	int rc;

	(void)argv;
	if (argc != 0)
		return usage_error("blocks: no arguments expected");
	if ((rc = ctl_open_for(c, NULL, NULL, 0)) != XC_OK)
		return rc;
	b.cfg = &c->cfg;
	if (authfail_each(&c->st, block_line, &b) < 0)
		rc = redis_failed(c);
	else {
		strvec_sort_uniq(&b.addrs);
		strvec_sort_uniq(&b.accounts);
		printf("# address|account NAME  failures=N left=SECONDS [blocked|exempt]"
		    "  (blocked at %d)\n", c->cfg.auth_block_after);
		print_lines(&b.addrs);
		print_lines(&b.accounts);
		rc = stdout_flush();
	}
	strvec_free(&b.addrs);
	strvec_free(&b.accounts);
	return rc;
}

static int addr_collect(const struct authfail_entry *e, void *arg)
{
	if (e->kind == AUTHFAIL_ADDR)
		strvec_add(arg, e->name);
	return 0;
}

static int cmd_unblock(struct ctl *c, int argc, char **argv)
{
	struct strvec addrs = { 0 };
	char canon[NETADDR_STR_MAX];
	const char *addr;
	size_t i;
	int rc, r;

	if (argc != 1 || (argv[0][0] == '-' && strcmp(argv[0], "--all")))
		return usage_error("unblock ADDRESS | --all");
	if ((rc = ctl_open_for(c, NULL, NULL, 0)) != XC_OK)
		return rc;
	if (!strcmp(argv[0], "--all")) {
		if (authfail_each(&c->st, addr_collect, &addrs) < 0)
			rc = redis_failed(c);
		strvec_sort_uniq(&addrs);
		for (i = 0; i < addrs.n && rc == XC_OK; i++)
			if (authfail_unblock(&c->st, addrs.v[i]) == -1)
				rc = redis_failed(c);
		strvec_free(&addrs);
		return rc;
	}
	/* Counters are named by the canonical spelling (::ffff:10.0.0.1
	 * is 10.0.0.1); anything else (a handler without a socket counts
	 * "local") is taken as it is. */
	addr = netaddr_canon(argv[0], canon, sizeof canon) == 0 ? canon : argv[0];
	r = authfail_unblock(&c->st, addr);
	if (r < 0)
		return redis_failed(c);
	if (r == AUTHFAIL_UNCOUNTED) {
		ctl_err("no failures counted for %s", addr);
		return XC_FAIL;
	}
	return XC_OK;
}

/* ---- the message archive ---- */

/* One archived message as an XEP-0313 result, on a line of its own. */
static int archive_line(const struct mam_item *it, void *arg)
{
	struct xbuf b = { 0 };
	(void)arg;
	xbuf_adds(&b, "<result xmlns='urn:xmpp:mam:2' id='");
	xbuf_add_esc(&b, it->id, strlen(it->id));
	xbuf_adds(&b, "'>");
	mam_forwarded(&b, it);
	xbuf_adds(&b, "</result>\n");
	fwrite(b.p, 1, b.len, stdout);
	xbuf_free(&b);
	return 0;
}

/* archive [--delete] JID: the export is one <archive/> element holding
 * the results as a client would get them, for XEP-0227-minded tools. */
static int cmd_archive(struct ctl *c, int argc, char **argv)
{
	char bare[JID_MAX];
	int del = argc == 2 && !strcmp(argv[0], "--delete"), rc;

	if (argc != 1 + del || argv[del][0] == '-')
		return usage_error("archive [--delete] JID");
	if ((rc = ctl_open_for(c, argv[del], bare, sizeof bare)) != XC_OK)
		return rc;
	if (del)
		return mam_delete(&c->st, bare) < 0 ? redis_failed(c) : XC_OK;
	printf("<archive xmlns='urn:xmpp:pie:0#mam' jid='%s'>\n", bare);
	if (mam_each(&c->st, bare, archive_line, NULL) < 0)
		return redis_failed(c);
	printf("</archive>\n");
	return stdout_flush();
}

/* ---- a user's clients and their FAST tokens ---- */

static void token_state(const struct fast_slot *t, long long now, const char *name, int *any)
{
	char stamp[DATETIME_MAX];
	if (!t->expiry)
		return;
	datetime_format(t->expiry * 1000, 0, stamp, sizeof stamp);
	printf("%s%s=%s%s", *any ? "," : "  token=", name, stamp, t->expiry <= now ? "(expired)" : "");
	*any = 1;
}

/* clients JID: one line per user agent (XEP-0388), least recently seen
 * first, with the state of its FAST token (XEP-0484); never the token. */
static int cmd_clients(struct ctl *c, int argc, char **argv)
{
	struct fast_client *cl;
	char bare[JID_MAX], seen[DATETIME_MAX];
	long long now = (long long)time(NULL);
	int n, i, rc, any;

	if (argc != 1 || argv[0][0] == '-')
		return usage_error("clients JID");
	if ((rc = ctl_open_for(c, argv[0], bare, sizeof bare)) != XC_OK)
		return rc;
	cl = xcalloc(FAST_CLIENTS_MAX, sizeof *cl);
	n = fast_clients(&c->st, bare, cl, FAST_CLIENTS_MAX);
	if (n < 0) {
		free(cl);
		return redis_failed(c);
	}
	printf("# ID  seen=TIME  software=\"...\"  device=\"...\"  "
	    "[token=new=EXPIRY,current=EXPIRY (MECHANISM)]\n");
	for (i = 0; i < n; i++) {
		datetime_format(cl[i].seen * 1000, 0, seen, sizeof seen);
		printf("%s  seen=%s  software=\"%s\"  device=\"%s\"", cl[i].id, seen, cl[i].software,
		    cl[i].device);
		any = 0;
		if (cl[i].has_record) {
			token_state(&cl[i].rec.fresh, now, "new", &any);
			token_state(&cl[i].rec.cur, now, "current", &any);
			if (any)
				printf(" (%s)", cl[i].rec.mech);
		}
		printf("\n");
	}
	free(cl);
	return stdout_flush();
}

/* fast-revoke JID [ID]: end the FAST tokens of one client or of all. */
static int cmd_fast_revoke(struct ctl *c, int argc, char **argv)
{
	char bare[JID_MAX];
	int rc, n;

	if ((argc != 1 && argc != 2) || argv[0][0] == '-')
		return usage_error("fast-revoke JID [CLIENT-ID]");
	if ((rc = ctl_open_for(c, argv[0], bare, sizeof bare)) != XC_OK)
		return rc;
	n = fast_revoke(&c->st, bare, argc == 2 ? argv[1] : NULL);
	if (n < 0)
		return redis_failed(c);
	if (n == 0) {
		ctl_err("%s: no FAST token%s%s", bare, argc == 2 ? " for client " : "",
		    argc == 2 ? argv[1] : "");
		return XC_FAIL;
	}
	return XC_OK;
}

/* ---- invitations ---- */

/* node as the user part of an xmpp: URI (RFC 5122 2.3): what is not
 * unreserved, nor one of the few delimiters allowed there, percent-encoded. */
static void uri_node(const char *node, char *out, size_t outsz)
{
	static const char keep[] = "-._~!$&'()*+,;=";
	size_t o = 0;
	for (; *node && o + 4 < outsz; node++) {
		unsigned char ch = (unsigned char)*node;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || (ch && strchr(keep, ch)))
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, outsz - o, "%%%02X", ch);
	}
	out[o] = '\0';
}

static int cmd_invite(struct ctl *c, int argc, char **argv)
{
	const char *user = NULL, *domain = NULL;
	char node[JID_MAX_PART] = "", bare[JID_MAX], unode[3 * JID_MAX_PART];
	char token[INVITE_TOKEN_MAX];
	struct account acct;
	struct jid j;
	long ttl = INVITE_TTL_DEFAULT;
	char *end;
	int i, rc, r;

	for (i = 0; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--expires")) {
			ttl = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || ttl < 1 || ttl > INVITE_TTL_MAX)
				return usage_error("invite: --expires takes 1 .. %d seconds",
				    INVITE_TTL_MAX);
		} else if (i + 1 < argc && !strcmp(argv[i], "--user"))
			user = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--domain"))
			domain = argv[++i];
		else
			return usage_error("invite [--expires SECONDS] [--user NODE|JID] "
			    "[--domain DOMAIN]");
	}
	if ((rc = ctl_load_config(c)) != XC_OK)
		return rc;
	if (domain) {
		if (jid_parse(domain, &j) == -1 || j.node[0] || j.resource[0] ||
		    !config_serves(&c->cfg, j.domain)) {
			ctl_err("bad domain '%s': not served (see 'domain' in the configuration)",
			    domain);
			return XC_USAGE;
		}
	} else {
		snprintf(j.domain, sizeof j.domain, "%s", c->cfg.domains[0]);
	}
	snprintf(bare, sizeof bare, "%s", j.domain);     /* the domain, unless a user */
	if (user) {
		if (strchr(user, '@')) {
			if ((rc = ctl_account_jid(c, user, bare, sizeof bare)) != XC_OK)
				return rc;
			if (domain && strcmp(strchr(bare, '@') + 1, j.domain)) {
				ctl_err("--user %s is not in --domain %s", user, domain);
				return XC_USAGE;
			}
			snprintf(node, sizeof node, "%.*s", (int)(strchr(bare, '@') - bare), bare);
			snprintf(j.domain, sizeof j.domain, "%s", strchr(bare, '@') + 1);
		} else if (jid_nodeprep(user, node, sizeof node) == -1 || !node[0]) {
			ctl_err("bad user '%s': not a valid user part (RFC 7622)", user);
			return XC_USAGE;
		} else {
			snprintf(bare, sizeof bare, "%s@%s", node, j.domain);
		}
	}
	if ((rc = ctl_connect(c)) != XC_OK)
		return rc;
	if (node[0]) {
		r = account_get(&c->st, bare, &acct);
		explicit_bzero(&acct, sizeof acct);
		if (r < 0)
			return redis_failed(c);
		if (r == ACCOUNT_FOUND) {
			ctl_err("user %s exists", bare);
			return XC_FAIL;
		}
	}
	r = invite_create(&c->st, j.domain, node, (int)ttl, token);
	if (r == XE_ENTROPY) {
		ctl_err("%s", c->st.err);
		return XC_SYS;
	}
	if (r < 0)
		return redis_failed(c);
	if (r == INVITE_RESERVED) {
		ctl_err("an invitation for %s exists (xmppctl invites)", bare);
		return XC_FAIL;
	}
	uri_node(node, unode, sizeof unode);
	printf("%s\nxmpp:%s%s%s?register;preauth=%s\n", token, unode, node[0] ? "@" : "",
	    j.domain, token);
	if (c->cfg.registration != CONFIG_REG_INVITE && c->cfg.registration != CONFIG_REG_OPEN)
		ctl_err("note: registration is closed in the configuration: the invitation "
		    "works once it is 'invite' or 'open'");
	return stdout_flush();
}

static int invite_line(const struct invite_info *inv, void *arg)
{
	char line[INVITE_LINE_MAX], created[ISO8601_MAX];
	iso8601_utc(inv->created, created, sizeof created);
	snprintf(line, sizeof line, "%s  domain=%s user=%s created=%s left=%ld", inv->token,
	    inv->domain, inv->node[0] ? inv->node : "*", created, inv->ttl);
	strvec_add(arg, line);
	return 0;
}

static int cmd_invites(struct ctl *c, int argc, char **argv)
{
	struct strvec lines = { 0 };
	int rc;

	(void)argv;
	if (argc != 0)
		return usage_error("invites: no arguments expected");
	if ((rc = ctl_open_for(c, NULL, NULL, 0)) != XC_OK)
		return rc;
	if (invite_each(&c->st, invite_line, &lines) < 0)
		rc = redis_failed(c);
	else {
		strvec_sort_uniq(&lines);
		puts("# TOKEN  domain=DOMAIN user=NODE|* created=(UTC) left=SECONDS");
		print_lines(&lines);
		rc = stdout_flush();
	}
	strvec_free(&lines);
	return rc;
}

static int cmd_uninvite(struct ctl *c, int argc, char **argv)
{
	int rc, r;

	if (argc != 1 || argv[0][0] == '-')
		return usage_error("uninvite: one TOKEN expected");
	if ((rc = ctl_open_for(c, NULL, NULL, 0)) != XC_OK)
		return rc;
	r = invite_delete(&c->st, argv[0]);
	if (r < 0)
		return redis_failed(c);
	if (r == INVITE_NONE) {
		ctl_err("no invitation %s", argv[0]);
		return XC_FAIL;
	}
	return XC_OK;
}

/* ---- rooms (XEP-0045) ---- */

/* A room operation failed: Redis, or no randomness for the event's id. */
static int room_failed(struct ctl *c, int rc)
{
	if (rc == XE_ENTROPY) {
		ctl_err("%s", c->st.err);
		return XC_SYS;
	}
	return redis_failed(c);
}

/* Load the configuration, parse arg as a room JID, room@muc_domain,
 * bare, normalised into room (ROUTE_NODE_MAX bytes), and connect. */
static int ctl_open_room(struct ctl *c, const char *arg, char room[ROUTE_NODE_MAX])
{
	struct jid j;
	int rc;

	if ((rc = ctl_load_config(c)) != XC_OK)
		return rc;
	if (jid_parse(arg, &j) == -1 || !j.node[0] || j.resource[0]) {
		ctl_err("bad room '%s': a room is a bare JID, room@domain", arg);
		return XC_USAGE;
	}
	if (!c->cfg.muc_domain[0]) {
		ctl_err("bad room '%s': no conference domain (see 'muc_domain' in the "
		    "configuration)", arg);
		return XC_USAGE;
	}
	if (strcmp(j.domain, c->cfg.muc_domain)) {
		ctl_err("bad room '%s': not in the conference domain '%s'", arg, c->cfg.muc_domain);
		return XC_USAGE;
	}
	if (snprintf(room, ROUTE_NODE_MAX, "%s@%s", j.node, j.domain) >= ROUTE_NODE_MAX) {
		ctl_err("bad room '%s': longer than %d bytes", arg, ROUTE_NODE_MAX - 1);
		return XC_USAGE;
	}
	return ctl_connect(c);
}

/* The flags a room's line in `rooms` shows: the :conf field (muc.h) is 1. */
static const struct {
	const char *field, *flag;
} room_flags[] = {
	{ "persistent", "persistent" },
	{ "public", "public" },
	{ "members_only", "members-only" },
	{ "moderated", "moderated" },
	{ "locked", "locked" },
};

static int room_collect(const char *room, void *arg)
{
	strvec_add(arg, room);
	return 0;
}

/* The line of one room in `rooms`, into lines; a room that went
 * meanwhile has none. 0, or the xerr of muc_info. */
static int room_line(struct ctl *c, const char *room, struct strvec *lines)
{
	struct muc_info info;
	struct xbuf line = { 0 };
	const char *name;
	size_t i;
	int rc = muc_info(&c->st, room, "", &info);

	if (rc != MUC_ROOM)
		return rc < 0 ? rc : 0;
	xbuf_addf(&line, "%s  occupants=%d", room, info.occupants);
	for (i = 0; i < sizeof room_flags / sizeof room_flags[0]; i++)
		if (!strcmp(muc_info_get(&info, room_flags[i].field), "1"))
			xbuf_addf(&line, " %s", room_flags[i].flag);
	if (muc_info_get(&info, "password")[0])
		xbuf_adds(&line, " password");
	if ((name = muc_info_get(&info, "name"))[0])
		xbuf_addf(&line, " name=\"%s\"", name);
	strvec_add(lines, line.p);
	xbuf_free(&line);
	muc_info_free(&info);
	return 0;
}

static int cmd_rooms(struct ctl *c, int argc, char **argv)
{
	struct strvec rooms = { 0 }, lines = { 0 };
	size_t i;
	int rc, r = 0;

	(void)argv;
	if (argc != 0)
		return usage_error("rooms: no arguments expected");
	if ((rc = ctl_open_for(c, NULL, NULL, 0)) != XC_OK)
		return rc;
	if ((r = muc_room_each(&c->st, room_collect, &rooms)) == 0) {
		strvec_sort_uniq(&rooms);
		for (i = 0; i < rooms.n && r == 0; i++)
			r = room_line(c, rooms.v[i], &lines);
	}
	if (r < 0) {
		rc = room_failed(c, r);
	} else {
		puts("# ROOM  occupants=N [persistent] [public] [members-only] [moderated] "
		    "[locked] [password] [name=\"NAME\"]");
		print_lines(&lines);
		rc = stdout_flush();
	}
	strvec_free(&rooms);
	strvec_free(&lines);
	return rc;
}

/* How `room` shows a configuration field: as it is, quoted (free
 * text), as a time, masked, or the text of the stored subject message. */
enum room_show { SHOW_RAW, SHOW_TEXT, SHOW_TIME, SHOW_SECRET, SHOW_SUBJECT };

static const struct {
	const char *field;
	enum room_show show;
} room_shown[] = {
	{ "created", SHOW_TIME },
	{ "name", SHOW_TEXT },
	{ "desc", SHOW_TEXT },
	{ "password", SHOW_SECRET },
	{ "subject", SHOW_SUBJECT },
	{ "subject_nick", SHOW_TEXT },
};

static enum room_show room_show_of(const char *field)
{
	size_t i;
	for (i = 0; i < sizeof room_shown / sizeof room_shown[0]; i++)
		if (!strcmp(room_shown[i].field, field))
			return room_shown[i].show;
	return SHOW_RAW;
}

/* muc_info_each's fn: one line "field=value" of the configuration. */
static void config_line(const char *field, const char *value, void *arg)
{
	struct xbuf line = { 0 };
	char when[ISO8601_MAX];
	struct xml_node *m, *subject;

	xbuf_addf(&line, "%s=", field);
	switch (room_show_of(field)) {
	case SHOW_TEXT:
		xbuf_addf(&line, "\"%s\"", value);
		break;
	case SHOW_TIME:
		iso8601_utc(atol(value), when, sizeof when);
		xbuf_adds(&line, when);
		break;
	case SHOW_SECRET:
		xbuf_adds(&line, value[0] ? "***" : "");
		break;
	case SHOW_SUBJECT:
		m = value[0] ? xml_parse_string(value, strlen(value)) : NULL;
		subject = m ? xml_child(m, NULL, "subject") : NULL;
		xbuf_addf(&line, "\"%s\"", subject ? xml_text(subject) : "");
		xml_free(m);
		break;
	default:
		xbuf_adds(&line, value);
		break;
	}
	strvec_add(arg, line.p);
	xbuf_free(&line);
}

struct room_people {
	struct strvec affs, occs;
};

static void aff_line(const char *jid, const char *aff, void *arg)
{
	struct room_people *p = arg;
	struct xbuf line = { 0 };

	xbuf_addf(&line, "%s  %s", jid, aff);
	strvec_add(&p->affs, line.p);
	xbuf_free(&line);
}

static void occ_line(const struct muc_occupant *o, void *arg)
{
	struct room_people *p = arg;
	struct xbuf line = { 0 };
	int i;

	xbuf_addf(&line, "nick=\"%s\" role=%s affiliation=%s", o->nick, o->role, o->aff);
	for (i = 0; i < o->njids; i++)
		xbuf_addf(&line, " jid=%s", o->jids[i]);
	strvec_add(&p->occs, line.p);
	xbuf_free(&line);
}

static int cmd_room(struct ctl *c, int argc, char **argv)
{
	struct room_people p = { { 0 }, { 0 } };
	struct strvec conf = { 0 };
	struct muc_info info;
	char room[ROUTE_NODE_MAX];
	int rc, r;

	if (argc != 1 || argv[0][0] == '-')
		return usage_error("room: one room JID expected");
	if ((rc = ctl_open_room(c, argv[0], room)) != XC_OK)
		return rc;
	r = muc_info(&c->st, room, "", &info);
	if (r == MUC_ROOM) {
		muc_info_each(&info, config_line, &conf);
		muc_info_free(&info);
		r = muc_people(&c->st, room, aff_line, occ_line, &p);
	}
	if (r < 0) {
		rc = room_failed(c, r);
	} else if (r == MUC_NO_ROOM) {
		ctl_err("no such room %s", room);
		rc = XC_FAIL;
	} else {
		strvec_sort_uniq(&conf);
		strvec_sort_uniq(&p.affs);
		strvec_sort_uniq(&p.occs);
		printf("# configuration of %s\n", room);
		print_lines(&conf);
		puts("# affiliations: JID  AFFILIATION");
		print_lines(&p.affs);
		puts("# occupants: nick=\"NICK\" role=ROLE affiliation=AFFILIATION jid=FULLJID...");
		print_lines(&p.occs);
		rc = stdout_flush();
	}
	strvec_free(&conf);
	strvec_free(&p.affs);
	strvec_free(&p.occs);
	return rc;
}

/* room-destroy JID [REASON]: as its owner would (XEP-0045 10.9), so the
 * occupants learn why. */
/* ---- federation ---- */

/* s2s close ROUTE: its connection closes its stream; the queue stays
 * (the dispatcher connects again if work remains). */
static int s2s_close_route(struct ctl *c, const char *route)
{
	struct s2s_route_info info;
	int rc;

	if (!strchr(route, '/') || strlen(route) >= S2S_ROUTE_MAX)
		return usage_error("s2s close: a route REMOTE/LOCAL expected");
	if ((rc = ctl_open_for(c, NULL, NULL, 0)) != XC_OK)
		return rc;
	if (s2s_route_info(&c->st, route, &info) < 0)
		return redis_failed(c);
	/* A vacant lease (a component's that left) is nobody's. */
	if (!info.holder[0] || !strcmp(info.holder, S2S_LEASE_VACANT)) {
		ctl_err("nobody is connected on %s", route);
		return XC_FAIL;
	}
	if (s2s_close(&c->st, route) < 0)
		return redis_failed(c);
	return XC_OK;
}

static void count_one(const char *full, const char *value, void *arg)
{
	(void)full;
	(void)value;
	(void)arg;          /* muc_remote_each counts */
}

/* s2s: one line per route, as router/s2s.h keeps it; then the inbound
 * streams, then the rooms relayed to occupants of other domains. */
static int cmd_s2s(struct ctl *c, int argc, char **argv)
{
	struct strvec routes = { 0 }, lines = { 0 };
	struct s2s_route_info info;
	char line[S2S_ROUTE_MAX + 400], *sp;
	long now = (long)time(NULL);
	size_t i;
	int rc;

	if (argc == 2 && !strcmp(argv[0], "close"))
		return s2s_close_route(c, argv[1]);
	if (argc != 0)
		return usage_error("s2s: no arguments, or close REMOTE/LOCAL, expected");
	if ((rc = ctl_open_for(c, NULL, NULL, 0)) != XC_OK)
		return rc;
	if (s2s_routes(&c->st, &routes) < 0) {
		strvec_free(&routes);
		return redis_failed(c);
	}
	strvec_sort_uniq(&routes);
	for (i = 0; i < routes.n; i++) {
		if (s2s_route_info(&c->st, routes.v[i], &info) < 0) {
			strvec_free(&routes);
			strvec_free(&lines);
			return redis_failed(c);
		}
		/* "<host> <pid>", one word in the listing */
		if ((sp = strchr(info.holder, ' ')))
			*sp = ':';
		snprintf(line, sizeof line, "out %s queued=%ld oldest=%ld verify=%ld connected=%s",
		    routes.v[i], info.queued, info.oldest ? now - info.oldest : 0L, info.verifies,
		    info.holder[0] ? info.holder : "-");
		strvec_add(&lines, line);
	}
	strvec_sort_uniq(&lines);
	puts("# out REMOTE/LOCAL queued=STANZAS oldest=SECONDS verify=N connected=HOST:PID|-");
	print_lines(&lines);
	strvec_free(&lines);
	strvec_free(&routes);
	/* Inbound streams, each as its xmpp-s2s-in process says. */
	if (s2s_in_list(&c->st, &routes) < 0) {
		strvec_free(&routes);
		return redis_failed(c);
	}
	strvec_sort_uniq(&routes);
	puts("# in HOST:PID REMOTE/LOCAL:METHOD[,...] peer=ADDRESS since=UNIXTIME");
	for (i = 0; i < routes.n; i++)
		printf("in %s\n", routes.v[i]);
	strvec_free(&routes);
	/* Rooms with occupants of other domains, and their relay. */
	if (muc_remote_rooms(&c->st, &routes) < 0) {
		strvec_free(&routes);
		return redis_failed(c);
	}
	strvec_sort_uniq(&routes);
	puts("# room ROOM remote=OCCUPANTS relay=HOST:PID|-");
	for (i = 0; i < routes.n; i++) {
		if ((rc = muc_remote_each(&c->st, routes.v[i], count_one, NULL)) < 0 ||
		    s2s_route_info(&c->st, routes.v[i], &info) < 0) {
			strvec_free(&routes);
			return redis_failed(c);
		}
		if ((sp = strchr(info.holder, ' ')))
			*sp = ':';
		printf("room %s remote=%d relay=%s\n", routes.v[i], rc,
		    info.holder[0] ? info.holder : "-");
	}
	strvec_free(&routes);
	return stdout_flush();
}

static int cmd_room_destroy(struct ctl *c, int argc, char **argv)
{
	char room[ROUTE_NODE_MAX];
	int rc, r;

	if (argc < 1 || argc > 2 || argv[0][0] == '-')
		return usage_error("room-destroy: a room JID and an optional REASON expected");
	if ((rc = ctl_open_room(c, argv[0], room)) != XC_OK)
		return rc;
	r = muc_destroy(&c->st, room, "", argc == 2 ? argv[1] : "", "");
	if (r < 0)
		return room_failed(c, r);
	if (r == MUC_NO_ROOM) {
		ctl_err("no such room %s", room);
		return XC_FAIL;
	}
	return XC_OK;
}

static const struct command {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
} commands[] = {
	{ "adduser", cmd_adduser },
	{ "passwd", cmd_passwd },
	{ "deluser", cmd_deluser },
	{ "users", cmd_users },
	{ "sessions", cmd_sessions },
	{ "roster", cmd_roster },
	{ "kick", cmd_kick },
	{ "blocks", cmd_blocks },
	{ "unblock", cmd_unblock },
	{ "archive", cmd_archive },
	{ "clients", cmd_clients },
	{ "fast-revoke", cmd_fast_revoke },
	{ "invite", cmd_invite },
	{ "invites", cmd_invites },
	{ "uninvite", cmd_uninvite },
	{ "rooms", cmd_rooms },
	{ "room", cmd_room },
	{ "room-destroy", cmd_room_destroy },
	{ "uploads", cmd_uploads },
	{ "upload-remove", cmd_upload_remove },
	{ "upload-expire", cmd_upload_expire },
	{ "s2s", cmd_s2s },
};

int main(int argc, char **argv)
{
	static struct ctl ctl;          /* large: keep it off the stack */
	const struct command *cmd = NULL;
	size_t i;
	int opt, rc;

	opterr = 0;
	while ((opt = getopt(argc, argv, "+c:h")) != -1) {
		switch (opt) {
		case 'c':
			ctl.conf_path = optarg;
			break;
		case 'h':
			fputs(HELP, stdout);
			return XC_OK;
		default:
			if (optopt == 'c')
				return usage_error("option -c needs a FILE");
			return usage_error("unknown option '-%c'", optopt);
		}
	}
	if (optind >= argc)
		return usage_error("COMMAND expected");
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[optind], commands[i].name))
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command '%s'", argv[optind]);
	rc = cmd->run(&ctl, argc - optind - 1, argv + optind + 1);
	if (ctl.connected)
		store_close(&ctl.st);
	return rc;
}
