"""XEP-0045 group chat history and the room's archive (XEP-0313 on a
MUC room), driven by slixmpp's xep_0045 and xep_0313 plugins and by raw
queries, with occupants on two listeners sharing one Redis: the room's
groupchat messages queried on the room's JID, each with the stanza-id
the occupants saw, from room/nick, oldest first; XEP-0059 paging;
'with' an occupant; who may read (a public room: anyone; a members-only
room: members only); the disco#info feature, which follows the room's
logging, and what is archived while logging is off (nothing)."""
try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import is_, online, q, stamp_epoch
from mam_helpers import NS_MAM, fin_set, run_query
from muc_helpers import (ALICE, BOB, CAROL, MUCD, ROOM, NS_DISCO_INFO, NS_USER, PLUGINS,
                         create_room, groupchat, sid_of, start)

MAM_PLUGINS = PLUGINS + ['xep_0059', 'xep_0297', 'xep_0313', 'xep_0359']


async def say(c, body):
    c.xmpp.send_message(mto=ROOM, mbody=body, mtype='groupchat')


async def converse(a, b, n, prefix='m'):
    """a and b take turns saying prefix0 .. prefix<n-1> in the room; returns
    what a saw live: [(body, from, stanza-id)]."""
    na = a.mark()
    for i in range(n):
        await say((a, b)[i % 2], '%s%d' % (prefix, i))
        await a.wait(groupchat, since=na, count=i + 1)
    return [(m.findtext(q('jabber:client', 'body')), m.get('from'), sid_of(m)[1])
            for m in a.seen(groupchat, na)]


async def features(c, jid):
    info = await c.xmpp['xep_0030'].get_info(jid=jid, timeout=5)
    return {f.get('var') for f in info.xml.iter(q(NS_DISCO_INFO, 'feature'))}


def bodies(res):
    return [i[1] for i in res[1]]


