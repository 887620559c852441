/*
 * format.c - the formats xmpp-redis(7) documents: key and channel names,
 * envelopes, session records, roster items, the shape of script replies,
 * archive ids and archived messages as results carry them.
 * Pure functions, no Redis connection: what every reader and writer of
 * those formats shares (handlers, xmppctl, and the fuzzing harness's
 * in-memory router).
 */
#include "store.h"
#include "route.h"
#include "session.h"
#include "roster.h"
#include "mam.h"
#include "pep.h"
#include "carbons.h"
#include "invite.h"
#include "datetime.h"
#include "hex.h"
#include "keyslot.h"
#include "xml.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Percent-encode the characters that would break the hash tag. */
static void escape_jid(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	for (; *in && o + 4 < outsz; in++) {
		if (*in == '{' || *in == '}' || *in == '%') {
			snprintf(out + o, outsz - o, "%%%02X", (unsigned char)*in);
			o += 3;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

void store_user_key(const struct store *s, const char *bare, const char *what,
    char *out, size_t outsz)
{
	char esc[STORE_MAX_KEY];
	escape_jid(bare, esc, sizeof esc);
	snprintf(out, outsz, "%s{%s}%s%s", s->prefix, esc, what ? ":" : "",
	    what ? what : "");
}

void store_full_channel(const struct store *s, const char *bare,
    const char *resource, char *out, size_t outsz)
{
	char esc[STORE_MAX_KEY];
	escape_jid(bare, esc, sizeof esc);
	snprintf(out, outsz, "%s{%s}/%s", s->prefix, esc, resource);
}

void store_global_key(const struct store *s, const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s%s", s->prefix, name);
}

void store_shard_key_at(const struct store *s, const char *name, unsigned slot,
    char *out, size_t outsz)
{
	char tag[KEYSLOT_TAG_MAX];
	if (!s->cluster) {
		snprintf(out, outsz, "%s%s", s->prefix, name);
		return;
	}
	keyslot_tag(slot, tag);
	snprintf(out, outsz, "%s%s:{%s}", s->prefix, name, tag);
}

void store_shard_key(const struct store *s, const char *name, const char *owner,
    char *out, size_t outsz)
{
	char esc[STORE_MAX_KEY];
	escape_jid(owner, esc, sizeof esc);
	store_shard_key_at(s, name, keyslot(esc, strlen(esc)), out, outsz);
}

int store_shard_each(const struct store *s, const char *name,
    int (*fn)(const char *key, void *arg), void *arg)
{
	char key[STORE_MAX_GLOBAL_KEY];
	unsigned k, shards = s->cluster ? KEYSLOT_SLOTS : 1;
	int rc;
	for (k = 0; k < shards; k++) {
		store_shard_key_at(s, name, k, key, sizeof key);
		if ((rc = fn(key, arg)) != 0)
			return rc;
	}
	return 0;
}

void store_glob_escape(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	for (; *in && o + 3 < outsz; in++) {
		if (strchr("*?[]\\", *in))
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
}

int store_outcome(const redisReply *r, const char *const *outcomes)
{
	const redisReply *o;
	int i;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		return XE_REPLY;
	o = r->element[0];
	if (o->type != REDIS_REPLY_STRING)
		return XE_REPLY;
	for (i = 0; outcomes[i]; i++)
		if (strlen(outcomes[i]) == o->len && !memcmp(outcomes[i], o->str, o->len))
			return i;
	return XE_REPLY;
}

char *route_envelope(const char *header, const char *body, size_t *len)
{
	size_t h = strlen(header), b = strlen(body);
	char *p = xmalloc(h + b + 2);
	memcpy(p, header, h);
	p[h] = '\n';
	memcpy(p + h + 1, body, b + 1);
	*len = h + 1 + b;
	return p;
}

char *route_envelope_stanza(const char *xml, long accepted, size_t *len)
{
	char hdr[32];
	snprintf(hdr, sizeof hdr, "stanza %ld", accepted);
	return route_envelope(hdr, xml, len);
}

char *route_envelope_push(const char *item, const char *ver, size_t *len)
{
	char hdr[64];
	snprintf(hdr, sizeof hdr, "push %s", ver);
	return route_envelope(hdr, item, len);
}

char *route_envelope_kick(const char *id, const char *cond, size_t *len)
{
	char hdr[192];
	snprintf(hdr, sizeof hdr, "kick %s %s", id, cond);
	return route_envelope(hdr, "", len);
}

char *route_envelope_pep(const char *node, int own, const char *xml, size_t *len)
{
	char hdr[ROUTE_HEADER_MAX];
	size_t o = 4;
	memcpy(hdr, "pep ", 4);
	for (; *node && o + 8 < sizeof hdr; node++) {
		unsigned char ch = (unsigned char)*node;
		if (ch <= ' ' || ch == '%' || ch == 0x7f)
			o += (size_t)snprintf(hdr + o, sizeof hdr - o, "%%%02X", ch);
		else
			hdr[o++] = (char)ch;
	}
	snprintf(hdr + o, sizeof hdr - o, "%s", own ? " own" : "");
	return route_envelope(hdr, xml, len);
}

/* Decode a percent-encoded node name into out: 0, or -1 if it does not
 * fit or is malformed. */
static int node_decode(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	char hex[3] = { 0 }, *end;
	for (; *in; in++) {
		if (o + 1 >= outsz)
			return -1;
		if (*in == '%') {
			if (!isxdigit((unsigned char)in[1]) || !isxdigit((unsigned char)in[2]))
				return -1;
			memcpy(hex, in + 1, 2);
			out[o++] = (char)strtoul(hex, &end, 16);
			in += 2;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
	return o ? 0 : -1;
}

int route_logged(enum route_kind k)
{
	return k == ROUTE_PRESENCE || k == ROUTE_PUSH || k == ROUTE_BLOCKING || k == ROUTE_PEP;
}

int route_parse(const char *p, size_t len, struct route_msg *m)
{
	const char *nl = memchr(p, '\n', len);
	char line[ROUTE_HEADER_MAX], *kind, *w, *c, *save = NULL, *end;
	size_t n;

	memset(m, 0, sizeof *m);
	m->kind = ROUTE_UNKNOWN;
	if (!nl || (size_t)(nl - p) >= sizeof line)
		return XE_INVALID;
	n = (size_t)(nl - p);
	memcpy(line, p, n);
	line[n] = '\0';
	m->body = nl + 1;
	m->body_len = len - n - 1;
	/* The kind, then the words it needs; words after those are ignored,
	 * so that a later version may add some (xmpp-redis(7)). */
	kind = strtok_r(line, " ", &save);
	if (!kind)
		return XE_INVALID;
	if (!strcmp(kind, "stanza")) {
		if ((w = strtok_r(NULL, " ", &save))) {
			m->accepted = strtol(w, &end, 10);
			if (*end || end == w)
				return XE_INVALID;
			w = strtok_r(NULL, " ", &save);
			m->echo = w && !strcmp(w, "echo");
		}
		m->kind = ROUTE_STANZA;
	} else if (!strcmp(kind, "inbox")) {
		m->kind = ROUTE_INBOX;
		w = strtok_r(NULL, " ", &save);
		m->offline = w && !strcmp(w, "offline");
	} else if (!strcmp(kind, "presence")) {
		m->kind = ROUTE_PRESENCE;
	} else if (!strcmp(kind, "carbons")) {
		m->kind = ROUTE_CARBONS;
	} else if (!strcmp(kind, "blocking")) {
		m->kind = ROUTE_BLOCKING;
	} else if (!strcmp(kind, "pep") && (w = strtok_r(NULL, " ", &save)) &&
	    node_decode(w, m->node, sizeof m->node) == 0) {
		w = strtok_r(NULL, " ", &save);
		m->own = w && !strcmp(w, "own");
		m->kind = ROUTE_PEP;
	} else if (!strcmp(kind, "muc") && (w = strtok_r(NULL, " ", &save)) &&
	    strlen(w) < sizeof m->node) {
		snprintf(m->node, sizeof m->node, "%s", w);
		m->kind = ROUTE_MUC;
		/* A message in the wake-up: all three words, or a bare one. */
		if ((w = strtok_r(NULL, " ", &save)) && strlen(w) < sizeof m->id &&
		    (c = strtok_r(NULL, " ", &save)) && strlen(c) < sizeof m->prev &&
		    (end = strtok_r(NULL, " ", &save)) && strlen(end) < sizeof m->rand) {
			snprintf(m->id, sizeof m->id, "%s", w);
			snprintf(m->prev, sizeof m->prev, "%s", c);
			snprintf(m->rand, sizeof m->rand, "%s", end);
		}
	} else if (!strcmp(kind, "push") && (w = strtok_r(NULL, " ", &save)) &&
	    strlen(w) < sizeof m->ver) {
		snprintf(m->ver, sizeof m->ver, "%s", w);
		m->kind = ROUTE_PUSH;
	} else if (!strcmp(kind, "kick") && (w = strtok_r(NULL, " ", &save)) &&
	    strlen(w) < sizeof m->id && (c = strtok_r(NULL, " ", &save)) &&
	    strlen(c) < sizeof m->cond) {
		snprintf(m->id, sizeof m->id, "%s", w);
		snprintf(m->cond, sizeof m->cond, "%s", c);
		m->kind = ROUTE_KICK;
	} else {
		return XE_INVALID;
	}
	return 0;
}

static int field(const char *rec, const char *name, char *out, size_t outsz)
{
	char pat[32];
	const char *p;
	size_t n;
	snprintf(pat, sizeof pat, "%s=", name);
	for (p = rec; (p = strstr(p, pat)); p++)
		if (p == rec || p[-1] == ' ')
			break;
	if (!p)
		return -1;
	p += strlen(pat);
	n = strcspn(p, " ");
	if (n >= outsz)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* A record's value: not empty, no space (the separator). */
static int field_ok(const char *v)
{
	return v[0] && !strchr(v, ' ');
}

int session_format(const struct session_info *si, char *out, size_t outsz)
{
	int n;

	if (outsz)
		out[0] = '\0';
	if (!field_ok(si->id) || !field_ok(si->host))
		return XE_INVALID;
	n = snprintf(out, outsz, "id=%s prio=%d avail=%d host=%s pid=%ld since=%ld seen=%ld det=%ld",
	    si->id, si->prio, si->avail, si->host, si->pid, si->since, si->seen, si->det);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz)
			out[0] = '\0';
		return XE_INVALID;
	}
	return n;
}

int session_parse(const char *resource, const char *rec, struct session_info *si)
{
	char v[64];
	memset(si, 0, sizeof *si);
	snprintf(si->resource, sizeof si->resource, "%s", resource);
	if (field(rec, "id", si->id, sizeof si->id) == -1 ||
	    field(rec, "host", si->host, sizeof si->host) == -1)
		return XE_INVALID;
	if (field(rec, "prio", v, sizeof v) == -1) return XE_INVALID;
	si->prio = atoi(v);
	if (field(rec, "avail", v, sizeof v) == -1) return XE_INVALID;
	si->avail = atoi(v);
	if (field(rec, "pid", v, sizeof v) == -1) return XE_INVALID;
	si->pid = atol(v);
	if (field(rec, "since", v, sizeof v) == -1) return XE_INVALID;
	si->since = atol(v);
	if (field(rec, "seen", v, sizeof v) == -1) return XE_INVALID;
	si->seen = atol(v);
	/* Records written before detached sessions have no det: attached. */
	if (field(rec, "det", v, sizeof v) == 0)
		si->det = atol(v);
	return 0;
}

enum roster_sub roster_item_sub(const char *item)
{
	static const char head[] = "<item subscription='";
	const char *p;
	if (strncmp(item, head, sizeof head - 1))
		return SUB_NONE;
	p = item + sizeof head - 1;
	if (!strncmp(p, "both'", 5))
		return SUB_BOTH;
	if (!strncmp(p, "from'", 5))
		return SUB_FROM;
	if (!strncmp(p, "to'", 3))
		return SUB_TO;
	return SUB_NONE;
}

int roster_item_ask(const char *item)
{
	const char *q = strchr(item, '\'');
	q = q ? strchr(q + 1, '\'') : NULL;
	return q && !strncmp(q + 1, " ask='subscribe'", 16);
}

/* ---- mam.h ---- */

long long mam_id_ms(const char *id)
{
	char *end;
	long long ms = strtoll(id, &end, 10);
	return end != id && *end == '-' && ms >= 0 ? ms : -1;
}

void mam_forwarded(struct xbuf *b, const struct mam_item *it)
{
	char stamp[DATETIME_MAX];
	static const char open[] = "<message";

	datetime_format(it->ms, 1, stamp, sizeof stamp);
	xbuf_addf(b, "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' "
	    "stamp='%s'/>", stamp);
	/* xmppd wrote it in the stream's default namespace: say which. */
	if (it->len > sizeof open - 1 && !memcmp(it->xml, open, sizeof open - 1)) {
		xbuf_adds(b, "<message xmlns='jabber:client'");
		xbuf_add(b, it->xml + sizeof open - 1, it->len - (sizeof open - 1));
	} else if (it->xml) {
		xbuf_add(b, it->xml, it->len);
	}
	xbuf_adds(b, "</forwarded>");
}

void mam_page_free(struct mam_page *p)
{
	int i;
	for (i = 0; i < p->n; i++)
		free(p->items[i].xml);
	free(p->items);
	memset(p, 0, sizeof *p);
}

void mam_prefs_free(struct mam_prefs *p)
{
	strvec_free(&p->always);
	strvec_free(&p->never);
}

/* ---- invite.h ---- */

int invite_token_ok(const char *token)
{
	return hex_lower_ok(token, INVITE_TOKEN_LEN);
}

/* ---- store.h: argument lists ---- */

void store_argv_add(struct store_argv *a, const char *v, size_t len)
{
	if (a->argc == STORE_ARGV_MAX)
		return;
	a->argv[a->argc] = v;
	a->lens[a->argc++] = len;
}

void store_argv_str(struct store_argv *a, const char *v)
{
	store_argv_add(a, v, strlen(v));
}

void store_reply_str(const redisReply *r, size_t i, char *out, size_t outsz)
{
	out[0] = '\0';
	if (r->type == REDIS_REPLY_ARRAY && r->elements > i &&
	    r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len < outsz) {
		memcpy(out, r->element[i]->str, r->element[i]->len);
		out[r->element[i]->len] = '\0';
	}
}

void route_delay_element(const char *domain, const struct xml_node *st, struct xbuf *out)
{
	char stamp[32];
	if (xml_child(st, NS_DELAY, "delay"))
		return;
	datetime_format((long long)time(NULL) * 1000, 0, stamp, sizeof stamp);
	xbuf_adds(out, "<delay xmlns='" NS_DELAY "' from='");
	xbuf_add_esc(out, domain, strlen(domain));
	xbuf_addf(out, "' stamp='%s'>Offline Storage</delay>", stamp);
}

int carbons_copyable(const struct xml_node *st)
{
	const char *type = xml_get(st, "type");

	if (!type || !strcmp(type, "normal")) {
		if (!xml_child(st, NS_CLIENT, "body"))
			return 0;
	} else if (strcmp(type, "chat")) {
		return 0;               /* error, groupchat, headline, unknown */
	}
	return !xml_child(st, NS_CARBONS, "private") && !xml_child(st, NS_HINTS, "no-copy") &&
	    !xml_child(st, NS_CARBONS, "received") && !xml_child(st, NS_CARBONS, "sent") &&
	    !xml_child(st, "http://jabber.org/protocol/muc#user", "x");
}

int mam_archivable(const struct xml_node *st)
{
	const char *type = xml_get(st, "type");
	if (type && strcmp(type, "chat") && strcmp(type, "normal"))
		return 0;
	if (xml_child(st, NS_HINTS, "no-store") || xml_child(st, NS_HINTS, "no-permanent-store"))
		return 0;
	return xml_child(st, NULL, "body") || xml_child(st, NS_HINTS, "store");
}

void pep_items_error(int rc, const struct pep_info *info, const char **etype,
    const char **cond, const char **app)
{
	*app = NULL;
	if (rc == PEP_NONODE) {
		*etype = "cancel";
		*cond = "item-not-found";
	} else if (rc == PEP_DENIED && !strcmp(info->access_model, "whitelist")) {
		*etype = "cancel";
		*cond = "not-allowed";
		*app = "closed-node";
	} else if (rc == PEP_DENIED) {
		*etype = "auth";
		*cond = "not-authorized";
		*app = !strcmp(info->access_model, "roster") ? "not-in-roster-group" :
		    "presence-subscription-required";
	} else {
		/* XEP-0191 3.3 (PEP_BLOCKED): as if the account were not there */
		*etype = "cancel";
		*cond = "service-unavailable";
	}
}
