#!/bin/bash
# ping.sh — the kernel pings the stack across the TUN: ICMP echo over IPv4
# and ICMPv6 echo over IPv6, three each, none lost.
TEST=ping
. "$(dirname "$0")/lib.sh"

command -v ping >/dev/null 2>&1 || fail "ping is not installed (iputils-ping)"
ns_setup
echod_start

for dst in "$STACK4" "$STACK6"; do
	if [ "$dst" = "$STACK6" ]; then fam=-6; else fam=-4; fi
	out=$(in_ns timeout 20 ping "$fam" -n -c 3 -i 0.2 -W 2 "$dst" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	[ "$rc" = 0 ] || fail "ping $dst exited $rc"
	printf '%s\n' "$out" | grep -q ' 3 received, 0% packet loss' ||
		fail "ping $dst: not 3 of 3 answered"
done

echod_stop || fail "netshim-echod did not exit cleanly"
sent4=$(stat_get "$TMPD/stats" icmp4.tx)
sent6=$(stat_get "$TMPD/stats" icmp6.tx)
[ "$sent4" -ge 3 ] || fail "stack counted $sent4 ICMPv4 messages sent, want >= 3"
[ "$sent6" -ge 3 ] || fail "stack counted $sent6 ICMPv6 messages sent, want >= 3"
pass "IPv4 and IPv6 echo, 0% loss"
