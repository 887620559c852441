"""roster_set, roster_remove, roster_sub: items in stored form (roster.h),
the version, the pending requests."""
import pytest

from lua_harness import key

A = "alice@x"
C = "carol@x"


def item(sub, ask=False, rest=" jid='carol@x'/>"):
    return "<item subscription='%s'%s%s" % (sub, " ask='subscribe'" if ask else "", rest)


def roster_set(r, body, contact=C):
    return r.eval("roster_set", [key(A, "roster"), key(A, "rosterver")], [contact, body])


def roster_remove(r, contact=C):
    return r.eval("roster_remove", [key(A, "roster"), key(A, "rosterver"), key(A, "pending")],
                  [contact])


def roster_sub(r, direction, type, contact=C, stanza="<presence/>"):
    return r.eval("roster_sub", [key(A, "roster"), key(A, "rosterver"), key(A, "pending")],
                  [contact, direction, type, contact, stanza])


# ---- roster_set ----

def test_set_new_item(r):
    body = " jid='carol@x' name='Carol'><group>G</group></item>"
    assert roster_set(r, body) == ["set", item("none", rest=body), "1"]
    assert r("HGET", key(A, "roster"), C) == item("none", rest=body)
    assert r("GET", key(A, "rosterver")) == "1"


def test_set_keeps_subscription_state(r):
    r("HSET", key(A, "roster"), C, item("to", ask=True, rest=" jid='carol@x' name='Old'/>"))
    r("SET", key(A, "rosterver"), "7")
    body = " jid='carol@x' name='New'/>"
    assert roster_set(r, body) == ["set", item("to", ask=True, rest=body), "8"]
    r("HSET", key(A, "roster"), C, item("both"))
    assert roster_set(r, body) == ["set", item("both", rest=body), "9"]


# ---- roster_remove ----

def test_remove_item(r):
    r("HSET", key(A, "roster"), C, item("both"))
    r("HSET", key(A, "pending"), C, "<presence type='subscribe'/>")
    r("SET", key(A, "rosterver"), "4")
    assert roster_remove(r) == ["removed", item("both"), "5"]
    assert r("EXISTS", key(A, "roster"), key(A, "pending")) == 0


def test_remove_absent(r):
    """Nothing to remove: the version stays, a pending request goes."""
    r("HSET", key(A, "pending"), C, "<presence type='subscribe'/>")
    assert roster_remove(r) == ["absent", "0"]
    r("SET", key(A, "rosterver"), "4")
    assert roster_remove(r) == ["absent", "4"]
    assert r("EXISTS", key(A, "pending")) == 0


# ---- roster_sub (RFC 6121 3) ----

# (item before or None, pending before, direction, type) ->
# (action, item after or None for unchanged, pending after)
CASES = [
    # the user subscribes: ask
    (None, False, "out", "subscribe", "route", item("none", ask=True), False),
    (item("from"), False, "out", "subscribe", "route", item("from", ask=True), False),
    (item("to"), False, "out", "subscribe", "route", None, False),
    # the user approves a pending request; without one, nothing (no pre-approval)
    (item("none"), True, "out", "subscribed", "route", item("from"), False),
    (item("to"), True, "out", "subscribed", "route", item("both"), False),
    (item("none"), False, "out", "subscribed", "drop", None, False),
    # the user unsubscribes / cancels
    (item("both"), False, "out", "unsubscribe", "route", item("from"), False),
    (item("none", ask=True), False, "out", "unsubscribe", "route", item("none"), False),
    (item("both"), True, "out", "unsubscribed", "route", item("to"), False),
    # the contact asks: pending, or answered at once when already approved
    (None, False, "in", "subscribe", "deliver", None, True),
    (item("from"), False, "in", "subscribe", "autoreply", None, False),
    # the contact approves: only what was asked
    (item("none", ask=True), False, "in", "subscribed", "deliver", item("to"), False),
    (item("from", ask=True), False, "in", "subscribed", "deliver", item("both"), False),
    (item("none"), False, "in", "subscribed", "drop", None, False),
    (item("to"), False, "in", "subscribed", "drop", None, False),
    # the contact unsubscribes / cancels
    (item("both"), False, "in", "unsubscribe", "deliver", item("to"), False),
    (None, True, "in", "unsubscribe", "deliver", None, False),
    (None, False, "in", "unsubscribe", "drop", None, False),
    (item("to"), False, "in", "unsubscribed", "deliver", item("none"), False),
    (item("none", ask=True), False, "in", "unsubscribed", "deliver", item("none"), False),
    (item("from"), False, "in", "unsubscribed", "drop", None, False),
]


@pytest.mark.parametrize("before,pending,direction,type,action,after,pending_after", CASES)
def test_sub(r, before, pending, direction, type, action, after, pending_after):
    if before:
        r("HSET", key(A, "roster"), C, before)
    if pending:
        r("HSET", key(A, "pending"), C, "<presence type='subscribe' id='old'/>")
    r("SET", key(A, "rosterver"), "3")
    got = roster_sub(r, direction, type, stanza="<presence type='subscribe' id='new'/>")
    if after is None:
        assert got == [action, "", "3"]
        assert r("HGET", key(A, "roster"), C) == before
    else:
        assert got == [action, after, "4"]
        assert r("HGET", key(A, "roster"), C) == after
    assert (r("HEXISTS", key(A, "pending"), C) == 1) == pending_after
    if pending_after and not pending:
        assert r("HGET", key(A, "pending"), C) == "<presence type='subscribe' id='new'/>"


def test_sub_keeps_name_and_groups(r):
    rest = " jid='carol@x' name='C'><group>G</group></item>"
    r("HSET", key(A, "roster"), C, item("none", ask=True, rest=rest))
    assert roster_sub(r, "in", "subscribed") == ["deliver", item("to", rest=rest), "1"]
