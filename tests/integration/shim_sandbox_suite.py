#!/usr/bin/python3
"""shim_sandbox_suite.py — helpers of shim_sandbox_suite.sh, run inside
`netshim --sandbox` by its suite script (so every process is a member of
one session).

  pool PORT N READY   listen on 127.0.0.1:PORT, then a multiprocessing
                      pool (fork context) of 4 workers that accept on
                      that listener: N tasks, each accepts one connection
                      and echoes it to end of file; write READY once
                      listening; print the sorted sha256 of what the
                      workers received, one a line, and which pids served
  client PORT N KIB   N connections (4 at a time) to 127.0.0.1:PORT, each
                      sends KIB KiB of random bytes and shuts down
                      writing; the echo must have the same sha256; print
                      the sorted sha256 of what was sent, one a line
"""
import hashlib
import multiprocessing
import os
import socket
import sys
import threading

LISTENER = None


def echo_one(_):
    c, _peer = LISTENER.accept()
    c.settimeout(20)
    h = hashlib.sha256()
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
        c.sendall(b)
    c.close()
    return h.hexdigest(), os.getpid()


def pool(port, n, ready):
    global LISTENER
    LISTENER = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    LISTENER.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    LISTENER.bind(("127.0.0.1", port))
    LISTENER.listen(16)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as p:
        res = p.map_async(echo_one, range(n), chunksize=1)
        with open(ready, "w") as f:
            f.write("ready\n")
        got = res.get(40)
    for h in sorted(g[0] for g in got):
        print(h)
    pids = sorted({g[1] for g in got})
    print("pids %s" % " ".join(map(str, pids)), file=sys.stderr)
    if os.getpid() in pids:
        print("the parent served a connection itself", file=sys.stderr)
        return 1
    return 0


def client(port, n, kib):
    sent, bad = [], []
    lock = threading.Lock()
    sem = threading.Semaphore(4)

    def one(i):
        with sem:
            data = os.urandom(kib * 1024)
            want = hashlib.sha256(data).hexdigest()
            c = socket.create_connection(("127.0.0.1", port), timeout=20)
            got = hashlib.sha256()

            def rd():
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    got.update(b)
            t = threading.Thread(target=rd)
            t.start()
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            t.join(30)
            c.close()
            with lock:
                sent.append(want)
                if got.hexdigest() != want:
                    bad.append(i)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    if bad or len(sent) != n:
        print("echo differs on connections %s (%d of %d done)" % (bad, len(sent), n),
              file=sys.stderr)
        return 1
    for h in sorted(sent):
        print(h)
    return 0


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "pool":
        sys.exit(pool(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    if mode == "client":
        sys.exit(client(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
    sys.exit("unknown mode " + mode)
