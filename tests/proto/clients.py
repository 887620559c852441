"""Small helpers around slixmpp (Debian's python3-slixmpp 1.8.3) for the
protocol tests.

xmppd has no TLS yet, so every client here connects in clear to
127.0.0.1:PORT and is allowed to authenticate without encryption (SCRAM is
allowed by slixmpp's defaults; PLAIN needs the feature_mechanisms config
flag ``unencrypted_plain``).

Everything is asyncio and every wait is bounded: a test that gets no answer
fails with a timeout instead of hanging. The synchronous entry point is
``run(coro_factory, timeout)``, which runs a coroutine in a fresh event loop
and aborts every client that is still connected when it returns, fails or
times out.

slixmpp notes (1.8.3, checked against the installed sources):
- ``ClientXMPP.connect(address=(host, port), use_ssl=False,
  force_starttls=False, disable_starttls=True)`` connects without STARTTLS
  and without SRV lookups.
- ``ClientXMPP(jid, password, sasl_mech='SCRAM-SHA-1')`` or
  ``xmpp['feature_mechanisms'].use_mech = ...`` restricts SASL to one
  mechanism. Without it slixmpp picks the best offered one and, after a
  ``<failure/>``, tries the next one on the same stream (event
  ``failed_auth`` each time, ``failed_all_auth`` when none is left, then it
  closes the stream).
- ``unencrypted_scram`` defaults to True, ``unencrypted_plain`` to False.
- On a lost connection slixmpp does not reconnect by itself; on a failed
  TCP connect it retries with back-off, which ``Client`` cancels.
"""

import asyncio
import logging
import time

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

HOST = '127.0.0.1'
TIMEOUT = 15.0          # the default bound of every wait, in seconds

log = logging.getLogger('tests.proto.clients')

# Clients created in the loop that ``run`` is running: aborted at its end.
_live = []


class Outcome:
    """What happened to one client connection."""

    def __init__(self):
        self.connected = False          # TCP connection made
        self.connection_failed = None   # reason if the TCP connect failed
        self.auth_success = False
        self.mechanism = None           # SASL mechanism slixmpp last used
        self.failed_auth = []           # SASL <failure/> conditions, in order
        self.failed_mechs = []          # the mechanism of each failure
        self.offered_mechs = []         # SASL mechanisms the server offered
        self.failed_all_auth = False
        self.session_started = False
        self.bound_jid = None           # full JID from the bind result
        self.stream_id = None           # server's stream id when the session started
        self.first_stream_id = None     # server's stream id before SASL success
        self.stream_errors = []         # stream error conditions received
        self.disconnected = False
        self.disconnect_reason = None
        self.timed_out = False          # login did not finish in time
        self.login_seconds = None

    @property
    def ok(self):
        return self.session_started and not self.failed_auth and not self.disconnected

    def __repr__(self):
        keys = ('connected', 'connection_failed', 'offered_mechs', 'auth_success', 'mechanism',
                'failed_auth', 'failed_mechs', 'failed_all_auth', 'session_started', 'bound_jid',
                'stream_errors', 'disconnected', 'disconnect_reason', 'timed_out')
        return 'Outcome(%s)' % ', '.join('%s=%r' % (k, getattr(self, k)) for k in keys)


