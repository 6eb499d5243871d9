/*
 * icmp4.c — ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2).  ip4_input ->
 * icmp4_input: echo replies, and errors about packets we sent, matched to
 * their endpoint (udp_err) as errno.  Any layer -> icmp4_error: unreachable,
 * time exceeded and parameter problem, rate-limited.
 */
#include <errno.h>

#include "priv.h"
#include "tcp.h"
#include "wire.h"

/* One token bucket for both families: OPT_ICMP_RATE_PER_S messages a
 * second, bursts of OPT_ICMP_BURST (icmp_global_allow; RFC 1812 §4.3.2.8). */
static bool global_ok(struct stack *st)
{
	uint64_t cap = (uint64_t)OPT_ICMP_BURST * 1000;
	uint64_t elapsed = st->now - st->icmp_refill;
	uint64_t tokens = st->icmp_tokens;

	/* thousandths of a message gained: elapsed_ns * rate / 1e6 */
	if (elapsed > STACK_NS_PER_S * OPT_ICMP_BURST)
		tokens = cap;
	else
		tokens += elapsed * OPT_ICMP_RATE_PER_S / 1000000;
	if (tokens > cap)
		tokens = cap;
	st->icmp_refill = st->now;
	if (tokens < 1000) {
		st->icmp_tokens = (uint32_t)tokens;
		return false;
	}
	st->icmp_tokens = (uint32_t)(tokens - 1000);
	return true;
}

/* inet_peer_xrlim_allow: credit accrues with time up to a burst of
 * OPT_ICMP_PEER_BURST intervals; each message spends one interval.  A
 * peer not seen before starts with the full burst. */
static bool peer_ok(struct stack *st, int family, const uint8_t *dst, uint64_t interval)
{
	struct icmp_peer *pe = NULL, *lru = &st->icmp_peers[0];
	uint64_t cap = interval * OPT_ICMP_PEER_BURST;

	for (int i = 0; i < OPT_ICMP_PEERS; i++) {
		struct icmp_peer *c = &st->icmp_peers[i];

		if (c->family == family && memcmp(c->addr, dst, addr_len(family)) == 0) {
			pe = c;
			break;
		}
		if (!c->family || (lru->family && c->last < lru->last))
			lru = c;
	}
	if (!pe) {
		pe = lru;
		memset(pe, 0, sizeof(*pe));
		pe->family = (uint8_t)family;
		memcpy(pe->addr, dst, addr_len(family));
		pe->tokens = cap;
	} else {
		uint64_t gained = st->now - pe->last;

		pe->tokens = gained >= cap || pe->tokens + gained >= cap ? cap : pe->tokens + gained;
	}
	pe->last = st->now;
	if (pe->tokens < interval)
		return false;
	pe->tokens -= interval;
	return true;
}

bool icmp_ratelimit_ok(struct stack *st, int family, const uint8_t *dst,
		       const struct stack_route_result *rt)
{
	uint64_t interval = OPT_ICMP_PEER_INTERVAL_NS;

	if (!global_ok(st))
		return false;
	if (rt->ifindex == STACK_LOOPBACK_IFINDEX) /* "no rate limit on loopback" */
		return true;
	/* icmpv6_xrlim_allow: "give more bandwidth to wider prefixes" */
	if (family == STACK_AF_INET6 && rt->prefixlen < 128)
		interval >>= (128 - rt->prefixlen) >> 5;
	return peer_ok(st, family, dst, interval);
}

/* Linux's icmp_err_convert: errno and whether the error is "hard"
 * (reported to a connected UDP socket without IP_RECVERR). */
static const struct {
	int err;
	bool hard;
} unreach_errs[] = {
	{ENETUNREACH, false},  /* 0 net unreachable */
	{EHOSTUNREACH, false}, /* 1 host unreachable */
	{ENOPROTOOPT, true},   /* 2 protocol unreachable */
	{ECONNREFUSED, true},  /* 3 port unreachable */
	{EMSGSIZE, false},     /* 4 fragmentation needed */
	{EOPNOTSUPP, false},   /* 5 source route failed */
	{ENETUNREACH, true},   /* 6 net unknown */
	{EHOSTDOWN, true},     /* 7 host unknown */
	{ENONET, true},        /* 8 host isolated */
	{ENETUNREACH, true},   /* 9 net prohibited */
	{EHOSTUNREACH, true},  /* 10 host prohibited */
	{ENETUNREACH, false},  /* 11 net unreachable for TOS */
	{EHOSTUNREACH, false}, /* 12 host unreachable for TOS */
	{EHOSTUNREACH, true},  /* 13 communication prohibited */
	{EHOSTUNREACH, true},  /* 14 host precedence violation */
	{EHOSTUNREACH, true},  /* 15 precedence cutoff */
};

