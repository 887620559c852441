"""XEP-0045 administration and invitations (xmpp-handler(8)), driven by
slixmpp's xep_0045 plugin with occupants on two listeners sharing one
Redis: kick (307 for everyone, the kicked one out, free to come back),
ban (301, then forbidden), voice in a moderated room, moderators,
membership of a members-only room (registration-required, then in; 321
when revoked), admins and owners, the role and affiliation lists, the
errors (forbidden, not-allowed, item-not-found, conflict, bad-request),
mediated invitations (to a session, and offline) and declines, and an
XEP-0249 direct invitation, which is only a message between users."""
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.exceptions import PresenceError

from im_helpers import (body_is, both, error_condition, has_child, is_, iq_outcome as outcome,
                        online, q)

from muc_helpers import (ALICE, BOB, CAROL, NS_ADMIN, NS_USER, PLUGINS, PW, ROOM,
                         create_room, muc_presence, start, x_of)

DAVE = 'dave@localhost'
NS_CONFERENCE = 'jabber:x:conference'


def actor_reason(el):
    """(actor nick, reason) of a muc#user presence's item."""
    item = el.find(q(NS_USER, 'x')).find(q(NS_USER, 'item'))
    actor, reason = item.find(q(NS_USER, 'actor')), item.find(q(NS_USER, 'reason'))
    return (actor.get('nick') if actor is not None else None,
            reason.text if reason is not None else None)


def errored(res):
    """(type, condition) of an iq_outcome that is an error."""
    assert res[0] == 'error', res
    return res[3], res[1]


async def join_error(client, nick, room=ROOM):
    try:
        await client.xmpp['xep_0045'].join_muc_wait(room, nick, timeout=5)
        return 'joined'
    except PresenceError as e:
        return e.presence['error']['type'], e.presence['error']['condition']


def test_kick(server_factory):
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=PLUGINS)
        muc = a.xmpp['xep_0045']
        await create_room(a, 'Al')
        await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        await c.xmpp['xep_0045'].join_muc_wait(ROOM, 'Cy', timeout=5)
        # a participant kicks nobody; nor does anyone kick a nick not there
        seen['by_participant'] = await outcome(
            c.xmpp['xep_0045'].set_role(ROOM, 'Bo', 'none', timeout=5))
        seen['nobody'] = await outcome(muc.set_role(ROOM, 'Nobody', 'none', timeout=5))
        na, nb, nc = a.mark(), b.mark(), c.mark()
        seen['kick'] = await outcome(muc.set_role(ROOM, 'Bo', 'none', reason='spam',
                                                  timeout=5))
        gone = muc_presence('Bo', type='unavailable')
        seen['b'] = await b.wait1(gone, since=nb)
        seen['a'] = await a.wait1(gone, since=na)
        seen['c'] = await c.wait1(gone, since=nc)
        seen['occ'] = sorted(server.redis('HKEYS', 'xmpp:{%s}:occ' % ROOM))
        seen['b_rooms'] = await C.apoll(
            lambda: server.redis('EXISTS', 'xmpp:{%s}:muc:b1' % BOB) == 0)
        # out: its groupchat is refused and reaches nobody
        nb, nc = b.mark(), c.mark()
        b.xmpp.send_message(mto=ROOM, mbody='still here?', mtype='groupchat')
        seen['outside'] = await b.wait1(is_('message', type='error'), since=nb)
        await c.none_for(body_is('still here?'), 0.5, since=nc)
        # free to come back
        nc = c.mark()
        seen['back'] = await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        await c.wait1(muc_presence('Bo', type=None), since=nc)
        for x in (a, b, c):
            await x.close()
    C.run(go, timeout=60)

    assert errored(seen['by_participant']) == ('auth', 'forbidden')
    assert errored(seen['nobody']) == ('cancel', 'item-not-found')
    assert seen['kick'][0] == 'result', seen['kick']
    item, codes = x_of(seen['b'])
    assert codes == ['110', '307'] and item['role'] == 'none', (item, codes)
    assert actor_reason(seen['b']) == ('Al', 'spam')
    for k in ('a', 'c'):
        item, codes = x_of(seen[k])
        assert codes == ['307'] and item['role'] == 'none', (k, item, codes)
        assert actor_reason(seen[k]) == ('Al', 'spam'), k
    assert seen['occ'] == ['Al', 'Cy']
    assert seen['b_rooms'], 'the kicked session still lists the room'
    assert error_condition(seen['outside']) == ('modify', 'not-acceptable')
    item, codes = x_of(seen['back'][0].xml)
    assert item['role'] == 'participant' and '110' in codes


