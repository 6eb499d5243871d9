#!/usr/bin/python3
# shim_srv_iperf3.py — helper of shim_iperf3.sh: checks one iperf3 -J
# client report.
#   shim_srv_iperf3.py FILE tcp|udp STREAMS LOCAL REMOTE
# The report must parse, hold no "error" key, show STREAMS streams, each
# connected from LOCAL to REMOTE (the addresses iperf3 saw: getsockname
# and getpeername), and byte counts > 0 on both the sending and the
# receiving side (TCP: end.sum_sent / end.sum_received; UDP: also
# end.sum's packets and lost_percent, which must be reported, and fewer
# than all packets lost).  Prints one summary line; exit 0 when all holds,
# otherwise a message and exit 1.
import json
import sys


def die(msg):
    print("shim_srv_iperf3: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def main():
    path, kind, streams, local, remote = sys.argv[1:6]
    streams = int(streams)
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        die("%s: not an iperf3 JSON report: %s" % (path, e))
    if "error" in d:
        die("iperf3 reported an error: %s" % d["error"])
    conns = d.get("start", {}).get("connected", [])
    if len(conns) != streams:
        die("%d streams connected, want %d" % (len(conns), streams))
    for c in conns:
        if c.get("local_host") != local or c.get("remote_host") != remote:
            die("a stream runs %s -> %s, want %s -> %s"
                % (c.get("local_host"), c.get("remote_host"), local, remote))
    end = d.get("end", {})
    sent = end.get("sum_sent", {}).get("bytes", 0)
    rcvd = end.get("sum_received", {}).get("bytes", 0)
    if not sent > 0 or not rcvd > 0:
        die("bytes sent %s, received %s: want both > 0" % (sent, rcvd))
    secs = end.get("sum_received", {}).get("seconds", 0) or 1
    mbit = rcvd * 8 / secs / 1e6
    if kind == "tcp":
        if rcvd > sent:
            die("received %d bytes, more than the %d sent" % (rcvd, sent))
        cong = end.get("sender_tcp_congestion", "?")
        print("%d stream(s), %.1f MB sent, %.1f MB received, %.0f Mbit/s, "
              "sender congestion control %s, %d retransmits"
              % (streams, sent / 1e6, rcvd / 1e6, mbit, cong,
                 end.get("sum_sent", {}).get("retransmits", 0)))
        return
    s = end.get("sum", {})
    if "lost_percent" not in s or "packets" not in s:
        die("no lost_percent/packets in the UDP summary: %s" % s)
    if not s["packets"] > 0 or s.get("lost_packets", 0) >= s["packets"]:
        die("UDP: %s of %s packets lost" % (s.get("lost_packets"), s["packets"]))
    print("UDP, %.1f MB received, %.0f Mbit/s, %d packets, %d lost (%.2f%%), "
          "jitter %.3f ms" % (rcvd / 1e6, mbit, s["packets"],
                              s.get("lost_packets", 0), s["lost_percent"],
                              s.get("jitter_ms", 0)))


main()
