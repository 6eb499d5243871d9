/*
 * test_tcp_rack.c — RACK, time-based loss detection (RFC 8985 §6), at the
 * packet level over a path with a real round trip: reordering inside the
 * reordering window is no loss, beyond it (at the tail: with one segment
 * SACKed, no DupThresh) it is, found by the RACK timer (§6.3) and neither
 * a probe nor a timeout; a lost retransmission is found by time without a
 * timeout; the window grows by a D-SACK round and decays after 16
 * recoveries (§6.2 step 4).  And BBR (tcp_cc.c), whose window loss does
 * not cut: it keeps it through a recovery and a timeout, finds the
 * bottleneck's rate and holds twice its BDP, and probes RTprop after 10 s.
 * The path: the stack's segments leave one after another (a serialisation
 * gap each) and arrive OWD later, unless the test drops or delays one;
 * the receiver (tcp_path.c, as in test_tcp_loss.c: cumulative ACK, the
 * latest block first, D-SACK for duplicates) answers each, and its ACK
 * arrives OWD later.  Everything runs on the harness's fake clock.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tcp_path.h"
#include "tcp.h"

#define US 1000ull
#define MS STACK_NS_PER_MS
#define SEC STACK_NS_PER_S
#define OWD (5 * MS)  /* one way: RTT 10 ms */
#define GAP (12 * US) /* a full segment at about 1 Gbit/s */

static struct harness h;
static uint16_t peer_mss; /* the peer's MSS option, 0: the default */
static const char *cc_name; /* TCP_CONGESTION for the connection, NULL: default */
static bool no_sack;        /* the peer does not offer SACK-permitted */
static struct tp_conn c;
static struct tcp_path rx;

static void setup(void)
{
	peer_mss = 0;
	cc_name = NULL;
	no_sack = false;
	tp_setup(&h);
	path_init(&rx, &h, &c, OWD, GAP, 85);
}
static void teardown(void) { tp_teardown(&h); }

/* A stack with few packet buffers, so few transmission records (two per
 * buffer): the pool runs dry with small segments in flight. */
static void setup_small(void)
{
	struct stack_config cfg;

	h_config(&cfg, 64, 4, 8);
	cfg.seed[0] = 5;
	peer_mss = 200;
	cc_name = NULL;
	no_sack = false;
	tp_setup_cfg(&h, &cfg, 1500);
	path_init(&rx, &h, &c, OWD, GAP, 85);
}

static struct tcb *tcb(void) { return tcb_of(h.st, ep_get(h.st, c.fd)); }

static void start(unsigned nsegs)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, 2 * OWD);

	if (peer_mss)
		cfg.mss = peer_mss;
	cfg.sackok = !no_sack;
	rx.cc = cc_name;
	path_start(&rx, &cfg, nsegs);
}

/* A first flight of ten that all arrive: the RTT (and min_RTT) known. */
static void warm_up(void)
{
	start(10);
	path_exchange(&rx, path_pass_all, 5 * SEC);
	ck_assert_uint_eq(rx.rexmits, 0);
	ck_assert_uint_ge(tcb()->rack_min_rtt, 2 * OWD);
	ck_assert_uint_lt(tcb()->rack_min_rtt, 2 * OWD + 20 * GAP);
}

/* ---- reordering ------------------------------------------------------------- */

static uint32_t late_seg;
static stack_ns_t late_by;

static stack_ns_t late_once(uint32_t k, unsigned n)
{
	return k == late_seg && n == 0 ? late_by : 0;
}

/* Segment 15 of 40 arrives after the two behind it (by far less than
 * min_RTT/4): two SACKed segments are no DupThresh, and RACK waits out
 * its reordering window — the original arrives, nothing is resent. */
START_TEST(reordering_inside_window_is_no_loss)
{
	warm_up();
	path_more(&rx, 30);
	late_seg = 15;
	late_by = 2 * GAP + GAP / 2;
	path_exchange(&rx, late_once, 10 * SEC);
	ck_assert_uint_eq(rx.rexmits, 0);
	ck_assert_uint_eq(h_counters(&h).tcp_sack_recoveries, 0);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	ck_assert_uint_eq(h_counters(&h).tcp_rack_lost, 0);
	/* it was reordering, and now RACK knows (§6.2 step 3) */
	ck_assert_uint_eq(tcb()->rack_reord, 1);
	ck_assert_uint_ge(tp_info(&h, c.fd).reord_seen, 1);
	ck_assert_uint_eq(tp_info(&h, c.fd).dsack_dups, 0);
	path_finish(&rx);
}
END_TEST

