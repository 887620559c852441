"""sentinel_harness.py - a Redis Sentinel topology for the tests of issue 18.

Sentinels    a primary and N replicas (redis-server on free TCP ports of
             127.0.0.1, each in its own temp dir, no persistence:
             --save "" --appendonly no; the replicas start with
             --replicaof the primary) and three redis-sentinel processes,
             each with its own config file (sentinel monitor NAME
             127.0.0.1 PORT 2, down-after-milliseconds 1000, a short
             failover-timeout, resolve-hostnames no). Use as a context
             manager or call start()/stop().

    url()          the sentinel:// URL for xmpp.conf's redis key
    primary()      (host, port) of the primary the sentinels agree on
    wait_ready()   until every sentinel names the same primary and sees
                   every live replica, and the primary sees them too
    failovers()    how many times the sentinels switched the primary
    wait_failover(old) until every sentinel names a primary other than old
                   and that one answers ROLE as master; returns it
    kill(port)     SIGKILL the redis-server on port (by its PID)
    restart(port, replicaof) start that redis-server again, empty, as a
                   replica of replicaof (what an operator's restart of a
                   persistence-less old primary must do after a failover)
    call(addr, ...) one Redis command to (host, port)

sentinel_password makes the sentinels require one (requirepass, and
sentinel-pass between them); redis_password the Redis servers
(requirepass, masterauth, and the sentinels' auth-pass).

Everything started here is stopped by PID, never by name. Redis logs are
left in the temp dir (XMPPD_KEEP_TMP=1 keeps it) for failure reports.
"""
import os
import signal
import subprocess
import tempfile

from harness import (RedisError, TIMEOUT, log_tails, redis_call, spawn_listening, stop_procs,
                     wait_until)

HOST = "127.0.0.1"
MASTER = "mymaster"


