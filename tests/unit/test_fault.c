/*
 * test_fault.c — the fault stage (stack/fault.c).  Most cases drive the
 * out direction: packets carrying a sequence number go into fault_stage(1)
 * and are pulled from mem0's transmit queue while the fake clock moves.
 * The in direction is driven through the link (h_inject) with ICMP echo.
 */
#include <errno.h>

#include "harness.h"

#define PKT_LEN 100
#define MS STACK_NS_PER_MS
#define US 1000ull

static struct harness h;

static void setup(void) { h_setup(&h); }
static void teardown(void) { h_teardown(&h); }

static struct iface *mem0(struct harness *hh) { return iface_get(hh->st, hh->ifindex); }

/* Packet content: the sequence number, then a pattern derived from it. */
static void fill_seq(uint8_t *buf, size_t len, uint32_t seq)
{
	put32(buf, seq);
	fill_pattern(buf + 4, len - 4, seq);
}

/* Send one packet of len bytes (>= 4) through the out stage. */
static void send_out(struct harness *hh, uint32_t seq, size_t len)
{
	struct pbuf *p = pbuf_alloc(hh->st, len);

	ck_assert_ptr_nonnull(p);
	fill_seq(pbuf_data(p), len, seq);
	p->len = (uint32_t)len;
	fault_stage(hh->st, mem0(hh), 1, p);
}

/* Pull one packet: its sequence number in *seq (UINT32_MAX if none), its
 * length (0 if none). */
static size_t pull_seq(struct harness *hh, uint8_t *buf, uint32_t *seq)
{
	size_t len = h_pull(hh, buf, 2048);

	*seq = len >= 4 ? get32(buf) : UINT32_MAX;
	return len;
}

static void set_fault(struct harness *hh, const struct stack_fault_dir *in,
		      const struct stack_fault_dir *out)
{
	struct stack_fault f = {0};

	if (in)
		f.in = *in;
	if (out)
		f.out = *out;
	ck_assert_int_eq(stack_if_set_fault(hh->st, hh->ifindex, &f), 0);
}

static struct stack_fault_counters fctr(struct harness *hh, int dir)
{
	struct stack_fault_counters c;

	ck_assert_int_eq(stack_if_fault_counters(hh->st, hh->ifindex, dir, &c), 0);
	return c;
}

/* n successes out of trials at p are within 5 standard deviations. */
static void assert_binomial(uint64_t n, uint64_t trials, double p)
{
	double mean = (double)trials * p;
	double sd = __builtin_sqrt((double)trials * p * (1 - p));

	ck_assert_msg((double)n > mean - 5 * sd && (double)n < mean + 5 * sd,
		      "%llu of %llu, expected about %.0f (sd %.1f)", (unsigned long long)n,
		      (unsigned long long)trials, mean, sd);
}

static int popcount_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	int bits = 0;

	for (size_t i = 0; i < len; i++)
		bits += __builtin_popcount((unsigned)(a[i] ^ b[i]));
	return bits;
}

/* ---- loss and duplication ----------------------------------------------- */

START_TEST(test_loss_rate)
{
	struct stack_fault_dir out = {.loss_ppm = 100000};
	struct stack_fault_counters c;
	uint8_t buf[2048];
	uint32_t seq, last = 0, got = 0;
	const uint32_t n = 10000;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < n; i++) {
		send_out(&h, i, PKT_LEN);
		if (pull_seq(&h, buf, &seq)) {
			ck_assert_uint_eq(seq, i); /* no delay: out at once or never */
			ck_assert(got == 0 || seq > last);
			last = seq;
			got++;
		}
		ck_assert_uint_eq(h_pending(&h), 0);
	}
	c = fctr(&h, 1);
	assert_binomial(c.lost, n, 0.1);
	ck_assert_uint_eq(c.passed, got);
	ck_assert_uint_eq(c.passed + c.lost, n);
	ck_assert_uint_eq(c.duplicated + c.reordered + c.corrupted + c.delayed + c.queue_drops, 0);
	ck_assert_uint_eq(h_drops(&h, STACK_P_LINK, STACK_DROP_FAULT_LOSS), c.lost);
	/* the in direction saw nothing */
	c = fctr(&h, 0);
	ck_assert_uint_eq(c.passed + c.lost, 0);
}
END_TEST

START_TEST(test_loss_all)
{
	struct stack_fault_dir out = {.loss_ppm = 1000000};

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < 100; i++)
		send_out(&h, i, PKT_LEN);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(fctr(&h, 1).lost, 100);
	ck_assert_uint_eq(fctr(&h, 1).passed, 0);
}
END_TEST

