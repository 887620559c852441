"""push_enable and push_note (router/push.h): registrations capped per
user, a registration made again keeps its place; one notification per
registration per burst, the messages of the burst counted in the next."""
from lua_harness import gkey

BARE = "bob@localhost"
H, ST = gkey("{%s}:push" % BARE), gkey("{%s}:pushstate" % BARE)


def enable(r, field, form="", max=2):
    return r.eval("push_enable", [H], [field, form, max])


def note(r, now, every=10):
    return r.eval("push_note", [H, ST], [now, every])


def test_enable_capped_and_replaced(r):
    assert enable(r, "push.test\nn1", "<x/>") == ["ok"]
    assert enable(r, "push.test\nn2") == ["ok"]
    assert enable(r, "other.test\nn3") == ["full"]
    assert enable(r, "push.test\nn1", "<x type='submit'/>") == ["ok"]   # again: replaced
    assert r("HGET", H, "push.test\nn1") == "<x type='submit'/>"
    assert r("HLEN", H) == 2


def test_one_notification_per_burst(r):
    assert note(r, 1000) == ["notify"]            # no registration: nothing
    enable(r, "push.test\nn1", "<x/>")
    assert note(r, 1000) == ["notify", "push.test\nn1", "<x/>", 1]
    assert note(r, 1005) == ["notify"]            # within the interval: counted
    assert note(r, 1009) == ["notify"]
    assert note(r, 1010) == ["notify", "push.test\nn1", "<x/>", 3]
    enable(r, "push.test\nn2")
    assert note(r, 1011) == ["notify", "push.test\nn2", "", 1]
    assert r("HGET", ST, "push.test\nn1") == "1 1010"
