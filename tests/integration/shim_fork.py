#!/usr/bin/env python3
"""shim_fork.py — helper processes for shim_fork.sh (STYLE.md 15).

  serve PORT KHOST KPORT STATUS   under netshim: a listener on PORT, two
      os.fork() workers that accept on the inherited listener and echo, a
      fork child that connects its own socket to the kernel-side echo
      server KHOST:KPORT, a fork child that checks the calls the owner
      serves (child_calls), then the parent's own connection there.  Lines
      go to STATUS ("accept PID", "child-client ok", "calls ok",
      "parent-client ok", "ready"); runs until SIGTERM, then stops its
      workers.
  tree                            under netshim: a socket made before fork
      connected by the child, a grandchild's connection, a reset in a
      child's connection, a multiprocessing pool accepting, dup2 over the
      engine's private descriptors (child and owner), accept after an
      acceptor was SIGKILLed, the parent after a child died connecting
  echo PORT SECS                  kernel side: a threaded echo server
  clients HOST PORT N CONC KIB    kernel side: N connections (CONC at a
      time), each sends KIB KiB of random bytes and checks the echo's
      sha256; exit 0 when all match
"""
import errno
import hashlib
import os
import signal
import socket
import struct
import sys
import threading
import time


def note(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (line + "\n").encode())
    os.close(fd)


def echo_conn(c):
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()


def roundtrip(host, port, nbytes, timeout=20):
    """Connect, send nbytes of random data, read the echo: True if equal."""
    data = os.urandom(nbytes)
    s = socket.create_connection((host, port), timeout=timeout)
    got = []
    def rd():
        while True:
            b = s.recv(65536)
            if not b:
                break
            got.append(b)
    t = threading.Thread(target=rd)
    t.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    t.join(timeout)
    s.close()
    return hashlib.sha256(b"".join(got)).digest() == hashlib.sha256(data).digest()


def child_calls(status):
    """In a fork child: the calls the owner serves, each checked against
    what Linux does.  Writes "calls ok" or the first failure to STATUS."""
    import errno
    import select
    bad = []

    def check(what, got, want):
        if got != want:
            bad.append("%s: %r, want %r" % (what, got, want))

    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.bind(("127.0.0.1", 0))
    l.listen(4)
    addr = l.getsockname()
    check("listener port", addr[1] != 0, True)
    check("SO_ACCEPTCONN", l.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN), 1)
    l.setblocking(False)
    try:
        l.accept()
        bad.append("accept on an empty queue did not fail")
    except BlockingIOError:
        pass
    l.setblocking(True)
    # blocking connect over the stack's loopback
    c = socket.socket()
    c.connect(addr)
    a, peer = l.accept()
    check("accept's peer = connect's name", peer, c.getsockname())
    check("getpeername", c.getpeername(), addr)
    check("accepted getsockname", a.getsockname(), addr)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    check("TCP_NODELAY", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0, True)
    check("SO_ERROR", c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 0)
    c.sendall(b"ping")
    check("data child->child", a.recv(10), b"ping")
    c.shutdown(socket.SHUT_WR)
    check("end of file after shutdown", a.recv(10), b"")
    a.sendall(b"pong")
    a.close()
    check("data back", c.recv(10), b"pong")
    check("end of file after close", c.recv(10), b"")
    c.close()
    # non-blocking connect, then poll and SO_ERROR
    n = socket.socket()
    n.setblocking(False)
    check("non-blocking connect", n.connect_ex(addr), errno.EINPROGRESS)
    p = select.poll()
    p.register(n, select.POLLOUT)
    check("connected: POLLOUT", bool(p.poll(5000)), True)
    check("SO_ERROR after connect", n.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 0)
    a, _ = l.accept()
    n.send(b"x")
    check("data after a non-blocking connect", a.recv(1), b"x")
    a.close()
    n.close()
    # a port nobody listens on
    l.close()
    r = socket.socket()
    check("refused", r.connect_ex(addr), errno.ECONNREFUSED)
    r.close()
    # accept4 flags on a listener of the child's own
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(1)
    c = socket.socket()
    c.connect(l.getsockname())
    fd, _ = l._accept()
    a = socket.socket(fileno=fd)
    check("accepted socket's CLOEXEC", os.get_inheritable(fd), False)
    a.close()
    c.close()
    l.close()
    note(status, "calls " + ("ok" if not bad else "BAD " + "; ".join(bad)))
    return not bad


def worker(l, status):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        c, _ = l.accept()
        note(status, "accept %d" % os.getpid())
        echo_conn(c)


def serve(port, khost, kport, status):
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", port))
    l.listen(32)
    kids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            try:
                worker(l, status)
            except BaseException as e:
                note(status, "worker %d failed: %r" % (os.getpid(), e))
            os._exit(1)
        kids.append(pid)
    # a child with a socket of its own, to the kernel side
    pid = os.fork()
    if pid == 0:
        try:
            ok = roundtrip(khost, kport, 256 * 1024)
            s = socket.socket()
            s.bind(("0.0.0.0", 0))
            name = s.getsockname()
            s.close()
            note(status, "child-client %s bound-port=%s" % ("ok" if ok else "BAD", name[1] != 0))
            os._exit(0 if ok else 1)
        except BaseException as e:
            note(status, "child-client failed: %r" % (e,))
            os._exit(2)
    _, st = os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if child_calls(status) else 1)
        except BaseException as e:
            note(status, "calls failed: %r" % (e,))
            os._exit(2)
    os.waitpid(pid, 0)
    ok = roundtrip(khost, kport, 256 * 1024)
    note(status, "parent-client %s" % ("ok" if ok else "BAD"))
    note(status, "ready")
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    deadline = time.time() + 120
    while not stop and time.time() < deadline:
        time.sleep(0.1)
    for k in kids:
        os.kill(k, signal.SIGTERM)
    for k in kids:
        os.waitpid(k, 0)
    l.close()


