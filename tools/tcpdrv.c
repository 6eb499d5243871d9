/*
 * tcpdrv.c — netshim-tcpdrv: the stack on a TUN device with TCP roles
 * (server: echo, sink, source; client: send, recv, echo, rr), for the
 * TCP integration tests and `make bench`.
 *   TUN (tun/) -> stack_link_input -> stack_poll -> endpoints that
 *   stack_ep_changed names (accept / recv / send until -EAGAIN)
 *   -> stack_link_pull -> TUN -> ppoll(TUN, next deadline)
 * One thread, no busy waiting.  The TUN, address, fault and stats options
 * are echod's (tools/echod.c), copied rather than shared for now.
 * What crossed a connection is checked with SHA-256 (tools/sha256.c) and
 * a deterministic pattern (tools/pattern.h).
 */
#define _GNU_SOURCE /* ppoll, strerrorname_np */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "stack.h"
#include "tun.h"
#include "pattern.h"
#include "sha256.h"

#define PROG "netshim-tcpdrv"
#define BATCH 64			  /* packets per read or write batch */
#define PKT_BUF 65536			  /* any IP packet the kernel may hand us */
#define IO_CHUNK 65536			  /* bytes per recv/send call */
#define ECHO_BUF 65536			  /* an echo connection's bytes in flight */
#define CONN_BUDGET (1u << 20)		  /* bytes per direction per connection per round */
#define STALL_NS (10ull * STACK_NS_PER_S) /* report when nothing moved this long */

enum mode { M_NONE, M_ECHO, M_SINK, M_SOURCE, M_SEND, M_RECV, M_RR };
static const char *const mode_names[] = {"none", "echo", "sink", "source", "send", "recv", "rr"};

struct opts {
	const char *tun;
	const char *addr, *addr6, *peer, *peer6;
	uint32_t mtu;
	double loss, dup, reorder, corrupt;
	uint64_t delay_ms, jitter_ms, rate_bps;
	bool have_seed, no_sack;
	const char *cc;
	uint64_t seed;
	const char *stats, *ready;
	/* TCP roles */
	enum mode mode;
	uint16_t listen_port;
	const char *connect;
	struct stack_sockaddr dst;
	uint64_t bytes;
	bool have_bytes;
	uint32_t conns; /* client connections */
	uint64_t count; /* server: exit after this many; rr: exchanges */
	uint32_t size;	/* rr message size */
	uint64_t pattern_seed;
	const char *sha_out;
	uint64_t timeout_s;
	uint64_t linger_ms;
	uint32_t user_timeout_ms; /* TCP_USER_TIMEOUT on the listeners */
	uint32_t max_endpoints, pbuf_small, pbuf_large;
	bool nohash;
	bool verbose;
};

enum cstate { C_FREE, C_CONNECTING, C_OPEN };

struct conn {
	enum cstate state;
	uint32_t id;
	int h;
	bool rx_eof, shut_wr;
	uint64_t rx_bytes, tx_bytes;
	uint64_t seed; /* pattern stream this connection sends */
	struct sha256 rx_sha, tx_sha;
	uint8_t *buf; /* echo: bytes read, not yet written back */
	size_t buf_off, buf_len;
	uint8_t reply[SHA256_LEN]; /* sink: digest to send; send: digest got */
	unsigned reply_len, reply_off;
	uint64_t rr_done; /* rr: exchanges completed */
	uint64_t rr_in;	  /* rr: bytes of the current answer */
	bool again;	  /* budget ran out: service next round */
	stack_ns_t t_start;
};

struct drv {
	struct opts o;
	struct tun tun;
	struct stack *st;
	void *arena;
	size_t arena_size, arena_per_ep;
	struct stack_config cfg;
	int ifindex;
	int l4, l6;
	struct conn *conns; /* indexed by handle */
	uint32_t nconns;    /* open (not free) */
	uint8_t *rxbuf[BATCH], *txbuf[BATCH];
	struct stack_pkt txq[BATCH]; /* pulled, not yet taken by the TUN */
	unsigned txq_off, txq_n;
	uint8_t *io;
	int *changed;
	/* totals */
	uint64_t accepted, completed, errors, refused_full;
	uint64_t bytes_rx, bytes_tx;
	uint32_t next_id, clients_done;
	bool any_again;
	stack_ns_t t_begin, t_last_progress;
	bool stall_reported;
	FILE *sha_out;
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

/* "Connection reset by peer (ECONNRESET)" for a stack's -errno. */
static const char *errtext(int neg)
{
	static char buf[160];
	const char *name = strerrorname_np(-neg);

	snprintf(buf, sizeof(buf), "%s (%s)", strerror(-neg), name ? name : "?");
	return buf;
}

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [options] --listen PORT --mode echo|sink|source\n"
		   "       " PROG " [options] --connect ADDR:PORT --mode send|recv|echo|rr\n"
		   "Run the netshim stack on a TUN device with a TCP server or client.\n"
		   "server (IPv4 0.0.0.0 and IPv6 [::] with IPV6_V6ONLY):\n"
		   "  --listen PORT     accept any number of connections (bounded table)\n"
		   "  --mode echo       write back what is read\n"
		   "  --mode sink       read and discard; at EOF answer the 32-byte SHA-256\n"
		   "                    of all bytes received, then close\n"
		   "  --mode source     send --bytes N of the pattern, then close\n"
		   "  --count K         exit after K connections completed\n"
		   "client (connections to the kernel side; exit 0 and a one-line report\n"
		   "on success, 1 with the errno on failure):\n"
		   "  --connect A:PORT  192.0.2.1:5001 or [2001:db8::1]:5001\n"
		   "  --conns K         K connections at once (default 1)\n"
		   "  --mode send       send --bytes N of the pattern each, shut down, and\n"
		   "                    check the peer's 32-byte SHA-256 answer\n"
		   "  --mode recv       receive until EOF (--bytes N: expect N)\n"
		   "  --mode echo       send --bytes N, check that the same comes back\n"
		   "  --mode rr         --count N exchanges of --size S bytes (default 1)\n"
		   "common:\n"
		   "  --bytes N         bytes per connection (K, M, G suffixes: 2^10...)\n"
		   "  --pattern-seed N  pattern stream (default 1; clients add the\n"
		   "                    connection number)\n"
		   "  --sha-out FILE    one line `SHA256 BYTES` per connection: received\n"
		   "                    (recv, sink) or sent (source, send)\n"
		   "  --no-hash         skip SHA-256 (throughput runs)\n"
		   "  --timeout S       client: give up after S seconds (default 600)\n"
		   "  --linger-ms N     run the stack this long after the work is done\n"
		   "                    (default 300), so FINs and ACKs go out\n"
		   "  --max-endpoints N --pbuf-small N --pbuf-large N   stack sizes\n"
		   "  --user-timeout-ms N  server: TCP_USER_TIMEOUT on the listeners, so\n"
		   "                    on every connection they accept\n"
		   "  --verbose         a line per connection\n"
		   "the link (as netshim-echod):\n"
		   "  --tun NAME        TUN device (default ns0), created if missing\n"
		   "  --addr A/P        the stack's IPv4 address (default 192.0.2.2/24)\n"
		   "  --addr6 A/P       the stack's IPv6 address (default 2001:db8::2/64;\n"
		   "                    \"none\" for no IPv6)\n"
		   "  --peer A, --peer6 A  the kernel side (default 192.0.2.1, 2001:db8::1)\n"
		   "  --mtu N           MTU of the device and the stack (default 1500)\n"
		   "  --loss PCT --dup PCT --reorder PCT --corrupt PCT\n"
		   "  --delay-ms N --jitter-ms N --rate-bps N   fault stage, both ways\n"
		   "  --seed N          fixed random seed of the stack\n"
		   "  --no-sack         never negotiate SACK (NewReno, no tail loss probe):\n"
		   "                    part 1's recovery, a baseline\n"
		   "  --cc NAME         congestion control of every socket: cubic (the\n"
		   "                    default), reno or bbr (Linux's\n"
		   "                    net.ipv4.tcp_congestion_control)\n"
		   "  --stats FILE      counters as `key value` lines on exit and SIGUSR1\n"
		   "  --ready FILE      created once the device is up and the role runs\n");
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

