"""RFC 6121 3: presence subscriptions, with slixmpp on both sides and every
approval given by hand (auto_authorize None, auto_subscribe False).
"""
try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import (PW, is_, is_push, roster_items, redis_roster, online, handshake, xmls)


def pushes_for(client, contact, since=0):
    """(subscription, ask) of each roster push about contact, in order."""
    out = []
    for e in client.seen(is_push, since):
        it = roster_items(e).get(contact)
        if it:
            out.append((it['subscription'], it['ask']))
    return out


def test_subscription_handshake_both(server):
    """alice subscribes to bob, bob approves and subscribes back, alice
    approves: subscription 'both' on both sides, in the roster result, in
    Redis and in the pushes (RFC 6121 3.1.2 - 3.1.6)."""
    alice, bob = 'alice@localhost', 'bob@localhost'
    server.adduser(alice, PW)
    server.adduser(bob, PW)
    seen = {}

    async def go():
        a = await online(server.port, alice + '/a1')
        b = await online(server.port, bob + '/b1')

        # 3.1.1/3.1.2: the user's server pushes none+ask, stamps the bare
        # JID of the user, and delivers the request to the contact.
        a.xmpp.send_presence_subscription(pto=bob)
        req = await b.wait1(is_('presence', type='subscribe'))
        assert req.get('from') == alice, 'subscribe request from %r (RFC 6121 3.1.2: bare JID)' % (
            req.get('from'))
        await a.wait(lambda e: is_push(e) and bob in roster_items(e))
        seen['a_after_subscribe'] = pushes_for(a, bob)
        # 3.1.3: no roster push to the contact for an inbound request
        assert not pushes_for(b, alice), 'bob got a push before approving: %s' % xmls(
            b.seen(is_push))

        # 3.1.4/3.1.5: bob approves: alice gets 'subscribed', a push 'to',
        # and bob's current presence.
        na = a.mark()
        b.xmpp.send_presence(pto=alice, ptype='subscribed')
        sub = await a.wait1(is_('presence', type='subscribed'), since=na)
        assert sub.get('from') == bob, xmls([sub])
        await a.wait(is_('presence', type=None, from_=b.full), since=na)
        await a.wait(lambda e: is_push(e) and roster_items(e).get(bob, {}).get('subscription') == 'to',
                     since=na)
        await b.wait(lambda e: is_push(e) and roster_items(e).get(alice, {}).get('subscription') == 'from')

        # bob subscribes back, alice approves.
        nb = b.mark()
        b.xmpp.send_presence_subscription(pto=alice)
        req2 = await a.wait1(is_('presence', type='subscribe'), since=na)
        assert req2.get('from') == bob, xmls([req2])
        a.xmpp.send_presence(pto=bob, ptype='subscribed')
        sub2 = await b.wait1(is_('presence', type='subscribed'), since=nb)
        assert sub2.get('from') == alice, xmls([sub2])
        await b.wait(is_('presence', type=None, from_=a.full), since=nb)
        for c, other in ((a, bob), (b, alice)):
            await c.wait(lambda e: is_push(e) and
                         roster_items(e).get(other, {}).get('subscription') == 'both')
        seen['a_pushes'] = pushes_for(a, bob)
        seen['b_pushes'] = pushes_for(b, alice)
        seen['a_roster'] = await a.roster()
        seen['b_roster'] = await b.roster()
        seen['a_redis'] = redis_roster(server, alice)
        seen['b_redis'] = redis_roster(server, bob)
        seen['pending'] = (server.redis('HLEN', 'xmpp:{%s}:pending' % alice),
                           server.redis('HLEN', 'xmpp:{%s}:pending' % bob))
        await a.close()
        await b.close()
    C.run(go, timeout=60)

    assert seen['a_after_subscribe'] == [('none', 'subscribe')], seen
    # alice: none+ask (3.1.2), to (3.1.6), both; bob: from (3.1.5),
    # from+ask (3.1.2), both (3.1.6)
    assert seen['a_pushes'] == [('none', 'subscribe'), ('to', None), ('both', None)], seen
    assert seen['b_pushes'] == [('from', None), ('from', 'subscribe'), ('both', None)], seen
    assert seen['a_roster'][bob]['subscription'] == 'both', seen
    assert seen['a_roster'][bob]['ask'] is None, seen
    assert seen['b_roster'][alice]['subscription'] == 'both', seen
    assert seen['b_roster'][alice]['ask'] is None, seen
    assert set(seen['a_roster']) == {bob} and set(seen['b_roster']) == {alice}, seen
    assert seen['a_redis'][bob]['subscription'] == 'both', seen
    assert seen['a_redis'][bob]['ask'] is None, seen
    assert seen['b_redis'][alice]['subscription'] == 'both', seen
    assert seen['b_redis'][alice]['ask'] is None, seen
    assert seen['pending'] == (0, 0), seen


