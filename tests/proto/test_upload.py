"""XEP-0363 HTTP file upload: slots from the handler (listener 0,
xmpp-handler), files through xmpp-web (listener 1), one Redis.

slixmpp's xep_0363 finds the service through disco, requests a slot and
PUTs with aiohttp; the file is then fetched with GET byte-identical, and
counts in the user's usage (xmppctl uploads). The HTTP edge cases are
raw requests with exact status codes: a tampered URL (403), an expired
one (410, signed here with the key derived from the server secret in
Redis, which also checks the signature against a second
implementation), wrong lengths (400, 413), chunked (411), a wrong type
(415), a second PUT (409), a slow body (408), ranges (206, 416), the
CORS preflight, Content-Disposition, HEAD, 404s, a file past its expiry
(404, removed), and xmppctl's upload-remove, upload-expire and deluser.
The slot request errors are exact in transcripts/upload-errors.xmpp.
"""
import asyncio
import hashlib
import hmac
import io
import os
import socket
import time
import urllib.parse
import xml.etree.ElementTree as ET

try:
    from . import clients as C
except ImportError:
    import clients as C

from harness import TIMEOUT, wait_until
from im_helpers import PW, online, q, raw_login, raw_wait

ALICE, BOB = 'alice@localhost', 'bob@localhost'
UPD = 'upload.localhost'
NS_UPLOAD = 'urn:xmpp:http:upload:0'
PLUGINS = ['xep_0030', 'xep_0004', 'xep_0128', 'xep_0363']


def up_server(server_factory, tmp_path, **conf):
    """xmpp-handler on listener 0, xmpp-web on 1, the upload service on,
    its files in tmp_path/up; http_url names listener 1 (the handlers read
    the configuration on every connection, so it is added after the start,
    when the port is known)."""
    conf.setdefault('upload_domain', UPD)
    conf.setdefault('upload_dir', str(tmp_path / 'up'))
    s = server_factory(listeners=2, listener_progs=[None, 'xmpp-web'], **conf)
    with open(s.conf_path, 'a') as f:
        f.write('http_url = http://127.0.0.1:%d\n' % s.ports[1])
    s.adduser(ALICE, PW)
    s.adduser(BOB, PW)
    s.updir = conf['upload_dir']
    return s


def http(server, method, target, headers=(), body=b'', send_body=True, read=True):
    """One request to xmpp-web, raw: (status, {lower-case header: value},
    body). Interim 1xx answers are skipped. headers: (name, value) pairs,
    sent as given (no Content-Length is added)."""
    s = socket.create_connection(('127.0.0.1', server.ports[1]), timeout=TIMEOUT)
    lines = ['%s %s HTTP/1.1' % (method, target), 'Host: 127.0.0.1']
    lines += ['%s: %s' % h for h in headers]
    s.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode() + (body if send_body else b''))
    return read_answer(s) if read else s


def read_answer(s):
    """Everything to the close: (status, headers, body), 1xx skipped."""
    data = b''.join(iter(lambda: s.recv(65536), b''))
    s.close()
    while True:
        head, _, rest = data.partition(b'\r\n\r\n')
        status = int(head.split(b' ')[1])
        if status >= 200:
            break
        data = rest
    hdrs = {}
    for ln in head.decode().split('\r\n')[1:]:
        k, v = ln.split(':', 1)
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest


def target_of(url):
    u = urllib.parse.urlsplit(url)
    return u.path + ('?' + u.query if u.query else '')


def slot(server, name='a.txt', size=10, ctype='text/plain', raw=None):
    """A slot from the handler, raw: (put target, get target)."""
    r = raw or raw_login(server, ALICE)[0]
    attrs = "filename='%s' size='%d'" % (name, size)
    if ctype:
        attrs += " content-type='%s'" % ctype
    r.send("<iq type='get' id='s1' to='%s'><request xmlns='%s' %s/></iq>" % (UPD, NS_UPLOAD, attrs))
    el = raw_wait(r, lambda e: e.get('id') == 's1')
    assert el.get('type') == 'result', ET.tostring(el)
    sl = el.find(q(NS_UPLOAD, 'slot'))
    put, get = sl.find(q(NS_UPLOAD, 'put')).get('url'), sl.find(q(NS_UPLOAD, 'get')).get('url')
    base = 'http://127.0.0.1:%d/upload/' % server.ports[1]
    assert put.startswith(base) and get.startswith(base), (put, get)
    return target_of(put), target_of(get)


