"""In-band registration inside Redis, one key's slot per script:
account_create.lua (the account and its users shard, the name's
reservation), registration_count.lua (the per-address count, a place
taken and given back), invite_take.lua (an invitation used up before the
account is made) and invite_check.lua (an XEP-0445 preauth, which uses
nothing up). router/account.c chains the first three; the proto tests
(test_register_new.py) check the whole."""
from lua_harness import NOW, gkey, key

B = "bob@x"
TOKEN = "ab" * 16
COUNTER = gkey("registration:10.0.0.1")


def create(r, bare=B, token="", inband=True, digest=""):
    return r.eval("account_create",
                  [key(bare, "account"), gkey("users"), key(bare, "invite")],
                  [bare, "s1", "s256", digest, str(NOW), token, "1" if inband else "0"])


def count(r, mode="take", limit=3, window=600):
    return r.eval("registration_count", [COUNTER], [mode, str(limit), str(window)])


def take(r, token=TOKEN, domain="x", node="bob"):
    return r.eval("invite_take", [gkey("invite:" + token)], [domain, node])


def invite(r, token=TOKEN, domain="x", node="", ttl=100):
    r("HSET", gkey("invite:" + token), "domain", domain, "node", node, "created", str(NOW))
    r("EXPIRE", gkey("invite:" + token), str(ttl))
    if node:
        r("SET", key(node + "@" + domain, "invite"), token, "EX", str(ttl))


def test_creates_and_indexes(r):
    assert create(r) == ["created"]
    assert r("HGETALL", key(B, "account")) == ["created", str(NOW), "scram-sha-1", "s1",
                                               "scram-sha-256", "s256"]
    assert r("SMEMBERS", gkey("users")) == [B]


def test_exists_changes_nothing(r):
    assert create(r) == ["created"]
    r("HSET", key(B, "account"), "scram-sha-1", "old")
    assert create(r) == ["exists"]
    assert r("HGET", key(B, "account"), "scram-sha-1") == "old"


def test_operator_digest_secret(r):
    assert create(r, inband=False, digest="pw") == ["created"]
    assert r("HGET", key(B, "account"), "digest-secret") == "pw"


def test_reservation(r):
    """A name reserved by an invitation: only its token creates it, and
    the reservation goes with the creation."""
    invite(r, node="bob")
    assert create(r) == ["exists"]                       # reserved, no token
    assert create(r, token="cd" * 16) == ["exists"]      # another invitation's
    assert create(r, token=TOKEN) == ["created"]
    assert r("EXISTS", key(B, "invite")) == 0


def test_operator_ignores_reservation(r):
    invite(r, node="bob")
    assert create(r, inband=False) == ["created"]
    assert r("EXISTS", key(B, "invite")) == 0


def test_count_limit_per_address(r):
    assert count(r, limit=2) == ["counted", 1]
    assert 0 < r("TTL", COUNTER) <= 600
    assert count(r, limit=2) == ["counted", 2]
    assert count(r, limit=2) == ["limited", 2]
    assert r("GET", COUNTER) == "2"


def test_count_given_back(r):
    """A place taken for an account that was not made: given back, the
    window unchanged; the last one takes the key with it."""
    assert count(r) == ["counted", 1]
    assert count(r) == ["counted", 2]
    r("EXPIRE", COUNTER, 50)
    assert count(r, "give") == ["given"]
    assert r("GET", COUNTER) == "1" and 0 < r("TTL", COUNTER) <= 50
    assert count(r, "give") == ["given"]
    assert r("EXISTS", COUNTER) == 0
    assert count(r, "give") == ["given"]               # none: nothing to give
    assert r("EXISTS", COUNTER) == 0


def test_count_without_ttl_gets_one(r):
    r("SET", COUNTER, "1")
    assert count(r, window=30) == ["counted", 2]
    assert 0 < r("TTL", COUNTER) <= 30


def test_take_once(r):
    invite(r, ttl=100)
    got = take(r, node="a")
    assert got[:3] == ["taken", "", str(NOW)] and 95000 < got[3] <= 100000
    assert r("EXISTS", gkey("invite:" + TOKEN)) == 0
    assert take(r, node="b") == ["no-invite"]


def test_take_another_domain(r):
    invite(r, domain="y")
    assert take(r) == ["no-invite"]
    assert r("EXISTS", gkey("invite:" + TOKEN)) == 1


def test_take_for_one_user(r):
    invite(r, node="bob")
    assert take(r, node="eve") == ["other-user"]
    assert r("EXISTS", gkey("invite:" + TOKEN)) == 1
    assert take(r)[:2] == ["taken", "bob"]
    assert r("EXISTS", gkey("invite:" + TOKEN)) == 0
    # the reservation is the account's to remove (account_create.lua)
    assert r("GET", key(B, "invite")) == TOKEN


def check(r, domain="x", min_ttl=30, token=TOKEN):
    return r.eval("invite_check", [gkey("invite:" + token)], [domain, str(min_ttl)])


def test_check_valid_not_consumed(r):
    invite(r, node="bob")
    assert check(r) == ["valid", "bob"]
    assert check(r) == ["valid", "bob"]
    assert r("EXISTS", gkey("invite:" + TOKEN)) == 1


def test_check_none(r):
    assert check(r) == ["none"]
    invite(r, domain="y")
    assert check(r) == ["none"]


def test_check_keeps_it_for_the_stream(r):
    """XEP-0445: expiry is checked at the preauth only; the token then
    lives long enough for the registration to follow."""
    invite(r, ttl=2)
    assert check(r, min_ttl=30) == ["valid", ""]
    assert 2 < r("TTL", gkey("invite:" + TOKEN)) <= 30
    invite(r, token="cd" * 16, ttl=100)
    assert check(r, min_ttl=30, token="cd" * 16) == ["valid", ""]
    assert r("TTL", gkey("invite:" + "cd" * 16)) > 30
