"""Many clients at once: 100 slixmpp clients in one event loop log in
together (10 accounts x 10 resources, SCRAM-SHA-1 / SCRAM-SHA-256 / PLAIN
in turn), each to its own handler process; every one must be bound, every
session must be in Redis under its own handler pid, and every session must
be gone once the clients leave (half close the stream, half drop TCP).

Measured on 2 cores with the ASan build: the 100 logins take 5-8 s, the
whole test 6-9 s (slixmpp in one event loop is fast enough; SCRAM's
PBKDF2 in pure Python costs the client about 10 ms a login).
"""

import asyncio
import time

try:
    from . import clients as C
except ImportError:
    import clients as C

USERS = 10
RESOURCES = 10                  # USERS * RESOURCES clients at once
MECHS = ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'PLAIN']
LOGIN_TIMEOUT = 40.0            # for all of them together
PASSWORD = 'pw-%d'


def all_sessions(server, bares):
    """{full JID: parsed record} over all bares."""
    out = {}
    for bare in bares:
        for res, rec in C.redis_sessions(server, bare).items():
            out[bare + '/' + res] = C.parse_session_record(rec)
    return out


def test_hundred_clients_at_once(server):
    bares = ['user%02d@%s' % (i, server.domain) for i in range(USERS)]
    for i, bare in enumerate(bares):
        server.adduser(bare, PASSWORD % i)
    jobs = []           # (full JID, password, mechanism)
    for i, bare in enumerate(bares):
        for r in range(RESOURCES):
            jobs.append(('%s/r%02d' % (bare, r), PASSWORD % i,
                         MECHS[(i * RESOURCES + r) % len(MECHS)]))
    seen = {}

    async def go():
        t0 = time.monotonic()
        logins = [C.login(server.port, full, pw, mech=mech, timeout=LOGIN_TIMEOUT)
                  for full, pw, mech in jobs]
        clist = await asyncio.gather(*logins)
        seen['login_s'] = time.monotonic() - t0
        seen['outcomes'] = [c.outcome for c in clist]
        seen['connected'] = sum(1 for c in clist if c.connected)
        # every session must be visible while all clients are connected
        seen['sessions'] = all_sessions(server, bares)
        seen['ctl'] = server.ctl('sessions')
        t1 = time.monotonic()
        closers = []
        for i, c in enumerate(clist):
            if i % 2:
                c.drop()
            else:
                closers.append(c.close(timeout=15))
        seen['closed'] = await asyncio.gather(*closers)
        seen['close_s'] = time.monotonic() - t1

    t = time.monotonic()
    C.run(go, timeout=LOGIN_TIMEOUT + 40)
    outcomes = seen['outcomes']
    bad = [(full, o) for (full, _, _), o in zip(jobs, outcomes)
           if not (o.session_started and o.bound_jid == full)]
    assert not bad, '%d of %d logins failed in %.1f s; first: %r\n%s' % (
        len(bad), len(jobs), seen['login_s'], bad[:3], server.log()[-3000:])
    assert seen['connected'] == len(jobs), seen['connected']
    assert all(o.mechanism == mech for (_, _, mech), o in zip(jobs, outcomes))

    sessions = seen['sessions']
    missing = sorted(set(full for full, _, _ in jobs) - set(sessions))
    assert not missing, '%d sessions missing from Redis: %r' % (len(missing), missing[:5])
    assert len(sessions) == len(jobs), sorted(sessions)
    # one handler process and one stream per connection
    pids = {rec.get('pid') for rec in sessions.values()}
    ids = {rec.get('id') for rec in sessions.values()}
    assert len(pids) == len(jobs), 'session records share pids: %d distinct' % len(pids)
    assert len(ids) == len(jobs), 'session records share stream ids'
    by_full = {full: o.stream_id for (full, _, _), o in zip(jobs, outcomes)}
    wrong = [f for f in by_full if sessions[f].get('id') != by_full[f]]
    assert not wrong, 'record id is not the client\'s stream id: %r' % wrong[:3]

    ctl = seen['ctl']
    assert ctl.returncode == 0, ctl
    listed = {line.split()[0] for line in ctl.stdout.splitlines()
              if line.strip() and not line.startswith('#')}
    assert set(by_full) <= listed, sorted(set(by_full) - listed)[:5]

    assert all(seen['closed']), '%d of %d streams not closed by the server' % (
        seen['closed'].count(False), len(seen['closed']))
    left = C.poll(lambda: not all_sessions(server, bares), timeout=10)
    assert left, 'sessions left in Redis 10 s after the clients left: %r' % (
        sorted(all_sessions(server, bares))[:10],)
    # every handler process has exited
    still = C.poll(lambda: not [p for p in pids if C.handler_running(p)], timeout=10)
    assert still, 'handler processes still running: %r' % (
        [p for p in pids if C.handler_running(p)][:10],)
    print('\n%d logins in %.2f s, close in %.2f s, test %.2f s' % (
        len(jobs), seen['login_s'], seen['close_s'], time.monotonic() - t))
