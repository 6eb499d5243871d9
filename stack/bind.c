/*
 * bind.c — addresses as an endpoint sees them, and port binding, shared
 * by UDP and TCP: the dual-stack view (an IPv6 endpoint without
 * IPV6_V6ONLY carries IPv4 as ::ffff:a.b.c.d, RFC 4291 §2.5.5.2), Linux's
 * rules for sharing a port, and ephemeral ports (RFC 6056).
 * Callers: ep.c (bind), udp.c and tcp.c (connect, send, demux).
 */
#include <errno.h>

#include "priv.h"
#include "tcp.h"
#include "wire.h"

void addr_map4(struct stack_sockaddr *a)
{
	uint8_t v4[4];

	memcpy(v4, a->addr, 4);
	memset(a->addr, 0, 16);
	a->addr[10] = a->addr[11] = 0xff;
	memcpy(a->addr + 12, v4, 4);
	a->family = STACK_AF_INET6;
}

/* An IPv6 endpoint address as it goes on the wire: mapped -> IPv4. */
struct stack_sockaddr wire_addr(const struct stack_sockaddr *a)
{
	struct stack_sockaddr w = *a;

	if (w.family == STACK_AF_INET6 && addr4_mapped(w.addr)) {
		w.family = STACK_AF_INET;
		memmove(w.addr, w.addr + 12, 4);
		memset(w.addr + 4, 0, 12);
	}
	return w;
}

/* A wire address as endpoint e sees it. */
struct stack_sockaddr ep_view(const struct ep *e, const struct stack_sockaddr *w)
{
	struct stack_sockaddr a = *w;

	if (e->family == STACK_AF_INET6 && w->family == STACK_AF_INET)
		addr_map4(&a);
	return a;
}

bool same_addr(const struct stack_sockaddr *a, const struct stack_sockaddr *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, addr_len(a->family)) == 0;
}

/* Which wire families an endpoint's local address can receive. */
bool carries_v4(const struct ep *e)
{
	if (e->family == STACK_AF_INET)
		return true;
	if (e->v6only)
		return false;
	return addr_is_any(STACK_AF_INET6, e->local.addr) || addr4_mapped(e->local.addr);
}

bool carries_v6(const struct ep *e)
{
	return e->family == STACK_AF_INET6 && !addr4_mapped(e->local.addr);
}

/* ---- binding ------------------------------------------------------------ */

/* Do two local addresses (on the same port) overlap, in any family? */
bool addrs_overlap(const struct ep *a, const struct ep *b)
{
	if (carries_v4(a) && carries_v4(b)) {
		struct stack_sockaddr x = wire_addr(&a->local), y = wire_addr(&b->local);
		bool ax = x.family != STACK_AF_INET || addr_is_any(STACK_AF_INET, x.addr);
		bool by = y.family != STACK_AF_INET || addr_is_any(STACK_AF_INET, y.addr);

		/* a wildcard IPv6 endpoint covers every IPv4 address */
		if (ax || by || same_addr(&x, &y))
			return true;
	}
	if (carries_v6(a) && carries_v6(b)) {
		if (addr_is_any(STACK_AF_INET6, a->local.addr) ||
		    addr_is_any(STACK_AF_INET6, b->local.addr) || same_addr(&a->local, &b->local))
			return true;
	}
	return false;
}

static struct ep_list *bound_list(struct stack *st, const struct ep *e)
{
	return e->type == STACK_SOCK_STREAM ? &st->tcp_bound : &st->udp_bound;
}

/* May e and o, overlapping on one port, share it?  UDP: SO_REUSEADDR on
 * both, or SO_REUSEPORT on both.  TCP (inet_csk_bind_conflict): the same,
 * but SO_REUSEADDR never shares with a listening socket. */
static bool may_share(const struct ep *e, const struct ep *o, bool listening)
{
	if (e->reuseport && o->reuseport)
		return true;
	if (e->reuseaddr && o->reuseaddr)
		return e->type != STACK_SOCK_STREAM || !listening;
	return false;
}

/* Is port taken for e?  With reuse false (ephemeral choice) any
 * overlapping endpoint on the port takes it. */
static bool port_conflict(struct stack *st, const struct ep *e, uint16_t port, bool reuse)
{
	struct ep *o;

	TAILQ_FOREACH(o, bound_list(st, e), bind_link) {
		if (o == e || o->local.port != port || !addrs_overlap(e, o))
			continue;
		/* inet_bind_conflict: only the other socket's listening
		 * counts; two SO_REUSEADDR sockets bound to a port may
		 * both exist, and the first of them may listen */
		if (reuse && may_share(e, o, ep_is_listening(st, o)))
			continue;
		return true;
	}
	/* A connection in TIME_WAIT holds its port unless SO_REUSEADDR. */
	if (e->type == STACK_SOCK_STREAM && (!reuse || !e->reuseaddr) &&
	    tcp_tw_holds_port(st, e, port))
		return true;
	return false;
}

