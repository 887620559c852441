"""xmpp-s2s-out, the outbound side of federation (s2s/out.c, s2s/outconn.c):
a local user's stanza to a remote domain, queued in Redis by the handler
(router/s2s.h), is delivered by a connection the dispatcher starts for
its route, or bounced to the sender; nothing is lost.

Without Prosody, on 127.0.0.1 with a dnsmasq of the test's own (the
resolver given by s2s_resolver):
- a domain with no DNS record at all: the sender gets
  remote-server-not-found (cancel) at once;
- a domain whose SRV record names a closed port, s2s_timeout = 5: the
  sender gets remote-server-timeout (wait) after about 5 s, not before;
- a dispatcher and its connection process killed with SIGKILL while
  stanzas are queued (the peer accepts TCP and says nothing): the queue
  survives, and a dispatcher started again takes the route over at once
  (the dead process's lease is freed, not waited out) and bounces them;
- two dispatchers of two hosts (hostname differs) sharing one Redis: one
  connection to the remote server, the route's lease names its holder.

With the federation harness (s2s_harness.py: a network namespace, the
test CA, dnsmasq, Prosody):
- alice@a.test on xmppd sends to bob@b.test on Prosody, which requires
  authenticated peers (s2s_secure_auth): xmppd presents its CA-signed
  certificate and authenticates with SASL EXTERNAL; bob receives it; a
  dialback verification goes through that stream; idle, it closes, and
  the next message opens a new one. The same by direct TLS (XEP-0368)
  when b.test's _xmpps-server record comes first. A first server whose
  stream fails before authentication: the next SRV record is tried.
- Prosody stops while connected and comes back: what was sent meanwhile
  waits in the queue and is delivered by a later connection.
- Prosody's certificate is self-signed and xmppd has s2s_secure = yes:
  xmppd refuses the peer and the message comes back remote-server-timeout.
Dialback towards Prosody (s2s_secure = no) needs xmppd's inbound side to
answer Prosody's <db:verify/>, which is not part of this program: not
tested here.

Every program is stopped by its PID; a sanitizer report in any
xmpp-s2s-out log fails the test.
"""
import asyncio
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

import clients as C
import im_helpers as H
from harness import BUILD, SAN_ENV, SANITIZER_MARKS, free_port, wait_until
from im_helpers import PW, error_condition, raw_login, raw_wait
from test_s2s_dns import Dnsmasq
from s2s_harness import a_record, federation, pki, srv_record  # noqa: F401 (fixtures)

OUT = BUILD / 'xmpp-s2s-out'
ALICE = 'alice@localhost'


class Dispatcher:
    """One xmpp-s2s-out with config conf (a path), its stderr in log;
    prefix: a command prefix (the federation's namespace)."""

    def __init__(self, conf, log, prefix=None, popen=None):
        assert OUT.exists(), '%s is missing: make' % OUT
        self.log_path = log
        if popen:
            self.proc = popen([OUT, '-c', conf], log=log, env=SAN_ENV)
        else:
            with open(log, 'ab') as f:
                self.proc = subprocess.Popen([str(OUT), '-c', conf], stdin=subprocess.DEVNULL,
                                             stdout=f, stderr=f, env=SAN_ENV)

    def children(self):
        try:
            with open('/proc/%d/task/%d/children' % (self.proc.pid, self.proc.pid)) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def kill(self):
        """SIGKILL to the dispatcher and its connection processes."""
        kids = self.children()
        os.kill(self.proc.pid, signal.SIGKILL)
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        bad = [m for m in SANITIZER_MARKS if m in self.log()]
        assert not bad, 'sanitizer report in xmpp-s2s-out:\n' + self.log()[-6000:]


@pytest.fixture
def dispatchers():
    started = []

    def make(conf, log, **kw):
        d = Dispatcher(conf, log, **kw)
        started.append(d)
        return d
    yield make
    for d in started:
        d.stop()


@pytest.fixture
def dns():
    started = []

    def make(*records):
        d = Dnsmasq(records)
        started.append(d)
        return d.start()
    yield make
    for d in started:
        d.stop()


