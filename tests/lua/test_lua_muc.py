"""XEP-0045 rooms inside Redis: muc_join.lua, muc_leave.lua,
muc_nick.lua, muc_message.lua, muc_private.lua, muc_ping.lua,
muc_subject.lua, muc_info.lua, muc_config_set.lua, muc_destroy.lua and
muc_people.lua
over the keys of lib/muc.lua (router/muc.h), every outcome of each, the
log entries and the wake-ups, and the room archive muc_message.lua
keeps and muc_mam_query.lua reads."""
import json
import re
import time

from lua_harness import NOW, gkey, key

ROOM = "room@conference.x"
A1, A2, B1 = "alice@x/a1", "alice@x/a2", "bob@x/b1"


def keys(indexed=False):
    """The room's keys (lib/muc.lua); indexed: and the set of rooms, which
    only the scripts that make or destroy a room take (router/muc.c)."""
    return [key(ROOM, "occ"), key(ROOM, "conf"), key(ROOM, "log"), key(ROOM, "aff"),
            key(ROOM, "arch")] + ([gkey("rooms")] if indexed else [])


def head():
    return [key(ROOM), ROOM]


def join_raw(r, nick, full, xml="<presence/>", rand="aa", password="", create="1"):
    return r.eval("muc_join", keys(True), head() + [nick, full, xml, rand, str(NOW), password,
                                                create])


def config(r, asker, *fields, rand="ff"):
    return r.eval("muc_config_set", keys(True), head() + [asker, rand] + list(fields))


def join(r, nick, full, xml="<presence/>", rand="aa", password=""):
    """join_raw; a room it creates its creator makes an instant room."""
    res = join_raw(r, nick, full, xml, rand, password)
    if res[0] == "created":
        assert config(r, full.split("/")[0]) == ["set", "104"]
    return res


def leave(r, nick, full, codes="", rand="bb"):
    return r.eval("muc_leave", keys(True), head() + [nick, full, "<presence/>", codes, rand])


def nick(r, old, full, new, xml="<presence><show>xa</show></presence>", rand="dd"):
    return r.eval("muc_nick", keys(), head() + [old, full, xml, new, rand])


def message(r, nick, full, xml="<message><body>hi</body></message>", rand="cc", now=NOW,
            count=0, age=0):
    return r.eval("muc_message", keys(), head() + [nick, full, xml, rand, now, count, age])


def private(r, nick, full, to, xml="<message type='chat'><body>psst</body></message>",
            rand="ee"):
    return r.eval("muc_private", keys(), head() + [nick, full, xml, to, rand])


def log(r, what="log"):
    return [(i, dict(zip(*[iter(f)] * 2))) for i, f in r("XRANGE", key(ROOM, what), "-", "+")]


def occ(r, nick):
    v = r("HGET", key(ROOM, "occ"), nick)
    return json.loads(v) if v else None


def test_first_join_creates_the_room(r, subscribe):
    s = subscribe(key(ROOM))
    res = join_raw(r, "al", A1, "<presence><show>away</show></presence>")
    assert res == ["created", res[1], "moderator", "owner", "moderators", "1", "20", "", ""]
    assert r("HGET", key(ROOM, "conf"), "locked") == "1"
    assert r("SMEMBERS", gkey("rooms")) == [ROOM]
    assert r("HGET", key(ROOM, "conf"), "created") == str(NOW)
    assert r("HGETALL", key(ROOM, "aff")) == ["alice@x", "owner"]
    assert occ(r, "al")["jids"] == [A1]
    [(i, e)] = log(r)
    assert i == res[1]
    assert e == {"t": "presence", "n": "al", "j": A1, "ro": "moderator", "af": "owner",
                 "ty": "", "la": "0", "c": "201", "x": "<presence><show>away</show></presence>",
                 "r": "aa"}
    assert s.message() == [key(ROOM), "muc %s\n" % ROOM]


