#!/bin/bash
# bench/systemd.sh - login rate under a real systemd (issue 6, point 3).
#
# Boots the Debian 12 container of tests/systemd/run.sh once (its
# functions are sourced from there: cached debootstrap root, overlay,
# make install DESTDIR, systemd-nspawn --boot, redis-server + xmpp.socket)
# and measures N PLAIN logins, C at a time, with build/bench/xmppload run
# from the host in the container's network namespace, through:
#   shipped     xmpp.socket -> xmpp@.service + 10-sandbox.conf (as installed)
#   nosandbox   the same, 10-sandbox.conf removed (daemon-reload)
#   dynuser     no sandbox but DynamicUser=yes
#   mountns     no sandbox but PrivateTmp/PrivateDevices/ProtectSystem=strict/ProtectHome
#   privusers   no sandbox but PrivateUsers=yes (a user namespace)
#   seccomp     no sandbox but SystemCallFilter/MemoryDenyWriteExecute/RestrictNamespaces...
#   listen      xmpp-listen.socket -> xmpp-listen.service (as installed, with
#               10-sandbox.conf): one listener spawning every handler
#               inside the service's sandbox (xmpp.socket stopped meanwhile)
#   inetd       systemd-socket-activate --inetd -a inside the container
#               (fork+exec per connection, no unit, no sandbox)
#   no-DIRECTIVE  shipped minus one directive: 10-sandbox.conf as installed
#               plus a bench.conf that resets DIRECTIVE (see minus_one;
#               not part of the default list), e.g. no-PrivateDevices;
#               no-A+B+C resets several at once
# Every unit variant also gets its `systemd-analyze security` exposure.
# RUNS runs each; prints "path exposure logins/s p50 p99" (median run by rate).
# Needs root. The container and the overlay go away on any exit.
#
# Environment: BENCH_N (500), BENCH_C (20), BENCH_RUNS (3),
#              BENCH_VARIANTS (all of the above, in that order),
#              BENCH_MECHS (plain; also scram-sha-1: one row per variant and mechanism)
set -uo pipefail

ME=$(cd "$(dirname "$0")" && pwd)
# tests/systemd/run.sh without its main part: its helpers, clean-up traps
# and settings. It derives HERE/REPO from $0, so set them again after.
# shellcheck disable=SC1090
source <(sed '/^# -* main$/,$d' "$ME/../tests/systemd/run.sh")
REPO=$(cd "$ME/.." && pwd)
HERE=$REPO/tests/systemd
NSLIX=0		# start_services: no slixmpp users needed

N=${BENCH_N:-500}
C=${BENCH_C:-20}
RUNS=${BENCH_RUNS:-3}
MECHS=${BENCH_MECHS:-plain}
VARIANTS=${BENCH_VARIANTS:-"shipped nosandbox dynuser privusers mountns seccomp listen inetd"}
LOAD=$REPO/build/bench/xmppload
PASSWORD=secret
INETD_PORT=5333
INETD_PID=

UNITD=/usr/local/lib/systemd/system/xmpp@.service.d
SANDBOX=$UNITD/10-sandbox.conf
CONNECTION=$UNITD/20-connection.conf

bench_cleanup() {
	[ -n "$INETD_PID" ] && kill -TERM "$INETD_PID" 2>/dev/null && wait_gone "$INETD_PID" 5
	cleanup
}
trap bench_cleanup EXIT

LOGDIR=$(mktemp -d /tmp/xmppd-systemd-bench.XXXXXX) || exit 1
prerequisites >/dev/null
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$REPO" --no-print-directory all \
    >"$LOGDIR/make.log" 2>&1; then
	tail -n 20 "$LOGDIR/make.log"
	fatal "make all failed"
fi
mkdir -p "$REPO/build/bench"
cc -O2 -Wall -Wextra -o "$LOAD" "$REPO/bench/xmppload.c" -lssl -lcrypto ||
    fatal "xmppload build failed"
ensure_root >/dev/null

