#!/bin/bash
# shim_ifaces.sh — the interfaces a program sees under the shim
# (shim/ifaces.c): if_nameindex, if_nametoindex, if_indextoname, getifaddrs
# and the SIOCGIF* ioctls show exactly lo and ns0 with the stack's
# addresses (192.0.2.2/24, 2001:db8::2/64), never the kernel side's, and
# show them as Linux does: shim_ifaces.py prints it all once on the kernel,
# with ns0 configured as the stack is and held open (so it runs), and once
# under netshim; the outputs must match line for line — values, errors for
# missing names, glibc's memory layout, the bytes each ioctl writes.  Then:
# a spawned descendant (a client of the session) sees the owner's view; one
# refused the network (its session unreachable) sees what an empty network
# namespace shows (lo, down, no address); a fork child sees its parent's view;
# changes (EPERM) and unserved queries (EOPNOTSUPP) on a netshim socket
# never reach the kernel, while a non-netshim socket's ioctls still do.
TEST=shim_ifaces
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"

HELPER="$ROOT/tests/integration/shim_ifaces.py"
command -v unshare >/dev/null 2>&1 || fail "unshare (util-linux) is not installed"
shim_ns_setup

# under_shim OUT ARGS...: the helper under netshim, its output in $TMPD/OUT.
# The program itself is what the launcher runs, so it owns the stack.
under_shim() {
	out=$1
	shift
	in_ns timeout 60 "$NETSHIM" --tun ns0 --addr "$STACK4/24" --addr6 "$STACK6/64" \
		--gateway "$PEER4" --gateway6 "$PEER6" -- "$PY" "$HELPER" "$@" \
		>"$TMPD/$out" 2>"$TMPD/$out.err" ||
		fail "shim_ifaces.py $* under netshim: exit $?: $(tail -3 "$TMPD/$out.err")"
}
# kernel OUT CMD...: CMD in the namespace without the shim.
kernel() {
	out=$1
	shift
	in_ns timeout 60 "$@" >"$TMPD/$out" 2>"$TMPD/$out.err" ||
		fail "$* on the kernel: exit $?: $(tail -3 "$TMPD/$out.err")"
}
same() {
	diff -u "$TMPD/$1" "$TMPD/$2" >"$TMPD/diff" ||
		fail "$3: $1 and $2 differ:
$(head -40 "$TMPD/diff")"
}
# expect OUT PREFIX: a line of OUT starts with PREFIX.
expect() {
	awk -v p="$2" 'index($0, p) == 1 { f = 1 } END { exit !f }' "$TMPD/$1" ||
		fail "$1: no line starting '$2' in: $(head -30 "$TMPD/$1")"
}

# ---- the kernel's answers for lo + a TUN configured as the stack is ---------------
# No link-local address: the stack has none.
in_ns ip addr flush dev ns0 || fail "flush ns0"
in_ns ip link set ns0 addrgenmode none || fail "addrgenmode none on ns0"
in_ns ip addr add "$STACK4/24" dev ns0 || fail "$STACK4 on ns0"
in_ns ip -6 addr add "$STACK6/64" dev ns0 nodad || fail "$STACK6 on ns0"
kernel kernel.out "$PY" "$HELPER" dump --attach ns0
# Back to the kernel side's addresses, with a link-local address of its own
# once netshim opens the device: none of them may show under the shim.
in_ns ip addr flush dev ns0 || fail "flush ns0"
in_ns ip link set ns0 addrgenmode eui64 || fail "addrgenmode eui64 on ns0"
in_ns ip addr add "$PEER4/24" dev ns0 || fail "$PEER4 on ns0"
in_ns ip -6 addr add "$PEER6/64" dev ns0 nodad || fail "$PEER6 on ns0"

# ---- under netshim: the same, from the stack ---------------------------------------
under_shim shim.out dump
same kernel.out shim.out "netshim's interfaces are not what Linux shows for the stack's"
if grep -nE '192\.0\.2\.1([^0-9]|$)|c0000201|2001:db8::1([^0-9a-f:]|$)|fe80' "$TMPD/shim.out"; then
	fail "the kernel side's addresses show under netshim"
