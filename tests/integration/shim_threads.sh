#!/bin/bash
# shim_threads.sh — thread safety: shim_threads.c (compiled here with cc)
# runs under netshim against a kernel-side echo server (TCP, dual-stack,
# one thread per connection; UDP) in the namespace:
#   conns   16 threads x 100 connections each, one at a time per thread,
#           IPv4 and IPv6, random sizes 1 byte .. 256 KiB (seeded), each
#           written and read back at once and compared byte for byte;
#   shared  4 connections, each with a writer, a reader and a prober
#           thread on the one descriptor (4 MiB each way, checked);
#   udp     one UDP socket, a writer and two readers (2000 datagrams,
#           each back intact exactly once);
#   accept  4 threads blocked in accept() on one loopback listener, 4
#           connector threads x 50 connections.
# Then two race detectors, each of which fails the test on a report:
#   ThreadSanitizer: the program built with -fsanitize=thread and a
#   libnetshim.so built here from shim/, stack/ and tun/ with
#   -fsanitize=thread (next to a copy of the launcher, which preloads the
#   library beside it; the program's TSan runtime serves the library)
#   run the same phases, smaller; reports are symbolized here (addr2line);
#   valgrind --tool=helgrind: the ordinary program and library, a small
#   round (helgrind sees the uninstrumented stack thread too).
# Either may be missing (no TSan-capable compiler, no valgrind), not both.
# The seed is random per run and logged: SHIM_THREADS_SEED=N repeats one.
TEST=shim_threads
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"

SRC="$ROOT/tests/integration/shim_threads.c"
PORT=7000
UPORT=7001
SEED=${SHIM_THREADS_SEED:-$(date +%s)}
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || fail "no C compiler ($CC)"
shim_ns_setup

"$CC" -O2 -g -std=gnu11 -Wall -Wextra -Werror -pthread -o "$TMPD/shim_threads" "$SRC" \
	2>"$TMPD/cc.log" || {
	sed 's/^/    /' "$TMPD/cc.log"
	fail "cannot compile shim_threads.c"
}

# ---- the kernel-side echo server --------------------------------------------
cat >"$TMPD/echo.py" <<'EOF'
import socket, sys, threading, time
port, uport = int(sys.argv[1]), int(sys.argv[2])
def conn(c):
    try:
        while True:
            d = c.recv(1 << 17)
            if not d:
                break
            c.sendall(d)
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        c.close()
def tcp():
    l = socket.socket(socket.AF_INET6)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    l.bind(("::", port))
    l.listen(256)
    while True:
        threading.Thread(target=conn, args=(l.accept()[0],), daemon=True).start()
def udp():
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    u.bind(("::", uport))
    while True:
        d, a = u.recvfrom(65536)
        u.sendto(d, a)
threading.Thread(target=tcp, daemon=True).start()
threading.Thread(target=udp, daemon=True).start()
time.sleep(float(sys.argv[3]))
EOF
bg ECHO timeout 58 "$PY" "$TMPD/echo.py" "$PORT" "$UPORT" 57 >"$TMPD/echo.log" 2>&1
wait_port "$PORT"
wait_port "$UPORT" udp

# run_prog LIMIT NAME LAUNCHER ARGS...: the program under LAUNCHER (a
# netshim launcher) in the namespace; output in $TMPD/NAME.out/.err.
run_prog() {
	limit=$1
	name=$2
	launcher=$3
	shift 3
	timeout -k 5 "$limit" ip netns exec "$NS" "$launcher" --tun ns0 --addr "$STACK4/24" \
		--addr6 "$STACK6/64" --gateway "$PEER4" --gateway6 "$PEER6" -- \
		"$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err"
	rc=$?
	sed 's/^/    /' "$TMPD/$name.out"
	return "$rc"
}

show_err() {
	head -n 100 "$TMPD/$1.err" | sed 's/^/    stderr: /'
	[ "$(wc -l <"$TMPD/$1.err")" -le 100 ] || log "    ... ($(wc -l <"$TMPD/$1.err") lines)"
}

# ---- the full run under the ordinary library ----------------------------------
log "seed $SEED (SHIM_THREADS_SEED=$SEED to repeat)"
start=$(date +%s)
run_prog 40 full "$NETSHIM" "$TMPD/shim_threads" -4 "$PEER4" -6 "$PEER6" -p "$PORT" \
	-u "$UPORT" -r "$SEED" -t 16 -c 100 -s 262144 -n 4 -m 4194304 -d 2000 -a 4 -k 50 -w 15 \
	conns shared udp accept
rc=$?
log "full run: exit $rc in $(($(date +%s) - start)) s"
if [ "$rc" != 0 ]; then
	show_err full
	fail "threads under netshim: exit $rc (1: a check failed, 3: watchdog, 124: timeout)"
fi

