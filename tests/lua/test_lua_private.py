"""XEP-0049 private XML storage inside Redis: private_set.lua, one
namespace stored under a cap on how many the user's hash holds."""
from lua_harness import key

A = "alice@x"


def put(r, ns, xml, cap=2):
    return r.eval("private_set", [key(A, "private")], [ns, xml, str(cap)])


def test_private_set_stores_and_replaces(r):
    assert put(r, "a:ns", "<x xmlns='a:ns'/>") == ["stored"]
    assert put(r, "a:ns", "<y xmlns='a:ns'/>") == ["stored"]
    assert r("HGETALL", key(A, "private")) == ["a:ns", "<y xmlns='a:ns'/>"]


def test_private_set_cap(r):
    """A new namespace beyond the cap is refused and changes nothing; an
    existing one may still be replaced."""
    assert put(r, "a:ns", "1") == ["stored"]
    assert put(r, "b:ns", "2") == ["stored"]
    assert put(r, "c:ns", "3") == ["full"]
    assert r("HEXISTS", key(A, "private"), "c:ns") == 0
    assert put(r, "b:ns", "22") == ["stored"]
    assert r("HGET", key(A, "private"), "b:ns") == "22"
    assert r("HLEN", key(A, "private")) == 2
