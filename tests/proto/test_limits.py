"""test_limits.py - abuse limits a hostile client meets (issue: TLS and
security, point 5; issue: what real clients still trip over, point 3):
failed logins counted per account and per source address in Redis,
shared by every host; an address (never an account) blocked for a
while, networks exempt from it, wrong answers delayed at most 2 s,
xmppctl blocks / unblock; and the per-connection read-rate token
bucket."""
import base64
import hashlib
import time

import pytest

from harness import Raw, digest

SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
STREAMS_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
ALICE_FAILS = "xmpp:{alice@localhost}:authfail"
MAX_DELAY = 2.0            # SASL_MAX_DELAY_MS
SLACK = 0.6                # what a loaded machine and ASan add to an answer

# Wall-clock bounds throughout: run alone (tests/run.sh).
pytestmark = pytest.mark.timing


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def try_login(server, user, password, source="127.0.0.1", listener=0, timed=False):
    """One SASL PLAIN attempt on a fresh stream; the condition or 'success'
    (with timed, also the seconds from sending <auth/> to the answer)."""
    r = Raw(server.ports[listener], server=server, source=source)
    r.open()
    t0 = time.monotonic()
    r.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (SASL, plain(user, password)))
    ev, el = r.next()
    took = time.monotonic() - t0
    r.close()
    assert ev == "element", (ev, el)
    if el.tag == "{%s}success" % SASL:
        got = "success"
    else:
        assert el.tag == "{%s}failure" % SASL, el.tag
        got = [c.tag.split("}")[1] for c in el][0]
    return (got, took) if timed else got


def try_legacy(server, user, password, source="127.0.0.1"):
    """One XEP-0078 digest login on a fresh stream: 'result' or the
    error condition."""
    r = Raw(server.ports[0], server=server, source=source)
    r.open()
    sid = r.header.get("id")
    r.send("<iq type='set' id='a1' to='localhost'><query xmlns='jabber:iq:auth'>"
           "<username>%s</username><digest>%s</digest><resource>r</resource></query></iq>"
           % (user, digest(sid, password)))
    ev, el = r.next()
    r.close()
    assert ev == "element" and el.get("id") == "a1", (ev, el)
    if el.get("type") == "result":
        return "result"
    return [c.tag.split("}")[1] for c in el.find("{jabber:client}error")][0]


def addr_fails(server, addr="127.0.0.1"):
    return server.redis("GET", "xmpp:authfail-addr:" + addr)


def test_guessed_account_still_logs_in_at_once(server_factory):
    """Nobody can lock a user out: auth_block_after wrong passwords for
    alice (from 127.0.0.2, on two listeners, i.e. hosts) block that
    address, not alice: the right password from 127.0.0.1 logs in at
    once (no pause before a success), by SASL and by iq:auth digest. So
    does it when the account's counter is far beyond auth_block_after
    (failures from many other addresses, seeded in Redis)."""
    server = server_factory(listeners=2, auth_block_after=3, auth_fail_delay_ms=500)
    server.adduser("alice@localhost", "right", legacy_digest=True)
    for i in range(3):
        assert try_login(server, "alice", "wrong", source="127.0.0.2",
                         listener=i % 2) == "not-authorized"
    assert server.redis("GET", ALICE_FAILS) == "3"
    assert addr_fails(server, "127.0.0.2") == "3"
    assert 0 < server.redis("TTL", ALICE_FAILS) <= 900
    got, took = try_login(server, "alice", "right", timed=True)
    assert got == "success" and took < 1.0, (got, took)
    # success clears the account's counter; seed it far beyond the limit
    server.redis("SET", ALICE_FAILS, "500", "EX", "900")
    got, took = try_login(server, "alice", "right", source="127.0.0.3", listener=1, timed=True)
    assert got == "success" and took < 1.0, (got, took)
    server.redis("SET", ALICE_FAILS, "500", "EX", "900")
    t0 = time.monotonic()
    assert try_legacy(server, "alice", "right") == "result"
    assert time.monotonic() - t0 < 1.0
    assert server.redis("GET", ALICE_FAILS) is None     # iq:auth clears it too
    # 127.0.0.2 itself stays blocked, for alice as for anyone
    assert try_login(server, "alice", "right", source="127.0.0.2") == "not-authorized"


