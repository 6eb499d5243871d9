#!/bin/bash
# shim_kill9.sh — kill -9 of a worker in the middle of transfers, 100
# times (issue 7): the other workers' connections complete; the killed
# worker's connections end as Linux ends them; stack memory returns to its
# baseline.  A Python pre-fork server (shim_kill9.py serve: a parent and 4
# workers accepting on its listener, each connection a paced 128 KiB
# payload) runs under netshim; kernel-side clients (6 at a time) fetch
# continuously while the controller stops a worker that is in the middle
# of a transfer, reads from /proc where it is (in a call to the owner, on a
# socket, asleep) and SIGKILLs it; the parent forks a replacement.
#
# What Linux does when a process dies holding a connection: its
# descriptors close; a socket with unread received data sends RST at once
# (tcp_close: "data was unread"), discarding what was not sent; one without
# sends what it had queued, then FIN.  So half the connections leave a byte
# unread at the worker (kind R: the client must see ECONNRESET) and half do
# not (kind F: the client sees the bytes written, then end of file — a
# short stream, never a reset).  A reference run of the same server on the
# kernel (no netshim) checks that these are Linux's answers; the run under
# netshim must give the same.  After the rounds, when the clients stopped,
# the parent's getsockopt(SOL_NETSHIM, NETSHIM_STATS) (shim/netshim.h) must
# be back at the baseline taken before them: packet buffers, TCP
# transmission records, stack endpoints, the owner's socket records and
# the session's clients (TIME_WAIT records, a fixed table of their own, are
# reported, not compared: they expire after 60 s).
TEST=shim_kill9
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

H="$(dirname "$0")/shim_kill9.py"
ROUNDS=${KILL9_ROUNDS:-100}
shim_ns_setup

wait_ready() {
	i=0
	until grep -q '^ready' "$1"; do
		i=$((i + 1))
		[ "$i" -le 200 ] || fail "the $2 server did not get ready in 20 s: $(cat "$1")"
		kill -0 "$3" 2>/dev/null || fail "the $2 server exited: $(cat "$1")"
		sleep 0.1
	done
}

# 1. the reference: the same server and kills on the kernel
kst="$TMPD/kstatus"
: >"$kst"
kbg KSRV 60 "$PY" "$H" serve 8100 8101 4 131072 "$kst"
wait_ready "$kst" kernel "$KSRV_PID"
out=$(tkern 60 "$PY" "$H" control "$PEER4" 8100 8101 8 6 131072 2>&1) ||
	fail "the reference run on the kernel: $out"
log "kernel reference, 8 kills: $(echo "$out" | grep '^killed workers' | cut -d: -f2)"
grep -q 'failed\|error' "$kst" && fail "the kernel server: $(grep 'failed\|error' "$kst")"
kill -TERM "$KSRV_PID"
bgwait "$KSRV_PID" 10 || fail "the kernel server did not stop on SIGTERM"

# 2. the same under netshim, ROUNDS kills
st="$TMPD/status"
: >"$st"
tshim_bg SRV 110 "$PY" "$H" serve 8000 8001 4 131072 "$st"
wait_ready "$st" netshim "$SRV_PID"
grep -q '^optcheck owner ok' "$st" ||
	fail "getsockopt(SOL_NETSHIM) in the owner: $(grep optcheck "$st")"
t0=$(now_ms)
out=$(tkern 100 "$PY" "$H" control "$STACK4" 8000 8001 "$ROUNDS" 6 131072 2>&1)
rc=$?
echo "$out" | sed "s/^/$TEST:   /"
[ "$rc" = 0 ] || fail "$ROUNDS kills under netshim (exit $rc)"
grep -q '^optcheck client ok' "$st" ||
	fail "getsockopt(SOL_NETSHIM) in a worker (a client): $(grep optcheck "$st")"
grep -q 'failed\|error' "$st" && fail "the server under netshim: $(grep 'failed\|error' "$st")"
kill -0 "$SRV_PID" 2>/dev/null || fail "the server under netshim is gone"
kill -TERM "$SRV_PID"
bgwait "$SRV_PID" 10 || fail "the server under netshim did not stop on SIGTERM"
pass "$ROUNDS kills in $(($(ms_since "$t0") / 1000)) s"
