"""test_presence_many.py - initial presence brings the presence of every
online contact (RFC 6121 4.2.2), read from Redis in one script call for
all contacts, not only the first."""
import base64

from harness import Raw

SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
CONTACTS = ["c%d@localhost" % i for i in range(1, 6)]


def login(server, jid, password="pw"):
    node = jid.split("@")[0]
    r = Raw(server.port, server=server)
    r.open()
    r.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (
        SASL, base64.b64encode(b"\0" + node.encode() + b"\0" + password.encode()).decode()))
    ev, el = r.next()
    assert el.tag == "{%s}success" % SASL, el.tag
    r.restart()
    r.open()
    r.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
           "<resource>r</resource></bind></iq>")
    ev, el = r.next()
    assert el.get("type") == "result", el.attrib
    return r


def test_initial_presence_brings_every_contact(server):
    server.adduser("alice@localhost", "pw")
    for c in CONTACTS:
        server.adduser(c, "pw")
        assert server.ctl("roster", "alice@localhost", "add", c).returncode == 0
        assert server.ctl("roster", c, "add", "alice@localhost").returncode == 0
    online = []
    for c in CONTACTS:
        r = login(server, c)
        r.send("<presence><status>%s here</status></presence>" % c)
        online.append(r)
    a = login(server, "alice@localhost")
    a.send("<presence/>")
    got = set()
    while len(got) < len(CONTACTS) + 1:
        ev, el = a.next()
        assert ev == "element", (ev, got)
        if el.tag == "{jabber:client}presence" and el.get("type") is None:
            got.add(el.get("from"))
    assert got == {c + "/r" for c in CONTACTS} | {"alice@localhost/r"}, got
