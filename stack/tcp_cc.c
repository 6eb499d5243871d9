/*
 * tcp_cc.c — congestion control, chosen per connection from a table by
 * name (TCP_CONGESTION): "reno" (RFC 5681 with RFC 3465 byte counting; the
 * NewReno recovery itself lives in tcp_input.c), "cubic" (RFC 9438, the
 * default, with HyStart++'s delay-based slow-start exit, RFC 9406) and
 * "bbr" (BBR v1, draft-cardwell-iccrg-bbr-congestion-control-00 as
 * Linux's tcp_bbr.c: a model of the path, not loss, sets cwnd).
 * Called by tcp_input.c (ACKs, fast retransmit), tcp_timer.c (RTO, RTT
 * samples) and tcp.c (options); the tcb keeps only an index into the
 * table, never a pointer (DESIGN.md: nothing in the arena points at code).
 */
#include <errno.h>
#include <math.h>

#include "priv.h"
#include "tcp.h"

/* RFC 9438 §5: C = 0.4 segments/s^3, beta_cubic = 0.7. */
#define CUBIC_C 0.4
#define CUBIC_BETA 0.7
/* RFC 9406 §4.3: N_RTT_SAMPLE, and the clamp of the delay threshold. */
#define HS_MIN_SAMPLES 8
#define HS_MIN_RTT_THRESH_US 4000u
#define HS_MAX_RTT_THRESH_US 16000u
#define CWND_MAX (1u << 30)

static uint32_t mss_of(const struct tcb *tp)
{
	return tp->mss ? tp->mss : OPT_TCP_DEFAULT_MSS4;
}

static void cwnd_set(struct tcb *tp, double bytes)
{
	uint32_t floor = mss_of(tp);

	if (bytes > CWND_MAX)
		bytes = CWND_MAX;
	tp->cwnd = bytes < floor ? floor : (uint32_t)bytes;
}

/* Slow start, RFC 5681 §3.1 with appropriate byte counting (RFC 3465,
 * L = 2 segments per ACK). */
static void slow_start(struct tcb *tp, uint32_t acked)
{
	uint32_t mss = mss_of(tp);

	cwnd_set(tp, (double)tp->cwnd + (acked < 2 * mss ? acked : 2 * mss));
}

/* ---- reno ------------------------------------------------------------------ */

static void reno_ack(struct stack *st, struct tcb *tp, uint32_t acked)
{
	uint32_t mss = mss_of(tp), inc;

	(void)st;
	(void)acked;
	/* RFC 5681 §3.1 eqn. 3: about one segment per round trip */
	inc = (uint32_t)((uint64_t)mss * mss / (tp->cwnd ? tp->cwnd : 1));
	cwnd_set(tp, (double)tp->cwnd + (inc ? inc : 1));
}

static uint32_t reno_ssthresh(struct stack *st, struct tcb *tp)
{
	uint32_t flight = tp->snd_max - tp->snd_una, mss = mss_of(tp);

	(void)st;
	/* RFC 5681 §3.1 eqn. 4 */
	return flight / 2 > 2 * mss ? flight / 2 : 2 * mss;
}

/* ---- cubic ------------------------------------------------------------------ */

/* W_cubic(t) = C (t - K)^3 + W_max (RFC 9438 §4.2, eqn. 1), segments. */
double tcp_cubic_window(double t, double k, double w_max)
{
	double d = t - k;

	return CUBIC_C * d * d * d + w_max;
}

static void cubic_epoch_start(struct stack *st, struct tcb *tp)
{
	double cwnd = (double)tp->cwnd / mss_of(tp);

	tp->cub_epoch = st->now ? st->now : 1;
	tp->cub_west = cwnd; /* RFC 9438 §4.3: W_est starts at cwnd */
	if (tp->cub_wmax > cwnd) {
		/* §4.2 eqn. 2: K = cbrt((W_max - cwnd_epoch) / C) */
		tp->cub_k = cbrt((tp->cub_wmax - cwnd) / CUBIC_C);
	} else {
		tp->cub_k = 0;
		tp->cub_wmax = cwnd;
	}
}

