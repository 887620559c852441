/*
 * test_certid.c - unit tests for handler/certid.c: which identifier of a
 * peer server's certificate authenticates a domain (RFC 6120 13.7.1.2,
 * RFC 6125 6.4), and the names listed for logs.
 *
 * Every certificate is made here, in memory, with OpenSSL (self-signed
 * with one EC P-256 key: only identities are judged), then encoded to
 * DER and decoded again, so certid sees what a peer would send. Prints
 * one line per failing check, then "N passed, M failed"; exits non-zero
 * if anything failed.
 */
#include "certid.h"
#include "xerr.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define OID_SRV      "1.3.6.1.5.5.7.8.7"   /* id-on-dnsSRV, RFC 4985 */
#define OID_XMPPADDR "1.3.6.1.5.5.7.8.5"   /* id-on-xmppAddr, RFC 6120 */
#define CERT_SECONDS 3600
#define MAX_SANS     8
#define MAX_CNS      3

/* One subjectAltName to put in a certificate. */
enum san_type {
	SAN_END = 0,     /* ends a list */
	SAN_DNS,         /* dNSName */
	SAN_URI,         /* uniformResourceIdentifier */
	SAN_SRV,         /* otherName id-on-dnsSRV, IA5String */
	SAN_XMPP,        /* otherName id-on-xmppAddr, UTF8String */
	SAN_XMPP_IA5,    /* id-on-xmppAddr with the wrong string type */
};

struct san {
	enum san_type type;
	const char *text;
	size_t len;      /* 0: strlen(text); else exact, NULs included */
};

struct spec {
	const char *cn[MAX_CNS];      /* subject commonNames, in order */
	size_t cnlen[MAX_CNS];        /* 0: strlen */
	struct san san[MAX_SANS];     /* SAN_END-terminated; none: no extension */
	int san_twice;                /* add the extension a second time */
};

static EVP_PKEY *key;

static ASN1_STRING *str(int type, const struct san *s)
{
	ASN1_STRING *a = ASN1_STRING_type_new(type);
	size_t len = s->len ? s->len : strlen(s->text);

	if (a == NULL || !ASN1_STRING_set(a, s->text, (int)len)) {
		fprintf(stderr, "test_certid: ASN1_STRING_set failed\n");
		exit(111);
	}
	return a;
}

static GENERAL_NAME *general_name(const struct san *s)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_TYPE *v;
	const char *oid = s->type == SAN_SRV ? OID_SRV : OID_XMPPADDR;
	int vt;

	switch (s->type) {
	case SAN_DNS:
		GENERAL_NAME_set0_value(gn, GEN_DNS, str(V_ASN1_IA5STRING, s));
		return gn;
	case SAN_URI:
		GENERAL_NAME_set0_value(gn, GEN_URI, str(V_ASN1_IA5STRING, s));
		return gn;
	default:
		vt = s->type == SAN_XMPP ? V_ASN1_UTF8STRING : V_ASN1_IA5STRING;
		v = ASN1_TYPE_new();
		ASN1_TYPE_set(v, vt, str(vt, s));
		GENERAL_NAME_set0_othername(gn, OBJ_txt2obj(oid, 1), v);
		return gn;
	}
}

static void add_sans(X509 *x, const struct san *sans, unsigned long flags)
{
	GENERAL_NAMES *g = sk_GENERAL_NAME_new_null();
	int i;

	for (i = 0; i < MAX_SANS && sans[i].type != SAN_END; i++)
		sk_GENERAL_NAME_push(g, general_name(&sans[i]));
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, g, 0, flags) != 1) {
		fprintf(stderr, "test_certid: adding subjectAltName failed\n");
		exit(111);
	}
	GENERAL_NAMES_free(g);
}

