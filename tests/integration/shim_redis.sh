#!/bin/bash
# shim_redis.sh — Redis, unmodified, under the shim, both ways:
#   redis-server under the shim (bind 0.0.0.0 and ::, port 6379, no
#   persistence, protected-mode off) and kernel-side redis-benchmark
#   -q -n 100000 -c 50 against 192.0.2.2: with -P 1 (every test but
#   LRANGE_300/500/600, which take ~30 s unpipelined here and which the -P 16
#   run covers) and with -P 16 (every default test); then -P 16 SET/GET
#   over IPv6 (2001:db8::2).  Each run must exit 0 and print one "requests
#   per second" line per test and nothing else (an error line, a
#   connection reset, a missing test all fail); then the server's INFO
#   (read from the kernel side) must show no rejected connections and
#   redis-server must still be alive.
#   redis-cli under the shim against a kernel-side redis-server
#   (192.0.2.1 and 2001:db8::1, port 6380): SET a 1 MiB value from stdin
#   (-x) over IPv4, GET it back over IPv4 and over IPv6 and compare, and
#   CLIENT INFO must show the client at the stack's address.
TEST=shim_redis
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

for p in redis-server redis-benchmark redis-cli; do
	command -v "$p" >/dev/null 2>&1 ||
		fail "$p is not installed (Debian: apt-get install redis-server)"
done
shim_ns_setup
T0=$(now_ms)

# ---- redis-server under the shim ------------------------------------------------
mkdir "$TMPD/srv"
tshim_bg REDIS 200 redis-server --port 6379 --bind 0.0.0.0 :: --save '' \
	--appendonly no --protected-mode no --daemonize no --dir "$TMPD/srv" \
	--logfile "$TMPD/srv/redis.log"
i=0
until tkern 3 redis-cli -h 192.0.2.2 -p 6379 PING 2>/dev/null | grep -qx PONG; do
	i=$((i + 1))
	[ "$i" -le 50 ] || {
		sed 's/^/    /' "$TMPD/srv/redis.log"
		fail "redis-server under the shim does not answer PING on 192.0.2.2:6379 after 10 s"
	}
	sleep 0.2
done
tkern 3 redis-cli -h 2001:db8::2 -p 6379 PING 2>/dev/null | grep -qx PONG ||
	fail "redis-server under the shim does not answer PING on [2001:db8::2]:6379"

# bench NAME SECS WANT ARGS...: kernel-side redis-benchmark -q ARGS; exit 0,
# WANT lines "X: N requests per second...", no other output.
bench() {
	name=$1
	secs=$2
	want=$3
	shift 3
	t=$(now_ms)
	tkern "$secs" redis-benchmark -q "$@" >"$TMPD/$name.raw" 2>&1
	rc=$?
	# -q rewrites a progress line with \r; keep the final lines
	tr '\r' '\n' <"$TMPD/$name.raw" | grep -v '^ *$' | grep -v 'rps=' >"$TMPD/$name.out"
	got=$(grep -c ': [0-9.]* requests per second' "$TMPD/$name.out")
	if [ "$rc" != 0 ] || [ "$got" != "$want" ] ||
		grep -qv ': [0-9.]* requests per second' "$TMPD/$name.out"; then
		sed 's/^/    /' "$TMPD/$name.out"
		tail -n 20 "$TMPD/srv/redis.log" | sed 's/^/    redis-server: /'
		fail "redis-benchmark $*: exit $rc, $got of $want tests reported, or errors (above)"
	fi
	rates=$(sed -n 's/^\(SET\|GET\): \([0-9]*\).*/\1 \2\/s/p' "$TMPD/$name.out" | tr '\n' ' ')
	log "redis-benchmark $* — $want tests, no errors, ${rates}($(ms_since "$t") ms)"
}

