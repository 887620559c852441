#!/bin/sh
# apt-install.sh WHO PACKAGE... - install the Debian packages of the list
# that are missing, for tests/deps.sh and bench/run.sh (WHO names the
# caller in messages). Quiet when none is missing. As root: apt-get update
# once, then install, with /usr/sbin/policy-rc.d saying no meanwhile, so
# that no package's own service starts (a system-wide Prosody or ejabberd
# would take ports 5222 and 5269). As another user: the apt-get command is
# printed and the status is 1.
set -eu
who=$1
shift

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=
for p in "$@"; do
	installed "$p" || missing="$missing $p"
done
missing=${missing# }
[ -n "$missing" ] || exit 0

cmd="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "$who: missing Debian packages: $missing" >&2
	echo "$who: run as root: apt-get update && DEBIAN_FRONTEND=noninteractive $cmd" >&2
	exit 1
fi
echo "$who: installing $missing" >&2
guard=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	guard=1
fi
rc=0
{ apt-get update -q && DEBIAN_FRONTEND=noninteractive $cmd; } || rc=$?
[ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
exit $rc
