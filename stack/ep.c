/*
 * ep.c — endpoints: the socket-like objects of the stack API.  Opening,
 * closing, options and readiness live here; the protocol does the rest
 * (udp.c for SOCK_DGRAM; TCP arrives with its own module).
 * Callers: shim/ and tools/ through stack.h.
 */
#include <errno.h>

#include "priv.h"
#include "tcp.h"

/* Any endpoint in use, including TCP children and orphans. */
struct ep *ep_get_any(struct stack *st, int h)
{
	if (h < 0 || (uint32_t)h >= st->cfg.max_endpoints || !st->eps[h].used)
		return NULL;
	return &st->eps[h];
}

/* An endpoint the caller holds: not a connection the program closed
 * (still finishing) or one it has not accepted yet. */
struct ep *ep_get(struct stack *st, int h)
{
	struct ep *e = ep_get_any(st, h);

	return e && !e->orphan && !e->hidden ? e : NULL;
}

unsigned stack_ep_count(const struct stack *st)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < st->cfg.max_endpoints; i++)
		n += st->eps[i].used;
	return n;
}

static bool is_tcp(const struct ep *e) { return e->type == STACK_SOCK_STREAM; }

void ep_changed(struct stack *st, struct ep *e)
{
	if (e->on_changed || e->orphan || e->hidden)
		return;
	e->on_changed = 1;
	TAILQ_INSERT_TAIL(&st->changed, e, chg_link);
}

int stack_ep_changed(struct stack *st, int *hs, int max)
{
	int n = 0;
	struct ep *e;

	while (n < max && (e = TAILQ_FIRST(&st->changed)) != NULL) {
		TAILQ_REMOVE(&st->changed, e, chg_link);
		e->on_changed = 0;
		hs[n++] = ep_handle(st, e);
	}
	return n;
}

int stack_ep_open(struct stack *st, int family, int type, int protocol)
{
	uint32_t n = st->cfg.max_endpoints;
	struct ep *e = NULL;

	if (family != STACK_AF_INET && family != STACK_AF_INET6)
		return -EAFNOSUPPORT;
	switch (type) {
	case STACK_SOCK_DGRAM:
		if (protocol != 0 && protocol != STACK_IPPROTO_UDP)
			return -EPROTONOSUPPORT;
		break;
	case STACK_SOCK_STREAM:
		if (protocol != 0 && protocol != STACK_IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		break;
	default:
		return -ESOCKTNOSUPPORT;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = (st->ep_free_hint + i) % n;

		if (!st->eps[k].used) {
			e = &st->eps[k];
			st->ep_free_hint = (k + 1) % n;
			break;
		}
	}
	if (!e)
		return -EMFILE;
	memset(e, 0, sizeof(*e));
	e->used = 1;
	e->family = (uint8_t)family;
	e->type = (uint8_t)type;
	e->proto = STACK_IPPROTO_UDP;
	e->ttl = -1;
	e->pmtudisc = STACK_IP_PMTUDISC_WANT; /* net.ipv4.ip_no_pmtu_disc=0 */
	e->rcvbuf = OPT_RMEM_DEFAULT;
	e->sndbuf = OPT_WMEM_DEFAULT;
	e->local.family = e->remote.family = (uint16_t)family;
	STAILQ_INIT(&e->rcvq);
	if (type == STACK_SOCK_STREAM)
		tcp_open(st, e);
	return ep_handle(st, e);
}

int stack_ep_close(struct stack *st, int h)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	if (is_tcp(e)) {
		tcp_close(st, e); /* frees e now or when the connection ends */
		return 0;
	}
	ep_unbind(st, e);
	pbuf_freeq(st, &e->rcvq);
	if (e->on_changed)
		TAILQ_REMOVE(&st->changed, e, chg_link);
	memset(e, 0, sizeof(*e));
	return 0;
}

int stack_ep_bind(struct stack *st, int h, const struct stack_sockaddr *a)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	if (!a)
		return -EINVAL;
	return is_tcp(e) ? tcp_bind(st, e, a) : ep_bind_addr(st, e, a);
}

int stack_ep_connect(struct stack *st, int h, const struct stack_sockaddr *a)
{
	struct ep *e = ep_get(st, h);
	int rc;

	if (!e)
		return -EBADF;
	rc = is_tcp(e) ? tcp_connect(st, e, a) : udp_connect(st, e, a);
	stack_flush_loopback(st);
	return rc;
}

int stack_ep_listen(struct stack *st, int h, int backlog)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	return is_tcp(e) ? tcp_listen(st, e, backlog) : -EOPNOTSUPP;
}

