"""XEP-0313 message archive (urn:xmpp:mam:2 and #extended) with XEP-0359
stanza-ids and XEP-0441 preferences, driven by slixmpp's xep_0313 plugin
and by raw IQs on two listeners sharing one Redis: both directions of a
conversation archived once per user, the stanza-id on the live message
and on the offline copy equal to the archive id, queries by with (bare
and full), start/end, before-id/after-id/ids, XEP-0059 paging (empty
archive, exact page boundary, <before/> for the last page, flip-page,
unknown id), the form, metadata, preferences, retention, what is never
archived (headline, no body, no-store hint, bounced), and
`xmppctl archive`/`deluser`.
"""
import asyncio
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.xmlstream import ET as SET

from im_helpers import PW, body_is, is_, online, q, stamp_epoch

ALICE, BOB, CAROL = 'alice@localhost', 'bob@localhost', 'carol@localhost'
NS_MAM = 'urn:xmpp:mam:2'
NS_SID = 'urn:xmpp:sid:0'
NS_RSM = 'http://jabber.org/protocol/rsm'
NS_XDATA = 'jabber:x:data'
NS_FWD = 'urn:xmpp:forward:0'
NS_DELAY = 'urn:xmpp:delay'
NS_CLIENT = 'jabber:client'
PLUGINS = ['xep_0030', 'xep_0059', 'xep_0297', 'xep_0313', 'xep_0359']


def stanza_id(el, by):
    """The id of el's <stanza-id by=by/>, or None."""
    for s in el.findall(q(NS_SID, 'stanza-id')):
        if s.get('by') == by:
            return s.get('id')
    return None


def mam_query(c, fields=None, rsm=None, flip=False, queryid='q1', to=None, ids=()):
    """A raw MAM query IQ: fields {var: value}, rsm {name: text or ''}."""
    iq = c.xmpp.Iq()
    iq['type'] = 'set'
    if to:
        iq['to'] = to
    qe = SET.SubElement(iq.xml, q(NS_MAM, 'query'))
    if queryid:
        qe.set('queryid', queryid)
    if fields or ids:
        x = SET.SubElement(qe, q(NS_XDATA, 'x'), type='submit')
        f = SET.SubElement(x, q(NS_XDATA, 'field'), var='FORM_TYPE', type='hidden')
        SET.SubElement(f, q(NS_XDATA, 'value')).text = NS_MAM
        for var, val in (fields or {}).items():
            f = SET.SubElement(x, q(NS_XDATA, 'field'), var=var)
            SET.SubElement(f, q(NS_XDATA, 'value')).text = val
        if ids:
            f = SET.SubElement(x, q(NS_XDATA, 'field'), var='ids')
            for i in ids:
                SET.SubElement(f, q(NS_XDATA, 'value')).text = i
    if rsm is not None:
        s = SET.SubElement(qe, q(NS_RSM, 'set'))
        for k, v in rsm.items():
            SET.SubElement(s, q(NS_RSM, k)).text = v or None
    if flip:
        SET.SubElement(qe, q(NS_MAM, 'flip-page'))
    return iq


async def run_query(c, **kw):
    """Send a query; returns (type, results [(id, body, from, to, stamp)],
    fin element or error condition)."""
    mark = c.mark()
    try:
        res = await mam_query(c, **kw).send(timeout=10)
    except Exception as e:           # IqError
        iq = e.iq
        err = iq.xml.find(q(NS_CLIENT, 'error'))
        cond = [ch.tag.split('}')[1] for ch in err if not ch.tag.endswith('}text')][0]
        return 'error', [], cond
    out = []
    for el in c.received[mark:]:
        r = el.find(q(NS_MAM, 'result'))
        if el.tag != q(NS_CLIENT, 'message') or r is None:
            continue
        assert r.get('queryid') == kw.get('queryid', 'q1'), ET.tostring(el)
        fwd = r.find(q(NS_FWD, 'forwarded'))
        m = fwd.find(q(NS_CLIENT, 'message'))
        d = fwd.find(q(NS_DELAY, 'delay'))
        out.append((r.get('id'), m.findtext(q(NS_CLIENT, 'body')), m.get('from'), m.get('to'),
                    d.get('stamp')))
    return 'result', out, res.xml.find(q(NS_MAM, 'fin'))


def fin_set(fin):
    """(complete, first, last, count) of a <fin/>."""
    s = fin.find(q(NS_RSM, 'set'))
    cnt = s.findtext(q(NS_RSM, 'count'))
    return (fin.get('complete') == 'true', s.findtext(q(NS_RSM, 'first')),
            s.findtext(q(NS_RSM, 'last')), int(cnt) if cnt is not None else None)


async def chat(frm, to, body, mtype='chat'):
    m = frm.xmpp.make_message(mto=to, mbody=body, mtype=mtype)
    m.send()


def test_archive_both_directions_slixmpp(server_factory):
    """Alice and Bob talk across two listeners; each archive holds the
    whole conversation once, in order; the live message carries the
    recipient's archive id; slixmpp's xep_0313 pages through it."""
    server = server_factory(listeners=2)
    for u in (ALICE, BOB):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        for i in range(7):
            frm, to = (a, b) if i % 2 == 0 else (b, a)
            await chat(frm, to.full, 'm%d' % i)
            await to.wait1(body_is('m%d' % i))
        live = b.seen(body_is('m0'))[0]
        seen['live_id'] = stanza_id(live, BOB)
        seen['live_other'] = stanza_id(live, ALICE)
        for rev in (False, True):
            got = []
            async for m in a.xmpp['xep_0313'].iterate(rsm={'max': 3}, reverse=rev):
                got.append(m['mam_result']['forwarded']['stanza']['body'])
            seen['rev' if rev else 'fwd'] = got
        seen['b_all'] = await run_query(b, rsm={'max': '10'})
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert seen['fwd'] == ['m%d' % i for i in range(7)], seen['fwd']
    assert seen['rev'] == ['m%d' % i for i in reversed(range(7))], seen['rev']
    typ, items, fin = seen['b_all']
    assert [i[1] for i in items] == ['m%d' % i for i in range(7)], items
    assert fin_set(fin) == (True, items[0][0], items[-1][0], 7)
    # the live message to Bob carries Bob's archive id, and no id of Alice's
    assert seen['live_id'] == items[0][0] and seen['live_other'] is None, seen
    assert items[0][2] == ALICE + '/a1' and items[1][2] == BOB + '/b1', items
    assert all(abs(stamp_epoch(i[4]) - stamp_epoch(items[0][4])) < 60 for i in items)
