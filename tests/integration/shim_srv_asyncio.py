#!/usr/bin/python3
# shim_srv_asyncio.py — helper of shim_asyncio.sh: asyncio programs, run
# under the shim or on the kernel side.
#
#   shim_srv_asyncio.py server PORT SECS
#       TCP echo server on 0.0.0.0:PORT and [::]:PORT (one listener per
#       family, backlog 512); prints "listening" once both are bound.  Runs
#       until SIGTERM or SECS seconds, then prints "served N connections,
#       B bytes, E errors" and exits 0 (1 when a connection failed).
#   shim_srv_asyncio.py client HOST[,HOST...] PORT CONNS MSGS
#       CONNS connections at once (spread over the HOSTs in turn), all
#       opened before any sends; then on each, MSGS messages of random
#       bytes and random size (1..32768), each echoed back whole before the
#       next; every echo compared.  60 s bound.  Prints a summary; exit 0
#       when every connection checked out, otherwise the first failures and
#       exit 1.
#   shim_srv_asyncio.py fetch URL FILE
#       urllib.request GET of URL (a name resolved by getaddrinfo); the body
#       must equal FILE.
import asyncio
import os
import random
import signal
import socket
import sys
import time
import urllib.request


def die(msg):
    print("shim_srv_asyncio: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


# ---- server ----------------------------------------------------------------
async def server(port, secs):
    stats = {"conns": 0, "bytes": 0, "errors": 0}

    async def handle(reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
                stats["bytes"] += len(data)
            stats["conns"] += 1
        except (ConnectionError, OSError) as e:
            stats["errors"] += 1
            print("server: connection error: %r" % e, file=sys.stderr, flush=True)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    s4 = await asyncio.start_server(handle, "0.0.0.0", port, backlog=512,
                                    reuse_address=True)
    s6 = await asyncio.start_server(handle, "::", port, backlog=512,
                                    reuse_address=True)
    # asyncio sets IPV6_V6ONLY on its [::] listener: two sockets, one port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # only now: a SIGTERM right after "listening" must find the handler
    print("listening", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), secs)
    except asyncio.TimeoutError:
        pass
    s4.close()
    s6.close()
    print("served %d connections, %d bytes, %d errors"
          % (stats["conns"], stats["bytes"], stats["errors"]), flush=True)
    return 1 if stats["errors"] else 0


# ---- client ----------------------------------------------------------------
async def client(hosts, port, conns, msgs):
    failures = []
    opened = 0
    all_open = asyncio.Event()
    total = {"bytes": 0, "ok": 0}
    peers = {}

    async def one(i):
        nonlocal opened
        host = hosts[i % len(hosts)]
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as e:
            failures.append("connection %d to %s: connect: %r" % (i, host, e))
            opened += 1
            if opened == conns:
                all_open.set()
            return
        peer = writer.get_extra_info("peername")[0]
        local = writer.get_extra_info("sockname")[0]
        peers[(local, peer)] = peers.get((local, peer), 0) + 1
        opened += 1
        if opened == conns:
            all_open.set()
        await all_open.wait()
        rnd = random.Random(i)
        try:
            for m in range(msgs):
                msg = os.urandom(rnd.randint(1, 32768))
                writer.write(msg)
                await writer.drain()
                got = await reader.readexactly(len(msg))
                if got != msg:
                    failures.append("connection %d to %s: message %d (%d bytes) "
                                    "echoed differently" % (i, host, m, len(msg)))
                    return
                total["bytes"] += len(msg)
            writer.write_eof()
            rest = await reader.read()
            if rest:
                failures.append("connection %d: %d bytes after the echoes" % (i, len(rest)))
                return
            total["ok"] += 1
        except (OSError, asyncio.IncompleteReadError) as e:
            failures.append("connection %d to %s: %r" % (i, host, e))
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    t0 = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(conns))), 60)
    except asyncio.TimeoutError:
        failures.append("not done within 60 s: %d of %d connections finished"
                        % (total["ok"], conns))
    dt = time.monotonic() - t0
    if failures:
        for f in failures[:10]:
            print("client: " + f, file=sys.stderr)
        die("%d of %d connections failed" % (conns - total["ok"], conns))
    print("%d connections at once, %d messages each, %d bytes echoed, %.2f s; "
          "local -> peer: %s" % (conns, msgs, total["bytes"], dt,
                                 ", ".join("%s -> %s x%d" % (a, b, n)
                                           for (a, b), n in sorted(peers.items()))))
    return 0


# ---- fetch ---------------------------------------------------------------------
def fetch(url, path):
    with open(path, "rb") as f:
        want = f.read()
    with urllib.request.urlopen(url, timeout=20) as r:
        body = r.read()
        status = r.status
    if status != 200 or body != want:
        die("%s: status %d, %d bytes (want 200, the %d bytes of %s)"
            % (url, status, len(body), len(want), path))
    print("%s: 200, %d bytes" % (url, len(body)))
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "server":
        return asyncio.run(server(int(a[1]), float(a[2])))
    if len(a) == 5 and a[0] == "client":
        return asyncio.run(client(a[1].split(","), int(a[2]), int(a[3]), int(a[4])))
    if len(a) == 3 and a[0] == "fetch":
        return fetch(a[1], a[2])
    die("usage: server PORT SECS | client HOSTS PORT CONNS MSGS | fetch URL FILE")


sys.exit(main())
