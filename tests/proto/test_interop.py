"""What real clients do that the RFCs allow: whitespace keepalives around
stream restarts, an orderly logout after reading messages, a session that
vanishes with messages unconfirmed (the XEP-0203 stamp then says when the
server first accepted them), and a listen-only client that stays silent
for longer than idle_timeout.
"""
import asyncio
import base64
import socket
import time

import pytest

from harness import NS_SASL, NS_STREAMS, describe
from im_helpers import (PW, NS_BIND, NS_DELAY, body_is, is_, online, q, raw_login, raw_wait,
                        stamp_epoch, xmls)
import clients as C

ALICE, BOB = 'alice@localhost', 'bob@localhost'
HEADER = ("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
          "xmlns:stream='%s' version='1.0'>" % NS_STREAMS)


def plain_token(node, password=PW):
    return base64.b64encode(b'\0' + node.encode() + b'\0' + password.encode()).decode()


def next_element(raw):
    ev, el = raw.next()
    assert ev == 'element', (ev, el)
    return el


def test_restart_after_whitespace_with_xml_declaration(server):
    """RFC 6120 4.3.3: whitespace after </auth> (in the same packet and in
    one of its own) and an XML declaration at the start of the restarted
    stream are fine; so is whitespace between stanzas and before the
    first stream."""
    server.adduser(ALICE, PW)
    raw = server.raw()
    raw.send("\n  " + HEADER + "\n")
    ev, _ = raw.next()
    assert ev == 'header'
    assert next_element(raw).tag == q(NS_STREAMS, 'features')
    raw.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>\n" % (NS_SASL, plain_token('alice')))
    assert next_element(raw).tag == q(NS_SASL, 'success')
    raw.restart()
    time.sleep(0.1)
    raw.send(" \r\n\t")           # a keepalive of its own
    time.sleep(0.1)
    raw.send(HEADER)
    ev, el = raw.next()
    assert ev == 'header', (ev, el)
    features = next_element(raw)
    assert features.find(q(NS_BIND, 'bind')) is not None, xmls([features])
    raw.send("\n<iq type='set' id='b1'><bind xmlns='%s'/></iq>\n \n" % NS_BIND)
    el = next_element(raw)
    assert el.get('type') == 'result' and el.get('id') == 'b1', xmls([el])
    raw.send(" <iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>  ")
    el = next_element(raw)
    assert el.get('type') == 'result' and el.get('id') == 'p1', xmls([el])
    raw.send("\n</stream:stream>")
    raw.expect("</stream:stream>")
    assert 'stream error' not in server.log(), server.log()[-2000:]


def send_offline_messages(server, bodies):
    """alice sends bodies to bob, who is offline; returns when stored."""
    async def go():
        a = await online(server.port, ALICE + '/a1')
        for b in bodies:
            a.xmpp.send_message(mto=BOB, mbody=b, mtype='chat')
        await a.sync()
        await a.close()
    C.run(go, timeout=30)
    C.poll(lambda: server.redis('LLEN', 'xmpp:{%s}:offline' % BOB) == len(bodies), 5)
    assert server.redis('LLEN', 'xmpp:{%s}:offline' % BOB) == len(bodies)


def messages_at_login(server, resource, seconds=1.0):
    """Log bob in raw, send initial presence, answer no ping, collect the
    messages that arrive within `seconds`. Returns (raw, messages)."""
    raw, _ = raw_login(server, BOB, resource=resource)
    raw.send("<presence/>")
    got = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            ev, el = raw.next(timeout=left)
        except AssertionError:
            break
        if ev != 'element':
            break
        if el.tag == q('jabber:client', 'message'):
            got.append(el)
    return raw, got


def bodies_of(msgs):
    return [m.findtext(q('jabber:client', 'body')) for m in msgs]


def test_orderly_logout_confirms_what_was_read(server):
    """Two offline messages, read by a client that answers no delivery
    ping and then closes with </stream:stream>: they were written to it
    before it said goodbye, so they are not delivered again at the next
    login (every client would show them twice)."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    send_offline_messages(server, ['one', 'two'])
    raw, got = messages_at_login(server, 'first')
    assert bodies_of(got) == ['one', 'two'], xmls(got)
    raw.send("</stream:stream>")
    raw.expect("</stream:stream>")
    server.wait_handlers_exit()
    raw, again = messages_at_login(server, 'second')
    assert again == [], xmls(again)
    assert server.redis('LLEN', 'xmpp:{%s}:offline' % BOB) == 0
    raw.send("</stream:stream>")
    raw.expect("</stream:stream>")


def test_vanished_client_gets_messages_again_with_first_stamp(server):
    """The same client, but its connection drops without a goodbye: the
    unconfirmed messages are kept (nothing is lost) and come back at the
    next login, stamped with when the server first accepted them, not
    with when they were stored again."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    t0 = time.time()
    send_offline_messages(server, ['one', 'two'])
    raw, got = messages_at_login(server, 'first')
    assert bodies_of(got) == ['one', 'two'], xmls(got)
    time.sleep(2.5)
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
    raw.close()                   # RST: no </stream:stream>
    server.wait_handlers_exit()
    raw, again = messages_at_login(server, 'second')
    assert bodies_of(again) == ['one', 'two'], xmls(again)
    for m in again:
        d = m.find(q(NS_DELAY, 'delay'))
        assert d is not None, xmls([m])
        assert stamp_epoch(d.get('stamp')) <= t0 + 2, (t0, xmls([m]))
    raw.send("</stream:stream>")
    # The server may have asked, with a ping, whether the messages
    # arrived (xmppd-ack-*) before it read the close: skip that, then the
    # stream ends.
    ev, el = raw.next()
    while ev == "element" and el.find('{urn:xmpp:ping}ping') is not None:
        ev, el = raw.next()
    assert ev == "end", describe(ev, el)


