/*
 * iface.c — interfaces, their addresses, the route table and the path-MTU
 * cache.  Link input enters the protocols here (iface_input -> ip4_input /
 * ip6_input); IP output leaves here (iface_output -> fault stage -> the
 * transmit queue the link pulls, or the loopback queue).
 */
#include <errno.h>

#include "priv.h"

struct iface *iface_get(struct stack *st, int ifindex)
{
	if (ifindex < 1 || ifindex > OPT_MAX_IFACES)
		return NULL;
	struct iface *ifp = &st->ifaces[ifindex - 1];

	return ifp->used ? ifp : NULL;
}

static bool name_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	return n > 0 && n < STACK_IFNAMSIZ;
}

int stack_if_add(struct stack *st, enum stack_if_kind kind, const char *name,
		 const struct stack_link_info *info)
{
	struct iface *slot = NULL;

	if ((kind != STACK_IF_TUN && kind != STACK_IF_MEMORY) || !name_ok(name) || !info)
		return -EINVAL;
	if (info->mtu < OPT_MTU_MIN || info->mtu > OPT_MTU_MAX)
		return -EINVAL;
	for (int i = 0; i < OPT_MAX_IFACES; i++) {
		struct iface *ifp = &st->ifaces[i];

		if (ifp->used && strcmp(ifp->name, name) == 0)
			return -EEXIST;
		if (!ifp->used && !slot)
			slot = ifp;
	}
	if (!slot)
		return -ENOSPC;
	memset(slot, 0, sizeof(*slot));
	slot->used = 1;
	slot->kind = (uint8_t)kind;
	slot->index = (int)(slot - st->ifaces) + 1;
	strcpy(slot->name, name);
	slot->mtu = info->mtu;
	slot->offloads = info->offloads;
	STAILQ_INIT(&slot->txq);
	return slot->index;
}

int stack_if_list(const struct stack *st, struct stack_if_info *out, int max)
{
	int n = 0;

	for (int i = 0; i < OPT_MAX_IFACES; i++) {
		const struct iface *ifp = &st->ifaces[i];
		struct stack_if_info *o;

		if (!ifp->used)
			continue;
		if (n++ >= max)
			continue;
		o = &out[n - 1];
		memset(o, 0, sizeof(*o));
		o->ifindex = ifp->index;
		memcpy(o->name, ifp->name, sizeof(o->name));
		o->kind = (enum stack_if_kind)ifp->kind;
		o->mtu = ifp->mtu;
		for (int f = 0; f < 2; f++) {
			const struct ifaddr *ia = f == 0 ? ifp->addr4 : ifp->addr6;
			for (int k = 0; k < OPT_MAX_ADDRS && o->naddr < STACK_IF_MAX_ADDRS; k++) {
				if (!ia[k].family)
					continue;
				o->addrs[o->naddr].addr.family = ia[k].family;
				memcpy(o->addrs[o->naddr].addr.addr, ia[k].addr, 16);
				o->addrs[o->naddr].prefixlen = ia[k].plen;
				o->naddr++;
			}
		}
	}
	return n;
}

int stack_if_set_mtu(struct stack *st, int ifindex, uint32_t mtu)
{
	struct iface *ifp = iface_get(st, ifindex);

	if (!ifp)
		return -ENODEV;
	if (mtu < OPT_MTU_MIN || mtu > OPT_MTU_MAX)
		return -EINVAL;
	ifp->mtu = mtu;
	return 0;
}

static struct ifaddr *addr_slots(struct iface *ifp, int family)
{
	return family == STACK_AF_INET ? ifp->addr4 : ifp->addr6;
}

