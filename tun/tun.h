/*
 * tun.h — the public API of netshim's TUN layer.
 *
 * The layer below the stack: it creates a TUN device (IFF_TUN | IFF_NO_PI)
 * or attaches to an existing one, configures the kernel side when it
 * created the device (MTU, link up, an IPv4 and an IPv6 address), and moves
 * raw IP packets between the device and the caller in batches.  It knows
 * nothing about TCP or the stack; callers (shim/, tools/) glue the two.
 * Errors are negative errno values, with a one-line message in t->err.
 */
#ifndef NETSHIM_TUN_H
#define NETSHIM_TUN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TUN_DEV_PATH "/dev/net/tun"
#define TUN_ERRLEN 256
/* Packets the kernel may queue towards us on a device we create (its
 * default, 500, overflows when several kernel senders burst at once while
 * the stack is busy: every overflow is a TCP retransmission). */
#define TUN_TXQLEN 4096

/* What tun_open should do.  The addresses are the kernel's side of the
 * link, applied only when tun_open created the device: an existing device
 * belongs to whoever made it, who also configured it. */
struct tun_config {
	const char *name; /* device name; NULL or "" = kernel picks tunN */
	uint32_t mtu;	  /* 0 = leave the device's MTU as it is */
	bool has_addr4;
	struct in_addr addr4; /* kernel-side IPv4 address */
	unsigned prefix4;     /* its prefix length, 0..32 */
	bool has_addr6;
	struct in6_addr addr6; /* kernel-side IPv6 address (added NODAD) */
	unsigned prefix6;      /* its prefix length, 0..128 */
};

/* An open device.  fd is non-blocking and close-on-exec; poll it for
 * POLLIN to learn that packets wait. */
struct tun {
	int fd;
	int ifindex;
	char name[IF_NAMESIZE];
	bool created; /* we created it (it vanishes on tun_close) */
	uint32_t mtu; /* the device's MTU after tun_open */
	/* Counters of the batch calls. */
	uint64_t rx_packets, tx_packets;
	uint64_t tx_errors;    /* packets the kernel refused (dropped) */
	char err[TUN_ERRLEN];  /* last error, one line, no newline */
	char warn[TUN_ERRLEN]; /* a non-fatal remark from tun_open, or "" */
};

/* One packet buffer of a batch: data[0..cap) is room, len the bytes used. */
struct tun_pkt {
	void *data;
	size_t len;
	size_t cap;
};

/* Check a device name: non-empty, shorter than IFNAMSIZ, not "." or "..",
 * no '/', ':' or whitespace.  0 or -EINVAL. */
int tun_name_valid(const char *name);

/* Open (create or attach) the device of cfg into t.  Returns 0 or
 * -errno with t->err set; on error nothing stays open.  Errors a user can
 * act on:
 *   -ENOENT / -ENODEV  /dev/net/tun missing or the tun module not loaded
 *   -EPERM / -EACCES   no CAP_NET_ADMIN and the device is not ours
 *   -EBUSY             another process holds the (single-queue) device
 *   -EINVAL            bad name, or an existing device that is not a TUN
 */
int tun_open(struct tun *t, const struct tun_config *cfg);
void tun_close(struct tun *t);

/* Read up to n waiting packets into pkts[] (each pkts[i].len set).
 * Returns how many were read (0: nothing waits) or -errno if the very
 * first read failed for a reason other than "nothing waits". */
int tun_read_batch(struct tun *t, struct tun_pkt *pkts, unsigned n);
/* Write pkts[0..n).  A packet the kernel refuses (malformed, too big) is
 * counted in tx_errors and skipped.  Returns how many were consumed
 * (written or refused); fewer than n when the device cannot take more
 * now; -errno when the device is unusable. */
int tun_write_batch(struct tun *t, const struct tun_pkt *pkts, unsigned n);

/* A short text for a tun_open error code, without device context. */
const char *tun_strerror(int err);

#endif
