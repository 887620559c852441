"""XEP-0357 push notifications. The phone registers with StanzaJS (a
third-party client library, in node, over WebSocket through xmpp-web:
tests/clients/stanza/stanza-push.cjs) an app server on another domain
(push.test, reached through federation) with a node and a
publish-options form; slixmpp with xep_0198 is the phone whose stream
management session is detached. The
notifications are read where the federation queues them for push.test
(xmpp:s2s:out:{push.test/localhost}), where xmpp-s2s-out would send
them.

- registered, then gone (absent): alice's message makes one
  notification, an XEP-0060 publish from bob's bare JID to the node with
  the urn:xmpp:push:summary form (message-count, last-message-sender, no
  body) and bob's publish-options; a second message within
  push_interval makes none, and the next one after it counts both;
- the account's disco#info says urn:xmpp:push:0;
- a detached session (stream management, TCP cut) is asleep too: a
  notification; a session that is there gets none;
- push_body = yes adds the body; <disable/> ends the notifications;
- the app server as Prosody's pubsub component on another domain, which
  accepts the publish, and as an external component of ours (slixmpp's
  ComponentXMPP), with federation off.
"""
import asyncio
import json
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import clients as C
from harness import wait_until
from im_helpers import PW, raw_login
from s2s_harness import federation, pki  # noqa: F401 (fixtures)

STANZA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'clients', 'stanza')

ALICE, BOB = 'alice@localhost', 'bob@localhost'
APP = 'push.test'
ROUTE = APP + '/localhost'
NS_PUBSUB = '{http://jabber.org/protocol/pubsub}'
NS_X = '{jabber:x:data}'


def notes(s):
    out = []
    for env in s.redis('LRANGE', 'xmpp:s2s:out:{%s}' % ROUTE, '0', '-1') or []:
        out.append(ET.fromstring(env.split('\n', 1)[1]))
    return out


def summary(iq):
    """(node, {field: value}, publish-options {field: value}) of a
    notification."""
    pub = iq.find('%spubsub/%spublish' % (NS_PUBSUB, NS_PUBSUB))
    x = pub.find('%sitem/{urn:xmpp:push:0}notification/%sx' % (NS_PUBSUB, NS_X))
    fields = {f.get('var'): f.findtext(NS_X + 'value') for f in x.findall(NS_X + 'field')}
    o = iq.find('%spubsub/%spublish-options/%sx' % (NS_PUBSUB, NS_PUBSUB, NS_X))
    opts = {} if o is None else {f.get('var'): f.findtext(NS_X + 'value')
                                 for f in o.findall(NS_X + 'field')}
    return pub.get('node'), fields, opts


def start(server_factory, **conf):
    """Listener 0 the handler, listener 1 xmpp-web (WebSocket)."""
    s = server_factory(listeners=2, listener_progs=[None, 'xmpp-web'], s2s='yes',
                       resume_timeout=60, **conf)
    s.adduser(ALICE, PW)
    s.adduser(BOB, PW)
    return s


def stanza_js(s, *args):
    """Run stanza-push.cjs as bob; its events (one JSON object a line)."""
    script = os.path.join(STANZA, 'stanza-push.cjs')
    assert os.path.isdir(os.path.join(STANZA, 'node_modules', 'stanza')), \
        'StanzaJS is missing: sh tests/deps.sh'
    url = 'ws://127.0.0.1:%d/xmpp-websocket' % s.ports[1]
    p = subprocess.run(['node', script, url, BOB, PW] + list(args), capture_output=True,
                       text=True, timeout=40)
    evs = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr[-2000:])
    return evs


def register(s, node='n1'):
    """bob's phone registers APP/node with a publish-options form; the
    account's disco#info it read first."""
    evs = stanza_js(s, 'enable', APP, node, 's3cr3t')
    assert {'ev': 'enabled'} in evs, evs
    return [e for e in evs if e['ev'] == 'features'][0]['features']


def send(raw, body, to=BOB):
    raw.send("<message to='%s' type='chat'><body>%s</body></message>" % (to, body))