def test_rerouted_live_message_carries_first_stamp(server):
    """A chat message to bob's full JID reaches a session that vanishes
    before confirming it: it goes to bob's other resource, with an
    XEP-0203 <delay/> from the time alice sent it."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1')
        b2 = await online(server.port, BOB + '/b2')
        raw, full = raw_login(server, BOB, resource='b1')
        raw.send("<presence/>")
        t0 = time.time()
        a.xmpp.send_message(mto=full, mbody='to b1', mtype='chat')
        got = await asyncio.to_thread(raw_wait, raw,
                                      lambda e: e.tag == q('jabber:client', 'message'))
        seen['b1'] = bodies_of([got])
        await asyncio.sleep(2.5)
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            b'\x01\x00\x00\x00\x00\x00\x00\x00')
        raw.close()
        m = await b2.wait1(body_is('to b1'), timeout=10)
        d = m.find(q(NS_DELAY, 'delay'))
        seen['delay'] = None if d is None else stamp_epoch(d.get('stamp')) - t0
        seen['xml'] = xmls([m])
        await a.close()
        await b2.close()
    C.run(go, timeout=60)

    assert seen['b1'] == ['to b1'], seen
    assert seen['delay'] is not None and -1.5 <= seen['delay'] <= 1.5, seen


def wait_idle_ping(raw, timeout):
    """The server's idle ping (XEP-0199), within timeout seconds."""
    return raw_wait(raw, lambda e: e.tag == q('jabber:client', 'iq') and
                    e.get('type') == 'get' and
                    e.find(q('urn:xmpp:ping', 'ping')) is not None, timeout=timeout)


@pytest.mark.timing
def test_silent_client_that_answers_pings_stays(server_factory):
    """idle_timeout = 1, ping_timeout = 2: a bound client that never sends
    anything of its own is pinged after a second of silence; answering
    (with a result, or with an error as a client without XEP-0199 does)
    keeps it connected well past idle_timeout + ping_timeout."""
    server = server_factory(idle_timeout=1, ping_timeout=2)
    server.adduser(BOB, PW)
    raw, full = raw_login(server, BOB, resource='bot')
    t0 = time.monotonic()
    ping = wait_idle_ping(raw, 5)
    # idle_timeout counts whole seconds from the bind: 0 to 2 s after it
    assert time.monotonic() - t0 <= 4, time.monotonic() - t0
    assert ping.get('to') == full and ping.get('from') == 'localhost', xmls([ping])
    raw.send("<iq type='result' id='%s' to='localhost'/>" % ping.get('id'))
    ping = wait_idle_ping(raw, 5)
    raw.send("<iq type='error' id='%s' to='localhost'><ping xmlns='urn:xmpp:ping'/>"
             "<error type='cancel'><service-unavailable "
             "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>" % ping.get('id'))
    wait_idle_ping(raw, 5)
    raw.send(" ")                 # a whitespace keepalive answers too
    time.sleep(1.5)
    assert time.monotonic() - t0 > 4
    raw.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    el = raw_wait(raw, lambda e: e.get('id') == 'p1', timeout=5)
    assert el.get('type') == 'result', xmls([el])
    raw.send("</stream:stream>")
    raw.read_until_closed()
    assert 'connection-timeout' not in server.log()


@pytest.mark.timing
def test_silent_client_that_does_not_answer_is_timed_out(server_factory):
    """The same settings, a client that reads but never answers: the stream
    ends with <connection-timeout/> once the ping has gone unanswered for
    ping_timeout seconds, not before."""
    server = server_factory(idle_timeout=1, ping_timeout=2)
    server.adduser(BOB, PW)
    raw, _ = raw_login(server, BOB, resource='gone')
    t0 = time.monotonic()
    wait_idle_ping(raw, 5)
    t_ping = time.monotonic()
    rest = raw_wait(raw, lambda e: e.tag == q(NS_STREAMS, 'error'), timeout=6)
    assert rest.find(q('urn:ietf:params:xml:ns:xmpp-streams', 'connection-timeout')) is not None
    waited = time.monotonic() - t_ping
    assert 1.0 <= waited <= 4.5, (waited, time.monotonic() - t0)
