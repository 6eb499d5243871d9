#!/bin/bash
# shim_tree.sh — one netshim launch, one network for the whole process
# tree (issue 7): programs exec'd by a session's processes join its stack
# (NETSHIM_SESSION), inherited sockets keep working across exec, and the
# session outlives its first process (a keeper, shim/README "Processes").
#   1. sh -c 'python3 -m http.server --bind :: & ...; curl ...': siblings
#      meet over 127.0.0.1, ::1 and the stack's own address; the file
#      arrives intact and no TCP packet crosses the TUN (the session's
#      pcap); the server keeps serving the kernel side after sh exits (the
#      keeper), and the keeper ends when the server is stopped.
#   2. inetd-style: a parent accepts, forks, the child execs a program
#      with the socket as stdin and stdout — sh's read builtin and
#      python's stdio — and the peer gets exactly the right bytes.
#   3. socat TCP-LISTEN,fork EXEC:cat,nofork: 4 MiB echoed, by sha256.
#   4. sh -c 'nc -N HOST PORT < 10 MiB': nc exits as soon as it has
#      written; the whole file arrives (sha256).
#   6. the keeper ends when the last member goes, also when that member's
#      socket failed (a refused connect: no B left to tell when its A
#      closes; the owner looks for A's inode among the AF_UNIX sockets).
#   7. the owner killed (SIGKILL): the session fails closed — a child
#      blocked in accept returns ENETDOWN at once, its next socket() and
#      calls on the listener give ENETDOWN; nothing hangs.
#   5. two launches are two stacks: a netshim launched inside a session
#      gets a device and loopback of its own — its curl to the session's
#      127.0.0.1 server is refused, the session's own curl is served.
TEST=shim_tree
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

H="$(dirname "$0")/shim_tree.py"
for p in curl socat nc; do
	command -v $p >/dev/null 2>&1 || fail "$p is not installed"
done
shim_ns_setup

# 1. siblings over the stack's loopback, no packet on the TUN
mkdir "$TMPD/www"
mkrand "$TMPD/www/f" 2
pidf="$TMPD/http.pid"
NETSHIM_PCAP="$TMPD/s1.pcap" tshim 60 sh -c "cd '$TMPD/www' && $PY -m http.server 8000 --bind :: >/dev/null 2>&1 & echo \$! >'$pidf'; \
	i=0; until curl -s -o /dev/null http://127.0.0.1:8000/ || [ \$i -gt 50 ]; do sleep 0.2; i=\$((i+1)); done; \
	curl -s -o '$TMPD/got1' http://127.0.0.1:8000/f && curl -s -o '$TMPD/got1v6' 'http://[::1]:8000/f' && \
	curl -s -o '$TMPD/got1own' http://$STACK4:8000/f" 2>"$TMPD/err1" ||
	fail "sh -c 'server & curl': exit $?: $(cat "$TMPD/err1")"
hpid=$(cat "$pidf")
[ -n "$hpid" ] && kill -0 "$hpid" 2>/dev/null || fail "the http.server is gone after sh exited"
BG_PIDS="$BG_PIDS $hpid"
same "$TMPD/www/f" "$TMPD/got1" "curl from a sibling's http.server over 127.0.0.1"
same "$TMPD/www/f" "$TMPD/got1v6" "curl from a sibling's http.server over ::1"
same "$TMPD/www/f" "$TMPD/got1own" "curl from a sibling's http.server over the stack's $STACK4"
n=$(tcpdump -nr "$TMPD/s1.pcap" tcp 2>/dev/null | wc -l)
[ "$n" = 0 ] || fail "the stack sent $n TCP packets on the TUN for exchanges within the stack"
log "sh -c 'http.server & curl': 2 MiB intact over 127.0.0.1, ::1 and $STACK4, 0 TCP packets on the TUN"
# the session outlived sh: the keeper serves the server's connections
out=$(tkern 20 curl -s -o "$TMPD/got1k" -w '%{http_code}' "http://$STACK4:8000/f" 2>&1) ||
	fail "the kernel side's curl after sh exited: $out"
