"""PEP payloads that third-party clients use, and the two conversions
xmppd does between older storage and PEP, driven by slixmpp's plugins on
two listeners sharing one Redis:
- XEP-0084 avatars: one user publishes data and metadata, a contact whose
  client announces urn:xmpp:avatar:metadata+notify (XEP-0115) is told
  and fetches the data; XEP-0172 nicknames the same way;
- XEP-0411: XEP-0048 bookmarks set through private storage (xep_0048,
  xep_0049) become urn:xmpp:bookmarks:1 items (xep_0060), changes publish
  and retract with notifications to the owner's other session, URLs stay
  in private storage; a PEP publish or retract shows in the next
  private-storage get;
- XEP-0398: a vCard with a PHOTO (xep_0153) becomes avatar data and
  metadata, the same vCard again changes nothing, a photo too large for
  a PEP item is not converted, a vCard without PHOTO publishes empty
  metadata; an XEP-0084 publish becomes the vCard's PHOTO (xep_0054) and
  empty metadata removes it;
- the account's disco#info lists both conversion features.
"""
import base64
import hashlib
import os
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.xmlstream import ET as SET

from im_helpers import PW, handshake, iq_outcome as outcome, online, q, redis_hash

ALICE, BOB = 'alice@localhost', 'bob@localhost'
NS_PUBSUB = 'http://jabber.org/protocol/pubsub'
NS_EVENT = NS_PUBSUB + '#event'
NS_DATA = 'urn:xmpp:avatar:data'
NS_META = 'urn:xmpp:avatar:metadata'
NS_NICK = 'http://jabber.org/protocol/nick'
NS_BM = 'storage:bookmarks'
NS_BM2 = 'urn:xmpp:bookmarks:1'
NS_VCARD = 'vcard-temp'
NS_CONVERSION = 'urn:xmpp:bookmarks-conversion:0'
NS_VCARD_CONV = 'urn:xmpp:pep-vcard-conversion:0'
BASE = ['xep_0004', 'xep_0030', 'xep_0060', 'xep_0163']
AVATAR = BASE + ['xep_0054', 'xep_0084', 'xep_0115']
BOOKMARKS = BASE + ['xep_0049', 'xep_0048']
ITEM_SIZE = 4096                    # pep_max_item_size of the avatar tests


async def caps_online(port, jid, plugins, notify=()):
    """A client announcing "<node>+notify" for each node of notify."""
    c = await online(port, jid, plugins=plugins + ['xep_0115'], presence=False)
    for n in notify:
        c.xmpp['xep_0030'].add_feature(n + '+notify')
    await c.xmpp['xep_0115'].update_caps()
    c.xmpp.send_presence()
    return c


def event(node, what='item'):
    """a headline with <event><items node=node> holding an <item/> or a
    <retract/>"""
    def pred(el):
        if el.tag != q('jabber:client', 'message') or el.get('type') != 'headline':
            return False
        its = el.find('%s/%s' % (q(NS_EVENT, 'event'), q(NS_EVENT, 'items')))
        return its is not None and its.get('node') == node and \
            its.find(q(NS_EVENT, what)) is not None
    pred.__doc__ = 'event %s node=%s' % (what, node)
    return pred


def items_of(res):
    """[(id, payload element or None)] of an items result."""
    items = res.xml.find('.//' + q(NS_PUBSUB, 'items'))
    assert items is not None, ET.tostring(res.xml)
    return [(i.get('id'), i[0] if len(i) else None) for i in items.findall(q(NS_PUBSUB, 'item'))]


def image(n):
    """n bytes that look like a PNG, and their SHA-1 hex."""
    data = b'\x89PNG\r\n\x1a\n' + os.urandom(n - 8)
    return data, hashlib.sha1(data).hexdigest()


def photo_of(res):
    """(TYPE, decoded BINVAL) of a vCard result, or None without PHOTO."""
    v = res.xml.find(q(NS_VCARD, 'vCard'))
    assert v is not None, ET.tostring(res.xml)
    p = v.find(q(NS_VCARD, 'PHOTO'))
    if p is None:
        return None
    return p.findtext(q(NS_VCARD, 'TYPE')), base64.b64decode(p.findtext(q(NS_VCARD, 'BINVAL')))


