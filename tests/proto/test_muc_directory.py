"""The directory of rooms (XEP-0045 6.3, xmpp-handler(8)): disco#items
on the conference domain lists the public rooms that are not locked,
sorted by JID, with their names (or nodes); hidden and new (locked)
rooms stay out; XEP-0059 pages through them (<max/>, <after/>,
<before/>, <index/>; <first index/>, <last/>, <count/>), slixmpp's
result set iterator walks them, and one answer lists 100 rooms at most.
A room's own disco#items is empty (6.5); the server's disco#items names
the conference domain. The operator's side, xmppctl(8): `rooms` lists
every room with its flags, `room` shows one (configuration,
affiliations, occupants and their sessions), `room-destroy` destroys one
and its occupants see why."""
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import iq_outcome as outcome, online, q

from muc_helpers import ALICE, BOB, MUCD, NS_USER, PLUGINS, create_room, start

NS_ITEMS = 'http://jabber.org/protocol/disco#items'
NS_RSM = 'http://jabber.org/protocol/rsm'
PAGE_MAX = 100          # MUC_DIRECTORY_PAGE (handler/mucdirectory.c)


def room(node):
    return node + '@' + MUCD


async def disco_items(client, jid, **rsm):
    """disco#items on jid, with an RSM <set/> of rsm's elements (a value
    None: an empty element) when rsm is given; iq_outcome()."""
    iq = client.xmpp.Iq()
    iq['type'] = 'get'
    iq['to'] = jid
    query = ET.SubElement(iq.xml, q(NS_ITEMS, 'query'))
    if rsm:
        s = ET.SubElement(query, q(NS_RSM, 'set'))
        for k, v in rsm.items():
            ET.SubElement(s, q(NS_RSM, k)).text = v
    return await outcome(iq.send(timeout=10))


async def configure(client, jid, **fields):
    """The owner submits the configuration form of room jid with fields
    (muc#roomconfig_<name>: value)."""
    form = client.xmpp['xep_0004'].make_form(ftype='submit')
    for k, v in fields.items():
        form.add_field(var='muc#roomconfig_' + k, value=v)
    await client.xmpp['xep_0045'].set_room_config(jid, form, timeout=5)


def items_of(res):
    """[(jid, name)] of a disco#items result."""
    assert res[0] == 'result', res
    query = res[1].xml.find(q(NS_ITEMS, 'query'))
    return [(i.get('jid'), i.get('name')) for i in query.findall(q(NS_ITEMS, 'item'))]


def set_of(res):
    """The answer's <set/> as {first, index, last, count}, None absent."""
    s = res[1].xml.find(q(NS_ITEMS, 'query')).find(q(NS_RSM, 'set'))
    assert s is not None, ET.tostring(res[1].xml)
    first = s.find(q(NS_RSM, 'first'))
    return {'first': first.text if first is not None else None,
            'index': first.get('index') if first is not None else None,
            'last': getattr(s.find(q(NS_RSM, 'last')), 'text', None),
            'count': getattr(s.find(q(NS_RSM, 'count')), 'text', None)}


