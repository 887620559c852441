"""The federation harness (s2s_harness.py) works end to end: two Prosody
servers, a.test and b.test, in one network namespace, each published only
through an SRV record (_xmpp-server._tcp) in the test's dnsmasq, on
non-default ports and addresses (the domains themselves have no address,
so a server that ignored SRV would find nothing), federate:
alice@a.test (slixmpp, in the namespace) sends a message to bob@b.test
and bob receives it.

- certificates: both servers have CA-signed certificates, trust the test
  CA and require authenticated peers (s2s_secure_auth = true): the
  servers authenticate each other with SASL EXTERNAL.
- dialback: a.test's certificate is self-signed and neither side
  requires certificates (s2s_secure_auth = false): b.test cannot verify
  a.test, the sender, so it verifies it with dialback (XEP-0220),
  calling a.test back through a.test's SRV record.
- direct TLS (XEP-0368): b.test also publishes _xmpps-server._tcp, and
  a.test connects to that port.
- a certificate made out to another name: a.test (s2s_secure_auth) does
  not deliver to b.test and bounces the message with an error.
Which was used is read from Prosody's debug log and dnsmasq's query log.

The harness itself: a program started in the namespace resolves through
the test's dnsmasq (getent, and xmppd's own s2s/dns.c through srvlookup)
while the host's /etc/resolv.conf stays as it was; an xmppd started by
fed.xmppd() serves a slixmpp client there; the certificates carry the
names asked for, chain to the CA or not.
"""
from s2s_harness import a_record, federation, pki, run, wait_for  # noqa: F401 (fixtures)

import im_helpers as H
from harness import BUILD, SAN_ENV, SANITIZER_MARKS

PW = "secret-pw"


def send_and_receive(fed, body):
    """alice@a.test sends body to bob@b.test (both online); returns the
    'from' of bob's copy and the errors alice got."""
    async def go():
        a = H.IM("alice@a.test/a", PW)
        b = H.IM("bob@b.test/b", PW)
        for c, srv in ((a, fed.servers["a.test"]), (b, fed.servers["b.test"])):
            o = await c.login(srv.c2s_port, host=srv.addr, timeout=10)
            assert o.session_started, "login at %s failed: %r" % (srv.domain, o)
        b.xmpp.send_presence()
        a.xmpp.send_message(mto="bob@b.test/b", mbody=body, mtype="chat")
        got = await b.wait1(H.body_is(body), timeout=15)
        errors = [H.to_xml(e) for e in a.received if e.get("type") == "error"]
        return got.get("from"), errors
    return fed.run_clients(go, timeout=25)


def federate(fed, body):
    fed.servers["a.test"].adduser("alice", PW)
    fed.servers["b.test"].adduser("bob", PW)
    fed.start()
    try:
        got, errors = send_and_receive(fed, body)
    except BaseException as e:
        raise AssertionError("%s: %s\n%s" % (type(e).__name__, e, fed.logs())) from None
    assert not errors, "%s\n%s" % (errors, fed.logs())
    assert got == "alice@a.test/a", got
    return got


def test_federation_with_certificates(federation):
    fed = federation
    fed.prosody("a.test", cert="ca+ids", secure_auth=True)
    fed.prosody("b.test", cert="ca", secure_auth=True)
    federate(fed, "hello over certificates")
    a_log = fed.servers["a.test"].log()
    b_log = fed.servers["b.test"].log()
    dns = fed.dns_log()
    # a.test found b.test through its SRV record, on its private port
    assert "query[SRV] _xmpp-server._tcp.b.test" in dns, fed.logs()
    assert "query[A] xmpp.b.test" in dns, fed.logs()
    # authenticated by certificates both ways, no dialback
    assert "SASL EXTERNAL with b.test succeeded" in a_log, fed.logs()
    assert "Accepting SASL EXTERNAL identity from a.test" in b_log, fed.logs()
    assert "Initiating dialback" not in a_log + b_log, fed.logs()
    assert "validation result: invalid" not in a_log + b_log, fed.logs()


