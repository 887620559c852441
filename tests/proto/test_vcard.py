"""XEP-0054 vcard-temp, driven by slixmpp's xep_0054 plugin on two
listeners sharing one Redis (a vCard stored through one host is read
through the other): set and get of one's own vCard (no 'to', or the own
bare JID), a get of another user's vCard answered by the server on that
user's behalf (never delivered to the user's client), a set replacing
the whole vCard, the errors (a set to another user: forbidden; a vCard
over the size limit: not-acceptable; no vCard or no such user:
service-unavailable), the Redis key and its removal by `xmppctl
deluser`, presence carrying vcard-temp:x:update untouched (XEP-0153),
and the disco#info feature. Exact error stanzas: transcripts/vcard-*.xmpp.
"""
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C


from im_helpers import PW, is_, iq_outcome as outcome, online, handshake, q, xmls, NS_DISCO_INFO

ALICE, BOB = 'alice@localhost', 'bob@localhost'
NS_VCARD = 'vcard-temp'
NS_UPDATE = 'vcard-temp:x:update'
VCARD_MAX_SIZE = 64 * 1024          # vcard_max_size, its default (xmpp.conf(5))
PLUGINS = ['xep_0030', 'xep_0054']


def vkey(bare):
    return 'xmpp:{%s}:vcard' % bare


def card(c, fn, nick=None, photo=None):
    v = c.xmpp['xep_0054'].make_vcard()
    v['FN'] = fn
    if nick is not None:
        v['NICKNAME'] = nick
    if photo is not None:
        v['PHOTO']['TYPE'] = 'image/png'
        v['PHOTO']['BINVAL'] = photo
    return v


def fields(res):
    """(FN, NICKNAME) of a result's vCard, '' where absent."""
    v = res.xml.find(q(NS_VCARD, 'vCard'))
    assert v is not None, 'no vCard in %s' % ET.tostring(res.xml)
    return tuple((v.findtext(q(NS_VCARD, k)) or '') for k in ('FN', 'NICKNAME'))


