/*
 * icmp6.c — ICMPv6 (RFC 4443).  ip6_input -> icmp6_input: echo replies,
 * and errors about packets we sent, matched to their endpoint (udp_err) as
 * errno, with path-MTU updates from Packet Too Big (RFC 8201).  Any layer ->
 * icmp6_error, rate-limited with IPv4's bucket.
 * Neighbor Discovery and MLD messages are ignored: a TUN link needs neither.
 */
#include <errno.h>

#include "priv.h"
#include "tcp.h"
#include "wire.h"

/* Linux's icmpv6_err_convert for Destination Unreachable codes. */
static const struct {
	int err;
	bool hard;
} unreach_errs[] = {
	{ENETUNREACH, false},  /* 0 no route */
	{EACCES, true},        /* 1 administratively prohibited */
	{EHOSTUNREACH, false}, /* 2 beyond scope */
	{EHOSTUNREACH, false}, /* 3 address unreachable */
	{ECONNREFUSED, true},  /* 4 port unreachable */
	{EACCES, true},        /* 5 source address failed policy */
	{EACCES, true},        /* 6 reject route */
};

static uint32_t icmp6_sum(const uint8_t *src, const uint8_t *dst, const uint8_t *m, size_t len)
{
	return cksum_add(cksum_pseudo(STACK_AF_INET6, src, dst, STACK_IPPROTO_ICMPV6,
				      (uint32_t)len), m, len);
}

static void echo_reply(struct stack *st, struct pbuf *p, size_t ilen)
{
	const uint8_t *h = pbuf_data(p);
	struct pbuf *r = pbuf_alloc(st, IP6_HLEN + ilen);
	struct ip_tx tx = {
		.family = STACK_AF_INET6, .proto = STACK_IPPROTO_ICMPV6,
		.ttl = -1, .pmtudisc = STACK_IP_PMTUDISC_DONT,
		.src = h + IP6_DST, .dst = h + IP6_SRC,
		/* icmpv6_echo_reply keeps the request's traffic class */
		.tos = (uint8_t)(get32(h) >> 20),
	};
	struct stack_route_result rr;
	uint8_t *m;

	if (!r) {
		DROP(st, ICMP6, NOBUF);
		return;
	}
	/* To a multicast request (all-nodes) we answer from our unicast
	 * address (RFC 4443 §4.2). */
	if (addr6_is_multicast(tx.src)) {
		if (route_lookup(st, STACK_AF_INET6, tx.dst, &rr)) {
			DROP(st, ICMP6, NO_ROUTE);
			pbuf_free(st, r);
			return;
		}
		tx.rt = &rr;
		tx.src = rr.src.addr;
	}
	m = pbuf_data(r);
	memcpy(m, h + p->th, ilen);
	m[ICMP_TYPE] = ICMP6_ECHO_REPLY;
	put16(m + ICMP_CSUM, 0);
	put16(m + ICMP_CSUM, cksum_finish(icmp6_sum(tx.src, tx.dst, m, ilen)));
	r->len = (uint32_t)ilen;
	CTR(st, ICMP6).tx++;
	ip_output(st, r, &tx);
}

/* The upper-layer header of a quoted IPv6 packet, or 0. */
static size_t quoted_upper(const uint8_t *q, size_t qlen, uint8_t *proto)
{
	return ip6_skip_ext(q, qlen, IP6_HLEN, q[IP6_NXT], proto);
}

static void error_input(struct stack *st, const uint8_t *m, size_t ilen)
{
	const uint8_t *q = m + ICMP_HLEN;
	size_t qlen = ilen - ICMP_HLEN, up;
	struct icmp_err e;
	uint8_t type = m[ICMP_TYPE], code = m[ICMP_CODE];

	memset(&e, 0, sizeof(e));
	if (qlen < IP6_HLEN || q[0] >> 4 != 6) {
		DROP(st, ICMP6, TRUNCATED);
		return;
	}
	if (!addr_is_local(st, STACK_AF_INET6, q + IP6_SRC)) {
		DROP(st, ICMP6, NOT_FOR_US);
		return;
	}
	/* icmpv6_notify: the quote must reach 8 bytes into the upper-layer
	 * header, or the message is discarded — Packet Too Big included,
	 * since Linux learns the MTU in the transport's error handler. */
	up = quoted_upper(q, qlen, &e.proto);
	if (!up || up + 8 > qlen) {
		DROP(st, ICMP6, TRUNCATED);
		return;
	}
	switch (type) {
	case ICMP6_DST_UNREACH:
		if (code >= ARRAY_LEN(unreach_errs)) {
			DROP(st, ICMP6, ICMP_TYPE);
			return;
		}
		e.err = unreach_errs[code].err;
		e.hard = unreach_errs[code].hard;
		break;
	case ICMP6_PACKET_TOO_BIG: {
		/* RFC 8201 §4: below 1280 is raised to 1280 by pmtu_update */
		uint32_t mtu = get32(m + ICMP_REST);

		e.err = EMSGSIZE;
		e.mtu = pmtu_update(st, STACK_AF_INET6, q + IP6_DST, mtu);
		break;
	}
	case ICMP6_TIME_EXCEEDED:
		e.err = EHOSTUNREACH;
		break;
	case ICMP6_PARAM_PROB:
		e.err = EPROTO;
		e.hard = true;
		break;
	}
	e.family = STACK_AF_INET6;
	e.src.family = e.dst.family = STACK_AF_INET6;
	memcpy(e.src.addr, q + IP6_SRC, 16);
	memcpy(e.dst.addr, q + IP6_DST, 16);
	e.src.port = get16(q + up);
	e.dst.port = get16(q + up + 2);
	e.seq = get32(q + up + 4);
	if (e.proto == STACK_IPPROTO_UDP)
		udp_err(st, &e);
	else if (e.proto == STACK_IPPROTO_TCP)
		tcp_err(st, &e);
}

