#!/usr/bin/python3
"""shim_epoll.py — a differential test of readiness and waiting (driven by
shim_epoll.sh): epoll (create, ctl and its errors, level- and edge-
triggered, EPOLLONESHOT, EPOLLRDHUP, EPOLLHUP/EPOLLERR in every TCP and
UDP state, EPOLLEXCLUSIVE, timeouts, signals and epoll_pwait's mask, dup'd
and nested epoll descriptors, what closing a socket does to the sets it is
in), and the blocking calls a signal interrupts (recv, accept, poll).

It runs twice, on the kernel and under netshim (loopback: 127.0.0.1, ::1;
one connect towards 192.0.2.99, which nobody answers), and prints one line
per check, "name: outcome", with only what must be the same in both: event
masks, errno names, counts, bounded timings as booleans; never descriptor
numbers or ports.  The Linux kernel is the reference: a line that differs
is a shim bug, except the lines starting with "~" (left out of the diff),
where netshim differs on purpose (README, "How the shim works"):
  ~ a fresh, bound or refused (blocking connect) TCP socket, and a listener
    shut down: Linux reports OUT|HUP and no IN; the program's descriptor is
    an AF_UNIX socket, which shows HUP only with IN|RDHUP, so netshim shows
    another mask (0 while fresh or bound, IN|OUT|HUP|RDHUP once refused, IN
    for the listener shut down); the same for a fresh socket registered
    edge-triggered (et.connect.before);
  ~ a connected UDP socket holding an ICMP error: ERR on Linux, IN under
    netshim (the error waits in the AF_UNIX queue); what the program then
    reads (SO_ERROR, recv) and the mask after it are compared;
  ~ edge-triggered EPOLLOUT after the socket's own small write: the stack
    thread reading the bytes out of the pair frees its send buffer, and
    the kernel signals an AF_UNIX writer on every such release (Linux TCP
    only after the buffer was full) — an extra wake-up, never a lost one.

netshim's readiness is a few microseconds late (the stack thread moves the
data), so every level mask is taken once it settled (a bounded wait for the
bits expected, then 50 ms), and an edge-triggered registration is made once
what it must not count has arrived.  Python 3 standard library only; every
wait is bounded.
"""
import ctypes
import errno
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

AF4, AF6 = socket.AF_INET, socket.AF_INET6
STREAM, DGRAM = socket.SOCK_STREAM, socket.SOCK_DGRAM
LO = {AF4: "127.0.0.1", AF6: "::1"}
SILENT = "192.0.2.99"  # on the TUN's prefix; nobody answers

E = select
IN, OUT, PRI, ERR, HUP = E.EPOLLIN, E.EPOLLOUT, E.EPOLLPRI, E.EPOLLERR, E.EPOLLHUP
RDHUP, ET, ONESHOT, EXCL = E.EPOLLRDHUP, E.EPOLLET, E.EPOLLONESHOT, E.EPOLLEXCLUSIVE
EALL = IN | OUT | PRI | RDHUP
ENAMES = [(IN, "IN"), (PRI, "PRI"), (OUT, "OUT"), (ERR, "ERR"), (HUP, "HUP"),
          (RDHUP, "RDHUP"), (E.EPOLLRDNORM, "RDNORM"), (E.EPOLLWRNORM, "WRNORM")]
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3

libc = ctypes.CDLL(None, use_errno=True)  # the hooks, when preloaded
libc.epoll_wait.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
libc.epoll_pwait.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                             ctypes.c_void_p]
libc.epoll_ctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.recv.restype = ctypes.c_ssize_t
libc.accept.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
libc.poll.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int]
HAVE_PWAIT2 = hasattr(libc, "epoll_pwait2")
if HAVE_PWAIT2:
    libc.epoll_pwait2.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                  ctypes.c_void_p, ctypes.c_void_p]

WAIT = 3.0  # bound of every wait for an asynchronous event
LINES = 0


def out(name, value):
    global LINES
    LINES += 1
    print(f"{name}: {value}", flush=True)


def nocmp(name, value):
    """A line shim_epoll.sh leaves out of the comparison (see the docstring)."""
    print(f"~ {name}: {value}", flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


def R(f, *a, **k):
    """Outcome of f(*a): its value, or the errno's name."""
    try:
        return f(*a, **k)
    except OSError as e:
        return ename(e.errno) if e.errno else type(e).__name__


def C(fn, *a):
    """A raw libc call through ctypes: its value, or the errno's name."""
    ctypes.set_errno(0)
    r = fn(*a)
    if r < 0:
        return ename(ctypes.get_errno())
    return r


def mstr(m):
    n = [name for bit, name in ENAMES if m & bit]
    return "|".join(n) if n else "0"


# ---------------------------------------------------------------------------
# sockets

OPEN = []


def keep(x):
    OPEN.append(x)
    return x


def new(fam=AF4, typ=STREAM):
    return keep(socket.socket(fam, typ))


def guard(*socks):
    """5 s SO_RCVTIMEO/SO_SNDTIMEO: a blocking call that should return but
    hangs fails with EAGAIN instead of stopping the test."""
    tv = struct.pack("ll", 5, 0)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    return socks[0] if len(socks) == 1 else socks


def listener(fam=AF4, backlog=16):
    l = new(fam)
    l.bind((LO[fam], 0))
    l.listen(backlog)
    return guard(l)


def pair(fam=AF4, timeouts=True):
    """A connected TCP pair over loopback: (client, accepted)."""
    l = listener(fam)
    c = new(fam)
    if timeouts:
        guard(c)
    c.connect(l.getsockname()[:2])
    a, _ = l.accept()
    keep(a)
    if timeouts:
        guard(a)
    else:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))
    l.close()
    return c, a


def udp_pair(fam=AF4):
    a, b = new(fam, DGRAM), new(fam, DGRAM)
    a.bind((LO[fam], 0))
    b.bind((LO[fam], 0))
    a.connect(b.getsockname()[:2])
    b.connect(a.getsockname()[:2])
    return guard(a, b)


