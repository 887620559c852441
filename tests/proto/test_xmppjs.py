"""SASL2 (XEP-0388), Bind2 (XEP-0386), FAST tokens (XEP-0484) and inline
resumption (XEP-0198 in SASL2) with a third-party client: xmpp.js
(@xmpp/client 0.14, in node: tests/clients/xmppjs/fast.mjs) over direct
TLS, the only place FAST is offered. Two direct-TLS listeners (two
handlers, as two hosts would be), a third in cleartext for bob (a raw
client).

One session, from xmpp.js's own choices:
- the first login is SCRAM-SHA-1 through SASL2, with
  <request-token mechanism='HT-SHA-256-NONE'/>: a token is issued, and
  Redis keeps its SHA-256 under the client's user-agent id, never the
  token (nowhere in Redis);
- Bind2 binds "<tag>.<8 hex digits of SHA-256(user-agent id)>" and
  enables stream management inline (resumable);
- a message each way;
- the TCP connection is cut without closing the stream; bob writes
  meanwhile; xmpp.js reconnects to the SECOND listener, logs in with its
  token (HT-SHA-256-NONE, no SCRAM), resumes inside <authenticate/>
  (no new binding), the token moves to the record's current slot, and
  the message sent meanwhile arrives exactly once.
And once too late (the session ended while away): the inline <resume/>
fails, and the <bind/> beside it binds again in the same login.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time

from harness import TIMEOUT, wait_until
from im_helpers import PW, body_is, raw_login, raw_wait
from test_tls import pki  # noqa: F401 (fixture: the localhost certificate)

CLIENT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'clients', 'xmppjs')
ALICE, BOB = 'alice@localhost', 'bob@localhost'
TAG = 'phone'
FAST_KEY = 'xmpp:{%s}:fast' % ALICE


class XmppJs:
    """fast.mjs as a child process: commands on its stdin, its events
    (one JSON object a line) read by a thread."""

    def __init__(self, server, cert, service, service2, env=None):
        assert shutil.which('node'), 'node is missing: sh tests/deps.sh'
        assert os.path.isdir(os.path.join(CLIENT_DIR, 'node_modules', '@xmpp', 'client')), \
            'xmpp.js is missing: sh tests/deps.sh (npm ci in tests/clients/xmppjs)'
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=cert, XMPPJS_DEBUG='1', **(env or {}))
        self.p = subprocess.Popen(
            ['node', 'fast.mjs', service, server.domain, ALICE.split('@')[0], PW, service2,
             TAG], cwd=CLIENT_DIR, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.events = []           # every event so far, in order
        self.other = []            # lines that are no event (node's own messages)
        self.lock = threading.RLock()   # predicates may look again
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                self.other.append(line)
                continue
            with self.lock:
                self.events.append(ev)

    def cmd(self, line):
        self.p.stdin.write(line + '\n')
        self.p.stdin.flush()

    def seen(self, pred):
        with self.lock:
            return [e for e in self.events if pred(e)]

    def wait(self, pred, what, timeout=TIMEOUT * 2):
        """The first event matching pred (waiting for it)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.seen(pred)
            if got:
                return got[0]
            if time.monotonic() > deadline or self.p.poll() is not None:
                raise AssertionError('xmpp.js: no %s; events:\n%s' % (what, self.dump()))
            time.sleep(0.02)

    def event(self, name, timeout=TIMEOUT * 2):
        return self.wait(lambda e: e['event'] == name, name, timeout)

    def dump(self):
        with self.lock:
            return '\n'.join([json.dumps(e) for e in self.events] + self.other)[-8000:]

    def stop(self):
        if self.p.poll() is None:
            self.cmd('stop')
            try:
                self.p.wait(TIMEOUT * 2)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.t.join(TIMEOUT)
        return self.p.returncode


