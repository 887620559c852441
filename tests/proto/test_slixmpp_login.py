"""Login, binding and session bookkeeping as seen by a third-party client
library: slixmpp (Debian's python3-slixmpp), over plain TCP.

Uses only the harness fixture API: server.port, .domain, .conf_path,
.adduser(), .ctl(), .redis(), .log().
"""

import asyncio
import socket

import pytest

try:                                    # tests/proto as a package
    from . import clients as C
except ImportError:                     # tests/proto on sys.path (rootdir-less)
    import clients as C

PASSWORD = 'correct horse battery staple'
MECHS = ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'PLAIN']


@pytest.fixture
def alice(server):
    """alice@<domain>'s bare JID on a server where she has an account."""
    bare = 'alice@' + server.domain
    server.adduser(bare, PASSWORD)
    return bare


# ---- helpers over the fixture API ----

def ctl_sessions(server, *args):
    """`xmppctl sessions [JID]` as {'bare/resource': {key: value}}."""
    p = server.ctl('sessions', *args)
    assert p.returncode == 0, 'xmppctl sessions failed: rc=%r stderr=%r' % (
        p.returncode, p.stderr)
    out = {}
    for line in p.stdout.splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        first, _, rest = line.strip().partition(' ')
        out[first] = C.parse_session_record(rest)
    return out


def expected_host(server):
    """hostname from the configuration, else the system's host name."""
    try:
        with open(server.conf_path) as f:
            for line in f:
                k, sep, v = line.partition('=')
                if sep and k.strip() == 'hostname' and v.strip():
                    return v.strip()
    except OSError:
        pass
    return socket.gethostname()


def describe(server, outcome=None):
    """Context for an assertion message: the outcome and the handler log."""
    tail = server.log()[-3000:]
    return '%r\n--- handler log (tail) ---\n%s' % (outcome, tail)


# ---- login ----

@pytest.mark.parametrize('mech', MECHS)
def test_login_succeeds_and_binds(server, alice, mech):
    resource = 'slix-' + mech.lower()
    o = C.login_once(server.port, alice + '/' + resource, PASSWORD, mech=mech)
    assert not o.timed_out, describe(server, o)
    assert mech in o.offered_mechs, describe(server, o)
    assert o.auth_success and o.mechanism == mech, describe(server, o)
    assert o.failed_auth == [], describe(server, o)
    assert o.session_started, describe(server, o)
    assert o.bound_jid == '%s/%s' % (alice, resource), describe(server, o)


def test_offered_mechanisms(server, alice):
    """Both SCRAM variants always; PLAIN where plaintext auth is allowed
    (the test server allows it)."""
    o = C.login_once(server.port, alice + '/offer', PASSWORD)
    assert o.session_started, describe(server, o)
    assert set(MECHS) <= set(o.offered_mechs), o.offered_mechs
    # slixmpp picks the strongest offered one
    assert o.mechanism == 'SCRAM-SHA-256', o


def test_login_without_resource_gets_one(server, alice):
    """A client that asks for no resource is given one (RFC 6120 7.6)."""
    o = C.login_once(server.port, alice, PASSWORD, mech='SCRAM-SHA-1')
    assert o.session_started, describe(server, o)
    bare, slash, res = (o.bound_jid or '').partition('/')
    assert bare == alice and slash and res, o.bound_jid


@pytest.mark.parametrize('mech', [None] + MECHS)
def test_wrong_password_fails(server, alice, mech):
    """Every attempt is refused with not-authorized, the session never
    starts and the connection ends; nothing is registered in Redis. With
    no mechanism forced slixmpp tries each offered one on the same stream,
    which also checks that a failure does not end the stream."""
    o = C.login_once(server.port, alice + '/bad', 'not the password', mech=mech)
    assert not o.timed_out, describe(server, o)
    assert not o.session_started and not o.auth_success, describe(server, o)
    assert o.failed_auth, describe(server, o)
    assert all(c == 'not-authorized' for c in o.failed_auth), o.failed_auth
    assert o.failed_all_auth, o
    assert o.disconnected, o
    if mech is None:
        assert sorted(o.failed_mechs) == sorted(MECHS), o
    else:
        assert o.failed_mechs == [mech], o
    assert C.redis_sessions(server, alice) == {}


def test_unknown_user_fails(server, alice):
    o = C.login_once(server.port, 'nobody@%s/x' % server.domain, PASSWORD,
                     mech='SCRAM-SHA-256')
    assert not o.session_started, describe(server, o)
    assert o.failed_auth == ['not-authorized'], o
    assert o.disconnected, o


# ---- after login ----

def test_disco_info_and_ping(server, alice):
    async def go():
        c = await C.login(server.port, alice + '/disco', PASSWORD,
                          mech='SCRAM-SHA-1', plugins=['xep_0030', 'xep_0199'])
        assert c.outcome.session_started, describe(server, c.outcome)
        info = await c.disco_info(server.domain)
        identities = {(i[0], i[1]) for i in info['identities']}
        features = set(info['features'])
        ping = await c.ping(server.domain)
        ping_no_to = await c.ping('')
        closed = await c.close()
        return identities, features, ping, ping_no_to, closed
    identities, features, ping, ping_no_to, closed = C.run(go, timeout=40)
    assert ('server', 'im') in identities, identities
    assert 'http://jabber.org/protocol/disco#info' in features, features
    assert 'urn:xmpp:ping' in features, features
    kind, rtt = ping
    assert kind == 'result', ping
    assert rtt < 5, ping
    assert ping_no_to[0] == 'result', ping_no_to   # <iq/> without 'to'
    assert closed, 'server did not close the stream after </stream:stream>'


