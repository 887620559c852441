"""XEP-0049 private XML storage and XEP-0048 bookmarks stored through it,
driven by slixmpp's xep_0049 and xep_0048 plugins on two listeners
sharing one Redis (stored through one host, read through the other):
per-namespace get and set, a set replacing what its namespace held, a
get of a namespace never stored returning the request's element empty,
the Redis hash and its removal by `xmppctl deluser`, the errors
(another user's JID: forbidden; a reserved namespace: not-acceptable;
over the size limit: not-acceptable), and the disco#info feature. Exact
error stanzas: transcripts/private-*.xmpp.
"""
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.xmlstream import ET as SET

from im_helpers import PW, iq_outcome as outcome, online, q, redis_hash

ALICE, BOB = 'alice@localhost', 'bob@localhost'
NS_PRIVATE = 'jabber:iq:private'
NS_BOOKMARKS = 'storage:bookmarks'
NS_PREFS = 'exodus:prefs'
PRIVATE_MAX_SIZE = 64 * 1024        # handler/private.c
PLUGINS = ['xep_0030', 'xep_0049', 'xep_0048']


def pkey(bare):
    return 'xmpp:{%s}:private' % bare


def prefs(nick):
    el = SET.Element('{%s}exodus' % NS_PREFS)
    SET.SubElement(el, '{%s}defaultnick' % NS_PREFS).text = nick
    return el


def iq_private(c, typ, payload, to=None):
    """An IQ of type typ with <query xmlns='jabber:iq:private'> holding payload."""
    iq = c.xmpp.Iq()
    iq['type'] = typ
    if to:
        iq['to'] = to
    qe = SET.SubElement(iq.xml, '{%s}query' % NS_PRIVATE)
    for el in payload:
        qe.append(el)
    return iq


def stored(res):
    """The children of the result's private query."""
    qe = res.xml.find(q(NS_PRIVATE, 'query'))
    assert qe is not None, ET.tostring(res.xml)
    return list(qe)


def test_bookmarks_across_listeners(server_factory):
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        a2 = await online(server.ports[1], ALICE + '/a2', plugins=PLUGINS)
        bm = a.xmpp['xep_0048'].stanza.Bookmarks()
        bm.add_conference('tea@conference.localhost', 'alice', name='Tea party',
                          autojoin=True)
        bm.add_url('https://example.org/', name='Example')
        seen['empty'] = await outcome(a2.xmpp['xep_0048'].get_bookmarks(timeout=5))
        seen['set'] = await outcome(a.xmpp['xep_0048'].set_bookmarks(bm, timeout=5))
        seen['get'] = await outcome(a2.xmpp['xep_0048'].get_bookmarks(timeout=5))
        # another namespace beside it, and a replacement of the first
        seen['prefs'] = await outcome(a2.xmpp['xep_0049'].store(prefs('Hamlet'), timeout=5))
        seen['hash1'] = redis_hash(server, pkey(ALICE))
        bm2 = a.xmpp['xep_0048'].stanza.Bookmarks()
        bm2.add_conference('coffee@conference.localhost', 'al')
        seen['set2'] = await outcome(a.xmpp['xep_0048'].set_bookmarks(bm2, timeout=5))
        seen['get2'] = await outcome(a2.xmpp['xep_0048'].get_bookmarks(timeout=5))
        seen['get_prefs'] = await outcome(
            iq_private(a, 'get', [SET.Element('{%s}exodus' % NS_PREFS)]).send(timeout=5))
        for c in (a, a2):
            await c.close()
    C.run(go, timeout=60)

    assert seen['empty'][0] == 'result', seen['empty']
    empty = stored(seen['empty'][1])
    assert [e.tag for e in empty] == [q(NS_BOOKMARKS, 'storage')] and len(empty[0]) == 0, \
        [ET.tostring(e) for e in empty]
    assert seen['set'][0] == 'result', seen['set']
    assert seen['get'][0] == 'result', seen['get']
    confs = seen['get'][1]['private']['bookmarks']['conferences']
    assert [(str(c['jid']), c['nick'], c['name'], c['autojoin']) for c in confs] == \
        [('tea@conference.localhost', 'alice', 'Tea party', True)], seen['get'][1]
    urls = seen['get'][1]['private']['bookmarks']['urls']
    assert [(u['url'], u['name']) for u in urls] == [('https://example.org/', 'Example')]
    assert seen['prefs'][0] == 'result', seen['prefs']
    assert set(seen['hash1']) == {NS_BOOKMARKS, NS_PREFS}, seen['hash1']
    assert ET.fromstring(seen['hash1'][NS_BOOKMARKS]).tag == q(NS_BOOKMARKS, 'storage')
    assert seen['set2'][0] == 'result', seen['set2']
    confs = seen['get2'][1]['private']['bookmarks']['conferences']
    assert [str(c['jid']) for c in confs] == ['coffee@conference.localhost'], seen['get2'][1]
    assert list(seen['get2'][1]['private']['bookmarks']['urls']) == []
    got = stored(seen['get_prefs'][1])
    assert [(e.tag, e.findtext(q(NS_PREFS, 'defaultnick'))) for e in got] == \
        [(q(NS_PREFS, 'exodus'), 'Hamlet')], [ET.tostring(e) for e in got]


