/*
 * tcp_input.c — segment arrival (RFC 9293 §3.10.7).
 * ip4_input / ip6_input -> tcp_input(): checks, demux -> listen_input (SYN
 * to a listener), tw_input (TIME_WAIT), syn_sent_input, or segment_input
 * (the synchronized states: PAWS, acceptability, RST, SYN, ACK, URG, data,
 * FIN) -> tcp_output() for what the segment made possible.
 */
#include <errno.h>

#include "tcp.h"
#include "wire.h"

#define PBUF_F_FIN 0x80 /* an out-of-order segment that carries the FIN */

bool tcp_parse_opts(const uint8_t *o, size_t len, bool syn, struct tcp_opts *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		uint8_t kind = o[i], l;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		/* tcp_parse_options: a silly or partial option ends parsing */
		if (i + 1 >= len || (l = o[i + 1]) < 2 || i + l > len)
			return false;
		switch (kind) {
		case TCPOPT_MSS:
			if (syn && l == 4) {
				out->mss = get16(o + i + 2);
				out->has_mss = out->mss != 0;
			}
			break;
		case TCPOPT_WS:
			if (syn && l == 3) {
				/* RFC 7323 §2.3: a shift above 14 is taken as 14 */
				out->ws = o[i + 2] > 14 ? 14 : o[i + 2];
				out->has_ws = true;
			}
			break;
		case TCPOPT_SACK_PERM:
			if (syn && l == 2)
				out->sack_perm = true;
			break;
		case TCPOPT_SACK:
			/* RFC 2018 §3: 2 + 8n bytes; malformed ones ignored */
			if (!syn && l >= 10 && (l - 2) % 8 == 0) {
				out->nsack = (uint8_t)((l - 2) / 8 > 4 ? 4 : (l - 2) / 8);
				for (unsigned b = 0; b < out->nsack; b++) {
					out->sack[b][0] = get32(o + i + 2 + 8 * b);
					out->sack[b][1] = get32(o + i + 6 + 8 * b);
				}
			}
			break;
		case TCPOPT_TS:
			if (l == 10) {
				out->has_ts = true;
				out->tsval = get32(o + i + 2);
				out->tsecr = get32(o + i + 6);
			}
			break;
		}
		i += l;
	}
	return true;
}

static uint32_t ts_now(struct stack *st, const struct tcb *tp)
{
	return (uint32_t)(st->now / STACK_NS_PER_MS) + tp->ts_offset;
}

/* Options from the peer's SYN or SYN-ACK (RFC 9293 §3.7.1, RFC 7323,
 * RFC 2018): each is used only when both sides sent it. */
static void take_syn_options(struct stack *st, struct tcb *tp, const struct tcp_seg *seg)
{
	tp->peer_mss = seg->opt.has_mss ? seg->opt.mss
		       : (tp->wfamily == STACK_AF_INET ? OPT_TCP_DEFAULT_MSS4 : OPT_TCP_DEFAULT_MSS6);
	tp->ws_ok = seg->opt.has_ws;
	tp->snd_wscale = tp->ws_ok ? seg->opt.ws : 0;
	if (!tp->ws_ok)
		tp->rcv_wscale = 0;
	tp->ts_ok = seg->opt.has_ts;
	if (tp->ts_ok) {
		tp->ts_recent = seg->opt.tsval;
		tp->ts_recent_stamp = st->now;
	}
	tp->sack_ok = seg->opt.sack_perm && !st->cfg.tcp_no_sack;
	tcp_update_mss(st, tp);
}

/* RFC 6928: IW = min(10 MSS, max(2 MSS, 14600)). */
static void init_cwnd(struct tcb *tp)
{
	uint32_t iw = OPT_TCP_INIT_CWND * (uint32_t)tp->mss, cap = 2 * (uint32_t)tp->mss;

	if (cap < 14600)
		cap = 14600;
	tp->cwnd = iw < cap ? iw : cap;
	if (tp->cwnd < (uint32_t)tp->mss * OPT_TCP_INIT_CWND && tp->mss <= 1460)
		tp->cwnd = OPT_TCP_INIT_CWND * (uint32_t)tp->mss;
}

/* Linux's tcp_sndbuf_expand: room for twice the congestion window, in
 * payload bytes here (Linux counts buffer overhead, about twice that). */
static void sndbuf_expand(struct tcb *tp)
{
	uint32_t segs = tp->cwnd / (tp->mss ? tp->mss : 1), want;

	if (tp->sndbuf_locked)
		return;
	if (segs < OPT_TCP_INIT_CWND)
		segs = OPT_TCP_INIT_CWND;
	want = 4 * segs * (uint32_t)tp->mss;
	if (want > OPT_TCP_WMEM_MAX)
		want = OPT_TCP_WMEM_MAX;
	if (tp->sndbuf < want)
		tp->sndbuf = want;
}

static void established(struct stack *st, struct tcb *tp)
{
	tcp_set_state(st, tp, TCPS_ESTABLISHED);
	tcp_update_mss(st, tp);
	init_cwnd(tp);
	tp->quickacks = OPT_TCP_MAX_QUICKACKS;
	tp->last_heard = st->now;
	tp->recover = tp->sack_high = tp->snd_una;
	tcp_rack_init(tp);
	tp->delivered = 1; /* the SYN (Linux counts it on both sides) */
	tcp_cc_init(st, tp);
	/* RFC 6298 §5.7: a retried handshake without an RTT sample leaves
	 * an RTO of 3 s (Linux TCP_TIMEOUT_FALLBACK) */
	if (!tp->srtt_us && (tp->backoff || tp->synack_retries))
		tp->rto_us = OPT_TCP_RTO_FALLBACK_US;
	tp->backoff = 0;
	sndbuf_expand(tp);
	tcp_arm_keepalive(st, tp);
}

/* ---- LISTEN ----------------------------------------------------------- */

static void segment_input(struct stack *st, struct tcb *tp, struct pbuf *p, struct tcp_seg *seg);

/* The ACK that completes a cookie handshake (Linux cookie_v4_check ->
 * tcp_get_cookie_sock): the connection is rebuilt from the cookie —
 * the peer's MSS from the table, window scaling and SACK from the TSecr
 * when timestamps are on, neither otherwise — goes straight to
 * ESTABLISHED and into the accept queue, and the segment is then its
 * first (it may carry data).  Returns true when it took p; *rst when the
 * ACK was no cookie and gets the listener's RST. */
static bool cookie_ack_input(struct stack *st, struct tcb *lp, struct pbuf *p, struct tcp_seg *seg,
			     bool *rst)
{
	const struct pbuf_meta *m = &p->meta;
	struct tcp_cookie ck;
	struct tcb *tp;

	*rst = false;
	if (!tcp_cookie_check(st, lp, p, seg, &ck)) {
		*rst = true; /* Linux: the listener's answer to a stray ACK */
		return false;
	}
	/* syn_recv_sock: a full accept queue drops the ACK, no RST; the
	 * peer retransmits, or its data does */
	if (lp->acceptq_len > lp->backlog) {
		DROP(st, TCP, TCP_LISTEN_OVERFLOW);
		return false;
	}
	tp = tcp_new_cookie_child(st, lp, m->dst.family, m->dst.addr, m->dst.port, m->src.addr,
				  m->src.port);
	if (!tp) {
		DROP(st, TCP, TCP_LISTEN_OVERFLOW);
		return false;
	}
	tp->iss = ck.iss;
	tp->snd_una = tp->snd_nxt = tp->snd_max = ck.iss + 1;
	tp->snd_up = tp->snd_sml = ck.iss + 1;
	tp->irs = seg->seq - 1;
	tp->rcv_nxt = seg->seq;
	tp->rcv_adv = tp->rcv_nxt + ck.wnd;
	tp->peer_mss = ck.mss;
	tp->ws_ok = ck.ws_ok;
	tp->snd_wscale = ck.ws;
	tp->rcv_wscale = ck.ws_ok ? OPT_TCP_RCV_WSCALE : 0;
	tp->sack_ok = ck.sack_ok && !st->cfg.tcp_no_sack;
	tp->ts_ok = ck.ts_ok;
	tp->ts_offset = ck.ts_offset;
	if (tp->ts_ok) {
		tp->ts_recent = seg->opt.tsval;
		tp->ts_recent_stamp = st->now;
	}
	/* the ACK itself updates the window: it is newer than the SYN */
	tp->snd_wl1 = tp->irs;
	tp->snd_wl2 = ck.iss;
	tp->retrans_stamp = st->now;
	/* the handshake's RTT from the echo of the cookie's TSval: that
	 * TSval was up to 63 ms older than the SYN-ACK (its low bits carry
	 * options), so the sample errs long by as much — still far closer
	 * than the 1 s initial RTO; without timestamps, no sample */
	if (tp->ts_ok && seg->opt.tsecr)
		tcp_rtt_sample(st, tp, (ts_now(st, tp) - seg->opt.tsecr) * 1000u);
	established(st, tp);
	segment_input(st, tp, p, seg);
	return true;
}

