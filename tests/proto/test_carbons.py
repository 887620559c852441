"""XEP-0280 message carbons (urn:xmpp:carbons:2).

With slixmpp's own xep_0280 plugin as the third-party client (its
carbon_received / carbon_sent events fire only for a carbon from the
user's bare JID, the check XEP-0280 11 asks of every client): enabling and
disabling, received and sent copies, the exclusions of XEP-0280 6 and
XEP-0334, two hosts sharing one Redis, a message to the bare JID with a
negative-priority carbons session, and the flag's removal when a session
ends or is reaped. With a raw client: the exact IQ answers, the exact
shape of a copy, and the feature in disco#info.
"""
import asyncio
import os
import time
import signal

try:
    from . import clients as C
except ImportError:
    import clients as C

from harness import compare, parse_expected, to_xml
from im_helpers import (PW, NS_DISCO_INFO, body_is, error_condition, is_, online, q,
                        raw_login, raw_wait, redis_hash)

ALICE, BOB = 'alice@localhost', 'bob@localhost'
NS_CARBONS = 'urn:xmpp:carbons:2'
NS_FORWARD = 'urn:xmpp:forward:0'
PLUGINS = ['xep_0030', 'xep_0297', 'xep_0280']
QUIET = 1.0          # seconds to wait for what must not come


def carbons_key(bare=ALICE):
    return 'xmpp:{%s}:carbons' % bare


def carbon(kind):
    """Predicate: a message carrying a <received/> or <sent/> carbon."""
    def pred(el):
        return el.tag == q('jabber:client', 'message') and el.find(q(NS_CARBONS, kind)) is not None
    pred.__doc__ = 'carbon <%s/>' % kind
    return pred


def inner(el, kind):
    """The forwarded message inside a carbon."""
    m = el.find('%s/%s/%s' % (q(NS_CARBONS, kind), q(NS_FORWARD, 'forwarded'),
                              q('jabber:client', 'message')))
    assert m is not None, 'no forwarded message in ' + to_xml(el)
    return m


def inner_body(el, kind):
    b = inner(el, kind).find(q('jabber:client', 'body'))
    return None if b is None else b.text


class Events:
    """What slixmpp's xep_0280 plugin reported to one client: the inner
    messages of the carbons it accepted."""

    def __init__(self, im):
        self.received, self.sent = [], []
        im.xmpp.add_event_handler('carbon_received',
                                  lambda m: self.received.append(m['carbon_received']))
        im.xmpp.add_event_handler('carbon_sent', lambda m: self.sent.append(m['carbon_sent']))

    async def wait(self, which, body, timeout=5.0):
        lst = getattr(self, which)
        ok = await C.apoll(lambda: [m for m in lst if m['body'] == body], timeout=timeout)
        assert ok, 'no %s carbon with body %r; got %r' % (
            which, body, [str(m) for m in lst])
        return ok[0]


async def carbons_client(port, jid, enable=True, **pres):
    c = await online(port, jid, plugins=PLUGINS, **pres)
    c.events = Events(c)
    if enable:
        await c.xmpp['xep_0280'].enable(timeout=5)
    return c


def chat(frm, to, body, mtype='chat', extra=''):
    """A message with raw extra children, sent as is."""
    frm.xmpp.send_raw("<message to='%s' type='%s'><body>%s</body>%s</message>"
                      % (to, mtype, body, extra))


