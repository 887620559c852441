"""SASL2 (XEP-0388), Bind2 (XEP-0386) and FAST tokens (XEP-0484), issue
20: every answer checked on raw streams, each error with its condition.

Listener 0 is plain TCP (STARTTLS offered, PLAIN allowed without it so
that SASL2 shows there too), listener 1 direct TLS (-T), where FAST is
offered. Tokens are checked against the Redis layout of xmpp-redis(7):
only their SHA-256 is stored.
"""
import base64
import hashlib
import hmac
import os
import select
import subprocess
import time

import pytest

from harness import NS_STREAMS, Server, to_xml, wait_until
from im_helpers import PW, q, raw_login, raw_wait
from mam_helpers import NS_MAM
from test_tls import PKI, OpenSSLSock, SSL, condition, needs_pyopenssl, scram, wrap

NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_SASL2 = "urn:xmpp:sasl:2"
NS_BIND2 = "urn:xmpp:bind:0"
NS_FAST = "urn:xmpp:fast:0"
NS_SM = "urn:xmpp:sm:3"
ALICE, BOB = "alice@localhost", "bob@localhost"
UA = "d4565fa7-4d72-4749-b3d3-740edbf87770"
OTHER_UA = "0f7d8a39-5b1e-4c44-9a86-1b2c3d4e5f60"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return PKI(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def server(server_factory, pki):
    s = server_factory(listeners=2, listener_args=[[], ["-T"]],
                       tls_cert=pki.localhost.cert, tls_key=pki.localhost.key,
                       allow_plaintext_auth=True, resume_timeout=30, auth_fail_delay_ms=0)
    s.adduser(ALICE, PW)
    s.adduser(BOB, PW)
    return s


def b64(data):
    return base64.b64encode(data).decode()


def agent(ua=UA):
    return ("<user-agent id='%s'><software>xmppd tests</software>"
            "<device>test box</device></user-agent>" % ua)


def bind2(tag="Test", inner=""):
    return "<bind xmlns='%s'><tag>%s</tag>%s</bind>" % (NS_BIND2, tag, inner)


def resource_for(tag, ua=UA):
    return "%s.%s" % (tag, hashlib.sha256(ua.encode()).hexdigest()[:8])


def tls(server, pki, lib="ssl"):
    """A raw client on the direct TLS listener; (raw, features)."""
    raw = server.raw(1)
    wrap(raw, pki, "localhost", lib)
    return raw, raw.open("localhost")


def plain2(raw, user="alice", password=PW, extra=""):
    """SASL2 PLAIN; the answer."""
    raw.send("<authenticate xmlns='%s' mechanism='PLAIN'><initial-response>%s"
             "</initial-response>%s</authenticate>" % (
                 NS_SASL2, b64(b"\0" + user.encode() + b"\0" + password.encode()), extra))
    ev, el = raw.next()
    assert ev == "element", (ev, el)
    return el


def mac(token, label, cb=b""):
    return hmac.new(token.encode(), label + cb, hashlib.sha256).digest()


def fast_response(token, user="alice", cb=b""):
    return b64(user.encode() + b"\0" + mac(token, b"Initiator", cb))


def fast2(raw, token, mech="HT-SHA-256-NONE", cb=b"", ua=UA, fast="<fast xmlns='%s'/>" % NS_FAST,
          extra="", response=None):
    """A FAST login: the answer."""
    raw.send("<authenticate xmlns='%s' mechanism='%s'><initial-response>%s</initial-response>"
             "%s%s%s</authenticate>" % (NS_SASL2, mech, response or fast_response(token, cb=cb),
                                        agent(ua), fast, extra))
    ev, el = raw.next()
    assert ev == "element", (ev, el)
    return el


def token_of(success):
    t = success.find(q(NS_FAST, "token"))
    assert t is not None, to_xml(success)
    return t.get("token"), t.get("expiry")


def ok(el):
    assert el.tag == q(NS_SASL2, "success"), to_xml(el)
    return el


def failed(el, cond):
    assert el.tag == q(NS_SASL2, "failure"), to_xml(el)
    assert condition(el) == cond, to_xml(el)


def record(server, bare=ALICE, ua=UA):
    return server.redis("HGET", "xmpp:{%s}:fast" % bare, ua)


def mechs(parent, ns):
    return [m.text for m in parent.findall(q(ns, "mechanism"))]


def test_sasl2_offered_beside_sasl(server, pki):
    raw = server.raw(0)
    f = raw.open("localhost")
    a = f.find(q(NS_SASL2, "authentication"))
    assert a is not None, to_xml(f)
    assert mechs(a, NS_SASL2) == mechs(f.find(q(NS_SASL, "mechanisms")), NS_SASL), to_xml(f)
    inline = a.find(q(NS_SASL2, "inline"))
    feats = {e.get("var") for e in inline.find(q(NS_BIND2, "bind")).iter(q(NS_BIND2, "feature"))}
    assert feats == {"urn:xmpp:carbons:2", "urn:xmpp:csi:0", NS_SM}, to_xml(a)
    assert inline.find(q(NS_SM, "sm")) is not None, to_xml(a)
    assert inline.find(q(NS_FAST, "fast")) is None, "tokens without TLS: " + to_xml(a)
    raw.close()
    raw, f = tls(server, pki)
    a = f.find(q(NS_SASL2, "authentication"))
    assert "SCRAM-SHA-256-PLUS" in mechs(a, NS_SASL2), to_xml(f)
    fast = a.find(q(NS_SASL2, "inline")).find(q(NS_FAST, "fast"))
    assert mechs(fast, NS_FAST) == ["HT-SHA-256-EXPR", "HT-SHA-256-ENDP", "HT-SHA-256-NONE"], \
        to_xml(a)
    raw.close()


def test_scram_with_bind2_and_everything_inline(server, pki):
    raw, _ = tls(server, pki)
    out = {}
    extra = agent() + bind2("Test", "<enable xmlns='urn:xmpp:carbons:2'/>"
                            "<inactive xmlns='urn:xmpp:csi:0'/>"
                            "<enable xmlns='%s' resume='true'/>" % NS_SM)
    assert scram(raw, "alice", PW, "SCRAM-SHA-256", sasl2=extra, out=out) == ("success", True)
    s = out["el"]
    full = "%s/%s" % (ALICE, resource_for("Test"))
    assert s.findtext(q(NS_SASL2, "authorization-identifier")) == full, to_xml(s)
    bound = s.find(q(NS_BIND2, "bound"))
    assert bound is not None and bound.find(q(NS_MAM, "metadata")) is not None, to_xml(s)
    enabled = bound.find(q(NS_SM, "enabled"))
    assert enabled is not None and enabled.get("resume") == "true", to_xml(s)
    # No restart: the features of a bound session follow at once.
    ev, f = raw.next()
    assert ev == "element" and f.tag == q(NS_STREAMS, "features") and len(f) == 0, to_xml(f)
    assert server.redis("HGET", "xmpp:{%s}:carbons" % ALICE, resource_for("Test"))
    clients = server.ctl("clients", ALICE)
    assert clients.returncode == 0 and UA in clients.stdout, clients
    assert 'software="xmppd tests"  device="test box"' in clients.stdout, clients.stdout
    # The session is live: an IQ is answered, counted by stream management.
    raw.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq><r xmlns='%s'/>" % NS_SM)
    el = raw_wait(raw, lambda e: e.get("id") == "p1")
    assert el.get("type") == "result", to_xml(el)
    el = raw_wait(raw, lambda e: e.tag == q(NS_SM, "a"))
    assert el.get("h") == "1", to_xml(el)
    # CSI inline: a message without a body waits while the client is
    # inactive, and comes when it is active again.
    bob, _ = raw_login(server, BOB)
    bob.send("<message to='%s' type='chat' id='cs1'><composing "
             "xmlns='http://jabber.org/protocol/chatstates'/></message>" % full)
    with pytest.raises(AssertionError, match="within"):      # raw_wait or raw.next
        raw_wait(raw, lambda e: e.get("id") == "cs1", timeout=1.0)   # <r/> may come
    raw.send("<active xmlns='urn:xmpp:csi:0'/>")
    el = raw_wait(raw, lambda e: e.get("id") == "cs1")
    assert el.tag == q("jabber:client", "message"), to_xml(el)
    for r in (raw, bob):
        r.close()


def test_same_client_replaces_its_session(server):
    first = server.raw(0)
    first.open("localhost")
    ok(plain2(first, extra=agent() + bind2("Phone")))
    first.next()        # features
    second = server.raw(0)
    second.open("localhost")
    s = ok(plain2(second, extra=agent() + bind2("Phone")))
    assert s.findtext(q(NS_SASL2, "authorization-identifier")).endswith(resource_for("Phone"))
    el = raw_wait(first, lambda e: e.tag == q(NS_STREAMS, "error"))
    assert el.find(q("urn:ietf:params:xml:ns:xmpp-streams", "conflict")) is not None, to_xml(el)
    # Another client of the same user gets a resource of its own.
    third = server.raw(0)
    third.open("localhost")
    s = ok(plain2(third, extra=agent(OTHER_UA) + bind2("Phone")))
    assert s.findtext(q(NS_SASL2, "authorization-identifier")) == \
        "%s/%s" % (ALICE, resource_for("Phone", OTHER_UA))
    for r in (second, third):
        r.close()


def test_offline_messages_left_to_the_archive(server):
    bob, _ = raw_login(server, BOB)
    for i in range(2):
        bob.send("<message to='%s' type='chat' id='m%d'><body>while away %d</body></message>"
                 % (ALICE, i, i))
    wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:offline" % ALICE) == 2, what="stored offline")
    raw = server.raw(0)
    raw.open("localhost")
    s = ok(plain2(raw, extra=agent() + bind2()))
    end = s.find(q(NS_BIND2, "bound")).find(q(NS_MAM, "metadata")).find(q(NS_MAM, "end"))
    assert end is not None, to_xml(s)
    raw.next()          # features
    raw.send("<presence/><iq type='set' id='q1'><query xmlns='%s' queryid='x'/></iq>" % NS_MAM)
    got = []
    el = raw_wait(raw, lambda e: e.get("id") == "q1", keep=got)
    bodies = [e.findtext(".//" + q("jabber:client", "body")) for e in got
              if e.tag == q("jabber:client", "message")]
    # Both come from the archive (inside <result/>), none as a plain message.
    assert bodies == ["while away 0", "while away 1"], [to_xml(e) for e in got]
    assert all(e.find(q(NS_MAM, "result")) is not None for e in got
               if e.tag == q("jabber:client", "message")), [to_xml(e) for e in got]
    fin = el.find(q(NS_MAM, "fin"))
    assert fin.findtext(".//" + q("http://jabber.org/protocol/rsm", "last")) == end.get("id")
    assert server.redis("LLEN", "xmpp:{%s}:offline" % ALICE) == 0
    for r in (raw, bob):
        r.close()


def test_failures(server_factory, pki):
    s = server_factory(listeners=1, tls_cert=pki.localhost.cert, tls_key=pki.localhost.key,
                       allow_plaintext_auth=False)
    s.adduser(ALICE, PW)
    raw = s.raw(0)
    raw.open("localhost")
    # Before the STARTTLS this stream requires.
    failed(plain2(raw), "encryption-required")
    raw.close()
    s = server_factory(listeners=1, allow_plaintext_auth=True)
    s.adduser(ALICE, PW)
    raw = s.raw(0)
    raw.open("localhost")
    failed(plain2(raw, password="wrong"), "not-authorized")
    raw.send("<authenticate xmlns='%s' mechanism='CRAM-MD5'/>" % NS_SASL2)
    failed(raw.next()[1], "invalid-mechanism")
    raw.send("<authenticate xmlns='%s' mechanism='HT-SHA-256-NONE'><initial-response>%s"
             "</initial-response></authenticate>" % (NS_SASL2, fast_response("x" * 68)))
    failed(raw.next()[1], "encryption-required")      # tokens only inside TLS
    raw.send("<authenticate xmlns='%s' mechanism='PLAIN'><initial-response>!!"
             "</initial-response></authenticate>" % NS_SASL2)
    failed(raw.next()[1], "incorrect-encoding")
    failed(plain2(raw, extra="<user-agent id='has space'/>"), "malformed-request")
    # A response or an abort with no exchange: answered in SASL2's terms.
    raw.send("<response xmlns='%s'>AAAA</response>" % NS_SASL2)
    failed(raw.next()[1], "malformed-request")
    raw.send("<abort xmlns='%s'/>" % NS_SASL2)
    failed(raw.next()[1], "aborted")
    raw.close()
    # The same budget of failures as RFC 6120 SASL: the fifth ends the stream.
    raw = s.raw(0)
    raw.open("localhost")
    for _ in range(4):
        failed(plain2(raw, password="wrong"), "not-authorized")
    el = plain2(raw, password="wrong")
    failed(el, "not-authorized")
    el = raw_wait(raw, lambda e: e.tag == q(NS_STREAMS, "error"))
    assert el.find(q("urn:ietf:params:xml:ns:xmpp-streams", "policy-violation")) is not None
    raw.close()
    # A tag that is no resource; an abort mid-exchange; a second
    # <authenticate/> mid-exchange ends the stream (XEP-0388 5).
    raw = s.raw(0)
    raw.open("localhost")
    failed(plain2(raw, extra=bind2("x" * 100)), "malformed-request")
    raw.send("<authenticate xmlns='%s' mechanism='SCRAM-SHA-1'><initial-response>%s"
             "</initial-response></authenticate>" % (NS_SASL2, b64(b"n,,n=alice,r=abcdefgh")))
    assert raw.next()[1].tag == q(NS_SASL2, "challenge")
    raw.send("<abort xmlns='%s'/>" % NS_SASL2)
    failed(raw.next()[1], "aborted")
    raw.send("<authenticate xmlns='%s' mechanism='SCRAM-SHA-1'><initial-response>%s"
             "</initial-response></authenticate>" % (NS_SASL2, b64(b"n,,n=alice,r=abcdefgh")))
    assert raw.next()[1].tag == q(NS_SASL2, "challenge")
    raw.send("<authenticate xmlns='%s' mechanism='PLAIN'/>" % NS_SASL2)
    el = raw_wait(raw, lambda e: e.tag == q(NS_STREAMS, "error"))
    assert el.find(q("urn:ietf:params:xml:ns:xmpp-streams", "policy-violation")) is not None
    raw.close()
    # After success, <authenticate/> is a stream error (XEP-0388 9).
    raw = s.raw(0)
    raw.open("localhost")
    ok(plain2(raw))
    raw.next()
    raw.send("<authenticate xmlns='%s' mechanism='PLAIN'/>" % NS_SASL2)
    el = raw_wait(raw, lambda e: e.tag == q(NS_STREAMS, "error"))
    assert el.find(q("urn:ietf:params:xml:ns:xmpp-streams", "unsupported-stanza-type")) \
        is not None, to_xml(el)
    raw.close()


def test_inline_resumption(server):
    raw = server.raw(0)
    raw.open("localhost")
    s = ok(plain2(raw, extra=agent() + bind2("Test", "<enable xmlns='%s' resume='true'/>" % NS_SM)))
    previd = s.find(q(NS_BIND2, "bound")).find(q(NS_SM, "enabled")).get("id")
    full = s.findtext(q(NS_SASL2, "authorization-identifier"))
    raw.next()
    bob, _ = raw_login(server, BOB)
    bob.send("<message to='%s' type='chat'><body>one</body></message>" % full)
    raw_wait(raw, lambda e: e.findtext(q("jabber:client", "body")) == "one")
    raw.sock.close()     # lost, not closed: the session is detached
    wait_until(lambda: "session detached" in server.log(), what="the session detached")
    bob.send("<message to='%s' type='chat'><body>two</body></message>" % full)
    # The client handled nothing (h=0): both come again, after <success/>.
    raw = server.raw(0)
    raw.open("localhost")
    s = ok(plain2(raw, extra=agent() + "<resume xmlns='%s' previd='%s' h='0'/>" % (NS_SM, previd)
                  + bind2()))
    assert s.findtext(q(NS_SASL2, "authorization-identifier")) == full, to_xml(s)
    assert s.find(q(NS_SM, "resumed")).get("previd") == previd, to_xml(s)
    assert s.find(q(NS_BIND2, "bound")) is None, "bound as well as resumed: " + to_xml(s)
    ev, f = raw.next()
    assert f.tag == q(NS_STREAMS, "features"), to_xml(f)
    got = []
    raw_wait(raw, lambda e: e.findtext(q("jabber:client", "body")) == "two", keep=got)
    assert [e.findtext(q("jabber:client", "body")) for e in got
            if e.tag == q("jabber:client", "message")] == ["one"], [to_xml(e) for e in got]
    raw.close()
    # An unknown session: <failed/>, and Bind2 binds a new one instead.
    raw = server.raw(0)
    raw.open("localhost")
    s = ok(plain2(raw, extra=agent(OTHER_UA) + "<resume xmlns='%s' previd='nosuch' h='0'/>"
                  % NS_SM + bind2()))
    assert s.find(q(NS_SM, "failed")) is not None and s.find(q(NS_BIND2, "bound")) is not None, \
        to_xml(s)
    for r in (raw, bob):
        r.close()


def login_with_token_request(server, pki, mech, ua=UA, lib="ssl"):
    """A password login asking for a token: SCRAM-SHA-256-PLUS bound to
    the TLS exporter with pyOpenSSL (lib "openssl"), else SCRAM-SHA-256."""
    raw, _ = tls(server, pki, lib)
    out = {}
    extra = agent(ua) + "<request-token xmlns='%s' mechanism='%s'/>" % (NS_FAST, mech)
    if lib == "openssl":
        got = scram(raw, "alice", PW, "SCRAM-SHA-256-PLUS", gs2="p=tls-exporter,,",
                    cb_data=raw.sock.exporter(), sasl2=extra, out=out)
    else:
        got = scram(raw, "alice", PW, "SCRAM-SHA-256", sasl2=extra, out=out)
    assert got == ("success", True), (got, to_xml(out["el"]))
    token, expiry = token_of(out["el"])
    raw.close()
    return token, expiry


@needs_pyopenssl
def test_fast_token_channel_bound(server, pki):
    token, expiry = login_with_token_request(server, pki, "HT-SHA-256-EXPR", lib="openssl")
    assert "login ok (SCRAM-SHA-256-PLUS)" in server.log()
    assert len(token) > 64, token          # longer than SHA-256's block
    rec = record(server).split()
    assert rec[0] == "HT-SHA-256-EXPR" and rec[3] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in record(server)
    # A login with it, bound to this connection's TLS exporter.
    raw, _ = tls(server, pki, "openssl")
    cb = raw.sock.exporter()
    s = ok(fast2(raw, token, "HT-SHA-256-EXPR", cb))
    data = base64.b64decode(s.findtext(q(NS_SASL2, "additional-data")))
    assert data == mac(token, b"Responder", cb), "the server proved nothing"
    assert s.find(q(NS_FAST, "token")) is None, "rotated with most of its life left"
    raw.close()
    assert "login ok (HT-SHA-256-EXPR)" in server.log()
    # The same login replayed on another connection: its exporter differs.
    raw, _ = tls(server, pki, "openssl")
    failed(fast2(raw, token, "HT-SHA-256-EXPR", response=fast_response(token, cb=cb)),
           "not-authorized")
    # The token with another client's id, or with another mechanism.
    failed(fast2(raw, token, "HT-SHA-256-EXPR", raw.sock.exporter(), ua=OTHER_UA),
           "not-authorized")
    failed(fast2(raw, token, "HT-SHA-256-NONE"), "not-authorized")
    raw.close()


def test_fast_count_invalidate_and_revoke(server, pki):
    token, _ = login_with_token_request(server, pki, "HT-SHA-256-NONE")
    line = [l for l in server.ctl("clients", ALICE).stdout.splitlines() if l.startswith(UA)]
    assert len(line) == 1 and "token=new=" in line[0] and "(HT-SHA-256-NONE)" in line[0], line
    assert token not in line[0]

    def login(count=None, invalidate=False):
        raw, _ = tls(server, pki)
        attrs = (" count='%d'" % count if count else "") + (" invalidate='true'" if invalidate else "")
        el = fast2(raw, token, fast="<fast xmlns='%s'%s/>" % (NS_FAST, attrs))
        raw.close()
        return el

    ok(login(count=5))
    failed(login(count=5), "not-authorized")         # a count seen: a replay
    failed(login(count=4), "not-authorized")
    ok(login(count=6))
    ok(login())                                      # no 0-RTT here: count optional
    ok(login(invalidate=True))
    failed(login(), "not-authorized")
    assert record(server) is None
    # Revoked by the operator; ended by a password change.
    token, _ = login_with_token_request(server, pki, "HT-SHA-256-NONE")
    ok(login())
    assert server.ctl("fast-revoke", ALICE, UA).returncode == 0
    failed(login(), "not-authorized")
    assert server.ctl("fast-revoke", ALICE, UA).returncode != 0     # nothing left
    token, _ = login_with_token_request(server, pki, "HT-SHA-256-NONE")
    p = server.ctl("passwd", ALICE, input="%s\n%s\n" % (PW, PW))
    assert p.returncode == 0, p.stderr
    failed(login(), "not-authorized")
    token, _ = login_with_token_request(server, pki, "HT-SHA-256-NONE")
    assert server.ctl("deluser", ALICE).returncode == 0
    assert server.redis("EXISTS", "xmpp:{%s}:fast" % ALICE) == 0
    assert server.redis("EXISTS", "xmpp:{%s}:clients" % ALICE) == 0


def test_fast_rotation_and_expiry(server, pki):
    t1, _ = login_with_token_request(server, pki, "HT-SHA-256-NONE")
    raw, _ = tls(server, pki)
    ok(fast2(raw, t1))                     # t1 moves to the 'current' slot
    raw.close()
    # Less than half its life left (xmpp-redis(7): the record's fields).
    mech, count, ne, nh, ce, ch = record(server).split()
    server.redis("HSET", "xmpp:{%s}:fast" % ALICE, UA,
                 " ".join([mech, count, ne, nh, str(int(time.time()) + 60), ch]))
    def login(token):
        raw, _ = tls(server, pki)
        el = fast2(raw, token)
        raw.close()
        return el

    t2, _ = token_of(ok(login(t1)))        # rotated, unasked
    assert t2 != t1
    # The client never got t2 (its connection broke): t1 still works,
    # and the token issued again ends the unused t2 (XEP-0484 5.1).
    t3, _ = token_of(ok(login(t1)))
    assert t3 not in (t1, t2)
    failed(login(t2), "not-authorized")
    s = ok(login(t3))
    assert s.find(q(NS_FAST, "token")) is None, "a fresh token rotated: " + to_xml(s)
    failed(login(t1), "not-authorized")    # t3 in use: t1 is over
    raw, _ = tls(server, pki)
    # An expired token: credentials-expired, and the client falls back.
    mech, count, ne, nh, ce, ch = record(server).split()
    server.redis("HSET", "xmpp:{%s}:fast" % ALICE, UA,
                 " ".join([mech, count, ne, nh, str(int(time.time()) - 1), ch]))
    failed(fast2(raw, t3), "credentials-expired")
    raw.close()


def test_tls_early_data_never_accepted(server, pki):
    """XEP-0484 6: a FAST login must not be taken from TLS 0-RTT data
    unless replay-protected. xmppd issues no TLS session tickets (they
    would come before the stream's features), so no client can resume a
    TLS session, let alone send early data in it."""
    p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % server.ports[1],
                          "-servername", "localhost", "-CAfile", pki.cafile, "-msg"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, bufsize=0)
    seen = ""
    try:
        p.stdin.write("<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
                      "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        p.stdin.flush()
        deadline = time.monotonic() + 20
        fd = p.stdout.fileno()
        while "stream:features" not in seen and time.monotonic() < deadline:
            # The XML has no newline to read up to.
            if select.select([fd], [], [], 0.2)[0]:
                data = os.read(fd, 65536)
                if not data:
                    break
                seen += data.decode(errors="replace")
    finally:
        p.terminate()
        p.wait(timeout=20)
    assert "stream:features" in seen and "Verify return code: 0" in seen, seen[-2000:]
    assert "NewSessionTicket" not in seen, seen[-3000:]
