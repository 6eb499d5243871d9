#!/usr/bin/python3
"""shim_api.py — a differential test of the socket API (driven by shim_api.sh).

    shim_api.py                       the loopback checks
    shim_api.py --serve PORT          kernel-side peer for --remote (TCP and
                                      UDP on PORT..PORT+2, see serve())
    shim_api.py --remote A4 A6 PORT   the checks that need a remote peer

The loopback checks run twice, on the kernel and under netshim, and print one
line per check, "name: outcome", with only what must be the same in both:
return values, errno names, poll masks, lengths, sha256 of data; never port
numbers, ephemeral addresses or timings (those only as bounded booleans).
The Linux kernel is the reference: a line that differs is a shim bug, except
the lines starting with "~" (shim_api.sh leaves them out of the diff), which
print outcomes where netshim differs on purpose:
  ~ socket(SOCK_RAW), socket(SOCK_DGRAM, IPPROTO_ICMP): netshim serves no
    raw or ping sockets and refuses them with EPROTONOSUPPORT (the kernel
    creates the raw socket for root; ping sockets depend on
    net.ipv4.ping_group_range);
  ~ MSG_OOB: netshim does not carry urgent data (EOPNOTSUPP on send);
  ~ TCP_MAXSEG on a loopback connection: follows each stack's loopback MTU;
  ~ poll masks with POLLHUP but not POLLIN (a fresh or bound TCP socket,
    one whose blocking connect was refused, a listener shut down): the
    program's descriptor is an AF_UNIX socket, which shows HUP only with
    IN|RDHUP and for good (engine.h);
  ~ the poll mask of a connected UDP socket holding an ICMP error: POLLERR
    on Linux, POLLIN under netshim (the error waits in the AF_UNIX queue);
    what the program reads (SO_ERROR, recv, send) is compared;
  ~ a fork child's connect() on an inherited socket (served by the
    owner; a fork child's UDP is compared, "fork.child.udp"); more in
    tests/integration/shim_fork.sh;
  ~ connect() again on a TCP socket whose blocking connect failed: Linux
    disconnects it and connects afresh; netshim answers ECONNABORTED (POSIX
    leaves the socket's state unspecified; README lists it);
  ~ send() on an unconnected, unbound UDP socket that fails EDESTADDRREQ:
    Linux has bound a port on the way; netshim has not;
  ~ the poll mask after shutdown(SHUT_WR) of a connected UDP socket.
--remote runs only under netshim, against the kernel in the namespace; its
output is compared with the kernel's known behaviour written in shim_api.sh.

Python 3 standard library only; every wait is bounded.
"""
import ctypes
import errno
import fcntl
import hashlib
import os
import random
import select
import signal
import socket
import struct
import sys
import tempfile
import termios
import threading
import time

AF4, AF6 = socket.AF_INET, socket.AF_INET6
STREAM, DGRAM = socket.SOCK_STREAM, socket.SOCK_DGRAM
LO = {AF4: "127.0.0.1", AF6: "::1"}
SOL_TCP = socket.IPPROTO_TCP
SIOCOUTQ = 0x5411  # TIOCOUTQ == SIOCOUTQ
FIONREAD = termios.FIONREAD
TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)
TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", 12)
SO_DOMAIN = getattr(socket, "SO_DOMAIN", 39)
SO_PROTOCOL = getattr(socket, "SO_PROTOCOL", 38)
SO_ACCEPTCONN = getattr(socket, "SO_ACCEPTCONN", 30)
TCP_INFO = getattr(socket, "TCP_INFO", 11)
POLLRDHUP = getattr(select, "POLLRDHUP", 0x2000)

libc = ctypes.CDLL(None, use_errno=True)  # the hooks, when preloaded

WAIT = 3.0  # bound of every wait for an asynchronous event
LINES = 0


def out(name, value):
    global LINES
    LINES += 1
    print(f"{name}: {value}", flush=True)


