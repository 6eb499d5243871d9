#!/bin/bash
# tcp_many.sh — 200 concurrent connections, each moving 64 KiB, checked,
# with the connect in both directions and over IPv4 and IPv6:
#   kernel clients -> stack server: tcpprobe echo opens 200 connections to
#       netshim-tcpdrv's echo server, sends the pattern on each and checks
#       every byte that comes back;
#   stack clients -> kernel server: tcpdrv opens 200 connections and sends
#       the pattern to tcpprobe's sink (which answers each connection's
#       SHA-256, checked by tcpdrv), or to tcpprobe's echo server (every
#       byte checked by tcpdrv).
TEST=tcp_many
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.inc"

N=200
BYTES=64K

ns_setup

# ---- kernel clients, stack server ------------------------------------------
echod_start --listen 5001 --mode echo
for dst in "$STACK4" "$STACK6"; do
	out=$(in_ns timeout 60 "$TPROBE" echo --to "$dst" --port 5001 --conns "$N" \
		--bytes "$BYTES" --timeout 40 2>&1) ||
		fail "$N kernel clients -> stack echo server at $dst: $out"
	log "kernel clients -> stack server, $dst: $out"
done
sleep 0.3
echod_snapshot "$TMPD/after"
small=$(stat_get "$TMPD/after" pbuf_small_used)
large=$(stat_get "$TMPD/after" pbuf_large_used)
echod_stop || fail "netshim-tcpdrv (echo) did not exit cleanly"
stat_check tcp.accepted $((2 * N))
stat_check tcp.completed $((2 * N))
stat_check tcp.errors 0
stat_check tcp.conns_open 0
log "stack server: $((2 * N)) connections accepted and completed; pbufs in use after: $small small, $large large"

# ---- stack clients, kernel server -------------------------------------------
for run in "send $PEER4 sink" "send [$PEER6] sink" "echo $PEER4 echo" "echo [$PEER6] echo"; do
	set -- $run
	kserver --port 6001 --mode "$3" --count "$N" --timeout 40
	out=$(drv --connect "$2:6001" --mode "$1" --conns "$N" --bytes "$BYTES" \
		--timeout 40 --stats "$TMPD/stats" 2>&1) ||
		fail "$N stack clients ($1) -> kernel $3 server at $2: $out"
	log "stack clients ($1) -> kernel $3 server, $2: $out"
	kserver_wait || fail "the kernel $3 server failed"
	stat_check tcp.completed "$N"
	stat_check tcp.errors 0
done
pass "$N connections x $BYTES, both directions of connect, IPv4 and IPv6"
