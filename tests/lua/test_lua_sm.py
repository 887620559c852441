"""sm_enable, sm_sync, sm_resume, sm_end, sm_adopt (XEP-0198 stream
management, router/sm.h, the layout in router/lua/lib/sm.lua): their
documented answers and their effects on the keys; and what route_stanza
does for detached and resumable sessions. Keys and arguments as
router/sm.c and router/route.c pass them."""
import pytest

from lua_harness import NOW, TTL, gkey, key, rec

A = "alice@x"
RES = "phone"
M = 2 ** 32
GONE_TTL = 86400        # sm.h SM_GONE_TTL
MSG = "<message to='alice@x/phone' type='chat'><body>hi</body></message>"


def member(id, res=RES, bare=A):
    return "%s %s/%s" % (id, bare, res)


def session(r, res=RES, id="s1", bare=A, **kw):
    r("HSET", key(bare, "sessions"), res, rec(id=id, **kw))


def record(r, res=RES, bare=A):
    return r("HGET", key(bare, "sessions"), res)


def sm(r, res=RES, bare=A):
    """The sm hash as a dict."""
    h = r("HGETALL", key(bare, "sm:" + res))
    return dict(zip(h[::2], h[1::2]))


def smq(r, res=RES, bare=A):
    return r("LRANGE", key(bare, "smq:" + res), 0, -1)


def inbox(r, res=RES, bare=A):
    return r("LRANGE", key(bare, "inbox:" + res), 0, -1)


def smids(r, bare=A):
    h = r("HGETALL", key(bare, "smids"))
    return dict(zip(h[::2], h[1::2]))


def expiry(r):
    """The expiry index as {member: score}."""
    z = r("ZRANGE", gkey("expiry"), 0, -1, "WITHSCORES")
    return {z[i]: int(z[i + 1]) for i in range(0, len(z), 2)}


def state(r, res=RES, id="sm1", owner="s1", resume=1, hin=0, acked=0, queue=(), bare=A):
    """sm state as sm_enable and sm_sync leave it."""
    r("HSET", key(bare, "sm:" + res), "id", id, "owner", owner, "resume", str(resume),
      "hin", str(hin), "acked", str(acked))
    if queue:
        r("RPUSH", key(bare, "smq:" + res), *queue)
    if resume:
        r("HSET", key(bare, "smids"), id, res)


def enable(r, res=RES, id="s1", smid="sm1", resume=1, bare=A, dsecs=""):
    return r.eval("sm_enable",
                  [key(bare, "sessions"), key(bare, "sm:" + res), key(bare, "smq:" + res),
                   key(bare, "smids")],
                  [res, id, smid, "1" if resume else "0", dsecs])


def sync(r, id="s1", hin=0, acked=0, trim=0, taken=0, detach=0, entries=(), res=RES, bare=A,
         take=0, bpos=""):
    return r.eval("sm_sync",
                  [key(bare, "sm:" + res), key(bare, "smq:" + res), key(bare, "inbox:" + res),
                   key(bare, "sessions"), gkey("expiry")],
                  [id, hin, acked, trim, taken, detach, bare, res, take, bpos] + list(entries))


def resume(r, smid="sm1", h=0, id="s2", host="h2", pid=77, now=NOW, bare=A):
    return r.eval("sm_resume",
                  [key(bare, "smids"), key(bare, "sessions"), gkey("expiry")],
                  [smid, h, id, host, pid, now, TTL, bare, key(bare) + ":"])


def end(r, id="s1", res=RES, bare=A):
    return r.eval("sm_end",
                  [key(bare, "sm:" + res), key(bare, "smq:" + res), key(bare, "smids"),
                   key(bare, "inbox:" + res)],
                  [id, key(bare, "smgone:"), GONE_TTL])


def adopt(r, id="s1", deadline=NOW + 300, res=RES, bare=A, seen=NOW - 10, now=NOW):
    return r.eval("sm_adopt",
                  [key(bare, "sessions"), gkey("expiry"), key(bare, "sm:" + res)],
                  [res, id, deadline, bare, seen, now])


