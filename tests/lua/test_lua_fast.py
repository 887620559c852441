"""fast_cas and clients_seen (router/fast.h): a token record replaced only
if nobody changed it since it was read; a user's clients capped, the one
seen least recently forgotten with its tokens."""
from lua_harness import gkey

BARE = "alice@localhost"
F, C = gkey("{%s}:fast" % BARE), gkey("{%s}:clients" % BARE)
REC1 = "HT-SHA-256-NONE 0 100 " + "a" * 64 + " 0 -"
REC2 = "HT-SHA-256-NONE 0 0 - 100 " + "a" * 64


def cas(r, ua, was, now):
    return r.eval("fast_cas", [F], [ua, was, now])


def seen(r, ua, when, max=2):
    return r.eval("clients_seen", [C, F], [ua, "%d\tsw\tdev" % when, max])


def test_cas_only_over_what_was_read(r):
    assert cas(r, "ua1", "", REC1) == ["ok"]            # none before
    assert cas(r, "ua1", "", REC2) == ["changed"]       # someone wrote it
    assert r("HGET", F, "ua1") == REC1
    assert cas(r, "ua1", REC1, REC2) == ["ok"]
    assert cas(r, "ua1", REC1, "") == ["changed"]       # a second login with the old read
    assert cas(r, "ua1", REC2, "") == ["ok"]            # removed
    assert r("EXISTS", F) == 0


def test_clients_capped_oldest_forgotten_with_its_tokens(r):
    assert seen(r, "ua1", 100) == ["ok"]
    assert seen(r, "ua2", 200) == ["ok"]
    cas(r, "ua1", "", REC1)
    cas(r, "ua2", "", REC1)
    assert seen(r, "ua1", 300) == ["ok"]                # known: updated, nobody forgotten
    assert r("HGET", C, "ua1") == "300\tsw\tdev"
    assert seen(r, "ua3", 400) == ["forgot", "ua2"]     # ua2 is now the oldest
    assert sorted(r("HKEYS", C)) == ["ua1", "ua3"]
    assert r("HKEYS", F) == ["ua1"]
