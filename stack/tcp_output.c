/*
 * tcp_output.c — what TCP sends and how a segment is built.
 * tcp_send / tcp_input / the timers -> tcp_output() (windows, Nagle, cork,
 * silly-window avoidance, FIN) -> tcp_send_segment() -> ip_output().
 * Replies without a connection (RST, TIME_WAIT ACKs, SYN cookie SYN-ACKs)
 * use tcp_send_raw().
 */
#include <errno.h>

#include "tcp.h"
#include "wire.h"

static size_t ip_hlen(int family) { return family == STACK_AF_INET ? IP4_HLEN : IP6_HLEN; }

/* The MSS we announce: the outgoing link's MTU less the headers
 * (RFC 9293 §3.7.1; RFC 6691). */
uint16_t tcp_adv_mss_to(struct stack *st, int family, const uint8_t *raddr, uint16_t user_mss)
{
	struct stack_route_result rr;
	struct iface *ifp;
	uint32_t mtu = OPT_MTU_DEFAULT, mss;

	if (route_lookup(st, family, raddr, &rr) == 0 && (ifp = iface_get(st, rr.ifindex)) != NULL)
		mtu = ifp->mtu;
	mss = mtu - (uint32_t)ip_hlen(family) - TCP_HLEN;
	if (mss > 65535 - 40)
		mss = 65535 - 40;
	if (user_mss && user_mss < mss)
		mss = user_mss;
	return (uint16_t)mss;
}

uint16_t tcp_adv_mss(struct stack *st, struct tcb *tp)
{
	return tcp_adv_mss_to(st, tp->wfamily, tp->raddr, tp->user_mss);
}

/* Payload per segment now: the peer's MSS, the path MTU, TCP_MAXSEG, less
 * the timestamp option carried by every segment (Linux's mss_cache). */
void tcp_update_mss(struct stack *st, struct tcb *tp)
{
	struct stack_route_result rr;
	uint32_t mss = tp->peer_mss;

	if (route_lookup(st, tp->wfamily, tp->raddr, &rr) == 0) {
		uint32_t pm = rr.mtu - (uint32_t)ip_hlen(tp->wfamily) - TCP_HLEN;

		if (pm < mss)
			mss = pm;
	}
	if (tp->user_mss && tp->user_mss < mss)
		mss = tp->user_mss;
	if (tp->ts_ok)
		mss -= 12;
	if (mss < 48)
		mss = 48;
	tp->mss = (uint16_t)mss;
}

/* RFC 9293 §3.8.6.2.2 receiver side of silly-window avoidance, and
 * RFC 7323 §2.3 scaling: the window never shrinks, grows only by useful
 * amounts, and is advertised exactly (a multiple of the scale). */
uint16_t tcp_window_field(struct stack *st, struct tcb *tp)
{
	uint32_t space = tcp_rcv_space(st, tp), cur, win, max, step;
	uint8_t shift = tp->ws_ok ? tp->rcv_wscale : 0;

	(void)st;
	cur = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;
	step = tp->rcvbuf / 2 < tp->adv_mss ? tp->rcvbuf / 2 : tp->adv_mss;
	win = space;
	if (win < cur || win - cur < step)
		win = cur;
	max = 65535u << shift;
	if (win > max)
		win = max;
	/* scaled: round down, but never below the edge already offered
	 * (Linux aligns the current window up instead) */
	win = (win >> shift) << shift;
	if (win < cur)
		win = ((cur + (1u << shift) - 1) >> shift) << shift;
	if (SEQ_GT(tp->rcv_nxt + win, tp->rcv_adv))
		tp->rcv_adv = tp->rcv_nxt + win;
	return (uint16_t)(win >> shift);
}

/* The next run of contiguous out-of-order data after *q (NULL: the
 * first): [*s, *e); false at the end of the queue. */
static bool ooq_run(struct tcb *tp, struct pbuf **q, uint32_t *s, uint32_t *e)
{
	struct pbuf *p = *q ? STAILQ_NEXT(*q, next) : STAILQ_FIRST(&tp->ooq);

	if (!p)
		return false;
	*s = (uint32_t)p->t;
	*e = *s + p->len;
	while (STAILQ_NEXT(p, next) && (uint32_t)STAILQ_NEXT(p, next)->t == *e) {
		p = STAILQ_NEXT(p, next);
		*e += p->len;
	}
	*q = p;
	return true;
}

