"""TLS: STARTTLS (RFC 6120 5), direct TLS (XEP-0368, `xmpp-handler -T`),
SCRAM-*-PLUS channel binding (RFC 5802, RFC 5929, RFC 9266) with the
XEP-0440 <sasl-channel-binding/> feature, and what TLS changes in the
stream features and in plaintext authentication.

Certificates are made once per test session with the openssl command line
tool in a temporary directory: EC P-256, signed with ECDSA-SHA256 (so the
tls-server-end-point binding is the SHA-256 of the certificate's DER,
RFC 5929 4.1), one for localhost and one for example.test.

Clients:
- slixmpp (Debian's python3-slixmpp) over STARTTLS and direct TLS, verifying
  the server certificate against the test certificate as its only CA;
- harness.Raw over a Python ssl socket, for exact features and a SCRAM
  client written here (hashlib/hmac/base64) that can send any gs2 header and
  channel-binding data;
- harness.Raw over pyOpenSSL (python3-openssl) for tls-exporter: Python's
  ssl module cannot export keying material. Without pyOpenSSL those tests
  are skipped; the server side of tls-exporter is also covered by
  tests/unit/test_tls.c and tests/unit/test_scram.c;
- `openssl s_client` for protocol versions and cipher suites.
"""

import asyncio
import base64
import hashlib
import hmac
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from harness import NS_SASL, NS_STREAMS, NS_STREAM_ERR, TIMEOUT, free_port, to_xml, wait_until
from harness import describe as describe_event

try:                                    # tests/proto as a package
    from . import clients as C
except ImportError:                     # tests/proto on sys.path
    import clients as C

try:
    from OpenSSL import SSL, crypto     # python3-openssl: tls-exporter
except ImportError:                     # pragma: no cover - depends on the system
    SSL = crypto = None

NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL_CB = "urn:xmpp:sasl-cb:0"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_IQ_AUTH = "jabber:iq:auth"
NS_IQ_AUTH_FEAT = "http://jabber.org/features/iq-auth"

PASSWORD = "correct horse battery staple"
ALL_MECHS = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}
PLUS_MECHS = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]
CB_TYPES = {"tls-exporter", "tls-server-end-point"}

needs_pyopenssl = pytest.mark.skipif(
    SSL is None, reason="python3-openssl (pyOpenSSL) is needed for tls-exporter")


def q(ns, name):
    return "{%s}%s" % (ns, name)


# ---- certificates ----

class Cert:
    def __init__(self, directory, name):
        self.name = name
        self.cert = os.path.join(directory, name + ".crt")
        self.key = os.path.join(directory, name + ".key")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-sha256", "-nodes", "-days", "825", "-subj", "/CN=" + name,
             "-addext", "subjectAltName=DNS:" + name,
             "-keyout", self.key, "-out", self.cert],
            check=True, capture_output=True, timeout=30)
        with open(self.cert) as f:
            self.der = ssl.PEM_cert_to_DER_cert(f.read())
        # RFC 5929 4.1: the certificate's signature hash (SHA-256 here).
        self.end_point = hashlib.sha256(self.der).digest()