def test_avatar_publish_to_contact_and_vcard(server_factory):
    """XEP-0084 publish by alice: bob (+notify) gets the metadata, fetches
    the data; bob's vCard get of alice shows the photo beside her FN
    (XEP-0398); empty metadata removes the photo."""
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    img, hid = image(300)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=AVATAR)
        b = await caps_online(server.ports[1], BOB + '/b1', AVATAR, [NS_META])
        await handshake(a, b)
        v = a.xmpp['xep_0054'].make_vcard()
        v['FN'] = 'Alice'
        await a.xmpp['xep_0054'].publish_vcard(v, timeout=5)
        seen['data'] = await outcome(a.xmpp['xep_0084'].publish_avatar(img, timeout=5))
        nb = b.mark()
        seen['meta'] = await outcome(a.xmpp['xep_0084'].publish_avatar_metadata(
            [{'id': hid, 'type': 'image/png', 'bytes': len(img)}], timeout=5))
        seen['ev'] = await b.wait1(event(NS_META), since=nb)
        seen['fetch'] = await outcome(b.xmpp['xep_0084'].retrieve_avatar(ALICE, hid, timeout=5))
        seen['vcard'] = await outcome(b.xmpp['xep_0054'].get_vcard(ALICE, cached=False,
                                                                   timeout=5))
        seen['stop'] = await outcome(a.xmpp['xep_0084'].stop(timeout=5))
        seen['vcard_stop'] = await outcome(b.xmpp['xep_0054'].get_vcard(ALICE, cached=False,
                                                                        timeout=5))
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert seen['data'][0] == 'result' and seen['meta'][0] == 'result', seen
    info = seen['ev'].find('.//' + q(NS_META, 'info'))
    assert info is not None and seen['ev'].get('from') == ALICE, ET.tostring(seen['ev'])
    assert (info.get('id'), info.get('type'), info.get('bytes')) == \
        (hid, 'image/png', str(len(img)))
    assert seen['fetch'][0] == 'result', seen['fetch']
    got = items_of(seen['fetch'][1])
    assert [i for i, _ in got] == [hid] and base64.b64decode(got[0][1].text) == img
    assert seen['vcard'][0] == 'result', seen['vcard']
    assert photo_of(seen['vcard'][1]) == ('image/png', img)
    assert seen['vcard'][1].xml.findtext('.//' + q(NS_VCARD, 'FN')) == 'Alice'
    assert seen['stop'][0] == 'result', seen['stop']
    assert photo_of(seen['vcard_stop'][1]) is None
    assert seen['vcard_stop'][1].xml.findtext('.//' + q(NS_VCARD, 'FN')) == 'Alice'


def test_nickname_to_contact(server_factory):
    """XEP-0172: bob (+notify) is told of alice's nickname; carol, a
    contact without the feature, is not."""
    server = server_factory(listeners=2)
    for u in (ALICE, BOB, 'carol@localhost'):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=BASE + ['xep_0172'])
        b = await caps_online(server.ports[1], BOB + '/b1', BASE, [NS_NICK])
        c = await caps_online(server.ports[0], 'carol@localhost/c1', BASE, [])
        await handshake(a, b)
        await handshake(a, c)
        nb, nc = b.mark(), c.mark()
        seen['pub'] = await outcome(a.xmpp['xep_0172'].publish_nick('Ali', timeout=5))
        seen['ev'] = await b.wait1(event(NS_NICK), since=nb)
        await c.none_for(event(NS_NICK), seconds=1.0, since=nc)
        for cl in (a, b, c):
            await cl.close()
    C.run(go, timeout=60)
    assert seen['pub'][0] == 'result', seen['pub']
    assert seen['ev'].get('from') == ALICE
    assert seen['ev'].findtext('.//' + q(NS_NICK, 'nick')) == 'Ali', ET.tostring(seen['ev'])


def conference(jid, name=None, autojoin=False, nick=None):
    el = SET.Element('{%s}conference' % NS_BM2)
    if name:
        el.set('name', name)
    if autojoin:
        el.set('autojoin', 'true')
    if nick:
        SET.SubElement(el, '{%s}nick' % NS_BM2).text = nick
    return el


