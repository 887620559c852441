#!/usr/bin/python3
"""federation.py - `make bench`'s federation scenario: messages between
users of two domains, xmppd <-> xmppd beside Prosody <-> Prosody, on this
machine (bench/README.md, "federation").

Each pair of domains (a.test, c.test) runs in a network namespace of the
federation test harness (tests/proto/s2s_harness.py: a private CA,
dnsmasq with the SRV records, every server on its own address): for
xmppd, two deployments (each its own Redis; xmpp-handler, xmpp-s2s-in on
the SRV port, one xmpp-s2s-out dispatcher), certificates from the CA
(SASL EXTERNAL both ways); for Prosody, two Prosody 0.12 with the same
certificates (s2s_secure_auth).

P senders on a.test each send W messages to their own receiver on
c.test, all at once after one warm-up message each (which opens the
outbound streams); every body carries its send time. Measured: messages
delivered per second (first send to last arrival), latency p50/p99/max,
and lost (not arrived 30 s after the last send). The clients are
slixmpp in one process, the same for both servers: rates are relative.

Environment: FED_P senders [10], FED_W messages each [200], FED_RUNS
[3], FED_SERVERS [xmppd prosody]; XMPPD_BUILD the build to run [build].
Needs root (network namespaces). Prints one line per run and a table of
medians.
"""
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("XMPPD_BUILD", str(ROOT / "build"))
sys.path.insert(0, str(ROOT / "tests" / "proto"))

import im_helpers as H          # noqa: E402
from s2s_harness import PKI, Federation  # noqa: E402

P = int(os.environ.get("FED_P", "10"))
W = int(os.environ.get("FED_W", "200"))
RUNS = int(os.environ.get("FED_RUNS", "3"))
SERVERS = os.environ.get("FED_SERVERS", "xmppd prosody").split()
PW = "bench-pw"
DRAIN = 30.0


def log(msg):
    print("federation: " + msg, file=sys.stderr, flush=True)


def deploy(fed, kind):
    """Both domains of kind, started; (c2s address and port) per domain."""
    if kind == "prosody":
        for d in ("a.test", "c.test"):
            fed.prosody(d, secure_auth=True)
        fed.start()
        for d, prefix in (("a.test", "s"), ("c.test", "r")):
            for i in range(P):
                fed.servers[d].adduser("%s%d" % (prefix, i), PW)
        return {d: (p.addr, p.c2s_port) for d, p in fed.servers.items()}, []
    fed.start()
    where, outs = {}, []
    for d, prefix in (("a.test", "s"), ("c.test", "r")):
        crt, key = fed.pki.cert(d)
        x = fed.xmppd(d, listeners=2, s2s_listener=1, listener_progs=[None, "xmpp-s2s-in"],
                      s2s="yes", tls_cert=crt, tls_key=key, s2s_ca_file=fed.pki.ca_cert)
        for i in range(P):
            x.adduser("%s%d@%s" % (prefix, i, d), PW)
        outs.append(fed.popen([os.path.join(os.environ["XMPPD_BUILD"], "xmpp-s2s-out"), "-c",
                               x.conf_path], log=os.path.join(x.dir, "out.log")))
        where[d] = (x.host, x.port)
    return where, outs


async def load(where):
    senders = [H.IM("s%d@a.test/b" % i, PW) for i in range(P)]
    receivers = [H.IM("r%d@c.test/b" % i, PW) for i in range(P)]
    for c, d in [(s, "a.test") for s in senders] + [(r, "c.test") for r in receivers]:
        o = await c.login(where[d][1], host=where[d][0], timeout=20)
        assert o.session_started, o
    arrivals = []

    def record(msg):
        body = msg["body"]
        if body.startswith("t="):
            arrivals.append((time.monotonic(), float(body[2:].split()[0])))
    for r in receivers:
        r.xmpp.add_event_handler("message", record)
    # warm-up: one message each way opens the streams
    for s, r in zip(senders, receivers):
        s.xmpp.send_message(mto=r.full, mbody="warm", mtype="chat")
    for r in receivers:
        await r.wait1(H.body_is("warm"), timeout=30)
    first = time.monotonic()
    for k in range(W):
        for s, r in zip(senders, receivers):
            s.xmpp.send_message(mto=r.full, mbody="t=%.6f %d" % (time.monotonic(), k),
                                mtype="chat")
        if k % 20 == 19:
            await asyncio.sleep(0)          # let slixmpp write
    last_sent = time.monotonic()
    while len(arrivals) < P * W and time.monotonic() - last_sent < DRAIN:
        await asyncio.sleep(0.05)
    lat = sorted((a - t) * 1000 for a, t in arrivals)
    span = (max(a for a, _ in arrivals) - first) if arrivals else float("nan")

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))] if lat else float("nan")
    return {"delivered": len(arrivals), "rate": len(arrivals) / span if arrivals else 0.0,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": lat[-1] if lat else float("nan"),
            "lost": P * W - len(arrivals)}


def one_run(kind):
    tmp = Path(tempfile.mkdtemp(prefix="xmppd-fedbench-"))
    (tmp / "pki").mkdir()
    (tmp / "fed").mkdir()
    fed = Federation(PKI(tmp / "pki"), tmp / "fed")
    outs = []
    try:
        where, outs = deploy(fed, kind)
        return fed.run_clients(lambda: load(where), timeout=DRAIN + 120)
    finally:
        for o in outs:
            if o.poll() is None:
                o.terminate()
                o.wait(20)
        problems = fed.stop()
        if problems:
            log("%s: %s" % (kind, "; ".join(problems)))
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if os.geteuid() != 0:
        sys.exit("federation: needs root (network namespaces)")
    results = {k: [] for k in SERVERS}
    for run in range(RUNS):
        for kind in SERVERS[run % len(SERVERS):] + SERVERS[:run % len(SERVERS)]:
            r = one_run(kind)
            results[kind].append(r)
            print("scenario=federation server=%s p=%d w=%d delivered=%d lost=%d rate=%.1f "
                  "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f" % (
                      kind, P, W, r["delivered"], r["lost"], r["rate"], r["p50_ms"],
                      r["p99_ms"], r["max_ms"]), flush=True)
    keys = [("rate", "messages delivered/s", "higher"), ("p50_ms", "latency p50 ms", "lower"),
            ("p99_ms", "latency p99 ms", "lower"), ("max_ms", "latency max ms", "lower"),
            ("lost", "lost", "lower")]
    print("\n| metric | " + " | ".join("%s<->%s" % (k, k) for k in SERVERS) +
          (" | xmppd/prosody" if SERVERS == ["xmppd", "prosody"] else "") + " | better |")
    print("|---" * (len(SERVERS) + 2 + (SERVERS == ["xmppd", "prosody"])) + "|")
    for key, name, better in keys:
        med = [statistics.median(r[key] for r in results[k]) for k in SERVERS]
        ratio = ""
        if SERVERS == ["xmppd", "prosody"]:
            ratio = " | %.2f" % (med[0] / med[1]) if med[1] else " | -"
        print("| federation: %s | %s%s | %s |" % (
            name, " | ".join("%.4g (%.4g-%.4g)" % (m, min(r[key] for r in results[k]),
                                                    max(r[key] for r in results[k]))
                              for m, k in zip(med, SERVERS)), ratio, better))


if __name__ == "__main__":
    main()
