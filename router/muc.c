/*
 * muc.c - XEP-0045 rooms in Redis (see muc.h): the muc_*.lua scripts for
 * every change of a room and for reading its archive (with mam.c's
 * arguments and reply), XRANGE for its log.
 */
#include "muc.h"
#include "jid.h"
#include "mam.h"
#include "scripts.h"
#include "random.h"
#include "strvec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MUC_NKEYS 6             /* the most keys a script takes (lib/muc.lua) */
#define MUC_RAND 8              /* random bytes of a stanza-id (as mam.h's) */
#define MUC_NUM_MAX 24
#define MUC_OCC_FIELDS 5        /* nick, jid, role, affiliation, presence */
#define MUC_JOIN_HEAD 9         /* outcome, entry ID, role, affiliation, whois,
                                   logging, history, subject nick, subject */
#define MUC_HISTORY_BATCH 100   /* log entries a history read takes per trip */
#define MUC_INFO_HEAD 3         /* outcome, affiliation, occupants */

struct muc_args {
	char keys[MUC_NKEYS][STORE_MAX_KEY];
	int nkeys;
	char chan[STORE_MAX_KEY];
	char rand[2 * MUC_RAND + 1];
	char num[MUC_NUM_MAX];
	struct mam_policy policy;        /* a message's archive retention */
	struct store_argv v;             /* the script's keys and arguments */
};

/* What room_args and occupant_event are asked for. */
#define ROOM_FRESH    1         /* a random part for an event's stanza-id */
#define ROOM_INDEXED  2         /* the script may make or destroy the room */
#define ROOM_ARCHIVED 4         /* occupant_event: a message the archive keeps */

/* The room's keys, its channel and JID: what every script takes first
 * (lib/muc.lua). flags: ROOM_FRESH, a random part for the stanza-id of
 * the event the script makes (only scripts that make one: a read-only
 * one costs no getrandom); ROOM_INDEXED, the shard of the set of rooms
 * beside the room's keys as KEYS[6] (only the scripts that write it: on
 * a cluster it is in the room's slot, on one Redis the one global set). */
static int room_args(struct store *s, struct muc_args *a, const char *room, int flags)
{
	static const char *const what[MUC_NKEYS - 1] = { "occ", "conf", "log", "aff", "arch" };
	int i;

	a->v.argc = 0;
	a->rand[0] = '\0';
	if ((flags & ROOM_FRESH) && random_hex(a->rand, MUC_RAND) < 0) {
		snprintf(s->err, sizeof s->err, "no randomness for a stanza-id");
		return XE_ENTROPY;
	}
	a->nkeys = flags & ROOM_INDEXED ? MUC_NKEYS : MUC_NKEYS - 1;
	for (i = 0; i < a->nkeys; i++) {
		if (i < MUC_NKEYS - 1)
			store_user_key(s, room, what[i], a->keys[i], sizeof a->keys[i]);
		else
			store_shard_key(s, MUC_ROOMS_KEY, room, a->keys[i], sizeof a->keys[i]);
		store_argv_str(&a->v, a->keys[i]);
	}
	store_user_key(s, room, NULL, a->chan, sizeof a->chan);
	store_argv_str(&a->v, a->chan);
	store_argv_str(&a->v, room);
	return 0;
}

/* Is reply r of script name what its callers read: an outcome, then
 * only strings, head elements in all, then records of per each? 0, or
 * XE_REPLY with r freed and the error said. */
