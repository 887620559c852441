/*
 * certid.c - the identities a peer server's certificate presents, matched
 * against a domain (see certid.h for the rules and their sources).
 *
 * Every presented name is taken with its ASN.1 length, never as a C
 * string, so a NUL inside it is seen and refused rather than cutting the
 * name short. The reference domain is checked once and kept lower-cased;
 * each presented name is compared to it byte for byte, folding ASCII
 * case only (A-labels are ASCII; an XmppAddr in U-labels is converted
 * with libidn first).
 */
#include "certid.h"
#include "xerr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idna.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#define SRV_PREFIX_LEN    (sizeof CERTID_SRV_PREFIX - 1)
#define XMPPADDR_MAX      1023   /* bytes of a domainpart, RFC 7622 3.2 */
#define ELLIPSIS          "..."
#define CUT_MARK          " ..." /* ends a log line cut short */

/* The reference identifier: a checked domain, lower case, no final dot. */
struct ref {
	char name[CERTID_DOMAIN_MAX + 1];
	size_t len;
	int numeric;             /* last label all digits: an IPv4 address */
};

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* 1 if s (len bytes, no final dot) is a DNS name: 1..CERTID_DOMAIN_MAX
 * bytes of non-empty labels of at most CERTID_LABEL_MAX name_chars. */
static int dns_name_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > CERTID_DOMAIN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (!name_char(c) || ++label > CERTID_LABEL_MAX) {
			return 0;
		}
	}
	return label > 0;
}

static int ref_init(struct ref *r, const char *domain)
{
	size_t i, len;
	const char *last;

	if (domain == NULL)
		return -1;
	len = strnlen(domain, CERTID_DOMAIN_MAX + 2);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (!dns_name_ok(domain, len))
		return -1;
	for (i = 0; i < len; i++)
		r->name[i] = (char)lower((unsigned char)domain[i]);
	r->name[len] = '\0';
	r->len = len;
	last = strrchr(r->name, '.');
	last = last ? last + 1 : r->name;
	r->numeric = strspn(last, "0123456789") == strlen(last);
	return 0;
}

/* 1 if a (alen bytes) equals lower-case b (blen bytes), folding ASCII
 * case of a. */
static int eq_nocase(const unsigned char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		if (lower(a[i]) != (unsigned char)b[i])
			return 0;
	return 1;
}

/*
 * 1 if the presented DNS name p (plen bytes as in the certificate)
 * matches r: printable ASCII only (so no NUL, no raw UTF-8), one final
 * dot ignored, and, when wildcard is set, "*." NAME with NAME of two
 * labels or more matching all but r's first label.
 */
static int dns_matches(const unsigned char *p, size_t plen, const struct ref *r,
    int wildcard)
{
	const unsigned char *rest;
	const char *dot;
	size_t i, rlen;

	for (i = 0; i < plen; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return 0;
	if (plen > 0 && p[plen - 1] == '.')
		plen--;
	if (plen == 0 || plen > CERTID_DOMAIN_MAX)
		return 0;
	if (plen >= 2 && p[0] == '*' && p[1] == '.') {
		rest = p + 2;
		rlen = plen - 2;
		if (!wildcard || r->numeric || memchr(rest, '*', rlen) != NULL
		    || memchr(rest, '.', rlen) == NULL)
			return 0;
		dot = strchr(r->name, '.');
		if (dot == NULL)
			return 0;
		dot++;
		return eq_nocase(rest, rlen, dot, r->len - (size_t)(dot - r->name));
	}
	if (memchr(p, '*', plen) != NULL)
		return 0;
	return eq_nocase(p, plen, r->name, r->len);
}

/* SRV-ID: "_xmpp-server." and a DNS name (RFC 4985 2, RFC 6125 6.4.3
 * for the name's wildcard). */
static int srv_matches(const ASN1_STRING *s, const struct ref *r)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s);

	if (len <= (int)SRV_PREFIX_LEN
	    || !eq_nocase(p, SRV_PREFIX_LEN, CERTID_SRV_PREFIX, SRV_PREFIX_LEN))
		return 0;
	return dns_matches(p + SRV_PREFIX_LEN, (size_t)len - SRV_PREFIX_LEN, r, 1);
}

/* XmppAddr: a bare domain, no wildcard; U-labels go through libidn's
 * ToASCII (IDNA2003, as jid.c's nameprep) before the comparison. */
static int xmppaddr_matches(const ASN1_STRING *s, const struct ref *r)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s);
	char buf[XMPPADDR_MAX + 1];
	char *ascii = NULL;
	int i, ok, ascii_only = 1;

	if (len <= 0 || len > XMPPADDR_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] == '\0' || p[i] == '@' || p[i] == '/')
			return 0;
		if (p[i] >= 0x80)
			ascii_only = 0;
	}
	if (ascii_only)
		return dns_matches(p, (size_t)len, r, 0);
	memcpy(buf, p, (size_t)len);
	buf[len] = '\0';
	if (idna_to_ascii_8z(buf, &ascii, 0) != IDNA_SUCCESS || ascii == NULL) {
		free(ascii);
		return 0;
	}
	ok = dns_matches((const unsigned char *)ascii, strlen(ascii), r, 0);
	free(ascii);
	return ok;
}

