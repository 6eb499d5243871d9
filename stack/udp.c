/*
 * udp.c — UDP (RFC 768, RFC 1122 §4.1, RFC 8200 §8.1) over both families.
 * Input: ip4_input / ip6_input -> udp_input -> an endpoint's receive queue.
 * Output: stack_ep_sendto -> udp_sendto -> ip_output.  Errors: icmp*_input
 * -> udp_err -> the endpoint's pending error.
 * An IPv6 endpoint without IPV6_V6ONLY also carries IPv4, seen as
 * IPv4-mapped addresses (RFC 4291 §2.5.5.2), as on Linux.
 */
#include <errno.h>

#include "priv.h"
#include "wire.h"

int udp_connect(struct stack *st, struct ep *e, const struct stack_sockaddr *a)
{
	struct stack_sockaddr r, w;
	struct stack_route_result rr;
	int rc;

	if (!a)
		return -EINVAL;
	if (a->family == STACK_AF_UNSPEC) {
		/* Dissolve the association (connect(2), AF_UNSPEC): what
		 * connect() chose implicitly is forgotten, as __udp_disconnect
		 * does. */
		e->connected = 0;
		memset(&e->remote, 0, sizeof(e->remote));
		e->remote.family = e->family;
		if (!e->addr_locked)
			memset(e->local.addr, 0, 16);
		if (!e->port_locked)
			ep_unbind(st, e);
		ep_changed(st, e);
		return 0;
	}
	rc = ep_addr(e, a, &r);
	if (rc)
		return rc;
	w = wire_addr(&r);
	any_to_loopback(&w);
	/* ip4_datagram_connect: a broadcast route needs SO_BROADCAST */
	if (w.family == STACK_AF_INET && addr4_is_broadcast(st, w.addr) && !e->broadcast)
		return -EACCES;
	rc = route_lookup(st, w.family, w.addr, &rr);
	if (rc)
		return rc;
	if (!e->bound) {
		rc = ep_autobind(st, e);
		if (rc)
			return rc;
	}
	if (addr_is_any(e->family, e->local.addr)) {
		struct stack_sockaddr src = ep_view(e, &rr.src);

		memcpy(e->local.addr, src.addr, 16);
	}
	e->remote = ep_view(e, &w);
	e->remote.port = a->port;
	e->connected = 1;
	ep_changed(st, e);
	return 0;
}

/* ---- sending ------------------------------------------------------------ */

static int take_error(struct ep *e)
{
	int err = e->so_error;

	e->so_error = 0;
	return -err;
}

ssize_t udp_sendto(struct stack *st, struct ep *e, const struct iovec *iov, int iovcnt,
		   int flags, const struct stack_sockaddr *to)
{
	struct stack_sockaddr r, w, src;
	struct stack_route_result rr;
	size_t len = iov_total(iov, iovcnt);
	struct ip_tx tx;
	struct pbuf *p;
	uint8_t *u;
	uint32_t sum;
	int rc;

	(void)flags;
	/* A pending error is reported by the next send, as sock_error()
	 * in Linux's sock_alloc_send_pskb does. */
	if (e->so_error) {
		ep_changed(st, e);
		return take_error(e);
	}
	if (e->shut_wr)
		return -EPIPE;
	if (to && to->family != STACK_AF_UNSPEC) {
		rc = ep_addr(e, to, &r);
		if (rc)
			return rc;
		r.port = to->port;
	} else {
		if (!e->connected)
			return -EDESTADDRREQ;
		r = e->remote;
	}
	if (r.port == 0)
		return -EINVAL;
	w = wire_addr(&r);
	any_to_loopback(&w);
	if (len > (w.family == STACK_AF_INET ? OPT_UDP4_MAX_PAYLOAD : OPT_UDP6_MAX_PAYLOAD))
		return -EMSGSIZE;
	if (w.family == STACK_AF_INET && addr4_is_broadcast(st, w.addr) && !e->broadcast)
		return -EACCES;
	rc = route_lookup(st, w.family, w.addr, &rr);
	if (rc)
		return rc;
	if (!e->bound) {
		rc = ep_autobind(st, e);
		if (rc)
			return rc;
	}
	src = wire_addr(&e->local);
	if (src.family != w.family || addr_is_any(src.family, src.addr))
		src = rr.src;
	if (src.family != w.family)
		return -EAFNOSUPPORT; /* an IPv4-mapped local address to an IPv6 peer */

	p = pbuf_alloc(st, UDP_HLEN + len);
	if (!p) {
		DROP(st, UDP, NOBUF);
		return -ENOBUFS;
	}
	u = pbuf_data(p);
	put16(u + UDP_SPORT, e->local.port);
	put16(u + UDP_DPORT, r.port);
	put16(u + UDP_LEN, (uint16_t)(UDP_HLEN + len));
	put16(u + UDP_CSUM, 0);
	iov_gather(u + UDP_HLEN, iov, iovcnt);
	p->len = (uint32_t)(UDP_HLEN + len);
	sum = cksum_pseudo(w.family, src.addr, w.addr, STACK_IPPROTO_UDP, p->len);
	sum = cksum_finish(cksum_add(sum, u, p->len));
	/* RFC 768: a computed zero is sent as all ones (zero = no sum). */
	put16(u + UDP_CSUM, sum ? (uint16_t)sum : 0xffff);

	memset(&tx, 0, sizeof(tx));
	tx.family = (uint8_t)w.family;
	tx.proto = STACK_IPPROTO_UDP;
	tx.tos = e->tos;
	tx.ttl = e->ttl;
	tx.pmtudisc = e->pmtudisc;
	tx.src = src.addr;
	tx.dst = w.addr;
	tx.rt = &rr;
	CTR(st, UDP).tx++;
	rc = ip_output(st, p, &tx);
	/* udp_send_skb: a full queue is an error only with IP_RECVERR */
	if (rc == -ENOBUFS && !e->recverr)
		rc = 0;
	return rc ? rc : (ssize_t)len;
}

