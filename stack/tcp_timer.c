/*
 * tcp_timer.c — TCP's clocks, dispatched from timer.c's table:
 *   t_rexmit  retransmission (RFC 6298), SYN / SYN-ACK retries, persist
 *             probes (RFC 9293 §3.8.6.1)
 *   t_delack  delayed ACK (RFC 9293 §3.8.6.3, Linux's 40-200 ms)
 *   t_keep    keepalive (RFC 1122 §4.2.3.6), orphaned FIN_WAIT_2 timeout
 *   tw timer  end of TIME_WAIT
 * Each handler also enforces the retry limits and TCP_USER_TIMEOUT.
 */
#include <errno.h>

#include "tcp.h"

static stack_ns_t us(uint64_t v) { return (stack_ns_t)v * 1000; }

void tcp_arm_rexmit(struct stack *st, struct tcb *tp)
{
	uint64_t rto = tp->rto_us;

	for (unsigned i = 0; i < tp->backoff && rto < OPT_TCP_RTO_MAX_US; i++)
		rto *= 2;
	if (rto > OPT_TCP_RTO_MAX_US)
		rto = OPT_TCP_RTO_MAX_US;
	timer_arm(st, &tp->t_rexmit, st->now + us(rto));
}

/* RFC 6298 §2 with Linux's floor: RTO = SRTT + max(4 RTTVAR, 200 ms). */
void tcp_rtt_sample(struct stack *st, struct tcb *tp, uint32_t r)
{
	uint64_t var4, rto;

	if (r == 0)
		r = 1;
	if (!tp->sack_ok) /* TCP_INFO's min_rtt; with SACK, RACK's own samples */
		tcp_rack_min_rtt_sample(st, tp, (stack_ns_t)r * 1000u);
	if (tp->srtt_us == 0) {
		tp->srtt_us = r;
		tp->rttvar_us = r / 2;
	} else {
		uint32_t delta = tp->srtt_us > r ? tp->srtt_us - r : r - tp->srtt_us;

		tp->rttvar_us = (3 * tp->rttvar_us + delta) / 4;
		tp->srtt_us = (7 * tp->srtt_us + r) / 8;
	}
	tcp_cc_rtt(st, tp, r);
	var4 = 4ull * tp->rttvar_us;
	if (var4 < OPT_TCP_RTO_MIN_US)
		var4 = OPT_TCP_RTO_MIN_US;
	rto = tp->srtt_us + var4;
	if (rto > OPT_TCP_RTO_MAX_US)
		rto = OPT_TCP_RTO_MAX_US;
	tp->rto_us = (uint32_t)rto;
}

/* Linux's retransmits_timed_out(): the time `boundary` backed-off
 * retransmissions from rto_base take, or TCP_USER_TIMEOUT when set,
 * measured from the first transmission of the oldest unacked data. */
bool tcp_timed_out(struct stack *st, struct tcb *tp, unsigned boundary, stack_ns_t rto_base)
{
	stack_ns_t elapsed = st->now - tp->retrans_stamp, timeout;
	unsigned thresh = 0;

	if (tp->user_timeout_ms)
		return elapsed >= (stack_ns_t)tp->user_timeout_ms * STACK_NS_PER_MS;
	while ((rto_base << (thresh + 1)) <= us(OPT_TCP_RTO_MAX_US))
		thresh++; /* ilog2(TCP_RTO_MAX / rto_base) */
	if (boundary <= thresh)
		timeout = ((2ull << boundary) - 1) * rto_base;
	else
		timeout = ((2ull << thresh) - 1) * rto_base + (boundary - thresh) * us(OPT_TCP_RTO_MAX_US);
	return elapsed >= timeout;
}

static void retransmit_syn(struct stack *st, struct tcb *tp)
{
	unsigned boundary = tp->syn_retries ? tp->syn_retries : OPT_TCP_SYN_RETRIES;

	if (tcp_timed_out(st, tp, boundary, us(OPT_TCP_RTO_INIT_US))) {
		tcp_drop(st, tp, ETIMEDOUT);
		return;
	}
	tp->backoff++;
	tp->total_retrans++;
	tp->rtt_timing = 0;
	tcp_send_segment(st, tp, TH_SYN, tp->iss, 0);
	tcp_arm_rexmit(st, tp);
}

static void retransmit_synack(struct stack *st, struct tcb *tp)
{
	/* tcp_synack_retries: the child goes after the last retry's wait */
	if (tp->synack_retries >= OPT_TCP_SYNACK_RETRIES) {
		tcp_done(st, tp);
		return;
	}
	tp->synack_retries++;
	tp->backoff++;
	tp->total_retrans++;
	tp->rtt_timing = 0;
	tcp_send_segment(st, tp, TH_SYN | TH_ACK, tp->iss, 0);
	tcp_arm_rexmit(st, tp);
}

