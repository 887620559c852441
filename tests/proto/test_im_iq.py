"""RFC 6121 8.5 for IQs: between full JIDs they are routed (answers too),
to another user's bare JID the server answers on the user's behalf, to an
unavailable full JID the server answers service-unavailable, and a
client's query to its own full JID comes back to it (INTEROP.md).
"""
import subprocess

try:
    from . import clients as C
except ImportError:
    import clients as C

from harness import BUILD
from slixmpp.exceptions import IqError, IqTimeout

from im_helpers import (PW, is_, online, xmls, q, NS_VERSION, NS_DISCO_INFO)

ALICE, BOB = 'alice@localhost', 'bob@localhost'


async def outcome(fut):
    """('result', iq) or ('error', condition, from) or ('timeout',)."""
    try:
        iq = await fut
        return ('result', iq)
    except IqError as e:
        return ('error', e.iq['error']['condition'], str(e.iq['from']), e.iq['error']['type'])
    except IqTimeout:
        return ('timeout',)


def test_iq_routing(server_factory):
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=['xep_0030', 'xep_0092'])
        b = await online(server.ports[1], BOB + '/b1', plugins=['xep_0030', 'xep_0092'])

        # full JID -> full JID: routed, answered by bob's client, routed back
        r = await outcome(a.xmpp['xep_0092'].get_version(b.full, timeout=5))
        assert r[0] == 'result', r
        seen['version'] = (str(r[1]['from']), r[1]['software_version']['name'])
        req = b.seen(is_('iq', type='get', from_=a.full))
        seen['req'] = [(e.get('to'), e[0].tag if len(e) else None) for e in req]

        # to bob's bare JID (not roster): the server answers for bob
        nb = b.mark()
        seen['bare'] = await outcome(a.xmpp['xep_0092'].get_version(BOB, timeout=5))
        # to a full JID with no session
        seen['gone'] = await outcome(a.xmpp['xep_0092'].get_version(BOB + '/gone', timeout=5))
        await b.none_for(is_('iq', from_=a.full), seconds=0.5, since=nb)

        # to its own full JID: routed back to the client itself
        na = a.mark()
        r = await outcome(a.xmpp['xep_0030'].get_info(jid=a.full, local=False, cached=False,
                                                      timeout=5))
        assert r[0] == 'result', r
        seen['self_from'] = str(r[1]['from'])
        seen['self_features'] = set(r[1]['disco_info']['features'])
        seen['self_req'] = [(e.get('from'), e.get('to')) for e in
                            a.seen(is_('iq', type='get'), since=na)
                            if e.find(q(NS_DISCO_INFO, 'query')) is not None]
        # a result or error to an unavailable full JID is dropped, not bounced
        na = a.mark()
        a.xmpp.send_raw("<iq type='result' id='stray1' to='%s/gone'/>" % BOB)
        a.xmpp.send_raw("<iq type='error' id='stray2' to='%s/gone'><error type='cancel'>"
                        "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                        "</error></iq>" % BOB)
        await a.sync()
        seen['stray'] = a.seen(lambda e: e.get('id') in ('stray1', 'stray2'), since=na)
        await a.close()
        await b.close()
    C.run(go, timeout=60)

    assert seen['version'] == (BOB + '/b1', 'Slixmpp'), seen
    assert seen['req'] == [(BOB + '/b1', '{%s}query' % NS_VERSION)], seen
    # RFC 6121 8.5.2.1.3: the server answers for the account, from the bare JID;
    # 8.5.3.2.3: no such resource -> service-unavailable from the full JID
    assert seen['bare'][:2] == ('error', 'service-unavailable'), seen
    assert seen['bare'][2] == BOB, seen
    assert seen['gone'][:2] == ('error', 'service-unavailable'), seen
    assert seen['gone'][2] == BOB + '/gone', seen
    assert seen['self_from'] == ALICE + '/a1', seen
    assert NS_DISCO_INFO in seen['self_features'], seen
    assert seen['self_req'] == [(ALICE + '/a1', ALICE + '/a1')], seen
    assert seen['stray'] == [], xmls(seen['stray'])


def test_version_option_names_the_build(server_factory):
    """xmpp-handler -V prints 'xmpp-handler VERSION' and exits 0; the
    server's XEP-0092 reply names the same version (the one compiled in)."""
    p = subprocess.run([str(BUILD / 'xmpp-handler'), '-V'], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0 and p.stderr == '', (p.returncode, p.stderr)
    name, _, version = p.stdout.rstrip('\n').partition(' ')
    assert name == 'xmpp-handler' and version and '\n' not in version, p.stdout
    server = server_factory()
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=['xep_0092'])
        r = await outcome(a.xmpp['xep_0092'].get_version('localhost', timeout=5))
        assert r[0] == 'result', r
        seen['server'] = (r[1]['software_version']['name'], r[1]['software_version']['version'])
        await a.close()
    C.run(go, timeout=60)
    assert seen['server'] == ('xmppd', version), seen