def test_second_join_lists_the_others(r):
    join(r, "al", A1, "<presence><status>x</status></presence>")
    res = join(r, "bo", B1)
    assert res[0] == "joined" and res[2:4] == ["participant", "none"]
    assert res[9:] == ["al", A1, "moderator", "owner", "<presence><status>x</status></presence>"]
    config(r, "alice@x", "history", "5")
    assert join(r, "ca", "carol@x/c1")[6] == "5"
    assert log(r)[-1][1]["c"] == ""


def test_nick_conflict_changes_nothing(r):
    join(r, "al", A1)
    n = len(log(r))
    assert join(r, "al", B1) == ["conflict"]
    assert len(log(r)) == n and occ(r, "al")["jids"] == [A1]


def test_same_user_shares_a_nick_and_updates(r):
    join(r, "al", A1)
    assert join(r, "al", A2)[0] == "joined"
    assert occ(r, "al")["jids"] == [A1, A2]
    res = join(r, "al", A1, "<presence><show>dnd</show></presence>")
    assert res[0] == "updated"
    assert occ(r, "al")["pres"] == "<presence><show>dnd</show></presence>"
    # one session of a shared nick leaving: the nick stays (la 0)
    assert leave(r, "al", A2)[0] == "left"
    assert occ(r, "al")["jids"] == [A1]
    assert log(r)[-1][1]["la"] == "0" and log(r)[-1][1]["ty"] == "unavailable"


def test_leave_and_empty_room_goes(r):
    join(r, "al", A1)
    join(r, "bo", B1)
    res = leave(r, "bo", B1, "332")
    assert res[0] == "left" and res[1] == log(r)[-1][0]
    e = log(r)[-1][1]
    assert (e["ty"], e["la"], e["c"], e["n"]) == ("unavailable", "1", "332", "bo")
    assert occ(r, "bo") is None
    assert leave(r, "bo", B1) == ["not-occupant"]
    assert leave(r, "al", B1) == ["not-occupant"]      # not that nick's session
    assert leave(r, "al", A1)[0] == "left"
    for k in ("occ", "conf", "aff"):
        assert r("EXISTS", key(ROOM, k)) == 0
    # the log lingers for the handlers still reading it, then goes
    assert 0 < r("TTL", key(ROOM, "log")) <= 60
    # a new room of that name starts afresh
    assert join(r, "bo", B1)[0] == "created"
    assert len(log(r)) == 1 and r("TTL", key(ROOM, "log")) == -1


def test_message_from_occupant_and_not(r, subscribe):
    join(r, "al", A1)
    s = subscribe(key(ROOM))
    prev = log(r)[-1][0]
    res = message(r, "al", A1, rand="0f0f")
    i, e = log(r)[-1]
    assert res == ["sent", i + "-0f0f"]
    assert e == {"t": "message", "n": "al", "j": A1, "ro": "moderator", "af": "owner",
                 "x": "<message><body>hi</body></message>", "r": "0f0f"}
    # the message rides in the wake-up, after the entry before it
    assert s.message() == [key(ROOM), "muc %s %s %s 0f0f\nal\n%s" % (
        ROOM, i, prev, "<message><body>hi</body></message>")]
    n = len(log(r))
    assert message(r, "", B1) == ["not-occupant"]
    assert message(r, "al", B1) == ["not-occupant"]
    assert message(r, "zz", A1) == ["not-occupant"]
    assert len(log(r)) == n


def test_message_is_archived_under_its_stanza_id(r):
    join(r, "al", A1)
    join(r, "b&'o", B1)
    sid = message(r, "b&'o", B1, "<message type='groupchat'><body>x</body></message>",
                  rand="0a0a")[1]
    [(i, e)] = log(r, "arch")
    assert sid == i + "-0a0a" and i == log(r)[-1][0]
    assert e == {"n": "b&'o", "j": B1, "r": "0a0a",
                 "m": "<message from='%s/b&amp;&apos;o' type='groupchat'><body>x</body>"
                      "</message>" % ROOM}
    # only groupchat messages: no presence, private message or subject
    private(r, "al", A1, "b&'o")
    leave(r, "b&'o", B1)
    assert len(log(r, "arch")) == 1