def snapshot(r):
    """Every key with its type and value, to show that nothing changed."""
    out = {}
    for k in sorted(r("KEYS", "*")):
        t = r("TYPE", k)
        if t == "string":
            out[k] = r("GET", k)
        elif t == "list":
            out[k] = r("LRANGE", k, 0, -1)
        elif t == "hash":
            out[k] = sorted(r("HGETALL", k))
        elif t == "zset":
            out[k] = r("ZRANGE", k, 0, -1, "WITHSCORES")
        else:
            out[k] = t
    return out


# ---- sm_enable ----

def test_enable_fresh_resumable(r):
    session(r)
    assert enable(r) == ["enabled"]
    assert sm(r) == {"id": "sm1", "owner": "s1", "resume": "1", "hin": "0", "acked": "0"}
    assert smq(r) == []
    assert smids(r) == {"sm1": RES}


def test_enable_not_resumable_leaves_smids_alone(r):
    session(r)
    r("HSET", key(A, "smids"), "other", "tablet")
    assert enable(r, resume=0) == ["enabled"]
    assert sm(r) == {"id": "sm1", "owner": "s1", "resume": "0", "hin": "0", "acked": "0"}
    assert smids(r) == {"other": "tablet"}


def test_enable_replaces_older_state_of_the_resource(r):
    """A new session of the resource: the old state, its queue and its
    smids entry go; another resource's entry stays."""
    session(r, id="s2")
    state(r, id="old", owner="s1", hin=7, acked=3, queue=["stanza 1\nx", "raw\ny"])
    r("HSET", key(A, "smids"), "keep", "tablet")
    assert enable(r, id="s2", smid="new") == ["enabled"]
    assert sm(r) == {"id": "new", "owner": "s2", "resume": "1", "hin": "0", "acked": "0"}
    assert smq(r) == [] and r("EXISTS", key(A, "smq:" + RES)) == 0
    assert smids(r) == {"new": RES, "keep": "tablet"}
    # replaced by a session that does not resume: no entry at all for it
    assert enable(r, id="s2", smid="third", resume=0) == ["enabled"]
    assert smids(r) == {"keep": "tablet"}
    assert sm(r)["id"] == "third"


@pytest.mark.parametrize("stored", [None, rec(id="someone-else"), "prio=0 avail=0"])
def test_enable_taken_when_the_record_is_not_ours(r, stored):
    if stored:
        r("HSET", key(A, "sessions"), RES, stored)
    state(r, id="old", owner="someone-else", hin=2, queue=["stanza 1\nx"])
    before = snapshot(r)
    assert enable(r, id="s1", smid="sm9") == ["taken"]
    assert snapshot(r) == before


# ---- sm_sync ----

def test_sync_taken_when_another_handler_owns_it(r):
    session(r, id="s1")
    state(r, owner="s2", hin=1, acked=1, queue=["stanza 1\na", "stanza 2\nb"])
    r("RPUSH", key(A, "inbox:" + RES), "stanza 3\nc")
    r("ZADD", gkey("expiry"), NOW + TTL, member("s1"))
    before = snapshot(r)
    assert sync(r, id="s1", hin=5, acked=2, trim=1, taken=1, detach=NOW + 300,
                entries=["stanza 3\nc"]) == ["taken"]
    assert snapshot(r) == before


def test_sync_none_without_state(r):
    """No state at all (Redis lost its data): 'none', nothing written."""
    session(r)
    assert sync(r, entries=["raw\nx"]) == ["none"]
    assert r("KEYS", "*") == [key(A, "sessions")]