/* ---- receiving ---------------------------------------------------------- */

/* Linux's compute_score: an exact family beats a dual-stack endpoint; each
 * bound address or connected peer that matches adds 4.  -1: no match. */
static int score(const struct ep *e, const struct stack_sockaddr *src,
		 const struct stack_sockaddr *dst)
{
	struct stack_sockaddr lsrc, ldst;
	int s;

	if (e->local.port != dst->port)
		return -1;
	if (dst->family == STACK_AF_INET ? !carries_v4(e) : !carries_v6(e))
		return -1;
	s = e->family == dst->family ? 2 : 1;
	ldst = ep_view(e, dst);
	lsrc = ep_view(e, src);
	if (!addr_is_any(e->family, e->local.addr)) {
		if (!same_addr(&e->local, &ldst))
			return -1;
		s += 4;
	}
	if (e->connected) {
		if (!same_addr(&e->remote, &lsrc) || e->remote.port != src->port)
			return -1;
		s += 8;
	}
	return s;
}

static uint32_t flow_hash(struct stack *st, const struct stack_sockaddr *src)
{
	uint64_t h = st->hash_key ^ src->port;

	for (size_t i = 0; i < addr_len(src->family); i++)
		h = (h ^ src->addr[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 29));
}

/* The endpoint a datagram src -> dst belongs to.  Among equals the latest
 * bound wins, as in Linux; an SO_REUSEPORT group spreads by flow hash. */
static struct ep *lookup(struct stack *st, const struct stack_sockaddr *src,
			 const struct stack_sockaddr *dst)
{
	struct ep *e, *best = NULL;
	int best_score = -1, group = 0;

	TAILQ_FOREACH(e, &st->udp_bound, bind_link) {
		int s = score(e, src, dst);

		if (s < 0)
			continue;
		if (s > best_score || (s == best_score && e->bind_seq > best->bind_seq)) {
			best = e;
			best_score = s;
		}
	}
	if (!best || !best->reuseport)
		return best;
	TAILQ_FOREACH(e, &st->udp_bound, bind_link)
		if (e->reuseport && score(e, src, dst) == best_score)
			group++;
	group = (int)(flow_hash(st, src) % (uint32_t)group);
	TAILQ_FOREACH(e, &st->udp_bound, bind_link)
		if (e->reuseport && score(e, src, dst) == best_score && group-- == 0)
			return e;
	return best;
}

static void enqueue(struct stack *st, struct ep *e, struct pbuf *p)
{
	/* As __udp_enqueue_schedule_skb: refuse once the queue is over the
	 * buffer size, so one datagram always fits an empty queue. */
	if (e->rcvq_bytes > e->rcvbuf) {
		DROP(st, UDP, RCVBUF_FULL);
		pbuf_free(st, p);
		return;
	}
	e->rcvq_bytes += p->cap;
	STAILQ_INSERT_TAIL(&e->rcvq, p, next);
	ep_changed(st, e);
}

