#!/bin/sh
# run-server.sh BUILD_DIR - serve XMPP for development (`make run`).
#
# With $XMPP_CONFIG set, that configuration is used as it is. Otherwise
# ./run/ (git-ignored) gets an xmpp.conf for domain localhost with plaintext
# authentication allowed (fine on loopback only), and a redis-server of its
# own on run/redis.sock (persisted to run/dump.rdb), unless one already
# answers there. Then systemd-socket-activate listens on $XMPP_LISTEN
# (default 127.0.0.1:5222) and starts BUILD_DIR/xmpp-handler per connection,
# until Ctrl-C (or SIGTERM), which stops it, its handlers and the Redis
# started here, by PID.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: sh tests/run-server.sh BUILD_DIR" >&2
	exit 100
fi
bdir=${1%/}
build=$(cd "$bdir" && pwd)
listen=${XMPP_LISTEN:-127.0.0.1:5222}
handler=$build/xmpp-handler
if [ ! -x "$handler" ]; then
	echo "run-server.sh: $handler is missing: run make first" >&2
	exit 1
fi

if [ -n "${XMPP_CONFIG:-}" ]; then
	echo "xmppd: serving $listen with $XMPP_CONFIG (Ctrl-C stops)"
	exec systemd-socket-activate --inetd -a -l "$listen" -E XMPP_CONFIG="$XMPP_CONFIG" "$handler"
fi

cd "$(dirname "$0")/.."
mkdir -p run
rundir=$(pwd)/run
conf=$rundir/xmpp.conf
sock=$rundir/redis.sock
if [ ! -e "$conf" ]; then
	cat > "$conf" <<CONF
# Development configuration written by tests/run-server.sh (edit freely).
domain = localhost
redis = unix:$sock
# No TLS yet: allow PLAIN and iq:auth passwords. Loopback only!
allow_plaintext_auth = yes
CONF
fi

redis_pid=
sa_pid=
# Stop what this script started, by PID: the listener, the handlers it
# spawned (they end their streams with <system-shutdown/>), then Redis,
# which saves run/dump.rdb and removes its pidfile on the way out.
cleanup() {
	if [ -n "$sa_pid" ]; then
		kids=$(pgrep -P "$sa_pid" 2>/dev/null || true)
		kill "$sa_pid" 2>/dev/null || true
		[ -z "$kids" ] || kill $kids 2>/dev/null || true
	fi
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null || true
		i=0
		while [ -e "$rundir/redis.pid" ] && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

if [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ]; then
	echo "xmppd: using the Redis already running on $sock"
else
	rm -f "$rundir/redis.pid"
	redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 \
	    --dir "$rundir" --dbfilename dump.rdb --save "60 1" --appendonly no \
	    --pidfile "$rundir/redis.pid" --logfile "$rundir/redis.log" --daemonize yes
	i=0
	until [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ]; do
		i=$((i + 1))
		if [ $i -gt 50 ]; then
			echo "run-server.sh: redis-server did not start, see $rundir/redis.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	redis_pid=$(cat "$rundir/redis.pid")
	echo "xmppd: started redis-server (PID $redis_pid) on $sock"
fi

cat <<MSG
xmppd: serving XMPP on $listen, config run/xmpp.conf
  add a user:  $bdir/xmppctl -c run/xmpp.conf adduser alice@localhost
               (add --legacy-digest for old iq:auth digest clients)
  connect:     any XMPP client as alice@localhost to host ${listen%:*} port ${listen##*:},
               without TLS (e.g. profanity: /connect alice@localhost server ${listen%:*} port ${listen##*:} tls disable)
  stop:        Ctrl-C
MSG
# In the background so that a signal reaches the traps above at once.
systemd-socket-activate --inetd -a -l "$listen" -E XMPP_CONFIG="$conf" "$handler" &
sa_pid=$!
wait "$sa_pid"
