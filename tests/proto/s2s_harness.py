"""s2s_harness.py - a private federation for server-to-server tests.

Everything of one federation test lives in ONE network namespace of its
own (a fresh `ip netns add`, unique name, deleted at the end; lo and a
veth pair with both ends inside, nothing linked to the host's network):
there 127.0.0.0/8 is private to the test, so port 53 is free for the DNS
server, and each XMPP server gets its own loopback address and ports
without clashing with the host or with tests running in parallel.

PKI(dir)     a private CA made with the `openssl` CLI: cert(domain, ...)
             gives (certificate, key) signed by it, with subjectAltName
             dNSName = domain and optionally the XmppAddr (id-on-xmppAddr,
             1.3.6.1.5.5.7.8.5) and SRV-ID (id-on-dnsSRV, 1.3.6.1.5.5.7.8.7,
             _xmpp-server.DOMAIN) otherNames; names= for a certificate made
             out to other names (one that does not match the domain);
             self_signed(domain) one not from the CA. Files are cached: the
             fixture `pki` is one PKI per test session (per xdist worker).
Netns        the namespace: popen(argv) runs a program in it with
             /etc/resolv.conf ("nameserver 127.0.0.1") and /etc/hosts
             (localhost only) bind-mounted over the host's in a private
             mount namespace (`ip netns exec NAME unshare --mount
             --propagation private sh -c 'mount --bind ...; exec PROG'`),
             so its system resolver asks the test's dnsmasq and nothing on
             the host changes; call(fn, ...) runs fn in a thread that has
             entered the namespace (setns(2)), so every socket it makes -
             slixmpp clients, raw sockets - is in there (run_clients() is
             clients.run() that way); connect(addr, port) a socket in it.
Dnsmasq      dnsmasq on 127.0.0.1:53 of the namespace, answering .test names
             from the records given (SRV _xmpp-server._tcp / _xmpps-server._tcp
             and A records), nothing else (--local=/test/, no upstream).
Prosody      a private Prosody 0.12 for one domain in the namespace: own
             config, data dir and log file, c2s and s2s on its own address
             and ports, certificate from the PKI (or any), the CA trusted,
             s2s_secure_auth on or off, accounts via adduser() (prosodyctl
             register).
Federation   ties it together (fixture `federation`, not started):
             fed.prosody(domain, cert="ca"|"ca+ids"|"self"|"mismatch"|(crt, key),
             secure_auth=True, srv=True) declares a Prosody (own address
             127.0.1.N, non-default ports, SRV + A records published);
             fed.reserve(domain) an address and s2s port with records, for
             any other server; fed.add_records(srv_record(...),
             a_record(...), ...) more records; fed.start() creates the
             namespace, starts dnsmasq and every declared Prosody;
             fed.xmppd(domain, **Server kw) then starts an xmppd deployment
             (harness.Server with wrap=Netns.prefix(): systemd-socket-
             activate and its handlers in the namespace, resolving through
             dnsmasq; its Redis on a unix socket, reachable from the test);
             fed.restart_dns() after records added late; fed.popen(argv)
             any program in there; fed.run_clients(coroutine function)
             slixmpp clients in there; fed.logs() the tail of every log, for
             failure messages; fed.dns_log() every query dnsmasq answered.
             Everything is stopped by PID and the namespace deleted at
             teardown, also when the test fails (a sanitizer report of an
             xmppd started by fed.xmppd() fails the test there).

A federation test of xmppd, once it speaks s2s, looks like:

    from s2s_harness import federation, pki   # noqa: F401 (fixtures)

    def test_xmppd_to_prosody(federation):
        fed = federation
        fed.prosody("b.test", secure_auth=True)
        fed.servers["b.test"].adduser("bob", PW)
        crt, key = fed.pki.cert("a.test")   # the CA: fed.pki.ca_cert
        fed.start()
        # c2s on listener 0, inbound s2s on listener 1, which the SRV
        # record of a.test names (x.host:x.s2s_port)
        x = fed.xmppd("a.test", listeners=2, s2s_listener=1,
                      listener_progs=[None, "xmpp-s2s-in"], s2s="yes", ...)
        x.adduser("alice@a.test", PW)
        # the outbound side, in the namespace too (resolves b.test there)
        fed.popen([BUILD / "xmpp-s2s-out", ...], log=x.dir + "/out.log",
                  env=dict(SAN_ENV, XMPP_CONFIG=x.conf_path))
        fed.run_clients(coroutine)          # alice@a.test -> bob@b.test

Prosody's resolver waits about a second between the _xmpps-server and
_xmpp-server look-ups, so a first s2s connection takes 1-2 s.

No skipping: without root, iproute2, unshare, openssl, dnsmasq or prosody
the fixtures FAIL and say what is missing.
"""
import ctypes
import contextlib
import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DNSMASQ = "/usr/sbin/dnsmasq"
PROSODY = "/usr/bin/prosody"
PROSODYCTL = "/usr/bin/prosodyctl"
OPENSSL = "openssl"
START_TIMEOUT = 15.0
CLONE_NEWNET = 0x40000000
OID_XMPPADDR = "1.3.6.1.5.5.7.8.5"
OID_DNSSRV = "1.3.6.1.5.5.7.8.7"

