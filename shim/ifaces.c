/*
 * ifaces.c — the interfaces programs see: getifaddrs, if_nameindex and
 * friends (hooks_if.def), and the interface ioctls that fd.c hands over for
 * netshim sockets (shim_if_ioctl).  Every answer comes from the stack
 * (shim_if_list, sock.h), laid out as glibc and Linux lay theirs out.
 *
 * What a program sees:
 * - The stack's interfaces in index order: lo (1; 127.0.0.1/8, ::1/128)
 *   and the TUN interface, named like the device, with the stack's
 *   addresses — never the kernel side's.  Flags, hardware types and queue
 *   lengths are what Linux shows for lo and for a TUN device a process has
 *   open (`ip link`): lo UP|LOOPBACK|RUNNING|LOWER_UP, ARPHRD_LOOPBACK with
 *   a zero 6-byte address; the TUN UP|POINTOPOINT|RUNNING|NOARP|MULTICAST|
 *   LOWER_UP, ARPHRD_NONE with no address.  Addresses read as Linux reads
 *   them back after `ip addr add A/P dev X` (how tun/ configures a device):
 *   netmask from the prefix, no broadcast address (SIOCGIFBRDADDR gives
 *   0.0.0.0; the TUN is point-to-point, lo is loopback), destination = the
 *   address itself (SIOCGIFDSTADDR, and getifaddrs' ifa_broadaddr/
 *   ifa_dstaddr slot, where glibc puts IFA_ADDRESS).
 * - A process without a stack (a descendant refused the network, README
 *   "Processes"; or a call before the constructor ran) sees what a process
 *   in a new, empty network namespace sees: lo, down, without addresses.
 *   That fails closed — nothing of the host's, nothing that looks usable
 *   (its AF_INET sockets get EACCES) — and programs know that state.  A
 *   fork child sees the stack it inherited.
 * - The engine's own calls during start-up (eng_internal: tun/ needs the
 *   kernel's index of the device) go to libc.
 * - ioctls on a netshim socket never reach the kernel: through the
 *   socket's descriptor (an AF_UNIX socket) it would answer for the host's
 *   interfaces, and let root change them.  Served: SIOCGIFCONF, SIOCGIFNAME,
 *   SIOCGIFINDEX, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFMETRIC,
 *   SIOCGIFTXQLEN, SIOCGIFMAP and (AF_INET sockets; ENOTTY on AF_INET6, as
 *   Linux) SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR.
 *   Other device queries (ethtool, MII, wireless, ARP, bonding, VLAN,
 *   timestamping, ...): EOPNOTSUPP.  Changes (SIOCS*, routes, ARP entries,
 *   bridges, ...): EPERM — the stack's interfaces are netshim's to set.
 * Not covered (use --sandbox): interface ioctls on other descriptors
 * (AF_UNIX, AF_NETLINK, AF_PACKET sockets) pass to the kernel unchanged,
 * and a program that reads netlink, /proc/net or /sys/class/net itself
 * sees the kernel's view.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "engine.h"
#include "real.h"
#include "sock.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h; <net/if.h> stops at IFF_DYNAMIC */
#endif

/* Linux's values for the two kinds of interface the stack has. */
#define LO_FLAGS (IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP)
#define TUN_FLAGS                                                                                  \
	(IFF_UP | IFF_POINTOPOINT | IFF_RUNNING | IFF_NOARP | IFF_MULTICAST | IFF_LOWER_UP)
#define LO_MTU 65536   /* Linux's lo (and the stack's) */
#define LO_TXQLEN 1000 /* Linux's lo: the default tx_queue_len */
#define TUN_TXQLEN 500 /* drivers/net/tun.c: TUN_READQ_SIZE */
#define LO_HALEN 6     /* lo's address is six zero bytes */

static int fail(int e)
{
	errno = e;
	return -1;
}

/* ---- the view: the stack's interfaces, or the empty namespace's lo -------- */

struct view {
	int n;
	bool nonet; /* no stack in this process: lo, down, no addresses */
	struct stack_if_info *i;
};