/* At the tail: the last but one segment is late by 6 ms, more than the
 * window (min_RTT/4, 2.5 ms); the last one is SACKed alone, so DupThresh
 * never says anything: the RACK timer (§6.3) marks it lost a window
 * after that SACK — before the original shows up, and well before a
 * probe (2 SRTT) or the RTO would have. */
START_TEST(reordering_beyond_window_is_loss)
{
	stack_ns_t sack_at;

	warm_up();
	path_more(&rx, 10);
	late_seg = 18;
	late_by = 6 * MS;
	path_exchange(&rx, late_once, 10 * SEC);
	ck_assert_uint_eq(rx.sent[18], 2);
	ck_assert_uint_eq(rx.rexmits, 1);
	ck_assert_uint_ge(h_counters(&h).tcp_rack_timers, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_tlps, 0);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	/* the SACK of 19 reached the stack an RTT after 19 left; the resend
	 * went a reordering window (min_RTT/4) after that */
	sack_at = rx.sent_at[19][0] + 2 * OWD;
	ck_assert_uint_ge(rx.sent_at[18][1], sack_at + 2 * OWD / 4);
	ck_assert_uint_lt(rx.sent_at[18][1], sack_at + 2 * OWD / 4 + MS);
	/* ...and before the original's ACK could say it was only late */
	ck_assert_uint_lt(rx.sent_at[18][1], rx.sent_at[18][0] + 2 * OWD + late_by);
	ck_assert_uint_ge(h_counters(&h).tcp_dsacks, 1); /* which it then did */
	path_finish(&rx);
}
END_TEST

/* ---- losses ------------------------------------------------------------------ */

/* TCP_INFO's scoreboard and delivery rate.  Ten segments from idle reach
 * the peer an RTT (10 ms) plus their serialisation later: the rate is
 * the flight over that time (the send phase took no time; the ACK phase
 * gives the interval, draft-cheng-iccrg-delivery-rate-estimation §3.3),
 * and app-limited, since one write from idle is.  Then a hole: at its
 * resend one segment is lost and resent, the three after it SACKed. */
static struct stack_tcp_info at_resend;
static stack_ns_t drop_seg15_note(uint32_t k, unsigned n)
{
	if (k == 15 && n == 1)
		at_resend = tp_info(&h, c.fd);
	return k == 15 && n == 0 ? PATH_DROP : 0;
}

START_TEST(tcp_info_scoreboard_and_delivery_rate)
{
	struct stack_tcp_info ti;
	double want;

	warm_up();
	ti = tp_info(&h, c.fd);
	want = 10.0 * c.eff_mss / ((2 * OWD + 10 * GAP) / 1e9);
	ck_assert_msg(ti.delivery_rate > want * 0.97 && ti.delivery_rate < want * 1.01,
		      "delivery_rate %llu, want about %.0f", (unsigned long long)ti.delivery_rate, want);
	ck_assert_uint_eq(ti.app_limited, 1);
	ck_assert_uint_ge(ti.min_rtt, 2 * OWD / US);
	ck_assert_uint_lt(ti.min_rtt, (2 * OWD + 20 * GAP) / US);
	ck_assert_uint_eq(ti.delivered, 11); /* and the SYN */
	ck_assert_uint_eq(ti.sacked + ti.lost + ti.retrans + ti.unacked, 0);

	path_more(&rx, 20);
	path_exchange(&rx, drop_seg15_note, 10 * SEC);
	ck_assert_uint_eq(rx.sent[15], 2);
	ck_assert_uint_eq(at_resend.lost, 1);
	ck_assert_uint_eq(at_resend.retrans, 1);
	ck_assert_uint_ge(at_resend.sacked, 3);
	ck_assert_uint_eq(at_resend.ca_state, 3); /* recovery */
	ti = tp_info(&h, c.fd);
	ck_assert_uint_eq(ti.delivered, 31); /* each segment once */
	ck_assert_uint_eq(ti.sacked + ti.lost + ti.retrans + ti.unacked, 0);
	ck_assert_uint_eq(ti.total_retrans, 1);
	ck_assert_uint_gt(ti.delivery_rate, 0);
	ck_assert_uint_eq(ti.dsack_dups, 0);
	path_finish(&rx);
}
END_TEST