static int strings_reply(struct store *s, redisReply *r, const char *name, size_t head,
    size_t per)
{
	size_t i;

	for (i = 1; i < r->elements; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			break;
	if (r->elements >= head && i == r->elements && (r->elements - head) % per == 0)
		return 0;
	snprintf(s->err, sizeof s->err, "%s: malformed reply", name);
	freeReplyObject(r);
	return XE_REPLY;
}

/* Element i of r, which must be a string. */
static const char *str_elem(const redisReply *r, size_t i, size_t *len)
{
	const redisReply *e = r->element[i];
	if (e->type != REDIS_REPLY_STRING)
		return NULL;
	if (len)
		*len = e->len;
	return e->str;
}

static int run(struct store *s, const char *name, const char *script, const char *sha,
    struct muc_args *a, const char *const *outcomes, const int *results, redisReply **reply)
{
	int o = store_script(s, name, script, sha, a->nkeys, a->v.argc, a->v.argv, a->v.lens,
	    outcomes, reply);
	return o < 0 ? o : results[o];
}

int muc_join(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, const char *password, int may_create, struct muc_join *out)
{
	static const char *const outcomes[] = { "created", "joined", "updated", "conflict",
		"locked", "banned", "members-only", "password", "full", "not-allowed", NULL };
	static const int results[] = { MUC_CREATED, MUC_JOINED, MUC_UPDATED, MUC_CONFLICT,
		MUC_LOCKED, MUC_BANNED, MUC_MEMBERS_ONLY, MUC_PASSWORD, MUC_FULL,
		MUC_NOT_ALLOWED };
	struct muc_args a;
	redisReply *r;
	size_t i;
	int rc, k;

	memset(out, 0, sizeof *out);
	if ((rc = room_args(s, &a, room, ROOM_FRESH | ROOM_INDEXED)) < 0)
		return rc;
	store_argv_str(&a.v, nick);
	store_argv_str(&a.v, full);
	store_argv_add(&a.v, xml, len);
	store_argv_str(&a.v, a.rand);
	snprintf(a.num, sizeof a.num, "%ld", (long)time(NULL));
	store_argv_str(&a.v, a.num);
	store_argv_str(&a.v, password);
	store_argv_str(&a.v, may_create ? "1" : "0");
	rc = run(s, "muc_join", lua_muc_join, lua_muc_join_sha, &a, outcomes, results, &r);
	if (rc < 0 || rc >= MUC_CONFLICT) {
		freeReplyObject(r);
		return rc;
	}
	if (strings_reply(s, r, "muc_join", MUC_JOIN_HEAD, MUC_OCC_FIELDS) < 0)
		return XE_REPLY;
	store_reply_str(r, 1, out->id, sizeof out->id);
	store_reply_str(r, 2, out->role, sizeof out->role);
	store_reply_str(r, 3, out->aff, sizeof out->aff);
	out->anyone = !strcmp(r->element[4]->str, "anyone");
	out->logging = !strcmp(r->element[5]->str, "1");
	out->history = atoi(r->element[6]->str);
	out->subject_nick = r->element[7]->str;
	out->subject = r->element[8]->str;
	out->subject_len = r->element[8]->len;
	out->nocc = (int)((r->elements - MUC_JOIN_HEAD) / MUC_OCC_FIELDS);
	out->occ = xcalloc((size_t)out->nocc + 1, sizeof *out->occ);
	for (k = 0, i = MUC_JOIN_HEAD; k < out->nocc; k++, i += MUC_OCC_FIELDS) {
		struct muc_event *e = &out->occ[k];
		e->id = "";
		e->type = "presence";
		e->ptype = "";
		e->codes = "";
		e->newnick = e->tonick = e->actor = e->reason = e->venue = e->whois = "";
		e->nick = str_elem(r, i, NULL);
		e->jid = str_elem(r, i + 1, NULL);
		e->role = str_elem(r, i + 2, NULL);
		e->aff = str_elem(r, i + 3, NULL);
		e->xml = str_elem(r, i + 4, &e->xml_len);
	}
	out->reply = r;
	return rc;
}

void muc_join_free(struct muc_join *j)
{
	free(j->occ);
	freeReplyObject(j->reply);
	memset(j, 0, sizeof *j);
}

/* An occupant's event, one script taking nick, full, xml, then extra
 * (the leave's status codes, the new nick, the private message's
 * recipient; NULL for a groupchat message), the random hex, and for a
 * groupchat message (flags ROOM_ARCHIVED: the room's archive is
 * trimmed) the retention policy; ROOM_INDEXED for a leave, which may
 * destroy the room (room_args); id gets the log id of the event when the
 * script answers its first outcome. */
static int occupant_event(struct store *s, const char *room, const char *nick,
    const char *full, const char *xml, size_t len, const char *extra, int flags,
    const char *name, const char *script, const char *sha, const char *const *outcomes,
    const int *results, char *id)
{
	struct muc_args a;
	redisReply *r;
	int rc;

	id[0] = '\0';
	if ((rc = room_args(s, &a, room, ROOM_FRESH | (flags & ROOM_INDEXED))) < 0)
		return rc;
	store_argv_str(&a.v, nick);
	store_argv_str(&a.v, full);
	store_argv_add(&a.v, xml, len);
	if (extra)
		store_argv_str(&a.v, extra);
	store_argv_str(&a.v, a.rand);
	if (flags & ROOM_ARCHIVED)
		mam_policy_args(s, &a.policy, &a.v);
	rc = run(s, name, script, sha, &a, outcomes, results, &r);
	if (rc == results[0])
		store_reply_str(r, 1, id, MUC_ID_MAX);
	freeReplyObject(r);
	return rc;
}

int muc_leave(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, const char *codes, char *id)
{
	static const char *const outcomes[] = { "left", "not-occupant", NULL };
	static const int results[] = { MUC_LEFT, MUC_NOT_OCCUPANT };
	return occupant_event(s, room, nick, full, xml, len, codes, ROOM_INDEXED, "muc_leave", lua_muc_leave,
	    lua_muc_leave_sha, outcomes, results, id);
}

int muc_nick(struct store *s, const char *room, const char *nick, const char *full,
    const char *newnick, const char *xml, size_t len, char *id)
{
	static const char *const outcomes[] = { "changed", "conflict", "not-occupant", NULL };
	static const int results[] = { MUC_CHANGED, MUC_CONFLICT, MUC_NOT_OCCUPANT };
	return occupant_event(s, room, nick, full, xml, len, newnick, 0, "muc_nick", lua_muc_nick,
	    lua_muc_nick_sha, outcomes, results, id);
}

int muc_message(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, char *sid)
{
	static const char *const outcomes[] = { "sent", "not-occupant", "forbidden", NULL };
	static const int results[] = { MUC_SENT, MUC_NOT_OCCUPANT, MUC_FORBIDDEN };
	return occupant_event(s, room, nick, full, xml, len, NULL, ROOM_ARCHIVED, "muc_message",
	    lua_muc_message, lua_muc_message_sha, outcomes, results, sid);
}

int muc_private(struct store *s, const char *room, const char *nick, const char *full,
    const char *tonick, const char *xml, size_t len, char *sid)
{
	static const char *const outcomes[] = { "sent", "not-occupant", "no-nick", "forbidden",
		NULL };
	static const int results[] = { MUC_SENT, MUC_NOT_OCCUPANT, MUC_NO_NICK, MUC_FORBIDDEN };
	return occupant_event(s, room, nick, full, xml, len, tonick, 0, "muc_private",
	    lua_muc_private, lua_muc_private_sha, outcomes, results, sid);
}

int muc_subject(struct store *s, const char *room, const char *nick, const char *full,
    const char *xml, size_t len, char *sid)
{
	static const char *const outcomes[] = { "sent", "not-occupant", "forbidden", NULL };
	static const int results[] = { MUC_SENT, MUC_NOT_OCCUPANT, MUC_FORBIDDEN };
	return occupant_event(s, room, nick, full, xml, len, NULL, 0, "muc_subject",
	    lua_muc_subject, lua_muc_subject_sha, outcomes, results, sid);
}

int muc_info(struct store *s, const char *room, const char *asker, struct muc_info *out)
{
	static const char *const outcomes[] = { "room", "no-room", NULL };
	static const int results[] = { MUC_ROOM, MUC_NO_ROOM };
	struct muc_args a;
	redisReply *r;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = room_args(s, &a, room, 0)) < 0)
		return rc;
	store_argv_str(&a.v, asker);
	rc = run(s, "muc_info", lua_muc_info, lua_muc_info_sha, &a, outcomes, results, &r);
	if (rc != MUC_ROOM) {
		freeReplyObject(r);
		return rc;
	}
	if (strings_reply(s, r, "muc_info", MUC_INFO_HEAD, 2) < 0)
		return XE_REPLY;
	snprintf(out->aff, sizeof out->aff, "%s", r->element[1]->str);
	out->occupants = atoi(r->element[2]->str);
	out->reply = r;
	return rc;
}

