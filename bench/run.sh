#!/bin/sh
# run.sh - `make bench`: xmppd beside Prosody and ejabberd on this machine.
#
# As root, installs the Debian packages that are missing (Prosody,
# ejabberd and erlang-luerl for its Prosody import, redis-server, the
# compiler and OpenSSL headers), without letting their system services
# start; as another user it prints the apt-get command and stops. Builds
# build/bench/xmppload, then bench/bench.py starts every server in a
# temporary directory on a free loopback port, runs the scenarios side by
# side, prints the table and appends it to bench/results.md. Settings are
# environment variables: see bench/README.md or the top of bench/bench.py.
set -eu
cd "$(dirname "$0")/.."

PKGS="prosody lua-dbi-sqlite3 ejabberd erlang-luerl erlang-p1-sqlite3 redis-server redis-tools systemd python3 libssl-dev gcc curl"
# shellcheck disable=SC2086 # PKGS is a list of words
sh tests/apt-install.sh bench $PKGS

if [ ! -x build/xmpp-handler ]; then
	echo "bench: build/xmpp-handler is missing: run make first (make bench does)" >&2
	exit 1
fi
mkdir -p build/bench
cc -O2 -Wall -Wextra -o build/bench/xmppload bench/xmppload.c -lssl -lcrypto
# The floor under a login (bench.py, "floor"): spawning a trivial static
# program, timed by spawnfloor.
cc -O2 -Wall -Wextra -o build/bench/spawnfloor bench/spawnfloor.c
cc -O2 -static -o build/bench/true bench/true.c

# Thousands of connections: every process here may use what the hard
# limit allows (root may raise it where the sandbox lets it; the scale
# scenario needs that, and says what it got).
if [ "$(id -u)" -eq 0 ] && [ "${BENCH_SCALE:-0}" = 1 ]; then
	ulimit -H -n 1048576 2>/dev/null || true
fi
ulimit -S -n "$(ulimit -H -n)" 2>/dev/null || true

/usr/bin/python3 bench/bench.py || exit $?
# The federation scenario (bench/federation.py: two domains in a network
# namespace of the federation tests' harness, xmppd<->xmppd beside
# Prosody<->Prosody) runs on its own, after the others; it is in the
# default list, and in BENCH_SCENARIOS when named there.
case " ${BENCH_SCENARIOS-federation} " in
*" federation "*) exec /usr/bin/python3 bench/federation.py ;;
esac
