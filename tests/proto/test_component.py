"""test_component.py - external components (XEP-0114) through
xmpp-component, driven by slixmpp's ComponentXMPP (Debian's
python3-slixmpp) as a gateway would be, beside slixmpp clients of local
users.

One deployment per test: Redis, listener 0 an xmpp-handler, listener 1
xmpp-component, and one component line, gw.localhost; federation is off
(a component needs none). What is checked: the handshake (right secret,
wrong secret, unknown domain, a second connection for the domain),
messages and IQs both ways with any JID of the component's domain as
'from' and nothing else, the error a user gets while no component is
connected, what was sent while the component reconnected, the
component in the server's disco#items, and a component's user in a
room (with xmpp-s2s-out running the room's relay).
"""
import asyncio
import copy
import hashlib
import os
import re
import socket
import time

import slixmpp

try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import PW, body_is, error_condition, is_, online, q, xmls
from test_s2s_out import dispatchers  # noqa: F401 (fixture)

COMP, SECRET = 'gw.localhost', 's3cret-gw'
ALICE = 'alice@localhost'
NS_COMPONENT = 'jabber:component:accept'
NS_STREAMS = 'http://etherx.jabber.org/streams'
NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items'
MUCD = 'conference.localhost'
ROOM = 'lobby@' + MUCD
NS_MUC = 'http://jabber.org/protocol/muc'
NS_MUC_USER = NS_MUC + '#user'


def deployment(server_factory, alice=True, **conf):
    c = dict(component='%s %s' % (COMP, SECRET))
    c.update(conf)
    s = server_factory(listeners=2, listener_progs=[None, 'xmpp-component'], **c)
    if alice:
        s.adduser(ALICE, PW)
    return s


