"""Where xmppd connects for a remote domain (s2s/dns.c: RFC 6120 3.2,
XEP-0368), through $XMPPD_BUILD/srvlookup (tests/clients/srvlookup.c,
built by `make testclients` when libc-ares-dev is installed) against a
real dnsmasq that each test starts on 127.0.0.1 on a private port with
exactly the records it needs (names under .test, answered from those
records only: --local=/test/, no upstream, no /etc/hosts).

dnsmasq runs with --no-daemon, so the process started here is dnsmasq
itself: it is stopped by that PID (Popen.pid), never by name. (It writes
no --pid-file in that mode, so none is asked for; its log is kept in its
temporary directory.)

What is checked:
- targets come in priority order, the _xmpps-server and _xmpp-server
  records mixed as one set (XEP-0368: both services' priorities and
  weights are mixed), each with its port and direct TLS or STARTTLS;
- within one priority, RFC 2782 weighted random selection: two records of
  equal weight each come first in a fair share of 200 lookups, the two
  services' records too; weight 10 against 90 first in about a tenth;
  weight 100 comes before weight 0 in nearly all;
- a single SRV target "." means no service: no fallback to the domain's
  address, even when the other service has no record; "." for direct TLS
  leaves the STARTTLS records in use;
- no SRV record at all: the domain itself, port 5269, STARTTLS;
- an unknown domain: its fallback host does not exist (nodomain), which
  the caller turns into remote-server-not-found; so for an SRV target
  that does not exist, and one that exists with no address is noservice;
- a host's IPv6 and IPv4 addresses both, with the candidate's port;
- a resolver that never answers: "timeout" within the bound given.
Every run of srvlookup must leave no sanitizer report.
"""
import os
import socket
import subprocess
import tempfile
import time

import pytest

from harness import BUILD, SAN_ENV, SANITIZER_MARKS, wait_until

SRVLOOKUP = BUILD / 'srvlookup'
RUNS = 200              # lookups for each statistical check
TIMEOUT = 2             # srvlookup's -t in the timeout test, seconds


def udp_tcp_free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (dnsmasq binds both)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(('127.0.0.1', 0))
            port = u.getsockname()[1]
            with socket.socket() as t:
                try:
                    t.bind(('127.0.0.1', port))
                except OSError:
                    continue
            return port
    raise AssertionError('no free port')


def read(path):
    with open(path) as f:
        return f.read()


class Dnsmasq:
    """One dnsmasq answering from records only (args: --srv-host=...,
    --host-record=..., ...)."""

    def __init__(self, records):
        self.records = list(records)
        self.dir = tempfile.TemporaryDirectory(prefix='xmppd-dns-')
        self.proc = None
        self.port = None

    def start(self):
        assert os.path.exists('/usr/sbin/dnsmasq'), \
            'dnsmasq is missing: install it (sh tests/deps.sh)'
        for _ in range(3):          # the port may be taken between choosing and binding
            self.port = udp_tcp_free_port()
            log = os.path.join(self.dir.name, 'dnsmasq.log')
            args = ['/usr/sbin/dnsmasq', '--no-daemon', '--no-resolv', '--no-hosts',
                    '--port=%d' % self.port, '--listen-address=127.0.0.1',
                    '--bind-interfaces', '--conf-file=/dev/null', '--local=/test/'] + self.records
            with open(log, 'w') as f:
                self.proc = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT)
            # "started" is logged once its sockets are bound
            wait_until(lambda: self.proc.poll() is not None or 'started' in read(log),
                       what='dnsmasq to start')
            if self.proc.poll() is None:
                return self
            self.proc.wait()
        raise AssertionError('dnsmasq did not start:\n' + read(log))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, 9)
                self.proc.wait()
        self.dir.cleanup()

    @property
    def server(self):
        return '127.0.0.1:%d' % self.port


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


def srvlookup(server, domain, *args, timeout=5):
    """Runs srvlookup; (exit status, stdout lines). Fails on a sanitizer
    report or when srvlookup was not built."""
    assert SRVLOOKUP.exists(), \
        '%s is missing: make testclients with libc-ares-dev installed' % SRVLOOKUP
    p = subprocess.run([str(SRVLOOKUP), '-r', server, '-t', str(timeout)] + list(args) + [domain],
                       capture_output=True, text=True, env=SAN_ENV, timeout=timeout * 4 + 30)
    for m in SANITIZER_MARKS:
        assert m not in p.stderr, p.stderr
    assert p.returncode in (0, 1), (p.returncode, p.stderr)
    return p.returncode, p.stdout.splitlines()


