"""XEP-0198 stream management as libstrophe (Debian's libstrophe 0.12, the
library under Profanity) uses it, with $XMPPD_BUILD/strophe-sm
(tests/clients/strophe-sm.c, built by `make testclients` when
libstrophe-dev is installed) as the client and a harness Raw client as its
peer.

strophe-sm takes commands on stdin and reports events on stdout, one per
line (the contract is at the top of strophe-sm.c); Strophe below runs it
and keeps every line. The peer is a Raw client read by a harness Pump,
which answers xmppd's delivery pings.

What is checked:
- libstrophe sees urn:xmpp:sm:3 in the stream features after SASL, sends
  <enable resume='true'/> and is answered <enabled/> with an id;
- messages both ways with SM on arrive exactly once, in order, and the
  server's <a h/> counts every stanza the client sent;
- a connection cut underneath libstrophe (shutdown(2) on its socket, so
  the server sees the TCP connection end without </stream:stream>) is
  resumed on a new connection: the server answers <resumed/> with the h
  it had acknowledged, and the messages sent to the client while it was
  cut arrive after the resume exactly once, in order, with no error
  bounced to their sender; the resumed session still sends.
"""
import os
import subprocess
import threading
import time

import pytest

import harness
from harness import NS_CLIENT, Pump
from im_helpers import PW, raw_login

STROPHE = harness.BUILD / 'strophe-sm'
ALICE, BOB = 'alice@localhost', 'bob@localhost'
ALICE_RES = 'strophe'
WAIT = 10.0             # bound of one wait for the client, seconds
SETTLE = 1.0            # quiet time in which a duplicate would show up
CLIENT_DEADLINE = 90    # strophe-sm gives up by itself after this (-T)


def unescape(text):
    """Undo strophe-sm's escaping of a body (\\\\, \\n, \\r)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == '\\' and i + 1 < len(text):
            out.append({'n': '\n', 'r': '\r'}.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def parse(line):
    """'name k=v k=v' -> (name, {k: v}); for recv, body is the rest of
    the line, unescaped."""
    name, _, rest = line.partition(' ')
    fields = {}
    if name == 'recv':
        head, sep, body = rest.partition(' body=')
        if sep:
            fields['body'] = unescape(body)
        rest = head
    for part in rest.split():
        k, sep, v = part.partition('=')
        if sep:
            fields[k] = v
    return name, fields


class Strophe:
    """strophe-sm running as JID: commands go to its stdin, every stdout
    line is kept (in order) by a reader thread; stderr goes to a file.
    Stopped by PID in stop()."""

    def __init__(self, server, jid, password=PW, peer=None, count=0, tmp=None):
        if not STROPHE.exists():
            pytest.fail('%s is missing: install libstrophe-dev (tests/deps.sh) and run '
                        '`make B=%s testclients`' % (STROPHE, harness.BUILD), pytrace=False)
        args = [str(STROPHE), '-j', jid, '-p', password, '-H', '127.0.0.1',
                '-P', str(server.port), '-T', str(CLIENT_DEADLINE)]
        if peer:
            args += ['-t', peer, '-n', str(count)]
        self.errpath = os.path.join(str(tmp or server.dir), 'strophe-%s.err' % jid.split('@')[0])
        self.err = open(self.errpath, 'w')
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, bufsize=1,
                                     env=harness.SAN_ENV)
        self.lines = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip('\n'))

    def command(self, line):
        self.proc.stdin.write(line + '\n')
        self.proc.stdin.flush()

    def events(self, name=None, since=0):
        """[(index, name, fields)] of the lines from index `since` on,
        only those named `name` if given."""
        with self._lock:
            lines = list(enumerate(self.lines))[since:]
        out = []
        for i, line in lines:
            n, f = parse(line)
            if name is None or n == name:
                out.append((i, n, f))
        return out

    def wait(self, names, since=0, timeout=WAIT, pred=None):
        """The first event from index `since` on whose name is in `names`
        (a name or a tuple) and that pred(fields) accepts: (index, name,
        fields). AssertionError with the client's output on a timeout,
        an 'error' line or the client's exit."""
        names = (names,) if isinstance(names, str) else tuple(names)
        deadline = time.monotonic() + timeout
        while True:
            for i, n, f in self.events(since=since):
                if n == 'error' and 'error' not in names:
                    raise AssertionError('strophe-sm reported an error waiting for %s:\n%s'
                                         % ('|'.join(names), self.transcript()))
                if n in names and (pred is None or pred(f)):
                    return i, n, f
            if self.proc.poll() is not None and not self._thread.is_alive():
                raise AssertionError('strophe-sm exited (%s) waiting for %s:\n%s' % (
                    self.proc.returncode, '|'.join(names), self.transcript()))
            if time.monotonic() > deadline:
                raise AssertionError('no %s from strophe-sm within %.0f s:\n%s' % (
                    '|'.join(names), timeout, self.transcript()))
            time.sleep(0.02)

    def until(self, cond, what, timeout=WAIT):
        """Wait until cond() is true; AssertionError with the client's
        output after timeout."""
        try:
            return harness.wait_until(cond, timeout=timeout, what=what)
        except AssertionError as e:
            raise AssertionError('%s\n%s' % (e, self.transcript())) from None

    def bodies(self, since=0):
        return [f.get('body') for _, _, f in self.events('recv', since)]

    def transcript(self):
        with self._lock:
            out = '\n'.join('  ' + line for line in self.lines)
        try:
            with open(self.errpath, errors='replace') as f:
                err = f.read()[-2000:]
        except OSError:
            err = ''
        return out + ('\n  --- stderr ---\n' + err if err else '')

    def quit(self, timeout=WAIT):
        """Ask it to close the stream; its exit status (killed by PID if
        it does not exit in time)."""
        if self.proc.poll() is None:
            try:
                self.command('quit')
            except (BrokenPipeError, ValueError):
                pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._thread.join(2)
        for f in (self.proc.stdin, self.proc.stdout, self.err):
            try:
                f.close()
            except (OSError, ValueError):
                pass


