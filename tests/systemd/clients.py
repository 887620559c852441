#!/usr/bin/python3
"""Clients for tests/systemd/run.sh, run from the host's python3 inside the
container's network namespace (nsenter --target PID --net), so 127.0.0.1:5222
is the container's xmpp.socket.

Every wait is bounded. Results are JSON, written to a file given with --out
(atomically: the file appears complete or not at all) and echoed on stdout.

  login    --jid J --password P --out F
      one slixmpp (third-party library) login: SASL, bind, session.
  message  --jid A --password PA --to B --to-password PB --out F
      A and B log in (slixmpp), B sends presence, A sends B a message;
      ok when B receives it.
  ws-message --jid A --password PA --to B --to-password PB --out F
      A logs in over WebSocket (xmpp-web.socket, 127.0.0.1:5280, with
      tests/proto/wsclient.py) after reading /.well-known/host-meta (the
      WebSocket and BOSH endpoints), B
      over TCP (slixmpp); a message each way; then B asks upload.localhost
      for a slot (XEP-0363), PUTs 100 KiB to xmpp-web and A's side GETs
      them back; ok when both messages arrive and the bytes are the same.
  hold-slix --jid-format 'u{:02d}@localhost' --count N --password P
            --out F --release F2
      N concurrent slixmpp logins; write F when all are done (or failed),
      stay connected until F2 exists, then log out cleanly.
  hold-raw --count N --out F --release F2
      N concurrent raw TCP connections, each sends a stream header and
      reads until </stream:features> (or EOF / timeout); write F with what
      each received, hold every connection until F2 exists, then close the
      streams.
  burst    --count N [--parallel P] --out F
      N connections opened and closed at once, P at a time, as fast as
      possible (activations of the socket unit in a short time).
  upgrade  --old J [--old J...] --new J [--new J...] --password P --dir D
      the sessions of an upgrade, step by step; each step waits for a file
      in D that run.sh creates, and writes one:
        the --old clients log in, send presence       -> D/old.json
        after D/installed the --new clients do         -> D/new.json
        after D/talk every client sends each other one a message
                                                        -> D/talk.json
          (which arrived, and every stream end any client saw so far)
        after D/logout the --old clients close their streams
                                                        -> D/logout.json
          (how each ended: "End of stream" is the server's answer; a
          server that does not answer is cut off after 2 s, and the
          reason is then None)
        the --new clients wait for the server to end their streams
                                                        -> D/end.json
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import time

HOST = '127.0.0.1'
PORT = 5222
WEB_PORT = 5280         # xmpp-web.socket
TIMEOUT = 20.0          # bound of each login / read
HOLD_MAX = 120.0        # longest we wait for the release file

HEADER = ("<?xml version='1.0'?><stream:stream to='localhost' "
          "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
          "version='1.0'>")


def write_out(path, obj):
    data = json.dumps(obj, sort_keys=True)
    if path:
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(data + '\n')
        os.rename(tmp, path)
    print(data, flush=True)


async def wait_release(path):
    deadline = time.monotonic() + HOLD_MAX
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


# ---------------------------------------------------------------- slixmpp

def make_client(jid, password):
    import slixmpp

    class Client(slixmpp.ClientXMPP):
        def __init__(self):
            super().__init__(jid, password)
            self.result = {'jid': jid, 'ok': False, 'error': None}
            self.done = asyncio.get_running_loop().create_future()
            self.received = []
            self.ends = []          # every stream end and stream error seen
            self.add_event_handler('session_start', self._start)
            self.add_event_handler('failed_all_auth', self._fail_auth)
            self.add_event_handler('connection_failed', self._conn_failed)
            self.add_event_handler('disconnected', self._disconnected)
            self.add_event_handler('stream_error', self._stream_error)
            self.add_event_handler('message', self._message)

        def _finish(self):
            if not self.done.done():
                self.done.set_result(self.result)

        async def _start(self, _event):
            self.result['ok'] = True
            self.result['bound_jid'] = str(self.boundjid)
            self.result['stream_id'] = getattr(self, 'stream_id', None)
            sock = self.transport.get_extra_info('sockname') if self.transport else None
            self.result['local'] = '%s:%d' % sock[:2] if sock else None
            self._finish()

        def _fail_auth(self, _event):
            self.result['error'] = 'authentication failed'
            self._finish()

        def _conn_failed(self, event):
            self.result['error'] = 'connection failed: %s' % (event,)
            self._finish()

        def _disconnected(self, event):
            self.ends.append('disconnected: %s' % (event,))
            if not self.result['ok']:
                self.result['error'] = self.result['error'] or 'disconnected: %s' % (event,)
            self._finish()

        def _stream_error(self, err):
            self.result['error'] = 'stream error: %s' % (err['condition'],)
            self.ends.append('stream error: %s' % (err['condition'],))

        def _message(self, msg):
            if msg['type'] in ('chat', 'normal'):
                self.received.append(str(msg['body']))

        def start(self):
            self.connect(address=(HOST, PORT), use_ssl=False,
                         force_starttls=False, disable_starttls=True)

    return Client()


async def login(jid, password):
    c = make_client(jid, password)
    c.start()
    try:
        await asyncio.wait_for(asyncio.shield(c.done), TIMEOUT)
    except asyncio.TimeoutError:
        c.result['error'] = 'timeout after %gs' % TIMEOUT
    return c


async def logout(clients):
    waits = []
    for c in clients:
        if c.result.get('ok'):
            c.disconnect()
            waits.append(c.disconnected)
        else:
            c.abort()
    if waits:
        try:
            await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), TIMEOUT)
        except asyncio.TimeoutError:
            pass
    for c in clients:
        try:
            c.abort()
        except Exception:
            pass


async def cmd_login(a):
    c = await login(a.jid, a.password)
    write_out(a.out, c.result)
    await logout([c])
    return 0 if c.result['ok'] else 1


async def cmd_message(a):
    sender, receiver = await asyncio.gather(login(a.jid, a.password), login(a.to, a.to_password))
    res = {'ok': False, 'sender': sender.result, 'receiver': receiver.result, 'error': None}
    if sender.result['ok'] and receiver.result['ok']:
        receiver.send_presence()
        await asyncio.sleep(0.3)
        token = 'systemd-test-%d' % os.getpid()
        sender.send_message(mto=receiver.result['bound_jid'], mbody=token, mtype='chat')
        deadline = time.monotonic() + TIMEOUT
        while token not in receiver.received and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        res['ok'] = token in receiver.received
        if not res['ok']:
            res['error'] = 'message not received within %gs' % TIMEOUT
    else:
        res['error'] = 'login failed'
    write_out(a.out, res)
    await logout([sender, receiver])
    return 0 if res['ok'] else 1


def ws_exchange(a, bob_jid, bob):
    """Alice's side of ws-message, blocking (run in a thread): host-meta,
    login over WebSocket, one message each way with Bob."""
    import socket
    import xml.etree.ElementTree as ET
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'proto'))
    import wsclient
    res = {}
    sock = socket.create_connection((HOST, WEB_PORT), timeout=TIMEOUT)
    sock.sendall(b'GET /.well-known/host-meta HTTP/1.1\r\nHost: localhost:5280\r\n\r\n')
    status, _, body = wsclient.http_answer(sock)
    while True:
        got = sock.recv(4096)
        if not got:
            break
        body += got
    sock.close()
    res['host_meta'] = [status, [l.get('href') for l in ET.fromstring(body)]]
    ws, full = wsclient.login(WEB_PORT, a.jid, a.password, host=HOST, timeout=TIMEOUT)
    res['ws_jid'] = full
    ws.send("<presence xmlns='jabber:client'/>")
    token = 'ws-systemd-%d' % os.getpid()
    ws.send("<message xmlns='jabber:client' type='chat' to='%s'><body>%s</body></message>"
            % (bob_jid, token))
    deadline = time.monotonic() + TIMEOUT
    while token not in bob.received and time.monotonic() < deadline:
        time.sleep(0.05)
    res['to_tcp'] = token in bob.received
    bob.send_message(mto=full, mbody=token + '-back', mtype='chat')
    el = ws.until(lambda e: e.tag == '{jabber:client}message' and
                  e.findtext('{jabber:client}body') == token + '-back', timeout=TIMEOUT)
    res['to_ws'] = el is not None
    ws.send(wsclient.CLOSE)
    ws.close()
    return res


def upload_roundtrip(put, get):
    """PUT random bytes to the slot's URL, GET them back: both statuses
    and whether the bytes are the same."""
    import http.client
    import urllib.parse
    data = os.urandom(100 * 1024 + 3)

    def call(method, url, body=None):
        u = urllib.parse.urlsplit(url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        c.request(method, u.path + ('?' + u.query if u.query else ''), body=body,
                  headers={'Content-Type': 'application/octet-stream'} if body else {})
        r = c.getresponse()
        got = r.read()
        c.close()
        return r.status, got

    put_status, _ = call('PUT', put, data)
    get_status, got = call('GET', get)
    return {'put': put_status, 'get': get_status, 'same': got == data}


async def request_slot(client):
    """A slot for 100 KiB + 3 on upload.localhost, as (put, get) URLs."""
    import xml.etree.ElementTree as ET
    iq = client.Iq(stype='get', sto='upload.localhost')
    iq.append(ET.fromstring("<request xmlns='urn:xmpp:http:upload:0' filename='systemd.bin' "
                            "size='%d' content-type='application/octet-stream'/>" % (100 * 1024 + 3)))
    res = await iq.send(timeout=TIMEOUT)
    slot = res.xml.find('{urn:xmpp:http:upload:0}slot')
    return (slot.find('{urn:xmpp:http:upload:0}put').get('url'),
            slot.find('{urn:xmpp:http:upload:0}get').get('url'))


async def cmd_ws_message(a):
    bob = await login(a.to, a.to_password)
    res = {'ok': False, 'receiver': bob.result, 'error': None}
    if bob.result['ok']:
        bob.send_presence()
        try:
            res.update(await asyncio.to_thread(ws_exchange, a, bob.result['bound_jid'], bob))
            put, get = await request_slot(bob)
            res['upload'] = await asyncio.to_thread(upload_roundtrip, put, get)
            res['ok'] = res['to_tcp'] and res['to_ws'] and res['host_meta'] == [
                'HTTP/1.1 200 OK', ['ws://localhost:5280/xmpp-websocket',
                                    'http://localhost:5280/http-bind']] and \
                res['upload'] == {'put': 201, 'get': 200, 'same': True}
        except Exception as e:      # an assertion of wsclient, a timeout, EOF
            res['error'] = '%s: %s' % (type(e).__name__, e)
    else:
        res['error'] = 'TCP login failed'
    write_out(a.out, res)
    await logout([bob])
    return 0 if res['ok'] else 1


async def cmd_hold_slix(a):
    jids = [a.jid_format.format(i) for i in range(1, a.count + 1)]
    clients = await asyncio.gather(*(login(j, a.password) for j in jids))
    ok = [c for c in clients if c.result['ok']]
    write_out(a.out, {'count': a.count, 'ok': len(ok),
                      'failed': [c.result for c in clients if not c.result['ok']]})
    released = await wait_release(a.release)
    await logout(clients)
    return 0 if released and len(ok) == a.count else 1


async def raw_one(i):
    r = {'i': i, 'served': False, 'received': '', 'local': None, 'error': None}
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), TIMEOUT)
    except (OSError, asyncio.TimeoutError) as e:
        r['error'] = 'connect: %r' % (e,)
        return r, None
    sock = writer.get_extra_info('sockname')
    r['local'] = '%s:%d' % sock[:2]
    buf = b''
    try:
        writer.write(HEADER.encode())
        await writer.drain()
        deadline = time.monotonic() + TIMEOUT
        while b'</stream:features>' not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                r['error'] = 'timeout waiting for features'
                break
            chunk = await asyncio.wait_for(reader.read(65536), left)
            if not chunk:
                r['error'] = 'EOF before features'
                break
            buf += chunk
    except (OSError, asyncio.TimeoutError) as e:
        r['error'] = 'read: %r' % (e,)
    r['received'] = buf.decode('utf-8', 'replace')
    r['served'] = (b'</stream:features>' in buf)
    return r, writer


async def cmd_hold_raw(a):
    pairs = await asyncio.gather(*(raw_one(i) for i in range(a.count)))
    results = [p[0] for p in pairs]
    served = sum(1 for r in results if r['served'])
    write_out(a.out, {'count': a.count, 'served': served, 'conns': results})
    released = await wait_release(a.release)
    for _, w in pairs:
        if w is None:
            continue
        try:
            w.write(b'</stream:stream>')
            await asyncio.wait_for(w.drain(), 2)
        except Exception:
            pass
        w.close()
    for _, w in pairs:
        if w is None:
            continue
        try:
            await asyncio.wait_for(w.wait_closed(), 2)
        except Exception:
            pass
    return 0 if released else 1


async def cmd_burst(a):
    """Open and at once close COUNT connections, PARALLEL at a time, as fast
    as possible: many activations of the socket unit in a short time."""
    sem = asyncio.Semaphore(a.parallel)
    errors = {}
    done = 0

    async def one():
        nonlocal done
        async with sem:
            try:
                _, w = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), TIMEOUT)
                w.close()
                done += 1
            except (OSError, asyncio.TimeoutError) as e:
                k = type(e).__name__
                errors[k] = errors.get(k, 0) + 1

    t0 = time.monotonic()
    await asyncio.gather(*(one() for _ in range(a.count)))
    res = {'count': a.count, 'connected': done, 'errors': errors,
           'seconds': round(time.monotonic() - t0, 3)}
    write_out(a.out, res)
    return 0


async def cmd_upgrade(a):
    def step(name):
        return os.path.join(a.dir, name)

    async def wait_ends(clients):
        deadline = time.monotonic() + TIMEOUT
        while (any(not any(e.startswith('disconnected') for e in c.ends) for c in clients)
               and time.monotonic() < deadline):
            await asyncio.sleep(0.05)

    async def log_in(jids):
        clients = await asyncio.gather(*(login(j, a.password) for j in jids))
        for c in clients:
            if c.result['ok']:
                c.send_presence()
        await asyncio.sleep(0.3)
        return list(clients)

    def ends(clients):
        return {c.result['jid']: c.ends for c in clients}

    old = await log_in(a.old)
    ok = all(c.result['ok'] for c in old)
    write_out(step('old.json'), {'ok': ok, 'clients': [c.result for c in old]})
    if not ok or not await wait_release(step('installed')):
        await logout(old)
        return 1
    new = await log_in(a.new)
    ok = all(c.result['ok'] for c in new)
    write_out(step('new.json'), {'ok': ok, 'clients': [c.result for c in new],
                                 'ends': ends(old)})
    if not ok or not await wait_release(step('talk')):
        await logout(old + new)
        return 1
    everyone = old + new
    sent = []
    for s in everyone:
        for r in everyone:
            if r is not s:
                token = 'upgrade-test %s -> %s' % (s.result['jid'], r.result['jid'])
                s.send_message(mto=r.result['bound_jid'], mbody=token, mtype='chat')
                sent.append((token, r))
    deadline = time.monotonic() + TIMEOUT
    while (any(t not in r.received for t, r in sent) and time.monotonic() < deadline):
        await asyncio.sleep(0.05)
    got = {t: t in r.received for t, r in sent}
    seen = ends(everyone)
    write_out(step('talk.json'), {'ok': all(got.values()) and not any(seen.values()),
                                  'delivered': sum(got.values()), 'sent': len(got),
                                  'missing': [t for t, v in got.items() if not v],
                                  'ends': seen})
    if not await wait_release(step('logout')):
        await logout(everyone)
        return 1
    for c in old:
        c.disconnect()
    await wait_ends(old)
    write_out(step('logout.json'), {'ends': ends(old)})
    await wait_ends(new)
    write_out(step('end.json'), {'ends': ends(new)})
    for c in everyone:
        c.abort()
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('login')
    s.add_argument('--jid', required=True)
    s.add_argument('--password', required=True)
    s.add_argument('--out')
    s = sub.add_parser('message')
    s.add_argument('--jid', required=True)
    s.add_argument('--password', required=True)
    s.add_argument('--to', required=True)
    s.add_argument('--to-password', required=True)
    s.add_argument('--out')
    s = sub.add_parser('ws-message')
    s.add_argument('--jid', required=True)
    s.add_argument('--password', required=True)
    s.add_argument('--to', required=True)
    s.add_argument('--to-password', required=True)
    s.add_argument('--out')
    s = sub.add_parser('hold-slix')
    s.add_argument('--jid-format', required=True)
    s.add_argument('--count', type=int, required=True)
    s.add_argument('--password', required=True)
    s.add_argument('--out', required=True)
    s.add_argument('--release', required=True)
    s = sub.add_parser('hold-raw')
    s.add_argument('--count', type=int, required=True)
    s.add_argument('--out', required=True)
    s.add_argument('--release', required=True)
    s = sub.add_parser('burst')
    s.add_argument('--count', type=int, required=True)
    s.add_argument('--parallel', type=int, default=50)
    s.add_argument('--out')
    s = sub.add_parser('upgrade')
    s.add_argument('--old', action='append', required=True)
    s.add_argument('--new', action='append', required=True)
    s.add_argument('--password', required=True)
    s.add_argument('--dir', required=True)
    a = p.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    fn = {'login': cmd_login, 'message': cmd_message, 'ws-message': cmd_ws_message,
          'hold-slix': cmd_hold_slix, 'hold-raw': cmd_hold_raw, 'burst': cmd_burst,
          'upgrade': cmd_upgrade}[a.cmd]
    return asyncio.run(fn(a))


if __name__ == '__main__':
    sys.exit(main())