def test_ban(server_factory):
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=PLUGINS)
        muc = a.xmpp['xep_0045']
        await create_room(a, 'Al')
        await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        await c.xmpp['xep_0045'].join_muc_wait(ROOM, 'Cy', timeout=5)
        seen['by_nobody'] = await outcome(c.xmpp['xep_0045'].set_affiliation(
            ROOM, 'outcast', jid=BOB, timeout=5))
        nb, nc = b.mark(), c.mark()
        seen['ban'] = await outcome(muc.set_affiliation(ROOM, 'outcast', jid=BOB,
                                                        reason='troll', timeout=5))
        gone = muc_presence('Bo', type='unavailable')
        seen['b'] = await b.wait1(gone, since=nb)
        seen['c'] = await c.wait1(gone, since=nc)
        seen['rejoin'] = await join_error(b, 'Bo')
        seen['outcasts'] = await muc.get_affiliation_list(ROOM, 'outcast', timeout=5)
        # XEP-0045 9.1: nobody bans oneself
        seen['self'] = await outcome(muc.set_affiliation(ROOM, 'outcast', jid=ALICE,
                                                         timeout=5))
        # lifted, and back
        await muc.set_affiliation(ROOM, 'none', jid=BOB, timeout=5)
        seen['again'] = await join_error(b, 'Bo')
        for x in (a, b, c):
            await x.close()
    C.run(go, timeout=60)

    assert errored(seen['by_nobody']) == ('auth', 'forbidden')
    assert seen['ban'][0] == 'result', seen['ban']
    item, codes = x_of(seen['b'])
    assert codes == ['110', '301'] and item['affiliation'] == 'outcast', (item, codes)
    assert actor_reason(seen['b']) == ('Al', 'troll')
    item, codes = x_of(seen['c'])
    assert codes == ['301'] and item['role'] == 'none', (item, codes)
    assert seen['rejoin'] == ('auth', 'forbidden')
    assert [str(j) for j in seen['outcasts']] == [BOB]
    assert errored(seen['self']) == ('cancel', 'conflict')
    assert seen['again'] == 'joined'


