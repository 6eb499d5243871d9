#!/bin/bash
# bench.sh — `make bench`: netshim's stack against the kernel on the same
# workloads, in one run, as ratios.
#
#   stack:  netshim-tcpdrv (the stack on a TUN device) in namespace S, its
#           peer tcpprobe on the kernel side of the TUN in S;
#   kernel: tcpprobe to tcpprobe over a veth pair (MTU 1500, as the TUN)
#           between namespaces A and B — the same addresses, the same tool.
#
# shim:   tcpprobe itself run under build/netshim (LD_PRELOAD) in namespace
#         H against a kernel-side tcpprobe server in H.
#
# Workloads: bulk throughput each way (BENCH_BYTES, default 512M, no
# hashing so the transport is measured), 1-byte request/response
# (BENCH_RR exchanges, default 20000), bulk stack -> kernel at 1 % loss with SACK,
# without, and with part 1's recovery built from git (BENCH_LOSS_BYTES, default 16M) — each the median of BENCH_REPS
# runs (default 3) — and memory per idle connection
# (BENCH_IDLE connections, default 1000: the tcpdrv process's resident
# memory and the stack's packet buffers and endpoints; for the kernel,
# the growth of its slab memory per socket).
# programs: nginx (one process, sendfile; wrk -c 64 -t 2 -d 5s on a small
#         file: requests/s) and redis-server (redis-benchmark -q -n
#         BENCH_REDIS_N (default 100000) -c 50 -t set,get: operations/s),
#         each once under build/netshim in namespace H with the client on
#         the kernel side of its TUN, and once on the kernel in B with the
#         client in A over the veth — the same program, configuration and
#         client.  Skipped (shown as -) when nginx, wrk, redis-server or
#         redis-benchmark is missing.
# Needs root (namespaces, TUN).  Traffic stays in the namespaces, on
# documentation addresses (192.0.2.0/24).  Bounded: every step has a
# timeout; the whole run takes about 75 s (under 2.5 minutes).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TCPDRV="$ROOT/build/netshim-tcpdrv"
TPROBE="$ROOT/build/tests/tcpprobe"
BYTES=${BENCH_BYTES:-512M}
RR=${BENCH_RR:-20000}
LOSS_BYTES=${BENCH_LOSS_BYTES:-16M}
IDLE=${BENCH_IDLE:-1000}
REPS=${BENCH_REPS:-3}
REDIS_N=${BENCH_REDIS_N:-100000}
WRKLUA="$ROOT/tests/integration/shim_srv_wrk.lua"
NSS="nsbench-$$-s"
NSA="nsbench-$$-a"
NSB="nsbench-$$-b"
NSH="nsbench-$$-h"
NETSHIM="$ROOT/build/netshim"
TMPD=$(mktemp -d /tmp/netshim-bench.XXXXXX)
PIDS=
DRV_PID=
P1WT=
MADE=

say() { printf 'bench: %s\n' "$*"; }
die() {
	say "FAILED: $*"
	[ -s "$TMPD/drv.log" ] && sed 's/^/    tcpdrv: /' "$TMPD/drv.log"
	exit 1
}

cleanup() {
	rc=$?
	trap - EXIT INT TERM
	for p in $DRV_PID $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $DRV_PID $PIDS; do wait "$p" 2>/dev/null; done
	for ns in $MADE; do ip netns del "$ns" 2>/dev/null; done
	[ -n "$P1WT" ] && git -C "$ROOT" worktree remove --force "$P1WT" 2>/dev/null
	rm -rf "$TMPD"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, a TUN device)"
[ -x "$TCPDRV" ] && [ -x "$TPROBE" ] && [ -x "$NETSHIM" ] || die "run make all first"

mkns() {
	ip netns add "$1" || die "ip netns add $1"
	MADE="$MADE $1"
	ip -n "$1" link set lo up
}
mkns "$NSS"
mkns "$NSA"
mkns "$NSB"
ip link add bva netns "$NSA" type veth peer name bvb netns "$NSB" || die "veth pair"
ip -n "$NSA" addr add 192.0.2.1/24 dev bva
ip -n "$NSB" addr add 192.0.2.2/24 dev bvb
ip -n "$NSA" link set bva mtu 1500 up
ip -n "$NSB" link set bvb mtu 1500 up
sleep 0.2

