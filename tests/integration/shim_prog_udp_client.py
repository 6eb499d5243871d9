#!/usr/bin/python3
# shim_prog_udp_client.py — helper of shim_server.sh, run on the kernel
# side: the client of a UDP echo server under the shim (socat UDP-LISTEN
# EXEC:cat, which carries the datagrams through a byte stream, so one at a
# time).
#   shim_prog_udp_client.py ADDR PORT N
# Probes until the server answers (10 s), drains the probes' echoes, then
# sends N datagrams (sizes 1..1200, random bytes), each answered before
# the next; every echo must be its datagram, from ADDR:PORT.  Exit 0 when
# all matched, otherwise a message and exit 1.
import os
import socket
import sys
import time


def die(msg):
    print("shim_prog_udp_client: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def main():
    addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((addr, port))  # replies from anywhere else are filtered out
    s.settimeout(0.3)
    end = time.monotonic() + 10
    while True:
        if time.monotonic() > end:
            die("no answer from %s:%d within 10 s" % (addr, port))
        try:
            s.send(b"probe")
            s.recv(4096)
            break
        except (socket.timeout, ConnectionRefusedError):
            continue
    try:  # the other probes' echoes
        while True:
            s.recv(4096)
    except socket.timeout:
        pass
    s.settimeout(5)
    for i in range(n):
        size = 1 + (i * 97) % 1200
        msg = os.urandom(size)
        s.send(msg)
        try:
            b = s.recv(4096)
        except socket.timeout:
            die("datagram %d (%d bytes): no echo within 5 s" % (i, size))
        if b != msg:
            die("datagram %d: %d bytes back, want the same %d bytes" % (i, len(b), size))
    print("udp %s:%d: %d datagrams echoed" % (addr, port, n), flush=True)


main()