@pytest.fixture
def deployment(server):
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    return server


@pytest.fixture
def strophe(deployment, tmp_path):
    """A factory of Strophe clients against the deployment; all are
    stopped by PID at teardown."""
    started = []

    def make(jid=ALICE + '/' + ALICE_RES, **kw):
        s = Strophe(deployment, jid, tmp=tmp_path, **kw)
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


@pytest.fixture
def bob(deployment):
    """bob online through a Raw client: bound, available, read by a Pump."""
    raw, full = raw_login(deployment, BOB, PW, resource='peer')
    raw.send("<presence/>")
    pump = Pump(raw)
    pump.full = full
    yield pump
    pump.close()


def messages_from(pump, sender):
    """<message/>s bob received from sender (a full JID), in order."""
    def pred(el):
        return el.tag == '{%s}message' % NS_CLIENT and el.get('from') == sender
    return pump.seen(pred)


def body_of(el):
    b = el.find('{%s}body' % NS_CLIENT)
    return None if b is None else b.text


def send_chat(pump, to, bodies):
    """bob sends one chat message per body (bodies are plain words)."""
    for body in bodies:
        pump.send("<message type='chat' to='%s' id='%s'><body>%s</body></message>"
                  % (to, body, body))


def enabled(client):
    """Wait for SM to be on: features with sm, <enabled/>, ready sm=on.
    Returns the <enabled/> fields."""
    _, _, feat = client.wait('features')
    assert feat.get('sm') == 'yes', \
        'no urn:xmpp:sm:3 in the stream features after SASL:\n' + client.transcript()
    _, name, en = client.wait(('enabled', 'failed'))
    assert name == 'enabled', 'the server answered <enable/> with <failed/>:\n' + \
        client.transcript()
    client.wait('ready', pred=lambda f: f.get('sm') == 'on')
    return en


def stanzas_sent(client, until=None):
    """How many stanzas the client sent (presence, messages, IQ answers)
    up to line index `until` (all if None): what the server's h counts."""
    n = 1                                   # the available presence
    for i, name, _ in client.events():
        if until is not None and i >= until:
            break
        if name in ('sent', 'answered'):
            n += 1
    return n


def all_acked(client):
    """Wait until the server's last <a h/> counts every stanza the client
    has sent, and check that no <a h/> ever counted more than had been
    sent before it arrived or went backwards. Returns the last h."""
    def caught_up():
        acks = client.events('ack')
        return acks and int(acks[-1][2]['h']) == stanzas_sent(client)
    client.until(caught_up, "the server's <a h/> counting all %d stanzas sent"
                 % stanzas_sent(client))
    last = -1
    for i, _, f in client.events('ack'):
        h = int(f['h'])
        assert h <= stanzas_sent(client, until=i), \
            '<a h=%d/> counts stanzas never sent:\n%s' % (h, client.transcript())
        assert h >= last, 'h went backwards (%d after %d):\n%s' % (h, last, client.transcript())
        last = h
    return last


# ---- tests ----

