#!/bin/bash
# shim_idle.sh — no busy waiting: idle programs under the shim use
# (almost) no CPU.  Two programs under netshim at once, on two TUN devices:
#   python3 -m http.server -p HTTP/1.1 (TUN ns0, 192.0.2.2) with one idle
#     keep-alive client connection (one request answered, then nothing);
#   a waiter (TUN ns1, 198.51.100.2) whose threads block in epoll_wait (a
#     listener, an accepted and an outgoing connection, a UDP socket and
#     an idle loopback connection inside the stack in the set), in accept
#     (no timeout), in recv on an outgoing connection, and in recvfrom.
# Over 10 s each process's CPU time (utime+stime of all its threads, from
# /proc/PID/stat) must stay under 0.2 s, and the shim's stack thread must
# switch (wake) fewer than 100 times (per-thread counts are logged).  Then
# the kernel side wakes every one of them (a second request on the
# keep-alive connection, a connection to the accepting thread, data on each
# connection, datagrams; the waiter's main thread, blocked in sigwait, gets
# SIGUSR1 and wakes the loopback connection): each must answer, which shows
# they were blocked where they should be and the idle connections still
# work.
TEST=shim_idle
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

IDLE_SECS=10
LIMIT_TICKS_MS=200 # per process, over IDLE_SECS
LIMIT_WAKEUPS=100  # the stack thread's context switches, over IDLE_SECS
K1=198.51.100.1
S1=198.51.100.2
K1_6=2001:db8:1::1
S1_6=2001:db8:1::2

shim_ns_setup
# a second TUN for the second program (one stack per process today)
in_ns ip tuntap add dev ns1 mode tun || fail "cannot create TUN ns1"
in_ns ip addr add "$K1/24" dev ns1 || fail "address on ns1"
in_ns ip -6 addr add "$K1_6/64" dev ns1 nodad || fail "IPv6 address on ns1"
in_ns ip link set ns1 up || fail "ns1 up"

mkdir "$TMPD/www"
printf 'small file %0500d\n' 0 >"$TMPD/www/small"
small_len=$(stat -c %s "$TMPD/www/small")

# ---- the waiter (under the shim, on ns1) -----------------------------------
cat >"$TMPD/waiter.py" <<'EOF'
import os, select, signal, socket, sys, threading, time
d, k1 = sys.argv[1], sys.argv[2]
def note(name, text=""):
    with open(os.path.join(d, name + ".tmp"), "w") as f:
        f.write(text)
    os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))
def log(*a):
    print(*a, flush=True)
l_acc = socket.create_server(("0.0.0.0", 9001))   # a thread blocks in accept
l_ep = socket.create_server(("0.0.0.0", 9002))    # in the epoll set
u_ep = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u_ep.bind(("0.0.0.0", 9003))
u_blk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u_blk.bind(("0.0.0.0", 9004))
out_ep = socket.create_connection((k1, 9100), timeout=10); out_ep.settimeout(None)
out_blk = socket.create_connection((k1, 9100), timeout=10); out_blk.settimeout(None)
lo_l = socket.create_server(("127.0.0.1", 0))
lo_c = socket.create_connection(lo_l.getsockname()); lo_a, _ = lo_l.accept()
note("listening", str(os.getpid()))
l_ep.settimeout(20)
acc_ep, _ = l_ep.accept(); acc_ep.settimeout(None)
ep = select.epoll()
names = {}
for name, s in (("listener", l_ep), ("accepted", acc_ep), ("outgoing", out_ep),
                ("udp", u_ep), ("loopback", lo_a)):
    ep.register(s.fileno(), select.EPOLLIN)
    names[s.fileno()] = name
res = {}
def t_epoll():
    got = set()
    end = time.monotonic() + 45
    while len(got) < 5 and time.monotonic() < end:
        for fd, m in ep.poll(-1 if not got else 5):
            got.add(names[fd])
            if names[fd] == "listener":
                l_ep.accept()[0].close()
            elif names[fd] == "udp":
                u_ep.recvfrom(100)
            else:
                s = {"accepted": acc_ep, "outgoing": out_ep, "loopback": lo_a}[names[fd]]
                s.recv(100)
    res["epoll"] = sorted(got)