/* A byte count with an optional K/M/G suffix (powers of 1024). */
static uint64_t parse_size(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		die("--%s: \"%s\" is not a byte count", opt, s);
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || v > (UINT64_MAX >> shift))
		die("--%s: \"%s\" is not a byte count", opt, s);
	return (uint64_t)v << shift;
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

/* "A" or "A/P" into a and *plen (the full length when no /P). */
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

/* "192.0.2.1:5001" or "[2001:db8::1]:5001" */
static void parse_hostport(const char *s, struct stack_sockaddr *a)
{
	char buf[80];
	char *host = buf, *colon;

	if (strlen(s) >= sizeof(buf))
		die("--connect: \"%s\" is too long", s);
	strcpy(buf, s);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || close[1] != ':')
			die("--connect: \"%s\": write an IPv6 address as [ADDR]:PORT", s);
		*close = 0;
		host = buf + 1;
		colon = close + 1;
	} else {
		colon = strrchr(buf, ':');
		if (!colon)
			die("--connect: \"%s\" has no :PORT", s);
		*colon = 0;
	}
	if (stack_addr_parse(host, a))
		die("--connect: \"%s\" is not an address", host);
	a->port = (uint16_t)parse_u64("connect", colon + 1, 65535);
	if (!a->port)
		die("--connect: port 0");
}

static enum mode parse_mode(const char *s)
{
	for (int m = M_ECHO; m <= M_RR; m++)
		if (!strcmp(s, mode_names[m]))
			return (enum mode)m;
	die("--mode: \"%s\" is not echo, sink, source, send, recv or rr", s);
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
		O_LISTEN,
		O_CONNECT,
		O_MODE,
		O_BYTES,
		O_CONNS,
		O_COUNT,
		O_SIZE,
		O_PSEED,
		O_SHAOUT,
		O_TIMEOUT,
		O_LINGER,
		O_MAXEP,
		O_PSMALL,
		O_PLARGE,
		O_UTO,
		O_NOHASH,
		O_VERBOSE,
		O_NOSACK,
		O_CC,
	};
	static const struct option longopts[] = {
	    {"tun", required_argument, NULL, O_TUN},
	    {"addr", required_argument, NULL, O_ADDR},
	    {"addr6", required_argument, NULL, O_ADDR6},
	    {"peer", required_argument, NULL, O_PEER},
	    {"peer6", required_argument, NULL, O_PEER6},
	    {"mtu", required_argument, NULL, O_MTU},
	    {"loss", required_argument, NULL, O_LOSS},
	    {"dup", required_argument, NULL, O_DUP},
	    {"reorder", required_argument, NULL, O_REORDER},
	    {"corrupt", required_argument, NULL, O_CORRUPT},
	    {"delay-ms", required_argument, NULL, O_DELAY},
	    {"jitter-ms", required_argument, NULL, O_JITTER},
	    {"rate-bps", required_argument, NULL, O_RATE},
	    {"seed", required_argument, NULL, O_SEED},
	    {"no-sack", no_argument, NULL, O_NOSACK},
	    {"cc", required_argument, NULL, O_CC},
	    {"stats", required_argument, NULL, O_STATS},
	    {"ready", required_argument, NULL, O_READY},
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"connect", required_argument, NULL, O_CONNECT},
	    {"mode", required_argument, NULL, O_MODE},
	    {"bytes", required_argument, NULL, O_BYTES},
	    {"conns", required_argument, NULL, O_CONNS},
	    {"count", required_argument, NULL, O_COUNT},
	    {"size", required_argument, NULL, O_SIZE},
	    {"pattern-seed", required_argument, NULL, O_PSEED},
	    {"sha-out", required_argument, NULL, O_SHAOUT},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"linger-ms", required_argument, NULL, O_LINGER},
	    {"max-endpoints", required_argument, NULL, O_MAXEP},
	    {"pbuf-small", required_argument, NULL, O_PSMALL},
	    {"pbuf-large", required_argument, NULL, O_PLARGE},
	    {"user-timeout-ms", required_argument, NULL, O_UTO},
	    {"no-hash", no_argument, NULL, O_NOHASH},
	    {"verbose", no_argument, NULL, O_VERBOSE},
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
	o->conns = 1;
	o->size = 1;
	o->pattern_seed = 1;
	o->timeout_s = 600;
	o->linger_ms = 300;
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
		case O_NOSACK:
			o->no_sack = true;
			break;
		case O_CC:
			if (strlen(optarg) >= sizeof(((struct stack_config *)0)->tcp_congestion))
				die("--cc: \"%s\" is too long", optarg);
			o->cc = optarg;
			break;
		case O_STATS:
			o->stats = optarg;
			break;
		case O_READY:
			o->ready = optarg;
			break;
		case O_LISTEN:
			o->listen_port = (uint16_t)parse_u64("listen", optarg, 65535);
			if (!o->listen_port)
				die("--listen: 0 is not a port");
			break;
		case O_CONNECT:
			o->connect = optarg;
			parse_hostport(optarg, &o->dst);
			break;
		case O_MODE:
			o->mode = parse_mode(optarg);
			break;
		case O_BYTES:
			o->bytes = parse_size("bytes", optarg);
			o->have_bytes = true;
			break;
		case O_CONNS:
			o->conns = (uint32_t)parse_u64("conns", optarg, 65535);
			break;
		case O_COUNT:
			o->count = parse_u64("count", optarg, UINT64_MAX);
			break;
		case O_SIZE:
			o->size = (uint32_t)parse_u64("size", optarg, IO_CHUNK);
			break;
		case O_PSEED:
			o->pattern_seed = parse_u64("pattern-seed", optarg, UINT64_MAX);
			break;
		case O_SHAOUT:
			o->sha_out = optarg;
			break;
		case O_TIMEOUT:
			o->timeout_s = parse_u64("timeout", optarg, 86400);
			break;
		case O_LINGER:
			o->linger_ms = parse_u64("linger-ms", optarg, 600000);
			break;
		case O_MAXEP:
			o->max_endpoints = (uint32_t)parse_u64("max-endpoints", optarg, 1u << 20);
			break;
		case O_PSMALL:
			o->pbuf_small = (uint32_t)parse_u64("pbuf-small", optarg, 1u << 24);
			break;
		case O_PLARGE:
			o->pbuf_large = (uint32_t)parse_u64("pbuf-large", optarg, 1u << 20);
			break;
		case O_UTO:
			o->user_timeout_ms =
			    (uint32_t)parse_u64("user-timeout-ms", optarg, INT32_MAX);
			break;
		case O_NOHASH:
			o->nohash = true;
			break;
		case O_VERBOSE:
			o->verbose = true;
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
	if (!o->listen_port == !o->connect)
		die("give exactly one of --listen PORT and --connect ADDR:PORT (see --help)");
	if (o->listen_port && o->mode != M_ECHO && o->mode != M_SINK && o->mode != M_SOURCE)
		die("--listen needs --mode echo, sink or source");
	if (o->connect && o->mode != M_SEND && o->mode != M_RECV && o->mode != M_ECHO &&
	    o->mode != M_RR)
		die("--connect needs --mode send, recv, echo or rr");
	if ((o->mode == M_SOURCE || o->mode == M_SEND || (o->connect && o->mode == M_ECHO)) &&
	    !o->have_bytes)
		die("--mode %s needs --bytes N", mode_names[o->mode]);
	if (o->mode == M_RR && (!o->count || !o->size))
		die("--mode rr needs --count N (and --size S >= 1)");
	if (o->connect && !o->conns)
		die("--conns: 0 connections");
	if (o->nohash && o->sha_out)
		die("--no-hash and --sha-out exclude each other");
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