static stack_ns_t drop_seg8_once(uint32_t k, unsigned n) { return k == 8 && n == 0 ? PATH_DROP : 0; }

/* The second to last of a flight is lost: one SACK, for the last, and
 * the RACK timer resends the lost one (RFC 8985 §6.3) — no probe, no
 * timeout, one resend. */
START_TEST(rack_timer_for_the_last_segments)
{
	start(10);
	path_exchange(&rx, drop_seg8_once, 10 * SEC);
	ck_assert_uint_eq(rx.sent[8], 2);
	ck_assert_uint_eq(rx.rexmits, 1);
	ck_assert_uint_ge(h_counters(&h).tcp_rack_timers, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_tlps, 0);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	/* the SACK of 9 came an RTT after 9 left; the window then is
	 * min_RTT/4 of the handshake's and first flight's RTT */
	ck_assert_uint_lt(rx.sent_at[8][1], rx.sent_at[9][0] + 2 * OWD + 2 * OWD / 4 + MS);
	path_finish(&rx);
}
END_TEST

static stack_ns_t drop_seg12_twice(uint32_t k, unsigned n) { return k == 12 && n < 2 ? PATH_DROP : 0; }

/* Segment 12 is lost, and so is its resend: the segments sent after the
 * resend are SACKed an RTT later, and RACK (by send time) finds the
 * resend lost and sends it a third time — no timeout. */
