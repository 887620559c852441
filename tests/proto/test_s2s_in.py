"""test_s2s_in.py - xmpp-s2s-in, the inbound side of federation, driven by a
raw server-to-server client in Python (no other XMPP server involved).

One deployment per test: Redis, listener 0 an xmpp-handler (for local
users), listener 1 xmpp-s2s-in (STARTTLS, port 5269's role), listener 2
"xmpp-s2s-in -T" (direct TLS, XEP-0368). Certificates are made at test time
with the openssl command line: a private CA, our certificate for localhost,
and certificates for the fake remote domain remote.test and for another,
other.test; s2s_ca_file is that CA. The remote side is this file: it opens
jabber:server streams, negotiates TLS with or without a client
certificate, authenticates with SASL EXTERNAL or dialback, and sends
stanzas. What xmpp-s2s-in hands to the outbound side (dialback
verifications, errors to bounce) is read from Redis, where the outbound
side would take it.
"""
import base64
import hashlib
import hmac
import os
import shutil
import ssl
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from harness import NS_STREAMS, NS_SASL, NS_STREAM_ERR, NS_STANZA_ERR, Raw, \
    describe, to_xml, wait_until
from im_helpers import raw_login, raw_wait, is_
import im_helpers as H
from s2s_harness import federation, pki, srv_record  # noqa: F401 (fixtures)


def online(server, bare):
    """A local user logged in with a raw client and available (initial
    presence: what a message to the bare JID needs)."""
    server.adduser(bare, PW)
    raw, _ = raw_login(server, bare, PW)
    raw.send("<presence/>")
    raw_wait(raw, is_("presence"))
    return raw

NS_SERVER = "jabber:server"
NS_DB = "jabber:server:dialback"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_DB_FEATURE = "urn:xmpp:features:dialback"
REMOTE = "remote.test"
PW = "secret-pw"
DIALBACK_LABEL = b"xmppd dialback"     # s2s/local.h S2S_DIALBACK_LABEL


def q(ns, name):
    return "{%s}%s" % (ns, name)


# ---- certificates ----

def _openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=30)


class PKI:
    """A CA and leaf certificates it signs, each with a DNS-ID."""

    def __init__(self, d):
        self.dir = d
        self.ca = os.path.join(d, "ca.pem")
        self.ca_key = os.path.join(d, "ca.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-sha256", "-nodes", "-days", "30", "-subj", "/CN=xmppd test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-keyout", self.ca_key, "-out", self.ca)
        self.leaves = {n: self._leaf(n) for n in ("localhost", REMOTE, "other.test")}

    def _leaf(self, name):
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        crt = os.path.join(self.dir, name + ".crt")
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n" % name)
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-subj", "/CN=" + name, "-keyout", key, "-out", csr)
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                 "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext, "-out", crt)
        return crt, key