static void open_tun(struct drv *d)
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

static void add_addr_and_default(struct drv *d, const char *opt, const char *prefix,
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

static void create_stack(struct drv *d)
{
	struct stack_config *cfg = &d->cfg, one_more;
	struct stack_link_info li;
	uint64_t x;

	stack_config_default(cfg);
	if (d->o.max_endpoints)
		cfg->max_endpoints = d->o.max_endpoints;
	if (d->o.pbuf_small)
		cfg->pbuf_small = d->o.pbuf_small;
	if (d->o.pbuf_large)
		cfg->pbuf_large = d->o.pbuf_large;
	cfg->tcp_no_sack = d->o.no_sack;
	if (d->o.cc)
		snprintf(cfg->tcp_congestion, sizeof(cfg->tcp_congestion), "%s", d->o.cc);
	if (d->o.have_seed) {
		x = d->o.seed;
		for (int i = 0; i < 4; i++)
			cfg->seed[i] = splitmix64(&x);
	} else {
		arc4random_buf(cfg->seed, sizeof(cfg->seed));
	}
	d->arena_size = stack_arena_size(cfg);
	/* what one more endpoint slot costs in the arena */
	one_more = *cfg;
	one_more.max_endpoints++;
	d->arena_per_ep = stack_arena_size(&one_more) - d->arena_size;
	/* 64-byte aligned: mmap gives page alignment and zeroed memory,
	 * touched (resident) only as the stack uses it */
	d->arena =
	    mmap(NULL, d->arena_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d->arena == MAP_FAILED)
		die("mmap %zu bytes for the stack: %s", d->arena_size, strerror(errno));
	d->st = stack_create(d->arena, d->arena_size, cfg, now_ns());
	if (!d->st)
		die("stack_create failed (--max-endpoints / --pbuf-* too large?)");

	memset(&li, 0, sizeof(li));
	li.mtu = d->tun.mtu;
	d->ifindex = stack_if_add(d->st, STACK_IF_TUN, d->tun.name, &li);
	if (d->ifindex < 0)
		die("stack_if_add %s: %s", d->tun.name, strerror(-d->ifindex));
	add_addr_and_default(d, "addr", d->o.addr, d->o.peer);
	if (ipv6_enabled(&d->o))
		add_addr_and_default(d, "addr6", d->o.addr6, d->o.peer6);

	d->conns = calloc(cfg->max_endpoints, sizeof(*d->conns));
	d->changed = calloc(cfg->max_endpoints, sizeof(*d->changed));
	if (!d->conns || !d->changed)
		die("out of memory");
}

static void set_faults(struct drv *d)
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

static void alloc_buffers(struct drv *d)
{
	for (int i = 0; i < BATCH; i++) {
		d->rxbuf[i] = malloc(PKT_BUF);
		d->txbuf[i] = malloc(PKT_BUF);
		if (!d->rxbuf[i] || !d->txbuf[i])
			die("out of memory");
	}
	d->io = malloc(IO_CHUNK);
	if (!d->io)
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

static void print_stats(struct drv *d, FILE *f)
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
	fprintf(f, "tcp.sack_recoveries %" PRIu64 "\n", c.tcp_sack_recoveries);
	fprintf(f, "tcp.reno_recoveries %" PRIu64 "\n", c.tcp_reno_recoveries);
	fprintf(f, "tcp.timeouts %" PRIu64 "\n", c.tcp_timeouts);
	fprintf(f, "tcp.lost_retrans %" PRIu64 "\n", c.tcp_lost_retrans);
	fprintf(f, "tcp.tlps %" PRIu64 "\n", c.tcp_tlps);
	fprintf(f, "tcp.dsacks %" PRIu64 "\n", c.tcp_dsacks);
	fprintf(f, "tcp.undos %" PRIu64 "\n", c.tcp_undos);
	fprintf(f, "tcp.rack_lost %" PRIu64 "\n", c.tcp_rack_lost);
	fprintf(f, "tcp.rack_timers %" PRIu64 "\n", c.tcp_rack_timers);
	fprintf(f, "tcp.txrec_short %" PRIu64 "\n", c.tcp_txrec_short);
	fprintf(f, "tcp.txrec_used %" PRIu64 "\n", c.tcp_txrec_used);
	fprintf(f, "pbuf_small_used %" PRIu64 "\n", c.pbuf_small_used);
	fprintf(f, "pbuf_large_used %" PRIu64 "\n", c.pbuf_large_used);
	fprintf(f, "tcp.syncookies_sent %" PRIu64 "\n", c.tcp_syncookies_sent);
	fprintf(f, "tcp.syncookies_recv %" PRIu64 "\n", c.tcp_syncookies_recv);
	fprintf(f, "tcp.syncookies_failed %" PRIu64 "\n", c.tcp_syncookies_failed);
	fprintf(f, "tcp.tw_overflow %" PRIu64 "\n", c.tcp_tw_overflow);
	fprintf(f, "tcp.challenge_acks %" PRIu64 "\n", c.tcp_challenge_acks);
	fprintf(f, "tcp.challenge_acks_limited %" PRIu64 "\n", c.tcp_challenge_acks_limited);
	fprintf(f, "tcp.oow_acks_limited %" PRIu64 "\n", c.tcp_oow_acks_limited);
	fprintf(f, "pbuf_small_total %" PRIu32 "\n", d->cfg.pbuf_small);
	fprintf(f, "pbuf_large_total %" PRIu32 "\n", d->cfg.pbuf_large);
	fprintf(f, "arena.bytes %zu\n", d->arena_size);
	fprintf(f, "arena.bytes_per_endpoint %zu\n", d->arena_per_ep);
	fprintf(f, "endpoints.max %" PRIu32 "\n", d->cfg.max_endpoints);
	fprintf(f, "endpoints.open %" PRIu32 "\n", d->nconns + (d->l4 >= 0) + (d->l6 >= 0));
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
	fprintf(f, "tcp.accepted %" PRIu64 "\n", d->accepted);
	fprintf(f, "tcp.completed %" PRIu64 "\n", d->completed);
	fprintf(f, "tcp.errors %" PRIu64 "\n", d->errors);
	fprintf(f, "tcp.refused_table_full %" PRIu64 "\n", d->refused_full);
	fprintf(f, "tcp.conns_open %" PRIu32 "\n", d->nconns);
	fprintf(f, "tcp.bytes_rx %" PRIu64 "\n", d->bytes_rx);
	fprintf(f, "tcp.bytes_tx %" PRIu64 "\n", d->bytes_tx);
}

/* Write the counters to path atomically (a reader never sees half). */
static void write_stats(struct drv *d, const char *path)
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

/* ---- the link ------------------------------------------------------------- */

/* Hand the pulled packets to the TUN.  false: the device cannot take more
 * now (the rest stays queued; wait for POLLOUT). */
static bool write_txq(struct drv *d)
{
	struct tun_pkt tp[BATCH];
	unsigned n = d->txq_n - d->txq_off;
	int w;

	for (unsigned i = 0; i < n; i++) {
		tp[i].data = d->txq[d->txq_off + i].data;
		tp[i].len = d->txq[d->txq_off + i].len;
		tp[i].cap = PKT_BUF;
	}
	w = n ? tun_write_batch(&d->tun, tp, n) : 0;
	if (w < 0)
		die("writing to %s: %s", d->tun.name, strerror(-w));
	d->txq_off += (unsigned)w;
	if (d->txq_off < d->txq_n)
		return false;
	d->txq_off = d->txq_n = 0;
	return true;
}

/* Move everything the stack wants to send onto the TUN. */
static void flush_tx(struct drv *d)
{
	if (!write_txq(d))
		return;
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			d->txq[i].data = d->txbuf[i];
			d->txq[i].len = 0;
			d->txq[i].cap = PKT_BUF;
		}
		d->txq_n = stack_link_pull(d->st, d->ifindex, d->txq, BATCH);
		d->txq_off = 0;
		if (!d->txq_n)
			return;
		if (!write_txq(d))
			return;
	}
}

