/*
 * test_udp.c — UDP endpoints (stack/udp.c, stack/ep.c) seen from a program:
 * what goes on the wire, what recvfrom returns, which endpoint a datagram
 * reaches, bind/connect rules, size limits, checksums, the receive queue
 * bound, options and loopback.  Linux is the reference for every expected
 * value; the kernel function each rule comes from is named next to it.
 */
#include <errno.h>

#include "harness.h"

static struct harness h;

/* Big buffers live outside the stack of the test process. */
static uint8_t pkt[70000], out[70000], data[70000], rbuf[70000], dgram[70000];

static void setup(void)
{
	h_setup(&h);
}
static void teardown(void)
{
	h_teardown(&h);
}

/* ---- endpoint helpers ------------------------------------------------- */

static int ep_open(int family)
{
	int e = stack_ep_open(h.st, family, STACK_SOCK_DGRAM, 0);

	ck_assert_int_ge(e, 0);
	return e;
}

static int ep_bind(int e, const char *addr, uint16_t port)
{
	struct stack_sockaddr a = h_sa(addr, port);

	return stack_ep_bind(h.st, e, &a);
}

static int ep_bound(int family, const char *addr, uint16_t port)
{
	int e = ep_open(family);

	ck_assert_int_eq(ep_bind(e, addr, port), 0);
	return e;
}

static int ep_connect(int e, const char *addr, uint16_t port)
{
	struct stack_sockaddr a = h_sa(addr, port);

	return stack_ep_connect(h.st, e, &a);
}

static int ep_disconnect(int e)
{
	struct stack_sockaddr a;

	memset(&a, 0, sizeof(a));
	a.family = STACK_AF_UNSPEC;
	return stack_ep_connect(h.st, e, &a);
}

/* addr NULL: no destination (a connected endpoint's peer). */
static ssize_t ep_send(int e, const void *d, size_t n, const char *addr, uint16_t port)
{
	struct iovec iov = {.iov_base = (void *)d, .iov_len = n};
	struct stack_sockaddr to;

	if (!addr)
		return stack_ep_sendto(h.st, e, &iov, 1, 0, NULL);
	to = h_sa(addr, port);
	return stack_ep_sendto(h.st, e, &iov, 1, 0, &to);
}

static ssize_t ep_recv(int e, void *b, size_t cap, int flags, struct stack_sockaddr *from,
		       int *mflags)
{
	struct iovec iov = {.iov_base = b, .iov_len = cap};

	return stack_ep_recvfrom(h.st, e, &iov, 1, flags, from, mflags);
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
	ck_assert_uint_eq(len, sizeof(int));
	return v;
}

static struct stack_sockaddr sockname(int e)
{
	struct stack_sockaddr a;

	ck_assert_int_eq(stack_ep_getsockname(h.st, e, &a), 0);
	return a;
}

/* a is addr:port in family fam. */
static void assert_sa(const struct stack_sockaddr *a, const char *addr, uint16_t port)
{
	struct stack_sockaddr x = h_sa(addr, port);

	ck_assert_uint_eq(a->family, x.family);
	ck_assert_uint_eq(a->port, port);
	ck_assert_mem_eq(a->addr, x.addr, x.family == STACK_AF_INET ? 4 : 16);
}

/* The next datagram on e is d[0..n) from addr:port. */
static void recv_check(int e, const void *d, size_t n, const char *addr, uint16_t port)
{
	struct stack_sockaddr from;
	int mf = -1;

	memset(&from, 0xee, sizeof(from));
	ck_assert_int_eq(ep_recv(e, rbuf, sizeof(rbuf), 0, &from, &mf), (ssize_t)n);
	ck_assert_int_eq(mf, 0);
	if (n)
		ck_assert_mem_eq(rbuf, d, n);
	assert_sa(&from, addr, port);
}

static void assert_empty(int e)
{
	ck_assert_int_eq(ep_recv(e, rbuf, sizeof(rbuf), 0, NULL, NULL), -EAGAIN);
}

/* ---- the link side ------------------------------------------------------ */

/* A UDP datagram src:sport -> dst:dport arriving on mem0. */
static void inject_udp(const char *src, uint16_t sport, const char *dst, uint16_t dport,
		       const void *d, size_t n)
{
	static uint8_t u[70000];
	struct stack_sockaddr s = h_sa(src, 0), t = h_sa(dst, 0);
	size_t ulen = build_udp(u, s.family, s.addr, t.addr, sport, dport, d, n);
	size_t len;

	if (s.family == STACK_AF_INET)
		len = build_ip4(pkt, s.addr, t.addr, STACK_IPPROTO_UDP, u, ulen, 0x1234, 0, 64);
	else
		len = build_ip6(pkt, s.addr, t.addr, STACK_IPPROTO_UDP, u, ulen, 64);
	h_inject(&h, pkt, len);
}

struct udp_seen {
	uint16_t sport, dport;
	size_t dlen;
	const uint8_t *data;
};

/* A whole UDP datagram (header + data, ulen bytes) with a checksum that
 * verifies against the pseudo-header. */
static void check_udp(int family, const uint8_t *src, const uint8_t *dst, const uint8_t *u,
		      size_t ulen, struct udp_seen *s)
{
	ck_assert_uint_ge(ulen, UDP_HLEN);
	ck_assert_uint_eq(get16(u + UDP_LEN), ulen);
	ck_assert_uint_ne(get16(u + UDP_CSUM), 0); /* we always sum (RFC 768) */
	ck_assert_uint_eq(
	    cksum_fold(cksum_add(cksum_pseudo(family, src, dst, STACK_IPPROTO_UDP, (uint32_t)ulen),
				 u, ulen)),
	    0xffff);
	s->sport = get16(u + UDP_SPORT);
	s->dport = get16(u + UDP_DPORT);
	s->dlen = ulen - UDP_HLEN;
	s->data = u + UDP_HLEN;
}

/* One unfragmented IPv4 UDP packet p[0..n) from src to dst with this TTL. */
static void check_ip4_udp(const uint8_t *p, size_t n, const uint8_t *src, const uint8_t *dst,
			  uint8_t ttl, struct udp_seen *s)
{
	ck_assert_uint_ge(n, IP4_HLEN + UDP_HLEN);
	ck_assert_uint_eq(p[IP4_VER_IHL], 0x45);
	ck_assert_uint_eq(p[IP4_TOS], 0);
	ck_assert_uint_eq(get16(p + IP4_TOTLEN), n);
	ck_assert_uint_eq(get16(p + IP4_FRAG) & (IP4_F_MF | IP4_OFFMASK), 0);
	ck_assert_uint_eq(p[IP4_TTL], ttl);
	ck_assert_uint_eq(p[IP4_PROTO], STACK_IPPROTO_UDP);
	ck_assert_uint_eq(cksum_fold(cksum_add(0, p, IP4_HLEN)), 0xffff);
	ck_assert_mem_eq(p + IP4_SRC, src, 4);
	ck_assert_mem_eq(p + IP4_DST, dst, 4);
	check_udp(STACK_AF_INET, src, dst, p + IP4_HLEN, n - IP4_HLEN, s);
}

static void check_ip6_udp(const uint8_t *p, size_t n, const uint8_t *src, const uint8_t *dst,
			  uint8_t hlim, struct udp_seen *s)
{
	ck_assert_uint_ge(n, IP6_HLEN + UDP_HLEN);
	ck_assert_uint_eq(p[0] >> 4, 6);
	ck_assert_uint_eq((get32(p) >> 20) & 0xff, 0); /* traffic class */
	ck_assert_uint_eq(get16(p + IP6_PLEN), n - IP6_HLEN);
	ck_assert_uint_eq(p[IP6_NXT], STACK_IPPROTO_UDP);
	ck_assert_uint_eq(p[IP6_HLIM], hlim);
	ck_assert_mem_eq(p + IP6_SRC, src, 16);
	ck_assert_mem_eq(p + IP6_DST, dst, 16);
	check_udp(STACK_AF_INET6, src, dst, p + IP6_HLEN, n - IP6_HLEN, s);
}

static size_t pull_one(void)
{
	size_t n;

	ck_assert_uint_eq(h_pending(&h), 1);
	n = h_pull(&h, out, sizeof(out));
	ck_assert_uint_gt(n, 0);
	return n;
}

/* Pull the IPv4 fragments of one datagram, check each header (RFC 791
 * §3.2) and put the payload together in dgram.  Returns its length. */
static size_t collect_frags4(unsigned nfrags, uint32_t mtu)
{
	size_t expect_off = 0;
	uint16_t id = 0;

	ck_assert_uint_eq(h_pending(&h), nfrags);
	for (unsigned i = 0; i < nfrags; i++) {
		size_t n = h_pull(&h, out, sizeof(out)), plen;
		uint16_t fr;

		ck_assert_uint_ge(n, IP4_HLEN + 8);
		ck_assert_uint_le(n, mtu);
		ck_assert_uint_eq(out[IP4_VER_IHL], 0x45);
		ck_assert_uint_eq(get16(out + IP4_TOTLEN), n);
		ck_assert_uint_eq(cksum_fold(cksum_add(0, out, IP4_HLEN)), 0xffff);
		ck_assert_uint_eq(out[IP4_PROTO], STACK_IPPROTO_UDP);
		ck_assert_uint_eq(out[IP4_TTL], OPT_IP_TTL);
		ck_assert_mem_eq(out + IP4_SRC, h.a4, 4);
		ck_assert_mem_eq(out + IP4_DST, h.p4, 4);
		if (i == 0)
			id = get16(out + IP4_ID);
		ck_assert_uint_eq(get16(out + IP4_ID), id);
		fr = get16(out + IP4_FRAG);
		ck_assert_uint_eq(fr & IP4_F_DF, 0);
		ck_assert_uint_eq((size_t)(fr & IP4_OFFMASK) * 8, expect_off);
		plen = n - IP4_HLEN;
		if (i + 1 < nfrags) {
			ck_assert_uint_ne(fr & IP4_F_MF, 0);
			ck_assert_uint_eq(plen % 8, 0);
		} else {
			ck_assert_uint_eq(fr & IP4_F_MF, 0);
		}
		memcpy(dgram + expect_off, out + IP4_HLEN, plen);
		expect_off += plen;
	}
	ck_assert_uint_eq(h_pending(&h), 0);
	return expect_off;
}