/* A probe the peer must answer: an old sequence number, no data (Linux's
 * tcp_xmit_probe_skb for zero-window and keepalive probes). */
static void send_probe(struct stack *st, struct tcb *tp)
{
	tcp_send_segment(st, tp, TH_ACK, tp->snd_una - 1, 0);
}

static void persist(struct stack *st, struct tcb *tp)
{
	if (tp->snd_wnd > 0 || tp->sndq_bytes == 0 || tp->snd_una != tp->snd_max) {
		/* the window opened, or there is nothing to probe for */
		tp->backoff = 0;
		tp->probes = 0;
		tp->rexmit_mode = TRX_RTO;
		/* RFC 1122 §4.2.3.4: the override timeout sends what the
		 * window takes, even a piece the sender SWS rule would hold */
		tp->sws_override = 1;
		tcp_output(st, tp);
		tp->sws_override = 0;
		return;
	}
	/* tcp_probe_timer: give up like a retransmission would */
	if (tp->probes == 0)
		tp->retrans_stamp = st->now;
	if ((tp->user_timeout_ms && tcp_timed_out(st, tp, 0, 0)) || tp->probes >= OPT_TCP_RETRIES2) {
		tcp_send_segment(st, tp, TH_RST | TH_ACK, tcp_acceptable_seq(tp), 0);
		tcp_drop(st, tp, ETIMEDOUT);
		return;
	}
	send_probe(st, tp);
	tp->probes++;
	if (tp->backoff < 31)
		tp->backoff++;
	tcp_arm_rexmit(st, tp);
}

/* RFC 8985 §7.2: a probe after 2 SRTT of silence (plus the peer's
 * delayed ACK when one segment is out), at the latest when the RTO would
 * fire, which it then replaces; only with
 * SACK (it is how the probe's answer is read), outside recovery and
 * timeouts, one probe per tail. */
void tcp_arm_rto_tlp(struct stack *st, struct tcb *tp)
{
	uint64_t pto, rto = tp->rto_us;
	uint32_t flight = tp->snd_max - tp->snd_una;

	tp->rexmit_mode = TRX_RTO;
	if (!tp->sack_ok || tp->in_recovery || tp->retransmits || tp->tlp_out || !tp->srtt_us ||
	    (tp->state != TCPS_ESTABLISHED && tp->state != TCPS_CLOSE_WAIT)) {
		tcp_arm_rexmit(st, tp);
		return;
	}
	pto = 2ull * tp->srtt_us;
	if (flight <= tp->mss)
		pto += OPT_TCP_TLP_DELACK_US;
	if (pto < OPT_TCP_TLP_MIN_US)
		pto = OPT_TCP_TLP_MIN_US;
	for (unsigned i = 0; i < tp->backoff && rto < OPT_TCP_RTO_MAX_US; i++)
		rto *= 2;
	if (pto > rto)
		pto = rto; /* the probe goes instead of the first timeout */
	tp->rexmit_mode = TRX_TLP;
	timer_arm(st, &tp->t_rexmit, st->now + us(pto));
}

/* RFC 8985 §7.3: send one new segment if the windows let one go, else the
 * last segment again; then the RTO takes over. */
static void tail_loss_probe(struct stack *st, struct tcb *tp)
{
	uint32_t end = tcp_data_end(tp), before = tp->snd_max, cwnd = tp->cwnd;
	struct tcp_txrec *last = TAILQ_LAST(&tp->txq, txrec_list);

	tp->rexmit_mode = TRX_RTO;
	tp->tlp_out = 1; /* also keeps tcp_output from arming another probe */
	tp->tlp_rxt = 0;
	tp->tlp_dsacked = 0;
	if (SEQ_GT(end, tp->snd_nxt) && tp->snd_nxt == tp->snd_max) {
		tp->cwnd = tp->snd_max - tp->snd_una + tp->mss; /* whatever cwnd says */
		tcp_output(st, tp);
		tp->cwnd = cwnd;
	}
	if (tp->snd_max != before) {
		tp->tlp_seq = before;
	} else if (last) {
		/* the most recently sent segment (its record) again */
		tp->tlp_seq = last->start;
		tp->tlp_rxt = 1;
		if (!tcp_resend_rec(st, tp, last))
			tp->tlp_out = 0;
	} else {
		tp->tlp_out = 0;
	}
	tp->tlp_high = tp->snd_max;
	if (tp->tlp_out)
		st->ctr.tcp_tlps++;
	timer_cancel(st, &tp->t_rexmit);
	tcp_arm_rexmit(st, tp);
}

/* RFC 8985 §6.3: the reordering timer — segments not old enough when
 * the last ACK came may be now; a loss found starts recovery, and the
 * RTO (or a probe) is armed again. */