def test_subscription_request_to_offline_user_is_kept(server):
    """RFC 6121 3.1.3: the contact is offline: the request is stored and
    delivered when the contact next sends initial presence (not before)."""
    alice, bob = 'alice@localhost', 'bob@localhost'
    server.adduser(alice, PW)
    server.adduser(bob, PW)
    seen = {}

    async def go():
        a = await online(server.port, alice + '/a1')
        a.xmpp.send_presence_subscription(pto=bob)
        await a.wait(lambda e: is_push(e) and
                     roster_items(e).get(bob, {}).get('ask') == 'subscribe')
        await a.sync()
        b = await online(server.port, bob + '/b1', presence=False)
        # roster fetched, no presence yet: the request must wait
        await b.none_for(is_('presence', type='subscribe'), seconds=0.7)
        nb = b.mark()
        b.xmpp.send_presence()
        req = await b.wait(is_('presence', type='subscribe'), since=nb)
        seen['req_from'] = [r.get('from') for r in req]
        # and it can be answered: alice gets subscribed and a push 'to'
        na = a.mark()
        b.xmpp.send_presence(pto=alice, ptype='subscribed')
        await a.wait(is_('presence', type='subscribed', from_=bob), since=na)
        await a.wait(lambda e: is_push(e) and
                     roster_items(e).get(bob, {}).get('subscription') == 'to', since=na)
        # a new login of bob does not get the answered request again
        await b.close()
        b2 = await online(server.port, bob + '/b2')
        await b2.none_for(is_('presence', type='subscribe'), seconds=1.0)
        seen['a_redis'] = redis_roster(server, alice)
        seen['b_redis'] = redis_roster(server, bob)
        await a.close()
        await b2.close()
    C.run(go, timeout=60)

    assert seen['req_from'] == [alice], seen
    assert seen['a_redis'][bob]['subscription'] == 'to', seen
    assert seen['b_redis'][alice]['subscription'] == 'from', seen


def test_subscription_request_keeps_id_and_extensions(server):
    """The user's server stamps the bare JID on a subscription request and
    routes it (RFC 6121 3.1.2); the contact receives the stanza the user
    sent, with its 'id' (the RFC's example: id='xk3h1v69' sent in 3.1.1 is
    received in 3.1.3) and its extended content such as the XEP-0172
    <nick/> (XEP-0172 4.2) and <status/>; likewise the approval keeps its id
    (3.1.5 / 3.1.6)."""
    alice, bob = 'alice@localhost', 'bob@localhost'
    server.adduser(alice, PW)
    server.adduser(bob, PW)
    seen = {}

    async def go():
        a = await online(server.port, alice + '/a1')
        b = await online(server.port, bob + '/b1')
        a.xmpp.send_raw("<presence to='%s' type='subscribe' id='xk3h1v69'>"
                        "<status>Let me in</status>"
                        "<nick xmlns='http://jabber.org/protocol/nick'>Ali</nick></presence>" % bob)
        req = await b.wait1(is_('presence', type='subscribe'))
        seen['req'] = req
        b.xmpp.send_raw("<presence to='%s' type='subscribed' id='h4v1c4kj'/>" % alice)
        seen['ok'] = await a.wait1(is_('presence', type='subscribed'))
        await a.close()
        await b.close()
    C.run(go, timeout=60)

    req = seen['req']
    assert req.get('from') == alice, xmls([req])
    assert req.get('id') == 'xk3h1v69', 'id not kept: ' + xmls([req])
    nick = req.find('{http://jabber.org/protocol/nick}nick')
    assert nick is not None and nick.text == 'Ali', 'XEP-0172 nick dropped: ' + xmls([req])
    status = req.find('{jabber:client}status')
    assert status is not None and status.text == 'Let me in', 'status dropped: ' + xmls([req])
    assert seen['ok'].get('id') == 'h4v1c4kj', 'id not kept: ' + xmls([seen['ok']])


def test_remove_subscribed_contact(server):
    """RFC 6121 2.5.2: removing a contact with subscription 'both' makes
    the user's server send 'unsubscribe' and 'unsubscribed' to it; the
    contact's item stays with subscription 'none' (3.2.3, 3.3.3, pushed);
    each side gets the other's unavailable presence (3.2.2, 3.3.3)."""
    alice, bob = 'alice@localhost', 'bob@localhost'
    server.adduser(alice, PW)
    server.adduser(bob, PW)
    seen = {}

    async def go():
        import xml.etree.ElementTree as ET
        a = await online(server.port, alice + '/a1')
        b = await online(server.port, bob + '/b1')
        await handshake(a, b)
        na, nb = a.mark(), b.mark()
        iq = a.xmpp.Iq()
        iq['type'] = 'set'
        query = ET.SubElement(iq.xml, '{jabber:iq:roster}query')
        ET.SubElement(query, '{jabber:iq:roster}item', {'jid': bob, 'subscription': 'remove'})
        res = await iq.send(timeout=5)
        seen['result'] = res['type']
        await a.wait(lambda e: is_push(e) and
                     roster_items(e).get(bob, {}).get('subscription') == 'remove', since=na)
        await b.wait(is_('presence', type='unsubscribe', from_=alice), since=nb)
        await b.wait(is_('presence', type='unsubscribed', from_=alice), since=nb)
        await b.wait(lambda e: is_push(e) and
                     roster_items(e).get(alice, {}).get('subscription') == 'none', since=nb)
        await b.wait(is_('presence', type='unavailable', from_=a.full), since=nb)
        await a.wait(is_('presence', type='unavailable', from_=b.full), since=na)
        seen['a_redis'] = redis_roster(server, alice)
        seen['b_redis'] = redis_roster(server, bob)
        # bob's presence changes no longer reach alice, and vice versa
        na, nb = a.mark(), b.mark()
        b.xmpp.send_presence(pstatus='still here')
        a.xmpp.send_presence(pstatus='me too')
        await a.none_for(is_('presence', from_=b.full), seconds=0.7, since=na)
        await b.none_for(is_('presence', from_=a.full), seconds=0.1, since=nb)
        await a.close()
        await b.close()
    C.run(go, timeout=60)

    assert seen['result'] == 'result', seen
    assert bob not in seen['a_redis'], seen
    assert seen['b_redis'][alice]['subscription'] == 'none', seen
    assert seen['b_redis'][alice]['ask'] is None, seen
