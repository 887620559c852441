/*
 * uploadsig.c - signed upload URLs (see uploadsig.h).
 *
 * The signed message is every field of the slot, NUL-separated, after a
 * version tag: no field holds a NUL (names and types are checked), so no
 * two slots sign the same bytes.
 */
#include "uploadsig.h"
#include "hex.h"
#include "xerr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>

#define SIG_TAG  "xmppd-upload-1"        /* signed first: the format's version */
#define KEY_INFO "xmppd upload signing key"

void uploadsig_key(const unsigned char secret[UPLOADSIG_SECRET_LEN],
    unsigned char key[UPLOADSIG_KEY_LEN])
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, UPLOADSIG_SECRET_LEN, secret);
	hmac_sha256_update(&ctx, sizeof KEY_INFO - 1, (const uint8_t *)KEY_INFO);
	hmac_sha256_digest(&ctx, UPLOADSIG_KEY_LEN, key);
	memset(&ctx, 0, sizeof ctx);
}

/* The length of the UTF-8 sequence at p (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80 ||
		    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

int uploadsig_name_ok(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t n, len = strlen(name);

	if (len == 0 || len > UPLOADSIG_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	while (*p) {
		if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
			return 0;
		if (!(n = utf8_len(p)))
			return 0;
		p += n;
	}
	return 1;
}

int uploadsig_type_ok(const char *type)
{
	const char *slash = strchr(type, '/');
	const char *p;

	if (!*type)
		return 1;
	if (strlen(type) > UPLOADSIG_TYPE_MAX || !slash || slash == type || !slash[1] ||
	    slash[1] == ';' || slash[1] == ' ')
		return 0;
	for (p = type; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return 0;
	return 1;
}

int uploadsig_id_ok(const char *id)
{
	return hex_lower_ok(id, UPLOADSIG_ID_HEX);
}

static void put_field(struct hmac_sha256_ctx *ctx, const char *v)
{
	hmac_sha256_update(ctx, strlen(v) + 1, (const uint8_t *)v);   /* with its NUL */
}