def test_federation_with_dialback(federation):
    fed = federation
    fed.prosody("a.test", cert="self", secure_auth=False)
    fed.prosody("b.test", cert="ca", secure_auth=False)
    federate(fed, "hello over dialback")
    a_log = fed.servers["a.test"].log()
    b_log = fed.servers["b.test"].log()
    dns = fed.dns_log()
    assert "query[SRV] _xmpp-server._tcp.b.test" in dns, fed.logs()
    # b.test could not verify a.test's certificate ...
    assert "certificate chain validation result: invalid" in b_log, fed.logs()
    # ... so a.test sent a dialback key, b.test called a.test back through
    # a.test's SRV record, and a.test confirmed the key
    assert "sent dialback key on outgoing s2s stream" in a_log, fed.logs()
    assert "query[SRV] _xmpp-server._tcp.a.test" in dns, fed.logs()
    assert "verified dialback key... it is valid" in a_log, fed.logs()
    assert "Accepting SASL EXTERNAL identity from a.test" not in b_log, fed.logs()


def test_federation_direct_tls(federation):
    """XEP-0368: b.test also publishes _xmpps-server._tcp on a direct TLS
    port, which a.test uses first."""
    fed = federation
    fed.prosody("a.test", secure_auth=True)
    b = fed.prosody("b.test", secure_auth=True, direct_tls=True)
    federate(fed, "hello over direct TLS")
    a_log = fed.servers["a.test"].log()
    assert "config _xmpps-server._tcp.b.test is <SRV>" in fed.dns_log(), fed.logs()
    assert "%s, %d" % (b.addr, b.direct_tls_port) in a_log, fed.logs()     # connected there
    assert "SASL EXTERNAL with b.test succeeded" in a_log, fed.logs()


def test_mismatched_certificate_refused(federation):
    """b.test presents a CA-signed certificate made out to another name:
    a.test, requiring authenticated peers, does not deliver to it and
    bounces alice's message with an error."""
    fed = federation
    fed.prosody("a.test", secure_auth=True)
    fed.prosody("b.test", cert="mismatch", secure_auth=True)
    fed.servers["a.test"].adduser("alice", PW)
    fed.start()

    async def go():
        a = H.IM("alice@a.test/a", PW)
        o = await a.login(fed.servers["a.test"].c2s_port, host=fed.servers["a.test"].addr,
                          timeout=10)
        assert o.session_started, o
        a.xmpp.send_message(mto="bob@b.test", mbody="not for you", mtype="chat")
        err = await a.wait1(H.is_("message", type="error", from_="bob@b.test"), timeout=15)
        return H.error_condition(err)
    try:
        cond = fed.run_clients(go, timeout=25)
    except BaseException as e:
        raise AssertionError("%s: %s\n%s" % (type(e).__name__, e, fed.logs())) from None
    assert cond[1] is not None, cond
    a_log = fed.servers["a.test"].log()
    assert "certificate identity validation result: invalid" in a_log, fed.logs()
    assert "not for you" not in fed.servers["b.test"].log(), fed.logs()


def test_programs_resolve_through_dnsmasq(federation):
    """A program started with popen()/run() uses the test's dnsmasq as its
    system resolver (the host's /etc/resolv.conf is left alone), and sees
    the namespace's servers, as xmppd's programs will."""
    fed = federation
    with open("/etc/resolv.conf", "rb") as f:
        host_resolv = f.read()
    addr, port = fed.reserve("x.test")
    fed.start()
    p = fed.net.run(["getent", "ahostsv4", "xmpp.x.test"])
    assert p.returncode == 0 and p.stdout.split()[0] == addr, (p, fed.logs())
    p = fed.net.run(["cat", "/etc/resolv.conf"])
    assert p.stdout == fed.net.RESOLV, p
    with open("/etc/resolv.conf", "rb") as f:
        assert f.read() == host_resolv
    # a later record, after a dnsmasq restart
    fed.add_records(a_record("late.x.test", "127.0.9.9"))
    fed.restart_dns()
    p = fed.net.run(["getent", "ahostsv4", "late.x.test"])
    assert p.returncode == 0 and p.stdout.split()[0] == "127.0.9.9", (p, fed.logs())
    # a listener started in the namespace is reachable from the test
    srv = fed.popen(["python3", "-c", "import socket, sys; s = socket.socket(); "
                     "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                     "s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(); "
                     "c, _ = s.accept(); c.sendall(b'hi'); c.close()", addr, str(port)])
    wait_for(lambda: srv.poll() is not None or fed.net.port_open(addr, port), 10, "listener")
    assert srv.wait(10) == 0


