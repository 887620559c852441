"""A real browser against xmppd: Converse.js in headless Chromium, over
XMPP over WebSocket (RFC 7395) and over BOSH (XEP-0206), both served by
xmpp-web, talking to a slixmpp user on TCP.

Pieces (tests/browser/README has more):
- the page: tests/browser/index.html and page.js, which load Converse.js
  from tests/browser/node_modules (npm ci, run by tests/deps.sh, from the
  pinned package-lock.json) and configure it from the query string
  (WebSocket or BOSH URL, jid, password: auto_login);
- a static HTTP server for that directory, in this process (a thread on
  127.0.0.1, port chosen by the kernel), whose origin is the only one the
  xmppd server allows to open a WebSocket (ws_origins);
- Chromium (Debian's, /usr/bin/chromium) headless, with a profile and
  HOME of its own in a temporary directory, started here in a process
  group of its own and stopped by that group's id;
- tests/browser/drive.js, a Node program that drives that Chromium over
  the DevTools protocol (chrome-remote-interface): one JSON command a
  line on stdin (load, evaluate, click, type, press a key, set a file
  input, screenshot), one answer a line on stdout. The test decides
  everything; the driver only acts.

test_converse_chats_with_slixmpp[websocket|bosh]: alice (Converse.js, over
WebSocket, then in a second run over BOSH at /http-bind, across origins:
CORS) and bob (slixmpp, TCP) are contacts (set with xmppctl). alice logs in; bob sees
her presence and sends her a message; Converse must mark it unread on
bob's entry in its contact list; alice clicks that entry, and the chat
it opens must hold the message; alice answers by typing into the chat's
textarea and pressing Enter; bob must receive that answer, from alice,
with that body. A screenshot of the conversation is kept, see ARTIFACTS.

test_converse_uploads_file_for_slixmpp: the upload service (XEP-0363,
upload_domain, files through xmpp-web; http_url names the test's xmpp-web)
is on; alice opens her chat with bob, and once Converse found the service
(its file button is there) she picks a PNG made here (the driver sets the
chat's file input, as a person's file dialog would). Converse asks for a
slot, PUTs the file to xmpp-web across origins (CORS) and sends bob the
GET URL (body and XEP-0066 <x/>); bob downloads it with urllib and must
get the very bytes, and Converse must show the image it sent, fetched
from xmpp-web. Screenshot: upload-conversation.png.

test_converse_refused: Converse gets no session when the page's origin is
not in ws_origins (the server answers the upgrade 403) and when the
password is wrong (SASL failure), and says so on the page.

ARTIFACTS: $XMPPD_BUILD/test-artifacts/test_browser/<test>/ (with make
check build/san/test-artifacts/...): the screenshots (conversation.png,
upload-conversation.png, wrong-password.png), sent.png (the file sent),
console.log (what the page logged: Converse at loglevel debug logs every
stanza), chromium.log, and failure.png and page.html (the DOM) when a
test fails after the page loaded. Kept after the run; each run of a test
replaces its directory. The path of each screenshot is printed.

Runs in parallel with the others, not marked timing: it asserts no
wall-clock bounds, every wait has a timeout (the whole test one of 90 s),
and it passed in the whole suite at a load average of 25 to 40 on two
cores. 10 to 15 s each on a quiet machine (25 s at that load), mostly
Chromium's start and Converse's first load. Needs chromium, node and
tests/browser/node_modules (tests/deps.sh): fails, naming what is
missing, without them.
"""
import asyncio
import functools
import http.server
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from urllib.parse import urlencode

import pytest

try:
    from . import clients as C
except ImportError:
    import clients as C

from harness import BUILD, ROOT, _alive, wait_until
from png import png
from im_helpers import PW, body_is, online

ALICE, BOB = 'alice@localhost', 'bob@localhost'
SITE = ROOT / 'tests' / 'browser'
CHROMIUM = '/usr/bin/chromium'
ARTIFACTS = BUILD / 'test-artifacts' / 'test_browser'
START = 30.0            # bound of Chromium's start and of the page's load, s
LOGIN = 30.0            # bound of Converse's login once the page is loaded, s
WAIT = 15.0             # bound of any other step, s


