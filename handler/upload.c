/*
 * upload.c - HTTP file upload, XEP-0363 (urn:xmpp:http:upload:0): the
 * upload domain upload_domain (xmpp.conf(5)) answers service discovery
 * (identity store/file, its maximum file size in an XEP-0128 form) and
 * slot requests. A slot is checked (file name, size against
 * upload_max_size, content type against upload_types), its bytes
 * reserved in the user's quota (router/uploads.h), and answered with a
 * signed PUT URL and a GET URL on xmpp-web (lib/uploadsig.h), which
 * takes the file; the handler never sees a byte of it.
 *
 * Errors are the XEP's (4): a file too large is <not-acceptable/> with
 * <file-too-large><max-file-size/></file-too-large>; a request over
 * the quota <resource-constraint/> with a text; a content type the
 * operator does not take <not-allowed/>; a missing or malformed
 * filename, size or content type <bad-request/>.
 */
#include "modules.h"
#include "conn.h"
#include "config.h"
#include "jid.h"
#include "log.h"
#include "random.h"
#include "uploads.h"
#include "uploadsig.h"
#include "xdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_UPLOAD "urn:xmpp:http:upload:0"
#define UPLOAD_TEXT_MAX 160     /* bytes of an error's text */
#define UPLOAD_URL_MAX (CONFIG_MAX_PATH + UPLOADSIG_TARGET_MAX)
/* Without http_url, slots point at xmpp-web's port on the user's domain. */
#define UPLOAD_BASE_DEFAULT "http://%s:5280"

/* An error with XEP-0363's <file-too-large/> when max is >= 0. */
static void fail(struct conn *c, const struct xml_node *iq, const char *etype,
    const char *cond, const char *text, long max)
{
	struct xml_node *r = conn_error_new(c, iq, etype, cond, text), *e, *f;
	char num[24];

	if (!r)
		return;
	if (max >= 0 && (e = xml_child(r, NS_CLIENT, "error"))) {
		f = xml_new_child(xml_new_child(e, NS_UPLOAD, "file-too-large"), NS_UPLOAD,
		    "max-file-size");
		snprintf(num, sizeof num, "%ld", max);
		xml_add_text(f, num, strlen(num));
	}
	conn_send(c, r);
	xml_free(r);
}

/* XEP-0030 on the upload domain: who it is, and how large a file may be
 * (XEP-0363 3, XEP-0128). */
static struct xml_node *service_info(struct conn *c)
{
	struct xml_node *q = serveriq_service_info("store", "file", UPLOAD_SERVICE_NAME,
	    (const char *const[]){ NS_UPLOAD, NULL });
	struct xml_node *x = xdata_form("result", NS_UPLOAD);
	char num[24];

	snprintf(num, sizeof num, "%ld", conn_cfg(c)->upload_max_size);
	xdata_field(x, "max-file-size", "text-single", NULL, num, NULL);
	xml_add(q, x);
	return q;
}

/* The request's size attribute: a decimal number of bytes, or -1. */
static long parse_size(const char *v)
{
	char *end;
	long n;

	if (!v || *v < '0' || *v > '9' || strlen(v) > 18)
		return -1;
	n = strtol(v, &end, 10);
	return *end ? -1 : n;
}

/* <slot><put url=/><get url=/></slot> for s. 0, or -1 if a URL does not
 * fit (a file name the checks let through always does). */
static int slot_answer(struct conn *c, const struct xml_node *iq,
    const struct uploadsig_slot *s, const unsigned char key[UPLOADSIG_KEY_LEN])
{
	char base[CONFIG_MAX_PATH], target[UPLOADSIG_TARGET_MAX], url[UPLOAD_URL_MAX];
	struct xml_node *slot = xml_new(NS_UPLOAD, "slot");

	if (conn_cfg(c)->http_url[0])
		snprintf(base, sizeof base, "%s", conn_cfg(c)->http_url);
	else
		snprintf(base, sizeof base, UPLOAD_BASE_DEFAULT, conn_domain(c));

	if (uploadsig_put_target(key, s, target, sizeof target) < 0)
		goto fail;
	snprintf(url, sizeof url, "%s%s", base, target);
	xml_set(xml_new_child(slot, NS_UPLOAD, "put"), "url", url);
	if (uploadsig_get_target(s, target, sizeof target) < 0)
		goto fail;
	snprintf(url, sizeof url, "%s%s", base, target);
	xml_set(xml_new_child(slot, NS_UPLOAD, "get"), "url", url);
	conn_iq_result(c, iq, slot);
	return 0;
fail:
	xml_free(slot);
	return -1;
}

