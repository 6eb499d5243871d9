/*
 * echod.c — netshim-echod: the stack on a TUN device with a UDP echo
 * service, for integration tests and demos.
 *   TUN (tun/) -> stack_link_input -> stack -> UDP endpoints -> echo back
 *   -> stack_link_pull -> TUN
 * One thread, one poll loop: it sleeps until the TUN has packets or the
 * stack's next deadline; no busy waiting.
 */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "stack.h"
#include "tun.h"

#define PROG "netshim-echod"
#define BATCH 64	      /* packets per read or write batch */
#define PKT_BUF 65536	      /* any IP packet the kernel may hand us */
#define UDP_MAX_PAYLOAD 65527 /* IPv6: 65535 - 8 */
#define ECHO_BUDGET 256	      /* datagrams echoed per endpoint per round */

struct opts {
	const char *tun;
	const char *addr, *addr6, *peer, *peer6;
	uint32_t mtu;
	uint16_t port;
	double loss, dup, reorder, corrupt;
	uint64_t delay_ms, jitter_ms, rate_bps;
	bool have_seed;
	uint64_t seed;
	const char *stats, *ready;
};

struct echod {
	struct opts o;
	struct tun tun;
	struct stack *st;
	void *arena;
	size_t arena_size;
	int ifindex;
	int ep4, ep6;
	uint8_t *rxbuf[BATCH], *txbuf[BATCH];
	uint8_t *dgram;
	uint64_t echoed, echo_errors;
};

static volatile sig_atomic_t got_stop, got_usr1;

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

static stack_ns_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (stack_ns_t)ts.tv_sec * STACK_NS_PER_S + (stack_ns_t)ts.tv_nsec;
}

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [options]\n"
		   "Run the netshim stack on a TUN device with a UDP echo service.\n"
		   "  --tun NAME        TUN device (default ns0); created and configured\n"
		   "                    if missing, attached to as it is otherwise\n"
		   "  --addr A/P        the stack's IPv4 address (default 192.0.2.2/24)\n"
		   "  --addr6 A/P       the stack's IPv6 address (default 2001:db8::2/64;\n"
		   "                    \"none\" for no IPv6)\n"
		   "  --peer A          the kernel side's IPv4 address (default 192.0.2.1)\n"
		   "  --peer6 A         the kernel side's IPv6 address (default 2001:db8::1)\n"
		   "  --mtu N           MTU of the device and the stack (default 1500)\n"
		   "  --port N          UDP echo port (default 7)\n"
		   "fault injection, both directions of the interface:\n"
		   "  --loss PCT --dup PCT --reorder PCT --corrupt PCT\n"
		   "  --delay-ms N --jitter-ms N --rate-bps N\n"
		   "  --seed N          fixed random seed (default: arc4random)\n"
		   "  --stats FILE      write counters as `key value` lines on exit and\n"
		   "                    on SIGUSR1 (without --stats: SIGUSR1 prints them)\n"
		   "  --ready FILE      created once the device is up and echo serves\n");
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > max)
		die("--%s: \"%s\" is not a number in 0..%" PRIu64, opt, s, max);
	return v;
}

static double parse_pct(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 100))
		die("--%s: \"%s\" is not a percentage in 0..100", opt, s);
	return v;
}

static uint32_t pct_to_ppm(double pct)
{
	return (uint32_t)(pct * 10000.0 + 0.5);
}

