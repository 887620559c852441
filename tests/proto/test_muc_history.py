"""XEP-0045 group chat history and the room's archive (XEP-0313 on a
MUC room), driven by slixmpp's xep_0045 and xep_0313 plugins and by raw
streams, with occupants on two listeners sharing one Redis.

History on join (7.2.15, 7.2.16): the room's last groupchat messages,
and only those, after the joiner's own presence and before the subject,
oldest first, as the occupants saw them (from room/nick, the same
stanza-ids) with a delay from the room; never again after the join;
limited by the room's history setting (0: none) and the client's
maxstanzas (0: none), maxchars (characters of the stanzas as sent),
seconds and since, together.

The archive: the room's groupchat messages queried on the room's JID,
each with the stanza-id the occupants saw, from room/nick, oldest
first; XEP-0059 paging; 'with' an occupant; who may read (a public
room: anyone; a members-only room: members only); the disco#info
feature, which follows the room's logging, and what is archived while
logging is off (nothing)."""
import asyncio
import datetime
import re
import time

try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import is_, online, q, raw_login, raw_wait, stamp_epoch
from mam_helpers import NS_MAM, fin_set, run_query
from muc_helpers import (ALICE, BOB, CAROL, MUCD, ROOM, NS_DISCO_INFO, NS_MUC, NS_USER, PLUGINS,
                         create_room, groupchat, muc_presence, sid_of, start, x_of)

MAM_PLUGINS = PLUGINS + ['xep_0059', 'xep_0082', 'xep_0297', 'xep_0313', 'xep_0359']


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


NS_DELAY = 'urn:xmpp:delay'
BODY = q('jabber:client', 'body')


def history_view(msgs):
    """[(body, from, stanza-id, delay from, delay stamp)] of history."""
    out = []
    for m in msgs:
        el = getattr(m, 'xml', m)
        d = el.find(q(NS_DELAY, 'delay'))
        out.append((el.findtext(BODY), el.get('from'), sid_of(el)[1], d.get('from'),
                    d.get('stamp')))
    return out


async def join(c, nick, **history):
    """c joins ROOM as nick with join_muc_wait's history limits; returns
    the bodies of the history it got."""
    res = await c.xmpp['xep_0045'].join_muc_wait(ROOM, nick, timeout=5, **history)
    return [m.xml.findtext(BODY) for m in res[3]]


def raw_history(server, resource, history):
    """carol/resource joins ROOM as resource on a raw stream with
    <history history/>, and leaves: the history messages as the server
    wrote them (text), in order."""
    r, _ = raw_login(server, CAROL, resource=resource, listener=1)
    chunks = []
    feed = r._feed

    def record(data):
        chunks.append(data)
        feed(data)
    r._feed = record
    r.send("<presence to='%s/%s'><x xmlns='%s'><history %s/></x></presence>"
           % (ROOM, resource, NS_MUC, history))
    raw_wait(r, lambda el: el.find(q('jabber:client', 'subject')) is not None)
    r.close()
    text = b''.join(chunks).decode()
    return [m for m in re.findall(r'<message\b.*?</message>', text, re.S) if NS_DELAY in m]


def raw_bodies(msgs):
    return [re.search(r'<body>(.*?)</body>', m).group(1) for m in msgs]


