/*
 * test_tcp_loss.c — TCP loss recovery of part 2 at the packet level: the
 * SACK scoreboard and RFC 6675 recovery of one and several holes, a lost
 * retransmission found without a timeout, the tail loss probe (RFC 8985
 * §7), undo of spurious retransmissions by timestamps (RFC 3522) and by
 * D-SACK (RFC 2883), NewReno without SACK (RFC 6582), bogus SACK blocks
 * and many holes at once.  (RACK over a path with a round trip:
 * test_tcp_rack.c.)
 * The remote side is a small receiver model on top of tcp_peer.c: it keeps
 * a map of the bytes it holds, ACKs every segment it accepts with the
 * cumulative ACK and SACK blocks (the latest first, RFC 2018 §4), D-SACKs
 * duplicates, and drops or holds back segments as each test says.
 */
#include <errno.h>

#include "tcp_peer.h"

#define MS STACK_NS_PER_MS
#define SEC STACK_NS_PER_S
#define SEGS_MAX 400
#define RX_MAX (SEGS_MAX * 1448)

static struct harness h;
static struct tp_conn c;
static uint8_t data[RX_MAX], rxd[RX_MAX], have[RX_MAX];

/* What happens to the n-th transmission of the segment starting at byte
 * offset off (n = 0 the first). */
enum fate { PASS, DROP, HOLD };
typedef enum fate (*fate_fn)(uint32_t off, unsigned n);

static struct {
	uint32_t base;	/* sequence number of byte 0 (irs + 1) */
	size_t total;	/* bytes the program wrote */
	unsigned sent[SEGS_MAX + 1]; /* transmissions per segment (by off / mss) */
	unsigned segs, rexmits;
	struct tp_seg held;
	bool holding;
	uint32_t last_s, last_e; /* the latest arrival's block */
} rx;

static void setup(void)
{
	tp_setup(&h);
	memset(&rx, 0, sizeof(rx));
	memset(have, 0, sizeof(have));
}
static void teardown(void) { tp_teardown(&h); }

static uint32_t cum(void)
{
	uint32_t i = 0;

	while (i < rx.total && have[i])
		i++;
	return i;
}

/* The receiver's ACK: cumulative, then a D-SACK block if the segment was
 * a duplicate, the block of the latest arrival, the others from the top. */
static void send_ack(bool dup, uint32_t ds, uint32_t de)
{
	struct tp_out o = tp_out(&c, TH_ACK);
	struct tp_opts op = o.o ? *o.o : (struct tp_opts){0};
	uint32_t a = cum(), i;

	o.ack = rx.base + a;
	if (c.sack) {
		unsigned max = c.ts ? 3 : 4;

		if (dup && op.nsack < max) {
			op.sack[op.nsack][0] = rx.base + ds;
			op.sack[op.nsack][1] = rx.base + de;
			op.nsack++;
		}
		if (op.nsack < max && rx.last_e > a && rx.last_s >= a) {
			uint32_t s = rx.last_s, e = rx.last_e;

			while (s > a && have[s - 1])
				s--;
			while (e < rx.total && have[e])
				e++;
			op.sack[op.nsack][0] = rx.base + s;
			op.sack[op.nsack][1] = rx.base + e;
			op.nsack++;
		}
		/* the other blocks, highest first */
		i = (uint32_t)rx.total;
		while (i > a && op.nsack < max) {
			uint32_t e, s;

			while (i > a && !have[i - 1])
				i--;
			if (i <= a)
				break;
			e = i;
			while (i > a && have[i - 1])
				i--;
			s = i;
			if (!(rx.last_e > a && s <= rx.last_s && e >= rx.last_e)) {
				op.sack[op.nsack][0] = rx.base + s;
				op.sack[op.nsack][1] = rx.base + e;
				op.nsack++;
			}
		}
		if (op.nsack)
			o.o = &op;
	}
	tp_inject(&c, &o);
}