const char *muc_info_get(const struct muc_info *i, const char *field)
{
	const redisReply *r = i->reply;
	size_t k;

	for (k = MUC_INFO_HEAD; r && k + 1 < r->elements; k += 2)
		if (!strcmp(r->element[k]->str, field))
			return r->element[k + 1]->str;
	return "";
}

void muc_info_free(struct muc_info *i)
{
	freeReplyObject(i->reply);
	memset(i, 0, sizeof *i);
}

int muc_config_set(struct store *s, const char *room, const char *asker,
    const char *const *fields, int n, char *codes, size_t codes_size)
{
	static const char *const outcomes[] = { "set", "forbidden", "no-room", NULL };
	static const int results[] = { MUC_SET, MUC_FORBIDDEN, MUC_NO_ROOM };
	struct muc_args a;
	redisReply *r;
	int rc, i;

	codes[0] = '\0';
	if (n < 0 || n % 2 || n > MUC_CONFIG_FIELDS_MAX)
		return XE_REPLY;
	if ((rc = room_args(s, &a, room, ROOM_FRESH | ROOM_INDEXED)) < 0)
		return rc;
	store_argv_str(&a.v, asker);
	store_argv_str(&a.v, a.rand);
	for (i = 0; i < n; i++)
		store_argv_str(&a.v, fields[i]);
	rc = run(s, "muc_config_set", lua_muc_config_set, lua_muc_config_set_sha, &a, outcomes,
	    results, &r);
	if (rc == MUC_SET)
		store_reply_str(r, 1, codes, codes_size);
	freeReplyObject(r);
	return rc;
}