void udp_input(struct stack *st, struct iface *ifp, struct pbuf *p)
{
	const uint8_t *h = pbuf_data(p);
	const uint8_t *u = h + p->th;
	size_t avail = p->len - p->th, ulen;
	struct stack_sockaddr src = p->meta.src, dst = p->meta.dst;
	int family = src.family;
	bool bcast;
	struct ep *e;

	(void)ifp;
	CTR(st, UDP).rx++;
	if (avail < UDP_HLEN) {
		DROP(st, UDP, TRUNCATED);
		goto drop;
	}
	ulen = get16(u + UDP_LEN);
	if (ulen < UDP_HLEN) {
		DROP(st, UDP, BAD_LEN);
		goto drop;
	}
	if (ulen > avail) {
		DROP(st, UDP, TRUNCATED);
		goto drop;
	}
	/* RFC 768: zero means "no checksum" over IPv4; RFC 8200 §8.1: an
	 * IPv6 datagram must carry one. */
	if (!(p->flags & PBUF_F_LOOPED) &&
	    (get16(u + UDP_CSUM) != 0 || family == STACK_AF_INET6)) {
		uint32_t sum = cksum_pseudo(family, src.addr, dst.addr, STACK_IPPROTO_UDP,
					    (uint32_t)ulen);

		if (get16(u + UDP_CSUM) == 0 || cksum_fold(cksum_add(sum, u, ulen)) != 0xffff) {
			DROP(st, UDP, BAD_CSUM);
			goto drop;
		}
	}
	src.port = get16(u + UDP_SPORT);
	dst.port = get16(u + UDP_DPORT);
	bcast = family == STACK_AF_INET && addr4_is_broadcast(st, dst.addr);
	pbuf_trim(p, p->th + ulen);

	if (bcast) {
		/* Every endpoint that matches gets a copy. */
		struct ep *last = NULL;

		TAILQ_FOREACH(e, &st->udp_bound, bind_link) {
			struct stack_sockaddr any = dst;

			if (!addr_is_any(e->family, e->local.addr))
				continue; /* bound to a unicast address */
			memset(any.addr, 0, 4);
			if (score(e, &src, &any) < 0)
				continue;
			if (last) {
				struct pbuf *c = pbuf_copy(st, p);

				if (c) {
					c->meta.src = src;
					c->meta.dst = dst;
					pbuf_pull(c, c->th + UDP_HLEN);
					enqueue(st, last, c);
				}
			}
			last = e;
		}
		if (!last) {
			DROP(st, UDP, NO_PORT);
			goto drop;
		}
		e = last;
	} else {
		e = lookup(st, &src, &dst);
		if (!e) {
			/* RFC 1122 §4.1.3.1: port unreachable */
			if (family == STACK_AF_INET)
				icmp4_error(st, p, ICMP4_UNREACH, ICMP4_UNREACH_PORT, 0);
			else
				icmp6_error(st, p, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0);
			DROP(st, UDP, NO_PORT);
			goto drop;
		}
	}
	p->meta.src = src;
	p->meta.dst = dst;
	pbuf_pull(p, p->th + UDP_HLEN);
	enqueue(st, e, p);
	return;
drop:
	pbuf_free(st, p);
}

ssize_t udp_recvfrom(struct stack *st, struct ep *e, const struct iovec *iov, int iovcnt,
		     int flags, struct stack_sockaddr *from, struct stack_rcvinfo *info,
		     int *msg_flags)
{
	struct pbuf *p;
	size_t copied = 0;
	const uint8_t *d;

	if (msg_flags)
		*msg_flags = 0;
	/* __skb_recv_udp reports a pending error before any datagram. */
	if (e->so_error) {
		ep_changed(st, e);
		return take_error(e);
	}
	p = STAILQ_FIRST(&e->rcvq);
	if (!p)
		return -EAGAIN;
	d = pbuf_data(p);
	for (int i = 0; i < iovcnt && copied < p->len; i++) {
		size_t n = p->len - copied;

		if (n > iov[i].iov_len)
			n = iov[i].iov_len;
		if (n)
			memcpy(iov[i].iov_base, d + copied, n);
		copied += n;
	}
	if (from) {
		*from = ep_view(e, &p->meta.src);
		from->port = p->meta.src.port;
	}
	if (info) {
		info->dst = p->meta.dst;
		info->dst.port = 0;
		info->ifindex = p->meta.ifindex;
	}
	if (copied < p->len && msg_flags)
		*msg_flags |= STACK_MSG_TRUNC;
	if (flags & STACK_MSG_TRUNC)
		copied = p->len;
	if (!(flags & STACK_MSG_PEEK)) {
		STAILQ_REMOVE_HEAD(&e->rcvq, next);
		e->rcvq_bytes -= p->cap;
		pbuf_free(st, p);
		ep_changed(st, e);
	}
	return (ssize_t)copied;
}

void udp_err(struct stack *st, const struct icmp_err *err)
{
	/* Look the endpoint up as if the quoted packet came back to us. */
	struct ep *e = lookup(st, &err->dst, &err->src);
	bool hard = err->hard;

	if (!e)
		return;
	/* Frag-Needed / Packet Too Big are hard, and not reported at all
	 * when PMTU discovery is off (__udp4_lib_err, __udp6_lib_err). */
	if (err->err == EMSGSIZE) {
		if (e->pmtudisc == STACK_IP_PMTUDISC_DONT)
			return;
		hard = true;
	}
	/* Without IP_RECVERR only hard errors on connected endpoints count. */
	if (!e->recverr && (!hard || !e->connected))
		return;
	e->so_error = err->err;
	st->ctr.icmp_err_delivered++;
	ep_changed(st, e);
}

unsigned udp_events(struct stack *st, struct ep *e)
{
	unsigned ev = STACK_EV_OUT;

	(void)st;
	if (!STAILQ_EMPTY(&e->rcvq))
		ev |= STACK_EV_IN;
	if (e->so_error) /* datagram_poll: EPOLLERR only */
		ev |= STACK_EV_ERR;
	return ev;
}

int udp_pending(struct stack *st, struct ep *e)
{
	struct pbuf *p = STAILQ_FIRST(&e->rcvq);

	(void)st;
	return p ? (int)p->len : 0;
}