/* The same for IPv6 fragments (RFC 8200 §4.5). */
static size_t collect_frags6(unsigned nfrags, uint32_t mtu)
{
	size_t expect_off = 0;
	uint32_t id = 0;

	ck_assert_uint_eq(h_pending(&h), nfrags);
	for (unsigned i = 0; i < nfrags; i++) {
		size_t n = h_pull(&h, out, sizeof(out)), plen;
		const uint8_t *fh = out + IP6_HLEN;
		uint16_t offlg;

		ck_assert_uint_ge(n, IP6_HLEN + IP6_FRAG_HLEN + 8);
		ck_assert_uint_le(n, mtu);
		ck_assert_uint_eq(out[0] >> 4, 6);
		ck_assert_uint_eq(get16(out + IP6_PLEN), n - IP6_HLEN);
		ck_assert_uint_eq(out[IP6_NXT], IP6_NH_FRAGMENT);
		ck_assert_uint_eq(out[IP6_HLIM], OPT_IP6_HOPLIMIT);
		ck_assert_mem_eq(out + IP6_SRC, h.a6, 16);
		ck_assert_mem_eq(out + IP6_DST, h.p6, 16);
		ck_assert_uint_eq(fh[IP6_FRAG_NXT], STACK_IPPROTO_UDP);
		ck_assert_uint_eq(fh[1], 0);
		if (i == 0)
			id = get32(fh + IP6_FRAG_ID);
		ck_assert_uint_eq(get32(fh + IP6_FRAG_ID), id);
		offlg = get16(fh + IP6_FRAG_OFFLG);
		ck_assert_uint_eq(offlg & 0x0006, 0); /* reserved bits */
		ck_assert_uint_eq((size_t)(offlg & IP6_FRAG_OFFMASK), expect_off);
		plen = n - IP6_HLEN - IP6_FRAG_HLEN;
		if (i + 1 < nfrags) {
			ck_assert_uint_ne(offlg & IP6_FRAG_MF, 0);
			ck_assert_uint_eq(plen % 8, 0);
		} else {
			ck_assert_uint_eq(offlg & IP6_FRAG_MF, 0);
		}
		memcpy(dgram + expect_off, out + IP6_HLEN + IP6_FRAG_HLEN, plen);
		expect_off += plen;
	}
	ck_assert_uint_eq(h_pending(&h), 0);
	return expect_off;
}

/* ---- sending ------------------------------------------------------------ */

START_TEST(send4_unbound_autobinds)
{
	int e = ep_open(STACK_AF_INET);
	struct stack_sockaddr me;
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(ep_send(e, "hello", 5, H_PEER4, 7000), 5);
	n = pull_one();
	ck_assert_uint_eq(n, IP4_HLEN + UDP_HLEN + 5);
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
	/* ip_local_port_range 32768 60999 */
	ck_assert_uint_ge(s.sport, OPT_EPHEMERAL_LO);
	ck_assert_uint_le(s.sport, OPT_EPHEMERAL_HI);
	ck_assert_uint_eq(s.dport, 7000);
	ck_assert_uint_eq(s.dlen, 5);
	ck_assert_mem_eq(s.data, "hello", 5);
	/* PMTU discovery is on by default: DF on a packet that fits */
	ck_assert_uint_eq(get16(out + IP4_FRAG), IP4_F_DF);
	/* sendto binds the port only; the address stays the wildcard */
	me = sockname(e);
	assert_sa(&me, "0.0.0.0", s.sport);
	/* the next datagram keeps the port */
	ck_assert_int_eq(ep_send(e, "x", 1, H_PEER4, 7001), 1);
	n = pull_one();
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
	ck_assert_uint_eq(s.sport, me.port);
	ck_assert_uint_eq(s.dport, 7001);
	ck_assert_uint_eq(CTR(h.st, UDP).tx, 2);
}
END_TEST

START_TEST(send4_bound)
{
	int w = ep_bound(STACK_AF_INET, "0.0.0.0", 4000);
	int x = ep_bound(STACK_AF_INET, H_ADDR4, 4001);
	struct udp_seen s;
	size_t n;

	fill_pattern(data, 300, 1);
	ck_assert_int_eq(ep_send(w, data, 300, H_PEER4, 7000), 300);
	n = pull_one();
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
	ck_assert_uint_eq(s.sport, 4000);
	ck_assert_uint_eq(s.dport, 7000);
	ck_assert_uint_eq(s.dlen, 300);
	ck_assert_mem_eq(s.data, data, 300);

	/* a destination beyond the on-link prefix goes via the gateway,
	 * still from our address */
	ck_assert_int_eq(ep_send(x, data, 17, "198.51.100.7", 53), 17);
	n = pull_one();
	{
		struct stack_sockaddr far = h_sa("198.51.100.7", 0);

		check_ip4_udp(out, n, h.a4, far.addr, 64, &s);
	}
	ck_assert_uint_eq(s.sport, 4001);
	ck_assert_uint_eq(s.dport, 53);
	ck_assert_mem_eq(s.data, data, 17);
}
END_TEST

START_TEST(send6_unbound_autobinds)
{
	int e = ep_open(STACK_AF_INET6);
	struct stack_sockaddr me;
	struct udp_seen s;
	size_t n;

	fill_pattern(data, 100, 2);
	ck_assert_int_eq(ep_send(e, data, 100, H_PEER6, 7000), 100);
	n = pull_one();
	ck_assert_uint_eq(n, IP6_HLEN + UDP_HLEN + 100);
	check_ip6_udp(out, n, h.a6, h.p6, 64, &s);
	ck_assert_uint_ge(s.sport, OPT_EPHEMERAL_LO);
	ck_assert_uint_le(s.sport, OPT_EPHEMERAL_HI);
	ck_assert_uint_eq(s.dport, 7000);
	ck_assert_uint_eq(s.dlen, 100);
	ck_assert_mem_eq(s.data, data, 100);
	me = sockname(e);
	assert_sa(&me, "::", s.sport);
}
END_TEST

START_TEST(send6_bound)
{
	int e = ep_bound(STACK_AF_INET6, H_ADDR6, 4002);
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(ep_send(e, "abc", 3, H_PEER6, 7002), 3);
	n = pull_one();
	check_ip6_udp(out, n, h.a6, h.p6, 64, &s);
	ck_assert_uint_eq(s.sport, 4002);
	ck_assert_uint_eq(s.dport, 7002);
	ck_assert_mem_eq(s.data, "abc", 3);
}
END_TEST

START_TEST(send_gathers_iovecs)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 4003);
	struct iovec iov[3] = {
	    {.iov_base = "ab", .iov_len = 2},
	    {.iov_base = NULL, .iov_len = 0},
	    {.iov_base = "cdef", .iov_len = 4},
	};
	struct stack_sockaddr to = h_sa(H_PEER4, 7003);
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(stack_ep_sendto(h.st, e, iov, 3, 0, &to), 6);
	n = pull_one();
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
	ck_assert_uint_eq(s.dlen, 6);
	ck_assert_mem_eq(s.data, "abcdef", 6);
}
END_TEST

START_TEST(send_zero_length)
{
	int e4 = ep_bound(STACK_AF_INET, "0.0.0.0", 4004);
	int e6 = ep_bound(STACK_AF_INET6, "::", 4005);
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(ep_send(e4, "", 0, H_PEER4, 7004), 0);
	n = pull_one();
	ck_assert_uint_eq(n, IP4_HLEN + UDP_HLEN);
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
	ck_assert_uint_eq(s.dlen, 0);
	ck_assert_uint_eq(s.sport, 4004);

	ck_assert_int_eq(ep_send(e6, "", 0, H_PEER6, 7005), 0);
	n = pull_one();
	ck_assert_uint_eq(n, IP6_HLEN + UDP_HLEN);
	check_ip6_udp(out, n, h.a6, h.p6, 64, &s);
	ck_assert_uint_eq(s.dlen, 0);
	ck_assert_uint_eq(s.sport, 4005);
}
END_TEST

START_TEST(send_port_zero_einval)
{
	int e = ep_open(STACK_AF_INET);

	/* udp_sendmsg: a destination port of 0 is EINVAL */
	ck_assert_int_eq(ep_send(e, "x", 1, H_PEER4, 0), -EINVAL);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(ttl_option_v4)
{
	int e = ep_open(STACK_AF_INET);
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(opt_get(e, STACK_SOL_IP, STACK_IP_TTL), 64);
	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_TTL, 5), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IP, STACK_IP_TTL), 5);
	ck_assert_int_eq(ep_send(e, "t", 1, H_PEER4, 7000), 1);
	n = pull_one();
	check_ip4_udp(out, n, h.a4, h.p4, 5, &s);

	/* do_ip_setsockopt: 1..255, or -1 for the default */
	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_TTL, 0), -EINVAL);
	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_TTL, 256), -EINVAL);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IP, STACK_IP_TTL), 5);
	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_TTL, 255), 0);
	ck_assert_int_eq(ep_send(e, "t", 1, H_PEER4, 7000), 1);
	n = pull_one();
	check_ip4_udp(out, n, h.a4, h.p4, 255, &s);
	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_TTL, -1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IP, STACK_IP_TTL), 64);
	ck_assert_int_eq(ep_send(e, "t", 1, H_PEER4, 7000), 1);
	n = pull_one();
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
}
END_TEST

