/*
 * shim_threads.c — threads under netshim (compiled and run by
 * shim_threads.sh; also built with -fsanitize=thread there).
 *
 *   shim_threads [options] PHASE...
 *     -4 A -6 A6    the kernel-side echo server's addresses (TCP -p, UDP -u)
 *     -p PORT -u PORT
 *     -t N -c N     conns: N threads, N connections each (one at a time)
 *     -s BYTES      conns: largest message (sizes 1..BYTES, log-uniform)
 *     -r SEED       every random choice derives from it
 *     -m BYTES -n N shared: N TCP connections, BYTES each way on each
 *     -d N          udp: N datagrams
 *     -a N -k N     accept: N acceptor threads, N connector threads, -k
 *                   connections each
 *     -w SECS       watchdog: exit 3 when a phase stalls (default 50)
 *
 * Phases (in the order given):
 *   conns   each thread makes its connections to the echo server in turn
 *           (IPv4 and IPv6 alternating), writes a random message (its
 *           size random) and reads it back at the same time
 *           (non-blocking, poll), shuts down writing, reads to end of
 *           file and compares every byte; the I/O calls vary (send/recv,
 *           write/read, writev/readv, sendmsg/recvmsg)
 *   shared  per connection three threads on one descriptor: a writer
 *           (blocking send, random sizes), a reader (blocking recv,
 *           random sizes, every byte checked against the writer's
 *           pattern: one writer and one reader cannot tear a stream), and
 *           a prober (getsockname, getpeername, getsockopt, FIONREAD,
 *           poll) running until the reader is done
 *   udp     one connected UDP socket, one writer thread and two reader
 *           threads (recvfrom and recvmsg): each echoed datagram carries
 *           its sequence number, length and checksum, arrives intact,
 *           exactly once, from the server (a window of 8 in flight)
 *   accept  acceptor threads all blocked in accept() on one loopback
 *           listener (inside the stack), connector threads connecting to
 *           it: every connection accepted once, its id echoed; no
 *           acceptor may see an error (a blocking accept woken for a
 *           connection another thread took must sleep again)
 * Prints one line per phase and one per failure; exits 0 when all passed,
 * 1 on a failure, 3 when the watchdog fired.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static struct {
	const char *a4, *a6;
	int port, uport;
	int threads, conns;
	size_t maxsize;
	uint64_t seed;
	size_t shared;
	int nshared;
	int dgrams;
	int acceptors, connectors, aconns;
	int watchdog;
} C = {"192.0.2.1", "2001:db8::1", 7000, 7001, 16, 100, 256 * 1024, 1, 4 << 20, 4, 2000,
       4, 4, 50, 50};

static atomic_int failures;
static const char *_Atomic phase = "start";
static atomic_long progress; /* bumped by every finished unit of work */

static void failf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	static _Atomic(const char *) last_phase;
	static atomic_int in_phase;

	/* at most 20 lines a phase: a failure that repeats in a loop must
	 * not hide the other phases' first ones */
	if (atomic_exchange(&last_phase, phase) != phase)
		atomic_store(&in_phase, 0);
	atomic_fetch_add(&failures, 1);
	if (atomic_fetch_add(&in_phase, 1) >= 20)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "FAIL %s: %s\n", phase, buf);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return mix(*s);
}

/* the stream pattern: byte k of stream `seed` */
static uint8_t pat(uint64_t seed, uint64_t k)
{
	return (uint8_t)(mix(seed ^ (k >> 3)) >> ((k & 7) * 8));
}

static void pat_fill(uint64_t seed, uint64_t off, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(seed, off + i);
}

/* the watchdog: a phase that makes no progress for C.watchdog seconds */
static void *watchdog(void *arg)
{
	(void)arg;
	long last = -1;
	int still = 0;

	for (;;) {
		sleep(1);
		long p = atomic_load(&progress);
		if (p != last) {
			last = p;
			still = 0;
			continue;
		}
		if (++still >= C.watchdog) {
			fprintf(stderr, "FAIL %s: watchdog: no progress for %d s\n", phase,
				C.watchdog);
			fflush(stderr);
			_exit(3);
		}
	}
	return NULL;
}

