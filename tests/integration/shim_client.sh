#!/bin/bash
# shim_client.sh — unmodified clients under the shim (curl, wget, socat,
# nc) against kernel-side servers in the test's namespace:
#   curl downloads 50 MiB from python3 -m http.server over IPv4 and IPv6,
#   wget the same over IPv4; socat sends 10 MiB up (IPv4 and IPv6) and
#   receives 10 MiB down (IPv4); nc -N sends 10 MiB to nc -l; every sha256 must
#   match, and the servers must have seen the stack's address (192.0.2.2,
#   2001:db8::2), so the bytes really crossed the stack and the TUN.
#   curl to a closed port fails quickly with its exit code 7.
TEST=shim_client
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

for p in curl wget socat nc; do
	command -v "$p" >/dev/null 2>&1 || fail "$p is not installed"
done
shim_ns_setup

mkdir "$TMPD/www"
mkrand "$TMPD/www/big" 50
mkrand "$TMPD/ten" 10
T0=$(now_ms)

# ---- HTTP downloads from a kernel-side python3 -m http.server ---------------
# --bind :: is dual-stack (IPv4 clients appear as ::ffff:192.0.2.2).
kbg HTTP 60 "$PY" -m http.server --bind :: --directory "$TMPD/www" 8080 \
	>/dev/null 2>"$TMPD/http.log"
wait_port 8080

t=$(now_ms)
tshim 30 curl -sS -o "$TMPD/c4" http://192.0.2.1:8080/big ||
	fail "curl over IPv4 failed (exit $?)"
same "$TMPD/www/big" "$TMPD/c4" "curl IPv4 50 MiB"
log "curl IPv4 50 MiB: $(ms_since "$t") ms"

t=$(now_ms)
tshim 30 curl -sS -o "$TMPD/c6" 'http://[2001:db8::1]:8080/big' ||
	fail "curl over IPv6 failed (exit $?)"
same "$TMPD/www/big" "$TMPD/c6" "curl IPv6 50 MiB"
log "curl IPv6 50 MiB: $(ms_since "$t") ms"

t=$(now_ms)
tshim 30 wget -q -O "$TMPD/w4" http://192.0.2.1:8080/big ||
	fail "wget over IPv4 failed (exit $?)"
same "$TMPD/www/big" "$TMPD/w4" "wget IPv4 50 MiB"
log "wget IPv4 50 MiB: $(ms_since "$t") ms"

n4=$(grep -c '^::ffff:192\.0\.2\.2 .*"GET /big HTTP/1\.1" 200' "$TMPD/http.log")
n6=$(grep -c '^2001:db8::2 .*"GET /big HTTP/1\.1" 200' "$TMPD/http.log")
if [ "$n4" != 2 ] || [ "$n6" != 1 ]; then
	sed 's/^/    /' "$TMPD/http.log"
	fail "http.server saw $n4 IPv4 and $n6 IPv6 requests from the stack, want 2 and 1"
fi

# ---- socat: upload and download, 10 MiB -------------------------------------
# range= makes the kernel side refuse anything not from the stack.
kbg UP 40 socat -u TCP4-LISTEN:9000,reuseaddr,range=192.0.2.2/32 \
	"CREATE:$TMPD/up4"
wait_port 9000
t=$(now_ms)
tshim 30 socat -u "OPEN:$TMPD/ten" TCP:192.0.2.1:9000 ||
	fail "socat upload over IPv4 failed (exit $?)"
bgwait "$UP_PID" 20 || fail "kernel-side socat (upload receiver) exit $?"
same "$TMPD/ten" "$TMPD/up4" "socat upload IPv4 10 MiB"
log "socat upload IPv4 10 MiB: $(ms_since "$t") ms"

kbg UP6 40 socat -u "TCP6-LISTEN:9002,reuseaddr,range=[2001:db8::2]/128" \
	"CREATE:$TMPD/up6"
wait_port 9002
t=$(now_ms)
tshim 30 socat -u "OPEN:$TMPD/ten" 'TCP:[2001:db8::1]:9002' ||
	fail "socat upload over IPv6 failed (exit $?)"
bgwait "$UP6_PID" 20 || fail "kernel-side socat (IPv6 upload receiver) exit $?"
same "$TMPD/ten" "$TMPD/up6" "socat upload IPv6 10 MiB"
log "socat upload IPv6 10 MiB: $(ms_since "$t") ms"

kbg DN 40 socat -u "OPEN:$TMPD/ten" \
	TCP4-LISTEN:9001,reuseaddr,range=192.0.2.2/32
wait_port 9001
t=$(now_ms)
tshim 30 socat -u TCP:192.0.2.1:9001 "CREATE:$TMPD/dn4" ||
	fail "socat download over IPv4 failed (exit $?)"
bgwait "$DN_PID" 20 || fail "kernel-side socat (download sender) exit $?"
same "$TMPD/ten" "$TMPD/dn4" "socat download IPv4 10 MiB"
log "socat download IPv4 10 MiB: $(ms_since "$t") ms"

# ---- nc -N to nc -l ---------------------------------------------------------
kbg NC 40 nc -n -v -l 9003 >"$TMPD/nc.out" 2>"$TMPD/nc.log" </dev/null
wait_port 9003
t=$(now_ms)
tshim 30 nc -N 192.0.2.1 9003 <"$TMPD/ten" >/dev/null ||
	fail "nc -N under the shim failed (exit $?)"
bgwait "$NC_PID" 20 || fail "kernel-side nc -l exit $? ($(cat "$TMPD/nc.log"))"
grep -q 'Connection received on 192\.0\.2\.2 ' "$TMPD/nc.log" ||
	fail "nc -l did not see the stack's address: $(cat "$TMPD/nc.log")"
same "$TMPD/ten" "$TMPD/nc.out" "nc 10 MiB"
log "nc -N 10 MiB: $(ms_since "$t") ms"

# ---- a closed port: curl says "couldn't connect" (7), quickly ---------------
for url in http://192.0.2.1:9/ 'http://[2001:db8::1]:9/'; do
	t=$(now_ms)
	tshim 20 curl -sS -o /dev/null "$url" 2>"$TMPD/curl.err"
	rc=$?
	ms=$(ms_since "$t")
	[ "$rc" = 7 ] || fail "curl $url: exit $rc, want 7 ($(cat "$TMPD/curl.err"))"
	[ "$ms" -lt 3000 ] || fail "curl $url took $ms ms to give up, want < 3 s"
	log "curl to a closed port ($url): exit 7 after $ms ms"
done

pass "curl, wget, socat and nc under the shim ($(ms_since "$T0") ms)"