_seq = itertools.count(1)


def need(condition, what):
    """Fail (never skip) with a clear message when a requirement is missing."""
    if not condition:
        pytest.fail("s2s harness: " + what + " (these tests are never skipped)", pytrace=False)


def check_requirements():
    need(os.geteuid() == 0, "needs root for network and mount namespaces (euid %d)" % os.geteuid())
    for tool in ("ip", "unshare", "mount", OPENSSL):
        need(shutil.which(tool), "'%s' not found in PATH" % tool)
    need(os.access(DNSMASQ, os.X_OK), "%s is missing: install dnsmasq-base (sh tests/deps.sh)"
         % DNSMASQ)


def run(argv, check=True, timeout=30, **kw):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                       **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (" ".join(str(a) for a in argv), p.returncode,
                                                 (p.stderr or p.stdout).strip()))
    return p


def stop_proc(p, timeout=5.0):
    """SIGTERM by PID, then SIGKILL; always reaped."""
    if p is None:
        return
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout)


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        r = cond()
        if r:
            return r
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.05)


def tail(path, n=6000):
    try:
        return Path(path).read_text(errors="replace")[-n:]
    except OSError:
        return "(no %s)" % path


# ---- certificates ----

class PKI:
    """A private CA in dir (made on first use) and certificates signed by it."""

    def __init__(self, dir):
        self.dir = Path(dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_cert = self.dir / "ca.crt"
        self.ca_key = self.dir / "ca.key"
        self._lock = threading.Lock()
        if not self.ca_cert.exists():
            self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.ca_key,
                          "-out", self.ca_cert, "-days", "2", "-subj", "/CN=xmppd test CA",
                          "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def _openssl(self, *args):
        run([OPENSSL] + list(args))

    def _newkey(self, key):
        self._openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-out", key)

    @staticmethod
    def _san(domain, names, xmppaddr, srvid):
        names = list(names) if names else [domain]
        san = ["DNS:" + n for n in names]
        if xmppaddr:
            san += ["otherName:%s;UTF8:%s" % (OID_XMPPADDR, n) for n in names]
        if srvid:
            san += ["otherName:%s;IA5STRING:_xmpp-server.%s" % (OID_DNSSRV, n) for n in names]
        return ",".join(san)

    def cert(self, domain, xmppaddr=False, srvid=False, names=None):
        """(certificate path, key path) for domain, signed by the CA.
        subjectAltName: dNSName for each of names (default [domain]), plus
        id-on-xmppAddr and/or id-on-dnsSRV (_xmpp-server.NAME) otherNames.
        names=["other.test"] gives a certificate that does NOT match domain."""
        tag = "%s%s%s-%s" % (domain, "-x" if xmppaddr else "", "-s" if srvid else "",
                             "_".join(names) if names else "")
        crt, key = self.dir / (tag + ".crt"), self.dir / (tag + ".key")
        with self._lock:
            if crt.exists():
                return str(crt), str(key)
            self._newkey(key)
            csr, ext = self.dir / (tag + ".csr"), self.dir / (tag + ".ext")
            cn = (names or [domain])[0]
            self._openssl("req", "-new", "-key", key, "-out", csr, "-subj", "/CN=" + cn)
            ext.write_text("[ext]\nbasicConstraints=CA:FALSE\n"
                           "keyUsage=critical,digitalSignature,keyEncipherment\n"
                           "extendedKeyUsage=serverAuth,clientAuth\n"
                           "subjectAltName=%s\n" % self._san(domain, names, xmppaddr, srvid))
            self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
                          "-CAcreateserial", "-out", str(crt) + ".tmp", "-days", "2",
                          "-extfile", ext, "-extensions", "ext")
            os.rename(str(crt) + ".tmp", crt)
        return str(crt), str(key)

    def self_signed(self, domain):
        """(certificate path, key path): self-signed, dNSName = domain, not from the CA."""
        crt, key = self.dir / (domain + "-self.crt"), self.dir / (domain + "-self.key")
        with self._lock:
            if not crt.exists():
                self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                              "-out", str(crt) + ".tmp", "-days", "2", "-subj", "/CN=" + domain,
                              "-addext", "subjectAltName=DNS:" + domain)
                os.rename(str(crt) + ".tmp", crt)
        return str(crt), str(key)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """One private CA per test session (per xdist worker)."""
    need(shutil.which(OPENSSL), "'openssl' not found in PATH")
    return PKI(tmp_path_factory.mktemp("xmppd-pki"))


