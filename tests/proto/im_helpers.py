"""Helpers for the RFC 6121 (IM and presence) protocol tests, test_im_*.py.

IM          a clients.Client (slixmpp) that records a copy of every stanza
            it receives, in order, through an incoming stream filter (so
            slixmpp's own handlers, e.g. the IQ error for unknown payloads,
            keep working), and waits for stanzas with bounded waits.
online()    log an IM client in, fetch the roster, send initial presence.
handshake() the full RFC 6121 3.1 subscription handshake between two
            online IM clients, ending in subscription 'both'.
raw_login() a harness.Raw client authenticated with SASL PLAIN and bound.

Predicates are built with is_(kind, **attrs): kind is 'message', 'presence'
or 'iq'; attrs compare attributes (from_ for 'from'; None = absent).
"""
import asyncio
import base64
import os
import copy
import re
import time
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.exceptions import IqError, IqTimeout

from harness import NS_CLIENT, NS_SASL, NS_STANZA_ERR, to_xml

PW = 'secret-pw'
NS_ROSTER = 'jabber:iq:roster'
NS_DELAY = 'urn:xmpp:delay'
NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind'
NS_VERSION = 'jabber:iq:version'
NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
# Default bound of one wait, seconds. A run in the background at nice 19
# (tests/check.sh) gets what the foreground tests leave of the processor:
# XMPPD_TEST_WAIT_SCALE stretches its bounds.
WAIT = 5.0 * float(os.environ.get('XMPPD_TEST_WAIT_SCALE', '1'))

ABSENT = object()


def q(ns, name):
    return '{%s}%s' % (ns, name)


def is_(kind, **attrs):
    """Predicate: a jabber:client <kind/> whose attributes match attrs.
    from_ stands for 'from'; a value None means the attribute is absent;
    a callable value is called with the attribute (or None)."""
    tag = q(NS_CLIENT, kind)
    want = {('from' if k == 'from_' else k): v for k, v in attrs.items()}

    def pred(el):
        if el.tag != tag:
            return False
        for k, v in want.items():
            got = el.get(k)
            if callable(v):
                if not v(got):
                    return False
            elif got != v:
                return False
        return True
    pred.__doc__ = '<%s %s>' % (kind, ' '.join('%s=%r' % kv for kv in want.items()))
    return pred


def both(*preds):
    def pred(el):
        return all(p(el) for p in preds)
    pred.__doc__ = ' and '.join(p.__doc__ or '?' for p in preds)
    return pred


def has_child(ns, name):
    def pred(el):
        return el.find(q(ns, name)) is not None
    pred.__doc__ = 'child {%s}%s' % (ns, name)
    return pred


def body_is(text):
    def pred(el):
        b = el.find(q(NS_CLIENT, 'body'))
        return b is not None and (b.text or '') == text
    pred.__doc__ = 'body %r' % text
    return pred


def error_condition(el):
    """(error type, condition name) of an error stanza, or (None, None)."""
    e = el.find(q(NS_CLIENT, 'error'))
    if e is None:
        return None, None
    for c in e:
        if c.tag.startswith('{%s}' % NS_STANZA_ERR) and not c.tag.endswith('}text'):
            return e.get('type'), c.tag.split('}', 1)[1]
    return e.get('type'), None


def roster_items(el):
    """{jid: {'subscription', 'ask', 'name', 'groups' (sorted list)}} of an
    <iq/> carrying a roster query, or of a roster <item/> list."""
    out = {}
    query = el.find(q(NS_ROSTER, 'query')) if el.tag != q(NS_ROSTER, 'query') else el
    if query is None:
        return out
    for it in query.findall(q(NS_ROSTER, 'item')):
        out[it.get('jid')] = {
            'subscription': it.get('subscription'),
            'ask': it.get('ask'),
            'name': it.get('name'),
            'groups': sorted((g.text or '') for g in it.findall(q(NS_ROSTER, 'group'))),
        }
    return out


def is_push(el):
    """a roster push"""
    return el.tag == q(NS_CLIENT, 'iq') and el.get('type') == 'set' and \
        el.find(q(NS_ROSTER, 'query')) is not None


