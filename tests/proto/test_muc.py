"""XEP-0045 multi-user chat, first slice (xmpp-handler(8)), driven by
slixmpp's xep_0045 plugin with occupants on two listeners sharing one
Redis: the conference domain's disco#info; the first join creates an
instant room (201, 110, owner, moderator); a second user joins on the
other listener and both get each other's presence with the right
items and status codes, in XEP-0045 7.2.3's order; groupchat both ways,
in the same order for everyone, with the same stanza-ids; nick
conflict (409); a message from a non-occupant (not-acceptable); leave;
a session whose stream ends leaves; the Redis layout; nick changes
(303, then the new nick; a taken nick is a conflict); private messages
(to every session of the nick, item-not-found, not-acceptable);
XEP-0410 self-ping; a session whose handler is killed leaves (333)."""
import os
import signal
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.exceptions import PresenceError

from im_helpers import body_is, error_condition, is_, iq_outcome as outcome, online, q

from muc_helpers import (ALICE, BOB, CAROL, MUCD, ROOM, NS_MUC, NS_USER, NS_DISCO_INFO, PW,
                         PLUGINS, create_room, groupchat, muc_presence, sid_of, start,
                         x_of)


def test_join_converse_leave(server_factory):
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        seen['disco'] = await outcome(a.xmpp['xep_0030'].get_info(jid=MUCD, timeout=5))
        na = a.mark()
        seen['a_join'] = await create_room(a, 'Al')
        seen['a_order'] = a.received[na:]
        seen['layout'] = {k: server.redis('TYPE', k) for k in
                          server.redis('KEYS', 'xmpp:{%s}*' % ROOM)}
        seen['occ'] = server.redis('HKEYS', 'xmpp:{%s}:occ' % ROOM)
        seen['aff'] = server.redis('HGETALL', 'xmpp:{%s}:aff' % ROOM)
        na, nb = a.mark(), b.mark()
        seen['b_join'] = await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        seen['b_order'] = b.received[nb:]
        seen['a_sees_b'] = await a.wait1(muc_presence('Bo'), since=na)
        # groupchat both ways, interleaved
        na, nb = a.mark(), b.mark()
        for i in range(3):
            a.xmpp.send_message(mto=ROOM, mbody='a%d' % i, mtype='groupchat')
            b.xmpp.send_message(mto=ROOM, mbody='b%d' % i, mtype='groupchat')
        seen['a_msgs'] = await a.wait(groupchat, since=na, count=6)
        seen['b_msgs'] = await b.wait(groupchat, since=nb, count=6)
        # leave: both see Bo go, Bo with 110
        na, nb = a.mark(), b.mark()
        b.xmpp['xep_0045'].leave_muc(ROOM, 'Bo')
        seen['b_left'] = await b.wait1(muc_presence('Bo', type='unavailable'), since=nb)
        seen['a_b_left'] = await a.wait1(muc_presence('Bo', type='unavailable'), since=na)
        seen['occ_after'] = server.redis('HKEYS', 'xmpp:{%s}:occ' % ROOM)
        # out of the room: a message is not-acceptable, and nothing reaches a
        nb, na = b.mark(), a.mark()
        b.xmpp.send_message(mto=ROOM, mbody='outside', mtype='groupchat')
        seen['outside'] = await b.wait1(is_('message', type='error', from_=ROOM), since=nb)
        await a.none_for(body_is('outside'), 1.0, since=na)
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    info = seen['disco'][1].xml.find(q(NS_DISCO_INFO, 'query'))
    ident = info.find(q(NS_DISCO_INFO, 'identity'))
    assert (ident.get('category'), ident.get('type')) == ('conference', 'text')
    assert NS_MUC in [f.get('var') for f in info.findall(q(NS_DISCO_INFO, 'feature'))]

    # creation: own presence with 110 and 201, owner and moderator, then the subject
    pres = seen['a_join'][0].xml
    item, codes = x_of(pres)
    assert codes == ['110', '170', '201'], codes
    assert (item['affiliation'], item['role'], item['jid']) == ('owner', 'moderator',
                                                                 ALICE + '/a1')
    kinds = [e.tag.split('}')[1] for e in seen['a_order']
             if e.get('from', '').startswith(ROOM) and not e.tag.endswith('}iq')]
    assert kinds == ['presence', 'message'], kinds
    subject = [e for e in seen['a_order'] if e.tag.endswith('}message')][0]
    assert subject.find(q('jabber:client', 'subject')) is not None

    assert seen['layout'] == {'xmpp:{%s}:%s' % (ROOM, k): t for k, t in
                              (('occ', 'hash'), ('conf', 'hash'), ('aff', 'hash'),
                               ('log', 'stream'))}, seen['layout']
    assert seen['occ'] == ['Al'] and seen['aff'] == ['alice@localhost', 'owner']

    # the second joiner: Al's presence first (no real JID: Bo is no
    # moderator), then its own (110 only), then the subject
    order = [(e.tag.split('}')[1], e.get('from')) for e in seen['b_order']
             if e.get('from', '').startswith(ROOM)]
    assert order == [('presence', ROOM + '/Al'), ('presence', ROOM + '/Bo'),
                     ('message', ROOM)], order
    al = [e for e in seen['b_order'] if e.get('from') == ROOM + '/Al'][0]
    item, codes = x_of(al)
    assert codes == [] and 'jid' not in item and item['role'] == 'moderator', (item, codes)
    item, codes = x_of(seen['b_join'][0].xml)
    assert codes == ['110', '170'] and item['role'] == 'participant' and \
        item['affiliation'] == 'none', (item, codes)
    # Al, a moderator, sees Bo's real JID
    item, codes = x_of(seen['a_sees_b'])
    assert codes == [] and item['jid'] == BOB + '/b1', (item, codes)

    # one order for everyone, the same stanza-ids, from room/nick
    def view(msgs):
        return [(m.get('from'), m.find(q('jabber:client', 'body')).text, sid_of(m))
                for m in msgs]
    assert view(seen['a_msgs']) == view(seen['b_msgs'])
    bodies = [b for _, b, _ in view(seen['a_msgs'])]
    assert sorted(bodies) == ['a0', 'a1', 'a2', 'b0', 'b1', 'b2']
    assert [b for b in bodies if b[0] == 'a'] == ['a0', 'a1', 'a2']
    for frm, body, (by, sid) in view(seen['a_msgs']):
        assert frm == ROOM + '/' + ('Al' if body[0] == 'a' else 'Bo')
        assert by == ROOM and sid
    assert len({s for _, _, s in view(seen['a_msgs'])}) == 6
    log = server.redis('XRANGE', 'xmpp:{%s}:log' % ROOM, '-', '+')
    ids = {i + '-' + dict(zip(f[0::2], f[1::2]))['r'] for i, f in log}
    assert {s[1] for _, _, s in view(seen['a_msgs'])} <= ids

    # leave
    item, codes = x_of(seen['b_left'])
    assert codes == ['110'] and item['role'] == 'none'
    item, codes = x_of(seen['a_b_left'])
    assert codes == [] and item['role'] == 'none'
    assert seen['occ_after'] == ['Al']
    assert error_condition(seen['outside']) == ('modify', 'not-acceptable'), \
        error_condition(seen['outside'])


