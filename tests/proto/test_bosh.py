"""XEP-0124/XEP-0206 XMPP over BOSH: xmpp-web on listener 1, xmpp-handler
(plain TCP) on listener 0. The BOSH client is written here on raw HTTP
(one request per connection, as xmpp-web answers), so that a test can
repeat a rid, hold a request open, or stop sending altogether.

slixmpp has no BOSH transport: the third-party client is Strophe.js (the
library JSXC and Converse.js use) in node, tests/clients/bosh.
"""
import base64
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

from harness import TIMEOUT, NS_SASL, wait_until
from im_helpers import PW, body_is, is_push, raw_login, raw_wait, roster_items, xmls
from test_tls import scram

ALICE, BOB = 'alice@localhost', 'bob@localhost'
NS_HTTPBIND = 'http://jabber.org/protocol/httpbind'
NS_XBOSH = 'urn:xmpp:xbosh'
NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind'
NS_CLIENT = 'jabber:client'
NS_STREAMS = 'http://etherx.jabber.org/streams'


def q(ns, name):
    return '{%s}%s' % (ns, name)


def bosh_server(server_factory, **conf):
    s = server_factory(listeners=2, listener_progs=[None, 'xmpp-web'], **conf)
    s.adduser(ALICE, PW)
    s.adduser(BOB, PW)
    return s


def post(port, body, method='POST', path='/http-bind', timeout=TIMEOUT, headers=None):
    """One HTTP request: (status, headers, body bytes)."""
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    h = {'Content-Type': 'text/xml; charset=utf-8'}
    h.update(headers or {})
    c.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