static socklen_t server_addr(int fam, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, C.a4, &s->sin_addr);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	inet_pton(AF_INET6, C.a6, &s->sin6_addr);
	return sizeof(*s);
}

static void set_timeouts(int fd, int secs, int usecs)
{
	struct timeval tv = {secs, usecs};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- conns ------------------------------------------------------------------- */

static atomic_long conns_bytes;

static ssize_t do_write(int fd, int api, const uint8_t *b, size_t n)
{
	switch (api) {
	case 0:
		return send(fd, b, n, MSG_NOSIGNAL);
	case 1:
		return write(fd, b, n);
	case 2: {
		size_t h = n / 2;
		struct iovec v[2] = {{(void *)b, h}, {(void *)(b + h), n - h}};
		return writev(fd, v, 2);
	}
	default: {
		struct iovec v = {(void *)b, n};
		struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
		return sendmsg(fd, &m, MSG_NOSIGNAL);
	}
	}
}

static ssize_t do_read(int fd, int api, uint8_t *b, size_t n)
{
	switch (api) {
	case 0:
		return recv(fd, b, n, 0);
	case 1:
		return read(fd, b, n);
	case 2: {
		size_t h = n / 2;
		struct iovec v[2] = {{b, h}, {b + h, n - h}};
		return readv(fd, v, 2);
	}
	default: {
		struct iovec v = {b, n};
		struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
		return recvmsg(fd, &m, 0);
	}
	}
}

/* One connection: 0 when the echo came back whole. */
static int one_conn(int tid, int j, uint64_t *rs, uint8_t *out, uint8_t *in)
{
	int fam = (tid + j) % 2 ? AF_INET6 : AF_INET;
	int api = (int)(rnd(rs) % 4);
	unsigned k = (unsigned)(rnd(rs) % 19);
	size_t n = ((size_t)1 << k) + rnd(rs) % ((size_t)1 << k);
	if (rnd(rs) % 16 == 0)
		n = C.maxsize;
	if (rnd(rs) % 16 == 0)
		n = 1;
	if (n > C.maxsize)
		n = C.maxsize;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rnd(rs);
		memcpy(out + i, &v, n - i < 8 ? n - i : 8);
	}
	struct sockaddr_storage ss;
	socklen_t sl = server_addr(fam, C.port, &ss);
	int fd = socket(fam, SOCK_STREAM, 0);
	if (fd < 0) {
		failf("thread %d conn %d: socket: %s", tid, j, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl)) {
		failf("thread %d conn %d (IPv%d): connect: %s", tid, j, fam == AF_INET ? 4 : 6,
		      strerror(errno));
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	size_t w = 0, r = 0;
	bool eof = false;
	int rc = -1;
	const char *why = NULL;
	while (!eof) {
		struct pollfd p = {fd, (short)(POLLIN | (w < n ? POLLOUT : 0)), 0};
		int q = poll(&p, 1, 10000);
		if (q == 0) {
			why = "stalled 10 s in poll";
			break;
		}
		if (q < 0) {
			why = "poll failed";
			break;
		}
		if (w < n && (p.revents & POLLOUT)) {
			size_t chunk = 1 + rnd(rs) % 65536;
			if (chunk > n - w)
				chunk = n - w;
			ssize_t s = do_write(fd, api, out + w, chunk);
			if (s > 0) {
				w += (size_t)s;
				if (w == n && shutdown(fd, SHUT_WR)) {
					why = "shutdown(SHUT_WR) failed";
					break;
				}
			} else if (s < 0 && errno != EAGAIN) {
				why = "write failed";
				break;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			uint8_t extra[64];
			ssize_t s = r < n ? do_read(fd, api, in + r, n - r)
					  : do_read(fd, api, extra, sizeof(extra));
			if (s == 0) {
				eof = true;
			} else if (s > 0) {
				if (r == n) {
					why = "more bytes than were sent";
					break;
				}
				r += (size_t)s;
			} else if (errno != EAGAIN) {
				why = "read failed";
				break;
			}
		}
	}
	int e = errno;
	if (!why && w != n)
		why = "end of file before everything was written";
	if (!why && r != n)
		why = "end of file early";
	if (!why && memcmp(out, in, n))
		why = "the bytes differ";
	if (why)
		failf("thread %d conn %d (IPv%d, api %d, %zu bytes): %s (written %zu, read %zu, "
		      "errno %s)",
		      tid, j, fam == AF_INET ? 4 : 6, api, n, why, w, r, strerrorname_np(e));
	else
		rc = 0;
	if (close(fd))
		failf("thread %d conn %d: close: %s", tid, j, strerror(errno));
	atomic_fetch_add(&conns_bytes, (long)n);
	return rc;
}

static void *conns_thread(void *arg)
{
	int tid = (int)(intptr_t)arg;
	uint64_t rs = C.seed * 1000003 + (uint64_t)tid;
	uint8_t *out = malloc(C.maxsize + 8), *in = malloc(C.maxsize + 8);

	for (int j = 0; j < C.conns; j++) {
		one_conn(tid, j, &rs, out, in);
		atomic_fetch_add(&progress, 1);
	}
	free(out);
	free(in);
	return NULL;
}

static void run_conns(void)
{
	pthread_t t[256];
	int n = C.threads > 256 ? 256 : C.threads;
	int f0 = atomic_load(&failures);
	double t0 = now();

	phase = "conns";
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, conns_thread, (void *)(intptr_t)i);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("conns: %d threads x %d connections, %ld bytes echoed, %d failures, %.1f s\n", n,
	       C.conns, atomic_load(&conns_bytes), atomic_load(&failures) - f0, now() - t0);
	fflush(stdout);
}

/* ---- shared ------------------------------------------------------------------ */

struct shared {
	int id, fd, fam;
	uint64_t seed;
	atomic_bool done;
	struct sockaddr_storage self, peer;
	socklen_t selflen, peerlen;
	size_t got;
	long probes;
};

static void *sh_writer(void *arg)
{
	struct shared *s = arg;
	uint64_t rs = s->seed ^ 0x77;
	uint8_t *b = malloc(65536);
	size_t off = 0;

	while (off < C.shared) {
		size_t chunk = 1 + rnd(&rs) % 65536;
		if (chunk > C.shared - off)
			chunk = C.shared - off;
		pat_fill(s->seed, off, b, chunk);
		size_t done = 0;
		while (done < chunk) {
			ssize_t k = send(s->fd, b + done, chunk - done, MSG_NOSIGNAL);
			if (k <= 0) {
				failf("connection %d: writer: send at %zu: %s", s->id, off + done,
				      k < 0 ? strerror(errno) : "returned 0");
				free(b);
				return NULL;
			}
			done += (size_t)k;
		}
		off += chunk;
		atomic_fetch_add(&progress, 1);
	}
	if (shutdown(s->fd, SHUT_WR))
		failf("connection %d: writer: shutdown: %s", s->id, strerror(errno));
	free(b);
	return NULL;
}

static void *sh_reader(void *arg)
{
	struct shared *s = arg;
	uint64_t rs = s->seed ^ 0x99;
	uint8_t *b = malloc(65536);
	size_t off = 0;

	for (;;) {
		size_t want = 1 + rnd(&rs) % 65536;
		ssize_t k = recv(s->fd, b, want, 0);
		if (k == 0)
			break;
		if (k < 0) {
			failf("connection %d: reader: recv at %zu: %s", s->id, off, strerror(errno));
			break;
		}
		for (ssize_t i = 0; i < k; i++)
			if (b[i] != pat(s->seed, off + (size_t)i)) {
				failf("connection %d: reader: byte %zu is %u, not %u (a torn or "
				      "reordered stream)",
				      s->id, off + (size_t)i, b[i], pat(s->seed, off + (size_t)i));
				goto out;
			}
		off += (size_t)k;
		if (off > C.shared) {
			failf("connection %d: reader: more than %zu bytes", s->id, C.shared);
			break;
		}
		atomic_fetch_add(&progress, 1);
	}
out:
	s->got = off;
	atomic_store(&s->done, true);
	free(b);
	return NULL;
}

static void *sh_prober(void *arg)
{
	struct shared *s = arg;

	while (!atomic_load(&s->done)) {
		struct sockaddr_storage a;
		socklen_t al = sizeof(a);
		int v = -1;
		socklen_t vl = sizeof(v);

		if (getsockname(s->fd, (struct sockaddr *)&a, &al) || al != s->selflen ||
		    memcmp(&a, &s->self, al))
			failf("connection %d: prober: getsockname changed or failed", s->id);
		al = sizeof(a);
		if (getpeername(s->fd, (struct sockaddr *)&a, &al)) {
			/* ENOTCONN is right once the connection closed: both
			 * FINs went, the reader is about to see end of file
			 * (under netshim the descriptor shows the peer's FIN a
			 * moment after the stack took it: wait for it, 1 s) */
			int e = errno;
			struct pollfd p = {s->fd, POLLRDHUP, 0};
			if (e != ENOTCONN || poll(&p, 1, 1000) != 1 || !(p.revents & POLLRDHUP))
				failf("connection %d: prober: getpeername: %s (revents %#x)",
				      s->id, strerror(e), p.revents);
		} else if (al != s->peerlen || memcmp(&a, &s->peer, al)) {
			failf("connection %d: prober: getpeername changed", s->id);
		}
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &v, &vl) || v != 0)
			failf("connection %d: prober: SO_ERROR %d (%s)", s->id, v, strerror(errno));
		vl = sizeof(v);
		if (getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &v, &vl) || v != SOCK_STREAM)
			failf("connection %d: prober: SO_TYPE", s->id);
		vl = sizeof(v);
		if (getsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl))
			failf("connection %d: prober: TCP_NODELAY: %s", s->id, strerror(errno));
		if (ioctl(s->fd, FIONREAD, &v) || v < 0)
			failf("connection %d: prober: FIONREAD: %s", s->id, strerror(errno));
		struct pollfd p = {s->fd, POLLIN | POLLOUT, 0};
		if (poll(&p, 1, 0) < 0 || (p.revents & (POLLERR | POLLNVAL)))
			failf("connection %d: prober: poll revents %#x", s->id, p.revents);
		s->probes++;
		if (atomic_load(&failures) > 20)
			break;
		usleep(200);
	}
	return NULL;
}

