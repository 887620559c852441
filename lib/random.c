/*
 * random.c - kernel randomness as hex (see random.h).
 */
#include "random.h"
#include "xerr.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

int random_hex(char *out, size_t nbytes)
{
	unsigned char raw[RANDOM_HEX_MAX];
	size_t got = 0, i;
	ssize_t n;

	if (nbytes > sizeof raw)
		return XE_INVALID;
	while (got < nbytes) {
		n = getrandom(raw + got, nbytes - got, 0);
		if (n <= 0)
			return XE_ENTROPY;
		got += (size_t)n;
	}
	for (i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	memset(raw, 0, sizeof raw);    /* it may have been a secret */
	return 0;
}
