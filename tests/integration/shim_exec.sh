#!/bin/bash
# shim_exec.sh — a program under netshim that runs another with LD_PRELOAD
# and NETSHIM_* stripped from its environment (env -i, clearenv, an
# explicit envp) never puts that program on the host's network: every
# libc entry point puts them back (shim/exec.c).  shim_exec.c (compiled
# here) runs itself again through each entry point; the kernel side
# answers each connection with "from <client address>":
#   same process (execve, execveat, fexecve, execv, execvp, execvpe, execl,
#     execlp, execle): the new image opens the device afresh and connects
#     from the stack's 192.0.2.2;
#   a child (posix_spawn, posix_spawnp, system, popen, vfork + execve):
#     joins its ancestor's session (NETSHIM_SESSION) and connects through
#     the same stack, "from 192.0.2.2" — the host's network would answer
#     "from 192.0.2.1";
#   the program's own LD_PRELOAD and NETSHIM_LOG are kept (this library
#     goes first in LD_PRELOAD);
#   env -i curl, unmodified, fetches over the stack.
TEST=shim_exec
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || fail "no C compiler ($CC)"
command -v curl >/dev/null 2>&1 || fail "curl is not installed"
"$CC" -O2 -g -std=gnu11 -Wall -Wextra -Werror -o "$TMPD/shim_exec" \
	"$(dirname "$0")/shim_exec.c" 2>"$TMPD/cc.log" || fail "cannot compile shim_exec.c: $(cat "$TMPD/cc.log")"
X="$TMPD/shim_exec"
shim_ns_setup
port=9300

# The kernel side: "from ADDR\n" to each connection (HTTP too, for curl),
# at most 200 connections within 120 s.
kbg SRV 130 "$PY" -c 'import socket, sys, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("192.0.2.1", int(sys.argv[1])))
l.listen(16)
l.settimeout(120)
for _ in range(200):
    c, a = l.accept()
    c.settimeout(5)
    msg = "from %s\n" % a[0]
    try:
        req = c.recv(4096)
    except OSError:
        req = b""
    if req.startswith(b"GET "):
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(msg), msg.encode()))
    else:
        c.sendall(msg.encode())
    c.close()' "$port"
wait_port "$port"

# The fetch client sends nothing: the server's recv waits 5 s unless the
# client's FIN comes first, so fetch shuts down writing right away.
expect() { # WHAT WANT GOT
	[ "$3" = "$2" ] || fail "$1: wanted '$2', got '$3'"
	log "$1: $3"
}

for how in execve execveat fexecve execv execvp execvpe execl execlp execle; do
	got=$(tshim 20 "$X" run "$how" fetch 192.0.2.1 "$port" 2>"$TMPD/err") ||
		fail "$how: exit $?: $(cat "$TMPD/err")"
	expect "$how (same process)" "from 192.0.2.2" "$got"
done
for how in posix_spawn posix_spawnp system popen vfork; do
	got=$(tshim 20 "$X" run "$how" fetch 192.0.2.1 "$port" 2>"$TMPD/err") ||
		fail "$how: exit $?: $(cat "$TMPD/err")"
	expect "$how (a child: the session's stack, never the host's)" "from 192.0.2.2" "$got"
done
# what the new programs see: this library and the session's variables
lib=$(readlink -f "$LIBSHIM")
for how in execve posix_spawn system vfork; do
	got=$(tshim 20 "$X" run "$how" env 2>"$TMPD/err") || fail "$how env: $(cat "$TMPD/err")"
	expect "$how: environment" "LD_PRELOAD=$lib NETSHIM_TUN=ns0 NETSHIM_LOG=-" "$got"
	got=$(tshim 20 "$X" run "$how+own" env 2>"$TMPD/err") || fail "$how+own env: $(cat "$TMPD/err")"
	expect "$how: the program's own values kept" \
		"LD_PRELOAD=$lib:/lib/x86_64-linux-gnu/libm.so.6 NETSHIM_TUN=ns0 NETSHIM_LOG=error" "$got"
done
# an unmodified program: env(1) -i execs curl with nothing in its environment
got=$(tshim 20 env -i /usr/bin/curl -s "http://192.0.2.1:$port/" 2>"$TMPD/err") ||
	fail "env -i curl: exit $?: $(cat "$TMPD/err")"
expect "env -i curl" "from 192.0.2.2" "$got"
pass "14 exec entry points and env -i curl: LD_PRELOAD and NETSHIM_* put back, children join the session, never the host's network"
