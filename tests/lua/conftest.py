"""conftest.py - fixtures of the Lua script tests (helpers: lua_harness.py).

  r                    a Redis client on the session's scratch redis-server,
                       its database emptied first: r("HGET", k, f),
                       r.eval(name, keys, args)
  subscribe(*channels) a Subscriber, closed after the test
"""
import pytest

from lua_harness import Redis, Server


@pytest.fixture(scope="session")
def redis_server():
    s = Server(listeners=0)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def r(redis_server):
    redis_server.redis("FLUSHALL")
    return Redis(redis_server)


@pytest.fixture
def subscribe(r):
    subs = []

    def make(*channels):
        s = r.sub(*channels)
        subs.append(s)
        return s
    yield make
    for s in subs:
        s.close()
