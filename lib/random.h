/*
 * random.h - kernel randomness (getrandom(2)) for ids, resources and
 * secrets. Not OpenSSL's generator: its state would cost a plaintext
 * session a few hundred KiB of heap.
 *
 * Contract: nothing is written to out on failure; failure happens only
 * when the kernel has no entropy to give, and the caller decides whether
 * that is fatal.
 */
#ifndef XMPPD_RANDOM_H
#define XMPPD_RANDOM_H

#include <stddef.h>

#define RANDOM_HEX_MAX 64       /* bytes one random_hex() call may draw */

/* 2*nbytes lower-case hex digits of fresh randomness, NUL-terminated (out
 * holds 2*nbytes+1). Returns 0; XE_INVALID if nbytes > RANDOM_HEX_MAX,
 * XE_ENTROPY if the kernel gave none (nothing is written then). */
int random_hex(char *out, size_t nbytes);

#endif