class Bosh:
    """A BOSH session driven by hand."""

    def __init__(self, port, rid=1000, wait=2, hold=1):
        self.port, self.rid, self.wait, self.hold = port, rid, wait, hold
        self.sid = None

    def body(self, children='', rid=None, **attrs):
        a = {'rid': str(self.rid if rid is None else rid)}
        if self.sid:
            a['sid'] = self.sid
        a.update(attrs)
        s = "<body xmlns='%s' xmlns:xmpp='%s'" % (NS_HTTPBIND, NS_XBOSH)
        for k, v in a.items():
            s += " %s='%s'" % (k, v)
        return s + '>' + children + '</body>' if children else s + '/>'

    def send(self, children='', rid=None, timeout=None, **attrs):
        """Send with the next rid (or rid): the answer's <body/> element.
        A request with nothing to answer is held for up to 'wait' seconds."""
        if timeout is None:
            timeout = self.wait + TIMEOUT
        if rid is None:
            self.rid += 1
        status, _, data = post(self.port, self.body(children, rid, **attrs), timeout=timeout)
        assert status == 200, (status, data)
        el = ET.fromstring(data)
        assert el.tag == q(NS_HTTPBIND, 'body'), data
        return el

    def create(self, to='localhost'):
        el = self.send(to=to, wait=str(self.wait), hold=str(self.hold), ver='1.11',
                       **{'xml:lang': 'en', 'xmpp:version': '1.0'})
        self.sid = el.get('sid')
        assert self.sid, ET.tostring(el)
        return el

    def login(self, user=ALICE, resource='web'):
        self.create()
        node = user.split('@')[0]
        plain = base64.b64encode(b'\0' + node.encode() + b'\0' + PW.encode()).decode()
        el = self.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, plain))
        assert el.find(q(NS_SASL, 'success')) is not None, ET.tostring(el)
        el = self.send(**{'xmpp:restart': 'true', 'to': 'localhost'})
        assert el.find('.//' + q(NS_BIND, 'bind')) is not None, ET.tostring(el)
        el = self.send("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='%s'>"
                       "<resource>%s</resource></bind></iq>" % (NS_BIND, resource))
        jid = el.find('.//' + q(NS_BIND, 'jid'))
        assert jid is not None, ET.tostring(el)
        return jid.text

    def wait_for(self, pred, timeout=TIMEOUT):
        """Poll (empty requests) until an answer holds a child matching pred."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            el = self.send()
            for ch in el:
                if pred(ch):
                    return ch
        raise AssertionError('nothing matching within %s s' % timeout)


def test_options_preflight(server_factory):
    s = bosh_server(server_factory)
    status, h, _ = post(s.ports[1], '', method='OPTIONS',
                        headers={'Origin': 'http://example.org',
                                 'Access-Control-Request-Method': 'POST'})
    assert status == 200
    assert h['access-control-allow-origin'] == '*'
    assert 'POST' in h['access-control-allow-methods']
    assert 'Content-Type' in h['access-control-allow-headers']
    status, h, _ = post(s.ports[1], '', method='GET')
    assert status == 405


def test_session_creation(server_factory):
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1], wait=200)
    el = b.create()
    assert el.get('wait') == '120'          # BOSH_WAIT_MAX
    assert el.get('hold') == '1' and el.get('requests') == '2'
    assert el.get('inactivity') == '60' and el.get('from') == 'localhost'
    assert el.get('authid')
    assert el.get(q(NS_XBOSH, 'version')) == '1.0'
    assert [m.text for m in el.iter(q(NS_SASL, 'mechanism'))] == \
        ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']
    key = s.redis('HGETALL', 'xmpp:bosh:' + b.sid)
    assert key, 'no session hash'


def test_bad_requests(server_factory):
    s = bosh_server(server_factory)
    status, _, data = post(s.ports[1], '<nonsense/>')
    assert status == 400 and b"condition='bad-request'" in data
    b = Bosh(s.ports[1])
    el = b.send(to='elsewhere.example')
    assert el.get('type') == 'terminate' and el.get('condition') == 'host-unknown'
    b.sid = 'no-such-session'
    el = b.send()
    assert el.get('type') == 'terminate' and el.get('condition') == 'item-not-found'


def test_login_message_both_ways_terminate(server_factory):
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1])
    full = b.login()
    assert full.startswith(ALICE + '/')
    bob, bob_full = raw_login(s, BOB)
    # BOSH -> TCP
    b.send("<message xmlns='jabber:client' to='%s' type='chat'><body>hi bob</body></message>"
           % bob_full)
    raw_wait(bob, body_is('hi bob'))
    # TCP -> BOSH: the request held until the message comes
    bob.send("<message to='%s' type='chat'><body>hi alice</body></message>" % full)
    m = b.wait_for(lambda ch: ch.tag == q(NS_CLIENT, 'message'))
    assert m.findtext(q(NS_CLIENT, 'body')) == 'hi alice'
    el = b.send(type='terminate')
    assert el.get('type') == 'terminate'
    assert not s.redis('EXISTS', 'xmpp:bosh:' + b.sid)


def send_in_background(b):
    """An empty request of b's, held by the server, in a thread: the
    thread, and a dict that gets its answer ('el') and its time ('t')."""
    got = {}

    def held():
        t0 = time.monotonic()
        got['el'] = b.send()
        got['t'] = time.monotonic() - t0

    t = threading.Thread(target=held)
    t.start()
    return t, got


def test_held_request_answered_when_message_comes(server_factory):
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1], wait=10)
    full = b.login()
    bob, _ = raw_login(s, BOB)
    t, got = send_in_background(b)
    time.sleep(1)
    bob.send("<message to='%s' type='chat'><body>while held</body></message>" % full)
    t.join(TIMEOUT)
    m = got['el'].find(q(NS_CLIENT, 'message'))
    assert m is not None and m.findtext(q(NS_CLIENT, 'body')) == 'while held'
    assert got['t'] < 5


def test_rid_replay(server_factory):
    """A repeated rid within the window gets the very answer again; one
    beyond the window ends the session."""
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1])
    full = b.login()
    bob, _ = raw_login(s, BOB)
    bob.send("<message to='%s' type='chat'><body>once</body></message>" % full)
    first = None
    deadline = time.monotonic() + TIMEOUT
    while first is None and time.monotonic() < deadline:
        b.rid += 1
        status, _, data = post(s.ports[1], b.body(), timeout=b.wait + TIMEOUT)
        if b'once' in data:
            first = data
    assert first, 'the message never came'
    status, _, again = post(s.ports[1], b.body(rid=b.rid), timeout=b.wait + TIMEOUT)
    assert status == 200 and again == first
    el = b.send(rid=b.rid + 5)              # outside the window: the session ends
    assert el.get('type') == 'terminate' and el.get('condition') == 'item-not-found'
    assert not s.redis('EXISTS', 'xmpp:bosh:' + b.sid)
    assert not s.redis('HGET', 'xmpp:{%s}:sessions' % ALICE, 'web')


# ---- Strophe.js, a third-party BOSH client (tests/clients/bosh) ----

CLIENT_DIR = os.path.join(os.path.dirname(__file__), '..', 'clients', 'bosh')


def strophe(*args):
    """Start tests/clients/bosh/strophe-bosh.cjs: a Popen on its JSON lines."""
    assert os.path.isdir(os.path.join(CLIENT_DIR, 'node_modules', 'strophe.js')), \
        'Strophe.js is not installed: tests/deps.sh runs npm ci in tests/clients/bosh'
    return subprocess.Popen(['node', 'strophe-bosh.cjs'] + [str(a) for a in args],
                            cwd=CLIENT_DIR, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def events(p, timeout=TIMEOUT * 4):
    out, _ = p.communicate(timeout=timeout)
    evs = [json.loads(ln) for ln in out.splitlines() if ln.startswith('{')]
    assert p.returncode == 0, out
    assert not [e for e in evs if e['ev'] == 'exception'], out
    return evs


def test_strophe_js_login_message_logout(server_factory):
    s = bosh_server(server_factory)
    bob, bob_full = raw_login(s, BOB)
    url = 'http://127.0.0.1:%d/http-bind' % s.ports[1]
    p = strophe('login', url, ALICE + '/strophe', PW, bob_full)
    m = raw_wait(bob, body_is('from strophe'), timeout=TIMEOUT * 4)
    assert m.get('from') == ALICE + '/strophe'
    bob.send("<message to='%s' type='chat'><body>to strophe</body></message>" % m.get('from'))
    evs = events(p)
    got = [e for e in evs if e['ev'] == 'message']
    assert got and got[0]['body'] == 'to strophe' and got[0]['from'] == bob_full, evs
    assert evs[-1] == {'ev': 'status', 'status': 6, 'cond': None}    # DISCONNECTED
    wait_until(lambda: not s.redis('HGET', 'xmpp:{%s}:sessions' % ALICE, 'strophe'),
               what='session ended')


def test_strophe_js_page_reload_attaches(server_factory):
    """JSXC's page reload: the page goes (its held request aborted) and
    the next one attaches with the sid and rid it kept; what came
    meanwhile is delivered to it, on whatever process serves it."""
    s = bosh_server(server_factory)
    bob, bob_full = raw_login(s, BOB)
    url = 'http://127.0.0.1:%d/http-bind' % s.ports[1]
    p = strophe('login', url, ALICE + '/strophe', PW, bob_full, 'reload')
    m = raw_wait(bob, body_is('from strophe'), timeout=TIMEOUT * 4)
    bob.send("<message to='%s' type='chat'><body>before reload</body></message>" % m.get('from'))
    evs = events(p)
    saved = [e for e in evs if e['ev'] == 'saved']
    assert saved, evs
    bob.send("<message to='%s' type='chat'><body>during reload</body></message>" % m.get('from'))
    sv = saved[0]
    p = strophe('attach', url, sv['jid'], sv['sid'], sv['rid'])
    evs = events(p)
    got = [e for e in evs if e['ev'] == 'message']
    assert got and got[0]['body'] == 'during reload', evs


def test_newer_request_releases_the_held_one(server_factory):
    """hold=1: a request held for want of output is answered (empty) as
    soon as the next one comes, which takes the session over."""
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1], wait=4)
    full = b.login()
    bob, bob_full = raw_login(s, BOB)
    t, got = send_in_background(b)
    time.sleep(1)
    el = b.send("<message xmlns='jabber:client' to='%s' type='chat'><body>next</body>"
                "</message>" % bob_full)    # rid + 1, while rid is held
    t.join(TIMEOUT)
    assert got['t'] < 3 and len(got['el']) == 0, (got, ET.tostring(got['el']))
    assert el.get('type') is None
    raw_wait(bob, body_is('next'))
    bob.send("<message to='%s' type='chat'><body>back</body></message>" % full)
    m = b.wait_for(lambda ch: ch.tag == q(NS_CLIENT, 'message'))
    assert m.findtext(q(NS_CLIENT, 'body')) == 'back'


def test_inactivity_ends_the_session_nothing_lost(server_factory):
    """No request for bosh_inactivity seconds: the session ends as any
    does. A message in an answer still in the rid window (not proven
    read) and one that came after go to offline storage, in order."""
    s = bosh_server(server_factory, bosh_inactivity=3, session_ttl=6)
    bob, _ = raw_login(s, BOB)
    b = Bosh(s.ports[1], wait=1)
    full = b.login()
    bob.send("<message to='%s' type='chat'><body>m1</body></message>" % full)
    m = b.wait_for(lambda ch: ch.tag == q(NS_CLIENT, 'message'), timeout=TIMEOUT * 3)
    assert m.findtext(q(NS_CLIENT, 'body')) == 'm1'
    bob.send("<message to='%s' type='chat'><body>m2</body></message>" % full)
    # The client is gone. Bob's handler reaps the session at its deadline.
    off = 'xmpp:{%s}:offline' % ALICE
    wait_until(lambda: s.redis('LLEN', off) == 2, timeout=20, what='both offline')
    got = s.redis('LRANGE', off, 0, -1)
    assert 'm1' in got[0] and 'm2' in got[1], got
    assert not s.redis('HGET', 'xmpp:{%s}:sessions' % ALICE, 'web')
    el = b.send()
    assert el.get('type') == 'terminate' and el.get('condition') == 'item-not-found'


def test_overtaking_request_waits_for_its_predecessor(server_factory):
    """XEP-0124 14: requests are handled in rid order. rid + 2 sent before
    rid + 1 (another connection was faster) waits for it; both stanzas
    reach Bob in rid order."""
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1], wait=2)
    b.login()
    bob, bob_full = raw_login(s, BOB)
    msg = "<message xmlns='jabber:client' to='%s' type='chat'><body>%s</body></message>"
    first, second = b.rid + 1, b.rid + 2
    got = {}

    def late():
        got['el'] = b.send(msg % (bob_full, 'second'), rid=second)

    t = threading.Thread(target=late)
    t.start()
    time.sleep(0.5)
    b.send(msg % (bob_full, 'first'), rid=first)
    t.join(TIMEOUT * 2)
    assert 'el' in got and got['el'].get('type') is None, got
    b.rid = second
    keep = []
    raw_wait(bob, body_is('second'), keep=keep)
    assert [m.findtext(q(NS_CLIENT, 'body')) for m in keep] == ['first'], keep


class BoshRaw:
    """A Bosh session as test_tls.scram's raw client: what it sends goes
    in one request, and the answer's children are what it reads."""

    def __init__(self, b):
        self.b, self.got = b, []

    def send(self, text):
        self.got += list(self.b.send(text))

    def next(self, timeout=None):
        return 'element', self.got.pop(0)