def closed_port(fam=AF4, typ=STREAM):
    s = socket.socket(fam, typ)
    s.bind((LO[fam], 0))
    p = s.getsockname()[1]
    s.close()
    return p


def nread(s):
    fd = s if isinstance(s, int) else s.fileno()
    try:
        return struct.unpack("i", fcntl.ioctl(fd, 0x541B, b"\0\0\0\0"))[0]  # FIONREAD
    except OSError as e:
        return ename(e.errno)


def wait_until(cond, timeout=WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def recv_n(s, n, timeout=WAIT):
    buf = b""
    end = time.monotonic() + timeout
    while len(buf) < n and time.monotonic() < end:
        try:
            d = s.recv(n - len(buf))
        except OSError as e:
            return ename(e.errno)
        if not d:
            break
        buf += d
    return len(buf)


def closeall():
    for s in OPEN:
        try:
            if isinstance(s, int):
                os.close(s)
            else:
                s.close()
        except (OSError, ValueError):
            pass
    OPEN.clear()


# ---------------------------------------------------------------------------
# epoll helpers


def epoll():
    return keep(select.epoll())


def rawmask(fd, events):
    ep = select.epoll()
    try:
        ep.register(fd, events)
        r = ep.poll(0)
    finally:
        ep.close()
    return r[0][1] if r else 0


def emask(s, want=0, events=EALL, any_bit=False, timeout=WAIT):
    """The level-triggered epoll mask of s (a new epoll set, timeout 0);
    with want, first wait (bounded) until every bit of want (any_bit: one
    of them) is set, then 50 ms more: only a settled mask is compared."""
    fd = s if isinstance(s, int) else s.fileno()
    if want:
        def ready():
            m = rawmask(fd, events | want) & want
            return m != 0 if any_bit else m == want
        wait_until(ready, timeout)
        time.sleep(0.05)
    return mstr(rawmask(fd, events))


class Names:
    """Labels for descriptors in an epoll's results (never numbers)."""

    def __init__(self, **kw):
        self.m = {}
        for k, v in kw.items():
            self.m[v if isinstance(v, int) else v.fileno()] = k

    def ev(self, evs):
        return sorted(f"{self.m.get(fd, '?')}:{mstr(m)}" for fd, m in evs)


def ewait(ep, names, timeout=0, maxevents=-1):
    """ep.poll's result, labelled; an errno's name on failure."""
    try:
        return names.ev(ep.poll(timeout, maxevents))
    except OSError as e:
        return ename(e.errno)


def ewait_for(ep, names, timeout=WAIT):
    """The first non-empty ep.poll within timeout (edge- or level-)."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        r = ewait(ep, names, max(left, 0))
        if r or left <= 0:
            return r


def ewait_lt(ep, names, want, timeout=WAIT):
    """Level-triggered: poll until some event holds every bit of want
    (bounded), then that poll's result; what is already ready (OUT) must
    not end the wait before the event expected arrived."""
    end = time.monotonic() + timeout
    while True:
        evs = ep.poll(0.01)
        if any(m & want == want for _, m in evs) or time.monotonic() >= end:
            return names.ev(evs)


EV = struct.Struct("=IQ")  # struct epoll_event on x86_64 (packed)


def ev_buf(n=8):
    return ctypes.create_string_buffer(EV.size * n)


def ev_one(events, data=0):
    return ctypes.create_string_buffer(EV.pack(events, data), EV.size)


def sigset(*sigs):
    b = ctypes.create_string_buffer(128)
    libc.sigemptyset(b)
    for s in sigs:
        libc.sigaddset(b, int(s))
    return b


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


# ---------------------------------------------------------------------------
# sections


class Stall(Exception):
    pass


def on_stall(sig, frm):
    raise Stall()


def section(fn):
    """One group of checks: an unexpected exception or a stall (12 s) ends
    the group with one line (which then differs), not the whole test."""
    limit = getattr(fn, "limit", 12)
    signal.signal(signal.SIGALRM, on_stall)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        fn()
    except Stall:
        out(fn.__name__, f"SECTION STALLED ({limit} s)")
    except Exception as e:  # noqa: BLE001 -- report and go on
        out(fn.__name__, f"SECTION EXCEPTION {type(e).__name__}: {e}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, on_stall)
        closeall()


# ===========================================================================


def t_create():
    ep = C(libc.epoll_create1, 0)
    out("create1", isinstance(ep, int))
    out("create1.cloexec-off", bool(fcntl.fcntl(ep, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
    os.close(ep)
    ep = C(libc.epoll_create1, os.O_CLOEXEC)
    out("create1.cloexec", bool(fcntl.fcntl(ep, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
    os.close(ep)
    out("create1.bad-flags", C(libc.epoll_create1, 1))
    out("create.size0", C(libc.epoll_create, 0))
    ep = C(libc.epoll_create, 1)
    out("create.size1", isinstance(ep, int))
    ep2 = select.epoll()
    out("create.empty-wait", ep2.poll(0))
    ep2.close()
    os.close(ep)


def t_ctl():
    c, a = pair()
    u = new(AF4, DGRAM)
    l = listener()
    for name, s in (("tcp", a), ("udp", u), ("listen", l)):
        ep = epoll()
        fd = s.fileno()
        out(f"ctl.{name}.add", R(ep.register, fd, IN))
        out(f"ctl.{name}.add-again", R(ep.register, fd, IN))
        out(f"ctl.{name}.mod", R(ep.modify, fd, IN | OUT))
        out(f"ctl.{name}.del", R(ep.unregister, fd))
        out(f"ctl.{name}.del-again", R(ep.unregister, fd))
        out(f"ctl.{name}.mod-absent", R(ep.modify, fd, IN))
        out(f"ctl.{name}.bad-op", C(libc.epoll_ctl, ep.fileno(), 99, fd, ev_one(IN)))
        out(f"ctl.{name}.add-null-event", C(libc.epoll_ctl, ep.fileno(), EPOLL_CTL_ADD, fd, None))
        out(f"ctl.{name}.add-raw", C(libc.epoll_ctl, ep.fileno(), EPOLL_CTL_ADD, fd, ev_one(IN)))
        out(f"ctl.{name}.del-null-event", C(libc.epoll_ctl, ep.fileno(), EPOLL_CTL_DEL, fd, None))
        # a socket is no epoll descriptor
        out(f"ctl.{name}.as-epfd", C(libc.epoll_ctl, fd, EPOLL_CTL_ADD, c.fileno(), ev_one(IN)))
        # EPOLLEXCLUSIVE: accepted on ADD; not with ONESHOT; never on MOD
        out(f"ctl.{name}.excl", R(ep.register, fd, IN | EXCL))
        out(f"ctl.{name}.excl.mod", R(ep.modify, fd, IN | OUT))
        out(f"ctl.{name}.excl.del", R(ep.unregister, fd))
        out(f"ctl.{name}.excl-oneshot", R(ep.register, fd, IN | EXCL | ONESHOT))
        out(f"ctl.{name}.excl-after-plain", (R(ep.register, fd, IN), R(ep.modify, fd, IN | EXCL)))
        ep.close()
    ep = epoll()
    out("ctl.self", R(ep.register, ep.fileno(), IN))
    fd = os.dup(a.fileno())
    os.close(fd)
    out("ctl.closed-fd", R(ep.register, fd, IN))
    out("ctl.closed-fd.del", R(ep.unregister, fd))
    bad = select.epoll()
    bfd = bad.fileno()
    bad.close()
    out("ctl.closed-epfd", C(libc.epoll_ctl, bfd, EPOLL_CTL_ADD, a.fileno(), ev_one(IN)))
    with open("/proc/self/cmdline", "rb") as f:
        out("ctl.regular-file", R(ep.register, f.fileno(), IN))
    # an epoll set inside itself through another: ELOOP
    inner = epoll()
    out("ctl.nested", R(ep.register, inner.fileno(), IN))
    out("ctl.loop", R(inner.register, ep.fileno(), IN))
    out("ctl.excl-epoll-target", R(inner.register, epoll().fileno(), IN | EXCL))


def t_level():
    c, a = pair()
    ep = epoll()
    ep.register(a.fileno(), IN | OUT | RDHUP)
    n = Names(a=a)
    out("lt.idle", ewait(ep, n, 0))
    c.send(b"hello")
    out("lt.data", ewait_lt(ep, n, IN))
    wait_until(lambda: nread(a) == 5)
    out("lt.data.again", ewait(ep, n, 0))
    out("lt.data.third", ewait(ep, n, 0))
    a.recv(2)
    out("lt.partly-read", ewait(ep, n, 0))
    a.recv(10)
    out("lt.all-read", ewait(ep, n, 0))
    # only IN asked: OUT never shows
    ep.modify(a.fileno(), IN)
    out("lt.in-only.idle", ewait(ep, n, 0))
    c.send(b"x")
    out("lt.in-only.data", ewait_for(ep, n, WAIT))
    a.recv(1)
    # a blocked epoll_wait woken by data from another thread
    th = threading.Thread(daemon=True, target=lambda: (time.sleep(0.1), c.send(b"w")))
    th.start()
    t0 = time.monotonic()
    r = ewait(ep, n, WAIT)
    out("lt.wakes", (r, time.monotonic() - t0 < 2))
    th.join(WAIT)
    a.recv(1)
    # UDP
    u, v = udp_pair()
    ep = epoll()
    ep.register(u.fileno(), IN)
    n = Names(u=u)
    out("lt.udp.idle", ewait(ep, n, 0))
    v.send(b"d1")
    v.send(b"d2")
    out("lt.udp.data", ewait_for(ep, n, WAIT))
    wait_until(lambda: emask(u) == "IN|OUT")
    out("lt.udp.again", ewait(ep, n, 0))
    u.recv(10)
    out("lt.udp.one-left", (ewait(ep, n, 0), nread(u)))
    u.recv(10)
    out("lt.udp.none-left", ewait(ep, n, 0))
    # a listener: IN while connections wait
    l = listener()
    ep = epoll()
    ep.register(l.fileno(), IN | OUT)
    n = Names(l=l)
    out("lt.listen.idle", ewait(ep, n, 0))
    k1, k2 = new(), new()
    k1.connect(l.getsockname())
    k2.connect(l.getsockname())
    out("lt.listen.pending", ewait_for(ep, n, WAIT))
    out("lt.listen.pending.again", ewait(ep, n, 0))
    keep(l.accept()[0])
    time.sleep(0.05)
    out("lt.listen.one-accepted", ewait(ep, n, 0))
    keep(l.accept()[0])
    time.sleep(0.05)
    out("lt.listen.all-accepted", ewait(ep, n, 0))
    # round robin: several ready, maxevents 1
    pairs = [pair() for _ in range(3)]
    ep = epoll()
    n = Names(**{f"p{i}": p[1] for i, p in enumerate(pairs)})
    for c, a in pairs:
        ep.register(a.fileno(), IN)
        c.send(b"r")
    for c, a in pairs:
        wait_until(lambda: nread(a) == 1)
    out("lt.maxevents.all", ewait(ep, n, 0))
    got = [tuple(ewait(ep, n, 0, 1)) for _ in range(3)]
    out("lt.maxevents.1", (len(set(got)), all(len(g) == 1 for g in got)))
    out("lt.maxevents.0", C(libc.epoll_wait, ep.fileno(), ev_buf(), 0, 0))
    out("lt.maxevents.-1", C(libc.epoll_wait, ep.fileno(), ev_buf(), -1, 0))
    out("lt.events.null", C(libc.epoll_wait, ep.fileno(), None, 4, 0))


def t_edge():
    c, a = pair()
    ep = epoll()
    n = Names(a=a)
    ep.register(a.fileno(), IN | OUT | RDHUP | ET)
    out("et.initial", ewait(ep, n, 0))
    out("et.initial.again", ewait(ep, n, 0))
    c.send(b"one")
    out("et.data", ewait_for(ep, n, WAIT))
    wait_until(lambda: nread(a) == 3)
    time.sleep(0.05)
    out("et.data.again", ewait(ep, n, 0))
    c.send(b"two")  # not read: a new edge all the same
    out("et.more-data", ewait_for(ep, n, WAIT))
    wait_until(lambda: nread(a) == 6)
    time.sleep(0.05)
    out("et.more-data.again", ewait(ep, n, 0))
    a.recv(100)
    time.sleep(0.05)
    out("et.after-read", ewait(ep, n, 0))
    # the registered socket's own small write: no new edge on Linux (TCP
    # reports writable again only after it said it was full)
    a.send(b"own")
    recv_n(c, 3)
    time.sleep(0.2)
    nocmp("et.after-own-write", ewait(ep, n, 0))
    # registered while data waits: one event
    c.send(b"wait")
    wait_until(lambda: nread(a) == 4)
    time.sleep(0.05)
    ep2 = epoll()
    ep2.register(a.fileno(), IN | ET)
    out("et.register-ready", (ewait(ep2, n, 0), ewait(ep2, n, 0)))
    a.recv(100)
    # ep's own edge for that data: its mask as it is now (no IN left)
    out("et.register-ready.ep", ewait(ep, n, 0))
    # the peer's FIN is an edge
    c.shutdown(socket.SHUT_WR)
    out("et.fin", ewait_for(ep, n, WAIT))
    time.sleep(0.05)
    out("et.fin.again", ewait(ep, n, 0))
    # a full socket: no OUT edge until the peer drained it
    c, a = pair()
    c.setblocking(False)
    ep = epoll()
    n = Names(c=c)
    total = 0
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            total += c.send(b"\0" * 65536)
        except BlockingIOError:
            # netshim: the engine may still move a little; fill until it stops
            time.sleep(0.05)
            try:
                total += c.send(b"\0" * 65536)
            except BlockingIOError:
                break
    ep.register(c.fileno(), OUT | ET)
    out("et.full.initial", ewait(ep, n, 0))
    time.sleep(0.1)
    out("et.full.still", ewait(ep, n, 0))
    a.setblocking(False)
    got = 0
    end = time.monotonic() + 5
    while got < total and time.monotonic() < end:
        try:
            got += len(a.recv(1 << 20))
        except BlockingIOError:
            time.sleep(0.005)
    out("et.full.drained", (got == total, ewait_for(ep, n, WAIT)))
    # a listener: one edge per connection
    l = listener()
    ep = epoll()
    n = Names(l=l)
    ep.register(l.fileno(), IN | ET)
    k1 = new()
    k1.connect(l.getsockname())
    out("et.listen.first", ewait_for(ep, n, WAIT))
    time.sleep(0.05)
    out("et.listen.first.again", ewait(ep, n, 0))
    k2 = new()
    k2.connect(l.getsockname())
    out("et.listen.second", ewait_for(ep, n, WAIT))
    keep(l.accept()[0])
    time.sleep(0.05)
    out("et.listen.after-accept", ewait(ep, n, 0))
    # UDP: one edge per datagram
    u, v = udp_pair()
    ep = epoll()
    n = Names(u=u)
    ep.register(u.fileno(), IN | ET)
    out("et.udp.idle", ewait(ep, n, 0))
    v.send(b"a")
    out("et.udp.first", ewait_for(ep, n, WAIT))
    v.send(b"b")
    out("et.udp.second", ewait_for(ep, n, WAIT))
    u.recv(10)
    time.sleep(0.05)
    out("et.udp.after-recv", ewait(ep, n, 0))
    # a non-blocking connect: the edge when it completes
    l = listener()
    k = new()
    k.setblocking(False)
    ep = epoll()
    n = Names(k=k)
    ep.register(k.fileno(), IN | OUT | RDHUP | ET)
    nocmp("et.connect.before", ewait(ep, n, 0))  # a fresh socket: HUP without IN
    out("et.connect", R(k.connect, l.getsockname()))
    out("et.connect.done", ewait_for(ep, n, WAIT))
    time.sleep(0.05)
    out("et.connect.again", ewait(ep, n, 0))


def t_oneshot():
    c, a = pair()
    ep = epoll()
    n = Names(a=a)
    ep.register(a.fileno(), IN | ONESHOT)
    out("oneshot.idle", ewait(ep, n, 0))
    c.send(b"1")
    out("oneshot.first", ewait_for(ep, n, WAIT))
    c.send(b"2")
    wait_until(lambda: nread(a) == 2)
    out("oneshot.disabled", ewait(ep, n, 0.1))
    out("oneshot.add-again", R(ep.register, a.fileno(), IN))
    out("oneshot.rearm", R(ep.modify, a.fileno(), IN | ONESHOT))
    out("oneshot.rearmed", ewait(ep, n, 0))
    out("oneshot.rearmed.again", ewait(ep, n, 0))
    a.recv(10)
    out("oneshot.rearm-empty", R(ep.modify, a.fileno(), IN | ONESHOT))
    out("oneshot.rearm-empty.wait", ewait(ep, n, 0))
    c.send(b"3")
    out("oneshot.rearm-empty.data", ewait_for(ep, n, WAIT))
    out("oneshot.mod-plain", R(ep.modify, a.fileno(), IN))
    out("oneshot.plain", (ewait(ep, n, 0), ewait(ep, n, 0)))
    out("oneshot.del", R(ep.unregister, a.fileno()))
    # ONESHOT | ET
    a.recv(10)
    ep.register(a.fileno(), IN | ET | ONESHOT)
    c.send(b"4")
    out("oneshot.et", ewait_for(ep, n, WAIT))
    c.send(b"5")
    wait_until(lambda: nread(a) == 2)
    out("oneshot.et.disabled", ewait(ep, n, 0.1))
    ep.modify(a.fileno(), IN | ET | ONESHOT)
    out("oneshot.et.rearmed", (ewait(ep, n, 0), ewait(ep, n, 0)))
    # ONESHOT on a listener
    l = listener()
    ep = epoll()
    n = Names(l=l)
    ep.register(l.fileno(), IN | ONESHOT)
    k = new()
    k.connect(l.getsockname())
    out("oneshot.listen", ewait_for(ep, n, WAIT))
    out("oneshot.listen.disabled", ewait(ep, n, 0))
    ep.modify(l.fileno(), IN | ONESHOT)
    out("oneshot.listen.rearmed", ewait(ep, n, 0))


def t_rdhup():
    for fam in (AF4, AF6):
        f = "4" if fam == AF4 else "6"
        c, a = pair(fam)
        ep = epoll()
        n = Names(a=a)
        ep.register(a.fileno(), IN | OUT | RDHUP)
        ep_in = epoll()
        ep_in.register(a.fileno(), IN)
        ep_et = epoll()
        ep_et.register(a.fileno(), IN | RDHUP | ET)
        c.shutdown(socket.SHUT_WR)
        out(f"rdhup{f}.peer-shut-wr", ewait_lt(ep, n, IN | RDHUP))
        time.sleep(0.05)
        out(f"rdhup{f}.in-only", ewait(ep_in, n, 0))
        out(f"rdhup{f}.et", (ewait(ep_et, n, 0), ewait(ep_et, n, 0)))
        out(f"rdhup{f}.recv", R(a.recv, 10))
        out(f"rdhup{f}.after-eof", ewait(ep, n, 0))
        # data, then FIN: IN|RDHUP, the data first
        c, a = pair(fam)
        c.send(b"last")
        c.shutdown(socket.SHUT_WR)
        out(f"rdhup{f}.data-fin", emask(a, IN | RDHUP))
        out(f"rdhup{f}.data-fin.recv", (R(a.recv, 10), R(a.recv, 10)))
        # the peer closes
        c, a = pair(fam)
        c.close()
        out(f"rdhup{f}.peer-close", emask(a, IN | RDHUP))
        # own shutdown(SHUT_RD): Linux shows RDHUP and IN
        c, a = pair(fam)
        a.shutdown(socket.SHUT_RD)
        out(f"rdhup{f}.own-shut-rd", emask(a, IN | RDHUP, any_bit=True))


def t_states():
    for fam in (AF4, AF6):
        f = "4" if fam == AF4 else "6"
        # fresh, bound: HUP without IN on Linux (see the docstring)
        nocmp(f"tcp{f}.fresh", emask(new(fam)))
        b = new(fam)
        b.bind((LO[fam], 0))
        nocmp(f"tcp{f}.bound", emask(b))
        l = listener(fam)
        out(f"tcp{f}.listening", emask(l))
        k = new(fam)
        k.connect(l.getsockname()[:2])
        out(f"tcp{f}.listening.pending", emask(l, IN))
        keep(l.accept()[0])
        c, a = pair(fam)
        out(f"tcp{f}.connected", emask(c, OUT))
        c.send(b"x")
        out(f"tcp{f}.connected.data", emask(a, IN))
        out(f"tcp{f}.connected.only-err-hup", emask(a, events=0))
        out(f"tcp{f}.shut-wr.self", (R(c.shutdown, socket.SHUT_WR), emask(c, OUT)))
        out(f"tcp{f}.shut-wr.peer", emask(a, IN | RDHUP))
        a.shutdown(socket.SHUT_WR)
        out(f"tcp{f}.both-shut", emask(c, IN | RDHUP | HUP))
        out(f"tcp{f}.both-shut.peer", emask(a, IN | RDHUP | HUP))
        out(f"tcp{f}.both-shut.only-err-hup", emask(c, events=0))
        c, a = pair(fam)
        c.shutdown(socket.SHUT_RDWR)
        out(f"tcp{f}.shut-rdwr.self", emask(c, IN | HUP | RDHUP))
        out(f"tcp{f}.shut-rdwr.peer", emask(a, IN | RDHUP))
        # the peer closed, then our write drew its RST
        c, a = pair(fam)
        a.close()
        out(f"tcp{f}.peer-closed", emask(c, IN | RDHUP))
        out(f"tcp{f}.peer-closed.send", R(c.send, b"x"))
        out(f"tcp{f}.peer-closed.rst", emask(c, ERR))
        out(f"tcp{f}.peer-closed.rst.only-err-hup", emask(c, events=0))
        out(f"tcp{f}.peer-closed.rst.send", R(c.send, b"x"))
        out(f"tcp{f}.peer-closed.rst.after", emask(c))
        # reset: the peer closed with data unread
        c, a = pair(fam)
        c.sendall(b"unread")
        wait_until(lambda: nread(a) == 6)
        a.close()
        out(f"tcp{f}.reset", emask(c, ERR | HUP))
        out(f"tcp{f}.reset.only-err-hup", emask(c, events=0))
        out(f"tcp{f}.reset.recv", R(c.recv, 10))
        out(f"tcp{f}.reset.after-recv", emask(c))
        # refused: non-blocking, then SO_ERROR read
        n = new(fam)
        n.setblocking(False)
        out(f"tcp{f}.refused.nb", R(n.connect, (LO[fam], closed_port(fam))))
        out(f"tcp{f}.refused.nb.mask", emask(n, ERR))
        out(f"tcp{f}.refused.nb.so_error",
            ename(n.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
        out(f"tcp{f}.refused.nb.after", emask(n))
        # refused, blocking: HUP without IN (see the docstring)
        r = guard(new(fam))
        out(f"tcp{f}.refused.blocking", R(r.connect, (LO[fam], closed_port(fam))))
        nocmp(f"tcp{f}.refused.blocking.mask", emask(r))
        # a listener shut down (HUP without IN, see the docstring)
        l = listener(fam)
        R(l.shutdown, socket.SHUT_RDWR)
        nocmp(f"tcp{f}.listen-shut", emask(l))
        # UDP
        u = new(fam, DGRAM)
        out(f"udp{f}.fresh", emask(u))
        u.bind((LO[fam], 0))
        out(f"udp{f}.bound", emask(u))
        u, v = udp_pair(fam)
        out(f"udp{f}.connected", emask(u))
        v.send(b"x")
        out(f"udp{f}.data", emask(u, IN))
        u.recv(10)
        out(f"udp{f}.read", emask(u))
        r = guard(new(fam, DGRAM))
        r.connect((LO[fam], closed_port(fam, DGRAM)))
        out(f"udp{f}.icmp.send", R(r.send, b"x"))
        nocmp(f"udp{f}.icmp", emask(r, ERR | IN, any_bit=True))
        out(f"udp{f}.icmp.so_error", ename(r.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
        out(f"udp{f}.icmp.after", emask(r))
        r.send(b"y")
        emask(r, ERR | IN, any_bit=True)
        out(f"udp{f}.icmp.recv", (R(r.recv, 10), emask(r)))
    # connecting: a SYN nobody answers
    k = new()
    k.setblocking(False)
    out("tcp4.connecting", R(k.connect, (SILENT, 9)))
    time.sleep(0.2)
    out("tcp4.connecting.mask", emask(k))
    out("tcp4.connecting.only-err-hup", emask(k, events=0))


def t_timeouts():
    ep = epoll()
    n = Names()
    t0 = time.monotonic()
    r = ewait(ep, n, 0)
    out("timeout.0", (r, time.monotonic() - t0 < 0.2))
    t0 = time.monotonic()
    r = C(libc.epoll_wait, ep.fileno(), ev_buf(), 8, 50)
    d = time.monotonic() - t0
    out("timeout.50ms", (r, 0.045 <= d < 0.5))
    c, a = pair()
    ep.register(a.fileno(), IN)
    t0 = time.monotonic()
    r = C(libc.epoll_wait, ep.fileno(), ev_buf(), 8, 50)
    d = time.monotonic() - t0
    out("timeout.50ms.socket", (r, 0.045 <= d < 0.5))
    t0 = time.monotonic()
    r = C(libc.epoll_wait, ep.fileno(), ev_buf(), 8, 0)
    out("timeout.0.socket", (r, time.monotonic() - t0 < 0.2))
    # -1: until the data comes
    th = threading.Thread(daemon=True, target=lambda: (time.sleep(0.15), c.send(b"x")))
    th.start()
    t0 = time.monotonic()
    r = C(libc.epoll_wait, ep.fileno(), ev_buf(), 8, -1)
    d = time.monotonic() - t0
    out("timeout.infinite", (r, 0.1 <= d < 2))
    th.join(WAIT)
    a.recv(1)
    if HAVE_PWAIT2:
        ts = Timespec(0, 50_000_000)
        t0 = time.monotonic()
        r = C(libc.epoll_pwait2, ep.fileno(), ev_buf(), 8, ctypes.byref(ts), None)
        d = time.monotonic() - t0
        out("timeout.pwait2.50ms", (r, 0.045 <= d < 0.5))
        ts = Timespec(0, 0)
        r = C(libc.epoll_pwait2, ep.fileno(), ev_buf(), 8, ctypes.byref(ts), None)
        out("timeout.pwait2.0", r)
        ts = Timespec(0, 2_000_000_000)
        out("timeout.pwait2.bad-nsec",
            C(libc.epoll_pwait2, ep.fileno(), ev_buf(), 8, ctypes.byref(ts), None))
    else:
        out("timeout.pwait2.50ms", "no epoll_pwait2")
    # recv/accept timeouts (SO_RCVTIMEO) honoured
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 100000))
    t0 = time.monotonic()
    r = R(a.recv, 1)
    out("timeout.rcvtimeo.recv", (r, 0.09 <= time.monotonic() - t0 < 1))
    l = listener()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 100000))
    t0 = time.monotonic()
    r = R(l.accept)
    out("timeout.rcvtimeo.accept", (r, 0.09 <= time.monotonic() - t0 < 1))
    # poll and select with timeouts on sockets
    t0 = time.monotonic()
    p = select.poll()
    p.register(a.fileno(), select.POLLIN)
    r = p.poll(50)
    out("timeout.poll.50ms", (r, 0.045 <= time.monotonic() - t0 < 0.5))
    t0 = time.monotonic()
    r = select.select([a, l], [], [], 0.05)
    out("timeout.select.50ms", (r[0], 0.045 <= time.monotonic() - t0 < 0.5))


class Flag:
    n = 0


def count_sig(sig, frm):
    Flag.n += 1


def t_signals():
    """SIGALRM (setitimer) while blocked.  The section's own stall alarm is
    off here; the 3 s socket timeouts and the script's timeout bound it."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, count_sig)  # no SA_RESTART
    ep = epoll()
    c, a = pair(timeouts=False)
    ep.register(a.fileno(), IN)

    def interrupted(call, restart, delay=0.1):
        signal.siginterrupt(signal.SIGALRM, not restart)
        Flag.n = 0
        signal.setitimer(signal.ITIMER_REAL, delay)
        t0 = time.monotonic()
        r = call()
        d = time.monotonic() - t0
        signal.setitimer(signal.ITIMER_REAL, 0)
        return r, d, Flag.n

    for restart in (False, True):
        k = "restart" if restart else "norestart"
        # epoll_wait is never restarted (signal(7))
        r, d, ns = interrupted(lambda: C(libc.epoll_wait, ep.fileno(), ev_buf(), 8, 3000),
                               restart)
        out(f"eintr.{k}.epoll_wait", (r, d < 1.5, ns))
        r, d, ns = interrupted(
            lambda: C(libc.epoll_pwait, ep.fileno(), ev_buf(), 8, 3000, None), restart)
        out(f"eintr.{k}.epoll_pwait", (r, d < 1.5, ns))
        if HAVE_PWAIT2:
            r, d, ns = interrupted(lambda: C(libc.epoll_pwait2, ep.fileno(), ev_buf(), 8,
                                             None, None), restart)
            out(f"eintr.{k}.epoll_pwait2", (r, d < 1.5, ns))
        pfd = struct.pack("iHH", a.fileno(), select.POLLIN, 0)
        pb = ctypes.create_string_buffer(pfd, len(pfd))
        r, d, ns = interrupted(lambda: C(libc.poll, pb, 1, 3000), restart)
        out(f"eintr.{k}.poll", (r, d < 1.5, ns))
        # a blocking recv (no SO_RCVTIMEO): EINTR, or restarted by
        # SA_RESTART and then served by data 1 s later
        th = threading.Thread(daemon=True, target=lambda: (time.sleep(1.0), c.send(b"z")))
        th.start()
        buf = ctypes.create_string_buffer(16)
        r, d, ns = interrupted(lambda: C(libc.recv, a.fileno(), buf, 16, 0), restart, 0.2)
        th.join(WAIT)
        out(f"eintr.{k}.recv", (r, ns))  # the data (r == 1) comes at 1 s, the signal at 0.2 s
        wait_until(lambda: nread(a) == 1, 1)
        if nread(a):
            a.recv(16)
        # a blocking recv with SO_RCVTIMEO: EINTR even under SA_RESTART
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 2, 0))
        r, d, ns = interrupted(lambda: C(libc.recv, a.fileno(), buf, 16, 0), restart)
        out(f"eintr.{k}.recv.rcvtimeo", (r, d < 1.5, ns))
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))
        # a blocking accept: the same
        l = listener()
        l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))
        addr = l.getsockname()
        k2 = new()
        th = threading.Thread(daemon=True, target=lambda: (time.sleep(1.0), k2.connect(addr)))
        th.start()
        r, d, ns = interrupted(lambda: C(libc.accept, l.fileno(), None, None), restart, 0.2)
        th.join(WAIT)
        if isinstance(r, int):
            os.close(r)
            r = "fd"
        out(f"eintr.{k}.accept", (r, ns))  # the connection ("fd") comes at 1 s
    signal.siginterrupt(signal.SIGALRM, True)
    # epoll_pwait's mask, set atomically: SIGUSR1 blocked and pending
    # before the call interrupts it at once when the mask unblocks it
    signal.signal(signal.SIGUSR1, count_sig)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    Flag.n = 0
    os.kill(os.getpid(), signal.SIGUSR1)
    out("pwait.pending", (signal.SIGUSR1 in signal.sigpending(), Flag.n))
    t0 = time.monotonic()
    r = C(libc.epoll_pwait, ep.fileno(), ev_buf(), 8, 50, sigset(signal.SIGUSR1))
    d = time.monotonic() - t0
    out("pwait.mask-blocks", (r, d >= 0.045, signal.SIGUSR1 in signal.sigpending(), Flag.n))
    t0 = time.monotonic()
    r = C(libc.epoll_pwait, ep.fileno(), ev_buf(), 8, 3000, sigset())
    d = time.monotonic() - t0
    out("pwait.mask-unblocks", (r, d < 1, signal.SIGUSR1 in signal.sigpending(), Flag.n))
    # the mask is restored on return: SIGUSR1 is blocked again
    Flag.n = 0
    os.kill(os.getpid(), signal.SIGUSR1)
    out("pwait.mask-restored", (signal.SIGUSR1 in signal.sigpending(), Flag.n))
    if HAVE_PWAIT2:
        r = C(libc.epoll_pwait2, ep.fileno(), ev_buf(), 8, None, sigset())
        out("pwait2.mask-unblocks", (r, signal.SIGUSR1 in signal.sigpending(), Flag.n))
    else:
        out("pwait2.mask-unblocks", "no epoll_pwait2")
    # a ready descriptor and a pending, unblocked signal: the event wins?
    c.send(b"e")
    wait_until(lambda: nread(a) == 1)
    Flag.n = 0
    os.kill(os.getpid(), signal.SIGUSR1)
    r = C(libc.epoll_pwait, ep.fileno(), ev_buf(), 8, 3000, sigset())
    out("pwait.ready-and-signal", (r, Flag.n))
    signal.pthread_sigmask(signal.SIG_SETMASK, old)
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)


