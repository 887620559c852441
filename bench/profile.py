#!/usr/bin/python3
"""profile.py - where xmppd's time and memory go on the login path.

    python3 bench/profile.py            (after make and sh bench/run.sh built xmppload)

Starts xmppd as bench.py does (own Redis, systemd-socket-activate on a
free port), then:
  1. Redis commands per login+logout, per message, and per message with
     stream management (INFO commandstats);
  2. the system calls of one handler for one login+logout (strace -f);
  3. perf record of every handler during PROFILE_N PLAIN logins, then
     during 3 s of messages, then 3 s of messages with XEP-0198 stream
     management (a second listener started under perf, so that
     nothing else on this shared machine is sampled), summed by kind of
     work (self time);
  4. the private memory of one idle handler, by mapping (smaps).
Needs perf and strace (Debian: linux-perf, strace). PROFILE_N [1000].
Everything started here is stopped by PID.
"""
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
N = int(os.environ.get("PROFILE_N", "1000"))
# Every login below must name an existing account: failures would trip
# the handler's failed-login blocking for 127.0.0.1.
os.environ["BENCH_SCENARIOS"] = "login messages"
os.environ["LOGIN_N"] = str(max(N, 500))
os.environ["IDLE_N"] = "10"
os.environ["MSG_P"] = "10"
import bench  # noqa: E402

PERF_N = N