START_TEST(test_duplication)
{
	struct stack_fault_dir out = {.dup_ppm = 200000};
	struct stack_fault_counters c;
	uint8_t a[2048], b[2048], want[PKT_LEN];
	uint32_t seq, seq2, dups = 0;
	const uint32_t n = 2000;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < n; i++) {
		send_out(&h, i, PKT_LEN);
		ck_assert_uint_eq(pull_seq(&h, a, &seq), PKT_LEN);
		ck_assert_uint_eq(seq, i);
		fill_seq(want, PKT_LEN, i);
		ck_assert_mem_eq(a, want, PKT_LEN);
		if (h_pending(&h)) {
			/* the copy follows its original, byte for byte */
			ck_assert_uint_eq(pull_seq(&h, b, &seq2), PKT_LEN);
			ck_assert_mem_eq(a, b, PKT_LEN);
			dups++;
		}
		ck_assert_uint_eq(h_pending(&h), 0);
	}
	c = fctr(&h, 1);
	ck_assert_uint_eq(c.duplicated, dups);
	assert_binomial(dups, n, 0.2);
	ck_assert_uint_eq(c.passed, n + dups);
}
END_TEST

/* Exact accounting with loss and duplication together. */
START_TEST(test_loss_dup_accounting)
{
	struct stack_fault_dir out = {.loss_ppm = 100000, .dup_ppm = 50000};
	struct stack_fault_counters c;
	const uint32_t n = 10000;
	uint32_t got = 0;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < n; i++) {
		send_out(&h, i, PKT_LEN);
		got += h_drain(&h);
	}
	c = fctr(&h, 1);
	ck_assert_uint_eq(c.passed, got);
	ck_assert_uint_eq(c.passed + c.lost, n + c.duplicated);
	assert_binomial(c.lost, n, 0.1);
	/* only packets that were not lost are duplicated */
	assert_binomial(c.duplicated, n - c.lost, 0.05);
}
END_TEST

/* ---- corruption ---------------------------------------------------------- */

START_TEST(test_corruption_one_bit)
{
	struct stack_fault_dir out = {.corrupt_ppm = 1000000};
	uint8_t buf[2048], want[2048];
	uint32_t seq;
	bool seen_hdr = false, seen_tail = false;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < 500; i++) {
		size_t len = 20 + (i % 7) * 10;

		send_out(&h, i, len);
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), len);
		fill_seq(want, len, i);
		ck_assert_int_eq(popcount_diff(buf, want, len), 1);
		/* where the bit falls is spread over the whole packet */
		for (size_t j = 0; j < len; j++)
			if (buf[j] != want[j]) {
				seen_hdr |= j < 4;
				seen_tail |= j >= len - 8;
			}
	}
	ck_assert(seen_hdr && seen_tail);
	ck_assert_uint_eq(fctr(&h, 1).corrupted, 500);
	ck_assert_uint_eq(fctr(&h, 1).passed, 500);
}
END_TEST

START_TEST(test_corruption_rate)
{
	struct stack_fault_dir out = {.corrupt_ppm = 300000};
	uint8_t buf[2048], want[2048];
	uint32_t seq, bad = 0;
	const uint32_t n = 3000;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < n; i++) {
		send_out(&h, i, PKT_LEN);
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
		fill_seq(want, PKT_LEN, i);
		int d = popcount_diff(buf, want, PKT_LEN);

		ck_assert_int_le(d, 1);
		bad += (uint32_t)d;
	}
	ck_assert_uint_eq(fctr(&h, 1).corrupted, bad);
	assert_binomial(bad, n, 0.3);
}
END_TEST

/* A buffer another holder still references (a retransmission queue) is
 * copied before the bit flips: the holder's bytes stay intact. */
START_TEST(test_corruption_shared_buffer)
{
	struct stack_fault_dir out = {.corrupt_ppm = 1000000};
	uint8_t buf[2048], want[PKT_LEN];
	struct pbuf *p = pbuf_alloc(h.st, PKT_LEN);
	uint32_t seq;

	set_fault(&h, NULL, &out);
	ck_assert_ptr_nonnull(p);
	fill_seq(pbuf_data(p), PKT_LEN, 7);
	p->len = PKT_LEN;
	pbuf_ref(p);
	fault_stage(h.st, mem0(&h), 1, p);
	fill_seq(want, PKT_LEN, 7);
	ck_assert_mem_eq(pbuf_data(p), want, PKT_LEN);
	ck_assert_uint_eq(p->refcnt, 1);
	ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
	ck_assert_int_eq(popcount_diff(buf, want, PKT_LEN), 1);
	pbuf_free(h.st, p);
}
END_TEST

/* ---- reordering ---------------------------------------------------------- */

/* Every packet that finds nobody held is held, so pairs swap: 1 0 3 2 ...
 * The odd one out at the end waits for the hold time, then goes alone and
 * is not counted as reordered. */