/* "A" or "A/P" into a and *plen (default_plen when no /P). */
static void parse_prefix(const char *opt, const char *s, struct stack_sockaddr *a, unsigned *plen)
{
	char buf[80];
	char *slash;
	unsigned max;

	if (strlen(s) >= sizeof(buf))
		die("--%s: \"%s\" is too long", opt, s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (stack_addr_parse(buf, a))
		die("--%s: \"%s\" is not an address", opt, buf);
	max = a->family == STACK_AF_INET ? 32 : 128;
	if (plen)
		*plen = slash ? (unsigned)parse_u64(opt, slash + 1, max) : max;
	else if (slash)
		die("--%s: \"%s\" takes no prefix length", opt, s);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	enum {
		O_TUN = 256,
		O_ADDR,
		O_ADDR6,
		O_PEER,
		O_PEER6,
		O_MTU,
		O_PORT,
		O_LOSS,
		O_DUP,
		O_REORDER,
		O_CORRUPT,
		O_DELAY,
		O_JITTER,
		O_RATE,
		O_SEED,
		O_STATS,
		O_READY,
	};
	static const struct option longopts[] = {
	    {"tun", required_argument, NULL, O_TUN},
	    {"addr", required_argument, NULL, O_ADDR},
	    {"addr6", required_argument, NULL, O_ADDR6},
	    {"peer", required_argument, NULL, O_PEER},
	    {"peer6", required_argument, NULL, O_PEER6},
	    {"mtu", required_argument, NULL, O_MTU},
	    {"port", required_argument, NULL, O_PORT},
	    {"loss", required_argument, NULL, O_LOSS},
	    {"dup", required_argument, NULL, O_DUP},
	    {"reorder", required_argument, NULL, O_REORDER},
	    {"corrupt", required_argument, NULL, O_CORRUPT},
	    {"delay-ms", required_argument, NULL, O_DELAY},
	    {"jitter-ms", required_argument, NULL, O_JITTER},
	    {"rate-bps", required_argument, NULL, O_RATE},
	    {"seed", required_argument, NULL, O_SEED},
	    {"stats", required_argument, NULL, O_STATS},
	    {"ready", required_argument, NULL, O_READY},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->tun = "ns0";
	o->addr = "192.0.2.2/24";
	o->addr6 = "2001:db8::2/64";
	o->peer = "192.0.2.1";
	o->peer6 = "2001:db8::1";
	o->mtu = 1500;
	o->port = 7;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_TUN:
			o->tun = optarg;
			break;
		case O_ADDR:
			o->addr = optarg;
			break;
		case O_ADDR6:
			o->addr6 = optarg;
			break;
		case O_PEER:
			o->peer = optarg;
			break;
		case O_PEER6:
			o->peer6 = optarg;
			break;
		case O_MTU:
			o->mtu = (uint32_t)parse_u64("mtu", optarg, 65535);
			break;
		case O_PORT:
			o->port = (uint16_t)parse_u64("port", optarg, 65535);
			if (!o->port)
				die("--port: 0 is not a port");
			break;
		case O_LOSS:
			o->loss = parse_pct("loss", optarg);
			break;
		case O_DUP:
			o->dup = parse_pct("dup", optarg);
			break;
		case O_REORDER:
			o->reorder = parse_pct("reorder", optarg);
			break;
		case O_CORRUPT:
			o->corrupt = parse_pct("corrupt", optarg);
			break;
		case O_DELAY:
			o->delay_ms = parse_u64("delay-ms", optarg, 3600000);
			break;
		case O_JITTER:
			o->jitter_ms = parse_u64("jitter-ms", optarg, 3600000);
			break;
		case O_RATE:
			o->rate_bps = parse_u64("rate-bps", optarg, UINT64_MAX);
			break;
		case O_SEED:
			o->seed = parse_u64("seed", optarg, UINT64_MAX);
			o->have_seed = true;
			break;
		case O_STATS:
			o->stats = optarg;
			break;
		case O_READY:
			o->ready = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument \"%s\" (see --help)", argv[optind]);
	if (o->mtu < 68)
		die("--mtu: %u is below the IPv4 minimum of 68", o->mtu);
}

static bool ipv6_enabled(const struct opts *o)
{
	return strcmp(o->addr6, "none") != 0;
}

/* ---- set-up -------------------------------------------------------------- */

/* splitmix64: spreads one 64-bit seed over the stack's 256-bit state. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void open_tun(struct echod *d)
{
	struct tun_config tc;
	struct stack_sockaddr a;
	unsigned plen;
	int err;

	memset(&tc, 0, sizeof(tc));
	tc.name = d->o.tun;
	tc.mtu = d->o.mtu;
	parse_prefix("addr", d->o.addr, &a, &plen);
	if (a.family != STACK_AF_INET)
		die("--addr: \"%s\" is not an IPv4 address", d->o.addr);
	tc.has_addr4 = true;
	tc.prefix4 = plen;
	parse_prefix("peer", d->o.peer, &a, NULL);
	if (a.family != STACK_AF_INET)
		die("--peer: \"%s\" is not an IPv4 address", d->o.peer);
	memcpy(&tc.addr4, a.addr, 4);
	if (ipv6_enabled(&d->o)) {
		parse_prefix("addr6", d->o.addr6, &a, &plen);
		if (a.family != STACK_AF_INET6)
			die("--addr6: \"%s\" is not an IPv6 address", d->o.addr6);
		tc.has_addr6 = true;
		tc.prefix6 = plen;
		parse_prefix("peer6", d->o.peer6, &a, NULL);
		if (a.family != STACK_AF_INET6)
			die("--peer6: \"%s\" is not an IPv6 address", d->o.peer6);
		memcpy(&tc.addr6, a.addr, 16);
	}
	err = tun_open(&d->tun, &tc);
	if (err)
		die("%s", d->tun.err);
	if (d->tun.warn[0])
		fprintf(stderr, PROG ": warning: %s\n", d->tun.warn);
	if (!d->tun.created)
		fprintf(stderr,
			PROG ": attached to the existing device %s; its "
			     "kernel side is left as configured\n",
			d->tun.name);
}

static void add_addr_and_default(struct echod *d, const char *opt, const char *prefix,
				 const char *peer)
{
	struct stack_sockaddr a, gw, any;
	unsigned plen;
	int err;

	parse_prefix(opt, prefix, &a, &plen);
	err = stack_addr_add(d->st, d->ifindex, &a, plen);
	if (err)
		die("stack_addr_add %s: %s", prefix, strerror(-err));
	parse_prefix(opt, peer, &gw, NULL);
	memset(&any, 0, sizeof(any));
	any.family = a.family;
	err = stack_route_add(d->st, &any, 0, &gw, d->ifindex);
	if (err)
		die("default route via %s: %s", peer, strerror(-err));
}

static void create_stack(struct echod *d)
{
	struct stack_config cfg;
	struct stack_link_info li;
	uint64_t x;

	stack_config_default(&cfg);
	if (d->o.have_seed) {
		x = d->o.seed;
		for (int i = 0; i < 4; i++)
			cfg.seed[i] = splitmix64(&x);
	} else {
		arc4random_buf(cfg.seed, sizeof(cfg.seed));
	}
	/* The arena must be 64-byte aligned: mmap gives page alignment and
	 * zeroed memory. */
	d->arena_size = stack_arena_size(&cfg);
	d->arena =
	    mmap(NULL, d->arena_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d->arena == MAP_FAILED)
		die("mmap %zu bytes for the stack: %s", d->arena_size, strerror(errno));
	d->st = stack_create(d->arena, d->arena_size, &cfg, now_ns());
	if (!d->st)
		die("stack_create failed");

	memset(&li, 0, sizeof(li));
	li.mtu = d->tun.mtu;
	d->ifindex = stack_if_add(d->st, STACK_IF_TUN, d->tun.name, &li);
	if (d->ifindex < 0)
		die("stack_if_add %s: %s", d->tun.name, strerror(-d->ifindex));
	add_addr_and_default(d, "addr", d->o.addr, d->o.peer);
	if (ipv6_enabled(&d->o))
		add_addr_and_default(d, "addr6", d->o.addr6, d->o.peer6);
}