def test_libstrophe_enables_sm(deployment, strophe):
    """The server offers urn:xmpp:sm:3 after SASL; libstrophe asks for
    resumption and gets <enabled resume='true'/> with an id; the client
    says its session has SM on, and it ends cleanly."""
    c = strophe()
    en = enabled(c)
    _, _, ask = c.wait('enable')
    assert ask.get('resume') == 'true', c.transcript()
    assert en.get('id'), 'enabled without an id:\n' + c.transcript()
    assert en.get('resume') in ('true', '1'), \
        'resumption not granted (libstrophe asked for it):\n' + c.transcript()
    _, _, conn = c.wait('connected')
    assert conn.get('jid') == ALICE + '/' + ALICE_RES, c.transcript()
    c.command('state')
    _, _, st = c.wait('state')
    assert st.get('sm') == 'on' and st.get('id') == en['id'], c.transcript()
    assert c.quit() == 0, c.transcript()
    assert c.events('bye'), c.transcript()


def test_messages_with_sm_arrive_exactly_once(deployment, strophe, bob):
    """With SM on, 20 messages from libstrophe to bob and 20 from bob to
    libstrophe each arrive once, in order; the server's last <a h/>
    counts every stanza libstrophe sent, no more and no fewer."""
    n = 20
    c = strophe(peer=bob.full, count=n)
    enabled(c)
    full = ALICE + '/' + ALICE_RES
    to_alice = ['to-alice-%d' % i for i in range(1, n + 1)]
    send_chat(bob, full, to_alice)
    c.until(lambda: len(c.bodies()) >= n, '%d messages at strophe-sm' % n)
    c.until(lambda: len(messages_from(bob, full)) >= n, '%d messages at bob' % n)
    time.sleep(SETTLE)                      # room for a duplicate to show
    assert c.bodies() == to_alice, c.transcript()
    got = [body_of(m) for m in messages_from(bob, full)]
    assert got == ['msg-%d' % i for i in range(1, n + 1)], got
    assert not bob.seen(lambda el: el.get('type') == 'error'), \
        [harness.to_xml(e) for e in bob.seen(lambda el: el.get('type') == 'error')]
    assert all_acked(c) >= n + 1, c.transcript()        # presence and messages
    assert c.quit() == 0, c.transcript()


def test_cut_connection_is_resumed(deployment, strophe, bob):
    """libstrophe's socket is shut down underneath it; bob sends it five
    messages meanwhile; a new connection with the saved SM state asks to
    <resume/> and the server answers <resumed/> with the h it had
    acknowledged. The five messages then arrive exactly once, in order,
    after the resume, after the three that arrived before the cut; bob
    gets no error for any of them; the resumed session sends too."""
    c = strophe()
    en = enabled(c)
    full = ALICE + '/' + ALICE_RES
    before = ['before-cut-%d' % i for i in range(1, 4)]
    send_chat(bob, full, before)
    c.until(lambda: c.bodies() == before, 'the first messages at strophe-sm')
    # everything the client sent was read and counted before the cut
    all_acked(c)
    c.command('cut')
    cut_at, _, _ = c.wait('cut')
    sent_before = stanzas_sent(c, until=cut_at)
    c.wait('disconnected', since=cut_at)
    while_cut = ['while-cut-%d' % i for i in range(1, 6)]
    send_chat(bob, full, while_cut)
    time.sleep(SETTLE)                      # they are in flight or stored
    assert c.bodies() == before, 'messages arrived on a cut connection?\n' + c.transcript()

    c.command('reconnect')
    _, _, ask = c.wait('resume', since=cut_at)
    assert ask.get('previd') == en['id'], c.transcript()
    at, name, ans = c.wait(('resumed', 'failed'), since=cut_at)
    assert name == 'resumed', 'the server refused to resume (<failed/>):\n' + c.transcript()
    assert ans.get('previd') == en['id'], c.transcript()
    assert int(ans.get('h', -1)) == sent_before, \
        'resumed with h=%s, the server had acknowledged %d:\n%s' % (
            ans.get('h'), sent_before, c.transcript())
    c.wait('connected', since=at)

    c.until(lambda: len(c.bodies()) >= len(before + while_cut), 'the messages sent while cut')
    time.sleep(SETTLE)
    assert c.bodies() == before + while_cut, c.transcript()
    assert all(i > at for i, _, f in c.events('recv') if f.get('body') in while_cut), \
        'messages sent while cut arrived before <resumed/>:\n' + c.transcript()
    assert not bob.seen(lambda el: el.get('type') == 'error'), \
        [harness.to_xml(e) for e in bob.seen(lambda el: el.get('type') == 'error')]

    # the resumed session is the same session: it sends, and the server
    # keeps counting from where it was
    c.command('send %s after-resume' % bob.full)
    c.until(lambda: [body_of(m) for m in messages_from(bob, full)] == ['after-resume'],
            'the message sent after the resume at bob')
    all_acked(c)
    assert c.quit() == 0, c.transcript()
