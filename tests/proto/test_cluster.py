"""Redis Cluster (issue 18): xmppd on a cluster of three primaries
(redis = cluster://...), started by the test (cluster_harness.Cluster,
every process stopped by PID).

Each user's keys live on the primary of their slot (the {bare} hash
tag), so the users of these tests are picked to live on different
primaries; what one user does to another (a message, a subscription)
then crosses primaries through the handlers, never inside one command.

test_resharding_loses_nothing is the test the issue asks for: a steady
message load (load_clients: senders with XEP-0198, receivers without)
while the slots of every sender and receiver move to another primary
(CLUSTER SETSLOT MIGRATING/IMPORTING and MIGRATE, with traffic running
while each slot is half moved: ASK redirections), then every message
is counted: sent, acknowledged, delivered, stored (offline list or
archive), bounced and lost (acknowledged but neither delivered nor
stored), which must be none.
"""
import os
import threading
import time

import pytest

import clients as C
from cluster_harness import Cluster
from harness import to_xml, wait_until
from im_helpers import PW, body_is, handshake, is_, online
from load_clients import RATE, Clock, Receiver, Sender

DOMAIN = "localhost"
PAIRS = 3                 # sender/receiver pairs of the resharding test
LOAD_BEFORE = 1.5         # seconds of load before the first slot moves
HALF_MOVED = 0.5          # seconds of load while a slot is half moved
LOAD_AFTER = 2.0          # ... and after the last one moved


@pytest.fixture
def cluster():
    with Cluster(primaries=3, node_timeout_ms=10000) as c:
        yield c


def key(bare, what):
    return "xmpp:{%s}:%s" % (bare, what)


def users_on(cluster, names, per_primary=1):
    """Bare JIDs name0@, name1@ ... chosen so that each primary holds
    per_primary of them (for each name prefix), in primary order: a list
    of (bare, port)."""
    out = []
    for name in names:
        want = {p: per_primary for p in cluster.ports}
        i = 0
        while any(want.values()):
            bare = "%s%d@%s" % (name, i, DOMAIN)
            p = cluster.node_of(key(bare, "account"))
            if want[p]:
                want[p] -= 1
                out.append((bare, p))
            i += 1
    return out


def test_im_across_primaries(server_factory, cluster):
    """Two users on two primaries: accounts, a subscription both ways,
    presence, messages both ways, an offline message, and xmppctl's
    users, sessions, roster and kick, all on the cluster."""
    server = server_factory(redis_cluster=cluster)
    (alice, pa), (bob, pb), _ = users_on(cluster, ["u"])
    assert pa != pb
    server.adduser(alice, PW)
    server.adduser(bob, PW)
    # Each account is where its slot is, and nowhere else.
    assert cluster.call(pa, "EXISTS", key(alice, "account")) == 1
    assert cluster.call(pb, "EXISTS", key(bob, "account")) == 1
    assert sorted(server.ctl("users").stdout.split()) == sorted([alice, bob])
    seen = {}

    async def go():
        a = await online(server.port, alice + "/a")
        b = await online(server.port, bob + "/b")
        await handshake(a, b)
        # Presence goes both ways once subscribed.
        n = a.mark()
        b.xmpp.send_presence(pstatus="here")
        await a.wait(is_("presence", from_=bob + "/b"), since=n)
        seen["sessions"] = server.ctl("sessions").stdout
        seen["roster"] = server.ctl("roster", alice).stdout
        a.xmpp.send_message(mto=bob, mbody="to bob", mtype="chat")
        await b.wait1(body_is("to bob"))
        b.xmpp.send_message(mto=alice, mbody="to alice", mtype="chat")
        await a.wait1(body_is("to alice"))
        await b.close()
        # Offline: stored on bob's primary, delivered at his next login.
        a.xmpp.send_message(mto=bob, mbody="while away", mtype="chat")
        await a.sync()
        seen["offline"] = C.poll(
            lambda: cluster.call(pb, "LLEN", key(bob, "offline")) == 1, 5)
        b = await online(server.port, bob + "/b")
        await b.wait1(body_is("while away"))
        seen["kick"] = server.ctl("kick", bob).returncode
        seen["after_kick"] = C.poll(lambda: bob not in server.ctl("sessions").stdout, 5)
        await a.close()
    C.run(go, timeout=90)
    assert alice + "/a" in seen["sessions"] and bob + "/b" in seen["sessions"], seen
    assert bob in seen["roster"] and "both" in seen["roster"], seen
    assert seen["offline"], "the offline message is not on bob's primary"
    assert seen["kick"] == 0 and seen["after_kick"], seen
    # Nothing of the two users' landed on a third primary (one slot each).
    third = [p for p in cluster.ports if p not in (pa, pb)][0]
    assert not [k for k in cluster.call(third, "KEYS", "*") if "{u" in k], \
        cluster.call(third, "KEYS", "*")


