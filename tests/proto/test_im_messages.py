"""RFC 6121 8 and 5: messages between users on different hosts, the
server's stamping of 'from', errors for undeliverable messages, and
offline storage with XEP-0203 delay stamps (slixmpp on both sides).
"""
import asyncio
import hashlib
import pathlib
import subprocess
import time

try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import (PW, body_is, error_condition, is_, online, xmls, q,
                        NS_DELAY, stamp_epoch)

ALICE, BOB = 'alice@localhost', 'bob@localhost'


def test_chat_across_listeners(server_factory):
    """alice on host 0, bob on host 1: to the bare JID and to the full JID
    both ways; a forged 'from' is replaced by the sender's full JID
    (RFC 6120 8.1.2.1)."""
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/home')
        b = await online(server.ports[1], BOB + '/work')
        pid_a = C.parse_session_record(C.redis_sessions(server, ALICE)['home'])['pid']
        pid_b = C.parse_session_record(C.redis_sessions(server, BOB)['work'])['pid']
        seen['pids'] = (pid_a, pid_b)
        await asyncio.sleep(0.2)
        a.xmpp.send_message(mto=BOB, mbody='hello bare', mtype='chat')
        m1 = await b.wait1(body_is('hello bare'))
        a.xmpp.send_message(mto=b.full, mbody='hello full', mtype='chat')
        m2 = await b.wait1(body_is('hello full'))
        b.xmpp.send_message(mto=a.full, mbody='reply full', mtype='chat')
        m3 = await a.wait1(body_is('reply full'))
        b.xmpp.send_message(mto=ALICE, mbody='reply bare', mtype='normal')
        m4 = await a.wait1(body_is('reply bare'))
        seen['m'] = [(m.get('from'), m.get('to'), m.get('type')) for m in (m1, m2, m3, m4)]
        # forged from: the server stamps the real full JID
        a.xmpp.send_raw("<message to='%s' from='mallory@localhost/x' type='chat' id='forge1'>"
                        "<body>forged</body></message>" % BOB)
        forged = await b.wait(body_is('forged'))
        seen['forged'] = [m.get('from') for m in forged]
        seen['mallory'] = b.seen(is_('message', from_=lambda f: (f or '').startswith('mallory')))
        await a.close()
        await b.close()
    C.run(go, timeout=60)

    assert seen['pids'][0] != seen['pids'][1], seen
    assert seen['m'] == [
        (ALICE + '/home', BOB, 'chat'),
        (ALICE + '/home', BOB + '/work', 'chat'),
        (BOB + '/work', ALICE + '/home', 'chat'),
        (BOB + '/work', ALICE, 'normal'),
    ], seen
    assert seen['forged'] == [ALICE + '/home'], seen
    assert seen['mallory'] == [], xmls(seen['mallory'])