static void cubic_ack(struct stack *st, struct tcb *tp, uint32_t acked)
{
	double mss = mss_of(tp), cwnd = tp->cwnd / mss, segs = acked / mss;
	double t, rtt, target, w_cubic, alpha;

	if (!tp->cub_epoch)
		cubic_epoch_start(st, tp);
	t = (double)(st->now - tp->cub_epoch) / 1e9;
	rtt = tp->srtt_us ? tp->srtt_us / 1e6 : 0.1;
	/* §4.3: the Reno-friendly estimate, alpha_cubic = 3 (1 - beta) /
	 * (1 + beta) until it passes the window of the last congestion
	 * event, then 1 */
	alpha = tp->cub_west >= tp->cub_wmax ? 1.0 : 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
	tp->cub_west += alpha * segs / (cwnd > 0 ? cwnd : 1);
	w_cubic = tcp_cubic_window(t, tp->cub_k, tp->cub_wmax);
	if (w_cubic < tp->cub_west) {
		cwnd_set(tp, tp->cub_west * mss);
		return;
	}
	/* §4.4/4.5: aim at W_cubic(t + RTT), between cwnd and 1.5 cwnd, and
	 * close (target - cwnd) / cwnd of the gap per segment acknowledged */
	target = tcp_cubic_window(t + rtt, tp->cub_k, tp->cub_wmax);
	if (target < cwnd)
		target = cwnd;
	if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;
	cwnd_set(tp, (cwnd + (target - cwnd) / cwnd * segs) * mss);
}

static uint32_t cubic_ssthresh(struct stack *st, struct tcb *tp)
{
	double mss = mss_of(tp), cwnd = tp->cwnd / mss, ss;

	(void)st;
	/* §4.7 fast convergence: a window below the last W_max releases
	 * bandwidth to newer flows */
	if (cwnd < tp->cub_wmax)
		tp->cub_wmax = cwnd * (1 + CUBIC_BETA) / 2;
	else
		tp->cub_wmax = cwnd;
	tp->cub_epoch = 0;
	/* §4.6: ssthresh = cwnd * beta_cubic, at least 2 segments */
	ss = cwnd * CUBIC_BETA;
	if (ss < 2)
		ss = 2;
	return (uint32_t)(ss * mss);
}

/* ---- bbr -------------------------------------------------------------------- */

/* BBR v1 as Linux's tcp_bbr.c runs it (draft-cardwell-iccrg-bbr-
 * congestion-control-00): each ACK's delivery rate sample (tcp_rate.c)
 * feeds a windowed maximum, BtlBw, over 10 round trips, and its RTT a
 * windowed minimum, RTprop, over 10 s; cwnd is cwnd_gain x BtlBw x RTprop
 * plus Linux's allowance for TSO and delayed ACKs, reached by growing
 * with what each ACK delivered.  Loss does not shrink it: recovery
 * conserves packets for its first round trip (cwnd = pipe + delivered),
 * then grows back, and the end of recovery gives back the window it
 * began with.  At a random loss that is not congestion (a lossy link)
 * the window therefore stays the path's, where a loss-based algorithm
 * (RFC 5681, RFC 9438) is cut to about two segments — and a flight of
 * two, ACKs lost too, ends in timeouts.
 * Differences from Linux: the stack does not pace, so the pacing gain
 * cycle of PROBE_BW (which acts only through pacing) is not run and the
 * pacing rate is only reported; no long-term (policer) bandwidth
 * sampling and no ACK-aggregation allowance.  Rate samples come from
 * the transmission records, so BBR needs SACK; a connection without it
 * runs Reno. */
