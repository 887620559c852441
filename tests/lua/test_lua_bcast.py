"""bcast, bcast_hold and the broadcast log (router/route.h): what is
published on a bare channel is logged only while a reader keeps the log,
in order, trimmed and expiring with its last reader; sm_sync records
where a session read it up to."""
import time

from lua_harness import key

A = "alice@x"


def now():
    """The log expires for real (EXPIREAT): times are from the clock."""
    return int(time.time())


def publish(r, payload, at=None, max=1000, bare=A):
    return r.eval("bcast", [key(bare), key(bare, "bcastfor"), key(bare, "bcast")],
                  [payload, now() if at is None else at, max])


def hold(r, reader, until, bare=A):
    return r.eval("bcast_hold", [key(bare, "bcastfor"), key(bare, "bcast")], [reader, until])


def log(r, bare=A):
    return [(i, f[1]) for i, f in r("XRANGE", key(bare, "bcast"), "-", "+")]


def test_published_not_logged_without_a_reader(r, subscribe):
    sub = subscribe(key(A))
    assert publish(r, "presence\n<presence/>") == ["published", 1]
    assert sub.message() == [key(A), "presence\n<presence/>"]
    assert not r("EXISTS", key(A, "bcast"))


def test_logged_in_order_while_held_and_expiring_with_the_reader(r, subscribe):
    sub = subscribe(key(A))
    t = now()
    assert hold(r, "sid1", t + 100) == ["held", "0-0"]
    publish(r, "push 1\n<item/>")
    publish(r, "presence\n<presence/>")
    assert sub.message() == [key(A), "push 1\n<item/>"]
    got = log(r)
    assert [p for _, p in got] == ["push 1\n<item/>", "presence\n<presence/>"]
    # a second reader holds it longer: the log lives as long as the last
    assert hold(r, "sid2", t + 300) == ["held", got[-1][0]]
    assert r("TTL", key(A, "bcast")) > 0
    assert r("EXPIRETIME", key(A, "bcast")) == t + 300
    # past every reader's time, nothing more is logged
    publish(r, "presence\n<presence type='unavailable'/>", at=t + 301)
    assert len(log(r)) == 2
    assert r("ZCARD", key(A, "bcastfor")) == 0


def test_log_trimmed_to_about_max(r):
    hold(r, "sid1", now() + 100)
    for i in range(300):
        publish(r, "presence\n%d" % i, max=100)
    got = log(r)
    assert 100 <= len(got) < 300 and got[-1][1] == "presence\n299"