static void run_shared(void)
{
	int n = C.nshared > 64 ? 64 : C.nshared;
	struct shared *sh = calloc((size_t)n, sizeof(*sh));
	pthread_t t[64][3];
	int f0 = atomic_load(&failures);
	double t0 = now();
	long probes = 0;
	size_t total = 0;

	phase = "shared";
	for (int i = 0; i < n; i++) {
		struct shared *s = &sh[i];
		s->id = i;
		s->fam = i % 2 ? AF_INET6 : AF_INET;
		s->seed = mix(C.seed * 31 + (uint64_t)i);
		s->peerlen = server_addr(s->fam, C.port, &s->peer);
		s->fd = socket(s->fam, SOCK_STREAM, 0);
		if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&s->peer, s->peerlen)) {
			failf("connection %d: connect: %s", i, strerror(errno));
			s->fd = -1;
			continue;
		}
		set_timeouts(s->fd, 15, 0);
		s->selflen = sizeof(s->self);
		getsockname(s->fd, (struct sockaddr *)&s->self, &s->selflen);
	}
	for (int i = 0; i < n; i++) {
		if (sh[i].fd < 0)
			continue;
		pthread_create(&t[i][0], NULL, sh_reader, &sh[i]);
		pthread_create(&t[i][1], NULL, sh_writer, &sh[i]);
		pthread_create(&t[i][2], NULL, sh_prober, &sh[i]);
	}
	for (int i = 0; i < n; i++) {
		if (sh[i].fd < 0)
			continue;
		for (int k = 0; k < 3; k++)
			pthread_join(t[i][k], NULL);
		if (sh[i].got != C.shared)
			failf("connection %d: %zu of %zu bytes came back", i, sh[i].got, C.shared);
		total += sh[i].got;
		probes += sh[i].probes;
		close(sh[i].fd);
	}
	printf("shared: %d connections x (writer, reader, prober), %zu bytes echoed, %ld "
	       "probes, %d failures, %.1f s\n",
	       n, total, probes, atomic_load(&failures) - f0, now() - t0);
	fflush(stdout);
	free(sh);
}

