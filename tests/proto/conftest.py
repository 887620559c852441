"""conftest.py - fixtures for the protocol tests.

server_factory(listeners=1, **conf) starts a Server (see harness.py): its
own redis-server, an xmpp.conf with domain localhost, allow_plaintext_auth
yes, auth_fail_delay_ms 50 plus conf as extra lines, and one
systemd-socket-activate listener per host. server is one such Server with
the defaults. Everything is stopped at teardown, by PID, and the test fails
there if a sanitizer reported anything.
"""
import pytest

from harness import Server


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "timing: asserts wall-clock bounds; tests/run.sh runs these one at a "
        "time, after the others, so that the suite's own load does not break them")


@pytest.fixture
def server_factory():
    started = []

    def make(listeners=1, **conf):
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
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def server(server_factory):
    return server_factory()