t_signals.limit = 30


def t_nesting():
    c, a = pair()
    n = Names(a=a)
    # a dup'd epoll descriptor is the same set
    ep = epoll()
    d = os.dup(ep.fileno())
    ep2 = keep(select.epoll.fromfd(d))
    ep.register(a.fileno(), IN)
    out("dup.register-through-other", R(ep2.register, a.fileno(), IN))
    c.send(b"x")
    out("dup.wait-other", ewait_for(ep2, n, WAIT))
    ep.close()
    out("dup.after-close", ewait(ep2, n, 0))
    out("dup.del-other", R(ep2.unregister, a.fileno()))
    a.recv(10)
    # an epoll set inside another
    inner, outer = epoll(), epoll()
    inner.register(a.fileno(), IN)
    outer.register(inner.fileno(), IN | OUT)
    ni = Names(inner=inner)
    out("nested.idle", ewait(outer, ni, 0))
    c.send(b"y")
    out("nested.ready", ewait_for(outer, ni, WAIT))
    out("nested.inner", ewait(inner, n, 0))
    # an epoll descriptor in poll() and select()
    p = select.poll()
    p.register(inner.fileno(), select.POLLIN | select.POLLOUT)
    out("nested.poll", [(mstr(m)) for _, m in p.poll(0)])
    out("nested.select", tuple(len(x) for x in select.select([inner], [inner], [inner], 0)))
    a.recv(10)
    time.sleep(0.05)
    out("nested.read.outer", ewait(outer, ni, 0))
    out("nested.read.poll", p.poll(0))
    # an edge-triggered outer set
    outer_et = epoll()
    outer_et.register(inner.fileno(), IN | ET)
    c.send(b"z")
    out("nested.et", ewait_for(outer_et, ni, WAIT))
    time.sleep(0.05)
    out("nested.et.again", ewait(outer_et, ni, 0))
    a.recv(10)
    # an epoll_wait blocked in another thread wakes for the inner set
    res = []
    th = threading.Thread(daemon=True, target=lambda: res.append(ewait(outer, ni, WAIT)))
    th.start()
    time.sleep(0.1)
    c.send(b"w")
    th.join(WAIT)
    out("nested.thread-wakes", res)


