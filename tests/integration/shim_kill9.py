#!/usr/bin/env python3
"""shim_kill9.py — helper processes for shim_kill9.sh (STYLE.md 15).

  serve PORT SPORT WORKERS SIZE STATUS   a pre-fork server (under netshim,
      or on the kernel for the reference run): the parent listens on PORT
      and forks WORKERS workers that accept on the inherited listener; each
      connection asks "GET ID KIND\\n" and gets "PID ID\\n" and then SIZE
      bytes (payload(ID)), paced (a chunk, a TCP_INFO getsockopt — a call
      the owner answers for a worker — and a short sleep); the worker then
      reads until the client closes.  The parent reaps its workers and
      forks a replacement for each one that dies, and answers "stats"
      connections on SPORT with one JSON line: its pid, its workers, how
      they died, and getsockopt(SOL_NETSHIM, NETSHIM_STATS) read on that
      connection (null on the kernel).  Under netshim it first checks the
      option's edges in the owner, and its first worker in a client
      (STATUS lines "optcheck owner|client ok|BAD ...").  Runs until SIGTERM.
  control HOST PORT SPORT ROUNDS CLIENTS SIZE   kernel side: CLIENTS
      threads make connections continuously (kinds alternate: F, the
      client sends nothing after its request; R, it sends one byte after
      the header that the worker never reads); ROUNDS times a worker in
      the middle of a transfer is stopped, the system call it is in is
      read from /proc, and it is SIGKILLed (half the rounds sample several
      times, continuing it in between, to catch one inside a call to the
      owner).  Checks: the killed worker's connections end as Linux ends
      them (F: the bytes written, then FIN — the client sees a short
      stream, never a reset; R: unread data at death, so RST —
      ECONNRESET), every byte received is the right one, every other
      connection completes, a new connection completes and the parent
      answers after each kill, and (when the server reports stats) the
      stack's memory returns to its baseline after the clients stop.
      Prints its figures; exit 0 when every check held.
"""
import errno
import json
import os
import platform
import random
import select
import signal
import socket
import struct
import sys
import threading
import time

SOL_NETSHIM = 0x4E53  # shim/netshim.h
NETSHIM_STATS = 1
STATS_FMT = "=7Q"
STATS_LEN = struct.calcsize(STATS_FMT)
STATS_FIELDS = ("pbuf_small", "pbuf_large", "txrec", "endpoints", "time_wait", "socks",
                "clients")
# what must return to the baseline (TIME_WAIT records expire after 60 s)
MEMORY = ("pbuf_small", "pbuf_large", "txrec", "endpoints", "socks", "clients")
CHUNK = 4096
PACE = 0.002


def note(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (line + "\n").encode())
    os.close(fd)


def payload(cid, size):
    return random.Random(cid).randbytes(size)


def read_stats(sock):
    """NETSHIM_STATS as a dict, or None when the socket is the kernel's."""
    try:
        b = sock.getsockopt(SOL_NETSHIM, NETSHIM_STATS, STATS_LEN)
    except OSError as e:
        if e.errno in (errno.ENOPROTOOPT, errno.EOPNOTSUPP):
            return None  # the kernel's answers for a level it does not know
        raise
    return dict(zip(STATS_FIELDS, struct.unpack(STATS_FMT, b)))


def opt_checks(sock):
    """The option's edges, as Linux's getsockopt: a short buffer gets the
    first bytes, a long one the structure, another name ENOPROTOOPT."""
    bad = []
    full = sock.getsockopt(SOL_NETSHIM, NETSHIM_STATS, STATS_LEN)
    if len(full) != STATS_LEN:
        bad.append("full: %d bytes" % len(full))
    short = sock.getsockopt(SOL_NETSHIM, NETSHIM_STATS, 8)
    if len(short) != 8:
        bad.append("short: %d bytes" % len(short))
    if len(sock.getsockopt(SOL_NETSHIM, NETSHIM_STATS, 200)) != STATS_LEN:
        bad.append("long buffer")
    try:
        sock.getsockopt(SOL_NETSHIM, 2, 8)
        bad.append("name 2 answered")
    except OSError as e:
        if e.errno != errno.ENOPROTOOPT:
            bad.append("name 2: %r" % (e,))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if read_stats(u) is None:
        bad.append("UDP socket: no stats")
    u.close()
    return "ok" if not bad else "BAD " + "; ".join(bad)


