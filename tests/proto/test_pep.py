"""XEP-0163 personal eventing (a subset of XEP-0060 pubsub on each
account's bare JID), driven by slixmpp's xep_0060 and xep_0163 plugins on
two listeners sharing one Redis: publish (node created on first publish,
ids made by the server, same id replaces), items (all, by id,
max_items), retract with notifications, purge, delete, configuration
get and set, create with a configuration; the OMEMO-shaped flow
(device list with publish-options access_model=open read by a stranger
and a contact, a bundle node); notification of the owner's other
resource; the presence access model refused to a stranger and allowed
to a contact; precondition-not-met; the limits; the disco#info of the
account; the Redis layout and its removal with the account. Exact error
stanzas: transcripts/pep-errors.xmpp.
"""
import xml.etree.ElementTree as ET


try:
    from . import clients as C
except ImportError:
    import clients as C

from slixmpp.xmlstream import ET as SET

from im_helpers import PW, error_condition, handshake, iq_outcome as outcome, online, q

ALICE, BOB, CAROL = 'alice@localhost', 'bob@localhost', 'carol@localhost'
NS_PUBSUB = 'http://jabber.org/protocol/pubsub'
NS_EVENT = NS_PUBSUB + '#event'
NS_ERRORS = NS_PUBSUB + '#errors'
NS_XDATA = 'jabber:x:data'
NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
NS_CAPS = 'http://jabber.org/protocol/caps'
DEVICELIST = 'eu.siacs.conversations.axolotl.devicelist'
BUNDLE = 'eu.siacs.conversations.axolotl.bundles:1234'
NS_AXOLOTL = 'eu.siacs.conversations.axolotl'
NS_TUNE = 'http://jabber.org/protocol/tune'
PLUGINS = ['xep_0004', 'xep_0030', 'xep_0060', 'xep_0163']


def payload(ns, name, text=None, **attrs):
    el = SET.Element('{%s}%s' % (ns, name), **attrs)
    if text is not None:
        el.text = text
    return el


class Payload:
    """What xep_0163.publish takes (an ElementBase's xml and namespace)."""

    def __init__(self, el):
        self.xml = el
        self.namespace = el.tag[1:].split('}')[0]


def devicelist(*ids):
    el = SET.Element('{%s}list' % NS_AXOLOTL)
    for i in ids:
        SET.SubElement(el, '{%s}device' % NS_AXOLOTL, id=str(i))
    return el


def form(c, form_type, **fields):
    """A submitted data form with FORM_TYPE and pubsub#<name> fields."""
    f = c.xmpp['xep_0004'].make_form(ftype='submit')
    f.add_field(var='FORM_TYPE', ftype='hidden', value=form_type)
    for k, v in fields.items():
        f.add_field(var='pubsub#' + k, value=v)
    return f


def pubopts(c, **fields):
    return form(c, NS_PUBSUB + '#publish-options', **fields)


def items_of(res):
    """[(id, payload element)] of an items result."""
    items = res.xml.find('.//' + q(NS_PUBSUB, 'items'))
    assert items is not None, ET.tostring(res.xml)
    return [(i.get('id'), i[0] if len(i) else None) for i in items.findall(q(NS_PUBSUB, 'item'))]


def app_error(res):
    """The pubsub#errors condition of an error IQ (name, feature) or None."""
    e = res.find(q("jabber:client", "error"))
    for ch in e if e is not None else []:
        if ch.tag.startswith('{%s}' % NS_ERRORS):
            return ch.tag.split('}', 1)[1], ch.get('feature')
    return None


async def err(fut):
    """('error', condition, type, app condition) or the outcome as is."""
    try:
        await fut
        return ('result',)
    except Exception as e:          # IqError
        iq = getattr(e, 'iq', None)
        if iq is None:
            return ('timeout',)
        return ('error',) + error_condition(iq.xml)[::-1] + (app_error(iq.xml),)


def event_items(node):
    """a headline with an <event><items node=node>"""
    def pred(el):
        if el.tag != q('jabber:client', 'message') or el.get('type') != 'headline':
            return False
        its = el.find('%s/%s' % (q(NS_EVENT, 'event'), q(NS_EVENT, 'items')))
        return its is not None and its.get('node') == node
    pred.__doc__ = 'event items node=%s' % node
    return pred