/* A certificate as spec says, as a peer would send it (DER, decoded). */
static X509 *make(const struct spec *sp)
{
	X509 *x = X509_new(), *y;
	X509_NAME *name = X509_get_subject_name(x);
	unsigned char *der = NULL;
	const unsigned char *q;
	int i, len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), CERT_SECONDS);
	X509_set_pubkey(x, key);
	for (i = 0; i < MAX_CNS && sp->cn[i] != NULL; i++)
		X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
		    (const unsigned char *)sp->cn[i],
		    sp->cnlen[i] ? (int)sp->cnlen[i] : -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (sp->san[0].type != SAN_END) {
		add_sans(x, sp->san, X509V3_ADD_DEFAULT);
		if (sp->san_twice)
			add_sans(x, sp->san, X509V3_ADD_APPEND);
	}
	if (X509_sign(x, key, EVP_sha256()) == 0
	    || (len = i2d_X509(x, &der)) <= 0) {
		fprintf(stderr, "test_certid: signing or encoding failed\n");
		exit(111);
	}
	q = der;
	y = d2i_X509(NULL, &q, len);
	OPENSSL_free(der);
	X509_free(x);
	if (y == NULL) {
		fprintf(stderr, "test_certid: decoding failed\n");
		exit(111);
	}
	return y;
}

/* The identifier certid_match finds, by name, so a failure reads well. */
#define MATCH(cert, domain, want) \
	CHECK_STR(certid_match_name(certid_match((cert), (domain))), \
	    certid_match_name(want))

/* One certificate, one check, freed. */
#define ONE(spec, domain, want) do { \
	X509 *one_ = make(spec); \
	MATCH(one_, (domain), (want)); \
	X509_free(one_); \
} while (0)

static void test_srv_id(void)
{
	struct spec srv = { .cn = { "other.example" },
	    .san = { { SAN_SRV, "_xmpp-server.example.org", 0 } } };
	struct spec client = { .cn = { "example.org" },
	    .san = { { SAN_SRV, "_xmpp-client.example.org", 0 } } };
	struct spec direct = { .cn = { "example.org" },
	    .san = { { SAN_SRV, "_xmpps-server.example.org", 0 } } };
	struct spec wild = { .san = { { SAN_SRV, "_xmpp-server.*.example.org", 0 } } };
	struct spec upper = { .san = { { SAN_SRV, "_XMPP-Server.Example.ORG", 0 } } };
	struct spec bare = { .san = { { SAN_SRV, "_xmpp-server.", 0 } } };
	X509 *x = make(&srv);

	MATCH(x, "example.org", CERTID_SRV_ID);
	MATCH(x, "example.net", CERTID_NONE);
	MATCH(x, "a.example.org", CERTID_NONE);
	/* The subject's CN is not consulted once there is an SRV-ID. */
	MATCH(x, "other.example", CERTID_NONE);
	X509_free(x);

	/* A client service, and the direct-TLS service label, are not a
	 * server's identity; either still rules out the CN. */
	ONE(&client, "example.org", CERTID_NONE);
	ONE(&direct, "example.org", CERTID_NONE);

	ONE(&wild, "a.example.org", CERTID_SRV_ID);
	ONE(&wild, "example.org", CERTID_NONE);
	ONE(&wild, "a.b.example.org", CERTID_NONE);
	ONE(&upper, "example.org", CERTID_SRV_ID);
	ONE(&bare, "example.org", CERTID_NONE);
}