def lookup(server, domain):
    """(first line, [(host, port, tls)], {host: [(address, port)]}, {host: error})."""
    rc, lines = srvlookup(server, domain)
    cands, addrs, errs = [], {}, {}
    for ln in lines[1:]:
        w = ln.split()
        if w[0] == 'cand':
            cands.append((w[1], int(w[2]), w[3]))
        elif w[0] == 'addr':
            addrs.setdefault(w[1], []).append((w[2], int(w[3])))
        elif w[0] == 'addrerr':
            errs[w[1]] = w[2]
    assert (rc == 0) == lines[0].startswith('lookup ok'), (rc, lines)
    return lines[0], cands, addrs, errs


def orders(server, domain, runs=RUNS):
    """The candidate order of each of runs lookups, as tuples of host:port:tls."""
    rc, lines = srvlookup(server, domain, '-c', str(runs))
    assert rc == 0, lines
    assert len(lines) == runs and all(ln.startswith('order ') for ln in lines), lines[:3]
    return [tuple(ln.split()[1:]) for ln in lines]


def test_priority_order_mixes_both_services(dns):
    # Listed worst first, so that keeping the answer's order fails.
    d = dns('--srv-host=_xmpp-server._tcp.prio.test,c.prio.test,5271,30,0',
            '--srv-host=_xmpps-server._tcp.prio.test,b.prio.test,5270,20,0',
            '--srv-host=_xmpp-server._tcp.prio.test,a.prio.test,5269,10,0',
            '--srv-host=_xmpps-server._tcp.prio.test,z.prio.test,5299,40,0')
    want = ('a.prio.test:5269:starttls', 'b.prio.test:5270:direct',
            'c.prio.test:5271:starttls', 'z.prio.test:5299:direct')
    got = set(orders(d.server, 'prio.test', runs=20))
    assert got == {want}


def first_counts(order_list):
    counts = {}
    for o in order_list:
        counts[o[0]] = counts.get(o[0], 0) + 1
    return counts


def test_equal_weights_share_first_place(dns):
    d = dns('--srv-host=_xmpp-server._tcp.eq.test,one.eq.test,5269,10,50',
            '--srv-host=_xmpp-server._tcp.eq.test,two.eq.test,5269,10,50',
            '--srv-host=_xmpp-server._tcp.eq.test,last.eq.test,5269,20,50')
    got = orders(d.server, 'eq.test')
    counts = first_counts(got)
    # expected 100 each of 200; 40 is more than 8 standard deviations off
    assert counts.get('one.eq.test:5269:starttls', 0) >= 40, counts
    assert counts.get('two.eq.test:5269:starttls', 0) >= 40, counts
    assert all(len(o) == 3 and o[2] == 'last.eq.test:5269:starttls' for o in got), got[:5]


def test_weights_set_the_share(dns):
    # dnsmasq rotates the records it answers, so a fair share alone could
    # come from ignoring the weights: 10 against 90 must come first in
    # about 1 lookup of 10 (20 of 200, standard deviation 4.2).
    d = dns('--srv-host=_xmpp-server._tcp.ratio.test,light.ratio.test,5269,10,10',
            '--srv-host=_xmpp-server._tcp.ratio.test,heavy.ratio.test,5269,10,90')
    counts = first_counts(orders(d.server, 'ratio.test'))
    assert 5 <= counts.get('light.ratio.test:5269:starttls', 0) <= 50, counts


def test_weight_zero_after_weight_100(dns):
    # weight 0 listed first: RFC 2782 puts it first in the running sum,
    # where it is drawn only for the number 0 of 0..100 (1 in 101)
    d = dns('--srv-host=_xmpp-server._tcp.w.test,zero.w.test,5269,10,0',
            '--srv-host=_xmpp-server._tcp.w.test,heavy.w.test,5269,10,100')
    counts = first_counts(orders(d.server, 'w.test'))
    assert counts.get('heavy.w.test:5269:starttls', 0) >= 180, counts


