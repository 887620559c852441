/*
 * keyslot.c - Redis Cluster's hash slots (keyslot.h).
 */
#include "keyslot.h"

#include <string.h>

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
	memcpy(out, keyslot_tags[slot % KEYSLOT_SLOTS], KEYSLOT_TAG_LEN + 1);
}