START_TEST(hops_option_v6)
{
	int e = ep_open(STACK_AF_INET6);
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_UNICAST_HOPS), 64);
	ck_assert_int_eq(opt_set(e, STACK_SOL_IPV6, STACK_IPV6_UNICAST_HOPS, 7), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_UNICAST_HOPS), 7);
	ck_assert_int_eq(ep_send(e, "t", 1, H_PEER6, 7000), 1);
	n = pull_one();
	check_ip6_udp(out, n, h.a6, h.p6, 7, &s);

	/* do_ipv6_setsockopt: -1..255; 0 is a legal hop limit */
	ck_assert_int_eq(opt_set(e, STACK_SOL_IPV6, STACK_IPV6_UNICAST_HOPS, 256), -EINVAL);
	ck_assert_int_eq(opt_set(e, STACK_SOL_IPV6, STACK_IPV6_UNICAST_HOPS, -2), -EINVAL);
	ck_assert_int_eq(opt_set(e, STACK_SOL_IPV6, STACK_IPV6_UNICAST_HOPS, -1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_UNICAST_HOPS), 64);
	ck_assert_int_eq(ep_send(e, "t", 1, H_PEER6, 7000), 1);
	n = pull_one();
	check_ip6_udp(out, n, h.a6, h.p6, 64, &s);
}
END_TEST

/* ---- receiving ---------------------------------------------------------- */

START_TEST(recv4_basic)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5000);

	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
	ck_assert_int_eq(stack_ep_pending(h.st, e), 0);
	assert_empty(e);

	inject_udp(H_PEER4, 7000, H_ADDR4, 5000, "payload", 7);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_IN | STACK_EV_OUT);
	ck_assert_int_eq(stack_ep_pending(h.st, e), 7);
	recv_check(e, "payload", 7, H_PEER4, 7000);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
	ck_assert_int_eq(stack_ep_pending(h.st, e), 0);
	assert_empty(e);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(CTR(h.st, UDP).rx, 1);
}
END_TEST

START_TEST(recv_pktinfo)
{
	int e = ep_bound(STACK_AF_INET6, "::", 5000);
	int one = 1, v = 0;
	size_t len = sizeof(v);
	struct stack_rcvinfo info;
	struct stack_sockaddr from, want;
	char buf[16];
	struct iovec iov = {buf, sizeof(buf)};

	/* IPV6_RECVPKTINFO and IP_PKTINFO are per-socket flags, read back */
	ck_assert_int_eq(stack_ep_setopt(h.st, e, STACK_SOL_IPV6, STACK_IPV6_RECVPKTINFO, &one,
					 sizeof(one)), 0);
	ck_assert_int_eq(stack_ep_getopt(h.st, e, STACK_SOL_IPV6, STACK_IPV6_RECVPKTINFO, &v, &len),
			 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(stack_ep_setopt(h.st, e, STACK_SOL_IP, STACK_IP_PKTINFO, &one, sizeof(one)),
			 0);
	/* each datagram says where it was addressed and where it came in */
	inject_udp(H_PEER6, 7000, H_ADDR6, 5000, "six", 3);
	inject_udp(H_PEER4, 7000, H_ADDR4, 5000, "four", 4);
	ck_assert_int_eq(stack_ep_recvmsg(h.st, e, &iov, 1, 0, &from, &info, NULL), 3);
	ck_assert_int_eq(stack_addr_parse(H_ADDR6, &want), 0);
	ck_assert_uint_eq(info.dst.family, STACK_AF_INET6);
	ck_assert_mem_eq(info.dst.addr, want.addr, 16);
	ck_assert_int_eq(info.ifindex, h.ifindex);
	ck_assert_int_eq(stack_ep_recvmsg(h.st, e, &iov, 1, 0, &from, &info, NULL), 4);
	ck_assert_int_eq(stack_addr_parse(H_ADDR4, &want), 0);
	ck_assert_uint_eq(info.dst.family, STACK_AF_INET);
	ck_assert_mem_eq(info.dst.addr, want.addr, 4);
}
END_TEST

START_TEST(recv6_basic)
{
	int e = ep_bound(STACK_AF_INET6, "::", 5000);

	fill_pattern(data, 1000, 3);
	inject_udp(H_PEER6, 7000, H_ADDR6, 5000, data, 1000);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_IN | STACK_EV_OUT);
	ck_assert_int_eq(stack_ep_pending(h.st, e), 1000);
	recv_check(e, data, 1000, H_PEER6, 7000);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
	assert_empty(e);
}
END_TEST

START_TEST(recv_fifo_and_pending)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5001);

	inject_udp(H_PEER4, 7000, H_ADDR4, 5001, "first", 5);
	inject_udp(H_PEER4, 7001, H_ADDR4, 5001, "second!", 7);
	/* FIONREAD: the size of the next datagram, not the queue */
	ck_assert_int_eq(stack_ep_pending(h.st, e), 5);
	recv_check(e, "first", 5, H_PEER4, 7000);
	ck_assert_int_eq(stack_ep_pending(h.st, e), 7);
	recv_check(e, "second!", 7, H_PEER4, 7001);
	assert_empty(e);
}
END_TEST

START_TEST(recv_peek)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5002);
	struct stack_sockaddr from;
	int mf = -1;

	inject_udp(H_PEER4, 7000, H_ADDR4, 5002, "peekaboo", 8);
	ck_assert_int_eq(ep_recv(e, rbuf, sizeof(rbuf), STACK_MSG_PEEK, &from, &mf), 8);
	ck_assert_mem_eq(rbuf, "peekaboo", 8);
	ck_assert_int_eq(mf, 0);
	assert_sa(&from, H_PEER4, 7000);
	/* still there */
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_IN | STACK_EV_OUT);
	ck_assert_int_eq(stack_ep_pending(h.st, e), 8);
	/* a short peek reports the cut too, and still leaves it */
	ck_assert_int_eq(ep_recv(e, rbuf, 3, STACK_MSG_PEEK, NULL, &mf), 3);
	ck_assert_int_eq(mf, STACK_MSG_TRUNC);
	recv_check(e, "peekaboo", 8, H_PEER4, 7000);
	assert_empty(e);
}
END_TEST

START_TEST(recv_truncation)
{
	int e = ep_bound(STACK_AF_INET6, "::", 5003);
	int mf = -1;

	inject_udp(H_PEER6, 7000, H_ADDR6, 5003, "0123456789", 10);
	inject_udp(H_PEER6, 7000, H_ADDR6, 5003, "abcdefghij", 10);
	memset(rbuf, 0, 16);
	ck_assert_int_eq(ep_recv(e, rbuf, 4, 0, NULL, &mf), 4);
	ck_assert_int_eq(mf, STACK_MSG_TRUNC);
	ck_assert_mem_eq(rbuf, "0123", 4);
	ck_assert_uint_eq(rbuf[4], 0);
	/* the rest of a cut datagram is gone: the next read is the next one */
	ck_assert_int_eq(stack_ep_pending(h.st, e), 10);

	/* MSG_TRUNC: the datagram's real length is returned */
	memset(rbuf, 0, 16);
	ck_assert_int_eq(ep_recv(e, rbuf, 4, STACK_MSG_TRUNC, NULL, &mf), 10);
	ck_assert_int_eq(mf, STACK_MSG_TRUNC);
	ck_assert_mem_eq(rbuf, "abcd", 4);
	ck_assert_uint_eq(rbuf[4], 0);
	assert_empty(e);

	/* a buffer that fits: no flag, with or without MSG_TRUNC */
	inject_udp(H_PEER6, 7000, H_ADDR6, 5003, "xyz", 3);
	ck_assert_int_eq(ep_recv(e, rbuf, 100, STACK_MSG_TRUNC, NULL, &mf), 3);
	ck_assert_int_eq(mf, 0);
}
END_TEST

START_TEST(recv_zero_length)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5004);

	inject_udp(H_PEER4, 7000, H_ADDR4, 5004, "", 0);
	/* an empty datagram is readable and reads as 0 bytes */
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_IN | STACK_EV_OUT);
	ck_assert_int_eq(stack_ep_pending(h.st, e), 0);
	recv_check(e, "", 0, H_PEER4, 7000);
	ck_assert_uint_eq(stack_ep_events(h.st, e), STACK_EV_OUT);
	assert_empty(e);
}
END_TEST

START_TEST(recv_changed_reports_handle)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5005);
	int other = ep_bound(STACK_AF_INET, "0.0.0.0", 5006);
	int hs[8];

	while (stack_ep_changed(h.st, hs, 8) > 0)
		;
	inject_udp(H_PEER4, 7000, H_ADDR4, 5005, "a", 1);
	inject_udp(H_PEER4, 7000, H_ADDR4, 5005, "b", 1);
	/* reported once, however many datagrams arrived */
	ck_assert_int_eq(stack_ep_changed(h.st, hs, 8), 1);
	ck_assert_int_eq(hs[0], e);
	ck_assert_int_eq(stack_ep_changed(h.st, hs, 8), 0);
	/* reading changes readiness too */
	recv_check(e, "a", 1, H_PEER4, 7000);
	recv_check(e, "b", 1, H_PEER4, 7000);
	ck_assert_int_eq(stack_ep_changed(h.st, hs, 8), 1);
	ck_assert_int_eq(hs[0], e);
	(void)other;
}
END_TEST

/* ---- demultiplexing ---------------------------------------------------- */