int muc_destroy(struct store *s, const char *room, const char *asker, const char *reason,
    const char *venue)
{
	static const char *const outcomes[] = { "destroyed", "forbidden", "no-room", NULL };
	static const int results[] = { MUC_DESTROYED, MUC_FORBIDDEN, MUC_NO_ROOM };
	struct muc_args a;
	redisReply *r;
	int rc;

	if ((rc = room_args(s, &a, room, ROOM_FRESH | ROOM_INDEXED)) < 0)
		return rc;
	store_argv_str(&a.v, asker);
	store_argv_str(&a.v, reason);
	store_argv_str(&a.v, venue);
	store_argv_str(&a.v, a.rand);
	rc = run(s, "muc_destroy", lua_muc_destroy, lua_muc_destroy_sha, &a, outcomes, results,
	    &r);
	freeReplyObject(r);
	return rc;
}

int muc_occupant_jids(struct store *s, const char *room, const char *nick, const char *full,
    const char *target, void (*fn)(const char *jid, void *arg), void *arg)
{
	static const char *const outcomes[] = { "jids", "not-occupant", "no-nick", NULL };
	static const int results[] = { MUC_IN, MUC_NOT_OCCUPANT, MUC_NO_NICK };
	struct muc_args a;
	redisReply *r;
	size_t i;
	int rc;

	if ((rc = room_args(s, &a, room, 0)) < 0)
		return rc;
	store_argv_str(&a.v, nick);
	store_argv_str(&a.v, full);
	store_argv_str(&a.v, target);
	rc = run(s, "muc_occupant", lua_muc_occupant, lua_muc_occupant_sha, &a, outcomes,
	    results, &r);
	for (i = 1; rc == MUC_IN && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			fn(r->element[i]->str, arg);
	freeReplyObject(r);
	return rc;
}

int muc_ping(struct store *s, const char *room, const char *nick, const char *full)
{
	static const char *const outcomes[] = { "joined", "not-occupant", NULL };
	static const int results[] = { MUC_IN, MUC_NOT_OCCUPANT };
	struct muc_args a;
	redisReply *r;
	int rc;

	if ((rc = room_args(s, &a, room, 0)) < 0)
		return rc;
	store_argv_str(&a.v, nick);
	store_argv_str(&a.v, full);
	rc = run(s, "muc_ping", lua_muc_ping, lua_muc_ping_sha, &a, outcomes, results, &r);
	freeReplyObject(r);
	return rc;
}

int muc_archive_query(struct store *s, const char *room, const char *full, const char *nick,
    const struct mam_query *q, struct mam_page *p)
{
	static const char *const outcomes[] = { "ok", "notfound", "forbidden", "no-room", NULL };
	static const int results[] = { MAM_OK, MAM_NOT_FOUND, MAM_FORBIDDEN, MAM_NO_ARCHIVE };
	struct muc_args a;
	struct mam_args b;
	redisReply *r;
	int rc;

	memset(p, 0, sizeof *p);
	if ((rc = room_args(s, &a, room, 0)) < 0)
		return rc;
	store_argv_str(&a.v, full);
	store_argv_str(&a.v, nick);
	mam_query_args(s, q, q->with ? q->with : "", &b, &a.v);
	rc = run(s, "muc_mam_query", lua_muc_mam_query, lua_muc_mam_query_sha, &a, outcomes,
	    results, &r);
	if (rc == MAM_OK)
		rc = mam_page_parse(s, r, p);
	freeReplyObject(r);
	return rc;
}

/* Fill e from one XRANGE entry { id, { field, value, ... } }: 0, or -1
 * when it is not one (an entry of another shape is skipped). */
static int event_of(const redisReply *ent, struct muc_event *e)
{
	const redisReply *f;
	const char *rand = "0";
	size_t i;

	memset(e, 0, sizeof *e);
	if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 ||
	    ent->element[0]->type != REDIS_REPLY_STRING ||
	    ent->element[1]->type != REDIS_REPLY_ARRAY)
		return -1;
	e->id = ent->element[0]->str;
	e->type = e->nick = e->jid = e->role = e->aff = e->ptype = e->codes = e->xml = "";
	e->newnick = e->tonick = e->actor = e->reason = e->venue = e->whois = "";
	f = ent->element[1];
	for (i = 0; i + 1 < f->elements; i += 2) {
		const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
		if (f->element[i]->type != REDIS_REPLY_STRING ||
		    f->element[i + 1]->type != REDIS_REPLY_STRING)
			return -1;
		if (!strcmp(k, "t")) e->type = v;
		else if (!strcmp(k, "n")) e->nick = v;
		else if (!strcmp(k, "j")) e->jid = v;
		else if (!strcmp(k, "ro")) e->role = v;
		else if (!strcmp(k, "af")) e->aff = v;
		else if (!strcmp(k, "ty")) e->ptype = v;
		else if (!strcmp(k, "la")) e->last = !strcmp(v, "1");
		else if (!strcmp(k, "c")) e->codes = v;
		else if (!strcmp(k, "nn")) e->newnick = v;
		else if (!strcmp(k, "tn")) e->tonick = v;
		else if (!strcmp(k, "ac")) e->actor = v;
		else if (!strcmp(k, "rs")) e->reason = v;
		else if (!strcmp(k, "av")) e->venue = v;
		else if (!strcmp(k, "wa")) e->whois = v;
		else if (!strcmp(k, "r")) rand = v;
		else if (!strcmp(k, "x")) {
			e->xml = v;
			e->xml_len = f->element[i + 1]->len;
		}
	}
	snprintf(e->sid, sizeof e->sid, "%s-%s", e->id, rand);
	return 0;
}

