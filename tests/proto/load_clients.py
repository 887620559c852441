"""load_clients.py - raw XMPP clients that keep a steady message load
going through a disruption of Redis (a Sentinel failover, a Cluster
resharding or failover) and note what each saw, so that a test can count
every message: sent, acknowledged, delivered, bounced, and lost.

Clock     shared by the clients: logins, failed logins, stream ends, and
          the moment of the disruption (kill)
Sender    XEP-0198 client sending RATE messages a second while `load` is
          set; re-sends what the server did not acknowledge after a
          resumption or a new session
Receiver  client without XEP-0198; logs in again (and gets the offline
          messages) when its stream ends
Prober    a fresh login every 100 ms: when logins stopped and came back
"""
import threading
import time

from harness import NS_CLIENT, NS_STREAMS, NS_STREAM_ERR, Pump, to_xml, wait_until
from im_helpers import NS_BIND, q, raw_auth, raw_login, raw_wait

NS_SM = "urn:xmpp:sm:3"
RATE = 15                 # messages a second per sender


def sm(name):
    return q(NS_SM, name)


def jc(name):
    return q(NS_CLIENT, name)


def stream_error(el):
    """(condition, text) of a stream error element."""
    cond = next((c.tag.split("}", 1)[1] for c in el if c.tag.startswith("{%s}" % NS_STREAM_ERR)
                 and not c.tag.endswith("}text")), "?")
    return cond, el.findtext(q(NS_STREAM_ERR, "text")) or ""



class Clock:
    """Shared between the clients: the kill time and what each saw."""

    def __init__(self):
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.kill = None
        self.logins = []            # (time, who) of every successful login
        self.login_fails = []       # (time, who, why)
        self.stream_ends = []       # (time, who, condition, text) or (.., None, "closed")

    def note(self, what, *item):
        with self.lock:
            getattr(self, what).append((time.monotonic(),) + item)

    def login_failed(self, who, raw, e):
        """A login that failed (raw closed, if any): noted, a pause; False."""
        self.note("login_fails", who, str(e).splitlines()[0][:160])
        if raw:
            raw.close()
        time.sleep(0.1)
        return False


