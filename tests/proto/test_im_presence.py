"""RFC 6121 4: presence between subscribed contacts (slixmpp on both
sides), priorities, and the unavailable presence of a handler that died.
"""
import asyncio
import os
import signal
import time

try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import (PW, both, body_is, is_, online, handshake, redis_hash,
                        xmls, q, NS_CLIENT)

ALICE, BOB = 'alice@localhost', 'bob@localhost'


def show_status(el):
    s = el.find(q(NS_CLIENT, 'show'))
    t = el.find(q(NS_CLIENT, 'status'))
    return (s.text if s is not None else None, t.text if t is not None else None)


def test_presence_between_contacts(server):
    """After the handshake: bob's initial presence reaches alice, and bob
    gets alice's current presence right after his own initial presence
    without a probe reaching alice (4.2.2, 4.2.3); a change reaches the
    contact (4.4.2); a clean disconnect is broadcast as unavailable (4.5.2)."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1')
        b = await online(server.port, BOB + '/b1')
        await handshake(a, b)
        # alice's presence is now busy; bob leaves cleanly
        na = a.mark()
        a.xmpp.send_presence(pshow='dnd', pstatus='busy')
        await b.wait(both(is_('presence', type=None, from_=a.full),
                          lambda e: show_status(e) == ('dnd', 'busy')))
        await b.close()
        un = await a.wait1(is_('presence', type='unavailable', from_=BOB + '/b1'), since=na)
        seen['unavail_clean'] = un.get('to')

        # bob comes back: roster first, then initial presence
        b2 = await online(server.port, BOB + '/b2', presence=False)
        na = a.mark()
        await b2.none_for(is_('presence', from_=a.full), seconds=0.5)
        nb = b2.mark()
        b2.xmpp.send_presence(pstatus='back')
        # right after it: read from Redis by bob's handler (bounded wait)
        got = await b2.wait1(is_('presence', type=None, from_=a.full), since=nb, timeout=3)
        seen['b_got'] = show_status(got)
        seen['b_got_to'] = got.get('to')
        avail = await a.wait1(is_('presence', type=None, from_=b2.full), since=na)
        seen['a_got'] = show_status(avail)
        await asyncio.sleep(0.3)
        seen['probes'] = a.seen(is_('presence', type='probe')) + b2.seen(is_('presence', type='probe'))

        # a change of bob's presence reaches alice
        na = a.mark()
        b2.xmpp.send_presence(pshow='away', pstatus='lunch')
        ch = await a.wait1(both(is_('presence', from_=b2.full),
                                lambda e: show_status(e) == ('away', 'lunch')), since=na)
        seen['change_type'] = ch.get('type')
        # unavailable with a status on a clean close
        na = a.mark()
        b2.xmpp.send_presence(ptype='unavailable', pstatus='bye')
        await b2.close()
        un = await a.wait(is_('presence', type='unavailable', from_=b2.full), since=na)
        seen['unavail_status'] = [show_status(u)[1] for u in un]
        seen['presence_hash'] = redis_hash(server, 'xmpp:{%s}:presence' % BOB)
        await a.close()
    C.run(go, timeout=60)

    assert seen['unavail_clean'] in (None, ALICE, ALICE + '/a1'), seen
    assert seen['b_got'] == ('dnd', 'busy'), seen
    assert seen['a_got'] == (None, 'back'), seen
    assert seen['probes'] == [], xmls(seen['probes'])
    assert seen['change_type'] is None, seen
    # the first unavailable carries bob's status (RFC 6121 4.5.2); no second one
    assert seen['unavail_status'] == ['bye'], seen
    assert seen['presence_hash'] == {}, seen


def test_negative_priority_is_not_a_bare_jid_target(server):
    """RFC 6121 4.7.2.3 / 8.5.2.1.1: a resource with negative priority
    never receives messages sent to the bare JID; when it is the only one
    left, such a message goes to offline storage (8.5.2.2.1)."""
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1')
        desk = await online(server.port, BOB + '/desk', ppriority=0)
        lurk = await online(server.port, BOB + '/lurk', ppriority=-1)
        await asyncio.sleep(0.2)
        a.xmpp.send_message(mto=BOB, mbody='to the bare JID', mtype='chat')
        await desk.wait(both(is_('message', from_=a.full), body_is('to the bare JID')))
        await lurk.none_for(is_('message'), seconds=1.0)
        # a full-JID message still reaches the negative-priority resource
        a.xmpp.send_message(mto=BOB + '/lurk', mbody='to lurk', mtype='chat')
        await lurk.wait(both(is_('message', from_=a.full), body_is('to lurk')))
        await desk.close()
        await asyncio.sleep(0.3)
        a.xmpp.send_message(mto=BOB, mbody='nobody takes this', mtype='chat')
        await a.sync()
        seen['llen'] = C.poll(lambda: server.redis('LLEN', 'xmpp:{%s}:offline' % BOB), 3)
        await lurk.none_for(body_is('nobody takes this'), seconds=0.7)
        seen['errors'] = a.seen(is_('message', type='error'))
        await lurk.close()
        await a.close()
    C.run(go, timeout=60)

    assert seen['llen'] == 1, seen
    assert seen['errors'] == [], xmls(seen['errors'])


async def contacts_online(server):
    """alice/a1 and bob/b1 online and subscribed both ways; bob's handler pid."""
    a = await online(server.port, ALICE + '/a1')
    b = await online(server.port, BOB + '/b1')
    await handshake(a, b)
    sess = C.redis_sessions(server, BOB)
    pid = int(C.parse_session_record(sess['b1'])['pid'])
    assert C.handler_running(pid), (pid, sess)
    return a, b, pid