/* The receiver takes segment s: keeps its bytes, answers it. */
static void take(const struct tp_seg *s)
{
	uint32_t off = s->seq - rx.base, end = off + (uint32_t)s->len;
	bool dup = true;

	ck_assert_uint_le(end, rx.total);
	for (uint32_t i = off; i < end; i++) {
		if (!have[i])
			dup = false;
		have[i] = 1;
		rxd[i] = s->data[i - off];
	}
	/* RFC 7323 §4.3: TS.Recent from a segment at or below the left edge */
	if (s->o.ts_on && (int32_t)(s->seq - (rx.base + cum())) <= 0)
		c.ts_recent = s->o.tsval;
	if (!dup) {
		rx.last_s = off;
		rx.last_e = end;
	}
	send_ack(dup, off, end);
}

/* Run the exchange until the program's bytes are all acknowledged, or
 * `limit` of fake time passed; each data segment's fate from f. */
static void exchange(fate_fn f, stack_ns_t limit)
{
	stack_ns_t end = h.now + limit;
	struct tp_seg s;

	while (h.now < end) {
		bool any = false;

		while (tp_pull_any(&h, &s)) {
			uint32_t off, k;

			any = true;
			ck_assert_uint_eq(s.flags & (TH_RST | TH_SYN), 0);
			if (!s.len)
				continue;
			off = s.seq - rx.base;
			k = off / c.eff_mss;
			ck_assert_uint_le(k, SEGS_MAX);
			if (rx.sent[k])
				rx.rexmits++;
			rx.segs++;
			switch (f(off, rx.sent[k]++)) {
			case DROP:
				break;
			case HOLD:
				ck_assert(!rx.holding);
				rx.held = s;
				rx.holding = true;
				break;
			case PASS:
				take(&s);
				break;
			}
		}
		if (cum() == rx.total && stack_ep_unsent(h.st, c.fd) == 0)
			return;
		if (!any && tp_run(&h, end - h.now) == STACK_NS_NEVER)
			break;
	}
	ck_assert_msg(0, "stalled: %u of %zu bytes acknowledged", cum(), rx.total);
}

static void start(struct tp_cfg *cfg, unsigned nsegs)
{
	tp_client(&c, &h, cfg);
	rx.base = c.irs + 1;
	rx.total = (size_t)nsegs * c.eff_mss;
	ck_assert_uint_le(rx.total, sizeof(data));
	fill_pattern(data, sizeof(data), 77);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_NODELAY, 1), 0);
	ck_assert_int_eq(tp_write(&h, c.fd, data, rx.total, 0), (ssize_t)rx.total);
}

/* The program writes n more segments. */
static void more(unsigned n)
{
	size_t add = (size_t)n * c.eff_mss;

	ck_assert_uint_le(rx.total + add, sizeof(data));
	ck_assert_int_eq(tp_write(&h, c.fd, data + rx.total, add, 0), (ssize_t)add);
	rx.total += add;
}

static void finish(void)
{
	ck_assert(memcmp(rxd, data, rx.total) == 0);
	c.rcv_nxt = rx.base + (uint32_t)rx.total;
	tp_close_active(&c);
}

static struct stack_counters ctr(void)
{
	struct stack_counters k;

	stack_get_counters(h.st, &k);
	return k;
}

static struct stack_tcp_info info(void)
{
	struct stack_tcp_info ti;
	size_t len = sizeof(ti);

	ck_assert_int_eq(stack_ep_getopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_INFO, &ti, &len), 0);
	return ti;
}

static struct tp_cfg big(int family)
{
	struct tp_cfg cfg = tp_cfg(family);

	cfg.sndbuf = 1 << 20;
	cfg.rtt = 50 * MS;
	return cfg;
}

/* ---- SACK recovery -------------------------------------------------------- */

static enum fate drop_seg12_once(uint32_t off, unsigned n)
{
	return off / c.eff_mss == 12 && n == 0 ? DROP : PASS;
}

