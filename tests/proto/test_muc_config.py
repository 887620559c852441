"""XEP-0045 room configuration (xmpp-handler(8)), driven by slixmpp's
xep_0045 plugin with occupants on two listeners sharing one Redis: a
new room is locked until its owner submits the form (10.1.1); the owner
form (10.2) and its fields; cancel of a new room (10.1.3); only owners
configure; entry refused without the password (401), to a members-only
room (407), to a full room (503); non-anonymous rooms (100, real JIDs,
172 on change); persistent rooms outlive their last occupant; voice in
moderated rooms; the subject (8.1) and who may change it; private
messages the room does not allow; the room's disco#info; destruction
(10.9) by the owner and not by others."""
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.exceptions import PresenceError

from im_helpers import error_condition, is_, iq_outcome as outcome, online, q

from muc_helpers import (ALICE, BOB, CAROL, ROOM, NS_DISCO_INFO, NS_USER, PLUGINS,
                         create_room, muc_presence, start, x_of)

NS_XDATA = 'jabber:x:data'


async def join_error(client, nick, **kw):
    """(error type, condition) of a refused join, or 'joined'."""
    try:
        await client.xmpp['xep_0045'].join_muc_wait(ROOM, nick, timeout=5, **kw)
        return 'joined'
    except PresenceError as e:
        return e.presence['error']['type'], e.presence['error']['condition']


def form_values(form):
    """{var: value} of the owner form (slixmpp's get_room_config)."""
    x = form.xml
    assert x.tag == q(NS_XDATA, 'x') and x.get('type') == 'form', ET.tostring(x)
    out = {}
    for f in x.findall(q(NS_XDATA, 'field')):
        v = f.find(q(NS_XDATA, 'value'))
        out[f.get('var')] = v.text if v is not None else None
    return out


async def configure(client, **fields):
    return await create_room_config(client, fields)


async def create_room_config(client, fields):
    form = client.xmpp['xep_0004'].make_form(ftype='submit')
    for k, v in fields.items():
        form.add_field(var='muc#roomconfig_' + k, value=v)
    return await outcome(client.xmpp['xep_0045'].set_room_config(ROOM, form, timeout=5))


def features(iq):
    return {f.get('var') for f in iq.xml.find(q(NS_DISCO_INFO, 'query'))
            .findall(q(NS_DISCO_INFO, 'feature'))}


def test_locked_until_configured(server_factory):
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        await a.xmpp['xep_0045'].join_muc_wait(ROOM, 'Al', timeout=5)
        seen['locked'] = await join_error(b, 'Bo')
        muc = a.xmpp['xep_0045']
        seen['form'] = await outcome(muc.get_room_config(ROOM, timeout=5))
        seen['b_form'] = await outcome(b.xmpp['xep_0045'].get_room_config(ROOM, timeout=5))
        seen['bad'] = await configure(a, whois='everybody')
        seen['still_locked'] = await join_error(b, 'Bo')
        seen['ok'] = await configure(a, roomname='The Lobby', whois='anyone')
        nb = b.mark()
        seen['joined'] = await join_error(b, 'Bo')
        seen['b_self'] = await b.wait1(muc_presence('Bo'), since=nb)
        seen['b_al'] = await b.wait1(muc_presence('Al'), since=nb)
        seen['b_form2'] = await outcome(b.xmpp['xep_0045'].get_room_config(ROOM, timeout=5))
        seen['b_conf'] = await configure(b, roomname='mine')
        seen['info'] = await outcome(b.xmpp['xep_0030'].get_info(jid=ROOM, timeout=5))
        # the owner makes the room semi-anonymous: everyone learns it (173)
        nb = b.mark()
        await configure(a, whois='moderators')
        seen['notice'] = await b.wait1(is_('message', from_=ROOM, type='groupchat'), since=nb)
        for c in (a, b):
            await c.close()
    C.run(go, timeout=60)

    assert seen['locked'] == ('cancel', 'item-not-found'), seen['locked']
    assert seen['form'][0] == 'result'
    v = form_values(seen['form'][1])
    assert v['FORM_TYPE'] == 'http://jabber.org/protocol/muc#roomconfig'
    for f in ('roomname', 'roomdesc', 'persistentroom', 'publicroom', 'membersonly',
              'moderatedroom', 'passwordprotectedroom', 'roomsecret', 'whois',
              'historylength', 'allowpm', 'changesubject', 'allowinvites', 'maxusers',
              'enablelogging'):
        assert 'muc#roomconfig_' + f in v, f
    assert v['muc#roomconfig_whois'] == 'moderators'
    assert v['muc#roomconfig_persistentroom'] == '0'
    assert seen['b_form'][:2] == ('error', 'forbidden'), seen['b_form']
    assert seen['bad'][:2] == ('error', 'not-acceptable'), seen['bad']
    assert 'whois' in seen['bad'][4]
    assert seen['still_locked'] == ('cancel', 'item-not-found')
    assert seen['ok'][0] == 'result' and seen['joined'] == 'joined'
    # non-anonymous: 100 on entering, and every occupant sees real JIDs
    item, codes = x_of(seen['b_self'])
    assert '100' in codes, codes
    item, codes = x_of(seen['b_al'])
    assert item.get('jid') == ALICE + '/a1', item
    assert seen['b_form2'][:2] == ('error', 'forbidden')
    assert seen['b_conf'][:2] == ('error', 'forbidden')
    assert seen['info'][0] == 'result'
    ident = seen['info'][1].xml.find(q(NS_DISCO_INFO, 'query')).find(q(NS_DISCO_INFO, 'identity'))
    assert ident.get('name') == 'The Lobby'
    f = features(seen['info'][1])
    assert {'http://jabber.org/protocol/muc', 'muc_nonanonymous', 'muc_temporary',
            'muc_public', 'muc_open', 'muc_unmoderated', 'muc_unsecured'} <= f, f
    codes = sorted(s.get('code') for s in seen['notice'].find(q(NS_USER, 'x'))
                   .findall(q(NS_USER, 'status')))
    assert codes == ['104', '173'], codes