static void rack_timeout(struct stack *st, struct tcb *tp)
{
	stack_ns_t timeout;

	tp->rexmit_mode = TRX_RTO;
	st->ctr.tcp_rack_timers++;
	tcp_rack_detect_loss(st, tp, &timeout);
	if (tp->lost_wait && !tp->in_recovery)
		tcp_enter_sack_recovery(st, tp);
	tcp_output(st, tp);
	if (timeout)
		tcp_rack_arm(st, tp, timeout);
	else if (!tp->t_rexmit.armed)
		tcp_arm_rto_tlp(st, tp);
}

void tcp_timer_rexmit(struct stack *st, struct timer *t)
{
	struct tcb *tp = container_of(t, struct tcb, t_rexmit);
	uint32_t mss;

	switch (tp->state) {
	case TCPS_SYN_SENT:
		retransmit_syn(st, tp);
		return;
	case TCPS_SYN_RECEIVED:
		retransmit_synack(st, tp);
		return;
	case TCPS_CLOSED:
	case TCPS_LISTEN:
	case TCPS_TIME_WAIT:
		return;
	default:
		break;
	}
	if (tp->rexmit_mode == TRX_PERSIST) {
		persist(st, tp);
		return;
	}
	if (tp->snd_una == tp->snd_max)
		return; /* everything acknowledged meanwhile */
	if (tcp_timed_out(st, tp, OPT_TCP_RETRIES2, us(OPT_TCP_RTO_MIN_US))) {
		/* tcp_write_err: no RST; the last ICMP error, or ETIMEDOUT */
		tcp_drop(st, tp, tp->soft_err ? tp->soft_err : ETIMEDOUT);
		return;
	}
	if (tp->rexmit_mode == TRX_TLP) {
		tail_loss_probe(st, tp);
		return;
	}
	if (tp->rexmit_mode == TRX_REO) {
		rack_timeout(st, tp);
		return;
	}
	/* RFC 5681 §3.1 eqn. 4 and RFC 6298 §5.5-5.7: halve (once per
	 * episode, as Linux's tcp_enter_loss), restart from one segment,
	 * back off, resend from the oldest unacked byte — skipping what the
	 * peer SACKed, until a second timeout in a row says to trust none
	 * of it (RFC 2018 §8: the peer may have reneged). */
	mss = tp->mss ? tp->mss : OPT_TCP_DEFAULT_MSS4;
	if (tp->retransmits == 0) {
		/* RFC 9438 §4.8 / RFC 5681 eqn. 4; not again for a timeout
		 * in the middle of a fast recovery, whose reduction stands
		 * (Linux's tcp_enter_loss keeps ssthresh when the recovery
		 * point is still ahead) */
		if (!tp->in_recovery) {
			tcp_undo_arm(tp);
			tcp_cc_loss(st, tp);
		} else if (!SEQ_LT(tp->snd_una, tp->recover)) {
			tcp_cc_loss(st, tp);
		}
	} else {
		tcp_sack_reset(tp);
		tp->undo_ok = 0;
	}
	tp->cwnd = mss;
	if (tp->in_recovery)
		tcp_rack_recovery_done(tp);
	tp->in_recovery = 0;
	tp->sack_rec = 0;
	tp->recover = tp->snd_max; /* no fast recovery for this flight */
	tp->tlp_out = 0;
	tp->dupacks = 0;
	tp->rtt_timing = 0;
	tp->lost_segs++;
	st->ctr.tcp_timeouts++;
	if (tp->backoff < 31)
		tp->backoff++;
	tp->retransmits++;
	tp->rto_rec = 0;
	if (tp->sack_ok) {
		/* With SACK, RACK marks what is lost (RFC 8985 §6.3: the
		 * first segment, and the others sent more than RACK.rtt +
		 * reo_wnd ago) and NextSeg() resends it from the scoreboard,
		 * in slow start, lost resends found by RACK as in fast
		 * recovery (RFC 6675 §5.1) — not by going back over
		 * everything (Linux's CA_Loss with SACK works the same way) */
		struct tcp_txrec *r;

		tp->in_recovery = 1;
		tp->sack_rec = 1;
		tp->rto_rec = 1;
		tcp_rack_mark_on_rto(st, tp);
		if (tcp_cc_controls(tp)) {
			/* Linux's tcp_enter_loss: what is still in flight
			 * and one more; BBR then grows it back (tcp_cc.c) */
			tp->cwnd = tcp_sack_pipe(tp) + mss;
			tcp_cc_timeout(st, tp);
		}
		if ((r = tcp_sack_next_lost(tp, NULL)) != NULL)
			tcp_resend_rec(st, tp, r);
	} else {
		tp->snd_nxt = tp->snd_una;
		tp->snd_cur = NULL;
	}
	tcp_output(st, tp);
	if (!tp->t_rexmit.armed) {
		tp->rexmit_mode = TRX_RTO;
		tcp_arm_rexmit(st, tp);
	}
}