/* Returns true when it took p. */
/* tw_isn: the ISN a SYN that ended a TIME_WAIT must use (0: any). */
static bool listen_input(struct stack *st, struct tcb *lp, struct pbuf *p, struct tcp_seg *seg,
			 uint32_t tw_isn)
{
	const struct pbuf_meta *m = &p->meta;
	struct tcb *tp;

	/* RFC 9293 §3.10.7.2: RST ignored, ACK answered with RST, SYN opens */
	if (seg->flags & TH_RST)
		return false;
	if (seg->flags & TH_ACK) {
		bool rst = true;

		/* an ACK is tried as a cookie only while cookies have been
		 * sent lately (tcp_synq_no_recent_overflow) */
		if (!(seg->flags & TH_SYN) && tcp_cookie_recent(st, lp) &&
		    cookie_ack_input(st, lp, p, seg, &rst))
			return true;
		if (rst)
			tcp_reply_rst(st, p, seg);
		return false;
	}
	if (!(seg->flags & TH_SYN) || (seg->flags & TH_FIN)) {
		DROP(st, TCP, TCP_BAD_FLAGS);
		return false;
	}
	/* Linux tcp_conn_request: a full accept queue drops the SYN, cookie
	 * or not (sk_acceptq_is_full: more than the backlog queued) */
	if (lp->acceptq_len > lp->backlog) {
		DROP(st, TCP, TCP_LISTEN_OVERFLOW);
		return false;
	}
	/* A full SYN queue (inet_csk_reqsk_queue_is_full: backlog requests;
	 * here also at most a quarter of the endpoint table, as our half-open
	 * children are whole endpoints, unlike Linux's request socks: the rest
	 * stays for the connections cookies complete) or no endpoint free:
	 * answer with a SYN cookie and keep nothing
	 * (RFC 4987 §3.6, tcp_syncookies=1), so a SYN flood costs no state. */
	if (lp->synq_len >= lp->backlog ||
	    lp->synq_len >= st->cfg.max_endpoints / OPT_TCP_SYNQ_EP_DIV ||
	    !(tp = tcp_new_child(st, lp, m->dst.family, m->dst.addr, m->dst.port, m->src.addr,
				 m->src.port))) {
		tcp_cookie_synack(st, lp, p, seg);
		return false;
	}
	if (tw_isn)
		tcp_set_iss(tp, tw_isn);
	tp->irs = seg->seq;
	tp->rcv_nxt = seg->seq + 1;
	take_syn_options(st, tp, seg);
	tp->snd_wnd = seg->wnd; /* never scaled in a SYN (RFC 7323 §2.2) */
	tp->max_sndwnd = tp->snd_wnd;
	tp->snd_wl1 = seg->seq;
	tp->last_heard = st->now;
	tp->retrans_stamp = st->now;
	tcp_send_segment(st, tp, TH_SYN | TH_ACK, tp->iss, 0);
	tp->snd_nxt = tp->snd_max = tp->iss + 1;
	tp->rexmit_mode = TRX_RTO;
	tcp_arm_rexmit(st, tp);
	return false;
}

/* The duplicate ACK an unacceptable segment earns (RFC 9293 §3.10.7.4)
 * is rate-limited as Linux's tcp_oow_rate_limited does, sharing the
 * connection's 500 ms with challenge ACKs: two stacks that disagree
 * about a window (or an attacker's spoofed ACKs) cannot drive an endless
 * ACK loop.  Data or a FIN without SYN is always answered: no loop.
 * *next is the connection's (or TIME_WAIT record's) time of the next
 * allowed one; true means hold this ACK back. */
static bool oow_rate_limited(struct stack *st, const struct tcp_seg *seg, stack_ns_t *next)
{
	if ((seg->len || (seg->flags & TH_FIN)) && !(seg->flags & TH_SYN))
		return false;
	if (st->now < *next) {
		st->ctr.tcp_oow_acks_limited++;
		return true;
	}
	*next = st->now + OPT_TCP_INVALID_RATELIMIT_NS;
	return false;
}

/* ---- TIME_WAIT (RFC 9293 §3.10.7.4, Linux tcp_timewait_state_process) -- */

/* Returns true when the segment may open a new connection: a SYN clearly
 * newer than the old incarnation (RFC 6191 §2: a newer timestamp when
 * both sides use them, a higher sequence number otherwise — Linux takes
 * either unless PAWS rejects the SYN).  *isn is then the ISN the new
 * connection must use, above anything the old one sent (Linux:
 * tw_snd_nxt + 65535 + 2), so the peer cannot take an old duplicate of
 * ours for new data. */
static bool tw_input(struct stack *st, struct tcp_tw *tw, const struct tcp_seg *seg,
		     uint32_t *isn)
{
	struct tcp_opts ts = {0};
	bool rst = seg->flags & TH_RST;
	bool has_ts = tw->ts_ok && seg->opt.has_ts;
	/* RFC 7323 §5.3 PAWS (Linux tcp_paws_reject: a window of 1, RSTs
	 * exempt) */
	bool paws_reject = has_ts && !rst && (int32_t)(tw->ts_recent - seg->opt.tsval) > 1;

	if (!paws_reject && seg->seq == tw->rcv_nxt && (seg->len == 0 || rst) &&
	    !(seg->flags & (TH_SYN | TH_FIN))) {
		/* in window: only an RST or a bare ACK can be, and neither is
		 * answered (Linux tcp_timewait_state_process) */
		if (rst && st->cfg.tcp_rfc1337_off) {
			tcp_tw_free(st, tw);
			return false;
		}
		/* RFC 1337 §3: TIME_WAIT ignores RSTs, so an old duplicate
		 * cannot end it early ("TIME-WAIT assassination") */
		if (!rst)
			timer_arm(st, &tw->timer, st->now + OPT_TCP_TIMEWAIT_NS);
		if (has_ts && (int32_t)(seg->opt.tsval - tw->ts_recent) > 0)
			tw->ts_recent = seg->opt.tsval;
		return false;
	}
	if ((seg->flags & (TH_SYN | TH_RST | TH_ACK)) == TH_SYN && !paws_reject &&
	    (SEQ_GT(seg->seq, tw->rcv_nxt) ||
	     (has_ts && (int32_t)(seg->opt.tsval - tw->ts_recent) > 0))) {
		*isn = tw->snd_nxt + 65535 + 2;
		if (*isn == 0)
			*isn = 1;
		tcp_tw_free(st, tw);
		return true;
	}
	if (rst)
		return false; /* out of window: ignored */
	if (paws_reject)
		DROP(st, TCP, TCP_PAWS);
	/* anything else gets an ACK; the 2 MSL restart (RFC 9293 §3.10.7.4,
	 * for a retransmitted FIN) for ACK-bearing or PAWS-rejected ones — an
	 * ACK-less SYN below rcv_nxt may be a new SYN with a random ISN */
	if (paws_reject || (seg->flags & TH_ACK))
		timer_arm(st, &tw->timer, st->now + OPT_TCP_TIMEWAIT_NS);
	if (oow_rate_limited(st, seg, &tw->oow_next))
		return false;
	if (tw->ts_ok) {
		ts.has_ts = true;
		ts.tsval = (uint32_t)(st->now / STACK_NS_PER_MS) + tw->ts_offset;
		ts.tsecr = seg->opt.has_ts ? seg->opt.tsval : tw->ts_recent;
	}
	tcp_send_raw(st, tw->family, tw->laddr, tw->raddr, tw->lport, tw->rport, tw->snd_nxt,
		     tw->rcv_nxt, TH_ACK, tw->wnd, tw->ts_ok ? &ts : NULL);
	return false;
}

