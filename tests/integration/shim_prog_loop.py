#!/usr/bin/python3
# shim_prog_loop.py — helper of shim_loopback.sh: one program talking to
# itself over a loopback address, run under the shim.
#   shim_prog_loop.py tcp ADDR MIB   a server thread and a client: MIB MiB
#       each way at once (client -> server, server -> client), the sha256 of
#       what each side sent and received compared
#   shim_prog_loop.py udp ADDR N     N datagrams (sizes 1..1400) each echoed
#       back by a server thread, contents and source addresses checked
# Exit 0 when everything matched; otherwise a message and exit 1.  Every
# blocking call has a timeout (20 s).
import hashlib
import os
import socket
import sys
import threading

TIMEOUT = 20


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def die(msg):
    print("shim_prog_loop: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def send_all(sock, data, result, key):
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        result[key] = True
    except Exception as e:  # reported by the main thread
        result[key] = e


def recv_all(sock, result, key):
    h = hashlib.sha256()
    n = 0
    try:
        while True:
            b = sock.recv(1 << 16)
            if not b:
                break
            h.update(b)
            n += len(b)
        result[key] = (n, h.hexdigest())
    except Exception as e:
        result[key] = e


def tcp(addr, mib):
    size = mib << 20
    up = os.urandom(size)
    down = os.urandom(size)
    res = {}
    ls = socket.socket(family(addr), socket.SOCK_STREAM)
    ls.settimeout(TIMEOUT)
    ls.bind((addr, 0))
    ls.listen(1)
    port = ls.getsockname()[1]

    def server():
        try:
            c, peer = ls.accept()
        except Exception as e:
            res["accept"] = e
            return
        res["peer"] = peer[0]
        c.settimeout(TIMEOUT)
        t = threading.Thread(target=send_all, args=(c, down, res, "s_sent"))
        t.start()
        recv_all(c, res, "s_got")
        t.join(TIMEOUT)
        c.close()

    st = threading.Thread(target=server)
    st.start()
    cs = socket.create_connection((addr, port), timeout=TIMEOUT)
    local = cs.getsockname()[0]
    ct = threading.Thread(target=send_all, args=(cs, up, res, "c_sent"))
    ct.start()
    recv_all(cs, res, "c_got")
    ct.join(TIMEOUT)
    st.join(TIMEOUT)
    cs.close()
    ls.close()
    for k in ("accept", "c_sent", "s_sent", "c_got", "s_got"):
        if isinstance(res.get(k), Exception):
            die("%s: %r" % (k, res[k]))
    if st.is_alive() or ct.is_alive():
        die("a thread is still running after %d s" % TIMEOUT)
    if res.get("peer") != local:
        die("the server saw the client as %s, the client is %s" % (res.get("peer"), local))
    want_up = (size, hashlib.sha256(up).hexdigest())
    want_down = (size, hashlib.sha256(down).hexdigest())
    if res.get("s_got") != want_up:
        die("client -> server: got %r, want %r" % (res.get("s_got"), want_up))
    if res.get("c_got") != want_down:
        die("server -> client: got %r, want %r" % (res.get("c_got"), want_down))
    print("tcp %s: %d MiB each way, sha256 match" % (addr, mib), flush=True)


def udp(addr, n):
    fam = family(addr)
    srv = socket.socket(fam, socket.SOCK_DGRAM)
    srv.settimeout(TIMEOUT)
    srv.bind((addr, 0))
    sport = srv.getsockname()[1]
    res = {}

    def server():
        try:
            for _ in range(n):
                b, a = srv.recvfrom(2048)
                srv.sendto(b[::-1], a)
            res["srv"] = True
        except Exception as e:
            res["srv"] = e

    st = threading.Thread(target=server)
    st.start()
    cl = socket.socket(fam, socket.SOCK_DGRAM)
    cl.settimeout(TIMEOUT)
    cl.bind((addr, 0))
    cport = cl.getsockname()[1]
    try:
        for i in range(n):
            size = 1 + (i * 37) % 1400
            msg = os.urandom(size)
            cl.sendto(msg, (addr, sport))
            b, a = cl.recvfrom(2048)
            if b != msg[::-1]:
                die("datagram %d: %d bytes back, want %d, contents %s" %
                    (i, len(b), size, "differ" if len(b) == size else "-"))
            if a[0] != addr or a[1] != sport:
                die("datagram %d came from %r, want (%s, %d)" % (i, a[:2], addr, sport))
    except socket.timeout:
        die("datagram %d: no answer within %d s" % (i, TIMEOUT))
    st.join(TIMEOUT)
    if isinstance(res.get("srv"), Exception):
        die("server: %r" % res["srv"])
    cl.close()
    srv.close()
    print("udp %s: %d datagrams echoed (client port %d)" % (addr, n, cport), flush=True)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("tcp", "udp"):
        die("usage: shim_prog_loop.py tcp|udp ADDR N")
    if sys.argv[1] == "tcp":
        tcp(sys.argv[2], int(sys.argv[3]))
    else:
        udp(sys.argv[2], int(sys.argv[3]))


main()