#define BBR_UNIT 256 /* gains are fixed point, << 8 */
#define BBR_HIGH_GAIN (BBR_UNIT * 2885 / 1000 + 1) /* 2/ln(2): doubles per round */
#define BBR_DRAIN_GAIN (BBR_UNIT * 1000 / 2885)
#define BBR_CWND_GAIN (BBR_UNIT * 2)
#define BBR_FULL_BW_THRESH (BBR_UNIT * 5 / 4) /* growth of 25 %... */
#define BBR_FULL_BW_CNT 3                     /* ...missing 3 rounds: pipe full */
#define BBR_CWND_MIN 4                        /* segments (bbr_cwnd_min_target) */
#define BBR_MIN_RTT_WIN_NS (10 * STACK_NS_PER_S)
#define BBR_PROBE_RTT_NS (200 * STACK_NS_PER_MS)
#define BBR_PACING_MARGIN_PCT 1
#define BBR_MIN_TSO_RATE (1200000 / 8) /* bytes/s: below, 1 segment a burst */
#define BBR_TSO_MAX_BYTES (65536 - 1 - 320) /* a GSO packet less MAX_TCP_HEADER */
#define BBR_TSO_MAX_SEGS 127

static enum tcp_cc_state cc_state(const struct tcb *tp)
{
	if (!tp->in_recovery)
		return TCP_CC_OPEN;
	return tp->rto_rec ? TCP_CC_LOSS : TCP_CC_RECOVERY;
}

static uint32_t segs_of(const struct tcb *tp, uint32_t bytes)
{
	uint32_t mss = mss_of(tp);

	return (bytes + mss - 1) / mss;
}

static uint64_t bbr_max_bw(const struct tcb *tp)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < TCP_BBR_BW_ROUNDS; i++)
		if (tp->bbr_bw[i] > m)
			m = tp->bbr_bw[i];
	return m;
}

/* BtlBw's windowed maximum: the largest sample of each of the last
 * TCP_BBR_BW_ROUNDS round trips, one slot a round (exact, where Linux's
 * minmax keeps three estimates). */
static void bbr_bw_sample(struct tcb *tp, uint64_t bw)
{
	uint32_t gap = tp->bbr_rtt_cnt - tp->bbr_bw_round;

	for (uint32_t i = 1; i <= gap && i <= TCP_BBR_BW_ROUNDS; i++)
		tp->bbr_bw[(tp->bbr_bw_round + i) % TCP_BBR_BW_ROUNDS] = 0;
	tp->bbr_bw_round = tp->bbr_rtt_cnt;
	if (bw > tp->bbr_bw[tp->bbr_rtt_cnt % TCP_BBR_BW_ROUNDS])
		tp->bbr_bw[tp->bbr_rtt_cnt % TCP_BBR_BW_ROUNDS] = bw;
}

/* gain x BtlBw x RTprop in segments; the initial window until there is
 * an RTT (Linux's bbr_bdp). */
static uint32_t bbr_bdp(const struct tcb *tp, uint64_t bw, uint32_t gain)
{
	double bytes;

	if (tp->bbr_min_rtt == STACK_NS_NEVER)
		return OPT_TCP_INIT_CWND;
	bytes = (double)bw * (double)tp->bbr_min_rtt / STACK_NS_PER_S * gain / BBR_UNIT;
	return (uint32_t)ceil(bytes / mss_of(tp));
}

/* Linux's bbr_tso_segs_goal: about 1 ms at the pacing rate, 2 to 127
 * segments — what Linux hands its device at once (software GSO on a
 * link without TSO, so also on a TUN device). */
static uint32_t bbr_tso_segs_goal(const struct tcb *tp)
{
	uint64_t bytes = tp->bbr_pacing_rate >> 10, segs;

	if (bytes > BBR_TSO_MAX_BYTES)
		bytes = BBR_TSO_MAX_BYTES;
	segs = bytes / mss_of(tp);
	if (segs < (tp->bbr_pacing_rate < BBR_MIN_TSO_RATE ? 1u : 2u))
		segs = tp->bbr_pacing_rate < BBR_MIN_TSO_RATE ? 1u : 2u;
	return segs > BBR_TSO_MAX_SEGS ? BBR_TSO_MAX_SEGS : (uint32_t)segs;
}