class PKI:
    def __init__(self, directory):
        self.dir = directory
        self.localhost = Cert(directory, "localhost")
        self.example = Cert(directory, "example.test")
        self.cafile = os.path.join(directory, "ca.pem")
        with open(self.cafile, "w") as out:
            for c in (self.localhost, self.example):
                with open(c.cert) as f:
                    out.write(f.read())

    def context(self, max_version=None):
        """A client context that trusts exactly our two certificates and
        checks the host name."""
        ctx = ssl.create_default_context(cafile=self.cafile)
        if max_version is not None:
            ctx.maximum_version = max_version
        return ctx


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command line tool is needed (Debian package openssl)")
    return PKI(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def tls_server(server_factory, pki):
    """Listener 0: STARTTLS (required); listener 1: direct TLS (-T).
    alice@localhost has an account."""
    s = server_factory(listeners=2, listener_args=[[], ["-T"]],
                       tls_cert=pki.localhost.cert, tls_key=pki.localhost.key,
                       allow_plaintext_auth=False)
    s.adduser("alice@localhost", PASSWORD)
    return s


# ---- raw clients over TLS ----

class OpenSSLSock:
    """What harness.Raw needs of a socket (recv, sendall, settimeout, close)
    over a pyOpenSSL connection, which, unlike Python's ssl, can export
    keying material (RFC 9266 tls-exporter). Non-blocking underneath, every
    wait bounded by the timeout."""

    def __init__(self, sock, cafile, server_hostname, timeout=TIMEOUT):
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.load_verify_locations(cafile)
        ctx.set_verify(SSL.VERIFY_PEER, lambda conn, cert, errno, depth, ok: bool(ok))
        sock.setblocking(False)
        self.sock = sock
        self.timeout = timeout
        self.conn = SSL.Connection(ctx, sock)
        self.conn.set_tlsext_host_name(server_hostname.encode())
        self.conn.set_connect_state()
        self._io(self.conn.do_handshake)

    def _io(self, fn, *args):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return fn(*args)
            except SSL.WantReadError:
                r, w = [self.sock], []
            except SSL.WantWriteError:
                r, w = [], [self.sock]
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("TLS operation timed out")
            select.select(r, w, [], left)

    def settimeout(self, t):
        self.timeout = TIMEOUT if t is None else t

    def recv(self, n):
        try:
            return self._io(self.conn.recv, n)
        except SSL.ZeroReturnError:
            return b""
        except SSL.SysCallError as e:
            if e.args and e.args[0] == -1:      # EOF without close_notify
                return b""
            raise ConnectionResetError(str(e))

    def sendall(self, data):
        while data:
            n = self._io(self.conn.send, data)
            data = data[n:]

    def close(self):
        try:
            self.conn.shutdown()
        except SSL.Error:
            pass
        self.sock.close()

    def exporter(self):
        return self.conn.export_keying_material(b"EXPORTER-Channel-Binding", 32)

    def peer_der(self):
        return crypto.dump_certificate(crypto.FILETYPE_ASN1, self.conn.get_peer_certificate())

    def version(self):
        return self.conn.get_protocol_version_name()


def wrap(raw, pki, sni="localhost", lib="ssl", max_version=None):
    """Replace raw's socket by a TLS client on it (handshake done)."""
    if lib == "ssl":
        raw.sock = pki.context(max_version).wrap_socket(raw.sock, server_hostname=sni)
    else:
        raw.sock = OpenSSLSock(raw.sock, pki.cafile, sni)
    return raw


def starttls(server, pki, to="localhost", sni=None, lib="ssl", max_version=None, listener=0):
    """A Raw client that negotiated STARTTLS; returns (raw, features before
    TLS, features after TLS)."""
    raw = server.raw(listener)
    before = raw.open(to)
    assert before.find(q(NS_TLS, "starttls")) is not None, features_xml(before)
    raw.send("<starttls xmlns='%s'/>" % NS_TLS)
    raw.expect("<proceed xmlns='%s'/>" % NS_TLS)
    wrap(raw, pki, sni or to, lib, max_version)
    raw.restart()
    after = raw.open(to)
    return raw, before, after


def direct(server, pki, to="localhost", sni=None, lib="ssl", max_version=None, listener=1):
    """A Raw client on the direct TLS listener; returns (raw, features)."""
    raw = server.raw(listener)
    wrap(raw, pki, sni or to, lib, max_version)
    return raw, raw.open(to)


def peer_der(raw):
    if isinstance(raw.sock, ssl.SSLSocket):
        return raw.sock.getpeercert(binary_form=True)
    return raw.sock.peer_der()


def tls_version(raw):
    return raw.sock.version()


def features_xml(f):
    return to_xml(f)


def mechanisms(features):
    m = features.find(q(NS_SASL, "mechanisms"))
    return None if m is None else {e.text for e in m.findall(q(NS_SASL, "mechanism"))}


def cb_types(features):
    cb = features.find(q(NS_SASL_CB, "sasl-channel-binding"))
    return None if cb is None else {e.get("type") for e in cb.findall(q(NS_SASL_CB, "channel-binding"))}


# ---- a SCRAM client (RFC 5802) ----

def b64(data):
    return base64.b64encode(data).decode()


NS_SASL2 = "urn:xmpp:sasl:2"


def scram(raw, user, password, mech, gs2="n,,", cb_data=b"", sasl2=None, out=None):
    """Run one SCRAM exchange on raw. Returns ("success", server signature
    verified?) or ("failure", condition). gs2 is the whole gs2 header
    ("p=tls-exporter,," for -PLUS), cb_data the channel-binding data that
    goes into c= after it. sasl2: run it in SASL2's elements (XEP-0388),
    with this XML (user agent, bind ...) inside <authenticate/>; out (a
    dict) then gets the last element as "el"."""
    h = hashlib.sha256 if "SHA-256" in mech else hashlib.sha1
    hname = "sha256" if h is hashlib.sha256 else "sha1"
    ns = NS_SASL if sasl2 is None else NS_SASL2
    cnonce = b64(os.urandom(18))
    first_bare = "n=%s,r=%s" % (user, cnonce)
    first = b64((gs2 + first_bare).encode())
    if sasl2 is None:
        raw.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (NS_SASL, mech, first))
    else:
        raw.send("<authenticate xmlns='%s' mechanism='%s'><initial-response>%s</initial-response>"
                 "%s</authenticate>" % (NS_SASL2, mech, first, sasl2))
    ev, el = raw.next()
    assert ev == "element", (ev, el)
    if out is not None:
        out["el"] = el
    if el.tag == q(ns, "failure"):
        return ("failure", condition(el))
    assert el.tag == q(ns, "challenge"), features_xml(el)
    server_first = base64.b64decode(el.text).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(cnonce), server_first
    salted = hashlib.pbkdf2_hmac(hname, password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored_key = h(client_key).digest()
    without_proof = "c=%s,r=%s" % (b64(gs2.encode() + cb_data), attrs["r"])
    auth_message = ",".join([first_bare, server_first, without_proof]).encode()
    signature = hmac.new(stored_key, auth_message, h).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    raw.send("<response xmlns='%s'>%s</response>" % (
        ns, b64((without_proof + ",p=" + b64(proof)).encode())))
    ev, el = raw.next()
    assert ev == "element", (ev, el)
    if out is not None:
        out["el"] = el
    if el.tag == q(ns, "failure"):
        return ("failure", condition(el))
    assert el.tag == q(ns, "success"), features_xml(el)
    server_key = hmac.new(salted, b"Server Key", h).digest()
    want = "v=" + b64(hmac.new(server_key, auth_message, h).digest())
    data = el.text if sasl2 is None else el.findtext(q(NS_SASL2, "additional-data"))
    return ("success", base64.b64decode(data or "").decode() == want)


def condition(el):
    kids = [c for c in el if c.tag != q(el.tag[1:].split("}")[0], "text")]
    return kids[0].tag.split("}")[1] if kids else None


def plain(raw, user, password):
    raw.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (
        NS_SASL, b64(b"\0" + user.encode() + b"\0" + password.encode())))
    ev, el = raw.next()
    assert ev == "element", (ev, el)
    return ("success", True) if el.tag == q(NS_SASL, "success") else ("failure", condition(el))


