#!/bin/sh
# demo.sh — `make demo` (after building): an unmodified curl downloads a
# 4 MiB file over netshim's userland stack from a kernel-side web server,
# inside a throwaway network namespace; then the bytes are checked and the
# packets shown.  Needs root (a namespace, a TUN device) and curl, tcpdump,
# python3 (installed with apt-get when missing).
#   namespace nsdemo-PID:
#     python3 -m http.server :8080           the kernel side, 192.0.2.1
#     build/netshim --tun nsdemo0 -- curl    the stack side, 192.0.2.2
# The library creates nsdemo0 and gives the kernel side 192.0.2.1/24; the
# server listens on 0.0.0.0 (the namespace is private) so it can start
# before the device exists.  Everything goes away at exit (EXIT trap).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NETSHIM="$ROOT/build/netshim"
LIB="$ROOT/build/libnetshim.so"
NS="nsdemo-$$"
DEV=nsdemo0
PORT=8080
URL="http://192.0.2.1:$PORT/file"
SIZE=4194304
PY=/usr/bin/python3
TMP=
NS_MADE=
SERVER_PID=

say() { printf 'demo: %s\n' "$*"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	[ -z "$NS_MADE" ] || ip netns del "$NS" 2>/dev/null || true
	[ -z "$TMP" ] || rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- what the demo needs ----------------------------------------------------
[ "$(id -u)" = 0 ] || die "needs root (a network namespace and a TUN device): sudo make demo"
if [ ! -x "$NETSHIM" ] || [ ! -f "$LIB" ]; then
	die "build/netshim or build/libnetshim.so is missing: run make"
fi
# Until the interposer's engine lands, the library hooks no sockets and
# curl would simply fail to reach anything in the empty namespace.
if ! nm -D --defined-only "$LIB" 2>/dev/null | awk '$3 == "connect" { f = 1 } END { exit !f }'; then
	die "build/libnetshim.so serves no sockets yet (no connect() hook: the shim's engine, shim/engine.c, has not landed); nothing to demonstrate"
fi

missing=
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v tcpdump >/dev/null 2>&1 || missing="$missing tcpdump"
[ -x "$PY" ] || missing="$missing python3"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
if [ -n "$missing" ]; then
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null ||
		die "cannot install$missing (apt-get install$missing)"
fi
[ -c /dev/net/tun ] || die "/dev/net/tun is missing: modprobe tun"

# ---- the kernel side ----------------------------------------------------------
TMP=$(mktemp -d /tmp/netshim-demo.XXXXXX)
mkdir "$TMP/www"
head -c "$SIZE" /dev/urandom >"$TMP/www/file"

ip netns add "$NS" || die "cannot create network namespace $NS"
NS_MADE=1
ip -n "$NS" link set lo up

# `ip netns exec` execs the server, so SERVER_PID is the server's own PID.
ip netns exec "$NS" "$PY" -m http.server "$PORT" --bind 0.0.0.0 \
	--directory "$TMP/www" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
i=0
until ip netns exec "$NS" ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q .; do
	kill -0 "$SERVER_PID" 2>/dev/null || {
		cat "$TMP/server.log" >&2
		SERVER_PID=
		die "the web server did not start"
	}
	i=$((i + 1))
	[ "$i" -le 100 ] || die "the web server is not listening after 10 s"
	sleep 0.1
done

# ---- the program, unmodified, over netshim ---------------------------------------
say "curl $URL, over netshim (TUN $DEV in namespace $NS)"
set +e
ip netns exec "$NS" "$NETSHIM" --tun "$DEV" --pcap "$TMP/demo.pcap" -- \
	curl -sS --noproxy '*' --retry 3 --retry-connrefused --max-time 120 \
	-o "$TMP/out" -w '%{size_download} %{time_total} %{speed_download}\n' \
	"$URL" >"$TMP/curl.out" 2>"$TMP/curl.err"
rc=$?
set -e
if [ "$rc" != 0 ]; then
	say "curl under netshim failed (exit status $rc):"
	sed 's/^/    /' "$TMP/curl.err"
	[ "$rc" != 125 ] || say "(125: netshim refused to run it; the line above says why)"
	say "web server log:"
	tail -n 5 "$TMP/server.log" | sed 's/^/    /'
	exit 1
fi

read -r bytes secs speed <"$TMP/curl.out"
want=$(sha256sum <"$TMP/www/file" | cut -d' ' -f1)
got=$(sha256sum <"$TMP/out" | cut -d' ' -f1)
packets=$(tcpdump -nr "$TMP/demo.pcap" 2>/dev/null | wc -l)
cp "$TMP/demo.pcap" "$ROOT/build/demo.pcap"

echo
echo "  downloaded  $bytes of $SIZE bytes in $secs s ($(awk -v s="$speed" 'BEGIN { printf "%.1f", s / 1048576 }') MiB/s)"
if [ "$want" = "$got" ]; then
	echo "  sha256      $got (matches the server's file)"
else
	echo "  sha256      $got, but the server's file is $want: MISMATCH"
fi
echo "  packets     $packets on $DEV, saved in build/demo.pcap; the first 20:"
echo
tcpdump -nr "$TMP/demo.pcap" 2>/dev/null | head -n 20 | sed 's/^/    /'
echo
[ "$want" = "$got" ] || die "the download does not match the file"
say "ok: an unmodified curl spoke TCP through netshim's userland stack"
