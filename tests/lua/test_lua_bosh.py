"""bosh_claim, bosh_fed and bosh_record (BOSH sessions, router/boshsession.h, the
hash in xmpp-redis(7)): the rid window, replays, acknowledged counts,
and the owner check. Keys and arguments as router/boshsession.c passes
them."""
from lua_harness import gkey, key

SID = "sid1"
A, RES = "alice@x", "web"


def hkey():
    return gkey("bosh:" + SID)


def make(r, rid=10, requests=2, **extra):
    fields = {"state": "session", "to": "x", "authid": "a1", "rid": str(rid),
              "requests": str(requests), "wait": "60", "inactivity": "60",
              "acked": "0", "sent": "0", "jid": A, "res": RES, "smid": "sm1",
              "fed": str(rid)}
    fields.update(extra)
    for k, v in fields.items():
        r("HSET", hkey(), k, v)


def claim(r, rid, ttl=210, force=False):
    return r.eval("bosh_claim", [hkey()], [str(rid), str(ttl), "1" if force else "0"])


def fed(r, rid):
    return r.eval("bosh_fed", [hkey()], [str(rid)])


def record(r, rid, answer, count="", cl="", pe=""):
    return r.eval("bosh_record", [hkey()], [str(rid), answer, count, cl, pe])


def field(r, name):
    return r("HGET", hkey(), name)


def test_claim_none(r):
    assert claim(r, 11) == ["none"]


def test_claim_next_returns_the_state(r):
    make(r)
    got = claim(r, 11)
    assert got == ["claimed", "session", A, RES, "sm1", "0", "0", "x", "a1", "60", "60", "2",
                   "", "0", "0", "1"]
    assert field(r, "rid") == "11"
    assert 0 < r("TTL", hkey()) <= 210


def test_claim_early_bad_held_replay(r):
    make(r)
    assert claim(r, 12) == ["early"]         # overtook 11: wait for it
    assert claim(r, 13)[:2] == ["bad", "session"]   # beyond the window: ends
    # in the window, no answer kept: the retry takes the held one's place
    assert claim(r, 10) == ["held", "session", A, RES, "sm1", "0", "0", "x", "a1", "60",
                            "60", "2", "", "0", "0", "1"]
    record(r, 10, "<body/>")
    assert claim(r, 10) == ["replay", "<body/>"]
    assert claim(r, 8)[0] == "bad"           # below the window
    assert claim(r, 12, force=True)[0] == "bad"     # still ahead when forced
    assert field(r, "rid") == "10"


def test_claim_acknowledges_answers_out_of_the_window(r):
    make(r)
    record(r, 9, "<body>9</body>", "3")
    record(r, 10, "<body>10</body>", "5")
    assert field(r, "sent") == "5"
    assert claim(r, 11)[5] == "3"            # 11 - requests = 9: read
    assert field(r, "acked") == "3"
    assert field(r, "a:9") is None and field(r, "n:9") is None
    assert field(r, "a:10") == "<body>10</body>"
    fed(r, 11)
    assert claim(r, 12)[5] == "5"
    assert field(r, "a:10") is None


def test_record_checks_no_claim_came_since(r):
    """The owner of the sm state is read first (boshsession.c); the
    script checks that no request claimed the session after this one:
    every takeover by a BOSH request begins with a claim ('cl')."""
    make(r)
    mine = claim(r, 11)[15]
    assert mine == "1" and field(r, "cl") == "1"
    fed(r, 11)
    assert claim(r, 11)[:1] == ["held"] and field(r, "cl") == "2"   # taken over
    assert record(r, 11, "<body>x</body>", "4", mine) == ["taken"]
    assert field(r, "a:11") is None and field(r, "sent") == "0"
    assert record(r, 11, "<body>y</body>", "4", "2") == ["recorded"]
    assert field(r, "a:11") == "<body>y</body>" and field(r, "n:11") == "4"
    assert field(r, "sent") == "4"
    assert record(r, 11, "<body/>") == ["recorded"]     # no state: no check
    assert claim(r, 12)[15] == "3"
    got = claim(r, 9)                                   # bad: no claim
    assert got[0] == "bad" and got[15] == "3" and field(r, "cl") == "3"


def test_record_keeps_when_an_empty_poll_got_nothing(r):
    """'pe': the time of the last request if it was empty and so was its
    answer (the polling check), cleared by any other answer."""
    make(r, requests=1)
    assert record(r, 10, "<body/>", pe="1700000000123") == ["recorded"]
    assert field(r, "pe") == "1700000000123"
    assert claim(r, 11)[13] == "1700000000123"
    fed(r, 11)
    assert record(r, 11, "<body>x</body>") == ["recorded"]
    assert field(r, "pe") is None and claim(r, 12)[13] == "0"


def test_record_without_count_or_session(r):
    assert record(r, 1, "<body/>") == ["none"]
    make(r)
    assert record(r, 11, "<body/>") == ["recorded"]
    assert field(r, "n:11") is None and field(r, "sent") == "0"


def test_claim_waits_until_the_predecessor_fed(r):
    """Requests are handled in rid order: 12 waits until 11's stanzas
    went to the stream, or until its process waited long enough (force)."""
    make(r)
    assert claim(r, 11)[0] == "claimed"
    assert claim(r, 12) == ["early"]
    assert fed(r, 11) == ["fed"] and field(r, "fed") == "11"
    assert claim(r, 12)[0] == "claimed"
    assert claim(r, 13) == ["early"]
    assert claim(r, 13, force=True)[0] == "claimed"


def test_held_retry_waits_until_its_first_copy_fed(r):
    """A request sent again while its first copy is still feeding its
    stanzas waits for that (or for long enough: force)."""
    make(r)
    assert claim(r, 11)[0] == "claimed"
    assert claim(r, 11) == ["early"]
    assert claim(r, 11, force=True)[0] == "held"
    fed(r, 11)
    assert claim(r, 11)[0] == "held"
    assert field(r, "rid") == "11"


def test_fed_only_goes_up(r):
    assert fed(r, 5) == ["none"]
    make(r)
    assert fed(r, 10) == ["none"] and fed(r, 9) == ["none"]
    assert fed(r, 11) == ["fed"] and field(r, "fed") == "11"