def test_sync_trims_appends_and_counts(r):
    session(r)
    state(r, hin=1, acked=10, queue=["stanza 1\na", "raw\nb", "stanza 2\nc"])
    r("RPUSH", key(A, "inbox:" + RES), "stanza 3\nd", "stanza 4\ne", "stanza 5\nf")
    assert sync(r, hin=4, acked=12, trim=2, taken=1,
                entries=["stanza 3\nd", "raw\n<presence/>"]) == ["synced"]
    assert smq(r) == ["stanza 2\nc", "stanza 3\nd", "raw\n<presence/>"]
    assert inbox(r) == ["stanza 4\ne", "stanza 5\nf"]
    assert sm(r) == {"id": "sm1", "owner": "s1", "resume": "1", "hin": "4", "acked": "12"}
    # counts are stored as given (the handler keeps them modulo 2^32)
    assert sync(r, hin=M - 1, acked=0, taken=1, entries=["stanza 4\ne"]) == ["synced"]
    assert sm(r)["hin"] == str(M - 1) and sm(r)["acked"] == "0"
    assert smq(r) == ["stanza 2\nc", "stanza 3\nd", "raw\n<presence/>", "stanza 4\ne"]
    assert inbox(r) == ["stanza 5\nf"]
    # where the broadcast log was read up to, with the entries it made
    assert sync(r, hin=M - 1, acked=0, bpos="17-0", entries=["raw\n<presence/>"]) == ["synced"]
    assert sm(r)["bpos"] == "17-0"
    assert sync(r, hin=M - 1, acked=0) == ["synced"] and sm(r)["bpos"] == "17-0"
    r("HDEL", key(A, "sm:" + RES), "bpos")
    r("RPOP", key(A, "smq:" + RES))
    # trimming everything empties the lists
    assert sync(r, hin=0, acked=4, trim=4, taken=1) == ["synced"]
    assert r("EXISTS", key(A, "smq:" + RES), key(A, "inbox:" + RES)) == 0


def test_sync_takes_inbox_entries_after_its_own(r):
    """take: after the entries (what the handler made), up to that many
    inbox entries move to smq and come back, in order; an empty inbox
    gives none."""
    session(r)
    state(r, acked=3, queue=["raw\na"])
    r("RPUSH", key(A, "inbox:" + RES), "stanza 1\nb", "stanza 2\nc", "stanza 3\nd")
    assert sync(r, acked=4, trim=1, entries=["raw\n<iq/>"], take=2) == \
        ["synced", "stanza 1\nb", "stanza 2\nc"]
    assert smq(r) == ["raw\n<iq/>", "stanza 1\nb", "stanza 2\nc"]
    assert inbox(r) == ["stanza 3\nd"]
    assert sync(r, take=5) == ["synced", "stanza 3\nd"]
    assert sync(r, take=5) == ["synced"]
    assert r("EXISTS", key(A, "inbox:" + RES)) == 0
    # one taken before (inbox_taken) leaves first, then the take
    r("RPUSH", key(A, "inbox:" + RES), "stanza 4\ne", "stanza 5\nf")
    assert sync(r, taken=1, take=1) == ["synced", "stanza 5\nf"]


def test_sync_entries_are_binary_safe_and_in_order(r):
    session(r)
    state(r)
    entries = ["stanza %d\n<message>%d\r\n\x00</message>" % (i, i) for i in range(20)]
    assert sync(r, hin=0, entries=entries) == ["synced"]
    assert smq(r) == entries


def test_sync_detach(r):
    """A deadline detaches the session: pid 0, det the deadline, and the
    expiry index says when the reaper ends it. The rest of the record stays."""
    session(r, id="s1", avail=1, prio=3, pid=42)
    state(r)
    r("ZADD", gkey("expiry"), NOW + TTL, member("s1"))
    assert sync(r, hin=2, acked=1, detach=NOW + 300, entries=["stanza 1\nx"]) == ["synced"]
    assert record(r) == rec(id="s1", avail=1, prio=3, pid=0, det=NOW + 300)
    assert expiry(r) == {member("s1"): NOW + 300}
    assert smq(r) == ["stanza 1\nx"]
    assert sm(r)["hin"] == "2" and sm(r)["acked"] == "1"


def test_sync_no_detach_with_zero(r):
    session(r)
    state(r)
    r("ZADD", gkey("expiry"), NOW + TTL, member("s1"))
    assert sync(r, detach=0) == ["synced"]
    assert record(r) == rec(id="s1")
    assert expiry(r) == {member("s1"): NOW + TTL}