def t_close():
    # closing one of two descriptors of a socket keeps it in every set
    c, a = pair()
    ep1, ep2 = epoll(), epoll()
    afd = a.fileno()
    ep1.register(afd, IN)
    ep2.register(afd, IN | RDHUP)
    dupfd = os.dup(afd)
    n = Names(old=afd, dup=dupfd)
    a.close()
    c.send(b"still")
    out("close.dup-left.ep1", ewait_for(ep1, n, WAIT))
    out("close.dup-left.ep2", ewait(ep2, n, 0))
    out("close.dup-left.del", R(ep1.unregister, afd))
    out("close.dup-left.add-dup", R(ep1.register, dupfd, IN))
    out("close.dup-left.both", ewait(ep1, n, 0))
    os.read(dupfd, 10)
    # the last descriptor: the socket leaves every set, the peer sees EOF
    os.close(dupfd)
    c.send(b"more")
    time.sleep(0.2)
    out("close.last.ep1", ewait(ep1, n, 0))
    out("close.last.ep2", ewait(ep2, n, 0))
    # the FIN, then the reset "more" earned: wait for both to be seen
    out("close.last.peer", (emask(c, IN | RDHUP | ERR | HUP), R(c.recv, 10)))
    # the number reused by a new socket registers afresh
    s = new(AF4, DGRAM)
    os.dup2(s.fileno(), afd)
    keep(afd)
    out("close.reused", (R(ep1.register, afd, OUT), ewait(ep1, n, 0)))
    # one descriptor, closed: gone from both sets at once
    c, a = pair()
    ep1, ep2 = epoll(), epoll()
    ep1.register(a.fileno(), IN)
    ep2.register(a.fileno(), IN)
    n = Names(a=a)
    c.send(b"x")
    wait_until(lambda: nread(a) == 1)
    out("close.only.before", (ewait(ep1, n, 0), ewait(ep2, n, 0)))
    a.close()
    out("close.only.after", (ewait(ep1, n, 0), ewait(ep2, n, 0)))
    # a listener closed while in a set
    l = listener()
    ep1.register(l.fileno(), IN)
    k = new()
    k.connect(l.getsockname())
    nl = Names(l=l)
    out("close.listen.before", ewait_for(ep1, nl, WAIT))
    l.close()
    out("close.listen.after", ewait(ep1, nl, 0))
    # dup2 over a registered socket's number: the old socket leaves
    c, a = pair()
    x, y = pair()
    ep = epoll()
    ep.register(a.fileno(), IN)
    n = Names(a=a)
    c.send(b"x")
    wait_until(lambda: nread(a) == 1)
    afd = a.fileno()
    os.dup2(x.fileno(), afd)
    y.send(b"y")
    time.sleep(0.2)
    out("close.dup2-over", ewait(ep, n, 0))
    out("close.dup2-over.register", R(ep.register, afd, IN))
    out("close.dup2-over.new", ewait(ep, n, 0))
    # a UDP socket, closed
    u, v = udp_pair()
    ep = epoll()
    ep.register(u.fileno(), IN)
    v.send(b"d")
    n = Names(u=u)
    out("close.udp.before", ewait_for(ep, n, WAIT))
    u.close()
    out("close.udp.after", ewait(ep, n, 0))
    # fork: the child's copy keeps the socket (and its registration) alive
    c, a = pair()
    ep = epoll()
    afd = a.fileno()
    ep.register(afd, IN)
    n = Names(a=afd)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(w)
            os.read(r, 1)  # until the parent is done
        finally:
            os._exit(0)
    os.close(r)
    a.close()
    c.send(b"f")
    out("close.fork.child-holds", ewait_for(ep, n, WAIT))
    os.close(w)
    os.waitpid(pid, 0)
    time.sleep(0.1)
    out("close.fork.child-gone", ewait(ep, n, 0))
    out("close.fork.peer", (emask(c, IN | RDHUP, any_bit=True), R(c.recv, 10)))