def missing_tools():
    """What the test needs and does not find, as a sentence, or None."""
    need = []
    if not os.access(CHROMIUM, os.X_OK):
        need.append('%s (Debian package chromium)' % CHROMIUM)
    if not shutil.which('node'):
        need.append('node (Debian package nodejs)')
    for f in ('converse.js/dist/converse.min.js', 'chrome-remote-interface/index.js'):
        if not (SITE / 'node_modules' / f).exists():
            need.append('tests/browser/node_modules/%s (npm ci in tests/browser)' % f)
    return ('missing: %s; tests/deps.sh installs them' % ', '.join(need)) if need else None


@pytest.fixture
def artifacts(request):
    """This test's directory under ARTIFACTS, emptied."""
    d = ARTIFACTS / request.node.name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def web_server(server_factory, **conf):
    """A server with a TCP listener (0) and an HTTP front, xmpp-web (1)."""
    return server_factory(listeners=2, listener_progs=[None, 'xmpp-web'], **conf)


def ws_url(server):
    return 'ws://127.0.0.1:%d/xmpp-websocket' % server.ports[1]


def bosh_url(server):
    return 'http://127.0.0.1:%d/http-bind' % server.ports[1]


# ---- the page's HTTP server ----

class Site:
    """tests/browser served over HTTP on 127.0.0.1 by a thread of this
    process; .origin is what the browser sends as Origin."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = dict(http.server.SimpleHTTPRequestHandler.extensions_map,
                              **{'.js': 'text/javascript', '.mjs': 'text/javascript',
                                 '.wasm': 'application/wasm', '.json': 'application/json'})

        def log_message(self, *args):      # not on the test's stderr
            pass

    def __init__(self, root=SITE):
        self.httpd = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), functools.partial(self.Handler, directory=str(root)))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.origin = 'http://127.0.0.1:%d' % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, ws, jid=None, password=None, bosh=None):
        q = {'ws': ws}
        if bosh:
            q['bosh'] = bosh
        if jid:
            q.update(jid=jid, password=password)
        return '%s/index.html?%s' % (self.origin, urlencode(q))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


# ---- Chromium and its driver ----

class Browser:
    """Headless Chromium in a process group of its own, and drive.js
    attached to its page. Every command has a timeout; stop() ends both by
    PID (synchronous, so a fixture can call it whatever happened)."""

    def __init__(self, artifacts):
        self.artifacts = artifacts
        self.home = tempfile.mkdtemp(prefix='xmppd-chromium-')
        self.profile = os.path.join(self.home, 'profile')
        self.console = str(artifacts / 'console.log')
        self.chromium = self.driver = None
        self.answers = queue.Queue()
        self.next_id = 0

    def step(self, what):
        """Print how long after the browser's start `what` happened
        (shown by pytest when the test fails)."""
        print('%5.1f s  %s' % (time.monotonic() - self.t0, what))

    def start(self):
        self.t0 = time.monotonic()
        env = {'PATH': '/usr/bin:/bin', 'HOME': self.home, 'LANG': 'C.UTF-8',
               'XDG_CONFIG_HOME': os.path.join(self.home, '.config'),
               'XDG_CACHE_HOME': os.path.join(self.home, '.cache')}
        # --no-sandbox: CI runs as root, which Chromium's sandbox refuses,
        # and containers often lack the user namespaces it needs; the page
        # is our own, from 127.0.0.1. --disable-dev-shm-usage: containers
        # often have a small /dev/shm.
        args = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--no-first-run', '--no-default-browser-check', '--disable-breakpad',
                '--disable-extensions', '--disable-sync', '--disable-background-networking',
                '--user-data-dir=' + self.profile, '--remote-debugging-address=127.0.0.1',
                '--remote-debugging-port=0', '--window-size=1280,800', 'about:blank']
        with open(self.artifacts / 'chromium.log', 'wb') as log:
            self.chromium = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log, start_new_session=True,
                                             preexec_fn=_die_with_parent)
        port_file = os.path.join(self.profile, 'DevToolsActivePort')
        deadline = time.monotonic() + START
        while True:
            try:
                with open(port_file) as f:
                    port = int(f.readline())
                break
            except (OSError, ValueError):
                pass
            assert self.chromium.poll() is None, 'chromium exited with %s:\n%s' % (
                self.chromium.returncode, self.log_tail('chromium.log'))
            assert time.monotonic() < deadline, 'chromium did not start in %.0f s:\n%s' % (
                START, self.log_tail('chromium.log'))
            time.sleep(0.05)
        self.driver = subprocess.Popen(
            [shutil.which('node'), str(SITE / 'drive.js'), str(port), self.console],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True, preexec_fn=_die_with_parent)
        threading.Thread(target=self._read, daemon=True).start()
        self.step('chromium started, DevTools on port %d' % port)
        return self

    def _read(self):
        for line in self.driver.stdout:
            try:
                self.answers.put(json.loads(line))
            except ValueError:
                self.answers.put({'id': None, 'ok': False, 'error': 'bad answer ' + line})
        self.answers.put(None)

    async def cmd(self, op, timeout=WAIT, **args):
        """Run one driver command; its value, or AssertionError."""
        self.next_id += 1
        msg = dict(args, id=self.next_id, op=op)
        self.driver.stdin.write(json.dumps(msg) + '\n')
        self.driver.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            try:
                a = self.answers.get_nowait()
            except queue.Empty:
                assert time.monotonic() < deadline, 'driver: no answer to %s in %.0f s' % (
                    op, timeout)
                await asyncio.sleep(0.02)
                continue
            assert a is not None, 'driver exited (%s): %s' % (
                self.driver.poll(), self.driver.stderr.read())
            if a.get('id') != self.next_id:
                continue                   # the late answer of a timed-out command
            assert a['ok'], 'driver: %s failed: %s' % (op, a['error'])
            return a['value']

    async def eval(self, expr, timeout=WAIT):
        return await self.cmd('eval', timeout, expr=expr)

    async def until(self, expr, timeout, what, give_up=None):
        """Evaluate expr in the page until it is true (returns it);
        AssertionError naming `what`, with the page's state, on timeout or
        as soon as the expression give_up is true."""
        deadline = time.monotonic() + timeout
        while True:
            v = await self.eval(expr)
            if v:
                return v
            if give_up and await self.eval(give_up):
                raise AssertionError('%s: no, the page gave up\n%s' % (what, await self.state()))
            if time.monotonic() > deadline:
                raise AssertionError('%s: not within %.0f s\n%s' % (what, timeout,
                                                                    await self.state()))
            await asyncio.sleep(0.1)

    async def explain(self, wait):
        """Await wait (another client's wait for what the page should
        have done); on its AssertionError, add the page's state."""
        try:
            return await wait
        except AssertionError as e:
            raise AssertionError('%s\n%s' % (e, await self.state())) from None

    async def state(self):
        """What the page says about its session, for failure messages."""
        try:
            s = await self.eval('window.xmppdTest ? {events: xmppdTest.events, '
                                'statuses: xmppdTest.statuses, '
                                'status: xmppdTest.status && xmppdTest.status()} : null', 5)
        except AssertionError as e:
            s = str(e)
        return 'page: %s\nconsole (tail):\n%s' % (json.dumps(s), self.log_tail('console.log'))

    async def keep_failure(self):
        """Keep failure.png and page.html (the DOM) for a failing test."""
        try:
            await self.cmd('screenshot', 5, path=str(self.artifacts / 'failure.png'))
            html = await self.eval('document.documentElement.outerHTML', 5)
            with open(self.artifacts / 'page.html', 'w') as f:
                f.write(html)
        except Exception:          # the failure itself matters more
            pass

    def log_tail(self, name, lines=25, width=300):
        try:
            with open(self.artifacts / name, errors='replace') as f:
                return ''.join(ln if len(ln) <= width else ln[:width] + '...\n'
                               for ln in f.readlines()[-lines:])
        except OSError:
            return '(no %s)' % name

    def stop(self):
        if self.driver and self.driver.poll() is None:
            try:
                self.driver.stdin.write(json.dumps({'id': 0, 'op': 'quit'}) + '\n')
                self.driver.stdin.flush()
                self.driver.wait(3)
            except (OSError, subprocess.TimeoutExpired):
                self.driver.kill()
                self.driver.wait(5)
        if self.chromium:
            _stop_group(self.chromium)
            # Chromium's crash handlers make sessions of their own; they
            # leave when the browser has gone. Ours name our HOME.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _crashpads(self.home):
                time.sleep(0.1)
            for pid in _crashpads(self.home):
                os.kill(pid, signal.SIGKILL)
        if not os.environ.get('XMPPD_KEEP_TMP'):
            shutil.rmtree(self.home, ignore_errors=True)


