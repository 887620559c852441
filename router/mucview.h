/*
 * mucview.h - a room as one occupant sees it (XEP-0045): the stanzas its
 * session gets for each event of the room's log (muc.h), and the welcome
 * a join gets (the others' presence, its own, the history, the subject).
 *
 * One renderer for every occupant, wherever its session is: the handler
 * of a local session (handler/muc.c) hands it the connection, the relay
 * of a room's occupants on other domains (s2s/roomrelay.c) the queue to
 * their server. Rendering is pure but for muc_view_read and the history,
 * which read the room's log.
 *
 * Contract: a view holds what the events change for its occupant (the
 * last entry rendered, its nick and role, whether everyone sees real
 * JIDs, whether the log said it is out); each stanza made goes to the
 * view's send (a tree, namespace jabber:client) or send_raw (the same,
 * serialised), borrowed for the call.
 */
#ifndef XMPPD_MUCVIEW_H
#define XMPPD_MUCVIEW_H

#include <stddef.h>
#include "jid.h"
#include "mam.h"
#include "muc.h"
#include "route.h"
#include "store.h"
#include "xml.h"

#define NS_MUC        "http://jabber.org/protocol/muc"
#define NS_MUC_USER   NS_MUC "#user"
#define NS_MUC_OWNER  NS_MUC "#owner"
#define NS_MUC_ADMIN  NS_MUC "#admin"

#define MUC_ROLE_MAX 16
#define MUC_VIEW_READ_BATCH 100   /* log entries read per round trip */
#define MUC_STATUS_SELF "110"     /* XEP-0045: the presence is one's own */
#define MUC_STATUS_NONANON "100"  /* everyone sees real JIDs */
#define MUC_STATUS_LOGGED "170"   /* the room is archived */
#define MUC_STATUS_CREATED "201"  /* a new room */
#define MUC_STATUS_TECHNICAL "333"  /* removed by a technical problem */

struct muc_view {
	char room[ROUTE_NODE_MAX];      /* bare JID */
	char nick[JID_MAX_PART];        /* the occupant's */
	char to[JID_MAX];               /* its session's full JID */
	char last[MUC_ID_MAX];          /* the last log entry rendered */
	char role[MUC_ROLE_MAX];        /* its role: moderators see real JIDs */
	int anyone;                     /* everyone sees real JIDs (whois) */
	int out;                        /* the log said it is out */
	void (*send)(const struct xml_node *st, void *arg);
	void (*send_raw)(const char *xml, size_t len, void *arg);
	void *arg;
};

/* Fill v for session to, occupant nick of room, reading after entry last
 * with role and anyone; send, send_raw and arg as above. Strings too
 * long are cut (the callers bound them before). */
void muc_view_init(struct muc_view *v, const char *room, const char *nick, const char *to,
    const char *last, const char *role, int anyone);

/* v's state as Redis keeps it between two readers (muc.h's session
 * state: "<last> <role> <anyone>"), in out (MUC_STATE_MAX bytes); and v
 * restored from one (last "0", the log's start, if it is no such state). */
void muc_view_state(const struct muc_view *v, char *out, size_t outsz);
void muc_view_restore(struct muc_view *v, const char *state);

/* The stanza(s) event e makes for v's occupant, if any: a presence (with
 * its muc#user item, real JID by whois, status codes), a groupchat or
 * private message, a subject, a configuration change, a destruction.
 * Updates v (role, nick, anyone, out) but not v->last. */
void muc_view_event(struct muc_view *v, const struct muc_event *e);
/* Render what the room's log holds after v->last, in batches, until its
 * end or until it says v's occupant is out; v->last follows. Returns
 * how many entries were read, or a negative xerr. */
int muc_view_read(struct store *s, struct muc_view *v);

/* The groupchat message xml, as muc_message stored it (no 'from' nor
 * 'to'), from nick in room, for full JID to, appended to b: from
 * room/nick, with its XEP-0359 stanza-id sid by the room, then extra
 * (serialised XML, "" none) before its end. Spliced, not parsed: the one
 * stanza every occupant gets for every message of the room. 0, or -1
 * with nothing appended when xml is no such message. */
int muc_groupchat_xml(const char *room, const char *nick, const char *to, const char *xml,
    size_t len, const char *sid, const char *extra, struct xbuf *b);
/* That message, live, to v's occupant (send_raw). */
void muc_view_message(struct muc_view *v, const char *nick, const char *xml, size_t len,
    const char *sid);

/* XEP-0045 7.2.3-7.2.16: what a join answered j (outcome rc, MUC_CREATED
 * or not) to the join presence st, stored as xml (len bytes), sends its
 * occupant: the other occupants' presence, its own (110, and 100, 170,
 * 201 as they apply), the history and the subject. v->last is the
 * join's entry. */
void muc_view_welcome(struct store *s, struct muc_view *v, const struct xml_node *st,
    const struct muc_join *j, int rc, const char *xml, size_t len);

/* muchistory.c, XEP-0045 7.2.15: after the joiner's own presence and
 * before the subject, the room's groupchat messages from before the
 * join's log entry before, at most room_max (the room's history setting)
 * and within the limits of the join presence st's <history/>, oldest
 * first, each with its stanza-id and an XEP-0203 delay from the room. A
 * Redis failure is logged: the join goes on without history. */
void muc_view_history(struct store *s, struct muc_view *v, const struct xml_node *st,
    const char *before, int room_max);

/* The presence st as a room's log keeps it: no 'from', 'to', nor muc
 * <x/> (malloc'd, *len bytes). */
char *muc_stored_presence(const struct xml_node *st, size_t *len);
/* The password in a join's <x xmlns='http://jabber.org/protocol/muc'/>,
 * "" none; borrowed from st. */
const char *muc_join_password(const struct xml_node *st);

/* The stanza error that answers a script's outcome rc (XEP-0045
 * 7.2.5-7.2.9 and 10.1.1 for a join; 7.4, 7.5, 7.8.2 and 8-10 for the
 * rest), or NULL when rc is no refusal. */
struct muc_refusal {
	int rc;
	const char *type, *cond, *text;
};
const struct muc_refusal *muc_join_refusal(int rc);
const struct muc_refusal *muc_iq_refusal(int rc);

/* A message st (type groupchat or chat) from session full, occupant self
 * of room ("" not in it): to the room (tonick "") a groupchat message
 * or, with a subject and no body, a subject change (XEP-0045 8.1); to
 * occupant tonick a private message (7.5). One script decides. NULL
 * when the room took it (or st is an error, which ends here), else the
 * refusal to answer st with (a Redis failure is logged and refused as
 * internal-server-error). */
const struct muc_refusal *muc_message_in(struct store *s, const char *room, const char *self,
    const char *full, const char *tonick, const struct xml_node *st);

#endif