def test_directory_lists_public_rooms(server_factory):
    """Public and configured: listed, by JID, name or node; hidden
    (publicroom 0) and locked (never configured) rooms are not, until
    made public and configured. A room's own disco#items is empty, a
    missing room's item-not-found."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        seen['empty'] = await outcome(b.xmpp['xep_0030'].get_items(jid=MUCD, timeout=5))
        await create_room(a, 'Al', room=room('lobby'), roomname='The Lobby')
        await create_room(a, 'Al', room=room('attic'), publicroom='0')
        await create_room(a, 'Al', room=room('bar'))
        await a.xmpp['xep_0045'].join_muc_wait(room('cellar'), 'Al', timeout=5)
        seen['conf'] = server.redis('HGET', 'xmpp:{%s}:conf' % room('cellar'), 'locked')
        seen['dir'] = await outcome(b.xmpp['xep_0030'].get_items(jid=MUCD, timeout=5))
        seen['room'] = await disco_items(b, room('attic'))
        seen['noroom'] = await disco_items(b, room('nowhere'))
        # the hidden room made public, the locked one configured: listed
        await configure(a, room('attic'), publicroom='1')
        await configure(a, room('cellar'))
        seen['dir2'] = await disco_items(b, MUCD)
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert items_of(seen['empty']) == []
    assert set_of(seen['empty']) == {'first': None, 'index': None, 'last': None,
                                     'count': '0'}
    assert seen['conf'] == '1'
    assert items_of(seen['dir']) == [(room('bar'), 'bar'), (room('lobby'), 'The Lobby')]
    assert set_of(seen['dir']) == {'first': room('bar'), 'index': '0',
                                   'last': room('lobby'), 'count': '2'}
    assert items_of(seen['room']) == []
    assert seen['noroom'][:3] == ('error', 'item-not-found', room('nowhere')), seen['noroom']
    assert [j for j, _ in items_of(seen['dir2'])] == [room(n) for n in
                                                      ('attic', 'bar', 'cellar', 'lobby')]


def test_server_items_name_the_conference_domain(server_factory):
    """The server's disco#items lists the conference domain, named
    Chatrooms, as clients (Conversations, Gajim) look for it; the
    account's own disco#items does not; without muc_domain, nothing."""
    seen = {}
    for with_muc in (True, False):
        server = start(server_factory) if with_muc else server_factory()
        if not with_muc:
            server.adduser(ALICE, 'secret-pw')

        async def go():
            a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
            seen[with_muc] = await disco_items(a, 'localhost')
            seen[with_muc, 'account'] = await disco_items(a, ALICE)
            await a.close()
        C.run(go, timeout=30)

    assert items_of(seen[True]) == [(MUCD, 'Chatrooms')]
    assert items_of(seen[True, 'account']) == []
    assert items_of(seen[False]) == []


def test_directory_paging(server_factory):
    """XEP-0059 over five public rooms and a hidden one among them."""
    server = start(server_factory)
    names = ['r1', 'r2', 'r3', 'r4', 'r5']
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS + ['xep_0059'])
        for n in names:
            await create_room(a, 'Al', room=room(n))
        await create_room(a, 'Al', room=room('r2h'), publicroom='0')
        seen['p1'] = await disco_items(a, MUCD, max='2')
        seen['p2'] = await disco_items(a, MUCD, max='2', after=room('r2'))
        seen['p3'] = await disco_items(a, MUCD, max='2', after=room('r4'))
        seen['p4'] = await disco_items(a, MUCD, max='2', after=room('r5'))
        # an after that is no room: the rooms after it in JID order
        seen['gap'] = await disco_items(a, MUCD, max='2', after=room('r2a'))
        seen['last'] = await disco_items(a, MUCD, max='2', before=None)
        seen['back'] = await disco_items(a, MUCD, max='5', before=room('r3'))
        seen['index'] = await disco_items(a, MUCD, max='2', index='3')
        seen['count'] = await disco_items(a, MUCD, max='0')
        seen['bad'] = await disco_items(a, MUCD, max='two')
        seen['both'] = await disco_items(a, MUCD, after=room('r1'), before=room('r3'))
        # slixmpp's iterator: pages of 2 after the last until the end
        pages = []
        it = await a.xmpp['xep_0030'].get_items(jid=MUCD, iterator=True)
        it.amount = 2
        async for page in it:
            pages.append(sorted(str(i[0]) for i in page['disco_items']['items']))
        seen['iter'] = pages
        await a.close()
    C.run(go, timeout=60)

    def jids(res):
        return [j for j, _ in items_of(res)]
    assert jids(seen['p1']) == [room('r1'), room('r2')]
    assert set_of(seen['p1']) == {'first': room('r1'), 'index': '0', 'last': room('r2'),
                                  'count': '5'}
    assert jids(seen['p2']) == [room('r3'), room('r4')]
    assert set_of(seen['p2'])['index'] == '2'
    assert jids(seen['p3']) == [room('r5')]
    assert set_of(seen['p3']) == {'first': room('r5'), 'index': '4', 'last': room('r5'),
                                  'count': '5'}
    assert jids(seen['p4']) == []
    assert set_of(seen['p4']) == {'first': None, 'index': None, 'last': None, 'count': '5'}
    assert jids(seen['gap']) == [room('r3'), room('r4')]
    assert jids(seen['last']) == [room('r4'), room('r5')]
    assert set_of(seen['last'])['index'] == '3'
    assert jids(seen['back']) == [room('r1'), room('r2')]
    assert set_of(seen['back'])['index'] == '0'
    assert jids(seen['index']) == [room('r4'), room('r5')]
    assert set_of(seen['index'])['index'] == '3'
    assert jids(seen['count']) == [] and set_of(seen['count'])['count'] == '5'
    for k in ('bad', 'both'):
        assert seen[k][:2] == ('error', 'bad-request'), (k, seen[k])
    assert seen['iter'] == [[room('r1'), room('r2')], [room('r3'), room('r4')],
                            [room('r5')]], seen['iter']