def test_nick_conflict_and_session_end(server_factory):
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=PLUGINS)
        await create_room(a, 'Al')
        try:
            await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Al', timeout=5)
            seen['conflict'] = 'joined'
        except PresenceError as e:
            seen['conflict'] = (str(e.presence['from']), e.presence['error']['type'],
                                e.presence['error']['condition'])
        seen['occ'] = server.redis('HGETALL', 'xmpp:{%s}:occ' % ROOM)
        await c.xmpp['xep_0045'].join_muc_wait(ROOM, 'Cy', timeout=5)
        # a session that ends leaves its rooms: Al is gone for Cy
        nc = c.mark()
        await a.close()
        seen['gone'] = await c.wait1(muc_presence('Al', type='unavailable'), since=nc)
        seen['occ_after'] = server.redis('HKEYS', 'xmpp:{%s}:occ' % ROOM)
        # the last occupant's end takes the room with it
        await c.close()
        await b.close()
    C.run(go, timeout=60)

    assert seen['conflict'] == (ROOM + '/Al', 'cancel', 'conflict'), seen['conflict']
    assert list(seen['occ'][0::2]) == ['Al'] and 'bob' not in seen['occ'][1]
    item, codes = x_of(seen['gone'])
    assert item['role'] == 'none' and codes == [], (item, codes)
    assert seen['occ_after'] == ['Cy']
    server.wait_handlers_exit()
    assert server.redis('EXISTS', 'xmpp:{%s}:occ' % ROOM) == 0
    assert server.redis('EXISTS', 'xmpp:{%s}:conf' % ROOM) == 0
    assert 0 < server.redis('TTL', 'xmpp:{%s}:log' % ROOM) <= 60


