"""session_register, session_unregister, session_update, session_reap:
their documented answers and their effects on the keys (session.h)."""
from lua_harness import NOW, TTL, gkey, key, rec

A = "alice@x"


def register(r, res="r1", id="s1", exp=NOW + TTL, bare=A, record=None):
    return r.eval("session_register",
                  [key(bare, "sessions"), gkey("online"), gkey("expiry")],
                  [bare, res, record or rec(id=id), id, exp])


def unregister(r, res="r1", id="s1", bare=A):
    return r.eval("session_unregister",
                  [key(bare, "sessions"), gkey("online"), key(bare, "presence"), gkey("expiry")],
                  [bare, res, id])


def update(r, res="r1", id="s1", now=NOW, prio=0, avail=-1, exp=NOW + TTL, pres="", bare=A):
    return r.eval("session_update",
                  [key(bare, "sessions"), key(bare, "presence"), gkey("expiry")],
                  [res, id, now, prio, avail, exp, bare, pres])


def reap(r, now=NOW, n=16):
    return r.eval("session_reap", [gkey("expiry")], [now, n])


def expiry(r):
    """The expiry index as {member: score}."""
    z = r("ZRANGE", gkey("expiry"), 0, -1, "WITHSCORES")
    return {z[i]: int(z[i + 1]) for i in range(0, len(z), 2)}


# ---- session_register ----

def test_register_free_resource(r):
    assert register(r) == ["bound"]
    assert r("HGETALL", key(A, "sessions")) == ["r1", rec(id="s1")]
    assert r("SMEMBERS", gkey("online")) == [A]
    assert expiry(r) == {"s1 %s/r1" % A: NOW + TTL}


def test_register_replaces_and_names_the_old_session(r):
    register(r, id="old")
    assert register(r, id="new", exp=NOW + 100) == ["replaced", "old"]
    assert r("HGET", key(A, "sessions"), "r1") == rec(id="new")
    # The old member stays until its handler unregisters (it is kicked)
    # or the reaper claims it; unregister then finds the resource taken.
    assert expiry(r) == {"old %s/r1" % A: NOW + TTL, "new %s/r1" % A: NOW + 100}


def test_register_over_a_record_without_id(r):
    r("HSET", key(A, "sessions"), "r1", "prio=0 avail=0")
    assert register(r) == ["replaced", ""]


def test_register_other_resource_is_bound(r):
    register(r, res="r1", id="s1")
    assert register(r, res="r2", id="s2") == ["bound"]
    assert sorted(r("HKEYS", key(A, "sessions"))) == ["r1", "r2"]


# ---- session_unregister ----

def test_unregister_ours_with_presence(r):
    register(r)
    r("HSET", key(A, "presence"), "r1", "<presence/>")
    assert unregister(r) == ["ours", "<presence/>"]
    assert r("EXISTS", key(A, "sessions"), key(A, "presence")) == 0
    assert r("SMEMBERS", gkey("online")) == []
    assert expiry(r) == {}


def test_unregister_ours_unavailable(r):
    register(r)
    assert unregister(r) == ["ours", ""]


def test_unregister_keeps_user_online_with_another_session(r):
    register(r, res="r1", id="s1")
    register(r, res="r2", id="s2")
    r("HSET", key(A, "presence"), "r2", "<presence from='r2'/>")
    assert unregister(r, res="r1", id="s1") == ["ours", ""]
    assert r("HKEYS", key(A, "sessions")) == ["r2"]
    assert r("HKEYS", key(A, "presence")) == ["r2"]
    assert r("SMEMBERS", gkey("online")) == [A]
    assert expiry(r) == {"s2 %s/r2" % A: NOW + TTL}


def test_unregister_record_of_another_stream(r):
    """A replaced session must not remove its successor: only its own
    expiry member goes."""
    register(r, id="old")
    register(r, id="new")
    r("HSET", key(A, "presence"), "r1", "<presence/>")
    assert unregister(r, id="old") == ["taken"]
    assert r("HGET", key(A, "sessions"), "r1") == rec(id="new")
    assert r("HGET", key(A, "presence"), "r1") == "<presence/>"
    assert r("SMEMBERS", gkey("online")) == [A]
    assert expiry(r) == {"new %s/r1" % A: NOW + TTL}


