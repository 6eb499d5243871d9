/*
 * tcp_rack.c — RACK, time-based loss detection (RFC 8985 §6), for
 * connections with SACK.
 *   tcp_sack.c  -> tcp_rack_delivered()  a record newly ACKed or SACKed
 *   ack_input   -> tcp_rack_ack_done()   steps 1-4 for the whole ACK
 *               -> tcp_rack_detect_loss() step 5: records lost, and when
 *                                        the reordering timer should fire
 *   tcp_timer.c -> tcp_rack_detect_loss() the reordering timer (§6.3)
 *               -> tcp_rack_mark_on_rto() a timeout (§6.3)
 * The idea: a segment sent well before one that has been delivered since
 * — by more than the round trip plus a reordering window — was lost.  That
 * holds for a resend as much as for an original (a lost retransmission is
 * found as soon as anything sent after it arrives) and for the tail of a
 * flight once a tail loss probe is SACKed.
 *
 * With SACK, RACK alone decides what is lost, as in Linux (tcp_recovery=1):
 * RFC 6675's DupThresh survives only inside the reordering window, which
 * is 0 while no reordering has been seen and DupThresh segments are
 * SACKed, or during recovery (§6.2 step 4) — so a first loss is still
 * found at the third SACKed segment — and as the entry rule for a peer
 * whose duplicate ACKs carry no SACK blocks (tcp_input.c).  Without SACK,
 * NewReno (RFC 6582) is unchanged.
 *
 * Times are the stack's nanoseconds (RFC 8985 §4 asks for better than a
 * quarter of min_RTT).  RACK.min_RTT is a windowed minimum of the RTT
 * samples of records sent once (Karn), kept OPT_TCP_MIN_RTT_WIN_NS as
 * Linux's tcp_min_rtt_wlen.
 */
#include "tcp.h"

/* RACK_sent_after(): RFC 8985 breaks a tie of times with the end
 * sequence numbers, which says nothing about a resend sent in the same
 * instant as new data (a fake clock, or one tcp_output() call); the
 * connection's count of transmissions gives the real order. */
static bool sent_after(stack_ns_t t1, uint32_t order1, stack_ns_t t2, uint32_t order2)
{
	return t1 > t2 || (t1 == t2 && (int32_t)(order1 - order2) > 0);
}

void tcp_rack_min_rtt_sample(struct stack *st, struct tcb *tp, stack_ns_t rtt)
{
	/* a sample no larger, or a minimum too old to trust (a longer path
	 * is taken up within the window, RFC 8985 §6.2 step 1) */
	if (!tp->rack_min_rtt_ok || rtt <= tp->rack_min_rtt ||
	    st->now - tp->rack_min_rtt_stamp > OPT_TCP_MIN_RTT_WIN_NS) {
		tp->rack_min_rtt = rtt;
		tp->rack_min_rtt_stamp = st->now;
		tp->rack_min_rtt_ok = 1;
	}
}

void tcp_rack_ack_begin(const struct tcb *tp, const struct tcp_seg *seg, struct tcp_ackstate *as)
{
	memset(as, 0, sizeof(*as));
	as->fack_before = as->fack = tp->rack_fack;
	as->has_tsecr = tp->ts_ok && seg->opt.has_ts && seg->opt.tsecr;
	as->tsecr = seg->opt.tsecr;
}

/* Steps 1-3 for one record newly delivered, cumulatively (cum) or
 * selectively. */
void tcp_rack_delivered(struct stack *st, struct tcb *tp, const struct tcp_txrec *r, bool cum,
			struct tcp_ackstate *as)
{
	stack_ns_t rtt = st->now > r->xmit_ts ? st->now - r->xmit_ts : 0;

	/* Step 3: a segment sent once arriving below the highest delivered
	 * one was reordered (RFC 8985 §6.2) */
	if (!(r->flags & TXR_EVER) && SEQ_LT(r->end, as->fack_before)) {
		tp->rack_reord = 1;
		as->reord = true;
	}
	if (SEQ_GT(r->end, as->fack))
		as->fack = r->end;
	as->delivered = true;
	/* Step 2: ignore a resent segment whose ACK may be for an earlier
	 * transmission: it came back faster than any round trip, or (for
	 * the segment that moved the cumulative ACK: the peer echoes the
	 * timestamp of that one, RFC 7323 §4.3 — a SACKed segment above a
	 * hole leaves TS.Recent alone, so its echo says nothing; Linux
	 * looks at min_RTT only) the ACK echoes a timestamp older than the
	 * resend carried */
	if (r->flags & TXR_EVER) {
		uint32_t ts = (uint32_t)(r->xmit_ts / STACK_NS_PER_MS) + tp->ts_offset;

		if (cum && as->has_tsecr && (int32_t)(as->tsecr - ts) < 0)
			return;
		if (tp->rack_min_rtt_ok && rtt < tp->rack_min_rtt)
			return;
	} else if (!as->sampled || rtt < as->min_sample) {
		as->sampled = true; /* Step 1: an RTT sample (Karn) */
		as->min_sample = rtt;
	}
	if (!as->newest || sent_after(r->xmit_ts, r->order, as->newest_ts, as->newest_order)) {
		as->newest = true;
		as->newest_ts = r->xmit_ts;
		as->newest_order = r->order;
	}
}

/* D-SACK rounds (RFC 8985 §6.2 step 4, first half): the window grows by
 * min_RTT/4 for each round trip that brought a D-SACK, and stays so for
 * 16 recoveries after the last one. */