def _stored(cluster, bares, ids):
    """The ids found as message bodies in the offline lists and archives
    of bares: (offline, archive)."""
    off, mam = "", ""
    for bare in bares:
        off += " ".join(cluster.cmd("LRANGE", key(bare, "offline"), 0, -1) or [])
        for _id, fields in cluster.cmd("XRANGE", key(bare, "mam"), "-", "+") or []:
            mam += " " + " ".join(fields)

    def found(text):
        return {m for m in ids if "<body>%s</body>" % m in text}
    return found(off), found(mam)


# Not "timing": it asserts no wall-clock bound, so it runs beside the others.
def test_resharding_loses_nothing(server_factory, cluster, tmp_path):
    """Every sender's and receiver's slot moves to the next primary while
    messages flow; none acknowledged is lost, and after the moves the
    messages still flow and the keys are on their new primaries."""
    server = server_factory(redis_cluster=cluster, resume_timeout=60,
                            ack_request_every=5, ack_request_delay=1)
    people = users_on(cluster, ["s", "r"])
    senders = [b for b, _ in people if b.startswith("s")][:PAIRS]
    receivers = [b for b, _ in people if b.startswith("r")][:PAIRS]
    for u in senders + receivers:
        server.adduser(u, PW)
    clock = Clock()
    load, stop, stop_rx = (threading.Event() for _ in range(3))
    rx = [Receiver(server, clock, b, stop_rx) for b in receivers]
    tx = [Sender(server, clock, s, r, load, stop) for s, r in zip(senders, receivers[1:] +
                                                                    receivers[:1])]
    for t in rx + tx:
        t.start()
    wait_until(lambda: len({w for _, w in clock.logins}) == 2 * PAIRS, timeout=20,
               what="every client logged in")
    load.set()
    time.sleep(LOAD_BEFORE)

    clock.kill = time.monotonic()
    moves = []
    for bare in senders + receivers:
        slot = cluster.slot_of(key(bare, "account"))
        src = cluster.owner(slot)
        dst = cluster.ports[(cluster.ports.index(src) + 1) % len(cluster.ports)]
        cluster.migrate_slot(slot, dst, during=lambda: time.sleep(HALF_MOVED))
        moves.append((bare, slot, src, dst))
    t_moved = time.monotonic()

    def moving_again():
        return [t for r in rx for t in r.delivered.values() if t > t_moved]
    wait_until(moving_again, timeout=20, what="a message delivered after the moves")
    time.sleep(LOAD_AFTER)
    load.clear()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(
            s.pump and not s.pump.gone and s.h_acked == len(s.session) for s in tx):
        time.sleep(0.05)
    stop.set()
    for t in tx:
        t.join(5)
    sent = {m for s in tx for m in s.sent}
    accepted = {m for s in tx for m in s.acked}
    late = time.monotonic() + 5
    wait_until(lambda: accepted <= {m for r in rx for m in r.delivered} or
               time.monotonic() > late, timeout=10, what="deliveries")
    stop_rx.set()
    for t in rx:
        t.join(5)
    errors = [t.error for t in tx + rx if t.error]
    assert not errors, errors

    delivered = {m for r in rx for m in r.delivered}
    offline, archived = _stored(cluster, receivers, sent)
    bounced = {m for s in tx for m in s.bounced}
    lost = sorted(accepted - delivered - offline - archived)
    k = clock.kill
    deliveries = sorted(t for r in rx for t in r.delivered.values())
    gap = max((b - a for a, b in zip(deliveries, deliveries[1:]) if b > k), default=None)
    ends = [(round(t - k, 2), who, cond, text) for t, who, cond, text in clock.stream_ends]
    where = [(bare, cluster.node_of(key(bare, "account"))) for bare, _, _, _ in moves]
    log = server.log()
    report = "\n".join([
        "resharding: %d slots moved (one per user, each half-moved for %.1f s) in %.2f s, "
        "%d pairs at %d msg/s each" % (len(moves), HALF_MOVED, t_moved - k, PAIRS, RATE),
        "messages: sent %d, acknowledged %d, delivered %d, offline %d, archived %d, "
        "bounced %d, lost %d" % (len(sent), len(accepted), len(delivered), len(offline),
                                 len(archived), len(bounced), len(lost)),
        "longest pause between deliveries after the first move: %s"
        % ("%.2f s" % gap if gap is not None else "none"),
        "stream ends (s after the first move, who, condition, text): %s" % (ends or "none"),
        "senders: %s" % ", ".join("%s resumed %d, new sessions %d" % (
            s.bare, s.resumes, s.new_sessions - 1) for s in tx),
        "handler log: %d x storage unavailable" % log.count("(storage unavailable)"),
        "bounced: %s" % {m: to_xml(e) for s in tx for m, e in s.bounced.items()},
        "moves (user, slot, from, to): %s" % moves,
        "lost: %s" % lost,
    ])
    print(report)
    (tmp_path / "resharding.txt").write_text(report + "\n")
    with open(os.path.join(server.dir, "resharding.txt"), "w") as f:
        f.write(report + "\n")

    assert len(accepted) >= RATE * PAIRS * (LOAD_BEFORE + LOAD_AFTER) / 4, report
    assert not lost, report
    # A move is not a failure: nothing is answered with an error either.
    assert not bounced, report
    assert moving_again(), report
    # The keys went with their slots.
    assert where == [(bare, dst) for bare, _, _, dst in moves], report