int muc_log_read(struct store *s, const char *room, const char *after, int max,
    void (*fn)(const struct muc_event *e, void *arg), void *arg, char *last)
{
	char key[STORE_MAX_KEY], from[MUC_ID_MAX + 1];
	struct muc_event e;
	redisReply *r;
	size_t i;
	int n = 0;

	store_user_key(s, room, "log", key, sizeof key);
	snprintf(from, sizeof from, "(%s", after);
	r = store_cmd(s, "XRANGE %s %s + COUNT %d", key, from, max);
	if (!r)
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(s->err, sizeof s->err, "XRANGE: not an array");
		freeReplyObject(r);
		return XE_REPLY;
	}
	for (i = 0; i < r->elements; i++) {
		if (event_of(r->element[i], &e) == -1)
			continue;
		snprintf(last, MUC_ID_MAX, "%s", e.id);
		fn(&e, arg);
		n++;
	}
	freeReplyObject(r);
	return n;
}

int muc_history(struct store *s, const char *room, const char *before, long long since_ms,
    int max, int (*fn)(const struct muc_event *e, void *arg), void *arg)
{
	char key[STORE_MAX_KEY], from[MUC_ID_MAX + 1], to[MUC_NUM_MAX];
	struct muc_event e;
	redisReply *r;
	size_t i, got;
	int n = 0, stop = 0, moved;

	if (max <= 0)
		return 0;
	store_user_key(s, room, "log", key, sizeof key);
	snprintf(from, sizeof from, "(%s", before);
	if (since_ms >= 0)
		snprintf(to, sizeof to, "%lld", since_ms);
	else
		snprintf(to, sizeof to, "-");
	do {
		r = store_cmd(s, "XREVRANGE %s %s %s COUNT %d", key, from, to, MUC_HISTORY_BATCH);
		if (!r)
			return XE_REDIS;
		if (r->type != REDIS_REPLY_ARRAY) {
			snprintf(s->err, sizeof s->err, "XREVRANGE: not an array");
			freeReplyObject(r);
			return XE_REPLY;
		}
		for (i = 0, moved = 0; i < r->elements && !stop; i++) {
			if (event_of(r->element[i], &e) == -1)
				continue;
			snprintf(from, sizeof from, "(%s", e.id);
			moved = 1;
			if (strcmp(e.type, "message"))
				continue;
			n++;
			stop = fn(&e, arg) || n == max;
		}
		got = r->elements;
		freeReplyObject(r);
	} while (!stop && moved && got == MUC_HISTORY_BATCH);
	return n;
}

static void session_key(const struct store *s, const char *bare, const char *resource,
    char *key, size_t size)
{
	char what[sizeof MUC_SESSION_KEY + JID_MAX_PART];

	snprintf(what, sizeof what, MUC_SESSION_KEY "%s", resource);
	store_user_key(s, bare, what, key, size);
}

int muc_session_set(struct store *s, const char *bare, const char *resource,
    const char *room, const char *nick, const char *state)
{
	char key[STORE_MAX_KEY];
	redisReply *r;

	session_key(s, bare, resource, key, sizeof key);
	if (!nick)
		r = store_cmd(s, "HDEL %s %s", key, room);
	else if (state)
		r = store_cmd(s, "HSET %s %s %s\t%s", key, room, nick, state);
	else
		r = store_cmd(s, "HSET %s %s %s", key, room, nick);
	if (!r)
		return XE_REDIS;
	freeReplyObject(r);
	return 0;
}

int muc_session_list(struct store *s, const char *bare, const char *resource, int take,
    void (*fn)(const char *room, const char *nick, const char *state, void *arg), void *arg)
{
	char key[STORE_MAX_KEY], *tab;
	redisReply *r, *d;
	size_t i;
	int n = 0;

	session_key(s, bare, resource, key, sizeof key);
	if (!(r = store_cmd(s, "HGETALL %s", key)))
		return XE_REDIS;
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(s->err, sizeof s->err, "HGETALL: not an array");
		freeReplyObject(r);
		return XE_REPLY;
	}
	for (i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING) {
			/* nick TAB state: a nick has no control characters */
			if ((tab = strchr(r->element[i + 1]->str, '\t')))
				*tab++ = '\0';
			fn(r->element[i]->str, r->element[i + 1]->str, tab ? tab : "", arg);
			n++;
		}
	freeReplyObject(r);
	if (!take)
		return n;
	if (!(d = store_cmd(s, "DEL %s", key)))
		return XE_REDIS;
	freeReplyObject(d);
	return n;
}

