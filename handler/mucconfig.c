/*
 * mucconfig.c - a room's configuration (XEP-0045 10): the owner form
 * (get and submit; the empty form of an instant room; cancel of a new
 * room), destruction by its owner (10.9), and the room's disco#info
 * (6.4), which tells the same configuration to everyone, and whether the
 * room keeps an archive (XEP-0313).
 *
 * Every field of muc#roomconfig xmppd keeps is one row of room_fields:
 * its form variable, the :conf field it is stored in (router/muc.h), its
 * type and, for lists, its values. A submitted form is checked here
 * whole, then stored by one script (muc_config_set), which tells the
 * occupants.
 */
#include "modules.h"
#include "muc-int.h"
#include "muc.h"
#include "mucinfo.h"
#include "route.h"
#include "xdata.h"
#include "log.h"
#include "strvec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_ROOMCONFIG  NS_MUC "#roomconfig"
#define HISTORY_MAX    MUC_LOG_MAX      /* the longest history one may ask */
#define MAX_USERS_MAX  100000

enum field_kind { F_TEXT, F_SECRET, F_BOOL, F_LIST, F_COUNT };

static const char *const whois_values[] = { "moderators", "anyone", NULL };
static const char *const pm_values[] = { "anyone", "participants", "moderators", "none", NULL };

static const struct room_field {
	const char *var;        /* muc#roomconfig_... */
	const char *key;        /* in :conf */
	const char *label;
	enum field_kind kind;
	const char *const *values;      /* F_LIST */
	long max;               /* F_COUNT */
} room_fields[] = {
	{ "muc#roomconfig_roomname", "name", "Name", F_TEXT, NULL, 0 },
	{ "muc#roomconfig_roomdesc", "desc", "Description", F_TEXT, NULL, 0 },
	{ "muc#roomconfig_persistentroom", "persistent", "Persistent (stays when empty)",
	  F_BOOL, NULL, 0 },
	{ "muc#roomconfig_publicroom", "public", "Listed in the directory of rooms", F_BOOL,
	  NULL, 0 },
	{ "muc#roomconfig_membersonly", "members_only", "Members only", F_BOOL, NULL, 0 },
	{ "muc#roomconfig_moderatedroom", "moderated", "Moderated (visitors have no voice)",
	  F_BOOL, NULL, 0 },
	{ "muc#roomconfig_passwordprotectedroom", NULL, "Password protected", F_BOOL, NULL,
	  0 },
	{ "muc#roomconfig_roomsecret", "password", "Password", F_SECRET, NULL, 0 },
	{ "muc#roomconfig_whois", "whois", "Who may see real JIDs", F_LIST, whois_values, 0 },
	{ "muc#roomconfig_historylength", "history", "Messages of history sent on joining",
	  F_COUNT, NULL, HISTORY_MAX },
	{ "muc#roomconfig_allowpm", "allow_pm", "Who may send private messages", F_LIST,
	  pm_values, 0 },
	{ "muc#roomconfig_changesubject", "change_subject", "Participants may change the subject",
	  F_BOOL, NULL, 0 },
	{ "muc#roomconfig_allowinvites", "allow_invites", "Participants may invite", F_BOOL,
	  NULL, 0 },
	{ "muc#roomconfig_maxusers", "max_users", "Most occupants (0: no limit)", F_COUNT,
	  NULL, MAX_USERS_MAX },
	{ "muc#roomconfig_enablelogging", "logging", "Archived (message archive of the room)",
	  F_BOOL, NULL, 0 },
};
#define NFIELDS (sizeof room_fields / sizeof room_fields[0])
#define PROTECTED "muc#roomconfig_passwordprotectedroom"

/* Is v a value field f takes? Its stored form goes to out. */
static int field_ok(const struct room_field *f, const char *v, char *out, size_t outsz)
{
	char *end;
	long n;

	switch (f->kind) {
	case F_BOOL:
		if (!xdata_is_bool(v))
			return 0;
		snprintf(out, outsz, "%d", xdata_true(v));
		return 1;
	case F_LIST:
		if (!strv_has(f->values, v))
			return 0;
		break;
	case F_COUNT:
		if (!strcmp(v, "none") || !v[0]) {
			snprintf(out, outsz, "0");
			return 1;
		}
		n = strtol(v, &end, 10);
		if (*end || n < 0 || n > f->max)
			return 0;
		snprintf(out, outsz, "%ld", n);
		return 1;
	default:
		break;
	}
	if (strlen(v) >= outsz)
		return 0;
	snprintf(out, outsz, "%s", v);
	return 1;
}

/* The owner form with the room's values (10.2). */
static struct xml_node *config_form(const struct muc_info *info)
{
	struct xml_node *x = xdata_form("form", NS_ROOMCONFIG);
	const char *pw = muc_info_get(info, "password");
	size_t i;

	xml_add_text(xml_new_child(x, NS_XDATA, "title"), "Room configuration", 18);
	for (i = 0; i < NFIELDS; i++) {
		const struct room_field *f = &room_fields[i];
		static const char *const type[] = { "text-single", "text-private", "boolean",
			"list-single", "text-single" };
		const char *v = f->key ? muc_info_get(info, f->key) : pw[0] ? "1" : "0";
		xdata_field(x, f->var, type[f->kind], f->label, v, f->values);
	}
	return x;
}

