"""turn_client.py - a minimal TURN client (RFC 8656 Allocate over UDP,
with the long-term credential mechanism of RFC 8489 9.2) for the
XEP-0215 test: it asks a real TURN server for an allocation with the
username and password xmppd handed out, and reports what the server
said, so the test sees whether the credentials were accepted unchanged.

allocate(host, port, username, password) -> (code, reason): code 0 for
a success response, else the ERROR-CODE number (401 Unauthorized ...).
binding(host, port) -> True if a STUN Binding request is answered.
"""
import hashlib
import hmac
import os
import socket
import struct

MAGIC = 0x2112A442
BINDING, ALLOCATE = 0x0001, 0x0003
SUCCESS, ERROR = 0x0100, 0x0110            # class bits of responses
A_USERNAME, A_INTEGRITY, A_ERROR_CODE = 0x0006, 0x0008, 0x0009
A_REALM, A_NONCE, A_TRANSPORT, A_LIFETIME = 0x0014, 0x0015, 0x0019, 0x000D
UDP = 17                                    # REQUESTED-TRANSPORT: UDP
INTEGRITY_LEN = 20                          # HMAC-SHA1


def _attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack('!HH', kind, len(value)) + value + b'\0' * pad


def _message(method, tid, attrs, key=None):
    """A request of method with attrs (bytes); with key, a
    MESSAGE-INTEGRITY over it, the length counting that attribute."""
    body = b''.join(attrs)
    if key is None:
        return struct.pack('!HHI', method, len(body), MAGIC) + tid + body
    head = struct.pack('!HHI', method, len(body) + 4 + INTEGRITY_LEN, MAGIC) + tid
    mac = hmac.new(key, head + body, hashlib.sha1).digest()
    return head + body + _attr(A_INTEGRITY, mac)


def _parse(data, tid):
    """(message type, {attribute type: value}) of a response to tid, or None."""
    if len(data) < 20:
        return None
    kind, length, magic = struct.unpack('!HHI', data[:8])
    if magic != MAGIC or data[8:20] != tid:
        return None
    attrs, off = {}, 20
    while off + 4 <= 20 + length:
        t, n = struct.unpack('!HH', data[off:off + 4])
        attrs.setdefault(t, data[off + 4:off + 4 + n])
        off += 4 + n + (4 - n % 4) % 4
    return kind, attrs


def _exchange(sock, addr, msg, tid, timeout):
    sock.settimeout(timeout)
    sock.sendto(msg, addr)
    while True:
        data, _ = sock.recvfrom(65536)
        r = _parse(data, tid)
        if r:
            return r


def _outcome(method, r):
    kind, attrs = r
    if kind == method | SUCCESS:
        return 0, ''
    ec = attrs.get(A_ERROR_CODE, b'\0\0\0\0')
    return (ec[2] & 7) * 100 + ec[3], ec[4:].decode('utf-8', 'replace')


def binding(host, port, timeout=0.5):
    tid = os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            r = _exchange(s, (host, port), _message(BINDING, tid, []), tid, timeout)
        except (socket.timeout, ConnectionRefusedError):
            return False
    return r[0] == BINDING | SUCCESS


def allocate(host, port, username, password, timeout=5.0):
    """An Allocate: first without credentials (the server answers 401
    with its realm and a nonce), then with them. (code, reason)."""
    transport = _attr(A_TRANSPORT, bytes([UDP, 0, 0, 0]))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        tid = os.urandom(12)
        r = _exchange(s, (host, port), _message(ALLOCATE, tid, [transport]), tid, timeout)
        code, reason = _outcome(ALLOCATE, r)
        if code != 401 or A_REALM not in r[1] or A_NONCE not in r[1]:
            return code, 'first Allocate: %s' % reason
        realm, nonce = r[1][A_REALM], r[1][A_NONCE]
        key = hashlib.md5(b'%s:%s:%s' % (username.encode(), realm, password.encode())).digest()
        tid = os.urandom(12)
        msg = _message(ALLOCATE, tid, [transport, _attr(A_LIFETIME, struct.pack('!I', 60)),
                                       _attr(A_USERNAME, username.encode()),
                                       _attr(A_REALM, realm), _attr(A_NONCE, nonce)], key)
        return _outcome(ALLOCATE, _exchange(s, (host, port), msg, tid, timeout))
