#!/usr/bin/python3
"""bench.py - xmppd beside Prosody and ejabberd, side by side (`make bench`).

Started by bench/run.sh (which installs the packages and builds
build/bench/xmppload). Every server gets a private temporary directory, a
free loopback port and its own accounts; all of them run at once, idle
while another is measured, and each scenario is run on every server in
turn (the order rotates from run to run), so that the ratios come from the
same minutes of this noisy, shared machine. Prints one table and appends
it to bench/results.md. Everything started here is stopped by PID.

Environment (defaults in brackets):
  BENCH_SERVERS   servers to run [xmppd prosody ejabberd]; xmppd-cluster is
                  xmppd on a Redis Cluster of three primaries (see README)
  BENCH_RUNS      runs of every scenario [3]
  BENCH_MECHS     login mechanisms [plain scram-sha-1]
  LOGIN_N LOGIN_C logins and logins in progress at a time [2000 50]
  MSG_P MSG_W MSG_T MSG_D  pairs, window, seconds, drain seconds [50 10 10 3]
  IDLE_N          idle connections for the memory figure [1000]
  WS_MECHS        ws: login mechanisms over WebSocket [plain]
  UPLOAD_MIB      upload: MiB of the file put and got back (XEP-0363) [50]
  FANOUT_K FANOUT_G FANOUT_R FANOUT_S  contacts, groups, rounds, storms [50 4 20 3]
  BENCH_SCENARIOS scenarios, in this order [login idle messages sm fanout mam pep room ws upload fast],
                  then federation (bench/federation.py, run by run.sh);
                  "storm" is one more (not in the default list: minutes). ws:
                  login, messages and idle with every client over WebSocket
                  (RFC 7395: xmppd's xmpp-web, Prosody's mod_websocket,
                  ejabberd's ejabberd_http_ws); upload: a slot, then PUT and
                  GET of UPLOAD_MIB MiB (XEP-0363); fast: LOGIN_N logins, LOGIN_C
                  at a time, over direct TLS (XEP-0368) to a first message,
                  round trips counted: RFC 6120 (SCRAM-SHA-1), SASL2 +
                  Bind2 (XEP-0388, XEP-0386) and FAST (XEP-0484), the
                  last two on xmppd only
  SM_ACK_EVERY    sm: a client sends <r/> after this many stanzas [5]
  SM_RESUME_N     sm: clients that cut their connection and resume [200]
  STORM_N STORM_C clients of the login storm, logins in progress at a time [10000 1000]
  STORM_HOLD      seconds the storm's sessions are held once all are in [60]
  STORM_TIMEOUT   seconds a storm client waits from connect to login [30]
  MAM_N           mam: messages in the archive queried [100000]
  MAM_Q           mam: timed repetitions of each kind of query [20]
  MAM_TIMEOUT     mam: seconds the archive may take to fill [600]
  PEP_K           pep: the publisher's contacts, half of them online [200]
  PEP_R           pep: timed publishes, one at a time [50]
  PEP_TIMEOUT     pep: seconds a publish may take to reach every online contact [5]
  ROOM_N          room: occupants of the one multi-user chat room [200]
  ROOM_S          room: occupants that send groupchat messages [2]
  ROOM_W          room: messages in flight per sender (sent, not yet at every occupant) [5]
  ROOM_T          room: seconds of sending [10]
  ROOM_R          room: messages to send at most, 0 for no limit (then ROOM_T ends it) [0]
  ROOM_TIMEOUT    room: seconds a message may take to reach every occupant [10]
  BENCH_SERVER_CPUS  CPUs every server runs on (taskset -c), "" for any [0]
  BENCH_REDIS_NICE   nice value of xmppd's Redis, "" for none [-10]: under
                  systemd Redis and the handlers are sibling cgroups with
                  equal CPU weight, so Redis keeps half of a contended core
                  however many handlers run; one process among thousands
                  with the same nice it would get a sliver. A nice of -10
                  gives it the weight of about nine handlers.
  BENCH_LOAD_CPUS    CPUs of the load generator (and of bench.py), "" for any [1]
  BENCH_XMPPD_LAUNCHER  listen: xmpp-listen under systemd-socket-activate;
                  inetd: systemd-socket-activate --inetd -a [listen]
  BENCH_LISTEN_ARGS  xmpp-listen's options [-s 1000000]
  BENCH_SCALE     "1": also the scale scenario (see README) [0]
  SCALE_LEVELS    connections held during the scale scenario [1000 10000]
  SCALE_SERVERS   servers the scale scenario runs on [xmppd]
  BENCH_RESULTS   history file to append to [bench/results.md]; "-" for none
  XMPPD_BUILD     directory with xmpp-handler [build]
  BENCH_KEEP      "1": keep the temporary directories (logs) [0]
  BENCH_COMMIT    what to call the code measured in results.md [git HEAD]
"""
import base64
import datetime
import filecmp
import hashlib
import hmac
import itertools
import math
import os
import pwd
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("XMPPD_BUILD", ROOT / "build")).resolve()
LOAD = ROOT / "build" / "bench" / "xmppload"
DOMAIN = "localhost"
MUC_DOMAIN = "conference." + DOMAIN     # every server's multi-user chat service
PASSWORD = "secret"
PATTERN = "user%d"


def env_int(name, default):
    return int(os.environ.get(name, default))


CFG = {
    "servers": os.environ.get("BENCH_SERVERS", "xmppd prosody ejabberd").split(),
    "runs": env_int("BENCH_RUNS", 3),
    "mechs": os.environ.get("BENCH_MECHS", "plain scram-sha-1").split(),
    "login_n": env_int("LOGIN_N", 2000),
    "login_c": env_int("LOGIN_C", 50),
    "msg_p": env_int("MSG_P", 50),
    "msg_w": env_int("MSG_W", 10),
    "msg_t": env_int("MSG_T", 10),
    "msg_d": env_int("MSG_D", 3),
    "idle_n": env_int("IDLE_N", 1000),
    "ws_mechs": os.environ.get("WS_MECHS", "plain").split(),
    "upload_mib": env_int("UPLOAD_MIB", 50),
    "fo_k": env_int("FANOUT_K", 50),
    "fo_g": env_int("FANOUT_G", 4),
    "fo_r": env_int("FANOUT_R", 20),
    "fo_s": env_int("FANOUT_S", 3),
    "scenarios": os.environ.get("BENCH_SCENARIOS", "login idle messages sm fanout mam pep room ws upload fast").split(),
    "sm_ack_every": env_int("SM_ACK_EVERY", 5),
    "sm_resume_n": env_int("SM_RESUME_N", 200),
    "scale": os.environ.get("BENCH_SCALE", "0") == "1",
    "scale_levels": [int(x) for x in os.environ.get("SCALE_LEVELS", "1000 10000").split()],
    "scale_servers": os.environ.get("SCALE_SERVERS", "xmppd").split(),
    "results": os.environ.get("BENCH_RESULTS", str(ROOT / "bench" / "results.md")),
    "redis_nice": os.environ.get("BENCH_REDIS_NICE", "-10"),
    "storm_n": env_int("STORM_N", 10000),
    "storm_c": env_int("STORM_C", 1000),
    "storm_hold": env_int("STORM_HOLD", 60),
    "storm_timeout": env_int("STORM_TIMEOUT", 30),
    "mam_n": env_int("MAM_N", 100000),
    "mam_q": env_int("MAM_Q", 20),
    "mam_timeout": env_int("MAM_TIMEOUT", 600),
    "pep_k": env_int("PEP_K", 200),
    "pep_r": env_int("PEP_R", 50),
    "pep_timeout": env_int("PEP_TIMEOUT", 5),
    "room_n": env_int("ROOM_N", 200),
    "room_s": env_int("ROOM_S", 2),
    "room_w": env_int("ROOM_W", 5),
    "room_t": env_int("ROOM_T", 10),
    "room_r": env_int("ROOM_R", 0),
    "room_timeout": env_int("ROOM_TIMEOUT", 10),
    "server_cpus": os.environ.get("BENCH_SERVER_CPUS", "0").strip(),
    "load_cpus": os.environ.get("BENCH_LOAD_CPUS", "1").strip(),
    "launcher": os.environ.get("BENCH_XMPPD_LAUNCHER", "listen"),
    # Every bench connection comes from 127.0.0.x: xmpp-listen's default of
    # 256 handlers per address would refuse the idle and storm scenarios.
    "listen_args": os.environ.get("BENCH_LISTEN_ARGS", "-s 1000000").split(),
}
if CFG["launcher"] not in ("listen", "inetd"):
    sys.exit("bench.py: BENCH_XMPPD_LAUNCHER must be listen or inetd, not %r" % CFG["launcher"])

# Plain users 1..NPLAIN have no contacts; the fan-out cliques come after.
IDLE_BASE = max(20, CFG["idle_n"] // 10)
NPLAIN = max(CFG["login_n"], 2 * CFG["msg_p"], IDLE_BASE + CFG["idle_n"])
FO_FIRST = NPLAIN + 1
NFO = CFG["fo_g"] * (CFG["fo_k"] + 1) if "fanout" in CFG["scenarios"] else 0
# Held by the scale scenario (PLAIN only: they share one SCRAM salt in
# xmppd's Redis, which costs the server the same and spares the set-up
# thousands of PBKDF2 runs).
SCALE_FIRST = FO_FIRST + NFO
NSCALE = max(CFG["scale_levels"]) if CFG["scale"] else 0
# The login storm's users, after those (one shared SCRAM salt in Redis too).
STORM_FIRST = SCALE_FIRST + NSCALE
NSTORM = CFG["storm_n"] if "storm" in CFG["scenarios"] else 0
# The message archive's two: a sender and the receiver whose archive is
# filled once and queried.
MAM_FIRST = STORM_FIRST + NSTORM
NMAM = 2 if "mam" in CFG["scenarios"] else 0
# Personal eventing: a publisher and its PEP_K contacts (subscription both
# each way; the contacts are not each other's).
PEP_FIRST = MAM_FIRST + NMAM
NPEP = 1 + CFG["pep_k"] if "pep" in CFG["scenarios"] else 0
# The multi-user chat room's occupants (no contacts: their initial presence
# goes nowhere).
ROOM_FIRST = PEP_FIRST + NPEP
NROOM = CFG["room_n"] if "room" in CFG["scenarios"] else 0
# The resume measurement's users, last: a session it leaves hibernating
# (a resume that failed) must not take the bare-JID messages of the others.
RESUME_FIRST = ROOM_FIRST + NROOM
NRESUME = CFG["sm_resume_n"] if "sm" in CFG["scenarios"] else 0
IS_ROOT = os.geteuid() == 0
CLUSTER_PRIMARIES = 3                   # BENCH_SERVERS=xmppd-cluster: its Redis Cluster
# Both need each server's HTTP listener (xmppd: xmpp-web).
HTTP = "ws" in CFG["scenarios"] or "upload" in CFG["scenarios"]
UPLOAD = "upload" in CFG["scenarios"]
# The fast scenario: a direct TLS (XEP-0368) listener on every server,
# with a certificate of the bench's own (tls_files).
TLS = "fast" in CFG["scenarios"]
UPLOAD_DOMAIN = "upload." + DOMAIN      # every server's XEP-0363 service
MIB = 1 << 20


def deb_installed(pkg):
    return subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg],
                          capture_output=True, text=True).stdout == "installed"


# SQLite for the peers' message archives: Prosody's SQL storage
# (lua-dbi-sqlite3) and ejabberd's (erlang-p1-sqlite3).
SQLITE_DBI = deb_installed("lua-dbi-sqlite3")
SQLITE_ERL = deb_installed("erlang-p1-sqlite3")


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


# ---- CPU pinning ----

def cpu_list(spec):
    """The CPUs of a taskset list ("0", "0-1", "0,2"), as a set."""
    out = set()
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


def check_pinning():
    """Drop a pinning this machine cannot do (a CPU we may not use), saying so."""
    allowed = os.sched_getaffinity(0)
    for key in ("server_cpus", "load_cpus"):
        spec = CFG[key]
        try:
            ok = spec and cpu_list(spec) and cpu_list(spec) <= allowed
        except ValueError:
            ok = False
        if spec and not ok:
            log("%s=%r is not a list of CPUs this process may use (%s): not pinned" % (
                "BENCH_" + key.upper(), spec, sorted(allowed)))
            CFG[key] = ""
    if CFG["server_cpus"] and CFG["load_cpus"] and cpu_list(CFG["server_cpus"]) & cpu_list(CFG["load_cpus"]):
        log("warning: the servers' CPUs and the load generator's overlap")


def pinned(cmd, cpus):
    """cmd under taskset -c cpus (inherited by everything it starts)."""
    return ["taskset", "-c", cpus] + list(cmd) if cpus else list(cmd)


def on_server_cpus(cmd):
    return pinned(cmd, CFG["server_cpus"])


def on_load_cpus(cmd):
    return pinned(cmd, CFG["load_cpus"])


def launcher_note():
    if CFG["launcher"] == "listen":
        return "systemd-socket-activate -l ADDR xmpp-listen %s xmpp-handler" % " ".join(CFG["listen_args"])
    return "systemd-socket-activate --inetd -a -l ADDR xmpp-handler"


def pinning_note():
    return "servers on CPU %s, load generator on CPU %s" % (
        CFG["server_cpus"] or "any", CFG["load_cpus"] or "any")


# ---- processes and memory ----

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.05)


def proc_stat(pid):
    """(state, ppid, utime+stime, cutime+cstime) in clock ticks, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rfind(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def proc_cpu_ns(pid):
    """CPU time of a running process in ns (/proc/PID/schedstat): exact,
    where stat's utime and stime are each rounded down to a clock tick, which
    for thousands of processes of a few milliseconds each counts little."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        st = proc_stat(pid)
        return st[2] * 1e9 / TICK if st else 0


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and st[0] != "Z" and st[1] == pid:
                kids.append(int(d))
    return kids


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        k = children(todo.pop())
        out += k
        todo += k
    return out


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] != "Z"


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


TICK = os.sysconf("SC_CLK_TCK")


def rmtree(d):
    if os.environ.get("BENCH_KEEP") == "1":
        log("kept " + d)
    else:
        shutil.rmtree(d, ignore_errors=True)


def stop_pid(pid, grace=5.0):
    if not pid or not alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop_pids(pids, grace=5.0):
    """stop_pid for many at once: SIGTERM to all, then SIGKILL what is left."""
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def nprocs():
    """Processes on the machine now."""
    return sum(1 for d in os.listdir("/proc") if d.isdigit())


# ---- accounts ----

def scram_line(h, salt, iterations=4096):
    sp = hashlib.pbkdf2_hmac(h, PASSWORD.encode(), salt, iterations)
    ck = hmac.new(sp, b"Client Key", h).digest()
    sk = hashlib.new(h, ck).digest()
    vk = hmac.new(sp, b"Server Key", h).digest()
    b = lambda x: base64.b64encode(x).decode()
    return "%d,%s,%s,%s" % (iterations, b(salt), b(sk), b(vk))


def xmppd_creds(i):
    """SCRAM-SHA-1 and -256 lines with a salt of the user's own, as xmppctl writes them."""
    return scram_line("sha1", os.urandom(16)), scram_line("sha256", os.urandom(16))


def users():
    """[(number, [contact numbers])]: plain users, the fan-out cliques, then
    the users the scale scenario holds, then the login storm's, the message
    archive's sender and receiver, the PEP publisher and its contacts, the
    room's occupants, then the resume measurement's."""
    out = [(i, []) for i in range(1, NPLAIN + 1)]
    k1 = CFG["fo_k"] + 1
    for g in range(CFG["fo_g"] if NFO else 0):
        members = [FO_FIRST + g * k1 + m for m in range(k1)]
        out += [(u, [v for v in members if v != u]) for u in members]
    out += [(i, []) for i in range(SCALE_FIRST, SCALE_FIRST + NSCALE)]
    out += [(i, []) for i in range(STORM_FIRST, STORM_FIRST + NSTORM)]
    out += [(i, []) for i in range(MAM_FIRST, MAM_FIRST + NMAM)]
    if NPEP:
        contacts = list(range(PEP_FIRST + 1, PEP_FIRST + NPEP))
        out += [(PEP_FIRST, contacts)] + [(c, [PEP_FIRST]) for c in contacts]
    out += [(i, []) for i in range(ROOM_FIRST, ROOM_FIRST + NROOM)]
    out += [(i, []) for i in range(RESUME_FIRST, RESUME_FIRST + NRESUME)]
    return out


