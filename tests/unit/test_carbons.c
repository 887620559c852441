/*
 * test_carbons.c - the envelope of an XEP-0280 carbon copy (router/carbons.c)
 * as route_parse reads it: a stanza, with its accepted time, marked echo,
 * so that a receiving handler neither keeps it for a second delivery nor
 * routes it again.
 */
#include "carbons.h"
#include "route.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static void test_envelope(void)
{
	static const char xml[] = "<message from='a@x' to='a@x/r'><sent/></message>";
	struct route_msg m;
	size_t len;
	char *e = carbons_envelope(xml, 1234567890L, &len);

	CHECK_STR(e, "stanza 1234567890 echo\n<message from='a@x' to='a@x/r'><sent/></message>");
	CHECK_INT(len, strlen(e));
	CHECK_INT(route_parse(e, len, &m), 0);
	CHECK_INT(m.kind, ROUTE_STANZA);
	CHECK_INT(m.accepted, 1234567890L);
	CHECK_INT(m.echo, 1);
	CHECK_INT(m.body_len, strlen(xml));
	CHECK(!memcmp(m.body, xml, m.body_len));
	free(e);
	/* The head alone (what route_stanza.lua completes) is an envelope
	 * too: header and the start of the XML. */
	e = carbons_envelope("<message to='", 0, &len);
	CHECK_STR(e, "stanza 0 echo\n<message to='");
	free(e);
}

int main(void)
{
	test_envelope();
	return CHECK_DONE();
}