static void test_xmppaddr(void)
{
	struct spec plain = { .san = { { SAN_XMPP, "example.org", 0 } } };
	struct spec user = { .cn = { "example.org" },
	    .san = { { SAN_XMPP, "user@example.org", 0 } } };
	struct spec res = { .san = { { SAN_XMPP, "example.org/server", 0 } } };
	struct spec wild = { .san = { { SAN_XMPP, "*.example.org", 0 } } };
	struct spec ulabel = { .san = { { SAN_XMPP, "b\xc3\xbc" "cher.example", 0 } } };
	struct spec badutf8 = { .san = { { SAN_XMPP, "b\xff" "cher.example", 0 } } };
	struct spec ia5 = { .cn = { "example.org" },
	    .san = { { SAN_XMPP_IA5, "example.org", 0 } } };

	ONE(&plain, "example.org", CERTID_XMPPADDR);
	ONE(&plain, "example.net", CERTID_NONE);
	/* An account's address is not the server's; it rules out the CN. */
	ONE(&user, "example.org", CERTID_NONE);
	ONE(&res, "example.org", CERTID_NONE);
	ONE(&wild, "a.example.org", CERTID_NONE);
	/* U-labels in the certificate, A-labels in the reference. */
	ONE(&ulabel, "xn--bcher-kva.example", CERTID_XMPPADDR);
	ONE(&ulabel, "bcher.example", CERTID_NONE);
	ONE(&badutf8, "xn--bcher-kva.example", CERTID_NONE);
	/* The wrong ASN.1 string type: no identity, and still no CN. */
	ONE(&ia5, "example.org", CERTID_NONE);
}

static void test_preference(void)
{
	struct spec all = { .cn = { "example.org" }, .san = {
	    { SAN_DNS, "example.org", 0 },
	    { SAN_XMPP, "example.org", 0 },
	    { SAN_SRV, "_xmpp-server.example.org", 0 } } };
	struct spec two = { .cn = { "example.org" }, .san = {
	    { SAN_DNS, "example.org", 0 },
	    { SAN_XMPP, "example.org", 0 } } };
	struct spec mixed = { .san = {
	    { SAN_SRV, "_xmpp-server.other.example", 0 },
	    { SAN_XMPP, "third.example", 0 },
	    { SAN_DNS, "example.org", 0 } } };
	X509 *x = make(&mixed);

	ONE(&all, "example.org", CERTID_SRV_ID);
	ONE(&two, "example.org", CERTID_XMPPADDR);
	MATCH(x, "example.org", CERTID_DNS_ID);
	MATCH(x, "other.example", CERTID_SRV_ID);
	MATCH(x, "third.example", CERTID_XMPPADDR);
	MATCH(x, "fourth.example", CERTID_NONE);
	X509_free(x);
}

static void test_dns_id(void)
{
	struct spec exact = { .san = { { SAN_DNS, "example.org", 0 },
	    { SAN_DNS, "chat.example.net", 0 } } };
	struct spec wild = { .san = { { SAN_DNS, "*.example.org", 0 } } };
	struct spec upper = { .san = { { SAN_DNS, "ExAmple.ORG", 0 } } };
	struct spec upwild = { .san = { { SAN_DNS, "*.EXAMPLE.Org", 0 } } };
	struct spec partial1 = { .san = { { SAN_DNS, "a*.example.org", 0 } } };
	struct spec partial2 = { .san = { { SAN_DNS, "*a.example.org", 0 } } };
	struct spec inner = { .san = { { SAN_DNS, "a.*.example.org", 0 } } };
	struct spec two = { .san = { { SAN_DNS, "*.*.example.org", 0 } } };
	struct spec tld = { .san = { { SAN_DNS, "*.org", 0 } } };
	struct spec star = { .san = { { SAN_DNS, "*", 0 } } };
	struct spec ip = { .san = { { SAN_DNS, "*.2.3.4", 0 } } };
	struct spec space = { .san = { { SAN_DNS, "example.org ", 0 } } };
	X509 *x = make(&exact);

	MATCH(x, "example.org", CERTID_DNS_ID);
	MATCH(x, "chat.example.net", CERTID_DNS_ID);
	MATCH(x, "www.example.org", CERTID_NONE);
	MATCH(x, "org", CERTID_NONE);
	MATCH(x, "example.net", CERTID_NONE);
	MATCH(x, "xexample.org", CERTID_NONE);
	X509_free(x);

	x = make(&wild);
	MATCH(x, "a.example.org", CERTID_DNS_ID);
	MATCH(x, "xn--bcher-kva.example.org", CERTID_DNS_ID);
	MATCH(x, "example.org", CERTID_NONE);
	MATCH(x, "a.b.example.org", CERTID_NONE);
	MATCH(x, ".example.org", CERTID_NONE);
	MATCH(x, "a.example.net", CERTID_NONE);
	X509_free(x);

	/* Case-insensitive both ways. */
	ONE(&upper, "example.org", CERTID_DNS_ID);
	ONE(&upwild, "a.example.org", CERTID_DNS_ID);
	ONE(&exact, "EXAMPLE.org", CERTID_DNS_ID);

	ONE(&partial1, "ab.example.org", CERTID_NONE);
	ONE(&partial2, "ba.example.org", CERTID_NONE);
	ONE(&inner, "a.b.example.org", CERTID_NONE);
	ONE(&two, "a.b.example.org", CERTID_NONE);
	ONE(&tld, "example.org", CERTID_NONE);
	ONE(&star, "example", CERTID_NONE);
	ONE(&ip, "1.2.3.4", CERTID_NONE);
	ONE(&space, "example.org", CERTID_NONE);
}

