/*
 * stack.h — the public API of the netshim TCP/IP stack.
 *
 * Callers (shim/, tools/, tests/) drive the stack through this header only:
 * they hand it an arena, feed it packets and time, drain the packets it
 * emits, and use endpoints (sockets without file descriptors).  The stack
 * never reads a clock, never starts a thread and never calls malloc.
 * Errors are negative Linux errno values.
 */
#ifndef NETSHIM_STACK_H
#define NETSHIM_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct stack;

/* Time is nanoseconds on a monotonic clock chosen by the caller. */
typedef uint64_t stack_ns_t;
#define STACK_NS_NEVER UINT64_MAX
#define STACK_NS_PER_MS 1000000ull
#define STACK_NS_PER_S 1000000000ull

/* Address families, socket types and protocols use Linux's numbers, so the
 * shim passes them through unchanged, but the stack needs no socket header. */
#define STACK_AF_UNSPEC 0
#define STACK_AF_INET 2
#define STACK_AF_INET6 10
#define STACK_SOCK_STREAM 1
#define STACK_SOCK_DGRAM 2
#define STACK_IPPROTO_ICMP 1
#define STACK_IPPROTO_TCP 6
#define STACK_IPPROTO_UDP 17
#define STACK_IPPROTO_ICMPV6 58

/* An address and port, in network byte order in addr[], host order port. */
struct stack_sockaddr {
	uint16_t family;   /* STACK_AF_INET or STACK_AF_INET6 (or UNSPEC) */
	uint16_t port;     /* host byte order */
	uint32_t scope_id; /* IPv6 only */
	uint8_t addr[16];  /* IPv4 uses addr[0..3] */
};

/* ---- creation and time ------------------------------------------------ */

struct stack_config {
	uint32_t pbuf_small;     /* packet buffers of STACK_PBUF_SMALL bytes */
	uint32_t pbuf_large;     /* packet buffers big enough for any IP packet */
	uint32_t max_endpoints;  /* sockets */
	uint32_t max_timers;
	uint32_t frag_budget;    /* bytes held by IP reassembly at most */
	uint64_t seed[4];        /* random generator seed: arc4random in
	                            production, fixed in tests */
	bool tcp_no_sack;        /* Linux's net.ipv4.tcp_sack = 0: never offer
	                            or accept SACK (NewReno recovery, no tail
	                            loss probe) — a baseline for comparisons */
	bool tcp_rfc1337_off;    /* Linux's default net.ipv4.tcp_rfc1337 = 0:
	                            an in-window RST ends TIME_WAIT; by
	                            default it is ignored (RFC 1337 §3) */
	char tcp_congestion[16]; /* Linux's net.ipv4.tcp_congestion_control:
	                            what a new socket gets, "cubic", "reno" or
	                            "bbr"; "" is cubic (an unknown name makes
	                            stack_create fail) */
};

/* Fill cfg with the defaults of stack/opts.h. */
void stack_config_default(struct stack_config *cfg);
/* Bytes of arena stack_create needs for cfg. */
size_t stack_arena_size(const struct stack_config *cfg);
/* Build a stack inside mem[0..size).  mem must be 64-byte aligned.
 * Returns NULL if size is too small or cfg is invalid. */
struct stack *stack_create(void *mem, size_t size,
			   const struct stack_config *cfg, stack_ns_t now);

/* Run everything due at `now` (timers, loopback, delayed packets).
 * Returns the time at which the stack next needs stack_poll. */
stack_ns_t stack_poll(struct stack *st, stack_ns_t now);
/* The next deadline without running anything. */
stack_ns_t stack_next_deadline(const struct stack *st);

/* ---- interfaces, addresses, routes ------------------------------------ */

enum stack_if_kind {
	STACK_IF_TUN = 1,      /* packets leave through a TUN device */
	STACK_IF_MEMORY = 2,   /* packets are drained by a test */
	STACK_IF_LOOPBACK = 3, /* created by stack_create as ifindex 1 */
};

#define STACK_OFFLOAD_CSUM (1u << 0) /* link checksums for us */
#define STACK_OFFLOAD_TSO (1u << 1)  /* link segments TCP > MTU */
#define STACK_OFFLOAD_GRO (1u << 2)  /* link may hand us > MTU */

