"""Stream management (XEP-0198, issue 12): counting in both directions,
acknowledgement requests, detached sessions, and resumption on the same
host, on another host, after the old handler was killed, and while it
still sits on its old socket; every failure answer; nothing lost or
repeated when a client vanishes and comes back, or never comes back.

Clients are harness.Raw streams that speak XEP-0198 themselves, so every
count is checked exactly.
"""
import os
import signal
import time

import pytest

from harness import NS_STREAMS, NS_STANZA_ERR, Server, describe, wait_until
from im_helpers import NS_BIND, PW, NS_DELAY, q, raw_auth, raw_login, raw_wait, to_xml

NS_SM = "urn:xmpp:sm:3"
ALICE, BOB = "alice@localhost", "bob@localhost"
M32 = 1 << 32


def sm(name):
    return q(NS_SM, name)


def enable(r, resume=True):
    r.send("<enable xmlns='%s'%s/>" % (NS_SM, " resume='true'" if resume else ""))
    el = raw_wait(r, lambda e: e.tag in (sm("enabled"), sm("failed")))
    assert el.tag == sm("enabled"), to_xml(el)
    return el


def resume(r, previd, h):
    r.send("<resume xmlns='%s' previd='%s' h='%d'/>" % (NS_SM, previd, h))
    return raw_wait(r, lambda e: e.tag in (sm("resumed"), sm("failed")))


def message(to, body, frm=None):
    return "<message to='%s' type='chat'%s><body>%s</body></message>" % (
        to, " from='%s'" % frm if frm else "", body)


def bodies(els):
    return [e.findtext(q("jabber:client", "body")) for e in els if e.tag == q("jabber:client", "message")]


def collect(r, n, timeout=5.0, answer_r=None):
    """Read until n messages arrived; every element is returned in order.
    answer_r: a list [h] - <r/> is answered with <a h/> and h counts
    stanzas - else <r/> is left unanswered."""
    got, deadline = [], time.monotonic() + timeout
    while len(bodies(got)) < n:
        ev, el = r.next(timeout=max(0.1, deadline - time.monotonic()))
        assert ev == "element", "%s after %s" % (describe(ev, el), [to_xml(e) for e in got])
        got.append(el)
        if answer_r is not None:
            if el.tag == sm("r"):
                r.send("<a xmlns='%s' h='%d'/>" % (NS_SM, answer_r[0]))
            elif not el.tag.startswith("{%s}" % NS_SM):
                answer_r[0] = (answer_r[0] + 1) % M32
    return got


def record(server, bare, resource):
    return server.redis("HGET", "xmpp:{%s}:sessions" % bare, resource) or ""


def field(rec, name):
    for kv in rec.split():
        k, _, v = kv.partition("=")
        if k == name:
            return v
    return None


@pytest.fixture
def server():
    with Server(listeners=2, resume_timeout=30, ack_request_every=3, ack_request_delay=1) as s:
        s.adduser(ALICE, PW)
        s.adduser(BOB, PW)
        yield s


def test_feature_and_enable(server):
    r, feats = raw_auth(server, ALICE)
    assert feats.find(sm("sm")) is not None, to_xml(feats)
    # Before bind, enable is out of order (XEP-0198 3).
    r.send("<enable xmlns='%s'/>" % NS_SM)
    el = raw_wait(r, lambda e: e.tag == sm("failed"))
    assert el.find(q(NS_STANZA_ERR, "unexpected-request")) is not None, to_xml(el)
    r.send("<iq type='set' id='b'><bind xmlns='%s'><resource>a</resource></bind></iq>" % NS_BIND)
    raw_wait(r, lambda e: e.get("id") == "b")
    el = enable(r)
    assert el.get("resume") == "true" and el.get("max") == "30" and len(el.get("id")) >= 16
    # Redis holds the state an operator reads.
    st = server.redis("HGETALL", "xmpp:{%s}:sm:a" % ALICE)
    st = dict(zip(st[::2], st[1::2]))
    assert st["id"] == el.get("id") and st["resume"] == "1", st
    assert server.redis("HGET", "xmpp:{%s}:smids" % ALICE, el.get("id")) == "a"
    # Twice is out of order too.
    r.send("<enable xmlns='%s'/>" % NS_SM)
    el = raw_wait(r, lambda e: e.tag == sm("failed"))
    assert el.find(q(NS_STANZA_ERR, "unexpected-request")) is not None


