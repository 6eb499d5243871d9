/*
 * test_tcp_loss.c — TCP loss recovery of part 2 at the packet level: the
 * SACK scoreboard and RFC 6675 recovery of one and several holes, a lost
 * retransmission found without a timeout, the tail loss probe (RFC 8985
 * §7), undo of spurious retransmissions by timestamps (RFC 3522) and by
 * D-SACK (RFC 2883), NewReno without SACK (RFC 6582), bogus SACK blocks
 * and many holes at once.  (RACK over a path with a round trip:
 * test_tcp_rack.c.)
 * The remote side is the receiver of tcp_path.c on a path that takes no
 * time: it keeps a map of the bytes it holds, ACKs every segment it accepts
 * with the cumulative ACK and SACK blocks (the latest first, RFC 2018 §4),
 * D-SACKs duplicates, and drops or holds back segments as each test says.
 */
#include <errno.h>

#include "tcp_path.h"

#define MS STACK_NS_PER_MS
#define SEC STACK_NS_PER_S
#define RTT (50 * MS) /* the handshake's sample */

static struct harness h;
static struct tp_conn c;
static struct tcp_path rx; /* a path that takes no time */

static void setup(void)
{
	tp_setup(&h);
	path_init(&rx, &h, &c, 0, 0, 77);
}
static void teardown(void) { tp_teardown(&h); }

/* ---- SACK recovery -------------------------------------------------------- */

static stack_ns_t drop_seg12_once(uint32_t k, unsigned n)
{
	return k == 12 && n == 0 ? PATH_DROP : 0;
}

START_TEST(sack_one_hole)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);
	stack_ns_t t0;

	path_start(&rx, &cfg, 60);
	t0 = h.now;
	path_exchange(&rx, drop_seg12_once, 30 * SEC);
	/* one retransmission, of the hole, by SACK recovery: no timeout */
	ck_assert_uint_eq(rx.rexmits, 1);
	ck_assert_uint_eq(rx.sent[12], 2);
	ck_assert_uint_eq(h_counters(&h).tcp_sack_recoveries, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	ck_assert_uint_lt(h.now - t0, 200 * MS);
	ck_assert_uint_eq(tp_info(&h, c.fd).total_retrans, 1);
	path_finish(&rx);
}
END_TEST

static stack_ns_t drop_four_holes(uint32_t k, unsigned n)
{
	return n == 0 && (k == 5 || k == 9 || k == 13 || k == 17) ? PATH_DROP : 0;
}

START_TEST(sack_several_holes_v6)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET6, RTT);

	path_start(&rx, &cfg, 80);
	path_exchange(&rx, drop_four_holes, 30 * SEC);
	/* each hole resent once, nothing else, no timeout */
	ck_assert_uint_eq(rx.rexmits, 4);
	ck_assert_uint_eq(rx.sent[5] + rx.sent[9] + rx.sent[13] + rx.sent[17], 8);
	ck_assert_uint_ge(h_counters(&h).tcp_sack_recoveries, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	path_finish(&rx);
}
END_TEST

static stack_ns_t drop_seg10_twice(uint32_t k, unsigned n)
{
	return k == 10 && n < 2 ? PATH_DROP : 0;
}

START_TEST(sack_lost_retransmission)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);

	path_start(&rx, &cfg, 120);
	path_exchange(&rx, drop_seg10_twice, 30 * SEC);
	/* the lost retransmission is seen when later data is SACKed and
	 * sent a third time, without waiting for the timeout */
	ck_assert_uint_eq(rx.sent[10], 3);
	ck_assert_uint_ge(h_counters(&h).tcp_lost_retrans, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	ck_assert_uint_eq(rx.rexmits, 2);
	path_finish(&rx);
}
END_TEST

/* ---- tail loss probe ------------------------------------------------------- */

static stack_ns_t drop_last_two_once(uint32_t k, unsigned n)
{
	return n == 0 && (k == 8 || k == 9) ? PATH_DROP : 0;
}

