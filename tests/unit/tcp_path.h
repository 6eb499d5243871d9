/*
 * tcp_path.h — a packet-level model of the path and of the peer's receiver
 * for the loss-recovery suites (test_tcp_loss.c, test_tcp_rack.c), on top
 * of tcp_peer.c.  The stack's data segments leave one after another (a
 * serialisation gap each) and arrive a one-way delay (OWD) later, unless
 * the test's fate function drops, delays or holds one back.  The receiver
 * keeps a map of the bytes it holds and answers every segment it accepts
 * with the cumulative ACK and SACK blocks, the latest arrival's first
 * (RFC 2018 §4), after a D-SACK block for a duplicate (RFC 2883); its ACK
 * reaches the stack OWD later.  Everything runs on the harness's fake
 * clock.
 *
 * With OWD 0 and no gap the path takes no time: each segment is taken, and
 * its ACK injected, the moment it is pulled from the link, so the stack
 * sees every ACK before the receiver looks at the next segment.
 */
#ifndef NETSHIM_TCP_PATH_H
#define NETSHIM_TCP_PATH_H

#include "tcp_peer.h"

#define PATH_SEGS_MAX 600		      /* full segments one test writes */
#define PATH_BYTES_MAX (PATH_SEGS_MAX * 1448) /* at the largest MSS the suites see */
#define PATH_EV_MAX 1024		      /* packets on the path at once */

/* What happens to the n-th transmission (n = 0 the first) of segment k
 * (byte offset / eff_mss): the delay it gets on top of the path's, or
 * PATH_DROP, or PATH_HOLD to keep it out of the path in p->held (one at a
 * time) for the test to hand over with path_take(). */
#define PATH_DROP STACK_NS_NEVER
#define PATH_HOLD (STACK_NS_NEVER - 1)
typedef stack_ns_t (*path_fate_fn)(uint32_t k, unsigned n);

/* A packet on the path: data on its way to the receiver, or an ACK on its
 * way to the stack. */
struct path_ev {
	stack_ns_t t;	   /* when it arrives */
	bool ack;	   /* an ACK reaching the stack, else data reaching the peer */
	uint32_t seq, len; /* data */
	bool ts_on;
	uint32_t tsval;
	uint8_t payload[1500];
	struct tp_out out; /* ACK, its options in opts */
	struct tp_opts opts;
};

struct tcp_path {
	struct harness *h;
	struct tp_conn *c;
	stack_ns_t owd; /* one-way delay, each direction */
	stack_ns_t gap; /* serialisation of one segment */
	uint32_t seed;	/* fill_pattern() seed of the program's bytes */
	const char *cc; /* TCP_CONGESTION before the program writes, NULL: the default */

	/* the program's side */
	uint32_t base; /* sequence number of byte 0 (irs + 1) */
	size_t total;  /* bytes the program wrote */
	uint8_t data[PATH_BYTES_MAX];

	/* the path */
	unsigned sent[PATH_SEGS_MAX + 1];	  /* transmissions per segment */
	stack_ns_t sent_at[PATH_SEGS_MAX + 1][4]; /* when each of the first four left */
	unsigned rexmits;			  /* transmissions after a segment's first */
	stack_ns_t link_free;			  /* when the stack's side is idle */
	struct path_ev ev[PATH_EV_MAX];
	unsigned nev;
	struct tp_seg held; /* a segment PATH_HOLD kept back */
	bool holding;

	/* the receiver */
	uint8_t have[PATH_BYTES_MAX]; /* which bytes arrived */
	uint8_t rxd[PATH_BYTES_MAX];  /* and what they were */
	uint32_t last_s, last_e;      /* the latest arrival's block (offsets) */
};

/* After tp_setup(): an empty path between h's stack and the peer c with
 * the given delay and gap (0 and 0: a path that takes no time); the
 * program's bytes will be fill_pattern(seed). */
void path_init(struct tcp_path *p, struct harness *h, struct tp_conn *c, stack_ns_t owd,
	       stack_ns_t gap, uint32_t seed);
/* The peer's defaults (tp_cfg) with SO_SNDBUF 1 MiB, so that the program's
 * write goes in at once, and the handshake's RTT sample rtt. */
struct tp_cfg path_cfg(int family, stack_ns_t rtt);

/* The stack connects to the peer (tp_client with cfg), sets TCP_NODELAY
 * and the program writes nsegs full segments. */
void path_start(struct tcp_path *p, const struct tp_cfg *cfg, unsigned nsegs);
/* The program writes n more full segments. */
void path_more(struct tcp_path *p, unsigned n);
/* The receiver's bytes equal the program's; a clean close follows. */
void path_finish(struct tcp_path *p);

/* Run the exchange until the program's bytes are all acknowledged and
 * nothing is left on the path; each data segment's fate from f.  Fails
 * ("stalled") if that takes `limit` of fake time. */
void path_exchange(struct tcp_path *p, path_fate_fn f, stack_ns_t limit);
/* A fate: every segment arrives, at once after the path's delay. */
stack_ns_t path_pass_all(uint32_t k, unsigned n);

/* The receiver takes segment s now (a test that plays the path itself):
 * keeps its bytes, answers it. */
void path_take(struct tcp_path *p, const struct tp_seg *s);
/* The receiver's cumulative ACK, as an offset from base. */
uint32_t path_cum(const struct tcp_path *p);

#endif
