/*
 * ip6.c — IPv6 (RFC 8200).  Input: iface_input -> ip6_input -> the
 * extension-header chain (hop-by-hop, routing, fragment -> frag_input,
 * destination options) -> icmp6_input / udp_input.  Output: udp / icmp6 ->
 * ip_output -> ip6_output -> [fragments] -> iface_output.
 * A TUN link is layer 3, so no Neighbor Discovery is needed; ND would hook
 * in at iface_output for link kinds that need it.
 */
#include <errno.h>

#include "priv.h"
#include "tcp.h"
#include "wire.h"

enum opts_result { OPTS_OK, OPTS_DROP, OPTS_BAD };

/* RFC 8200 §4.2: walk the TLV options of a hop-by-hop or destination
 * options header at off.  An unknown option's two high bits say what to
 * do; *ptr gets the offset of an offending option for ICMP. */
static enum opts_result parse_options(struct stack *st, struct pbuf *p, size_t off,
				      size_t hlen, uint32_t *ptr)
{
	const uint8_t *h = pbuf_data(p);
	size_t i = off + 2, end = off + hlen;
	bool mcast = addr6_is_multicast(h + IP6_DST);

	(void)st;
	while (i < end) {
		uint8_t type = h[i];

		if (type == 0) { /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > end || i + 2 + h[i + 1] > end)
			return OPTS_BAD;
		switch (type) {
		case 1: /* PadN */
		case 5: /* Router Alert (RFC 2711): nothing to do for a host */
			break;
		default:
			switch (type >> 6) {
			case 0:
				break;
			case 1:
				return OPTS_DROP;
			case 2:
				*ptr = (uint32_t)i;
				return OPTS_BAD;
			case 3:
				*ptr = (uint32_t)i;
				return mcast ? OPTS_DROP : OPTS_BAD;
			}
		}
		i += 2 + (size_t)h[i + 1];
	}
	return OPTS_OK;
}

/* RFC 4291 §2.8: every node listens on the all-nodes addresses,
 * ff01::1 and ff02::1.  No other group is joined (no MLD). */
static bool addr6_is_all_nodes(const uint8_t *a)
{
	static const uint8_t rest[13] = {[12] = 1};

	return a[0] == 0xff && (a[1] == 0x01 || a[1] == 0x02) && a[2] == 0 &&
	       memcmp(a + 3, rest, 13) == 0;
}

static bool src6_ok(struct iface *ifp, const uint8_t *src)
{
	static const uint8_t loop[16] = {[15] = 1};

	if (addr6_is_multicast(src))
		return false; /* RFC 4291 §2.7 */
	if (memcmp(src, loop, 16) == 0 && ifp->kind != STACK_IF_LOOPBACK)
		return false; /* RFC 4291 §2.5.3 */
	return true;
}

/* Skip the extension headers of the packet h[0..len) starting at off,
 * where the header named `nxt` begins.  Returns the offset of the
 * upper-layer header (its protocol in *proto; IP6_NH_NONE when nothing
 * follows), or 0 when the chain runs past len or passes a non-initial
 * fragment (whose ports are elsewhere). */
size_t ip6_skip_ext(const uint8_t *h, size_t len, size_t off, uint8_t nxt, uint8_t *proto)
{
	for (int n = 0; n < 16; n++) {
		switch (nxt) {
		case IP6_NH_HOPOPTS:
		case IP6_NH_DSTOPTS:
		case IP6_NH_ROUTING:
			if (off + 2 > len)
				return 0;
			nxt = h[off];
			off += ((size_t)h[off + 1] + 1) * 8;
			break;
		case IP6_NH_FRAGMENT:
			if (off + IP6_FRAG_HLEN > len ||
			    (get16(h + off + IP6_FRAG_OFFLG) & IP6_FRAG_OFFMASK))
				return 0;
			nxt = h[off];
			off += IP6_FRAG_HLEN;
			break;
		default:
			if (off > len)
				return 0;
			*proto = nxt;
			return off;
		}
	}
	return 0;
}

/* RFC 8200 §4.5 (after RFC 7112): the first fragment must hold the whole
 * header chain through (the start of) the upper-layer header. */
static bool chain_in_first_fragment(const uint8_t *h, size_t len, size_t off, uint8_t nxt)
{
	uint8_t proto;
	size_t up = ip6_skip_ext(h, len, off, nxt, &proto);

	return up && (proto == IP6_NH_NONE || up < len);
}