def test_off_without_muc_domain(server_factory):
    """Without muc_domain the conference domain is just an unknown one."""
    server = server_factory()
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        na = a.mark()
        a.xmpp.send_message(mto=ROOM, mbody='x', mtype='groupchat')
        seen['err'] = await a.wait1(is_('message', type='error'), since=na)
        await a.close()
    C.run(go, timeout=30)
    assert error_condition(seen['err']) == ('cancel', 'remote-server-not-found')


def test_nick_change(server_factory):
    """XEP-0045 7.6: presence to room/newnick, sent by hand (xep_0045 has
    no helper): unavailable from the old nick with 303 and the new nick,
    then available from the new one, for everyone; a taken nick is a
    conflict from room/newnick and changes nothing."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        await create_room(a, 'Al')
        await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        # Bo's arrival reaches Al on its own way: seen before the count.
        await a.wait1(muc_presence('Bo'))
        na, nb = a.mark(), b.mark()
        a.xmpp.send_presence(pto=ROOM + '/Ali', pstatus='renamed')
        seen['a_new'] = await a.wait1(muc_presence('Ali'), since=na)
        seen['b_new'] = await b.wait1(muc_presence('Ali'), since=nb)
        seen['a_view'], seen['b_view'] = a.received[na:], b.received[nb:]
        seen['occ'] = sorted(server.redis('HKEYS', 'xmpp:{%s}:occ' % ROOM))
        # a taken nick
        na, nb = a.mark(), b.mark()
        b.xmpp.send_presence(pto=ROOM + '/Ali')
        seen['conflict'] = await b.wait1(is_('presence', type='error'), since=nb)
        seen['occ2'] = sorted(server.redis('HKEYS', 'xmpp:{%s}:occ' % ROOM))
        await a.none_for(muc_presence('Bo'), 1.0, since=na)
        # the new nick speaks
        nb = b.mark()
        a.xmpp.send_message(mto=ROOM, mbody='as Ali', mtype='groupchat')
        seen['msg'] = await b.wait1(body_is('as Ali'), since=nb)
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    for who, own in (('a', True), ('b', False)):
        pres = [e for e in seen[who + '_view'] if e.tag == q('jabber:client', 'presence')
                and e.get('from', '').startswith(ROOM + '/')]
        assert [(e.get('from'), e.get('type')) for e in pres] == [
            (ROOM + '/Al', 'unavailable'), (ROOM + '/Ali', None)], who
        item, codes = x_of(pres[0])
        assert item['nick'] == 'Ali' and item['role'] == 'moderator', (who, item)
        assert codes == (['110', '303'] if own else ['303']), (who, codes)
        item, codes = x_of(pres[1])
        assert 'nick' not in item and item['role'] == 'moderator', (who, item)
        assert codes == (['110'] if own else []), (who, codes)
        assert pres[1].find(q('jabber:client', 'status')).text == 'renamed'
    assert seen['occ'] == ['Ali', 'Bo']
    assert seen['conflict'].get('from') == ROOM + '/Ali'
    assert error_condition(seen['conflict']) == ('cancel', 'conflict')
    assert seen['occ2'] == ['Ali', 'Bo']
    assert seen['msg'].get('from') == ROOM + '/Ali'


def test_private_messages(server_factory):
    """XEP-0045 7.5: a chat message to room/nick reaches every session of
    that occupant, and only them, from room/sendernick; a nick not in
    the room is item-not-found, a sender not in it not-acceptable."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b1 = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        b2 = await online(server.ports[0], BOB + '/b2', plugins=PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=PLUGINS)
        await create_room(a, 'Al')
        await b1.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        await b2.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        await c.xmpp['xep_0045'].join_muc_wait(ROOM, 'Cy', timeout=5)
        marks = {k: x.mark() for k, x in (('a', a), ('b1', b1), ('b2', b2), ('c', c))}
        a.xmpp.send_message(mto=ROOM + '/Bo', mbody='psst', mtype='chat')
        seen['b1'] = await b1.wait1(body_is('psst'), since=marks['b1'])
        seen['b2'] = await b2.wait1(body_is('psst'), since=marks['b2'])
        await c.none_for(body_is('psst'), 1.0, since=marks['c'])
        await a.none_for(body_is('psst'), 0.2, since=marks['a'])
        na = a.mark()
        a.xmpp.send_message(mto=ROOM + '/Nobody', mbody='hello?', mtype='chat')
        seen['nobody'] = await a.wait1(is_('message', type='error'), since=na)
        c.xmpp['xep_0045'].leave_muc(ROOM, 'Cy')
        await c.wait1(muc_presence('Cy', type='unavailable'), since=marks['c'])
        nc, nb = c.mark(), b1.mark()
        c.xmpp.send_message(mto=ROOM + '/Bo', mbody='outsider', mtype='chat')
        seen['outside'] = await c.wait1(is_('message', type='error'), since=nc)
        await b1.none_for(body_is('outsider'), 1.0, since=nb)
        for x in (a, b1, b2, c):
            await x.close()
    C.run(go, timeout=60)

    for k in ('b1', 'b2'):
        m = seen[k]
        assert m.get('from') == ROOM + '/Al' and m.get('type') == 'chat', k
        assert m.get('to') == BOB + '/' + k
        assert m.find(q(NS_USER, 'x')) is not None
    assert seen['nobody'].get('from') == ROOM + '/Nobody'
    assert error_condition(seen['nobody']) == ('cancel', 'item-not-found')
    assert error_condition(seen['outside']) == ('modify', 'not-acceptable')