/* ---- administration and invitations ---- */

#define MUC_ITEM_FIELDS 4       /* the arguments of one item: nick, jid, role or
                                   affiliation, reason */
#define MUC_SET_HEAD 4          /* before them: the room's channel and JID
                                   (room_args), the session, the random part */
#define MUC_LIST_FIELDS 4       /* nick, JID, role, affiliation */
_Static_assert(MUC_NKEYS + MUC_SET_HEAD + MUC_ITEMS_MAX * MUC_ITEM_FIELDS <= STORE_ARGV_MAX,
    "MUC_ITEMS_MAX: more arguments than store_argv holds");

/* A set of roles (value: role) or affiliations (aff) by one script. */
static int admin_set(struct store *s, const char *room, const char *full,
    const struct muc_item *items, int n, int roles, const char *name, const char *script,
    const char *sha)
{
	static const char *const outcomes[] = { "set", "forbidden", "not-allowed", "conflict",
		"no-nick", "no-room", NULL };
	static const int results[] = { MUC_SET, MUC_FORBIDDEN, MUC_NOT_ALLOWED, MUC_CONFLICT,
		MUC_NO_NICK, MUC_NO_ROOM };
	struct muc_args a;
	redisReply *r;
	int rc, i;

	if (n < 1 || n > MUC_ITEMS_MAX) {
		snprintf(s->err, sizeof s->err, "%s: %d items", name, n);
		return XE_INVALID;
	}
	if ((rc = room_args(s, &a, room, ROOM_FRESH | ROOM_INDEXED)) < 0)
		return rc;
	store_argv_str(&a.v, full);
	store_argv_str(&a.v, a.rand);
	for (i = 0; i < n; i++) {
		store_argv_str(&a.v, items[i].nick);
		store_argv_str(&a.v, items[i].jid);
		store_argv_str(&a.v, roles ? items[i].role : items[i].aff);
		store_argv_str(&a.v, items[i].reason);
	}
	rc = run(s, name, script, sha, &a, outcomes, results, &r);
	freeReplyObject(r);
	return rc;
}

int muc_role_set(struct store *s, const char *room, const char *full,
    const struct muc_item *items, int n)
{
	return admin_set(s, room, full, items, n, 1, "muc_role_set", lua_muc_role_set,
	    lua_muc_role_set_sha);
}

int muc_aff_set(struct store *s, const char *room, const char *full,
    const struct muc_item *items, int n)
{
	return admin_set(s, room, full, items, n, 0, "muc_aff_set", lua_muc_aff_set,
	    lua_muc_aff_set_sha);
}

int muc_list(struct store *s, const char *room, const char *full, const char *attr,
    const char *value, struct muc_list *out)
{
	static const char *const outcomes[] = { "list", "forbidden", "no-room", NULL };
	static const int results[] = { MUC_LIST, MUC_FORBIDDEN, MUC_NO_ROOM };
	struct muc_args a;
	redisReply *r;
	size_t i;
	int rc, k;

	memset(out, 0, sizeof *out);
	if ((rc = room_args(s, &a, room, 0)) < 0)
		return rc;
	store_argv_str(&a.v, full);
	store_argv_str(&a.v, attr);
	store_argv_str(&a.v, value);
	rc = run(s, "muc_list", lua_muc_list, lua_muc_list_sha, &a, outcomes, results, &r);
	if (rc != MUC_LIST) {
		freeReplyObject(r);
		return rc;
	}
	if (strings_reply(s, r, "muc_list", 1, MUC_LIST_FIELDS) < 0)
		return XE_REPLY;
	out->n = (int)((r->elements - 1) / MUC_LIST_FIELDS);
	out->items = xcalloc((size_t)out->n + 1, sizeof *out->items);
	for (k = 0, i = 1; k < out->n; k++, i += MUC_LIST_FIELDS) {
		struct muc_item *it = &out->items[k];
		it->nick = r->element[i]->str;
		it->jid = r->element[i + 1]->str;
		it->role = r->element[i + 2]->str;
		it->aff = r->element[i + 3]->str;
		it->reason = "";
	}
	out->reply = r;
	return rc;
}

void muc_list_free(struct muc_list *l)
{
	free(l->items);
	freeReplyObject(l->reply);
	memset(l, 0, sizeof *l);
}