def test_enable_without_resume_and_r_before_enable(server):
    r, _ = raw_login(server, ALICE, resource="a")
    r.send("<r xmlns='%s'/>" % NS_SM)
    el = raw_wait(r, lambda e: e.tag == sm("failed"))
    assert el.find(q(NS_STANZA_ERR, "unexpected-request")) is not None
    el = enable(r, resume=False)
    assert el.get("resume") is None and el.get("max") is None
    assert server.redis("HLEN", "xmpp:{%s}:smids" % ALICE) == 0


def test_counting_both_ways(server):
    a, afull = raw_login(server, ALICE, resource="a")
    enable(a)
    b, _ = raw_login(server, BOB, resource="b")
    enable(b)
    # Bob's stanzas handled: <r/> -> <a h=2/>, an IQ to the server counts too.
    b.send(message(afull, "one") + message(afull, "two"))
    b.send("<r xmlns='%s'/>" % NS_SM)
    el = raw_wait(b, lambda e: e.tag == sm("a"))
    assert el.get("h") == "2", to_xml(el)
    b.send("<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq><r xmlns='%s'/>" % NS_SM)
    raw_wait(b, lambda e: e.get("id") == "v")
    el = raw_wait(b, lambda e: e.tag == sm("a"))
    assert el.get("h") == "3", to_xml(el)
    # Alice is asked after 3 stanzas (ack_request_every): the <r/> follows
    # the third, unless the machine was slow enough for the 1 s delay's to
    # come first (one <r/> is outstanding at a time): either way, one.
    b.send(message(afull, "three"))
    got = collect(a, 3)
    assert bodies(got) == ["one", "two", "three"]
    tags = [e.tag for e in got]
    assert sm("r") in tags[1:] or raw_wait(a, lambda e: e.tag == sm("r")) is not None
    a.send("<a xmlns='%s' h='3'/>" % NS_SM)
    wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:smq:a" % ALICE) == 0, what="smq trimmed")
    assert server.redis("HGET", "xmpp:{%s}:sm:a" % ALICE, "acked") == "3"


def test_ack_request_after_delay(server):
    a, afull = raw_login(server, ALICE, resource="a")
    enable(a)
    b, _ = raw_login(server, BOB, resource="b")
    b.send(message(afull, "lonely"))
    got = collect(a, 1)
    t0 = time.monotonic()
    el = raw_wait(a, lambda e: e.tag == sm("r"), timeout=4)
    assert el is not None and time.monotonic() - t0 < 3.5, [to_xml(e) for e in got]
    assert server.redis("LLEN", "xmpp:{%s}:smq:a" % ALICE) == 1
    a.send("<a xmlns='%s' h='1'/>" % NS_SM)
    wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:smq:a" % ALICE) == 0, what="smq trimmed")


def test_h_too_high_is_a_stream_error(server):
    a, afull = raw_login(server, ALICE, resource="a")
    enable(a)
    a.send("<a xmlns='%s' h='5'/>" % NS_SM)
    el = raw_wait(a, lambda e: e.tag == q(NS_STREAMS, "error"))
    assert el.find(q("urn:ietf:params:xml:ns:xmpp-streams", "undefined-condition")) is not None
    hc = el.find(sm("handled-count-too-high"))
    assert hc is not None and hc.get("h") == "5" and hc.get("send-count") == "0", to_xml(el)


def cut_with_unacked(server, listener=0, acked=1, available=False):
    """Alice (SM, resumable) gets three messages from Bob, acknowledges the
    first `acked` of them, and is ready to be cut. With available, she
    sends initial presence first. Returns (alice raw, bob raw, id, full)."""
    a, afull = raw_login(server, ALICE, resource="a", listener=listener)
    smid = enable(a).get("id")
    b, _ = raw_login(server, BOB, resource="b")
    if available:
        a.send("<presence/>")
        raw_wait(a, lambda e: e.tag == q("jabber:client", "presence"))   # our own, back
        a.send("<a xmlns='%s' h='1'/>" % NS_SM)
    for i in range(1, 4):
        b.send(message(afull, "m%d" % i))
    base = 1 if available else 0
    got = [e for e in collect(a, 3) if not e.tag.startswith("{%s}" % NS_SM)]
    h = base + ([i + 1 for i, e in enumerate(got)
                 if e.tag == q("jabber:client", "message")][acked - 1] if acked else 0)
    a.send("<a xmlns='%s' h='%d'/>" % (NS_SM, h))
    a.sm_h = h
    wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:smq:a" % ALICE) == base + len(got) - h,
               what="the ack recorded")
    return a, b, smid, afull