def bind(raw, to="localhost", resource="tls"):
    """After SASL success: restart the stream and bind; the bound JID."""
    raw.restart()
    f = raw.open(to)
    assert f.find(q(NS_BIND, "bind")) is not None, features_xml(f)
    raw.send("<iq type='set' id='b1'><bind xmlns='%s'><resource>%s</resource></bind></iq>"
             % (NS_BIND, resource))
    ev, el = raw.next()
    assert ev == "element" and el.get("type") == "result", features_xml(el)
    return el.find(q(NS_BIND, "bind")).find(q(NS_BIND, "jid")).text


def cb_data(raw, cb_type):
    if cb_type == "tls-server-end-point":
        return hashlib.sha256(peer_der(raw)).digest()
    return raw.sock.exporter()


def describe(server, *what):
    return "%r\n--- handler log (tail) ---\n%s" % (what, server.log()[-3000:])


# ---- (d) features before and after TLS ----

@pytest.mark.parametrize("lib", ["ssl", pytest.param("pyopenssl", marks=needs_pyopenssl)])
def test_features_before_and_after_starttls(tls_server, pki, lib):
    """TLS required: before TLS the only feature is <starttls><required/>
    (RFC 6120 5.3.1: no mechanisms that could be used in clear); after it
    no <starttls/> (5.4.3.3), every mechanism including -PLUS, and both
    XEP-0440 channel-binding types on TLS 1.3."""
    raw, before, after = starttls(tls_server, pki, lib=lib)
    kids = list(before)
    assert [k.tag for k in kids] == [q(NS_TLS, "starttls")], features_xml(before)
    assert [k.tag for k in kids[0]] == [q(NS_TLS, "required")], features_xml(before)
    assert tls_version(raw) == "TLSv1.3"
    assert peer_der(raw) == pki.localhost.der
    assert after.find(q(NS_TLS, "starttls")) is None, features_xml(after)
    assert mechanisms(after) == ALL_MECHS, features_xml(after)
    assert cb_types(after) == CB_TYPES, features_xml(after)


def test_features_direct_tls(tls_server, pki):
    """Direct TLS: the first stream is already secure (XEP-0368)."""
    raw, f = direct(tls_server, pki)
    assert tls_version(raw) == "TLSv1.3"
    assert f.find(q(NS_TLS, "starttls")) is None, features_xml(f)
    assert mechanisms(f) == ALL_MECHS, features_xml(f)
    assert cb_types(f) == CB_TYPES, features_xml(f)


def test_listener_spawns_direct_tls_by_socket_name(server_factory, pki):
    """Through xmpp-listen, a socket named "xmpps" (FileDescriptorName=,
    as xmpps-listen.socket sets it) gets handlers with -T: TLS from the
    first byte, and a SCRAM login over it; the other socket, "xmpp",
    offers STARTTLS."""
    s = server_factory(listeners=2, listen=[], listen_fdnames=["xmpp", "xmpps"],
                       tls_cert=pki.localhost.cert, tls_key=pki.localhost.key,
                       allow_plaintext_auth=False)
    s.adduser("alice@localhost", PASSWORD)
    raw, f = direct(s, pki)
    assert f.find(q(NS_TLS, "starttls")) is None, features_xml(f)
    assert mechanisms(f) == ALL_MECHS, features_xml(f)
    assert scram(raw, "alice", PASSWORD, "SCRAM-SHA-256")[0] == "success"
    plain = s.raw(0)
    f0 = plain.open("localhost")
    assert f0.find(q(NS_TLS, "starttls")) is not None, features_xml(f0)


