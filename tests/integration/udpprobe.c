/*
 * udpprobe.c — the kernel-side UDP client of the integration tests: plain
 * Linux sockets talking to netshim-echod across the TUN device.
 *   udpprobe echo    --to A --port P [--sizes LIST] [--count N]
 *   udpprobe refused --to A --port P
 *   udpprobe fault   --to A --port P --count N
 * Every wait is bounded; the exit status is 0 on success, 1 on a failed
 * check (with one clear line on stderr), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG "udpprobe"
#define MAX_DGRAM 65535
#define FAULT_MAGIC 0x4e535052u /* "NSPR" */
#define FAULT_HDR 12		/* magic, seq, size: 3 x u32 */

struct opts {
	const char *mode;
	const char *to;
	uint16_t port;
	const char *sizes;
	unsigned count;
	unsigned timeout_ms; /* echo/refused: per datagram */
	unsigned size;	     /* fault: bytes per datagram */
	unsigned burst;	     /* fault: datagrams sent back to back */
	unsigned gap_ms;     /* fault: pause between bursts */
	unsigned quiet_ms;   /* fault: stop after this long without echoes */
	unsigned max_ms;     /* fault: bound on the whole run */
};

static uint8_t sbuf[MAX_DGRAM + 1], rbuf[MAX_DGRAM + 1], want[MAX_DGRAM + 1];

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The content of datagram (size, seq): xorshift32 bytes from a seed mixing
 * both, so a datagram echoed under the wrong size or sequence shows. */
static void fill_pattern(uint8_t *buf, size_t len, uint32_t size, uint32_t seq)
{
	uint32_t x = size * 0x9e3779b1u ^ (seq + 1) * 0x85ebca6bu;

	if (!x)
		x = 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)(x >> 24);
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " MODE --to ADDR --port P [options]\n"
		   "  echo     send datagrams of --sizes (default 1,1472,1473,8000)\n"
		   "           --count times each, wait for each echo, compare it\n"
		   "  refused  a datagram to a closed port must give ECONNREFUSED\n"
		   "  fault    send --count small datagrams in bursts, collect the\n"
		   "           echoes, print: sent N received R lost L duplicates D\n"
		   "           reordered O corrupt C (exit 1 if C > 0)\n"
		   "options: --sizes LIST --count N --timeout-ms T (per datagram,\n"
		   "  default 3000) --size S (fault, default 64) --burst B (default\n"
		   "  16) --gap-ms G (default 2) --quiet-ms Q (default 1000)\n"
		   "  --max-ms M (fault, whole run, default 60000)\n"
		   "ADDR is IPv4 or IPv6.\n");
}

static unsigned parse_uint(const char *opt, const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		die(2, "--%s: \"%s\" is not a number in 0..%u", opt, s, max);
	return (unsigned)v;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"port", required_argument, NULL, 'p'},
	    {"sizes", required_argument, NULL, 's'},
	    {"count", required_argument, NULL, 'c'},
	    {"timeout-ms", required_argument, NULL, 'T'},
	    {"size", required_argument, NULL, 'S'},
	    {"burst", required_argument, NULL, 'b'},
	    {"gap-ms", required_argument, NULL, 'g'},
	    {"quiet-ms", required_argument, NULL, 'q'},
	    {"max-ms", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->sizes = "1,1472,1473,8000";
	o->timeout_ms = 3000;
	o->size = 64;
	o->burst = 16;
	o->gap_ms = 2;
	o->quiet_ms = 1000;
	o->max_ms = 60000;
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			usage(stdout);
			exit(0);
		}
		usage(stderr);
		exit(2);
	}
	o->mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->to = optarg;
			break;
		case 'p':
			o->port = (uint16_t)parse_uint("port", optarg, 65535);
			break;
		case 's':
			o->sizes = optarg;
			break;
		case 'c':
			o->count = parse_uint("count", optarg, 10000000);
			break;
		case 'T':
			o->timeout_ms = parse_uint("timeout-ms", optarg, 600000);
			break;
		case 'S':
			o->size = parse_uint("size", optarg, MAX_DGRAM);
			break;
		case 'b':
			o->burst = parse_uint("burst", optarg, 100000);
			break;
		case 'g':
			o->gap_ms = parse_uint("gap-ms", optarg, 10000);
			break;
		case 'q':
			o->quiet_ms = parse_uint("quiet-ms", optarg, 600000);
			break;
		case 'm':
			o->max_ms = parse_uint("max-ms", optarg, 3600000);
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
		die(2, "unexpected argument \"%s\"", argv[optind]);
	if (!o->to || !o->port)
		die(2, "%s needs --to ADDR and --port P", o->mode);
	if (!o->burst)
		o->burst = 1;
}

/* A UDP socket connected to --to/--port: the kernel then reports ICMP
 * errors on it and hands it only that peer's datagrams. */
