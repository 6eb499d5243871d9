/*
 * harness.c — the unit suites' fixtures (see harness.h).
 */
#include <stdlib.h>

#include "harness.h"

void h_setup_cfg(struct harness *h, const struct stack_config *cfg, uint32_t mtu)
{
	struct stack_link_info li = {.mtu = mtu};
	struct stack_sockaddr a, gw, any;
	size_t size = stack_arena_size(cfg);

	memset(h, 0, sizeof(*h));
	h->mem = aligned_alloc(64, (size + 63) & ~(size_t)63);
	ck_assert_ptr_nonnull(h->mem);
	h->now = 1000 * STACK_NS_PER_S; /* not zero: catches "0 means unset" bugs */
	h->st = stack_create(h->mem, size, cfg, h->now);
	ck_assert_ptr_nonnull(h->st);
	h->ifindex = stack_if_add(h->st, STACK_IF_MEMORY, "mem0", &li);
	ck_assert_int_ge(h->ifindex, 2);

	ck_assert_int_eq(stack_addr_parse(H_ADDR4, &a), 0);
	memcpy(h->a4, a.addr, 4);
	ck_assert_int_eq(stack_addr_add(h->st, h->ifindex, &a, 24), 0);
	ck_assert_int_eq(stack_addr_parse(H_PEER4, &gw), 0);
	memcpy(h->p4, gw.addr, 4);
	memset(&any, 0, sizeof(any));
	any.family = STACK_AF_INET;
	ck_assert_int_eq(stack_route_add(h->st, &any, 0, &gw, h->ifindex), 0);

	ck_assert_int_eq(stack_addr_parse(H_ADDR6, &a), 0);
	memcpy(h->a6, a.addr, 16);
	ck_assert_int_eq(stack_addr_add(h->st, h->ifindex, &a, 64), 0);
	ck_assert_int_eq(stack_addr_parse(H_PEER6, &gw), 0);
	memcpy(h->p6, gw.addr, 16);
	any.family = STACK_AF_INET6;
	ck_assert_int_eq(stack_route_add(h->st, &any, 0, &gw, h->ifindex), 0);
}

void h_config(struct stack_config *cfg, uint32_t pbuf_small, uint32_t pbuf_large,
	      uint32_t max_endpoints)
{
	stack_config_default(cfg);
	cfg->pbuf_small = pbuf_small;
	cfg->pbuf_large = pbuf_large;
	cfg->max_endpoints = max_endpoints;
}

void h_setup(struct harness *h)
{
	struct stack_config cfg;

	h_config(&cfg, 512, 16, 64);
	cfg.seed[0] = 1;
	cfg.seed[1] = 2;
	cfg.seed[2] = 3;
	cfg.seed[3] = 4;
	h_setup_cfg(h, &cfg, 1500);
}

void h_teardown(struct harness *h)
{
	struct stack_counters c;

	/* Close every endpoint, drain the link, then the pools must be full:
	 * whatever is still held by reassembly or the fault stage is flushed by
	 * advancing the clock past every timeout. */
	for (uint32_t i = 0; i < h->st->cfg.max_endpoints; i++)
		if (h->st->eps[i].used)
			stack_ep_close(h->st, (int)i);
	for (int i = 0; i < OPT_MAX_IFACES; i++)
		if (h->st->ifaces[i].used && h->st->ifaces[i].has_fault)
			stack_if_set_fault(h->st, h->st->ifaces[i].index, NULL);
	h_advance(h, 120 * STACK_NS_PER_S);
	h_drain(h);
	stack_get_counters(h->st, &c);
	ck_assert_uint_eq(c.pbuf_small_used, 0);
	ck_assert_uint_eq(c.pbuf_large_used, 0);
	ck_assert_uint_eq(c.tcp_txrec_used, 0);
	ck_assert_uint_eq(frag_mem(h->st), 0);
	free(h->mem);
	h->mem = NULL;
}

struct stack_counters h_counters(struct harness *h)
{
	struct stack_counters k;

	stack_get_counters(h->st, &k);
	return k;
}

void h_advance(struct harness *h, stack_ns_t dt)
{
	h->now += dt;
	stack_poll(h->st, h->now);
}

void h_inject(struct harness *h, const void *pkt, size_t len)
{
	struct stack_pkt sp = {.data = (void *)pkt, .len = len};

	stack_link_input(h->st, h->ifindex, &sp, 1, h->now);
}