def test_archive_follows_logging_retention_and_room(r):
    join(r, "al", A1)
    assert config(r, "alice@x", "logging", "0") == ["set", "104 171"]
    message(r, "al", A1)
    assert r("EXISTS", key(ROOM, "arch")) == 0
    config(r, "alice@x", "logging", "1")
    for n in range(4):
        message(r, "al", A1, "<message><body>%d</body></message>" % n, count=3)
    assert [re.search("<body>(.*)</body>", e["m"]).group(1) for _, e in log(r, "arch")] == \
        ["1", "2", "3"]
    # what is older than the age limit goes
    r("DEL", key(ROOM, "arch"))
    r("XADD", key(ROOM, "arch"), "1000-0", "m", "<message/>")
    message(r, "al", A1, now=int(time.time()), age=3600)
    assert [i for i, _ in log(r, "arch")] == [log(r)[-1][0]]
    # with the room
    leave(r, "al", A1)
    assert r("EXISTS", key(ROOM, "arch")) == 0
    join(r, "al", A1)
    message(r, "al", A1)
    r("DEL", key(ROOM, "conf"))
    assert join_raw(r, "bo", B1)[0] == "created"
    assert r("EXISTS", key(ROOM, "arch")) == 0


def archive(r, full, nick="", mode="page", with_="", rsm="", rsm_id="", max_=10, ids=()):
    """muc_mam_query: session full (occupant nick) reads the archive."""
    args = head() + [full, nick, mode, NOW, 0, 0]
    if mode == "page":
        args += [with_, "", "", "", "", rsm, rsm_id, max_]
    else:
        args += list(ids)
    return r.eval("muc_mam_query", keys(), args)


def bodies(page):
    return [re.search("<body>(.*)</body>", m).group(1) for m in page[4::2]]


def test_archive_query_pages_and_filters(r):
    join(r, "al", A1)
    join(r, "bo", B1)
    sids = [message(r, ("al", "bo")[n % 2], (A1, B1)[n % 2],
                    "<message><body>m%d</body></message>" % n, rand="%02x" % n)[1]
            for n in range(5)]
    private(r, "al", A1, "bo")
    p = archive(r, A1, "al")
    assert p[:3] == ["ok", 1, 5] and p[3::2] == sids
    assert p[4].startswith("<message from='%s/al'>" % ROOM)
    p = archive(r, B1, "bo", max_=2)
    assert p[:3] == ["ok", 0, 5] and bodies(p) == ["m0", "m1"]
    p = archive(r, B1, "bo", rsm="before", max_=2)
    assert p[1] == 0 and bodies(p) == ["m3", "m4"]
    p = archive(r, B1, "bo", rsm="after", rsm_id=sids[2])
    assert p[1] == 1 and bodies(p) == ["m3", "m4"]
    # with: the room (all), an occupant (its messages), anyone else (none)
    assert bodies(archive(r, A1, "al", with_=ROOM)) == ["m0", "m1", "m2", "m3", "m4"]
    p = archive(r, A1, "al", with_=ROOM + "/bo")
    assert p[:3] == ["ok", 1, -1] and bodies(p) == ["m1", "m3"]
    assert archive(r, A1, "al", with_="bob@x/b1") == ["ok", 1, 0]
    assert archive(r, A1, "al", with_=ROOM + "x/bo") == ["ok", 1, 0]
    assert archive(r, A1, "al", mode="ids", ids=[sids[3], sids[0]])[3::2] == [sids[0], sids[3]]
    assert archive(r, A1, "al", rsm="after", rsm_id=sids[0][:-2] + "ff") == ["notfound"]


