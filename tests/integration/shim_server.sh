#!/bin/bash
# shim_server.sh — unmodified servers under the shim, kernel-side clients:
#   python3 -m http.server --bind :: (dual-stack) serves a 50 MiB file to
#   curl over IPv4 (192.0.2.2) and IPv6 (2001:db8::2), sha256 checked, and
#   then 200 small requests (10 curl runs of 20 URLs, IPv4 and IPv6
#   alternating, one connection each: http.server speaks HTTP/1.0), all
#   200 OK with the right length;
#   nginx (master_process off: one process; sendfile on) serves the same
#   file over IPv4 and IPv6, two requests on one keep-alive connection;
#   socat TCP-LISTEN:7000 EXEC:cat echoes 1 MiB back (sha256), without
#   fork (the accepted socket stays in the shim process) and with fork
#   (three clients at once: each accepted socket lives on in a fork child,
#   which has no stack of its own; the parent's stack thread carries its
#   data); socat -d -d logs each accepted connection's local address
#   (getsockname), which must be 192.0.2.2:PORT (checked last);
#   socat UDP4-LISTEN / UDP6-LISTEN EXEC:cat echoes 50 datagrams.
TEST=shim_server
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

for p in curl socat nginx; do
	command -v "$p" >/dev/null 2>&1 || fail "$p is not installed"
done
shim_ns_setup

mkdir "$TMPD/www"
mkrand "$TMPD/www/big" 50
printf 'small file %0500d\n' 0 >"$TMPD/www/small"
small_len=$(stat -c %s "$TMPD/www/small")
mkrand "$TMPD/mb" 1
T0=$(now_ms)

# ---- python3 -m http.server under the shim ----------------------------------
tshim_bg HTTP 55 "$PY" -m http.server --bind :: --directory "$TMPD/www" 8000 \
	>/dev/null 2>"$TMPD/http.log"
wait_http http://192.0.2.2:8000/small

t=$(now_ms)
tkern 30 curl -sS -o "$TMPD/c4" http://192.0.2.2:8000/big ||
	fail "curl from the kernel side over IPv4 failed (exit $?)"
same "$TMPD/www/big" "$TMPD/c4" "http.server IPv4 50 MiB"
log "50 MiB from http.server over IPv4: $(ms_since "$t") ms"

t=$(now_ms)
tkern 30 curl -sS -o "$TMPD/c6" 'http://[2001:db8::2]:8000/big' ||
	fail "curl from the kernel side over IPv6 failed (exit $?)"
same "$TMPD/www/big" "$TMPD/c6" "http.server IPv6 50 MiB"
log "50 MiB from http.server over IPv6: $(ms_since "$t") ms"

t=$(now_ms)
: >"$TMPD/codes"
for run in 1 2 3 4 5 6 7 8 9 10; do
	if [ $((run % 2)) = 1 ]; then
		base=http://192.0.2.2:8000
	else
		base='http://[2001:db8::2]:8000'
	fi
	args=()
	for i in $(seq 20); do
		args+=(-o /dev/null "$base/small?r=$run&i=$i")
	done
	tkern 20 curl -sS -w '%{http_code} %{size_download}\n' "${args[@]}" \
		>>"$TMPD/codes" 2>>"$TMPD/curl.err" ||
		fail "curl run $run of 20 small requests failed (exit $?): $(tail -n 3 "$TMPD/curl.err")"
done
ok=$(grep -cx "200 $small_len" "$TMPD/codes")
[ "$ok" = 200 ] ||
	fail "$ok of 200 small requests answered 200 with $small_len bytes: $(sort "$TMPD/codes" | uniq -c | tr '\n' ';')"
log "200 small requests (200 connections): $(ms_since "$t") ms"
kill -0 "$HTTP_PID" 2>/dev/null || fail "http.server under the shim died"
# One process holds the TUN at a time: stop http.server.
kill -TERM "$HTTP_PID"
bgwait "$HTTP_PID" 10
[ $? != 124 ] || fail "http.server under the shim ignores SIGTERM"

# ---- nginx, one process, sendfile ------------------------------------------
# (With its default master and worker processes nginx cannot serve under
# the shim: a worker is a fork child, and accept() on the listening socket
# it inherited finds nothing — see the report on prefork servers.)
mkdir "$TMPD/nginx"
cat >"$TMPD/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $TMPD/nginx/error.log info;
pid $TMPD/nginx/nginx.pid;
events { worker_connections 64; }
http {
	access_log $TMPD/nginx/access.log;
	client_body_temp_path $TMPD/nginx/body;
	proxy_temp_path $TMPD/nginx/proxy;
	fastcgi_temp_path $TMPD/nginx/fastcgi;
	scgi_temp_path $TMPD/nginx/scgi;
	uwsgi_temp_path $TMPD/nginx/uwsgi;
	sendfile on;
	server {
		listen 192.0.2.2:8080;
		listen [2001:db8::2]:8080;
		root $TMPD/www;
	}
}
EOF
tshim_bg NGINX 40 nginx -c "$TMPD/nginx/nginx.conf" -e "$TMPD/nginx/error.log"
wait_http http://192.0.2.2:8080/small
t=$(now_ms)
tkern 30 curl -sS -o "$TMPD/n4" http://192.0.2.2:8080/big ||
	fail "curl from nginx over IPv4 failed (exit $?)"
