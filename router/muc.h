/*
 * muc.h - XEP-0045 rooms in Redis: one room's decisions (join, leave,
 * nick change, groupchat and private message, self-ping, a query of its
 * archive), each one Lua script on that room's keys, and the room's
 * event log that every occupant's handler reads.
 *
 * A room is the bare JID room@muc_domain; its keys carry it as hash tag
 * (xmpp-redis(7)):
 *   <prefix>{room}:occ   hash: nick -> occupant record (JSON, read only
 *                        by the scripts: the sessions' full JIDs, role,
 *                        affiliation, last presence)
 *   <prefix>{room}:conf  hash: created (Unix seconds), locked (1: new,
 *                        not configured yet), the owner form's fields
 *                        (name, desc, persistent, public, members_only,
 *                        moderated, password, whois, history, allow_pm,
 *                        change_subject, allow_invites, max_users,
 *                        logging; lib/muc.lua has their defaults),
 *                        subject and subject_nick (the last subject
 *                        message, without 'from' and 'to', and who set it)
 *   <prefix>{room}:aff   hash: bare JID -> affiliation (owner ...)
 *   <prefix>{room}:log   stream of room events, in the one order every
 *                        occupant sees: t (presence, message or
 *                        private), n
 *                        (nick), j (the session's full JID), ro (role),
 *                        af (affiliation), ty ("" or unavailable), la
 *                        (1: the nick's last session left), c (status
 *                        codes, space separated), x (the stanza, without
 *                        'from' and 'to'), nn (the new nick of a
 *                        nick change, status 303), tn (the nick a
 *                        private message is for), r (random hex: the message's
 *                        XEP-0359 stanza-id is "<entry ID>-<r>", as
 *                        mam.h makes archive ids), ac and rs (the actor's
 *                        nick and the reason of a removal, or of a
 *                        role or affiliation change), av (a
 *                        destruction's alternate venue), wa (a
 *                        configuration change: who sees real JIDs now);
 *                        t is also subject, config or destroy
 *   <prefix>{room}:arch  stream, the room's XEP-0313 archive: each
 *                        groupchat message sent while the room's
 *                        logging is 1, under its log entry's ID (so its
 *                        archive id is its stanza-id): n (nick), j (the
 *                        sender's full JID), r, m (the message from
 *                        room/nick, without 'to'); trimmed as a user
 *                        archive is (archive_max_count, archive_max_age)
 *                        and gone with the room. The log is no archive:
 *                        presence fills it, and it keeps MUC_LOG_MAX
 *                        entries whatever the retention policy says.
 *   <prefix>rooms        set: every room's bare JID (for disco#items
 *                        and xmppctl); on a cluster one shard per slot,
 *                        <prefix>rooms:{TAG}, each beside the rooms of
 *                        its slot (store_shard_key), so that the
 *                        scripts that make or destroy a room touch one
 *                        slot
 * and every script PUBLISHes the wake-up "muc <room>\n" (route.h) on the
 * room channel <prefix>{room}, which each occupant's handler subscribes
 * to. A room that is not persistent dies with its last occupant, any
 * room when its owner destroys it: its keys go, the log lingers
 * MUC_LOG_LINGER seconds for the handlers still reading it.
 *
 * Contract: as store.h; each script's outcome is a named result (enum
 * muc_result). Strings returned point into a reply the caller frees.
 */
#ifndef XMPPD_MUC_H
#define XMPPD_MUC_H

#include <stddef.h>
#include "store.h"

#define MUC_ID_MAX 64           /* a log entry ID, or a stanza-id */
#define MUC_LOG_LINGER 60       /* seconds an emptied room's log stays */
#define MUC_LOG_MAX 1000        /* entries a room's log keeps */
#define MUC_ROOMS_KEY "rooms"   /* the set of rooms (a sharded index: store.h) */
#define MUC_CONFIG_FIELDS_MAX 40  /* field names and values one form sets */