def test_archive_query_who_may_read(r):
    C1 = "carol@x/c1"
    assert archive(r, C1) == ["no-room"]
    join(r, "al", A1)
    join(r, "bo", B1)
    message(r, "al", A1)
    # a public room: anyone; the same nick from another session is no proof
    assert archive(r, C1)[0] == "ok"
    assert archive(r, C1, "bo")[0] == "ok"
    config(r, "alice@x", "public", "0")
    assert archive(r, C1) == ["forbidden"] and archive(r, C1, "bo") == ["forbidden"]
    assert archive(r, B1, "bo")[0] == "ok"
    r("HSET", key(ROOM, "aff"), "carol@x", "member")
    assert archive(r, C1)[0] == "ok"
    r("HSET", key(ROOM, "aff"), "carol@x", "outcast")
    assert archive(r, C1) == ["forbidden"]
    r("HDEL", key(ROOM, "aff"), "carol@x")
    config(r, "alice@x", "public", "1", "password", "pw")
    assert archive(r, C1) == ["forbidden"] and archive(r, B1, "bo")[0] == "ok"
    # members-only: members, admins and owners only
    config(r, "alice@x", "password", "", "members_only", "1")
    assert archive(r, C1) == ["forbidden"]
    assert archive(r, B1, "bo") == ["forbidden"]         # removed (322) anyway
    assert archive(r, A1, "al")[0] == "ok"
    r("HSET", key(ROOM, "aff"), "carol@x", "admin")
    assert archive(r, C1)[0] == "ok"


def test_log_is_capped(r):
    join(r, "al", A1)
    for _ in range(1300):
        message(r, "al", A1)
    # XADD MAXLEN ~: about muc.h's MUC_LOG_MAX entries stay
    assert 1000 <= r("XLEN", key(ROOM, "log")) < 1300


def test_nick_change_moves_every_session(r, subscribe):
    join(r, "al", A1, "<presence><show>away</show></presence>")
    join(r, "al", A2)
    join(r, "bo", B1)
    s = subscribe(key(ROOM))
    n = len(log(r))
    res = nick(r, "al", A1, "ali")
    assert res[0] == "changed"
    (i1, gone), (i2, back) = log(r)[n:]
    assert res[1] == i2
    # unavailable from the old nick: 303, the new nick, the role kept
    assert gone == {"t": "presence", "n": "al", "j": A1, "ro": "moderator", "af": "owner",
                    "ty": "unavailable", "la": "1", "c": "303", "nn": "ali",
                    "x": "<presence/>", "r": "dd"}
    assert back == {"t": "presence", "n": "ali", "j": A1, "ro": "moderator", "af": "owner",
                    "ty": "", "la": "0", "c": "", "x": "<presence><show>xa</show></presence>",
                    "r": "dd"}
    assert occ(r, "al") is None and occ(r, "ali")["jids"] == [A1, A2]
    assert s.message() == [key(ROOM), "muc %s\n" % ROOM]
    assert s.message() == [key(ROOM), "muc %s\n" % ROOM]
    # the other session is in under the new nick
    assert message(r, "ali", A2)[0] == "sent"


def test_nick_change_conflict_and_not_occupant(r):
    join(r, "al", A1)
    join(r, "bo", B1)
    n = len(log(r))
    assert nick(r, "al", A1, "bo") == ["conflict"]
    assert nick(r, "al", B1, "zz") == ["not-occupant"]
    assert nick(r, "cy", A1, "zz") == ["not-occupant"]
    assert len(log(r)) == n
    assert occ(r, "al")["jids"] == [A1] and occ(r, "bo")["jids"] == [B1]


def test_private_message(r, subscribe):
    join(r, "al", A1)
    join(r, "bo", B1)
    s = subscribe(key(ROOM))
    res = private(r, "al", A1, "bo")
    i, e = log(r)[-1]
    assert res == ["sent", i + "-ee"]
    assert e == {"t": "private", "n": "al", "j": A1, "ro": "moderator", "af": "owner",
                 "tn": "bo", "x": "<message type='chat'><body>psst</body></message>",
                 "r": "ee"}
    assert s.message() == [key(ROOM), "muc %s\n" % ROOM]
    n = len(log(r))
    assert private(r, "al", A1, "zz") == ["no-nick"]
    assert private(r, "", "carol@x/c1", "bo") == ["not-occupant"]
    assert private(r, "bo", A1, "al") == ["not-occupant"]
    assert len(log(r)) == n