# ---- ThreadSanitizer: the program and the library both instrumented -----------
# TSan's symbolizer would run as a child of the program, under the preload
# (where the TSan library cannot load), so reports are written raw
# (symbolize=0) and symbolized here with addr2line; for the same reason
# TSan's own suppressions (by function name) cannot apply: the reports a
# review found harmless are listed below instead, one extended regular
# expression a line, matched against each symbolized report.
#  - a file-descriptor "race" between the program's close() (from any of
#    its threads, the main one included) and the engine's fstat() of the
#    same number: TSan's close interceptor marks
#    the descriptor closed before it calls the next close() — the shim's
#    hook, which closes it under the engine lock the fstat holds too — so
#    the two never overlap; the check only guards numbers closed behind
#    the hooks' back (a raw syscall), see shim/engine.c afd_valid.
#  - the same fstat against the socket() that made the number anew: the
#    new socket reaches the engine only after it exists (the hook registers
#    it under the engine lock and wakes the engine through an eventfd,
#    which TSan does not count as synchronisation on the descriptor).
cat >"$TMPD/tsan.known" <<'EOF'
(?s)Read of size 8 .*__interceptor_fstat .*afd_valid shim/engine\.c.*Previous write of size 8 .*__interceptor_socket .*Location is file descriptor
(?s)by (main thread|thread T[0-9]+):\s+#0 close .*Previous read of size 8 .*__interceptor_fstat .*afd_valid shim/engine\.c.*Location is file descriptor
EOF
# tsan_reports FILES...: the reports, symbolized, known ones left out; the
# number left in $TMPD/tsan.count.
tsan_reports() {
	cat "$@" | "$PY" -c '
import re, subprocess, sys
known = [re.compile(l.strip()) for l in open(sys.argv[1]) if l.strip()]
root = sys.argv[3] + "/"
mods = dict(a.split("=", 1) for a in sys.argv[4:])
frame = re.compile(r"^(\s*#\d+ ).*?\((\S+?)\+(0x[0-9a-f]+)\)")
cache = {}
def sym(line):
    m = frame.match(line)
    if not m or m.group(2) not in mods:
        return line
    k = (m.group(2), m.group(3))
    if k not in cache:
        r = subprocess.run(["addr2line", "-f", "-i", "-e", mods[k[0]], k[1]],
                           capture_output=True, text=True).stdout.split("\n")
        cache[k] = " <- inlined in ".join(
            r[i] + " " + r[i + 1].replace(root, "") for i in range(0, len(r) - 1, 2))
    return f"{m.group(1)}{cache[k]} ({k[0]}+{k[1]})\n"
reports, cur = [], None
for line in sys.stdin:
    if line.startswith("WARNING: ThreadSanitizer"):
        cur = []
        reports.append(cur)
    if cur is not None:
        cur.append(sym(line))
        if line.startswith("SUMMARY:"):
            cur = None
left = 0
for r in reports:
    text = "".join(r)
    if any(k.search(text) for k in known):
        continue
    left += 1
    sys.stdout.write(text + "\n")
open(sys.argv[2], "w").write(f"{left}\n")
' "$TMPD/tsan.known" "$TMPD/tsan.count" "$ROOT" "libnetshim.so=$TMPD/tsan/libnetshim.so" \
		"shim_threads=$TMPD/tsan/shim_threads" |
		sed "s|$ROOT/||g; s| (BuildId: [0-9a-f]*)||; s/^/    /"
}
tsan_cc=
for c in clang gcc; do
	if command -v "$c" >/dev/null 2>&1 &&
		echo 'int main(void){return 0;}' | "$c" -fsanitize=thread -x c - \
			-o "$TMPD/tsan-probe" 2>/dev/null && "$TMPD/tsan-probe" 2>/dev/null; then
		tsan_cc=$c
		break
	fi
