"""cluster_harness.py - a real Redis Cluster for the cluster:// tests.

Cluster      N primaries (and R replicas each), redis-server processes on
             free TCP ports of 127.0.0.1, each in its own temp dir with
             --cluster-enabled yes and no persistence. The cluster is formed
             by hand (CLUSTER ADDSLOTSRANGE, MEET, REPLICATE) rather than by
             redis-cli --cluster create, which asks questions, sleeps and
             prints progress we would have to parse. Use as a context manager
             or call start()/stop().

    url()            the cluster:// URL for xmpp.conf's redis key
    ports            the primaries' ports; replica_ports the replicas'
    slot_of(key)     the hash slot of key, computed here as Redis does;
                     slot_tag(slot) the tag of its shards (keyslot.h)
    node_of(key)     the port of the primary owning key's slot now
    call(port, ...)  one command to that node
    cmd(...)         one single-key command (args[1] the key) to whichever
                     node serves it, following MOVED and ASK as a cluster
                     client must: what tests assert with
    run(...)         cmd(), or for the few key-less commands the tests send
                     to their Redis (KEYS, FLUSHALL, DBSIZE, CLIENT, PING)
                     the same sent to every primary, the answers merged:
                     what Server.redis() goes through on a cluster
    keys(), dbsize() every key / how many, over all primaries
    slot_map(port)   port's CLUSTER SLOTS as (first, last, primary port,
                     (replica ports)); owner(slot) the primary serving slot
    wait_ready()     until every live node says ok and gives the same map
    migrate_slot(slot, to_port, during=None)  reshard one slot with its keys
                     as redis-cli does (IMPORTING, MIGRATING, MIGRATE, NODE);
                     during() runs with the slot half migrated
    reshard(n, from_port, to_port)  move n of from_port's slots
    kill(port)       SIGKILL that redis-server by its PID; live() the ports
                     of the nodes still running

Everything started here is stopped by PID, never by name. Redis logs are
left in the temp dir (XMPPD_KEEP_TMP=1 keeps it) for failure reports.
"""
import os
import re
import signal
import socket
import tempfile

from harness import (RedisError, TIMEOUT, _resp_command, _resp_read, free_port, log_tails,
                     redis_call, spawn_listening, stop_procs, wait_until)

HOST = "127.0.0.1"
SLOTS = 16384
BUS_OFFSET = 10000       # Redis's cluster bus port is the port + this
FORM_TIMEOUT = 30.0      # seconds a cluster may take to form (a loaded machine)


def _crc16_table():
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC16 = _crc16_table()


def crc16(data):
    """CRC16-XMODEM (poly 0x1021, init 0), the one Redis Cluster hashes
    with; by table, as Redis does, for tests that hash many keys."""
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ b]
    return crc


def slot_of(key):
    """key's hash slot. Only the part between the first '{' and the first
    '}' after it is hashed, and only when that part is not empty (Redis's
    keyHashSlot): "a{}{b}" hashes whole, "a{{b}}" hashes "{b"."""
    k = key if isinstance(key, bytes) else str(key).encode()
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1:e]
    return crc16(k) % SLOTS


_TAGS = []         # slot -> its tag, read on first use
SLOTTAGS_C = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib",
                          "slottags.c")


def slot_tag(slot):
    """lib/keyslot.c's keyslot_tag: the tag of slot's shard of a global
    index (store.h's store_shard_key), from the programs' own table
    (lib/slottags.c, in slot order)."""
    if not _TAGS:
        with open(SLOTTAGS_C) as f:
            _TAGS.extend(re.findall(r'"([0-9a-z]+)",', f.read()))
        assert len(_TAGS) == SLOTS, "%s: %d tags" % (SLOTTAGS_C, len(_TAGS))
    return _TAGS[slot % SLOTS]


def bus_free_port():
    """A free port whose cluster bus port (port + 10000, which Redis
    opens beside it) is below 65536 and free too."""
    while True:
        port = free_port()
        if port + BUS_OFFSET > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind((HOST, port + BUS_OFFSET))
            except OSError:
                continue
        return port


