"""Instant messaging across domains (RFC 6120 server-to-server, RFC 6121
subscriptions and presence), xmppd beside Prosody in the federation
harness (s2s_harness.py): alice@a.test on xmppd (xmpp-handler, xmpp-s2s-in
on the domain's SRV port, xmpp-s2s-out), bob@b.test on Prosody, both
requiring certificates (s2s_secure, s2s_secure_auth) from the test CA.

slixmpp clients, subscriptions decided by the test:
- alice asks bob's subscription; bob (Prosody) gets the request from
  alice's bare JID, approves it and asks back; alice gets bob's
  'subscribed' (a roster push: subscription to) and his request, and
  approves it: both rosters say both;
- presence: bob's available presence reaches alice, alice's reaches bob;
- messages both ways, with the right full JIDs, both in alice's archive;
- alice goes offline: bob gets her unavailable presence; alice comes back:
  xmppd probes b.test, and bob's presence reaches her again;
- XEP-0191: alice blocks bob; his next message is refused, with an error
  back to him across the federation.
"""
import asyncio
import os
import re
import xml.etree.ElementTree as ET

import clients as C
import im_helpers as H
from harness import SANITIZER_MARKS
from im_helpers import PW, NS_CLIENT
from s2s_harness import _lua as _lua_str, federation, pki, wait_for  # noqa: F401 (fixtures)
from test_s2s_out import Dispatcher

NS_ROSTER = 'jabber:iq:roster'


def xmppd_with_both_sides(fed, domain, **conf):
    crt, key = fed.pki.cert(domain)
    conf.setdefault('tls_cert', crt)
    conf.setdefault('tls_key', key)
    x = fed.xmppd(domain, listeners=2, s2s_listener=1, listener_progs=[None, 'xmpp-s2s-in'],
                  s2s='yes', s2s_ca_file=fed.pki.ca_cert, **conf)
    out = Dispatcher(x.conf_path, os.path.join(x.dir, 'out.log'), popen=fed.popen)
    return x, out


def subscription_of(im, contact):
    items = [e for e in im.received if e.tag == H.q(NS_CLIENT, 'iq')
             and e.find(H.q(NS_ROSTER, 'query')) is not None]
    sub = None
    for e in items:
        for it in e.find(H.q(NS_ROSTER, 'query')):
            if it.get('jid') == contact:
                sub = it.get('subscription')
    return sub


