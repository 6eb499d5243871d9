/*
 * tcp_cc.c — congestion control, chosen per connection from a table by
 * name (TCP_CONGESTION): "reno" (RFC 5681 with RFC 3465 byte counting; the
 * NewReno recovery itself lives in tcp_input.c) and "cubic" (RFC 9438, the
 * default, with HyStart++'s delay-based slow-start exit, RFC 9406).
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

/* ---- the table ------------------------------------------------------------- */

struct cc_algo {
	const char *name;
	void (*ack)(struct stack *st, struct tcb *tp, uint32_t acked);
	uint32_t (*ssthresh)(struct stack *st, struct tcb *tp);
};

static const struct cc_algo algos[] = {
	[TCP_CC_RENO] = {"reno", reno_ack, reno_ssthresh},
	[TCP_CC_CUBIC] = {"cubic", cubic_ack, cubic_ssthresh},
};

static const struct cc_algo *algo(const struct tcb *tp)
{
	return &algos[tp->cc < sizeof(algos) / sizeof(algos[0]) ? tp->cc : TCP_CC_CUBIC];
}

const char *tcp_cc_name(const struct tcb *tp)
{
	return algo(tp)->name;
}

int tcp_cc_set(struct tcb *tp, const char *name)
{
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
		if (strcmp(algos[i].name, name) == 0) {
			tp->cc = (uint8_t)i;
			tp->cub_epoch = 0;
			tp->cub_wmax = 0;
			return 0;
		}
	}
	return -ENOENT; /* Linux: no such algorithm loaded */
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
	if (tp->hs_done || tp->cwnd >= tp->ssthresh)
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
