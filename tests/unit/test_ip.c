/*
 * test_ip.c — the network layer: each malformed IPv4 header rejected and
 * counted, options skipped safely, IPv6 extension-header chains, routes and
 * source selection, path MTU, loopback.  An ICMP echo request is the probe:
 * a reply on the link means the packet was accepted.
 */
#include "harness.h"

static struct harness h;

static void setup(void) { h_setup(&h); }
static void teardown(void) { h_teardown(&h); }

/* An echo request from the peer to us, as a full IPv4 packet. */
static size_t echo4(uint8_t *pkt, uint16_t seq)
{
	uint8_t icmp[64];
	size_t n = build_icmp(icmp, STACK_AF_INET, h.p4, h.a4, ICMP4_ECHO, 0,
			      0xbeef0000u | seq, "abcdefgh", 8);

	return build_ip4(pkt, h.p4, h.a4, STACK_IPPROTO_ICMP, icmp, n, seq, 0, 64);
}

static size_t echo6_payload(uint8_t *icmp, uint16_t seq)
{
	return build_icmp(icmp, STACK_AF_INET6, h.p6, h.a6, ICMP6_ECHO_REQUEST, 0,
			  0xbeef0000u | seq, "abcdefgh", 8);
}

static void expect_reply(void)
{
	uint8_t out[2048];

	ck_assert_uint_eq(h_pending(&h), 1);
	ck_assert_uint_gt(h_pull(&h, out, sizeof(out)), 0);
}

static void expect_dropped(enum stack_proto_ix p, enum stack_drop d, uint64_t before)
{
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(h_drops(&h, p, d), before + 1);
}

START_TEST(ip4_valid_echo_accepted)
{
	uint8_t pkt[128];
	size_t n = echo4(pkt, 1);

	h_inject(&h, pkt, n);
	expect_reply();
}
END_TEST

/* Break an echo request one way per case; returns the drop reason. */
static enum stack_drop mangle4(int i, uint8_t *pkt, size_t *n, const char **what)
{
	switch (i) {
	case 0: *what = "short"; *n = 19; return STACK_DROP_TRUNCATED;
	case 1: *what = "version 5"; pkt[0] = 0x55; fix_ip4_csum(pkt); return STACK_DROP_BAD_VERSION;
	case 2: *what = "ihl 4"; pkt[0] = 0x44; return STACK_DROP_BAD_HDRLEN;
	case 3: *what = "ihl beyond packet"; pkt[0] = 0x4f; *n = 40; return STACK_DROP_TRUNCATED;
	case 4: *what = "total < ihl"; put16(pkt + 2, 19); fix_ip4_csum(pkt); return STACK_DROP_BAD_LEN;
	case 5:
		*what = "total > packet";
		put16(pkt + 2, (uint16_t)(*n + 1));
		fix_ip4_csum(pkt);
		return STACK_DROP_TRUNCATED;
	case 6: *what = "bad checksum"; pkt[10] ^= 0x55; return STACK_DROP_BAD_CSUM;
	case 7: *what = "src multicast"; pkt[12] = 224; fix_ip4_csum(pkt); return STACK_DROP_BAD_SRC;
	case 8:
		*what = "src broadcast";
		memset(pkt + 12, 255, 4);
		fix_ip4_csum(pkt);
		return STACK_DROP_BAD_SRC;
	case 9: *what = "src zero"; memset(pkt + 12, 0, 4); fix_ip4_csum(pkt); return STACK_DROP_BAD_SRC;
	case 10: *what = "src loopback on link"; pkt[12] = 127; fix_ip4_csum(pkt); return STACK_DROP_BAD_SRC;
	case 11: *what = "dst not ours"; pkt[19] = 99; fix_ip4_csum(pkt); return STACK_DROP_NOT_FOR_US;
	case 12:
		*what = "dst loopback on link";
		pkt[16] = 127;
		pkt[19] = 1;
		fix_ip4_csum(pkt);
		return STACK_DROP_NOT_FOR_US;
	}
	return STACK_DROP_MAX;
}

