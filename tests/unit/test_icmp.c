/*
 * test_icmp.c — ICMP and ICMPv6 (stack/icmp4.c, stack/icmp6.c): echo
 * replies, the errors the stack generates (with RFC 1122 §3.2.2 / RFC 4443
 * §2.4 restrictions and the rate limit), and the errors it receives about
 * its own datagrams, delivered to UDP endpoints as errno values and path-MTU
 * updates.  Linux is the reference: icmp_reply/icmp_send, icmpv6_echo_reply/
 * icmp6_send, __udp4_lib_err/__udp6_lib_err, icmp_err_convert.
 */
#include <errno.h>

#include "harness.h"

static struct harness h;

static uint8_t pkt[70000], out[70000], sent[70000], data[70000], rbuf[70000], msg[70000];

static void setup(void)
{
	h_setup(&h);
}
static void teardown(void)
{
	h_teardown(&h);
}

/* ---- helpers -------------------------------------------------------------- */

static int ep_open(int family)
{
	int e = stack_ep_open(h.st, family, STACK_SOCK_DGRAM, 0);

	ck_assert_int_ge(e, 0);
	return e;
}

static int ep_bound(int family, const char *addr, uint16_t port)
{
	struct stack_sockaddr a = h_sa(addr, port);
	int e = ep_open(family);

	ck_assert_int_eq(stack_ep_bind(h.st, e, &a), 0);
	return e;
}

static int ep_connected(int family, const char *addr, uint16_t port)
{
	struct stack_sockaddr a = h_sa(addr, port);
	int e = ep_open(family);

	ck_assert_int_eq(stack_ep_connect(h.st, e, &a), 0);
	return e;
}

static ssize_t ep_send(int e, const void *d, size_t n, const char *addr, uint16_t port)
{
	struct iovec iov = {.iov_base = (void *)d, .iov_len = n};
	struct stack_sockaddr to;

	if (!addr)
		return stack_ep_sendto(h.st, e, &iov, 1, 0, NULL);
	to = h_sa(addr, port);
	return stack_ep_sendto(h.st, e, &iov, 1, 0, &to);
}

static ssize_t ep_recv(int e)
{
	struct iovec iov = {.iov_base = rbuf, .iov_len = sizeof(rbuf)};

	return stack_ep_recvfrom(h.st, e, &iov, 1, 0, NULL, NULL);
}

static int opt_set(int e, int level, int name, int v)
{
	return stack_ep_setopt(h.st, e, level, name, &v, sizeof(v));
}

static int opt_get(int e, int level, int name)
{
	int v = -12345;
	size_t len = sizeof(v);

	ck_assert_int_eq(stack_ep_getopt(h.st, e, level, name, &v, &len), 0);
	return v;
}

static uint16_t local_port(int e)
{
	struct stack_sockaddr a;

	ck_assert_int_eq(stack_ep_getsockname(h.st, e, &a), 0);
	return a.port;
}

static uint32_t route_mtu(const char *dst)
{
	struct stack_sockaddr d = h_sa(dst, 0);
	struct stack_route_result rr;

	ck_assert_int_eq(stack_route_lookup(h.st, &d, &rr), 0);
	return rr.mtu;
}

/* e sends dlen bytes (to addr:port, or its peer when addr is NULL); the one
 * packet it put on the link is copied to sent.  Returns its length. */
static size_t send_and_pull(int e, size_t dlen, const char *addr, uint16_t port)
{
	size_t n;

	fill_pattern(data, dlen, (uint32_t)dlen);
	ck_assert_int_eq(ep_send(e, data, dlen, addr, port), (ssize_t)dlen);
	ck_assert_uint_eq(h_pending(&h), 1);
	n = h_pull(&h, sent, sizeof(sent));
	ck_assert_uint_gt(n, 0);
	return n;
}

/* What a router quotes: as much as fits 576 (IPv4) / 1280 (IPv6) bytes. */
static size_t q4(size_t n)
{
	return n < 548 ? n : 548;
}
static size_t q6(size_t n)
{
	return n < 1232 ? n : 1232;
}

/* An ICMPv4 message from the peer to us. */
static void inject_icmp4(uint8_t type, uint8_t code, uint32_t rest, const void *body, size_t blen)
{
	size_t m = build_icmp(msg, STACK_AF_INET, h.p4, h.a4, type, code, rest, body, blen);
	size_t n = build_ip4(pkt, h.p4, h.a4, STACK_IPPROTO_ICMP, msg, m, 0x2222, 0, 64);

	h_inject(&h, pkt, n);
}

static void inject_icmp6(uint8_t type, uint8_t code, uint32_t rest, const void *body, size_t blen)
{
	size_t m = build_icmp(msg, STACK_AF_INET6, h.p6, h.a6, type, code, rest, body, blen);
	size_t n = build_ip6(pkt, h.p6, h.a6, STACK_IPPROTO_ICMPV6, msg, m, 64);

	h_inject(&h, pkt, n);
}

/* A UDP datagram from the peer (port 7000) to us, built into b. */
static size_t peer_udp(uint8_t *b, int family, const char *dst, uint16_t dport, size_t dlen)
{
	static uint8_t u[70000];
	struct stack_sockaddr d = h_sa(dst, 0);
	size_t ulen;

	fill_pattern(data, dlen, 77);
	if (family == STACK_AF_INET) {
		ulen = build_udp(u, family, h.p4, d.addr, 7000, dport, data, dlen);
		return build_ip4(b, h.p4, d.addr, STACK_IPPROTO_UDP, u, ulen, 0x3333, 0, 64);
	}
	ulen = build_udp(u, family, h.p6, d.addr, 7000, dport, data, dlen);
	return build_ip6(b, h.p6, d.addr, STACK_IPPROTO_UDP, u, ulen, 64);
}

/* p[0..n) is one ICMPv4 packet from us to the peer with a valid header and
 * message checksum; returns the message and its length in *mlen. */