def test_sync_detach_leaves_another_sessions_record(r):
    """The record was replaced (but the state not yet ended): the state is
    synced, the new session's record and expiry left alone."""
    session(r, id="new")
    state(r, owner="s1")
    r("ZADD", gkey("expiry"), NOW + TTL, member("new"))
    assert sync(r, id="s1", hin=3, detach=NOW + 300) == ["synced"]
    assert record(r) == rec(id="new")
    assert expiry(r) == {member("new"): NOW + TTL}
    assert sm(r)["hin"] == "3"


# ---- sm_resume ----

def test_resume_unknown(r):
    assert resume(r) == ["unknown"]
    assert r("KEYS", "*") == []


def test_resume_gone_by_tombstone(r):
    r("SET", key(A, "smgone:sm1"), "17")
    assert resume(r) == ["gone", "17"]
    assert r("GET", key(A, "smgone:sm1")) == "17"
    # another id's tombstone does not count
    assert resume(r, smid="sm2") == ["unknown"]


@pytest.mark.parametrize("case", ["no-state", "other-id", "no-record", "record-not-owner"])
def test_resume_stale_index_entry_is_removed(r, case):
    r("HSET", key(A, "smids"), "sm1", RES, "keep", "tablet")
    if case != "no-state":
        state(r, id="sm-other" if case == "other-id" else "sm1", owner="s1",
              queue=["stanza 1\nx"])
        r("HSET", key(A, "smids"), "sm1", RES)
    if case != "no-record":
        session(r, id="s-new" if case == "record-not-owner" else "s1")
    expect_sm = sm(r)
    assert resume(r) == ["unknown"]
    assert "sm1" not in smids(r) and smids(r).get("keep") == "tablet"
    assert sm(r) == expect_sm              # the state itself is not touched
    if case != "no-record":
        assert record(r) == rec(id="s-new" if case == "record-not-owner" else "s1")


def test_resume_gone_when_deadline_passed(r):
    session(r, id="s1", pid=0, det=NOW)
    state(r, hin=9, queue=["stanza 1\nx"])
    r("ZADD", gkey("expiry"), NOW, member("s1"))
    before = snapshot(r)
    assert resume(r, now=NOW) == ["gone", "9"]
    assert snapshot(r) == before
    # a second earlier it was still resumable
    assert resume(r, now=NOW - 1)[0] == "resumed"


@pytest.mark.parametrize("acked,n,h,sent", [
    (0, 0, 1, 0),
    (5, 2, 8, 7),
    (M - 2, 1, 0, M - 1),      # the count wraps: sent is modulo 2^32
    (M - 1, 3, 3, 2),          # 4 past M-1 is 3, one more than the 3 sent
    (M - 1, 0, 0, M - 1),
    (5, 2, 3, 7),              # below what was acked: taken as wrapped, far too high
])
def test_resume_toohigh(r, acked, n, h, sent):
    session(r)
    state(r, hin=4, acked=acked, queue=["stanza %d\nm" % i for i in range(n)])
    before = snapshot(r)
    assert resume(r, h=h) == ["toohigh", str(sent)]
    assert snapshot(r) == before


def test_resume_success(r):
    session(r, id="s1", avail=1, prio=2, host="h1", pid=42, since=NOW - 50, seen=NOW - 40,
            det=NOW + 100)
    state(r, hin=11, acked=5,
          queue=["stanza 1\na", "raw\n<presence/>", "stanza 2\nb", "stanza\nc"])
    r("ZADD", gkey("expiry"), NOW + 100, member("s1"))
    r("ZADD", gkey("expiry"), NOW + 5, member("x", res="tablet"))
    assert resume(r, h=7, id="s2", host="h2", pid=77) == \
        ["resumed", RES, "11", "s1", "stanza 2\nb", "stanza\nc"]
    assert record(r) == rec(id="s2", avail=1, prio=2, host="h2", pid=77, since=NOW - 50,
                            seen=NOW, det=0)
    assert expiry(r) == {member("s2"): NOW + TTL, member("x", res="tablet"): NOW + 5}
    assert smq(r) == ["stanza 2\nb", "stanza\nc"]
    assert sm(r) == {"id": "sm1", "owner": "s2", "resume": "1", "hin": "11", "acked": "7"}
    assert smids(r) == {"sm1": RES}
    # the old handler has lost it: its sync and end change nothing
    assert sync(r, id="s1", hin=99, trim=2) == ["taken"]
    assert end(r, id="s1") == ["taken"]
    assert smq(r) == ["stanza 2\nb", "stanza\nc"] and sm(r)["hin"] == "11"


