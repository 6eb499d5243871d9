/*
 * opts.h — every limit and default of the stack, in one place.
 * Each names its reason and, where it mirrors Linux, the sysctl it mirrors.
 */
#ifndef NETSHIM_OPTS_H
#define NETSHIM_OPTS_H

/* Packet buffers.  Headroom lets each layer prepend its header without a
 * copy: IPv6 (40) + fragment header (8) + TCP with options (60), rounded. */
#define OPT_PBUF_HEADROOM 128
/* A small buffer holds one MTU-sized packet of an Ethernet-like link. */
#define OPT_PBUF_SMALL_DATA 2048
/* A large buffer holds the largest IP packet: an IPv6 packet with a
 * 65 535-byte payload is 65 575 bytes (RFC 8200 §3). */
#define OPT_IP_MAX_PACKET 65575
#define OPT_PBUF_LARGE_DATA (OPT_IP_MAX_PACKET + OPT_PBUF_HEADROOM)
#define OPT_PBUF_SMALL_COUNT 2048
#define OPT_PBUF_LARGE_COUNT 48

#define OPT_MAX_ENDPOINTS 1024
#define OPT_MAX_IFACES 8
#define OPT_MAX_ADDRS 8   /* per interface and family */
#define OPT_MAX_ROUTES 64

/* Transmit queue per interface, in packets (Linux txqueuelen 1000). */
#define OPT_TXQ_LIMIT 1000
/* Loopback packets handled in one stack_poll before yielding. */
#define OPT_LOOPBACK_BUDGET 4096

/* Link MTU bounds: IPv4 needs 68 (RFC 791), IPv6 1280 (RFC 8200 §5). */
#define OPT_MTU_MIN 68
#define OPT_MTU_MAX 65535
#define OPT_MTU_DEFAULT 1500
#define OPT_LOOPBACK_MTU 65536 /* Linux lo */

/* IP defaults: net.ipv4.ip_default_ttl, net.ipv6.conf.*.hop_limit. */
#define OPT_IP_TTL 64
#define OPT_IP6_HOPLIMIT 64

/* Path MTU cache: net.ipv4.route.min_pmtu 552, mtu_expires 600 s. */
#define OPT_PMTU_ENTRIES 64
#define OPT_PMTU_MIN4 552
#define OPT_PMTU_MIN6 1280
#define OPT_PMTU_EXPIRE_NS (600ull * 1000000000ull)

/* Reassembly: net.ipv4.ipfrag_high_thresh 4 MiB, ipfrag_time 30 s;
 * IPv6 waits 60 s (RFC 8200 §4.5, net.ipv6.ip6frag_time). */
#define OPT_FRAG_BUDGET (4u << 20)
#define OPT_FRAG_QUEUES 64 /* datagrams being reassembled at once */
#define OPT_FRAG4_TIMEOUT_NS (30ull * 1000000000ull)
#define OPT_FRAG6_TIMEOUT_NS (60ull * 1000000000ull)

/* ICMP errors: net.ipv4.icmp_msgs_per_sec 1000, icmp_msgs_burst 50. */
#define OPT_ICMP_RATE_PER_S 1000
#define OPT_ICMP_BURST 50
/* And per destination, as Linux's inet_peer limit: one error each
 * net.ipv4.icmp_ratelimit / net.ipv6.icmp.ratelimit (1000 ms), bursts of
 * XRLIM_BURST_FACTOR 6; IPv6 divides the interval for wide routes.  The
 * table is bounded; the least recently used peer is forgotten. */
#define OPT_ICMP_PEER_INTERVAL_NS (1000ull * 1000000ull)
#define OPT_ICMP_PEER_BURST 6
#define OPT_ICMP_PEERS 64

/* UDP socket buffers: net.core.rmem_default / wmem_default 212992,
 * rmem_max / wmem_max 212992; SO_RCVBUF doubles the value asked for and
 * never goes below SOCK_MIN_RCVBUF 2304 (SOCK_MIN_SNDBUF 4608). */
#define OPT_RMEM_DEFAULT 212992
#define OPT_WMEM_DEFAULT 212992
#define OPT_RMEM_MAX 212992
#define OPT_WMEM_MAX 212992
#define OPT_RCVBUF_MIN 2304
#define OPT_SNDBUF_MIN 4608

/* Ephemeral ports: net.ipv4.ip_local_port_range 32768 60999. */
#define OPT_EPHEMERAL_LO 32768
#define OPT_EPHEMERAL_HI 60999

/* Largest UDP payload: 65535 - 20 - 8 over IPv4, 65535 - 8 over IPv6. */
#define OPT_UDP4_MAX_PAYLOAD 65507
#define OPT_UDP6_MAX_PAYLOAD 65527