def put(server, target, body, ctype='text/plain', extra=()):
    hdrs = [('Content-Length', str(len(body)))] + ([('Content-Type', ctype)] if ctype else [])
    return http(server, 'PUT', target, hdrs + list(extra), body)


def slot_dir(server, get_target):
    return os.path.join(server.updir, get_target.split('/')[2])


async def discover(c):
    """What xep_0363's find_upload_service does, by the same plugins:
    slixmpp 1.8.3's own (get_info_from_domain) hands asyncio.wait bare
    coroutines, which Python 3.11 refuses. The server's items, the one
    whose identity is store/file and that has the feature, its
    max-file-size (XEP-0128), as upload_file would set them."""
    disco = c.xmpp['xep_0030']
    items = await disco.get_items(jid='localhost', timeout=5)
    for jid, _, _ in items['disco_items']['items']:
        info = await disco.get_info(jid=jid, timeout=5)
        if ('store', 'file', None, 'HTTP File Upload') in info['disco_info']['identities'] and \
                NS_UPLOAD in info['disco_info']['features']:
            for form in info['disco_info'].iterables:
                values = form['values']
                if values['FORM_TYPE'] == [NS_UPLOAD]:
                    c.xmpp['xep_0363'].max_file_size = int(values['max-file-size'])
            c.xmpp['xep_0363'].upload_service = info['from']
            return
    raise AssertionError('no upload service in %s' % items)


def test_slixmpp_uploads_and_get_is_identical(server_factory, tmp_path):
    """slixmpp's xep_0363 on its own: disco finds upload.localhost and
    its maximum size, the slot, the PUT (aiohttp); bob's GET reads the
    same bytes with the type, length and disposition of the upload."""
    server = up_server(server_factory, tmp_path, upload_max_size=1 << 20)
    data = os.urandom(200 * 1024 + 7)        # several reads and writes
    seen = {}

    async def go():
        a = await online(server.ports[0], ALICE + '/a', plugins=PLUGINS)
        await discover(a)
        seen['url'] = await a.xmpp['xep_0363'].upload_file(
            'photo 1.png', size=len(data), content_type='image/png',
            input_file=io.BytesIO(data), timeout=10)
        seen['max'] = a.xmpp['xep_0363'].max_file_size
        seen['service'] = str(a.xmpp['xep_0363'].upload_service)
        await a.close()
    C.run(go, timeout=60)

    assert seen['service'] == UPD and seen['max'] == 1 << 20, seen
    url = seen['url']
    assert url.startswith('http://127.0.0.1:%d/upload/' % server.ports[1]), url
    assert url.endswith('/photo%201.png'), url
    status, h, body = http(server, 'GET', target_of(url))
    assert status == 200 and body == data, (status, h, len(body))
    assert h['content-type'] == 'image/png', h
    assert h['content-length'] == str(len(data)), h
    assert h['content-disposition'] == \
        "inline; filename=\"photo 1.png\"; filename*=UTF-8''photo%201.png", h
    assert h['x-content-type-options'] == 'nosniff', h
    # it counts for alice, in Redis and in xmppctl's view
    p = server.ctl('uploads', ALICE)
    assert p.returncode == 0 and p.stdout.splitlines()[1] == '%s 1 %d' % (ALICE, len(data)), p