def confs(res):
    """[(jid, name, autojoin, nick, password)] of a get_bookmarks result."""
    return [(str(c['jid']), c['name'], c['autojoin'], c['nick'], c['password'])
            for c in res['private']['bookmarks']['conferences']]


def test_bookmarks_private_to_pep(server_factory):
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=BOOKMARKS)
        a2 = await online(server.ports[1], ALICE + '/a2', plugins=BOOKMARKS)
        b = await online(server.ports[1], BOB + '/b1', plugins=BOOKMARKS)
        bm = a.xmpp['xep_0048'].stanza.Bookmarks()
        bm.add_conference('tea@conference.localhost', 'alice', name='Tea party',
                          autojoin=True, password='s3cret')
        bm.add_conference('coffee@conference.localhost', 'al')
        bm.add_url('https://example.org/', name='Example')
        n2 = a2.mark()
        seen['set'] = await outcome(a.xmpp['xep_0048'].set_bookmarks(bm, timeout=5))
        seen['ev'] = await a2.wait(event(NS_BM2), since=n2, count=2)
        ps2 = a2.xmpp['xep_0060']
        seen['items'] = await outcome(ps2.get_items(None, NS_BM2, timeout=5))
        seen['conf'] = await outcome(ps2.get_node_config(None, NS_BM2, timeout=5))
        seen['hash'] = redis_hash(server, 'xmpp:{%s}:private' % ALICE)
        seen['bob'] = await outcome(b.xmpp['xep_0060'].get_items(ALICE, NS_BM2, timeout=5))
        # the same set again: nothing changes, nothing is told
        n2 = a2.mark()
        await a.xmpp['xep_0048'].set_bookmarks(bm, timeout=5)
        await a2.none_for(event(NS_BM2), seconds=1.0, since=n2)
        # coffee goes, tea is renamed
        bm2 = a.xmpp['xep_0048'].stanza.Bookmarks()
        bm2.add_conference('tea@conference.localhost', 'alice', name='Tea time',
                           autojoin=True, password='s3cret')
        bm2.add_url('https://example.org/', name='Example')
        n2 = a2.mark()
        seen['set2'] = await outcome(a.xmpp['xep_0048'].set_bookmarks(bm2, timeout=5))
        seen['retract'] = await a2.wait1(event(NS_BM2, 'retract'), since=n2)
        seen['renamed'] = await a2.wait1(event(NS_BM2), since=n2)
        seen['items2'] = await outcome(ps2.get_items(None, NS_BM2, timeout=5))
        seen['get2'] = await outcome(a2.xmpp['xep_0048'].get_bookmarks(timeout=5))
        for c in (a, a2, b):
            await c.close()
    C.run(go, timeout=60)

    assert seen['set'][0] == 'result', seen['set']
    assert seen['items'][0] == 'result', seen['items']
    got = dict(items_of(seen['items'][1]))
    assert set(got) == {'tea@conference.localhost', 'coffee@conference.localhost'}, got
    tea = got['tea@conference.localhost']
    assert tea.tag == q(NS_BM2, 'conference'), ET.tostring(tea)
    assert (tea.get('name'), tea.get('autojoin'), tea.findtext(q(NS_BM2, 'nick')),
            tea.findtext(q(NS_BM2, 'password'))) == ('Tea party', 'true', 'alice', 's3cret')
    coffee = got['coffee@conference.localhost']
    assert coffee.get('autojoin') in (None, 'false') and \
        coffee.findtext(q(NS_BM2, 'nick')) == 'al', ET.tostring(coffee)
    values = seen['conf'][1]['pubsub_owner']['configure']['form'].get_values()
    assert values['pubsub#access_model'] == 'whitelist', values
    assert values['pubsub#max_items'] == 'max' and values['pubsub#persist_items'], values
    stored = ET.fromstring(seen['hash'][NS_BM])
    assert stored.find(q(NS_BM, 'conference')) is None, seen['hash']
    assert stored.find(q(NS_BM, 'url')).get('url') == 'https://example.org/', seen['hash']
    assert seen['bob'][:2] == ('error', 'not-allowed'), seen['bob']
    assert seen['set2'][0] == 'result', seen['set2']
    assert seen['retract'].find('.//' + q(NS_EVENT, 'retract')).get('id') == \
        'coffee@conference.localhost'
    assert seen['renamed'].find('.//' + q(NS_BM2, 'conference')).get('name') == 'Tea time'
    assert [i for i, _ in items_of(seen['items2'][1])] == ['tea@conference.localhost']
    assert confs(seen['get2'][1]) == [('tea@conference.localhost', 'Tea time', True, 'alice',
                                       's3cret')]
    urls = seen['get2'][1]['private']['bookmarks']['urls']
    assert [u['url'] for u in urls] == ['https://example.org/']