def fast_record(s, agent):
    """The client's FAST record: [mech, count, new expiry, new hash,
    current expiry, current hash] (router/fast.h)."""
    rec = s.redis('HGET', FAST_KEY, agent)
    assert rec, 'no FAST record for user agent %s: %r' % (agent, s.redis('HGETALL', FAST_KEY))
    f = rec.split(' ')
    assert len(f) == 6, rec
    return f


def redis_holds(s, text):
    """The Redis keys in which text appears (any value of any type)."""
    found = []
    for k in s.redis('KEYS', '*'):
        t = s.redis('TYPE', k)
        if t == 'string':
            vals = [s.redis('GET', k)]
        elif t == 'list':
            vals = s.redis('LRANGE', k, '0', '-1')
        elif t == 'hash':
            vals = s.redis('HGETALL', k)
        elif t == 'set':
            vals = s.redis('SMEMBERS', k)
        elif t == 'zset':
            vals = s.redis('ZRANGE', k, '0', '-1')
        elif t == 'stream':
            vals = [repr(s.redis('XRANGE', k, '-', '+'))]
        else:
            vals = []
        if any(text in (v or '') for v in vals):
            found.append(k)
    return found


def listener_log(s, i):
    with open(s.logs[i], errors='replace') as f:
        return f.read()


def start(server_factory, pki, js_env=None, **conf):
    """Two direct TLS listeners for xmpp.js (the second for its
    reconnection), a plain one for bob, logged in; xmpp.js started.
    Returns (server, bob's raw client, bob's full JID, xmpp.js)."""
    s = server_factory(listeners=3, listener_args=[['-T'], ['-T'], []],
                       tls_cert=pki.localhost.cert, tls_key=pki.localhost.key, **conf)
    s.adduser(ALICE, PW)
    s.adduser(BOB, PW)
    bob, bob_full = raw_login(s, BOB, listener=2)
    js = XmppJs(s, pki.localhost.cert, 'xmpps://127.0.0.1:%d' % s.ports[0],
                'xmpps://127.0.0.1:%d' % s.ports[1], js_env)
    return s, bob, bob_full, js


