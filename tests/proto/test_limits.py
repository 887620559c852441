"""test_limits.py - abuse limits a hostile client meets (issue: TLS and
security, point 5): failed logins counted per account and per source
address in Redis, shared by every host, with a temporary block; and the
per-connection read-rate token bucket."""
import base64
import time

from harness import Raw

SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
STREAMS_ERR = "urn:ietf:params:xml:ns:xmpp-streams"


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def try_login(server, user, password, source="127.0.0.1", listener=0):
    """One SASL PLAIN attempt on a fresh stream; the condition or 'success'."""
    r = Raw(server.ports[listener], server=server, source=source)
    r.open()
    r.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (SASL, plain(user, password)))
    ev, el = r.next()
    r.close()
    assert ev == "element", (ev, el)
    if el.tag == "{%s}success" % SASL:
        return "success"
    assert el.tag == "{%s}failure" % SASL, el.tag
    return [c.tag.split("}")[1] for c in el][0]


def test_failed_logins_block_account_and_address(server_factory):
    """auth_block_after=3: three wrong passwords for alice (from 127.0.0.1,
    on two different listeners, i.e. hosts) block alice everywhere, even
    with the right password and from another address; bob is blocked from
    127.0.0.1 (the address counter) but not from 127.0.0.2."""
    server = server_factory(listeners=2, auth_block_after=3, auth_fail_delay_ms=1)
    server.adduser("alice@localhost", "right")
    server.adduser("bob@localhost", "right")
    assert try_login(server, "alice", "right") == "success"
    for i in range(3):
        assert try_login(server, "alice", "wrong", listener=i % 2) == "not-authorized"
    assert server.redis("GET", "xmpp:{alice@localhost}:authfail") == "3"
    assert server.redis("GET", "xmpp:authfail-addr:127.0.0.1") == "3"
    ttl = server.redis("TTL", "xmpp:{alice@localhost}:authfail")
    assert 0 < ttl <= 900, ttl
    # blocked: the right password no longer works, from anywhere
    assert try_login(server, "alice", "right", listener=1) == "not-authorized"
    assert try_login(server, "alice", "right", source="127.0.0.2") == "not-authorized"
    # the address is blocked for other accounts too ...
    assert try_login(server, "bob", "right") == "not-authorized"
    # ... but bob from elsewhere is fine
    assert try_login(server, "bob", "right", source="127.0.0.2") == "success"


def test_success_clears_account_counter(server_factory):
    server = server_factory(auth_block_after=5, auth_fail_delay_ms=1)
    server.adduser("alice@localhost", "right")
    assert try_login(server, "alice", "wrong") == "not-authorized"
    assert server.redis("GET", "xmpp:{alice@localhost}:authfail") == "1"
    assert try_login(server, "alice", "right") == "success"
    assert server.redis("GET", "xmpp:{alice@localhost}:authfail") is None


def test_failure_delay_grows(server_factory):
    """Each recent failure doubles the pause before the answer."""
    server = server_factory(auth_block_after=100, auth_fail_delay_ms=100)
    server.adduser("alice@localhost", "right")
    times = []
    for _ in range(4):
        t0 = time.monotonic()
        assert try_login(server, "alice", "wrong") == "not-authorized"
        times.append(time.monotonic() - t0)
    # 100, 200, 400, 800 ms (plus overhead)
    assert times[0] >= 0.09 and times[3] >= 0.75, times
    assert times[3] > 2 * times[0], times


def test_read_flood_gets_policy_violation(server_factory):
    """max_read_rate=1024 B/s, max_read_burst=4096 B: 64 KiB at once is a
    flood: <policy-violation/>, then the stream ends; others are served."""
    server = server_factory(max_read_rate=1024, max_read_burst=4096)
    r = server.raw()
    r.open()
    try:
        r.send("<presence/>" * 6000)
    except OSError:
        pass                      # the server may close while we write
    got = r.read_until_closed()
    errs = [e for e in got if e is not None and e.tag == "{http://etherx.jabber.org/streams}error"]
    assert errs, [e.tag for e in got if e is not None]
    assert errs[0][0].tag == "{%s}policy-violation" % STREAMS_ERR
    other = server.raw()
    assert other.open() is not None