def test_unavailable_after_sigkill(server_factory):
    """A handler killed with SIGKILL cannot say goodbye: within the session
    TTL plus a heartbeat a living handler reaps the session, the contact
    gets the unavailable presence (RFC 6121 4.5.2 on the server's behalf),
    the records are gone, and a message to the bare JID is stored offline."""
    server = server_factory(session_ttl=5)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a, _, pid = await contacts_online(server)
        na = a.mark()
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        un = await a.wait1(is_('presence', type='unavailable', from_=BOB + '/b1'),
                           since=na, timeout=15)
        seen['after'] = time.monotonic() - t0
        seen['sessions'] = C.redis_sessions(server, BOB)
        seen['presence'] = redis_hash(server, 'xmpp:{%s}:presence' % BOB)
        seen['online'] = server.redis('SISMEMBER', server.shard_key('online', BOB), BOB)
        a.xmpp.send_message(mto=BOB, mbody='are you there?', mtype='chat')
        await a.sync()
        seen['llen'] = C.poll(lambda: server.redis('LLEN', 'xmpp:{%s}:offline' % BOB), 3)
        seen['errors'] = a.seen(is_('message', type='error'))
        seen['dup'] = len(a.seen(is_('presence', type='unavailable', from_=BOB + '/b1'), na))
        await a.close()
    C.run(go, timeout=60)

    assert seen['after'] < 15, seen
    assert seen['sessions'] == {}, seen
    assert seen['presence'] == {}, seen
    assert seen['online'] == 0, seen
    assert seen['llen'] == 1, seen
    assert seen['errors'] == [], xmls(seen['errors'])
    assert seen['dup'] == 1, seen


def evalsha_calls(server):
    """EVALSHA commands Redis ran so far (every primary's, on a cluster)."""
    cl = server.redis_cluster
    total = 0
    for info in ([cl.call(p, 'INFO', 'commandstats') for p in cl.ports] if cl else
                 [server.redis('INFO', 'commandstats')]):
        for line in info.splitlines():
            if line.startswith('cmdstat_evalsha:'):
                total += int(line.split('calls=')[1].split(',')[0])
    return total


def test_one_reaper_at_a_time_on_a_cluster(server_factory):
    """Every heartbeat (each TTL/3) marks its host alive for a TTL. On one
    Redis it also reaps the one expiry index; on a cluster the index has a
    shard per slot (16384), and only the heartbeat that wins xmpp:reaper
    (SET NX for TTL/2) walks them all: one pass per TTL/2 for the whole
    cluster, not one per heartbeat of every handler."""
    server = server_factory(session_ttl=6)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a, b, _ = await contacts_online(server)
        host = C.parse_session_record(C.redis_sessions(server, BOB)['b1'])['host']
        n0, t0 = evalsha_calls(server), time.monotonic()
        await asyncio.sleep(7)              # 3 heartbeats of each handler
        seen['calls'] = evalsha_calls(server) - n0
        seen['secs'] = time.monotonic() - t0
        seen['reaper'] = server.redis('TTL', 'xmpp:reaper')
        seen['host'] = server.redis('TTL', 'xmpp:host:' + host)
        await a.close()
        await b.close()
    C.run(go, timeout=60)

    assert 0 < seen['host'] <= 6, seen
    if not server.redis_cluster:
        assert seen['reaper'] == -2, seen
        return
    assert 0 < seen['reaper'] <= 3, seen
    # a pass at most each 3 s (and the heartbeats' own few scripts), where
    # two handlers walking at each heartbeat would make 6 passes or more
    passes = seen['calls'] / 16384.0
    assert 1 <= passes <= seen['secs'] / 3 + 1.5, seen


def test_starved_handler_is_not_reaped(server_factory):
    """A handler that gets no CPU for longer than the session TTL (here
    SIGSTOPped for 3 TTLs, as under a login storm on one core) misses its
    heartbeats, but its process is there: the living handler on the same
    host that finds its session expired leaves it alone. Its contact sees
    no unavailable presence, its records stay, and once it runs again it
    chats as before. (A SIGKILLed one is reaped: the test above.)"""
    server = server_factory(session_ttl=5)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    seen = {}

    async def go():
        a, b, pid = await contacts_online(server)
        na = a.mark()
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(16)
            seen['expired'] = server.redis('ZSCORE', server.shard_key('expiry', BOB),
                                           '%s %s/b1' % (C.parse_session_record(
                                               C.redis_sessions(server, BOB)['b1'])['id'], BOB))
            seen['sessions'] = list(C.redis_sessions(server, BOB))
        finally:
            os.kill(pid, signal.SIGCONT)
        await asyncio.sleep(2)        # its first heartbeat marks it live again
        seen['unavailable'] = a.seen(is_('presence', type='unavailable', from_=BOB + '/b1'), na)
        seen['log'] = 'reaped dead session %s/b1' % BOB in server.log()
        a.xmpp.send_message(mto=BOB + '/b1', mbody='still there?', mtype='chat')
        await b.wait1(body_is('still there?'), timeout=10)
        await a.close()
        await b.close()
    C.run(go, timeout=60)

    assert seen['sessions'] == ['b1'], seen
    assert seen['expired'] is not None, seen      # still indexed: checked again later
    assert seen['unavailable'] == [], xmls(seen['unavailable'])
    assert not seen['log'], seen