size_t h_pull(struct harness *h, uint8_t *buf, size_t cap)
{
	struct stack_pkt sp = {.data = buf, .cap = cap};

	if (stack_link_pull(h->st, h->ifindex, &sp, 1) != 1)
		return 0;
	return sp.len;
}

unsigned h_pending(struct harness *h) { return stack_link_pending(h->st, h->ifindex); }

unsigned h_drain(struct harness *h)
{
	static uint8_t buf[70000];
	unsigned n = 0;

	while (h_pull(h, buf, sizeof(buf)))
		n++;
	return n;
}

uint64_t h_drops(struct harness *h, enum stack_proto_ix p, enum stack_drop d)
{
	return h->st->ctr.p[p].drop[d];
}

void fix_ip4_csum(uint8_t *ip)
{
	size_t hl = (size_t)(ip[0] & 0x0f) * 4;

	put16(ip + IP4_CSUM, 0);
	put16(ip + IP4_CSUM, cksum_finish(cksum_add(0, ip, hl)));
}

size_t build_ip4(uint8_t *buf, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		 const void *payload, size_t plen, uint16_t id, uint16_t frag, uint8_t ttl)
{
	memset(buf, 0, IP4_HLEN);
	buf[IP4_VER_IHL] = 0x45;
	put16(buf + IP4_TOTLEN, (uint16_t)(IP4_HLEN + plen));
	put16(buf + IP4_ID, id);
	put16(buf + IP4_FRAG, frag);
	buf[IP4_TTL] = ttl;
	buf[IP4_PROTO] = proto;
	memcpy(buf + IP4_SRC, src, 4);
	memcpy(buf + IP4_DST, dst, 4);
	if (plen)
		memmove(buf + IP4_HLEN, payload, plen);
	fix_ip4_csum(buf);
	return IP4_HLEN + plen;
}

size_t build_ip6(uint8_t *buf, const uint8_t *src, const uint8_t *dst, uint8_t nxt,
		 const void *payload, size_t plen, uint8_t hlim)
{
	memset(buf, 0, IP6_HLEN);
	buf[0] = 0x60;
	put16(buf + IP6_PLEN, (uint16_t)plen);
	buf[IP6_NXT] = nxt;
	buf[IP6_HLIM] = hlim;
	memcpy(buf + IP6_SRC, src, 16);
	memcpy(buf + IP6_DST, dst, 16);
	if (plen)
		memmove(buf + IP6_HLEN, payload, plen);
	return IP6_HLEN + plen;
}

size_t build_udp(uint8_t *buf, int family, const uint8_t *src, const uint8_t *dst,
		 uint16_t sport, uint16_t dport, const void *data, size_t dlen)
{
	size_t len = UDP_HLEN + dlen;
	uint16_t sum;

	put16(buf + UDP_SPORT, sport);
	put16(buf + UDP_DPORT, dport);
	put16(buf + UDP_LEN, (uint16_t)len);
	put16(buf + UDP_CSUM, 0);
	if (dlen)
		memmove(buf + UDP_HLEN, data, dlen);
	sum = cksum_finish(cksum_add(cksum_pseudo(family, src, dst, STACK_IPPROTO_UDP,
						  (uint32_t)len), buf, len));
	put16(buf + UDP_CSUM, sum ? sum : 0xffff);
	return len;
}

size_t build_icmp(uint8_t *buf, int family, const uint8_t *src, const uint8_t *dst,
		  uint8_t type, uint8_t code, uint32_t rest, const void *body, size_t blen)
{
	size_t len = ICMP_HLEN + blen;
	uint32_t sum = 0;

	buf[ICMP_TYPE] = type;
	buf[ICMP_CODE] = code;
	put16(buf + ICMP_CSUM, 0);
	put32(buf + ICMP_REST, rest);
	if (blen)
		memmove(buf + ICMP_HLEN, body, blen);
	if (family == STACK_AF_INET6)
		sum = cksum_pseudo(family, src, dst, STACK_IPPROTO_ICMPV6, (uint32_t)len);
	put16(buf + ICMP_CSUM, cksum_finish(cksum_add(sum, buf, len)));
	return len;
}

void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

struct stack_sockaddr h_sa(const char *addr, uint16_t port)
{
	struct stack_sockaddr a;

	ck_assert_int_eq(stack_addr_parse(addr, &a), 0);
	a.port = port;
	return a;
}