def test_message_errors(server):
    """Undeliverable messages come back as errors from the address they
    were sent to: no such user -> service-unavailable (RFC 6121 8.5.1, the
    server's choice (b)), unknown domain -> remote-server-not-found (RFC
    6120 8.3.3.16); a message of type 'error' is never answered with an
    error (RFC 6120 8.3.1) nor stored offline (RFC 6121 8.5.2.2.1,
    8.5.3.2.1)."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)           # exists, never online
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1')
        a.xmpp.send_raw("<message to='nobody@localhost' type='chat' id='e1'>"
                        "<body>anyone?</body></message>")
        e1 = await a.wait1(is_('message', id='e1'))
        a.xmpp.send_raw("<message to='someone@unknown.example' type='chat' id='e2'>"
                        "<body>far away</body></message>")
        e2 = await a.wait1(is_('message', id='e2'))
        seen['e'] = [(e.get('type'), e.get('from'), e.get('to'), error_condition(e))
                     for e in (e1, e2)]
        n = a.mark()
        for i, to in enumerate(('nobody@localhost', 'someone@unknown.example', BOB,
                                BOB + '/gone', 'localhost')):
            a.xmpp.send_raw("<message to='%s' type='error' id='x%d'><body>err</body>"
                            "<error type='cancel'><service-unavailable "
                            "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
                            % (to, i))
        await a.sync()
        await a.none_for(is_('message'), seconds=0.7, since=n)
        seen['llen'] = server.redis('LLEN', 'xmpp:{%s}:offline' % BOB)
        await a.close()
    C.run(go, timeout=60)

    assert seen['e'][0] == ('error', 'nobody@localhost', ALICE + '/a1',
                            ('cancel', 'service-unavailable')), seen
    assert seen['e'][1] == ('error', 'someone@unknown.example', ALICE + '/a1',
                            ('cancel', 'remote-server-not-found')), seen
    assert seen['llen'] == 0, seen


def test_offline_messages_delivered_in_order_with_delay(server):
    """RFC 6121 8.5.2.2.1 / XEP-0160: messages to a user with no available
    resource are stored and delivered, oldest first, after the user's
    initial presence, each with an XEP-0203 <delay/>; the store is then
    empty."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1')
        t0 = time.time()
        a.xmpp.send_message(mto=BOB, mbody='first', mtype='chat')
        a.xmpp.send_message(mto=BOB, mbody='second', mtype='normal')
        await a.sync()
        seen['llen_before'] = C.poll(
            lambda: server.redis('LLEN', 'xmpp:{%s}:offline' % BOB) == 2, 3) and 2 or \
            server.redis('LLEN', 'xmpp:{%s}:offline' % BOB)
        seen['errors'] = a.seen(is_('message', type='error'))
        b = await online(server.port, BOB + '/b1', presence=False)
        await b.none_for(is_('message'), seconds=0.5)
        nb = b.mark()
        b.xmpp.send_presence()
        msgs = await b.wait(is_('message'), since=nb, count=2)
        await b.none_for(is_('message'), seconds=0.5, since=b.received.index(msgs[1]) + 1)
        seen['msgs'] = [(m.get('from'), m.get('type'),
                         m.find(q('jabber:client', 'body')).text) for m in msgs]
        delays = [m.find(q(NS_DELAY, 'delay')) for m in msgs]
        assert all(d is not None for d in delays), xmls(msgs)
        seen['stamps'] = [stamp_epoch(d.get('stamp')) - t0 for d in delays]
        seen['delay_from'] = [d.get('from') for d in delays]
        seen['llen_after'] = server.redis('LLEN', 'xmpp:{%s}:offline' % BOB)
        # once online, a new message is not delayed
        a.xmpp.send_message(mto=BOB, mbody='live', mtype='chat')
        live = await b.wait1(body_is('live'))
        seen['live_delay'] = live.find(q(NS_DELAY, 'delay'))
        await a.close()
        await b.close()
    C.run(go, timeout=60)

    assert seen['errors'] == [], xmls(seen['errors'])
    assert seen['llen_before'] == 2, seen
    assert seen['msgs'] == [(ALICE + '/a1', 'chat', 'first'),
                            (ALICE + '/a1', 'normal', 'second')], seen
    # stamps: when the server stored them (second granularity is fine)
    assert all(-2 <= s <= 10 for s in seen['stamps']), seen
    assert all(f in (None, 'localhost') for f in seen['delay_from']), seen
    assert seen['llen_after'] == 0, seen
    assert seen['live_delay'] is None, seen


def test_offline_cap(server_factory):
    """offline_max = 2: a third message to an offline user is refused with
    service-unavailable (XEP-0160 3) and not stored."""
    server = server_factory(offline_max=2)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1')
        for i in (1, 2, 3):
            a.xmpp.send_raw("<message to='%s' type='chat' id='cap%d'><body>n%d</body></message>"
                            % (BOB, i, i))
        await a.sync()
        await asyncio.sleep(0.3)
        seen['errors'] = [(e.get('id'), e.get('from'), error_condition(e))
                          for e in a.seen(is_('message', type='error'))]
        seen['llen'] = server.redis('LLEN', 'xmpp:{%s}:offline' % BOB)
        await a.close()
    C.run(go, timeout=60)

    assert seen['errors'] == [('cap3', BOB, ('cancel', 'service-unavailable'))], seen
    assert seen['llen'] == 2, seen


