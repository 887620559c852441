"""Stanzas from local users to other domains (federation, router/s2s.h):
with s2s on, a message or IQ to an allowed remote domain is queued in
Redis for the route REMOTE/LOCAL, with the sender's full JID; off,
denied or not allowed, it is answered remote-server-not-found; a full
queue answers resource-constraint."""
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
    assert s.redis('SMEMBERS', 'xmpp:s2s:domains') == ['remote.example/localhost']


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
