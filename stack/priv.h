/*
 * priv.h — the stack's private state and the calls between its modules.
 * Only the files in stack/ and the unit tests include this.  Everything reachable from
 * struct stack lives in the arena: no pointers outside it, no function
 * pointers (see ../shared/DESIGN.md, "One stack per session").
 */
#ifndef NETSHIM_PRIV_H
#define NETSHIM_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/cdefs.h>
#include <sys/queue.h>
#include <sys/tree.h>

#ifndef __unused /* used by libbsd's tree.h */
#define __unused __attribute__((__unused__))
#endif

#include "opts.h"
#include "stack.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* ---- packet buffers (pbuf.c) ------------------------------------------ */

enum pbuf_class { PBUF_SMALL, PBUF_LARGE, PBUF_NCLASS };

/* Addresses a received datagram carries up to its endpoint. */
struct pbuf_meta {
	struct stack_sockaddr src, dst; /* IP addresses and transport ports */
	int ifindex;                    /* arrival interface */
};

/* One packet in contiguous storage: data is buf[off .. off+len), with
 * buf[0 .. off) free as headroom.  A pbuf sits in at most one queue at a
 * time (the `next` field belongs to whoever queued it); refcnt counts
 * holders, the last pbuf_free returns it to its pool. */
struct pbuf {
	STAILQ_ENTRY(pbuf) next;
	uint32_t cap;     /* bytes of buf */
	uint32_t off;     /* start of data */
	uint32_t len;     /* bytes of data */
	uint16_t refcnt;
	uint8_t cls;      /* enum pbuf_class */
	uint8_t flags;
	uint16_t nh;      /* offset of the network header from data start */
	uint16_t th;      /* offset of the transport header from data start */
	stack_ns_t t;     /* a time its current holder needs (fault, frag) */
	struct pbuf_meta meta;
	uint8_t buf[];
};
STAILQ_HEAD(pbufq, pbuf);

#define PBUF_F_LOOPED 0x01 /* came in on loopback: checksums trusted */

struct pbuf *pbuf_alloc(struct stack *st, size_t len);
struct pbuf *pbuf_alloc_class(struct stack *st, enum pbuf_class c);
void pbuf_free(struct stack *st, struct pbuf *p);
void pbuf_ref(struct pbuf *p);
struct pbuf *pbuf_copy(struct stack *st, const struct pbuf *p);
void pbuf_freeq(struct stack *st, struct pbufq *q);
static inline uint8_t *pbuf_data(struct pbuf *p) { return p->buf + p->off; }
/* Prepend n header bytes (NULL if no headroom). */
uint8_t *pbuf_push(struct pbuf *p, size_t n);
/* Drop n bytes from the front. */
void pbuf_pull(struct pbuf *p, size_t n);
/* Cut the data to len bytes (len <= p->len). */
void pbuf_trim(struct pbuf *p, size_t len);
/* Room after the data. */
static inline size_t pbuf_tailroom(const struct pbuf *p) { return p->cap - p->off - p->len; }
size_t pbuf_class_data(enum pbuf_class c);

/* ---- checksum (cksum.c), RFC 1071 and RFC 1624 ---------------------- */

uint32_t cksum_add(uint32_t sum, const void *data, size_t len);
uint16_t cksum_fold(uint32_t sum);
/* Finish: one's complement of the folded sum. */
static inline uint16_t cksum_finish(uint32_t sum) { return (uint16_t)~cksum_fold(sum); }
/* Pseudo-header sums (RFC 768, RFC 8200 §8.1). */
uint32_t cksum_pseudo(int family, const uint8_t *src, const uint8_t *dst,
		      uint8_t proto, uint32_t len);
/* RFC 1624 eqn. 3: new checksum when a 16-bit field changes old -> new. */
uint16_t cksum_update16(uint16_t cksum, uint16_t old, uint16_t new_);

/* ---- random (rand.c): xoshiro256** with state in the stack ----------- */

/* SipHash-2-4 of data under a 128-bit key (siphash.c). */
uint64_t siphash24(const uint64_t key[2], const void *data, size_t len);
uint64_t rand_u64(struct stack *st);
uint32_t rand_u32(struct stack *st);
/* Uniform in [0, n). */
uint32_t rand_below(struct stack *st, uint32_t n);
/* True with probability ppm / 1e6. */
bool rand_ppm(struct stack *st, uint32_t ppm);

