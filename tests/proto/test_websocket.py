"""RFC 7395 XMPP over WebSocket and XEP-0156 discovery: xmpp-web on
listener 1, xmpp-handler (plain TCP) on listener 0. The WebSocket client
is wsclient.py's, on a raw socket, so that a test can send what a library
would refuse to: a binary frame, an oversized one, a bad upgrade.
"""
import base64
import functools
import hashlib
import json
import os
import socket
import struct
import subprocess
import xml.etree.ElementTree as ET

from harness import BUILD, TIMEOUT
from im_helpers import PW, body_is, is_, raw_login, raw_wait
from wsclient import (CLOSE, NS_FRAMING, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, OPEN,
                      WS, frame_bytes, http_answer, open_stream, q, request)
import wsclient

ALICE, BOB = 'alice@localhost', 'bob@localhost'
GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
login = functools.partial(wsclient.login, password=PW)


def ws_server(server_factory, **conf):
    """A server with a TCP listener (0) and a WebSocket one (1)."""
    s = server_factory(listeners=2, listener_progs=[None, 'xmpp-web'], **conf)
    s.adduser(ALICE, PW)
    s.adduser(BOB, PW)
    return s


def test_upgrade_accepted(server_factory):
    """101 with the RFC 6455 4.2.2 accept value and the xmpp subprotocol."""
    s = ws_server(server_factory)
    ws = WS(s.ports[1])
    want = base64.b64encode(hashlib.sha1((ws.key + GUID).encode()).digest()).decode()
    assert ws.status == 'HTTP/1.1 101 Switching Protocols'
    assert ws.headers['sec-websocket-accept'] == want
    assert ws.headers['sec-websocket-protocol'] == 'xmpp'
    assert ws.headers['upgrade'].lower() == 'websocket'
    ws.close()


def test_upgrade_refused(server_factory):
    """Each refusal has its own status; the connection is closed after it."""
    s = ws_server(server_factory, ws_origins='https://good.example http://other.example')
    cases = [
        ({'version': '8'}, 'HTTP/1.1 426 Upgrade Required'),
        ({'upgrade': False}, 'HTTP/1.1 400 Bad Request'),
        ({'protocol': None}, 'HTTP/1.1 400 Bad Request'),
        ({'protocol': 'chat, mqtt'}, 'HTTP/1.1 400 Bad Request'),
        ({'origin': 'https://evil.example'}, 'HTTP/1.1 403 Forbidden'),
    ]
    for req, status in cases:
        ws = WS(s.ports[1], **req)
        assert ws.status == status, (req, ws.status)
        if status.startswith('HTTP/1.1 426'):
            assert ws.headers['sec-websocket-version'] == '13'
        assert ws.closed(), req
        ws.close()
    # Origins compare without case; a client that sends none is no browser.
    for req in ({'origin': 'HTTPS://good.example'}, {'origin': 'http://other.example'}, {}):
        ws = WS(s.ports[1], **req)
        assert ws.status == 'HTTP/1.1 101 Switching Protocols', (req, ws.status)
        ws.close()


def test_garbage_request(server_factory):
    """Not HTTP at all: 400."""
    s = ws_server(server_factory)
    sock = socket.create_connection(('127.0.0.1', s.ports[1]), timeout=TIMEOUT)
    sock.sendall(b'<stream:stream xmlns="jabber:client">\r\n\r\n')
    status, _, _ = http_answer(sock)
    assert status == 'HTTP/1.1 400 Bad Request'
    sock.close()


def test_login_and_messages_with_tcp(server_factory):
    """SASL PLAIN, restart, bind over WebSocket; a message each way with a
    TCP client; every stanza in a frame of its own."""
    s = ws_server(server_factory)
    ws, full = login(s.ports[1], ALICE)
    assert full.startswith(ALICE + '/')
    tcp, bob_full = raw_login(s, BOB, listener=0)
    ws.send("<presence xmlns='jabber:client'/>")
    tcp.send("<presence/>")
    tcp.send("<message to='%s' type='chat'><body>to ws</body></message>" % full)
    m = ws.until(lambda el: el.tag == '{jabber:client}message')
    assert m.findtext('{jabber:client}body') == 'to ws' and m.get('from') == bob_full
    ws.send("<message xmlns='jabber:client' to='%s' type='chat'><body>to tcp</body></message>"
            % bob_full)
    raw_wait(tcp, body_is('to tcp'))
    ws.send(CLOSE)
    ws.until(lambda el: el.tag == q(NS_FRAMING, 'close'))
    ws.close()


def test_close_answered(server_factory):
    """<close/> -> <close/>, a close frame, the connection closed."""
    s = ws_server(server_factory)
    ws = WS(s.ports[1])
    open_stream(ws)
    ws.send(CLOSE)
    assert ws.element().tag == q(NS_FRAMING, 'close')
    op, payload = ws.frame()
    assert op == OP_CLOSE and struct.unpack('>H', payload[:2])[0] == 1000
    assert ws.closed()
    ws.close()


def test_open_with_the_upgrade(server_factory):
    """<open/> in the same packet as the request head is not lost."""
    s = ws_server(server_factory)
    sock = socket.create_connection(('127.0.0.1', s.ports[1]), timeout=TIMEOUT)
    ws = WS.__new__(WS)
    ws.sock = sock
    ws.key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(request(ws.key) + frame_bytes(OP_TEXT, OPEN))
    ws.status, ws.headers, ws.buf = http_answer(sock)
    assert ws.status == 'HTTP/1.1 101 Switching Protocols'
    assert ws.element().tag == q(NS_FRAMING, 'open')
    assert ws.element().tag == '{http://etherx.jabber.org/streams}features'
    ws.close()