def test_failover_loses_nothing(server_factory, tmp_path):
    """A primary with a replica is killed (SIGKILL) under the same steady
    load, with redis_wait_replicas = 1: the cluster promotes the replica
    (cluster-node-timeout 2 s), and meanwhile every primary answers
    CLUSTERDOWN. Handlers count what they could not route as unhandled
    (the senders resend after resuming) and end the streams whose
    subscriber was on the dead primary. None acknowledged is lost."""
    with Cluster(primaries=3, replicas=1, node_timeout_ms=2000) as cluster:
        server = server_factory(redis_cluster=cluster, redis_wait_replicas=1,
                                redis_wait_timeout_ms=1000, resume_timeout=60,
                                ack_request_every=5, ack_request_delay=1)
        people = users_on(cluster, ["s", "r"])
        senders = [b for b, _ in people if b.startswith("s")][:PAIRS]
        receivers = [b for b, _ in people if b.startswith("r")][:PAIRS]
        for u in senders + receivers:
            server.adduser(u, PW)
        clock = Clock()
        load, stop, stop_rx = (threading.Event() for _ in range(3))
        rx = [Receiver(server, clock, b, stop_rx) for b in receivers]
        tx = [Sender(server, clock, s, r, load, stop)
              for s, r in zip(senders, receivers[1:] + receivers[:1])]
        for t in rx + tx:
            t.start()
        wait_until(lambda: len({w for _, w in clock.logins}) == 2 * PAIRS, timeout=20,
                   what="every client logged in")
        load.set()
        time.sleep(LOAD_BEFORE)

        victim = cluster.node_of(key(receivers[0], "account"))
        slot = cluster.slot_of(key(receivers[0], "account"))
        clock.kill = time.monotonic()
        cluster.kill(victim)
        promoted = wait_until(lambda: cluster.owner(slot) != victim and
                              cluster.info(cluster.owner(slot)).get("cluster_state") == "ok"
                              and cluster.owner(slot), timeout=30, what="the replica promoted")
        t_promoted = time.monotonic()

        def moving_again():
            return [t for r in rx for t in r.delivered.values() if t > t_promoted]
        wait_until(moving_again, timeout=30, what="a message delivered after the failover")
        time.sleep(LOAD_AFTER)
        load.clear()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(
                s.pump and not s.pump.gone and s.h_acked == len(s.session) for s in tx):
            time.sleep(0.05)
        stop.set()
        for t in tx:
            t.join(5)
        sent = {m for s in tx for m in s.sent}
        accepted = {m for s in tx for m in s.acked}
        late = time.monotonic() + 5
        wait_until(lambda: accepted <= {m for r in rx for m in r.delivered} or
                   time.monotonic() > late, timeout=10, what="deliveries")
        stop_rx.set()
        for t in rx:
            t.join(5)
        errors = [t.error for t in tx + rx if t.error]
        assert not errors, errors

        delivered = {m for r in rx for m in r.delivered}
        offline, archived = _stored(cluster, receivers, sent)
        bounced = {m for s in tx for m in s.bounced}
        lost = sorted(accepted - delivered - offline - archived)
        k = clock.kill
        deliveries = sorted(t for r in rx for t in r.delivered.values())
        gap = max((b - a for a, b in zip(deliveries, deliveries[1:]) if b > k), default=None)
        ends = [(round(t - k, 2), who, cond, text) for t, who, cond, text in clock.stream_ends]
        logins_after = sorted(t for t, _ in clock.logins if t > k)
        report = "\n".join([
            "cluster failover: primary %d killed, replica %d promoted after %.2f s; "
            "%d pairs at %d msg/s each, redis_wait_replicas = 1"
            % (victim, promoted, t_promoted - k, PAIRS, RATE),
            "messages: sent %d, acknowledged %d, delivered %d, offline %d, archived %d, "
            "bounced %d, lost %d" % (len(sent), len(accepted), len(delivered), len(offline),
                                     len(archived), len(bounced), len(lost)),
            "first login after the kill at %s; first delivery after the promotion at "
            "%.2f s; longest pause between deliveries %s"
            % ("%.2f s" % (logins_after[0] - k) if logins_after else "never",
               moving_again()[0] - k if moving_again() else -1,
               "%.2f s" % gap if gap is not None else "none"),
            "stream ends (s after the kill, who, condition, text): %s" % (ends or "none"),
            "senders: %s" % ", ".join("%s resumed %d, new sessions %d" % (
                s.bare, s.resumes, s.new_sessions - 1) for s in tx),
            "bounced: %s" % {m: to_xml(e) for s in tx for m, e in s.bounced.items()},
            "lost: %s" % lost,
        ])
        print(report)
        (tmp_path / "cluster-failover.txt").write_text(report + "\n")
        with open(os.path.join(server.dir, "cluster-failover.txt"), "w") as f:
            f.write(report + "\n")

        assert not lost, report
        assert moving_again(), report
        # A stream the server ended over the failover says why.
        bad = [e for e in ends if e[2] != "internal-server-error"]
        assert not bad, report
