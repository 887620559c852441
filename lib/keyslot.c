/*
 * keyslot.c - Redis Cluster's hash slots (keyslot.h).
 */
#include "keyslot.h"

#include <string.h>

#include "xmalloc.h"

/* CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with. */
static unsigned crc16(const char *p, size_t n)
{
	unsigned crc = 0;
	size_t i;
	int b;
	for (i = 0; i < n; i++) {
		crc ^= (unsigned)(unsigned char)p[i] << 8;
		for (b = 0; b < 8; b++)
			crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
	}
	return crc;
}

unsigned keyslot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len), *close;
	if (open) {
		close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
		if (close && close > open + 1)
			return crc16(open + 1, (size_t)(close - open - 1)) % KEYSLOT_SLOTS;
	}
	return crc16(key, len) % KEYSLOT_SLOTS;
}

void keyslot_tag(unsigned slot, char *out)
{
	/* For each slot, the first string counting in base 36 whose slot it
	 * is: every process finds the same ones. Short strings cover all
	 * 16384 slots (at most 4 characters); the table is made once, on
	 * first use. */
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	static char (*tag)[KEYSLOT_TAG_MAX];
	unsigned long n;
	unsigned left = KEYSLOT_SLOTS;

	if (!tag) {
		tag = xcalloc(KEYSLOT_SLOTS, sizeof *tag);
		for (n = 0; left; n++) {
			char t[KEYSLOT_TAG_MAX];
			unsigned long v = n;
			unsigned k;
			int len = 0;
			do {
				t[len++] = digits[v % 36];
				v /= 36;
			} while (v && len < KEYSLOT_TAG_MAX - 1);
			k = crc16(t, (size_t)len) % KEYSLOT_SLOTS;
			if (!tag[k][0]) {
				memcpy(tag[k], t, (size_t)len);
				left--;
			}
		}
	}
	memcpy(out, tag[slot % KEYSLOT_SLOTS], KEYSLOT_TAG_MAX);
}
