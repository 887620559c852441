"""A desktop client against xmppd: Gajim (Debian's gajim 1.7) under Xvfb
fetches and shows a contact's XEP-0084 avatar.

alice and bob are contacts (subscription both, set with xmppctl). alice,
a slixmpp client, publishes a 32x32 PNG of one colour made here: the
data node (urn:xmpp:avatar:data, item id the SHA-1 of the bytes) and the
metadata node (urn:xmpp:avatar:metadata, <info/> with that id), default
access model (presence), and logs out. Then Gajim logs in as bob on a
display of its own (Xvfb), with a settings database written here: the
server on 127.0.0.1 at the listener's port, no TLS (the test server
allows plaintext authentication), the password in the settings, no
keyring. Gajim announces urn:xmpp:avatar:metadata+notify in its XEP-0115
caps, so xmppd sends it the last metadata item of alice's node when its
session starts; Gajim asks for the data item by id and stores the bytes
in its avatar cache under their SHA-1.

Fetched: that file holds exactly the PNG alice published, and Gajim's log
says it received alice's avatar with that SHA-1. Shown: Gajim is asked
(a second `gajim xmpp:alice@localhost`, handed to the running one over
D-Bus) to start a chat with alice; its start-chat list then draws alice
with the avatar, and the screen (read with Gdk as the client's user) has
at least SHOWN pixels of exactly the avatar's colour, none before.

Gajim refuses to run as root: as root the client, its session bus and
Xvfb run as nobody (setpriv), in a home directory of their own.
Everything started here is stopped by PID. About 10 s. Needs gajim, xvfb
and dbus-daemon (tests/deps.sh installs them); skipped when one of them
is missing.
"""
import base64
import hashlib
import json
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import pytest

try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.xmlstream import ET as SET

from harness import _alive, _children
from png import png
from im_helpers import PW, iq_outcome, online

ALICE, BOB = 'alice@localhost', 'bob@localhost'
NS_DATA = 'urn:xmpp:avatar:data'
NS_META = 'urn:xmpp:avatar:metadata'
PYTHON = '/usr/bin/python3'          # Debian's, which has Gajim's modules
PROGRAMS = ('gajim', 'Xvfb', 'dbus-daemon', 'setpriv')
NOBODY = 65534
WAIT = 60.0                          # bound of Gajim's start, login and fetch, s
COLOUR = (0xd0, 0x40, 0x20)          # the avatar's one colour
SHOWN = 400                          # pixels of it on screen that count as shown

# Run as the client's user on its display: how many pixels of the screen
# have exactly the colour argv[1] (hex RGB); saves the screen as argv[2].
SCREENSHOT = r'''
import sys
import gi
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk
root = Gdk.get_default_root_window()
pb = Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height())
want = bytes.fromhex(sys.argv[1])
px, n, stride = pb.get_pixels(), pb.get_n_channels(), pb.get_rowstride()
count = 0
for y in range(pb.get_height()):
    row = px[y * stride:y * stride + pb.get_width() * n]
    count += sum(1 for x in range(0, len(row), n) if row[x:x + 3] == want)
pb.savev(sys.argv[2], "png", [], [])
print(count)
'''

# Gajim's start-up is heavy: it runs alone, after the other tests
# (tests/run.sh), with its time limits.
pytestmark = [pytest.mark.skipif(
    any(shutil.which(p) is None for p in PROGRAMS) or not os.path.exists(PYTHON),
    reason='needs gajim, xvfb and dbus-daemon (tests/deps.sh)'), pytest.mark.timing]


class Payload:
    """What xep_0163.publish takes (an element and its namespace)."""

    def __init__(self, el):
        self.xml = el
        self.namespace = el.tag[1:].split('}')[0]