[ "$out" = 200 ] || fail "the kernel side's curl after sh exited: HTTP $out"
same "$TMPD/www/f" "$TMPD/got1k" "the kernel side's curl after sh exited (through the keeper)"
keeper=$(pgrep -f -n "^sh -c cd '$TMPD/www'" || true)
[ -n "$keeper" ] || fail "no keeper process serves the session after sh exited"
BG_PIDS="$BG_PIDS $keeper"
log "after sh exited, the keeper (pid $keeper) still serves: the kernel side's curl got the file intact"
kill "$hpid"
wait_for 15 "the keeper (pid $keeper) did not end within 15 s after the last member" gone "$keeper"
log "the keeper ended $WAITED_MS ms after the server was stopped"

# 2. inetd-style handoff across exec: the shell's read, python's stdio
tshim_bg INETD 60 "$PY" "$H" inetd 8100 1 sh -c 'read line; echo "got $line"' >"$TMPD/inetd1"
wait_for 20 "the inetd parent did not get ready: $(cat "$TMPD/inetd1")" grep -q '^ready' "$TMPD/inetd1"
out=$(tkern 20 "$PY" "$H" talk "$STACK4" 8100 'hello tree\n') || fail "inetd (sh): $out"
[ "$out" = "b'got hello tree\\n'" ] || fail "inetd (sh read): got $out"
bgwait "$INETD_PID" 20 || fail "the inetd parent did not finish (exit $?)"
tshim_bg INETD2 60 "$PY" "$H" inetd 8101 1 "$PY" -c 'import sys; l = sys.stdin.readline(); sys.stdout.write("got " + l); sys.stdout.flush()' >"$TMPD/inetd2"
wait_for 20 "the second inetd parent did not get ready: $(cat "$TMPD/inetd2")" grep -q '^ready' "$TMPD/inetd2"
out=$(tkern 20 "$PY" "$H" talk "$STACK4" 8101 'line one\nline two\n') || fail "inetd (python): $out"
[ "$out" = "b'got line one\\n'" ] || fail "inetd (python stdio): got $out"
bgwait "$INETD2_PID" 20 || fail "the second inetd parent did not finish (exit $?)"
log "inetd-style: sh read and python stdio on an inherited socket: exact bytes"

# 3. socat: a fork child per connection execs cat on the socket
tshim_bg SOCAT 60 socat TCP-LISTEN:8200,reuseaddr,fork EXEC:cat,nofork
# socat forks a child per connection: a probe connection is harmless
probe() { tkern 2 "$PY" -c "import socket; socket.create_connection(('$STACK4', $1), timeout=1).close()" 2>/dev/null; }
wait_for 20 "socat under netshim does not listen on $STACK4:8200" probe 8200
mkrand "$TMPD/s3" 4
for k in 1 2; do
	out=$(tkern 30 "$PY" "$H" send "$STACK4" 8200 "$TMPD/s3") || fail "socat echo $k: $out"
	[ "$out" = "$(sha "$TMPD/s3")" ] || fail "socat echo $k: sha256 differs"
done
log "socat fork + exec cat,nofork: 2 x 4 MiB echoed intact"
kill -TERM "$SOCAT_PID"
bgwait "$SOCAT_PID" 20
[ $? != 124 ] || fail "socat did not stop on SIGTERM"
# the device is free once the session ended
wait_for 10 "socat's session did not end within 10 s" eval '! pgrep -f "^socat TCP-LISTEN:8200" >/dev/null'