POOL_LISTENER = None


def pool_accept(_):
    a, _ = POOL_LISTENER.accept()
    b = a.recv(10)
    a.close()
    return b


def tree():
    """Under netshim: the shapes a process tree takes; exit 0 when all
    behave as on the kernel (prints each)."""
    ok = True

    def check(what, got, want):
        nonlocal ok
        print("%s: %r%s" % (what, got, "" if got == want else ", want %r" % (want,)))
        ok = ok and got == want

    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(4)
    addr = l.getsockname()
    # a socket made before fork, connected by the child
    k = socket.socket()
    pid = os.fork()
    if pid == 0:
        k.connect(addr)
        k.sendall(b"kid")
        os._exit(0)
    _, st = os.waitpid(pid, 0)
    a, _ = l.accept()
    check("inherited fresh socket connected by a child", (st, a.recv(3)), (0, b"kid"))
    a.close()
    k.close()
    # a fork of a fork makes its own connection
    pid = os.fork()
    if pid == 0:
        p2 = os.fork()
        if p2 == 0:
            socket.create_connection(addr).sendall(b"grand")
            os._exit(0)
        _, st2 = os.waitpid(p2, 0)
        socket.create_connection(addr).sendall(b"child")
        os._exit(st2 >> 8)
    _, st = os.waitpid(pid, 0)
    got = sorted(l.accept()[0].recv(10) for _ in range(2))
    check("a child and a grandchild", (st, got), (0, [b"child", b"grand"]))
    # a child killed (SIGKILL) while blocked in accept; another accepts
    pid = os.fork()
    if pid == 0:
        l.accept()
        os._exit(3)
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        a, _ = l.accept()
        os._exit(0 if a.recv(5) == b"after" else 1)
    c = socket.create_connection(addr)
    c.sendall(b"after")
    _, st = os.waitpid(pid, 0)
    check("accept after a SIGKILLed acceptor", st, 0)
    # a reset reaches a child's own connection: ECONNRESET once, then 0
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        c = socket.create_connection(addr)
        c.sendall(b"r")
        time.sleep(0.5)
        res = []
        for _ in range(2):
            try:
                res.append(c.recv(10))
            except OSError as e:
                res.append(e.errno)
        os.write(wr, repr(res).encode())
        os._exit(0)
    os.close(wr)
    a, _ = l.accept()
    a.recv(1)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    a.close()
    got = os.read(rd, 100).decode()
    os.close(rd)
    os.waitpid(pid, 0)
    check("a reset in a child's connection", got, repr([errno.ECONNRESET, b""]))
    # a multiprocessing pool (fork) whose workers accept on the listener
    import multiprocessing
    global POOL_LISTENER
    POOL_LISTENER = l
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(3) as pool:
        res = pool.map_async(pool_accept, range(6))
        cs = []
        for i in range(6):
            c = socket.create_connection(addr)
            c.sendall(b"m%d" % i)
            cs.append(c)
        got = sorted(res.get(20))
        for c in cs:
            c.close()
    check("multiprocessing pool workers accept", got, sorted(b"m%d" % i for i in range(6)))
    # dup2 over the engine's private numbers (the upper half of the
    # descriptor limit) moves them, the session channel's too: in a child
    # that already talked to the owner, then in the owner
    import resource
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    devnull = os.open("/dev/null", os.O_RDWR)

    def clobber():
        for n in range(soft // 2, soft // 2 + 16):
            os.dup2(devnull, n)

    got = []
    for where in ("child", "owner"):
        if where == "owner":
            clobber()
        pid = os.fork()
        if pid == 0:
            socket.create_connection(addr).close()
            if where == "child":
                clobber()
            socket.create_connection(addr).sendall(b"moved")
            os._exit(0)
        _, st = os.waitpid(pid, 0)
        l.accept()[0].close()
        got.append((st, l.accept()[0].recv(5)))
    os.close(devnull)
    check("dup2 over private descriptors", got, [(0, b"moved"), (0, b"moved")])
    # a child killed with a connection in progress to a silent peer
    pid = os.fork()
    if pid == 0:
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("192.0.2.1", 9))
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    c = socket.create_connection(addr)
    a, _ = l.accept()
    c.sendall(b"p")
    check("the parent after its children", a.recv(1), b"p")
    return 0 if ok else 1


def echo_server(port, secs):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", port))
    l.listen(32)
    l.settimeout(secs)
    end = time.time() + secs
    while time.time() < end:
        try:
            c, _ = l.accept()
        except socket.timeout:
            break
        c.settimeout(None)
        threading.Thread(target=echo_conn, args=(c,), daemon=True).start()


def clients(host, port, n, conc, kib):
    # the server may not listen yet: retry the first connection for 10 s
    for _ in range(100):
        try:
            socket.create_connection((host, port), timeout=2).close()
            break
        except OSError:
            time.sleep(0.1)
    results = []
    lock = threading.Lock()
    todo = list(range(n))
    def run():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            try:
                r = roundtrip(host, port, kib * 1024)
            except OSError as e:
                r = False
                print("client error: %r" % (e,), file=sys.stderr)
            with lock:
                results.append(r)
    ts = [threading.Thread(target=run) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    good = sum(1 for r in results if r)
    print("%d of %d echoes matched" % (good, n))
    return 0 if good == n else 1


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "serve":
        serve(int(a[2]), a[3], int(a[4]), a[5])
    elif a[1] == "tree":
        sys.exit(tree())
    elif a[1] == "echo":
        echo_server(int(a[2]), int(a[3]))
    elif a[1] == "clients":
        sys.exit(clients(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6])))