# ---- helpers -----------------------------------------------------------------

# drv_start ARGS: tcpdrv server in S; waits until it serves.
drv_start() {
	rm -f "$TMPD/ready" "$TMPD/stats"
	ip netns exec "$NSS" "$TCPDRV" --tun ns0 --ready "$TMPD/ready" --stats "$TMPD/stats" \
		"$@" >"$TMPD/drv.log" 2>&1 &
	DRV_PID=$!
	for _ in $(seq 100); do
		[ -e "$TMPD/ready" ] && return 0
		kill -0 "$DRV_PID" 2>/dev/null || die "netshim-tcpdrv exited early"
		sleep 0.1
	done
	die "netshim-tcpdrv not ready in 10 s"
}
drv_stop() {
	kill -TERM "$DRV_PID" 2>/dev/null
	wait "$DRV_PID" 2>/dev/null
	DRV_PID=
}
drv_snapshot() { # FILE
	rm -f "$TMPD/stats"
	kill -USR1 "$DRV_PID" || die "netshim-tcpdrv is gone"
	for _ in $(seq 50); do
		[ -e "$TMPD/stats" ] && { cp "$TMPD/stats" "$1"; return 0; }
		sleep 0.1
	done
	die "no stats from netshim-tcpdrv"
}
stat() { awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$1"; }

# ksrv NS ARGS: tcpprobe server in NS, in the background, ready on return.
ksrv() {
	ns=$1
	shift
	rm -f "$TMPD/kready"
	ip netns exec "$ns" timeout 100 "$TPROBE" server --ready "$TMPD/kready" "$@" \
		>"$TMPD/ksrv.log" 2>&1 &
	KPID=$!
	PIDS="$PIDS $KPID"
	for _ in $(seq 50); do
		[ -e "$TMPD/kready" ] && return 0
		sleep 0.1
	done
	die "tcpprobe server not ready: $(cat "$TMPD/ksrv.log")"
}
ksrv_stop() {
	kill -TERM "$KPID" 2>/dev/null
	wait "$KPID" 2>/dev/null
	PIDS=$(echo "$PIDS" | sed "s/ $KPID\b//")
}

# probe NS ARGS: run a tcpprobe client; prints the number its report ends
# with (MB/s or exchanges/s).
probe() {
	ns=$1
	shift
	out=$(ip netns exec "$ns" timeout 60 "$TPROBE" "$@" --timeout 50 2>&1) ||
		die "tcpprobe $*: $out"
	echo "$out" >>"$TMPD/probe.log"
	case "$1" in
	rr) printf '%s\n' "$out" | sed -n 's/.*: \([0-9.]*\)\/s$/\1/p' ;;
	*) printf '%s\n' "$out" | sed -n 's/.*s: \([0-9.]*\) MB\/s.*/\1/p' ;;
	esac
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

T0=$(date +%s)
say "bulk $BYTES each way, $RR 1-byte exchanges (median of $REPS runs each), $IDLE idle connections"

# Each figure is the median of REPS runs (the machine is small and shared:
# single runs vary by 2x).
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# reps NS ARGS: the median of REPS probe runs
reps() {
	all=
	for _ in $(seq "$REPS"); do all="$all $(probe "$@")"; done
	echo "$all" | median
}

# ---- bulk, kernel peer -> X ----------------------------------------------------
drv_start --listen 5001 --mode sink --no-hash
s_in=$(reps "$NSS" send --to 192.0.2.2 --port 5001 --bytes "$BYTES" --no-hash)
drv_stop
ksrv "$NSB" --port 5001 --mode sink --no-hash
k_in=$(reps "$NSA" send --to 192.0.2.2 --port 5001 --bytes "$BYTES" --no-hash)
ksrv_stop

# ---- bulk, X -> kernel peer ----------------------------------------------------
drv_start --listen 5002 --mode source --bytes "$BYTES" --no-hash
s_out=$(reps "$NSS" recv --to 192.0.2.2 --port 5002 --bytes "$BYTES" --no-hash)
drv_stop
ksrv "$NSB" --port 5002 --mode source --bytes "$BYTES" --no-hash
k_out=$(reps "$NSA" recv --to 192.0.2.2 --port 5002 --bytes "$BYTES" --no-hash)
ksrv_stop