int stack_addr_add(struct stack *st, int ifindex, const struct stack_sockaddr *a,
		   unsigned prefixlen)
{
	struct iface *ifp = iface_get(st, ifindex);
	struct ifaddr *slots, *free_slot = NULL;
	struct stack_sockaddr net = *a;
	int rc;

	if (!ifp)
		return -ENODEV;
	if (a->family != STACK_AF_INET && a->family != STACK_AF_INET6)
		return -EAFNOSUPPORT;
	if (prefixlen > addr_len(a->family) * 8 || addr_is_any(a->family, a->addr))
		return -EINVAL;
	if (a->family == STACK_AF_INET ? addr4_is_multicast(a->addr) : addr6_is_multicast(a->addr))
		return -EINVAL;
	/* IPv6 needs a link MTU of at least 1280 (RFC 8200 §5). */
	if (a->family == STACK_AF_INET6 && ifp->mtu < OPT_PMTU_MIN6)
		return -EINVAL;
	if (iface_by_addr(st, a->family, a->addr))
		return -EEXIST;
	slots = addr_slots(ifp, a->family);
	for (int i = 0; i < OPT_MAX_ADDRS; i++)
		if (!slots[i].family) {
			free_slot = &slots[i];
			break;
		}
	if (!free_slot)
		return -ENOSPC;
	/* The on-link route for the prefix, as the kernel adds one. */
	for (unsigned i = prefixlen; i < addr_len(a->family) * 8; i++)
		net.addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	rc = stack_route_add(st, &net, prefixlen, NULL, ifindex);
	if (rc && rc != -EEXIST)
		return rc;
	free_slot->family = (uint8_t)a->family;
	free_slot->plen = (uint8_t)prefixlen;
	memcpy(free_slot->addr, a->addr, addr_len(a->family));
	return 0;
}

int stack_route_add(struct stack *st, const struct stack_sockaddr *dst, unsigned prefixlen,
		    const struct stack_sockaddr *gw, int ifindex)
{
	struct route *free_slot = NULL;
	int family = dst->family;
	bool has_gw = gw && gw->family != STACK_AF_UNSPEC;

	if (family != STACK_AF_INET && family != STACK_AF_INET6)
		return -EAFNOSUPPORT;
	if (prefixlen > addr_len(family) * 8 || (has_gw && gw->family != family))
		return -EINVAL;
	if (!iface_get(st, ifindex))
		return -ENODEV;
	for (int i = 0; i < OPT_MAX_ROUTES; i++) {
		struct route *r = &st->routes[i];

		if (!r->used) {
			if (!free_slot)
				free_slot = r;
			continue;
		}
		if (r->family == family && r->plen == prefixlen &&
		    prefix_match(family, r->dst, dst->addr, prefixlen))
			return -EEXIST;
	}
	if (!free_slot)
		return -ENOSPC;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	free_slot->family = (uint8_t)family;
	free_slot->plen = (uint8_t)prefixlen;
	memcpy(free_slot->dst, dst->addr, addr_len(family));
	if (has_gw) {
		free_slot->has_gw = 1;
		memcpy(free_slot->gw, gw->addr, addr_len(family));
	}
	free_slot->ifindex = ifindex;
	return 0;
}

struct iface *iface_by_addr(struct stack *st, int family, const uint8_t *addr)
{
	for (int i = 0; i < OPT_MAX_IFACES; i++) {
		struct iface *ifp = &st->ifaces[i];

		if (!ifp->used)
			continue;
		struct ifaddr *slots = addr_slots(ifp, family);
		for (int j = 0; j < OPT_MAX_ADDRS; j++)
			if (slots[j].family == family &&
			    memcmp(slots[j].addr, addr, addr_len(family)) == 0)
				return ifp;
	}
	return NULL;
}

/* Local: one of our addresses, or anything in 127.0.0.0/8 (the kernel's
 * "local" route for the loopback prefix). */
bool addr_is_local(struct stack *st, int family, const uint8_t *addr)
{
	if (family == STACK_AF_INET && addr[0] == 127)
		return true;
	return iface_by_addr(st, family, addr) != NULL;
}

