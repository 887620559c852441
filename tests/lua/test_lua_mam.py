"""XEP-0313 archives inside Redis: route_stanza.lua's entry and the
XEP-0359 stanza-id it puts on every copy, mam_query.lua's pages, bounds
and trimming, mam_prefs_set.lua."""
import re

import pytest

from lua_harness import NOW, TTL, gkey, key, rec

A, B = "alice@x", "bob@x"
MSG = "<message from='alice@x/a' to='bob@x' type='chat'><body>hi</body></message>"
SID = re.compile(r"<stanza-id xmlns='urn:xmpp:sid:0' by='bob@x' id='(\d+-\d+-[0-9a-f]+)'/>")


def route(r, bare=B, res="", kind="message", mtype="chat", xml=MSG, peer="alice@x/a",
          count=0, age=0, dflt="always", rand="0123abcd", frm="alice@x/a", delay=""):
    return r.eval("route_stanza",
                  [key(bare, "account"), key(bare, "sessions"), key(bare, "offline"),
                   gkey("expiry"), key(bare, "carbons"), key(bare, "blocklist"),
                   key(bare, "mamprefs"), key(bare, "mam"), key(bare, "roster")],
                  [key(bare), res, kind, mtype, "stanza 5\n" + xml, delay, NOW, TTL, 10, bare,
                   key(bare, "inbox:"), "", "", frm, peer, rand, count, age, dflt])


def entries(r, bare=B):
    """[(archive id, w, m)] of bare's archive, oldest first."""
    out = []
    for eid, f in r("XRANGE", key(bare, "mam"), "-", "+"):
        d = dict(zip(f[0::2], f[1::2]))
        out.append(("%s-%s" % (eid, d["r"]), d["w"], d["m"]))
    return out


def given(r, bare=B, sessions=("r1",)):
    r("HSET", key(bare, "account"), "scram-sha-256", "x")
    for s in sessions:
        r("HSET", key(bare, "sessions"), s, rec(id="id-" + s, avail=1))


def test_delivered_message_archived_with_stanza_id(r, subscribe):
    given(r)
    sub = subscribe(key(B) + "/r1")
    assert route(r) == ["delivered", 1, 1]
    assert sub.message() is not None
    (uid, w, m), = entries(r)
    assert w == "alice@x/a" and m == MSG and uid.endswith("-0123abcd")
    box = r("LRANGE", key(B, "inbox:r1"), 0, -1)
    assert SID.search(box[0]).group(1) == uid, box
    # the index of the other party's bare JID holds the same entry ID
    idx = r("XRANGE", key(B, "mam:w:alice@x"), "-", "+")
    assert [e[0] for e in idx] == [uid.rsplit("-", 1)[0]] and idx[0][1] == ["f", "alice@x/a"]
    assert r("SMEMBERS", key(B, "mam:with")) == ["alice@x"]


def test_offline_copy_carries_the_same_id(r):
    given(r, sessions=())
    delay = "<delay xmlns='urn:xmpp:delay' stamp='s'/>"
    assert route(r, delay=delay) == ["offline", 0]
    (uid, _, _), = entries(r)
    stored, = r("LRANGE", key(B, "offline"), 0, -1)
    assert SID.search(stored).group(1) == uid and stored.endswith(delay + "</message>")


@pytest.mark.parametrize("case", ["unavailable", "blocked", "no peer", "prefs never",
                                  "jid never", "roster default", "full"])
def test_not_archived(r, case):
    """What is not accepted, or what the preferences keep out, leaves no
    entry and no stanza-id."""
    given(r, sessions=())
    kw = {}
    if case == "unavailable":      # normal message to a missing resource: bounced
        kw = dict(res="gone", mtype="normal")
    elif case == "blocked":
        r("SADD", key(B, "blocklist"), "alice@x")
    elif case == "no peer":
        kw = dict(peer="")
    elif case == "prefs never":
        kw = dict(dflt="never")
    elif case == "jid never":
        r("HSET", key(B, "mamprefs"), "j:alice@x", "never")
    elif case == "roster default":
        r("HSET", key(B, "mamprefs"), "default", "roster")
    elif case == "full":
        for _ in range(10):
            r("RPUSH", key(B, "offline"), "x")
    out = route(r, **kw)
    assert out[0] != "delivered" and entries(r) == [], out
    for m in r("LRANGE", key(B, "offline"), 0, -1):
        assert "stanza-id" not in m