int stack_ep_accept(struct stack *st, int h, struct stack_sockaddr *peer)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	return is_tcp(e) ? tcp_accept(st, e, peer) : -EOPNOTSUPP;
}

int stack_ep_shutdown(struct stack *st, int h, int how)
{
	struct ep *e = ep_get(st, h);
	int rc;

	if (!e)
		return -EBADF;
	if (!is_tcp(e)) {
		/* UDP: Linux marks the socket; only ENOTCONN when unconnected */
		if (how < STACK_SHUT_RD || how > STACK_SHUT_RDWR)
			return -EINVAL;
		if (!e->connected)
			return -ENOTCONN;
		if (how != STACK_SHUT_RD)
			e->shut_wr = 1; /* sock_alloc_send_skb: EPIPE from now on */
		return 0;
	}
	rc = tcp_shutdown(st, e, how);
	stack_flush_loopback(st);
	return rc;
}

int stack_ep_acceptq(struct stack *st, int h)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	return is_tcp(e) ? tcp_acceptq(st, e) : -EINVAL;
}

int stack_ep_unsent(struct stack *st, int h)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	return is_tcp(e) ? tcp_unsent(st, e) : 0;
}

ssize_t stack_ep_sendto(struct stack *st, int h, const struct iovec *iov, int iovcnt,
			int flags, const struct stack_sockaddr *to)
{
	struct ep *e = ep_get(st, h);
	ssize_t rc;

	if (!e)
		return -EBADF;
	if (iovcnt < 0 || (iovcnt > 0 && !iov))
		return -EINVAL;
	if (is_tcp(e))
		rc = tcp_send(st, e, iov, iovcnt, flags);
	else
		rc = udp_sendto(st, e, iov, iovcnt, flags, to);
	stack_flush_loopback(st);
	return rc;
}

ssize_t stack_ep_recvfrom(struct stack *st, int h, const struct iovec *iov, int iovcnt,
			  int flags, struct stack_sockaddr *from, int *msg_flags)
{
	return stack_ep_recvmsg(st, h, iov, iovcnt, flags, from, NULL, msg_flags);
}

ssize_t stack_ep_recvmsg(struct stack *st, int h, const struct iovec *iov, int iovcnt,
			 int flags, struct stack_sockaddr *from, struct stack_rcvinfo *info,
			 int *msg_flags)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	if (iovcnt < 0 || (iovcnt > 0 && !iov))
		return -EINVAL;
	if (is_tcp(e)) {
		ssize_t rc = tcp_recv(st, e, iov, iovcnt, flags, msg_flags);

		if (from && rc >= 0)
			*from = e->remote;
		stack_flush_loopback(st);
		return rc;
	}
	return udp_recvfrom(st, e, iov, iovcnt, flags, from, info, msg_flags);
}

int stack_ep_getsockname(struct stack *st, int h, struct stack_sockaddr *a)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	*a = e->local;
	/* an accepted connection shares its listener's port without a
	 * binding of its own: it still has that port */
	if (!e->bound && !e->connected)
		a->port = 0;
	return 0;
}

int stack_ep_getpeername(struct stack *st, int h, struct stack_sockaddr *a)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	if (!e->connected)
		return -ENOTCONN;
	/* inet_getname: no peer while connecting or once closed */
	if (is_tcp(e) && (tcb_of(st, e)->state == TCPS_CLOSED ||
			  tcb_of(st, e)->state == TCPS_SYN_SENT))
		return -ENOTCONN;
	*a = e->remote;
	return 0;
}

unsigned stack_ep_events(struct stack *st, int h)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return STACK_EV_ERR | STACK_EV_HUP;
	return is_tcp(e) ? tcp_events(st, e) : udp_events(st, e);
}

int stack_ep_pending(struct stack *st, int h)
{
	struct ep *e = ep_get(st, h);

	if (!e)
		return -EBADF;
	return is_tcp(e) ? tcp_pending(st, e) : udp_pending(st, e);
}

/* ---- options ------------------------------------------------------------ */

/* SO_RCVBUF / SO_SNDBUF as Linux: the value is capped at the sysctl
 * maximum, then doubled for bookkeeping overhead, with a floor. */
static uint32_t sockbuf_size(int val, uint32_t max, uint32_t min)
{
	uint64_t v = (uint32_t)val; /* min_t(u32, val, max): -1 means "max" */

	if (v > max)
		v = max;
	v *= 2;
	return v < min ? min : (uint32_t)v;
}