def test_scram_over_two_requests(server_factory):
    """SCRAM's server-first state does not outlive the request that made
    it: the next request does the first step again with the same nonce
    (sasl_restore), so the proof checks; a wrong one fails as on TCP."""
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1])
    b.create()
    assert scram(BoshRaw(b), 'alice', 'wrong', 'SCRAM-SHA-1') == ('failure', 'not-authorized')
    assert not s.redis('HGET', 'xmpp:bosh:' + b.sid, 'sasl')
    assert scram(BoshRaw(b), 'alice', PW, 'SCRAM-SHA-256') == ('success', True)
    el = b.send(**{'xmpp:restart': 'true', 'to': 'localhost'})
    assert el.find('.//' + q(NS_BIND, 'bind')) is not None, ET.tostring(el)


def test_wrong_password_then_right(server_factory):
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1])
    b.create()
    bad = base64.b64encode(b'\0alice\0wrong').decode()
    el = b.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, bad))
    f = el.find(q(NS_SASL, 'failure'))
    assert f is not None and f.find(q(NS_SASL, 'not-authorized')) is not None, \
        ET.tostring(el)
    good = base64.b64encode(b'\0alice\0' + PW.encode()).decode()
    el = b.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, good))
    assert el.find(q(NS_SASL, 'success')) is not None, ET.tostring(el)


