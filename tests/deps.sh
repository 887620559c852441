#!/bin/sh
# deps.sh - make sure the Debian packages that build and test xmppd are
# installed. Quiet when they are. Missing ones are installed when run as
# root (apt-get update once, then install); otherwise the apt-get command
# is printed and the exit status is 1. gajim, xvfb and dbus-daemon are for
# the desktop client test (tests/proto/test_desktop_client.py); chromium,
# and nodejs with npm where no node is installed, for the browser test
# (tests/proto/test_browser.py), the BOSH client of
# tests/proto/test_bosh.py (Strophe.js in node) and the SASL2/Bind2/FAST
# client of tests/proto/test_xmppjs.py (xmpp.js in node). Their npm
# packages (Converse.js and a DevTools driver, pinned by
# tests/browser/package-lock.json; Strophe.js, by
# tests/clients/bosh/package-lock.json; @xmpp/client, by
# tests/clients/xmppjs/package-lock.json) are then installed with `npm ci`
# into each folder's node_modules when that is missing or was made from
# another lock file (any user; needs the npm registry). libc-ares-dev is
# for s2s/ (federation's DNS), dnsmasq-base for its test
# (tests/proto/test_s2s_dns.py): the dnsmasq program alone, not the
# dnsmasq package, whose system service would start and take port 53.
# prosody and iproute2 are for the federation tests
# (tests/proto/s2s_harness.py), which run private Prosody servers in a
# network namespace; Prosody's own system service must not start (it
# would take ports 5222 and 5269): while installing, policy-rc.d says no.
# biboumi (an XMPP-IRC gateway) and ngircd (an IRC server) are for the
# external component test (tests/proto/test_component_biboumi.py), which
# runs both privately; ngircd's system service must not start either.
# coturn is for the calls test (tests/proto/test_extdisco.py), which runs
# its own turnserver on a private port; the package's system service must
# not start either (it would take port 3478), for the same reason.
# redis-sentinel is for the Sentinel tests (tests/proto/test_sentinel.py,
# issue 18), which run a primary, a replica and three sentinels of their
# own on free ports; the package's own sentinel service must not start
# (it would take port 26379) either.
set -eu

PKGS="pkg-config libexpat1-dev libhiredis-dev libsystemd-dev libssl-dev libidn-dev nettle-dev
libseccomp-dev libwslay-dev libhttp-parser-dev libc-ares-dev dnsmasq-base prosody iproute2 redis-server redis-sentinel redis-tools systemd openssl python3 python3-slixmpp python3-aiohttp python3-openssl python3-pytest
python3-pytest-xdist mandoc go-sendxmpp libstrophe-dev biboumi ngircd coturn
gajim xvfb dbus-daemon chromium"
# Debian's node and npm, unless a node is installed already (e.g. nodesource's)
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

# A compiler and make: build-essential, or at least gcc and make.
compiler=build-essential
if dpkg-query -W -f='${db:Status-Status}' gcc 2>/dev/null | grep -qx installed &&
    dpkg-query -W -f='${db:Status-Status}' make 2>/dev/null | grep -qx installed; then
	compiler=
fi
# shellcheck disable=SC2086 # PKGS is a list of words
sh "$(dirname "$0")/apt-install.sh" deps.sh $compiler $PKGS

# npm_ci DIR: the npm packages of DIR's lock file. npm ci leaves a copy of
# the lock file it installed from in node_modules; another lock file means
# install again. --ignore-scripts: nothing there needs an install script.
npm_ci() {
	if ! cmp -s "$1/package-lock.json" "$1/node_modules/.xmppd-lock.json"; then
		echo "deps.sh: npm ci in $1" >&2
		(cd "$1" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
		cp "$1/package-lock.json" "$1/node_modules/.xmppd-lock.json"
	fi
}
here=$(cd "$(dirname "$0")" && pwd)
npm_ci "$here/browser"
npm_ci "$here/clients/bosh"
npm_ci "$here/clients/stanza"
npm_ci "$here/clients/xmppjs"