def redis_roster(server, bare):
    """The roster hash in Redis as {contact: parsed item}."""
    r = server.redis('HGETALL', 'xmpp:{%s}:roster' % bare) or []
    out = {}
    for k, v in zip(r[0::2], r[1::2]):
        el = ET.fromstring(v.replace('<item ', "<item xmlns='%s' " % NS_ROSTER, 1))
        out[k] = {'subscription': el.get('subscription'), 'ask': el.get('ask'),
                  'name': el.get('name'), 'jid': el.get('jid'),
                  'groups': sorted((g.text or '') for g in el.findall(q(NS_ROSTER, 'group')))}
    return out


def redis_hash(server, key):
    r = server.redis('HGETALL', key) or []
    return dict(zip(r[0::2], r[1::2]))


def xmls(els):
    return '\n  '.join(to_xml(e) for e in els) or '(nothing)'


STAMP_RE = re.compile(r'^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$')


def stamp_epoch(stamp):
    """XEP-0082 DateTime -> unix seconds (AssertionError if malformed)."""
    m = STAMP_RE.match(stamp or '')
    assert m, 'not an XEP-0082 DateTime: %r' % stamp
    import calendar
    t = calendar.timegm(tuple(int(x) for x in m.groups()[:6]) + (0, 0, 0))
    tz = m.group(8)
    if tz != 'Z':
        sign = 1 if tz[0] == '+' else -1
        t -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return t