def test_voice_and_moderators(server_factory):
    """XEP-0045 8.3-8.4, 9.6: in a moderated room a visitor has no voice
    until a moderator grants it; a moderator who is no admin grants no
    moderation and kicks no owner; the role lists."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[0], CAROL + '/c1', plugins=PLUGINS)
        muc = a.xmpp['xep_0045']
        await create_room(a, 'Al', moderatedroom='1')
        seen['b_join'] = await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        await c.xmpp['xep_0045'].join_muc_wait(ROOM, 'Cy', timeout=5)
        nb = b.mark()
        b.xmpp.send_message(mto=ROOM, mbody='may I?', mtype='groupchat')
        seen['mute'] = await b.wait1(is_('message', type='error'), since=nb)
        seen['visitors'] = await muc.get_roles_list(ROOM, 'visitor', timeout=5)
        na, nb, nc = a.mark(), b.mark(), c.mark()
        seen['grant'] = await outcome(muc.set_role(ROOM, 'Bo', 'participant',
                                                   reason='go on', timeout=5))
        voiced = both(muc_presence('Bo', type=None), lambda e: x_of(e)[0]['role'] ==
                      'participant')
        voiced.__doc__ = 'Bo with voice'
        seen['b_voiced'] = await b.wait1(voiced, since=nb)
        seen['c_voiced'] = await c.wait1(voiced, since=nc)
        b.xmpp.send_message(mto=ROOM, mbody='thanks', mtype='groupchat')
        seen['spoke'] = await c.wait1(body_is('thanks'), since=nc)
        seen['participants'] = await muc.get_roles_list(ROOM, 'participant', timeout=5)
        # Bo made moderator (no affiliation): may not make moderators, nor
        # kick the owner, nor list what it may not see
        await muc.set_role(ROOM, 'Bo', 'moderator', timeout=5)
        await b.wait1(both(muc_presence('Bo', type=None),
                           lambda e: x_of(e)[0]['role'] == 'moderator'), since=nb)
        bm = b.xmpp['xep_0045']
        seen['moderators'] = await bm.get_roles_list(ROOM, 'moderator', timeout=5)
        seen['make_mod'] = await outcome(bm.set_role(ROOM, 'Cy', 'moderator', timeout=5))
        seen['kick_owner'] = await outcome(bm.set_role(ROOM, 'Al', 'none', timeout=5))
        seen['c_list'] = await outcome(c.xmpp['xep_0045'].get_roles_list(
            ROOM, 'moderator', timeout=5))
        # a role and an affiliation in one item: bad-request (15.4)
        iq = a.xmpp.make_iq_set(ito=ROOM)
        query = ET.SubElement(iq.xml, q(NS_ADMIN, 'query'))
        ET.SubElement(query, q(NS_ADMIN, 'item'), nick='Cy', role='visitor',
                      affiliation='member')
        seen['both'] = await outcome(iq.send(timeout=5))
        for x in (a, b, c):
            await x.close()
    C.run(go, timeout=60)

    item, _ = x_of(seen['b_join'][0].xml)
    assert item['role'] == 'visitor'
    assert error_condition(seen['mute']) == ('auth', 'forbidden')
    assert sorted(seen['visitors']) == ['Bo', 'Cy']
    assert seen['grant'][0] == 'result', seen['grant']
    for k in ('b_voiced', 'c_voiced'):
        assert actor_reason(seen[k]) == ('Al', 'go on'), k
    assert seen['spoke'].get('from') == ROOM + '/Bo'
    assert seen['participants'] == ['Bo']
    assert sorted(seen['moderators']) == ['Al', 'Bo']
    assert errored(seen['make_mod']) == ('auth', 'forbidden')
    assert errored(seen['kick_owner']) == ('cancel', 'not-allowed')
    assert errored(seen['c_list']) == ('auth', 'forbidden')
    assert errored(seen['both']) == ('modify', 'bad-request')


def test_membership_admins_owners(server_factory):
    """XEP-0045 9.3-9.5, 10.3-10.8 in a members-only room: a non-member
    is refused (registration-required) until made a member; an admin
    manages members but no owners; the last owner stays; membership
    revoked removes the member (321)."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=PLUGINS)
        muc = a.xmpp['xep_0045']
        await create_room(a, 'Al', membersonly='1')
        seen['refused'] = await join_error(b, 'Bo')
        seen['member'] = await outcome(muc.set_affiliation(ROOM, 'member', jid=BOB, timeout=5))
        seen['b_join'] = await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        seen['members'] = await muc.get_affiliation_list(ROOM, 'member', timeout=5)
        seen['b_owners'] = await outcome(b.xmpp['xep_0045'].get_affiliation_list(
            ROOM, 'owner', timeout=5))
        # Bo made admin, by its nick: a moderator now
        nb = b.mark()
        await muc.set_affiliation(ROOM, 'admin', nick='Bo', timeout=5)
        seen['b_admin'] = await b.wait1(both(muc_presence('Bo', type=None),
                                             lambda e: x_of(e)[0]['affiliation'] == 'admin'),
                                        since=nb)
        bm = b.xmpp['xep_0045']
        seen['admin_member'] = await outcome(bm.set_affiliation(ROOM, 'member', jid=CAROL,
                                                                timeout=5))
        seen['admin_owner'] = await outcome(bm.set_affiliation(ROOM, 'owner', jid=CAROL,
                                                               timeout=5))
        seen['admin_vs_owner'] = await outcome(bm.set_affiliation(ROOM, 'none', jid=ALICE,
                                                                  timeout=5))
        seen['admins'] = await muc.get_affiliation_list(ROOM, 'admin', timeout=5)
        seen['last_owner'] = await outcome(muc.set_affiliation(ROOM, 'member', jid=ALICE,
                                                               timeout=5))
        await c.xmpp['xep_0045'].join_muc_wait(ROOM, 'Cy', timeout=5)
        # membership revoked in a members-only room: out, with 321
        nc = c.mark()
        seen['revoke'] = await outcome(bm.set_affiliation(ROOM, 'none', jid=CAROL, timeout=5))
        seen['c_out'] = await c.wait1(muc_presence('Cy', type='unavailable'), since=nc)
        seen['c_again'] = await join_error(c, 'Cy')
        # a second owner lets the first step down
        await muc.set_affiliation(ROOM, 'owner', jid=BOB, timeout=5)
        seen['owners'] = await muc.get_affiliation_list(ROOM, 'owner', timeout=5)
        seen['step_down'] = await outcome(muc.set_affiliation(ROOM, 'member', jid=ALICE,
                                                              timeout=5))
        seen['redis'] = server.redis('HGETALL', 'xmpp:{%s}:aff' % ROOM)
        for x in (a, b, c):
            await x.close()
    C.run(go, timeout=60)

    assert seen['refused'] == ('auth', 'registration-required')
    assert seen['member'][0] == 'result'
    item, _ = x_of(seen['b_join'][0].xml)
    assert (item['affiliation'], item['role']) == ('member', 'participant')
    assert [str(j) for j in seen['members']] == [BOB]
    assert errored(seen['b_owners']) == ('auth', 'forbidden')
    item, _ = x_of(seen['b_admin'])
    assert item['role'] == 'moderator'
    assert seen['admin_member'][0] == 'result'
    assert errored(seen['admin_owner']) == ('auth', 'forbidden')
    assert errored(seen['admin_vs_owner']) == ('cancel', 'not-allowed')
    assert [str(j) for j in seen['admins']] == [BOB]
    assert errored(seen['last_owner']) == ('cancel', 'conflict')
    assert seen['revoke'][0] == 'result'
    item, codes = x_of(seen['c_out'])
    assert codes == ['110', '321'] and item['affiliation'] == 'none', (item, codes)
    assert seen['c_again'] == ('auth', 'registration-required')
    assert sorted(str(j) for j in seen['owners']) == [ALICE, BOB]
    assert seen['step_down'][0] == 'result'
    aff = dict(zip(seen['redis'][0::2], seen['redis'][1::2]))
    assert aff == {ALICE: 'member', BOB: 'owner'}, aff