# ---- loss recovery: stack -> kernel through the fault stage ---------------------
# LOSS_BYTES (16M) at 1 % loss, 1 % reordering, 1 % duplication, both ways,
# fixed seed: this part's recovery (SACK, RFC 6675, tail loss probes,
# undo) against part 1's (tcpdrv --no-sack: NewReno and timeouts), the
# same run, the same faults.
LOSS_FAULTS="--loss 1 --reorder 1 --dup 1 --seed 20261126"
# shellcheck disable=SC2086
drv_start --listen 5005 --mode source --bytes "$LOSS_BYTES" --no-hash $LOSS_FAULTS
l_sack=$(reps "$NSS" recv --to 192.0.2.2 --port 5005 --bytes "$LOSS_BYTES" --no-hash)
drv_stop
# shellcheck disable=SC2086
drv_start --listen 5006 --mode source --bytes "$LOSS_BYTES" --no-hash --no-sack $LOSS_FAULTS
l_reno=$(reps "$NSS" recv --to 192.0.2.2 --port 5006 --bytes "$LOSS_BYTES" --no-hash)
drv_stop
# ...and against part 1's recovery itself: the revision before TCP part 2's
# loss recovery (PART1_REV: fast retransmit, NewReno, timeouts), its tcpdrv
# built from git in a scratch worktree (skipped, "-", without git).
PART1_REV=e84f0e5
l_p1=-
if git -C "$ROOT" cat-file -e "$PART1_REV^{commit}" 2>/dev/null &&
	git -C "$ROOT" worktree add -q --detach "$TMPD/part1" "$PART1_REV" >/dev/null 2>&1; then
	P1WT="$TMPD/part1"
	if make -s -C "$P1WT" build/netshim-tcpdrv >"$TMPD/part1.log" 2>&1; then
		main_drv=$TCPDRV
		TCPDRV="$P1WT/build/netshim-tcpdrv"
		# shellcheck disable=SC2086
		drv_start --listen 5007 --mode source --bytes "$LOSS_BYTES" --no-hash $LOSS_FAULTS
		l_p1=$(reps "$NSS" recv --to 192.0.2.2 --port 5007 --bytes "$LOSS_BYTES" --no-hash)
		drv_stop
		TCPDRV=$main_drv
	fi
fi

# ---- request/response ----------------------------------------------------------
drv_start --listen 5003 --mode echo
s_rr=$(reps "$NSS" rr --to 192.0.2.2 --port 5003 --count "$RR" --size 1)
drv_stop
ksrv "$NSB" --port 5003 --mode echo
k_rr=$(reps "$NSA" rr --to 192.0.2.2 --port 5003 --count "$RR" --size 1)
ksrv_stop

# ---- the shim: tcpprobe itself under netshim, against the kernel ---------------
# The same client program, unmodified, once on the kernel (veth, above's
# baseline) and once under LD_PRELOAD=libnetshim.so with its own TUN.
# shim NS ARGS: run tcpprobe under netshim (the library creates nsh0).
shim() {
	ns=$1
	shift
	out=$(ip netns exec "$ns" timeout 60 "$NETSHIM" --tun nsh0 -- "$TPROBE" "$@" --timeout 50 2>&1) ||
		die "netshim tcpprobe $*: $out"
	echo "$out" >>"$TMPD/probe.log"
	case "$1" in
	rr) printf '%s\n' "$out" | sed -n 's/.*: \([0-9.]*\)\/s$/\1/p' ;;
	*) printf '%s\n' "$out" | sed -n 's/.*s: \([0-9.]*\) MB\/s.*/\1/p' ;;
	esac
}
sreps() {
	all=
	for _ in $(seq "$REPS"); do all="$all $(shim "$@")"; done
	echo "$all" | median
}
mkns "$NSH"
# the kernel-side servers listen on [::] before the device exists; the
# library gives the device's kernel side 192.0.2.1
ksrv "$NSH" --port 5101 --mode sink --no-hash
h_out=$(sreps "$NSH" send --to 192.0.2.1 --port 5101 --bytes "$BYTES" --no-hash)
ksrv_stop
ksrv "$NSH" --port 5102 --mode source --bytes "$BYTES" --no-hash
h_in=$(sreps "$NSH" recv --to 192.0.2.1 --port 5102 --bytes "$BYTES" --no-hash)
ksrv_stop
ksrv "$NSH" --port 5103 --mode echo
h_rr=$(sreps "$NSH" rr --to 192.0.2.1 --port 5103 --count "$RR" --size 1)
ksrv_stop

