#!/bin/bash
# shim_loopback.sh — a program under the shim talking to itself over
# 127.0.0.1 and ::1 is served inside the stack: no TCP or UDP packet
# crosses the TUN (its --pcap shows none; the kernel's own ICMPv6 router
# solicitations and MLD reports are ignored), and the namespace's lo is
# down, so the kernel could not carry it either.
#   shim_prog_loop.py: TCP, 5 MiB each way at once (sha256), over
#   127.0.0.1 and ::1; UDP, 300 datagrams echoed, over 127.0.0.1 and ::1;
#   and, as Linux keeps them on lo too, TCP (1 MiB) to its own 192.0.2.2
#   and UDP (50 datagrams) to its own 2001:db8::2.
# The pcap files must be valid (tcpdump reads them); a separate run with a
# TCP exchange with the kernel side must show that exchange's SYN and
# SYN-ACK (IPv4 and IPv6) and its data.
TEST=shim_loopback
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"

LOOP="$(dirname "$0")/shim_prog_loop.py"
for p in tcpdump socat; do
	command -v "$p" >/dev/null 2>&1 || fail "$p is not installed"
done
[ -r "$LOOP" ] || fail "$LOOP is missing"
shim_ns_setup
in_ns ip link set lo down || fail "lo down"
T0=$(now_ms)

# pcap_read FILE [FILTER]: tcpdump's lines for FILE; fails on a bad file.
pcap_read() {
	f=$1
	shift
	[ -s "$f" ] || fail "--pcap $f: the file is missing or empty"
	tcpdump -nr "$f" "$@" 2>"$TMPD/tcpdump.err" >"$TMPD/tcpdump.out" ||
		fail "tcpdump cannot read $f: $(cat "$TMPD/tcpdump.err")"
	cat "$TMPD/tcpdump.out"
}

# no_traffic FILE WHAT: nothing but ICMPv6 in FILE.
no_traffic() {
	pcap_read "$1" >"$TMPD/all"
	grep -v 'ICMP6' "$TMPD/all" >"$TMPD/other"
	pcap_read "$1" 'tcp or udp' >"$TMPD/tcpudp"
	if [ -s "$TMPD/other" ] || [ -s "$TMPD/tcpudp" ]; then
		sed 's/^/    /' "$TMPD/other" "$TMPD/tcpudp" | sort -u | head -n 20
		fail "$2: $(cat "$TMPD/other" "$TMPD/tcpudp" | sort -u | wc -l) packets other than ICMPv6 crossed the TUN"
	fi
	log "$2: the pcap holds $(wc -l <"$TMPD/all") packets, all ICMPv6"
}

# ---- loopback TCP and UDP, each run with its own pcap -----------------------
run=0
for c in "tcp 127.0.0.1 5" "tcp ::1 5" "udp 127.0.0.1 300" "udp ::1 300" \
	"tcp $STACK4 1" "udp $STACK6 50"; do
	run=$((run + 1))
	# shellcheck disable=SC2086 # three words
	set -- $c
	t=$(now_ms)
	NETSHIM_PCAP="$TMPD/loop$run.pcap" tshim 40 "$PY" "$LOOP" "$@" ||
		fail "$1 over $2 under the shim failed (exit $?)"
	log "$1 over $2: $(ms_since "$t") ms"
	no_traffic "$TMPD/loop$run.pcap" "$1 over $2"
done

# ---- a TCP exchange with the kernel side: its SYNs are in the pcap ----------
mkrand "$TMPD/mb" 1
for fam in 4 6; do
	if [ "$fam" = 4 ]; then
		lis=TCP4-LISTEN:9000,reuseaddr,range=192.0.2.2/32
		dst=TCP:192.0.2.1:9000
		syn='tcp[tcpflags] & tcp-syn != 0'
		me=192.0.2.2
		peer=192.0.2.1
	else
		lis='TCP6-LISTEN:9000,reuseaddr,range=[2001:db8::2]/128'
		dst='TCP:[2001:db8::1]:9000'
		# no extension headers: TCP's flags at 40 + 13
		syn='ip6 and tcp and ip6[53] & 2 != 0'
		me=2001:db8::2
		peer=2001:db8::1
	fi
	kbg RECV 30 socat -u "$lis" "CREATE:$TMPD/got$fam"
	wait_port 9000
	NETSHIM_PCAP="$TMPD/kern$fam.pcap" tshim 20 socat -u "OPEN:$TMPD/mb" "$dst" ||
		fail "socat to the kernel side over IPv$fam failed (exit $?)"
	bgwait "$RECV_PID" 15 || fail "IPv$fam: the kernel-side receiver exit $?"
	same "$TMPD/mb" "$TMPD/got$fam" "IPv$fam 1 MiB to the kernel side"
	pcap_read "$TMPD/kern$fam.pcap" "$syn" >"$TMPD/syn"
	grep -q "^[0-9:.]* IP6\? $me\.[0-9]* > $peer\.9000: Flags \[S\]" "$TMPD/syn" || {
		sed 's/^/    /' "$TMPD/syn"
		fail "IPv$fam: the pcap shows no SYN from $me to $peer.9000"
	}
	grep -q "^[0-9:.]* IP6\? $peer\.9000 > $me\.[0-9]*: Flags \[S\.\]" "$TMPD/syn" || {
		sed 's/^/    /' "$TMPD/syn"
		fail "IPv$fam: the pcap shows no SYN-ACK from $peer.9000"
	}
	bytes=$(pcap_read "$TMPD/kern$fam.pcap" "tcp and src host $me" |
		sed -n 's/.*, length \([0-9]*\)$/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	[ "$bytes" = 1048576 ] ||
		fail "IPv$fam: the pcap shows $bytes bytes of TCP payload from $me, want 1048576"
	log "IPv$fam exchange with the kernel side: SYN, SYN-ACK and 1 MiB of data in the pcap"
done

pass "loopback stays in the stack; the pcap is valid and shows real traffic ($(ms_since "$T0") ms)"
