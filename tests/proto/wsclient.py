"""wsclient.py - a WebSocket client for XMPP (RFC 6455, RFC 7395) on a raw
socket, with the standard library only: masked frames out, frames in, the
HTTP upgrade written by hand, so that a test can send what a library would
refuse to (a binary frame, an oversized one, a bad upgrade). Used by
test_websocket.py and by tests/systemd/clients.py.
"""
import base64
import os
import socket
import struct
import time
import xml.etree.ElementTree as ET

TIMEOUT = 5.0
NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing'
NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind'
NS_STREAMS = 'http://etherx.jabber.org/streams'
OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 1, 2, 8, 9, 10
OPEN = "<open xmlns='%s' to='localhost' version='1.0'/>" % NS_FRAMING
CLOSE = "<close xmlns='%s'/>" % NS_FRAMING


def request(key, version='13', protocol='xmpp', origin=None, upgrade=True,
            path='/xmpp-websocket'):
    lines = ['GET %s HTTP/1.1' % path, 'Host: localhost']
    if upgrade:
        lines += ['Upgrade: websocket', 'Connection: Upgrade']
    lines += ['Sec-WebSocket-Key: ' + key, 'Sec-WebSocket-Version: ' + version]
    if protocol:
        lines.append('Sec-WebSocket-Protocol: ' + protocol)
    if origin:
        lines.append('Origin: ' + origin)
    return ('\r\n'.join(lines) + '\r\n\r\n').encode()


def http_answer(sock):
    """The response head, as (status line, {lower-case header: value})."""
    data = b''
    deadline = time.monotonic() + TIMEOUT
    while b'\r\n\r\n' not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        got = sock.recv(4096)
        assert got, 'connection closed after %r' % data
        data += got
    head, rest = data.split(b'\r\n\r\n', 1)
    lines = head.decode().split('\r\n')
    headers = {}
    for ln in lines[1:]:
        k, v = ln.split(':', 1)
        headers[k.strip().lower()] = v.strip()
    return lines[0], headers, rest


def frame_bytes(op, payload):
    """A final, masked client frame (RFC 6455 5.2)."""
    if isinstance(payload, str):
        payload = payload.encode()
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | op])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack('>H', n)
    else:
        head += bytes([0x80 | 127]) + struct.pack('>Q', n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class WS:
    """A WebSocket client on a raw socket."""

    def __init__(self, port, host='127.0.0.1', timeout=TIMEOUT, **req):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(request(self.key, **req))
        self.status, self.headers, self.buf = http_answer(self.sock)

    def send_frame(self, op, payload):
        self.sock.sendall(frame_bytes(op, payload))

    def send(self, xml):
        self.send_frame(OP_TEXT, xml)

    def _need(self, n):
        while len(self.buf) < n:
            got = self.sock.recv(65536)
            if not got:
                raise EOFError('connection closed')
            self.buf += got

    def frame(self, timeout=TIMEOUT):
        """The next frame: (opcode, payload bytes)."""
        self.sock.settimeout(timeout)
        self._need(2)
        op, n = self.buf[0] & 0x0f, self.buf[1] & 0x7f
        assert not self.buf[1] & 0x80, 'a server frame must not be masked'
        off = 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack('>H', self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack('>Q', self.buf[2:10])[0], 10
        self._need(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return op, payload

    def element(self, timeout=TIMEOUT):
        """The next text frame, parsed alone (RFC 7395 3.3.3: each frame
        is a whole element with its namespace declarations)."""
        op, payload = self.frame(timeout)
        assert op == OP_TEXT, (op, payload)
        return ET.fromstring(payload)

    def until(self, pred, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            el = self.element(max(0.01, deadline - time.monotonic()))
            if pred(el):
                return el

    def closed(self, timeout=TIMEOUT):
        """True once the server has closed the TCP connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                got = self.sock.recv(65536)
                if not got:
                    return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def q(ns, name):
    return '{%s}%s' % (ns, name)


def open_stream(ws):
    """<open/> -> <open/>, then the features in a frame of their own."""
    ws.send(OPEN)
    op = ws.element()
    assert op.tag == q(NS_FRAMING, 'open'), ET.tostring(op)
    assert op.get('from') == 'localhost' and op.get('version') == '1.0' and op.get('id')
    feats = ws.element()
    assert feats.tag == q(NS_STREAMS, 'features'), ET.tostring(feats)
    return op, feats


def login(port, bare, password, resource='ws', host='127.0.0.1', timeout=TIMEOUT):
    """SASL PLAIN, the restart, bind: the socket and the bound JID."""
    ws = WS(port, host=host, timeout=timeout)
    assert ws.status == 'HTTP/1.1 101 Switching Protocols', ws.status
    _, feats = open_stream(ws)
    assert feats.find('{urn:ietf:params:xml:ns:xmpp-tls}starttls') is None
    token = base64.b64encode(b'\0' + bare.split('@')[0].encode() + b'\0' + password.encode()).decode()
    ws.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, token))
    assert ws.element().tag == q(NS_SASL, 'success')
    _, feats = open_stream(ws)                      # the restart
    assert feats.find(q(NS_BIND, 'bind')) is not None
    ws.send("<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='%s'>"
            "<resource>%s</resource></bind></iq>" % (NS_BIND, resource))
    res = ws.element()
    assert res.tag == '{jabber:client}iq' and res.get('type') == 'result', ET.tostring(res)
    return ws, res.find('.//' + q(NS_BIND, 'jid')).text