def test_features_tls12_no_exporter(tls_server, pki):
    """On TLS 1.2 tls-exporter is not offered (RFC 9266 3: only with the
    extended master secret, which the server does not rely on), so a
    -PLUS client must use tls-server-end-point; asking for tls-exporter
    fails."""
    raw, _, after = starttls(tls_server, pki, max_version=ssl.TLSVersion.TLSv1_2)
    assert tls_version(raw) == "TLSv1.2"
    assert cb_types(after) == {"tls-server-end-point"}, features_xml(after)
    assert {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"} <= mechanisms(after), features_xml(after)
    r = scram(raw, "alice", PASSWORD, "SCRAM-SHA-256-PLUS", gs2="p=tls-exporter,,",
              cb_data=b"\0" * 32)
    assert r[0] == "failure", r
    r = scram(raw, "alice", PASSWORD, "SCRAM-SHA-256-PLUS", gs2="p=tls-server-end-point,,",
              cb_data=cb_data(raw, "tls-server-end-point"))
    assert r == ("success", True), describe(tls_server, r)


# ---- (a) slixmpp over STARTTLS, (b) over direct TLS ----

def without_channel_binding(c):
    """Make slixmpp a client that cannot bind (gs2 flag 'n'), like most
    clients today. slixmpp 1.8.3 binds only with tls-unique, which RFC 9266
    rules out on TLS 1.3 and xmppd does not offer; and whenever it has
    tls-unique data it sends 'y' with a -PLUS-less SCRAM, which RFC 5802 6
    requires a server that advertised -PLUS to refuse (xmppd does, as does
    Prosody). test_slixmpp_own_choice_over_tls covers that untouched path."""
    fm = c.xmpp["feature_mechanisms"]
    orig = fm.sasl_callback

    def credentials(required, optional):
        creds = orig(required, optional)
        if "channel_binding" in creds:
            creds["channel_binding"] = b""
        return creds
    fm.sasl_callback = credentials


async def slix_login(port, jid, password, pki, mech=None, use_ssl=False, timeout=C.TIMEOUT,
                     channel_binding=False):
    """C.Client.login, but with TLS: STARTTLS forced (or direct TLS), the
    certificate checked against ours, and PLAIN allowed only inside TLS."""
    c = C.Client(jid, password, mech=mech, allow_plain=False)
    if not channel_binding:
        without_channel_binding(c)
    c.xmpp.ca_certs = pki.localhost.cert
    tls = {}
    c.xmpp.add_event_handler("ssl_cert", lambda pem: tls.setdefault("pem", pem))
    c.xmpp.connect(address=(C.HOST, port), use_ssl=use_ssl,
                   force_starttls=not use_ssl, disable_starttls=use_ssl)
    try:
        await asyncio.wait_for(asyncio.shield(c._done), timeout)
    except asyncio.TimeoutError:
        c.outcome.timed_out = True
    obj = c.xmpp.transport.get_extra_info("ssl_object") if c.xmpp.transport else None
    c.tls_version = obj.version() if obj else None
    c.peer_der = obj.getpeercert(binary_form=True) if obj else None
    return c


def slix_once(port, pki, mech, use_ssl=False, jid="alice@localhost/slix", channel_binding=False):
    async def go():
        c = await slix_login(port, jid, PASSWORD, pki, mech=mech, use_ssl=use_ssl,
                             channel_binding=channel_binding)
        if c.connected:
            await c.close(timeout=5)
        return c
    return C.run(go, timeout=60)


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "PLAIN"])
def test_slixmpp_starttls(tls_server, pki, mech):
    c = slix_once(tls_server.ports[0], pki, mech)
    o = c.outcome
    assert o.session_started and o.mechanism == mech and not o.failed_auth, describe(tls_server, o)
    assert c.tls_version == "TLSv1.3", c.tls_version
    assert c.peer_der == pki.localhost.der
    assert mech in o.offered_mechs and "SCRAM-SHA-256-PLUS" in o.offered_mechs, o.offered_mechs


@pytest.mark.parametrize("mech", ["SCRAM-SHA-1", "PLAIN"])
def test_slixmpp_direct_tls(tls_server, pki, mech):
    c = slix_once(tls_server.ports[1], pki, mech, use_ssl=True)
    o = c.outcome
    assert o.session_started and o.mechanism == mech and not o.failed_auth, describe(tls_server, o)
    assert c.tls_version == "TLSv1.3", c.tls_version
    assert c.peer_der == pki.localhost.der


def test_slixmpp_own_choice_over_tls(tls_server, pki):
    """slixmpp 1.8.3 untouched and left to choose (INTEROP.md: offering
    -PLUS must not lock out clients that do not bind properly): it tries
    SCRAM-SHA-256-PLUS and SCRAM-SHA-1-PLUS with tls-unique (not offered:
    refused), then SCRAM-SHA-256 and SCRAM-SHA-1 with the 'y' flag (a
    downgrade to a server that advertised -PLUS: refused), and gets in
    with PLAIN inside TLS, the fifth attempt, within the failure budget."""
    c = slix_once(tls_server.ports[0], pki, None, channel_binding=True)
    o = c.outcome
    assert o.session_started and not o.timed_out, describe(tls_server, o)
    assert o.mechanism == "PLAIN", o
    assert c.tls_version == "TLSv1.3"