enum muc_result {
	MUC_CREATED,            /* join: the room was made; the joiner owns it */
	MUC_JOINED,             /* join: in, under that nick */
	MUC_UPDATED,            /* join: already in: the presence changed */
	MUC_CONFLICT,           /* join: the nick is another user's */
	MUC_LEFT,               /* leave: out */
	MUC_SENT,               /* message: in the log */
	MUC_NOT_OCCUPANT,       /* leave, message, nick: the session is not that nick */
	MUC_CHANGED,            /* nick: the occupant has its new nick */
	MUC_NO_NICK,            /* private: no occupant has that nick */
	MUC_IN,                 /* ping: the session is that nick's */
	MUC_LOCKED,             /* join: a new room, not configured yet */
	MUC_BANNED,             /* join: an outcast */
	MUC_MEMBERS_ONLY,       /* join: not a member of a members-only room */
	MUC_PASSWORD,           /* join: no or a wrong password */
	MUC_FULL,               /* join: max_users reached */
	MUC_FORBIDDEN,          /* message (a visitor), private, subject,
	                           config, destroy: not allowed */
	MUC_ROOM,               /* info: the room exists */
	MUC_NO_ROOM,            /* info, config, destroy: no such room */
	MUC_SET,                /* config: done */
	MUC_NOT_ALLOWED,        /* join: no such room, and no right to make it;
	                           role, affiliation: the occupant's affiliation
	                           protects it */
	MUC_DESTROYED,          /* destroy: done */
	MUC_LIST,               /* list: out filled */
	MUC_INVITED             /* invite: may invite (granted) */
};

/* An occupant, or a log event; every string points into a reply. */
struct muc_event {
	const char *id;         /* log entry ID ("" for an occupant) */
	const char *type;       /* "presence", "message" or "private" */
	const char *nick, *jid, *role, *aff;
	const char *ptype;      /* presence: "" or "unavailable" */
	int last;               /* unavailable: the nick's last session left */
	const char *codes;      /* status codes the event carries ("201") */
	const char *newnick;    /* a nick change's unavailable: the new nick */
	const char *tonick;     /* private: the nick it is for */
	const char *actor, *reason;  /* a removal's: who ("" none), why */
	const char *venue;      /* destroy: the alternate room ("" none) */
	const char *whois;      /* config: "anyone" or "moderators" */
	const char *xml;        /* the stanza, without 'from' and 'to' */
	size_t xml_len;
	char sid[MUC_ID_MAX];   /* message: its stanza-id */
};

/* What a join answers. */
struct muc_join {
	char id[MUC_ID_MAX];    /* the log entry of the joiner's presence */
	char role[16], aff[16];
	int anyone;             /* every occupant sees real JIDs */
	int logging;            /* the room is archived (status 170) */
	int history;            /* the most messages of history a joiner gets */
	const char *subject_nick;       /* "" none */
	const char *subject;    /* the subject message, "" none */
	size_t subject_len;
	struct muc_event *occ;  /* the other occupants (nick, jid, role, aff, xml) */
	int nocc;
	void *reply;            /* what they point into: muc_join_free */
};

/* Join room (bare JID) as nick from session full with presence xml (no
 * 'from' nor 'to') and password ("" none), making the room if it does
 * not exist and may_create: MUC_CREATED, MUC_JOINED, MUC_UPDATED (out
 * filled), MUC_CONFLICT, MUC_LOCKED, MUC_BANNED, MUC_MEMBERS_ONLY,
 * MUC_PASSWORD, MUC_FULL, MUC_NOT_ALLOWED, or a negative xerr. */
int muc_join(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, const char *password, int may_create,
    struct muc_join *out);
void muc_join_free(struct muc_join *j);
/* Session full, occupant nick, leaves room with presence xml and status
 * codes ("" none): MUC_LEFT and the log entry in id (MUC_ID_MAX bytes),
 * MUC_NOT_OCCUPANT, or a negative xerr. */
