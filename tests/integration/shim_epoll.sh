#!/bin/bash
# shim_epoll.sh — a differential test of readiness and waiting:
# shim_epoll.py (epoll_create1, epoll_ctl and its errors, level- and
# edge-triggered, EPOLLONESHOT, EPOLLRDHUP, EPOLLHUP/EPOLLERR in every TCP
# and UDP state, EPOLLEXCLUSIVE, timeouts, EINTR with and without
# SA_RESTART, epoll_pwait/epoll_pwait2 and their signal mask, dup'd and
# nested epoll descriptors, closing a registered socket) runs once on the
# kernel and once under netshim, over loopback; the outputs must match
# line for line (lines starting with "~" are where netshim differs on
# purpose, see shim_epoll.py).
TEST=shim_epoll
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"

EP="$ROOT/tests/integration/shim_epoll.py"
shim_ns_setup
# 192.0.2.99 (a SYN nobody answers) must not come back through the TUN.
in_ns sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 ||
	fail "cannot turn forwarding off in $NS"

# run_py SECS OUT CMD...: CMD (a python3 run), at most SECS, stdout in OUT.
run_py() {
	secs=$1
	o=$2
	shift 2
	timeout -k 5 "$secs" "$@" >"$o" 2>"$o.err"
	rc=$?
	[ "$rc" = 0 ] && grep -q '^done: [0-9]* checks$' "$o" || {
		tail -n 5 "$o" | sed 's/^/    stdout: /'
		sed 's/^/    stderr: /' "$o.err"
		fail "$(basename "$o"): exited $rc (124: timed out) without finishing"
	}
}

start=$(date +%s)
run_py 30 "$TMPD/kernel.out" ip netns exec "$NS" "$PY" "$EP"
log "kernel: $(tail -n 1 "$TMPD/kernel.out") in $(($(date +%s) - start)) s"
start=$(date +%s)
run_py 45 "$TMPD/shim.out" env NETSHIM_LINGER=2000 \
	ip netns exec "$NS" "$NETSHIM" --tun ns0 --addr "$STACK4/24" --addr6 "$STACK6/64" \
	--gateway "$PEER4" --gateway6 "$PEER6" -- "$PY" "$EP"
log "netshim: $(tail -n 1 "$TMPD/shim.out") in $(($(date +%s) - start)) s"

log "not compared (netshim differs on purpose): kernel => netshim"
paste <(grep '^~' "$TMPD/kernel.out") <(grep '^~' "$TMPD/shim.out" | sed 's/^~ [^:]*: //') |
	sed 's/^~ /    /; s/\t/ => /'
grep -v '^~' "$TMPD/kernel.out" >"$TMPD/kernel.cmp"
grep -v '^~' "$TMPD/shim.out" >"$TMPD/shim.cmp"
if ! diff -u "$TMPD/kernel.cmp" "$TMPD/shim.cmp" >"$TMPD/diff"; then
	n=$(grep -c '^-[^-]' "$TMPD/diff")
	log "$n of $(wc -l <"$TMPD/kernel.cmp") lines differ (- kernel, + netshim):"
	grep '^[-+][^-+]' "$TMPD/diff" | sed 's/^/    /'
	[ -s "$TMPD/shim.out.err" ] && sed 's/^/    stderr: /' "$TMPD/shim.out.err"
	fail "$n epoll/waiting checks differ from the kernel's"
fi
pass "$(($(wc -l <"$TMPD/kernel.cmp") - 1)) epoll and waiting checks as on the kernel"
