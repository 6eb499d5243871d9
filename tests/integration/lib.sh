# lib.sh — sourced by the integration tests; not a test itself
# (scripts/run-tests.sh skips it).
#
# Each test: `TEST=name; . "$(dirname "$0")/lib.sh"`, then ns_setup,
# echod_start [options], checks with in_ns / pass / fail.  It gets its own
# network namespace nstest-PID-NAME, in which netns-echod creates the TUN
# device ns0: the stack is 192.0.2.2/24 and 2001:db8::2/64, the kernel side
# 192.0.2.1 and 2001:db8::1.  Traffic never leaves that namespace.  The EXIT
# trap stops the echod it started (by PID) and deletes the namespace, also
# when a check fails or the test is interrupted.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ECHOD="$ROOT/build/netshim-echod"
PROBE="$ROOT/build/tests/udpprobe"
NS="nstest-$$-${TEST:?set TEST before sourcing lib.sh}"
STACK4=192.0.2.2
STACK6=2001:db8::2
PEER4=192.0.2.1
PEER6=2001:db8::1
TMPD=$(mktemp -d "/tmp/netshim-$TEST.XXXXXX")
ECHOD_PID=
NS_MADE=

log() { printf '%s: %s\n' "$TEST" "$*"; }

cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$ECHOD_PID" ]; then
		echod_stop || true
	fi
	if [ -n "$NS_MADE" ]; then
		ip netns del "$NS" 2>/dev/null || true
	fi
	[ -n "${KEEP_TMPD:-}" ] || rm -rf "$TMPD"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	log "FAIL: $*"
	if [ -s "$TMPD/echod.log" ]; then
		log "netshim-echod said:"
		sed 's/^/    /' "$TMPD/echod.log"
	fi
	exit 1
}

pass() {
	log "PASS${1:+: $1}"
	exit 0
}

# Fail early, clearly, when the test cannot run here.
require() {
	[ "$(id -u)" = 0 ] ||
		fail "needs root (network namespaces and a TUN device); run as root"
	[ -c /dev/net/tun ] ||
		fail "/dev/net/tun is missing: modprobe tun (or mknod /dev/net/tun c 10 200)"
	command -v ip >/dev/null 2>&1 || fail "ip (iproute2) is not installed"
	[ -x "$ECHOD" ] || fail "$ECHOD is not built: run make all"
	[ -x "$PROBE" ] || fail "$PROBE is not built: run make all"
}

ns_setup() {
	require
	ip netns add "$NS" || fail "cannot create network namespace $NS"
	NS_MADE=1
	ip -n "$NS" link set lo up || fail "lo up in $NS"
}

in_ns() { ip netns exec "$NS" "$@"; }

# echod_start [echod options]: run netshim-echod in the namespace and wait
# (at most 10 s) until it says it serves.
echod_start() {
	rm -f "$TMPD/ready"
	ip netns exec "$NS" "$ECHOD" --tun ns0 --addr "$STACK4/24" \
		--addr6 "$STACK6/64" --peer "$PEER4" --peer6 "$PEER6" \
		--ready "$TMPD/ready" --stats "$TMPD/stats" "$@" \
		>"$TMPD/echod.log" 2>&1 &
	ECHOD_PID=$!
	i=0
	while [ ! -e "$TMPD/ready" ]; do
		if ! kill -0 "$ECHOD_PID" 2>/dev/null; then
			wait "$ECHOD_PID" 2>/dev/null
			ECHOD_PID=
			fail "netshim-echod exited before it was ready"
		fi
		i=$((i + 1))
		[ "$i" -le 100 ] || fail "netshim-echod not ready within 10 s"
		sleep 0.1
	done
}

# Stop echod (SIGTERM, then SIGKILL after 5 s); it writes $TMPD/stats.
echod_stop() {
	[ -n "$ECHOD_PID" ] || return 0
	kill -TERM "$ECHOD_PID" 2>/dev/null || true
	i=0
	while kill -0 "$ECHOD_PID" 2>/dev/null && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$ECHOD_PID" 2>/dev/null; then
		log "netshim-echod ignored SIGTERM; killing it"
		kill -KILL "$ECHOD_PID" 2>/dev/null || true
	fi
	wait "$ECHOD_PID" 2>/dev/null
	local rc=$?
	ECHOD_PID=
	return "$rc"
}

# echod_snapshot FILE: ask the running echod for its counters (SIGUSR1)
# and copy them to FILE.
echod_snapshot() {
	rm -f "$TMPD/stats"
	kill -USR1 "$ECHOD_PID" || fail "netshim-echod is gone"
	i=0
	while [ ! -e "$TMPD/stats" ]; do
		i=$((i + 1))
		[ "$i" -le 50 ] || fail "no --stats file 5 s after SIGUSR1"
		sleep 0.1
	done
	cp "$TMPD/stats" "$1"
}

# stat_get FILE KEY: the counter's value (0 if absent).
stat_get() {
	awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$1"
}

# stat_sum FILE REGEX: the sum of the counters whose key matches.
stat_sum() {
	awk -v r="$2" '$1 ~ r { s += $2 } END { print s + 0 }' "$1"
}