/* ---- udp --------------------------------------------------------------------- */

#define UDP_WINDOW 8
#define UDP_MAGIC 0x6e657473u

struct dg_hdr {
	uint32_t magic, seq, len, sum;
};

static struct {
	int fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int sent, recvd;
	atomic_bool stop;
	atomic_uchar *seen;
	uint64_t seed;
} U = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static uint32_t fnv(const uint8_t *b, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static void *udp_writer(void *arg)
{
	(void)arg;
	uint64_t rs = U.seed;
	uint8_t b[sizeof(struct dg_hdr) + 1400];

	for (int seq = 0; seq < C.dgrams; seq++) {
		pthread_mutex_lock(&U.mu);
		while (U.sent - U.recvd >= UDP_WINDOW) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 3;
			if (pthread_cond_timedwait(&U.cv, &U.mu, &ts) == ETIMEDOUT) {
				failf("writer: no echo for 3 s with %d datagrams in flight (%d sent, "
				      "%d back)",
				      U.sent - U.recvd, U.sent, U.recvd);
				pthread_mutex_unlock(&U.mu);
				return NULL;
			}
		}
		U.sent++;
		pthread_mutex_unlock(&U.mu);
		struct dg_hdr h = {UDP_MAGIC, (uint32_t)seq, (uint32_t)(rnd(&rs) % 1401), 0};
		pat_fill(U.seed ^ (uint64_t)seq, 0, b + sizeof(h), h.len);
		h.sum = fnv(b + sizeof(h), h.len);
		memcpy(b, &h, sizeof(h));
		ssize_t k = send(U.fd, b, sizeof(h) + h.len, 0);
		if (k != (ssize_t)(sizeof(h) + h.len)) {
			failf("writer: send of datagram %d: %zd (%s)", seq, k, strerror(errno));
			return NULL;
		}
	}
	return NULL;
}

