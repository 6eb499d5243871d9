/*
 * test_core.c — checksum vectors (RFC 1071, RFC 1624), the random
 * generator's determinism, address text forms, pbuf pools, timers.
 */
#include "harness.h"

START_TEST(cksum_rfc1071_example)
{
	/* RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (folded). */
	const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	ck_assert_uint_eq(cksum_fold(cksum_add(0, b, sizeof(b))), 0xddf2);
	ck_assert_uint_eq(cksum_finish(cksum_add(0, b, sizeof(b))), (uint16_t)~0xddf2);
}
END_TEST

START_TEST(cksum_ipv4_header_vector)
{
	/* A real IPv4 header (Wikipedia's example): checksum b861. */
	uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

	ck_assert_uint_eq(cksum_finish(cksum_add(0, h, 20)), 0xb861);
	put16(h + 10, 0xb861);
	ck_assert_uint_eq(cksum_fold(cksum_add(0, h, 20)), 0xffff);
}
END_TEST

START_TEST(cksum_odd_length_and_chaining)
{
	uint8_t b[1001];
	uint32_t whole, parts;

	fill_pattern(b, sizeof(b), 7);
	whole = cksum_add(0, b, sizeof(b));
	parts = cksum_add(cksum_add(cksum_add(0, b, 10), b + 10, 500), b + 510, 491);
	ck_assert_uint_eq(cksum_fold(whole), cksum_fold(parts));
	/* odd trailing byte is padded with zero on the right */
	ck_assert_uint_eq(cksum_fold(cksum_add(0, "\x12", 1)), 0x1200);
}
END_TEST

START_TEST(cksum_incremental_matches_full)
{
	uint8_t h[20];
	uint16_t old, sum;

	/* RFC 1624: updating the TTL/protocol word incrementally equals a
	 * full recomputation, including the -0 / +0 corner (eqn. 3). */
	for (uint32_t seed = 0; seed < 2000; seed++) {
		fill_pattern(h, sizeof(h), seed);
		put16(h + 10, 0);
		sum = cksum_finish(cksum_add(0, h, 20));
		put16(h + 10, sum);
		old = get16(h + 8);
		put16(h + 8, (uint16_t)(old - 0x0100)); /* TTL - 1 */
		sum = cksum_update16(sum, old, get16(h + 8));
		put16(h + 10, 0);
		ck_assert_uint_eq(cksum_fold(cksum_add(cksum_add(0, h, 10), h + 12, 8) + sum), 0xffff);
	}
}
END_TEST

