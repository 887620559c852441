"""XEP-0163 PEP nodes inside Redis: pep_publish.lua, pep_configure.lua,
pep_retract.lua, pep_purge.lua and pep_items.lua over the keys of
lib/pep.lua (router/pep.h), every outcome of each."""
from lua_harness import key

A, B = "alice@x", "bob@x"
N = "urn:example:tune"


def keys(node=N, roster=False):
    k = [key(A, "pep"), key(A, "pep:conf:" + node), key(A, "pep:items:" + node),
         key(A, "pep:order:" + node)]
    return k + [key(A, "roster")] if roster else k


def publish(r, id, item=None, opts=(), max_nodes=2, cap=4, node=N):
    return r.eval("pep_publish", keys(node),
                  [node, id, item or "<item id='%s'/>" % id, str(max_nodes), str(cap)] +
                  list(opts))


def items(r, requester="", max=0, ids=(), node=N):
    return r.eval("pep_items", keys(node, roster=True) + [key(A, "blocklist")],
                  [node, requester, str(max)] + list(ids))


def conf(r, node=N):
    return dict(zip(*[iter(r("HGETALL", key(A, "pep:conf:" + node)))] * 2))


def test_publish_creates_with_defaults_and_options(r):
    assert publish(r, "a", opts=["access_model", "open"]) == ["published", "open", "new"]
    assert r("SMEMBERS", key(A, "pep")) == [N]
    c = conf(r)
    assert c == {"access_model": "open", "persist_items": "1", "max_items": "1",
                 "notify_retract": "1", "send_last_published_item": "on_sub_and_presence", "seq": "1"}, c
    assert publish(r, "b") == ["published", "open", "old"]
    # max_items 1: b replaced a
    assert r("HKEYS", key(A, "pep:items:" + N)) == ["b"]
    assert r("ZRANGE", key(A, "pep:order:" + N), 0, -1) == ["b"]


def test_publish_precondition_conflict_changes_nothing(r):
    publish(r, "a")
    assert publish(r, "b", opts=["access_model", "open"]) == \
        ["conflict", "access_model", "presence"]
    assert r("HKEYS", key(A, "pep:items:" + N)) == ["a"]
    assert publish(r, "b", opts=["access_model", "presence"])[0] == "published"


def test_publish_node_cap(r):
    publish(r, "a", node="n1")
    publish(r, "a", node="n2")
    assert publish(r, "a", node="n3") == ["full"]
    assert sorted(r("SMEMBERS", key(A, "pep"))) == ["n1", "n2"]
    assert r("EXISTS", key(A, "pep:conf:n3")) == 0
    assert publish(r, "b", node="n2")[0] == "published"


def test_publish_trims_to_max_items_and_cap(r):
    publish(r, "0", opts=["max_items", "max"])
    for i in range(1, 7):
        publish(r, str(i))
    assert r("ZRANGE", key(A, "pep:order:" + N), 0, -1) == ["3", "4", "5", "6"]
    assert sorted(r("HKEYS", key(A, "pep:items:" + N))) == ["3", "4", "5", "6"]
    # the same id replaces and becomes the newest
    publish(r, "4", item="<item id='4'>new</item>")
    assert r("ZRANGE", key(A, "pep:order:" + N), 0, -1) == ["3", "5", "6", "4"]
    assert r("HGET", key(A, "pep:items:" + N), "4") == "<item id='4'>new</item>"


def test_publish_not_persistent_keeps_nothing(r):
    assert publish(r, "a", opts=["persist_items", "0"])[0] == "published"
    assert r("EXISTS", key(A, "pep:items:" + N)) == 0
    assert r("EXISTS", key(A, "pep:order:" + N)) == 0


def configure(r, mode, pairs=(), max_nodes=2, cap=4, node=N):
    return r.eval("pep_configure", keys(node), [node, mode, str(max_nodes), str(cap)] +
                  list(pairs))


def test_configure_create_exists_full_nonode(r):
    assert configure(r, "configure", ["max_items", "2"]) == ["nonode"]
    assert configure(r, "create", ["access_model", "whitelist"]) == ["created"]
    assert conf(r)["access_model"] == "whitelist"
    assert configure(r, "create") == ["exists"]
    assert configure(r, "create", node="n2") == ["created"]
    assert configure(r, "create", node="n3") == ["full"]
    assert r("SCARD", key(A, "pep")) == 2