def nocmp(name, value):
    """A line shim_api.sh leaves out of the comparison (see the docstring)."""
    print(f"~ {name}: {value}", flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


def R(f, *a, **k):
    """Outcome of f(*a): its value, or the errno's name."""
    try:
        return f(*a, **k)
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return ename(e.errno) if e.errno else type(e).__name__


def C(fn, *a):
    """A raw libc call through ctypes: its value, or the errno's name."""
    ctypes.set_errno(0)
    r = fn(*a)
    if r < 0:
        return ename(ctypes.get_errno())
    return r


PNAMES = [(select.POLLIN, "IN"), (select.POLLPRI, "PRI"), (select.POLLOUT, "OUT"),
          (select.POLLERR, "ERR"), (select.POLLHUP, "HUP"), (POLLRDHUP, "RDHUP"),
          (select.POLLNVAL, "NVAL")]
PALL = select.POLLIN | select.POLLPRI | select.POLLOUT | POLLRDHUP


def mstr(m):
    n = [name for bit, name in PNAMES if m & bit]
    return "|".join(n) if n else "0"


def rawmask(fd):
    p = select.poll()
    p.register(fd, PALL)
    r = p.poll(0)
    return r[0][1] if r else 0


def pmask(s, want=0, timeout=WAIT, any_bit=False):
    """poll mask of s; with want, first wait (bounded) until every bit of
    want (any_bit: one of them) is set: the kernel's loopback is
    synchronous, netshim's engine is not, so only a settled mask is
    compared."""
    fd = s if isinstance(s, int) else s.fileno()
    if want:
        end = time.monotonic() + timeout

        def ready():
            m = rawmask(fd) & want
            return m != 0 if any_bit else m == want

        while not ready() and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(0.05)
    return mstr(rawmask(fd))


def wait_until(cond, timeout=WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def A(f, *a):
    """A name call's outcome, its port shown only as "port>0"."""
    r = R(f, *a)
    if isinstance(r, tuple):
        return (r[0], r[1] > 0)
    return r


def gi(s, level, name):
    return R(s.getsockopt, level, name)


def si(s, level, name, v):
    r = R(s.setsockopt, level, name, v)
    return "ok" if r is None else r


def fl_nb(fd):
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)


def fl_cx(fd):
    return bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


def ioc(s, req):
    fd = s if isinstance(s, int) else s.fileno()
    try:
        b = fcntl.ioctl(fd, req, b"\0\0\0\0")
        return struct.unpack("i", b)[0]
    except OSError as e:
        return ename(e.errno)


def guard(*socks):
    """5 s SO_RCVTIMEO/SO_SNDTIMEO: a blocking call that should return but
    hangs fails with EAGAIN instead of stopping the test."""
    tv = struct.pack("ll", 5, 0)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    return socks[0] if len(socks) == 1 else socks


OPEN = []


def new(fam=AF4, typ=STREAM, proto=0):
    s = socket.socket(fam, typ, proto)
    OPEN.append(s)
    return s


def listener(fam=AF4, backlog=16, addr=None):
    l = new(fam)
    l.bind((addr if addr is not None else LO[fam], 0))
    l.listen(backlog)
    return guard(l)


def pair(fam=AF4):
    """A connected TCP pair over loopback: (client, accepted)."""
    l = listener(fam)
    c = guard(new(fam))
    c.connect(l.getsockname()[:2])
    a, _ = l.accept()
    OPEN.append(a)
    guard(a)
    l.close()
    return c, a


def closed_port(fam=AF4, typ=STREAM):
    s = socket.socket(fam, typ)
    s.bind((LO[fam], 0))
    p = s.getsockname()[1]
    s.close()
    return p


def recv_exact(s, n, timeout=WAIT * 3):
    buf = bytearray()
    end = time.monotonic() + timeout
    while len(buf) < n and time.monotonic() < end:
        try:
            d = s.recv(n - len(buf))
        except OSError as e:
            return bytes(buf), ename(e.errno)
        if not d:
            return bytes(buf), "eof"
        buf += d
    return bytes(buf), "ok" if len(buf) == n else "short"


def sha(b):
    return hashlib.sha256(b).hexdigest()[:16]


def closeall():
    for s in OPEN:
        try:
            s.close()
        except OSError:
            pass
    OPEN.clear()


class Alarm(Exception):
    pass


def on_alarm(sig, frm):
    raise Alarm()


def section(fn):
    """Run one group of checks: an unexpected exception or a stall (12 s, or
    fn.limit) ends the group with one line (which then differs), not the
    whole test."""
    name = getattr(fn, "__name__", "section")
    limit = getattr(fn, "limit", 12)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        fn()
    except Alarm:
        out(name, f"SECTION STALLED ({limit} s)")
    except Exception as e:  # noqa: BLE001 -- report and go on
        out(name, f"SECTION EXCEPTION {type(e).__name__}: {e}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        closeall()


# ---------------------------------------------------------------------------
# raw sockaddr helpers for the calls Python's socket module would not make


def sa4(addr, port, fam=AF4):
    return struct.pack("=HH4s8x", fam, socket.htons(port), socket.inet_pton(AF4, addr))


def sa6(addr, port, fam=AF6):
    return struct.pack("=HHI16sI", fam, socket.htons(port), 0,
                       socket.inet_pton(AF6, addr), 0)


def raw_bind(s, sa, ln=None):
    b = ctypes.create_string_buffer(sa, len(sa))
    return C(libc.bind, s.fileno(), b, len(sa) if ln is None else ln)


def raw_connect(s, sa, ln=None):
    b = ctypes.create_string_buffer(sa, len(sa))
    return C(libc.connect, s.fileno(), b, len(sa) if ln is None else ln)


# ===========================================================================
# the loopback checks


def t_socket():
    for fam, fn in ((AF4, "tcp4"), (AF6, "tcp6")):
        s = new(fam)
        out(f"socket.{fn}.opts", (gi(s, socket.SOL_SOCKET, socket.SO_TYPE),
                                  gi(s, socket.SOL_SOCKET, SO_DOMAIN) == fam,
                                  gi(s, socket.SOL_SOCKET, SO_PROTOCOL),
                                  gi(s, socket.SOL_SOCKET, SO_ACCEPTCONN),
                                  gi(s, socket.SOL_SOCKET, socket.SO_ERROR)))
        s.bind((LO[fam], 0))
        s.listen(1)
        out(f"socket.{fn}.listening.acceptconn", gi(s, socket.SOL_SOCKET, SO_ACCEPTCONN))
    for fam, fn in ((AF4, "udp4"), (AF6, "udp6")):
        s = new(fam, DGRAM)
        out(f"socket.{fn}.opts", (gi(s, socket.SOL_SOCKET, socket.SO_TYPE),
                                  gi(s, socket.SOL_SOCKET, SO_DOMAIN) == fam,
                                  gi(s, socket.SOL_SOCKET, SO_PROTOCOL),
                                  gi(s, socket.SOL_SOCKET, SO_ACCEPTCONN)))
    out("socket.stream+udp", R(lambda: new(AF4, STREAM, socket.IPPROTO_UDP) and "ok"))
    out("socket.dgram+tcp", R(lambda: new(AF4, DGRAM, socket.IPPROTO_TCP) and "ok"))
    out("socket.seqpacket", R(lambda: new(AF4, socket.SOCK_SEQPACKET) and "ok"))
    out("socket.type99", C(libc.socket, AF4, 99, 0))
    out("socket.badflag", C(libc.socket, AF4, STREAM | 0x100000, 0))
    fd = C(libc.socket, AF4, STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, 0)
    out("socket.nonblock+cloexec", (fl_nb(fd), fl_cx(fd)))
    os.close(fd)
    fd = C(libc.socket, AF4, STREAM, 0)
    out("socket.plain.flags", (fl_nb(fd), fl_cx(fd)))
    st = os.fstat(fd)
    out("socket.fstat.issock", (st.st_mode & 0o170000) == 0o140000)
    os.close(fd)
    # a socket built from a descriptor asks the kernel for its domain/type
    fd = C(libc.socket, AF6, DGRAM, 0)
    s = socket.socket(fileno=fd)
    OPEN.append(s)
    out("socket.fromfd.udp6", (s.family == AF6, s.type == DGRAM, s.proto))


def t_bind():
    s = new()
    out("bind.lo4", R(s.bind, ("127.0.0.1", 0)))
    h, p = s.getsockname()
    out("bind.lo4.name", (h, p > 0))
    out("bind.twice", R(s.bind, ("127.0.0.1", 0)))
    s2 = new()
    out("bind.inuse", R(s2.bind, ("127.0.0.1", p)))
    out("bind.inuse.any", R(s2.bind, ("0.0.0.0", p)))
    # both SO_REUSEADDR, neither listening: allowed; listening: not
    a, b = new(), new()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    a.bind(("127.0.0.1", 0))
    out("bind.reuseaddr.both", R(b.bind, ("127.0.0.1", a.getsockname()[1])))
    out("bind.reuseaddr.listen1", R(a.listen, 4))
    out("bind.reuseaddr.listen2", R(b.listen, 4))
    c = new()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    out("bind.reuseaddr.vs-listener", R(c.bind, ("127.0.0.1", a.getsockname()[1])))
    out("bind.notours4", R(new().bind, ("192.0.2.99", 0)))
    out("bind.notours6", R(new(AF6).bind, ("2001:db8::99", 0)))
    out("bind.any4", R(new().bind, ("0.0.0.0", 0)))
    out("bind.lo4.other", R(new().bind, ("127.0.0.2", 0)))
    # family mismatches, short lengths (raw calls: Python checks families)
    out("bind.v4sock.sa6", raw_bind(new(), sa6("::1", 0)))
    out("bind.v4sock.short", raw_bind(new(), sa4("127.0.0.1", 0), 8))
    out("bind.v4sock.unspec-any", raw_bind(new(), sa4("0.0.0.0", 0, fam=0)))
    out("bind.v4sock.unspec-lo", raw_bind(new(), sa4("127.0.0.1", 0, fam=0)))
    out("bind.v6sock.sa4", raw_bind(new(AF6), sa4("127.0.0.1", 0)))
    out("bind.v6sock.sa4-len28", raw_bind(new(AF6), sa4("127.0.0.1", 0) + b"\0" * 12))
    out("bind.v6sock.short", raw_bind(new(AF6), sa6("::1", 0), 20))
    s6 = new(AF6)
    out("bind.lo6", R(s6.bind, ("::1", 0)))
    out("bind.lo6.name", s6.getsockname()[0])
    m = new(AF6)
    out("bind.v6.mapped", R(m.bind, ("::ffff:127.0.0.1", 0)))
    out("bind.v6.mapped.name", m.getsockname()[0])
    m = new(AF6)
    m.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    out("bind.v6only.mapped", R(m.bind, ("::ffff:127.0.0.1", 0)))
    # v4 and v6 on one port: v6only coexists, dual-stack conflicts
    v4 = new()
    v4.bind(("0.0.0.0", 0))
    port = v4.getsockname()[1]
    v6o = new(AF6)
    v6o.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    out("bind.same-port.v6only", R(v6o.bind, ("::", port)))
    out("bind.same-port.dual", R(new(AF6).bind, ("::", port)))
    # UDP
    u = new(AF4, DGRAM)
    u.bind(("127.0.0.1", 0))
    out("bind.udp.inuse", R(new(AF4, DGRAM).bind, ("127.0.0.1", u.getsockname()[1])))
    out("bind.udp.tcp-same-port", R(new().bind, ("127.0.0.1", u.getsockname()[1])))
    # after connect
    c, _ = pair()
    out("bind.after-connect", R(c.bind, ("127.0.0.1", 0)))


def t_connect():
    l = listener()
    c = guard(new())
    out("connect.blocking", R(c.connect, l.getsockname()))
    out("connect.peer==listener", c.getpeername() == l.getsockname())
    out("connect.name", (c.getsockname()[0], c.getsockname()[1] > 0))
    a, peer = l.accept()
    OPEN.append(a)
    out("connect.accept.peer==client", peer == c.getsockname())
    out("connect.accept.name==listener", a.getsockname() == l.getsockname())
    out("connect.again", R(c.connect, l.getsockname()))
    out("connect.again-other", R(c.connect, ("127.0.0.1", closed_port())))
    # non-blocking
    n = new()
    n.setblocking(False)
    out("connect.nb", R(n.connect, l.getsockname()))
    out("connect.nb.pollout", pmask(n, select.POLLOUT))
    out("connect.nb.so_error", gi(n, socket.SOL_SOCKET, socket.SO_ERROR))
    out("connect.nb.again", R(n.connect, l.getsockname()))
    out("connect.nb.connect_ex", ename(n.connect_ex(l.getsockname())))
    a2, _ = l.accept()
    OPEN.append(a2)
    n.send(b"nb")
    out("connect.nb.data", recv_exact(guard(a2), 2))
    # v6, and a v6 socket to a v4-mapped address
    l6 = listener(AF6)
    c6 = guard(new(AF6))
    out("connect.v6", R(c6.connect, l6.getsockname()[:2]))
    out("connect.v6.name", c6.getsockname()[0])
    m = guard(new(AF6))
    out("connect.v6-mapped", R(m.connect, ("::ffff:127.0.0.1", l.getsockname()[1])))
    out("connect.v6-mapped.names", (m.getsockname()[0], m.getpeername()[0]))
    a3, p3 = l.accept()
    OPEN.append(a3)
    out("connect.v6-mapped.accept.peer", p3[0])
    m = guard(new(AF6))
    m.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    out("connect.v6only-to-mapped", R(m.connect, ("::ffff:127.0.0.1", l.getsockname()[1])))
    # family mismatch, bad lengths
    out("connect.v4sock.sa6", raw_connect(new(), sa6("::1", l.getsockname()[1])))
    out("connect.v4sock.short", raw_connect(new(), sa4("127.0.0.1", 1), 8))
    out("connect.v6sock.sa4", raw_connect(new(AF6), sa4("127.0.0.1", 1)))
    out("connect.port0", R(guard(new()).connect, ("127.0.0.1", 0)))
    # autobound by connect; unbound fresh names
    f = new()
    out("names.fresh4", f.getsockname())
    out("names.fresh6", new(AF6).getsockname()[:2])
    out("names.fresh.peer", A(f.getpeername))
    out("names.listener.peer", A(l.getpeername))
    out("names.udp.fresh.peer", A(new(AF4, DGRAM).getpeername))
    # getsockname into a short buffer: truncated, the full length returned
    buf = ctypes.create_string_buffer(16)
    ln = ctypes.c_uint(4)
    r = C(libc.getsockname, c.fileno(), buf, ctypes.byref(ln))
    out("names.short-buffer", (r, ln.value, buf.raw[:2] == struct.pack("=H", AF4)))
    ln = ctypes.c_int(-1)
    out("names.negative-len", C(libc.getsockname, c.fileno(), buf, ctypes.byref(ln)))


def t_refused():
    port = closed_port()
    c = guard(new())
    out("refused.blocking", R(c.connect, ("127.0.0.1", port)))
    out("refused.blocking.so_error", gi(c, socket.SOL_SOCKET, socket.SO_ERROR))
    out("refused.blocking.peer", A(c.getpeername))
    out("refused.blocking.recv", R(c.recv, 1))
    out("refused.blocking.send", R(c.send, b"x"))
    # HUP without IN: no AF_UNIX descriptor shows that (not compared)
    nocmp("refused.blocking.mask", pmask(c))
    nocmp("refused.blocking.again", R(c.connect, ("127.0.0.1", port)))
    l = listener()
    nocmp("refused.reconnect", R(c.connect, l.getsockname()))
    n = new()
    n.setblocking(False)
    out("refused.nb", R(n.connect, ("127.0.0.1", port)))
    out("refused.nb.mask", pmask(n, select.POLLERR))
    out("refused.nb.so_error", ename(gi(n, socket.SOL_SOCKET, socket.SO_ERROR)))
    out("refused.nb.so_error2", gi(n, socket.SOL_SOCKET, socket.SO_ERROR))
    out("refused.nb.mask2", pmask(n))
    n = new()
    n.setblocking(False)
    n.connect_ex(("127.0.0.1", port))
    pmask(n, select.POLLERR)
    out("refused.nb.recv", R(n.recv, 1))
    out("refused.nb.recv2", R(n.recv, 1))
    n = new()
    n.setblocking(False)
    n.connect_ex(("127.0.0.1", port))
    pmask(n, select.POLLERR)
    out("refused.nb.connect-again", R(n.connect, ("127.0.0.1", port)))
    out("refused.v6", R(guard(new(AF6)).connect, ("::1", closed_port(AF6))))


def t_listen_accept():
    f = new()
    out("listen.unbound", R(f.listen, 1))
    out("listen.unbound.name", (f.getsockname()[0], f.getsockname()[1] > 0))
    out("listen.twice", R(f.listen, 5))
    out("listen.udp", R(new(AF4, DGRAM).listen, 1))
    c, a = pair()
    out("listen.connected", R(c.listen, 1))
    out("accept.not-listening", R(new().accept))
    out("accept.connected", R(a.accept))
    out("accept.udp", R(new(AF4, DGRAM).accept))
    l = listener()
    l.setblocking(False)
    out("accept.nb.empty", R(l.accept))
    out("listen.mask.empty", pmask(l))
    k = guard(new())
    k.connect(l.getsockname())
    out("listen.mask.pending", pmask(l, select.POLLIN))
    fd = C(libc.accept4, l.fileno(), None, None, socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    out("accept4.nonblock+cloexec", (fl_nb(fd), fl_cx(fd)))
    out("listen.mask.drained", pmask(l))
    os.close(fd)
    for flags, name in ((0, "0"), (socket.SOCK_NONBLOCK, "nonblock"),
                        (socket.SOCK_CLOEXEC, "cloexec")):
        k = guard(new())
        k.connect(l.getsockname())
        pmask(l, select.POLLIN)
        fd = C(libc.accept4, l.fileno(), None, None, flags)
        out(f"accept4.{name}", (fl_nb(fd), fl_cx(fd)))
        os.close(fd)
    k = guard(new())
    k.connect(l.getsockname())
    pmask(l, select.POLLIN)
    fd = C(libc.accept, l.fileno(), None, None)
    out("accept.from-nb-listener", (fl_nb(fd), fl_cx(fd)))
    os.close(fd)
    out("accept4.badflags", C(libc.accept4, l.fileno(), None, None, 0x40))
    # accept with an address buffer too short: truncated, length set
    k = guard(new())
    k.connect(l.getsockname())
    pmask(l, select.POLLIN)
    buf = ctypes.create_string_buffer(16)
    ln = ctypes.c_uint(2)
    fd = C(libc.accept, l.fileno(), buf, ctypes.byref(ln))
    out("accept.short-addr", (fd >= 0, ln.value, buf.raw[:2] == struct.pack("=H", AF4)))
    os.close(fd)
    # several pending: all accepted, in order
    l.setblocking(True)
    cl = []
    for i in range(3):
        k = guard(new())
        k.connect(l.getsockname())
        k.send(bytes([65 + i]))
        cl.append(k)
    got = []
    for i in range(3):
        a, _ = l.accept()
        OPEN.append(a)
        got.append(guard(a).recv(1))
    out("accept.order", b"".join(got))
    # a blocked accept ends when the listener shuts down (reading)
    l2 = listener()
    res = []

    def acc():
        res.append(R(l2.accept))

    t = threading.Thread(daemon=True, target=acc)
    t.start()
    time.sleep(0.2)
    out("listen.shutdown-rd", R(l2.shutdown, socket.SHUT_RD))
    t.join(WAIT)
    out("accept.after-shutdown.blocked", res[0] if res else "still blocked")
    out("accept.after-shutdown", R(l2.accept))
    nocmp("listen.after-shutdown.mask", pmask(l2))  # HUP without IN
    # listen(0) admits one connection; a second SYN is dropped: connecting
    l0 = new()
    l0.bind(("127.0.0.1", 0))
    l0.listen(0)
    k1 = guard(new())
    out("backlog0.first", R(k1.connect, l0.getsockname()))
    k2 = new()
    k2.setblocking(False)
    out("backlog0.second", R(k2.connect, l0.getsockname()))
    time.sleep(0.2)
    out("backlog0.second.mask", pmask(k2))
    out("backlog0.second.again", R(k2.connect, l0.getsockname()))
    out("backlog0.second.send", R(k2.send, b"x"))
    out("backlog0.second.recv", R(k2.recv, 1))
    out("backlog0.second.peer", A(k2.getpeername))


def t_unconnected_io():
    f = new()
    out("io.fresh.recv", R(f.recv, 1))
    out("io.fresh.read", R(os.read, f.fileno(), 1))
    out("io.fresh.send", R(f.send, b"x"))
    out("io.fresh.send.nosignal", R(f.send, b"x", socket.MSG_NOSIGNAL))
    out("io.fresh.write", R(os.write, f.fileno(), b"x"))
    out("io.fresh.sendto", R(f.sendto, b"x", ("127.0.0.1", 9)))
    out("io.fresh.shutdown", R(f.shutdown, socket.SHUT_RDWR))
    out("io.fresh.fionread", ioc(f, FIONREAD))
    out("io.fresh.siocoutq", ioc(f, SIOCOUTQ))
    l = listener()
    out("io.listener.recv", R(l.recv, 1))
    out("io.listener.send", R(l.send, b"x"))
    out("io.listener.fionread", ioc(l, FIONREAD))
    out("io.listener.siocoutq", ioc(l, SIOCOUTQ))
    # SIGPIPE: default action kills, MSG_NOSIGNAL does not (in a child,
    # on the inherited socket)
    for flags, name in ((0, "default"), (socket.MSG_NOSIGNAL, "nosignal")):
        s = new()
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            try:
                s.send(b"x", flags)
            except OSError as e:
                os._exit(100 + e.errno)
            os._exit(99)
        st = wait_child(pid)
        out(f"io.fresh.send.sigpipe.{name}", st)


def wait_child(pid, timeout=WAIT * 2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            if os.WIFSIGNALED(st):
                return "signal " + signal.Signals(os.WTERMSIG(st)).name
            code = os.WEXITSTATUS(st)
            return f"exit {ename(code - 100) if code > 100 else code}"
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "hung (killed)"


def t_flags():
    c, a = pair()
    c.sendall(b"hello world")
    pmask(a, select.POLLIN)
    wait_until(lambda: ioc(a, FIONREAD) == 11)
    out("flags.peek", R(a.recv, 5, socket.MSG_PEEK))
    out("flags.peek.again", R(a.recv, 100, socket.MSG_PEEK))
    out("flags.recv", R(a.recv, 5))
    out("flags.rest", R(a.recv, 100))
    out("flags.dontwait.empty", R(a.recv, 10, socket.MSG_DONTWAIT))
    out("flags.dontwait.blocking-fd", fl_nb(a.fileno()))
    out("flags.peek.dontwait.empty", R(a.recv, 10, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    # MSG_WAITALL: one recv returns all, sent in three pieces

    def later():
        for piece in (b"abc", b"def", b"ghij"):
            time.sleep(0.05)
            c.send(piece)

    t = threading.Thread(daemon=True, target=later)
    t.start()
    out("flags.waitall", R(a.recv, 10, socket.MSG_WAITALL))
    t.join(WAIT)
    # MSG_WAITALL ends early at end of stream
    c.send(b"xy")
    c.shutdown(socket.SHUT_WR)
    out("flags.waitall.eof", R(a.recv, 10, socket.MSG_WAITALL))
    # MSG_TRUNC on TCP discards
    c, a = pair()
    c.sendall(b"0123456789")
    wait_until(lambda: ioc(a, FIONREAD) == 10)
    out("flags.tcp.trunc.len", R(lambda: len(a.recv(4, socket.MSG_TRUNC))))
    out("flags.tcp.trunc.rest", R(a.recv, 100, socket.MSG_DONTWAIT))
    # recv of 0 bytes, send of 0 bytes
    out("flags.tcp.recv0", R(a.recv, 0, socket.MSG_DONTWAIT))
    out("flags.tcp.send0", R(c.send, b""))
    # readv/writev through recvmsg/sendmsg, and recv_into
    out("flags.sendmsg", R(c.sendmsg, [b"ab", b"cd", b"ef"]))
    pmask(a, select.POLLIN)
    wait_until(lambda: ioc(a, FIONREAD) == 6)
    b1, b2 = bytearray(2), bytearray(10)
    out("flags.recvmsg_into", R(a.recvmsg_into, [b1, b2]))
    out("flags.recvmsg_into.data", (bytes(b1), bytes(b2[:4])))
    r = R(a.recvmsg, 10, 0, socket.MSG_DONTWAIT)
    out("flags.recvmsg.empty", r)
    c.send(b"zz")
    pmask(a, select.POLLIN)
    d, anc, fl, addr = a.recvmsg(10)
    out("flags.recvmsg.tcp", (d, anc, fl, addr))


def t_shutdown():
    c, a = pair()
    out("shut.idle.mask", (pmask(c), pmask(a)))
    c.send(b"x")
    out("shut.data.mask", pmask(a, select.POLLIN))
    a.recv(1)
    out("shut.wr", R(c.shutdown, socket.SHUT_WR))
    out("shut.wr.self.mask", pmask(c))
    out("shut.wr.peer.mask", pmask(a, select.POLLIN | POLLRDHUP))
    out("shut.wr.peer.recv", R(a.recv, 10))
    out("shut.wr.peer.recv2", R(a.recv, 10))
    out("shut.wr.send", R(c.send, b"x"))
    out("shut.wr.send.nosignal", R(c.send, b"x", socket.MSG_NOSIGNAL))
    out("shut.wr.again", R(c.shutdown, socket.SHUT_WR))
    out("shut.wr.peer.send", R(a.send, b"back"))
    out("shut.wr.self.recv", recv_exact(c, 4))
    out("shut.wr.peer-wr", R(a.shutdown, socket.SHUT_WR))
    out("shut.both.self.mask", pmask(c, select.POLLIN | POLLRDHUP | select.POLLHUP))
    out("shut.both.peer.mask", pmask(a, select.POLLHUP))
    out("shut.both.recv", R(c.recv, 10))
    out("shut.both.peer.name", R(lambda: c.getpeername() == a.getsockname()))
    # SHUT_RD
    c, a = pair()
    out("shut.rd", R(c.shutdown, socket.SHUT_RD))
    out("shut.rd.mask", pmask(c))
    out("shut.rd.recv", R(c.recv, 10))
    out("shut.rd.send", R(c.send, b"still"))
    out("shut.rd.peer.recv", recv_exact(a, 5))
    out("shut.rd.peer.mask", pmask(a))
    # SHUT_RDWR
    c, a = pair()
    out("shut.rdwr", R(c.shutdown, socket.SHUT_RDWR))
    out("shut.rdwr.mask", pmask(c))
    out("shut.rdwr.peer.mask", pmask(a, select.POLLIN | POLLRDHUP))
    out("shut.rdwr.recv", R(c.recv, 10))
    out("shut.rdwr.send", R(c.send, b"x"))
    out("shut.bad-how", R(a.shutdown, 7))
    # peer closes (FIN): reads end, first write succeeds, the RST it draws
    # makes the next write fail (EPIPE: the connection was half-closed)
    c, a = pair()
    a.close()
    out("close.peer.mask", pmask(c, select.POLLIN | POLLRDHUP))
    out("close.peer.recv", R(c.recv, 10))
    out("close.peer.send1", R(c.send, b"x"))
    out("close.peer.after-rst.mask", pmask(c, select.POLLERR))
    out("close.peer.send2", R(c.send, b"x"))
    out("close.peer.send3", R(c.send, b"x"))
    out("close.peer.recv2", R(c.recv, 10))
    out("close.peer.final.mask", pmask(c))
    out("close.peer.peername", A(c.getpeername))


def t_reset():
    # close with unread data: RST; the peer reads ECONNRESET
    c, a = pair()
    c.sendall(b"unread")
    wait_until(lambda: ioc(a, FIONREAD) == 6)
    a.close()
    out("reset.unread.mask", pmask(c, select.POLLERR | select.POLLHUP))
    out("reset.unread.so_error", ename(gi(c, socket.SOL_SOCKET, socket.SO_ERROR)))
    out("reset.unread.recv", R(c.recv, 10))
    c, a = pair()
    c.sendall(b"unread")
    wait_until(lambda: ioc(a, FIONREAD) == 6)
    a.close()
    pmask(c, select.POLLERR | select.POLLHUP)
    out("reset.unread.recv1", R(c.recv, 10))
    out("reset.unread.recv2", R(c.recv, 10))
    out("reset.unread.send", R(c.send, b"x"))
    out("reset.unread.peername", A(c.getpeername))
    out("reset.unread.shutdown", R(c.shutdown, socket.SHUT_RDWR))
    out("reset.unread.final.mask", pmask(c))
    # the first call after the reset gets it: send
    c, a = pair()
    c.sendall(b"unread")
    wait_until(lambda: ioc(a, FIONREAD) == 6)
    a.close()
    pmask(c, select.POLLERR | select.POLLHUP)
    out("reset.unread.send-first", R(c.send, b"x"))
    out("reset.unread.send-second", R(c.send, b"x"))
    # SO_LINGER {1, 0}: close resets
    c, a = pair()
    out("linger0.set", si(a, socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)))
    out("linger0.get", R(lambda: struct.unpack("ii", a.getsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, 8))))
    a.close()
    out("linger0.peer.mask", pmask(c, select.POLLERR | select.POLLHUP))
    out("linger0.peer.recv", R(c.recv, 10))
    out("linger0.peer.recv2", R(c.recv, 10))
    # a reset while a reader blocks wakes it with ECONNRESET
    c, a = pair()
    res = []
    t = threading.Thread(daemon=True, target=lambda: res.append(R(c.recv, 10)))
    t.start()
    time.sleep(0.2)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    a.close()
    t.join(WAIT)
    out("linger0.blocked-reader", res[0] if res else "still blocked")
    # SO_LINGER on the v6 side too
    c, a = pair(AF6)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    a.close()
    pmask(c, select.POLLERR | select.POLLHUP)
    out("linger0.v6.recv", R(c.recv, 10))


def t_poll_select():
    # A fresh or bound TCP socket polls OUT|HUP on Linux; netshim's A is a
    # live AF_UNIX socket, where HUP comes only with IN|RDHUP and for good,
    # so it keeps A unwritable until connected (engine.h): not compared.
    nocmp("poll.fresh.tcp4", pmask(new()))
    nocmp("poll.fresh.tcp6", pmask(new(AF6)))
    b = new()
    b.bind(("127.0.0.1", 0))
    nocmp("poll.bound.tcp4", pmask(b))
    out("poll.fresh.udp4", pmask(new(AF4, DGRAM)))
    out("poll.fresh.udp6", pmask(new(AF6, DGRAM)))
    c, a = pair()
    out("poll.connected.idle", pmask(c))
    # select over a pipe and sockets
    pr, pw = os.pipe()
    os.write(pw, b"p")
    c.send(b"s")
    pmask(a, select.POLLIN)
    names = {pr: "pipe-r", pw: "pipe-w", c.fileno(): "c", a.fileno(): "a"}
    rl, wl, xl = select.select([pr, c, a], [pw, c, a], [pr, c, a], 1.0)
    fdn = lambda x: names.get(x if isinstance(x, int) else x.fileno(), "?")  # noqa: E731
    out("select.mixed", (sorted(map(fdn, rl)), sorted(map(fdn, wl)), sorted(map(fdn, xl))))
    a.recv(1)
    os.read(pr, 1)
    t0 = time.monotonic()
    rl, wl, xl = select.select([pr, c, a], [], [], 0.3)
    out("select.none-ready", (rl, time.monotonic() - t0 >= 0.25))
    # a select woken by data from another thread
    th = threading.Thread(daemon=True, target=lambda: (time.sleep(0.1), c.send(b"w")))
    th.start()
    t0 = time.monotonic()
    rl, _, _ = select.select([pr, a], [], [], WAIT)
    out("select.wakes", (sorted(map(fdn, rl)), time.monotonic() - t0 < 2))
    th.join(WAIT)
    os.close(pr)
    os.close(pw)
    # poll on a closed descriptor number
    fd = os.dup(c.fileno())
    os.close(fd)
    out("poll.closed-fd", mstr(rawmask(fd)))
    # epoll: level-triggered readiness of a socket
    ep = select.epoll()
    ep.register(a.fileno(), select.EPOLLIN | select.EPOLLOUT)
    ev = ep.poll(1.0)
    out("epoll.ready", sorted(mstr(m) for _, m in ev))
    ep.close()


def t_timeouts():
    c, a = pair()
    s = new()
    out("rcvtimeo.default", R(lambda: struct.unpack("ll", s.getsockopt(
        socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))))
    tv = struct.pack("ll", 0, 300000)
    out("rcvtimeo.set", si(a, socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv))
    out("rcvtimeo.get", R(lambda: struct.unpack("ll", a.getsockopt(
        socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))))
    t0 = time.monotonic()
    r = R(a.recv, 10)
    d = time.monotonic() - t0
    out("rcvtimeo.recv", (r, 0.25 <= d < 2))
    l = listener()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    t0 = time.monotonic()
    r = R(l.accept)
    d = time.monotonic() - t0
    out("rcvtimeo.accept", (r, 0.25 <= d < 2))
    # Python's settimeout (a non-blocking descriptor and poll)
    c.settimeout(0.3)
    t0 = time.monotonic()
    r = R(c.recv, 10)
    d = time.monotonic() - t0
    out("settimeout.recv", (r, 0.25 <= d < 2, fl_nb(c.fileno())))
    c.settimeout(None)
    out("settimeout.none", fl_nb(c.fileno()))


def t_options():
    s = new()
    sol = socket.SOL_SOCKET
    for name, opt in (("reuseaddr", socket.SO_REUSEADDR), ("keepalive", socket.SO_KEEPALIVE),
                      ("broadcast", socket.SO_BROADCAST), ("oobinline", socket.SO_OOBINLINE)):
        out(f"opt.{name}", (gi(s, sol, opt), si(s, sol, opt, 1), gi(s, sol, opt) != 0,
                            si(s, sol, opt, 0), gi(s, sol, opt)))
    for name, opt in (("rcvbuf", socket.SO_RCVBUF), ("sndbuf", socket.SO_SNDBUF)):
        out(f"opt.{name}", (isinstance(gi(s, sol, opt), int), si(s, sol, opt, 65536),
                            isinstance(gi(s, sol, opt), int)))
    out("opt.rcvlowat", (gi(s, sol, socket.SO_RCVLOWAT), si(s, sol, socket.SO_RCVLOWAT, 5),
                         gi(s, sol, socket.SO_RCVLOWAT)))
    out("opt.linger", (R(lambda: struct.unpack("ii", s.getsockopt(sol, socket.SO_LINGER, 8))),
                       si(s, sol, socket.SO_LINGER, struct.pack("ii", 1, 5)),
                       R(lambda: struct.unpack("ii", s.getsockopt(sol, socket.SO_LINGER, 8)))))
    out("opt.linger.short", si(s, sol, socket.SO_LINGER, b"\1\0\0\0"))
    for name, opt in (("type", socket.SO_TYPE), ("domain", SO_DOMAIN),
                      ("protocol", SO_PROTOCOL), ("acceptconn", SO_ACCEPTCONN),
                      ("error", socket.SO_ERROR)):
        out(f"opt.set.{name}", si(s, sol, opt, 1))
    out("opt.sol.unknown", (si(s, sol, 9999, 1), gi(s, sol, 9999)))
    out("opt.int.short", si(s, sol, socket.SO_REUSEADDR, b"\1\0"))
    out("opt.get.short", R(s.getsockopt, sol, socket.SO_TYPE, 1))
    v = ctypes.create_string_buffer(4)
    ln = ctypes.c_uint(0)
    out("opt.get.zero-len", (C(libc.getsockopt, s.fileno(), sol, socket.SO_TYPE, v, ctypes.byref(ln)),
                             ln.value))
    # TCP
    t = socket.IPPROTO_TCP
    out("opt.nodelay", (gi(s, t, socket.TCP_NODELAY), si(s, t, socket.TCP_NODELAY, 1),
                        gi(s, t, socket.TCP_NODELAY)))
    out("opt.nodelay.nonzero", (si(s, t, socket.TCP_NODELAY, 7), gi(s, t, socket.TCP_NODELAY)))
    for name, opt, v in (("keepidle", socket.TCP_KEEPIDLE, 10),
                         ("keepintvl", socket.TCP_KEEPINTVL, 5),
                         ("keepcnt", socket.TCP_KEEPCNT, 3)):
        out(f"opt.{name}", (gi(s, t, opt), si(s, t, opt, v), gi(s, t, opt), si(s, t, opt, 0),
                            si(s, t, opt, -1), si(s, t, opt, 40000), gi(s, t, opt)))
    out("opt.keepidle.max", (si(s, t, socket.TCP_KEEPIDLE, 32767),
                             si(s, t, socket.TCP_KEEPIDLE, 32768)))
    out("opt.keepcnt.max", (si(s, t, socket.TCP_KEEPCNT, 127), si(s, t, socket.TCP_KEEPCNT, 128)))
    out("opt.user_timeout", (gi(s, t, TCP_USER_TIMEOUT), si(s, t, TCP_USER_TIMEOUT, 5000),
                             gi(s, t, TCP_USER_TIMEOUT), si(s, t, TCP_USER_TIMEOUT, -1),
                             gi(s, t, TCP_USER_TIMEOUT)))
    out("opt.quickack.fresh", gi(s, t, TCP_QUICKACK))
    c, a = pair()
    out("opt.quickack.set", (si(c, t, TCP_QUICKACK, 1), si(c, t, TCP_QUICKACK, 0)))
    out("opt.tcp.unknown", (si(s, t, 9999, 1), gi(s, t, 9999)))
    out("opt.tcp.on-udp", (si(new(AF4, DGRAM), t, socket.TCP_NODELAY, 1),
                           gi(new(AF4, DGRAM), t, socket.TCP_NODELAY)))
    out("opt.tcp.info.state", R(lambda: c.getsockopt(t, TCP_INFO, 104)[0]))
    out("opt.tcp.info.state.fresh", R(lambda: s.getsockopt(t, TCP_INFO, 104)[0]))
    out("opt.tcp.info.state.listen", R(lambda: listener().getsockopt(t, TCP_INFO, 104)[0]))
    # after a transfer: the counters of TCP part 2 say what happened
    c2, a2 = pair()
    blob = bytes(range(256)) * 1024
    c2.sendall(blob)
    got = 0
    a2.settimeout(WAIT)
    while got < len(blob):
        got += len(a2.recv(65536))
    end = time.monotonic() + WAIT
    while True:
        ti = c2.getsockopt(t, TCP_INFO, 232)
        (unacked, sacked, lost, retrans) = struct.unpack_from("4I", ti, 24)
        if unacked == 0 or time.monotonic() > end:
            break
        time.sleep(0.01)
    (acked,) = struct.unpack_from("Q", ti, 120)
    (min_rtt,) = struct.unpack_from("I", ti, 148)
    (rate,) = struct.unpack_from("Q", ti, 160)
    (delivered,) = struct.unpack_from("I", ti, 192)
    (sent,) = struct.unpack_from("Q", ti, 200)
    out("opt.tcp.info.transfer", (len(ti), acked >= len(blob), sent >= len(blob), delivered >= 5,
                                  rate > 0, 0 < min_rtt < 1000000, unacked, sacked, lost, retrans))
    out("opt.keepalive.connected", (si(c, sol, socket.SO_KEEPALIVE, 1),
                                    gi(c, sol, socket.SO_KEEPALIVE) != 0))
    # options a listener passes to the accepted socket
    l = new()
    l.bind(("127.0.0.1", 0))
    l.setsockopt(t, socket.TCP_NODELAY, 1)
    l.setsockopt(sol, socket.SO_KEEPALIVE, 1)
    l.setsockopt(t, socket.TCP_KEEPIDLE, 77)
    l.listen(1)
    k = guard(new())
    k.connect(l.getsockname())
    a2, _ = l.accept()
    OPEN.append(a2)
    out("opt.accepted.inherits", (gi(a2, t, socket.TCP_NODELAY), gi(a2, sol, socket.SO_KEEPALIVE),
                                  gi(a2, t, socket.TCP_KEEPIDLE), gi(k, t, socket.TCP_NODELAY)))
    # IP
    ip = socket.IPPROTO_IP
    out("opt.ip_tos", (gi(s, ip, socket.IP_TOS), si(s, ip, socket.IP_TOS, 0x10),
                       gi(s, ip, socket.IP_TOS)))
    out("opt.ip_tos.ecn", (si(s, ip, socket.IP_TOS, 0x13), gi(s, ip, socket.IP_TOS)))
    u = new(AF4, DGRAM)
    out("opt.ip_tos.udp.ecn", (si(u, ip, socket.IP_TOS, 0x13), gi(u, ip, socket.IP_TOS)))
    out("opt.ip_ttl", (gi(s, ip, socket.IP_TTL), si(s, ip, socket.IP_TTL, 10),
                       gi(s, ip, socket.IP_TTL), si(s, ip, socket.IP_TTL, 0),
                       si(s, ip, socket.IP_TTL, 256), si(s, ip, socket.IP_TTL, -1),
                       gi(s, ip, socket.IP_TTL)))
    out("opt.ip.unknown", (si(s, ip, 9999, 1), gi(s, ip, 9999)))
    out("opt.ipv6-on-v4", (si(s, socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1),
                           gi(s, socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)))
    out("opt.level.unknown", (si(s, 9999, 1, 1), gi(s, 9999, 1)))
    out("opt.level.unknown.v6", (si(new(AF6), 9999, 1, 1), gi(new(AF6), 9999, 1)))
    out("opt.level.unknown.udp", (si(new(AF4, DGRAM), 9999, 1, 1), gi(new(AF4, DGRAM), 9999, 1)))
    # IPv6
    s6 = new(AF6)
    v6 = socket.IPPROTO_IPV6
    out("opt.v6only", (gi(s6, v6, socket.IPV6_V6ONLY), si(s6, v6, socket.IPV6_V6ONLY, 1),
                       gi(s6, v6, socket.IPV6_V6ONLY), si(s6, v6, socket.IPV6_V6ONLY, 0),
                       gi(s6, v6, socket.IPV6_V6ONLY)))
    s6.bind(("::1", 0))
    out("opt.v6only.bound", si(s6, v6, socket.IPV6_V6ONLY, 1))
    s6 = new(AF6)
    out("opt.unicast_hops", (gi(s6, v6, socket.IPV6_UNICAST_HOPS),
                             si(s6, v6, socket.IPV6_UNICAST_HOPS, 10),
                             gi(s6, v6, socket.IPV6_UNICAST_HOPS),
                             si(s6, v6, socket.IPV6_UNICAST_HOPS, 256),
                             si(s6, v6, socket.IPV6_UNICAST_HOPS, -2),
                             si(s6, v6, socket.IPV6_UNICAST_HOPS, -1),
                             gi(s6, v6, socket.IPV6_UNICAST_HOPS)))
    out("opt.ip-on-v6", (si(s6, ip, socket.IP_TTL, 5), gi(s6, ip, socket.IP_TTL)))
    out("opt.tclass", (gi(s6, v6, socket.IPV6_TCLASS), si(s6, v6, socket.IPV6_TCLASS, 0x20),
                       gi(s6, v6, socket.IPV6_TCLASS)))
    out("opt.udp6.v6only", gi(new(AF6, DGRAM), v6, socket.IPV6_V6ONLY))


def t_dualstack():
    l = new(AF6)
    out("dual.v6only.default", gi(l, socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
    l.bind(("::", 0))
    l.listen(4)
    guard(l)
    port = l.getsockname()[1]
    c = guard(new())
    out("dual.v4-client", R(c.connect, ("127.0.0.1", port)))
    a, peer = l.accept()
    OPEN.append(a)
    out("dual.accept.peer", (peer[0], peer[1] == c.getsockname()[1]))
    out("dual.accepted.names", (a.getsockname()[0], a.getpeername()[0]))
    out("dual.accepted.family", gi(a, socket.SOL_SOCKET, SO_DOMAIN) == AF6)
    c.send(b"v4")
    out("dual.data", recv_exact(guard(a), 2))
    c6 = guard(new(AF6))
    out("dual.v6-client", R(c6.connect, ("::1", port)))
    a6, p6 = l.accept()
    OPEN.append(a6)
    out("dual.v6.accept.peer", p6[0])
    # v6only listener refuses IPv4
    lo = new(AF6)
    lo.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    lo.bind(("::", 0))
    lo.listen(4)
    c = guard(new())
    out("dual.v6only.v4-client", R(c.connect, ("127.0.0.1", lo.getsockname()[1])))
    c6 = guard(new(AF6))
    out("dual.v6only.v6-client", R(c6.connect, ("::1", lo.getsockname()[1])))
    # UDP: a dual-stack receiver sees a v4 sender as mapped
    u6 = guard(new(AF6, DGRAM))
    u6.bind(("::", 0))
    u4 = new(AF4, DGRAM)
    u4.sendto(b"from4", ("127.0.0.1", u6.getsockname()[1]))
    d, frm = R(u6.recvfrom, 100)
    out("dual.udp.recvfrom", (d, frm[0], frm[1] == u4.getsockname()[1]))
    out("dual.udp.reply", R(u6.sendto, b"back", frm))
    guard(u4)
    d, frm = u4.recvfrom(100)
    out("dual.udp.reply.recv", (d, frm[1] == u6.getsockname()[1]))


def t_udp():
    a = guard(new(AF4, DGRAM))
    b = guard(new(AF4, DGRAM))
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    out("udp.sendto", R(a.sendto, b"ping", b.getsockname()))
    d, frm = b.recvfrom(100)
    out("udp.recvfrom", (d, frm == a.getsockname()))
    out("udp.send.unconnected", R(a.send, b"x"))
    out("udp.sendto.port0", R(a.sendto, b"x", ("127.0.0.1", 0)))
    out("udp.peer.unconnected", A(a.getpeername))
    out("udp.recv.dontwait.empty", R(a.recv, 10, socket.MSG_DONTWAIT))
    # zero-length datagram
    out("udp.send0", R(a.sendto, b"", b.getsockname()))
    d, frm = b.recvfrom(100)
    out("udp.recv0", (d, frm == a.getsockname()))
    # several datagrams: boundaries, FIONREAD = the first one's length
    a.sendto(b"x" * 10, b.getsockname())
    a.sendto(b"y" * 20, b.getsockname())
    pmask(b, select.POLLIN)
    wait_until(lambda: b.recv(100, socket.MSG_PEEK | socket.MSG_DONTWAIT) and True)
    time.sleep(0.05)
    out("udp.fionread", ioc(b, FIONREAD))
    out("udp.siocoutq", ioc(a, SIOCOUTQ))
    out("udp.peek", R(lambda: b.recvfrom(100, socket.MSG_PEEK)[0]))
    out("udp.recv.first", R(b.recv, 100))
    out("udp.recv.trunc", R(lambda: len(b.recv(4, socket.MSG_TRUNC))))
    out("udp.recv.dontwait.empty2", R(b.recv, 10, socket.MSG_DONTWAIT))
    a.sendto(b"z" * 10, b.getsockname())
    out("udp.recvmsg.trunc", R(lambda: (lambda r: (r[0], bool(r[2] & socket.MSG_TRUNC)))(
        b.recvmsg(4))))
    a.sendto(b"w" * 10, b.getsockname())
    out("udp.recv.short", R(b.recv, 4))
    out("udp.recv.short.gone", R(b.recv, 10, socket.MSG_DONTWAIT))
    # connect, send/recv, filtering, AF_UNSPEC
    c = guard(new(AF4, DGRAM))
    out("udp.connect", R(c.connect, b.getsockname()))
    out("udp.connect.peer", c.getpeername() == b.getsockname())
    out("udp.connect.name", (c.getsockname()[0], c.getsockname()[1] > 0))
    out("udp.send", R(c.send, b"conn"))
    out("udp.send.recvfrom", R(lambda: b.recvfrom(100)[1] == c.getsockname()))
    b.sendto(b"reply", c.getsockname())
    out("udp.connected.recv", R(c.recv, 100))
    a.sendto(b"stranger", c.getsockname())  # filtered out: not the peer
    time.sleep(0.1)
    b.sendto(b"peer", c.getsockname())
    out("udp.connected.filter", R(c.recv, 100))
    out("udp.connected.sendto-other", R(c.sendto, b"o", a.getsockname()))
    out("udp.connected.sendto-other.arrives", R(lambda: a.recvfrom(100)[0]))
    out("udp.connect.again", R(c.connect, a.getsockname()))
    out("udp.connect.again.peer", c.getpeername() == a.getsockname())
    out("udp.connect.unspec", raw_connect(c, struct.pack("=H14x", 0)))
    # the port autobound by connect is given back
    out("udp.unspec.name", (c.getsockname()[0], c.getsockname()[1] > 0))
    out("udp.unspec.peer", A(c.getpeername))
    out("udp.unspec.send", R(c.send, b"x"))
    # ... and a send() that fails with EDESTADDRREQ binds one anyway (Linux
    # autobinds in inet_send_prepare before udp_sendmsg looks for a peer)
    nocmp("udp.unspec.send.autobinds", (c.getsockname()[0], c.getsockname()[1] > 0))
    # a datagram to a closed port: the connected socket gets ECONNREFUSED
    r = guard(new(AF4, DGRAM))
    r.connect(("127.0.0.1", closed_port(AF4, DGRAM)))
    # (the kernel's mask turns POLLERR; netshim queues the error in A, where
    # it shows as POLLIN: AF_UNIX has no settable socket error.  The first
    # mask is not compared; the wait takes either.)
    out("udp.refused.send", R(r.send, b"x"))
    nocmp("udp.refused.mask", pmask(r, select.POLLERR | select.POLLIN, any_bit=True))
    out("udp.refused.so_error", ename(gi(r, socket.SOL_SOCKET, socket.SO_ERROR)))
    out("udp.refused.mask2", pmask(r))
    out("udp.refused.recv-after-so_error", R(r.recv, 10, socket.MSG_DONTWAIT))
    r = guard(new(AF4, DGRAM))
    r.connect(("127.0.0.1", closed_port(AF4, DGRAM)))
    out("udp.refused.send1", R(r.send, b"x"))
    pmask(r, select.POLLERR | select.POLLIN, any_bit=True)
    out("udp.refused.recv", R(r.recv, 10))
    out("udp.refused.recv2", R(r.recv, 10, socket.MSG_DONTWAIT))
    out("udp.refused.send2", R(r.send, b"x"))
    pmask(r, select.POLLERR | select.POLLIN, any_bit=True)
    out("udp.refused.send-reports", R(r.send, b"x"))
    out("udp.refused.send-again", R(r.send, b"x"))
    r6 = guard(new(AF6, DGRAM))
    r6.connect(("::1", closed_port(AF6, DGRAM)))
    out("udp6.refused.send", R(r6.send, b"x"))
    pmask(r6, select.POLLERR | select.POLLIN, any_bit=True)
    out("udp6.refused.recv", R(r6.recv, 10))
    # an unconnected socket is not told
    u = new(AF4, DGRAM)
    u.sendto(b"x", ("127.0.0.1", closed_port(AF4, DGRAM)))
    time.sleep(0.1)
    out("udp.refused.unconnected", (pmask(u), R(u.recv, 10, socket.MSG_DONTWAIT)))
    # sizes
    big = random.Random(7).randbytes(65507)
    out("udp.max4", R(a.sendto, big, b.getsockname()))
    out("udp.max4.recv", R(lambda: (lambda d: (len(d), sha(d)))(b.recv(70000))))
    out("udp.max4+1", R(a.sendto, big + b"x", b.getsockname()))
    a6 = guard(new(AF6, DGRAM))
    b6 = guard(new(AF6, DGRAM))
    a6.bind(("::1", 0))
    b6.bind(("::1", 0))
    big6 = random.Random(8).randbytes(65527)
    out("udp.max6", R(a6.sendto, big6, b6.getsockname()))
    out("udp.max6.recv", R(lambda: (lambda d: (len(d), sha(d)))(b6.recv(70000))))
    out("udp.max6+1", R(a6.sendto, big6 + b"x", b6.getsockname()))
    out("udp6.recvfrom", R(lambda: b6.recvfrom(10, socket.MSG_DONTWAIT)))
    a6.sendto(b"six", b6.getsockname())
    d, frm = b6.recvfrom(10)
    out("udp6.recvfrom.addr", (d, frm[0], frm[1] == a6.getsockname()[1]))
    # shutdown on UDP
    out("udp.shutdown.unconnected", R(new(AF4, DGRAM).shutdown, socket.SHUT_RDWR))
    sink = new(AF4, DGRAM)  # what the shut down sockets might send
    sink.bind(("127.0.0.1", 0))
    s = guard(new(AF4, DGRAM))
    s.connect(sink.getsockname())
    out("udp.shutdown.rd", R(s.shutdown, socket.SHUT_RD))
    out("udp.shutdown.rd.recv", R(s.recv, 10))
    out("udp.shutdown.rd.mask", pmask(s))
    out("udp.shutdown.wr", R(s.shutdown, socket.SHUT_WR))
    out("udp.shutdown.wr.send", R(s.send, b"x"))
    nocmp("udp.shutdown.wr.mask", pmask(s))
    time.sleep(0.2)
    n = 0
    try:
        while n < 1000:
            sink.recv(10, socket.MSG_DONTWAIT)
            n += 1
    except OSError:
        pass
    out("udp.shutdown.peer-got", n)
    # a blocked recvfrom is woken by a datagram
    res = []
    t = threading.Thread(daemon=True, target=lambda: res.append(R(b.recvfrom, 100)))
    t.start()
    time.sleep(0.1)
    a.sendto(b"wake", b.getsockname())
    t.join(WAIT)
    out("udp.blocked-recv", (res[0][0], res[0][1] == a.getsockname()) if res else "blocked")
    # broadcast without SO_BROADCAST
    out("udp.broadcast.noopt", R(a.sendto, b"x", ("255.255.255.255", 9)))
    # many datagrams, in order
    n = 200
    for i in range(n):
        a.sendto(struct.pack("!I", i), b.getsockname())
    got = []
    b.settimeout(WAIT)
    try:
        while len(got) < n:
            got.append(struct.unpack("!I", b.recv(4))[0])
    except OSError:
        pass
    out("udp.many.inorder", (len(got), got == list(range(n))))


def t_ioctl():
    c, a = pair()
    out("ioctl.tcp.idle", (ioc(c, FIONREAD), ioc(c, SIOCOUTQ)))
    c.sendall(b"x" * 1000)
    wait_until(lambda: ioc(a, FIONREAD) == 1000)
    out("ioctl.tcp.fionread", ioc(a, FIONREAD))
    wait_until(lambda: ioc(c, SIOCOUTQ) == 0)
    out("ioctl.tcp.siocoutq.acked", ioc(c, SIOCOUTQ))
    a.recv(400)
    out("ioctl.tcp.fionread.after-recv", ioc(a, FIONREAD))
    a.recv(600)
    c.shutdown(socket.SHUT_WR)
    pmask(a, POLLRDHUP)
    out("ioctl.tcp.fionread.eof", ioc(a, FIONREAD))
    out("ioctl.fionbio", (R(fcntl.ioctl, c.fileno(), termios.FIONBIO, struct.pack("i", 1)) is not None,
                          fl_nb(c.fileno())))
    fcntl.ioctl(c.fileno(), termios.FIONBIO, struct.pack("i", 0))
    out("ioctl.fionbio.off", fl_nb(c.fileno()))
    u = new(AF4, DGRAM)
    out("ioctl.udp.empty", (ioc(u, FIONREAD), ioc(u, SIOCOUTQ)))
    out("ioctl.siocatmark", ioc(c, 0x8905))


def t_dup_fork():
    c, a = pair()
    fd2 = os.dup(c.fileno())
    out("dup.write-new", R(os.write, fd2, b"one"))
    out("dup.write-old", R(os.write, c.fileno(), b"two"))
    out("dup.recv", recv_exact(a, 6))
    c.close()
    out("dup.after-close.write", R(os.write, fd2, b"three"))
    out("dup.after-close.recv", recv_exact(a, 5))
    s2 = socket.socket(fileno=fd2)
    OPEN.append(s2)
    out("dup.fromfd", (s2.family == AF4, s2.type == STREAM, s2.getpeername() == a.getsockname()))
    # dup2 onto a chosen number, F_DUPFD_CLOEXEC
    hi = 200
    out("dup2", R(os.dup2, s2.fileno(), hi, inheritable=False) == hi)
    out("dup2.write", R(os.write, hi, b"hi"))
    out("dup2.recv", recv_exact(a, 2))
    fd3 = fcntl.fcntl(hi, fcntl.F_DUPFD_CLOEXEC, 300)
    out("dupfd_cloexec", (fd3 >= 300, fl_cx(fd3)))
    out("dupfd.opt", gi(socket.socket(fileno=os.dup(fd3)), socket.SOL_SOCKET, socket.SO_TYPE))
    os.close(fd3)
    os.close(hi)
    out("dup.last.write", R(os.write, s2.fileno(), b"L"))
    out("dup.last.recv", recv_exact(a, 1))
    s2.close()
    out("dup.all-closed.peer", (pmask(a, select.POLLIN | POLLRDHUP), R(a.recv, 10)))
    # dup2 over an open socket closes that socket
    c, a = pair()
    x, y = pair()
    out("dup2.over-socket", R(os.dup2, c.fileno(), x.fileno()) == x.fileno())
    out("dup2.over-socket.old-peer", (pmask(y, POLLRDHUP), R(y.recv, 10)))
    out("dup2.over-socket.new", (R(os.write, x.fileno(), b"n"), recv_exact(a, 1)))
    # fork: the child writes on an inherited socket, the parent reads it
    c, a = pair()
    pid = os.fork()
    if pid == 0:
        try:
            c.sendall(b"from the child")
            os._exit(0)
        except BaseException:
            os._exit(1)
    out("fork.child", wait_child(pid))
    out("fork.recv", recv_exact(a, 14))
    c.send(b"+parent")
    out("fork.parent.after", recv_exact(a, 7))
    # the child reads what the peer sends, the parent closes its copy first
    pid = os.fork()
    if pid == 0:
        try:
            d, st = recv_exact(c, 5)
            os._exit(0 if (d, st) == (b"hello", "ok") else 1)
        except BaseException:
            os._exit(2)
    c.close()
    a.send(b"hello")
    out("fork.child.recv", wait_child(pid))
    out("fork.all-closed.peer", (pmask(a, select.POLLIN | POLLRDHUP), R(a.recv, 10)))
    # UDP: a child sends on an inherited socket and reads the reply (under
    # netshim the stack's owner serves it, shim/session.h)
    u = guard(new(AF4, DGRAM))
    v = guard(new(AF4, DGRAM))
    v.bind(("127.0.0.1", 0))
    v.settimeout(WAIT)
    pid = os.fork()
    if pid == 0:
        try:
            u.settimeout(WAIT)
            u.sendto(b"kid", v.getsockname())
            d, src = u.recvfrom(10)
            os._exit(0 if (d, src) == (b"back", v.getsockname()) else 1)
        except OSError as e:
            os._exit(100 + e.errno)
        except BaseException:
            os._exit(2)
    r = R(v.recvfrom, 10)
    if isinstance(r, tuple):
        out("fork.child.udp.data", (r[0], r[1] == u.getsockname()))
        v.sendto(b"back", r[1])
    else:
        out("fork.child.udp.data", r)
    out("fork.child.udp", wait_child(pid))


def t_bulk():
    N = 20 * 1024 * 1024
    for fam in (AF4, AF6):
        n = N if fam == AF4 else N // 4
        c, a = pair(fam)
        up = random.Random(1).randbytes(n)
        down = random.Random(2).randbytes(n)
        res = {}

        def sender(s, data, key):
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                res[key] = "ok"
            except OSError as e:
                res[key] = ename(e.errno)

        def reader(s, key):
            h = hashlib.sha256()
            ln = 0
            end = time.monotonic() + 30
            try:
                while time.monotonic() < end:
                    d = s.recv(1 << 20)
                    if not d:
                        break
                    h.update(d)
                    ln += len(d)
            except OSError as e:
                res[key + ".err"] = ename(e.errno)
            res[key] = (ln, h.hexdigest()[:16])

        for s in (c, a):  # blocking, no 5 s stall limit on the big transfer
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 20, 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 20, 0))
        ts = [threading.Thread(daemon=True, target=sender, args=(c, up, "c.send")),
              threading.Thread(daemon=True, target=sender, args=(a, down, "a.send")),
              threading.Thread(daemon=True, target=reader, args=(a, "a.recv")),
              threading.Thread(daemon=True, target=reader, args=(c, "c.recv"))]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join(40)
        f = "4" if fam == AF4 else "6"
        out(f"bulk{f}.up", (res.get("c.send"), res.get("a.recv"), sha(up)))
        out(f"bulk{f}.down", (res.get("a.send"), res.get("c.recv"), sha(down)))
        out(f"bulk{f}.errors", (res.get("a.recv.err"), res.get("c.recv.err")))
        out(f"bulk{f}.took<20s", time.monotonic() - t0 < 20)
    # sendfile(2) onto a socket
    c, a = pair()
    data = random.Random(5).randbytes(300000)
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        res = {}

        def sf():
            off, n = 0, 0
            try:
                while off < len(data):
                    k = os.sendfile(c.fileno(), f.fileno(), off, len(data) - off)
                    if k <= 0:
                        break
                    off += k
                res["n"] = off
            except OSError as e:
                res["n"] = ename(e.errno)

        t = threading.Thread(daemon=True, target=sf)
        t.start()
        got, st = recv_exact(a, len(data), timeout=10)
        t.join(WAIT)
    out("sendfile", (res.get("n"), st, sha(got) == sha(data)))
    # 50 connections at once, each echoing its own bytes
    l = listener(backlog=64)
    cs = []
    for i in range(50):
        k = guard(new())
        k.connect(l.getsockname())
        cs.append(k)
    acc = []
    for i in range(50):
        x, _ = l.accept()
        OPEN.append(x)
        acc.append(guard(x))
    for i, k in enumerate(cs):
        k.sendall(bytes([i]) * 1000)
    ok = 0
    byport = {x.getpeername()[1]: x for x in acc}
    for i, k in enumerate(cs):
        x = byport.get(k.getsockname()[1])
        if x is not None and recv_exact(x, 1000) == (bytes([i]) * 1000, "ok"):
            ok += 1
    out("many.connections", (len(acc), ok))
    # many small writes with TCP_NODELAY
    c, a = pair()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    M = 10000
    data = bytes((i * 7) & 0xFF for i in range(M))
    res = {}

    def small():
        n = 0
        try:
            for i in range(M):
                n += c.send(data[i:i + 1])
            res["w"] = n
        except OSError as e:
            res["w"] = ename(e.errno)

    t = threading.Thread(daemon=True, target=small)
    t.start()
    got, st = recv_exact(a, M, timeout=20)
    t.join(WAIT)
    out("small.writes", res.get("w"))
    out("small.recv", (st, len(got), got == data))


def fill(c, limit=5.0):
    """Send 64 KiB chunks on c until a send fails (bounded): (errno, bytes)."""
    chunk = b"\0" * 65536
    total = 0
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            total += c.send(chunk)
        except OSError as e:
            return ename(e.errno), total
    return "no error in %g s" % limit, total


def drain(a, total, limit=2.0):
    """Read (non-blocking) until total bytes came or limit: whether they did."""
    a.setblocking(False)
    got = 0
    end = time.monotonic() + limit
    while got < total and time.monotonic() < end:
        try:
            got += len(a.recv(1 << 20))
        except BlockingIOError:
            time.sleep(0.005)
    return got == total


def t_fill():
    """Full buffers (last: a connection that wedges here must not hide the
    other checks' outcomes).  An idle connection stays open meanwhile."""
    idle = pair()  # noqa: F841 -- open on purpose
    # SO_SNDTIMEO: a blocking sender whose peer does not read gets EAGAIN;
    # the peer then drains it all and the sender goes on (a few rounds)
    for i in range(3):
        c, a = pair()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 300000))
        t0 = time.monotonic()
        r, total = fill(c)
        out(f"sndtimeo.{i}.send", (r, total > 0, time.monotonic() - t0 < 4))
        ok = drain(a, total)
        out(f"sndtimeo.{i}.drained", ok)
        out(f"sndtimeo.{i}.send-after", R(c.send, b"x"))
        c.close()
        a.close()
        if not ok:
            break
    # a non-blocking sender: EAGAIN, POLLOUT gone, back when drained
    c, a = pair()
    c.setblocking(False)
    r, total = fill(c)
    out("nb.send.full", r)
    # the engine may still move bytes out of A into the stack: fill again
    # until a 0.2 s pause lets nothing more in (at most 10 rounds; a
    # loaded machine settles slower)
    for _ in range(10):
        time.sleep(0.2)
        more = fill(c)[1]
        total += more
        if more == 0:
            break
    out("nb.send.full.mask", pmask(c))
    out("nb.send.drained", (drain(a, total), pmask(c, select.POLLOUT, timeout=1)))
    # and a new connection still carries data (2 s bounds: the stack may
    # be wedged by now)
    l = listener()
    l.settimeout(2)
    c = new()
    c.settimeout(2)

    def newconn():
        c.connect(l.getsockname())
        x, _ = l.accept()
        OPEN.append(x)
        x.settimeout(2)
        c.send(b"ping")
        return x.recv(10)

    out("fill.then-new-connection", R(newconn))


t_fill.limit = 20


# ---------------------------------------------------------------------------
# outcomes where netshim differs on purpose (not compared)


def t_nocmp():
    def sk(*a):
        try:
            s = socket.socket(*a)
            s.close()
            return "ok"
        except OSError as e:
            return ename(e.errno)

    nocmp("socket.raw4.icmp", sk(AF4, socket.SOCK_RAW, socket.IPPROTO_ICMP))
    nocmp("socket.raw6.icmp6", sk(AF6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))
    nocmp("socket.ping4", sk(AF4, DGRAM, socket.IPPROTO_ICMP))
    nocmp("socket.ping6", sk(AF6, DGRAM, socket.IPPROTO_ICMPV6))
    c, a = pair()
    nocmp("msg_oob.send", R(c.send, b"!", socket.MSG_OOB))
    nocmp("tcp_maxseg.connected", gi(c, socket.IPPROTO_TCP, socket.TCP_MAXSEG))
    # A fork child's TCP calls are served by the stack's owner (its
    # parent, shim/session.h); its UDP too (compared: t_fork's
    # fork.child.udp).
    l = listener()
    k = new()
    pid = os.fork()
    if pid == 0:
        try:
            k.connect(l.getsockname())
            k.sendall(b"kid")
            os._exit(0)
        except OSError as e:
            os._exit(100 + e.errno)
        except BaseException:
            os._exit(2)
    nocmp("fork.child.connect", wait_child(pid))
    pmask(l, select.POLLIN, timeout=1)
    l.setblocking(False)
    r = R(l.accept)
    if isinstance(r, tuple):
        OPEN.append(r[0])
        r[0].setblocking(True)
        guard(r[0])
        nocmp("fork.child.connect.data", recv_exact(r[0], 3))
    else:
        nocmp("fork.child.connect.data", r)


# ===========================================================================
# remote checks (under netshim only, against the kernel in the namespace)


def serve(port):
    """Kernel-side peer: TCP PORT echo, PORT+1 reads 1 byte then resets,
    PORT+2 accepts and closes; UDP PORT echo; all dual-stack.  Ends after
    60 s or when killed."""
    def tcp(p):
        l = socket.socket(AF6)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        l.bind(("::", p))
        l.listen(16)
        return l

    ls = {tcp(port): "echo", tcp(port + 1): "reset", tcp(port + 2): "close"}
    u = socket.socket(AF6, DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    u.bind(("::", port))
    conns = {}
    end = time.monotonic() + 60
    print("ready", flush=True)
    while time.monotonic() < end:
        rl, _, _ = select.select(list(ls) + list(conns) + [u], [], [], 0.5)
        for s in rl:
            if s is u:
                d, frm = u.recvfrom(70000)
                u.sendto(d, frm)
            elif s in ls:
                c, _ = s.accept()
                kind = ls[s]
                if kind == "close":
                    c.close()
                else:
                    conns[c] = kind
            else:
                kind = conns[s]
                try:
                    d = s.recv(1 << 16)
                except OSError:
                    d = b""
                if kind == "reset" and d:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    d = b""
                if not d:
                    del conns[s]
                    s.close()
                else:
                    s.sendall(d)


def remote(a4, a6, port):
    for fam, peer, me in ((AF4, a4, "192.0.2.2"), (AF6, a6, "2001:db8::2")):
        f = "4" if fam == AF4 else "6"
        c = guard(new(fam))
        out(f"r{f}.connect", R(c.connect, (peer, port)))
        out(f"r{f}.names", (c.getsockname()[0], c.getpeername()[:2] == (peer, port)))
        data = random.Random(3).randbytes(200000)
        res = {}
        t = threading.Thread(daemon=True, target=lambda: res.update(w=R(c.sendall, data)))
        t.start()
        got, st = recv_exact(c, len(data), timeout=10)
        t.join(WAIT)
        out(f"r{f}.echo", (res.get("w"), st, len(got), sha(got) == sha(data)))
        c.shutdown(socket.SHUT_WR)
        out(f"r{f}.echo.eof", (pmask(c, POLLRDHUP), R(c.recv, 10)))
        out(f"r{f}.refused", R(guard(new(fam)).connect, (peer, port + 9)))
        n = new(fam)
        n.setblocking(False)
        out(f"r{f}.refused.nb", (R(n.connect, (peer, port + 9)), pmask(n, select.POLLERR),
                                 ename(gi(n, socket.SOL_SOCKET, socket.SO_ERROR))))
        # the peer resets
        c = guard(new(fam))
        c.connect((peer, port + 1))
        c.send(b"x")
        out(f"r{f}.reset", (pmask(c, select.POLLERR), R(c.recv, 10), R(c.recv, 10)))
        # the peer closes at once
        c = guard(new(fam))
        c.connect((peer, port + 2))
        out(f"r{f}.peer-close", (pmask(c, POLLRDHUP), R(c.recv, 10)))
        # UDP echo
        u = guard(new(fam, DGRAM))
        out(f"r{f}.udp", R(u.sendto, b"udp" * 100, (peer, port)))
        d, frm = R(u.recvfrom, 1000)
        out(f"r{f}.udp.reply", (len(d), frm[:2] == (peer, port), u.getsockname()[0]))
        big = random.Random(4).randbytes(30000)  # fragmented on the TUN
        u.sendto(big, (peer, port))
        out(f"r{f}.udp.big", R(lambda: sha(u.recv(70000)) == sha(big)))
        r = guard(new(fam, DGRAM))
        r.connect((peer, port + 9))
        r.send(b"x")
        pmask(r, select.POLLERR | select.POLLIN, any_bit=True)  # see t_udp
        out(f"r{f}.udp.refused", R(r.recv, 10))
        closeall()
    # a SYN nobody answers (192.0.2.99 is on the TUN's prefix, not ours, not
    # the kernel's): connecting, then EALREADY
    n = new()
    n.setblocking(False)
    out("r.silent.connect", R(n.connect, ("192.0.2.99", 9)))
    time.sleep(0.2)
    out("r.silent.mask", pmask(n))
    out("r.silent.again", R(n.connect, ("192.0.2.99", 9)))
    out("r.silent.so_error", gi(n, socket.SOL_SOCKET, socket.SO_ERROR))
    out("r.silent.io", (R(n.send, b"x"), R(n.recv, 1), A(n.getpeername), ioc(n, FIONREAD)))
    b = guard(new())
    b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 300000))
    t0 = time.monotonic()
    r = R(b.connect, ("192.0.2.99", 9))
    out("r.silent.sndtimeo", (r, time.monotonic() - t0 < 2))
    closeall()


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python starts anyway
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        return
    if len(sys.argv) == 5 and sys.argv[1] == "--remote":
        section(lambda: remote(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        print(f"done: {LINES} checks")
        return
    for fn in (t_socket, t_bind, t_connect, t_refused, t_listen_accept, t_unconnected_io,
               t_flags, t_shutdown, t_reset, t_poll_select, t_timeouts, t_options,
               t_dualstack, t_udp, t_ioctl, t_dup_fork, t_bulk, t_fill, t_nocmp):
        section(fn)
    print(f"done: {LINES} checks")


if __name__ == "__main__":
    main()
