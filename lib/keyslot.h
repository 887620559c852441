/*
 * keyslot.h - Redis Cluster's hash slots: which of KEYSLOT_SLOTS slots a
 * key falls in, and slot tags, short strings that name a slot.
 *
 * A cluster serves each slot from one primary, and a command or script
 * may only touch keys of one slot. A key's slot is the CRC16 of the part
 * inside its first non-empty {...} (its hash tag), or of the whole key:
 * xmppd tags every key of one user, room or route alike (store.h). A
 * global index that a script updates beside such keys is split in one
 * shard per slot, "name:{TAG}", TAG the slot tag of the owner's slot.
 *
 * Contract: pure functions.
 */
#ifndef XMPPD_KEYSLOT_H
#define XMPPD_KEYSLOT_H

#include <stddef.h>

#define KEYSLOT_SLOTS   16384
#define KEYSLOT_TAG_MAX 8        /* a slot tag and its NUL */

/* The slot of key (len bytes), as Redis computes it. */
unsigned keyslot(const char *key, size_t len);
/* The slot tag of slot into out (KEYSLOT_TAG_MAX bytes): the first
 * string, counting in base 36, whose slot is slot; every program finds
 * the same. (A table made on first use: 128 KiB.) */
void keyslot_tag(unsigned slot, char *out);

#endif