/* SACK blocks (RFC 2018 §4): a D-SACK block first when a duplicate
 * arrived (RFC 2883 §4), then the block holding the latest out-of-order
 * segment ("MUST" be first), then the others from the lowest — the holes
 * the sender should fill first — as many as fit.  The latest block is
 * looked for among all of them: with more holes than blocks fit, a sender
 * told only about the lowest ones hears nothing of what keeps arriving. */
static size_t build_sack(struct tcb *tp, uint8_t *o, size_t room)
{
	uint32_t blk[4][2], s, e, ls = 0, le = 0;
	unsigned nb = 0, max = room >= 4 ? (unsigned)((room - 4) / 8) : 0;
	struct pbuf *q = NULL;
	bool have_last = false;
	size_t n = 0;

	if (max > 4)
		max = 4;
	if (tp->dsack && nb < max) {
		blk[nb][0] = tp->dsack_start;
		blk[nb][1] = tp->dsack_end;
		nb++;
	}
	while (ooq_run(tp, &q, &s, &e))
		if (SEQ_GEQ(tp->sack_last, s) && SEQ_LT(tp->sack_last, e)) {
			ls = s;
			le = e;
			have_last = true;
			break;
		}
	if (have_last && nb < max) {
		blk[nb][0] = ls;
		blk[nb][1] = le;
		nb++;
	}
	for (q = NULL; nb < max && ooq_run(tp, &q, &s, &e);) {
		if (have_last && s == ls)
			continue;
		blk[nb][0] = s;
		blk[nb][1] = e;
		nb++;
	}
	if (nb > max)
		nb = max;
	if (nb == 0)
		return 0;
	o[n++] = TCPOPT_NOP;
	o[n++] = TCPOPT_NOP;
	o[n++] = TCPOPT_SACK;
	o[n++] = (uint8_t)(2 + 8 * nb);
	for (unsigned i = 0; i < nb; i++) {
		put32(o + n, blk[i][0]);
		put32(o + n + 4, blk[i][1]);
		n += 8;
	}
	tp->dsack = 0; /* reported once */
	return n;
}

/* Options, in Linux's layout: MSS, SACK-permitted + timestamps, NOP +
 * window scale on a SYN; NOP NOP + timestamps on the others.  A SYN-ACK
 * carries only what the SYN offered (RFC 7323 §1.3, RFC 2018 §2). */
static size_t build_opts(struct stack *st, struct tcb *tp, uint8_t flags, uint8_t *o)
{
	bool syn = flags & TH_SYN, synack = syn && (flags & TH_ACK);
	bool sack = syn && (synack ? tp->sack_ok : !st->cfg.tcp_no_sack);
	bool ts = syn && !synack ? true : tp->ts_ok;
	bool ws = syn && (!synack || tp->ws_ok);
	size_t n = 0;

	if (flags & TH_RST)
		return 0;
	if (syn) {
		o[n++] = TCPOPT_MSS;
		o[n++] = 4;
		put16(o + n, tp->adv_mss);
		n += 2;
	}
	if (sack && ts) {
		o[n++] = TCPOPT_SACK_PERM;
		o[n++] = 2;
	} else if (ts || sack) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_NOP;
		if (sack) {
			o[n++] = TCPOPT_SACK_PERM;
			o[n++] = 2;
		}
	}
	if (ts) {
		o[n++] = TCPOPT_TS;
		o[n++] = 10;
		put32(o + n, (uint32_t)(st->now / STACK_NS_PER_MS) + tp->ts_offset);
		put32(o + n + 4, syn && !synack ? 0 : tp->ts_recent);
		n += 8;
	}
	if (ws) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_WS;
		o[n++] = 3;
		o[n++] = tp->rcv_wscale;
	}
	if (!syn && (flags & TH_ACK) && tp->sack_ok)
		n += build_sack(tp, o + n, TCP_MAX_OPTLEN - n);
	return n;
}

