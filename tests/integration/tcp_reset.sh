#!/bin/bash
# tcp_reset.sh — errors reach the program as Linux's errno values:
#   a peer's abrupt reset (SO_LINGER {1, 0} then close) while netshim-tcpdrv
#       reads (python3 server: accept, close at once) or writes (tcpprobe:
#       read 64 KiB, then reset) -> ECONNRESET, exit status 1;
#   tcpdrv connecting to a closed kernel port -> ECONNREFUSED;
#   a kernel client connecting to a closed stack port -> ECONNREFUSED;
# each over IPv4 and IPv6.
TEST=tcp_reset
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.inc"

ns_setup

# expect_err WHAT ERRNAME CMD...: CMD exits 1 and names ERRNAME.
expect_err() {
	what=$1
	want=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	log "$what: exit $rc: $(printf '%s' "$out" | tr '\n' ' ')"
	[ "$rc" = 1 ] || fail "$what: exit status $rc, expected 1"
	printf '%s\n' "$out" | grep -q "($want)" || fail "$what: no $want in: $out"
}

# pyreset PORT: a python3 server that accepts one connection and resets it.
pyreset() {
	rm -f "$TMPD/kready"
	in_ns timeout 60 "$PYTHON" - "$1" "$TMPD/kready" >"$TMPD/kserver.log" 2>&1 <<'PY' &
import socket, struct, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
s.listen(8)
open(sys.argv[2], "w").close()
c, peer = s.accept()
time.sleep(0.3)  # the client is reading by now
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()  # RST
print("python3: reset the connection from", peer[0])
PY
	KPID=$!
	PIDS="$PIDS $KPID"
	i=0
	while [ ! -e "$TMPD/kready" ]; do
		kill -0 "$KPID" 2>/dev/null || fail "python3 server: $(cat "$TMPD/kserver.log")"
		i=$((i + 1))
		[ "$i" -le 50 ] || fail "python3 server not ready within 5 s"
		sleep 0.1
	done
}

for fam in 4 6; do
	if [ "$fam" = 4 ]; then peer=$PEER4; else peer="[$PEER6]"; fi

	# reset while reading
	pyreset 7001
	expect_err "IPv$fam: reset while tcpdrv reads" ECONNRESET \
		drv --connect "$peer:7001" --mode recv --timeout 30
	kserver_wait || fail "the python3 reset server failed"

	# reset while writing
	kserver --port 7002 --mode reset --after 64K --count 1 --timeout 30
	expect_err "IPv$fam: reset while tcpdrv writes" ECONNRESET \
		drv --connect "$peer:7002" --mode send --bytes 256M --timeout 30
	kserver_wait || fail "the tcpprobe reset server failed"

	# nobody listens on the kernel's port 7999
	expect_err "IPv$fam: tcpdrv connects to a closed kernel port" ECONNREFUSED \
		drv --connect "$peer:7999" --mode recv --timeout 30
done

# a kernel client to a closed port of the stack
echod_start --listen 5001 --mode sink
for dst in "$STACK4" "$STACK6"; do
	expect_err "kernel connects to closed stack port at $dst" ECONNREFUSED \
		in_ns timeout 30 "$TPROBE" recv --to "$dst" --port 7999 --timeout 20
done
echod_stop || fail "netshim-tcpdrv did not exit cleanly"
pass "ECONNRESET on reset while reading and writing, ECONNREFUSED both ways, IPv4 and IPv6"