static void test_cn_id(void)
{
	struct spec only = { .cn = { "example.org" } };
	struct spec upper = { .cn = { "Example.ORG" } };
	struct spec wild = { .cn = { "*.example.org" } };
	struct spec last = { .cn = { "other.example", "example.org" } };
	struct spec first = { .cn = { "example.org", "other.example" } };
	struct spec none = { .cn = { NULL } };
	struct spec with_dns = { .cn = { "example.org" },
	    .san = { { SAN_DNS, "other.example", 0 } } };
	struct spec with_uri = { .cn = { "example.org" },
	    .san = { { SAN_URI, "xmpp:other.example", 0 } } };
	struct spec dns_and_cn = { .cn = { "example.org" },
	    .san = { { SAN_DNS, "example.org", 0 } } };

	ONE(&only, "example.org", CERTID_CN_ID);
	ONE(&only, "example.net", CERTID_NONE);
	ONE(&upper, "example.org", CERTID_CN_ID);
	/* No wildcard in a CN-ID. */
	ONE(&wild, "a.example.org", CERTID_NONE);
	/* The most specific (last) CN counts, the others do not. */
	ONE(&last, "example.org", CERTID_CN_ID);
	ONE(&first, "example.org", CERTID_NONE);
	ONE(&none, "example.org", CERTID_NONE);
	/* RFC 6125 6.4.4: a DNS-ID or URI-ID rules the CN-ID out. */
	ONE(&with_dns, "example.org", CERTID_NONE);
	ONE(&with_uri, "example.org", CERTID_NONE);
	ONE(&dns_and_cn, "example.org", CERTID_DNS_ID);
}

static void test_trailing_dot_and_idna(void)
{
	struct spec dns = { .san = { { SAN_DNS, "example.org", 0 } } };
	struct spec dotted = { .san = { { SAN_DNS, "example.org.", 0 } } };
	struct spec srvdot = { .san = { { SAN_SRV, "_xmpp-server.example.org.", 0 } } };
	struct spec alabel = { .san = { { SAN_DNS, "xn--bcher-kva.example", 0 } } };
	struct spec alwild = { .san = { { SAN_DNS, "*.xn--bcher-kva.example", 0 } } };
	struct spec ulabel = { .san = { { SAN_DNS, "b\xc3\xbc" "cher.example", 0 } } };

	ONE(&dns, "example.org.", CERTID_DNS_ID);
	ONE(&dns, "example.org..", CERTID_NONE);
	ONE(&dotted, "example.org", CERTID_DNS_ID);
	ONE(&dotted, "example.org.", CERTID_DNS_ID);
	ONE(&srvdot, "example.org", CERTID_SRV_ID);
	ONE(&alabel, "xn--bcher-kva.example", CERTID_DNS_ID);
	ONE(&alabel, "XN--BCHER-KVA.example.", CERTID_DNS_ID);
	ONE(&alwild, "chat.xn--bcher-kva.example", CERTID_DNS_ID);
	/* A dNSName holds A-labels; raw UTF-8 in one is refused. */
	ONE(&ulabel, "xn--bcher-kva.example", CERTID_NONE);
}

