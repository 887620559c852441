"""XEP-0191 blocking command (urn:xmpp:blocking).

With slixmpp's own xep_0191 plugin as the third-party client: the list,
blocks and unblocks and their pushes to the user's other resources on
another host (two listeners sharing one Redis), messages and IQs from a
blocked JID refused inside the routing decision (the sender gets
<service-unavailable/>, the user nothing), stanzas to a blocked JID
refused with <not-acceptable/> and <blocked/>, domain and full-JID items,
and the effects on presence. The exact IQ errors are in
transcripts/blocking-iq-errors.xmpp.
"""
import asyncio

try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import (PW, body_is, both, error_condition, has_child, handshake, is_,
                        online)

ALICE, BOB, CAROL = 'alice@localhost', 'bob@localhost', 'carol@localhost'
NS_BLOCKING = 'urn:xmpp:blocking'
NS_BLOCKING_ERRORS = 'urn:xmpp:blocking:errors'
PLUGINS = ['xep_0030', 'xep_0191']
QUIET = 1.0          # seconds to wait for what must not come


def blocklist_key(bare=ALICE):
    return 'xmpp:{%s}:blocklist' % bare


def redis_blocklist(server, bare=ALICE):
    return sorted(m.decode() if isinstance(m, bytes) else m
                  for m in server.redis('SMEMBERS', blocklist_key(bare)))


class Pushes:
    """The blocked / unblocked pushes slixmpp's plugin reported: the JIDs
    of each, in order ([] for an unblock of everything)."""

    def __init__(self, im):
        self.got = []
        im.xmpp.add_event_handler('blocked', lambda iq: self.got.append(
            ('block', sorted(str(j) for j in iq['block']['items']))))
        im.xmpp.add_event_handler('unblocked', lambda iq: self.got.append(
            ('unblock', sorted(str(j) for j in iq['unblock']['items']))))

    async def wait(self, what, timeout=5.0):
        ok = await C.apoll(lambda: what in self.got, timeout=timeout)
        assert ok, 'no push %r; got %r' % (what, self.got)


async def blocking_client(port, jid, ask=True, **kw):
    """Online, with the plugin; ask: it asked for the list (pushes come)."""
    c = await online(port, jid, plugins=PLUGINS, **kw)
    c.pushes = Pushes(c)
    if ask:
        await c.xmpp['xep_0191'].get_blocked(timeout=5)
    return c


async def listed(c):
    res = await c.xmpp['xep_0191'].get_blocked(timeout=5)
    return sorted(str(j) for j in res['blocklist']['items'])


def chat(frm, to, body):
    frm.xmpp.send_message(mto=to, mbody=body, mtype='chat')


def refused_blocked(el):
    """The error for a stanza to a JID the user blocks (XEP-0191 3.3)."""
    return error_condition(el) == ('cancel', 'not-acceptable') and \
        el.find('{jabber:client}error/{%s}blocked' % NS_BLOCKING_ERRORS) is not None


def test_list_and_pushes_across_hosts(server_factory):
    """desk (host 0) and phone (host 1) asked for the list; tv (host 1)
    did not. desk blocks two JIDs: phone gets the push, tv none, and the
    set holds them as given, normalised. phone unblocks one, then
    everything: desk gets both pushes (the last one empty), the key goes."""
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        desk = await blocking_client(server.ports[0], ALICE + '/desk')
        phone = await blocking_client(server.ports[1], ALICE + '/phone')
        tv = await blocking_client(server.ports[1], ALICE + '/tv', ask=False)
        seen['empty'] = await listed(desk)
        await desk.xmpp['xep_0191'].block(['Bob@LocalHost', 'spam.example/x'], timeout=5)
        await phone.pushes.wait(('block', ['bob@localhost', 'spam.example/x']))
        seen['redis'] = redis_blocklist(server)
        seen['list_phone'] = await listed(phone)
        await phone.xmpp['xep_0191'].unblock('spam.example/x', timeout=5)
        await desk.pushes.wait(('unblock', ['spam.example/x']))
        seen['after_one'] = redis_blocklist(server)
        await phone.xmpp['xep_0191'].unblock([], timeout=5)
        await desk.pushes.wait(('unblock', []))
        seen['after_all'] = server.redis('EXISTS', blocklist_key())
        await tv.sync()
        await asyncio.sleep(QUIET)
        seen['tv'] = tv.pushes.got
        for c in (desk, phone, tv):
            await c.close()
    C.run(go, timeout=60)

    assert seen['empty'] == [], seen
    assert seen['redis'] == ['bob@localhost', 'spam.example/x'], seen
    assert seen['list_phone'] == seen['redis'], seen
    assert seen['after_one'] == ['bob@localhost'], seen
    assert seen['after_all'] == 0, seen
    assert seen['tv'] == [], seen