static const uint8_t *check_icmp4(const uint8_t *p, size_t n, uint8_t type, uint8_t code,
				  uint8_t tos, size_t *mlen)
{
	ck_assert_uint_ge(n, IP4_HLEN + ICMP_HLEN);
	ck_assert_uint_eq(p[IP4_VER_IHL], 0x45);
	ck_assert_uint_eq(p[IP4_TOS], tos);
	ck_assert_uint_eq(get16(p + IP4_TOTLEN), n);
	/* the ICMP socket has PMTU discovery off: no DF, not fragmented */
	ck_assert_uint_eq(get16(p + IP4_FRAG), 0);
	ck_assert_uint_eq(p[IP4_TTL], OPT_IP_TTL);
	ck_assert_uint_eq(p[IP4_PROTO], STACK_IPPROTO_ICMP);
	ck_assert_uint_eq(cksum_fold(cksum_add(0, p, IP4_HLEN)), 0xffff);
	ck_assert_mem_eq(p + IP4_SRC, h.a4, 4);
	ck_assert_mem_eq(p + IP4_DST, h.p4, 4);
	ck_assert_uint_eq(p[IP4_HLEN + ICMP_TYPE], type);
	ck_assert_uint_eq(p[IP4_HLEN + ICMP_CODE], code);
	ck_assert_uint_eq(cksum_fold(cksum_add(0, p + IP4_HLEN, n - IP4_HLEN)), 0xffff);
	*mlen = n - IP4_HLEN;
	return p + IP4_HLEN;
}

static const uint8_t *check_icmp6(const uint8_t *p, size_t n, uint8_t type, uint8_t code,
				  uint8_t tclass, size_t *mlen)
{
	size_t len = n - IP6_HLEN;

	ck_assert_uint_ge(n, IP6_HLEN + ICMP_HLEN);
	ck_assert_uint_eq(p[0] >> 4, 6);
	ck_assert_uint_eq((get32(p) >> 20) & 0xff, tclass);
	ck_assert_uint_eq(get16(p + IP6_PLEN), len);
	ck_assert_uint_eq(p[IP6_NXT], STACK_IPPROTO_ICMPV6);
	ck_assert_uint_eq(p[IP6_HLIM], OPT_IP6_HOPLIMIT);
	ck_assert_mem_eq(p + IP6_SRC, h.a6, 16);
	ck_assert_mem_eq(p + IP6_DST, h.p6, 16);
	ck_assert_uint_eq(p[IP6_HLEN + ICMP_TYPE], type);
	ck_assert_uint_eq(p[IP6_HLEN + ICMP_CODE], code);
	ck_assert_uint_eq(cksum_fold(cksum_add(cksum_pseudo(STACK_AF_INET6, h.a6, h.p6,
							    STACK_IPPROTO_ICMPV6, (uint32_t)len),
					       p + IP6_HLEN, len)),
			  0xffff);
	*mlen = len;
	return p + IP6_HLEN;
}

static size_t pull_one(void)
{
	size_t n;

	ck_assert_uint_eq(h_pending(&h), 1);
	n = h_pull(&h, out, sizeof(out));
	ck_assert_uint_gt(n, 0);
	return n;
}

/* Pull the fragments of one datagram: each at most mtu bytes, payloads
 * adding up to total. */
static unsigned pull_frags(int family, uint32_t mtu, size_t total)
{
	unsigned n = 0;
	size_t sum = 0, len;

	while ((len = h_pull(&h, out, sizeof(out))) > 0) {
		ck_assert_uint_le(len, mtu);
		if (family == STACK_AF_INET) {
			uint16_t fr = get16(out + IP4_FRAG);

			ck_assert_uint_eq((size_t)(fr & IP4_OFFMASK) * 8, sum);
			ck_assert_uint_eq(fr & IP4_F_DF, 0);
			sum += len - IP4_HLEN;
			ck_assert_uint_eq(!!(fr & IP4_F_MF), sum < total);
		} else {
			uint16_t offlg;

			ck_assert_uint_eq(out[IP6_NXT], IP6_NH_FRAGMENT);
			offlg = get16(out + IP6_HLEN + IP6_FRAG_OFFLG);
			ck_assert_uint_eq((size_t)(offlg & IP6_FRAG_OFFMASK), sum);
			sum += len - IP6_HLEN - IP6_FRAG_HLEN;
			ck_assert_uint_eq(!!(offlg & IP6_FRAG_MF), sum < total);
		}
		n++;
	}
	ck_assert_uint_eq(sum, total);
	return n;
}

/* ---- echo ----------------------------------------------------------------- */

START_TEST(echo4_reply)
{
	static const size_t sizes[] = {56, 33, 0, 1400};

	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		uint8_t body[1500];
		const uint8_t *m;
		size_t n, mlen;

		fill_pattern(body, sizes[i], (uint32_t)i);
		inject_icmp4(ICMP4_ECHO, 0, 0x12340000u | (uint32_t)i, body, sizes[i]);
		n = pull_one();
		m = check_icmp4(out, n, ICMP4_ECHOREPLY, 0, 0, &mlen);
		ck_assert_uint_eq(mlen, ICMP_HLEN + sizes[i]);
		ck_assert_uint_eq(get32(m + ICMP_REST), 0x12340000u | (uint32_t)i);
		if (sizes[i])
			ck_assert_mem_eq(m + ICMP_HLEN, body, sizes[i]);
		ck_assert_uint_eq(h_pending(&h), 0);
	}
	ck_assert_uint_eq(h.st->ctr.icmp_err_sent, 0);
}
END_TEST