def test_put_checks(server_factory, tmp_path):
    """Each way a PUT can be wrong, with its status; then the right one
    (201), and a second (409)."""
    server = up_server(server_factory, tmp_path)
    ptarget, gtarget = slot(server)
    body = b'0123456789'
    path, query = ptarget.split('?')
    fields = dict(urllib.parse.parse_qsl(query))
    assert set(fields) == {'n', 'e', 't', 's'}, fields

    def with_(**kw):
        f = dict(fields, **kw)
        return path + '?' + urllib.parse.urlencode(f)

    # tampered: a field changed, the signature changed, none at all
    assert put(server, with_(n='11'), body + b'x')[0] == 403
    assert put(server, with_(t='text/html'), body, 'text/html')[0] == 403
    assert put(server, with_(s='0' * 64), body)[0] == 403
    assert put(server, path, body)[0] == 403
    assert put(server, path.replace('a.txt', 'b.txt') + '?' + query, body)[0] == 403
    # the request against the slot
    assert put(server, ptarget, body[:9])[0] == 400
    assert put(server, ptarget, body + b'x')[0] == 413
    assert http(server, 'PUT', ptarget, [('Transfer-Encoding', 'chunked'),
                                        ('Content-Type', 'text/plain')],
                b'a\r\n0123456789\r\n0\r\n\r\n')[0] == 411
    assert put(server, ptarget, body, 'text/html')[0] == 415
    assert put(server, ptarget, body, None)[0] == 415
    # nothing of these was stored
    assert http(server, 'GET', gtarget)[0] == 404
    # what curl does for a body over 1 KiB: the body waits for 100 Continue
    s = http(server, 'PUT', ptarget, [('Content-Length', '10'), ('Content-Type', 'Text/Plain'),
                                      ('Expect', '100-continue')], send_body=False, read=False)
    assert s.recv(64) == b'HTTP/1.1 100 Continue\r\n\r\n'
    s.sendall(body)
    status, h, _ = read_answer(s)
    assert status == 201, (status, h)
    assert put(server, ptarget, body)[0] == 409
    status, h, got = http(server, 'GET', gtarget)
    assert (status, got, h['content-type']) == (200, body, 'text/plain'), (status, h, got)
    assert sorted(os.listdir(slot_dir(server, gtarget))) == ['data', 'meta']


def test_refused_big_put_is_answered(server_factory, tmp_path):
    """A large PUT refused at once (a tampered URL, one too long) still
    gets its status: the body is read a while before the close, which
    would otherwise reset the connection under the answer."""
    server = up_server(server_factory, tmp_path)
    ptarget, _ = slot(server, size=600 * 1024, ctype=None)
    body = os.urandom(600 * 1024)
    for target, size, want in ((ptarget.replace('&s=', '&s=0'), len(body), 403),
                               (ptarget, len(body) + 1, 413)):
        s = socket.create_connection(('127.0.0.1', server.ports[1]), timeout=TIMEOUT)
        s.sendall(('PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n'
                   % (target, size)).encode())
        try:
            s.sendall(body + b'x' * (size - len(body)))
        except OSError as e:
            raise AssertionError('the body could not be sent: %r' % e)
        assert read_answer(s)[0] == want


def secret_key(server):
    """The signing key, as lib/uploadsig.c derives it from the server
    secret."""
    secret = bytes.fromhex(server.redis('GET', 'xmpp:server-secret'))
    return hmac.new(secret, b'xmppd upload signing key', hashlib.sha256).digest()


def test_expired_put_url(server_factory, tmp_path):
    """A PUT URL past its time: 410, however good its signature (made
    here, in Python); the same URL with a time to come works."""
    server = up_server(server_factory, tmp_path)
    ptarget, gtarget = slot(server, ctype=None)
    path, query = ptarget.split('?')
    f = dict(urllib.parse.parse_qsl(query))
    sid, name = path.split('/')[2], urllib.parse.unquote(path.split('/')[3])
    key = secret_key(server)

    def signed(expires):
        msg = b'\0'.join([b'xmppd-upload-1', sid.encode(), name.encode(), b'10', b'',
                          str(expires).encode()]) + b'\0'
        sig = hmac.new(key, msg, hashlib.sha256).hexdigest()
        return '%s?n=10&e=%d&s=%s' % (path, expires, sig)

    assert signed(int(f['e'])) == ptarget         # the same signature as the C one
    assert put(server, signed(int(time.time()) - 1), b'0123456789')[0] == 410
    assert put(server, signed(int(time.time()) + 60), b'0123456789', None)[0] == 201
    status, h, body = http(server, 'GET', gtarget)
    assert (status, h['content-type']) == (200, 'application/octet-stream'), (status, h)