/* ---- SYN-SENT (RFC 9293 §3.10.7.3) -------------------------------------- */

static void syn_sent_input(struct stack *st, struct tcb *tp, struct pbuf *p,
			   const struct tcp_seg *seg)
{
	bool ack_ok = false;

	if (seg->flags & TH_ACK) {
		if (SEQ_LEQ(seg->ack, tp->iss) || SEQ_GT(seg->ack, tp->snd_max)) {
			if (!(seg->flags & TH_RST))
				tcp_reply_rst(st, p, seg);
			DROP(st, TCP, TCP_BAD_ACK);
			return;
		}
		ack_ok = true;
	}
	if (seg->flags & TH_RST) {
		if (ack_ok)
			tcp_drop(st, tp, ECONNREFUSED);
		return;
	}
	if (!(seg->flags & TH_SYN))
		return;
	tp->irs = seg->seq;
	tp->rcv_nxt = seg->seq + 1;
	/* our SYN offered its window before rcv_nxt was known: anchor it */
	tp->rcv_adv = tp->rcv_nxt + (tcp_rcv_space(st, tp) > 65535 ? 65535 : tcp_rcv_space(st, tp));
	take_syn_options(st, tp, seg);
	tp->snd_wnd = seg->wnd;
	tp->max_sndwnd = tp->snd_wnd;
	tp->snd_wl1 = seg->seq;
	tp->snd_wl2 = seg->ack;
	tp->last_heard = st->now;
	if (ack_ok) {
		/* Karn: time the SYN only if it was not retransmitted */
		if (tp->ts_ok && seg->opt.tsecr)
			tcp_rtt_sample(st, tp, (ts_now(st, tp) - seg->opt.tsecr) * 1000u);
		else if (tp->backoff == 0)
			tcp_rtt_sample(st, tp, (uint32_t)((st->now - tp->retrans_stamp) / 1000));
		tp->snd_una = seg->ack;
		timer_cancel(st, &tp->t_rexmit);
		established(st, tp);
		tp->ack_now = 1;
		tcp_output(st, tp);
		return;
	}
	/* simultaneous open (RFC 9293 §3.5, figure 8) */
	tcp_set_state(st, tp, TCPS_SYN_RECEIVED);
	tcp_send_segment(st, tp, TH_SYN | TH_ACK, tp->iss, 0);
}

/* ---- the synchronized states ------------------------------------------- */

/* RFC 9293 §3.10.7.4 "first, check sequence number" table. */
static bool acceptable(const struct tcb *tp, uint32_t seq, uint32_t seglen, uint32_t rwnd)
{
	if (seglen == 0) {
		if (rwnd == 0)
			return seq == tp->rcv_nxt;
		return SEQ_GEQ(seq, tp->rcv_nxt) && SEQ_LT(seq, tp->rcv_nxt + rwnd);
	}
	if (rwnd == 0)
		return false;
	return (SEQ_GEQ(seq, tp->rcv_nxt) && SEQ_LT(seq, tp->rcv_nxt + rwnd)) ||
	       (SEQ_GEQ(seq + seglen - 1, tp->rcv_nxt) && SEQ_LT(seq + seglen - 1, tp->rcv_nxt + rwnd));
}

/* The send queue lost its first n bytes to an ACK. */
static void sndq_trim(struct stack *st, struct tcb *tp, uint32_t n)
{
	tp->sndq_bytes -= n;
	while (n) {
		struct pbuf *p = STAILQ_FIRST(&tp->sndq);

		if (!p)
			break;
		if (p->len <= n) {
			n -= p->len;
			STAILQ_REMOVE_HEAD(&tp->sndq, next);
			if (tp->snd_cur == p)
				tp->snd_cur = NULL;
			pbuf_free(st, p);
		} else {
			pbuf_pull(p, n);
			if (tp->snd_cur == p)
				tp->snd_cur = NULL;
			n = 0;
		}
	}
}

void tcp_undo_arm(struct tcb *tp)
{
	tp->undo_cwnd = tp->cwnd;
	tp->undo_ssthresh = tp->ssthresh;
	tp->undo_marker = tp->undo_rxt_end = tp->snd_una;
	tp->undo_retrans = 0;
	tp->undo_ts = 0;
	tp->undo_ok = 1;
}

/* The episode was spurious (RFC 4015 §2, Linux's tcp_undo_cwnd_reduction):
 * the window as it was before it, and on with new data. */
static void undo(struct stack *st, struct tcb *tp)
{
	if (tcp_cc_controls(tp))
		tcp_cc_undo(st, tp); /* the algorithm's cwnd was never cut */
	else if (tp->cwnd < tp->undo_cwnd)
		tp->cwnd = tp->undo_cwnd;
	if (tp->ssthresh < tp->undo_ssthresh)
		tp->ssthresh = tp->undo_ssthresh;
	if (tp->in_recovery)
		tcp_rack_recovery_done(tp);
	tp->in_recovery = 0;
	tp->rto_rec = 0;
	tp->sack_rec = 0;
	tp->undo_ok = 0;
	tp->undo_ts = 0;
	tp->retransmits = 0;
	tp->backoff = 0;
	tp->recover = tp->snd_una;
	tcp_tx_unmark_lost(tp); /* Linux's tcp_undo_cwnd_reduction(unmark_loss) */
	if (SEQ_LT(tp->snd_nxt, tp->snd_max))
		tp->snd_nxt = tp->snd_max; /* a timeout's go-back ends */
	tp->snd_cur = NULL;
	tp->undos++;
	st->ctr.tcp_undos++;
}

/* RFC 6675 §5 with RACK saying what is lost (RFC 8985 §6.2): ssthresh
 * from the connection's algorithm (tcp_cc.c), cwnd = ssthresh, the first
 * lost segment resent at once (step 4.3), the rest by pipe in tcp_output.
 * reduce is false when this ACK already cut the window (a tail loss
 * probe's repair, as Linux's recovery does not cut twice in CWR).  An
 * algorithm that sets cwnd itself (BBR) is only told; it decides on the
 * ACK (Linux: PRR and the reset to ssthresh are skipped for
 * cong_control). */
static void sack_recovery(struct stack *st, struct tcb *tp, bool reduce)
{
	struct tcp_txrec *r;

	if (reduce) {
		tcp_undo_arm(tp);
		tcp_cc_loss(st, tp);
		if (!tcp_cc_controls(tp))
			tp->cwnd = tp->ssthresh;
	}
	tp->recover = tp->snd_max;
	tp->in_recovery = 1;
	tp->sack_rec = 1;
	tp->rtt_timing = 0;
	tp->tlp_out = 0;
	tp->lost_segs++;
	st->ctr.tcp_sack_recoveries++;
	if ((r = tcp_sack_next_lost(tp, NULL)) != NULL)
		tcp_resend_rec(st, tp, r);
	if (tp->rexmit_mode == TRX_TLP)
		tcp_arm_rto_tlp(st, tp); /* no probe during recovery */
}

