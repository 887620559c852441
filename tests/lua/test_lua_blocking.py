"""blocking_set (XEP-0191): the blocklist set, what changed, the cap and
the push published on the user's bare channel; and route_stanza's
blocklist check (the sender's full JID, bare JID or domain)."""
from lua_harness import NOW, TTL, gkey, key, rec

A = "alice@x"
CAP = 3


def blocking(r, op, *jids, push="<block/>", cap=CAP, bare=A):
    return r.eval("blocking_set",
                  [key(bare, "blocklist"), key(bare, "bcastfor"), key(bare, "bcast")],
                  [op, key(bare), push, cap, NOW, 1000] + list(jids))


def members(r, bare=A):
    return sorted(r("SMEMBERS", key(bare, "blocklist")))


def test_block_reports_only_new_and_pushes(r, subscribe):
    sub = subscribe(key(A))
    assert blocking(r, "block", "b@x", "y") == ["done", "b@x", "y"]
    assert sub.message() == [key(A), "blocking\n<block/>"]
    assert blocking(r, "block", "b@x", "c@x/r") == ["done", "c@x/r"]
    assert members(r) == ["b@x", "c@x/r", "y"]
    # every request is pushed, even one that changes nothing
    assert blocking(r, "block", "y") == ["done"]


def test_block_past_the_cap_changes_nothing(r, subscribe):
    blocking(r, "block", "a@x", "b@x")
    sub = subscribe(key(A))
    assert blocking(r, "block", "c@x", "d@x") == ["full"]
    assert members(r) == ["a@x", "b@x"]
    r("SPUBLISH", key(A), "marker")       # nothing was published before it
    assert sub.message() == [key(A), "marker"]
    # what is listed already does not count against the cap
    assert blocking(r, "block", "a@x", "c@x") == ["done", "c@x"]


def test_unblock_some_and_all(r):
    blocking(r, "block", "a@x", "b@x", "c@x")
    assert blocking(r, "unblock", "b@x", "nobody@x", push="<unblock/>") == ["done", "b@x"]
    assert sorted(blocking(r, "unblock", push="<unblock/>")[1:]) == ["a@x", "c@x"]
    assert r("EXISTS", key(A, "blocklist")) == 0
    assert blocking(r, "unblock", push="<unblock/>") == ["done"]


# ---- route_stanza's check ----

MSG = "<message to='alice@x' type='chat'><body>hi</body></message>"


def route(r, sender, kind="message", mtype="chat", res="r1"):
    return r.eval("route_stanza",
                  [key(A, "account"), key(A, "sessions"), key(A, "offline"), gkey("expiry"),
                   key(A, "carbons"), key(A, "blocklist")],
                  [key(A), res, kind, mtype, "stanza 5\n" + MSG, "", NOW, TTL, 10, A,
                   key(A, "inbox:"), "", "", sender])


def given(r, *blocked):
    r("HSET", key(A, "account"), "scram-sha-256", "x")
    r("HSET", key(A, "sessions"), "r1", rec(id="id-r1", avail=1))
    if blocked:
        r("SADD", key(A, "blocklist"), *blocked)


def test_blocked_sender_never_reaches_the_inbox(r, subscribe):
    given(r, "b@x", "evil.example", "c@x/phone")
    subscribe(key(A) + "/r1")
    for sender in ("b@x/any", "b@x", "m@evil.example/r", "evil.example", "c@x/phone"):
        assert route(r, sender) == ["blocked", 0], sender
        assert route(r, sender, kind="iq", mtype="get") == ["blocked", 0], sender
        assert route(r, sender, kind="iq", mtype="result") == ["dropped", 0], sender
        assert route(r, sender, mtype="error") == ["dropped", 0], sender
    assert r("LRANGE", key(A, "inbox:r1"), 0, -1) == []
    assert r("LRANGE", key(A, "offline"), 0, -1) == []
    # another resource of a full-JID item, another domain: delivered
    assert route(r, "c@x/desk") == ["delivered", 1, 1]
    assert route(r, "m@good.example/r") == ["delivered", 1, 1]


def test_own_jid_and_no_sender_are_never_blocked(r, subscribe):
    given(r, "x", "alice@x")
    subscribe(key(A) + "/r1")
    assert route(r, "alice@x/phone") == ["delivered", 1, 1]
    assert route(r, "") == ["delivered", 1, 1]
    assert route(r, "b@x/r") == ["blocked", 0]


def test_blocked_before_offline(r):
    given(r, "b@x")
    r("DEL", key(A, "sessions"))
    assert route(r, "b@x/r", res="") == ["blocked", 0]
    assert r("LRANGE", key(A, "offline"), 0, -1) == []
    assert route(r, "c@x/r", res="") == ["offline", 0]


def test_nouser_first(r):
    assert route(r, "b@x/r") == ["nouser", 0]
