/*
 * tcpprobe.c — the kernel-side TCP peer of the integration tests and of
 * scripts/bench.sh: kernel sockets, the same roles and checks as
 * netshim-tcpdrv (SHA-256 from tools/sha256.c, the pattern of
 * tools/pattern.h), so either side can be the stack and a kernel-to-kernel
 * run of the same pair is the baseline.
 *   tcpprobe server --port P --mode sink|source|echo|reset [...]
 *   tcpprobe send|recv|echo|rr|hold --to ADDR --port P [...]
 * Many connections at once in one thread with poll(2); every run is
 * bounded by --timeout.  Exit 0 and a one-line report on success; 1 with
 * the errno name on failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
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
#include "sha256.h"

#define PROG "tcpprobe"
#define CHUNK (256 * 1024)
#define MAXCONN 4096

enum role { R_SINK, R_SOURCE, R_ECHO, R_RESET, R_SEND, R_RECV, R_RR, R_HOLD };

struct conn {
	int fd;
	uint32_t id;
	bool connecting, rx_eof, shut_wr, done;
	uint64_t rx, tx, seed;
	struct sha256 rsha, tsha;
	uint8_t reply[SHA256_LEN];
	unsigned reply_len, reply_off;
	uint8_t *buf; /* echo server */
	size_t boff, blen;
	uint64_t rr_done, rr_in;
};

static struct {
	enum role role;
	bool server;
	const char *to;
	uint16_t port;
	uint64_t bytes, after, count, seed;
	bool have_bytes, nohash, verify;
	uint32_t conns, size;
	const char *sha_out, *ready, *cc;
	unsigned timeout_s, delay_ms;
	FILE *sha;
} o = {.conns = 1, .size = 1, .seed = 1, .timeout_s = 120};

static struct conn conns[MAXCONN];
static uint32_t nconns, ndone;
static uint64_t total_rx, total_tx, failures;
static uint8_t *io;
static volatile sig_atomic_t got_stop;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static const char *errtext(int e)
{
	static char buf[160];
	const char *n = strerrorname_np(e);

	snprintf(buf, sizeof(buf), "%s (%s)", strerror(e), n ? n : "?");
	return buf;
}

/* A connection failed: a client stops, a server counts and goes on. */
static void cfail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cfail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": conn %u: ", c->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (after %" PRIu64 " bytes in, %" PRIu64 " out)\n", c->rx, c->tx);
	if (!o.server)
		exit(1);
	failures++;
	close(c->fd);
	free(c->buf);
	c->buf = NULL;
	c->done = true;
	c->fd = -1;
	ndone++;
}

static void finish(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->done = true;
	ndone++;
}

static void sha_line(const uint8_t d[SHA256_LEN], uint64_t n)
{
	char hex[SHA256_HEXLEN];

	if (o.sha) {
		fprintf(o.sha, "%s %" PRIu64 "\n", sha256_hex(d, hex), n);
		fflush(o.sha);
	}
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;

	if (end == s)
		die("\"%s\" is not a number", s);
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end)
		die("\"%s\" is not a number", s);
	return (uint64_t)v << shift;
}

/* ---- I/O helpers: >0 bytes, 0 EOF, -EAGAIN, -errno ---------------------- */

static ssize_t xrecv(struct conn *c, void *b, size_t n)
{
	ssize_t r = recv(c->fd, b, n, 0);

	if (r < 0)
		return -errno;
	c->rx += (uint64_t)r;
	total_rx += (uint64_t)r;
	return r;
}

static ssize_t xsend(struct conn *c, const void *b, size_t n)
{
	ssize_t r = send(c->fd, b, n, MSG_NOSIGNAL);

	if (r < 0)
		return -errno;
	c->tx += (uint64_t)r;
	total_tx += (uint64_t)r;
	return r;
}

