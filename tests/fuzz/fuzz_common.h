/*
 * fuzz_common.h - what both fuzz targets share: how the first bytes of an
 * input choose the chunks the rest is fed in, and a deterministic byte
 * generator (so an input replays exactly, stream ids and nonces included).
 *
 * Chunk header: byte 0 holds k = byte0 & 7 in its low bits (the high bits
 * belong to the target); then k bytes follow, each a chunk size, used in
 * turn and cycled; a size of 0 means "all that is left". k = 0: the whole
 * rest in one piece. A missing size byte (short input) counts as 0.
 */
#ifndef XMPPD_FUZZ_COMMON_H
#define XMPPD_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

struct chunker {
	const uint8_t *p;
	size_t left;
	uint8_t sizes[7];
	int n, i;
};

/* Take the chunk header (after the target's own bytes); returns the flags
 * byte (byte 0). */
static inline uint8_t chunker_init(struct chunker *ck, const uint8_t **data, size_t *size)
{
	uint8_t flags = 0;
	int k, j;

	ck->n = ck->i = 0;
	if (*size) {
		flags = (*data)[0];
		(*data)++, (*size)--;
	}
	k = flags & 7;
	for (j = 0; j < k; j++) {
		ck->sizes[ck->n++] = *size ? (*data)[0] : 0;
		if (*size)
			(*data)++, (*size)--;
	}
	ck->p = *data;
	ck->left = *size;
	return flags;
}

/* The next chunk: 0 when the input is used up. */
static inline size_t chunker_next(struct chunker *ck, const uint8_t **chunk)
{
	size_t n;
	if (!ck->left)
		return 0;
	n = ck->n ? ck->sizes[ck->i++ % ck->n] : 0;
	if (n == 0 || n > ck->left)
		n = ck->left;
	*chunk = ck->p;
	ck->p += n;
	ck->left -= n;
	return n;
}

/* splitmix64, one byte at a time (tests/fuzz/make-seeds.py has its twin). */
struct fuzz_rng {
	uint64_t state, word;
	int avail;
};

static inline void fuzz_rng_seed(struct fuzz_rng *r, uint64_t seed)
{
	r->state = seed;
	r->avail = 0;
}

static inline uint8_t fuzz_rng_byte(struct fuzz_rng *r)
{
	uint8_t b;
	if (!r->avail) {
		uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		r->word = z ^ (z >> 31);
		r->avail = 8;
	}
	b = (uint8_t)(r->word & 0xff);
	r->word >>= 8;
	r->avail--;
	return b;
}

#define FUZZ_RNG_SEED 0x786d707064ULL   /* "xmppd" */

#endif
