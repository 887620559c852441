"""XEP-0115 entity capabilities, as the server learns them: slixmpp's
xep_0115 plugin announces its caps in presence (with xep_0163 interests,
"+notify" features); the server asks its disco#info once, checks the
answer hashes to the announced ver, and keeps the features in the table
every host shares (a second client with the same software, on the
other listener, is not asked). A client whose answer does not match its
ver is stored nowhere. Notifications that depend on the interests:
test_pep.py.
"""
import asyncio

try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import PW, is_, online, q, raw_login, raw_wait

ALICE = 'alice@localhost'
NS_DISCO = 'http://jabber.org/protocol/disco#info'
NS_CAPS = 'http://jabber.org/protocol/caps'
PLUGINS = ['xep_0030', 'xep_0115', 'xep_0163']
TUNE = 'http://jabber.org/protocol/tune'


def asked(c):
    """The server's disco#info requests to the client."""
    return [e for e in c.received if e.tag == q('jabber:client', 'iq') and
            e.get('type') == 'get' and e.find(q(NS_DISCO, 'query')) is not None]


async def caps_client(port, jid):
    c = await online(port, jid, plugins=PLUGINS, presence=False)
    c.xmpp['xep_0163'].add_interest(TUNE)
    await c.xmpp['xep_0115'].update_caps()
    c.xmpp.send_presence()
    return c


def test_caps_learned_once_and_shared(server_factory):
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await caps_client(server.ports[0], ALICE + '/a1')
        await C.apoll(lambda: server.redis('KEYS', 'xmpp:caps:*'), timeout=10)
        seen['keys'] = server.redis('KEYS', 'xmpp:caps:*')
        seen['a_asked'] = asked(a)
        b = await caps_client(server.ports[1], ALICE + '/a2')
        await b.sync()
        await asyncio.sleep(0.5)
        seen['b_asked'] = asked(b)
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert len(seen['keys']) == 1 and seen['keys'][0].startswith('xmpp:caps:sha-1:'), seen
    feats = server.redis('SMEMBERS', seen['keys'][0])
    assert TUNE + '+notify' in feats and NS_CAPS in feats, feats
    assert len(seen['a_asked']) == 1, seen
    node = seen['a_asked'][0].find(q(NS_DISCO, 'query')).get('node')
    assert node.endswith('#' + seen['keys'][0].split(':', 3)[3]), node
    assert seen['a_asked'][0].get('from') == 'localhost'
    assert seen['b_asked'] == [], seen


def test_caps_that_do_not_hash_are_not_kept(server):
    """A raw client announces a ver its disco#info does not hash to: the
    server asks, and stores nothing; an answer to another id is no
    answer; the stream goes on."""
    server.adduser(ALICE, PW)
    r, full = raw_login(server, ALICE, resource='r1')
    r.send("<presence><c xmlns='%s' hash='sha-1' node='https://example.org/x'"
           " ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>" % NS_CAPS)
    iq = raw_wait(r, is_('iq', type='get'))
    assert iq.find(q(NS_DISCO, 'query')).get('node') == \
        'https://example.org/x#QgayPKawpkPSDYmwT/WM94uAlu0='
    assert iq.get('to') == full and iq.get('from') == 'localhost'
    r.send("<iq type='result' to='localhost' id='caps-999'><query xmlns='%s'/></iq>" % NS_DISCO)
    r.send("<iq type='result' to='localhost' id='%s'><query xmlns='%s' node='x'>"
           "<identity category='client' type='pc'/><feature var='%s'/>"
           "<feature var='urn:x+notify'/></query></iq>" % (iq.get('id'), NS_DISCO, NS_DISCO))
    r.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    raw_wait(r, is_('iq', id='p1', type='result'))
    assert server.redis('KEYS', 'xmpp:caps:*') == []
    r.close()
