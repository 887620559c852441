/*
 * avatar.c - XEP-0398 vCard-to-PEP avatar conversion: the PHOTO of a
 * user's vCard (XEP-0054, XEP-0153) and the user's XEP-0084 avatar (PEP
 * nodes urn:xmpp:avatar:data and urn:xmpp:avatar:metadata) show the
 * same image.
 *
 *  - A vCard set whose PHOTO has a TYPE and a BINVAL publishes the image
 *    as avatar data (base64, item id: SHA-1 hex of the image bytes), then
 *    its metadata (<info id bytes type/>), with the usual notifications,
 *    unless the metadata node holds that id already (a client setting
 *    the same vCard again changes nothing). A vCard without PHOTO
 *    publishes empty metadata (XEP-0084: no avatar) when the current
 *    metadata has an image. A PHOTO with EXTVAL, without TYPE, that is
 *    not base64, or whose data item would exceed pep_max_item_size is not
 *    converted: the vCard is stored all the same.
 *  - A publish of avatar metadata by the user sets the vCard's PHOTO to
 *    the first <info/> without url whose data item is on the data node
 *    (TYPE from the info, BINVAL the data), or removes the PHOTO when the
 *    metadata has no <info/>. A vCard that would exceed vcard_max_size
 *    is left as it was.
 * The vCard-update hash in presence (XEP-0153) is the clients' business.
 * Neither direction starts the other: the conversions write through the
 * router, not through the requests that trigger them.
 */
#include "modules.h"
#include "conn.h"
#include "config.h"
#include "log.h"
#include "pep.h"
#include "vcard.h"
#include "xmalloc.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_AVATAR_DATA "urn:xmpp:avatar:data"
#define NS_AVATAR_META "urn:xmpp:avatar:metadata"
#define NS_VCARD_CONV  "urn:xmpp:pep-vcard-conversion:0"

#define SHA1_HEX (2 * SHA1_DIGEST_SIZE)

/* ---- vCard to PEP ---- */

/* The base64 text s without the white space vCards wrap it with; the
 * caller frees it. */
static char *squeeze(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			*o++ = *s;
	*o = '\0';
	return out;
}

/* Decode b64 and hash it: *bytes its length, hex the SHA-1. 0, or -1
 * when it is not base64 or empty. */
static int image_id(const char *b64, size_t *bytes, char hex[SHA1_HEX + 1])
{
	struct base64_decode_ctx d;
	struct sha1_ctx h;
	uint8_t *img, digest[SHA1_DIGEST_SIZE];
	size_t n = strlen(b64), len = BASE64_DECODE_LENGTH(n);
	int i, ok;

	img = xmalloc(len + 1);
	base64_decode_init(&d);
	ok = base64_decode_update(&d, &len, img, n, b64) && base64_decode_final(&d) && len > 0;
	if (ok) {
		sha1_init(&h);
		sha1_update(&h, len, img);
		sha1_digest(&h, SHA1_DIGEST_SIZE, digest);
		for (i = 0; i < SHA1_DIGEST_SIZE; i++)
			snprintf(hex + 2 * i, 3, "%02x", digest[i]);
		*bytes = len;
	}
	free(img);
	return ok ? 0 : -1;
}

/* The newest metadata item, parsed (NULL: none, or Redis failed). */
static void keep_item(const char *xml, size_t len, void *arg)
{
	struct xml_node **it = arg;
	xml_free(*it);
	*it = xml_parse_string(xml, len);
}

static struct xml_node *current_metadata(struct conn *c)
{
	struct xml_node *it = NULL;
	struct pep_info info;

	if (pep_items(conn_store(c), conn_bare(c), NS_AVATAR_META, "", 1, NULL, 0, &info,
	    keep_item, &it) < 0)
		log_msg(LOG_ERR, "avatar: %s", conn_store(c)->err);
	return it;
}

static void publish(struct conn *c, const char *node, const char *id, const struct xbuf *b)
{
	int rc = pep_publish_own(c, node, id, b->p, b->len, NULL);
	if (rc < 0)
		log_msg(LOG_ERR, "avatar publish: %s", conn_store(c)->err);
	else if (rc == PEP_FULL)
		log_msg(LOG_NOTICE, "avatar: %s has pep_max_nodes nodes", conn_bare(c));
}

/* No PHOTO: say "no avatar" if the metadata shows one. */
static void avatar_none(struct conn *c)
{
	struct xml_node *it = current_metadata(c), *md;
	struct xbuf b = { 0 };

	md = it ? xml_child(it, NS_AVATAR_META, "metadata") : NULL;
	if (md && xml_child(md, NS_AVATAR_META, "info")) {
		xbuf_adds(&b, "<item id='none'><metadata xmlns='" NS_AVATAR_META "'/></item>");
		publish(c, NS_AVATAR_META, "none", &b);
	}
	xbuf_free(&b);
	xml_free(it);
}

/* Does the newest metadata item carry id already? */
static int metadata_is(struct conn *c, const char *id)
{
	struct xml_node *it = current_metadata(c);
	int same = it && xml_get(it, "id") && !strcmp(xml_get(it, "id"), id);
	xml_free(it);
	return same;
}