def gajim_settings(path, account, port):
    """Gajim's settings database with one active account, made with
    Gajim's own schema (gajim.common.settings.CREATE_SQL)."""
    p = subprocess.run(
        [PYTHON, '-c', 'import sys; from gajim.common.settings import CREATE_SQL; '
         'sys.stdout.write(CREATE_SQL)'],
        capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and 'CREATE TABLE' in p.stdout, p.stderr
    con = sqlite3.connect(path)
    con.executescript(p.stdout)
    app = {'use_keyring': False, 'check_for_update': False,
           'show_help_start_chat': False}
    con.execute("UPDATE settings SET settings = ? WHERE name = 'app'", (json.dumps(app),))
    node, domain = account.split('@')
    acc = {'account': {
        'name': node, 'hostname': domain, 'password': PW, 'savepass': True,
        'resource': 'gajim', 'active': True, 'autoconnect': True,
        'use_custom_host': True, 'custom_host': '127.0.0.1', 'custom_port': port,
        'custom_type': 'PLAIN', 'use_plain_connection': True,
        'confirm_unencrypted_connection': False, 'restore_last_status': False,
        'sync_with_global_status': True, 'last_status': 'online'},
        'contact': {}, 'group_chat': {}}
    con.execute('INSERT INTO account_settings(account, settings) VALUES (?, ?)',
                (node, json.dumps(acc)))
    con.commit()
    con.close()


class Desktop:
    """Xvfb, a session bus and Gajim, as nobody when we are root, in a home
    directory of their own; each stopped by PID."""

    def __init__(self):
        self.home = tempfile.mkdtemp(prefix='xmppd-gajim-')
        self.config = os.path.join(self.home, 'gajim')
        self.procs = []            # (name, Popen), stopped in reverse order
        self.log_path = os.path.join(self.home, 'gajim.log')
        self.env = {'PATH': '/usr/bin:/bin', 'HOME': self.home, 'LANG': 'C.UTF-8',
                    'XDG_RUNTIME_DIR': os.path.join(self.home, 'run'),
                    'XDG_CONFIG_HOME': os.path.join(self.home, '.config'),
                    'XDG_CACHE_HOME': os.path.join(self.home, '.cache'),
                    'XDG_DATA_HOME': os.path.join(self.home, '.local', 'share'),
                    'NO_AT_BRIDGE': '1', 'GTK_A11Y': 'none'}
        os.makedirs(self.env['XDG_RUNTIME_DIR'], mode=0o700)
        os.makedirs(self.config, mode=0o700)
        self.as_user = ['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY,
                        '--clear-groups'] if os.geteuid() == 0 else []

    def _own(self):
        if os.geteuid() != 0:
            return
        for root, dirs, files in os.walk(self.home):
            for n in [root] + [os.path.join(root, f) for f in dirs + files]:
                os.chown(n, NOBODY, NOBODY)

    def _start(self, name, argv, **kw):
        p = subprocess.Popen(self.as_user + argv, env=self.env, stdin=subprocess.DEVNULL, **kw)
        self.procs.append((name, p))
        return p

    def _read_line(self, p, what, timeout=15.0):
        """The first line p writes to its stdout (a pipe), within timeout."""
        deadline = time.monotonic() + timeout
        buf = b''
        while b'\n' not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or p.poll() is not None:
                raise AssertionError('%s did not start (exit %s)' % (what, p.poll()))
            r, _, _ = select.select([p.stdout], [], [], left)
            if r:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    raise AssertionError('%s closed its output (exit %s)' % (what, p.poll()))
                buf += chunk
        return buf.split(b'\n', 1)[0].decode().strip()

    def start_display(self):
        self._own()
        x = self._start('Xvfb', ['Xvfb', '-displayfd', '1', '-nolisten', 'tcp',
                                 '-screen', '0', '1024x768x24'],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.env['DISPLAY'] = ':' + self._read_line(x, 'Xvfb')
        bus = self._start('dbus-daemon', ['dbus-daemon', '--session', '--nofork',
                                          '--nopidfile', '--print-address=1'],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.env['DBUS_SESSION_BUS_ADDRESS'] = self._read_line(bus, 'dbus-daemon')

    def start_gajim(self):
        self._own()
        log = open(self.log_path, 'wb')
        self._start('gajim', [PYTHON, '/usr/bin/gajim', '-c', self.config,
                              '-l', 'gajim.c.m.useravatar=INFO'],
                    stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def gajim_remote(self, *args):
        """Gajim run again: it hands its arguments to the running one."""
        p = subprocess.run(self.as_user + [PYTHON, '/usr/bin/gajim', '-c', self.config] +
                           list(args), env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr

    def pixels(self, rgb):
        """How many pixels of the display have exactly the colour rgb."""
        p = subprocess.run(self.as_user + [PYTHON, '-c', SCREENSHOT, bytes(rgb).hex(),
                                           os.path.join(self.home, 'screen.png')],
                           env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        return int(p.stdout.split()[-1])

    def log(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def gajim_exited(self):
        for name, p in self.procs:
            if name == 'gajim' and p.poll() is not None:
                return p.returncode
        return None

    def stop(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                kids = _children(p.pid)
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
                for k in kids:          # anything it started and left behind
                    if _alive(k):
                        os.kill(k, signal.SIGKILL)
            if p.stdout:
                p.stdout.close()
        if not os.environ.get('XMPPD_KEEP_TMP'):
            shutil.rmtree(self.home, ignore_errors=True)


def test_gajim_shows_contact_avatar(server):
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    for a, b in ((ALICE, BOB), (BOB, ALICE)):
        p = server.ctl('roster', a, 'add', b, '-s', 'both', '-n', b.split('@')[0])
        assert p.returncode == 0, p.stderr
    image = png(32, 32, COLOUR)
    sha = hashlib.sha1(image).hexdigest()

    async def publish():
        a = await online(server.port, ALICE + '/pub', plugins=['xep_0060', 'xep_0163'])
        data = SET.Element('{%s}data' % NS_DATA)
        data.text = base64.b64encode(image).decode()
        r1 = await iq_outcome(a.xmpp['xep_0163'].publish(Payload(data), node=NS_DATA,
                                                         id=sha, timeout=5))
        meta = SET.Element('{%s}metadata' % NS_META)
        SET.SubElement(meta, '{%s}info' % NS_META, id=sha, bytes=str(len(image)),
                       type='image/png', width='32', height='32')
        r2 = await iq_outcome(a.xmpp['xep_0163'].publish(Payload(meta), node=NS_META,
                                                         id=sha, timeout=5))
        await a.close()
        return r1[0], r2[0]

    assert C.run(publish, timeout=30) == ('result', 'result')

    d = Desktop()
    try:
        d.start_display()
        gajim_settings(os.path.join(d.config, 'settings.sqlite'), BOB, server.port)
        d.start_gajim()
        # fetched: Gajim stored the data item under its SHA-1
        cached = os.path.join(d.config, 'avatars', sha)
        deadline = time.monotonic() + WAIT
        while not ('Received Avatar: %s %s' % (ALICE, sha) in d.log() and
                   os.path.exists(cached) and os.path.getsize(cached) >= len(image)):
            code = d.gajim_exited()
            assert code is None, 'gajim exited with %s:\n%s' % (code, d.log()[-4000:])
            assert time.monotonic() < deadline, \
                'no avatar for %s in %.0f s:\n%s' % (ALICE, WAIT, d.log()[-4000:])
            time.sleep(0.2)
        with open(cached, 'rb') as f:
            assert f.read() == image
        # shown: alice's entry in Gajim's start-chat list, drawn with it
        assert d.pixels(COLOUR) == 0
        d.gajim_remote('xmpp:' + ALICE)
        deadline = time.monotonic() + 30
        while True:
            n = d.pixels(COLOUR)
            if n >= SHOWN:
                break
            assert time.monotonic() < deadline, \
                'avatar not on screen (%d pixels of it; see %s with XMPPD_KEEP_TMP=1)' % (
                    n, os.path.join(d.home, 'screen.png'))
            time.sleep(0.5)
    finally:
        d.stop()