# ---- the network namespace ----

_libc = ctypes.CDLL(None, use_errno=True)


class Netns:
    """One named network namespace (lo, and a veth pair with both ends
    inside), and the programs run in it."""

    RESOLV = "nameserver 127.0.0.1\noptions timeout:1 attempts:2\n"
    HOSTS = "127.0.0.1 localhost\n::1 localhost\n"
    DUMMY4 = "192.0.2.1/32"        # TEST-NET-1, on eth0 (see create())
    DUMMY6 = "2001:db8::1/128"     # documentation prefix

    def __init__(self, dir):
        self.name = "xmppd-s2s-%d-%d-%s" % (os.getpid(), next(_seq), secrets.token_hex(2))
        self.dir = Path(dir)
        self.resolv = self.dir / "resolv.conf"
        self.hosts = self.dir / "hosts"
        self.made = False
        self.procs = []

    def create(self):
        check_requirements()
        self.resolv.write_text(self.RESOLV)
        self.hosts.write_text(self.HOSTS)
        try:
            run(["ip", "netns", "add", self.name])
            self.made = True
            run(["ip", "-n", self.name, "link", "set", "lo", "up"])
            # A non-loopback address of each family: getaddrinfo() with
            # AI_ADDRCONFIG (getent ahosts, many programs) answers nothing
            # for a family the host has no such address of, and with only
            # lo every name would "not exist".
            # (a veth pair with both ends in the namespace: the "dummy"
            # link type needs a kernel module that may be absent)
            run(["ip", "-n", self.name, "link", "add", "eth0", "type", "veth", "peer", "name",
                 "eth1"])
            run(["ip", "-n", self.name, "addr", "add", self.DUMMY4, "dev", "eth0"])
            run(["ip", "-n", self.name, "addr", "add", self.DUMMY6, "dev", "eth0", "nodad"])
            run(["ip", "-n", self.name, "link", "set", "eth0", "up"])
            run(["ip", "-n", self.name, "link", "set", "eth1", "up"])
        except AssertionError as e:
            need(False, "cannot create a network namespace: %s" % e)
        return self

    def prefix(self, resolv=True):
        """The command prefix that runs a program in the namespace, with the
        test's resolv.conf and hosts bind-mounted (resolv=True) in a private
        mount namespace of its own (nothing of the host's /etc changes)."""
        cmd = ["ip", "netns", "exec", self.name]
        if resolv:
            cmd += ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts && '
                    'shift 2 && exec "$@"', "sh", str(self.resolv), str(self.hosts)]
        return cmd

    def popen(self, argv, log=None, env=None, cwd=None, stdin=subprocess.DEVNULL,
              stdout=None, resolv=True):
        """Start argv in the namespace, with /etc/resolv.conf and /etc/hosts
        replaced (resolv=True) in a private mount namespace. Every program in
        the chain execs the next, so Popen.pid is argv's own PID. stderr (and
        stdout unless given) go to log (appended) or /dev/null. Stopped at
        destroy() unless stopped before."""
        out = open(log, "ab") if log else subprocess.DEVNULL
        cmd = self.prefix(resolv)
        p = subprocess.Popen(cmd + [str(a) for a in argv], stdin=stdin,
                             stdout=stdout if stdout is not None else out, stderr=out,
                             env=env, cwd=cwd)
        if log:
            out.close()
        self.procs.append(p)
        return p

    def run(self, argv, timeout=30, resolv=True, **kw):
        """subprocess.run of argv in the namespace (see popen): CompletedProcess."""
        cmd = self.prefix(resolv)
        return subprocess.run(cmd + [str(a) for a in argv], capture_output=True, text=True,
                              timeout=timeout, **kw)

    def call(self, fn, *args, **kw):
        """fn(*args, **kw) in a new thread that entered the namespace first,
        so every socket it (and threads it starts) creates lives there.
        Returns fn's result or raises its exception."""
        box = {}

        def body():
            try:
                fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
                try:
                    if _libc.setns(fd, CLONE_NEWNET) != 0:
                        e = ctypes.get_errno()
                        raise OSError(e, "setns(%s): %s" % (self.name, os.strerror(e)))
                finally:
                    os.close(fd)
                box["r"] = fn(*args, **kw)
            except BaseException as e:     # handed to the caller
                box["e"] = e
        t = threading.Thread(target=body, name="netns-" + self.name, daemon=True)
        t.start()
        t.join()
        if "e" in box:
            raise box["e"]
        return box.get("r")

    def connect(self, addr, port, timeout=5.0):
        """A TCP socket connected to addr:port inside the namespace."""
        return self.call(socket.create_connection, (addr, port), timeout)

    def port_open(self, addr, port):
        try:
            self.connect(addr, port, timeout=1.0).close()
            return True
        except OSError:
            return False

    def run_clients(self, factory, timeout=30.0):
        """clients.run(factory, timeout) inside the namespace: slixmpp
        clients made by factory() reach the namespace's servers."""
        import clients as C
        return self.call(C.run, factory, timeout)

    def pids(self):
        """PIDs of the processes in the namespace now."""
        if not self.made:
            return []
        out = run(["ip", "netns", "pids", self.name], check=False).stdout
        return [int(w) for w in out.split() if w.isdigit()]

    def destroy(self):
        """Stop what we started (by PID), then anything still in the
        namespace (started there by those: by construction ours; named as a
        problem), then delete it. Returns the problems."""
        problems = []
        for p in reversed(self.procs):
            stop_proc(p)
        left = [pid for pid in self.pids() if pid != os.getpid()]
        if left:
            problems.append("processes left in namespace %s, killed: %s" % (self.name, left))
            for sig in (signal.SIGTERM, signal.SIGKILL):
                for pid in left:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
                deadline = time.monotonic() + 3
                while self.pids() and time.monotonic() < deadline:
                    time.sleep(0.05)
        if self.made:
            run(["ip", "netns", "del", self.name], check=False)
            left = self.name in run(["ip", "netns", "list"], check=False).stdout
            self.made = False
            if left:
                problems.append("network namespace %s left behind" % self.name)
        return problems