def jid(n):
    return (PATTERN % n) + "@" + DOMAIN


def resp(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


def tls_files(work):
    """(certificate, key) for DOMAIN, self-signed, made once in the work
    directory (readable by ejabberd's user: a throwaway loopback key)."""
    crt, key = os.path.join(work, "tls.crt"), os.path.join(work, "tls.key")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=" + DOMAIN, "-addext",
                        "subjectAltName=DNS:" + DOMAIN, "-keyout", key, "-out", crt],
                       check=True, capture_output=True, timeout=60)
        os.chmod(crt, 0o644)
        os.chmod(key, 0o644)
    return crt, key


def write_prosody_data(datadir, ulist):
    """Prosody's internal storage: one Lua file per account and roster."""
    host = Path(datadir) / DOMAIN
    (host / "accounts").mkdir(parents=True, exist_ok=True)
    (host / "roster").mkdir(parents=True, exist_ok=True)
    for n, contacts in ulist:
        name = PATTERN % n
        (host / "accounts" / (name + ".dat")).write_text(
            'return {\n\t["password"] = "%s";\n};\n' % PASSWORD)
        if contacts:
            items = "".join('\t["%s"] = {\n\t\t["subscription"] = "both";\n\t\t["groups"] = {};\n\t};\n'
                            % jid(c) for c in contacts)
            (host / "roster" / (name + ".dat")).write_text(
                'return {\n\t[false] = {\n\t\t["version"] = 1;\n\t};\n%s};\n' % items)


# ---- servers ----

def redis_server_cmd(cmd):
    """cmd (redis-server and its options) as xmppd's Redis runs here: on the
    servers' CPUs at BENCH_REDIS_NICE (README: Redis's share of the core),
    keeping nothing on disk, with room for every connection of the bench."""
    nice = ["nice", "-n", CFG["redis_nice"]] if CFG["redis_nice"] else []
    return on_server_cpus(nice + list(cmd) + ["--save", "", "--appendonly", "no", "--maxclients", "120000"])