def listener(port, backlog):
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", port))
    l.listen(backlog)
    return l


def serve_conn(c, size):
    c.settimeout(20)
    req = b""
    while not req.endswith(b"\n"):
        b = c.recv(256)
        if not b:
            return
        req += b
    _, cid, _ = req.split()
    c.sendall(b"%d %d\n" % (os.getpid(), int(cid)))
    data = payload(int(cid), size)
    for off in range(0, size, CHUNK):
        c.sendall(data[off:off + CHUNK])
        c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        time.sleep(PACE)
    while c.recv(4096):  # the client closes first (so no TIME_WAIT here)
        pass


def worker(l, size, status, check):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if check:
        note(status, "optcheck client " + opt_checks(l))
    while True:
        c, _ = l.accept()
        try:
            serve_conn(c, size)
        except OSError as e:
            note(status, "worker %d conn error %r" % (os.getpid(), e))
        c.close()


def serve(port, sport, nworkers, size, status):
    l = listener(port, 128)
    sl = listener(sport, 16)
    shim = read_stats(sl) is not None
    if shim:
        note(status, "optcheck owner " + opt_checks(l))
    workers = {}
    deaths = {"sigkill": 0, "other": 0}

    def spawn(check):
        pid = os.fork()
        if pid == 0:
            try:
                sl.close()
                worker(l, size, status, check)
            except BaseException as e:
                note(status, "worker %d failed: %r" % (os.getpid(), e))
            os._exit(1)
        workers[pid] = 1

    for i in range(nworkers):
        spawn(shim and i == 0)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    note(status, "ready %d" % os.getpid())
    deadline = time.time() + 600
    while not stop and time.time() < deadline:
        r, _, _ = select.select([sl], [], [], 0.05)
        if r:
            c, _ = sl.accept()
            try:
                c.settimeout(5)
                c.recv(64)
                rep = {"pid": os.getpid(), "workers": sorted(workers), "deaths": deaths,
                       "stats": read_stats(c)}
                c.sendall(json.dumps(rep).encode() + b"\n")
                c.recv(64)  # the client closes first
            except OSError as e:
                note(status, "stats conn error %r" % (e,))
            c.close()
        while workers:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            workers.pop(pid, None)
            if os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL:
                deaths["sigkill"] += 1
            else:
                deaths["other"] += 1
                note(status, "worker %d ended: status %d" % (pid, st))
            if not stop:
                spawn(False)
    for pid in workers:
        os.kill(pid, signal.SIGTERM)
    for pid in workers:
        os.waitpid(pid, 0)


# ---- the kernel side -----------------------------------------------------

SYSCALLS_X86_64 = {0: "read", 1: "write", 7: "poll", 23: "select", 35: "nanosleep",
                   43: "accept", 44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg",
                   202: "futex", 230: "clock_nanosleep", 270: "pselect6", 271: "ppoll",
                   219: "restart_syscall", 288: "accept4"}


def sock_type(pid, fd):
    """The AF_UNIX type of pid's descriptor fd ("0001" stream, "0005"
    seqpacket), or None."""
    try:
        link = os.readlink("/proc/%d/fd/%d" % (pid, fd))
    except OSError:
        return None
    if not link.startswith("socket:["):
        return None
    ino = link[8:-1]
    with open("/proc/%d/net/unix" % pid) as f:
        for line in f:
            x = line.split()
            if len(x) >= 7 and x[6] == ino:
                return x[4]
    return None


