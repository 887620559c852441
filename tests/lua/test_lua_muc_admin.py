"""A room's administration inside Redis: muc_role_set.lua,
muc_aff_set.lua, muc_list.lua and muc_invite.lua over the keys of
lib/muc.lua (router/muc.h), every outcome of each, the log events
(removals with 307, 301, 321; presence with a new role or affiliation)
and that a refused request changes nothing."""
from lua_harness import key

from test_lua_muc import ROOM, A1, B1, config, head, join, keys, log, occ

C1, D1 = "carol@x/c1", "dave@x/d1"
ALICE, BOB, CAROL, DAVE = "alice@x", "bob@x", "carol@x", "dave@x"


def role_set(r, full, *items, rand="ab"):
    """items: (nick, role, reason)"""
    args = [full, rand]
    for nick, role, reason in items:
        args += [nick, "", role, reason]
    return r.eval("muc_role_set", keys(True), head() + args)


def aff_set(r, full, *items, rand="ac"):
    """items: (jid, affiliation, reason), or (("nick", nick), ...)"""
    args = [full, rand]
    for who, aff, reason in items:
        nick, jid = (who[1], "") if isinstance(who, tuple) else ("", who)
        args += [nick, jid, aff, reason]
    return r.eval("muc_aff_set", keys(True), head() + args)


def lst(r, full, attr, value):
    return r.eval("muc_list", keys(), head() + [full, attr, value])


def invite(r, full, *invitees):
    return r.eval("muc_invite", keys(), head() + [full] + list(invitees))


def affs(r):
    a = r("HGETALL", key(ROOM, "aff"))
    return dict(zip(a[0::2], a[1::2]))


def room(r, *who, **fields):
    """alice (al, owner) makes the room, configured with fields, and each
    (nick, full[, affiliation set first]) of who joins."""
    join(r, "al", A1)
    if fields:
        flat = [x for kv in fields.items() for x in kv]
        assert config(r, ALICE, *flat)[0] == "set"
    for w in who:
        if len(w) == 3:
            r("HSET", key(ROOM, "aff"), w[1].split("/")[0], w[2])
        assert join(r, w[0], w[1])[0] == "joined"


def test_kick_removes_every_session_with_307(r, subscribe):
    room(r, ("bo", B1), ("bo", "bob@x/b2"))
    s = subscribe(key(ROOM))
    n = len(log(r))
    assert role_set(r, A1, ("bo", "none", "spam")) == ["set"]
    [(_, e)] = log(r)[n:]
    assert e == {"t": "presence", "n": "bo", "j": B1, "ro": "none", "af": "none",
                 "ty": "unavailable", "la": "1", "c": "307", "ac": "al", "rs": "spam",
                 "x": "<presence/>", "r": "ab"}
    assert occ(r, "bo") is None
    assert s.message() == [key(ROOM), "muc %s\n" % ROOM]


def test_voice_and_moderator_are_presence_again(r):
    room(r, ("bo", B1), moderated="1")
    assert occ(r, "bo")["role"] == "visitor"
    n = len(log(r))
    assert role_set(r, A1, ("bo", "participant", "speak")) == ["set"]
    [(_, e)] = log(r)[n:]
    assert e == {"t": "presence", "n": "bo", "j": B1, "ro": "participant", "af": "none",
                 "ty": "", "la": "0", "c": "", "ac": "al", "rs": "speak", "x": "<presence/>",
                 "r": "ab"}
    assert occ(r, "bo")["role"] == "participant"
    # several items at once, in order; an unchanged role is no event
    n = len(log(r))
    assert role_set(r, A1, ("bo", "moderator", ""), ("al", "moderator", "")) == ["set"]
    assert [e["ro"] for _, e in log(r)[n:]] == ["moderator"]
    assert occ(r, "bo")["role"] == "moderator"


def test_role_refusals_change_nothing(r):
    room(r, ("bo", B1), ("cy", C1, "member"), ("di", D1, "admin"))
    # a member made moderator: may kick a nobody, not more
    assert role_set(r, A1, ("cy", "moderator", "")) == ["set"]
    n = len(log(r))
    assert role_set(r, B1, ("cy", "none", "")) == ["forbidden"]        # not a moderator
    assert role_set(r, "eve@x/e1", ("bo", "none", "")) == ["forbidden"]  # not in
    assert role_set(r, C1, ("al", "none", "")) == ["not-allowed"]      # an owner
    assert role_set(r, C1, ("di", "none", "")) == ["not-allowed"]      # an admin
    assert role_set(r, C1, ("bo", "moderator", "")) == ["forbidden"]   # 9.6: admins only
    assert role_set(r, C1, ("zz", "none", "")) == ["no-nick"]
    # admins and owners keep their voice, even from an owner (8.5)
    assert role_set(r, A1, ("di", "visitor", "")) == ["not-allowed"]
    assert role_set(r, A1, ("di", "participant", "")) == ["not-allowed"]
    # all or none: the first item would do, the second is refused
    assert role_set(r, C1, ("bo", "visitor", ""), ("al", "none", "")) == ["not-allowed"]
    assert role_set(r, A1, ("bo", "none", ""), ("zz", "none", "")) == ["no-nick"]
    assert len(log(r)) == n and occ(r, "bo")["role"] == "participant"
    # the member moderator kicks a nobody; an owner kicks an admin
    assert role_set(r, C1, ("bo", "none", "")) == ["set"]
    assert role_set(r, A1, ("di", "none", "")) == ["set"]
    assert occ(r, "bo") is None and occ(r, "di") is None
    r("DEL", *keys(True))
    assert role_set(r, A1, ("al", "none", "")) == ["no-room"]