START_TEST(lost_retransmission_found_by_time)
{
	warm_up();
	path_more(&rx, 80);
	path_exchange(&rx, drop_seg12_twice, 30 * SEC);
	ck_assert_uint_eq(rx.sent[12], 3);
	ck_assert_uint_eq(rx.rexmits, 2);
	ck_assert_uint_ge(h_counters(&h).tcp_lost_retrans, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	ck_assert_uint_eq(h_counters(&h).tcp_tlps, 0);
	/* about two round trips after the first resend, not an RTO */
	ck_assert_uint_lt(rx.sent_at[12][2], rx.sent_at[12][1] + 3 * 2 * OWD);
	path_finish(&rx);
}
END_TEST

static uint32_t ssthresh_at[3];

/* Segment 15 (of the second flight) is lost, and so is everything from the fast retransmission
 * on, until the RTO's resend. */
static stack_ns_t blackout_after_fast_rexmit(uint32_t k, unsigned n)
{
	if (k == 15 && n < 3)
		ssthresh_at[n] = tcb()->ssthresh;
	if (k == 15)
		return n < 2 ? PATH_DROP : 0;
	return rx.sent[15] == 2 ? PATH_DROP : 0;
}

/* A timeout in the middle of a fast recovery keeps the reduction that
 * recovery made (Linux's tcp_enter_loss: ssthresh is recomputed only
 * when the recovery point is behind): one loss episode, one reduction. */
START_TEST(timeout_during_recovery_reduces_once)
{
	warm_up();
	path_more(&rx, 20);
	path_exchange(&rx, blackout_after_fast_rexmit, 30 * SEC);
	ck_assert_uint_eq(rx.sent[15], 3);
	ck_assert_uint_eq(h_counters(&h).tcp_sack_recoveries, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 1);
	ck_assert_uint_lt(ssthresh_at[1], ssthresh_at[0]); /* the recovery's cut */
	ck_assert_uint_eq(ssthresh_at[2], ssthresh_at[1]); /* none by the RTO */
	path_finish(&rx);
}
END_TEST

/* ---- the reordering window --------------------------------------------------- */

static uint32_t drop_k;

static stack_ns_t drop_k_once(uint32_t k, unsigned n) { return k == drop_k && n == 0 ? PATH_DROP : 0; }

/* §6.2 step 4: a D-SACK (here: a resend the late original made
 * needless) grows the window by min_RTT/4 for 16 recoveries; after 16
 * recoveries without one it is min_RTT/4 again. */
START_TEST(reo_wnd_grows_with_dsack_and_decays)
{
	stack_ns_t base;
	uint32_t segs = 20;

	warm_up();
	ck_assert_uint_eq(tcb()->rack_reo_mult, 1);
	/* a late segment at the tail: resent by the RACK timer, then the
	 * original arrives and the peer D-SACKs the resend */
	path_more(&rx, 10);
	late_seg = 18;
	late_by = 6 * MS;
	path_exchange(&rx, late_once, 10 * SEC);
	ck_assert_uint_eq(rx.sent[18], 2);
	ck_assert_uint_ge(h_counters(&h).tcp_dsacks, 1);
	ck_assert_uint_eq(tcb()->rack_reo_mult, 2);
	ck_assert_uint_eq(tcb()->rack_reo_persist, 16);
	/* the window is twice min_RTT/4 now (reordering was seen) */
	base = tcb()->rack_min_rtt / 4;
	ck_assert_uint_eq(tcp_rack_reo_wnd(tcb()), 2 * base);
	/* the same lateness again, but inside the doubled window: no resend */
	path_more(&rx, 10);
	segs += 10;
	late_seg = segs - 2;
	late_by = 3 * MS + MS / 2;
	path_exchange(&rx, late_once, 10 * SEC);
	ck_assert_uint_eq(rx.sent[segs - 2], 1);
	/* sixteen recoveries without a D-SACK */
	for (int i = 0; i < 16; i++) {
		ck_assert_uint_eq(tcb()->rack_reo_mult, 2);
		path_more(&rx, 10);
		drop_k = segs + 3;
		segs += 10;
		path_exchange(&rx, drop_k_once, 10 * SEC);
		ck_assert_uint_eq(rx.sent[drop_k], 2);
		ck_assert_uint_eq(tcb()->rack_reo_persist, 15 - i);
	}
	ck_assert_uint_eq(tcb()->rack_reo_mult, 1);
	ck_assert_uint_eq(tcp_rack_reo_wnd(tcb()), tcb()->rack_min_rtt / 4);
	/* and the same lateness is a loss again */
	path_more(&rx, 10);
	segs += 10;
	late_seg = segs - 2;
	path_exchange(&rx, late_once, 10 * SEC);
	ck_assert_uint_eq(rx.sent[segs - 2], 2);
	path_finish(&rx);
}
END_TEST

/* ---- the record pool --------------------------------------------------------- */

/* a clean slow start first, so that the window outgrows the pool */
static stack_ns_t drop_every_ninth(uint32_t k, unsigned n) { return n == 0 && k >= 150 && k % 9 == 4 ? PATH_DROP : 0; }

/* More small segments in flight than the pool has records (64 buffers:
 * 128 records; 188-byte segments): new data joins the last record or
 * waits, SACK blocks that would split records past the bound are not
 * applied — and the transfer still completes intact, with losses. */
START_TEST(record_pool_runs_dry)
{
	start(300);
	path_exchange(&rx, drop_every_ninth, 60 * SEC);
	ck_assert_uint_ge(h_counters(&h).tcp_txrec_short, 1);
	ck_assert_uint_ge(rx.rexmits, 150 / 9);
	ck_assert_uint_eq(tcb()->txrec_n, 0);
	path_finish(&rx);
}
END_TEST

/* TCP_INFO's chronographs: busy from the write to the last ACK; with the
 * peer's window at four segments and 40 to send, the window, not cwnd,
 * is the limit for most of it (Linux's tcp_snd_wnd_test); idle, the clock
 * stands still. */
START_TEST(tcp_info_busy_and_rwnd_limited)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, 2 * OWD);
	struct stack_tcp_info ti;

	cfg.win = 4 * 1448;
	path_start(&rx, &cfg, 40);
	path_exchange(&rx, path_pass_all, 10 * SEC);
	ti = tp_info(&h, c.fd);
	/* a round trip for every three or four segments (the window is
	 * scaled: the fourth often does not fit whole, and a full segment
	 * waits for it, as Linux's) */
	ck_assert_uint_ge(ti.busy_time, 10 * 2 * OWD / US);
	ck_assert_uint_lt(ti.busy_time, 14 * 2 * OWD / US);
	ck_assert_uint_ge(ti.rwnd_limited, ti.busy_time * 8 / 10);
	ck_assert_uint_eq(ti.sndbuf_limited, 0);
	h_advance(&h, SEC);
	ck_assert_uint_eq(tp_info(&h, c.fd).busy_time, ti.busy_time);
	path_finish(&rx);
}
END_TEST

/* ---- BBR (tcp_cc.c) ---------------------------------------------------------- */

static void setup_bbr(void)
{
	setup();
	cc_name = "bbr";
}

static uint32_t cwnd_before, ssthresh_before;
static struct stack_tcp_info at_rxt;

