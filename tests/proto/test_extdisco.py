"""XEP-0215 External Service Discovery (urn:xmpp:extdisco:2) against a
real coturn: the services of the configuration, TURN credentials derived
from turn_secret, and whether that coturn, started here with the same
secret (use-auth-secret, static-auth-secret), accepts them unchanged for
a TURN allocation (turn_client.py speaks RFC 8656 and RFC 8489's
long-term credentials). Wrong, foreign or expired credentials are
refused with 401. turn_secret_file is read, under the handler's
sandbox, for each request. Also: the disco#info feature only with services
configured, the type filter, the credentials request (XEP-0215 3.3) and
its errors, and no answer before authentication.

coturn comes from Debian's coturn package (tests/deps.sh installs it);
it runs on 127.0.0.1 on a private port, logs to a file in its temporary
folder and is stopped by its PID.
"""
import base64
import calendar
import hashlib
import hmac
import os
import shutil
import socket
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

from harness import NS_STANZA_ERR, NS_STREAMS, NS_STREAM_ERR, to_xml
from im_helpers import (PW, NS_DISCO_INFO, iq_outcome as outcome, online, q, raw_login,
                        raw_wait, is_)
import clients as C
import turn_client as T

NS = 'urn:xmpp:extdisco:2'
ALICE = 'alice@localhost'
SECRET = 'xmppd test secret'       # a blank inside: taken as written
REALM = 'xmppd.test'
TTL = 600                           # turn_ttl of these tests
TURNSERVER = '/usr/bin/turnserver'
START_WAIT = 10.0                   # seconds coturn may take to answer