/* Linux's bbr_inflight with bbr_quantization_budget: the BDP at a gain,
 * plus three bursts' worth for the sender's and the receiver's batching
 * (TSO, delayed ACKs), rounded up to an even number of segments. */
static uint32_t bbr_inflight(const struct tcb *tp, uint64_t bw, uint32_t gain)
{
	uint32_t cwnd = bbr_bdp(tp, bw, gain) + 3 * bbr_tso_segs_goal(tp);

	return (cwnd + 1) & ~1u;
}

static uint64_t bbr_rate(uint64_t bw, uint32_t gain)
{
	return bw * gain / BBR_UNIT * (100 - BBR_PACING_MARGIN_PCT) / 100;
}

/* Before any bandwidth sample: the initial window per SRTT (1 ms when
 * none) at the high gain (Linux's bbr_init_pacing_rate_from_rtt). */
static void bbr_init_pacing_rate(struct tcb *tp)
{
	uint64_t rtt_us = tp->srtt_us ? tp->srtt_us : 1000;

	if (tp->srtt_us)
		tp->bbr_has_seen_rtt = 1;
	tp->bbr_pacing_rate = bbr_rate((uint64_t)tp->cwnd * 1000000u / rtt_us, BBR_HIGH_GAIN);
}

static void bbr_set_pacing_rate(struct tcb *tp, uint64_t bw, uint32_t gain)
{
	uint64_t rate = bbr_rate(bw, gain);

	if (!tp->bbr_has_seen_rtt && tp->srtt_us)
		bbr_init_pacing_rate(tp);
	/* in STARTUP it only grows: an early sample is too low */
	if (tp->bbr_full_bw_reached || rate > tp->bbr_pacing_rate)
		tp->bbr_pacing_rate = rate;
}

/* The window to give back after recovery or PROBE_RTT. */
static void bbr_save_cwnd(struct tcb *tp)
{
	if (tp->bbr_prev_state < TCP_CC_RECOVERY && tp->bbr_mode != TCP_BBR_PROBE_RTT)
		tp->bbr_prior_cwnd = tp->cwnd;
	else if (tp->cwnd > tp->bbr_prior_cwnd)
		tp->bbr_prior_cwnd = tp->cwnd;
}

static void bbr_reset_mode(struct tcb *tp)
{
	tp->bbr_mode = tp->bbr_full_bw_reached ? TCP_BBR_PROBE_BW : TCP_BBR_STARTUP;
}

static void bbr_init(struct stack *st, struct tcb *tp)
{
	memset(tp->bbr_bw, 0, sizeof(tp->bbr_bw));
	tp->bbr_bw_round = tp->bbr_rtt_cnt = 0;
	tp->bbr_full_bw = 0;
	tp->bbr_full_bw_cnt = tp->bbr_full_bw_reached = 0;
	tp->bbr_prior_cwnd = 0;
	tp->ssthresh = UINT32_MAX;
	tp->bbr_next_rtt_delivered = tp->delivered_bytes;
	tp->bbr_prev_state = TCP_CC_OPEN;
	tp->bbr_packet_conservation = tp->bbr_round_start = 0;
	tp->bbr_probe_rtt_done = 0;
	tp->bbr_probe_rtt_round_done = 0;
	/* RTprop starts from the handshake's RTT (Linux's tcp_min_rtt) */
	if (tp->rack_min_rtt_ok)
		tp->bbr_min_rtt = tp->rack_min_rtt;
	else
		tp->bbr_min_rtt = tp->srtt_us ? (stack_ns_t)tp->srtt_us * 1000u : STACK_NS_NEVER;
	tp->bbr_min_rtt_stamp = st->now;
	tp->bbr_has_seen_rtt = 0;
	bbr_init_pacing_rate(tp);
	tp->bbr_mode = TCP_BBR_STARTUP;
	tp->bbr_pacing_gain = tp->bbr_cwnd_gain = BBR_HIGH_GAIN;
}