int muc_leave(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, const char *codes, char *id);
/* Session full, occupant nick, becomes occupant newnick with presence
 * xml (XEP-0045 7.6): MUC_CHANGED and the log entry of the new nick's
 * presence in id (MUC_ID_MAX bytes), MUC_CONFLICT (newnick is taken),
 * MUC_NOT_OCCUPANT, or a negative xerr. */
int muc_nick(struct store *s, const char *room, const char *nick, const char *full,
    const char *newnick, const char *xml, size_t len, char *id);
/* A groupchat message xml (no 'from' nor 'to') from session full as
 * nick: MUC_SENT and its stanza-id in sid (MUC_ID_MAX bytes),
 * MUC_NOT_OCCUPANT, MUC_FORBIDDEN (a visitor), or a negative xerr. A
 * room whose logging is 1 archives it (:arch). */
int muc_message(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, char *sid);
/* A private message xml (no 'from' nor 'to') from session full as nick
 * to occupant tonick (XEP-0045 7.5): MUC_SENT and its stanza-id in sid
 * (MUC_ID_MAX bytes), MUC_NOT_OCCUPANT (the sender is not in the room),
 * MUC_NO_NICK, MUC_FORBIDDEN (the room's allow_pm), or a negative xerr. */
int muc_private(struct store *s, const char *room, const char *nick, const char *full,
    const char *tonick, const char *xml, size_t len, char *sid);
/* A subject change (XEP-0045 8.1), message xml with <subject/>, from
 * session full as nick: MUC_SENT and its stanza-id in sid, MUC_NOT_OCCUPANT,
 * MUC_FORBIDDEN, or a negative xerr. */
int muc_subject(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, char *sid);

/* A room's configuration, for bare JID asker ("" the operator). */
struct muc_info {
	char aff[16];           /* the asker's affiliation */
	int occupants;          /* nicks in the room */
	void *reply;            /* the fields: muc_info_get, muc_info_free */
};
/* MUC_ROOM (out filled), MUC_NO_ROOM, or a negative xerr. Reads only. */
int muc_info(struct store *s, const char *room, const char *asker, struct muc_info *out);
/* The value of configuration field (muc.h's :conf names), "" none. */
const char *muc_info_get(const struct muc_info *i, const char *field);
void muc_info_free(struct muc_info *i);
/* Owner asker ("" the operator) sets the n/2 fields and values of
 * fields (n at most MUC_CONFIG_FIELDS_MAX; n 0: the instant room) and
 * unlocks the room: MUC_SET and the status codes the occupants were
 * told in codes, MUC_FORBIDDEN, MUC_NO_ROOM, or a negative xerr. */
int muc_config_set(struct store *s, const char *room, const char *asker,
    const char *const *fields, int n, char *codes, size_t codes_size);
/* Owner asker ("" the operator) destroys room for reason ("" none),
 * naming alternate venue ("" none): MUC_DESTROYED, MUC_FORBIDDEN,
 * MUC_NO_ROOM, or a negative xerr. */
int muc_destroy(struct store *s, const char *room, const char *asker, const char *reason,
    const char *venue);
/* Session full, occupant nick, asks for the sessions of occupant target:
 * MUC_IN and fn(full JID) for each, MUC_NOT_OCCUPANT, MUC_NO_NICK, or a
 * negative xerr. Reads only. */
int muc_occupant_jids(struct store *s, const char *room, const char *nick, const char *full,
    const char *target, void (*fn)(const char *jid, void *arg), void *arg);
/* XEP-0410 self-ping: is session full in room as nick? MUC_IN,
 * MUC_NOT_OCCUPANT, or a negative xerr. Reads only. */
