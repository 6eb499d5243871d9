/*
 * tun.c — the TUN device: create or attach (TUNSETIFF on /dev/net/tun),
 * configure the kernel side of a device we created (ioctl for MTU and link
 * state, rtnetlink for addresses), and batches of raw IP packets.
 * Callers: tools/echod.c, shim/.  Calls: the kernel only.
 *
 * Offloads (IFF_VNET_HDR: checksum, TSO/GSO) are future work: today every
 * read and write is one IP packet of at most the MTU, one syscall each.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

/* IPv6 needs at least this MTU on a link (RFC 8200 §5). */
#define IPV6_MIN_MTU 1280

static int fail(struct tun *t, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct tun *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return err;
}

const char *tun_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -ENOENT:
		return TUN_DEV_PATH " is missing: create the node "
				    "(mknod " TUN_DEV_PATH " c 10 200) or load the tun "
				    "module (modprobe tun)";
	case -ENODEV:
	case -ENXIO:
		return "the kernel has no TUN driver: load the tun module "
		       "(modprobe tun)";
	case -EPERM:
	case -EACCES:
		return "permission denied: run as root (CAP_NET_ADMIN), or "
		       "pre-create the device with `ip tuntap add dev NAME "
		       "mode tun user USER`";
	case -EBUSY:
		return "device busy: another process holds it";
	case -EINVAL:
		return "invalid device name, or the device exists and is not "
		       "a single-queue TUN device";
	default:
		return strerror(-err);
	}
}

int tun_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return -EINVAL;
	n = strlen(name);
	if (n == 0 || n >= IFNAMSIZ)
		return -EINVAL;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	/* The kernel's dev_valid_name() refuses '/', ':' and whitespace. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
			return -EINVAL;
	}
	return 0;
}

/* ---- ioctl helpers on an AF_INET datagram socket -------------------- */

/* A zeroed ifreq naming the device (name is valid: < IFNAMSIZ). */
static void ifreq_init(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
}

static int ctl_socket(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return s < 0 ? -errno : s;
}

static int get_mtu(int s, const char *name, uint32_t *mtu)
{
	struct ifreq ifr;

	ifreq_init(&ifr, name);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
		return -errno;
	*mtu = (uint32_t)ifr.ifr_mtu;
	return 0;
}

static int set_mtu(int s, const char *name, uint32_t mtu)
{
	struct ifreq ifr;

	ifreq_init(&ifr, name);
	ifr.ifr_mtu = (int)mtu;
	return ioctl(s, SIOCSIFMTU, &ifr) < 0 ? -errno : 0;
}

static int set_txqlen(int s, const char *name, int qlen)
{
	struct ifreq ifr;

	ifreq_init(&ifr, name);
	ifr.ifr_qlen = qlen;
	return ioctl(s, SIOCSIFTXQLEN, &ifr) < 0 ? -errno : 0;
}

