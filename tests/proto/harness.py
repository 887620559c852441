"""harness.py - run xmppd for protocol tests, talk raw XML to it, replay transcripts.

Server       one xmppd "deployment": a private redis-server on a unix socket in a
             temp dir, an xmpp.conf, and N listeners, each a
             `systemd-socket-activate --inetd -a` on 127.0.0.1 running
             $XMPPD_BUILD/xmpp-handler per connection (one listener = one host).
             listener_args gives listener i extra handler arguments (e.g.
             ["-T"] for direct TLS), listener_progs the program listener i
             runs instead of xmpp-handler (e.g. "xmpp-web": WebSocket and
             HTTP, test_websocket.py), handler_env extra environment variables for every handler (e.g.
             CREDENTIALS_DIRECTORY).
Raw          a socket client that parses what the server sends with
             ElementTree's XMLPullParser: the stream header is the open root,
             each depth-1 element is reported whole, the end of the stream and
             the end of the socket are reported too.
Transcript   a *.xmpp file (syntax in the Transcript docstring) replayed
             against a fresh Server with a Raw client.
Pump         a Raw client read by a background thread, which keeps every
             element and answers the server's delivery pings (xmppd-ack-N),
             for tests that send and receive at the same time (floods, faults).

Everything started here is stopped by PID. Every wait has a timeout (TIMEOUT).
"""
import hashlib
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("XMPPD_BUILD", ROOT / "build" / "san")).resolve()
TIMEOUT = 5.0

NS_STREAMS = "http://etherx.jabber.org/streams"
NS_CLIENT = "jabber:client"
NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_STREAM_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
NS_STANZA_ERR = "urn:ietf:params:xml:ns:xmpp-stanzas"

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1"


