"""Several hosts sharing one Redis, in network namespaces (issue 5, point 2).

The test builds its own little network: a namespace with a bridge (the
"switch"), and four namespaces joined to it by veth pairs:

    redis    10.77.0.1   redis-server on TCP (protected-mode no)
    host1    10.77.0.2   systemd-socket-activate + xmpp-handler, hostname host1
    host2    10.77.0.3   the same, hostname host2
    clients  10.77.0.4   slixmpp clients (a python3 subprocess under ip netns exec)

Both listeners use redis = redis://10.77.0.1:6379/0 and session_ttl = 5
(a heartbeat every 5/3 = 1 s). The test's own Redis look-ups go through a
unix socket of the same redis-server (a file, reachable from outside).

Expected: messages, presence and roster pushes flow between users on
different hosts (alice on host1, bob on host2; alice's second resource on
host2 gets the roster pushes of a change made on host1). Then host2's link
goes down (ip link set down, in its namespace): bob's handler can neither
reach Redis nor its client. Its heartbeats stop, so bob's session expires
session_ttl after his last heartbeat and a living handler (alice's, every
session_ttl/3) reaps it and tells bob's contacts: alice sees bob
unavailable within session_ttl + session_ttl/3 + slack (8 s) of the cut;
a message to bob after that is stored offline, and bob's session record is
gone. No sanitizer report, every handler exits with status 0 once stopped.

No skipping: without working `ip netns` (root, iproute2, veth and bridge
support) the test fails and says why. Every namespace and veth it creates
is removed at the end, also on failure (deleting a namespace deletes the
veth ends in it; none are ever in the caller's namespace).
"""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness import ASAN_OPTIONS, BUILD, SANITIZER_MARKS, UBSAN_OPTIONS, _alive, _children, \
    redis_call

HERE = Path(__file__).resolve().parent
NET = "10.77.0."
ADDR = {"redis": NET + "1", "host1": NET + "2", "host2": NET + "3", "clients": NET + "4"}
TTL = 5
UNAVAILABLE_BOUND = TTL + TTL / 3 + 2      # seconds, see the docstring
PW = "secret-pw"

CLIENT_SCRIPT = r'''
import asyncio, json, sys, time
import xml.etree.ElementTree as ET
import im_helpers as H

H1, H2 = sys.argv[1], sys.argv[2]
PORT = 5222


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


async def online(host, jid):
    c = H.IM(jid)
    await c.login(PORT, host=host, timeout=20)
    assert c.outcome.session_started, "login of %s at %s failed: %r" % (jid, host, c.outcome)
    await c.roster()
    c.xmpp.send_presence()
    return c


async def readline():
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


def status_of(el):
    s = el.find("{jabber:client}status")
    return s.text if s is not None else None


async def go():
    a = await online(H1, "alice@localhost/a")       # host1
    b = await online(H2, "bob@localhost/b")         # host2
    a2 = await online(H2, "alice@localhost/a2")     # alice again, on host2
    out = {}
    # subscription handshake across hosts, with roster pushes on both sides
    await H.handshake(a, b)
    out["handshake"] = True
    # presence both ways
    n = a.mark()
    b.xmpp.send_presence(pstatus="bob-here")
    await a.wait(lambda e: H.is_("presence", from_=b.full)(e) and status_of(e) == "bob-here",
                 since=n, timeout=10)
    n = b.mark()
    a.xmpp.send_presence(pstatus="alice-here")
    await b.wait(lambda e: H.is_("presence", from_=a.full)(e) and status_of(e) == "alice-here",
                 since=n, timeout=10)
    out["presence"] = True
    # messages both ways, bare and full
    a.xmpp.send_message(mto="bob@localhost", mbody="hi bob", mtype="chat")
    m1 = await b.wait1(H.body_is("hi bob"), timeout=10)
    b.xmpp.send_message(mto=a.full, mbody="hi alice", mtype="chat")
    m2 = await a.wait1(H.body_is("hi alice"), timeout=10)
    out["messages"] = [m1.get("from"), m2.get("from")]
    # a roster change on host1 is pushed to alice's session on host2
    n2 = a2.mark()
    iq = a.xmpp.Iq()
    iq["type"] = "set"
    q = ET.SubElement(iq.xml, "{jabber:iq:roster}query")
    ET.SubElement(q, "{jabber:iq:roster}item", jid="bob@localhost", name="Bobby")
    await iq.send(timeout=10)
    push = await a2.wait1(lambda e: H.is_push(e) and
                          H.roster_items(e).get("bob@localhost", {}).get("name") == "Bobby",
                          since=n2, timeout=10)
    out["push_to_other_host"] = H.roster_items(push)["bob@localhost"]
    await a2.close(timeout=5)
    emit(step="ready", a=a.full, b=b.full, **out)
    assert await readline() == "cut"
    t0 = time.monotonic()
    el = await a.wait1(H.is_("presence", from_=b.full, type="unavailable"), timeout=30)
    took = time.monotonic() - t0
    n = a.mark()
    a.xmpp.send_message(mto="bob@localhost", mbody="after the cut", mtype="chat")
    a.xmpp.send_message(mto=b.full, mbody="after the cut, full", mtype="chat")
    await a.sync()
    errors = [H.to_xml(e) for e in a.received[n:] if e.get("type") == "error"]
    emit(step="unavailable", seconds=took, errors=errors)
    assert await readline() == "bye"
    b.abort()
    await a.close(timeout=5)
    emit(step="done")


try:
    H.C.run(go, timeout=120)
except BaseException as e:
    emit(step="error", error="%s: %s" % (type(e).__name__, e))
    raise
'''


