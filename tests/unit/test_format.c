/*
 * test_format.c - unit tests for router/format.c, the formats
 * xmpp-redis(7) documents: key and channel names (with the hash tag's
 * escaping), envelopes, session records, roster item heads, and the one
 * shape of script replies. Pure functions: no Redis is needed.
 *
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "store.h"
#include "route.h"
#include "session.h"
#include "roster.h"
#include "xerr.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static struct store st;       /* only its prefix is read */

static void test_keys(void)
{
	char out[STORE_MAX_KEY], small[12];

	store_user_key(&st, "alice@example.org", "account", out, sizeof out);
	CHECK_STR(out, "xmpp:{alice@example.org}:account");
	store_user_key(&st, "alice@example.org", NULL, out, sizeof out);
	CHECK_STR(out, "xmpp:{alice@example.org}");
	store_user_key(&st, "alice@example.org", "inbox:my laptop", out, sizeof out);
	CHECK_STR(out, "xmpp:{alice@example.org}:inbox:my laptop");
	/* '{', '}' and '%' are percent-encoded inside the tag, nothing else. */
	store_user_key(&st, "a{b}%c@x", "roster", out, sizeof out);
	CHECK_STR(out, "xmpp:{a%7Bb%7D%25c@x}:roster");
	store_user_key(&st, "}}@x", NULL, out, sizeof out);
	CHECK_STR(out, "xmpp:{%7D%7D@x}");
	store_user_key(&st, "a:b/c*?@x", "offline", out, sizeof out);
	CHECK_STR(out, "xmpp:{a:b/c*?@x}:offline");

	/* The full-JID channel: the resource is not escaped. */
	store_full_channel(&st, "a{b@x", "res {1}%", out, sizeof out);
	CHECK_STR(out, "xmpp:{a%7Bb@x}/res {1}%");
	store_full_channel(&st, "a@x", "", out, sizeof out);
	CHECK_STR(out, "xmpp:{a@x}/");

	store_global_key(&st, "users", out, sizeof out);
	CHECK_STR(out, "xmpp:users");
	store_global_key(&st, "authfail-addr:2001:db8::1", out, sizeof out);
	CHECK_STR(out, "xmpp:authfail-addr:2001:db8::1");

	/* Too small: cut, never overrun, always terminated. */
	store_user_key(&st, "alice@example.org", "account", small, sizeof small);
	CHECK_STR(small, "xmpp:{alice");
	store_global_key(&st, "a-very-long-name", small, sizeof small);
	CHECK_STR(small, "xmpp:a-very");

	/* Another prefix, even an empty one. */
	snprintf(st.prefix, sizeof st.prefix, "%s", "");
	store_user_key(&st, "a@x", "sessions", out, sizeof out);
	CHECK_STR(out, "{a@x}:sessions");
	snprintf(st.prefix, sizeof st.prefix, "%s", "xmpp:");
}

static void test_envelopes(void)
{
	size_t len;
	char *e;

	e = route_envelope("presence", "<presence/>", &len);
	CHECK_STR(e, "presence\n<presence/>");
	CHECK_INT(len, strlen("presence\n<presence/>"));
	free(e);
	e = route_envelope("inbox", "", &len);
	CHECK_STR(e, "inbox\n");
	CHECK_INT(len, 6);
	free(e);
	e = route_envelope("push 12", "<item subscription='none' jid='b@x'/>", &len);
	CHECK_STR(e, "push 12\n<item subscription='none' jid='b@x'/>");
	free(e);
	e = route_envelope_stanza("<message/>", 1700000000L, &len);
	CHECK_STR(e, "stanza 1700000000\n<message/>");
	CHECK_INT(len, strlen(e));
	free(e);
	e = route_envelope_stanza("<iq/>", 0, &len);
	CHECK_STR(e, "stanza 0\n<iq/>");
	free(e);
	e = route_envelope_push("<item subscription='none' jid='b@x'/>", "12", &len);
	CHECK_STR(e, "push 12\n<item subscription='none' jid='b@x'/>");
	CHECK_INT(len, strlen(e));
	free(e);
	e = route_envelope_kick("8516770897ac3c5820c46358", "conflict", &len);
	CHECK_STR(e, "kick 8516770897ac3c5820c46358 conflict\n");
	CHECK_INT(len, strlen(e));
	free(e);
}

/* Parse s (its whole length); the result and the message. */
static int parse(const char *s, struct route_msg *m)
{
	return route_parse(s, strlen(s), m);
}

static void check_body(const struct route_msg *m, const char *want)
{
	CHECK_INT(m->body_len, strlen(want));
	CHECK(m->body && !memcmp(m->body, want, m->body_len));
}