void tcp_enter_sack_recovery(struct stack *st, struct tcb *tp) { sack_recovery(st, tp, true); }

/* Without SACK: RFC 6582 NewReno, cwnd inflated by the three duplicates,
 * one hole per partial ACK. */
static void reno_recovery(struct stack *st, struct tcb *tp)
{
	tcp_undo_arm(tp);
	tcp_cc_loss(st, tp);
	tp->recover = tp->snd_max;
	tp->in_recovery = 1;
	tp->sack_rec = 0;
	tp->rtt_timing = 0;
	tp->tlp_out = 0;
	tp->lost_segs++;
	st->ctr.tcp_reno_recoveries++;
	tp->cwnd = tp->ssthresh + 3u * tp->mss;
	tcp_resend(st, tp, tp->snd_una, tp->mss);
	tcp_arm_rto_tlp(st, tp);
}

void tcp_rack_arm(struct stack *st, struct tcb *tp, stack_ns_t timeout)
{
	if (timeout && tp->snd_una != tp->snd_max) {
		/* RFC 8985 §6.3: the reordering timer, in place of the RTO
		 * or the probe, which it arms again when it has fired */
		tp->rexmit_mode = TRX_REO;
		timer_arm(st, &tp->t_rexmit, st->now + timeout);
		return;
	}
	if (tp->rexmit_mode != TRX_REO)
		return;
	if (tp->snd_una == tp->snd_max) {
		timer_cancel(st, &tp->t_rexmit);
		tp->rexmit_mode = TRX_RTO;
	} else {
		tcp_arm_rto_tlp(st, tp);
	}
}

/* Was the window the limit before this ACK?  Growing cwnd when the
 * application or the peer's window held the sender back makes it
 * meaningless (RFC 7661 §4; Linux's tcp_is_cwnd_limited). */
static bool cwnd_limited(const struct tcb *tp, uint32_t acked)
{
	uint32_t flight = tp->snd_max - tp->snd_una + acked;

	if (tp->cwnd < tp->ssthresh) /* slow start: up to twice the flight */
		return tp->cwnd < 2 * flight;
	return flight + 3u * tp->mss >= tp->cwnd;
}

/* ACK processing (RFC 9293 §3.10.7.4 "fifth, check the ACK field").
 * Returns false when the connection is gone. */
static bool ack_input(struct stack *st, struct tcb *tp, const struct tcp_seg *seg)
{
	uint32_t wnd = (uint32_t)seg->wnd << tp->snd_wscale;
	uint32_t end = tcp_data_end(tp);
	bool fin_acked = false, dup = false, dsack = false, tlp_cut = false;
	bool advanced = SEQ_GT(seg->ack, tp->snd_una);
	uint32_t delivered_before = tp->delivered_bytes;
	struct tcp_ackstate as;
	struct tcp_sackblk ds;

	tcp_rack_ack_begin(tp, seg, &as);
	if (SEQ_GT(seg->ack, tp->snd_una)) {
		uint32_t acked = seg->ack - tp->snd_una, data = acked;

		if (tp->fin_queued && !tp->fin_acked && SEQ_GT(seg->ack, end)) {
			fin_acked = true;
			tp->fin_acked = 1;
			data = end - tp->snd_una;
		}
		sndq_trim(st, tp, data);
		if (tp->sndq_bytes < tp->sndbuf) /* room again; or all acknowledged */
			tcp_chrono_stop(st, tp, TCP_CHRONO_SNDBUF);
		tp->snd_una = seg->ack;
		if (SEQ_LT(tp->snd_nxt, tp->snd_una))
			tp->snd_nxt = tp->snd_una;
		tp->bytes_acked += data;
		if (!tp->sack_ok && tp->mss) /* no records: segments by size */
			tp->delivered += (data + tp->mss - 1) / tp->mss;
		/* RTT: timestamps give a sample for every ACK of new data
		 * (RFC 7323 §4); otherwise the timed segment, Karn-style */
		/* (the timed segment first: it measures microseconds, the
		 * millisecond timestamp clock says 0 on a fast path) */
		if (tp->rtt_timing && SEQ_GT(seg->ack, tp->rtt_seq))
			tcp_rtt_sample(st, tp, (uint32_t)((st->now - tp->rtt_start) / 1000));
		else if (tp->ts_ok && seg->opt.has_ts && seg->opt.tsecr)
			tcp_rtt_sample(st, tp, (ts_now(st, tp) - seg->opt.tsecr) * 1000u);
		if (tp->rtt_timing && SEQ_GT(seg->ack, tp->rtt_seq))
			tp->rtt_timing = 0;
		/* RFC 3522: the first ACK after a retransmission echoes a
		 * timestamp older than it — the original arrived */
		if (tp->undo_ts) {
			tp->undo_ts = 0;
			if (tp->undo_ok && tp->ts_ok && seg->opt.has_ts && seg->opt.tsecr &&
			    (int32_t)(seg->opt.tsecr - tp->undo_tsval) < 0)
				undo(st, tp);
		}
		tp->backoff = 0;
		tp->retransmits = 0;
		tp->retrans_stamp = st->now;
		tcp_tx_acked(st, tp, &as);
		if (!TAILQ_EMPTY(&tp->txq) && (TAILQ_FIRST(&tp->txq)->flags & TXR_SACKED)) {
			/* the peer dropped data it had SACKed (RFC 2018 §8
			 * reneging): none of what it said counts */
			tcp_sack_reset(tp);
		}
		if (tp->in_recovery) {
			if (SEQ_GEQ(seg->ack, tp->recover)) {
				/* RFC 6582 §3.2 step 3; after a timeout the
				 * window slow start has grown stays; BBR
				 * gives back its own (tcp_cc_control) */
				if (!tp->rto_rec && !tcp_cc_controls(tp))
					tp->cwnd = tp->ssthresh;
				tp->rto_rec = 0;
				tp->in_recovery = 0;
				tp->sack_rec = 0;
				tcp_rack_recovery_done(tp);
			} else if (tp->rto_rec) {
				if (!tcp_cc_controls(tp))
					tcp_cc_ack(st, tp, acked); /* slow start */
			} else if (!tp->sack_rec) {
				/* NewReno partial ACK: the next hole goes now
				 * (RFC 6582 §3.2 step 5) */
				tcp_resend(st, tp, tp->snd_una, tp->mss);
				tp->cwnd = tp->cwnd > acked ? tp->cwnd - acked + tp->mss : tp->mss;
			}
		} else if (!tcp_cc_controls(tp) && cwnd_limited(tp, acked)) {
			tcp_cc_ack(st, tp, acked);
		}
		tp->dupacks = 0;
		if (tp->snd_una == tp->snd_max) {
			timer_cancel(st, &tp->t_rexmit);
		} else {
			tcp_arm_rto_tlp(st, tp); /* RFC 6298 §5.3 */
		}
		sndbuf_expand(tp);
		tcp_wakeup(st, tp);
	} else if (seg->ack == tp->snd_una && seg->len == 0 && !(seg->flags & (TH_FIN | TH_SYN)) &&
		   wnd == tp->snd_wnd && tp->snd_una != tp->snd_max) {
		/* RFC 5681 §2 duplicate ACK */
		tp->dupacks++;
		dup = true;
	}
	if (tp->sack_ok && seg->opt.nsack) {
		tcp_sack_input(st, tp, &seg->opt, seg->ack, &ds, &dsack, &as);
		if (dsack) {
			tp->dsacks++;
			st->ctr.tcp_dsacks++;
			if (tp->tlp_out && tp->tlp_rxt && SEQ_LEQ(ds.end, tp->tlp_high))
				tp->tlp_dsacked = 1;
			/* RFC 2883 §4.2 / Linux's undo_retrans: when every
			 * retransmission of the episode comes back as a
			 * duplicate, none was needed (a duplicate of data we
			 * never resent is the network's, not ours) */
			if (tp->undo_ok && tp->undo_retrans > 0 && SEQ_GEQ(ds.start, tp->undo_marker) &&
			    SEQ_LEQ(ds.end, tp->undo_rxt_end) && --tp->undo_retrans == 0)
				undo(st, tp);
		}
	}
	if (tp->tlp_out && (SEQ_GT(tp->snd_una, tp->tlp_high) || tp->tlp_dsacked)) {
		/* RFC 8985 §7.4.2: judged once the ACK goes past the probe
		 * or D-SACKs it — a resent tail the peer did not report
		 * twice was lost: a loss for the window */
		if (tp->tlp_rxt && !tp->tlp_dsacked) {
			/* ...unless a D-SACK for the probe comes later: then
			 * undo() gives the window back */
			tcp_undo_arm(tp);
			tp->undo_marker = tp->tlp_seq;
			tp->undo_retrans = 1;
			tp->undo_rxt_end = tp->tlp_high;
			tcp_cc_loss(st, tp);
			if (!tcp_cc_controls(tp))
				tp->cwnd = tp->ssthresh;
			tp->lost_segs++;
			tlp_cut = true;
		}
		tp->tlp_out = 0;
	}
	if (tp->sack_ok) {
		stack_ns_t timeout;
		struct tcp_txrec *head = TAILQ_FIRST(&tp->txq);
		unsigned lost;

		/* RACK (RFC 8985 §6.2) decides what is lost */
		tcp_rack_ack_done(st, tp, &as, dsack);
		tcp_rate_gen(st, tp, &as);
		lost = tcp_rack_detect_loss(st, tp, &timeout);
		/* RFC 6675 §5 step 4 for a peer whose duplicate ACKs carry no
		 * SACK blocks: DupThresh of them and the first segment is lost */
		if (dup && tp->dupacks >= OPT_TCP_DUPTHRESH && !tp->sacked_bytes && !tp->in_recovery &&
		    head && !(head->flags & TXR_LOST))
			tcp_tx_mark_lost(st, tp, head);
		if (tp->lost_wait && !tp->in_recovery)
			sack_recovery(st, tp, !tlp_cut);
		if (tcp_cc_controls(tp)) {
			/* BBR: every ACK, once recovery has had its say
			 * (Linux's tcp_cong_control after tcp_fastretrans_alert) */
			struct tcp_cc_sample rs = {
				.acked = tp->delivered_bytes - delivered_before,
				.losses = lost,
				.have_prior = as.rs_have,
				.prior_delivered = as.rs_prior,
				.delivered = as.rs_delivered,
				.interval = as.rs_interval,
				.app_limited = as.rs_app_limited,
				.rtt = as.sampled ? (as.min_sample ? as.min_sample : 1) : 0,
			};

			tcp_cc_control(st, tp, &rs);
		}
		tcp_rack_arm(st, tp, timeout);
	} else if (!tp->in_recovery && tp->snd_una != tp->snd_max && SEQ_GEQ(tp->snd_una, tp->recover) &&
		   !tp->retransmits && dup && tp->dupacks == OPT_TCP_DUPTHRESH) {
		reno_recovery(st, tp); /* RFC 5681 §3.2 */
	} else if (dup && tp->in_recovery && !tp->sack_rec && tp->dupacks > OPT_TCP_DUPTHRESH) {
		tp->cwnd += tp->mss; /* RFC 6582 §3.2 step 4: inflation */
	}
	/* RFC 9293 §3.10.7.4: window update from a newer segment — and, as
	 * Linux's tcp_may_update_window, from any ACK of new data: the peer
	 * resending a hole carries a sequence number below SND.WL1 (set by
	 * its later ACKs), yet its window is the newest.  Keeping the older
	 * window while SND.UNA advanced put our right edge beyond the peer's:
	 * the data there was dropped and our ACKs, numbered past its window,
	 * ignored — both sides waited on each other's timeouts for good. */
	if (advanced || SEQ_LT(tp->snd_wl1, seg->seq) ||
	    (tp->snd_wl1 == seg->seq && SEQ_LEQ(tp->snd_wl2, seg->ack))) {
		if (tp->snd_wnd == 0 && wnd && tp->sack_ok && tp->rxt_bytes) {
			/* resends made while the window was shut were dropped
			 * by the peer: pipe must not count them, or recovery
			 * after a timeout waits for the next, backed-off one */
			tcp_tx_resends_lost(tp);
		}
		tp->snd_wnd = wnd;
		if (wnd > tp->max_sndwnd)
			tp->max_sndwnd = wnd;
		tp->snd_wl1 = seg->seq;
		tp->snd_wl2 = seg->ack;
		if (wnd && tp->rexmit_mode == TRX_PERSIST && tp->t_rexmit.armed) {
			timer_cancel(st, &tp->t_rexmit);
			tp->rexmit_mode = TRX_RTO;
			tp->backoff = 0;
			tp->probes = 0;
		}
	}
	if (!fin_acked)
		return true;
	switch (tp->state) {
	case TCPS_FIN_WAIT_1:
		tcp_set_state(st, tp, TCPS_FIN_WAIT_2);
		tcp_arm_keepalive(st, tp); /* the orphan FIN_WAIT_2 timeout */
		return true;
	case TCPS_CLOSING:
		tcp_time_wait(st, tp);
		return false;
	case TCPS_LAST_ACK:
		tp->done = 1;
		tcp_done(st, tp);
		return false;
	default:
		return true;
	}
}