def test_messages_and_iqs_both_ways(server_factory):
    """alice (host 0) blocks bob (host 1). bob's message: an error to bob
    (service-unavailable), nothing to alice; bob's IQ get to alice's full
    JID: service-unavailable. alice's message to bob: not-acceptable with
    <blocked/>, nothing to bob. carol still gets through. After the
    unblock both directions work again."""
    server = server_factory(listeners=2)
    for u in (ALICE, BOB, CAROL):
        server.adduser(u, PW)
    seen = {}

    async def go():
        alice = await blocking_client(server.ports[0], ALICE + '/desk')
        bob = await online(server.ports[1], BOB + '/pc')
        carol = await online(server.ports[1], CAROL + '/pc')
        await alice.xmpp['xep_0191'].block(BOB, timeout=5)

        chat(bob, ALICE + '/desk', 'from bob')
        err = await bob.wait1(is_('message', type='error', from_=ALICE + '/desk'))
        seen['bob_error'] = error_condition(err)
        chat(bob, ALICE, 'from bob to bare')
        await bob.wait(is_('message', type='error'), count=2)
        iq = bob.xmpp.make_iq_get(queryxmlns='jabber:iq:version', ito=ALICE + '/desk')
        try:
            await iq.send(timeout=5)
            seen['iq'] = 'answered'
        except Exception as e:                  # slixmpp's IqError
            seen['iq'] = error_condition(e.iq.xml) if hasattr(e, 'iq') else repr(e)
        chat(carol, ALICE + '/desk', 'from carol')
        await alice.wait1(body_is('from carol'))
        seen['alice_from_bob'] = alice.seen(lambda e: e.get('from', '').startswith(BOB) and
                                            e.tag == '{jabber:client}message')

        chat(alice, BOB + '/pc', 'to bob')
        err = await alice.wait1(both(is_('message', type='error'), body_is('to bob')))
        seen['refused'] = refused_blocked(err)
        await alice.sync()
        await bob.none_for(body_is('to bob'), QUIET)

        await alice.xmpp['xep_0191'].unblock(BOB, timeout=5)
        chat(bob, ALICE + '/desk', 'after unblock')
        await alice.wait1(body_is('after unblock'))
        chat(alice, BOB + '/pc', 'back to bob')
        await bob.wait1(body_is('back to bob'))
        for c in (alice, bob, carol):
            await c.close()
    C.run(go, timeout=60)

    assert seen['bob_error'] == ('cancel', 'service-unavailable'), seen
    assert seen['iq'] == ('cancel', 'service-unavailable'), seen
    assert seen['alice_from_bob'] == [], seen
    assert seen['refused'], seen