# ---- programs: nginx and redis-server, under netshim and on the kernel ----------
# prog_start NS CMD...: CMD in NS in the background (60 s bound), its PID in
# PROG_PID; prog_stop: SIGTERM, wait (10 s), SIGKILL — under netshim the
# TUN it created goes with it, so the next program can create it again.
prog_start() {
	ns=$1
	shift
	ip netns exec "$ns" timeout -k 5 60 "$@" >>"$TMPD/prog.log" 2>&1 &
	PROG_PID=$!
	PIDS="$PIDS $PROG_PID"
}
prog_stop() {
	kill -TERM "$PROG_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$PROG_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PROG_PID" 2>/dev/null
	wait "$PROG_PID" 2>/dev/null
	PIDS=$(echo "$PIDS" | sed "s/ $PROG_PID\b//")
}
# until_ok WHAT CMD...: CMD succeeds within 10 s
until_ok() {
	what=$1
	shift
	for _ in $(seq 50); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$PROG_PID" 2>/dev/null || die "$what exited: $(tail -n 5 "$TMPD/prog.log")"
		sleep 0.2
	done
	die "$what does not answer after 10 s: $(tail -n 5 "$TMPD/prog.log")"
}
# nginx_conf FILE LISTEN: one process (netshim: a fork child cannot accept),
# sendfile, a small file, no access log
nginx_conf() {
	cat >"$1" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $TMPD/nginx/error.log;
pid $TMPD/nginx/nginx.pid;
events { use epoll; worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $TMPD/nginx/body;
	proxy_temp_path $TMPD/nginx/proxy;
	fastcgi_temp_path $TMPD/nginx/fastcgi;
	scgi_temp_path $TMPD/nginx/scgi;
	uwsgi_temp_path $TMPD/nginx/uwsgi;
	sendfile on;
	server { listen $2; root $TMPD/nginx/www; }
}
EOF
}
# wrk_rps NS URL: requests/s of one wrk -c 64 -t 2 -d 5s run; a socket
# error or a non-2xx answer fails the bench
wrk_rps() {
	out=$(ip netns exec "$1" timeout 30 wrk -c 64 -t 2 -d 5s -s "$WRKLUA" "$2" 2>&1) ||
		die "wrk $2: $out"
	echo "$out" >>"$TMPD/probe.log"
	line=$(printf '%s\n' "$out" | grep '^WRK ')
	case "$line" in
	*" non2xx=0 connect=0 read=0 write=0 timeout=0 "*) ;;
	*) die "wrk $2: errors: $out" ;;
	esac
	printf '%s\n' "$line" | sed -n 's/.* rps=\([0-9]*\).*/\1/p'
}
# redis_ops NS HOST: "SET GET" operations/s of redis-benchmark -t set,get
redis_ops() {
	out=$(ip netns exec "$1" timeout 60 redis-benchmark -h "$2" -q -n "$REDIS_N" -c 50 \
		-t set,get 2>&1) || die "redis-benchmark -h $2: $out"
	out=$(printf '%s\n' "$out" | tr '\r' '\n' | grep -v 'rps=' | grep -v '^ *$')
	echo "$out" >>"$TMPD/probe.log"
	rset=$(printf '%s\n' "$out" | sed -n 's/^SET: \([0-9]*\).* requests per second.*/\1/p')
	rget=$(printf '%s\n' "$out" | sed -n 's/^GET: \([0-9]*\).* requests per second.*/\1/p')
	[ -n "$rset" ] && [ -n "$rget" ] && [ "$(printf '%s\n' "$out" | wc -l)" = 2 ] ||
		die "redis-benchmark -h $2: $out"
	echo "$rset $rget"
}
# redis_srv NS [NETSHIM...] BIND: redis-server, no persistence
redis_srv() {
	ns=$1
	bind=${*: -1}
	set -- "${@:2:$#-2}"
	prog_start "$ns" "$@" redis-server --port 6379 --bind "$bind" --save '' \
		--appendonly no --protected-mode no --daemonize no --dir "$TMPD/redis"
}