static int stack_ep_setopt_common(struct stack *st, struct ep *e, int level, int name, int v);

int stack_ep_setopt(struct stack *st, int h, int level, int name, const void *val, size_t len)
{
	struct ep *e = ep_get(st, h);
	int v;

	if (!e)
		return -EBADF;
	if (!val || !len)
		return -EINVAL;
	/* a name, not an int: Linux takes it from one byte on */
	if (is_tcp(e) && level == STACK_SOL_TCP && name == STACK_TCP_CONGESTION)
		return tcp_setopt(st, e, level, name, val, len);
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof(v));
	if (is_tcp(e)) {
		int rc;

		if (level == STACK_SOL_TCP || (level == STACK_SOL_SOCKET &&
		    (name == STACK_SO_KEEPALIVE || name == STACK_SO_OOBINLINE || name == STACK_SO_LINGER)))
			return tcp_setopt(st, e, level, name, val, len);
		if (level == STACK_SOL_SOCKET && (name == STACK_SO_RCVBUF || name == STACK_SO_SNDBUF)) {
			rc = stack_ep_setopt_common(st, e, level, name, v);
			return rc ? rc : tcp_setopt(st, e, level, name, val, len);
		}
	}
	return stack_ep_setopt_common(st, e, level, name, v);
}

static int stack_ep_setopt_common(struct stack *st, struct ep *e, int level, int name, int v)
{
	(void)st;
	switch (level) {
	case STACK_SOL_SOCKET:
		switch (name) {
		case STACK_SO_REUSEADDR:
			e->reuseaddr = v != 0;
			return 0;
		case STACK_SO_REUSEPORT:
			e->reuseport = v != 0;
			return 0;
		case STACK_SO_BROADCAST:
			e->broadcast = v != 0;
			return 0;
		case STACK_SO_RCVBUF:
			e->rcvbuf = sockbuf_size(v, OPT_RMEM_MAX, OPT_RCVBUF_MIN);
			return 0;
		case STACK_SO_SNDBUF:
			e->sndbuf = sockbuf_size(v, OPT_WMEM_MAX, OPT_SNDBUF_MIN);
			return 0;
		}
		return -ENOPROTOOPT;
	case STACK_SOL_IP:
		switch (name) {
		case STACK_IP_TOS:
			/* do_ip_setsockopt: a stream socket's ECN bits are
			 * TCP's own business */
			if (e->type == STACK_SOCK_STREAM)
				v = (v & ~3) | (e->tos & 3);
			e->tos = (uint8_t)v;
			return 0;
		case STACK_IP_TTL:
			if (v == -1) {
				e->ttl = -1;
				return 0;
			}
			if (v < 1 || v > 255)
				return -EINVAL;
			e->ttl = v;
			return 0;
		case STACK_IP_RECVERR:
			e->recverr = v != 0;
			return 0;
		case STACK_IP_PKTINFO:
			e->pktinfo4 = v != 0;
			return 0;
		case STACK_IP_MTU_DISCOVER:
			if (v < 0 || v > 5) /* up to IP_PMTUDISC_OMIT */
				return -EINVAL;
			e->pmtudisc = (uint8_t)(v > STACK_IP_PMTUDISC_PROBE ? STACK_IP_PMTUDISC_PROBE : v);
			return 0;
		}
		return -ENOPROTOOPT;
	case STACK_SOL_IPV6:
		if (e->family != STACK_AF_INET6)
			return -ENOPROTOOPT;
		switch (name) {
		case STACK_IPV6_V6ONLY:
			if (e->bound) /* Linux: only before bind */
				return -EINVAL;
			e->v6only = v != 0;
			return 0;
		case STACK_IPV6_UNICAST_HOPS:
			if (v < -1 || v > 255)
				return -EINVAL;
			e->ttl = v;
			return 0;
		case STACK_IPV6_RECVERR:
			e->recverr = v != 0;
			return 0;
		case STACK_IPV6_RECVPKTINFO:
			e->pktinfo6 = v != 0;
			return 0;
		case STACK_IPV6_TCLASS: /* the traffic class is the header's tos */
			if (v < -1 || v > 255)
				return -EINVAL;
			e->tos = (uint8_t)(v == -1 ? 0 : v);
			return 0;
		case STACK_IPV6_MTU_DISCOVER:
			if (v < 0 || v > 5)
				return -EINVAL;
			e->pmtudisc = (uint8_t)(v > STACK_IP_PMTUDISC_PROBE ? STACK_IP_PMTUDISC_PROBE : v);
			return 0;
		}
		return -ENOPROTOOPT;
	}
	return -ENOPROTOOPT;
}