START_TEST(demux_exact_beats_wildcard_v4)
{
	int exact, wild;

	/* bound in both orders: the score decides, not the order */
	exact = ep_open(STACK_AF_INET);
	wild = ep_open(STACK_AF_INET);
	ck_assert_int_eq(opt_set(exact, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
	ck_assert_int_eq(opt_set(wild, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
	ck_assert_int_eq(ep_bind(exact, H_ADDR4, 5100), 0);
	ck_assert_int_eq(ep_bind(wild, "0.0.0.0", 5100), 0);
	inject_udp(H_PEER4, 7000, H_ADDR4, 5100, "to-exact", 8);
	recv_check(exact, "to-exact", 8, H_PEER4, 7000);
	assert_empty(wild);
	/* 127.0.0.1 is local too, but only the wildcard covers it */
	{
		int s = ep_open(STACK_AF_INET);

		ck_assert_int_eq(ep_send(s, "lo", 2, "127.0.0.1", 5100), 2);
		recv_check(wild, "lo", 2, "127.0.0.1", sockname(s).port);
		assert_empty(exact);
	}
}
END_TEST

START_TEST(demux_exact_beats_wildcard_v6)
{
	int wild = ep_open(STACK_AF_INET6);
	int exact = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(opt_set(exact, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
	ck_assert_int_eq(opt_set(wild, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
	ck_assert_int_eq(ep_bind(wild, "::", 5101), 0);
	ck_assert_int_eq(ep_bind(exact, H_ADDR6, 5101), 0);
	inject_udp(H_PEER6, 7000, H_ADDR6, 5101, "six", 3);
	recv_check(exact, "six", 3, H_PEER6, 7000);
	assert_empty(wild);
}
END_TEST

START_TEST(demux_connected_beats_unconnected)
{
	int conn = ep_open(STACK_AF_INET);
	int any = ep_open(STACK_AF_INET);

	ck_assert_int_eq(opt_set(conn, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
	ck_assert_int_eq(opt_set(any, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
	ck_assert_int_eq(ep_bind(conn, "0.0.0.0", 5102), 0);
	ck_assert_int_eq(ep_connect(conn, H_PEER4, 7000), 0);
	ck_assert_int_eq(ep_bind(any, "0.0.0.0", 5102), 0); /* bound later */

	inject_udp(H_PEER4, 7000, H_ADDR4, 5102, "peer", 4);
	recv_check(conn, "peer", 4, H_PEER4, 7000);
	assert_empty(any);
	/* another source port is not the connected peer */
	inject_udp(H_PEER4, 7001, H_ADDR4, 5102, "other", 5);
	recv_check(any, "other", 5, H_PEER4, 7001);
	assert_empty(conn);
}
END_TEST

START_TEST(demux_connected_filters_peers)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5103);

	ck_assert_int_eq(ep_connect(e, H_PEER4, 7000), 0);
	inject_udp(H_PEER4, 7001, H_ADDR4, 5103, "wrong port", 10);
	inject_udp("198.51.100.7", 7000, H_ADDR4, 5103, "wrong addr", 10);
	assert_empty(e);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_NO_PORT), 2);
	inject_udp(H_PEER4, 7000, H_ADDR4, 5103, "right", 5);
	recv_check(e, "right", 5, H_PEER4, 7000);
	assert_empty(e);

	/* IPv6 likewise */
	{
		int e6 = ep_bound(STACK_AF_INET6, "::", 5104);

		ck_assert_int_eq(ep_connect(e6, H_PEER6, 7000), 0);
		inject_udp("2001:db8::77", 7000, H_ADDR6, 5104, "no", 2);
		inject_udp(H_PEER6, 7001, H_ADDR6, 5104, "no", 2);
		assert_empty(e6);
		inject_udp(H_PEER6, 7000, H_ADDR6, 5104, "yes", 3);
		recv_check(e6, "yes", 3, H_PEER6, 7000);
	}
}
END_TEST

START_TEST(dualstack_receives_v4_mapped)
{
	int e = ep_bound(STACK_AF_INET6, "::", 5200);
	struct stack_sockaddr from;
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_V6ONLY), 0);
	inject_udp(H_PEER4, 7000, H_ADDR4, 5200, "via v4", 6);
	ck_assert_int_eq(ep_recv(e, rbuf, sizeof(rbuf), 0, &from, NULL), 6);
	ck_assert_mem_eq(rbuf, "via v4", 6);
	assert_sa(&from, "::ffff:192.0.2.1", 7000);
	/* still carries IPv6 */
	inject_udp(H_PEER6, 7000, H_ADDR6, 5200, "via v6", 6);
	recv_check(e, "via v6", 6, H_PEER6, 7000);

	/* the answer to a mapped address leaves as IPv4 */
	ck_assert_int_eq(ep_send(e, "reply", 5, "::ffff:192.0.2.1", 7000), 5);
	n = pull_one();
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
	ck_assert_uint_eq(s.sport, 5200);
	ck_assert_uint_eq(s.dport, 7000);
	ck_assert_mem_eq(s.data, "reply", 5);
}
END_TEST

START_TEST(v6only_refuses_v4)
{
	int e = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(opt_set(e, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, 1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_V6ONLY), 1);
	ck_assert_int_eq(ep_bind(e, "::", 5201), 0);
	inject_udp(H_PEER4, 7000, H_ADDR4, 5201, "v4", 2);
	assert_empty(e);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_NO_PORT), 1);
	ck_assert_uint_eq(h_pending(&h), 1); /* the port is closed to IPv4 */
	h_drain(&h);
	inject_udp(H_PEER6, 7000, H_ADDR6, 5201, "v6", 2);
	recv_check(e, "v6", 2, H_PEER6, 7000);
	/* and it cannot send to IPv4 either */
	/* udpv6_sendmsg: a mapped destination on a V6ONLY endpoint */
	ck_assert_int_eq(ep_send(e, "x", 1, "::ffff:192.0.2.1", 7000), -ENETUNREACH);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(v4_and_v6only_coexist)
{
	int six = ep_open(STACK_AF_INET6), four, six2, four2;

	ck_assert_int_eq(opt_set(six, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, 1), 0);
	ck_assert_int_eq(ep_bind(six, "::", 5202), 0);
	four = ep_bound(STACK_AF_INET, "0.0.0.0", 5202);
	/* the other order */
	four2 = ep_bound(STACK_AF_INET, "0.0.0.0", 5203);
	six2 = ep_open(STACK_AF_INET6);
	ck_assert_int_eq(opt_set(six2, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, 1), 0);
	ck_assert_int_eq(ep_bind(six2, "::", 5203), 0);

	inject_udp(H_PEER4, 7000, H_ADDR4, 5202, "four", 4);
	inject_udp(H_PEER6, 7000, H_ADDR6, 5202, "six", 3);
	recv_check(four, "four", 4, H_PEER4, 7000);
	recv_check(six, "six", 3, H_PEER6, 7000);
	assert_empty(four);
	assert_empty(six);
	inject_udp(H_PEER6, 7000, H_ADDR6, 5203, "six", 3);
	inject_udp(H_PEER4, 7000, H_ADDR4, 5203, "four", 4);
	recv_check(four2, "four", 4, H_PEER4, 7000);
	recv_check(six2, "six", 3, H_PEER6, 7000);
}
END_TEST

/* ---- binding ------------------------------------------------------------ */

START_TEST(bind_same_port_in_use)
{
	int a = ep_bound(STACK_AF_INET, "0.0.0.0", 5300);
	int b = ep_open(STACK_AF_INET);
	int c = ep_bound(STACK_AF_INET6, "::", 5301);
	int d = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(ep_bind(b, "0.0.0.0", 5300), -EADDRINUSE);
	/* a wildcard overlaps a specific address (match_wildcard) */
	ck_assert_int_eq(ep_bind(b, H_ADDR4, 5300), -EADDRINUSE);
	ck_assert_int_eq(ep_bind(d, "::", 5301), -EADDRINUSE);
	ck_assert_int_eq(ep_bind(d, H_ADDR6, 5301), -EADDRINUSE);
	/* a failed bind leaves the endpoint unbound */
	ck_assert_int_eq(sockname(b).port, 0);
	ck_assert_int_eq(ep_bind(b, "0.0.0.0", 5302), 0);
	ck_assert_int_eq(ep_bind(d, "::", 5303), 0);
	/* two distinct specific addresses share a port */
	{
		int x = ep_bound(STACK_AF_INET, "127.0.0.1", 5304);
		int y = ep_bound(STACK_AF_INET, H_ADDR4, 5304);

		inject_udp(H_PEER4, 7000, H_ADDR4, 5304, "y", 1);
		recv_check(y, "y", 1, H_PEER4, 7000);
		assert_empty(x);
	}
	/* once closed, the port is free again */
	ck_assert_int_eq(stack_ep_close(h.st, a), 0);
	a = ep_bound(STACK_AF_INET, "0.0.0.0", 5300);
	(void)c;
}
END_TEST

START_TEST(bind_reuseaddr)
{
	int a = ep_open(STACK_AF_INET), b = ep_open(STACK_AF_INET), c = ep_open(STACK_AF_INET);

	ck_assert_int_eq(opt_set(a, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
	ck_assert_int_eq(opt_get(a, STACK_SOL_SOCKET, STACK_SO_REUSEADDR), 1);
	ck_assert_int_eq(opt_set(b, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
	ck_assert_int_eq(ep_bind(a, "0.0.0.0", 5310), 0);
	ck_assert_int_eq(ep_bind(b, "0.0.0.0", 5310), 0);
	/* both sides must ask for it */
	ck_assert_int_eq(ep_bind(c, "0.0.0.0", 5310), -EADDRINUSE);
	ck_assert_int_eq(opt_set(c, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
	ck_assert_int_eq(ep_bind(c, "0.0.0.0", 5310), 0);
	{
		int d = ep_bound(STACK_AF_INET, "0.0.0.0", 5311);
		int x = ep_open(STACK_AF_INET);

		ck_assert_int_eq(opt_set(x, STACK_SOL_SOCKET, STACK_SO_REUSEADDR, 1), 0);
		ck_assert_int_eq(ep_bind(x, "0.0.0.0", 5311), -EADDRINUSE);
		(void)d;
	}
}
END_TEST

START_TEST(bind_reuseport_spreads)
{
	enum { NSRC = 64 };
	int ep[2] = {ep_open(STACK_AF_INET), ep_open(STACK_AF_INET)};
	int owner[NSRC], count[2] = {0, 0};
	int plain = ep_open(STACK_AF_INET);

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(opt_set(ep[i], STACK_SOL_SOCKET, STACK_SO_REUSEPORT, 1), 0);
		ck_assert_int_eq(opt_get(ep[i], STACK_SOL_SOCKET, STACK_SO_REUSEPORT), 1);
		ck_assert_int_eq(ep_bind(ep[i], "0.0.0.0", 5320), 0);
	}
	/* an endpoint without the option cannot join */
	ck_assert_int_eq(ep_bind(plain, "0.0.0.0", 5320), -EADDRINUSE);

	for (int i = 0; i < NSRC; i++) {
		uint8_t b = (uint8_t)i;

		inject_udp(H_PEER4, (uint16_t)(10000 + i), H_ADDR4, 5320, &b, 1);
	}
	for (int k = 0; k < 2; k++) {
		struct stack_sockaddr from;

		while (ep_recv(ep[k], rbuf, sizeof(rbuf), 0, &from, NULL) == 1) {
			ck_assert_uint_eq(from.port, 10000 + rbuf[0]);
			owner[rbuf[0]] = k;
			count[k]++;
		}
	}
	ck_assert_int_eq(count[0] + count[1], NSRC);
	ck_assert_int_gt(count[0], 0);
	ck_assert_int_gt(count[1], 0);
	/* a flow keeps going to the same member */
	for (int i = 0; i < NSRC; i++) {
		uint8_t b = (uint8_t)i;

		inject_udp(H_PEER4, (uint16_t)(10000 + i), H_ADDR4, 5320, &b, 1);
		ck_assert_int_eq(ep_recv(ep[owner[i]], rbuf, sizeof(rbuf), 0, NULL, NULL), 1);
		ck_assert_uint_eq(rbuf[0], i);
	}
	assert_empty(ep[0]);
	assert_empty(ep[1]);
}
END_TEST

START_TEST(bind_dualstack_vs_v4_conflict)
{
	int six = ep_bound(STACK_AF_INET6, "::", 5330);
	int four = ep_open(STACK_AF_INET);

	/* a dual-stack wildcard covers every IPv4 address (ipv6_rcv_saddr_equal) */
	ck_assert_int_eq(ep_bind(four, "0.0.0.0", 5330), -EADDRINUSE);
	ck_assert_int_eq(ep_bind(four, H_ADDR4, 5330), -EADDRINUSE);
	/* the other order */
	ck_assert_int_eq(ep_bind(four, "0.0.0.0", 5331), 0);
	{
		int six2 = ep_open(STACK_AF_INET6);

		ck_assert_int_eq(ep_bind(six2, "::", 5331), -EADDRINUSE);
		/* with V6ONLY it carries no IPv4 and does not conflict */
		ck_assert_int_eq(opt_set(six2, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, 1), 0);
		ck_assert_int_eq(ep_bind(six2, "::", 5331), 0);
	}
	(void)six;
}
END_TEST

START_TEST(bind_nonlocal)
{
	int e4 = ep_open(STACK_AF_INET), e6 = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(ep_bind(e4, "192.0.2.99", 5340), -EADDRNOTAVAIL);
	ck_assert_int_eq(ep_bind(e4, "203.0.113.1", 0), -EADDRNOTAVAIL);
	ck_assert_int_eq(ep_bind(e6, "2001:db8::99", 5340), -EADDRNOTAVAIL);
	/* still unbound: a good address works afterwards */
	ck_assert_int_eq(sockname(e4).port, 0);
	ck_assert_int_eq(ep_bind(e4, H_ADDR4, 5340), 0);
	ck_assert_int_eq(ep_bind(e6, H_ADDR6, 5340), 0);
}
END_TEST

START_TEST(bind_twice)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5350);
	int a = ep_open(STACK_AF_INET6);
	struct stack_sockaddr me;

	/* inet_bind: already has a port */
	ck_assert_int_eq(ep_bind(e, "0.0.0.0", 5351), -EINVAL);
	ck_assert_int_eq(ep_bind(e, "0.0.0.0", 5350), -EINVAL);
	me = sockname(e);
	assert_sa(&me, "0.0.0.0", 5350);
	/* an implicit bind counts as well */
	ck_assert_int_eq(ep_send(a, "x", 1, H_PEER6, 7000), 1);
	ck_assert_int_eq(ep_bind(a, "::", 5352), -EINVAL);
}
END_TEST

START_TEST(bind_wrong_family)
{
	int e4 = ep_open(STACK_AF_INET), e6 = ep_open(STACK_AF_INET6);

	/* __inet_bind: sin_family != AF_INET */
	ck_assert_int_eq(ep_bind(e4, "::", 5360), -EAFNOSUPPORT);
	ck_assert_int_eq(ep_bind(e4, H_ADDR6, 5360), -EAFNOSUPPORT);
	/* V6ONLY refuses a mapped address (__inet6_bind) */
	ck_assert_int_eq(opt_set(e6, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, 1), 0);
	ck_assert_int_eq(ep_bind(e6, "::ffff:192.0.2.2", 5360), -EINVAL);
	ck_assert_int_eq(ep_bind(e4, H_ADDR4, 5360), 0);
}
END_TEST

/* __inet_bind: "Compatibility games: accept AF_UNSPEC (mapped to AF_INET)
 * only if s_addr is INADDR_ANY". */
START_TEST(bind_unspec_any_v4)
{
	int e = ep_open(STACK_AF_INET);
	struct stack_sockaddr a, me;

	memset(&a, 0, sizeof(a));
	a.family = STACK_AF_UNSPEC;
	a.port = 5365;
	ck_assert_int_eq(stack_ep_bind(h.st, e, &a), 0);
	me = sockname(e);
	assert_sa(&me, "0.0.0.0", 5365);
	/* not with another address */
	{
		int f = ep_open(STACK_AF_INET);

		a.addr[0] = 192;
		a.addr[1] = 0;
		a.addr[2] = 2;
		a.addr[3] = 2;
		a.port = 5366;
		ck_assert_int_eq(stack_ep_bind(h.st, f, &a), -EAFNOSUPPORT);
	}
}
END_TEST

START_TEST(v6only_after_bind)
{
	int e = ep_bound(STACK_AF_INET6, "::", 5370);
	int f = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(opt_set(e, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, 1), -EINVAL);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IPV6, STACK_IPV6_V6ONLY), 0);
	/* after an implicit bind too */
	ck_assert_int_eq(ep_send(f, "x", 1, H_PEER6, 7000), 1);
	ck_assert_int_eq(opt_set(f, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, 1), -EINVAL);
}
END_TEST

/* ---- connect / disconnect ---------------------------------------------- */

START_TEST(connect_names_v4)
{
	int e = ep_open(STACK_AF_INET);
	struct stack_sockaddr me, peer;
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(stack_ep_getpeername(h.st, e, &peer), -ENOTCONN);
	ck_assert_int_eq(ep_connect(e, H_PEER4, 7000), 0);
	me = sockname(e);
	/* ip4_datagram_connect: the route chooses the local address */
	ck_assert_uint_ge(me.port, OPT_EPHEMERAL_LO);
	ck_assert_uint_le(me.port, OPT_EPHEMERAL_HI);
	assert_sa(&me, H_ADDR4, me.port);
	ck_assert_int_eq(stack_ep_getpeername(h.st, e, &peer), 0);
	assert_sa(&peer, H_PEER4, 7000);
	ck_assert_uint_eq(h_pending(&h), 0); /* connect sends nothing */

	ck_assert_int_eq(ep_send(e, "conn", 4, NULL, 0), 4);
	n = pull_one();
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
	ck_assert_uint_eq(s.sport, me.port);
	ck_assert_uint_eq(s.dport, 7000);
	ck_assert_mem_eq(s.data, "conn", 4);
	/* a connected endpoint may still name a destination */
	ck_assert_int_eq(ep_send(e, "else", 4, H_PEER4, 7777), 4);
	n = pull_one();
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
	ck_assert_uint_eq(s.dport, 7777);
}
END_TEST

START_TEST(connect_names_v6)
{
	int e = ep_open(STACK_AF_INET6);
	struct stack_sockaddr me, peer;
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(ep_connect(e, H_PEER6, 7000), 0);
	me = sockname(e);
	assert_sa(&me, H_ADDR6, me.port);
	ck_assert_uint_ge(me.port, OPT_EPHEMERAL_LO);
	ck_assert_uint_le(me.port, OPT_EPHEMERAL_HI);
	ck_assert_int_eq(stack_ep_getpeername(h.st, e, &peer), 0);
	assert_sa(&peer, H_PEER6, 7000);
	ck_assert_int_eq(ep_send(e, "conn6", 5, NULL, 0), 5);
	n = pull_one();
	check_ip6_udp(out, n, h.a6, h.p6, 64, &s);
	ck_assert_uint_eq(s.sport, me.port);
	ck_assert_uint_eq(s.dport, 7000);
}
END_TEST

START_TEST(send_needs_destination)
{
	int e4 = ep_bound(STACK_AF_INET, "0.0.0.0", 5400);
	int e6 = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(ep_send(e4, "x", 1, NULL, 0), -EDESTADDRREQ);
	ck_assert_int_eq(ep_send(e6, "x", 1, NULL, 0), -EDESTADDRREQ);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(disconnect_resets_implicit)
{
	int e = ep_open(STACK_AF_INET);
	struct stack_sockaddr me, peer;
	uint16_t port;

	ck_assert_int_eq(ep_connect(e, H_PEER4, 7000), 0);
	port = sockname(e).port;
	ck_assert_int_eq(ep_disconnect(e), 0);
	ck_assert_int_eq(stack_ep_getpeername(h.st, e, &peer), -ENOTCONN);
	/* __udp_disconnect: neither address nor port was bound by the user */
	me = sockname(e);
	assert_sa(&me, "0.0.0.0", 0);
	ck_assert_int_eq(ep_send(e, "x", 1, NULL, 0), -EDESTADDRREQ);
	/* the port was released: another endpoint may take it */
	{
		int o = ep_bound(STACK_AF_INET, "0.0.0.0", port);

		(void)o;
	}
	/* IPv6 likewise */
	{
		int e6 = ep_open(STACK_AF_INET6);

		ck_assert_int_eq(ep_connect(e6, H_PEER6, 7000), 0);
		ck_assert_int_eq(ep_disconnect(e6), 0);
		ck_assert_int_eq(stack_ep_getpeername(h.st, e6, &peer), -ENOTCONN);
		me = sockname(e6);
		assert_sa(&me, "::", 0);
	}
}
END_TEST

START_TEST(disconnect_keeps_explicit)
{
	int p = ep_bound(STACK_AF_INET, "0.0.0.0", 5410);
	int a = ep_bound(STACK_AF_INET, H_ADDR4, 5411);
	int a6 = ep_bound(STACK_AF_INET6, H_ADDR6, 5412);
	struct stack_sockaddr me;

	ck_assert_int_eq(ep_connect(p, H_PEER4, 7000), 0);
	me = sockname(p);
	assert_sa(&me, H_ADDR4, 5410);
	ck_assert_int_eq(ep_disconnect(p), 0);
	/* the port was the user's, the address was not */
	me = sockname(p);
	assert_sa(&me, "0.0.0.0", 5410);
	/* and it hears everyone again */
	inject_udp("198.51.100.7", 9999, H_ADDR4, 5410, "any", 3);
	recv_check(p, "any", 3, "198.51.100.7", 9999);

	ck_assert_int_eq(ep_connect(a, H_PEER4, 7000), 0);
	ck_assert_int_eq(ep_disconnect(a), 0);
	me = sockname(a);
	assert_sa(&me, H_ADDR4, 5411);

	ck_assert_int_eq(ep_connect(a6, H_PEER6, 7000), 0);
	ck_assert_int_eq(ep_disconnect(a6), 0);
	me = sockname(a6);
	assert_sa(&me, H_ADDR6, 5412);
}
END_TEST

/* ip4_datagram_connect: a broadcast route without SO_BROADCAST is EACCES. */
START_TEST(connect_broadcast_needs_option)
{
	int e = ep_open(STACK_AF_INET);

	ck_assert_int_eq(ep_connect(e, "192.0.2.255", 7000), -EACCES);
	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_BROADCAST, 1), 0);
	ck_assert_int_eq(ep_connect(e, "192.0.2.255", 7000), 0);
}
END_TEST

/* ---- size limits -------------------------------------------------------- */

START_TEST(max_datagram_v4)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5500);
	size_t max = OPT_UDP4_MAX_PAYLOAD, total;
	unsigned nfrags = (unsigned)((UDP_HLEN + max + 1479) / 1480);
	struct udp_seen s;

	ck_assert_uint_eq(max, 65535 - 20 - 8);
	fill_pattern(data, max + 1, 4);
	ck_assert_int_eq(ep_send(e, data, max + 1, H_PEER4, 7000), -EMSGSIZE);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_int_eq(ep_send(e, data, max, H_PEER4, 7000), (ssize_t)max);
	ck_assert_uint_eq(nfrags, 45);
	total = collect_frags4(nfrags, 1500);
	ck_assert_uint_eq(total, UDP_HLEN + max);
	check_udp(STACK_AF_INET, h.a4, h.p4, dgram, total, &s);
	ck_assert_uint_eq(s.sport, 5500);
	ck_assert_uint_eq(s.dport, 7000);
	ck_assert_uint_eq(s.dlen, max);
	ck_assert_mem_eq(s.data, data, max);
}
END_TEST

START_TEST(max_datagram_v6)
{
	int e = ep_bound(STACK_AF_INET6, "::", 5501);
	size_t max = OPT_UDP6_MAX_PAYLOAD, total;
	unsigned nfrags = (unsigned)((UDP_HLEN + max + 1447) / 1448);
	struct udp_seen s;

	ck_assert_uint_eq(max, 65535 - 8);
	fill_pattern(data, max + 1, 5);
	ck_assert_int_eq(ep_send(e, data, max + 1, H_PEER6, 7000), -EMSGSIZE);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_int_eq(ep_send(e, data, max, H_PEER6, 7000), (ssize_t)max);
	ck_assert_uint_eq(nfrags, 46);
	total = collect_frags6(nfrags, 1500);
	ck_assert_uint_eq(total, UDP_HLEN + max);
	check_udp(STACK_AF_INET6, h.a6, h.p6, dgram, total, &s);
	ck_assert_uint_eq(s.sport, 5501);
	ck_assert_uint_eq(s.dport, 7000);
	ck_assert_uint_eq(s.dlen, max);
	ck_assert_mem_eq(s.data, data, max);
}
END_TEST

START_TEST(pmtudisc_do_v4)
{
	int e = ep_open(STACK_AF_INET);
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(opt_get(e, STACK_SOL_IP, STACK_IP_MTU_DISCOVER), STACK_IP_PMTUDISC_WANT);
	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_MTU_DISCOVER, STACK_IP_PMTUDISC_DO), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_IP, STACK_IP_MTU_DISCOVER), STACK_IP_PMTUDISC_DO);
	fill_pattern(data, 1473, 6);
	/* 20 + 8 + 1473 = 1501 > 1500: may not be fragmented */
	ck_assert_int_eq(ep_send(e, data, 1473, H_PEER4, 7000), -EMSGSIZE);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_int_eq(ep_send(e, data, 1472, H_PEER4, 7000), 1472);
	n = pull_one();
	ck_assert_uint_eq(n, 1500);
	check_ip4_udp(out, n, h.a4, h.p4, 64, &s);
	ck_assert_uint_eq(get16(out + IP4_FRAG), IP4_F_DF);
	ck_assert_mem_eq(s.data, data, 1472);
	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_MTU_DISCOVER, 6), -EINVAL);
}
END_TEST