@pytest.fixture(scope="module")
def s2spki(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command line tool is needed (Debian package openssl)")
    return PKI(str(tmp_path_factory.mktemp("s2spki")))


@pytest.fixture
def fed(server_factory, s2spki):
    """Start a deployment with federation on; conf overrides xmpp.conf
    lines. The CA sits beside our certificate, a folder the sandbox lets
    the program read."""
    def make(**conf):
        crt, key = s2spki.leaves["localhost"]
        c = dict(s2s=True, s2s_ca_file=s2spki.ca, tls_cert=crt, tls_key=key,
                 allow_plaintext_auth=True)
        c.update(conf)
        s = server_factory(listeners=3, listener_progs=[None, "xmpp-s2s-in", "xmpp-s2s-in"],
                           listener_args=[[], [], ["-T"]], **c)
        s.pki = s2spki
        return s
    return make


# ---- the raw server-to-server client ----

def header(to="localhost", frm=REMOTE, ns=NS_SERVER, version="1.0"):
    return ("<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' "
            "xmlns:db='%s'%s%s%s>" % (ns, NS_STREAMS, NS_DB,
                                      " version='%s'" % version if version else "",
                                      " to='%s'" % to if to else "",
                                      " from='%s'" % frm if frm else ""))


def s2s_open(raw, to="localhost", frm=REMOTE):
    """Send our header; returns (the answer's header, its features)."""
    raw.send(header(to, frm))
    ev, hdr = raw.next()
    assert ev == "header", describe(ev, hdr)
    assert hdr.get("from") == to and hdr.get("id"), hdr.attrib
    ev, f = raw.next()
    assert ev == "element" and f.tag == q(NS_STREAMS, "features"), describe(ev, f)
    return hdr, f


def tls_wrap(raw, certs, cert=None):
    """TLS over raw's socket, trusting certs' CA, presenting the
    certificate of domain cert (None: none)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs.ca)
    if cert:
        ctx.load_cert_chain(*certs.leaves[cert])
    raw.sock = ctx.wrap_socket(raw.sock, server_hostname="localhost")
    raw.restart()


def connect(server, cert=None, frm=REMOTE, direct=False, to="localhost"):
    """A stream over TLS (STARTTLS on listener 1, or direct TLS on 2) to
    our domain to, presenting the certificate of domain cert (None:
    none). Returns (raw, header, features after TLS)."""
    raw = server.raw(2 if direct else 1)
    if not direct:
        _, f = s2s_open(raw, to=to, frm=frm)
        assert f.find(q(NS_TLS, "starttls")) is not None, to_xml(f)
        raw.send("<starttls xmlns='%s'/>" % NS_TLS)
        ev, el = raw.next()
        assert ev == "element" and el.tag == q(NS_TLS, "proceed"), describe(ev, el)
    tls_wrap(raw, server.pki, cert)
    hdr, f = s2s_open(raw, to=to, frm=frm)
    return raw, hdr, f


def mechanisms(f):
    m = f.find(q(NS_SASL, "mechanisms"))
    return [] if m is None else [e.text for e in m]


def expect_stream_error(raw, cond):
    while True:
        ev, el = raw.next()
        if ev == "element" and el.tag == q(NS_STREAMS, "error"):
            assert el.find(q(NS_STREAM_ERR, cond)) is not None, to_xml(el)
            break
        assert ev == "element", "stream ended (%s) before <%s/>" % (ev, cond)
    ev, el = raw.next()
    assert ev in ("end", "closed"), describe(ev, el)


def expect_el(raw, tag):
    ev, el = raw.next()
    assert ev == "element" and el.tag == tag, "expected %s, got %s" % (tag, describe(ev, el))
    return el


def sasl_external(raw, authzid):
    raw.send("<auth xmlns='%s' mechanism='EXTERNAL'>%s</auth>" % (
        NS_SASL, base64.b64encode(authzid.encode()).decode() if authzid else "="))
    return raw.next()


def queue(server, kind, route):
    return server.redis("LRANGE", "xmpp:s2s:%s:{%s}" % (kind, route), "0", "-1") or []


def queued_errors(server, route="%s/localhost" % REMOTE):
    """The stanzas queued outbound for route, parsed."""
    out = []
    for env in queue(server, "out", route):
        head, xml = env.split("\n", 1)
        assert head.startswith("stanza "), env
        out.append(ET.fromstring(xml))
    return out


def our_key(server, receiving, originating, sid):
    """The dialback key our side makes (s2s/local.c, lib/dialback.h)."""
    server_secret = bytes.fromhex(server.redis("GET", "xmpp:server-secret"))
    secret = hmac.new(server_secret, DIALBACK_LABEL, hashlib.sha256).digest()
    k = hashlib.sha256(secret).hexdigest().encode()
    msg = ("%s %s %s" % (receiving, originating, sid)).encode()
    return hmac.new(k, msg, hashlib.sha256).hexdigest()


# ---- the stream and TLS ----

def test_header_errors(fed):
    s = fed()
    for hdr, cond in ((header(ns="jabber:client"), "invalid-namespace"),
                      (header(to="elsewhere.test"), "host-unknown"),
                      (header(to=None), "host-unknown"),
                      (header(version=None), "unsupported-version"),
                      (header(version="2.0"), "unsupported-version")):
        raw = s.raw(1)
        raw.send(hdr)
        ev, el = raw.next()
        assert ev == "header", describe(ev, el)
        expect_stream_error(raw, cond)


def test_not_xml_gets_our_header_then_the_error(fed):
    """Bytes that are no XML stream at all: our header first (RFC 6120
    4.9.1.2), then <not-well-formed/>."""
    s = fed()
    raw = s.raw(1)
    raw.send("<<<not xml")
    ev, el = raw.next()
    assert ev == "header", describe(ev, el)
    expect_stream_error(raw, "not-well-formed")


def test_reading_too_fast_ends_the_stream(fed):
    """max_read_rate and max_read_burst hold for servers as for clients:
    64 KiB at once against a 4 KiB burst is policy-violation."""
    s = fed(max_read_rate=1024, max_read_burst=4096)
    raw = s.raw(1)
    s2s_open(raw)
    raw.send("<!-- %s -->" % ("x" * 65536))
    expect_stream_error(raw, "policy-violation")


def test_federation_off(fed):
    s = fed(s2s=False)
    raw = s.raw(1)
    raw.send(header())
    raw.next()
    expect_stream_error(raw, "policy-violation")


def test_starttls_required(fed):
    s = fed()
    raw = s.raw(1)
    _, f = s2s_open(raw)
    tls = f.find(q(NS_TLS, "starttls"))
    assert tls is not None and tls.find(q(NS_TLS, "required")) is not None, to_xml(f)
    assert len(f) == 1, "nothing but STARTTLS before TLS: " + to_xml(f)
    raw.send("<db:result from='%s' to='localhost'>abc</db:result>" % REMOTE)
    expect_stream_error(raw, "policy-violation")
    raw = s.raw(1)
    s2s_open(raw)
    raw.send("<message from='a@%s' to='alice@localhost'><body>x</body></message>" % REMOTE)
    expect_stream_error(raw, "not-authorized")


def test_features_after_tls(fed):
    s = fed()
    _, _, f = connect(s)                       # no certificate: dialback only
    assert mechanisms(f) == [], to_xml(f)
    db = f.find(q(NS_DB_FEATURE, "dialback"))
    assert db is not None and db.find(q(NS_DB_FEATURE, "errors")) is not None, to_xml(f)
    _, _, f = connect(s, cert=REMOTE)
    assert mechanisms(f) == ["EXTERNAL"], to_xml(f)
    _, _, f = connect(s, cert=REMOTE, direct=True)
    assert mechanisms(f) == ["EXTERNAL"], to_xml(f)


def until_error(raw, cond, started):
    """Read to the stream error cond (each document the server starts has
    its header first, or the client's parser fails), which must come
    auth_timeout (2 s) after started, give or take a second."""
    expect_stream_error(raw, cond)
    took = time.monotonic() - started
    assert 1 <= took < 5, took


def test_auth_timeout(fed):
    s = fed(auth_timeout=2)
    # Silent from the start: our header comes first, then the error
    # (RFC 6120 4.9.1.2).
    t = time.monotonic()
    raw = s.raw(1)
    ev, el = raw.next()
    assert ev == "header" and el.tag == q(NS_STREAMS, "stream"), describe(ev, el)
    until_error(raw, "connection-timeout", t)
    # Silent after STARTTLS: the new document starts with our header too
    # (on a loaded machine the limit may come before TLS: as good).
    t = time.monotonic()
    raw = s.raw(1)
    s2s_open(raw)
    raw.send("<starttls xmlns='%s'/>" % NS_TLS)
    ev, el = raw.next()
    if ev == "element" and el.tag == q(NS_TLS, "proceed"):
        tls_wrap(raw, s.pki)
        ev, el = raw.next()
        assert ev == "header", describe(ev, el)
    else:
        raw.events.insert(0, (ev, el))
    until_error(raw, "connection-timeout", t)
    # After TLS, with a header, and nothing else.
    t = time.monotonic()
    raw, _, _ = connect(s)
    until_error(raw, "connection-timeout", t)


# ---- authentication ----

def test_sasl_external_and_delivery(fed):
    s = fed()
    alice = online(s, "alice@localhost")
    raw, _, _ = connect(s, cert=REMOTE)
    ev, el = sasl_external(raw, REMOTE)
    assert ev == "element" and el.tag == q(NS_SASL, "success"), describe(ev, el)
    raw.restart()
    _, f = s2s_open(raw)
    assert mechanisms(f) == [], "no SASL after SASL: " + to_xml(f)
    raw.send("<message from='bob@%s/r' to='alice@localhost' type='chat' id='m1'>"
             "<body>over federation</body></message>" % REMOTE)
    m = raw_wait(alice, is_("message", from_="bob@%s/r" % REMOTE))
    assert m.findtext("{jabber:client}body") == "over federation"
    # xmppctl s2s lists the stream and what it authenticated
    listed = [l for l in s.ctl("s2s").stdout.splitlines() if l.startswith("in ")]
    assert len(listed) == 1 and (" %s/localhost:sasl peer=" % REMOTE) in listed[0], listed
    # A subscription request from the remote contact reaches the user
    # (RFC 6121 3.1.3, through s2s_presence_in).
    raw.send("<presence from='bob@%s' to='alice@localhost' type='subscribe'/>" % REMOTE)
    raw_wait(alice, is_("presence", from_="bob@" + REMOTE, type="subscribe"))
    # A stanza from a domain this stream did not authenticate.
    raw.send("<message from='mallory@evil.test' to='alice@localhost'><body>x</body></message>")
    expect_stream_error(raw, "invalid-from")
    wait_until(lambda: not [l for l in s.ctl("s2s").stdout.splitlines() if l.startswith("in ")],
               what="the ended stream no longer listed")


def test_sasl_external_wrong_certificate(fed):
    s = fed()
    raw, _, f = connect(s, cert="other.test")   # trusted, but for other.test
    assert mechanisms(f) == ["EXTERNAL"]
    ev, el = sasl_external(raw, None)
    assert ev == "element" and el.tag == q(NS_SASL, "failure"), describe(ev, el)
    assert el.find(q(NS_SASL, "not-authorized")) is not None, to_xml(el)
    ev, el = sasl_external(raw, REMOTE)
    assert ev == "element" and el.tag == q(NS_SASL, "failure"), describe(ev, el)
    raw.send("<message from='a@%s' to='alice@localhost'><body>x</body></message>" % REMOTE)
    expect_stream_error(raw, "not-authorized")
    # The right certificate, but an authzid that only starts as the domain.
    raw, _, _ = connect(s, cert=REMOTE)
    ev, el = sasl_external(raw, REMOTE + "\0other.test")
    assert ev == "element" and el.find(q(NS_SASL, "invalid-authzid")) is not None, \
        describe(ev, el)


def test_dialback_with_certificate(fed):
    s = fed()
    raw, _, _ = connect(s, cert=REMOTE)
    raw.send("<db:result from='%s' to='localhost'>whatever</db:result>" % REMOTE)
    el = expect_el(raw, q(NS_DB, "result"))
    assert el.attrib == {"from": "localhost", "to": REMOTE, "type": "valid"}, el.attrib
    # other.test is not what the certificate names: refused (s2s_secure).
    raw.send("<db:result from='other.test' to='localhost'>k</db:result>")
    el = expect_el(raw, q(NS_DB, "result"))
    assert el.get("type") == "invalid", to_xml(el)
    raw.send("<message from='x@other.test' to='alice@localhost'><body>x</body></message>")
    expect_stream_error(raw, "invalid-from")


def test_dialback_secure_without_certificate(fed):
    s = fed(s2s_secure=True)
    raw, _, _ = connect(s)
    raw.send("<db:result from='%s' to='localhost'>k</db:result>" % REMOTE)
    el = expect_el(raw, q(NS_DB, "result"))
    assert el.get("type") == "invalid" and el.get("to") == REMOTE, to_xml(el)
    assert queue(s, "verify", "%s/localhost" % REMOTE) == []
    raw.send("<message from='a@%s' to='alice@localhost'><body>x</body></message>" % REMOTE)
    expect_stream_error(raw, "not-authorized")


def test_dialback_through_authoritative_server(fed):
    """Without s2s_secure and without a certificate, the key goes to the
    outbound side (Redis) and the answer it writes back decides; the stream
    keeps being served meanwhile (a db:verify is answered)."""
    s = fed(s2s_secure=False)
    alice = online(s, "alice@localhost")
    raw, hdr, _ = connect(s)
    route = "%s/localhost" % REMOTE
    raw.send("<db:result from='%s' to='localhost'>key-one</db:result>" % REMOTE)
    wait_until(lambda: queue(s, "verify", route), what="a verification queued")
    ask, frm, to, sid, key = queue(s, "verify", route)[0].split(" ")
    assert (frm, to, sid, key) == (REMOTE, "localhost", hdr.get("id"), "key-one")
    raw.send("<db:verify from='%s' to='localhost' id='abc'>nope</db:verify>" % REMOTE)
    el = expect_el(raw, q(NS_DB, "verify"))            # served while waiting
    assert el.get("type") == "invalid", to_xml(el)
    s.redis("RPUSH", "xmpp:s2s:verified:" + ask, "valid")
    el = expect_el(raw, q(NS_DB, "result"))
    assert el.attrib == {"from": "localhost", "to": REMOTE, "type": "valid"}, el.attrib
    raw.send("<message from='bob@%s' to='alice@localhost'><body>by dialback</body></message>"
             % REMOTE)
    raw_wait(alice, is_("message", from_="bob@" + REMOTE))
    # A second domain on the same stream, refused by its server.
    raw.send("<db:result from='other.test' to='localhost'>key-two</db:result>")
    wait_until(lambda: queue(s, "verify", "other.test/localhost"), what="second verification")
    ask2 = queue(s, "verify", "other.test/localhost")[0].split(" ")[0]
    s.redis("RPUSH", "xmpp:s2s:verified:" + ask2, "invalid")
    el = expect_el(raw, q(NS_DB, "result"))
    assert el.get("type") == "invalid" and el.get("to") == "other.test", to_xml(el)
    raw.send("<message from='x@other.test' to='alice@localhost'><body>x</body></message>")
    expect_stream_error(raw, "invalid-from")


def test_db_verify(fed):
    s = fed()
    raw, _, _ = connect(s)                     # unauthenticated, after TLS
    raw.send("<db:verify from='%s' to='localhost' id='sid-1'>%s</db:verify>" % (REMOTE, "0" * 64))
    el = expect_el(raw, q(NS_DB, "verify"))
    assert el.attrib == {"from": "localhost", "to": REMOTE, "id": "sid-1", "type": "invalid"}
    key = our_key(s, REMOTE, "localhost", "sid-1")
    raw.send("<db:verify from='%s' to='localhost' id='sid-1'>%s</db:verify>" % (REMOTE, key))
    el = expect_el(raw, q(NS_DB, "verify"))
    assert el.get("type") == "valid", to_xml(el)
    # The same key for another stream id is not valid.
    raw.send("<db:verify from='%s' to='localhost' id='sid-2'>%s</db:verify>" % (REMOTE, key))
    assert expect_el(raw, q(NS_DB, "verify")).get("type") == "invalid"
    raw.send("<db:verify from='%s' to='elsewhere.test' id='sid-1'>%s</db:verify>" % (REMOTE, key))
    el = expect_el(raw, q(NS_DB, "verify"))
    assert el.get("type") == "error" and el.find(".//" + q(NS_STANZA_ERR, "item-not-found")) \
        is not None, to_xml(el)


# ---- stanzas ----

def test_errors_and_answers_queued_outbound(fed):
    s = fed(contact_abuse="mailto:abuse@localhost")
    raw, _, _ = connect(s, cert=REMOTE)
    raw.send("<db:result from='%s' to='localhost'>k</db:result>" % REMOTE)
    assert expect_el(raw, q(NS_DB, "result")).get("type") == "valid"
    raw.send("<message from='bob@%s/r' to='nobody@localhost' id='m1'><body>x</body></message>"
             % REMOTE)
    raw.send("<message from='bob@%s/r' to='nobody@localhost' type='error' id='m2'/>" % REMOTE)
    raw.send("<iq from='bob@%s/r' to='localhost' type='get' id='p1'>"
             "<ping xmlns='urn:xmpp:ping'/></iq>" % REMOTE)
    raw.send("<iq from='bob@%s/r' to='localhost' type='get' id='d1'>"
             "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>" % REMOTE)
    raw.send("<iq from='bob@%s/r' to='localhost' type='get' id='v1'>"
             "<query xmlns='jabber:iq:version'/></iq>" % REMOTE)
    wait_until(lambda: len(queue(s, "out", "%s/localhost" % REMOTE)) >= 4,
               what="four stanzas queued outbound")
    time.sleep(0.3)                        # nothing for the error m2
    got = queued_errors(s)
    assert [e.get("id") for e in got] == ["m1", "p1", "d1", "v1"], [to_xml(e) for e in got]
    m1, p1, d1, v1 = got
    for e in (m1, v1):
        assert e.get("type") == "error" and e.get("to") == "bob@%s/r" % REMOTE, to_xml(e)
        assert e.find(".//{%s}service-unavailable" % NS_STANZA_ERR) is not None, to_xml(e)
    assert m1.get("from") == "nobody@localhost"
    assert p1.get("type") == "result" and p1.get("from") == "localhost", to_xml(p1)
    ident = d1.find(".//{http://jabber.org/protocol/disco#info}identity")
    assert ident is not None and ident.attrib == {"category": "server", "type": "im"}
    # XEP-0157: other domains see the contact addresses too
    abuse = d1.find(".//{jabber:x:data}field[@var='abuse-addresses']/{jabber:x:data}value")
    assert abuse is not None and abuse.text == "mailto:abuse@localhost", to_xml(d1)
    assert "%s/localhost" % REMOTE in s.shard_members("s2s:domains")


# ---- limits per remote domain ----

def sasl_stream(server, domain, to="localhost"):
    """A stream to our domain to that has authenticated domain by SASL
    EXTERNAL with its certificate, reopened after <success/>."""
    raw, _, _ = connect(server, cert=domain, frm=domain, to=to)
    ev, el = sasl_external(raw, domain)
    assert ev == "element" and el.tag == q(NS_SASL, "success"), describe(ev, el)
    raw.restart()
    s2s_open(raw, to=to, frm=domain)
    return raw


def chat(domain, size, mid="m"):
    """A message from bob@domain to alice@localhost, size bytes long."""
    head = "<message from='bob@%s/r' to='alice@localhost' type='chat' id='%s'><body>" % (
        domain, mid)
    tail = "</body></message>"
    return head + "x" * (size - len(head) - len(tail)) + tail


def test_s2s_defaults_before_authentication(fed):
    """s2s_max_read_burst and s2s_max_stanza_size hold for a stream that
    has authenticated nothing, while the client's keys stay larger: 64
    KiB at once against a 4 KiB burst, a 2000-byte <db:verify/> against
    1024 bytes, are each policy-violation."""
    s = fed(s2s_max_read_burst=4096, s2s_max_stanza_size=1024)
    raw = s.raw(1)
    s2s_open(raw)
    raw.send("<!-- %s -->" % ("x" * 65536))
    expect_stream_error(raw, "policy-violation")
    raw, _, _ = connect(s)
    raw.send("<db:verify from='%s' to='localhost' id='sid-1'>%s</db:verify>" % (
        REMOTE, "0" * 2000))
    expect_stream_error(raw, "policy-violation")


def test_stanza_size_per_domain(fed):
    """s2s_limit gives remote.test a stanza size of 1024 bytes: its 2000
    bytes are policy-violation once it is authenticated, while other.test
    (the defaults) passes the same stanza, and remote.test's small one
    is delivered."""
    s = fed(s2s_limit=["%s - - 1024" % REMOTE])
    alice = online(s, "alice@localhost")
    other = sasl_stream(s, "other.test")
    other.send(chat("other.test", 2000, "o1"))
    raw_wait(alice, is_("message", from_="bob@other.test/r"))
    raw = sasl_stream(s, REMOTE)
    raw.send(chat(REMOTE, 500, "r1"))
    raw_wait(alice, is_("message", from_="bob@%s/r" % REMOTE))
    raw.send(chat(REMOTE, 2000, "r2"))
    expect_stream_error(raw, "policy-violation")
    assert "stanzas up to 1024 bytes" in s.log(), s.log()[-4000:]


def test_read_rate_per_domain(fed):
    """The existing read-rate check (a flood over the burst is
    policy-violation, test_reading_too_fast_ends_the_stream) with the
    domain's numbers: remote.test's s2s_limit of 1024 bytes/s and 4096
    at once refuses a 64 KiB message that other.test, under the
    defaults, gets delivered; s2s_max_read_burst (8 KiB) would refuse
    it too, so other.test's own line lifts it."""
    s = fed(s2s_max_read_burst=8192, s2s_limit=["%s 1024 4096 -" % REMOTE,
                                                 "other.test - 1048576 -"])
    alice = online(s, "alice@localhost")
    other = sasl_stream(s, "other.test")
    other.send(chat("other.test", 65536, "o1"))
    m = raw_wait(alice, is_("message", from_="bob@other.test/r"))
    assert len(m.findtext("{jabber:client}body")) > 65000
    raw = sasl_stream(s, REMOTE)
    raw.send(chat(REMOTE, 65536, "r1"))
    expect_stream_error(raw, "policy-violation")


def test_piggybacked_domain_tightens_the_stream(fed):
    """A stream authenticated for remote.test (default limits) that also
    authenticates other.test by dialback (XEP-0220 piggybacking) holds to
    other.test's smaller stanza size, for remote.test's stanzas too."""
    s = fed(s2s_secure=False, s2s_limit=["other.test - - 1024"])
    alice = online(s, "alice@localhost")
    raw, _, _ = connect(s, cert=REMOTE)
    raw.send("<db:result from='%s' to='localhost'>k</db:result>" % REMOTE)
    assert expect_el(raw, q(NS_DB, "result")).get("type") == "valid"
    raw.send(chat(REMOTE, 2000, "r1"))
    raw_wait(alice, is_("message", from_="bob@%s/r" % REMOTE))
    raw.send("<db:result from='other.test' to='localhost'>key-two</db:result>")
    wait_until(lambda: queue(s, "verify", "other.test/localhost"), what="a verification queued")
    ask = queue(s, "verify", "other.test/localhost")[0].split(" ")[0]
    s.redis("RPUSH", "xmpp:s2s:verified:" + ask, "valid")
    el = expect_el(raw, q(NS_DB, "result"))
    assert el.get("type") == "valid" and el.get("to") == "other.test", to_xml(el)
    raw.send(chat(REMOTE, 2000, "r2"))
    expect_stream_error(raw, "policy-violation")


# ---- Prosody, through the federation harness ----

def prosody_to_xmppd(fed, body, started=None, direct_tls=False, **conf):
    """bob@b.test (Prosody) sends body to alice@a.test (xmppd: c2s on
    listener 0, xmpp-s2s-in on listener 1, which a.test's SRV record
    names); started(xmppd) is called before the clients log in. Returns
    (the xmppd, the 'from' of alice's copy)."""
    fed.servers["b.test"].adduser("bob", PW)
    fed.start()
    crt, key = fed.pki.cert("a.test")
    c = dict(s2s="yes", tls_cert=crt, tls_key=key, s2s_ca_file=str(fed.pki.ca_cert))
    c.update(conf)
    if direct_tls:
        # Listener 2 is "xmpp-s2s-in -T", published as _xmpps-server._tcp
        # beside _xmpp-server._tcp (listener 1).
        x = fed.xmppd("a.test", listeners=3, s2s_listener=1,
                      listener_progs=[None, "xmpp-s2s-in", "xmpp-s2s-in"],
                      listener_args=[[], [], ["-T"]], **c)
        fed.add_records(srv_record("a.test", "xmpp.a.test", x.ports[2], service="xmpps-server"))
        fed.restart_dns()
    else:
        x = fed.xmppd("a.test", listeners=2, s2s_listener=1,
                      listener_progs=[None, "xmpp-s2s-in"], **c)
    x.adduser("alice@a.test", PW)
    if started:
        started(x)

    async def go():
        a = H.IM("alice@a.test/a", PW)
        b = H.IM("bob@b.test/b", PW)
        o = await a.login(x.port, host=x.host, timeout=10)
        assert o.session_started, "login at xmppd failed: %r" % o
        srv = fed.servers["b.test"]
        o = await b.login(srv.c2s_port, host=srv.addr, timeout=10)
        assert o.session_started, "login at Prosody failed: %r" % o
        a.xmpp.send_presence()
        await a.sync()
        b.xmpp.send_message(mto="alice@a.test", mbody=body, mtype="chat")
        got = await a.wait1(H.body_is(body), timeout=15)
        return got.get("from")
    try:
        return x, fed.run_clients(go, timeout=30)
    except BaseException as e:
        raise AssertionError("%s: %s\n%s\n--- xmppd ---\n%s" % (
            type(e).__name__, e, fed.logs(), x.log()[-6000:])) from None


def test_prosody_sasl_external(federation):
    """Prosody (certificate from the CA, requiring ours) authenticates with
    SASL EXTERNAL; its message reaches a local user. Its mod_smacks
    enables stream management on the stream (XEP-0198 on s2s)."""
    fed = federation
    fed.prosody("b.test", cert="ca", secure_auth=True, extra_modules=("smacks",))
    x, frm = prosody_to_xmppd(fed, "hello from prosody")
    assert frm == "bob@b.test/b", frm
    log = x.log()
    assert "authenticated b.test for a.test by SASL EXTERNAL" in log, log[-4000:]
    # Prosody enables XEP-0198 on its stream to us (smacks_enabled_s2s),
    # right after the stanza it had queued
    wait_until(lambda: "stream management enabled" in x.log(), timeout=10,
               what="xmpp-s2s-in to enable stream management for Prosody")


class OutboundVerifier(threading.Thread):
    """Plays xmppd's outbound side for one XEP-0220 verification, as
    xmpp-s2s-out would: takes the verification xmpp-s2s-in queued for
    route from Redis, connects to the authoritative server (Prosody's s2s
    port, in the namespace), asks it with <db:verify/> after STARTTLS,
    and writes its verdict where xmpp-s2s-in waits for it."""

    def __init__(self, fed, x, route, authoritative):
        super().__init__(daemon=True)
        self.fed, self.x, self.route, self.auth = fed, x, route, authoritative
        self.verdict = self.error = None

    def run(self):
        try:
            self.fed.net.call(self._verify)
        except BaseException as e:          # reported by the test
            self.error = e

    def _verify(self):
        key = "xmpp:s2s:verify:{%s}" % self.route
        wait_until(lambda: self.x.redis("LLEN", key) > 0, timeout=15,
                   what="a verification queued for " + self.route)
        ask, frm, to, sid, dbkey = self.x.redis("LPOP", key).split(" ")
        raw = Raw(self.auth.s2s_port, host=self.auth.addr, timeout=10)
        try:
            raw.send(header(to=frm, frm=to))
            raw.next()
            raw.next()                          # features: STARTTLS
            raw.send("<starttls xmlns='%s'/>" % NS_TLS)
            expect_el(raw, q(NS_TLS, "proceed"))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE     # dialback: the DNS is the trust here
            raw.sock = ctx.wrap_socket(raw.sock, server_hostname=frm)
            raw.restart()
            raw.send(header(to=frm, frm=to))
            raw.next()
            raw.next()
            raw.send("<db:verify from='%s' to='%s' id='%s'>%s</db:verify>" % (to, frm, sid, dbkey))
            el = expect_el(raw, q(NS_DB, "verify"))
            self.verdict = el.get("type")
        finally:
            raw.close()
        self.x.redis("RPUSH", "xmpp:s2s:verified:" + ask, self.verdict or "error")


def test_prosody_dialback(federation):
    """Prosody with a self-signed certificate, and xmppd without
    s2s_secure: dialback, the key verified by Prosody itself (the test
    plays xmppd's outbound side, which asks it)."""
    fed = federation
    fed.prosody("b.test", cert="self", secure_auth=False)
    v = []

    def started(x):
        v.append(OutboundVerifier(fed, x, "b.test/a.test", fed.servers["b.test"]))
        v[0].start()
    x, frm = prosody_to_xmppd(fed, "hello by dialback", started=started, s2s_secure="no")
    v[0].join(10)
    assert v[0].error is None, v[0].error
    assert v[0].verdict == "valid"
    assert frm == "bob@b.test/b", frm
    log = x.log()
    assert "authenticated b.test for a.test by dialback" in log, log[-4000:]


def test_prosody_direct_tls(federation):
    """XEP-0368: Prosody finds _xmpps-server._tcp.a.test and connects to
    "xmpp-s2s-in -T" with TLS from the first byte."""
    fed = federation
    fed.prosody("b.test", cert="ca", secure_auth=True)
    x, frm = prosody_to_xmppd(fed, "hello over direct TLS", direct_tls=True)
    assert frm == "bob@b.test/b", frm
    with open(x.logs[2]) as f:                 # the direct TLS listener's
        log = f.read()
    assert "connect (direct TLS)" in log and \
        "authenticated b.test for a.test by SASL EXTERNAL" in log, x.log()[-4000:]


def test_iq_to_a_users_bare_jid_answered_for_the_user(fed):
    """RFC 6121 8.5.2.1.3 across domains: the server answers for alice a
    vCard get (XEP-0054) and a PEP items request (XEP-0060 6.5) under the
    node's access model: 'presence' refuses a stranger
    (presence-subscription-required) and serves a contact with from."""
    s = fed()
    alice = online(s, "alice@localhost")
    alice.send("<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Alice A.</FN></vCard></iq>")
    raw_wait(alice, lambda e: e.get("id") == "v1")
    alice.send("<iq type='set' id='p1'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
               "<publish node='http://jabber.org/protocol/nick'><item id='n1'>"
               "<nick xmlns='http://jabber.org/protocol/nick'>Alice</nick></item></publish>"
               "</pubsub></iq>")
    raw_wait(alice, lambda e: e.get("id") == "p1")
    raw, _, _ = connect(s, cert=REMOTE)
    ev, el = sasl_external(raw, REMOTE)
    assert ev == "element" and el.tag == q(NS_SASL, "success"), describe(ev, el)
    raw.restart()
    s2s_open(raw)
    items = ("<iq from='bob@%s/r' to='alice@localhost' type='get' id='%%s'>"
             "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
             "<items node='http://jabber.org/protocol/nick'/></pubsub></iq>" % REMOTE)
    raw.send("<iq from='bob@%s/r' to='alice@localhost' type='get' id='g1'>"
             "<vCard xmlns='vcard-temp'/></iq>" % REMOTE)
    raw.send(items % "g2")
    wait_until(lambda: len(queued_errors(s)) >= 2, what="two answers queued")
    assert s.ctl("roster", "alice@localhost", "add", "bob@" + REMOTE).returncode == 0
    raw.send(items % "g3")
    wait_until(lambda: len(queued_errors(s)) >= 3, what="three answers queued")
    got = {e.get("id"): e for e in queued_errors(s)}
    v = got["g1"]
    assert v.get("type") == "result" and v.get("to") == "bob@%s/r" % REMOTE, to_xml(v)
    assert v.find(".//{vcard-temp}FN").text == "Alice A.", to_xml(v)
    e = got["g2"]
    assert e.get("type") == "error", to_xml(e)
    assert e.find(".//{http://jabber.org/protocol/pubsub#errors}"
                  "presence-subscription-required") is not None, to_xml(e)
    r = got["g3"]
    assert r.get("type") == "result", to_xml(r)
    assert r.find(".//{http://jabber.org/protocol/nick}nick").text == "Alice", to_xml(r)


def test_redis_down_ends_the_stream_not_the_stanza(fed):
    """A stanza Redis cannot take is not silently dropped: with no way to
    queue an error either, the stream ends with internal-server-error, so
    the peer knows it was not accepted."""
    s = fed()
    raw, _, _ = connect(s, cert=REMOTE)
    ev, el = sasl_external(raw, REMOTE)
    assert ev == "element" and el.tag == q(NS_SASL, "success"), describe(ev, el)
    raw.restart()
    s2s_open(raw)
    s.stop_redis()
    raw.send("<message from='bob@%s/r' to='alice@localhost' type='chat'><body>lost?</body>"
             "</message>" % REMOTE)
    expect_stream_error(raw, "internal-server-error")


@pytest.mark.parametrize("prog,ns,version", [
    ("xmpp-s2s-in", "jabber:server", "1.0"),
    ("xmpp-component", "jabber:component:accept", None),   # XEP-0114: no version
])
def test_bad_configuration_gets_a_stream_error(tmp_path, prog, ns, version):
    """A configuration that does not load still gets the peer a stream
    error in the stream's namespace, not a dropped socket; exit 111."""
    from harness import BUILD
    bad = tmp_path / "xmpp.conf"
    bad.write_text("no_such_key = 1\n")
    p = subprocess.run([str(BUILD / prog), "-c", str(bad)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=10)
    assert p.returncode == 111, (p.returncode, p.stderr)
    root = ET.fromstring(p.stdout.decode().split("?>", 1)[1])
    assert root.tag == q(NS_STREAMS, "stream") and root.get("version") == version
    assert p.stdout.decode().count("xmlns='%s'" % ns) == 1, p.stdout
    err = root.find(q(NS_STREAMS, "error"))
    assert err is not None and err.find(q(NS_STREAM_ERR, "internal-server-error")) is not None


NS_SM = "urn:xmpp:sm:3"


def test_stream_management_acknowledges_what_was_handled(fed):
    """XEP-0198 on the inbound stream: offered after TLS, enabled only
    once a domain is authenticated, and each <r/> answered with how many
    stanzas were handled (delivered, stored, or answered with an error),
    so that the peer knows what to bounce if the stream breaks."""
    s = fed()
    alice = online(s, "alice@localhost")
    raw, _, f = connect(s, cert=REMOTE)
    assert f.find(q(NS_SM, "sm")) is not None, to_xml(f)
    raw.send("<enable xmlns='%s'/>" % NS_SM)                 # not authenticated yet
    assert expect_el(raw, q(NS_SM, "failed")) is not None
    ev, el = sasl_external(raw, REMOTE)
    assert ev == "element" and el.tag == q(NS_SASL, "success"), describe(ev, el)
    raw.restart()
    _, f = s2s_open(raw)
    assert f.find(q(NS_SM, "sm")) is not None, to_xml(f)
    raw.send("<enable xmlns='%s'/>" % NS_SM)
    assert expect_el(raw, q(NS_SM, "enabled")).get("resume") is None
    raw.send("<message from='bob@%s/r' to='alice@localhost' type='chat' id='m1'>"
             "<body>one</body></message>"
             "<message from='bob@%s/r' to='nobody@localhost' id='m2'><body>x</body></message>"
             "<r xmlns='%s'/>" % (REMOTE, REMOTE, NS_SM))
    assert expect_el(raw, q(NS_SM, "a")).get("h") == "2"      # delivered, and refused
    raw_wait(alice, is_("message", from_="bob@%s/r" % REMOTE))
    raw.send("<enable xmlns='%s'/>" % NS_SM)                 # twice
    assert expect_el(raw, q(NS_SM, "failed")) is not None