def redis_server(args):
    """A redis-server with args (redis_server_cmd): its Popen."""
    return subprocess.Popen(redis_server_cmd(["redis-server"] + list(args)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Xmppd:
    name = "xmppd"
    ws_path = "/xmpp-websocket"         # xmpp-web(8)

    def __init__(self, work):
        self.work = work
        self.dir = tempfile.mkdtemp(prefix="xb-x-")      # short: unix socket path
        self.sock = os.path.join(self.dir, "redis.sock")
        self.conf = os.path.join(self.dir, "xmpp.conf")
        self.redis = self.sa = self.ws_sa = self.tls_sa = None
        self.port = self.ws_port = self.tls_port = None
        # [(a connection opened when Redis started, the expiry index's
        # keys on that Redis)]: what sessions() counts
        self.mons = []

    # ---- the Redis side: one redis-server on a unix socket here; the
    # subclass XmppdCluster overrides these for a Redis Cluster ----

    def redis_where(self):
        """redis-cli's options to reach the Redis (any key)."""
        return ["-s", self.sock]

    def redis_url(self):
        """xmpp.conf's redis value."""
        return "unix:" + self.sock

    def redis_pids(self):
        return [self.redis.pid] if self.redis else []

    def start_redis(self):
        self.redis = redis_server(["--port", "0", "--unixsocket", self.sock, "--unixsocketperm", "700",
                                   "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")])
        wait_for(lambda: os.path.exists(self.sock) and
                 self.redis_cli("ping").stdout.strip() == b"PONG", 10, "redis-server")
        mon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mon.connect(self.sock)
        mon.settimeout(60)
        self.mons = [(mon, ["xmpp:expiry"])]

    def shard_key(self, name, owner):
        """store.h's store_shard_key: the global index name (one key on one
        Redis) where owner's entry is."""
        return "xmpp:" + name

    def pipe(self, keyed):
        """keyed: [(key, RESP command on it)], written with redis-cli --pipe."""
        self.redis_cli("--pipe", input=b"".join(c for _, c in keyed))

    def stop_redis(self):
        if self.redis:
            stop_pid(self.redis.pid)
            try:
                self.redis.wait(1)
            except subprocess.TimeoutExpired:
                pass

    def redis_cli(self, *args, where=None, **kw):
        return subprocess.run(["redis-cli"] + (where or self.redis_where()) + list(args), capture_output=True,
                              check=True, timeout=60, **kw)

    def start(self, ulist):
        handler = BUILD / "xmpp-handler"
        strings = handler.read_bytes()
        self.start_redis()
        with open(self.conf, "w") as f:
            f.write("domain = %s\nredis = %s\nallow_plaintext_auth = yes\n" % (DOMAIN, self.redis_url()))
            # The per-connection read limit would throttle the message
            # scenario; Prosody's and ejabberd's limits are off too.
            if b"max_read_rate" in strings:
                f.write("max_read_rate = 1073741824\nmax_read_burst = 1073741824\n")
            # The message archive keeps everything, as the peers' do here
            # (the defaults drop what is beyond 10,000 messages or a week).
            if b"archive_max_count" in strings:
                f.write("archive_max_count = 0\narchive_max_age = 0\n")
            # Multi-user chat (the room scenario), on the peers' domain.
            if b"muc_domain" in strings:
                f.write("muc_domain = %s\n" % MUC_DOMAIN)
            # HTTP file upload (the upload scenario), files in this
            # directory; a build without it says so in the table
            self.upload = UPLOAD and b"upload_domain" in strings
            if self.upload:
                f.write("upload_domain = %s\nupload_dir = %s/up\nupload_max_size = %d\n"
                        "upload_quota = %d\n" % (UPLOAD_DOMAIN, self.dir, upload_max(),
                                                  upload_max() * (CFG["runs"] + 1)))
        t = time.monotonic()
        own = [n for n, _ in ulist if n < SCALE_FIRST]
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
            creds = list(ex.map(xmppd_creds, own, chunksize=64))
        if len(ulist) > len(own):
            creds += [xmppd_creds(0)] * (len(ulist) - len(own))
        now = int(time.time())
        cmds = []
        for (n, contacts), (s1, s256) in zip(ulist, creds):
            bare = jid(n)
            key = "xmpp:{%s}:account" % bare
            cmds.append((key, resp("HSET", key, "scram-sha-1", s1, "scram-sha-256", s256, "created", now)))
            key = self.shard_key("users", bare)
            cmds.append((key, resp("SADD", key, bare)))
            key = "xmpp:{%s}:roster" % bare
            for c in contacts:
                cmds.append((key, resp("HSET", key, jid(c), "<item subscription='both' jid='%s'/>" % jid(c))))
        self.pipe(cmds)
        log("%s: %d accounts written to Redis in %.1f s" % (self.name, len(ulist), time.monotonic() - t))
        self.log = os.path.join(self.dir, "handlers.log")
        self.sa, self.port = self.launch(handler, self.log)
        # The ws and upload scenarios' listener: xmpp-web, the HTTP front
        # (RFC 7395 at /xmpp-websocket, XEP-0363 under /upload/),
        # launched the same way, one process per connection.
        if HTTP:
            self.ws_sa, self.ws_port = self.launch(BUILD / "xmpp-web", os.path.join(self.dir, "web.log"))
        # The fast scenario's listener: direct TLS (xmpp-handler -T, as
        # xmpp-listen runs it on an xmpps socket), launched the same way;
        # its configuration is the other's with the certificate, so that
        # the plain listener offers no STARTTLS to the other scenarios.
        if TLS:
            crt, key = tls_files(self.work)
            conf = os.path.join(self.dir, "xmpps.conf")
            shutil.copy(self.conf, conf)
            with open(conf, "a") as f:
                f.write("tls_cert = %s\ntls_key = %s\n" % (crt, key))
            self.tls_sa, self.tls_port = self.launch(handler, os.path.join(self.dir, "xmpps.log"),
                                                     ["-T"], conf)
        if self.upload:
            # slots name xmpp-web's port (the configuration is read on
            # every connection: written once the port is known)
            with open(self.conf, "a") as f:
                f.write("http_url = http://127.0.0.1:%d\n" % self.ws_port)

    def launch(self, program, logfile, args=(), conf=None):
        """program (xmpp-handler or xmpp-web) once per connection on a free
        port: (the launcher's Popen, the port). listen: systemd-socket-activate
        passes the socket (Accept=no) and execs xmpp-listen at the first
        connection, which spawns and reaps the handlers (as
        xmpp-listen.socket does); inetd: it forks a handler per connection
        itself (as xmpp.socket's Accept=yes does, without the units).
        Either way every handler is a child of the launcher's PID and
        inherits its CPU affinity. args: the program's own; conf: the
        configuration file, if not self.conf."""
        if CFG["launcher"] == "listen":
            mode, run = [], [str(BUILD / "xmpp-listen")] + CFG["listen_args"] + [str(program)] + list(args)
        else:
            mode, run = ["--inetd", "-a"], [str(program)] + list(args)
        for _ in range(5):
            port = free_port()
            cmd = (["systemd-socket-activate"] + mode + ["-l", "127.0.0.1:%d" % port,
                   "-E", "XMPP_CONFIG=" + (conf or self.conf)] + run)
            with open(logfile, "ab") as lf:
                sa = subprocess.Popen(on_server_cpus(cmd),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=lf)
            try:
                wait_for(lambda: sa.poll() is not None or b"Listening on" in open(logfile, "rb").read(),
                         10, "systemd-socket-activate")
            except RuntimeError:
                pass
            if sa.poll() is None:
                return sa, port
        raise RuntimeError("xmppd: could not listen for %s" % program.name)

    def launchers(self):
        return [p for p in (self.sa, self.ws_sa, self.tls_sa) if p]

    def settle_http(self, timeout=10):
        """Wait until the xmpp-web processes have exited (and been
        reaped): their CPU is then in the launcher's counters."""
        deadline = time.monotonic() + timeout
        while self.ws_sa and children(self.ws_sa.pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def restart(self):
        """Nothing to do: no handler outlives its connection (Redis stays)."""

    def procs(self):
        """PIDs whose memory grows with connections: the handlers and Redis."""
        return [k for sa in self.launchers() for k in children(sa.pid)] + self.redis_pids()

    def cpu_split(self):
        """Clock ticks so far: the launcher's own (systemd-socket-activate,
        or xmpp-listen, which it execs into: one PID), every handler's
        (those reaped, counted in the launcher's cutime+cstime, plus those
        still running) and Redis's (all its threads: used_cpu_sys +
        used_cpu_user of INFO cpu)."""
        out = {"listener": 0, "handlers": 0, "redis": sum(proc_stat(p)[2] for p in self.redis_pids())}
        for sa in self.launchers():
            a = proc_stat(sa.pid)
            out["listener"] += a[2]
            out["handlers"] += a[3] + sum(proc_cpu_ns(k) for k in children(sa.pid)) * TICK / 1e9
        return out

    def cpu_ticks(self):
        """CPU of the listener and every handler, plus Redis."""
        return sum(self.cpu_split().values())

    def settle(self, timeout=15):
        """Wait until every handler has exited (and been reaped)."""
        deadline = time.monotonic() + timeout
        while any(children(sa.pid) for sa in self.launchers()) and time.monotonic() < deadline:
            time.sleep(0.05)

    def log_size(self):
        return os.path.getsize(self.log)

    def log_since(self, offset):
        with open(self.log, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    @staticmethod
    def handler_failures(text):
        """Handlers that ended badly, from the launcher's lines: xmpp-listen
        says "handler PID exited with status N" (N > 0: a warning) or
        "handler PID killed by signal N"; systemd-socket-activate --inetd
        says "Child PID died with code C"."""
        n = len(re.findall(r"handler \d+ (?:exited with status [1-9]\d*|killed by signal \d+)", text))
        return n + len(re.findall(r"Child \d+ died with code -?[1-9]\d*", text))

    def archive_count(self, bare):
        """Messages in a user's archive: the length of its stream."""
        return int(self.redis_cli("XLEN", "xmpp:{%s}:mam" % bare).stdout)

    def sessions(self):
        """Session records in Redis: members of the expiry index (on a
        cluster, of all its shards). Asked on the connections opened when
        Redis started: during the storm the sessions hold every connection
        Redis allows, and a new redis-cli would be refused ("max number of
        clients reached")."""
        total = 0
        for mon, keys in self.mons:
            mon.sendall(b"".join(resp("ZCARD", k) for k in keys))
            buf = b""
            while buf.count(b"\r\n") < len(keys):      # integer or error replies: one line each
                chunk = mon.recv(1 << 16)
                if not chunk:
                    raise RuntimeError("redis-server closed the bench's connection")
                buf += chunk
            for line in buf.split(b"\r\n")[:len(keys)]:
                if not line.startswith(b":"):
                    raise RuntimeError("ZCARD xmpp:expiry: %r" % line)
                total += int(line[1:])
        return total

    def stop(self):
        for sa in self.launchers():
            # The handlers first: xmpp-listen leaves them running when it
            # stops (so would its children, reparented, be out of sight).
            stop_pids(children(sa.pid), 3)
            stop_pid(sa.pid)
        for p in self.launchers():
            try:
                p.wait(1)
            except subprocess.TimeoutExpired:
                pass
        self.stop_redis()
        rmtree(self.dir)


class XmppdCluster(Xmppd):
    """xmppd on a Redis Cluster of CLUSTER_PRIMARIES primaries (no replicas):
    redis-servers on free TCP ports of 127.0.0.1 in their own temporary
    directory, formed by hand as the cluster tests do (tests/proto/
    cluster_harness.py: ADDSLOTSRANGE, MEET between every pair, until every
    node says cluster_state:ok), each started as the single Redis is
    (redis_server_cmd: pinned, niced). Everything else is Xmppd's."""
    name = "xmppd-cluster"

    def __init__(self, work):
        super().__init__(work)
        self.cluster = None
        self.slots = []         # [(first slot, last slot, port of its primary)]

    def redis_where(self):
        # -c: follow MOVED from the first primary to the key's
        return ["-c", "-h", "127.0.0.1", "-p", str(self.cluster.ports[0])]

    def redis_url(self):
        return self.cluster.url()

    def redis_pids(self):
        return [p.pid for p in self.cluster.procs.values()] if self.cluster else []

    def start_redis(self):
        sys.path.insert(0, str(ROOT / "tests" / "proto"))
        import cluster_harness as ch

        class BenchCluster(ch.Cluster):
            def _cmd(self, port, d, log):
                return redis_server_cmd(super()._cmd(port, d, log))

        self.ch = ch
        # the cluster's default node timeout (15 s), not the tests' 2 s: on
        # one busy core a primary must not be taken for failed (without
        # replicas its slots would then be down)
        self.cluster = BenchCluster(CLUSTER_PRIMARIES, node_timeout_ms=15000)
        if os.environ.get("BENCH_KEEP") == "1":
            os.environ["XMPPD_KEEP_TMP"] = "1"      # the harness's word for it
        self.cluster.start()
        self.slots = [(a, b, port) for a, b, port, _ in self.cluster.slot_map(self.cluster.ports[0])]
        log("xmppd-cluster: Redis Cluster of %d primaries on ports %s (%s)" % (
            CLUSTER_PRIMARIES, " ".join(map(str, self.cluster.ports)), self.cluster.dir))
        for a, b, port in self.slots:
            mon = socket.create_connection(("127.0.0.1", port), timeout=60)
            self.mons.append((mon, [self.shard_key_at("expiry", k) for k in range(a, b + 1)]))

    def node(self, key):
        """The port of the primary serving key's slot."""
        slot = self.ch.slot_of(key)
        return next(port for a, b, port in self.slots if a <= slot <= b)

    def shard_key_at(self, name, slot):
        """The shard of index name at slot: xmpp:NAME:{TAG}, TAG the slot's
        tag (lib/keyslot.c's keyslot_tag)."""
        return "xmpp:%s:{%s}" % (name, self.ch.slot_tag(slot))

    def shard_key(self, name, owner):
        """The shard in the slot of owner's own keys (xmpp:{OWNER}:...)."""
        return self.shard_key_at(name, self.ch.slot_of("{%s}" % owner))

    def pipe(self, keyed):
        """Each primary gets the commands on its slots' keys, in order."""
        by = {}
        for key, c in keyed:
            by.setdefault(self.node(key), []).append(c)
        for port, cmds in sorted(by.items()):
            self.redis_cli("--pipe", input=b"".join(cmds), where=["-h", "127.0.0.1", "-p", str(port)])

    def stop_redis(self):
        if self.cluster:
            self.cluster.stop()         # each redis-server by its PID


class Prosody:
    name = "prosody"
    ws_path = "/xmpp-websocket"         # mod_websocket's default

    def __init__(self, work):
        self.work = work
        self.dir = tempfile.mkdtemp(prefix="xb-p-")
        self.proc = None
        self.port = None
        # The message archive: SQLite, as Prosody recommends for archives of
        # this size, in memory (/dev/shm) like xmppd's Redis, which keeps
        # nothing on disk here; without lua-dbi-sqlite3 the internal
        # storage (one file per user, read whole for a query).
        self.sql = SQLITE_DBI and os.path.isdir("/dev/shm")
        self.shm = tempfile.mkdtemp(prefix="xb-p-", dir="/dev/shm") if self.sql else None
        self.db = os.path.join(self.shm, "prosody.sqlite") if self.sql else None

    def start(self, ulist):
        data = os.path.join(self.dir, "data")
        shutil.copytree(os.path.join(self.work, "prosody-data"), data)
        os.makedirs(os.path.join(self.dir, "certs"))
        self.port = free_port()
        ws = "ws" in CFG["scenarios"]
        self.ws_port = free_port() if HTTP else None
        self.tls_port = free_port() if TLS else None
        cfg = os.path.join(self.dir, "prosody.cfg.lua")
        with open(cfg, "w") as f:
            f.write("""-- written by bench/bench.py
%(root)s
pidfile = "%(d)s/prosody.pid"
data_path = "%(d)s/data"
certificates = "%(d)s/certs"
log = { warn = "%(d)s/prosody.log" }
interfaces = { "127.0.0.1" }
c2s_ports = { %(port)d }
c2s_interfaces = { "127.0.0.1" }
%(tls)s
network_backend = "epoll"
-- Nagle off (TCP_NODELAY, as xmppd and ejabberd): with it a reply of
-- many stanzas waits for the client's delayed ACK (~40 ms a query)
network_settings = { tcp_backlog = 4096; nagle = false }
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "posix"; "offline"; "smacks"; "mam"; "pep"%(wsmod)s }
modules_disabled = { "s2s" }
%(http)s
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
%(storage)s
archive_expires_after = "never"
default_archive_policy = true
max_archive_query_results = 250
VirtualHost "%(domain)s"
-- multi-user chat (the room scenario): mod_muc's defaults, which have no
-- occupant limit and no rate limit; rooms are locked until the owner's
-- form (muc_room_locking), which the bench submits
Component "%(muc)s" "muc"
%(upload)s""" % {"d": self.dir, "port": self.port, "domain": DOMAIN, "muc": MUC_DOMAIN,
       "root": "run_as_root = true" if IS_ROOT else "",
       # the ws scenario: mod_websocket (Prosody 0.12 core) on its own
       # loopback HTTP port, no HTTPS port; without it, no HTTP at all
       "wsmod": '; "websocket"' if ws else "",
       "http": ('http_ports = { %d }\nhttp_interfaces = { "127.0.0.1" }\nhttps_ports = { }' % self.ws_port)
       if HTTP else "",
       # the upload scenario: mod_http_file_share (Prosody 0.12's XEP-0363
       # service) on that port, its limits above the file
       "upload": ('Component "%s" "http_file_share"\nhttp_file_share_size_limit = %d\n'
                  'http_file_share_daily_quota = %d\n' % (UPLOAD_DOMAIN, upload_max(),
                                                           upload_max() * (CFG["runs"] + 1)))
       if UPLOAD else "",
       # the fast scenario: direct TLS (XEP-0368, Prosody 0.12's
       # c2s_direct_tls), the certificate for that port only (none in
       # certificates/: no STARTTLS on the other port)
       "tls": ('c2s_direct_tls_ports = { %d }\nc2s_direct_tls_interfaces = { "127.0.0.1" }\n'
               'c2s_direct_tls_ssl = { certificate = "%s"; key = "%s" }' % ((self.tls_port,) + tls_files(self.work)))
       if TLS else "",
       "storage": 'storage = { archive = "sql" }\nsql = { driver = "SQLite3", database = "%s" }' % self.db
       if self.sql else 'storage = "internal"\nstorage_archive_item_limit = 100000000'})
        if not self.sql:
            log("prosody: lua-dbi-sqlite3 is missing: message archive in the internal storage")
        self.cfg = cfg
        self.launch()

    def launch(self):
        t = time.monotonic()
        self.proc = subprocess.Popen(on_server_cpus(["prosody", "--config", self.cfg, "-F"]), cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=open(os.path.join(self.dir, "out.log"), "ab"),
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or (
            port_open(self.port) and (not self.ws_port or port_open(self.ws_port)) and
            (not self.tls_port or port_open(self.tls_port))), 20, "prosody")
        if self.proc.poll() is not None:
            raise RuntimeError("prosody exited: " + open(os.path.join(self.dir, "out.log")).read()[-2000:])
        log("prosody: up in %.1f s" % (time.monotonic() - t))

    def restart(self):
        stop_pid(self.proc.pid)
        self.proc.wait(5)
        self.launch()

    def archive_count(self, bare):
        """Messages in a user's archive, counted in the SQLite database
        (None with the internal storage: the query's count then)."""
        if not self.sql:
            return None
        import sqlite3
        user, host = bare.split("@")
        with sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=30) as db:
            return db.execute("SELECT COUNT(*) FROM prosodyarchive WHERE host=? AND user=? AND store='archive'",
                              (host, user)).fetchone()[0]

    def procs(self):
        return [self.proc.pid]

    def cpu_ticks(self):
        return proc_stat(self.proc.pid)[2]

    def settle(self, timeout=5):
        time.sleep(0.3)

    def stop(self):
        if self.proc:
            stop_pid(self.proc.pid)
            try:
                self.proc.wait(1)
            except subprocess.TimeoutExpired:
                pass
        rmtree(self.dir)
        if self.shm:
            rmtree(self.shm)


class Ejabberd:
    """Runs as the ejabberd user (ejabberdctl insists when started by root),
    with its own config dir, spool, logs, Erlang node name and distribution
    port (no epmd), and HOME (for the Erlang cookie) in a temp dir."""
    name = "ejabberd"
    ws_path = "/ws"                     # the request handler configured below

    def __init__(self, work):
        self.work = work
        self.dir = tempfile.mkdtemp(prefix="xb-e-")
        self.pid = None
        self.port = None
        # The message archive: SQLite, which ejabberd recommends (it warns
        # that Mnesia's tables stop at 2 GB; a Mnesia archive, a bag per user,
        # also slows down with every message: 4,505 in 300 s here), in
        # memory like Prosody's; without erlang-p1-sqlite3, Mnesia.
        self.shm = tempfile.mkdtemp(prefix="xb-e-", dir="/dev/shm") if (
            SQLITE_ERL and os.path.isdir("/dev/shm")) else None

    def ctl(self, *args, timeout=120, check=True, pin=False):
        cmd = ["ejabberdctl", "--config-dir", self.dir, "--spool", self.dir + "/spool",
               "--logs", self.dir + "/logs"] + list(args)
        if IS_ROOT:
            # setpriv, not runuser or su: PAM would reset the file
            # descriptor limit to 1024.
            cmd = ["setpriv", "--reuid=ejabberd", "--regid=ejabberd", "--init-groups",
                   "env", "HOME=" + self.dir, "USER=ejabberd", "LOGNAME=ejabberd"] + cmd
        if pin:
            # the Erlang VM (and an epmd, if one started) inherit it
            cmd = on_server_cpus(cmd)
        p = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode:
            raise RuntimeError("ejabberdctl %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p

    def start(self, ulist):
        self.port = free_port()
        self.ws_port = free_port() if HTTP else None
        self.tls_port = free_port() if TLS else None
        dist = free_port()
        os.makedirs(self.dir + "/spool")
        os.makedirs(self.dir + "/logs")
        open(self.dir + "/inetrc", "w").close()
        with open(self.dir + "/ejabberd.yml", "w") as f:
            f.write("""# written by bench/bench.py
hosts:
  - %(domain)s
loglevel: warning
certfiles: [%(certs)s]
acme:
  auto: false
listen:
  -
    port: %(port)d
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    backlog: 4096
    shaper: none
    access: c2s
    starttls_required: false
%(tls)s%(ws)sauth_method: internal
auth_password_format: plain
acl:
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  c2s:
    allow: all
shaper_rules:
  max_user_sessions: 10
  max_user_offline_messages: 5000
  c2s_shaper: none
modules:
  mod_roster: {}
  mod_offline: {}
  mod_disco: {}
  mod_ping: {}
  mod_admin_extra: {}
  mod_stream_mgmt: {}
  mod_mam:
    default: always
    db_type: %(mam_db)s
  mod_caps: {}
  mod_pubsub:
    plugins:
      - flat
      - pep
  mod_muc:
    hosts:
      - %(muc)s
    max_users: %(room_max)d
    max_users_presence: %(room_max)d
    min_message_interval: 0
    min_presence_interval: 0
    room_shaper: none
    user_message_shaper: none
    user_presence_shaper: none
    default_room_options:
      max_users: %(room_max)d
%(upload)s%(sql)s""" % {"domain": DOMAIN, "port": self.port,
               # the ws scenario: ejabberd_http with the WebSocket handler
               # (it takes no shaper, access or max_stanza_size option)
               "ws": """  -
    port: %d
    ip: "127.0.0.1"
    module: ejabberd_http
    backlog: 4096
    request_handlers:
      %s: ejabberd_http_ws
      /upload: mod_http_upload
""" % (self.ws_port, self.ws_path) if self.ws_port else "",
               # the upload scenario: mod_http_upload (XEP-0363) on that
               # listener, its limit above the file, no thumbnails, open
               # to every user (its default access rule, local, needs an
               # acl this file does not define)
               "upload": """  mod_http_upload:
    put_url: "http://@HOST@:%d/upload"
    docroot: "%s/upload"
    max_size: %d
    thumbnail: false
    access: c2s
""" % (self.ws_port, self.dir, upload_max()) if UPLOAD else "", "mam_db": "sql" if self.shm else "mnesia",
               # the fast scenario: direct TLS (XEP-0368) on a listener
               # of its own, otherwise as the one above
               "certs": '"%s", "%s"' % tls_files(self.work) if TLS else "",
               "tls": """  -
    port: %d
    ip: "127.0.0.1"
    module: ejabberd_c2s
    tls: true
    max_stanza_size: 262144
    backlog: 4096
    shaper: none
    access: c2s
""" % self.tls_port if TLS else "",
               "muc": MUC_DOMAIN, "room_max": max(1000, CFG["room_n"] + 10),
               "sql": "sql_type: sqlite\nsql_database: %s/ejabberd.db\n" % self.shm if self.shm else ""})
        with open(self.dir + "/ejabberdctl.cfg", "w") as f:
            f.write('ERLANG_NODE=xmppbench%d@localhost\nERL_DIST_PORT=%d\n'
                    'EJABBERD_PID_PATH=%s/ejabberd.pid\nERL_MAX_PORTS=200000\n'
                    'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\n' % (os.getpid(), dist, self.dir))
        shutil.copytree(os.path.join(self.work, "prosody-data"), self.dir + "/import")
        if IS_ROOT:
            pw = pwd.getpwnam("ejabberd")
            if self.shm:
                os.chown(self.shm, pw.pw_uid, pw.pw_gid)
            for dp, dns, fns in os.walk(self.dir):
                for n in [dp] + [os.path.join(dp, x) for x in fns]:
                    os.chown(n, pw.pw_uid, pw.pw_gid)
        t = time.monotonic()
        self.launch()
        t2 = time.monotonic()
        self.ctl("import_prosody", self.dir + "/import", timeout=300)
        wait_for(self.ports_open, 20, "ejabberd port")
        log("ejabberd: up in %.1f s, %d accounts imported in %.1f s" % (
            t2 - t, len(ulist), time.monotonic() - t2))

    def launch(self):
        if os.path.exists(self.dir + "/ejabberd.pid"):
            os.unlink(self.dir + "/ejabberd.pid")
        self.ctl("start", pin=True)
        self.ctl("started", timeout=90)
        wait_for(lambda: os.path.exists(self.dir + "/ejabberd.pid"), 10, "ejabberd pid file")
        self.pid = int(open(self.dir + "/ejabberd.pid").read().split()[0])

    def halt(self):
        try:
            self.ctl("stop", timeout=30, check=False)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 15
        while alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for p in [self.pid] + descendants(self.pid):
            stop_pid(p, 2)

    def ports_open(self):
        return (port_open(self.port) and (not self.ws_port or port_open(self.ws_port)) and
                (not self.tls_port or port_open(self.tls_port)))

    def restart(self):
        """Accounts and rosters stay in the spool (Mnesia)."""
        t = time.monotonic()
        self.halt()
        self.launch()
        wait_for(self.ports_open, 30, "ejabberd port")
        log("ejabberd: restarted in %.1f s" % (time.monotonic() - t))

    def procs(self):
        return [self.pid] + descendants(self.pid)

    def cpu_ticks(self):
        return proc_stat(self.pid)[2]

    def settle(self, timeout=5):
        time.sleep(0.3)

    def stop(self):
        if self.pid and alive(self.pid):
            self.halt()
        rmtree(self.dir)
        if self.shm:
            rmtree(self.shm)


# ---- the load generator ----

def parse_line(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def load_cmd(server, scenario, args, ws=False, tls=False):
    """An xmppload command line against server, on the load generator's
    CPUs; ws: over WebSocket, to the server's WebSocket endpoint; tls: to
    its direct TLS port."""
    where = (["-p", str(server.ws_port), "-x", server.ws_path] if ws else
             ["-p", str(server.tls_port), "-E"] if tls else ["-p", str(server.port)])
    return on_load_cpus([str(LOAD), scenario] + where + ["-d", DOMAIN, "-u", PATTERN,
                         "-w", PASSWORD, "-l", server.name] + [str(a) for a in args])


def xmppload(server, scenario, args, timeout, ws=False, tls=False):
    cmd = load_cmd(server, scenario, args, ws, tls)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [l for l in p.stdout.splitlines() if l.startswith("scenario=")]
    if not lines:
        raise RuntimeError("xmppload %s: no result (exit %d): %s" % (scenario, p.returncode, p.stderr[-500:]))
    print(lines[-1], flush=True)
    return parse_line(lines[-1])


def xmppload_marked(server, scenario, args, timeout, exact=None, tls=False):
    """xmppload, reading the server's CPU at its start and at each of its
    "scenario=SCENARIO-mark phase=P" lines (printed as a phase ends):
    (its result line, [(phase, CPU seconds since the previous mark)]).
    exact, a list, gets (phase, {part: seconds}) from cpu_ns_split (to the
    nanosecond, every live thread; xmppd in its parts)."""
    p = subprocess.Popen(load_cmd(server, scenario, args, tls=tls), stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(timeout, p.kill)
    watchdog.start()
    phases, last, result = [], server.cpu_ticks(), None
    last_ns = cpu_ns_split(server) if exact is not None else None
    try:
        for line in p.stdout:
            if line.startswith("scenario=%s-mark " % scenario):
                now = server.cpu_ticks()
                phase = parse_line(line)["phase"]
                phases.append((phase, (now - last) / TICK))
                last = now
                if exact is not None:
                    now_ns = cpu_ns_split(server)
                    exact.append((phase, {k: (now_ns[k] - last_ns[k]) / 1e9 for k in now_ns}))
                    last_ns = now_ns
            elif line.startswith("scenario="):
                result = line.strip()
        p.wait()
    finally:
        watchdog.cancel()
    if result is None:
        raise RuntimeError("xmppload %s: no result (exit %s)" % (scenario, p.returncode))
    print(result, flush=True)
    return parse_line(result), phases


def cpu_split(server):
    """{part: ticks} of a server whose CPU has parts (xmppd), else {}."""
    return server.cpu_split() if hasattr(server, "cpu_split") else {}


def measure_cpu(server, fn, parts=None):
    """Run fn(); return (its result, server CPU seconds it cost). parts, a
    dict, gets the seconds of each part of the server (xmppd: listener,
    handlers, redis)."""
    server.settle()
    c0, p0 = server.cpu_ticks(), cpu_split(server)
    r = fn()
    server.settle()
    c1, p1 = server.cpu_ticks(), cpu_split(server)
    if parts is not None:
        parts.update({k: (p1[k] - p0[k]) / TICK for k in p1})
    return r, (c1 - c0) / TICK


def add_per_unit(r, parts, n, unit, scale):
    """r["<part>_cpu_<unit>"] for every part of the server's CPU, per one of n."""
    for k, v in parts.items():
        r["%s_cpu_%s" % (k, unit)] = "%.2f" % (v * scale / max(1, n))


def sc_login(server, mech, ws=False):
    n = CFG["login_n"]
    r, cpu = measure_cpu(server, lambda: xmppload(
        server, "login", ["-m", mech, "-n", n, "-c", CFG["login_c"]], timeout=120 + n / 20, ws=ws))
    r["server_cpu_ms_per_login"] = "%.3f" % (cpu * 1000 / max(1, int(r["ok"])))
    return r


# The fast scenario's three ways in, each to a first message (xmppload -e):
# xmppload's options, and whether the peers (Prosody 0.12, ejabberd 23.01:
# neither speaks SASL2 nor FAST) can take it.
FAST_PATHS = [("rfc6120", [], True), ("sasl2", ["-2"], False), ("fast", ["-F"], False)]


def sc_fast(server, path):
    """LOGIN_N logins, LOGIN_C at a time, over direct TLS, SCRAM-SHA-1 (FAST:
    a first login with it gets each client a token, then the logins measured
    use the token), each until the message it sends itself with its initial
    presence arrives: logins/s, the round trips from TCP connect to the
    bound session and to that message, the server's CPU per login. None
    where the server does not speak the path."""
    opts, peers = [o for p, o, _ in FAST_PATHS if p == path][0], [x for p, _, x in FAST_PATHS if p == path][0]
    if not peers and not isinstance(server, Xmppd):
        return None
    n = CFG["login_n"]
    args = ["-e", "-m", "scram-sha-1", "-n", n, "-c", CFG["login_c"]] + opts
    if path != "fast":
        r, cpu = measure_cpu(server, lambda: xmppload(server, "login", args, timeout=120 + n / 10, tls=True))
    else:
        # the CPU of the token logins' phase only (xmppload's marks)
        server.settle()
        r, phases = xmppload_marked(server, "login", args, timeout=240 + n / 5, tls=True)
        cpu = dict(phases).get("logins", 0.0)
    r["server_cpu_ms_per_login"] = "%.3f" % (cpu * 1000 / max(1, int(r["echo_ok"])))
    return r


FLOOR_N = 1000           # spawns per floor measurement
SPAWNFLOOR = ROOT / "build" / "bench" / "spawnfloor"


def spawn_floor(program):
    """CPU ms per spawn of program (and its wait), one at a time, pinned to
    the servers' first CPU (else the first this process may use)."""
    cpu = sorted(cpu_list(CFG["server_cpus"]) or os.sched_getaffinity(0))[0]
    out = subprocess.run(["taskset", "-c", str(cpu), str(SPAWNFLOOR), "-n", str(FLOOR_N)] + program,
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError("spawnfloor: " + out.stderr.strip())
    return parse_line(out.stdout)["cpu_ms"]


def sc_floor(results):
    """The floor under a process-per-connection login (issue: a login's CPU
    against the cost of starting a process at all), and where xmppd's PLAIN
    and SCRAM logins of this run stand against it."""
    r = {"true_cpu_ms": spawn_floor([str(ROOT / "build" / "bench" / "true")]),
         "handler_cpu_ms": spawn_floor([str(BUILD / "xmpp-handler"), "-h"])}
    floor = float(r["true_cpu_ms"])
    for m in CFG["mechs"]:
        runs = results.get("xmppd", {}).get("login-" + m, [])
        if runs and floor > 0:
            r["login_" + m + "_x"] = "%.2f" % (float(runs[-1]["server_cpu_ms_per_login"]) / floor)
    return r


def sc_messages(server, scenario="messages", extra=(), ws=False):
    """P pairs, W messages in flight per sender, T seconds; scenario "sm"
    is the same load with stream management on (extra: its options); ws:
    every client over WebSocket."""
    parts = {}
    r, cpu = measure_cpu(server, lambda: xmppload(
        server, scenario, ["-P", CFG["msg_p"], "-W", CFG["msg_w"], "-T", CFG["msg_t"],
                           "-D", CFG["msg_d"], "-c", CFG["login_c"]] + list(extra),
        timeout=120 + CFG["msg_t"] + CFG["msg_d"], ws=ws), parts)
    if sm_unsupported(r):
        return r
    if "received" not in r:
        raise RuntimeError("not every user logged in: online=%s first_error=%s" % (
            r.get("online"), r.get("first_error")))
    # includes the logins and logouts of the 2P users: small beside the messages
    r["server_cpu_us_per_msg"] = "%.2f" % (cpu * 1e6 / max(1, int(r["received"])))
    add_per_unit(r, parts, int(r["received"]), "us_per_msg", 1e6)
    if parts:
        print("scenario=%s%s-cpu server=%s " % ("ws-" if ws else "", scenario, server.name) +
              " ".join("%s=%s" % (k, v) for k, v in r.items() if "_cpu_us_per" in k), flush=True)
    return r


# ---- stream management (XEP-0198) ----

SM_NOT_SUPPORTED = "not supported"


def sm_unsupported(r):
    """The server offered no urn:xmpp:sm:3 feature after the restart."""
    return int(r.get("sm_unsupported", 0)) > 0


def sm_status(r, what_failed):
    """For the table: ok, or FAILED and why (not supported is said apart)."""
    bad = ["%s %s" % (r[k], label) for k, label in what_failed if int(r.get(k, 0))]
    return "FAILED: " + ", ".join(bad) if bad else "ok"


def sc_sm(server):
    """The messages load with every client using stream management: acks
    requested every SM_ACK_EVERY stanzas and checked, the server's answered."""
    r = sc_messages(server, "sm", ["-a", CFG["sm_ack_every"]])
    if sm_unsupported(r):
        return {"sm_status": SM_NOT_SUPPORTED}
    r["sm_status"] = sm_status(r, [("ack_mismatches", "ack mismatches"), ("acks_unanswered", "acks unanswered"),
                                   ("sm_enable_failed", "enable failed")])
    return r


def sc_sm_resume(server):
    """SM_RESUME_N clients log in with SCRAM-SHA-1 and enable SM with
    resume, cut their connections, reconnect and resume: resumes/s against
    the fresh logins/s of the same clients."""
    server.settle()
    r, phases = xmppload_marked(server, "resume", ["-f", RESUME_FIRST, "-n", CFG["sm_resume_n"],
                                                   "-c", CFG["login_c"], "-m", "scram-sha-1",
                                                   "-a", CFG["sm_ack_every"]],
                                timeout=240 + CFG["sm_resume_n"] / 5)
    if sm_unsupported(r):
        return {"sm_status": SM_NOT_SUPPORTED}
    # server CPU of each phase: the logins (enable and presence included;
    # marked before the cut), then the cut and the resumes
    for phase, secs in phases:
        done = int(r.get("logged_in" if phase == "logged-in" else "resumed", 0))
        key = "server_cpu_ms_per_login" if phase == "logged-in" else "server_cpu_ms_per_resume"
        r[key] = "%.3f" % (secs * 1000 / max(1, done))
    print("scenario=resume-cpu server=%s %s" % (server.name, " ".join(
        "%s=%s" % (k, r[k]) for k in ("server_cpu_ms_per_login", "server_cpu_ms_per_resume") if k in r)),
        flush=True)
    if not int(r.get("resumed", 0)):
        # no figures of resumes that did not happen (xmppload prints zeros)
        for k in [k for k in r if k.startswith("resume_") and k.endswith(("_ms", "_rate", "_ratio"))]:
            del r[k]
        r.pop("server_cpu_ms_per_resume", None)
    # xmppload counts a resume answered <failed/> among its failed clients too
    r["other_failures"] = str(int(r.get("failed", 0)) - int(r.get("resume_failed", 0)))
    r["sm_status"] = sm_status(r, [("resume_failed", "resumes failed"),
                                   ("resume_not_offered", "enabled without resume"),
                                   ("ack_mismatches", "h mismatches"), ("sm_enable_failed", "enable failed"),
                                   ("other_failures", "clients failed")])
    server.settle()
    return r


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0])
    return out


def kernel_kib(mi):
    """Kernel memory that grows with processes and sockets."""
    return mi["Slab"] + mi["KernelStack"] + mi["PageTables"]


def hold(server, first, n, ws=False):
    """An xmppload holding n idle connections (users first..; ws: over
    WebSocket): (Popen, result line)."""
    p = subprocess.Popen(load_cmd(server, "idle", ["-f", first, "-n", n, "-c", CFG["login_c"], "-T", 300], ws),
                         stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("scenario=idle "):
            return p, parse_line(line)
    release(p)
    raise RuntimeError("xmppload idle gave no result")


def release(p):
    """Stop an xmppload idle (it closes its streams); the rest of its output."""
    if p.poll() is None:
        p.send_signal(signal.SIGUSR1)
    try:
        return p.communicate(timeout=60)[0] or ""
    except subprocess.TimeoutExpired:
        # What it printed before (its idle-end line) is kept for the next
        # communicate().
        log("xmppload did not end within 60 s of SIGUSR1: killed")
        p.kill()
        return p.communicate()[0] or ""


def proc_kernel_kib(pid):
    """Kernel memory a process holds that its PSS does not show: its page
    tables and a 16 KiB kernel stack per thread (x86-64)."""
    pte, threads = 0, 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmPTE:"):
                    pte = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
    except OSError:
        pass
    return pte + 16 * threads


def snapshot(server, loaders):
    procs = server.procs()
    mi = meminfo()
    snap = {"pss": sum(pss_kib(q) for q in procs), "avail": mi["MemAvailable"], "kernel": kernel_kib(mi),
            "pkernel": sum(proc_kernel_kib(q) for q in procs),
            "load": sum(pss_kib(l.pid) for l in loaders), "procs": procs}
    if isinstance(server, Xmppd):
        rp = server.redis_pids()
        snap["redis"] = sum(pss_kib(q) for q in rp)
        hs = [q for q in procs if q not in rp]
        snap["handler_avg"] = sum(pss_kib(q) for q in hs) / max(1, len(hs))
    return snap


def steady(server, most=20.0):
    """Wait (at least 2 s, at most `most`) until the server's memory stops
    moving: a garbage-collected server may still be giving back what the
    previous scenario used."""
    time.sleep(1)
    last = sum(pss_kib(q) for q in server.procs())
    deadline = time.monotonic() + most
    while time.monotonic() < deadline:
        time.sleep(1)
        cur = sum(pss_kib(q) for q in server.procs())
        if abs(cur - last) <= max(256, cur * 0.002):
            return
        last = cur


def sc_idle(server, ws=False):
    """N idle authenticated connections on top of B already held: what
    grows between the two points, divided by N (ws: every connection over
    WebSocket, the B as well). The server is restarted
    first: a garbage-collected server (Lua, Erlang) keeps the memory the
    previous scenarios used and would fit new connections into it."""
    n, b = CFG["idle_n"], IDLE_BASE
    server.restart()
    server.settle()
    loaders = []
    try:
        p0, _ = hold(server, 1, b, ws)
        loaders.append(p0)
        steady(server)
        s1 = snapshot(server, loaders)
        p1, up = hold(server, 1 + b, n, ws)
        loaders.append(p1)
        steady(server)          # lazy allocations, the last presences
        s2 = snapshot(server, loaders)
        nup = max(1, int(up["up"]))
        r = dict(up)
        r["procs"] = len(s2["procs"])
        r["proc_kib_per_conn"] = "%.1f" % ((s2["pss"] - s1["pss"]) / nup)
        r["pkernel_kib_per_conn"] = "%.1f" % ((s2["pkernel"] - s1["pkernel"]) / nup)
        r["total_kib_per_conn"] = "%.1f" % ((s2["pss"] - s1["pss"] + s2["pkernel"] - s1["pkernel"]) / nup)
        r["kernel_kib_per_conn"] = "%.1f" % ((s2["kernel"] - s1["kernel"]) / nup)
        r["memavail_kib_per_conn"] = "%.1f" % ((s1["avail"] - s2["avail"] - (s2["load"] - s1["load"])) / nup)
        keys = ["up", "procs", "proc_kib_per_conn", "pkernel_kib_per_conn", "total_kib_per_conn",
                "kernel_kib_per_conn", "memavail_kib_per_conn"]
        if isinstance(server, Xmppd):
            r["handler_pss_kib"] = "%.1f" % s2["handler_avg"]
            r["redis_kib_per_conn"] = "%.1f" % ((s2["redis"] - s1["redis"]) / nup)
            keys += ["handler_pss_kib", "redis_kib_per_conn"]
        print("scenario=%sidle-memory server=%s base=%d " % ("ws-" if ws else "", server.name, b) +
              " ".join("%s=%s" % (k, r[k]) for k in keys), flush=True)
        return r
    finally:
        for p in reversed(loaders):
            release(p)


def sc_fanout(server):
    parts = {}
    r, cpu = measure_cpu(server, lambda: xmppload(
        server, "fanout", ["-f", FO_FIRST, "-K", CFG["fo_k"], "-G", CFG["fo_g"],
                           "-R", CFG["fo_r"], "-S", CFG["fo_s"], "-c", CFG["login_c"]],
        timeout=240), parts)
    # per presence stanza delivered, over the whole scenario (the logins of
    # its users included, as in messages)
    n = int(r.get("presences_in", 0))
    if n:
        r["server_cpu_us_per_presence"] = "%.2f" % (cpu * 1e6 / n)
        add_per_unit(r, parts, n, "us_per_presence", 1e6)
        print("scenario=fanout-cpu server=%s presences_in=%d " % (server.name, n) +
              " ".join("%s=%s" % (k, v) for k, v in r.items() if "_cpu_us_per" in k), flush=True)
    return r


# ---- HTTP file upload (XEP-0363) ----

NS_UPLOAD = "urn:xmpp:http:upload:0"
UPLOAD_TYPE = "application/octet-stream"
UPLOAD_TIMEOUT = 300             # seconds one transfer may take
UPLOAD_NOT_SUPPORTED = "not supported"
_upload_seq = itertools.count(1)    # a file name of its own for every slot


def upload_max():
    """Every server's largest file: the scenario's, and a MiB to spare."""
    return CFG["upload_mib"] * MIB + MIB


def curl(port, url, args):
    """curl on the load generator's CPUs for url, connected to
    127.0.0.1:port whatever the URL's host (which stays in Host: Prosody
    and ejabberd choose the service by it): (HTTP status, seconds from
    the start of the transfer to its end, Content-Type)."""
    p = subprocess.run(on_load_cpus(["curl", "-sS", "--max-time", str(UPLOAD_TIMEOUT),
                                     "--connect-to", "::127.0.0.1:%d" % port,
                                     "-w", "%{http_code} %{time_total} %{content_type}"] + args + [url]),
                       capture_output=True, text=True, timeout=UPLOAD_TIMEOUT + 30)
    out = p.stdout.split()
    if p.returncode or len(out) < 2:
        raise RuntimeError("curl %s: exit %d: %s" % (url, p.returncode, p.stderr.strip()[:300]))
    return int(out[0]), float(out[1]), out[2] if len(out) > 2 else "-"


def sc_upload(server):
    """XEP-0363: a slot for an UPLOAD_MIB MiB file from the upload service
    (upload.localhost on every server), PUT of the file, GET of it back,
    byte-identical: MiB/s of each and the server's CPU per MiB."""
    if isinstance(server, Xmppd) and not server.upload:
        return {"upload_status": UPLOAD_NOT_SUPPORTED}
    seq = next(_upload_seq)
    size = CFG["upload_mib"] * MIB
    work = tempfile.mkdtemp(prefix="xb-u-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        src, dst = os.path.join(work, "put.bin"), os.path.join(work, "got.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(size))       # random: nothing compresses it
        c = Client(server.port, 1, resource="upload")
        try:
            t0 = time.monotonic()
            el = c.iq("<iq type='get' id='slot%d' to='%s'><request xmlns='%s' filename='bench-%d.bin' "
                      "size='%d' content-type='%s'/></iq>" % (seq, UPLOAD_DOMAIN, NS_UPLOAD, seq, size,
                                                           UPLOAD_TYPE), "slot%d" % seq)
            slot_ms = (time.monotonic() - t0) * 1000
        finally:
            c.close()
        put = el.find(".//{%s}put" % NS_UPLOAD)
        get = el.find(".//{%s}get" % NS_UPLOAD)
        if put is None or get is None:
            raise RuntimeError("slot without put or get: %s" % ET.tostring(el)[:300])
        # the headers a slot may name (XEP-0363 5.1); no Expect:
        # 100-continue, which makes curl wait for an answer first
        hdrs = ["-H", "Content-Type: " + UPLOAD_TYPE, "-H", "Expect:"]
        for h in put.findall("{%s}header" % NS_UPLOAD):
            if h.get("name") in ("Authorization", "Cookie", "Expires"):
                hdrs += ["-H", "%s: %s" % (h.get("name"), h.text or "")]
        settle_http(server)
        c0 = server.cpu_ticks()
        st, put_s, _ = curl(server.ws_port, put.get("url"), ["-T", src, "-o", "/dev/null"] + hdrs)
        settle_http(server)
        c1 = server.cpu_ticks()
        if st not in (200, 201):
            raise RuntimeError("PUT: HTTP %d" % st)
        st, get_s, ctype = curl(server.ws_port, get.get("url"), ["-o", dst])
        settle_http(server)
        c2 = server.cpu_ticks()
        if st != 200:
            raise RuntimeError("GET: HTTP %d" % st)
        got = os.path.getsize(dst)
        same = got == size and filecmp.cmp(src, dst, shallow=False)
    finally:
        rmtree(work)
    mib = size / MIB
    r = {"upload_status": "ok" if same else "FAILED: got %d bytes%s" % (
            got, ", other bytes" if got == size else ""),
         "mib": "%d" % mib, "slot_ms": "%.2f" % slot_ms,
         "put_mib_s": "%.1f" % (mib / put_s), "get_mib_s": "%.1f" % (mib / get_s),
         "put_cpu_ms_per_mib": "%.2f" % ((c1 - c0) / TICK * 1000 / mib),
         "get_cpu_ms_per_mib": "%.2f" % ((c2 - c1) / TICK * 1000 / mib),
         "get_type": ctype.replace(" ", "")}
    print("scenario=upload server=%s " % server.name + " ".join("%s=%s" % kv for kv in r.items()), flush=True)
    return r


def settle_http(server):
    """xmppd: until its xmpp-web processes have exited; the peers: a moment."""
    if hasattr(server, "settle_http"):
        server.settle_http()
    else:
        time.sleep(0.3)


# ---- the message archive (XEP-0313) ----

NS_C = "{jabber:client}"
NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_DISCO = "http://jabber.org/protocol/disco#info"
MAM_PAGE = 50           # results per page asked and expected
MAM_WINDOW = 1000       # fill: messages sent and not yet received, at most


class Client:
    """A small blocking XMPP client for the mam and pep scenarios: plain
    TCP, SASL PLAIN, bind, the session IQ if it is required, initial
    presence (presence: its XML). next() returns the stream's top-level
    elements one by one; IQs the server sends (pings) are answered on the
    way, a disco#info get with disco (the <query/>'s content, echoing the
    request's node) if given, else with an empty result."""

    def __init__(self, port, n, timeout=60, resource="mam", presence="<presence/>", disco=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = deque()
        self.disco = disco
        self.disco_asked = 0
        self.open()
        feats = self.next()
        mechs = [m.text for m in feats.iter("{urn:ietf:params:xml:ns:xmpp-sasl}mechanism")]
        if "PLAIN" not in mechs:
            raise RuntimeError("no SASL PLAIN offered (%s)" % " ".join(mechs))
        auth = base64.b64encode(("\0%s\0%s" % (PATTERN % n, PASSWORD)).encode()).decode()
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % auth)
        el = self.next()
        if not el.tag.endswith("}success"):
            raise RuntimeError("login of %s: %s" % (jid(n), ET.tostring(el)[:200]))
        self.open()
        feats = self.next()
        el = self.iq("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                     "<resource>%s</resource></bind></iq>" % resource, "bind")
        self.jid = el.find(".//{urn:ietf:params:xml:ns:xmpp-bind}jid").text
        sess = feats.find("{urn:ietf:params:xml:ns:xmpp-session}session")
        if sess is not None and sess.find("{urn:ietf:params:xml:ns:xmpp-session}optional") is None:
            self.iq("<iq type='set' id='sess'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>", "sess")
        self.send(presence)

    def open(self):
        """A new stream (at the start and after SASL), with a parser of its own."""
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth, self.root = 0, None
        self.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>" % DOMAIN)

    def send(self, text):
        self.sock.sendall(text.encode())

    def receive(self):
        """Read what the socket has (blocking until something) and queue
        the top-level elements it completes."""
        data = self.sock.recv(1 << 16)
        if not data:
            raise RuntimeError("the server closed the connection")
        self.feed(data)

    def feed(self, data):
        """Parse bytes read from the socket, queueing what they complete."""
        self.parser.feed(data)
        for ev, el in self.parser.read_events():
            if ev == "start":
                self.depth += 1
                if self.depth == 1:
                    self.root = el
                continue
            self.depth -= 1
            if self.depth == 0:
                raise RuntimeError("the server closed the stream")
            if self.depth > 1:
                continue
            self.root.remove(el)
            if el.tag == "{http://etherx.jabber.org/streams}error":
                raise RuntimeError("stream error: %s" % ET.tostring(el)[:200])
            if el.tag == NS_C + "iq" and el.get("type") in ("get", "set"):
                q = el.find("{%s}query" % NS_DISCO)
                if self.disco is not None and el.get("type") == "get" and q is not None:
                    self.disco_asked += 1
                    node = " node=%s" % quoteattr(q.get("node")) if q.get("node") else ""
                    self.send("<iq type='result' id=%s to=%s><query xmlns='%s'%s>%s</query></iq>" % (
                        quoteattr(el.get("id", "")), quoteattr(el.get("from", DOMAIN)), NS_DISCO, node,
                        self.disco))
                    continue
                self.send("<iq type='result' id='%s' to='%s'/>" % (el.get("id"), el.get("from", DOMAIN)))
                continue
            self.pending.append(el)

    def next(self):
        while not self.pending:
            self.receive()
        return self.pending.popleft()

    def iq(self, text, iq_id):
        """Send an IQ, return its result (stanzas before it are dropped)."""
        self.send(text)
        while True:
            el = self.next()
            if el.tag == NS_C + "iq" and el.get("id") == iq_id:
                if el.get("type") != "result":
                    raise RuntimeError("iq %s: %s" % (iq_id, ET.tostring(el)[:300]))
                return el

    def close(self):
        try:
            self.send("</stream:stream>")
        except OSError:
            pass
        self.sock.close()


def mam_iq(qid, rsm, fields=()):
    """A urn:xmpp:mam:2 query: the data form's fields [(var, value)] and
    XEP-0059's <set/> content."""
    form = ""
    if fields:
        form = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
                "<value>%s</value></field>%s</x>" % (NS_MAM, "".join(
                    "<field var='%s'><value>%s</value></field>" % f for f in fields)))
    return ("<iq type='set' id='%s'><query xmlns='%s' queryid='%s'>%s<set xmlns='%s'>%s</set></query></iq>"
            % (qid, NS_MAM, qid, form, NS_RSM, rsm))


def mam_query(client, qid, rsm, fields=()):
    """One query: (ms from sending the IQ to its result, the result ids in
    the order received, the <fin/> element)."""
    t = time.perf_counter()
    client.send(mam_iq(qid, rsm, fields))
    ids = []
    while True:
        el = client.next()
        if el.tag == NS_C + "message":
            res = el.find("{%s}result" % NS_MAM)
            if res is not None and res.get("queryid") == qid:
                ids.append(res.get("id"))
        elif el.tag == NS_C + "iq" and el.get("id") == qid:
            ms = (time.perf_counter() - t) * 1000
            if el.get("type") != "result":
                raise RuntimeError("query %s: %s" % (qid, ET.tostring(el)[:300].decode(errors="replace")))
            return ms, ids, el.find("{%s}fin" % NS_MAM)


def mam_fill(server, sender, receiver):
    """The sender sends MAM_N chat messages with bodies to the receiver's
    full JID, at most MAM_WINDOW on their way at a time, while the receiver
    reads them: (seconds from the first sent to the last received, the
    time when half had arrived). RuntimeError after MAM_TIMEOUT seconds."""
    n = CFG["mam_n"]
    to = receiver.jid
    sent = got = 0
    half = None
    t0 = time.monotonic()
    deadline = t0 + CFG["mam_timeout"]
    while got < n:
        if sent < n and sent - got < MAM_WINDOW:
            k = min(100, n - sent, MAM_WINDOW - (sent - got))
            sender.send("".join("<message type='chat' to='%s' id='m%d'><body>archived message %d of the "
                                "bench</body></message>" % (to, i, i) for i in range(sent, sent + k)))
            sent += k
        ready = select.select([receiver.sock, sender.sock], [], [], 0 if sent - got < MAM_WINDOW else 1)[0]
        if sender.sock in ready:
            sender.receive()
            sender.pending.clear()
        if receiver.sock in ready:
            receiver.receive()
            while receiver.pending:
                el = receiver.pending.popleft()
                if el.tag == NS_C + "message" and el.find(NS_C + "body") is not None:
                    got += 1
                    if got == n // 2:
                        half = time.time()
        if time.monotonic() > deadline:
            raise RuntimeError("archive not filled: %d of %d messages received in %d s" % (
                got, n, CFG["mam_timeout"]))
    return time.monotonic() - t0, half


def pct(vals, q):
    """The q-quantile (0..1) of vals, nearest rank."""
    v = sorted(vals)
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]


def sc_mam(server):
    """The message archive (XEP-0313): once per server the receiver's
    archive is filled with MAM_N messages (the fill rate is measured then),
    then the receiver times MAM_Q queries of each kind: the last page, the
    first page, the page after an id from the middle and the last page of
    the messages with the sender. Every answer must hold 50 results, and
    the archive MAM_N messages: a server that does not archive fails."""
    n, q = CFG["mam_n"], CFG["mam_q"]
    st = getattr(server, "mam", None)
    if st and "failed" in st:
        return {"mam_status": st["failed"]}
    r = {}
    sender = receiver = None
    peer, me = jid(MAM_FIRST), jid(MAM_FIRST + 1)
    try:
        try:
            receiver = Client(server.port, MAM_FIRST + 1)
            if st is None:
                sender = Client(server.port, MAM_FIRST)
                secs, half = mam_fill(server, sender, receiver)
                sender.close()
                sender = None
                r["fill_rate"] = "%.1f" % (n / secs)
                r["fill_s"] = "%.1f" % secs
                # the first page, untimed: the archive's own count if the
                # server has one to read, else the query's
                _, ids, fin = mam_query(receiver, "count", "<max>%d</max>" % MAM_PAGE)
                count = server.archive_count(me) if hasattr(server, "archive_count") else None
                if count is None:
                    c = fin.find("{%s}set/{%s}count" % (NS_RSM, NS_RSM)) if fin is not None else None
                    count = int(c.text) if c is not None else None
                if count != n:
                    raise RuntimeError("the archive holds %s messages, not %d" % (
                        "an unknown number of" if count is None else count, n))
                # an id from the middle: the first message archived in the
                # second when half had arrived
                stamp = datetime.datetime.fromtimestamp(int(half), datetime.timezone.utc)
                _, ids, _ = mam_query(receiver, "mid", "<max>1</max>",
                                      [("start", stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))])
                if not ids:
                    raise RuntimeError("no message archived since %s" % stamp)
                st = server.mam = {"mid": ids[0], "count": count}
                log("%s: archive of %d filled in %.1f s (%s messages/s)" % (server.name, n, secs, r["fill_rate"]))
            r["archived"] = str(st["count"])
            kinds = [("last", "<max>%d</max><before/>" % MAM_PAGE, ()),
                     ("first", "<max>%d</max>" % MAM_PAGE, ()),
                     ("after", "<max>%d</max><after>%s</after>" % (MAM_PAGE, st["mid"]), ()),
                     ("with", "<max>%d</max><before/>" % MAM_PAGE, [("with", peer)])]
            times = {k: [] for k, _, _ in kinds}
            short = []
            c0 = server.cpu_ticks()
            for i in range(q):
                for kind, rsm, fields in kinds:
                    ms, ids, _ = mam_query(receiver, "%s%d" % (kind, i), rsm, fields)
                    times[kind].append(ms)
                    if len(ids) != MAM_PAGE and kind not in short:
                        short.append("%s page: %d results" % (kind, len(ids)))
            c1 = server.cpu_ticks()
            for kind, t in times.items():
                r["%s_p50_ms" % kind] = "%.2f" % statistics.median(t)
                r["%s_p90_ms" % kind] = "%.2f" % pct(t, 0.9)
            r["server_cpu_ms_per_query"] = "%.3f" % ((c1 - c0) * 1000 / TICK / (q * len(kinds)))
            r["mam_status"] = "FAILED: " + ", ".join(short) if short else "ok"
        except (OSError, AttributeError) as e:
            raise RuntimeError("%s: %s" % (type(e).__name__, e))
    except RuntimeError as e:
        if st is None:
            # not filled: later runs do not try again
            server.mam = {"failed": "FAILED: %s" % e}
            r["mam_status"] = server.mam["failed"]
        else:
            r["mam_status"] = "FAILED: %s" % e
    finally:
        for c in (sender, receiver):
            if c:
                c.close()
    print("scenario=mam server=%s n=%d q=%d " % (server.name, n, q) +
          " ".join("%s=%s" % (k, v.replace(" ", "_")) for k, v in r.items()), flush=True)
    server.settle()
    return r


# ---- personal eventing (XEP-0163) ----

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_EVENT = NS_PUBSUB + "#event"
NS_CAPS = "http://jabber.org/protocol/caps"
PEP_NODE = "http://jabber.org/protocol/tune"
PEP_CAPS_NODE = "https://xmppd.example/bench"
PEP_IDENTITIES = [("client", "pc", "", "bench")]


def caps_ver(identities, features):
    """XEP-0115 5.1: the sha-1 verification string of a disco#info with
    these identities (category, type, lang, name) and features, no forms."""
    s = "".join("%s/%s/%s/%s<" % i for i in sorted(identities)) + "".join(f + "<" for f in sorted(features))
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


def caps_client(features):
    """(initial presence with XEP-0115 caps, the disco#info <query/>'s
    content that hashes to its ver) of a client with these features."""
    ver = caps_ver(PEP_IDENTITIES, features)
    presence = "<presence><c xmlns='%s' hash='sha-1' node='%s' ver='%s'/></presence>" % (
        NS_CAPS, PEP_CAPS_NODE, ver)
    disco = "".join("<identity category='%s' type='%s' name='%s'/>" % (c, t, n)
                    for c, t, _, n in PEP_IDENTITIES)
    disco += "".join("<feature var='%s'/>" % f for f in features)
    return presence, disco


def pep_features(notify):
    f = [NS_CAPS, NS_DISCO, "http://jabber.org/protocol/disco#items"]
    return f + [PEP_NODE + "+notify"] if notify else f


def threads_cpu_ns(pid):
    """CPU time of every live thread of a process, ns (schedstat: exact;
    stat's utime and stime count clock ticks of 10 ms, too coarse for a
    few milliseconds per publish)."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    for t in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def cpu_ns_split(server):
    """{part: ns} of the server's CPU so far, to the nanosecond: xmppd's
    launcher, handlers (the reaped ones in clock ticks: none ends while a
    publish is timed) and Redis; a peer's processes, every thread."""
    if isinstance(server, Xmppd):
        a = proc_stat(server.sa.pid)
        return {"listener": threads_cpu_ns(server.sa.pid),
                "handlers": a[3] * 1e9 / TICK + sum(threads_cpu_ns(k) for k in children(server.sa.pid)),
                "redis": sum(threads_cpu_ns(q) for q in server.redis_pids())}
    return {"server": sum(threads_cpu_ns(p) for p in server.procs())}


def pep_publish_iq(iq_id, item_id, text):
    return ("<iq type='set' id='%s'><pubsub xmlns='%s'><publish node='%s'><item id='%s'>"
            "<tune xmlns='%s'><artist>bench</artist><title>%s</title><length>240</length></tune>"
            "</item></publish></pubsub></iq>" % (iq_id, NS_PUBSUB, PEP_NODE, item_id, PEP_NODE, text))


def pep_items(el, item_id):
    """Notifications of item_id that a parsed top-level element carries (0 or 1)."""
    if el.tag != NS_C + "message":
        return 0
    ev = el.find("{%s}event/{%s}items" % (NS_EVENT, NS_EVENT))
    if ev is None or ev.get("node") != PEP_NODE:
        return 0
    return sum(1 for it in ev.findall("{%s}item" % NS_EVENT) if it.get("id") == item_id)


def pep_round(publisher, contacts, iq_id, item_id, timeout, need=None):
    """One publish: send the IQ, then read every socket as it becomes
    readable, timestamping each read before anything is parsed (parsing
    comes after, so that one client's parse does not delay another's
    timestamp); done when the IQ's answer and the item on every contact
    (the first `need` of them, if given) were seen, or after timeout
    seconds. Returns (IQ round trip s or None,
    [s from the send to each contact's notification], the IQ's answer,
    {contact index: notifications of the item, parsed}, contacts with a
    notification in the raw bytes)."""
    socks = {publisher.sock: -1}
    socks.update({c.sock: i for i, c in enumerate(contacts)})
    raw = {i: bytearray() for i in socks.values()}
    chunks = []
    iq_b, item_b = iq_id.encode(), item_id.encode()
    seen, t_iq = {}, None
    need = len(contacts) if need is None else need
    t0 = time.perf_counter()
    publisher.send(pep_publish_iq(iq_id, item_id, item_id))
    deadline = t0 + timeout
    while t_iq is None or sum(1 for i in seen if i < need) < need:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        ready = select.select(list(socks), [], [], left)[0]
        got = []
        for s in ready:
            data = s.recv(1 << 16)
            got.append((socks[s], data, time.perf_counter()))
        for i, data, ts in got:
            if not data:
                raise RuntimeError("the server closed a connection")
            chunks.append((i, data))
            raw[i] += data
            if i < 0:
                if t_iq is None and iq_b in raw[i]:
                    t_iq = ts - t0
            elif i not in seen and item_b in raw[i]:
                seen[i] = ts - t0
    # now parse what was read: the IQ's answer, the notifications (counted
    # again from the XML), the IQs the server sent (answered here)
    answer, counts = None, {}
    for i, data in chunks:
        c = publisher if i < 0 else contacts[i]
        c.feed(data)
    while publisher.pending:
        el = publisher.pending.popleft()
        if el.tag == NS_C + "iq" and el.get("id") == iq_id:
            answer = el
    for i, c in enumerate(contacts):
        while c.pending:
            n = pep_items(c.pending.popleft(), item_id)
            if n:
                counts[i] = counts.get(i, 0) + n
    return t_iq, sorted(seen.values()), answer, counts, len(seen)


def pep_drain(clients, quiet=1.0, most=15.0):
    """Read (and answer: the servers' disco#info) until nothing came for
    `quiet` seconds, at most `most`; the stanzas read are dropped."""
    socks = {c.sock: c for c in clients}
    deadline = time.monotonic() + most
    while time.monotonic() < deadline:
        ready = select.select(list(socks), [], [], quiet)[0]
        if not ready:
            return
        for s in ready:
            c = socks[s]
            c.receive()
            c.pending.clear()


def sc_pep(server):
    """XEP-0163: a publisher with PEP_K contacts (subscription both), the
    first half online with clients whose caps (XEP-0115, sha-1) announce
    tune+notify and that answer the server's disco#info, the other half
    offline. The publisher publishes PEP_R items to the tune node one at a
    time, each after the previous one's IQ answer and notifications: per
    publish, the IQ round trip and the time until the last online contact
    had the notification; every publish must reach every online contact
    exactly once. Then, untimed, one more contact comes online with caps
    without tune+notify and one more item is published: the notifications
    it gets (0 if the server filters on +notify)."""
    k, rounds = CFG["pep_k"], CFG["pep_r"]
    on = k // 2
    tag = os.urandom(4).hex()
    r = {"online": str(on), "load1": "%.1f" % os.getloadavg()[0]}
    clients = []
    publisher = None
    server.settle()
    try:
        try:
            pres, disco = caps_client(pep_features(True))
            publisher = Client(server.port, PEP_FIRST, timeout=20, resource="pep", disco=disco)
            clients.append(publisher)
            t = time.monotonic()
            for i in range(1, on + 1):
                clients.append(Client(server.port, PEP_FIRST + i, timeout=20, resource="pep",
                                      presence=pres, disco=disco))
            contacts = clients[1:]
            r["login_s"] = "%.1f" % (time.monotonic() - t)
            # the servers ask for the caps now: answered while draining
            pep_drain(clients)
            # warm-up, untimed: until one publish reaches every online
            # contact (the server may still be learning their caps)
            warm = 0
            for w in range(3):
                _, times, answer, counts, _ = pep_round(publisher, contacts, "warmiq-%s-%d" % (tag, w),
                                                        "warmitem-%s-%d" % (tag, w), CFG["pep_timeout"])
                warm = len(counts)
                if answer is not None and answer.get("type") != "result":
                    raise RuntimeError("publish answered %s" % ET.tostring(answer)[:300].decode(errors="replace"))
                if warm == on:
                    break
                pep_drain(clients, 0.5, 5)
            r["warmup_notified"] = str(warm)
            pep_drain(clients, 0.3, 5)
            iq_ms, all_ms, first_ms = [], [], []
            notified, dups, failed, timeouts, raw_notified = [], 0, [], 0, []
            # (not server.settle(): xmppd's would wait for these sessions' handlers to end)
            time.sleep(0.3)
            c0 = cpu_ns_split(server)
            for i in range(rounds):
                t_iq, times, answer, counts, nraw = pep_round(
                    publisher, contacts, "pepiq-%s-%06d" % (tag, i), "pep-%s-%06d" % (tag, i),
                    CFG["pep_timeout"])
                if answer is None or t_iq is None:
                    failed.append("publish %d: no IQ answer within %d s" % (i, CFG["pep_timeout"]))
                elif answer.get("type") != "result":
                    failed.append("publish %d answered %s" % (i, ET.tostring(answer)[:200].decode(errors="replace")))
                else:
                    iq_ms.append(t_iq * 1000)
                notified.append(len(counts))
                raw_notified.append(nraw)
                dups += sum(n - 1 for n in counts.values())
                if len(times) == on and len(counts) == on:
                    all_ms.append(times[-1] * 1000)
                    first_ms.append(times[0] * 1000)
                if t_iq is None or len(times) < on:
                    timeouts += 1
                if timeouts >= 3:
                    failed.append("stopped after %d publishes: 3 timed out" % (i + 1))
                    break
            c1 = cpu_ns_split(server)
            done = len(notified)
            cpu = {p: (c1[p] - c0[p]) / 1e6 / max(1, done) for p in c1}
            r["server_cpu_ms_per_publish"] = "%.3f" % sum(cpu.values())
            if isinstance(server, Xmppd):
                for p, v in cpu.items():
                    r["%s_cpu_ms_per_publish" % p] = "%.3f" % v
            r["publishes"] = str(done)
            r["notified_min"] = str(min(notified))
            r["notified_max"] = str(max(notified))
            r["notifications"] = str(sum(notified))
            r["duplicates"] = str(dups)
            r["stanzas_per_publish"] = "%.1f" % ((sum(notified) + dups) / max(1, done))
            if iq_ms:
                r["iq_p50_ms"] = "%.2f" % statistics.median(iq_ms)
                r["iq_p90_ms"] = "%.2f" % pct(iq_ms, 0.9)
            if all_ms:
                r["all_p50_ms"] = "%.2f" % statistics.median(all_ms)
                r["all_p90_ms"] = "%.2f" % pct(all_ms, 0.9)
                r["all_max_ms"] = "%.2f" % max(all_ms)
                r["first_p50_ms"] = "%.2f" % statistics.median(first_ms)
            if raw_notified != notified:
                failed.append("the notifications found in the bytes read and in the XML differ")
            short = sum(1 for n in notified if n != on)
            if short:
                failed.append("%d of %d publishes reached %d-%d of %d online contacts" % (
                    short, done, min(notified), max(notified), on))
            if dups:
                failed.append("%d of %d notifications came more than once" % (dups, dups + sum(notified)))
            # the filter: one more contact online, its caps without +notify
            pep_drain(clients, 0.3, 5)
            pres2, disco2 = caps_client(pep_features(False))
            plain = Client(server.port, PEP_FIRST + on + 1, timeout=20, resource="pep", presence=pres2,
                           disco=disco2)
            clients.append(plain)
            pep_drain(clients)
            item = "filteritem-%s" % tag
            _, _, _, counts, _ = pep_round(publisher, contacts + [plain], "filteriq-%s" % tag, item,
                                           CFG["pep_timeout"], need=on)
            # a notification to it may come after the others': 1 s more
            late = 0
            end = time.monotonic() + 1
            while time.monotonic() < end:
                if select.select([plain.sock], [], [], max(0, end - time.monotonic()))[0]:
                    plain.receive()
                    while plain.pending:
                        late += pep_items(plain.pending.popleft(), item)
            pep_drain(clients, 0.5, 5)
            r["no_notify_got"] = str(counts.get(len(contacts), 0) + late)
            r["filter_round_notified"] = str(sum(1 for i in counts if i < len(contacts)))
            r["disco_asked"] = str(sum(c.disco_asked for c in clients))
            r["pep_status"] = "FAILED: " + "; ".join(failed[:3]) if failed else "ok"
        except (OSError, AttributeError) as e:
            raise RuntimeError("%s: %s" % (type(e).__name__, e))
    except RuntimeError as e:
        r["pep_status"] = "FAILED: %s" % e
    finally:
        for c in clients:
            c.close()
    print("scenario=pep server=%s k=%d r=%d " % (server.name, k, rounds) +
          " ".join("%s=%s" % (key, v.replace(" ", "_")) for key, v in r.items()), flush=True)
    server.settle()
    return r


# ---- multi-user chat (XEP-0045) ----

def sc_room(server):
    """One multi-user chat room with ROOM_N occupants (xmppload room): the
    first creates it and submits the instant-room form, the others join,
    each waiting for its own presence; then ROOM_S of them keep ROOM_W
    groupchat messages each in flight for ROOM_T seconds (or ROOM_R
    messages): messages/s that reached every occupant, latency from the
    send to the last occupant. Server CPU per message of the load phase,
    exact (every live thread; xmppd's handlers and Redis apart)."""
    n = CFG["room_n"]
    server.settle()
    exact = []
    load1 = os.getloadavg()[0]
    r, _ = xmppload_marked(server, "room", ["-f", ROOM_FIRST, "-n", n, "-c", CFG["login_c"], "-M", MUC_DOMAIN,
                                            "-s", CFG["room_s"], "-W", CFG["room_w"], "-T", CFG["room_t"],
                                            "-N", CFG["room_r"], "-D", CFG["room_timeout"]],
                           timeout=300 + CFG["room_t"] + CFG["room_timeout"], exact=exact)
    r["load1"] = "%.1f" % load1
    phases = dict(exact)
    done = int(r.get("completed", 0))
    if "joined" in phases:
        r["server_cpu_ms_per_occupant"] = "%.3f" % (sum(phases["joined"].values()) * 1000 / max(1, n))
    if "sent" in phases and done:
        r["server_cpu_ms_per_msg"] = "%.3f" % (sum(phases["sent"].values()) * 1000 / done)
        r["server_cpu_us_per_stanza"] = "%.2f" % (sum(phases["sent"].values()) * 1e6 / (done * n))
        if isinstance(server, Xmppd):
            for part, secs in phases["sent"].items():
                r["%s_cpu_ms_per_msg" % part] = "%.3f" % (secs * 1000 / done)
    bad = []
    if int(r.get("joined", 0)) < n:
        bad.append("%s of %d joined (%s)" % (r.get("joined", 0), n, r.get("join_error", "?")))
    for key, what in (("incomplete", "did not reach every occupant"), ("out_of_order", "came out of order"),
                      ("duplicates", "came twice"), ("errors", "answered with an error")):
        if int(r.get(key, 0)):
            bad.append("%s %s" % (r[key], what))
    if "completed" not in r and not bad:
        bad.append("no load (%s)" % r.get("first_error", "?"))
    r["room_status"] = "FAILED: " + "; ".join(bad) if bad else "ok"
    print("scenario=room-cpu server=%s " % server.name + " ".join(
        "%s=%s" % (k, v) for k, v in r.items() if "_cpu_" in k and "_per_" in k) + " room_status=%s" % r["room_status"].replace(
        " ", "_"), flush=True)
    server.settle()
    return r


class Peaks:
    """The 1-minute load average and the number of processes on the machine,
    sampled every second in a thread until stop(): their peaks."""

    def __init__(self):
        self.load, self.procs = os.getloadavg()[0], nprocs()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.wait(1.0):
            self.load = max(self.load, os.getloadavg()[0])
            self.procs = max(self.procs, nprocs())

    def stop(self):
        self.done.set()
        self.thread.join()


def sc_storm(server):
    """A login storm: STORM_N clients connect as fast as they can (STORM_C
    logins in progress at a time) and log in with PLAIN, then hold their
    sessions STORM_HOLD seconds. The ramp rate (logins/s from the first
    connect to the last bound session), who got in, who failed and why,
    who was still online at the end; for xmppd also the session records in
    Redis after the hold, the sessions the handlers reaped meanwhile (a
    live one must never be: the handlers log "reaped dead session") and the
    handlers that ended badly."""
    n, hold_s = CFG["storm_n"], CFG["storm_hold"]
    xm = isinstance(server, Xmppd)
    server.settle(120)
    r = {}
    if xm:
        off, sess0 = server.log_size(), server.sessions()
        mc = server.redis_cli("config", "get", "maxclients").stdout.split()
        r["redis_maxclients"] = mc[-1].decode() if mc else "?"
    procs0 = nprocs()
    c0, p0 = server.cpu_ticks(), cpu_split(server)
    peaks = Peaks()
    p = subprocess.Popen(load_cmd(server, "idle", ["-f", STORM_FIRST, "-n", n, "-c", CFG["storm_c"],
                                                   "-A", min(250, 1 + n // 5000), "-t", CFG["storm_timeout"],
                                                   "-T", 3600]),
                         stdout=subprocess.PIPE, text=True)
    rest = ""
    try:
        line = ""
        while True:
            line = p.stdout.readline()
            if not line or line.startswith("scenario=idle "):
                break
        if not line:
            raise RuntimeError("xmppload idle gave no result (exit %s)" % p.poll())
        print(line.strip(), flush=True)
        r.update(parse_line(line))
        c1, p1 = server.cpu_ticks(), cpu_split(server)
        ok = max(1, int(r["ok"]))
        r["server_cpu_ms_per_login"] = "%.3f" % ((c1 - c0) * 1000 / TICK / ok)
        add_per_unit(r, {k: (p1[k] - p0[k]) / TICK for k in p1}, ok, "ms_per_login", 1000)
        time.sleep(hold_s)
        if xm:
            r["sessions_in_redis"] = str(server.sessions() - sess0)
            text = server.log_since(off)
            r["reaped"] = str(text.count("reaped dead session"))
            r["records_lost"] = str(text.count("session record lost"))
            r["handler_failures"] = str(Xmppd.handler_failures(text))
            r["refused"] = str(text.count("refusing "))
            r["accept_pauses"] = str(text.count("pausing %d ms" % 100))
    finally:
        peaks.stop()
        rest = release(p)
    for l in rest.splitlines():
        if l.startswith("scenario=idle-end "):
            r["still_online"] = parse_line(l).get("still_online", "-")
    r["load_peak"] = "%.1f" % peaks.load
    r["procs_before"], r["procs_peak"] = str(procs0), str(peaks.procs)
    keys = ["ok", "failed", "rate", "p50_ms", "p99_ms", "still_online", "first_error",
            "server_cpu_ms_per_login"] + sorted(k for k in r if k.endswith("_cpu_ms_per_login") and
                                               not k.startswith("server")) + [
            "sessions_in_redis", "reaped", "records_lost", "handler_failures", "refused", "accept_pauses",
            "redis_maxclients", "load_peak", "procs_before", "procs_peak"]
    print("scenario=storm server=%s n=%d c=%d hold_s=%d " % (server.name, n, CFG["storm_c"], hold_s) +
          " ".join("%s=%s" % (k, r[k]) for k in keys if k in r), flush=True)
    server.settle(300)          # every handler ends and is reaped
    return r


# ---- the table ----

# (label, result key, metric key, better: "higher"/"lower")
ROWS = []
for m in CFG["mechs"]:
    M = "SCRAM-SHA-1" if m.lower().startswith("scram") else "PLAIN"
    ROWS += [("login %s: logins/s" % M, "login-" + m, "rate", "higher"),
             ("login %s: latency p50 ms" % M, "login-" + m, "p50_ms", "lower"),
             ("login %s: latency p90 ms" % M, "login-" + m, "p90_ms", "lower"),
             ("login %s: latency p99 ms" % M, "login-" + m, "p99_ms", "lower"),
             ("login %s: server CPU ms/login" % M, "login-" + m, "server_cpu_ms_per_login", "lower")]
for p, _, peers in FAST_PATHS:
    P = {"rfc6120": "RFC 6120", "sasl2": "SASL2+Bind2", "fast": "FAST"}[p] + ("" if peers else " (xmppd only)")
    ROWS += [("tls %s: round trips, connect to first message" % P, "fast-" + p, "rt_echo", "lower"),
             ("tls %s: round trips, connect to bound" % P, "fast-" + p, "rt_bound", "lower"),
             ("tls %s: logins/s (to first message)" % P, "fast-" + p, "echo_rate", "higher"),
             ("tls %s: connect to first message p50 ms" % P, "fast-" + p, "echo_p50_ms", "lower"),
             ("tls %s: connect to first message p99 ms" % P, "fast-" + p, "echo_p99_ms", "lower"),
             ("tls %s: server CPU ms/login" % P, "fast-" + p, "server_cpu_ms_per_login", "lower"),
             ("tls %s: TLS version" % P, "fast-" + p, "tls", "-")]
ROWS += [("floor: spawn of a static trivial program, CPU ms", "floor", "true_cpu_ms", "-"),
         ("floor: spawn of xmpp-handler (usage), CPU ms", "floor", "handler_cpu_ms", "-")]
for m in CFG["mechs"]:
    M = "SCRAM-SHA-1" if m.lower().startswith("scram") else "PLAIN"
    ROWS += [("floor: login %s CPU / trivial spawn" % M, "floor", "login_" + m + "_x", "-")]
for m in CFG["ws_mechs"]:
    M = "SCRAM-SHA-1" if m.lower().startswith("scram") else "PLAIN"
    ROWS += [("ws login %s: logins/s" % M, "ws-login-" + m, "rate", "higher"),
             ("ws login %s: latency p50 ms" % M, "ws-login-" + m, "p50_ms", "lower"),
             ("ws login %s: latency p99 ms" % M, "ws-login-" + m, "p99_ms", "lower"),
             ("ws login %s: server CPU ms/login" % M, "ws-login-" + m, "server_cpu_ms_per_login", "lower")]
ROWS += [("ws messages: delivered/s", "ws-messages", "rate", "higher"),
         ("ws messages: latency p50 ms", "ws-messages", "p50_ms", "lower"),
         ("ws messages: latency p99 ms", "ws-messages", "p99_ms", "lower"),
         ("ws messages: latency max ms", "ws-messages", "max_ms", "lower"),
         ("ws messages: lost", "ws-messages", "lost", "lower"),
         ("ws messages: server CPU us/msg", "ws-messages", "server_cpu_us_per_msg", "lower"),
         ("ws messages: xmppd handlers' CPU us/msg", "ws-messages", "handlers_cpu_us_per_msg", "-"),
         ("ws messages: xmppd Redis CPU us/msg", "ws-messages", "redis_cpu_us_per_msg", "-"),
         ("ws idle: KiB/conn, server processes (PSS)", "ws-idle", "proc_kib_per_conn", "lower"),
         ("ws idle: KiB/conn, their page tables + kernel stacks", "ws-idle", "pkernel_kib_per_conn", "lower"),
         ("ws idle: KiB/conn, the two above", "ws-idle", "total_kib_per_conn", "lower"),
         ("ws idle: KiB/conn, system-wide kernel growth (noisy)", "ws-idle", "kernel_kib_per_conn", "lower"),
         ("ws idle: KiB/conn, MemAvailable drop (noisy)", "ws-idle", "memavail_kib_per_conn", "lower"),
         ("ws idle: xmppd xmpp-web PSS KiB (each)", "ws-idle", "handler_pss_kib", "-"),
         ("ws idle: xmppd Redis KiB/conn", "ws-idle", "redis_kib_per_conn", "-"),
         ("upload: PUT, then GET byte-identical", "upload", "upload_status", "-"),
         ("upload: MiB of the file", "upload", "mib", "-"),
         ("upload: slot request ms (XMPP IQ)", "upload", "slot_ms", "lower"),
         ("upload: PUT MiB/s", "upload", "put_mib_s", "higher"),
         ("upload: GET MiB/s", "upload", "get_mib_s", "higher"),
         ("upload: server CPU ms/MiB, PUT", "upload", "put_cpu_ms_per_mib", "lower"),
         ("upload: server CPU ms/MiB, GET", "upload", "get_cpu_ms_per_mib", "lower"),
         ("ws/tcp: logins/s PLAIN, WebSocket / TCP", "ws-tcp", "login_plain", "-"),
         ("ws/tcp: logins/s SCRAM-SHA-1, WebSocket / TCP", "ws-tcp", "login_scram-sha-1", "-"),
         ("ws/tcp: delivered/s, WebSocket / TCP", "ws-tcp", "messages_rate", "-"),
         ("ws/tcp: server CPU us/msg, WebSocket / TCP", "ws-tcp", "messages_cpu", "-"),
         ("ws/tcp: idle KiB/conn (PSS), WebSocket / TCP", "ws-tcp", "idle_proc", "-"),
         ("ws/tcp: idle KiB/conn (PSS + page tables, stacks), WebSocket / TCP", "ws-tcp", "idle_total", "-")]
ROWS += [("messages: delivered/s", "messages", "rate", "higher"),
         ("messages: latency p50 ms", "messages", "p50_ms", "lower"),
         ("messages: latency p99 ms", "messages", "p99_ms", "lower"),
         ("messages: latency max ms", "messages", "max_ms", "lower"),
         ("messages: lost", "messages", "lost", "lower"),
         ("messages: of earlier runs, delivered again", "messages", "from_earlier_runs", "-"),
         ("messages: server CPU us/msg", "messages", "server_cpu_us_per_msg", "lower"),
         ("messages: xmppd handlers' CPU us/msg", "messages", "handlers_cpu_us_per_msg", "-"),
         ("messages: xmppd Redis CPU us/msg", "messages", "redis_cpu_us_per_msg", "-"),
         ("sm: XEP-0198", "sm", "sm_status", "-"),
         ("sm: delivered/s", "sm", "rate", "higher"),
         ("sm: latency p50 ms", "sm", "p50_ms", "lower"),
         ("sm: latency p99 ms", "sm", "p99_ms", "lower"),
         ("sm: lost", "sm", "lost", "lower"),
         ("sm: acks requested by the clients", "sm", "sm_requests", "-"),
         ("sm: ack mismatches", "sm", "ack_mismatches", "lower"),
         ("sm: acks unanswered", "sm", "acks_unanswered", "lower"),
         ("sm: acks requested by the server", "sm", "server_requests", "-"),
         ("sm: server CPU us/msg", "sm", "server_cpu_us_per_msg", "lower"),
         ("sm: xmppd handlers' CPU us/msg", "sm", "handlers_cpu_us_per_msg", "-"),
         ("sm: xmppd Redis CPU us/msg", "sm", "redis_cpu_us_per_msg", "-"),
         ("sm resume: XEP-0198 resume", "sm-resume", "sm_status", "-"),
         ("sm resume: resumes/s", "sm-resume", "resume_rate", "higher"),
         ("sm resume: fresh SCRAM-SHA-1 logins/s", "sm-resume", "login_rate", "higher"),
         ("sm resume: resume latency p50 ms", "sm-resume", "resume_p50_ms", "lower"),
         ("sm resume: login latency p50 ms", "sm-resume", "login_p50_ms", "lower"),
         ("sm resume: time per resume / per login", "sm-resume", "resume_login_time_ratio", "lower"),
         ("sm resume: server CPU ms/resume", "sm-resume", "server_cpu_ms_per_resume", "lower"),
         ("sm resume: server CPU ms/login (SM enabled)", "sm-resume", "server_cpu_ms_per_login", "lower"),
         ("sm resume: answered `<failed/>`", "sm-resume", "resume_failed", "lower"),
         ("idle: KiB/conn, server processes (PSS)", "idle", "proc_kib_per_conn", "lower"),
         ("idle: KiB/conn, their page tables + kernel stacks", "idle", "pkernel_kib_per_conn", "lower"),
         ("idle: KiB/conn, the two above", "idle", "total_kib_per_conn", "lower"),
         ("idle: KiB/conn, system-wide kernel growth (noisy)", "idle", "kernel_kib_per_conn", "lower"),
         ("idle: KiB/conn, MemAvailable drop (noisy)", "idle", "memavail_kib_per_conn", "lower"),
         ("idle: xmppd handler PSS KiB (each)", "idle", "handler_pss_kib", "-"),
         ("idle: xmppd Redis KiB/conn", "idle", "redis_kib_per_conn", "-"),
         ("fanout: one change to K contacts p50 ms", "fanout", "one_p50_ms", "lower"),
         ("fanout: one change to K contacts max ms", "fanout", "one_max_ms", "lower"),
         ("fanout: storm presence stanzas/s", "fanout", "storm_rate", "higher"),
         ("fanout: storm stanzas missing", "fanout", "storm_missing", "lower"),
         ("fanout: server CPU us/presence delivered", "fanout", "server_cpu_us_per_presence", "lower"),
         ("fanout: xmppd handlers' CPU us/presence", "fanout", "handlers_cpu_us_per_presence", "-"),
         ("fanout: xmppd Redis CPU us/presence", "fanout", "redis_cpu_us_per_presence", "-"),
         ("mam: archive filled, every page of 50", "mam", "mam_status", "-"),
         ("mam: messages in the archive", "mam", "archived", "-"),
         ("mam: fill, archived messages/s", "mam", "fill_rate", "higher"),
         ("mam: last page (before) p50 ms", "mam", "last_p50_ms", "lower"),
         ("mam: last page (before) p90 ms", "mam", "last_p90_ms", "lower"),
         ("mam: first page p50 ms", "mam", "first_p50_ms", "lower"),
         ("mam: first page p90 ms", "mam", "first_p90_ms", "lower"),
         ("mam: page after a middle id p50 ms", "mam", "after_p50_ms", "lower"),
         ("mam: page after a middle id p90 ms", "mam", "after_p90_ms", "lower"),
         ("mam: last page with the sender p50 ms", "mam", "with_p50_ms", "lower"),
         ("mam: last page with the sender p90 ms", "mam", "with_p90_ms", "lower"),
         ("mam: server CPU ms/query", "mam", "server_cpu_ms_per_query", "lower"),
         ("pep: every publish notified every online contact once", "pep", "pep_status", "-"),
         ("pep: online contacts notified per publish, fewest", "pep", "notified_min", "-"),
         ("pep: notifications received per publish", "pep", "stanzas_per_publish", "-"),
         ("pep: publish to last contact notified p50 ms", "pep", "all_p50_ms", "lower"),
         ("pep: publish to last contact notified p90 ms", "pep", "all_p90_ms", "lower"),
         ("pep: publish to last contact notified max ms", "pep", "all_max_ms", "lower"),
         ("pep: publish to first contact notified p50 ms", "pep", "first_p50_ms", "lower"),
         ("pep: publish IQ round trip p50 ms", "pep", "iq_p50_ms", "lower"),
         ("pep: publish IQ round trip p90 ms", "pep", "iq_p90_ms", "lower"),
         ("pep: server CPU ms/publish", "pep", "server_cpu_ms_per_publish", "lower"),
         ("pep: xmppd handlers' CPU ms/publish", "pep", "handlers_cpu_ms_per_publish", "-"),
         ("pep: xmppd Redis CPU ms/publish", "pep", "redis_cpu_ms_per_publish", "-"),
         ("pep: notifications to a client without +notify", "pep", "no_notify_got", "-"),
         ("pep: disco#info the server asked of the clients", "pep", "disco_asked", "-"),
         ("pep: load average at its start (noisy)", "pep", "load1", "-"),
         ("room: every message reached every occupant once, in order", "room", "room_status", "-"),
         ("room: the owner's instant-room form answered", "room", "owner_form", "-"),
         ("room: occupants joined", "room", "joined", "-"),
         ("room: joins/s, each until its own presence", "room", "join_rate", "higher"),
         ("room: messages/s, each reaching every occupant", "room", "rate", "higher"),
         ("room: groupchat stanzas delivered/s", "room", "stanza_rate", "higher"),
         ("room: send to last occupant p50 ms", "room", "p50_ms", "lower"),
         ("room: send to last occupant p99 ms", "room", "p99_ms", "lower"),
         ("room: send to last occupant max ms", "room", "max_ms", "lower"),
         ("room: send to first occupant p50 ms", "room", "first_p50_ms", "lower"),
         ("room: messages not at every occupant", "room", "incomplete", "lower"),
         ("room: server CPU ms/message", "room", "server_cpu_ms_per_msg", "lower"),
         ("room: server CPU us per stanza delivered", "room", "server_cpu_us_per_stanza", "lower"),
         ("room: xmppd handlers' CPU ms/message", "room", "handlers_cpu_ms_per_msg", "-"),
         ("room: xmppd Redis CPU ms/message", "room", "redis_cpu_ms_per_msg", "-"),
         ("room: server CPU ms per occupant, login and join", "room", "server_cpu_ms_per_occupant", "lower"),
         ("room: load average at its start (noisy)", "room", "load1", "-"),
         ("storm: logins/s, first connect to last login", "storm", "rate", "higher"),
         ("storm: logged in", "storm", "ok", "higher"),
         ("storm: failed", "storm", "failed", "lower"),
         ("storm: login latency p50 ms", "storm", "p50_ms", "lower"),
         ("storm: login latency p99 ms", "storm", "p99_ms", "lower"),
         ("storm: still online after the hold", "storm", "still_online", "higher"),
         ("storm: server CPU ms/login", "storm", "server_cpu_ms_per_login", "lower"),
         ("storm: xmppd handlers' CPU ms/login", "storm", "handlers_cpu_ms_per_login", "-"),
         ("storm: xmppd Redis CPU ms/login", "storm", "redis_cpu_ms_per_login", "-"),
         ("storm: xmppd listener CPU ms/login", "storm", "listener_cpu_ms_per_login", "-"),
         ("storm: xmppd session records in Redis after the hold", "storm", "sessions_in_redis", "-"),
         ("storm: xmppd sessions reaped", "storm", "reaped", "-"),
         ("storm: xmppd handlers ended with an error", "storm", "handler_failures", "-"),
         ("storm: peak load average (noisy)", "storm", "load_peak", "lower"),
         ("storm: peak processes on the machine (noisy)", "storm", "procs_peak", "lower")]


# Rows whose peers' figures are too close to zero for a ratio to mean anything.
NO_RATIO = ("page tables + kernel stacks", "(noisy)")


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return "%.0f" % x
    if abs(x) >= 100:
        return "%.1f" % x
    return "%.2f" % x


def table(results, servers, runs):
    """results[server][key] = [dict per run]. Medians; min-max when runs > 1.
    Ratios: xmppd to each peer (without xmppd: the first server to the
    others). A metric that is text (a status) shows its distinct values."""
    names = [s.name for s in servers]
    subject = "xmppd" if "xmppd" in names else names[0] if len(names) > 1 else None
    peers = [n for n in names if n != subject] if subject else []
    head = ["metric"] + names + ["%s/%s" % (subject, p) for p in peers] + ["better"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    med = {}
    for label, key, metric, better in ROWS:
        cells, meds = [label], {}
        for n in names:
            vals, texts = [], []
            for r in results.get(n, {}).get(key, []):
                try:
                    vals.append(float(r[metric]))
                except KeyError:
                    pass
                except ValueError:
                    if r[metric] not in texts:
                        texts.append(r[metric])
            if not vals:
                cells.append(" / ".join(texts) or "-")
                continue
            m = statistics.median(vals)
            meds[n] = m
            cells.append(fmt(m) + (" (%s-%s)" % (fmt(min(vals)), fmt(max(vals))) if len(vals) > 1 else ""))
        for p in peers:
            a, b = meds.get(subject), meds.get(p)
            # no ratio of figures that are noise around zero
            ok = a is not None and b and a * b > 0 and better != "-" and not label.endswith(NO_RATIO)
            cells.append("%.2f" % (a / b) if ok else "-")
        cells.append(better)
        med[label] = meds
        if len(cells) > 1 and any(c != "-" for c in cells[1:1 + len(names)]):
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), med


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024 // 1024
    return "%d x %s, %d GiB, kernel %s" % (os.cpu_count(), model, mem, os.uname().release)


def commit():
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    try:
        h = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return h + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "?"


def versions():
    out = []
    for pkg in ("prosody", "ejabberd", "redis-server"):
        v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True).stdout
        out.append("%s %s" % (pkg, v or "?"))
    return ", ".join(out)


# ---- scale (optional, xmppd only) ----

def est_kib_per_conn(server, results):
    """The largest of the idle scenario's figures (processes + the system-wide
    kernel growth, MemAvailable drop): the machine is shared, so rather too
    much than too little."""
    best = 0.0
    for r in results.get(server.name, {}).get("idle", []):
        try:
            best = max(best, float(r["proc_kib_per_conn"]) + float(r["kernel_kib_per_conn"]),
                       float(r["total_kib_per_conn"]), float(r["memavail_kib_per_conn"]))
        except (KeyError, ValueError):
            pass
    return best or (1200.0 if isinstance(server, Xmppd) else 100.0)


def sc_scale(server, results):
    """For each L in SCALE_LEVELS: hold L idle connections (a second
    xmppload, source addresses spread over 127.0.0.x for the ports), then
    measure logins (PLAIN) and messages beside them. A level that would
    use more than 60% of MemAvailable is skipped and said so (the machine
    is shared: others' tests must not meet the OOM killer)."""
    out = []
    est = est_kib_per_conn(server, results)
    import resource
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    limits = "open files %d/%d" % nofile
    if isinstance(server, Xmppd):
        mc = server.redis_cli("config", "get", "maxclients").stdout.split()
        limits += ", Redis maxclients %s (2 per session)" % (mc[-1].decode() if mc else "?")
    limits += ", pid_max %s" % open("/proc/sys/kernel/pid_max").read().strip()
    print("scenario=scale-limits server=%s %s" % (server.name, limits.replace(" ", "_")), flush=True)
    for level in CFG["scale_levels"]:
        need = level * est
        avail = meminfo()["MemAvailable"]
        if need > 0.6 * avail:
            msg = "skipped: needs about %.1f GiB at %.0f KiB/conn, %.1f GiB available" % (
                need / 2**20, est, avail / 2**20)
            print("scenario=scale server=%s level=%d %s" % (server.name, level, msg.replace(" ", "_")), flush=True)
            out.append((level, {"up": "-", "note": msg}, {}, {}))
            continue
        t = time.monotonic()
        p = subprocess.Popen(load_cmd(server, "idle", ["-f", SCALE_FIRST, "-n", level, "-c", 100,
                                                       "-A", min(250, 1 + level // 20000), "-T", 1800]),
                             stdout=subprocess.PIPE, text=True)
        try:
            line = ""
            deadline = time.monotonic() + 1200
            while time.monotonic() < deadline:
                line = p.stdout.readline()
                if not line or line.startswith("scenario=idle "):
                    break
            held = parse_line(line) if line.startswith("scenario=idle ") else {"up": "0"}
            held["note"] = "held in %.0f s; %s; %s" % (time.monotonic() - t, held.get("first_error", ""), limits)
            print("scenario=scale-hold server=%s level=%d up=%s rate=%s failed=%s first_error=%s" % (
                server.name, level, held.get("up"), held.get("rate"), held.get("failed"),
                held.get("first_error")), flush=True)
            lg, ms = {}, {}
            try:
                lg = sc_login(server, "plain")
                ms = sc_messages(server)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                held["note"] += "; then: %s" % e
            if lg.get("failed", "0") != "0":
                held["note"] += "; logins beside it: %s failed (%s)" % (lg["failed"], lg.get("first_error"))
            out.append((level, held, lg, ms))
        finally:
            release(p)
            server.settle(120)
    return out


# WebSocket against TCP on the same server: (result key, over WebSocket,
# over TCP, metric)
WS_TCP = [("messages_rate", "ws-messages", "messages", "rate"),
          ("messages_cpu", "ws-messages", "messages", "server_cpu_us_per_msg"),
          ("idle_total", "ws-idle", "idle", "total_kib_per_conn"),
          ("idle_proc", "ws-idle", "idle", "proc_kib_per_conn")]
WS_TCP += [("login_" + m, "ws-login-" + m, "login-" + m, "rate") for m in ("plain", "scram-sha-1")]


def ws_over_tcp(results):
    """results[server]["ws-tcp"]: for every figure measured both over
    WebSocket and over TCP in this run (the ws scenario beside login,
    messages or idle), the median over WebSocket / the median over TCP."""
    for name, res in results.items():
        row = {}
        for key, ws, tcp, metric in WS_TCP:
            try:
                a = statistics.median(float(r[metric]) for r in res.get(ws, []))
                b = statistics.median(float(r[metric]) for r in res.get(tcp, []))
            except (statistics.StatisticsError, KeyError, ValueError):
                continue
            if b > 0:
                row[key] = "%.2f" % (a / b)
        if row:
            res["ws-tcp"] = [row]


def raise_pid_max(need):
    """The scale scenario may need more PIDs than pid_max: raise it (root
    only) and return the old value to restore, else None."""
    try:
        cur = int(open("/proc/sys/kernel/pid_max").read())
    except OSError:
        return None
    if need <= cur * 0.8 or not IS_ROOT:
        return None
    try:
        with open("/proc/sys/kernel/pid_max", "w") as f:
            f.write(str(min(4194304, max(need * 2, cur))))
        log("pid_max raised from %d for the scale scenario" % cur)
        return cur
    except OSError:
        return None


def main():
    if not LOAD.exists():
        sys.exit("bench.py: %s is missing: run sh bench/run.sh" % LOAD)
    if HTTP and {"xmppd", "xmppd-cluster"} & set(CFG["servers"]) and not (BUILD / "xmpp-web").exists():
        sys.exit("bench.py: %s is missing (the ws and upload scenarios): run make" % (BUILD / "xmpp-web"))
    wanted = CFG["servers"]
    classes = {"xmppd": Xmppd, "xmppd-cluster": XmppdCluster, "prosody": Prosody, "ejabberd": Ejabberd}
    if "ejabberd" in wanted and not IS_ROOT:
        try:
            if pwd.getpwuid(os.geteuid()).pw_name != "ejabberd":
                log("ejabberd skipped: ejabberdctl runs only as root or the ejabberd user")
                wanted = [w for w in wanted if w != "ejabberd"]
        except KeyError:
            pass
    check_pinning()
    t_start = time.monotonic()
    load_start = os.getloadavg()
    ulist = users()
    work = tempfile.mkdtemp(prefix="xb-w-")
    servers = []
    results = {}
    scale = None
    try:
        write_prosody_data(os.path.join(work, "prosody-data"), ulist)
        if IS_ROOT:
            os.chmod(work, 0o755)
        for w in wanted:
            s = classes[w](work)
            servers.append(s)
            s.start(ulist)
        log("%d users (%d plain, %d in %d fan-out groups of %d); servers up in %.0f s" % (
            len(ulist), NPLAIN, NFO, CFG["fo_g"] if NFO else 0, CFG["fo_k"] + 1, time.monotonic() - t_start))
        if CFG["load_cpus"]:
            # bench.py itself (its /proc scans, the ejabberdctl calls) stays
            # off the servers' CPUs too.
            os.sched_setaffinity(0, cpu_list(CFG["load_cpus"]))
        log("%s; xmppd through %s" % (pinning_note(), launcher_note()))
        for run in range(CFG["runs"]):
            order = servers[run % len(servers):] + servers[:run % len(servers)]
            log("run %d of %d (order: %s)" % (run + 1, CFG["runs"], " ".join(s.name for s in order)))
            for sc in CFG["scenarios"]:
                jobs = []
                if sc == "login":
                    jobs = [("login-" + m, (lambda s, m=m: sc_login(s, m))) for m in CFG["mechs"]]
                elif sc == "messages":
                    jobs = [("messages", sc_messages)]
                elif sc == "sm":
                    jobs = [("sm", sc_sm), ("sm-resume", sc_sm_resume)]
                elif sc == "idle":
                    jobs = [("idle", sc_idle)]
                elif sc == "fanout":
                    jobs = [("fanout", sc_fanout)]
                elif sc == "storm":
                    jobs = [("storm", sc_storm)]
                elif sc == "mam":
                    jobs = [("mam", sc_mam)]
                elif sc == "pep":
                    jobs = [("pep", sc_pep)]
                elif sc == "room":
                    jobs = [("room", sc_room)]
                elif sc == "upload":
                    jobs = [("upload", sc_upload)]
                elif sc == "fast":
                    jobs = [("fast-" + p, (lambda s, p=p: sc_fast(s, p))) for p, _, _ in FAST_PATHS]
                elif sc == "ws":
                    # the idle part last: it restarts the peers
                    jobs = [("ws-login-" + m, (lambda s, m=m: sc_login(s, m, ws=True))) for m in CFG["ws_mechs"]]
                    jobs += [("ws-messages", lambda s: sc_messages(s, ws=True)),
                             ("ws-idle", lambda s: sc_idle(s, ws=True))]
                for key, fn in jobs:
                    for s in order:
                        try:
                            r = fn(s)
                        except (RuntimeError, subprocess.TimeoutExpired) as e:
                            log("%s %s failed: %s" % (s.name, key, e))
                            continue
                        if r is None:       # not spoken by this server
                            continue
                        results.setdefault(s.name, {}).setdefault(key, []).append(r)
                if sc == "login" and "xmppd" in [s.name for s in servers]:
                    try:
                        results.setdefault("xmppd", {}).setdefault("floor", []).append(
                            sc_floor(results))
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        log("floor failed: %s" % e)
        if CFG["scale"]:
            old_pid_max = raise_pid_max(NSCALE + 4096)
            try:
                scale = [(s.name, sc_scale(s, results)) for s in servers if s.name in CFG["scale_servers"]]
            finally:
                if old_pid_max:
                    with open("/proc/sys/kernel/pid_max", "w") as f:
                        f.write(str(old_pid_max))
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as e:          # keep stopping the others
                log("stopping %s: %s" % (s.name, e))
        rmtree(work)
    ws_over_tcp(results)
    tbl, _ = table(results, servers, CFG["runs"])
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = ("### %s, commit %s\n\nMachine: %s; load average at start %.2f %.2f %.2f; %s.\n"
            "Runs: %d (median, and min-max over runs). Scenarios: %s. login N=%d C=%d; messages P=%d W=%d T=%ds; "
            "idle N=%d; fanout K=%d groups=%d rounds=%d storms=%d%s%s%s%s%s%s%s%s. %s; xmppd through %s. Took %.0f s.\n" % (
                stamp, commit(), machine(), load_start[0], load_start[1], load_start[2], versions(),
                CFG["runs"], " ".join(CFG["scenarios"] + (["scale"] if CFG["scale"] else [])),
                CFG["login_n"], CFG["login_c"], CFG["msg_p"], CFG["msg_w"], CFG["msg_t"],
                CFG["idle_n"], CFG["fo_k"], CFG["fo_g"], CFG["fo_r"], CFG["fo_s"],
                "; sm: ack every %d stanzas, resume N=%d" % (CFG["sm_ack_every"], CFG["sm_resume_n"])
                if "sm" in CFG["scenarios"] else "",
                "; storm N=%d C=%d hold %d s, login timeout %d s" % (
                    CFG["storm_n"], CFG["storm_c"], CFG["storm_hold"], CFG["storm_timeout"])
                if "storm" in CFG["scenarios"] else "",
                "; mam N=%d Q=%d" % (CFG["mam_n"], CFG["mam_q"]) if "mam" in CFG["scenarios"] else "",
                "; pep K=%d (%d online) R=%d" % (CFG["pep_k"], CFG["pep_k"] // 2, CFG["pep_r"])
                if "pep" in CFG["scenarios"] else "",
                "; room N=%d S=%d W=%d T=%ds%s timeout %ds" % (
                    CFG["room_n"], CFG["room_s"], CFG["room_w"], CFG["room_t"],
                    " R=%d" % CFG["room_r"] if CFG["room_r"] else "", CFG["room_timeout"])
                if "room" in CFG["scenarios"] else "",
                "; ws: login (%s), messages and idle as above over WebSocket (xmppd: xmpp-web)" % " ".join(
                    CFG["ws_mechs"]) if "ws" in CFG["scenarios"] else "",
                "; upload: %d MiB" % CFG["upload_mib"] if UPLOAD else "",
                "; fast: login N=%d C=%d over direct TLS, SCRAM-SHA-1, to a first message" % (
                    CFG["login_n"], CFG["login_c"]) if TLS else "",
                pinning_note()[0].upper() + pinning_note()[1:], launcher_note(), time.monotonic() - t_start))
    text = head + "\n" + tbl + "\n"
    errs = ["%s: %s" % (n, ", ".join(r.get("first_error", "?") for r in results[n]["storm"]))
            for n in [s.name for s in servers] if results.get(n, {}).get("storm")]
    if errs:
        text += "\nStorm, first error of each run: " + "; ".join(errs) + ".\n"
    if scale:
        text += "\nScale: logins (PLAIN, N=%d C=%d) and messages (P=%d W=%d T=%ds) beside L held connections:\n\n" % (
            CFG["login_n"], CFG["login_c"], CFG["msg_p"], CFG["msg_w"], CFG["msg_t"])
        text += ("| server | held L | up | logins/s | login p99 ms | delivered/s | msg p99 ms | lost | note |\n"
                 "|---|---|---|---|---|---|---|---|---|\n")
        for name, rows in scale:
            for level, held, lg, ms in rows:
                text += "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n" % (
                    name, level, held.get("up", "-"), lg.get("rate", "-"), lg.get("p99_ms", "-"),
                    ms.get("rate", "-"), ms.get("p99_ms", "-"), ms.get("lost", "-"), held.get("note", ""))
    print("\n" + text)
    if CFG["results"] != "-":
        new = not os.path.exists(CFG["results"])
        with open(CFG["results"], "a") as f:
            if new:
                f.write("# xmppd benchmark history\n\nOne section per `make bench` run, newest last "
                        "(see bench/README.md for what each row measures).\n\n")
            f.write(text + "\n")
        log("appended to " + CFG["results"])


if __name__ == "__main__":
    main()