def test_domain_and_full_jid_items(server):
    """A domain item blocks every user of the domain (never the user's own
    resources, nor the server itself); a full-JID item only that
    resource."""
    for u in (ALICE, BOB, CAROL):
        server.adduser(u, PW)
    seen = {}

    async def go():
        alice = await blocking_client(server.port, ALICE + '/desk')
        alice2 = await online(server.port, ALICE + '/phone')
        bob_pc = await online(server.port, BOB + '/pc')
        bob_tab = await online(server.port, BOB + '/tab')
        carol = await online(server.port, CAROL + '/pc')

        await alice.xmpp['xep_0191'].block(BOB + '/pc', timeout=5)
        chat(bob_pc, ALICE + '/desk', 'from pc')
        seen['pc'] = error_condition(await bob_pc.wait1(is_('message', type='error')))
        chat(bob_tab, ALICE + '/desk', 'from tab')
        await alice.wait1(body_is('from tab'))
        chat(alice, BOB + '/tab', 'to tab')
        await bob_tab.wait1(body_is('to tab'))
        chat(alice, BOB + '/pc', 'to pc')
        seen['to_pc'] = refused_blocked(await alice.wait1(is_('message', type='error')))

        await alice.xmpp['xep_0191'].unblock([], timeout=5)
        await alice.xmpp['xep_0191'].block('localhost', timeout=5)
        await alice.sync()                  # the server itself is never refused
        chat(carol, ALICE + '/desk', 'from carol')
        seen['carol'] = error_condition(await carol.wait1(is_('message', type='error')))
        chat(alice2, ALICE + '/desk', 'from myself')
        await alice.wait1(body_is('from myself'))
        await alice.none_for(lambda e: body_is('from pc')(e) or body_is('from carol')(e),
                             QUIET)
        for c in (alice, alice2, bob_pc, bob_tab, carol):
            await c.close()
    C.run(go, timeout=60)

    assert seen['pc'] == ('cancel', 'service-unavailable'), seen
    assert seen['to_pc'], seen
    assert seen['carol'] == ('cancel', 'service-unavailable'), seen


def test_presence(server):
    """alice and bob see each other's presence. alice blocks bob: bob gets
    unavailable from alice; then neither sees the other's presence
    changes. alice unblocks bob: each gets the other's current presence."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        alice = await blocking_client(server.port, ALICE + '/desk')
        bob = await online(server.port, BOB + '/pc')
        await handshake(alice, bob)
        await asyncio.sleep(0.2)

        n = bob.mark()
        await alice.xmpp['xep_0191'].block(BOB, timeout=5)
        await bob.wait1(is_('presence', type='unavailable', from_=ALICE + '/desk'), since=n)

        na, nb = alice.mark(), bob.mark()
        alice.xmpp.send_presence(pstatus='alice away', pshow='away')
        bob.xmpp.send_presence(pstatus='bob away', pshow='away')
        await alice.sync()
        await bob.sync()
        await asyncio.sleep(QUIET)
        seen['bob_saw'] = bob.seen(is_('presence', from_=ALICE + '/desk'), since=nb)
        seen['alice_saw'] = alice.seen(is_('presence', from_=BOB + '/pc'), since=na)

        na, nb = alice.mark(), bob.mark()
        await alice.xmpp['xep_0191'].unblock(BOB, timeout=5)
        p = await bob.wait1(both(is_('presence', from_=ALICE + '/desk', type=None),
                                 has_child('jabber:client', 'status')), since=nb)
        seen['bob_now'] = p.find('{jabber:client}status').text
        p = await alice.wait1(both(is_('presence', from_=BOB + '/pc', type=None),
                                   has_child('jabber:client', 'status')), since=na)
        seen['alice_now'] = p.find('{jabber:client}status').text
        await alice.close()
        await bob.close()
    C.run(go, timeout=60)

    assert seen['bob_saw'] == [] and seen['alice_saw'] == [], seen
    assert seen['bob_now'] == 'alice away', seen
    assert seen['alice_now'] == 'bob away', seen


def test_deluser_removes_the_blocklist(server):
    """xmppctl deluser takes the blocklist with the account."""
    server.adduser(ALICE, PW)

    async def go():
        alice = await blocking_client(server.port, ALICE + '/desk')
        await alice.xmpp['xep_0191'].block(BOB, timeout=5)
        await alice.close()
    C.run(go, timeout=30)

    assert server.redis('EXISTS', blocklist_key()) == 1
    p = server.ctl('deluser', ALICE)
    assert p.returncode == 0, p.stderr
    assert server.redis('EXISTS', blocklist_key()) == 0