static void set_faults(struct echod *d)
{
	struct stack_fault f;
	struct stack_fault_dir fd;
	int err;

	memset(&fd, 0, sizeof(fd));
	fd.loss_ppm = pct_to_ppm(d->o.loss);
	fd.dup_ppm = pct_to_ppm(d->o.dup);
	fd.reorder_ppm = pct_to_ppm(d->o.reorder);
	fd.corrupt_ppm = pct_to_ppm(d->o.corrupt);
	fd.delay_ns = d->o.delay_ms * STACK_NS_PER_MS;
	fd.jitter_ns = d->o.jitter_ms * STACK_NS_PER_MS;
	fd.rate_bps = d->o.rate_bps;
	if (!(fd.loss_ppm | fd.dup_ppm | fd.reorder_ppm | fd.corrupt_ppm) &&
	    !(fd.delay_ns | fd.jitter_ns | fd.rate_bps))
		return;
	f.in = fd;
	f.out = fd;
	err = stack_if_set_fault(d->st, d->ifindex, &f);
	if (err)
		die("stack_if_set_fault: %s", strerror(-err));
}

static int open_echo_ep(struct echod *d, int family)
{
	struct stack_sockaddr a;
	int h, err, one = 1;

	h = stack_ep_open(d->st, family, STACK_SOCK_DGRAM, STACK_IPPROTO_UDP);
	if (h < 0)
		die("stack_ep_open: %s", strerror(-h));
	if (family == STACK_AF_INET6) {
		err =
		    stack_ep_setopt(d->st, h, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, &one, sizeof(one));
		if (err)
			die("IPV6_V6ONLY: %s", strerror(-err));
	}
	memset(&a, 0, sizeof(a));
	a.family = (uint16_t)family;
	a.port = d->o.port;
	err = stack_ep_bind(d->st, h, &a);
	if (err)
		die("bind UDP port %u (%s): %s", d->o.port,
		    family == STACK_AF_INET ? "IPv4" : "IPv6", strerror(-err));
	return h;
}