int muc_ping(struct store *s, const char *room, const char *nick, const char *full);
struct mam_query;
struct mam_page;
/* Session full, occupant nick of room as its handler knows ("" none),
 * runs query q (mam.h; with: the room's JID, room/nick or none) on the
 * room's archive: MAM_OK with *p filled (mam_page_free), MAM_NOT_FOUND
 * (an archive id given is not there), MAM_FORBIDDEN (an outcast; in a
 * members-only room, not a member; in a room that is hidden, has a
 * password or is locked, neither affiliated nor an occupant),
 * MAM_NO_ARCHIVE (no such room), or a negative xerr. Trims the archive
 * to the retention policy. */
int muc_archive_query(struct store *s, const char *room, const char *full, const char *nick,
    const struct mam_query *q, struct mam_page *p);
/* Hand fn the room's log events after entry ID after (exclusive), oldest
 * first, at most max; last (MUC_ID_MAX bytes) gets the ID of the last
 * one handed. Returns how many, or a negative xerr. */
int muc_log_read(struct store *s, const char *room, const char *after, int max,
    void (*fn)(const struct muc_event *e, void *arg), void *arg, char *last);
/* The discussion history (XEP-0045 7.2.15): hand fn the room's
 * groupchat messages (log events of type message) from before entry ID
 * before, newest first, none older than since_ms (Unix ms; -1 any), at
 * most max, until fn returns non-zero. Returns how many it handed, or a
 * negative xerr. Reads only; the log's cap (MUC_LOG_MAX) bounds the
 * walk. */
int muc_history(struct store *s, const char *room, const char *before, long long since_ms,
    int max, int (*fn)(const struct muc_event *e, void *arg), void *arg);

/*
 * The rooms of one session, for the handler that reaps it when its own
 * handler died (SIGKILL, a lost host) or its XEP-0198 resumption time
 * ran out, and for the handler that resumes it: a hash under the user's
 * hash tag,
 *   <prefix>{bare}:muc:<resource>   room -> nick, or nick TAB state
 * written by the session's handler before each join or nick change and
 * cleared after each leave (or a failed join), so it never misses a room
 * the session is in; at worst it names one the session is not in, and
 * that leave answers MUC_NOT_OCCUPANT. A handler whose connection ends
 * while the session goes on (detached, or resumed elsewhere) adds the
 * state: "<last log entry rendered> <role> <1 if everyone sees real
 * JIDs, else 0>", where the resuming handler reads on.
 */
#define MUC_SESSION_KEY "muc:"      /* what follows {bare}:, then the resource */
#define MUC_STATE_MAX (MUC_ID_MAX + 32)
/* Remember (nick; state NULL or as above) or forget (nick NULL) that
 * session bare/resource is in room: 0 or XE_REDIS. */
int muc_session_set(struct store *s, const char *bare, const char *resource,
    const char *room, const char *nick, const char *state);
/* Hand fn each room, nick and state ("" none) of session bare/resource,
 * and with take then delete the list: how many, or a negative xerr. */
int muc_session_list(struct store *s, const char *bare, const char *resource, int take,
    void (*fn)(const char *room, const char *nick, const char *state, void *arg), void *arg);

/*
 * A room's administration (XEP-0045 8-10) and mediated invitations
 * (7.8.2): muc_role_set.lua, muc_aff_set.lua, muc_list.lua and
 * muc_invite.lua. The one asking is a session (full JID); the scripts
 * find its occupant, if any, themselves.
 */
#define MUC_ITEMS_MAX 12        /* items of one request: their arguments
                                   fill what store_argv holds */

/* One item of an IQ of namespace muc#admin, set or listed. */
struct muc_item {
	const char *nick;       /* "" none */
	const char *jid;        /* bare JID, or a role list's full JID; "" none */
	const char *role;       /* role_set: the new role; a role list's */
	const char *aff;        /* aff_set: the new affiliation; lists' */
	const char *reason;     /* sets: "" none */
};

