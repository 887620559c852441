"""Group chat under stream management (XEP-0198 with XEP-0045): a
detached session stays in its rooms; resumed on the other listener it
gets what the room said meanwhile, exactly once and in order, and goes
on receiving; a session never resumed leaves its rooms when its
resumption time is over (status 333)."""
import asyncio

try:
    from . import clients as C
except ImportError:
    import clients as C

from harness import wait_until
from im_helpers import body_is, online

from muc_helpers import (ALICE, BOB, PLUGINS, PW, ROOM, create_room, muc_presence, start,
                         x_of)


def record(server, resource):
    return server.redis("HGET", "xmpp:{%s}:sessions" % ALICE, resource) or ""


async def sm_online(server):
    a = C.SMClient(ALICE + "/phone", PW, plugins=PLUGINS, event="groupchat_message")
    out = await a.login(server.ports[0])
    assert out.session_started, out
    await a.until(lambda: "sm_enabled" in a.events)
    a.xmpp.send_presence()
    return a


def test_resumed_session_stays_in_the_room(server_factory):
    server = start(server_factory, resume_timeout=60, ack_request_delay=1)
    seen = {}

    async def go():
        a = await sm_online(server)
        b = await online(server.ports[1], BOB + "/b1", plugins=PLUGINS)
        await create_room(a, "Al")
        await b.xmpp["xep_0045"].join_muc_wait(ROOM, "Bo", timeout=5)
        b.xmpp.send_message(mto=ROOM, mbody="m1", mtype="groupchat")
        await a.until(lambda: a.bodies == ["m1"])
        await a.until(lambda: server.redis("LLEN", "xmpp:{%s}:smq:phone" % ALICE) == 0)
        nb = b.mark()
        a.drop()
        await a.wait_disconnected()
        wait_until(lambda: " det=0" not in record(server, "phone"), what="detached")
        await b.none_for(muc_presence("Al", type="unavailable"), 1.0, since=nb)
        seen["state"] = server.redis("HGET", "xmpp:{%s}:muc:phone" % ALICE, ROOM)
        for body in ("m2", "m3"):
            b.xmpp.send_message(mto=ROOM, mbody=body, mtype="groupchat")
        await b.wait(body_is("m3"), since=nb)
        a.xmpp.connect(address=(C.HOST, server.ports[1]), use_ssl=False,
                       force_starttls=False, disable_starttls=True)
        await a.until(lambda: "session_resumed" in a.events or "sm_failed" in a.events)
        seen["events"] = list(a.events)
        await a.until(lambda: len(a.bodies) >= 3)
        b.xmpp.send_message(mto=ROOM, mbody="m4", mtype="groupchat")
        await a.until(lambda: len(a.bodies) >= 4)
        await asyncio.sleep(0.5)                   # a duplicate would show now
        seen["bodies"] = list(a.bodies)
        seen["occ"] = server.redis("HKEYS", "xmpp:{%s}:occ" % ROOM)
        await a.close()
        await b.close()
    C.run(go, timeout=60)
    assert seen["state"].startswith("Al\t") and len(seen["state"].split(" ")) == 3, seen
    assert "sm_failed" not in seen["events"], seen["events"]
    assert seen["bodies"] == ["m1", "m2", "m3", "m4"], seen["bodies"]
    assert sorted(seen["occ"]) == ["Al", "Bo"]


def test_never_resumed_leaves_the_room(server_factory):
    server = start(server_factory, resume_timeout=2, session_ttl=6, ack_request_delay=30)
    seen = {}

    async def go():
        a = await sm_online(server)
        b = await online(server.ports[1], BOB + "/b1", plugins=PLUGINS)
        await create_room(a, "Al")
        await b.xmpp["xep_0045"].join_muc_wait(ROOM, "Bo", timeout=5)
        nb = b.mark()
        a.drop()
        await a.wait_disconnected()
        seen["gone"] = await b.wait1(muc_presence("Al", type="unavailable"), since=nb,
                                     timeout=25)
        seen["occ"] = server.redis("HKEYS", "xmpp:{%s}:occ" % ROOM)
        await b.close()
    C.run(go, timeout=60)
    item, codes = x_of(seen["gone"])
    assert codes == ["333"] and item["role"] == "none", (item, codes)
    assert seen["occ"] == ["Bo"]
