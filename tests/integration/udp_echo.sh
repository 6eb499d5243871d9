#!/bin/bash
# udp_echo.sh — UDP datagrams from one byte to the largest one IP allows
# echo back intact, over IPv4 and IPv6, at MTU 1500: the kernel fragments
# what is larger than the MTU, the stack reassembles it and fragments its
# answer, which the kernel reassembles.
TEST=udp_echo
. "$(dirname "$0")/lib.sh"

ns_setup
echod_start --mtu 1500 --port 7

# 1472/1452: the largest single packet; 1473/1453: the smallest that
# fragments; 65507/65527: the largest datagram (IPv4 total length 65535,
# IPv6 payload length 65535).
in_ns timeout 120 "$PROBE" echo --to "$STACK4" --port 7 --count 2 \
	--sizes 1,100,1472,1473,8000,65507 || fail "UDP echo over IPv4"
in_ns timeout 120 "$PROBE" echo --to "$STACK6" --port 7 --count 2 \
	--sizes 1,100,1452,1453,1472,1473,8000,65507,65527 ||
	fail "UDP echo over IPv6"

echod_stop || fail "netshim-echod did not exit cleanly"
reasm=$(stat_get "$TMPD/stats" frag_reassembled)
made=$(stat_get "$TMPD/stats" frag_created)
small=$(stat_get "$TMPD/stats" pbuf_small_used)
large=$(stat_get "$TMPD/stats" pbuf_large_used)
log "stack: $reasm datagrams reassembled, $made fragments created"
[ "$reasm" -gt 0 ] || fail "the stack reassembled nothing"
[ "$made" -gt 0 ] || fail "the stack created no fragments"
[ "$small" = 0 ] && [ "$large" = 0 ] ||
	fail "packet buffers still in use at exit: $small small, $large large (a leak)"
pass "1..65507 bytes over IPv4, 1..65527 bytes over IPv6"