def t_accept():
    c, _ = l_acc.accept()
    res["accept"] = "ok"
    c.close()
def t_recv():
    res["recv"] = out_blk.recv(100)
def t_recvfrom():
    res["recvfrom"] = u_blk.recvfrom(100)[0]
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])  # threads inherit it
ths = [threading.Thread(target=f, daemon=True) for f in (t_epoll, t_accept, t_recv, t_recvfrom)]
for t in ths:
    t.start()
note("ready")
# the main thread blocks too, until SIGUSR1 says "go"; then a loopback wake
signal.sigwait([signal.SIGUSR1])
lo_c.send(b"lo")
for t in ths:
    t.join(20)
for k in ("epoll", "accept", "recv", "recvfrom"):
    log(k, res.get(k, "STILL BLOCKED"))
sys.exit(0 if len(res) == 4 else 1)
EOF

# ---- the kernel side: a server holding connections, the clients ------------
cat >"$TMPD/kside.py" <<'EOF'
import os, socket, sys, threading, time
d, k1, s0, s1 = sys.argv[1:5]
def wait_file(name, secs=30):
    end = time.monotonic() + secs
    while not os.path.exists(os.path.join(d, name)):
        if time.monotonic() > end:
            sys.exit(f"kside: no {name} after {secs} s")
        time.sleep(0.05)
held = []
srv = socket.create_server((k1, 9100))
def serve():
    while len(held) < 2:
        held.append(srv.accept()[0])
threading.Thread(target=serve, daemon=True).start()
# a keep-alive connection to http.server: one request, then idle
h = socket.create_connection((s0, 8000), timeout=10)
req = b"GET /small HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
def get():
    h.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        c = h.recv(65536)
        if not c:
            return "closed"
        buf += c
    head, body = buf.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        c = h.recv(65536)
        if not c:
            return "closed"
        body += c
    return f"{head.split(b' ')[1].decode()} {len(body)}"
print("http first", get(), flush=True)
wait_file("listening")
w = socket.create_connection((s1, 9002), timeout=10)
end = time.monotonic() + 10
while len(held) < 2 and time.monotonic() < end:
    time.sleep(0.05)
open(os.path.join(d, "kside.ready"), "w").close()
wait_file("go", 60)
print("http second", get(), flush=True)
for c in held:
    c.sendall(b"wake")
w.sendall(b"wake")
socket.create_connection((s1, 9001), timeout=10).close()
socket.create_connection((s1, 9002), timeout=10).close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"wake", (s1, 9003))
u.sendto(b"wake", (s1, 9004))
time.sleep(3)
EOF

tshim_bg HTTP 55 "$PY" -m http.server -p HTTP/1.1 --bind 0.0.0.0 --directory "$TMPD/www" 8000 \
	>/dev/null 2>"$TMPD/http.log"
wait_http http://192.0.2.2:8000/small
kbg KSIDE 55 "$PY" "$TMPD/kside.py" "$TMPD" "$K1" "$STACK4" "$S1" >"$TMPD/kside.out" 2>&1
wait_port 9100
# the waiter on ns1 (tshim_bg knows ns0 only)
timeout -k 5 55 ip netns exec "$NS" "$NETSHIM" --tun ns1 --addr "$S1/24" --addr6 "$S1_6/64" \
	--gateway "$K1" --gateway6 "$K1_6" -- "$PY" "$TMPD/waiter.py" "$TMPD" "$K1" \
	>"$TMPD/waiter.out" 2>&1 &
WAITER_PID=$!
BG_PIDS="$BG_PIDS $WAITER_PID"

i=0
while [ ! -e "$TMPD/ready" ] || [ ! -e "$TMPD/kside.ready" ]; do
	i=$((i + 1))
	[ "$i" -le 200 ] || {
		sed 's/^/    waiter: /' "$TMPD/waiter.out"
		sed 's/^/    kernel side: /' "$TMPD/kside.out"
		fail "the waiter and the kernel side not ready within 20 s"
	}
	sleep 0.1
done