def test_failed_logins_counted_per_session(server_factory):
    """As on any stream, a session has SASL_MAX_FAILURES (5) attempts:
    the fifth failure ends it with policy-violation, though each attempt
    was a request of its own."""
    s = bosh_server(server_factory, auth_fail_delay_ms=0)
    b = Bosh(s.ports[1])
    b.create()
    bad = base64.b64encode(b'\0alice\0wrong').decode()
    for i in range(4):
        el = b.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, bad))
        assert el.find(q(NS_SASL, 'failure')) is not None and el.get('type') is None, \
            ET.tostring(el)
    el = b.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, bad))
    assert el.get('type') == 'terminate' and el.get('condition') == 'remote-stream-error', \
        ET.tostring(el)
    assert el.find('.//{urn:ietf:params:xml:ns:xmpp-streams}policy-violation') is not None
    assert not s.redis('EXISTS', 'xmpp:bosh:' + b.sid)


def contacts_online(s):
    """Alice and Bob in each other's roster; Bob online over TCP,
    available: his raw connection and full JID."""
    for who, other in ((ALICE, BOB), (BOB, ALICE)):
        assert s.ctl('roster', who, 'add', other).returncode == 0
    bob, bob_full = raw_login(s, BOB)
    bob.send('<presence/>')
    return bob, bob_full