/* Send the pattern up to goal: 1 done, 0 blocked, -errno. */
static int send_pattern(struct conn *c, uint64_t goal, bool hash)
{
	while (c->tx < goal) {
		size_t n = goal - c->tx < CHUNK ? (size_t)(goal - c->tx) : CHUNK;
		ssize_t w;

		pattern_fill(c->seed, c->tx, io, n);
		w = xsend(c, io, n);
		if (w == -EAGAIN)
			return 0;
		if (w < 0)
			return (int)w;
		if (hash)
			sha256_update(&c->tsha, io, (size_t)w);
	}
	return 1;
}

/* Read until EOF (1), blocked (0) or -errno; hash and/or check. */
static int recv_data(struct conn *c, bool hash, bool verify_seed)
{
	while (!c->rx_eof) {
		ssize_t r = xrecv(c, io, CHUNK);

		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return (int)r;
		if (r == 0) {
			c->rx_eof = true;
			break;
		}
		if (hash)
			sha256_update(&c->rsha, io, (size_t)r);
		if (verify_seed) {
			long long bad = pattern_check(c->seed, c->rx - (uint64_t)r, io, (size_t)r);

			if (bad >= 0) {
				cfail(c, "byte %lld differs from the pattern", bad);
				return -EPROTO;
			}
		}
	}
	return 1;
}

/* ---- roles -------------------------------------------------------------- */

