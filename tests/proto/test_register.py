"""XEP-0077 (jabber:iq:register) for an existing account, driven by
slixmpp's plugin xep_0077 (Debian's python3-slixmpp): the password
change (3.3), the account's removal (3.2), their errors, and in-band
creation of accounts staying off (3.1). The exact error stanzas are in
transcripts/register-*.xmpp.

Uses the harness fixture API: server.port(s), .domain, .adduser(),
.ctl(), .redis(), .raw(), .log().
"""

import asyncio

import pytest
from slixmpp.exceptions import IqError

try:                                    # tests/proto as a package
    from . import clients as C
    from .harness import digest, to_xml
except ImportError:                     # tests/proto on sys.path (rootdir-less)
    import clients as C
    from harness import digest, to_xml

OLD = 'old horse battery staple'
NEW = 'new horse battery staple'
MECHS = ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'PLAIN']
NS_REGISTER = 'jabber:iq:register'
NS_AUTH = 'jabber:iq:auth'
NS_STREAMS = 'http://etherx.jabber.org/streams'
PASSWORD_MAX = 511                      # ACCOUNT_PASSWORD_MAX


@pytest.fixture
def alice(server):
    bare = 'alice@' + server.domain
    server.adduser(bare, OLD)
    return bare


def describe(server, what=None):
    return '%r\n--- handler log (tail) ---\n%s' % (what, server.log()[-3000:])


def logs_in(server, bare, password, mech, listener=0):
    o = C.login_once(server.ports[listener], bare + '/check', password, mech=mech)
    assert not o.timed_out, describe(server, o)
    return o.session_started


async def change(c, password):
    """change_password as slixmpp sends it: ('result', None) or
    ('error', condition)."""
    try:
        await c.xmpp['xep_0077'].change_password(password, timeout=10)
        return ('result', None)
    except IqError as e:
        return ('error', e.iq['error']['condition'])


def user_keys(server, bare):
    return sorted(server.redis('KEYS', 'xmpp:{%s}*' % bare) or [])


def digest_login(server, bare, password):
    """XEP-0078 digest login on a raw stream: the IQ's type."""
    node = bare.split('@')[0]
    r = server.raw()
    r.send("<stream:stream to='%s' xmlns='jabber:client' xmlns:stream='%s' "
           "version='1.0'>" % (server.domain, NS_STREAMS))
    ev, header = r.next()
    assert ev == 'header', (ev, header)
    sid = header.get('id')
    ev, features = r.next()
    assert ev == 'element', (ev, features)
    r.send("<iq type='set' id='d1'><query xmlns='%s'><username>%s</username>"
           "<digest>%s</digest><resource>old</resource></query></iq>"
           % (NS_AUTH, node, digest(sid, password)))
    ev, el = r.next()
    r.close()
    assert ev == 'element', (ev, el)
    return el.get('type')


# ---- the password ----

def test_change_password_other_session_goes_on(server, alice):
    """The new password logs in with every mechanism, the old one with
    none; another session of the user keeps running meanwhile."""
    async def go():
        a = await C.login(server.port, alice + '/one', OLD, mech='SCRAM-SHA-256',
                          plugins=['xep_0077'])
        b = await C.login(server.port, alice + '/two', OLD, mech='SCRAM-SHA-1',
                          plugins=['xep_0199'])
        assert a.outcome.session_started and b.outcome.session_started, \
            describe(server, (a.outcome, b.outcome))
        got = await change(a, NEW)
        await asyncio.sleep(0.3)
        pong = await b.ping()
        return got, pong, b.connected, a.connected
    got, pong, b_alive, a_alive = C.run(go, timeout=60)
    assert got == ('result', None), describe(server, got)
    assert a_alive and b_alive, describe(server, (a_alive, b_alive))
    assert pong[0] == 'result', describe(server, pong)
    for mech in MECHS:
        assert logs_in(server, alice, NEW, mech), describe(server, mech)
        assert not logs_in(server, alice, OLD, mech), describe(server, mech)
    acct = server.redis('HGETALL', 'xmpp:{%s}:account' % alice)
    assert 'digest-secret' not in acct, acct          # none before, none after


