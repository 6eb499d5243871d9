/*
 * tcphostile.c — the hostile kernel-side peer of tcp_hostile.sh: crafted
 * TCP segments at the stack under test (netshim-tcpdrv's echo server),
 * sent from the kernel side of the test's network namespace through the
 * TUN's route by raw sockets that carry their own IP header; the stack's
 * answers to spoofed sources are read back from the TUN device (ns0) by a
 * packet socket, since the kernel drops them (a blackhole route).
 *   tcphostile synflood  SYNs from random spoofed sources and ports
 *   tcphostile inject    blind RSTs or data (random sequence numbers, or a
 *                        sweep of the sequence space) into its own live
 *                        echo connections, every echoed byte checked
 *   tcphostile rfc5961   RFC 5961 on a connection it opened itself from a
 *                        spoofed source: in-window RST and SYN (challenge
 *                        ACK, no reset), data with an unacceptable ACK
 *   tcphostile sackmss   full-sized segments while a hole is open: their
 *                        SACK block must not push them past the MTU
 *   tcphostile ooo       out-of-order segments whose hole is never filled
 *                        (and well-behaved "bystanders" with one hole)
 *   tcphostile zerowin   connections that advertise window 0 for ever and
 *                        answer the stack's persist probes
 * The long-running ones write --ready once in place and hold until SIGTERM
 * or --hold seconds, then leave (--leave rst: a reset at the sequence
 * number the stack last acknowledged; silent: just go; mute: never answer
 * a probe either).
 * Results go to --report FILE as `key value` lines for the script to judge;
 * the exit status is 1 only when the attack itself could not be run.
 * Safety: every address, spoofed ones too, must be a documentation address
 * (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32); every loop is bounded by
 * a count and by --timeout, with alarm(2) behind it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

#define PROG "tcphostile"
#define MAXRC 1024	    /* raw connections */
#define MAXLC 64	    /* kernel-socket connections (inject) */
#define PKT_MAX 2048	    /* what we build and what we parse */
#define DATA_MSS 1400	    /* payload per segment we send; the MSS we announce */
#define LC_AHEAD 32768	    /* inject: bytes a connection may have unechoed */
#define LC_MAX (256u << 20) /* inject: bytes a connection sends at most */
#define LC_STALL 3.0	    /* inject: seconds without an echoed byte that end it */
#define HOSTILE_TAG "HOSTILE!"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

struct addr {
	int family;
	uint8_t a[16];
};

struct net {
	struct addr base;
	unsigned plen;
};

/* A connection whose handshake we made ourselves, from a spoofed source. */
struct rc {
	struct addr src, dst; /* src: ours (spoofed), dst: the stack */
	uint16_t sport, dport;
	uint32_t iss, snd_nxt, snd_end; /* ours; snd_end: send up to here */
	uint32_t skew;			/* bytes of ours that are not the pattern */
	uint32_t irs, rcv_nxt;		/* the stack's */
	uint32_t peer_ack, peer_wnd;	/* the latest the stack told us */
	uint16_t win;			/* the window we advertise */
	bool synack, est, reset, fin_in;
	bool answer_probes, take_data;
	uint64_t seed; /* the pattern we send */
	double t_progress, t_first_probe, t_last_probe, t_rst, t_leave;
	uint64_t n_synack, n_ack, n_pure, n_probe, n_rst, n_data, n_sack;
	uint64_t zw_bytes, probes_after_leave, rexmit_rounds;
	double probe_t[8];
	unsigned nprobe_t;
	uint32_t blk[4][2]; /* the SACK blocks of the latest ACK */
	unsigned nblk;
	uint64_t acks_with_sack;
	uint32_t ooo_first; /* ooo: the sequence number of our first segment */
	bool bystander;	    /* ooo: one lost segment, not a flood */
	uint8_t in[8192];   /* what the stack sent us (rfc5961: the echo) */
	size_t in_len;
};

/* A kernel-socket echo connection whose 4-tuple we know (inject). */
struct lc {
	int fd;
	struct addr la, ra;
	uint16_t lport, rport;
	uint64_t seed, tx, rx;
	bool shut, eof, done, failed, reset, corrupt, stalled;
	double t_progress;
	char why[160];
};

static struct {
	const char *mode;
	struct addr to[2];
	unsigned nto;
	struct net spoof[2];
	unsigned nspoof;
	uint16_t port;
	const char *dev, *ready, *report, *kind, *leave;
	unsigned conns, timeout_s, hold_s;
	uint64_t count, bytes, random_n, sweep, ready_after, seed, rsts, syns;
	uint32_t segs, seg_bytes, payload, bystanders;
	double rate;
	bool until_reset, have_seed;
} o = {.dev = "ns0",
       .leave = "rst",
       .conns = 1,
       .timeout_s = 30,
       .hold_s = 30,
       .rate = 10000,
       .segs = 600,
       .payload = 24,
       .seg_bytes = 1,
       .rsts = 200,
       .syns = 50};

static int raw_fd[2] = {-1, -1}; /* [0] IPv4, [1] IPv6 */
static int sniff_fd = -1;
static struct rc *rcs;
static unsigned nrc;
static int32_t sport_ix[65536];
static uint64_t rng_state;
static double t_start, deadline;
static volatile sig_atomic_t got_stop;
static FILE *rep;
static bool syn_sackok;	   /* offer SACK in our SYNs */
static bool syn_full_mss;  /* and the MSS of a 1500-byte MTU, not DATA_MSS */
static uint64_t frag_seen; /* IP fragments from the stack */
static uint64_t tx_packets, tx_dropped, rx_packets, rx_stray, stray_synack, stray_rst;

/* ---- small helpers -------------------------------------------------------- */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* splitmix64: one seed is a whole run. */
static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd32(void)
{
	return (uint32_t)(rnd64() >> 32);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static int fam_ix(int family)
{
	return family == AF_INET ? 0 : 1;
}

static const char *addr_str(const struct addr *a)
{
	static char buf[4][INET6_ADDRSTRLEN];
	static unsigned k;
	char *b = buf[k++ % 4];

	inet_ntop(a->family, a->a, b, INET6_ADDRSTRLEN);
	return b;
}

static bool addr_parse(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = AF_INET6;
		return true;
	}
	return false;
}

/* The documentation ranges (RFC 5737 TEST-NET-1 and -2, RFC 3849): what
 * this program sends can name no real host, even if it escaped. */
static bool addr_is_doc(const struct addr *a)
{
	if (a->family == AF_INET)
		return (a->a[0] == 192 && a->a[1] == 0 && a->a[2] == 2) ||
		       (a->a[0] == 198 && a->a[1] == 51 && a->a[2] == 100);
	return a->a[0] == 0x20 && a->a[1] == 0x01 && a->a[2] == 0x0d && a->a[3] == 0xb8;
}

static bool addr_eq(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && !memcmp(a->a, b->a, addr_len(a->family));
}

/* "198.51.100.0/24" or "2001:db8:bad::/48": inside a documentation range,
 * at least as narrow as it, and with room for hosts. */
static void net_parse(const char *s, struct net *n)
{
	char buf[64], *slash;
	unsigned max, min;

	if (strlen(s) >= sizeof(buf) || !(slash = strchr(strcpy(buf, s), '/')))
		die("--spoof %s: write NET/PREFIXLEN", s);
	*slash = 0;
	if (!addr_parse(buf, &n->base) || !addr_is_doc(&n->base))
		die("--spoof %s: not inside 192.0.2.0/24, 198.51.100.0/24 or 2001:db8::/32", s);
	n->plen = (unsigned)atoi(slash + 1);
	min = n->base.family == AF_INET ? 24 : 32;
	max = n->base.family == AF_INET ? 30 : 120;
	if (n->plen < min || n->plen > max)
		die("--spoof %s: the prefix length must be %u..%u", s, min, max);
	for (unsigned i = 0; i < addr_len(n->base.family); i++) {
		unsigned b0 = i * 8;
		uint8_t m = b0 >= n->plen	? 0
			    : b0 + 8 <= n->plen ? 0xff
						: (uint8_t)(0xff << (8 - (n->plen - b0)));

		n->base.a[i] &= m;
	}
}