struct stack_link_info {
	uint32_t mtu;      /* bytes, the IP packet size limit */
	uint32_t offloads; /* STACK_OFFLOAD_* */
};

#define STACK_IFNAMSIZ 16
#define STACK_LOOPBACK_IFINDEX 1

/* Add an interface; returns its ifindex (>= 2) or -errno. */
int stack_if_add(struct stack *st, enum stack_if_kind kind, const char *name,
		 const struct stack_link_info *info);
int stack_if_set_mtu(struct stack *st, int ifindex, uint32_t mtu);
/* Add an address with its on-link prefix (which also adds the on-link
 * route).  family and addr[] come from a. */
int stack_addr_add(struct stack *st, int ifindex,
		   const struct stack_sockaddr *a, unsigned prefixlen);
/* Add a route: dst/prefixlen via gw (family UNSPEC = on-link). */
int stack_route_add(struct stack *st, const struct stack_sockaddr *dst,
		    unsigned prefixlen, const struct stack_sockaddr *gw,
		    int ifindex);

/* One interface as programs see it (getifaddrs, SIOCGIF*). */
#define STACK_IF_MAX_ADDRS 16 /* both families */
struct stack_if_info {
	int ifindex;
	char name[STACK_IFNAMSIZ];
	enum stack_if_kind kind;
	uint32_t mtu;
	unsigned naddr;
	struct {
		struct stack_sockaddr addr; /* family and addr[] */
		unsigned prefixlen;
	} addrs[STACK_IF_MAX_ADDRS];
};
/* The interfaces in index order (loopback first): fills out[0..max) and
 * returns how many there are. */
int stack_if_list(const struct stack *st, struct stack_if_info *out, int max);

struct stack_route_result {
	int ifindex;
	unsigned prefixlen;            /* of the route that matched */
	struct stack_sockaddr src;     /* chosen source address */
	struct stack_sockaddr nexthop; /* gateway or the destination */
	uint32_t mtu;                  /* path MTU (link or learned) */
};
/* Longest-prefix match for dst: 0 or -ENETUNREACH. */
int stack_route_lookup(struct stack *st, const struct stack_sockaddr *dst,
		       struct stack_route_result *out);

/* ---- the link side: batches of raw IP packets ------------------------ */

struct stack_pkt {
	void *data;
	size_t len; /* bytes in data (in), bytes written (out) */
	size_t cap; /* room in data (stack_link_pull) */
};

/* Packets the link received; the stack copies them.  Returns how many
 * were accepted (the rest were dropped and counted for lack of buffers). */
unsigned stack_link_input(struct stack *st, int ifindex,
			  const struct stack_pkt *pkts, unsigned n,
			  stack_ns_t now);
/* Take up to n packets the stack wants to send on ifindex.  Each pkts[i]
 * must carry a buffer of cap >= the interface MTU (a larger packet is
 * dropped and counted).  Returns how many were filled. */
unsigned stack_link_pull(struct stack *st, int ifindex, struct stack_pkt *pkts,
			 unsigned n);
/* Packets waiting in the interface's transmit queue. */
unsigned stack_link_pending(const struct stack *st, int ifindex);

/* ---- fault injection (wraps the link of an interface) ----------------- */

/* Probabilities are in parts per million; times in nanoseconds. */
struct stack_fault_dir {
	uint32_t loss_ppm;
	uint32_t dup_ppm;
	uint32_t reorder_ppm; /* packet held back and sent after the next */
	uint32_t corrupt_ppm; /* one random bit flipped */
	uint64_t delay_ns;
	uint64_t jitter_ns;   /* extra delay uniform in [0, jitter] */
	uint64_t rate_bps;    /* 0 = unlimited */
	uint64_t reorder_hold_ns; /* longest a held packet waits (0 = default) */
	uint32_t queue_limit; /* packets waiting in the fault stage (0 = default) */
};
struct stack_fault {
	struct stack_fault_dir in;  /* link -> stack */
	struct stack_fault_dir out; /* stack -> link */
};
/* Set (or with NULL, clear) the fault stage of an interface. */
int stack_if_set_fault(struct stack *st, int ifindex,
		       const struct stack_fault *f);