def invitation(el):
    """(from, reason, password) of the room's mediated invitation."""
    x = el.find(q(NS_USER, 'x'))
    inv, pw = x.find(q(NS_USER, 'invite')), x.find(q(NS_USER, 'password'))
    reason = inv.find(q(NS_USER, 'reason'))
    return (inv.get('from'), reason.text if reason is not None else None,
            pw.text if pw is not None else None)


def test_mediated_invitation(server_factory):
    """XEP-0045 7.8.2 in a members-only, password-protected room: the
    owner's invitation reaches the invitee from the room, naming the
    inviter, with the password, and makes the invitee a member; an
    offline invitee gets it when it comes; a member may not invite,
    nor anyone who is not in the room, nor to nobody; a decline reaches
    the inviter from the room."""
    server = start(server_factory)
    server.adduser(DAVE, PW)
    seen = {}
    invited = both(is_('message', from_=ROOM), has_child(NS_USER, 'x'))
    invited.__doc__ = 'an invitation from the room'

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=PLUGINS)
        muc = a.xmpp['xep_0045']
        await create_room(a, 'Al', membersonly='1', passwordprotectedroom='1',
                          roomsecret='pw')
        # not in the room: not-acceptable
        nb = b.mark()
        b.xmpp['xep_0045'].invite(ROOM, CAROL, 'me too')
        seen['outsider'] = await b.wait1(is_('message', type='error'), since=nb)
        nb = b.mark()
        a.xmpp['xep_0045'].invite(ROOM, BOB, 'join us')
        seen['b_invite'] = await b.wait1(invited, since=nb)
        seen['members'] = await muc.get_affiliation_list(ROOM, 'member', timeout=5)
        seen['b_join'] = await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', password='pw',
                                                                timeout=5)
        # a member may not invite (muc#roomconfig_allowinvites is off)
        nb = b.mark()
        b.xmpp['xep_0045'].invite(ROOM, CAROL)
        seen['by_member'] = await b.wait1(is_('message', type='error'), since=nb)
        # to nobody
        na = a.mark()
        a.xmpp['xep_0045'].invite(ROOM, 'nobody@localhost')
        seen['nobody'] = await a.wait1(is_('message', type='error'), since=na)
        # Carol declines; Alice hears it from the room
        nc = c.mark()
        a.xmpp['xep_0045'].invite(ROOM, CAROL, 'please')
        await c.wait1(invited, since=nc)
        na = a.mark()
        c.xmpp['xep_0045'].decline(ROOM, ALICE, 'busy')
        seen['decline'] = await a.wait1(invited, since=na)
        # Dave, offline, gets it when he comes
        a.xmpp['xep_0045'].invite(ROOM, DAVE, 'later')
        await a.sync()
        d = await online(server.ports[0], DAVE + '/d1', plugins=PLUGINS)
        seen['d_invite'] = await d.wait1(invited)
        seen['aff'] = server.redis('HGETALL', 'xmpp:{%s}:aff' % ROOM)
        for x in (a, b, c, d):
            await x.close()
    C.run(go, timeout=60)

    assert error_condition(seen['outsider']) == ('modify', 'not-acceptable')
    assert seen['outsider'].get('from') == ROOM
    m = seen['b_invite']
    assert m.get('to').split('/')[0] == BOB
    assert invitation(m) == (ALICE, 'join us', 'pw')
    assert [str(j) for j in seen['members']] == [BOB]
    item, _ = x_of(seen['b_join'][0].xml)
    assert item['affiliation'] == 'member'
    assert error_condition(seen['by_member']) == ('auth', 'forbidden')
    assert error_condition(seen['nobody']) == ('cancel', 'item-not-found')
    d = seen['decline'].find(q(NS_USER, 'x')).find(q(NS_USER, 'decline'))
    assert d.get('from') == CAROL and d.find(q(NS_USER, 'reason')).text == 'busy'
    assert seen['decline'].get('to').split('/')[0] == ALICE
    assert invitation(seen['d_invite']) == (ALICE, 'later', 'pw')
    aff = dict(zip(seen['aff'][0::2], seen['aff'][1::2]))
    assert aff == {ALICE: 'owner', BOB: 'member', CAROL: 'member', DAVE: 'member'}, aff


def test_direct_invitation(server_factory):
    """XEP-0249: a direct invitation is a message from one user to
    another, delivered as it was sent."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        await create_room(a, 'Al')
        m = a.xmpp.make_message(mto=BOB)
        ET.SubElement(m.xml, q(NS_CONFERENCE, 'x'), jid=ROOM, password='pw',
                      reason='come over')
        nb = b.mark()
        m.send()
        seen['got'] = await b.wait1(both(is_('message', from_=ALICE + '/a1'),
                                         has_child(NS_CONFERENCE, 'x')), since=nb)
        for x in (a, b):
            await x.close()
    C.run(go, timeout=60)

    x = seen['got'].find(q(NS_CONFERENCE, 'x'))
    assert dict(x.attrib) == {'jid': ROOM, 'password': 'pw', 'reason': 'come over'}
    assert seen['got'].find(q(NS_USER, 'x')) is None