START_TEST(sack_one_hole)
{
	struct tp_cfg cfg = big(STACK_AF_INET);
	stack_ns_t t0;

	start(&cfg, 60);
	t0 = h.now;
	exchange(drop_seg12_once, 30 * SEC);
	/* one retransmission, of the hole, by SACK recovery: no timeout */
	ck_assert_uint_eq(rx.rexmits, 1);
	ck_assert_uint_eq(rx.sent[12], 2);
	ck_assert_uint_eq(ctr().tcp_sack_recoveries, 1);
	ck_assert_uint_eq(ctr().tcp_timeouts, 0);
	ck_assert_uint_lt(h.now - t0, 200 * MS);
	ck_assert_uint_eq(info().total_retrans, 1);
	finish();
}
END_TEST

static enum fate drop_four_holes(uint32_t off, unsigned n)
{
	uint32_t k = off / c.eff_mss;

	return n == 0 && (k == 5 || k == 9 || k == 13 || k == 17) ? DROP : PASS;
}

START_TEST(sack_several_holes_v6)
{
	struct tp_cfg cfg = big(STACK_AF_INET6);

	start(&cfg, 80);
	exchange(drop_four_holes, 30 * SEC);
	/* each hole resent once, nothing else, no timeout */
	ck_assert_uint_eq(rx.rexmits, 4);
	ck_assert_uint_eq(rx.sent[5] + rx.sent[9] + rx.sent[13] + rx.sent[17], 8);
	ck_assert_uint_ge(ctr().tcp_sack_recoveries, 1);
	ck_assert_uint_eq(ctr().tcp_timeouts, 0);
	finish();
}
END_TEST

static enum fate drop_seg10_twice(uint32_t off, unsigned n)
{
	return off / c.eff_mss == 10 && n < 2 ? DROP : PASS;
}

START_TEST(sack_lost_retransmission)
{
	struct tp_cfg cfg = big(STACK_AF_INET);

	start(&cfg, 120);
	exchange(drop_seg10_twice, 30 * SEC);
	/* the lost retransmission is seen when later data is SACKed and
	 * sent a third time, without waiting for the timeout */
	ck_assert_uint_eq(rx.sent[10], 3);
	ck_assert_uint_ge(ctr().tcp_lost_retrans, 1);
	ck_assert_uint_eq(ctr().tcp_timeouts, 0);
	ck_assert_uint_eq(rx.rexmits, 2);
	finish();
}
END_TEST

/* ---- tail loss probe ------------------------------------------------------- */

static enum fate drop_last_two_once(uint32_t off, unsigned n)
{
	uint32_t k = off / c.eff_mss;

	return n == 0 && (k == 8 || k == 9) ? DROP : PASS;
}

START_TEST(tlp_recovers_tail_without_timeout)
{
	struct tp_cfg cfg = big(STACK_AF_INET);
	stack_ns_t t0;

	start(&cfg, 10); /* the initial window: all ten go at once */
	t0 = h.now;
	exchange(drop_last_two_once, 30 * SEC);
	/* the probe (the last segment again) arrives, SACKed: segment 8 is
	 * lost and resent by recovery — no RTO, each resent once */
	ck_assert_uint_eq(ctr().tcp_tlps, 1);
	ck_assert_uint_eq(ctr().tcp_timeouts, 0);
	ck_assert_uint_eq(rx.sent[8], 2);
	ck_assert_uint_eq(rx.sent[9], 2);
	/* probe at 2 SRTT (100 ms), before the RTO (50 + 200 ms) */
	ck_assert_uint_lt(h.now - t0, 200 * MS);
	finish();
}
END_TEST

static enum fate drop_last_once(uint32_t off, unsigned n)
{
	return n == 0 && off / c.eff_mss == 9 ? DROP : PASS;
}

