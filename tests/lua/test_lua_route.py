"""route_stanza, offline_move, presence_get: routing decisions and what
they leave in the inboxes, the offline list and the expiry index."""
import pytest

from lua_harness import NOW, TTL, gkey, key, rec

B = "bob@x"
DELAY = "<delay xmlns='urn:xmpp:delay' stamp='s'/>"
MSG = "<message to='bob@x' type='chat'><body>hi</body></message>"


def env(xml=MSG, accepted=5):
    return "stanza %d\n%s" % (accepted, xml)


def route(r, res="", kind="message", mtype="chat", xml=MSG, delay="", cap=10, bare=B,
          echo_of=""):
    return r.eval("route_stanza",
                  [key(bare, "account"), key(bare, "sessions"), key(bare, "offline"),
                   gkey("expiry")],
                  [key(bare), res, kind, mtype, env(xml), delay, NOW, TTL, cap, bare,
                   key(bare, "inbox:"), echo_of])


def account(r, bare=B):
    r("HSET", key(bare, "account"), "scram-sha-256", "x")


def session(r, res, id=None, bare=B, **kw):
    r("HSET", key(bare, "sessions"), res, rec(id=id or "id-" + res, **kw))


def inbox(r, res, bare=B):
    return r("LRANGE", key(bare, "inbox:" + res), 0, -1)


def offline(r, bare=B):
    return r("LRANGE", key(bare, "offline"), 0, -1)


# ---- route_stanza ----

def test_no_account(r):
    session(r, "r1", avail=1)
    assert route(r, res="r1") == ["nouser", 0]
    assert inbox(r, "r1") == [] and offline(r) == []


def test_full_jid_live_session(r, subscribe):
    account(r)
    session(r, "r1")             # not available: addressed by full JID all the same
    sub = subscribe(key(B) + "/r1")
    # receivers, and how many have a handler listening (push.h)
    assert route(r, res="r1", kind="iq", mtype="get") == ["delivered", 1, 1]
    assert inbox(r, "r1") == [env()]
    assert sub.message() == [key(B) + "/r1", "inbox\n"]


def test_detached_session_keeps_it_asleep(r, subscribe):
    """A detached session (XEP-0198) takes it into its inbox, but no
    handler listens: 'delivered' with nobody awake, what calls for a
    push notification; one live session beside it is awake."""
    account(r)
    session(r, "phone", avail=1, det=NOW + 60)
    assert route(r) == ["delivered", 1, 0]
    assert inbox(r, "phone") == [env()]
    session(r, "desk", avail=1)
    subscribe(key(B) + "/desk")
    assert route(r) == ["delivered", 2, 1]


def test_full_jid_dead_handler(r):
    """A record nobody listens for: the stanza is taken back, the session
    marked expired (score 0) for the reaper, and a chat message falls back
    to the bare JID: here, offline."""
    account(r)
    session(r, "r1", id="dead", avail=1)
    assert route(r, res="r1") == ["offline", 0]
    assert inbox(r, "r1") == []
    assert r("ZSCORE", gkey("expiry"), "dead %s/r1" % B) == "0"
    assert offline(r) == [MSG]


@pytest.mark.parametrize("kind,mtype,want", [
    ("message", "chat", ["offline", 0]),       # falls back to the bare JID
    ("message", "normal", ["unavailable", 0]),
    ("message", "groupchat", ["unavailable", 0]),
    ("message", "headline", ["dropped", 0]),
    ("message", "error", ["dropped", 0]),
    ("iq", "get", ["unavailable", 0]),
])
def test_full_jid_no_such_resource(r, kind, mtype, want):
    """RFC 6121 8.5.3.2.1; a stale record (seen too long ago) counts as
    none and is not published to."""
    account(r)
    session(r, "r1", avail=1, seen=NOW - TTL - 1)
    assert route(r, res="r1", kind=kind, mtype=mtype) == want
    assert inbox(r, "r1") == []
    assert offline(r) == ([MSG] if want[0] == "offline" else [])
    assert r("EXISTS", gkey("expiry")) == 0


def test_bare_jid_available_sessions(r, subscribe):
    """Every available, live resource with a priority >= 0 gets it."""
    account(r)
    session(r, "a", avail=1, prio=0)
    session(r, "b", avail=1, prio=5)
    session(r, "neg", avail=1, prio=-1)
    session(r, "away", avail=0, prio=9)
    session(r, "stale", avail=1, prio=9, seen=NOW - TTL - 1)
    subs = [subscribe(key(B) + "/" + res) for res in ("a", "b", "neg", "away", "stale")]
    assert route(r) == ["delivered", 2, 2]
    for res in ("a", "b"):
        assert inbox(r, res) == [env()]
    for res in ("neg", "away", "stale"):
        assert inbox(r, res) == []
    assert subs[0].message()[1] == "inbox\n" and subs[1].message()[1] == "inbox\n"
    assert offline(r) == []


def test_own_bare_jid_echo(r, subscribe):
    """A user writes to its own bare JID from resource a: b gets the
    message, a its echo, marked so ('stanza <accepted> echo') because b
    got it too; with a alone, a's copy is the only one and unmarked."""
    account(r)
    session(r, "a", avail=1, prio=0)
    session(r, "b", avail=1, prio=0)
    subs = [subscribe(key(B) + "/" + res) for res in ("a", "b")]
    assert route(r, echo_of="a") == ["delivered", 2, 2]
    assert inbox(r, "b") == [env()]
    assert inbox(r, "a") == [env().replace("\n", " echo\n", 1)]
    r("DEL", key(B, "inbox:a"), key(B, "inbox:b"), key(B, "sessions"))
    session(r, "a", avail=1, prio=0)
    assert route(r, echo_of="a") == ["delivered", 1, 1]
    assert inbox(r, "a") == [env()]
    # another user's message is never an echo
    session(r, "b", avail=1, prio=0)
    r("DEL", key(B, "inbox:a"))
    assert route(r) == ["delivered", 2, 2]
    assert inbox(r, "a") == [env()]
    assert len(subs) == 2