bool addr4_is_broadcast(struct stack *st, const uint8_t *addr)
{
	static const uint8_t all[4] = {255, 255, 255, 255};

	if (memcmp(addr, all, 4) == 0)
		return true;
	for (int i = 0; i < OPT_MAX_IFACES; i++) {
		struct iface *ifp = &st->ifaces[i];

		if (!ifp->used)
			continue;
		for (int j = 0; j < OPT_MAX_ADDRS; j++) {
			struct ifaddr *ia = &ifp->addr4[j];
			uint32_t host_mask, a, b;

			if (!ia->family || ia->plen >= 31)
				continue;
			host_mask = 0xffffffffu >> ia->plen;
			a = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 |
			    (uint32_t)addr[2] << 8 | addr[3];
			b = (uint32_t)ia->addr[0] << 24 | (uint32_t)ia->addr[1] << 16 |
			    (uint32_t)ia->addr[2] << 8 | ia->addr[3];
			if ((a & ~host_mask) == (b & ~host_mask) && (a & host_mask) == host_mask)
				return true;
		}
	}
	return false;
}

/* Source address selection: an address of the outgoing interface whose
 * prefix holds the next hop, else its first (RFC 6724 rule 5 and 8,
 * simplified; enough for one address per prefix). */
static const struct ifaddr *pick_src(struct iface *ifp, int family, const uint8_t *nexthop)
{
	struct ifaddr *slots = addr_slots(ifp, family);
	const struct ifaddr *first = NULL;

	for (int i = 0; i < OPT_MAX_ADDRS; i++) {
		if (slots[i].family != family)
			continue;
		if (prefix_match(family, slots[i].addr, nexthop, slots[i].plen))
			return &slots[i];
		if (!first)
			first = &slots[i];
	}
	return first;
}

int route_lookup(struct stack *st, int family, const uint8_t *dst,
		 struct stack_route_result *out)
{
	const struct route *best = NULL;
	struct iface *ifp;
	const struct ifaddr *src;
	size_t alen = addr_len(family);

	memset(out, 0, sizeof(*out));
	/* Our own addresses go through loopback and keep their address as
	 * source, as the kernel's local table does. */
	if ((ifp = iface_by_addr(st, family, dst)) != NULL) {
		out->ifindex = STACK_LOOPBACK_IFINDEX;
		out->src.family = out->nexthop.family = (uint16_t)family;
		memcpy(out->src.addr, dst, alen);
		memcpy(out->nexthop.addr, dst, alen);
		out->mtu = st->ifaces[0].mtu;
		out->prefixlen = (unsigned)alen * 8;
		return 0;
	}
	for (int i = 0; i < OPT_MAX_ROUTES; i++) {
		const struct route *r = &st->routes[i];

		if (r->used && r->family == family && prefix_match(family, r->dst, dst, r->plen) &&
		    (!best || r->plen > best->plen))
			best = r;
	}
	if (!best || !(ifp = iface_get(st, best->ifindex)))
		return -ENETUNREACH;
	out->ifindex = ifp->index;
	out->prefixlen = best->plen;
	out->nexthop.family = (uint16_t)family;
	memcpy(out->nexthop.addr, best->has_gw ? best->gw : dst, alen);
	src = pick_src(ifp, family, out->nexthop.addr);
	if (!src && ifp->kind == STACK_IF_LOOPBACK && family == STACK_AF_INET)
		src = &ifp->addr4[0];
	if (!src)
		return -EADDRNOTAVAIL;
	out->src.family = (uint16_t)family;
	memcpy(out->src.addr, src->addr, alen);
	/* 127.x.y.z keeps its own address as source on loopback */
	if (family == STACK_AF_INET && dst[0] == 127)
		memcpy(out->src.addr, dst, 4);
	out->mtu = pmtu_get(st, family, dst, ifp->mtu);
	return 0;
}

int stack_route_lookup(struct stack *st, const struct stack_sockaddr *dst,
		       struct stack_route_result *out)
{
	if (dst->family != STACK_AF_INET && dst->family != STACK_AF_INET6)
		return -EAFNOSUPPORT;
	return route_lookup(st, dst->family, dst->addr, out);
}

/* ---- path MTU (RFC 1191, RFC 8201) ------------------------------------ */