START_TEST(echo6_reply)
{
	static const size_t sizes[] = {56, 33, 0, 1400};

	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		uint8_t body[1500];
		const uint8_t *m;
		size_t n, mlen;

		fill_pattern(body, sizes[i], (uint32_t)i + 10);
		inject_icmp6(ICMP6_ECHO_REQUEST, 0, 0xbeef0000u | (uint32_t)i, body, sizes[i]);
		n = pull_one();
		m = check_icmp6(out, n, ICMP6_ECHO_REPLY, 0, 0, &mlen);
		ck_assert_uint_eq(mlen, ICMP_HLEN + sizes[i]);
		ck_assert_uint_eq(get32(m + ICMP_REST), 0xbeef0000u | (uint32_t)i);
		if (sizes[i])
			ck_assert_mem_eq(m + ICMP_HLEN, body, sizes[i]);
		ck_assert_uint_eq(h_pending(&h), 0);
	}
}
END_TEST

/* icmp_reply: ipc.tos = ip_hdr(skb)->tos — the reply keeps the request's TOS. */
START_TEST(echo4_reply_copies_tos)
{
	size_t m = build_icmp(msg, STACK_AF_INET, h.p4, h.a4, ICMP4_ECHO, 0, 0x00010001, "tos", 3);
	size_t n = build_ip4(pkt, h.p4, h.a4, STACK_IPPROTO_ICMP, msg, m, 7, 0, 64);
	size_t mlen;

	pkt[IP4_TOS] = 0x28;
	fix_ip4_csum(pkt);
	h_inject(&h, pkt, n);
	n = pull_one();
	check_icmp4(out, n, ICMP4_ECHOREPLY, 0, 0x28, &mlen);
}
END_TEST

/* icmpv6_echo_reply: ipc6.tclass = ipv6_get_dsfield(ipv6_hdr(skb)). */
START_TEST(echo6_reply_copies_tclass)
{
	size_t m =
	    build_icmp(msg, STACK_AF_INET6, h.p6, h.a6, ICMP6_ECHO_REQUEST, 0, 0x00010001, "tc", 2);
	size_t n = build_ip6(pkt, h.p6, h.a6, STACK_IPPROTO_ICMPV6, msg, m, 64);
	size_t mlen;

	put32(pkt, 6u << 28 | 0x28u << 20);
	h_inject(&h, pkt, n);
	n = pull_one();
	check_icmp6(out, n, ICMP6_ECHO_REPLY, 0, 0x28, &mlen);
}
END_TEST

START_TEST(echo4_broadcast_ignored)
{
	static const char *const dsts[] = {"192.0.2.255", "255.255.255.255"};

	/* net.ipv4.icmp_echo_ignore_broadcasts = 1 */
	for (size_t i = 0; i < ARRAY_LEN(dsts); i++) {
		struct stack_sockaddr d = h_sa(dsts[i], 0);
		size_t m = build_icmp(msg, STACK_AF_INET, h.p4, d.addr, ICMP4_ECHO, 0, 1, "bc", 2);
		size_t n = build_ip4(pkt, h.p4, d.addr, STACK_IPPROTO_ICMP, msg, m, 9, 0, 64);

		h_inject(&h, pkt, n);
	}
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(CTR(h.st, ICMP4).tx, 0);
}
END_TEST

START_TEST(icmp_bad_checksum)
{
	size_t m, n;

	m = build_icmp(msg, STACK_AF_INET, h.p4, h.a4, ICMP4_ECHO, 0, 1, "bad", 3);
	msg[ICMP_CSUM + 1] ^= 0x01;
	n = build_ip4(pkt, h.p4, h.a4, STACK_IPPROTO_ICMP, msg, m, 9, 0, 64);
	h_inject(&h, pkt, n);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(h_drops(&h, STACK_P_ICMP4, STACK_DROP_BAD_CSUM), 1);

	m = build_icmp(msg, STACK_AF_INET6, h.p6, h.a6, ICMP6_ECHO_REQUEST, 0, 1, "bad", 3);
	msg[ICMP_HLEN] ^= 0x40;
	n = build_ip6(pkt, h.p6, h.a6, STACK_IPPROTO_ICMPV6, msg, m, 64);
	h_inject(&h, pkt, n);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(h_drops(&h, STACK_P_ICMP6, STACK_DROP_BAD_CSUM), 1);
}
END_TEST

/* ---- errors we generate -------------------------------------------------- */

START_TEST(port_unreach4)
{
	const uint8_t *m;
	size_t n, in, mlen;

	in = peer_udp(sent, STACK_AF_INET, H_ADDR4, 9, 30);
	h_inject(&h, sent, in);
	n = pull_one();
	/* icmp_send: TOS of the offender | IPTOS_PREC_INTERNETCONTROL */
	m = check_icmp4(out, n, ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0xc0, &mlen);
	ck_assert_uint_eq(get32(m + ICMP_REST), 0);
	ck_assert_uint_eq(mlen, ICMP_HLEN + in);
	ck_assert_mem_eq(m + ICMP_HLEN, sent, in); /* header and payload as received */
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_NO_PORT), 1);
	ck_assert_uint_eq(h.st->ctr.icmp_err_sent, 1);

	/* a long datagram is quoted up to a 576-byte reply */
	in = peer_udp(sent, STACK_AF_INET, H_ADDR4, 9, 1000);
	h_inject(&h, sent, in);
	n = pull_one();
	ck_assert_uint_eq(n, 576);
	m = check_icmp4(out, n, ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0xc0, &mlen);
	ck_assert_mem_eq(m + ICMP_HLEN, sent, 548);
}
END_TEST