def test_resume_after_cut_same_host(server):
    a, b, smid, afull = cut_with_unacked(server, available=True)
    a.close()
    wait_until(lambda: int(field(record(server, ALICE, "a"), "det") or 0) > 0,
               what="the session detached")
    # Still available to contacts: messages go to its inbox meanwhile.
    b.send(message(afull, "m4") + message(ALICE, "m5"))
    wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:inbox:a" % ALICE) == 2, what="inbox")
    # An operator sees it detached, still available.
    out = server.ctl("sessions", ALICE).stdout
    assert "alice@localhost/a " in out and "pid=0 " in out and "avail=1" in out, out
    assert "detached-until=" in out, out
    r, _ = raw_auth(server, ALICE)
    el = resume(r, smid, a.sm_h)
    assert el.tag == sm("resumed") and el.get("previd") == smid and el.get("h") == "1", to_xml(el)
    got = collect(r, 4)
    assert bodies(got) == ["m2", "m3", "m4", "m5"], [to_xml(e) for e in got]
    # Nothing twice, and the session is attached again.
    n = len([e for e in got if not e.tag.startswith("{%s}" % NS_SM)])
    r.send("<a xmlns='%s' h='%d'/>" % (NS_SM, a.sm_h + n))
    wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:smq:a" % ALICE) == 0, what="acked")
    assert field(record(server, ALICE, "a"), "det") == "0"
    b.send(message(afull, "m6"))
    assert bodies(collect(r, 1)) == ["m6"]


def test_resume_on_another_host(server):
    a, b, smid, afull = cut_with_unacked(server, listener=0, acked=0)
    a.close()
    wait_until(lambda: int(field(record(server, ALICE, "a"), "det") or 0) > 0, what="detached")
    r, _ = raw_auth(server, ALICE, listener=1)
    el = resume(r, smid, 2)
    assert el.tag == sm("resumed"), to_xml(el)
    assert bodies(collect(r, 1)) == ["m3"]
    b.send(message(afull, "after"))
    assert bodies(collect(r, 1)) == ["after"]


def test_resume_after_handler_killed(server):
    a, b, smid, afull = cut_with_unacked(server, acked=1)
    pid = int(field(record(server, ALICE, "a"), "pid"))
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: pid not in server.handler_pids(), what="the handler gone")
    b.send(message(afull, "m4"))
    r, _ = raw_auth(server, ALICE, listener=1)
    el = resume(r, smid, 2)
    assert el.tag == sm("resumed"), to_xml(el)
    assert bodies(collect(r, 2)) == ["m3", "m4"]


def test_resume_while_old_handler_still_connected(server):
    a, b, smid, afull = cut_with_unacked(server, acked=0)
    old = int(field(record(server, ALICE, "a"), "pid"))
    # The old connection is still open: the resuming handler takes over.
    r, _ = raw_auth(server, ALICE, listener=1)
    el = resume(r, smid, 1)
    assert el.tag == sm("resumed"), to_xml(el)
    assert bodies(collect(r, 2)) == ["m2", "m3"]
    ev, el = a.next()
    while ev == "element" and el.tag != q(NS_STREAMS, "error"):
        ev, el = a.next()
    assert el is not None and el.find(q("urn:ietf:params:xml:ns:xmpp-streams", "conflict")) is not None
    wait_until(lambda: old not in server.handler_pids(), what="the old handler ends")
    # The session lives on: no unavailable presence, record ours.
    assert field(record(server, ALICE, "a"), "pid") != str(old)
    b.send(message(afull, "later"))
    assert bodies(collect(r, 1)) == ["later"]


def test_failed_unknown_other_user_and_gone(server):
    r, _ = raw_auth(server, ALICE)
    el = resume(r, "nosuchid", 0)
    assert el.tag == sm("failed") and el.get("h") is None
    assert el.find(q(NS_STANZA_ERR, "item-not-found")) is not None, to_xml(el)
    # Bob's session id is not Alice's to resume.
    b, _ = raw_login(server, BOB, resource="b")
    bid = enable(b).get("id")
    r2, _ = raw_auth(server, ALICE)
    el = resume(r2, bid, 0)
    assert el.tag == sm("failed") and el.find(q(NS_STANZA_ERR, "item-not-found")) is not None
    # An id that ended in order: failed, with the count of what it handled.
    a, afull = raw_login(server, ALICE, resource="a")
    aid = enable(a).get("id")
    a.send(message(BOB, "x") + message(BOB, "y"))
    a.send("</stream:stream>")
    a.read_until_closed()
    r3, _ = raw_auth(server, ALICE)
    el = resume(r3, aid, 0)
    assert el.tag == sm("failed") and el.get("h") == "2", to_xml(el)
    assert el.find(q(NS_STANZA_ERR, "item-not-found")) is not None
    # A failed resumption leaves the stream usable: bind follows.
    r3.send("<iq type='set' id='b'><bind xmlns='%s'/></iq>" % NS_BIND)
    assert raw_wait(r3, lambda e: e.get("id") == "b").get("type") == "result"