static stack_ns_t drop_seg40_note(uint32_t k, unsigned n)
{
	if (k == 40 && n == 0) {
		cwnd_before = tcb()->cwnd;
		ssthresh_before = tcb()->ssthresh;
	}
	if (k == 40 && n == 1)
		at_rxt = tp_info(&h, c.fd);
	return k == 40 && n == 0 ? PATH_DROP : 0;
}

/* A loss in STARTUP: fast recovery as ever (RACK, one resend), but BBR
 * keeps ssthresh (Linux's bbr_ssthresh) and the window is not cut — the
 * first round conserves packets, the end of recovery gives the window
 * back (bbr_set_cwnd_to_recover_or_restore); CUBIC would have cut both
 * to 0.7 of the window. */
START_TEST(bbr_recovery_keeps_window)
{
	warm_up();
	ck_assert_uint_eq(tcb()->cc, TCP_CC_BBR);
	path_more(&rx, 60);
	path_exchange(&rx, drop_seg40_note, 10 * SEC);
	ck_assert_uint_eq(rx.sent[40], 2);
	ck_assert_uint_eq(rx.rexmits, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_sack_recoveries, 1);
	ck_assert_uint_eq(at_rxt.ca_state, 3);
	ck_assert_uint_eq(ssthresh_before, UINT32_MAX); /* STARTUP */
	ck_assert_uint_eq(tcb()->ssthresh, ssthresh_before);
	ck_assert_uint_eq(at_rxt.snd_ssthresh, 0x7fffffff);
	ck_assert_uint_ge(tcb()->cwnd, cwnd_before);
	path_finish(&rx);
}
END_TEST

/* The last two segments of a flight are lost, and the probe that resends
 * the last one too: a timeout.  cwnd is what is in flight plus one
 * (Linux's tcp_enter_loss), then BBR grows it back and the end of the
 * timeout's recovery restores the window from before. */
static stack_ns_t drop_tail_and_probe(uint32_t k, unsigned n)
{
	if (k == 28 && n == 0)
		cwnd_before = tcb()->cwnd;
	if (k == 28 && n == 1)
		at_rxt = tp_info(&h, c.fd);
	return (k == 28 && n == 0) || (k == 29 && n < 2) ? PATH_DROP : 0;
}

START_TEST(bbr_timeout_restores_window)
{
	warm_up();
	path_more(&rx, 20);
	path_exchange(&rx, drop_tail_and_probe, 10 * SEC);
	ck_assert_uint_eq(h_counters(&h).tcp_tlps, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 1);
	ck_assert_uint_eq(at_rxt.ca_state, 4); /* loss */
	ck_assert_uint_eq(at_rxt.snd_cwnd, 1);  /* nothing else in flight */
	ck_assert_uint_eq(tcb()->ssthresh, UINT32_MAX);
	ck_assert_uint_ge(tcb()->cwnd, cwnd_before);
	path_finish(&rx);
}
END_TEST

/* BtlBw x RTprop in segments at a gain (<< 8), plus Linux's allowance of
 * three bursts (two segments each at these rates), rounded up to even. */
static uint32_t bbr_target(uint64_t bw, unsigned gain)
{
	double bdp = (double)bw * tcb()->bbr_min_rtt / 1e9 / c.eff_mss * gain / 256;

	return ((uint32_t)ceil(bdp) + 6 + 1) & ~1u;
}

static uint64_t bbr_bw(void)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < TCP_BBR_BW_ROUNDS; i++)
		if (tcb()->bbr_bw[i] > m)
			m = tcb()->bbr_bw[i];
	return m;
}

static bool startup_ssthresh_set;

/* STARTUP has its own exit: HyStart++ (CUBIC's) must not set ssthresh as
 * the queue it builds grows the RTT */
static stack_ns_t note_startup(uint32_t k, unsigned n)
{
	(void)k;
	(void)n;
	if (tcb()->bbr_mode == TCP_BBR_STARTUP && tcb()->ssthresh != UINT32_MAX)
		startup_ssthresh_set = true;
	return 0;
}

/* A bottleneck of one segment a millisecond (1.448 MB/s; BDP 10
 * segments over the handshake's RTT of 10 ms): STARTUP grows the window until three
 * rounds bring no more rate, DRAIN sets ssthresh to the BDP and empties
 * the queue, PROBE_BW holds twice the BDP — where CUBIC's slow start
 * would have grown on for as long as nothing was lost. */