def test_contacts_presence_and_a_quiet_hold(server_factory):
    """With a contact online, a request with nothing new is still held for
    'wait' (a resumption does not send the contacts' presence again at
    every request); the contact sees the BOSH session come and go."""
    s = bosh_server(server_factory)
    bob, bob_full = contacts_online(s)
    b = Bosh(s.ports[1], wait=2)
    full = b.login()
    el = b.send("<presence xmlns='jabber:client'/>")
    raw_wait(bob, lambda e: e.tag == q(NS_CLIENT, 'presence') and e.get('from') == full)
    seen = list(el)
    deadline = time.monotonic() + TIMEOUT
    # the contact's presence, and the session's own (RFC 6121 4.2.2)
    while not (any(e.get('from') == bob_full for e in seen) and
               any(e.get('from') == full for e in seen)) and time.monotonic() < deadline:
        seen += list(b.send())
    assert any(e.tag == q(NS_CLIENT, 'presence') and e.get('from') == bob_full for e in seen)
    t0 = time.monotonic()
    el = b.send()
    assert len(el) == 0 and time.monotonic() - t0 >= 1.5, ET.tostring(el)
    b.send(type='terminate')
    el = raw_wait(bob, lambda e: e.tag == q(NS_CLIENT, 'presence') and e.get('from') == full)
    assert el.get('type') == 'unavailable'