static void test_parse(void)
{
	struct route_msg m;
	static const char nul[] = "stanza 5\n<a>\0</a>";
	char *e;
	size_t len;

	/* stanza, with and without the time it was accepted */
	CHECK_INT(parse("stanza\n<message/>", &m), 0);
	CHECK_INT(m.kind, ROUTE_STANZA);
	CHECK_INT(m.accepted, 0);
	check_body(&m, "<message/>");
	CHECK_INT(parse("stanza 1700000000\n<message><body>x\ny</body></message>", &m), 0);
	CHECK_INT(m.kind, ROUTE_STANZA);
	CHECK_INT(m.accepted, 1700000000L);
	check_body(&m, "<message><body>x\ny</body></message>");
	/* the body is taken by length: a NUL inside does not end it */
	CHECK_INT(route_parse(nul, sizeof nul - 1, &m), 0);
	CHECK_INT(m.body_len, 8);
	CHECK(!memcmp(m.body, "<a>\0</a>", 8));
	/* round trip with route_envelope_stanza */
	e = route_envelope_stanza("<iq type='get'/>", 42, &len);
	CHECK_INT(route_parse(e, len, &m), 0);
	CHECK_INT(m.kind, ROUTE_STANZA);
	CHECK_INT(m.accepted, 42);
	check_body(&m, "<iq type='get'/>");
	free(e);

	CHECK_INT(parse("inbox\n", &m), 0);
	CHECK_INT(m.kind, ROUTE_INBOX);
	CHECK_INT(m.body_len, 0);

	CHECK_INT(parse("presence\n<presence from='a@x/r'/>", &m), 0);
	CHECK_INT(m.kind, ROUTE_PRESENCE);
	check_body(&m, "<presence from='a@x/r'/>");

	/* Another session of the user enabled XEP-0280 carbons. */
	/* a room's wake-up: the room's bare JID, words after it ignored */
	CHECK_INT(parse("muc lobby@conference.x\n", &m), 0);
	CHECK_INT(m.kind, ROUTE_MUC);
	CHECK_STR(m.node, "lobby@conference.x");
	CHECK_STR(m.id, "");
	CHECK_INT(parse("muc lobby@conference.x later\n", &m), 0);
	CHECK_STR(m.node, "lobby@conference.x");
	CHECK_STR(m.id, "");
	CHECK_INT(parse("muc\n", &m), XE_INVALID);
	/* ... carrying a groupchat message: its entry, the one before, its
	 * random part; the body is the nick and the stanza */
	CHECK_INT(parse("muc lobby@conference.x 5-1 4-0 ab12\nAl\n<message/>", &m), 0);
	CHECK_STR(m.node, "lobby@conference.x");
	CHECK_STR(m.id, "5-1");
	CHECK_STR(m.prev, "4-0");
	CHECK_STR(m.rand, "ab12");
	check_body(&m, "Al\n<message/>");

	CHECK_INT(parse("carbons\n", &m), 0);
	CHECK_INT(m.kind, ROUTE_CARBONS);
	CHECK_INT(m.body_len, 0);

	/* The user's XEP-0191 blocklist changed. */
	CHECK_INT(parse("blocking\n<unblock xmlns='urn:xmpp:blocking'/>", &m), 0);
	CHECK_INT(m.kind, ROUTE_BLOCKING);
	check_body(&m, "<unblock xmlns='urn:xmpp:blocking'/>");

	CHECK_INT(parse("push 17\n<item subscription='both' jid='b@x'/>", &m), 0);
	CHECK_INT(m.kind, ROUTE_PUSH);
	CHECK_STR(m.ver, "17");
	check_body(&m, "<item subscription='both' jid='b@x'/>");

	/* the session's own message come back, which others got too */
	CHECK_INT(parse("stanza 12 echo\n<message/>", &m), 0);
	CHECK_INT(m.kind, ROUTE_STANZA);
	CHECK_INT(m.accepted, 12);
	CHECK_INT(m.echo, 1);
	CHECK_INT(parse("stanza 12\n<message/>", &m), 0);
	CHECK_INT(m.echo, 0);
	/* words after those a kind needs are a later version's: ignored */
	CHECK_INT(parse("stanza 1700000000 prio=high\n<message/>", &m), 0);
	CHECK_INT(m.kind, ROUTE_STANZA);
	CHECK_INT(m.accepted, 1700000000L);
	check_body(&m, "<message/>");
	CHECK_INT(parse("inbox now\n", &m), 0);
	CHECK_INT(m.kind, ROUTE_INBOX);
	CHECK_INT(parse("presence x\n<presence/>", &m), 0);
	CHECK_INT(m.kind, ROUTE_PRESENCE);
	CHECK_INT(parse("push 17 more\n<item/>", &m), 0);
	CHECK_STR(m.ver, "17");
	CHECK_INT(parse("kick abc conflict later\n", &m), 0);
	CHECK_STR(m.cond, "conflict");

	CHECK_INT(parse("kick 8516770897ac3c5820c46358 conflict\n", &m), 0);
	CHECK_INT(m.kind, ROUTE_KICK);
	CHECK_STR(m.id, "8516770897ac3c5820c46358");
	CHECK_STR(m.cond, "conflict");
	CHECK_INT(m.body_len, 0);

	/* malformed: XE_INVALID, kind ROUTE_UNKNOWN */
	{
		static const char *const bad[] = {
			"",                          /* nothing */
			"stanza",                    /* no newline */
			"inbox",
			"\n<message/>",              /* no header */
			"stanzas\n<message/>",       /* not a kind */
			"stanza soon\n<message/>",   /* not a time */
			"stanza 12x\n<message/>",
			"push\n<item/>",             /* no version */
			"kick abc\n",                /* no condition */
			"kick\n",
			"message\n<message/>",
			"STANZA\n<message/>",
		};
		size_t i;
		for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			m.kind = ROUTE_STANZA;
			if (!CHECK_INT(parse(bad[i], &m), XE_INVALID))
				printf("  for \"%s\"\n", bad[i]);
			CHECK_INT(m.kind, ROUTE_UNKNOWN);
		}
	}
	/* a header line too long to be any envelope's */
	{
		char big[300];
		memset(big, 'x', sizeof big);
		memcpy(big, "push ", 5);
		big[250] = '\n';
		CHECK_INT(route_parse(big, sizeof big, &m), XE_INVALID);
		CHECK_INT(route_parse("stanza 1\n", 0, &m), XE_INVALID);   /* length counts */
	}
}