def test_resume_attached_session_nothing_acked(r):
    """An attached session (its old handler perhaps on a dead socket) is
    taken over; h equal to acked trims nothing."""
    session(r, id="s1", det=0)
    state(r, hin=0, acked=3, queue=["stanza 1\na", "stanza 2\nb"])
    r("ZADD", gkey("expiry"), NOW + TTL, member("s1"))
    assert resume(r, h=3) == ["resumed", RES, "0", "s1", "stanza 1\na", "stanza 2\nb"]
    assert smq(r) == ["stanza 1\na", "stanza 2\nb"]
    assert sm(r)["acked"] == "3" and sm(r)["owner"] == "s2"
    assert expiry(r) == {member("s2"): NOW + TTL}


def test_resume_all_acked(r):
    session(r, id="s1", pid=0, det=NOW + 10)
    state(r, acked=1, queue=["stanza 1\na", "stanza 2\nb"])
    assert resume(r, h=3) == ["resumed", RES, "0", "s1"]
    assert smq(r) == [] and r("EXISTS", key(A, "smq:" + RES)) == 0


@pytest.mark.parametrize("acked,h,left", [
    (M - 1, 0, ["stanza 2\nb", "stanza 3\nc"]),      # 2^32-1 -> 0 is one
    (M - 1, 1, ["stanza 3\nc"]),
    (M - 2, 1, []),
    (M - 1, M - 1, ["stanza 1\na", "stanza 2\nb", "stanza 3\nc"]),
])
def test_resume_counts_wrap_around_2_32(r, acked, h, left):
    session(r, id="s1", pid=0, det=NOW + 10)
    state(r, hin=M - 1, acked=acked, queue=["stanza 1\na", "stanza 2\nb", "stanza 3\nc"])
    assert resume(r, h=h) == ["resumed", RES, str(M - 1), "s1"] + left
    assert smq(r) == left
    assert sm(r)["acked"] == str(h)


# ---- sm_end ----

def test_end_moves_stanzas_to_the_inbox_front(r):
    """Only inbox envelopes ('stanza <n>...' and offline_move's 'stanza\\n')
    go back, in order, before what the inbox already holds; what the
    handler made itself ('raw') is dropped."""
    state(r, hin=23, queue=["stanza 1\na", "raw\n<presence/>", "stanza 2 echo\nb",
                            "stanza\nc", "raw\n<iq type='result'/>", "stanzas\nnot one"])
    r("HSET", key(A, "smids"), "keep", "tablet")
    r("RPUSH", key(A, "inbox:" + RES), "stanza 3\nd", "stanza 4\ne")
    assert end(r, id="s1") == ["ended", 3]
    assert inbox(r) == ["stanza 1\na", "stanza 2 echo\nb", "stanza\nc",
                        "stanza 3\nd", "stanza 4\ne"]
    assert r("EXISTS", key(A, "sm:" + RES), key(A, "smq:" + RES)) == 0
    assert smids(r) == {"keep": "tablet"}
    assert r("GET", key(A, "smgone:sm1")) == "23"
    assert 0 < r("TTL", key(A, "smgone:sm1")) <= GONE_TTL
    # and a resumption now finds it gone, with its count
    assert resume(r) == ["gone", "23"]


def test_end_whoever_owns_it(r):
    state(r, owner="s9", resume=0, hin=2, queue=["raw\nx"])
    assert end(r, id="") == ["ended", 0]
    assert inbox(r) == [] and r("EXISTS", key(A, "inbox:" + RES)) == 0
    assert r("GET", key(A, "smgone:sm1")) == "2"
    assert r("EXISTS", key(A, "sm:" + RES), key(A, "smq:" + RES)) == 0