static void alloc_buffers(struct echod *d)
{
	for (int i = 0; i < BATCH; i++) {
		d->rxbuf[i] = malloc(PKT_BUF);
		d->txbuf[i] = malloc(PKT_BUF);
		if (!d->rxbuf[i] || !d->txbuf[i])
			die("out of memory");
	}
	d->dgram = malloc(UDP_MAX_PAYLOAD + 1);
	if (!d->dgram)
		die("out of memory");
}

static void touch_ready(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die("--ready %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f))
		die("--ready %s: %s", path, strerror(errno));
}

/* ---- statistics --------------------------------------------------------- */

static void print_stats(struct echod *d, FILE *f)
{
	static const char *const fnames[2] = {"in", "out"};
	struct stack_counters c;

	stack_get_counters(d->st, &c);
	for (int p = 0; p < STACK_P_MAX; p++) {
		const char *pn = stack_proto_name((enum stack_proto_ix)p);

		fprintf(f, "%s.rx %" PRIu64 "\n", pn, c.p[p].rx);
		fprintf(f, "%s.tx %" PRIu64 "\n", pn, c.p[p].tx);
		for (int r = 0; r < STACK_DROP_MAX; r++)
			fprintf(f, "%s.drop.%s %" PRIu64 "\n", pn,
				stack_drop_name((enum stack_drop)r), c.p[p].drop[r]);
	}
	fprintf(f, "frag_reassembled %" PRIu64 "\n", c.frag_reassembled);
	fprintf(f, "frag_created %" PRIu64 "\n", c.frag_created);
	fprintf(f, "icmp_err_sent %" PRIu64 "\n", c.icmp_err_sent);
	fprintf(f, "icmp_err_delivered %" PRIu64 "\n", c.icmp_err_delivered);
	fprintf(f, "pmtu_updates %" PRIu64 "\n", c.pmtu_updates);
	fprintf(f, "pbuf_small_used %" PRIu64 "\n", c.pbuf_small_used);
	fprintf(f, "pbuf_large_used %" PRIu64 "\n", c.pbuf_large_used);
	fprintf(f, "tcp.syncookies_sent %" PRIu64 "\n", c.tcp_syncookies_sent);
	fprintf(f, "tcp.syncookies_recv %" PRIu64 "\n", c.tcp_syncookies_recv);
	fprintf(f, "tcp.syncookies_failed %" PRIu64 "\n", c.tcp_syncookies_failed);
	fprintf(f, "tcp.tw_overflow %" PRIu64 "\n", c.tcp_tw_overflow);
	fprintf(f, "tcp.challenge_acks %" PRIu64 "\n", c.tcp_challenge_acks);
	fprintf(f, "tcp.challenge_acks_limited %" PRIu64 "\n", c.tcp_challenge_acks_limited);
	fprintf(f, "tcp.oow_acks_limited %" PRIu64 "\n", c.tcp_oow_acks_limited);
	for (int dir = 0; dir < 2; dir++) {
		struct stack_fault_counters fc;

		memset(&fc, 0, sizeof(fc));
		stack_if_fault_counters(d->st, d->ifindex, dir, &fc);
		fprintf(f, "fault.%s.passed %" PRIu64 "\n", fnames[dir], fc.passed);
		fprintf(f, "fault.%s.lost %" PRIu64 "\n", fnames[dir], fc.lost);
		fprintf(f, "fault.%s.duplicated %" PRIu64 "\n", fnames[dir], fc.duplicated);
		fprintf(f, "fault.%s.reordered %" PRIu64 "\n", fnames[dir], fc.reordered);
		fprintf(f, "fault.%s.corrupted %" PRIu64 "\n", fnames[dir], fc.corrupted);
		fprintf(f, "fault.%s.delayed %" PRIu64 "\n", fnames[dir], fc.delayed);
		fprintf(f, "fault.%s.queue_drops %" PRIu64 "\n", fnames[dir], fc.queue_drops);
	}
	fprintf(f, "tun.rx_packets %" PRIu64 "\n", d->tun.rx_packets);
	fprintf(f, "tun.tx_packets %" PRIu64 "\n", d->tun.tx_packets);
	fprintf(f, "tun.tx_errors %" PRIu64 "\n", d->tun.tx_errors);
	fprintf(f, "echo.datagrams %" PRIu64 "\n", d->echoed);
	fprintf(f, "echo.errors %" PRIu64 "\n", d->echo_errors);
}

/* Write the counters to path atomically (a reader never sees half). */
static void write_stats(struct echod *d, const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, PROG ": --stats path too long\n");
		return;
	}
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, PROG ": --stats %s: %s\n", tmp, strerror(errno));
		return;
	}
	print_stats(d, f);
	if (fclose(f) || rename(tmp, path))
		fprintf(stderr, PROG ": --stats %s: %s\n", path, strerror(errno));
}