/* Session full changes the roles of the n occupants items name (nick,
 * role, reason; n 1 to MUC_ITEMS_MAX), all or none: MUC_SET,
 * MUC_FORBIDDEN, MUC_NOT_ALLOWED, MUC_NO_NICK, MUC_NO_ROOM, or a
 * negative xerr. */
int muc_role_set(struct store *s, const char *room, const char *full,
    const struct muc_item *items, int n);
/* Session full ("" the operator) changes the affiliations of the n bare
 * JIDs items name (jid, or else the nick of an occupant; aff, reason),
 * all or none: MUC_SET, MUC_FORBIDDEN, MUC_NOT_ALLOWED, MUC_CONFLICT (the
 * room would have no owner, or one bans oneself), MUC_NO_NICK,
 * MUC_NO_ROOM, or a negative xerr. */
int muc_aff_set(struct store *s, const char *room, const char *full,
    const struct muc_item *items, int n);

/* What a list answers. */
struct muc_list {
	struct muc_item *items;
	int n;
	void *reply;            /* what they point into: muc_list_free */
};
/* Session full asks for the occupants of role value (attr "role") or the
 * JIDs of affiliation value (attr "affiliation"): MUC_LIST (out filled),
 * MUC_FORBIDDEN, MUC_NO_ROOM, or a negative xerr. Reads only. */
int muc_list(struct store *s, const char *room, const char *full, const char *attr,
    const char *value, struct muc_list *out);
void muc_list_free(struct muc_list *l);

/* May session full invite to room? With the n bare JIDs of invitees
 * whose invitation was delivered (n 0 to MUC_ITEMS_MAX), a members-only
 * room makes members of those without an affiliation. MUC_INVITED, the
 * room's password (pwsize bytes; "" none) and whether it is members-only,
 * MUC_NOT_OCCUPANT, MUC_FORBIDDEN, MUC_NO_ROOM, or a negative xerr. */
int muc_invite(struct store *s, const char *room, const char *full,
    const char *const *invitees, int n, char *password, size_t pwsize, int *members_only);

/*
 * The set of rooms, MUC_ROOMS_KEY: the directory of the conference
 * domain (XEP-0045 6.3) and the operator's list.
 */
#define MUC_DIRECTORY_BATCH 256 /* rooms whose :conf one round trip reads */
/* Hand fn the bare JID of every room, read whole (every shard,
 * store_shard_members) before fn runs: in no order, and a room made or
 * destroyed meanwhile may be missed. fn returns 0 to go on or a negative
 * value to stop. Returns 0, fn's stop value, or a negative xerr. */
int muc_room_each(struct store *s, int (*fn)(const char *room, void *arg), void *arg);
/* The directory: hand fn, sorted by JID (strcmp), each room that is
 * public and not locked, with its name ("" none). Reads the whole set,
 * then the :conf of every room, MUC_DIRECTORY_BATCH a round trip: the
 * cost grows with the number of rooms, listed or not. Returns how many
 * fn was handed, or a negative xerr. Reads only. */
int muc_rooms(struct store *s, void (*fn)(const char *room, const char *name, void *arg),
    void *arg);

/* An occupant as muc_people hands it. */
struct muc_occupant {
	const char *nick, *role, *aff;
	const char *const *jids;        /* its sessions' full JIDs */
	int njids;
};
/* Who room has, for the operator (xmppctl room): hand aff_fn each
 * affiliation (bare JID, affiliation), then occ_fn each occupant, in no
 * order. MUC_ROOM, MUC_NO_ROOM, or a negative xerr. Reads only. */
int muc_people(struct store *s, const char *room,
    void (*aff_fn)(const char *jid, const char *aff, void *arg),
    void (*occ_fn)(const struct muc_occupant *o, void *arg), void *arg);

/* Hand fn every configuration field of i and its value, in no order. */
void muc_info_each(const struct muc_info *i,
    void (*fn)(const char *field, const char *value, void *arg), void *arg);

#endif