/* The string value of an otherName of type nid, or NULL if it is not of
 * that type or its value is not the string type the type prescribes. */
static const ASN1_STRING *othername_value(const GENERAL_NAME *gn, int nid)
{
	const OTHERNAME *on = gn->d.otherName;
	int want = nid == NID_SRVName ? V_ASN1_IA5STRING : V_ASN1_UTF8STRING;

	if (on == NULL || on->type_id == NULL || on->value == NULL
	    || OBJ_obj2nid(on->type_id) != nid || on->value->type != want)
		return NULL;
	return on->value->value.asn1_string;
}

static int othername_nid(const GENERAL_NAME *gn)
{
	const OTHERNAME *on = gn->d.otherName;

	if (on == NULL || on->type_id == NULL)
		return NID_undef;
	return OBJ_obj2nid(on->type_id);
}

/* The subjectAltNames, or NULL when there are none; *bad is set when
 * there are two extensions or one that does not decode (X509V3_get_d2i:
 * crit -1 means absent). */
static GENERAL_NAMES *alt_names(const X509 *cert, int *bad)
{
	int crit = -1;
	GENERAL_NAMES *g = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);

	*bad = g == NULL && crit != -1;
	return g;
}

/* The most specific (last) commonName of the subject as UTF-8, to be
 * freed with OPENSSL_free; its length, or -1 if there is none. */
static int last_cn(const X509 *cert, unsigned char **out)
{
	const X509_NAME *subj = X509_get_subject_name(cert);
	const X509_NAME_ENTRY *e;
	int i, last = -1;

	*out = NULL;
	if (subj == NULL)
		return -1;
	while ((i = X509_NAME_get_index_by_NID(subj, NID_commonName, last)) >= 0)
		last = i;
	if (last < 0 || (e = X509_NAME_get_entry(subj, last)) == NULL)
		return -1;
	return ASN1_STRING_to_UTF8(out, X509_NAME_ENTRY_get_data(e));
}

enum certid_match certid_match(const X509 *cert, const char *domain)
{
	struct ref r;
	GENERAL_NAMES *g;
	const GENERAL_NAME *gn;
	const ASN1_STRING *s;
	unsigned char *cn;
	int i, n, bad, cnlen, nid;
	int srv = 0, xmpp = 0, dns = 0, presented = 0;

	if (cert == NULL || ref_init(&r, domain) != 0)
		return CERTID_NONE;
	g = alt_names(cert, &bad);
	if (bad)
		return CERTID_NONE;
	n = g ? sk_GENERAL_NAME_num(g) : 0;
	for (i = 0; i < n; i++) {
		gn = sk_GENERAL_NAME_value(g, i);
		switch (gn->type) {
		case GEN_DNS:
			presented = 1;
			if (gn->d.dNSName != NULL && dns_matches(
			    ASN1_STRING_get0_data(gn->d.dNSName),
			    (size_t)ASN1_STRING_length(gn->d.dNSName), &r, 1))
				dns = 1;
			break;
		case GEN_URI:
			presented = 1;   /* a URI-ID rules out the CN-ID */
			break;
		case GEN_OTHERNAME:
			nid = othername_nid(gn);
			if (nid == NID_SRVName) {
				presented = 1;
				s = othername_value(gn, nid);
				if (s != NULL && srv_matches(s, &r))
					srv = 1;
			} else if (nid == NID_XmppAddr) {
				presented = 1;
				s = othername_value(gn, nid);
				if (s != NULL && xmppaddr_matches(s, &r))
					xmpp = 1;
			}
			break;
		default:
			break;
		}
	}
	GENERAL_NAMES_free(g);

	if (srv)
		return CERTID_SRV_ID;
	if (xmpp)
		return CERTID_XMPPADDR;
	if (dns)
		return CERTID_DNS_ID;
	if (presented)
		return CERTID_NONE;
	/* RFC 6125 6.4.4: the CN-ID as a last resort; its wildcards (a MAY
	 * there) declined, since a CA that vouches for a wildcard writes a
	 * dNSName. */
	cnlen = last_cn(cert, &cn);
	if (cnlen < 0)
		return CERTID_NONE;
	i = dns_matches(cn, (size_t)cnlen, &r, 0);
	OPENSSL_free(cn);
	return i ? CERTID_CN_ID : CERTID_NONE;
}

const char *certid_match_name(enum certid_match m)
{
	switch (m) {
	case CERTID_SRV_ID:
		return "SRV-ID";
	case CERTID_XMPPADDR:
		return "XmppAddr";
	case CERTID_DNS_ID:
		return "DNS-ID";
	case CERTID_CN_ID:
		return "CN-ID";
	default:
		return "none";
	}
}

