/*
 * sandbox.c - rlimits, prctl, Landlock and a seccomp deny list for one
 * handler (see sandbox.h for what each allows and why).
 *
 * The seccomp filter is a deny list (default allow): the handler's own
 * system calls are many and change with glibc, OpenSSL and hiredis, but
 * what a handler never does is short and stable. Landlock is used through
 * its raw system calls; the rights a newer kernel knows but the build's
 * headers do not are defined here.
 */
#include "sandbox.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <linux/filter.h>
#include <linux/seccomp.h>


#ifndef PR_SET_MDWE
#define PR_SET_MDWE                  65
#define PR_GET_MDWE                  66
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN     (1UL << 0)
#endif

/* Landlock rights newer than linux-libc-dev 6.1 (ABI 3, 5, 6). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE  (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#endif
#define LL_FS_ABI1    ((1ULL << 13) - 1)    /* EXECUTE .. MAKE_SYM */
#define LL_READ       (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* Beneath the writable folder: files and folders made, written, renamed
 * and removed; not devices, pipes, sockets, links nor execution. */
#define LL_WRITE      (LL_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | \
                       LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
                       LANDLOCK_ACCESS_FS_REMOVE_DIR)

/* ABI 6's ruleset attribute; an older kernel takes it as long as the
 * fields it does not know are 0. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define SANDBOX_MAX_ROOTS  80     /* read roots: fixed ones + 2 per configured file */

/* Read everywhere below these (a missing one is skipped). */
static const char *const read_roots[] = {
	"/etc", "/usr", "/lib", "/lib64", "/lib32", "/libx32",
#ifdef SANDBOX_LSAN
	"/proc",        /* LeakSanitizer: /proc/self/maps, /proc/self/task */
#endif
};


static int fail(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "sandbox: %s: %s", what, strerror(e));
	return -1;
}

/* ---- rlimits ---- */

/* Set both limits of res to 0 with prlimit (prlimit64, which systemd's
 * @default set allows, unlike setrlimit in @resources). Refused but
 * already 0 (a unit's Limit*= did it): nothing to do. */
static int zero_limit(int res, const char *name, char *err, size_t errlen)
{
	struct rlimit zero = { 0, 0 }, cur;
	int e;

	if (prlimit(0, res, &zero, NULL) == 0)
		return 0;
	e = errno;
	if (getrlimit(res, &cur) == 0 && cur.rlim_cur == 0 && cur.rlim_max == 0)
		return 0;
	return fail(err, errlen, name, e);
}

/* fsize: what RLIMIT_FSIZE becomes; 0 but where stderr is a file. */
static int set_limits(long fsize, char *err, size_t errlen)
{
	struct stat st;
	int nproc = 1;

	/* The kernel exempts uid 0 from NPROC; LeakSanitizer's tracer needs
	 * the exemption, so sanitizer builds set it only then. */
#ifdef SANDBOX_LSAN
	nproc = getuid() == 0;
#endif
	if (nproc && zero_limit(RLIMIT_NPROC, "RLIMIT_NPROC", err, errlen) == -1)
		return -1;
	/* A log file on stderr (inetd, tests) grows: FSIZE 0 would end the
	 * handler at its next log line (SIGXFSZ). Landlock still keeps it
	 * from opening any file for writing. */
	if (fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
		/* left alone */
	} else if (fsize > 0) {
		struct rlimit lim = { (rlim_t)fsize, (rlim_t)fsize };
		if (prlimit(0, RLIMIT_FSIZE, &lim, NULL) == -1)
			return fail(err, errlen, "RLIMIT_FSIZE", errno);
	} else if (zero_limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", err, errlen) == -1) {
		return -1;
	}
	return zero_limit(RLIMIT_CORE, "RLIMIT_CORE", err, errlen);
}

/* ---- prctl ---- */

/* ENOSYS: a kernel without seccomp, or valgrind, which does not emulate
 * it (tests/proto/test_memory.py runs handlers under it). */
static int have_seccomp(void)
{
	uint32_t kill_process = SECCOMP_RET_KILL_PROCESS;
	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &kill_process) == 0 ||
	    errno != ENOSYS;
}

/* mdwe: refuse memory that becomes executable; not under valgrind (no
 * seccomp), whose translated code needs it. */