# 4. nc exits at once; the session delivers the rest
mkrand "$TMPD/s4" 10
kbg SINK 60 "$PY" "$H" sink 8300 "$TMPD/got4"
wait_port 8300
t0=$(now_ms)
tshim 60 sh -c "nc -N $PEER4 8300 < '$TMPD/s4'" 2>"$TMPD/err4" || fail "nc: exit $?: $(cat "$TMPD/err4")"
log "nc returned after $(ms_since "$t0") ms"
bgwait "$SINK_PID" 30 || fail "the kernel-side sink did not finish (exit $?)"
same "$TMPD/s4" "$TMPD/got4" "sh -c 'nc < 10 MiB'"
log "sh -c 'nc -N < 10 MiB': the whole file arrived"

# 5. a launch inside the session is a session of its own
out=$(tshim 60 sh -c "cd '$TMPD/www' && $PY -m http.server 8001 --bind 127.0.0.1 >/dev/null 2>&1 & p=\$!; \
	i=0; until curl -s -o /dev/null http://127.0.0.1:8001/ || [ \$i -gt 50 ]; do sleep 0.2; i=\$((i+1)); done; \
	curl -s -o /dev/null -w 'same=%{http_code} ' http://127.0.0.1:8001/f; \
	'$NETSHIM' --addr 198.51.100.2/24 --gateway 198.51.100.1 --addr6 2001:db8:1::2/64 --gateway6 2001:db8:1::1 -- curl -s -o /dev/null -w 'other=%{http_code}' \
		--connect-timeout 5 http://127.0.0.1:8001/f; echo \" rc=\$?\"; kill \$p" 2>"$TMPD/err5") ||
	fail "nested launch: exit $?: $out $(cat "$TMPD/err5")"
[ "$out" = "same=200 other=000 rc=7" ] || fail "nested launch: wanted 'same=200 other=000 rc=7' (refused), got '$out': $(cat "$TMPD/err5")"
log "a netshim launched inside the session has its own stack: its curl to the session's 127.0.0.1 is refused"

# 6. the keeper ends after a member whose only socket failed
tshim 30 sh -c "$PY -c 'import socket, time
s = socket.socket()
try:
    s.connect((\"127.0.0.1\", 9))
except ConnectionRefusedError:
    print(\"refused\", flush=True)
time.sleep(2)' & : keeper6" >"$TMPD/out6" 2>&1 || fail "refused member: exit $?: $(cat "$TMPD/out6")"
keeper=$(pgrep -f -n "keeper6" || true)
[ -n "$keeper" ] || fail "no keeper after sh exited with a member left: $(cat "$TMPD/out6")"
BG_PIDS="$BG_PIDS $keeper"
wait_for 10 "the keeper (pid $keeper) outlived its last member by more than 8 s" gone "$keeper"
grep -q refused "$TMPD/out6" || fail "the member's connect to a closed port was not refused: $(cat "$TMPD/out6")"
log "the keeper ended $WAITED_MS ms after sh exited (its member slept 2 s after a refused connect)"

# 7. the owner killed: fail closed
tshim_bg ORPH 30 "$PY" "$H" orphan "$TMPD/out7" >"$TMPD/pids7"
wait_for 10 "the orphan test's owner did not start" test -s "$TMPD/pids7"
read -r owner child <"$TMPD/pids7"
BG_PIDS="$BG_PIDS $child"
# the child sleeps in the kernel on its listener's A (accept waits there)
in_accept() { grep -q unix "/proc/$child/wchan" 2>/dev/null; }
wait_for 10 "the child did not block in accept: $(cat "/proc/$child/wchan" 2>&1)" in_accept
kill -KILL "$owner"
wait_for 5 "a child blocked in accept did not return within 5 s of the owner's SIGKILL" test -s "$TMPD/out7"
got=$(cat "$TMPD/out7")
[ "$got" = "accept ENETDOWN socket ENETDOWN getsockname ENETDOWN" ] ||
	fail "after the owner's SIGKILL: $got"
log "the owner killed: the child's accept, socket and getsockname give ENETDOWN within $WAITED_MS ms"
pass