def test_directory_bounded(server_factory):
    """Rooms beyond one answer's bound (and beyond one pipeline of
    :conf reads, 256), written straight into Redis as the scripts keep
    them: an answer without RSM holds the first 100 and says how many
    there are; the next page goes on after its last."""
    server = start(server_factory)
    rooms = sorted(room('big%03d' % i) for i in range(300))
    for i, r in enumerate(rooms):
        server.redis('HSET', 'xmpp:{%s}:conf' % r, 'created', '1', 'locked', '0',
                     *(('public', '0') if i % 3 == 2 else ()))
        server.redis('SADD', server.shard_key('rooms', r), r)
    listed = [r for i, r in enumerate(rooms) if i % 3 != 2]
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        seen['all'] = await disco_items(a, MUCD)
        seen['next'] = await disco_items(a, MUCD, max='1000', after=listed[PAGE_MAX - 1])
        await a.close()
    C.run(go, timeout=60)

    assert [j for j, _ in items_of(seen['all'])] == listed[:PAGE_MAX]
    assert set_of(seen['all']) == {'first': listed[0], 'index': '0',
                                   'last': listed[PAGE_MAX - 1], 'count': str(len(listed))}
    assert [j for j, _ in items_of(seen['next'])] == listed[PAGE_MAX:2 * PAGE_MAX]
    assert items_of(seen['all'])[0][1] == 'big000'


def ctl_lines(server, *args):
    """The lines `xmppctl ARGS` prints, which must succeed."""
    p = server.ctl(*args)
    assert p.returncode == 0, 'xmppctl %s: rc=%r stderr=%r' % (args, p.returncode, p.stderr)
    return p.stdout.splitlines()


