/*
 * jid.c - JID parsing on top of libidn stringprep; nothing is prepped by
 * hand, so two spellings of one address always map to one Redis key.
 */
#include "jid.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <stringprep.h>

static int prep(const char *in, char *out, size_t outsz,
    const Stringprep_profile *profile)
{
	size_t n = strlen(in);
	if (n == 0 || n >= JID_MAX_PART || n >= outsz)
		return -1;
	memcpy(out, in, n + 1);
	/* stringprep works in place; its output may grow, within outsz. */
	if (stringprep(out, outsz < JID_MAX_PART ? outsz : JID_MAX_PART,
	    STRINGPREP_NO_UNASSIGNED, profile) != STRINGPREP_OK)
		return -1;
	if (out[0] == '\0' || strlen(out) >= JID_MAX_PART)
		return -1;
	return 0;
}

int jid_nodeprep(const char *in, char *out, size_t outsz)
{
	return prep(in, out, outsz, stringprep_xmpp_nodeprep);
}

int jid_resourceprep(const char *in, char *out, size_t outsz)
{
	return prep(in, out, outsz, stringprep_xmpp_resourceprep);
}

/* Domain: nameprep, a trailing dot dropped (RFC 7622 3.2), and only the
 * characters a host name or IP literal can hold. */
static int domainprep(const char *in, char *out, size_t outsz)
{
	size_t n, i;
	if (prep(in, out, outsz, stringprep_nameprep) == -1)
		return -1;
	n = strlen(out);
	if (n && out[n - 1] == '.')
		out[--n] = '\0';
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)out[i];
		if (ch <= ' ' || strchr("@/:{}\"'<>&\\", ch)) {
			if (ch == ':' && out[0] == '[')
				continue;          /* IPv6 literal */
			return -1;
		}
		out[i] = (char)tolower(ch);
	}
	return 0;
}

int jid_parse(const char *s, struct jid *j)
{
	char buf[JID_MAX + 1];
	const char *slash, *at, *dstart;
	size_t n = strlen(s);

	memset(j, 0, sizeof *j);
	if (n == 0 || n > JID_MAX)
		return -1;
	/* RFC 7622 3.1: the first '/' ends the domain; '@' before it splits the node. */
	slash = strchr(s, '/');
	at = memchr(s, '@', slash ? (size_t)(slash - s) : n);
	if (slash) {
		if (jid_resourceprep(slash + 1, j->resource, sizeof j->resource) == -1)
			return -1;
	}
	if (at) {
		size_t ln = (size_t)(at - s);
		if (ln == 0 || ln >= JID_MAX_PART)
			return -1;
		memcpy(buf, s, ln);
		buf[ln] = '\0';
		if (jid_nodeprep(buf, j->node, sizeof j->node) == -1)
			return -1;
		dstart = at + 1;
	} else {
		dstart = s;
	}
	n = slash ? (size_t)(slash - dstart) : strlen(dstart);
	if (n == 0 || n >= JID_MAX_PART)
		return -1;
	memcpy(buf, dstart, n);
	buf[n] = '\0';
	return domainprep(buf, j->domain, sizeof j->domain);
}

void jid_bare(const struct jid *j, char *out, size_t outsz)
{
	if (j->node[0])
		snprintf(out, outsz, "%s@%s", j->node, j->domain);
	else
		snprintf(out, outsz, "%s", j->domain);
}

void jid_full(const struct jid *j, char *out, size_t outsz)
{
	if (j->resource[0])
		snprintf(out, outsz, "%s%s%s/%s", j->node, j->node[0] ? "@" : "",
		    j->domain, j->resource);
	else
		jid_bare(j, out, outsz);
}