START_TEST(bbr_finds_the_bottleneck)
{
	double want = 1448 * 1e9 / (double)MS, bw;
	struct stack_tcp_info ti;

	rx.gap = MS;
	startup_ssthresh_set = false;
	start(250);
	path_exchange(&rx, note_startup, 60 * SEC);
	ck_assert(!startup_ssthresh_set);
	ck_assert_uint_eq(rx.rexmits, 0);
	ck_assert_uint_eq(tcb()->bbr_full_bw_reached, 1);
	ck_assert_uint_eq(tcb()->bbr_mode, TCP_BBR_PROBE_BW);
	bw = (double)bbr_bw();
	ck_assert_msg(bw > want * 0.95 && bw < want * 1.01, "BtlBw %.0f, want about %.0f", bw, want);
	/* RTprop: the handshake's RTT, no data segment being faster */
	ck_assert_uint_eq(tcb()->bbr_min_rtt, 2 * OWD);
	ck_assert_uint_eq(tcb()->ssthresh / c.eff_mss, bbr_target(bbr_bw(), 256));
	ck_assert_uint_eq(tcb()->cwnd / c.eff_mss, bbr_target(bbr_bw(), 512));
	ck_assert_uint_lt(tcb()->cwnd / c.eff_mss, 40);
	ti = tp_info(&h, c.fd);
	ck_assert_uint_eq(ti.snd_cwnd, bbr_target(bbr_bw(), 512));
	/* the rate it would pace at: BtlBw less 1 % */
	ck_assert_msg(ti.pacing_rate > bw * 0.985 && ti.pacing_rate <= bw * 0.99 + 1, "pacing %llu",
		      (unsigned long long)ti.pacing_rate);
	path_finish(&rx);
}
END_TEST

static bool saw_probe_rtt;
static uint32_t probe_rtt_cwnd;

static stack_ns_t note_probe_rtt(uint32_t k, unsigned n)
{
	(void)k;
	(void)n;
	if (tcb()->bbr_mode == TCP_BBR_PROBE_RTT) {
		saw_probe_rtt = true;
		if (tcb()->cwnd > probe_rtt_cwnd)
			probe_rtt_cwnd = tcb()->cwnd;
	}
	return 0;
}

/* RTprop not renewed for 10 s: PROBE_RTT, 4 segments in flight for
 * 200 ms and a round trip, then PROBE_BW with the window from before. */
START_TEST(bbr_probe_rtt_after_10s)
{
	uint32_t cwnd;
	stack_ns_t t0;

	rx.gap = MS;
	start(200);
	path_exchange(&rx, path_pass_all, 60 * SEC);
	ck_assert_uint_eq(tcb()->bbr_mode, TCP_BBR_PROBE_BW);
	cwnd = tcb()->cwnd;
	h_advance(&h, 11 * SEC);
	t0 = h.now;
	saw_probe_rtt = false;
	probe_rtt_cwnd = 0;
	path_more(&rx, 200);
	path_exchange(&rx, note_probe_rtt, 60 * SEC);
	ck_assert(saw_probe_rtt);
	ck_assert_uint_eq(probe_rtt_cwnd, 4u * c.eff_mss);
	ck_assert_uint_eq(tcb()->bbr_mode, TCP_BBR_PROBE_BW);
	ck_assert_uint_ge(tcb()->bbr_min_rtt_stamp, t0 + 200 * MS); /* when it ended */
	ck_assert_uint_ge(tcb()->cwnd, cwnd);
	path_finish(&rx);
}
END_TEST

static stack_ns_t drop_seg25_once(uint32_t k, unsigned n) { return k == 25 && n == 0 ? PATH_DROP : 0; }

/* Without SACK there are no transmission records, so no rate samples:
 * a "bbr" connection runs Reno (NewReno's recovery halves the window). */
START_TEST(bbr_without_sack_runs_reno)
{
	no_sack = true;
	warm_up();
	ck_assert_uint_eq(tcb()->sack_ok, 0);
	ck_assert(!tcp_cc_controls(tcb()));
	path_more(&rx, 40);
	path_exchange(&rx, drop_seg25_once, 10 * SEC);
	ck_assert_uint_eq(rx.sent[25], 2);
	ck_assert_uint_eq(h_counters(&h).tcp_reno_recoveries, 1);
	ck_assert_uint_lt(tcb()->ssthresh, 100u * c.eff_mss);
	ck_assert_uint_lt(tcb()->cwnd, 100u * c.eff_mss);
	path_finish(&rx);
}
END_TEST

