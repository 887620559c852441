"""Client state indication (XEP-0352, issue 12): while a client is
inactive, presence from others and messages without a body wait (the
latest per sender), messages with a body and answers go out at once,
and <active/> writes what waited, in order. Under stream management a
held stanza is counted only once it is written.
"""
import pytest

from harness import Server
from im_helpers import PW, q, raw_auth, raw_login, raw_wait, to_xml
from test_sm import NS_SM, enable

NS_CSI = "urn:xmpp:csi:0"
NS_CHAT = "http://jabber.org/protocol/chatstates"
ALICE, BOB = "alice@localhost", "bob@localhost"
C = "jabber:client"


@pytest.fixture
def server():
    with Server() as s:
        s.adduser(ALICE, PW)
        s.adduser(BOB, PW)
        yield s


def status_of(el):
    return el.findtext(q(C, "status"))


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
    raw_wait(a, lambda e: e.tag == q(C, "presence"))      # our own, back
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
    tags = [(e.tag, e.findtext(q(C, "body")), e.get("id")) for e in got]
    assert (q(C, "message"), "hello", None) in tags, [to_xml(e) for e in got]
    assert any(e.get("id") == "v" for e in got)
    assert not any(e.tag == q(C, "presence") for e in got), [to_xml(e) for e in got]
    assert not any(e.find(q(NS_CHAT, "paused")) is not None or
                   e.find(q(NS_CHAT, "composing")) is not None for e in got)
    # Active: the latest presence and the chat state after the message.
    a.send("<active xmlns='%s'/>" % NS_CSI)
    got = drain(a)
    assert len(got) == 2, [to_xml(e) for e in got]
    assert got[0].tag == q(C, "presence") and status_of(got[0]) == "two"
    assert got[1].find(q(NS_CHAT, "paused")) is not None
    # Active again: nothing waits any more.
    b.send("<presence to='%s'><status>three</status></presence>" % ALICE)
    assert status_of(raw_wait(a, lambda e: e.tag == q(C, "presence"))) == "three"


def test_subscription_requests_go_out_at_once(server):
    a, afull = raw_login(server, ALICE, resource="a")
    a.send("<presence/>")
    raw_wait(a, lambda e: e.tag == q(C, "presence"))
    a.send("<inactive xmlns='%s'/>" % NS_CSI)
    b, _ = raw_login(server, BOB, resource="b")
    b.send("<presence to='%s' type='subscribe'/>" % ALICE)
    el = raw_wait(a, lambda e: e.tag == q(C, "presence"))
    assert el.get("type") == "subscribe", to_xml(el)


def test_held_stanzas_count_when_written(server):
    a, afull = raw_login(server, ALICE, resource="a")
    enable(a)
    a.send("<presence/>")
    raw_wait(a, lambda e: e.tag == q(C, "presence"))
    a.send("<inactive xmlns='%s'/><r xmlns='%s'/>" % (NS_CSI, NS_SM))
    el = raw_wait(a, lambda e: e.tag == q(NS_SM, "a"))
    b, _ = raw_login(server, BOB, resource="b")
    b.send("<presence to='%s'><status>held</status></presence>" % ALICE)
    b.send("<iq type='get' id='v2' to='localhost'><query xmlns='jabber:iq:version'/></iq>")
    raw_wait(b, lambda e: e.get("id") == "v2")
    # Nothing was written: the server has sent one stanza (our presence).
    a.send("<a xmlns='%s' h='1'/>" % NS_SM)
    a.send("<active xmlns='%s'/>" % NS_CSI)
    el = raw_wait(a, lambda e: e.tag == q(C, "presence"))
    assert status_of(el) == "held"
    # Now it counts: h=2 is right, h=3 would be too many.
    a.send("<a xmlns='%s' h='2'/><iq type='get' id='v3'><query xmlns='jabber:iq:version'/></iq>"
           % NS_SM)
    assert raw_wait(a, lambda e: e.get("id") == "v3").get("type") == "result"