/* Append in-order payload to the receive queue; an urgent byte is taken
 * out of the stream unless SO_OOBINLINE (BSD semantics, as Linux). */
static void deliver(struct stack *st, struct tcb *tp, struct pbuf *p, uint32_t seq)
{
	uint32_t len = p->len;

	if (tp->urg_have && !tp->oob_inline && SEQ_GEQ(tp->urg_seq, seq) &&
	    SEQ_LT(tp->urg_seq, seq + len)) {
		uint32_t at = tp->urg_seq - seq;
		uint8_t *d = pbuf_data(p);

		tp->oob_byte = d[at];
		tp->oob_have = 1;
		tp->urg_have = 0;
		memmove(d + at, d + at + 1, p->len - at - 1);
		p->len--;
	}
	tp->rcv_nxt += len;
	tp->bytes_received += len;
	if (p->len) {
		tp->rcvq_bytes += p->len;
		STAILQ_INSERT_TAIL(&tp->rcvq, p, next);
	} else {
		pbuf_free(st, p);
	}
}

static bool fin_input(struct stack *st, struct tcb *tp);

/* Segments that now follow rcv_nxt move from the out-of-order queue. */
static bool ooq_drain(struct stack *st, struct tcb *tp)
{
	struct pbuf *q;

	while ((q = STAILQ_FIRST(&tp->ooq)) != NULL && SEQ_LEQ((uint32_t)q->t, tp->rcv_nxt)) {
		uint32_t seq = (uint32_t)q->t, end = seq + q->len;
		bool fin = q->flags & PBUF_F_FIN;

		STAILQ_REMOVE_HEAD(&tp->ooq, next);
		tp->ooq_bytes -= q->len;
		tp->ooq_segs--;
		if (SEQ_LEQ(end, tp->rcv_nxt) && !(fin && end == tp->rcv_nxt)) {
			pbuf_free(st, q);
			continue;
		}
		pbuf_pull(q, tp->rcv_nxt - seq);
		deliver(st, tp, q, tp->rcv_nxt);
		if (fin && !fin_input(st, tp))
			return false;
	}
	return true;
}

/* Over a bound of the out-of-order queue (OPT_TCP_OOQ_SEGS, _BYTES), the
 * segments with the highest sequence numbers go first, down to the one
 * just inserted, which goes itself if that is not enough: the segments
 * nearest the hole are the ones that let the queue drain once it fills,
 * and a peer that scattered tiny segments far ahead cannot keep out the
 * ones that matter (Linux tcp_prune_ofo_queue; RFC 2018 §8 lets a
 * receiver renege on what it SACKed). */