def test_password_change_kicks(server_factory):
    """password_change_kicks = yes: the user's other sessions end with
    <not-authorized/>, the one that changed the password goes on."""
    server = server_factory(password_change_kicks=True)
    bare = 'alice@' + server.domain
    server.adduser(bare, OLD)

    async def go():
        a = await C.login(server.port, bare + '/one', OLD, plugins=['xep_0077', 'xep_0199'])
        b = await C.login(server.port, bare + '/two', OLD)
        assert a.outcome.session_started and b.outcome.session_started
        got = await change(a, NEW)
        eb = await b.wait_stream_error()
        pong = await a.ping()
        return got, eb, pong
    got, eb, pong = C.run(go, timeout=60)
    assert got == ('result', None), describe(server, got)
    assert eb == 'not-authorized', describe(server, eb)
    assert pong[0] == 'result', describe(server, pong)
    assert logs_in(server, bare, NEW, 'SCRAM-SHA-256'), describe(server)


def test_get_says_registered(server, alice):
    async def go():
        c = await C.login(server.port, alice + '/get', OLD, plugins=['xep_0077'])
        iq = await c.xmpp['xep_0077'].get_registration(timeout=10)
        return iq['register']['registered'], iq['register']['username']
    registered, username = C.run(go, timeout=40)
    assert registered and username == 'alice', (registered, username)


# (An empty <password/> is transcripts/register-password-errors.xmpp:
# slixmpp leaves an empty password out, which is <bad-request/>.)
@pytest.mark.parametrize('password', [
    'x' * (PASSWORD_MAX + 1),            # longer than an account keeps
    '\u00ad\u00ad',                      # SASLprep maps it to nothing
    'pw\ue000',                          # SASLprep prohibits private use
])
def test_unacceptable_password(server, alice, password):
    async def go():
        c = await C.login(server.port, alice + '/bad', OLD, plugins=['xep_0077'])
        return await change(c, password)
    got = C.run(go, timeout=40)
    assert got == ('error', 'not-acceptable'), describe(server, got)
    assert logs_in(server, alice, OLD, 'SCRAM-SHA-256'), describe(server)


def test_longest_password(server, alice):
    longest = 'y' * PASSWORD_MAX

    async def go():
        c = await C.login(server.port, alice + '/long', OLD, plugins=['xep_0077'])
        return await change(c, longest)
    got = C.run(go, timeout=40)
    assert got == ('result', None), describe(server, got)
    assert logs_in(server, alice, longest, 'PLAIN'), describe(server)


def test_change_password_needs_tls(server_factory):
    """No TLS and no allow_plaintext_auth: <not-authorized/> (a password
    in the clear is refused as PLAIN is); nothing changes."""
    server = server_factory(allow_plaintext_auth=False)
    bare = 'alice@' + server.domain
    server.adduser(bare, OLD)

    async def go():
        c = await C.login(server.port, bare + '/plain', OLD, mech='SCRAM-SHA-1',
                          plugins=['xep_0077'], allow_plain=False)
        assert c.outcome.session_started, describe(server, c.outcome)
        return await change(c, NEW)
    got = C.run(go, timeout=40)
    assert got == ('error', 'not-authorized'), describe(server, got)
    assert logs_in(server, bare, OLD, 'SCRAM-SHA-1'), describe(server)


def test_two_listeners_share_the_change(server_factory):
    server = server_factory(listeners=2)
    bare = 'alice@' + server.domain
    server.adduser(bare, OLD)

    async def go():
        c = await C.login(server.ports[0], bare + '/here', OLD, plugins=['xep_0077'])
        return await change(c, NEW)
    got = C.run(go, timeout=40)
    assert got == ('result', None), describe(server, got)
    assert logs_in(server, bare, NEW, 'SCRAM-SHA-256', listener=1), describe(server)
    assert not logs_in(server, bare, OLD, 'SCRAM-SHA-256', listener=1), describe(server)


def test_legacy_digest_follows_the_change(server):
    """An account with a digest secret (xmppctl --legacy-digest) keeps
    XEP-0078 digest login, with the new password only."""
    bare = 'pandion@' + server.domain
    server.adduser(bare, OLD, legacy_digest=True)
    assert digest_login(server, bare, OLD) == 'result'

    async def go():
        c = await C.login(server.port, bare + '/new', OLD, plugins=['xep_0077'])
        return await change(c, NEW)
    got = C.run(go, timeout=40)
    assert got == ('result', None), describe(server, got)
    assert digest_login(server, bare, NEW) == 'result', describe(server)
    assert digest_login(server, bare, OLD) == 'error', describe(server)
    assert logs_in(server, bare, NEW, 'SCRAM-SHA-1'), describe(server)