/* ---- timers (timer.c) ------------------------------------------------- */

/* Timer handlers are chosen by kind, an index into a per-process table,
 * so the arena holds no function pointers (STYLE.md 8). */
enum timer_kind {
	TIMER_FRAG,      /* reassembly timeout, struct frag_queue */
	TIMER_FAULT_IN,  /* fault stage release, struct iface */
	TIMER_FAULT_OUT,
	TIMER_TCP_REXMIT,  /* struct tcb */
	TIMER_TCP_DELACK,
	TIMER_TCP_KEEP,
	TIMER_TCP_TW,      /* struct tcp_tw */
	TIMER_TCP_CORK,
	TIMER_NKINDS
};

struct timer {
	RB_ENTRY(timer) rb;
	stack_ns_t when;
	uint64_t seq;   /* orders equal deadlines by arming order */
	uint8_t kind;
	uint8_t armed;
};
RB_HEAD(timer_tree, timer);

void timer_init(struct timer *t, enum timer_kind kind);
void timer_arm(struct stack *st, struct timer *t, stack_ns_t when);
void timer_cancel(struct stack *st, struct timer *t);
/* Run every timer due at st->now. */
void timer_run(struct stack *st);
stack_ns_t timer_next(const struct stack *st);

/* ---- interfaces and routes (iface.c, route.c) ---------------------- */

struct ifaddr {
	uint8_t family; /* 0 = unused slot */
	uint8_t plen;
	uint8_t addr[16];
};

struct fault_dir {
	struct stack_fault_dir cfg;
	struct pbufq q;          /* waiting, ordered by release time p->t */
	uint32_t qlen;
	struct pbuf *held;       /* held back to be reordered */
	stack_ns_t held_until;
	stack_ns_t link_free_at; /* rate limit: when the last packet left */
	struct timer timer;
	struct stack_fault_counters ctr;
};

struct iface {
	uint8_t used;
	uint8_t kind;            /* enum stack_if_kind */
	uint8_t has_fault;
	int index;
	char name[STACK_IFNAMSIZ];
	uint32_t mtu;
	uint32_t offloads;
	struct ifaddr addr4[OPT_MAX_ADDRS];
	struct ifaddr addr6[OPT_MAX_ADDRS];
	struct pbufq txq;        /* for the link to pull */
	uint32_t txq_len;
	struct fault_dir fault[2]; /* 0 = in, 1 = out */
};

struct route {
	uint8_t used;
	uint8_t family;
	uint8_t plen;
	uint8_t has_gw;
	uint8_t dst[16];
	uint8_t gw[16];
	int ifindex;
};

struct pmtu_entry {
	uint8_t family;
	uint8_t addr[16];
	uint32_t mtu;
	stack_ns_t expires;
};

struct iface *iface_get(struct stack *st, int ifindex);
/* The interface owning addr, or NULL. */
struct iface *iface_by_addr(struct stack *st, int family, const uint8_t *addr);
bool addr_is_local(struct stack *st, int family, const uint8_t *addr);
/* IPv4 limited or directed broadcast of one of our prefixes. */
bool addr4_is_broadcast(struct stack *st, const uint8_t *addr);
/* Hand a finished IP packet to an interface (fault stage, then txq or
 * loopback).  Consumes p. */
/* Returns 0, or -ENOBUFS when the transmit queue was full (p dropped). */
int iface_output(struct stack *st, struct iface *ifp, struct pbuf *p);
/* A packet arrived from a link (after the fault stage).  Consumes p. */
void iface_input(struct stack *st, struct iface *ifp, struct pbuf *p);
/* Put p on the interface's transmit queue (or loopback).  Consumes p. */
int iface_deliver_tx(struct stack *st, struct iface *ifp, struct pbuf *p);

int route_lookup(struct stack *st, int family, const uint8_t *dst,
		 struct stack_route_result *out);
uint32_t pmtu_get(struct stack *st, int family, const uint8_t *dst,
		  uint32_t link_mtu);
/* Learned from ICMP Frag-Needed / Packet Too Big; returns the new MTU. */
uint32_t pmtu_update(struct stack *st, int family, const uint8_t *dst,
		     uint32_t mtu);

/* ---- fault stage (fault.c) -------------------------------------------- */

/* Pass p through the fault stage of ifp in direction dir (0 in, 1 out).
 * Consumes p: it is dropped, delayed, held or passed on right away. */