def _lsan_works():
    """LeakSanitizer cannot run under ptrace (strace, gdb, some sandboxes):
    it then dies with a "fatal error" at exit. Probe once with xmppctl."""
    try:
        p = subprocess.run([str(BUILD / "xmppctl"), "--no-such-option"],
                           capture_output=True, text=True, timeout=TIMEOUT,
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    except OSError:
        return True
    return "LeakSanitizer has encountered a fatal error" not in p.stderr and \
        "does not work under ptrace" not in p.stderr


ASAN_OPTIONS = "abort_on_error=0:detect_leaks=%d" % (1 if _lsan_works() else 0)
SAN_ENV = dict(os.environ, ASAN_OPTIONS=ASAN_OPTIONS, UBSAN_OPTIONS=UBSAN_OPTIONS)


def wait_until(cond, timeout=TIMEOUT, what="condition"):
    """Poll cond() until it returns something true; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        r = cond()
        if r:
            return r
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def stop_procs(procs, tmpdir):
    """Terminate each Popen of procs (SIGKILL after TIMEOUT), then remove
    tmpdir unless XMPPD_KEEP_TMP is set (failure reports read it)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if not os.environ.get("XMPPD_KEEP_TMP"):
        shutil.rmtree(tmpdir, ignore_errors=True)


def log_tails(paths, base, n=20):
    """The last n lines of each log file of paths (named relative to
    base), for a failure's message."""
    out = []
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()[-n:]
        except OSError:
            continue
        out.append("%s:\n%s" % (os.path.relpath(path, base), "\n".join(lines)))
    return "\n\n".join(out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_listening(tmpdir, what, cmd_of, up, pick_port=free_port, tries=5):
    """Start cmd_of(port, dir, log) (a server of kind what, in its own dir
    tmpdir/what-PORT) on a port pick_port gives, another one when that
    was taken meanwhile, until up(port): (port, Popen, log path).
    AssertionError with the tried logs when it never came up."""
    tried = []
    for _ in range(tries):
        port = pick_port()
        d = os.path.join(tmpdir, "%s-%d" % (what, port))
        os.makedirs(d, exist_ok=True)
        log = os.path.join(d, "log")
        tried.append(log)
        p = subprocess.Popen(cmd_of(port, d, log), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: p.poll() is not None or up(port),
                       what="%s on port %d" % (what, port))
        except AssertionError:
            p.kill()
            p.wait()
            raise
        if p.poll() is None:
            return port, p, log
    raise AssertionError("could not start %s:\n%s" % (what, log_tails(tried, tmpdir)))


def _children(pid):
    """PIDs whose parent is pid (live ones only: zombies do not count)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            kids.append(int(d))
    return kids


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


# ---- Redis ----

class RedisError(Exception):
    pass


def _resp_command(args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


def redis_call(addr, *args, timeout=TIMEOUT, auth=None):
    """One command over RESP2: str, int, list, None or RedisError. addr is
    a unix socket path or a (host, port) pair; auth: a password sent with
    AUTH first."""
    tcp = isinstance(addr, tuple)
    with socket.socket(socket.AF_INET if tcp else socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(addr)
        f = s.makefile("rb")
        if auth is not None:
            s.sendall(_resp_command(("AUTH", auth)))
            _resp_read(f)
        s.sendall(_resp_command(args))
        return _resp_read(f)


def _resp_read(f):
    line = f.readline()
    if not line:
        raise RedisError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise RedisError("bad reply %r" % line)


# ---- the server ----

class Server:
    """A running xmppd: Redis, config and listeners. Use as a context manager
    or call start()/stop()."""

    DEFAULTS = {"domain": "localhost", "allow_plaintext_auth": "yes",
                "auth_fail_delay_ms": "50"}

    def __init__(self, listeners=1, listener_args=None, handler_env=None, redis_args=(),
                 handler_cmd=None, listen=None, listen_fdnames=None, listener_progs=None,
                 wrap=None, host="127.0.0.1", redis_url=None, redis_addr=None,
                 redis_cluster=None, **conf):
        """listeners: how many; listener_args: one list of extra xmpp-handler
        arguments per listener (missing entries: none), e.g. [[], ["-T"]];
        listener_progs: per listener, the program in $XMPPD_BUILD to run
        instead of xmpp-handler (None or missing entries: xmpp-handler),
        e.g. [None, "xmpp-web"];
        handler_env: {name: value} set for every handler; redis_args: extra
        redis-server arguments, after ours so they override them (e.g.
        ["--appendonly", "yes"]); handler_cmd: what each listener runs per
        connection instead of [$XMPPD_BUILD/xmpp-handler] (e.g. a valgrind
        wrapper); listen: run handlers through xmpp-listen with these
        arguments (e.g. ["-l", "2"]) on a socket passed as systemd does with
        Accept=no, instead of one process per connection spawned by
        systemd-socket-activate itself; listen_fdnames: with listen, one
        FileDescriptorName per listener (xmpp-listen gives handlers of a
        socket named "xmpps" -T); wrap: a command prefix every listener
        runs under, which must exec its argument (e.g. the federation
        harness's Netns.prefix(): the listener and its handlers then live
        in the test's network namespace); host: the address listeners bind
        (with wrap, one of that namespace's); conf: xmpp.conf lines
        (True/False become yes/no; a list, one line per item, for keys
        given on several lines); redis_url: use the Redis the test runs
        itself (e.g. sentinel_harness.Sentinels): xmpp.conf's redis is this
        URL and no redis-server is started here; redis_addr, with it: where
        server.redis() (and so the tests' Redis checks) goes, a unix socket
        path, a (host, port) pair, or a function returning one when called
        (e.g. the primary the sentinels name now); redis_cluster: a
        cluster_harness.Cluster the test runs: redis_url defaults to its
        URL and server.redis() goes through its run() (each command to the
        node serving its key, key-less ones to every primary)."""
        self.dir = tempfile.mkdtemp(prefix="xmppd-test-")   # short: unix socket paths
        self.redis_args = [str(a) for a in redis_args]
        self.handler_cmd = [str(a) for a in handler_cmd] if handler_cmd else \
            [str(BUILD / "xmpp-handler")]
        self.listener_args = [list(a) for a in (listener_args or [])]
        self.listener_progs = list(listener_progs or [])
        self.handler_env = dict(handler_env or {})
        self.listen = None if listen is None else [str(a) for a in listen]
        self.listen_fdnames = list(listen_fdnames or [])
        self.domain = str(conf.get("domain", "localhost")).split(",")[0].split()[0]
        self.redis_sock = os.path.join(self.dir, "redis.sock")
        self.conf_path = os.path.join(self.dir, "xmpp.conf")
        self.nlisteners = listeners
        self.wrap = [str(a) for a in (wrap or [])]
        self.host = host
        self.redis_cluster = redis_cluster
        if redis_cluster and not redis_url:
            redis_url = redis_cluster.url()
        self.redis_url = redis_url
        self.redis_addr = redis_addr if redis_url else self.redis_sock
        self.conf = dict(self.DEFAULTS, redis=redis_url or "unix:" + self.redis_sock)
        for k, v in conf.items():
            self.conf[k] = ("yes" if v else "no") if isinstance(v, bool) else v
        self.ports = []
        self.listeners = []     # Popen
        self.logs = []          # stderr file of each listener
        self.redis_proc = None
        self.clients = []       # Raw clients to close before stopping

    @property
    def port(self):
        return self.ports[0]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        with open(self.conf_path, "w") as f:
            for k, v in self.conf.items():
                for one in v if isinstance(v, list) else [v]:
                    f.write("%s = %s\n" % (k, one))
        if not self.redis_url:
            self.start_redis()
        for i in range(self.nlisteners):
            self._start_listener(i)
        return self

    def start_redis(self):
        """Start redis-server on our unix socket and data dir; after
        stop_redis() it comes back on the same socket, dir and arguments."""
        self.redis_proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.redis_sock,
             "--unixsocketperm", "700", "--dir", self.dir, "--save", "",
             "--appendonly", "no", "--logfile", os.path.join(self.dir, "redis.log")]
            + self.redis_args,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._redis_up, what="redis-server PING")

    def stop_redis(self):
        """Stop redis-server by PID with SIGTERM (a normal shutdown, which
        writes the AOF if redis_args turned it on) and wait for it."""
        p = self.redis_proc
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(TIMEOUT * 2)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def handler_pids(self):
        """PIDs of the handlers running now, over all listeners."""
        return [k for p in self.listeners for k in _children(p.pid)]

    def handler_exits(self):
        """{pid: exit code} of every handler that has ended, from the
        listeners' "Child N died with code C" lines (for a handler killed
        by a signal, C is the signal number)."""
        log = self.log()
        exits = {int(m.group(1)): int(m.group(2))
                 for m in re.finditer(r"Child (\d+) died with code (-?\d+)", log)}
        for m in re.finditer(r"handler (\d+) (exited with status|killed by signal) (\d+)", log):
            exits[int(m.group(1))] = int(m.group(3))
        return exits

    def wait_handlers_exit(self, timeout=TIMEOUT):
        """Wait until every handler spawned so far has exited and its
        listener has logged its exit; returns handler_exits(). AssertionError
        naming the ones still running after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.findall(r"Spawned .* as PID (\d+)|handler (\d+) for", self.log())
            spawned = {int(a or b) for a, b in found}
            exits = self.handler_exits()
            if spawned <= set(exits):
                return exits
            if time.monotonic() > deadline:
                raise AssertionError("handlers still running %.0f s later: %s" % (
                    timeout, sorted(spawned - set(exits))))
            time.sleep(0.05)

    def _redis_up(self):
        if self.redis_proc.poll() is not None:
            raise AssertionError("redis-server exited with %s" % self.redis_proc.returncode)
        try:
            return self.redis("PING") == "PONG"
        except (OSError, RedisError):      # not listening yet, or LOADING its data
            return False

    def _start_listener(self, i):
        log = os.path.join(self.dir, "listener%d.log" % i)
        extra = self.listener_args[i] if i < len(self.listener_args) else []
        prog = self.listener_progs[i] if i < len(self.listener_progs) else None
        cmd = [str(BUILD / prog)] if prog else self.handler_cmd
        env = [a for k, v in sorted(self.handler_env.items()) for a in ("-E", "%s=%s" % (k, v))]
        for _ in range(5):                 # a port taken meanwhile: try another
            port = free_port()
            with open(log, "ab") as f:
                start = f.tell()
                mode = ["--inetd", "-a"] if self.listen is None else \
                    ["--fdname=" + self.listen_fdnames[i]] if i < len(self.listen_fdnames) else []
                spawner = [] if self.listen is None else \
                    [str(BUILD / "xmpp-listen")] + self.listen
                p = subprocess.Popen(
                    self.wrap + ["systemd-socket-activate"] + mode + [
                     "-l", "%s:%d" % (self.host, port),
                     "-E", "XMPP_CONFIG=" + self.conf_path, "-E", "ASAN_OPTIONS=" + ASAN_OPTIONS,
                     "-E", "UBSAN_OPTIONS=" + UBSAN_OPTIONS] + env +
                    spawner + cmd + extra,
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=f)

            def listening():
                with open(log, "rb") as f:
                    f.seek(start)
                    return b"Listening on" in f.read() or p.poll() is not None
            wait_until(listening, what="systemd-socket-activate on port %d" % port)
            if p.poll() is None:
                self.ports.append(port)
                self.listeners.append(p)
                self.logs.append(log)
                return
        raise AssertionError("could not start a listener:\n" + self.log())

    def stop(self):
        """Close our clients, let handlers finish (so sanitizers report), stop
        listeners and Redis by PID, then fail on any sanitizer report."""
        for c in self.clients:
            c.close()
        handlers = set()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            kids = [k for p in self.listeners for k in _children(p.pid)]
            handlers.update(kids)
            if not kids:
                break
            time.sleep(0.05)
        for pid in handlers:
            if _alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in handlers) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in handlers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        for p in self.listeners + [self.redis_proc]:
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(TIMEOUT)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        bad = self.sanitizer_reports()
        if not os.environ.get("XMPPD_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        if bad:
            raise AssertionError("sanitizer reports:\n" + bad)

    def sanitizer_reports(self):
        """The sanitizer reports in every log we own (listeners, handlers, xmppctl)."""
        reports = []
        for path in self.logs + [os.path.join(self.dir, "xmppctl.log")]:
            try:
                with open(path, errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            for i, line in enumerate(lines):
                if any(m in line for m in SANITIZER_MARKS):
                    reports.append("%s:\n%s" % (os.path.basename(path), "\n".join(lines[i:i + 15])))
        return "\n\n".join(reports)

    def log(self):
        """Everything the listeners and their handlers wrote to stderr so far."""
        out = []
        for path in self.logs:
            with open(path, errors="replace") as f:
                out.append(f.read())
        return "".join(out)

    def redis(self, *args):
        if self.redis_cluster:
            return self.redis_cluster.run(*args)
        addr = self.redis_addr() if callable(self.redis_addr) else self.redis_addr
        return redis_call(addr, *args)

    def shard_key(self, name, owner):
        """store.h's store_shard_key: the shard of global index name beside
        the keys tagged {owner} (a bare JID, a room, an s2s route, as the
        server tags them): xmpp:name on one Redis, xmpp:name:{TAG} on a
        cluster."""
        if not self.redis_cluster:
            return "xmpp:" + name
        from cluster_harness import slot_of, slot_tag
        return "xmpp:%s:{%s}" % (name, slot_tag(slot_of("{%s}" % owner)))

    def shard_members(self, name):
        """store_shard_members: every member of every shard of the set
        index name (on a cluster the shards that exist), in no order."""
        if not self.redis_cluster:
            return self.redis("SMEMBERS", "xmpp:" + name)
        return [m for k in self.redis("KEYS", "xmpp:%s:{*}" % name)
                for m in self.redis("SMEMBERS", k)]

    def ctl(self, *args, input=None):
        p = subprocess.run([str(BUILD / "xmppctl"), "-c", self.conf_path] + [str(a) for a in args],
                           input=input, capture_output=True, text=True, timeout=TIMEOUT * 2,
                           env=SAN_ENV)
        with open(os.path.join(self.dir, "xmppctl.log"), "a") as f:
            f.write(p.stderr)
        return p

    def adduser(self, jid, password, legacy_digest=False):
        args = ["adduser"] + (["--legacy-digest"] if legacy_digest else []) + [jid]
        p = self.ctl(*args, input=password + "\n")
        assert p.returncode == 0, "xmppctl %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr)

    def raw(self, listener=0):
        """A Raw client connected to one listener, closed at stop()."""
        return Raw(self.ports[listener], host=self.host, server=self)


# ---- XML helpers ----

def split_tag(tag):
    if tag.startswith("{"):
        ns, name = tag[1:].split("}", 1)
        return ns, name
    return "", tag


def _attr_name(k):
    ns, name = split_tag(k)
    return "xml:" + name if ns == NS_XML else (name if not ns else "{%s}%s" % (ns, name))


def to_xml(el, parent_ns=NS_CLIENT):
    """Serialise an element for humans: stream:* prefixed, xmlns only where it changes."""
    ns, name = split_tag(el.tag)
    if ns == NS_STREAMS:
        out, inner = "<stream:" + name, parent_ns
    else:
        out, inner = "<" + name + ("" if ns == parent_ns else " xmlns='%s'" % ns), ns
    for k, v in el.attrib.items():
        out += " %s='%s'" % (_attr_name(k), v.replace("&", "&amp;").replace("'", "&apos;")
                             .replace("<", "&lt;"))
    body = (el.text or "").replace("&", "&amp;").replace("<", "&lt;")
    for c in el:
        body += to_xml(c, inner) + (c.tail or "").replace("&", "&amp;").replace("<", "&lt;")
    if not body:
        return out + "/>"
    return out + ">" + body + "</" + ("stream:" if ns == NS_STREAMS else "") + name + ">"


def header_xml(el):
    """A stream header as its open tag, attributes only."""
    return "<stream:stream%s>" % "".join(" %s='%s'" % (_attr_name(k), v) for k, v in el.attrib.items())


def _text(el):
    return ((el.text or "") + "".join(c.tail or "" for c in el)).strip()


# Children whose order the RFCs leave open (compared as a set).
UNORDERED = {"{%s}mechanisms" % NS_SASL}
# ... and lists that are the server's to extend: the transcript names the
# entries it relies on, others are ignored (RFC 6120 4.3.2, XEP-0030 3.1).
OPEN = {"{%s}features" % NS_STREAMS, "{http://jabber.org/protocol/disco#info}query"}


def compare(exp, got, vars, path=""):
    """None if got matches exp, else what differs. Rules:
    - names, namespaces and attributes must match; an expected attribute
      '{*}' matches any value or none, '{id}' matches any value and stores
      it in vars['id'] (Raw.expect also requires it to be a new stream id);
    - text is compared with surrounding whitespace stripped; '{*}' inside
      expected text matches one or more characters;
    - children in order (any order inside UNORDERED elements);
    - optional parts (RFC 6120 4.9.2, 8.3.1) unless the transcript lists
      them: <text/> in stream and stanza errors, and the original payload
      echoed in an error stanza;
    - in OPEN elements (stream features, disco#info) received children that
      match no expected child are ignored: a transcript lists the features
      it relies on, and those are compared in full."""
    path += "/" + split_tag(exp.tag)[1]
    if exp.tag != got.tag:
        return "%s: expected element %s, got %s" % (path, exp.tag, got.tag)
    for k, v in exp.attrib.items():
        if v == "{*}":
            continue
        if k not in got.attrib:
            return "%s: attribute %s missing" % (path, _attr_name(k))
        if v == "{id}":
            vars["id"] = got.attrib[k]
        elif got.attrib[k] != v:
            return "%s: attribute %s: expected %r, got %r" % (path, _attr_name(k), v, got.attrib[k])
    for k in got.attrib:
        if k not in exp.attrib:
            return "%s: unexpected attribute %s=%r" % (path, _attr_name(k), got.attrib[k])
    et, gt = _text(exp), _text(got)
    if "{*}" in et:
        pattern = ".+".join(re.escape(p) for p in et.split("{*}"))
        if not re.fullmatch(pattern, gt, re.S):
            return "%s: text %r does not match %r" % (path, gt, et)
    elif et != gt:
        return "%s: expected text %r, got %r" % (path, et, gt)
    kids = list(got)
    etags = [c.tag for c in exp]
    text_tag = {"{%s}error" % NS_STREAMS: "{%s}text" % NS_STREAM_ERR,
                "{%s}error" % NS_CLIENT: "{%s}text" % NS_STANZA_ERR}.get(exp.tag)
    if text_tag and text_tag not in etags:
        kids = [c for c in kids if c.tag != text_tag]
    if exp.get("type") == "error" and etags == ["{%s}error" % NS_CLIENT]:
        kids = [c for c in kids if c.tag in etags]
    if len(kids) != len(exp) and exp.tag not in OPEN:
        return "%s: expected %d children (%s), got %d (%s)" % (
            path, len(exp), " ".join(split_tag(t)[1] for t in etags), len(kids),
            " ".join(split_tag(c.tag)[1] for c in kids))
    if exp.tag in UNORDERED or exp.tag in OPEN:
        left = list(kids)
        for e in exp:
            match = next((g for g in left if compare(e, g, vars, path) is None), None)
            if match is None:
                same = [g for g in left if g.tag == e.tag]
                if len(same) == 1:          # say what differs in the likely match
                    return compare(e, same[0], vars, path)
                return "%s: no child matches %s" % (path, to_xml(e, split_tag(exp.tag)[0]))
            left.remove(match)
        return None
    for e, g in zip(exp, kids):
        d = compare(e, g, vars, path)
        if d:
            return d
    return None


STREAM_OPEN = ("<stream:stream xmlns='jabber:client' "
               "xmlns:stream='http://etherx.jabber.org/streams'>")


def parse_expected(text):
    """Expected stanzas (an XML fragment in the stream's context) -> elements."""
    return list(ET.fromstring(STREAM_OPEN + text + "</stream:stream>"))


def parse_header(text):
    """An expected or sent stream header (an open tag) -> element."""
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    if "xmlns:stream" not in text:
        text = text.replace("<stream:stream", "<stream:stream xmlns:stream='%s'" % NS_STREAMS, 1)
    return ET.fromstring(text + "</stream:stream>")


# ---- the raw client ----

class Raw:
    """A client socket whose input is parsed as an XMPP stream. Events from
    next(): ("header", el), ("element", el), ("end", None) for
    </stream:stream>, ("closed", None) when the socket closes, ("error", msg)
    when the server sent something that is not XML."""

    def __init__(self, port, host="127.0.0.1", timeout=TIMEOUT, server=None, source=None):
        self.sock = socket.create_connection((host, port), timeout,
                                             source_address=(source, 0) if source else None)
        self.timeout = timeout
        self.events = []
        self.eof = False
        self.header = None
        self.transcript = []      # "C: ..." / "S: ..." lines, for failure reports
        self.vars = {}            # {id} captured by expect()
        self.stream_ids = []      # every stream id the server sent
        self.restart()
        if server is not None:
            server.clients.append(self)

    def restart(self):
        """Parse a new stream from here on (after SASL success, RFC 6120 6.4.6)."""
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.root = None

    def send(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.transcript.append("C: " + data.decode(errors="replace"))
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _feed(self, data):
        try:
            self.parser.feed(data)
            for ev, el in self.parser.read_events():
                if ev == "start":
                    self.depth += 1
                    if self.depth == 1:
                        self.root = self.header = el
                        self.events.append(("header", el))
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.events.append(("element", el))
                        self.root.remove(el)
                    elif self.depth == 0:
                        self.events.append(("end", None))
        except ET.ParseError as e:
            self.events.append(("error", "server sent bad XML: %s" % e))
            self.eof = True

    def next(self, timeout=None):
        """The next event, waiting at most timeout seconds (AssertionError then)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.events:
            if self.eof:
                self.transcript.append("S: (connection closed)")
                return ("closed", None)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("nothing from the server within %.1f s" %
                                     (self.timeout if timeout is None else timeout))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                data = b""
            if data:
                self._feed(data)
            else:
                self.eof = True
        ev, el = self.events.pop(0)
        self.transcript.append("S: " + describe(ev, el))
        return ev, el

    def expect(self, expected, timeout=None):
        """Wait for what `expected` describes and check it (AssertionError on a
        mismatch); returns what arrived. `expected` is transcript syntax:
        a header "<stream:stream ...>" (attributes compared), "</stream:stream>"
        (the stream ends, then the socket closes), or one or more stanzas."""
        expected = expected.strip()
        if expected == "</stream:stream>":
            ev, el = self.next(timeout)
            if ev != "end":
                raise AssertionError("expected </stream:stream>, got %s" % describe(ev, el))
            return self.read_until_closed(timeout)
        if re.match(r"(<\?xml[^>]*\?>\s*)?<stream:stream[\s>]", expected):
            exp = parse_header(expected)
            ev, el = self.next(timeout)
            if ev != "header":
                raise AssertionError("expected a stream header, got %s" % describe(ev, el))
            diff = compare(exp, ET.Element(el.tag, el.attrib), self.vars)
            if not diff and "{id}" in exp.attrib.values() and self.vars["id"] in self.stream_ids:
                diff = "stream id %r reused: each stream, restarts included, needs a new one " \
                       "(RFC 6120 4.7.3, 6.4.6)" % self.vars["id"]
            if diff:
                raise Mismatch(diff, header_xml(exp), header_xml(el))
            self.stream_ids.append(el.get("id"))
            return el
        got = None
        for exp in parse_expected(expected):
            ev, got = self.next(timeout)
            if ev != "element":
                raise Mismatch("expected a stanza, got %s" % describe(ev, got), to_xml(exp),
                               describe(ev, got))
            diff = compare(exp, got, self.vars)
            if diff:
                raise Mismatch(diff, to_xml(exp), to_xml(got))
        return got

    def read_until_closed(self, timeout=None):
        """Elements received until the socket closes (AssertionError if it
        stays open for timeout seconds)."""
        got = []
        while True:
            ev, el = self.next(timeout)
            if ev == "closed":
                return got
            if ev == "element":
                got.append(el)

    def open(self, to="localhost", version="1.0"):
        """Send a stream header, check the answer's header; returns the
        features element (None for a pre-1.0 stream)."""
        self.send("<stream:stream to='%s' xmlns='jabber:client' xmlns:stream='%s'%s "
                  "xml:lang='en'>" % (to, NS_STREAMS, " version='%s'" % version if version else ""))
        ev, el = self.next()
        assert ev == "header", describe(ev, el)
        if not version:
            return None
        ev, el = self.next()
        assert ev == "element" and el.tag == "{%s}features" % NS_STREAMS, describe(ev, el)
        return el


def describe(ev, el):
    if ev == "element":
        return to_xml(el)
    if ev == "header":
        return header_xml(el)
    if ev == "end":
        return "</stream:stream>"
    if ev == "closed":
        return "(connection closed)"
    return str(el)


class Mismatch(AssertionError):
    def __init__(self, why, expected, received):
        super().__init__("%s\n  expected: %s\n  received: %s" % (why, expected, received))
        self.why, self.expected, self.received = why, expected, received


# ---- transcripts ----

def digest(stream_id, password):
    """XEP-0078 digest: hex SHA-1 of stream id + password."""
    return hashlib.sha1((stream_id + password).encode()).hexdigest()


class Transcript:
    """A parsed *.xmpp file: directives (users, config) and steps.

        @user test@localhost secret           account created before the run
        @user-digest test@localhost secret    ... with xmppctl --legacy-digest
        @conf key = value                     extra xmpp.conf line (a key
                                              given again: one line each)
        @redis WORD...                        a Redis command run after the
                                              users are made (shell quoting)
        # comment
        C: <xml/>     the client sends (continues on following lines)
        S: <xml/>     the server must send this next (continues likewise)
        S: </stream:stream>   the server closes the stream, then the socket

    In C: text, {digest:PASSWORD} becomes the XEP-0078 digest for the current
    stream id (captured by id='{id}' in an expected header)."""

    def __init__(self, path):
        self.path = Path(path)
        self.users = []      # (jid, password, legacy_digest)
        self.conf = {}
        self.redis = []      # Redis commands, each a list of words
        self.steps = []      # (line number, "C" or "S", text)
        for n, line in enumerate(self.path.read_text().splitlines(), 1):
            if line.startswith("#"):
                continue
            if line.startswith("@"):
                self._directive(n, line)
            elif line[:2] in ("C:", "S:"):
                self.steps.append((n, line[0], line[2:].lstrip()))
            elif self.steps:
                n0, who, text = self.steps[-1]
                self.steps[-1] = (n0, who, text + "\n" + line)
            elif line.strip():
                raise ValueError("%s:%d: text before the first C:/S: line" % (path, n))

    def _directive(self, n, line):
        word, _, rest = line.partition(" ")
        if word in ("@user", "@user-digest"):
            jid, password = rest.split()
            self.users.append((jid, password, word == "@user-digest"))
        elif word == "@conf":
            key, _, value = rest.partition("=")
            key, value = key.strip(), value.strip()
            if key in self.conf:        # a key given again: one more line
                prev = self.conf[key]
                value = (prev if isinstance(prev, list) else [prev]) + [value]
            self.conf[key] = value
        elif word == "@redis":
            self.redis.append(shlex.split(rest))
        else:
            raise ValueError("%s:%d: unknown directive %s" % (self.path, n, word))

    def run(self, server):
        """Replay against a started server; AssertionError with the
        conversation so far on the first difference."""
        for jid, password, legacy in self.users:
            server.adduser(jid, password, legacy_digest=legacy)
        for cmd in self.redis:
            server.redis(*cmd)
        raw = server.raw()
        headers = 0
        for n, who, text in self.steps:
            text = text.rstrip()
            try:
                if who == "C":
                    if re.match(r"\s*(<\?xml[^>]*\?>\s*)?<stream:stream[\s>]", text):
                        if headers:
                            raw.restart()
                        headers += 1
                    text = re.sub(r"\{digest:([^}]*)\}",
                                  lambda m: digest(raw.vars.get("id", ""), m.group(1)), text)
                    raw.send(text)
                else:
                    raw.expect(text)
            except AssertionError as e:
                log = server.log().splitlines()[-15:]
                raise AssertionError(
                    "%s:%d: %s\n\nconversation:\n%s\n\nserver log (tail):\n%s" % (
                        self.path.name, n, e, "\n".join(raw.transcript), "\n".join(log))) from None
        raw.close()


# ---- a client read by a thread ----

class Pump:
    """Read a Raw client's stream in a background thread. Every element is
    kept in .elements (in order); the server's delivery pings (id
    xmppd-ack-N) are answered at once unless answer_pings is False;
    .stream_errors lists the stream error conditions received; .ended is
    set at </stream:stream>, .closed when the socket closes; .ids holds the
    id of every element received, .by_name counts them by element name.
    send() may be called from the test's thread while the pump reads. Stop
    with close()."""

    ACK_PREFIX = "xmppd-ack-"

    def __init__(self, raw, answer_pings=True, keep=True):
        self.raw = raw
        self.answer_pings = answer_pings
        self.keep = keep                  # False: count elements, keep only errors
        self.elements = []
        self.ids = set()                  # the id of every element received
        self.by_name = {}                 # element name -> how many received
        self.count = 0                    # elements received
        self.stream_errors = []
        self.ended = self.closed = False
        self.bad_xml = None
        self.pings_answered = 0
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._stop = False
        raw.sock.settimeout(None)         # blocking; the thread waits in select()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def send(self, data):
        """Send text or bytes; False if the connection is gone."""
        data = data.encode() if isinstance(data, str) else data
        try:
            with self._send_lock:
                self.raw.sock.sendall(data)
            return True
        except OSError:
            return False

    def _run(self):
        sock = self.raw.sock
        while not self._stop:
            try:
                r, _, _ = select.select([sock], [], [], 0.1)
                if not r:
                    continue
                data = sock.recv(262144)
            except (OSError, ValueError):
                data = b""
            if not data:
                break
            self.raw._feed(data)
            events, self.raw.events = self.raw.events, []
            for ev, el in events:
                if ev == "element":
                    self._element(el)
                elif ev == "end":
                    self.ended = True
                elif ev == "error":
                    self.bad_xml = el
        self.closed = True

    def _element(self, el):
        if el.tag == "{%s}error" % NS_STREAMS:
            self.stream_errors.append(next((split_tag(c.tag)[1] for c in el
                                            if split_tag(c.tag)[1] != "text"), "?"))
        elif self.answer_pings and el.tag == "{%s}iq" % NS_CLIENT and el.get("type") == "get" \
                and (el.get("id") or "").startswith(self.ACK_PREFIX):
            self.send("<iq type='result' id='%s' to='%s'/>" % (el.get("id"), el.get("from", "")))
            self.pings_answered += 1
        with self._lock:
            self.count += 1
            if el.get("id") is not None:
                self.ids.add(el.get("id"))
            name = split_tag(el.tag)[1]
            self.by_name[name] = self.by_name.get(name, 0) + 1
            if self.keep or el.get("type") == "error" or el.tag == "{%s}error" % NS_STREAMS:
                self.elements.append(el)

    def seen(self, pred):
        with self._lock:
            return [e for e in self.elements if pred(e)]

    def wait(self, pred, timeout=TIMEOUT, count=1, what=None):
        """The first `count` elements matching pred; AssertionError if they
        do not arrive within timeout (or the stream closes first)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.seen(pred)
            if len(got) >= count:
                return got[:count]
            if self.closed or time.monotonic() > deadline:
                raise AssertionError("%s: %d of %d x %s within %.1f s (stream %s)" % (
                    "closed" if self.closed else "timed out", len(got), count,
                    what or getattr(pred, "__doc__", None) or pred, timeout,
                    "closed" if self.closed else "open"))
            time.sleep(0.01)

    @property
    def gone(self):
        """The stream ended or the socket closed."""
        return self.ended or self.closed

    def close(self, timeout=TIMEOUT):
        """Send </stream:stream>, wait (bounded) for the socket to close,
        then stop the thread and close the socket. True if the server
        closed in time."""
        if not self.closed:
            self.send("</stream:stream>")
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            time.sleep(0.01)
        ok = self.closed
        self.abort()
        return ok

    def abort(self):
        """Stop reading and close the socket (no </stream:stream>)."""
        self._stop = True
        self._thread.join(1)
        self.raw.close()
