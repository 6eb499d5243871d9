#!/bin/bash
# tcp_loss.sh — 16 MiB through the stack's fault stage at 1 %, 5 % and
# 20 % loss (each with 1 % reordering and 1 % duplication, both
# directions, fixed seeds) arrive intact, both ways:
#   stack -> kernel: tcpdrv's source, the stack's loss recovery (SACK,
#                    RACK, RFC 6675, tail loss probes, undo) doing the work;
#                    tcpprobe checks every byte and the SHA-256;
#   kernel -> stack: the kernel's recovery against the stack's receiver
#                    (SACK blocks, out-of-order queue, D-SACK);
#                    tcpdrv's sink answers the SHA-256.
# The stack's counters must show SACK recovery at work.  At 20 % the
# stack's own sending is still too slow for 16 MiB (30-130 s a MiB): with
# a loss episode every round trip its window is cut to two segments, and
# a flight whose every ACK is lost costs a timeout with backoff (the fixed
# seed has a run of eight losses in a row); Linux's sender keeps 100-200
# segments in flight there (stack/README.md, "Loss recovery").  So that
# one case moves 256 KiB.  How fast each goes (and the same without SACK,
# part 1's NewReno) is `make bench`'s business (scripts/bench.sh), not
# this test's.
TEST=tcp_loss
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.inc"

SIZE=16M
ns_setup

for loss in ${LOSSES:-1 5 20}; do
	out_size=$SIZE
	[ "$loss" -lt 20 ] || out_size=256K
	FAULTS="--loss $loss --reorder 1 --dup 1 --seed $((20261126 + loss))"
	# ---- stack -> kernel
	# shellcheck disable=SC2086
	echod_start --listen 5002 --mode source --bytes "$out_size" --sha-out "$TMPD/source.sha" $FAULTS
	t0=$(date +%s.%N)
	out=$(in_ns timeout 300 "$TPROBE" recv --to "$STACK4" --port 5002 --bytes "$out_size" \
		--verify --sha-out "$TMPD/r.sha" --timeout 280 2>&1) ||
		fail "stack -> kernel at $loss% loss: $out"
	t1=$(date +%s.%N)
	echod_stop || fail "netshim-tcpdrv (source) did not exit cleanly"
	cmp -s "$TMPD/r.sha" "$TMPD/source.sha" || fail "stack -> kernel at $loss% loss: SHA-256 differs"
	stat_check tcp.completed 1
	stat_check tcp.errors 0
	rec=$(stat_get "$TMPD/stats" tcp.sack_recoveries)
	[ "$rec" -gt 0 ] || fail "stack -> kernel at $loss% loss: no SACK recovery counted"
	log "stack -> kernel, $out_size at $loss% loss: $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s; recoveries $rec, timeouts $(stat_get "$TMPD/stats" tcp.timeouts), probes $(stat_get "$TMPD/stats" tcp.tlps), RACK: lost $(stat_get "$TMPD/stats" tcp.rack_lost), timers $(stat_get "$TMPD/stats" tcp.rack_timers), lost retransmissions $(stat_get "$TMPD/stats" tcp.lost_retrans), undone $(stat_get "$TMPD/stats" tcp.undos)"
	# ---- kernel -> stack
	# shellcheck disable=SC2086
	echod_start --listen 5001 --mode sink $FAULTS
	t0=$(date +%s.%N)
	out=$(in_ns timeout 300 "$TPROBE" send --to "$STACK6" --port 5001 --bytes "$SIZE" \
		--timeout 280 2>&1) || fail "kernel -> stack at $loss% loss: $out"
	t1=$(date +%s.%N)
	echod_stop || fail "netshim-tcpdrv (sink) did not exit cleanly"
	stat_check tcp.completed 1
	stat_check tcp.errors 0
	log "kernel -> stack, $loss% loss: $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
done
pass "$SIZE each way through 1% and 5% loss, and through 20% ($SIZE in, 256K out), with reordering and duplication, intact"