/* ---- endpoints ------------------------------------------------------- */

/* Readiness, with poll(2)'s bit values. */
#define STACK_EV_IN 0x001
#define STACK_EV_PRI 0x002   /* TCP urgent data waiting (MSG_OOB) */
#define STACK_EV_OUT 0x004
#define STACK_EV_ERR 0x008
#define STACK_EV_HUP 0x010
#define STACK_EV_RDHUP 0x2000

/* Message flags, Linux values. */
#define STACK_MSG_OOB 0x01
#define STACK_MSG_PEEK 0x02
#define STACK_MSG_TRUNC 0x20
#define STACK_MSG_DONTWAIT 0x40
#define STACK_MSG_EOR 0x80
#define STACK_MSG_WAITALL 0x100
#define STACK_MSG_NOSIGNAL 0x4000
#define STACK_MSG_MORE 0x8000

/* shutdown(2) */
#define STACK_SHUT_RD 0
#define STACK_SHUT_WR 1
#define STACK_SHUT_RDWR 2

/* Option levels and names, Linux values. */
#define STACK_SOL_SOCKET 1
#define STACK_SOL_IP 0
#define STACK_SOL_IPV6 41
#define STACK_SO_REUSEADDR 2
#define STACK_SO_TYPE 3
#define STACK_SO_ERROR 4
#define STACK_SO_BROADCAST 6
#define STACK_SO_SNDBUF 7
#define STACK_SO_RCVBUF 8
#define STACK_SO_KEEPALIVE 9
#define STACK_SO_OOBINLINE 10
#define STACK_SO_LINGER 13   /* struct { int l_onoff, l_linger; } */
#define STACK_SO_REUSEPORT 15
#define STACK_SO_RCVLOWAT 18
#define STACK_SO_ACCEPTCONN 30
#define STACK_SO_PROTOCOL 38
#define STACK_SO_DOMAIN 39
#define STACK_IP_TOS 1
#define STACK_IP_TTL 2
#define STACK_IP_PKTINFO 8 /* the datagram's destination, per datagram */
#define STACK_IP_RECVERR 11
#define STACK_IP_MTU_DISCOVER 10
#define STACK_IP_MTU 14
#define STACK_IPV6_UNICAST_HOPS 16
#define STACK_IPV6_MTU_DISCOVER 23
#define STACK_IPV6_MTU 24
#define STACK_IPV6_RECVERR 25
#define STACK_IPV6_V6ONLY 26
#define STACK_IPV6_RECVPKTINFO 49
#define STACK_IPV6_TCLASS 67
#define STACK_SOL_TCP 6
#define STACK_TCP_NODELAY 1
#define STACK_TCP_MAXSEG 2
#define STACK_TCP_CORK 3
#define STACK_TCP_KEEPIDLE 4
#define STACK_TCP_KEEPINTVL 5
#define STACK_TCP_KEEPCNT 6
#define STACK_TCP_SYNCNT 7
#define STACK_TCP_LINGER2 8
#define STACK_TCP_DEFER_ACCEPT 9
#define STACK_TCP_WINDOW_CLAMP 10
#define STACK_TCP_INFO 11
#define STACK_TCP_QUICKACK 12
#define STACK_TCP_CONGESTION 13 /* "cubic" (default), "reno" or "bbr" (tcp_cc.c) */
#define STACK_TCP_USER_TIMEOUT 18

/* TCP_INFO: Linux's struct tcp_info, field for field (include/uapi/linux/
 * tcp.h), so the shim copies it out unchanged.  Times in microseconds,
 * windows in segments, as Linux reports them; fields the stack does not
 * track yet are 0. */
struct stack_tcp_info {
	uint8_t state; /* Linux's TCP_ESTABLISHED = 1 ... TCP_CLOSING = 11 */
	uint8_t ca_state, retransmits, probes, backoff, options;
	uint8_t snd_wscale : 4, rcv_wscale : 4;
	uint8_t app_limited : 1, fastopen_fail : 2;
	uint32_t rto, ato, snd_mss, rcv_mss;
	uint32_t unacked, sacked, lost, retrans, fackets;
	uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
	uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
	uint32_t rcv_rtt, rcv_space, total_retrans;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	uint64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered, delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups, reord_seen, rcv_ooopack, snd_wnd;
};
#define STACK_IP_PMTUDISC_DONT 0
#define STACK_IP_PMTUDISC_WANT 1
#define STACK_IP_PMTUDISC_DO 2
#define STACK_IP_PMTUDISC_PROBE 3