void icmp6_input(struct stack *st, struct iface *ifp, struct pbuf *p)
{
	const uint8_t *h = pbuf_data(p);
	const uint8_t *m = h + p->th;
	size_t ilen = p->len - p->th;

	(void)ifp;
	CTR(st, ICMP6).rx++;
	if (ilen < ICMP_HLEN) {
		DROP(st, ICMP6, TRUNCATED);
		goto out;
	}
	/* RFC 4443 §2.3: the checksum covers the pseudo-header. */
	if (!(p->flags & PBUF_F_LOOPED) &&
	    cksum_fold(icmp6_sum(h + IP6_SRC, h + IP6_DST, m, ilen)) != 0xffff) {
		DROP(st, ICMP6, BAD_CSUM);
		goto out;
	}
	switch (m[ICMP_TYPE]) {
	case ICMP6_ECHO_REQUEST:
		echo_reply(st, p, ilen);
		break;
	case ICMP6_DST_UNREACH:
	case ICMP6_PACKET_TOO_BIG:
	case ICMP6_TIME_EXCEEDED:
	case ICMP6_PARAM_PROB:
		error_input(st, m, ilen);
		break;
	default:
		/* RFC 4443 §2.4 (b): unknown informational messages are
		 * discarded silently; so are ND and MLD here. */
		DROP(st, ICMP6, ICMP_TYPE);
		break;
	}
out:
	pbuf_free(st, p);
}

/* RFC 4443 §2.4 (e): no error about an error message, a packet sent to a
 * multicast address (except Packet Too Big and Parameter Problem code 2),
 * or from an address that is not one host. */
static bool may_send_error(const uint8_t *h, size_t len, uint8_t type, uint8_t code)
{
	const uint8_t *src = h + IP6_SRC, *dst = h + IP6_DST;
	uint8_t proto;
	size_t up;

	if (addr_is_any(STACK_AF_INET6, src) || addr6_is_multicast(src))
		return false;
	if (addr6_is_multicast(dst) && type != ICMP6_PACKET_TOO_BIG &&
	    !(type == ICMP6_PARAM_PROB && code == ICMP6_PARAMPROB_OPTION))
		return false;
	up = quoted_upper(h, len, &proto);
	if (up && proto == STACK_IPPROTO_ICMPV6) {
		if (up + 1 > len || h[up] < 128 || h[up] == 137 /* redirect */)
			return false;
	}
	return true;
}

void icmp6_error(struct stack *st, struct pbuf *p, uint8_t type, uint8_t code, uint32_t info)
{
	const uint8_t *h = pbuf_data(p);
	/* RFC 4443 §2.4 (c): as much as fits the minimum MTU */
	size_t room = OPT_PMTU_MIN6 - IP6_HLEN - ICMP_HLEN;
	size_t quote = p->len < room ? p->len : room;
	struct ip_tx tx = {
		.family = STACK_AF_INET6, .proto = STACK_IPPROTO_ICMPV6,
		.ttl = -1, .pmtudisc = STACK_IP_PMTUDISC_DONT,
		.dst = h + IP6_SRC,
	};
	struct stack_route_result rr;
	struct pbuf *r;
	uint8_t *m;

	if (p->len < IP6_HLEN || !may_send_error(h, p->len, type, code)) {
		DROP(st, ICMP6, ICMP_NOERR);
		return;
	}
	if (route_lookup(st, STACK_AF_INET6, tx.dst, &rr)) {
		DROP(st, ICMP6, NO_ROUTE);
		return;
	}
	if (!icmp_ratelimit_ok(st, STACK_AF_INET6, tx.dst, &rr)) {
		DROP(st, ICMP6, ICMP_RATELIMIT);
		return;
	}
	tx.rt = &rr;
	tx.src = addr_is_local(st, STACK_AF_INET6, h + IP6_DST) ? h + IP6_DST : rr.src.addr;
	r = pbuf_alloc(st, IP6_HLEN + ICMP_HLEN + quote);
	if (!r) {
		DROP(st, ICMP6, NOBUF);
		return;
	}
	m = pbuf_data(r);
	m[ICMP_TYPE] = type;
	m[ICMP_CODE] = code;
	put16(m + ICMP_CSUM, 0);
	put32(m + ICMP_REST, info);
	memcpy(m + ICMP_HLEN, h, quote);
	r->len = (uint32_t)(ICMP_HLEN + quote);
	put16(m + ICMP_CSUM, cksum_finish(icmp6_sum(tx.src, tx.dst, m, r->len)));
	CTR(st, ICMP6).tx++;
	st->ctr.icmp_err_sent++;
	ip_output(st, r, &tx);
}
