/*
 * certid.h - does a peer server's certificate authenticate a domain?
 * RFC 6120 13.7.1.2 and 13.7.2.1 with the rules of RFC 6125 section 6,
 * for federation (server-to-server streams).
 *
 * The certificate is the peer's leaf, already chain-validated by OpenSSL
 * elsewhere: only its identifiers are judged here, never its signature,
 * dates or purpose. The domain is the reference identifier, already in
 * canonical form (lower case, IDNA A-labels); one trailing dot on it is
 * ignored (RFC 7622 3.2). Identifiers are tried in RFC 6120's order of
 * preference, and the first kind that matches is returned:
 *
 *  1. SRV-ID (RFC 4985 otherName id-on-dnsSRV, an IA5String) equal to
 *     "_xmpp-server." DOMAIN. Only that service: "_xmpp-client." names a
 *     client service, and "_xmpps-server." is not a certificate identity
 *     at all: XEP-0368 (direct TLS) requires certificates to be checked
 *     exactly as for STARTTLS, i.e. by RFC 6120, which knows only
 *     "_xmpp-server" for servers.
 *  2. XmppAddr (otherName id-on-xmppAddr, a UTF8String) equal to DOMAIN,
 *     a bare domain (with '@' or '/' it names an account or a resource,
 *     never a server); one in U-labels is converted to A-labels (libidn)
 *     first.
 *  3. DNS-ID (subjectAltName dNSName) equal to DOMAIN.
 *  4. CN-ID (the most specific subject commonName) equal to DOMAIN, and
 *     only if the certificate presents no DNS-ID, SRV-ID (of any
 *     service), URI-ID or XmppAddr at all (RFC 6125 6.4.4): a CA that
 *     wrote subjectAltNames said which names it vouches for.
 *
 * Comparison is ASCII case-insensitive. The DNS domain name of an SRV-ID
 * or DNS-ID may be a wildcard "*." NAME only: '*' as the whole left-most
 * label (RFC 6120 13.7.1.2, RFC 6125 6.4.3), matching exactly one label
 * (*.example.org matches a.example.org, not example.org nor
 * a.b.example.org), with at least two labels after it (no "*.org"), never
 * for a domain that looks like an IPv4 address. Partial wildcards
 * ("a*.example.org"), '*' anywhere else, and wildcards in an XmppAddr or
 * a CN-ID never match (RFC 6125 makes every wildcard match a MAY, 6.4.3,
 * and applies the same rules to the CN-ID, 6.4.4; we decline it for that
 * legacy last resort). An identifier holding a NUL byte (a forged
 * "good.example\0.evil.example") or bytes outside ASCII (dNSName,
 * SRV-ID, CN-ID) never matches. A certificate with two subjectAltName
 * extensions, or one that does not decode, authenticates nothing.
 *
 * Contract: certid_match and certid_names read the certificate and
 * change nothing; they allocate only transiently (OpenSSL's decoded
 * names, libidn's conversion) and free it before returning; nothing
 * aborts on any certificate.
 */
#ifndef XMPPD_CERTID_H
#define XMPPD_CERTID_H

#include <stddef.h>

#include <openssl/x509.h>

#define CERTID_DOMAIN_MAX  253            /* bytes of a DNS name, final dot
                                           * excluded (RFC 1035 2.3.4) */
#define CERTID_LABEL_MAX   63             /* bytes of one DNS label */
#define CERTID_SRV_PREFIX  "_xmpp-server." /* RFC 6120 13.7.1.2 SRV-ID */
#define CERTID_TEXT_MAX    255            /* bytes of one name as listed
                                           * for logs (escaped, cut) */

/* Which identifier authenticated the domain; CERTID_NONE if none did.
 * Ordered as RFC 6120 prefers them. */
enum certid_match {
	CERTID_NONE = 0,
	CERTID_SRV_ID,
	CERTID_XMPPADDR,
	CERTID_DNS_ID,
	CERTID_CN_ID,
};

/* Does cert authenticate domain as an XMPP server? See above. NULL
 * arguments, or a domain that is not a DNS name of at most
 * CERTID_DOMAIN_MAX bytes (letters, digits, '-', '_', non-empty labels
 * of at most CERTID_LABEL_MAX bytes), give CERTID_NONE. */
enum certid_match certid_match(const X509 *cert, const char *domain);

/* "SRV-ID", "XmppAddr", "DNS-ID", "CN-ID" or "none": for logs. */
const char *certid_match_name(enum certid_match m);

/* One name a certificate claims: kind is the identifier type it would be
 * matched as (CERTID_SRV_ID for an SRV-ID of any service), text the name
 * as presented, with every byte outside printable ASCII (NUL, controls,
 * UTF-8) written as \xNN and cut to CERTID_TEXT_MAX bytes: fit for a log
 * line, never for matching. */
struct certid_name {
	enum certid_match kind;
	char text[CERTID_TEXT_MAX + 1];
};

/* Every name cert claims, in the order of the certificate: its SRV-IDs,
 * XmppAddrs and DNS-IDs, then its most specific CN (listed even where
 * certid_match would ignore it). The first max of them go to out; the
 * return value is how many there are (more than max if out was too
 * small), or XE_INVALID for a NULL cert. */
int certid_names(const X509 *cert, struct certid_name *out, int max);

/* The same names as one log line, "SRV-ID:_xmpp-server.a.example
 * DNS-ID:*.a.example CN-ID:a.example", into out (outsz bytes), cut with
 * "..." if it does not fit. The number of names, or XE_INVALID for a
 * NULL cert or out (out "" then, when it has room). */
int certid_describe(const X509 *cert, char *out, size_t outsz);

#endif