/* Read what waits on the TUN (a few batches, so the other direction gets
 * its turn) into the stack. */
static void pump_rx(struct drv *d)
{
	struct tun_pkt tp[BATCH];
	struct stack_pkt sp[BATCH];
	int n;

	for (int round = 0; round < 8; round++) {
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
			stack_link_input(d->st, d->ifindex, sp, (unsigned)n, now_ns());
		/* ACKs and answers out before the next batch */
		flush_tx(d);
		if (n < BATCH)
			return;
	}
}

/* ---- connections ---------------------------------------------------------- */

static bool is_client(const struct drv *d)
{
	return d->o.connect != NULL;
}

static void conn_label(const struct drv *d, const struct conn *c, char *buf, size_t n)
{
	struct stack_sockaddr peer;
	char a[STACK_ADDRSTRLEN];

	if (stack_ep_getpeername(d->st, c->h, &peer) == 0)
		snprintf(buf, n, "conn %u (%s port %u)", c->id,
			 stack_addr_format(&peer, a, sizeof(a)), peer.port);
	else
		snprintf(buf, n, "conn %u", c->id);
}

static void conn_free(struct drv *d, struct conn *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->state = C_FREE;
	d->nconns--;
}

static void write_sha_line(struct drv *d, const uint8_t digest[SHA256_LEN], uint64_t bytes)
{
	char hex[SHA256_HEXLEN];

	if (!d->sha_out)
		return;
	fprintf(d->sha_out, "%s %" PRIu64 "\n", sha256_hex(digest, hex), bytes);
	fflush(d->sha_out);
}

/* The connection did what its role asks: close it (gracefully: queued
 * data, then FIN, carry on in the stack). */
static void conn_done(struct drv *d, struct conn *c)
{
	char label[96];
	int err;

	if (d->o.verbose) {
		conn_label(d, c, label, sizeof(label));
		fprintf(stderr, PROG ": %s done: %" PRIu64 " bytes in, %" PRIu64 " out\n", label,
			c->rx_bytes, c->tx_bytes);
	}
	err = stack_ep_close(d->st, c->h);
	if (err)
		fprintf(stderr, PROG ": close conn %u: %s\n", c->id, errtext(err));
	d->completed++;
	if (is_client(d))
		d->clients_done++;
	conn_free(d, c);
}

/* A connection failed with -errno err in operation op.  A client stops
 * with a clear message; a server counts it and carries on. */