void ip6_input(struct stack *st, struct iface *ifp, struct pbuf *p)
{
	uint8_t *h = pbuf_data(p);
	size_t plen, off;
	uint8_t nxt;
	size_t nxt_at;   /* offset of the field that names `nxt`, for ICMP */
	bool reassembled = false;

	CTR(st, IP6).rx++;
	if (p->len < IP6_HLEN) {
		DROP(st, IP6, TRUNCATED);
		goto drop;
	}
	if (h[0] >> 4 != 6) {
		DROP(st, IP6, BAD_VERSION);
		goto drop;
	}
	plen = get16(h + IP6_PLEN);
	/* plen 0 means a jumbogram (RFC 2675), which no link here carries. */
	if (plen == 0 && h[IP6_NXT] == IP6_NH_HOPOPTS) {
		DROP(st, IP6, BAD_LEN);
		goto drop;
	}
	if (IP6_HLEN + plen > p->len) {
		DROP(st, IP6, TRUNCATED);
		goto drop;
	}
	pbuf_trim(p, IP6_HLEN + plen);
	if (!src6_ok(ifp, h + IP6_SRC)) {
		DROP(st, IP6, BAD_SRC);
		goto drop;
	}
	if (!addr_is_local(st, STACK_AF_INET6, h + IP6_DST) && !addr6_is_all_nodes(h + IP6_DST)) {
		/* multicast (MLD, router solicitations of the kernel side)
		 * and other hosts' packets: not ours, we do not forward */
		DROP(st, IP6, NOT_FOR_US);
		goto drop;
	}

restart:
	h = pbuf_data(p);
	nxt = h[IP6_NXT];
	nxt_at = IP6_NXT;
	off = IP6_HLEN;
	for (;;) {
		size_t hlen;
		uint32_t ptr = 0;

		switch (nxt) {
		case IP6_NH_HOPOPTS:
		case IP6_NH_DSTOPTS:
		case IP6_NH_ROUTING:
			if (off + 2 > p->len) {
				DROP(st, IP6, TRUNCATED);
				goto drop;
			}
			hlen = ((size_t)h[off + 1] + 1) * 8;
			if (off + hlen > p->len) {
				DROP(st, IP6, TRUNCATED);
				goto drop;
			}
			if (nxt == IP6_NH_HOPOPTS && off != IP6_HLEN) {
				/* RFC 8200 §4.1: only right after the header */
				icmp6_error(st, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER,
					    (uint32_t)nxt_at);
				DROP(st, IP6, BAD_EXTHDR);
				goto drop;
			}
			if (nxt == IP6_NH_ROUTING) {
				/* RFC 8200 §4.4: with segments left we would have
				 * to forward; no routing type is served (type 0
				 * is deprecated, RFC 5095). */
				if (h[off + 3] != 0) {
					icmp6_error(st, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER,
						    (uint32_t)(off + 2));
					DROP(st, IP6, BAD_EXTHDR);
					goto drop;
				}
			} else {
				switch (parse_options(st, p, off, hlen, &ptr)) {
				case OPTS_OK:
					break;
				case OPTS_BAD:
					if (ptr)
						icmp6_error(st, p, ICMP6_PARAM_PROB,
							    ICMP6_PARAMPROB_OPTION, ptr);
					DROP(st, IP6, BAD_EXTHDR);
					goto drop;
				case OPTS_DROP:
					DROP(st, IP6, BAD_EXTHDR);
					goto drop;
				}
			}
			nxt_at = off;
			nxt = h[off];
			off += hlen;
			continue;

		case IP6_NH_FRAGMENT: {
			uint16_t offlg;
			struct frag_key key;

			if (off + IP6_FRAG_HLEN > p->len) {
				DROP(st, IP6, TRUNCATED);
				goto drop;
			}
			offlg = get16(h + off + IP6_FRAG_OFFLG);
			if ((offlg & (IP6_FRAG_OFFMASK | IP6_FRAG_MF)) == 0) {
				/* An atomic fragment (RFC 6946): no reassembly. */
				nxt_at = off;
				nxt = h[off + IP6_FRAG_NXT];
				off += IP6_FRAG_HLEN;
				continue;
			}
			if (reassembled) { /* a fragment inside a fragment */
				DROP(st, IP6, BAD_EXTHDR);
				goto drop;
			}
			if ((offlg & IP6_FRAG_OFFMASK) == 0 &&
			    !chain_in_first_fragment(h, p->len, off + IP6_FRAG_HLEN,
						     h[off + IP6_FRAG_NXT])) {
				icmp6_error(st, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_FIRSTFRAG, 0);
				DROP(st, IP6, BAD_EXTHDR);
				goto drop;
			}
			memset(&key, 0, sizeof(key));
			key.family = STACK_AF_INET6;
			key.id = get32(h + off + IP6_FRAG_ID);
			memcpy(key.src, h + IP6_SRC, 16);
			memcpy(key.dst, h + IP6_DST, 16);
			CTR(st, FRAG6).rx++;
			p = frag_input(st, p, &key, offlg & IP6_FRAG_OFFMASK,
				       (offlg & IP6_FRAG_MF) != 0, off, off + IP6_FRAG_HLEN);
			if (!p)
				return;
			reassembled = true;
			goto restart;
		}

		case IP6_NH_NONE:
			/* RFC 8200 §4.7: nothing follows; ignore the rest. */
			pbuf_free(st, p);
			return;

		case STACK_IPPROTO_ICMPV6:
		case STACK_IPPROTO_UDP:
		case STACK_IPPROTO_TCP:
			p->nh = 0;
			p->th = (uint16_t)off;
			p->meta.src.family = p->meta.dst.family = STACK_AF_INET6;
			memcpy(p->meta.src.addr, h + IP6_SRC, 16);
			memcpy(p->meta.dst.addr, h + IP6_DST, 16);
			if (nxt == STACK_IPPROTO_UDP)
				udp_input(st, ifp, p);
			else if (nxt == STACK_IPPROTO_TCP)
				tcp_input(st, ifp, p);
			else
				icmp6_input(st, ifp, p);
			return;

		default:
			/* RFC 8200 §4: unrecognised next header ->
			 * Parameter Problem code 1 pointing at the field. */
			icmp6_error(st, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER,
				    (uint32_t)nxt_at);
			DROP(st, IP6, UNKNOWN_PROTO);
			goto drop;
		}
	}
drop:
	pbuf_free(st, p);
}

