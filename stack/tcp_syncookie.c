/*
 * tcp_syncookie.c — SYN cookies (RFC 4987 §3.6), as Linux does them with
 * net.ipv4.tcp_syncookies=1 (net/ipv4/syncookies.c): a SYN that finds its
 * listener's SYN queue full, or no endpoint free, is answered with a
 * SYN-ACK that carries all the state there is, and the ACK that completes
 * the handshake rebuilds the connection from it.
 * tcp_input.c listen_input() -> tcp_cookie_synack() for the SYN,
 * -> tcp_cookie_recent() / tcp_cookie_check() for the ACK (the child is
 * then made by listen_input); calls siphash24() under the key of RFC 6528
 * ISNs and tcp_send_raw().
 */
#include "tcp.h"
#include "wire.h"

/* The cookie: H(T, 0) + peer ISN + (count << 24) + ((H(T, count) + MSS
 * index) mod 2^24).  The counter's low 8 bits sit in the top byte, where
 * the check finds them after taking the first hash and the peer's ISN
 * away; the second hash hides the MSS index, which the check finds as the
 * remainder (Linux secure_tcp_syn_cookie / check_tcp_syn_cookie). */
#define COOKIE_BITS 24
#define COOKIE_MASK ((1u << COOKIE_BITS) - 1)

/* Timestamps (Linux cookie_init_timestamp): the low 6 bits of our TSval
 * hold the peer's window scale (15: it sent none) and SACK-permitted; the
 * rest is our clock rounded down, so the next TSval is never older. */
#define TS_BITS 6
#define TS_MASK ((1u << TS_BITS) - 1)
#define TS_WS_MASK 0x0f
#define TS_SACK 0x10
#define TS_ECN 0x20 /* Linux's ECN bit: never set here */

/* The peer's MSS, rounded down to one of these, is what the cookie keeps
 * (2 bits).  Linux's tables: IPv4 536 (RFC 9293's default), 1300 (tunnels
 * and VPNs), 1440 (PPPoE and the like), 1460 (Ethernet); IPv6 the
 * minimum MTU, 1480, 1500 (Ethernet) and 9000 (jumbo frames), each less
 * 60 bytes of headers. */
static const uint16_t msstab4[] = {536, 1300, 1440, 1460};
static const uint16_t msstab6[] = {1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60};

unsigned tcp_cookie_msstab(int family, const uint16_t **tab)
{
	if (family == STACK_AF_INET) {
		*tab = msstab4;
		return sizeof(msstab4) / sizeof(msstab4[0]);
	}
	*tab = msstab6;
	return sizeof(msstab6) / sizeof(msstab6[0]);
}

/* The coarse clock of cookies: 60 s ticks (Linux tcp_cookie_time). */
static uint32_t cookie_count(const struct stack *st)
{
	return (uint32_t)(st->now / OPT_TCP_COOKIE_PERIOD_NS);
}

/* tcp_tuple_hash of the segment's tuple, ours first. */
static uint32_t cookie_hash(const struct stack *st, const struct pbuf_meta *m, uint8_t tag,
			    uint32_t count)
{
	return tcp_tuple_hash(st, m->src.family, m->dst.addr, m->src.addr, m->dst.port,
			      m->src.port, tag, count);
}

uint32_t tcp_cookie_isn(struct stack *st, const struct pbuf_meta *m, uint32_t peer_isn,
			uint16_t peer_mss, uint16_t *mss)
{
	const uint16_t *tab;
	unsigned ix = tcp_cookie_msstab(m->src.family, &tab) - 1;
	uint32_t count = cookie_count(st);

	while (ix && peer_mss < tab[ix])
		ix--;
	*mss = tab[ix];
	return cookie_hash(st, m, 0, 0) + peer_isn + (count << COOKIE_BITS) +
	       ((cookie_hash(st, m, 1, count) + ix) & COOKIE_MASK);
}

uint16_t tcp_cookie_mss(struct stack *st, const struct pbuf_meta *m, uint32_t peer_isn,
			uint32_t cookie)
{
	const uint16_t *tab;
	unsigned n = tcp_cookie_msstab(m->src.family, &tab);
	uint32_t count = cookie_count(st), c, age, ix;

	c = cookie - cookie_hash(st, m, 0, 0) - peer_isn;
	/* ticks since it was made, from the counter's low 8 bits */
	age = (count - (c >> COOKIE_BITS)) & (0xffffffffu >> COOKIE_BITS);
	if (age >= OPT_TCP_COOKIE_MAX_AGE)
		return 0;
	ix = (c - cookie_hash(st, m, 1, count - age)) & COOKIE_MASK;
	return ix < n ? tab[ix] : 0;
}

uint32_t tcp_cookie_tsval(uint32_t ts_now, const struct tcp_opts *syn)
{
	uint32_t opts = syn->has_ws ? syn->ws : TS_WS_MASK, ts;

	if (syn->sack_perm)
		opts |= TS_SACK;
	ts = (ts_now & ~TS_MASK) | opts;
	if (SEQ_GT(ts, ts_now))
		ts -= 1u << TS_BITS;
	return ts;
}