/* A submitted form x into fields (names and values, strings in buf):
 * how many strings, or -1 with the field's variable in bad. */
static int form_fields(const struct xml_node *x, const char **fields, char *buf,
    size_t bufsz, const char **bad)
{
	const char *ft = xdata_value(x, "FORM_TYPE"), *v, *protect;
	size_t i, used = 0;
	int n = 0;

	*bad = "FORM_TYPE";
	if (ft && strcmp(ft, NS_ROOMCONFIG))
		return -1;
	protect = xdata_value(x, PROTECTED);
	if (protect && !xdata_is_bool(protect)) {
		*bad = PROTECTED;
		return -1;
	}
	for (i = 0; i < NFIELDS; i++) {
		const struct room_field *f = &room_fields[i];
		if (!f->key || !(v = xdata_value(x, f->var)))
			continue;
		/* An unprotected room keeps no password. */
		if (f->kind == F_SECRET && protect && !xdata_true(protect))
			v = "";
		*bad = f->var;
		if (used >= bufsz || !field_ok(f, v, buf + used, bufsz - used))
			return -1;
		fields[n++] = f->key;
		fields[n++] = buf + used;
		used += strlen(buf + used) + 1;
	}
	if (protect && !xdata_true(protect) && !xdata_value(x, "muc#roomconfig_roomsecret")) {
		fields[n++] = "password";
		fields[n++] = "";
	}
	return n;
}

/* The room's configuration for its owner, or the error sent: 0 or -1. */
static int owner_info(struct conn *c, const struct xml_node *iq, const char *room,
    struct muc_info *info)
{
	int rc = muc_info(conn_store(c), room, conn_bare(c), info);

	if (rc == MUC_ROOM && !strcmp(info->aff, "owner"))
		return 0;
	if (rc == MUC_ROOM) {
		muc_info_free(info);
		rc = MUC_FORBIDDEN;
	}
	(void)muc_refused(c, iq, rc);
	return -1;
}

static void answer(struct conn *c, const struct xml_node *iq, int rc)
{
	if (!muc_refused(c, iq, rc))
		conn_iq_result(c, iq, NULL);
}

/* 10.2 submit, 10.1.2 the instant room (an empty form), 10.1.3 cancel. */
static void config_submit(struct conn *c, const struct xml_node *iq, const char *room,
    const struct xml_node *x)
{
	const char *fields[MUC_CONFIG_FIELDS_MAX], *bad, *type = xml_get(x, "type");
	char buf[4096], codes[64], text[200];
	struct muc_info info;
	int n, locked;

	if (type && !strcmp(type, "cancel")) {
		/* A new room its owner will not configure goes; any other
		 * stays as it is. */
		if (owner_info(c, iq, room, &info) < 0)
			return;
		locked = !strcmp(muc_info_get(&info, "locked"), "1");
		muc_info_free(&info);
		answer(c, iq, locked ? muc_destroy(conn_store(c), room, conn_bare(c), "", "")
		    : MUC_SET);
		return;
	}
	if (type && strcmp(type, "submit")) {
		conn_error(c, iq, "modify", "bad-request", "a form of type submit or cancel");
		return;
	}
	if ((n = form_fields(x, fields, buf, sizeof buf, &bad)) < 0) {
		snprintf(text, sizeof text, "%s: not a value xmppd takes", bad);
		conn_error(c, iq, "modify", "not-acceptable", text);
		return;
	}
	answer(c, iq, muc_config_set(conn_store(c), room, conn_bare(c), fields, n, codes,
	    sizeof codes));
}

/* 10.9: the owner destroys the room. */
static void destroy(struct conn *c, const struct xml_node *iq, const char *room,
    struct xml_node *d)
{
	struct xml_node *reason = xml_child(d, NS_MUC_OWNER, "reason");
	const char *venue = xml_get(d, "jid");

	answer(c, iq, muc_destroy(conn_store(c), room, conn_bare(c),
	    reason ? xml_text(reason) : "", venue ? venue : ""));
}

void muc_owner_iq(struct conn *c, const struct xml_node *iq, const char *room)
{
	const char *type = xml_get(iq, "type");
	struct xml_node *q = xml_first_element(iq), *x, *d, *r;
	struct muc_info info;

	x = xml_child(q, NS_XDATA, "x");
	d = xml_child(q, NS_MUC_OWNER, "destroy");
	if (!strcmp(type, "get")) {
		if (owner_info(c, iq, room, &info) < 0)
			return;
		r = xml_new(NS_MUC_OWNER, "query");
		xml_add(r, config_form(&info));
		muc_info_free(&info);
		conn_iq_result(c, iq, r);
	} else if (d) {
		destroy(c, iq, room, d);
	} else if (x) {
		config_submit(c, iq, room, x);
	} else {
		conn_error(c, iq, "modify", "bad-request", "a form or <destroy/>");
	}
}

void muc_room_info(struct conn *c, const struct xml_node *iq, const char *room)
{
	struct muc_info info;
	int rc = muc_info(conn_store(c), room, conn_bare(c), &info);

	if (rc != MUC_ROOM) {
		answer(c, iq, rc);
		return;
	}
	conn_iq_result(c, iq, muc_room_info_query(&info, room, 1));
	muc_info_free(&info);
}