START_TEST(tlp_single_tail_loss_reduces_cwnd_once)
{
	struct tp_cfg cfg = big(STACK_AF_INET6);

	start(&cfg, 10);
	exchange(drop_last_once, 30 * SEC);
	ck_assert_uint_eq(ctr().tcp_tlps, 1);
	ck_assert_uint_eq(ctr().tcp_timeouts, 0);
	ck_assert_uint_eq(rx.sent[9], 2);
	/* an ACK only up to the probe's end could still be followed by a
	 * D-SACK (Linux's tcp_process_tlp_ack waits too) */
	ck_assert_uint_gt(info().snd_ssthresh, 1000);
	/* one that goes beyond says the probe repaired a loss: the window
	 * is reduced once, with no timeout */
	more(1);
	exchange(drop_last_once, 30 * SEC);
	ck_assert_uint_lt(info().snd_ssthresh, 1000);
	ck_assert_uint_eq(ctr().tcp_timeouts, 0);
	finish();
}
END_TEST

/* ---- undo ------------------------------------------------------------------ */

static enum fate hold_seg3(uint32_t off, unsigned n)
{
	return off / c.eff_mss == 3 && n == 0 ? HOLD : PASS;
}

START_TEST(dsack_undoes_spurious_fast_retransmit)
{
	struct tp_cfg cfg = big(STACK_AF_INET);
	struct tp_seg s;
	uint32_t cwnd0;

	start(&cfg, 40);
	/* the first flight: 0..9, segment 3 held back (reordered) */
	while (tp_pull_any(&h, &s)) {
		uint32_t k = (s.seq - rx.base) / c.eff_mss;

		rx.sent[k]++;
		if (k == 3) {
			rx.held = s;
			rx.holding = true;
		} else {
			take(&s);
		}
		if (k == 9)
			break;
	}
	cwnd0 = info().snd_cwnd;
	/* three segments SACKed above it: recovery resends it */
	exchange(hold_seg3, 1 * MS);
	ck_assert_uint_eq(ctr().tcp_sack_recoveries, 1);
	ck_assert_uint_lt(info().snd_cwnd, cwnd0 + 10);
	ck_assert_uint_ge(rx.sent[3], 2);
	/* the original arrives late; the resent copy is D-SACKed */
	take(&rx.held);
	rx.holding = false;
	exchange(hold_seg3, 30 * SEC);
	ck_assert_uint_ge(ctr().tcp_dsacks, 1);
	ck_assert_uint_eq(ctr().tcp_undos, 1);
	ck_assert_uint_ge(info().snd_ssthresh, cwnd0);
	finish();
}
END_TEST

START_TEST(timestamps_undo_spurious_timeout)
{
	struct tp_cfg cfg = big(STACK_AF_INET);
	struct tp_seg first, again;
	struct stack_tcp_info ti;
	uint32_t cwnd0;

	cfg.sackok = false; /* no probe: the RTO itself fires */
	start(&cfg, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert(tp_pull_any(&h, &first));
		if (i < 3)
			take(&first);
	}
	cwnd0 = info().snd_cwnd;
	/* the last segment's ACK is late: the RTO resends it */
	ck_assert_uint_ne(tp_run(&h, 2 * SEC), STACK_NS_NEVER);
	ck_assert(tp_pull_any(&h, &again));
	ck_assert_uint_eq(again.seq, first.seq);
	ck_assert_uint_eq(ctr().tcp_timeouts, 1);
	ck_assert_uint_eq(info().snd_cwnd, 1);
	/* the ACK of the original echoes its older timestamp (RFC 3522) */
	tp_run(&h, 10 * MS);
	take(&first);
	ti = info();
	ck_assert_uint_eq(ctr().tcp_undos, 1);
	ck_assert_uint_eq(ti.snd_cwnd, cwnd0);
	/* the copy arrives too, as a duplicate; nothing more is resent */
	take(&again);
	ck_assert_uint_eq(tp_run(&h, 5 * SEC), STACK_NS_NEVER);
	finish();
}
END_TEST

