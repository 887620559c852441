"""RFC 6121 2: roster pushes to every interested resource, and roster
versioning (RFC 6121 2.6, XEP-0237) over a raw stream.
"""
try:
    from . import clients as C
except ImportError:
    import clients as C

from im_helpers import (PW, is_, is_push, roster_items, redis_roster, online, raw_login,
                        raw_wait, xmls, q, NS_ROSTER)

ALICE = 'alice@localhost'
CAROL = 'carol@localhost'


def test_roster_push_to_second_resource(server):
    """r1 adds a contact with a name and groups: r1 and r2 (both fetched
    the roster) get the push with that name and those groups, r3 (never
    asked for the roster) gets none (2.1.6, 2.3.2); r1 removes it: the
    push says subscription='remove' (2.5.2)."""
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        r1 = await online(server.port, ALICE + '/r1')
        r2 = await online(server.port, ALICE + '/r2')
        r3 = await online(server.port, ALICE + '/r3', roster=False)
        res = await r1.xmpp.update_roster(CAROL, name='Carol', groups=['Friends', 'Work'])
        seen['set_result'] = res['type']
        p2 = await r2.wait1(lambda e: is_push(e) and CAROL in roster_items(e))
        p1 = await r1.wait1(lambda e: is_push(e) and CAROL in roster_items(e))
        seen['push2'] = roster_items(p2)
        seen['push2_attrs'] = (p2.get('from'), p2.get('to'), p2.get('type'))
        seen['push1'] = roster_items(p1)
        seen['ver'] = (p1.find(q(NS_ROSTER, 'query')).get('ver'),
                       p2.find(q(NS_ROSTER, 'query')).get('ver'))
        seen['redis_set'] = redis_roster(server, ALICE)
        n1, n2 = r1.mark(), r2.mark()
        res = await r1.xmpp.del_roster_item(CAROL)
        seen['del_result'] = res['type']
        rm = await r2.wait1(lambda e: is_push(e) and CAROL in roster_items(e), since=n2)
        await r1.wait1(lambda e: is_push(e) and CAROL in roster_items(e), since=n1)
        seen['remove'] = roster_items(rm)
        await r3.none_for(is_push, seconds=0.5)
        seen['redis_rm'] = redis_roster(server, ALICE)
        seen['roster_after'] = await r2.roster()
        for c in (r1, r2, r3):
            await c.close()
    C.run(go, timeout=60)

    assert seen['set_result'] == 'result', seen
    want = {CAROL: {'subscription': 'none', 'ask': None, 'name': 'Carol',
                    'groups': ['Friends', 'Work']}}
    assert seen['push2'] == want, seen
    assert seen['push1'] == want, seen
    # RFC 6121 2.1.6: a push comes from the account (no 'from' or the bare JID)
    assert seen['push2_attrs'][0] in (None, ALICE), seen
    assert seen['push2_attrs'][1:] == (ALICE + '/r2', 'set'), seen
    assert seen['ver'][0] and seen['ver'][0] == seen['ver'][1], seen
    assert seen['redis_set'][CAROL]['name'] == 'Carol', seen
    assert seen['redis_set'][CAROL]['groups'] == ['Friends', 'Work'], seen
    assert seen['del_result'] == 'result', seen
    assert seen['remove'] == {CAROL: {'subscription': 'remove', 'ask': None, 'name': None,
                                      'groups': []}}, seen
    assert seen['redis_rm'] == {}, seen
    assert seen['roster_after'] == {}, seen


def roster_query(el):
    return el.find(q(NS_ROSTER, 'query'))


def test_roster_versioning(server):
    """RFC 6121 2.6.3: a roster get carrying the current version is
    answered with an empty IQ result; one with an older version gets the
    whole roster with the current version; one with ver='' too."""
    server.adduser(ALICE, PW)
    r, full = raw_login(server, ALICE, resource='ver')

    def get(i, ver):
        attr = '' if ver is None else " ver='%s'" % ver
        r.send("<iq type='get' id='g%d'><query xmlns='jabber:iq:roster'%s/></iq>" % (i, attr))
        return raw_wait(r, is_('iq', id='g%d' % i))

    def set_item(i, jid, name):
        r.send("<iq type='set' id='s%d'><query xmlns='jabber:iq:roster'>"
               "<item jid='%s' name='%s'><group>G</group></item></query></iq>" % (i, jid, name))
        pushes = []
        res = raw_wait(r, is_('iq', id='s%d' % i), keep=pushes)
        assert res.get('type') == 'result', xmls([res])
        push = [p for p in pushes if is_push(p)] or \
            [raw_wait(r, lambda e: is_push(e) and jid in roster_items(e))]
        return roster_query(push[0]).get('ver')

    first = get(1, '')
    assert first.get('type') == 'result', xmls([first])
    v0 = roster_query(first).get('ver')
    assert v0, 'roster result without ver although ver was advertised: ' + xmls([first])
    assert roster_items(first) == {}, xmls([first])

    v1 = set_item(1, CAROL, 'Carol')
    assert v1 and v1 != v0, (v0, v1)

    cur = get(2, v1)
    assert cur.get('type') == 'result', xmls([cur])
    assert len(cur) == 0, 'roster get with the current ver must be an empty result: ' + \
        xmls([cur])

    v2 = set_item(2, 'dave@localhost', 'Dave')
    assert v2 and v2 not in (v0, v1), (v0, v1, v2)

    old = get(3, v1)
    assert old.get('type') == 'result', xmls([old])
    assert roster_query(old) is not None, 'older ver: expected the full roster: ' + xmls([old])
    assert roster_query(old).get('ver') == v2, xmls([old])
    assert set(roster_items(old)) == {CAROL, 'dave@localhost'}, xmls([old])

    again = get(4, '')
    assert roster_query(again) is not None and roster_query(again).get('ver') == v2, xmls([again])
    assert set(roster_items(again)) == {CAROL, 'dave@localhost'}, xmls([again])

    plain = get(5, None)
    assert set(roster_items(plain)) == {CAROL, 'dave@localhost'}, xmls([plain])

    r.send('</stream:stream>')