void fault_stage(struct stack *st, struct iface *ifp, int dir, struct pbuf *p);
void fault_timer(struct stack *st, struct timer *t);
/* Drop everything the fault stage holds (reconfiguration). */
void fault_flush(struct stack *st, struct iface *ifp);

/* ---- IP (ip4.c, ip6.c) -------------------------------------------------- */

/* What a transport asks of the IP layer when it sends. */
struct ip_tx {
	uint8_t family;
	uint8_t proto;
	uint8_t tos;       /* IPv4 TOS / IPv6 traffic class */
	uint8_t pmtudisc;  /* STACK_IP_PMTUDISC_* */
	int ttl;           /* -1 = default */
	const uint8_t *src;
	const uint8_t *dst;
	/* The route, when the caller already looked it up (to choose src for
	 * a pseudo-header checksum); NULL = look it up. */
	const struct stack_route_result *rt;
};

/* Add the IP header to a transport segment and send it (fragmenting when
 * allowed).  Consumes p.  Returns 0 or -errno (-EMSGSIZE, -ENETUNREACH). */
int ip_output(struct stack *st, struct pbuf *p, const struct ip_tx *tx);
void ip4_input(struct stack *st, struct iface *ifp, struct pbuf *p);
void ip6_input(struct stack *st, struct iface *ifp, struct pbuf *p);
int ip4_output(struct stack *st, struct pbuf *p, const struct ip_tx *tx);
int ip6_output(struct stack *st, struct pbuf *p, const struct ip_tx *tx);
/* Offset of the upper-layer header after IPv6 extension headers (see
 * ip6.c), or 0. */
size_t ip6_skip_ext(const uint8_t *h, size_t len, size_t off, uint8_t nxt, uint8_t *proto);
/* Largest transport payload a single IP datagram can carry. */
size_t ip_max_payload(int family);

/* ---- fragments (frag.c): RFC 791 §3.2, RFC 815, RFC 8200 §4.5, RFC 5722 */

/* Key of a datagram being reassembled. */
struct frag_key {
	uint8_t family;
	uint8_t proto;    /* IPv4 protocol; IPv6: 0 (not part of the key) */
	uint32_t id;
	uint8_t src[16];
	uint8_t dst[16];
};

struct frag_queue {
	uint8_t used;
	uint8_t have_last;  /* the fragment with MF=0 arrived */
	uint8_t have_first; /* the fragment at offset 0 arrived */
	struct frag_key key;
	uint32_t total;     /* payload length once have_last */
	uint32_t received;  /* payload bytes held */
	uint32_t mem;       /* bytes of pbufs charged to the budget */
	int ifindex;
	struct pbufq frags; /* sorted by offset (kept in p->th, payload start
	                       in p->nh); the head is the offset-0 fragment
	                       once it arrived, quoted by ICMP on timeout */
	struct timer timer;
};

/* Reassembly input.  p's data starts at the IP header; frag_off is the
 * payload offset in bytes, more is the MF flag; unfrag_len is the length of
 * the part that is not fragmented (IPv4 header / IPv6 header with the
 * extension headers before the fragment header), payload is the offset of
 * the fragment's payload within p's data.  Consumes p.  Returns the
 * reassembled packet (IP header(s) with the total length fixed up, and
 * for IPv6 the fragment header removed), or NULL when incomplete or
 * dropped. */
struct pbuf *frag_input(struct stack *st, struct pbuf *p,
			const struct frag_key *key, uint32_t frag_off, bool more,
			size_t unfrag_len, size_t payload);
void frag_timer(struct stack *st, struct timer *t);
/* Bytes currently charged to reassembly. */
uint32_t frag_mem(const struct stack *st);

/* ---- ICMP (icmp4.c, icmp6.c) ----------------------------------------- */

void icmp4_input(struct stack *st, struct iface *ifp, struct pbuf *p);
void icmp6_input(struct stack *st, struct iface *ifp, struct pbuf *p);
/* Send an ICMP error about packet p (data at its IP header), obeying
 * RFC 1122 §3.2.2 / RFC 4443 §2.4 and the rate limit.  Does not consume p. */
void icmp4_error(struct stack *st, struct pbuf *p, uint8_t type, uint8_t code,
		 uint32_t info);