class IM(C.Client):
    """A slixmpp client that records what it receives. manual=True turns
    off slixmpp's automatic subscription answers (auto_authorize None,
    auto_subscribe False), so the test decides every approval."""

    def __init__(self, jid, password=PW, plugins=(), manual=True, mech='SCRAM-SHA-1'):
        super().__init__(jid, password, mech=mech, plugins=plugins)
        self.received = []
        self.xmpp.add_filter('in', self._record)
        if manual:
            self.xmpp.auto_authorize = None
            self.xmpp.auto_subscribe = False
        self.name = jid

    def _record(self, stanza):
        try:
            self.received.append(copy.deepcopy(stanza.xml))
        except Exception:          # never break the stream over a record
            pass
        return stanza

    @property
    def full(self):
        return self.xmpp.boundjid.full

    @property
    def bare(self):
        return self.xmpp.boundjid.bare

    def seen(self, pred, since=0):
        return [e for e in self.received[since:] if pred(e)]

    async def wait(self, pred, timeout=WAIT, since=0, count=1):
        """Wait until `count` stanzas matching pred arrived (from index
        `since` on); returns the list. AssertionError on timeout, showing
        what did arrive."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.seen(pred, since)
            if len(got) >= count:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError('%s: waited %.1f s for %d x %s; got %d; received:\n  %s' % (
                    self.name, timeout, count, pred.__doc__ or pred, len(got),
                    xmls(self.received[since:])))
            await asyncio.sleep(0.02)

    async def wait1(self, pred, timeout=WAIT, since=0):
        return (await self.wait(pred, timeout, since))[0]

    async def none_for(self, pred, seconds=1.0, since=0):
        """Assert that nothing matching pred arrives within `seconds`."""
        await asyncio.sleep(seconds)
        got = self.seen(pred, since)
        assert not got, '%s: unexpected %s:\n  %s' % (self.name, pred.__doc__, xmls(got))

    async def sync(self, timeout=WAIT):
        """Ping the server and wait for the answer: everything the server
        answered for stanzas sent before has arrived by then (one handler
        processes one client's stanzas in order)."""
        iq = self.xmpp.Iq()
        iq['type'] = 'get'
        iq['to'] = self.xmpp.boundjid.domain
        iq.xml.append(ET.Element('{urn:xmpp:ping}ping'))
        await iq.send(timeout=timeout)

    async def roster(self, timeout=WAIT):
        """Roster get without 'ver' (so the whole roster comes back, RFC
        6121 2.1.3); returns roster_items() of the answer."""
        iq = self.xmpp.Iq()
        iq['type'] = 'get'
        iq.xml.append(ET.Element(q(NS_ROSTER, 'query')))
        res = await iq.send(timeout=timeout)
        self.xmpp.event('roster_update', res)
        return roster_items(res.xml)

    def mark(self):
        return len(self.received)


async def online(port, jid, password=PW, plugins=(), roster=True, presence=True,
                 manual=True, **pres):
    """An IM client logged in; with roster=True it fetched the roster,
    with presence=True it sent initial presence (pres: pshow, pstatus,
    ppriority for send_presence)."""
    c = IM(jid, password, plugins=plugins, manual=manual)
    await c.login(port, timeout=15)
    assert c.outcome.session_started, 'login of %s failed: %r' % (jid, c.outcome)
    if roster:
        await c.roster()
    if presence:
        c.xmpp.send_presence(**pres)
    return c


async def handshake(a, b):
    """RFC 6121 3.1 both ways, by hand: a subscribes, b approves and
    subscribes back, a approves. Waits for each step's effect."""
    ab, bb = a.bare, b.bare
    n_a, n_b = a.mark(), b.mark()
    a.xmpp.send_presence_subscription(pto=bb)
    await b.wait(is_('presence', type='subscribe', from_=ab), since=n_b)
    b.xmpp.send_presence(pto=ab, ptype='subscribed')
    await a.wait(is_('presence', type='subscribed', from_=bb), since=n_a)
    b.xmpp.send_presence_subscription(pto=ab)
    await a.wait(is_('presence', type='subscribe', from_=bb), since=n_a)
    a.xmpp.send_presence(pto=bb, ptype='subscribed')
    await b.wait(is_('presence', type='subscribed', from_=ab), since=n_b)
    # the last pushes (subscription='both') reach both sides
    await a.wait(lambda e: is_push(e) and roster_items(e).get(bb, {}).get('subscription') == 'both',
                 since=n_a)
    await b.wait(lambda e: is_push(e) and roster_items(e).get(ab, {}).get('subscription') == 'both',
                 since=n_b)


# ---- raw clients ----

async def iq_outcome(fut):
    """What became of a slixmpp IQ: ('result', iq), ('error', condition,
    from, type, text) or ('timeout',)."""
    try:
        return ('result', await fut)
    except IqError as e:
        return ('error', e.iq['error']['condition'], str(e.iq['from']), e.iq['error']['type'],
                e.iq['error']['text'])
    except IqTimeout:
        return ('timeout',)


def raw_auth(server, bare, password=PW, listener=0):
    """A Raw client authenticated (stream, SASL PLAIN) on a restarted
    stream, no resource bound yet. Returns (raw, its stream features)."""
    node = bare.split('@')[0]
    r = server.raw(listener)
    r.open(server.domain)
    token = base64.b64encode(b'\0' + node.encode() + b'\0' + password.encode()).decode()
    r.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, token))
    ev, el = r.next()
    assert ev == 'element' and el.tag == q(NS_SASL, 'success'), (ev, el is not None and to_xml(el))
    r.restart()
    return r, r.open(server.domain)


def raw_login(server, bare, password=PW, resource='raw', listener=0):
    """A Raw client: stream, SASL PLAIN, restart, bind. Returns (raw, full JID)."""
    r, _ = raw_auth(server, bare, password, listener)
    r.send("<iq type='set' id='bind1'><bind xmlns='%s'><resource>%s</resource></bind></iq>"
           % (NS_BIND, resource))
    ev, el = r.next()
    assert ev == 'element' and el.get('type') == 'result', (ev, el is not None and to_xml(el))
    full = el.find('.//' + q(NS_BIND, 'jid')).text
    return r, full


def raw_wait(raw, pred, timeout=WAIT, keep=None):
    """Read from a Raw client until an element matches pred; elements
    skipped are appended to keep (a list) if given."""
    deadline = time.monotonic() + timeout
    skipped = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError('no %s within %.1f s; skipped:\n  %s' % (
                pred.__doc__ or pred, timeout, xmls(skipped)))
        ev, el = raw.next(timeout=left)
        if ev != 'element':
            raise AssertionError('stream ended (%s) waiting for %s; skipped:\n  %s' % (
                ev, pred.__doc__ or pred, xmls(skipped)))
        if pred(el):
            if keep is not None:
                keep.extend(skipped)
            return el
        skipped.append(el)
