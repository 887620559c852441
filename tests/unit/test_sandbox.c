/*
 * test_sandbox.c - unit tests for handler/sandbox.c.
 *
 * Each test forks a child that enters the sandbox and then tries one
 * thing; the parent judges the child's wait status: killed by SIGSYS
 * (seccomp), or an exit code that is the errno the attempt got (0: it
 * worked, CHILD_DID_IT: a forbidden thing worked). The tests run as root
 * in CI: nothing checked here may be something root bypasses.
 *
 * The configuration lives in a mkdtemp folder: xmpp.conf in conf/, the
 * certificate as a credential (cred/, $CREDENTIALS_DIRECTORY), the key by
 * absolute name in keys/, and secret, a file outside every allowed
 * folder. up/ is the writable folder of sandbox_enter_writable (xmpp-web's
 * upload_dir), made by it.
 */
#include "check.h"
#include "config.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <linux/netlink.h>

#ifndef PR_GET_MDWE
#define PR_GET_MDWE     66
#endif
#define CHILD_DID_IT    99     /* exit code: the forbidden thing worked */
#define CHILD_NO_ENTER  98     /* exit code: sandbox_enter failed */
#define LL_ABI_SCOPE    6      /* Landlock ABI with abstract unix scoping */
#define DIR_MAX         256    /* the mkdtemp folder and its subfolders */

#if defined(__SANITIZE_ADDRESS__)
#define LSAN_BUILD 1
#else
#define LSAN_BUILD 0
#endif

static char tmpdir[] = "/tmp/test_sandbox.XXXXXX";
static char confdir[DIR_MAX], creddir[DIR_MAX], keydir[DIR_MAX], conf[PATH_MAX];
static char cert[PATH_MAX], key[PATH_MAX], secret[PATH_MAX], newfile[PATH_MAX];
static char newconf[PATH_MAX], logfile[PATH_MAX], othercred[PATH_MAX], abstract_name[64];
static struct config cfg, cfg_nocred;   /* the second names no credential */
static const struct config *use_cfg = &cfg;
static char updir[DIR_MAX], upsub[PATH_MAX], upfile[PATH_MAX], upmoved[PATH_MAX], upbig[PATH_MAX];
static const char *use_writable;        /* run(): sandbox_enter_writable's folder */
#define UP_FSIZE 100                    /* ... and its largest file */
static volatile sig_atomic_t got_term, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGTERM)
		got_term = 1;
	else
		got_usr1 = 1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* Fork; the child points stderr at stderr_path (NULL: keeps it), enters
 * the sandbox and exits with fn()'s value. The child's wait status. */
static int run(int (*fn)(void), const char *stderr_path)
{
	char err[512];
	int st;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == -1) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		if (stderr_path) {
			int fd = open(stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd == -1 || dup2(fd, STDERR_FILENO) == -1)
				_exit(CHILD_NO_ENTER);
			close(fd);
		}
		if (sandbox_enter_writable(use_cfg, conf, use_writable, UP_FSIZE, err,
		    sizeof err) == -1) {
			printf("sandbox_enter: %s\n", err);
			fflush(stdout);
			_exit(CHILD_NO_ENTER);
		}
		exit(fn());     /* exit(), not _exit(): LeakSanitizer runs too */
	}
	while (waitpid(pid, &st, 0) == -1) {
		if (errno == EINTR)     /* the SIGTERM a broken kill rule lets through */
			continue;
		perror("waitpid");
		exit(2);
	}
	return st;
}

static int killed_by(int st, int sig)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

static int exited_with(int st, int code)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == code;
}

/* The attempt's errno as the exit code; CHILD_DID_IT if it worked. */
static int fails(int rc)
{
	return rc == -1 ? errno : CHILD_DID_IT;
}

/* ---- seccomp ---- */

static int do_execve(void)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };
	execve("/bin/true", argv, envp);
	return CHILD_DID_IT;
}

static int do_fork(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	return p == -1 ? errno : CHILD_DID_IT;
}

static int do_kill_term(void)
{
	return fails(kill(getppid(), SIGTERM));
}

static int do_tgkill_other(void)
{
	return fails((int)syscall(SYS_tgkill, getppid(), getppid(), SIGTERM));
}

static int do_kill_zero(void)
{
	return kill(getppid(), 0) == 0 ? 0 : errno;
}

static int do_raise(void)
{
	if (raise(SIGUSR1) != 0)
		return errno;
	return got_usr1 ? 0 : 1;
}

static int do_abort(void)
{
	abort();
}