def _die_with_parent():
    """In the child before exec: SIGKILL when the test's process dies
    (prctl PR_SET_PDEATHSIG), for when pytest is killed before its
    teardown; Chromium's other processes follow their parent."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def _group(pgid):
    """Live processes in process group pgid."""
    pids = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/%s/stat' % d) as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rfind(')') + 2:].split()
            if fields[0] != 'Z' and int(fields[2]) == pgid:
                pids.append(int(d))
    return pids


def _stop_group(p):
    """SIGTERM to the process group p leads (p started it with
    start_new_session), then SIGKILL to what is left of it after 5 s."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if p.poll() is not None and not _group(p.pid):
            return
        time.sleep(0.05)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(5)


def _crashpads(home):
    """PIDs of chrome_crashpad_handler processes whose database is in home."""
    pids = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/%s/cmdline' % d, 'rb') as f:
                    argv = f.read().split(b'\0')
            except OSError:
                continue
            if argv and argv[0].endswith(b'chrome_crashpad_handler') and \
                    any(a.startswith(b'--database=' + home.encode()) for a in argv) and \
                    _alive(int(d)):
                pids.append(int(d))
    return pids


@pytest.fixture
def browser(artifacts):
    why = missing_tools()
    if why:
        pytest.fail(why, pytrace=False)
    b = Browser(artifacts)
    try:
        yield b.start()
    finally:
        b.stop()