/* A snapshot of the interfaces (0, or ENOMEM).  Free with view_put. */
static int view_get(struct view *v)
{
	int want = 4;

	memset(v, 0, sizeof(*v));
	for (;;) {
		v->i = calloc((size_t)want, sizeof(*v->i));
		if (!v->i)
			return ENOMEM;
		v->n = shim_if_list(v->i, want);
		if (v->n <= want)
			break;
		want = v->n;
		free(v->i);
	}
	if (v->n == 0) {
		v->nonet = true;
		v->n = 1;
		v->i[0].ifindex = STACK_LOOPBACK_IFINDEX;
		strcpy(v->i[0].name, "lo");
		v->i[0].kind = STACK_IF_LOOPBACK;
		v->i[0].mtu = LO_MTU;
	}
	return 0;
}

static void view_put(struct view *v)
{
	free(v->i);
	v->i = NULL;
}

static bool is_lo(const struct stack_if_info *i)
{
	return i->kind == STACK_IF_LOOPBACK;
}

/* IFF_* as rtnetlink reports them (getifaddrs); SIOCGIFFLAGS keeps the low
 * 16 bits. */
static unsigned if_flags(const struct view *v, const struct stack_if_info *i)
{
	if (v->nonet)
		return IFF_LOOPBACK;
	return is_lo(i) ? LO_FLAGS : TUN_FLAGS;
}

static unsigned short if_hatype(const struct stack_if_info *i)
{
	return is_lo(i) ? ARPHRD_LOOPBACK : ARPHRD_NONE;
}

static unsigned char if_halen(const struct stack_if_info *i)
{
	return is_lo(i) ? LO_HALEN : 0;
}

/* The interface named name, as the kernel looks names up for ioctls:
 * anything from a ':' on is an alias label, not part of the device name. */
static const struct stack_if_info *view_by_name(const struct view *v, const char *name)
{
	size_t len = strcspn(name, ":");

	for (int k = 0; k < v->n; k++)
		if (strlen(v->i[k].name) == len && memcmp(v->i[k].name, name, len) == 0)
			return &v->i[k];
	return NULL;
}

static const struct stack_if_info *view_by_index(const struct view *v, int ifindex)
{
	for (int k = 0; k < v->n; k++)
		if (v->i[k].ifindex == ifindex)
			return &v->i[k];
	return NULL;
}

/* The netmask of a prefix, in bytes. */
static void prefix_mask(uint8_t *out, unsigned plen, unsigned bytes)
{
	memset(out, 0, bytes);
	for (unsigned b = 0; b < bytes && plen > 0; b++) {
		unsigned take = plen >= 8 ? 8 : plen;

		out[b] = (uint8_t)(0xff00u >> take);
		plen -= take;
	}
}

static void sin_set(struct sockaddr_in *sin, const uint8_t *addr)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
}

/* ---- getifaddrs ------------------------------------------------------------ */

/* glibc's own layout (sysdeps/unix/sysv/linux/ifaddrs.c), so that either
 * freeifaddrs frees the list: one block, the entries first (links, then
 * IPv4, then IPv6 addresses: RTM_GETLINK and RTM_GETADDR order), then the
 * links' statistics. */
struct sockaddr_ll_max {
	unsigned short int sll_family;
	unsigned short int sll_protocol;
	int sll_ifindex;
	unsigned short int sll_hatype;
	unsigned char sll_pkttype;
	unsigned char sll_halen;
	unsigned char sll_addr[24];
};

union ifa_sockaddr {
	struct sockaddr sa;
	struct sockaddr_ll_max sl;
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
};

struct ifa_storage {
	struct ifaddrs ifa;
	union ifa_sockaddr addr, netmask, broadaddr;
	char name[IF_NAMESIZE + 1];
};

static unsigned count_family(const struct view *v, int family)
{
	unsigned n = 0;

	for (int k = 0; k < v->n; k++)
		for (unsigned a = 0; a < v->i[k].naddr; a++)
			n += v->i[k].addrs[a].addr.family == family;
	return n;
}