START_TEST(test_reorder_pairs_and_timeout)
{
	struct stack_fault_dir out = {.reorder_ppm = 1000000, .reorder_hold_ns = 5 * MS};
	static const uint32_t want[] = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8};
	struct stack_fault_counters c;
	uint8_t buf[2048];
	uint32_t seq;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < 11; i++)
		send_out(&h, i, PKT_LEN);
	ck_assert_uint_eq(h_pending(&h), 10);
	for (unsigned i = 0; i < ARRAY_LEN(want); i++) {
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
		ck_assert_uint_eq(seq, want[i]);
	}
	c = fctr(&h, 1);
	ck_assert_uint_eq(c.reordered, 5);
	ck_assert_uint_eq(c.passed, 10);
	/* packet 10 is held: nothing until the hold time has passed */
	ck_assert_uint_eq(stack_next_deadline(h.st), h.now + 5 * MS);
	h_advance(&h, 5 * MS - 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	h_advance(&h, 1);
	ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
	ck_assert_uint_eq(seq, 10);
	c = fctr(&h, 1);
	ck_assert_uint_eq(c.reordered, 5);
	ck_assert_uint_eq(c.passed, 11);
	ck_assert_uint_eq(c.delayed, 1); /* only the one that waited out its hold */
	ck_assert_uint_eq(stack_next_deadline(h.st), STACK_NS_NEVER);
}
END_TEST

START_TEST(test_reorder_random)
{
	struct stack_fault_dir out = {.reorder_ppm = 150000};
	uint8_t buf[2048];
	static uint8_t seen[3000];
	uint32_t seq, prev = 0, descents = 0, got = 0;
	const uint32_t n = 3000;

	set_fault(&h, NULL, &out);
	memset(seen, 0, sizeof(seen));
	for (uint32_t i = 0; i < n; i++) {
		send_out(&h, i, PKT_LEN);
		h_advance(&h, 100 * US);
		while (pull_seq(&h, buf, &seq)) {
			ck_assert_uint_lt(seq, n);
			ck_assert_uint_eq(seen[seq]++, 0);
			if (got++ && seq < prev)
				descents++;
			prev = seq;
		}
	}
	h_advance(&h, OPT_FAULT_REORDER_HOLD_NS);
	while (pull_seq(&h, buf, &seq)) {
		ck_assert_uint_lt(seq, n);
		ck_assert_uint_eq(seen[seq]++, 0);
		if (got++ && seq < prev)
			descents++;
		prev = seq;
	}
	ck_assert_uint_eq(got, n);
	/* out of order exactly as often as the stage says it reordered */
	ck_assert_uint_eq(descents, fctr(&h, 1).reordered);
	ck_assert_uint_gt(descents, n / 20);
}
END_TEST

/* A held packet whose hold ran out before the next packet arrived is not
 * taken along by it: it goes first, in order. */
START_TEST(test_reorder_hold_expired_keeps_order)
{
	struct stack_fault_dir out = {.reorder_ppm = 1000000, .reorder_hold_ns = 2 * MS};
	uint8_t buf[2048];
	uint32_t seq;

	set_fault(&h, NULL, &out);
	send_out(&h, 0, PKT_LEN);
	h.now += 3 * MS; /* time moves but nobody polled */
	h.st->now = h.now;
	send_out(&h, 1, PKT_LEN); /* held in its turn */
	ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
	ck_assert_uint_eq(seq, 0);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(fctr(&h, 1).reordered, 0);
}
END_TEST

/* ---- delay, jitter, rate ------------------------------------------------ */

