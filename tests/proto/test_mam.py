"""XEP-0313 message archive (urn:xmpp:mam:2 and #extended) with XEP-0359
stanza-ids and XEP-0441 preferences, driven by slixmpp's xep_0313 plugin
and by raw IQs on two listeners sharing one Redis: both directions of a
conversation archived once per user, the stanza-id on the live message
and on the offline copy equal to the archive id, queries by with (bare
and full), start/end, before-id/after-id/ids, XEP-0059 paging (empty
archive, exact page boundary, <before/> for the last page, flip-page,
unknown id), the form, metadata, preferences, retention, what is never
archived (headline, no body, no-store hint, bounced), and
`xmppctl archive`/`deluser`.
"""
import asyncio
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.xmlstream import ET as SET

from im_helpers import PW, body_is, is_, online, q, stamp_epoch
from mam_helpers import NS_CLIENT, NS_DELAY, NS_MAM, NS_SID, fin_set, run_query, stanza_id

ALICE, BOB, CAROL = 'alice@localhost', 'bob@localhost', 'carol@localhost'
PLUGINS = ['xep_0030', 'xep_0059', 'xep_0297', 'xep_0313', 'xep_0359']


async def chat(frm, to, body, mtype='chat'):
    m = frm.xmpp.make_message(mto=to, mbody=body, mtype=mtype)
    m.send()


def test_archive_both_directions_slixmpp(server_factory):
    """Alice and Bob talk across two listeners; each archive holds the
    whole conversation once, in order; the live message carries the
    recipient's archive id; slixmpp's xep_0313 pages through it."""
    server = server_factory(listeners=2)
    for u in (ALICE, BOB):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        for i in range(7):
            frm, to = (a, b) if i % 2 == 0 else (b, a)
            await chat(frm, to.full, 'm%d' % i)
            await to.wait1(body_is('m%d' % i))
        live = b.seen(body_is('m0'))[0]
        seen['live_id'] = stanza_id(live, BOB)
        seen['live_other'] = stanza_id(live, ALICE)
        for rev in (False, True):
            got = []
            async for m in a.xmpp['xep_0313'].iterate(rsm={'max': 3}, reverse=rev):
                got.append(m['mam_result']['forwarded']['stanza']['body'])
            seen['rev' if rev else 'fwd'] = got
        seen['b_all'] = await run_query(b, rsm={'max': '10'})
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert seen['fwd'] == ['m%d' % i for i in range(7)], seen['fwd']
    assert seen['rev'] == ['m%d' % i for i in reversed(range(7))], seen['rev']
    typ, items, fin = seen['b_all']
    assert [i[1] for i in items] == ['m%d' % i for i in range(7)], items
    assert fin_set(fin) == (True, items[0][0], items[-1][0], 7)
    # the live message to Bob carries Bob's archive id, and no id of Alice's
    assert seen['live_id'] == items[0][0] and seen['live_other'] is None, seen
    assert items[0][2] == ALICE + '/a1' and items[1][2] == BOB + '/b1', items
    assert all(abs(stamp_epoch(i[4]) - stamp_epoch(items[0][4])) < 60 for i in items)


async def talk(a, b, n, prefix='m'):
    """a sends b (full JID) n chat messages; waits until the last arrived."""
    for i in range(n):
        await chat(a, b.full, '%s%d' % (prefix, i))
    await b.wait1(body_is('%s%d' % (prefix, n - 1)))


def bodies(res):
    return [i[1] for i in res[1]]