fi
# The reference itself, so that a broken kernel run cannot pass for one.
expect shim.out "if_nameindex [(1, 'lo'), (2, 'ns0')]"
expect shim.out "if_nametoindex 'nope': 0 ENODEV"
expect shim.out "socket.if_nametoindex 'lo': 1"
expect shim.out "socket.if_indextoname 1: lo"
expect shim.out "socket.if_indextoname 99: OSError ENXIO"
expect shim.out "getifaddrs lo flags=0x10049 addr=ll(proto=0 idx=1 hatype=772 "
expect shim.out "getifaddrs ns0 flags=0x110d1 addr=None netmask=None dst=None data=yes"
expect shim.out "getifaddrs lo flags=0x10049 addr=in(127.0.0.1) "
sin=02000000c00002020000000000000000 # AF_INET, port 0, 192.0.2.2, zeros
expect shim.out "getifaddrs ns0 flags=0x110d1 addr=in(192.0.2.2) $sin netmask=in(255.255.255.0) "
expect shim.out "getifaddrs lo flags=0x10049 addr=in6(::1%0) "
expect shim.out "getifaddrs ns0 flags=0x110d1 addr=in6(2001:db8::2%0) "
[ "$(grep -c '^getifaddrs ' "$TMPD/shim.out")" = 6 ] ||
	fail "getifaddrs: not 6 entries: $(grep '^getifaddrs ' "$TMPD/shim.out")"
expect shim.out "ioctl inet SIOCGIFADDR b'ns0': 0 6e73300000000000000000000000000002000000c0000202"
expect shim.out "ioctl inet SIOCGIFFLAGS b'ns0': 0 6e733000000000000000000000000000d110"
expect shim.out "ioctl inet SIOCGIFMTU b'ns0': 0 6e733000000000000000000000000000dc050000"
expect shim.out "ioctl inet SIOCGIFHWADDR b'ns0': 0 6e733000000000000000000000000000feff0000"
expect shim.out "ioctl inet SIOCGIFADDR b'nope': -1 ENODEV"
expect shim.out "ioctl inet6 SIOCGIFADDR b'ns0': -1 ENOTTY"
expect shim.out "ioctl inet SIOCGIFCONF None: 0 len=80"
expect shim.out "ioctl inet SIOCGIFCONF 79: 0 len=40 lo="
log "lo and ns0 as Linux shows them, with the stack's addresses"

# ---- a spawned descendant joins the session: the owner's view ----------------------
under_shim owner.out basic
under_shim spawned.out spawn basic
same owner.out spawned.out "a spawned descendant (a client of the session) does not see the owner's view"
expect spawned.out "getifaddrs ns0 flags=0x110d1 addr=in(192.0.2.2) "

# ---- a descendant refused the network: an empty network namespace's view ------------
# (its session cannot be reached while its ancestor holds the device)
under_shim refused.out spawn-lost basic
kernel empty.out unshare -n "$PY" "$HELPER" basic
same empty.out refused.out "a refused descendant does not see an empty namespace"
expect refused.out "if_nameindex [(1, 'lo')]"
expect refused.out "getifaddrs lo flags=0x8 "

# ---- a fork child: its parent's stack ----------------------------------------------
under_shim fork.out fork
expect fork.out "fork: same view"

# ---- refusals, statistics, and a socket that is not netshim's ----------------------
under_shim extras.out extras
for l in "SIOCSIFMTU ns0: -1 EPERM" "SIOCSIFFLAGS ns0: -1 EPERM" \
	"SIOCSIFADDR ns0: -1 EPERM" "SIOCADDRT ns0: -1 EPERM" "SIOCSARP ns0: -1 EPERM" \
	"SIOCETHTOOL ns0: -1 ENOTSUP" "SIOCGIWNAME ns0: -1 ENOTSUP" \
	"SIOCGIFPFLAGS ns0: -1 ENOTSUP" "SIOCGIFFLAGS NULL: -1 EFAULT" \
	"statistics: 2 links, all zero: True" \
	"unix SIOCGIFCONF: lo=127.0.0.1 ns0=192.0.2.1"; do
	expect extras.out "extra $l"
done
# The refused SIOCSIFMTU/SIOCSIFFLAGS did not touch the kernel's ns0.
in_ns ip link show ns0 | grep -q 'UP.* mtu 1500 ' ||
	fail "ns0 changed under the shim: $(in_ns ip link show ns0)"

pass "getifaddrs, if_* and SIOCGIF* show the stack's lo and ns0 as Linux would"
