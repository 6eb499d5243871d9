#!/bin/bash
# udp_fault.sh — the fault stage under UDP echo: 10% loss, 10% duplication
# and 10% reordering in both directions of the stack's TUN interface, with
# a fixed seed.  udpprobe sends N small datagrams (one packet each, no
# fragments) and reports what came back; it must match what echod's
# per-direction fault counters say happened, exactly:
#
#   in  stage: N packets enter; lost_in are freed; each duplicate adds a
#              copy (a copy is never lost: loss comes first); queue drops
#              remove some:  passed_in = N - lost_in + dup_in - qdrop_in
#   the echo:  every datagram passed in is echoed once (a packet duplicated
#              on input yields two echoes):  entering_out = passed_in
#   out stage: received = passed_out
#                       = passed_in - lost_out + dup_out - qdrop_out
#   so         received = N - lost_in + dup_in - lost_out + dup_out
#                         (- the queue drops, 0 here)
#
# The counters are read as deltas around each run (SIGUSR1 snapshots), so
# the IPv4 and the IPv6 run are checked on their own.  Loss and duplication
# counts must lie within generous binomial bounds of the configured 10%;
# no datagram may come back corrupted.
TEST=udp_fault
. "$(dirname "$0")/lib.sh"

N=2000
SEED=20240521

ns_setup
echod_start --loss 10 --dup 10 --reorder 10 --seed "$SEED"

# check_run NAME DST: one udpprobe fault run and its checks.
check_run() {
	name=$1
	dst=$2
	echod_snapshot "$TMPD/before"
	out=$(in_ns timeout 120 "$PROBE" fault --to "$dst" --port 7 \
		--count "$N" --size 64 --burst 16 --gap-ms 2 2>&1)
	rc=$?
	log "$name: $out"
	[ "$rc" = 0 ] || fail "$name: udpprobe fault exited $rc"
	sleep 0.2
	echod_snapshot "$TMPD/after"
	verdict=$(printf '%s\n' "$out" | grep '^sent ' | awk -v n="$N" \
		-v before="$TMPD/before" -v after="$TMPD/after" '
	function d(k) { return A[k] - B[k] }
	function bound(what, got, trials, p,   mean, sd, slack) {
		mean = trials * p
		sd = sqrt(trials * p * (1 - p))
		slack = 6 * sd + 5
		if (got < mean - slack || got > mean + slack)
			bad = bad sprintf("%s: %d of %d, expected %.0f +- %.0f; ",
					  what, got, trials, mean, slack)
	}
	BEGIN {
		while ((getline line < before) > 0) { split(line, f, " "); B[f[1]] = f[2] }
		while ((getline line < after) > 0) { split(line, f, " "); A[f[1]] = f[2] }
	}
	{
		sent = $2; recv = $4; lost = $6; dups = $8; reord = $10; corrupt = $12
		li = d("fault.in.lost"); di = d("fault.in.duplicated")
		qi = d("fault.in.queue_drops"); pi = d("fault.in.passed")
		lo = d("fault.out.lost"); do_ = d("fault.out.duplicated")
		qo = d("fault.out.queue_drops"); po = d("fault.out.passed")
		ri = d("fault.in.reordered"); ro = d("fault.out.reordered")
		echoed = d("echo.datagrams")
		printf "counters: in lost %d dup %d qdrop %d reordered %d passed %d; " \
		       "out lost %d dup %d qdrop %d reordered %d passed %d; echoed %d\n",
		       li, di, qi, ri, pi, lo, do_, qo, ro, po, echoed
		bad = ""
		if (sent != n)
			bad = bad sprintf("udpprobe sent %d, not %d; ", sent, n)
		if (corrupt != 0)
			bad = bad sprintf("%d corrupted datagrams came back; ", corrupt)
		if (pi != n - li + di - qi)
			bad = bad sprintf("in stage passed %d, but N - lost + dup - qdrop = %d (traffic other than ours?); ",
					  pi, n - li + di - qi)
		if (echoed != pi)
			bad = bad sprintf("echod echoed %d datagrams, but the in stage passed %d; ",
					  echoed, pi)
		want = n - li + di - lo + do_ - qi - qo
		if (recv != want)
			bad = bad sprintf("received %d != N - lost_in + dup_in - lost_out + dup_out - qdrops = %d; ",
					  recv, want)
		if (recv != po)
			bad = bad sprintf("received %d != out stage passed %d; ", recv, po)
		bound("in loss", li, n, 0.10)
		bound("in dup", di, n - li, 0.10)
		bound("out loss", lo, pi, 0.10)
		bound("out dup", do_, pi - lo, 0.10)
		if (lost == 0 || dups == 0)
			bad = bad sprintf("the client saw no loss (%d) or no duplicate (%d); ", lost, dups)
		if (ri + ro == 0)
			bad = bad "the fault stage reordered nothing; "
		if (reord == 0)
			bad = bad "the client saw nothing reordered; "
		print (bad == "" ? "OK" : "BAD " bad)
	}')
	printf '%s\n' "$verdict" | sed "s/^/$TEST: $name: /"
	printf '%s\n' "$verdict" | grep -q '^OK$' || fail "$name: counters and echoes disagree"
}

check_run IPv4 "$STACK4"
check_run IPv6 "$STACK6"

echod_stop || fail "netshim-echod did not exit cleanly"
pass "$N datagrams each over IPv4 and IPv6 under loss, duplication, reordering"