class Sentinels:
    def __init__(self, replicas=1, sentinels=3, quorum=2, down_after_ms=1000,
                 failover_timeout_ms=3000, name=MASTER, sentinel_password=None,
                 redis_password=None):
        self.dir = tempfile.mkdtemp(prefix="xmppd-sentinel-")
        self.nreplicas = replicas
        self.nsentinels = sentinels
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.name = name
        self.sentinel_password = sentinel_password
        self.redis_password = redis_password
        self.redis = {}            # port -> Popen of its redis-server
        self.sentinel = {}         # port -> Popen of its redis-sentinel
        self.first_primary = None  # port
        self.logs = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- processes ----

    def _spawn(self, args, what):
        port, p, log = spawn_listening(self.dir, what, args, self._pong)
        self.logs.append(log)
        return port, p

    @staticmethod
    def _popen(cmd):
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def _redis_cmd(self, port, d, log, replicaof=None):
        cmd = ["redis-server", "--port", str(port), "--bind", HOST, "--dir", d,
               "--save", "", "--appendonly", "no", "--logfile", log,
               "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
        if replicaof:
            cmd += ["--replicaof", replicaof[0], str(replicaof[1])]
        if self.redis_password:
            cmd += ["--requirepass", self.redis_password, "--masterauth", self.redis_password]
        return cmd

    def _pong(self, port):
        try:
            return redis_call((HOST, port), "PING", timeout=0.5) == "PONG"
        except RedisError as e:
            return str(e).startswith("NOAUTH")     # up, with a password
        except OSError:
            return False

    def start_redis(self, replicaof=None, port=None):
        if port is None:
            port, p = self._spawn(lambda port, d, log: self._redis_cmd(port, d, log, replicaof),
                                  "redis")
        else:                                  # the same port again (restart)
            d = os.path.join(self.dir, "redis-%d" % port)
            p = self._popen(self._redis_cmd(port, d, os.path.join(d, "log"), replicaof))
            wait_until(lambda: p.poll() is not None or self._pong(port),
                       what="redis-server again on port %d" % port)
            assert p.poll() is None, "redis-server on port %d exited: %s" % (port, self.log_tail())
        self.redis[port] = p
        return port

    def _sentinel_cmd(self, port, d, log):
        conf = os.path.join(d, "sentinel.conf")   # sentinel rewrites it: its own copy
        lines = ["port %d" % port, "bind %s" % HOST, "daemonize no", "dir %s" % d,
                 "logfile %s" % log,
                 "sentinel resolve-hostnames no",
                 "sentinel monitor %s %s %d %d" % (self.name, HOST, self.first_primary,
                                                   self.quorum),
                 "sentinel down-after-milliseconds %s %d" % (self.name, self.down_after_ms),
                 "sentinel failover-timeout %s %d" % (self.name, self.failover_timeout_ms),
                 "sentinel parallel-syncs %s 1" % self.name]
        if self.redis_password:
            lines.append("sentinel auth-pass %s %s" % (self.name, self.redis_password))
        if self.sentinel_password:
            lines.append("requirepass %s" % self.sentinel_password)
            lines.append("sentinel sentinel-pass %s" % self.sentinel_password)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return ["redis-sentinel", conf]

    def start(self):
        try:
            self.first_primary = self.start_redis()
            for _ in range(self.nreplicas):
                self.start_redis(replicaof=(HOST, self.first_primary))
            for _ in range(self.nsentinels):
                port, p = self._spawn(self._sentinel_cmd, "sentinel")
                self.sentinel[port] = p
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, port, sig=signal.SIGKILL):
        """Signal the redis-server on port by its PID and reap it."""
        p = self.redis[port]
        os.kill(p.pid, sig)
        p.wait(TIMEOUT)

    def restart(self, port, replicaof):
        return self.start_redis(replicaof=replicaof, port=port)

    def stop(self):
        stop_procs(list(self.sentinel.values()) + list(self.redis.values()), self.dir)

    # ---- asking ----

    def call(self, addr, *args, timeout=TIMEOUT):
        """One command to the redis-server at addr (AUTH first if they have
        a password)."""
        return redis_call(addr, *args, timeout=timeout, auth=self.redis_password)

    def ask(self, sport, *args):
        """One command to the sentinel on sport (AUTH first if it has a password)."""
        if self.sentinel_password:
            return redis_call((HOST, sport), *args, timeout=1.0,
                              auth=self.sentinel_password)
        return redis_call((HOST, sport), *args, timeout=1.0)

    def url(self, password=None, db=None):
        """The sentinel:// URL; password: the Redis servers' (default: the
        one they were started with)."""
        password = password or self.redis_password
        auth = ":%s@" % self.sentinel_password if self.sentinel_password else ""
        q = "&".join(x for x in ("password=%s" % password if password else "",
                                 "db=%d" % db if db is not None else "") if x)
        return "sentinel://%s%s/%s%s" % (auth, ",".join("%s:%d" % (HOST, p) for p in self.sentinel),
                                         self.name, "?" + q if q else "")

    def named(self):
        """{sentinel port: (host, port) it names as primary, or None}."""
        out = {}
        for sp, p in self.sentinel.items():
            if p.poll() is not None:
                continue
            try:
                r = self.ask(sp, "SENTINEL", "get-master-addr-by-name", self.name)
                out[sp] = (r[0], int(r[1])) if r else None
            except (OSError, RedisError):
                out[sp] = None
        return out

    def role(self, addr):
        try:
            return self.call(addr, "ROLE", timeout=0.5)
        except (OSError, RedisError):
            return None

    def primary(self):
        """(host, port) that every live sentinel names, if they agree and it
        answers ROLE as master; else None."""
        named = set(self.named().values())
        if len(named) != 1 or None in named:
            return None
        addr = named.pop()
        r = self.role(addr)
        return addr if r and r[0] == "master" else None

    def live_replicas(self, primary):
        return [p for p in self.redis if p != primary[1] and self.redis[p].poll() is None]

    def _ready(self):
        prim = self.primary()
        if not prim:
            return None
        want = {(HOST, p) for p in self.live_replicas(prim)}
        r = self.role(prim)
        online = {(h, int(p)) for h, p, _ in r[2]} if r else set()
        if not want <= online:
            return None
        for sp in self.sentinel:
            try:
                reps = self.ask(sp, "SENTINEL", "replicas", self.name) or []
                sents = self.ask(sp, "SENTINEL", "sentinels", self.name) or []
            except (OSError, RedisError):
                return None
            seen = set()
            for rep in reps:
                d = dict(zip(rep[::2], rep[1::2]))
                if "s_down" not in d.get("flags", "") and d.get("master-link-status") == "ok":
                    seen.add((d["ip"], int(d["port"])))
            if not want <= seen or len(sents) < self.nsentinels - 1:
                return None
        return prim

    def wait_ready(self, timeout=15):
        """Until the sentinels agree on the primary, each sees every live
        replica linked to it and the other sentinels; returns the primary."""
        return wait_until(self._ready, timeout=timeout,
                          what="the sentinels to agree (%s)" % self.describe())

    def wait_failover(self, old, timeout=15):
        """Until every live sentinel names a primary other than old (host,
        port) that is a master; returns it."""
        def moved():
            p = self.primary()
            return p if p and p != tuple(old) else None
        return wait_until(moved, timeout=timeout,
                          what="a failover away from %s (%s)" % (old, self.describe()))

    def failovers(self):
        """How many times the sentinels switched the primary (the most any
        one sentinel logged +switch-master)."""
        n = 0
        for path in self.logs:
            if "/sentinel-" in path:
                try:
                    with open(path, errors="replace") as f:
                        n = max(n, f.read().count("+switch-master"))
                except OSError:
                    pass
        return n

    def describe(self):
        return "sentinels name %s" % self.named()

    def log_tail(self, n=20):
        return log_tails(self.logs, self.dir, n)