def test_end_taken(r):
    state(r, owner="s2", hin=4, queue=["stanza 1\na"])
    r("RPUSH", key(A, "inbox:" + RES), "stanza 2\nb")
    before = snapshot(r)
    assert end(r, id="s1") == ["taken"]
    assert snapshot(r) == before


def test_end_none(r):
    r("RPUSH", key(A, "inbox:" + RES), "stanza 2\nb")
    before = snapshot(r)
    assert end(r, id="s1") == ["none"]
    assert end(r, id="") == ["none"]
    assert snapshot(r) == before


# ---- sm_adopt ----

def test_adopt(r):
    session(r, id="s1", avail=1, pid=42)
    state(r)
    r("ZADD", gkey("expiry"), 0, member("s1"))
    assert adopt(r, deadline=NOW + 300) == ["adopted"]
    assert record(r) == rec(id="s1", avail=1, pid=0, det=NOW + 300)
    assert expiry(r) == {member("s1"): NOW + 300}
    assert sm(r)["owner"] == "s1"          # the state is not touched


def test_adopt_for_the_sessions_own_detach_time(r):
    """A session that detaches for its own time (BOSH: its inactivity) is
    adopted until its last sign of life plus that time, if still ahead."""
    session(r, id="s1", avail=1, pid=42)
    state(r)
    r("HSET", key(A, "sm:" + RES), "dsecs", "60")
    r("ZADD", gkey("expiry"), 0, member("s1"))
    before = snapshot(r)
    assert adopt(r, deadline=NOW + 300, seen=NOW - 60) == ["no"]     # over already
    assert snapshot(r) == before
    assert adopt(r, deadline=NOW + 300, seen=NOW - 10) == ["adopted"]
    assert record(r) == rec(id="s1", avail=1, pid=0, det=NOW + 50)


def test_adopt_no_when_the_deadline_passed(r):
    session(r, id="s1", avail=1, pid=42)
    state(r)
    assert adopt(r, deadline=NOW) == ["no"]


def test_enable_keeps_a_detach_time_of_its_own(r):
    session(r)
    assert enable(r, dsecs="60") == ["enabled"]
    assert r("HGET", key(A, "sm:" + RES), "dsecs") == "60"
    assert enable(r, res=RES) == ["enabled"]
    assert r("HGET", key(A, "sm:" + RES), "dsecs") is None


@pytest.mark.parametrize("case", ["no-record", "record-not-ours", "already-detached",
                                  "no-state", "owner-differs", "not-resumable"])
def test_adopt_no(r, case):
    if case != "no-record":
        session(r, id="s-new" if case == "record-not-ours" else "s1",
                pid=0 if case == "already-detached" else 42,
                det=NOW + 5 if case == "already-detached" else 0)
    if case != "no-state":
        state(r, owner="s2" if case == "owner-differs" else "s1",
              resume=0 if case == "not-resumable" else 1)
    r("ZADD", gkey("expiry"), 0, member("s1"))
    before = snapshot(r)
    assert adopt(r, id="s1") == ["no"]
    assert snapshot(r) == before


# ---- route_stanza: detached and resumable sessions ----

def route(r, res="", kind="message", mtype="chat", xml=MSG, bare=A):
    return r.eval("route_stanza",
                  [key(bare, "account"), key(bare, "sessions"), key(bare, "offline"),
                   gkey("expiry")],
                  [key(bare), res, kind, mtype, "stanza 5\n" + xml, "", NOW, TTL, 10, bare,
                   key(bare, "inbox:"), ""])


def account(r, bare=A):
    r("HSET", key(bare, "account"), "scram-sha-256", "x")


def no_message(r, sub, channel):
    """Nothing was published to sub: the next message is our marker."""
    r("SPUBLISH", channel, "marker")
    assert sub.message() == [channel, "marker"]


