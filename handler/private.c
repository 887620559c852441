/*
 * private.c - XEP-0049 private XML storage (jabber:iq:private): a user
 * stores XML under a namespace of its choosing and reads it back; XEP-0048
 * bookmarks (storage:bookmarks) live here. Only the owner: the data is in
 * Redis (router/private.h), one hash field per namespace, holding the
 * elements of that namespace as the client sent them; a set replaces
 * what the namespace held. The conferences of storage:bookmarks are the
 * exception: they live in the user's XEP-0402 PEP node (bookmarks.c).
 *
 * Answers (xmpp-handler(8)):
 *   get                        the stored elements, or, none stored, the
 *                              requested element back, empty
 *   to anyone but oneself      <forbidden/>, type auth (XEP-0049 2.3)
 *   no child element           <not-acceptable/> (XEP-0049 2.3)
 *   a get with more than one child, or a set with children of more
 *   than one namespace         <bad-request/> (a get names one namespace;
 *                              a set may hold several elements of one)
 *   child namespace reserved   <not-acceptable/>: none, jabber:client,
 *                              jabber:server, jabber:iq:private
 *   set over PRIVATE_MAX_SIZE, or a new namespace beyond PRIVATE_MAX_NS
 *                              <not-acceptable/> with a text, nothing stored
 *   Redis failed               <internal-server-error/>, type wait
 */
#include "modules.h"
#include "conn.h"
#include "log.h"
#include "private.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRIVATE_MAX_SIZE (64 * 1024)   /* bytes stored under one namespace */
#define PRIVATE_MAX_NS   64            /* namespaces one user may store */

/* Namespaces no stored element may have (besides none at all). */
static const char *const reserved_ns[] = { NS_CLIENT, "jabber:server", NS_PRIVATE, NULL };

static int reserved(const char *ns)
{
	int i;
	if (!ns || !*ns)
		return 1;
	for (i = 0; reserved_ns[i]; i++)
		if (!strcmp(reserved_ns[i], ns))
			return 1;
	return 0;
}

static void private_read(struct conn *c, const struct xml_node *iq, const struct xml_node *want)
{
	struct xml_node *q;
	char *xml;
	size_t len;
	int rc = private_get(conn_store(c), conn_bare(c), want->ns, &xml, &len);

	if (rc < 0) {
		log_msg(LOG_ERR, "private get: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
		return;
	}
	if (!strcmp(want->ns, NS_BOOKMARKS)) {
		/* conferences come from the PEP node (bookmarks.c) */
		if (!(q = bookmarks_get(c, xml, len))) {
			conn_error(c, iq, "wait", "internal-server-error", NULL);
			free(xml);
			return;
		}
		if (!xml_first_element(q))
			xml_new_child(q, want->ns, want->name);
	} else {
		q = xml_new(NS_PRIVATE, "query");
		if (rc == PRIVATE_FOUND)
			xml_add_raw(q, xml, len);
		else
			xml_new_child(q, want->ns, want->name);
	}
	conn_iq_result(c, iq, q);
	free(xml);
}

static void private_write(struct conn *c, const struct xml_node *iq, struct xml_node *q)
{
	const struct xml_node *ch;
	struct xbuf b = { 0 };
	char text[80], *one;
	const char *ns = xml_first_element(q)->ns;
	size_t len;
	int rc;

	/* conferences go to the PEP node (bookmarks.c), the rest is stored */
	if (!strcmp(ns, NS_BOOKMARKS) && bookmarks_set(c, iq, q) == -1)
		return;
	for (ch = q->children; ch; ch = ch->next)
		if (ch->name) {
			one = xml_string(ch, &len);
			xbuf_add(&b, one, len);
			free(one);
		}
	if (b.len > PRIVATE_MAX_SIZE) {
		snprintf(text, sizeof text, "more than %d bytes in one namespace", PRIVATE_MAX_SIZE);
		conn_error(c, iq, "modify", "not-acceptable", text);
		goto out;
	}
	rc = private_put(conn_store(c), conn_bare(c), ns, b.p, b.len, PRIVATE_MAX_NS);
	if (rc < 0) {
		log_msg(LOG_ERR, "private set: %s", conn_store(c)->err);
		conn_error(c, iq, "wait", "internal-server-error", NULL);
	} else if (rc == PRIVATE_FULL) {
		snprintf(text, sizeof text, "more than %d namespaces stored", PRIVATE_MAX_NS);
		conn_error(c, iq, "modify", "not-acceptable", text);
	} else {
		conn_iq_result(c, iq, NULL);
	}
out:
	xbuf_free(&b);
}

static void private_iq(struct conn *c, struct xml_node *iq)
{
	struct xml_node *q = xml_first_element(iq), *ch, *first = NULL;
	int get = !strcmp(xml_get(iq, "type"), "get"), n = 0, mixed = 0;

	if (!conn_to_account(c, iq)) {
		conn_error(c, iq, "auth", "forbidden", "private data is the owner's only");
		return;
	}
	if (strcmp(q->name, "query")) {
		conn_error(c, iq, "modify", "bad-request", "the payload is <query/>");
		return;
	}
	for (ch = q->children; ch; ch = ch->next) {
		if (!ch->name)
			continue;
		if (!first)
			first = ch;
		else if (!ch->ns || !first->ns || strcmp(ch->ns, first->ns))
			mixed = 1;
		n++;
	}
	if (!first) {
		conn_error(c, iq, "modify", "not-acceptable", "a child element names the namespace");
	} else if ((get && n > 1) || mixed) {
		conn_error(c, iq, "modify", "bad-request",
		    get ? "one element per get" : "one namespace per set");
	} else if (reserved(first->ns)) {
		conn_error(c, iq, "modify", "not-acceptable", "reserved namespace");
	} else if (get) {
		private_read(c, iq, first);
	} else {
		private_write(c, iq, q);
	}
}

static const char *const private_ns[] = { NS_PRIVATE, NULL };

const struct module mod_private = {
	.name = "private",
	.phases = PHASE_SESSION,
	.iq_ns = private_ns,
	.user_iq_ns = private_ns,
	.disco = private_ns,
	.iq = private_iq,
};