static void conn_fail(struct drv *d, struct conn *c, const char *op, int err)
{
	char label[96];

	conn_label(d, c, label, sizeof(label));
	fprintf(stderr, PROG ": %s: %s: %s after %" PRIu64 " bytes in, %" PRIu64 " out\n", label,
		op, errtext(err), c->rx_bytes, c->tx_bytes);
	d->errors++;
	stack_ep_close(d->st, c->h);
	conn_free(d, c);
	if (is_client(d)) {
		flush_tx(d);
		if (d->o.stats)
			write_stats(d, d->o.stats);
		exit(1);
	}
}

static void conn_fail_msg(struct drv *d, struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_fail_msg(struct drv *d, struct conn *c, const char *fmt, ...)
{
	char label[96], msg[256];
	va_list ap;

	conn_label(d, c, label, sizeof(label));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s: %s\n", label, msg);
	d->errors++;
	stack_ep_close(d->st, c->h);
	conn_free(d, c);
	if (is_client(d)) {
		flush_tx(d);
		if (d->o.stats)
			write_stats(d, d->o.stats);
		exit(1);
	}
}

static void progress(struct drv *d)
{
	d->t_last_progress = now_ns();
	d->stall_reported = false;
}

static ssize_t ep_recv(struct drv *d, struct conn *c, void *buf, size_t n)
{
	struct iovec iov = {.iov_base = buf, .iov_len = n};
	ssize_t r = stack_ep_recvfrom(d->st, c->h, &iov, 1, STACK_MSG_DONTWAIT, NULL, NULL);

	if (r > 0) {
		c->rx_bytes += (uint64_t)r;
		d->bytes_rx += (uint64_t)r;
		progress(d);
	}
	return r;
}

static ssize_t ep_send(struct drv *d, struct conn *c, const void *buf, size_t n)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
	ssize_t r =
	    stack_ep_sendto(d->st, c->h, &iov, 1, STACK_MSG_DONTWAIT | STACK_MSG_NOSIGNAL, NULL);

	if (r > 0) {
		c->tx_bytes += (uint64_t)r;
		d->bytes_tx += (uint64_t)r;
		progress(d);
	}
	return r;
}

/* Send the next part of the pattern, up to goal.  Returns 0 when
 * blocked or the budget is used, 1 when the goal is reached, -errno. */
static int send_pattern(struct drv *d, struct conn *c, uint64_t goal, bool hash)
{
	uint64_t budget = CONN_BUDGET;

	while (c->tx_bytes < goal) {
		size_t n = IO_CHUNK;
		ssize_t w;

		if (!budget) {
			c->again = d->any_again = true;
			return 0;
		}
		if (goal - c->tx_bytes < n)
			n = (size_t)(goal - c->tx_bytes);
		pattern_fill(c->seed, c->tx_bytes, d->io, n);
		w = ep_send(d, c, d->io, n);
		if (w == -EAGAIN)
			return 0;
		if (w < 0)
			return (int)w;
		if (hash)
			sha256_update(&c->tx_sha, d->io, (size_t)w);
		budget = budget > (uint64_t)w ? budget - (uint64_t)w : 0;
	}
	return 1;
}

/* Read and hand each piece to fn (NULL: discard).  Returns 0 when
 * blocked or out of budget, 1 at EOF, -errno. */
static int recv_all(struct drv *d, struct conn *c,
		    int (*fn)(struct drv *, struct conn *, const uint8_t *, size_t))
{
	uint64_t budget = CONN_BUDGET;

	while (!c->rx_eof) {
		ssize_t r;

		if (!budget) {
			c->again = d->any_again = true;
			return 0;
		}
		r = ep_recv(d, c, d->io, IO_CHUNK);
		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return (int)r;
		if (r == 0) {
			c->rx_eof = true;
			break;
		}
		if (fn) {
			int err = fn(d, c, d->io, (size_t)r);

			if (err)
				return err;
		}
		budget = budget > (uint64_t)r ? budget - (uint64_t)r : 0;
	}
	return 1;
}

static int hash_rx(struct drv *d, struct conn *c, const uint8_t *p, size_t n)
{
	if (!d->o.nohash)
		sha256_update(&c->rx_sha, p, n);
	return 0;
}

/* client echo: what comes back must be the pattern we sent */
static int check_echo(struct drv *d, struct conn *c, const uint8_t *p, size_t n)
{
	uint64_t off = c->rx_bytes - n;
	long long bad;

	if (c->rx_bytes > d->o.bytes) {
		conn_fail_msg(d, c,
			      "echo: %" PRIu64 " bytes came back, more than the %" PRIu64 " sent",
			      c->rx_bytes, d->o.bytes);
		return -EPROTO;
	}
	bad = pattern_check(c->seed, off, p, n);
	if (bad >= 0) {
		conn_fail_msg(d, c, "echo: byte %lld differs from what was sent", bad);
		return -EPROTO;
	}
	return 0;
}

/* ---- the roles --------------------------------------------------------- */

/* server echo: read into the connection's buffer, write it back. */
static void svc_echo_server(struct drv *d, struct conn *c)
{
	uint64_t budget = CONN_BUDGET;

	if (!c->buf && !(c->buf = malloc(ECHO_BUF)))
		die("out of memory");
	for (;;) {
		bool moved = false;
		ssize_t r;

		if (c->buf_len) {
			r = ep_send(d, c, c->buf + c->buf_off, c->buf_len);
			if (r > 0) {
				c->buf_off += (size_t)r;
				c->buf_len -= (size_t)r;
				moved = true;
			} else if (r != -EAGAIN) {
				conn_fail(d, c, "send", (int)r);
				return;
			}
		}
		if (!c->buf_len && !c->rx_eof) {
			r = ep_recv(d, c, c->buf, ECHO_BUF);
			if (r > 0) {
				c->buf_off = 0;
				c->buf_len = (size_t)r;
				moved = true;
				budget = budget > (uint64_t)r ? budget - (uint64_t)r : 0;
			} else if (r == 0) {
				c->rx_eof = true;
			} else if (r != -EAGAIN) {
				conn_fail(d, c, "recv", (int)r);
				return;
			}
		}
		if (!moved)
			break;
		if (!budget) {
			c->again = d->any_again = true;
			return;
		}
	}
	if (c->rx_eof && !c->buf_len)
		conn_done(d, c);
}

