"""test_enumeration.py - no user enumeration through SCRAM (issue: what
real clients still trip over, point 5): a user without an account gets
a salt and iteration count derived from the server secret in Redis
(<prefix>server-secret) and the name, as stable across connections as a
real account's, and unrelated between names; without the secret the
answer is temporary-auth-failure, never a salt that tells."""
import base64
import re

from harness import Raw

SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
SECRET_KEY = "xmpp:server-secret"
MECHS = ("SCRAM-SHA-1", "SCRAM-SHA-256")


def scram_first(server, user, mech):
    """Send client-first for user on a fresh stream: (salt bytes,
    iterations) from the server-first challenge, or the failure condition."""
    r = Raw(server.port, server=server)
    r.open()
    msg = "n,,n=%s,r=fyko+d2lbbFgONRv9qkxdawL" % user
    r.send("<auth xmlns='%s' mechanism='%s'>%s</auth>"
           % (SASL, mech, base64.b64encode(msg.encode()).decode()))
    ev, el = r.next()
    r.send("<abort xmlns='%s'/>" % SASL)
    r.close()
    assert ev == "element", (ev, el)
    if el.tag == "{%s}failure" % SASL:
        return [c.tag.split("}")[1] for c in el][0]
    assert el.tag == "{%s}challenge" % SASL, el.tag
    first = base64.b64decode(el.text).decode()
    attrs = dict(kv.split("=", 1) for kv in first.split(","))
    assert attrs["r"].startswith("fyko+d2lbbFgONRv9qkxdawL"), first
    return base64.b64decode(attrs["s"]), int(attrs["i"])


def test_unknown_users_look_like_real_ones(server_factory):
    """Two connections per mechanism for the unknown ghost get the same
    salt and iteration count; ghost2 gets another salt; the real alice
    shows the same iteration count and salt length as the unknown, and
    her salt is as stable. The secret is drawn once: 64 hex digits."""
    server = server_factory()
    server.adduser("alice@localhost", "right")
    assert server.redis("GET", SECRET_KEY) is None
    for mech in MECHS:
        ghost = scram_first(server, "ghost", mech)
        assert scram_first(server, "ghost", mech) == ghost, mech
        secret = server.redis("GET", SECRET_KEY)
        assert re.fullmatch(r"[0-9a-f]{64}", secret or ""), secret
        ghost2 = scram_first(server, "ghost2", mech)
        assert ghost2[0] != ghost[0] and ghost2[1] == ghost[1], (ghost, ghost2)
        alice = scram_first(server, "alice", mech)
        assert scram_first(server, "alice", mech) == alice
        assert alice[1] == ghost[1] == 4096, (alice, ghost)
        assert len(alice[0]) == len(ghost[0]) == 16, (alice, ghost)
        assert server.redis("GET", SECRET_KEY) == secret      # never redrawn
    # the two mechanisms show different salts, as a real account's do
    assert scram_first(server, "ghost", MECHS[0])[0] != scram_first(server, "ghost", MECHS[1])[0]
    assert scram_first(server, "alice", MECHS[0])[0] != scram_first(server, "alice", MECHS[1])[0]


def test_fake_salt_follows_the_secret(server_factory):
    """The made-up salt is derived from the secret in Redis: another
    secret, another salt; the first secret back, the first salt back."""
    server = server_factory()
    server.redis("SET", SECRET_KEY, "11" * 32)
    one = scram_first(server, "ghost", "SCRAM-SHA-256")
    server.redis("SET", SECRET_KEY, "22" * 32)
    two = scram_first(server, "ghost", "SCRAM-SHA-256")
    server.redis("SET", SECRET_KEY, "11" * 32)
    assert one[0] != two[0]
    assert scram_first(server, "ghost", "SCRAM-SHA-256") == one


def test_no_secret_no_salt(server_factory):
    """When Redis cannot give the secret (a key of the wrong type, a value
    that is not 64 hex digits), an unknown user's SCRAM gets
    temporary-auth-failure; a real user still gets a challenge."""
    server = server_factory()
    server.adduser("alice@localhost", "right")
    server.redis("HSET", SECRET_KEY, "a", "b")
    for mech in MECHS:
        assert scram_first(server, "ghost", mech) == "temporary-auth-failure"
        assert scram_first(server, "alice", mech)[1] == 4096
    server.redis("DEL", SECRET_KEY)
    server.redis("SET", SECRET_KEY, "not hex")
    assert scram_first(server, "ghost", "SCRAM-SHA-1") == "temporary-auth-failure"
    assert "server secret" in server.log()
