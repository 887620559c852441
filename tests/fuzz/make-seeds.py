#!/usr/bin/env python3
"""make-seeds.py - write the seed corpora tests/fuzz/corpus/{stream,xml}/.

Seeds are real client traffic: the C: lines of every transcript in
tests/proto/transcripts/*.xmpp, and hand-written sessions of the clients
xmppd serves (legacy iq:auth, SASL PLAIN and SCRAM with binding, roster,
presence, subscriptions, messages and IQs; a slixmpp-like login).

fuzz_stream replaces getrandom(2) with splitmix64 seeded afresh per input
(fuzz_common.h); this file has its twin, so it knows every stream id and
server nonce in advance and can write a valid XEP-0078 digest and a valid
SCRAM proof for the fake accounts (password "secret", salt FAKE_SALT,
FAKE_ITERATIONS iterations: fake_router.h).

Input layout: fuzz_stream: fault byte, flags byte, chunk sizes, client
bytes; fuzz_xml: flags byte, chunk sizes, client bytes (fuzz_common.h).

Run from anywhere: python3 tests/fuzz/make-seeds.py
"""

import base64
import hashlib
import hmac
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TRANSCRIPTS = ROOT / "tests" / "proto" / "transcripts"

SEED = 0x786d707064          # FUZZ_RNG_SEED
SALT = b"xmppd-fuzz-salt!"   # FAKE_SALT
ITERATIONS = 8               # FAKE_ITERATIONS
PASSWORD = "secret"
MASK = (1 << 64) - 1


class Rng:
    """splitmix64 one byte at a time, as fuzz_rng_byte()."""

    def __init__(self, seed=SEED):
        self.state = seed
        self.buf = []

    def byte(self):
        if not self.buf:
            self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
            z = self.state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            z ^= z >> 31
            self.buf = [(z >> (8 * i)) & 0xff for i in range(8)]
        return self.buf.pop(0)

    def take(self, n):
        return bytes(self.byte() for _ in range(n))


def stream_ids_and_nonce():
    """The first stream id, the SCRAM server nonce drawn next, and the id
    of the stream after the restart (the order the handler draws them)."""
    r = Rng()
    id1 = r.take(12).hex()
    nonce = base64.b64encode(r.take(24)).decode()
    id2 = r.take(12).hex()
    return id1, nonce, id2


def digest(stream_id, password=PASSWORD):
    return hashlib.sha1((stream_id + password).encode()).hexdigest()


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def scram(hname, user, cnonce, snonce):
    """(client-first, client-final) for a SCRAM exchange that succeeds."""
    h = getattr(hashlib, hname)
    first_bare = "n=%s,r=%s" % (user, cnonce)
    server_first = "r=%s%s,s=%s,i=%d" % (cnonce, snonce, b64(SALT), ITERATIONS)
    final_wo = "c=%s,r=%s%s" % (b64("n,,"), cnonce, snonce)
    auth = ",".join((first_bare, server_first, final_wo)).encode()
    salted = hashlib.pbkdf2_hmac(hname, PASSWORD.encode(), SALT, ITERATIONS)
    ckey = hmac.new(salted, b"Client Key", h).digest()
    stored = h(ckey).digest()
    sig = hmac.new(stored, auth, h).digest()
    proof = bytes(a ^ b for a, b in zip(ckey, sig))
    return "n,," + first_bare, final_wo + ",p=" + b64(proof)


HEADER = ("<stream:stream to='localhost' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en'>")
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND = "urn:ietf:params:xml:ns:xmpp-bind"
PLAIN_ALICE = b64("\0alice\0secret")


def transcript_client_text(path, id1):
    """The C: steps of one transcript, as the harness sends them."""
    steps = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or line.startswith("@"):
            continue
        if line[:2] in ("C:", "S:"):
            steps.append([line[0], line[2:].lstrip()])
        elif steps:
            steps[-1][1] += "\n" + line
    out = []
    for who, text in steps:
        if who == "C":
            text = re.sub(r"\{digest:([^}]*)\}", lambda m: digest(id1, m.group(1)),
                          text.rstrip())
            out.append(text)
    return "\n".join(out)