def test_vcard_across_listeners(server_factory):
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        a2 = await online(server.ports[1], ALICE + '/a2', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        v54a, v54a2, v54b = a.xmpp['xep_0054'], a2.xmpp['xep_0054'], b.xmpp['xep_0054']

        # nothing stored yet: one's own is an empty vCard, another's an error
        seen['own_empty'] = await outcome(v54a.get_vcard(None, local=False, timeout=5))
        seen['other_none'] = await outcome(v54b.get_vcard(ALICE, local=False, timeout=5))

        seen['set'] = await outcome(v54a.publish_vcard(card(a, 'Alice Liddell', 'alice'),
                                                       timeout=5))
        # read through the other host: no 'to', the own bare JID, another user
        seen['own_noto'] = await outcome(v54a2.get_vcard(None, local=False, timeout=5))
        seen['own_bare'] = await outcome(v54a2.get_vcard(ALICE, local=False, timeout=5))
        na = a.mark()
        seen['bob_reads'] = await outcome(v54b.get_vcard(ALICE, local=False, timeout=5))
        seen['stored'] = server.redis('GET', vkey(ALICE))

        # a set replaces the whole vCard: the nickname is gone
        seen['replace'] = await outcome(v54a2.publish_vcard(card(a2, 'Alice L.'), jid=ALICE,
                                                            timeout=5))
        seen['bob_again'] = await outcome(v54b.get_vcard(ALICE, local=False, timeout=5))
        # the server answered for alice: her clients saw none of bob's gets
        await a.none_for(is_('iq', type='get', from_=b.full), seconds=0.3, since=na)
        seen['to_alice'] = a.seen(is_('iq', type='get'), since=na)
        for c in (a, a2, b):
            await c.close()
    C.run(go, timeout=60)

    assert seen['own_empty'][0] == 'result', seen['own_empty']
    assert fields(seen['own_empty'][1]) == ('', ''), seen['own_empty']
    assert seen['other_none'][:4] == ('error', 'service-unavailable', ALICE, 'cancel'), seen
    assert seen['set'][0] == 'result', seen['set']
    assert seen['own_noto'][0] == 'result' and fields(seen['own_noto'][1]) == \
        ('Alice Liddell', 'alice'), seen['own_noto']
    assert seen['own_bare'][0] == 'result' and fields(seen['own_bare'][1]) == \
        ('Alice Liddell', 'alice'), seen['own_bare']
    assert seen['bob_reads'][0] == 'result', seen['bob_reads']
    assert str(seen['bob_reads'][1]['from']) == ALICE, seen['bob_reads']
    assert fields(seen['bob_reads'][1]) == ('Alice Liddell', 'alice'), seen['bob_reads']
    stored = ET.fromstring(seen['stored'])
    assert stored.tag == q(NS_VCARD, 'vCard'), seen['stored']
    assert stored.findtext(q(NS_VCARD, 'FN')) == 'Alice Liddell', seen['stored']
    assert seen['replace'][0] == 'result', seen['replace']
    assert fields(seen['bob_again'][1]) == ('Alice L.', ''), seen['bob_again']
    assert seen['to_alice'] == [], xmls(seen['to_alice'])


def test_vcard_errors(server_factory):
    server = server_factory()
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        v54 = a.xmpp['xep_0054']
        seen['first'] = await outcome(v54.publish_vcard(card(a, 'Alice'), timeout=5))
        # a set to another user's JID
        seen['other_set'] = await outcome(v54.publish_vcard(card(a, 'Mallory'), jid=BOB,
                                                            timeout=5))
        # a user with no vCard, a user that does not exist: the same answer
        seen['bob'] = await outcome(v54.get_vcard(BOB, local=False, timeout=5))
        seen['nobody'] = await outcome(v54.get_vcard('nobody@localhost', local=False, timeout=5))
        # over the limit: refused, the stored vCard unchanged
        seen['big'] = await outcome(v54.publish_vcard(
            card(a, 'Big', photo=b'\0' * (VCARD_MAX_SIZE * 3 // 4 + 16)), timeout=10))
        seen['after'] = await outcome(v54.get_vcard(None, local=False, timeout=5))
        # just under the limit: stored
        seen['fits'] = await outcome(v54.publish_vcard(
            card(a, 'Fits', photo=b'\1' * (VCARD_MAX_SIZE * 3 // 4 - 512)), timeout=10))
        await a.close()
    C.run(go, timeout=60)

    assert seen['first'][0] == 'result', seen
    assert seen['other_set'][:4] == ('error', 'forbidden', BOB, 'auth'), seen['other_set']
    assert server.redis('EXISTS', vkey(BOB)) == 0
    assert seen['bob'][:4] == ('error', 'service-unavailable', BOB, 'cancel'), seen['bob']
    assert seen['nobody'][:4] == ('error', 'service-unavailable', 'nobody@localhost',
                                  'cancel'), seen['nobody']
    assert seen['big'][:2] == ('error', 'not-acceptable'), seen['big']
    assert str(VCARD_MAX_SIZE) in seen['big'][4], seen['big']
    assert fields(seen['after'][1]) == ('Alice', ''), seen['after']
    assert seen['fits'][0] == 'result', seen['fits']
    assert len(server.redis('GET', vkey(ALICE))) <= VCARD_MAX_SIZE


def test_vcard_deluser(server):
    server.adduser(ALICE, PW)

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        r = await outcome(a.xmpp['xep_0054'].publish_vcard(card(a, 'Alice'), timeout=5))
        assert r[0] == 'result', r
        await a.close()
    C.run(go, timeout=60)
    assert server.redis('EXISTS', vkey(ALICE)) == 1
    p = server.ctl('deluser', ALICE)
    assert p.returncode == 0, p.stderr
    assert server.redis('EXISTS', vkey(ALICE)) == 0


def test_presence_vcard_update_untouched(server):
    """XEP-0153: the photo hash in presence reaches contacts as sent."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}
    photo = '01b87fcd030b72895ff8e88db57ec525450f000d'

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.port, BOB + '/b1', plugins=PLUGINS)
        await handshake(a, b)
        nb = b.mark()
        a.xmpp.send_raw("<presence><show>away</show><x xmlns='%s'><photo>%s</photo></x>"
                        "</presence>" % (NS_UPDATE, photo))
        p = await b.wait1(lambda e: is_('presence', from_=a.full)(e) and
                          e.find(q(NS_UPDATE, 'x')) is not None, since=nb)
        seen['x'] = p.find(q(NS_UPDATE, 'x'))
        await a.close()
        await b.close()
    C.run(go, timeout=60)
    x = seen['x']
    assert [c.tag for c in x] == [q(NS_UPDATE, 'photo')], ET.tostring(x)
    assert x.findtext(q(NS_UPDATE, 'photo')) == photo, ET.tostring(x)


def test_disco_lists_vcard(server):
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        r = await a.xmpp['xep_0030'].get_info(jid='localhost', local=False, cached=False,
                                               timeout=5)
        seen['features'] = set(r['disco_info']['features'])
        await a.close()
    C.run(go, timeout=60)
    assert NS_VCARD in seen['features'], seen
