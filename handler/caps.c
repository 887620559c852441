/*
 * caps.c - entity capabilities, XEP-0115: which notifications each
 * session's client wants (its "<node>+notify" features, XEP-0163 4).
 *
 * Not yet filled in: every client's capabilities are unknown, so
 * caps_wants answers 0.
 */
#include "modules.h"
#include "conn.h"

int caps_wants(struct conn *c, const char *node)
{
	(void)c;
	(void)node;
	return 0;
}

const struct module mod_caps = {
	.name = "caps",
};