def im_session():
    """Alice's IM life after binding: roster, presence, messages, IQs,
    roster changes and every kind of subscription presence."""
    return "".join([
        "<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
        "<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>",
        "<iq type='get' id='roster2'><query xmlns='jabber:iq:roster' ver='3'/></iq>",
        "<presence><show>chat</show><status>hello</status><priority>5</priority></presence>",
        "<message to='bob@localhost' type='chat' id='m1'><body>hi Bob &amp; co</body></message>",
        "<message to='bob@localhost/phone' type='chat' id='m2'><body>to the phone</body>"
        "<active xmlns='http://jabber.org/protocol/chatstates'/></message>",
        "<message to='bob@localhost/nowhere' type='normal' id='m3'><body>bounce</body></message>",
        "<message to='alice@localhost' id='m4'><body>note to self</body></message>",
        "<message to='alice@localhost/balcony' type='chat' id='m4b'><body>to me</body></message>",
        "<message to='test@localhost' type='chat' id='m5'><subject>s</subject><body>offline 1</body></message>",
        "<message to='test@localhost' type='headline' id='m6'><body>dropped</body></message>",
        "<message to='nobody@localhost' id='m7'><body>no such user</body></message>",
        "<message to='someone@remote.example' id='m8'><body>remote</body></message>",
        "<message to='localhost' id='m9'><body>to the server</body></message>",
        "<message type='groupchat' to='bob@localhost' id='m10'><body>gc</body></message>",
        "<iq type='iq' id='bad1'/>",
        "<iq type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq type='get' id='ping2' to='bob@localhost/phone'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq type='get' id='ping3' to='bob@localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq type='get' id='disco1' to='alice@localhost'>"
        "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
        "<iq type='get' id='disco2'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>",
        "<iq type='get' id='disco3' to='localhost'>"
        "<query xmlns='http://jabber.org/protocol/disco#info' node='x'/></iq>",
        "<iq type='get' id='ver1' to='localhost'><query xmlns='jabber:iq:version'/></iq>",
        "<iq type='result' id='xmppd-ack-0'/>",
        "<iq type='error' id='xmppd-ack-1'><error type='cancel'/></iq>",
        "<iq type='set' id='rs1'><query xmlns='jabber:iq:roster'><item jid='nurse@localhost' "
        "name='Nurse'><group>Servants</group><group>Capulets</group></item></query></iq>",
        "<iq type='set' id='rs2'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' "
        "name='Bobby' subscription='both'/></query></iq>",
        "<iq type='set' id='rs3'><query xmlns='jabber:iq:roster'><item jid='x@localhost'>"
        "<group>a</group><group>a</group></item></query></iq>",
        "<iq type='set' id='rs4'><query xmlns='jabber:iq:roster'><item jid='bad@@localhost'/></query></iq>",
        "<presence to='bob@localhost' type='subscribe' id='s1'><nick xmlns='http://jabber.org/protocol/nick'>Al</nick></presence>",
        "<presence to='eve@localhost' type='subscribed' id='s2'/>",
        "<presence to='dave@localhost' type='subscribe' id='s3'/>",
        "<presence to='carol@localhost' type='unsubscribed' id='s4'/>",
        "<presence to='bob@localhost' type='unsubscribe' id='s5'/>",
        "<presence to='test@localhost' type='subscribe' id='s6'/>",
        "<presence to='alice@localhost' type='subscribe'/>",
        "<presence to='remote@else.example' type='subscribe'/>",
        "<presence type='probe' to='bob@localhost'/>",
        "<presence to='bob@localhost/phone'><show>dnd</show></presence>",
        "<presence to='test@localhost'/>",
        "<presence type='error' to='bob@localhost'/>",
        "<presence type='bogus'/>",
        "<iq type='set' id='rr1'><query xmlns='jabber:iq:roster'><item jid='carol@localhost' "
        "subscription='remove'/></query></iq>",
        "<iq type='set' id='rr2'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' "
        "subscription='remove'/></query></iq>",
        "<iq type='set' id='rr3'><query xmlns='jabber:iq:roster'><item jid='nobody@localhost' "
        "subscription='remove'/></query></iq>",
        "<iq type='set' id='bind2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
        "<presence type='unavailable'><status>bye</status></presence>",
        "<presence/>",
        "</stream:stream>",
    ])