static void test_records(void)
{
	struct session_info si, back;
	char out[SESSION_MAX_RECORD], small[20];
	int n;

	memset(&si, 0, sizeof si);
	snprintf(si.id, sizeof si.id, "%s", "8516770897ac3c5820c46358");
	snprintf(si.host, sizeof si.host, "%s", "node1.example.org");
	si.prio = -128;
	si.avail = 1;
	si.pid = 4242;
	si.since = 1700000000L;
	si.seen = 1700000090L;
	si.det = 1700000390L;
	n = session_format(&si, out, sizeof out);
	CHECK_INT(n, strlen(out));
	CHECK_STR(out, "id=8516770897ac3c5820c46358 prio=-128 avail=1 host=node1.example.org "
	    "pid=4242 since=1700000000 seen=1700000090 det=1700000390");
	/* and back */
	CHECK_INT(session_parse("my laptop", out, &back), 0);
	CHECK_STR(back.resource, "my laptop");
	CHECK_STR(back.id, si.id);
	CHECK_STR(back.host, si.host);
	CHECK_INT(back.prio, -128);
	CHECK_INT(back.avail, 1);
	CHECK_INT(back.pid, 4242);
	CHECK_INT(back.since, 1700000000L);
	CHECK_INT(back.seen, 1700000090L);
	CHECK_INT(back.det, 1700000390L);

	/* What session_register writes: not available, priority 0. */
	si.prio = si.avail = 0;
	CHECK(session_format(&si, out, sizeof out) > 0);
	CHECK(session_parse("r", out, &back) == 0 && back.prio == 0 && back.avail == 0);

	/* No record nobody could parse: no empty value, no space in one,
	 * none cut short. */
	snprintf(si.host, sizeof si.host, "%s", "two words");
	CHECK_INT(session_format(&si, out, sizeof out), XE_INVALID);
	CHECK_STR(out, "");
	snprintf(si.host, sizeof si.host, "%s", "");
	CHECK_INT(session_format(&si, out, sizeof out), XE_INVALID);
	snprintf(si.host, sizeof si.host, "%s", "h");
	snprintf(si.id, sizeof si.id, "%s", "");
	CHECK_INT(session_format(&si, out, sizeof out), XE_INVALID);
	snprintf(si.id, sizeof si.id, "%s", "abc");
	CHECK_INT(session_format(&si, small, sizeof small), XE_INVALID);
	CHECK_STR(small, "");

	/* Fields are found by name at a field boundary, in any order. */
	CHECK_INT(session_parse("r", "pid=7 seen=9 since=8 host=h avail=0 prio=2 id=abc", &back), 0);
	CHECK_STR(back.id, "abc");
	CHECK_INT(back.pid, 7);
	CHECK_INT(back.prio, 2);
	CHECK_INT(back.seen, 9);
	CHECK_INT(back.det, 0);          /* a record from before det: attached */
	/* a missing field, a value too long for its slot */
	CHECK_INT(session_parse("r", "id=abc prio=0 avail=0 host=h pid=1 since=1", &back),
	    XE_INVALID);
	CHECK_INT(session_parse("r", "pid=1 prio=0 avail=0 host=h since=1 seen=1", &back),
	    XE_INVALID);
	CHECK_INT(session_parse("r", "id=0123456789012345678901234567890123456789012345678901"
	    "234567890123 prio=0 avail=0 host=h pid=1 since=1 seen=1", &back), XE_INVALID);
	CHECK_INT(session_parse("r", "", &back), XE_INVALID);
}