START_TEST(pmtudisc_do_v6)
{
	int e = ep_open(STACK_AF_INET6);
	struct udp_seen s;
	size_t n;

	ck_assert_int_eq(opt_set(e, STACK_SOL_IPV6, STACK_IPV6_MTU_DISCOVER, STACK_IP_PMTUDISC_DO),
			 0);
	fill_pattern(data, 1453, 7);
	ck_assert_int_eq(ep_send(e, data, 1453, H_PEER6, 7000), -EMSGSIZE);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_int_eq(ep_send(e, data, 1452, H_PEER6, 7000), 1452);
	n = pull_one();
	ck_assert_uint_eq(n, 1500);
	check_ip6_udp(out, n, h.a6, h.p6, 64, &s);
	/* by default a datagram over the MTU is fragmented by the source */
	ck_assert_int_eq(
	    opt_set(e, STACK_SOL_IPV6, STACK_IPV6_MTU_DISCOVER, STACK_IP_PMTUDISC_WANT), 0);
	ck_assert_int_eq(ep_send(e, data, 1453, H_PEER6, 7000), 1453);
	ck_assert_uint_eq(h_pending(&h), 2);
}
END_TEST

START_TEST(df_bit_v4)
{
	int e = ep_open(STACK_AF_INET);
	size_t total;
	struct udp_seen s;

	fill_pattern(data, 3000, 8);
	/* WANT (the default): DF on what fits, fragments without DF */
	ck_assert_int_eq(ep_send(e, data, 1000, H_PEER4, 7000), 1000);
	pull_one();
	ck_assert_uint_eq(get16(out + IP4_FRAG), IP4_F_DF);
	ck_assert_int_eq(ep_send(e, data, 3000, H_PEER4, 7000), 3000);
	total = collect_frags4(3, 1500);
	check_udp(STACK_AF_INET, h.a4, h.p4, dgram, total, &s);
	ck_assert_mem_eq(s.data, data, 3000);
	/* DONT: never DF */
	ck_assert_int_eq(opt_set(e, STACK_SOL_IP, STACK_IP_MTU_DISCOVER, STACK_IP_PMTUDISC_DONT),
			 0);
	ck_assert_int_eq(ep_send(e, data, 1000, H_PEER4, 7000), 1000);
	pull_one();
	ck_assert_uint_eq(get16(out + IP4_FRAG), 0);
}
END_TEST

