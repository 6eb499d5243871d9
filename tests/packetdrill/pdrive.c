/*
 * pdrive.c — plays packetdrill's part against build/netshim-packetdrill.so.
 *
 * It loads the .so the way packetdrill --so_filename does (dlopen with
 * RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE | RTLD_DEEPBIND, dlsym of
 * packetdrill_interface_init, init with the --so_flags string), then runs
 * scenarios written the way a packetdrill script reads: at a virtual time
 * a segment is injected through netdev_send or a socket call is made from
 * a second thread; the stack's segments are read through netdev_receive
 * and checked field by field (flags, seq, ack, window, options, length)
 * together with the virtual time they left.  Calls that must block are
 * checked to be asleep in the kernel (/proc/self/task/TID/stat says 'S',
 * as packetdrill checks), also after virtual time has moved on.
 *
 * Each scenario runs in its own process with its own instance.
 *   pdrive [--so PATH] [--no-deepbind] [scenario...]
 * PDRIVE_TRACE=1 prints every segment.  The last line is
 * "pdrive: N passed, M failed"; the exit status is 1 on any failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "packetdrill_so.h"

/* ---- failure reporting --------------------------------------------------- */

static const char *cur_scenario = "?";

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s: %s:%d: check failed: %s\n  ", cur_scenario, \
				__FILE__, __LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                                    \
			fprintf(stderr, "\n");                                           \
			exit(1);                                                         \
		}                                                                        \
	} while (0)

/* ---- the instance --------------------------------------------------------- */

#define LOCAL4 "192.168.0.1"
#define PEER4 "192.0.2.1"
#define LOCAL6 "fd3d:fa7b:d17d::1"
#define PEER6 "2001:db8::1"
#define PORT 8080	/* packetdrill's default bind / connect port */
#define PEER_PORT 40000

static const char *so_path = "build/netshim-packetdrill.so";
static bool deepbind = true;
static bool trace;
/* PDRIVE_STRICT=1 also checks where the stack is known to differ from
 * Linux (see README.md, "packetdrill"); off by default so that make test
 * tests the interface, not those open stack issues. */
static bool strict;

static struct packetdrill_interface ifc;
static void *ud;
static long long t0; /* the scenario's time 0, virtual microseconds */

static void load(const char *flags)
{
	int mode = RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE | (deepbind ? RTLD_DEEPBIND : 0);
	void *h = dlopen(so_path, mode);
	packetdrill_interface_init_t init;

	CHECK(h != NULL, "dlopen %s: %s", so_path, dlerror());
	dlerror();
	init = (packetdrill_interface_init_t)dlsym(h, "packetdrill_interface_init");
	CHECK(init != NULL, "dlsym: %s", dlerror());
	/* nothing else is exported: the stack's symbols stay inside */
	CHECK(dlsym(h, "stack_create") == NULL, "the .so exports stack_create");
	memset(&ifc, 0, sizeof(ifc));
	init(flags, &ifc);
	ud = ifc.userdata;
}