static void test_roster_items(void)
{
	CHECK_INT(roster_item_sub("<item subscription='both' jid='b@x'/>"), SUB_BOTH);
	CHECK_INT(roster_item_sub("<item subscription='from' jid='b@x'/>"), SUB_FROM);
	CHECK_INT(roster_item_sub("<item subscription='to' ask='subscribe' jid='b@x'/>"), SUB_TO);
	CHECK_INT(roster_item_sub("<item subscription='none' jid='b@x'/>"), SUB_NONE);
	/* not the stored form: none */
	CHECK_INT(roster_item_sub("<item jid='b@x' subscription='both'/>"), SUB_NONE);
	CHECK_INT(roster_item_sub("<item subscription='toast' jid='b@x'/>"), SUB_NONE);
	CHECK_INT(roster_item_sub("<item subscription='bot"), SUB_NONE);
	CHECK_INT(roster_item_sub(""), SUB_NONE);

	CHECK_INT(roster_item_ask("<item subscription='none' ask='subscribe' jid='b@x'/>"), 1);
	CHECK_INT(roster_item_ask("<item subscription='from' ask='subscribe'/>"), 1);
	CHECK_INT(roster_item_ask("<item subscription='none' jid='b@x'/>"), 0);
	/* only right after the subscription */
	CHECK_INT(roster_item_ask("<item subscription='none' jid='b@x' ask='subscribe'/>"), 0);
	CHECK_INT(roster_item_ask("<item subscription='none"), 0);
	CHECK_INT(roster_item_ask(""), 0);
}

/* A reply as hiredis builds it, on the stack. */
static void test_outcomes(void)
{
	static const char *const outcomes[] = { "ours", "taken", "norecord", NULL };
	redisReply e0 = { 0 }, e1 = { 0 }, arr = { 0 }, str = { 0 };
	redisReply *el[2] = { &e0, &e1 };

	e0.type = REDIS_REPLY_STRING;
	e0.str = (char *)"taken";
	e0.len = 5;
	e1.type = REDIS_REPLY_STRING;
	e1.str = (char *)"data";
	e1.len = 4;
	arr.type = REDIS_REPLY_ARRAY;
	arr.element = el;
	arr.elements = 2;
	CHECK_INT(store_outcome(&arr, outcomes), 1);
	arr.elements = 1;
	CHECK_INT(store_outcome(&arr, outcomes), 1);
	e0.str = (char *)"ours";
	e0.len = 4;
	CHECK_INT(store_outcome(&arr, outcomes), 0);
	e0.str = (char *)"norecord";
	e0.len = 8;
	CHECK_INT(store_outcome(&arr, outcomes), 2);
	/* by length, not by prefix */
	e0.str = (char *)"ours!";
	e0.len = 3;
	CHECK_INT(store_outcome(&arr, outcomes), XE_REPLY);
	e0.len = 5;
	CHECK_INT(store_outcome(&arr, outcomes), XE_REPLY);
	e0.str = (char *)"";
	e0.len = 0;
	CHECK_INT(store_outcome(&arr, outcomes), XE_REPLY);
	/* not the shape */
	e0.type = REDIS_REPLY_INTEGER;
	e0.integer = 1;
	CHECK_INT(store_outcome(&arr, outcomes), XE_REPLY);
	e0.type = REDIS_REPLY_NIL;
	CHECK_INT(store_outcome(&arr, outcomes), XE_REPLY);
	arr.elements = 0;
	CHECK_INT(store_outcome(&arr, outcomes), XE_REPLY);
	str.type = REDIS_REPLY_STRING;
	str.str = (char *)"ours";
	str.len = 4;
	CHECK_INT(store_outcome(&str, outcomes), XE_REPLY);
	CHECK_INT(store_outcome(NULL, outcomes), XE_REPLY);
}

int main(void)
{
	snprintf(st.prefix, sizeof st.prefix, "%s", "xmpp:");
	test_keys();
	test_envelopes();
	test_parse();
	test_records();
	test_roster_items();
	test_outcomes();
	return CHECK_DONE();
}