def test_xmppjs_sasl2_bind2_fast_inline_resumption(server_factory, pki):  # noqa: F811
    s, bob, bob_full, js = start(server_factory, pki, resume_timeout=30)
    try:
        agent = js.event('agent')['id']

        # ---- first login: SCRAM-SHA-1 in SASL2, a token asked for ----
        online = js.event('online')
        tok = js.event('token')
        sm = js.event('sm')
        log0 = listener_log(s, 0)
        auth = js.wait(lambda e: e['event'] == 'out' and e['xml'].startswith('<authenticate'),
                       'SASL2 <authenticate/>')['xml']
        assert 'xmlns="urn:xmpp:sasl:2"' in auth and 'mechanism="SCRAM-SHA-1"' in auth, auth
        assert re.search(r'<request-token xmlns="urn:xmpp:fast:0" '
                         r'mechanism="HT-SHA-256-NONE"/>', auth), auth
        assert 'login ok (SCRAM-SHA-1)' in log0, log0
        assert 'FAST token issued (HT-SHA-256-NONE)' in log0, log0
        assert tok['mechanism'] == 'HT-SHA-256-NONE', tok
        assert re.fullmatch(r'[0-9a-f]{64,}', tok['token']), tok
        assert tok['expiry'] > time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), tok
        mech, count, new_exp, new_hash, cur_exp, cur_hash = fast_record(s, agent)
        assert mech == 'HT-SHA-256-NONE' and count == '0'
        assert new_hash == hashlib.sha256(tok['token'].encode()).hexdigest(), (new_hash, tok)
        assert new_hash != tok['token'] and int(new_exp) > time.time()
        assert (cur_exp, cur_hash) == ('0', '-'), 'nothing in use yet'
        assert redis_holds(s, tok['token']) == [], 'the token itself is in Redis'

        # ---- Bind2: the tag and the user agent's digest; SM inline ----
        res = '%s.%s' % (TAG, hashlib.sha256(agent.encode()).hexdigest()[:8])
        full = '%s/%s' % (ALICE, res)
        assert online['jid'] == full, (online, res)
        assert re.search(r'<bind xmlns="urn:xmpp:bind:0"><tag>%s</tag>'
                         r'<enable xmlns="urn:xmpp:sm:3" resume="true"/></bind>' % TAG, auth), auth
        assert not js.seen(lambda e: e['event'] == 'out' and 'urn:ietf:params:xml:ns:xmpp-bind'
                           in e['xml']), 'RFC 6120 binding used'
        assert sm['enabled'] is True and sm['id'], sm
        assert "bound by Bind2 (tag '%s')" % TAG in log0, log0
        assert 'stream management on, resumable' in log0, log0
        assert s.redis('HGET', 'xmpp:{%s}:smids' % ALICE, sm['id']) == res

        # ---- a message each way ----
        js.cmd('send %s hello bob' % bob_full)
        m = raw_wait(bob, body_is('hello bob'))
        assert m.get('from') == full, m.attrib
        bob.send("<message to='%s' type='chat'><body>hello alice</body></message>" % full)
        got = js.wait(lambda e: e['event'] == 'message' and e['body'] == 'hello alice',
                      'bob\'s first message')
        assert got['from'] == bob_full, got

        # ---- the connection lost, a message meanwhile ----
        js.cmd('drop')
        js.event('dropped')
        wait_until(lambda: 'session detached, resumable' in listener_log(s, 0),
                   what='the session detached')
        bob.send("<message to='%s' type='chat'><body>while away</body></message>" % full)
        wait_until(lambda: s.redis('LLEN', 'xmpp:{%s}:inbox:%s' % (ALICE, res)) == 1,
                   what="bob's message waiting in the detached session's inbox")

        # ---- back on the other listener: the token, <resume/> inline ----
        js.cmd('reconnect')
        resumed = js.event('resumed')
        assert resumed['jid'] == full, resumed
        js.wait(lambda e: e['event'] == 'message' and e['body'] == 'while away',
                'the message sent while away')
        auth2 = [e['xml'] for e in js.seen(lambda e: e['event'] == 'out' and
                                           e['xml'].startswith('<authenticate'))]
        assert len(auth2) == 2 and 'mechanism="HT-SHA-256-NONE"' in auth2[1], auth2
        assert re.search(r'<resume xmlns="urn:xmpp:sm:3" h="1" previd="%s"/>' % sm['id'],
                         auth2[1]), auth2[1]
        log1 = listener_log(s, 1)
        assert 'login ok (HT-SHA-256-NONE)' in log1, log1
        assert 'session resumed' in log1, log1
        assert 'login ok (SCRAM' not in log1 and 'bound by Bind2' not in log1, log1
        assert s.log().count('login ok (SCRAM-SHA-1)') == 1, s.log()
        # the token is the one in use now
        mech, count, new_exp, new_hash, cur_exp, cur_hash = fast_record(s, agent)
        assert (mech, new_exp, new_hash) == ('HT-SHA-256-NONE', '0', '-')
        assert cur_hash == hashlib.sha256(tok['token'].encode()).hexdigest()
        # the session goes on, resumed rather than bound again
        js.cmd('send %s back' % bob_full)
        assert raw_wait(bob, body_is('back')).get('from') == full
        time.sleep(0.5)         # anything repeated would have come by now
        away = js.seen(lambda e: e['event'] == 'message' and e['body'] == 'while away')
        assert len(away) == 1, js.dump()
        assert len(js.seen(lambda e: e['event'] == 'message')) == 2, js.dump()
        assert len(js.seen(lambda e: e['event'] == 'online')) == 1, js.dump()
        assert len(js.seen(lambda e: e['event'] == 'token')) == 1, js.dump()
        assert not js.seen(lambda e: e['event'] in ('error', 'exception', 'timeout')), js.dump()
        assert js.stop() == 0, js.dump()
    finally:
        js.stop()


