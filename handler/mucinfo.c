/*
 * mucinfo.c - a room's disco#info (mucinfo.h).
 */
#include "mucinfo.h"
#include "mucview.h"
#include "xdata.h"

#include <stdio.h>
#include <string.h>

#define NS_DISCO_INFO_Q "http://jabber.org/protocol/disco#info"
#define NS_ROOMINFO     NS_MUC "#roominfo"
#define NS_MAM_Q        "urn:xmpp:mam:2"

static void feature(struct xml_node *q, const char *var)
{
	xml_set(xml_new_child(q, NS_DISCO_INFO_Q, "feature"), "var", var);
}

/* One of two features, as the room's field key is "1" or not. */
static void feature_of(struct xml_node *q, const struct muc_info *info, const char *key,
    const char *yes, const char *no)
{
	feature(q, !strcmp(muc_info_get(info, key), "1") ? yes : no);
}

struct xml_node *muc_room_info_query(const struct muc_info *info, const char *room,
    int archive)
{
	struct xml_node *q, *id, *x;
	const char *name = muc_info_get(info, "name");
	char n[16];

	q = xml_new(NS_DISCO_INFO_Q, "query");
	id = xml_new_child(q, NS_DISCO_INFO_Q, "identity");
	xml_set(id, "category", "conference");
	xml_set(id, "type", "text");
	xml_set(id, "name", name[0] ? name : room);
	feature(q, NS_DISCO_INFO_Q);
	feature(q, NS_MUC);
	feature_of(q, info, "persistent", "muc_persistent", "muc_temporary");
	feature_of(q, info, "public", "muc_public", "muc_hidden");
	feature_of(q, info, "members_only", "muc_membersonly", "muc_open");
	feature_of(q, info, "moderated", "muc_moderated", "muc_unmoderated");
	feature(q, muc_info_get(info, "password")[0] ? "muc_passwordprotected" : "muc_unsecured");
	feature(q, !strcmp(muc_info_get(info, "whois"), "anyone") ? "muc_nonanonymous"
	    : "muc_semianonymous");
	/* XEP-0313 6: only a room that archives says it; queries are still
	 * answered from what it archived while it did (router/muc.h). */
	if (archive && !strcmp(muc_info_get(info, "logging"), "1"))
		feature(q, NS_MAM_Q);
	x = xml_add(q, xdata_form("result", NS_ROOMINFO));
	xdata_field(x, "muc#roominfo_description", "text-single", "Description",
	    muc_info_get(info, "desc"), NULL);
	snprintf(n, sizeof n, "%d", info->occupants);
	xdata_field(x, "muc#roominfo_occupants", "text-single", "Occupants", n, NULL);
	xdata_field(x, "muc#roomconfig_changesubject", "boolean", NULL,
	    muc_info_get(info, "change_subject"), NULL);
	return q;
}