def load(server, *args, port=None):
    cmd = [str(bench.LOAD)] + list(args) + ["-p", str(port or server.port), "-l", "xmppd"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    lines = [l for l in out.splitlines() if l.startswith("scenario=")]
    return bench.parse_line(lines[-1]) if lines else {}


def commandstats(x):
    out = x.redis_cli("info", "commandstats").stdout.decode()
    stats = {}
    for m in re.finditer(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", out):
        stats[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return stats


def redis_per(x, what, n, fn):
    x.redis_cli("config", "resetstat")
    r = fn()
    x.settle()
    n = n(r) if callable(n) else n
    st = commandstats(x)
    print("\n== Redis commands per %s (%d %ss; inside Lua scripts counted too)" % (what, n, what))
    tot_us = 0
    for k, (calls, us) in sorted(st.items(), key=lambda kv: -kv[1][0]):
        if k.startswith("config"):
            continue
        tot_us += us
        print("  %-14s %6.2f   (%.1f us each)" % (k, calls / n, us / max(1, calls)))
    print("  Redis CPU in commands: %.1f us per %s" % (tot_us / n, what))


def listener_under(x, wrapper, port):
    return subprocess.Popen(wrapper + ["systemd-socket-activate", "--inetd", "-a", "-l", "127.0.0.1:%d" % port,
                                       "-E", "XMPP_CONFIG=" + x.conf, str(bench.BUILD / "xmpp-handler")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_wrapped(p):
    """Stop the listener inside a wrapper (perf, strace) so the wrapper writes its output."""
    for k in bench.children(p.pid):
        os.kill(k, signal.SIGINT)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()


def strace_one(x):
    d = tempfile.mkdtemp(prefix="xb-s-")
    out = os.path.join(d, "strace.txt")
    port = bench.free_port()
    p = listener_under(x, ["strace", "-f", "-o", out], port)
    bench.wait_for(lambda: bench.port_open(port), 10, "strace listener")
    load(x, "login", "-n", "1", "-f", "3", port=port)
    time.sleep(1)
    stop_wrapped(p)
    lines = open(out).read().splitlines()
    # the handler that served the login (the listener's readiness probe
    # started one too): the one with the most system calls
    pids = {l.split()[0] for l in lines if "execve(\"%s" % bench.BUILD in l}
    count = collections.Counter(l.split()[0] for l in lines if l.split() and l.split()[0] in pids)
    pid = count.most_common(1)[0][0] if count else None
    mine = [l for l in lines if pid and l.split()[0] == pid and "resumed>" not in l]
    start = next((i for i, l in enumerate(mine) if "execve(" in l), 0)
    calls = collections.Counter(re.match(r"\S+\s+(\w+)", l).group(1) for l in mine[start:] if re.match(r"\S+\s+\w+\(", l))
    files = [re.search(r'"([^"]+)"', l).group(1) for l in mine[start:] if "openat(" in l and "= -1" not in l]
    redis = [l for l in mine[start:] if re.match(r"\S+\s+write\([34],", l)]
    redis_writes = len(redis)
    names = []
    for l in redis:
        m = re.search(r'write\((\d+), "\*\d+\\r\\n\$\d+\\r\\n([A-Za-z]+)', l)
        names.append(("%s%s" % (m.group(2), "" if m.group(1) == "3" else "(sub)")) if m else "?")
    print("\n== one handler, one PLAIN login + logout: %d system calls after execve" % sum(calls.values()))
    print("  " + ", ".join("%s %d" % kv for kv in calls.most_common(14)))
    print("  files opened: " + ", ".join(files))
    print("  requests written to Redis (round trips): %d: %s" % (redis_writes, " ".join(names)))
    bench.rmtree(d)


RULES = [
    ("user: password hashing (PBKDF2, SHA, HMAC)", r"sha1|sha256|sha_|SHA|hmac|HMAC|pbkdf2|PKCS5|nettle_|_nettle|memxor|OPENSSL_cleanse|EVP_MD|EVP_Digest"),
    ("user: OpenSSL set-up/teardown (names, providers, config, errors, RNG)",
     r"OPENSSL_|ossl_|OBJ_|EVP_|CRYPTO_|ERR_|getrn|do_name|sa_doall|lh_|CONF|conf_|provider|evp_|err_|obj_|RAND|rand_|drbg|ENGINE|namenum|alg_cleanup|def_load_bio"),
    ("user: malloc/free", r"malloc|_int_free|cfree|calloc|realloc|free\b|tcache"),
    ("user: libidn stringprep", r"stringprep|idn|punycode|nfkc"),
    ("user: expat", r"XML_|doContent|contentProcessor|little2_|normal_|storeAtts|poolGrow|doProlog|epilog"),
    ("user: hiredis", r"sds|redis|createReply|processItem|processBulk|processMultiBulk"),
]
KRULES = [
    # first: finish_task_switch and the irqrestore of a wake-up are where a
    # clock-sampled profile (no PMU in this VM) lands after a context switch
    ("kernel: context switches, wake-ups", r"schedule|finish_task_switch|ttwu|wake|enqueue|dequeue|pick_next|update_curr|raw_spin"),
    ("kernel: process start, page faults, exit", r"page|fault|mmap|munmap|vma|pte|pmd|folio|elf|exec|exit|pgtables|anon|mm_|tlb|clear_page|zap|lru|memcg|filemap|rmap|mas_|mt_|do_wp|lock_vma|release_pages|free_unref|pcp|mprotect|brk|fork|copy_process|dup_|cred|wp_page|shmem|vm_|kmem_cache|slab|kfree"),
    ("kernel: sockets, syscalls", r"tcp|ip_|sock|skb|unix|net_|napi|dev_|inet|poll|syscall|entry|copy_|fdget|fput|vfs|ksys|read|write|softirq|irq|check_object"),
]


def perf_run(x, title, args):
    d = tempfile.mkdtemp(prefix="xb-perf-")
    data = os.path.join(d, "perf.data")
    port = bench.free_port()
    p = listener_under(x, ["perf", "record", "-q", "-F", "4999", "-o", data, "--"], port)
    bench.wait_for(lambda: bench.port_open(port), 10, "perf listener")
    r = load(x, *args, port=port)
    time.sleep(1)
    stop_wrapped(p)
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "comm,dso,sym", "-q",
                          "-g", "none"], capture_output=True, text=True).stdout
    cats = collections.Counter()
    other = collections.Counter()
    for line in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        pct, comm, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5).strip()
        if comm != "xmpp-handler":
            cats["before exec: systemd-socket-activate and its forked child"] += pct
            continue
        key = None
        if kind == "k":
            key = next((n for n, rx in KRULES if re.search(rx, sym)), "kernel: other")
        elif dso.startswith("ld-linux"):
            key = "user: dynamic loader (ld.so)"
        else:
            key = next((n for n, rx in RULES if re.search(rx, sym)), None)
            if not key:
                key = "user: other"
                other[sym] += pct
        cats[key] += pct
    print("\n== perf: %s (%s/s under perf); CPU samples of the handlers by kind (Redis not included)" % (
        title % r, r.get("rate")))
    for k, v in cats.most_common():
        print("  %5.1f%%  %s" % (v, k))
    print("  largest 'user: other': " + ", ".join("%s %.1f%%" % kv for kv in other.most_common(8)))
    bench.rmtree(d)


def memory_one(x):
    loader, _ = bench.hold(x, 5, 1)
    try:
        time.sleep(1)
        h = bench.children(x.sa.pid)
        if not h:
            return
        pid = h[0]
        rows = collections.Counter()
        name = None
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    parts = line.split()
                    name = parts[5] if len(parts) > 5 else "[anonymous]"
                    name = os.path.basename(name) if name.startswith("/") else name
                    name += " " + parts[1]
                elif line.startswith("Private_Dirty:"):
                    rows[name] += int(line.split()[1])
        st = open("/proc/%d/status" % pid).read()
        pte = re.search(r"VmPTE:\s+(\d+)", st).group(1)
        print("\n== one idle handler: private dirty memory by mapping (KiB), total %d; page tables %s KiB" % (
            sum(rows.values()), pte))
        for k, v in rows.most_common(8):
            if v:
                print("  %6d  %s" % (v, k))
    finally:
        bench.release(loader)


def main():
    for tool in ("perf", "strace"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            sys.exit("profile.py: %s is missing" % tool)
    work = tempfile.mkdtemp(prefix="xb-w-")
    x = bench.Xmppd(work)
    try:
        x.start(bench.users())
        redis_per(x, "login", 500, lambda: load(x, "login", "-n", "500", "-c", "20"))
        redis_per(x, "message", lambda r: max(1, int(r.get("received", 1))),
                  lambda: load(x, "messages", "-P", "10", "-W", "10", "-T", "3", "-D", "2"))
        redis_per(x, "message with stream management", lambda r: max(1, int(r.get("received", 1))),
                  lambda: load(x, "sm", "-P", "10", "-W", "10", "-T", "3", "-D", "2"))
        strace_one(x)
        memory_one(x)
        perf_run(x, "%(ok)s PLAIN logins, C=20", ["login", "-n", str(PERF_N), "-c", "20"])
        perf_run(x, "%(received)s messages, 10 pairs, window 10",
                 ["messages", "-P", "10", "-W", "10", "-T", "3", "-D", "2"])
        perf_run(x, "%(received)s messages with stream management, 10 pairs, window 10",
                 ["sm", "-P", "10", "-W", "10", "-T", "3", "-D", "2"])
    finally:
        x.stop()
        bench.rmtree(work)


if __name__ == "__main__":
    main()