/* A loss episode begins (ssthresh is asked for): BBR keeps ssthresh and
 * remembers the window (Linux's bbr_ssthresh). */
static uint32_t bbr_ssthresh(struct stack *st, struct tcb *tp)
{
	(void)st;
	bbr_save_cwnd(tp);
	return tp->ssthresh;
}

/* Round trips, and BtlBw's sample (Linux's bbr_update_bw). */
static void bbr_update_bw(struct tcb *tp, const struct tcp_cc_sample *rs)
{
	uint64_t bw;

	tp->bbr_round_start = 0;
	if (!rs->interval)
		return; /* not a valid sample */
	if (rs->have_prior && SEQ_GEQ(rs->prior_delivered, tp->bbr_next_rtt_delivered)) {
		/* what was sent when this round began is delivered */
		tp->bbr_next_rtt_delivered = tp->delivered_bytes;
		tp->bbr_rtt_cnt++;
		tp->bbr_round_start = 1;
		tp->bbr_packet_conservation = 0;
	}
	bw = (uint64_t)((double)rs->delivered * STACK_NS_PER_S / (double)rs->interval);
	/* an app-limited sample says the path is at least this fast */
	if (!rs->app_limited || bw >= bbr_max_bw(tp))
		bbr_bw_sample(tp, bw);
}

/* STARTUP ends when three rounds in a row grew BtlBw by less than 25 %. */
static void bbr_check_full_bw_reached(struct tcb *tp, const struct tcp_cc_sample *rs)
{
	uint64_t bw = bbr_max_bw(tp);

	if (tp->bbr_full_bw_reached || !tp->bbr_round_start || rs->app_limited)
		return;
	if (bw >= tp->bbr_full_bw * BBR_FULL_BW_THRESH / BBR_UNIT) {
		tp->bbr_full_bw = bw;
		tp->bbr_full_bw_cnt = 0;
		return;
	}
	tp->bbr_full_bw_reached = ++tp->bbr_full_bw_cnt >= BBR_FULL_BW_CNT;
}

/* DRAIN the queue STARTUP built, then PROBE_BW; ssthresh is the BDP. */
static void bbr_check_drain(struct tcb *tp)
{
	if (tp->bbr_mode == TCP_BBR_STARTUP && tp->bbr_full_bw_reached) {
		tp->bbr_mode = TCP_BBR_DRAIN;
		tp->ssthresh = bbr_inflight(tp, bbr_max_bw(tp), BBR_UNIT) * mss_of(tp);
	}
	if (tp->bbr_mode == TCP_BBR_DRAIN &&
	    segs_of(tp, tcp_sack_pipe(tp)) <= bbr_inflight(tp, bbr_max_bw(tp), BBR_UNIT))
		tp->bbr_mode = TCP_BBR_PROBE_BW;
}

static void bbr_check_probe_rtt_done(struct stack *st, struct tcb *tp)
{
	if (!tp->bbr_probe_rtt_done || st->now <= tp->bbr_probe_rtt_done)
		return;
	tp->bbr_min_rtt_stamp = st->now; /* the next PROBE_RTT in 10 s */
	if (tp->cwnd < tp->bbr_prior_cwnd)
		tp->cwnd = tp->bbr_prior_cwnd;
	bbr_reset_mode(tp);
}

/* RTprop, and PROBE_RTT when it has not been renewed for 10 s: 4
 * segments in flight for 200 ms and a round trip (Linux's
 * bbr_update_min_rtt). */