done
tsan=
problems=
if [ -n "$tsan_cc" ]; then
	mkdir "$TMPD/tsan"
	cp "$NETSHIM" "$TMPD/tsan/netshim"
	# the library's sources, as the Makefile lists them (launcher.c apart)
	srcs=
	for f in "$ROOT"/shim/*.c "$ROOT"/stack/*.c "$ROOT"/tun/*.c; do
		[ "$f" = "$ROOT/shim/launcher.c" ] || srcs="$srcs $f"
	done
	# shellcheck disable=SC2046,SC2086 # one word per file and flag
	(cd "$ROOT" && "$tsan_cc" -shared -fPIC -fsanitize=thread -O1 -g -std=gnu11 \
		-Istack -Itun -Ishim $(pkg-config --cflags libbsd-overlay) \
		-Wl,--version-script=build/netshim.map -o "$TMPD/tsan/libnetshim.so" \
		$srcs \
		$(pkg-config --libs libbsd-overlay) -ldl -pthread) 2>"$TMPD/tsan-cc.log" &&
		"$tsan_cc" -fsanitize=thread -O1 -g -std=gnu11 -pthread \
			-o "$TMPD/tsan/shim_threads" "$SRC" 2>>"$TMPD/tsan-cc.log" || {
		sed 's/^/    /' "$TMPD/tsan-cc.log"
		fail "cannot build the ThreadSanitizer library or program with $tsan_cc"
	}
	known=0
	start=$(date +%s)
	TSAN_OPTIONS="halt_on_error=0 exitcode=66 symbolize=0 log_path=$TMPD/tsan/report" \
		run_prog 50 tsan "$TMPD/tsan/netshim" "$TMPD/tsan/shim_threads" -4 "$PEER4" \
		-6 "$PEER6" -p "$PORT" -u "$UPORT" -r "$SEED" -t 16 -c 30 -s 131072 -n 4 \
		-m 2097152 -d 1000 -a 4 -k 30 -w 30 conns shared udp accept
	rc=$?
	log "ThreadSanitizer run ($tsan_cc): exit $rc in $(($(date +%s) - start)) s"
	reports=$(cat "$TMPD"/tsan/report.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer')
	if [ "$reports" != 0 ]; then
		tsan_reports "$TMPD"/tsan/report.* >"$TMPD/tsan.txt"
		known=$((reports - $(cat "$TMPD/tsan.count")))
		reports=$(cat "$TMPD/tsan.count")
		[ "$known" = 0 ] || log "ThreadSanitizer: $known known reports left out (tsan.known)"
	fi
	if [ "$rc" != 0 ] && [ "$reports" = 0 ] && [ "$known" = 0 ] && ! grep -q '^done:' "$TMPD/tsan.out"; then
		# TSan could not run in this process (no report, no result)
		log "ThreadSanitizer could not run here (helgrind alone decides):"
		show_err tsan
		cat "$TMPD"/tsan/report.* 2>/dev/null | head -n 20 | sed 's/^/    /'
	else
		tsan=1
		if [ "$reports" != 0 ]; then
			log "ThreadSanitizer: $reports reports (TSan prints each pair of places once):"
			cat "$TMPD/tsan.txt"
			problems="$problems; ThreadSanitizer reported $reports problems"
		elif [ "$rc" != 0 ] && { [ "$rc" != 66 ] || [ "$known" = 0 ]; }; then
			show_err tsan
			problems="$problems; the ThreadSanitizer run exited $rc"
		else
			log "ok: no ThreadSanitizer report (program and library instrumented)"
		fi
	fi
else
	log "no compiler here builds -fsanitize=thread programs: helgrind alone decides"
fi

# ---- helgrind: the ordinary program and library, a small round ---------------
# Not through the launcher: valgrind(1) itself is a dynamic program and
# would load the library first.  The NETSHIM_* variables the launcher would
# set, and LD_PRELOAD, reach only the program (env runs it; valgrind
# follows the exec).
# Reports a review found harmless: valgrind suppressions (none yet).
cat >"$TMPD/helgrind.supp" <<'EOF'
EOF
helgrind=
if command -v valgrind >/dev/null 2>&1; then
	start=$(date +%s)
	timeout -k 5 50 ip netns exec "$NS" valgrind --tool=helgrind --error-exitcode=66 \
		--suppressions="$TMPD/helgrind.supp" \
		--trace-children=yes --log-file="$TMPD/helgrind.%p.log" \
		env LD_PRELOAD="$LIBSHIM" NETSHIM_TUN=ns0 NETSHIM_ADDR="$STACK4/24" \
		NETSHIM_ADDR6="$STACK6/64" NETSHIM_GATEWAY="$PEER4" NETSHIM_GATEWAY6="$PEER6" \
		"$TMPD/shim_threads" -4 "$PEER4" -6 "$PEER6" -p "$PORT" -u "$UPORT" -r "$SEED" \
		-t 4 -c 8 -s 32768 -n 2 -m 262144 -d 200 -a 2 -k 8 -w 40 conns shared udp accept \
		>"$TMPD/helgrind.out" 2>"$TMPD/helgrind.err"
	rc=$?
	sed 's/^/    /' "$TMPD/helgrind.out"
	log "helgrind run: exit $rc in $(($(date +%s) - start)) s"
	helgrind=1
	if [ "$rc" = 66 ]; then
		log "helgrind reported:"
		cat "$TMPD"/helgrind.*.log | sed -n '/^==[0-9]*== ---Thread-Announcement/,$p' |
			head -n 300 | sed 's/^==[0-9]*== /    /'
		problems="$problems; helgrind reported $(cat "$TMPD"/helgrind.*.log |
			sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' | tail -n 1) errors"
	elif [ "$rc" != 0 ]; then
		show_err helgrind
		problems="$problems; the helgrind run exited $rc (3: watchdog, 124: timeout)"
	else
		log "ok: no helgrind report"
	fi
fi
[ -n "$tsan$helgrind" ] || fail "neither ThreadSanitizer nor valgrind can run here"
[ -z "$problems" ] || fail "${problems#; } (seed $SEED)"
pass "16 threads x 100 connections, shared sockets, UDP and accept threads;$(
	[ -n "$tsan" ] && echo " ThreadSanitizer")$([ -n "$helgrind" ] && echo " helgrind") clean"