static void svc(struct conn *c, short rev)
{
	int r;

	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(rev & (POLLOUT | POLLERR | POLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			cfail(c, "connect: %s", errtext(err));
			return;
		}
		c->connecting = false;
	}
	switch (o.role) {
	case R_SINK: /* read all, answer the digest, close */
		if (!c->rx_eof) {
			r = recv_data(c, !o.nohash, false);
			if (r < 0) {
				if (r != -EPROTO)
					cfail(c, "recv: %s", errtext(-r));
				return;
			}
			if (!r)
				return;
			sha256_final(&c->rsha, c->reply);
			c->reply_len = SHA256_LEN;
			if (!o.nohash)
				sha_line(c->reply, c->rx);
		}
		while (c->reply_off < c->reply_len) {
			ssize_t w = xsend(c, c->reply + c->reply_off, c->reply_len - c->reply_off);

			if (w == -EAGAIN)
				return;
			if (w < 0) {
				cfail(c, "send digest: %s", errtext((int)-w));
				return;
			}
			c->reply_off += (unsigned)w;
		}
		finish(c);
		return;
	case R_SOURCE: /* the pattern, then close */
		r = recv_data(c, false, false);
		if (r < 0) {
			cfail(c, "recv: %s", errtext(-r));
			return;
		}
		r = send_pattern(c, o.bytes, !o.nohash);
		if (r < 0) {
			cfail(c, "send: %s", errtext(-r));
			return;
		}
		if (!r)
			return;
		if (!o.nohash) {
			uint8_t d[SHA256_LEN];

			sha256_final(&c->tsha, d);
			sha_line(d, c->tx);
		}
		finish(c);
		return;
	case R_ECHO:
		if (o.server) {
			for (;;) {
				bool moved = false;
				ssize_t n;

				if (c->blen) {
					n = xsend(c, c->buf + c->boff, c->blen);
					if (n > 0) {
						c->boff += (size_t)n;
						c->blen -= (size_t)n;
						moved = true;
					} else if (n != -EAGAIN) {
						cfail(c, "send: %s", errtext((int)-n));
						return;
					}
				}
				if (!c->blen && !c->rx_eof) {
					n = xrecv(c, c->buf, CHUNK);
					if (n > 0) {
						c->boff = 0;
						c->blen = (size_t)n;
						moved = true;
					} else if (n == 0) {
						c->rx_eof = true;
					} else if (n != -EAGAIN) {
						cfail(c, "recv: %s", errtext((int)-n));
						return;
					}
				}
				if (!moved)
					break;
			}
			if (c->rx_eof && !c->blen)
				finish(c);
			return;
		}
		/* client: send the pattern, check it comes back */
		r = recv_data(c, false, true);
		if (r == -EPROTO)
			return;
		if (r < 0) {
			cfail(c, "recv: %s", errtext(-r));
			return;
		}
		if (c->rx > o.bytes || (c->rx_eof && c->rx < o.bytes)) {
			cfail(c, "%" PRIu64 " bytes came back (EOF %d) for %" PRIu64 " sent", c->rx,
			      c->rx_eof, o.bytes);
			return;
		}
		if (!c->shut_wr) {
			r = send_pattern(c, o.bytes, false);
			if (r < 0) {
				cfail(c, "send: %s", errtext(-r));
				return;
			}
			if (!r)
				return;
			shutdown(c->fd, SHUT_WR);
			c->shut_wr = true;
		}
		if (c->rx_eof)
			finish(c);
		return;
	case R_RESET: /* send --bytes, read --after, then an RST */
		r = send_pattern(c, o.bytes, false);
		if (r < 0) {
			cfail(c, "send: %s", errtext(-r));
			return;
		}
		while (c->rx < o.after && !c->rx_eof) {
			ssize_t n = xrecv(c, io, CHUNK);

			if (n == -EAGAIN)
				return;
			if (n <= 0) {
				c->rx_eof = true;
				break;
			}
		}
		if (!r)
			return;
		{
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			if (o.delay_ms)
				usleep(o.delay_ms * 1000);
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			finish(c);
		}
		return;
	case R_SEND:
		if (!c->shut_wr) {
			r = send_pattern(c, o.bytes, true);
			if (r < 0) {
				cfail(c, "send: %s", errtext(-r));
				return;
			}
			if (!r)
				return;
			shutdown(c->fd, SHUT_WR);
			c->shut_wr = true;
		}
		while (c->reply_len < SHA256_LEN) {
			ssize_t n = xrecv(c, c->reply + c->reply_len, SHA256_LEN - c->reply_len);

			if (n == -EAGAIN)
				return;
			if (n < 0) {
				cfail(c, "recv digest: %s", errtext((int)-n));
				return;
			}
			if (n == 0) {
				cfail(c, "the peer closed after %u of 32 digest bytes",
				      c->reply_len);
				return;
			}
			c->reply_len += (unsigned)n;
		}
		{
			uint8_t mine[SHA256_LEN];
			char a[SHA256_HEXLEN], b[SHA256_HEXLEN];

			sha256_final(&c->tsha, mine);
			c->rx -= SHA256_LEN;
			total_rx -= SHA256_LEN;
			if (!o.nohash && memcmp(mine, c->reply, SHA256_LEN)) {
				cfail(c, "sent SHA-256 %s, the peer got %s", sha256_hex(mine, a),
				      sha256_hex(c->reply, b));
				return;
			}
			sha_line(mine, c->tx);
		}
		finish(c);
		return;
	case R_RECV:
		r = recv_data(c, !o.nohash, o.verify);
		if (r == -EPROTO)
			return;
		if (r < 0) {
			cfail(c, "recv: %s", errtext(-r));
			return;
		}
		if (!r)
			return;
		if (o.have_bytes && c->rx != o.bytes) {
			cfail(c, "EOF after %" PRIu64 " bytes, expected %" PRIu64, c->rx, o.bytes);
			return;
		}
		if (!o.nohash) {
			uint8_t d[SHA256_LEN];

			sha256_final(&c->rsha, d);
			sha_line(d, c->rx);
		}
		finish(c);
		return;
	case R_RR:
		for (;;) {
			ssize_t n;

			if (c->rr_done == o.count) {
				finish(c);
				return;
			}
			if (c->tx == c->rr_done * o.size) {
				memset(io, 'q', o.size);
				n = xsend(c, io, o.size);
				if (n == -EAGAIN)
					return;
				if (n != (ssize_t)o.size) {
					cfail(c, "send: %s", n < 0 ? errtext((int)-n) : "short");
					return;
				}
			}
			n = xrecv(c, io, o.size - c->rr_in);
			if (n == -EAGAIN)
				return;
			if (n <= 0) {
				cfail(c, "recv: %s", n < 0 ? errtext((int)-n) : "EOF");
				return;
			}
			c->rr_in += (uint64_t)n;
			if (c->rr_in == o.size) {
				c->rr_in = 0;
				c->rr_done++;
			}
		}
	case R_HOLD: /* connected: nothing more until the end */
		if (rev & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = xrecv(c, io, CHUNK);

			if (n == 0 || (n < 0 && n != -EAGAIN))
				cfail(c, "held connection ended: %s", n ? errtext((int)-n) : "EOF");
		}
		return;
	}
}