def test_bounce_after_archiving_removes_the_entry(r):
    """A normal message to a resource whose handler is gone: archived on
    the first try, then bounced (no fallback for normal): no entry."""
    given(r, sessions=())
    r("HSET", key(B, "sessions"), "r1", rec(id="dead", avail=1))
    assert route(r, res="r1", mtype="normal") == ["unavailable", 0]
    assert r("XLEN", key(B, "mam")) == 0 and r("XLEN", key(B, "mam:w:alice@x")) == 0


def test_preferences_order(r):
    """A full JID listed decides before its bare JID, which decides before
    the default; 'roster' asks the roster."""
    given(r, sessions=())
    r("HSET", key(B, "mamprefs"), "default", "never", "j:alice@x", "always",
      "j:alice@x/a", "never")
    route(r)
    assert entries(r) == []
    route(r, frm="alice@x/b", peer="alice@x/b")
    assert len(entries(r)) == 1
    r("DEL", key(B, "mamprefs"))
    r("HSET", key(B, "mamprefs"), "default", "roster")
    r("HSET", key(B, "roster"), "alice@x", "<item/>")
    route(r)
    assert len(entries(r)) == 2


def test_sent_kind_archives_for_the_sender(r):
    """Kind 'sent' on the sender's keys: the entry names the recipient;
    nothing is delivered."""
    given(r, bare=A)
    assert route(r, bare=A, kind="sent", peer="bob@x/b1", frm="") == ["delivered", 0, 0]
    (uid, w, m), = entries(r, A)
    assert w == "bob@x/b1" and m == MSG
    assert r("LLEN", key(A, "inbox:r1")) == 0
    assert r("XLEN", key(A, "mam:w:bob@x")) == 1


def test_count_trim_and_stale_index(r):
    """archive_max_count trims the oldest; an index keeps no entry the
    archive lost once it is written or read."""
    given(r, sessions=())
    for i in range(3):
        route(r, frm="carol@x/c", peer="carol@x/c")
    route(r, count=2)
    assert [w for _, w, _ in entries(r)] == ["carol@x/c", "alice@x/a"]
    page = query(r, B, with_="carol@x")
    assert page[:3] == ["ok", 1, 1] and len(page) == 5, page
    assert r("XLEN", key(B, "mam:w:carol@x")) == 1


# ---- mam_query.lua ----

def query(r, bare=B, mode="page", with_=None, full="", start="", end="", after_id="",
          before_id="", rsm="", rsm_id="", max_=10, ids=(), count=0, age=0, now=NOW):
    keys = [key(bare, "mam")] + ([key(bare, "mam:w:" + with_)] if with_ else [])
    args = [mode, now, count, age]
    if mode == "page":
        args += [full, start, end, after_id, before_id, rsm, rsm_id, max_]
    elif mode == "ids":
        args += list(ids)
    return r.eval("mam_query", keys, args)


def fill(r, n, peers=("alice@x/a",)):
    given(r, sessions=())
    for i in range(n):
        p = peers[i % len(peers)]
        route(r, frm=p, peer=p, xml=MSG.replace("hi", "m%d" % i))
    return [e[0] for e in entries(r)]


def bodies(page):
    return [re.search(r"<body>(.*)</body>", m).group(1) for m in page[4::2]]


def test_query_forward_backward_and_complete(r):
    ids = fill(r, 5)
    p = query(r, max_=2)
    assert p[:3] == ["ok", 0, 5] and p[3::2] == ids[:2] and bodies(p) == ["m0", "m1"]
    p = query(r, rsm="after", rsm_id=ids[2], max_=2)
    assert p[1] == 1 and bodies(p) == ["m3", "m4"]
    p = query(r, rsm="before", max_=2)
    assert p[1] == 0 and bodies(p) == ["m3", "m4"]
    p = query(r, rsm="before", rsm_id=ids[2], max_=2)
    assert p[1] == 1 and bodies(p) == ["m0", "m1"]
    p = query(r, max_=0)
    assert p == ["ok", 0, 5]
    assert query(r, rsm="after", rsm_id=ids[0][:-1] + "f") == ["notfound"]
    assert query(r, rsm="after", rsm_id="garbage") == ["notfound"]