def test_self_ping_reads_only(r):
    join(r, "al", A1)
    join(r, "al", A2)
    n = len(log(r))
    ping = lambda nick, full: r.eval("muc_ping", keys(), head() + [nick, full])
    assert ping("al", A1) == ["joined"] and ping("al", A2) == ["joined"]
    assert ping("al", B1) == ["not-occupant"]
    assert ping("bo", A1) == ["not-occupant"]
    assert len(log(r)) == n


def info(r, asker="alice@x"):
    return r.eval("muc_info", keys(), head() + [asker])


def destroy(r, asker, reason="", venue="", rand="99"):
    return r.eval("muc_destroy", keys(True), head() + [asker, reason, venue, rand])


def subject(r, nick, full, xml="<message><subject>topic</subject></message>", rand="ab"):
    return r.eval("muc_subject", keys(), head() + [nick, full, xml, rand])


def test_a_new_room_is_locked_to_others(r):
    assert join_raw(r, "al", A1, create="0") == ["not-allowed"]
    assert r("EXISTS", key(ROOM, "conf")) == 0
    join_raw(r, "al", A1)
    assert join_raw(r, "bo", B1) == ["locked"]
    assert join_raw(r, "al", A2)[0] == "joined"     # the owner's other session
    assert config(r, "bob@x") == ["forbidden"]
    assert config(r, "alice@x", "name", "Lobby") == ["set", "104"]
    assert join_raw(r, "bo", B1)[0] == "joined"


def test_entry_rules_in_order(r):
    join(r, "al", A1)
    config(r, "alice@x", "password", "pw", "max_users", "2")
    assert join_raw(r, "bo", B1) == ["password"]
    assert join_raw(r, "bo", B1, password="nope") == ["password"]
    r("HSET", key(ROOM, "aff"), "bob@x", "outcast")
    assert join_raw(r, "bo", B1, password="pw") == ["banned"]
    r("HDEL", key(ROOM, "aff"), "bob@x")
    assert join_raw(r, "bo", B1, password="pw")[0] == "joined"
    assert join_raw(r, "cy", "carol@x/c", password="pw") == ["full"]
    r("HSET", key(ROOM, "aff"), "carol@x", "admin")    # admins still enter
    assert join_raw(r, "cy", "carol@x/c", password="pw")[0] == "joined"
    config(r, "alice@x", "members_only", "1", "password", "")
    assert join_raw(r, "dd", "dave@x/d") == ["members-only"]


def test_members_only_removes_non_members(r, subscribe):
    join(r, "al", A1)
    join(r, "bo", B1)
    r("HSET", key(ROOM, "aff"), "carol@x", "member")
    join(r, "cy", "carol@x/c")
    assert config(r, "alice@x", "members_only", "1", "whois", "anyone") == ["set", "104 172"]
    events = [e for _, e in log(r)][-2:]
    assert events[0]["t"] == "config" and events[0]["wa"] == "anyone"
    assert events[1]["t"] == "presence" and events[1]["n"] == "bo" and \
        events[1]["c"] == "322" and events[1]["ty"] == "unavailable" and events[1]["la"] == "1"
    assert sorted(r("HKEYS", key(ROOM, "occ"))) == ["al", "cy"]


def test_roles_moderation_and_private_messages(r):
    join(r, "al", A1)
    config(r, "alice@x", "moderated", "1", "allow_pm", "moderators")
    assert join(r, "bo", B1)[2] == "visitor"
    assert message(r, "bo", B1) == ["forbidden"]
    assert private(r, "bo", B1, "al") == ["forbidden"]
    assert private(r, "al", A1, "bo")[0] == "sent"
    config(r, "alice@x", "allow_pm", "none")
    assert private(r, "al", A1, "bo") == ["forbidden"]