def test_paging_edges(server):
    """Empty archive; a page exactly the archive's size; <before/> (last
    page); after the last id; max 0 (count alone); flip-page; unknown
    ids; <before/> with <after/>."""
    for u in (ALICE, BOB):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.port, BOB + '/b1', plugins=PLUGINS)
        seen['empty'] = await run_query(a, rsm={'max': '5'})
        seen['empty_last'] = await run_query(a, rsm={'max': '5', 'before': ''})
        await talk(a, b, 5)
        seen['exact'] = await run_query(a, rsm={'max': '5'})
        seen['short'] = await run_query(a, rsm={'max': '4'})
        ids = [i[0] for i in seen['exact'][1]]
        seen['next'] = await run_query(a, rsm={'max': '4', 'after': ids[3]})
        seen['past_end'] = await run_query(a, rsm={'max': '4', 'after': ids[4]})
        seen['last'] = await run_query(a, rsm={'max': '2', 'before': ''})
        seen['prev'] = await run_query(a, rsm={'max': '2', 'before': ids[3]})
        seen['first'] = await run_query(a, rsm={'max': '2', 'before': ids[1]})
        seen['flip'] = await run_query(a, rsm={'max': '3', 'before': ''}, flip=True)
        seen['count'] = await run_query(a, rsm={'max': '0'})
        seen['default'] = await run_query(a)
        seen['empty_after'] = await run_query(a, rsm={'max': '2', 'after': ''})
        forged = ids[0][:-1] + ('0' if ids[0][-1] != '0' else '1')
        seen['unknown_after'] = await run_query(a, rsm={'after': forged})
        seen['unknown_before'] = await run_query(a, rsm={'before': 'nope'})
        seen['both'] = await run_query(a, rsm={'before': ids[1], 'after': ids[0]})
        seen['ids'] = ids
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    ids = seen['ids']
    assert seen['empty'][:2] == ('result', []) and fin_set(seen['empty'][2]) == \
        (True, None, None, 0), seen['empty']
    assert seen['empty_last'][:2] == ('result', []), seen['empty_last']
    assert fin_set(seen['empty_last'][2])[0] is True
    assert bodies(seen['exact']) == ['m0', 'm1', 'm2', 'm3', 'm4']
    assert fin_set(seen['exact'][2]) == (True, ids[0], ids[4], 5)
    assert bodies(seen['short']) == ['m0', 'm1', 'm2', 'm3']
    assert fin_set(seen['short'][2]) == (False, ids[0], ids[3], 5)
    assert bodies(seen['next']) == ['m4'] and fin_set(seen['next'][2])[0] is True
    assert bodies(seen['past_end']) == [] and fin_set(seen['past_end'][2]) == \
        (True, None, None, 5)
    assert bodies(seen['last']) == ['m3', 'm4']
    assert fin_set(seen['last'][2]) == (False, ids[3], ids[4], 5)
    assert bodies(seen['prev']) == ['m1', 'm2'] and fin_set(seen['prev'][2])[0] is False
    assert bodies(seen['first']) == ['m0'] and fin_set(seen['first'][2])[0] is True
    # flipped: sent newest first; first/last still name the page's ends
    assert bodies(seen['flip']) == ['m4', 'm3', 'm2']
    assert fin_set(seen['flip'][2]) == (False, ids[2], ids[4], 5)
    assert bodies(seen['count']) == [] and fin_set(seen['count'][2]) == \
        (False, None, None, 5)
    assert bodies(seen['default']) == ['m0', 'm1', 'm2', 'm3', 'm4']
    assert bodies(seen['empty_after']) == ['m0', 'm1']
    assert seen['unknown_after'] == ('error', [], 'item-not-found'), seen['unknown_after']
    assert seen['unknown_before'] == ('error', [], 'item-not-found')
    assert seen['both'] == ('error', [], 'bad-request')
    assert len(set(ids)) == 5