# ---- (c) channel binding with a SCRAM client of our own ----

@pytest.mark.parametrize("mech", PLUS_MECHS)
@pytest.mark.parametrize("how", ["starttls", "direct"])
def test_plus_tls_server_end_point(tls_server, pki, mech, how):
    raw = starttls(tls_server, pki)[0] if how == "starttls" else direct(tls_server, pki)[0]
    data = cb_data(raw, "tls-server-end-point")
    assert data == pki.localhost.end_point
    r = scram(raw, "alice", PASSWORD, mech, gs2="p=tls-server-end-point,,", cb_data=data)
    assert r == ("success", True), describe(tls_server, r)
    assert bind(raw) == "alice@localhost/tls"


@needs_pyopenssl
@pytest.mark.parametrize("mech", PLUS_MECHS)
@pytest.mark.parametrize("how", ["starttls", "direct"])
def test_plus_tls_exporter(tls_server, pki, mech, how):
    if how == "starttls":
        raw = starttls(tls_server, pki, lib="pyopenssl")[0]
    else:
        raw = direct(tls_server, pki, lib="pyopenssl")[0]
    assert tls_version(raw) == "TLSv1.3"
    r = scram(raw, "alice", PASSWORD, mech, gs2="p=tls-exporter,,",
              cb_data=cb_data(raw, "tls-exporter"))
    assert r == ("success", True), describe(tls_server, r)
    assert bind(raw) == "alice@localhost/tls"


@pytest.mark.parametrize("cb_type", ["tls-server-end-point",
                                     pytest.param("tls-exporter", marks=needs_pyopenssl)])
@pytest.mark.parametrize("mech", PLUS_MECHS)
def test_plus_wrong_binding_refused(tls_server, pki, mech, cb_type):
    """Right password, wrong channel-binding data (a man in the middle
    would see other TLS data): not-authorized. The stream stays usable
    and the right binding still works."""
    raw = starttls(tls_server, pki, lib="ssl" if cb_type == "tls-server-end-point"
                   else "pyopenssl")[0]
    good = cb_data(raw, cb_type)
    bad = bytes([good[0] ^ 1]) + good[1:]
    r = scram(raw, "alice", PASSWORD, mech, gs2="p=%s,," % cb_type, cb_data=bad)
    assert r == ("failure", "not-authorized"), describe(tls_server, r)
    r = scram(raw, "alice", PASSWORD, mech, gs2="p=%s,," % cb_type, cb_data=good)
    assert r == ("success", True), describe(tls_server, r)


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_downgrade_y_flag_refused(tls_server, pki, mech):
    """RFC 5802 6: a client that supports channel binding but did not see
    -PLUS sends 'y'; the server advertised -PLUS, so someone removed it
    from the features: fail (with the right password)."""
    raw = starttls(tls_server, pki)[0]
    r = scram(raw, "alice", PASSWORD, mech, gs2="y,,")
    assert r[0] == "failure", describe(tls_server, r)
    # 'n' (the client cannot bind) is fine inside TLS
    r = scram(raw, "alice", PASSWORD, mech, gs2="n,,")
    assert r == ("success", True), describe(tls_server, r)


def test_plus_protocol_errors(tls_server, pki):
    """-PLUS with 'n' (no binding) or a type the server does not offer
    (tls-unique, RFC 9266 4) fails without ending the stream; 'p=' with a
    -PLUS-less mechanism is malformed."""
    raw = starttls(tls_server, pki)[0]
    for mech, gs2 in [("SCRAM-SHA-256-PLUS", "n,,"), ("SCRAM-SHA-256-PLUS", "y,,"),
                      ("SCRAM-SHA-1-PLUS", "p=tls-unique,,"),
                      ("SCRAM-SHA-256", "p=tls-server-end-point,,")]:
        r = scram(raw, "alice", PASSWORD, mech, gs2=gs2, cb_data=b"\0" * 32)
        assert r[0] == "failure", (mech, gs2, r)
    r = scram(raw, "alice", PASSWORD, "SCRAM-SHA-256")
    assert r == ("success", True), describe(tls_server, r)