def test_hold_zero_polls(server_factory):
    """hold='0': one request at a time, each answered at once."""
    s = bosh_server(server_factory)
    el = Bosh(s.ports[1], wait=5, hold=0).create()
    assert el.get('hold') == '0' and el.get('requests') == '1'
    b = Bosh(s.ports[1], wait=5, hold=0)
    b.login()
    t0 = time.monotonic()
    el = b.send()
    assert len(el) == 0 and time.monotonic() - t0 < 2


def test_broadcasts_between_requests_come_once_in_order(server_factory):
    """What travels only on the user's channel (a contact's presence, a
    roster push, a blocklist push) while no request of the session is
    open comes in the next answer, once, in order; a request taken over
    by the next one loses nothing either. The log is kept for the session
    and let go when it ends."""
    s = bosh_server(server_factory)
    bob, bob_full = contacts_online(s)
    b = Bosh(s.ports[1], wait=1)
    full = b.login()
    b.send("<iq xmlns='jabber:client' type='get' id='r1'>"
           "<query xmlns='jabber:iq:roster'/></iq>"
           "<iq xmlns='jabber:client' type='get' id='bl1'>"
           "<blocklist xmlns='urn:xmpp:blocking'/></iq>"
           "<presence xmlns='jabber:client'/>")
    got = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and not (
            any(e.get('id') == 'r1' for e in got) and any(e.get('id') == 'bl1' for e in got)
            and any(e.get('from') == bob_full for e in got)):
        got += list(b.send())
    assert s.redis('ZSCORE', 'xmpp:{%s}:bcastfor' % ALICE, b.sid), 'log kept'
    # No request open now: three broadcasts, and a message.
    for i in range(3):
        bob.send("<presence><status>s%d</status></presence>" % i)
    assert s.ctl('roster', ALICE, 'add', 'carol@localhost').returncode == 0
    alice2, _ = raw_login(s, ALICE, resource='tcp')
    alice2.send("<iq type='set' id='blk'><block xmlns='urn:xmpp:blocking'>"
                "<item jid='mallory@localhost'/></block></iq>")
    el = raw_wait(alice2, lambda e: e.get('id') == 'blk')
    assert el.get('type') == 'result', ET.tostring(el)
    bob.send("<message to='%s' type='chat'><body>after</body></message>" % full)
    time.sleep(0.5)
    seen = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and not any(
            e.tag == q(NS_CLIENT, 'message') for e in seen):
        seen += list(b.send())
    # One request taken over by the next, and two more polls: nothing twice.
    t, held = send_in_background(b)
    time.sleep(0.3)
    seen += list(b.send())
    t.join(TIMEOUT)
    seen += list(held['el'])
    seen += list(b.send())
    statuses = [e.findtext(q(NS_CLIENT, 'status')) for e in seen
                if e.tag == q(NS_CLIENT, 'presence') and e.get('from') == bob_full]
    assert statuses == ['s0', 's1', 's2'], xmls(seen)
    pushes = [e for e in seen if is_push(e)]
    assert len(pushes) == 1 and 'carol@localhost' in roster_items(pushes[0]), xmls(seen)
    blocks = [e for e in seen if e.find('{urn:xmpp:blocking}block') is not None]
    assert len(blocks) == 1, xmls(seen)
    assert len([e for e in seen if e.tag == q(NS_CLIENT, 'message')]) == 1, xmls(seen)
    b.send(type='terminate')
    assert not s.redis('ZSCORE', 'xmpp:{%s}:bcastfor' % ALICE, b.sid)


