#!/bin/bash
# tcp_fault.sh — 16 MiB through the stack's fault stage (2% loss, 2%
# reordering, 1% duplication, both directions, fixed seed) arrive intact,
# both ways and over IPv4 and IPv6:
#   kernel -> stack: tcpprobe send to netshim-tcpdrv's sink, which answers
#                    the SHA-256 of what it got (checked by tcpprobe);
#   stack -> kernel: tcpdrv's source; tcpprobe checks every byte against
#                    the pattern and compares SHA-256 with the source's.
# The fault stage's own counters must show that it lost, duplicated and
# reordered packets in both directions.
TEST=tcp_fault
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.inc"

SIZE=16M
SEED=20240607
FAULTS="--loss 2 --reorder 2 --dup 1 --seed $SEED"

ns_setup

# fault_check: the stats of the tcpdrv just stopped show every fault kind.
fault_check() {
	for k in fault.in.lost fault.in.duplicated fault.in.reordered \
		fault.out.lost fault.out.duplicated fault.out.reordered; do
		v=$(stat_get "$TMPD/stats" "$k")
		[ "$v" -gt 0 ] || fail "$1: $k is 0: the fault stage did not act"
	done
	log "$1: fault stage: in lost $(stat_get "$TMPD/stats" fault.in.lost) dup $(stat_get "$TMPD/stats" fault.in.duplicated) reordered $(stat_get "$TMPD/stats" fault.in.reordered); out lost $(stat_get "$TMPD/stats" fault.out.lost) dup $(stat_get "$TMPD/stats" fault.out.duplicated) reordered $(stat_get "$TMPD/stats" fault.out.reordered)"
}

# ---- kernel -> stack --------------------------------------------------------
# shellcheck disable=SC2086
echod_start --listen 5001 --mode sink $FAULTS
for dst in "$STACK4" "$STACK6"; do
	out=$(in_ns timeout 120 "$TPROBE" send --to "$dst" --port 5001 --bytes "$SIZE" \
		--timeout 100 2>&1) || fail "kernel -> stack at $dst under faults: $out"
	log "kernel -> stack, $dst: $out"
done
echod_stop || fail "netshim-tcpdrv (sink) did not exit cleanly"
stat_check tcp.completed 2
stat_check tcp.errors 0
fault_check "kernel -> stack"

# ---- stack -> kernel --------------------------------------------------------
# shellcheck disable=SC2086
echod_start --listen 5002 --mode source --bytes "$SIZE" --sha-out "$TMPD/source.sha" $FAULTS
: >"$TMPD/recv.sha"
for dst in "$STACK4" "$STACK6"; do
	out=$(in_ns timeout 120 "$TPROBE" recv --to "$dst" --port 5002 --bytes "$SIZE" \
		--verify --sha-out "$TMPD/r.sha" --timeout 100 2>&1) ||
		fail "stack -> kernel at $dst under faults: $out"
	cat "$TMPD/r.sha" >>"$TMPD/recv.sha"
	log "stack -> kernel, $dst: $out"
done
echod_stop || fail "netshim-tcpdrv (source) did not exit cleanly"
stat_check tcp.completed 2
stat_check tcp.errors 0
cmp -s "$TMPD/recv.sha" "$TMPD/source.sha" ||
	fail "received SHA-256 $(cat "$TMPD/recv.sha") differs from sent $(cat "$TMPD/source.sha")"
fault_check "stack -> kernel"
pass "$SIZE each way over IPv4 and IPv6 through 2% loss, 2% reordering, 1% duplication"