class Cluster:
    def __init__(self, primaries=3, replicas=0, password=None, node_timeout_ms=2000):
        """replicas: per primary; password: requirepass (and masterauth, for
        the replicas) on every node; node_timeout_ms: cluster-node-timeout,
        after which a silent node counts as failing."""
        self.dir = tempfile.mkdtemp(prefix="xmppd-cluster-")
        self.nprimaries = primaries
        self.nreplicas = replicas
        self.password = password
        self.node_timeout_ms = node_timeout_ms
        self.procs = {}            # port -> Popen of its redis-server
        self.ids = {}              # port -> cluster node id
        self.ports = []            # primaries
        self.replica_ports = []
        self.logs = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- processes ----

    def _cmd(self, port, d, log):
        cmd = ["redis-server", "--port", str(port), "--bind", HOST, "--dir", d,
               "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
               "--cluster-node-timeout", str(self.node_timeout_ms),
               "--save", "", "--appendonly", "no", "--logfile", log,
               "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
               # Redis 7 lists a replica in CLUSTER SLOTS only once its
               # replication offset is not 0, i.e. after its primary sent
               # it something: the primary's PING, every 10 s by default.
               "--repl-ping-replica-period", "1"]
        if self.password:
            cmd += ["--requirepass", self.password, "--masterauth", self.password]
        return cmd

    def _pong(self, port):
        try:
            return self.call(port, "PING", timeout=0.5) == "PONG"
        except (OSError, RedisError):
            return False

    def _spawn(self):
        port, p, log = spawn_listening(self.dir, "redis", self._cmd, self._pong,
                                       pick_port=bus_free_port)
        self.logs.append(log)
        self.procs[port] = p
        self.ids[port] = self.call(port, "CLUSTER", "MYID")
        return port

    def start(self):
        try:
            self.ports = [self._spawn() for _ in range(self.nprimaries)]
            self.replica_ports = [self._spawn()
                                  for _ in range(self.nprimaries * self.nreplicas)]
            for i, port in enumerate(self.ports):     # slots split evenly
                lo, hi = i * SLOTS // self.nprimaries, (i + 1) * SLOTS // self.nprimaries - 1
                self.call(port, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
            # Every node meets every other: gossip alone takes seconds on a
            # loaded machine (the suite runs beside this).
            every = self.ports + self.replica_ports
            for a in every:
                for b in every:
                    if a != b:
                        self.call(a, "CLUSTER", "MEET", HOST, b)
            # REPLICATE needs the replica to know its primary's id already.
            wait_until(self._all_known, timeout=FORM_TIMEOUT,
                       what="every node to know every other (%s)" % self.describe())
            for i, port in enumerate(self.replica_ports):
                self.call(port, "CLUSTER", "REPLICATE", self.ids[self.ports[i % self.nprimaries]])
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _all_known(self):
        want = len(self.procs)
        for port in self.procs:
            nodes = [l for l in self.call(port, "CLUSTER", "NODES").splitlines()
                     if "handshake" not in l and "noaddr" not in l]
            if len(nodes) != want:
                return False
        return True

    def kill(self, port, sig=signal.SIGKILL):
        """Signal the redis-server on port by its PID and reap it."""
        p = self.procs[port]
        os.kill(p.pid, sig)
        p.wait(TIMEOUT)

    def stop(self):
        stop_procs(list(self.procs.values()), self.dir)

    def live(self, ports=None):
        return [p for p in (self.procs if ports is None else ports)
                if self.procs[p].poll() is None]

    # ---- the cluster's view ----

    def url(self):
        auth = ":%s@" % self.password if self.password else ""
        return "cluster://%s%s" % (auth, ",".join("%s:%d" % (HOST, p) for p in self.ports))

    def slot_map(self, port):
        """port's CLUSTER SLOTS as sorted (first, last, primary port,
        (replica ports)): comparable between nodes (Redis 7 adds a
        metadata map to each node entry, which we drop)."""
        out = []
        for r in self.call(port, "CLUSTER", "SLOTS"):
            out.append((r[0], r[1], int(r[2][1]), tuple(sorted(int(n[1]) for n in r[3:]))))
        return sorted(out)

    def info(self, port):
        text = self.call(port, "CLUSTER", "INFO")
        return dict(l.split(":", 1) for l in text.splitlines() if ":" in l)

    def _agreed(self):
        maps = set()
        for port in self.live():
            try:
                if self.info(port).get("cluster_state") != "ok":
                    return None
                maps.add(tuple(self.slot_map(port)))
            except (OSError, RedisError):
                return None
        if len(maps) != 1:
            return None
        m = maps.pop()
        return m if sum(r[1] - r[0] + 1 for r in m) == SLOTS else None

    def wait_ready(self, timeout=FORM_TIMEOUT):
        """Until every live node says cluster_state:ok and gives the same
        CLUSTER SLOTS, every slot covered (and, if there are replicas, each
        one listed under its primary); returns that slot map."""
        def ready():
            m = self._agreed()
            if not m:
                return None
            # A replica shows in CLUSTER SLOTS once the nodes know it as one.
            listed = {p for r in m for p in r[3]}
            return m if set(self.live(self.replica_ports)) <= listed else None
        return wait_until(ready, timeout=timeout,
                          what="the cluster to agree on its slots (%s)" % self.describe())

    def owner(self, slot):
        """The primary port serving slot, as a live primary's CLUSTER SLOTS says."""
        for first, last, port, _ in self.slot_map(self.live(self.ports)[0]):
            if first <= slot <= last:
                return port
        raise AssertionError("slot %d is served by no node" % slot)

    @staticmethod
    def slot_of(key):
        return slot_of(key)

    def node_of(self, key):
        return self.owner(slot_of(key))

    def describe(self):
        out = []
        for port in self.procs:
            if self.procs[port].poll() is not None:
                out.append("%d dead" % port)
                continue
            try:
                out.append("%d: %s, %s" % (port, self.info(port).get("cluster_state"),
                                           self.slot_map(port)))
            except (OSError, RedisError) as e:
                out.append("%d: %s" % (port, e))
        return "; ".join(out)

    def log_tail(self, n=20):
        return log_tails(self.logs, self.dir, n)

    # ---- asking ----

    def call(self, port, *args, timeout=TIMEOUT):
        """One command to the node on port (AUTH first with a password)."""
        return redis_call((HOST, port), *args, timeout=timeout, auth=self.password)

    def _asking(self, port, *args):
        """args after ASKING on the same connection: ASKING holds for the
        next command of its connection only."""
        with socket.create_connection((HOST, port), timeout=TIMEOUT) as s:
            f = s.makefile("rb")
            pre = [("AUTH", self.password)] if self.password else []
            for c in pre + [("ASKING",)]:
                s.sendall(_resp_command(c))
                _resp_read(f)
            s.sendall(_resp_command(args))
            return _resp_read(f)

    def cmd(self, *args):
        """A single-key command (args[1] the key) sent where the cluster
        serves it: to the slot's owner, then wherever MOVED (the slot has
        another owner) or ASK (the slot is migrating and the key is not, or
        no longer, on its old owner) points."""
        port = self.node_of(args[1])
        asking = False
        for _ in range(5):
            try:
                return self._asking(port, *args) if asking else self.call(port, *args)
            except RedisError as e:
                word, _, rest = str(e).partition(" ")
                if word not in ("MOVED", "ASK"):
                    raise
                port = int(rest.split()[1].rpartition(":")[2])
                asking = word == "ASK"
        raise AssertionError("%s: still redirected after 5 hops" % (args,))

    # Key-less commands the tests send through server.redis(): to every
    # primary (CLIENT KILL: every node), answers merged.
    def run(self, *args):
        name = str(args[0]).upper()
        if name == "PING":
            return self.call(self.live(self.ports)[0], *args)
        if name == "KEYS":
            return [k for p in self.live(self.ports) for k in self.call(p, *args)]
        if name in ("FLUSHALL", "FLUSHDB"):
            for p in self.live(self.ports):
                self.call(p, *args)
            return "OK"
        if name == "DBSIZE":
            return self.dbsize()
        if name == "CLIENT":       # KILL ...: how many, over all nodes
            return sum(self.call(p, *args) for p in self.live())
        return self.cmd(*args)

    def keys(self):
        """Every key of every live primary (SCAN, not KEYS: what an operator
        would run on a big one)."""
        out = []
        for port in self.live(self.ports):
            cursor = "0"
            while True:
                cursor, batch = self.call(port, "SCAN", cursor, "COUNT", 1000)
                out += batch
                if cursor == "0":
                    break
        return out

    def dbsize(self):
        return sum(self.call(p, "DBSIZE") for p in self.live(self.ports))

    # ---- resharding ----

    def _migrate_keys(self, slot, src, dst, limit):
        """MIGRATE up to limit of slot's keys from src to dst; how many."""
        keys = self.call(src, "CLUSTER", "GETKEYSINSLOT", slot, limit)
        if keys:
            auth = ["AUTH", self.password] if self.password else []
            r = self.call(src, "MIGRATE", HOST, dst, "", 0, int(TIMEOUT * 1000),
                          *auth, "KEYS", *keys)
            assert r in ("OK", "NOKEY"), r
        return len(keys)

    def migrate_slot(self, slot, to_port, during=None, wait=True):
        """Move slot and its keys to the primary on to_port as redis-cli
        --cluster reshard does. during(), if given, runs once the source is
        MIGRATING and half the keys (rounded down) are on the target: a
        command then for a key already moved gets ASK from the source.
        wait: until every node agrees on the new owner."""
        src = self.owner(slot)
        if src == to_port:
            return
        # Target first: a client sent there by ASK must be accepted before
        # the source starts sending clients away.
        self.call(to_port, "CLUSTER", "SETSLOT", slot, "IMPORTING", self.ids[src])
        self.call(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", self.ids[to_port])
        half = self.call(src, "CLUSTER", "COUNTKEYSINSLOT", slot) // 2
        if half:
            self._migrate_keys(slot, src, to_port, half)
        if during:
            during()
        while self._migrate_keys(slot, src, to_port, 100):
            pass
        # Target first again (it bumps its config epoch so that its claim
        # wins), then the source (refused while it still holds keys of the
        # slot), then the others, so none waits on gossip.
        others = [p for p in self.live(self.ports) if p not in (src, to_port)]
        for port in [to_port, src] + others:
            self.call(port, "CLUSTER", "SETSLOT", slot, "NODE", self.ids[to_port])
        if wait:
            self.wait_ready()

    def reshard(self, n_slots, from_port, to_port):
        """Move the last n_slots slots from_port serves to to_port."""
        mine = [s for first, last, port, _ in self.slot_map(from_port) if port == from_port
                for s in range(first, last + 1)]
        assert len(mine) >= n_slots, "%d serves only %d slots" % (from_port, len(mine))
        for slot in mine[len(mine) - n_slots:]:
            self.migrate_slot(slot, to_port, wait=False)
        return self.wait_ready()