void icmp6_error(struct stack *st, struct pbuf *p, uint8_t type, uint8_t code,
		 uint32_t info);
/* May an ICMP error go to dst over route rt?  The global bucket, then the
 * destination's own (not for loopback). */
bool icmp_ratelimit_ok(struct stack *st, int family, const uint8_t *dst,
		       const struct stack_route_result *rt);

/* An ICMP error concerning a packet we sent: the transport gets the
 * quoted addresses and ports. */
struct icmp_err {
	uint8_t family;
	uint8_t proto;
	int err;           /* errno */
	bool hard;         /* reported even on unconnected... see udp_err */
	uint32_t mtu;      /* Frag-Needed / PTB */
	uint32_t seq;      /* TCP: the quoted segment's sequence number */
	struct stack_sockaddr src, dst; /* of the quoted (our) packet */
};

/* ---- UDP (udp.c) -------------------------------------------------------- */

void udp_input(struct stack *st, struct iface *ifp, struct pbuf *p);
void udp_err(struct stack *st, const struct icmp_err *e);
struct ep;
int udp_connect(struct stack *st, struct ep *e, const struct stack_sockaddr *a);
ssize_t udp_sendto(struct stack *st, struct ep *e, const struct iovec *iov, int iovcnt,
		   int flags, const struct stack_sockaddr *to);
ssize_t udp_recvfrom(struct stack *st, struct ep *e, const struct iovec *iov, int iovcnt,
		     int flags, struct stack_sockaddr *from, struct stack_rcvinfo *info,
		     int *msg_flags);
unsigned udp_events(struct stack *st, struct ep *e);
int udp_pending(struct stack *st, struct ep *e);

/* ---- endpoints (ep.c) -------------------------------------------------- */

struct ep {
	uint8_t used;
	uint8_t family;
	uint8_t type;
	uint8_t proto;
	/* options */
	uint8_t v6only, reuseaddr, reuseport, recverr, broadcast;
	uint8_t pktinfo4, pktinfo6; /* IP_PKTINFO, IPV6_RECVPKTINFO */
	uint8_t shut_wr;   /* UDP: shutdown(SHUT_WR), sends fail EPIPE */
	uint8_t pmtudisc;
	uint8_t tos;
	int ttl;           /* -1 = default */
	/* addresses, in the endpoint's family (IPv4-mapped on IPv6 ones) */
	struct stack_sockaddr local, remote;
	uint8_t bound;     /* has a local port */
	uint8_t connected;
	uint8_t addr_locked, port_locked; /* chosen by bind(), not implicitly */
	uint8_t on_changed;
	uint8_t orphan;    /* closed by the application, still finishing */
	uint8_t hidden;    /* a TCP child not yet accepted */
	int so_error;
	uint32_t rcvbuf, sndbuf;
	uint32_t rcvq_bytes; /* charged: the pbufs' capacity (truesize) */
	struct pbufq rcvq;
	uint64_t bind_seq;   /* later binds win ties in delivery */
	TAILQ_ENTRY(ep) bind_link;
	TAILQ_ENTRY(ep) chg_link;
};
TAILQ_HEAD(ep_list, ep);

struct tcb;
struct tcp_tw;
TAILQ_HEAD(tcb_list, tcb);
TAILQ_HEAD(tw_list, tcp_tw);

struct ep *ep_get(struct stack *st, int h);
struct ep *ep_get_any(struct stack *st, int h);

/* bind.c: addresses as endpoints see them, and binding */
void addr_map4(struct stack_sockaddr *a);
/* An endpoint address as it goes on the wire: IPv4-mapped -> IPv4. */
struct stack_sockaddr wire_addr(const struct stack_sockaddr *a);
/* A wire address as endpoint e sees it. */
struct stack_sockaddr ep_view(const struct ep *e, const struct stack_sockaddr *w);
bool same_addr(const struct stack_sockaddr *a, const struct stack_sockaddr *b);
bool carries_v4(const struct ep *e);
bool carries_v6(const struct ep *e);
bool addrs_overlap(const struct ep *a, const struct ep *b);
/* A caller's address checked against e's family, in e's view. */
int ep_addr(const struct ep *e, const struct stack_sockaddr *in, struct stack_sockaddr *out);
int ep_bind_addr(struct stack *st, struct ep *e, const struct stack_sockaddr *a);
int ep_autobind(struct stack *st, struct ep *e);
void ep_unbind(struct stack *st, struct ep *e);
int ep_listen_conflict(struct stack *st, const struct ep *e);
bool ep_is_listening(struct stack *st, const struct ep *e);
bool tcp_tw_holds_port(struct stack *st, const struct ep *e, uint16_t port);
/* Linux treats a wildcard destination as "this host". */
void any_to_loopback(struct stack_sockaddr *w);
size_t iov_total(const struct iovec *iov, int iovcnt);
void iov_gather(uint8_t *dst, const struct iovec *iov, int iovcnt);
static inline int ep_handle(const struct stack *st, const struct ep *e);
/* Mark e's readiness as possibly changed. */
void ep_changed(struct stack *st, struct ep *e);