def test_room_archive_paging(server_factory):
    """The room's messages, queried on its JID by an occupant on the other
    listener and by a user outside the (public) room: the stanza-ids the
    occupants saw, from room/nick, oldest first, with delay stamps;
    XEP-0059 pages forward and back; 'with' an occupant; slixmpp's
    retrieve and iterate with jid=room."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=MAM_PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=MAM_PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=MAM_PLUGINS)
        await create_room(a, 'Al')
        await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        seen['features'] = await features(b, ROOM)
        seen['live'] = await converse(a, b, 7)
        # neither a private message nor presence is archived
        a.xmpp.send_message(mto=ROOM + '/Bo', mbody='psst', mtype='chat')
        seen['all'] = await run_query(b, to=ROOM, rsm={'max': '10'})
        seen['outsider'] = await run_query(c, to=ROOM)
        seen['p1'] = await run_query(b, to=ROOM, rsm={'max': '3'})
        seen['p2'] = await run_query(b, to=ROOM, rsm={'max': '3', 'after': seen['p1'][1][-1][0]})
        seen['last'] = await run_query(b, to=ROOM, rsm={'max': '2', 'before': ''})
        seen['prev'] = await run_query(b, to=ROOM, rsm={'max': '2',
                                                        'before': seen['last'][1][0][0]})
        seen['bo'] = await run_query(a, to=ROOM, fields={'with': ROOM + '/Bo'})
        seen['room'] = await run_query(a, to=ROOM, fields={'with': ROOM})
        seen['other'] = await run_query(a, to=ROOM, fields={'with': BOB})
        res = await b.xmpp['xep_0313'].retrieve(jid=ROOM, rsm={'max': 10}, timeout=10)
        seen['retrieve'] = [(str(m['from']), m['mam_result']['forwarded']['stanza']['body'])
                            for m in res['mam']['results']]
        seen['iterate'] = [m['mam_result']['forwarded']['stanza']['body'] async for m in
                           b.xmpp['xep_0313'].iterate(jid=ROOM, rsm={'max': 3}, reverse=True)]
        seen['own'] = await run_query(b, rsm={'max': '10'})
        for x in (a, b, c):
            await x.close()
    C.run(go, timeout=90)

    assert NS_MAM in seen['features'], seen['features']
    live = seen['live']
    assert [x[0] for x in live] == ['m%d' % i for i in range(7)]
    typ, items, fin = seen['all']
    assert typ == 'result', seen['all']
    # (archive id, body, from) as the occupants saw them live
    assert [(i[0], i[1], i[2]) for i in items] == [(s, b, f) for b, f, s in live], items
    assert [i[2] for i in items[:2]] == [ROOM + '/Al', ROOM + '/Bo']
    assert all(i[3] is None for i in items)           # no 'to' inside
    stamps = [stamp_epoch(i[4]) for i in items]
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] < 60, stamps
    assert fin_set(fin) == (True, items[0][0], items[-1][0], 7)
    assert seen['outsider'][0] == 'result' and len(seen['outsider'][1]) == 7
    assert bodies(seen['p1']) == ['m0', 'm1', 'm2'] and not fin_set(seen['p1'][2])[0]
    assert bodies(seen['p2']) == ['m3', 'm4', 'm5'] and not fin_set(seen['p2'][2])[0]
    assert bodies(seen['last']) == ['m5', 'm6'] and not fin_set(seen['last'][2])[0]
    assert bodies(seen['prev']) == ['m3', 'm4']
    assert bodies(seen['bo']) == ['m1', 'm3', 'm5'], seen['bo']
    assert bodies(seen['room']) == ['m%d' % i for i in range(7)]
    assert seen['other'][0] == 'result' and seen['other'][1] == []
    assert seen['retrieve'] == [(ROOM, 'm%d' % i) for i in range(7)], seen['retrieve']
    assert seen['iterate'] == ['m%d' % i for i in reversed(range(7))], seen['iterate']
    # the user's own archive keeps no groupchat
    assert seen['own'][0] == 'result' and seen['own'][1] == [], seen['own']


def test_members_only_archive(server_factory):
    """A members-only room's archive is its members': a user who is not
    one is refused with forbidden; the owner reads it."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=MAM_PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=MAM_PLUGINS)
        await create_room(a, 'Al', membersonly='1')
        na = a.mark()
        await say(a, 'members only')
        await a.wait1(groupchat, since=na)
        seen['carol'] = await run_query(c, to=ROOM)
        seen['owner'] = await run_query(a, to=ROOM)
        seen['no_room'] = await run_query(c, to='nowhere@' + MUCD)
        for x in (a, c):
            await x.close()
    C.run(go, timeout=60)

    assert seen['carol'] == ('error', [], 'forbidden'), seen['carol']
    assert bodies(seen['owner']) == ['members only'], seen['owner']
    assert seen['no_room'] == ('error', [], 'item-not-found'), seen['no_room']


def test_logging_off(server_factory):
    """A room whose logging is off says no urn:xmpp:mam:2 in its disco#info
    and archives nothing; what it archived before stays readable."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=MAM_PLUGINS)
        await create_room(a, 'Al')
        await converse(a, a, 1, prefix='logged')
        form = a.xmpp['xep_0004'].make_form(ftype='submit')
        form.add_field(var='muc#roomconfig_enablelogging', value='0')
        na = a.mark()
        await a.xmpp['xep_0045'].set_room_config(ROOM, form, timeout=5)
        seen['171'] = await a.wait1(is_('message', from_=ROOM), since=na)
        seen['features'] = await features(a, ROOM)
        await converse(a, a, 2, prefix='unlogged')
        seen['query'] = await run_query(a, to=ROOM)
        await a.close()
    C.run(go, timeout=60)

    assert NS_MAM not in seen['features'], seen['features']
    assert bodies(seen['query']) == ['logged0'], seen['query']
    codes = [st.get('code') for st in seen['171'].iter(q(NS_USER, 'status'))]
    assert '171' in codes, codes