def test_tls_optional_with_plaintext_auth(server_factory, pki):
    """(g) With a certificate and allow_plaintext_auth = yes: STARTTLS is
    offered without <required/>, PLAIN and the SCRAMs are offered in clear,
    -PLUS and <sasl-channel-binding/> only after TLS."""
    s = server_factory(tls_cert=pki.localhost.cert, tls_key=pki.localhost.key,
                       allow_plaintext_auth=True)
    s.adduser("alice@localhost", PASSWORD)
    raw = s.raw()
    f = raw.open()
    st = f.find(q(NS_TLS, "starttls"))
    assert st is not None and st.find(q(NS_TLS, "required")) is None, features_xml(f)
    assert mechanisms(f) == {"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}, features_xml(f)
    assert cb_types(f) is None, features_xml(f)
    r = scram(raw, "alice", PASSWORD, "SCRAM-SHA-256-PLUS", gs2="p=tls-server-end-point,,")
    assert r == ("failure", "encryption-required"), r
    r = plain(raw, "alice", PASSWORD)
    assert r == ("success", True), describe(s, r)
    raw.close()
    # the same server, through STARTTLS
    raw, _, after = starttls(s, pki)
    assert mechanisms(after) == ALL_MECHS, features_xml(after)
    assert cb_types(after) == CB_TYPES, features_xml(after)


# ---- (e) no authentication in clear when TLS is required ----

@pytest.mark.parametrize("attempt,answer", [
    ("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (
        NS_SASL, b64(b"\0alice\0" + PASSWORD.encode())), "encryption-required"),
    ("<auth xmlns='%s' mechanism='SCRAM-SHA-256'>%s</auth>" % (
        NS_SASL, b64(b"n,,n=alice,r=abcdefghijklmnop")), "encryption-required"),
    ("<iq type='set' id='a1'><query xmlns='%s'><username>alice</username>"
     "<password>%s</password><resource>r</resource></query></iq>" % (NS_IQ_AUTH, PASSWORD),
     "not-authorized"),
    ("<message to='bob@localhost'><body>hi</body></message>", "not-authorized"),
    ("<presence/>", "not-authorized"),
], ids=["sasl-plain", "sasl-scram", "iq-auth-password", "message", "presence"])
def test_auth_before_starttls_refused(tls_server, attempt, answer):
    """RFC 6120 5.3.1: TLS is mandatory-to-negotiate. A SASL <auth/>
    before it names a mechanism that is not offered: <failure> with
    <encryption-required/> (RFC 6120 6.4.5), the stream stays open for
    STARTTLS. A stanza before authentication (iq:auth included) is a
    <not-authorized/> stream error (RFC 6120 4.9.3.12, as Prosody and
    ejabberd answer). Nothing is authenticated either way."""
    raw = tls_server.raw()
    raw.open()
    raw.send(attempt)
    ev, el = raw.next()
    if answer == "encryption-required":
        assert ev == "element" and el.tag == q(NS_SASL, "failure"), (ev, features_xml(el))
        assert el.find(q(NS_SASL, answer)) is not None, features_xml(el)
        raw.send("<starttls xmlns='%s'/>" % NS_TLS)
        raw.expect("<proceed xmlns='%s'/>" % NS_TLS)
    else:
        assert ev == "element" and el.tag == q(NS_STREAMS, "error"), (ev, el)
        assert el.find(q(NS_STREAM_ERR, answer)) is not None, features_xml(el)
        raw.expect("</stream:stream>")
    assert "login ok" not in tls_server.log()


@pytest.mark.parametrize("plaintext_ok", [False, True], ids=["tls-required", "tls-optional"])
def test_plaintext_after_starttls_discarded(server_factory, pki, plaintext_ok):
    """RFC 6120 5.4.3.3: what the client sent in clear after <starttls/>
    must be discarded, not become the first bytes of the secured stream.
    Here a man in the middle appends a stream header and a PLAIN <auth/>
    for his own account (the STARTTLS command injection of CVE-2011-0411):
    the server must answer none of it, in clear or after TLS, and the
    client's own stream after TLS must start unauthenticated."""
    s = server_factory(tls_cert=pki.localhost.cert, tls_key=pki.localhost.key,
                       allow_plaintext_auth=plaintext_ok)
    s.adduser("mallory@localhost", PASSWORD)
    raw = s.raw()
    raw.open()
    raw.send("<starttls xmlns='%s'/><stream:stream to='localhost' xmlns='jabber:client' "
             "xmlns:stream='%s' version='1.0'><auth xmlns='%s' mechanism='PLAIN'>%s</auth>"
             % (NS_TLS, NS_STREAMS, NS_SASL, b64(b"\0mallory\0" + PASSWORD.encode())))
    raw.expect("<proceed xmlns='%s'/>" % NS_TLS)
    # After <proceed/> the server must send nothing in clear: it waits for
    # the ClientHello.
    raw.sock.settimeout(0.5)
    try:
        leaked = raw.sock.recv(65536, socket.MSG_PEEK)
    except socket.timeout:
        leaked = b""
    leaked = b"".join(describe_event(*e).encode() for e in raw.events) + leaked
    assert not leaked, "server answered bytes sent after <starttls/>, in clear: %r\n%s" % (
        leaked, s.log()[-2000:])
    wrap(raw, pki)
    raw.restart()
    f = raw.open()
    assert f.find(q(NS_BIND, "bind")) is None, "authenticated by injected plaintext: " + \
        features_xml(f)
    assert mechanisms(f) == ALL_MECHS, features_xml(f)
    assert "login ok" not in s.log(), s.log()[-2000:]


