#!/bin/sh
# run-server.sh BUILD_DIR - serve XMPP for development (`make run`).
#
# With $XMPP_CONFIG set, that configuration is used as it is. Otherwise
# ./run/ (git-ignored) gets an xmpp.conf for domain localhost with plaintext
# authentication allowed (fine on loopback only) and TLS with a self-signed
# certificate for localhost made once with openssl (run/localhost.crt and
# run/localhost.key, EC P-256, 825 days), and a redis-server of its own on
# run/redis.sock (persisted to run/dump.rdb), unless one already answers
# there. Then systemd-socket-activate listens on $XMPP_LISTEN (default
# 127.0.0.1:5222, STARTTLS) and on $XMPP_LISTEN_TLS (default
# 127.0.0.1:5223, direct TLS: xmpp-handler -T; set it empty for none, and
# none is started when the configuration has no certificate), and starts
# BUILD_DIR/xmpp-handler per connection, and on $XMPP_LISTEN_WEB (default
# 127.0.0.1:5280; empty for none) BUILD_DIR/xmpp-web (WebSocket,
# host-meta, the files of the upload service upload.localhost), until
# Ctrl-C (or SIGTERM), which stops the listeners, their handlers and the
# Redis started here, by PID.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: sh tests/run-server.sh BUILD_DIR" >&2
	exit 100
fi
bdir=${1%/}
build=$(cd "$bdir" && pwd)
listen=${XMPP_LISTEN:-127.0.0.1:5222}
listen_tls=${XMPP_LISTEN_TLS-127.0.0.1:5223}
listen_web=${XMPP_LISTEN_WEB-127.0.0.1:5280}
handler=$build/xmpp-handler
if [ ! -x "$handler" ]; then
	echo "run-server.sh: $handler is missing: run make first" >&2
	exit 1
fi

cd "$(dirname "$0")/.."
rundir=$(pwd)/run
conf=${XMPP_CONFIG:-$rundir/xmpp.conf}
sock=$rundir/redis.sock
cert=$rundir/localhost.crt
key=$rundir/localhost.key

# 1 if the configuration names a certificate (direct TLS can work).
has_tls() {
	grep -Eq '^[[:space:]]*(tls_cert|tls_domain)[[:space:]]*=[[:space:]]*[^[:space:]]' "$1"
}

if [ -z "${XMPP_CONFIG:-}" ]; then
	mkdir -p run
	if [ ! -e "$conf" ]; then
		if [ ! -e "$cert" ] || [ ! -e "$key" ]; then
			if ! command -v openssl >/dev/null; then
				echo "run-server.sh: the openssl command is missing (apt-get install openssl)" >&2
				exit 1
			fi
			# The key is readable by this user only (the handlers run as it).
			(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			    -sha256 -nodes -days 825 -subj /CN=localhost \
			    -addext subjectAltName=DNS:localhost \
			    -keyout "$key" -out "$cert" 2>/dev/null)
			chmod 644 "$cert"
			echo "xmppd: made a self-signed certificate for localhost: run/localhost.crt"
		fi
		cat > "$conf" <<CONF
# Development configuration written by tests/run-server.sh (edit freely).
domain = localhost
redis = unix:$sock
# Clients without TLS may still send passwords (PLAIN, iq:auth): loopback
# only! With "no", STARTTLS becomes required before any authentication.
allow_plaintext_auth = yes
# Self-signed certificate made by tests/run-server.sh, for STARTTLS and
# direct TLS. Clients must be told to accept it.
tls_cert = $cert
tls_key = $key
# HTTP file upload (XEP-0363): slots from upload.localhost, files through
# xmpp-web (http_url), kept in run/upload.
upload_domain = upload.localhost
upload_dir = $rundir/upload
CONF
		if [ -n "$listen_web" ]; then
			echo "http_url = http://$listen_web" >> "$conf"
		fi
	elif ! has_tls "$conf"; then
		echo "xmppd: run/xmpp.conf has no tls_cert (it predates TLS): no TLS." >&2
		echo "       Remove it to have it written again with a certificate." >&2
	fi
fi

redis_pid=
sa_pid=
tls_pid=
web_pid=
# Stop what this script started, by PID: the listeners, the handlers they
# spawned (they end their streams with <system-shutdown/>), then Redis,
# which saves run/dump.rdb and removes its pidfile on the way out.
cleanup() {
	for pid in $sa_pid $tls_pid $web_pid; do
		kids=$(pgrep -P "$pid" 2>/dev/null || true)
		kill "$pid" 2>/dev/null || true
		[ -z "$kids" ] || kill $kids 2>/dev/null || true
	done
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

if [ -z "${XMPP_CONFIG:-}" ]; then
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
fi

plain_how="STARTTLS"
if ! has_tls "$conf"; then
	listen_tls=
	plain_how="no TLS: the configuration names no certificate"
fi
host=${listen%:*}
port=${listen##*:}
# The certificate names localhost, so that is what clients should check.
[ "$host" != 127.0.0.1 ] || host=localhost
show=$conf
[ -n "${XMPP_CONFIG:-}" ] || show=run/xmpp.conf
echo "xmppd: serving XMPP on $listen ($plain_how)${listen_tls:+ and $listen_tls (direct TLS)}, config $show"
self_signed=
if [ -z "${XMPP_CONFIG:-}" ] && has_tls "$conf" && grep -q "^tls_cert = $cert\$" "$conf"; then
	self_signed=1
	echo "  certificate: run/localhost.crt, self-signed for localhost; accept it in the client if"
	echo "               its fingerprint is"
	openssl x509 -in "$cert" -noout -fingerprint -sha256 | sed 's/^/                 /'
	openssl x509 -in "$cert" -noout -fingerprint -sha1 | sed 's/^/                 /'
fi
cat <<MSG
  add a user:  $bdir/xmppctl -c $show adduser alice@localhost
               (add --legacy-digest for old iq:auth digest clients)
  connect:     any XMPP client as alice@localhost to host $host port $port
               (e.g. profanity: /connect alice@localhost server $host port $port${self_signed:+,
               then /tls allow, or /tls always, to accept the self-signed certificate})
  stop:        Ctrl-C
MSG
if [ -n "$listen_web" ]; then
	cat <<MSG
  WebSocket:   ws://$listen_web/xmpp-websocket (plain ws: for a browser client on
               this machine; discovery: http://$listen_web/.well-known/host-meta)
  BOSH:        http://$listen_web/http-bind
MSG
	if grep -q '^upload_domain = ..*' "$conf"; then
		cat <<MSG
  upload:      $(sed -n 's/^upload_domain = //p' "$conf") (XEP-0363), files at http://$listen_web/upload/
MSG
	fi
fi
# In the background so that a signal reaches the traps above at once.
systemd-socket-activate --inetd -a -l "$listen" -E XMPP_CONFIG="$conf" "$handler" &
sa_pid=$!
if [ -n "$listen_tls" ]; then
	systemd-socket-activate --inetd -a -l "$listen_tls" -E XMPP_CONFIG="$conf" "$handler" -T &
	tls_pid=$!
fi
if [ -n "$listen_web" ]; then
	systemd-socket-activate --inetd -a -l "$listen_web" -E XMPP_CONFIG="$conf" "$build/xmpp-web" &
	web_pid=$!
fi
# A listener that could not bind its address exits at once: then stop.
sleep 0.5
for pid in $sa_pid $tls_pid $web_pid; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "run-server.sh: a listener failed to start (address in use?)" >&2
		exit 1
	fi
done
wait "$sa_pid"
