#!/bin/bash
# tcp_bulk.sh — 1 GiB each way over a clean link, IPv4 and IPv6, intact:
#   kernel -> stack: tcpprobe send to netshim-tcpdrv's sink, which answers
#                    the SHA-256 of what it received; tcpprobe compares it
#                    with the SHA-256 of what it sent;
#   stack -> kernel: tcpdrv's source sends the pattern and writes its
#                    SHA-256; over IPv4 tcpprobe checks every byte against
#                    the pattern and hashes it, over IPv6 a python3 client
#                    hashes it with hashlib (a SHA-256 that is not ours).
# First, tools/sha256.c is checked against coreutils' sha256sum.  Each run
# prints its throughput.  TCP_BULK_BYTES overrides the size (default 1G).
TEST=tcp_bulk
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.inc"

SIZE=${TCP_BULK_BYTES:-1G}

ns_setup

# ---- tools/sha256.c against sha256sum, on the edges of the padding --------
for n in 0 1 55 56 63 64 65 119 120 1000 1048583; do
	head -c "$n" /dev/urandom >"$TMPD/k$n" || fail "cannot write $TMPD"
done
"$TPROBE" sha256 "$TMPD"/k* >"$TMPD/sums" || fail "tcpprobe sha256"
sha256sum -c --quiet "$TMPD/sums" >"$TMPD/sumcheck" 2>&1 ||
	fail "tools/sha256.c disagrees with sha256sum: $(cat "$TMPD/sumcheck")"
log "tools/sha256.c agrees with sha256sum on $(wc -l <"$TMPD/sums") files"

# ---- kernel -> stack --------------------------------------------------------
echod_start --listen 5001 --mode sink --sha-out "$TMPD/sink.sha"
for fam in 4 6; do
	if [ "$fam" = 4 ]; then dst=$STACK4; else dst=$STACK6; fi
	out=$(in_ns timeout 170 "$TPROBE" send --to "$dst" --port 5001 \
		--bytes "$SIZE" --sha-out "$TMPD/send$fam.sha" 2>&1) ||
		fail "kernel -> stack over IPv$fam: $out"
	log "kernel -> stack, IPv$fam: $out"
done
echod_stop || fail "netshim-tcpdrv (sink) did not exit cleanly"
stat_check tcp.completed 2
stat_check tcp.errors 0
cat "$TMPD/send4.sha" "$TMPD/send6.sha" | cmp -s - "$TMPD/sink.sha" ||
	fail "the sink's SHA-256 lines differ from the sender's"

# ---- stack -> kernel --------------------------------------------------------
echod_start --listen 5002 --mode source --bytes "$SIZE" --sha-out "$TMPD/source.sha"
out=$(in_ns timeout 170 "$TPROBE" recv --to "$STACK4" --port 5002 --bytes "$SIZE" \
	--verify --sha-out "$TMPD/recv4.sha" 2>&1) || fail "stack -> kernel over IPv4: $out"
log "stack -> kernel, IPv4: $out"
out=$(in_ns timeout 170 "$PYTHON" - "$STACK6" 5002 <<'PY' 2>&1
import hashlib, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=150)
h, n, buf, t0 = hashlib.sha256(), 0, bytearray(1 << 20), time.monotonic()
view = memoryview(buf)
while True:
    k = s.recv_into(buf)
    if k == 0:
        break
    h.update(view[:k])
    n += k
secs = time.monotonic() - t0
print("%s %d" % (h.hexdigest(), n))
print("python3 recv: %d bytes in %.3f s: %.1f MB/s" % (n, secs, n / secs / 1e6), file=sys.stderr)
PY
) || fail "stack -> kernel over IPv6 (python3): $out"
printf '%s\n' "$out" | grep -v '^[0-9a-f]\{64\} ' | sed "s/^/$TEST: stack -> kernel, IPv6: /"
printf '%s\n' "$out" | grep '^[0-9a-f]\{64\} ' >"$TMPD/recv6.sha"
echod_stop || fail "netshim-tcpdrv (source) did not exit cleanly"
stat_check tcp.completed 2
stat_check tcp.errors 0
[ "$(wc -l <"$TMPD/source.sha")" = 2 ] || fail "the source wrote $(wc -l <"$TMPD/source.sha") SHA-256 lines, not 2"
cat "$TMPD/recv4.sha" "$TMPD/recv6.sha" | cmp -s - "$TMPD/source.sha" ||
	fail "received SHA-256 differs from the sent one: sent $(cat "$TMPD/source.sha"), received $(cat "$TMPD/recv4.sha" "$TMPD/recv6.sha")"
pass "$SIZE each way over IPv4 and IPv6, SHA-256 intact"