/* ---- receive checks ----------------------------------------------------- */

/* Build (not inject) a UDP datagram from the peer into pkt; returns the
 * packet length and sets *u to the UDP header inside it. */
static size_t build_peer_udp(int family, uint16_t dport, const void *d, size_t n, uint8_t **u)
{
	uint8_t tmp[2048];
	size_t ulen;

	if (family == STACK_AF_INET) {
		ulen = build_udp(tmp, family, h.p4, h.a4, 7000, dport, d, n);
		*u = pkt + IP4_HLEN;
		return build_ip4(pkt, h.p4, h.a4, STACK_IPPROTO_UDP, tmp, ulen, 0x4321, 0, 64);
	}
	ulen = build_udp(tmp, family, h.p6, h.a6, 7000, dport, d, n);
	*u = pkt + IP6_HLEN;
	return build_ip6(pkt, h.p6, h.a6, STACK_IPPROTO_UDP, tmp, ulen, 64);
}

START_TEST(rx_csum_zero_v4_accepted)
{
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5600);
	uint8_t *u;
	size_t n = build_peer_udp(STACK_AF_INET, 5600, "nosum", 5, &u);

	/* RFC 768: zero means the sender computed none */
	put16(u + UDP_CSUM, 0);
	h_inject(&h, pkt, n);
	recv_check(e, "nosum", 5, H_PEER4, 7000);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_BAD_CSUM), 0);
}
END_TEST

START_TEST(rx_bad_csum_dropped)
{
	int e4 = ep_bound(STACK_AF_INET, "0.0.0.0", 5601);
	int e6 = ep_bound(STACK_AF_INET6, "::", 5611);
	uint8_t *u;
	size_t n;

	n = build_peer_udp(STACK_AF_INET, 5601, "corrupt", 7, &u);
	u[UDP_HLEN + 2] ^= 0x01;
	h_inject(&h, pkt, n);
	assert_empty(e4);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_BAD_CSUM), 1);

	n = build_peer_udp(STACK_AF_INET6, 5611, "corrupt", 7, &u);
	u[UDP_HLEN + 2] ^= 0x01;
	h_inject(&h, pkt, n);
	assert_empty(e6);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_BAD_CSUM), 2);

	/* a corrupt datagram to a closed port draws no ICMP error: the
	 * checksum is checked before the port (__udp4_lib_rcv) */
	n = build_peer_udp(STACK_AF_INET, 9, "corrupt", 7, &u);
	u[UDP_HLEN] ^= 0x80;
	h_inject(&h, pkt, n);
	n = build_peer_udp(STACK_AF_INET6, 9, "corrupt", 7, &u);
	u[UDP_HLEN] ^= 0x80;
	h_inject(&h, pkt, n);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_BAD_CSUM), 4);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_NO_PORT), 0);
}
END_TEST