START_TEST(cksum_pseudo_v6)
{
	/* UDP over IPv6 built by the harness verifies with the pseudo-header. */
	uint8_t s[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, d[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
	uint8_t u[64];
	size_t n = build_udp(u, STACK_AF_INET6, s, d, 1234, 53, "hello", 5);

	ck_assert_uint_eq(cksum_fold(cksum_add(cksum_pseudo(STACK_AF_INET6, s, d, 17, (uint32_t)n),
					       u, n)), 0xffff);
	u[9] ^= 1;
	ck_assert_uint_ne(cksum_fold(cksum_add(cksum_pseudo(STACK_AF_INET6, s, d, 17, (uint32_t)n),
					       u, n)), 0xffff);
}
END_TEST

START_TEST(rand_deterministic_and_uniform)
{
	struct harness a, b;
	uint32_t hist[10] = {0};

	h_setup(&a);
	h_setup(&b);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(rand_u64(a.st), rand_u64(b.st));
	for (int i = 0; i < 100000; i++) {
		uint32_t v = rand_below(a.st, 10);

		ck_assert_uint_lt(v, 10);
		hist[v]++;
	}
	for (int i = 0; i < 10; i++) /* 10000 expected, sd ~95 */
		ck_assert(hist[i] > 9500 && hist[i] < 10500);
	ck_assert(!rand_ppm(a.st, 0));
	ck_assert(rand_ppm(a.st, 1000000));
	h_teardown(&a);
	h_teardown(&b);
}
END_TEST

static void check_roundtrip(const char *in, const char *canon)
{
	struct stack_sockaddr a;
	char buf[STACK_ADDRSTRLEN];

	ck_assert_msg(stack_addr_parse(in, &a) == 0, "parse %s", in);
	ck_assert_str_eq(stack_addr_format(&a, buf, sizeof(buf)), canon);
}

START_TEST(addr_text_forms)
{
	struct stack_sockaddr a;

	check_roundtrip("192.0.2.1", "192.0.2.1");
	check_roundtrip("0.0.0.0", "0.0.0.0");
	check_roundtrip("2001:db8::1", "2001:db8::1");
	check_roundtrip("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
	check_roundtrip("::", "::");
	check_roundtrip("::1", "::1");
	check_roundtrip("1::", "1::");
	check_roundtrip("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"); /* RFC 5952 4.2.3 */
	check_roundtrip("2001:db8:1:1:1:1:1:1", "2001:db8:1:1:1:1:1:1");
	ck_assert_int_eq(stack_addr_parse("::ffff:192.0.2.1", &a), 0);
	ck_assert(addr4_mapped(a.addr));
	ck_assert_uint_eq(a.addr[12], 192);
	ck_assert_uint_eq(a.addr[15], 1);
	ck_assert_int_eq(stack_addr_parse("256.0.0.1", &a), -EINVAL);
	ck_assert_int_eq(stack_addr_parse("1.2.3", &a), -EINVAL);
	ck_assert_int_eq(stack_addr_parse("1.2.3.4x", &a), -EINVAL);
	ck_assert_int_eq(stack_addr_parse("1::2::3", &a), -EINVAL);
	ck_assert_int_eq(stack_addr_parse("1:2:3:4:5:6:7:8:9", &a), -EINVAL);
	ck_assert_int_eq(stack_addr_parse("12345::", &a), -EINVAL);
	ck_assert_int_eq(stack_addr_parse(":1::", &a), -EINVAL);
	ck_assert_int_eq(stack_addr_parse("1:", &a), -EINVAL);
	ck_assert_int_eq(stack_addr_parse("", &a), -EINVAL);
	ck_assert_int_eq(stack_addr_parse(NULL, &a), -EINVAL);
}
END_TEST

START_TEST(pbuf_pool_exhaustion_and_refcount)
{
	struct harness h;
	struct stack_config cfg;
	struct pbuf *ps[8], *p;

	stack_config_default(&cfg);
	cfg.pbuf_small = 8;
	cfg.pbuf_large = 2;
	cfg.max_endpoints = 4;
	h_setup_cfg(&h, &cfg, 1500);
	for (int i = 0; i < 8; i++) {
		ps[i] = pbuf_alloc(h.st, 100);
		ck_assert_ptr_nonnull(ps[i]);
		ck_assert_uint_eq(ps[i]->cls, PBUF_SMALL);
	}
	/* small pool empty: a small request falls back to a large buffer */
	p = pbuf_alloc(h.st, 100);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->cls, PBUF_LARGE);
	pbuf_ref(p);
	pbuf_free(h.st, p);
	ck_assert_uint_eq(h.st->pools[PBUF_LARGE].used, 1);
	pbuf_free(h.st, p);
	ck_assert_uint_eq(h.st->pools[PBUF_LARGE].used, 0);
	/* the largest IP packet fits a large buffer with the headroom */
	p = pbuf_alloc(h.st, OPT_IP_MAX_PACKET);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(pbuf_tailroom(p), OPT_IP_MAX_PACKET);
	ck_assert_ptr_null(pbuf_alloc(h.st, OPT_IP_MAX_PACKET + 1));
	pbuf_free(h.st, p);
	for (int i = 0; i < 8; i++)
		pbuf_free(h.st, ps[i]);
	h_teardown(&h);
}
END_TEST

START_TEST(arena_bounds)
{
	struct stack_config cfg;
	static uint8_t mem[4096] __attribute__((aligned(64)));

	stack_config_default(&cfg);
	ck_assert_ptr_null(stack_create(mem, sizeof(mem), &cfg, 0));
	ck_assert_ptr_null(stack_create(mem + 1, sizeof(mem) - 1, &cfg, 0));
	cfg.max_endpoints = 0;
	ck_assert_ptr_null(stack_create(mem, sizeof(mem), &cfg, 0));
}
END_TEST

START_TEST(arena_holds_everything)
{
	/* Two stacks in one process are independent: a packet injected into
	 * one changes nothing in the other. */
	struct harness a, b;
	uint8_t pkt[128], icmp[64];
	size_t n;

	h_setup(&a);
	h_setup(&b);
	n = build_icmp(icmp, STACK_AF_INET, a.p4, a.a4, ICMP4_ECHO, 0, 0x12340001, "ping", 4);
	n = build_ip4(pkt, a.p4, a.a4, STACK_IPPROTO_ICMP, icmp, n, 1, 0, 64);
	h_inject(&a, pkt, n);
	ck_assert_uint_eq(h_pending(&a), 1);
	ck_assert_uint_eq(h_pending(&b), 0);
	ck_assert_uint_eq(b.st->ctr.p[STACK_P_IP4].rx, 0);
	h_teardown(&a);
	h_teardown(&b);
}
END_TEST

START_TEST(timers_fire_in_order)
{
	struct harness h;
	struct timer t1, t2;
	int dummy = 0;

	h_setup(&h);
	timer_init(&t1, TIMER_NKINDS); /* a kind with no handler: just ordering */
	timer_init(&t2, TIMER_NKINDS);
	timer_arm(h.st, &t1, h.now + 200);
	timer_arm(h.st, &t2, h.now + 100);
	ck_assert_uint_eq(stack_next_deadline(h.st), h.now + 100);
	timer_cancel(h.st, &t2);
	ck_assert_uint_eq(stack_next_deadline(h.st), h.now + 200);
	h_advance(&h, 200);
	ck_assert(!t1.armed);
	ck_assert_uint_eq(stack_next_deadline(h.st), STACK_NS_NEVER);
	(void)dummy;
	h_teardown(&h);
}
END_TEST

/* The reference vector of the SipHash paper (appendix A): key 00..0f,
 * message 00..0e. */
START_TEST(siphash_reference_vector)
{
	uint8_t msg[15];
	uint64_t key[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	ck_assert_uint_eq(siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
	ck_assert_uint_eq(siphash24(key, msg, 0), 0x726fdb47dd0e0e31ull);
}
END_TEST

START_TEST(if_list_shows_interfaces_and_addresses)
{
	struct harness h;
	struct stack_if_info ifs[4];
	char buf[STACK_ADDRSTRLEN];
	int n;

	h_setup(&h);
	n = stack_if_list(h.st, ifs, 4);
	ck_assert_int_eq(n, 2); /* lo and mem0 */
	ck_assert_int_eq(ifs[0].ifindex, STACK_LOOPBACK_IFINDEX);
	ck_assert_str_eq(ifs[0].name, "lo");
	ck_assert_int_eq(ifs[0].kind, STACK_IF_LOOPBACK);
	ck_assert_uint_eq(ifs[0].naddr, 2);
	ck_assert_str_eq(stack_addr_format(&ifs[0].addrs[0].addr, buf, sizeof(buf)), "127.0.0.1");
	ck_assert_uint_eq(ifs[0].addrs[0].prefixlen, 8);
	ck_assert_str_eq(stack_addr_format(&ifs[0].addrs[1].addr, buf, sizeof(buf)), "::1");
	ck_assert_int_eq(ifs[1].ifindex, h.ifindex);
	ck_assert_uint_eq(ifs[1].naddr, 2);
	ck_assert_str_eq(stack_addr_format(&ifs[1].addrs[0].addr, buf, sizeof(buf)), H_ADDR4);
	ck_assert_uint_eq(ifs[1].addrs[0].prefixlen, 24);
	ck_assert_str_eq(stack_addr_format(&ifs[1].addrs[1].addr, buf, sizeof(buf)), H_ADDR6);
	/* a short array still learns how many there are */
	ck_assert_int_eq(stack_if_list(h.st, ifs, 1), 2);
	h_teardown(&h);
}
END_TEST

Suite *suite_core(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, cksum_rfc1071_example);
	tcase_add_test(tc, cksum_ipv4_header_vector);
	tcase_add_test(tc, cksum_odd_length_and_chaining);
	tcase_add_test(tc, cksum_incremental_matches_full);
	tcase_add_test(tc, cksum_pseudo_v6);
	tcase_add_test(tc, rand_deterministic_and_uniform);
	tcase_add_test(tc, addr_text_forms);
	tcase_add_test(tc, pbuf_pool_exhaustion_and_refcount);
	tcase_add_test(tc, arena_bounds);
	tcase_add_test(tc, arena_holds_everything);
	tcase_add_test(tc, timers_fire_in_order);
	tcase_add_test(tc, if_list_shows_interfaces_and_addresses);
	tcase_add_test(tc, siphash_reference_vector);
	suite_add_tcase(s, tc);
	return s;
}