/* Copy len bytes of the send queue starting at seq into dst. */
static void sndq_copy(struct tcb *tp, uint32_t seq, uint8_t *dst, uint32_t len)
{
	struct pbuf *p;
	uint32_t pseq, off;

	if (tp->snd_cur && SEQ_GEQ(seq, tp->snd_cur_seq)) {
		p = tp->snd_cur;
		pseq = tp->snd_cur_seq;
	} else {
		p = STAILQ_FIRST(&tp->sndq);
		pseq = tp->snd_una;
	}
	while (p && SEQ_GEQ(seq, pseq + p->len)) {
		pseq += p->len;
		p = STAILQ_NEXT(p, next);
	}
	tp->snd_cur = p;
	tp->snd_cur_seq = pseq;
	off = seq - pseq;
	while (p && len) {
		uint32_t n = p->len - off < len ? p->len - off : len;

		memcpy(dst, pbuf_data(p) + off, n);
		dst += n;
		len -= n;
		off = 0;
		p = STAILQ_NEXT(p, next);
	}
}

static int emit(struct stack *st, struct ep *e, int family, const uint8_t *src,
		const uint8_t *dst, struct pbuf *p)
{
	uint8_t *t = pbuf_data(p);
	uint32_t sum = cksum_pseudo(family, src, dst, STACK_IPPROTO_TCP, p->len);
	struct ip_tx tx = {
		.family = (uint8_t)family, .proto = STACK_IPPROTO_TCP,
		.ttl = e ? e->ttl : -1, .tos = e ? e->tos : 0,
		.pmtudisc = e ? e->pmtudisc : STACK_IP_PMTUDISC_WANT,
		.src = src, .dst = dst,
	};

	put16(t + TCP_CSUM, cksum_finish(cksum_add(sum, t, p->len)));
	CTR(st, TCP).tx++;
	return ip_output(st, p, &tx);
}

int tcp_send_segment(struct stack *st, struct tcb *tp, uint8_t flags, uint32_t seq, uint32_t len)
{
	struct ep *e = ep_of_tcb(st, tp);
	uint8_t opts[TCP_MAX_OPTLEN];
	size_t olen = build_opts(st, tp, flags, opts), hlen = TCP_HLEN + olen;
	struct pbuf *p = pbuf_alloc(st, hlen + len);
	uint8_t *t;
	uint16_t win;
	int rc;

	if (!p && tcp_reclaim(st)) {
		/* the pool is dry: out-of-order data (the biggest queue's,
		 * a flooder's first) goes before our own segment does — an
		 * ACK that cannot be sent stalls the peer; the SACK blocks
		 * are taken again, the queue may have been this one's */
		olen = build_opts(st, tp, flags, opts);
		hlen = TCP_HLEN + olen;
		p = pbuf_alloc(st, hlen + len);
	}
	if (!p) {
		DROP(st, TCP, NOBUF);
		return -ENOBUFS;
	}
	t = pbuf_data(p);
	memset(t, 0, TCP_HLEN);
	put16(t + TCP_SPORT, tp->lport);
	put16(t + TCP_DPORT, tp->rport);
	put32(t + TCP_SEQ, seq);
	if (flags & TH_ACK)
		put32(t + TCP_ACK, tp->rcv_nxt);
	t[TCP_OFF] = (uint8_t)((hlen / 4) << 4);
	if (flags & TH_SYN) {
		/* RFC 7323 §2.2: the window of a SYN is never scaled; Linux
		 * offers whole segments (tcp_select_initial_window): 64240 for
		 * an MSS of 1460, 65160 in a SYN-ACK with timestamps */
		uint32_t w = tcp_rcv_space(st, tp), seg = tp->adv_mss;

		if ((flags & TH_ACK) && tp->ts_ok)
			seg -= 12;
		if (w > 65535)
			w = 65535;
		if (seg && w > seg)
			w -= w % seg;
		win = (uint16_t)w;
		tp->rcv_adv = tp->rcv_nxt + win;
	} else if (flags & TH_RST) {
		win = 0;
	} else {
		win = tcp_window_field(st, tp);
	}
	put16(t + TCP_WIN, win);
	if (tp->urg_out && SEQ_GT(tp->snd_up, seq) && !(flags & (TH_SYN | TH_RST))) {
		uint32_t up = tp->snd_up - seq;

		flags |= TH_URG;
		put16(t + TCP_URP, (uint16_t)(up > 65535 ? 65535 : up));
	} else if (tp->urg_out && SEQ_LEQ(tp->snd_up, tp->snd_una)) {
		tp->urg_out = 0;
	}
	t[TCP_FLAGS] = flags;
	memcpy(t + TCP_HLEN, opts, olen);
	if (!(flags & (TH_SYN | TH_RST)) && (len || (flags & TH_FIN)) && SEQ_LT(seq, tp->snd_max)) {
		/* a retransmission: counted, and marked for the undo and
		 * lost-retransmission logic (tcp_input.c) */
		tp->total_retrans++;
		tp->bytes_retrans += len;
		/* Karn: the timed segment sent again measures nothing (a
		 * resend in recovery once made a 20 % loss run's RTO seconds) */
		if (tp->rtt_timing && SEQ_GEQ(tp->rtt_seq, seq) && SEQ_LT(tp->rtt_seq, seq + len + 1))
			tp->rtt_timing = 0;
		if (tp->undo_ok) {
			if (!tp->undo_retrans && tp->ts_ok) {
				tp->undo_tsval = (uint32_t)(st->now / STACK_NS_PER_MS) + tp->ts_offset;
				tp->undo_ts = 1;
			}
			tp->undo_retrans++;
			if (SEQ_GT(seq + len, tp->undo_rxt_end))
				tp->undo_rxt_end = seq + len;
		}
	}
	if (len)
		sndq_copy(tp, seq, t + hlen, len);
	p->len = (uint32_t)(hlen + len);
	if (flags & TH_ACK) {
		/* this segment carries our ACK: nothing more is owed */
		tp->ack_now = 0;
		tp->rcv_unacked = 0;
		if (tp->delack_armed) {
			timer_cancel(st, &tp->t_delack);
			tp->delack_armed = 0;
		}
	}
	tp->segs_out++;
	if (len) {
		tp->data_segs_out++;
		tp->bytes_sent += len;
		tp->last_data_sent = st->now;
	}
	rc = emit(st, e, tp->wfamily, tp->laddr, tp->raddr, p);
	if (rc >= 0 && !(flags & (TH_SYN | TH_RST)))
		tcp_tx_sent(st, tp, seq, seq + len + !!(flags & TH_FIN));
	return rc;
}