/* ---- NewReno and bad input --------------------------------------------------- */

START_TEST(newreno_several_holes_without_sack)
{
	struct tp_cfg cfg = big(STACK_AF_INET);

	cfg.sackok = false;
	start(&cfg, 80);
	exchange(drop_four_holes, 60 * SEC);
	ck_assert_uint_eq(ctr().tcp_sack_recoveries, 0);
	ck_assert_uint_ge(ctr().tcp_reno_recoveries, 1);
	ck_assert_uint_eq(rx.sent[5] + rx.sent[9] + rx.sent[13] + rx.sent[17], 8);
	finish();
}
END_TEST

START_TEST(bogus_sack_blocks_ignored)
{
	struct tp_cfg cfg = big(STACK_AF_INET);
	struct tp_seg s;
	struct tp_opts op;
	struct tp_out o;

	start(&cfg, 10);
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
	ck_assert_uint_ge(ctr().p[STACK_P_TCP].drop[STACK_DROP_TCP_SACK_INVALID], 3);
	ck_assert_uint_eq(ctr().tcp_sack_recoveries, 0);
	ck_assert(!tp_pull_any(&h, &s) || s.len == 0);
	/* and the RTO path still delivers it all */
	memset(rx.sent, 0, sizeof(rx.sent));
	exchange(drop_last_once, 30 * SEC);
	finish();
}
END_TEST

static enum fate drop_every_other(uint32_t off, unsigned n)
{
	return n == 0 && (off / c.eff_mss) % 2 == 1 && off / c.eff_mss < 150 ? DROP : PASS;
}

START_TEST(scoreboard_full_still_completes)
{
	struct tp_cfg cfg = big(STACK_AF_INET);

	start(&cfg, 200);
	/* 75 holes at once (more than the 32 ranges part 1's scoreboard
	 * kept; the records have no such limit) */
	exchange(drop_every_other, 120 * SEC);
	ck_assert_uint_ge(rx.rexmits, 75);
	finish();
}
END_TEST

/* While the stack holds out-of-order data its segments carry SACK blocks:
 * the payload shrinks so that no packet exceeds the MTU (found by the
 * hostile-peer test: 36 bytes over, fragmented). */
START_TEST(sack_blocks_fit_in_the_mtu)
{
	struct tp_cfg cfg = big(STACK_AF_INET);
	struct tp_seg s;
	uint8_t junk[1000];
	unsigned n = 0, full = 0;

	start(&cfg, 20);
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
		take(&s);
		if (cum() == rx.total)
			break;
	}
	ck_assert_uint_ge(n, 20);
	ck_assert_uint_ge(full, 5);
	ck_assert(memcmp(rxd, data, rx.total) == 0);
	tp_send_rst(&c);
}
END_TEST

/* Resends made while the peer's window is shut are dropped by it; once the
 * window opens they must not count as in flight, or recovery after a
 * timeout waits for the next, backed-off one. */
START_TEST(window_opens_during_timeout_recovery)
{
	struct tp_cfg cfg = big(STACK_AF_INET);
	struct tp_seg sg;
	struct tp_out o;
	stack_ns_t t;

	start(&cfg, 10);
	while (tp_pull_any(&h, &sg))
		;
	/* the peer takes five and shuts its window */
	c.wnd = 0;
	o = tp_out(&c, TH_ACK);
	o.ack = rx.base + 5 * c.eff_mss;
	tp_inject(&c, &o);
	/* the probe, then the timeout's resend: both dropped, answered
	 * with the shut window */
	for (int i = 0; i < 3 && ctr().tcp_timeouts == 0; i++) {
		ck_assert_uint_ne(tp_run(&h, 5 * SEC), STACK_NS_NEVER);
		while (tp_pull_any(&h, &sg))
			tp_inject(&c, &o);
	}
	ck_assert_uint_ge(ctr().tcp_timeouts, 1);
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