START_TEST(ip4_malformed_each_counted)
{
	uint8_t pkt[128];
	size_t n;
	const char *what = "";

	for (int i = 0;; i++) {
		enum stack_drop reason;
		enum stack_proto_ix layer;
		uint64_t before;

		n = echo4(pkt, (uint16_t)i);
		reason = mangle4(i, pkt, &n, &what);
		if (reason == STACK_DROP_MAX)
			break;
		/* an unknown version never reaches IPv4: the link layer
		 * dispatches on the version nibble */
		layer = reason == STACK_DROP_BAD_VERSION ? STACK_P_LINK : STACK_P_IP4;
		before = h_drops(&h, layer, reason);
		h_inject(&h, pkt, n);
		ck_assert_msg(h_pending(&h) == 0, "%s: accepted", what);
		ck_assert_msg(h_drops(&h, layer, reason) == before + 1,
			      "%s: not counted as %s", what, stack_drop_name(reason));
	}
}
END_TEST

START_TEST(ip4_link_padding_trimmed)
{
	uint8_t pkt[128];
	size_t n = echo4(pkt, 1);

	memset(pkt + n, 0xee, 10); /* Ethernet-style padding after the datagram */
	h_inject(&h, pkt, n + 10);
	expect_reply();
}
END_TEST

/* Options: NOPs, a timestamp-like option, EOL; then each malformed form. */
static size_t with_options(uint8_t *pkt, const uint8_t *opt, size_t olen)
{
	uint8_t tmp[128];
	size_t n = echo4(tmp, 7), hl = 20 + olen;

	memcpy(pkt, tmp, 20);
	memcpy(pkt + 20, opt, olen);
	memcpy(pkt + hl, tmp + 20, n - 20);
	pkt[0] = (uint8_t)(0x40 | hl / 4);
	put16(pkt + 2, (uint16_t)(n + olen));
	fix_ip4_csum(pkt);
	return n + olen;
}

START_TEST(ip4_options_skipped_safely)
{
	uint8_t pkt[192];
	const uint8_t good[8] = {1, 1, 68, 4, 5, 0, 0, 0}; /* NOP NOP TS(len 4) EOL */
	const uint8_t zero_len[4] = {68, 0, 0, 0};
	const uint8_t over_len[4] = {68, 9, 0, 0};
	const uint8_t trunc[4] = {1, 1, 1, 68};
	const uint8_t lsrr[8] = {131, 7, 4, 192, 0, 2, 1, 0};
	uint64_t bad = h_drops(&h, STACK_P_IP4, STACK_DROP_BAD_OPTIONS);

	h_inject(&h, pkt, with_options(pkt, good, sizeof(good)));
	expect_reply();
	h_inject(&h, pkt, with_options(pkt, zero_len, sizeof(zero_len)));
	h_inject(&h, pkt, with_options(pkt, over_len, sizeof(over_len)));
	h_inject(&h, pkt, with_options(pkt, trunc, sizeof(trunc)));
	h_inject(&h, pkt, with_options(pkt, lsrr, sizeof(lsrr)));
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(h_drops(&h, STACK_P_IP4, STACK_DROP_BAD_OPTIONS), bad + 4);
}
END_TEST

START_TEST(ip4_reply_header_fields)
{
	uint8_t pkt[128], out[2048];
	size_t n = echo4(pkt, 3);

	h_inject(&h, pkt, n);
	n = h_pull(&h, out, sizeof(out));
	ck_assert_uint_eq(n, 20 + 16);
	ck_assert_uint_eq(out[0], 0x45);
	ck_assert_uint_eq(out[IP4_TTL], OPT_IP_TTL);
	ck_assert_uint_eq(out[IP4_PROTO], STACK_IPPROTO_ICMP);
	ck_assert_mem_eq(out + IP4_SRC, h.a4, 4);
	ck_assert_mem_eq(out + IP4_DST, h.p4, 4);
	ck_assert_uint_eq(get16(out + IP4_TOTLEN), n);
	ck_assert_uint_eq(cksum_fold(cksum_add(0, out, 20)), 0xffff);
}
END_TEST