/* The sequence number of a segment without data (ACK, RST): SND.NXT,
 * unless that lies beyond the peer's window — which can only shrink
 * under us if the peer shrinks it — then the window's right edge, which
 * the peer still takes (Linux tcp_acceptable_seq; RFC 9293 §3.10.7.4
 * drops a segment outside the window, its ACK with it). */
uint32_t tcp_acceptable_seq(const struct tcb *tp)
{
	uint32_t edge = tp->snd_una + tp->snd_wnd;

	if (SEQ_LEQ(tp->snd_nxt, edge) ||
	    (tp->ws_ok && tp->snd_nxt - edge < (1u << tp->snd_wscale)))
		return tp->snd_nxt;
	return edge;
}

void tcp_send_ack(struct stack *st, struct tcb *tp)
{
	if (tp->state == TCPS_CLOSED || tp->state == TCPS_LISTEN || tp->state == TCPS_SYN_SENT)
		return;
	tcp_send_segment(st, tp, TH_ACK, tcp_acceptable_seq(tp), 0);
}

/* Options of a segment without a tcb, in build_opts' layout. */
static size_t raw_opts(const struct tcp_opts *o, uint8_t flags, uint8_t *b)
{
	bool syn = flags & TH_SYN, sack = syn && o->sack_perm;
	size_t n = 0;

	if (syn && o->has_mss) {
		b[n++] = TCPOPT_MSS;
		b[n++] = 4;
		put16(b + n, o->mss);
		n += 2;
	}
	if (sack && o->has_ts) {
		b[n++] = TCPOPT_SACK_PERM;
		b[n++] = 2;
	} else if (sack || o->has_ts) {
		b[n++] = TCPOPT_NOP;
		b[n++] = TCPOPT_NOP;
		if (sack) {
			b[n++] = TCPOPT_SACK_PERM;
			b[n++] = 2;
		}
	}
	if (o->has_ts) {
		b[n++] = TCPOPT_TS;
		b[n++] = 10;
		put32(b + n, o->tsval);
		put32(b + n + 4, o->tsecr);
		n += 8;
	}
	if (syn && o->has_ws) {
		b[n++] = TCPOPT_NOP;
		b[n++] = TCPOPT_WS;
		b[n++] = 3;
		b[n++] = o->ws;
	}
	return n;
}