def test_iq_auth_password_inside_tls(tls_server, pki):
    """Legacy XEP-0078 login with <password/> is plaintext authentication
    like PLAIN: allowed inside TLS even with allow_plaintext_auth = no."""
    raw = starttls(tls_server, pki)[0]
    raw.send("<iq type='get' id='g1'><query xmlns='%s'><username>alice</username></query></iq>"
             % NS_IQ_AUTH)
    ev, el = raw.next()
    assert ev == "element" and el.get("type") == "result", features_xml(el)
    fields = {c.tag for c in el.find(q(NS_IQ_AUTH, "query"))}
    assert q(NS_IQ_AUTH, "password") in fields, features_xml(el)
    raw.send("<iq type='set' id='s1'><query xmlns='%s'><username>alice</username>"
             "<password>%s</password><resource>legacy</resource></query></iq>"
             % (NS_IQ_AUTH, PASSWORD))
    ev, el = raw.next()
    assert ev == "element" and el.get("type") == "result", describe(tls_server, features_xml(el))


def test_starttls_twice_refused(tls_server, pki):
    raw = starttls(tls_server, pki)[0]
    raw.send("<starttls xmlns='%s'/>" % NS_TLS)
    ev, el = raw.next()
    assert ev == "element" and el.tag == q(NS_STREAMS, "error"), (ev, el)
    raw.expect("</stream:stream>")


# ---- (f) protocol versions and cipher suites, with openssl s_client ----

def s_client(port, *args, starttls=True, env=None):
    """Run openssl s_client -brief against 127.0.0.1:port; (connected?,
    protocol, cipher, output)."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-brief",
           "-servername", "localhost"]
    if starttls:
        cmd += ["-starttls", "xmpp", "-xmpphost", "localhost"]
    p = subprocess.run(cmd + list(args), input=b"", capture_output=True, timeout=30,
                       env=env)
    out = (p.stdout + p.stderr).decode(errors="replace")
    proto = re.search(r"Protocol version: (\S+)", out)
    cipher = re.search(r"Ciphersuite: (\S+)", out)
    return ("CONNECTION ESTABLISHED" in out, proto and proto.group(1),
            cipher and cipher.group(1), out)


# Debian's /etc/ssl/openssl.cnf sets MinProtocol = TLSv1.2 and SECLEVEL 2
# for every client: without this, s_client would refuse TLS 1.1 itself
# and the test could not tell what the server does.
OLD_CLIENT_ENV = dict(os.environ, OPENSSL_CONF="/dev/null")
OLD_CLIENT = ["-cipher", "DEFAULT:@SECLEVEL=0"]


@pytest.mark.parametrize("how", ["starttls", "direct"])
def test_s_client_tls13(tls_server, how):
    ok, proto, cipher, out = s_client(tls_server.ports[0 if how == "starttls" else 1],
                                      starttls=how == "starttls")
    assert ok and proto == "TLSv1.3", out


@pytest.mark.parametrize("how", ["starttls", "direct"])
def test_s_client_tls12_ecdhe_aead(tls_server, how):
    port = tls_server.ports[0 if how == "starttls" else 1]
    ok, proto, cipher, out = s_client(port, "-tls1_2", starttls=how == "starttls")
    assert ok and proto == "TLSv1.2", out
    assert re.fullmatch(r"ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)",
                        cipher or ""), out
    # and a CBC (non-AEAD) suite the certificate could serve is refused
    ok, proto, cipher, out = s_client(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256",
                                      starttls=how == "starttls")
    assert not ok, out


def test_s_client_tls11_refused(tls_server, pki):
    """TLS 1.1 is refused. First a control: the same client settings do
    get TLS 1.1 from an openssl s_server that allows it, so the refusal
    is the server's."""
    port = free_port()
    srv = subprocess.Popen(
        ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-naccept", "1",
         "-cert", pki.localhost.cert, "-key", pki.localhost.key, "-tls1_1"] + OLD_CLIENT,
        env=OLD_CLIENT_ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        # s_server serves one connection (-naccept 1): rather than probe
        # the port, wait for the ACCEPT line it prints once listening.
        lines = []
        while not any("ACCEPT" in l for l in lines):
            line = srv.stdout.readline().decode(errors="replace")
            assert line, "openssl s_server did not start: %s" % "".join(lines)
            lines.append(line)
        ok, proto, _, out = s_client(port, "-tls1_1", *OLD_CLIENT, starttls=False,
                                     env=OLD_CLIENT_ENV)
        assert ok and proto == "TLSv1.1", "control failed: " + out
    finally:
        if srv.poll() is None:
            srv.kill()
        srv.wait()
    for port, st in [(tls_server.ports[0], True), (tls_server.ports[1], False)]:
        ok, proto, _, out = s_client(port, "-tls1_1", *OLD_CLIENT, starttls=st,
                                     env=OLD_CLIENT_ENV)
        assert not ok and proto is None, out


# ---- (h) a certificate that cannot be loaded ----