static int do_ptrace(void)
{
	return fails((int)ptrace(PTRACE_PEEKUSER, getppid(), NULL, NULL));
}

static int do_setuid(void)
{
	return fails(setuid(getuid()));
}

static int do_unshare(void)
{
	return fails(unshare(0));
}

static int do_clone3(void)
{
	return (int)syscall(SYS_clone3, NULL, 0) == -1 ? errno : CHILD_DID_IT;
}

static int do_netlink(void)
{
	return fails(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
}

static int do_packet(void)
{
	return fails(socket(AF_PACKET, SOCK_DGRAM, 0));
}

/* The families below AF_INET6 but AF_UNIX and AF_INET: 1 if one is not
 * refused with EACCES (the kernel itself would say EAFNOSUPPORT). */
static int do_low_families(void)
{
	int af;
	for (af = AF_UNSPEC; af < AF_INET6; af++) {
		if (af == AF_UNIX || af == AF_INET)
			continue;
		if (socket(af, SOCK_DGRAM, 0) != -1 || errno != EACCES)
			return 1;
	}
	return 0;
}

static int do_inet(void)
{
	static const int families[] = { AF_INET, AF_INET6, AF_UNIX };
	size_t i;
	for (i = 0; i < sizeof families / sizeof families[0]; i++) {
		int fd = socket(families[i], SOCK_STREAM, 0);
		if (fd == -1)
			return errno;
		close(fd);
	}
	return 0;
}

/* What a Redis reconnect to a host name does. */
static int do_resolve(void)
{
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo("localhost", "6379", &hints, &res) != 0)
		return 1;
	freeaddrinfo(res);
	return 0;
}

/* ---- prctl, rlimits ---- */

static int do_dumpable(void)
{
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

static int do_no_new_privs(void)
{
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1;
}

static int do_wx_mapping(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? errno : CHILD_DID_IT;
}

/* 1: NPROC is not 0 (where it must be); 2, 3: it could be raised; 4, 5:
 * a limit could be set at all (setting one to its value needs no
 * capability, so this holds where root lacks CAP_SYS_RESOURCE too). */
static int do_nproc(void)
{
	struct rlimit rl, more = { 16, 16 }, files;
	if (getrlimit(RLIMIT_NPROC, &rl) == -1 || getrlimit(RLIMIT_NOFILE, &files) == -1)
		return errno;
	if ((!LSAN_BUILD || getuid() == 0) && (rl.rlim_cur != 0 || rl.rlim_max != 0))
		return 1;
	if (setrlimit(RLIMIT_NPROC, &more) == 0)          /* prlimit64 */
		return 2;
	if (syscall(SYS_setrlimit, RLIMIT_NPROC, &more) == 0)
		return 3;
	if (setrlimit(RLIMIT_NOFILE, &files) == 0)
		return 4;
	if (syscall(SYS_setrlimit, RLIMIT_NOFILE, &files) == 0)
		return 5;
	return 0;
}

/* stderr is /dev/null here: no file to grow, so FSIZE is 0 too. */
static int do_fsize_core(void)
{
	struct rlimit f, c;
	if (getrlimit(RLIMIT_FSIZE, &f) == -1 || getrlimit(RLIMIT_CORE, &c) == -1)
		return errno;
	return f.rlim_max == 0 && f.rlim_cur == 0 && c.rlim_max == 0 && c.rlim_cur == 0 ? 0 : 1;
}

/* stderr is a log file here: it still takes lines. */
static int do_log_line(void)
{
	if (fprintf(stderr, "a log line\n") < 0 || fflush(stderr) != 0)
		return 1;
	return 0;
}

/* ---- Landlock ---- */

static int read_one(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	if (fd == -1)
		return errno;
	n = read(fd, buf, sizeof buf);
	close(fd);
	return n > 0 ? 0 : (n == -1 ? errno : 1);
}

static int do_create_tmp(void)
{
	return fails(open(newfile, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
}

static int do_create_confdir(void)
{
	return fails(open(newconf, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
}

static int do_write_conf(void)
{
	return fails(open(conf, O_WRONLY | O_APPEND | O_CLOEXEC));
}

static int do_unlink_secret(void)
{
	return fails(unlink(secret));
}

/* In the writable folder: a folder, a file of UP_FSIZE bytes written,
 * renamed, read, removed, the folder removed: what xmpp-web does. */
static int do_upload_files(void)
{
	char buf[UP_FSIZE];
	int fd;

	memset(buf, 'x', sizeof buf);
	if (mkdir(upsub, 0700) == -1)
		return errno;
	fd = open(upfile, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd == -1)
		return errno;
	if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || fsync(fd) == -1 || close(fd) == -1)
		return errno;
	if (rename(upfile, upmoved) == -1 || read_one(upmoved) != 0)
		return errno ? errno : 1;
	if (unlink(upmoved) == -1 || rmdir(upsub) == -1)
		return errno;
	return 0;
}

/* A byte past RLIMIT_FSIZE: SIGXFSZ (a write across it is cut short at
 * the limit, one at it gets the signal). */
static int do_upload_too_big(void)
{
	char buf[UP_FSIZE + 1];
	int fd = open(upbig, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);

	memset(buf, 'x', sizeof buf);
	if (fd == -1)
		return errno;
	if (write(fd, buf, sizeof buf) != UP_FSIZE)
		return 1;
	return fails((int)write(fd, buf, 1));
}

static int do_read_etc(void)
{
	return read_one("/etc/passwd");
}

static int do_read_secret(void)
{
	return read_one(secret);
}

static int do_read_conf(void)
{
	return read_one(conf);
}

static int do_read_cert(void)
{
	return read_one(cert);
}

/* A credential the configuration does not name (xmpp.conf could be one). */
static int do_read_credential(void)
{
	return read_one(othercred);
}

static int do_read_key(void)
{
	return read_one(key);
}

static int do_abstract(void)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1)
		return 1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, abstract_name, strlen(abstract_name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract_name));
	return fails(connect(fd, (struct sockaddr *)&sa, len));
}

/* A listening abstract socket of the parent's (outside the sandbox). */
static int abstract_listener(void)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(abstract_name, sizeof abstract_name, "xmppd-test-sandbox-%d", (int)getpid());
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, abstract_name, strlen(abstract_name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract_name));
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, len) == -1 || listen(fd, 4) == -1) {
		perror("abstract socket");
		exit(2);
	}
	return fd;
}