static struct pmtu_entry *pmtu_find(struct stack *st, int family, const uint8_t *dst)
{
	for (int i = 0; i < OPT_PMTU_ENTRIES; i++) {
		struct pmtu_entry *e = &st->pmtu[i];

		if (e->family == family && memcmp(e->addr, dst, addr_len(family)) == 0) {
			if (e->expires <= st->now) {
				e->family = 0; /* RFC 1191 §6.3: forget after a while */
				return NULL;
			}
			return e;
		}
	}
	return NULL;
}

uint32_t pmtu_get(struct stack *st, int family, const uint8_t *dst, uint32_t link_mtu)
{
	struct pmtu_entry *e = pmtu_find(st, family, dst);

	return e && e->mtu < link_mtu ? e->mtu : link_mtu;
}

uint32_t pmtu_update(struct stack *st, int family, const uint8_t *dst, uint32_t mtu)
{
	uint32_t floor = family == STACK_AF_INET ? OPT_PMTU_MIN4 : OPT_PMTU_MIN6;
	struct pmtu_entry *e = pmtu_find(st, family, dst);

	/* A reported MTU below the floor is raised to it (Linux min_pmtu;
	 * RFC 8201 §4: IPv6 never below 1280). */
	if (mtu < floor)
		mtu = floor;
	if (!e) {
		struct pmtu_entry *victim = &st->pmtu[0];

		for (int i = 0; i < OPT_PMTU_ENTRIES; i++) {
			struct pmtu_entry *c = &st->pmtu[i];

			if (!c->family || c->expires <= st->now) {
				victim = c;
				break;
			}
			if (c->expires < victim->expires)
				victim = c;
		}
		e = victim;
		memset(e, 0, sizeof(*e));
		e->family = (uint8_t)family;
		memcpy(e->addr, dst, addr_len(family));
		e->mtu = UINT32_MAX;
	}
	/* Only ever lower it from a report (RFC 1191 §6.3); it rises again
	 * when the entry expires. */
	if (mtu < e->mtu) {
		e->mtu = mtu;
		st->ctr.pmtu_updates++;
	}
	e->expires = st->now + OPT_PMTU_EXPIRE_NS;
	return e->mtu;
}

/* ---- the packet path through an interface ------------------------------ */

void iface_input(struct stack *st, struct iface *ifp, struct pbuf *p)
{
	if (ifp->kind == STACK_IF_LOOPBACK)
		p->flags |= PBUF_F_LOOPED;
	p->meta.ifindex = ifp->index;
	if (p->len == 0) {
		DROP(st, LINK, TRUNCATED);
		pbuf_free(st, p);
		return;
	}
	switch (pbuf_data(p)[0] >> 4) {
	case 4:
		ip4_input(st, ifp, p);
		break;
	case 6:
		ip6_input(st, ifp, p);
		break;
	default:
		DROP(st, LINK, BAD_VERSION);
		pbuf_free(st, p);
	}
}

int iface_output(struct stack *st, struct iface *ifp, struct pbuf *p)
{
	if (ifp->has_fault) {
		fault_stage(st, ifp, 1, p);
		return 0;
	}
	return iface_deliver_tx(st, ifp, p);
}

/* A full queue drops and says so: TCP holds its data back and tries again
 * when the link has pulled (as Linux's TCP small queues and qdisc
 * backpressure), UDP reports it only with IP_RECVERR. */
int iface_deliver_tx(struct stack *st, struct iface *ifp, struct pbuf *p)
{
	bool lo = ifp->kind == STACK_IF_LOOPBACK;

	if ((lo ? st->loopq_len : ifp->txq_len) >= OPT_TXQ_LIMIT) {
		DROP(st, LINK, LINK_QUEUE_FULL);
		pbuf_free(st, p);
		return -ENOBUFS;
	}
	if (lo) {
		STAILQ_INSERT_TAIL(&st->loopq, p, next);
		st->loopq_len++;
	} else {
		STAILQ_INSERT_TAIL(&ifp->txq, p, next);
		ifp->txq_len++;
	}
	return 0;
}
