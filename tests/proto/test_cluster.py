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
import time

import pytest

import clients as C
from cluster_harness import Cluster
from harness import wait_until
from im_helpers import PW, body_is, handshake, is_, online
from load_clients import RATE, Load

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


def spread_pairs(server, cluster):
    """PAIRS senders and receivers, each primary holding some of both,
    with accounts; sender i writes to receiver i + 1 (another primary)."""
    people = users_on(cluster, ["s", "r"])
    senders = [b for b, _ in people if b.startswith("s")][:PAIRS]
    receivers = [b for b, _ in people if b.startswith("r")][:PAIRS]
    for u in senders + receivers:
        server.adduser(u, PW)
    return senders, receivers, receivers[1:] + receivers[:1]


def report_of(run, cluster, receivers, title, tmp_path, server, name, more=()):
    """Every message counted (offline and archive read on the cluster),
    printed and written to name in tmp_path and the server's dir: the
    report and the lost ids."""
    offline, archived = _stored(cluster, receivers, run.sent)
    lost = sorted(run.accepted - run.delivered - offline - archived)
    flow = run.flowing(run.since)
    gap = run.longest_pause()
    report = "\n".join([title,
        "messages: sent %d, acknowledged %d, delivered %d, offline %d, archived %d, "
        "bounced %d, lost %d" % (len(run.sent), len(run.accepted), len(run.delivered),
                                 len(offline), len(archived), len(run.bounced), len(lost)),
        "messages flowing again at %s after the disruption began; longest pause between "
        "deliveries %s" % ("%.2f s" % (flow[0] - run.clock.kill) if flow else "never",
                           "%.2f s" % gap if gap is not None else "none"),
        "stream ends (s after the disruption began, who, condition, text): %s"
        % (run.ends() or "none"),
        run.senders_line(), run.bounced_line()] + list(more) + ["lost: %s" % lost])
    print(report)
    (tmp_path / name).write_text(report + "\n")
    with open(os.path.join(server.dir, name), "w") as f:   # kept with XMPPD_KEEP_TMP
        f.write(report + "\n")
    return report, lost


# Not "timing": it asserts no wall-clock bound, so it runs beside the others.
def test_resharding_loses_nothing(server_factory, cluster, tmp_path):
    """Every sender's and receiver's slot moves to the next primary while
    messages flow; none acknowledged is lost or bounced, and after the
    moves the messages still flow and the keys are on their new
    primaries."""
    server = server_factory(redis_cluster=cluster, resume_timeout=60,
                            ack_request_every=5, ack_request_delay=1)
    senders, receivers, to = spread_pairs(server, cluster)
    run = Load(server, senders, receivers, to)
    moves = []

    def reshard():
        run.clock.kill = time.monotonic()
        for bare in senders + receivers:
            slot = cluster.slot_of(key(bare, "account"))
            src = cluster.owner(slot)
            dst = cluster.ports[(cluster.ports.index(src) + 1) % len(cluster.ports)]
            cluster.migrate_slot(slot, dst, during=lambda: time.sleep(HALF_MOVED))
            moves.append((bare, slot, src, dst))
        return time.monotonic()
    run.run(LOAD_BEFORE, reshard, LOAD_AFTER)
    where = [(bare, cluster.node_of(key(bare, "account"))) for bare, _, _, _ in moves]
    report, lost = report_of(
        run, cluster, receivers,
        "resharding: %d slots moved (one per user, each half-moved for %.1f s) in %.2f s, "
        "%d pairs at %d msg/s each" % (len(moves), HALF_MOVED, run.since - run.clock.kill,
                                       PAIRS, RATE),
        tmp_path, server, "resharding.txt",
        ["handler log: %d x storage unavailable" % server.log().count("(storage unavailable)"),
         "moves (user, slot, from, to): %s" % moves])
    assert len(run.accepted) >= RATE * PAIRS * (LOAD_BEFORE + LOAD_AFTER) / 4, report
    assert not lost, report
    # A move is not a failure: nothing is answered with an error either,
    # and what found no listener while a channel moved was taken from
    # offline storage by the live session once it listened again.
    assert not run.bounced, report
    assert run.accepted <= run.delivered, report
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
        senders, receivers, to = spread_pairs(server, cluster)
        run = Load(server, senders, receivers, to)
        victim = cluster.node_of(key(receivers[0], "account"))
        slot = cluster.slot_of(key(receivers[0], "account"))
        promoted = []

        def kill():
            run.clock.kill = time.monotonic()
            cluster.kill(victim)
            promoted.append(wait_until(
                lambda: cluster.owner(slot) != victim and
                cluster.info(cluster.owner(slot)).get("cluster_state") == "ok" and
                cluster.owner(slot), timeout=30, what="the replica promoted"))
            return time.monotonic()
        run.run(LOAD_BEFORE, kill, LOAD_AFTER, settle=15, flowing_timeout=30)
        logins_after = sorted(t for t, _ in run.clock.logins if t > run.clock.kill)
        report, lost = report_of(
            run, cluster, receivers,
            "cluster failover: primary %d killed, replica %d promoted after %.2f s; "
            "%d pairs at %d msg/s each, redis_wait_replicas = 1"
            % (victim, promoted[0], run.since - run.clock.kill, PAIRS, RATE),
            tmp_path, server, "cluster-failover.txt",
            ["first login after the kill at %s" % ("%.2f s" % (logins_after[0] - run.clock.kill)
                                                  if logins_after else "never")])
        assert not lost, report
        # A stream the server ended over the failover says why.
        bad = [e for e in run.ends() if e[2] != "internal-server-error"]
        assert not bad, report
