#!/bin/bash
# shim_names.sh — the name service under the shim (shim/names.c): programs
# ask dnsmasq on the kernel side (192.0.2.1 and 2001:db8::1, port 53) over
# the stack and the TUN, never the host's resolver:
#   A, AAAA, both (IPv6 first: the stack has both families), a CNAME with
#   AI_CANONNAME and gethostbyname_ex's aliases, NXDOMAIN (EAI_NONAME), a
#   name without AAAA (EAI_NODATA, and AI_V4MAPPED), a truncated answer
#   retried over TCP, PTR through getnameinfo and gethostbyaddr, the search
#   list, res_query/res_search through ctypes, a DNS server over IPv6, a
#   dead server (EAI_AGAIN within the 2 x 2 s bound), the --hosts file
#   (before DNS, and with no DNS at all), RFC 6761 localhost, and curl
#   fetching by name.  Then getaddrinfo/getnameinfo on numbers and hosts
#   files must give what glibc gives outside the shim, field by field.
TEST=shim_names
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

command -v dnsmasq >/dev/null 2>&1 || fail "dnsmasq is not installed (Debian: dnsmasq-base)"
command -v curl >/dev/null 2>&1 || fail "curl is not installed"
shim_ns_setup

# ---- the kernel side: dnsmasq, authoritative for .test ------------------------
cat >"$TMPD/dns.hosts" <<'EOF'
192.0.2.10 a.test
2001:db8::10 a.test
192.0.2.11 v4only.test
192.0.2.1 web.test
EOF
big=
for i in $(seq 1 40); do
	big="$big --host-record=big.test,198.51.100.$i"
done
# --local=/test/: names under .test that it does not know are NXDOMAIN (no
# upstream server exists); -u root: read the files in $TMPD.
# shellcheck disable=SC2086
kbg DNS 300 dnsmasq --keep-in-foreground --no-resolv --no-hosts -u root \
	--pid-file= --port=53 --listen-address=192.0.2.1,2001:db8::1 \
	--bind-interfaces --local=/test/ --addn-hosts="$TMPD/dns.hosts" \
	--cname=www.a.test,a.test --host-record=srch.corp.test,192.0.2.20 \
	--txt-record=txt.test,"netshim says hello" $big \
	--log-queries --log-facility="$TMPD/dnsmasq.log"
wait_port 53 udp

# nrun SECS [netshim options] -- CMD...: CMD under the shim, in the
# namespace, time-limited, with netshim options beyond shim_lib.inc's
# (--dns, --search, --hosts).
nrun() {
	secs=$1
	shift
	opts=()
	while [ "$1" != "--" ]; do
		opts+=("$1")
		shift
	done
	shift
	timeout -k 5 "$secs" ip netns exec "$NS" "$NETSHIM" --tun ns0 \
		--addr "$STACK4/24" --addr6 "$STACK6/64" --gateway "$PEER4" \
		--gateway6 "$PEER6" "${opts[@]}" -- "$@"
}
# names NAME [netshim options]: python3 (the script on stdin) under the
# shim; its output in $TMPD/NAME.out.
names() {
	n=$1
	shift
	nrun 60 "$@" -- "$PY" - >"$TMPD/$n.out" 2>"$TMPD/$n.err" ||
		fail "$n: python3 under the shim failed (exit $?): $(tail -3 "$TMPD/$n.err")"
}
# expect NAME LINE: the output holds LINE exactly.
expect() {
	grep -qxF -- "$2" "$TMPD/$1.out" ||
		fail "$1: no line '$2' in: $(cat "$TMPD/$1.out")"
}

# ---- DNS over the stack ----------------------------------------------------------
names dns --dns 192.0.2.1 <<'EOF'
import socket, ctypes
S = socket.SOCK_STREAM
def gai(name, fam=0, flags=0):
    try:
        return " ".join(r[4][0] for r in socket.getaddrinfo(name, 80, fam, S, 0, flags))
    except socket.gaierror as e:
        return "gaierror %d" % e.errno