void avatar_vcard_set(struct conn *c, const struct xml_node *v)
{
	struct xml_node *photo = xml_child(v, NS_VCARD, "PHOTO"), *t, *bin;
	struct xbuf data = { 0 }, meta = { 0 };
	char hex[SHA1_HEX + 1], *b64 = NULL;
	const char *type;
	size_t bytes;

	if (!photo) {
		avatar_none(c);
		return;
	}
	t = xml_child(photo, NS_VCARD, "TYPE");
	bin = xml_child(photo, NS_VCARD, "BINVAL");
	if (!t || !bin || !*(type = xml_text(t)))
		return;         /* EXTVAL, or no TYPE: nothing to say in <info/> */
	b64 = squeeze(xml_text(bin));
	if (image_id(b64, &bytes, hex) == -1)
		goto out;
	if (metadata_is(c, hex))
		goto out;
	xbuf_addf(&data, "<item id='%s'><data xmlns='" NS_AVATAR_DATA "'>", hex);
	xbuf_adds(&data, b64);          /* base64: nothing to escape */
	xbuf_adds(&data, "</data></item>");
	if (data.len > conn_cfg(c)->pep_max_item_size) {
		log_msg(LOG_INFO, "avatar: %s: photo of %zu bytes too large for a PEP item",
		    conn_bare(c), bytes);
		goto out;
	}
	xbuf_addf(&meta, "<item id='%s'><metadata xmlns='" NS_AVATAR_META "'><info id='%s' "
	    "bytes='%zu' type='", hex, hex, bytes);
	xbuf_add_esc(&meta, type, strlen(type));
	xbuf_adds(&meta, "'/></metadata></item>");
	if (meta.len > conn_cfg(c)->pep_max_item_size)
		goto out;
	/* data first: a contact told of the metadata finds the data there */
	publish(c, NS_AVATAR_DATA, hex, &data);
	publish(c, NS_AVATAR_META, hex, &meta);
out:
	free(b64);
	xbuf_free(&data);
	xbuf_free(&meta);
}

/* ---- PEP to vCard ---- */

/* The text of the data item id, parsed out of its item; the caller
 * frees it. NULL: none (or Redis failed). */
static char *data_of(struct conn *c, const char *id)
{
	struct xml_node *it = NULL, *d;
	struct pep_info info;
	const char *ids[1] = { id };
	char *out = NULL;

	if (pep_items(conn_store(c), conn_bare(c), NS_AVATAR_DATA, "", 0, ids, 1, &info,
	    keep_item, &it) < 0)
		log_msg(LOG_ERR, "avatar: %s", conn_store(c)->err);
	if (it && (d = xml_child(it, NS_AVATAR_DATA, "data")))
		out = xstrdup(xml_text(d));
	xml_free(it);
	return out;
}

/* Set the vCard's PHOTO to type and b64, or remove it (type NULL). */
static void vcard_photo(struct conn *c, const char *type, const char *b64)
{
	struct xml_node *v = NULL, *photo;
	char *xml;
	size_t len;
	int rc = vcard_get(conn_store(c), conn_bare(c), &xml, &len);

	if (rc < 0) {
		log_msg(LOG_ERR, "avatar vcard: %s", conn_store(c)->err);
		return;
	}
	if (rc == VCARD_FOUND && !(v = xml_parse_string(xml, len)))
		log_msg(LOG_WARNING, "avatar: %s: stored vCard does not parse", conn_bare(c));
	free(xml);
	if (!v && rc == VCARD_FOUND)
		return;
	if (!v && !type)
		return;         /* no vCard, no photo: nothing to remove */
	if (!v)
		v = xml_new(NS_VCARD, "vCard");
	if (!xml_remove_children(v, NS_VCARD, "PHOTO") && !type)
		goto out;
	if (type) {
		photo = xml_new_child(v, NS_VCARD, "PHOTO");
		xml_add_text(xml_new_child(photo, NS_VCARD, "TYPE"), type, strlen(type));
		xml_add_text(xml_new_child(photo, NS_VCARD, "BINVAL"), b64, strlen(b64));
	}
	xml = xml_string(v, &len);
	if (len > conn_cfg(c)->vcard_max_size)
		log_msg(LOG_INFO, "avatar: %s: vCard with the photo over vcard_max_size",
		    conn_bare(c));
	else if (vcard_put(conn_store(c), conn_bare(c), xml, len) < 0)
		log_msg(LOG_ERR, "avatar vcard: %s", conn_store(c)->err);
	free(xml);
out:
	xml_free(v);
}

void avatar_published(struct conn *c, const char *node, const struct xml_node *payload)
{
	struct xml_node *info;
	const char *id, *type, *url;
	char *b64;
	int any = 0;

	if (strcmp(node, NS_AVATAR_META) || !payload->ns || strcmp(payload->ns, NS_AVATAR_META) ||
	    strcmp(payload->name, "metadata"))
		return;
	for (info = payload->children; info; info = info->next) {
		if (!info->name || strcmp(info->name, "info") || !info->ns ||
		    strcmp(info->ns, NS_AVATAR_META))
			continue;
		any = 1;
		if (((url = xml_get(info, "url")) && *url) || !(id = xml_get(info, "id")) ||
		    !(type = xml_get(info, "type")))
			continue;       /* hosted elsewhere: a vCard holds no URL of ours */
		if ((b64 = data_of(c, id))) {
			vcard_photo(c, type, b64);
			free(b64);
			return;
		}
	}
	if (!any)
		vcard_photo(c, NULL, NULL);
}

static const char *const avatar_disco[] = { NS_VCARD_CONV, NULL };

const struct module mod_avatar = {
	.name = "avatar",
	.phases = PHASE_SESSION,
	.account_disco = avatar_disco,
};
