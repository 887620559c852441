"""XEP-0363 quota inside Redis: upload_reserve.lua (room for a slot in
the user's quota, what has expired dropped first) and upload_commit.lua
(a stored file counts until it expires, while its owner's account
exists). Times are real: the scripts set EXPIREAT on the hash."""
import time

from lua_harness import key

A = "alice@x"


def reserve(r, sid, size, quota, now, until):
    return r.eval("upload_reserve", [key(A, "uploads")],
                  [sid, str(size), str(quota), str(now), str(until)])


def commit(r, sid, size, until, now):
    return r.eval("upload_commit", [key(A, "uploads"), key(A, "account")],
                  [sid, str(size), str(until), str(now)])


def test_reserve_within_quota(r):
    now = int(time.time())
    assert reserve(r, "s1", 10, 25, now, now + 300) == ["reserved", 10]
    assert reserve(r, "s2", 15, 25, now, now + 300) == ["reserved", 25]
    assert reserve(r, "s3", 1, 25, now, now + 300) == ["over", 25]
    assert r("HGETALL", key(A, "uploads")) == ["s1", "10 %d" % (now + 300),
                                               "s2", "15 %d" % (now + 300)]
    assert 0 < r("TTL", key(A, "uploads")) <= 300


def test_reserve_no_quota_and_expired_entries(r):
    """quota 0: no limit. Entries past their time (and ones that are not
    ours) are dropped and count for nothing."""
    now = int(time.time())
    r("HSET", key(A, "uploads"), "old", "1000 %d" % (now - 1), "junk", "x",
      "live", "5 %d" % (now + 1000))
    assert reserve(r, "s1", 10, 15, now, now + 300) == ["reserved", 15]
    assert sorted(r("HKEYS", key(A, "uploads"))) == ["live", "s1"]
    assert reserve(r, "s2", 10 ** 9, 0, now, now + 300) == ["reserved", 10 ** 9 + 15]
    # the hash lives as long as its longest entry
    assert 300 < r("TTL", key(A, "uploads")) <= 1000


def test_commit(r):
    """The file's time replaces the slot's; with no account, nothing."""
    now = int(time.time())
    assert commit(r, "s1", 10, now + 5000, now) == ["gone"]
    assert r("EXISTS", key(A, "uploads")) == 0
    r("HSET", key(A, "account"), "scram-sha-256", "x")
    reserve(r, "s1", 10, 0, now, now + 300)
    assert commit(r, "s1", 10, now + 5000, now) == ["kept"]
    assert r("HGET", key(A, "uploads"), "s1") == "10 %d" % (now + 5000)
    assert 300 < r("TTL", key(A, "uploads")) <= 5000
    # a reservation that lapsed during a long PUT: set again
    assert commit(r, "s2", 7, now + 100, now) == ["kept"]
    assert r("HGET", key(A, "uploads"), "s2") == "7 %d" % (now + 100)
    assert 300 < r("TTL", key(A, "uploads")) <= 5000      # never shortened