def test_blocked_address_refused_until_unblocked(server_factory):
    """auth_block_after=3 failures from 127.0.0.1 (for any accounts) block
    that address: the right password for alice or bob is refused there
    (SASL not-authorized, iq:auth not-authorized), while both log in from
    127.0.0.2; after `xmppctl unblock 127.0.0.1` alice logs in from
    127.0.0.1 again."""
    server = server_factory(auth_block_after=3, auth_fail_delay_ms=1)
    server.adduser("alice@localhost", "right", legacy_digest=True)
    server.adduser("bob@localhost", "right")
    assert try_login(server, "alice", "wrong") == "not-authorized"
    assert try_login(server, "bob", "wrong") == "not-authorized"
    assert try_login(server, "nobody", "wrong") == "not-authorized"
    assert addr_fails(server) == "3"
    assert 0 < server.redis("TTL", "xmpp:authfail-addr:127.0.0.1") <= 900
    assert try_login(server, "alice", "right") == "not-authorized"
    assert try_login(server, "bob", "right") == "not-authorized"
    assert try_legacy(server, "alice", "right") == "not-authorized"
    # refusals are counted for the address, not for the accounts
    assert addr_fails(server) == "6"
    assert server.redis("GET", ALICE_FAILS) == "1"
    assert try_login(server, "bob", "right", source="127.0.0.2") == "success"
    assert try_login(server, "alice", "right", source="127.0.0.2") == "success"

    p = server.ctl("unblock", "127.0.0.1")
    assert p.returncode == 0, p.stderr
    assert addr_fails(server) is None
    assert try_login(server, "alice", "right") == "success"
    # nothing left to unblock: exit 1
    p = server.ctl("unblock", "::ffff:127.0.0.1")
    assert p.returncode == 1 and "no failures counted for 127.0.0.1" in p.stderr, p.stderr


def test_unblock_mapped_spelling(server_factory):
    """A counter is named by the canonical spelling: unblock given the
    IPv4-mapped IPv6 form of a blocked address lifts the block."""
    server = server_factory(auth_block_after=1, auth_fail_delay_ms=1)
    server.adduser("alice@localhost", "right")
    assert try_login(server, "alice", "wrong") == "not-authorized"
    assert try_login(server, "alice", "right") == "not-authorized"
    p = server.ctl("unblock", "::FFFF:127.0.0.1")
    assert p.returncode == 0, p.stderr
    assert try_login(server, "alice", "right") == "success"


def test_success_clears_account_counter(server_factory):
    server = server_factory(auth_block_after=5, auth_fail_delay_ms=1)
    server.adduser("alice@localhost", "right")
    assert try_login(server, "alice", "wrong") == "not-authorized"
    assert server.redis("GET", ALICE_FAILS) == "1"
    assert try_login(server, "alice", "right") == "success"
    assert server.redis("GET", ALICE_FAILS) is None
    # ... but never the address's: a guesser with an account of its own
    # could otherwise clear it between guesses
    assert addr_fails(server) == "1"


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


def test_wrong_answers_within_two_seconds(server_factory):
    """auth_fail_delay_ms=500 doubles to the 2 s ceiling and stays there:
    every wrong answer (and the refusal of a blocked address) comes
    within 2 s, however many failures the account and the address have.
    One connection that keeps guessing is closed after 5 failures
    (SASL_MAX_FAILURES), each counted for its address."""
    server = server_factory(auth_block_after=4, auth_fail_delay_ms=500)
    server.adduser("alice@localhost", "right")
    server.redis("SET", ALICE_FAILS, "1000", "EX", "900")
    r = Raw(server.ports[0], server=server)
    r.open()
    took = []
    for _ in range(5):
        t0 = time.monotonic()
        r.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (SASL, plain("alice", "wrong")))
        ev, el = r.next()
        took.append(time.monotonic() - t0)
        assert ev == "element" and el.tag == "{%s}failure" % SASL, (ev, el)
    ev, el = r.next()
    assert ev == "element" and el[0].tag == "{%s}policy-violation" % STREAMS_ERR, (ev, el)
    r.close()
    assert addr_fails(server) == "5"
    # the account's 1000 failures take the pause to the ceiling at once
    assert all(MAX_DELAY - 0.1 <= t < MAX_DELAY + SLACK for t in took), took
    # a fresh address, an unknown account: 500 ms, then doubling, capped
    took = [try_login(server, "nobody", "wrong", source="127.0.0.2", timed=True)
            for _ in range(4)]
    assert [g for g, _ in took] == ["not-authorized"] * 4
    took = [t for _, t in took]
    assert 0.45 <= took[0] < 0.5 + SLACK, took
    assert 0.95 <= took[1] < 1.0 + SLACK, took
    assert all(MAX_DELAY - 0.1 <= t < MAX_DELAY + SLACK for t in took[2:]), took
    # 127.0.0.2 is blocked now (4 failures): refusals are capped as well
    got, t = try_login(server, "alice", "right", source="127.0.0.2", timed=True)
    assert got == "not-authorized" and t < MAX_DELAY + SLACK, (got, t)