setup_overlay
install_xmppd
# The load comes from one address with one password: no rate limit or
# auth blocking may get in the way.
cat >>"$WORK/root/etc/xmpp/xmpp.conf" <<-'EOF'
auth_block_after = 1000000
max_read_rate = 1073741824
max_read_burst = 1073741824
EOF
boot >/dev/null
start_services >/dev/null

# Accounts: user1 through xmppctl, user2..N copies of its hash (same
# password, same salts) written with redis-cli.
printf '%s\n' "$PASSWORD" | in_ct xmppctl adduser user1@localhost >/dev/null 2>&1 ||
    fatal "xmppctl adduser user1@localhost failed"
RCLI="redis-cli -s /run/redis/redis-server.sock"
mapfile -t KV < <(in_ct $RCLI --raw HGETALL 'xmpp:{user1@localhost}:account')
[ "${#KV[@]}" -ge 2 ] || fatal "no account hash for user1@localhost"
args=""
for ((i = 0; i < ${#KV[@]}; i += 2)); do
	args="$args ${KV[i]} \"${KV[i+1]}\""
done
for ((u = 2; u <= N; u++)); do
	printf 'HSET xmpp:{user%d@localhost}:account%s\n' "$u" "$args"
done | IN_CT_TIMEOUT=120 in_ct $RCLI >/dev/null || fatal "writing $N accounts failed"
[ "$(in_ct $RCLI --raw EXISTS "xmpp:{user$N@localhost}:account")" = 1 ] ||
    fatal "account user$N@localhost missing"
say "container up (CT=$CT), $N accounts"

minus_one() {	# minus_one DIRECTIVE: the lines that neutralise it after 10-sandbox.conf
	case $1 in
	PrivateDevices|PrivateTmp|PrivateIPC|PrivateMounts|PrivateUsers|ProtectHostname|\
	ProtectKernelTunables|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|\
	ProtectClock|ProtectSystem|ProtectHome|RemoveIPC|NoNewPrivileges|RestrictSUIDSGID|\
	RestrictNamespaces|MemoryDenyWriteExecute|LockPersonality|RestrictRealtime)
		echo "$1=no" ;;
	ProtectProc) echo 'ProtectProc=default' ;;
	ProcSubset) echo 'ProcSubset=all' ;;
	DynamicUser) printf '%s\n' 'DynamicUser=no' 'User=nobody' ;;
	MemoryMax|TasksMax) echo "$1=infinity" ;;
	SystemCallFilter|RestrictAddressFamilies|SystemCallArchitectures|CapabilityBoundingSet)
		echo "$1=" ;;
	*) fatal "minus_one: unknown directive $1" ;;
	esac
}

set_variant() {	# set_variant NAME: the xmpp@.service drop-ins of that variant
	local extra="" d
	in_ct rm -f /etc/systemd/system/xmpp@.service.d/bench.conf
	case $1 in
	shipped|no-*)
		in_ct test -e "$SANDBOX" || in_ct mv /root/10-sandbox.conf "$SANDBOX"
		in_ct test -e "$CONNECTION" || in_ct mv /root/20-connection.conf "$CONNECTION" ;;
	*)
		in_ct test -e "$SANDBOX" && in_ct mv "$SANDBOX" /root/10-sandbox.conf
		in_ct test -e "$CONNECTION" && in_ct mv "$CONNECTION" /root/20-connection.conf ;;
	esac
	case $1 in
	no-*) for d in ${1//+/ }; do extra+=$(minus_one "${d#no-}")$'\n'; done ;;
	dynuser) extra='DynamicUser=yes' ;;
	mountns) extra=$'PrivateTmp=yes\nPrivateDevices=yes\nProtectSystem=strict\nProtectHome=yes' ;;
	privusers) extra='PrivateUsers=yes' ;;
	seccomp) extra=$'NoNewPrivileges=yes\nSystemCallArchitectures=native\nSystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources\nMemoryDenyWriteExecute=yes\nRestrictNamespaces=yes\nLockPersonality=yes\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' ;;
	esac
	if [ -n "$extra" ]; then
		dropin xmpp@.service bench "[Service]"$'\n'"$extra"
	else
		in_ct systemctl daemon-reload
	fi
}