void uploadsig_sign(const unsigned char key[UPLOADSIG_KEY_LEN],
    const struct uploadsig_slot *s, char hex[UPLOADSIG_HEX + 1])
{
	struct hmac_sha256_ctx ctx;
	uint8_t mac[SHA256_DIGEST_SIZE];
	char num[24];
	size_t i;

	hmac_sha256_set_key(&ctx, UPLOADSIG_KEY_LEN, key);
	put_field(&ctx, SIG_TAG);
	put_field(&ctx, s->id);
	put_field(&ctx, s->name);
	snprintf(num, sizeof num, "%ld", s->size);
	put_field(&ctx, num);
	put_field(&ctx, s->type);
	snprintf(num, sizeof num, "%ld", s->expires);
	put_field(&ctx, num);
	hmac_sha256_digest(&ctx, sizeof mac, mac);
	for (i = 0; i < sizeof mac; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	memset(&ctx, 0, sizeof ctx);
}

/* Append v percent-encoded (RFC 3986: all but the unreserved characters)
 * at *used; -1 if it does not fit. */
static int put_pct(char *out, size_t outsz, size_t *used, const char *v)
{
	static const char hexd[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
		if (*used + (plain ? 1 : 3) >= outsz)
			return -1;
		if (plain) {
			out[(*used)++] = (char)*p;
		} else {
			out[(*used)++] = '%';
			out[(*used)++] = hexd[*p >> 4];
			out[(*used)++] = hexd[*p & 15];
		}
	}
	out[*used] = '\0';
	return 0;
}

/* Append formatted text at *used; -1 if it does not fit. */
static int put_str(char *out, size_t outsz, size_t *used, const char *v)
{
	size_t n = strlen(v);

	if (*used + n >= outsz)
		return -1;
	memcpy(out + *used, v, n + 1);
	*used += n;
	return 0;
}

static int fail(char *out, size_t outsz)
{
	if (outsz)
		out[0] = '\0';
	return XE_INVALID;
}

int uploadsig_get_target(const struct uploadsig_slot *s, char *out, size_t outsz)
{
	size_t used = 0;

	if (!uploadsig_id_ok(s->id) || !uploadsig_name_ok(s->name) ||
	    put_str(out, outsz, &used, UPLOADSIG_PREFIX) == -1 ||
	    put_str(out, outsz, &used, s->id) == -1 || put_str(out, outsz, &used, "/") == -1 ||
	    put_pct(out, outsz, &used, s->name) == -1)
		return fail(out, outsz);
	return (int)used;
}

int uploadsig_put_target(const unsigned char key[UPLOADSIG_KEY_LEN],
    const struct uploadsig_slot *s, char *out, size_t outsz)
{
	char sig[UPLOADSIG_HEX + 1], num[48];
	int n = uploadsig_get_target(s, out, outsz);
	size_t used;

	if (n < 0 || s->size < 0 || !uploadsig_type_ok(s->type))
		return fail(out, outsz);
	used = (size_t)n;
	uploadsig_sign(key, s, sig);
	snprintf(num, sizeof num, "?n=%ld&e=%ld", s->size, s->expires);
	if (put_str(out, outsz, &used, num) == -1 ||
	    (s->type[0] && (put_str(out, outsz, &used, "&t=") == -1 ||
	                    put_pct(out, outsz, &used, s->type) == -1)) ||
	    put_str(out, outsz, &used, "&s=") == -1 || put_str(out, outsz, &used, sig) == -1)
		return fail(out, outsz);
	return (int)used;
}

/* Percent-decode the n bytes at in into out (outsz bytes with the NUL):
 * -1 on a bad escape, an encoded NUL, or no room. */
static int pct_decode(const char *in, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		char ch = in[i];
		if (ch == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hex_value(in[i + 1])) < 0 || (lo = hex_value(in[i + 2])) < 0 ||
			    (hi == 0 && lo == 0))
				return -1;
			ch = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

/* A decimal in [0, LONG_MAX], all of the n bytes at v. */
static int parse_num(const char *v, size_t n, long *out)
{
	char buf[24], *end;

	if (n == 0 || n >= sizeof buf || v[0] < '0' || v[0] > '9')
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	errno = 0;
	*out = strtol(buf, &end, 10);
	return errno || *end ? -1 : 0;
}

/* The query's fields into s and sig: n, e and s exactly once, t at most
 * once. */
static int parse_query(const char *q, struct uploadsig_slot *s, char sig[UPLOADSIG_HEX + 1])
{
	int seen_n = 0, seen_e = 0, seen_t = 0, seen_s = 0;
	size_t len, vlen;
	const char *v;

	while (*q) {
		len = strcspn(q, "&");
		if (len < 2 || q[1] != '=')
			return -1;
		v = q + 2;
		vlen = len - 2;
		switch (q[0]) {
		case 'n':
			if (seen_n++ || parse_num(v, vlen, &s->size) == -1)
				return -1;
			break;
		case 'e':
			if (seen_e++ || parse_num(v, vlen, &s->expires) == -1)
				return -1;
			break;
		case 't':
			if (seen_t++ || pct_decode(v, vlen, s->type, sizeof s->type) == -1 ||
			    !s->type[0] || !uploadsig_type_ok(s->type))
				return -1;
			break;
		case 's':
			if (seen_s++ || vlen != UPLOADSIG_HEX)
				return -1;
			memcpy(sig, v, UPLOADSIG_HEX);
			sig[UPLOADSIG_HEX] = '\0';
			break;
		default:
			return -1;
		}
		q += len;
		if (*q == '&' && !*++q)
			return -1;          /* a trailing '&' */
	}
	return seen_n && seen_e && seen_s ? 0 : -1;
}

int uploadsig_parse(const char *path, const char *query, struct uploadsig_slot *s,
    char sig[UPLOADSIG_HEX + 1])
{
	const char *p;

	memset(s, 0, sizeof *s);
	sig[0] = '\0';
	if (strncmp(path, UPLOADSIG_PREFIX, sizeof UPLOADSIG_PREFIX - 1))
		return XE_INVALID;
	p = path + sizeof UPLOADSIG_PREFIX - 1;
	if (strlen(p) < UPLOADSIG_ID_HEX + 1 || p[UPLOADSIG_ID_HEX] != '/')
		return XE_INVALID;
	memcpy(s->id, p, UPLOADSIG_ID_HEX);
	s->id[UPLOADSIG_ID_HEX] = '\0';
	if (!uploadsig_id_ok(s->id))
		return XE_INVALID;
	p += UPLOADSIG_ID_HEX + 1;
	if (pct_decode(p, strlen(p), s->name, sizeof s->name) == -1 || !uploadsig_name_ok(s->name))
		return XE_INVALID;
	if (*query && parse_query(query, s, sig) == -1)
		return XE_INVALID;
	return 0;
}

int uploadsig_verify(const unsigned char key[UPLOADSIG_KEY_LEN],
    const struct uploadsig_slot *s, const char *sig, time_t now)
{
	char want[UPLOADSIG_HEX + 1];
	int same;

	if (strlen(sig) != UPLOADSIG_HEX)
		return XE_INVALID;
	uploadsig_sign(key, s, want);
	same = memeql_sec(want, sig, UPLOADSIG_HEX);
	memset(want, 0, sizeof want);
	if (!same)
		return XE_INVALID;
	return (long)now < s->expires ? 0 : UPLOADSIG_EXPIRED;
}