def test_direct_tls_and_starttls_weighted_together(dns):
    # XEP-0368: both services' records are one set for ordering, so at
    # equal priority and weight each kind comes first in some lookups.
    d = dns('--srv-host=_xmpps-server._tcp.mix.test,tls.mix.test,443,5,10',
            '--srv-host=_xmpp-server._tcp.mix.test,plain.mix.test,5269,5,10')
    counts = first_counts(orders(d.server, 'mix.test'))
    assert counts.get('tls.mix.test:443:direct', 0) >= 40, counts
    assert counts.get('plain.mix.test:5269:starttls', 0) >= 40, counts


def test_dot_target_means_no_service(dns):
    d = dns('--srv-host=_xmpp-server._tcp.dot.test',          # target "."
            '--host-record=dot.test,127.0.0.5',
            '--srv-host=_xmpps-server._tcp.both.test',
            '--srv-host=_xmpp-server._tcp.both.test',
            '--srv-host=_xmpps-server._tcp.half.test',
            '--srv-host=_xmpp-server._tcp.half.test,x.half.test,5269,0,0',
            '--host-record=x.half.test,127.0.0.6')
    # no fallback to dot.test's own address
    assert lookup(d.server, 'dot.test')[:2] == ('lookup noservice', [])
    assert lookup(d.server, 'both.test')[:2] == ('lookup noservice', [])
    # no direct TLS, but STARTTLS is offered
    first, cands, addrs, _ = lookup(d.server, 'half.test')
    assert first == 'lookup ok'
    assert cands == [('x.half.test', 5269, 'starttls')]
    assert addrs == {'x.half.test': [('127.0.0.6', 5269)]}


def test_no_srv_falls_back_to_domain(dns):
    d = dns('--host-record=plain.test,127.0.0.9,::9')
    first, cands, addrs, errs = lookup(d.server, 'plain.test')
    assert first == 'lookup ok fallback'
    assert cands == [('plain.test', 5269, 'starttls')]
    assert sorted(addrs['plain.test']) == [('127.0.0.9', 5269), ('::9', 5269)]
    assert errs == {}


def test_unknown_domain_not_found(dns):
    d = dns('--host-record=known.test,127.0.0.9',
            '--srv-host=_xmpp-server._tcp.gone.test,nowhere.test,5269,0,0',
            '--srv-host=_xmpp-server._tcp.bare.test,txt.test,5269,0,0',
            '--txt-record=txt.test,no address here')
    first, cands, addrs, errs = lookup(d.server, 'unknown.test')
    assert (first, cands) == ('lookup ok fallback', [('unknown.test', 5269, 'starttls')])
    assert (addrs, errs) == ({}, {'unknown.test': 'nodomain'})
    # an SRV target that does not exist
    first, cands, addrs, errs = lookup(d.server, 'gone.test')
    assert (first, cands) == ('lookup ok', [('nowhere.test', 5269, 'starttls')])
    assert (addrs, errs) == ({}, {'nowhere.test': 'nodomain'})
    # a target that exists but has no address (NODATA): told apart
    first, cands, addrs, errs = lookup(d.server, 'bare.test')
    assert (first, cands) == ('lookup ok', [('txt.test', 5269, 'starttls')])
    assert (addrs, errs) == ({}, {'txt.test': 'noservice'})


def test_addresses_both_families(dns):
    d = dns('--srv-host=_xmpp-server._tcp.dual.test,host.dual.test,5999,0,0',
            '--host-record=host.dual.test,127.0.0.7,::7',
            '--host-record=host.dual.test,127.0.0.8')
    first, cands, addrs, _ = lookup(d.server, 'dual.test')
    assert first == 'lookup ok' and cands == [('host.dual.test', 5999, 'starttls')]
    assert sorted(addrs['host.dual.test']) == [('127.0.0.7', 5999), ('127.0.0.8', 5999),
                                               ('::7', 5999)]


@pytest.mark.timing
def test_silent_resolver_times_out_within_bound():
    # a socket bound and never read: every query goes unanswered
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(('127.0.0.1', 0))
        server = '127.0.0.1:%d' % silent.getsockname()[1]
        t = time.monotonic()
        rc, lines = srvlookup(server, 'slow.test', timeout=TIMEOUT)
        took = time.monotonic() - t
    assert (rc, lines) == (1, ['lookup timeout'])
    # not before the bound (it must have waited), and not long after it
    # (process start under the sanitizers included)
    assert TIMEOUT - 0.2 <= took < TIMEOUT + 1.5, took
