#!/usr/bin/python3
# shim_ifaces.py — helper of shim_ifaces.sh: prints what a program learns
# about the interfaces, in a form two runs can be compared by, line for line.
#   shim_ifaces.py dump [--attach DEV]  everything: if_nameindex and friends
#       (Python's socket module and ctypes, with errno), a getifaddrs walk
#       (fields and glibc's memory layout: each pointer's offset in the
#       block), and the SIOCGIF* ioctls on AF_INET and AF_INET6 sockets with
#       the bytes each one writes (the request is prefilled with 0xaa), for
#       good, missing and alias names.  --attach DEV first opens the TUN
#       device DEV (kernel run: it then has carrier, as under netshim).
#   shim_ifaces.py basic                the libc part of dump (no sockets)
#   shim_ifaces.py spawn basic          basic, run by a child process
#   shim_ifaces.py spawn-lost basic     the same, the child told a session
#                                       name that answers nobody
#   shim_ifaces.py fork                 basic in this process and in a fork
#                                       child: "fork: same view" when equal
#   shim_ifaces.py extras               under netshim only: refusals
#                                       (changes, unserved queries), the
#                                       statistics, a non-netshim socket
import ctypes
import errno
import fcntl
import os
import socket
import struct
import subprocess
import sys
import time

SIOC = {
    "SIOCGIFNAME": 0x8910, "SIOCGIFCONF": 0x8912, "SIOCGIFFLAGS": 0x8913,
    "SIOCGIFADDR": 0x8915, "SIOCGIFDSTADDR": 0x8917, "SIOCGIFBRDADDR": 0x8919,
    "SIOCGIFNETMASK": 0x891B, "SIOCGIFMETRIC": 0x891D, "SIOCGIFMTU": 0x8921,
    "SIOCGIFHWADDR": 0x8927, "SIOCGIFINDEX": 0x8933, "SIOCGIFTXQLEN": 0x8942,
    "SIOCGIFMAP": 0x8970,
}
IFREQ = 40  # struct ifreq on LP64: 16-byte name, 24-byte union
IFF_RUNNING = 0x40

libc = ctypes.CDLL(None, use_errno=True)


class IfAddrs(ctypes.Structure):
    pass


IfAddrs._fields_ = [
    ("ifa_next", ctypes.POINTER(IfAddrs)),
    ("ifa_name", ctypes.c_void_p),
    ("ifa_flags", ctypes.c_uint),
    ("ifa_addr", ctypes.c_void_p),
    ("ifa_netmask", ctypes.c_void_p),
    ("ifa_ifu", ctypes.c_void_p),
    ("ifa_data", ctypes.c_void_p),
]
libc.getifaddrs.argtypes = [ctypes.POINTER(ctypes.POINTER(IfAddrs))]
libc.freeifaddrs.argtypes = [ctypes.POINTER(IfAddrs)]
libc.if_nametoindex.argtypes = [ctypes.c_char_p]
libc.if_nametoindex.restype = ctypes.c_uint
libc.if_indextoname.argtypes = [ctypes.c_uint, ctypes.c_char_p]
libc.if_indextoname.restype = ctypes.c_void_p


def ename(e):
    return errno.errorcode.get(e, str(e))


def sockaddr(p):
    """A sockaddr the way a program reads it: decoded, and its raw bytes."""
    if not p:
        return "None"
    fam = struct.unpack("H", ctypes.string_at(p, 2))[0]
    if fam == socket.AF_INET:
        raw = ctypes.string_at(p, 16)
        return "in(%s) %s" % (socket.inet_ntop(socket.AF_INET, raw[4:8]), raw.hex())
    if fam == socket.AF_INET6:
        raw = ctypes.string_at(p, 28)
        scope = struct.unpack("I", raw[24:28])[0]
        return "in6(%s%%%d) %s" % (socket.inet_ntop(socket.AF_INET6, raw[8:24]), scope, raw.hex())
    if fam == socket.AF_PACKET:
        raw = ctypes.string_at(p, 20)
        proto = struct.unpack("!H", raw[2:4])[0]
        idx, hatype, pkttype, halen = struct.unpack("iHBB", raw[4:12])
        return "ll(proto=%d idx=%d hatype=%d pkttype=%d halen=%d addr=%s)" % (
            proto, idx, hatype, pkttype, halen, raw[12:12 + halen].hex())
    return "family%d %s" % (fam, ctypes.string_at(p, 16).hex())


