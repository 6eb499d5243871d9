#!/bin/bash
# shim_nginx.sh — nginx, unmodified, under the shim as a real web server:
#   one process (daemon off; master_process off), or with
#   NGINX_WORKERS=N (shim_nginx_workers.sh) a master and N worker
#   processes, fork children that accept on the listeners they inherited
#   (their calls served by the master, which owns the stack), epoll, sendfile on, accept4 (Debian's
#   build), listening on 0.0.0.0:8080 and [::]:8080 (ipv6only, nginx's
#   default: two listeners on one port, one per family);
#   a 100 MiB file to kernel-side curl over IPv4 and over IPv6 (sha256);
#   wrk -c 64 -t 2 -d 5s on a small file over IPv4 and then IPv6: at least
#   10 000 requests each, every one 2xx, no socket error (connect, read,
#   write, timeout) — counted by shim_srv_wrk.lua, and wrk's own report
#   must not show its error lines either; nginx's access log must hold
#   only 200s;
#   a bounded curl loop (10 runs of 20 URLs over 20 distinct files, IPv4
#   and IPv6 alternating, keep-alive) whose every body must be its file;
#   nginx still alive, no [alert]/[crit]/[emerg] in its error log.
WORKERS=${NGINX_WORKERS:-0}
TEST=shim_nginx
[ "$WORKERS" = 0 ] || TEST=shim_nginx_workers
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

for p in curl nginx wrk; do
	command -v "$p" >/dev/null 2>&1 ||
		fail "$p is not installed (Debian: apt-get install nginx-light wrk curl)"
done
WRKLUA="$(cd "$(dirname "$0")" && pwd)/shim_srv_wrk.lua"
shim_ns_setup

mkdir "$TMPD/www" "$TMPD/nginx"
mkrand "$TMPD/www/big" 100
printf 'small file %0500d\n' 0 >"$TMPD/www/small"
for i in $(seq 20); do
	head -c $((100 + i * 97)) /dev/urandom | base64 >"$TMPD/www/f$i"
done
T0=$(now_ms)

if [ "$WORKERS" = 0 ]; then
	procs="master_process off;
worker_processes 1;"
else
	# the workers run as this user: the files are in a private TMPD
	procs="master_process on;
user $(id -un);
worker_processes $WORKERS;"
fi
cat >"$TMPD/nginx/nginx.conf" <<EOF
daemon off;
$procs
error_log $TMPD/nginx/error.log info;
pid $TMPD/nginx/nginx.pid;
events {
	use epoll;
	worker_connections 1024;
}
http {
	access_log $TMPD/nginx/access.log;
	client_body_temp_path $TMPD/nginx/body;
	proxy_temp_path $TMPD/nginx/proxy;
	fastcgi_temp_path $TMPD/nginx/fastcgi;
	scgi_temp_path $TMPD/nginx/scgi;
	uwsgi_temp_path $TMPD/nginx/uwsgi;
	sendfile on;
	server {
		listen 0.0.0.0:8080;
		listen [::]:8080;
		root $TMPD/www;
	}
}
EOF
tshim_bg NGINX 150 nginx -c "$TMPD/nginx/nginx.conf" -e "$TMPD/nginx/error.log"
wait_http http://192.0.2.2:8080/small
wait_http 'http://[2001:db8::2]:8080/small'

# ---- 100 MiB, sendfile -------------------------------------------------------
for v in 4 6; do
	url=http://192.0.2.2:8080/big
	[ "$v" = 4 ] || url='http://[2001:db8::2]:8080/big'
	t=$(now_ms)
	tkern 40 curl -sS -o "$TMPD/big$v" "$url" 2>"$TMPD/curl.err" ||
		fail "curl of 100 MiB from nginx over IPv$v failed (exit $?): $(cat "$TMPD/curl.err")"
	same "$TMPD/www/big" "$TMPD/big$v" "nginx IPv$v 100 MiB"
	log "100 MiB from nginx over IPv$v: $(ms_since "$t") ms"
	rm -f "$TMPD/big$v"
done

