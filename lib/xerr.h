/*
 * xerr.h - the error codes of xmppd's functions, and their names.
 *
 * Contract: a function that can fail returns 0 (or a count, or a named
 * result, all >= 0) on success and one of these negative codes on
 * failure, never a bare -2 or 1 that its caller must know by heart.
 * Where a code has details (Redis's error text, TLS's), the object that
 * failed holds them (store->err, io->err); callers add context when they
 * log.
 */
#ifndef XMPPD_XERR_H
#define XMPPD_XERR_H

enum xerr {
	XE_OK      = 0,
	XE_REDIS   = -1,    /* Redis unreachable, timed out or failed: store->err */
	XE_SYS     = -2,    /* a system call failed: errno */
	XE_REPLY   = -3,    /* Redis answered what the script never returns */
	XE_ENTROPY = -4,    /* the kernel gave no randomness */
	XE_INVALID = -5,    /* the input breaks the function's contract */
};

/* A short English name of code e ("Redis failed", ...); never NULL. */
const char *xerr_str(int e);

#endif