def test_filters(server_factory):
    """with (bare, full, the user's own JID), start/end, before-id,
    after-id, ids (mam:2#extended), across two listeners."""
    server = server_factory(listeners=2)
    for u in (ALICE, BOB, CAROL):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        a2 = await online(server.ports[1], ALICE + '/a2', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[0], CAROL + '/c1', plugins=PLUGINS)
        await talk(b, a, 2, 'b')            # b0 b1 to alice/a1
        await talk(c, a, 2, 'c')            # c0 c1
        await chat(a, b.full, 'to-b')
        await b.wait1(body_is('to-b'))
        await chat(a, ALICE, 'note')        # to herself
        await a2.wait1(body_is('note'))
        await talk(b, a2, 1, 'b2-')          # from bob to alice/a2
        all_ = await run_query(a)
        seen['all'] = all_
        ids = [i[0] for i in all_[1]]
        seen['bob'] = await run_query(a, fields={'with': 'Bob@LocalHost'})
        seen['bob_full'] = await run_query(a, fields={'with': BOB + '/b1'})
        seen['bob_other_res'] = await run_query(a, fields={'with': BOB + '/zzz'})
        seen['self'] = await run_query(a, fields={'with': ALICE})
        seen['nobody'] = await run_query(a, fields={'with': 'dave@localhost'})
        seen['bob_page'] = await run_query(a, fields={'with': BOB}, rsm={'max': '2'})
        seen['bob_page2'] = await run_query(
            a, fields={'with': BOB}, rsm={'max': '2', 'after': seen['bob_page'][1][-1][0]})
        seen['after_id'] = await run_query(a, fields={'after-id': ids[1]})
        seen['before_id'] = await run_query(a, fields={'before-id': ids[2]})
        seen['between'] = await run_query(a, fields={'after-id': ids[0],
                                                     'before-id': ids[3]})
        seen['ids'] = await run_query(a, ids=[ids[4], ids[1]])
        seen['ids_unknown'] = await run_query(a, ids=[ids[1], 'x-y'])
        seen['start_future'] = await run_query(a, fields={'start': '2999-01-01T00:00:00Z'})
        seen['end_past'] = await run_query(a, fields={'end': '2000-01-01T00:00:00Z'})
        stamp0 = all_[1][0][4]
        seen['start_now'] = await run_query(a, fields={'start': stamp0,
                                                       'end': '2999-01-01T00:00:00+02:00'})
        seen['bad_date'] = await run_query(a, fields={'start': 'yesterday'})
        seen['bad_jid'] = await run_query(a, fields={'with': '@@'})
        seen['unknown_field'] = await run_query(a, fields={'{urn:x}mood': 'sad'})
        for cl in (a, a2, b, c):
            await cl.close()
    C.run(go, timeout=60)

    assert bodies(seen['all']) == ['b0', 'b1', 'c0', 'c1', 'to-b', 'note', 'b2-0'], seen['all']
    assert bodies(seen['bob']) == ['b0', 'b1', 'to-b', 'b2-0']
    assert fin_set(seen['bob'][2])[3] == 4
    assert bodies(seen['bob_full']) == ['b0', 'b1', 'to-b', 'b2-0']
    assert bodies(seen['bob_other_res']) == []
    assert bodies(seen['self']) == ['note']
    assert bodies(seen['nobody']) == [] and fin_set(seen['nobody'][2])[0] is True
    assert bodies(seen['bob_page']) == ['b0', 'b1'] and not fin_set(seen['bob_page'][2])[0]
    assert bodies(seen['bob_page2']) == ['to-b', 'b2-0'] and fin_set(seen['bob_page2'][2])[0]
    assert bodies(seen['after_id']) == ['c0', 'c1', 'to-b', 'note', 'b2-0']
    assert bodies(seen['before_id']) == ['b0', 'b1']
    assert bodies(seen['between']) == ['b1', 'c0']
    assert bodies(seen['ids']) == ['b1', 'to-b']
    assert seen['ids_unknown'] == ('error', [], 'item-not-found')
    assert bodies(seen['start_future']) == [] and bodies(seen['end_past']) == []
    assert bodies(seen['start_now']) == bodies(seen['all'])
    assert seen['bad_date'] == ('error', [], 'bad-request')
    assert seen['bad_jid'] == ('error', [], 'jid-malformed')
    assert seen['unknown_field'] == ('error', [], 'feature-not-implemented')


def test_offline_copy_and_archive_agree(server):
    """A message to an offline user is stored offline and archived: the
    copy delivered at login carries the archive id, which the archive
    query returns for the same message; the sender's archive has its
    own entry."""
    for u in (ALICE, BOB):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        await chat(a, BOB, 'while away')
        await a.sync()
        b = await online(server.port, BOB + '/b1', plugins=PLUGINS)
        got = await b.wait1(body_is('while away'))
        seen['offline_id'] = stanza_id(got, BOB)
        seen['delay'] = got.find(q(NS_DELAY, 'delay')) is not None
        seen['bob'] = await run_query(b)
        seen['alice'] = await run_query(a)
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert seen['delay'], seen
    assert [(i[0], i[1]) for i in seen['bob'][1]] == [(seen['offline_id'], 'while away')]
    assert bodies(seen['alice']) == ['while away']
    assert seen['alice'][1][0][0] != seen['offline_id']
    assert seen['alice'][1][0][3] == BOB, seen['alice']


def test_what_is_not_archived(server):
    """Headlines, messages without a body (chat states) and <no-store/>
    are not archived, on either side; a client's forged stanza-id is
    removed, and the message gets the archive's own."""
    for u in (ALICE, BOB):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.port, BOB + '/b1', plugins=PLUGINS)
        a.xmpp.send_raw("<message to='%s' type='headline'><body>news</body></message>" % b.full)
        a.xmpp.send_raw("<message to='%s' type='chat'><active xmlns='"
                        "http://jabber.org/protocol/chatstates'/></message>" % b.full)
        a.xmpp.send_raw("<message to='%s' type='chat'><body>secret</body>"
                        "<no-store xmlns='urn:xmpp:hints'/></message>" % b.full)
        a.xmpp.send_raw("<message to='%s' type='chat'><body>forged</body>"
                        "<stanza-id xmlns='urn:xmpp:sid:0' by='%s' id='fake'/></message>"
                        % (b.full, BOB))
        got = await b.wait1(body_is('forged'))
        seen['forged'] = [s.get('id') for s in got.findall(q(NS_SID, 'stanza-id'))]
        seen['bob'] = await run_query(b)
        seen['alice'] = await run_query(a)
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert bodies(seen['bob']) == ['forged'], seen['bob']
    assert seen['forged'] == [seen['bob'][1][0][0]], seen
    assert bodies(seen['alice']) == ['forged'], seen['alice']


