#!/bin/bash
# udp_refused.sh — a datagram to a port nobody listens on draws an ICMP
# port unreachable from the stack, which the kernel's connected socket
# reports as ECONNREFUSED; over IPv4 and IPv6.
TEST=udp_refused
. "$(dirname "$0")/lib.sh"

ns_setup
echod_start --port 7

in_ns timeout 30 "$PROBE" refused --to "$STACK4" --port 9 ||
	fail "IPv4: no ECONNREFUSED for a closed port"
in_ns timeout 30 "$PROBE" refused --to "$STACK6" --port 9 ||
	fail "IPv6: no ECONNREFUSED for a closed port"
# The open port still answers.
in_ns timeout 30 "$PROBE" echo --to "$STACK4" --port 7 --sizes 10 ||
	fail "IPv4: the echo port does not answer"

echod_stop || fail "netshim-echod did not exit cleanly"
noport=$(stat_sum "$TMPD/stats" "[.]drop[.]NO_PORT$")
errs=$(stat_get "$TMPD/stats" icmp_err_sent)
log "stack: $noport datagrams to closed ports, $errs ICMP errors sent"
[ "$noport" -ge 2 ] || fail "stack counted $noport datagrams to closed ports, want >= 2"
[ "$errs" -ge 2 ] || fail "stack counted $errs ICMP errors sent, want >= 2"
pass "ECONNREFUSED over IPv4 and IPv6"