def test_kick_of_the_last_occupant_takes_the_room(r):
    room(r)
    assert role_set(r, A1, ("al", "none", "")) == ["set"]
    assert r("EXISTS", key(ROOM, "conf")) == 0
    assert log(r)[-1][1]["c"] == "307"


def test_ban_removes_the_occupant_with_301(r, subscribe):
    room(r, ("bo", B1))
    s = subscribe(key(ROOM))
    n = len(log(r))
    assert aff_set(r, A1, (BOB, "outcast", "troll")) == ["set"]
    [(_, e)] = log(r)[n:]
    assert e == {"t": "presence", "n": "bo", "j": B1, "ro": "none", "af": "outcast",
                 "ty": "unavailable", "la": "1", "c": "301", "ac": "al", "rs": "troll",
                 "x": "<presence/>", "r": "ac"}
    assert occ(r, "bo") is None and affs(r)[BOB] == "outcast"
    assert s.message() == [key(ROOM), "muc %s\n" % ROOM]
    assert join(r, "bo", B1) == ["banned"]
    # lifted: none leaves :aff
    assert aff_set(r, A1, (BOB, "none", "")) == ["set"]
    assert BOB not in affs(r) and join(r, "bo", B1)[0] == "joined"


def test_affiliation_changes_role_and_presence(r):
    room(r, ("bo", B1), moderated="1")
    n = len(log(r))
    # membership gives voice in a moderated room
    assert aff_set(r, A1, (BOB, "member", "welcome")) == ["set"]
    [(_, e)] = log(r)[n:]
    assert e == {"t": "presence", "n": "bo", "j": B1, "ro": "participant", "af": "member",
                 "ty": "", "la": "0", "c": "", "ac": "al", "rs": "welcome",
                 "x": "<presence/>", "r": "ac"}
    assert occ(r, "bo")["aff"] == "member" and affs(r)[BOB] == "member"
    # the role follows the affiliation down at once ...
    assert aff_set(r, A1, (BOB, "none", "")) == ["set"]
    assert (occ(r, "bo")["role"], occ(r, "bo")["aff"]) == ("visitor", "none")
    # ... and up only if higher: a granted moderator stays one
    assert role_set(r, A1, ("bo", "moderator", "")) == ["set"]
    assert aff_set(r, A1, (BOB, "member", "")) == ["set"]
    assert (occ(r, "bo")["role"], occ(r, "bo")["aff"]) == ("moderator", "member")
    assert aff_set(r, A1, (BOB, "admin", "")) == ["set"]
    assert aff_set(r, A1, (BOB, "member", "")) == ["set"]
    assert (occ(r, "bo")["role"], occ(r, "bo")["aff"]) == ("participant", "member")
    # by nick: the occupant's bare JID; no event for what did not change
    assert aff_set(r, A1, (("nick", "bo"), "admin", "")) == ["set"]
    assert (occ(r, "bo")["role"], affs(r)[BOB]) == ("moderator", "admin")
    n = len(log(r))
    assert aff_set(r, A1, (("nick", "bo"), "admin", "")) == ["set"]
    assert len(log(r)) == n
    # one not present: stored, no event
    n = len(log(r))
    assert aff_set(r, A1, (CAROL, "member", "")) == ["set"]
    assert affs(r)[CAROL] == "member" and len(log(r)) == n


def test_membership_revoked_in_members_only_room_removes_321(r):
    room(r, ("bo", B1, "member"), members_only="1")
    n = len(log(r))
    assert aff_set(r, A1, (BOB, "none", "bye")) == ["set"]
    [(_, e)] = log(r)[n:]
    assert (e["ty"], e["c"], e["af"], e["ro"], e["ac"], e["rs"]) == \
        ("unavailable", "321", "none", "none", "al", "bye")
    assert occ(r, "bo") is None
    assert join(r, "bo", B1) == ["members-only"]