START_TEST(port_unreach6)
{
	const uint8_t *m;
	size_t n, in, mlen;

	in = peer_udp(sent, STACK_AF_INET6, H_ADDR6, 9, 30);
	h_inject(&h, sent, in);
	n = pull_one();
	m = check_icmp6(out, n, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, &mlen);
	ck_assert_uint_eq(get32(m + ICMP_REST), 0);
	ck_assert_uint_eq(mlen, ICMP_HLEN + in);
	ck_assert_mem_eq(m + ICMP_HLEN, sent, in);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_NO_PORT), 1);

	/* RFC 4443 §2.4 (c): as much as fits the minimum MTU */
	in = peer_udp(sent, STACK_AF_INET6, H_ADDR6, 9, 1400);
	h_inject(&h, sent, in);
	n = pull_one();
	ck_assert_uint_eq(n, 1280);
	m = check_icmp6(out, n, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, &mlen);
	ck_assert_mem_eq(m + ICMP_HLEN, sent, 1232);
}
END_TEST

START_TEST(port_unreach4_not_for_broadcast)
{
	size_t in;

	in = peer_udp(sent, STACK_AF_INET, "192.0.2.255", 9, 10);
	h_inject(&h, sent, in);
	in = peer_udp(sent, STACK_AF_INET, "255.255.255.255", 9, 10);
	h_inject(&h, sent, in);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_NO_PORT), 2);
	ck_assert_uint_eq(h.st->ctr.icmp_err_sent, 0);
}
END_TEST

START_TEST(proto_unreach4)
{
	const uint8_t *m;
	size_t n, in, mlen;

	fill_pattern(data, 20, 3);
	in = build_ip4(sent, h.p4, h.a4, 253, data, 20, 0x4444, 0, 64);
	h_inject(&h, sent, in);
	n = pull_one();
	m = check_icmp4(out, n, ICMP4_UNREACH, ICMP4_UNREACH_PROTO, 0xc0, &mlen);
	ck_assert_uint_eq(get32(m + ICMP_REST), 0);
	ck_assert_uint_eq(mlen, ICMP_HLEN + in);
	ck_assert_mem_eq(m + ICMP_HLEN, sent, in);
	ck_assert_uint_eq(h_drops(&h, STACK_P_IP4, STACK_DROP_UNKNOWN_PROTO), 1);
}
END_TEST

START_TEST(unknown_next_header6)
{
	static const uint8_t dstopts[8] = {253, 0, 1, 4, 0, 0, 0, 0};
	const uint8_t *m;
	size_t n, in, mlen;

	/* ip6_protocol_deliver_rcu: Parameter Problem, code 1, pointing at
	 * the Next Header field that named the protocol */
	fill_pattern(data, 16, 4);
	in = build_ip6(sent, h.p6, h.a6, 253, data, 16, 64);
	h_inject(&h, sent, in);
	n = pull_one();
	m = check_icmp6(out, n, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER, 0, &mlen);
	ck_assert_uint_eq(get32(m + ICMP_REST), IP6_NXT);
	ck_assert_uint_eq(mlen, ICMP_HLEN + in);
	ck_assert_mem_eq(m + ICMP_HLEN, sent, in);
	ck_assert_uint_eq(h_drops(&h, STACK_P_IP6, STACK_DROP_UNKNOWN_PROTO), 1);

	/* behind a destination options header: its Next Header, at 40 */
	memcpy(data, dstopts, sizeof(dstopts));
	fill_pattern(data + 8, 16, 5);
	in = build_ip6(sent, h.p6, h.a6, IP6_NH_DSTOPTS, data, 24, 64);
	h_inject(&h, sent, in);
	n = pull_one();
	m = check_icmp6(out, n, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER, 0, &mlen);
	ck_assert_uint_eq(get32(m + ICMP_REST), IP6_HLEN);
	ck_assert_mem_eq(m + ICMP_HLEN, sent, in);
}
END_TEST

START_TEST(no_error_about_error4)
{
	uint8_t quote[64], frag[64];
	size_t qn, m, n;

	/* an ICMP error addressed to us is consumed, never answered */
	qn = peer_udp(quote, STACK_AF_INET, H_PEER4, 9, 4);
	memcpy(quote + IP4_SRC, h.a4, 4); /* make it "ours": a4 -> p4 */
	memcpy(quote + IP4_DST, h.p4, 4);
	fix_ip4_csum(quote);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, quote, qn);
	inject_icmp4(ICMP4_TIMXCEED, 0, 0, quote, qn);
	inject_icmp4(ICMP4_PARAMPROB, 0, 0, quote, qn);
	ck_assert_uint_eq(h_pending(&h), 0);

	/* The first fragment of an ICMP error whose reassembly times out
	 * draws no Time Exceeded (icmp_send looks at the inner type) ... */
	m = build_icmp(msg, STACK_AF_INET, h.p4, h.a4, ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, quote,
		       qn);
	ck_assert_uint_ge(m, 24);
	memcpy(frag, msg, 24);
	n = build_ip4(pkt, h.p4, h.a4, STACK_IPPROTO_ICMP, frag, 24, 0x5151, IP4_F_MF, 64);
	h_inject(&h, pkt, n);
	h_advance(&h, (OPT_FRAG4_TIMEOUT_NS / STACK_NS_PER_S + 1) * STACK_NS_PER_S);
	ck_assert_uint_eq(h_drops(&h, STACK_P_FRAG4, STACK_DROP_FRAG_TIMEOUT), 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_ge(h_drops(&h, STACK_P_ICMP4, STACK_DROP_ICMP_NOERR), 1);

	/* ... while the first fragment of an echo request does. */
	m = build_icmp(msg, STACK_AF_INET, h.p4, h.a4, ICMP4_ECHO, 0, 1, quote, qn);
	memcpy(frag, msg, 24);
	n = build_ip4(pkt, h.p4, h.a4, STACK_IPPROTO_ICMP, frag, 24, 0x5152, IP4_F_MF, 64);
	h_inject(&h, pkt, n);
	h_advance(&h, (OPT_FRAG4_TIMEOUT_NS / STACK_NS_PER_S + 1) * STACK_NS_PER_S);
	n = pull_one();
	{
		size_t mlen;
		const uint8_t *r =
		    check_icmp4(out, n, ICMP4_TIMXCEED, ICMP4_TIMXCEED_REASS, 0xc0, &mlen);

		ck_assert_mem_eq(r + ICMP_HLEN, pkt, IP4_HLEN + 8);
	}
}
END_TEST