def free_udp_port():
    """A port coturn can listen on: free for UDP and TCP, and so is the
    next one (its alternative listening port). The suite's other servers
    (Redis Cluster nodes and their bus ports among them) take TCP ports
    that a free UDP port says nothing of."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        if port < 65535 and all(_bindable(kind, p) for p in (port, port + 1)
                                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM)):
            return port


def _bindable(kind, port):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


class Coturn:
    """A turnserver on 127.0.0.1 with the TURN REST API secret: no config
    file, no TLS, no CLI, its database and log in a temporary folder."""

    def __init__(self, secret=SECRET):
        assert os.access(TURNSERVER, os.X_OK), \
            '%s missing: install Debian coturn (tests/deps.sh)' % TURNSERVER
        self.dir = tempfile.mkdtemp(prefix='xmppd-coturn-')
        self.log = os.path.join(self.dir, 'turn.log')
        self.port = free_udp_port()
        self.proc = subprocess.Popen(
            [TURNSERVER, '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1',
             '--listening-port=%d' % self.port, '--use-auth-secret',
             '--static-auth-secret=%s' % secret, '--realm=%s' % REALM,
             '--no-tls', '--no-dtls', '--no-cli', '--simple-log', '--no-stdout-log',
             '--log-file=%s' % self.log, '--db=%s' % os.path.join(self.dir, 'turndb'),
             '--pidfile=%s' % os.path.join(self.dir, 'turn.pid')],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, 'stderr'), 'w'), cwd=self.dir)
        deadline = time.monotonic() + START_WAIT
        while not T.binding('127.0.0.1', self.port):
            assert self.proc.poll() is None and time.monotonic() < deadline, \
                'coturn did not start:\n' + self.logs()
        self.addr = ('127.0.0.1', self.port)

    def logs(self):
        out = []
        for name in ('stderr', 'turn.log'):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    out.append(f.read()[-4000:])
            except OSError:
                pass
        return '\n'.join(out)

    def allocate(self, username, password):
        return T.allocate('127.0.0.1', self.port, username, password)

    def stop(self):
        self.proc.terminate()          # by its PID
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def coturn():
    c = Coturn()
    yield c
    c.stop()


def services_conf(port):
    return ['stun 127.0.0.1 %d udp' % port, 'turn 127.0.0.1 %d udp' % port,
            'turn 127.0.0.1 %d tcp' % port]


def credential(secret, username):
    """What coturn computes for username: base64(HMAC-SHA1(secret, username))."""
    return base64.b64encode(hmac.new(secret.encode(), username.encode(),
                                     hashlib.sha1).digest()).decode()


def iq_get(client, payload, to='localhost'):
    iq = client.xmpp.Iq()
    iq['type'] = 'get'
    if to:
        iq['to'] = to
    iq.append(payload)
    return outcome(iq.send(timeout=5))


def services_of(res, name='services'):
    assert res[0] == 'result', res
    el = res[1].xml.find(q(NS, name))
    assert el is not None, to_xml(res[1].xml)
    return [dict(s.attrib) for s in el.findall(q(NS, 'service'))]


def check_turn(svc, bare, now):
    """svc carries credentials for bare expiring turn_ttl from now."""
    expiry, _, who = svc['username'].partition(':')
    assert who == bare, svc
    assert abs(int(expiry) - (now + TTL)) <= 30, (svc, now)
    assert svc['password'] == credential(SECRET, svc['username']), svc
    assert calendar.timegm(time.strptime(svc['expires'], '%Y-%m-%dT%H:%M:%SZ')) == \
        int(expiry), svc
    assert svc.get('restricted') == '1', svc


def test_coturn_accepts_what_the_server_hands_out(server_factory, coturn):
    server = server_factory(extdisco_service=services_conf(coturn.port),
                            turn_secret=SECRET, turn_ttl=str(TTL))
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/call', plugins=['xep_0030'])
        info = await a.xmpp['xep_0030'].get_info(jid='localhost', timeout=5)
        seen['features'] = set(info['disco_info']['features'])
        seen['all'] = await iq_get(a, ET.Element(q(NS, 'services')))
        seen['noto'] = await iq_get(a, ET.Element(q(NS, 'services')), to=None)
        seen['stun'] = await iq_get(a, ET.Element(q(NS, 'services'), type='stun'))
        seen['turns'] = await iq_get(a, ET.Element(q(NS, 'services'), type='turns'))
        cred = ET.Element(q(NS, 'credentials'))
        ET.SubElement(cred, q(NS, 'service'), type='turn', host='127.0.0.1')
        seen['cred'] = await iq_get(a, cred)
        await a.close()
    now = int(time.time())
    C.run(go, timeout=40)

    assert NS in seen['features'], seen['features']
    svcs = services_of(seen['all'])
    assert [(s['type'], s['host'], s['port'], s['transport']) for s in svcs] == [
        ('stun', '127.0.0.1', str(coturn.port), 'udp'),
        ('turn', '127.0.0.1', str(coturn.port), 'udp'),
        ('turn', '127.0.0.1', str(coturn.port), 'tcp')], svcs
    assert 'username' not in svcs[0] and 'password' not in svcs[0], svcs[0]
    for s in svcs[1:]:
        check_turn(s, ALICE, now)
    assert [s['type'] for s in services_of(seen['noto'])] == ['stun', 'turn', 'turn']
    assert [s['type'] for s in services_of(seen['stun'])] == ['stun']
    assert services_of(seen['turns']) == []
    cred = services_of(seen['cred'], 'credentials')
    assert len(cred) == 1 and cred[0]['host'] == '127.0.0.1', cred
    check_turn(cred[0], ALICE, now)

    # The point: coturn takes them as they are ...
    for s in (svcs[1], cred[0]):
        assert coturn.allocate(s['username'], s['password']) == (0, ''), coturn.logs()
    # ... and refuses them changed: another password, another user, a
    # later expiry than the one signed.
    user, pw = svcs[1]['username'], svcs[1]['password']
    expiry = int(user.split(':')[0])
    assert coturn.allocate(user, ('B' if pw[0] == 'A' else 'A') + pw[1:])[0] == 401
    assert coturn.allocate('%d:bob@localhost' % expiry, pw)[0] == 401
    assert coturn.allocate('%d:%s' % (expiry + 1, ALICE), pw)[0] == 401
    # expired: signed correctly, but the time has passed
    old = '%d:%s' % (now - 60, ALICE)
    assert coturn.allocate(old, credential(SECRET, old))[0] == 401


def test_another_secret_is_refused(server_factory, coturn):
    """A server whose turn_secret is not coturn's hands out credentials
    that coturn refuses: the secret is what makes them valid."""
    server = server_factory(extdisco_service='turn 127.0.0.1 %d udp' % coturn.port,
                            turn_secret='not the same', turn_ttl=str(TTL))
    server.adduser(ALICE, PW)
    r, _ = raw_login(server, ALICE)
    r.send("<iq type='get' id='s1'><services xmlns='%s'/></iq>" % NS)
    el = raw_wait(r, is_('iq', id='s1'))
    s = el.find('%s/%s' % (q(NS, 'services'), q(NS, 'service')))
    assert s is not None, to_xml(el)
    assert s.get('password') == credential('not the same', s.get('username')), to_xml(el)
    assert coturn.allocate(s.get('username'), s.get('password'))[0] == 401, coturn.logs()


def raw_turn_service(r, id):
    """The first <service/> of a <services/> get on Raw client r."""
    r.send("<iq type='get' id='%s'><services xmlns='%s' type='turn'/></iq>" % (id, NS))
    el = raw_wait(r, is_('iq', id=id))
    s = el.find('%s/%s' % (q(NS, 'services'), q(NS, 'service')))
    assert s is not None, to_xml(el)
    return s


def test_secret_file(server_factory, coturn, tmp_path):
    """turn_secret_file outside every folder the handler reads anyway:
    the sandbox lets it in, it is read for each request (a new secret
    counts at once), and a file gone fails the request, logged."""
    secret = tmp_path / 'turn-secret'
    secret.write_text(SECRET + '\n')
    server = server_factory(extdisco_service='turn 127.0.0.1 %d udp' % coturn.port,
                            turn_secret_file=str(secret))
    server.adduser(ALICE, PW)
    r, _ = raw_login(server, ALICE)
    s = raw_turn_service(r, 's1')
    assert s.get('password') == credential(SECRET, s.get('username')), to_xml(s)
    assert coturn.allocate(s.get('username'), s.get('password')) == (0, ''), coturn.logs()

    secret.write_text('renewed\n')
    s = raw_turn_service(r, 's2')
    assert s.get('password') == credential('renewed', s.get('username')), to_xml(s)
    assert coturn.allocate(s.get('username'), s.get('password'))[0] == 401

    secret.unlink()
    r.send("<iq type='get' id='s3'><services xmlns='%s'/></iq>" % NS)
    el = raw_wait(r, is_('iq', id='s3'))
    assert error_of(el) == ('wait', 'internal-server-error'), to_xml(el)


def error_of(el):
    """(type, condition) of an IQ error."""
    e = el.find(q('jabber:client', 'error'))
    assert el.get('type') == 'error' and e is not None, to_xml(el)
    conds = [c.tag.split('}')[1] for c in e if c.tag.startswith('{%s}' % NS_STANZA_ERR)
             and not c.tag.endswith('}text')]
    return e.get('type'), conds[0]


def test_errors(server_factory):
    server = server_factory(extdisco_service=['stun stun.example 3478 udp',
                                              'turn turn.example 3478 udp'],
                            turn_secret=SECRET)
    server.adduser(ALICE, PW)
    r, full = raw_login(server, ALICE)
    cases = [
        # (request payload, to, type, expected error)
        ("<credentials xmlns='%s'><service type='turn' host='other.example'/></credentials>"
         % NS, None, 'get', ('cancel', 'item-not-found')),
        ("<credentials xmlns='%s'><service type='turn' host='turn.example' port='3479'/>"
         "</credentials>" % NS, None, 'get', ('cancel', 'item-not-found')),
        ("<credentials xmlns='%s'><service type='stun' host='stun.example'/></credentials>"
         % NS, None, 'get', ('cancel', 'item-not-found')),
        ("<credentials xmlns='%s'><service host='turn.example'/></credentials>" % NS,
         None, 'get', ('modify', 'bad-request')),
        ("<credentials xmlns='%s'/>" % NS, None, 'get', ('modify', 'bad-request')),
        ("<credentials xmlns='%s'><server type='turn' host='turn.example'/></credentials>"
         % NS, None, 'get', ('modify', 'bad-request')),
        ("<credentials xmlns='%s'><service type='turn' host='turn.example' port='x'/>"
         "</credentials>" % NS, None, 'get', ('modify', 'bad-request')),
        ("<services xmlns='%s'/>" % NS, None, 'set', ('cancel', 'service-unavailable')),
        ("<services xmlns='%s'/>" % NS, ALICE, 'get', ('cancel', 'service-unavailable')),
        ("<other xmlns='%s'/>" % NS, None, 'get', ('cancel', 'service-unavailable')),
    ]
    for i, (payload, to, typ, want) in enumerate(cases):
        r.send("<iq type='%s' id='e%d'%s>%s</iq>" % (typ, i, " to='%s'" % to if to else '',
                                                    payload))
        el = raw_wait(r, is_('iq', id='e%d' % i))
        assert error_of(el) == want, (payload, to_xml(el))
    # with the port it names, the service is found
    r.send("<iq type='get' id='ok'><credentials xmlns='%s'><service type='turn' "
           "host='turn.example' port='3478'/></credentials></iq>" % NS)
    el = raw_wait(r, is_('iq', id='ok'))
    assert el.get('type') == 'result', to_xml(el)
    s = el.find('%s/%s' % (q(NS, 'credentials'), q(NS, 'service')))
    assert s is not None and s.get('username', '').endswith(':' + ALICE), to_xml(el)


def test_not_offered_without_services(server):
    """No extdisco_service line: no disco#info feature, no answer but
    service-unavailable (a turn_secret alone announces nothing)."""
    server.adduser(ALICE, PW)
    r, _ = raw_login(server, ALICE)
    r.send("<iq type='get' id='d1'><query xmlns='%s'/></iq>" % NS_DISCO_INFO)
    el = raw_wait(r, is_('iq', id='d1'))
    feats = [f.get('var') for f in el.iter(q(NS_DISCO_INFO, 'feature'))]
    assert 'urn:xmpp:ping' in feats and NS not in feats, feats
    r.send("<iq type='get' id='s1'><services xmlns='%s'/></iq>" % NS)
    el = raw_wait(r, is_('iq', id='s1'))
    assert error_of(el) == ('cancel', 'service-unavailable'), to_xml(el)


def test_nothing_before_authentication(server_factory):
    """Credentials are for users: before authentication the request
    ends the stream (not-authorized), with nothing handed out."""
    server = server_factory(extdisco_service='turn turn.example 3478 udp', turn_secret=SECRET)
    r = server.raw()
    r.open(server.domain)
    r.send("<iq type='get' id='s1'><services xmlns='%s'/></iq>" % NS)
    ev, el = r.next()
    assert ev == 'element' and el.tag == q(NS_STREAMS, 'error'), (ev, el is not None and to_xml(el))
    assert el.find(q(NS_STREAM_ERR, 'not-authorized')) is not None, to_xml(el)