class Sender(threading.Thread):
    """A client with XEP-0198 that sends RATE messages a second to `to`
    while `load` is set, each followed by <r/>; .acked are the ids the
    server acknowledged. A lost stream: log in again, <resume/> (else a new
    session) and re-send what was not acknowledged."""

    def __init__(self, server, clock, bare, to, load, stop):
        super().__init__(daemon=True)
        self.server, self.clock, self.bare, self.to = server, clock, bare, to
        self.load, self.stop = load, stop
        self.sent = {}             # id -> time first sent
        self.acked = set()
        self.how = {}              # id -> how it was first acknowledged: "a" or "resumed"
        self.bounced = {}          # id -> error element
        self.session = []          # ids sent in this SM session, in order
        self.h_acked = 0           # the server's last <a h/>
        self.inbound = 0           # stanzas received in this SM session (our h)
        self.previd = None
        self.pump = None
        self.seen = 0
        self.n = 0
        self.resumes = self.new_sessions = 0
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception as e:       # reported by the test
            self.error = "%s: %r" % (self.bare, e)

    def _run(self):
        next_send = time.monotonic()
        while not self.stop.is_set():
            if self.pump is None or self.pump.gone:
                self._ended()
                if not self._connect():
                    continue
            self._read()
            now = time.monotonic()
            if self.load.is_set() and now >= next_send:
                self.n += 1
                mid = "%s-%d" % (self.bare.split("@")[0], self.n)
                self.sent[mid] = now
                self._send(mid)
                next_send = now + 1.0 / RATE
            time.sleep(0.005)
        if self.pump:
            self.pump.close(timeout=1)

    def _send(self, mid):
        self.session.append(mid)
        self.pump.send("<message to='%s' type='chat' id='%s'><body>%s</body></message>"
                       "<r xmlns='%s'/>" % (self.to, mid, mid, NS_SM))

    def _ended(self):
        if self.pump is None:
            return
        errs = self.pump.seen(lambda e: e.tag == q(NS_STREAMS, "error"))
        if errs:
            self.clock.note("stream_ends", self.bare, *stream_error(errs[-1]))
        else:
            self.clock.note("stream_ends", self.bare, None, "closed")
        self._read()
        self.pump.abort()
        self.pump = None

    def _read(self):
        els = self.pump.seen(lambda e: True)
        for el in els[self.seen:]:
            if el.tag == sm("a"):
                h = int(el.get("h"))
                self.h_acked = max(self.h_acked, h)
                self._ack(self.session[:h], "a")
            elif el.tag == sm("r"):
                self.pump.send("<a xmlns='%s' h='%d'/>" % (NS_SM, self.inbound))
            elif el.tag.startswith("{%s}" % NS_CLIENT):
                self.inbound += 1
                if el.tag == jc("message") and el.get("type") == "error":
                    self.bounced[el.get("id")] = el
        self.seen = len(els)

    def _ack(self, ids, how):
        for m in ids:
            if m not in self.acked:
                self.acked.add(m)
                self.how[m] = (how, time.monotonic())

    def _connect(self):
        """Log in again; True when streaming, False after a failed try."""
        unacked = self.session[self.h_acked:]
        r = None
        try:
            r, _ = raw_auth(self.server, self.bare)
            if self.previd:
                r.send("<resume xmlns='%s' previd='%s' h='%d'/>" % (NS_SM, self.previd,
                                                                     self.inbound))
                el = raw_wait(r, lambda e: e.tag in (sm("resumed"), sm("failed")))
                if el.tag == sm("resumed"):
                    h = int(el.get("h"))
                    self._ack(self.session[:h], "resumed")
                    self.h_acked = h
                    unacked = self.session[h:]
                    self.session = self.session[:h]
                    self.resumes += 1
                    self._streaming(r, unacked)
                    return True
            r.send("<iq type='set' id='bind'><bind xmlns='%s'><resource>s</resource></bind></iq>"
                   % NS_BIND)
            el = raw_wait(r, lambda e: e.get("id") == "bind")
            assert el.get("type") == "result", to_xml(el)
            r.send("<enable xmlns='%s' resume='true'/>" % NS_SM)
            el = raw_wait(r, lambda e: e.tag in (sm("enabled"), sm("failed")))
            assert el.tag == sm("enabled"), to_xml(el)
            self.previd = el.get("id")
            self.session, self.h_acked, self.inbound = [], 0, 0
            self.new_sessions += 1
            self._streaming(r, unacked)
            return True
        except (AssertionError, OSError) as e:
            return self.clock.login_failed(self.bare, r, e)

    def _streaming(self, r, resend):
        self.clock.note("logins", self.bare)
        self.pump = Pump(r)
        self.seen = 0
        for mid in resend:
            self._send(mid)


class Receiver(threading.Thread):
    """A client without XEP-0198, available: records the first arrival of
    each message body; a lost stream: log in again and send presence (the
    offline messages come then)."""

    def __init__(self, server, clock, bare, stop):
        super().__init__(daemon=True)
        self.server, self.clock, self.bare, self.stop = server, clock, bare, stop
        self.delivered = {}        # id -> first arrival
        self.pump = None
        self.seen = 0
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                if self.pump is None or self.pump.gone:
                    if self.pump is not None:
                        self._read()
                        errs = self.pump.seen(lambda e: e.tag == q(NS_STREAMS, "error"))
                        self.clock.note("stream_ends", self.bare,
                                        *(stream_error(errs[-1]) if errs else (None, "closed")))
                        self.pump.abort()
                        self.pump = None
                    if not self._connect():
                        continue
                self._read()
                time.sleep(0.01)
            if self.pump:
                self._read()
                self.pump.close(timeout=1)
        except Exception as e:
            self.error = "%s: %r" % (self.bare, e)

    def _connect(self):
        r = None
        try:
            r, _ = raw_login(self.server, self.bare, resource="r")
            r.send("<presence/>")
            early = []                # offline messages come before our presence
            raw_wait(r, lambda e: e.tag == jc("presence"), keep=early)
            self.clock.note("logins", self.bare)
            self._got(early)
            self.pump = Pump(r)
            self.seen = 0
            return True
        except (AssertionError, OSError) as e:
            return self.clock.login_failed(self.bare, r, e)

    def _read(self):
        els = self.pump.seen(lambda e: True)
        self._got(els[self.seen:])
        self.seen = len(els)

    def _got(self, els):
        now = time.monotonic()
        for el in els:
            if el.tag == jc("message") and el.get("type") != "error":
                body = el.findtext(jc("body"))
                if body and body not in self.delivered:
                    self.delivered[body] = now