/* An IPv6 first fragment carrying the start of an ICMPv6 message of this type. */
static size_t icmp6_first_fragment(uint8_t *b, uint8_t type, uint32_t id)
{
	uint8_t body[32];
	size_t m;

	fill_pattern(body, sizeof(body), type);
	m = build_icmp(msg, STACK_AF_INET6, h.p6, h.a6, type, 0, 0, body, sizeof(body));
	ck_assert_uint_ge(m, 16);
	build_ip6(b, h.p6, h.a6, IP6_NH_FRAGMENT, NULL, 0, 64);
	put16(b + IP6_PLEN, IP6_FRAG_HLEN + 16);
	b[IP6_HLEN + IP6_FRAG_NXT] = STACK_IPPROTO_ICMPV6;
	b[IP6_HLEN + 1] = 0;
	put16(b + IP6_HLEN + IP6_FRAG_OFFLG, IP6_FRAG_MF);
	put32(b + IP6_HLEN + IP6_FRAG_ID, id);
	memcpy(b + IP6_HLEN + IP6_FRAG_HLEN, msg, 16);
	return IP6_HLEN + IP6_FRAG_HLEN + 16;
}

START_TEST(no_error_about_error6)
{
	uint8_t quote[128];
	size_t qn, n, mlen;
	const uint8_t *r;

	qn = peer_udp(quote, STACK_AF_INET6, H_PEER6, 9, 4);
	memcpy(quote + IP6_SRC, h.a6, 16);
	memcpy(quote + IP6_DST, h.p6, 16);
	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, quote, qn);
	inject_icmp6(ICMP6_TIME_EXCEEDED, 0, 0, quote, qn);
	inject_icmp6(ICMP6_PARAM_PROB, 0, 0, quote, qn);
	/* an unknown error type (< 128) is not answered either */
	inject_icmp6(100, 0, 0, quote, qn);
	ck_assert_uint_eq(h_pending(&h), 0);

	/* is_ineligible(): no Time Exceeded about an error message's fragment */
	n = icmp6_first_fragment(pkt, ICMP6_DST_UNREACH, 0xabcd0001);
	h_inject(&h, pkt, n);
	h_advance(&h, (OPT_FRAG6_TIMEOUT_NS / STACK_NS_PER_S + 1) * STACK_NS_PER_S);
	ck_assert_uint_eq(h_drops(&h, STACK_P_FRAG6, STACK_DROP_FRAG_TIMEOUT), 1);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_ge(h_drops(&h, STACK_P_ICMP6, STACK_DROP_ICMP_NOERR), 1);

	/* but there is one about an echo request's */
	n = icmp6_first_fragment(pkt, ICMP6_ECHO_REQUEST, 0xabcd0002);
	h_inject(&h, pkt, n);
	h_advance(&h, (OPT_FRAG6_TIMEOUT_NS / STACK_NS_PER_S + 1) * STACK_NS_PER_S);
	n = pull_one();
	r = check_icmp6(out, n, ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_REASSEMBLY, 0, &mlen);
	ck_assert_mem_eq(r + ICMP_HLEN, pkt, IP6_HLEN + IP6_FRAG_HLEN + 8);
}
END_TEST

/* Datagrams from the peer to 200 closed ports at one instant. */
static unsigned flood_closed_ports(int family, uint16_t base)
{
	for (unsigned i = 0; i < 200; i++) {
		size_t in = peer_udp(sent, family, family == STACK_AF_INET ? H_ADDR4 : H_ADDR6,
				     (uint16_t)(base + i), 8);

		h_inject(&h, sent, in);
	}
	return h_drain(&h);
}

START_TEST(ratelimit_burst)
{
	unsigned first, second;
	uint64_t limited;

	first = flood_closed_ports(STACK_AF_INET, 20000);
	limited = h_drops(&h, STACK_P_ICMP4, STACK_DROP_ICMP_RATELIMIT);
	ck_assert_uint_ge(first, 1);
	ck_assert_uint_le(first, OPT_ICMP_BURST);
	ck_assert_uint_eq(limited, 200 - first);
	ck_assert_uint_eq(h.st->ctr.icmp_err_sent, first);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_NO_PORT), 200);
	/* a second later the bucket has refilled */
	h_advance(&h, STACK_NS_PER_S);
	second = flood_closed_ports(STACK_AF_INET, 30000);
	ck_assert_uint_ge(second, 1);
	ck_assert_uint_le(second, OPT_ICMP_BURST);
	ck_assert_uint_eq(h_drops(&h, STACK_P_ICMP4, STACK_DROP_ICMP_RATELIMIT),
			  limited + 200 - second);
}
END_TEST

/* icmpv4_xrlim_allow -> inet_peer_xrlim_allow: besides the global bucket,
 * errors of the types in net.ipv4.icmp_ratemask (3, 4, 11, 12) to one
 * destination are limited to net.ipv4.icmp_ratelimit (1000 ms) each, with
 * a burst of XRLIM_BURST_FACTOR (6). */
START_TEST(ratelimit_per_peer_v4)
{
	unsigned first, second;

	first = flood_closed_ports(STACK_AF_INET, 20000);
	ck_assert_uint_eq(first, 6);
	h_advance(&h, STACK_NS_PER_S);
	second = flood_closed_ports(STACK_AF_INET, 30000);
	ck_assert_uint_eq(second, 1);
	ck_assert_uint_eq(h.st->ctr.icmp_err_sent, 7);
}
END_TEST

/* ---- errors delivered to endpoints ---------------------------------------- */