void tcp_send_raw(struct stack *st, int family, const uint8_t *src, const uint8_t *dst,
		  uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		  uint16_t wnd, const struct tcp_opts *o)
{
	uint8_t opts[TCP_MAX_OPTLEN];
	size_t olen = o ? raw_opts(o, flags, opts) : 0;
	struct pbuf *p = pbuf_alloc(st, TCP_HLEN + olen);
	uint8_t *t;

	if (!p && tcp_reclaim(st))
		p = pbuf_alloc(st, TCP_HLEN + olen);
	if (!p) {
		DROP(st, TCP, NOBUF);
		return;
	}
	t = pbuf_data(p);
	memset(t, 0, TCP_HLEN);
	put16(t + TCP_SPORT, sport);
	put16(t + TCP_DPORT, dport);
	put32(t + TCP_SEQ, seq);
	put32(t + TCP_ACK, ack);
	t[TCP_OFF] = (uint8_t)(((TCP_HLEN + olen) / 4) << 4);
	t[TCP_FLAGS] = flags;
	put16(t + TCP_WIN, wnd);
	memcpy(t + TCP_HLEN, opts, olen);
	p->len = (uint32_t)(TCP_HLEN + olen);
	emit(st, NULL, family, src, dst, p);
}

/* RFC 9293 §3.10.7.1: the reply to a segment for no connection.  If it
 * carried an ACK, the RST takes its sequence from it; otherwise the RST
 * acknowledges everything the segment occupied.  Never an RST for an RST. */
void tcp_reply_rst(struct stack *st, const struct pbuf *p, const struct tcp_seg *seg)
{
	const struct pbuf_meta *m = &p->meta;
	uint32_t occupied = seg->len + !!(seg->flags & TH_SYN) + !!(seg->flags & TH_FIN);

	if (seg->flags & TH_RST)
		return;
	if (seg->flags & TH_ACK)
		tcp_send_raw(st, m->src.family, m->dst.addr, m->src.addr, m->dst.port, m->src.port,
			     seg->ack, 0, TH_RST, 0, NULL);
	else
		tcp_send_raw(st, m->src.family, m->dst.addr, m->src.addr, m->dst.port, m->src.port,
			     0, seg->seq + occupied, TH_RST | TH_ACK, 0, NULL);
}

/* ---- the output engine -------------------------------------------------- */

/* Payload of a full segment now: tp->mss allows for timestamps only; SACK
 * blocks on our segments (while we hold out-of-order data) take room too
 * (Linux's tcp_current_mss), or a full segment would exceed the path MTU. */
static uint32_t seg_mss(const struct tcb *tp)
{
	uint32_t m = tp->mss;

	if (tp->sack_ok && (tp->ooq_segs || tp->dsack))
		m -= tp->ts_ok ? 4 + 3 * 8 : 4 + 4 * 8; /* as many blocks as fit */
	return m;
}

uint32_t tcp_resend(struct stack *st, struct tcb *tp, uint32_t seq, uint32_t max)
{
	uint32_t end = tcp_data_end(tp), len = SEQ_LT(seq, end) ? end - seq : 0;
	uint8_t flags = TH_ACK;

	if (len > max)
		len = max;
	if (len > seg_mss(tp))
		len = seg_mss(tp);
	/* the FIN goes again with the last byte, or alone, if it went */
	if (seq + len == end && tp->fin_queued && !tp->fin_acked && SEQ_GT(tp->snd_max, end))
		flags |= TH_FIN;
	if (!len && !(flags & TH_FIN))
		return 0;
	if (len && seq + len == end)
		flags |= TH_PSH; /* as the last piece carried it the first time */
	if (tcp_send_segment(st, tp, flags, seq, len) < 0)
		return 0;
	return len + !!(flags & TH_FIN);
}