def test_xmppd_resolver_and_listener_in_namespace(federation):
    """xmppd's own programs run in the namespace: its DNS code (s2s/dns.c,
    through srvlookup, with the system's resolver) finds a domain's server
    through the test's dnsmasq, and a handler started by fed.xmppd()
    serves a slixmpp client of the namespace."""
    fed = federation
    srvlookup = BUILD / "srvlookup"
    assert srvlookup.exists(), \
        "%s is missing: make testclients with libc-ares-dev installed" % srvlookup
    addr, port = fed.reserve("x.test")
    fed.start()
    p = fed.net.run([srvlookup, "-t", "3", "x.test"], env=SAN_ENV)
    assert p.returncode == 0, (p, fed.logs())
    assert p.stdout.splitlines()[:3] == ["lookup ok", "cand xmpp.x.test %d starttls" % port,
                                         "addr xmpp.x.test %s %d" % (addr, port)], p.stdout
    assert not any(m in p.stderr for m in SANITIZER_MARKS), p.stderr
    # listener 1 stands for xmppd's inbound s2s listener: y.test's SRV names it
    server = fed.xmppd("y.test", listeners=2, s2s_listener=1)
    assert server.s2s_port == server.ports[1]
    p = fed.net.run([srvlookup, "-t", "3", "y.test"], env=SAN_ENV)
    assert p.stdout.splitlines()[:3] == [
        "lookup ok", "cand xmpp.y.test %d starttls" % server.s2s_port,
        "addr xmpp.y.test %s %d" % (server.host, server.s2s_port)], (p, fed.logs())
    server.adduser("carol@y.test", PW)

    async def go():
        c = H.IM("carol@y.test/c", PW)
        o = await c.login(server.port, host=server.host, timeout=10)
        assert o.session_started, "%r\n%s" % (o, server.log()[-3000:])
        await c.sync()
        return c.full
    assert fed.run_clients(go, timeout=20) == "carol@y.test/c"
    p = fed.net.run(["getent", "ahostsv4", "xmpp.y.test"])
    assert p.returncode == 0 and p.stdout.split()[0] == server.host, (p, fed.logs())


def openssl_verify(pki, cert, *args):
    return run(["openssl", "verify", "-CAfile", pki.ca_cert] + list(args) + [cert], check=False)


def test_pki_certificates(pki):
    """The harness's certificates are what they claim to be."""
    crt, _ = pki.cert("c.test", xmppaddr=True, srvid=True)
    text = run(["openssl", "x509", "-noout", "-text", "-in", crt]).stdout
    assert "DNS:c.test" in text, text
    # OpenSSL prints the otherNames by OID (or by name for id-on-xmppAddr
    # in newer versions)
    assert "c.test" in text.split("Subject Alternative Name")[1], text
    assert ("1.3.6.1.5.5.7.8.5" in text or "XmppAddr" in text), text
    assert ("1.3.6.1.5.5.7.8.7" in text or "SRVName" in text), text
    assert "_xmpp-server.c.test" in text, text
    assert openssl_verify(pki, crt, "-verify_hostname", "c.test").returncode == 0
    plain, _ = pki.cert("c.test")
    assert pki.cert("c.test") == (plain, _), "not cached"
    assert openssl_verify(pki, plain, "-verify_hostname", "c.test").returncode == 0
    wrong, _ = pki.cert("c.test", names=["other-c.test"])
    assert openssl_verify(pki, wrong).returncode == 0          # from the CA ...
    assert openssl_verify(pki, wrong, "-verify_hostname", "c.test").returncode != 0  # ... not ours
    self_crt, _ = pki.self_signed("c.test")
    assert openssl_verify(pki, self_crt).returncode != 0