int ep_listen_conflict(struct stack *st, const struct ep *e)
{
	return port_conflict(st, e, e->local.port, true) ? -EADDRINUSE : 0;
}

static void bind_insert(struct stack *st, struct ep *e, uint16_t port)
{
	e->local.port = port;
	e->bound = 1;
	e->bind_seq = ++st->bind_seq;
	TAILQ_INSERT_TAIL(bound_list(st, e), e, bind_link);
}

void ep_unbind(struct stack *st, struct ep *e)
{
	if (!e->bound)
		return;
	TAILQ_REMOVE(bound_list(st, e), e, bind_link);
	e->bound = 0;
	e->local.port = 0;
}

/* An ephemeral port from a random starting point (RFC 6056 §3.3.1, as
 * Linux does for UDP), skipping ports in use by overlapping endpoints. */
int ep_autobind(struct stack *st, struct ep *e)
{
	uint32_t range = OPT_EPHEMERAL_HI - OPT_EPHEMERAL_LO + 1;
	uint32_t start = rand_below(st, range);

	for (uint32_t i = 0; i < range; i++) {
		uint16_t port = (uint16_t)(OPT_EPHEMERAL_LO + (start + i) % range);

		if (!port_conflict(st, e, port, false)) {
			bind_insert(st, e, port);
			return 0;
		}
	}
	return -EAGAIN;
}

/* The address a caller gave, checked against the endpoint's family and
 * converted to its view.  AF_INET given to an IPv6 endpoint is mapped, as
 * Linux's ip6_datagram_connect and udpv6_sendmsg accept it. */
int ep_addr(const struct ep *e, const struct stack_sockaddr *in, struct stack_sockaddr *out)
{
	*out = *in;
	if (e->family == STACK_AF_INET)
		return in->family == STACK_AF_INET ? 0 : -EAFNOSUPPORT;
	if (in->family == STACK_AF_INET) {
		if (e->v6only)
			return -EAFNOSUPPORT;
		addr_map4(out);
		return 0;
	}
	if (in->family != STACK_AF_INET6)
		return -EAFNOSUPPORT;
	if (addr4_mapped(out->addr) && e->v6only)
		return -ENETUNREACH;
	return 0;
}

int ep_bind_addr(struct stack *st, struct ep *e, const struct stack_sockaddr *a)
{
	struct stack_sockaddr w;

	if (!a)
		return -EINVAL;
	if (e->bound)
		return -EINVAL;
	/* __inet_bind's "compatibility games": AF_UNSPEC is taken for
	 * AF_INET when the address is INADDR_ANY. */
	if (e->family == STACK_AF_INET && a->family == STACK_AF_UNSPEC &&
	    addr_is_any(STACK_AF_INET, a->addr)) {
		struct stack_sockaddr any = *a;

		any.family = STACK_AF_INET;
		return ep_bind_addr(st, e, &any);
	}
	if (e->family == STACK_AF_INET && a->family != STACK_AF_INET)
		return -EAFNOSUPPORT;
	if (e->family == STACK_AF_INET6 && a->family != STACK_AF_INET6)
		return -EINVAL;
	if (e->family == STACK_AF_INET6 && addr4_mapped(a->addr) && e->v6only)
		return -EINVAL;
	w = wire_addr(a);
	if (!addr_is_any(w.family, w.addr) && !addr_is_local(st, w.family, w.addr) &&
	    !(w.family == STACK_AF_INET && addr4_is_broadcast(st, w.addr)))
		return -EADDRNOTAVAIL; /* multicast reception is not supported */
	e->local.family = e->family;
	memcpy(e->local.addr, a->addr, 16);
	if (e->family == STACK_AF_INET)
		memset(e->local.addr + 4, 0, 12);
	e->local.scope_id = a->scope_id;
	if (a->port == 0) {
		int rc = ep_autobind(st, e);

		if (rc) {
			memset(e->local.addr, 0, 16);
			return rc;
		}
	} else {
		if (port_conflict(st, e, a->port, true)) {
			memset(e->local.addr, 0, 16);
			return -EADDRINUSE;
		}
		bind_insert(st, e, a->port);
		e->port_locked = 1;
	}
	e->addr_locked = !addr_is_any(e->family, e->local.addr);
	return 0;
}

/* Linux treats a wildcard destination as "this host" (ip_route_connect). */
void any_to_loopback(struct stack_sockaddr *w)
{
	if (!addr_is_any(w->family, w->addr))
		return;
	if (w->family == STACK_AF_INET) {
		w->addr[0] = 127;
		w->addr[3] = 1;
	} else {
		w->addr[15] = 1;
	}
}


size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SIZE_MAX / 2 - n)
			return SIZE_MAX / 2;
		n += iov[i].iov_len;
	}
	return n;
}

void iov_gather(uint8_t *dst, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len)
			memcpy(dst, iov[i].iov_base, iov[i].iov_len);
		dst += iov[i].iov_len;
	}
}

