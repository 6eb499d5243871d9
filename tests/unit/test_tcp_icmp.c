/*
 * test_tcp_icmp.c — ICMP errors about TCP segments (RFC 5927, RFC 1122
 * §4.2.3.9, Linux tcp_v4_err / tcp_v6_err): Frag-Needed / Packet Too Big
 * shrink the MSS and resend what is in flight; an unreachable while
 * connecting fails connect() with that errno; an error quoting a sequence
 * number outside the flight is ignored.
 */
#include "tcp_peer.h"

static struct harness h;
static struct tp_conn c;
static struct tp_seg s;
static uint8_t data[8000];

static void setup(void) { tp_setup(&h); }
static void teardown(void) { tp_teardown(&h); }

/* An ICMP error from the peer quoting a segment of ours with sequence
 * number seq (IP header + the first 8 TCP bytes, RFC 792). */
static void inject_icmp_about(struct tp_conn *cn, uint8_t type, uint8_t code, uint32_t rest,
			      uint32_t seq)
{
	uint8_t tcp8[8], quote[64], icmp[128], pkt[256];
	size_t q, n;

	put16(tcp8, cn->mport);
	put16(tcp8 + 2, cn->pport);
	put32(tcp8 + 4, seq);
	if (cn->family == STACK_AF_INET) {
		q = build_ip4(quote, cn->me, cn->peer, STACK_IPPROTO_TCP, tcp8, 8, 1, IP4_F_DF, 64);
		put16(quote + IP4_TOTLEN, 1500); /* the segment was larger */
		fix_ip4_csum(quote);
		n = build_icmp(icmp, STACK_AF_INET, cn->peer, cn->me, type, code, rest, quote, q);
		n = build_ip4(pkt, cn->peer, cn->me, STACK_IPPROTO_ICMP, icmp, n, 2, 0, 64);
	} else {
		q = build_ip6(quote, cn->me, cn->peer, STACK_IPPROTO_TCP, tcp8, 8, 64);
		n = build_icmp(icmp, STACK_AF_INET6, cn->peer, cn->me, type, code, rest, quote, q);
		n = build_ip6(pkt, cn->peer, cn->me, STACK_IPPROTO_ICMPV6, icmp, n, 64);
	}
	h_inject(cn->h, pkt, n);
}

static void pmtu_shrinks_segments(int family)
{
	struct tp_cfg cfg = tp_cfg(family);
	uint32_t base;

	tp_client(&c, &h, &cfg);
	fill_pattern(data, 3000, 9);
	base = c.rcv_nxt;
	ck_assert_int_eq(tp_write(&h, c.fd, data, 3000, 0), 3000);
	tp_expect(&c, &s, TH_ACK, base, TP_ANY, c.eff_mss);
	tp_expect(&c, &s, TH_ACK, base + c.eff_mss, TP_ANY, c.eff_mss);
	tp_flush(&c);
	/* the path says 1280: everything in flight again, in smaller pieces */
	if (family == STACK_AF_INET)
		inject_icmp_about(&c, ICMP4_UNREACH, ICMP4_UNREACH_NEEDFRAG, 1280, base);
	else
		inject_icmp_about(&c, ICMP6_PACKET_TOO_BIG, 0, 1280, base);
	static uint8_t rx[4000];

	c.rcv_nxt = base;
	c.rx = rx;
	c.rx_cap = sizeof(rx);
	c.rx_len = 0;
	for (int i = 0; i < 50 && c.rx_len < 3000; i++) {
		while (tp_pull(&c, &s)) {
			ck_assert_uint_le(s.len + 12 + 20 + (family == STACK_AF_INET ? 20 : 40), 1280);
			tp_send_ack(&c);
		}
		tp_run(&h, 50 * STACK_NS_PER_MS);
	}
	ck_assert_uint_eq(c.rx_len, 3000);
	ck_assert_mem_eq(rx, data, 3000);
	ck_assert_int_eq(tp_so_error(&h, c.fd), 0); /* not an error for TCP */
	c.rx = NULL;
	tp_close_active(&c);
}

START_TEST(frag_needed_shrinks_mss_v4) { pmtu_shrinks_segments(STACK_AF_INET); }
END_TEST

START_TEST(packet_too_big_shrinks_mss_v6) { pmtu_shrinks_segments(STACK_AF_INET6); }
END_TEST

START_TEST(unreachable_while_connecting)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	/* tcp_v4_err in SYN-SENT: the attempt ends with the ICMP errno, even
	 * a "soft" host unreachable */
	tp_client_syn(&c, &h, &cfg);
	inject_icmp_about(&c, ICMP4_UNREACH, ICMP4_UNREACH_HOST, 0, c.irs);
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	ck_assert_int_eq(tp_so_error(&h, c.fd), EHOSTUNREACH);
	ck_assert_uint_eq(tp_run(&h, 5 * STACK_NS_PER_S), STACK_NS_NEVER); /* no more SYNs */
	c.done = true;
}
END_TEST

START_TEST(port_unreachable_v6_refuses_connect)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);

	tp_client_syn(&c, &h, &cfg);
	inject_icmp_about(&c, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, c.irs);
	ck_assert_int_eq(tp_so_error(&h, c.fd), ECONNREFUSED);
	c.done = true;
}
END_TEST

START_TEST(error_outside_flight_ignored)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint64_t before;

	/* RFC 5927 §4.1: a blind attacker must guess a sequence number in
	 * flight; one outside [snd_una, snd_max] changes nothing */
	tp_client_syn(&c, &h, &cfg);
	before = h.st->ctr.p[STACK_P_TCP].drop[STACK_DROP_TCP_OUT_OF_WINDOW];
	inject_icmp_about(&c, ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, c.irs + 100000);
	ck_assert_uint_eq(h.st->ctr.p[STACK_P_TCP].drop[STACK_DROP_TCP_OUT_OF_WINDOW], before + 1);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	tp_client_finish(&c);
	tp_close_active(&c);
}
END_TEST

START_TEST(soft_error_reported_on_timeout)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	/* established: an ICMP error is only remembered (sk_err_soft) and
	 * becomes the error when retransmission gives up (tcp_write_err) */
	tp_client(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_USER_TIMEOUT, 3000), 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "lost", 4, 0), 4);
	ck_assert(tp_pull(&c, &s));
	inject_icmp_about(&c, ICMP4_UNREACH, ICMP4_UNREACH_NET, 0, s.seq);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	h_advance(&h, 10 * STACK_NS_PER_S);
	h_drain(&h);
	ck_assert_int_eq(tp_so_error(&h, c.fd), ENETUNREACH);
	c.done = true;
}
END_TEST

Suite *suite_tcp_icmp(void)
{
	Suite *su = suite_create("tcp_icmp");
	TCase *tc = tcase_create("icmp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, frag_needed_shrinks_mss_v4);
	tcase_add_test(tc, packet_too_big_shrinks_mss_v6);
	tcase_add_test(tc, unreachable_while_connecting);
	tcase_add_test(tc, port_unreachable_v6_refuses_connect);
	tcase_add_test(tc, error_outside_flight_ignored);
	tcase_add_test(tc, soft_error_reported_on_timeout);
	suite_add_tcase(su, tc);
	return su;
}