/* Open an endpoint; returns a handle >= 0 or -errno.  SOCK_DGRAM is UDP,
 * SOCK_STREAM is TCP.  Every call is non-blocking: where a socket call
 * would block, the stack returns -EAGAIN (or -EINPROGRESS for a TCP
 * connect) and readiness (stack_ep_events, stack_ep_changed) says when to
 * try again; blocking, timeouts and signals are the caller's business. */
int stack_ep_open(struct stack *st, int family, int type, int protocol);
/* close(2): the handle is gone at once.  A TCP connection carries on
 * without it (sends what is queued, then FIN, TIME_WAIT), unless unread
 * data or SO_LINGER with a zero timeout make it a reset, as on Linux.
 * (A non-zero SO_LINGER timeout is the caller's to wait for before
 * closing: stack_ep_events reports STACK_EV_OUT... see stack_ep_unsent.) */
int stack_ep_close(struct stack *st, int h);
/* TCP: listen(2); backlog bounds the accept queue (and the SYN queue),
 * clamped to 4096 as net.core.somaxconn. */
int stack_ep_listen(struct stack *st, int h, int backlog);
/* TCP: a connection from the accept queue: its handle, or -EAGAIN,
 * -EINVAL (not listening).  peer may be NULL. */
int stack_ep_accept(struct stack *st, int h, struct stack_sockaddr *peer);
/* shutdown(2): STACK_SHUT_RD / WR / RDWR; -ENOTCONN when not connected. */
int stack_ep_shutdown(struct stack *st, int h, int how);
/* TCP: connections waiting in a listener's accept queue, or -EINVAL. */
int stack_ep_acceptq(struct stack *st, int h);
/* TCP: bytes written but not yet acknowledged (SIOCOUTQ), or -errno. */
int stack_ep_unsent(struct stack *st, int h);
int stack_ep_bind(struct stack *st, int h, const struct stack_sockaddr *a);
/* family STACK_AF_UNSPEC dissolves the association (UDP). */
int stack_ep_connect(struct stack *st, int h, const struct stack_sockaddr *a);
/* Returns bytes sent or -errno. */
ssize_t stack_ep_sendto(struct stack *st, int h, const struct iovec *iov,
			int iovcnt, int flags, const struct stack_sockaddr *to);
/* Returns bytes copied (or, with MSG_TRUNC, the datagram's length) or
 * -errno; *msg_flags gets STACK_MSG_TRUNC when the datagram was cut. */
ssize_t stack_ep_recvfrom(struct stack *st, int h, const struct iovec *iov,
			  int iovcnt, int flags, struct stack_sockaddr *from,
			  int *msg_flags);
/* Where a received datagram was addressed (IP_PKTINFO, IPV6_PKTINFO). */
struct stack_rcvinfo {
	struct stack_sockaddr dst; /* the header's destination, port 0 */
	int ifindex;               /* the interface it arrived on */
};
/* recvfrom, and for UDP also the datagram's destination into *info
 * (which may be NULL; TCP leaves it untouched). */
ssize_t stack_ep_recvmsg(struct stack *st, int h, const struct iovec *iov, int iovcnt,
			 int flags, struct stack_sockaddr *from, struct stack_rcvinfo *info,
			 int *msg_flags);
int stack_ep_getsockname(struct stack *st, int h, struct stack_sockaddr *a);
int stack_ep_getpeername(struct stack *st, int h, struct stack_sockaddr *a);
int stack_ep_setopt(struct stack *st, int h, int level, int name,
		    const void *val, size_t len);
int stack_ep_getopt(struct stack *st, int h, int level, int name, void *val,
		    size_t *len);
/* Current readiness (STACK_EV_*). */
unsigned stack_ep_events(struct stack *st, int h);
/* TCP connections (open or closed by their application) that still have
 * data or a FIN the peer has not acknowledged: what a process must wait
 * for before it exits if its last bytes are to arrive. */