# ---- wrk: 64 connections, 5 s ----------------------------------------------------
# wrk_check V URL: a 5 s wrk run; every counter of shim_srv_wrk.lua's line
# checked.
wrk_check() {
	t=$(now_ms)
	tkern 20 wrk -c 64 -t 2 -d 5s -s "$WRKLUA" "$2" >"$TMPD/wrk$1.out" 2>&1 || {
		sed 's/^/    /' "$TMPD/wrk$1.out"
		fail "wrk over IPv$1 failed (exit $?)"
	}
	line=$(grep '^WRK ' "$TMPD/wrk$1.out") || {
		sed 's/^/    /' "$TMPD/wrk$1.out"
		fail "wrk over IPv$1: no summary line from shim_srv_wrk.lua"
	}
	get() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	req=$(get requests)
	errs="non2xx=$(get non2xx) connect=$(get connect) read=$(get read) write=$(get write) timeout=$(get timeout)"
	if [ "$errs" != "non2xx=0 connect=0 read=0 write=0 timeout=0" ] ||
		grep -qE 'Non-2xx|Socket errors' "$TMPD/wrk$1.out"; then
		sed 's/^/    /' "$TMPD/wrk$1.out"
		tail -n 20 "$TMPD/nginx/error.log" | sed 's/^/    nginx: /'
		fail "wrk over IPv$1: $req requests with errors: $errs"
	fi
	[ "$req" -ge 10000 ] || {
		sed 's/^/    /' "$TMPD/wrk$1.out"
		fail "wrk over IPv$1: only $req requests in 5 s (want at least 10000)"
	}
	log "wrk -c 64 -t 2 -d 5s over IPv$1: $req requests, $(get rps)/s, no errors ($(ms_since "$t") ms)"
	WRK_REQ=$((WRK_REQ + req))
}
WRK_REQ=0
wrk_check 4 http://192.0.2.2:8080/small
wrk_check 6 'http://[2001:db8::2]:8080/small'
kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx under the shim died during wrk"

# ---- curl loop, content checked ---------------------------------------------------
t=$(now_ms)
n=0
for run in $(seq 10); do
	if [ $((run % 2)) = 1 ]; then
		base=http://192.0.2.2:8080
	else
		base='http://[2001:db8::2]:8080'
	fi
	args=()
	for i in $(seq 20); do
		args+=(-o "$TMPD/got.$i" "$base/f$i")
	done
	rm -f "$TMPD"/got.*
	tkern 20 curl -sS --fail "${args[@]}" 2>"$TMPD/curl.err" ||
		fail "curl run $run (20 files from $base) failed (exit $?): $(tail -n 3 "$TMPD/curl.err")"
	for i in $(seq 20); do
		cmp -s "$TMPD/www/f$i" "$TMPD/got.$i" ||
			fail "curl run $run: /f$i from $base differs from the file ($(stat -c %s "$TMPD/got.$i" 2>/dev/null || echo no) of $(stat -c %s "$TMPD/www/f$i") bytes)"
		n=$((n + 1))
	done
done
log "$n small files fetched with curl (keep-alive, IPv4 and IPv6), every body checked: $(ms_since "$t") ms"

# ---- nginx's own view ---------------------------------------------------------------
kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx under the shim died"
if grep -E '\[(alert|crit|emerg)\]' "$TMPD/nginx/error.log" >"$TMPD/bad"; then
	head -n 20 "$TMPD/bad" | sed 's/^/    /'
	fail "nginx logged alerts (above)"
fi
ok=$(grep -c '" 200 ' "$TMPD/nginx/access.log")
other=$(grep -vc '" 200 ' "$TMPD/nginx/access.log")
[ "$other" = 0 ] || {
	grep -v '" 200 ' "$TMPD/nginx/access.log" | awk '{ print $9 }' | sort | uniq -c | sed 's/^/    /'
	fail "nginx answered $other requests with something other than 200 (counts above)"
}
[ "$ok" -ge $((WRK_REQ + n + 2)) ] ||
	fail "nginx logged $ok requests, fewer than the $((WRK_REQ + n + 2)) its clients completed"
grep -q '^2001:db8::1 ' "$TMPD/nginx/access.log" ||
	fail "nginx logged no request from 2001:db8::1 (IPv6 peer address)"
grep -q '^192\.0\.2\.1 ' "$TMPD/nginx/access.log" ||
	fail "nginx logged no request from 192.0.2.1 (IPv4 peer address)"

kill -TERM "$NGINX_PID"
bgwait "$NGINX_PID" 15
[ $? != 124 ] || fail "nginx under the shim ignores SIGTERM"

pass "nginx under the shim: 2 x 100 MiB, $WRK_REQ wrk requests, $n checked bodies ($(ms_since "$T0") ms)"
