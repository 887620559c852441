/*
 * jid.h - JIDs (RFC 7622 addresses), parsed and normalised with libidn's
 * XMPP stringprep profiles (nodeprep, nameprep, resourceprep).
 *
 * Contract: jid_parse() accepts any bytes and either fills a normalised
 * struct jid or returns -1; every part is within its RFC length limit of
 * 1023 bytes and NUL-terminated. A domain is lower-cased nameprep output.
 */
#ifndef XMPPD_JID_H
#define XMPPD_JID_H

#include <stddef.h>

#define JID_MAX_PART 1024   /* 1023 bytes + NUL, RFC 7622 3.1 */
#define JID_MAX      (3 * JID_MAX_PART)

struct jid {
	char node[JID_MAX_PART];
	char domain[JID_MAX_PART];
	char resource[JID_MAX_PART];
};

int jid_parse(const char *s, struct jid *j);

/* Prep one part alone (e.g. a username from SASL, a resource from bind).
 * Output is NUL-terminated; -1 if prohibited, empty, or too long. */
int jid_nodeprep(const char *in, char *out, size_t outsz);
int jid_resourceprep(const char *in, char *out, size_t outsz);

/* "node@domain" (or "domain"), and "node@domain/resource". */
void jid_bare(const struct jid *j, char *out, size_t outsz);
void jid_full(const struct jid *j, char *out, size_t outsz);

#endif