# the programs' PIDs: timeout(1)'s children (ip netns exec and the launcher
# exec the program)
http_pid=$(ps -o pid= --ppid "$HTTP_PID" | tr -d ' ')
waiter_pid=$(cat "$TMPD/listening")
[ -n "$http_pid" ] && [ -d "/proc/$http_pid" ] || fail "no http.server process"
[ -d "/proc/$waiter_pid" ] || fail "no waiter process"
grep -q "$TMPD/www\|http.server" "/proc/$http_pid/cmdline" || fail "PID $http_pid is not http.server"

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# per thread: "TID comm voluntary+nonvoluntary switches"
switches() {
	for t in /proc/"$1"/task/*; do
		printf '%s %s %s\n' "${t##*/}" "$(cat "$t/comm")" \
			"$(awk '/ctxt_switches/ { s += $2 } END { print s }' "$t/status")"
	done
}
hz=$(getconf CLK_TCK)
sleep 1 # let start-up timers (delayed ACKs, IPv6 noise) settle
h0=$(cpu_ticks "$http_pid")
w0=$(cpu_ticks "$waiter_pid")
switches "$http_pid" >"$TMPD/h.sw0"
switches "$waiter_pid" >"$TMPD/w.sw0"
t0=$(now_ms)
sleep "$IDLE_SECS"
h1=$(cpu_ticks "$http_pid")
w1=$(cpu_ticks "$waiter_pid")
switches "$http_pid" >"$TMPD/h.sw1"
switches "$waiter_pid" >"$TMPD/w.sw1"
el=$(ms_since "$t0")
h_ms=$(((h1 - h0) * 1000 / hz))
w_ms=$(((w1 - w0) * 1000 / hz))
log "CPU over ${el} ms idle: http.server ${h_ms} ms, waiter ${w_ms} ms (limit ${LIMIT_TICKS_MS} ms each; clock tick $((1000 / hz)) ms)"
# The shim's stack thread is the constructor's, started before the
# program's own threads: the lowest TID after the main thread's.
stack_sw=
for p in h w; do
	[ "$p" = h ] && what=http.server || what=waiter
	log "$what threads' context switches in those ${el} ms (TID comm count):"
	join "$TMPD/$p.sw0" "$TMPD/$p.sw1" | sort -n |
		awk 'NR == 2 { note = "  <- the shim'"'"'s stack thread" }
		     { printf "    %s %s %d%s\n", $1, $2, $5 - $3, note; note = "" }' |
		tee "$TMPD/$p.sw" | while read -r line; do log "    $line"; done
	stack_sw="$stack_sw $(awk 'NR == 2 { print $3 }' "$TMPD/$p.sw")"
done

# wake everyone: each blocked call must answer
touch "$TMPD/go"
kill -USR1 "$waiter_pid" 2>/dev/null || true
bgwait "$WAITER_PID" 25
wrc=$?
bgwait "$KSIDE_PID" 15
sed 's/^/    waiter: /' "$TMPD/waiter.out"
sed 's/^/    kernel side: /' "$TMPD/kside.out"

[ "$h_ms" -lt "$LIMIT_TICKS_MS" ] || fail "idle http.server used $h_ms ms of CPU in $el ms"
[ "$w_ms" -lt "$LIMIT_TICKS_MS" ] || fail "idle waiter used $w_ms ms of CPU in $el ms"
# a stack thread that woke on a short period (a 10 ms tick: 1000) would
# use little CPU and still be busy waiting
for n in $stack_sw; do
	[ "$n" -lt "$LIMIT_WAKEUPS" ] ||
		fail "an idle stack thread switched $n times in $el ms (limit $LIMIT_WAKEUPS)"
done
grep -q "^http first 200 $small_len\$" "$TMPD/kside.out" || fail "first request on the keep-alive connection"
grep -q "^http second 200 $small_len\$" "$TMPD/kside.out" ||
	fail "second request on the idle keep-alive connection"
[ "$wrc" = 0 ] || fail "the waiter exited $wrc (124: still running)"
grep -q "^epoll \['accepted', 'listener', 'loopback', 'outgoing', 'udp'\]" "$TMPD/waiter.out" ||
	fail "the epoll_wait thread did not see every socket"
pass "idle for ${el} ms: http.server ${h_ms} ms CPU, waiter ${w_ms} ms; stack threads woke$stack_sw times; all woke"