/* server sink: read all; at EOF answer the SHA-256, then close. */
static void svc_sink(struct drv *d, struct conn *c)
{
	int r;

	if (!c->rx_eof) {
		r = recv_all(d, c, hash_rx);
		if (r < 0) {
			conn_fail(d, c, "recv", r);
			return;
		}
		if (r == 0)
			return;
		sha256_final(&c->rx_sha, c->reply);
		c->reply_len = SHA256_LEN;
		if (!d->o.nohash)
			write_sha_line(d, c->reply, c->rx_bytes);
	}
	while (c->reply_off < c->reply_len) {
		ssize_t w = ep_send(d, c, c->reply + c->reply_off, c->reply_len - c->reply_off);

		if (w == -EAGAIN)
			return;
		if (w < 0) {
			conn_fail(d, c, "send digest", (int)w);
			return;
		}
		c->reply_off += (unsigned)w;
	}
	conn_done(d, c);
}

/* server source: send the pattern, then close; discard what comes in
 * (unread data at close would make it a reset). */
static void svc_source(struct drv *d, struct conn *c)
{
	int r = recv_all(d, c, NULL);

	if (r < 0) {
		conn_fail(d, c, "recv", r);
		return;
	}
	r = send_pattern(d, c, d->o.bytes, !d->o.nohash);
	if (r < 0) {
		conn_fail(d, c, "send", r);
		return;
	}
	if (r == 0)
		return;
	if (!d->o.nohash) {
		uint8_t dg[SHA256_LEN];

		sha256_final(&c->tx_sha, dg);
		write_sha_line(d, dg, c->tx_bytes);
	}
	conn_done(d, c);
}

/* client send: the pattern, shutdown, then the peer's digest of it. */
static void svc_send(struct drv *d, struct conn *c)
{
	int r;

	if (!c->shut_wr) {
		r = send_pattern(d, c, d->o.bytes, !d->o.nohash);
		if (r < 0) {
			conn_fail(d, c, "send", r);
			return;
		}
		if (r == 0)
			return;
		r = stack_ep_shutdown(d->st, c->h, STACK_SHUT_WR);
		if (r < 0) {
			conn_fail(d, c, "shutdown", r);
			return;
		}
		c->shut_wr = true;
	}
	while (c->reply_len < SHA256_LEN) {
		ssize_t n = ep_recv(d, c, c->reply + c->reply_len, SHA256_LEN - c->reply_len);

		if (n == -EAGAIN)
			return;
		if (n < 0) {
			conn_fail(d, c, "recv digest", (int)n);
			return;
		}
		if (n == 0) {
			conn_fail_msg(d, c,
				      "the peer closed after %u of the 32 bytes of its "
				      "SHA-256 answer",
				      c->reply_len);
			return;
		}
		c->reply_len += (unsigned)n;
	}
	{
		uint8_t mine[SHA256_LEN];
		char h1[SHA256_HEXLEN], h2[SHA256_HEXLEN];

		sha256_final(&c->tx_sha, mine);
		/* --no-hash: any 32-byte answer will do */
		if (!d->o.nohash && memcmp(mine, c->reply, SHA256_LEN)) {
			conn_fail_msg(d, c,
				      "sent %" PRIu64 " bytes with SHA-256 %s, the peer got %s",
				      c->tx_bytes, sha256_hex(mine, h1), sha256_hex(c->reply, h2));
			return;
		}
		if (!d->o.nohash)
			write_sha_line(d, mine, c->tx_bytes);
	}
	c->rx_bytes -= SHA256_LEN; /* the answer is not payload */
	d->bytes_rx -= SHA256_LEN;
	conn_done(d, c);
}

/* client recv: until EOF. */
static void svc_recv(struct drv *d, struct conn *c)
{
	int r = recv_all(d, c, hash_rx);
	uint8_t dg[SHA256_LEN];

	if (r < 0) {
		conn_fail(d, c, "recv", r);
		return;
	}
	if (r == 0)
		return;
	if (d->o.have_bytes && c->rx_bytes != d->o.bytes) {
		conn_fail_msg(d, c, "EOF after %" PRIu64 " bytes, expected %" PRIu64, c->rx_bytes,
			      d->o.bytes);
		return;
	}
	if (!d->o.nohash) {
		sha256_final(&c->rx_sha, dg);
		write_sha_line(d, dg, c->rx_bytes);
	}
	conn_done(d, c);
}

/* client echo: send the pattern while checking what comes back. */
static void svc_echo_client(struct drv *d, struct conn *c)
{
	uint32_t id = c->id;
	int r;

	r = recv_all(d, c, check_echo);
	if (c->state == C_FREE || c->id != id)
		return; /* check_echo failed it */
	if (r < 0) {
		conn_fail(d, c, "recv", r);
		return;
	}
	if (c->rx_eof && c->rx_bytes < d->o.bytes) {
		conn_fail_msg(d, c, "EOF after %" PRIu64 " of %" PRIu64 " bytes echoed",
			      c->rx_bytes, d->o.bytes);
		return;
	}
	if (!c->shut_wr) {
		r = send_pattern(d, c, d->o.bytes, false);
		if (r < 0) {
			conn_fail(d, c, "send", r);
			return;
		}
		if (r == 0)
			return;
		r = stack_ep_shutdown(d->st, c->h, STACK_SHUT_WR);
		if (r < 0) {
			conn_fail(d, c, "shutdown", r);
			return;
		}
		c->shut_wr = true;
	}
	if (c->rx_eof && c->rx_bytes == d->o.bytes)
		conn_done(d, c);
}

/* client rr: --count exchanges of --size bytes. */
static void svc_rr(struct drv *d, struct conn *c)
{
	for (;;) {
		if (c->rr_done == d->o.count) {
			conn_done(d, c);
			return;
		}
		if (c->tx_bytes == c->rr_done * d->o.size) {
			/* ask */
			ssize_t w;

			memset(d->io, 'q', d->o.size);
			w = ep_send(d, c, d->io, d->o.size);
			if (w == -EAGAIN)
				return;
			if (w < 0) {
				conn_fail(d, c, "send", (int)w);
				return;
			}
			if ((size_t)w != d->o.size) {
				conn_fail_msg(d, c, "rr: sent %zd of %u bytes", w, d->o.size);
				return;
			}
		}
		{
			ssize_t r = ep_recv(d, c, d->io, d->o.size - c->rr_in);

			if (r == -EAGAIN)
				return;
			if (r < 0) {
				conn_fail(d, c, "recv", (int)r);
				return;
			}
			if (r == 0) {
				conn_fail_msg(d, c, "rr: EOF after %" PRIu64 " exchanges",
					      c->rr_done);
				return;
			}
			c->rr_in += (uint64_t)r;
			if (c->rr_in == d->o.size) {
				c->rr_in = 0;
				c->rr_done++;
			}
		}
	}
}