def test_resume_h_too_high_and_after_bind(server):
    a, b, smid, afull = cut_with_unacked(server, acked=0)
    a.close()
    r, _ = raw_auth(server, ALICE)
    el = resume(r, smid, 7)
    assert el.tag == sm("failed"), to_xml(el)
    hc = el.find(sm("handled-count-too-high"))
    assert hc is not None and hc.get("send-count") == "3", to_xml(el)
    # Resume after bind is out of order.
    c, _ = raw_login(server, BOB, resource="c")
    el = resume(c, smid, 0)
    assert el.tag == sm("failed") and el.find(q(NS_STANZA_ERR, "unexpected-request")) is not None


def test_counts_wrap_at_2_32(server):
    a, b, smid, afull = cut_with_unacked(server, acked=0)
    a.close()
    wait_until(lambda: int(field(record(server, ALICE, "a"), "det") or 0) > 0, what="detached")
    # As if the session had run for 2^32 - 2 stanzas each way.
    server.redis("HSET", "xmpp:{%s}:sm:a" % ALICE, "acked", str(M32 - 2), "hin", str(M32 - 1))
    r, _ = raw_auth(server, ALICE)
    el = resume(r, smid, M32 - 1)          # acknowledges m1
    assert el.tag == sm("resumed") and el.get("h") == str(M32 - 1), to_xml(el)
    assert bodies(collect(r, 2)) == ["m2", "m3"]
    # m2 was number 2^32 - 1 + 1 = 0, m3 is 1.
    r.send("<a xmlns='%s' h='1'/>" % NS_SM)
    wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:smq:a" % ALICE) == 0, what="acked")
    r.send(message(BOB, "wrap") + "<r xmlns='%s'/>" % NS_SM)
    el = raw_wait(r, lambda e: e.tag == sm("a"))
    assert el.get("h") == "0", to_xml(el)


def test_never_resumed_goes_offline_with_delay():
    """A detached session never resumed: its contact sees it available
    until the deadline, then unavailable; what it had not acknowledged
    and what came meanwhile are stored offline, stamped."""
    with Server(resume_timeout=3, session_ttl=6) as server:
        server.adduser(ALICE, PW)
        server.adduser(BOB, PW)
        for who, other in ((ALICE, BOB), (BOB, ALICE)):
            assert server.ctl("roster", who, "add", other).returncode == 0
        b, _ = raw_login(server, BOB, resource="b")
        b.send("<presence/>")
        a, afull = raw_login(server, ALICE, resource="a")
        enable(a)
        a.send("<presence/>")
        raw_wait(b, lambda e: e.tag == q("jabber:client", "presence") and e.get("from") == afull)
        b.send(message(afull, "unacked"))
        collect(a, 1)
        a.close()
        wait_until(lambda: int(field(record(server, ALICE, "a"), "det") or 0) > 0,
                   what="detached")
        b.send(message(afull, "while-away"))
        # The reaper (Bob's handler heartbeat) ends it after the deadline,
        # and only then does Bob see Alice go.
        t0 = time.monotonic()
        el = raw_wait(b, lambda e: e.tag == q("jabber:client", "presence") and
                      e.get("from") == afull, timeout=20)
        assert el.get("type") == "unavailable" and time.monotonic() - t0 > 1, to_xml(el)
        wait_until(lambda: record(server, ALICE, "a") == "", timeout=20, what="ended")
        wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:offline" % ALICE) == 2,
                   what="both messages offline")
        assert server.redis("EXISTS", "xmpp:{%s}:sm:a" % ALICE) == 0
        assert server.redis("EXISTS", "xmpp:{%s}:smq:a" % ALICE) == 0
        assert server.redis("EXISTS", "xmpp:{%s}:inbox:a" % ALICE) == 0
        off = server.redis("LRANGE", "xmpp:{%s}:offline" % ALICE, 0, -1)
        assert len(off) == 2 and "unacked" in off[0] and "while-away" in off[1], off
        assert all(NS_DELAY in s for s in off)