def test_xmppctl_rooms_room_and_destroy(server_factory):
    """`xmppctl rooms` lists every room (hidden and locked ones too) with
    its occupants and flags; `xmppctl room` shows one's configuration,
    affiliations and occupants with their sessions; `xmppctl
    room-destroy` destroys it as its owner would: every occupant gets
    its unavailable presence with <destroy/> and the reason, and the
    room is gone from the set, the directory and xmppctl."""
    server = start(server_factory)
    lobby = room('lobby')
    seen = {}

    async def go():
        a1 = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        a2 = await online(server.ports[1], ALICE + '/a2', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        await create_room(a1, 'Al', room=lobby, roomname='The Lobby', persistentroom='1')
        await a2.xmpp['xep_0045'].join_muc_wait(lobby, 'Al', timeout=5)
        await b.xmpp['xep_0045'].join_muc_wait(lobby, 'Bo', timeout=5)
        na = a1.mark()
        a1.xmpp.send_message(mto=lobby, msubject='Welcome', mtype='groupchat')
        await a1.wait1(lambda e: e.get('from') == lobby + '/Al' and
                       e.find(q('jabber:client', 'subject')) is not None, since=na)
        await create_room(a1, 'Al', room=room('attic'), publicroom='0', membersonly='1',
                          passwordprotectedroom='1', roomsecret='pw')
        await a1.xmpp['xep_0045'].join_muc_wait(room('cellar'), 'Al', timeout=5)
        seen['rooms'] = ctl_lines(server, 'rooms')
        seen['room'] = ctl_lines(server, 'room', lobby.upper())
        seen['errors'] = [server.ctl(*args).returncode for args in (
            ('room', room('nowhere')), ('room', 'lobby@localhost'), ('room',),
            ('room', lobby + '/Al'), ('room-destroy', room('nowhere')), ('rooms', 'x'),
            ('room-destroy', lobby, 'why', 'extra'))]
        marks = {k: x.mark() for k, x in (('a1', a1), ('a2', a2), ('b', b))}
        p = server.ctl('room-destroy', lobby, 'closing time')
        seen['destroy'] = (p.returncode, p.stdout, p.stderr)
        for k, x, nick in (('a1', a1, 'Al'), ('a2', a2, 'Al'), ('b', b, 'Bo')):
            seen['gone', k] = await x.wait1(
                lambda e, nick=nick: e.get('from') == lobby + '/' + nick and
                e.get('type') == 'unavailable', since=marks[k])
        seen['rooms_after'] = ctl_lines(server, 'rooms')
        seen['room_after'] = server.ctl('room', lobby).returncode
        seen['again'] = server.ctl('room-destroy', lobby).returncode
        seen['set'] = sorted(server.shard_members('rooms'))
        seen['dir'] = await disco_items(b, MUCD)
        for x in (a1, a2, b):
            await x.close()
    C.run(go, timeout=60)

    assert seen['rooms'] == [
        '# ROOM  occupants=N [persistent] [public] [members-only] [moderated] [locked] '
        '[password] [name="NAME"]',
        room('attic') + '  occupants=1 members-only password',
        room('cellar') + '  occupants=1 public locked',
        lobby + '  occupants=2 persistent public name="The Lobby"'], seen['rooms']

    out = seen['room']
    conf = out[1:out.index('# affiliations: JID  AFFILIATION')]
    assert out[0] == '# configuration of ' + lobby
    for line in ('name="The Lobby"', 'persistent=1', 'public=1', 'locked=0',
                 'password=', 'subject="Welcome"', 'subject_nick="Al"', 'whois=moderators'):
        assert line in conf, (line, conf)
    assert [c for c in conf if c.startswith('created=')][0].endswith('Z'), conf
    affs = out[out.index('# affiliations: JID  AFFILIATION') + 1:][:1]
    assert affs == [ALICE + '  owner'], out
    occs = out[out.index('# occupants: nick="NICK" role=ROLE affiliation=AFFILIATION '
                         'jid=FULLJID...') + 1:]
    assert occs == ['nick="Al" role=moderator affiliation=owner jid=%s/a1 jid=%s/a2'
                    % (ALICE, ALICE),
                    'nick="Bo" role=participant affiliation=none jid=%s/b1' % BOB], out

    assert seen['errors'] == [1, 100, 100, 100, 1, 100, 100], seen['errors']
    assert seen['destroy'] == (0, '', ''), seen['destroy']
    for k in ('a1', 'a2', 'b'):
        x = seen['gone', k].find(q(NS_USER, 'x'))
        d = x.find(q(NS_USER, 'destroy'))
        assert d is not None, (k, ET.tostring(seen['gone', k]))
        assert d.find(q(NS_USER, 'reason')).text == 'closing time', k
        assert [s.get('code') for s in x.findall(q(NS_USER, 'status'))] == ['110'], k
    assert [line.split()[0] for line in seen['rooms_after'][1:]] == [room('attic'),
                                                                    room('cellar')]
    assert (seen['room_after'], seen['again']) == (1, 1)
    assert seen['set'] == [room('attic'), room('cellar')]
    assert items_of(seen['dir']) == []


def test_xmppctl_room_needs_the_conference_domain(server_factory):
    """Without muc_domain no JID names a room: a usage error; `rooms`
    lists none."""
    server = server_factory()
    assert server.ctl('room', room('lobby')).returncode == 100
    assert server.ctl('room-destroy', room('lobby')).returncode == 100
    assert ctl_lines(server, 'rooms')[1:] == []