def test_xmppjs_resume_too_late_binds_again_in_the_same_login(server_factory, pki):  # noqa: F811
    """The session ended while xmpp.js was away (resume_timeout): its
    inline <resume/> fails, and the <bind/> it sent beside it binds a new
    session in the same SASL2 round trip (token login, no SCRAM); xmpp.js
    is online again and the message sent meanwhile waits in the archive
    (Bind2 leaves offline messages there), not lost."""
    # xmpp.js also enables carbons and client state inline, through its
    # Bind2 extension point: each login's session has carbons on.
    s, bob, bob_full, js = start(server_factory, pki, js_env={'XMPPJS_BIND2_MORE': '1'},
                                 resume_timeout=1, session_ttl=6)
    try:
        agent = js.event('agent')['id']
        full = js.event('online')['jid']
        tok = js.event('token')
        sm = js.event('sm')
        assert sm['enabled'] is True, sm
        res = full.split('/', 1)[1]
        js.cmd('drop')
        js.event('dropped')
        wait_until(lambda: 'session detached, resumable' in listener_log(s, 0),
                   what='the session detached')
        bob.send("<message to='%s' type='chat'><body>too late</body></message>" % full)
        # bob's handler reaps it (heartbeat: session_ttl / 3)
        wait_until(lambda: not s.redis('HGET', 'xmpp:{%s}:sessions' % ALICE, res),
                   timeout=TIMEOUT * 3, what='the detached session ended')
        assert 'xmpp:{%s}:mam' % ALICE in redis_holds(s, 'too late')
        js.cmd('reconnect')
        js.wait(lambda e: e['event'] == 'online' and
                len(js.seen(lambda x: x['event'] == 'online')) == 2, 'online again')
        succ = [e['xml'] for e in js.seen(lambda e: e['event'] == 'in' and
                                          e['xml'].startswith('<success'))]
        assert len(succ) == 2, succ
        assert re.search(r'<failed xmlns="urn:xmpp:sm:3"[^>]*><item-not-found ', succ[1]), succ[1]
        assert '<bound xmlns="urn:xmpp:bind:0">' in succ[1] and '<enabled ' in succ[1], succ[1]
        online2 = js.seen(lambda e: e['event'] == 'online')[1]
        assert online2['jid'] == full, online2          # the same tag and user agent
        sm2 = js.wait(lambda e: e['event'] == 'sm' and e['id'] != sm['id'],
                      'stream management enabled again')
        assert sm2['enabled'] is True and sm2['id'], sm2
        assert s.redis('HGET', 'xmpp:{%s}:carbons' % ALICE, res), 'carbons not on'
        assert 'carbons enabled (Bind2)' in listener_log(s, 0), listener_log(s, 0)
        log1 = listener_log(s, 1)
        assert 'login ok (HT-SHA-256-NONE)' in log1 and "bound by Bind2 (tag '%s')" % TAG \
            in log1, log1
        assert 'session resumed' not in log1, log1
        assert not js.seen(lambda e: e['event'] == 'resumed'), js.dump()
        # the new session works, and the message waits in the archive
        bob.send("<message to='%s' type='chat'><body>after</body></message>" % full)
        js.wait(lambda e: e['event'] == 'message' and e['body'] == 'after', 'a message')
        assert not js.seen(lambda e: e['event'] == 'message' and e['body'] == 'too late'), \
            js.dump()
        mech, count, new_exp, new_hash, cur_exp, cur_hash = fast_record(s, agent)
        assert cur_hash == hashlib.sha256(tok['token'].encode()).hexdigest()
        assert not js.seen(lambda e: e['event'] in ('error', 'exception', 'timeout')), js.dump()
        assert js.stop() == 0, js.dump()
    finally:
        js.stop()