START_TEST(test_delay)
{
	struct stack_fault_dir out = {.delay_ns = 50 * MS};
	uint8_t buf[2048];
	uint32_t seq;
	stack_ns_t t0 = h.now;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < 100; i++)
		send_out(&h, i, PKT_LEN);
	h_advance(&h, 10 * MS);
	for (uint32_t i = 100; i < 200; i++)
		send_out(&h, i, PKT_LEN);
	ck_assert_uint_eq(stack_next_deadline(h.st), t0 + 50 * MS);
	h_advance(&h, 40 * MS - 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	h_advance(&h, 1);
	ck_assert_uint_eq(h_pending(&h), 100);
	for (uint32_t i = 0; i < 100; i++) {
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
		ck_assert_uint_eq(seq, i);
	}
	ck_assert_uint_eq(stack_next_deadline(h.st), t0 + 60 * MS);
	h_advance(&h, 10 * MS - 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	h_advance(&h, 1);
	for (uint32_t i = 100; i < 200; i++) {
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
		ck_assert_uint_eq(seq, i);
	}
	ck_assert_uint_eq(fctr(&h, 1).delayed, 200);
	ck_assert_uint_eq(fctr(&h, 1).passed, 200);
	ck_assert_uint_eq(stack_next_deadline(h.st), STACK_NS_NEVER);
}
END_TEST

START_TEST(test_jitter_bounds)
{
	struct stack_fault_dir out = {.delay_ns = 10 * MS, .jitter_ns = 5 * MS};
	uint8_t buf[2048];
	static uint8_t seen[300];
	uint32_t seq, got = 0;
	stack_ns_t t0 = h.now, first = STACK_NS_NEVER, last = 0;
	const stack_ns_t step = 10 * US;

	set_fault(&h, NULL, &out);
	memset(seen, 0, sizeof(seen));
	for (uint32_t i = 0; i < 300; i++)
		send_out(&h, i, PKT_LEN);
	h_advance(&h, 10 * MS - 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	h_advance(&h, 1);
	for (;;) {
		/* a packet pulled now was released in (now - step, now] */
		while (pull_seq(&h, buf, &seq)) {
			stack_ns_t at = h.now - t0;

			ck_assert_uint_ge(at, 10 * MS);
			ck_assert_uint_le(at - (at == 10 * MS ? 0 : step - 1), 15 * MS);
			ck_assert_uint_lt(seq, 300);
			ck_assert_uint_eq(seen[seq]++, 0);
			first = at < first ? at : first;
			last = at > last ? at : last;
			got++;
		}
		if (h.now - t0 >= 15 * MS)
			break;
		h_advance(&h, step);
	}
	ck_assert_uint_eq(got, 300);
	/* spread over the interval, not bunched at one end */
	ck_assert_uint_lt(first, 10 * MS + 500 * US);
	ck_assert_uint_gt(last, 15 * MS - 500 * US);
	ck_assert_uint_eq(fctr(&h, 1).delayed, 300);
}
END_TEST

/* 1 Mbit/s, 1250-byte packets: 10 ms each on the wire. */
START_TEST(test_rate_limit)
{
	struct stack_fault_dir out = {.rate_bps = 1000000};
	uint8_t buf[2048];
	uint32_t seq, got = 0;
	stack_ns_t t0 = h.now;
	const uint32_t n = 40;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < n; i++)
		send_out(&h, i, 1250);
	ck_assert_uint_eq(h_pending(&h), 0);
	for (uint32_t k = 1; k <= n; k++) {
		h_advance(&h, 10 * MS - 1);
		ck_assert_uint_eq(h_pending(&h), 0);
		h_advance(&h, 1);
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), 1250);
		ck_assert_uint_eq(seq, got++);
		ck_assert_uint_eq(h.now - t0, k * 10 * MS);
	}
	/* The link is idle again: the next packet only pays its own time. */
	h_advance(&h, 100 * MS);
	send_out(&h, n, 125); /* 1 ms */
	h_advance(&h, 1 * MS - 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	h_advance(&h, 1);
	ck_assert_uint_eq(h_pending(&h), 1);
}
END_TEST

/* Many packets of odd size at an odd rate: the total matches N*L*8/R
 * within one packet's time. */
START_TEST(test_rate_limit_total)
{
	struct stack_fault_dir out = {.rate_bps = 3000001};
	const uint32_t n = 400, len = 777;
	const stack_ns_t one = (stack_ns_t)len * 8 * STACK_NS_PER_S / 3000001;
	const stack_ns_t total = (stack_ns_t)n * len * 8 * STACK_NS_PER_S / 3000001;
	stack_ns_t t0 = h.now;
	uint32_t got = 0;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < n; i++)
		send_out(&h, i, len);
	while (got < n) {
		h_advance(&h, 100 * US);
		got += h_drain(&h);
	}
	ck_assert_uint_ge(h.now - t0, total - one);
	ck_assert_uint_le(h.now - t0, total + one);
}
END_TEST

/* Serialisation first, then the path delay (as netem adds them). */
START_TEST(test_rate_and_delay_add)
{
	struct stack_fault_dir out = {.rate_bps = 1000000, .delay_ns = 20 * MS};

	set_fault(&h, NULL, &out);
	send_out(&h, 0, 1250);
	send_out(&h, 1, 1250);
	h_advance(&h, 30 * MS - 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	h_advance(&h, 1);
	ck_assert_uint_eq(h_pending(&h), 1);
	h_advance(&h, 10 * MS);
	ck_assert_uint_eq(h_pending(&h), 2);
}
END_TEST

/* ---- queue limit ---------------------------------------------------------- */

START_TEST(test_queue_limit)
{
	struct stack_fault_dir out = {.delay_ns = 10 * MS, .queue_limit = 10};
	struct stack_fault_counters c;
	uint8_t buf[2048];
	uint32_t seq;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < 25; i++)
		send_out(&h, i, PKT_LEN);
	c = fctr(&h, 1);
	ck_assert_uint_eq(c.queue_drops, 15);
	ck_assert_uint_eq(h_drops(&h, STACK_P_LINK, STACK_DROP_FAULT_QUEUE), 15);
	ck_assert_uint_eq(h.st->pools[PBUF_SMALL].used, 10);
	h_advance(&h, 10 * MS);
	for (uint32_t i = 0; i < 10; i++) {
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
		ck_assert_uint_eq(seq, i);
	}
	ck_assert_uint_eq(h_pending(&h), 0);
	/* room again once the queue drained */
	send_out(&h, 99, PKT_LEN);
	h_advance(&h, 10 * MS);
	ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
	ck_assert_uint_eq(seq, 99);
	ck_assert_uint_eq(fctr(&h, 1).queue_drops, 15);
}
END_TEST

