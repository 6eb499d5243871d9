#!/bin/bash
# shim_unreach.sh — errno for destinations the program cannot reach, as a
# kernel socket reports them: the kernel side answers with ICMP (routes of
# type unreachable / prohibit in the test's namespace, forwarding on), and
# the stack turns the ICMP error into connect()'s errno; with no IPv6
# address at all, an IPv6 connect fails at once with ENETUNREACH.
TEST=shim_unreach
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"

shim_ns_setup
in_ns sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward"
in_ns sysctl -qw net.ipv6.conf.all.forwarding=1 || fail "IPv6 forwarding"
in_ns ip route add unreachable 198.51.100.0/25 || fail "unreachable route"
in_ns ip route add prohibit 198.51.100.128/25 || fail "prohibit route"
in_ns ip -6 route add unreachable 2001:db8:99::/48 || fail "IPv6 unreachable route"

cat >"$TMPD/u.py" <<'PY'
import errno, socket, sys, time
def attempt(fam, addr):
    s = socket.socket(fam)
    s.settimeout(8)
    t = time.monotonic()
    try:
        s.connect(addr)
        r = "connected"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "timeout"
    return r, time.monotonic() - t < 3
for name, fam, addr in (("v4.unreachable", socket.AF_INET, ("198.51.100.7", 80)),
                        ("v4.prohibit", socket.AF_INET, ("198.51.100.200", 80)),
                        ("v6.unreachable", socket.AF_INET6, ("2001:db8:99::7", 80))):
    print(name, *attempt(fam, addr), flush=True)
PY
# (timeout outside the launcher: the program itself must hold the device)
out=$(in_ns timeout 60 "$NETSHIM" --tun ns0 --addr "$STACK4/24" --addr6 "$STACK6/64" \
	--gateway "$PEER4" --gateway6 "$PEER6" -- "$PY" "$TMPD/u.py" 2>&1) || fail "script: $out"
log "$(echo "$out" | tr '\n' ';')"
# Linux: ICMP net unreachable -> ENETUNREACH, host unreachable and
# administratively prohibited -> EHOSTUNREACH (icmp_err_convert); the
# kernel's reply for an "unreachable" route is host unreachable for
# forwarded packets.
echo "$out" | grep -Eq '^v4.unreachable (EHOSTUNREACH|ENETUNREACH) True$' ||
	fail "IPv4 unreachable: $out"
echo "$out" | grep -Eq '^v4.prohibit EHOSTUNREACH True$' ||
	fail "IPv4 prohibited: $out"
echo "$out" | grep -Eq '^v6.unreachable ENETUNREACH True$' ||
	fail "IPv6 unreachable: $out"

# No IPv6 address: no route at all, at once.
out=$(in_ns timeout 30 "$NETSHIM" --tun ns0 --addr "$STACK4/24" --addr6 none --gateway "$PEER4" -- \
	"$PY" -c '
import errno, socket
s = socket.socket(socket.AF_INET6)
try:
    s.connect(("2001:db8::1", 80)); print("connected")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>&1) || fail "no-IPv6 script: $out"
[ "$out" = ENETUNREACH ] || fail "IPv6 connect without an IPv6 address: $out, want ENETUNREACH"
pass "EHOSTUNREACH/ENETUNREACH from ICMP, ENETUNREACH without a route"