def test_bare_jid_dead_handlers_only(r):
    account(r)
    session(r, "a", id="ida", avail=1)
    assert route(r) == ["offline", 0]
    assert inbox(r, "a") == []
    assert r("ZSCORE", gkey("expiry"), "ida %s/a" % B) == "0"


@pytest.mark.parametrize("kind,mtype,want", [
    ("message", "groupchat", ["unavailable", 0]),
    ("message", "headline", ["dropped", 0]),
    ("message", "error", ["dropped", 0]),
    ("iq", "get", ["unavailable", 0]),
])
def test_bare_jid_nobody(r, kind, mtype, want):
    account(r)
    assert route(r, kind=kind, mtype=mtype) == want
    assert offline(r) == []


def test_groupchat_and_iq_never_go_to_resources_by_bare_jid(r, subscribe):
    account(r)
    session(r, "a", avail=1, prio=1)
    subscribe(key(B) + "/a")
    assert route(r, kind="message", mtype="groupchat") == ["unavailable", 0]
    assert route(r, kind="iq", mtype="set") == ["unavailable", 0]
    assert inbox(r, "a") == []


def test_offline_delay_stamp(r):
    account(r)
    assert route(r, delay=DELAY) == ["offline", 0]
    assert route(r, xml="<message to='bob@x' type='chat'/>", delay=DELAY) == ["offline", 0]
    assert route(r, xml="<message to='bob@x'><body>x</body></message>", mtype="normal") == \
        ["offline", 0]
    assert offline(r) == [
        "<message to='bob@x' type='chat'><body>hi</body>%s</message>" % DELAY,
        "<message to='bob@x' type='chat'>%s</message>" % DELAY,
        "<message to='bob@x'><body>x</body></message>"]


def test_offline_cap(r):
    account(r)
    r("RPUSH", key(B, "offline"), "one", "two")
    assert route(r, cap=2) == ["full", 0]
    assert offline(r) == ["one", "two"]
    assert route(r, cap=3) == ["offline", 0]
    assert len(offline(r)) == 3


# ---- offline_move ----

def move(r, n, res="r1", mark=""):
    return r.eval("offline_move", [key(B, "offline"), key(B, "inbox:" + res)], [n, mark])


def test_offline_move(r):
    r("RPUSH", key(B, "offline"), "m1", "m2", "m3")
    r("RPUSH", key(B, "inbox:r1"), "stanza 1\nearlier")
    assert move(r, 2) == ["moved", 2]
    assert inbox(r, "r1") == ["stanza 1\nearlier", "stanza\nm1", "stanza\nm2"]
    assert offline(r) == ["m3"]
    assert move(r, 2) == ["moved", 1]
    assert offline(r) == [] and r("EXISTS", key(B, "offline")) == 0
    assert move(r, 2) == ["moved", 0]
    assert len(inbox(r, "r1")) == 4


def test_offline_move_leaves_archived_stanzas_to_the_archive(r):
    """A Bind2 session's move: what carries the archive's mark is taken
    (the client reads it from the archive), the rest is moved."""
    mark = "<stanza-id xmlns='urn:xmpp:sid:0' by='%s'" % B
    archived = "<message><body>a</body>%s id='1-0-aa'/></message>" % mark
    other = "<message><body>b</body><stanza-id xmlns='urn:xmpp:sid:0' by='x@y' id='2'/></message>"
    r("RPUSH", key(B, "offline"), archived, other, "<message><body>c</body></message>")
    assert move(r, 2, mark=mark) == ["moved", 2]
    assert inbox(r, "r1") == ["stanza\n" + other]
    assert move(r, 2, mark=mark) == ["moved", 1]
    assert inbox(r, "r1") == ["stanza\n" + other, "stanza\n<message><body>c</body></message>"]
    assert offline(r) == []


# ---- presence_get ----

def presence(r, *bares):
    keys = []
    for b in bares:
        keys += [key(b, "sessions"), key(b, "presence")]
    return r.eval("presence_get", keys, [NOW, TTL])


def test_presence_of_available_live_resources(r):
    session(r, "on", avail=1)
    session(r, "off", avail=0)
    session(r, "stale", avail=1, seen=NOW - TTL - 1)
    session(r, "edge", avail=1, seen=NOW - TTL)
    for res in ("on", "off", "stale", "edge", "norecord"):
        r("HSET", key(B, "presence"), res, "<presence from='%s'/>" % res)
    got = presence(r, B)
    assert got[0] == "presence"
    assert sorted(got[1:]) == ["<presence from='edge'/>", "<presence from='on'/>"]


def test_presence_of_several_users_in_order(r):
    session(r, "r", bare="a@x", avail=1)
    session(r, "r", bare="c@x", avail=1)
    r("HSET", key("a@x", "presence"), "r", "<a/>")
    r("HSET", key("c@x", "presence"), "r", "<c/>")
    assert presence(r, "c@x", "nobody@x", "a@x") == ["presence", "<c/>", "<a/>"]
    assert presence(r) == ["presence"]