static void setup(void)
{
	char text[3 * PATH_MAX];
	char err[512];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(confdir, sizeof confdir, "%s/conf", tmpdir);
	snprintf(creddir, sizeof creddir, "%s/cred", tmpdir);
	snprintf(keydir, sizeof keydir, "%s/keys", tmpdir);
	if (mkdir(confdir, 0700) == -1 || mkdir(creddir, 0700) == -1 || mkdir(keydir, 0700) == -1) {
		perror("mkdir");
		exit(2);
	}
	snprintf(conf, sizeof conf, "%s/xmpp.conf", confdir);
	snprintf(cert, sizeof cert, "%s/xmpp.pem", creddir);
	snprintf(key, sizeof key, "%s/xmpp.key", keydir);
	snprintf(othercred, sizeof othercred, "%s/other", creddir);
	snprintf(secret, sizeof secret, "%s/secret", tmpdir);
	snprintf(newfile, sizeof newfile, "%s/new", tmpdir);
	snprintf(newconf, sizeof newconf, "%s/new.conf", confdir);
	snprintf(logfile, sizeof logfile, "%s/log", tmpdir);
	snprintf(updir, sizeof updir, "%s/up", tmpdir);
	snprintf(upsub, sizeof upsub, "%s/slot", updir);
	snprintf(upfile, sizeof upfile, "%s/slot/data.part", updir);
	snprintf(upmoved, sizeof upmoved, "%s/slot/data", updir);
	snprintf(upbig, sizeof upbig, "%s/big", updir);
	write_file(cert, "certificate\n");
	write_file(key, "key\n");
	write_file(othercred, "other\n");
	write_file(secret, "secret\n");
	snprintf(text, sizeof text, "tls_cert = %s\n", key);
	write_file(conf, text);
	if (config_load(&cfg_nocred, conf, err, sizeof err) == -1) {
		printf("setup: %s\n", err);
		exit(2);
	}
	snprintf(text, sizeof text, "tls_cert = xmpp.pem\ntls_key = %s\n", key);
	write_file(conf, text);
	if (setenv("CREDENTIALS_DIRECTORY", creddir, 1) == -1 ||
	    config_load(&cfg, conf, err, sizeof err) == -1) {
		printf("setup: %s\n", err);
		exit(2);
	}
}

static void cleanup(void)
{
	const char *files[] = { conf, cert, key, othercred, secret, newfile, newconf, logfile,
	    upfile, upmoved, upbig };
	size_t i;
	for (i = 0; i < sizeof files / sizeof files[0]; i++)
		unlink(files[i]);
	rmdir(confdir);
	rmdir(creddir);
	rmdir(keydir);
	rmdir(upsub);
	rmdir(updir);
	rmdir(tmpdir);
}

