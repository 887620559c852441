"""What the XEP-0313 tests share (test_mam.py, a user's archive;
test_muc_history.py, a room's): a raw query IQ, sending one and
collecting its results, the XEP-0059 part of its <fin/>."""
import xml.etree.ElementTree as ET

from slixmpp.xmlstream import ET as SET

from im_helpers import q

NS_MAM = 'urn:xmpp:mam:2'
NS_SID = 'urn:xmpp:sid:0'
NS_RSM = 'http://jabber.org/protocol/rsm'
NS_XDATA = 'jabber:x:data'
NS_FWD = 'urn:xmpp:forward:0'
NS_DELAY = 'urn:xmpp:delay'
NS_CLIENT = 'jabber:client'


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
