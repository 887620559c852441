"""The scripts as a set: their text and SHA-1 as embedded, the one reply
shape, the read-only flag, and the session record helper lib/record.lua."""
import re
import subprocess

import pytest

from lua_harness import EMBED, LUA, NOW, RedisError, rec, script, scripts


def test_every_script_is_tested():
    """A new script needs tests here: this list is the reminder."""
    assert scripts() == [
        "account_create", "authfail_record", "bcast", "bcast_hold", "blocking_set",
        "bosh_claim", "bosh_fed",
        "bosh_record",
        "carbons_set", "clients_seen", "fast_cas", "invite_check", "invite_take",
        "mam_add", "mam_prefs_set", "mam_query", "muc_aff_set", "muc_config_set",
        "muc_destroy", "muc_info", "muc_invite", "muc_join", "muc_leave", "muc_list",
        "muc_mam_query", "muc_message", "muc_nick", "muc_occupant", "muc_people", "muc_ping",
        "muc_private", "muc_remote_add", "muc_remote_sync", "muc_role_set", "muc_subject", "offline_move",
        "pep_configure",
        "pep_items",
        "pep_publish", "pep_purge", "pep_retract", "presence_get",
        "private_set", "push_enable", "push_note", "registration_count", "roster_remove",
        "roster_set", "roster_sub", "route_stanza",
        "s2s_idle", "s2s_lease", "s2s_queue", "s2s_verify_ask",
        "server_secret", "session_reap", "session_register", "session_unregister",
        "session_update", "sm_adopt", "sm_enable", "sm_end", "sm_resume", "sm_sync",
        "upload_commit", "upload_reserve"]


def test_embedded_sha_is_what_redis_computes(r):
    """The SHA-1 in the programs (EVALSHA) is Redis's own for the text it
    loads: the assembled text, includes and a "#!lua" first line with it."""
    files = [str(LUA / (n + ".lua")) for n in scripts()]
    c = subprocess.run(["sh", str(EMBED)] + files, check=True, capture_output=True,
                       text=True).stdout
    shas = dict(re.findall(r'const char lua_(\w+)_sha\[\] = "([0-9a-f]{40})";', c))
    assert sorted(shas) == scripts()
    for name in scripts():
        assert r("SCRIPT", "LOAD", script(name)) == shas[name], name
        # and the C string is that text, line for line
        body = c[c.index("const char lua_%s[] =\n" % name):].split(";\n", 1)[0]
        lines = re.findall(r'^"(.*)\\n"$', body, re.M)
        text = "\n".join(l.replace('\\"', '"').replace("\\\\", "\\") for l in lines) + "\n"
        assert text == script(name), name


def test_includes_are_replaced():
    for name in ("session_register", "session_unregister", "session_update",
                 "presence_get", "route_stanza"):
        text = script(name)
        assert not re.search(r"^-- include: ", text, re.M)
        assert "local function record_get" in text, name
    for name in ("sm_sync", "sm_adopt"):
        text = script(name)
        assert not re.search(r"^-- include: ", text, re.M)
        # lib/sm.lua needs lib/record.lua: it comes first
        assert 0 < text.index("local function record_set") < \
            text.index("local function sm_detach_record"), name


def test_missing_include_fails(tmp_path):
    bad = tmp_path / "bad.lua"
    bad.write_text("-- include: lib/nothing.lua\nreturn { 'x' }\n")
    p = subprocess.run(["sh", str(EMBED), "-a", str(bad)], capture_output=True, text=True)
    assert p.returncode != 0 and "cannot include" in p.stderr
    p = subprocess.run(["sh", str(EMBED), str(bad)], capture_output=True, text=True)
    assert p.returncode != 0


def test_only_readers_are_read_only():
    flagged = [n for n in scripts() if script(n).startswith("#!lua flags=no-writes\n")]
    assert flagged == ["muc_info", "muc_list", "muc_occupant", "muc_people", "muc_ping",
                       "pep_items", "presence_get"]
    for n in scripts():
        assert not script(n).startswith("#!") or n in flagged, n


def test_no_writes_flag_is_honoured(r):
    """With writes refused (no replica for min-replicas-to-write), Redis
    still runs presence_get because of its flag, and would not without."""
    text = script("presence_get")
    unflagged = "#!lua\n" + text.split("\n", 1)[1]
    r("CONFIG", "SET", "min-replicas-to-write", "1")
    try:
        assert r("EVAL", text, 0, NOW, 90) == ["presence"]
        with pytest.raises(RedisError, match="NOREPLICAS"):
            r("EVAL", unflagged, 0, NOW, 90)
    finally:
        r("CONFIG", "SET", "min-replicas-to-write", "0")
    # and a write inside a no-writes script is refused
    with pytest.raises(RedisError, match="not allowed from read-only scripts"):
        r("EVAL", "#!lua flags=no-writes\nreturn redis.call('SET', 'x', '1')", 0)