static void bbr_update_min_rtt(struct stack *st, struct tcb *tp, const struct tcp_cc_sample *rs)
{
	bool expired = st->now - tp->bbr_min_rtt_stamp > BBR_MIN_RTT_WIN_NS;
	uint32_t pipe = tcp_sack_pipe(tp);

	if (rs->rtt && (rs->rtt < tp->bbr_min_rtt || expired)) {
		tp->bbr_min_rtt = rs->rtt;
		tp->bbr_min_rtt_stamp = st->now;
	}
	if (expired && tp->bbr_mode != TCP_BBR_PROBE_RTT) {
		tp->bbr_mode = TCP_BBR_PROBE_RTT;
		bbr_save_cwnd(tp);
		tp->bbr_probe_rtt_done = 0;
	}
	if (tp->bbr_mode != TCP_BBR_PROBE_RTT)
		return;
	/* its low rate samples are not the path's */
	tp->app_limited = tp->delivered_bytes + pipe ? tp->delivered_bytes + pipe : 1;
	if (!tp->bbr_probe_rtt_done && segs_of(tp, pipe) <= BBR_CWND_MIN) {
		tp->bbr_probe_rtt_done = st->now + BBR_PROBE_RTT_NS;
		tp->bbr_probe_rtt_round_done = 0;
		tp->bbr_next_rtt_delivered = tp->delivered_bytes;
	} else if (tp->bbr_probe_rtt_done) {
		if (tp->bbr_round_start)
			tp->bbr_probe_rtt_round_done = 1;
		if (tp->bbr_probe_rtt_round_done)
			bbr_check_probe_rtt_done(st, tp);
	}
}

static void bbr_update_gains(struct tcb *tp)
{
	switch (tp->bbr_mode) {
	case TCP_BBR_STARTUP:
		tp->bbr_pacing_gain = tp->bbr_cwnd_gain = BBR_HIGH_GAIN;
		break;
	case TCP_BBR_DRAIN:
		tp->bbr_pacing_gain = BBR_DRAIN_GAIN;
		tp->bbr_cwnd_gain = BBR_HIGH_GAIN;
		break;
	case TCP_BBR_PROBE_BW:
		tp->bbr_pacing_gain = BBR_UNIT; /* no gain cycle without pacing */
		tp->bbr_cwnd_gain = BBR_CWND_GAIN;
		break;
	default:
		tp->bbr_pacing_gain = tp->bbr_cwnd_gain = BBR_UNIT;
		break;
	}
}

/* Loss recovery's part (Linux's bbr_set_cwnd_to_recover_or_restore): an
 * ACK releases at most twice what it delivered — what it found lost is
 * taken off first; the first round trip of a fast recovery conserves
 * packets (cwnd = pipe + delivered); leaving recovery or a timeout's
 * recovery gives back the window from before.  True when packet
 * conservation decided cwnd. */
static bool bbr_recover_or_restore(struct tcb *tp, const struct tcp_cc_sample *rs, uint32_t acked,
				   uint32_t *cwnd)
{
	enum tcp_cc_state state = cc_state(tp), prev = tp->bbr_prev_state;
	uint32_t c = *cwnd, pipe = segs_of(tp, tcp_sack_pipe(tp)), mss = mss_of(tp);

	if (rs->losses)
		c = c > rs->losses ? c - rs->losses : 1;
	if (state == TCP_CC_RECOVERY && prev != TCP_CC_RECOVERY) {
		tp->bbr_packet_conservation = 1;
		tp->bbr_next_rtt_delivered = tp->delivered_bytes; /* a round starts now */
		c = pipe + acked;
	} else if (prev >= TCP_CC_RECOVERY && state < TCP_CC_RECOVERY) {
		if (c < tp->bbr_prior_cwnd / mss)
			c = tp->bbr_prior_cwnd / mss;
		tp->bbr_packet_conservation = 0;
	}
	tp->bbr_prev_state = (uint8_t)state;
	if (tp->bbr_packet_conservation) {
		*cwnd = c > pipe + acked ? c : pipe + acked;
		return true;
	}
	*cwnd = c;
	return false;
}

