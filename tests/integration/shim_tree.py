#!/usr/bin/python3
"""shim_tree.py — helpers of shim_tree.sh.

  inetd PORT N CMD...   under netshim: accept N connections; for each, fork
                        a child that puts the socket on its stdin and stdout
                        and execs CMD (an inetd-style handoff); reap it
  sink PORT FILE        kernel side: accept one connection, write all it
                        sends to FILE until end of file, print the byte count
  send HOST PORT FILE   kernel side: connect, send FILE, shut down writing,
                        print the sha256 of everything read back
  talk HOST PORT TEXT   kernel side: connect, send TEXT, shut down writing,
                        print what came back (repr)
  orphan OUT            under netshim: listen on 127.0.0.1, fork a child
                        that blocks in accept; the parent (the owner)
                        prints its pid and waits to be killed.  The child
                        writes to OUT how accept ended, then how socket()
                        and getsockname on the listener do afterwards
"""
import errno
import hashlib
import os
import socket
import sys
import time


def inetd(port, n, cmd):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(8)
    print("ready", flush=True)
    for _ in range(n):
        c, _peer = ls.accept()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(c.fileno(), 0)
                os.dup2(c.fileno(), 1)
                c.close()
                ls.close()
                os.execvp(cmd[0], cmd)
            finally:
                os._exit(127)
        c.close()
        _, st = os.waitpid(pid, 0)
        if st != 0:
            print("child exit status %d" % st, flush=True)
    return 0


def sink(port, path):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    ls.settimeout(60)
    c, _ = ls.accept()
    c.settimeout(60)
    n = 0
    with open(path, "wb") as f:
        while True:
            b = c.recv(65536)
            if not b:
                break
            f.write(b)
            n += len(b)
    print(n, flush=True)
    return 0


def send(host, port, path):
    c = socket.create_connection((host, port), timeout=30)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        data = f.read()
    # send and read together: the echo must not fill both windows
    import threading
    err = []

    def writer():
        try:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)
    t = threading.Thread(target=writer)
    t.start()
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
    t.join()
    if err:
        print("send failed: %r" % err[0])
        return 1
    print(h.hexdigest())
    return 0


def talk(host, port, text):
    c = socket.create_connection((host, port), timeout=30)
    c.sendall(text.encode().decode("unicode_escape").encode())
    c.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        out += b
    print(repr(out))
    return 0


def orphan(out):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    pid = os.fork()
    if pid == 0:
        res = []
        try:
            ls.accept()
            res.append("accept returned")
        except OSError as e:
            res.append("accept %s" % errno.errorcode.get(e.errno, e.errno))
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            res.append("socket ok")
        except OSError as e:
            res.append("socket %s" % errno.errorcode.get(e.errno, e.errno))
        try:
            ls.getsockname()
            res.append("getsockname ok")
        except OSError as e:
            res.append("getsockname %s" % errno.errorcode.get(e.errno, e.errno))
        with open(out, "w") as f:
            f.write(" ".join(res) + "\n")
        os._exit(0)
    print(os.getpid(), pid, flush=True)
    time.sleep(60)
    return 0


def main():
    a = sys.argv[1:]
    if a[0] == "inetd":
        return inetd(int(a[1]), int(a[2]), a[3:])
    if a[0] == "sink":
        return sink(int(a[1]), a[2])
    if a[0] == "send":
        return send(a[1], int(a[2]), a[3])
    if a[0] == "talk":
        return talk(a[1], int(a[2]), a[3])
    if a[0] == "orphan":
        return orphan(a[1])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