def test_private_errors(server_factory):
    server = server_factory()
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        seen['other_set'] = await outcome(iq_private(a, 'set', [prefs('Macbeth')],
                                                     to=BOB).send(timeout=5))
        seen['other_get'] = await outcome(iq_private(
            a, 'get', [SET.Element('{%s}exodus' % NS_PREFS)], to=BOB).send(timeout=5))
        seen['own_bare'] = await outcome(iq_private(a, 'set', [prefs('Hamlet')],
                                                    to=ALICE).send(timeout=5))
        seen['reserved'] = await outcome(iq_private(
            a, 'set', [SET.Element('{jabber:client}x')]).send(timeout=5))
        seen['none'] = await outcome(iq_private(a, 'get', []).send(timeout=5))
        big = prefs('x' * (PRIVATE_MAX_SIZE + 1))
        seen['big'] = await outcome(iq_private(a, 'set', [big]).send(timeout=10))
        seen['after'] = await outcome(iq_private(
            a, 'get', [SET.Element('{%s}exodus' % NS_PREFS)]).send(timeout=5))
        await a.close()
    C.run(go, timeout=60)

    assert seen['other_set'][:4] == ('error', 'forbidden', BOB, 'auth'), seen['other_set']
    assert seen['other_get'][:4] == ('error', 'forbidden', BOB, 'auth'), seen['other_get']
    assert server.redis('EXISTS', pkey(BOB)) == 0
    assert seen['own_bare'][0] == 'result', seen['own_bare']
    assert seen['reserved'][:2] == ('error', 'not-acceptable'), seen['reserved']
    assert seen['none'][:2] == ('error', 'not-acceptable'), seen['none']
    assert seen['big'][:2] == ('error', 'not-acceptable'), seen['big']
    assert str(PRIVATE_MAX_SIZE) in seen['big'][4], seen['big']
    got = stored(seen['after'][1])
    assert [e.findtext(q(NS_PREFS, 'defaultnick')) for e in got] == ['Hamlet'], \
        [ET.tostring(e) for e in got]


def test_private_deluser(server):
    server.adduser(ALICE, PW)

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        r = await outcome(a.xmpp['xep_0049'].store(prefs('Hamlet'), timeout=5))
        assert r[0] == 'result', r
        await a.close()
    C.run(go, timeout=60)
    assert server.redis('EXISTS', pkey(ALICE)) == 1
    p = server.ctl('deluser', ALICE)
    assert p.returncode == 0, p.stderr
    assert server.redis('EXISTS', pkey(ALICE)) == 0


def test_disco_lists_private(server):
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        r = await a.xmpp['xep_0030'].get_info(jid='localhost', local=False, cached=False,
                                               timeout=5)
        seen['features'] = set(r['disco_info']['features'])
        await a.close()
    C.run(go, timeout=60)
    assert NS_PRIVATE in seen['features'], seen