def test_bookmarks_pep_to_private(server_factory):
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=BOOKMARKS)
        a2 = await online(server.ports[1], ALICE + '/a2', plugins=BOOKMARKS)
        bm = a.xmpp['xep_0048'].stanza.Bookmarks()
        bm.add_url('https://example.org/', name='Example')
        await a.xmpp['xep_0048'].set_bookmarks(bm, timeout=5)
        opts = a.xmpp['xep_0004'].make_form(ftype='submit')
        opts.add_field(var='FORM_TYPE', ftype='hidden', value=NS_PUBSUB + '#publish-options')
        opts.add_field(var='pubsub#access_model', value='whitelist')
        opts.add_field(var='pubsub#max_items', value='max')
        ps = a.xmpp['xep_0060']
        seen['pub'] = await outcome(ps.publish(
            None, NS_BM2, id='pep@conference.localhost', options=opts,
            payload=conference('pep@conference.localhost', 'From PEP', True, 'ali'), timeout=5))
        await ps.publish(None, NS_BM2, id='other@conference.localhost', options=opts,
                         payload=conference('other@conference.localhost'), timeout=5)
        seen['get'] = await outcome(a2.xmpp['xep_0048'].get_bookmarks(timeout=5))
        seen['retract'] = await outcome(ps.retract(None, NS_BM2, 'pep@conference.localhost',
                                                   timeout=5))
        seen['get2'] = await outcome(a2.xmpp['xep_0048'].get_bookmarks(timeout=5))
        for c in (a, a2):
            await c.close()
    C.run(go, timeout=60)

    assert seen['pub'][0] == 'result', seen['pub']
    assert seen['get'][0] == 'result', seen['get']
    assert confs(seen['get'][1]) == [
        ('pep@conference.localhost', 'From PEP', True, 'ali', ''),
        ('other@conference.localhost', '', False, '', '')], confs(seen['get'][1])
    assert [u['url'] for u in seen['get'][1]['private']['bookmarks']['urls']] == \
        ['https://example.org/']
    assert seen['retract'][0] == 'result', seen['retract']
    assert [c[0] for c in confs(seen['get2'][1])] == ['other@conference.localhost']
    assert [u['url'] for u in seen['get2'][1]['private']['bookmarks']['urls']] == \
        ['https://example.org/']