static void ooq_prune(struct stack *st, struct tcb *tp)
{
	while (tp->ooq_segs > OPT_TCP_OOQ_SEGS || tp->ooq_bytes > OPT_TCP_OOQ_BYTES) {
		struct pbuf *q = STAILQ_FIRST(&tp->ooq), *prev = NULL;

		while (STAILQ_NEXT(q, next)) {
			prev = q;
			q = STAILQ_NEXT(q, next);
		}
		if (tp->ooq_segs > OPT_TCP_OOQ_SEGS)
			DROP(st, TCP, TCP_OOQ_FULL);
		else
			DROP(st, TCP, TCP_OOQ_BYTES);
		if (prev)
			STAILQ_REMOVE_AFTER(&tp->ooq, prev, next);
		else
			STAILQ_REMOVE_HEAD(&tp->ooq, next);
		tp->ooq_bytes -= q->len;
		tp->ooq_segs--;
		pbuf_free(st, q);
	}
}

/* Keep a segment beyond a hole, sorted, overlaps trimmed, within limits. */
static void ooq_insert(struct stack *st, struct tcb *tp, struct pbuf *p, uint32_t seq, bool fin)
{
	struct pbuf *q, *prev = NULL;
	uint32_t end = seq + p->len;

	tp->sack_last = seq;
	STAILQ_FOREACH(q, &tp->ooq, next) {
		if (SEQ_GT((uint32_t)q->t, seq))
			break;
		prev = q;
	}
	if (prev && SEQ_GT((uint32_t)prev->t + prev->len, seq)) {
		uint32_t pend = (uint32_t)prev->t + prev->len;

		if (SEQ_GEQ(pend, end) && !fin) {
			tp->dsack = 1; /* already held: a duplicate (RFC 2883) */
			tp->dsack_start = seq;
			tp->dsack_end = end;
			pbuf_free(st, p);
			return;
		}
		if (SEQ_GT(pend, end))
			pend = end;
		pbuf_pull(p, pend - seq);
		seq = pend;
	}
	/* drop held segments the new one covers entirely, trim at the next */
	while ((q = prev ? STAILQ_NEXT(prev, next) : STAILQ_FIRST(&tp->ooq)) != NULL &&
	       SEQ_LT((uint32_t)q->t, end)) {
		uint32_t qend = (uint32_t)q->t + q->len;

		if (SEQ_LEQ(qend, end) && !(q->flags & PBUF_F_FIN)) {
			if (prev)
				STAILQ_REMOVE_AFTER(&tp->ooq, prev, next);
			else
				STAILQ_REMOVE_HEAD(&tp->ooq, next);
			tp->ooq_bytes -= q->len;
			tp->ooq_segs--;
			pbuf_free(st, q);
			continue;
		}
		pbuf_trim(p, (uint32_t)q->t - seq);
		end = seq + p->len;
		fin = false;
		break;
	}
	p->t = seq;
	p->flags = (uint8_t)((p->flags & ~PBUF_F_FIN) | (fin ? PBUF_F_FIN : 0));
	if (prev)
		STAILQ_INSERT_AFTER(&tp->ooq, prev, p, next);
	else
		STAILQ_INSERT_HEAD(&tp->ooq, p, next);
	tp->ooq_bytes += p->len;
	tp->ooq_segs++;
	ooq_prune(st, tp);
}

/* Linux's tcp_event_data_recv: the delayed-ACK timeout follows the
 * spacing of arriving data, between 40 ms and the RTO. */
static void ato_update(struct stack *st, struct tcb *tp)
{
	uint32_t m = (uint32_t)((st->now - tp->last_rcv) / 1000), half = OPT_TCP_ATO_MIN_US / 2;

	if (tp->last_rcv == 0) {
		tp->ato_us = OPT_TCP_ATO_MIN_US;
	} else if (m <= half) {
		tp->ato_us = tp->ato_us / 2 + half;
	} else if (m < tp->ato_us) {
		tp->ato_us = tp->ato_us / 2 + m;
		if (tp->ato_us > tp->rto_us)
			tp->ato_us = tp->rto_us;
	}
	if (tp->ato_us < OPT_TCP_ATO_MIN_US)
		tp->ato_us = OPT_TCP_ATO_MIN_US;
	tp->last_rcv = st->now;
}

/* The peer's FIN is in sequence (RFC 9293 §3.10.7.4 "eighth"). */
static bool fin_input(struct stack *st, struct tcb *tp)
{
	if (tp->fin_rcvd)
		return true;
	tp->fin_rcvd = 1;
	tp->rcv_nxt++;
	tp->ack_now = 1;
	switch (tp->state) {
	case TCPS_SYN_RECEIVED:
	case TCPS_ESTABLISHED:
		tcp_set_state(st, tp, TCPS_CLOSE_WAIT);
		break;
	case TCPS_FIN_WAIT_1:
		/* our FIN not yet acknowledged: simultaneous close */
		tcp_set_state(st, tp, TCPS_CLOSING);
		break;
	case TCPS_FIN_WAIT_2:
		tcp_send_ack(st, tp);
		tcp_time_wait(st, tp);
		return false;
	default:
		break;
	}
	tcp_wakeup(st, tp);
	return true;
}

static void reset_input(struct stack *st, struct tcb *tp)
{
	/* Linux's tcp_reset: the errno depends on the state */
	switch (tp->state) {
	case TCPS_SYN_RECEIVED:
		if (ep_of_tcb(st, tp)->hidden) {
			tcp_done(st, tp); /* back to LISTEN: the child goes */
			return;
		}
		tcp_drop(st, tp, ECONNREFUSED);
		return;
	case TCPS_CLOSE_WAIT:
		tcp_drop(st, tp, EPIPE);
		return;
	default:
		tcp_drop(st, tp, ECONNRESET);
	}
}

/* RFC 5961 §7 ACK throttling, as Linux's tcp_send_challenge_ack: at most
 * one challenge ACK per connection each 500 ms (__tcp_oow_rate_limited,
 * tcp_invalid_ratelimit), and a budget per second for the whole stack,
 * drawn anew each second between half and one and a half times the limit
 * so that an off-path attacker cannot count it down (CVE-2016-5696). */
static void challenge_ack(struct stack *st, struct tcb *tp)
{
	uint64_t sec = st->now / STACK_NS_PER_S + 1;

	if (st->now < tp->oow_next) {
		st->ctr.tcp_challenge_acks_limited++;
		return;
	}
	tp->oow_next = st->now + OPT_TCP_INVALID_RATELIMIT_NS;
	if (st->tcp_challenge_sec != sec) {
		st->tcp_challenge_sec = sec;
		st->tcp_challenge_left = (OPT_TCP_CHALLENGE_ACK_LIMIT + 1) / 2 +
					 rand_u32(st) % OPT_TCP_CHALLENGE_ACK_LIMIT;
	}
	if (!st->tcp_challenge_left) {
		st->ctr.tcp_challenge_acks_limited++;
		return;
	}
	st->tcp_challenge_left--;
	st->ctr.tcp_challenge_acks++;
	tcp_send_ack(st, tp);
}

/* The receiver's estimate of the round trip (TCP_INFO rcv_rtt; Linux's
 * tcp_rcv_rtt_measure_ts): a data segment of at least the peer's usual
 * size echoing a TSval not seen before took, with its TSval's ACK, one
 * round trip.  The estimate keeps the minimum, or eases towards a larger
 * sample by an eighth (8 times the estimate is stored, as Linux). */