uint32_t tcp_resend_rec(struct stack *st, struct tcb *tp, struct tcp_txrec *r)
{
	uint32_t seq = r->start, end = r->end, n, sent = 0;

	/* a record is resent whole: its pieces share one send time, so its
	 * record needs no splitting (when the MSS shrank since, or the pool
	 * was short and it covers several segments) */
	while (SEQ_LT(seq, end) && (n = tcp_resend(st, tp, seq, end - seq)) != 0) {
		seq += n;
		sent += n;
	}
	return sent;
}

/* RFC 6675 §5 step (C) with NextSeg() rule 1 — the segments RACK (RFC
 * 8985 §6.2) or a timeout found lost, oldest first — while pipe leaves a
 * segment's room in cwnd.  Rule 3 (holes not known lost) is left out, as
 * Linux leaves it: RACK's reordering timer says when a hole is lost. */
static void sack_resend(struct stack *st, struct tcb *tp)
{
	struct tcp_txrec *r = NULL;

	/* a resend leaves its record where it is: the walk goes on after it */
	while (tcp_sack_pipe(tp) + tp->mss <= tp->cwnd && (r = tcp_sack_next_lost(tp, r)) != NULL)
		if (!tcp_resend_rec(st, tp, r))
			break;
}

static void arm_persist(struct stack *st, struct tcb *tp)
{
	if (tp->t_rexmit.armed)
		return;
	tp->rexmit_mode = TRX_PERSIST;
	tcp_arm_rexmit(st, tp);
}

/* ---- TCP_INFO's chronographs (Linux tcp_chrono_set/start/stop) ---------- */

static void chrono_set(struct stack *st, struct tcb *tp, uint8_t type)
{
	if (tp->chrono_type)
		tp->chrono_stat[tp->chrono_type - 1] += st->now - tp->chrono_start;
	tp->chrono_start = st->now;
	tp->chrono_type = type;
}

/* A condition began: it runs if it matters more than the one running. */
void tcp_chrono_start(struct stack *st, struct tcb *tp, uint8_t type)
{
	if (type > tp->chrono_type)
		chrono_set(st, tp, type);
}

/* A condition ended: nothing runs once nothing is left to send or be
 * acknowledged, else busy takes over from the one that ended. */
void tcp_chrono_stop(struct stack *st, struct tcb *tp, uint8_t type)
{
	if (!tp->sndq_bytes && (!tp->fin_queued || tp->fin_acked))
		chrono_set(st, tp, 0);
	else if (type == tp->chrono_type)
		chrono_set(st, tp, TCP_CHRONO_BUSY);
}

stack_ns_t tcp_chrono_time(const struct stack *st, const struct tcb *tp, uint8_t type)
{
	stack_ns_t t = tp->chrono_stat[type - 1];

	if (tp->chrono_type == type)
		t += st->now - tp->chrono_start;
	return t;
}

