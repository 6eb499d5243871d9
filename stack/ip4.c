/*
 * ip4.c — IPv4 (RFC 791, RFC 1122 §3.2.1).  Input: iface_input -> ip4_input
 * -> [frag_input] -> icmp4_input / udp_input.  Output: udp / icmp4 ->
 * ip_output -> ip4_output -> [fragments] -> iface_output.
 * We are a host: nothing is forwarded.
 */
#include <errno.h>

#include "priv.h"
#include "tcp.h"
#include "wire.h"

#define IPOPT_EOL 0
#define IPOPT_NOP 1
#define IPOPT_LSRR 131
#define IPOPT_SSRR 137

/* RFC 791 §3.1 options: every option but EOL and NOP carries a length
 * octet that must cover itself and stay inside the header.  Source-routed
 * packets are refused, as Linux does with accept_source_route=0. */
static bool options_ok(const uint8_t *opt, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t type = opt[i];

		if (type == IPOPT_EOL)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len)
			return false;
		if (type == IPOPT_LSRR || type == IPOPT_SSRR)
			return false;
		i += opt[i + 1];
	}
	return true;
}

static bool src4_ok(struct stack *st, struct iface *ifp, const uint8_t *src)
{
	/* RFC 1122 §3.2.1.3: never accept a broadcast, multicast or
	 * "this host" source; 127/8 only from loopback (martian). */
	if (addr4_is_multicast(src) || addr_is_any(STACK_AF_INET, src))
		return false;
	if (src[0] == 255 && src[1] == 255 && src[2] == 255 && src[3] == 255)
		return false;
	if (src[0] == 127 && ifp->kind != STACK_IF_LOOPBACK)
		return false;
	(void)st;
	return true;
}

void ip4_input(struct stack *st, struct iface *ifp, struct pbuf *p)
{
	uint8_t *h = pbuf_data(p);
	size_t hl, tot;
	uint16_t frag;
	bool bcast;

	CTR(st, IP4).rx++;
	if (p->len < IP4_HLEN) {
		DROP(st, IP4, TRUNCATED);
		goto drop;
	}
	if (h[IP4_VER_IHL] >> 4 != 4) {
		DROP(st, IP4, BAD_VERSION);
		goto drop;
	}
	hl = (size_t)(h[IP4_VER_IHL] & 0x0f) * 4;
	if (hl < IP4_HLEN) {
		DROP(st, IP4, BAD_HDRLEN);
		goto drop;
	}
	if (hl > p->len) {
		DROP(st, IP4, TRUNCATED);
		goto drop;
	}
	tot = get16(h + IP4_TOTLEN);
	if (tot < hl) {
		DROP(st, IP4, BAD_LEN);
		goto drop;
	}
	if (tot > p->len) {
		DROP(st, IP4, TRUNCATED);
		goto drop;
	}
	pbuf_trim(p, tot); /* link padding */
	if (!(p->flags & PBUF_F_LOOPED) && cksum_fold(cksum_add(0, h, hl)) != 0xffff) {
		DROP(st, IP4, BAD_CSUM);
		goto drop;
	}
	if (hl > IP4_HLEN && !options_ok(h + IP4_HLEN, hl - IP4_HLEN)) {
		DROP(st, IP4, BAD_OPTIONS);
		goto drop;
	}
	if (!src4_ok(st, ifp, h + IP4_SRC)) {
		DROP(st, IP4, BAD_SRC);
		goto drop;
	}
	bcast = addr4_is_broadcast(st, h + IP4_DST);
	if (!bcast && !addr_is_local(st, STACK_AF_INET, h + IP4_DST)) {
		DROP(st, IP4, NOT_FOR_US);
		goto drop;
	}
	if (h[IP4_DST] == 127 && ifp->kind != STACK_IF_LOOPBACK) {
		DROP(st, IP4, NOT_FOR_US);
		goto drop;
	}

	frag = get16(h + IP4_FRAG);
	if (frag & (IP4_F_MF | IP4_OFFMASK)) {
		struct frag_key key;

		memset(&key, 0, sizeof(key));
		key.family = STACK_AF_INET;
		key.proto = h[IP4_PROTO];
		key.id = get16(h + IP4_ID);
		memcpy(key.src, h + IP4_SRC, 4);
		memcpy(key.dst, h + IP4_DST, 4);
		CTR(st, FRAG4).rx++;
		p = frag_input(st, p, &key, (uint32_t)(frag & IP4_OFFMASK) * 8,
			       (frag & IP4_F_MF) != 0, hl, hl);
		if (!p)
			return;
		h = pbuf_data(p);
		hl = (size_t)(h[IP4_VER_IHL] & 0x0f) * 4;
	}

	p->nh = 0;
	p->th = (uint16_t)hl;
	p->meta.src.family = p->meta.dst.family = STACK_AF_INET;
	memcpy(p->meta.src.addr, h + IP4_SRC, 4);
	memcpy(p->meta.dst.addr, h + IP4_DST, 4);
	switch (h[IP4_PROTO]) {
	case STACK_IPPROTO_ICMP:
		icmp4_input(st, ifp, p);
		return;
	case STACK_IPPROTO_UDP:
		udp_input(st, ifp, p);
		return;
	case STACK_IPPROTO_TCP:
		tcp_input(st, ifp, p);
		return;
	default:
		/* RFC 1122 §3.2.2.1: protocol unreachable. */
		if (!bcast)
			icmp4_error(st, p, ICMP4_UNREACH, ICMP4_UNREACH_PROTO, 0);
		DROP(st, IP4, UNKNOWN_PROTO);
		goto drop;
	}
drop:
	pbuf_free(st, p);
}