static void test_embedded_nul(void)
{
	static const char dns_nul[] = "example.org\0.evil.example";
	static const char srv_nul[] = "_xmpp-server.example.org\0.evil.example";
	static const char xmpp_nul[] = "example.org\0.evil.example";
	static const char cn_nul[] = "example.org\0.evil.example";
	struct spec dns = { .san = { { SAN_DNS, dns_nul, sizeof dns_nul - 1 } } };
	struct spec srv = { .san = { { SAN_SRV, srv_nul, sizeof srv_nul - 1 } } };
	struct spec xmpp = { .san = { { SAN_XMPP, xmpp_nul, sizeof xmpp_nul - 1 } } };
	struct spec cn = { .cn = { cn_nul }, .cnlen = { sizeof cn_nul - 1 } };
	struct spec trail = { .san = { { SAN_DNS, "example.org\0", 12 } } };

	ONE(&dns, "example.org", CERTID_NONE);
	ONE(&dns, "evil.example", CERTID_NONE);
	ONE(&srv, "example.org", CERTID_NONE);
	ONE(&xmpp, "example.org", CERTID_NONE);
	ONE(&cn, "example.org", CERTID_NONE);
	ONE(&trail, "example.org", CERTID_NONE);
}

static void test_bad_input(void)
{
	struct spec dns = { .cn = { "example.org" },
	    .san = { { SAN_DNS, "example.org", 0 } } };
	struct spec twice = { .cn = { "example.org" },
	    .san = { { SAN_DNS, "example.org", 0 } }, .san_twice = 1 };
	char longname[CERTID_DOMAIN_MAX + 2];
	char longlabel[CERTID_LABEL_MAX + 2 + 4];
	X509 *x = make(&dns);

	/* Two subjectAltName extensions: nothing is trusted, CN neither. */
	ONE(&twice, "example.org", CERTID_NONE);

	MATCH(NULL, "example.org", CERTID_NONE);
	MATCH(x, NULL, CERTID_NONE);
	MATCH(x, "", CERTID_NONE);
	MATCH(x, ".", CERTID_NONE);
	MATCH(x, "*.example.org", CERTID_NONE);
	MATCH(x, "example..org", CERTID_NONE);
	MATCH(x, "exa mple.org", CERTID_NONE);
	MATCH(x, "user@example.org", CERTID_NONE);
	X509_free(x);

	/* Over the length limits: refused before any certificate is read.
	 * At the limits: compared. */
	memset(longname, 'a', sizeof longname);
	longname[CERTID_DOMAIN_MAX] = '\0';
	memcpy(longname + CERTID_DOMAIN_MAX - 4, ".org", 4);
	for (int i = 63; i < CERTID_DOMAIN_MAX - 4; i += 64)
		longname[i] = '.';
	{
		struct spec at = { .san = { { SAN_DNS, longname, 0 } } };
		X509 *y = make(&at);
		MATCH(y, longname, CERTID_DNS_ID);
		X509_free(y);
	}
	longname[CERTID_DOMAIN_MAX] = 'a';
	longname[CERTID_DOMAIN_MAX + 1] = '\0';
	{
		struct spec over = { .san = { { SAN_DNS, longname, 0 } } };
		X509 *y = make(&over);
		MATCH(y, longname, CERTID_NONE);
		X509_free(y);
	}
	memset(longlabel, 'b', CERTID_LABEL_MAX + 1);
	memcpy(longlabel + CERTID_LABEL_MAX + 1, ".org", 5);
	{
		struct spec over = { .san = { { SAN_DNS, longlabel, 0 } } };
		X509 *y = make(&over);
		MATCH(y, longlabel, CERTID_NONE);
		X509_free(y);
	}
}