def test_missing_certificate(server_factory, pki, tmp_path):
    missing = str(tmp_path / "no-such-cert.pem")
    s = server_factory(listeners=2, listener_args=[[], ["-T"]],
                       tls_cert=missing, tls_key=pki.localhost.key, allow_plaintext_auth=False)
    raw = s.raw()
    f = raw.open()
    assert f.find(q(NS_TLS, "starttls")) is not None, features_xml(f)
    raw.send("<starttls xmlns='%s'/>" % NS_TLS)
    raw.expect("<failure xmlns='%s'/>" % NS_TLS)
    raw.expect("</stream:stream>")
    wait_until(lambda: "STARTTLS refused" in s.log(), what="the STARTTLS refusal in the log")
    line = [l for l in s.log().splitlines() if "STARTTLS refused" in l][0]
    assert missing in line, line
    # direct TLS: nothing to say to the client; the handler logs and exits
    raw = s.raw(1)
    with pytest.raises((ssl.SSLError, OSError)):
        wrap(raw, pki)
        raw.open()
    wait_until(lambda: "direct TLS" in s.log() and missing in s.log().split("direct TLS", 1)[1],
               what="the direct TLS failure in the log")
    # stop() fails the test on any sanitizer report


def test_certificate_from_credentials_directory(server_factory, pki, tmp_path):
    """Relative tls_cert/tls_key are looked up in $CREDENTIALS_DIRECTORY
    (what systemd's LoadCredential= sets)."""
    creds = tmp_path / "creds"
    creds.mkdir()
    shutil.copy(pki.localhost.cert, creds / "xmpp.pem")
    shutil.copy(pki.localhost.key, creds / "xmpp.key")
    s = server_factory(handler_env={"CREDENTIALS_DIRECTORY": str(creds)},
                       tls_cert="xmpp.pem", tls_key="xmpp.key", allow_plaintext_auth=False)
    raw, _, after = starttls(s, pki)
    assert peer_der(raw) == pki.localhost.der
    assert mechanisms(after) == ALL_MECHS


# ---- (i) SNI: one certificate per domain ----

def sni_factory(server_factory, pki, default_cert=False):
    conf = {"domain": "localhost example.test", "allow_plaintext_auth": False}
    if default_cert:
        conf.update(tls_cert=pki.localhost.cert, tls_key=pki.localhost.key)
    s = server_factory(listeners=2, listener_args=[[], ["-T"]], **conf)
    # two tls_domain lines: the harness writes one line per key, so append
    with open(s.conf_path, "a") as f:
        f.write("tls_domain = example.test %s %s\n" % (pki.example.cert, pki.example.key))
        f.write("tls_domain = localhost %s %s\n" % (pki.localhost.cert, pki.localhost.key))
    s.adduser("alice@localhost", PASSWORD)
    s.adduser("bob@example.test", PASSWORD)
    return s


@pytest.mark.parametrize("how", ["starttls", "direct"])
@pytest.mark.parametrize("domain", ["localhost", "example.test"])
def test_sni_picks_certificate(server_factory, pki, how, domain):
    """Each served domain gets its own certificate by SNI (the handler
    reads xmpp.conf per connection, so lines appended after start count),
    and tls-server-end-point binds to the certificate actually sent."""
    s = sni_factory(server_factory, pki)
    cert = pki.localhost if domain == "localhost" else pki.example
    if how == "starttls":
        raw, _, after = starttls(s, pki, to=domain)
    else:
        raw, after = direct(s, pki, to=domain)
    assert peer_der(raw) == cert.der, "wrong certificate for SNI %s" % domain
    user = "alice" if domain == "localhost" else "bob"
    r = scram(raw, user, PASSWORD, "SCRAM-SHA-256-PLUS", gs2="p=tls-server-end-point,,",
              cb_data=cert.end_point)
    assert r == ("success", True), describe(s, r)
    assert bind(raw, to=domain) == "%s@%s/tls" % (user, domain)


def test_sni_s_client_cn(server_factory, pki):
    s = sni_factory(server_factory, pki, default_cert=True)
    for name in ("example.test", "localhost"):
        p = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.ports[1],
             "-servername", name, "-brief"],
            input=b"", capture_output=True, timeout=30)
        out = (p.stdout + p.stderr).decode(errors="replace")
        assert re.search(r"Peer certificate: CN ?= ?%s\b" % re.escape(name), out), out


def test_slixmpp_own_choice_repeated(server_factory, pki):
    """The fallback of test_slixmpp_own_choice_over_tls costs slixmpp four
    refused SCRAM attempts per login, before any password is checked. A
    client that reconnects (a bot, a phone) must still get in on its
    fourth login from the same address: such refusals must not count as
    failed logins of the address (auth_block_after)."""
    s = server_factory(listeners=1, tls_cert=pki.localhost.cert, tls_key=pki.localhost.key,
                       allow_plaintext_auth=False, auth_fail_delay_ms=0)
    s.adduser("alice@localhost", PASSWORD)
    for i in range(4):
        c = slix_once(s.ports[0], pki, None, channel_binding=True,
                      jid="alice@localhost/r%d" % i)
        o = c.outcome
        assert o.session_started, "login %d: %s" % (i + 1, describe(s, o))