def test_slow_or_cut_body(server_factory, tmp_path):
    """A body that pauses longer than auth_timeout: 408, nothing kept, and
    the slot still takes a PUT; one cut short: nothing kept either."""
    server = up_server(server_factory, tmp_path, auth_timeout=3)
    ptarget, gtarget = slot(server)
    s = http(server, 'PUT', ptarget, [('Content-Length', '10'), ('Content-Type', 'text/plain')],
             b'01234', read=False)
    t0 = time.monotonic()
    status, _, _ = read_answer(s)
    assert status == 408 and 2.5 < time.monotonic() - t0 < 3 + TIMEOUT, status
    assert http(server, 'GET', gtarget)[0] == 404
    s = http(server, 'PUT', ptarget, [('Content-Length', '10'), ('Content-Type', 'text/plain')],
             b'01234', read=False)
    s.shutdown(socket.SHUT_WR)
    s.close()
    # Its process may not even have started yet: wait for its last word,
    # not for the part file (which it may still be about to make).
    wait_until(lambda: server.log().count('body too slow or cut short') == 2,
               timeout=3 + TIMEOUT, what='the cut PUT to end')
    assert not os.path.exists(os.path.join(slot_dir(server, gtarget), 'data.part'))
    assert put(server, ptarget, b'0123456789')[0] == 201


def test_get_ranges_head_cors(server_factory, tmp_path):
    """Byte ranges (206, 416), HEAD, the CORS preflight and header, the
    disposition of a name that is not ASCII, and the 404s."""
    server = up_server(server_factory, tmp_path)
    ptarget, gtarget = slot(server, name='très "cool".txt', size=10)
    assert put(server, ptarget, b'0123456789')[0] == 201

    status, h, body = http(server, 'GET', gtarget, [('Range', 'bytes=2-4')])
    assert (status, body, h['content-range'], h['content-length']) == \
        (206, b'234', 'bytes 2-4/10', '3'), (status, h, body)
    status, h, body = http(server, 'GET', gtarget, [('Range', 'bytes=-3')])
    assert (status, body, h['content-range']) == (206, b'789', 'bytes 7-9/10'), (status, h)
    status, h, body = http(server, 'GET', gtarget, [('Range', 'bytes=7-')])
    assert (status, body) == (206, b'789'), (status, h)
    status, h, body = http(server, 'GET', gtarget, [('Range', 'bytes=10-')])
    assert (status, h['content-range'], body) == (416, 'bytes */10', b''), (status, h)
    status, h, body = http(server, 'GET', gtarget, [('Range', 'bytes=0-1,4-5')])
    assert (status, body) == (200, b'0123456789'), status    # several: served whole

    status, h, body = http(server, 'HEAD', gtarget)
    assert (status, h['content-length'], body) == (200, '10', b''), (status, h, body)
    assert h['accept-ranges'] == 'bytes', h
    assert h['content-disposition'] == \
        "inline; filename=\"tr__s _cool_.txt\"; filename*=UTF-8''tr%C3%A8s%20%22cool%22.txt", h
    assert 'access-control-allow-origin' not in h

    status, h, _ = http(server, 'GET', gtarget, [('Origin', 'https://web.example')])
    assert status == 200 and h['access-control-allow-origin'] == '*', h
    status, h, _ = http(server, 'OPTIONS', ptarget, [
        ('Origin', 'https://web.example'), ('Access-Control-Request-Method', 'PUT'),
        ('Access-Control-Request-Headers', 'content-type')])
    assert status == 204, (status, h)
    assert h['access-control-allow-origin'] == '*', h
    assert h['access-control-allow-methods'] == 'GET, HEAD, PUT, OPTIONS', h
    assert h['access-control-allow-headers'] == 'Content-Type', h

    assert http(server, 'DELETE', gtarget)[0] == 405
    assert http(server, 'GET', gtarget[:-1] + 'X')[0] == 404            # another name
    assert http(server, 'GET', '/upload/' + '0' * 32 + '/a.txt')[0] == 404
    assert http(server, 'GET', '/upload/../../etc/passwd')[0] == 404
    assert http(server, 'GET', '/upload/' + '0' * 32 + '/%2e%2e')[0] == 404


