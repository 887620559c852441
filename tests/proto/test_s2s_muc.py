"""test_s2s_muc.py - users of other domains in our rooms (s2s/mucin.c,
s2s/roomrelay.c), driven by test_s2s_in.py's raw server-to-server client
as bob@remote.test, with alice@localhost a local occupant (raw client).

- Through xmpp-s2s-in alone: bob's join runs the room's script, and its
  welcome (alice's presence, his own with 110, the subject) is queued to
  remote.test in that order; he is recorded in {room}:remote and the
  room in s2s:rooms; alice sees him come and his groupchat message;
  refusals come back as stanza errors queued to him (a room he may not
  make, a message from a session not in the room, disco#info of a room
  that does not exist); the room's disco#info (without the archive) and
  a self-ping to his nick are answered; an error from his server takes him out (333).
- With xmpp-s2s-out: `xmppctl s2s` lists the room and its relay; the
  room's relay queues what alice says for him; a
  relay killed with SIGKILL is started again and reads on from the
  record, so what was said meanwhile reaches him; a stanza of the room
  that his server never takes is bounced after s2s_timeout, and the
  bounce takes him out of the room (333), after which the relay ends.
"""
import os
import signal
import socket
import time
import xml.etree.ElementTree as ET

from harness import wait_until
from im_helpers import raw_login, raw_wait, is_
from test_s2s_in import REMOTE, PW, fed, s2spki, sasl_stream  # noqa: F401 (fixtures)
from test_s2s_out import Silent, dns, dispatchers  # noqa: F401 (fixtures)

MUCD = "conference.localhost"
ROOM = "lobby@" + MUCD
ROUTE = "%s/%s" % (REMOTE, MUCD)
NS_MUC = "http://jabber.org/protocol/muc"
NS_USER = NS_MUC + "#user"
NS_DISCO = "http://jabber.org/protocol/disco#info"
BOB = "bob@%s/r" % REMOTE


def codes(el):
    x = el.find("{%s}x" % NS_USER)
    return sorted(s.get("code") for s in x.findall("{%s}status" % NS_USER)) if x is not None \
        else []


def queued(s):
    """What waits for remote.test from the conference domain, parsed."""
    out = []
    for env in s.redis("LRANGE", "xmpp:s2s:out:{%s}" % ROUTE, "0", "-1") or []:
        out.append(ET.fromstring(env.split("\n", 1)[1]))
    return out


def alice_makes_the_room(s):
    s.adduser("alice@localhost", PW)
    alice, _ = raw_login(s, "alice@localhost", PW)
    alice.send("<presence to='%s/alice'><x xmlns='%s'/></presence>" % (ROOM, NS_MUC))
    raw_wait(alice, lambda e: e.get("from") == ROOM + "/alice" and "110" in codes(e))
    alice.send("<iq type='set' to='%s' id='cfg'><query xmlns='%s#owner'>"
               "<x xmlns='jabber:x:data' type='submit'/></query></iq>" % (ROOM, NS_MUC))
    raw_wait(alice, is_("iq", type="result"))
    return alice


def bob_joins(s):
    raw = sasl_stream(s, REMOTE, to=MUCD)
    raw.send("<presence from='%s' to='%s/bob'><x xmlns='%s'/></presence>" % (BOB, ROOM, NS_MUC))
    return raw


def test_remote_join_through_s2s_in(fed):
    s = fed(muc_domain=MUCD)
    alice = alice_makes_the_room(s)
    raw = bob_joins(s)
    seen = raw_wait(alice, is_("presence", from_=ROOM + "/bob"))
    assert seen.find("{%s}x/{%s}item" % (NS_USER, NS_USER)).get("jid") == BOB
    wait_until(lambda: len(queued(s)) >= 3, what="the welcome queued")
    w = queued(s)
    assert [e.get("from") for e in w[:2]] == [ROOM + "/alice", ROOM + "/bob"], w
    assert "110" in codes(w[1]) and all(e.get("to") == BOB for e in w)
    assert w[2].tag == "message" and w[2].find("subject") is not None, \
        [ET.tostring(e) for e in w]
    assert s.redis("HGET", "xmpp:{%s}:remote" % ROOM, BOB).endswith(" participant 0 bob")
    assert s.shard_members("s2s:rooms") == [ROOM]
    raw.send("<message from='%s' to='%s' type='groupchat' id='g1'><body>hi all</body>"
             "</message>" % (BOB, ROOM))
    m = raw_wait(alice, lambda e: e.findtext("{jabber:client}body") == "hi all")
    assert m.get("from") == ROOM + "/bob" and m.get("type") == "groupchat"
    # Refusals: a room bob may not make (muc_creators is empty: local
    # users only), a message from a session of his that is not in.
    n = len(queued(s))
    raw.send("<presence from='%s' to='new@%s/bob'/>" % (BOB, MUCD))
    raw.send("<message from='bob@%s/other' to='%s' type='groupchat' id='g2'><body>x</body>"
             "</message>" % (REMOTE, ROOM))
    raw.send("<iq from='%s' to='%s/bob' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/>"
             "</iq>" % (BOB, ROOM))
    raw.send("<iq from='%s' to='%s' type='get' id='d1'><query xmlns='%s'/></iq>"
             "<iq from='%s' to='none@%s' type='get' id='d2'><query xmlns='%s'/></iq>" % (
                 BOB, ROOM, NS_DISCO, BOB, MUCD, NS_DISCO))
    wait_until(lambda: len(queued(s)) >= n + 5, what="three errors and two answers")
    new = queued(s)[n:]
    errs = {e.get("id") or e.get("from"): e for e in new}
    ns = "{urn:ietf:params:xml:ns:xmpp-stanzas}"
    assert errs["new@%s/bob" % MUCD].find("{jabber:server}error/%snot-allowed" % ns) \
        is not None, [ET.tostring(e) for e in new]
    assert errs["g2"].find("{jabber:server}error/%snot-acceptable" % ns) is not None
    assert errs["p1"].get("type") == "result" and errs["p1"].get("to") == BOB
    assert not s.redis("EXISTS", "xmpp:{new@%s}:conf" % MUCD)
    # the room's disco#info, without the archive (not served across
    # domains); no such room: item-not-found
    info = errs["d1"].find("{%s}query" % NS_DISCO)
    assert errs["d1"].get("type") == "result" and info is not None, ET.tostring(errs["d1"])
    assert info.find("{%s}identity" % NS_DISCO).get("category") == "conference"
    feats = [f.get("var") for f in info.findall("{%s}feature" % NS_DISCO)]
    assert NS_MUC in feats and "urn:xmpp:mam:2" not in feats, feats
    assert errs["d2"].find("{jabber:server}error/%sitem-not-found" % ns) is not None
    # An error from his server to the room: he is out, and alice is told
    # why (333, a technical problem).
    raw.send("<message from='%s' to='%s' type='error' id='e1'><error type='cancel'>"
             "<recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
             "</message>" % (BOB, ROOM))
    gone = raw_wait(alice, is_("presence", from_=ROOM + "/bob", type="unavailable"))
    assert "333" in codes(gone)