@pytest.mark.parametrize('how', ['close', 'drop'])
def test_session_in_redis_and_ctl_while_connected(server, alice, how):
    """While bound, the session is in Redis (resource -> id host pid ...)
    and in `xmppctl sessions`; it is gone within seconds after the client
    closes its stream ('close') or just drops TCP ('drop')."""
    resource = 'desk-' + how
    full = alice + '/' + resource
    seen = {}

    async def go():
        c = await C.login(server.port, full, PASSWORD, mech='SCRAM-SHA-256')
        assert c.outcome.session_started, describe(server, c.outcome)
        seen['redis'] = C.redis_sessions(server, alice)
        seen['ctl'] = ctl_sessions(server)
        seen['ctl_jid'] = ctl_sessions(server, alice)
        seen['stream_id'] = c.outcome.stream_id
        seen['running'] = {int(C.parse_session_record(r).get('pid', 0)):
                           C.handler_running(C.parse_session_record(r).get('pid', 0))
                           for r in seen['redis'].values()}
        if how == 'close':
            seen['closed'] = await c.close()
        else:
            c.drop()
            seen['closed'] = True
    C.run(go, timeout=40)

    sessions = seen['redis']
    assert resource in sessions, describe(server, sessions)
    rec = C.parse_session_record(sessions[resource])
    assert rec.get('id'), rec
    assert rec['id'] == seen['stream_id'], (rec, seen['stream_id'])
    assert rec.get('host') == expected_host(server), rec
    pid = int(rec.get('pid', '0'))
    assert pid > 0, rec
    # the record names the handler process serving this very connection
    assert seen['running'].get(pid), 'pid %d in the record is no running xmpp-handler' % pid

    assert full in seen['ctl'], seen['ctl']
    assert seen['ctl'][full].get('pid') == rec['pid'], (seen['ctl'], rec)
    assert seen['ctl'][full].get('host') == rec['host'], (seen['ctl'], rec)
    assert full in seen['ctl_jid'], seen['ctl_jid']

    assert seen['closed'], 'server did not close the stream after </stream:stream>'
    gone = C.poll(lambda: resource not in C.redis_sessions(server, alice), timeout=5)
    assert gone, 'session still in Redis 5 s after %s: %r\n%s' % (
        how, C.redis_sessions(server, alice), server.log()[-2000:])
    assert full not in ctl_sessions(server), ctl_sessions(server)
    assert C.poll(lambda: not C.handler_running(pid), timeout=5), \
        'handler %d still running 5 s after %s' % (pid, how)


def test_same_resource_conflict_newest_wins(server, alice):
    """A second login with the same resource ends the first stream with
    <conflict/> (RFC 6120 7.7.2.2); the second stays connected and owns
    the session record, which the first handler's exit must not remove."""
    full = alice + '/phone'
    seen = {}

    async def go():
        first = await C.login(server.port, full, PASSWORD, mech='SCRAM-SHA-1',
                              plugins=['xep_0199'])
        assert first.outcome.session_started, describe(server, first.outcome)
        second = await C.login(server.port, full, PASSWORD, mech='PLAIN',
                               plugins=['xep_0199'])
        assert second.outcome.session_started, describe(server, second.outcome)
        seen['second_bound'] = second.outcome.bound_jid
        seen['cond'] = await first.wait_stream_error(timeout=10)
        seen['first_gone'] = await first.wait_disconnected(timeout=10)
        # give the first handler time to exit and clean up after itself
        await asyncio.sleep(1.0)
        seen['second_connected'] = second.connected
        seen['second_ping'] = await second.ping(server.domain)
        seen['sessions'] = C.redis_sessions(server, alice)
        seen['second_id'] = second.outcome.stream_id
        seen['first_id'] = first.outcome.stream_id
        seen['first_errors'] = list(first.outcome.stream_errors)
        seen['second_errors'] = list(second.outcome.stream_errors)
        await second.close()
    C.run(go, timeout=60)

    assert seen['second_bound'] == full, seen
    assert seen['cond'] == 'conflict', describe(server, seen)
    assert seen['first_gone'], 'first client still connected after <conflict/>'
    assert seen['second_errors'] == [], seen
    assert seen['second_connected'], 'second client lost its connection: %r' % seen
    assert seen['second_ping'][0] == 'result', seen
    assert seen['first_id'] != seen['second_id'], seen
    rec = C.parse_session_record(seen['sessions'].get('phone', ''))
    assert rec.get('id') == seen['second_id'], \
        'session record is not the second stream\'s: %r' % (seen,)
    assert C.poll(lambda: 'phone' not in C.redis_sessions(server, alice), timeout=5), \
        C.redis_sessions(server, alice)