/* An AF_PACKET address as glibc makes one from IFLA_ADDRESS/IFLA_BROADCAST
 * (all zeros: lo's; a TUN has none and gets no entry). */
static void ll_set(struct sockaddr_ll_max *sl, const struct stack_if_info *i)
{
	sl->sll_family = AF_PACKET;
	sl->sll_ifindex = i->ifindex;
	sl->sll_hatype = if_hatype(i);
	sl->sll_halen = if_halen(i);
}

static void fill_link(struct ifa_storage *e, const struct view *v, const struct stack_if_info *i,
		      struct rtnl_link_stats *stats)
{
	e->ifa.ifa_name = e->name;
	strcpy(e->name, i->name);
	e->ifa.ifa_flags = if_flags(v, i);
	if (if_halen(i)) {
		ll_set(&e->addr.sl, i);
		e->ifa.ifa_addr = &e->addr.sa;
		ll_set(&e->broadaddr.sl, i);
		e->ifa.ifa_broadaddr = &e->broadaddr.sa;
	}
	e->ifa.ifa_data = stats; /* zeros: the stack keeps no link counters */
}

/* An IPv4 address: its own name (IFA_LABEL), the address in ifa_addr
 * (IFA_LOCAL) and again in the destination slot (IFA_ADDRESS: no peer). */
static void fill_in4(struct ifa_storage *e, const struct view *v, const struct stack_if_info *i,
		     unsigned a)
{
	const uint8_t *addr = i->addrs[a].addr.addr;

	e->ifa.ifa_name = e->name;
	strcpy(e->name, i->name);
	e->ifa.ifa_flags = if_flags(v, i);
	sin_set(&e->addr.s4, addr);
	e->ifa.ifa_addr = &e->addr.sa;
	sin_set(&e->broadaddr.s4, addr);
	e->ifa.ifa_broadaddr = &e->broadaddr.sa;
	e->netmask.s4.sin_family = AF_INET;
	prefix_mask((uint8_t *)&e->netmask.s4.sin_addr, i->addrs[a].prefixlen, 4);
	e->ifa.ifa_netmask = &e->netmask.sa;
}

/* An IPv6 address: the link's name (no IFA_LABEL), no destination. */
static void fill_in6(struct ifa_storage *e, const struct view *v, const struct stack_if_info *i,
		     unsigned a, char *link_name)
{
	struct in6_addr *in6 = &e->addr.s6.sin6_addr;

	e->ifa.ifa_name = link_name;
	e->ifa.ifa_flags = if_flags(v, i);
	e->addr.s6.sin6_family = AF_INET6;
	memcpy(in6, i->addrs[a].addr.addr, 16);
	if (IN6_IS_ADDR_LINKLOCAL(in6) || IN6_IS_ADDR_MC_LINKLOCAL(in6))
		e->addr.s6.sin6_scope_id = (uint32_t)i->ifindex;
	e->ifa.ifa_addr = &e->addr.sa;
	e->netmask.s6.sin6_family = AF_INET6;
	prefix_mask(e->netmask.s6.sin6_addr.s6_addr, i->addrs[a].prefixlen, 16);
	e->ifa.ifa_netmask = &e->netmask.sa;
}

static struct ifa_storage *build_ifaddrs(const struct view *v)
{
	static const int fams[2] = {STACK_AF_INET, STACK_AF_INET6};
	size_t total =
	    (size_t)v->n + count_family(v, STACK_AF_INET) + count_family(v, STACK_AF_INET6);
	struct ifa_storage *s;
	struct rtnl_link_stats *stats;
	size_t j = 0;

	s = calloc(1, total * sizeof(*s) + (size_t)v->n * sizeof(*stats));
	if (!s)
		return NULL;
	stats = (struct rtnl_link_stats *)(void *)&s[total];
	for (int k = 0; k < v->n; k++)
		fill_link(&s[j++], v, &v->i[k], &stats[k]);
	for (int f = 0; f < 2; f++)
		for (int k = 0; k < v->n; k++)
			for (unsigned a = 0; a < v->i[k].naddr; a++) {
				if (v->i[k].addrs[a].addr.family != fams[f])
					continue;
				if (f == 0)
					fill_in4(&s[j++], v, &v->i[k], a);
				else
					fill_in6(&s[j++], v, &v->i[k], a, s[k].name);
			}
	for (size_t k = 0; k + 1 < total; k++)
		s[k].ifa.ifa_next = &s[k + 1].ifa;
	return s;
}