def where(pid):
    """Where a stopped process is: 'control' (in a call to the owner: on
    its SOCK_SEQPACKET session socket), 'data:<syscall>' (on a socket's
    end A), 'user', or the system call's name."""
    with open("/proc/%d/syscall" % pid) as f:
        x = f.read().split()
    if x[0] == "running":
        return "running"
    nr = int(x[0])
    if nr == -1:
        return "user"
    name = SYSCALLS_X86_64.get(nr, "sys%d" % nr) if platform.machine() == "x86_64" \
        else "sys%d" % nr
    if name in ("sendmsg", "recvmsg", "sendto", "recvfrom", "read", "write"):
        t = sock_type(pid, int(x[1], 16))
        if t == "0005":
            return "control"
        if t == "0001":
            return "data:" + name
    return name


def wait_stopped(pid, limit=0.5):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        if st[0] in ("T", "t"):
            return True
        time.sleep(0.001)
    return False


def ppid_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


class Conn:
    def __init__(self, cid, kind):
        self.cid, self.kind = cid, kind
        self.pid = None
        self.port = 0
        self.got = 0
        self.end = None
        self.prefix_ok = True
        self.t0 = time.monotonic()
        self.t_end = None


def one_conn(host, port, cn, size, want):
    try:
        s = socket.create_connection((host, port), timeout=10)
    except OSError as e:
        cn.end = "connect %s" % errno.errorcode.get(e.errno, e.errno)
        cn.t_end = time.monotonic()
        return
    buf = bytearray()
    cn.port = s.getsockname()[1]
    try:
        s.sendall(b"GET %d %s\n" % (cn.cid, cn.kind.encode()))
        while True:
            b = s.recv(65536)
            if not b:
                cn.end = "fin"
                break
            buf += b
            if cn.pid is None and b"\n" in buf:
                line, _, rest = bytes(buf).partition(b"\n")
                buf = bytearray(rest)
                cn.pid = int(line.split()[0])
                if cn.kind == "R":
                    s.sendall(b"x")  # never read: unread data at the worker
            cn.got = len(buf)
            if len(buf) >= size:
                cn.end = "done"
                break
    except ConnectionResetError:
        cn.end = "rst"
    except BrokenPipeError:
        cn.end = "epipe"
    except socket.timeout:
        cn.end = "timeout"
    except OSError as e:
        cn.end = "error %s" % errno.errorcode.get(e.errno, e.errno)
    cn.got = len(buf)
    cn.prefix_ok = bytes(buf) == want[:len(buf)]
    cn.t_end = time.monotonic()
    s.close()


def stats_query(host, sport):
    t0 = time.monotonic()
    s = socket.create_connection((host, sport), timeout=5)
    s.sendall(b"stats\n")
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(4096)
        if not b:
            raise OSError("stats: the parent closed without answering")
        buf += b
    s.close()
    rep = json.loads(buf)
    rep["latency"] = time.monotonic() - t0
    return rep


