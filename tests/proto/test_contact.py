"""XEP-0157 contact addresses: the server's disco#info carries the
serverinfo form (XEP-0128) from xmpp.conf's contact_<kind> keys, read
here by slixmpp's disco and extended-disco plugins; without any key
there is no form at all. Bad values are refused when the configuration
loads (unit test test_config)."""
import clients as C
import im_helpers as H
from im_helpers import PW

NS_SERVERINFO = 'http://jabber.org/network/serverinfo'


def server_forms(server, jid):
    async def go():
        a = H.IM(jid + '/c', PW, plugins=['xep_0030', 'xep_0128'])
        assert (await a.login(server.port, timeout=10)).session_started
        iq = await a.xmpp['xep_0030'].get_info(jid=server.domain, timeout=10)
        forms = {}
        for f in iq['disco_info'].iterables:
            if f.name == 'x':
                values = f.get_values()
                ft = values.get('FORM_TYPE')
                forms[ft[0] if isinstance(ft, list) else ft] = values
        return forms
    return C.run(go, timeout=40)


def test_contact_addresses_in_disco_info(server_factory):
    s = server_factory(contact_abuse='mailto:abuse@example.org xmpp:abuse@localhost',
                       contact_security='https://example.org/Security.txt',
                       contact_admin='xmpp:Admin@localhost')
    s.adduser('alice@localhost', PW)
    forms = server_forms(s, 'alice@localhost')
    info = forms.get(NS_SERVERINFO)
    assert info, forms
    assert info['abuse-addresses'] == ['mailto:abuse@example.org', 'xmpp:abuse@localhost']
    # kept as written (a URL's path is case-sensitive)
    assert info['security-addresses'] == ['https://example.org/Security.txt']
    assert info['admin-addresses'] == ['xmpp:Admin@localhost']
    assert 'support-addresses' not in info, info


def test_no_addresses_no_form(server_factory):
    s = server_factory()
    s.adduser('alice@localhost', PW)
    assert server_forms(s, 'alice@localhost') == {}