def test_exempt_network_never_blocked(server_factory):
    """auth_exempt = 127.0.0.1/32 ::1: failures from 127.0.0.1 are neither
    counted, blocked nor delayed (they are logged), even with a counter
    left from before the exemption; 127.0.0.2, outside, is blocked."""
    server = server_factory(auth_block_after=2, auth_fail_delay_ms=1500,
                            auth_exempt="127.0.0.1/32 ::1")
    server.adduser("alice@localhost", "right")
    server.redis("SET", "xmpp:authfail-addr:127.0.0.1", "99", "EX", "900")
    for _ in range(4):
        got, took = try_login(server, "alice", "wrong", timed=True)
        assert got == "not-authorized" and took < 1.0, (got, took)
    assert addr_fails(server) == "99"
    assert server.redis("GET", ALICE_FAILS) is None
    assert "exempt address" in server.log()
    got, took = try_login(server, "alice", "right", timed=True)
    assert got == "success" and took < 1.0, (got, took)
    # outside the exempt range the policy holds
    for _ in range(2):
        assert try_login(server, "alice", "wrong", source="127.0.0.2") == "not-authorized"
    assert try_login(server, "alice", "right", source="127.0.0.2") == "not-authorized"


def test_exempt_whole_loopback(server_factory):
    """auth_exempt = 127.0.0.0/8: auth_block_after failures from anywhere
    on loopback never block it."""
    server = server_factory(auth_block_after=1, auth_fail_delay_ms=1,
                            auth_exempt="127.0.0.0/8")
    server.adduser("alice@localhost", "right")
    for src in ("127.0.0.1", "127.0.0.1", "127.9.9.9"):
        assert try_login(server, "alice", "wrong", source=src) == "not-authorized"
    assert try_login(server, "alice", "right") == "success"
    assert try_login(server, "alice", "right", source="127.9.9.9") == "success"


def blocks(server):
    p = server.ctl("blocks")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("#"), lines
    return lines[1:]


def test_ctl_blocks_and_unblock_all(server_factory):
    """xmppctl blocks lists each counted address (blocked or not) and
    account with its failures and seconds left; unblock --all forgets
    every address and keeps the account counters."""
    server = server_factory(auth_block_after=2, auth_fail_delay_ms=1)
    server.adduser("alice@localhost", "right")
    assert blocks(server) == []
    for _ in range(2):
        assert try_login(server, "alice", "wrong") == "not-authorized"
    assert try_login(server, "bob", "wrong", source="127.0.0.2") == "not-authorized"
    got = blocks(server)
    assert len(got) == 4, got
    a1, a2, acc1, acc2 = got
    assert a1.startswith("address 127.0.0.1  failures=2 left=") and a1.endswith(" blocked"), got
    assert 0 < int(a1.split("left=")[1].split()[0]) <= 900, got
    assert a2.startswith("address 127.0.0.2  failures=1 left=") and "blocked" not in a2, got
    assert acc1.startswith("account alice@localhost  failures=2 left="), got
    assert acc2.startswith("account bob@localhost  failures=1 left="), got

    p = server.ctl("unblock", "--all")
    assert p.returncode == 0, p.stderr
    got = blocks(server)
    assert [g.split()[:2] for g in got] == [["account", "alice@localhost"],
                                            ["account", "bob@localhost"]], got
    assert try_login(server, "alice", "right") == "success"

    for args in (["unblock"], ["unblock", "1.2.3.4", "5.6.7.8"], ["unblock", "-x"],
                 ["blocks", "extra"]):
        p = server.ctl(*args)
        assert p.returncode == 100, (args, p.returncode, p.stderr)


def test_ctl_blocks_prefix_is_no_pattern(server_factory):
    """The key prefix is matched literally by SCAN: with key_prefix t?st:
    a key of another prefix (tost:) is not listed nor removed."""
    server = server_factory(auth_block_after=1, auth_fail_delay_ms=1, key_prefix="t?st:")
    server.adduser("alice@localhost", "right")
    server.redis("SET", "tost:authfail-addr:10.9.9.9", "7")
    server.redis("SET", "tost:{carol@localhost}:authfail", "7")
    assert try_login(server, "alice", "wrong") == "not-authorized"
    got = blocks(server)
    assert [g.split()[:2] for g in got] == [["address", "127.0.0.1"],
                                            ["account", "alice@localhost"]], got
    assert server.ctl("unblock", "--all").returncode == 0
    assert server.redis("GET", "tost:authfail-addr:10.9.9.9") == "7"
    assert server.redis("GET", "t?st:authfail-addr:127.0.0.1") is None


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