int getifaddrs(struct ifaddrs **ifap)
{
	struct view v;
	struct ifa_storage *s;
	int e;

	if (eng_internal)
		return real()->getifaddrs(ifap);
	if (!ifap)
		return fail(EFAULT);
	*ifap = NULL;
	e = view_get(&v);
	if (e)
		return fail(e);
	s = build_ifaddrs(&v);
	view_put(&v);
	if (!s)
		return fail(ENOMEM);
	*ifap = &s->ifa;
	return 0;
}

/* One block, as glibc's: its freeifaddrs is free() as well. */
void freeifaddrs(struct ifaddrs *ifa)
{
	free(ifa);
}

/* ---- if_nametoindex and friends (glibc: net/if.h over SIOCGIF*) --------- */

unsigned int if_nametoindex(const char *ifname)
{
	const struct stack_if_info *i;
	struct view v;
	unsigned r;
	int e;

	if (eng_internal)
		return real()->if_nametoindex(ifname);
	if (!ifname) {
		errno = EFAULT;
		return 0;
	}
	if (strlen(ifname) >= IFNAMSIZ) {
		errno = ENODEV;
		return 0;
	}
	e = view_get(&v);
	if (e) {
		errno = e;
		return 0;
	}
	i = view_by_name(&v, ifname);
	r = i ? (unsigned)i->ifindex : 0;
	view_put(&v);
	if (!r)
		errno = ENODEV;
	return r;
}

/* NULL with ENXIO for an unknown index, as glibc (it turns SIOCGIFNAME's
 * ENODEV into ENXIO). */
char *if_indextoname(unsigned int ifindex, char ifname[IF_NAMESIZE])
{
	const struct stack_if_info *i;
	struct view v;
	int e;

	if (eng_internal)
		return real()->if_indextoname(ifindex, ifname);
	e = view_get(&v);
	if (e) {
		errno = e;
		return NULL;
	}
	i = ifindex <= (unsigned)INT32_MAX ? view_by_index(&v, (int)ifindex) : NULL;
	if (i)
		strncpy(ifname, i->name, IF_NAMESIZE);
	view_put(&v);
	if (!i) {
		errno = ENXIO;
		return NULL;
	}
	return ifname;
}

/* glibc's layout: an array ended by {0, NULL}, each name its own block;
 * ENOBUFS when memory runs out, as glibc. */
struct if_nameindex *if_nameindex(void)
{
	struct if_nameindex *idx;
	struct view v;
	int e, k;

	if (eng_internal)
		return real()->if_nameindex();
	e = view_get(&v);
	if (e) {
		errno = ENOBUFS;
		return NULL;
	}
	idx = calloc((size_t)v.n + 1, sizeof(*idx));
	for (k = 0; idx && k < v.n; k++) {
		idx[k].if_index = (unsigned)v.i[k].ifindex;
		idx[k].if_name = strdup(v.i[k].name);
		if (!idx[k].if_name) {
			if_freenameindex(idx);
			idx = NULL;
		}
	}
	view_put(&v);
	if (!idx)
		errno = ENOBUFS;
	return idx;
}

void if_freenameindex(struct if_nameindex *ptr)
{
	if (!ptr)
		return;
	for (struct if_nameindex *p = ptr; p->if_name || p->if_index; p++)
		free(p->if_name);
	free(ptr);
}

/* ---- the interface ioctls -------------------------------------------------- */

bool shim_if_ioctl_handles(unsigned long req)
{
	unsigned cmd = (unsigned)req; /* the kernel reads 32 bits */

	if (cmd == SIOCOUTQNSD || cmd == SIOCGSKNS)
		return false; /* the socket's own business */
	return (cmd >= SIOCADDRT && cmd < SIOCPROTOPRIVATE) ||
	       (cmd >= SIOCDEVPRIVATE && cmd <= SIOCDEVPRIVATE + 15) ||
	       (cmd >= 0x8B00 && cmd <= 0x8BFF); /* wireless extensions */
}

