"""The Redis Cluster harness (cluster_harness.py) checked against a real
cluster, so that the cluster:// tests built on it can trust what it says:
the cluster it forms, the slots it computes, the node it names, and a
resharding that really sends clients ASK and MOVED."""
import pytest

from cluster_harness import SLOTS, Cluster, slot_of
from harness import RedisError, Server, redis_call

ROSTER = "xmpp:{alice@localhost}:roster"


@pytest.fixture(scope="module")
def cluster():
    """One cluster for the tests that do not reshard it."""
    with Cluster() as c:
        yield c


def redirect(c, port, *args):
    """The MOVED or ASK error port answers args with ("" if it serves them)."""
    try:
        c.call(port, *args)
    except RedisError as e:
        return str(e)
    return ""


def test_formed(cluster):
    """Every node says ok and knows three primaries; their slots are
    contiguous, disjoint and cover 0..16383, one range per primary."""
    for port in cluster.ports:
        info = cluster.info(port)
        assert info["cluster_state"] == "ok", info
        assert info["cluster_size"] == "3" and info["cluster_known_nodes"] == "3", info
    m = cluster.slot_map(cluster.ports[0])
    assert [r[2] for r in m] == cluster.ports, m
    assert m[0][0] == 0 and m[-1][1] == SLOTS - 1, m
    assert all(a[1] + 1 == b[0] for a, b in zip(m, m[1:])), m
    assert cluster.url() == "cluster://" + ",".join("127.0.0.1:%d" % p for p in cluster.ports)


@pytest.mark.parametrize("key", [
    ROSTER, "xmpp:{bob@localhost}:roster", "xmpp:{alice@localhost}", "plain", "",
    "a{}{b}",          # an empty first tag: the whole key is hashed
    "a{{b}}c",         # the tag is "{b"
    "a{b}{c}",         # only the first tag counts
    "a}b{c}", "a{b", "{}", "xmpp:{jürgen@localhost}:roster",
])
def test_slot_of_matches_keyslot(cluster, key):
    assert slot_of(key) == cluster.call(cluster.ports[0], "CLUSTER", "KEYSLOT", key)


def test_tagged_keys_share_a_slot_and_node(cluster):
    """One user's keys share a slot; node_of names the node that serves it
    without redirection, and the others answer MOVED to it."""
    keys = [ROSTER, "xmpp:{alice@localhost}:sessions", "xmpp:{alice@localhost}:offline"]
    assert len({slot_of(k) for k in keys}) == 1
    owner = cluster.node_of(ROSTER)
    assert redirect(cluster, owner, "GET", ROSTER) == ""
    for port in set(cluster.ports) - {owner}:
        assert redirect(cluster, port, "GET", ROSTER) == "MOVED %d 127.0.0.1:%d" % (
            slot_of(ROSTER), owner)


def test_cmd_keys_dbsize_and_fan_out(cluster):
    """Keys written with cmd() land on the node serving them, spread over
    the primaries; keys(), dbsize() and run()'s KEYS see every one, and
    FLUSHALL through run() empties every primary."""
    keys = ["xmpp:{u%d@localhost}:roster" % i for i in range(30)]
    for k in keys:
        assert cluster.cmd("SET", k, "v" + k) == "OK"
    assert {cluster.node_of(k) for k in keys} == set(cluster.ports)
    for k in keys:
        assert cluster.call(cluster.node_of(k), "GET", k) == "v" + k
    assert sorted(cluster.keys()) == sorted(keys)
    assert sorted(cluster.run("KEYS", "*")) == sorted(keys)
    assert cluster.dbsize() == cluster.run("DBSIZE") == len(keys)
    assert cluster.run("FLUSHALL") == "OK"
    assert cluster.keys() == [] and cluster.dbsize() == 0