def test_flood_resumed_while_old_handler_delivers(server):
    """The loss test: Bob floods Alice; mid-flood Alice's client stops
    reading (its old handler still runs and still writes) and resumes on
    the other host with the count it really read. Every message arrives
    exactly once, in order, across both connections."""
    N = 300
    a, afull = raw_login(server, ALICE, resource="a")
    smid = enable(a).get("id")
    b, _ = raw_login(server, BOB, resource="b")
    b.send("".join(message(afull, "f%d" % i) for i in range(1, N + 1)))
    seen, h = [], 0
    while len(seen) < N // 3:
        ev, el = a.next()
        assert ev == "element", describe(ev, el)
        if el.tag == sm("r"):
            a.send("<a xmlns='%s' h='%d'/>" % (NS_SM, h))
        elif not el.tag.startswith("{%s}" % NS_SM):
            h += 1
            seen.append(el.findtext(q("jabber:client", "body")))
    # Alice's phone goes silent here: the socket stays open, unread.
    r, _ = raw_auth(server, ALICE, listener=1)
    el = resume(r, smid, h)
    assert el.tag == sm("resumed"), to_xml(el)
    rest = bodies(collect(r, N - len(seen), timeout=20, answer_r=[h]))
    got = seen + rest
    assert got == ["f%d" % i for i in range(1, N + 1)], (len(seen), len(rest), got[:5])
    # and nothing more comes
    b.send(message(afull, "end"))
    assert bodies(collect(r, 1)) == ["end"]


def test_handler_stopped_detaches_and_resumes(server):
    """A handler told to stop (SIGTERM, as systemctl stop does) ends the
    stream with <system-shutdown/> but keeps the session: the client
    resumes it on another handler."""
    a, b, smid, afull = cut_with_unacked(server, acked=1)
    pid = int(field(record(server, ALICE, "a"), "pid"))
    os.kill(pid, signal.SIGTERM)
    el = raw_wait(a, lambda e: e.tag == q(NS_STREAMS, "error"))
    assert el.find(q("urn:ietf:params:xml:ns:xmpp-streams", "system-shutdown")) is not None
    wait_until(lambda: int(field(record(server, ALICE, "a"), "det") or 0) > 0, what="detached")
    r, _ = raw_auth(server, ALICE, listener=1)
    el = resume(r, smid, a.sm_h)
    assert el.tag == sm("resumed"), to_xml(el)
    assert bodies(collect(r, 2)) == ["m2", "m3"]


def test_deluser_removes_stream_management_state(server):
    """xmppctl deluser leaves no key of the user behind: its detached
    session's inbox, state and unacknowledged list go with the rest."""
    a, b, smid, afull = cut_with_unacked(server, acked=1)
    a.close()
    wait_until(lambda: int(field(record(server, ALICE, "a"), "det") or 0) > 0, what="detached")
    b.send(message(afull, "m4"))
    wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:inbox:a" % ALICE) == 1, what="inbox")
    assert server.ctl("deluser", ALICE).returncode == 0
    left = server.redis("KEYS", "xmpp:{%s}*" % ALICE)
    assert left == [], left


def test_kick_ends_a_detached_session():
    """xmppctl kick of a session no handler serves hands it to the
    reaper: it ends at the next heartbeat of any handler, its messages
    go offline."""
    with Server(resume_timeout=300, session_ttl=6) as server:
        server.adduser(ALICE, PW)
        server.adduser(BOB, PW)
        a, b, smid, afull = cut_with_unacked(server, acked=1)
        a.close()
        wait_until(lambda: int(field(record(server, ALICE, "a"), "det") or 0) > 0,
                   what="detached")
        out = server.ctl("kick", ALICE + "/a").stdout
        assert out.strip() == "alice@localhost/a expired (no handler)", out
        wait_until(lambda: record(server, ALICE, "a") == "", timeout=10, what="ended")
        wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:offline" % ALICE) == 2,
                   what="m2, m3 offline")
        assert server.redis("EXISTS", "xmpp:{%s}:sm:a" % ALICE) == 0


def test_state_lost_with_redis_data_ends_the_stream(server):
    """Redis lost its data (FLUSHALL stands for a restart without
    persistence): the session cannot go on as its client believes, so
    the next write ends the stream with <internal-server-error/>, not
    the <conflict/> of a takeover."""
    a, afull = raw_login(server, ALICE, resource="a")
    enable(a)
    server.redis("FLUSHALL")
    a.send("<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    el = raw_wait(a, lambda e: e.tag == q(NS_STREAMS, "error"))
    assert el.find(q("urn:ietf:params:xml:ns:xmpp-streams", "internal-server-error")) \
        is not None, to_xml(el)