void tcp_output(struct stack *st, struct tcb *tp)
{
	bool sent = false, rwnd_limited = false;

	if (tp->state < TCPS_ESTABLISHED) {
		if (tp->ack_now && tp->state == TCPS_SYN_RECEIVED)
			tp->ack_now = 0;
		return;
	}
	tcp_update_mss(st, tp);
	if (tp->lost_wait)
		sack_resend(st, tp);
	for (int guard = 0; guard < 100000; guard++) {
		uint32_t end = tcp_data_end(tp);
		uint32_t left, flight, pipe, avail, cwnd_avail, len, mss = seg_mss(tp);
		bool fin_pending, all;
		uint8_t flags = TH_ACK;

		left = SEQ_GT(end, tp->snd_nxt) ? end - tp->snd_nxt : 0;
		fin_pending = tp->fin_queued && !tp->fin_acked && SEQ_LEQ(tp->snd_nxt, end);
		flight = SEQ_GT(tp->snd_nxt, tp->snd_una) ? tp->snd_nxt - tp->snd_una : 0;
		/* the congestion window counts what is in the network (RFC
		 * 6675 pipe with SACK, as Linux's tcp_packets_in_flight in
		 * every state); the peer's window counts all */
		pipe = tp->sack_ok ? tcp_sack_pipe(tp) : flight;
		cwnd_avail = avail = tp->cwnd > pipe ? tp->cwnd - pipe : 0;
		if (tp->snd_wnd < flight + avail)
			avail = tp->snd_wnd > flight ? tp->snd_wnd - flight : 0;
		len = left;
		if (!left && !fin_pending)
			break;
		if (len > mss)
			len = mss;
		/* the peer's window, not cwnd, holds the next segment back
		 * (Linux's tcp_snd_wnd_test in tcp_write_xmit) */
		if (len > avail && SEQ_GT(tp->snd_nxt + len, tp->snd_una + tp->snd_wnd) &&
		    tp->snd_wnd <= flight + cwnd_avail)
			rwnd_limited = true;
		if (len > avail)
			len = avail;
		if (left && !len) {
			/* Zero window with nothing in flight: the persist
			 * timer probes it (RFC 9293 §3.8.6.1). */
			if (flight == 0)
				arm_persist(st, tp);
			break;
		}
		all = len == left;
		/* Nagle, cork and SWS avoidance hold new data, never a resend */
		if (len && len < mss && !SEQ_LT(tp->snd_nxt, tp->snd_max)) {
			bool last_with_fin = all && fin_pending;

			/* TCP_CORK and MSG_MORE hold partial segments,
			 * for at most 200 ms (tcp(7)) */
			if (tp->cork && !last_with_fin) {
				if (!tp->t_cork.armed)
					timer_arm(st, &tp->t_cork, st->now + OPT_TCP_CORK_CEILING_NS);
				break;
			}
			/* Nagle (RFC 896, RFC 9293 §3.7.4) with Minshall's
			 * refinement, as Linux: hold a small segment only
			 * while an earlier small one is unacknowledged; never
			 * the one that carries the FIN */
			if (!tp->nodelay && flight > 0 && !last_with_fin && !tp->urg_out &&
			    SEQ_GT(tp->snd_sml, tp->snd_una))
				break;
			/* sender SWS avoidance (RFC 9293 §3.8.6.2.1): a piece
			 * the window cut short waits unless it is large */
			if (!all && len < tp->max_sndwnd / 2 && !tp->sws_override) {
				if (flight == 0)
					arm_persist(st, tp);
				break;
			}
		}
		if (all && fin_pending)
			flags |= TH_FIN;
		if (len && all)
			flags |= TH_PSH;
		if (!tcp_tx_can_send_new(st, tp)) {
			/* no transmission record to describe it: an ACK of
			 * what is in flight frees some (tcp_sack.c) */
			st->ctr.tcp_txrec_short++;
			break;
		}
		if (tp->snd_una == tp->snd_max)
			tp->retrans_stamp = st->now; /* the oldest unacked data */
		if (!tp->rtt_timing && tp->snd_nxt == tp->snd_max && len) {
			tp->rtt_timing = 1;
			tp->rtt_seq = tp->snd_nxt;
			tp->rtt_start = st->now;
		}
		if (tcp_send_segment(st, tp, flags, tp->snd_nxt, len) == -ENOBUFS) {
			/* the link queue or the pool is full: try again when
			 * the link has pulled (tcp_kick) */
			tcp_wait_resources(st, tp);
			if (!tp->t_rexmit.armed && tp->snd_una != tp->snd_max) {
				tp->rexmit_mode = TRX_RTO;
				tcp_arm_rexmit(st, tp);
			}
			break;
		}
		if (len < mss)
			tp->snd_sml = tp->snd_nxt + len;
		tp->snd_nxt += len + !!(flags & TH_FIN);
		if (SEQ_GT(tp->snd_nxt, tp->snd_max))
			tp->snd_max = tp->snd_nxt;
		if (!tp->t_rexmit.armed || tp->rexmit_mode == TRX_PERSIST)
			tcp_arm_rto_tlp(st, tp);
		sent = true;
	}
	if (rwnd_limited)
		tcp_chrono_start(st, tp, TCP_CHRONO_RWND);
	else
		tcp_chrono_stop(st, tp, TCP_CHRONO_RWND);
	if (!sent && tp->ack_now)
		tcp_send_ack(st, tp);
}