def test_absent_user_is_notified_once_per_burst(server_factory):
    s = start(server_factory, push_interval=3)
    alice, alice_full = raw_login(s, ALICE, resource='a')
    assert 'urn:xmpp:push:0' in register(s)
    wait_until(lambda: not s.redis('HLEN', 'xmpp:{%s}:sessions' % BOB), what='bob gone')
    t0 = time.monotonic()
    send(alice, 'first')
    wait_until(lambda: len(notes(s)) == 1, what='a notification queued for the app server')
    iq = notes(s)[0]
    assert iq.get('type') == 'set' and iq.get('from') == BOB and iq.get('to') == APP
    node, fields, opts = summary(iq)
    assert node == 'n1'
    assert fields['FORM_TYPE'] == 'urn:xmpp:push:summary'
    assert fields['message-count'] == '1'
    assert fields['last-message-sender'] == alice_full
    assert 'last-message-body' not in fields, fields    # push_body = no
    assert opts.get('secret') == 's3cr3t', opts
    # the same burst: nothing more ...
    send(alice, 'second')
    wait_until(lambda: s.redis('LLEN', 'xmpp:{%s}:offline' % BOB) == 2, what='both stored')
    time.sleep(0.5)
    assert len(notes(s)) == 1
    # ... until push_interval has passed: the next counts both
    time.sleep(max(0, 3.2 - (time.monotonic() - t0)))
    send(alice, 'third')
    wait_until(lambda: len(notes(s)) == 2, what='the next burst notified')
    assert summary(notes(s)[1])[1]['message-count'] == '2'


def test_detached_session_notified_live_one_not(server_factory):
    s = start(server_factory, push_interval=0, push_body='yes')
    alice, _ = raw_login(s, ALICE, resource='a')

    register(s)

    async def go():
        b = C.SMClient(BOB + '/phone', PW)
        assert (await b.login(s.port)).session_started
        await b.until(lambda: 'sm_enabled' in b.events)
        send(alice, 'while here', BOB + '/phone')
        await b.until(lambda: 'while here' in b.bodies)
        await asyncio.sleep(0.3)
        assert notes(s) == [], 'a session that is there needs no push'
        b.drop()                                     # TCP cut: detached
        await b.wait_disconnected()
        return True
    assert C.run(go, timeout=40)
    wait_until(lambda: ' det=0' not in (s.redis('HGET', 'xmpp:{%s}:sessions' % BOB, 'phone')
                                        or ' det=0'), what='detached')
    send(alice, 'while away', BOB + '/phone')
    wait_until(lambda: len(notes(s)) == 1, what='a notification for the detached session')
    fields = summary(notes(s)[0])[1]
    assert fields['last-message-body'] == 'while away', fields      # push_body = yes
    # <disable/>: no more
    assert {'ev': 'disabled'} in stanza_js(s, 'disable', APP)
    assert not s.redis('EXISTS', 'xmpp:{%s}:push' % BOB)
    send(alice, 'after disable', BOB + '/phone')
    wait_until(lambda: s.redis('LLEN', 'xmpp:{%s}:inbox:phone' % BOB) >= 2,
               what='kept by the detached session')
    time.sleep(0.5)
    assert len(notes(s)) == 1