class Comp(C.Client):
    """A slixmpp ComponentXMPP that records what it receives."""

    def __init__(self, jid=COMP, secret=SECRET):
        self.xmpp = slixmpp.ComponentXMPP(jid, secret)
        self.xmpp.whitespace_keepalive = False
        self.name = jid
        self.received = []
        self.xmpp.add_filter('in', self._record)
        self._watch()

    def _record(self, stanza):
        self.received.append(stanza.xml)
        return stanza

    async def login(self, port, host=C.HOST, timeout=C.TIMEOUT):
        self.xmpp.connect(host, port)
        try:
            await asyncio.wait_for(asyncio.shield(self._done), timeout)
        except asyncio.TimeoutError:
            self.outcome.timed_out = True
        return self.outcome

    async def wait1(self, pred, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            got = [e for e in self.received if pred(e)]
            if got:
                return got[0]
            assert time.monotonic() < deadline, '%s: waited for %s; received:\n  %s' % (
                self.name, pred.__doc__ or pred, xmls(self.received))
            await asyncio.sleep(0.02)


def as_client(el):
    """A copy of el with the component's namespace read as jabber:client,
    for im_helpers' predicates."""
    el = copy.deepcopy(el)
    for e in el.iter():
        e.tag = e.tag.replace('{%s}' % NS_COMPONENT, '{jabber:client}')
    return el


def comp_is(kind, **attrs):
    """is_ for the component's namespace."""
    p = is_(kind, **attrs)

    def pred(el):
        return p(as_client(el))
    pred.__doc__ = p.__doc__
    return pred


async def connected(server):
    c = Comp()
    out = await c.login(server.ports[1], timeout=10)
    assert out.session_started, out
    return c


def test_handshake(server_factory):
    """The right secret is accepted; a wrong one is not-authorized, an
    unknown domain host-unknown, a second connection for a domain that
    has one conflict."""
    server = deployment(server_factory)
    seen = {}

    async def go():
        ok = await connected(server)
        bad = Comp(secret='wrong')
        await bad.login(server.ports[1], timeout=10)
        seen['bad'] = (await bad.wait_stream_error(5), bad.outcome.session_started)
        unknown = Comp(jid='nope.localhost')
        await unknown.login(server.ports[1], timeout=10)
        seen['unknown'] = (await unknown.wait_stream_error(5), unknown.outcome.session_started)
        second = Comp()
        await second.login(server.ports[1], timeout=10)
        seen['second'] = await second.wait_stream_error(5)
        await ok.close()
    C.run(go, timeout=60)
    assert seen['bad'] == ('not-authorized', False)
    assert seen['unknown'] == ('host-unknown', False)
    assert seen['second'] == 'conflict'


def test_messages_both_ways(server_factory):
    """A user's message to a JID of the component's domain reaches the
    component, with the user's full JID; the component's messages from
    any JID of its domain reach the user; an IQ of the component's to the
    server is answered."""
    server = deployment(server_factory)
    seen = {}

    async def go():
        comp = await connected(server)
        a = await online(server.ports[0], ALICE + '/home')
        a.xmpp.send_message(mto='#room%irc.example@' + COMP, mbody='to irc', mtype='chat')
        m = await comp.wait1(comp_is('message', to='#room%irc.example@' + COMP))
        seen['in'] = (m.get('from'), m.findtext('{%s}body' % NS_COMPONENT))
        comp.xmpp.send_message(mto=ALICE, mfrom='nick@' + COMP + '/irc', mbody='from irc',
                               mtype='chat')
        comp.xmpp.send_message(mto=a.full, mfrom=COMP, mbody='from the gateway')
        r1 = await a.wait1(body_is('from irc'))
        r2 = await a.wait1(body_is('from the gateway'))
        seen['out'] = [r1.get('from'), r2.get('from')]
        iq = comp.xmpp.make_iq_get(ito='localhost', ifrom=COMP)
        iq.xml.append(slixmpp.xmlstream.ET.Element('{urn:xmpp:ping}ping'))
        seen['ping'] = (await iq.send(timeout=5))['type']
        # to a local user who is not there: the error comes back
        e = comp.xmpp.make_message(mto='nobody@localhost', mfrom='nick@' + COMP, mbody='x')
        e['id'] = 'e1'
        e.send()
        err = await comp.wait1(comp_is('message', type='error', id='e1'))
        seen['err'] = (err.get('to'), error_condition(as_client(err)))
        await a.close()
        await comp.close()
    C.run(go, timeout=60)
    assert seen['in'] == (ALICE + '/home', 'to irc')
    assert seen['out'] == ['nick@%s/irc' % COMP, COMP]
    assert seen['ping'] == 'result'
    assert seen['err'] == ('nick@' + COMP, ('cancel', 'service-unavailable'))


def raw_component(server):
    """A connected, authenticated component over a plain socket: for
    what slixmpp would not send."""
    s = socket.create_connection(('127.0.0.1', server.ports[1]), timeout=5)
    s.sendall(("<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' to='%s'>"
               % (NS_COMPONENT, NS_STREAMS, COMP)).encode())
    head = b''
    while b'>' not in head.split(b'<stream:stream', 1)[-1]:
        head += s.recv(4096)
    sid = re.search(r"id='([^']+)'", head.decode()).group(1)
    s.sendall(('<handshake>%s</handshake>' % hashlib.sha1((sid + SECRET).encode())
               .hexdigest().upper()).encode())
    got = b''
    while b'<handshake/>' not in got:
        chunk = s.recv(4096)
        assert chunk, got
        got += chunk
    return s


def read_until_closed(s):
    got = b''
    s.settimeout(5)
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return got.decode()
        got += chunk


def test_spoofed_from(server_factory):
    """A 'from' outside the component's domain ends the stream with
    invalid-from, and the stanza goes nowhere; a subdomain is outside."""
    server = deployment(server_factory)
    for frm in ('mallory@localhost', 'x@sub.' + COMP):
        s = raw_component(server)
        s.sendall(("<message from='%s' to='%s'><body>forged</body></message>"
                   % (frm, ALICE)).encode())
        got = read_until_closed(s)
        s.close()
        assert "<invalid-from xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" in got, got
    assert server.redis('LLEN', 'xmpp:{%s}:offline' % ALICE) == 0


def test_error_while_absent(server_factory):
    """No component connected: a message or IQ to its domain is answered
    service-unavailable at once, and nothing is queued."""
    server = deployment(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/home')
        m = a.xmpp.make_message(mto='x@' + COMP, mbody='anyone?')
        m['id'] = 'm1'
        m.send()
        err = await a.wait1(is_('message', type='error', id='m1'), timeout=3)
        seen['msg'] = (err.get('from'), error_condition(err))
        iq = a.xmpp.make_iq_get(ito=COMP)
        iq.xml.append(slixmpp.xmlstream.ET.Element('{urn:xmpp:ping}ping'))
        try:
            await iq.send(timeout=3)
            seen['iq'] = 'result'
        except slixmpp.exceptions.IqError as e:
            seen['iq'] = e.iq['error']['condition']
        await a.close()
    C.run(go, timeout=60)
    assert seen['msg'] == ('x@' + COMP, ('cancel', 'service-unavailable'))
    assert seen['iq'] == 'service-unavailable'
    assert server.redis('LLEN', 'xmpp:s2s:out:{%s/component}' % COMP) == 0


def test_queued_while_reconnecting(server_factory):
    """What users send while the component reconnects waits for it: the
    domain's route keeps queueing for a while after it left, and the next
    connection gets everything, in order."""
    server = deployment(server_factory)
    seen = {}

    async def go():
        comp = await connected(server)
        await comp.close()
        a = await online(server.ports[0], ALICE + '/home')
        for i in range(3):
            a.xmpp.send_message(mto='x@' + COMP, mbody='while away %d' % i)
        await a.sync()
        await a.none_for(is_('message', type='error'), seconds=0.5)
        seen['queued'] = server.redis('LLEN', 'xmpp:s2s:out:{%s/component}' % COMP)
        comp = await connected(server)
        await comp.wait1(comp_is('message', to='x@' + COMP), timeout=5)
        await asyncio.sleep(0.5)
        seen['bodies'] = [m.findtext('{%s}body' % NS_COMPONENT) for m in comp.received
                          if m.tag == q(NS_COMPONENT, 'message')]
        await a.close()
        await comp.close()
    C.run(go, timeout=60)
    assert seen['queued'] == 3
    assert seen['bodies'] == ['while away 0', 'while away 1', 'while away 2']
    assert server.redis('LLEN', 'xmpp:s2s:out:{%s/component}' % COMP) == 0


def test_xmppctl_lists_and_closes_it(server_factory):
    """xmppctl s2s lists the component's route with its connection, and
    s2s close ends the component's stream; then nobody is connected."""
    server = deployment(server_factory)
    seen = {}

    def out_line():
        return [l for l in server.ctl('s2s').stdout.splitlines()
                if l.startswith('out %s/component ' % COMP)]

    async def go():
        comp = await connected(server)
        seen['listed'] = out_line()
        seen['close'] = server.ctl('s2s', 'close', COMP + '/component').returncode
        seen['gone'] = await comp.wait_disconnected(5)
        seen['after'] = out_line()
        seen['again'] = server.ctl('s2s', 'close', COMP + '/component').returncode
    C.run(go, timeout=60)
    holder = server.redis('GET', 'xmpp:s2s:lease:{%s/component}' % COMP)
    assert len(seen['listed']) == 1 and ' connected=-' not in seen['listed'][0], seen
    assert seen['close'] == 0 and seen['gone'], seen
    assert holder == '-' and seen['after'][0].endswith(' connected=-'), (holder, seen)
    assert seen['again'] == 1, seen


def test_disco_items_lists_it(server_factory):
    """The server's disco#items names the component's domain."""
    server = deployment(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/home', plugins=['xep_0030'])
        items = await a.xmpp['xep_0030'].get_items(jid='localhost', local=False, timeout=5)
        seen['items'] = [i[0] for i in items['disco_items']['items']]
        await a.close()
    C.run(go, timeout=60)
    assert COMP in seen['items']


def test_room_occupant(server_factory, dispatchers):
    """A component's user joins a room of the conference domain as a
    remote server's would: the welcome comes back at once, and what the
    room says reaches it through the room's relay (xmpp-s2s-out), with
    federation off. The dispatcher never serves the component's route
    (the component's process holds it)."""
    from test_s2s_muc import alice_makes_the_room
    server = deployment(server_factory, alice=False, muc_domain=MUCD)
    out = dispatchers(server.conf_path, os.path.join(server.dir, 'out.log'))
    alice = alice_makes_the_room(server)
    seen = {}

    async def go():
        comp = await connected(server)
        p = comp.xmpp.make_presence(pto=ROOM + '/ircuser', pfrom='ircuser@' + COMP + '/x')
        p.xml.append(slixmpp.xmlstream.ET.Element('{%s}x' % NS_MUC))
        p.send()
        me = await comp.wait1(comp_is('presence', from_=ROOM + '/ircuser'))
        seen['codes'] = sorted(s.get('code') for s in me.iter('{%s}status' % NS_MUC_USER))
        alice.send("<message to='%s' type='groupchat' id='a1'><body>hi gateway</body>"
                   "</message>" % ROOM)
        said = body_is('hi gateway')
        m = await comp.wait1(lambda e: said(as_client(e)), timeout=15)
        seen['said'] = (m.get('from'), m.get('to'), m.findtext('{%s}body' % NS_COMPONENT))
        await comp.close()
    C.run(go, timeout=60)
    assert '110' in seen['codes'], seen
    assert seen['said'] == (ROOM + '/alice', 'ircuser@%s/x' % COMP, 'hi gateway')
    # the room's relay ran; the component's route was never the dispatcher's
    assert 'lobby@' in out.log(), out.log()
    assert COMP + '/component' not in out.log(), out.log()