/* A slot request (XEP-0363 4): checked, reserved, answered. */
static void request(struct conn *c, const struct xml_node *iq, const struct xml_node *q)
{
	const struct config *cfg = conn_cfg(c);
	const char *name = xml_get(q, "filename"), *type = xml_get(q, "content-type");
	unsigned char key[UPLOADSIG_KEY_LEN];
	struct uploadsig_slot s;
	char text[UPLOAD_TEXT_MAX];
	time_t now = time(NULL);
	long used;
	int rc;

	memset(&s, 0, sizeof s);
	s.size = parse_size(xml_get(q, "size"));
	if (!name || !uploadsig_name_ok(name)) {
		fail(c, iq, "modify", "bad-request", "a file name is needed", -1);
		return;
	}
	if (s.size < 0) {
		fail(c, iq, "modify", "bad-request", "a size in bytes is needed", -1);
		return;
	}
	if (type && !uploadsig_type_ok(type)) {
		fail(c, iq, "modify", "bad-request", "the content type is not valid", -1);
		return;
	}
	if (s.size > cfg->upload_max_size) {
		snprintf(text, sizeof text, "File too large. The maximum file size is %ld bytes",
		    cfg->upload_max_size);
		fail(c, iq, "modify", "not-acceptable", text, cfg->upload_max_size);
		return;
	}
	if (cfg->upload_types[0] && (!type || !config_upload_type(cfg, type))) {
		fail(c, iq, "cancel", "not-allowed", "files of this content type are not taken", -1);
		return;
	}
	snprintf(s.name, sizeof s.name, "%s", name);
	snprintf(s.type, sizeof s.type, "%s", type ? type : "");
	s.expires = (long)now + cfg->upload_slot_ttl;
	if (random_hex(s.id, UPLOADSIG_ID_BYTES) < 0) {
		log_msg(LOG_ERR, "upload: getrandom failed");
		fail(c, iq, "wait", "internal-server-error", NULL, -1);
		return;
	}
	if ((rc = upload_key(conn_store(c), key)) == 0)
		rc = upload_reserve(conn_store(c), conn_bare(c), s.id, s.size, cfg->upload_quota,
		    now, cfg->upload_slot_ttl, &used);
	if (rc < 0) {
		log_msg(LOG_ERR, "upload: %s", conn_store(c)->err);
		fail(c, iq, "wait", "internal-server-error", NULL, -1);
	} else if (rc == UPLOAD_OVER_QUOTA) {
		snprintf(text, sizeof text, "Quota reached: %ld of %ld bytes in use", used,
		    cfg->upload_quota);
		fail(c, iq, "wait", "resource-constraint", text, -1);
	} else if (slot_answer(c, iq, &s, key) == -1) {
		upload_forget(conn_store(c), conn_bare(c), s.id);
		fail(c, iq, "modify", "not-acceptable", "the URL would be too long", -1);
	}
	memset(key, 0, sizeof key);
}

/* An IQ to the upload domain itself. */
static void service_iq(struct conn *c, const struct xml_node *iq)
{
	const char *type = xml_get(iq, "type");
	const struct xml_node *q = xml_first_element(iq);
	int get = type && !strcmp(type, "get");

	if (!type || (strcmp(type, "get") && strcmp(type, "set")))
		return;             /* results and errors end here */
	if (get && q && q->ns && !strcmp(q->ns, NS_DISCO_INFO) && !xml_get(q, "node"))
		conn_iq_result(c, iq, service_info(c));
	else if (get && q && q->ns && !strcmp(q->ns, NS_DISCO_ITEMS) && !xml_get(q, "node"))
		conn_iq_result(c, iq, xml_new(NS_DISCO_ITEMS, "query"));
	else if (get && q && q->ns && !strcmp(q->ns, NS_UPLOAD) && !strcmp(q->name, "request"))
		request(c, iq, q);
	else
		conn_error(c, iq, "cancel", "service-unavailable", NULL);
}

/* Every stanza to the upload domain ends here: IQs to the domain are
 * served, anything else (and anything to a JID under it) is refused. */
static enum mod_ret upload_inbound(struct conn *c, struct xml_node *st)
{
	const char *upd = conn_cfg(c)->upload_domain, *to = xml_get(st, "to");
	struct jid j;

	if (!upd[0] || !to || jid_parse(to, &j) == -1 || strcmp(j.domain, upd))
		return MOD_PASS;
	if (!strcmp(st->name, "iq") && !j.node[0] && !j.resource[0])
		service_iq(c, st);
	else
		conn_error(c, st, "cancel", "service-unavailable", NULL);
	return MOD_HANDLED;
}

const struct module mod_upload = {
	.name = "upload",
	.phases = PHASE_SESSION,
	.inbound = upload_inbound,
};