static void bbr_set_cwnd(struct tcb *tp, const struct tcp_cc_sample *rs, uint64_t bw, uint32_t gain)
{
	uint32_t mss = mss_of(tp), cwnd = tp->cwnd / mss, acked = segs_of(tp, rs->acked), target;

	if (acked && !bbr_recover_or_restore(tp, rs, acked, &cwnd)) {
		target = bbr_inflight(tp, bw, gain);
		if (tp->bbr_full_bw_reached) /* grow to the target, or cut to it */
			cwnd = cwnd + acked < target ? cwnd + acked : target;
		else if (cwnd < target || tp->delivered < OPT_TCP_INIT_CWND)
			cwnd += acked; /* STARTUP never cuts */
		if (cwnd < BBR_CWND_MIN)
			cwnd = BBR_CWND_MIN;
	}
	if (tp->bbr_mode == TCP_BBR_PROBE_RTT && cwnd > BBR_CWND_MIN)
		cwnd = BBR_CWND_MIN;
	cwnd_set(tp, (double)cwnd * mss);
}

static void bbr_control(struct stack *st, struct tcb *tp, const struct tcp_cc_sample *rs)
{
	uint64_t bw;

	bbr_update_bw(tp, rs);
	bbr_check_full_bw_reached(tp, rs);
	bbr_check_drain(tp);
	bbr_update_min_rtt(st, tp, rs);
	bbr_update_gains(tp);
	bw = bbr_max_bw(tp);
	bbr_set_pacing_rate(tp, bw, tp->bbr_pacing_gain);
	bbr_set_cwnd(tp, rs, bw, tp->bbr_cwnd_gain);
}

/* A timeout (Linux's bbr_set_state(TCP_CA_Loss)): the end of a round,
 * and STARTUP's growth test starts over. */
static void bbr_timeout(struct tcb *tp)
{
	tp->bbr_prev_state = TCP_CC_LOSS;
	tp->bbr_full_bw = 0;
	tp->bbr_round_start = 1;
}

/* An undo keeps cwnd as it is (Linux's bbr_undo_cwnd) and lets STARTUP's
 * growth test start over. */
static void bbr_undo(struct tcb *tp)
{
	tp->bbr_full_bw = 0;
	tp->bbr_full_bw_cnt = 0;
}

/* ---- the table ------------------------------------------------------------- */

struct cc_algo {
	const char *name;
	void (*ack)(struct stack *st, struct tcb *tp, uint32_t acked);
	uint32_t (*ssthresh)(struct stack *st, struct tcb *tp);
	/* algorithms that set cwnd on every ACK (Linux's cong_control) */
	void (*control)(struct stack *st, struct tcb *tp, const struct tcp_cc_sample *rs);
};

static const struct cc_algo algos[] = {
	[TCP_CC_RENO] = {"reno", reno_ack, reno_ssthresh, NULL},
	[TCP_CC_CUBIC] = {"cubic", cubic_ack, cubic_ssthresh, NULL},
	[TCP_CC_BBR] = {"bbr", reno_ack, bbr_ssthresh, bbr_control},
};

static const struct cc_algo *algo(const struct tcb *tp)
{
	/* BBR's samples come from the SACK scoreboard: without it, Reno */
	if (tp->cc == TCP_CC_BBR && !tp->sack_ok)
		return &algos[TCP_CC_RENO];
	return &algos[tp->cc < sizeof(algos) / sizeof(algos[0]) ? tp->cc : TCP_CC_CUBIC];
}

int tcp_cc_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
		if (strcmp(algos[i].name, name) == 0)
			return (int)i;
	return -1;
}

bool stack_tcp_congestion_known(const char *name)
{
	return name && tcp_cc_by_name(name) >= 0;
}

bool tcp_cc_controls(const struct tcb *tp)
{
	return algo(tp)->control != NULL;
}

void tcp_cc_control(struct stack *st, struct tcb *tp, const struct tcp_cc_sample *rs)
{
	if (algo(tp)->control)
		algo(tp)->control(st, tp, rs);
}

