/*
 * tcp_rate.c — delivery rate estimation (draft-cheng-iccrg-delivery-rate-
 * estimation-02, as Linux's tcp_rate.c), for TCP_INFO's delivery_rate.
 * Each transmission record (tcp_sack.c) remembers, when it is sent, how
 * much the connection had delivered by then and when; once the peer ACKs
 * or SACKs it, the bytes delivered since over the time elapsed since is a
 * rate sample.  The interval is the longer of the send and the ACK
 * phases, so neither a burst sent at once nor ACKs compressed on the way
 * back make a sample faster than the path (§3.3).  Samples taken while
 * the program had nothing to send (app-limited, §3.4) replace the
 * reported rate only when faster.  Records exist with SACK only: a
 * connection without it reports no rate.
 *   tcp_sack.c  -> tcp_rate_sent()       a record (re)transmitted
 *               -> tcp_rate_delivered()  a record newly ACKed or SACKed
 *   ack_input   -> tcp_rate_gen()        the ACK's sample
 *   tcp_send    -> tcp_rate_check_app_limited()
 */
#include "tcp.h"

void tcp_rate_sent(struct stack *st, struct tcb *tp, struct tcp_txrec *r)
{
	/* §3.2: the first send after an idle period starts the clocks */
	if (!tcp_sack_pipe(tp)) {
		tp->first_tx_ts = st->now;
		tp->delivered_ts = st->now;
	}
	r->first_tx_ts = tp->first_tx_ts;
	r->delivered_ts = tp->delivered_ts;
	r->delivered = tp->delivered_bytes;
	r->app_limited = tp->app_limited != 0;
}

void tcp_rate_delivered(struct stack *st, struct tcb *tp, struct tcp_txrec *r, struct tcp_ackstate *as)
{
	tp->delivered_bytes += r->end - r->start;
	tp->delivered++;
	tp->delivered_ts = st->now;
	/* the most recently sent of the records delivered by this ACK gives
	 * the sample (§3.3: it covers the shortest, newest interval) */
	if (!as->rs_have || (int32_t)(r->delivered - as->rs_prior) > 0) {
		as->rs_have = true;
		as->rs_prior = r->delivered;
		as->rs_app_limited = r->app_limited;
		as->rs_send_elapsed = r->xmit_ts - r->first_tx_ts;
		as->rs_ack_elapsed = st->now - r->delivered_ts;
		as->rs_retrans = (r->flags & TXR_EVER) != 0;
		tp->first_tx_ts = r->xmit_ts;
	}
}

void tcp_rate_gen(struct stack *st, struct tcb *tp, struct tcp_ackstate *as)
{
	stack_ns_t interval;
	uint32_t delivered;

	(void)st;
	/* §3.4: the bubble of an app-limited period has been delivered */
	if (tp->app_limited && (int32_t)(tp->delivered_bytes - tp->app_limited) > 0)
		tp->app_limited = 0;
	if (!as->rs_have)
		return;
	interval = as->rs_send_elapsed > as->rs_ack_elapsed ? as->rs_send_elapsed : as->rs_ack_elapsed;
	/* Linux's clock ticks in microseconds and an RTT is at least one
	 * (tcp_rtt_estimator); in-stack loopback answers in the same
	 * instant of ours */
	if (interval < 1000)
		interval = 1000;
	delivered = tp->delivered_bytes - as->rs_prior;
	/* shorter than a round trip can only be a sample gone wrong (a
	 * spurious resend ACKed for its original): Linux drops it too */
	if (!tp->rack_min_rtt_ok || interval < tp->rack_min_rtt)
		return;
	as->rs_delivered = delivered; /* the ACK's sample (BBR, tcp_cc.c) */
	as->rs_interval = interval;
	/* an app-limited sample says the path is at least this fast, not
	 * how fast: it replaces only a slower one */
	if (!as->rs_app_limited || !tp->rate_interval ||
	    (uint64_t)delivered * tp->rate_interval >= (uint64_t)tp->rate_delivered * interval) {
		tp->rate_delivered = delivered;
		tp->rate_interval = interval;
		tp->rate_app_limited = as->rs_app_limited;
	}
}

/* §3.4 (Linux tcp_rate_check_app_limited): the program writes while less
 * than a segment waits unsent, the flight is below the window and nothing
 * lost waits for a resend — the sender is limited by the program, until
 * what is in flight now has been delivered.  (0 means "not limited", so
 * a mark of 0 becomes 1.) */
void tcp_rate_check_app_limited(struct tcb *tp)
{
	uint32_t inflight = tp->snd_max - tp->snd_una;
	uint32_t unsent = tp->sndq_bytes > inflight ? tp->sndq_bytes - inflight : 0;
	uint32_t pipe = tcp_sack_pipe(tp);

	if (!tp->sack_ok || unsent >= tp->mss || pipe >= tp->cwnd || tp->lost_wait)
		return;
	tp->app_limited = tp->delivered_bytes + pipe;
	if (!tp->app_limited)
		tp->app_limited = 1;
}

uint64_t tcp_rate_bps(const struct tcb *tp)
{
	if (!tp->rate_interval)
		return 0;
	return (uint64_t)tp->rate_delivered * STACK_NS_PER_S / tp->rate_interval;
}