START_TEST(ip4_fragmented_output_fits_mtu)
{
	/* A large echo request: the reply must be fragmented to the MTU. */
	static uint8_t data[4000], icmp[4100], pkt[4200], out[2048];
	size_t n, total = 0;
	int frags = 0;
	uint16_t id = 0;

	fill_pattern(data, sizeof(data), 1);
	n = build_icmp(icmp, STACK_AF_INET, h.p4, h.a4, ICMP4_ECHO, 0, 1, data, sizeof(data));
	/* hand it in as one packet (as if the link reassembled it, GRO-style) */
	n = build_ip4(pkt, h.p4, h.a4, STACK_IPPROTO_ICMP, icmp, n, 9, 0, 64);
	h_inject(&h, pkt, n);
	while ((n = h_pull(&h, out, sizeof(out))) > 0) {
		uint16_t frag = get16(out + IP4_FRAG);

		ck_assert_uint_le(n, 1500);
		ck_assert_uint_eq(cksum_fold(cksum_add(0, out, 20)), 0xffff);
		if (frags++ == 0)
			id = get16(out + IP4_ID);
		ck_assert_uint_eq(get16(out + IP4_ID), id);
		ck_assert_uint_eq((frag & IP4_OFFMASK) * 8u, total);
		ck_assert(!(frag & IP4_F_DF));
		total += n - 20;
		if (total < 8 + sizeof(data))
			ck_assert(frag & IP4_F_MF);
		else
			ck_assert(!(frag & IP4_F_MF));
	}
	ck_assert_int_eq(frags, 3);
	ck_assert_uint_eq(total, 8 + sizeof(data));
}
END_TEST

/* ---- IPv6 --------------------------------------------------------------- */

static size_t ip6_with_ext(uint8_t *pkt, const uint8_t *ext, size_t elen, uint8_t first_nxt)
{
	uint8_t body[256];
	size_t n = echo6_payload(body + elen, 5);

	memcpy(body, ext, elen);
	return build_ip6(pkt, h.p6, h.a6, first_nxt, body, elen + n, 64);
}

START_TEST(ip6_valid_echo_and_header)
{
	uint8_t icmp[64], pkt[256], out[2048];
	size_t n = echo6_payload(icmp, 1);

	n = build_ip6(pkt, h.p6, h.a6, STACK_IPPROTO_ICMPV6, icmp, n, 64);
	h_inject(&h, pkt, n);
	n = h_pull(&h, out, sizeof(out));
	ck_assert_uint_eq(n, 40 + 16);
	ck_assert_uint_eq(out[0] >> 4, 6);
	ck_assert_uint_eq(out[IP6_HLIM], OPT_IP6_HOPLIMIT);
	ck_assert_mem_eq(out + IP6_SRC, h.a6, 16);
	ck_assert_mem_eq(out + IP6_DST, h.p6, 16);
	ck_assert_uint_eq(out[40], ICMP6_ECHO_REPLY);
}
END_TEST