/* A packet that goes through at once never counts against the limit; one
 * held for reordering does. */
START_TEST(test_queue_limit_counts_held)
{
	struct stack_fault_dir out = {.reorder_ppm = 1000000, .queue_limit = 1};

	set_fault(&h, NULL, &out);
	send_out(&h, 0, PKT_LEN); /* held: the stage is full */
	send_out(&h, 1, PKT_LEN); /* dropped */
	ck_assert_uint_eq(fctr(&h, 1).queue_drops, 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	h_advance(&h, OPT_FAULT_REORDER_HOLD_NS);
	ck_assert_uint_eq(h_pending(&h), 1);
}
END_TEST

/* ---- determinism --------------------------------------------------------- */

#define TRACE_MAX 8192

/* Everything at once; the trace records what arrived when. */
static size_t run_mix(struct harness *hh, uint64_t *trace, struct stack_fault_counters *c)
{
	struct stack_fault_dir out = {
		.loss_ppm = 50000, .dup_ppm = 50000, .reorder_ppm = 50000,
		.corrupt_ppm = 50000, .delay_ns = 1 * MS, .jitter_ns = 2 * MS,
		.rate_bps = 100000000,
	};
	uint8_t buf[2048];
	size_t n = 0, len;
	uint32_t seq;

	set_fault(hh, NULL, &out);
	for (uint32_t i = 0; i < 1000 || hh->st->ifaces[hh->ifindex - 1].fault[1].qlen ||
			     hh->st->ifaces[hh->ifindex - 1].fault[1].held; i++) {
		if (i < 1000)
			send_out(hh, i, 60 + i % 1000);
		h_advance(hh, 100 * US);
		while ((len = pull_seq(hh, buf, &seq)) != 0) {
			uint64_t x = 1469598103934665603ull; /* FNV-1a */

			for (size_t j = 0; j < len; j++)
				x = (x ^ buf[j]) * 1099511628211ull;
			ck_assert_uint_lt(n + 2, TRACE_MAX);
			trace[n++] = hh->now;
			trace[n++] = x;
		}
	}
	*c = fctr(hh, 1);
	return n;
}

START_TEST(test_determinism)
{
	static uint64_t t1[TRACE_MAX], t2[TRACE_MAX], t3[TRACE_MAX];
	struct harness h2, h3;
	struct stack_config cfg;
	struct stack_fault_counters c1, c2, c3;
	size_t n1, n2, n3;

	h_setup(&h2); /* the same seed as h */
	stack_config_default(&cfg);
	cfg.pbuf_small = 512;
	cfg.pbuf_large = 16;
	cfg.max_endpoints = 64;
	cfg.seed[0] = 5;
	h_setup_cfg(&h3, &cfg, 1500);

	n1 = run_mix(&h, t1, &c1);
	n2 = run_mix(&h2, t2, &c2);
	n3 = run_mix(&h3, t3, &c3);
	ck_assert_uint_eq(n1, n2);
	ck_assert_mem_eq(t1, t2, n1 * sizeof(t1[0]));
	ck_assert_mem_eq(&c1, &c2, sizeof(c1));
	/* every kind of fault happened */
	ck_assert(c1.lost && c1.duplicated && c1.reordered && c1.corrupted && c1.delayed);
	/* and another seed makes other decisions */
	ck_assert(n1 != n3 || memcmp(t1, t3, n1 * sizeof(t1[0])) != 0);
	h_teardown(&h2);
	h_teardown(&h3);
}
END_TEST

/* ---- configuration -------------------------------------------------------- */

START_TEST(test_config_validation)
{
	struct stack_fault f = {0};
	struct stack_fault_counters c;
	uint32_t *fields[] = {
		&f.in.loss_ppm, &f.in.dup_ppm, &f.in.reorder_ppm, &f.in.corrupt_ppm,
		&f.out.loss_ppm, &f.out.dup_ppm, &f.out.reorder_ppm, &f.out.corrupt_ppm,
	};

	for (unsigned i = 0; i < ARRAY_LEN(fields); i++) {
		memset(&f, 0, sizeof(f));
		*fields[i] = 1000001;
		ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, &f), -EINVAL);
		ck_assert_uint_eq(mem0(&h)->has_fault, 0);
		*fields[i] = 1000000;
		ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, &f), 0);
		ck_assert_uint_eq(mem0(&h)->has_fault, 1);
		/* a bad config leaves the active one in place */
		*fields[i] = UINT32_MAX;
		ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, &f), -EINVAL);
		ck_assert_uint_eq(mem0(&h)->has_fault, 1);
		ck_assert_uint_eq(mem0(&h)->fault[i / 4].cfg.loss_ppm +
					  mem0(&h)->fault[i / 4].cfg.dup_ppm +
					  mem0(&h)->fault[i / 4].cfg.reorder_ppm +
					  mem0(&h)->fault[i / 4].cfg.corrupt_ppm,
				  1000000);
		ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, NULL), 0);
		ck_assert_uint_eq(mem0(&h)->has_fault, 0);
	}
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(stack_if_set_fault(h.st, 0, &f), -ENODEV);
	ck_assert_int_eq(stack_if_set_fault(h.st, 99, &f), -ENODEV);
	ck_assert_int_eq(stack_if_set_fault(h.st, -1, NULL), -ENODEV);
	ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex + 1, &f), -ENODEV);
	ck_assert_int_eq(stack_if_fault_counters(h.st, 99, 0, &c), -ENODEV);
	ck_assert_int_eq(stack_if_fault_counters(h.st, h.ifindex, 2, &c), -EINVAL);
	ck_assert_int_eq(stack_if_fault_counters(h.st, h.ifindex, -1, &c), -EINVAL);
	/* clearing a stage that is not set is fine */
	ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, NULL), 0);
	/* defaults fill the zero fields */
	ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, &f), 0);
	ck_assert_uint_eq(mem0(&h)->fault[0].cfg.queue_limit, OPT_FAULT_QUEUE_LIMIT);
	ck_assert_uint_eq(mem0(&h)->fault[1].cfg.reorder_hold_ns, OPT_FAULT_REORDER_HOLD_NS);
}
END_TEST