static void rcv_rtt_measure(struct stack *st, struct tcb *tp, const struct tcp_seg *seg)
{
	uint32_t sample;

	if (seg->len > tp->rcv_mss)
		tp->rcv_mss = seg->len; /* Linux's tcp_measure_rcv_mss, simplified */
	if (!seg->len || !tp->ts_ok || !seg->opt.has_ts || !seg->opt.tsecr ||
	    seg->opt.tsecr == tp->rcv_rtt_tsecr)
		return;
	tp->rcv_rtt_tsecr = seg->opt.tsecr;
	if (seg->len < tp->rcv_mss || (int32_t)(ts_now(st, tp) - seg->opt.tsecr) < 0)
		return;
	sample = (ts_now(st, tp) - seg->opt.tsecr) * 1000u; /* µs; our TSvals are ms */
	if (!tp->rcv_rtt8 || (uint64_t)sample * 8 < tp->rcv_rtt8)
		tp->rcv_rtt8 = sample * 8;
	else
		tp->rcv_rtt8 = tp->rcv_rtt8 - tp->rcv_rtt8 / 8 + sample;
}

static void segment_input(struct stack *st, struct tcb *tp, struct pbuf *p, struct tcp_seg *seg)
{
	uint32_t rwnd = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;
	uint32_t seglen = seg->len + !!(seg->flags & TH_SYN) + !!(seg->flags & TH_FIN);
	uint32_t seq = seg->seq;
	struct ep *e = ep_of_tcb(st, tp);

	/* SYN-RECEIVED and the peer's SYN again: alone, our SYN-ACK was lost
	 * (send it again); with an ACK, it is the peer's SYN-ACK of a
	 * simultaneous open, whose SYN we have already counted. */
	if (tp->state == TCPS_SYN_RECEIVED && (seg->flags & (TH_SYN | TH_RST)) == TH_SYN &&
	    seq == tp->irs) {
		if (!(seg->flags & TH_ACK)) {
			tcp_send_segment(st, tp, TH_SYN | TH_ACK, tp->iss, 0);
			goto drop;
		}
		seg->flags &= (uint8_t)~TH_SYN;
		seq++;
		seglen--;
	}
	/* RFC 7323 §5.3 PAWS: an older timestamp is a stale duplicate */
	if (tp->ts_ok && seg->opt.has_ts && !(seg->flags & TH_RST) &&
	    (int32_t)(seg->opt.tsval - tp->ts_recent) < 0 &&
	    st->now - tp->ts_recent_stamp < 24ull * 86400 * STACK_NS_PER_S) {
		DROP(st, TCP, TCP_PAWS);
		if (!oow_rate_limited(st, seg, &tp->oow_next))
			tcp_send_ack(st, tp);
		goto drop;
	}
	if (!acceptable(tp, seq, seglen, rwnd)) {
		/* a zero window still takes ACKs, URGs and RSTs at rcv_nxt */
		if (!(rwnd == 0 && seq == tp->rcv_nxt)) {
			DROP(st, TCP, TCP_OUT_OF_WINDOW);
			if (seg->len && SEQ_LEQ(seq + seg->len, tp->rcv_nxt)) {
				/* all of it seen before: D-SACK it (RFC 2883) */
				tp->dsack = 1;
				tp->dsack_start = seq;
				tp->dsack_end = seq + seg->len;
			}
			if (!(seg->flags & TH_RST) &&
			    !oow_rate_limited(st, seg, &tp->oow_next))
				tcp_send_ack(st, tp);
			goto drop;
		}
		if (seg->len)
			tp->ack_now = 1; /* data into a zero window: say so */
		seg->len = 0;
		seg->flags &= (uint8_t)~TH_FIN;
		pbuf_trim(p, 0);
	}
	/* trim what is before rcv_nxt and after the window */
	if (SEQ_LT(seq, tp->rcv_nxt)) {
		uint32_t d = tp->rcv_nxt - seq;

		if (seg->flags & TH_SYN) {
			seg->flags &= (uint8_t)~TH_SYN;
			seq++;
			d--;
		}
		if (d >= seg->len) {
			if (d > seg->len)
				seg->flags &= (uint8_t)~TH_FIN; /* an old FIN */
			d = seg->len;
		}
		if (d) {
			/* RFC 2883: tell the sender it sent this twice */
			tp->dsack = 1;
			tp->dsack_start = seq;
			tp->dsack_end = seq + d;
		}
		pbuf_pull(p, d);
		seg->len -= d;
		seq += d;
		tp->ack_now = 1; /* a duplicate: tell the peer where we are */
	}
	if (seg->len && SEQ_GT(seq + seg->len, tp->rcv_nxt + rwnd)) {
		uint32_t keep = rwnd - (seq - tp->rcv_nxt);

		pbuf_trim(p, keep);
		seg->len = keep;
		seg->flags &= (uint8_t)~TH_FIN;
		tp->ack_now = 1;
	}
	/* RST (RFC 9293 §3.10.7.4 "second", RFC 5961 §3.2: only an exact
	 * match resets; in the window otherwise: challenge ACK) */
	if (seg->flags & TH_RST) {
		if (seq != tp->rcv_nxt) {
			challenge_ack(st, tp);
			goto drop;
		}
		reset_input(st, tp);
		goto drop;
	}
	/* SYN in a synchronized state: RFC 5961 §4 challenge ACK */
	if (seg->flags & TH_SYN) {
		DROP(st, TCP, TCP_BAD_FLAGS);
		challenge_ack(st, tp);
		goto drop;
	}
	if (!(seg->flags & TH_ACK))
		goto drop;
	if (tp->ts_ok && seg->opt.has_ts && SEQ_LEQ(seq, tp->rcv_adv) &&
	    (int32_t)(seg->opt.tsval - tp->ts_recent) >= 0) {
		tp->ts_recent = seg->opt.tsval; /* RFC 7323 §4.3 */
		tp->ts_recent_stamp = st->now;
	}
	tp->last_heard = st->now;
	tp->probes = tp->rexmit_mode == TRX_PERSIST ? tp->probes : 0;
	rcv_rtt_measure(st, tp, seg);

	if (tp->state == TCPS_SYN_RECEIVED) {
		if (!SEQ_GT(seg->ack, tp->snd_una) || SEQ_GT(seg->ack, tp->snd_max)) {
			tcp_reply_rst(st, p, seg);
			DROP(st, TCP, TCP_BAD_ACK);
			goto drop;
		}
		if (e->hidden && !tcp_child_ready(st, tp))
			goto drop; /* accept queue full: the peer's ACK is lost */
		/* the handshake's round trip (Karn: not after a retry,
		 * unless timestamps tell which SYN-ACK this answers) */
		if (tp->ts_ok && seg->opt.has_ts && seg->opt.tsecr)
			tcp_rtt_sample(st, tp, (ts_now(st, tp) - seg->opt.tsecr) * 1000u);
		else if (tp->synack_retries == 0)
			tcp_rtt_sample(st, tp, (uint32_t)((st->now - tp->retrans_stamp) / 1000));
		tp->snd_una = seg->ack;
		tp->snd_wnd = (uint32_t)seg->wnd << tp->snd_wscale;
		tp->max_sndwnd = tp->snd_wnd;
		tp->snd_wl1 = seq;
		tp->snd_wl2 = seg->ack;
		timer_cancel(st, &tp->t_rexmit);
		established(st, tp);
	} else if (SEQ_GT(seg->ack, tp->snd_max)) {
		/* an ACK for something not yet sent (RFC 5961 §5.2: discard,
		 * and an ACK — a challenge ACK, rate-limited as the others) */
		DROP(st, TCP, TCP_BAD_ACK);
		challenge_ack(st, tp);
		goto drop;
	} else if (SEQ_LT(seg->ack, tp->snd_una - tp->max_sndwnd)) {
		/* RFC 5961 §5.2: older than any window the peer offered, so
		 * not from the peer — blind data injection; discard, with a
		 * challenge ACK (Linux tcp_ack: TCP_TOO_OLD_ACK) */
		DROP(st, TCP, TCP_OLD_ACK);
		challenge_ack(st, tp);
		goto drop;
	}
	if (!ack_input(st, tp, seg))
		goto drop;

	/* URG (RFC 9293 §3.10.7.4 "sixth"): the byte before the pointer */
	if ((seg->flags & TH_URG) && seg->urp && !tp->fin_rcvd) {
		uint32_t up = seq + seg->urp;

		if (!tp->urg_have || SEQ_GT(up, tp->rcv_up)) {
			tp->rcv_up = up;
			tp->urg_seq = up - 1;
			tp->urg_have = SEQ_GEQ(tp->urg_seq, tp->rcv_nxt);
		}
	}

	/* data ("seventh") */
	if (seg->len) {
		if (tp->state != TCPS_ESTABLISHED && tp->state != TCPS_FIN_WAIT_1 &&
		    tp->state != TCPS_FIN_WAIT_2) {
			goto out; /* after the peer's FIN: ignore */
		}
		if (e->orphan) {
			/* Linux: data for a closed socket resets it */
			tcp_send_segment(st, tp, TH_RST | TH_ACK, tcp_acceptable_seq(tp), 0);
			tcp_done(st, tp);
			goto drop;
		}
		ato_update(st, tp);
		if (seq == tp->rcv_nxt) {
			bool had_ooo = !STAILQ_EMPTY(&tp->ooq);
			bool fin = seg->flags & TH_FIN;

			tp->rcv_unacked += seg->len;
			deliver(st, tp, p, seq);
			p = NULL;
			if (had_ooo) {
				tp->ack_now = 1;
				if (!ooq_drain(st, tp))
					return;
			}
			tcp_wakeup(st, tp);
			if (fin) {
				if (!fin_input(st, tp))
					return;
			} else {
				tcp_schedule_ack(st, tp);
			}
			goto out;
		}
		/* beyond a hole: keep it, and ACK at once (RFC 5681 §4.2) */
		tp->rcv_ooopack++;
		ooq_insert(st, tp, p, seq, seg->flags & TH_FIN);
		p = NULL;
		tp->ack_now = 1;
		goto out;
	}
	if ((seg->flags & TH_FIN) && seq == tp->rcv_nxt) {
		if (!fin_input(st, tp))
			goto drop;
	}
out:
	tcp_output(st, tp);
	if (p)
		pbuf_free(st, p);
	return;
drop:
	if (p)
		pbuf_free(st, p);
}