START_TEST(rx_csum_zero_v6_dropped)
{
	int e = ep_bound(STACK_AF_INET6, "::", 5602);
	uint8_t *u;
	size_t n = build_peer_udp(STACK_AF_INET6, 5602, "nosum", 5, &u);

	/* RFC 8200 §8.1: mandatory over IPv6 (udp6_csum_init) */
	put16(u + UDP_CSUM, 0);
	h_inject(&h, pkt, n);
	assert_empty(e);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_BAD_CSUM), 1);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(rx_length_field)
{
	int e4 = ep_bound(STACK_AF_INET, "0.0.0.0", 5603);
	int e6 = ep_bound(STACK_AF_INET6, "::", 5613);
	uint8_t *u;
	size_t n;

	/* longer than the IP payload: truncated */
	n = build_peer_udp(STACK_AF_INET, 5603, "0123456789", 10, &u);
	put16(u + UDP_LEN, UDP_HLEN + 11);
	h_inject(&h, pkt, n);
	n = build_peer_udp(STACK_AF_INET6, 5613, "0123456789", 10, &u);
	put16(u + UDP_LEN, UDP_HLEN + 11);
	h_inject(&h, pkt, n);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_TRUNCATED), 2);

	/* shorter than its own header */
	n = build_peer_udp(STACK_AF_INET, 5603, "0123456789", 10, &u);
	put16(u + UDP_LEN, 7);
	h_inject(&h, pkt, n);
	n = build_peer_udp(STACK_AF_INET6, 5613, "0123456789", 10, &u);
	put16(u + UDP_LEN, 4);
	h_inject(&h, pkt, n);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_BAD_LEN), 2);
	assert_empty(e4);
	assert_empty(e6);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(rx_trailing_bytes_ignored)
{
	int e4 = ep_bound(STACK_AF_INET, "0.0.0.0", 5604);
	int e6 = ep_bound(STACK_AF_INET6, "::", 5614);
	uint8_t u[64];
	size_t ulen, n;

	/* the UDP length says 5 data bytes; the IP payload carries 5 more
	 * (pskb_trim_rcsum: the checksum covers only the UDP length) */
	ulen = build_udp(u, STACK_AF_INET, h.p4, h.a4, 7000, 5604, "abcde", 5);
	memcpy(u + ulen, "JUNK!", 5);
	n = build_ip4(pkt, h.p4, h.a4, STACK_IPPROTO_UDP, u, ulen + 5, 1, 0, 64);
	h_inject(&h, pkt, n);
	recv_check(e4, "abcde", 5, H_PEER4, 7000);

	ulen = build_udp(u, STACK_AF_INET6, h.p6, h.a6, 7000, 5614, "abcde", 5);
	memcpy(u + ulen, "JUNK!", 5);
	n = build_ip6(pkt, h.p6, h.a6, STACK_IPPROTO_UDP, u, ulen + 5, 64);
	h_inject(&h, pkt, n);
	recv_check(e6, "abcde", 5, H_PEER6, 7000);
}
END_TEST

/* ---- the receive queue bound ------------------------------------------ */

START_TEST(rcvbuf_option)
{
	int e = ep_open(STACK_AF_INET);

	/* sk_setsockopt: min(val, rmem_max) * 2, at least SOCK_MIN_RCVBUF */
	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF), OPT_RMEM_DEFAULT);
	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF, 1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF), 2304);
	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF, 4000), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF), 8000);
	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF, 1 << 30), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF), 2 * OPT_RMEM_MAX);

	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_SNDBUF), OPT_WMEM_DEFAULT);
	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_SNDBUF, 1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_SNDBUF), 4608);
	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_SNDBUF, 10000), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_SNDBUF), 20000);
}
END_TEST

/* sk_setsockopt compares the value as u32: min_t(u32, val, rmem_max), so a
 * negative value asks for the maximum. */
START_TEST(sockbuf_negative_is_max)
{
	int e = ep_open(STACK_AF_INET);

	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF, -1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF), 2 * OPT_RMEM_MAX);
	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_SNDBUF, -1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_SNDBUF), 2 * OPT_WMEM_MAX);
}
END_TEST

START_TEST(rcvbuf_bounds_queue)
{
	enum { FLOOD = 20 };
	int e = ep_bound(STACK_AF_INET, "0.0.0.0", 5700);
	int queued = 0;
	uint64_t dropped;

	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_RCVBUF, 1), 0);
	fill_pattern(data, 100, 9);
	for (int i = 0; i < FLOOD; i++)
		inject_udp(H_PEER4, (uint16_t)(7000 + i), H_ADDR4, 5700, data, 100);
	dropped = h_drops(&h, STACK_P_UDP, STACK_DROP_RCVBUF_FULL);
	ck_assert_uint_ge(dropped, 1);
	ck_assert_uint_lt(dropped, FLOOD);
	/* still full: one more is dropped */
	inject_udp(H_PEER4, 6999, H_ADDR4, 5700, data, 100);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_RCVBUF_FULL), dropped + 1);
	/* the queued ones come out in order, intact */
	while (ep_recv(e, rbuf, sizeof(rbuf), 0, NULL, NULL) == 100) {
		ck_assert_mem_eq(rbuf, data, 100);
		queued++;
	}
	ck_assert_uint_eq((uint64_t)queued + dropped, FLOOD);
	ck_assert_uint_eq(h_pending(&h), 0); /* no ICMP for a full queue */
	/* reading made room */
	inject_udp(H_PEER4, 7000, H_ADDR4, 5700, data, 100);
	recv_check(e, data, 100, H_PEER4, 7000);
	ck_assert_uint_eq(h_drops(&h, STACK_P_UDP, STACK_DROP_RCVBUF_FULL), dropped + 1);
}
END_TEST

/* ---- options ------------------------------------------------------------ */

START_TEST(opt_identity)
{
	int e4 = ep_open(STACK_AF_INET), e6 = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(opt_get(e4, STACK_SOL_SOCKET, STACK_SO_TYPE), STACK_SOCK_DGRAM);
	ck_assert_int_eq(opt_get(e4, STACK_SOL_SOCKET, STACK_SO_PROTOCOL), STACK_IPPROTO_UDP);
	ck_assert_int_eq(opt_get(e4, STACK_SOL_SOCKET, STACK_SO_DOMAIN), STACK_AF_INET);
	ck_assert_int_eq(opt_get(e6, STACK_SOL_SOCKET, STACK_SO_TYPE), STACK_SOCK_DGRAM);
	ck_assert_int_eq(opt_get(e6, STACK_SOL_SOCKET, STACK_SO_PROTOCOL), STACK_IPPROTO_UDP);
	ck_assert_int_eq(opt_get(e6, STACK_SOL_SOCKET, STACK_SO_DOMAIN), STACK_AF_INET6);
	ck_assert_int_eq(opt_get(e4, STACK_SOL_SOCKET, STACK_SO_ERROR), 0);
}
END_TEST

START_TEST(opt_unknown)
{
	int e4 = ep_open(STACK_AF_INET), e6 = ep_open(STACK_AF_INET6);
	int v = 1;
	size_t len = sizeof(v);

	ck_assert_int_eq(opt_set(e4, STACK_SOL_SOCKET, 9999, 1), -ENOPROTOOPT);
	ck_assert_int_eq(stack_ep_getopt(h.st, e4, STACK_SOL_SOCKET, 9999, &v, &len), -ENOPROTOOPT);
	ck_assert_int_eq(opt_set(e4, STACK_SOL_IP, 9999, 1), -ENOPROTOOPT);
	ck_assert_int_eq(stack_ep_getopt(h.st, e4, STACK_SOL_IP, 9999, &v, &len), -ENOPROTOOPT);
	ck_assert_int_eq(opt_set(e6, STACK_SOL_IPV6, 9999, 1), -ENOPROTOOPT);
	ck_assert_int_eq(stack_ep_getopt(h.st, e6, STACK_SOL_IPV6, 9999, &v, &len), -ENOPROTOOPT);
	/* a level UDP does not serve (SOL_TCP): ip_setsockopt refuses with
	 * ENOPROTOOPT, ip_getsockopt with EOPNOTSUPP (measured on Linux
	 * 6.x); an IPv6 endpoint says ENOPROTOOPT to both */
	ck_assert_int_eq(opt_set(e4, 6, 1, 1), -ENOPROTOOPT);
	ck_assert_int_eq(stack_ep_getopt(h.st, e4, 6, 1, &v, &len), -EOPNOTSUPP);
	ck_assert_int_eq(stack_ep_getopt(h.st, e6, 6, 1, &v, &len), -ENOPROTOOPT);
	/* IPv6 options on an IPv4 endpoint */
	ck_assert_int_eq(opt_set(e4, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, 1), -ENOPROTOOPT);
	ck_assert_int_eq(opt_set(e4, STACK_SOL_IPV6, STACK_IPV6_UNICAST_HOPS, 5), -ENOPROTOOPT);
	ck_assert_int_eq(
	    stack_ep_getopt(h.st, e4, STACK_SOL_IPV6, STACK_IPV6_UNICAST_HOPS, &v, &len),
	    -EOPNOTSUPP);
	/* IP_MTU needs a connected endpoint */
	ck_assert_int_eq(stack_ep_getopt(h.st, e4, STACK_SOL_IP, STACK_IP_MTU, &v, &len),
			 -ENOTCONN);
}
END_TEST

/* ---- loopback ------------------------------------------------------------ */