def t_exclusive():
    """Threads blocked in epoll_wait on sets that hold one listener: one
    connection wakes every non-exclusive waiter, and one exclusive one."""
    for mode in ("plain", "exclusive"):
        l = listener()
        eps = [epoll() for _ in range(3)]
        for ep in eps:
            ep.register(l.fileno(), IN | (EXCL if mode == "exclusive" else 0))
        res = []
        lock = threading.Lock()

        def waiter(ep):
            r = ep.poll(1.5)
            with lock:
                res.append(len(r))

        ths = [threading.Thread(daemon=True, target=waiter, args=(ep,)) for ep in eps]
        for t in ths:
            t.start()
        time.sleep(0.3)
        k = new()
        k.connect(l.getsockname())
        for t in ths:
            t.join(WAIT)
        out(f"excl.{mode}.woken", (sorted(res), sum(res)))
        # afterwards (no waiter) the ready state is level-triggered as ever
        out(f"excl.{mode}.after", [len(ep.poll(0)) for ep in eps])
    # exclusive on a connected socket, data from the peer
    c, a = pair()
    eps = [epoll() for _ in range(2)]
    for ep in eps:
        ep.register(a.fileno(), IN | EXCL)
    res = []
    ths = [threading.Thread(daemon=True, target=lambda ep=ep: res.append(len(ep.poll(1.5))))
           for ep in eps]
    for t in ths:
        t.start()
    time.sleep(0.3)
    c.send(b"x")
    for t in ths:
        t.join(WAIT)
    out("excl.data.woken", sorted(res))


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python starts anyway
    only = sys.argv[1:]
    for fn in (t_create, t_ctl, t_level, t_edge, t_oneshot, t_rdhup, t_states,
               t_timeouts, t_signals, t_nesting, t_close, t_exclusive):
        if not only or fn.__name__ in only:
            section(fn)
    print(f"done: {LINES} checks")


if __name__ == "__main__":
    main()