static void fill_header(uint8_t *h, const struct ip_tx *tx, const uint8_t *src,
			size_t plen, uint8_t nxt)
{
	put32(h, 6u << 28 | (uint32_t)tx->tos << 20);
	put16(h + IP6_PLEN, (uint16_t)plen);
	h[IP6_NXT] = nxt;
	h[IP6_HLIM] = (uint8_t)(tx->ttl >= 0 ? tx->ttl : OPT_IP6_HOPLIMIT);
	memcpy(h + IP6_SRC, src, 16);
	memcpy(h + IP6_DST, tx->dst, 16);
}

/* RFC 8200 §4.5: the source fragments; every piece but the last carries
 * a multiple of 8 bytes.  Identification from the random generator (RFC
 * 7739: not predictable). */
static int fragment(struct stack *st, struct iface *ifp, struct pbuf *p,
		    const struct ip_tx *tx, const uint8_t *src, uint32_t mtu)
{
	size_t chunk = (mtu - IP6_HLEN - IP6_FRAG_HLEN) & ~(size_t)7;
	uint32_t id = rand_u32(st);
	size_t off = 0;

	while (off < p->len) {
		size_t n = p->len - off < chunk ? p->len - off : chunk;
		bool more = off + n < p->len;
		struct pbuf *f = pbuf_alloc(st, IP6_HLEN + IP6_FRAG_HLEN + n);
		uint8_t *h;

		if (!f) {
			DROP(st, IP6, NOBUF);
			pbuf_free(st, p);
			return -ENOBUFS;
		}
		h = pbuf_data(f);
		fill_header(h, tx, src, IP6_FRAG_HLEN + n, IP6_NH_FRAGMENT);
		h[IP6_HLEN + IP6_FRAG_NXT] = tx->proto;
		h[IP6_HLEN + 1] = 0;
		put16(h + IP6_HLEN + IP6_FRAG_OFFLG, (uint16_t)(off | (more ? IP6_FRAG_MF : 0)));
		put32(h + IP6_HLEN + IP6_FRAG_ID, id);
		memcpy(h + IP6_HLEN + IP6_FRAG_HLEN, pbuf_data(p) + off, n);
		f->len = (uint32_t)(IP6_HLEN + IP6_FRAG_HLEN + n);
		CTR(st, IP6).tx++;
		st->ctr.frag_created++;
		iface_output(st, ifp, f);
		off += n;
	}
	pbuf_free(st, p);
	return 0;
}

int ip6_output(struct stack *st, struct pbuf *p, const struct ip_tx *tx)
{
	struct stack_route_result rr;
	const struct stack_route_result *rt = tx->rt;
	struct iface *ifp;
	const uint8_t *src;
	uint8_t *h;
	int rc;

	if (!rt) {
		rc = route_lookup(st, STACK_AF_INET6, tx->dst, &rr);
		if (rc) {
			DROP(st, IP6, NO_ROUTE);
			pbuf_free(st, p);
			return rc;
		}
		rt = &rr;
	}
	ifp = iface_get(st, rt->ifindex);
	if (!ifp || p->len > 0xffff) {
		pbuf_free(st, p);
		return ifp ? -EMSGSIZE : -ENETUNREACH;
	}
	src = tx->src ? tx->src : rt->src.addr;
	if (IP6_HLEN + p->len > rt->mtu) {
		/* Routers never fragment IPv6; we do unless told not to. */
		if (tx->pmtudisc == STACK_IP_PMTUDISC_DO || tx->pmtudisc == STACK_IP_PMTUDISC_PROBE) {
			DROP(st, IP6, TOO_BIG);
			pbuf_free(st, p);
			return -EMSGSIZE;
		}
		return fragment(st, ifp, p, tx, src, rt->mtu);
	}
	h = pbuf_push(p, IP6_HLEN);
	if (!h) {
		pbuf_free(st, p);
		return -ENOBUFS;
	}
	fill_header(h, tx, src, p->len - IP6_HLEN, tx->proto);
	CTR(st, IP6).tx++;
	return iface_output(st, ifp, p);
}