def walk_ifaddrs():
    head = ctypes.POINTER(IfAddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        print("getifaddrs: -1 %s" % ename(ctypes.get_errno()))
        return
    base = ctypes.cast(head, ctypes.c_void_p).value
    p = head
    while p:
        e = p.contents
        off = lambda q: "-" if not q else str(q - base)  # noqa: E731
        name = ctypes.string_at(e.ifa_name).decode()
        print("getifaddrs %s flags=%#x addr=%s netmask=%s dst=%s data=%s" % (
            name, e.ifa_flags, sockaddr(e.ifa_addr), sockaddr(e.ifa_netmask),
            sockaddr(e.ifa_ifu), "yes" if e.ifa_data else "no"))
        print("  layout entry=%d name=%s addr=%s netmask=%s dst=%s data=%s" % (
            ctypes.addressof(e) - base, off(e.ifa_name), off(e.ifa_addr),
            off(e.ifa_netmask), off(e.ifa_ifu), off(e.ifa_data)))
        p = e.ifa_next
    libc.freeifaddrs(head)


def basic():
    print("if_nameindex", socket.if_nameindex())
    for name in ["lo", "ns0", "lo:1", "nope", "", "x" * 15, "x" * 16]:
        ctypes.set_errno(0)
        r = libc.if_nametoindex(name.encode())
        print("if_nametoindex %r: %d %s" % (name, r, ename(ctypes.get_errno()) if r == 0 else ""))
    for name in ["lo", "ns0"]:
        try:
            print("socket.if_nametoindex %r: %d" % (name, socket.if_nametoindex(name)))
        except OSError as e:
            print("socket.if_nametoindex %r: %s" % (name, e))
    for idx in [0, 1, 2, 3, 99]:
        try:
            print("socket.if_indextoname %d: %s" % (idx, socket.if_indextoname(idx)))
        except OSError as e:
            print("socket.if_indextoname %d: OSError %s" % (idx, ename(e.errno)))
    walk_ifaddrs()


def ioctl_ifreq(s, req, name, tail=b""):
    buf = bytearray(name + b"\0" * (16 - len(name)) if len(name) < 16 else name[:16])
    buf += tail + b"\xaa" * (IFREQ - 16 - len(tail))
    try:
        fcntl.ioctl(s.fileno(), req, buf, True)
    except OSError as e:
        return "-1 %s" % ename(e.errno)
    return "0 %s" % buf.hex()


def ifconf(s, size):
    """SIOCGIFCONF with a size-byte buffer (None: a NULL buffer)."""
    buf = ctypes.create_string_buffer(b"\xaa" * (size or 1))
    ifc = bytearray(struct.pack("@iP", 12345 if size is None else size,
                                0 if size is None else ctypes.addressof(buf)))
    try:
        fcntl.ioctl(s.fileno(), SIOC["SIOCGIFCONF"], ifc, True)
    except OSError as e:
        return "-1 %s" % ename(e.errno)
    n = struct.unpack("@iP", ifc)[0]
    ents = []
    if size is not None:
        for o in range(0, n, IFREQ):
            r = buf.raw[o:o + IFREQ]
            ents.append("%s=%s" % (r[:16].rstrip(b"\0").decode(), r.hex()))
        ents.append("after=%s" % buf.raw[n:n + 4].hex())
    return "0 len=%d %s" % (n, " ".join(ents))


def ioctls():
    names = [b"lo", b"ns0", b"nope", b"lo:1", b"ns0:x", b"", b"x" * 16]
    reqs = ["SIOCGIFADDR", "SIOCGIFDSTADDR", "SIOCGIFBRDADDR", "SIOCGIFNETMASK",
            "SIOCGIFFLAGS", "SIOCGIFMETRIC", "SIOCGIFMTU", "SIOCGIFINDEX",
            "SIOCGIFTXQLEN", "SIOCGIFMAP", "SIOCGIFHWADDR"]
    for fam, fname in [(socket.AF_INET, "inet"), (socket.AF_INET6, "inet6")]:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        for name in names:
            for req in reqs:
                print("ioctl %s %s %r: %s" % (fname, req, name, ioctl_ifreq(s, SIOC[req], name)))
        # 4.4BSD style: the caller names the address it wants
        for a in ["192.0.2.2", "192.0.2.99", "127.0.0.1"]:
            tail = struct.pack("=H2x4s8x", socket.AF_INET, socket.inet_aton(a))
            for req in ["SIOCGIFADDR", "SIOCGIFNETMASK"]:
                print("ioctl %s %s ns0 asking %s: %s" % (fname, req, a,
                                                        ioctl_ifreq(s, SIOC[req], b"ns0", tail)))
        for idx in [0, 1, 2, 3, 99, -1]:
            tail = struct.pack("i", idx)
            print("ioctl %s SIOCGIFNAME %d: %s" % (fname, idx, ioctl_ifreq(
                s, SIOC["SIOCGIFNAME"], b"\xbb" * 16, tail)))
        for size in [None, 0, 39, 40, 41, 79, 80, 200]:
            print("ioctl %s SIOCGIFCONF %s: %s" % (fname, size, ifconf(s, size)))
        s.close()


def attach(dev):
    """Open TUN device dev (as netshim does) and wait until it runs."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH14x", dev.encode(), 0x0001 | 0x1000))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.monotonic() + 10
    while True:  # linkwatch turns the carrier on within a second
        r = fcntl.ioctl(s.fileno(), SIOC["SIOCGIFFLAGS"], struct.pack("16s24x", dev.encode()))
        if struct.unpack("16sh", r[:18])[1] & IFF_RUNNING:
            break
        if time.monotonic() > end:
            sys.exit("shim_ifaces: %s not running after 10 s" % dev)
        time.sleep(0.05)
    s.close()
    return fd


def extras():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for req, name in [(0x8922, "SIOCSIFMTU"), (0x8914, "SIOCSIFFLAGS"), (0x8916, "SIOCSIFADDR"),
                      (0x890B, "SIOCADDRT"), (0x8955, "SIOCSARP"), (0x8946, "SIOCETHTOOL"),
                      (0x8B01, "SIOCGIWNAME"), (0x8935, "SIOCGIFPFLAGS")]:
        # 9000: the MTU (or flags) a change would set
        r = ioctl_ifreq(s, req, b"ns0", struct.pack("i", 9000))
        print("extra %s ns0: %s" % (name, r if r.startswith("-1") else "0"))
    try:
        fcntl.ioctl(s.fileno(), SIOC["SIOCGIFFLAGS"], 0)
        print("extra SIOCGIFFLAGS NULL: 0")
    except OSError as e:
        print("extra SIOCGIFFLAGS NULL: -1 %s" % ename(e.errno))
    head = ctypes.POINTER(IfAddrs)()
    libc.getifaddrs(ctypes.byref(head))
    p, stats = head, []
    while p:
        if p.contents.ifa_data:
            stats.append(ctypes.string_at(p.contents.ifa_data, 96))
        p = p.contents.ifa_next
    libc.freeifaddrs(head)
    print("extra statistics: %d links, all zero: %s" % (len(stats),
                                                      all(b == b"\0" * 96 for b in stats)))
    # not a netshim socket: the kernel answers, unchanged
    u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    print("extra unix SIOCGIFCONF: %s" % " ".join(
        e.split("=")[0] + "=" + socket.inet_ntoa(bytes.fromhex(e.split("=")[1])[20:24])
        for e in ifconf(u, 200).split()[2:-1]))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "dump"
    if mode == "dump":
        if len(sys.argv) > 3 and sys.argv[2] == "--attach":
            attach(sys.argv[3])
        basic()
        ioctls()
    elif mode == "basic":
        basic()
    elif mode in ("spawn", "spawn-lost"):
        sys.stdout.flush()
        env = dict(os.environ)
        if mode == "spawn-lost":
            env["NETSHIM_SESSION"] = "@netshim-0-gone"
        r = subprocess.run([sys.executable, __file__] + sys.argv[2:], env=env)
        sys.exit(r.returncode)
    elif mode == "fork":
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.dup2(w, 1)
            basic()
            sys.stdout.flush()
            os._exit(0)
        os.close(w)
        child = b""
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            child += b
        os.waitpid(pid, 0)
        sys.stdout.flush()
        rr, ww = os.pipe()
        saved = os.dup(1)
        os.dup2(ww, 1)
        basic()
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(ww)
        mine = os.read(rr, 1 << 20)
        print("fork: %s" % ("same view" if mine == child and mine else
                            "parent:\n%s\nchild:\n%s" % (mine.decode(), child.decode())))
    elif mode == "extras":
        extras()
    else:
        sys.exit("usage: shim_ifaces.py dump [--attach DEV] | basic | spawn[-lost] basic | fork | extras")


main()