unsigned stack_tcp_busy(struct stack *st);
/* Reset every TCP connection that stack_tcp_busy counts (RST, then
 * closed): a process leaving before its peers acknowledged everything
 * tells them so rather than leaving them half-open.  Returns how many. */
unsigned stack_tcp_abort_busy(struct stack *st);
/* Endpoints in use: open handles, connections waiting to be accepted,
 * and connections their program closed that are still finishing (not
 * those in TIME_WAIT, which keep a small record of their own:
 * stack_counters.tcp_tw_used).  A diagnostic: what a stack holds. */
unsigned stack_ep_count(const struct stack *st);
/* FIONREAD: UDP, bytes of the next datagram; TCP, bytes readable. */
int stack_ep_pending(struct stack *st, int h);
/* Handles whose readiness may have changed since the last call; each is
 * reported once.  Returns how many were written to hs[]. */
int stack_ep_changed(struct stack *st, int *hs, int max);

/* ---- counters ---------------------------------------------------------- */

/* Drop reasons, one counter each: X(name, description). */
#define STACK_DROP_REASONS(X)                                                \
	X(NOBUF, "no packet buffer free")                                    \
	X(TRUNCATED, "shorter than its headers say")                         \
	X(BAD_VERSION, "IP version field wrong")                             \
	X(BAD_HDRLEN, "header length field invalid")                         \
	X(BAD_LEN, "total/payload length invalid")                           \
	X(BAD_CSUM, "checksum mismatch")                                     \
	X(BAD_OPTIONS, "IP options malformed")                               \
	X(BAD_SRC, "source address not allowed")                             \
	X(NOT_FOR_US, "destination is not ours")                             \
	X(TTL_EXPIRED, "TTL or hop limit exhausted")                         \
	X(BAD_EXTHDR, "IPv6 extension header malformed or unknown")          \
	X(UNKNOWN_PROTO, "no handler for the protocol")                      \
	X(FRAG_BAD, "fragment malformed")                                    \
	X(FRAG_OVERLAP, "overlapping fragment (datagram discarded)")         \
	X(FRAG_BUDGET, "reassembly memory budget exhausted")                 \
	X(FRAG_TIMEOUT, "reassembly timed out")                              \
	X(FRAG_TOOBIG, "reassembled datagram too large")                     \
	X(NO_ROUTE, "no route to the destination")                           \
	X(TOO_BIG, "larger than the MTU and DF set")                         \
	X(NO_PORT, "no endpoint bound to the port")                          \
	X(RCVBUF_FULL, "endpoint receive queue full")                        \
	X(ICMP_TYPE, "ICMP type not handled")                                \
	X(ICMP_RATELIMIT, "ICMP error not sent: rate limit")                 \
	X(ICMP_NOERR, "no ICMP error for this packet (RFC 1122 3.2.2)")      \
	X(LINK_QUEUE_FULL, "transmit queue full")                            \
	X(LINK_TOO_BIG, "packet larger than the link buffer")                \
	X(FAULT_LOSS, "fault stage: lost")                                   \
	X(TCP_OUT_OF_WINDOW, "TCP segment outside the window")               \
	X(TCP_PAWS, "TCP timestamp older than TS.Recent (PAWS)")             \
	X(TCP_BAD_ACK, "TCP ACK of unsent data or bad ACK in a handshake")   \
	X(TCP_BAD_FLAGS, "TCP flags invalid for the state")                  \
	X(TCP_LISTEN_OVERFLOW, "TCP accept queue full, or no endpoint")      \
	X(TCP_OOQ_FULL, "TCP out-of-order queue: segment bound, pool dry")   \
	X(TCP_OOQ_BYTES, "TCP out-of-order queue: byte bound")               \
	X(TCP_OLD_ACK, "TCP ACK older than the window (RFC 5961 5.2)")       \
	X(TCP_RCVBUF_FULL, "TCP receive buffer full")                        \
	X(TCP_SACK_INVALID, "TCP SACK block outside what was sent")          \
	X(TCP_SACK_FULL, "TCP SACK block covering part of a record not applied (no split)") \
	X(FAULT_QUEUE, "fault stage: queue limit")

