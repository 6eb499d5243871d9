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
. "$(dirname "$0")/shim_nginx.inc"

for p in curl nginx wrk; do
	command -v "$p" >/dev/null 2>&1 ||
		fail "$p is not installed (Debian: apt-get install nginx-light wrk curl)"
done
shim_ns_setup

mkdir "$TMPD/www"
mkrand "$TMPD/www/big" 100
printf 'small file %0500d\n' 0 >"$TMPD/www/small"
for i in $(seq 20); do
	head -c $((100 + i * 97)) /dev/urandom | base64 >"$TMPD/www/f$i"
done
T0=$(now_ms)

nginx_conf "$WORKERS" off
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
wrk_check 4 http://192.0.2.2:8080/small 10000
wrk_check 6 'http://[2001:db8::2]:8080/small' 10000
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