static int plain_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '\\';
}

/* p (len bytes) into out (CERTID_TEXT_MAX + 1 bytes) for a log line:
 * printable ASCII as it is, '\\' and every other byte as \xNN; when
 * that does not fit, as much as fits before "...". */
static void escape(const unsigned char *p, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, total = 0, limit = CERTID_TEXT_MAX;

	for (i = 0; i < len; i++)
		total += plain_byte(p[i]) ? 1 : 4;
	if (total > CERTID_TEXT_MAX)
		limit = CERTID_TEXT_MAX - (sizeof ELLIPSIS - 1);
	for (i = 0; i < len; i++) {
		if (o + (plain_byte(p[i]) ? 1 : 4) > limit)
			break;
		if (plain_byte(p[i])) {
			out[o++] = (char)p[i];
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 0x0f];
		}
	}
	if (i < len) {
		memcpy(out + o, ELLIPSIS, sizeof ELLIPSIS);
		return;
	}
	out[o] = '\0';
}

typedef void name_fn(void *arg, int index, enum certid_match kind,
    const unsigned char *p, size_t len);

/* Call fn for every name the certificate claims (certid_names' order);
 * return how many. */
static int each_name(const X509 *cert, name_fn *fn, void *arg)
{
	GENERAL_NAMES *g;
	const GENERAL_NAME *gn;
	const ASN1_STRING *s;
	unsigned char *cn;
	enum certid_match kind;
	int i, n, bad, cnlen, count = 0;

	g = alt_names(cert, &bad);
	n = g ? sk_GENERAL_NAME_num(g) : 0;
	for (i = 0; i < n; i++) {
		gn = sk_GENERAL_NAME_value(g, i);
		s = NULL;
		if (gn->type == GEN_DNS) {
			kind = CERTID_DNS_ID;
			s = gn->d.dNSName;
		} else if (gn->type == GEN_OTHERNAME && othername_nid(gn) == NID_SRVName) {
			kind = CERTID_SRV_ID;
			s = othername_value(gn, NID_SRVName);
		} else if (gn->type == GEN_OTHERNAME && othername_nid(gn) == NID_XmppAddr) {
			kind = CERTID_XMPPADDR;
			s = othername_value(gn, NID_XmppAddr);
		} else {
			continue;
		}
		if (s != NULL)
			fn(arg, count, kind, ASN1_STRING_get0_data(s),
			    (size_t)ASN1_STRING_length(s));
		else   /* an identifier whose value is of the wrong ASN.1 type */
			fn(arg, count, kind, (const unsigned char *)"?", 1);
		count++;
	}
	GENERAL_NAMES_free(g);
	cnlen = last_cn(cert, &cn);
	if (cnlen >= 0) {
		fn(arg, count, CERTID_CN_ID, cn, (size_t)cnlen);
		count++;
		OPENSSL_free(cn);
	}
	return count;
}

struct names_arg {
	struct certid_name *out;
	int max;
};

static void add_name(void *arg, int index, enum certid_match kind,
    const unsigned char *p, size_t len)
{
	struct names_arg *a = arg;

	if (index >= a->max)
		return;
	a->out[index].kind = kind;
	escape(p, len, a->out[index].text);
}

int certid_names(const X509 *cert, struct certid_name *out, int max)
{
	struct names_arg a = { out, out != NULL && max > 0 ? max : 0 };

	if (cert == NULL)
		return XE_INVALID;
	return each_name(cert, add_name, &a);
}

struct describe_arg {
	char *out;
	size_t size, len;
	int cut;
};

static void describe_name(void *arg, int index, enum certid_match kind,
    const unsigned char *p, size_t len)
{
	struct describe_arg *a = arg;
	char text[CERTID_TEXT_MAX + 1];
	int n;

	if (a->cut)
		return;
	escape(p, len, text);
	n = snprintf(a->out + a->len, a->size - a->len, "%s%s:%s",
	    index > 0 ? " " : "", certid_match_name(kind), text);
	/* Keep room for " ...": cut before a name that does not fit. */
	if (n < 0 || a->len + (size_t)n + sizeof CUT_MARK > a->size) {
		a->cut = 1;
		if (a->size - a->len >= sizeof CUT_MARK)
			memcpy(a->out + a->len, &CUT_MARK[a->len == 0],
			    sizeof CUT_MARK - (a->len == 0));
		else
			a->out[a->len] = '\0';
		return;
	}
	a->len += (size_t)n;
}

int certid_describe(const X509 *cert, char *out, size_t outsz)
{
	struct describe_arg a = { out, outsz, 0, 0 };

	if (out == NULL || outsz == 0)
		return XE_INVALID;
	out[0] = '\0';
	if (cert == NULL)
		return XE_INVALID;
	return each_name(cert, describe_name, &a);
}