def test_preferences(server):
    """XEP-0441: the server's default (always); never for one JID stops
    archiving with it in both directions; default roster archives only
    contacts; the set is answered with what applies."""
    for u in (ALICE, BOB, CAROL):
        server.adduser(u, PW)
    server.ctl('roster', ALICE, 'add', CAROL)
    seen = {}

    def prefs_iq(c, typ, default=None, always=(), never=()):
        iq = c.xmpp.Iq()
        iq['type'] = typ
        p = SET.SubElement(iq.xml, q(NS_MAM, 'prefs'))
        if default:
            p.set('default', default)
        for name, jids in (('always', always), ('never', never)):
            if typ == 'set':
                el = SET.SubElement(p, q(NS_MAM, name))
                for j in jids:
                    SET.SubElement(el, q(NS_MAM, 'jid')).text = j
        return iq

    def parse(res):
        p = res.xml.find(q(NS_MAM, 'prefs'))
        return (p.get('default'),
                [j.text for j in p.find(q(NS_MAM, 'always'))],
                [j.text for j in p.find(q(NS_MAM, 'never'))])

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.port, BOB + '/b1', plugins=PLUGINS)
        c = await online(server.port, CAROL + '/c1', plugins=PLUGINS)
        seen['get0'] = parse(await prefs_iq(a, 'get').send(timeout=5))
        seen['set1'] = parse(await prefs_iq(a, 'set', 'always', never=['Bob@localhost'])
                             .send(timeout=5))
        await talk(b, a, 1, 'from-bob')
        await talk(a, b, 1, 'to-bob')
        await talk(c, a, 1, 'from-carol')
        seen['q1'] = await run_query(a)
        seen['set2'] = parse(await prefs_iq(a, 'set', 'roster').send(timeout=5))
        await talk(b, a, 1, 'bob-again')
        await talk(c, a, 1, 'carol-again')
        seen['q2'] = await run_query(a)
        seen['set3'] = parse(await prefs_iq(a, 'set', 'never', always=[BOB + '/b1'])
                             .send(timeout=5))
        await talk(b, a, 1, 'bob-full')
        await talk(c, a, 1, 'carol-never')
        seen['q3'] = await run_query(a)
        seen['bad'] = None
        try:
            await prefs_iq(a, 'set', 'sometimes').send(timeout=5)
        except Exception as e:
            seen['bad'] = e.iq['error']['condition']
        seen['bob_archive'] = await run_query(b)
        for cl in (a, b, c):
            await cl.close()
    C.run(go, timeout=60)

    assert seen['get0'] == ('always', [], []), seen['get0']
    assert seen['set1'] == ('always', [], [BOB]), seen['set1']
    assert bodies(seen['q1']) == ['from-carol0'], seen['q1']
    assert seen['set2'] == ('roster', [], []), seen['set2']
    assert bodies(seen['q2']) == ['from-carol0', 'carol-again0'], seen['q2']
    assert seen['set3'] == ('never', [BOB + '/b1'], []), seen['set3']
    assert bodies(seen['q3']) == ['from-carol0', 'carol-again0', 'bob-full0'], seen['q3']
    assert seen['bad'] == 'bad-request', seen
    # Bob's own preferences (the default) archive all of it
    assert bodies(seen['bob_archive']) == ['from-bob0', 'to-bob0', 'bob-again0', 'bob-full0']


def test_retention_by_count_and_age(server_factory):
    """archive_max_count keeps the newest entries; archive_max_age drops
    what is older when the archive is read, without a new message."""
    server = server_factory(archive_max_count=3, archive_max_age=2)
    for u in (ALICE, BOB):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.port, BOB + '/b1', plugins=PLUGINS)
        await talk(a, b, 5)
        seen['count'] = await run_query(b)
        seen['xlen'] = server.redis('XLEN', 'xmpp:{%s}:mam' % BOB)
        await asyncio.sleep(3)
        seen['aged'] = await run_query(b, fields={'with': ALICE})
        seen['xlen_aged'] = server.redis('EXISTS', 'xmpp:{%s}:mam' % BOB,
                                         'xmpp:{%s}:mam:w:%s' % (BOB, ALICE))
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert bodies(seen['count']) == ['m2', 'm3', 'm4'], seen['count']
    assert seen['xlen'] == 3
    assert bodies(seen['aged']) == [] and seen['xlen_aged'] == 0, seen


