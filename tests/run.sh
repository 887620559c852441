#!/bin/sh
# run.sh BUILD_DIR [PYTEST-ARGS...] - the protocol tests (tests/proto) and the
# Lua script tests (tests/lua), or the tests/... named in PYTEST-ARGS, against
# the xmpp-handler and xmppctl in BUILD_DIR, with Debian's python3 and pytest
# (not whatever python3 comes first in PATH: it may lack Debian's packages).
# Runs 4 tests at a time when pytest-xdist is installed; the whole suite
# runs its tests marked "timing" (wall-clock bounds: tests/proto/conftest.py)
# afterwards, one at a time, so that the others' load does not break them.
# RUN_ONLY=parallel or RUN_ONLY=timing runs only that part of the whole
# suite (tests/check.sh, for make check, runs other work beside the
# first and none beside the second).
# Exit status is pytest's: non-zero when a test fails.
set -eu
if [ $# -lt 1 ]; then
	echo "usage: sh tests/run.sh BUILD_DIR [PYTEST-ARGS...]" >&2
	exit 100
fi
build=$(cd "$1" && pwd)
shift
for f in xmpp-handler xmppctl; do
	if [ ! -x "$build/$f" ]; then
		echo "run.sh: $build/$f is missing: build it first (make)" >&2
		exit 1
	fi
done
cd "$(dirname "$0")/.."
par=
if /usr/bin/python3 -c 'import xdist' 2>/dev/null; then
	par="-n 4"
fi
what="tests/proto tests/lua"   # unless the arguments name tests themselves
for a in "$@"; do
	case $a in tests/*) what= ;; esac
done
export XMPPD_BUILD=$build
if [ -z "$what" ]; then
	exec /usr/bin/python3 -m pytest -q -p no:cacheprovider $par "$@"
fi
only=${RUN_ONLY:-}
case $only in
''|parallel|timing) ;;
*) echo "run.sh: RUN_ONLY is parallel or timing, not '$only'" >&2; exit 100 ;;
esac
# pytest's 5 is "no test collected": a -k may leave one of the parts empty.
rc=0
if [ "$only" != timing ]; then
	/usr/bin/python3 -m pytest -q -p no:cacheprovider $par -m "not timing" $what "$@" ||
		{ r=$?; [ $r -eq 5 ] || rc=$r; }
fi
if [ "$only" != parallel ]; then
	/usr/bin/python3 -m pytest -q -p no:cacheprovider -m timing $what "$@" ||
		{ r=$?; [ $r -eq 5 ] || rc=$r; }
fi
exit $rc