static long long now_us(void)
{
	struct timeval tv;

	CHECK(ifc.gettimeofday(ud, &tv, NULL) == 0, "gettimeofday");
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Script time in ms (relative to t0) -> wait for it as packetdrill does:
 * usleep until shortly before, then spin on gettimeofday. */
static void at(double ms)
{
	long long target = t0 + (long long)(ms * 1000);
	long long w;

	while ((w = target - now_us()) > 0)
		if (w > 20)
			ifc.usleep(ud, (useconds_t)(w - 20));
}

static double rel_ms(long long us)
{
	return (double)(us - t0) / 1000.0;
}

static void start_clock(void)
{
	t0 = now_us();
}

/* ---- segments -------------------------------------------------------------- */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

struct seg {
	int fam; /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint8_t opt[40];
	size_t optlen;
	/* parsed options */
	int mss, ws; /* -1 absent */
	bool sackok, ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint8_t data[65536];
	size_t len;
	long long t; /* virtual µs it left the stack */
};

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t pseudo(int fam, const uint8_t *src, const uint8_t *dst, size_t len)
{
	uint8_t tail[8] = {0};
	size_t alen = fam == 4 ? 4 : 16;
	uint32_t s = sum16(src, alen, 0);

	s = sum16(dst, alen, s);
	if (fam == 4) {
		tail[1] = 6;
		tail[2] = (uint8_t)(len >> 8);
		tail[3] = (uint8_t)len;
		return sum16(tail, 4, s);
	}
	tail[2] = (uint8_t)(len >> 8);
	tail[3] = (uint8_t)len;
	tail[7] = 6;
	return sum16(tail, 8, s);
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

/* A connection as the peer sees it. */
struct conn {
	int fam;
	uint8_t me[16], peer[16]; /* me = the peer (remote), peer = the stack */
	uint16_t pport, sport;	  /* peer's port, stack's port */
	uint32_t snd_nxt;	  /* peer's next sequence number */
	uint32_t rcv_nxt;	  /* next expected from the stack */
	uint32_t irs;		  /* the stack's ISN */
	bool ts;
	uint32_t ts_val; /* peer's TSval */
	uint32_t ts_recent;
};

static void conn_init(struct conn *c, int fam, uint16_t pport, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	c->fam = fam;
	if (fam == 4) {
		inet_pton(AF_INET, PEER4, c->me);
		inet_pton(AF_INET, LOCAL4, c->peer);
	} else {
		inet_pton(AF_INET6, PEER6, c->me);
		inet_pton(AF_INET6, LOCAL6, c->peer);
	}
	c->pport = pport;
	c->sport = sport;
	c->ts_val = 1000;
}

/* Options a segment carries, built as bytes. */
struct opts {
	uint8_t b[40];
	size_t n;
};
static void o_mss(struct opts *o, uint16_t mss)
{
	o->b[o->n++] = 2;
	o->b[o->n++] = 4;
	put16(o->b + o->n, mss);
	o->n += 2;
}
static void o_nop(struct opts *o)
{
	o->b[o->n++] = 1;
}
static void o_ws(struct opts *o, uint8_t ws)
{
	o->b[o->n++] = 3;
	o->b[o->n++] = 3;
	o->b[o->n++] = ws;
}
static void o_sackok(struct opts *o)
{
	o->b[o->n++] = 4;
	o->b[o->n++] = 2;
}
static void o_ts(struct opts *o, uint32_t val, uint32_t ecr)
{
	o->b[o->n++] = 8;
	o->b[o->n++] = 10;
	put32(o->b + o->n, val);
	put32(o->b + o->n + 4, ecr);
	o->n += 8;
}

/* Build and inject a segment from the peer. */
static void inject_raw(int fam, const uint8_t *src, const uint8_t *dst, uint16_t sport,
		       uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
		       const struct opts *o, const void *data, size_t len)
{
	static uint8_t pkt[70000];
	size_t ol = o ? (o->n + 3) & ~(size_t)3 : 0, ih = fam == 4 ? 20 : 40;
	size_t tl = 20 + ol + len;
	uint8_t *t = pkt + ih;

	memset(pkt, 0, ih + 20 + ol);
	if (fam == 4) {
		pkt[0] = 0x45;
		put16(pkt + 2, (uint16_t)(ih + tl));
		pkt[6] = 0x40; /* DF */
		pkt[8] = 64;
		pkt[9] = 6;
		memcpy(pkt + 12, src, 4);
		memcpy(pkt + 16, dst, 4);
		put16(pkt + 10, fold(sum16(pkt, 20, 0)));
	} else {
		pkt[0] = 0x60;
		put16(pkt + 4, (uint16_t)tl);
		pkt[6] = 6;
		pkt[7] = 64;
		memcpy(pkt + 8, src, 16);
		memcpy(pkt + 24, dst, 16);
	}
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)(((20 + ol) / 4) << 4);
	t[13] = flags;
	put16(t + 14, win);
	if (o)
		memcpy(t + 20, o->b, o->n); /* padded with EOL (zeros) */
	if (len)
		memcpy(t + 20 + ol, data, len);
	put16(t + 16, fold(sum16(t, tl, pseudo(fam, src, dst, tl))));
	if (trace)
		fprintf(stderr, "  %9.3f > %c%c%c%c%c seq %u ack %u win %u len %zu\n",
			rel_ms(now_us()), flags & F_SYN ? 'S' : '.', flags & F_FIN ? 'F' : '.',
			flags & F_RST ? 'R' : '.', flags & F_PSH ? 'P' : '.',
			flags & F_ACK ? 'A' : '.', seq, ack, win, len);
	CHECK(ifc.netdev_send(ud, pkt, ih + tl) == 0, "netdev_send: %s", strerror(errno));
}

/* A segment on c at the peer's current state; SYN and FIN count. */
static void send_seg(struct conn *c, uint8_t flags, const void *data, size_t len,
		     uint16_t win)
{
	struct opts o = {.n = 0};

	if (c->ts && !(flags & F_RST)) {
		o_nop(&o);
		o_nop(&o);
		o_ts(&o, c->ts_val, c->ts_recent);
	}
	inject_raw(c->fam, c->me, c->peer, c->pport, c->sport, flags, c->snd_nxt,
		   (flags & F_ACK) ? c->rcv_nxt : 0, win, o.n ? &o : NULL, data, len);
	c->snd_nxt += (uint32_t)len + !!(flags & F_SYN) + !!(flags & F_FIN);
}

/* Parse what netdev_receive returned; checks checksums and lengths. */
static void parse(const uint8_t *p, size_t n, struct seg *s)
{
	size_t ih, tl, off;
	const uint8_t *t;

	memset(s, 0, offsetof(struct seg, data));
	s->mss = s->ws = -1;
	CHECK(n >= 20, "packet of %zu bytes", n);
	if ((p[0] >> 4) == 4) {
		s->fam = 4;
		ih = (size_t)(p[0] & 15) * 4;
		CHECK(ih >= 20 && n >= ih && get16(p + 2) == n, "IPv4 lengths");
		CHECK(fold(sum16(p, ih, 0)) == 0, "IPv4 header checksum");
		CHECK(p[9] == 6, "protocol %u, not TCP", p[9]);
		memcpy(s->src, p + 12, 4);
		memcpy(s->dst, p + 16, 4);
	} else {
		CHECK((p[0] >> 4) == 6 && n >= 40, "not IPv6 either");
		s->fam = 6;
		ih = 40;
		CHECK(get16(p + 4) + 40u == n, "IPv6 payload length");
		CHECK(p[6] == 6, "next header %u, not TCP", p[6]);
		memcpy(s->src, p + 8, 16);
		memcpy(s->dst, p + 24, 16);
	}
	t = p + ih;
	tl = n - ih;
	CHECK(tl >= 20, "TCP header truncated");
	CHECK(fold(sum16(t, tl, pseudo(s->fam, s->src, s->dst, tl))) == 0, "TCP checksum");
	s->sport = get16(t);
	s->dport = get16(t + 2);
	s->seq = get32(t + 4);
	s->ack = get32(t + 8);
	off = (size_t)(t[12] >> 4) * 4;
	CHECK(off >= 20 && off <= tl, "TCP data offset");
	s->flags = t[13];
	s->win = get16(t + 14);
	s->optlen = off - 20;
	memcpy(s->opt, t + 20, s->optlen);
	for (size_t i = 20; i < off;) {
		uint8_t k = t[i];

		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		CHECK(i + 1 < off && t[i + 1] >= 2 && i + t[i + 1] <= off, "option malformed");
		if (k == 2 && t[i + 1] == 4)
			s->mss = get16(t + i + 2);
		else if (k == 3 && t[i + 1] == 3)
			s->ws = t[i + 2];
		else if (k == 4 && t[i + 1] == 2)
			s->sackok = true;
		else if (k == 8 && t[i + 1] == 10) {
			s->ts = true;
			s->tsval = get32(t + i + 2);
			s->tsecr = get32(t + i + 6);
		} else if (k == 5)
			s->nsack = (t[i + 1] - 2) / 8;
		i += t[i + 1];
	}
	s->len = tl - off;
	memcpy(s->data, t + off, s->len);
}

/* The next packet the stack sends (advancing virtual time as needed). */
static bool pull(struct seg *s)
{
	static uint8_t buf[70000];
	size_t n = sizeof(buf);
	long long t = 0;

	CHECK(ifc.netdev_receive(ud, buf, &n, &t) == 0, "netdev_receive: %s", strerror(errno));
	if (n == 0)
		return false;
	parse(buf, n, s);
	s->t = t;
	if (trace)
		fprintf(stderr, "  %9.3f < %c%c%c%c%c seq %u ack %u win %u len %zu optlen %zu\n",
			rel_ms(t), s->flags & F_SYN ? 'S' : '.', s->flags & F_FIN ? 'F' : '.',
			s->flags & F_RST ? 'R' : '.', s->flags & F_PSH ? 'P' : '.',
			s->flags & F_ACK ? 'A' : '.', s->seq, s->ack, s->win, s->len, s->optlen);
	return true;
}

#define ANY (-1LL)
#define TOL_MS 1.0 /* virtual time is exact; this covers gettimeofday ticks */

/* Pull one segment of c and check it: flags exactly (PSH too when given
 * in want_flags with `psh_exact`), seq/ack relative to the ISNs (ANY
 * skips), payload length, and the time it left (ms, ANY skips).  The
 * peer's view (rcv_nxt, TS) follows the segment. */
static void expect(struct conn *c, struct seg *s, uint8_t flags, long long rseq, long long rack,
		   long long len, double at_ms)
{
	CHECK(pull(s), "expected %#x at %.3f ms, the stack sent nothing", flags, at_ms);
	CHECK(s->fam == c->fam && !memcmp(s->src, c->peer, c->fam == 4 ? 4 : 16) &&
		      !memcmp(s->dst, c->me, c->fam == 4 ? 4 : 16),
	      "addresses");
	CHECK(s->sport == c->sport && s->dport == c->pport, "ports %u -> %u", s->sport, s->dport);
	CHECK((s->flags & ~F_PSH) == (flags & ~F_PSH), "flags %#x, expected %#x (at %.3f ms)",
	      s->flags, flags, rel_ms(s->t));
	if (flags & F_PSH)
		CHECK(s->flags & F_PSH, "PSH missing");
	if (rseq != ANY)
		CHECK(s->seq == c->irs + (uint32_t)rseq, "seq %u, expected ISN + %lld = %u",
		      s->seq - c->irs, rseq, c->irs + (uint32_t)rseq);
	if (rack != ANY)
		CHECK(s->ack == (uint32_t)rack, "ack %u, expected %lld", s->ack, rack);
	if (len != ANY)
		CHECK(s->len == (size_t)len, "length %zu, expected %lld", s->len, len);
	if (at_ms >= 0) {
		double d = rel_ms(s->t) - at_ms;

		CHECK(d > -TOL_MS && d < TOL_MS, "left at %.3f ms, expected %.3f ms", rel_ms(s->t),
		      at_ms);
	}
	if (s->ts)
		c->ts_recent = s->tsval;
	if (!(s->flags & F_RST))
		c->rcv_nxt = s->seq + (uint32_t)s->len + !!(s->flags & F_SYN) +
			     !!(s->flags & F_FIN);
}

/* Nothing leaves before the .so gives up (its max_wait_ms bound). */
static void expect_nothing(void)
{
	struct seg s;

	CHECK(!pull(&s), "unexpected segment flags %#x len %zu at %.3f ms", s.flags, s.len,
	      rel_ms(s.t));
}

/* ---- calls from a second thread ------------------------------------------- */

enum op { OP_ACCEPT, OP_CONNECT, OP_READ, OP_WRITE, OP_POLL, OP_CLOSE, OP_SHUTDOWN };

struct call {
	enum op op;
	int fd;
	void *buf;
	size_t len;
	int arg;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct pollfd pfd;
	/* results */
	long rc;
	int err;
	long long end_us;
	_Atomic int done;
	_Atomic pid_t tid;
	pthread_t th;
};

static void *call_main(void *arg)
{
	struct call *c = arg;
	long rc = -1;

	c->tid = (pid_t)syscall(SYS_gettid);
	errno = 0;
	switch (c->op) {
	case OP_ACCEPT:
		c->salen = sizeof(c->sa);
		rc = ifc.accept(ud, c->fd, (struct sockaddr *)&c->sa, &c->salen);
		break;
	case OP_CONNECT:
		rc = ifc.connect(ud, c->fd, (struct sockaddr *)&c->sa, c->salen);
		break;
	case OP_READ:
		rc = ifc.read(ud, c->fd, c->buf, c->len);
		break;
	case OP_WRITE:
		rc = ifc.write(ud, c->fd, c->buf, c->len);
		break;
	case OP_POLL:
		rc = ifc.poll(ud, &c->pfd, 1, c->arg);
		break;
	case OP_CLOSE:
		rc = ifc.close(ud, c->fd);
		break;
	case OP_SHUTDOWN:
		rc = ifc.shutdown(ud, c->fd, c->arg);
		break;
	}
	c->err = rc < 0 ? errno : 0;
	c->end_us = now_us();
	c->rc = rc;
	c->done = 1;
	return NULL;
}

/* The thread's state letter from /proc (packetdrill's is_thread_sleeping). */
static char thread_state(pid_t tid)
{
	char path[64], buf[512];
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

static void real_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Start c on its own thread; return once it finished or sleeps. */
static void start(struct call *c)
{
	c->done = 0;
	c->tid = 0;
	CHECK(pthread_create(&c->th, NULL, call_main, c) == 0, "pthread_create");
	for (int i = 0; i < 2000 && !c->done; i++) {
		if (c->tid && thread_state(c->tid) == 'S') {
			/* asleep twice in a row, 2 ms apart: blocked */
			real_sleep_ms(2);
			if (!c->done && thread_state(c->tid) == 'S')
				return;
		}
		real_sleep_ms(1);
	}
}

/* c must be blocked: not finished, asleep in the kernel. */
static void blocked(struct call *c, const char *what)
{
	CHECK(!c->done, "%s returned %ld (%s) instead of blocking", what, c->rc,
	      strerror(c->err));
	CHECK(thread_state(c->tid) == 'S', "%s: thread state %c, not asleep", what,
	      thread_state(c->tid));
}

/* Wait (real time, bounded) for c to finish; check its result and the
 * virtual time it returned at (ANY skips). */
static void finished(struct call *c, const char *what, long rc, int err, double at_ms)
{
	for (int i = 0; i < 3000 && !c->done; i++)
		real_sleep_ms(1);
	CHECK(c->done, "%s still blocked", what);
	pthread_join(c->th, NULL);
	if (rc != ANY)
		CHECK(c->rc == rc, "%s returned %ld (%s), expected %ld", what, c->rc,
		      strerror(c->err), rc);
	if (rc < 0)
		CHECK(c->err == err, "%s: errno %s, expected %s", what, strerror(c->err),
		      strerror(err));
	if (at_ms >= 0) {
		double d = rel_ms(c->end_us) - at_ms;

		CHECK(d > -TOL_MS && d < TOL_MS, "%s returned at %.3f ms, expected %.3f", what,
		      rel_ms(c->end_us), at_ms);
	}
}

/* A call that must complete without blocking. */
static long now_call(struct call *c, const char *what)
{
	start(c);
	for (int i = 0; i < 3000 && !c->done; i++)
		real_sleep_ms(1);
	CHECK(c->done, "%s blocked", what);
	pthread_join(c->th, NULL);
	errno = c->err;
	return c->rc;
}

/* ---- socket helpers (main thread, calls that do not block) -------------- */

static void sa_make(int fam, const char *addr, uint16_t port, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (addr)
			inet_pton(AF_INET, addr, &s4->sin_addr);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (addr)
			inet_pton(AF_INET6, addr, &s6->sin6_addr);
		*len = sizeof(*s6);
	}
}

static int is_kernel_fd(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static int xsocket(int fam)
{
	int fd = ifc.socket(ud, fam == 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP);

	CHECK(fd >= 0, "socket: %s", strerror(errno));
	CHECK(is_kernel_fd(fd), "socket() gave %d, not a kernel descriptor", fd);
	return fd;
}

static int listener(int fam)
{
	int fd = xsocket(fam), one = 1;
	struct sockaddr_storage ss;
	socklen_t len;

	CHECK(ifc.setsockopt(ud, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0,
	      "SO_REUSEADDR: %s", strerror(errno));
	sa_make(fam, NULL, PORT, &ss, &len);
	CHECK(ifc.bind(ud, fd, (struct sockaddr *)&ss, len) == 0, "bind: %s", strerror(errno));
	CHECK(ifc.listen(ud, fd, 1) == 0, "listen: %s", strerror(errno));
	return fd;
}

/* The peer's SYN with Linux's option set (TS optional). */
static void peer_syn(struct conn *c, bool ts)
{
	struct opts o = {.n = 0};

	c->snd_nxt = 0;
	o_mss(&o, 1460);
	o_sackok(&o);
	if (ts)
		o_ts(&o, c->ts_val, 0);
	else {
		o_nop(&o);
		o_nop(&o);
	}
	o_nop(&o);
	o_ws(&o, 7);
	inject_raw(c->fam, c->me, c->peer, c->pport, c->sport, F_SYN, c->snd_nxt, 0, 32792, &o,
		   NULL, 0);
	c->snd_nxt++;
	c->ts = ts;
}

/* The SYN-ACK answering peer_syn: Linux's options echoed. */
static void expect_synack(struct conn *c, struct seg *s, double at_ms)
{
	CHECK(pull(s), "no SYN-ACK");
	c->irs = s->seq;
	CHECK(s->flags == (F_SYN | F_ACK), "flags %#x, not SYN|ACK", s->flags);
	CHECK(s->ack == c->snd_nxt, "SYN-ACK acks %u, expected %u", s->ack, c->snd_nxt);
	CHECK(s->mss == (c->fam == 4 ? 1460 : 1440), "MSS %d", s->mss);
	CHECK(s->ws == 7, "window scale %d", s->ws);
	CHECK(s->sackok, "no SACK-permitted");
	CHECK(s->ts == c->ts, "timestamps %d", s->ts);
	if (c->ts)
		CHECK(s->tsecr == c->ts_val, "TSecr %u, expected %u", s->tsecr, c->ts_val);
	/* Linux's layouts: MSS,SACKOK,TS,NOP,WS = 20; MSS,NOP,NOP,SACKOK,NOP,WS = 12 */
	CHECK(s->optlen == (c->ts ? 20u : 12u), "option bytes %zu", s->optlen);
	CHECK(s->len == 0, "SYN-ACK with data");
	CHECK(s->win > 0, "zero window in SYN-ACK");
	if (strict) /* tcp_openreq_init_rwin: 65535 rounded down to the MSS */
		CHECK(s->win == 65535 / (1460 - (c->ts ? 12 : 0)) * (1460 - (c->ts ? 12 : 0)) ||
			      c->fam == 6,
		      "SYN-ACK window %u, Linux sends %u", s->win,
		      65535 / (1460 - (c->ts ? 12 : 0)) * (1460 - (c->ts ? 12 : 0)));
	CHECK(rel_ms(s->t) > at_ms - TOL_MS && rel_ms(s->t) < at_ms + TOL_MS,
	      "SYN-ACK at %.3f ms, expected %.3f", rel_ms(s->t), at_ms);
	c->rcv_nxt = s->seq + 1;
	if (s->ts)
		c->ts_recent = s->tsval;
}

/* A passive open: listen at 0; accept() blocks from 0 to the ACK at
 * `ack_ms`; the SYN at 0.  Returns the accepted descriptor. */
static int passive_open(struct conn *c, int fam, bool ts, double ack_ms, int *lfd)
{
	struct call ca = {.op = OP_ACCEPT};
	struct seg s;
	int afd;

	conn_init(c, fam, PEER_PORT, PORT);
	*lfd = listener(fam);
	ca.fd = *lfd;
	start(&ca);
	blocked(&ca, "accept");
	peer_syn(c, ts);
	expect_synack(c, &s, 0);
	at(ack_ms / 2);
	blocked(&ca, "accept after the SYN");
	at(ack_ms);
	c->ts_val += (uint32_t)ack_ms;
	send_seg(c, F_ACK, NULL, 0, 257); /* 257 << 7 = 32896 */
	finished(&ca, "accept", ANY, 0, ack_ms);
	afd = (int)ca.rc;
	CHECK(afd >= 0, "accept: %s", strerror(ca.err));
	CHECK(is_kernel_fd(afd), "accept() gave %d, not a kernel descriptor", afd);
	CHECK(afd != *lfd, "accept returned the listener");
	if (fam == 4) {
		struct sockaddr_in *p = (struct sockaddr_in *)&ca.sa;
		char b[INET_ADDRSTRLEN];

		CHECK(ca.salen == sizeof(*p) && p->sin_family == AF_INET, "peer address size");
		CHECK(ntohs(p->sin_port) == PEER_PORT &&
			      !strcmp(inet_ntop(AF_INET, &p->sin_addr, b, sizeof(b)), PEER4),
		      "accept's peer address");
	} else {
		struct sockaddr_in6 *p = (struct sockaddr_in6 *)&ca.sa;

		CHECK(ca.salen == sizeof(*p) && p->sin6_family == AF_INET6 &&
			      ntohs(p->sin6_port) == PEER_PORT && !memcmp(&p->sin6_addr, c->me, 16),
		      "accept's peer address");
	}
	return afd;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* ---- scenarios ---------------------------------------------------------------- */

/* The interface itself: every member, ENOSYS, the clock, descriptors. */
static void sc_api(void)
{
	void **m = (void **)&ifc;
	long long a, b;
	int fd;
	struct timeval tv;

	load("local_ip=" LOCAL4 ",local_ip6=" LOCAL6 ",mtu=1500,seed=7");
	for (size_t i = 0; i < sizeof(ifc) / sizeof(void *); i++)
		CHECK(m[i] != NULL, "member %zu is NULL", i);
	errno = 0;
	CHECK(ifc.epoll_create(ud, 1) == -1 && errno == ENOSYS, "epoll_create");
	CHECK(ifc.epoll_ctl(ud, 0, 0, 0, NULL) == -1 && errno == ENOSYS, "epoll_ctl");
	CHECK(ifc.epoll_wait(ud, 0, NULL, 0, 0) == -1 && errno == ENOSYS, "epoll_wait");
	{
		int p[2];

		CHECK(ifc.pipe(ud, p) == -1 && errno == ENOSYS, "pipe");
	}
	CHECK(ifc.splice(ud, 0, NULL, 1, NULL, 1, 0) == -1 && errno == ENOSYS, "splice");
	/* gettimeofday moves on at every call */
	a = now_us();
	b = now_us();
	CHECK(b > a, "gettimeofday did not tick: %lld then %lld", a, b);
	CHECK(ifc.gettimeofday(ud, &tv, NULL) == 0 && tv.tv_usec < 1000000, "timeval");
	/* usleep advances virtual time, at no real cost */
	a = now_us();
	CHECK(ifc.usleep(ud, 5000000) == 0, "usleep");
	b = now_us();
	CHECK(b - a >= 5000000 && b - a < 5001000, "usleep(5 s) moved %lld us", b - a);
	/* real descriptors; bad families and descriptors as libc says */
	fd = xsocket(4);
	CHECK(ifc.fcntl(ud, fd, F_GETFL) == O_RDWR, "F_GETFL");
	CHECK(ifc.fcntl(ud, fd, F_SETFL, O_NONBLOCK) == 0, "F_SETFL");
	CHECK(ifc.fcntl(ud, fd, F_GETFL) == (O_RDWR | O_NONBLOCK), "F_GETFL after O_NONBLOCK");
	{
		char c;
		int n = -1;

		CHECK(ifc.read(ud, fd, &c, 1) == -1 && errno == ENOTCONN, "read unconnected: %s",
		      strerror(errno));
		CHECK(ifc.ioctl(ud, fd, FIONREAD, &n) == 0 && n == 0, "FIONREAD");
	}
	CHECK(ifc.socket(ud, AF_UNIX, SOCK_STREAM, 0) == -1 && errno == EAFNOSUPPORT, "AF_UNIX");
	CHECK(ifc.listen(ud, 999, 1) == -1 && errno == EBADF, "listen on a bad fd");
	{
		struct sockaddr_storage ss;
		socklen_t len;
		int fd2 = xsocket(4);

		sa_make(4, "10.9.9.9", 80, &ss, &len);
		CHECK(ifc.bind(ud, fd2, (struct sockaddr *)&ss, len) == -1 &&
			      errno == EADDRNOTAVAIL,
		      "bind to an address not ours: %s", strerror(errno));
		sa_make(4, LOCAL4, 80, &ss, &len);
		CHECK(ifc.bind(ud, fd2, (struct sockaddr *)&ss, len) == 0,
		      "bind to local_ip: %s", strerror(errno));
		CHECK(ifc.close(ud, fd2) == 0, "close");
		CHECK(!is_kernel_fd(fd2), "close left the kernel descriptor open");
	}
	CHECK(ifc.close(ud, fd) == 0, "close");
	ifc.free(ud);

	/* NULL flags (no --so_flags): the defaults, 192.168.0.1 */
	load(NULL);
	{
		struct sockaddr_storage ss;
		socklen_t len;
		int fd3 = xsocket(4);

		sa_make(4, LOCAL4, 80, &ss, &len);
		CHECK(ifc.bind(ud, fd3, (struct sockaddr *)&ss, len) == 0, "default local_ip: %s",
		      strerror(errno));
		ifc.close(ud, fd3);
	}
	ifc.free(ud);
}

/* Passive open, data both ways with their ACKs, the peer closes first. */
static void sc_passive(void)
{
	struct conn c;
	struct seg s;
	struct call cr = {.op = OP_READ}, cw = {.op = OP_WRITE}, cc = {.op = OP_CLOSE};
	static uint8_t in[4000], out[4000];
	int lfd, afd;

	load("local_ip=" LOCAL4);
	start_clock();
	afd = passive_open(&c, 4, true, 100, &lfd);

	/* 1000 bytes from the peer: quick ACK at once (quick-ack mode) */
	at(300);
	fill(out, 1000, 1);
	send_seg(&c, F_ACK | F_PSH, out, 1000, 257);
	expect(&c, &s, F_ACK, 1, c.snd_nxt, 0, 300);
	CHECK(s.ts && s.tsecr == c.ts_val, "ACK without the peer's TSval echoed");
	cr.fd = afd;
	cr.buf = in;
	cr.len = sizeof(in);
	CHECK(now_call(&cr, "read") == 1000, "read: %ld", cr.rc);
	CHECK(!memcmp(in, out, 1000), "data read differs");

	/* a read that blocks until the peer's next 200 bytes at 500 ms */
	at(350);
	start(&cr);
	blocked(&cr, "read");
	at(450);
	blocked(&cr, "read, 100 ms later");
	at(500);
	fill(out, 200, 2);
	send_seg(&c, F_ACK | F_PSH, out, 200, 257);
	finished(&cr, "read", 200, 0, 500);
	CHECK(!memcmp(in, out, 200), "data read differs");
	expect(&c, &s, F_ACK, 1, c.snd_nxt, 0, 500);

	/* 3000 bytes from the program: 1448 + 1448 + 104 at once (IW10), PSH
	 * on the last; each acks everything the peer sent */
	at(600);
	fill(out, 3000, 3);
	cw.fd = afd;
	cw.buf = out;
	cw.len = 3000;
	CHECK(now_call(&cw, "write") == 3000, "write: %ld", cw.rc);
	expect(&c, &s, F_ACK, 1, c.snd_nxt, 1448, 600);
	CHECK(!memcmp(s.data, out, 1448), "payload 1");
	CHECK(s.win >= 257, "window %u", s.win);
	expect(&c, &s, F_ACK, 1449, c.snd_nxt, 1448, 600);
	CHECK(!memcmp(s.data, out + 1448, 1448), "payload 2");
	expect(&c, &s, F_ACK | F_PSH, 2897, c.snd_nxt, 104, 600);
	CHECK(!memcmp(s.data, out + 2896, 104), "payload 3");
	at(700);
	c.ts_val += 600;
	send_seg(&c, F_ACK, NULL, 0, 257);

	/* the peer closes: its FIN is ACKed at once, the blocked read
	 * returns 0 (end of file) at that time */
	at(750);
	start(&cr);
	blocked(&cr, "read before the FIN");
	at(800);
	send_seg(&c, F_ACK | F_FIN, NULL, 0, 257);
	expect(&c, &s, F_ACK, 3001, c.snd_nxt, 0, 800);
	finished(&cr, "read at EOF", 0, 0, 800);
	CHECK(ifc.read(ud, afd, in, 10) == 0, "read after EOF: again 0");

	/* the program closes: FIN; the peer's ACK ends it (LAST_ACK) */
	at(900);
	cc.fd = afd;
	CHECK(now_call(&cc, "close") == 0, "close: %s", strerror(cc.err));
	CHECK(!is_kernel_fd(afd), "close left the kernel descriptor open");
	expect(&c, &s, F_ACK | F_FIN, 3001, c.snd_nxt, 0, 900);
	at(1000);
	send_seg(&c, F_ACK, NULL, 0, 257);
	/* nothing follows: no TIME_WAIT for the passive closer */
	ifc.close(ud, lfd);
	expect_nothing();
	ifc.free(ud);
}

/* Active open with a lost SYN (retransmitted after 1 s), the RTO after a
 * handshake without an RTT sample (3 s), shutdown(SHUT_WR), TIME_WAIT. */
static void sc_active(void)
{
	struct conn c;
	struct seg s;
	struct call cn = {.op = OP_CONNECT}, cw = {.op = OP_WRITE}, cr = {.op = OP_READ};
	struct call csh = {.op = OP_SHUTDOWN, .arg = SHUT_WR};
	struct opts o = {.n = 0};
	static uint8_t in[1000], out[1000];
	int fd;

	load("local_ip=" LOCAL4);
	start_clock();
	conn_init(&c, 4, PORT, 0);
	fd = xsocket(4);
	cn.fd = fd;
	sa_make(4, PEER4, PORT, &cn.sa, &cn.salen);
	start(&cn);
	blocked(&cn, "connect");

	/* Linux's SYN: MSS 1460, SACK-permitted, TS, NOP, WS 7 (20 bytes) */
	CHECK(pull(&s), "no SYN");
	c.sport = s.sport;
	c.irs = s.seq;
	CHECK(s.flags == F_SYN, "flags %#x", s.flags);
	CHECK(s.dport == PORT && s.sport >= 32768 && s.sport <= 60999, "ports %u -> %u", s.sport,
	      s.dport);
	CHECK(s.mss == 1460 && s.ws == 7 && s.sackok && s.ts && s.tsecr == 0 && s.optlen == 20,
	      "SYN options mss %d ws %d sackok %d ts %d optlen %zu", s.mss, s.ws, s.sackok, s.ts,
	      s.optlen);
	CHECK(rel_ms(s.t) < TOL_MS, "SYN at %.3f ms", rel_ms(s.t));
	if (strict) /* tcp_select_initial_window: rounded down to the MSS */
		CHECK(s.win == 64240, "SYN window %u, Linux sends 64240", s.win);
	/* lost: the same SYN again after the initial RTO of 1 s */
	expect(&c, &s, F_SYN, 0, 0, 0, 1000);
	blocked(&cn, "connect after 1 s");

	/* SYN-ACK without timestamps at 1.1 s: no RTT sample (Karn) */
	at(1100);
	c.snd_nxt = 5000;
	o_mss(&o, 1460);
	o_nop(&o);
	o_nop(&o);
	o_sackok(&o);
	o_nop(&o);
	o_ws(&o, 7);
	inject_raw(4, c.me, c.peer, c.pport, c.sport, F_SYN | F_ACK, c.snd_nxt, c.irs + 1, 32792,
		   &o, NULL, 0);
	c.snd_nxt++;
	c.rcv_nxt = c.irs + 1;
	expect(&c, &s, F_ACK, 1, 5001, 0, 1100);
	CHECK(!s.ts && s.optlen == 0, "timestamps after a SYN-ACK without them");
	finished(&cn, "connect", 0, 0, 1100);

	/* 100 bytes, not ACKed: retransmitted 3 s later (RFC 6298 §5.7,
	 * TCP_TIMEOUT_FALLBACK), then after 6 s (backoff) */
	at(1200);
	fill(out, 100, 4);
	cw.fd = fd;
	cw.buf = out;
	cw.len = 100;
	CHECK(now_call(&cw, "write") == 100, "write");
	expect(&c, &s, F_ACK | F_PSH, 1, 5001, 100, 1200);
	expect(&c, &s, F_ACK | F_PSH, 1, 5001, 100, 4200);
	expect(&c, &s, F_ACK | F_PSH, 1, 5001, 100, 10200);
	CHECK(!memcmp(s.data, out, 100), "retransmitted payload");
	at(10300);
	send_seg(&c, F_ACK, NULL, 0, 257);

	/* shutdown(SHUT_WR): FIN at once; reading still works */
	at(10400);
	csh.fd = fd;
	CHECK(now_call(&csh, "shutdown") == 0, "shutdown: %s", strerror(csh.err));
	expect(&c, &s, F_ACK | F_FIN, 101, 5001, 0, 10400);
	CHECK(ifc.write(ud, fd, out, 1) == -1 && errno == EPIPE, "write after SHUT_WR: %s",
	      strerror(errno));
	at(10500);
	fill(out, 50, 5);
	send_seg(&c, F_ACK | F_PSH, out, 50, 257); /* acks our FIN too */
	expect(&c, &s, F_ACK, 102, c.snd_nxt, 0, 10500);
	cr.fd = fd;
	cr.buf = in;
	cr.len = sizeof(in);
	CHECK(now_call(&cr, "read") == 50 && !memcmp(in, out, 50), "read after SHUT_WR");
	/* the peer's FIN: ACKed; we are in TIME_WAIT; read says EOF */
	at(10600);
	send_seg(&c, F_ACK | F_FIN, NULL, 0, 257);
	expect(&c, &s, F_ACK, 102, c.snd_nxt, 0, 10600);
	CHECK(now_call(&cr, "read at EOF") == 0, "read at EOF: %ld", cr.rc);
	/* TIME_WAIT answers a retransmitted FIN with an ACK */
	at(11600);
	c.snd_nxt--;
	send_seg(&c, F_ACK | F_FIN, NULL, 0, 257);
	expect(&c, &s, F_ACK, 102, c.snd_nxt, 0, 11600);
	if (strict) /* tcp_v4_timewait_ack: the last window, not 0 */
		CHECK(s.win != 0, "TIME_WAIT ACK with window 0");
	CHECK(ifc.close(ud, fd) == 0, "close");
	expect_nothing();
	ifc.free(ud);
}

/* Retransmission timing: handshake RTT 0 -> RTO 200 ms (the floor).  With
 * SACK the first resend is the tail loss probe, at the time the RTO would
 * have fired (RFC 8985 §7.2; Linux's tcp_schedule_loss_probe caps it so),
 * then the RTO restarts from it and doubles; the ACK stops it. */
static void sc_rto(void)
{
	struct conn c;
	struct seg s;
	static uint8_t out[100];
	int lfd, afd;

	load("local_ip=" LOCAL4);
	start_clock();
	afd = passive_open(&c, 4, true, 0, &lfd);
	at(100);
	fill(out, 100, 6);
	CHECK(ifc.write(ud, afd, out, 100) == 100, "write");
	expect(&c, &s, F_ACK | F_PSH, 1, c.snd_nxt, 100, 100);
	expect(&c, &s, F_ACK | F_PSH, 1, c.snd_nxt, 100, 300);
	expect(&c, &s, F_ACK | F_PSH, 1, c.snd_nxt, 100, 500);
	expect(&c, &s, F_ACK | F_PSH, 1, c.snd_nxt, 100, 900);
	at(1550);
	c.ts_val += 1550;
	send_seg(&c, F_ACK, NULL, 0, 257);
	/* after the ACK: nothing more, until the program closes */
	at(1600);
	CHECK(ifc.close(ud, afd) == 0, "close");
	expect(&c, &s, F_ACK | F_FIN, 101, c.snd_nxt, 0, 1600);
	ifc.close(ud, lfd);
	ifc.free(ud);
}

/* Delayed ACKs: quick ACKs at the start, then 40 ms (TCP_ATO_MIN) for a
 * lone small segment, and an ACK at once for every second full segment. */
static void sc_delack(void)
{
	struct conn c;
	struct seg s;
	static uint8_t in[8192], out[4096];
	int lfd, afd, quick = 0;
	double t = 100;

	load("local_ip=" LOCAL4);
	start_clock();
	afd = passive_open(&c, 4, true, 50, &lfd);
	/* one byte every 10 ms: each ACKed at once while quick-ack lasts */
	for (;;) {
		at(t);
		c.ts_val += 10;
		send_seg(&c, F_ACK | F_PSH, "q", 1, 257);
		CHECK(pull(&s), "no ACK for byte %d", quick + 1);
		CHECK((s.flags & ~F_PSH) == F_ACK && s.ack == c.snd_nxt && s.len == 0,
		      "ACK flags %#x ack %u", s.flags, s.ack);
		c.ts_recent = s.tsval;
		CHECK(ifc.read(ud, afd, in, sizeof(in)) == 1, "read one byte");
		if (rel_ms(s.t) - t > TOL_MS) {
			/* the first delayed one: ATO 40 ms after the segment */
			CHECK(rel_ms(s.t) > t + 40 - TOL_MS && rel_ms(s.t) < t + 40 + TOL_MS,
			      "delayed ACK at +%.3f ms, expected +40", rel_ms(s.t) - t);
			t = rel_ms(s.t);
			break;
		}
		CHECK(++quick <= 16, "more than 16 quick ACKs (TCP_MAX_QUICKACKS)");
		t += 10;
	}
	CHECK(quick >= 1, "no quick ACK at the start");
	fprintf(stderr, "  delack: %d quick ACKs, then 40 ms\n", quick);

	/* a lone small segment now: delayed again, 40 ms */
	at(t + 100);
	c.ts_val += 100;
	send_seg(&c, F_ACK | F_PSH, "x", 1, 257);
	expect(&c, &s, F_ACK, 1, c.snd_nxt, 0, t + 140);
	CHECK(ifc.read(ud, afd, in, sizeof(in)) == 1, "read");

	/* two full segments back to back: one ACK, at once, for both */
	at(t + 300);
	fill(out, 2 * 1448, 7);
	send_seg(&c, F_ACK, out, 1448, 257);
	send_seg(&c, F_ACK | F_PSH, out + 1448, 1448, 257);
	expect(&c, &s, F_ACK, 1, c.snd_nxt, 0, t + 300);
	CHECK(ifc.read(ud, afd, in, sizeof(in)) == 2 * 1448 && !memcmp(in, out, 2 * 1448),
	      "read two segments");
	/* one full segment alone: delayed */
	at(t + 500);
	send_seg(&c, F_ACK | F_PSH, out, 1448, 257);
	CHECK(pull(&s) && s.ack == c.snd_nxt, "ACK of one full segment");
	CHECK(rel_ms(s.t) > t + 500 + 40 - TOL_MS && rel_ms(s.t) <= t + 500 + 200 + TOL_MS,
	      "ACK of one full segment at +%.3f ms, expected within 40-200 ms",
	      rel_ms(s.t) - (t + 500));
	ifc.close(ud, afd);
	ifc.close(ud, lfd);
	ifc.free(ud);
}

/* Resets: the peer resets a connection while a read blocks; a SYN to a
 * closed port gets RST|ACK; close with unread data sends RST. */
static void sc_rst(void)
{
	struct conn c, k;
	struct seg s;
	struct call cr = {.op = OP_READ};
	static uint8_t in[100];
	int lfd, afd;

	load("local_ip=" LOCAL4);
	start_clock();
	afd = passive_open(&c, 4, true, 100, &lfd);
	at(200);
	cr.fd = afd;
	cr.buf = in;
	cr.len = sizeof(in);
	start(&cr);
	blocked(&cr, "read");
	at(300);
	send_seg(&c, F_RST, NULL, 0, 0);
	finished(&cr, "read after RST", -1, ECONNRESET, 300);
	CHECK(ifc.read(ud, afd, in, 1) == 0, "read after the reset error: 0 (EOF)");
	CHECK(ifc.write(ud, afd, in, 1) == -1 && errno == EPIPE, "write after reset: %s",
	      strerror(errno));
	ifc.close(ud, afd);

	/* a SYN to a port nobody listens on: RST|ACK, seq 0, ack ISN+1 */
	at(400);
	conn_init(&k, 4, PEER_PORT + 1, PORT + 1);
	k.ts_val = 777;
	peer_syn(&k, true);
	expect(&k, &s, F_RST | F_ACK, 0, 1, 0, 400);
	CHECK(s.seq == 0 && s.win == 0 && s.optlen == 0, "RST seq %u win %u optlen %zu", s.seq,
	      s.win, s.optlen);

	/* close with unread data: RST instead of FIN (tcp_close) */
	at(500);
	{
		struct call ca = {.op = OP_ACCEPT, .fd = lfd};

		conn_init(&k, 4, PEER_PORT + 2, PORT);
		start(&ca);
		blocked(&ca, "accept");
		peer_syn(&k, true);
		expect_synack(&k, &s, 500);
		send_seg(&k, F_ACK, NULL, 0, 257);
		finished(&ca, "accept", ANY, 0, 500);
		CHECK(ca.rc >= 0, "accept: %s", strerror(ca.err));
		at(600);
		send_seg(&k, F_ACK | F_PSH, "unread", 6, 257);
		expect(&k, &s, F_ACK, 1, k.snd_nxt, 0, 600);
		at(700);
		CHECK(ifc.close(ud, (int)ca.rc) == 0, "close");
		expect(&k, &s, F_RST | F_ACK, 1, k.snd_nxt, 0, 700);
	}
	ifc.close(ud, lfd);
	ifc.free(ud);
}

/* The stack closes first: FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT. */
static void sc_close_active(void)
{
	struct conn c;
	struct seg s;
	int lfd, afd;

	load("local_ip=" LOCAL4);
	start_clock();
	afd = passive_open(&c, 4, true, 100, &lfd);
	at(200);
	CHECK(ifc.close(ud, afd) == 0, "close");
	expect(&c, &s, F_ACK | F_FIN, 1, c.snd_nxt, 0, 200);
	at(300);
	send_seg(&c, F_ACK, NULL, 0, 257); /* FIN_WAIT_2 */
	at(400);
	send_seg(&c, F_ACK | F_FIN, NULL, 0, 257);
	expect(&c, &s, F_ACK, 2, c.snd_nxt, 0, 400); /* TIME_WAIT */
	/* the peer's FIN again (our ACK was lost): TIME_WAIT re-ACKs */
	at(500);
	c.snd_nxt--;
	send_seg(&c, F_ACK | F_FIN, NULL, 0, 257);
	expect(&c, &s, F_ACK, 2, c.snd_nxt, 0, 500);
	CHECK(s.ts, "TIME_WAIT ACK without timestamps");
	if (strict) /* tcp_v4_timewait_ack: the last window, not 0 */
		CHECK(s.win != 0, "TIME_WAIT ACK with window 0");
	ifc.close(ud, lfd);
	expect_nothing(); /* TIME_WAIT ends silently after 60 s */
	ifc.free(ud);
}

/* IPv6: handshake, data both ways, close. */
static void sc_ipv6(void)
{
	struct conn c;
	struct seg s;
	static uint8_t in[100], out[100];
	int lfd, afd;

	load("local_ip=" LOCAL4 ",local_ip6=" LOCAL6);
	start_clock();
	afd = passive_open(&c, 6, true, 100, &lfd);
	at(200);
	fill(out, 100, 8);
	send_seg(&c, F_ACK | F_PSH, out, 100, 257);
	expect(&c, &s, F_ACK, 1, c.snd_nxt, 0, 200);
	CHECK(ifc.recv(ud, afd, in, sizeof(in), 0) == 100 && !memcmp(in, out, 100), "recv");
	at(300);
	CHECK(ifc.send(ud, afd, out, 50, 0) == 50, "send");
	expect(&c, &s, F_ACK | F_PSH, 1, c.snd_nxt, 50, 300);
	CHECK(!memcmp(s.data, out, 50), "payload");
	at(400);
	send_seg(&c, F_ACK, NULL, 0, 257);
	CHECK(ifc.close(ud, afd) == 0, "close");
	expect(&c, &s, F_ACK | F_FIN, 51, c.snd_nxt, 0, 400);
	ifc.close(ud, lfd);
	ifc.free(ud);
}

/* poll(), O_NONBLOCK and SO_RCVTIMEO in virtual time. */
static void sc_poll(void)
{
	struct conn c;
	struct seg s;
	struct call cp = {.op = OP_POLL}, cr = {.op = OP_READ};
	struct timeval tv = {.tv_sec = 0, .tv_usec = 300000};
	static uint8_t in[100];
	int lfd, afd;

	load("local_ip=" LOCAL4);
	start_clock();
	afd = passive_open(&c, 4, true, 100, &lfd);

	/* poll for input, 500 ms: times out at 100 + 500 */
	at(100);
	cp.pfd.fd = afd;
	cp.pfd.events = POLLIN;
	cp.arg = 500;
	start(&cp);
	blocked(&cp, "poll");
	at(400);
	blocked(&cp, "poll, 300 ms later");
	at(700);
	finished(&cp, "poll timeout", 0, 0, 600);

	/* poll without a timeout: data at 800 wakes it */
	cp.arg = -1;
	start(&cp);
	blocked(&cp, "poll(-1)");
	at(800);
	send_seg(&c, F_ACK | F_PSH, "hello", 5, 257);
	finished(&cp, "poll", 1, 0, 800);
	CHECK(cp.pfd.revents == POLLIN, "revents %#x", cp.pfd.revents);
	expect(&c, &s, F_ACK, 1, c.snd_nxt, 0, 800);
	CHECK(ifc.recv(ud, afd, in, sizeof(in), 0) == 5, "recv");

	/* O_NONBLOCK: EAGAIN at once; MSG_DONTWAIT the same */
	CHECK(ifc.recv(ud, afd, in, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN, "MSG_DONTWAIT");
	CHECK(ifc.fcntl(ud, afd, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	CHECK(ifc.read(ud, afd, in, 1) == -1 && errno == EAGAIN, "nonblocking read");
	CHECK(ifc.fcntl(ud, afd, F_SETFL, 0) == 0, "blocking again");

	/* SO_RCVTIMEO 300 ms: a read started at 900 gives EAGAIN at 1200 */
	CHECK(ifc.setsockopt(ud, afd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0,
	      "SO_RCVTIMEO");
	at(900);
	cr.fd = afd;
	cr.buf = in;
	cr.len = sizeof(in);
	start(&cr);
	blocked(&cr, "read with SO_RCVTIMEO");
	at(1300);
	finished(&cr, "read with SO_RCVTIMEO", -1, EAGAIN, 1200);

	/* poll for output on a connected socket: ready at once */
	cp.pfd.events = POLLOUT;
	cp.arg = 1000;
	CHECK(now_call(&cp, "poll(POLLOUT)") == 1 && cp.pfd.revents == POLLOUT, "POLLOUT");
	ifc.close(ud, afd);
	ifc.close(ud, lfd);
	ifc.free(ud);
}

/* ---- main ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	void (*fn)(void);
} scenarios[] = {
	{"api", sc_api},	     {"passive", sc_passive}, {"active", sc_active},
	{"rto", sc_rto},	     {"delack", sc_delack},   {"rst", sc_rst},
	{"close_active", sc_close_active}, {"ipv6", sc_ipv6},   {"poll", sc_poll},
};

static bool wanted(const char *name, int argc, char **argv, int first)
{
	if (first >= argc)
		return true;
	for (int i = first; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int first = 1, passed = 0, failed = 0;

	trace = getenv("PDRIVE_TRACE") && *getenv("PDRIVE_TRACE") == '1';
	strict = getenv("PDRIVE_STRICT") && *getenv("PDRIVE_STRICT") == '1';
	while (first < argc && argv[first][0] == '-') {
		if (!strcmp(argv[first], "--so") && first + 1 < argc) {
			so_path = argv[first + 1];
			first += 2;
		} else if (!strcmp(argv[first], "--no-deepbind")) {
			deepbind = false; /* sanitizer runtimes refuse RTLD_DEEPBIND */
			first++;
		} else {
			fprintf(stderr, "usage: pdrive [--so PATH] [--no-deepbind] [scenario...]\n");
			return 2;
		}
	}
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		pid_t pid;
		int st;

		if (!wanted(scenarios[i].name, argc, argv, first))
			continue;
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			cur_scenario = scenarios[i].name;
			scenarios[i].fn();
			fflush(NULL);
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid) {
			perror("pdrive: fork");
			return 1;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			printf("PASS %s\n", scenarios[i].name);
			passed++;
		} else {
			printf("FAIL %s (%s %d)\n", scenarios[i].name,
			       WIFSIGNALED(st) ? "signal" : "exit",
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			failed++;
		}
	}
	printf("pdrive: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