def test_history_on_join(server_factory):
    """A third user joins on the other listener after a conversation with
    a private message, a presence change and a subject: it gets its own
    presence, then the messages as the others saw them with delays from
    the room, oldest first, then the subject; none of them again after,
    and what is said next once, live."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=MAM_PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=MAM_PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=MAM_PLUGINS)
        await create_room(a, 'Al')
        await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        seen['live'] = await converse(a, b, 4)
        a.xmpp.send_message(mto=ROOM + '/Bo', mbody='psst', mtype='chat')
        nb = b.mark()
        b.xmpp.send_presence(pto=ROOM + '/Bo', pshow='away')
        na = a.mark()
        a.xmpp['xep_0045'].set_subject(ROOM, 'topic')
        await a.wait1(lambda el: el.find(q('jabber:client', 'subject')) is not None, since=na)
        await b.wait1(body_is_psst, since=nb)
        nc = c.mark()
        res = await c.xmpp['xep_0045'].join_muc_wait(ROOM, 'Cy', timeout=5)
        seen['history'] = history_view(res[3])
        seen['subject'] = res[1].xml
        seen['order'] = [el for el in c.received[nc:] if el.get('from', '').startswith(ROOM)]
        seen['now'] = time.time()
        # the catch-up read after joining (a second) brings nothing again
        await asyncio.sleep(1.5)
        nc2 = c.mark()
        await say(b, 'after')
        await c.wait1(groupchat, since=nc2)
        await asyncio.sleep(0.5)
        seen['later'] = [el for el in c.received[nc:] if groupchat(el)]
        for x in (a, b, c):
            await x.close()
    C.run(go, timeout=60)

    hist = seen['history']
    assert [(h[0], h[1], h[2]) for h in hist] == [(b, f, s) for b, f, s in seen['live']], hist
    assert all(h[3] == ROOM for h in hist), hist
    stamps = [stamp_epoch(h[4]) for h in hist]
    assert stamps == sorted(stamps) and seen['now'] - 60 < stamps[0], stamps
    # own presence (110), the history, then the subject, and nothing between
    kinds = []
    for el in seen['order']:
        if el.tag == q('jabber:client', 'presence'):
            kinds.append('self' if '110' in x_of(el)[1] else 'presence')
        elif el.find(q('jabber:client', 'subject')) is not None:
            kinds.append('subject')
        else:
            kinds.append(el.findtext(BODY))
    assert kinds == ['presence', 'presence', 'self', 'm0', 'm1', 'm2', 'm3', 'subject'], kinds
    assert seen['subject'].get('from') == ROOM + '/Al'
    assert seen['subject'].findtext(q('jabber:client', 'subject')) == 'topic'
    # after the join: only what was said after it, once, without delay
    later = seen['later'][4:]
    assert [m.findtext(BODY) for m in later] == ['after'], [m.findtext(BODY) for m in later]
    assert later[0].find(q(NS_DELAY, 'delay')) is None


def body_is_psst(el):
    return el.findtext(BODY) == 'psst'


def test_history_limits(server_factory):
    """The room's history setting caps what a joiner asks; maxstanzas,
    maxchars (characters, not bytes, of each stanza as written), seconds
    and since each limit it, and together the strictest wins; 0 of
    maxstanzas or maxchars, or of the room's setting, means none."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=MAM_PLUGINS)
        await create_room(a, 'Al', persistentroom='1', historylength='6')
        await converse(a, a, 3)
        # m0..m2, then m3..m7 four seconds later: 'seconds' is taken to
        # reach back to the middle of that gap, whenever the join comes
        gap = time.time() + 2
        await asyncio.sleep(4)
        na = a.mark()
        for i in range(3, 8):
            await say(a, 'm%d' % i if i < 7 else 'm7 \u00e9\u20ac\u00f1')
            await a.wait(groupchat, since=na, count=i - 2)
        na = a.mark()
        a.xmpp['xep_0045'].leave_muc(ROOM, 'Al')
        await a.wait1(muc_presence('Al', type='unavailable'), since=na)

        c = await online(server.ports[1], CAROL + '/c1', plugins=MAM_PLUGINS)

        async def once(**kw):
            got = await join(c, 'Cy', **kw)
            nc = c.mark()
            c.xmpp['xep_0045'].leave_muc(ROOM, 'Cy')
            await c.wait1(muc_presence('Cy', type='unavailable'), since=nc)
            return got
        res = await c.xmpp['xep_0045'].join_muc_wait(ROOM, 'Cy', timeout=5)
        seen['default'] = history_view(res[3])
        nc = c.mark()
        c.xmpp['xep_0045'].leave_muc(ROOM, 'Cy')
        await c.wait1(muc_presence('Cy', type='unavailable'), since=nc)
        seen['two'] = await once(maxstanzas=2)
        seen['zero'] = await once(maxstanzas=0)
        seen['many'] = await once(maxstanzas=100)
        seen['nochars'] = await once(maxchars=0)
        seen['seconds'] = await once(seconds=int(time.time() - gap))
        since = seen['default'][3][4]           # m5's stamp: inclusive
        seen['since'] = await once(since=datetime.datetime.strptime(
            since, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc))
        seen['future'] = await once(since=datetime.datetime.now(datetime.timezone.utc) +
                                    datetime.timedelta(seconds=60))
        # the room's setting 0: none, whatever the client asks
        await create_room(a, 'Al', historylength='0')
        seen['room0'] = await once(maxstanzas=5)
        form = a.xmpp['xep_0004'].make_form(ftype='submit')
        form.add_field(var='muc#roomconfig_historylength', value='6')
        await a.xmpp['xep_0045'].set_room_config(ROOM, form, timeout=5)
        await a.close()
        await c.close()
    C.run(go, timeout=90)

    allb = ['m%d' % i for i in range(2, 7)] + ['m7 \u00e9\u20ac\u00f1']
    assert [h[0] for h in seen['default']] == allb, seen['default']
    assert all(h[1] == ROOM + '/Al' and h[3] == ROOM for h in seen['default'])
    assert seen['two'] == allb[-2:], seen['two']
    assert seen['zero'] == [] and seen['nochars'] == [], (seen['zero'], seen['nochars'])
    assert seen['many'] == allb, seen['many']
    assert seen['seconds'] == allb[1:], seen['seconds']
    # what has m5's stamp or a later one (one millisecond may hold two)
    since = seen['default'][3][4]
    assert seen['since'] == [h[0] for h in seen['default'] if h[4] >= since], seen['since']
    assert seen['since'][0] in allb[2:4] and seen['since'][-3:] == allb[-3:], seen['since']
    assert seen['future'] == [], seen['future']
    assert seen['room0'] == [], seen['room0']

    # on raw streams: maxchars counts the characters of each stanza as
    # written; r1, r2, r3 are JIDs of one length, so the stanzas are too
    full = raw_history(server, 'r1', "maxstanzas='2'")
    assert raw_bodies(full) == ['m6', 'm7 \u00e9\u20ac\u00f1'], full
    chars = sum(len(m) for m in full)
    assert len(''.join(full).encode()) > chars          # the test means something
    assert raw_bodies(raw_history(server, 'r2', "maxchars='%d'" % chars)) == allb[-2:]
    assert raw_bodies(raw_history(server, 'r3', "maxchars='%d'" % (chars - 1))) == allb[-1:]
    # together: the strictest; a value that is no number is ignored
    assert raw_bodies(raw_history(server, 'r4', "maxstanzas='3' seconds='100'")) == allb[-3:]
    assert raw_bodies(raw_history(server, 'r5', "maxstanzas='9' since='%s'" % since)) == \
        seen['since']
    assert raw_bodies(raw_history(server, 'r7', "maxstanzas='2' since='%s'" % since)) == \
        allb[-2:]
    assert raw_bodies(raw_history(server, 'r6', "maxstanzas='x'")) == allb


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