START_TEST(tlp_recovers_tail_without_timeout)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);
	stack_ns_t t0;

	path_start(&rx, &cfg, 10); /* the initial window: all ten go at once */
	t0 = h.now;
	path_exchange(&rx, drop_last_two_once, 30 * SEC);
	/* the probe (the last segment again) arrives, SACKed: segment 8 is
	 * lost and resent by recovery — no RTO, each resent once */
	ck_assert_uint_eq(h_counters(&h).tcp_tlps, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	ck_assert_uint_eq(rx.sent[8], 2);
	ck_assert_uint_eq(rx.sent[9], 2);
	/* probe at 2 SRTT (100 ms), before the RTO (50 + 200 ms) */
	ck_assert_uint_lt(h.now - t0, 200 * MS);
	path_finish(&rx);
}
END_TEST

static stack_ns_t drop_last_once(uint32_t k, unsigned n)
{
	return n == 0 && k == 9 ? PATH_DROP : 0;
}

START_TEST(tlp_single_tail_loss_reduces_cwnd_once)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET6, RTT);

	path_start(&rx, &cfg, 10);
	path_exchange(&rx, drop_last_once, 30 * SEC);
	ck_assert_uint_eq(h_counters(&h).tcp_tlps, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	ck_assert_uint_eq(rx.sent[9], 2);
	/* an ACK only up to the probe's end could still be followed by a
	 * D-SACK (Linux's tcp_process_tlp_ack waits too) */
	ck_assert_uint_gt(tp_info(&h, c.fd).snd_ssthresh, 1000);
	/* one that goes beyond says the probe repaired a loss: the window
	 * is reduced once, with no timeout */
	path_more(&rx, 1);
	path_exchange(&rx, drop_last_once, 30 * SEC);
	ck_assert_uint_lt(tp_info(&h, c.fd).snd_ssthresh, 1000);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 0);
	path_finish(&rx);
}
END_TEST

/* ---- undo ------------------------------------------------------------------ */

static stack_ns_t hold_seg3(uint32_t k, unsigned n)
{
	return k == 3 && n == 0 ? PATH_HOLD : 0;
}

START_TEST(dsack_undoes_spurious_fast_retransmit)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);
	struct tp_seg s;
	uint32_t cwnd0;

	path_start(&rx, &cfg, 40);
	/* the first flight: 0..9, segment 3 held back (reordered) */
	while (tp_pull_any(&h, &s)) {
		uint32_t k = (s.seq - rx.base) / c.eff_mss;

		rx.sent[k]++;
		if (k == 3) {
			rx.held = s;
			rx.holding = true;
		} else {
			path_take(&rx, &s);
		}
		if (k == 9)
			break;
	}
	cwnd0 = tp_info(&h, c.fd).snd_cwnd;
	/* three segments SACKed above it: recovery resends it */
	path_exchange(&rx, hold_seg3, 1 * MS);
	ck_assert_uint_eq(h_counters(&h).tcp_sack_recoveries, 1);
	ck_assert_uint_lt(tp_info(&h, c.fd).snd_cwnd, cwnd0 + 10);
	ck_assert_uint_ge(rx.sent[3], 2);
	/* the original arrives late; the resent copy is D-SACKed */
	path_take(&rx, &rx.held);
	rx.holding = false;
	path_exchange(&rx, hold_seg3, 30 * SEC);
	ck_assert_uint_ge(h_counters(&h).tcp_dsacks, 1);
	ck_assert_uint_eq(h_counters(&h).tcp_undos, 1);
	ck_assert_uint_ge(tp_info(&h, c.fd).snd_ssthresh, cwnd0);
	path_finish(&rx);
}
END_TEST