static void conn_init(struct conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->id = nconns++;
	c->seed = o.seed + (o.server ? 0 : c->id);
	sha256_init(&c->rsha);
	sha256_init(&c->tsha);
	if (o.role == R_ECHO && o.server && !(c->buf = malloc(CHUNK)))
		die("out of memory");
}

/* --cc: the kernel's congestion control for this socket (an accepted one
 * inherits the listener's). */
static void set_cc(int fd)
{
	if (o.cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o.cc, strlen(o.cc)) < 0)
		die("TCP_CONGESTION %s: %s", o.cc, errtext(errno));
}

static int open_listener(void)
{
	struct sockaddr_in6 a;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0), zero = 0, one = 1;

	if (fd < 0)
		die("socket: %s", errtext(errno));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)); /* v4 too */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	set_cc(fd);
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(o.port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4096))
		die("listen on port %u: %s", o.port, errtext(errno));
	return fd;
}

static void open_clients(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, o.to, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		fam = AF_INET;
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(o.port);
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, o.to, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		fam = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(o.port);
		len = sizeof(struct sockaddr_in6);
	} else {
		die("--to: \"%s\" is not an address", o.to);
	}
	for (uint32_t i = 0; i < o.conns; i++) {
		int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
		struct conn *c = &conns[i];

		if (fd < 0)
			die("socket: %s", errtext(errno));
		if (o.role == R_RR)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		set_cc(fd);
		conn_init(c, fd);
		if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
			if (errno != EINPROGRESS)
				cfail(c, "connect to %s port %u: %s", o.to, o.port, errtext(errno));
			c->connecting = true;
		}
	}
}

static void on_signal(int sig)
{
	(void)sig;
	got_stop = 1;
}

/* `tcpprobe sha256 FILE...`: sha256sum's output format, to check
 * tools/sha256.c against coreutils. */