/* ---- the loop ------------------------------------------------------------ */

/* Move everything the stack wants to send onto the TUN. */
static void flush_tx(struct echod *d)
{
	struct stack_pkt sp[BATCH];
	struct tun_pkt tp[BATCH];
	unsigned n;
	int w;

	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			sp[i].data = d->txbuf[i];
			sp[i].len = 0;
			sp[i].cap = PKT_BUF;
		}
		n = stack_link_pull(d->st, d->ifindex, sp, BATCH);
		if (!n)
			return;
		for (unsigned i = 0; i < n; i++) {
			tp[i].data = sp[i].data;
			tp[i].len = sp[i].len;
			tp[i].cap = sp[i].cap;
		}
		/* A TUN write does not block: the kernel takes the packet
		 * or refuses it (counted in tun.tx_errors). */
		w = tun_write_batch(&d->tun, tp, n);
		if (w < 0)
			die("writing to %s: %s", d->tun.name, strerror(-w));
		if ((unsigned)w < n)
			d->tun.tx_errors += n - (unsigned)w;
	}
}

/* Read what waits on the TUN (at most a few batches, so timers and the
 * other direction get their turn) into the stack. */
static void pump_rx(struct echod *d, stack_ns_t now)
{
	struct tun_pkt tp[BATCH];
	struct stack_pkt sp[BATCH];
	int n;

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < BATCH; i++) {
			tp[i].data = d->rxbuf[i];
			tp[i].len = 0;
			tp[i].cap = PKT_BUF;
		}
		n = tun_read_batch(&d->tun, tp, BATCH);
		if (n < 0)
			die("reading from %s: %s", d->tun.name, strerror(-n));
		for (int i = 0; i < n; i++) {
			sp[i].data = tp[i].data;
			sp[i].len = tp[i].len;
			sp[i].cap = tp[i].cap;
		}
		if (n > 0)
			stack_link_input(d->st, d->ifindex, sp, (unsigned)n, now);
		if (n < BATCH)
			return;
	}
}

