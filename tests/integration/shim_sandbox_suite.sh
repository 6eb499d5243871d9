#!/bin/bash
# shim_sandbox_suite.sh — "a test suite that starts its own servers in
# child processes passes under `netshim --sandbox`" (issue 7): one shell
# script, run as `netshim --sandbox -- sh suite.sh` (from this test's own
# namespace; the launcher makes the sandbox's private one), where every
# process is a member of one session and meets the others on the stack's
# 127.0.0.1:
#   a. redis-server in the background (no persistence), waited for with
#      redis-cli PING (no kernel socket listens: ss); SET/GET/INCR give the right answers; redis-benchmark
#      -q -n 2000 -c 10 on 6 tests prints one "requests per second" line
#      per test and nothing else; redis-cli SHUTDOWN NOSAVE exits 0 and
#      redis-server exits 0;
#   b. a Python multiprocessing pool (fork context) whose 4 workers
#      accept on a listener the parent made: 8 connections of 256 KiB
#      from another process of the script, echoed; the client's and the
#      workers' sha256 lists match, and the parent served none itself.
# The suite exits 0; within 15 s no process is left in the sandbox's
# namespace (no keeper either).  Every step is under a timeout.
TEST=shim_sandbox_suite
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

HELPER="$(cd "$(dirname "$0")" && pwd)/shim_sandbox_suite.py"
for p in redis-server redis-cli redis-benchmark; do
	command -v "$p" >/dev/null 2>&1 ||
		fail "$p is not installed (Debian: apt-get install redis-server redis-tools)"
done
S="$TMPD/s"
mkdir "$S"