static void reo_wnd_update(struct tcb *tp, bool dsack)
{
	if (tp->rack_dsack_on && SEQ_GEQ(tp->snd_una, tp->rack_dsack_round))
		tp->rack_dsack_on = 0;
	if (!tp->rack_dsack_on && dsack) {
		tp->rack_dsack_on = 1;
		tp->rack_dsack_round = tp->snd_nxt;
		if (tp->rack_reo_mult < OPT_TCP_RACK_REO_MULT_MAX)
			tp->rack_reo_mult++;
		tp->rack_reo_persist = OPT_TCP_RACK_REO_PERSIST;
	}
}

void tcp_rack_ack_done(struct stack *st, struct tcb *tp, const struct tcp_ackstate *as, bool dsack)
{
	if (as->sampled)
		tcp_rack_min_rtt_sample(st, tp, as->min_sample);
	if (SEQ_GT(as->fack, tp->rack_fack))
		tp->rack_fack = as->fack;
	if (as->reord)
		tp->reord_seen++; /* TCP_INFO: ACKs that showed reordering */
	if (as->newest) {
		/* Step 2: RACK.rtt from the most recently sent of them */
		tp->rack_rtt = st->now > as->newest_ts ? st->now - as->newest_ts : 0;
		if (!tp->rack_timed ||
		    sent_after(as->newest_ts, as->newest_order, tp->rack_xmit_ts, tp->rack_order)) {
			tp->rack_xmit_ts = as->newest_ts;
			tp->rack_order = as->newest_order;
		}
		tp->rack_timed = 1;
	}
	reo_wnd_update(tp, dsack);
}

void tcp_rack_recovery_done(struct tcb *tp)
{
	/* RFC 8985 §6.2 step 4: after 16 recoveries without a D-SACK the
	 * window is back to min_RTT/4 */
	if (tp->rack_reo_persist)
		tp->rack_reo_persist--;
	if (!tp->rack_reo_persist)
		tp->rack_reo_mult = 1;
}

stack_ns_t tcp_rack_reo_wnd(const struct tcb *tp)
{
	stack_ns_t w, srtt = (stack_ns_t)tp->srtt_us * 1000;
	uint32_t mss = tp->mss ? tp->mss : 1;

	/* Step 4, second half: no reordering seen yet — no patience in
	 * recovery, nor once DupThresh segments are SACKed (RFC 6675) */
	if (!tp->rack_reord &&
	    (tp->in_recovery || tp->sacked_bytes >= (uint32_t)OPT_TCP_DUPTHRESH * mss))
		return 0;
	w = (stack_ns_t)(tp->rack_reo_mult ? tp->rack_reo_mult : 1) * (tp->rack_min_rtt / 4);
	return srtt && w > srtt ? srtt : w;
}

/* When a segment sent at xmit_ts is overdue (Segment.xmit_ts + RACK.rtt
 * + RACK.reo_wnd), saturating. */
static stack_ns_t overdue_at(const struct tcb *tp, stack_ns_t xmit_ts, stack_ns_t reo)
{
	stack_ns_t d = tp->rack_rtt + reo;

	return xmit_ts > STACK_NS_NEVER - d ? STACK_NS_NEVER : xmit_ts + d;
}

unsigned tcp_rack_detect_loss(struct stack *st, struct tcb *tp, stack_ns_t *timeout)
{
	stack_ns_t reo = tcp_rack_reo_wnd(tp);
	struct tcp_txrec *r, *next;
	unsigned lost = 0;

	*timeout = 0;
	if (!tp->sack_ok || !tp->rack_timed)
		return 0;
	/* Step 5: the records on txtq are in flight, oldest first; those sent
	 * before the latest delivered one are lost once overdue, the others
	 * set the reordering timer (§6.3) */
	for (r = TAILQ_FIRST(&tp->txtq); r; r = next) {
		stack_ns_t at;

		next = TAILQ_NEXT(r, tlink);
		if (!sent_after(tp->rack_xmit_ts, tp->rack_order, r->xmit_ts, r->order))
			break;
		at = overdue_at(tp, r->xmit_ts, reo);
		if (at <= st->now) {
			if (tcp_tx_mark_lost(st, tp, r))
				lost++;
		} else if (at - st->now > *timeout) {
			*timeout = at - st->now;
		}
	}
	st->ctr.tcp_rack_lost += lost;
	return lost;
}

unsigned tcp_rack_mark_on_rto(struct stack *st, struct tcb *tp)
{
	stack_ns_t reo = tcp_rack_reo_wnd(tp);
	struct tcp_txrec *r;
	unsigned lost = 0;

	/* §6.3: the first unacknowledged segment was sent an RTO ago; the
	 * others are lost when overdue by RACK's measure */
	TAILQ_FOREACH(r, &tp->txq, link) {
		if (r->flags & TXR_SACKED || (r->flags & (TXR_LOST | TXR_RXT)) == TXR_LOST)
			continue;
		if (r->start == tp->snd_una || overdue_at(tp, r->xmit_ts, reo) <= st->now)
			lost += tcp_tx_mark_lost(st, tp, r);
	}
	return lost;
}

void tcp_rack_init(struct tcb *tp)
{
	tp->rack_fack = tp->snd_una;
	tp->rack_reo_mult = 1;
	tp->rack_reo_persist = 0;
	tp->rack_timed = 0;
	tp->rack_reord = 0;
	tp->rack_dsack_on = 0;
	tp->rack_min_rtt = 0;
	tp->rack_min_rtt_ok = 0;
	tp->rack_rtt = 0;
}