def control(host, port, sport, rounds, nclients, size):
    bad = []
    t_start = time.monotonic()
    # the workers join the session at their first call (accept)
    for _ in range(100):
        rep = stats_query(host, sport)
        if rep["stats"] is None or rep["stats"]["clients"] == len(rep["workers"]):
            break
        time.sleep(0.1)
    server = rep["pid"]
    base = rep["stats"]
    nworkers = len(rep["workers"])
    if base is not None and base["clients"] != nworkers:
        bad.append("baseline: %d clients for %d workers" % (base["clients"], nworkers))
    conns = []
    lock = threading.Lock()
    stop = threading.Event()
    ids = iter(range(1, 1 << 30))

    def client():
        while not stop.is_set():
            with lock:
                cid = next(ids)
                cn = Conn(cid, "R" if cid % 2 else "F")
                conns.append(cn)
            one_conn(host, port, cn, size, payload(cid, size))

    ts = [threading.Thread(target=client, daemon=True) for _ in range(nclients)]
    for t in ts:
        t.start()
    where_count = {}
    kills = []
    killed_pids = set()
    stats_lat = []
    resume = []
    unanswered = set()
    outcome = {}
    for r in range(rounds):
        want_kind = "F" if r % 2 == 0 else "R"
        hunt = r % 4 >= 2  # sample several times for a call to the owner
        victim = None
        end = time.monotonic() + 5
        while victim is None and time.monotonic() < end:
            with lock:
                cand = [c for c in conns if c.end is None and c.pid is not None
                        and c.pid not in killed_pids and 8192 <= c.got <= size - 48 * 1024
                        and ppid_of(c.pid) == server]
            pref = [c for c in cand if c.kind == want_kind] or cand
            if pref:
                victim = random.choice(pref).pid
            else:
                time.sleep(0.005)
        if victim is None:
            bad.append("round %d: no worker in the middle of a transfer within 5 s" % r)
            break
        loc = None
        for _ in range(60 if hunt else 1):
            os.kill(victim, signal.SIGSTOP)
            if not wait_stopped(victim):
                loc = "not-stopped"
                break
            loc = where(victim)
            if loc == "control" or not hunt:
                break
            if all(c.got > size - 32 * 1024 for c in conns if c.pid == victim and
                   c.end is None):
                break  # its transfer is nearly over: now, or it ends first
            os.kill(victim, signal.SIGCONT)
            time.sleep(random.uniform(0, 0.004))
        with lock:
            live = [c for c in conns if c.pid == victim and c.end is None]
            # connections no worker has answered yet: the victim may have
            # just accepted one (the answer to its accept in flight)
            unanswered.update(c.cid for c in conns if c.pid is None and c.end is None)
        os.kill(victim, signal.SIGKILL)
        t_kill = time.monotonic()
        killed_pids.add(victim)
        if not live:  # its transfer ended while sampling: it waits in accept
            loc += " (between connections)"
        where_count[loc] = where_count.get(loc, 0) + 1
        kills.append((victim, loc, [c.cid for c in live]))
        # the killed worker's connections end, as Linux ends them
        end = time.monotonic() + 5
        while any(c.end is None for c in live) and time.monotonic() < end:
            time.sleep(0.005)
        for c in live:
            key = "%s-%s" % (c.kind, c.end)
            outcome[key] = outcome.get(key, 0) + 1
            if not c.prefix_ok:
                bad.append("round %d: conn %d of the killed worker: wrong bytes" % (r, c.cid))
            if c.kind == "F" and c.end not in ("fin", "done"):
                bad.append("round %d: conn %d (F) of the killed worker ended %s, want FIN "
                           "(%d bytes; the worker was: %s; port %d)" % (r, c.cid, c.end, c.got, loc, c.port))
            # (R "done": every byte had left before the death, and the
            # client read the last one before the RST came)
            if c.kind == "R" and c.end not in ("rst", "done"):
                bad.append("round %d: conn %d (R) of the killed worker ended %s, want a reset "
                           "(%d bytes; the worker was: %s; port %d)" % (r, c.cid, c.end, c.got, loc, c.port))
        # the others keep serving: a connection begun after the kill
        # completes, and the parent answers
        end = time.monotonic() + 10
        while time.monotonic() < end:
            with lock:
                t = [c.t_end for c in conns if c.end == "done" and c.t0 > t_kill]
            if t:
                resume.append(min(t) - t_kill)
                break
            time.sleep(0.005)
        else:
            bad.append("round %d: no connection begun after the kill completed in 10 s" % r)
            break
        try:
            stats_lat.append(stats_query(host, sport)["latency"])
        except OSError as e:
            bad.append("round %d: the parent did not answer: %r" % (r, e))
            break
    t_rounds = time.monotonic() - t_start
    stop.set()
    for t in ts:
        t.join(15)
    if any(t.is_alive() for t in ts):
        bad.append("a client thread did not finish in 15 s")
    # every connection that no kill interrupted completed with the right
    # bytes (the killed workers' earlier ones too)
    cut = set(cid for _, _, cids in kills for cid in cids)
    kinds_cut = [c.kind for c in conns if c.cid in cut]
    # accepted by a worker killed before it answered: as on Linux when a
    # process dies just after accept returned (RST: the request was unread)
    lost = [c for c in conns if c.cid in unanswered and c.pid is None and c.got == 0
            and c.end in ("rst", "fin")]
    cut.update(c.cid for c in lost)
    if lost:
        print("accepted by a worker killed before it answered: %d (%s)" % (
            len(lost), ", ".join(sorted(set(c.end for c in lost)))))
    # accepted by a worker just before its kill, after the round took its
    # snapshot of the victim's connections (seen on the kernel too): they
    # end as the killed worker's do, with FIN or RST, never short of bytes
    late = [c for c in conns if c.cid not in cut and c.pid in killed_pids and
            c.end in ("rst", "fin") and c.prefix_ok]
    cut.update(c.cid for c in late)
    if late:
        print("accepted by a worker just before its kill: %d (%s)" % (
            len(late), ", ".join(sorted(set(c.end for c in late)))))
    others = [c for c in conns if c.cid not in cut]
    for c in others:
        if c.end != "done" or not c.prefix_ok:
            bad.append("conn %d (%s, worker %s) ended %s after %d bytes%s" % (
                c.cid, c.kind, c.pid, c.end, c.got, "" if c.prefix_ok else ", wrong bytes"))
    print("%d kills in %.1f s; %d connections, %d cut by a kill; the other %d: %d "
          "complete with the right bytes" % (len(kills), t_rounds, len(conns), len(cut),
                                             len(others), sum(1 for c in others if
                                                              c.end == "done" and
                                                              c.prefix_ok)))
    print("where the killed worker was: " + ", ".join("%s %d" % kv for kv in sorted(where_count.items())))
    print("killed workers' connections: " + ", ".join(
        "%s %d" % kv for kv in sorted(outcome.items())))
    for k in ("F", "R"):
        if not any(kind == k for kind in kinds_cut):
            bad.append("no kill cut a connection of kind %s" % k)
    if resume:
        print("after each kill a new connection completed within %.0f ms (median %.0f ms)" % (
            1000 * max(resume), 1000 * sorted(resume)[len(resume) // 2]))
    if stats_lat:
        print("the parent answered after every kill: max %.0f ms, median %.0f ms" % (
            1000 * max(stats_lat), 1000 * sorted(stats_lat)[len(stats_lat) // 2]))
    if base is not None:
        t0 = time.monotonic()
        while True:
            rep = stats_query(host, sport)
            cur = rep["stats"]
            if all(cur[k] == base[k] for k in MEMORY):
                break
            if time.monotonic() - t0 > 20:
                bad.append("stack memory did not return to its baseline in 20 s: %s, "
                           "baseline %s" % (cur, base))
                break
            time.sleep(0.1)
        print("baseline %s" % json.dumps(base))
        print("after    %s (%.1f s after the clients stopped; deaths %s)" % (
            json.dumps(cur), time.monotonic() - t0, rep["deaths"]))
        if rep["deaths"]["other"]:
            bad.append("workers that died otherwise than by the test's SIGKILL: %d" %
                       rep["deaths"]["other"])
    for b in bad[:20]:
        print("BAD: " + b)
    return 0 if not bad else 1


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "serve":
        serve(int(a[2]), int(a[3]), int(a[4]), int(a[5]), a[6])
    elif a[1] == "control":
        sys.exit(control(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]), int(a[7])))
    else:
        sys.exit("usage: see the docstring")