static void echo_reply(struct stack *st, struct pbuf *p, size_t ilen)
{
	const uint8_t *h = pbuf_data(p);
	struct pbuf *r = pbuf_alloc(st, IP4_HLEN + ilen);
	struct ip_tx tx = {
		.family = STACK_AF_INET, .proto = STACK_IPPROTO_ICMP,
		.ttl = -1, .pmtudisc = STACK_IP_PMTUDISC_DONT,
		.src = h + IP4_DST, .dst = h + IP4_SRC,
		.tos = h[IP4_TOS], /* icmp_reply keeps the request's TOS */
	};
	uint8_t *m;

	if (!r) {
		DROP(st, ICMP4, NOBUF);
		return;
	}
	m = pbuf_data(r);
	memcpy(m, h + p->th, ilen);
	m[ICMP_TYPE] = ICMP4_ECHOREPLY;
	put16(m + ICMP_CSUM, 0);
	put16(m + ICMP_CSUM, cksum_finish(cksum_add(0, m, ilen)));
	r->len = (uint32_t)ilen;
	CTR(st, ICMP4).tx++;
	ip_output(st, r, &tx);
}

/* An error about a packet we sent: the quoted IP header and at least 8
 * bytes of its payload (RFC 792) name the endpoint. */
static void error_input(struct stack *st, struct pbuf *p, const uint8_t *m, size_t ilen)
{
	const uint8_t *q = m + ICMP_HLEN;
	size_t qlen = ilen - ICMP_HLEN, qhl;
	struct icmp_err e;
	uint8_t type = m[ICMP_TYPE], code = m[ICMP_CODE];

	if (qlen < IP4_HLEN || q[IP4_VER_IHL] >> 4 != 4) {
		DROP(st, ICMP4, TRUNCATED);
		return;
	}
	qhl = (size_t)(q[IP4_VER_IHL] & 0x0f) * 4;
	if (qhl < IP4_HLEN || qlen < qhl + 8) {
		DROP(st, ICMP4, TRUNCATED);
		return;
	}
	/* It must be about a packet of ours. */
	if (!addr_is_local(st, STACK_AF_INET, q + IP4_SRC)) {
		DROP(st, ICMP4, NOT_FOR_US);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.family = STACK_AF_INET;
	e.proto = q[IP4_PROTO];
	e.src.family = e.dst.family = STACK_AF_INET;
	memcpy(e.src.addr, q + IP4_SRC, 4);
	memcpy(e.dst.addr, q + IP4_DST, 4);
	e.src.port = get16(q + qhl);
	e.dst.port = get16(q + qhl + 2);
	e.seq = get32(q + qhl + 4);
	switch (type) {
	case ICMP4_UNREACH:
		if (code >= ARRAY_LEN(unreach_errs)) {
			DROP(st, ICMP4, ICMP_TYPE);
			return;
		}
		e.err = unreach_errs[code].err;
		e.hard = unreach_errs[code].hard;
		if (code == ICMP4_UNREACH_NEEDFRAG) {
			/* RFC 1191 §4: next-hop MTU in the low 16 bits.  As
			 * in __ip_rt_update_pmtu, a value below the floor (a
			 * zero from an RFC 792 router too) becomes the floor,
			 * and the MTU only ever goes down from a report. */
			uint32_t mtu = get16(m + ICMP_REST + 2);

			e.mtu = pmtu_update(st, STACK_AF_INET, q + IP4_DST, mtu);
		}
		break;
	case ICMP4_TIMXCEED:
		e.err = EHOSTUNREACH;
		break;
	case ICMP4_PARAMPROB:
		e.err = EPROTO;
		e.hard = true;
		break;
	}
	(void)p;
	if (e.proto == STACK_IPPROTO_UDP)
		udp_err(st, &e);
	else if (e.proto == STACK_IPPROTO_TCP)
		tcp_err(st, &e);
}

void icmp4_input(struct stack *st, struct iface *ifp, struct pbuf *p)
{
	const uint8_t *h = pbuf_data(p);
	const uint8_t *m = h + p->th;
	size_t ilen = p->len - p->th;

	(void)ifp;
	CTR(st, ICMP4).rx++;
	if (ilen < ICMP_HLEN) {
		DROP(st, ICMP4, TRUNCATED);
		goto out;
	}
	if (!(p->flags & PBUF_F_LOOPED) && cksum_fold(cksum_add(0, m, ilen)) != 0xffff) {
		DROP(st, ICMP4, BAD_CSUM);
		goto out;
	}
	switch (m[ICMP_TYPE]) {
	case ICMP4_ECHO:
		/* icmp_echo_ignore_broadcasts=1, as Linux by default */
		if (addr4_is_broadcast(st, h + IP4_DST)) {
			DROP(st, ICMP4, NOT_FOR_US);
			break;
		}
		echo_reply(st, p, ilen);
		break;
	case ICMP4_UNREACH:
	case ICMP4_TIMXCEED:
	case ICMP4_PARAMPROB:
		error_input(st, p, m, ilen);
		break;
	default:
		/* echo replies (no ping sockets yet), timestamps, redirects:
		 * a host may ignore them (RFC 1122 §3.2.2) */
		DROP(st, ICMP4, ICMP_TYPE);
		break;
	}
out:
	pbuf_free(st, p);
}

/* RFC 1122 §3.2.2: never an error about an ICMP error, a broadcast or
 * multicast, a non-initial fragment, or a source that is not one host. */
static bool may_send_error(struct stack *st, const uint8_t *h, size_t len)
{
	size_t hl = (size_t)(h[IP4_VER_IHL] & 0x0f) * 4;
	const uint8_t *src = h + IP4_SRC, *dst = h + IP4_DST;

	if (get16(h + IP4_FRAG) & IP4_OFFMASK)
		return false;
	if (addr4_is_broadcast(st, dst) || addr4_is_multicast(dst))
		return false;
	if (addr_is_any(STACK_AF_INET, src) || addr4_is_broadcast(st, src) ||
	    addr4_is_multicast(src))
		return false;
	if (h[IP4_PROTO] == STACK_IPPROTO_ICMP) {
		if (len < hl + 1)
			return false;
		switch (h[hl + ICMP_TYPE]) {
		case ICMP4_ECHO:
		case ICMP4_ECHOREPLY:
		case 13: case 14: case 15: case 16: /* timestamp, info */
			break;
		default:
			return false;
		}
	}
	return true;
}

void icmp4_error(struct stack *st, struct pbuf *p, uint8_t type, uint8_t code, uint32_t info)
{
	const uint8_t *h = pbuf_data(p);
	/* Quote as much as fits a 576-byte datagram (RFC 1812 §4.3.2.3). */
	size_t quote = p->len < 576 - IP4_HLEN - ICMP_HLEN ? p->len : 576 - IP4_HLEN - ICMP_HLEN;
	struct ip_tx tx = {
		.family = STACK_AF_INET, .proto = STACK_IPPROTO_ICMP,
		.ttl = -1, .pmtudisc = STACK_IP_PMTUDISC_DONT, .tos = 0xc0,
		.dst = h + IP4_SRC,
	};
	struct stack_route_result rr;
	struct pbuf *r;
	uint8_t *m;

	if (p->len < IP4_HLEN || !may_send_error(st, h, p->len)) {
		DROP(st, ICMP4, ICMP_NOERR);
		return;
	}
	if (route_lookup(st, STACK_AF_INET, tx.dst, &rr)) {
		DROP(st, ICMP4, NO_ROUTE);
		return;
	}
	if (!icmp_ratelimit_ok(st, STACK_AF_INET, tx.dst, &rr)) {
		DROP(st, ICMP4, ICMP_RATELIMIT);
		return;
	}
	tx.rt = &rr;
	r = pbuf_alloc(st, ICMP_HLEN + quote);
	if (!r) {
		DROP(st, ICMP4, NOBUF);
		return;
	}
	/* Answer from the address the packet was sent to when it is ours. */
	if (addr_is_local(st, STACK_AF_INET, h + IP4_DST) && h[IP4_DST] != 127)
		tx.src = h + IP4_DST;
	m = pbuf_data(r);
	m[ICMP_TYPE] = type;
	m[ICMP_CODE] = code;
	put16(m + ICMP_CSUM, 0);
	put32(m + ICMP_REST, info);
	memcpy(m + ICMP_HLEN, h, quote);
	r->len = (uint32_t)(ICMP_HLEN + quote);
	put16(m + ICMP_CSUM, cksum_finish(cksum_add(0, m, r->len)));
	CTR(st, ICMP4).tx++;
	st->ctr.icmp_err_sent++;
	ip_output(st, r, &tx);
}