/* An all-zero configuration is a wire that counts. */
START_TEST(test_zero_config_passes)
{
	struct stack_fault_dir out = {0};
	uint8_t buf[2048], want[PKT_LEN];
	uint32_t seq;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < 50; i++) {
		send_out(&h, i, PKT_LEN);
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
		fill_seq(want, PKT_LEN, i);
		ck_assert_mem_eq(buf, want, PKT_LEN);
	}
	ck_assert_uint_eq(fctr(&h, 1).passed, 50);
	ck_assert_uint_eq(fctr(&h, 1).delayed, 0);
	ck_assert_uint_eq(stack_next_deadline(h.st), STACK_NS_NEVER);
}
END_TEST

/* Clearing hands on what waits, at once and in order; nothing leaks. */
START_TEST(test_clear_releases_queued)
{
	struct stack_fault_dir out = {.delay_ns = 1 * STACK_NS_PER_S};
	struct stack_fault_counters c;
	uint8_t buf[2048];
	uint32_t seq;

	set_fault(&h, NULL, &out);
	for (uint32_t i = 0; i < 20; i++)
		send_out(&h, i, PKT_LEN);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(h.st->pools[PBUF_SMALL].used, 20);
	ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, NULL), 0);
	ck_assert_uint_eq(mem0(&h)->has_fault, 0);
	ck_assert_uint_eq(stack_next_deadline(h.st), STACK_NS_NEVER);
	for (uint32_t i = 0; i < 20; i++) {
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
		ck_assert_uint_eq(seq, i);
	}
	ck_assert_uint_eq(h.st->pools[PBUF_SMALL].used, 0);
	/* counters survive clearing */
	c = fctr(&h, 1);
	ck_assert_uint_eq(c.passed, 20);
	ck_assert_uint_eq(c.delayed, 20);
}
END_TEST

START_TEST(test_clear_releases_held)
{
	struct stack_fault_dir out = {.reorder_ppm = 1000000,
				      .reorder_hold_ns = 1 * STACK_NS_PER_S};
	uint8_t buf[2048];
	uint32_t seq;

	set_fault(&h, NULL, &out);
	send_out(&h, 0, PKT_LEN);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, NULL), 0);
	ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
	ck_assert_uint_eq(seq, 0);
	ck_assert_uint_eq(fctr(&h, 1).reordered, 0);
	ck_assert_uint_eq(stack_next_deadline(h.st), STACK_NS_NEVER);
}
END_TEST

/* A delay so long the release time saturates at "never": only clearing
 * lets the packet go. */
START_TEST(test_clear_huge_delay)
{
	struct stack_fault_dir out = {.delay_ns = UINT64_MAX, .jitter_ns = UINT64_MAX};

	set_fault(&h, NULL, &out);
	send_out(&h, 0, PKT_LEN);
	send_out(&h, 1, PKT_LEN);
	h_advance(&h, 3600 * STACK_NS_PER_S);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, NULL), 0);
	ck_assert_uint_eq(h_pending(&h), 2);
}
END_TEST

/* fault_flush frees what waits (counted as queue drops); the stage stays
 * configured and works on. */
