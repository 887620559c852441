"""XEP-0077 3.1: in-band registration of new accounts, on raw streams
(exact answers) and with slixmpp's plugin xep_0077 as a third-party
client: registration = closed | open | invite, the per-address limit
(registration_limit, registration_window), and invitation tokens made by
`xmppctl invite`, given in the register form or with an XEP-0445
<preauth/>. The error answers of open mode are in
transcripts/register-new-errors.xmpp.

Uses the harness fixture API: server_factory, server.port(s), .domain,
.adduser(), .ctl(), .redis(), .raw(), .log().
"""

import base64
import threading
import time

import pytest

try:                                    # tests/proto as a package
    from . import clients as C
    from .harness import to_xml
except ImportError:                     # tests/proto on sys.path (rootdir-less)
    import clients as C
    from harness import to_xml

PW = 'fresh horse battery staple'
NS_REGISTER = 'jabber:iq:register'
NS_FEAT = 'http://jabber.org/features/iq-register'
NS_IBR_TOKEN = 'urn:xmpp:ibr-token:0'
NS_PARS = 'urn:xmpp:pars:0'
NS_XDATA = 'jabber:x:data'
NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas'


def describe(server, what=None):
    return '%r\n--- handler log (tail) ---\n%s' % (what, server.log()[-3000:])


def open_stream(server, listener=0):
    r = server.raw(listener)
    return r, r.open(server.domain)


def offered(features):
    """The register stream features offered: a set of namespaces."""
    return {f.tag.split('}')[0][1:] for f in features if f.tag.endswith('}register')}


def ask(r, xml):
    r.send(xml)
    ev, el = r.next()
    assert ev == 'element', (ev, el is not None and to_xml(el))
    return el


def outcome(el):
    """'result', or the error condition (and its type) as 'cond/type'."""
    if el.get('type') == 'result':
        return 'result'
    err = el.find('{jabber:client}error')
    assert err is not None, to_xml(el)
    conds = [c.tag.split('}')[1] for c in err if c.tag != '{%s}text' % NS_STANZAS]
    return '%s/%s' % (conds[0], err.get('type'))


def register(r, user, password=PW, extra='', rid='reg'):
    fields = ''
    if user is not None:
        fields += '<username>%s</username>' % user
    if password is not None:
        fields += '<password>%s</password>' % password
    return outcome(ask(r, "<iq type='set' id='%s'><query xmlns='%s'>%s%s</query></iq>"
                          % (rid, NS_REGISTER, fields, extra)))


def register_form(r, user, token, password=PW):
    form = ("<x xmlns='%s' type='submit'><field var='FORM_TYPE'><value>%s</value></field>"
            "<field var='username'><value>%s</value></field>"
            "<field var='password'><value>%s</value></field>"
            "<field var='token'><value>%s</value></field></x>"
            % (NS_XDATA, NS_REGISTER, user, password, token))
    return outcome(ask(r, "<iq type='set' id='form'><query xmlns='%s'>%s</query></iq>"
                          % (NS_REGISTER, form)))


def preauth(r, token):
    return outcome(ask(r, "<iq type='set' id='pa1' to='localhost'>"
                          "<preauth xmlns='%s' token='%s'/></iq>" % (NS_PARS, token)))


def register_on_new_stream(server, user, password=PW, listener=0):
    r, _ = open_stream(server, listener)
    got = register(r, user, password)
    r.close()
    return got