START_TEST(err_port_unreach4_connected)
{
	int e = ep_connected(STACK_AF_INET, H_PEER4, 7000);
	size_t n = send_and_pull(e, 20, NULL, 0), in;

	/* a datagram from the peer is waiting when the error arrives */
	in = peer_udp(pkt, STACK_AF_INET, H_ADDR4, local_port(e), 5);
	h_inject(&h, pkt, in);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, sent, q4(n));
	ck_assert_uint_eq(h.st->ctr.icmp_err_delivered, 1);
	ck_assert_uint_ne(stack_ep_events(h.st, e) & STACK_EV_ERR, 0);
	/* __skb_recv_udp: the error first, then the data */
	ck_assert_int_eq(ep_recv(e), -ECONNREFUSED);
	ck_assert_uint_eq(stack_ep_events(h.st, e) & STACK_EV_ERR, 0);
	ck_assert_int_eq(ep_recv(e), 5);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(err_port_unreach6_connected)
{
	int e = ep_connected(STACK_AF_INET6, H_PEER6, 7000);
	size_t n = send_and_pull(e, 20, NULL, 0);

	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, sent, q6(n));
	ck_assert_uint_eq(h.st->ctr.icmp_err_delivered, 1);
	ck_assert_uint_ne(stack_ep_events(h.st, e) & STACK_EV_ERR, 0);
	ck_assert_int_eq(ep_recv(e), -ECONNREFUSED);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
}
END_TEST

/* datagram_poll: a pending error is EPOLLERR; EPOLLIN only with data queued. */
START_TEST(err_events_mask)
{
	int e = ep_connected(STACK_AF_INET, H_PEER4, 7000);
	size_t n = send_and_pull(e, 20, NULL, 0);

	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, sent, q4(n));
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT | STACK_EV_ERR);
}
END_TEST

START_TEST(err_unconnected_needs_recverr4)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 4200);
	size_t n = send_and_pull(e, 20, H_PEER4, 7000);

	/* __udp4_lib_err: without IP_RECVERR only a connected endpoint hears */
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, sent, q4(n));
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
	ck_assert_uint_eq(h.st->ctr.icmp_err_delivered, 0);

	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_RECVERR, 1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IP, STACK_IP_RECVERR), 1);
	n = send_and_pull(e, 20, H_PEER4, 7000);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, sent, q4(n));
	ck_assert_uint_ne(stack_ep_events(h.st, e) & STACK_EV_ERR, 0);
	ck_assert_int_eq(ep_recv(e), -ECONNREFUSED);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
}
END_TEST

START_TEST(err_unconnected_needs_recverr6)
{
	int e = ep_bound(STACK_AF_INET6, "::", 4201);
	size_t n = send_and_pull(e, 20, H_PEER6, 7000);

	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, sent, q6(n));
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);

	ck_assert_int_eq(opt_set(e, STACK_SOL_IPV6, STACK_IPV6_RECVERR, 1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_RECVERR), 1);
	n = send_and_pull(e, 20, H_PEER6, 7000);
	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, sent, q6(n));
	ck_assert_int_eq(ep_recv(e), -ECONNREFUSED);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
}
END_TEST

START_TEST(err_soft_and_hard4)
{
	int e = ep_connected(STACK_AF_INET, H_PEER4, 7000);
	size_t n = send_and_pull(e, 20, NULL, 0);

	/* icmp_err_convert: host/net unreachable and time exceeded are soft:
	 * not reported without IP_RECVERR, even when connected */
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_HOST, 0, sent, q4(n));
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_NET, 0, sent, q4(n));
	inject_icmp4(ICMP4_TIMXCEED, 0, 0, sent, q4(n));
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	/* parameter problem and host prohibited are hard */
	inject_icmp4(ICMP4_PARAMPROB, 0, 0, sent, q4(n));
	ck_assert_int_eq(ep_recv(e), -EPROTO);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_HOST_PROHIB, 0, sent, q4(n));
	ck_assert_int_eq(ep_recv(e), -EHOSTUNREACH);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PROTO, 0, sent, q4(n));
	ck_assert_int_eq(ep_recv(e), -ENOPROTOOPT);

	/* with IP_RECVERR the soft ones count too */
	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_RECVERR, 1), 0);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_HOST, 0, sent, q4(n));
	ck_assert_int_eq(ep_recv(e), -EHOSTUNREACH);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_NET, 0, sent, q4(n));
	ck_assert_int_eq(ep_recv(e), -ENETUNREACH);
	inject_icmp4(ICMP4_TIMXCEED, 0, 0, sent, q4(n));
	ck_assert_int_eq(ep_recv(e), -EHOSTUNREACH);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
}
END_TEST

START_TEST(err_soft_and_hard6)
{
	int e = ep_connected(STACK_AF_INET6, H_PEER6, 7000);
	size_t n = send_and_pull(e, 20, NULL, 0);

	/* icmpv6_err_convert */
	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR, 0, sent, q6(n));
	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE, 0, sent, q6(n));
	inject_icmp6(ICMP6_TIME_EXCEEDED, 0, 0, sent, q6(n));
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN, 0, sent, q6(n));
	ck_assert_int_eq(ep_recv(e), -EACCES);
	inject_icmp6(ICMP6_PARAM_PROB, 0, 0, sent, q6(n));
	ck_assert_int_eq(ep_recv(e), -EPROTO);

	ck_assert_int_eq(opt_set(e, STACK_SOL_IPV6, STACK_IPV6_RECVERR, 1), 0);
	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR, 0, sent, q6(n));
	ck_assert_int_eq(ep_recv(e), -EHOSTUNREACH);
	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE, 0, sent, q6(n));
	ck_assert_int_eq(ep_recv(e), -ENETUNREACH);
	inject_icmp6(ICMP6_TIME_EXCEEDED, 0, 0, sent, q6(n));
	ck_assert_int_eq(ep_recv(e), -EHOSTUNREACH);
}
END_TEST

