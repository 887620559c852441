/*
 * hex.h - hexadecimal digits: digests written as hex, and what
 * random_hex (random.h) wrote as ids, tokens and secrets, checked or
 * decoded when it returns from Redis or a URL.
 *
 * Contract: pure functions; nothing is read past the bytes stated (or
 * past a NUL).
 */
#ifndef XMPPD_HEX_H
#define XMPPD_HEX_H

#include <stddef.h>

/* in (len bytes) as 2 * len lower-case hex digits and a NUL into out. */
void hex_encode(const unsigned char *in, size_t len, char *out);

/* The value of hex digit ch (either case), or -1 if it is not one. */
int hex_value(char ch);

/* 1 if s is exactly n lower-case hex digits (random_hex's spelling) and
 * its NUL; else 0. */
int hex_lower_ok(const char *s, size_t n);

#endif