def plain(r, user, password):
    """SASL PLAIN on the same stream: 'success' or the failure condition."""
    b64 = base64.b64encode(b'\0' + user.encode() + b'\0' + password.encode()).decode()
    el = ask(r, "<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, b64))
    return el.tag.split('}')[1] if el.tag == '{%s}success' % NS_SASL else \
        [c.tag.split('}')[1] for c in el][0]


def logs_in(server, bare, password, mech='SCRAM-SHA-256'):
    o = C.login_once(server.port, bare + '/check', password, mech=mech)
    assert not o.timed_out, describe(server, o)
    return o.session_started


def users(server):
    return server.ctl('users').stdout.split()


def invite(server, *args):
    p = server.ctl('invite', *args)
    assert p.returncode == 0, (p.returncode, p.stderr)
    token, uri = p.stdout.split()
    return token, uri


# ---- closed ----

def test_closed_offers_nothing_and_refuses_tokens(server_factory):
    """registration = closed (the default, here said): no register
    feature, and neither a register IQ nor a preauth gets anywhere, even
    with a token the operator made."""
    server = server_factory(registration='closed')
    token, _ = invite(server)
    r, features = open_stream(server)
    assert offered(features) == set(), to_xml(features)
    assert preauth(r, token) == 'service-unavailable/cancel'
    assert register(r, 'eve') == 'service-unavailable/cancel'
    assert register_form(r, 'eve', token) == 'service-unavailable/cancel'
    assert users(server) == []


# ---- open ----

def test_open_register_then_log_in_on_the_same_stream(server_factory):
    """The feature and the fields; the account is created as xmppctl
    adduser creates one (the same hash fields, the users index), the
    client logs in with SASL on the same stream, and later with every
    mechanism."""
    server = server_factory(registration='open')
    bare = 'newbie@' + server.domain
    r, features = open_stream(server)
    assert offered(features) == {NS_FEAT}, to_xml(features)
    form = ask(r, "<iq type='get' id='g1'><query xmlns='%s'/></iq>" % NS_REGISTER)
    q = form.find('{%s}query' % NS_REGISTER)
    assert [c.tag.split('}')[1] for c in q] == ['instructions', 'username', 'password'], \
        to_xml(form)
    assert register(r, 'newbie') == 'result', describe(server)
    assert plain(r, 'newbie', PW) == 'success', describe(server)
    r.close()

    server.adduser('byop@' + server.domain, PW)
    made = server.redis('HGETALL', 'xmpp:{%s}:account' % bare)
    by_ctl = server.redis('HGETALL', 'xmpp:{byop@%s}:account' % server.domain)
    assert sorted(made[0::2]) == sorted(by_ctl[0::2]) == \
        ['created', 'scram-sha-1', 'scram-sha-256'], (made, by_ctl)
    assert bare in users(server)
    for mech in ('SCRAM-SHA-1', 'SCRAM-SHA-256', 'PLAIN'):
        assert logs_in(server, bare, PW, mech), describe(server, mech)
    assert not logs_in(server, bare, 'not the password'), describe(server)


def test_open_conflict_keeps_the_account(server_factory):
    server = server_factory(registration='open')
    bare = 'alice@' + server.domain
    server.adduser(bare, 'the old one')
    assert register_on_new_stream(server, 'alice') == 'conflict/cancel'
    assert register_on_new_stream(server, 'ALICE') == 'conflict/cancel'   # nodeprep
    assert logs_in(server, bare, 'the old one'), describe(server)
    assert not logs_in(server, bare, PW), describe(server)


@pytest.mark.parametrize('user', ['bad@name', 'has space', 'a/b', 'x' * 1024])
def test_open_bad_username(server_factory, user):
    server = server_factory(registration='open')
    assert register_on_new_stream(server, user) == 'not-acceptable/modify', describe(server)
    assert users(server) == []


@pytest.mark.parametrize('password', ['pw\ue000', 'x' * 512])
def test_open_unacceptable_password(server_factory, password):
    server = server_factory(registration='open')
    assert register_on_new_stream(server, 'bob', password) == 'not-acceptable/modify'
    assert users(server) == []


@pytest.mark.parametrize('user,password', [(None, PW), ('bob', None), ('', PW), ('bob', '')])
def test_open_missing_fields(server_factory, user, password):
    """XEP-0077 3.1: information missing or empty is <not-acceptable/>."""
    server = server_factory(registration='open')
    assert register_on_new_stream(server, user, password) == 'not-acceptable/modify'
    assert users(server) == []


def test_open_needs_a_channel_for_passwords(server_factory):
    """No TLS and no allow_plaintext_auth: no feature, and a register
    IQ is <not-authorized/> (as SASL offers no PLAIN there)."""
    server = server_factory(registration='open', allow_plaintext_auth=False)
    r, features = open_stream(server)
    assert offered(features) == set(), to_xml(features)
    assert register(r, 'bob') == 'not-authorized/auth'
    assert users(server) == []


# ---- the limit per address ----

def test_limit_per_address_shared_by_hosts(server_factory):
    """registration_limit accounts per window from one address, counted
    in Redis: a second host refuses the next one with
    <policy-violation/> (type wait), and nothing is created."""
    server = server_factory(listeners=2, registration='open', registration_limit=2,
                            registration_window=600)
    assert register_on_new_stream(server, 'one') == 'result'
    assert register_on_new_stream(server, 'two', listener=1) == 'result'
    r, _ = open_stream(server, 1)
    r.send("<iq type='set' id='x'><query xmlns='%s'><username>three</username>"
           "<password>%s</password></query></iq>" % (NS_REGISTER, PW))
    ev, el = r.next()
    assert outcome(el) == 'policy-violation/wait', to_xml(el)
    assert 'try again later' in to_xml(el), to_xml(el)
    assert register_on_new_stream(server, 'four') == 'policy-violation/wait'
    assert sorted(users(server)) == ['one@localhost', 'two@localhost']
    key = 'xmpp:registration:127.0.0.1'
    assert server.redis('GET', key) == '2'
    assert 0 < server.redis('TTL', key) <= 600
    # the window over (here: the counter gone), the address may again
    server.redis('DEL', key)
    assert register_on_new_stream(server, 'five') == 'result'


def test_limit_spares_exempt_networks(server_factory):
    server = server_factory(registration='open', registration_limit=1,
                            auth_exempt='127.0.0.0/8')
    assert register_on_new_stream(server, 'one') == 'result'
    assert register_on_new_stream(server, 'two') == 'result'
    assert server.redis('EXISTS', 'xmpp:registration:127.0.0.1') == 0


# ---- invitations ----

def test_invite_without_token_refused(server_factory):
    """The ibr-token feature (XEP-0445) and a form with a token field;
    without a token <forbidden/>, a failed preauth <item-not-found/>."""
    server = server_factory(registration='invite')
    r, features = open_stream(server)
    assert offered(features) == {NS_FEAT, NS_IBR_TOKEN}, to_xml(features)
    form = ask(r, "<iq type='get' id='g1'><query xmlns='%s'/></iq>" % NS_REGISTER)
    x = form.find('{%s}query/{%s}x' % (NS_REGISTER, NS_XDATA))
    assert x is not None and x.get('type') == 'form', to_xml(form)
    assert {f.get('var') for f in x} >= {'FORM_TYPE', 'username', 'password', 'token'}
    assert register(r, 'eve') == 'forbidden/auth'
    assert preauth(r, 'f' * 32) == 'item-not-found/cancel'
    assert preauth(r, 'not hex') == 'item-not-found/cancel'
    assert register_form(r, 'eve', 'f' * 32) == 'forbidden/auth'
    assert register(r, 'eve') == 'forbidden/auth'
    assert users(server) == []


def test_invite_token_in_the_form_works_once(server_factory):
    server = server_factory(registration='invite')
    token, uri = invite(server)
    assert uri == 'xmpp:%s?register;preauth=%s' % (server.domain, token)
    assert token in server.ctl('invites').stdout
    r, _ = open_stream(server)
    assert register_form(r, 'juliet', token) == 'result', describe(server)
    assert plain(r, 'juliet', PW) == 'success'
    r.close()
    assert token not in server.ctl('invites').stdout
    assert server.redis('EXISTS', 'xmpp:invite:' + token) == 0
    # used: neither way takes it again
    r, _ = open_stream(server)
    assert register_form(r, 'romeo', token) == 'forbidden/auth'
    assert preauth(r, token) == 'item-not-found/cancel'
    assert users(server) == ['juliet@localhost']
    assert logs_in(server, 'juliet@localhost', PW)


def test_invite_preauth_then_register(server_factory):
    """XEP-0445: a preauth with a good token, then the plain fields; the
    get no longer asks for a token."""
    server = server_factory(registration='invite')
    token, _ = invite(server)
    r, _ = open_stream(server)
    assert preauth(r, token) == 'result'
    form = ask(r, "<iq type='get' id='g1'><query xmlns='%s'/></iq>" % NS_REGISTER)
    assert form.find('{%s}query/{%s}x' % (NS_REGISTER, NS_XDATA)) is None, to_xml(form)
    assert server.redis('EXISTS', 'xmpp:invite:' + token) == 1     # not used up yet
    assert register(r, 'nurse') == 'result', describe(server)
    r.close()
    assert server.redis('EXISTS', 'xmpp:invite:' + token) == 0
    assert logs_in(server, 'nurse@localhost', PW)


def test_invite_expired_refused(server_factory):
    server = server_factory(registration='invite')
    # Long enough that a loaded machine still reads the TTL before it
    # runs out.
    token, _ = invite(server, '--expires', '3')
    assert 0 < server.redis('TTL', 'xmpp:invite:' + token) <= 3
    time.sleep(3.5)
    r, _ = open_stream(server)
    assert preauth(r, token) == 'item-not-found/cancel'
    assert register_form(r, 'late', token) == 'forbidden/auth'
    assert users(server) == []


def test_invite_for_one_user(server_factory):
    """--user: the URI names the JID, the token is for that name only,
    and the name is reserved: open registration cannot take it without
    the token; `xmppctl uninvite` frees it."""
    server = server_factory(registration='open')
    token, uri = invite(server, '--user', 'Bob')
    assert uri == 'xmpp:bob@%s?register;preauth=%s' % (server.domain, token)
    assert server.ctl('invite', '--user', 'bob').returncode == 1     # one per name
    r, _ = open_stream(server)
    assert register_form(r, 'eve', token) == 'forbidden/auth'
    assert register(r, 'bob') == 'conflict/cancel'
    r.close()
    r, _ = open_stream(server)
    assert register_form(r, 'bob', token) == 'result', describe(server)
    r.close()
    assert server.redis('EXISTS', 'xmpp:{bob@localhost}:invite') == 0
    token2, _ = invite(server, '--user', 'carol')
    assert server.ctl('uninvite', token2).returncode == 0
    assert server.ctl('uninvite', token2).returncode == 1
    assert register_on_new_stream(server, 'carol') == 'result'


def test_invite_given_back_when_the_name_is_taken(server_factory):
    """The invitation is used up before the account is made (another
    slot of a cluster): a name that is taken gives it back, with the time
    it had left, and it works for another name."""
    server = server_factory(registration='invite')
    server.adduser('taken@localhost', PW)
    token, _ = invite(server, '--expires', '600')
    r, _ = open_stream(server)
    assert register_form(r, 'taken', token) == 'conflict/cancel'
    r.close()
    assert 500 < server.redis('TTL', 'xmpp:invite:' + token) <= 600
    assert token in server.ctl('invites').stdout
    r, _ = open_stream(server)
    assert register_form(r, 'fresh', token) == 'result', describe(server)
    r.close()
    assert server.redis('EXISTS', 'xmpp:invite:' + token) == 0
    assert users(server) == ['fresh@localhost', 'taken@localhost']


def test_limit_place_given_back_when_the_name_is_taken(server_factory):
    """A place of the address's count is taken before the account is
    made: a taken name gives it back."""
    server = server_factory(registration='open', registration_limit=2,
                            registration_window=600)
    assert register_on_new_stream(server, 'one') == 'result'
    assert register_on_new_stream(server, 'one') == 'conflict/cancel'
    assert register_on_new_stream(server, 'one') == 'conflict/cancel'
    assert server.redis('GET', 'xmpp:registration:127.0.0.1') == '1'
    assert register_on_new_stream(server, 'two') == 'result'
    assert register_on_new_stream(server, 'three') == 'policy-violation/wait'
    assert server.redis('GET', 'xmpp:registration:127.0.0.1') == '2'


def test_invite_race_one_winner(server_factory):
    """Two streams registering with one token at the same moment: one
    account, the other <forbidden/>."""
    server = server_factory(registration='invite')
    token, _ = invite(server)
    streams = [open_stream(server)[0] for _ in range(2)]
    results = [None, None]
    go = threading.Barrier(2)

    def run(i):
        go.wait()
        results[i] = register_form(streams[i], 'racer%d' % i, token)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == ['forbidden/auth', 'result'], describe(server, results)
    assert len(users(server)) == 1, users(server)


# ---- a third-party client ----

def test_slixmpp_registers_then_logs_in(server_factory):
    """slixmpp's xep_0077 plugin sees the register feature, asks for the
    fields, registers, then authenticates on the same stream (SCRAM)."""
    server = server_factory(registration='open')
    bare = 'slix@' + server.domain
    seen = {}

    async def go():
        c = C.Client(bare + '/reg', PW, mech='SCRAM-SHA-256',
                     plugins=['xep_0004', 'xep_0066', 'xep_0077'])
        # slixmpp 1.8.3 queues every stanza until the session starts
        # (XMLStream.send), the registration IQs too, which then never
        # leave; its own test suite lifts that with this flag.
        c.xmpp._always_send_everything = True

        async def on_register(form):
            seen['fields'] = [k for k in ('username', 'password')
                              if k in form['register']['fields']]
            resp = c.xmpp.Iq()
            resp['type'] = 'set'
            resp['register']['username'] = c.xmpp.boundjid.user
            resp['register']['password'] = c.xmpp.password
            try:
                await resp.send(timeout=10)
                seen['registered'] = 'result'
            except Exception as e:            # IqError: what came back
                seen['registered'] = repr(e)
        c.xmpp.add_event_handler('register', on_register)
        await c.login(server.port)
        return c.outcome
    o = C.run(go, timeout=60)
    assert seen.get('registered') == 'result', describe(server, seen)
    assert seen.get('fields') == ['username', 'password'], seen
    assert o.session_started and o.bound_jid == bare + '/reg', describe(server, o)
    assert users(server) == [bare]
    assert logs_in(server, bare, PW, 'SCRAM-SHA-1'), describe(server)