/* Bring the link up; *was_up tells whether it already was. */
static int set_up(int s, const char *name, bool *was_up)
{
	struct ifreq ifr;

	ifreq_init(&ifr, name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	*was_up = ifr.ifr_flags & IFF_UP;
	if (*was_up)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* ---- rtnetlink ---------------------------------------------------------- */

/* A request under construction: the header, then the body and its
 * attributes appended in raw[]. */
struct nlreq {
	union {
		struct nlmsghdr h;
		char raw[512];
	};
};

static struct rtattr *nl_attr(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(void *)(r->raw + NLMSG_ALIGN(r->h.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

/* Close a nested attribute opened by nl_attr(r, type, NULL, 0). */
static void nl_nest_end(struct nlreq *r, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)(r->raw + r->h.nlmsg_len - (char *)nest);
}

/* Send one request and wait for its acknowledgement: 0 or -errno. */
static int nl_talk(struct nlreq *r)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	union {
		struct nlmsghdr h;
		char buf[1024];
	} ans;
	int s, err = -EIO;
	ssize_t n;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->h.nlmsg_seq = 1;
	if (sendto(s, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		n = recv(s, &ans, sizeof(ans), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		for (struct nlmsghdr *h = &ans.h; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					goto out;
				err = e->error; /* 0 is the ACK */
				goto out;
			}
		}
	}
out:
	close(s);
	return err;
}

/* RTM_NEWADDR: family/addr/prefix on ifindex, without duplicate address
 * detection (a TUN peer is the only other host on the link). */
static int add_addr(int ifindex, int family, const void *addr, unsigned plen)
{
	struct nlreq r;
	struct ifaddrmsg *ifa;
	size_t alen = family == AF_INET ? 4 : 16;
	uint32_t flags = IFA_F_NODAD;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(*ifa));
	r.h.nlmsg_type = RTM_NEWADDR;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = NLMSG_DATA(&r.h);
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	nl_attr(&r, IFA_LOCAL, addr, alen);
	nl_attr(&r, IFA_ADDRESS, addr, alen);
	nl_attr(&r, IFA_FLAGS, &flags, sizeof(flags));
	return nl_talk(&r);
}

/* RTM_SETLINK: IPv6 addr_gen_mode none, so the kernel gives the device no
 * link-local address and, lacking one, sends no router solicitations into
 * the TUN: the stack sees only the traffic the user makes. */
static int set_addr_gen_none(int ifindex)
{
	struct nlreq r;
	struct ifinfomsg *ifi;
	struct rtattr *spec, *inet6;
	uint8_t mode = IN6_ADDR_GEN_MODE_NONE;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	r.h.nlmsg_type = RTM_SETLINK;
	ifi = NLMSG_DATA(&r.h);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	spec = nl_attr(&r, IFLA_AF_SPEC, NULL, 0);
	inet6 = nl_attr(&r, AF_INET6, NULL, 0);
	nl_attr(&r, IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof(mode));
	nl_nest_end(&r, inet6);
	nl_nest_end(&r, spec);
	return nl_talk(&r);
}

/* ---- open and close ------------------------------------------------- */

static int open_errmsg(struct tun *t, int err, const char *name, bool existed)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		if (existed)
			return fail(t, err,
				    "cannot attach to %s: permission denied: "
				    "it belongs to another user; run as root, "
				    "or re-create it with `ip tuntap add dev %s "
				    "mode tun user USER`",
				    name, name);
		return fail(t, err,
			    "cannot create %s: permission denied: run as root "
			    "(CAP_NET_ADMIN), or pre-create the device with "
			    "`ip tuntap add dev %s mode tun user USER`",
			    *name ? name : "a TUN device", *name ? name : "NAME");
	case -EBUSY:
		return fail(t, err, "%s is busy: another process holds it", name);
	case -EINVAL:
		return fail(t, err, "%s exists and is not a single-queue TUN device", name);
	default:
		return fail(t, err, "TUNSETIFF %s: %s", name, strerror(-err));
	}
}

static int configure_kernel_side(struct tun *t, const struct tun_config *cfg, int ctl)
{
	bool was_up;
	int err;

	if (cfg->has_addr6) {
		if (t->mtu < IPV6_MIN_MTU)
			return fail(t, -EINVAL,
				    "%s: IPv6 needs an MTU of at least %d, "
				    "not %u",
				    t->name, IPV6_MIN_MTU, t->mtu);
		err = set_addr_gen_none(t->ifindex);
		if (err)
			return fail(t, err, "%s: IPv6 addr_gen_mode: %s%s", t->name, strerror(-err),
				    err == -EAFNOSUPPORT ? " (is IPv6 disabled?)" : "");
	}
	err = set_up(ctl, t->name, &was_up);
	if (err)
		return fail(t, err, "%s: link up: %s", t->name, strerror(-err));
	if (cfg->has_addr4) {
		err = add_addr(t->ifindex, AF_INET, &cfg->addr4, cfg->prefix4);
		if (err)
			return fail(t, err, "%s: adding the IPv4 address: %s", t->name,
				    strerror(-err));
	}
	if (cfg->has_addr6) {
		err = add_addr(t->ifindex, AF_INET6, &cfg->addr6, cfg->prefix6);
		if (err)
			return fail(
			    t, err, "%s: adding the IPv6 address: %s%s", t->name, strerror(-err),
			    err == -EACCES || err == -EPERM ? " (is IPv6 disabled on it?)" : "");
	}
	return 0;
}

/* An existing device: adjust its MTU if asked and bring it up if we may;
 * its addresses are its owner's business. */
static int adopt_existing(struct tun *t, const struct tun_config *cfg, int ctl)
{
	bool was_up;
	int err;

	if (cfg->mtu && cfg->mtu != t->mtu) {
		err = set_mtu(ctl, t->name, cfg->mtu);
		if (err)
			return fail(t, err,
				    "%s: cannot change the MTU from %u to %u "
				    "(%s): ask for MTU %u, or run `ip link set "
				    "%s mtu %u` as root",
				    t->name, t->mtu, cfg->mtu, strerror(-err), t->mtu, t->name,
				    cfg->mtu);
		t->mtu = cfg->mtu;
	}
	err = set_up(ctl, t->name, &was_up);
	if (err)
		snprintf(t->warn, sizeof(t->warn),
			 "%s is down and cannot be brought up (%s): run "
			 "`ip link set %s up` as root",
			 t->name, strerror(-err), t->name);
	return 0;
}

int tun_open(struct tun *t, const struct tun_config *cfg)
{
	const char *name = cfg->name ? cfg->name : "";
	struct ifreq ifr;
	bool existed = false;
	int ctl = -1, err;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (*name) {
		if (tun_name_valid(name))
			return fail(t, -EINVAL,
				    "bad device name \"%s\": it needs 1 to %d "
				    "characters, no '/', ':' or whitespace, and "
				    "not \".\" or \"..\"",
				    name, IFNAMSIZ - 1);
		existed = if_nametoindex(name) != 0;
	}
	if (cfg->has_addr4 && cfg->prefix4 > 32)
		return fail(t, -EINVAL, "IPv4 prefix length %u > 32", cfg->prefix4);
	if (cfg->has_addr6 && cfg->prefix6 > 128)
		return fail(t, -EINVAL, "IPv6 prefix length %u > 128", cfg->prefix6);

	t->fd = open(TUN_DEV_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0) {
		err = -errno;
		if (err == -ENOENT || err == -ENODEV || err == -ENXIO)
			return fail(t, err, "%s: %s", TUN_DEV_PATH, tun_strerror(err));
		if (err == -EACCES || err == -EPERM)
			return fail(t, err,
				    "cannot open %s: permission denied: run as "
				    "root, or give the node its usual mode "
				    "(chmod 0666 %s) and pre-create the device "
				    "with `ip tuntap add dev %s mode tun user "
				    "USER`",
				    TUN_DEV_PATH, TUN_DEV_PATH, *name ? name : "NAME");
		return fail(t, err, "cannot open %s: %s", TUN_DEV_PATH, strerror(-err));
	}

	ifreq_init(&ifr, name);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		err = open_errmsg(t, -errno, name, existed);
		goto fail;
	}
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = 0;
	t->created = !existed;
	t->ifindex = (int)if_nametoindex(t->name);
	if (!t->ifindex) {
		err = fail(t, -errno, "%s: no interface index: %s", t->name, strerror(errno));
		goto fail;
	}

	ctl = ctl_socket();
	if (ctl < 0) {
		err = fail(t, ctl, "socket: %s", strerror(-ctl));
		goto fail;
	}
	err = get_mtu(ctl, t->name, &t->mtu);
	if (err) {
		fail(t, err, "%s: reading the MTU: %s", t->name, strerror(-err));
		goto fail;
	}
	if (t->created) {
		if (cfg->mtu && cfg->mtu != t->mtu) {
			err = set_mtu(ctl, t->name, cfg->mtu);
			if (err) {
				fail(t, err, "%s: MTU %u: %s", t->name, cfg->mtu, strerror(-err));
				goto fail;
			}
			t->mtu = cfg->mtu;
		}
		if (set_txqlen(ctl, t->name, TUN_TXQLEN) < 0)
			snprintf(t->warn, sizeof(t->warn), "%s: cannot set txqueuelen %d", t->name,
				 TUN_TXQLEN);
		err = configure_kernel_side(t, cfg, ctl);
	} else {
		err = adopt_existing(t, cfg, ctl);
	}
	if (err)
		goto fail;
	close(ctl);
	return 0;
fail:
	if (ctl >= 0)
		close(ctl);
	close(t->fd);
	t->fd = -1;
	return err;
}

void tun_close(struct tun *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* ---- packets --------------------------------------------------------- */

int tun_read_batch(struct tun *t, struct tun_pkt *pkts, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		ssize_t r = read(t->fd, pkts[done].data, pkts[done].cap);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || done)
				break;
			return -errno;
		}
		if (r == 0)
			break;
		pkts[done].len = (size_t)r;
		done++;
	}
	t->rx_packets += done;
	return (int)done;
}

int tun_write_batch(struct tun *t, const struct tun_pkt *pkts, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		ssize_t r = write(t->fd, pkts[done].data, pkts[done].len);

		if (r < 0) {
			switch (errno) {
			case EINTR:
				continue;
			case EAGAIN:
				return (int)done;
			case EIO: /* link down, or a runt packet */
			case EINVAL:
			case EMSGSIZE:
			case EFAULT:
			case ENOMEM:
			case ENOBUFS:
				/* this packet only: the kernel refused it */
				t->tx_errors++;
				done++;
				continue;
			default:
				return done ? (int)done : -errno;
			}
		}
		t->tx_packets++;
		done++;
	}
	return (int)done;
}