def test_subscriptions_presence_and_messages_with_prosody(federation):
    fed = federation
    fed.prosody('b.test', secure_auth=True)
    fed.servers['b.test'].adduser('bob', PW)
    fed.start()
    x, out = xmppd_with_both_sides(fed, 'a.test')
    x.adduser('alice@a.test', PW)
    p = fed.servers['b.test']
    try:
        async def go():
            a = H.IM('alice@a.test/a', PW)
            b = H.IM('bob@b.test/b', PW)
            assert (await a.login(x.port, host=x.host, timeout=10)).session_started
            assert (await b.login(p.c2s_port, host=p.addr, timeout=10)).session_started
            await a.roster()
            await b.roster()
            a.xmpp.send_presence()
            b.xmpp.send_presence()
            # alice asks; bob approves and asks back; alice approves
            a.xmpp.send_presence(pto='bob@b.test', ptype='subscribe')
            await b.wait1(H.is_('presence', type='subscribe', from_='alice@a.test'),
                          timeout=20)
            b.xmpp.send_presence(pto='alice@a.test', ptype='subscribed')
            b.xmpp.send_presence(pto='alice@a.test', ptype='subscribe')
            await a.wait1(H.is_('presence', type='subscribe', from_='bob@b.test'),
                          timeout=20)
            a.xmpp.send_presence(pto='bob@b.test', ptype='subscribed')
            # bob's presence (sent on 'subscribed') and alice's
            await a.wait1(H.is_('presence', type=None, from_='bob@b.test/b'), timeout=20)
            await b.wait1(H.is_('presence', type=None, from_='alice@a.test/a'), timeout=20)
            await C.apoll(lambda: subscription_of(a, 'bob@b.test') == 'both', timeout=10)
            # messages both ways
            a.xmpp.send_message(mto='bob@b.test/b', mbody='hi bob', mtype='chat')
            m = await b.wait1(H.body_is('hi bob'), timeout=20)
            assert m.get('from') == 'alice@a.test/a'
            b.xmpp.send_message(mto='alice@a.test/a', mbody='hi alice', mtype='chat')
            m = await a.wait1(H.body_is('hi alice'), timeout=20)
            assert m.get('from') == 'bob@b.test/b'
            # offline, then back: the probe brings bob's presence again
            mark = b.mark()
            a.xmpp.disconnect()
            await b.wait1(H.is_('presence', type='unavailable', from_='alice@a.test/a'),
                          timeout=20, since=mark)
            a2 = H.IM('alice@a.test/again', PW)
            assert (await a2.login(x.port, host=x.host, timeout=10)).session_started
            await a2.roster()
            a2.xmpp.send_presence()
            await a2.wait1(H.is_('presence', type=None, from_='bob@b.test/b'), timeout=20)
            await b.wait1(H.is_('presence', type=None, from_='alice@a.test/again'),
                          timeout=20, since=mark)
            # XEP-0191 across domains: alice blocks bob; his message is
            # refused (an error comes back to b.test), hers to him too
            iq = a2.xmpp.Iq()
            iq['type'] = 'set'
            blk = ET.SubElement(iq.xml, '{urn:xmpp:blocking}block')
            ET.SubElement(blk, '{urn:xmpp:blocking}item', jid='bob@b.test')
            await iq.send(timeout=10)
            mark_a, mark_b = a2.mark(), b.mark()
            m = b.xmpp.make_message(mto='alice@a.test/again', mbody='blocked?', mtype='chat')
            m['id'] = 'x1'
            m.send()
            e = await b.wait1(H.is_('message', type='error', id='x1'), timeout=20, since=mark_b)
            assert H.error_condition(e)[1] == 'service-unavailable', H.xmls([e])
            await a2.none_for(H.body_is('blocked?'), seconds=1, since=mark_a)
            return True
        with fed.explain(('xmpp-s2s-out', out.log), ('xmppd', x.log)):
            assert fed.run_clients(go, timeout=120)
        roster = x.redis('HGET', 'xmpp:{alice@a.test}:roster', 'bob@b.test')
        assert "subscription='both'" in roster, roster
        # the log lines of both sides name the remote domain and the method
        # (XMPP_REMOTE_DOMAIN, XMPP_AUTH in the journal)
        assert re.search(r'xmpp-s2s-in\[\d+\]: .* remote=b\.test auth=(sasl|dialback)', x.log()), \
            x.log()[-3000:]
        assert 'remote=b.test auth=sasl' in out.log(), out.log()[-3000:]
        # both messages in alice's archive (XEP-0313), with bob
        r = x.ctl('archive', 'alice@a.test')
        assert r.returncode == 0 and 'hi bob' in r.stdout and 'hi alice' in r.stdout, r.stdout
    finally:
        out.stop()
    for log in (x.log(),):
        assert not [m for m in SANITIZER_MARKS if m in log], log[-4000:]


def two_xmppd_exchange(fed, x, xa, y, ya):
    """alice@a.test on x and carol@c.test on y: a subscription both ways,
    presence, a message each way."""
    async def go():
        a = H.IM('alice@a.test/a', PW)
        c = H.IM('carol@c.test/c', PW)
        assert (await a.login(x.port, host=x.host, timeout=10)).session_started
        assert (await c.login(y.port, host=y.host, timeout=10)).session_started
        await a.roster()
        await c.roster()
        a.xmpp.send_presence()
        c.xmpp.send_presence()
        a.xmpp.send_presence(pto='carol@c.test', ptype='subscribe')
        await c.wait1(H.is_('presence', type='subscribe', from_='alice@a.test'), timeout=30)
        c.xmpp.send_presence(pto='alice@a.test', ptype='subscribed')
        await a.wait1(H.is_('presence', type=None, from_='carol@c.test/c'), timeout=30)
        a.xmpp.send_message(mto='carol@c.test/c', mbody='to c', mtype='chat')
        m = await c.wait1(H.body_is('to c'), timeout=30)
        assert m.get('from') == 'alice@a.test/a'
        c.xmpp.send_message(mto='alice@a.test', mbody='to a', mtype='chat')
        m = await a.wait1(H.body_is('to a'), timeout=30)
        assert m.get('from') == 'carol@c.test/c'
        return True
    with fed.explain(('a.test', x.log), ('a.test out', xa.log), ('c.test out', ya.log),
                     ('c.test', y.log)):
        assert fed.run_clients(go, timeout=120)


def test_two_xmppd_with_certificates(federation):
    """Two xmppd installations, each its own Redis: certificates from the
    CA authenticate both directions (SASL EXTERNAL)."""
    fed = federation
    fed.start()
    x, xa = xmppd_with_both_sides(fed, 'a.test')
    y, ya = xmppd_with_both_sides(fed, 'c.test')
    x.adduser('alice@a.test', PW)
    y.adduser('carol@c.test', PW)
    try:
        two_xmppd_exchange(fed, x, xa, y, ya)
        assert 'SASL EXTERNAL' in xa.log() and 'SASL EXTERNAL' in ya.log()
        # XEP-0198 both ways: each outbound side enabled it, and the
        # queue was emptied by the peer's acknowledgements
        for out in (xa, ya):
            assert 'stream management enabled' in out.log(), out.log()[-3000:]
        assert 'stream management enabled' in x.log() and 'stream management enabled' in y.log()
    finally:
        xa.stop()
        ya.stop()


