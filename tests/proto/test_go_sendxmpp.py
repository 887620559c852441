"""go-sendxmpp (Debian's package, built on the go-xmpp library) as a third
party client: it sends a newline after </auth> and <starttls/> and opens
each restarted stream with an XML declaration, which once broke its
logins. It refuses to authenticate without TLS, so both deployments have
a certificate (checked by go-sendxmpp against our test CA through
SSL_CERT_FILE): STARTTLS optional with plaintext authentication allowed
(as `make run` serves), and STARTTLS required.

Its listening mode (-l) is not tested: go-sendxmpp 0.5.6 (Debian 12)
dies on any XEP-0199 ping it receives (a nil dereference in its stanza
loop), and xmppd pings a client to confirm the messages it was sent (a
second after writing them, so a go-sendxmpp that only sends, even to
itself, is gone before that).
"""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import clients as C
from im_helpers import IM, PW, body_is, stamp_epoch
from test_tls import PKI, without_channel_binding

ALICE, BOB = 'alice@localhost', 'bob@localhost'
GO_SENDXMPP = shutil.which('go-sendxmpp')


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    return PKI(str(tmp_path_factory.mktemp('pki')))


@pytest.fixture(params=['starttls-optional', 'starttls-required'])
def deployment(request, server_factory, pki, tmp_path):
    """A certificate for localhost (go-sendxmpp refuses to authenticate
    without TLS), with plaintext authentication allowed (as `make run`
    serves) or with STARTTLS required."""
    if GO_SENDXMPP is None:
        pytest.fail('go-sendxmpp is missing (Debian package go-sendxmpp; tests/deps.sh)')
    s = server_factory(tls_cert=pki.localhost.cert, tls_key=pki.localhost.key,
                       allow_plaintext_auth=request.param == 'starttls-optional')
    s.adduser(ALICE, PW)
    s.adduser(BOB, PW)
    env = dict(os.environ, HOME=str(tmp_path), SSL_CERT_FILE=pki.cafile)
    return s, env


def go_args(server, jid):
    return [GO_SENDXMPP, '-u', jid, '-p', PW, '-j', 'localhost:%d' % server.port,
            '--timeout', '10']


async def slixmpp_online(server, pki, jid):
    """An IM client (slixmpp) through STARTTLS with our certificate
    trusted, available."""
    c = IM(jid, PW)
    without_channel_binding(c)
    c.xmpp.ca_certs = pki.localhost.cert
    c.xmpp.connect(address=('127.0.0.1', server.port), force_starttls=True,
                   disable_starttls=False)
    await C.asyncio.wait_for(C.asyncio.shield(c._done), 15)
    assert c.outcome.session_started, c.outcome
    c.xmpp.send_presence()
    return c


async def go_send(server, env, to, body):
    """go-sendxmpp, as alice, sends body to `to`; its exit status and output."""
    proc = await C.asyncio.create_subprocess_exec(
        *go_args(server, ALICE), to, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = await C.asyncio.wait_for(proc.communicate(body.encode() + b'\n'), 30)
    return proc.returncode, out.decode(errors='replace')


def test_go_sendxmpp_sends(deployment, pki):
    """go-sendxmpp logs in as alice (STARTTLS, SASL, a restart after each)
    and sends bob a message; bob (slixmpp) receives it from alice."""
    server, env = deployment
    seen = {}

    async def go():
        b = await slixmpp_online(server, pki, BOB + '/b1')
        seen['rc'], seen['out'] = await go_send(server, env, BOB, 'hello from go-sendxmpp')
        m = await b.wait1(body_is('hello from go-sendxmpp'), timeout=10)
        seen['from'] = m.get('from')
        await b.close()
    C.run(go, timeout=60)

    assert seen['rc'] == 0, seen
    assert (seen['from'] or '').startswith(ALICE + '/go-sendxmpp'), seen
    log = server.log()
    assert log.count('login ok') == 2 and log.count('TLS TLSv1.3') == 2, log[-3000:]
    assert 'stream error' not in log, log[-3000:]


def test_go_sendxmpp_to_itself(deployment, pki):
    """The common notification setup: go-sendxmpp sends to its own account,
    whose other resource (slixmpp) gets the message, once. go-sendxmpp's
    session is available, so its own message comes back to it too; it
    then drops the connection without closing its stream. Its own echo is
    not kept for a second delivery (the other resources have theirs), so
    xmppd neither pings it for that (go-sendxmpp 0.5.6 dies on a ping:
    exit status 2) nor routes it again (a duplicate on the phone, or an
    offline copy at the next login): route_stanza.lua marked it an echo."""
    server, env = deployment
    seen = {}

    async def go():
        a = await slixmpp_online(server, pki, ALICE + '/phone')
        seen['rc'], seen['out'] = await go_send(server, env, ALICE, 'note to self')
        m = await a.wait1(body_is('note to self'), timeout=10)
        seen['from'] = m.get('from')
        # its handler is done (anything it routed again has arrived)
        await C.apoll(lambda: re.search(r"disconnect: .* jid=%s/go-sendxmpp" % ALICE,
                                        server.log()), 10)
        await C.asyncio.sleep(0.5)
        seen['copies'] = len(a.seen(body_is('note to self')))
        await a.close()
    C.run(go, timeout=60)

    assert seen['rc'] == 0, seen
    assert (seen['from'] or '').startswith(ALICE + '/go-sendxmpp'), seen
    assert seen['copies'] == 1, seen
    server.wait_handlers_exit()
    # nothing was left unconfirmed for the next login
    assert server.redis('LLEN', 'xmpp:{%s}:offline' % ALICE) == 0


def test_go_sendxmpp_to_itself_alone(deployment, pki):
    """The same note while no other resource of the account is online:
    go-sendxmpp's own copy is the only one. It drops the connection
    without confirming it, so the copy is routed again, to offline
    storage, and the phone gets it at its next login with the time the
    note was sent."""
    server, env = deployment
    seen = {}
    t0 = time.time()
    sender = subprocess.run(go_args(server, ALICE) + [ALICE], input=b'note to self\n',
                            env=env, capture_output=True, timeout=30)
    assert sender.returncode == 0, (sender.stdout + sender.stderr).decode(errors='replace')
    server.wait_handlers_exit()
    assert server.redis('LLEN', 'xmpp:{%s}:offline' % ALICE) == 1, server.log()[-3000:]

    async def go():
        a = await slixmpp_online(server, pki, ALICE + '/phone')
        m = await a.wait1(body_is('note to self'), timeout=10)
        d = m.find('{urn:xmpp:delay}delay')
        seen['stamp'] = None if d is None else stamp_epoch(d.get('stamp'))
        await a.close()
    C.run(go, timeout=60)
    assert seen['stamp'] is not None and seen['stamp'] <= t0 + 2, (t0, seen)