START_TEST(timestamps_undo_spurious_timeout)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);
	struct tp_seg first, again;
	struct stack_tcp_info ti;
	uint32_t cwnd0;

	cfg.sackok = false; /* no probe: the RTO itself fires */
	path_start(&rx, &cfg, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert(tp_pull_any(&h, &first));
		if (i < 3)
			path_take(&rx, &first);
	}
	cwnd0 = tp_info(&h, c.fd).snd_cwnd;
	/* the last segment's ACK is late: the RTO resends it */
	ck_assert_uint_ne(tp_run(&h, 2 * SEC), STACK_NS_NEVER);
	ck_assert(tp_pull_any(&h, &again));
	ck_assert_uint_eq(again.seq, first.seq);
	ck_assert_uint_eq(h_counters(&h).tcp_timeouts, 1);
	ck_assert_uint_eq(tp_info(&h, c.fd).snd_cwnd, 1);
	/* the ACK of the original echoes its older timestamp (RFC 3522) */
	tp_run(&h, 10 * MS);
	path_take(&rx, &first);
	ti = tp_info(&h, c.fd);
	ck_assert_uint_eq(h_counters(&h).tcp_undos, 1);
	ck_assert_uint_eq(ti.snd_cwnd, cwnd0);
	/* the copy arrives too, as a duplicate; nothing more is resent */
	path_take(&rx, &again);
	ck_assert_uint_eq(tp_run(&h, 5 * SEC), STACK_NS_NEVER);
	path_finish(&rx);
}
END_TEST

/* ---- NewReno and bad input --------------------------------------------------- */

START_TEST(newreno_several_holes_without_sack)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);

	cfg.sackok = false;
	path_start(&rx, &cfg, 80);
	path_exchange(&rx, drop_four_holes, 60 * SEC);
	ck_assert_uint_eq(h_counters(&h).tcp_sack_recoveries, 0);
	ck_assert_uint_ge(h_counters(&h).tcp_reno_recoveries, 1);
	ck_assert_uint_eq(rx.sent[5] + rx.sent[9] + rx.sent[13] + rx.sent[17], 8);
	path_finish(&rx);
}
END_TEST

START_TEST(bogus_sack_blocks_ignored)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);
	struct tp_seg s;
	struct tp_opts op;
	struct tp_out o;

	path_start(&rx, &cfg, 10);
	while (tp_pull_any(&h, &s))
		;
	/* SACK blocks for data never sent, reversed, and far below: all
	 * ignored, counted; nothing is retransmitted */
	o = tp_out(&c, TH_ACK);
	op = *o.o;
	op.nsack = 3;
	op.sack[0][0] = rx.base + 20000;
	op.sack[0][1] = rx.base + 30000;
	op.sack[1][0] = rx.base + 3000;
	op.sack[1][1] = rx.base + 2000;
	op.sack[2][0] = rx.base - 3000000;
	op.sack[2][1] = rx.base - 2000000;
	o.o = &op;
	o.ack = rx.base;
	for (int i = 0; i < 2; i++)
		tp_inject(&c, &o);
	ck_assert_uint_ge(h_counters(&h).p[STACK_P_TCP].drop[STACK_DROP_TCP_SACK_INVALID], 3);
	ck_assert_uint_eq(h_counters(&h).tcp_sack_recoveries, 0);
	ck_assert(!tp_pull_any(&h, &s) || s.len == 0);
	/* and the RTO path still delivers it all */
	memset(rx.sent, 0, sizeof(rx.sent));
	path_exchange(&rx, drop_last_once, 30 * SEC);
	path_finish(&rx);
}
END_TEST

static stack_ns_t drop_every_other(uint32_t k, unsigned n)
{
	return n == 0 && (k) % 2 == 1 && k < 150 ? PATH_DROP : 0;
}

START_TEST(scoreboard_full_still_completes)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);

	path_start(&rx, &cfg, 200);
	/* 75 holes at once (more than the 32 ranges part 1's scoreboard
	 * kept; the records have no such limit) */
	path_exchange(&rx, drop_every_other, 120 * SEC);
	ck_assert_uint_ge(rx.rexmits, 75);
	path_finish(&rx);
}
END_TEST

/* While the stack holds out-of-order data its segments carry SACK blocks:
 * the payload shrinks so that no packet exceeds the MTU (found by the
 * hostile-peer test: 36 bytes over, fragmented). */