static void svc_conn(struct drv *d, struct conn *c)
{
	c->again = false;
	switch (d->o.mode) {
	case M_ECHO:
		if (is_client(d))
			svc_echo_client(d, c);
		else
			svc_echo_server(d, c);
		break;
	case M_SINK:
		svc_sink(d, c);
		break;
	case M_SOURCE:
		svc_source(d, c);
		break;
	case M_SEND:
		svc_send(d, c);
		break;
	case M_RECV:
		svc_recv(d, c);
		break;
	case M_RR:
		svc_rr(d, c);
		break;
	case M_NONE:
		break;
	}
}

static void conn_setup(struct drv *d, struct conn *c, int h, enum cstate state)
{
	memset(c, 0, sizeof(*c));
	c->state = state;
	c->h = h;
	c->id = d->next_id++;
	c->seed = d->o.pattern_seed + (is_client(d) ? c->id : 0);
	c->t_start = now_ns();
	sha256_init(&c->rx_sha);
	sha256_init(&c->tx_sha);
	d->nconns++;
}

/* A connecting client endpoint: did the handshake end, and how? */
static void svc_connecting(struct drv *d, struct conn *c)
{
	unsigned ev = stack_ep_events(d->st, c->h);
	int soerr = 0;
	size_t len = sizeof(soerr);

	if (ev & (STACK_EV_ERR | STACK_EV_HUP)) {
		int r =
		    stack_ep_getopt(d->st, c->h, STACK_SOL_SOCKET, STACK_SO_ERROR, &soerr, &len);

		if (r < 0 || soerr == 0) {
			/* learn the error from a receive */
			struct iovec iov = {.iov_base = d->io, .iov_len = 1};

			r = (int)stack_ep_recvfrom(d->st, c->h, &iov, 1, STACK_MSG_DONTWAIT, NULL,
						   NULL);
			soerr = r < 0 ? -r : ECONNRESET;
		}
		conn_fail(d, c, "connect", -soerr);
		return;
	}
	if (!(ev & STACK_EV_OUT))
		return;
	c->state = C_OPEN;
	progress(d);
	svc_conn(d, c);
}

static void svc_listener(struct drv *d, int l)
{
	struct stack_sockaddr peer;

	for (;;) {
		int h = stack_ep_accept(d->st, l, &peer);
		struct conn *c;

		if (h == -EAGAIN)
			return;
		if (h < 0) {
			fprintf(stderr, PROG ": accept: %s\n", errtext(h));
			d->errors++;
			return;
		}
		if ((uint32_t)h >= d->cfg.max_endpoints || d->conns[h].state != C_FREE) {
			/* cannot happen with handles below max_endpoints */
			fprintf(stderr, PROG ": accept gave handle %d, which is in use\n", h);
			d->refused_full++;
			stack_ep_close(d->st, h);
			continue;
		}
		d->accepted++;
		progress(d);
		c = &d->conns[h];
		conn_setup(d, c, h, C_OPEN);
		if (d->o.verbose) {
			char a[STACK_ADDRSTRLEN];

			fprintf(stderr, PROG ": conn %u from %s port %u\n", c->id,
				stack_addr_format(&peer, a, sizeof(a)), peer.port);
		}
		svc_conn(d, c);
	}
}

static void service(struct drv *d, int h)
{
	struct conn *c;

	if (h < 0)
		return;
	if (h == d->l4 || h == d->l6) {
		svc_listener(d, h);
		return;
	}
	if ((uint32_t)h >= d->cfg.max_endpoints)
		return;
	c = &d->conns[h];
	if (c->state == C_CONNECTING)
		svc_connecting(d, c);
	else if (c->state == C_OPEN)
		svc_conn(d, c);
}

/* Everything stack_ep_changed names, then what ran out of budget. */
static void service_all(struct drv *d)
{
	for (int round = 0; round < 16; round++) {
		int n = stack_ep_changed(d->st, d->changed, (int)d->cfg.max_endpoints);

		if (n <= 0)
			break;
		/* flush after each: 200 connections sending at once would
		 * overflow the interface's transmit queue (1000 packets) */
		for (int i = 0; i < n; i++) {
			service(d, d->changed[i]);
			if (stack_link_pending(d->st, d->ifindex) >= BATCH)
				flush_tx(d);
		}
		flush_tx(d);
	}
	if (d->any_again) {
		d->any_again = false;
		for (uint32_t h = 0; h < d->cfg.max_endpoints; h++)
			if (d->conns[h].state == C_OPEN && d->conns[h].again) {
				svc_conn(d, &d->conns[h]);
				if (stack_link_pending(d->st, d->ifindex) >= BATCH)
					flush_tx(d);
			}
		flush_tx(d);
	}
}

static int open_listener(struct drv *d, int family)
{
	struct stack_sockaddr a;
	int h, err, one = 1;

	h = stack_ep_open(d->st, family, STACK_SOCK_STREAM, STACK_IPPROTO_TCP);
	if (h < 0)
		die("TCP endpoint (%s): %s", family == STACK_AF_INET ? "IPv4" : "IPv6", errtext(h));
	if (family == STACK_AF_INET6) {
		err =
		    stack_ep_setopt(d->st, h, STACK_SOL_IPV6, STACK_IPV6_V6ONLY, &one, sizeof(one));
		if (err)
			die("IPV6_V6ONLY: %s", errtext(err));
	}
	memset(&a, 0, sizeof(a));
	a.family = (uint16_t)family;
	a.port = d->o.listen_port;
	err = stack_ep_bind(d->st, h, &a);
	if (err)
		die("bind TCP port %u (%s): %s", d->o.listen_port,
		    family == STACK_AF_INET ? "IPv4" : "IPv6", errtext(err));
	if (d->o.user_timeout_ms) {
		int v = (int)d->o.user_timeout_ms;

		err =
		    stack_ep_setopt(d->st, h, STACK_SOL_TCP, STACK_TCP_USER_TIMEOUT, &v, sizeof(v));
		if (err)
			die("TCP_USER_TIMEOUT: %s", errtext(err));
	}
	err = stack_ep_listen(d->st, h, 4096);
	if (err)
		die("listen: %s", errtext(err));
	return h;
}

static void open_clients(struct drv *d)
{
	for (uint32_t i = 0; i < d->o.conns; i++) {
		int h = stack_ep_open(d->st, d->o.dst.family, STACK_SOCK_STREAM, STACK_IPPROTO_TCP);
		struct conn *c;
		int r;

		if (h < 0)
			die("TCP endpoint %u of %u: %s", i + 1, d->o.conns, errtext(h));
		c = &d->conns[h];
		conn_setup(d, c, h, C_CONNECTING);
		r = stack_ep_connect(d->st, h, &d->o.dst);
		if (r == 0) {
			c->state = C_OPEN;
		} else if (r != -EINPROGRESS) {
			char a[STACK_ADDRSTRLEN];

			die("connect to %s port %u: %s", stack_addr_format(&d->o.dst, a, sizeof(a)),
			    d->o.dst.port, errtext(r));
		}
	}
	flush_tx(d);
}