# sandbox_pids: every process in the sandbox's network namespace (the
# suite script writes its inode first thing), all started by this test.
sandbox_pids() {
	local want p
	want=$(cat "$S/netns" 2>/dev/null) || return 0
	[ -n "$want" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$want" ] && echo "${p#/proc/}"
	done
}
sandbox_reap() {
	local pids i
	pids=$(sandbox_pids)
	[ -n "$pids" ] || return 0
	kill -TERM $pids 2>/dev/null
	i=0
	while [ -n "$(sandbox_pids)" ] && [ "$i" -lt 30 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	pids=$(sandbox_pids)
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
}
trap 'shim_rc=$?; shim_cleanup; sandbox_reap; (exit $shim_rc); cleanup' EXIT

ns_setup
[ -x "$NETSHIM" ] || fail "$NETSHIM is not built: run make all"

cat >"$S/suite.sh" <<'EOF'
# the suite: sh suite.sh DIR HELPER, under netshim --sandbox
D=$1
H=$2
readlink /proc/self/ns/net >"$D/netns"
RPID=
PPID_=
die() {
	echo "SUITE FAIL: $*"
	[ -z "$RPID" ] || kill "$RPID" 2>/dev/null
	[ -z "$PPID_" ] || kill "$PPID_" 2>/dev/null
	exit 1
}

# ---- a. redis-server, redis-cli, redis-benchmark on 127.0.0.1 ----
redis-server --bind 127.0.0.1 --port 6390 --save '' --appendonly no \
	--daemonize no --dir "$D" --logfile "$D/redis.log" &
RPID=$!
i=0
until [ "$(timeout 3 redis-cli -h 127.0.0.1 -p 6390 ping 2>/dev/null)" = PONG ]; do
	kill -0 "$RPID" 2>/dev/null || die "redis-server exited: $(tail -n 5 "$D/redis.log")"
	i=$((i + 1))
	[ "$i" -le 50 ] || die "redis-server does not answer PING on 127.0.0.1:6390 after 10 s"
	sleep 0.2
done
echo "redis: PONG after $i retries"
# served by the stack's loopback: the sandbox's kernel has no such socket
! ss -Htln 'sport = :6390' | grep . || die "a kernel socket listens on port 6390 (above)"
R="timeout 10 redis-cli -h 127.0.0.1 -p 6390"
out=$($R set suite:k hello 2>&1) && [ "$out" = OK ] || die "SET: exit $?, said '$out'"
out=$($R get suite:k 2>&1) && [ "$out" = hello ] || die "GET: exit $?, said '$out'"
for n in 1 2 3; do
	out=$($R incr suite:n 2>&1) && [ "$out" = "$n" ] || die "INCR number $n: exit $?, said '$out'"
done
echo "redis: SET, GET, 3 INCR right"
timeout 30 redis-benchmark -h 127.0.0.1 -p 6390 -q -n 2000 -c 10 \
	-t ping,set,get,incr,lpush,lpop >"$D/bench.raw" 2>&1 ||
	die "redis-benchmark exited $?: $(tail -n 3 "$D/bench.raw")"
# -q rewrites a progress line with \r: keep the final lines
tr '\r' '\n' <"$D/bench.raw" | grep -v '^ *$' | grep -v 'rps=' >"$D/bench.out"
n=$(grep -c ': [0-9.]* requests per second' "$D/bench.out")
[ "$n" = 7 ] || die "redis-benchmark: $n result lines, not 7: $(cat "$D/bench.out")"
! grep -v ': [0-9.]* requests per second' "$D/bench.out" ||
	die "redis-benchmark printed the lines above besides its results"
sed 's/^/redis-benchmark: /' "$D/bench.out"
out=$($R shutdown nosave 2>&1) || die "redis-cli SHUTDOWN NOSAVE: exit $?, said '$out'"
[ -z "$out" ] || die "redis-cli SHUTDOWN NOSAVE said '$out'"
wait "$RPID"
rc=$?
RPID=
[ "$rc" = 0 ] || die "redis-server exited $rc after SHUTDOWN NOSAVE"
echo "redis: shut down, exit 0"

# ---- b. a multiprocessing pool accepting on the parent's listener ----
timeout 60 python3 "$H" pool 6400 8 "$D/pool.ready" >"$D/pool.out" 2>"$D/pool.err" &
PPID_=$!
i=0
until [ -e "$D/pool.ready" ]; do
	kill -0 "$PPID_" 2>/dev/null || die "the pool exited: $(cat "$D/pool.err")"
	i=$((i + 1))
	[ "$i" -le 100 ] || die "the pool is not listening after 10 s"
	sleep 0.1
done
timeout 40 python3 "$H" client 6400 8 256 >"$D/client.out" 2>"$D/client.err" ||
	die "the client exited $?: $(cat "$D/client.err")"
wait "$PPID_"
rc=$?
PPID_=
[ "$rc" = 0 ] || die "the pool exited $rc: $(cat "$D/pool.err")"
[ "$(wc -l <"$D/client.out")" = 8 ] || die "the client reports $(wc -l <"$D/client.out") connections, not 8"
cmp -s "$D/pool.out" "$D/client.out" ||
	die "the pool workers received other bytes than the client sent (sha256 lists differ)"
echo "pool: 8 x 256 KiB echoed by workers $(sed -n 's/^pids //p' "$D/pool.err"), sha256 matches"
echo "SUITE PASS"
EOF

t=$(now_ms)
tkern 50 "$NETSHIM" --sandbox -- sh "$S/suite.sh" "$S" "$HELPER" >"$S/suite.out" 2>&1
rc=$?
sed 's/^/    /' "$S/suite.out"
[ "$rc" = 0 ] && grep -qx 'SUITE PASS' "$S/suite.out" || {
	[ -s "$S/redis.log" ] && tail -n 10 "$S/redis.log" | sed 's/^/    redis: /'
	fail "netshim --sandbox -- sh suite.sh exited $rc$(grep '^SUITE FAIL' "$S/suite.out" | sed 's/^SUITE FAIL: /: /')"
}
log "the suite passed under netshim --sandbox in $(ms_since "$t") ms"
[ -s "$S/netns" ] || fail "the suite did not record its namespace"
[ "$(cat "$S/netns")" != "$(in_ns readlink /proc/self/ns/net)" ] ||
	fail "the suite ran in the test's namespace, not in a sandbox"
i=0
while [ -n "$(sandbox_pids)" ]; do
	i=$((i + 1))
	[ "$i" -le 150 ] || {
		for p in $(sandbox_pids); do
			log "  left: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
		done
		fail "15 s after the suite returned, processes are left in its sandbox (above)"
	}
	sleep 0.1
done
pass "redis-server + redis-cli + redis-benchmark and a fork pool on one session's 127.0.0.1 under --sandbox; nothing left after $((i / 10)).$((i % 10)) s"
