#!/bin/bash
# shim_api.sh — a differential test of the socket API: shim_api.py runs
# its loopback checks (TCP and UDP over 127.0.0.1 and ::1: connect, bind,
# listen/accept, names, shutdown, resets, poll/select masks, timeouts,
# options, dual stack, ioctls, dup/fork, bulk data) once on the kernel and
# once under netshim; the outputs must match line for line (lines starting
# with "~" are where netshim differs on purpose, see shim_api.py).  The
# loopback run must put no TCP or UDP packet on the TUN device (--pcap).
# Then, under netshim only, the checks that need a remote peer run against
# the kernel in the namespace (shim_api.py --serve), compared with the
# kernel's behaviour written below (what the same checks print between two
# kernels on a veth pair).
TEST=shim_api
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"

API="$ROOT/tests/integration/shim_api.py"
PORT=7100
command -v tcpdump >/dev/null 2>&1 || fail "tcpdump is not installed"
shim_ns_setup
# 192.0.2.99 (remote checks: a SYN nobody answers) must not be forwarded
# back into the TUN by the namespace's kernel.
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

# ---- loopback: kernel vs netshim --------------------------------------------

start=$(date +%s)
run_py 30 "$TMPD/kernel.out" ip netns exec "$NS" "$PY" "$API"
log "kernel: $(tail -n 1 "$TMPD/kernel.out") in $(($(date +%s) - start)) s"
start=$(date +%s)
run_py 45 "$TMPD/shim.out" env NETSHIM_PCAP="$TMPD/lo.pcap" NETSHIM_LINGER=2000 \
	ip netns exec "$NS" "$NETSHIM" --tun ns0 --addr "$STACK4/24" --addr6 "$STACK6/64" \
	--gateway "$PEER4" --gateway6 "$PEER6" -- "$PY" "$API"
log "netshim: $(tail -n 1 "$TMPD/shim.out") in $(($(date +%s) - start)) s"

log "not compared (netshim differs on purpose): kernel => netshim"
paste <(grep '^~' "$TMPD/kernel.out") <(grep '^~' "$TMPD/shim.out" | sed 's/^~ [^:]*: //') |
	sed 's/^~ /    /; s/\t/ => /'
grep -v '^~' "$TMPD/kernel.out" >"$TMPD/kernel.cmp"
grep -v '^~' "$TMPD/shim.out" >"$TMPD/shim.cmp"
loop_diff=
if ! diff -u "$TMPD/kernel.cmp" "$TMPD/shim.cmp" >"$TMPD/loop.diff"; then
	loop_diff=$(grep -c '^-[^-]' "$TMPD/loop.diff")
	log "loopback: $loop_diff of $(wc -l <"$TMPD/kernel.cmp") lines differ (- kernel, + netshim):"
	grep '^[-+][^-+]' "$TMPD/loop.diff" | sed 's/^/    /'
fi

# Loopback never reaches the TUN: no TCP or UDP there (the kernel's own
# IPv6 router solicitations and MLD reports into a fresh device are fine).
[ -s "$TMPD/lo.pcap" ] || fail "no pcap written by the netshim run"
leaked=$(tcpdump -nr "$TMPD/lo.pcap" 'tcp or udp' 2>/dev/null | wc -l)
[ "$leaked" = 0 ] || {
	tcpdump -nr "$TMPD/lo.pcap" 'tcp or udp' 2>/dev/null | head -n 10 | sed 's/^/    /'
	fail "the loopback checks put $leaked TCP/UDP packets on the TUN"
}
log "ok: no TCP/UDP packet on the TUN during the loopback checks"

# ---- remote: netshim against the namespace's kernel ------------------------

cat >"$TMPD/remote.want" <<'EOF'
r4.connect: None
r4.names: ('192.0.2.2', True)
r4.echo: (None, 'ok', 200000, True)
r4.echo.eof: ('IN|OUT|HUP|RDHUP', b'')
r4.refused: ECONNREFUSED
r4.refused.nb: ('EINPROGRESS', 'IN|OUT|ERR|HUP|RDHUP', 'ECONNREFUSED')
r4.reset: ('IN|OUT|ERR|HUP|RDHUP', 'ECONNRESET', b'')
r4.peer-close: ('IN|OUT|RDHUP', b'')
r4.udp: 300
r4.udp.reply: (300, True, '0.0.0.0')
r4.udp.big: True
r4.udp.refused: ECONNREFUSED
r6.connect: None
r6.names: ('2001:db8::2', True)
r6.echo: (None, 'ok', 200000, True)
r6.echo.eof: ('IN|OUT|HUP|RDHUP', b'')
r6.refused: ECONNREFUSED
r6.refused.nb: ('EINPROGRESS', 'IN|OUT|ERR|HUP|RDHUP', 'ECONNREFUSED')
r6.reset: ('IN|OUT|ERR|HUP|RDHUP', 'ECONNRESET', b'')
r6.peer-close: ('IN|OUT|RDHUP', b'')
r6.udp: 300
r6.udp.reply: (300, True, '::')
r6.udp.big: True
r6.udp.refused: ECONNREFUSED
r.silent.connect: EINPROGRESS
r.silent.mask: 0
r.silent.again: EALREADY
r.silent.so_error: 0
r.silent.io: ('EAGAIN', 'EAGAIN', 'ENOTCONN', 0)
r.silent.sndtimeo: ('EINPROGRESS', True)
done: 30 checks
EOF

bg SERVE timeout 55 "$PY" "$API" --serve "$PORT" >"$TMPD/serve.log" 2>&1
wait_port "$PORT"
wait_port "$PORT" udp
start=$(date +%s)
timeout -k 5 20 env NETSHIM_LINGER=2000 ip netns exec "$NS" "$NETSHIM" --tun ns0 \
	--addr "$STACK4/24" --addr6 "$STACK6/64" --gateway "$PEER4" --gateway6 "$PEER6" \
	-- "$PY" "$API" --remote "$PEER4" "$PEER6" "$PORT" >"$TMPD/remote.out" 2>"$TMPD/remote.err"
rc=$?
log "remote: exit $rc in $(($(date +%s) - start)) s"
remote_diff=
if ! diff -u "$TMPD/remote.want" "$TMPD/remote.out" >"$TMPD/remote.diff"; then
	remote_diff=1
	log "remote: differs from the kernel's behaviour (- kernel, + netshim):"
	grep '^[-+][^-+]' "$TMPD/remote.diff" | sed 's/^/    /'
	sed 's/^/    stderr: /' "$TMPD/remote.err"
fi

[ -z "$loop_diff" ] || fail "loopback: $loop_diff lines differ from the kernel's"
[ -z "$remote_diff" ] || fail "remote: netshim differs from the kernel's behaviour"
pass "$(($(wc -l <"$TMPD/kernel.cmp") - 1)) loopback checks as on the kernel, no TUN traffic; 30 remote checks"