/* ---- TCP ---------------------------------------------------------------
 * Buffers: net.ipv4.tcp_rmem 4096 131072 6291456, tcp_wmem 4096 16384
 * 4194304; receive auto-tuning grows the buffer up to the maximum unless the
 * program set SO_RCVBUF.  The window scale follows from the maximum (7). */
#define OPT_TCP_RMEM_DEFAULT 131072
#define OPT_TCP_RMEM_MAX 6291456
#define OPT_TCP_WMEM_DEFAULT 16384
#define OPT_TCP_WMEM_MAX 4194304
#define OPT_TCP_RCV_WSCALE 7
/* Send buffers may not take the last half of the small-buffer pool: it
 * stays for arriving packets, ACKs above all, which free the send buffers
 * — otherwise senders could starve the receive path for good — and for
 * the receive windows, which share what is free: with a quarter, a bulk
 * sender on loopback left its own receiver windows below one MSS. */
#define OPT_PBUF_RX_RESERVE_DIV 2
/* ...but, like Linux's tcp_wmem[0], each socket may always queue this much
 * to send (when a buffer is free at all): a server whose peers filled the
 * pool with data it has not read yet can still answer, and so read on. */
#define OPT_TCP_WMEM_MIN 4096
/* Receive windows never promise the last eighth of the small-buffer pool:
 * it is what those minimum send queues draw on.  Without it, 200 peers
 * whose data an echo server had not read yet took every buffer. */
#define OPT_PBUF_TX_RESERVE_DIV 8
/* Payload a small packet buffer carries for TCP (an Ethernet-MTU segment);
 * used to turn free buffers into bytes a window may promise. */
#define OPT_TCP_PBUF_PAYLOAD 1448
/* Transmission records (tcp_sack.c): one per segment in flight, from a
 * pool of this many per small packet buffer (send data lives in those:
 * about 1.4 full segments each), plus one in every tcb.  An empty pool
 * costs precision, never data (tcp.txrec_short counts it). */
#define OPT_TCP_TXRECS_PER_PBUF 2
/* RACK (RFC 8985): min_RTT is the minimum over this window (Linux
 * tcp_min_rtt_wlen 300 s); the reordering window grows by min_RTT/4 per
 * round with D-SACKs up to this many times (Linux caps its steps at 255,
 * and the window at SRTT) and decays after 16 recoveries without. */
#define OPT_TCP_MIN_RTT_WIN_NS (300ull * 1000000000ull)
#define OPT_TCP_RACK_REO_MULT_MAX 255
#define OPT_TCP_RACK_REO_PERSIST 16
/* RFC 6675 DupThresh (RFC 5681's three duplicate ACKs). */
#define OPT_TCP_DUPTHRESH 3
/* Tail loss probe (RFC 8985 §7.2): PTO = 2 SRTT, plus the peer's
 * worst-case delayed ACK when one segment is in flight, at least 10 ms. */
#define OPT_TCP_TLP_MIN_US 10000u
#define OPT_TCP_TLP_DELACK_US 200000u
/* Out-of-order queue per connection, two bounds (stack/README.md,
 * "Hardening"): segments held, which bounds the packet buffers a peer can
 * pin with tiny segments scattered over the window (512 x 2 KiB), and
 * payload bytes held, which bounds what large segments (loopback, GRO)
 * pin in the large pool.  Linux has one bound, the truesize of the
 * receive and out-of-order queues against SO_RCVBUF (tcp_try_rmem_schedule).
 * Over either bound the segments with the highest sequence numbers go,
 * down to the one just arrived (Linux tcp_prune_ofo_queue); counted as
 * drops TCP_OOQ_FULL and TCP_OOQ_BYTES. */
#define OPT_TCP_OOQ_SEGS 512
#define OPT_TCP_OOQ_BYTES (1u << 20)
/* A listener's SYN queue holds at most this fraction of the endpoint
 * table (half-open children are whole endpoints here); beyond, SYN
 * cookies — so a flood leaves endpoints for the connections they make. */
#define OPT_TCP_SYNQ_EP_DIV 4
/* The congestion control a new socket gets (Linux's default: cubic). */
#define OPT_TCP_CC TCP_CC_CUBIC
/* MSS assumed when the peer sends none (RFC 9293 §3.7.1, RFC 8200 §5). */
#define OPT_TCP_DEFAULT_MSS4 536
#define OPT_TCP_DEFAULT_MSS6 1220
/* RTO: RFC 6298 with Linux's TCP_RTO_MIN 200 ms floor, TCP_RTO_MAX 120 s,
 * TCP_TIMEOUT_INIT 1 s. */
