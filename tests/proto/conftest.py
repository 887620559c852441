"""conftest.py - fixtures for the protocol tests.

server_factory(listeners=1, **conf) starts a Server (see harness.py): its
own redis-server, an xmpp.conf with domain localhost, allow_plaintext_auth
yes, auth_fail_delay_ms 50 plus conf as extra lines, and one
systemd-socket-activate listener per host (with XMPPD_TEST_REDIS=sentinel,
a primary, a replica and three sentinels instead, the Server's redis a
sentinel:// URL; with XMPPD_TEST_REDIS=cluster, a Redis Cluster of three
primaries and a cluster:// URL). server is one such Server with the
defaults. Everything is stopped at teardown, by PID, and the test fails
there if a sanitizer reported anything.
"""
import os

import pytest

from cluster_harness import Cluster
from harness import Server, wait_until
from sentinel_harness import Sentinels

# XMPPD_TEST_REDIS=sentinel: every Server of server_factory runs on a
# primary, a replica and three sentinels of its own (redis = sentinel://),
# unless the test chose its Redis itself (tests/check.sh runs a subset so).
SENTINEL_MODE = os.environ.get("XMPPD_TEST_REDIS") == "sentinel"
# XMPPD_TEST_REDIS=cluster: the same with a Redis Cluster of three
# primaries (redis = cluster://), so that one user's keys and another's
# land on different nodes.
CLUSTER_MODE = os.environ.get("XMPPD_TEST_REDIS") == "cluster"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "timing: asserts wall-clock bounds; tests/run.sh runs these one at a "
        "time, after the others, so that the suite's own load does not break them")


@pytest.fixture
def server_factory():
    started, topos = [], []

    def make(listeners=1, **conf):
        own_redis = "redis_url" in conf or "redis_args" in conf or "redis_cluster" in conf
        if SENTINEL_MODE and not own_redis:
            # No failover is meant here: a starved primary (these run
            # niced beside the others) must not look down after 1 s.
            topo = Sentinels(replicas=1, down_after_ms=10000).start()
            topos.append(topo)
            conf = dict(conf, redis_url=topo.url(), redis_addr=lambda: wait_until(
                topo.primary, timeout=10, what="the primary the sentinels name"))
        elif CLUSTER_MODE and not own_redis:
            # As above, no failover is meant (and there is no replica to
            # take over): a starved node must not look failing after 2 s.
            topo = Cluster(node_timeout_ms=10000).start()
            topos.append(topo)
            conf = dict(conf, redis_cluster=topo)   # server.redis() through it
        s = Server(listeners, **conf)
        started.append(s)
        return s.start()

    yield make
    errors = []
    for s in started:
        try:
            s.stop()
        except AssertionError as e:
            errors.append(str(e))
    for t in topos:
        t.stop()
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def server(server_factory):
    return server_factory()