/* stack_config.tcp_congestion (Linux's net.ipv4.tcp_congestion_control)
 * is what a new socket gets; a name the stack does not have makes
 * stack_create fail. */
static void setup_cfg_bbr(void)
{
	struct stack_config cfg;

	stack_config_default(&cfg);
	cfg.seed[0] = 7;
	snprintf(cfg.tcp_congestion, sizeof(cfg.tcp_congestion), "bbr");
	peer_mss = 0;
	cc_name = NULL;
	no_sack = false;
	tp_setup_cfg(&h, &cfg, 1500);
	path_init(&rx, &h, &c, OWD, GAP, 85);
}

START_TEST(congestion_control_by_config)
{
	struct stack_config cfg;
	char name[16] = {0};
	size_t size;
	void *mem;
	int fd;

	warm_up();
	ck_assert_str_eq(tp_cc_name(&h, c.fd, name), "bbr");
	ck_assert_uint_eq(tcb()->ssthresh, UINT32_MAX);
	ck_assert_uint_ne(tcb()->bbr_min_rtt, STACK_NS_NEVER);
	path_finish(&rx);
	/* a new socket, SACK not (yet) negotiated, is "bbr" too */
	fd = stack_ep_open(h.st, STACK_AF_INET, STACK_SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(tp_cc_name(&h, fd, name), "bbr");
	stack_ep_close(h.st, fd);
	stack_config_default(&cfg);
	cfg.max_endpoints = 4;
	cfg.pbuf_small = 16;
	cfg.pbuf_large = 1;
	snprintf(cfg.tcp_congestion, sizeof(cfg.tcp_congestion), "vegas");
	size = stack_arena_size(&cfg);
	mem = aligned_alloc(64, (size + 63) & ~(size_t)63);
	ck_assert_ptr_nonnull(mem);
	ck_assert_ptr_null(stack_create(mem, size, &cfg, 0));
	snprintf(cfg.tcp_congestion, sizeof(cfg.tcp_congestion), "reno");
	ck_assert_ptr_nonnull(stack_create(mem, size, &cfg, 0));
	free(mem);
}
END_TEST

Suite *suite_tcp_rack(void)
{
	Suite *su = suite_create("tcp_rack");
	TCase *ro = tcase_create("reorder");
	TCase *lo = tcase_create("loss");
	TCase *wn = tcase_create("window");
	TCase *po = tcase_create("pool");
	TCase *bb = tcase_create("bbr");
	TCase *bc = tcase_create("bbr_config");

	tcase_add_checked_fixture(ro, setup, teardown);
	tcase_add_test(ro, reordering_inside_window_is_no_loss);
	tcase_add_test(ro, reordering_beyond_window_is_loss);
	suite_add_tcase(su, ro);

	tcase_add_checked_fixture(lo, setup, teardown);
	tcase_add_test(lo, rack_timer_for_the_last_segments);
	tcase_add_test(lo, tcp_info_scoreboard_and_delivery_rate);
	tcase_add_test(lo, tcp_info_busy_and_rwnd_limited);
	tcase_add_test(lo, lost_retransmission_found_by_time);
	tcase_add_test(lo, timeout_during_recovery_reduces_once);
	suite_add_tcase(su, lo);

	tcase_add_checked_fixture(wn, setup, teardown);
	tcase_add_test(wn, reo_wnd_grows_with_dsack_and_decays);
	suite_add_tcase(su, wn);

	tcase_add_checked_fixture(po, setup_small, teardown);
	tcase_add_test(po, record_pool_runs_dry);
	suite_add_tcase(su, po);

	tcase_add_checked_fixture(bb, setup_bbr, teardown);
	tcase_add_test(bb, bbr_recovery_keeps_window);
	tcase_add_test(bb, bbr_timeout_restores_window);
	tcase_add_test(bb, bbr_finds_the_bottleneck);
	tcase_add_test(bb, bbr_probe_rtt_after_10s);
	tcase_add_test(bb, bbr_without_sack_runs_reno);
	suite_add_tcase(su, bb);

	tcase_add_checked_fixture(bc, setup_cfg_bbr, teardown);
	tcase_add_test(bc, congestion_control_by_config);
	suite_add_tcase(su, bc);
	return su;
}