static void fill_header(struct stack *st, uint8_t *h, const struct ip_tx *tx,
			const uint8_t *src, size_t tot, uint16_t id, uint16_t frag)
{
	h[IP4_VER_IHL] = 0x45;
	h[IP4_TOS] = tx->tos;
	put16(h + IP4_TOTLEN, (uint16_t)tot);
	put16(h + IP4_ID, id);
	put16(h + IP4_FRAG, frag);
	h[IP4_TTL] = (uint8_t)(tx->ttl >= 0 ? tx->ttl : OPT_IP_TTL);
	h[IP4_PROTO] = tx->proto;
	put16(h + IP4_CSUM, 0);
	memcpy(h + IP4_SRC, src, 4);
	memcpy(h + IP4_DST, tx->dst, 4);
	put16(h + IP4_CSUM, cksum_finish(cksum_add(0, h, IP4_HLEN)));
	(void)st;
}

/* RFC 791 §3.2 / RFC 1122 §3.3.3: cut the payload into pieces of a
 * multiple of 8 bytes that fit the MTU, each with its own header. */
static int fragment(struct stack *st, struct iface *ifp, struct pbuf *p,
		    const struct ip_tx *tx, const uint8_t *src, uint32_t mtu)
{
	size_t chunk = (mtu - IP4_HLEN) & ~(size_t)7;
	uint16_t id = st->ip4_id++;
	size_t off = 0;

	while (off < p->len) {
		size_t n = p->len - off < chunk ? p->len - off : chunk;
		bool more = off + n < p->len;
		struct pbuf *f = pbuf_alloc(st, IP4_HLEN + n);

		if (!f) {
			DROP(st, IP4, NOBUF);
			pbuf_free(st, p);
			return -ENOBUFS;
		}
		memcpy(pbuf_data(f) + IP4_HLEN, pbuf_data(p) + off, n);
		f->len = (uint32_t)(IP4_HLEN + n);
		fill_header(st, pbuf_data(f), tx, src, IP4_HLEN + n, id,
			    (uint16_t)((more ? IP4_F_MF : 0) | (off / 8)));
		CTR(st, IP4).tx++;
		st->ctr.frag_created++;
		iface_output(st, ifp, f);
		off += n;
	}
	pbuf_free(st, p);
	return 0;
}

int ip4_output(struct stack *st, struct pbuf *p, const struct ip_tx *tx)
{
	struct stack_route_result rr;
	const struct stack_route_result *rt = tx->rt;
	struct iface *ifp;
	size_t tot = IP4_HLEN + p->len;
	bool df;
	uint8_t *h;
	int rc;

	if (!rt) {
		rc = route_lookup(st, STACK_AF_INET, tx->dst, &rr);
		if (rc) {
			DROP(st, IP4, NO_ROUTE);
			pbuf_free(st, p);
			return rc;
		}
		rt = &rr;
	}
	ifp = iface_get(st, rt->ifindex);
	if (!ifp || tot > 0xffff) {
		pbuf_free(st, p);
		return ifp ? -EMSGSIZE : -ENETUNREACH;
	}
	/* DF as Linux sets it: always for PMTUDISC_DO/PROBE; for WANT only
	 * when the packet fits the path MTU (larger ones are fragmented here). */
	df = tx->pmtudisc == STACK_IP_PMTUDISC_DO || tx->pmtudisc == STACK_IP_PMTUDISC_PROBE ||
	     (tx->pmtudisc == STACK_IP_PMTUDISC_WANT && tot <= rt->mtu);
	if (tot > rt->mtu) {
		if (df) {
			DROP(st, IP4, TOO_BIG);
			pbuf_free(st, p);
			return -EMSGSIZE;
		}
		return fragment(st, ifp, p, tx, tx->src ? tx->src : rt->src.addr, rt->mtu);
	}
	h = pbuf_push(p, IP4_HLEN);
	if (!h) {
		pbuf_free(st, p);
		return -ENOBUFS;
	}
	fill_header(st, h, tx, tx->src ? tx->src : rt->src.addr, tot,
		    st->ip4_id++, df ? IP4_F_DF : 0);
	CTR(st, IP4).tx++;
	return iface_output(st, ifp, p);
}

int ip_output(struct stack *st, struct pbuf *p, const struct ip_tx *tx)
{
	if (tx->family == STACK_AF_INET)
		return ip4_output(st, p, tx);
	return ip6_output(st, p, tx);
}

size_t ip_max_payload(int family)
{
	return family == STACK_AF_INET ? 0xffff - IP4_HLEN : 0xffff;
}
