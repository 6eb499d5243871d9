#!/bin/bash
# shim_fds.sh — the shim's own descriptors (TUN, wake-up, epoll, each
# socket's private end) survive a program that closes or overwrites every
# descriptor it does not know: dup2 onto each number, close_range,
# closefrom, close of each number; the network keeps working after each,
# and the program's own descriptors stay below FD_SETSIZE.
TEST=shim_fds
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"

shim_ns_setup
bg ECHO timeout 60 socat TCP-LISTEN:7100,reuseaddr,fork EXEC:cat
wait_port 7100

cat >"$TMPD/f.py" <<'PY'
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
def echo(tag):
    s = socket.create_connection(("192.0.2.1", 7100), timeout=5)
    msg = (tag * 1000).encode()
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(65536)
        if not d:
            break
        got += d
    print(tag, "ok" if got == msg else "BAD", "fd<1024" if s.fileno() < 1024 else "fd>=1024",
          flush=True)
    return s
keep = echo("first")                 # a connection that must survive it all
null = os.open("/dev/null", os.O_RDWR)
low = max(keep.fileno(), null) + 1
for fd in range(512, 1024):          # dup2 over every private number
    os.dup2(null, fd)
echo("after-dup2")
os.closerange(low, 1024)             # close_range(2)
echo("after-closerange")
for fd in range(low, 1024):          # one close(2) at a time
    try:
        os.close(fd)
    except OSError:
        pass
echo("after-close")
libc.closefrom(low)                  # closefrom(3)
echo("after-closefrom")
keep.sendall(b"still")               # and the first connection lives
print("keep", "ok" if keep.recv(5) == b"still" else "BAD", flush=True)
PY
# A descriptor limit of 1024 puts the shim's private descriptors at
# 512..1023, where the loops above reach every one of them (dup2 onto
# them moves them below; with every number taken, dup2 would fail with
# EMFILE: the shim's descriptors count against the limit).
out=$(in_ns timeout 60 bash -c "ulimit -n 1024; exec \"\$0\" \"\$@\"" "$NETSHIM" --tun ns0 \
	--addr "$STACK4/24" --addr6 "$STACK6/64" --gateway "$PEER4" --gateway6 "$PEER6" -- \
	"$PY" "$TMPD/f.py" 2>&1) || fail "script failed: $out"
log "$(echo "$out" | tr '\n' ';')"
[ "$(echo "$out" | grep -c ' ok fd<1024$')" = 5 ] || fail "not every echo worked: $out"
echo "$out" | grep -q '^keep ok$' || fail "the first connection died: $out"
pass "private descriptors survive dup2, close_range, close and closefrom"
