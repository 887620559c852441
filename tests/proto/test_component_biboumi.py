"""test_component_biboumi.py - a real gateway through xmpp-component:
Debian's biboumi (an XMPP-IRC gateway, XEP-0114 component) bridging a
local user to an IRC channel of Debian's ngircd, both started by the
test in a private network namespace (s2s_harness.Federation: its own
loopback, so IRC's default port 6667 is private to the test).

alice (slixmpp) joins #test%127.0.0.1@irc.localhost through biboumi; bob
is a raw IRC client on ngircd in #test. bob's words reach alice as
groupchat from the room, and alice's reach bob as a PRIVMSG.
"""
import asyncio
import os
import socket
import time
import xml.etree.ElementTree as ET

import pytest

try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import IM, PW, body_is, is_
from s2s_harness import federation, pki, tail, wait_for  # noqa: F401 (fixtures)

COMP, SECRET = 'irc.localhost', 's3cret-irc'
ALICE = 'alice@localhost'
IRC_PORT = 6667            # biboumi falls back to it when TLS ports refuse
ROOM = '#test%%127.0.0.1@%s' % COMP
BIBOUMI, NGIRCD = '/usr/bin/biboumi', '/usr/sbin/ngircd'

NGIRCD_CONF = """[Global]
Name = irc.test
Info = xmppd test
Listen = 127.0.0.1
Ports = %d
MotdPhrase = "test"
[Options]
PAM = no
Ident = no
DNS = no
"""

BIBOUMI_CONF = """hostname=%s
password=%s
xmpp_server_ip=%s
port=%d
db_name=%s/biboumi.sqlite
identd_port=0
log_level=0
realname_customization=true
realname_from_jid=false
"""


def need_programs():
    for p, pkg in ((BIBOUMI, 'biboumi'), (NGIRCD, 'ngircd')):
        if not os.access(p, os.X_OK):
            pytest.fail('%s is missing: install %s (sh tests/deps.sh)' % (p, pkg))


class IRC:
    """A raw IRC client: lines in and out."""

    def __init__(self, sock):
        self.s = sock
        self.s.settimeout(0.2)
        self.buf = b''
        self.lines = []

    def send(self, line):
        self.s.sendall(line.encode() + b'\r\n')

    def pump(self):
        try:
            data = self.s.recv(4096)
        except socket.timeout:
            return
        self.buf += data
        while b'\r\n' in self.buf:
            line, self.buf = self.buf.split(b'\r\n', 1)
            line = line.decode(errors='replace')
            if line.startswith('PING'):
                self.send('PONG' + line[4:])
            self.lines.append(line)

    def wait(self, pred, timeout=15, what='a line'):
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if pred(line):
                    return line
            assert time.monotonic() < deadline, 'IRC: no %s; got:\n  %s' % (
                what, '\n  '.join(self.lines[-30:]))
            self.pump()


def test_biboumi_bridges_irc(federation, tmp_path):
    need_programs()
    fed = federation.start()
    server = fed.xmppd('localhost', listeners=2, srv=False,
                       listener_progs=[None, 'xmpp-component'],
                       component='%s %s' % (COMP, SECRET))
    server.adduser(ALICE, PW)
    d = str(tmp_path)
    with open(os.path.join(d, 'ngircd.conf'), 'w') as f:
        f.write(NGIRCD_CONF % IRC_PORT)
    with open(os.path.join(d, 'biboumi.cfg'), 'w') as f:
        f.write(BIBOUMI_CONF % (COMP, SECRET, server.host, server.ports[1], d))
    ircd_log, bib_log = os.path.join(d, 'ngircd.log'), os.path.join(d, 'biboumi.log')
    fed.popen([NGIRCD, '-n', '-f', os.path.join(d, 'ngircd.conf')], log=ircd_log)
    wait_for(lambda: fed.net.port_open('127.0.0.1', IRC_PORT), 10, 'ngircd listening')
    fed.popen([BIBOUMI, os.path.join(d, 'biboumi.cfg')], log=bib_log, cwd=d)
    # biboumi is connected once its route's lease is held
    with fed.explain(('biboumi', lambda: tail(bib_log)), ('ngircd', lambda: tail(ircd_log))):
        wait_for(lambda: server.redis('GET', 'xmpp:s2s:lease:{%s/component}' % COMP), 15,
                 'biboumi connected')
        bob = IRC(fed.net.connect('127.0.0.1', IRC_PORT))
        bob.send('NICK bob')
        bob.send('USER bob 0 * :Bob')
        bob.wait(lambda l: ' 001 ' in l, what='welcome')
        bob.send('JOIN #test')
        bob.wait(lambda l: 'JOIN' in l and '#test' in l, what='JOIN')
        seen = {}

        async def go():
            a = IM(ALICE + '/home')
            out = await a.login(server.ports[0], host=server.host, timeout=15)
            assert out.session_started, out
            a.xmpp.send_presence()
            # a MUC join (XEP-0045 7.2.2: with <x/>; biboumi needs it)
            p = a.xmpp.make_presence(pto=ROOM + '/alice')
            p.xml.append(ET.Element('{http://jabber.org/protocol/muc}x'))
            p.send()
            # the self-presence: the IRC channel is joined
            await a.wait1(is_('presence', from_=ROOM + '/alice'), timeout=20)
            seen['bob in room'] = bool(a.seen(is_('presence', from_=ROOM + '/bob')))
            # IRC -> XMPP
            bob.send('PRIVMSG #test :hello from irc')
            deadline = time.monotonic() + 15
            while not a.seen(body_is('hello from irc')) and time.monotonic() < deadline:
                bob.pump()
                await asyncio.sleep(0.05)
            m = await a.wait1(body_is('hello from irc'), timeout=1)
            seen['from irc'] = (m.get('from'), m.get('type'))
            # XMPP -> IRC
            a.xmpp.send_message(mto=ROOM, mbody='hello from xmpp', mtype='groupchat')
            await asyncio.sleep(0.1)
            await a.close()
        fed.run_clients(go, timeout=60)
        line = bob.wait(lambda l: 'PRIVMSG #test :hello from xmpp' in l, what='the PRIVMSG')
        seen['to irc'] = line.split()[0]
    assert seen['from irc'] == (ROOM + '/bob', 'groupchat')
    assert seen['bob in room']
    assert seen['to irc'].startswith(':alice!')