START_TEST(loopback_127)
{
	int r = ep_bound(STACK_AF_INET, "127.0.0.1", 6000);
	int s = ep_open(STACK_AF_INET);
	struct stack_sockaddr me;

	fill_pattern(data, 5000, 10);
	ck_assert_int_eq(ep_send(s, data, 5000, "127.0.0.1", 6000), 5000);
	ck_assert_uint_eq(h_pending(&h), 0);
	me = sockname(s);
	recv_check(r, data, 5000, "127.0.0.1", me.port);
	/* and back */
	ck_assert_int_eq(ep_send(r, "pong", 4, "127.0.0.1", me.port), 4);
	recv_check(s, "pong", 4, "127.0.0.1", 6000);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(loopback_v6)
{
	int r = ep_bound(STACK_AF_INET6, "::", 6001);
	int s = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(ep_send(s, "ping6", 5, "::1", 6001), 5);
	ck_assert_uint_eq(h_pending(&h), 0);
	recv_check(r, "ping6", 5, "::1", sockname(s).port);
}
END_TEST

START_TEST(loopback_own_address)
{
	int r4 = ep_bound(STACK_AF_INET, "0.0.0.0", 6002);
	int r6 = ep_bound(STACK_AF_INET6, H_ADDR6, 6002);
	int s4 = ep_open(STACK_AF_INET), s6 = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(ep_send(s4, "self4", 5, H_ADDR4, 6002), 5);
	ck_assert_int_eq(ep_send(s6, "self6", 5, H_ADDR6, 6002), 5);
	ck_assert_uint_eq(h_pending(&h), 0);
	recv_check(r4, "self4", 5, H_ADDR4, sockname(s4).port);
	recv_check(r6, "self6", 5, H_ADDR6, sockname(s6).port);
}
END_TEST

START_TEST(loopback_refused)
{
	int s = ep_open(STACK_AF_INET);
	int s6 = ep_open(STACK_AF_INET6);

	ck_assert_int_eq(ep_connect(s, "127.0.0.1", 6003), 0);
	ck_assert_int_eq(ep_send(s, "anyone?", 7, NULL, 0), 7);
	ck_assert_uint_eq(h_pending(&h), 0);
	/* the port unreachable came back through loopback */
	ck_assert_uint_ne(stack_ep_events(h.st, s) & STACK_EV_ERR, 0);
	ck_assert_int_eq(ep_recv(s, rbuf, sizeof(rbuf), 0, NULL, NULL), -ECONNREFUSED);
	assert_empty(s);
	ck_assert_uint_eq(stack_ep_events(h.st, s) & STACK_EV_ERR, 0);

	ck_assert_int_eq(ep_connect(s6, "::1", 6003), 0);
	ck_assert_int_eq(ep_send(s6, "anyone?", 7, NULL, 0), 7);
	ck_assert_int_eq(ep_recv(s6, rbuf, sizeof(rbuf), 0, NULL, NULL), -ECONNREFUSED);
	assert_empty(s6);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(so_error_reads_and_clears)
{
	int s = ep_open(STACK_AF_INET);

	ck_assert_int_eq(ep_connect(s, "127.0.0.1", 6004), 0);
	ck_assert_int_eq(ep_send(s, "x", 1, NULL, 0), 1);
	ck_assert_int_eq(opt_get(s, STACK_SOL_SOCKET, STACK_SO_ERROR), ECONNREFUSED);
	ck_assert_int_eq(opt_get(s, STACK_SOL_SOCKET, STACK_SO_ERROR), 0);
	assert_empty(s);
	ck_assert_uint_eq(stack_ep_events(h.st, s), STACK_EV_OUT);
	/* a pending error is also reported by the next send (sock_error in
	 * sock_alloc_send_pskb), which then sends nothing */
	ck_assert_int_eq(ep_send(s, "x", 1, NULL, 0), 1);
	ck_assert_int_eq(ep_send(s, "y", 1, NULL, 0), -ECONNREFUSED);
	ck_assert_int_eq(opt_get(s, STACK_SOL_SOCKET, STACK_SO_ERROR), 0);
}
END_TEST

/* ---- broadcast ------------------------------------------------------------ */

START_TEST(broadcast_needs_option)
{
	int e = ep_open(STACK_AF_INET);
	struct stack_sockaddr bc = h_sa("192.0.2.255", 0);
	struct udp_seen s;
	size_t n;

	/* udp_sendmsg: RTCF_BROADCAST without SOCK_BROADCAST is EACCES */
	ck_assert_int_eq(ep_send(e, "all", 3, "192.0.2.255", 7000), -EACCES);
	ck_assert_int_eq(ep_send(e, "all", 3, "255.255.255.255", 7000), -EACCES);
	ck_assert_uint_eq(h_pending(&h), 0);
	ck_assert_int_eq(opt_set(e, STACK_SOL_SOCKET, STACK_SO_BROADCAST, 1), 0);
	ck_assert_int_eq(opt_get(e, STACK_SOL_SOCKET, STACK_SO_BROADCAST), 1);
	ck_assert_int_eq(ep_send(e, "all", 3, "192.0.2.255", 7000), 3);
	n = h_pull(&h, out, sizeof(out));
	ck_assert_uint_gt(n, 0);
	check_ip4_udp(out, n, h.a4, bc.addr, 64, &s);
	ck_assert_mem_eq(s.data, "all", 3);
	h_drain(&h);
}
END_TEST

Suite *suite_udp(void)
{
	Suite *s = suite_create("udp");
	TCase *tx = tcase_create("send");
	TCase *rx = tcase_create("receive");
	TCase *dm = tcase_create("demux");
	TCase *bd = tcase_create("bind");
	TCase *cn = tcase_create("connect");
	TCase *sz = tcase_create("size");
	TCase *ck = tcase_create("checks");
	TCase *rb = tcase_create("rcvbuf");
	TCase *op = tcase_create("options");
	TCase *lo = tcase_create("loopback");

	tcase_add_checked_fixture(tx, setup, teardown);
	tcase_add_test(tx, send4_unbound_autobinds);
	tcase_add_test(tx, send4_bound);
	tcase_add_test(tx, send6_unbound_autobinds);
	tcase_add_test(tx, send6_bound);
	tcase_add_test(tx, send_gathers_iovecs);
	tcase_add_test(tx, send_zero_length);
	tcase_add_test(tx, send_port_zero_einval);
	tcase_add_test(tx, ttl_option_v4);
	tcase_add_test(tx, hops_option_v6);
	tcase_add_test(tx, broadcast_needs_option);
	suite_add_tcase(s, tx);

	tcase_add_checked_fixture(rx, setup, teardown);
	tcase_add_test(rx, recv4_basic);
	tcase_add_test(rx, recv_pktinfo);
	tcase_add_test(rx, recv6_basic);
	tcase_add_test(rx, recv_fifo_and_pending);
	tcase_add_test(rx, recv_peek);
	tcase_add_test(rx, recv_truncation);
	tcase_add_test(rx, recv_zero_length);
	tcase_add_test(rx, recv_changed_reports_handle);
	suite_add_tcase(s, rx);

	tcase_add_checked_fixture(dm, setup, teardown);
	tcase_add_test(dm, demux_exact_beats_wildcard_v4);
	tcase_add_test(dm, demux_exact_beats_wildcard_v6);
	tcase_add_test(dm, demux_connected_beats_unconnected);
	tcase_add_test(dm, demux_connected_filters_peers);
	tcase_add_test(dm, dualstack_receives_v4_mapped);
	tcase_add_test(dm, v6only_refuses_v4);
	tcase_add_test(dm, v4_and_v6only_coexist);
	suite_add_tcase(s, dm);

	tcase_add_checked_fixture(bd, setup, teardown);
	tcase_add_test(bd, bind_same_port_in_use);
	tcase_add_test(bd, bind_reuseaddr);
	tcase_add_test(bd, bind_reuseport_spreads);
	tcase_add_test(bd, bind_dualstack_vs_v4_conflict);
	tcase_add_test(bd, bind_nonlocal);
	tcase_add_test(bd, bind_twice);
	tcase_add_test(bd, bind_wrong_family);
	tcase_add_test(bd, bind_unspec_any_v4);
	tcase_add_test(bd, v6only_after_bind);
	suite_add_tcase(s, bd);

	tcase_add_checked_fixture(cn, setup, teardown);
	tcase_add_test(cn, connect_names_v4);
	tcase_add_test(cn, connect_names_v6);
	tcase_add_test(cn, send_needs_destination);
	tcase_add_test(cn, disconnect_resets_implicit);
	tcase_add_test(cn, disconnect_keeps_explicit);
	tcase_add_test(cn, connect_broadcast_needs_option);
	suite_add_tcase(s, cn);

	tcase_add_checked_fixture(sz, setup, teardown);
	tcase_add_test(sz, max_datagram_v4);
	tcase_add_test(sz, max_datagram_v6);
	tcase_add_test(sz, pmtudisc_do_v4);
	tcase_add_test(sz, pmtudisc_do_v6);
	tcase_add_test(sz, df_bit_v4);
	suite_add_tcase(s, sz);

	tcase_add_checked_fixture(ck, setup, teardown);
	tcase_add_test(ck, rx_csum_zero_v4_accepted);
	tcase_add_test(ck, rx_bad_csum_dropped);
	tcase_add_test(ck, rx_csum_zero_v6_dropped);
	tcase_add_test(ck, rx_length_field);
	tcase_add_test(ck, rx_trailing_bytes_ignored);
	suite_add_tcase(s, ck);

	tcase_add_checked_fixture(rb, setup, teardown);
	tcase_add_test(rb, rcvbuf_option);
	tcase_add_test(rb, sockbuf_negative_is_max);
	tcase_add_test(rb, rcvbuf_bounds_queue);
	suite_add_tcase(s, rb);

	tcase_add_checked_fixture(op, setup, teardown);
	tcase_add_test(op, opt_identity);
	tcase_add_test(op, opt_unknown);
	suite_add_tcase(s, op);

	tcase_add_checked_fixture(lo, setup, teardown);
	tcase_add_test(lo, loopback_127);
	tcase_add_test(lo, loopback_v6);
	tcase_add_test(lo, loopback_own_address);
	tcase_add_test(lo, loopback_refused);
	tcase_add_test(lo, so_error_reads_and_clears);
	suite_add_tcase(s, lo);
	return s;
}