def test_query_bounds_and_ids(r):
    ids = fill(r, 5)
    p = query(r, after_id=ids[0], before_id=ids[4])
    assert bodies(p) == ["m1", "m2", "m3"] and p[2] == -1
    ms = int(ids[2].split("-")[0])
    p = query(r, start=str(ms), end=str(ms))
    assert set(bodies(p)) >= {"m2"} and "m0" not in bodies(p) or ms == int(ids[0].split("-")[0])
    assert query(r, start=str(ms + 10 ** 9))[3:] == []
    p = query(r, mode="ids", ids=[ids[3], ids[1]])
    assert p[3::2] == [ids[1], ids[3]]
    assert query(r, mode="ids", ids=[ids[1], "1-0-00"]) == ["notfound"]


def test_query_with_index_and_full_jid(r):
    fill(r, 6, peers=("alice@x/a", "carol@x/c", "alice@x/b"))
    p = query(r, with_="alice@x")
    assert bodies(p) == ["m0", "m2", "m3", "m5"] and p[2] == 4
    p = query(r, with_="alice@x", full="alice@x/b")
    assert bodies(p) == ["m2", "m5"] and p[2] == -1
    p = query(r, with_="alice@x", rsm="before", max_=1)
    assert bodies(p) == ["m5"] and p[1] == 0
    assert query(r, with_="dave@x")[:4] == ["ok", 1, 0]


def test_query_meta_and_age_trim(r):
    assert query(r, mode="meta") == ["ok", 1, 0]
    ids = fill(r, 3)
    assert query(r, mode="meta") == ["ok", 1, -1, ids[0], "", ids[2], ""]
    # everything older than 1 s before a 'now' far ahead goes, index too
    later = int(ids[2].split("-")[0]) // 1000 + 100
    assert query(r, mode="meta", age=1, now=later) == ["ok", 1, 0]
    assert r("EXISTS", key(B, "mam"), key(B, "mam:w:alice@x")) == 0


# ---- mam_prefs_set.lua ----

def test_prefs_set_replaces_all(r):
    r("HSET", key(B, "mamprefs"), "j:old@x", "always")
    assert r.eval("mam_prefs_set", [key(B, "mamprefs")],
                  ["roster", 2, "a@x", "b@x/r", "c@x", "a@x"]) == ["stored"]
    assert dict(zip(*[iter(r("HGETALL", key(B, "mamprefs")))] * 2)) == {
        "default": "roster", "j:a@x": "never", "j:b@x/r": "always", "j:c@x": "never"}
    assert r.eval("mam_prefs_set", [key(B, "mamprefs")], ["", 0]) == ["stored"]
    assert r("EXISTS", key(B, "mamprefs")) == 0


# ---- mam_add.lua ----

def test_mam_add_archives_sent_message(r):
    """The sender's entry with no carbon copy due: what kind 'sent' of
    route_stanza.lua writes, the preferences applied the same way."""
    def add(dflt="always"):
        return r.eval("mam_add", [key(A, "mamprefs"), key(A, "mam"), key(A, "roster")],
                      ["bob@x/b1", "stanza 5\n" + MSG, "00ff", NOW, 0, 0, dflt])
    assert add() == ["delivered", 0]
    (uid, w, m), = entries(r, A)
    assert w == "bob@x/b1" and m == MSG and uid.endswith("-00ff")
    assert r("XLEN", key(A, "mam:w:bob@x")) == 1
    assert add(dflt="never") == ["delivered", 0] and len(entries(r, A)) == 1
    r("HSET", key(A, "mamprefs"), "j:bob@x", "never")
    assert add() == ["delivered", 0] and len(entries(r, A)) == 1