def test_notification_reaches_an_app_server_on_another_domain(federation):
    """End to end through the federation harness: the app server is
    push.b.test, Prosody's pubsub component on another domain; bob@a.test
    registers it with StanzaJS, goes away, alice's message makes xmppd
    publish the notification there (xmpp-s2s-out, SASL EXTERNAL), and
    Prosody's pubsub service receives it."""
    from s2s_harness import _lua
    from test_s2s_out import Dispatcher
    import im_helpers as H
    fed = federation
    crt, key = fed.pki.cert('push.b.test')
    p = fed.prosody('b.test', secure_auth=True, host_config=(
        'Component "push.b.test" "pubsub"\n  ssl = { certificate = %s, key = %s }\n'
        '  autocreate_on_publish = true\n'
        # the app server lets the user's server publish (as a real one
        # authorises the servers it serves)
        '  admins = { "bob@a.test" }\n' % (_lua(crt), _lua(key))))
    fed.publish('push.b.test', p.addr, p.s2s_port, host='xmpp.b.test')
    fed.start()
    crt, key = fed.pki.cert('a.test')
    x = fed.xmppd('a.test', listeners=3, s2s_listener=1,
                  listener_progs=[None, 'xmpp-s2s-in', 'xmpp-web'], s2s='yes',
                  s2s_ca_file=fed.pki.ca_cert, tls_cert=crt, tls_key=key, push_interval=0)
    out = Dispatcher(x.conf_path, os.path.join(x.dir, 'out.log'), popen=fed.popen)
    x.adduser('alice@a.test', PW)
    x.adduser('bob@a.test', PW)
    log = os.path.join(x.dir, 'stanza.log')
    js = fed.popen(['node', os.path.join(STANZA, 'stanza-push.cjs'),
                    'ws://%s:%d/xmpp-websocket' % (x.host, x.ports[2]), 'bob@a.test', PW,
                    'enable', 'push.b.test', 'n1', '-'], log=log)
    try:
        assert js.wait(40) == 0, open(log).read()
        assert '"ev":"enabled"' in open(log).read()

        async def go():
            a = H.IM('alice@a.test/a', PW)
            assert (await a.login(x.port, host=x.host, timeout=10)).session_started
            a.xmpp.send_message(mto='bob@a.test', mbody='wake up', mtype='chat')
            return True
        with fed.explain(('xmpp-s2s-out', out.log), ('xmppd', x.log)):
            assert fed.run_clients(go, timeout=60)
            def received():
                for line in p.log().splitlines():
                    if "Received[s2sin]: <iq " in line and "to='push.b.test'" in line and \
                            "from='bob@a.test'" in line and "type='set'" in line:
                        return re.search(r"id='(push-[0-9a-f]+)'", line).group(1)
            iq_id = wait_until(received, timeout=30,
                               what="Prosody's pubsub service to receive the notification")

            # ... and take it: its result goes back to bob's bare JID
            def answered():
                for line in p.log().splitlines():
                    if "Sending[s2sout]: <iq " in line and "id='%s'" % iq_id in line:
                        return line
            line = wait_until(answered, timeout=30, what="Prosody's pubsub service to answer")
            assert "type='result'" in line, p.log()[-6000:]
    finally:
        out.stop()


def test_app_server_as_a_component(server_factory):
    """The app server is an external component (slixmpp's ComponentXMPP
    on xmpp-component, XEP-0114): with federation off, the notification
    reaches it through its route, and its result ends the exchange."""
    from test_component import Comp, comp_is
    s = server_factory(listeners=3, listener_progs=[None, 'xmpp-web', 'xmpp-component'],
                       component='push.localhost s3cret-app', push_interval=0)
    s.adduser(ALICE, PW)
    s.adduser(BOB, PW)
    evs = stanza_js(s, 'enable', 'push.localhost', 'n9', '-')
    assert {'ev': 'enabled'} in evs, evs
    alice, alice_full = raw_login(s, ALICE, resource='a')

    async def go():
        app = Comp(jid='push.localhost', secret='s3cret-app')
        assert (await app.login(s.ports[2], timeout=10)).session_started
        wait_until(lambda: not s.redis('HLEN', 'xmpp:{%s}:sessions' % BOB), what='bob gone')
        send(alice, 'to the phone')
        iq = await app.wait1(comp_is('iq', type='set'), timeout=10)
        app.xmpp.make_iq_result(iq.get('id'), ito=iq.get('from')).send()
        return iq
    iq = C.run(go, timeout=40)
    assert iq.get('from') == BOB and iq.get('to') == 'push.localhost'
    for e in iq.iter():
        e.tag = e.tag.replace('{jabber:component:accept}', '{jabber:client}')
    node, fields, _ = summary(iq)
    assert node == 'n9' and fields['message-count'] == '1', fields
    assert fields['last-message-sender'] == alice_full