static int hash_files(int n, char **files)
{
	static uint8_t buf[1 << 16];
	int rc = 0;

	for (int i = 0; i < n; i++) {
		FILE *f = fopen(files[i], "rb");
		struct sha256 s;
		uint8_t d[SHA256_LEN];
		char hex[SHA256_HEXLEN];
		size_t k, chunk = 1;

		if (!f) {
			fprintf(stderr, PROG ": %s: %s\n", files[i], strerror(errno));
			rc = 1;
			continue;
		}
		sha256_init(&s);
		/* uneven pieces exercise the partial-block paths */
		while ((k = fread(buf, 1, chunk, f)) > 0) {
			sha256_update(&s, buf, k);
			chunk = chunk * 7 % sizeof(buf) + 1;
		}
		fclose(f);
		sha256_final(&s, d);
		printf("%s  %s\n", sha256_hex(d, hex), files[i]);
	}
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROG " server --port P --mode sink|source|echo|reset [--count K]\n"
		"       " PROG " send|recv|echo|rr|hold --to ADDR --port P [--conns K]\n"
		"       " PROG " sha256 FILE...   (as sha256sum, with tools/sha256.c)\n"
		"  --bytes N        per connection (K/M/G); reset: sent before the RST\n"
		"  --after N        reset: bytes read before the RST\n"
		"  --delay-ms N     reset: wait before the RST\n"
		"  --count N        server: exit after N connections; rr: exchanges\n"
		"  --size S         rr: message size (default 1)\n"
		"  --pattern-seed N (default 1; clients add the connection number)\n"
		"  --verify         recv: check every byte against the pattern\n"
		"  --sha-out FILE   `SHA256 BYTES` per connection\n"
		"  --no-hash        skip SHA-256\n"
		"  --ready FILE     created once listening / all held connections are up\n"
		"  --timeout S      give up after S seconds (default 120)\n"
		"  --cc NAME        TCP_CONGESTION (default: the kernel's)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"to", 1, 0, 't'},		 {"port", 1, 0, 'p'},
	    {"mode", 1, 0, 'm'},	 {"bytes", 1, 0, 'b'},
	    {"after", 1, 0, 'a'},	 {"count", 1, 0, 'c'},
	    {"conns", 1, 0, 'k'},	 {"size", 1, 0, 's'},
	    {"pattern-seed", 1, 0, 'S'}, {"sha-out", 1, 0, 'o'},
	    {"ready", 1, 0, 'r'},	 {"timeout", 1, 0, 'T'},
	    {"delay-ms", 1, 0, 'd'},	 {"no-hash", 0, 0, 'n'},
	    {"verify", 0, 0, 'v'},	 {"cc", 1, 0, 'C'},
	    {0, 0, 0, 0},
	};
	static const char *const roles[] = {"sink", "source", "echo", "reset",
					    "send", "recv",   "rr",   "hold"};
	const char *cmd, *mode = NULL;
	struct pollfd *pfd;
	int lfd = -1, ch;
	double t0, deadline;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "sha256"))
		return hash_files(argc - 2, argv + 2);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			o.to = optarg;
			break;
		case 'p':
			o.port = (uint16_t)atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'b':
			o.bytes = parse_size(optarg);
			o.have_bytes = true;
			break;
		case 'a':
			o.after = parse_size(optarg);
			break;
		case 'c':
			o.count = parse_size(optarg);
			break;
		case 'k':
			o.conns = (uint32_t)atoi(optarg);
			break;
		case 's':
			o.size = (uint32_t)parse_size(optarg);
			break;
		case 'S':
			o.seed = parse_size(optarg);
			break;
		case 'o':
			o.sha_out = optarg;
			break;
		case 'r':
			o.ready = optarg;
			break;
		case 'T':
			o.timeout_s = (unsigned)atoi(optarg);
			break;
		case 'd':
			o.delay_ms = (unsigned)atoi(optarg);
			break;
		case 'n':
			o.nohash = true;
			break;
		case 'v':
			o.verify = true;
			break;
		case 'C':
			o.cc = optarg;
			break;
		default:
			usage();
		}
	}
	o.server = !strcmp(cmd, "server");
	if (!o.server)
		mode = cmd;
	if (!mode || !o.port)
		usage();
	for (o.role = 0; o.role <= R_HOLD; o.role++)
		if (!strcmp(mode, roles[o.role]))
			break;
	if (o.role > R_HOLD || (o.server && o.role > R_RESET) ||
	    (!o.server && (o.role < R_SEND && o.role != R_ECHO)))
		usage();
	if (!o.server && !o.to)
		die("--to ADDR is needed");
	if (o.conns < 1 || o.conns > MAXCONN)
		die("--conns: 1..%d", MAXCONN);
	if (o.size < 1 || o.size > CHUNK)
		die("--size: 1..%d", CHUNK);
	if (o.role == R_RR && !o.count)
		die("rr needs --count N");
	if (o.sha_out && !(o.sha = fopen(o.sha_out, "w")))
		die("--sha-out %s: %s", o.sha_out, strerror(errno));
	if (!(io = malloc(CHUNK)))
		die("out of memory");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	if (o.server) {
		lfd = open_listener();
	} else {
		open_clients();
	}
	if (o.ready && o.role != R_HOLD) {
		FILE *f = fopen(o.ready, "w");

		if (!f || fclose(f))
			die("--ready %s: %s", o.ready, strerror(errno));
	}
	pfd = calloc(MAXCONN + 1, sizeof(*pfd));
	if (!pfd)
		die("out of memory");
	t0 = now_s();
	deadline = t0 + o.timeout_s;
	for (;;) {
		nfds_t n = 0;
		uint32_t idx[MAXCONN + 1];
		int w;
		bool all_up = true;

		if (o.server && o.count && ndone >= o.count)
			break;
		if (!o.server && ndone == o.conns)
			break;
		if (got_stop) {
			if (o.role == R_HOLD || (o.server && !o.count))
				break;
			die("stopped by a signal with %u of %u connections done", ndone,
			    o.server ? (unsigned)o.count : o.conns);
		}
		if (now_s() > deadline) {
			if (o.role == R_HOLD)
				break;
			die("timed out after %u s (--timeout) with %u connections done",
			    o.timeout_s, ndone);
		}
		if (lfd >= 0 && nconns < MAXCONN) {
			pfd[n].fd = lfd;
			pfd[n].events = POLLIN;
			idx[n++] = UINT32_MAX;
		}
		for (uint32_t i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];

			if (c->done)
				continue;
			all_up &= !c->connecting;
			pfd[n].fd = c->fd;
			pfd[n].events = POLLIN;
			if (c->connecting || o.role == R_SOURCE || o.role == R_SEND ||
			    o.role == R_RESET ||
			    (o.role == R_ECHO && (o.server ? c->blen != 0 : !c->shut_wr)) ||
			    (o.role == R_SINK && c->reply_len) || o.role == R_RR)
				pfd[n].events |= POLLOUT;
			idx[n++] = i;
		}
		if (o.role == R_HOLD && all_up && o.ready) {
			FILE *f = fopen(o.ready, "w");

			if (!f || fclose(f))
				die("--ready %s: %s", o.ready, strerror(errno));
			fprintf(stderr, PROG ": hold: %u connections up\n", nconns);
			o.ready = NULL;
		}
		w = poll(pfd, n, 200);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (nfds_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (idx[i] == UINT32_MAX) {
				for (;;) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

					if (fd < 0)
						break;
					if (nconns == MAXCONN) {
						close(fd);
						break;
					}
					{
						struct conn *c = &conns[nconns];
						int one = 1;

						setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
							   sizeof(one));
						conn_init(c, fd);
						svc(c, POLLIN | POLLOUT);
					}
				}
				continue;
			}
			svc(&conns[idx[i]], pfd[i].revents);
		}
	}
	{
		double secs = now_s() - t0;
		uint64_t b = total_rx > total_tx ? total_rx : total_tx;

		if (secs <= 0)
			secs = 1e-9;
		if (o.role == R_RR)
			printf(PROG ": rr: %" PRIu64 " exchanges of %u bytes in %.3f s: %.0f/s\n",
			       o.count * o.conns, o.size, secs, (double)(o.count * o.conns) / secs);
		else
			printf(PROG ": %s: %u conns (%" PRIu64 " failed), %" PRIu64
				    " bytes in, %" PRIu64
				    " out in %.3f s: %.1f MB/s (%.2f Gbit/s)\n",
			       mode, ndone, failures, total_rx, total_tx, secs,
			       (double)b / secs / 1e6, (double)b * 8 / secs / 1e9);
	}
	for (uint32_t i = 0; i < nconns; i++)
		if (!conns[i].done)
			close(conns[i].fd);
	if (o.sha)
		fclose(o.sha);
	return failures ? 1 : 0;
}