int main(void)
{
	struct sigaction sa;
	int st, abi, lfd;

	setup();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	/* seccomp: what a handler never does kills it. */
	CHECK(killed_by(run(do_execve, NULL), SIGSYS));
	CHECK(killed_by(run(do_fork, NULL), SIGSYS));
	st = run(do_kill_term, NULL);
	CHECK(killed_by(st, SIGSYS));
	CHECK(!got_term);
	got_term = 0;
	CHECK(killed_by(run(do_tgkill_other, NULL), SIGSYS));
	CHECK(!got_term);
	CHECK(killed_by(run(do_ptrace, NULL), SIGSYS));
	CHECK(killed_by(run(do_setuid, NULL), SIGSYS));
	CHECK(killed_by(run(do_unshare, NULL), SIGSYS));
	/* What it does still works: the liveness probe, signals to itself. */
	CHECK(exited_with(run(do_kill_zero, NULL), 0));
	CHECK(exited_with(run(do_raise, NULL), 0));
	CHECK(killed_by(run(do_abort, NULL), SIGABRT));
	CHECK(exited_with(run(do_clone3, NULL), ENOSYS));
	/* Sockets: only AF_UNIX, AF_INET, AF_INET6; the rest EACCES. */
	CHECK(exited_with(run(do_netlink, NULL), EACCES));
	CHECK(exited_with(run(do_packet, NULL), EACCES));
	CHECK(exited_with(run(do_low_families, NULL), 0));
	CHECK(exited_with(run(do_inet, NULL), 0));
	CHECK(exited_with(run(do_resolve, NULL), 0));

	/* prctl and rlimits. */
	CHECK(exited_with(run(do_dumpable, NULL), 0));
	CHECK(exited_with(run(do_no_new_privs, NULL), 0));
	CHECK(exited_with(run(do_nproc, NULL), 0));
	CHECK(exited_with(run(do_fsize_core, "/dev/null"), 0));
	CHECK(exited_with(run(do_log_line, logfile), 0));
	CHECK(read_one(logfile) == 0);
	if (prctl(PR_GET_MDWE, 0, 0, 0, 0) >= 0)
		CHECK(exited_with(run(do_wx_mapping, NULL), EACCES));
	else
		printf("skip: the kernel has no PR_SET_MDWE\n");

	/* Landlock: no writes anywhere, reads only where configured. */
	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		printf("skip: the kernel has no Landlock\n");
		cleanup();
		return CHECK_DONE();
	}
	CHECK(exited_with(run(do_create_tmp, NULL), EACCES));
	CHECK(access(newfile, F_OK) == -1);
	CHECK(exited_with(run(do_create_confdir, NULL), EACCES));
	CHECK(access(newconf, F_OK) == -1);
	CHECK(exited_with(run(do_write_conf, NULL), EACCES));
	CHECK(exited_with(run(do_unlink_secret, NULL), EACCES));
	CHECK(access(secret, F_OK) == 0);
	CHECK(exited_with(run(do_read_etc, NULL), 0));
	CHECK(exited_with(run(do_read_secret, NULL), EACCES));
	CHECK(exited_with(run(do_read_conf, NULL), 0));
	CHECK(exited_with(run(do_read_cert, NULL), 0));
	CHECK(exited_with(run(do_read_key, NULL), 0));
	use_cfg = &cfg_nocred;          /* the folder is allowed by itself */
	CHECK(exited_with(run(do_read_credential, NULL), 0));
	use_cfg = &cfg;
	/* xmpp-web's folder: everything a PUT does there, nothing elsewhere,
	 * no file over its size. */
	use_writable = updir;
	CHECK(exited_with(run(do_upload_files, "/dev/null"), 0));
	CHECK(access(updir, F_OK) == 0 && access(upsub, F_OK) == -1);
	st = run(do_upload_too_big, "/dev/null");
	if (!CHECK(killed_by(st, SIGXFSZ)))
		printf("  status %#x\n", st);
	CHECK(exited_with(run(do_create_tmp, "/dev/null"), EACCES));
	CHECK(exited_with(run(do_read_secret, "/dev/null"), EACCES));
	use_writable = NULL;
	if (abi >= LL_ABI_SCOPE) {
		lfd = abstract_listener();
		CHECK(exited_with(run(do_abstract, NULL), EPERM));
		close(lfd);
	} else {
		printf("skip: Landlock ABI %d has no abstract unix socket scoping\n", abi);
	}
	cleanup();
	return CHECK_DONE();
}