# ---- removal ----

def test_remove_account(server, alice):
    """<remove/>: the result, then <not-authorized/> on this stream and
    on the user's other session; every key of the user is gone, and the
    password no longer logs in."""
    bob = 'bob@' + server.domain
    server.adduser(bob, OLD)
    assert server.ctl('roster', alice, 'add', bob).returncode == 0

    async def go():
        a = await C.login(server.port, alice + '/one', OLD, plugins=['xep_0077'])
        b = await C.login(server.port, alice + '/two', OLD)
        assert a.outcome.session_started and b.outcome.session_started
        try:
            await a.xmpp['xep_0077'].cancel_registration(timeout=10)
            got = 'result'
        except IqError as e:
            got = 'error:' + e.iq['error']['condition']
        ea = await a.wait_stream_error()
        eb = await b.wait_stream_error()
        gone = await a.wait_disconnected() and await b.wait_disconnected()
        return got, ea, eb, gone
    got, ea, eb, gone = C.run(go, timeout=60)
    assert got == 'result', describe(server, got)
    assert (ea, eb) == ('not-authorized', 'not-authorized'), describe(server, (ea, eb))
    assert gone, describe(server)
    assert C.poll(lambda: user_keys(server, alice) == [], timeout=5), \
        describe(server, user_keys(server, alice))
    assert alice not in server.ctl('users').stdout.split(), describe(server)
    assert bob in server.ctl('users').stdout.split()
    assert alice not in (server.redis('SMEMBERS', server.shard_key('online', alice)) or []), \
        describe(server)
    for mech in MECHS:
        assert not logs_in(server, alice, OLD, mech), describe(server, mech)
    assert logs_in(server, bob, OLD, 'SCRAM-SHA-1'), describe(server)


def test_remove_account_with_stream_management(server, alice):
    """A resumable session (XEP-0198) that removes its account is not
    kept for resumption: no key of the user is left behind."""
    try:
        from .im_helpers import raw_login, raw_wait
    except ImportError:
        from im_helpers import raw_login, raw_wait
    r, full = raw_login(server, alice, OLD, resource='sm')
    r.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
    raw_wait(r, lambda e: e.tag == '{urn:xmpp:sm:3}enabled')
    r.send("<iq type='set' id='rm'><query xmlns='%s'><remove/></query></iq>" % NS_REGISTER)
    res = raw_wait(r, lambda e: e.get('id') == 'rm')
    assert res.get('type') == 'result', to_xml(res)
    r.read_until_closed()
    assert C.poll(lambda: user_keys(server, alice) == [], timeout=5), \
        describe(server, user_keys(server, alice))
    assert alice not in (server.redis('SMEMBERS', server.shard_key('online', alice)) or []), \
        describe(server)
    assert not logs_in(server, alice, OLD, 'SCRAM-SHA-1'), describe(server)


# ---- in-band creation stays off ----

def test_no_registration_before_auth(server):
    """No register stream feature; a register IQ before authentication
    is <service-unavailable/> and creates nothing; the server's
    disco#info advertises jabber:iq:register (what a session can do)."""
    r = server.raw()
    features = r.open(server.domain)
    assert not [f for f in features if 'register' in f.tag], to_xml(features)
    r.send("<iq type='set' id='r1'><query xmlns='%s'><username>eve</username>"
           "<password>pw</password></query></iq>" % NS_REGISTER)
    ev, el = r.next()
    assert ev == 'element' and el.get('type') == 'error', (ev, el is not None and to_xml(el))
    assert el.find('.//{urn:ietf:params:xml:ns:xmpp-stanzas}service-unavailable') is not None, \
        to_xml(el)
    r.close()
    assert server.ctl('users').stdout.split() == []
    assert user_keys(server, 'eve@' + server.domain) == []

    bare = 'alice@' + server.domain
    server.adduser(bare, OLD)

    async def go():
        c = await C.login(server.port, bare + '/disco', OLD, plugins=['xep_0030'])
        info = await c.disco_info(server.domain)
        return set(info['features'])
    assert NS_REGISTER in C.run(go, timeout=40)