static int open_connected(const struct opts *o, int *family)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[INET6_ADDRSTRLEN + 2];
	const char *h = o->to;
	int s, big = 4 << 20;

	memset(&ss, 0, sizeof(ss));
	if (h[0] == '[' && strlen(h) < sizeof(host) && h[strlen(h) - 1] == ']') {
		memcpy(host, h + 1, strlen(h) - 2);
		host[strlen(h) - 2] = 0;
		h = host;
	}
	if (inet_pton(AF_INET, h, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(o->port);
		sl = sizeof(*sin);
	} else if (inet_pton(AF_INET6, h, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(o->port);
		sl = sizeof(*sin6);
	} else {
		die(2, "--to: \"%s\" is not an IPv4 or IPv6 address", o->to);
	}
	*family = ss.ss_family;
	s = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die(1, "socket: %s", strerror(errno));
	/* room for a burst of echoes; FORCE works as root, else the max */
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (connect(s, (struct sockaddr *)&ss, sl) < 0)
		die(1, "connect %s port %u: %s", o->to, o->port, strerror(errno));
	return s;
}

/* Wait up to ms for s to be readable: true if it is. */
static bool wait_readable(int s, int ms)
{
	struct pollfd p = {.fd = s, .events = POLLIN};
	int r;

	if (ms < 0)
		ms = 0;
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die(1, "poll: %s", strerror(errno));
	return r > 0;
}

static void send_all(const struct opts *o, int s, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(s, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die(1, "send %zu bytes to %s port %u: %s", len, o->to, o->port, strerror(errno));
	if ((size_t)n != len)
		die(1, "send %zu bytes: only %zd sent", len, n);
}

/* ---- echo ---------------------------------------------------------------- */

static void echo_one(const struct opts *o, int s, unsigned size, unsigned seq)
{
	uint64_t deadline = now_ms() + o->timeout_ms;
	ssize_t n;

	fill_pattern(sbuf, size, size, seq);
	send_all(o, s, sbuf, size);
	for (;;) {
		if (!wait_readable(s, (int)(deadline - now_ms())) || now_ms() > deadline)
			die(1,
			    "echo of %u bytes (#%u) from %s port %u: no answer "
			    "within %u ms",
			    size, seq, o->to, o->port, o->timeout_ms);
		n = recv(s, rbuf, sizeof(rbuf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			die(1, "echo of %u bytes (#%u): recv: %s%s", size, seq, strerror(errno),
			    errno == ECONNREFUSED
				? " (port unreachable: is the echo service there?)"
				: "");
		break;
	}
	if ((size_t)n != size)
		die(1, "echo of %u bytes (#%u) came back with %zd bytes", size, seq, n);
	if (memcmp(rbuf, sbuf, size)) {
		size_t i = 0;

		while (rbuf[i] == sbuf[i])
			i++;
		die(1,
		    "echo of %u bytes (#%u) differs first at byte %zu: "
		    "sent 0x%02x, got 0x%02x",
		    size, seq, i, sbuf[i], rbuf[i]);
	}
}

static int mode_echo(const struct opts *o)
{
	unsigned count = o->count ? o->count : 1;
	const char *p = o->sizes;
	int family, s = open_connected(o, &family);

	while (*p) {
		char *end;
		unsigned long size;

		errno = 0;
		size = strtoul(p, &end, 10);
		if (errno || end == p || (*end && *end != ',') || size > MAX_DGRAM)
			die(2, "--sizes: bad list \"%s\"", o->sizes);
		for (unsigned seq = 0; seq < count; seq++)
			echo_one(o, s, (unsigned)size, seq);
		printf("echo %s port %u: %lu bytes x%u ok\n", o->to, o->port, size, count);
		p = *end ? end + 1 : end;
	}
	close(s);
	return 0;
}

/* ---- refused -------------------------------------------------------------- */

static int mode_refused(const struct opts *o)
{
	uint64_t deadline = now_ms() + o->timeout_ms;
	int family, s = open_connected(o, &family);
	unsigned tries = 0;
	ssize_t n;

	/* Several tries, in case an ICMP error was rate-limited away. */
	while (now_ms() < deadline) {
		tries++;
		n = send(s, "x", 1, 0);
		if (n < 0 && errno == ECONNREFUSED)
			goto refused; /* an earlier try's error surfaced */
		if (n < 0)
			die(1, "send: %s", strerror(errno));
		if (!wait_readable(s, 300))
			continue;
		n = recv(s, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (n < 0 && errno == ECONNREFUSED)
			goto refused;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			die(1, "recv: %s, expected ECONNREFUSED", strerror(errno));
		if (n >= 0)
			die(1,
			    "%s port %u answered (%zd bytes): something "
			    "listens there",
			    o->to, o->port, n);
	}
	die(1, "%s port %u: no ECONNREFUSED within %u ms (%u datagrams sent)", o->to, o->port,
	    o->timeout_ms, tries);
refused:
	printf("refused %s port %u: ECONNREFUSED after %u datagram(s)\n", o->to, o->port, tries);
	close(s);
	return 0;
}

/* ---- fault -------------------------------------------------------------- */

struct fault_tally {
	unsigned *seen;	   /* copies received per sequence number */
	uint64_t received; /* every datagram, duplicates and corrupt ones too */
	uint64_t corrupt;
	uint64_t reordered; /* first copies arriving after a higher seq */
	int64_t max_seq;
	uint64_t errors; /* ICMP errors reported on the socket */
	uint64_t last_rx_ms;
};

static void fault_check(const struct opts *o, struct fault_tally *t, const uint8_t *d, ssize_t n)
{
	uint32_t seq;

	t->received++;
	if ((size_t)n != o->size || get32(d) != FAULT_MAGIC || get32(d + 8) != o->size ||
	    (seq = get32(d + 4)) >= o->count) {
		t->corrupt++;
		return;
	}
	fill_pattern(want, o->size - FAULT_HDR, o->size, seq);
	if (memcmp(d + FAULT_HDR, want, o->size - FAULT_HDR)) {
		t->corrupt++;
		return;
	}
	if (t->seen[seq]++ == 0) {
		if ((int64_t)seq < t->max_seq)
			t->reordered++;
		else
			t->max_seq = seq;
	}
}

static void fault_drain(const struct opts *o, int s, struct fault_tally *t)
{
	for (;;) {
		ssize_t n = recv(s, rbuf, sizeof(rbuf), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			t->errors++; /* e.g. ECONNREFUSED: reported once */
			continue;
		}
		t->last_rx_ms = now_ms();
		fault_check(o, t, rbuf, n);
	}
}

static int mode_fault(const struct opts *o)
{
	struct fault_tally t;
	uint64_t start = now_ms(), end, gap_end, lost = 0, dups = 0;
	int family, s;

	if (!o->count)
		die(2, "fault needs --count N");
	if (o->size < FAULT_HDR)
		die(2, "--size must be at least %d", FAULT_HDR);
	s = open_connected(o, &family);
	memset(&t, 0, sizeof(t));
	t.max_seq = -1;
	t.seen = calloc(o->count, sizeof(*t.seen));
	if (!t.seen)
		die(1, "out of memory");
	end = start + o->max_ms;

	/* Bursts let the fault stage reorder: a held packet goes after the
	 * next one, and within a burst there is always a next one. */
	for (unsigned seq = 0; seq < o->count;) {
		for (unsigned b = 0; b < o->burst && seq < o->count; b++, seq++) {
			put32(sbuf, FAULT_MAGIC);
			put32(sbuf + 4, seq);
			put32(sbuf + 8, o->size);
			fill_pattern(sbuf + FAULT_HDR, o->size - FAULT_HDR, o->size, seq);
			if (send(s, sbuf, o->size, 0) < 0 && errno != ECONNREFUSED &&
			    errno != ENOBUFS)
				die(1, "send: %s", strerror(errno));
		}
		/* the pause: collect echoes meanwhile */
		gap_end = now_ms() + o->gap_ms;
		do {
			fault_drain(o, s, &t);
			if (now_ms() > end)
				die(1, "fault: sending took longer than %u ms", o->max_ms);
		} while (now_ms() < gap_end && wait_readable(s, (int)(gap_end - now_ms())));
		fault_drain(o, s, &t);
	}
	/* Collect until quiet: every expected echo is in, or late. */
	t.last_rx_ms = now_ms();
	while (now_ms() < end && now_ms() - t.last_rx_ms < o->quiet_ms) {
		wait_readable(s, (int)(o->quiet_ms - (now_ms() - t.last_rx_ms)));
		fault_drain(o, s, &t);
	}

	for (unsigned i = 0; i < o->count; i++) {
		if (!t.seen[i])
			lost++;
		else
			dups += t.seen[i] - 1;
	}
	printf("sent %u received %" PRIu64 " lost %" PRIu64 " duplicates %" PRIu64
	       " reordered %" PRIu64 " corrupt %" PRIu64 "\n",
	       o->count, t.received, lost, dups, t.reordered, t.corrupt);
	if (t.errors)
		fprintf(stderr, PROG ": %" PRIu64 " socket errors (ICMP) seen\n", t.errors);
	free(t.seen);
	close(s);
	if (t.corrupt)
		die(1, "%" PRIu64 " corrupted datagram(s) came back", t.corrupt);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;

	parse_opts(&o, argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(o.mode, "echo"))
		return mode_echo(&o);
	if (!strcmp(o.mode, "refused"))
		return mode_refused(&o);
	if (!strcmp(o.mode, "fault"))
		return mode_fault(&o);
	usage(stderr);
	die(2, "unknown mode \"%s\"", o.mode);
}