def pep_keys(server, bare):
    return sorted(server.redis('KEYS', 'xmpp:{%s}:pep*' % bare) or [])


def test_publish_items_retract_purge_delete(server_factory):
    server = server_factory(listeners=2)
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        a2 = await online(server.ports[1], ALICE + '/a2', plugins=PLUGINS)
        ps, ps2 = a.xmpp['xep_0060'], a2.xmpp['xep_0060']
        seen['none'] = await err(ps2.get_items(None, NS_TUNE, timeout=5))
        seen['pub1'] = await outcome(a.xmpp['xep_0163'].publish(
            Payload(payload(NS_TUNE, 'tune')), node=NS_TUNE, id='t1', timeout=5))
        seen['items1'] = await outcome(ps2.get_items(None, NS_TUNE, timeout=5))
        # default max_items 1: a second id replaces the first
        seen['pub_noid'] = await outcome(ps.publish(None, NS_TUNE, payload=payload(
            NS_TUNE, 'tune', artist='Yes'), timeout=5))
        seen['items2'] = await outcome(ps2.get_items(None, NS_TUNE, timeout=5))
        # configure: keep 3, then publish 4
        seen['conf_get'] = await outcome(ps.get_node_config(None, NS_TUNE, timeout=5))
        seen['conf_set'] = await outcome(ps.set_node_config(
            None, NS_TUNE, form(a, NS_PUBSUB + '#node_config', max_items='3'), timeout=5))
        for i in range(4):
            await ps.publish(None, NS_TUNE, id='n%d' % i,
                             payload=payload(NS_TUNE, 'tune', title=str(i)), timeout=5)
        seen['items3'] = await outcome(ps2.get_items(None, NS_TUNE, timeout=5))
        seen['max2'] = await outcome(ps2.get_items(None, NS_TUNE, max_items=2, timeout=5))
        seen['byid'] = await outcome(ps2.get_items(None, NS_TUNE, item_ids=['n1', 'zz'],
                                                   timeout=5))
        # the same id replaces and becomes the newest
        await ps.publish(None, NS_TUNE, id='n1', payload=payload(NS_TUNE, 'tune', title='x'),
                         timeout=5)
        seen['replaced'] = await outcome(ps2.get_items(None, NS_TUNE, timeout=5))
        seen['conf_after'] = await outcome(ps.get_node_config(None, NS_TUNE, timeout=5))
        seen['keys'] = pep_keys(server, ALICE)
        n2 = a2.mark()
        seen['retract'] = await outcome(ps.retract(None, NS_TUNE, 'n2', notify=True, timeout=5))
        seen['retract_ev'] = await a2.wait1(
            lambda e: event_items(NS_TUNE)(e) and e.find('.//' + q(NS_EVENT, 'retract'))
            is not None, since=n2)
        seen['retract_none'] = await err(ps.retract(None, NS_TUNE, 'n2', timeout=5))
        seen['after_retract'] = await outcome(ps2.get_items(None, NS_TUNE, timeout=5))
        seen['purge'] = await outcome(ps.purge(None, NS_TUNE, timeout=5))
        seen['after_purge'] = await outcome(ps2.get_items(None, NS_TUNE, timeout=5))
        n2 = a2.mark()
        seen['delete'] = await outcome(ps.delete_node(None, NS_TUNE, timeout=5))
        seen['delete_ev'] = await a2.wait1(
            lambda e: e.find('%s/%s' % (q(NS_EVENT, 'event'), q(NS_EVENT, 'delete'))) is not None,
            since=n2)
        seen['after_delete'] = await err(ps2.get_items(None, NS_TUNE, timeout=5))
        seen['keys_after'] = pep_keys(server, ALICE)
        # create with a configuration, then again
        seen['create'] = await outcome(ps.create_node(
            None, 'urn:example:notes', config=form(a, NS_PUBSUB + '#node_config',
                                                   access_model='whitelist', max_items='max'),
            timeout=5))
        seen['create_again'] = await err(ps.create_node(None, 'urn:example:notes', timeout=5))
        seen['conf_notes'] = await outcome(ps.get_node_config(None, 'urn:example:notes',
                                                              timeout=5))
        for c in (a, a2):
            await c.close()
    C.run(go, timeout=60)

    assert seen['none'][:2] == ('error', 'item-not-found'), seen['none']
    assert seen['pub1'][0] == 'result', seen['pub1']
    pub = seen['pub1'][1].xml.find('.//' + q(NS_PUBSUB, 'publish'))
    assert pub.get('node') == NS_TUNE and pub[0].get('id') == 't1'
    assert [i for i, _ in items_of(seen['items1'][1])] == ['t1']
    made = seen['pub_noid'][1].xml.find('.//' + q(NS_PUBSUB, 'item')).get('id')
    assert made and made != 't1', made
    got = items_of(seen['items2'][1])
    assert [i for i, _ in got] == [made] and got[0][1].get('artist') == 'Yes', got
    f = seen['conf_get'][1]['pubsub_owner']['configure']['form']
    assert f.get_values()['pubsub#access_model'] == 'presence', f.get_values()
    assert f.get_values()['pubsub#max_items'] == '1', f.get_values()
    assert seen['conf_set'][0] == 'result', seen['conf_set']
    assert [i for i, _ in items_of(seen['items3'][1])] == ['n1', 'n2', 'n3']
    assert [i for i, _ in items_of(seen['max2'][1])] == ['n2', 'n3']
    assert [i for i, _ in items_of(seen['byid'][1])] == ['n1']
    assert [i for i, _ in items_of(seen['replaced'][1])] == ['n2', 'n3', 'n1']
    assert seen['conf_after'][1]['pubsub_owner']['configure']['form'].get_values()[
        'pubsub#max_items'] == '3'
    assert seen['keys'] == ['xmpp:{%s}:pep' % ALICE] + [
        'xmpp:{%s}:pep:%s:%s' % (ALICE, k, NS_TUNE) for k in ('conf', 'items', 'order')], \
        seen['keys']
    assert seen['retract'][0] == 'result', seen['retract']
    assert seen['retract_ev'].find('.//' + q(NS_EVENT, 'retract')).get('id') == 'n2'
    assert seen['retract_none'][:2] == ('error', 'item-not-found'), seen['retract_none']
    assert [i for i, _ in items_of(seen['after_retract'][1])] == ['n3', 'n1']
    assert seen['purge'][0] == 'result' and items_of(seen['after_purge'][1]) == []
    assert seen['delete'][0] == 'result', seen['delete']
    assert seen['delete_ev'].get('from') == ALICE
    assert seen['after_delete'][:2] == ('error', 'item-not-found')
    assert seen['keys_after'] == [], seen['keys_after']
    assert seen['create'][0] == 'result', seen['create']
    assert seen['create_again'][:2] == ('error', 'conflict'), seen['create_again']
    vals = seen['conf_notes'][1]['pubsub_owner']['configure']['form'].get_values()
    assert vals['pubsub#access_model'] == 'whitelist' and vals['pubsub#max_items'] == 'max', vals