def test_configure_trims_at_once(r):
    configure(r, "create", ["max_items", "max"])
    for i in range(4):
        publish(r, str(i))
    assert configure(r, "configure", ["max_items", "2"]) == ["configured"]
    assert r("ZRANGE", key(A, "pep:order:" + N), 0, -1) == ["2", "3"]
    assert configure(r, "configure", ["persist_items", "0"]) == ["configured"]
    assert r("EXISTS", key(A, "pep:items:" + N)) == 0


def test_retract(r):
    assert r.eval("pep_retract", keys(), [N, "a"]) == ["nonode"]
    publish(r, "a")
    assert r.eval("pep_retract", keys(), [N, "zz"]) == ["noitem"]
    assert r.eval("pep_retract", keys(), [N, "a"]) == ["retracted", "presence", "1"]
    assert r("EXISTS", key(A, "pep:items:" + N)) == 0
    assert r("EXISTS", key(A, "pep:order:" + N)) == 0
    configure(r, "configure", ["notify_retract", "0"])
    publish(r, "b")
    assert r.eval("pep_retract", keys(), [N, "b"]) == ["retracted", "presence", "0"]


def test_purge_and_delete(r):
    assert r.eval("pep_purge", keys(), [N, "purge"]) == ["nonode"]
    assert r.eval("pep_purge", keys(), [N, "delete"]) == ["nonode"]
    publish(r, "a", opts=["access_model", "open"])
    assert r.eval("pep_purge", keys(), [N, "purge"]) == ["purged", "open"]
    assert r("EXISTS", key(A, "pep:items:" + N)) == 0
    assert r("SISMEMBER", key(A, "pep"), N) == 1
    publish(r, "b")
    assert r.eval("pep_purge", keys(), [N, "delete"]) == ["deleted", "open"]
    assert r("KEYS", "*") == []


def test_items_owner_all_max_ids(r):
    assert items(r) == ["nonode"]
    publish(r, "0", opts=["max_items", "3"])
    publish(r, "1")
    publish(r, "2")
    assert items(r) == ["items", "presence", "<item id='0'/>", "<item id='1'/>",
                        "<item id='2'/>"]
    assert items(r, max=2) == ["items", "presence", "<item id='1'/>", "<item id='2'/>"]
    assert items(r, ids=["2", "zz", "0"]) == ["items", "presence", "<item id='2'/>",
                                               "<item id='0'/>"]


def test_items_access_models(r):
    publish(r, "a")
    assert items(r, requester=B) == ["denied", "presence"]
    r("HSET", key(A, "roster"), B, "<item subscription='to' jid='%s'/>" % B)
    assert items(r, requester=B) == ["denied", "presence"]
    for sub in ("from", "both"):
        r("HSET", key(A, "roster"), B, "<item subscription='%s' jid='%s'/>" % (sub, B))
        assert items(r, requester=B)[:2] == ["items", "presence"]
    configure(r, "configure", ["access_model", "roster"])
    assert items(r, requester=B)[:2] == ["items", "roster"]
    r("HSET", key(A, "roster"), B, "<item subscription='none' jid='%s'/>" % B)
    assert items(r, requester=B) == ["denied", "roster"]
    configure(r, "configure", ["access_model", "whitelist"])
    r("HSET", key(A, "roster"), B, "<item subscription='both' jid='%s'/>" % B)
    assert items(r, requester=B) == ["denied", "whitelist"]
    assert items(r)[:2] == ["items", "whitelist"]
    configure(r, "configure", ["access_model", "open"])
    assert items(r, requester="stranger@y") == ["items", "open", "<item id='a'/>"]


def test_items_blocked_requester(r):
    """XEP-0191: a requester the owner blocks, by bare JID or domain,
    reads nothing, even an open node; the owner always reads."""
    publish(r, "a", opts=["access_model", "open"])
    r("SADD", key(A, "blocklist"), B)
    assert items(r, requester=B) == ["blocked"]
    assert items(r, requester="carol@y")[:2] == ["items", "open"]
    r("SADD", key(A, "blocklist"), "y")
    assert items(r, requester="carol@y") == ["blocked"]
    assert items(r)[:2] == ["items", "open"]