def test_two_xmppd_by_dialback(federation):
    """Self-signed certificates and s2s_secure = no: each side
    authenticates by dialback, the receiving server asking the other's
    authoritative server (its xmpp-s2s-in) through its own outbound
    connection, which answers from its server secret."""
    fed = federation
    fed.start()
    crt, key = fed.pki.self_signed('a.test')
    crt2, key2 = fed.pki.self_signed('c.test')
    x, xa = xmppd_with_both_sides(fed, 'a.test', s2s_secure='no', tls_cert=crt, tls_key=key)
    y, ya = xmppd_with_both_sides(fed, 'c.test', s2s_secure='no', tls_cert=crt2,
                                  tls_key=key2)
    x.adduser('alice@a.test', PW)
    y.adduser('carol@c.test', PW)
    try:
        two_xmppd_exchange(fed, x, xa, y, ya)
        assert 'authenticated by dialback' in xa.log() and \
            'authenticated by dialback' in ya.log()
    finally:
        xa.stop()
        ya.stop()


def test_local_user_in_a_remote_room(federation):
    """alice@a.test (xmppd) joins a room of rooms.b.test, Prosody's MUC
    component, where bob@b.test is; each sees the other's presence and
    groupchat message through the federation."""
    fed = federation
    crt, key = fed.pki.cert('rooms.b.test')
    p = fed.prosody('b.test', secure_auth=True, host_config=(
        'Component "rooms.b.test" "muc"\n  ssl = { certificate = %s, key = %s }\n'
        '  restrict_room_creation = false\n  muc_room_locking = false\n' % (
            _lua_str(crt), _lua_str(key))))
    fed.publish('rooms.b.test', p.addr, p.s2s_port, host='xmpp.b.test')
    p.adduser('bob', PW)
    fed.start()
    x, out = xmppd_with_both_sides(fed, 'a.test')
    x.adduser('alice@a.test', PW)
    room = 'lounge@rooms.b.test'
    try:
        async def go():
            a = H.IM('alice@a.test/a', PW)
            b = H.IM('bob@b.test/b', PW)
            assert (await a.login(x.port, host=x.host, timeout=10)).session_started
            assert (await b.login(p.c2s_port, host=p.addr, timeout=10)).session_started
            a.xmpp.send_presence()
            b.xmpp.send_presence()
            muc = '<x xmlns="http://jabber.org/protocol/muc"/>'
            for c, nick in ((b, 'bob'), (a, 'alice')):
                pr = c.xmpp.make_presence(pto='%s/%s' % (room, nick))
                pr.append(ET.fromstring(muc))
                pr.send()
                await c.wait1(H.both(H.is_('presence', from_='%s/%s' % (room, nick)),
                                     lambda e: '110' in ET.tostring(e).decode()),
                              timeout=30)
            await b.wait1(H.is_('presence', from_=room + '/alice'), timeout=20)
            a.xmpp.send_message(mto=room, mbody='hello room', mtype='groupchat')
            m = await b.wait1(H.body_is('hello room'), timeout=20)
            assert m.get('from') == room + '/alice'
            b.xmpp.send_message(mto=room, mbody='hello alice', mtype='groupchat')
            m = await a.wait1(H.body_is('hello alice'), timeout=20)
            assert m.get('from') == room + '/bob' and m.get('type') == 'groupchat'
            return True
        with fed.explain(('xmpp-s2s-out', out.log), ('xmppd', x.log)):
            assert fed.run_clients(go, timeout=90)
    finally:
        out.stop()