print("A", gai("a.test", socket.AF_INET))
print("AAAA", gai("a.test", socket.AF_INET6))
print("BOTH", gai("a.test"))
r = socket.getaddrinfo("www.a.test", 80, socket.AF_INET, S, 0, socket.AI_CANONNAME)
print("CANON", r[0][3], r[0][4][0])
print("HBN", socket.gethostbyname_ex("www.a.test"))
print("NX", gai("nx.test"))
print("NODATA", gai("v4only.test", socket.AF_INET6))
print("MAPPED", gai("v4only.test", socket.AF_INET6, socket.AI_V4MAPPED))
print("BIG", len(gai("big.test", socket.AF_INET).split()))
print("PTR", socket.getnameinfo(("192.0.2.10", 80), 0))
print("PTR6", socket.getnameinfo(("2001:db8::10", 443), socket.NI_NUMERICSERV))
print("NOPTR", socket.getnameinfo(("192.0.2.77", 80), socket.NI_NUMERICSERV))
try:
    socket.getnameinfo(("192.0.2.77", 80), socket.NI_NAMEREQD)
    print("NAMEREQD none")
except socket.gaierror as e:
    print("NAMEREQD", e.errno)
print("HBA", socket.gethostbyaddr("192.0.2.11"))
print("LOCAL", gai("x.localhost", socket.AF_INET6))
# res_query and its GLIBC_2.2.5 name: the raw answer (RFC 1035 message)
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(4096)
for fn in ("res_query", "__res_query"):
    n = getattr(libc, fn)(b"txt.test", 1, 16, buf, len(buf))
    print(fn.upper(), n > 12 and b"netshim says hello" in buf.raw[:n])
n = libc.res_query(b"nx.test", 1, 1, buf, len(buf))
herrno = libc.__h_errno_location
herrno.restype = ctypes.POINTER(ctypes.c_int)
print("RESNX", n, herrno()[0]) # -1, HOST_NOT_FOUND
EOF
expect dns "A 192.0.2.10"
expect dns "AAAA 2001:db8::10"
expect dns "BOTH 2001:db8::10 192.0.2.10"
expect dns "CANON a.test 192.0.2.10"
expect dns "HBN ('a.test', ['www.a.test'], ['192.0.2.10'])"
expect dns "NX gaierror $(python3 -c 'import socket; print(socket.EAI_NONAME)')"
expect dns "NODATA gaierror $(python3 -c 'import socket; print(socket.EAI_NODATA)')"
expect dns "MAPPED ::ffff:192.0.2.11"
# 40 A records do not fit 512 bytes: TC=1, asked again over TCP; 32 is
# the most one lookup returns (DNS_MAX_ADDRS).
expect dns "BIG 32"
expect dns "PTR ('a.test', 'http')"
expect dns "PTR6 ('a.test', '443')"
expect dns "NOPTR ('192.0.2.77', '80')"
expect dns "NAMEREQD $(python3 -c 'import socket; print(socket.EAI_NONAME)')"
expect dns "HBA ('v4only.test', [], ['192.0.2.11'])"
expect dns "LOCAL ::1"
expect dns "RES_QUERY True"
expect dns "__RES_QUERY True"
expect dns "RESNX -1 1"
# The queries crossed the stack: dnsmasq saw them from its address, and
# none for the localhost name (RFC 6761 6.3).
grep -q 'query\[A\] a.test from 192.0.2.2' "$TMPD/dnsmasq.log" ||
	fail "dnsmasq saw no query from the stack's address 192.0.2.2"
grep -q 'localhost' "$TMPD/dnsmasq.log" && fail "a localhost name was sent to DNS"
log "A, AAAA, CNAME, NXDOMAIN, NODATA, TC->TCP, PTR, res_query: as expected"