static void *udp_reader(void *arg)
{
	int which = (int)(intptr_t)arg;
	uint8_t b[2048];

	while (!atomic_load(&U.stop)) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t k;
		if (which == 0) {
			k = recvfrom(U.fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
		} else {
			struct iovec v = {b, sizeof(b)};
			struct msghdr m = {.msg_name = &from, .msg_namelen = fl, .msg_iov = &v,
					   .msg_iovlen = 1};
			k = recvmsg(U.fd, &m, 0);
			fl = m.msg_namelen;
			if (k >= 0 && (m.msg_flags & MSG_TRUNC))
				failf("reader %d: MSG_TRUNC on a %zd-byte datagram", which, k);
		}
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			failf("reader %d: %s", which, strerror(errno));
			return NULL;
		}
		struct dg_hdr h;
		if ((size_t)k < sizeof(h)) {
			failf("reader %d: a %zd-byte datagram", which, k);
			continue;
		}
		memcpy(&h, b, sizeof(h));
		if (h.magic != UDP_MAGIC || h.seq >= (uint32_t)C.dgrams ||
		    h.len != (size_t)k - sizeof(h) || h.sum != fnv(b + sizeof(h), h.len)) {
			failf("reader %d: a damaged datagram (%zd bytes, seq %u, len %u)", which, k,
			      h.seq, h.len);
			continue;
		}
		if (fl != U.peerlen || memcmp(&from, &U.peer, fl))
			failf("reader %d: datagram %u: source is not the server", which, h.seq);
		if (atomic_exchange(&U.seen[h.seq], 1))
			failf("reader %d: datagram %u arrived twice", which, h.seq);
		pthread_mutex_lock(&U.mu);
		U.recvd++;
		pthread_cond_broadcast(&U.cv);
		pthread_mutex_unlock(&U.mu);
		atomic_fetch_add(&progress, 1);
	}
	return NULL;
}