def test_form_metadata_disco_and_access(server):
    """The query form (ids open), archive metadata, the features on the
    account's bare JID (not the server's), and another user's archive
    refused."""
    for u in (ALICE, BOB):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.port, BOB + '/b1', plugins=PLUGINS)
        form = await a.xmpp['xep_0313'].get_fields(timeout=5)
        fields = form['fields']
        fields = fields.values() if hasattr(fields, 'values') else fields
        seen['fields'] = {f['var']: f['type'] for f in fields}
        md = await a.xmpp['xep_0313'].get_archive_metadata(timeout=5)
        seen['md_empty'] = len(md.xml.find(q(NS_MAM, 'metadata')))
        await talk(b, a, 3)
        md = await a.xmpp['xep_0313'].get_archive_metadata(timeout=5)
        m = md.xml.find(q(NS_MAM, 'metadata'))
        seen['md'] = (m.find(q(NS_MAM, 'start')).get('id'), m.find(q(NS_MAM, 'end')).get('id'))
        seen['all'] = await run_query(a)
        info = await a.xmpp['xep_0030'].get_info(jid=ALICE, local=False, cached=False,
                                                  timeout=5)
        seen['account'] = set(info['disco_info']['features'])
        info = await a.xmpp['xep_0030'].get_info(jid='localhost', local=False, cached=False,
                                                  timeout=5)
        seen['server'] = set(info['disco_info']['features'])
        seen['other'] = await run_query(a, to=BOB)
        seen['domain'] = await run_query(a, to='localhost')
        seen['own_bare'] = await run_query(a, to=ALICE)
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert seen['fields'] == {'FORM_TYPE': 'hidden', 'with': 'jid-single',
                              'start': 'text-single', 'end': 'text-single',
                              'before-id': 'text-single', 'after-id': 'text-single',
                              'ids': 'list-multi'}, seen['fields']
    assert seen['md_empty'] == 0
    ids = [i[0] for i in seen['all'][1]]
    assert seen['md'] == (ids[0], ids[-1]), seen
    assert {NS_MAM, NS_MAM + '#extended', NS_SID} <= seen['account'], seen['account']
    assert NS_MAM not in seen['server'], seen['server']
    assert seen['other'] == ('error', [], 'forbidden'), seen['other']
    assert seen['domain'] == ('error', [], 'service-unavailable'), seen['domain']
    assert bodies(seen['own_bare']) == ['m0', 'm1', 'm2']


def test_xmppctl_export_delete_and_deluser(server):
    """`xmppctl archive JID` prints the archive as results; `archive
    --delete` empties it; `deluser` removes it with the preferences."""
    for u in (ALICE, BOB):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.port, BOB + '/b1', plugins=PLUGINS)
        await talk(a, b, 3, 'x&<')
        seen['ids'] = [i[0] for i in (await run_query(b))[1]]
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    p = server.ctl('archive', BOB)
    assert p.returncode == 0, p.stderr
    root = ET.fromstring(p.stdout)
    assert root.tag == '{urn:xmpp:pie:0#mam}archive' and root.get('jid') == BOB
    got = [(r.get('id'), r.find('.//' + q(NS_CLIENT, 'body')).text) for r in root]
    assert got == list(zip(seen['ids'], ['x&<0', 'x&<1', 'x&<2'])), p.stdout
    assert server.redis('EXISTS', 'xmpp:{%s}:mam' % ALICE) == 1
    p = server.ctl('archive', '--delete', ALICE)
    assert p.returncode == 0, p.stderr
    assert server.redis('EXISTS', 'xmpp:{%s}:mam' % ALICE,
                        'xmpp:{%s}:mam:w:%s' % (ALICE, BOB),
                        'xmpp:{%s}:mam:with' % ALICE) == 0
    p = server.ctl('archive', ALICE)
    assert p.returncode == 0 and len(ET.fromstring(p.stdout)) == 0, p.stdout
    assert server.ctl('archive', '--delete').returncode == 100
    server.redis('HSET', 'xmpp:{%s}:mamprefs' % BOB, 'default', 'never')
    p = server.ctl('deluser', BOB)
    assert p.returncode == 0, p.stderr
    assert server.redis('EXISTS', 'xmpp:{%s}:mam' % BOB, 'xmpp:{%s}:mamprefs' % BOB,
                        'xmpp:{%s}:mam:w:%s' % (BOB, ALICE),
                        'xmpp:{%s}:mam:with' % BOB) == 0