void tcp_err(struct stack *st, const struct icmp_err *err)
{
	struct tcb *tp = tcp_lookup(st, err->family, err->src.addr, err->src.port, err->dst.addr,
				    err->dst.port);
	uint16_t old_mss;

	if (!tp)
		return;
	/* RFC 5927 §4.1: only about data in flight (blind-attack check) */
	if (!SEQ_GEQ(err->seq, tp->snd_una) || !SEQ_LEQ(err->seq, tp->snd_max)) {
		DROP(st, TCP, TCP_OUT_OF_WINDOW);
		return;
	}
	if (err->err == EMSGSIZE) {
		/* the path MTU is already lowered: resend what is in flight
		 * in smaller segments (Linux tcp_simple_retransmit) */
		old_mss = tp->mss;
		tcp_update_mss(st, tp);
		if (tp->mss < old_mss && tp->state >= TCPS_ESTABLISHED) {
			tp->rtt_timing = 0;
			if (tp->sack_ok) {
				/* every record in flight is lost and goes again
				 * in the smaller segments, the window as it is
				 * (Linux enters CA_Loss without a reduction) */
				struct tcp_txrec *r;

				TAILQ_FOREACH(r, &tp->txq, link)
					if ((r->flags & (TXR_LOST | TXR_RXT)) != TXR_LOST)
						tcp_tx_mark_lost(st, tp, r);
				if (!tp->in_recovery) {
					tp->in_recovery = tp->sack_rec = tp->rto_rec = 1;
					tp->recover = tp->snd_max;
					tp->undo_ok = 0;
				}
			} else {
				tp->snd_nxt = tp->snd_una;
				tp->snd_cur = NULL;
			}
			tcp_output(st, tp);
		}
		return;
	}
	st->ctr.icmp_err_delivered++;
	/* tcp_v4_err: while connecting, any of these ends the attempt */
	if (tp->state == TCPS_SYN_SENT || tp->state == TCPS_SYN_RECEIVED) {
		if (ep_of_tcb(st, tp)->hidden) {
			tcp_done(st, tp);
			return;
		}
		tcp_drop(st, tp, err->err);
		return;
	}
	if (ep_of_tcb(st, tp)->recverr) {
		ep_of_tcb(st, tp)->so_error = err->err;
		tcp_wakeup(st, tp);
	} else {
		tp->soft_err = err->err;
	}
}

void tcp_input(struct stack *st, struct iface *ifp, struct pbuf *p)
{
	const uint8_t *h = pbuf_data(p);
	const uint8_t *t = h + p->th;
	size_t tlen = p->len - p->th, off;
	struct pbuf_meta *m = &p->meta;
	int family = m->src.family;
	struct tcp_seg seg;
	struct tcb *tp;
	struct tcp_tw *tw;
	uint32_t tw_isn = 0;

	(void)ifp;
	CTR(st, TCP).rx++;
	if (tlen < TCP_HLEN) {
		DROP(st, TCP, TRUNCATED);
		goto drop;
	}
	off = (size_t)(t[TCP_OFF] >> 4) * 4;
	if (off < TCP_HLEN || off > tlen) {
		DROP(st, TCP, BAD_HDRLEN);
		goto drop;
	}
	if (!(p->flags & PBUF_F_LOOPED) &&
	    cksum_fold(cksum_add(cksum_pseudo(family, m->src.addr, m->dst.addr, STACK_IPPROTO_TCP,
					      (uint32_t)tlen),
				 t, tlen)) != 0xffff) {
		DROP(st, TCP, BAD_CSUM);
		goto drop;
	}
	/* TCP is unicast only (RFC 1122 §4.2.3.10) */
	if (family == STACK_AF_INET ? addr4_is_broadcast(st, m->dst.addr) ||
					      addr4_is_multicast(m->dst.addr)
				    : addr6_is_multicast(m->dst.addr)) {
		DROP(st, TCP, NOT_FOR_US);
		goto drop;
	}
	memset(&seg, 0, sizeof(seg));
	seg.seq = get32(t + TCP_SEQ);
	seg.ack = get32(t + TCP_ACK);
	seg.flags = t[TCP_FLAGS] & 0x3f;
	seg.wnd = get16(t + TCP_WIN);
	seg.urp = get16(t + TCP_URP);
	seg.len = (uint32_t)(tlen - off);
	if (!tcp_parse_opts(t + TCP_HLEN, off - TCP_HLEN, seg.flags & TH_SYN, &seg.opt))
		DROP(st, TCP, BAD_OPTIONS); /* counted; the options so far count */
	m->src.port = get16(t + TCP_SPORT);
	m->dst.port = get16(t + TCP_DPORT);
	pbuf_pull(p, p->th + off);

	tp = tcp_lookup(st, family, m->dst.addr, m->dst.port, m->src.addr, m->src.port);
	if (tp) {
		tp->segs_in++; /* Linux tcp_segs_in */
		if (seg.len)
			tp->data_segs_in++;
		if (tp->state == TCPS_SYN_SENT) {
			syn_sent_input(st, tp, p, &seg);
			goto drop;
		}
		segment_input(st, tp, p, &seg);
		return;
	}
	tw = tcp_lookup_tw(st, family, m->dst.addr, m->dst.port, m->src.addr, m->src.port);
	if (tw && !tw_input(st, tw, &seg, &tw_isn))
		goto drop;
	tp = tcp_lookup_listener(st, family, m->dst.addr, m->dst.port);
	if (tp) {
		if (listen_input(st, tp, p, &seg, tw_isn))
			return;
		goto drop;
	}
	DROP(st, TCP, NO_PORT);
	tcp_reply_rst(st, p, &seg);
drop:
	pbuf_free(st, p);
}