static int path_mtu(struct stack *st, struct ep *e)
{
	struct stack_route_result rr;
	struct stack_sockaddr dst = e->remote;

	if (!e->connected)
		return -ENOTCONN;
	if (dst.family == STACK_AF_INET6 && addr4_mapped(dst.addr)) {
		dst.family = STACK_AF_INET;
		memmove(dst.addr, dst.addr + 12, 4);
	}
	if (stack_route_lookup(st, &dst, &rr))
		return -ENETUNREACH;
	return (int)rr.mtu;
}

int stack_ep_getopt(struct stack *st, int h, int level, int name, void *val, size_t *len)
{
	struct ep *e = ep_get(st, h);
	int v;

	if (!e)
		return -EBADF;
	if (!val || !len || *len == 0)
		return -EINVAL;
	/* An IPv4 socket answers levels it does not know with EOPNOTSUPP
	 * (ip_getsockopt), an IPv6 one with ENOPROTOOPT (ipv6_getsockopt). */
	if (e->family == STACK_AF_INET && level != STACK_SOL_SOCKET && level != STACK_SOL_IP &&
	    !(is_tcp(e) && level == STACK_SOL_TCP) && !(!is_tcp(e) && level == STACK_IPPROTO_UDP))
		return -EOPNOTSUPP;
	if (is_tcp(e) && (level == STACK_SOL_TCP ||
			  (level == STACK_SOL_SOCKET &&
			   (name == STACK_SO_KEEPALIVE || name == STACK_SO_OOBINLINE ||
			    name == STACK_SO_LINGER || name == STACK_SO_ACCEPTCONN ||
			    name == STACK_SO_RCVBUF || name == STACK_SO_SNDBUF))))
		return tcp_getopt(st, e, level, name, val, len);
	switch (level) {
	case STACK_SOL_SOCKET:
		switch (name) {
		case STACK_SO_REUSEADDR: v = e->reuseaddr; break;
		case STACK_SO_REUSEPORT: v = e->reuseport; break;
		case STACK_SO_BROADCAST: v = e->broadcast; break;
		case STACK_SO_RCVBUF: v = (int)e->rcvbuf; break;
		case STACK_SO_SNDBUF: v = (int)e->sndbuf; break;
		case STACK_SO_TYPE: v = e->type; break;
		case STACK_SO_ACCEPTCONN: v = 0; break; /* UDP never listens */
		case STACK_SO_PROTOCOL: v = e->proto; break;
		case STACK_SO_DOMAIN: v = e->family; break;
		case STACK_SO_ERROR:
			v = e->so_error;
			e->so_error = 0;
			ep_changed(st, e);
			break;
		default:
			return -ENOPROTOOPT;
		}
		break;
	case STACK_SOL_IP:
		switch (name) {
		case STACK_IP_TOS: v = e->tos; break;
		case STACK_IP_TTL: v = e->ttl >= 0 ? e->ttl : OPT_IP_TTL; break;
		case STACK_IP_RECVERR: v = e->recverr; break;
		case STACK_IP_PKTINFO: v = e->pktinfo4; break;
		case STACK_IP_MTU_DISCOVER: v = e->pmtudisc; break;
		case STACK_IP_MTU:
			v = path_mtu(st, e);
			if (v < 0)
				return v;
			break;
		default:
			return -ENOPROTOOPT;
		}
		break;
	case STACK_SOL_IPV6:
		if (e->family != STACK_AF_INET6)
			return -ENOPROTOOPT;
		switch (name) {
		case STACK_IPV6_V6ONLY: v = e->v6only; break;
		case STACK_IPV6_UNICAST_HOPS: v = e->ttl >= 0 ? e->ttl : OPT_IP6_HOPLIMIT; break;
		case STACK_IPV6_RECVERR: v = e->recverr; break;
		case STACK_IPV6_RECVPKTINFO: v = e->pktinfo6; break;
		case STACK_IPV6_TCLASS: v = e->tos; break;
		case STACK_IPV6_MTU_DISCOVER: v = e->pmtudisc; break;
		case STACK_IPV6_MTU:
			v = path_mtu(st, e);
			if (v < 0)
				return v;
			break;
		default:
			return -ENOPROTOOPT;
		}
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (*len >= sizeof(int)) {
		memcpy(val, &v, sizeof(int));
		*len = sizeof(int);
	} else { /* Linux hands a short buffer one byte */
		*(uint8_t *)val = (uint8_t)v;
		*len = 1;
	}
	return 0;
}