/* ---- the loop ------------------------------------------------------------ */

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

/* Block the signals we handle; ppoll unblocks them only while it sleeps. */
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

/* Nothing moved for STALL_NS: say what every connection looks like, once
 * (a connection the stack calls ready that we were not told about points
 * at a missing stack_ep_changed). */
static void report_stall(struct drv *d)
{
	uint32_t shown = 0;

	fprintf(stderr, PROG ": nothing moved for %llu s; %u connections open:\n",
		(unsigned long long)(STALL_NS / STACK_NS_PER_S), d->nconns);
	for (uint32_t h = 0; h < d->cfg.max_endpoints && shown < 20; h++) {
		struct conn *c = &d->conns[h];

		if (c->state == C_FREE)
			continue;
		shown++;
		fprintf(stderr,
			"  conn %u handle %u: %s, events 0x%x, %" PRIu64 " bytes in, %" PRIu64
			" out, eof %d, shut %d, unsent %d, readable %d\n",
			c->id, h, c->state == C_CONNECTING ? "connecting" : "open",
			stack_ep_events(d->st, (int)h), c->rx_bytes, c->tx_bytes, c->rx_eof,
			c->shut_wr, stack_ep_unsent(d->st, (int)h),
			stack_ep_pending(d->st, (int)h));
	}
	d->stall_reported = true;
}

static bool work_done(const struct drv *d)
{
	if (is_client(d))
		return d->clients_done == d->o.conns;
	return d->o.count && d->completed + d->errors >= d->o.count;
}

static void report(struct drv *d)
{
	double secs = (double)(now_ns() - d->t_begin) / 1e9;
	uint64_t bytes = d->bytes_rx > d->bytes_tx ? d->bytes_rx : d->bytes_tx;

	if (secs <= 0)
		secs = 1e-9;
	if (d->o.mode == M_RR) {
		printf(PROG ": rr: %u conns, %" PRIu64 " exchanges of %u bytes in %.3f s: %.0f/s\n",
		       d->o.conns, d->o.count * d->o.conns, d->o.size, secs,
		       (double)(d->o.count * d->o.conns) / secs);
	} else {
		printf(PROG ": %s: %" PRIu64 " conns, %" PRIu64 " bytes in, %" PRIu64
			    " out in %.3f s: %.1f MB/s (%.2f Gbit/s)\n",
		       mode_names[d->o.mode], d->completed, d->bytes_rx, d->bytes_tx, secs,
		       (double)bytes / secs / 1e6, (double)bytes * 8 / secs / 1e9);
	}
	fflush(stdout);
}

static void wait_io(struct drv *d, const sigset_t *waitmask, int ms)
{
	struct pollfd pfd;
	struct timespec ts;

	pfd.fd = d->tun.fd;
	pfd.events = POLLIN | (d->txq_n ? POLLOUT : 0);
	pfd.revents = 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ppoll(&pfd, 1, &ts, waitmask) < 0) {
		if (errno == EINTR)
			return;
		die("ppoll: %s", strerror(errno));
	}
	if (pfd.revents & (POLLERR | POLLNVAL))
		die("%s: the device went away", d->tun.name);
	if (pfd.revents & POLLOUT)
		flush_tx(d);
	if (pfd.revents & POLLIN)
		pump_rx(d);
}

/* Returns the exit status. */
static int run(struct drv *d, const sigset_t *waitmask)
{
	stack_ns_t deadline = 0, linger_end = 0;
	bool done = false;

	d->t_begin = d->t_last_progress = now_ns();
	if (is_client(d) && d->o.timeout_s)
		deadline = d->t_begin + d->o.timeout_s * STACK_NS_PER_S;
	while (!got_stop) {
		stack_ns_t now, next;
		int ms;

		stack_poll(d->st, now_ns());
		service_all(d);
		flush_tx(d);
		now = now_ns();
		if (!done && work_done(d)) {
			done = true;
			report(d);
			linger_end = now + d->o.linger_ms * STACK_NS_PER_MS;
		}
		if (done && now >= linger_end)
			break;
		if (!done && deadline && now >= deadline) {
			fprintf(stderr, PROG ": timed out after %" PRIu64 " s (--timeout)\n",
				d->o.timeout_s);
			report_stall(d);
			return 3;
		}
		if (!d->stall_reported && d->nconns && now - d->t_last_progress > STALL_NS)
			report_stall(d);
		if (got_usr1) {
			got_usr1 = 0;
			if (d->o.stats)
				write_stats(d, d->o.stats);
			else
				print_stats(d, stdout);
			fflush(stdout);
		}
		next = stack_next_deadline(d->st);
		if (done && linger_end < next)
			next = linger_end;
		if (deadline && deadline < next)
			next = deadline;
		ms = d->any_again ? 0 : poll_timeout_ms(next, now);
		wait_io(d, waitmask, ms);
	}
	return d->errors && is_client(d) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct drv d;
	sigset_t waitmask;
	int rc;

	memset(&d, 0, sizeof(d));
	d.l4 = d.l6 = -1;
	parse_opts(&d.o, argc, argv);
	if (d.o.sha_out) {
		d.sha_out = fopen(d.o.sha_out, "w");
		if (!d.sha_out)
			die("--sha-out %s: %s", d.o.sha_out, strerror(errno));
	}
	setup_signals(&waitmask);
	alloc_buffers(&d);
	open_tun(&d);
	create_stack(&d);
	set_faults(&d);
	if (d.o.listen_port) {
		d.l4 = open_listener(&d, STACK_AF_INET);
		if (ipv6_enabled(&d.o))
			d.l6 = open_listener(&d, STACK_AF_INET6);
		fprintf(stderr, PROG ": TCP %s server on port %u, %s (MTU %u), SHA-256 %s\n",
			mode_names[d.o.mode], d.o.listen_port, d.tun.name, d.tun.mtu,
			sha256_impl());
	}
	if (d.o.ready)
		touch_ready(d.o.ready);
	if (is_client(&d))
		open_clients(&d);

	rc = run(&d, &waitmask);

	/* Send what is still queued before going. */
	stack_poll(d.st, now_ns());
	flush_tx(&d);
	if (d.o.stats)
		write_stats(&d, d.o.stats);
	if (d.sha_out)
		fclose(d.sha_out);
	tun_close(&d.tun);
	return rc;
}
