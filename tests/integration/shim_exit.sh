#!/bin/bash
# shim_exit.sh — what a program under the shim wrote before it exited
# still arrives, and its peer sees the FIN: the library finishes the
# connections at exit (exit(3) and atexit, and the _exit hook), within
# --linger (10 s by default).  Each case sends 10 MiB to a kernel-side
# receiver that exits by itself at end of stream (so it must see a FIN),
# within 15 s:
#   python3 sendall() then returns from main without closing the socket;
#   python3 sendall() then os._exit(0);
#   the same two with a receiver that starts reading only after 3 s (the
#     data is still queued in the shim when the program exits);
#   nc -q 0 (quits as soon as its stdin is at end of file);
#   socat -u OPEN:file TCP:... (closes and exits when the file is sent).
TEST=shim_exit
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

for p in socat nc; do
	command -v "$p" >/dev/null 2>&1 || fail "$p is not installed"
done
shim_ns_setup
mkrand "$TMPD/f" 10
T0=$(now_ms)
port=9000

# The kernel side: socat writes what arrives from the stack to OUT and
# exits at end of stream.
recv_socat() { # OUT
	kbg RECV 40 socat -u "TCP4-LISTEN:$port,reuseaddr,range=192.0.2.2/32" \
		"CREATE:$1"
	wait_port "$port"
}

# ... or python3 accepts at once but reads only after 3 s.
recv_slow() { # OUT
	kbg RECV 40 "$PY" -c 'import socket, sys, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("192.0.2.1", int(sys.argv[1])))
l.listen(1)
c, a = l.accept()
if a[0] != "192.0.2.2":
    sys.exit("connection from %s, not the stack" % a[0])
time.sleep(3)
with open(sys.argv[2], "wb") as f:
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        f.write(b)' "$port" "$1"
	wait_port "$port"
}

# check WHAT OUT T: the receiver exited by itself (FIN seen) within 15 s
# of T (in ms) and OUT is the whole file.
check() {
	bgwait "$RECV_PID" 15
	rc=$?
	[ "$rc" != 124 ] || fail "$1: the kernel-side receiver saw no end of stream (no FIN) within 15 s"
	[ "$rc" = 0 ] || fail "$1: the kernel-side receiver exited $rc"
	same "$TMPD/f" "$2" "$1"
	log "$1: 10 MiB and the FIN arrived, $(ms_since "$3") ms"
	port=$((port + 1))
}

# run_prog WHAT CMD...: CMD under the shim must exit 0 within 25 s.
run_prog() {
	what=$1
	shift
	t=$(now_ms)
	tshim 25 "$@"
	rc=$?
	[ "$rc" = 0 ] || fail "$what: the program under the shim exited $rc"
	log "$what: the program exited after $(ms_since "$t") ms"
}

SENDALL='import socket, sys
s = socket.create_connection(("192.0.2.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read())'

for recv in socat slow; do
	t=$(now_ms)
	"recv_$recv" "$TMPD/o-main-$recv"
	run_prog "python sendall, return ($recv reader)" \
		"$PY" -c "$SENDALL" "$port" "$TMPD/f"
	check "python sendall, return ($recv reader)" "$TMPD/o-main-$recv" "$t"

	t=$(now_ms)
	"recv_$recv" "$TMPD/o-exit-$recv"
	run_prog "python sendall, os._exit(0) ($recv reader)" \
		"$PY" -c "$SENDALL
import os
os._exit(0)" "$port" "$TMPD/f"
	check "python sendall, os._exit(0) ($recv reader)" "$TMPD/o-exit-$recv" "$t"
done

t=$(now_ms)
recv_socat "$TMPD/o-nc"
run_prog "nc -q 0" nc -q 0 192.0.2.1 "$port" <"$TMPD/f"
check "nc -q 0" "$TMPD/o-nc" "$t"

t=$(now_ms)
recv_socat "$TMPD/o-socat"
run_prog "socat -u OPEN:file" socat -u "OPEN:$TMPD/f" "TCP:192.0.2.1:$port"
check "socat -u OPEN:file" "$TMPD/o-socat" "$t"

pass "data written before exit arrives, then the FIN ($(ms_since "$T0") ms)"