def test_expiry_and_ctl(server_factory, tmp_path):
    """A file past its time: a GET answers 404 and removes it; the sweep
    removes such files, files of accounts removed in-band, and PUTs
    that never finished; upload-remove and deluser remove a user's
    files."""
    server = up_server(server_factory, tmp_path)
    r = raw_login(server, ALICE)[0]
    targets = [slot(server, name='f%d.txt' % i, raw=r) for i in range(4)]
    for p, _ in targets:
        assert put(server, p, b'0123456789')[0] == 201
    dirs = [slot_dir(server, g) for _, g in targets]

    def age(d):
        meta = os.path.join(d, 'meta')
        text = open(meta).read().replace('expires ', 'expires 1\nold ')
        open(meta, 'w').write(text)

    # 0: past its time, read: gone
    age(dirs[0])
    assert http(server, 'GET', targets[0][1])[0] == 404
    assert not os.path.exists(dirs[0])
    # 1: past its time, swept; a PUT that died long ago, swept
    age(dirs[1])
    dead = os.path.join(server.updir, 'f' * 32)
    os.mkdir(dead)
    open(os.path.join(dead, 'data.part'), 'w').close()
    os.utime(os.path.join(dead, 'data.part'), (1, 1))
    os.utime(dead, (1, 1))
    p = server.ctl('upload-expire')
    assert p.returncode == 0 and p.stdout == '2 removed\n', p
    assert not os.path.exists(dirs[1]) and not os.path.exists(dead)
    assert os.path.exists(dirs[2]) and os.path.exists(dirs[3])

    p = server.ctl('uploads')
    assert p.returncode == 0 and '%s 4 40' % ALICE in p.stdout.splitlines(), p
    p = server.ctl('upload-remove', ALICE)
    assert p.returncode == 0, p
    assert not os.path.exists(dirs[2]) and not os.path.exists(dirs[3])
    assert server.ctl('uploads', ALICE).stdout.splitlines()[1:] == []

    # deluser takes the files with the account
    p2, g2 = slot(server, raw=r)
    assert put(server, p2, b'0123456789')[0] == 201
    assert os.path.exists(slot_dir(server, g2))
    assert server.ctl('deluser', ALICE).returncode == 0
    assert not os.path.exists(slot_dir(server, g2))
    assert server.redis('EXISTS', 'xmpp:{%s}:uploads' % ALICE) == 0


def test_quota_counts_stored_files(server_factory, tmp_path):
    """The quota counts slots and stored files alike; a file that is
    removed frees its room."""
    server = up_server(server_factory, tmp_path, upload_quota=25)
    r = raw_login(server, ALICE)[0]
    p1, _ = slot(server, size=10, raw=r)
    assert put(server, p1, b'0123456789')[0] == 201
    slot(server, size=10, raw=r)                   # reserved, never used
    r.send("<iq type='get' id='s1' to='%s'><request xmlns='%s' filename='c' size='6'/></iq>"
           % (UPD, NS_UPLOAD))
    el = raw_wait(r, lambda e: e.get('id') == 's1')
    assert el.get('type') == 'error', ET.tostring(el)
    assert el.find('.//' + q('urn:ietf:params:xml:ns:xmpp-stanzas', 'resource-constraint')) \
        is not None, ET.tostring(el)
    assert server.ctl('upload-remove', ALICE).returncode == 0
    slot(server, size=25, raw=r)