static void run_udp(void)
{
	int f0 = atomic_load(&failures);
	double t0 = now();
	pthread_t w, r[2];

	phase = "udp";
	U.seed = mix(C.seed ^ 0xdd);
	U.seen = calloc((size_t)C.dgrams, 1);
	U.peerlen = server_addr(AF_INET, C.uport, &U.peer);
	U.fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (U.fd < 0 || connect(U.fd, (struct sockaddr *)&U.peer, U.peerlen)) {
		failf("socket/connect: %s", strerror(errno));
		return;
	}
	set_timeouts(U.fd, 0, 200000);
	pthread_create(&r[0], NULL, udp_reader, (void *)0);
	pthread_create(&r[1], NULL, udp_reader, (void *)1);
	pthread_create(&w, NULL, udp_writer, NULL);
	pthread_join(w, NULL);
	double end = now() + 3;
	for (;;) {
		pthread_mutex_lock(&U.mu);
		bool all = U.recvd >= U.sent;
		pthread_mutex_unlock(&U.mu);
		if (all || now() > end)
			break;
		usleep(10000);
	}
	atomic_store(&U.stop, true);
	pthread_join(r[0], NULL);
	pthread_join(r[1], NULL);
	if (U.recvd != C.dgrams)
		failf("%d of %d datagrams came back", U.recvd, C.dgrams);
	close(U.fd);
	printf("udp: 1 writer, 2 readers, %d of %d datagrams back, %d failures, %.1f s\n",
	       U.recvd, C.dgrams, atomic_load(&failures) - f0, now() - t0);
	fflush(stdout);
}

/* ---- accept ------------------------------------------------------------------ */

#define POISON UINT64_MAX

static struct {
	int l;
	struct sockaddr_storage addr;
	socklen_t alen;
	atomic_int accepted;
	atomic_uchar *seen;
} A;

static bool io_all(int fd, void *b, size_t n, bool wr)
{
	size_t d = 0;
	while (d < n) {
		ssize_t k = wr ? send(fd, (char *)b + d, n - d, MSG_NOSIGNAL)
			       : recv(fd, (char *)b + d, n - d, 0);
		if (k <= 0)
			return false;
		d += (size_t)k;
	}
	return true;
}

static void *acceptor(void *arg)
{
	int which = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept(A.l, NULL, NULL);
		if (fd < 0) {
			failf("acceptor %d: accept: %s", which, strerror(errno));
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		set_timeouts(fd, 5, 0);
		uint64_t id;
		if (!io_all(fd, &id, sizeof(id), false)) {
			failf("acceptor %d: no id: %s", which, strerror(errno));
			close(fd);
			continue;
		}
		if (id == POISON) {
			close(fd);
			return NULL;
		}
		if (id >= (uint64_t)(C.connectors * C.aconns) || atomic_exchange(&A.seen[id], 1))
			failf("acceptor %d: id %llu twice or out of range", which,
			      (unsigned long long)id);
		if (!io_all(fd, &id, sizeof(id), true))
			failf("acceptor %d: echo: %s", which, strerror(errno));
		close(fd);
		atomic_fetch_add(&A.accepted, 1);
		atomic_fetch_add(&progress, 1);
	}
}