def bind(resource):
    return ("<iq type='set' id='bind1'><bind xmlns='%s'><resource>%s</resource></bind></iq>"
            % (BIND, resource))


def crafted(id1, nonce, id2):
    seeds = {}
    seeds["plain-im-full"] = (
        HEADER + "<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (SASL, PLAIN_ALICE) +
        HEADER + bind("balcony") + im_session())
    seeds["plain-bind-laptop-replace"] = (
        HEADER + "<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (SASL, PLAIN_ALICE) +
        HEADER + bind("laptop") +
        "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq><presence/>"
        "<message to='alice@localhost' type='chat'><body>x</body></message></stream:stream>")
    seeds["plain-empty-challenge"] = (
        HEADER + "<auth xmlns='%s' mechanism='PLAIN'/>" % SASL +
        "<response xmlns='%s'>%s</response>" % (SASL, PLAIN_ALICE) +
        HEADER + "<iq type='set' id='b'><bind xmlns='%s'/></iq>" % BIND +
        "<iq type='get' id='v' to='localhost'><query xmlns='jabber:iq:version'/></iq>"
        "<presence><priority>-1</priority></presence><presence type='unavailable'/>")
    seeds["legacy-password-im"] = (
        HEADER +
        "<iq type='get' id='auth0'><query xmlns='jabber:iq:auth'><username>alice</username></query></iq>"
        "<iq type='set' id='auth1'><query xmlns='jabber:iq:auth'><username>alice</username>"
        "<password>secret</password><resource>fuzz</resource></query></iq>" + im_session())
    seeds["legacy-digest"] = (
        HEADER +
        "<iq xmlns=\"jabber:client\" id=\"agsXMPP_2\" to=\"localhost\" type=\"set\">"
        "<query xmlns=\"jabber:iq:auth\"><username>alice</username><digest>%s</digest>"
        "<resource>MiniClient</resource></query></iq>" % digest(id1) +
        "<iq type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"
        "<presence/><message to='bob@localhost'><body>agsXMPP</body></message></stream:stream>")
    seeds["legacy-pre10-stream"] = (
        "<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams'>"
        "<iq type='set' id='a1'><query xmlns='jabber:iq:auth'><username>alice</username>"
        "<password>wrong</password><resource>old</resource></query></iq>"
        "<iq type='set' id='a2'><query xmlns='jabber:iq:auth'><username>alice</username>"
        "<password>secret</password><resource>old</resource></query></iq>"
        "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq><presence/></stream:stream>")
    for hname, mech in (("sha1", "SCRAM-SHA-1"), ("sha256", "SCRAM-SHA-256")):
        first, final = scram(hname, "alice", "fyko+d2lbbFgONRv9qkxdawL", nonce)
        seeds["scram-%s-im" % hname] = (
            HEADER + "<auth xmlns='%s' mechanism='%s'>%s</auth>" % (SASL, mech, b64(first)) +
            "<response xmlns='%s'>%s</response>" % (SASL, b64(final)) +
            HEADER + bind("scram") +
            "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>"
            "<presence/><message to='bob@localhost' type='chat'><body>scram</body></message>"
            "</stream:stream>")
    # slixmpp: double quotes, an XML declaration, SCRAM-SHA-1, a generated
    # resource, the session IQ, roster get, initial presence, disco.
    first, final = scram("sha1", "alice", "3fd71d3b8a0c4e7b9a4d5e6f70819203", nonce)
    slix_header = ("<?xml version='1.0'?><stream:stream to=\"localhost\" "
                   "xmlns:stream=\"http://etherx.jabber.org/streams\" xmlns=\"jabber:client\" "
                   "xml:lang=\"en\" version=\"1.0\" from=\"alice@localhost\">")
    seeds["slixmpp-login"] = (
        slix_header +
        "<auth xmlns=\"%s\" mechanism=\"SCRAM-SHA-1\">%s</auth>" % (SASL, b64(first)) +
        "<response xmlns=\"%s\">%s</response>" % (SASL, b64(final)) +
        slix_header.replace("<?xml version='1.0'?>", "") +
        "<iq id=\"8d3e1b6a1b8f4d3e9a1a0c2d3e4f5a6b\" type=\"set\"><bind xmlns=\"%s\" /></iq>" % BIND +
        "<iq id=\"9a1a\" type=\"set\"><session xmlns=\"urn:ietf:params:xml:ns:xmpp-session\" /></iq>"
        "<iq id=\"ab12\" type=\"get\"><query xmlns=\"jabber:iq:roster\" /></iq>"
        "<presence xml:lang=\"en\"><priority>0</priority></presence>"
        "<iq id=\"cd34\" type=\"get\" to=\"localhost\"><query xmlns=\"http://jabber.org/protocol/disco#info\" /></iq>"
        "<message to=\"bob@localhost\" type=\"chat\" id=\"ef56\"><body>slix</body>"
        "<request xmlns=\"urn:xmpp:receipts\" /></message>"
        "<iq type=\"result\" id=\"xmppd-ack-0\" to=\"localhost\" />"
        "<presence type=\"unavailable\" /></stream:stream>")
    seeds["scram-wrong-proof"] = (
        HEADER + "<auth xmlns='%s' mechanism='SCRAM-SHA-1'>%s</auth>" % (SASL, b64("n,,n=alice,r=abc")) +
        "<response xmlns='%s'>%s</response>" % (SASL, b64("c=biws,r=abc" + nonce + ",p=AAAA")) +
        "<auth xmlns='%s' mechanism='SCRAM-SHA-256'>%s</auth>" % (SASL, b64("n,,n=nobody,r=x")) +
        "<abort xmlns='%s'/>" % SASL +
        "<auth xmlns='%s' mechanism='SCRAM-SHA-1-PLUS'>%s</auth>" % (SASL, b64("p=tls-exporter,,n=alice,r=x")) +
        "<auth xmlns='%s' mechanism='DIGEST-MD5'/>" % SASL +
        "<response xmlns='%s'>!!!</response>" % SASL)
    # In-band registration (fuzz_stream runs in invite mode): the form,
    # an XEP-0445 preauth with the fake router's token, the account, then
    # a login with it (it gets the fake password's credentials).
    seeds["register-invite"] = (
        HEADER + "<iq type='get' id='g'><query xmlns='jabber:iq:register'/></iq>"
        "<iq type='set' id='p'><preauth xmlns='urn:xmpp:pars:0' "
        "token='0123456789abcdef0123456789abcdef'/></iq>"
        "<iq type='set' id='s'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' "
        "type='submit'><field var='username'><value>dave</value></field>"
        "<field var='password'><value>pw</value></field></x></query></iq>"
        "<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (SASL, b64("\0dave\0" + PASSWORD)) +
        HEADER + bind("new") + "<presence/></stream:stream>")
    # SASL2 (XEP-0388) with Bind2 and everything inline, no restart; then
    # SCRAM in SASL2's elements with a resumption that fails and a bind
    # that takes over, a token asked for where none is offered; errors.
    sasl2 = "urn:xmpp:sasl:2"
    ua = ("<user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'><software>fuzz</software>"
          "<device>box</device></user-agent>")
    seeds["sasl2-plain-bind2"] = (
        HEADER + "<authenticate xmlns='%s' mechanism='PLAIN'><initial-response>%s"
        "</initial-response>%s<bind xmlns='urn:xmpp:bind:0'><tag>Fuzz</tag>"
        "<enable xmlns='urn:xmpp:carbons:2'/><inactive xmlns='urn:xmpp:csi:0'/>"
        "<enable xmlns='urn:xmpp:sm:3' resume='true'/></bind></authenticate>"
        % (sasl2, PLAIN_ALICE, ua) +
        "<r xmlns='urn:xmpp:sm:3'/><presence/><active xmlns='urn:xmpp:csi:0'/>"
        "<message to='bob@localhost' type='chat'><body>bind2</body></message>"
        "<a xmlns='urn:xmpp:sm:3' h='0'/></stream:stream>")
    first, final = scram("sha1", "alice", "c0ffee00c0ffee00c0ffee00", nonce)
    seeds["sasl2-scram-resume-fails"] = (
        HEADER + "<authenticate xmlns='%s' mechanism='SCRAM-SHA-1'><initial-response>%s"
        "</initial-response>%s<resume xmlns='urn:xmpp:sm:3' previd='nosuch' h='0'/>"
        "<bind xmlns='urn:xmpp:bind:0'/><request-token xmlns='urn:xmpp:fast:0' "
        "mechanism='HT-SHA-256-NONE'/></authenticate>" % (sasl2, b64(first), ua) +
        "<response xmlns='%s'>%s</response>" % (sasl2, b64(final)) +
        "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq></stream:stream>")
    seeds["sasl2-errors"] = (
        HEADER + "<authenticate xmlns='%s' mechanism='CRAM-MD5'/>" % sasl2 +
        "<authenticate xmlns='%s' mechanism='PLAIN'><initial-response>!!</initial-response>"
        "</authenticate>" % sasl2 +
        "<authenticate xmlns='%s' mechanism='HT-SHA-256-NONE'><initial-response>%s"
        "</initial-response><fast xmlns='urn:xmpp:fast:0' count='1'/></authenticate>"
        % (sasl2, b64("alice\0" + "x" * 32)) +
        "<authenticate xmlns='%s' mechanism='PLAIN'><initial-response>%s</initial-response>"
        "<user-agent id='a b'/></authenticate>" % (sasl2, PLAIN_ALICE) +
        "<authenticate xmlns='%s' mechanism='SCRAM-SHA-256'/>" % sasl2 +
        "<response xmlns='%s'>%s</response>" % (sasl2, b64("n,,n=alice,r=abc")) +
        "<abort xmlns='%s'/>" % sasl2 +
        "<authenticate xmlns='%s' mechanism='PLAIN'><initial-response>%s</initial-response>"
        "<bind xmlns='urn:xmpp:bind:0'><tag>%s</tag></bind></authenticate>"
        % (sasl2, PLAIN_ALICE, "t" * 80) +
        "<next xmlns='%s' task='TOTP'/>" % sasl2)
    seeds["starttls-refused"] = HEADER + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    seeds["errors-mixed"] = (
        "<?xml version='1.0' encoding='UTF-8'?>" + HEADER.replace("localhost", "example.org", 1) +
        "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>")
    return seeds