/* Queries netshim does not answer: the devices have no such thing. */
static bool unserved_query(unsigned cmd)
{
	switch (cmd) {
	case SIOCGIFMEM:
	case SIOCGIFENCAP:
	case SIOCGIFSLAVE:
	case SIOCGIFPFLAGS:
	case SIOCGIFCOUNT:
	case SIOCGIFBR:
	case SIOCETHTOOL:
	case SIOCGMIIPHY:
	case SIOCGMIIREG:
	case SIOCWANDEV:
	case SIOCGARP:
	case SIOCGRARP:
	case SIOCGIFVLAN:
	case SIOCBONDSLAVEINFOQUERY:
	case SIOCBONDINFOQUERY:
	case SIOCGHWTSTAMP:
		return true;
	}
	return (cmd >= SIOCDEVPRIVATE && cmd <= SIOCDEVPRIVATE + 15) ||
	       (cmd >= 0x8B00 && cmd <= 0x8BFF);
}

/* SIOCGIFCONF (dev_ifconf, inet_gifconf): one struct ifreq per IPv4
 * address; a NULL buffer asks for the length; a short one takes the whole
 * entries that fit. */
static int if_conf(const struct view *v, struct ifconf *ifc)
{
	const int size = (int)sizeof(struct ifreq);
	int len = ifc->ifc_len, total = 0;

	for (int k = 0; k < v->n; k++)
		for (unsigned a = 0; a < v->i[k].naddr; a++) {
			struct ifreq r;

			if (v->i[k].addrs[a].addr.family != STACK_AF_INET)
				continue;
			if (!ifc->ifc_buf) {
				total += size;
				continue;
			}
			if (len - total < size)
				break;
			memset(&r, 0, sizeof(r));
			strcpy(r.ifr_name, v->i[k].name);
			sin_set((struct sockaddr_in *)(void *)&r.ifr_addr,
				v->i[k].addrs[a].addr.addr);
			memcpy(ifc->ifc_buf + total, &r, sizeof(r));
			total += size;
		}
	ifc->ifc_len = total;
	return 0;
}

/* SIOCGIFNAME: the name of ifr_ifindex (dev_ifname: strcpy into a name
 * field whose last byte dev_ioctl zeroed, as for every device ioctl). */
static int if_name(const struct view *v, struct ifreq *ifr)
{
	const struct stack_if_info *i = view_by_index(v, ifr->ifr_ifindex);

	if (!i)
		return fail(ENODEV);
	ifr->ifr_name[IFNAMSIZ - 1] = '\0';
	strcpy(ifr->ifr_name, i->name);
	return 0;
}

/* The AF_INET ioctls (devinet_ioctl): the address whose label is the name
 * (an alias label "lo:1" matches none), preferring the one the caller put
 * in ifr_addr when its family is AF_INET (4.4BSD style). */