def test_migrate_slot_sends_ask_then_moved():
    """While the slot is half migrated the source answers ASK for a key it
    gave away (and for a new one), serves a key it still has, and cmd()
    finds all of them; afterwards every node sends the slot to the target
    and the keys are all there."""
    with Cluster(password="sesame") as c:
        keys = ["xmpp:{alice@localhost}:k%d" % i for i in range(10)]
        for k in keys:
            c.cmd("RPUSH", k, k)
        slot, src = slot_of(ROSTER), c.node_of(ROSTER)
        dst = next(p for p in c.ports if p != src)
        seen = {}

        def during():
            seen["ask"] = [k for k in keys if redirect(c, src, "LLEN", k).startswith("ASK ")]
            seen["served"] = [k for k in keys if redirect(c, src, "LLEN", k) == ""]
            seen["found"] = [c.cmd("LINDEX", k, 0) for k in keys]
            seen["new"] = redirect(c, src, "SET", ROSTER, "x")
            seen["set"] = c.cmd("SET", ROSTER, "x")

        c.migrate_slot(slot, dst, during=during)
        assert len(seen["ask"]) == 5 and len(seen["served"]) == 5, seen
        assert redirect(c, src, "LLEN", seen["ask"][0]) != ""      # still moved now
        assert seen["found"] == keys, seen
        assert seen["new"] == "ASK %d 127.0.0.1:%d" % (slot, dst) and seen["set"] == "OK", seen
        assert c.node_of(ROSTER) == dst
        for port in c.ports:
            assert c.slot_map(port) == c.slot_map(dst)
        assert redirect(c, src, "GET", ROSTER) == "MOVED %d 127.0.0.1:%d" % (slot, dst)
        assert sorted(c.call(dst, "CLUSTER", "GETKEYSINSLOT", slot, 100)) == sorted(keys + [ROSTER])
        assert c.call(src, "CLUSTER", "COUNTKEYSINSLOT", slot) == 0
        assert c.cmd("GET", ROSTER) == "x" and c.dbsize() == 11


def test_reshard_moves_slots_with_their_keys():
    with Cluster() as c:
        a, b = c.ports[0], c.ports[1]
        last = c.slot_map(a)[0][1]            # a serves 0..last
        moved = list(range(last - 9, last + 1))
        keys, i = {}, 0
        while len(keys) < len(moved):         # a key in each of those slots
            i += 1
            k = "k%d" % i
            if slot_of(k) in moved and slot_of(k) not in keys:
                keys[slot_of(k)] = k
                assert c.cmd("SET", k, i) == "OK"
        keys = list(keys.values())
        c.reshard(10, a, b)
        assert all(c.owner(s) == b for s in moved) and c.owner(last - 10) == a
        for k in keys:
            assert c.call(b, "EXISTS", k) == 1
            assert c.cmd("GET", k) == k[1:]


def test_password_url_replicas_and_kill():
    """With a password every node wants AUTH and the URL carries it; each
    primary has its replica in CLUSTER SLOTS; kill() ends one node."""
    with Cluster(replicas=1, password="pw") as c:
        assert c.url() == "cluster://:pw@" + ",".join("127.0.0.1:%d" % p for p in c.ports)
        with pytest.raises(RedisError, match="NOAUTH"):
            redis_call(("127.0.0.1", c.ports[0]), "PING")
        m = c.slot_map(c.ports[0])
        assert sorted(r[3][0] for r in m) == sorted(c.replica_ports)
        for r in m:
            assert c.call(r[3][0], "ROLE")[0] == "slave"
        c.kill(c.replica_ports[0])
        assert c.procs[c.replica_ports[0]].poll() is not None
        assert c.live() == c.ports + c.replica_ports[1:]


def test_server_redis_goes_through_the_cluster():
    """Server(redis_cluster=...) puts the cluster:// URL in xmpp.conf and
    sends server.redis() to the node serving each key."""
    with Cluster() as c:
        s = Server(listeners=0, redis_cluster=c).start()
        try:
            with open(s.conf_path) as f:
                assert "redis = %s\n" % c.url() in f.read()
            users = ["xmpp:{u%d@localhost}:offline" % i for i in range(10)]
            for k in users:
                s.redis("RPUSH", k, "m")
            assert {c.node_of(k) for k in users} == set(c.ports)
            assert all(c.call(c.node_of(k), "LLEN", k) == 1 for k in users)
            assert sorted(s.redis("KEYS", "xmpp:*")) == sorted(users)
            assert s.redis("CLIENT", "KILL", "TYPE", "pubsub") == 0
            s.redis("FLUSHALL")
            assert c.dbsize() == 0 and s.redis("PING") == "PONG"
        finally:
            s.stop()