def test_remote_user_in_a_local_room(federation):
    """bob@b.test (Prosody) joins lounge@rooms.a.test, a room of xmppd's
    conference domain that alice@a.test made: bob gets alice's presence,
    his own (110) and the room's history and subject; alice sees him
    come; groupchat both ways, a private message to him, a nick change,
    then his exit. His occupancy is relayed by xmpp-s2s-out (the room's
    relay, which ends with his exit), and his join and messages come in
    through xmpp-s2s-in: the same scripts as a local occupant's."""
    import muc_helpers as M
    fed = federation
    p = fed.prosody('b.test', secure_auth=True)
    p.adduser('bob', PW)
    fed.start()
    crt, key = fed.pki.cert('a.test', names=['a.test', 'rooms.a.test'])
    x, out = xmppd_with_both_sides(fed, 'a.test', tls_cert=crt, tls_key=key,
                                   muc_domain='rooms.a.test')
    fed.publish('rooms.a.test', x.host, x.s2s_port)
    fed.restart_dns()
    x.adduser('alice@a.test', PW)
    room = 'lounge@rooms.a.test'
    muc = '<x xmlns="http://jabber.org/protocol/muc"/>'

    def codes(el):
        return M.x_of(el)[1]

    async def go():
        a = H.IM('alice@a.test/a', PW, plugins=M.PLUGINS)
        b = H.IM('bob@b.test/b', PW)
        assert (await a.login(x.port, host=x.host, timeout=10)).session_started
        assert (await b.login(p.c2s_port, host=p.addr, timeout=10)).session_started
        a.xmpp.send_presence()
        b.xmpp.send_presence()
        await M.create_room(a, 'alice', room=room)
        a.xmpp.send_message(mto=room, mbody='before bob', mtype='groupchat')
        await a.wait1(H.body_is('before bob'), timeout=10)
        pr = b.xmpp.make_presence(pto=room + '/bob')
        pr.append(ET.fromstring(muc))
        pr.send()
        # The welcome, in XEP-0045 7.2.3's order: alice, bob himself, the
        # history, the subject.
        al = await b.wait1(H.is_('presence', from_=room + '/alice'), timeout=30)
        assert M.x_of(al)[0]['affiliation'] == 'owner'
        me = await b.wait1(H.is_('presence', from_=room + '/bob'), timeout=10)
        assert '110' in codes(me) and me.get('to') == 'bob@b.test/b'
        old = await b.wait1(H.body_is('before bob'), timeout=10)
        assert old.find(H.q('urn:xmpp:delay', 'delay')) is not None
        await b.wait1(lambda e: e.find(H.q(NS_CLIENT, 'subject')) is not None, timeout=10)
        order = [e for e in b.received if e.get('from', '').startswith(room)]
        assert order.index(al) < order.index(me) < order.index(old)
        seen = await a.wait1(H.is_('presence', from_=room + '/bob'), timeout=10)
        assert M.x_of(seen)[0]['jid'] == 'bob@b.test/b'     # alice owns it
        # groupchat both ways, each reflected to its sender
        b.xmpp.send_message(mto=room, mbody='hello from b', mtype='groupchat')
        m = await a.wait1(H.body_is('hello from b'), timeout=20)
        assert m.get('from') == room + '/bob' and m.get('type') == 'groupchat'
        await b.wait1(H.body_is('hello from b'), timeout=20)
        a.xmpp.send_message(mto=room, mbody='hello from a', mtype='groupchat')
        m = await b.wait1(H.body_is('hello from a'), timeout=20)
        assert m.get('from') == room + '/alice'
        assert m.find(H.q('urn:xmpp:sid:0', 'stanza-id')).get('by') == room
        # a private message to his nick
        a.xmpp.send_message(mto=room + '/bob', mbody='just you', mtype='chat')
        m = await b.wait1(H.body_is('just you'), timeout=20)
        assert m.get('from') == room + '/alice'
        # a nick change (XEP-0045 7.6): 303 with the new nick, then his
        # messages under it
        b.xmpp.send_presence(pto=room + '/robert')
        ch = await a.wait1(H.both(H.is_('presence', from_=room + '/bob', type='unavailable'),
                                  lambda e: '303' in codes(e)), timeout=20)
        assert M.x_of(ch)[0]['nick'] == 'robert'
        await b.wait1(H.both(H.is_('presence', from_=room + '/bob', type='unavailable'),
                             lambda e: '303' in codes(e) and '110' in codes(e)), timeout=20)
        await b.wait1(H.is_('presence', from_=room + '/robert'), timeout=20)
        b.xmpp.send_message(mto=room, mbody='renamed', mtype='groupchat')
        m = await a.wait1(H.body_is('renamed'), timeout=20)
        assert m.get('from') == room + '/robert'
        # his exit: alice sees it, and so does he (110)
        b.xmpp.send_presence(pto=room + '/robert', ptype='unavailable')
        await a.wait1(H.is_('presence', from_=room + '/robert', type='unavailable'),
                      timeout=20)
        await b.wait1(H.both(H.is_('presence', from_=room + '/robert', type='unavailable'),
                             lambda e: '110' in codes(e)), timeout=20)
        # nothing of the room reaches him any more
        a.xmpp.send_message(mto=room, mbody='after bob', mtype='groupchat')
        await a.wait1(H.body_is('after bob'), timeout=10)
        await asyncio.sleep(1)
        assert not any('after bob' in ET.tostring(e).decode() for e in b.received)
        return True

    with fed.explain(('xmpp-s2s-out', out.log), ('xmppd', x.log)):
        assert fed.run_clients(go, timeout=120)
        # The relay saw him out, unmarked the room and ended.
        wait_for(lambda: 'no occupant of another domain left' in out.log(), 15,
                 "the room's relay to end")
        assert not x.redis('HLEN', 'xmpp:{%s}:remote' % room)
        assert not x.shard_members('s2s:rooms')