# ---- DNS ----

class Dnsmasq:
    """dnsmasq on 127.0.0.1:53 of the namespace, answering only from records
    (dnsmasq options: --srv-host=..., --host-record=...)."""

    def __init__(self, net, records, dir):
        self.net = net
        self.records = list(records)
        self.log = os.path.join(dir, "dnsmasq.log")
        self.proc = None

    def start(self):
        args = [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--bind-interfaces", "--listen-address=127.0.0.1", "--port=53",
                "--local=/test/", "--log-queries", "--log-facility=-"] + self.records
        start = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        self.proc = self.net.popen(args, log=self.log, resolv=False)

        def started():      # "started" is logged once its sockets are bound
            with open(self.log, errors="replace") as f:
                f.seek(start)
                return "started" in f.read()
        wait_for(lambda: self.proc.poll() is not None or started(),
                 START_TIMEOUT, "dnsmasq to start")
        if self.proc.poll() is not None:
            raise AssertionError("dnsmasq exited (%s):\n%s" % (self.proc.returncode,
                                                              tail(self.log)))
        return self

    def stop(self):
        stop_proc(self.proc)


def srv_record(domain, host, port, service="xmpp-server", priority=0, weight=0):
    """dnsmasq option for an SRV record _SERVICE._tcp.DOMAIN -> host:port."""
    return "--srv-host=_%s._tcp.%s,%s,%d,%d,%d" % (service, domain, host, port, priority, weight)


def a_record(host, addr):
    return "--host-record=%s,%s" % (host, addr)


# ---- Prosody ----