int muc_invite(struct store *s, const char *room, const char *full,
    const char *const *invitees, int n, char *password, size_t pwsize, int *members_only)
{
	static const char *const outcomes[] = { "invited", "not-occupant", "forbidden",
		"no-room", NULL };
	static const int results[] = { MUC_INVITED, MUC_NOT_OCCUPANT, MUC_FORBIDDEN,
		MUC_NO_ROOM };
	char flag[2];
	struct muc_args a;
	redisReply *r;
	int rc, i;

	password[0] = '\0';
	*members_only = 0;
	if (n < 0 || n > MUC_ITEMS_MAX) {
		snprintf(s->err, sizeof s->err, "muc_invite: %d invitees", n);
		return XE_INVALID;
	}
	if ((rc = room_args(s, &a, room, 0)) < 0)
		return rc;
	store_argv_str(&a.v, full);
	for (i = 0; i < n; i++)
		store_argv_str(&a.v, invitees[i]);
	rc = run(s, "muc_invite", lua_muc_invite, lua_muc_invite_sha, &a, outcomes, results, &r);
	if (rc == MUC_INVITED) {
		store_reply_str(r, 1, password, pwsize);
		store_reply_str(r, 2, flag, sizeof flag);
		*members_only = !strcmp(flag, "1");
	}
	freeReplyObject(r);
	return rc;
}

/* ---- the set of rooms ---- */

int muc_room_each(struct store *s, int (*fn)(const char *room, void *arg), void *arg)
{
	struct strvec rooms = { 0 };
	size_t i;
	int rc;

	/* Every shard (one on one Redis), in pipelines. */
	rc = store_shard_members(s, MUC_ROOMS_KEY, &rooms);
	for (i = 0; rc >= 0 && i < rooms.n; i++)
		rc = fn(rooms.v[i], arg);
	strvec_free(&rooms);
	return rc < 0 ? rc : 0;
}

/* What the directory reads of a room's :conf (muc.h), in this order;
 * created is there from the room's first join on, so a room whose
 * :conf has none is gone (destroyed after the set was read). */
static const char *const listing_fields[] = { "created", "public", "locked", "name" };
#define LISTING_NFIELDS (sizeof listing_fields / sizeof listing_fields[0])
#define LISTING_ARGC ((int)LISTING_NFIELDS + 2)     /* HMGET key fields... */
#define MUC_PUBLIC_DEFAULT "1"  /* lib/muc.lua's default of public */
#define MUC_LOCKED "1"

/* Field i of HMGET reply r, or NULL when the hash has none. */
static const char *hmget_field(const redisReply *r, size_t i)
{
	return r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : NULL;
}

/* Is the HMGET reply r of listing_fields a room the directory lists?
 * Its name into *name then. */
static int listed(const redisReply *r, const char **name)
{
	const char *public, *locked;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != LISTING_NFIELDS ||
	    !hmget_field(r, 0))
		return 0;
	public = hmget_field(r, 1);
	locked = hmget_field(r, 2);
	if (strcmp(public ? public : MUC_PUBLIC_DEFAULT, "1") ||
	    (locked && !strcmp(locked, MUC_LOCKED)))
		return 0;
	*name = hmget_field(r, 3) ? hmget_field(r, 3) : "";
	return 1;
}

/* The n rooms from rooms, in one pipeline: how many fn was handed, or
 * XE_REDIS. */
static int rooms_batch(struct store *s, char *const *rooms, int n,
    void (*fn)(const char *room, const char *name, void *arg), void *arg)
{
	const char **argv = xcalloc((size_t)n * LISTING_ARGC, sizeof *argv);
	size_t *lens = xcalloc((size_t)n * LISTING_ARGC, sizeof *lens);
	const char ***av = xcalloc((size_t)n, sizeof *av);
	const size_t **al = xcalloc((size_t)n, sizeof *al);
	int *ac = xcalloc((size_t)n, sizeof *ac);
	redisReply **rep = xcalloc((size_t)n, sizeof *rep);
	struct strvec keys = { 0 };
	char key[STORE_MAX_KEY];
	const char *name;
	int i, k, handed = 0, rc;

	for (i = 0; i < n; i++) {
		store_user_key(s, rooms[i], "conf", key, sizeof key);
		strvec_add(&keys, key);
	}
	for (i = 0; i < n; i++) {
		const char **v = argv + (size_t)i * LISTING_ARGC;
		size_t *l = lens + (size_t)i * LISTING_ARGC;
		v[0] = "HMGET";
		v[1] = keys.v[i];
		for (k = 0; k < (int)LISTING_NFIELDS; k++)
			v[k + 2] = listing_fields[k];
		for (k = 0; k < LISTING_ARGC; k++)
			l[k] = strlen(v[k]);
		av[i] = v;
		al[i] = l;
		ac[i] = LISTING_ARGC;
	}
	rc = store_pipeline(s, n, av, al, ac, rep);
	for (i = 0; i < n; i++) {
		if (rc == 0 && listed(rep[i], &name)) {
			fn(rooms[i], name, arg);
			handed++;
		}
		if (rep[i])
			freeReplyObject(rep[i]);
	}
	free(argv); free(lens); free(av); free(al); free(ac); free(rep);
	strvec_free(&keys);
	return rc < 0 ? XE_REDIS : handed;
}