def test_ping_pong(server_factory):
    s = ws_server(server_factory)
    ws = WS(s.ports[1])
    open_stream(ws)
    ws.send_frame(OP_PING, b'are you there')
    assert ws.frame() == (OP_PONG, b'are you there')
    ws.close()


def close_code(ws):
    op, payload = ws.frame()
    assert op == OP_CLOSE, (op, payload)
    return struct.unpack('>H', payload[:2])[0]


def test_binary_frame_closes_1003(server_factory):
    s = ws_server(server_factory)
    ws = WS(s.ports[1])
    open_stream(ws)
    ws.send_frame(OP_BINARY, OPEN)
    assert close_code(ws) == 1003
    assert ws.closed()
    ws.close()


def test_oversized_frame_closes_1009(server_factory):
    s = ws_server(server_factory, max_stanza_size=4096)
    ws = WS(s.ports[1])
    open_stream(ws)
    ws.send("<message xmlns='jabber:client'><body>%s</body></message>" % ('x' * 5000))
    assert close_code(ws) == 1009
    assert ws.closed()
    ws.close()


def test_stream_error_then_close(server_factory):
    """A stream error is <stream:error/> in a frame, then <close/>."""
    s = ws_server(server_factory)
    ws = WS(s.ports[1])
    open_stream(ws)
    ws.send("<message xmlns='jabber:client' to='bob@localhost'><body>x</body></message>")
    err = ws.element()
    assert err.tag == '{http://etherx.jabber.org/streams}error', ET.tostring(err)
    assert ws.element().tag == q(NS_FRAMING, 'close')
    ws.close()


def test_unusable_config_is_http_503():
    """A handler that cannot start answers in HTTP, which the client reads."""
    p = subprocess.run([str(BUILD / 'xmpp-web'), '-c', '/nonexistent/xmpp.conf'],
                       input=request('dGhlIHNhbXBsZSBub25jZQ=='), capture_output=True,
                       timeout=TIMEOUT)
    assert p.stdout.startswith(b'HTTP/1.1 503 Service Unavailable\r\n'), p.stdout
    assert p.returncode == 111


def http_get(port, path, headers=(), method='GET'):
    """One request; the status line, the headers and the whole body."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT)
    sock.sendall(('%s %s HTTP/1.1\r\nHost: localhost:%d\r\n%s\r\n' % (
        method, path, port, ''.join(h + '\r\n' for h in headers))).encode())
    status, hdrs, body = http_answer(sock)
    want = int(hdrs.get('content-length', '0'))
    while method != 'HEAD' and len(body) < want:
        got = sock.recv(65536)
        assert got, 'body cut at %d of %d bytes' % (len(body), want)
        body += got
    sock.close()
    return status, hdrs, body


def test_host_meta(server_factory):
    """XEP-0156: the XRD and the JSON name the WebSocket endpoint, from
    http_url when it is set, else from the request's Host; any page may
    read them (CORS)."""
    s = ws_server(server_factory)
    port = s.ports[1]
    status, h, body = http_get(port, '/.well-known/host-meta')
    assert status == 'HTTP/1.1 200 OK'
    assert h['content-type'] == 'application/xrd+xml'
    assert h['access-control-allow-origin'] == '*'
    xrd = ET.fromstring(body)
    assert xrd.tag == '{http://docs.oasis-open.org/ns/xri/xrd-1.0}XRD'
    links = [(l.get('rel'), l.get('href')) for l in xrd]
    assert links == [('urn:xmpp:alt-connections:websocket',
                      'ws://localhost:%d/xmpp-websocket' % port),
                     ('urn:xmpp:alt-connections:xbosh',
                      'http://localhost:%d/http-bind' % port)]
    status, h, body = http_get(port, '/.well-known/host-meta.json',
                               ['Origin: https://any.example'])
    assert status == 'HTTP/1.1 200 OK'
    assert h['content-type'] == 'application/json'
    assert h['access-control-allow-origin'] == '*'
    assert json.loads(body) == {'links': [
        {'rel': 'urn:xmpp:alt-connections:websocket',
         'href': 'ws://localhost:%d/xmpp-websocket' % port},
        {'rel': 'urn:xmpp:alt-connections:xbosh', 'href': 'http://localhost:%d/http-bind' % port}]}
    status, h, body = http_get(port, '/.well-known/host-meta', method='HEAD')
    assert status == 'HTTP/1.1 200 OK' and body == b''
    assert int(h['content-length']) > 0
    status, h, _ = http_get(port, '/.well-known/host-meta', method='POST')
    assert status == 'HTTP/1.1 405 Method Not Allowed'
    assert h['allow'] == 'GET, HEAD'


def test_host_meta_behind_a_proxy(server_factory):
    """With http_url (a TLS proxy in front), the endpoint is wss://."""
    s = ws_server(server_factory, http_url='https://xmpp.example.org/')
    status, _, body = http_get(s.ports[1], '/.well-known/host-meta')
    assert status == 'HTTP/1.1 200 OK'
    hrefs = [l.get('href') for l in ET.fromstring(body)]
    assert hrefs == ['wss://xmpp.example.org/xmpp-websocket',
                     'https://xmpp.example.org/http-bind']


def test_unknown_path_is_404(server_factory):
    """Neither the WebSocket nor discovery: 404, and no upgrade elsewhere."""
    s = ws_server(server_factory)
    status, _, _ = http_get(s.ports[1], '/nothing-here')
    assert status == 'HTTP/1.1 404 Not Found'
    ws = WS(s.ports[1], path='/other')
    assert ws.status == 'HTTP/1.1 404 Not Found'
    assert ws.closed()
    ws.close()