listen_on() {	# xmpp-listen.socket instead of xmpp.socket, as xmpp-listen(8) says
	in_ct systemd-sysusers >/dev/null || fatal "systemd-sysusers failed"
	in_ct systemctl stop xmpp.socket
	in_ct systemctl start xmpp-listen.socket || fatal "xmpp-listen.socket did not start"
}

listen_off() {	# back to xmpp.socket; the listener's handlers have ended
	in_ct systemctl stop xmpp-listen.socket xmpp-listen.service
	in_ct systemctl kill xmpp-listen.service 2>/dev/null
	in_ct systemctl start xmpp.socket || fatal "xmpp.socket did not start again"
}

start_inetd() {
	nsenter -t "$CT" -m -u -i -n -p -- env -i PATH=/usr/local/bin:/usr/bin:/bin \
	    systemd-socket-activate --inetd -a -l 127.0.0.1:$INETD_PORT \
	    /usr/local/bin/xmpp-handler </dev/null >/dev/null 2>"$WORK/inetd.log" &
	INETD_PID=$!
	local i
	for ((i = 0; i < 50; i++)); do
		in_ct grep -q ":$(printf '%04X' $INETD_PORT) " /proc/net/tcp && return 0
		sleep 0.1
	done
	fatal "systemd-socket-activate did not listen on $INETD_PORT" "$(cat "$WORK/inetd.log")"
}

one_run() {	# one_run LABEL PORT MECH [N]: prints "rate p50 p99 ok"
	local out
	out=$(nsenter -t "$CT" -n -- timeout -k 5 300 "$LOAD" login -H 127.0.0.1 -p "$2" \
	    -n "${4:-$N}" -c "$C" -m "$3" -u 'user%d' -w "$PASSWORD" -l "$1" 2>>"$WORK/load.err")
	echo "$out" >>"$WORK/load.log"
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	       print v["rate"], v["p50_ms"], v["p99_ms"], v["ok"] }' <<<"$out"
}

exposure() {	# exposure [UNIT]: its systemd-analyze security level (xmpp@bench.service)
	in_ct systemd-analyze security --no-pager "${1:-xmpp@bench.service}" 2>&1 |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p'
}

ROWS=()
for v in $VARIANTS; do
	if [ "$v" = inetd ]; then
		port=$INETD_PORT
		start_inetd
		exp=-
	elif [ "$v" = listen ]; then
		port=5222
		set_variant shipped
		listen_on
		exp=$(exposure xmpp-listen.service)
	else
		port=5222
		set_variant "$v"
		exp=$(exposure)
	fi
	one_run "$v-warmup" "$port" plain 50 >/dev/null	# page cache, redis, first units
	for m in $MECHS; do
		res=()
		for ((r = 1; r <= RUNS; r++)); do
			wait_units_gone 30 >/dev/null
			line=$(one_run "$v" "$port" "$m")
			say "$v $m run $r: rate p50 p99 ok = $line"
			res+=("$line")
		done
		# The median run by rate.
		med=$(printf '%s\n' "${res[@]}" | sort -n -k1,1 | sed -n "$(( (RUNS + 1) / 2 ))p")
		all=$(printf '%s\n' "${res[@]}" | awk '{ printf "%s%s", s, $1; s = "/" }')
		label=$v
		[ "$MECHS" = plain ] || label="$v/$m"
		ROWS+=("$label ${exp:-?} $med $all")
	done
	[ "$v" = listen ] && listen_off
done

echo
printf '%-26s %8s %9s %8s %8s %6s  %s\n' path exposure logins/s p50_ms p99_ms ok "runs (logins/s)"
for row in "${ROWS[@]}"; do
	read -r v exp rate p50 p99 ok all <<<"$row"
	printf '%-26s %8s %9s %8s %8s %6s  %s\n' "$v" "$exp" "$rate" "$p50" "$p99" "$ok" "$all"
done
echo "N=$N C=$C runs=$RUNS, systemd $(in_ct systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'), $(nproc) CPUs"
exit 0