void tcp_timer_delack(struct stack *st, struct timer *t)
{
	struct tcb *tp = container_of(t, struct tcb, t_delack);

	tp->delack_armed = 0;
	if (tp->state == TCPS_CLOSED || tp->state == TCPS_LISTEN)
		return;
	/* Linux leaves quick-ack mode's "pingpong" here: the ACK was late */
	tcp_send_ack(st, tp);
}

void tcp_schedule_ack(struct stack *st, struct tcb *tp)
{
	uint32_t ato = tp->ato_us < OPT_TCP_DELACK_MAX_US ? tp->ato_us : OPT_TCP_DELACK_MAX_US;

	/* Linux's __tcp_ack_snd_check: more than one full frame since the
	 * last ACK, quick-ack mode, or out-of-order data -> ACK now. */
	if (tp->ack_now || tp->quickacks > 0 || tp->rcv_unacked > tp->mss) {
		if (tp->quickacks > 0)
			tp->quickacks--;
		tp->ack_now = 1;
		return;
	}
	if (!tp->delack_armed) {
		tp->delack_armed = 1;
		timer_arm(st, &tp->t_delack, st->now + us(ato));
	}
}

void tcp_arm_keepalive(struct stack *st, struct tcb *tp)
{
	struct ep *e = ep_of_tcb(st, tp);

	if (tp->state == TCPS_FIN_WAIT_2 && e->orphan) {
		/* tcp_fin_timeout / TCP_LINGER2: an orphan waits this long
		 * for the peer's FIN; a negative value means not at all */
		int s = tp->linger2_s ? tp->linger2_s : OPT_TCP_FIN_TIMEOUT_S;

		timer_arm(st, &tp->t_keep, st->now + (s > 0 ? (stack_ns_t)s * STACK_NS_PER_S : 0));
		return;
	}
	if (!tp->keepalive || (tp->state != TCPS_ESTABLISHED && tp->state != TCPS_CLOSE_WAIT &&
			       tp->state != TCPS_FIN_WAIT_1 && tp->state != TCPS_FIN_WAIT_2)) {
		timer_cancel(st, &tp->t_keep);
		return;
	}
	if (tp->last_heard == 0)
		tp->last_heard = st->now;
	timer_arm(st, &tp->t_keep, tp->last_heard + (stack_ns_t)tp->keepidle_s * STACK_NS_PER_S +
				   (stack_ns_t)tp->probes * tp->keepintvl_s * STACK_NS_PER_S);
}

void tcp_timer_keep(struct stack *st, struct timer *t)
{
	struct tcb *tp = container_of(t, struct tcb, t_keep);
	struct ep *e = ep_of_tcb(st, tp);
	stack_ns_t idle = st->now - tp->last_heard;

	if (tp->state == TCPS_FIN_WAIT_2 && e->orphan) {
		tcp_done(st, tp);
		return;
	}
	if (!tp->keepalive || tp->state == TCPS_CLOSED)
		return;
	/* tcp_keepalive_timer: no probes while data is outstanding */
	if (tp->snd_una != tp->snd_max || tp->sndq_bytes) {
		tp->probes = 0;
		timer_arm(st, &tp->t_keep, st->now + (stack_ns_t)tp->keepidle_s * STACK_NS_PER_S);
		return;
	}
	if (idle >= (stack_ns_t)tp->keepidle_s * STACK_NS_PER_S) {
		bool dead = tp->user_timeout_ms
				    ? tp->probes && idle >= (stack_ns_t)tp->user_timeout_ms * STACK_NS_PER_MS
				    : tp->probes >= tp->keepcnt;

		if (dead) {
			tcp_send_segment(st, tp, TH_RST | TH_ACK, tcp_acceptable_seq(tp), 0);
			tcp_drop(st, tp, ETIMEDOUT);
			return;
		}
		send_probe(st, tp);
		tp->probes++;
		timer_arm(st, &tp->t_keep, st->now + (stack_ns_t)tp->keepintvl_s * STACK_NS_PER_S);
		return;
	}
	timer_arm(st, &tp->t_keep, tp->last_heard + (stack_ns_t)tp->keepidle_s * STACK_NS_PER_S);
}

void tcp_timer_cork(struct stack *st, struct timer *t)
{
	struct tcb *tp = container_of(t, struct tcb, t_cork);
	uint8_t cork = tp->cork;

	tp->cork = 0;
	tcp_output(st, tp);
	tp->cork = cork;
}

void tcp_timer_tw(struct stack *st, struct timer *t)
{
	tcp_tw_free(st, container_of(t, struct tcp_tw, timer));
}
