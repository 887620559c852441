/*
 * test_keyslot.c - unit tests for lib/keyslot.c, Redis Cluster's hash
 * slots. The expected slots are what redis-server 7.0 answered to
 * CLUSTER KEYSLOT for the same keys.
 *
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "keyslot.h"
#include "check.h"

#include <string.h>

static unsigned slot_of(const char *key)
{
	return keyslot(key, strlen(key));
}

static void test_slots(void)
{
	CHECK_INT(slot_of("foo"), 12182);
	CHECK_INT(slot_of("bar"), 5061);
	CHECK_INT(slot_of("hello"), 866);
	/* The hash tag alone counts ... */
	CHECK_INT(slot_of("{user1000}.following"), 3443);
	CHECK_INT(slot_of("xmpp:{alice@localhost}:roster"), 4560);
	CHECK_INT(slot_of("xmpp:{alice@localhost}:roster"), slot_of("alice@localhost"));
	/* ... unless it is empty: then the whole key, or the first
	 * non-empty {...} is not looked for. */
	CHECK_INT(slot_of("a{}b"), 13694);
	CHECK_INT(slot_of("{}{x}"), 3257);
}

/* The tags by their definition (keyslot.h), the slow way: what
 * lib/slottags.py wrote into the table. */
static void test_table(void)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	static char want[KEYSLOT_SLOTS][KEYSLOT_TAG_MAX];
	unsigned long n;
	unsigned k, left = KEYSLOT_SLOTS, differ = 0;

	for (n = 0; left; n++) {
		char t[KEYSLOT_TAG_MAX] = { 0 };
		unsigned long v = n;
		int len = 0;
		do {
			t[len++] = digits[v % 36];
			v /= 36;
		} while (v);
		k = slot_of(t);
		if (!want[k][0]) {
			memcpy(want[k], t, sizeof t);
			left--;
		}
	}
	for (k = 0; k < KEYSLOT_SLOTS; k++) {
		char tag[KEYSLOT_TAG_MAX];
		keyslot_tag(k, tag);
		if (strcmp(tag, want[k]))
			differ++;
	}
	CHECK_INT(differ, 0);
}

static void test_tags(void)
{
	char tag[KEYSLOT_TAG_MAX], again[KEYSLOT_TAG_MAX];
	unsigned k, wrong = 0, longest = 0;

	for (k = 0; k < KEYSLOT_SLOTS; k++) {
		keyslot_tag(k, tag);
		if (slot_of(tag) != k)
			wrong++;
		if (strlen(tag) > longest)
			longest = (unsigned)strlen(tag);
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(longest <= 4, 1);
	/* The same tag every time, and beyond the last slot it wraps. */
	keyslot_tag(4560, tag);
	keyslot_tag(4560 + KEYSLOT_SLOTS, again);
	CHECK_STR(tag, again);
	CHECK_INT(slot_of(tag), slot_of("alice@localhost"));
}

int main(void)
{
	test_slots();
	test_tags();
	test_table();
	return CHECK_DONE();
}