static int room_collect(const char *room, void *arg)
{
	strvec_add(arg, room);
	return 0;
}

int muc_rooms(struct store *s, void (*fn)(const char *room, const char *name, void *arg),
    void *arg)
{
	struct strvec rooms = { 0 };
	size_t i;
	int rc, n = 0;

	rc = muc_room_each(s, room_collect, &rooms);
	strvec_sort_uniq(&rooms);
	for (i = 0; rc >= 0 && i < rooms.n; i += MUC_DIRECTORY_BATCH) {
		rc = rooms_batch(s, rooms.v + i, (int)(rooms.n - i < MUC_DIRECTORY_BATCH ?
		    rooms.n - i : MUC_DIRECTORY_BATCH), fn, arg);
		if (rc > 0)
			n += rc;
	}
	strvec_free(&rooms);
	return rc < 0 ? rc : n;
}

/* ---- the operator's view of a room ---- */

#define MUC_PEOPLE_HEAD 2       /* outcome, number of affiliations */
#define MUC_OCC_HEAD 4          /* nick, role, affiliation, number of sessions */

/* A count in element i of r, at most left; -1 when it is none. */
static long count_elem(const redisReply *r, size_t i, size_t left)
{
	char *end;
	long n = strtol(r->element[i]->str, &end, 10);

	return end == r->element[i]->str || *end || n < 0 || (size_t)n > left ? -1 : n;
}

/* Is r (its outcome "room") what muc_people.lua answers: every element
 * a string, every count within the reply? */
static int people_ok(const redisReply *r)
{
	size_t i;
	long n;

	if (r->elements < MUC_PEOPLE_HEAD)
		return 0;
	for (i = 1; i < r->elements; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return 0;
	if ((n = count_elem(r, 1, (r->elements - MUC_PEOPLE_HEAD) / 2)) < 0)
		return 0;
	for (i = MUC_PEOPLE_HEAD + 2 * (size_t)n; i < r->elements; i += MUC_OCC_HEAD + (size_t)n)
		if (i + MUC_OCC_HEAD > r->elements ||
		    (n = count_elem(r, i + 3, r->elements - i - MUC_OCC_HEAD)) < 0)
			return 0;
	return 1;
}

int muc_people(struct store *s, const char *room,
    void (*aff_fn)(const char *jid, const char *aff, void *arg),
    void (*occ_fn)(const struct muc_occupant *o, void *arg), void *arg)
{
	static const char *const outcomes[] = { "room", "no-room", NULL };
	static const int results[] = { MUC_ROOM, MUC_NO_ROOM };
	struct muc_occupant o;
	const char **jids;
	struct muc_args a;
	redisReply *r;
	size_t i, k;
	long n;
	int rc;

	if ((rc = room_args(s, &a, room, 0)) < 0)
		return rc;
	rc = run(s, "muc_people", lua_muc_people, lua_muc_people_sha, &a, outcomes, results, &r);
	if (rc != MUC_ROOM) {
		freeReplyObject(r);
		return rc;
	}
	if (!people_ok(r)) {
		snprintf(s->err, sizeof s->err, "muc_people: malformed reply");
		freeReplyObject(r);
		return XE_REPLY;
	}
	n = atol(r->element[1]->str);
	for (i = MUC_PEOPLE_HEAD; i < MUC_PEOPLE_HEAD + 2 * (size_t)n; i += 2)
		aff_fn(r->element[i]->str, r->element[i + 1]->str, arg);
	for (; i < r->elements; i += MUC_OCC_HEAD + (size_t)o.njids) {
		o.nick = r->element[i]->str;
		o.role = r->element[i + 1]->str;
		o.aff = r->element[i + 2]->str;
		o.njids = atoi(r->element[i + 3]->str);
		jids = xcalloc((size_t)o.njids + 1, sizeof *jids);
		for (k = 0; k < (size_t)o.njids; k++)
			jids[k] = r->element[i + MUC_OCC_HEAD + k]->str;
		o.jids = jids;
		occ_fn(&o, arg);
		free(jids);
	}
	freeReplyObject(r);
	return MUC_ROOM;
}

void muc_info_each(const struct muc_info *i,
    void (*fn)(const char *field, const char *value, void *arg), void *arg)
{
	const redisReply *r = i->reply;
	size_t k;

	for (k = MUC_INFO_HEAD; r && k + 1 < r->elements; k += 2)
		fn(r->element[k]->str, r->element[k + 1]->str, arg);
}