def test_omemo_flow_and_access_models(server_factory):
    """Conversations-style OMEMO: the device list with publish-options
    access_model=open, read by a stranger and a contact; a bundle node;
    the second publish notifies the owner's other resource. A node with
    the presence model is refused to the stranger, read by the contact;
    the same publish-options with another value: precondition-not-met."""
    server = server_factory(listeners=2)
    for u in (ALICE, BOB, CAROL):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS)
        a2 = await online(server.ports[1], ALICE + '/a2', plugins=PLUGINS)
        b = await online(server.ports[1], BOB + '/b1', plugins=PLUGINS)
        c = await online(server.ports[0], CAROL + '/c1', plugins=PLUGINS)
        await handshake(a, b)
        pep = a.xmpp['xep_0163']
        seen['dl'] = await outcome(pep.publish(Payload(devicelist(1234)), node=DEVICELIST,
                                               options=pubopts(a, access_model='open'), timeout=5))
        seen['bundle'] = await outcome(pep.publish(
            Payload(payload(NS_AXOLOTL, 'bundle')), node=BUNDLE,
            options=pubopts(a, access_model='open'), timeout=5))
        n2 = a2.mark()
        seen['dl2'] = await outcome(pep.publish(Payload(devicelist(1234, 5678)),
                                                node=DEVICELIST, timeout=5,
                                                options=pubopts(a, access_model='open')))
        seen['own_ev'] = await a2.wait1(event_items(DEVICELIST), since=n2)
        seen['stranger'] = await outcome(c.xmpp['xep_0060'].get_items(ALICE, DEVICELIST,
                                                                       timeout=5))
        seen['contact'] = await outcome(b.xmpp['xep_0060'].get_items(ALICE, DEVICELIST,
                                                                      timeout=5))
        seen['bundle_c'] = await outcome(c.xmpp['xep_0060'].get_items(ALICE, BUNDLE, timeout=5))
        seen['missing'] = await err(c.xmpp['xep_0060'].get_items(
            ALICE, 'eu.siacs.conversations.axolotl.bundles:9', timeout=5))
        # the presence model (the default)
        await pep.publish(Payload(payload(NS_TUNE, 'tune')), node=NS_TUNE, timeout=5)
        seen['tune_c'] = await err(c.xmpp['xep_0060'].get_items(ALICE, NS_TUNE, timeout=5))
        seen['tune_b'] = await outcome(b.xmpp['xep_0060'].get_items(ALICE, NS_TUNE, timeout=5))
        seen['pub_other'] = await err(c.xmpp['xep_0060'].publish(
            ALICE, NS_TUNE, payload=payload(NS_TUNE, 'tune'), timeout=5))
        seen['precond'] = await err(pep.publish(Payload(devicelist(1)), node=DEVICELIST,
                                                options=pubopts(a, access_model='whitelist'),
                                                timeout=5))
        seen['sub'] = await err(c.xmpp['xep_0060'].subscribe(ALICE, NS_TUNE, timeout=5))
        seen['disco_own'] = await outcome(a.xmpp['xep_0030'].get_info(
            jid=ALICE, local=False, cached=False, timeout=5))
        seen['disco_other'] = await outcome(c.xmpp['xep_0030'].get_info(
            jid=ALICE, local=False, cached=False, timeout=5))
        seen['disco_nobody'] = await err(c.xmpp['xep_0030'].get_info(
            jid='nobody@localhost', local=False, cached=False, timeout=5))
        for x in (a, a2, b, c):
            await x.close()
    C.run(go, timeout=60)

    assert seen['dl'][0] == 'result' and seen['bundle'][0] == 'result', seen
    assert seen['dl2'][0] == 'result', seen['dl2']
    ev = seen['own_ev']
    assert ev.get('from') == ALICE and ev.get('to') == ALICE + '/a2', ET.tostring(ev)
    devs = ev.findall('.//' + q(NS_AXOLOTL, 'device'))
    assert [d.get('id') for d in devs] == ['1234', '5678'], ET.tostring(ev)
    for k in ('stranger', 'contact'):
        assert seen[k][0] == 'result', (k, seen[k])
        got = items_of(seen[k][1])
        assert len(got) == 1 and [d.get('id') for d in got[0][1]] == ['1234', '5678'], got
    assert items_of(seen['bundle_c'][1])[0][1].tag == q(NS_AXOLOTL, 'bundle')
    assert seen['missing'][:2] == ('error', 'item-not-found'), seen['missing']
    assert seen['tune_c'] == ('error', 'not-authorized', 'auth',
                              ('presence-subscription-required', None)), seen['tune_c']
    assert seen['tune_b'][0] == 'result' and len(items_of(seen['tune_b'][1])) == 1
    assert seen['pub_other'][:2] == ('error', 'forbidden'), seen['pub_other']
    assert seen['precond'] == ('error', 'conflict', 'cancel', ('precondition-not-met', None)), \
        seen['precond']
    assert seen['sub'] == ('error', 'feature-not-implemented', 'cancel',
                           ('unsupported', 'subscribe')), seen['sub']
    for k in ('disco_own', 'disco_other'):
        info = seen[k][1]['disco_info']
        assert ('pubsub', 'pep', None, None) in info['identities'], (k, info['identities'])
        assert ('account', 'registered', None, None) in info['identities']
        assert NS_PUBSUB + '#publish-options' in info['features'], (k, info['features'])
    assert seen['disco_nobody'][:2] == ('error', 'service-unavailable'), seen['disco_nobody']


