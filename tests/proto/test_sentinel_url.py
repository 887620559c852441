"""The sentinel:// form of the redis URL (xmpp.conf(5)), as xmppctl reads
it: refused when malformed, each sentinel tried in turn, and both
passwords masked in what it prints."""
import os
import subprocess

import pytest

from harness import BUILD, SAN_ENV, free_port


def ctl(tmp_path, url, *args):
    conf = tmp_path / "xmpp.conf"
    conf.write_text("domain = localhost\nredis = %s\nredis_timeout_ms = 500\n" % url)
    return subprocess.run([str(BUILD / "xmppctl"), "-c", str(conf)] + list(args) + ["users"],
                          capture_output=True, text=True, timeout=30, env=SAN_ENV)


@pytest.mark.parametrize("url", [
    "sentinel://127.0.0.1:26379",                    # no name
    "sentinel://127.0.0.1:26379/",                   # an empty name
    "sentinel:///mymaster",                          # no sentinel
    "sentinel://127.0.0.1:99999/mymaster",           # no such port
    "sentinel://127.0.0.1:26379/mymaster?user=x",    # an unknown option
    "sentinel://127.0.0.1:26379/mymaster?db=x",
    "sentinel://a,b,c,d,e,f,g,h,i/mymaster",         # more than 8 sentinels
])
def test_malformed_refused(tmp_path, url):
    p = ctl(tmp_path, url)
    assert p.returncode == 111, p
    assert "bad redis URL" in p.stderr, p.stderr


def test_every_sentinel_tried_passwords_masked(tmp_path):
    a, b = free_port(), free_port()       # nothing listens on either
    p = ctl(tmp_path, "sentinel://:sentinelpw@127.0.0.1:%d,127.0.0.1:%d/mymaster"
            "?password=redispw&db=2" % (a, b))
    assert p.returncode == 111, p
    assert "sentinelpw" not in p.stderr and "redispw" not in p.stderr, p.stderr
    assert ("sentinel://:***@127.0.0.1:%d,127.0.0.1:%d/mymaster?password=***&db=2"
            % (a, b)) in p.stderr, p.stderr
    # The last one's refusal is the reason given: the first was tried too.
    assert "connect sentinel 127.0.0.1:%d: Connection refused" % b in p.stderr, p.stderr