@pytest.mark.parametrize("res", [RES, ""])
def test_route_detached_session_keeps_it_in_its_inbox(r, subscribe, res):
    """By full or bare JID, a detached session counts as a receiver: the
    stanza waits in its inbox, no wake-up is published, its expiry stays."""
    account(r)
    session(r, id="s1", avail=1, pid=0, seen=NOW - 1000, det=NOW + 1)
    r("ZADD", gkey("expiry"), NOW + 1, member("s1"))
    chan = key(A) + "/" + RES
    sub = subscribe(chan)
    assert route(r, res=res) == ["delivered", 1, 0]
    assert inbox(r) == ["stanza 5\n" + MSG]
    assert r("LRANGE", key(A, "offline"), 0, -1) == []
    assert expiry(r) == {member("s1"): NOW + 1}
    no_message(r, sub, chan)


def test_route_detached_session_past_its_deadline(r):
    """At its deadline a detached session is not live: a chat message
    goes offline, an IQ bounces, and nothing waits in its inbox."""
    account(r)
    session(r, id="s1", avail=1, pid=0, seen=NOW, det=NOW)
    assert route(r, res=RES) == ["offline", 0]
    assert route(r, res=RES, kind="iq", mtype="get") == ["unavailable", 0]
    assert route(r) == ["offline", 0]
    assert inbox(r) == []
    assert r("LRANGE", key(A, "offline"), 0, -1) == [MSG, MSG]
    assert r("EXISTS", gkey("expiry")) == 0


def test_route_bare_jid_detached_and_attached(r, subscribe):
    account(r)
    session(r, res="det", id="sd", avail=1, pid=0, det=NOW + 60)
    session(r, res="live", id="sl", avail=1)
    sub = subscribe(key(A) + "/live")
    assert route(r) == ["delivered", 2, 1]
    assert inbox(r, "det") == inbox(r, "live") == ["stanza 5\n" + MSG]
    assert sub.message() == [key(A) + "/live", "inbox\n"]


@pytest.mark.parametrize("res", [RES, ""])
def test_route_dead_handler_resumable_keeps_it(r, res):
    """Nobody listens, but the session has resumable state owned by its
    stream: the inbox keeps the stanza, it counts as delivered, and the
    session is expired now (score 0) so the reaper adopts it."""
    account(r)
    session(r, id="s1", avail=1)
    r("ZADD", gkey("expiry"), NOW + TTL, member("s1"))
    state(r, owner="s1", resume=1)
    assert route(r, res=res) == ["delivered", 1, 0]
    assert inbox(r) == ["stanza 5\n" + MSG]
    assert expiry(r) == {member("s1"): 0}
    assert r("LRANGE", key(A, "offline"), 0, -1) == []


@pytest.mark.parametrize("owner,resume_", [("s-old", 1), ("s1", 0), (None, None)])
def test_route_dead_handler_not_resumable_takes_it_back(r, owner, resume_):
    """Without resumable state of its own stream, a dead session is no
    receiver: the stanza is taken back (here: offline), expiry score 0."""
    account(r)
    session(r, id="s1", avail=1)
    if owner:
        state(r, owner=owner, resume=resume_)
    assert route(r, res=RES) == ["offline", 0]
    assert inbox(r) == [] and r("EXISTS", key(A, "inbox:" + RES)) == 0
    assert expiry(r) == {member("s1"): 0}
    assert r("LRANGE", key(A, "offline"), 0, -1) == [MSG]
    assert route(r, res=RES, kind="iq", mtype="get") == ["unavailable", 0]
    assert inbox(r) == []


def test_route_live_handler_with_sm_publishes(r, subscribe):
    account(r)
    session(r, id="s1", avail=1)
    state(r, owner="s1")
    r("ZADD", gkey("expiry"), NOW + TTL, member("s1"))
    sub = subscribe(key(A) + "/" + RES)
    assert route(r, res=RES) == ["delivered", 1, 1]
    assert sub.message() == [key(A) + "/" + RES, "inbox\n"]
    assert expiry(r) == {member("s1"): NOW + TTL}