def test_vcard_photo_to_avatar(server_factory):
    server = server_factory(listeners=2, pep_max_item_size=ITEM_SIZE)
    server.adduser(ALICE, PW)
    img, hid = image(500)
    big, _ = image(ITEM_SIZE)
    plugins = AVATAR + ['xep_0153']
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=plugins)
        a2 = await caps_online(server.ports[1], ALICE + '/a2', AVATAR, [NS_META])
        n2 = a2.mark()
        seen['set'] = await outcome(a.xmpp['xep_0153'].set_avatar(avatar=img,
                                                                  mtype='image/png', timeout=5))
        seen['ev'] = await a2.wait1(event(NS_META), since=n2)
        ps2 = a2.xmpp['xep_0060']
        seen['meta'] = await outcome(ps2.get_items(None, NS_META, timeout=5))
        seen['data'] = await outcome(a2.xmpp['xep_0084'].retrieve_avatar(ALICE, hid,
                                                                         timeout=5))
        # the same photo again: no new avatar
        n2 = a2.mark()
        await a.xmpp['xep_0153'].set_avatar(avatar=img, mtype='image/png', timeout=5)
        await a2.none_for(event(NS_META), seconds=1.0, since=n2)
        # too large for a PEP item: the vCard takes it, the avatar stays
        seen['big'] = await outcome(a.xmpp['xep_0153'].set_avatar(avatar=big,
                                                                  mtype='image/png', timeout=5))
        await a2.none_for(event(NS_META), seconds=1.0, since=n2)
        seen['vcard_big'] = await outcome(a2.xmpp['xep_0054'].get_vcard(ALICE, cached=False,
                                                                        timeout=5))
        seen['meta_big'] = await outcome(ps2.get_items(None, NS_META, timeout=5))
        # no PHOTO: empty metadata
        n2 = a2.mark()
        v = a.xmpp['xep_0054'].make_vcard()
        v['FN'] = 'Alice'
        await a.xmpp['xep_0054'].publish_vcard(v, timeout=5)
        seen['none'] = await a2.wait1(event(NS_META), since=n2)
        for c in (a, a2):
            await c.close()
    C.run(go, timeout=60)

    assert seen['set'][0] == 'result', seen['set']
    info = seen['ev'].find('.//' + q(NS_META, 'info'))
    assert (info.get('id'), info.get('type'), info.get('bytes')) == \
        (hid, 'image/png', str(len(img))), ET.tostring(seen['ev'])
    assert [i for i, _ in items_of(seen['meta'][1])] == [hid]
    got = items_of(seen['data'][1])
    assert [i for i, _ in got] == [hid] and got[0][1].tag == q(NS_DATA, 'data')
    assert base64.b64decode(got[0][1].text) == img
    assert seen['big'][0] == 'result', seen['big']
    assert photo_of(seen['vcard_big'][1]) == ('image/png', big)
    assert [i for i, _ in items_of(seen['meta_big'][1])] == [hid]
    md = seen['none'].find('.//' + q(NS_META, 'metadata'))
    assert md is not None and len(md) == 0, ET.tostring(seen['none'])


def test_disco_lists_conversions(server):
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=BASE)
        r = await a.xmpp['xep_0030'].get_info(jid=ALICE, local=False, cached=False, timeout=5)
        seen['features'] = set(r['disco_info']['features'])
        await a.close()
    C.run(go, timeout=60)
    assert {NS_CONVERSION, NS_BM2 + '#compat', NS_VCARD_CONV} <= seen['features'], seen


def private_set(c, *storage_children):
    """A private-storage set of one <storage xmlns='storage:bookmarks'/>."""
    iq = c.xmpp.Iq()
    iq['type'] = 'set'
    qe = SET.SubElement(iq.xml, '{jabber:iq:private}query')
    st = SET.SubElement(qe, '{%s}storage' % NS_BM)
    for el in storage_children:
        st.append(el)
    return iq.send(timeout=5)


def legacy(jid=None):
    el = SET.Element('{%s}conference' % NS_BM)
    if jid:
        el.set('jid', jid)
    return el


def test_bookmarks_set_refused(server_factory):
    """A set the node cannot hold changes nothing: more conferences than
    pep_max_items, a conference without jid."""
    server = server_factory(pep_max_items=2)
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=BOOKMARKS)
        seen['ok'] = await outcome(private_set(a, legacy('one@conference.localhost')))
        seen['many'] = await outcome(private_set(a, *[legacy('r%d@conference.localhost' % i)
                                                      for i in range(3)]))
        seen['nojid'] = await outcome(private_set(a, legacy()))
        seen['items'] = await outcome(a.xmpp['xep_0060'].get_items(None, NS_BM2, timeout=5))
        await a.close()
    C.run(go, timeout=60)
    assert seen['ok'][0] == 'result', seen['ok']
    assert seen['many'][:2] == ('error', 'not-acceptable') and '2' in seen['many'][4], \
        seen['many']
    assert seen['nojid'][:2] == ('error', 'bad-request'), seen['nojid']
    assert [i for i, _ in items_of(seen['items'][1])] == ['one@conference.localhost']
