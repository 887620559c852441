"""Stream management with a third-party client (issue 12): slixmpp's
xep_0198 enables resumable stream management, its TCP connection is cut
under it, it reconnects to the second listener (another host sharing
the Redis) and resumes: what was sent meanwhile arrives exactly once, in
order, and it keeps talking. A second test: the slixmpp client never
comes back, and what it had not acknowledged is stored offline.
"""
import asyncio

import clients as C
from harness import Server, wait_until
from im_helpers import PW, raw_login, raw_wait, to_xml

ALICE, BOB = "alice@localhost", "bob@localhost"


def SMClient(jid):
    return C.SMClient(jid, PW)


def record(server, resource):
    return server.redis("HGET", "xmpp:{%s}:sessions" % ALICE, resource) or ""


def test_slixmpp_resumes_on_the_other_listener():
    with Server(listeners=2, resume_timeout=60, ack_request_delay=1) as server:
        server.adduser(ALICE, PW)
        server.adduser(BOB, PW)
        b, _ = raw_login(server, BOB, resource="b")

        async def go():
            a = SMClient(ALICE + "/phone")
            out = await a.login(server.ports[0])
            assert out.session_started, out
            await a.until(lambda: "sm_enabled" in a.events)
            for i in range(1, 4):
                b.send("<message to='%s/phone' type='chat'><body>m%d</body></message>" % (ALICE, i))
            await a.until(lambda: len(a.bodies) == 3)
            # slixmpp answers the server's <r/>: wait until Redis holds no
            # unacknowledged stanza, so what follows is all new.
            await a.until(lambda: server.redis("LLEN", "xmpp:{%s}:smq:phone" % ALICE) == 0)
            a.drop()                                   # TCP cut, no goodbye
            await a.wait_disconnected()
            wait_until(lambda: " det=0" not in record(server, "phone"), what="detached")
            for i in range(4, 7):
                b.send("<message to='%s/phone' type='chat'><body>m%d</body></message>" % (ALICE, i))
            wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:inbox:phone" % ALICE) == 3,
                       what="held in the inbox")
            a.xmpp.connect(address=(C.HOST, server.ports[1]), use_ssl=False,
                           force_starttls=False, disable_starttls=True)
            await a.until(lambda: "session_resumed" in a.events or "sm_failed" in a.events)
            assert "sm_failed" not in a.events, a.events
            await a.until(lambda: len(a.bodies) == 6)
            await asyncio.sleep(0.5)                   # a duplicate would show now
            assert a.bodies == ["m1", "m2", "m3", "m4", "m5", "m6"], a.bodies
            # The resumed session is the same one, and it sends.
            a.xmpp.send_message(mto=BOB + "/b", mbody="back", mtype="chat")
            el = await asyncio.get_running_loop().run_in_executor(
                None, raw_wait, b, lambda e: e.tag == "{jabber:client}message")
            assert el.findtext("{jabber:client}body") == "back", to_xml(el)
            assert " det=0" in record(server, "phone")
            await a.close()
        C.run(go, timeout=60)


def test_slixmpp_never_back_messages_go_offline():
    with Server(resume_timeout=2, session_ttl=6, ack_request_delay=30) as server:
        server.adduser(ALICE, PW)
        server.adduser(BOB, PW)
        b, _ = raw_login(server, BOB, resource="b")

        async def go():
            a = SMClient(ALICE + "/phone")
            a.xmpp["xep_0198"].window = 1000
            out = await a.login(server.ports[0])
            assert out.session_started, out
            await a.until(lambda: "sm_enabled" in a.events)
            b.send("<message to='%s/phone' type='chat'><body>unacked</body></message>" % ALICE)
            await a.until(lambda: len(a.bodies) == 1)
            a.drop()
            await a.wait_disconnected()
        C.run(go, timeout=30)
        b.send("<message to='%s/phone' type='chat'><body>later</body></message>" % ALICE)
        wait_until(lambda: record(server, "phone") == "", timeout=20, what="session ended")
        wait_until(lambda: server.redis("LLEN", "xmpp:{%s}:offline" % ALICE) == 2,
                   what="both offline")
        off = server.redis("LRANGE", "xmpp:{%s}:offline" % ALICE, 0, -1)
        assert "unacked" in off[0] and "later" in off[1], off
