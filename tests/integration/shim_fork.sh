#!/bin/bash
# shim_fork.sh — a process tree on one stack (issue 7, first step): a
# Python server under netshim binds a listener and forks two workers that
# accept on the inherited listener and echo (a pre-fork server); a third
# fork child opens a socket of its own to a kernel-side echo server; the
# parent's own sockets keep working.  The fork children's calls are served
# by the parent over the session's control socket (shim/session.h).
# Kernel-side clients make 20 connections (4 at a time) of 64 KiB each
# and check the echoes' sha256.  A fork child checks the calls the owner
# serves it (shim_fork.py child_calls).  Then the tree shapes
# (shim_fork.py tree): a socket made before fork and connected by the
# child, a grandchild, a reset in a child's connection, a multiprocessing
# pool (fork) whose workers accept on the listener, dup2 over the engine's
# private descriptors (in a child, in the owner), accept after an acceptor was SIGKILLed, the parent
# after a child was SIGKILLed mid-connect.  Then UDP in fork children
# (shim_fork.py udp): a child's own sockets to a kernel-side UDP echo
# server, a socket made before fork used by a child and the parent
# (IP_PKTINFO, sources), a child's server on 127.0.0.1, ECONNREFUSED on a
# child's connected socket, truncation.
TEST=shim_fork
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

HELPER="$(dirname "$0")/shim_fork.py"
shim_ns_setup
status="$TMPD/status"
: >"$status"

kbg ECHO 90 "$PY" "$HELPER" echo 9000 80
wait_port 9000
tshim_bg SRV 90 "$PY" "$HELPER" serve 8000 "$PEER4" 9000 "$status"

i=0
until grep -q '^ready' "$status"; do
	i=$((i + 1))
	[ "$i" -le 300 ] || fail "the server under netshim did not get ready in 30 s: $(cat "$status")"
	kill -0 "$SRV_PID" 2>/dev/null || fail "the server under netshim exited: $(cat "$status")"
	sleep 0.1
done
grep -q '^child-client ok bound-port=True' "$status" ||
	fail "a fork child's own connection to the kernel side: $(grep child "$status")"
grep -q '^calls ok' "$status" ||
	fail "a fork child's calls (socket, bind, listen, accept, connect, names, options, shutdown): $(grep calls "$status")"
log "fork child's calls: socket, bind, listen, accept(4), blocking and non-blocking connect, refused, names, options, shutdown: ok"
grep -q '^parent-client ok' "$status" ||
	fail "the parent's connection after forking: $(grep parent "$status")"
log "fork child's own socket: connect, echo, bind: ok; parent's own socket: ok"

out=$(tkern 60 "$PY" "$HELPER" clients "$STACK4" 8000 20 4 64) ||
	fail "kernel-side clients of the pre-fork workers: $out"
n=$(grep -c '^accept' "$status")
# 20, and the clients' first probe (are the workers there yet?)
[ "$n" = 21 ] || fail "the workers accepted $n connections, not 21"
w=$(grep '^accept' "$status" | sort -u | wc -l)
log "$out; workers that accepted: $w"
grep -q 'failed' "$status" && fail "$(grep failed "$status")"
kill -TERM "$SRV_PID"
bgwait "$SRV_PID" 10 || fail "the server under netshim did not stop on SIGTERM (exit $?)"

out=$(tshim 60 "$PY" "$HELPER" tree 2>&1) || fail "process tree shapes: $out"
log "process tree shapes: $(echo "$out" | tr '\n' ';')"

kbg UECHO 90 "$PY" "$HELPER" uecho 9053 80
wait_port 9053 udp
out=$(tshim 60 "$PY" "$HELPER" udp "$PEER4" "$PEER6" 9053 9054 2>&1) ||
	fail "UDP in fork children: $out"
log "UDP in fork children: $(echo "$out" | tr '\n' ';')"
pass
