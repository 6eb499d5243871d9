#!/bin/bash
# shim_iperf3.sh — iperf3, unmodified, under the shim against iperf3 on
# the kernel side, as client and as server (iperf3 -s serves test after
# test in one process, without forking; -D, which daemonizes, is not used):
#   TCP 3 s, TCP -R (reverse: the server sends), TCP -P 4 (four parallel
#   streams), UDP -u -b 100M — over IPv4; TCP and UDP over IPv6.
# Each run's -J report is checked by shim_srv_iperf3.py: no "error" key,
# the streams connected between the stack's and the kernel side's
# addresses, bytes > 0 sent and received (TCP: received <= sent), for UDP
# lost_percent reported and not every packet lost.  iperf3 reads TCP_INFO
# (retransmits, cwnd, RTT) and TCP_CONGESTION from its sockets; the stack
# answers both.  The server under the shim must survive every test.
TEST=shim_iperf3
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

command -v iperf3 >/dev/null 2>&1 || fail "iperf3 is not installed (Debian: apt-get install iperf3)"
CHECK="$(cd "$(dirname "$0")" && pwd)/shim_srv_iperf3.py"
shim_ns_setup
T0=$(now_ms)

# The runs: NAME FAMILY KIND STREAMS IPERF3-OPTIONS
RUNS='tcp 4 tcp 1 -t 3
rev 4 tcp 1 -t 3 -R
par4 4 tcp 4 -t 3 -P 4
udp 4 udp 1 -t 3 -u -b 100M
tcp6 6 tcp 1 -t 3
udp6 6 udp 1 -t 3 -u -b 100M'

# run SIDE NAME V KIND STREAMS OPTS...: one iperf3 client run (under the
# shim when SIDE is shim, on the kernel side otherwise), checked.
run() {
	side=$1 name=$2 v=$3 kind=$4 streams=$5
	shift 5
	if [ "$side" = shim ]; then
		cmd=tshim port=5201
		if [ "$v" = 4 ]; then me=192.0.2.2 to=192.0.2.1; else me=2001:db8::2 to=2001:db8::1; fi
	else
		cmd=tkern port=5202
		if [ "$v" = 4 ]; then me=192.0.2.1 to=192.0.2.2; else me=2001:db8::1 to=2001:db8::2; fi
	fi
	out="$TMPD/$side-$name.json"
	t=$(now_ms)
	$cmd 25 iperf3 -c "$to" -p "$port" --connect-timeout 5000 -J "$@" >"$out" 2>"$out.err"
	rc=$?
	if ! sum=$("$PY" "$CHECK" "$out" "$kind" "$streams" "$me" "$to" 2>&1) || [ "$rc" != 0 ]; then
		head -c 3000 "$out" | sed 's/^/    /'
		sed 's/^/    stderr: /' "$out.err"
		fail "iperf3 -c $to $* (client: $side): exit $rc; $sum"
	fi
	log "client $side, IPv$v, iperf3 $*: $sum ($(ms_since "$t") ms)"
}

# ---- iperf3 client under the shim, kernel-side server ------------------------
kbg KSRV 120 iperf3 -s -p 5201 >"$TMPD/ksrv.log" 2>&1
wait_port 5201
while read -r name v kind streams opts; do
	# shellcheck disable=SC2086
	run shim "$name" "$v" "$kind" "$streams" $opts
done <<<"$RUNS"
kill -0 "$KSRV_PID" 2>/dev/null || fail "the kernel-side iperf3 server died"
kill -TERM "$KSRV_PID"
bgwait "$KSRV_PID" 10

# ---- iperf3 server under the shim, kernel-side client -------------------------
tshim_bg SSRV 120 iperf3 -s -p 5202 >"$TMPD/ssrv.log" 2>&1
i=0
until tkern 3 bash -c 'exec 3<>/dev/tcp/192.0.2.2/5202' 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -le 50 ] || fail "iperf3 -s under the shim does not listen on 192.0.2.2:5202 after 10 s: $(cat "$TMPD/ssrv.log")"
	sleep 0.2
done
# (the probe connection above ends without a test: the server logs it and
# goes on listening)
while read -r name v kind streams opts; do
	kill -0 "$SSRV_PID" 2>/dev/null || fail "iperf3 -s under the shim died before run $name: $(tail -n 20 "$TMPD/ssrv.log")"
	# shellcheck disable=SC2086
	run kern "$name" "$v" "$kind" "$streams" $opts
done <<<"$RUNS"
kill -0 "$SSRV_PID" 2>/dev/null || fail "iperf3 -s under the shim died: $(tail -n 20 "$TMPD/ssrv.log")"
kill -TERM "$SSRV_PID"
bgwait "$SSRV_PID" 10
[ $? != 124 ] || fail "iperf3 -s under the shim ignores SIGTERM"

pass "iperf3 under the shim, client and server, TCP and UDP, IPv4 and IPv6 ($(ms_since "$T0") ms)"