def test_affiliation_refusals_change_nothing(r):
    room(r, ("bo", B1), ("di", D1, "admin"))
    before, n = affs(r), len(log(r))
    assert aff_set(r, B1, (CAROL, "member", "")) == ["forbidden"]       # a nobody
    assert aff_set(r, D1, (CAROL, "admin", "")) == ["forbidden"]        # admins make no admins
    assert aff_set(r, D1, (CAROL, "owner", "")) == ["forbidden"]
    assert aff_set(r, D1, (ALICE, "outcast", "")) == ["not-allowed"]    # nor touch owners
    assert aff_set(r, D1, (DAVE, "member", "")) == ["not-allowed"]      # nor admins
    assert aff_set(r, D1, (DAVE, "outcast", "")) == ["not-allowed"]
    assert aff_set(r, A1, (ALICE, "outcast", "")) == ["conflict"]       # no self-ban
    assert aff_set(r, A1, (ALICE, "admin", "")) == ["conflict"]         # the last owner
    assert aff_set(r, A1, (("nick", "zz"), "member", "")) == ["no-nick"]
    # all or none
    assert aff_set(r, A1, (BOB, "outcast", ""), (ALICE, "none", "")) == ["conflict"]
    assert aff_set(r, D1, (BOB, "member", ""), (ALICE, "member", "")) == ["not-allowed"]
    assert affs(r) == before and len(log(r)) == n and occ(r, "bo") is not None
    # what admins may: members and outcasts of nobodies
    assert aff_set(r, D1, (CAROL, "member", ""), (BOB, "outcast", "")) == ["set"]
    assert affs(r)[CAROL] == "member" and occ(r, "bo") is None
    # an owner steps down once another owner is there; the operator too
    assert aff_set(r, A1, (DAVE, "owner", ""), (ALICE, "member", "")) == ["set"]
    assert affs(r)[ALICE] == "member" and occ(r, "al")["role"] == "participant"
    assert aff_set(r, "", (DAVE, "none", "")) == ["conflict"]
    assert aff_set(r, "", (ALICE, "owner", "")) == ["set"]
    r("DEL", *keys(True))
    assert aff_set(r, A1, (BOB, "member", "")) == ["no-room"]


def test_lists(r):
    room(r, ("bo", B1), ("cy", C1, "member"), ("di", D1, "admin"))
    aff_set(r, A1, ("eve@x", "outcast", ""))
    assert sorted(lst(r, A1, "role", "moderator")[1:]) == sorted(
        ["al", A1, "moderator", "owner", "di", D1, "moderator", "admin"])
    assert lst(r, D1, "role", "participant")[0] == "list"
    assert sorted(lst(r, D1, "role", "participant")[1:]) == sorted(
        ["bo", B1, "participant", "none", "cy", C1, "participant", "member"])
    assert lst(r, A1, "role", "visitor") == ["list"]
    assert lst(r, B1, "role", "moderator") == ["forbidden"]
    assert lst(r, "eve@x/e1", "role", "moderator") == ["forbidden"]
    # affiliation lists: bare JIDs, the nick of one in the room
    assert lst(r, A1, "affiliation", "owner") == ["list", "al", ALICE, "", "owner"]
    assert lst(r, D1, "affiliation", "member") == ["list", "cy", CAROL, "", "member"]
    assert lst(r, D1, "affiliation", "outcast") == ["list", "", "eve@x", "", "outcast"]
    # owners' and admins' lists are the owners' (semi-anonymous room)
    assert lst(r, D1, "affiliation", "admin") == ["forbidden"]
    assert lst(r, A1, "affiliation", "admin") == ["list", "di", DAVE, "", "admin"]
    assert lst(r, C1, "affiliation", "member") == ["forbidden"]
    assert lst(r, B1, "affiliation", "outcast") == ["forbidden"]
    # where everyone sees real JIDs: admins see the admins, and members
    # of a members-only room the members
    config(r, ALICE, "whois", "anyone", "members_only", "1")
    assert lst(r, D1, "affiliation", "admin")[0] == "list"
    assert lst(r, C1, "affiliation", "member") == ["list", "cy", CAROL, "", "member"]
    assert lst(r, C1, "affiliation", "outcast") == ["forbidden"]
    r("DEL", *keys(True))
    assert lst(r, A1, "role", "moderator") == ["no-room"]


def test_invite_open_room(r):
    room(r, ("bo", B1))
    config(r, ALICE, "password", "pw")
    n = len(log(r))
    assert invite(r, B1) == ["invited", "pw", "0"]
    assert invite(r, B1, CAROL) == ["invited", "pw", "0"]
    assert CAROL not in affs(r)             # open rooms make no members
    assert invite(r, C1) == ["not-occupant"]
    assert len(log(r)) == n
    r("DEL", *keys(True))
    assert invite(r, B1) == ["no-room"]


def test_invite_members_only_room(r):
    room(r, ("bo", B1, "member"), ("di", D1, "admin"), members_only="1")
    r("HSET", key(ROOM, "aff"), "eve@x", "outcast")
    assert invite(r, B1) == ["forbidden"]        # members may not, by default
    assert invite(r, B1, CAROL) == ["forbidden"] and CAROL not in affs(r)
    assert invite(r, D1) == ["invited", "", "1"]
    # the invitees reached: those without an affiliation become members
    assert invite(r, D1, CAROL, "eve@x", DAVE) == ["invited", "", "1"]
    assert affs(r)[CAROL] == "member" and affs(r)["eve@x"] == "outcast"
    assert affs(r)[DAVE] == "admin"
    config(r, ALICE, "allow_invites", "1")
    assert invite(r, B1, "frank@x") == ["invited", "", "1"]
    assert affs(r)["frank@x"] == "member"