START_TEST(sack_blocks_fit_in_the_mtu)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);
	struct tp_seg s;
	uint8_t junk[1000];
	unsigned n = 0, full = 0;

	path_start(&rx, &cfg, 20);
	memset(junk, 'x', sizeof(junk));
	/* the peer sends beyond a hole of 100 bytes, twice (two blocks) */
	tp_send_at(&c, TH_ACK, c.snd_nxt + 100, junk, 200);
	tp_send_at(&c, TH_ACK, c.snd_nxt + 400, junk, 200);
	while (tp_pull_any(&h, &s) || tp_run(&h, 1 * SEC) != STACK_NS_NEVER) {
		if (!s.len)
			continue;
		n++;
		ck_assert_uint_le(20 + 20 + s.optlen + s.len, 1500);
		if (s.o.nsack) {
			ck_assert_uint_le(s.len, 1448 - 28); /* with TS: 3 blocks' room */
			full += s.len == 1448 - 28;
		}
		path_take(&rx, &s);
		if (path_cum(&rx) == rx.total)
			break;
	}
	ck_assert_uint_ge(n, 20);
	ck_assert_uint_ge(full, 5);
	ck_assert(memcmp(rx.rxd, rx.data, rx.total) == 0);
	tp_send_rst(&c);
}
END_TEST

/* Resends made while the peer's window is shut are dropped by it; once the
 * window opens they must not count as in flight, or recovery after a
 * timeout waits for the next, backed-off one. */
START_TEST(window_opens_during_timeout_recovery)
{
	struct tp_cfg cfg = path_cfg(STACK_AF_INET, RTT);
	struct tp_seg sg;
	struct tp_out o;
	stack_ns_t t;

	path_start(&rx, &cfg, 10);
	while (tp_pull_any(&h, &sg))
		;
	/* the peer takes five and shuts its window */
	c.wnd = 0;
	o = tp_out(&c, TH_ACK);
	o.ack = rx.base + 5 * c.eff_mss;
	tp_inject(&c, &o);
	/* the probe, then the timeout's resend: both dropped, answered
	 * with the shut window */
	for (int i = 0; i < 3 && h_counters(&h).tcp_timeouts == 0; i++) {
		ck_assert_uint_ne(tp_run(&h, 5 * SEC), STACK_NS_NEVER);
		while (tp_pull_any(&h, &sg))
			tp_inject(&c, &o);
	}
	ck_assert_uint_ge(h_counters(&h).tcp_timeouts, 1);
	/* the window opens: the hole goes at once, not at the next timeout */
	c.wnd = 1 << 20;
	o = tp_out(&c, TH_ACK);
	o.ack = rx.base + 5 * c.eff_mss;
	tp_inject(&c, &o);
	t = tp_run(&h, 10 * MS);
	ck_assert_uint_ne(t, STACK_NS_NEVER);
	ck_assert(tp_pull_any(&h, &sg));
	ck_assert_uint_eq(sg.seq, rx.base + 5 * c.eff_mss);
	tp_send_rst(&c);
}
END_TEST

Suite *suite_tcp_loss(void)
{
	Suite *su = suite_create("tcp_loss");
	TCase *sk = tcase_create("sack");
	TCase *tl = tcase_create("tlp");
	TCase *ud = tcase_create("undo");
	TCase *ot = tcase_create("other");

	tcase_add_checked_fixture(sk, setup, teardown);
	tcase_add_test(sk, sack_one_hole);
	tcase_add_test(sk, sack_several_holes_v6);
	tcase_add_test(sk, sack_lost_retransmission);
	suite_add_tcase(su, sk);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, tlp_recovers_tail_without_timeout);
	tcase_add_test(tl, tlp_single_tail_loss_reduces_cwnd_once);
	suite_add_tcase(su, tl);

	tcase_add_checked_fixture(ud, setup, teardown);
	tcase_add_test(ud, dsack_undoes_spurious_fast_retransmit);
	tcase_add_test(ud, timestamps_undo_spurious_timeout);
	suite_add_tcase(su, ud);

	tcase_add_checked_fixture(ot, setup, teardown);
	tcase_add_test(ot, newreno_several_holes_without_sack);
	tcase_add_test(ot, bogus_sack_blocks_ignored);
	tcase_add_test(ot, scoreboard_full_still_completes);
	tcase_add_test(ot, sack_blocks_fit_in_the_mtu);
	tcase_add_test(ot, window_opens_during_timeout_recovery);
	suite_add_tcase(su, ot);
	return su;
}
