#!/bin/bash
# needs: nothing (no namespace, no TUN: the stack runs in virtual time)
# packetdrill.sh — the packetdrill interface (build/netshim-packetdrill.so)
# driven by build/tests/pdrive, which loads it exactly as packetdrill
# --so_filename does and plays packetdrill's part: handshakes both ways,
# data and ACK timing, retransmission, close/shutdown, RST, IPv6, poll.
# Needs no root and no network namespace: everything is in virtual time
# inside one process per scenario.  See README.md, "packetdrill".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
for f in build/netshim-packetdrill.so build/tests/pdrive; do
	if [ ! -e "$f" ]; then
		echo "packetdrill: $f is missing: run make" >&2
		exit 1
	fi
done
PDRIVE_STRICT=1 exec build/tests/pdrive --so build/netshim-packetdrill.so