START_TEST(err_frag_needed4)
{
	int e = ep_connected(STACK_AF_INET, H_PEER4, 7000);
	size_t n = send_and_pull(e, 1472, NULL, 0);
	unsigned frags;

	ck_assert_uint_eq(n, 1500);
	ck_assert_uint_eq(get16(sent + IP4_FRAG), IP4_F_DF);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IP, STACK_IP_MTU), 1500);
	/* RFC 1191: the next-hop MTU in the low 16 bits */
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_NEEDFRAG, 1400, sent, q4(n));
	ck_assert_uint_ne(stack_ep_events(h.st, e) & STACK_EV_ERR, 0);
	ck_assert_int_eq(ep_recv(e), -EMSGSIZE);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	ck_assert_uint_eq(route_mtu(H_PEER4), 1400);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IP, STACK_IP_MTU), 1400);
	ck_assert_uint_eq(h.st->ctr.pmtu_updates, 1);
	/* the next large datagram is cut to the new size */
	fill_pattern(data, 2000, 1);
	ck_assert_int_eq(ep_send(e, data, 2000, NULL, 0), 2000);
	frags = pull_frags(STACK_AF_INET, 1400, UDP_HLEN + 2000);
	ck_assert_uint_eq(frags, 2);
	/* and one that fits still goes whole with DF */
	n = send_and_pull(e, 1372, NULL, 0);
	ck_assert_uint_eq(n, 1400);
	ck_assert_uint_eq(get16(sent + IP4_FRAG), IP4_F_DF);
	/* an unchanged report changes nothing; a larger one is ignored */
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_NEEDFRAG, 1450, sent, q4(n));
	ck_assert_uint_eq(route_mtu(H_PEER4), 1400);
}
END_TEST

/* __ip_rt_update_pmtu takes the reported MTU whatever the quoted packet's
 * length was: nothing in Linux compares the two. */
START_TEST(err_frag_needed4_short_quote)
{
	int e = ep_connected(STACK_AF_INET, H_PEER4, 7000);
	size_t n = send_and_pull(e, 20, NULL, 0);

	ck_assert_uint_eq(n, 48);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_NEEDFRAG, 1400, sent, n);
	ck_assert_uint_eq(route_mtu(H_PEER4), 1400);
	ck_assert_int_eq(ep_recv(e), -EMSGSIZE);
}
END_TEST

START_TEST(err_frag_needed4_unconnected)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 4300);
	size_t n = send_and_pull(e, 1472, H_PEER4, 7000);

	/* ipv4_sk_update_pmtu learns the path MTU; the error itself is for
	 * connected endpoints (or IP_RECVERR) only */
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_NEEDFRAG, 1400, sent, q4(n));
	ck_assert_uint_eq(route_mtu(H_PEER4), 1400);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
	/* below net.ipv4.route.min_pmtu it is raised to 552 */
	n = send_and_pull(e, 1000, H_PEER4, 7000);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_NEEDFRAG, 300, sent, q4(n));
	ck_assert_uint_eq(route_mtu(H_PEER4), OPT_PMTU_MIN4);
}
END_TEST

START_TEST(err_packet_too_big6)
{
	int e = ep_connected(STACK_AF_INET6, H_PEER6, 7000);
	size_t n = send_and_pull(e, 1452, NULL, 0);
	unsigned frags;

	ck_assert_uint_eq(n, 1500);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_MTU), 1500);
	inject_icmp6(ICMP6_PACKET_TOO_BIG, 0, 1300, sent, q6(n));
	ck_assert_uint_ne(stack_ep_events(h.st, e) & STACK_EV_ERR, 0);
	ck_assert_int_eq(ep_recv(e), -EMSGSIZE);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	ck_assert_uint_eq(route_mtu(H_PEER6), 1300);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_MTU), 1300);
	fill_pattern(data, 2000, 2);
	ck_assert_int_eq(ep_send(e, data, 2000, NULL, 0), 2000);
	frags = pull_frags(STACK_AF_INET6, 1300, UDP_HLEN + 2000);
	ck_assert_uint_eq(frags, 2);
}
END_TEST

START_TEST(err_packet_too_big6_clamped)
{
	int e = ep_connected(STACK_AF_INET6, H_PEER6, 7000);
	size_t n = send_and_pull(e, 1452, NULL, 0);

	/* RFC 8201 §4: never below the IPv6 minimum MTU */
	inject_icmp6(ICMP6_PACKET_TOO_BIG, 0, 1000, sent, q6(n));
	ck_assert_int_eq(ep_recv(e), -EMSGSIZE);
	ck_assert_uint_eq(route_mtu(H_PEER6), 1280);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_MTU), 1280);
}
END_TEST

START_TEST(err_packet_too_big6_quotes_fragment)
{
	int e = ep_connected(STACK_AF_INET6, H_PEER6, 7000);
	size_t n;

	/* the router quotes the first fragment: the ports are behind the
	 * fragment header (ipv6_skip_exthdr) */
	fill_pattern(data, 3000, 3);
	ck_assert_int_eq(ep_send(e, data, 3000, NULL, 0), 3000);
	ck_assert_uint_eq(h_pending(&h), 3);
	n = h_pull(&h, sent, sizeof(sent));
	ck_assert_uint_eq(sent[IP6_NXT], IP6_NH_FRAGMENT);
	h_drain(&h);
	inject_icmp6(ICMP6_PACKET_TOO_BIG, 0, 1300, sent, q6(n));
	ck_assert_int_eq(ep_recv(e), -EMSGSIZE);
	ck_assert_uint_eq(route_mtu(H_PEER6), 1300);
}
END_TEST