def main():
    id1, nonce, id2 = stream_ids_and_nonce()
    sdir, xdir = HERE / "corpus" / "stream", HERE / "corpus" / "xml"
    for d in (sdir, xdir):
        d.mkdir(parents=True, exist_ok=True)
        for f in d.iterdir():
            if f.name.startswith(("t-", "c-")):
                f.unlink()
    texts = {}
    for path in sorted(TRANSCRIPTS.glob("*.xmpp")):
        texts["t-" + path.stem] = transcript_client_text(path, id1)
    for name, text in crafted(id1, nonce, id2).items():
        texts["c-" + name] = text
    n = 0
    for name, text in texts.items():
        data = text.encode()
        # fault 0, one chunk
        (sdir / name).write_bytes(b"\x00\x00" + data)
        (xdir / name).write_bytes(b"\x00" + data)
        n += 2
    # A few with chunking, timers and injected faults.
    full = texts["c-plain-im-full"].encode()
    variants = {
        # 3 chunk sizes (1, 17, 200): byte-split start tags and restarts
        "c-plain-im-full-chunked": b"\x00\x03\x01\x11\xc8" + full,
        # timers after every chunk (heartbeat, reap), chunks of 200
        "c-plain-im-full-ticks": b"\x00\x09\xc8" + full,
        # timers with every session reaped first, then the far-future timers
        "c-plain-im-full-lost": b"\x00\x39\xc8" + full,
        # another login takes the resource after the first chunk
        "c-plain-im-full-kicked": b"\x00\x41\xff" + full,
        # router call 3 and 12 fail
        "c-plain-im-full-fault3": b"\x03\x00" + full,
        "c-plain-im-full-fault12": b"\x0c\x00" + full,
    }
    for name, data in variants.items():
        (sdir / name).write_bytes(data)
        n += 1
    (xdir / "c-plain-im-full-chunked").write_bytes(b"\x03\x01\x11\xc8" + full)
    (xdir / "c-plain-im-full-tiny-limits").write_bytes(b"\x08" + full)
    print("make-seeds.py: %d seeds (stream id %s, SCRAM server nonce %s)" % (n + 2, id1, nonce))


if __name__ == "__main__":
    sys.exit(main())