/* ---- the stack --------------------------------------------------------- */

struct pool {
	struct pbufq free;
	uint32_t total, used;
};

struct stack {
	uint32_t magic;
	size_t arena_size;
	stack_ns_t now;
	struct stack_config cfg;
	uint64_t rng[4];

	struct pool pools[PBUF_NCLASS];

	struct timer_tree timers;
	uint64_t timer_seq;

	struct iface ifaces[OPT_MAX_IFACES];
	struct pbufq loopq;     /* packets on their way through loopback */
	uint32_t loopq_len;
	bool in_loop_flush;
	struct route routes[OPT_MAX_ROUTES];
	struct pmtu_entry pmtu[OPT_PMTU_ENTRIES];

	uint16_t ip4_id;
	uint32_t icmp_tokens;   /* in thousandths of a message */
	stack_ns_t icmp_refill;
	struct icmp_peer {
		uint8_t family;
		uint8_t addr[16];
		uint64_t tokens;    /* ns of credit, as inet_peer rate_tokens */
		stack_ns_t last;
	} icmp_peers[OPT_ICMP_PEERS];

	struct frag_queue *fragq; /* cfg-independent: OPT_FRAG_QUEUES */
	uint32_t frag_mem;

	struct ep *eps;         /* cfg.max_endpoints */
	struct tcb *tcbs;       /* one per endpoint, same index */
	struct tcb_list tcp_hash[OPT_TCP_HASH];
	struct tcb_list tcp_listeners;
	struct tcb_list tcp_waiting; /* held back by a full queue or no buffers */
	struct tcb_list tcp_kicking; /* being resumed by tcp_kick() */
	uint32_t tcp_nconn;          /* connections in the hash */
	struct tcp_tw *tws;     /* OPT_TCP_TW_MAX */
	/* transmission records of TCP's scoreboard (tcp_sack.c) */
	struct tcp_txrec *txrecs;
	TAILQ_HEAD(, tcp_txrec) txrec_free;
	uint32_t txrec_total, txrec_used;
	struct tw_list tw_hash[OPT_TCP_HASH];
	uint32_t tw_count;
	uint32_t tcp_isn_key[4];     /* RFC 6528 ISNs, SYN cookies, hash */
	uint64_t tcp_challenge_sec;  /* second of the budget below, + 1 */
	uint32_t tcp_challenge_left; /* challenge ACKs left this second */
	uint32_t ep_free_hint;
	struct ep_list udp_bound;
	struct ep_list tcp_bound;
	struct ep_list changed;
	uint64_t bind_seq;
	uint64_t hash_key;      /* SO_REUSEPORT spreading */

	struct stack_counters ctr;
};

static inline int ep_handle(const struct stack *st, const struct ep *e)
{
	return (int)(e - st->eps);
}

#define CTR(st, proto) ((st)->ctr.p[STACK_P_##proto])
#define DROP(st, proto, reason) ((st)->ctr.p[STACK_P_##proto].drop[STACK_DROP_##reason]++)

/* TCP gives back out-of-order data when the pool is empty (tcp.c). */
bool tcp_reclaim(struct stack *st);

/* Loopback packets queued by output are handled here, never recursively. */
void stack_flush_loopback(struct stack *st);

/* Address helpers */
static inline size_t addr_len(int family) { return family == STACK_AF_INET ? 4 : 16; }
bool addr4_mapped(const uint8_t *a16);
bool addr_is_any(int family, const uint8_t *a);
bool addr6_is_multicast(const uint8_t *a);
bool addr4_is_multicast(const uint8_t *a);
bool prefix_match(int family, const uint8_t *a, const uint8_t *b, unsigned plen);

#endif