async def screenshot(browser, name):
    path = str(browser.artifacts / name)
    await browser.cmd('screenshot', path=path)
    print('screenshot:', path)
    return path


# ---- the tests ----

def contacts(server, a, b):
    for x, y in ((a, b), (b, a)):
        p = server.ctl('roster', x, 'add', y, '-s', 'both', '-n', y.split('@')[0])
        assert p.returncode == 0, p.stderr


def available(bare):
    def pred(el):
        return el.tag == '{jabber:client}presence' and el.get('type') is None and \
            (el.get('from') or '').startswith(bare + '/')
    pred.__doc__ = 'available presence of ' + bare
    return pred


CONNECTED = "xmppdTest.events.includes('connected')"
STATUS = 'xmppdTest.status()'
# Strophe.Status: a login attempt starts CONNECTING; where it ends when
# it gets no session
CONNECTING, ERROR, CONNFAIL, AUTHFAIL, DISCONNECTED = 1, 0, 2, 4, 6
GAVE_UP = ('(s => s.includes(%d) && s.slice(s.indexOf(%d)).some(x => [%d, %d, %d, %d].includes(x)))'
           '(xmppdTest.statuses)' % (CONNECTING, CONNECTING, ERROR, CONNFAIL, AUTHFAIL,
                                     DISCONNECTED))
FILE_INPUT = 'converse-chat[jid="%s"] input.fileupload'
CONTACT = 'converse-roster-contact a.open-chat[data-jid="%s"]'
UNREAD = "!!document.querySelector('converse-roster-contact a.open-chat.unread-msgs[data-jid=\"%s\"]')"
CHAT_TEXTS = ("[...document.querySelectorAll('converse-chat[jid=\"%s\"] .chat-msg__text')]"
              ".map(e => e.textContent.trim())")