static int if_inet(const struct view *v, unsigned cmd, struct ifreq *ifr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ifr->ifr_addr;
	struct sockaddr_in orig;
	const struct stack_if_info *i;
	char name[IFNAMSIZ];
	int pick = -1;

	memcpy(name, ifr->ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	memcpy(&orig, sin, sizeof(orig));
	i = view_by_name(v, name);
	if (!i)
		return fail(ENODEV);
	for (int pass = orig.sin_family == AF_INET ? 0 : 1; pass < 2 && pick < 0; pass++)
		for (unsigned a = 0; a < i->naddr && pick < 0; a++) {
			if (i->addrs[a].addr.family != STACK_AF_INET || strcmp(name, i->name) != 0)
				continue;
			if (pass == 0 && memcmp(&orig.sin_addr, i->addrs[a].addr.addr, 4) != 0)
				continue;
			pick = (int)a;
		}
	if (pick < 0)
		return fail(EADDRNOTAVAIL);
	ifr->ifr_name[IFNAMSIZ - 1] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	switch (cmd) {
	case SIOCGIFADDR:
	case SIOCGIFDSTADDR: /* no peer: the destination is the address */
		memcpy(&sin->sin_addr, i->addrs[pick].addr.addr, 4);
		break;
	case SIOCGIFNETMASK:
		prefix_mask((uint8_t *)&sin->sin_addr, i->addrs[pick].prefixlen, 4);
		break;
	case SIOCGIFBRDADDR: /* none configured: 0.0.0.0 */
		break;
	}
	return 0;
}

/* The device ioctls (dev_ifsioc_locked): each writes its own field only. */
static int if_dev(const struct view *v, unsigned cmd, struct ifreq *ifr)
{
	const struct stack_if_info *i;
	char name[IFNAMSIZ];

	memcpy(name, ifr->ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	i = view_by_name(v, name);
	if (!i)
		return fail(ENODEV);
	ifr->ifr_name[IFNAMSIZ - 1] = '\0';
	switch (cmd) {
	case SIOCGIFFLAGS:
		ifr->ifr_flags = (short)if_flags(v, i);
		break;
	case SIOCGIFMETRIC:
		ifr->ifr_metric = 0;
		break;
	case SIOCGIFMTU:
		ifr->ifr_mtu = (int)i->mtu;
		break;
	case SIOCGIFINDEX:
		ifr->ifr_ifindex = i->ifindex;
		break;
	case SIOCGIFTXQLEN:
		ifr->ifr_qlen = is_lo(i) ? LO_TXQLEN : TUN_TXQLEN;
		break;
	case SIOCGIFMAP:
		ifr->ifr_map.mem_start = 0;
		ifr->ifr_map.mem_end = 0;
		ifr->ifr_map.base_addr = 0;
		ifr->ifr_map.irq = 0;
		ifr->ifr_map.dma = 0;
		ifr->ifr_map.port = 0;
		break;
	case SIOCGIFHWADDR: /* dev_get_mac_address */
		if (if_halen(i))
			memset(ifr->ifr_hwaddr.sa_data, 0, if_halen(i));
		else
			memset(ifr->ifr_hwaddr.sa_data, 0, sizeof(ifr->ifr_hwaddr.sa_data));
		ifr->ifr_hwaddr.sa_family = if_hatype(i);
		break;
	}
	return 0;
}

int shim_if_ioctl(int fd, unsigned long req, void *arg)
{
	unsigned cmd = (unsigned)req;
	struct shim_sock *s = sock_of(fd);
	struct view v;
	int r, e;

	switch (cmd) {
	case SIOCGIFADDR:
	case SIOCGIFDSTADDR:
	case SIOCGIFBRDADDR:
	case SIOCGIFNETMASK:
		/* inet6_ioctl and dev_ioctl do not know them */
		if (s && s->family != AF_INET)
			return fail(ENOTTY);
		break;
	case SIOCGIFCONF:
	case SIOCGIFNAME:
	case SIOCGIFFLAGS:
	case SIOCGIFMETRIC:
	case SIOCGIFMTU:
	case SIOCGIFINDEX:
	case SIOCGIFTXQLEN:
	case SIOCGIFMAP:
	case SIOCGIFHWADDR:
		break;
	default:
		return fail(unserved_query(cmd) ? EOPNOTSUPP : EPERM);
	}
	if (!arg)
		return fail(EFAULT);
	e = view_get(&v);
	if (e)
		return fail(e);
	switch (cmd) {
	case SIOCGIFCONF:
		r = if_conf(&v, arg);
		break;
	case SIOCGIFNAME:
		r = if_name(&v, arg);
		break;
	case SIOCGIFADDR:
	case SIOCGIFDSTADDR:
	case SIOCGIFBRDADDR:
	case SIOCGIFNETMASK:
		r = if_inet(&v, cmd, arg);
		break;
	default:
		r = if_dev(&v, cmd, arg);
		break;
	}
	e = errno;
	view_put(&v);
	errno = e;
	return r;
}