def test_limits(server_factory):
    server = server_factory(pep_max_item_size=1024, pep_max_items=4, pep_max_nodes=2)
    server.adduser(ALICE, PW)
    seen = {}

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        ps = a.xmpp['xep_0060']
        seen['big'] = await err(ps.publish(None, 'n1', payload=payload(
            NS_TUNE, 'tune', 'x' * 1100), timeout=5))
        seen['n1'] = await outcome(ps.publish(None, 'n1', payload=payload(NS_TUNE, 'tune'),
                                              options=pubopts(a, max_items='max'), timeout=5))
        for i in range(6):
            await ps.publish(None, 'n1', id=str(i), payload=payload(NS_TUNE, 'tune'), timeout=5)
        seen['kept'] = await outcome(ps.get_items(None, 'n1', timeout=5))
        seen['toomany'] = await err(ps.publish(None, 'n2', payload=payload(NS_TUNE, 'tune'),
                                               options=pubopts(a, max_items='5'), timeout=5))
        seen['n2'] = await outcome(ps.publish(None, 'n2', payload=payload(NS_TUNE, 'tune'),
                                              timeout=5))
        seen['n3'] = await err(ps.publish(None, 'n3', payload=payload(NS_TUNE, 'tune'),
                                          timeout=5))
        seen['n3c'] = await err(ps.create_node(None, 'n3', timeout=5))
        await a.close()
    C.run(go, timeout=60)

    assert seen['big'] == ('error', 'not-acceptable', 'modify', ('payload-too-big', None)), \
        seen['big']
    assert seen['n1'][0] == 'result', seen['n1']
    assert [i for i, _ in items_of(seen['kept'][1])] == ['2', '3', '4', '5']
    assert seen['toomany'][:2] == ('error', 'not-acceptable'), seen['toomany']
    assert seen['n2'][0] == 'result', seen['n2']
    assert seen['n3'][:2] == ('error', 'policy-violation'), seen['n3']
    assert seen['n3c'][:2] == ('error', 'policy-violation'), seen['n3c']
    assert sorted(server.redis('SMEMBERS', 'xmpp:{%s}:pep' % ALICE)) == ['n1', 'n2']