static int set_prctl(int mdwe, char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return fail(err, errlen, "PR_SET_NO_NEW_PRIVS", errno);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return fail(err, errlen, "PR_SET_DUMPABLE", errno);
	/* EINVAL: a kernel before 6.3. EPERM: already set (by systemd's
	 * MemoryDenyWriteExecute=, say) with other flags; fine if it refuses
	 * exec gain. */
	if (mdwe && prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) == -1 && errno != EINVAL) {
		int e = errno, got = prctl(PR_GET_MDWE, 0, 0, 0, 0);
		if (got == -1 || !(got & (int)PR_MDWE_REFUSE_EXEC_GAIN))
			return fail(err, errlen, "PR_SET_MDWE", e);
	}
	return 0;
}

/* ---- Landlock ---- */

struct ll {
	int fd;                           /* the ruleset */
	int n;                            /* roots added */
	dev_t dev[SANDBOX_MAX_ROOTS];     /* each once */
	ino_t ino[SANDBOX_MAX_ROOTS];
};

/* Allow reads beneath path (a directory) or of path (a file). A path that
 * cannot be opened is skipped: whatever would read it fails anyway. */
static int ll_allow(struct ll *l, const char *path)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	int i, rc = 0, e = 0;

	if (l->n >= SANDBOX_MAX_ROOTS)
		return 0;
	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd == -1)
		return 0;
	if (fstat(pb.parent_fd, &st) == -1) {
		close(pb.parent_fd);
		return 0;
	}
	for (i = 0; i < l->n; i++)
		if (l->dev[i] == st.st_dev && l->ino[i] == st.st_ino)
			break;
	if (i == l->n) {
		pb.allowed_access = S_ISDIR(st.st_mode) ? LL_READ : LANDLOCK_ACCESS_FS_READ_FILE;
		rc = (int)syscall(SYS_landlock_add_rule, l->fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
		e = errno;
		l->dev[l->n] = st.st_dev;
		l->ino[l->n++] = st.st_ino;
	}
	close(pb.parent_fd);
	errno = e;
	return rc;
}

/* Allow the folder of a configured file, and the folder of what it
 * resolves to (certbot's live/ names are links into archive/, where a
 * renewal puts new files). A file directly under / is allowed alone. */
static int ll_allow_file(struct ll *l, const char *file)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *f = file;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		char *slash;
		if (pass == 1) {
			if (!realpath(file, real))
				return 0;
			f = real;
		}
		if (snprintf(dir, sizeof dir, "%s", f) >= (int)sizeof dir)
			continue;
		slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, sizeof dir, ".");
		else if (slash == dir)
			snprintf(dir, sizeof dir, "%s", f);
		else
			*slash = '\0';
		if (ll_allow(l, dir) == -1)
			return -1;
	}
	return 0;
}

/* The file a configured name means (config_file_path): certificates,
 * keys and the TURN secret, read after the sandbox is up. */
static int ll_allow_configured(struct ll *l, const char *name)
{
	char path[PATH_MAX];
	if (!name[0] || config_file_path(name, path, sizeof path) == -1)
		return 0;
	return ll_allow_file(l, path);
}

/* Allow everything of LL_WRITE (those the ruleset handles) beneath the
 * folder dir; a folder that cannot be opened is skipped (what would
 * write there fails). Not through ll_allow: a read rule already made
 * for the same folder must not make this one be skipped. */
static int ll_allow_write(struct ll *l, const char *dir, uint64_t handled)
{
	struct landlock_path_beneath_attr pb;
	int rc, e;

	pb.parent_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pb.parent_fd == -1)
		return 0;
	pb.allowed_access = (LL_WRITE | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE) &
	    handled;
	rc = (int)syscall(SYS_landlock_add_rule, l->fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	e = errno;
	close(pb.parent_fd);
	errno = e;
	return rc;
}

