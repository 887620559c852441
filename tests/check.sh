#!/bin/sh
# check.sh BUILD_DIR - the tests of `make check`, once it has built
# everything: the protocol and Lua tests (tests/run.sh, against
# BUILD_DIR), the fuzz regressions (tests/fuzz/regress.sh) and the
# real-systemd test (tests/systemd/run.sh), in this order:
#
#   1. the protocol and Lua tests not marked "timing", four at a time;
#      meanwhile, in the background under nice -n 19 (they take the
#      processor time those tests leave), the fuzz regressions, the
#      systemd test's preparation (run.sh --prepare: its builds and the
#      root image, which needs no quiet machine), and the core protocol
#      tests again (logins with SASL2, Bind2 and FAST, resumption,
#      messages, offline storage, the archive) on Redis Sentinel
#      (XMPPD_TEST_REDIS=sentinel: each server on a primary, a replica and
#      three sentinels of its own, tests/proto/conftest.py), then on a
#      Redis Cluster (XMPPD_TEST_REDIS=cluster: three primaries of its
#      own), with the Cluster's own tests and a file of each feature;
#   2. once all three have ended (the background ones back at the usual
#      priority when the tests end first; their logs are shown then), the
#      tests marked "timing", one at a time and alone, as before;
#   3. the systemd test itself, alone (its own time bounds).
#
# Every part runs whatever an earlier one did; the exit status is 1 when
# any failed, and the failed parts are named at the end.
set -u
if [ $# -ne 1 ]; then
	echo "usage: sh tests/check.sh BUILD_DIR" >&2
	exit 100
fi
build=$1
cd "$(dirname "$0")/.."
logs=$(mktemp -d /tmp/xmppd-check.XXXXXX) || exit 1
trap 'rm -rf "$logs"' EXIT
failed=

# bg NAME COMMAND...: COMMAND in the background, niced; its output, exit
# status and seconds in $logs/NAME.log, NAME.rc and NAME.s.
bg() {
	n=$1
	shift
	echo "$* # in the background, its log follows the tests"
	( s=$(date +%s); nice -n 19 "$@" > "$logs/$n.log" 2>&1; echo $? > "$logs/$n.rc"
	  echo $(($(date +%s) - s)) > "$logs/$n.s" ) &
	bgpids="$bgpids $!"
}
bgpids=
# tree PID...: those processes and their descendants.
tree() {
	for p in "$@"; do
		echo "$p"
		tree $(ps -o pid= --ppid "$p")
	done
}
# show NAME WHAT: NAME's log and, when it failed, WHAT in $failed.
show() {
	echo "== $2 (in the background, $(cat "$logs/$1.s" 2>/dev/null)s)"
	cat "$logs/$1.log"
	rc=$(cat "$logs/$1.rc" 2>/dev/null || echo none)
	[ "$rc" = 0 ] || failed="$failed $2(status $rc)"
}

bg fuzz sh tests/fuzz/regress.sh
bg prepare bash tests/systemd/run.sh --prepare
# The whole suite would take 5 more minutes on Sentinel, 8 on a Cluster
# (XMPPD_TEST_REDIS=cluster sh tests/run.sh runs it): the core of it,
# one after the other. On the Cluster also its own tests (resharding and
# failover under load) and a file of each feature whose scripts touch
# keys of their own (rooms, registration, blocking, carbons, private
# storage, PEP, push, upload, BOSH, the archive, vCards, the federation
# queues, subscriptions), but their slowest tests.
slow="repeated_rid or broadcasts_between or inactivity or reaped_session or killed_request"
slow="$slow or newer_request or overtaking"
bg redis sh -c 'XMPPD_TEST_REDIS=sentinel XMPPD_TEST_WAIT_SCALE=4 sh tests/run.sh "$0" \
	-m "not timing" tests/proto/test_im_messages.py tests/proto/test_sasl2.py; s=$?
	XMPPD_TEST_REDIS=cluster XMPPD_TEST_WAIT_SCALE=4 sh tests/run.sh "$0" -m "not timing" \
	-k "not ($1)" tests/proto/test_cluster.py tests/proto/test_im_messages.py tests/proto/test_sasl2.py \
	tests/proto/test_muc.py tests/proto/test_register_new.py tests/proto/test_blocking.py \
	tests/proto/test_carbons.py tests/proto/test_private.py tests/proto/test_pep.py \
	tests/proto/test_push.py tests/proto/test_upload.py tests/proto/test_bosh.py \
	tests/proto/test_mam.py tests/proto/test_vcard.py tests/proto/test_s2s_queue.py \
	tests/proto/test_im_subscription.py && exit $s' "$build" "$slow"
RUN_ONLY=parallel sh tests/run.sh "$build" || failed="$failed tests/run.sh(parallel)"
t=$(date +%s)
# Nothing else of ours runs now: what is left of the background, at
# nice 19, would yield to anything else on the machine while we wait.
# (Raising the priority back needs root, as the systemd test does.)
renice -n 0 -p $(tree $bgpids) > /dev/null 2>&1
wait
echo "check.sh: waited $(($(date +%s) - t))s for the background after the tests"
show fuzz tests/fuzz/regress.sh
show prepare "tests/systemd/run.sh --prepare"
show redis "tests/run.sh (on Sentinel, then on a Cluster)"

RUN_ONLY=timing sh tests/run.sh "$build" || failed="$failed tests/run.sh(timing)"
echo "bash tests/systemd/run.sh"
bash tests/systemd/run.sh || failed="$failed tests/systemd/run.sh"

if [ -n "$failed" ]; then
	echo "check.sh: failed:$failed" >&2
	exit 1
fi