def test_deluser_removes_nodes(server_factory):
    server = server_factory()
    server.adduser(ALICE, PW)

    async def go():
        a = await online(server.port, ALICE + '/a1', plugins=PLUGINS)
        await a.xmpp['xep_0163'].publish(Payload(payload(NS_TUNE, 'tune')), node=NS_TUNE,
                                         timeout=5)
        await a.close()
    C.run(go, timeout=60)
    assert len(pep_keys(server, ALICE)) == 4
    server.ctl('deluser', ALICE)
    assert pep_keys(server, ALICE) == []


async def caps_online(port, jid, notify=()):
    """A client announcing "<node>+notify" for each node of notify."""
    c = await online(port, jid, plugins=PLUGINS + ['xep_0115'], presence=False)
    for n in notify:
        c.xmpp['xep_0030'].add_feature(n + '+notify')
    await c.xmpp['xep_0115'].update_caps()
    c.xmpp.send_presence()
    return c


def test_contact_notified_with_caps(server_factory):
    """A contact whose client announces "<node>+notify" through XEP-0115
    caps gets the notification; one without the feature does not; a
    session that logs in later gets the node's last item at once
    (XEP-0163 4.3.2), one that does not want it does not."""
    server = server_factory(listeners=2)
    for u in (ALICE, BOB, CAROL):
        server.adduser(u, PW)
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a1', plugins=PLUGINS + ['xep_0115'])
        b = await caps_online(server.ports[1], BOB + '/b1', [NS_TUNE])
        c = await caps_online(server.ports[0], CAROL + '/c1', [])
        await handshake(a, b)
        await handshake(a, c)
        nb, nc = b.mark(), c.mark()
        await a.xmpp['xep_0163'].publish(Payload(payload(NS_TUNE, 'tune')), node=NS_TUNE,
                                         timeout=5)
        seen['ev'] = await b.wait1(event_items(NS_TUNE), since=nb)
        await c.none_for(event_items(NS_TUNE), seconds=1.0, since=nc)
        b2 = await caps_online(server.ports[0], BOB + '/b2', [NS_TUNE])
        seen['last'] = await b2.wait1(event_items(NS_TUNE))
        c2 = await caps_online(server.ports[1], CAROL + '/c2', [])
        await c2.none_for(event_items(NS_TUNE), seconds=1.0)
        for cl in (a, b, c, b2, c2):
            await cl.close()
    C.run(go, timeout=60)
    assert seen['ev'].get('from') == ALICE
    assert seen['last'].get('from') == ALICE and seen['last'].get('to') == BOB + '/b2'