void tcp_cc_timeout(struct stack *st, struct tcb *tp)
{
	(void)st;
	if (algo(tp)->control == bbr_control)
		bbr_timeout(tp);
}

void tcp_cc_undo(struct stack *st, struct tcb *tp)
{
	(void)st;
	if (algo(tp)->control == bbr_control)
		bbr_undo(tp);
}

uint64_t tcp_cc_pacing_rate(const struct tcb *tp)
{
	return algo(tp)->control == bbr_control ? tp->bbr_pacing_rate : 0;
}

/* A connection is established (its MSS and initial window known), or
 * the program chose another algorithm. */
void tcp_cc_init(struct stack *st, struct tcb *tp)
{
	tp->cub_epoch = 0;
	tp->cub_wmax = 0;
	if (tp->cc == TCP_CC_BBR)
		bbr_init(st, tp);
}

/* The name chosen (Linux's), even where it runs as another: "bbr" before
 * SACK is negotiated, or without it. */
const char *tcp_cc_name(const struct tcb *tp)
{
	return algos[tp->cc < sizeof(algos) / sizeof(algos[0]) ? tp->cc : TCP_CC_CUBIC].name;
}

int tcp_cc_set(struct stack *st, struct tcb *tp, const char *name)
{
	int i = tcp_cc_by_name(name);

	if (i < 0)
		return -ENOENT; /* Linux: no such algorithm loaded */
	tp->cc = (uint8_t)i;
	if (tp->state >= TCPS_ESTABLISHED) /* else established() does it */
		tcp_cc_init(st, tp);
	return 0;
}

/* New data acknowledged outside recovery. */
void tcp_cc_ack(struct stack *st, struct tcb *tp, uint32_t acked)
{
	if (tp->cwnd < tp->ssthresh)
		slow_start(tp, acked);
	else
		algo(tp)->ack(st, tp, acked);
}

/* A congestion event (fast retransmit or timeout): the new ssthresh. */
void tcp_cc_loss(struct stack *st, struct tcb *tp)
{
	tp->ssthresh = algo(tp)->ssthresh(st, tp);
	tp->hs_done = 1; /* slow start after a loss is not the first one */
}

/* RFC 9406 HyStart++ for the first slow start: a round's minimum RTT
 * growing by more than clamp(last/8, 4 ms, 16 ms) over the last round's
 * ends slow start (ssthresh = cwnd).  (The Conservative Slow Start phase
 * of §4.2 is not implemented: congestion avoidance follows at once.) */
void tcp_cc_rtt(struct stack *st, struct tcb *tp, uint32_t rtt_us)
{
	(void)st;
	/* BBR's STARTUP has its own exit (bbr_check_full_bw_reached) */
	if (tp->hs_done || tp->cwnd >= tp->ssthresh || algo(tp)->control)
		return;
	if (SEQ_GEQ(tp->snd_una, tp->hs_round_end)) {
		/* a new round */
		tp->hs_last_min = tp->hs_cur_min;
		tp->hs_cur_min = UINT32_MAX;
		tp->hs_samples = 0;
		tp->hs_round_end = tp->snd_max;
	}
	if (rtt_us < tp->hs_cur_min)
		tp->hs_cur_min = rtt_us;
	if (tp->hs_samples < 255)
		tp->hs_samples++;
	if (tp->hs_samples >= HS_MIN_SAMPLES && tp->hs_cur_min != UINT32_MAX &&
	    tp->hs_last_min && tp->hs_last_min != UINT32_MAX) {
		uint32_t thresh = tp->hs_last_min / 8;

		if (thresh < HS_MIN_RTT_THRESH_US)
			thresh = HS_MIN_RTT_THRESH_US;
		if (thresh > HS_MAX_RTT_THRESH_US)
			thresh = HS_MAX_RTT_THRESH_US;
		if (tp->hs_cur_min >= tp->hs_last_min + thresh) {
			tp->ssthresh = tp->cwnd;
			tp->hs_done = 1;
		}
	}
}