def test_self_ping(server_factory):
    """XEP-0410: a ping to one's own room/nick is answered by the service:
    a result while joined, not-acceptable otherwise."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)

        async def ping(client, nick):
            iq = client.xmpp.Iq()
            iq['type'] = 'get'
            iq['to'] = ROOM + '/' + nick
            iq.append(ET.Element('{urn:xmpp:ping}ping'))
            return await outcome(iq.send(timeout=5))
        seen['before'] = await ping(a, 'Al')
        await create_room(a, 'Al')
        seen['joined'] = await ping(a, 'Al')
        seen['other'] = await ping(b, 'Al')
        na = a.mark()
        a.xmpp['xep_0045'].leave_muc(ROOM, 'Al')
        await a.wait1(muc_presence('Al', type='unavailable'), since=na)
        seen['left'] = await ping(a, 'Al')
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert seen['joined'][0] == 'result', seen['joined']
    assert seen['joined'][1]['from'] == ROOM + '/Al'
    for k in ('before', 'other', 'left'):
        assert seen[k][:3] == ('error', 'not-acceptable', ROOM + '/Al'), (k, seen[k])


def test_killed_handler_leaves(server_factory):
    """A handler killed with SIGKILL cannot leave its rooms: its session
    lists them under the user's key ({bare}:muc:<resource>, room ->
    nick), and the living handler that reaps the session makes it leave
    each with status 333, within the session expiry."""
    server = start(server_factory, session_ttl=5)
    seen = {}
    rooms_key = 'xmpp:{%s}:muc:b1' % BOB

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        await create_room(a, 'Al')
        await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        nb = b.mark()
        b.xmpp.send_presence(pto=ROOM + '/Bob')
        await b.wait1(muc_presence('Bob'), since=nb)
        seen['rooms'] = server.redis('HGETALL', rooms_key)
        pid = int(C.parse_session_record(C.redis_sessions(server, BOB)['b1'])['pid'])
        na = a.mark()
        os.kill(pid, signal.SIGKILL)
        b.drop()
        seen['gone'] = await a.wait1(muc_presence('Bob', type='unavailable'), timeout=20,
                                     since=na)
        seen['occ'] = server.redis('HKEYS', 'xmpp:{%s}:occ' % ROOM)
        seen['rooms_after'] = server.redis('EXISTS', rooms_key)
        # a clean leave clears the list too
        seen['a_rooms'] = server.redis('HGETALL', 'xmpp:{%s}:muc:a1' % ALICE)
        na = a.mark()
        a.xmpp['xep_0045'].leave_muc(ROOM, 'Al')
        await a.wait1(muc_presence('Al', type='unavailable'), since=na)
        seen['a_rooms_after'] = server.redis('EXISTS', 'xmpp:{%s}:muc:a1' % ALICE)
        await a.close()
    C.run(go, timeout=60)

    assert seen['rooms'] == [ROOM, 'Bob'], seen['rooms']
    item, codes = x_of(seen['gone'])
    assert codes == ['333'] and item['role'] == 'none', (item, codes)
    assert seen['occ'] == ['Al']
    assert seen['rooms_after'] == 0
    assert seen['a_rooms'] == [ROOM, 'Al'] and seen['a_rooms_after'] == 0


def test_iq_to_occupants(server_factory):
    """XEP-0045: an IQ to room/nick goes to the occupant's session from
    the asker's occupant JID, and its answer comes back the same way
    (slixmpp's XEP-0092 answers a version request); to a nick not in the
    room: item-not-found; from outside the room: not-acceptable."""
    server = start(server_factory)
    seen = {}
    plugins = PLUGINS + ['xep_0092']

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=plugins)
        b = await online(server.ports[1], BOB + '/b1', plugins=plugins)
        c = await online(server.ports[1], CAROL + '/c1', plugins=plugins)
        await create_room(a, 'Al')
        await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        na = a.mark()
        seen['version'] = await outcome(b.xmpp['xep_0092'].get_version(ROOM + '/Al',
                                                                      timeout=5))
        seen['asked'] = await a.wait1(is_('iq', type='get'), since=na)
        seen['nobody'] = await outcome(b.xmpp['xep_0092'].get_version(ROOM + '/Zed',
                                                                     timeout=5))
        seen['outside'] = await outcome(c.xmpp['xep_0092'].get_version(ROOM + '/Al',
                                                                      timeout=5))
        for x in (a, b, c):
            await x.close()
    C.run(go, timeout=60)
    assert seen['version'][0] == 'result', seen['version']
    v = seen['version'][1]
    assert str(v['from']) == ROOM + '/Al' and v['software_version']['name'], v
    assert seen['asked'].get('from') == ROOM + '/Bo', seen['asked'].attrib
    assert seen['nobody'][:2] == ('error', 'item-not-found'), seen['nobody']
    assert seen['outside'][:2] == ('error', 'not-acceptable'), seen['outside']
