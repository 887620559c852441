"""s2s_queue, s2s_verify_ask, s2s_lease and s2s_idle (router/s2s.h):
queues per remote domain with their cap and wake-up, verifications, the
one outbound connection's lease, and a domain with no work unmarked;
muc_remote_add and muc_remote_sync (router/mucremote.h): the rooms with
occupants on other domains."""
from lua_harness import gkey

D = "remote.example"


def queue(r, env, max=3, domain=D):
    return r.eval("s2s_queue", [gkey("s2s:out:{%s}" % domain), gkey("s2s:domains")],
                  [env, max, domain, gkey("s2s:wake")])


def ask(r, entry, id="q1", domain=D):
    return r.eval("s2s_verify_ask", [gkey("s2s:verify:{%s}" % domain), gkey("s2s:domains")],
                  [entry, domain, gkey("s2s:wake")])


def lease(r, me, ttl=30, domain=D):
    return r.eval("s2s_lease", [gkey("s2s:lease:{%s}" % domain)], [me, ttl, "-"])


def idle(r, domain=D):
    return r.eval("s2s_idle", [gkey("s2s:out:{%s}" % domain),
                               gkey("s2s:verify:{%s}" % domain), gkey("s2s:domains")],
                  [domain])


def test_queue_wakes_and_caps(r, subscribe):
    sub = subscribe(gkey("s2s:wake"))
    assert queue(r, "stanza 1\n<message/>") == ["queued"]
    assert sub.message() == [gkey("s2s:wake"), D]
    assert r("SMEMBERS", gkey("s2s:domains")) == [D]
    queue(r, "stanza 2\n<iq/>")
    queue(r, "stanza 3\n<presence/>")
    assert queue(r, "stanza 4\n<message/>") == ["full"]
    assert r("LRANGE", gkey("s2s:out:{%s}" % D), 0, -1) == [
        "stanza 1\n<message/>", "stanza 2\n<iq/>", "stanza 3\n<presence/>"]


C = "irc.example/component"


def test_component_queue_needs_its_lease(r):
    """A component's route (KEYS[3], its lease) takes stanzas only while
    a component holds the lease or it is vacant after one left."""
    keys = [gkey("s2s:out:{%s}" % C), gkey("s2s:domains"), gkey("s2s:lease:{%s}" % C)]
    args = ["stanza 1\n<message/>", 3, C, gkey("s2s:wake")]
    assert r.eval("s2s_queue", keys, args) == ["absent"]
    assert not r("EXISTS", keys[0]) and r("SMEMBERS", keys[1]) == []
    assert lease(r, "h1 10", domain=C) == ["ours"]
    assert r.eval("s2s_queue", keys, args) == ["queued"]
    r("SET", keys[2], "-", "EX", 30)
    assert r.eval("s2s_queue", keys, args) == ["queued"]
    assert r("LLEN", keys[0]) == 2


def test_vacant_lease_is_free(r):
    r("SET", gkey("s2s:lease:{%s}" % C), "-", "EX", 30)
    assert lease(r, "h2 20", domain=C) == ["ours"]
    assert lease(r, "h1 10", domain=C) == ["other", "h2 20"]


def test_verify_ask_queues_and_wakes(r, subscribe):
    """The answer list of the id is in another slot: router/s2s.c drops
    an earlier answer itself, the script does not touch it."""
    r("RPUSH", gkey("s2s:verified:q1"), "valid")
    sub = subscribe(gkey("s2s:wake"))
    assert ask(r, "q1 a.example remote.example sid key") == ["asked"]
    assert sub.message() == [gkey("s2s:wake"), D]
    assert r("SMEMBERS", gkey("s2s:domains")) == [D]
    assert r("LRANGE", gkey("s2s:verified:q1"), 0, -1) == ["valid"]
    assert r("LRANGE", gkey("s2s:verify:{%s}" % D), 0, -1) == [
        "q1 a.example remote.example sid key"]


def test_lease_one_holder_renewed(r):
    assert lease(r, "h1 10") == ["ours"]
    assert lease(r, "h2 20") == ["other", "h1 10"]
    assert lease(r, "h1 10", ttl=100) == ["ours"]
    assert 30 < r("TTL", gkey("s2s:lease:{%s}" % D)) <= 100


def test_idle_only_without_work(r):
    queue(r, "stanza 1\n<message/>")
    ask(r, "q1 a b c d")
    assert idle(r) == ["busy"]
    r("DEL", gkey("s2s:out:{%s}" % D))
    assert idle(r) == ["busy"]
    r("DEL", gkey("s2s:verify:{%s}" % D))
    assert idle(r) == ["idle"]
    assert r("SMEMBERS", gkey("s2s:domains")) == []


ROOM = "lounge@rooms.a.test"


def remote_add(r, full, value):
    return r.eval("muc_remote_add", [gkey("{%s}:remote" % ROOM), gkey("s2s:rooms")],
                  [ROOM, full, value, gkey("s2s:wake"), "room " + ROOM])


def test_remote_occupant_added_marks_and_wakes(r, subscribe):
    """muc_remote_add: the entry, the mark and the wake-up in one step."""
    sub = subscribe(gkey("s2s:wake"))
    assert remote_add(r, "bob@b.test/b", "1-0 participant 0 bob") == ["added"]
    assert sub.message() == [gkey("s2s:wake"), "room " + ROOM]
    assert r("HGETALL", gkey("{%s}:remote" % ROOM)) == ["bob@b.test/b",
                                                        "1-0 participant 0 bob"]
    assert r("SMEMBERS", gkey("s2s:rooms")) == [ROOM]
    assert remote_add(r, "bob@b.test/b", "2-0 participant 0 bob") == ["added"]
    assert r("HGET", gkey("{%s}:remote" % ROOM), "bob@b.test/b") == "2-0 participant 0 bob"


def remote_sync(r, full, old, new):
    return r.eval("muc_remote_sync", [gkey("{%s}:remote" % ROOM), gkey("s2s:rooms")],
                  [ROOM, full, old, new])


def test_remote_occupant_written_only_as_read(r):
    """muc_remote_sync (router/mucremote.h): the relay's write lands only
    on the entry it read, so a join meanwhile is never undone; a room
    left without occupants of other domains is unmarked, not before."""
    h = gkey("{%s}:remote" % ROOM)
    r("HSET", h, "bob@b.test/b", "1-0 participant 0 bob")
    r("SADD", gkey("s2s:rooms"), ROOM)
    assert remote_sync(r, "bob@b.test/b", "1-0 participant 0 bob",
                       "2-0 participant 0 bob") == ["busy"]
    assert r("HGET", h, "bob@b.test/b") == "2-0 participant 0 bob"
    # A join rewrote the entry after the relay read it: the stale write
    # and the stale removal both leave it.
    r("HSET", h, "bob@b.test/b", "9-0 participant 0 bob")
    assert remote_sync(r, "bob@b.test/b", "2-0 participant 0 bob",
                       "3-0 participant 0 bob") == ["busy"]
    assert remote_sync(r, "bob@b.test/b", "2-0 participant 0 bob", "") == ["busy"]
    assert r("HGET", h, "bob@b.test/b") == "9-0 participant 0 bob"
    assert r("SMEMBERS", gkey("s2s:rooms")) == [ROOM]
    # The last one out: removed, and the room unmarked.
    assert remote_sync(r, "bob@b.test/b", "9-0 participant 0 bob", "") == ["idle"]
    assert not r("EXISTS", h)
    assert r("SMEMBERS", gkey("s2s:rooms")) == []
