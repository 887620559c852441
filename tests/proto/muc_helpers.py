"""What the group chat tests share: the service and room they use, the
muc#user parts of a stanza, a server with the conference domain, and
the creation of a room by its owner as XEP-0045 10.1 has it (join, then
the configuration form: empty for an instant room)."""
import xml.etree.ElementTree as ET

from im_helpers import is_, q

ALICE, BOB, CAROL = 'alice@localhost', 'bob@localhost', 'carol@localhost'
MUCD = 'conference.localhost'
ROOM = 'lobby@' + MUCD
NS_MUC = 'http://jabber.org/protocol/muc'
NS_USER = NS_MUC + '#user'
NS_SID = 'urn:xmpp:sid:0'
NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
PLUGINS = ['xep_0004', 'xep_0030', 'xep_0045']
PW = 'secret-pw'
NS_OWNER = NS_MUC + '#owner'
NS_ADMIN = NS_MUC + '#admin'


def muc_presence(nick, **attrs):
    """a presence from ROOM/nick"""
    return is_('presence', from_=ROOM + '/' + nick, **attrs)


def x_of(el):
    """(item attributes, sorted status codes) of a muc#user presence."""
    x = el.find(q(NS_USER, 'x'))
    assert x is not None, ET.tostring(el)
    item = x.find(q(NS_USER, 'item'))
    return dict(item.attrib), sorted(s.get('code') for s in x.findall(q(NS_USER, 'status')))


def groupchat(el):
    return el.tag == q('jabber:client', 'message') and el.get('type') == 'groupchat' and \
        el.find(q('jabber:client', 'body')) is not None


def sid_of(el):
    s = el.find(q(NS_SID, 'stanza-id'))
    return s.get('by'), s.get('id')


def start(server_factory, **kw):
    server = server_factory(listeners=2, muc_domain=MUCD, **kw)
    for u in (ALICE, BOB, CAROL):
        server.adduser(u, PW)
    return server


async def create_room(client, nick, room=ROOM, **fields):
    """client joins room (new) as nick, then submits the configuration
    form with fields (muc#roomconfig_<name>: value; none: an instant
    room). Returns join_muc_wait's result."""
    muc = client.xmpp['xep_0045']
    joined = await muc.join_muc_wait(room, nick, timeout=5)
    form = client.xmpp['xep_0004'].make_form(ftype='submit')
    for k, v in fields.items():
        form.add_field(var='muc#roomconfig_' + k, value=v)
    await muc.set_room_config(room, form, timeout=5)
    return joined
