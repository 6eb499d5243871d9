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
  udp KHOST4 KHOST6 KPORT CLOSED  under netshim: UDP in fork children
      (udp_tree): a child's own socket to the kernel-side UDP echo server
      (v4, v6, 65507 bytes by sha256, EMSGSIZE, EDESTADDRREQ), a socket
      made before fork with a reply already queued used by the child
      (IP_PKTINFO, the source) and by the parent after, a child's server
      on 127.0.0.1, ECONNREFUSED on a child's connected socket (port
      CLOSED), truncation (MSG_TRUNC, short buffers, MSG_PEEK, readv)
  uecho PORT SECS                 kernel side: a UDP echo server (v4 and v6)
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
    wait_blocked(str(pid))
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


def wait_blocked(task, timeout=5.0):
    """Until the task (\"PID\" or \"PID/task/TID\") sleeps in the kernel
    (its wchan names a function), at most timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open("/proc/%s/wchan" % task) as f:
                if f.read().strip() not in ("", "0"):
                    return True
        except OSError:
            return False
        time.sleep(0.01)
    return False


def in_child(fn):
    """Run fn in a fork child; its result (or the exception) as a repr."""
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        try:
            res = fn()
        except BaseException as e:
            res = "raised %r" % (e,)
        os.write(wr, repr(res).encode())
        os._exit(0)
    os.close(wr)
    out = b""
    while True:
        b = os.read(rd, 65536)
        if not b:
            break
        out += b
    os.close(rd)
    os.waitpid(pid, 0)
    return out.decode()


def oserr(fn, *a):
    try:
        return fn(*a)
    except OSError as e:
        return errno.errorcode.get(e.errno, e.errno)


def udp_tree(k4, k6, kport, closed):
    """Under netshim: UDP in fork children, each result compared with what
    Linux gives; exit 0 when all match (prints each)."""
    import select
    ok = True
    AF4, AF6, DG = socket.AF_INET, socket.AF_INET6, socket.SOCK_DGRAM

    def check(what, got, want):
        nonlocal ok
        print("%s: %s%s" % (what, got, "" if got == want else ", want %s" % (want,)))
        ok = ok and got == want

    def h(b):
        return hashlib.sha256(b).hexdigest()[:16]

    # a child's own sockets to the kernel side
    def own():
        res = []
        for fam, host in ((AF4, k4), (AF6, k6)):
            u = socket.socket(fam, DG)
            u.settimeout(10)
            u.sendto(b"hello", (host, kport))
            data, src = u.recvfrom(100)
            res.append((data, src[:2]))
            u.close()
        u = socket.socket(AF4, DG)
        u.settimeout(10)
        big = os.urandom(65507)  # IPv4's largest UDP payload
        u.sendto(big, (k4, kport))
        data, src = u.recvfrom(70000)
        res.append((len(data), h(data) == h(big), src))
        res.append(oserr(u.sendto, b"x" * 65508, (k4, kport)))
        res.append(oserr(u.send, b"x"))
        u.close()
        return res
    check("a child's own UDP sockets (v4, v6, 65507 bytes, EMSGSIZE, EDESTADDRREQ)",
          in_child(own),
          repr([(b"hello", (k4, kport)), (b"hello", (k6, kport)),
                (65507, True, (k4, kport)), "EMSGSIZE", "EDESTADDRREQ"]))

    # a socket made before fork, a reply already queued in it (plain
    # delivery), then used by the child (framed from its first call) with
    # IP_PKTINFO, then by the parent again
    p = socket.socket(AF4, DG)
    p.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    p.bind(("0.0.0.0", 0))
    p.sendto(b"queued", (k4, kport))
    select.select([p], [], [], 10)
    p.settimeout(10)

    def pktinfo(anc):
        for lvl, typ, d in anc:
            if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO:
                return socket.inet_ntoa(d[8:12])
        return None

    def inherited():
        res = []
        data, anc, fl, src = p.recvmsg(100, 256)
        res.append((data, src, pktinfo(anc)))
        for i in range(3):
            p.sendto(b"kid%d" % i, (k4, kport))
            data, anc, fl, src = p.recvmsg(100, 256)
            res.append((data, src, pktinfo(anc)))
        return res
    check("a socket made before fork, used by a child (queued reply, IP_PKTINFO)",
          in_child(inherited),
          repr([(b"queued", (k4, kport), STACK4)] +
               [(b"kid%d" % i, (k4, kport), STACK4) for i in range(3)]))
    p.sendto(b"parent", (k4, kport))
    data, anc, fl, src = p.recvmsg(100, 256)
    check("... and by the parent after the child",
          repr((data, src, pktinfo(anc))), repr((b"parent", (k4, kport), STACK4)))
    p.close()
    # a reader blocked in the parent (plain delivery) while a child's
    # first call switches the socket to framed: the reader must see the
    # reply's format only once it is there
    p = socket.socket(AF4, DG)
    p.bind(("0.0.0.0", 0))
    p.settimeout(10)
    got = []
    tid = []
    t = threading.Thread(target=lambda: (tid.append(threading.get_native_id()),
                                         got.append(p.recvfrom(100))))
    t.start()
    while not tid:
        time.sleep(0.001)
    wait_blocked("%d/task/%d" % (os.getpid(), tid[0]))
    in_child(lambda: p.sendto(b"while-blocked", (k4, kport)))
    t.join(10)
    check("a parent's blocked reader, a child's send", repr(got),
          repr([(b"while-blocked", (k4, kport))]))
    p.close()

    # a child's server on the stack's loopback; the parent sends
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        try:
            srv = socket.socket(AF4, DG)
            srv.bind(("127.0.0.1", 0))
            srv.settimeout(10)
            os.write(wr, b"%d" % srv.getsockname()[1])
            for _ in range(2):
                data, src = srv.recvfrom(100)
                srv.sendto(repr((data, src)).encode(), src)
            os._exit(0)
        except BaseException:
            os._exit(2)
    os.close(wr)
    port = int(os.read(rd, 20))
    os.close(rd)
    c = socket.socket(AF4, DG)
    c.bind(("127.0.0.1", 0))
    c.settimeout(10)
    replies = []
    for m in (b"one", b"two"):
        c.sendto(m, ("127.0.0.1", port))
        replies.append(c.recvfrom(200))
    _, st = os.waitpid(pid, 0)
    me = c.getsockname()
    check("a child's server on 127.0.0.1: what it saw, its reply's source",
          repr((st, replies)),
          repr((0, [(repr((m, me)).encode(), ("127.0.0.1", port)) for m in (b"one", b"two")])))
    c.close()

    # ICMP port unreachable on a child's connected socket (RFC 1122
    # 4.1.3.3: UDP passes it up; Linux reports it on the next call)
    def refused():
        res = []
        u = socket.socket(AF4, DG)
        u.settimeout(5)
        u.connect((k4, closed))
        u.send(b"anyone?")
        res.append(oserr(u.recv, 100))
        u.send(b"again")
        time.sleep(0.5)
        res.append(oserr(u.send, b"and again"))
        res.append(u.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        res.append(u.getpeername())
        return res
    check("a child's connected socket, a closed port",
          in_child(refused), repr(["ECONNREFUSED", "ECONNREFUSED", 0, (k4, closed)]))

    # truncation: a datagram larger than the reader's buffer
    def trunc():
        res = []
        u = socket.socket(AF4, DG)
        u.settimeout(10)
        u.connect((k4, kport))
        big = os.urandom(3000)
        u.send(big)
        pk = u.recv(10, socket.MSG_PEEK)
        data, anc, fl, src = u.recvmsg(100)
        res.append((pk == big[:10], data == big[:100], bool(fl & socket.MSG_TRUNC)))
        u.send(big)
        buf = bytearray(100)
        n = u.recv_into(buf, 100, socket.MSG_TRUNC)
        res.append((n, bytes(buf) == big[:100]))
        u.send(big)
        a, b = bytearray(1000), bytearray(5000)
        select.select([u], [], [], 10)  # settimeout made it non-blocking
        n = os.readv(u.fileno(), [a, b])
        res.append((n, h(bytes(a) + bytes(b[:2000])) == h(big)))
        u.send(b"")
        res.append(u.recvfrom(10))
        return res
    check("truncation (MSG_PEEK, MSG_TRUNC flag and flag out, readv, empty)",
          in_child(trunc),
          repr([(True, True, True), (3000, True), (3000, True), (b"", (k4, kport))]))
    # a socket a child made, passed to the parent (SCM_RIGHTS): the
    # parent's own hooks read its framed datagrams
    a, b = socket.socketpair()

    def made():
        u = socket.socket(AF4, DG)
        u.connect((k4, kport))
        socket.send_fds(b, [b"u"], [u.fileno()])
        return "sent"
    in_child(made)
    _, fds, _, _ = socket.recv_fds(a, 10, 1)
    u = socket.socket(fileno=fds[0])
    u.settimeout(10)
    u.send(b"via parent")
    check("a child's socket read by the parent", repr(u.recvfrom(100)),
          repr((b"via parent", (k4, kport))))
    u.close()
    a.close()
    b.close()
    return 0 if ok else 1


STACK4 = "192.0.2.2"
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux <linux/in.h>


def udp_echo_server(port, secs):
    ss = []
    for fam, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        u = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        u.bind((host, port))
        ss.append(u)
    import select
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select(ss, [], [], 1)
        for u in r:
            data, src = u.recvfrom(70000)
            u.sendto(data, src)


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
    elif a[1] == "udp":
        sys.exit(udp_tree(a[2], a[3], int(a[4]), int(a[5])))
    elif a[1] == "uecho":
        udp_echo_server(int(a[2]), int(a[3]))
    elif a[1] == "echo":
        echo_server(int(a[2]), int(a[3]))
    elif a[1] == "clients":
        sys.exit(clients(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6])))