def test_repeated_rid_takes_over_the_held_request(server_factory):
    """XEP-0124 14.3: a request sent again while the server still holds it
    (the client lost that connection) takes its place: it is the one
    answered, under the same rid, when something comes. The same if the
    first copy's connection is already gone."""
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1], wait=6)
    full = b.login()
    bob, bob_full = raw_login(s, BOB)
    for n, drop_first in enumerate((False, True)):
        b.rid += 1
        first = {}

        def held():
            t0 = time.monotonic()
            try:
                first['data'] = post(s.ports[1], b.body(), timeout=1 if drop_first else 20)[2]
            except OSError:
                first['data'] = None          # the client gave up on it
            first['t'] = time.monotonic() - t0

        t = threading.Thread(target=held)
        t.start()
        time.sleep(1.5)
        again, retry = {}, threading.Thread(
            target=lambda: again.update(el=b.send(rid=b.rid, timeout=20)))
        retry.start()
        time.sleep(1)
        bob.send("<message to='%s' type='chat'><body>to the retry %d</body></message>"
                 % (full, n))
        retry.join(TIMEOUT)
        t.join(TIMEOUT)
        m = again['el'].find(q(NS_CLIENT, 'message'))
        assert m is not None and m.findtext(q(NS_CLIENT, 'body')) == 'to the retry %d' % n, \
            ET.tostring(again['el'])
        if not drop_first:
            # the first copy was let go, empty, when the retry came
            assert first['t'] < 4 and ET.fromstring(first['data']).find(
                q(NS_CLIENT, 'message')) is None, first
        # the retry's answer is the one kept for that rid
        status, _, kept = post(s.ports[1], b.body(rid=b.rid))
        assert b'to the retry %d' % n in kept
    el = b.send("<message xmlns='jabber:client' to='%s'><body>on</body></message>" % bob_full)
    assert el.get('type') is None
    raw_wait(bob, body_is('on'))


def test_polling_faster_than_allowed_ends_the_session(server_factory):
    """XEP-0124 11/12: in a polling session (hold='0'), an empty request
    less than 'polling' seconds after an empty one that got nothing ends
    the session with policy-violation; one with a stanza between is fine."""
    s = bosh_server(server_factory)
    b = Bosh(s.ports[1], wait=5, hold=0)
    b.login()
    assert len(b.send()) == 0                # after the bind: fine
    b.send("<presence xmlns='jabber:client'/>")
    el = b.send()
    assert el.get('type') is None, ET.tostring(el)
    el = b.send()                            # the previous poll got nothing
    if len(el) == 0 and el.get('type') is None:
        el = b.send()                        # (the presence came back late)
    assert el.get('type') == 'terminate' and el.get('condition') == 'policy-violation', \
        ET.tostring(el)
    assert not s.redis('EXISTS', 'xmpp:bosh:' + b.sid)
    assert not s.redis('HGET', 'xmpp:{%s}:sessions' % ALICE, 'web')


def test_killed_request_process_ends_the_session_after_inactivity(server_factory):
    """The process holding a request is killed (SIGKILL): the reaper keeps
    the session for the client's next request, but only for the session's
    inactivity time, not for XEP-0198's resume_timeout; then it ends as
    any does, and what came for it goes to offline storage."""
    s = bosh_server(server_factory, bosh_inactivity=3, session_ttl=5, resume_timeout=600)
    bob, _ = raw_login(s, BOB)
    b = Bosh(s.ports[1], wait=30)
    full = b.login()
    sessions = 'xmpp:{%s}:sessions' % ALICE
    b.rid += 1

    def held():
        try:
            post(s.ports[1], b.body(), timeout=TIMEOUT)
        except OSError:
            pass                   # its process is killed: no answer

    t = threading.Thread(target=held)
    t.start()
    time.sleep(1)
    rec = dict(f.split('=', 1) for f in s.redis('HGET', sessions, 'web').split())
    os.kill(int(rec['pid']), signal.SIGKILL)
    bob.send("<message to='%s' type='chat'><body>to the dead</body></message>" % full)
    off = 'xmpp:{%s}:offline' % ALICE
    wait_until(lambda: s.redis('LLEN', off) == 1, timeout=30, what='offline')
    assert 'to the dead' in s.redis('LRANGE', off, 0, -1)[0]
    assert not s.redis('HGET', sessions, 'web')
    t.join(TIMEOUT)