def _prosody_encode(s):
    """Prosody's datamanager path encoding (every non-alphanumeric byte as %xx)."""
    return "".join(c if c.isalnum() else "%%%02x" % ord(c) for c in s)


def _lua(s):
    return '"%s"' % str(s).replace("\\", "\\\\").replace('"', '\\"')


class Prosody:
    """A private Prosody for one domain in the namespace."""

    MODULES = ("roster", "saslauth", "tls", "dialback", "disco", "ping", "posix")

    def __init__(self, net, domain, addr, c2s_port, s2s_port, cert, key, cafile,
                 secure_auth=True, extra_modules=(), extra_config="", host_config="",
                 direct_tls_port=None):
        self.net, self.domain, self.addr = net, domain, addr
        self.c2s_port, self.s2s_port = c2s_port, s2s_port
        self.cert, self.key, self.cafile = cert, key, cafile
        self.secure_auth = secure_auth
        self.direct_tls_port = direct_tls_port
        self.modules = list(self.MODULES) + list(extra_modules)
        self.extra_config, self.host_config = extra_config, host_config
        self.dir = Path(net.dir) / ("prosody-" + domain)
        self.data = self.dir / "data"
        self.cfg = self.dir / "prosody.cfg.lua"
        self.logfile = self.dir / "prosody.log"
        self.out = self.dir / "out.log"
        self.proc = None
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(exist_ok=True)
        (self.dir / "certs").mkdir(exist_ok=True)      # empty: certificates are named in ssl

    def config(self):
        return """-- written by tests/proto/s2s_harness.py
run_as_root = true
pidfile = %(pid)s
data_path = %(data)s
certificates = %(certs)s
log = { { levels = { min = "debug" }, to = "file", filename = %(log)s } }
interfaces = { %(addr)s }
c2s_ports = { %(c2s)d }
s2s_ports = { %(s2s)d }
network_backend = "epoll"
modules_enabled = { %(mods)s }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
s2s_require_encryption = true
s2s_secure_auth = %(secure)s
-- a peer that never completes a stream fails a test in seconds, not 90 s
s2s_timeout = 10
s2s_close_timeout = 2
authentication = "internal_plain"
storage = "internal"
ssl = { cafile = %(ca)s }
%(direct)s
%(extra)s
VirtualHost %(domain)s
  ssl = { certificate = %(cert)s, key = %(key)s }
%(hostcfg)s
""" % {"pid": _lua(self.dir / "prosody.pid"), "data": _lua(self.data),
            "log": _lua(self.logfile), "certs": _lua(self.dir / "certs"),
            "addr": _lua(self.addr), "c2s": self.c2s_port,
            "s2s": self.s2s_port, "mods": "; ".join(_lua(m) for m in self.modules),
            "secure": "true" if self.secure_auth else "false", "ca": _lua(self.cafile),
            "extra": self.extra_config,
            # XEP-0368 direct TLS: its own port and certificate (the
            # VirtualHost's ssl does not reach that listener)
            "direct": ("s2s_direct_tls_ports = { %d }\n"
                       "s2s_direct_tls_ssl = { certificate = %s, key = %s }"
                       % (self.direct_tls_port, _lua(self.cert), _lua(self.key)))
            if self.direct_tls_port else "", "domain": _lua(self.domain), "cert": _lua(self.cert),
            "key": _lua(self.key), "hostcfg": self.host_config}

    def adduser(self, user, password):
        """An account user@domain, made with `prosodyctl --config CFG
        register` (internal_plain storage: about 0.1 s). Returns the JID."""
        need(os.access(PROSODYCTL, os.X_OK), "%s is missing: install prosody" % PROSODYCTL)
        self.cfg.write_text(self.config())
        p = run([PROSODYCTL, "--config", self.cfg, "register", user, self.domain, password],
                check=False)
        f = self.data / _prosody_encode(self.domain) / "accounts" / (
            _prosody_encode(user) + ".dat")
        assert p.returncode == 0 and f.exists(), "prosodyctl register %s@%s: exit %d: %s" % (
            user, self.domain, p.returncode, p.stdout + p.stderr)
        return "%s@%s" % (user, self.domain)

    def start(self):
        need(os.access(PROSODY, os.X_OK), "%s is missing: install prosody" % PROSODY)
        self.cfg.write_text(self.config())
        self.proc = self.net.popen([PROSODY, "--config", self.cfg, "-F"], log=self.out,
                                   cwd=str(self.dir))
        wait_for(lambda: self.proc.poll() is not None or (
            self.net.port_open(self.addr, self.c2s_port) and
            self.net.port_open(self.addr, self.s2s_port) and
            (not self.direct_tls_port or self.net.port_open(self.addr, self.direct_tls_port))),
            START_TIMEOUT,
            "prosody for %s to listen" % self.domain)
        if self.proc.poll() is not None:
            raise AssertionError("prosody for %s exited (%s):\n%s\n%s" % (
                self.domain, self.proc.returncode, tail(self.out), tail(self.logfile)))
        return self

    def stop(self):
        stop_proc(self.proc)

    def log(self):
        return Path(self.logfile).read_text(errors="replace") if self.logfile.exists() else ""


