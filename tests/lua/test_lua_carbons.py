"""XEP-0280 message carbons inside Redis: route_stanza.lua's copies
(lib/carbons.lua) and carbons_set.lua, the per-session flag."""
from lua_harness import NOW, TTL, gkey, key, rec

B = "bob@x"
MSG = "<message to='bob@x/a' type='chat'><body>hi</body></message>"
ENV = "stanza 5\n" + MSG
HEAD = "stanza 5 echo\n<message from='bob@x' type='chat' to='"


def tail(dir="received"):
    """The rest of a copy: the message forwarded, saying its namespace."""
    return ("'><%s xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
            "<message xmlns='jabber:client' to='bob@x/a' type='chat'><body>hi</body></message>"
            "</forwarded></%s></message>" % (dir, dir))


TAIL = tail()


def route(r, res="", kind="message", eligible="1", echo_of="", env=ENV):
    return r.eval("route_stanza",
                  [key(B, "account"), key(B, "sessions"), key(B, "offline"),
                   gkey("expiry"), key(B, "carbons")],
                  [key(B), res, kind, "chat", env, "", NOW, TTL, 10, B,
                   key(B, "inbox:"), echo_of, eligible])


def given(r, subscribe, sessions, carbons):
    """sessions: {resource: record kwargs}; carbons: {resource: id}. Each
    session's channel gets a subscriber (a live handler)."""
    r("HSET", key(B, "account"), "scram-sha-256", "x")
    subs = []
    for res, kw in sessions.items():
        kw.setdefault("id", "id-" + res)
        r("HSET", key(B, "sessions"), res, rec(**kw))
        subs.append(subscribe(key(B) + "/" + res))
    for res, id in carbons.items():
        r("HSET", key(B, "carbons"), res, id)
    return subs


def inbox(r, res):
    return r("LRANGE", key(B, "inbox:" + res), 0, -1)


def copy(res):
    return HEAD + B + "/" + res + TAIL


def test_received_copy_to_other_enabled_sessions(r, subscribe):
    """To the full JID b/a: a gets the message; c (enabled, available) a
    copy; d (enabled, not available), e (not enabled), f (a leftover
    field: another id) and g (enabled, stale) get nothing."""
    given(r, subscribe, {"a": dict(avail=1), "c": dict(avail=1, prio=-1), "d": dict(avail=0),
                         "e": dict(avail=1), "f": dict(avail=1),
                         "g": dict(avail=1, seen=NOW - TTL - 1)},
          {"a": "id-a", "c": "id-c", "d": "id-d", "f": "old", "g": "id-g"})
    assert route(r, res="a") == ["delivered", 1, 1]
    assert inbox(r, "a") == [ENV]
    assert inbox(r, "c") == [copy("c")]
    for res in "defg":
        assert inbox(r, res) == [], res


def test_bare_jid_copies_only_to_whom_it_missed(r, subscribe):
    """To the bare JID: a and b (priority >= 0) get the message itself and
    no copy; neg (priority < 0, enabled) gets a copy."""
    given(r, subscribe, {"a": dict(avail=1), "b": dict(avail=1, prio=3),
                         "neg": dict(avail=1, prio=-1)},
          {"a": "id-a", "b": "id-b", "neg": "id-neg"})
    assert route(r) == ["delivered", 2, 2]
    assert inbox(r, "a") == [ENV] and inbox(r, "b") == [ENV]
    assert inbox(r, "neg") == [copy("neg")]


def test_no_copies_when_not_eligible_or_not_delivered(r, subscribe):
    """Not eligible: no copies. Nothing delivered (stored offline): none."""
    given(r, subscribe, {"a": dict(avail=1), "c": dict(avail=1)}, {"c": "id-c"})
    assert route(r, res="a", eligible="") == ["delivered", 1, 1]
    assert inbox(r, "c") == []
    r("HSET", key(B, "sessions"), "a", rec(id="id-a", avail=1, prio=-1))
    r("HSET", key(B, "sessions"), "c", rec(id="id-c", avail=1, prio=-1))
    assert route(r) == ["offline", 0]
    assert inbox(r, "c") == []


def test_sent_copies_only(r, subscribe):
    """Kind 'sent': only copies, to every enabled available session but
    the sender's, with how many others have carbons on (unavailable ones
    too); the resource is escaped for the attribute."""
    weird = "x'&<y"
    given(r, subscribe, {"a": dict(avail=1), "c": dict(avail=1), weird: dict(avail=1),
                         "e": dict(avail=1), "off": dict(avail=0)},
          {"a": "id-a", "c": "id-c", weird: "id-" + weird, "off": "id-off"})
    assert route(r, kind="sent", echo_of="a") == ["delivered", 2, 3]
    assert inbox(r, "a") == [] and inbox(r, "e") == [] and inbox(r, "off") == []
    assert inbox(r, "c") == [HEAD + B + "/c" + tail("sent")]
    assert inbox(r, weird) == [HEAD + B + "/x&apos;&amp;&lt;y" + tail("sent")]
    assert r("LLEN", key(B, "offline")) == 0


def test_copy_to_dead_handler_is_taken_back(r):
    """A carbons-enabled session nobody listens for: the copy is taken
    back and the session marked expired, as for any stanza."""
    r("HSET", key(B, "account"), "scram-sha-256", "x")
    r("HSET", key(B, "sessions"), "c", rec(id="dead", avail=1))
    r("HSET", key(B, "carbons"), "c", "dead")
    assert route(r, kind="sent", echo_of="a") == ["delivered", 0, 1]
    assert inbox(r, "c") == []
    assert r("ZSCORE", gkey("expiry"), "dead %s/c" % B) == "0"


def carbons_set(r, res, op, id):
    return r.eval("carbons_set", [key(B, "carbons"), key(B, "sessions")], [res, op, id])


def test_carbons_set(r):
    """on sets resource -> id; off removes only the caller's own field;
    off with id '' (reaped) removes it unless the current record has it."""
    assert carbons_set(r, "a", "on", "s1") == ["done"]
    assert r("HGET", key(B, "carbons"), "a") == "s1"
    assert carbons_set(r, "a", "off", "s0") == ["done"]        # a replaced session
    assert r("HGET", key(B, "carbons"), "a") == "s1"
    assert carbons_set(r, "a", "off", "s1") == ["done"]
    assert r("HGET", key(B, "carbons"), "a") is None
    assert carbons_set(r, "a", "off", "s1") == ["done"]        # already off
    carbons_set(r, "a", "on", "s2")
    r("HSET", key(B, "sessions"), "a", rec(id="s2"))
    assert carbons_set(r, "a", "off", "") == ["done"]          # the live session's
    assert r("HGET", key(B, "carbons"), "a") == "s2"
    r("HSET", key(B, "sessions"), "a", rec(id="s3"))
    assert carbons_set(r, "a", "off", "") == ["done"]          # a leftover
    assert r("HGET", key(B, "carbons"), "a") is None
    carbons_set(r, "b", "on", "s4")
    assert carbons_set(r, "b", "off", "") == ["done"]          # no record at all
    assert r("HGET", key(B, "carbons"), "b") is None