P1_TESTS=ping_inline,ping_mbulk,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset
# 17 lines: LRANGE_100 adds "LPUSH (needed to benchmark LRANGE)"
bench p1 120 17 -h 192.0.2.2 -p 6379 -n 100000 -c 50 -P 1 -t "$P1_TESTS"
bench p16 90 20 -h 192.0.2.2 -p 6379 -n 100000 -c 50 -P 16
bench p16v6 60 2 -h 2001:db8::2 -p 6379 -n 100000 -c 50 -P 16 -t set,get

kill -0 "$REDIS_PID" 2>/dev/null || fail "redis-server under the shim died"
tkern 5 redis-cli -h 192.0.2.2 -p 6379 INFO stats >"$TMPD/info" 2>&1 ||
	fail "redis-cli INFO stats from the kernel side failed: $(cat "$TMPD/info")"
conns=$(tr -d '\r' <"$TMPD/info" | sed -n 's/^total_connections_received://p')
rej=$(tr -d '\r' <"$TMPD/info" | sed -n 's/^rejected_connections://p')
[ "$rej" = 0 ] || fail "redis-server rejected $rej connections"
[ "${conns:-0}" -ge 150 ] || fail "redis-server saw ${conns:-no} connections, want at least 150"
log "redis-server under the shim: $conns connections received, none rejected"
kill -TERM "$REDIS_PID"
bgwait "$REDIS_PID" 15
[ $? != 124 ] || fail "redis-server under the shim ignores SIGTERM"

# ---- redis-cli under the shim, kernel-side redis-server ------------------------
mkdir "$TMPD/ksrv"
kbg KREDIS 60 redis-server --port 6380 --bind 192.0.2.1 2001:db8::1 --save '' \
	--appendonly no --protected-mode no --daemonize no --dir "$TMPD/ksrv" \
	--logfile "$TMPD/ksrv/redis.log"
wait_port 6380
# 1 MiB of base64 (no newline: redis-cli -x takes stdin verbatim as the
# value; GET prints it with one newline added)
head -c 786432 /dev/urandom | base64 -w0 >"$TMPD/value"
{
	cat "$TMPD/value"
	echo
} >"$TMPD/value.nl"
t=$(now_ms)
tshim 30 redis-cli -h 192.0.2.1 -p 6380 -x SET big <"$TMPD/value" >"$TMPD/set.out" 2>&1 ||
	fail "redis-cli -x SET under the shim failed (exit $?): $(cat "$TMPD/set.out")"
grep -qx OK "$TMPD/set.out" || fail "redis-cli SET under the shim: $(cat "$TMPD/set.out")"
for h in 192.0.2.1 2001:db8::1; do
	tshim 30 redis-cli -h "$h" -p 6380 GET big >"$TMPD/get" 2>"$TMPD/get.err" ||
		fail "redis-cli GET under the shim from $h failed (exit $?): $(cat "$TMPD/get.err")"
	same "$TMPD/value.nl" "$TMPD/get" "redis-cli GET of the 1 MiB value from $h"
done
# the value really went through the kernel-side server
[ "$(tkern 5 redis-cli -h 192.0.2.1 -p 6380 STRLEN big)" = 1048576 ] ||
	fail "the kernel-side redis-server holds no 1 MiB value"
log "redis-cli under the shim: SET + 2 GETs of 1 MiB (IPv4, IPv6): $(ms_since "$t") ms"
for v in 4 6; do
	if [ "$v" = 4 ]; then srv=192.0.2.1 me=192.0.2.2; else srv=2001:db8::1 me="[2001:db8::2]"; fi
	info=$(tshim 20 redis-cli -h "$srv" -p 6380 CLIENT INFO 2>&1) ||
		fail "redis-cli CLIENT INFO under the shim ($srv) failed: $info"
	case $info in
	*"addr=$me:"*) ;;
	*) fail "CLIENT INFO over $srv shows the client elsewhere than $me: $info" ;;
	esac
done
kill -TERM "$KREDIS_PID"
bgwait "$KREDIS_PID" 10

pass "redis-server and redis-cli under the shim ($(ms_since "$T0") ms)"