START_TEST(test_flush_frees)
{
	struct stack_fault_dir d = {.delay_ns = 5 * MS};
	uint8_t buf[2048];
	uint32_t seq;

	set_fault(&h, &d, &d);
	for (uint32_t i = 0; i < 30; i++)
		send_out(&h, i, PKT_LEN);
	ck_assert_uint_eq(h.st->pools[PBUF_SMALL].used, 30);
	fault_flush(h.st, mem0(&h));
	ck_assert_uint_eq(h.st->pools[PBUF_SMALL].used, 0);
	ck_assert_uint_eq(stack_next_deadline(h.st), STACK_NS_NEVER);
	ck_assert_uint_eq(fctr(&h, 1).queue_drops, 30);
	ck_assert_uint_eq(h_drops(&h, STACK_P_LINK, STACK_DROP_FAULT_QUEUE), 30);
	ck_assert_uint_eq(mem0(&h)->has_fault, 1);
	send_out(&h, 100, PKT_LEN);
	h_advance(&h, 5 * MS);
	ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
	ck_assert_uint_eq(seq, 100);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

/* Reconfiguring keeps what waits (with its release times) and the
 * counters. */
START_TEST(test_reconfigure_keeps_queue)
{
	struct stack_fault_dir slow = {.delay_ns = 100 * MS}, fast = {0};
	uint8_t buf[2048];
	uint32_t seq;

	set_fault(&h, NULL, &slow);
	for (uint32_t i = 0; i < 5; i++)
		send_out(&h, i, PKT_LEN);
	set_fault(&h, NULL, &fast);
	send_out(&h, 5, PKT_LEN); /* no delay now: overtakes the queue */
	ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
	ck_assert_uint_eq(seq, 5);
	h_advance(&h, 100 * MS - 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	h_advance(&h, 1);
	for (uint32_t i = 0; i < 5; i++) {
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
		ck_assert_uint_eq(seq, i);
	}
	ck_assert_uint_eq(fctr(&h, 1).passed, 6);
	ck_assert_uint_eq(fctr(&h, 1).delayed, 5);
}
END_TEST

/* Packets due at the same time leave in the order they arrived, also
 * when one is placed in the middle of the queue. */
START_TEST(test_equal_times_keep_arrival_order)
{
	struct stack_fault_dir d100 = {.delay_ns = 100 * MS}, d200 = {.delay_ns = 200 * MS};
	static const uint32_t want[] = {0, 2, 3, 1};
	uint8_t buf[2048];
	uint32_t seq;

	set_fault(&h, NULL, &d100);
	send_out(&h, 0, PKT_LEN);
	set_fault(&h, NULL, &d200);
	send_out(&h, 1, PKT_LEN);
	set_fault(&h, NULL, &d100);
	send_out(&h, 2, PKT_LEN); /* due with 0, queued before 1 */
	send_out(&h, 3, PKT_LEN);
	h_advance(&h, 200 * MS);
	for (unsigned i = 0; i < ARRAY_LEN(want); i++) {
		ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
		ck_assert_uint_eq(seq, want[i]);
	}
}
END_TEST

/* ---- the in direction, through the link ---------------------------------- */

/* An ICMP echo request from the peer to us. */
static size_t echo_request(struct harness *hh, uint8_t *pkt, uint16_t seq)
{
	uint8_t icmp[64];
	size_t il = build_icmp(icmp, STACK_AF_INET, hh->p4, hh->a4, ICMP4_ECHO, 0,
			       0x1234u << 16 | seq, "fault", 5);

	return build_ip4(pkt, hh->p4, hh->a4, STACK_IPPROTO_ICMP, icmp, il, seq, 0, 64);
}

static bool is_echo_reply(const uint8_t *buf, size_t len, uint16_t seq)
{
	return len >= IP4_HLEN + ICMP_HLEN && buf[IP4_PROTO] == STACK_IPPROTO_ICMP &&
	       buf[IP4_HLEN + ICMP_TYPE] == ICMP4_ECHOREPLY &&
	       get16(buf + IP4_HLEN + ICMP_REST + 2) == seq;
}

START_TEST(test_in_loss)
{
	struct stack_fault_dir in = {.loss_ppm = 1000000};
	uint8_t pkt[128];

	set_fault(&h, &in, NULL);
	for (uint16_t i = 0; i < 10; i++)
		h_inject(&h, pkt, echo_request(&h, pkt, i));
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(fctr(&h, 0).lost, 10);
	ck_assert_uint_eq(fctr(&h, 0).passed, 0);
	ck_assert_uint_eq(fctr(&h, 1).passed, 0);
	ck_assert_uint_eq(h_drops(&h, STACK_P_LINK, STACK_DROP_FAULT_LOSS), 10);
	ck_assert_uint_eq(h.st->ctr.p[STACK_P_IP4].rx, 0);
}
END_TEST

/* The request waits 20 ms on the way in, the reply 5 ms on the way out:
 * the reply leaves the stage from inside the release of the request. */
START_TEST(test_in_and_out_delay_echo)
{
	struct stack_fault_dir in = {.delay_ns = 20 * MS}, out = {.delay_ns = 5 * MS};
	uint8_t pkt[128], buf[2048];
	size_t len;

	set_fault(&h, &in, &out);
	for (uint16_t i = 0; i < 3; i++)
		h_inject(&h, pkt, echo_request(&h, pkt, i));
	h_advance(&h, 20 * MS - 1);
	ck_assert_uint_eq(fctr(&h, 0).passed, 0);
	h_advance(&h, 1);
	ck_assert_uint_eq(fctr(&h, 0).passed, 3);
	ck_assert_uint_eq(fctr(&h, 1).delayed, 3);
	h_advance(&h, 5 * MS - 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	h_advance(&h, 1);
	for (uint16_t i = 0; i < 3; i++) {
		len = h_pull(&h, buf, sizeof(buf));
		ck_assert_msg(is_echo_reply(buf, len, i), "reply %u", i);
	}
	ck_assert_uint_eq(fctr(&h, 1).passed, 3);
}
END_TEST

/* Requests released while their replies pass straight out: the reply to
 * each is sent from inside the stage's release loop (re-entry into the
 * other direction) and nothing is lost or doubled. */
START_TEST(test_in_reorder_reentry)
{
	struct stack_fault_dir in = {.reorder_ppm = 1000000, .jitter_ns = 3 * MS};
	uint8_t pkt[128], buf[2048];
	static uint8_t seen[64];
	uint32_t got = 0;
	size_t len;

	set_fault(&h, &in, NULL);
	memset(seen, 0, sizeof(seen));
	for (uint16_t i = 0; i < 64; i++) {
		h_inject(&h, pkt, echo_request(&h, pkt, i));
		h_advance(&h, 100 * US);
	}
	h_advance(&h, OPT_FAULT_REORDER_HOLD_NS + 3 * MS);
	while ((len = h_pull(&h, buf, sizeof(buf))) != 0) {
		uint16_t seq = get16(buf + IP4_HLEN + ICMP_REST + 2);

		ck_assert(is_echo_reply(buf, len, seq));
		ck_assert_uint_lt(seq, 64);
		ck_assert_uint_eq(seen[seq]++, 0);
		got++;
	}
	ck_assert_uint_eq(got, 64);
	ck_assert_uint_eq(fctr(&h, 0).passed, 64);
	ck_assert_uint_ge(fctr(&h, 0).reordered, 1);
}
END_TEST

/* Clearing with both directions waiting: the requests are handed to the
 * stack at once and their replies follow the output that waited. */
START_TEST(test_clear_both_directions)
{
	struct stack_fault_dir d = {.delay_ns = 1 * STACK_NS_PER_S};
	uint8_t pkt[128], buf[2048];
	uint32_t seq;
	size_t len;

	set_fault(&h, &d, &d);
	send_out(&h, 42, PKT_LEN);
	h_inject(&h, pkt, echo_request(&h, pkt, 7));
	ck_assert_int_eq(stack_if_set_fault(h.st, h.ifindex, NULL), 0);
	ck_assert_uint_eq(pull_seq(&h, buf, &seq), PKT_LEN);
	ck_assert_uint_eq(seq, 42);
	len = h_pull(&h, buf, sizeof(buf));
	ck_assert(is_echo_reply(buf, len, 7));
	ck_assert_uint_eq(stack_next_deadline(h.st), STACK_NS_NEVER);
}
END_TEST

Suite *suite_fault(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("out");
	TCase *tin = tcase_create("in");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_loss_rate);
	tcase_add_test(tc, test_loss_all);
	tcase_add_test(tc, test_duplication);
	tcase_add_test(tc, test_loss_dup_accounting);
	tcase_add_test(tc, test_corruption_one_bit);
	tcase_add_test(tc, test_corruption_rate);
	tcase_add_test(tc, test_corruption_shared_buffer);
	tcase_add_test(tc, test_reorder_pairs_and_timeout);
	tcase_add_test(tc, test_reorder_random);
	tcase_add_test(tc, test_reorder_hold_expired_keeps_order);
	tcase_add_test(tc, test_delay);
	tcase_add_test(tc, test_jitter_bounds);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_rate_limit_total);
	tcase_add_test(tc, test_rate_and_delay_add);
	tcase_add_test(tc, test_queue_limit);
	tcase_add_test(tc, test_queue_limit_counts_held);
	tcase_add_test(tc, test_determinism);
	tcase_add_test(tc, test_config_validation);
	tcase_add_test(tc, test_zero_config_passes);
	tcase_add_test(tc, test_clear_releases_queued);
	tcase_add_test(tc, test_clear_releases_held);
	tcase_add_test(tc, test_clear_huge_delay);
	tcase_add_test(tc, test_flush_frees);
	tcase_add_test(tc, test_reconfigure_keeps_queue);
	tcase_add_test(tc, test_equal_times_keep_arrival_order);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tin, setup, teardown);
	tcase_add_test(tin, test_in_loss);
	tcase_add_test(tin, test_in_and_out_delay_echo);
	tcase_add_test(tin, test_in_reorder_reentry);
	tcase_add_test(tin, test_clear_both_directions);
	suite_add_tcase(s, tin);
	return s;
}
