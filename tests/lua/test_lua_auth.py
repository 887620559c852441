"""authfail_record and server_secret."""
from lua_harness import gkey, key


def record(r, k, window=60):
    return r.eval("authfail_record", [k], [window])


def test_authfail_counts_and_window(r):
    """One counter a call (an account's and an address's lie in different
    slots of a cluster)."""
    acct, addr = key("a@x", "authfail"), gkey("authfail-addr:192.0.2.7")
    assert record(r, acct) == ["counted", 1] and record(r, addr) == ["counted", 1]
    assert 0 < r("TTL", acct) <= 60 and 0 < r("TTL", addr) <= 60
    r("EXPIRE", addr, 10)
    assert record(r, addr) == ["counted", 2]
    assert r("TTL", addr) <= 10           # the window runs from the first failure
    assert record(r, addr) == ["counted", 3]
    assert r("GET", acct) == "1"


def test_authfail_counter_without_ttl_gets_one(r):
    addr = gkey("authfail-addr:::1")
    r("SET", addr, "5")
    assert record(r, addr, window=30) == ["counted", 6]
    assert 0 < r("TTL", addr) <= 30


def test_server_secret(r):
    k = gkey("server-secret")
    assert r.eval("server_secret", [k], ["ab" * 32]) == ["stored", "ab" * 32]
    assert r("GET", k) == "ab" * 32
    assert r.eval("server_secret", [k], ["cd" * 32]) == ["found", "ab" * 32]
    assert r("GET", k) == "ab" * 32
