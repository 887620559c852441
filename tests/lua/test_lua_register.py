"""In-band registration inside Redis: account_create.lua (the account,
the per-address counter and the invitation in one atomic step) and
invite_check.lua (an XEP-0445 preauth, which uses nothing up)."""
from lua_harness import NOW, gkey, key

B = "bob@x"
TOKEN = "ab" * 16
COUNTER = gkey("registration:10.0.0.1")


def create(r, bare=B, token="", limit=3, window=600, inband=True, digest=""):
    node, domain = bare.split("@")
    return r.eval("account_create",
                  [key(bare, "account"), gkey("users"), COUNTER, gkey("invite:" + token),
                   key(bare, "invite")],
                  [bare, "s1", "s256", digest, str(NOW), str(limit), str(window), token, node,
                   domain, "1" if inband else "0"])


def invite(r, token=TOKEN, domain="x", node="", ttl=100):
    r("HSET", gkey("invite:" + token), "domain", domain, "node", node, "created", str(NOW))
    r("EXPIRE", gkey("invite:" + token), str(ttl))
    if node:
        r("SET", key(node + "@" + domain, "invite"), token, "EX", str(ttl))


def test_creates_indexes_and_counts(r):
    assert create(r) == ["created"]
    assert r("HGETALL", key(B, "account")) == ["created", str(NOW), "scram-sha-1", "s1",
                                               "scram-sha-256", "s256"]
    assert r("SMEMBERS", gkey("users")) == [B]
    assert r("GET", COUNTER) == "1"
    assert 0 < r("TTL", COUNTER) <= 600


def test_exists_changes_nothing(r):
    assert create(r) == ["created"]
    r("HSET", key(B, "account"), "scram-sha-1", "old")
    assert create(r) == ["exists"]
    assert r("HGET", key(B, "account"), "scram-sha-1") == "old"
    assert r("GET", COUNTER) == "1"


def test_limit_per_address(r):
    assert create(r, "a@x", limit=2) == ["created"]
    assert create(r, "b@x", limit=2) == ["created"]
    assert create(r, "c@x", limit=2) == ["limited", 2]
    assert r("EXISTS", key("c@x", "account")) == 0
    assert r("SCARD", gkey("users")) == 2


def test_operator_not_counted(r):
    """limit 0 (xmppctl adduser): no counter, and the digest secret."""
    assert create(r, limit=0, inband=False, digest="pw") == ["created"]
    assert r("EXISTS", COUNTER) == 0
    assert r("HGET", key(B, "account"), "digest-secret") == "pw"


def test_token_used_once(r):
    invite(r)
    assert create(r, "a@x", token=TOKEN) == ["created"]
    assert r("EXISTS", gkey("invite:" + TOKEN)) == 0
    assert create(r, "b@x", token=TOKEN) == ["no-invite"]
    assert r("EXISTS", key("b@x", "account")) == 0


def test_token_checked_before_the_name(r):
    """Without a good token nothing tells whether the name is taken."""
    assert create(r, "a@x") == ["created"]
    assert create(r, "a@x", token=TOKEN) == ["no-invite"]


def test_token_of_another_domain(r):
    invite(r, domain="y")
    assert create(r, token=TOKEN) == ["no-invite"]
    assert r("EXISTS", gkey("invite:" + TOKEN)) == 1


def test_token_for_one_user_reserves_it(r):
    invite(r, node="bob")
    assert create(r, "eve@x", token=TOKEN) == ["other-user"]
    assert create(r) == ["exists"]                       # reserved, no token
    assert create(r, token=TOKEN) == ["created"]
    assert r("EXISTS", gkey("invite:" + TOKEN)) == 0
    assert r("EXISTS", key(B, "invite")) == 0


def test_operator_ignores_reservation(r):
    invite(r, node="bob")
    assert create(r, limit=0, inband=False) == ["created"]
    assert r("EXISTS", key(B, "invite")) == 0


def test_limit_before_token(r):
    """A limited address uses up no invitation."""
    invite(r)
    r("SET", COUNTER, "3")
    assert create(r, token=TOKEN) == ["limited", 3]
    assert r("EXISTS", gkey("invite:" + TOKEN)) == 1


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
