"""Client state indication (XEP-0352, issue 12): while a client is
inactive, presence from others and messages without a body wait (the
latest per sender), messages with a body and answers go out at once,
and <active/> writes what waited, in order. Under stream management a
held stanza is counted only once it is written.
"""
import asyncio

import pytest

import clients as C
from harness import Server, wait_until
from im_helpers import PW, body_is, is_, online, q, raw_auth, raw_login, raw_wait, to_xml
from test_sm import NS_SM, enable

NS_CSI = "urn:xmpp:csi:0"
NS_CHAT = "http://jabber.org/protocol/chatstates"
ALICE, BOB = "alice@localhost", "bob@localhost"
C_NS = "jabber:client"


@pytest.fixture
def server():
    with Server() as s:
        s.adduser(ALICE, PW)
        s.adduser(BOB, PW)
        yield s


def status_of(el):
    return el.findtext(q(C_NS, "status"))


def drain(r, timeout=1.0):
    """Everything the server sends within timeout seconds of quiet, but
    its delivery pings (answered, as a client does)."""
    got = []
    while True:
        try:
            ev, el = r.next(timeout=timeout)
        except AssertionError:
            return got
        assert ev == "element", ev
        if el.get("id", "").startswith("xmppd-ack-"):
            r.send("<iq type='result' id='%s' to='localhost'/>" % el.get("id"))
            continue
        got.append(el)


def test_feature_offered_with_bind(server):
    r, feats = raw_auth(server, ALICE)
    assert feats.find(q(NS_CSI, "csi")) is not None, to_xml(feats)


def test_inactive_holds_presence_and_chat_states(server):
    a, afull = raw_login(server, ALICE, resource="a")
    a.send("<presence/>")
    raw_wait(a, lambda e: e.tag == q(C_NS, "presence"))      # our own, back
    a.send("<inactive xmlns='%s'/>" % NS_CSI)
    b, bfull = raw_login(server, BOB, resource="b")
    b.send("<presence to='%s'><status>one</status></presence>" % ALICE)
    b.send("<presence to='%s'><status>two</status></presence>" % ALICE)
    b.send("<message to='%s' type='chat'><composing xmlns='%s'/></message>" % (afull, NS_CHAT))
    b.send("<message to='%s' type='chat'><body>hello</body></message>" % afull)
    b.send("<message to='%s' type='chat'><paused xmlns='%s'/></message>" % (afull, NS_CHAT))
    # An answer to the client's own request is never held.
    a.send("<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq>")
    got = drain(a)
    tags = [(e.tag, e.findtext(q(C_NS, "body")), e.get("id")) for e in got]
    assert (q(C_NS, "message"), "hello", None) in tags, [to_xml(e) for e in got]
    assert any(e.get("id") == "v" for e in got)
    assert not any(e.tag == q(C_NS, "presence") for e in got), [to_xml(e) for e in got]
    assert not any(e.find(q(NS_CHAT, "paused")) is not None or
                   e.find(q(NS_CHAT, "composing")) is not None for e in got)
    # Active: the latest presence and the chat state after the message.
    a.send("<active xmlns='%s'/>" % NS_CSI)
    got = drain(a)
    assert len(got) == 2, [to_xml(e) for e in got]
    assert got[0].tag == q(C_NS, "presence") and status_of(got[0]) == "two"
    assert got[1].find(q(NS_CHAT, "paused")) is not None
    # Active again: nothing waits any more.
    b.send("<presence to='%s'><status>three</status></presence>" % ALICE)
    assert status_of(raw_wait(a, lambda e: e.tag == q(C_NS, "presence"))) == "three"


def test_subscription_requests_go_out_at_once(server):
    a, afull = raw_login(server, ALICE, resource="a")
    a.send("<presence/>")
    raw_wait(a, lambda e: e.tag == q(C_NS, "presence"))
    a.send("<inactive xmlns='%s'/>" % NS_CSI)
    b, _ = raw_login(server, BOB, resource="b")
    b.send("<presence to='%s' type='subscribe'/>" % ALICE)
    el = raw_wait(a, lambda e: e.tag == q(C_NS, "presence"))
    assert el.get("type") == "subscribe", to_xml(el)