#define OPT_TCP_RTO_MIN_US 200000u
#define OPT_TCP_RTO_MAX_US 120000000u
#define OPT_TCP_RTO_INIT_US 1000000u
/* Retries: net.ipv4.tcp_syn_retries 6, tcp_synack_retries 5, tcp_retries2 15. */
#define OPT_TCP_SYN_RETRIES 6
#define OPT_TCP_SYNACK_RETRIES 5
#define OPT_TCP_RETRIES2 15
/* Initial window 10 segments (RFC 6928). */
#define OPT_TCP_INIT_CWND 10
/* Delayed ACK: TCP_ATO_MIN 40 ms, TCP_DELACK_MAX 200 ms, up to 16 quick
 * ACKs at the start (TCP_MAX_QUICKACKS). */
#define OPT_TCP_ATO_MIN_US 40000u
#define OPT_TCP_DELACK_MAX_US 200000u
#define OPT_TCP_MAX_QUICKACKS 16
/* TIME_WAIT 60 s (TCP_TIMEWAIT_LEN), FIN_WAIT_2 60 s (tcp_fin_timeout);
 * the TIME_WAIT table is bounded (tcp_max_tw_buckets, scaled down): when
 * it is full a closing connection skips TIME_WAIT and is gone at once, as
 * on Linux; counted in tcp_tw_overflow (TCPTimeWaitOverflow). */
#define OPT_TCP_TIMEWAIT_NS (60ull * 1000000000ull)
#define OPT_TCP_FIN_TIMEOUT_S 60
#define OPT_TCP_TW_MAX 4096
/* Keepalive: tcp_keepalive_time 7200 s, _intvl 75 s, _probes 9. */
#define OPT_TCP_KEEPIDLE_S 7200
#define OPT_TCP_KEEPINTVL_S 75
#define OPT_TCP_KEEPCNT 9
/* listen(2) backlog cap: net.core.somaxconn 4096.  The backlog bounds
 * both queues of a listener, as Linux's: the accept queue holds backlog + 1
 * connections (sk_acceptq_is_full; a SYN that finds it full is dropped,
 * TCP_LISTEN_OVERFLOW), the SYN queue backlog embryonic ones
 * (inet_csk_reqsk_queue_is_full); a SYN that finds the SYN queue full, or
 * no endpoint free, is answered with a SYN cookie. */
#define OPT_TCP_SOMAXCONN 4096
/* SYN cookies (RFC 4987 §3.6, Linux net.ipv4.tcp_syncookies=1,
 * net/ipv4/syncookies.c): the cookie's counter ticks every 60 s
 * (TCP_SYNCOOKIE_PERIOD) and a cookie is good for the tick it was made in
 * and the next (MAX_SYNCOOKIE_AGE 2); a listener tries an ACK as a cookie
 * only while it has sent one within those two ticks
 * (tcp_synq_no_recent_overflow).  Counted in tcp_syncookies_sent, _recv,
 * _failed. */
#define OPT_TCP_COOKIE_PERIOD_NS (60ull * 1000000000ull)
#define OPT_TCP_COOKIE_MAX_AGE 2
/* RFC 5961 §7 challenge ACKs (for an in-window RST that is not exact, a
 * SYN on a synchronized connection, an ACK older than the window): one per
 * connection each 500 ms (net.ipv4.tcp_invalid_ratelimit,
 * __tcp_oow_rate_limited), and for the whole stack a budget each second
 * drawn between half and one and a half times 1000
 * (net.ipv4.tcp_challenge_ack_limit as Linux 4.7-5.19 had it, randomised
 * against CVE-2016-5696; Linux 6.0 turned the global budget off by
 * default).  Those held back: tcp_challenge_acks_limited. */
#define OPT_TCP_INVALID_RATELIMIT_NS (500ull * 1000000ull)
#define OPT_TCP_CHALLENGE_ACK_LIMIT 1000
/* tcp(7): corked output goes out after at most 200 ms. */
#define OPT_TCP_CORK_CEILING_NS (200ull * 1000000ull)
/* RFC 6298 §5.7 / Linux TCP_TIMEOUT_FALLBACK: RTO after a handshake whose
 * SYN or SYN-ACK was retransmitted and gave no RTT sample. */
#define OPT_TCP_RTO_FALLBACK_US 3000000u
#define OPT_TCP_HASH 1024   /* connection hash buckets */

/* Fault stage: packets it may hold per direction, and how long a packet
 * held back for reordering waits for a successor before it goes anyway. */
#define OPT_FAULT_QUEUE_LIMIT 10000
#define OPT_FAULT_REORDER_HOLD_NS (10ull * 1000000ull)

#endif