def relay_pid(s):
    holder = s.redis("GET", "xmpp:s2s:lease:{%s}" % ROOM)
    return int(holder.split()[1]) if holder else 0


def said(s, body):
    return [e for e in queued(s) if e.findtext("body") == body]


def test_relay_reads_on_after_its_death(fed, dns, dispatchers):
    silent = Silent()           # remote.test's server: accepts, never answers
    d = dns("--srv-host=_xmpp-server._tcp.%s,xmpp.%s,%d" % (REMOTE, REMOTE, silent.port),
            "--host-record=xmpp.%s,127.0.0.1" % REMOTE)
    s = fed(muc_domain=MUCD, s2s_resolver=d.server)
    out = dispatchers(s.conf_path, os.path.join(s.dir, "out.log"))
    alice = alice_makes_the_room(s)
    bob_joins(s)
    raw_wait(alice, is_("presence", from_=ROOM + "/bob"))
    wait_until(lambda: relay_pid(s), what="the room's relay")
    rooms = [l for l in s.ctl("s2s").stdout.splitlines() if l.startswith("room ")]
    assert rooms == ["room %s remote=1 relay=%s:%d" % (ROOM, s.redis(
        "GET", "xmpp:s2s:lease:{%s}" % ROOM).split()[0], relay_pid(s))], rooms
    joined = s.redis("HGET", "xmpp:{%s}:remote" % ROOM, BOB)
    alice.send("<message to='%s' type='groupchat' id='a1'><body>one</body></message>" % ROOM)
    wait_until(lambda: said(s, "one"), what="the relay queues alice's message for bob")
    # ... and records it (killed between the two, it would send it again)
    wait_until(lambda: s.redis("HGET", "xmpp:{%s}:remote" % ROOM, BOB) != joined,
               what="the relay records what bob was sent")
    m = said(s, "one")[0]
    assert m.get("from") == ROOM + "/alice" and m.get("to") == BOB
    first = relay_pid(s)
    os.kill(first, signal.SIGKILL)
    alice.send("<message to='%s' type='groupchat' id='a2'><body>two</body></message>" % ROOM)
    raw_wait(alice, lambda e: e.findtext("{jabber:client}body") == "two")
    wait_until(lambda: said(s, "two"), timeout=20, what="a new relay reads on")
    assert relay_pid(s) != first
    assert len(said(s, "one")) == 1, "read on from the record, not from the start"
    # the dead relay's lease was freed, not waited out (30 s)
    assert "took over the lease" in out.log(), out.log()


def test_bounce_takes_the_occupant_out(fed, dns, dispatchers):
    closed = socket.socket()    # a port nobody listens on
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    d = dns("--srv-host=_xmpp-server._tcp.%s,xmpp.%s,%d" % (REMOTE, REMOTE, port),
            "--host-record=xmpp.%s,127.0.0.1" % REMOTE)
    s = fed(muc_domain=MUCD, s2s_resolver=d.server, s2s_timeout=5)
    out = dispatchers(s.conf_path, os.path.join(s.dir, "out.log"))
    alice = alice_makes_the_room(s)
    t0 = time.monotonic()
    bob_joins(s)
    raw_wait(alice, is_("presence", from_=ROOM + "/bob"))
    gone = raw_wait(alice, is_("presence", from_=ROOM + "/bob", type="unavailable"),
                    timeout=30)
    assert "333" in codes(gone) and time.monotonic() - t0 >= 5
    wait_until(lambda: not s.redis("EXISTS", "xmpp:{%s}:remote" % ROOM), timeout=10,
               what="his record gone")
    wait_until(lambda: "no occupant of another domain left" in out.log(), timeout=10,
               what="the relay to end")
    assert s.shard_members("s2s:rooms") == []