START_TEST(ip6_all_nodes_echo)
{
	/* RFC 4291 §2.8: ff02::1 is ours too; the reply comes from our
	 * unicast address.  Other groups are not joined. */
	uint8_t icmp[64], pkt[256], out[2048], dst[16] = {0xff, 0x02, [15] = 1};
	size_t n = build_icmp(icmp, STACK_AF_INET6, h.p6, dst, ICMP6_ECHO_REQUEST, 0, 1, "mc", 2);
	size_t m = build_ip6(pkt, h.p6, dst, STACK_IPPROTO_ICMPV6, icmp, n, 1);

	h_inject(&h, pkt, m);
	ck_assert_uint_gt(h_pull(&h, out, sizeof(out)), 0);
	ck_assert_mem_eq(out + IP6_SRC, h.a6, 16);
	ck_assert_uint_eq(out[40], ICMP6_ECHO_REPLY);
	dst[15] = 2; /* all-routers: not a member */
	n = build_icmp(icmp, STACK_AF_INET6, h.p6, dst, ICMP6_ECHO_REQUEST, 0, 1, "mc", 2);
	m = build_ip6(pkt, h.p6, dst, STACK_IPPROTO_ICMPV6, icmp, n, 1);
	h_inject(&h, pkt, m);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(ip6_malformed_each_counted)
{
	uint8_t icmp[64], pkt[256];
	size_t n;
	uint64_t before;

	n = build_ip6(pkt, h.p6, h.a6, STACK_IPPROTO_ICMPV6, icmp, echo6_payload(icmp, 1), 64);
	before = h_drops(&h, STACK_P_IP6, STACK_DROP_TRUNCATED);
	h_inject(&h, pkt, 39);
	expect_dropped(STACK_P_IP6, STACK_DROP_TRUNCATED, before);

	before = h_drops(&h, STACK_P_IP6, STACK_DROP_TRUNCATED);
	put16(pkt + IP6_PLEN, (uint16_t)(n - 40 + 1));
	h_inject(&h, pkt, n);
	expect_dropped(STACK_P_IP6, STACK_DROP_TRUNCATED, before);
	put16(pkt + IP6_PLEN, (uint16_t)(n - 40));

	before = h_drops(&h, STACK_P_IP6, STACK_DROP_BAD_SRC);
	pkt[IP6_SRC] = 0xff;
	h_inject(&h, pkt, n);
	expect_dropped(STACK_P_IP6, STACK_DROP_BAD_SRC, before);
	memcpy(pkt + IP6_SRC, h.p6, 16);

	before = h_drops(&h, STACK_P_IP6, STACK_DROP_NOT_FOR_US);
	pkt[IP6_DST + 15] = 0x77;
	h_inject(&h, pkt, n);
	expect_dropped(STACK_P_IP6, STACK_DROP_NOT_FOR_US, before);
	memcpy(pkt + IP6_DST, h.a6, 16);

	/* a bad ICMPv6 checksum (covers the pseudo-header) */
	before = h_drops(&h, STACK_P_ICMP6, STACK_DROP_BAD_CSUM);
	pkt[IP6_SRC + 1] ^= 1; /* src still valid, sum no longer matches */
	h_inject(&h, pkt, n);
	expect_dropped(STACK_P_ICMP6, STACK_DROP_BAD_CSUM, before);
}
END_TEST

START_TEST(ip6_ext_chain_accepted)
{
	/* hop-by-hop (PadN), destination options (Pad1 x6), routing with no
	 * segments left: all skipped, the echo is answered. */
	const uint8_t ext[24] = {
		IP6_NH_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,          /* HBH: PadN(4) */
		IP6_NH_ROUTING, 0, 0, 0, 0, 0, 0, 0,          /* DST: Pad1 x6 */
		STACK_IPPROTO_ICMPV6, 0, 0, 0, 0, 0, 0, 0,    /* RH type 0, segleft 0 */
	};
	uint8_t pkt[256];

	h_inject(&h, pkt, ip6_with_ext(pkt, ext, sizeof(ext), IP6_NH_HOPOPTS));
	expect_reply();
}
END_TEST

/* The parameter problem the stack sent: code and pointer. */
static void expect_param_problem(uint8_t code, uint32_t pointer)
{
	uint8_t out[2048];
	size_t n = h_pull(&h, out, sizeof(out));

	ck_assert_uint_gt(n, 48);
	ck_assert_uint_eq(out[IP6_NXT], STACK_IPPROTO_ICMPV6);
	ck_assert_uint_eq(out[40 + ICMP_TYPE], ICMP6_PARAM_PROB);
	ck_assert_uint_eq(out[40 + ICMP_CODE], code);
	ck_assert_uint_eq(get32(out + 40 + ICMP_REST), pointer);
	ck_assert_uint_eq(h_pending(&h), 0);
}

START_TEST(ip6_unknown_next_header_param_problem)
{
	const uint8_t dst[8] = {253 /* experimental, unknown */, 0, 1, 4, 0, 0, 0, 0};
	uint8_t pkt[256];
	size_t n;

	n = build_ip6(pkt, h.p6, h.a6, 253, "xxxxxxxx", 8, 64);
	h_inject(&h, pkt, n);
	expect_param_problem(ICMP6_PARAMPROB_NEXTHEADER, IP6_NXT);
	/* after an extension header the pointer names that header's field */
	h_advance(&h, STACK_NS_PER_S);
	h_inject(&h, pkt, ip6_with_ext(pkt, dst, sizeof(dst), IP6_NH_DSTOPTS));
	expect_param_problem(ICMP6_PARAMPROB_NEXTHEADER, 40);
}
END_TEST

START_TEST(ip6_hopopts_not_first)
{
	const uint8_t ext[16] = {
		IP6_NH_HOPOPTS, 0, 1, 4, 0, 0, 0, 0,
		STACK_IPPROTO_ICMPV6, 0, 1, 4, 0, 0, 0, 0,
	};
	uint8_t pkt[256];

	h_inject(&h, pkt, ip6_with_ext(pkt, ext, sizeof(ext), IP6_NH_DSTOPTS));
	expect_param_problem(ICMP6_PARAMPROB_NEXTHEADER, 40);
}
END_TEST

START_TEST(ip6_unknown_option_actions)
{
	/* RFC 8200 §4.2: action bits 00 skip, 01 drop, 10 drop + ICMP. */
	uint8_t ext[8] = {STACK_IPPROTO_ICMPV6, 0, 0x1e, 2, 0, 0, 1, 0}; /* 00: skip */
	uint8_t pkt[256];

	h_inject(&h, pkt, ip6_with_ext(pkt, ext, sizeof(ext), IP6_NH_DSTOPTS));
	expect_reply();
	ext[2] = 0x5e; /* 01: silently dropped */
	h_inject(&h, pkt, ip6_with_ext(pkt, ext, sizeof(ext), IP6_NH_DSTOPTS));
	ck_assert_uint_eq(h_pending(&h), 0);
	ext[2] = 0x9e; /* 10: dropped, parameter problem code 2 at the option */
	h_inject(&h, pkt, ip6_with_ext(pkt, ext, sizeof(ext), IP6_NH_DSTOPTS));
	expect_param_problem(ICMP6_PARAMPROB_OPTION, 42);
	/* an option running past its header */
	ext[2] = 1;
	ext[3] = 9;
	h_inject(&h, pkt, ip6_with_ext(pkt, ext, sizeof(ext), IP6_NH_DSTOPTS));
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(ip6_routing_segments_left)
{
	/* We do not forward: a routing header with segments left is a
	 * parameter problem pointing at its type field (RFC 8200 §4.4). */
	uint8_t ext[24] = {STACK_IPPROTO_ICMPV6, 2, 0, 1, 0, 0, 0, 0};
	uint8_t pkt[256];

	memcpy(ext + 8, h.p6, 16);
	h_inject(&h, pkt, ip6_with_ext(pkt, ext, sizeof(ext), IP6_NH_ROUTING));
	expect_param_problem(ICMP6_PARAMPROB_HEADER, 42);
}
END_TEST

START_TEST(ip6_truncated_ext_header)
{
	uint8_t ext[8] = {STACK_IPPROTO_ICMPV6, 3 /* claims 32 bytes */, 1, 4, 0, 0, 0, 0};
	uint8_t pkt[256];
	size_t n = build_ip6(pkt, h.p6, h.a6, IP6_NH_DSTOPTS, ext, sizeof(ext), 64);
	uint64_t before = h_drops(&h, STACK_P_IP6, STACK_DROP_TRUNCATED);

	h_inject(&h, pkt, n);
	expect_dropped(STACK_P_IP6, STACK_DROP_TRUNCATED, before);
}
END_TEST

START_TEST(ip6_no_next_header)
{
	uint8_t pkt[64];
	size_t n = build_ip6(pkt, h.p6, h.a6, IP6_NH_NONE, "zzzz", 4, 64);

	h_inject(&h, pkt, n);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(ip6_first_fragment_without_upper_header)
{
	/* A first fragment that ends inside a destination-options header
	 * whose chain continues past it: parameter problem code 3 (RFC 7112). */
	uint8_t body[64], pkt[256];
	size_t n;

	memset(body, 0, sizeof(body));
	body[0] = IP6_NH_DSTOPTS; /* fragment header: next = dstopts */
	put16(body + IP6_FRAG_OFFLG, IP6_FRAG_MF);
	put32(body + IP6_FRAG_ID, 77);
	body[8] = STACK_IPPROTO_UDP; /* dstopts claims 8 * 4 bytes, only 8 here */
	body[9] = 3;
	n = build_ip6(pkt, h.p6, h.a6, IP6_NH_FRAGMENT, body, 16, 64);
	h_inject(&h, pkt, n);
	expect_param_problem(ICMP6_PARAMPROB_FIRSTFRAG, 0);
	ck_assert_uint_eq(frag_mem(h.st), 0);
}
END_TEST

/* ---- routes ------------------------------------------------------------- */

START_TEST(route_longest_prefix_and_source)
{
	struct stack_route_result rr;
	struct stack_link_info li = {.mtu = 9000};
	struct stack_sockaddr a = h_sa("198.51.100.7", 0), dst, gw, net;
	char buf[STACK_ADDRSTRLEN];
	int if2 = stack_if_add(h.st, STACK_IF_MEMORY, "mem1", &li);

	ck_assert_int_ge(if2, 2);
	ck_assert_int_eq(stack_if_add(h.st, STACK_IF_MEMORY, "mem1", &li), -EEXIST);
	ck_assert_int_eq(stack_addr_add(h.st, if2, &a, 24), 0);
	ck_assert_int_eq(stack_addr_add(h.st, if2, &a, 24), -EEXIST);

	/* on-link on mem1 */
	dst = h_sa("198.51.100.50", 0);
	ck_assert_int_eq(stack_route_lookup(h.st, &dst, &rr), 0);
	ck_assert_int_eq(rr.ifindex, if2);
	ck_assert_str_eq(stack_addr_format(&rr.src, buf, sizeof(buf)), "198.51.100.7");
	ck_assert_str_eq(stack_addr_format(&rr.nexthop, buf, sizeof(buf)), "198.51.100.50");
	ck_assert_uint_eq(rr.mtu, 9000);

	/* default via the peer on mem0 */
	dst = h_sa("203.0.113.9", 0);
	ck_assert_int_eq(stack_route_lookup(h.st, &dst, &rr), 0);
	ck_assert_int_eq(rr.ifindex, h.ifindex);
	ck_assert_str_eq(stack_addr_format(&rr.nexthop, buf, sizeof(buf)), H_PEER4);
	ck_assert_str_eq(stack_addr_format(&rr.src, buf, sizeof(buf)), H_ADDR4);

	/* a more specific route wins over the default */
	net = h_sa("203.0.113.0", 0);
	gw = h_sa("198.51.100.1", 0);
	ck_assert_int_eq(stack_route_add(h.st, &net, 24, &gw, if2), 0);
	ck_assert_int_eq(stack_route_add(h.st, &net, 24, &gw, if2), -EEXIST);
	ck_assert_int_eq(stack_route_lookup(h.st, &dst, &rr), 0);
	ck_assert_int_eq(rr.ifindex, if2);
	ck_assert_str_eq(stack_addr_format(&rr.nexthop, buf, sizeof(buf)), "198.51.100.1");
	ck_assert_str_eq(stack_addr_format(&rr.src, buf, sizeof(buf)), "198.51.100.7");

	/* our own address and 127/8 go through loopback */
	dst = h_sa(H_ADDR4, 0);
	ck_assert_int_eq(stack_route_lookup(h.st, &dst, &rr), 0);
	ck_assert_int_eq(rr.ifindex, STACK_LOOPBACK_IFINDEX);
	dst = h_sa("127.1.2.3", 0);
	ck_assert_int_eq(stack_route_lookup(h.st, &dst, &rr), 0);
	ck_assert_int_eq(rr.ifindex, STACK_LOOPBACK_IFINDEX);
	ck_assert_str_eq(stack_addr_format(&rr.src, buf, sizeof(buf)), "127.1.2.3");
	dst = h_sa("::1", 0);
	ck_assert_int_eq(stack_route_lookup(h.st, &dst, &rr), 0);
	ck_assert_int_eq(rr.ifindex, STACK_LOOPBACK_IFINDEX);

	/* bad input */
	ck_assert_int_eq(stack_route_add(h.st, &net, 33, &gw, if2), -EINVAL);
	ck_assert_int_eq(stack_route_add(h.st, &net, 16, &gw, 77), -ENODEV);
	gw = h_sa("2001:db8::1", 0);
	ck_assert_int_eq(stack_route_add(h.st, &net, 16, &gw, if2), -EINVAL);
}
END_TEST

START_TEST(route_none_is_enetunreach)
{
	struct harness bare;
	struct stack_config cfg;
	struct stack_route_result rr;
	struct stack_sockaddr dst = h_sa("203.0.113.9", 0);

	stack_config_default(&cfg);
	cfg.pbuf_small = 16;
	cfg.pbuf_large = 1;
	cfg.max_endpoints = 4;
	memset(&bare, 0, sizeof(bare));
	bare.mem = aligned_alloc(64, (stack_arena_size(&cfg) + 63) & ~(size_t)63);
	bare.st = stack_create(bare.mem, stack_arena_size(&cfg), &cfg, 0);
	ck_assert_ptr_nonnull(bare.st);
	ck_assert_int_eq(stack_route_lookup(bare.st, &dst, &rr), -ENETUNREACH);
	dst = h_sa("2001:db8::9", 0);
	ck_assert_int_eq(stack_route_lookup(bare.st, &dst, &rr), -ENETUNREACH);
	free(bare.mem);
}
END_TEST

START_TEST(iface_bad_config)
{
	struct stack_link_info li = {.mtu = 1500};
	struct stack_sockaddr a = h_sa("2001:db8:1::1", 0);
	int ifx;

	ck_assert_int_eq(stack_if_add(h.st, STACK_IF_LOOPBACK, "lo2", &li), -EINVAL);
	ck_assert_int_eq(stack_if_add(h.st, STACK_IF_MEMORY, "", &li), -EINVAL);
	ck_assert_int_eq(stack_if_add(h.st, STACK_IF_MEMORY, "name-far-too-long-x", &li), -EINVAL);
	li.mtu = 67;
	ck_assert_int_eq(stack_if_add(h.st, STACK_IF_MEMORY, "m2", &li), -EINVAL);
	li.mtu = 1000; /* IPv4 only: IPv6 needs 1280 */
	ifx = stack_if_add(h.st, STACK_IF_MEMORY, "m2", &li);
	ck_assert_int_ge(ifx, 2);
	ck_assert_int_eq(stack_addr_add(h.st, ifx, &a, 64), -EINVAL);
	a = h_sa("0.0.0.0", 0);
	ck_assert_int_eq(stack_addr_add(h.st, ifx, &a, 8), -EINVAL);
	a = h_sa("224.0.0.1", 0);
	ck_assert_int_eq(stack_addr_add(h.st, ifx, &a, 8), -EINVAL);
	a = h_sa("198.51.100.1", 0);
	ck_assert_int_eq(stack_addr_add(h.st, ifx, &a, 33), -EINVAL);
	ck_assert_int_eq(stack_addr_add(h.st, 99, &a, 24), -ENODEV);
	ck_assert_int_eq(stack_if_set_mtu(h.st, ifx, 70000), -EINVAL);
	ck_assert_int_eq(stack_if_set_mtu(h.st, ifx, 1400), 0);
}
END_TEST

START_TEST(loopback_echo_stays_inside)
{
	/* A packet to 127.0.0.1 handed to the stack from inside (as a
	 * transport would) is answered through loopback, nothing on mem0. */
	uint8_t icmp[64];
	size_t n = build_icmp(icmp, STACK_AF_INET, (const uint8_t *)"\x7f\0\0\x01",
			      (const uint8_t *)"\x7f\0\0\x01", ICMP4_ECHO, 0, 1, "lo", 2);
	struct pbuf *p = pbuf_alloc(h.st, n);
	struct ip_tx tx = {.family = STACK_AF_INET, .proto = STACK_IPPROTO_ICMP, .ttl = -1,
			   .dst = (const uint8_t *)"\x7f\0\0\x01"};
	uint64_t rx = h.st->ctr.p[STACK_P_ICMP4].rx;

	memcpy(pbuf_data(p), icmp, n);
	p->len = (uint32_t)n;
	ck_assert_int_eq(ip_output(h.st, p, &tx), 0);
	h_advance(&h, 0);
	/* request and reply both crossed loopback */
	ck_assert_uint_eq(h.st->ctr.p[STACK_P_ICMP4].rx, rx + 2);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

Suite *suite_ip(void)
{
	Suite *s = suite_create("ip");
	TCase *v4 = tcase_create("ip4"), *v6 = tcase_create("ip6"), *rt = tcase_create("route");

	tcase_add_checked_fixture(v4, setup, teardown);
	tcase_add_checked_fixture(v6, setup, teardown);
	tcase_add_checked_fixture(rt, setup, teardown);
	tcase_add_test(v4, ip4_valid_echo_accepted);
	tcase_add_test(v4, ip4_malformed_each_counted);
	tcase_add_test(v4, ip4_link_padding_trimmed);
	tcase_add_test(v4, ip4_options_skipped_safely);
	tcase_add_test(v4, ip4_reply_header_fields);
	tcase_add_test(v4, ip4_fragmented_output_fits_mtu);
	tcase_add_test(v6, ip6_valid_echo_and_header);
	tcase_add_test(v6, ip6_malformed_each_counted);
	tcase_add_test(v6, ip6_all_nodes_echo);
	tcase_add_test(v6, ip6_ext_chain_accepted);
	tcase_add_test(v6, ip6_unknown_next_header_param_problem);
	tcase_add_test(v6, ip6_hopopts_not_first);
	tcase_add_test(v6, ip6_unknown_option_actions);
	tcase_add_test(v6, ip6_routing_segments_left);
	tcase_add_test(v6, ip6_truncated_ext_header);
	tcase_add_test(v6, ip6_no_next_header);
	tcase_add_test(v6, ip6_first_fragment_without_upper_header);
	tcase_add_test(rt, route_longest_prefix_and_source);
	tcase_add_test(rt, route_none_is_enetunreach);
	tcase_add_test(rt, iface_bad_config);
	tcase_add_test(rt, loopback_echo_stays_inside);
	suite_add_tcase(s, v4);
	suite_add_tcase(s, v6);
	suite_add_tcase(s, rt);
	return s;
}