def sh(*args, check=True, timeout=20):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(str(a) for a in args), p.returncode,
                                                (p.stderr or p.stdout).strip()))
    return p


class Net:
    """The namespaces, veths, processes; torn down by teardown()."""

    def __init__(self):
        tag = "x%d" % os.getpid()
        self.ns = {k: "xmppd-%s-%s" % (tag, k)
                   for k in ("sw", "redis", "host1", "host2", "clients")}
        self.made = []           # namespaces created, for teardown
        self.procs = {}          # name -> Popen
        self.dir = tempfile.mkdtemp(prefix="xmppd-netns-")
        self.logs = {}

    def build(self):
        if os.geteuid() != 0:
            raise RuntimeError("needs root for ip netns (euid %d)" % os.geteuid())
        if not shutil.which("ip"):
            raise RuntimeError("iproute2 'ip' not found")
        sw = self.ns["sw"]
        for key, name in self.ns.items():
            sh("ip", "netns", "add", name)
            self.made.append(name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", sw, "link", "set", "br0", "up")
        for i, key in enumerate(("redis", "host1", "host2", "clients")):
            ns, port = self.ns[key], "p%d" % i
            # both ends are created inside namespaces: nothing in ours
            sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port,
               "netns", sw)
            sh("ip", "-n", sw, "link", "set", port, "master", "br0")
            sh("ip", "-n", sw, "link", "set", port, "up")
            sh("ip", "-n", ns, "addr", "add", ADDR[key] + "/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def exec_in(self, key, argv, log=None, stdin=subprocess.DEVNULL, stdout=None):
        f = open(log, "ab") if log else subprocess.DEVNULL
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[key]] + [str(a) for a in argv],
                             stdin=stdin, stdout=stdout if stdout else f, stderr=f)
        return p

    def start_redis(self):
        self.sock = os.path.join(self.dir, "redis.sock")
        self.procs["redis"] = self.exec_in("redis", [
            "redis-server", "--bind", ADDR["redis"], "--port", "6379", "--protected-mode", "no",
            "--unixsocket", self.sock, "--unixsocketperm", "700", "--save", "",
            "--appendonly", "no", "--dir", self.dir,
            "--logfile", os.path.join(self.dir, "redis.log")])
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis_call(self.sock, "PING") == "PONG":
                    return
            except OSError:
                pass
            if self.procs["redis"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start in its namespace")
            time.sleep(0.05)

    def conf(self, host):
        path = os.path.join(self.dir, "%s.conf" % host)
        with open(path, "w") as f:
            f.write("domain = localhost\nredis = redis://%s:6379/0\nallow_plaintext_auth = yes\n"
                    "auth_fail_delay_ms = 50\nsession_ttl = %d\nhostname = %s\n"
                    % (ADDR["redis"], TTL, host))
        return path

    def start_listener(self, host):
        log = os.path.join(self.dir, "%s.log" % host)
        self.logs[host] = log
        p = self.exec_in(host, [
            "systemd-socket-activate", "--inetd", "-a", "-l", "%s:5222" % ADDR[host],
            "-E", "XMPP_CONFIG=" + self.conf(host), "-E", "ASAN_OPTIONS=" + ASAN_OPTIONS,
            "-E", "UBSAN_OPTIONS=" + UBSAN_OPTIONS, BUILD / "xmpp-handler"], log=log)
        self.procs[host] = p
        deadline = time.monotonic() + 10
        while b"Listening on" not in Path(log).read_bytes():
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("listener of %s did not start: %s" % (
                    host, Path(log).read_text(errors="replace")))
            time.sleep(0.05)

    def ctl(self, *args, input=None):
        p = subprocess.run(["ip", "netns", "exec", self.ns["clients"], BUILD / "xmppctl", "-c",
                            self.conf("host1")] + list(args), input=input, capture_output=True,
                           text=True, timeout=20,
                           env=dict(os.environ, ASAN_OPTIONS=ASAN_OPTIONS))
        assert p.returncode == 0, "xmppctl %s: %s" % (args, p.stderr)
        return p

    def handlers(self):
        return [k for h in ("host1", "host2") if h in self.procs
                for k in _children(self.procs[h].pid)]

    def log(self):
        return "".join(Path(p).read_text(errors="replace") for p in self.logs.values()
                       if os.path.exists(p))

    def teardown(self):
        problems = []
        # the cut host back up, so its handlers can end normally
        for key in ("host1", "host2"):
            if self.ns[key] in self.made:
                sh("ip", "-n", self.ns[key], "link", "set", "eth0", "up", check=False)
        c = self.procs.get("client")
        if c and c.poll() is None:
            c.kill()
            c.wait(5)
        kids = self.handlers()
        for pid in kids:
            if _alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 8
        while any(_alive(p) for p in kids) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in kids:
            if _alive(pid):
                problems.append("handler %d ignored SIGTERM for 8 s" % pid)
                os.kill(pid, signal.SIGKILL)
        # let the listeners log each handler's exit status
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            log = self.log()
            spawned = set(re.findall(r"Spawned .* as PID (\d+)", log))
            if spawned <= set(re.findall(r"Child (\d+) died with code", log)):
                break
            time.sleep(0.05)
        else:
            problems.append("no exit status logged for some handlers")
        for name in ("host1", "host2", "redis"):
            p = self.procs.get(name)
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        for name in reversed(self.made):
            sh("ip", "netns", "del", name, check=False)
        left = [n for n in self.made if n in sh("ip", "netns", "list", check=False).stdout]
        if left:
            problems.append("namespaces left behind: %s" % left)
        return problems


def sanitizer_reports(text):
    lines = text.splitlines()
    return ["\n".join(lines[i:i + 15]) for i, ln in enumerate(lines)
            if any(m in ln for m in SANITIZER_MARKS)]


def read_step(proc, want, timeout):
    """The next JSON line from the client script (AssertionError if it is
    not step `want` within timeout)."""
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("client script: no '%s' within %.0f s" % (want, timeout))
        r, _, _ = select.select([proc.stdout], [], [], left)
        if not r:
            continue
        ch = os.read(proc.stdout.fileno(), 1)
        if not ch:
            raise AssertionError("client script ended before '%s' (exit %s)" % (want, proc.poll()))
        if ch != b"\n":
            buf += ch
            continue
        if not buf.startswith(b"{"):
            buf = b""
            continue
        msg = json.loads(buf)
        assert msg.get("step") == want, "client script: expected %s, got %s" % (want, msg)
        return msg


def test_two_hosts_one_redis_in_namespaces():
    net = Net()
    problems = []
    try:
        try:
            net.build()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            pytest.fail("cannot build the test network with ip netns (this test needs root, "
                        "iproute2, veth and bridge support; it is never skipped): %s" % e,
                        pytrace=False)
        net.start_redis()
        net.start_listener("host1")
        net.start_listener("host2")
        for u in ("alice@localhost", "bob@localhost"):
            net.ctl("adduser", u, input=PW + "\n")
        script = os.path.join(net.dir, "netns_clients.py")   # not clients.py: that name is taken
        with open(script, "w") as f:
            f.write(CLIENT_SCRIPT)
        env = dict(os.environ, PYTHONPATH=str(HERE), XMPPD_BUILD=str(BUILD))
        client = subprocess.Popen(
            ["ip", "netns", "exec", net.ns["clients"], "/usr/bin/python3", script,
             ADDR["host1"], ADDR["host2"]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(os.path.join(net.dir, "clients.err"), "wb"), env=env)
        net.procs["client"] = client
        try:
            ready = read_step(client, "ready", 60)
        except AssertionError as e:
            raise AssertionError("%s\nclient stderr:\n%s\nserver log:\n%s" % (
                e, Path(net.dir, "clients.err").read_text(errors="replace")[-3000:],
                net.log()[-3000:]))
        assert ready["messages"] == [ready["a"], ready["b"]], ready
        assert ready["push_to_other_host"]["subscription"] == "both", ready
        sess = {}
        for u in ("alice@localhost", "bob@localhost"):
            flat = redis_call(net.sock, "HGETALL", "xmpp:{%s}:sessions" % u) or []
            sess.update({u + "/" + r: rec for r, rec in zip(flat[0::2], flat[1::2])})
        assert "host=host1" in sess.get("alice@localhost/a", ""), sess
        assert "host=host2" in sess.get("bob@localhost/b", ""), sess
        # cut host2 off: its handlers lose Redis and their clients
        sh("ip", "-n", net.ns["host2"], "link", "set", "eth0", "down")
        t_cut = time.monotonic()
        client.stdin.write(b"cut\n")
        client.stdin.flush()
        try:
            un = read_step(client, "unavailable", 40)
        except AssertionError as e:
            raise AssertionError("%s\nclient stderr:\n%s\nserver log:\n%s" % (
                e, Path(net.dir, "clients.err").read_text(errors="replace")[-3000:],
                net.log()[-3000:]))
        seen_after = time.monotonic() - t_cut
        offline = redis_call(net.sock, "LRANGE", "xmpp:{bob@localhost}:offline", 0, -1) or []
        bob_sessions = redis_call(net.sock, "HGETALL", "xmpp:{bob@localhost}:sessions")
        if un["seconds"] > UNAVAILABLE_BOUND:
            problems.append("alice saw bob unavailable %.1f s after the cut (bound %.1f s)"
                            % (un["seconds"], UNAVAILABLE_BOUND))
        if un["errors"]:
            problems.append("messages to bob after he was seen unavailable bounced: %s"
                            % un["errors"])
        for body in ("after the cut", "after the cut, full"):
            if not any("<body>%s</body>" % body in x for x in offline):
                problems.append("%r not stored offline for bob; offline list: %s" % (body, offline))
        if bob_sessions:
            problems.append("bob's session record survived the cut: %s" % bob_sessions)
        print("bob seen unavailable %.1f s after the cut (%.1f s by the test's clock)"
              % (un["seconds"], seen_after))
        client.stdin.write(b"bye\n")
        client.stdin.flush()
        read_step(client, "done", 20)
        client.wait(10)
    finally:
        problems += net.teardown()
        log = net.log()
        problems += ["sanitizer report:\n" + r for r in sanitizer_reports(log)]
        bad = {int(m.group(1)): int(m.group(2)) for m in
               re.finditer(r"Child (\d+) died with code (-?\d+)", log) if m.group(2) != "0"}
        if bad:
            problems.append("handlers exited with non-zero status: %s" % bad)
        if not os.environ.get("XMPPD_KEEP_TMP"):
            shutil.rmtree(net.dir, ignore_errors=True)
    assert not problems, "\n".join(problems) + "\nserver log (tail):\n" + log[-4000:]