def test_held_stanzas_count_when_written(server):
    a, afull = raw_login(server, ALICE, resource="a")
    enable(a)
    a.send("<presence/>")
    raw_wait(a, lambda e: e.tag == q(C_NS, "presence"))
    a.send("<inactive xmlns='%s'/><r xmlns='%s'/>" % (NS_CSI, NS_SM))
    el = raw_wait(a, lambda e: e.tag == q(NS_SM, "a"))
    b, _ = raw_login(server, BOB, resource="b")
    b.send("<presence to='%s'><status>held</status></presence>" % ALICE)
    b.send("<iq type='get' id='v2' to='localhost'><query xmlns='jabber:iq:version'/></iq>")
    raw_wait(b, lambda e: e.get("id") == "v2")
    # Nothing was written: the server has sent one stanza (our presence).
    a.send("<a xmlns='%s' h='1'/>" % NS_SM)
    a.send("<active xmlns='%s'/>" % NS_CSI)
    el = raw_wait(a, lambda e: e.tag == q(C_NS, "presence"))
    assert status_of(el) == "held"
    # Now it counts: h=2 is right, h=3 would be too many.
    a.send("<a xmlns='%s' h='2'/><iq type='get' id='v3'><query xmlns='jabber:iq:version'/></iq>"
           % NS_SM)
    assert raw_wait(a, lambda e: e.get("id") == "v3").get("type") == "result"


def test_slixmpp_inactive_then_active(server):
    """slixmpp's xep_0352 turns itself on only when the server offers
    <csi/>; while it says inactive, Bob's presence waits and his message
    does not; active brings the presence."""
    async def go():
        a = await online(server.port, ALICE + "/phone", plugins=["xep_0352"])
        assert a.xmpp["xep_0352"].enabled, "no <csi/> feature seen"
        a.xmpp["xep_0352"].send_inactive()
        await asyncio.sleep(0.3)
        n = len(a.received)
        b, bfull = raw_login(server, BOB, resource="b")
        b.send("<presence to='%s'><status>later</status></presence>" % ALICE)
        b.send("<message to='%s/phone' type='chat'><body>now</body></message>" % ALICE)
        await a.wait(body_is("now"), since=n)
        await asyncio.sleep(0.5)
        assert not a.seen(is_("presence", from_=bfull), since=n)
        a.xmpp["xep_0352"].send_active()
        got = await a.wait(is_("presence", from_=bfull), since=n)
        assert status_of(got[0]) == "later"
        await a.close()
    C.run(go, timeout=30)


def test_held_receipt_goes_offline_when_the_connection_ends(server):
    """A message without a body held while inactive is not lost when the
    connection ends: it is routed to the user again (offline here)."""
    a, afull = raw_login(server, ALICE, resource="a")
    a.send("<presence/>")
    raw_wait(a, lambda e: e.tag == q(C_NS, "presence"))
    a.send("<inactive xmlns='%s'/>" % NS_CSI)
    b, _ = raw_login(server, BOB, resource="b")
    b.send("<message to='%s' type='chat'><received xmlns='urn:xmpp:receipts' id='r1'/>"
           "</message>" % afull)
    b.send("<iq type='get' id='v' to='localhost'><query xmlns='jabber:iq:version'/></iq>")
    raw_wait(b, lambda e: e.get("id") == "v")
    assert not any(e.find("{urn:xmpp:receipts}received") is not None for e in drain(a, 0.5))
    a.close()
    wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:offline" % ALICE) == 1,
               what="the held receipt stored offline")
    assert "urn:xmpp:receipts" in server.redis("LINDEX", "xmpp:{%s}:offline" % ALICE, 0)
