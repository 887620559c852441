"""lua_harness.py - run the Lua scripts of router/lua/ alone, against a scratch Redis.

Each script is run with EVAL, as the programs embed it: the text that
`tests/embed-lua.sh -a` prints (includes such as lib/record.lua put in).
One redis-server per test session (per xdist worker), from
tests/proto/harness.py's Server with no listeners: its own temporary
directory and unix socket, stopped by PID. Every test starts from an
empty database.

Helpers (the fixtures are in conftest.py: r, a Redis client, and
subscribe):
  Redis         r("HGET", k, f); r.eval(name, keys, args)
  script(name)  the assembled text of router/lua/NAME.lua
  key(bare, what), gkey(name)   key names as store.h builds them
  rec(...)      a session record in session.h's format
  Subscriber    a connection SSUBSCRIBEd to channels, to see SPUBLISH
"""
import functools
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "proto"))
from harness import RedisError, Server, TIMEOUT, _resp_read  # noqa: E402,F401 (re-exported)

LUA = ROOT / "router" / "lua"
EMBED = ROOT / "tests" / "embed-lua.sh"
PREFIX = "t:"
NOW = 1000000           # "now" for the scripts that take it
TTL = 90                # session TTL


def scripts():
    """Names of every script (router/lua/*.lua, not lib/)."""
    return sorted(p.stem for p in LUA.glob("*.lua"))


@functools.lru_cache(maxsize=None)
def script(name):
    """router/lua/NAME.lua as embedded: what Redis runs."""
    return subprocess.run(["sh", str(EMBED), "-a", str(LUA / (name + ".lua"))],
                          check=True, capture_output=True, text=True).stdout


def key(bare, what=None):
    """store_user_key: "<prefix>{bare}:what", or the bare channel."""
    return "%s{%s}%s" % (PREFIX, bare, ":" + what if what else "")


def gkey(name):
    """store_global_key: "<prefix>name"."""
    return PREFIX + name


def rec(id="s1", prio=0, avail=0, host="h1", pid=42, since=NOW - 10, seen=NOW - 10, det=0):
    """A session record, in the format of session.h."""
    return "id=%s prio=%d avail=%d host=%s pid=%d since=%d seen=%d det=%d" % (
        id, prio, avail, host, pid, since, seen, det)


class Redis:
    def __init__(self, server):
        self.server = server

    def __call__(self, *args):
        return self.server.redis(*args)

    def eval(self, name, keys=(), args=()):
        """EVAL the embedded text of script name."""
        return self("EVAL", script(name), len(keys), *keys, *args)

    def sub(self, *channels):
        return Subscriber(self.server.redis_sock, *channels)


class Subscriber:
    """One connection subscribed to channels (a live handler, to Redis)."""

    def __init__(self, sock_path, *channels):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(sock_path)
        # A user's or a room's channel is a shard channel, as the
        # handlers subscribe to it (store.h); the others classic ones.
        self.f = self.sock.makefile("rb")
        for c in channels:
            cmd = b"SSUBSCRIBE" if "{" in c else b"SUBSCRIBE"
            args = [cmd, c.encode()]
            self.sock.sendall(b"*%d\r\n" % len(args) +
                              b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
            assert _resp_read(self.f)[0] == cmd.decode().lower()

    def message(self):
        """The next [channel, payload] published to us (waits)."""
        kind, chan, payload = _resp_read(self.f)
        assert kind in ("message", "smessage")
        return [chan, payload]

    def close(self):
        self.f.close()
        self.sock.close()
