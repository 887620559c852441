"""xmpp-listen: one listener process accepting on a socket passed as
systemd does with Accept=no, spawning one xmpp-handler per connection.

Shown here: handlers spawned this way serve logins and messages; the
listener's admission limits (-l handlers in their login phase, -m handlers
at all, -s per client address) hold connections in the listen backlog or
refuse them, and release them as soon as a login ends; handlers outlive the
listener (a restart costs no session); a killed handler is reaped and
logged, not left a zombie.
"""
import os
import signal
import subprocess

import pytest

from harness import BUILD, wait_until
from im_helpers import PW, body_is, is_, raw_login, raw_wait

HELD = 1.5          # seconds a held connection must see nothing


def alice_bob(server):
    server.adduser('alice@localhost', PW)
    server.adduser('bob@localhost', PW)


def header_within(raw, seconds):
    """True if the stream header arrives within seconds, False if nothing."""
    try:
        ev, _ = raw.next(timeout=seconds)
    except AssertionError:
        return False
    assert ev == 'header', ev
    return True


def chat(a, b, b_full, text):
    a.send("<message to='%s' type='chat'><body>%s</body></message>" % (b_full, text))
    raw_wait(b, body_is(text))


def test_login_and_messages_through_the_listener(server_factory):
    s = server_factory(listen=[])
    alice_bob(s)
    a, a_full = raw_login(s, 'alice@localhost')
    b, b_full = raw_login(s, 'bob@localhost')
    chat(a, b, b_full, 'hello bob')
    chat(b, a, a_full, 'hello alice')
    listener = s.listeners[0].pid
    assert len(s.handler_pids()) == 2, s.handler_pids()
    assert all(open('/proc/%d/stat' % p).read().split(') ')[1].split()[1] == str(listener)
               for p in s.handler_pids())


def test_login_phase_admission_holds_the_next_connection(server_factory):
    s = server_factory(listen=['-l', '1'])
    alice_bob(s)
    first = s.raw()
    first.open(s.domain)                    # in its login phase, holding the one slot
    second = s.raw()                        # accepted by the kernel, not by the listener
    second.send("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
                "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
    assert not header_within(second, HELD), 'admitted while another login was under way'
    # A login that ends (here the client leaves) frees the slot ...
    first.close()
    assert header_within(second, 5), 'not admitted after the first login ended'
    second.close()
    # ... and so does one that succeeds: bob logs in while alice is bound.
    a, a_full = raw_login(s, 'alice@localhost')
    b, b_full = raw_login(s, 'bob@localhost')
    chat(a, b, b_full, 'after admission')


def test_connection_limit_holds_until_one_ends(server_factory):
    s = server_factory(listen=['-m', '2'])
    alice_bob(s)
    a, _ = raw_login(s, 'alice@localhost')
    b, b_full = raw_login(s, 'bob@localhost', resource='one')
    third = s.raw()
    third.send("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
               "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
    assert not header_within(third, HELD), 'a third handler ran with -m 2'
    a.send('</stream:stream>')
    assert header_within(third, 5), 'not admitted after a session ended'


def test_per_address_limit_refuses(server_factory):
    s = server_factory(listen=['-s', '1'])
    alice_bob(s)
    a, _ = raw_login(s, 'alice@localhost')
    extra = s.raw()
    extra.send("<?xml version='1.0'?>")
    ev, _ = extra.next(timeout=5)
    assert ev == 'closed', ev
    wait_until(lambda: 'refusing 127.0.0.1' in s.log(), what='the refusal logged')
    a.send('</stream:stream>')
    wait_until(lambda: not s.handler_pids(), what='alice\'s handler to end')
    again, _ = raw_login(s, 'bob@localhost')       # the address's slot is free again


def test_sessions_outlive_the_listener(server_factory):
    s = server_factory(listen=[])
    alice_bob(s)
    a, a_full = raw_login(s, 'alice@localhost')
    b, b_full = raw_login(s, 'bob@localhost')
    handlers = s.handler_pids()
    listener = s.listeners[0]
    listener.send_signal(signal.SIGTERM)
    listener.wait(10)
    wait_until(lambda: 'stopping on signal 15; 2 handlers keep running' in s.log(),
               what='the listener to say it stops')
    assert all(os.path.exists('/proc/%d' % p) for p in handlers)
    chat(a, b, b_full, 'still here')
    chat(b, a, a_full, 'me too')
    for r in (a, b):
        r.send('</stream:stream>')
    # Orphans now: wait for them by PID (the harness finds handlers through
    # their listener, which is gone).
    wait_until(lambda: not any(os.path.exists('/proc/%d/exe' % p) for p in handlers),
               what='the handlers to end')


def zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ')[1].split()[0] == 'Z'
    except OSError:
        return False


def test_killed_handler_is_reaped_and_logged(server_factory):
    s = server_factory(listen=[])
    alice_bob(s)
    a, _ = raw_login(s, 'alice@localhost')
    pid, = s.handler_pids()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: s.handler_exits().get(pid) == signal.SIGKILL,
               what='the listener to log the kill')
    assert not zombie(pid) and not os.path.exists('/proc/%d' % pid)
    b, _ = raw_login(s, 'bob@localhost')            # still serving


@pytest.mark.parametrize('args', [['-l', '0'], ['-m', 'x'], ['relative/handler']])
def test_bad_arguments_are_refused(args):
    p = subprocess.run([str(BUILD / 'xmpp-listen')] + args, capture_output=True, timeout=10)
    assert p.returncode == 100, (p.returncode, p.stderr)
