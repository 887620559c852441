"""Stanzas from local users to other domains (federation, router/s2s.h):
with s2s on, a message or IQ to an allowed remote domain is queued in
Redis for the route REMOTE/LOCAL, with the sender's full JID; off,
denied or not allowed, it is answered remote-server-not-found; a full
queue answers resource-constraint."""
import re

from im_helpers import PW, error_condition, raw_login, raw_wait

ALICE = 'alice@localhost'
QUEUE = 'xmpp:s2s:out:{%s/localhost}'


def server(server_factory, **conf):
    s = server_factory(**conf)
    s.adduser(ALICE, PW)
    return s


def send(raw, to, kind='message', id='m1'):
    if kind == 'message':
        raw.send("<message to='%s' id='%s' type='chat'><body>hi</body></message>" % (to, id))
    else:
        raw.send("<iq to='%s' id='%s' type='get'><ping xmlns='urn:xmpp:ping'/></iq>" % (to, id))


def sync(raw):
    raw.send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>")
    raw_wait(raw, lambda e: e.get('id') == 'sync')


def test_queued_for_the_route_with_the_full_from(server_factory):
    s = server(server_factory, s2s='yes')
    raw, full = raw_login(s, ALICE)
    send(raw, 'bob@remote.example/phone')
    send(raw, 'remote.example', kind='iq', id='i1')
    sync(raw)
    got = s.redis('LRANGE', QUEUE % 'remote.example', 0, -1)
    assert len(got) == 2, got
    head, xml = got[0].split('\n', 1)
    assert head.startswith('stanza ') and int(head.split()[1]) > 0
    assert "from='%s'" % full in xml and "to='bob@remote.example/phone'" in xml
    assert '<ping' in got[1]
    assert s.shard_members('s2s:domains') == ['remote.example/localhost']


def test_not_found_when_off_denied_or_not_allowed(server_factory):
    for conf in ({}, {'s2s': 'yes', 's2s_deny': 'remote.example'},
                 {'s2s': 'yes', 's2s_allow': 'other.example'}):
        s = server(server_factory, **conf)
        raw, _ = raw_login(s, ALICE)
        send(raw, 'bob@remote.example')
        el = raw_wait(raw, lambda e: e.get('id') == 'm1')
        assert el.get('type') == 'error' and \
            error_condition(el) == ('cancel', 'remote-server-not-found'), conf
        assert not s.redis('EXISTS', QUEUE % 'remote.example')


def test_full_queue_answers_resource_constraint(server_factory):
    s = server(server_factory, s2s='yes', s2s_queue_max=1)
    raw, _ = raw_login(s, ALICE)
    send(raw, 'bob@remote.example', id='m1')
    send(raw, 'bob@remote.example', id='m2')
    el = raw_wait(raw, lambda e: e.get('id') == 'm2')
    assert error_condition(el) == ('wait', 'resource-constraint')
    assert s.redis('LLEN', QUEUE % 'remote.example') == 1