static void test_names(void)
{
	static const char dns_nul[] = "example.org\0.evil.example";
	struct spec sp = { .cn = { "cn.example" }, .san = {
	    { SAN_SRV, "_xmpp-server.example.org", 0 },
	    { SAN_URI, "xmpp:example.org", 0 },
	    { SAN_XMPP, "b\xc3\xbc" "cher.example", 0 },
	    { SAN_DNS, dns_nul, sizeof dns_nul - 1 },
	    { SAN_DNS, "back\\slash.example", 0 } } };
	struct spec nosan = { .cn = { "only.example" } };
	struct spec empty = { .cn = { NULL } };
	struct certid_name names[8];
	char line[512], small[40];
	char longname[300];
	X509 *x = make(&sp), *y;

	CHECK_INT(certid_names(x, names, 8), 5);
	CHECK_INT(names[0].kind, CERTID_SRV_ID);
	CHECK_STR(names[0].text, "_xmpp-server.example.org");
	CHECK_INT(names[1].kind, CERTID_XMPPADDR);
	CHECK_STR(names[1].text, "b\\xc3\\xbccher.example");
	CHECK_INT(names[2].kind, CERTID_DNS_ID);
	CHECK_STR(names[2].text, "example.org\\x00.evil.example");
	CHECK_INT(names[3].kind, CERTID_DNS_ID);
	CHECK_STR(names[3].text, "back\\x5cslash.example");
	CHECK_INT(names[4].kind, CERTID_CN_ID);
	CHECK_STR(names[4].text, "cn.example");

	/* Too small an array: the count is still the whole. */
	memset(names, 0, sizeof names);
	CHECK_INT(certid_names(x, names, 1), 5);
	CHECK_STR(names[0].text, "_xmpp-server.example.org");
	CHECK_STR(names[1].text, "");
	CHECK_INT(certid_names(x, NULL, 0), 5);
	CHECK_INT(certid_names(NULL, names, 8), XE_INVALID);

	CHECK_INT(certid_describe(x, line, sizeof line), 5);
	CHECK_STR(line, "SRV-ID:_xmpp-server.example.org "
	    "XmppAddr:b\\xc3\\xbccher.example "
	    "DNS-ID:example.org\\x00.evil.example "
	    "DNS-ID:back\\x5cslash.example CN-ID:cn.example");
	/* Cut before the name that does not fit, and said so. */
	CHECK_INT(certid_describe(x, small, sizeof small), 5);
	CHECK_STR(small, "SRV-ID:_xmpp-server.example.org ...");
	CHECK_INT(certid_describe(x, small, 8), 5);
	CHECK_STR(small, "...");
	CHECK_INT(certid_describe(NULL, small, sizeof small), XE_INVALID);
	CHECK_STR(small, "");
	X509_free(x);

	x = make(&nosan);
	CHECK_INT(certid_describe(x, line, sizeof line), 1);
	CHECK_STR(line, "CN-ID:only.example");
	X509_free(x);
	x = make(&empty);
	CHECK_INT(certid_describe(x, line, sizeof line), 0);
	CHECK_STR(line, "");
	X509_free(x);

	/* A name longer than CERTID_TEXT_MAX is cut, and says so. */
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	{
		struct spec lng = { .san = { { SAN_DNS, longname, 0 } } };
		y = make(&lng);
		CHECK_INT(certid_names(y, names, 8), 1);
		CHECK_INT(strlen(names[0].text), CERTID_TEXT_MAX);
		CHECK(strcmp(names[0].text + CERTID_TEXT_MAX - 3, "...") == 0);
		X509_free(y);
	}
}

int main(void)
{
	key = EVP_EC_gen("P-256");
	if (key == NULL) {
		fprintf(stderr, "test_certid: no EC key\n");
		return 111;
	}
	test_srv_id();
	test_xmppaddr();
	test_preference();
	test_dns_id();
	test_cn_id();
	test_trailing_dot_and_idna();
	test_embedded_nul();
	test_bad_input();
	test_names();
	EVP_PKEY_free(key);
	return CHECK_DONE();
}