enum stack_drop {
#define STACK_DROP_ENUM(n, d) STACK_DROP_##n,
	STACK_DROP_REASONS(STACK_DROP_ENUM)
#undef STACK_DROP_ENUM
	STACK_DROP_MAX
};

enum stack_proto_ix {
	STACK_P_LINK,
	STACK_P_IP4,
	STACK_P_IP6,
	STACK_P_ICMP4,
	STACK_P_ICMP6,
	STACK_P_UDP,
	STACK_P_TCP,
	STACK_P_FRAG4,
	STACK_P_FRAG6,
	STACK_P_MAX
};

struct stack_proto_counters {
	uint64_t rx;  /* packets received by this layer */
	uint64_t tx;  /* packets sent by this layer */
	uint64_t drop[STACK_DROP_MAX];
};

struct stack_fault_counters {
	uint64_t passed, lost, duplicated, reordered, corrupted, delayed,
		queue_drops;
};

struct stack_counters {
	struct stack_proto_counters p[STACK_P_MAX];
	/* reassembly */
	uint64_t frag_reassembled, frag_created;
	/* ICMP errors we generated / received and delivered to endpoints */
	uint64_t icmp_err_sent, icmp_err_delivered;
	uint64_t pmtu_updates;
	/* TCP loss recovery: SACK-based recoveries entered (RFC 6675),
	 * NewReno ones (RFC 6582), retransmission timeouts, retransmissions
	 * found lost, tail loss probes (RFC 8985), D-SACKs received
	 * (RFC 2883), episodes undone as spurious (RFC 3522 / RFC 4015);
	 * segments RACK found lost (RFC 8985 §6.2), RACK reordering timers
	 * that fired (§6.3), segments sent without a transmission record of
	 * their own (the pool was empty) */
	uint64_t tcp_sack_recoveries, tcp_reno_recoveries, tcp_timeouts, tcp_lost_retrans,
		tcp_tlps, tcp_dsacks, tcp_undos;
	uint64_t tcp_rack_lost, tcp_rack_timers, tcp_txrec_short;
	uint64_t tcp_txrec_used; /* transmission records in use right now */
	uint64_t pbuf_small_used, pbuf_large_used; /* in use right now */
	uint64_t tcp_tw_used; /* TIME_WAIT records in use right now */
	/* TCP hardening (stack/README.md, "Hardening"), Linux's MIB names:
	 * SYN cookies sent (SyncookiesSent), ACKs that carried a valid one
	 * (SyncookiesRecv) or an invalid one (SyncookiesFailed); closes that
	 * skipped TIME_WAIT, the table being full (TCPTimeWaitOverflow);
	 * RFC 5961 challenge ACKs sent (TCPChallengeACK) and held back by the
	 * rate limits (TCPACKSkippedChallenge and the global budget). */
	uint64_t tcp_syncookies_sent, tcp_syncookies_recv, tcp_syncookies_failed;
	uint64_t tcp_tw_overflow;
	uint64_t tcp_challenge_acks, tcp_challenge_acks_limited;
	uint64_t tcp_oow_acks_limited; /* duplicate ACKs held back (below) */
};

void stack_get_counters(const struct stack *st, struct stack_counters *out);
/* Fault-stage counters of an interface, direction 0 = in, 1 = out. */
int stack_if_fault_counters(const struct stack *st, int ifindex, int dir,
			    struct stack_fault_counters *out);
const char *stack_drop_name(enum stack_drop d);
const char *stack_proto_name(enum stack_proto_ix p);

/* ---- helpers ------------------------------------------------------------ */

/* Parse "192.0.2.1" or "2001:db8::1" into a (port 0).  0 or -EINVAL. */
int stack_addr_parse(const char *s, struct stack_sockaddr *a);
/* Is name a congestion control the stack has (STACK_TCP_CONGESTION,
 * stack_config.tcp_congestion)? */
bool stack_tcp_congestion_known(const char *name);
/* Format an address (no port) into buf; returns buf. */
char *stack_addr_format(const struct stack_sockaddr *a, char *buf, size_t n);
#define STACK_ADDRSTRLEN 46

#endif