def test_presence_to_remote_contacts_goes_through_federation(server_factory):
    """RFC 6121 across domains, the user's side: a subscription request to
    a remote contact is queued (the contact's side is its server's);
    once the contact is in both directions, the initial presence queues a
    probe to it and the broadcast addressed to it; directed presence to
    a remote full JID is queued; unavailable follows."""
    s = server(server_factory, s2s='yes')
    raw, full = raw_login(s, ALICE)
    raw.send("<presence to='carol@remote.example' type='subscribe' id='s1'/>")
    sync(raw)
    q = s.redis('LRANGE', QUEUE % 'remote.example', 0, -1)
    assert len(q) == 1 and "type='subscribe'" in q[0] and "from='alice@localhost'" in q[0] \
        and "to='carol@remote.example'" in q[0], q
    s.redis('DEL', QUEUE % 'remote.example')
    assert s.ctl('roster', ALICE, 'add', 'dave@remote.example').returncode == 0   # both
    raw.send('<presence><status>here</status></presence>')
    raw.send("<presence to='erin@remote.example/pc'/>")
    sync(raw)
    q = s.redis('LRANGE', QUEUE % 'remote.example', 0, -1)
    probes = [e for e in q if "type='probe'" in e]
    assert len(probes) == 1 and "to='dave@remote.example'" in probes[0] and \
        "from='alice@localhost'" in probes[0], q
    bcast = [e for e in q if 'here' in e]
    assert len(bcast) == 1 and "to='dave@remote.example'" in bcast[0] and \
        "from='%s'" % full in bcast[0], q
    assert any("to='erin@remote.example/pc'" in e for e in q), q
    s.redis('DEL', QUEUE % 'remote.example')
    raw.send("<presence type='unavailable'/>")
    sync(raw)
    q = s.redis('LRANGE', QUEUE % 'remote.example', 0, -1)
    assert any("type='unavailable'" in e and "to='dave@remote.example'" in e for e in q), q
    assert any("type='unavailable'" in e and "to='erin@remote.example/pc'" in e for e in q), q


def test_xmppctl_lists_routes(server_factory):
    """xmppctl s2s: each route with its queue, the oldest's age, the
    verifications waiting and who is connected on it."""
    s = server(server_factory, s2s='yes')
    raw, _ = raw_login(s, ALICE)
    send(raw, 'bob@remote.example', id='m1')
    send(raw, 'bob@remote.example', id='m2')
    send(raw, 'carol@far.example', id='m3')
    sync(raw)
    s.redis('SET', 'xmpp:s2s:lease:{far.example/localhost}', 'h1 77', 'EX', '60')
    s.redis('SET', 'xmpp:s2s:lease:{idle.example/localhost}', 'h2 88', 'EX', '60')
    s.redis('RPUSH', 'xmpp:s2s:verify:{far.example/localhost}', 'q1 far.example localhost i k')
    r = s.ctl('s2s')
    assert r.returncode == 0, r.stderr
    lines = [l[4:] for l in r.stdout.splitlines() if l.startswith('out ')]
    ages = [int(re.search(r' oldest=(\d+)', l).group(1)) for l in lines]
    assert ages[1] == 0 and 0 <= ages[0] <= 10 and 0 <= ages[2] <= 10, lines
    lines = [re.sub(r' oldest=\d+', ' oldest=N', l) for l in lines]
    assert lines == [
        'far.example/localhost queued=1 oldest=N verify=1 connected=h1:77',
        'idle.example/localhost queued=0 oldest=N verify=0 connected=h2:88',
        'remote.example/localhost queued=2 oldest=N verify=0 connected=-'], r.stdout
    assert not [l for l in r.stdout.splitlines() if l.startswith('in ')], r.stdout
    assert s.ctl('s2s', 'extra').returncode == 100          # usage


def test_pep_notification_to_a_remote_contact(server_factory):
    """XEP-0163: a contact of another domain that sees the user's presence
    gets the notification through federation, addressed to its bare JID."""
    s = server(server_factory, s2s='yes')
    assert s.ctl('roster', ALICE, 'add', 'dave@remote.example').returncode == 0   # both
    raw, _ = raw_login(s, ALICE)
    raw.send("<iq type='set' id='p1'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
             "<publish node='http://jabber.org/protocol/nick'><item>"
             "<nick xmlns='http://jabber.org/protocol/nick'>Alice</nick></item></publish>"
             "</pubsub></iq>")
    el = raw_wait(raw, lambda e: e.get('id') == 'p1')
    assert el.get('type') == 'result', el
    q = s.redis('LRANGE', QUEUE % 'remote.example', 0, -1)
    ev = [e for e in q if 'http://jabber.org/protocol/pubsub#event' in e]
    assert len(ev) == 1 and "to='dave@remote.example'" in ev[0] and \
        "from='alice@localhost'" in ev[0] and '>Alice<' in ev[0], q