static bool net_contains(const struct net *n, const struct addr *a)
{
	if (a->family != n->base.family)
		return false;
	for (unsigned i = 0; i < addr_len(a->family); i++) {
		unsigned b0 = i * 8;
		uint8_t m = b0 >= n->plen	? 0
			    : b0 + 8 <= n->plen ? 0xff
						: (uint8_t)(0xff << (8 - (n->plen - b0)));

		if ((a->a[i] & m) != n->base.a[i])
			return false;
	}
	return true;
}

/* A random host of the net: not its all-zeros or (IPv4) all-ones host. */
static void net_random(const struct net *n, struct addr *a)
{
	unsigned len = (unsigned)addr_len(n->base.family);

	for (int tries = 0; tries < 1000; tries++) {
		bool zeros = true, ones = true;

		*a = n->base;
		for (unsigned i = 0; i < len; i++) {
			unsigned b0 = i * 8;
			uint8_t m = b0 >= n->plen	? 0
				    : b0 + 8 <= n->plen ? 0xff
							: (uint8_t)(0xff << (8 - (n->plen - b0)));
			uint8_t r = (uint8_t)rnd64();

			a->a[i] = (uint8_t)((n->base.a[i] & m) | (r & ~m));
			zeros &= (a->a[i] & ~m) == 0;
			ones &= (uint8_t)(a->a[i] | m) == 0xff;
		}
		if (!zeros && !(ones && n->base.family == AF_INET) && net_contains(n, a))
			return;
	}
	die("no host address in the spoofed net");
}

static const struct net *spoof_for(int family)
{
	for (unsigned i = 0; i < o.nspoof; i++)
		if (o.spoof[i].base.family == family)
			return &o.spoof[i];
	die("no --spoof net for %s", family == AF_INET ? "IPv4" : "IPv6");
}

/* A count with an optional K/M/G suffix (powers of 1024). */
static uint64_t parse_size(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		die("--%s: \"%s\" is not a number", opt, s);
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	if (*end || v > (UINT64_MAX >> 20))
		die("--%s: \"%s\" is not a number", opt, s);
	return (uint64_t)v << shift;
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fclose(f))
		die("%s: %s", path, strerror(errno));
}

static void rep_line(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rep_line(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf(PROG ": %s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (rep) {
		fprintf(rep, "%s ", key);
		va_start(ap, fmt);
		vfprintf(rep, fmt, ap);
		va_end(ap);
		fputc('\n', rep);
		fflush(rep);
	}
}

/* Packets the TUN device dropped on their way to the stack (its queue was
 * full): the kernel does not tell the sender.  ip netns exec gives us the
 * namespace's own /sys. */
static uint64_t dev_tx_dropped(void)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped", o.dev);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static bool out_of_time(void)
{
	return got_stop || now_s() >= deadline;
}

/* ---- building and sending segments ---------------------------------------- */

struct seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t mss; /* an MSS option with this value (SYNs), 0: none */
	bool sackok;  /* and SACK-permitted (RFC 2018) */
	const void *data;
	size_t len;
};

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
	while (n > 1) {
		s += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		n -= 2;
	}
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The whole IP packet with valid checksums; returns its length. */
static size_t build(uint8_t *pkt, const struct addr *src, const struct addr *dst, uint16_t sport,
		    uint16_t dport, const struct seg *s)
{
	size_t ih = src->family == AF_INET ? 20 : 40;
	size_t th = 20 + (s->mss ? 4 : 0) + (s->sackok ? 4 : 0), tl = th + s->len;
	uint8_t *t = pkt + ih;
	uint32_t sum;

	if (tl + ih > PKT_MAX)
		die("segment too large");
	memset(pkt, 0, ih + th);
	if (src->family == AF_INET) {
		pkt[0] = 0x45;
		put16(pkt + 2, (uint16_t)(ih + tl));
		put16(pkt + 4, (uint16_t)rnd32());
		put16(pkt + 6, 0x4000); /* DF */
		pkt[8] = 64;
		pkt[9] = IPPROTO_TCP;
		memcpy(pkt + 12, src->a, 4);
		memcpy(pkt + 16, dst->a, 4);
		put16(pkt + 10, fold(sum16(0, pkt, 20)));
		sum = sum16(0, src->a, 4) + sum16(0, dst->a, 4);
	} else {
		put32(pkt, 0x60000000);
		put16(pkt + 4, (uint16_t)tl);
		pkt[6] = IPPROTO_TCP;
		pkt[7] = 64;
		memcpy(pkt + 8, src->a, 16);
		memcpy(pkt + 24, dst->a, 16);
		sum = sum16(0, src->a, 16) + sum16(0, dst->a, 16);
	}
	sum += IPPROTO_TCP + (uint32_t)tl;
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, s->seq);
	put32(t + 8, s->ack);
	t[12] = (uint8_t)((th / 4) << 4);
	t[13] = s->flags;
	put16(t + 14, s->win);
	if (s->mss) {
		t[20] = 2;
		t[21] = 4;
		put16(t + 22, s->mss);
	}
	if (s->sackok) {
		uint8_t *op = t + 20 + (s->mss ? 4 : 0);

		op[0] = op[1] = 1; /* NOP NOP */
		op[2] = 4;
		op[3] = 2;
	}
	if (s->len)
		memcpy(t + th, s->data, s->len);
	put16(t + 16, fold(sum16(sum, t, tl)));
	return ih + tl;
}