@pytest.mark.parametrize('transport', ['websocket', 'bosh'])
def test_converse_chats_with_slixmpp(server_factory, site, browser, transport):
    """The same conversation over each of xmpp-web's transports."""
    server = web_server(server_factory, ws_origins=site.origin)
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    contacts(server, ALICE, BOB)
    hello = 'Hello alice, this is bob on TCP \u2709'
    answer = 'Hi bob! alice here, in Converse.js over %s \u263a' % transport
    bosh = bosh_url(server) if transport == 'bosh' else None
    endpoint = bosh or ws_url(server)

    async def go():
        bob = await online(server.port, BOB + '/tcp')
        try:
            browser.step('bob online')
            await browser.cmd('goto', START, url=site.page(ws_url(server), ALICE, PW, bosh=bosh))
            browser.step('page loaded')
            await browser.until(CONNECTED, LOGIN, 'Converse.js logs in as %s over %s' % (
                ALICE, endpoint), give_up=GAVE_UP)
            browser.step('Converse connected')
            # her initial presence reaches bob: Converse's session is up
            await browser.explain(bob.wait(available(ALICE), WAIT))
            browser.step("alice's presence at bob")
            n = bob.mark()
            bob.xmpp.send_message(mto=ALICE, mbody=hello, mtype='chat')
            # like a person: see bob's unread message in the roster, click him
            await browser.until(UNREAD % BOB, WAIT, "bob's unread message in alice's roster")
            browser.step('unread message shown')
            await browser.cmd('click', selector=CONTACT % BOB)
            texts = CHAT_TEXTS % BOB
            await browser.until('%s.includes(%s)' % (texts, json.dumps(hello)), WAIT,
                                "bob's message in Converse's chat with bob")
            browser.step('message in the chat')
            await browser.cmd('type', selector='converse-chat[jid="%s"] textarea.chat-textarea'
                              % BOB, text=answer)
            await browser.cmd('key', key='Enter')
            got = await browser.explain(bob.wait1(body_is(answer), WAIT, since=n))
            browser.step('answer at bob')
            assert got.get('from', '').startswith(ALICE + '/'), got.attrib
            assert got.get('type') == 'chat', got.attrib
            # Converse shows its own message too, after bob's
            await browser.until('%s.join("\\n").endsWith(%s)' % (texts, json.dumps(answer)),
                                WAIT, "alice's answer in her chat with bob")
            await screenshot(browser, 'conversation.png')
            browser.step('screenshot')
        except BaseException:
            await browser.keep_failure()
            raise
        finally:
            await bob.close()

    C.run(go, timeout=90)


async def refused(browser, url, what):
    """Load url and wait until Converse gives up; its status, having
    checked that it never connected."""
    await browser.cmd('goto', START, url=url)
    await browser.until(GAVE_UP, LOGIN, what + ': Converse gives up')
    st = await browser.eval(STATUS)
    events = await browser.eval('xmppdTest.events')
    assert 'connected' not in events, '%s: Converse got a session: %s' % (what, events)
    browser.step('%s: status %s' % (what, st))
    return st


def test_converse_refused(server_factory, site, browser):
    # ws_origins names another origin than the page's: the upgrade is refused
    elsewhere = web_server(server_factory, ws_origins='https://elsewhere.example')
    elsewhere.adduser(ALICE, PW)
    # the page's origin is allowed, the password is wrong
    server = web_server(server_factory, ws_origins=site.origin)
    server.adduser(ALICE, PW)

    async def go():
        try:
            st = await refused(browser, site.page(ws_url(elsewhere), ALICE, PW),
                               'a page whose origin is not allowed')
            assert st['status'] in (CONNFAIL, DISCONNECTED, ERROR), st
            # xmpp-web says why (its log line comes after its answer)
            log = wait_until(lambda: (lambda t: site.origin in t and t)(elsewhere.log()),
                             WAIT, 'the refusal of origin %s in the server log' % site.origin)
            assert 'refused' in log, log[-2000:]
            assert 'websocket upgrade' not in log, log[-2000:]

            st = await refused(browser, site.page(ws_url(server), ALICE, 'not-' + PW),
                               'a wrong password')
            # Converse ends disconnected, having said why
            assert st['status'] in (AUTHFAIL, DISCONNECTED), st
            assert 'password is incorrect' in (st.get('message') or ''), st
            # and shows it where a person looks: its login form
            feedback = await browser.eval("document.querySelector('converse-login-form')"
                                          ".textContent")
            assert 'password' in feedback.lower(), feedback
            await screenshot(browser, 'wrong-password.png')
        except BaseException:
            await browser.keep_failure()
            raise

    C.run(go, timeout=90)