def test_enable_received_sent_disable(server):
    """desk and phone enable carbons. bob writes to alice/desk: phone gets
    a received copy, desk only the message. desk writes to bob: phone gets
    a sent copy, desk none of its own message. phone disables carbons: no
    more copies. Each session's field goes with it."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        desk = await carbons_client(server.port, ALICE + '/desk')
        phone = await carbons_client(server.port, ALICE + '/phone')
        bob = await online(server.port, BOB + '/pc')
        seen['hash'] = redis_hash(server, carbons_key())
        await asyncio.sleep(0.2)

        chat(bob, ALICE + '/desk', 'to desk')
        await desk.wait1(body_is('to desk'))
        m = await phone.events.wait('received', 'to desk')
        seen['received'] = (str(m['from']), str(m['to']), m['type'])
        outer = await phone.wait1(carbon('received'))
        seen['received_outer'] = (outer.get('from'), outer.get('to'), outer.get('type'))

        desk.xmpp.send_message(mto=BOB, mbody='from desk', mtype='chat')
        await bob.wait1(body_is('from desk'))
        m = await phone.events.wait('sent', 'from desk')
        seen['sent'] = (str(m['from']), str(m['to']), m['type'])
        outer = await phone.wait1(carbon('sent'))
        seen['sent_outer'] = (outer.get('from'), outer.get('to'), outer.get('type'))
        await desk.sync()
        await desk.none_for(lambda e: carbon('sent')(e) or carbon('received')(e), QUIET)

        await phone.xmpp['xep_0280'].disable(timeout=5)
        seen['hash_after_disable'] = redis_hash(server, carbons_key())
        n = phone.mark()
        chat(bob, ALICE + '/desk', 'after disable')
        desk.xmpp.send_message(mto=BOB, mbody='sent after disable', mtype='chat')
        await desk.wait1(body_is('after disable'))
        await bob.wait1(body_is('sent after disable'))
        await phone.none_for(lambda e: carbon('sent')(e) or carbon('received')(e), QUIET,
                             since=n)
        await desk.close()
        seen['hash_after_close'] = await C.apoll(
            lambda: redis_hash(server, carbons_key()) == {}, timeout=5) or \
            redis_hash(server, carbons_key())
        await phone.close()
        await bob.close()
    C.run(go, timeout=60)

    assert set(seen['hash']) == {'desk', 'phone'}, seen
    assert seen['received'] == (BOB + '/pc', ALICE + '/desk', 'chat'), seen
    assert seen['received_outer'] == (ALICE, ALICE + '/phone', 'chat'), seen
    assert seen['sent'] == (ALICE + '/desk', BOB, 'chat'), seen
    assert seen['sent_outer'] == (ALICE, ALICE + '/phone', 'chat'), seen
    assert set(seen['hash_after_disable']) == {'desk'}, seen
    assert seen['hash_after_close'] is True, seen


EXCLUDED = [
    ('private', 'chat', "<private xmlns='urn:xmpp:carbons:2'/>"),
    ('no-copy', 'chat', "<no-copy xmlns='urn:xmpp:hints'/>"),
    ('muc-pm', 'chat', "<x xmlns='http://jabber.org/protocol/muc#user'/>"),
    ('forged', 'chat', "<sent xmlns='urn:xmpp:carbons:2'/>"),
    ('headline', 'headline', ''),
]


def test_exclusions(server):
    """No copy, received or sent, of a message with <private/>, with an
    XEP-0334 <no-copy/>, of a MUC private message (<x muc#user/>), of one
    that claims to be a carbon, of a headline, of a normal message without
    a body; the eligible message sent after them all is copied (copies keep
    their order, so the excluded ones would have come first). The message
    with <private/> keeps it when delivered (XEP-0280 no longer asks the
    server to strip it)."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        desk = await carbons_client(server.port, ALICE + '/desk')
        phone = await carbons_client(server.port, ALICE + '/phone')
        bob = await online(server.port, BOB + '/pc')
        await asyncio.sleep(0.2)
        for name, mtype, extra in EXCLUDED:
            chat(bob, ALICE + '/desk', 'in ' + name, mtype, extra)
            chat(desk, BOB + '/pc', 'out ' + name, mtype, extra)
        bob.xmpp.send_raw("<message to='%s/desk'><subject>no body</subject></message>" % ALICE)
        desk.xmpp.send_raw("<message to='%s/pc' type='normal'><thread>t</thread></message>"
                           % BOB)
        chat(bob, ALICE + '/desk', 'in last', 'normal')
        chat(desk, BOB + '/pc', 'out last', 'normal')
        await phone.events.wait('received', 'in last')
        await phone.events.wait('sent', 'out last')
        private = await bob.wait1(body_is('out private'))
        seen['private_kept'] = private.find(q(NS_CARBONS, 'private')) is not None
        await desk.wait1(body_is('in last'))
        seen['carbons'] = [(k, inner_body(e, k)) for e in phone.received
                           for k in ('received', 'sent') if carbon(k)(e)]
        await desk.close()
        await phone.close()
        await bob.close()
    C.run(go, timeout=60)

    assert sorted(seen['carbons']) == [('received', 'in last'), ('sent', 'out last')], seen
    assert seen['private_kept'], seen


def test_carbons_across_listeners(server_factory):
    """Two hosts sharing Redis: desk on host 0, phone and bob on host 1.
    Copies reach the other host both ways."""
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        desk = await carbons_client(server.ports[0], ALICE + '/desk')
        phone = await carbons_client(server.ports[1], ALICE + '/phone')
        bob = await online(server.ports[1], BOB + '/pc')
        recs = C.redis_sessions(server, ALICE)
        seen['pids'] = {r: C.parse_session_record(v)['pid'] for r, v in recs.items()}
        await asyncio.sleep(0.2)
        chat(bob, ALICE + '/phone', 'to phone')
        await phone.wait1(body_is('to phone'))
        m = await desk.events.wait('received', 'to phone')
        seen['received'] = (str(m['from']), str(m['to']))
        chat(bob, ALICE + '/desk', 'to desk')
        await desk.wait1(body_is('to desk'))
        await phone.events.wait('received', 'to desk')
        phone.xmpp.send_message(mto=BOB, mbody='from phone', mtype='chat')
        m = await desk.events.wait('sent', 'from phone')
        seen['sent'] = (str(m['from']), str(m['to']))
        desk.xmpp.send_message(mto=BOB, mbody='from desk', mtype='chat')
        await phone.events.wait('sent', 'from desk')
        await desk.close()
        await phone.close()
        await bob.close()
    C.run(go, timeout=60)

    assert seen['pids']['desk'] != seen['pids']['phone'], seen
    assert seen['received'] == (BOB + '/pc', ALICE + '/phone'), seen
    assert seen['sent'] == (ALICE + '/phone', BOB), seen


def test_bare_jid_negative_priority(server):
    """bob writes to alice's bare JID: desk (priority 0, carbons) and laptop
    (priority 0, no carbons) get the message itself and no copy; lurk
    (priority -1, carbons) gets a received copy instead."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        desk = await carbons_client(server.port, ALICE + '/desk')
        laptop = await carbons_client(server.port, ALICE + '/laptop', enable=False)
        lurk = await carbons_client(server.port, ALICE + '/lurk', ppriority=-1)
        bob = await online(server.port, BOB + '/pc')
        await asyncio.sleep(0.2)
        chat(bob, ALICE, 'to bare')
        await desk.wait1(body_is('to bare'))
        await laptop.wait1(body_is('to bare'))
        m = await lurk.events.wait('received', 'to bare')
        seen['received'] = (str(m['from']), str(m['to']))
        await asyncio.sleep(QUIET)
        seen['lurk_plain'] = lurk.seen(body_is('to bare'))
        seen['desk'] = desk.events.received + desk.events.sent
        seen['desk_plain'] = len(desk.seen(body_is('to bare')))
        await desk.close()
        await laptop.close()
        await lurk.close()
        await bob.close()
    C.run(go, timeout=60)

    assert seen['received'] == (BOB + '/pc', ALICE), seen
    assert seen['lurk_plain'] == [], seen
    assert seen['desk'] == [] and seen['desk_plain'] == 1, seen


def test_reaped_session_leaves_no_carbons(server_factory):
    """A handler killed with SIGKILL cannot clean up: the handler that
    reaps its session removes its carbons field too."""
    server = server_factory(session_ttl=5)
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        desk = await carbons_client(server.port, ALICE + '/desk', enable=False)
        phone = await carbons_client(server.port, ALICE + '/phone')
        seen['before'] = redis_hash(server, carbons_key())
        pid = int(C.parse_session_record(C.redis_sessions(server, ALICE)['phone'])['pid'])
        os.kill(pid, signal.SIGKILL)
        phone.drop()
        seen['after'] = await C.apoll(
            lambda: 'phone' not in redis_hash(server, carbons_key()), timeout=20)
        seen['sessions'] = C.redis_sessions(server, ALICE)
        await desk.close()
    C.run(go, timeout=60)

    assert set(seen['before']) == {'phone'}, seen
    assert seen['after'], seen
    assert 'phone' not in seen['sessions'], seen


# ---- raw: exact stanzas ----

def expect_match(expected, got):
    exp = parse_expected(expected)[0]
    diff = compare(exp, got, {})
    assert diff is None, '%s\nexpected %s\n     got %s' % (diff, to_xml(exp), to_xml(got))


def test_raw_iq_answers_copy_shape_and_disco(server):
    """The enable/disable answers (a get, or an unknown element, is a
    bad-request), disco#info lists urn:xmpp:carbons:2, and a received and
    a sent copy have exactly XEP-0280's shape: from the bare JID, to the
    full JID of the session receiving it, the original's type, the
    original (with its 'from' stamped) inside <forwarded/>."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    r1, _ = raw_login(server, ALICE, resource='r1')
    r2, _ = raw_login(server, ALICE, resource='r2')
    b, _ = raw_login(server, BOB, resource='b')

    r2.send("<iq type='set' id='e1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
    r2.expect("<iq type='result' id='e1' to='alice@localhost/r2'/>")
    assert redis_hash(server, carbons_key()).keys() == {'r2'}
    r2.send("<iq type='get' id='e2'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
    el = raw_wait(r2, is_('iq', id='e2'))
    assert (el.get('type'), error_condition(el)) == ('error', ('modify', 'bad-request')), \
        to_xml(el)
    r2.send("<iq type='set' id='e3'><nonsense xmlns='urn:xmpp:carbons:2'/></iq>")
    el = raw_wait(r2, is_('iq', id='e3'))
    assert (el.get('type'), error_condition(el)) == ('error', ('modify', 'bad-request')), \
        to_xml(el)
    r2.send("<iq type='set' id='e4' to='alice@localhost'><enable xmlns='urn:xmpp:carbons:2'/>"
            "</iq>")
    r2.expect("<iq type='result' id='e4' from='alice@localhost' to='alice@localhost/r2'/>")
    r2.send("<iq type='get' id='d1' to='localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
    el = raw_wait(r2, is_('iq', id='d1'))
    feats = [f.get('var') for f in el.iter(q(NS_DISCO_INFO, 'feature'))]
    assert NS_CARBONS in feats, feats

    for r in (r1, r2, b):
        r.send("<presence/><iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>")
        raw_wait(r, is_('iq', id='sync'))

    b.send("<message to='alice@localhost/r1' type='chat' id='m1'><body>hi</body></message>")
    got = raw_wait(r2, is_('message'))
    expect_match("<message from='alice@localhost' to='alice@localhost/r2' type='chat'>"
                 "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
                 "<message xmlns='jabber:client' to='alice@localhost/r1' type='chat' id='m1'"
                 " from='bob@localhost/b'><body>hi</body>"
                 "<stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='{*}'/></message>"
                 "</forwarded></received></message>", got)
    raw_wait(r1, is_('message', id='m1'))

    r1.send("<message to='bob@localhost' id='m2'><body>yo</body></message>")
    got = raw_wait(r2, is_('message'))
    expect_match("<message from='alice@localhost' to='alice@localhost/r2'>"
                 "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
                 "<message xmlns='jabber:client' to='bob@localhost' id='m2'"
                 " from='alice@localhost/r1'><body>yo</body>"
                 "<stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='{*}'/></message>"
                 "</forwarded></sent></message>", got)
    raw_wait(b, is_('message', id='m2'))

    r2.send("<iq type='set' id='x1'><disable xmlns='urn:xmpp:carbons:2'/></iq>")
    r2.expect("<iq type='result' id='x1' to='alice@localhost/r2'/>")
    assert redis_hash(server, carbons_key()) == {}
    r2.send("<iq type='set' id='x2'><disable xmlns='urn:xmpp:carbons:2'/></iq>")
    r2.expect("<iq type='result' id='x2' to='alice@localhost/r2'/>")


def test_sender_learns_when_another_session_enables(server):
    """A session whose user had no carbons session stops asking for sent
    copies; when another session enables carbons it says so on the bare
    channel, and the next message is copied to it."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    r1, _ = raw_login(server, ALICE, resource='r1')
    r2, _ = raw_login(server, ALICE, resource='r2')
    b, _ = raw_login(server, BOB, resource='b')
    r1.send("<message to='%s/b' type='chat'><body>before</body></message>" % BOB)
    raw_wait(b, body_is('before'))
    r2.send("<presence/><iq type='set' id='e1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
    raw_wait(r2, is_('iq', id='e1'))
    # The notice reaches r1's handler through pub/sub, beside r1's own
    # stream: give it the time a loaded machine takes to read it.
    time.sleep(0.5)
    r1.send("<message to='%s/b' type='chat'><body>after</body></message>" % BOB)
    el = raw_wait(r2, lambda e: e.find(q(NS_CARBONS, 'sent')) is not None)
    assert inner_body(el, 'sent') == 'after', to_xml(el)