START_TEST(err_not_from_us)
{
	int e4 = ep_connected(STACK_AF_INET, H_PEER4, 7000);
	int e6 = ep_connected(STACK_AF_INET6, H_PEER6, 7000);
	uint8_t u[64];
	size_t ulen, n;
	struct stack_sockaddr other4 = h_sa("192.0.2.99", 0), other6 = h_sa("2001:db8::99", 0);

	/* the quoted source is not one of our addresses: the ports match an
	 * endpoint, but it is someone else's datagram */
	ulen = build_udp(u, STACK_AF_INET, other4.addr, h.p4, local_port(e4), 7000, "x", 1);
	n = build_ip4(sent, other4.addr, h.p4, STACK_IPPROTO_UDP, u, ulen, 1, 0, 64);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, sent, n);
	ck_assert_int_eq(ep_recv(e4), -EAGAIN);
	ck_assert_uint_eq(h_drops(&h, STACK_P_ICMP4, STACK_DROP_NOT_FOR_US), 1);

	ulen = build_udp(u, STACK_AF_INET6, other6.addr, h.p6, local_port(e6), 7000, "x", 1);
	n = build_ip6(sent, other6.addr, h.p6, STACK_IPPROTO_UDP, u, ulen, 64);
	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, sent, n);
	ck_assert_int_eq(ep_recv(e6), -EAGAIN);
	ck_assert_uint_eq(h_drops(&h, STACK_P_ICMP6, STACK_DROP_NOT_FOR_US), 1);
	ck_assert_uint_eq(h.st->ctr.icmp_err_delivered, 0);
}
END_TEST

START_TEST(err_truncated_quote4)
{
	int e = ep_connected(STACK_AF_INET, H_PEER4, 7000);
	size_t n = send_and_pull(e, 20, NULL, 0);

	/* icmp_unreach: the IP header plus 8 bytes must be there */
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, sent, IP4_HLEN + 4);
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, sent, IP4_HLEN - 1);
	ck_assert_uint_eq(h_drops(&h, STACK_P_ICMP4, STACK_DROP_TRUNCATED), 2);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	/* exactly header + 8 is enough */
	inject_icmp4(ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0, sent, IP4_HLEN + 8);
	ck_assert_int_eq(ep_recv(e), -ECONNREFUSED);
	(void)n;
}
END_TEST

/* icmpv6_notify: pskb_may_pull(skb, inner_offset + 8) or the message is
 * discarded (ICMP6_MIB_INERRORS). */
START_TEST(err_truncated_quote6)
{
	int e = ep_connected(STACK_AF_INET6, H_PEER6, 7000);
	size_t n = send_and_pull(e, 20, NULL, 0);

	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, sent, IP6_HLEN + 6);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	ck_assert_uint_eq(h_drops(&h, STACK_P_ICMP6, STACK_DROP_TRUNCATED), 1);
	inject_icmp6(ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, sent, IP6_HLEN + 8);
	ck_assert_int_eq(ep_recv(e), -ECONNREFUSED);
	(void)n;
}
END_TEST

/* The same rule for Packet Too Big: Linux learns the MTU in the UDP error
 * handler, which a truncated quote never reaches. */
START_TEST(err_packet_too_big6_truncated)
{
	int e = ep_connected(STACK_AF_INET6, H_PEER6, 7000);
	size_t n = send_and_pull(e, 1452, NULL, 0);

	inject_icmp6(ICMP6_PACKET_TOO_BIG, 0, 1300, sent, IP6_HLEN);
	ck_assert_uint_eq(route_mtu(H_PEER6), 1500);
	ck_assert_int_eq(ep_recv(e), -EAGAIN);
	ck_assert_uint_eq(h_drops(&h, STACK_P_ICMP6, STACK_DROP_TRUNCATED), 1);
	(void)n;
}
END_TEST

Suite *suite_icmp(void)
{
	Suite *s = suite_create("icmp");
	TCase *ec = tcase_create("echo");
	TCase *gen = tcase_create("generate");
	TCase *del = tcase_create("deliver");

	tcase_add_checked_fixture(ec, setup, teardown);
	tcase_add_test(ec, echo4_reply);
	tcase_add_test(ec, echo6_reply);
	tcase_add_test(ec, echo4_reply_copies_tos);
	tcase_add_test(ec, echo6_reply_copies_tclass);
	tcase_add_test(ec, echo4_broadcast_ignored);
	tcase_add_test(ec, icmp_bad_checksum);
	suite_add_tcase(s, ec);

	tcase_add_checked_fixture(gen, setup, teardown);
	tcase_add_test(gen, port_unreach4);
	tcase_add_test(gen, port_unreach6);
	tcase_add_test(gen, port_unreach4_not_for_broadcast);
	tcase_add_test(gen, proto_unreach4);
	tcase_add_test(gen, unknown_next_header6);
	tcase_add_test(gen, no_error_about_error4);
	tcase_add_test(gen, no_error_about_error6);
	tcase_add_test(gen, ratelimit_burst);
	tcase_add_test(gen, ratelimit_per_peer_v4);
	suite_add_tcase(s, gen);

	tcase_add_checked_fixture(del, setup, teardown);
	tcase_add_test(del, err_port_unreach4_connected);
	tcase_add_test(del, err_port_unreach6_connected);
	tcase_add_test(del, err_events_mask);
	tcase_add_test(del, err_unconnected_needs_recverr4);
	tcase_add_test(del, err_unconnected_needs_recverr6);
	tcase_add_test(del, err_soft_and_hard4);
	tcase_add_test(del, err_soft_and_hard6);
	tcase_add_test(del, err_frag_needed4);
	tcase_add_test(del, err_frag_needed4_short_quote);
	tcase_add_test(del, err_frag_needed4_unconnected);
	tcase_add_test(del, err_packet_too_big6);
	tcase_add_test(del, err_packet_too_big6_clamped);
	tcase_add_test(del, err_packet_too_big6_quotes_fragment);
	tcase_add_test(del, err_not_from_us);
	tcase_add_test(del, err_truncated_quote4);
	tcase_add_test(del, err_truncated_quote6);
	tcase_add_test(del, err_packet_too_big6_truncated);
	suite_add_tcase(s, del);
	return s;
}