def test_unregister_no_record(r):
    r("ZADD", gkey("expiry"), NOW, "s1 %s/r1" % A)
    assert unregister(r) == ["norecord"]
    assert expiry(r) == {}


# ---- session_update ----

def test_update_heartbeat(r):
    register(r, record=rec(id="s1", prio=3, avail=1, seen=NOW - 60))
    r("HSET", key(A, "presence"), "r1", "<presence/>")
    assert update(r, now=NOW, prio=9, avail=-1, exp=NOW + 90, pres="ignored") == ["ours"]
    assert r("HGET", key(A, "sessions"), "r1") == rec(id="s1", prio=3, avail=1, seen=NOW)
    assert r("HGET", key(A, "presence"), "r1") == "<presence/>"
    assert expiry(r) == {"s1 %s/r1" % A: NOW + 90}


def test_update_available(r):
    register(r)
    assert update(r, prio=-2, avail=1, pres="<presence><priority>-2</priority></presence>") == \
        ["ours"]
    assert r("HGET", key(A, "sessions"), "r1") == rec(id="s1", prio=-2, avail=1, seen=NOW)
    assert r("HGET", key(A, "presence"), "r1") == "<presence><priority>-2</priority></presence>"


def test_update_unavailable(r):
    register(r, record=rec(id="s1", prio=5, avail=1))
    r("HSET", key(A, "presence"), "r1", "<presence/>")
    assert update(r, prio=0, avail=0) == ["ours"]
    assert r("HGET", key(A, "sessions"), "r1") == rec(id="s1", prio=0, avail=0, seen=NOW)
    assert r("HEXISTS", key(A, "presence"), "r1") == 0


def test_update_record_of_another_stream(r):
    register(r, id="new", record=rec(id="new", seen=NOW - 50))
    assert update(r, id="old", avail=1, prio=1, pres="<presence/>", exp=NOW + 999) == ["taken"]
    assert r("HGET", key(A, "sessions"), "r1") == rec(id="new", seen=NOW - 50)
    assert r("EXISTS", key(A, "presence")) == 0
    assert expiry(r) == {"new %s/r1" % A: NOW + TTL}


def test_update_no_record(r):
    """Reaped while the handler stalled: nothing is made up (the handler
    registers again)."""
    assert update(r, avail=1, pres="<presence/>") == ["norecord"]
    assert r("EXISTS", key(A, "sessions"), key(A, "presence"), gkey("expiry")) == 0


# ---- session_reap ----

def test_reap_claims_expired_only(r):
    r("ZADD", gkey("expiry"), NOW - 5, "a a@x/1", NOW, "b b@x/1", NOW + 1, "c c@x/1",
      0, "d d@x/1")
    assert reap(r) == ["claimed", "d d@x/1", "a a@x/1", "b b@x/1"]
    assert expiry(r) == {"c c@x/1": NOW + 1}
    # the index is all it touches (session.c marks the host alive)
    assert r("KEYS", "*") == [gkey("expiry")]
    # claimed once: another reaper finds nothing
    assert reap(r) == ["claimed"]


def test_reap_batch(r):
    for i in range(5):
        r("ZADD", gkey("expiry"), NOW - 10 + i, "s%d b/%d" % (i, i))
    assert reap(r, n=2) == ["claimed", "s0 b/0", "s1 b/1"]
    assert reap(r, n=2) == ["claimed", "s2 b/2", "s3 b/3"]
    assert reap(r, n=2) == ["claimed", "s4 b/4"]
    assert reap(r, n=2) == ["claimed"]


def test_reap_then_unregister(r):
    """What the reaper claimed, session_unregister ends (session.c)."""
    register(r, id="s1", exp=NOW - 1)
    r("HSET", key(A, "presence"), "r1", "<presence/>")
    claimed = reap(r)
    assert claimed == ["claimed", "s1 %s/r1" % A]
    assert unregister(r, id="s1") == ["ours", "<presence/>"]
    assert r("SMEMBERS", gkey("online")) == []
