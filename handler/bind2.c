/*
 * bind2.c - Bind2 (XEP-0386): the resource bound inside a SASL2 login,
 * with what modules enable inline (carbons, CSI, stream management:
 * each module's bind2 hook), and the archive's bounds in <bound/> so the
 * client knows what to fetch: offline messages the archive holds stay
 * there (XEP-0386 4).
 *
 * The resource is "<tag>.<8 hex digits>": the client's tag, then a
 * digest of its user-agent id, so one client gets the same resource at
 * every login and a new login replaces its old session (conn_bind's
 * conflict rule), while two clients never collide. Without a user agent
 * the digits are random.
 */
#include "sasl2.h"
#include "modules.h"
#include "conn.h"
#include "hex.h"
#include "jid.h"
#include "log.h"
#include "random.h"
#include "xmalloc.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIND2_TAG_MAX    64     /* bytes of a client's tag (before prepping) */
#define BIND2_TAG_NONE   "xmppd"
#define BIND2_ID_BYTES   4      /* of the digest: 8 hex digits */

void bind2_offer(struct conn *c, struct xml_node *inl)
{
	struct xml_node *l = xml_new_child(xml_new_child(inl, NS_BIND2, "bind"), NS_BIND2,
	    "inline");
	int i;
	(void)c;
	for (i = 0; modules[i]; i++)
		if (modules[i]->bind2_var && modules[i]->bind2)
			xml_set(xml_new_child(l, NS_BIND2, "feature"), "var", modules[i]->bind2_var);
}

/* The client's tag, prepped, into out ("" none): 0, or -1 no resource. */
static int tag_of(const struct xml_node *bind, char *out, size_t outsz)
{
	struct xml_node *t = xml_child(bind, NS_BIND2, "tag");
	const char *s = t ? xml_text(t) : "";
	out[0] = '\0';
	if (!*s)
		return 0;
	if (strlen(s) > BIND2_TAG_MAX || jid_resourceprep(s, out, outsz) == -1)
		return -1;
	return 0;
}

int bind2_check(const struct xml_node *bind)
{
	char tag[JID_MAX_PART];
	return tag_of(bind, tag, sizeof tag);
}

static void resource_of(struct conn *c, const char *tag, char *out, size_t outsz)
{
	const char *agent = sasl2_agent_id(c);
	unsigned char d[SHA256_DIGEST_SIZE];
	char hex[2 * BIND2_ID_BYTES + 1];

	if (agent[0]) {
		struct sha256_ctx h;
		sha256_init(&h);
		sha256_update(&h, strlen(agent), (const uint8_t *)agent);
		sha256_digest(&h, sizeof d, d);
		hex_encode(d, BIND2_ID_BYTES, hex);
	} else if (random_hex(hex, BIND2_ID_BYTES) < 0) {
		abort();                 /* no entropy: nothing safe to do */
	}
	snprintf(out, outsz, "%s.%s", tag[0] ? tag : BIND2_TAG_NONE, hex);
}

int bind2_request(struct conn *c, const struct xml_node *bind, struct xml_node *success)
{
	char tag[JID_MAX_PART], res[JID_MAX_PART + 2 * BIND2_ID_BYTES + 2];
	struct xml_node *bound, *el, *meta;
	int i;

	if (tag_of(bind, tag, sizeof tag) == -1)
		return -1;                 /* bind2_check let it through: cannot be */
	resource_of(c, tag, res, sizeof res);
	if (conn_bind(c, res) < 0) {
		log_msg(LOG_ERR, "bind2: no session bound");
		return -1;
	}
	conn_offline_from_archive(c);
	bound = xml_new_child(success, NS_BIND2, "bound");
	if ((meta = mam_metadata_node(c)))
		xml_add(bound, meta);
	else
		log_msg(LOG_ERR, "bind2: archive metadata: %s", conn_store(c)->err);
	for (i = 0; modules[i]; i++) {
		if (!modules[i]->bind2_var || !modules[i]->bind2)
			continue;
		for (el = bind->children; el; el = el->next)
			if (el->name && el->ns && !strcmp(el->ns, modules[i]->bind2_var))
				modules[i]->bind2(c, el, bound);
	}
	log_msg(LOG_INFO, "bound by Bind2 (tag '%s')", tag);
	return 0;
}