static int landlock(const struct config *cfg, const char *cfgpath, const char *writable,
    char *err, size_t errlen)
{
	struct ll_ruleset_attr attr;
	struct ll l;
	const char *cred = getenv("CREDENTIALS_DIRECTORY");
	size_t i;
	int abi, rc = 0;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		/* Not built in, off at boot, or refused by an outer seccomp filter. */
		if (errno == ENOSYS || errno == EOPNOTSUPP || errno == EPERM) {
			log_msg(LOG_DEBUG, "sandbox: no Landlock (%s): file system not restricted",
			    strerror(errno));
			return 0;
		}
		return fail(err, errlen, "landlock_create_ruleset", errno);
	}
	memset(&attr, 0, sizeof attr);
	attr.handled_access_fs = LL_FS_ABI1;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	/* Not LANDLOCK_SCOPE_SIGNAL: kill(pid, 0) on other handlers would
	 * answer EPERM, which conn.c reads as "alive". */
	if (abi >= 6)
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
	l.n = 0;
	l.fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (l.fd == -1)
		return fail(err, errlen, "landlock_create_ruleset", errno);

	for (i = 0; rc == 0 && i < sizeof read_roots / sizeof read_roots[0]; i++)
		rc = ll_allow(&l, read_roots[i]);
#ifdef SANDBOX_LSAN
	/* The sanitizers' symbolizer reads the program's debug information. */
	if (rc == 0)
		rc = ll_allow(&l, "/proc/self/exe");
#endif
	if (rc == 0)
		rc = ll_allow_file(&l, config_path(cfgpath));
	if (rc == 0 && cred && cred[0])
		rc = ll_allow(&l, cred);
	if (rc == 0 && writable)
		rc = ll_allow_write(&l, writable, attr.handled_access_fs);
	if (rc == 0)
		rc = ll_allow_configured(&l, cfg->tls_cert);
	if (rc == 0)
		rc = ll_allow_configured(&l, cfg->tls_key);
	for (i = 0; rc == 0 && i < (size_t)cfg->ntls_domains; i++) {
		rc = ll_allow_configured(&l, cfg->tls_domains[i].cert);
		if (rc == 0)
			rc = ll_allow_configured(&l, cfg->tls_domains[i].key);
	}
	if (rc == 0)
		rc = ll_allow_configured(&l, cfg->turn_secret_file);
	if (rc == -1) {
		rc = errno;
		close(l.fd);
		return fail(err, errlen, "landlock_add_rule", rc);
	}
	rc = (int)syscall(SYS_landlock_restrict_self, l.fd, 0);
	if (rc == -1)
		rc = errno;
	close(l.fd);
	return rc ? fail(err, errlen, "landlock_restrict_self", rc) : 0;
}

/* ---- seccomp ---- */

/* The filter, compiled with libseccomp when the handler is built
 * (handler/bpf/gen-filter.c): building it at run time cost each
 * connection about a millisecond. Only this process's pid, which the
 * filter compares with, is written in here. */
extern const struct sock_filter sandbox_bpf[];
extern const unsigned short sandbox_bpf_len;

static int filter(char *err, size_t errlen)
{
	struct sock_filter prog[SANDBOX_BPF_MAX];
	struct sock_fprog fp = { sandbox_bpf_len, prog };
	unsigned short i;

	if (sandbox_bpf_len > SANDBOX_BPF_MAX)
		return fail(err, errlen, "seccomp filter size", E2BIG);
	for (i = 0; i < sandbox_bpf_len; i++) {
		prog[i] = sandbox_bpf[i];
		if (BPF_CLASS(prog[i].code) == BPF_JMP && BPF_SRC(prog[i].code) == BPF_K &&
		    prog[i].k == SANDBOX_PID_MARK)
			prog[i].k = (uint32_t)getpid();
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp) == -1)
		return fail(err, errlen, "seccomp filter", errno);
	return 0;
}

int sandbox_enter_writable(const struct config *cfg, const char *cfgpath,
    const char *writable, long fsize, char *err, size_t errlen)
{
	int seccomp = have_seccomp();

	if (writable && mkdir(writable, 0700) == -1 && errno != EEXIST)
		log_msg(LOG_WARNING, "sandbox: %s: %s", writable, strerror(errno));
	if (set_limits(writable ? fsize : 0, err, errlen) == -1 ||
	    set_prctl(seccomp, err, errlen) == -1 ||
	    landlock(cfg, cfgpath, writable, err, errlen) == -1)
		return -1;
	if (!seccomp) {
		log_msg(LOG_WARNING, "sandbox: no seccomp: system calls not restricted");
		return 0;
	}
	return filter(err, errlen);
}

int sandbox_enter(const struct config *cfg, const char *cfgpath, char *err, size_t errlen)
{
	return sandbox_enter_writable(cfg, cfgpath, NULL, 0, err, errlen);
}