# ---- the federation ----

class Federation:
    """A namespace, its dnsmasq and servers. Declare servers and records,
    then start(); stop() tears down everything (done by the fixture)."""

    def __init__(self, pki, dir):
        self.pki = pki
        self.dir = Path(dir)
        self.net = Netns(self.dir)
        self.records = []
        self.servers = {}         # domain -> Prosody
        self.xmppds = []          # harness.Server, started by xmppd()
        self.dns = None
        self._next_addr = itertools.count(1)
        self._next_port = itertools.count(0)

    def address(self):
        """A fresh loopback address of the namespace for one server (127.0.1.N)."""
        return "127.0.1.%d" % next(self._next_addr)

    def port(self):
        """A fresh port, never a default XMPP one (ports are private to the namespace)."""
        return 20000 + next(self._next_port)

    def add_records(self, *records):
        """Extra dnsmasq options (srv_record(), a_record(), --cname=...);
        before start()."""
        self.records += list(records)

    def publish(self, domain, addr, s2s_port, host=None, direct_tls_port=None):
        """SRV _xmpp-server._tcp.DOMAIN -> HOST:s2s_port (HOST defaults to
        xmpp.DOMAIN) and HOST's A record; with direct_tls_port also
        _xmpps-server._tcp.DOMAIN -> HOST:direct_tls_port. Returns HOST."""
        host = host or "xmpp." + domain
        self.add_records(srv_record(domain, host, s2s_port), a_record(host, addr))
        if direct_tls_port:
            self.add_records(srv_record(domain, host, direct_tls_port, service="xmpps-server"))
        return host

    def reserve(self, domain, srv=True, direct_tls=False):
        """An address and an s2s port for a server that is not a Prosody
        (e.g. xmppd's listener, started with popen()), published as
        domain's SRV and A records when srv (and an _xmpps-server record
        on a second port when direct_tls). Returns (addr, port) or, with
        direct_tls, (addr, port, direct_tls_port). Before start(), or
        followed by restart_dns()."""
        addr, port = self.address(), self.port()
        tls_port = self.port() if direct_tls else None
        if srv:
            self.publish(domain, addr, port, direct_tls_port=tls_port)
        return (addr, port, tls_port) if direct_tls else (addr, port)

    def restart_dns(self):
        """Restart dnsmasq with the records as they are now (after
        add_records() on a running federation)."""
        self.dns.stop()
        self.dns = Dnsmasq(self.net, self.records, self.dir).start()

    def prosody(self, domain, cert="ca", secure_auth=True, srv=True, direct_tls=False, **kw):
        """Declare a Prosody for domain (started by start()). cert: "ca" (a
        CA-signed certificate for domain), "ca+ids" (with XmppAddr and
        SRV-ID too), "self" (self-signed), "mismatch" (CA-signed for
        other-DOMAIN), or a (cert, key) pair. srv: publish its SRV and A
        records. direct_tls: also a direct TLS s2s port (XEP-0368,
        p.direct_tls_port), published as _xmpps-server._tcp.DOMAIN. Other
        keywords go to Prosody()."""
        if cert == "ca":
            cert = self.pki.cert(domain)
        elif cert == "ca+ids":
            cert = self.pki.cert(domain, xmppaddr=True, srvid=True)
        elif cert == "self":
            cert = self.pki.self_signed(domain)
        elif cert == "mismatch":
            cert = self.pki.cert(domain, names=["other-" + domain])
        addr = self.address()
        p = Prosody(self.net, domain, addr, self.port(), self.port(), cert[0], cert[1],
                    str(self.pki.ca_cert), secure_auth=secure_auth,
                    direct_tls_port=self.port() if direct_tls else None, **kw)
        if srv:
            self.publish(domain, addr, p.s2s_port, direct_tls_port=p.direct_tls_port)
        self.servers[domain] = p
        return p

    def start(self):
        self.net.create()
        self.dns = Dnsmasq(self.net, self.records, self.dir).start()
        for p in self.servers.values():
            p.start()
        return self

    def xmppd(self, domain, listeners=1, srv=True, s2s_listener=None, **kw):
        """Start an xmppd deployment (harness.Server: its own Redis on a unix
        socket, xmpp.conf with domain = domain) whose listeners and handlers
        run in the namespace on a fresh address of their own (server.host,
        server.ports), resolving through the test's dnsmasq. server.s2s_port
        is listener s2s_listener's port (e.g. listener_progs=[None,
        "xmpp-s2s-in"], s2s_listener=1), else a free port of that address
        for a federation listener the test starts itself (popen()). With
        srv, domain's SRV and A records point there (dnsmasq is restarted
        to publish them). After start(); stopped at teardown (a sanitizer
        report then fails the test). kw: Server() arguments (listener_progs,
        listener_args, handler_env, ...) and xmpp.conf lines."""
        from harness import Server
        addr = self.address()
        s = Server(listeners, wrap=self.net.prefix(), host=addr, domain=domain, **kw)
        self.xmppds.append(s)
        s.start()
        s.s2s_port = s.ports[s2s_listener] if s2s_listener is not None else self.port()
        if srv:
            self.publish(domain, addr, s.s2s_port)
            self.restart_dns()
        return s

    def prefix(self, resolv=True):
        """The command prefix that runs a program in the namespace, with the
        test's resolv.conf and hosts bind-mounted (resolv=True) in a private
        mount namespace of its own (nothing of the host's /etc changes)."""
        cmd = ["ip", "netns", "exec", self.name]
        if resolv:
            cmd += ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts && '
                    'shift 2 && exec "$@"', "sh", str(self.resolv), str(self.hosts)]
        return cmd

    def popen(self, argv, **kw):
        """Netns.popen: a program (e.g. one of xmppd's) in the namespace,
        resolving through the test's dnsmasq; stopped at teardown."""
        return self.net.popen(argv, **kw)

    def run_clients(self, factory, timeout=30.0):
        return self.net.run_clients(factory, timeout)

    @contextlib.contextmanager
    def explain(self, *logs):
        """Within it, a failure (an assertion, a client's timeout) becomes an
        AssertionError showing every log of the harness (logs()) and each of
        logs, (name, function returning the log's text) pairs."""
        try:
            yield
        except BaseException as e:
            extra = "".join("\n--- %s ---\n%s" % (name, text()[-4000:]) for name, text in logs)
            raise AssertionError("%s: %s\n%s%s" % (type(e).__name__, e, self.logs(), extra)) \
                from None

    def dns_log(self):
        """What dnsmasq logged so far (with --log-queries: every query)."""
        return tail(self.dir / "dnsmasq.log", 10 ** 7)

    def logs(self, n=6000):
        """The tail of every log (dnsmasq, each Prosody) for a failure message."""
        out = ["--- dnsmasq ---\n" + tail(self.dir / "dnsmasq.log", n)]
        for d, p in self.servers.items():
            out.append("--- prosody %s (stdout) ---\n%s" % (d, tail(p.out, 2000)))
            out.append("--- prosody %s ---\n%s" % (d, tail(p.logfile, n)))
        return "\n".join(out)

    def stop(self):
        """Stop everything; returns the problems found (sanitizer reports,
        a namespace left behind)."""
        problems = []
        for s in self.xmppds:
            try:
                s.stop()
            except AssertionError as e:
                problems.append(str(e))
        for p in self.servers.values():
            p.stop()
        if self.dns:
            self.dns.stop()
        return problems + self.net.destroy()


@pytest.fixture
def federation(pki):
    """A Federation (not started): declare servers, then call start()."""
    dir = tempfile.mkdtemp(prefix="xmppd-s2s-")
    fed = Federation(pki, dir)
    try:
        yield fed
    finally:
        problems = fed.stop()
        if not os.environ.get("XMPPD_KEEP_TMP"):
            shutil.rmtree(dir, ignore_errors=True)
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)
