/*
 * sandbox.h - the handler restricts itself, once, before it parses the
 * first byte from the client (the way OpenSSH's per-connection process
 * does), so that a handler started by any listener, not only by the
 * shipped systemd unit, runs with no more than it needs.
 *
 * Contract: sandbox_enter() is called once, single-threaded, after the
 * configuration is loaded (log_init() done), and cannot be undone. It
 * leaves the handler everything it still does afterwards: reading files
 * under /etc, /usr, /lib* and the folders of the configuration file, of
 * the TLS certificates and keys (loaded at STARTTLS time), of the TURN
 * secret file (read when a client asks for TURN credentials) and
 * $CREDENTIALS_DIRECTORY; sockets of family AF_UNIX, AF_INET and AF_INET6
 * (Redis reconnects, name resolution, the journal); kill(pid, 0), the
 * liveness probe of other handlers; signals to itself (abort()). After
 * it, in order of enforcement:
 *
 *   rlimits   RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_CORE are 0 (FSIZE is
 *             left alone when stderr is a regular file: the log, and
 *             is the largest upload under sandbox_enter_writable);
 *   prctl     no new privileges, not dumpable (no ptrace nor
 *             /proc/PID/mem by processes of the same uid), no memory
 *             that becomes executable (PR_SET_MDWE, where the kernel has
 *             it);
 *   Landlock  no file system write anywhere (but the one folder of
 *             sandbox_enter_writable), reads only under the
 *             folders above, no connection to abstract unix sockets
 *             (best effort: skipped on a kernel without Landlock);
 *   seccomp   a deny list: system calls a handler never makes (exec,
 *             fork, ptrace, mounts, modules, setuid ...) kill the
 *             process with SIGSYS; socket() of another family fails with
 *             EACCES, setrlimit with EPERM, clone3 with ENOSYS.
 *
 * Sanitizer builds (__SANITIZE_ADDRESS__): LeakSanitizer's exit-time
 * check clones a tracer, which ptraces the handler and reads /proc/self:
 * exactly that clone (its flags), ptrace of the handler itself and reads
 * under /proc are allowed (and of the program file, whose debug
 * information the reports are symbolized with), and RLIMIT_NPROC stays as
 * it is unless the kernel exempts the process from it (uid 0). The rest
 * is the same.
 *
 * Returns 0, or -1 with a one-line reason in err: the handler must not
 * serve then (a kernel without seccomp at all is not an error; it is
 * logged as a warning).
 */
#ifndef XMPPD_SANDBOX_H
#define XMPPD_SANDBOX_H

#include <stddef.h>

struct config;

/* Shared with handler/bpf/gen-filter.c, which compiles the seccomp filter
 * at build time: the filter compares with this value where this
 * process's pid goes (no pid is this large), and has at most
 * SANDBOX_BPF_MAX instructions. */
#define SANDBOX_PID_MARK  0x7ffffffeU
#define SANDBOX_BPF_MAX   512

/* LeakSanitizer runs at exit in AddressSanitizer builds (gcc, clang). */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_LSAN 1
#endif
#endif

/* cfgpath: the -c argument or NULL, resolved as config_load() does. */
int sandbox_enter(const struct config *cfg, const char *cfgpath, char *err, size_t errlen);

/* The same, but beneath the folder writable (made, mode 0700, if it is
 * missing; NULL: none) the process may also read, create, write, rename
 * and remove files and folders, of at most fsize bytes each
 * (RLIMIT_FSIZE is fsize rather than 0): xmpp-web's upload_dir when
 * upload_domain is set. Nothing else changes. */
int sandbox_enter_writable(const struct config *cfg, const char *cfgpath,
    const char *writable, long fsize, char *err, size_t errlen);

#endif