same "$TMPD/www/big" "$TMPD/n4" "nginx IPv4 50 MiB"
tkern 30 curl -sS -o "$TMPD/n6a" 'http://[2001:db8::2]:8080/big' \
	-o "$TMPD/n6b" 'http://[2001:db8::2]:8080/big' 2>"$TMPD/curl.err" ||
	fail "curl from nginx over IPv6 failed (exit $?): $(cat "$TMPD/curl.err")"
same "$TMPD/www/big" "$TMPD/n6a" "nginx IPv6 50 MiB, first request"
same "$TMPD/www/big" "$TMPD/n6b" "nginx IPv6 50 MiB, second request"
grep -q ' "GET /big HTTP/1.1" 200 ' "$TMPD/nginx/access.log" ||
	fail "nginx logged no GET /big"
log "nginx (sendfile): 3 x 50 MiB over IPv4 and IPv6: $(ms_since "$t") ms"
kill -TERM "$NGINX_PID"
bgwait "$NGINX_PID" 10
[ $? != 124 ] || fail "nginx under the shim ignores SIGTERM"

# ---- socat echo servers -----------------------------------------------------
# echo_client PORT OUT: 1 MiB to 192.0.2.2:PORT and the echo into OUT; the
# connection is retried while the server starts.
echo_client() {
	tkern 30 socat -t 20 STDIO \
		"TCP:192.0.2.2:$1,retry=50,interval=0.2" <"$TMPD/mb" >"$2"
}

# Without fork: socat handles one connection itself, then exits.
tshim_bg ECHO 40 socat -d -d TCP-LISTEN:7000,reuseaddr EXEC:cat 2>"$TMPD/echo.log"
t=$(now_ms)
echo_client 7000 "$TMPD/e0" || fail "kernel-side socat to the echo server: exit $?"
same "$TMPD/mb" "$TMPD/e0" "socat EXEC:cat echo (no fork) 1 MiB"
log "socat echo without fork, 1 MiB each way: $(ms_since "$t") ms"
bgwait "$ECHO_PID" 10 || fail "socat echo server (no fork) exit $?"

# With fork: each connection in a fork child of the shim process.
tshim_bg ECHOF 40 socat -d -d TCP-LISTEN:7001,reuseaddr,fork EXEC:cat \
	2>"$TMPD/echof.log"
t=$(now_ms)
echo_client 7001 "$TMPD/f0" || fail "echo (fork) client 0: exit $?"
same "$TMPD/mb" "$TMPD/f0" "socat fork echo, first connection, 1 MiB"
pids=
for c in 1 2 3; do
	timeout -k 5 30 ip netns exec "$NS" socat -t 20 STDIO \
		TCP:192.0.2.2:7001 <"$TMPD/mb" >"$TMPD/f$c" &
	pids="$pids $!"
	BG_PIDS="$BG_PIDS $!"
done
c=0
for p in $pids; do
	c=$((c + 1))
	bgwait "$p" 40 || fail "echo (fork) concurrent client $c: exit $?"
	same "$TMPD/mb" "$TMPD/f$c" "socat fork echo, concurrent client $c, 1 MiB"
done
log "socat echo with fork, 4 connections (3 at once), 1 MiB each way: $(ms_since "$t") ms"
kill -0 "$ECHOF_PID" 2>/dev/null || fail "socat fork echo server died"
kill -TERM "$ECHOF_PID"
bgwait "$ECHOF_PID" 10
[ $? != 124 ] || fail "socat fork echo server ignores SIGTERM"

# UDP: socat UDP-LISTEN (no fork) EXEC:cat echoes datagrams, one at a time.
for v in 4 6; do
	dst=192.0.2.2
	[ "$v" = 4 ] || dst=2001:db8::2
	tshim_bg UECHO 30 socat "UDP$v-LISTEN:7002" EXEC:cat
	t=$(now_ms)
	tkern 25 "$PY" "$(dirname "$0")/shim_prog_udp_client.py" "$dst" 7002 50 ||
		fail "socat UDP$v-LISTEN echo: the kernel-side client failed (exit $?)"
	log "socat UDP$v-LISTEN echo, 50 datagrams: $(ms_since "$t") ms"
	kill -TERM "$UECHO_PID"
	bgwait "$UECHO_PID" 10
	[ $? != 124 ] || fail "socat UDP echo server ignores SIGTERM"
done

# getsockname() of an accepted socket: its local address and port.
for f in echo:7000:1 echof:7001:4; do
	IFS=: read -r name port want <<<"$f"
	got=$(grep -c "accepting connection from AF=2 192\.0\.2\.1:[0-9]* on AF=2 192\.0\.2\.2:$port\$" "$TMPD/$name.log")
	[ "$got" = "$want" ] || {
		grep 'accepting connection' "$TMPD/$name.log" | sed 's/^/    /'
		fail "socat on port $port: $got of $want accepted connections show the local address 192.0.2.2:$port (getsockname of an accepted socket)"
	}
done

pass "http.server and socat under the shim serve kernel-side clients ($(ms_since "$T0") ms)"