class Client:
    """A slixmpp ClientXMPP plus the record of its events.

    Create it inside a running event loop (slixmpp binds to the loop that
    is current when it first needs one).
    """

    def __init__(self, jid, password, mech=None, plugins=(), allow_plain=True):
        self.xmpp = slixmpp.ClientXMPP(jid, password, sasl_mech=mech)
        fm = self.xmpp['feature_mechanisms']
        fm.unencrypted_plain = allow_plain
        fm.unencrypted_scram = True
        for p in plugins:
            self.xmpp.register_plugin(p)
        # No whitespace pings during a test: they would only add noise.
        self.xmpp.whitespace_keepalive = False
        self._watch()

    def _watch(self):
        """Record the events of self.xmpp (a subclass may make another
        kind of slixmpp stream, e.g. a ComponentXMPP, then call this)."""
        self.outcome = Outcome()
        self._done = asyncio.get_running_loop().create_future()   # login over
        self._gone = asyncio.get_running_loop().create_future()   # disconnected
        self._stream_error = asyncio.get_running_loop().create_future()
        x = self.xmpp
        x.add_event_handler('connected', self._on_connected)
        x.add_event_handler('connection_failed', self._on_connection_failed)
        x.add_event_handler('auth_success', self._on_auth_success)
        x.add_event_handler('failed_auth', self._on_failed_auth)
        x.add_event_handler('failed_all_auth', self._on_failed_all_auth)
        x.add_event_handler('session_bind', self._on_session_bind)
        x.add_event_handler('session_start', self._on_session_start)
        x.add_event_handler('stream_error', self._on_stream_error)
        x.add_event_handler('disconnected', self._on_disconnected)
        _live.append(self)

    # ---- events ----

    @staticmethod
    def _resolve(fut, value=None):
        if not fut.done():
            fut.set_result(value)

    def _on_connected(self, _):
        self.outcome.connected = True

    def _on_connection_failed(self, reason):
        # slixmpp would retry with back-off: stop that, report it.
        self.outcome.connection_failed = str(reason) or 'connection failed'
        self.xmpp.cancel_connection_attempt()
        self._resolve(self._done)
        self._resolve(self._gone)

    def _on_auth_success(self, _):
        self.outcome.auth_success = True
        self.outcome.first_stream_id = self.xmpp.stream_id
        self.outcome.mechanism = self._mech_name()

    def _on_failed_auth(self, failure):
        self.outcome.mechanism = self._mech_name()
        self.outcome.failed_mechs.append(self.outcome.mechanism)
        self.outcome.failed_auth.append(failure['condition'] or '(none)')

    def _on_failed_all_auth(self, _):
        self._mech_name()
        self.outcome.failed_all_auth = True
        self._resolve(self._done)

    def _on_session_bind(self, jid):
        self.outcome.bound_jid = str(jid)

    def _on_session_start(self, _):
        self.outcome.session_started = True
        self.outcome.stream_id = self.xmpp.stream_id
        self.outcome.bound_jid = self.xmpp.boundjid.full
        self._resolve(self._done)

    def _on_stream_error(self, error):
        self.outcome.stream_errors.append(error['condition'] or '(none)')
        self._resolve(self._stream_error, error['condition'])

    def _on_disconnected(self, reason):
        self.outcome.disconnected = True
        self.outcome.disconnect_reason = None if reason is None else str(reason)
        self._resolve(self._done)
        self._resolve(self._gone)

    def _mech_name(self):
        fm = self.xmpp['feature_mechanisms']
        if fm.mech_list:
            self.outcome.offered_mechs = sorted(fm.mech_list)
        mech = fm.mech
        return getattr(mech, 'name', None)

    # ---- actions ----

    async def login(self, port, host=HOST, timeout=TIMEOUT):
        """Connect and wait until the session starts, authentication is
        given up, or the connection ends. Returns the Outcome; on timeout
        outcome.timed_out is set (the connection is left to the caller)."""
        start = time.monotonic()
        self.xmpp.connect(address=(host, port), use_ssl=False,
                          force_starttls=False, disable_starttls=True)
        try:
            await asyncio.wait_for(asyncio.shield(self._done), timeout)
        except asyncio.TimeoutError:
            self.outcome.timed_out = True
        self.outcome.login_seconds = time.monotonic() - start
        return self.outcome

    async def wait_disconnected(self, timeout=TIMEOUT):
        """True if the connection ended within timeout."""
        try:
            await asyncio.wait_for(asyncio.shield(self._gone), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def wait_stream_error(self, timeout=TIMEOUT):
        """The condition of the first stream error received, or None."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._stream_error), timeout)
        except asyncio.TimeoutError:
            return None

    async def close(self, timeout=TIMEOUT):
        """Send </stream:stream>, wait (bounded) for the server to close,
        abort if it does not. True if the server closed in time."""
        if self._gone.done():
            return True
        if self.xmpp.transport is None:
            # connecting or never connected: nothing to close politely
            self.xmpp.cancel_connection_attempt()
            return True
        self.xmpp.disconnect(wait=min(timeout, 5.0))
        ok = await self.wait_disconnected(timeout)
        if not ok:
            self.abort()
        return ok

    def drop(self):
        """Drop the TCP connection without closing the stream (what many
        real clients do)."""
        self.abort()

    def abort(self):
        try:
            self.xmpp.cancel_connection_attempt()
            if self.xmpp.transport is not None:
                self.xmpp.abort()
        except Exception:          # best effort during clean-up
            log.exception('abort')

    @property
    def connected(self):
        return self.xmpp.transport is not None and not self._gone.done()

    async def ping(self, to=None, timeout=10):
        """XEP-0199 ping; returns (iq type, rtt seconds). Unlike slixmpp's
        own ping(), an error answer is not counted as a pong. `to` None
        means the server's domain; '' sends the ping without a 'to'.
        Needs plugin xep_0199."""
        start = time.monotonic()
        if to is None:
            to = self.xmpp.boundjid.domain
        try:
            iq = await self.xmpp['xep_0199'].send_ping(to, timeout=timeout)
        except IqError as e:
            return ('error:' + (e.iq['error']['condition'] or '?'),
                    time.monotonic() - start)
        except IqTimeout:
            return ('timeout', time.monotonic() - start)
        return (iq['type'], time.monotonic() - start)

    async def disco_info(self, to=None, timeout=10):
        """XEP-0030 disco#info of `to` (default the server). Returns the
        answering Iq's disco_info, or raises IqError / IqTimeout.
        Needs plugin xep_0030."""
        to = to or self.xmpp.boundjid.domain
        iq = await self.xmpp['xep_0030'].get_info(jid=to, local=False,
                                                  cached=False, timeout=timeout)
        return iq['disco_info']



class SMClient(Client):
    """A slixmpp client with XEP-0198 (and plugins) that acknowledges every
    stanza it gets and records the bodies of the messages of one slixmpp
    event ('message', or 'groupchat_message') and its stream management
    events."""

    def __init__(self, jid, password, plugins=(), event='message'):
        super().__init__(jid, password, plugins=['xep_0198'] + list(plugins))
        self.bodies = []
        self.events = []
        self.xmpp['xep_0198'].window = 1        # ack every stanza it sends
        self.xmpp.add_event_handler(event, lambda m: self.bodies.append(m['body']))
        for ev in ('sm_enabled', 'session_resumed', 'sm_failed'):
            self.xmpp.add_event_handler(ev, lambda _s, ev=ev: self.events.append(ev))

    async def until(self, cond, timeout=8.0):
        t = 0.0
        while not cond():
            await asyncio.sleep(0.05)
            t += 0.05
            assert t < timeout, 'timed out: bodies=%r events=%r' % (self.bodies, self.events)

async def login(port, jid, password, mech=None, plugins=(), timeout=TIMEOUT,
                host=HOST, allow_plain=True):
    """Create a Client, log it in, return it (look at .outcome)."""
    c = Client(jid, password, mech=mech, plugins=plugins, allow_plain=allow_plain)
    await c.login(port, host=host, timeout=timeout)
    return c


async def _cleanup():
    clients = list(_live)
    _live.clear()
    for c in clients:
        c.abort()
    # let transports finish closing
    await asyncio.sleep(0)


def run(factory, timeout=60.0):
    """Run factory() (a coroutine function) in a new event loop with a hard
    timeout; abort every Client it left connected. Returns its result;
    raises asyncio.TimeoutError (as TimeoutError) if it took too long."""
    async def main():
        try:
            return await asyncio.wait_for(factory(), timeout)
        finally:
            await _cleanup()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main())
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=5))
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def login_once(port, jid, password, mech=None, timeout=TIMEOUT):
    """Log in, close the stream, return the login Outcome (synchronous)."""
    async def go():
        c = await login(port, jid, password, mech=mech, timeout=timeout)
        if c.connected:
            await c.close(timeout=5)
        return c.outcome
    return run(go, timeout=timeout + 10)


def poll(predicate, timeout=5.0, interval=0.05):
    """Call predicate() until it returns something true or timeout passes;
    returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


async def apoll(predicate, timeout=5.0, interval=0.05):
    """poll() for coroutines: predicate is a plain function."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() >= deadline:
            return v
        await asyncio.sleep(interval)


# ---- server-side views, over the harness fixture API ----

def _text(v):
    return v.decode() if isinstance(v, (bytes, bytearray)) else v


def redis_sessions(server, bare):
    """The sessions hash of bare (xmpp:{bare}:sessions) as
    {resource: record string}; accepts a flat list or a dict reply."""
    r = server.redis('HGETALL', 'xmpp:{%s}:sessions' % bare)
    if not r:
        return {}
    if isinstance(r, dict):
        return {_text(k): _text(v) for k, v in r.items()}
    r = [_text(x) for x in r]
    return dict(zip(r[0::2], r[1::2]))


def handler_running(pid):
    """True if pid is a live (not zombie) xmpp-handler process."""
    try:
        with open('/proc/%s/stat' % pid) as f:
            state = f.read().rpartition(')')[2].split()[0]
        with open('/proc/%s/cmdline' % pid, 'rb') as f:
            cmd = f.read()
    except (OSError, IndexError, ValueError):
        return False
    return state != 'Z' and b'xmpp-handler' in cmd


def parse_session_record(rec):
    """'id=.. prio=0 avail=0 host=.. pid=.. since=.. seen=..' -> dict."""
    out = {}
    for part in rec.split():
        k, sep, v = part.partition('=')
        if sep:
            out[k] = v
    return out