# num VALUE WHAT: VALUE is a number (a die inside $(...) only ends the
# subshell: its message arrives here instead)
num() {
	case $1 in
	'' | *[!0-9.]*) die "$2: ${1:-no figure}" ;;
	esac
}

n_s=- n_k=- r_sset=- r_sget=- r_kset=- r_kget=-
progs=1
for p in nginx wrk redis-server redis-benchmark redis-cli curl; do
	command -v "$p" >/dev/null 2>&1 || {
		say "$p is not installed: no nginx/redis rows (apt-get install nginx-light wrk redis-server curl)"
		progs=
	}
done
if [ -n "$progs" ]; then
	mkdir -p "$TMPD/nginx/www" "$TMPD/redis"
	printf 'small file %0500d\n' 0 >"$TMPD/nginx/www/small"
	# nginx on the kernel: B serves, A asks, over the veth
	nginx_conf "$TMPD/nginx/k.conf" 192.0.2.2:8080
	prog_start "$NSB" nginx -c "$TMPD/nginx/k.conf"
	until_ok "nginx (kernel)" ip netns exec "$NSA" curl -sf -o /dev/null --max-time 1 http://192.0.2.2:8080/small
	n_k=$(wrk_rps "$NSA" http://192.0.2.2:8080/small)
	num "$n_k" "nginx (kernel)"
	prog_stop
	# nginx under netshim in H (the library creates nsh0), wrk on its kernel side
	nginx_conf "$TMPD/nginx/s.conf" 0.0.0.0:8080
	prog_start "$NSH" "$NETSHIM" --tun nsh0 -- nginx -c "$TMPD/nginx/s.conf"
	until_ok "nginx (netshim)" ip netns exec "$NSH" curl -sf -o /dev/null --max-time 1 http://192.0.2.2:8080/small
	n_s=$(wrk_rps "$NSH" http://192.0.2.2:8080/small)
	num "$n_s" "nginx (netshim)"
	prog_stop
	# redis-server, the same way
	redis_srv "$NSB" 192.0.2.2
	until_ok "redis-server (kernel)" ip netns exec "$NSA" redis-cli -h 192.0.2.2 PING
	out=$(redis_ops "$NSA" 192.0.2.2)
	read -r r_kset r_kget <<<"$out"
	num "$r_kget" "redis (kernel): $out"
	prog_stop
	redis_srv "$NSH" "$NETSHIM" --tun nsh0 -- 0.0.0.0
	until_ok "redis-server (netshim)" ip netns exec "$NSH" redis-cli -h 192.0.2.2 PING
	out=$(redis_ops "$NSH" 192.0.2.2)
	read -r r_sset r_sget <<<"$out"
	num "$r_sget" "redis (netshim): $out"
	prog_stop
fi

# ---- idle connections -----------------------------------------------------------
drv_start --listen 5004 --mode echo --max-endpoints $((IDLE + 64))
sleep 0.2
drv_snapshot "$TMPD/idle0"
rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DRV_PID/status")
ip netns exec "$NSS" timeout 60 "$TPROBE" hold --to 192.0.2.2 --port 5004 --conns "$IDLE" \
	--ready "$TMPD/held" --timeout 50 >"$TMPD/hold.log" 2>&1 &
HPID=$!
PIDS="$PIDS $HPID"
for _ in $(seq 300); do
	[ -e "$TMPD/held" ] && break
	kill -0 "$HPID" 2>/dev/null || die "tcpprobe hold: $(cat "$TMPD/hold.log")"
	sleep 0.1
done
[ -e "$TMPD/held" ] || die "$IDLE connections not up in 30 s"
sleep 0.5
drv_snapshot "$TMPD/idle1"
rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DRV_PID/status")
kill -TERM "$HPID" 2>/dev/null
wait "$HPID" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $HPID\b//")
drv_stop
eps=$(($(stat "$TMPD/idle1" endpoints.open) - $(stat "$TMPD/idle0" endpoints.open)))
pb_s=$(($(stat "$TMPD/idle1" pbuf_small_used) - $(stat "$TMPD/idle0" pbuf_small_used)))
pb_l=$(($(stat "$TMPD/idle1" pbuf_large_used) - $(stat "$TMPD/idle0" pbuf_large_used)))
per_ep=$(stat "$TMPD/idle1" arena.bytes_per_endpoint)
arena=$(stat "$TMPD/idle1" arena.bytes)
s_rss=$(awk -v a="$rss0" -v b="$rss1" -v n="$IDLE" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')

# the kernel: slab growth per socket while both ends of IDLE connections exist
ksrv "$NSB" --port 5004 --mode echo
slab0=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
ip netns exec "$NSA" timeout 60 "$TPROBE" hold --to 192.0.2.2 --port 5004 --conns "$IDLE" \
	--ready "$TMPD/kheld" --timeout 50 >"$TMPD/khold.log" 2>&1 &
HPID=$!
PIDS="$PIDS $HPID"
for _ in $(seq 300); do
	[ -e "$TMPD/kheld" ] && break
	sleep 0.1
done
sleep 0.5
slab1=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
kill -TERM "$HPID" 2>/dev/null
wait "$HPID" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $HPID\b//")
ksrv_stop
k_mem=$(awk -v a="$slab0" -v b="$slab1" -v n="$IDLE" 'BEGIN { printf "%.0f", (b - a) * 1024 / (2 * n) }')

# ---- report --------------------------------------------------------------------
echo
printf '%-34s %14s %14s %8s\n' "workload" "netshim" "kernel(veth)" "ratio"
printf '%-34s %14s %14s %8s\n' "bulk kernel -> stack (MB/s)" "$s_in" "$k_in" "$(ratio "$s_in" "$k_in")"
printf '%-34s %14s %14s %8s\n' "bulk stack -> kernel (MB/s)" "$s_out" "$k_out" "$(ratio "$s_out" "$k_out")"
printf '%-34s %14s %14s %8s\n' "1-byte request/response (/s)" "$s_rr" "$k_rr" "$(ratio "$s_rr" "$k_rr")"
printf '%-34s %14s %14s %8s\n' "shim: bulk program -> kernel (MB/s)" "$h_out" "$k_in" "$(ratio "$h_out" "$k_in")"
printf '%-34s %14s %14s %8s\n' "shim: bulk kernel -> program (MB/s)" "$h_in" "$k_out" "$(ratio "$h_in" "$k_out")"
printf '%-34s %14s %14s %8s\n' "shim: 1-byte request/response (/s)" "$h_rr" "$k_rr" "$(ratio "$h_rr" "$k_rr")"
printf '%-34s %14s %14s %8s\n' "shim: nginx, wrk -c 64 (req/s)" "$n_s" "$n_k" "$(ratio "$n_s" "$n_k")"
printf '%-34s %14s %14s %8s\n' "shim: redis SET, 50 clients (/s)" "$r_sset" "$r_kset" "$(ratio "$r_sset" "$r_kset")"
printf '%-34s %14s %14s %8s\n' "shim: redis GET, 50 clients (/s)" "$r_sget" "$r_kget" "$(ratio "$r_sget" "$r_kget")"
printf '%-34s %14s %14s %8s\n' "memory per idle connection (B)" "$s_rss" "$k_mem" "$(ratio "$s_rss" "$k_mem")"
echo
printf '%-34s %14s %14s %8s\n' "1% loss, stack -> kernel (MB/s)" "SACK $l_sack" "NewReno $l_reno" "$(ratio "$l_sack" "$l_reno")"
printf '%-34s %14s %14s %8s\n' "1% loss, part 2 vs part 1 (MB/s)" "SACK $l_sack" "part1 $l_p1" "$(ratio "$l_sack" "$l_p1")"
echo
say "stack side of $IDLE idle connections: $eps endpoints, $pb_s small + $pb_l large packet buffers held; arena $arena bytes, $per_ep bytes per endpoint slot (preallocated; resident growth measured above)"
say "kernel memory: growth of Slab in /proc/meminfo per socket (both ends counted); noisy"
say "the kernel baseline has GSO/GRO on veth; the stack's TUN has no offloads yet"
say "done in $(($(date +%s) - T0)) s"