class Prober(threading.Thread):
    """Logs in (SASL PLAIN, bind) every 100 ms with a fresh connection and
    notes each success or failure: when logins stopped and came back."""

    def __init__(self, server, bare, stop):
        super().__init__(daemon=True)
        self.server, self.bare, self.stop = server, bare, stop
        self.ok, self.fail = [], []

    def run(self):
        while not self.stop.is_set():
            t = time.monotonic()
            r = None
            try:
                r, _ = raw_login(self.server, self.bare, resource="p%d" % len(self.ok))
                self.ok.append(t)
            except (AssertionError, OSError) as e:
                self.fail.append((t, str(e).splitlines()[0][:120]))
            finally:
                if r:
                    r.close()
            time.sleep(max(0, 0.1 - (time.monotonic() - t)))


class Load:
    """The load of a disruption test, start to end: senders[i] sends to
    to[i] (receivers in turn, unless given), all log in, the load runs
    `before` seconds, disrupt() runs and returns the moment from which a
    message counts as flowing again (sent and delivered after it), the
    load runs until one does and `after` seconds more, then every
    sender waits (up to `settle` seconds) for its last acknowledgement
    and every receiver for what was acknowledged. extra: more threads
    (a Prober) stopped with the senders. Then sent, accepted,
    delivered, bounced (sets of ids), tx, rx and clock are there."""

    def __init__(self, server, senders, receivers, to=None, extra=()):
        self.clock = Clock()
        self.load, self.stop, self.stop_rx = (threading.Event() for _ in range(3))
        self.rx = [Receiver(server, self.clock, b, self.stop_rx) for b in receivers]
        self.tx = [Sender(server, self.clock, s, r, self.load, self.stop)
                   for s, r in zip(senders, to or receivers)]
        self.extra = list(extra)

    def sent_at(self, mid):
        return next((s.sent[mid] for s in self.tx if mid in s.sent), 0)

    def flowing(self, since):
        """Arrival times of messages sent and delivered after since."""
        return sorted(t for r in self.rx for mid, t in r.delivered.items()
                      if t > since and self.sent_at(mid) > since)

    def run(self, before, disrupt, after, settle=10, flowing_timeout=20):
        for t in self.rx + self.tx + self.extra:
            t.start()
        wait_until(lambda: len({w for _, w in self.clock.logins}) == len(self.rx + self.tx),
                   timeout=20, what="every client logged in")
        self.load.set()
        time.sleep(before)
        self.since = disrupt()
        wait_until(lambda: self.flowing(self.since), timeout=flowing_timeout,
                   what="a message sent and delivered after the disruption")
        time.sleep(after)
        self.load.clear()
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and not all(
                s.pump and not s.pump.gone and s.h_acked == len(s.session) for s in self.tx):
            time.sleep(0.05)
        self.stop.set()
        for t in self.tx + self.extra:
            t.join(5)
        self.sent = {m for s in self.tx for m in s.sent}
        self.accepted = {m for s in self.tx for m in s.acked}
        late = time.monotonic() + 5
        wait_until(lambda: self.accepted <= {m for r in self.rx for m in r.delivered} or
                   time.monotonic() > late, timeout=10, what="deliveries")
        self.stop_rx.set()
        for t in self.rx:
            t.join(5)
        errors = [t.error for t in self.tx + self.rx if t.error]
        assert not errors, errors
        self.delivered = {m for r in self.rx for m in r.delivered}
        self.bounced = {m for s in self.tx for m in s.bounced}
        return self

    def ends(self):
        """(s after the disruption began, who, condition, text) of every
        stream end."""
        k = self.clock.kill
        return [(round(t - k, 2), who, cond, text)
                for t, who, cond, text in self.clock.stream_ends]

    def longest_pause(self):
        """The longest time without a delivery after the disruption began."""
        k = self.clock.kill
        d = sorted(t for r in self.rx for t in r.delivered.values())
        return max((b - a for a, b in zip(d, d[1:]) if b > k), default=None)

    def senders_line(self):
        return "senders: %s" % ", ".join("%s resumed %d, new sessions %d" % (
            s.bare, s.resumes, s.new_sessions - 1) for s in self.tx)

    def bounced_line(self):
        return "bounced: %s" % {m: to_xml(e) for s in self.tx for m, e in s.bounced.items()}