/* Our timestamps for a cookie connection start from an offset the ACK's
 * tuple gives back (Linux: secure_tcp_ts_off), not a random one. */
static uint32_t cookie_ts_offset(const struct stack *st, const struct pbuf_meta *m)
{
	return cookie_hash(st, m, TCP_HASH_TS, 0);
}

static uint32_t ts_clock(const struct stack *st)
{
	return (uint32_t)(st->now / STACK_NS_PER_MS);
}

/* The window of a cookie SYN-ACK: the listener's buffer, whole segments,
 * at most 65535 (a SYN's window is never scaled, RFC 7323 §2.2); the
 * connection made from the cookie offers the same. */
static uint16_t cookie_window(const struct tcb *lp, uint16_t adv_mss, bool ts)
{
	uint32_t w = lp->rcvbuf < 65535 ? lp->rcvbuf : 65535;
	uint32_t seg = adv_mss > 12 ? adv_mss - (ts ? 12u : 0u) : adv_mss;

	if (seg && w > seg)
		w -= w % seg;
	return (uint16_t)w;
}

void tcp_cookie_synack(struct stack *st, struct tcb *lp, const struct pbuf *p,
		       const struct tcp_seg *seg)
{
	const struct pbuf_meta *m = &p->meta;
	int family = m->src.family;
	uint16_t peer_mss = family == STACK_AF_INET ? OPT_TCP_DEFAULT_MSS4 : OPT_TCP_DEFAULT_MSS6;
	struct tcp_opts o = {0};
	uint16_t mss;
	uint32_t isn;

	if (seg->opt.has_mss)
		peer_mss = seg->opt.mss;
	isn = tcp_cookie_isn(st, m, seg->seq, peer_mss, &mss);

	o.has_mss = true;
	o.mss = tcp_adv_mss_to(st, family, m->src.addr, lp->user_mss);
	/* Without timestamps there is nowhere to keep window scaling and
	 * SACK-permitted: the SYN-ACK offers neither (Linux: want_cookie
	 * && !saw_tstamp -> tcp_clear_options). */
	if (seg->opt.has_ts) {
		o.has_ts = true;
		o.tsval = tcp_cookie_tsval(ts_clock(st) + cookie_ts_offset(st, m), &seg->opt);
		o.tsecr = seg->opt.tsval;
		o.has_ws = seg->opt.has_ws;
		o.ws = OPT_TCP_RCV_WSCALE;
		o.sack_perm = seg->opt.sack_perm;
	}
	tcp_send_raw(st, family, m->dst.addr, m->src.addr, m->dst.port, m->src.port, isn,
		     seg->seq + 1, TH_SYN | TH_ACK, cookie_window(lp, o.mss, o.has_ts), &o);
	st->ctr.tcp_syncookies_sent++;
	lp->cookie_stamp = st->now ? st->now : 1; /* tcp_synq_overflow */
}

bool tcp_cookie_recent(const struct stack *st, const struct tcb *lp)
{
	return lp->cookie_stamp &&
	       st->now - lp->cookie_stamp <= OPT_TCP_COOKIE_MAX_AGE * OPT_TCP_COOKIE_PERIOD_NS;
}

bool tcp_cookie_check(struct stack *st, const struct tcb *lp, const struct pbuf *p,
		      const struct tcp_seg *seg, struct tcp_cookie *ck)
{
	const struct pbuf_meta *m = &p->meta;
	uint16_t mss = tcp_cookie_mss(st, m, seg->seq - 1, seg->ack - 1);

	memset(ck, 0, sizeof(*ck));
	if (!mss) {
		st->ctr.tcp_syncookies_failed++;
		return false;
	}
	ck->iss = seg->ack - 1;
	ck->mss = mss;
	ck->ts_offset = cookie_ts_offset(st, m);
	if (seg->opt.has_ts) {
		uint32_t opts = seg->opt.tsecr & TS_MASK;

		/* Linux cookie_timestamp_decode; and the TSecr must echo a
		 * TSval we can have sent: not one from our future, no bit we
		 * never set, no window scale above 14 (RFC 7323 §2.3) */
		if (SEQ_GT(seg->opt.tsecr, ts_clock(st) + ck->ts_offset) || (opts & TS_ECN) ||
		    ((opts & TS_WS_MASK) != TS_WS_MASK && (opts & TS_WS_MASK) > 14)) {
			st->ctr.tcp_syncookies_failed++;
			return false;
		}
		ck->ts_ok = true;
		ck->sack_ok = (opts & TS_SACK) != 0;
		ck->ws_ok = (opts & TS_WS_MASK) != TS_WS_MASK;
		ck->ws = ck->ws_ok ? (uint8_t)(opts & TS_WS_MASK) : 0;
	}
	ck->wnd = cookie_window(lp, tcp_adv_mss_to(st, m->src.family, m->src.addr, lp->user_mss),
				ck->ts_ok);
	st->ctr.tcp_syncookies_recv++;
	return true;
}