# ---- a server over IPv6, the search list, res_search ----------------------------
names search --dns 2001:db8::1 --search "corp.test other.test" <<'EOF'
import socket, ctypes
r = socket.getaddrinfo("srch", 80, socket.AF_INET, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
print("SEARCH", r[0][3], r[0][4][0])
print("V6SERVER", socket.getaddrinfo("a.test", 80, socket.AF_INET6)[0][4][0])
libc = ctypes.CDLL(None)
buf = ctypes.create_string_buffer(1024)
n = libc.res_search(b"srch", 1, 1, buf, len(buf))
print("RES_SEARCH", n > 12 and bytes([192, 0, 2, 20]) in buf.raw[:n])
EOF
expect search "SEARCH srch.corp.test 192.0.2.20"
expect search "V6SERVER 2001:db8::10"
expect search "RES_SEARCH True"
grep -q 'from 2001:db8::2' "$TMPD/dnsmasq.log" || fail "no query reached dnsmasq over IPv6"
log "search list, res_search, server over IPv6: as expected"

# ---- a dead server: EAI_AGAIN, bounded ------------------------------------------
# 192.0.2.99 is no one (the namespace does not forward): 2 attempts x 2 s.
t=$(now_ms)
names dead --dns 192.0.2.99 <<'EOF'
import socket
try:
    socket.getaddrinfo("a.test", 80)
    print("DEAD resolved")
except socket.gaierror as e:
    print("DEAD", e.errno == socket.EAI_AGAIN)
EOF
ms=$(ms_since "$t")
expect dead "DEAD True"
[ "$ms" -lt 9000 ] || fail "a dead server took $ms ms (bound: about 4 s)"
log "dead server: EAI_AGAIN after $ms ms"

# ---- the --hosts file: before DNS, and without DNS -------------------------------
cat >"$TMPD/hosts" <<'EOF'
# netshim's own hosts file
198.51.100.7	file.test fileonly   # comment
198.51.100.8	a.test
2001:db8::77	file.test
EOF
names hosts --dns 192.0.2.1 --hosts "$TMPD/hosts" <<'EOF'
import socket
S = socket.SOCK_STREAM
r = socket.getaddrinfo("FILEONLY", 80, socket.AF_INET, S, 0, socket.AI_CANONNAME)
print("HOSTS", r[0][3], r[0][4][0])
print("HOSTS6", socket.getaddrinfo("file.test", 80, socket.AF_INET6, S)[0][4][0])
print("OVERRIDE", socket.getaddrinfo("a.test", 80, socket.AF_INET, S)[0][4][0])
print("NI", socket.getnameinfo(("198.51.100.7", 80), 0))
print("HBA", socket.gethostbyaddr("198.51.100.7"))
EOF
expect hosts "HOSTS file.test 198.51.100.7"
expect hosts "HOSTS6 2001:db8::77"
expect hosts "OVERRIDE 198.51.100.8"
expect hosts "NI ('file.test', 'http')"
expect hosts "HBA ('file.test', ['fileonly'], ['198.51.100.7'])"
grep -qi 'file.test\|fileonly' "$TMPD/dnsmasq.log" && fail "a --hosts name was sent to DNS"

names nodns --hosts "$TMPD/hosts" <<'EOF'
import socket
print("NODNS", socket.getaddrinfo("file.test", 80, socket.AF_INET)[0][4][0])
try:
    socket.getaddrinfo("a-name-nowhere.test", 80)
    print("NODNS2 resolved")
except socket.gaierror as e:
    print("NODNS2", e.errno == socket.EAI_NONAME)
EOF
expect nodns "NODNS 198.51.100.7"
expect nodns "NODNS2 True"
log "hosts file before DNS and without it: as expected"

# ---- a real program by name: curl (threaded resolver) ----------------------------
mkdir "$TMPD/www"
echo "served by name" >"$TMPD/www/index.txt"
kbg HTTP 60 "$PY" -m http.server --bind 192.0.2.1 --directory "$TMPD/www" 8080 \
	>/dev/null 2>&1
wait_port 8080
out=$(nrun 30 --dns 192.0.2.1 -- curl -sS --max-time 20 http://web.test:8080/index.txt \
	2>"$TMPD/curl.err") || fail "curl http://web.test:8080/ failed: $(cat "$TMPD/curl.err")"
[ "$out" = "served by name" ] || fail "curl http://web.test:8080/ got '$out'"
log "curl by name: as expected"

# ---- the same answers as glibc, outside the shim ------------------------------------
# Numbers, services, flags, socket types and hosts-file names need no
# DNS: the shim must return what glibc returns, in order and content
# (localhost over IPv6 is left out: RFC 6761 gives ::1, glibc asks DNS).
cat >"$TMPD/compare.py" <<'EOF'
import socket
S, D, R = socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW
cases = [
    ("localhost", 80, 0, 0, 0, 0), ("localhost", None, 0, 0, 0, 0),
    (None, 80, 0, 0, 0, 0), (None, 80, 0, 0, 0, socket.AI_PASSIVE),
    (None, "http", socket.AF_INET6, S, 0, socket.AI_PASSIVE),
    ("192.0.2.5", "http", 0, 0, 0, socket.AI_CANONNAME),
    ("127.1", None, socket.AF_INET, S, 0, 0), ("0x7f.1", None, 0, S, 0, 0),
    ("1.2.3.4", None, socket.AF_INET6, 0, 0, socket.AI_V4MAPPED),
    ("1.2.3.4", None, socket.AF_INET6, 0, 0, 0), ("::1", None, socket.AF_INET, 0, 0, 0),
    ("::ffff:1.2.3.4", None, socket.AF_INET, 0, 0, 0),
    ("fe80::1%1", 22, socket.AF_INET6, S, 0, 0),
    ("localhost", "http", 0, 0, 0, 0), ("localhost", "domain", 0, D, 0, 0),
    ("localhost", "http", 0, R, 0, 0), ("localhost", 80, 0, R, 0, 0),
    ("localhost", None, 0, 0, 50, 0), ("localhost", None, 0, R, 6, 0),
    ("localhost", None, 0, S, 17, 0), ("localhost", None, 0, 99, 0, 0),
    ("localhost", None, 0, socket.SOCK_SEQPACKET, 0, 0), ("localhost", "70000", 0, 0, 0, 0),
    ("localhost", "-1", 0, 0, 0, 0), ("localhost", "x80", 0, 0, 0, socket.AI_NUMERICSERV),
    ("localhost", "nosuchservice", 0, 0, 0, 0), ("localhost", None, 3, 0, 0, 0),
    ("1.2.3.4x", None, 0, 0, 0, socket.AI_NUMERICHOST), (None, None, 0, 0, 0, 0),
    (None, 80, 0, 0, 0, socket.AI_CANONNAME), ("localhost", None, 0, 0, 0, 0x800),
    ("localhost", None, socket.AF_INET6, S, 0, socket.AI_V4MAPPED),
    ("localhost", None, 0, S, 0, socket.AI_CANONNAME | socket.AI_ADDRCONFIG),
]
for c in cases:
    try:
        print(c, socket.getaddrinfo(*c))
    except socket.gaierror as e:
        print(c, "gaierror", e.errno, e.strerror)
for sa, fl in [(("127.0.0.1", 80), 0), (("127.0.0.1", 53), socket.NI_DGRAM),
               (("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV),
               (("::1", 80, 0, 0), socket.NI_NUMERICHOST), (("fe80::1", 80, 0, 1), 1),
               (("127.0.0.1", 9), 0x100)]:
    try:
        print(sa, fl, socket.getnameinfo(sa, fl))
    except socket.gaierror as e:
        print(sa, fl, "gaierror", e.errno, e.strerror)
EOF
tkern 30 "$PY" "$TMPD/compare.py" >"$TMPD/glibc.out" 2>&1 || fail "compare.py without the shim failed"
tshim 30 "$PY" "$TMPD/compare.py" >"$TMPD/shim.out" 2>&1 || fail "compare.py under the shim failed"
if ! cmp -s "$TMPD/glibc.out" "$TMPD/shim.out"; then
	diff "$TMPD/glibc.out" "$TMPD/shim.out" | sed 's/^/    /'
	fail "getaddrinfo/getnameinfo under the shim differ from glibc's"
fi
log "$(wc -l <"$TMPD/glibc.out") getaddrinfo/getnameinfo calls: the same as glibc"

pass "names over the stack, hosts files, glibc-identical results"