static bool connect_send(uint64_t id, bool check)
{
	int fd = socket(A.addr.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&A.addr, A.alen)) {
		failf("connector: connect (id %llu): %s", (unsigned long long)id, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	set_timeouts(fd, 5, 0);
	bool ok = io_all(fd, &id, sizeof(id), true);
	uint64_t back = 0;
	if (ok && check) {
		ok = io_all(fd, &back, sizeof(back), false) && back == id;
		if (!ok)
			failf("connector: id %llu not echoed (%s)", (unsigned long long)id,
			      strerror(errno));
	}
	close(fd);
	return ok;
}

static void *connector(void *arg)
{
	int which = (int)(intptr_t)arg;

	for (int j = 0; j < C.aconns; j++)
		connect_send((uint64_t)which * (uint64_t)C.aconns + (uint64_t)j, true);
	return NULL;
}

static void run_accept(void)
{
	int f0 = atomic_load(&failures);
	double t0 = now();
	pthread_t ta[64], tc[64];
	int na = C.acceptors > 64 ? 64 : C.acceptors, nc = C.connectors > 64 ? 64 : C.connectors;

	phase = "accept";
	A.seen = calloc((size_t)(nc * C.aconns) + 1, 1);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	A.l = socket(AF_INET, SOCK_STREAM, 0);
	A.alen = sizeof(A.addr);
	if (A.l < 0 || bind(A.l, (struct sockaddr *)&sa, sizeof(sa)) || listen(A.l, 128) ||
	    getsockname(A.l, (struct sockaddr *)&A.addr, &A.alen)) {
		failf("listener: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < na; i++)
		pthread_create(&ta[i], NULL, acceptor, (void *)(intptr_t)i);
	usleep(100000); /* every acceptor blocked in accept */
	for (int i = 0; i < nc; i++)
		pthread_create(&tc[i], NULL, connector, (void *)(intptr_t)i);
	for (int i = 0; i < nc; i++)
		pthread_join(tc[i], NULL);
	for (int i = 0; i < na; i++)
		connect_send(POISON, false);
	for (int i = 0; i < na; i++)
		pthread_join(ta[i], NULL);
	close(A.l);
	if (atomic_load(&A.accepted) != nc * C.aconns)
		failf("%d of %d connections accepted", atomic_load(&A.accepted), nc * C.aconns);
	printf("accept: %d acceptors, %d connectors x %d, %d accepted, %d failures, %.1f s\n", na,
	       nc, C.aconns, atomic_load(&A.accepted), atomic_load(&failures) - f0, now() - t0);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int o;

	while ((o = getopt(argc, argv, "4:6:p:u:t:c:s:r:m:n:d:a:k:w:")) != -1) {
		switch (o) {
		case '4': C.a4 = optarg; break;
		case '6': C.a6 = optarg; break;
		case 'p': C.port = atoi(optarg); break;
		case 'u': C.uport = atoi(optarg); break;
		case 't': C.threads = atoi(optarg); break;
		case 'c': C.conns = atoi(optarg); break;
		case 's': C.maxsize = strtoul(optarg, NULL, 0); break;
		case 'r': C.seed = strtoull(optarg, NULL, 0); break;
		case 'm': C.shared = strtoul(optarg, NULL, 0); break;
		case 'n': C.nshared = atoi(optarg); break;
		case 'd': C.dgrams = atoi(optarg); break;
		case 'a': C.acceptors = C.connectors = atoi(optarg); break;
		case 'k': C.aconns = atoi(optarg); break;
		case 'w': C.watchdog = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: see shim_threads.c\n");
			return 2;
		}
	}
	if (C.maxsize < 1)
		C.maxsize = 1;
	pthread_t wd;
	pthread_create(&wd, NULL, watchdog, NULL);
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "conns"))
			run_conns();
		else if (!strcmp(argv[i], "shared"))
			run_shared();
		else if (!strcmp(argv[i], "udp"))
			run_udp();
		else if (!strcmp(argv[i], "accept"))
			run_accept();
		else {
			fprintf(stderr, "unknown phase %s\n", argv[i]);
			return 2;
		}
	}
	int f = atomic_load(&failures);
	printf("done: %d failures\n", f);
	return f ? 1 : 0;
}