def test_subject(r):
    join(r, "al", A1)
    join(r, "bo", B1)
    assert subject(r, "bo", B1) == ["forbidden"]
    assert subject(r, "cy", "carol@x/c") == ["not-occupant"]
    res = subject(r, "al", A1)
    assert res[0] == "sent"
    assert log(r)[-1][1]["t"] == "subject"
    assert join(r, "bo", B1)[7:9] == ["al", "<message><subject>topic</subject></message>"]
    config(r, "alice@x", "change_subject", "1")
    assert subject(r, "bo", B1)[0] == "sent"


def test_info_and_persistence(r):
    assert info(r) == ["no-room"]
    join(r, "al", A1)
    config(r, "alice@x", "persistent", "1", "name", "Kept")
    res = info(r, "bob@x")
    assert res[:3] == ["room", "none", "1"]
    conf = dict(zip(res[3::2], res[4::2]))
    assert conf["name"] == "Kept" and conf["persistent"] == "1" and conf["whois"] == "moderators"
    leave(r, "al", A1)
    assert r("EXISTS", key(ROOM, "conf")) == 1 and r("HLEN", key(ROOM, "occ")) == 0
    assert info(r)[:3] == ["room", "owner", "0"]
    # no longer persistent and empty: it goes
    assert config(r, "alice@x", "persistent", "0") == ["set", "104"]
    assert r("EXISTS", key(ROOM, "conf")) == 0 and r("SMEMBERS", gkey("rooms")) == []


def test_destroy(r, subscribe):
    join(r, "al", A1)
    join(r, "bo", B1)
    assert destroy(r, "bob@x") == ["forbidden"]
    s = subscribe(key(ROOM))
    assert destroy(r, "alice@x", "moved", "new@conference.x") == ["destroyed"]
    assert log(r)[-1][1] == {"t": "destroy", "rs": "moved", "av": "new@conference.x",
                             "r": "99"}
    assert s.message() == [key(ROOM), "muc %s\n" % ROOM]
    assert r("EXISTS", key(ROOM, "occ"), key(ROOM, "conf"), key(ROOM, "aff")) == 0
    assert 0 < r("TTL", key(ROOM, "log")) <= 60
    assert destroy(r, "") == ["no-room"]
    join(r, "al", A1)
    assert destroy(r, "") == ["destroyed"]       # the operator


def test_occupant_jids(r):
    join(r, "al", A1)
    join(r, "al", A2)
    join(r, "bo", B1)
    assert r.eval("muc_occupant", keys(), head() + ["bo", B1, "al"]) == ["jids", A1, A2]
    assert r.eval("muc_occupant", keys(), head() + ["bo", B1, "zed"]) == ["no-nick"]
    assert r.eval("muc_occupant", keys(), head() + ["bo", A1, "al"]) == ["not-occupant"]


def people(r):
    return r.eval("muc_people", keys(), head())


def test_people_reads_only(r):
    """muc_people: the affiliations, then each occupant with the full
    JIDs of its sessions; a room that is not, no-room."""
    assert people(r) == ["no-room"]
    join(r, "al", A1)
    join(r, "al", A2)
    join(r, "bo", B1)
    r("HSET", key(ROOM, "aff"), "carol@x", "member")
    n = len(log(r))
    res = people(r)
    assert res[:2] == ["room", "2"]
    assert dict(zip(res[2:6:2], res[3:6:2])) == {"alice@x": "owner", "carol@x": "member"}
    occ, rest = {}, res[6:]
    while rest:
        k = int(rest[3])
        occ[rest[0]] = (rest[1], rest[2], rest[4:4 + k])
        rest = rest[4 + k:]
    assert occ == {"al": ("moderator", "owner", [A1, A2]),
                   "bo": ("participant", "none", [B1])}
    assert len(log(r)) == n
