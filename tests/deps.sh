#!/bin/sh
# deps.sh - make sure the Debian packages that build and test xmppd are
# installed. Quiet when they are. Missing ones are installed when run as
# root (apt-get update once, then install); otherwise the apt-get command
# is printed and the exit status is 1. gajim, xvfb and dbus-daemon are for
# the desktop client test (tests/proto/test_desktop_client.py). nodejs runs
# Strophe.js, the BOSH client of tests/proto/test_bosh.py, which npm
# installs (as any user) into tests/clients/bosh/node_modules from the lock
# file there (Debian's npm package, or the one a nodejs from elsewhere
# brings: they conflict, so it is not in the list).
set -eu

PKGS="pkg-config libexpat1-dev libhiredis-dev libsystemd-dev libssl-dev libidn-dev nettle-dev
libseccomp-dev libwslay-dev libhttp-parser-dev redis-server redis-tools systemd openssl python3 python3-slixmpp python3-aiohttp python3-openssl python3-pytest
python3-pytest-xdist mandoc go-sendxmpp libstrophe-dev
gajim xvfb dbus-daemon nodejs"

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=
# A compiler and make: build-essential, or at least gcc and make.
if ! installed build-essential && ! { installed gcc && installed make; }; then
	missing=build-essential
fi
for p in $PKGS; do
	installed "$p" || missing="$missing $p"
done
missing=${missing# }

# The npm packages, once node is there (after the Debian packages below).
node_clients() {
	dir=$(dirname "$0")/clients/bosh
	[ -d "$dir/node_modules/strophe.js" ] && return 0
	if ! command -v npm >/dev/null; then
		echo "deps.sh: no npm: install it (apt-get install npm) for the BOSH client" >&2
		return 1
	fi
	echo "deps.sh: npm ci in $dir" >&2
	(cd "$dir" && npm ci --no-audit --no-fund >&2)
}

if [ -z "$missing" ]; then
	node_clients
	exit 0
fi

cmd="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages: $missing" >&2
	echo "deps.sh: run as root: apt-get update && DEBIAN_FRONTEND=noninteractive $cmd" >&2
	exit 1
fi
echo "deps.sh: installing $missing" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive $cmd
node_clients
