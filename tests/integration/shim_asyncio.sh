#!/bin/bash
# shim_asyncio.sh — Python asyncio (epoll, non-blocking connect, many
# sockets in one thread) under the shim, and urllib fetching by name:
#   an asyncio echo server under the shim (0.0.0.0:7000 and [::]:7000) and
#   a kernel-side asyncio client with 200 connections open at once (100
#   over IPv4, 100 over IPv6), each exchanging 5 random messages of up to
#   32 KiB, every echo compared; the server must count the same 200
#   connections and bytes;
#   the same client under the shim with 200 connections at once to the same
#   echo server on the kernel side (192.0.2.1 and 2001:db8::1);
#   urllib.request under the shim fetching from a kernel-side
#   python3 -m http.server by name, the names resolved through
#   NETSHIM_DNS (--dns 192.0.2.1) by a kernel-side dnsmasq: web.test (A
#   only, 192.0.2.1) and web6.test (AAAA only, 2001:db8::1); bodies
#   compared, and http.server and dnsmasq must have seen the stack's
#   addresses.
# The programs are tests/integration/shim_srv_asyncio.py.
TEST=shim_asyncio
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

command -v dnsmasq >/dev/null 2>&1 || fail "dnsmasq is not installed (Debian: dnsmasq-base)"
AIO="$(cd "$(dirname "$0")" && pwd)/shim_srv_asyncio.py"
shim_ns_setup
T0=$(now_ms)

# wait_line FILE LINE WHAT: until FILE holds LINE (10 s).
wait_line() {
	i=0
	until grep -qx "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le 100 ] || fail "$3 did not say '$2' within 10 s: $(cat "$1" "$1.err" 2>/dev/null | tail -n 5)"
		sleep 0.1
	done
}

# check_echo WHO CLIENT-OUT SERVER-OUT LOCAL4 LOCAL6: the client's
# summary shows 100 connections from each local address, and the server
# served all 200 with the bytes the client counted, without error.
check_echo() {
	who=$1 c=$2 s=$3
	grep -q "$4 -> [0-9.]* x100" "$c" && grep -q "$5 -> [0-9a-f:]* x100" "$c" ||
		fail "$who: the connections did not come from $4 and $5 (100 each): $(cat "$c")"
	bytes=$(sed -n 's/.*each, \([0-9]*\) bytes echoed.*/\1/p' "$c")
	grep -qx "served 200 connections, $bytes bytes, 0 errors" "$s" || {
		sed 's/^/    server: /' "$s" "$s.err"
		fail "$who: the echo server's count differs from the client's: 200 connections, $bytes bytes"
	}
}

# ---- asyncio echo server under the shim, 200 kernel-side connections ---------
tshim_bg ASRV 90 "$PY" "$AIO" server 7000 80 >"$TMPD/asrv" 2>"$TMPD/asrv.err"
wait_line "$TMPD/asrv" listening "the asyncio echo server under the shim"
t=$(now_ms)
tkern 75 "$PY" "$AIO" client 192.0.2.2,2001:db8::2 7000 200 5 >"$TMPD/kcli" 2>"$TMPD/kcli.err" || {
	sed 's/^/    server: /' "$TMPD/asrv.err"
	fail "the kernel-side asyncio client of the server under the shim failed (exit $?): $(cat "$TMPD/kcli.err")"
}
log "asyncio server under the shim: $(cat "$TMPD/kcli") ($(ms_since "$t") ms)"
kill -TERM "$ASRV_PID"
bgwait "$ASRV_PID" 15
rc=$?
[ "$rc" = 0 ] || fail "the asyncio echo server under the shim exit $rc: $(tail -n 5 "$TMPD/asrv.err")"
check_echo "server under the shim" "$TMPD/kcli" "$TMPD/asrv" 192.0.2.1 2001:db8::1

# ---- asyncio client under the shim, 200 connections to the kernel ---------------
kbg KSRV 90 "$PY" "$AIO" server 7001 80 >"$TMPD/ksrv" 2>"$TMPD/ksrv.err"
wait_line "$TMPD/ksrv" listening "the kernel-side asyncio echo server"
t=$(now_ms)
tshim 75 "$PY" "$AIO" client 192.0.2.1,2001:db8::1 7001 200 5 >"$TMPD/scli" 2>"$TMPD/scli.err" ||
	fail "the asyncio client under the shim failed (exit $?): $(cat "$TMPD/scli.err")"
log "asyncio client under the shim: $(cat "$TMPD/scli") ($(ms_since "$t") ms)"
kill -TERM "$KSRV_PID"
bgwait "$KSRV_PID" 15
rc=$?
[ "$rc" = 0 ] || fail "the kernel-side asyncio echo server exit $rc: $(tail -n 5 "$TMPD/ksrv.err")"
check_echo "client under the shim" "$TMPD/scli" "$TMPD/ksrv" 192.0.2.2 2001:db8::2

# ---- urllib under the shim, by name through NETSHIM_DNS ----------------------------
# dnsmasq answers web.test with an A record only, web6.test with AAAA only
# (the other type: no data); -u root: the log in $TMPD.
kbg DNS 60 dnsmasq --keep-in-foreground --no-resolv --no-hosts -u root \
	--pid-file= --port=53 --listen-address=192.0.2.1 --bind-interfaces \
	--address=/web.test/192.0.2.1 --address=/web6.test/2001:db8::1 \
	--log-queries --log-facility="$TMPD/dnsmasq.log"
wait_port 53 udp
mkdir "$TMPD/www"
mkrand "$TMPD/www/page" 2
kbg HTTP 60 "$PY" -m http.server --bind :: --directory "$TMPD/www" 8000 \
	>/dev/null 2>"$TMPD/http.log"
wait_port 8000
t=$(now_ms)
for name in web.test web6.test; do
	timeout -k 5 30 ip netns exec "$NS" "$NETSHIM" --tun ns0 \
		--addr "$STACK4/24" --addr6 "$STACK6/64" --gateway "$PEER4" \
		--gateway6 "$PEER6" --dns 192.0.2.1 -- \
		"$PY" "$AIO" fetch "http://$name:8000/page" "$TMPD/www/page" \
		>"$TMPD/fetch.out" 2>"$TMPD/fetch.err" ||
		fail "urllib under the shim fetching http://$name:8000/page failed (exit $?): $(tail -n 5 "$TMPD/fetch.err")"
	log "urllib under the shim, --dns 192.0.2.1: $(cat "$TMPD/fetch.out")"
done
grep -q '^::ffff:192\.0\.2\.2 .*"GET /page HTTP/1\.1" 200' "$TMPD/http.log" &&
	grep -q '^2001:db8::2 .*"GET /page HTTP/1\.1" 200' "$TMPD/http.log" || {
	sed 's/^/    /' "$TMPD/http.log"
	fail "http.server did not see the fetches from 192.0.2.2 and 2001:db8::2"
}
grep -q 'query\[A\] web\.test from 192\.0\.2\.2' "$TMPD/dnsmasq.log" &&
	grep -q 'query\[AAAA\] web6\.test from 192\.0\.2\.2' "$TMPD/dnsmasq.log" || {
	sed 's/^/    /' "$TMPD/dnsmasq.log"
	fail "dnsmasq did not answer the stack's queries for web.test (A) and web6.test (AAAA)"
}
log "urllib by name, 2 x 2 MiB: $(ms_since "$t") ms"

pass "asyncio server and client under the shim, 200 connections each way; urllib by name ($(ms_since "$T0") ms)"