# ---- lib/record.lua ----

def record(r, expr, *args):
    """Evaluate a Lua expression with lib/record.lua in scope (ARGV: args)."""
    lib = (LUA / "lib" / "record.lua").read_text()
    return r("EVAL", lib + "return " + expr, 0, *args)


def test_record_get(r):
    x = rec(id="abc", prio=-3, avail=1, host="h.example", pid=7, since=5, seen=9)
    assert record(r, "{ record_get(ARGV[1], 'id'), record_get(ARGV[1], 'prio'), "
                  "record_get(ARGV[1], 'host'), record_get(ARGV[1], 'seen') }", x) == \
        ["abc", "-3", "h.example", "9"]
    assert record(r, "record_get(ARGV[1], 'nothing')", x) is None
    # fields are found at their boundary: "id=" is not inside "pid="
    assert record(r, "record_get(ARGV[1], 'id')", "pid=7 id=x") == "x"
    assert record(r, "record_get(ARGV[1], 'id')", "pid=7") is None


def test_record_num(r):
    assert record(r, "record_num(ARGV[1], 'prio', 99)", rec(prio=-5)) == -5
    assert record(r, "record_num(ARGV[1], 'prio', 99)", "id=x prio=abc") == 99
    assert record(r, "record_num(ARGV[1], 'prio', 99)", "id=x") == 99


def test_record_set(r):
    x = rec(id="a", seen=1)
    assert record(r, "record_set(ARGV[1], 'seen', ARGV[2])", x, "1234") == rec(id="a", seen=1234)
    assert record(r, "record_set(ARGV[1], 'id', ARGV[2])", x, "b") == rec(id="b", seen=1)
    # a replacement is taken as it is ('%' is no pattern escape here)
    assert record(r, "record_set(ARGV[1], 'host', ARGV[2])", x, "%1") == \
        x.replace("host=h1", "host=%1")
    # a field the record lacks is not added
    assert record(r, "record_set(ARGV[1], 'nothing', '1')", x) == x


def test_record_live_and_avail(r):
    assert record(r, "record_live(ARGV[1], %d, 90) and 1 or 0" % NOW, rec(seen=NOW - 90)) == 1
    assert record(r, "record_live(ARGV[1], %d, 90) and 1 or 0" % NOW, rec(seen=NOW - 91)) == 0
    assert record(r, "record_live(ARGV[1], %d, 90) and 1 or 0" % NOW, "id=x") == 0
    assert record(r, "record_avail(ARGV[1]) and 1 or 0", rec(avail=1)) == 1
    assert record(r, "record_avail(ARGV[1]) and 1 or 0", rec(avail=0)) == 0


def test_record_live_detached(r):
    """A detached session (det > 0) lives until det, however old its seen;
    det=0 or no det at all is an attached one, alive by seen and ttl."""
    live = "record_live(ARGV[1], %d, 90) and 1 or 0" % NOW
    assert record(r, live, rec(seen=NOW - 1000, det=NOW + 1)) == 1
    assert record(r, live, rec(seen=NOW, det=NOW)) == 0
    assert record(r, live, rec(seen=NOW, det=NOW - 1)) == 0
    assert record(r, live, rec(seen=NOW - 90, det=0)) == 1
    assert record(r, live, rec(seen=NOW - 91, det=0)) == 0
    old = "id=x prio=0 avail=1 host=h pid=1 since=%d seen=%d" % (NOW, NOW - 90)
    assert record(r, live, old) == 1
    assert record(r, live, old.replace("seen=%d" % (NOW - 90), "seen=%d" % (NOW - 91))) == 0


def test_record_detached(r):
    det = "record_detached(ARGV[1]) and 1 or 0"
    assert record(r, det, rec(det=NOW + 5)) == 1
    assert record(r, det, rec(det=1)) == 1
    assert record(r, det, rec(det=0)) == 0
    assert record(r, det, "id=x pid=1 seen=5") == 0
    assert record(r, det, "id=x det=abc") == 0
    # "det=" is found at its boundary, not inside another field's name
    assert record(r, det, "id=x undet=5 det=0") == 0


def test_expiry_member(r):
    assert record(r, "expiry_member('s1', 'a@x', 'r/1')") == "s1 a@x/r/1"