def oob_url(el):
    x = el.find('{jabber:x:oob}x')
    return x.findtext('{jabber:x:oob}url') if x is not None else None


def test_converse_uploads_file_for_slixmpp(server_factory, site, browser, tmp_path):
    """Converse.js uploads a file (XEP-0363) that slixmpp's bob then
    downloads byte-identical."""
    upload_dir = tmp_path / 'upload'
    upload_dir.mkdir()
    server = web_server(server_factory, ws_origins=site.origin,
                        upload_domain='upload.localhost', upload_dir=str(upload_dir))
    # slots must point at this server's xmpp-web, whose port is known now:
    # the configuration is read on every connection
    with open(server.conf_path, 'a') as f:
        f.write('http_url = http://127.0.0.1:%d\n' % server.ports[1])
    server.adduser(ALICE, PW)
    server.adduser(BOB, PW)
    contacts(server, ALICE, BOB)
    # a PNG (Converse shows it) with bytes of this run after its end
    image = png(64, 48, (0x20, 0x90, 0xd0)) + os.urandom(64)
    path = browser.artifacts / 'sent.png'
    path.write_bytes(image)

    async def go():
        bob = await online(server.port, BOB + '/tcp')
        try:
            await browser.cmd('goto', START, url=site.page(ws_url(server), ALICE, PW))
            await browser.until(CONNECTED, LOGIN, 'Converse.js logs in as %s' % ALICE,
                                give_up=GAVE_UP)
            browser.step('Converse connected')
            await browser.explain(bob.wait(available(ALICE), WAIT))
            # alice opens her chat with bob; Converse offers a file there
            # once it found the upload service (disco#items, disco#info)
            await browser.cmd('click', selector=CONTACT % BOB)
            await browser.until("!!document.querySelector('%s')" % FILE_INPUT % BOB, WAIT,
                                "Converse's file upload in the chat with bob")
            browser.step('upload offered')
            n = bob.mark()
            await browser.cmd('files', selector=FILE_INPUT % BOB, paths=[str(path)])
            msg = await browser.explain(bob.wait1(
                lambda e: e.tag == '{jabber:client}message' and oob_url(e) is not None,
                WAIT * 2, since=n))
            url = oob_url(msg)
            browser.step('link at bob: %s' % url)
            assert msg.findtext('{jabber:client}body') == url, msg
            assert url.startswith('http://127.0.0.1:%d/' % server.ports[1]), url
            loop = asyncio.get_running_loop()
            got = await loop.run_in_executor(None, download, url)
            assert got == image, 'downloaded %d bytes, uploaded %d' % (len(got), len(image))
            browser.step('bob downloaded the same %d bytes' % len(got))
            # Converse shows the image it sent, fetched from xmpp-web
            await browser.until(
                "[...document.querySelectorAll('converse-chat[jid=\"%s\"] img')]"
                ".some(i => i.complete && i.naturalWidth === 64 && i.src.startsWith(%s))"
                % (BOB, json.dumps(url.split('?')[0])), WAIT, 'the image in the chat')
            await screenshot(browser, 'upload-conversation.png')
        except BaseException:
            await browser.keep_failure()
            raise
        finally:
            await bob.close()

    C.run(go, timeout=90)


def download(url):
    with urllib.request.urlopen(url, timeout=WAIT) as r:
        assert r.status == 200, r.status
        return r.read()