/* Echo what waits on endpoint h back to its sender. */
static void echo_ep(struct echod *d, int h)
{
	struct stack_sockaddr from;
	struct iovec iov;
	ssize_t n, s;
	int mflags;

	if (h < 0)
		return;
	for (int i = 0; i < ECHO_BUDGET; i++) {
		iov.iov_base = d->dgram;
		iov.iov_len = UDP_MAX_PAYLOAD;
		mflags = 0;
		n = stack_ep_recvfrom(d->st, h, &iov, 1, STACK_MSG_DONTWAIT, &from, &mflags);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			/* a pending error (an ICMP error on the endpoint)
			 * is reported once; go on */
			d->echo_errors++;
			continue;
		}
		iov.iov_len = (size_t)n;
		s = stack_ep_sendto(d->st, h, &iov, 1, STACK_MSG_DONTWAIT, &from);
		if (s < 0)
			d->echo_errors++;
		else
			d->echoed++;
		/* a large datagram is many fragments: hand them to the
		 * TUN before the transmit queue fills */
		flush_tx(d);
	}
}

static int poll_timeout_ms(stack_ns_t next, stack_ns_t now)
{
	stack_ns_t dt;

	if (next == STACK_NS_NEVER)
		return 1000; /* nothing due: still wake now and then */
	if (next <= now)
		return 0;
	dt = (next - now + STACK_NS_PER_MS - 1) / STACK_NS_PER_MS;
	return dt > 1000 ? 1000 : (int)dt;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

/* Block the signals we handle; ppoll unblocks them only while it sleeps,
 * so none can slip in between the check of a flag and the sleep. */
static void setup_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGUSR1);
}

static void run(struct echod *d, const sigset_t *waitmask)
{
	stack_ns_t next;
	struct pollfd pfd;
	struct timespec ts;
	int ms;

	while (!got_stop) {
		stack_poll(d->st, now_ns());
		echo_ep(d, d->ep4);
		echo_ep(d, d->ep6);
		flush_tx(d);
		next = stack_next_deadline(d->st);
		if (got_usr1) {
			got_usr1 = 0;
			if (d->o.stats)
				write_stats(d, d->o.stats);
			else
				print_stats(d, stdout);
			fflush(stdout);
		}

		ms = poll_timeout_ms(next, now_ns());
		pfd.fd = d->tun.fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		if (ppoll(&pfd, 1, &ts, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			die("ppoll: %s", strerror(errno));
		}
		if (pfd.revents & (POLLERR | POLLNVAL))
			die("%s: the device went away", d->tun.name);
		if (pfd.revents & POLLIN)
			pump_rx(d, now_ns());
	}
}

int main(int argc, char **argv)
{
	struct echod d;
	sigset_t waitmask;

	memset(&d, 0, sizeof(d));
	d.ep4 = d.ep6 = -1;
	parse_opts(&d.o, argc, argv);
	setup_signals(&waitmask);
	alloc_buffers(&d);
	open_tun(&d);
	create_stack(&d);
	set_faults(&d);
	d.ep4 = open_echo_ep(&d, STACK_AF_INET);
	if (ipv6_enabled(&d.o))
		d.ep6 = open_echo_ep(&d, STACK_AF_INET6);
	if (d.o.ready)
		touch_ready(d.o.ready);
	fprintf(stderr, PROG ": serving UDP echo on port %u, %s (MTU %u)\n", d.o.port, d.tun.name,
		d.tun.mtu);

	run(&d, &waitmask);

	/* Send what is still queued before going. */
	stack_poll(d.st, now_ns());
	flush_tx(&d);
	if (d.o.stats)
		write_stats(&d, d.o.stats);
	tun_close(&d.tun);
	return 0;
}