def test_cancel_destroys_a_new_room(server_factory):
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        na = a.mark()
        await a.xmpp['xep_0045'].join_muc_wait(ROOM, 'Al', timeout=5)
        seen['cancel'] = await outcome(a.xmpp['xep_0045'].cancel_config(ROOM, timeout=5))
        seen['gone'] = await a.wait1(muc_presence('Al', type='unavailable'), since=na)
        seen['conf'] = server.redis('EXISTS', 'xmpp:{%s}:conf' % ROOM)
        seen['rooms'] = server.shard_members('rooms')
        await a.close()
    C.run(go, timeout=30)
    assert seen['cancel'][0] == 'result', seen['cancel']
    assert seen['gone'].find(q(NS_USER, 'x')).find(q(NS_USER, 'destroy')) is not None
    assert seen['conf'] == 0 and seen['rooms'] == []


def test_entry_rules(server_factory):
    """password (401, then in with it; owners need none), members-only
    (407), full (503: owners still enter), outcasts kept out by the
    admin issue's tests."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=PLUGINS)
        await create_room(a, 'Al', passwordprotectedroom='1', roomsecret='s3cret',
                          maxusers='2')
        seen['no_pw'] = await join_error(b, 'Bo')
        seen['bad_pw'] = await join_error(b, 'Bo', password='wrong')
        seen['pw'] = await join_error(b, 'Bo', password='s3cret')
        seen['full'] = await join_error(c, 'Cy', password='s3cret')
        seen['info'] = await outcome(c.xmpp['xep_0030'].get_info(jid=ROOM, timeout=5))
        await configure(a, passwordprotectedroom='0', membersonly='1', maxusers='none')
        seen['members'] = await join_error(c, 'Cy')
        seen['conf'] = server.redis('HGET', 'xmpp:{%s}:conf' % ROOM, 'password')
        for x in (a, b, c):
            await x.close()
    C.run(go, timeout=60)
    assert seen['no_pw'] == ('auth', 'not-authorized'), seen['no_pw']
    assert seen['bad_pw'] == ('auth', 'not-authorized')
    assert seen['pw'] == 'joined'
    assert seen['full'] == ('wait', 'service-unavailable'), seen['full']
    assert 'muc_passwordprotected' in features(seen['info'][1])
    assert seen['members'] == ('auth', 'registration-required'), seen['members']
    assert seen['conf'] == ''


def test_persistent_room_outlives_its_occupants(server_factory):
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        await create_room(a, 'Al', persistentroom='1', roomname='Kept')
        a.xmpp['xep_0045'].leave_muc(ROOM, 'Al')
        await a.wait1(muc_presence('Al', type='unavailable'))
        seen['conf'] = server.redis('HGET', 'xmpp:{%s}:conf' % ROOM, 'name')
        seen['occ'] = server.redis('HLEN', 'xmpp:{%s}:occ' % ROOM)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        # not new: no 201, not locked, still Alice's
        joined = await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        seen['b'] = x_of(joined[0].xml)
        seen['aff'] = server.redis('HGETALL', 'xmpp:{%s}:aff' % ROOM)
        for x in (a, b):
            await x.close()
    C.run(go, timeout=60)
    assert seen['conf'] == 'Kept' and seen['occ'] == 0
    item, codes = seen['b']
    assert '201' not in codes and item['affiliation'] == 'none', seen['b']
    assert seen['aff'] == [ALICE, 'owner']


def test_voice_subject_and_private_messages(server_factory):
    """a moderated room: a visitor's groupchat is forbidden; the subject:
    set by the moderator, seen by all and by later joiners, refused to a
    participant unless changesubject; private messages the room's
    allowpm refuses."""
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[1], CAROL + '/c1', plugins=PLUGINS)
        await create_room(a, 'Al', moderatedroom='1', allowpm='moderators')
        joined = await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        seen['b_role'] = x_of(joined[0].xml)[0]['role']
        nb = b.mark()
        b.xmpp.send_message(mto=ROOM, mbody='may I?', mtype='groupchat')
        seen['voice'] = await b.wait1(is_('message', type='error'), since=nb)
        nb = b.mark()
        b.xmpp.send_message(mto=ROOM + '/Al', mbody='psst', mtype='chat')
        seen['pm'] = await b.wait1(is_('message', type='error'), since=nb)
        nb = b.mark()
        a.xmpp['xep_0045'].set_subject(ROOM, 'Rules first')
        seen['subject'] = await b.wait1(is_('message', from_=ROOM + '/Al'), since=nb)
        nb = b.mark()
        b.xmpp['xep_0045'].set_subject(ROOM, 'mine now')
        seen['b_subject'] = await b.wait1(is_('message', type='error'), since=nb)
        joined = await c.xmpp['xep_0045'].join_muc_wait(ROOM, 'Cy', timeout=5)
        seen['c_subject'] = joined[1]
        for x in (a, b, c):
            await x.close()
    C.run(go, timeout=60)
    assert seen['b_role'] == 'visitor'
    assert error_condition(seen['voice']) == ('auth', 'forbidden'), ET.tostring(seen['voice'])
    assert error_condition(seen['pm']) == ('auth', 'forbidden')
    assert seen['subject'].find(q('jabber:client', 'subject')).text == 'Rules first'
    assert error_condition(seen['b_subject']) == ('auth', 'forbidden')
    s = seen['c_subject']
    assert str(s['from']) == ROOM + '/Al' and s['subject'] == 'Rules first', s


def test_destroy(server_factory):
    server = start(server_factory)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        await create_room(a, 'Al', persistentroom='1')
        await b.xmpp['xep_0045'].join_muc_wait(ROOM, 'Bo', timeout=5)
        seen['b_destroy'] = await outcome(b.xmpp['xep_0045'].destroy(ROOM, timeout=5))
        nb = b.mark()
        seen['destroy'] = await outcome(a.xmpp['xep_0045'].destroy(
            ROOM, reason='moved', altroom='new@conference.localhost', timeout=5))
        seen['gone'] = await b.wait1(muc_presence('Bo', type='unavailable'), since=nb)
        seen['keys'] = server.redis('KEYS', 'xmpp:{%s}:[oca]*' % ROOM)
        nb = b.mark()
        b.xmpp.send_message(mto=ROOM, mbody='anyone?', mtype='groupchat')
        seen['after'] = await b.wait1(is_('message', type='error'), since=nb)
        seen['again'] = await outcome(a.xmpp['xep_0045'].destroy(ROOM, timeout=5))
        for x in (a, b):
            await x.close()
    C.run(go, timeout=60)
    assert seen['b_destroy'][:2] == ('error', 'forbidden'), seen['b_destroy']
    assert seen['destroy'][0] == 'result'
    d = seen['gone'].find(q(NS_USER, 'x')).find(q(NS_USER, 'destroy'))
    assert d.get('jid') == 'new@conference.localhost'
    assert d.find(q(NS_USER, 'reason')).text == 'moved'
    assert seen['keys'] == []
    assert error_condition(seen['after']) == ('modify', 'not-acceptable')
    assert seen['again'][:2] == ('error', 'item-not-found'), seen['again']


def test_who_may_create_rooms(server_factory):
    """muc_creators (xmpp.conf(5)): only the JIDs and domains listed make
    rooms (XEP-0045 10.1.1: not-allowed); anyone joins the rooms they
    made."""
    server = start(server_factory, muc_creators='alice@localhost')
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        try:
            await b.xmpp['xep_0045'].join_muc_wait('bobs@conference.localhost', 'Bo',
                                                   timeout=5)
            seen['create'] = 'joined'
        except PresenceError as e:
            seen['create'] = (e.presence['error']['type'], e.presence['error']['condition'])
        await create_room(a, 'Al')
        seen['join'] = await join_error(b, 'Bo')
        seen['rooms'] = server.shard_members('rooms')
        for x in (a, b):
            await x.close()
    C.run(go, timeout=60)
    assert seen['create'] == ('cancel', 'not-allowed'), seen['create']
    assert seen['join'] == 'joined'
    assert seen['rooms'] == [ROOM]