def test_message_types_bare_jid(server):
    """RFC 6121 8.5.2: to a bare JID with an available resource, chat,
    normal and headline are delivered, groupchat is refused with
    service-unavailable (8.5.2.1.1); with no available resource, headline
    is silently dropped and groupchat refused (8.5.2.2.1), and neither is
    stored."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1')
        b = await online(server.port, BOB + '/desk')
        await asyncio.sleep(0.2)
        for t in ('chat', 'normal', 'headline', 'groupchat'):
            a.xmpp.send_raw("<message to='%s' type='%s' id='on-%s'><body>%s</body></message>"
                            % (BOB, t, t, t))
        await b.wait(is_('message', id='on-headline'))
        await a.sync()
        await asyncio.sleep(0.5)
        seen['online_got'] = sorted(e.get('type') for e in b.seen(is_('message')))
        seen['online_err'] = [(e.get('id'), error_condition(e))
                              for e in a.seen(is_('message', type='error'))]
        await b.close()
        await asyncio.sleep(0.3)
        na = a.mark()
        for t in ('headline', 'groupchat'):
            a.xmpp.send_raw("<message to='%s' type='%s' id='off-%s'><body>%s</body></message>"
                            % (BOB, t, t, t))
        await a.sync()
        await asyncio.sleep(0.3)
        seen['offline_err'] = [(e.get('id'), error_condition(e))
                               for e in a.seen(is_('message', type='error'), since=na)]
        seen['llen'] = server.redis('LLEN', 'xmpp:{%s}:offline' % BOB)
        await a.close()
    C.run(go, timeout=60)

    assert seen['online_got'] == ['chat', 'headline', 'normal'], seen
    assert seen['online_err'] == [('on-groupchat', ('cancel', 'service-unavailable'))], seen
    assert seen['offline_err'] == [('off-groupchat', ('cancel', 'service-unavailable'))], seen
    assert seen['llen'] == 0, seen


def test_message_types_unavailable_full_jid(server):
    """RFC 6121 8.5.3.2.1: to a full JID whose resource is not connected,
    only a 'chat' message may be treated as if sent to the bare JID; a
    'normal', 'headline' or 'groupchat' message is silently ignored or
    answered with service-unavailable (groupchat: service-unavailable),
    and never delivered to another resource or stored offline; 'error'
    is ignored."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1')
        b = await online(server.port, BOB + '/desk')
        await asyncio.sleep(0.2)
        for t in ('chat', 'normal', 'headline', 'groupchat'):
            a.xmpp.send_raw("<message to='%s/gone' type='%s' id='full-%s'><body>%s</body>"
                            "</message>" % (BOB, t, t, t))
        await b.wait(is_('message', id='full-chat'))
        await a.sync()
        await asyncio.sleep(0.5)
        seen['desk_got'] = sorted(e.get('type') for e in b.seen(is_('message')))
        seen['errors'] = sorted((e.get('id'), e.get('from'), error_condition(e)[1])
                                for e in a.seen(is_('message', type='error')))
        await b.close()
        await asyncio.sleep(0.3)
        # nobody online: a 'normal' message to a full JID is not stored
        na = a.mark()
        a.xmpp.send_raw("<message to='%s/gone' type='normal' id='off-normal'><body>n</body>"
                        "</message>" % BOB)
        await a.sync()
        await asyncio.sleep(0.3)
        seen['llen'] = server.redis('LLEN', 'xmpp:{%s}:offline' % BOB)
        seen['off_errors'] = [(e.get('id'), error_condition(e)[1])
                              for e in a.seen(is_('message', type='error'), since=na)]
        await a.close()
    C.run(go, timeout=60)

    assert seen['desk_got'] == ['chat'], \
        'only chat may fall back to the bare JID (RFC 6121 8.5.3.2.1): %r' % (seen,)
    errs = dict((i, c) for i, _, c in seen['errors'])
    assert errs.get('full-groupchat') == 'service-unavailable', seen
    assert errs.get('full-normal') in (None, 'service-unavailable'), seen
    assert seen['llen'] == 0, \
        "a 'normal' message to an unavailable full JID was stored offline: %r" % (seen,)


ROOT = pathlib.Path(__file__).resolve().parents[2]


def script_sha(name):
    """The SHA-1 Redis knows router/lua/NAME.lua by (tests/embed-lua.sh)."""
    text = subprocess.run(['sh', str(ROOT / 'tests/embed-lua.sh'), '-a',
                           str(ROOT / 'router/lua' / (name + '.lua'))],
                          capture_output=True, check=True).stdout
    return hashlib.sha1(text).hexdigest()


SCRIPTS = [script_sha('route_stanza'), script_sha('mam_add')]


def noscript_errors(server):
    """How many commands Redis refused with NOSCRIPT so far."""
    for line in server.redis('INFO', 'errorstats').splitlines():
        if line.startswith('errorstat_NOSCRIPT:'):
            return int(line.split('count=')[1].split(',')[0])
    return 0


def test_first_message_runs_its_scripts_in_order(server_factory):
    """A message and the sender's archive entry go in one pipeline
    (route_stanza, then mam_add). In a Redis that has never run them, a
    NOSCRIPT answer would make the handler run them again after the
    pipeline, out of order (the other side could answer before the
    sender's own entry is written): the pipeline loads them first."""
    server = server_factory()
    for u in ('alice@localhost', 'bob@localhost'):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], 'alice@localhost/a')
        b = await online(server.ports[0], 'bob@localhost/b')
        seen['before'] = noscript_errors(server)
        seen['loaded'] = server.redis('SCRIPT', 'EXISTS', *SCRIPTS)
        a.xmpp.send_message(mto='bob@localhost/b', mbody='first', mtype='chat')
        await b.wait1(body_is('first'))
        b.xmpp.send_message(mto='alice@localhost/a', mbody='back', mtype='chat')
        await a.wait1(body_is('back'))
        seen['after'] = noscript_errors(server)
        for c in (a, b):
            await c.close()
    C.run(go, timeout=30)
    assert seen['loaded'] == [0, 0], 'the scripts ran before the first message'
    assert seen['after'] == seen['before'], seen