class Silent:
    """A TCP server on 127.0.0.1 that accepts connections, counts them and
    never says a word (a peer that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            c.close()


def local_server(server_factory, dns_server, **conf):
    s = server_factory(s2s='yes', s2s_resolver=dns_server, **conf)
    s.adduser(ALICE, PW)
    return s


def send(raw, to, id, body='hi'):
    raw.send("<message to='%s' id='%s' type='chat'><body>%s</body></message>" % (to, id, body))


def queue_len(s, route):
    return s.redis('LLEN', 'xmpp:s2s:out:{%s}' % route)


def bounced(raw, id, timeout):
    el = raw_wait(raw, lambda e: e.get('id') == id and e.get('type') == 'error', timeout=timeout)
    return el, error_condition(el)


def test_no_such_domain_bounces_not_found(server_factory, dns, dispatchers):
    d = dns()
    s = local_server(server_factory, d.server)
    out = dispatchers(s.conf_path, os.path.join(s.dir, 'out.log'))
    raw, full = raw_login(s, ALICE)
    t0 = time.monotonic()
    send(raw, 'bob@nowhere.test/x', 'm1')
    el, cond = bounced(raw, 'm1', 15)
    assert cond == ('cancel', 'remote-server-not-found'), H.to_xml(el)
    assert el.get('from') == 'bob@nowhere.test/x' and el.get('to') == full, H.to_xml(el)
    assert el.find('{jabber:client}body').text == 'hi'
    assert time.monotonic() - t0 < 10
    wait_until(lambda: queue_len(s, 'nowhere.test/localhost') == 0, what='queue emptied')
    wait_until(lambda: s.shard_members('s2s:domains') == [],
               what='the route unmarked')
    assert 'remote-server-not-found' in out.log()


def test_unreachable_answers_verifications_error_drops_presence(server_factory, dns,
                                                                 dispatchers):
    """A dialback verification waiting for a route that cannot be served
    is answered "error" (its asker stops waiting); a presence stanza
    queued for it is dropped, never bounced."""
    d = dns()
    s = local_server(server_factory, d.server)
    route = 'nowhere.test/localhost'
    raw, full = raw_login(s, ALICE)
    env = "stanza %d\n<presence from='%s' to='bob@nowhere.test'/>" % (int(time.time()), full)
    s.redis('RPUSH', 'xmpp:s2s:out:{%s}' % route, env)
    s.redis('RPUSH', 'xmpp:s2s:verify:{%s}' % route, 'ask7 nowhere.test localhost sid-7 ' + 'cd' * 32)
    s.redis('SADD', s.shard_key('s2s:domains', route), route)
    out = dispatchers(s.conf_path, os.path.join(s.dir, 'out.log'))
    wait_until(lambda: s.redis('LRANGE', 'xmpp:s2s:verified:ask7', 0, -1) == ['error'],
               timeout=10, what='the verification answered error')
    wait_until(lambda: queue_len(s, route) == 0, what='the presence taken off the queue')
    assert 'dropped a presence that cannot be delivered' in out.log(), out.log()
    assert 'bounced' not in out.log()
    # nothing came back to the sender: the next thing it reads is its own ping
    raw.send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>")
    el = raw_wait(raw, lambda e: True)
    assert el.get('id') == 'sync', H.to_xml(el)


@pytest.mark.timing
def test_closed_port_bounces_timeout_after_s2s_timeout(server_factory, dns, dispatchers):
    closed = free_port()
    d = dns('--srv-host=_xmpp-server._tcp.closed.test,xmpp.closed.test,%d' % closed,
            '--host-record=xmpp.closed.test,127.0.0.1')
    s = local_server(server_factory, d.server, s2s_timeout=5)
    out = dispatchers(s.conf_path, os.path.join(s.dir, 'out.log'))
    raw, full = raw_login(s, ALICE)
    t0 = time.monotonic()
    send(raw, 'bob@closed.test', 'm1')
    el, cond = bounced(raw, 'm1', 30)
    took = time.monotonic() - t0
    assert cond == ('wait', 'remote-server-timeout'), H.to_xml(el)
    assert el.get('from') == 'bob@closed.test' and el.get('to') == full
    assert 4.5 <= took <= 20, took
    wait_until(lambda: queue_len(s, 'closed.test/localhost') == 0, what='queue emptied')
    assert re.search(r'Connection refused', out.log()), out.log()[-3000:]


def test_killed_dispatcher_loses_nothing(server_factory, dns, dispatchers):
    silent = Silent()
    d = dns('--srv-host=_xmpp-server._tcp.hang.test,xmpp.hang.test,%d' % silent.port,
            '--host-record=xmpp.hang.test,127.0.0.1')
    s = local_server(server_factory, d.server, s2s_timeout=5)
    out = dispatchers(s.conf_path, os.path.join(s.dir, 'out.log'))
    raw, _ = raw_login(s, ALICE)
    for i in range(3):
        send(raw, 'bob@hang.test', 'k%d' % i)
    # the connection process is connected and waits for the peer's header;
    # the three are queued (the first opened the connection, the others
    # may still be on their way through the handler)
    wait_until(lambda: len(silent.conns) == 1, what='a connection to the silent peer')
    wait_until(lambda: queue_len(s, 'hang.test/localhost') == 3, what='three queued')
    assert s.redis('GET', 'xmpp:s2s:lease:{hang.test/localhost}')
    out.kill()
    silent.close()                  # from now on the port is closed
    assert queue_len(s, 'hang.test/localhost') == 3
    t0 = time.monotonic()
    again = dispatchers(s.conf_path, os.path.join(s.dir, 'out2.log'))
    for i in range(3):
        el, cond = bounced(raw, 'k%d' % i, 20)
        assert cond == ('wait', 'remote-server-timeout'), H.to_xml(el)
    # the dead process's lease (30 s) was not waited out
    assert time.monotonic() - t0 < 20
    assert 'took over the lease' in again.log(), again.log()[-3000:]
    wait_until(lambda: queue_len(s, 'hang.test/localhost') == 0, what='queue emptied')


def test_two_hosts_one_connection(server_factory, dns, dispatchers):
    silent = Silent()
    try:
        d = dns('--srv-host=_xmpp-server._tcp.hang.test,xmpp.hang.test,%d' % silent.port,
                '--host-record=xmpp.hang.test,127.0.0.1')
        s = local_server(server_factory, d.server, hostname='host1')
        conf2 = os.path.join(s.dir, 'xmpp2.conf')
        with open(s.conf_path) as f, open(conf2, 'w') as g:
            g.write(f.read().replace('hostname = host1', 'hostname = host2'))
        one = dispatchers(s.conf_path, os.path.join(s.dir, 'out1.log'))
        two = dispatchers(conf2, os.path.join(s.dir, 'out2.log'))
        time.sleep(0.5)             # both subscribed to the wake channel
        raw, _ = raw_login(s, ALICE)
        send(raw, 'bob@hang.test', 'm1')
        wait_until(lambda: len(silent.conns) >= 1, what='a connection to the peer')
        holder = s.redis('GET', 'xmpp:s2s:lease:{hang.test/localhost}')
        assert holder and holder.split()[0] in ('host1', 'host2'), holder
        # both dispatchers saw the work (wake-up and scan) and one connects
        time.sleep(6)
        assert len(silent.conns) == 1, (len(silent.conns), one.log(), two.log())
        logs = one.log() + two.log()
        assert 'served by another process' in logs, logs
        assert s.redis('GET', 'xmpp:s2s:lease:{hang.test/localhost}') == holder
    finally:
        silent.close()


# ---- with Prosody (the federation harness) ----

def start_out(fed, x):
    return Dispatcher(x.conf_path, os.path.join(x.dir, 'out.log'), popen=fed.popen)


def xmppd_a(fed, **conf):
    crt, key = fed.pki.cert('a.test')
    x = fed.xmppd('a.test', s2s='yes', tls_cert=crt, tls_key=key,
                  s2s_ca_file=fed.pki.ca_cert, **conf)
    x.adduser('alice@a.test', PW)
    return x


def test_to_prosody_with_certificates(federation):
    """Delivered by SASL EXTERNAL; a dialback verification asked of b.test
    goes out on the same stream and its answer comes back; idle for
    s2s_idle_timeout, the connection closes (the route unmarked) and the
    next message starts a new one."""
    fed = federation
    fed.prosody('b.test', secure_auth=True)
    fed.servers['b.test'].adduser('bob', PW)
    fed.start()
    x = xmppd_a(fed, s2s_idle_timeout=5)
    out = start_out(fed, x)
    route = 'b.test/a.test'
    try:
        async def go():
            a = H.IM('alice@a.test/a', PW)
            b = H.IM('bob@b.test/b', PW)
            o = await a.login(x.port, host=x.host, timeout=10)
            assert o.session_started, o
            p = fed.servers['b.test']
            o = await b.login(p.c2s_port, host=p.addr, timeout=10)
            assert o.session_started, o
            a.xmpp.send_message(mto='bob@b.test/b', mbody='over the wire', mtype='chat')
            got = await b.wait1(H.body_is('over the wire'), timeout=15)
            # a key b.test never made: its server answers invalid
            x.redis('RPUSH', 'xmpp:s2s:verify:{%s}' % route,
                    'ask1 b.test a.test sid-1 ' + 'ab' * 32)
            x.redis('SADD', x.shard_key('s2s:domains', route), route)
            x.redis('PUBLISH', 'xmpp:s2s:wake', route)
            await C.apoll(lambda: x.redis('LRANGE', 'xmpp:s2s:verified:ask1', 0, -1),
                          timeout=10)
            verdict = x.redis('LRANGE', 'xmpp:s2s:verified:ask1', 0, -1)
            # idle: closed, the route unmarked, no connection process left
            await C.apoll(lambda: 'idle for 5 s' in out.log() and not out.children(),
                          timeout=15)
            assert x.shard_members('s2s:domains') == []
            a.xmpp.send_message(mto='bob@b.test/b', mbody='once more', mtype='chat')
            await b.wait1(H.body_is('once more'), timeout=15)
            return got.get('from'), verdict
        with fed.explain(('xmpp-s2s-out', out.log)):
            assert fed.run_clients(go, timeout=45) == ('alice@a.test/a', ['invalid'])
        log = out.log()
        assert log.count('authenticated by SASL EXTERNAL') == 2, log[-4000:]
        assert 'certificate authenticated by' in log
        wait_until(lambda: x.redis('LLEN', 'xmpp:s2s:out:{%s}' % route) == 0,
                   what='queue emptied')
    finally:
        out.stop()


def test_operator_closes_a_route(federation):
    """xmppctl s2s close REMOTE/LOCAL: the route's connection closes its
    stream and its process ends; a route nobody serves is refused; the
    next message opens a new connection."""
    fed = federation
    fed.prosody('b.test', secure_auth=True)
    fed.servers['b.test'].adduser('bob', PW)
    fed.start()
    x = xmppd_a(fed)
    out = start_out(fed, x)
    route = 'b.test/a.test'
    try:
        async def go():
            a = H.IM('alice@a.test/a', PW)
            b = H.IM('bob@b.test/b', PW)
            assert (await a.login(x.port, host=x.host, timeout=10)).session_started
            p = fed.servers['b.test']
            assert (await b.login(p.c2s_port, host=p.addr, timeout=10)).session_started
            a.xmpp.send_message(mto='bob@b.test/b', mbody='first', mtype='chat')
            await b.wait1(H.body_is('first'), timeout=15)
            kids = out.children()
            assert len(kids) == 1, kids
            r = x.ctl('s2s', 'close', route)
            assert r.returncode == 0, r.stderr
            await C.apoll(lambda: 'closed by the operator' in out.log() and
                          not out.children(), timeout=10)
            r = x.ctl('s2s', 'close', route)
            assert r.returncode == 1 and 'nobody is connected' in r.stderr, r
            a.xmpp.send_message(mto='bob@b.test/b', mbody='second', mtype='chat')
            await b.wait1(H.body_is('second'), timeout=15)
            return out.children() != kids
        with fed.explain(('xmpp-s2s-out', out.log)):
            assert fed.run_clients(go, timeout=45)
        assert x.ctl('s2s', 'close', 'nonsense').returncode == 100
    finally:
        out.stop()


def test_to_prosody_by_direct_tls(federation):
    """b.test prefers direct TLS (XEP-0368: its _xmpps-server record has
    the better priority): xmpp-s2s-out starts TLS at once on that port
    (ALPN xmpp-server) and delivers there."""
    fed = federation
    p = fed.prosody('b.test', secure_auth=True, srv=False, direct_tls=True)
    p.adduser('bob', PW)
    fed.add_records(srv_record('b.test', 'xmpp.b.test', p.direct_tls_port,
                               service='xmpps-server', priority=0),
                    srv_record('b.test', 'xmpp.b.test', p.s2s_port, priority=10),
                    a_record('xmpp.b.test', p.addr))
    fed.start()
    x = xmppd_a(fed)
    out = start_out(fed, x)
    try:
        async def go():
            a = H.IM('alice@a.test/a', PW)
            b = H.IM('bob@b.test/b', PW)
            o = await a.login(x.port, host=x.host, timeout=10)
            assert o.session_started, o
            o = await b.login(p.c2s_port, host=p.addr, timeout=10)
            assert o.session_started, o
            a.xmpp.send_message(mto='bob@b.test/b', mbody='direct', mtype='chat')
            got = await b.wait1(H.body_is('direct'), timeout=15)
            return got.get('from')
        with fed.explain(('xmpp-s2s-out', out.log)):
            assert fed.run_clients(go, timeout=30) == 'alice@a.test/a'
        assert 'connected to %s:%d (xmpp.b.test, direct TLS)' % (p.addr, p.direct_tls_port) \
            in out.log(), out.log()[-4000:]
        assert 'authenticated by SASL EXTERNAL' in out.log()
    finally:
        out.stop()


def test_next_server_after_a_failed_stream(federation):
    """b.test's best SRV record names a port that does not speak XMPP in
    the clear (Prosody's direct TLS port, published as STARTTLS): that
    stream fails, xmpp-s2s-out tries the next record (RFC 6120 3.2.1)
    and delivers there."""
    fed = federation
    p = fed.prosody('b.test', secure_auth=True, srv=False, direct_tls=True)
    p.adduser('bob', PW)
    fed.add_records(srv_record('b.test', 'xmpp.b.test', p.direct_tls_port, priority=0),
                    srv_record('b.test', 'xmpp.b.test', p.s2s_port, priority=10),
                    a_record('xmpp.b.test', p.addr))
    fed.start()
    x = xmppd_a(fed)
    out = start_out(fed, x)
    try:
        async def go():
            a = H.IM('alice@a.test/a', PW)
            b = H.IM('bob@b.test/b', PW)
            o = await a.login(x.port, host=x.host, timeout=10)
            assert o.session_started, o
            o = await b.login(p.c2s_port, host=p.addr, timeout=10)
            assert o.session_started, o
            a.xmpp.send_message(mto='bob@b.test/b', mbody='second try', mtype='chat')
            got = await b.wait1(H.body_is('second try'), timeout=20)
            return got.get('from')
        with fed.explain(('xmpp-s2s-out', out.log)):
            assert fed.run_clients(go, timeout=30) == 'alice@a.test/a'
        log = out.log()
        assert 'trying the next server' in log, log[-4000:]
        assert 'connected to %s:%d (xmpp.b.test, STARTTLS)' % (p.addr, p.s2s_port) in log
        assert 'failed' not in log, log[-4000:]     # one connection process did it
    finally:
        out.stop()


def test_restarted_after_the_peer_went_away(federation):
    """Prosody stops while the stream is up (its stream error ends the
    connection process); a message sent meanwhile waits in the queue
    while the dispatcher retries with backoff, and is delivered once
    Prosody is back (to bob's offline store there)."""
    fed = federation
    p = fed.prosody('b.test', secure_auth=True, extra_modules=('offline',))
    p.adduser('bob', PW)
    fed.start()
    x = xmppd_a(fed)
    out = start_out(fed, x)
    route = 'b.test/a.test'
    try:
        async def first():
            a = H.IM('alice@a.test/a', PW)
            b = H.IM('bob@b.test/b', PW)
            o = await a.login(x.port, host=x.host, timeout=10)
            assert o.session_started, o
            o = await b.login(p.c2s_port, host=p.addr, timeout=10)
            assert o.session_started, o
            b.xmpp.send_presence()      # available: bare-JID messages and the offline store
            a.xmpp.send_message(mto='bob@b.test', mbody='before', mtype='chat')
            await b.wait1(H.body_is('before'), timeout=15)

        async def second():
            a = H.IM('alice@a.test/a', PW)
            o = await a.login(x.port, host=x.host, timeout=10)
            assert o.session_started, o
            a.xmpp.send_message(mto='bob@b.test', mbody='after', mtype='chat')
            await C.apoll(lambda: 'failed' in out.log(), timeout=10)
            assert x.redis('LLEN', 'xmpp:s2s:out:{%s}' % route) == 1
            await asyncio.get_running_loop().run_in_executor(None, p.start)
            b = H.IM('bob@b.test/b', PW)
            o = await b.login(p.c2s_port, host=p.addr, timeout=10)
            assert o.session_started, o
            b.xmpp.send_presence()      # available: bare-JID messages and the offline store
            got = await b.wait1(H.body_is('after'), timeout=30)
            return got.get('from')
        with fed.explain(('xmpp-s2s-out', out.log)):
            fed.run_clients(first, timeout=30)
            p.stop()
            assert fed.run_clients(second, timeout=60) == 'alice@a.test/a'
        log = out.log()
        # Prosody ends the stream with system-shutdown when it stops in
        # time; under load stop_proc may kill it first, and the stream is
        # then just lost.  Either way the connection process ended.
        assert ('stream error from the peer: system-shutdown' in log
                or 'connection lost:' in log), log[-4000:]
        assert 'again in 2 s if work remains' in log, log[-4000:]
        assert x.redis('LLEN', 'xmpp:s2s:out:{%s}' % route) == 0
    finally:
        out.stop()


def test_untrusted_prosody_refused_when_secure(federation):
    fed = federation
    fed.prosody('b.test', cert='self', secure_auth=False)
    fed.start()
    x = xmppd_a(fed, s2s_secure='yes', s2s_timeout=5)
    out = start_out(fed, x)
    try:
        async def go():
            a = H.IM('alice@a.test/a', PW)
            o = await a.login(x.port, host=x.host, timeout=10)
            assert o.session_started, o
            a.xmpp.send_message(mto='bob@b.test', mbody='not to them', mtype='chat')
            el = await a.wait1(lambda e: e.get('type') == 'error', timeout=25)
            return error_condition(el)
        with fed.explain(('xmpp-s2s-out', out.log)):
            assert fed.run_clients(go, timeout=30) == ('wait', 'remote-server-timeout')
        assert "certificate does not authenticate b.test" in out.log(), out.log()[-4000:]
    finally:
        out.stop()


def test_to_prosody_by_dialback(federation):
    """xmppd's certificate is self-signed, so Prosody (s2s_secure_auth
    off) offers no SASL EXTERNAL: xmpp-s2s-out authenticates a.test with
    dialback, and Prosody verifies the key by calling a.test back, where
    xmpp-s2s-in (a.test's SRV record names it) answers from the server
    secret; bob receives the message."""
    fed = federation
    fed.prosody('b.test', secure_auth=False)
    fed.servers['b.test'].adduser('bob', PW)
    fed.start()
    crt, key = fed.pki.self_signed('a.test')
    x = fed.xmppd('a.test', listeners=2, s2s_listener=1, listener_progs=[None, 'xmpp-s2s-in'],
                  s2s='yes', s2s_secure='no', tls_cert=crt, tls_key=key,
                  s2s_ca_file=fed.pki.ca_cert)
    x.adduser('alice@a.test', PW)
    out = start_out(fed, x)
    try:
        async def go():
            a = H.IM('alice@a.test/a', PW)
            b = H.IM('bob@b.test/b', PW)
            o = await a.login(x.port, host=x.host, timeout=10)
            assert o.session_started, o
            p = fed.servers['b.test']
            o = await b.login(p.c2s_port, host=p.addr, timeout=10)
            assert o.session_started, o
            a.xmpp.send_message(mto='bob@b.test/b', mbody='by dialback', mtype='chat')
            got = await b.wait1(H.body_is('by dialback'), timeout=20)
            return got.get('from')
        with fed.explain(('xmpp-s2s-out', out.log), ('xmppd', x.log)):
            assert fed.run_clients(go, timeout=40) == 'alice@a.test/a'
        assert 'authenticated by dialback' in out.log(), out.log()[-4000:]
    finally:
        out.stop()
