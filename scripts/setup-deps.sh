#!/bin/sh
# setup-deps.sh — install what a fresh Debian 12 needs to build netshim and
# run its tests.  A fast no-op when everything is there (dpkg-query); as
# root it installs what is missing with apt-get (updating the package
# lists first); otherwise it names what is missing and stops.
set -eu

PKGS="build-essential pkg-config check libbsd-dev iproute2 iputils-ping
python3 coreutils curl wget socat netcat-openbsd tcpdump dnsmasq-base
nginx-light redis-server redis-tools iperf3 wrk clang valgrind"

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup-deps: missing packages:$missing" >&2
		echo "setup-deps: run as root, or: sudo apt-get install$missing" >&2
		exit 1
	fi
	echo "setup-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

exit 0