static void raw_open(void)
{
	int big = 4 << 20, one = 1;

	/* IPPROTO_RAW: the header is ours (IP_HDRINCL, and its IPv6 twin) */
	raw_fd[0] = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	raw_fd[1] = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	if (raw_fd[0] < 0 || raw_fd[1] < 0)
		die("raw socket: %s (needs CAP_NET_RAW)", strerror(errno));
	setsockopt(raw_fd[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	setsockopt(raw_fd[1], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	/* without it a full device queue drops our packets in silence
	 * (raw_send_hdrinc hides ENOBUFS); with it we wait and retry */
	setsockopt(raw_fd[0], IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	setsockopt(raw_fd[1], IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
}

/* Hand one packet to the kernel, routed by its destination (the TUN). */
static void xmit(const struct addr *dst, const uint8_t *pkt, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!addr_is_doc(dst))
		die("refusing to send to %s: not a documentation address", addr_str(dst));
	memset(&ss, 0, sizeof(ss));
	if (dst->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, dst->a, 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, dst->a, 16);
		len = sizeof(*s6);
	}
	for (int tries = 0; tries < 200; tries++) {
		if (sendto(raw_fd[fam_ix(dst->family)], pkt, n, 0, (struct sockaddr *)&ss, len) ==
		    (ssize_t)n) {
			tx_packets++;
			return;
		}
		if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			die("sendto %s: %s", addr_str(dst), strerror(errno));
		sleep_s(0.0002);
	}
	tx_dropped++;
}

static void send_seg(const struct addr *src, const struct addr *dst, uint16_t sport, uint16_t dport,
		     const struct seg *s)
{
	uint8_t pkt[PKT_MAX];

	if (!addr_is_doc(src))
		die("refusing to send from %s: not a documentation address", addr_str(src));
	xmit(dst, pkt, build(pkt, src, dst, sport, dport, s));
}

/* At most `rate` packets a second, in bursts of about a millisecond. */
struct pacer {
	double t0, rate;
	uint64_t n;
};

static void pace(struct pacer *p)
{
	double due = p->t0 + (double)p->n / p->rate, t = now_s();

	if (due > t + 0.001)
		sleep_s(due - t);
	p->n++;
}

/* ---- reading the stack's answers from the TUN ------------------------------ */

struct rxseg {
	struct addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *data;
	size_t len;
	bool sack;
	uint32_t blk[4][2]; /* SACK blocks, in the order sent */
	unsigned nblk;
};

static bool parse_pkt(const uint8_t *p, size_t n, struct rxseg *r)
{
	const uint8_t *t;
	size_t tl, off;

	memset(r, 0, sizeof(*r));
	if (n >= 20 && p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4, tot = get16(p + 2);

		if (ihl < 20 || tot < ihl || tot > n || p[9] != IPPROTO_TCP ||
		    (get16(p + 6) & 0x3fff))
			return false;
		r->src.family = r->dst.family = AF_INET;
		memcpy(r->src.a, p + 12, 4);
		memcpy(r->dst.a, p + 16, 4);
		t = p + ihl;
		tl = tot - ihl;
	} else if (n >= 40 && p[0] >> 4 == 6) {
		size_t pl = get16(p + 4);

		if (p[6] != IPPROTO_TCP || 40 + pl > n)
			return false;
		r->src.family = r->dst.family = AF_INET6;
		memcpy(r->src.a, p + 8, 16);
		memcpy(r->dst.a, p + 24, 16);
		t = p + 40;
		tl = pl;
	} else {
		return false;
	}
	if (tl < 20)
		return false;
	off = (size_t)(t[12] >> 4) * 4;
	if (off < 20 || off > tl)
		return false;
	r->sport = get16(t);
	r->dport = get16(t + 2);
	r->seq = get32(t + 4);
	r->ack = get32(t + 8);
	r->flags = t[13] & 0x3f;
	r->win = get16(t + 14);
	r->data = t + off;
	r->len = tl - off;
	for (size_t i = 20; i < off;) {
		uint8_t kind = t[i];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= off || t[i + 1] < 2)
			break;
		if (kind == 5 && i + t[i + 1] <= off) {
			r->sack = true;
			for (size_t b = i + 2; b + 8 <= i + t[i + 1] && r->nblk < 4; b += 8) {
				r->blk[r->nblk][0] = get32(t + b);
				r->blk[r->nblk][1] = get32(t + b + 4);
				r->nblk++;
			}
		}
		i += t[i + 1];
	}
	return true;
}

/* The bits of a net in the first or second 32-bit word of its address,
 * as a classic BPF compare: mask and value. */
static void net_word(const struct net *n, unsigned word, uint32_t *mask, uint32_t *val)
{
	unsigned b0 = word * 32, bits;

	if (!n) {
		*mask = 0;
		*val = 1; /* never equal */
		return;
	}
	bits = n->plen <= b0 ? 0 : n->plen - b0 >= 32 ? 32 : n->plen - b0;
	*mask = bits ? ~0u << (32 - bits) : 0;
	*val = get32(n->base.a + 4 * word) & *mask;
}

/* A packet socket on the TUN device that sees only packets addressed to
 * the spoofed nets (the filter keeps the legitimate traffic out). */
static void sniff_open(void)
{
	const struct net *n4 = NULL, *n6 = NULL;
	uint32_t m4, v4, m6a, v6a, m6b, v6b;
	struct sockaddr_ll sll;
	int big = 16 << 20, one = 1;
	unsigned ifindex = if_nametoindex(o.dev);

	if (!ifindex)
		die("--dev %s: %s", o.dev, strerror(errno));
	for (unsigned i = 0; i < o.nspoof; i++) {
		if (o.spoof[i].base.family == AF_INET)
			n4 = &o.spoof[i];
		else
			n6 = &o.spoof[i];
	}
	net_word(n4, 0, &m4, &v4);
	net_word(n6, 0, &m6a, &v6a);
	net_word(n6, 1, &m6b, &v6b);
	{
		struct sock_filter f[] = {
		    /* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
		    /* 1 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
		    /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 3),
		    /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),
		    /* 4 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, m4),
		    /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, v4, 7, 8),
		    /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 7),
		    /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 24),
		    /* 8 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, m6a),
		    /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, v6a, 0, 4),
		    /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 28),
		    /* 11 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, m6b),
		    /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, v6b, 0, 1),
		    /* 13 */ BPF_STMT(BPF_RET | BPF_K, 65535),
		    /* 14 */ BPF_STMT(BPF_RET | BPF_K, 0),
		};
		struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

		/* protocol 0 receives nothing until the filter is in place */
		sniff_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (sniff_fd < 0)
			die("packet socket: %s", strerror(errno));
		if (setsockopt(sniff_fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
			die("SO_ATTACH_FILTER: %s", strerror(errno));
	}
	setsockopt(sniff_fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(sniff_fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)ifindex;
	if (bind(sniff_fd, (struct sockaddr *)&sll, sizeof(sll)))
		die("bind packet socket to %s: %s", o.dev, strerror(errno));
}

/* ---- raw connections ------------------------------------------------------- */

static void rc_send(struct rc *c, uint32_t seq, uint8_t flags, const void *data, size_t len)
{
	struct seg s = {
	    .seq = seq, .ack = c->rcv_nxt, .flags = flags, .win = c->win, .data = data, .len = len};

	send_seg(&c->src, &c->dst, c->sport, c->dport, &s);
}

static void rc_ack(struct rc *c)
{
	rc_send(c, c->snd_nxt, TH_ACK, NULL, 0);
}

static struct rc *rc_new(const struct addr *dst)
{
	struct rc *c;
	uint16_t sport;

	if (nrc == MAXRC)
		die("more than %d connections", MAXRC);
	do
		sport = (uint16_t)(10000 + rnd32() % 50000);
	while (sport_ix[sport] >= 0);
	c = &rcs[nrc];
	memset(c, 0, sizeof(*c));
	c->dst = *dst;
	net_random(spoof_for(dst->family), &c->src);
	c->sport = sport;
	c->dport = o.port;
	c->iss = rnd32();
	c->win = 65535;
	c->seed = 1000 + nrc;
	sport_ix[sport] = (int32_t)nrc++;
	return c;
}

/* One segment from the stack to one of our spoofed sources. */
static void rc_input(const struct rxseg *r)
{
	int32_t ix = sport_ix[r->dport];
	struct rc *c;
	double t = now_s();

	if (ix < 0) {
		rx_stray++;
		stray_synack += (r->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK);
		stray_rst += !!(r->flags & TH_RST);
		return;
	}
	c = &rcs[ix];
	if (r->sport != c->dport || !addr_eq(&r->src, &c->dst) || !addr_eq(&r->dst, &c->src)) {
		rx_stray++;
		return;
	}
	if (r->flags & TH_RST) {
		c->n_rst++;
		if (!c->reset) {
			c->reset = true;
			c->t_rst = t;
		}
		return;
	}
	if ((r->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
		c->n_synack++;
		if (r->ack != c->iss + 1)
			return;
		if (!c->synack) {
			c->synack = true;
			c->irs = r->seq;
			c->rcv_nxt = r->seq + 1;
			c->peer_ack = r->ack;
			c->peer_wnd = r->win;
			c->t_progress = t;
		} else if (c->est) {
			rc_ack(c); /* our ACK of its SYN-ACK was lost */
		}
		return;
	}
	if (!(r->flags & TH_ACK) || !c->synack)
		return;
	c->n_ack++;
	c->n_sack += r->sack;
	if (r->sack) {
		memcpy(c->blk, r->blk, sizeof(c->blk));
		c->nblk = r->nblk;
		c->acks_with_sack++;
	}
	if (SEQ_GT(r->ack, c->peer_ack)) {
		c->peer_ack = r->ack;
		c->t_progress = t;
	}
	c->peer_wnd = r->win; /* no window scaling: we never offer it */
	/* a zero-window probe: an old sequence number and no data (Linux),
	 * or one byte beyond a closed window (BSD) */
	if ((r->len == 0 && r->seq == c->rcv_nxt - 1) ||
	    (c->win == 0 && r->len == 1 && r->seq == c->rcv_nxt)) {
		c->n_probe++;
		if (c->t_leave > 0)
			c->probes_after_leave++;
		if (!c->t_first_probe)
			c->t_first_probe = t;
		c->t_last_probe = t;
		if (c->nprobe_t < sizeof(c->probe_t) / sizeof(c->probe_t[0]))
			c->probe_t[c->nprobe_t++] = t;
		if (c->answer_probes && c->t_leave == 0)
			rc_ack(c);
		return;
	}
	if (r->len == 0 && !(r->flags & TH_FIN)) {
		c->n_pure++;
		return;
	}
	if (r->len) {
		c->n_data++;
		if (c->win == 0)
			c->zw_bytes += r->len;
		if (c->take_data && r->seq == c->rcv_nxt) {
			size_t k = r->len;

			if (k > sizeof(c->in) - c->in_len)
				k = sizeof(c->in) - c->in_len;
			memcpy(c->in + c->in_len, r->data, k);
			c->in_len += k;
			c->rcv_nxt += (uint32_t)r->len;
		}
	}
	if ((r->flags & TH_FIN) && c->take_data && r->seq + r->len == c->rcv_nxt) {
		c->rcv_nxt++;
		c->fin_in = true;
	}
	if (c->take_data && c->t_leave == 0)
		rc_ack(c);
}

/* Read what the packet socket has, until `until` (now: just drain). */
static void pump(double until)
{
	static uint8_t buf[65536];

	for (unsigned guard = 0; guard < 1000000; guard++) {
		ssize_t n = recv(sniff_fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct rxseg r;
		double t;
		struct pollfd pfd = {.fd = sniff_fd, .events = POLLIN};
		int ms;

		if (n > 0) {
			rx_packets++;
			if ((buf[0] >> 4 == 4 && n >= 20 && (get16(buf + 6) & 0x3fff)) ||
			    (buf[0] >> 4 == 6 && n >= 40 && buf[6] == 44))
				frag_seen++;
			if (parse_pkt(buf, (size_t)n, &r))
				rc_input(&r);
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			die("packet socket: %s", strerror(errno));
		t = now_s();
		if (t >= until || got_stop)
			return;
		ms = (int)((until - t) * 1000) + 1;
		poll(&pfd, 1, ms > 20 ? 20 : ms);
	}
}

static bool all_synack(void)
{
	for (unsigned i = 0; i < nrc; i++)
		if (!rcs[i].synack)
			return false;
	return true;
}

/* SYN, SYN-ACK, ACK for every connection; the ACK advertises ack_win. */
static void rc_handshake_all(uint16_t ack_win)
{
	struct pacer pc = {.t0 = now_s(), .rate = o.rate};

	for (int round = 0; round < 4 && !all_synack(); round++) {
		for (unsigned i = 0; i < nrc; i++) {
			struct rc *c = &rcs[i];
			struct seg s = {.seq = c->iss,
					.flags = TH_SYN,
					.win = 65535,
					.mss = syn_full_mss
						   ? (c->dst.family == AF_INET ? 1460 : 1440)
						   : DATA_MSS,
					.sackok = syn_sackok};

			if (c->synack)
				continue;
			pace(&pc);
			send_seg(&c->src, &c->dst, c->sport, c->dport, &s);
			if (i % 64 == 63)
				pump(0);
		}
		for (double end = now_s() + 1.0; now_s() < end && !all_synack() && !out_of_time();)
			pump(now_s() + 0.02);
	}
	if (!all_synack()) {
		unsigned missing = 0;

		for (unsigned i = 0; i < nrc; i++)
			missing += !rcs[i].synack;
		die("no SYN-ACK for %u of %u connections to %s port %u", missing, nrc,
		    addr_str(&rcs[0].dst), o.port);
	}
	for (unsigned i = 0; i < nrc; i++) {
		struct rc *c = &rcs[i];

		c->snd_nxt = c->snd_end = c->iss + 1;
		c->win = ack_win;
		c->est = true;
		rc_ack(c);
	}
	pump(now_s() + 0.05);
}

/* Send what lies between snd_nxt and snd_end, within the stack's window. */
static void rc_push(struct rc *c, struct pacer *pc)
{
	uint8_t buf[DATA_MSS];

	for (unsigned segs = 0; SEQ_LT(c->snd_nxt, c->snd_end) && segs < 16; segs++) {
		uint32_t inflight = c->snd_nxt - c->peer_ack;
		size_t n = c->snd_end - c->snd_nxt;

		if (SEQ_LT(c->snd_nxt, c->peer_ack)) {
			c->snd_nxt = c->peer_ack;
			continue;
		}
		if (inflight >= c->peer_wnd)
			return;
		if (n > DATA_MSS)
			n = DATA_MSS;
		if (n > c->peer_wnd - inflight)
			n = c->peer_wnd - inflight;
		pattern_fill(c->seed, c->snd_nxt - c->iss - 1 - c->skew, buf, n);
		if (pc)
			pace(pc);
		rc_send(c, c->snd_nxt, TH_ACK | TH_PSH, buf, n);
		c->snd_nxt += (uint32_t)n;
	}
}

/* Everyone's data up to snd_end, acknowledged; go back N after a stall. */
static bool rc_deliver_all(double timeout)
{
	struct pacer pc = {.t0 = now_s(), .rate = o.rate};
	double end = now_s() + timeout;

	for (unsigned i = 0; i < nrc; i++)
		rcs[i].t_progress = now_s();
	while (!out_of_time() && now_s() < end) {
		bool all = true;

		for (unsigned i = 0; i < nrc; i++) {
			struct rc *c = &rcs[i];

			if (c->reset || SEQ_GEQ(c->peer_ack, c->snd_end))
				continue;
			all = false;
			if (now_s() - c->t_progress > 0.3) {
				c->snd_nxt = c->peer_ack; /* go back N */
				c->t_progress = now_s();
				c->rexmit_rounds++;
			}
			rc_push(c, &pc);
		}
		if (all)
			return true;
		pump(now_s() + 0.002);
	}
	return false;
}

static void rc_leave_all(void)
{
	double t = now_s();

	for (unsigned i = 0; i < nrc; i++) {
		struct rc *c = &rcs[i];

		c->t_leave = t;
		/* only exactly rcv_nxt resets (RFC 5961 §3.2): the stack's
		 * latest ACK says where that is */
		if (!strcmp(o.leave, "rst") && !c->reset)
			rc_send(c, c->peer_ack, TH_RST, NULL, 0);
	}
}

/* Until SIGTERM, --hold seconds, --timeout, or (--until-reset) every
 * connection reset by the stack. */
static void hold(void)
{
	double end = now_s() + o.hold_s;

	while (!out_of_time() && now_s() < end) {
		bool all_reset = true;

		for (unsigned i = 0; i < nrc; i++)
			all_reset &= rcs[i].reset;
		if (o.until_reset && all_reset)
			break;
		pump(now_s() + 0.05);
	}
}

static void open_rcs(void)
{
	if (!o.nspoof)
		die("%s needs --spoof NET", o.mode);
	for (unsigned i = 0; i < o.conns; i++)
		rc_new(&o.to[i % o.nto]);
	raw_open();
	sniff_open();
}

static void report_rcs_common(void)
{
	uint64_t acks = 0, sacks = 0, rsts = 0, reset = 0;

	for (unsigned i = 0; i < nrc; i++) {
		acks += rcs[i].n_ack;
		sacks += rcs[i].n_sack;
		rsts += rcs[i].n_rst;
		reset += rcs[i].reset;
	}
	rep_line("conns", "%u", nrc);
	rep_line("acks_seen", "%" PRIu64, acks);
	rep_line("sack_acks_seen", "%" PRIu64, sacks);
	rep_line("rsts_seen", "%" PRIu64, rsts);
	rep_line("conns_reset_by_stack", "%" PRIu64, reset);
	rep_line("packets_sent", "%" PRIu64, tx_packets);
	rep_line("packets_not_sent", "%" PRIu64, tx_dropped);
}

/* ---- synflood ---------------------------------------------------------------- */

static int mode_synflood(void)
{
	struct pacer pc;
	uint64_t i;

	if (!o.nspoof || !o.count)
		die("synflood needs --spoof NET and --count N");
	raw_open();
	sniff_open();
	pc.t0 = now_s();
	pc.rate = o.rate;
	pc.n = 0;
	for (i = 0; i < o.count && !out_of_time(); i++) {
		const struct addr *dst = &o.to[i % o.nto];
		struct addr src;
		struct seg s = {.seq = rnd32(), .flags = TH_SYN, .win = 64240, .mss = 1460};

		net_random(spoof_for(dst->family), &src);
		pace(&pc);
		send_seg(&src, dst, (uint16_t)(1024 + rnd32() % 64512), o.port, &s);
		if (o.ready && i + 1 == o.ready_after)
			touch(o.ready);
		if (i % 256 == 255)
			pump(0);
	}
	pump(now_s() + 0.2);
	rep_line("syn_sent", "%" PRIu64, i);
	rep_line("seconds", "%.2f", now_s() - pc.t0);
	rep_line("synack_seen", "%" PRIu64, stray_synack);
	rep_line("rst_seen", "%" PRIu64, stray_rst);
	rep_line("packets_not_sent", "%" PRIu64, tx_dropped);
	return i == o.count ? 0 : 1;
}

/* ---- inject: blind RSTs or data into live kernel-socket connections ------- */

static struct lc lcs[MAXLC];
static unsigned nlc;
static uint64_t inj_sent, inj_at_failure = UINT64_MAX; /* hostile segments so far; then */

static void lc_fail(struct lc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lc_fail(struct lc *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	fprintf(stderr,
		PROG ": conn %s port %u: %s (after %" PRIu64 " bytes out, %" PRIu64 " back)\n",
		addr_str(&c->la), c->lport, c->why, c->tx, c->rx);
	c->failed = c->done = true;
	if (inj_at_failure == UINT64_MAX)
		inj_at_failure = inj_sent;
	close(c->fd);
	c->fd = -1;
}

static void sock_addr(const struct sockaddr_storage *ss, struct addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	a->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		memcpy(a->a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		memcpy(a->a, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	}
}

static void lc_open_all(void)
{
	double end = now_s() + 5;

	for (unsigned i = 0; i < o.conns; i++) {
		struct lc *c = &lcs[nlc++];
		const struct addr *to = &o.to[i % o.nto];
		struct sockaddr_storage ss;
		socklen_t len;

		memset(c, 0, sizeof(*c));
		c->seed = 500 + i;
		memset(&ss, 0, sizeof(ss));
		if (to->family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, to->a, 4);
			s4->sin_port = htons(o.port);
			len = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, to->a, 16);
			s6->sin6_port = htons(o.port);
			len = sizeof(*s6);
		}
		c->fd = socket(to->family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c->fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(c->fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
			die("connect to %s port %u: %s", addr_str(to), o.port, strerror(errno));
	}
	for (unsigned i = 0; i < nlc; i++) {
		struct lc *c = &lcs[i];
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int err = 0;
		socklen_t elen = sizeof(err);

		while (poll(&pfd, 1, 50) == 0)
			if (now_s() > end)
				die("connection %u not up within 5 s", i);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err)
			die("connect: %s", strerror(err));
		c->t_progress = now_s();
		getsockname(c->fd, (struct sockaddr *)&ss, &len);
		sock_addr(&ss, &c->la, &c->lport);
		len = sizeof(ss);
		getpeername(c->fd, (struct sockaddr *)&ss, &len);
		sock_addr(&ss, &c->ra, &c->rport);
	}
}

/* Read what came back; every byte must be the pattern we sent. */
static void lc_read(struct lc *c)
{
	static uint8_t buf[65536];

	for (int guard = 0; guard < 64 && !c->done; guard++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		long long bad;

		if (n < 0) {
			if (errno == EAGAIN)
				return;
			c->reset = errno == ECONNRESET;
			lc_fail(c, "recv: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			c->eof = true;
			if (c->rx != c->tx)
				lc_fail(c, "EOF after %" PRIu64 " of %" PRIu64 " bytes echoed",
					c->rx, c->tx);
			else if (!c->shut)
				lc_fail(c, "EOF before we shut down");
			else {
				c->done = true;
				close(c->fd);
				c->fd = -1;
			}
			return;
		}
		if (c->rx + (uint64_t)n > c->tx) {
			c->corrupt = true;
			lc_fail(c, "%" PRIu64 " bytes came back for %" PRIu64 " sent",
				c->rx + (uint64_t)n, c->tx);
			return;
		}
		bad = pattern_check(c->seed, c->rx, buf, (size_t)n);
		if (bad >= 0) {
			c->corrupt = true;
			lc_fail(c, "byte %lld of the echo is not what we sent%s", bad,
				memmem(buf, (size_t)n, HOSTILE_TAG, strlen(HOSTILE_TAG))
				    ? " (injected bytes)"
				    : "");
			return;
		}
		c->rx += (uint64_t)n;
		c->t_progress = now_s();
	}
}

/* Send more of the pattern: while injecting, keep LC_AHEAD unechoed so the
 * connection stays busy; after, up to --bytes, then shut down. */
static void lc_write(struct lc *c, bool injecting)
{
	static uint8_t buf[16384];
	uint64_t goal = injecting ? c->rx + LC_AHEAD : (c->tx > o.bytes ? c->tx : o.bytes);

	if (goal > LC_MAX)
		goal = LC_MAX;
	while (!c->shut && c->tx < goal) {
		size_t n = goal - c->tx < sizeof(buf) ? (size_t)(goal - c->tx) : sizeof(buf);
		ssize_t w;

		pattern_fill(c->seed, c->tx, buf, n);
		w = send(c->fd, buf, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN)
				return;
			c->reset = errno == ECONNRESET || errno == EPIPE;
			lc_fail(c, "send: %s", strerror(errno));
			return;
		}
		c->tx += (uint64_t)w;
	}
	if (!injecting && !c->shut && c->tx >= o.bytes) {
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
}

/* The i-th hostile segment: random ones spread over the connections, then
 * a sweep of the whole sequence space of the first one. */
static void inject_one(uint64_t i, uint64_t sweep_base)
{
	bool rst = !strcmp(o.kind, "rst");
	struct lc *c;
	struct seg s;
	char data[DATA_MSS];

	memset(&s, 0, sizeof(s));
	if (i < o.random_n) {
		c = &lcs[i % nlc];
		s.seq = rnd32();
	} else {
		c = &lcs[0];
		s.seq = (uint32_t)(sweep_base + (i - o.random_n) * o.sweep);
	}
	if (rst) {
		s.flags = i & 1 ? TH_RST | TH_ACK : TH_RST;
		s.ack = i & 1 ? rnd32() : 0;
	} else {
		s.flags = TH_ACK | TH_PSH;
		s.ack = rnd32();
		s.win = (uint16_t)rnd32();
		/* HOSTILE!0123456789abcdefHOSTILE!...: the echo check names it */
		for (size_t k = 0; k < o.payload; k += 24) {
			char tag[32];

			snprintf(tag, sizeof(tag), HOSTILE_TAG "%016" PRIx64, i);
			memcpy(data + k, tag, o.payload - k < 24 ? o.payload - k : 24);
		}
		s.data = data;
		s.len = o.payload;
	}
	/* the legitimate client's address and port: a blind spoofer knows
	 * the 4-tuple, not the sequence numbers */
	send_seg(&c->la, &c->ra, c->lport, c->rport, &s);
}

static int mode_inject(void)
{
	uint64_t sweep_n, total, sent = 0;
	uint64_t sweep_base = rnd32();
	struct pollfd pfd[MAXLC];
	double t0, t_inj_end = 0;
	unsigned ok = 0, failed = 0, reset = 0, corrupt = 0, stalled = 0;
	uint64_t echoed = 0, tx = 0, drops0;

	if (!o.kind || (strcmp(o.kind, "rst") && strcmp(o.kind, "data")))
		die("inject needs --kind rst|data");
	if (o.conns < 1 || o.conns > MAXLC)
		die("--conns: 1..%d", MAXLC);
	sweep_n = o.sweep ? ((1ull << 32) + o.sweep - 1) / o.sweep : 0;
	total = o.random_n + sweep_n;
	raw_open();
	lc_open_all();
	drops0 = dev_tx_dropped();
	t0 = now_s();
	for (;;) {
		bool injecting = sent < total, all_done = true;
		uint64_t due;

		if (out_of_time()) {
			for (unsigned i = 0; i < nlc; i++)
				if (!lcs[i].done)
					lc_fail(&lcs[i], "still open at the --timeout (%u s)",
						o.timeout_s);
			break;
		}
		due = (uint64_t)((now_s() - t0) * o.rate);
		if (due > total)
			due = total;
		for (unsigned burst = 0; sent < due && burst < 512; burst++)
			inject_one(sent++, sweep_base);
		inj_sent = sent;
		if (injecting && sent == total)
			t_inj_end = now_s();
		for (unsigned i = 0; i < nlc; i++) {
			pfd[i].fd = lcs[i].fd;
			pfd[i].events = POLLIN | (lcs[i].shut ? 0 : POLLOUT);
			pfd[i].revents = 0;
			all_done &= lcs[i].done;
		}
		if (all_done && sent == total)
			break;
		poll(pfd, nlc, 1);
		for (unsigned i = 0; i < nlc; i++) {
			struct lc *c = &lcs[i];

			if (c->done)
				continue;
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				lc_read(c);
			if (!c->done)
				lc_write(c, sent < total);
			/* nothing echoed for a while although bytes are owed:
			 * a wedged connection (say, one whose peer took bytes
			 * we never sent and now acknowledges them) */
			if (!c->done && c->rx < c->tx && now_s() - c->t_progress > LC_STALL) {
				c->stalled = true;
				lc_fail(c, "stalled: nothing echoed for %.0f s", LC_STALL);
			}
		}
	}
	for (unsigned i = 0; i < nlc; i++) {
		ok += lcs[i].done && !lcs[i].failed;
		failed += lcs[i].failed;
		reset += lcs[i].reset;
		corrupt += lcs[i].corrupt;
		stalled += lcs[i].stalled;
		echoed += lcs[i].rx;
		tx += lcs[i].tx;
	}
	rep_line("kind", "%s", o.kind);
	rep_line("conns", "%u", nlc);
	rep_line("injected_random", "%" PRIu64, sent < o.random_n ? sent : o.random_n);
	rep_line("injected_sweep", "%" PRIu64, sent > o.random_n ? sent - o.random_n : 0);
	rep_line("sweep_stride", "%" PRIu64, o.sweep);
	/* after that, segments for a connection that is gone meet the
	 * listener (an RST each) rather than the window check */
	rep_line("injected_before_first_failure", "%" PRIu64,
		 inj_at_failure == UINT64_MAX ? sent : inj_at_failure);
	rep_line("inject_seconds", "%.2f", (t_inj_end ? t_inj_end : now_s()) - t0);
	rep_line("conns_ok", "%u", ok);
	rep_line("conns_failed", "%u", failed);
	rep_line("conns_reset", "%u", reset);
	rep_line("conns_corrupt", "%u", corrupt);
	rep_line("conns_stalled", "%u", stalled);
	rep_line("bytes_sent", "%" PRIu64, tx);
	rep_line("bytes_echoed", "%" PRIu64, echoed);
	rep_line("packets_not_sent", "%" PRIu64, tx_dropped);
	rep_line("device_drops", "%" PRIu64, dev_tx_dropped() - drops0);
	for (unsigned i = 0; i < nlc; i++)
		if (lcs[i].failed)
			rep_line("failure", "%s port %u: %s", addr_str(&lcs[i].la), lcs[i].lport,
				 lcs[i].why);
	return 0;
}

/* ---- rfc5961 ------------------------------------------------------------------ */

/* Wait until the echo holds `want` bytes (or the stack reset us). */
static bool wait_echo(struct rc *c, size_t want, double timeout)
{
	double end = now_s() + timeout;

	while (c->in_len < want && !c->reset && !out_of_time() && now_s() < end)
		pump(now_s() + 0.01);
	return c->in_len >= want;
}

/* Send n more bytes of the pattern and see them acknowledged. */
static bool send_legit(struct rc *c, uint32_t n)
{
	c->snd_end += n;
	return rc_deliver_all(3.0) && !c->reset;
}

static void rfc5961_conn(struct rc *c, const char *sfx)
{
	struct pacer pc = {.t0 = now_s(), .rate = 2000};
	uint64_t before;
	size_t legit = 0;
	char key[64];
	uint32_t wnd;
	static const char old_ack[] = HOSTILE_TAG "old-ack!";
	static const char new_ack[] = HOSTILE_TAG "future-ack!";
	bool old_taken, new_taken;
	uint8_t expect[sizeof(c->in)];

#define KEY(k) (snprintf(key, sizeof(key), "%s%s", k, sfx), key)
	/* 1. a working echo */
	if (!send_legit(c, 1000) || !wait_echo(c, 1000, 2.0))
		die("%s: the first 1000 bytes were not echoed", sfx);
	legit = 1000;
	pump(now_s() + 0.2); /* let delayed ACKs settle */

	/* 2. RSTs inside the window, never at rcv_nxt: challenge ACKs only */
	wnd = c->peer_wnd > 2 ? c->peer_wnd : 2;
	before = c->n_pure;
	for (uint64_t i = 0; i < o.rsts && !out_of_time(); i++) {
		pace(&pc);
		rc_send(c, c->snd_nxt + 1 + rnd32() % (wnd - 1), TH_RST, NULL, 0);
		if (i % 16 == 15)
			pump(0);
	}
	pump(now_s() + 0.2);
	rep_line(KEY("rst_in_window_sent"), "%" PRIu64, o.rsts);
	rep_line(KEY("rst_challenge_acks"), "%" PRIu64, c->n_pure - before);

	/* 3. SYNs inside the window: challenge ACKs (RFC 5961 §4), after
	 * the per-connection rate limit (one per 500 ms, §7) let go */
	pump(now_s() + 0.6);
	before = c->n_pure;
	for (uint64_t i = 0; i < o.syns && !out_of_time(); i++) {
		struct seg s = {.seq = c->snd_nxt + rnd32() % wnd,
				.flags = TH_SYN,
				.win = 65535,
				.mss = DATA_MSS};

		pace(&pc);
		send_seg(&c->src, &c->dst, c->sport, c->dport, &s);
	}
	pump(now_s() + 0.2);
	rep_line(KEY("syn_in_window_sent"), "%" PRIu64, o.syns);
	rep_line(KEY("syn_challenge_acks"), "%" PRIu64, c->n_pure - before);

	/* 4. data at exactly rcv_nxt with an ACK outside [SND.UNA -
	 * MAX.SND.WND, SND.NXT]: RFC 5961 §5 says drop it (and challenge) */
	{
		struct seg s = {.seq = c->snd_nxt,
				.ack = c->rcv_nxt - 0x40000000u,
				.flags = TH_ACK | TH_PSH,
				.win = c->win,
				.data = old_ack,
				.len = sizeof(old_ack) - 1};

		send_seg(&c->src, &c->dst, c->sport, c->dport, &s);
		pump(now_s() + 0.3);
		old_taken = SEQ_GT(c->peer_ack, c->snd_nxt);
		if (old_taken) { /* the stack took it: we are behind now */
			c->snd_nxt = c->snd_end = c->snd_end + (uint32_t)s.len;
			c->skew += (uint32_t)s.len;
		}
	}
	{
		struct seg s = {.seq = c->snd_nxt,
				.ack = c->rcv_nxt + 0x40000000u,
				.flags = TH_ACK | TH_PSH,
				.win = c->win,
				.data = new_ack,
				.len = sizeof(new_ack) - 1};

		send_seg(&c->src, &c->dst, c->sport, c->dport, &s);
		pump(now_s() + 0.3);
		new_taken = SEQ_GT(c->peer_ack, c->snd_nxt);
		if (new_taken) {
			c->snd_nxt = c->snd_end = c->snd_end + (uint32_t)s.len;
			c->skew += (uint32_t)s.len;
		}
	}
	rep_line(KEY("data_old_ack_accepted"), "%d", old_taken);
	rep_line(KEY("data_future_ack_accepted"), "%d", new_taken);

	/* 5. the connection still works and carried only what we sent */
	if (send_legit(c, 1000)) {
		size_t want = 2000 + (old_taken ? sizeof(old_ack) - 1 : 0) +
			      (new_taken ? sizeof(new_ack) - 1 : 0);

		wait_echo(c, want, 2.0);
		legit = 2000;
	}
	pattern_fill(c->seed, 0, expect, 1000);
	{
		size_t off = 1000, at = 1000;

		if (old_taken)
			at += sizeof(old_ack) - 1;
		if (new_taken)
			at += sizeof(new_ack) - 1;
		pattern_fill(c->seed, 1000, expect + at, 1000);
		rep_line(KEY("echo_bytes"), "%zu", c->in_len);
		rep_line(KEY("echo_injected"), "%d",
			 memmem(c->in, c->in_len, HOSTILE_TAG, strlen(HOSTILE_TAG)) != NULL);
		rep_line(KEY("echo_legit_intact"), "%d",
			 c->in_len == at + 1000 && legit == 2000 && !memcmp(c->in, expect, off) &&
			     !memcmp(c->in + at, expect + at, 1000));
	}
	rep_line(KEY("reset_by_stack"), "%d", c->reset);

	/* 6. an orderly close */
	rc_send(c, c->snd_nxt, TH_FIN | TH_ACK, NULL, 0);
	c->snd_nxt++;
	for (double end = now_s() + 2; !c->fin_in && !c->reset && now_s() < end && !out_of_time();)
		pump(now_s() + 0.01);
	rep_line(KEY("closed"), "%d", c->fin_in);
#undef KEY
}

static int mode_rfc5961(void)
{
	o.conns = o.nto;
	open_rcs();
	for (unsigned i = 0; i < nrc; i++) {
		rcs[i].take_data = true;
		rcs[i].seed = 5961 + i;
	}
	rc_handshake_all(65535);
	for (unsigned i = 0; i < nrc; i++)
		rfc5961_conn(&rcs[i], rcs[i].dst.family == AF_INET ? ".v4" : ".v6");
	rep_line("packets_not_sent", "%" PRIu64, tx_dropped);
	return 0;
}

/* ---- ooo: holes never filled --------------------------------------------------- */

/* Does the stack still hold our first out-of-order segment?  Send it
 * again: held, the answer carries a D-SACK block for it (RFC 2883) besides
 * the block that holds it; forgotten (reneged, RFC 2018 §8), it is queued
 * again and only the one block names it. */
static unsigned ooo_probe_all(void)
{
	unsigned answered = 0;
	uint8_t data[DATA_MSS];
	uint64_t mark[MAXRC];
	double end;

	memset(data, 'o', sizeof(data));
	for (unsigned i = 0; i < nrc; i++) {
		mark[i] = rcs[i].acks_with_sack;
		rc_send(&rcs[i], rcs[i].ooo_first, TH_ACK | TH_PSH, data, o.seg_bytes);
	}
	end = now_s() + 1.0;
	for (unsigned i = 0; i < nrc && !out_of_time(); i++) {
		while (rcs[i].acks_with_sack == mark[i] && now_s() < end)
			pump(now_s() + 0.01);
		answered += rcs[i].acks_with_sack != mark[i];
	}
	return answered;
}

static bool ooo_held(const struct rc *c)
{
	unsigned n = 0;

	for (unsigned b = 0; b < c->nblk; b++)
		n += SEQ_LEQ(c->blk[b][0], c->ooo_first) && SEQ_LT(c->ooo_first, c->blk[b][1]);
	return n >= 2;
}

static int mode_ooo(void)
{
	struct pacer pc;
	uint64_t sent = 0;
	uint8_t data[DATA_MSS];
	unsigned nby = o.bystanders, held = 0, stuck = 0;

	if (o.seg_bytes < 1 || o.seg_bytes > DATA_MSS)
		die("--seg-bytes: 1..%d", DATA_MSS);
	if (nby >= o.conns)
		die("--bystanders must leave some of the --conns to attack");
	syn_sackok = true;
	open_rcs();
	rc_handshake_all(65535);
	memset(data, 'o', sizeof(data));
	pc.t0 = now_s();
	pc.rate = o.rate;
	pc.n = 0;
	for (unsigned i = 0; i < nrc; i++) {
		rcs[i].bystander = i < nby;
		rcs[i].ooo_first = rcs[i].snd_nxt + 1;
	}
	/* the bystanders: one segment after a hole, as after a loss */
	for (unsigned i = 0; i < nby; i++)
		rc_send(&rcs[i], rcs[i].ooo_first, TH_ACK | TH_PSH, data, o.seg_bytes);
	/* the flood: segment j of every attacker in turn, spread over its
	 * window, the byte at rcv_nxt never sent */
	for (uint32_t j = 0; j < o.segs && !out_of_time(); j++) {
		for (unsigned i = nby; i < nrc; i++) {
			struct rc *c = &rcs[i];
			uint32_t room =
			    c->peer_wnd > o.seg_bytes + 1 ? c->peer_wnd - o.seg_bytes - 1 : 0;
			uint32_t stride = room / o.segs;

			if (stride <= o.seg_bytes)
				stride = o.seg_bytes + 1;
			pace(&pc);
			rc_send(c, c->ooo_first + j * stride, TH_ACK | TH_PSH, data, o.seg_bytes);
			sent++;
		}
		pump(0);
	}
	pump(now_s() + 0.3);
	if (o.ready)
		touch(o.ready);
	hold();
	rep_line("held_probes_answered", "%u", ooo_probe_all());
	/* (only a bystander's answer says: an attacker's queue may be at its
	 * cap, and then the stack drops the copy before it could D-SACK it) */
	for (unsigned i = 0; i < nrc; i++) {
		held += rcs[i].bystander && ooo_held(&rcs[i]);
		stuck += rcs[i].peer_ack == rcs[i].snd_nxt;
	}
	rc_leave_all();
	pump(now_s() + 0.3);
	rep_line("ooo_segments_sent", "%" PRIu64, sent);
	rep_line("holes_still_open", "%u", stuck);
	rep_line("attackers", "%u", nrc - nby);
	rep_line("bystanders", "%u", nby);
	rep_line("bystanders_data_held", "%u", held);
	report_rcs_common();
	return 0;
}

/* ---- sackmss: SACK blocks must not push a segment past the MTU -------------- */

/* RFC 9293 §3.7.1 / RFC 6691: the MSS bounds the data, and the options a
 * segment carries come out of it (Linux's tcp_current_mss subtracts the
 * SACK blocks).  With a hole at our side of the stream the stack's data
 * segments carry a SACK block; when its full-sized ones grow by it, they
 * no longer fit the 1500-byte MTU and leave as IP fragments.  Made
 * deterministic: the data waits behind our zero window until we open it,
 * so it goes out in full-sized segments. */
static int mode_sackmss(void)
{
	const uint32_t bytes = 4200;

	o.conns = o.nto;
	syn_sackok = syn_full_mss = true;
	open_rcs();
	rc_handshake_all(0);
	for (unsigned i = 0; i < nrc; i++) {
		struct rc *c = &rcs[i];
		uint8_t one = 'h';

		/* a hole: one byte well past rcv_nxt */
		rc_send(c, c->snd_nxt + bytes + 1000, TH_ACK | TH_PSH, &one, 1);
		c->snd_end += bytes;
	}
	if (!rc_deliver_all(5.0))
		die("the stack did not take our %u bytes", bytes);
	pump(now_s() + 0.2); /* the echo server has it queued now */
	for (unsigned i = 0; i < nrc; i++) {
		/* the window opens: full segments go.  Our sequence number is
		 * past the byte beyond the hole, as a sender's is after a loss
		 * (a lower one would not update the window: RFC 9293 SND.WL1) */
		rcs[i].win = 65535;
		rcs[i].snd_nxt = rcs[i].snd_end + 1001;
		rc_ack(&rcs[i]);
	}
	pump(now_s() + 0.5);
	rep_line("ip_fragments_from_stack", "%" PRIu64, frag_seen);
	{
		uint64_t data = 0;

		for (unsigned i = 0; i < nrc; i++)
			data += rcs[i].n_data;
		rep_line("unfragmented_data_segments", "%" PRIu64, data);
	}
	rc_leave_all();
	pump(now_s() + 0.1);
	return 0;
}

/* ---- zerowin: window 0 for ever ------------------------------------------------- */

static int mode_zerowin(void)
{
	uint64_t probes = 0, zw = 0, after = 0, min_p = UINT64_MAX, max_p = 0;
	unsigned aborted = 0;
	double abort_min = 1e9, abort_max = 0;

	open_rcs();
	for (unsigned i = 0; i < nrc; i++)
		rcs[i].answer_probes = strcmp(o.leave, "mute") != 0;
	rc_handshake_all(0);
	for (unsigned i = 0; i < nrc; i++)
		rcs[i].snd_end += (uint32_t)o.bytes;
	if (!rc_deliver_all(10.0))
		die("the stack did not take our %" PRIu64 " bytes per connection", o.bytes);
	if (o.ready)
		touch(o.ready);
	hold();
	rc_leave_all();
	pump(now_s() + 0.5);
	for (unsigned i = 0; i < nrc; i++) {
		struct rc *c = &rcs[i];

		probes += c->n_probe;
		zw += c->zw_bytes;
		after += c->probes_after_leave;
		if (c->n_probe < min_p)
			min_p = c->n_probe;
		if (c->n_probe > max_p)
			max_p = c->n_probe;
		if (c->reset && c->t_rst < c->t_leave) {
			double d = c->t_rst - (c->t_first_probe ? c->t_first_probe : c->t_rst);

			aborted++;
			abort_min = d < abort_min ? d : abort_min;
			abort_max = d > abort_max ? d : abort_max;
		}
	}
	rep_line("bytes_per_conn", "%" PRIu64, o.bytes);
	rep_line("probes_seen", "%" PRIu64, probes);
	rep_line("probes_per_conn_min", "%" PRIu64, nrc ? min_p : 0);
	rep_line("probes_per_conn_max", "%" PRIu64, max_p);
	rep_line("data_into_zero_window", "%" PRIu64, zw);
	rep_line("probes_after_leave", "%" PRIu64, after);
	rep_line("aborted_by_stack", "%u", aborted);
	if (aborted)
		rep_line("abort_after_first_probe_s", "%.2f..%.2f", abort_min, abort_max);
	if (nrc && rcs[0].nprobe_t > 1) {
		char buf[160];
		size_t n = 0;

		for (unsigned k = 1; k < rcs[0].nprobe_t && n < sizeof(buf) - 16; k++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.2f", k > 1 ? "," : "",
					      rcs[0].probe_t[k] - rcs[0].probe_t[k - 1]);
		rep_line("probe_intervals_s", "%s", buf);
	}
	report_rcs_common();
	return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static void on_signal(int sig)
{
	(void)sig;
	got_stop = 1;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: " PROG " MODE --to ADDR [--to ADDR6] --port P [options]\n"
	    "  synflood  --spoof NET [--spoof NET6] --count N [--rate PPS] [--ready F "
	    "--ready-after N]\n"
	    "  inject    --kind rst|data --conns K --bytes N --random N [--sweep STRIDE] [--rate "
	    "PPS]\n"
	    "            [--payload BYTES] (data: per hostile segment, default 24)\n"
	    "  rfc5961   --spoof NET [--spoof NET6] [--rsts N] [--syns N]   (one connection per "
	    "--to)\n"
	    "  ooo       --spoof NET --conns K [--segs M] [--seg-bytes B] [--hold S] [--ready F]\n"
	    "            [--bystanders N] (the first N send one segment after a hole only)\n"
	    "  zerowin   --spoof NET --conns K --bytes N [--hold S] [--ready F] [--until-reset]\n"
	    "  sackmss   --spoof NET [--spoof NET6]   (one connection per --to)\n"
	    "common: --dev TUN (ns0)  --report FILE  --timeout S (30)  --seed N\n"
	    "        --leave rst|silent|mute (ooo, zerowin: how the attacker goes; mute: never\n"
	    "        answers a probe either)\n"
	    "Addresses, spoofed ones too, must be in 192.0.2.0/24, 198.51.100.0/24 or "
	    "2001:db8::/32.\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"to", 1, 0, 't'},		{"port", 1, 0, 'p'},   {"spoof", 1, 0, 'S'},
	    {"dev", 1, 0, 'd'},		{"conns", 1, 0, 'k'},  {"count", 1, 0, 'c'},
	    {"bytes", 1, 0, 'b'},	{"random", 1, 0, 'R'}, {"sweep", 1, 0, 'W'},
	    {"rate", 1, 0, 'r'},	{"kind", 1, 0, 'K'},   {"segs", 1, 0, 'g'},
	    {"seg-bytes", 1, 0, 'B'},	{"hold", 1, 0, 'h'},   {"ready", 1, 0, 'y'},
	    {"ready-after", 1, 0, 'a'}, {"report", 1, 0, 'o'}, {"timeout", 1, 0, 'T'},
	    {"seed", 1, 0, 's'},	{"leave", 1, 0, 'l'},  {"until-reset", 0, 0, 'u'},
	    {"rsts", 1, 0, 'x'},	{"syns", 1, 0, 'z'},   {"payload", 1, 0, 'P'},
	    {"bystanders", 1, 0, 'Y'},	{0, 0, 0, 0},
	};
	struct sigaction sa;
	int ch, rc;

	if (argc < 2)
		usage();
	o.mode = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (o.nto == 2)
				die("--to at most twice (one IPv4, one IPv6)");
			if (!addr_parse(optarg, &o.to[o.nto]) || !addr_is_doc(&o.to[o.nto]))
				die("--to %s: not a documentation address", optarg);
			o.nto++;
			break;
		case 'p':
			o.port = (uint16_t)atoi(optarg);
			break;
		case 'S':
			if (o.nspoof == 2)
				die("--spoof at most twice (one IPv4, one IPv6)");
			net_parse(optarg, &o.spoof[o.nspoof++]);
			break;
		case 'd':
			o.dev = optarg;
			break;
		case 'k':
			o.conns = (unsigned)atoi(optarg);
			break;
		case 'c':
			o.count = parse_size("count", optarg);
			break;
		case 'b':
			o.bytes = parse_size("bytes", optarg);
			break;
		case 'R':
			o.random_n = parse_size("random", optarg);
			break;
		case 'W':
			o.sweep = parse_size("sweep", optarg);
			break;
		case 'r':
			o.rate = atof(optarg);
			break;
		case 'K':
			o.kind = optarg;
			break;
		case 'g':
			o.segs = (uint32_t)atoi(optarg);
			break;
		case 'B':
			o.seg_bytes = (uint32_t)atoi(optarg);
			break;
		case 'h':
			o.hold_s = (unsigned)atoi(optarg);
			break;
		case 'y':
			o.ready = optarg;
			break;
		case 'a':
			o.ready_after = parse_size("ready-after", optarg);
			break;
		case 'o':
			o.report = optarg;
			break;
		case 'T':
			o.timeout_s = (unsigned)atoi(optarg);
			break;
		case 's':
			o.seed = parse_size("seed", optarg);
			o.have_seed = true;
			break;
		case 'l':
			o.leave = optarg;
			break;
		case 'u':
			o.until_reset = true;
			break;
		case 'x':
			o.rsts = parse_size("rsts", optarg);
			break;
		case 'z':
			o.syns = parse_size("syns", optarg);
			break;
		case 'P':
			o.payload = (uint32_t)atoi(optarg);
			break;
		case 'Y':
			o.bystanders = (uint32_t)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind < argc || !o.nto || !o.port)
		usage();
	if (o.nto == 2 && o.to[0].family == o.to[1].family)
		die("two --to of the same family");
	if (!(o.rate > 0 && o.rate <= 200000))
		die("--rate: 1..200000 packets a second");
	if (o.conns < 1 || o.conns > MAXRC)
		die("--conns: 1..%d", MAXRC);
	if (o.payload < 1 || o.payload > DATA_MSS)
		die("--payload: 1..%d bytes", DATA_MSS);
	if (o.sweep && o.sweep < 1024)
		die("--sweep: a stride of at least 1024");
	if (o.random_n > 10000000 || o.count > 10000000 || o.segs > 100000)
		die("counts above 10 million are not what this test is for");
	if (strcmp(o.leave, "rst") && strcmp(o.leave, "silent") && strcmp(o.leave, "mute"))
		die("--leave rst|silent|mute");
	rng_state = o.have_seed ? o.seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	memset(sport_ix, 0xff, sizeof(sport_ix));
	rcs = calloc(MAXRC, sizeof(*rcs));
	if (!rcs)
		die("out of memory");
	if (o.report && !(rep = fopen(o.report, "w")))
		die("--report %s: %s", o.report, strerror(errno));
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	t_start = now_s();
	deadline = t_start + o.timeout_s;
	alarm(o.timeout_s + 10); /* the last word on "bounded in time" */

	if (!strcmp(o.mode, "synflood"))
		rc = mode_synflood();
	else if (!strcmp(o.mode, "inject"))
		rc = mode_inject();
	else if (!strcmp(o.mode, "rfc5961"))
		rc = mode_rfc5961();
	else if (!strcmp(o.mode, "ooo"))
		rc = mode_ooo();
	else if (!strcmp(o.mode, "sackmss"))
		rc = mode_sackmss();
	else if (!strcmp(o.mode, "zerowin"))
		rc = mode_zerowin();
	else
		usage();
	if (rep)
		fclose(rep);
	return rc;
}
