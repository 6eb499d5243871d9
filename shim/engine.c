/*
 * engine.c — the shim's heart: loads the configuration, opens the TUN,
 * builds the stack and runs the stack thread, which moves packets between
 * the TUN and the stack and bytes between the stack and each socket's
 * private end B.  Called by the hook families (socket.c, io.c, fd.c)
 * under the engine lock; calls stack/, tun/ and the real libc (real.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "pcap.h"
#include "real.h"
#include "session.h"
#include "sock.h"
#include "tun.h"

#define BATCH 32
#define PKT_BUF (65535 + 64)
#define SCRATCH (256 * 1024)
#define MAX_EVENTS 128
/* A datagram FIFO never holds more than A's queue can (a few hundred
 * small datagrams at most; AF_UNIX limits the queue by bytes). */
#define DGRAM_FIFO_MAX 4096

struct engine eng = {.lock = PTHREAD_MUTEX_INITIALIZER};
__thread int eng_internal;

/* This thread is handing the session off: its fork is the keeper's (the
 * atfork handlers step aside; another thread's fork waits for the lock). */
static __thread bool handing_off;

/* State only the engine sees. */
static struct {
	struct tun tun;
	struct shim_pcap pcap;
	bool pcap_on;
	int epfd;   /* the stack thread's epoll: TUN, wake-up, every B */
	int wakefd; /* eventfd: a hook changed something */
	pthread_t thread;
	bool thread_started;
	void *arena;
	size_t arena_size;
	struct shim_sock **fdmap; /* program fd -> socket */
	size_t fdmap_n;
	uint8_t *private_fds; /* bitmap of the engine's own descriptors */
	int private_base;     /* where private descriptors are placed */
	struct sock_list free_socks;
	char *scratch; /* stack thread and hooks, under the lock */
	char *rxbuf[BATCH], *txbuf[BATCH];
	pthread_cond_t tx_cond; /* broadcast after each flush */
	uint64_t tx_gen;
	bool draining;
	bool refused_warned;
	bool stop;	   /* the stack thread must return (a hand-off) */
	bool forked;	   /* a fork child may hold sockets of ours */
	int keeper_note;   /* keeper: the exiting program's pipe, or -1 */
	/* The membership token: a pipe whose write end every process of the
	 * session inherits (fork and exec: not close-on-exec), so the owner
	 * and keeper see processes that have not called yet (a fork child
	 * about to exec a server); read end in the owner / keeper only. */
	int token_r, token_w;
	stack_ns_t keeper_idle; /* keeper: when nobody held anything, or 0 */
	stack_ns_t reap_last;	/* reap_unheld's last look */
	stack_ns_t deadline; /* what the stack thread sleeps towards */
} E = {.epfd = -1,
       .wakefd = -1,
       .keeper_note = -1,
       .token_r = -1,
       .token_w = -1,
       .tx_cond = PTHREAD_COND_INITIALIZER};

static stack_ns_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (stack_ns_t)ts.tv_sec * STACK_NS_PER_S + (stack_ns_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * STACK_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- private descriptors ----------------------------------------------- */

bool eng_private_fd(int fd)
{
	return fd >= 0 && (size_t)fd < E.fdmap_n && E.private_fds &&
	       (E.private_fds[fd / 8] & (1u << (fd % 8)));
}

static void private_mark(int fd, bool on)
{
	if (fd < 0 || (size_t)fd >= E.fdmap_n)
		return;
	if (on)
		E.private_fds[fd / 8] |= (uint8_t)(1u << (fd % 8));
	else
		E.private_fds[fd / 8] &= (uint8_t)~(1u << (fd % 8));
}

/* Move fd to a high number (close-on-exec) and mark it private; returns
 * the new number or -errno.  fd itself is closed either way. */
int eng_private_fd_new(int fd)
{
	int nfd = real()->fcntl(fd, F_DUPFD_CLOEXEC, E.private_base);

	if (nfd < 0)
		nfd = real()->fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0) {
		int e = errno;
		real()->close(fd);
		return -e;
	}
	if (nfd != fd)
		real()->close(fd);
	private_mark(nfd, true);
	return nfd;
}

static void private_close(int fd)
{
	if (fd < 0)
		return;
	private_mark(fd, false);
	real()->close(fd);
}

/* NETSHIM_MEMBER_FD for the processes to come: the token's number and
 * inode. */
static void token_export(void)
{
	struct stat sb;
	char v[48];

	if (E.token_w < 0 || fstat(E.token_w, &sb) < 0)
		return;
	snprintf(v, sizeof(v), "%d:%lu", E.token_w, (unsigned long)sb.st_ino);
	setenv("NETSHIM_MEMBER_FD", v, 1);
}

void eng_private_close(int fd)
{
	private_close(fd);
}

/* The program wants number fd (dup2 onto it): move ours elsewhere. */
int eng_private_move(int fd)
{
	int nfd;
	struct shim_sock *s;

	nfd = real()->fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
	if (nfd < 0) /* nothing free above: any free number will do */
		nfd = real()->fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	private_mark(nfd, true);
	if (fd == E.token_w) {
		real()->fcntl(nfd, F_SETFD, 0); /* inherited across exec */
		E.token_w = nfd;
		token_export();
	} else if (fd == E.token_r) {
		E.token_r = nfd;
	} else if (fd == E.tun.fd) {
		epoll_ctl(E.epfd, EPOLL_CTL_DEL, fd, NULL);
		E.tun.fd = nfd;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &E.tun};
		epoll_ctl(E.epfd, EPOLL_CTL_ADD, nfd, &ev);
	} else if (fd == E.wakefd) {
		epoll_ctl(E.epfd, EPOLL_CTL_DEL, fd, NULL);
		E.wakefd = nfd;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &E.wakefd};
		epoll_ctl(E.epfd, EPOLL_CTL_ADD, nfd, &ev);
	} else if (fd == E.epfd) {
		E.epfd = nfd;
		sess_fd_moved(fd, nfd);
	} else {
		TAILQ_FOREACH(s, &eng.socks, link) {
			if (s->afd_held && s->afd == fd)
				s->afd = nfd; /* a client's A held while it connects */
			if (s->bfd != fd)
				continue;
			epoll_ctl(E.epfd, EPOLL_CTL_DEL, fd, NULL);
			s->bfd = nfd;
			eng_epoll_add(s);
		}
		if (E.pcap_on && shim_pcap_fd(&E.pcap) == fd)
			E.pcap.fd = nfd;
		sess_fd_moved(fd, nfd);
	}
	private_mark(fd, false);
	real()->close(fd);
	return nfd;
}

/* ---- the descriptor map ------------------------------------------------ */

struct shim_sock *sock_of(int fd)
{
	if (fd < 0 || (size_t)fd >= E.fdmap_n || !E.fdmap)
		return NULL;
	return __atomic_load_n(&E.fdmap[fd], __ATOMIC_ACQUIRE);
}

void sock_map(int fd, struct shim_sock *s)
{
	if (fd < 0 || (size_t)fd >= E.fdmap_n)
		return;
	if (E.fdmap[fd])
		sock_unmap(fd);
	sock_drop_held(s);
	__atomic_store_n(&E.fdmap[fd], s, __ATOMIC_RELEASE);
	s->nfds++;
	s->afd = fd;
}

void sock_unmap(int fd)
{
	struct shim_sock *s = sock_of(fd);

	if (!s)
		return;
	__atomic_store_n(&E.fdmap[fd], NULL, __ATOMIC_RELEASE);
	s->nfds--;
	if (s->afd == fd) {
		s->afd = -1;
		/* another number of the same socket, if the program has one */
		for (size_t i = 0; s->nfds > 0 && i < E.fdmap_n; i++)
			if (E.fdmap[i] == s) {
				s->afd = (int)i;
				break;
			}
	}
	if (s->nfds == 0 && (s->state == SS_DEAD || s->bfd < 0))
		sock_release(s);
}

static bool afd_valid(const struct shim_sock *s);

/* Whether a program descriptor of this process still names A. */
static bool a_still_open(struct shim_sock *s)
{
	if (s->nfds == 0)
		return false;
	if (afd_valid(s))
		return true;
	for (size_t i = 0; i < E.fdmap_n; i++) {
		if (E.fdmap[i] != s)
			continue;
		s->afd = (int)i;
		if (afd_valid(s))
			return true;
	}
	return false;
}

/* Whether afd still names the socket's A (the program may have closed
 * the number behind our back and had it reused). */
static bool afd_valid(const struct shim_sock *s)
{
	struct stat sb;

	return s->afd >= 0 && fstat(s->afd, &sb) == 0 && sb.st_ino == s->ino;
}

void sock_hold_a(struct shim_sock *s, int afd)
{
	int d;

	if (s->nfds > 0 || s->afd_held || afd < 0)
		return;
	d = real()->fcntl(afd, F_DUPFD_CLOEXEC, E.private_base);
	if (d < 0)
		d = real()->fcntl(afd, F_DUPFD_CLOEXEC, 3);
	if (d < 0)
		return;
	private_mark(d, true);
	s->afd = d;
	s->afd_held = true;
}

void sock_drop_held(struct shim_sock *s)
{
	if (!s->afd_held)
		return;
	private_close(s->afd);
	s->afd = -1;
	s->afd_held = false;
}

struct shim_sock *sock_by_a(int afd)
{
	struct stat sb;
	struct shim_sock *s, *found = NULL;

	if (afd < 0 || fstat(afd, &sb) < 0 || !S_ISSOCK(sb.st_mode))
		return NULL;
	/* A live A's inode cannot be reused; prefer a record whose A is
	 * not known gone (an old record may wait for its release) */
	TAILQ_FOREACH(s, &eng.socks, link) {
		if (s->ino != sb.st_ino)
			continue;
		if (!s->a_gone || !found)
			found = s; /* the newest wins */
	}
	return found;
}

void eng_adopt_fd(int fd)
{
	struct stat sb;
	struct shim_sock *s;

	if (eng.mode == ENG_CHILD) {
		sock_child_adopt(fd);
		return;
	}
	if (eng.mode != ENG_RUNNING || fstat(fd, &sb) < 0 || !S_ISSOCK(sb.st_mode))
		return;
	pthread_mutex_lock(&eng.lock);
	TAILQ_FOREACH(s, &eng.socks, link) {
		if (s->ino == sb.st_ino && s->bfd >= 0) {
			sock_map(fd, s);
			break;
		}
	}
	pthread_mutex_unlock(&eng.lock);
}

/* ---- sockets ------------------------------------------------------------ */

/* A new A has inode ino: any socket recorded with it is gone (a live
 * file's inode is never reused) — a record another process's failed
 * socket left behind, or one whose B hang-up is still to be seen. */
static void forget_ino(ino_t ino)
{
	struct shim_sock *s, *tmp;

	TAILQ_FOREACH_SAFE(s, &eng.socks, link, tmp) {
		if (s->ino != ino)
			continue;
		s->a_gone = true;
		if (s->bfd < 0 && s->nfds == 0)
			sock_release(s);
	}
}

struct shim_sock *sock_new(int family, int type, int h, int afd, int bfd)
{
	struct shim_sock *s = TAILQ_FIRST(&E.free_socks);
	struct stat sb;

	if (s) {
		TAILQ_REMOVE(&E.free_socks, s, link);
	} else {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		pthread_mutex_init(&s->rlock, NULL);
	}
	pthread_mutex_t keep = s->rlock;
	memset(s, 0, sizeof(*s));
	s->rlock = keep;
	s->h = h;
	s->bfd = bfd;
	s->afd = -1;
	s->family = family;
	s->type = type;
	s->state = type == SOCK_STREAM ? SS_FRESH : SS_OPEN;
	if (fstat(afd, &sb) == 0) {
		s->ino = sb.st_ino;
		forget_ino(s->ino);
	}
	if (h >= 0 && (uint32_t)h < eng.max_h)
		eng.by_h[h] = s;
	TAILQ_INSERT_TAIL(&eng.socks, s, link);
	sock_map(afd, s);
	return s;
}

int eng_epoll_add(struct shim_sock *s)
{
	struct epoll_event ev = {
	    .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	    .data.ptr = s,
	};

	if (epoll_ctl(E.epfd, EPOLL_CTL_ADD, s->bfd, &ev) < 0)
		return -errno;
	return 0;
}

static void close_b(struct shim_sock *s)
{
	if (s->bfd < 0)
		return;
	epoll_ctl(E.epfd, EPOLL_CTL_DEL, s->bfd, NULL);
	private_close(s->bfd);
	s->bfd = -1;
}

/* Forget the socket: its stack endpoint, B, the buffers.  The structure
 * goes to the free list (hooks may still hold a pointer: it stays valid
 * memory). */
void sock_release(struct shim_sock *s)
{
	if (s->h >= 0) {
		if ((uint32_t)s->h < eng.max_h)
			eng.by_h[s->h] = NULL;
		stack_ep_close(eng.st, s->h);
		s->h = -1;
	}
	close_b(s);
	sock_drop_held(s);
	for (size_t i = 0; s->nfds > 0 && i < E.fdmap_n; i++)
		if (E.fdmap[i] == s) {
			__atomic_store_n(&E.fdmap[i], NULL, __ATOMIC_RELEASE);
			s->nfds--;
		}
	free(s->tx);
	free(s->rx);
	free(s->q);
	s->tx = s->rx = NULL;
	s->q = NULL;
	s->state = SS_DEAD;
	TAILQ_REMOVE(&eng.socks, s, link);
	TAILQ_INSERT_TAIL(&E.free_socks, s, link);
}

/* Make A unwritable (a TCP socket that is not connected must not poll
 * writable): shrink its send buffer and fill it with bytes B never
 * delivers.  0 or -errno. */
int sock_stuff(struct shim_sock *s, int afd)
{
	socklen_t l = sizeof(s->a_sndbuf);
	int one = 1;
	ssize_t n;

	if (real()->getsockopt(afd, SOL_SOCKET, SO_SNDBUF, &s->a_sndbuf, &l) < 0)
		return -errno;
	if (real()->setsockopt(afd, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one)) < 0)
		return -errno;
	memset(E.scratch, 0, 1024);
	for (;;) {
		n = real()->send(afd, E.scratch, 1024, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			break;
		s->stuffed += (uint32_t)n;
	}
	return 0;
}

/* Connected: A writable again (B discards the stuffing as it reads). */
void sock_unstuff(struct shim_sock *s, int afd)
{
	int v = s->a_sndbuf / 2; /* the kernel reports twice what was set */

	if (afd >= 0 && v > 0)
		real()->setsockopt(afd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

int sock_take_err(struct shim_sock *s)
{
	int e = s->err;
	int v;
	socklen_t l = sizeof(v);

	s->err = 0;
	/* the kernel's own reset mark on A, reported by us instead */
	if (e && afd_valid(s))
		real()->getsockopt(s->afd, SOL_SOCKET, SO_ERROR, &v, &l);
	return e;
}

/* The connection is over with error err (0: none to report): A must read
 * the remaining data, then err, then end of file; writes fail. Closing B
 * with unread data in it marks A reset, as a TCP reset marks the socket. */
void sock_fail(struct shim_sock *s, int err)
{
	int bytes = 0;

	if (s->state == SS_DEAD)
		return;
	s->err = err;
	s->state = SS_DEAD;
	if (s->bfd >= 0 && !s->a_gone) {
		if (real()->ioctl(s->bfd, FIONREAD, &bytes) < 0 || bytes == 0) {
			if (afd_valid(s))
				real()->send(s->afd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		}
	}
	/* our pending rx data would be lost anyway */
	close_b(s);
	sock_drop_held(s);
	/* No number here, but A not known gone and another process of the
	 * session uses the socket (a fork child's, or one it inherited and
	 * asked about): it will ask again — keep the record.  With B closed
	 * nothing tells when that holder closes A: the record goes when A's
	 * inode is reused (sock_new) or no longer listed (reap_unheld). */
	if (s->nfds == 0 && (s->a_gone || !s->client_seen))
		sock_release(s);
}

static int tx_reserve(char **buf, size_t *len, size_t *off, const char *src, size_t n)
{
	char *p = malloc(n);

	if (!p)
		return -ENOMEM;
	memcpy(p, src, n);
	free(*buf);
	*buf = p;
	*len = n;
	*off = 0;
	return 0;
}

/* Hand data to the stack; returns false when it must wait for room. */
static bool tcp_feed(struct shim_sock *s, const char *p, size_t n, size_t *taken)
{
	struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
	ssize_t r = stack_ep_sendto(eng.st, s->h, &iov, 1, STACK_MSG_DONTWAIT, NULL);

	*taken = 0;
	if (r == -EAGAIN || r == -ENOBUFS)
		return false;
	if (r < 0) {
		sock_fail(s, (int)-r);
		return false;
	}
	*taken = (size_t)r;
	return (size_t)r == n;
}

/* B -> stack: what the program wrote into A. */
static void tcp_pump_tx(struct shim_sock *s)
{
	size_t taken;

	for (int rounds = 0; rounds < 64 && s->state == SS_OPEN; rounds++) {
		if (s->txlen > s->txoff) {
			bool all = tcp_feed(s, s->tx + s->txoff, s->txlen - s->txoff, &taken);
			s->txoff += taken;
			if (!all)
				return;
			free(s->tx);
			s->tx = NULL;
			s->txlen = s->txoff = 0;
		}
		if (s->b_eof || s->bfd < 0)
			break;
		ssize_t n = real()->read(s->bfd, E.scratch, SCRATCH);
		if (n < 0) {
			if (errno == EAGAIN)
				s->b_in = false;
			else if (errno == ECONNRESET)
				/* only A's release sets this on B (af_unix.c
				 * unix_release_sock): every holder closed A with
				 * data unread — a reset, never the FIN below,
				 * even before B's hang-up event is seen (A's
				 * last holder may have been our own dup of a
				 * client's A, closed in this thread) */
				s->a_abort = true, s->b_eof = true, s->a_gone = true;
			break;
		}
		if (n == 0) {
			s->b_eof = true;
			break;
		}
		size_t off = 0;
		if (s->stuffed) {
			size_t d = (size_t)n < s->stuffed ? (size_t)n : s->stuffed;
			s->stuffed -= (uint32_t)d;
			off = d;
		}
		if (off == (size_t)n)
			continue;
		if (!tcp_feed(s, E.scratch + off, (size_t)n - off, &taken)) {
			if (s->state != SS_OPEN)
				return;
			if (tx_reserve(&s->tx, &s->txlen, &s->txoff, E.scratch + off + taken,
				       (size_t)n - off - taken) < 0)
				sock_fail(s, ENOMEM);
			return;
		}
	}
	if (s->b_eof && !s->shut_wr && !s->a_gone && s->txlen == s->txoff &&
	    s->state == SS_OPEN) {
		/* the program shut down writing: FIN after everything it
		 * wrote.  (When it closed A instead, closing the endpoint
		 * sends the FIN — or the RST SO_LINGER 0 asks for.) */
		stack_ep_shutdown(eng.st, s->h, STACK_SHUT_WR);
		s->shut_wr = true;
	}
}

/* stack -> B: what the peer sent, into A's receive queue. */
static void tcp_pump_rx(struct shim_sock *s)
{
	for (int rounds = 0; rounds < 64 && s->state == SS_OPEN && !s->a_gone; rounds++) {
		if (s->rxlen > s->rxoff) {
			ssize_t w = real()->send(s->bfd, s->rx + s->rxoff, s->rxlen - s->rxoff,
						 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN)
					s->b_out = false;
				else /* A shut down reading: Linux drops it too */
					s->rxoff = s->rxlen;
				return;
			}
			s->rxoff += (size_t)w;
			if (s->rxoff < s->rxlen) {
				s->b_out = false;
				return;
			}
			free(s->rx);
			s->rx = NULL;
			s->rxlen = s->rxoff = 0;
		}
		if (s->s_eof)
			return;
		struct iovec iov = {.iov_base = E.scratch, .iov_len = SCRATCH};
		int mf = 0;
		ssize_t n = stack_ep_recvfrom(eng.st, s->h, &iov, 1, STACK_MSG_DONTWAIT, NULL, &mf);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			sock_fail(s, (int)-n);
			return;
		}
		if (n == 0) {
			s->s_eof = true;
			real()->shutdown(s->bfd, SHUT_WR);
			return;
		}
		ssize_t w = real()->send(s->bfd, E.scratch, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN)
			continue; /* A no longer reads: drop, as Linux after SHUT_RD */
		if (w < 0)
			w = 0;
		if (w < n) {
			s->b_out = false;
			if (tx_reserve(&s->rx, &s->rxlen, &s->rxoff, E.scratch + w,
				       (size_t)(n - w)) < 0)
				sock_fail(s, ENOMEM);
			return;
		}
	}
}

static void dgram_push(struct shim_sock *s, const struct dgram_meta *m)
{
	if (s->qlen == s->qcap) {
		unsigned ncap = s->qcap ? s->qcap * 2 : 16;
		struct dgram_meta *nq;

		if (ncap > DGRAM_FIFO_MAX)
			return;
		nq = malloc(ncap * sizeof(*nq));
		if (!nq)
			return;
		for (unsigned i = 0; i < s->qlen; i++)
			nq[i] = s->q[(s->qhead + i) % s->qcap];
		free(s->q);
		s->q = nq;
		s->qcap = ncap;
		s->qhead = 0;
	}
	s->q[(s->qhead + s->qlen) % s->qcap] = *m;
	s->qlen++;
}

/* The plain-to-framed switch (engine.h, shim_sock.framed): only once no
 * plain datagram's metadata waits in the FIFO, so a reader knows a
 * datagram's format from the FIFO alone (io.c udp_recvmsg). */
static void udp_frame_check(struct shim_sock *s)
{
	if (!s->frame_wanted || s->framed || s->qlen)
		return;
	__atomic_store_n(&s->framed, true, __ATOMIC_RELEASE);
	/* delivery into B waited for the switch */
	if (s->h >= 0)
		sock_pump(s);
}

void udp_want_frame(struct shim_sock *s)
{
	if (s->type != SOCK_DGRAM || s->frame_wanted)
		return;
	s->frame_wanted = true;
	udp_frame_check(s);
}

bool udp_fifo_pop(struct shim_sock *s, bool peek, struct dgram_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (!s->qlen)
		return false;
	*m = s->q[s->qhead];
	if (!peek || m->err) {
		/* PEEK of a marker pops it: the reader takes it out of A */
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qlen--;
		udp_frame_check(s);
	}
	return true;
}

int udp_err_claim(struct shim_sock *s, uint32_t id, int err)
{
	if (id <= s->err_done || id > s->err_seq) /* reported, or never issued */
		return 0;
	/* markers reach readers in the order they were numbered */
	s->err_done = id;
	return err;
}

int udp_take_err(struct shim_sock *s, int afd)
{
	for (unsigned i = 0; i < s->qlen; i++) {
		struct dgram_meta *m = &s->q[(s->qhead + i) % s->qcap];
		if (m->err <= 0)
			continue;
		int e = m->err;
		m->err = -1; /* the reader skips it */
		if (i == 0 && afd >= 0) {
			/* first in line: take its marker out of A too, so A
			 * stops polling readable */
			char c;
			if (real()->recv(afd, &c, 0, MSG_DONTWAIT) == 0) {
				s->qhead = (s->qhead + 1) % s->qcap;
				s->qlen--;
				udp_frame_check(s);
			}
		}
		return e;
	}
	if (s->err_done < s->err_seq) {
		/* Linux keeps one pending error (sk_err): reporting it clears
		 * every framed marker still in A (readers skip them) */
		s->err_done = s->err_seq;
		return s->err_last;
	}
	return 0;
}

/* Write the held datagram s->rx into B: plain (its metadata into the
 * FIFO) or framed.  The send's result. */
static ssize_t udp_deliver(struct shim_sock *s)
{
	if (!s->framed)
		return real()->send(s->bfd, s->rx, s->rxlen, MSG_DONTWAIT | MSG_NOSIGNAL);
	struct dgram_frame f;
	memset(&f, 0, sizeof(f));
	f.m = s->rxmeta;
	if (f.m.err > 0) {
		if (!s->rx_err_id) {
			s->rx_err_id = ++s->err_seq;
			s->err_last = f.m.err;
		}
		f.err_id = s->rx_err_id;
	}
	f.flags = (s->pktinfo4 ? DF_PKTINFO4 : 0) | (s->pktinfo6 ? DF_PKTINFO6 : 0);
	struct iovec iov[2] = {{.iov_base = &f, .iov_len = sizeof(f)},
			       {.iov_base = s->rx, .iov_len = s->rxlen}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	return real()->sendmsg(s->bfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* stack -> B for UDP: each datagram, its source in the FIFO or in its
 * frame. */
static void udp_pump_rx(struct shim_sock *s)
{
	for (int rounds = 0; rounds < 256 && !s->a_gone && s->bfd >= 0; rounds++) {
		/* a switch waits for the readers to empty the FIFO: no more
		 * plain datagrams meanwhile */
		if (s->frame_wanted && !s->framed)
			return;
		if (!s->rx) {
			struct iovec iov = {.iov_base = E.scratch, .iov_len = SCRATCH};
			int mf = 0;
			ssize_t n = stack_ep_recvmsg(eng.st, s->h, &iov, 1, STACK_MSG_DONTWAIT,
						     &s->rxmeta.from, &s->rxmeta.to, &mf);
			if (n == -EAGAIN)
				return;
			memset(&s->rxmeta.err, 0, sizeof(s->rxmeta.err));
			s->rx_err_id = 0;
			if (n < 0) {
				s->rxmeta.err = (int)-n;
				n = 0;
			}
			s->rxmeta.len = (uint32_t)n;
			if (tx_reserve(&s->rx, &s->rxlen, &s->rxoff, E.scratch, (size_t)n) < 0) {
				/* an empty datagram still needs a buffer */
				s->rx = malloc(1);
				if (!s->rx)
					return;
				s->rxlen = s->rxoff = 0;
			}
		}
		if (!s->framed && s->qlen >= DGRAM_FIFO_MAX)
			return;
		ssize_t w = udp_deliver(s);
		if (w < 0) {
			if (errno == EAGAIN || errno == ENOBUFS) {
				s->b_out = false;
				return;
			}
			/* A gone or shut: drop */
		} else if (!s->framed) {
			dgram_push(s, &s->rxmeta);
		}
		free(s->rx);
		s->rx = NULL;
		s->rxlen = s->rxoff = 0;
		s->rx_err_id = 0;
	}
}

/* B -> stack for UDP: a datagram written to A by a call we did not see
 * goes to the connected peer. */
static void udp_pump_tx(struct shim_sock *s)
{
	for (int rounds = 0; rounds < 64 && s->bfd >= 0; rounds++) {
		ssize_t n = real()->recv(s->bfd, E.scratch, SCRATCH, MSG_DONTWAIT);
		if (n <= 0) {
			/* EAGAIN, or 0: A shut down writing (a zero-length
			 * datagram cannot be told apart; none is sent) */
			s->b_in = false;
			return;
		}
		struct iovec iov = {.iov_base = E.scratch, .iov_len = (size_t)n};
		stack_ep_sendto(eng.st, s->h, &iov, 1, STACK_MSG_DONTWAIT, NULL);
	}
}

/* Move what can move for s, and follow its connection's state. */
void sock_pump(struct shim_sock *s)
{
	unsigned ev;

	if (s->h < 0)
		return;
	if (s->type == SOCK_DGRAM) {
		if (s->b_in)
			udp_pump_tx(s);
		udp_pump_rx(s);
		if (s->a_gone)
			sock_release(s);
		return;
	}
	ev = stack_ep_events(eng.st, s->h);
	switch (s->state) {
	case SS_FRESH:
		if (s->a_gone) /* closed before it listened or connected */
			sock_release(s);
		return;
	case SS_LISTEN:
		{
			/* a byte for each connection that joined the queue, so
			 * an edge-triggered epoll sees every arrival, as on
			 * Linux (the bytes go when the queue empties) */
			int q = stack_ep_acceptq(eng.st, s->h);
			if (q > s->acceptq_seen && s->bfd >= 0 && s->tokens < 65536) {
				if (real()->send(s->bfd, "L", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
					s->tokens++;
			}
			if (q >= 0)
				s->acceptq_seen = q;
		}
		(void)ev;
		if (s->a_gone)
			sock_release(s);
		return;
	case SS_CONNECTING:
		if (ev & (STACK_EV_ERR | STACK_EV_HUP)) {
			int e = 0;
			size_t l = sizeof(e);
			stack_ep_getopt(eng.st, s->h, STACK_SOL_SOCKET, STACK_SO_ERROR, &e, &l);
			sock_fail(s, e ? e : ECONNREFUSED);
			return;
		}
		if (!(ev & STACK_EV_OUT))
			return;
		s->state = SS_OPEN;
		s->was_open = true;
		if (afd_valid(s))
			sock_unstuff(s, s->afd);
		sock_drop_held(s); /* a client's A: B's hang-up tells again */
		/* fall through */
	case SS_OPEN:
		tcp_pump_tx(s);
		if (s->state == SS_OPEN)
			tcp_pump_rx(s);
		if (s->state == SS_OPEN && s->s_eof && s->rxlen == s->rxoff &&
		    (stack_ep_events(eng.st, s->h) & STACK_EV_ERR)) {
			/* reset after the peer's FIN (Linux: EPIPE in
			 * CLOSE_WAIT): the receive path no longer asks the
			 * stack, so collect the error here */
			int e = 0;
			size_t l = sizeof(e);
			stack_ep_getopt(eng.st, s->h, STACK_SOL_SOCKET, STACK_SO_ERROR, &e, &l);
			if (e) {
				/* Linux reads end of file first (the FIN came
				 * before the reset); A polls ERR as on Linux,
				 * and the read hooks answer 0 */
				s->err_after_eof = true;
				sock_fail(s, e);
			}
			return;
		}
		if (s->a_gone && s->state == SS_OPEN && s->b_eof && s->txlen == s->txoff) {
			if (s->a_abort) {
				struct { int on, secs; } lg = {1, 0};
				stack_ep_setopt(eng.st, s->h, STACK_SOL_SOCKET, STACK_SO_LINGER, &lg,
						sizeof(lg));
			}
			sock_release(s);
		}
		return;
	case SS_DEAD:
		return;
	}
}

/* ---- moving packets -------------------------------------------------------- */

static void flush_link(void)
{
	struct stack_pkt sp[BATCH];
	struct tun_pkt tp[BATCH];
	unsigned n;
	bool any = false;

	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			sp[i].data = E.txbuf[i];
			sp[i].len = 0;
			sp[i].cap = PKT_BUF;
		}
		n = stack_link_pull(eng.st, eng.ifindex, sp, BATCH);
		if (!n)
			break;
		any = true;
		for (unsigned i = 0; i < n; i++) {
			tp[i].data = sp[i].data;
			tp[i].len = sp[i].len;
			tp[i].cap = sp[i].cap;
			if (E.pcap_on)
				shim_pcap_write(&E.pcap, sp[i].data, sp[i].len, real_ns());
		}
		if (tun_write_batch(&E.tun, tp, n) < 0)
			break;
	}
	if (any) {
		E.tx_gen++;
		pthread_cond_broadcast(&E.tx_cond);
	}
}

static void process_changed(void)
{
	int hs[64];
	int n;

	while ((n = stack_ep_changed(eng.st, hs, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			if (hs[i] < 0 || (uint32_t)hs[i] >= eng.max_h)
				continue;
			struct shim_sock *s = eng.by_h[hs[i]];
			if (s)
				sock_pump(s);
		}
	}
}

static void tun_rx(stack_ns_t now)
{
	struct tun_pkt tp[BATCH];
	struct stack_pkt sp[BATCH];
	int n;

	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < BATCH; i++) {
			tp[i].data = E.rxbuf[i];
			tp[i].len = 0;
			tp[i].cap = PKT_BUF;
		}
		n = tun_read_batch(&E.tun, tp, BATCH);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			sp[i].data = tp[i].data;
			sp[i].len = tp[i].len;
			sp[i].cap = tp[i].cap;
			if (E.pcap_on)
				shim_pcap_write(&E.pcap, tp[i].data, tp[i].len, real_ns());
		}
		stack_link_input(eng.st, eng.ifindex, sp, (unsigned)n, now);
		process_changed();
		flush_link();
		if (n < BATCH)
			return;
	}
}

void eng_lock(void)
{
	pthread_mutex_lock(&eng.lock);
}

void eng_unlock(void)
{
	uint64_t one = 1;
	stack_ns_t next;

	if (eng.mode == ENG_RUNNING) {
		process_changed();
		flush_link();
		next = stack_next_deadline(eng.st);
		if (next < E.deadline) {
			E.deadline = next;
			if (real()->write(E.wakefd, &one, sizeof(one)) < 0) {
				/* the counter is full: the thread is awake anyway */
			}
		}
	}
	pthread_mutex_unlock(&eng.lock);
}

void eng_wait_tx(int ms)
{
	struct timespec ts;
	uint64_t gen;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&eng.lock);
	gen = E.tx_gen;
	while (gen == E.tx_gen)
		if (pthread_cond_timedwait(&E.tx_cond, &eng.lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&eng.lock);
}

static void handle_b_event(struct shim_sock *s, uint32_t events)
{
	if (events & EPOLLIN)
		s->b_in = true;
	if (events & EPOLLOUT)
		s->b_out = true;
	if (events & EPOLLERR)
		s->a_abort = true; /* A closed with data unread: reset */
	if ((events & EPOLLHUP) && !s->a_gone) {
		/* Both directions of the pair are shut: every holder of A
		 * closed it — or the program shut down writing while B shut
		 * down its own writing (the peer's FIN), and A is still open.
		 * A number of ours that still names A tells them apart; then
		 * the close of the last one ends the socket (sock_unmap). */
		s->b_hup = true;
		if (!a_still_open(s)) {
			s->a_gone = true;
			s->b_in = true; /* read what A wrote before closing */
		}
	}
	if (s->state == SS_DEAD && s->a_gone) {
		close_b(s);
		return;
	}
	sock_pump(s);
}

void sock_check_b(struct shim_sock *s)
{
	struct pollfd p;

	if (s->bfd < 0 || s->a_gone)
		return;
	p.fd = s->bfd;
	p.events = POLLIN | POLLOUT | POLLRDHUP;
	p.revents = 0;
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
		handle_b_event(s, EPOLLHUP | EPOLLIN | ((p.revents & POLLERR) ? EPOLLERR : 0));
}

void eng_check_unmapped(void)
{
	struct shim_sock *s, *tmp;

	TAILQ_FOREACH_SAFE(s, &eng.socks, link, tmp)
		if (s->nfds == 0)
			sock_check_b(s);
}

static bool keeper_done(stack_ns_t now);
static void start_stack_thread(void);

/* Records kept for another process's A after their socket failed (B
 * closed, sock_fail): once A is gone — its inode no longer among the
 * network namespace's AF_UNIX sockets (/proc/net/unix) — release them.
 * At most once a second, and only while there are such records (256 at a
 * time, the rest in the next rounds).  Under the lock. */
static void reap_unheld(stack_ns_t now)
{
	struct shim_sock *cand[256];
	bool seen[256] = {false};
	size_t n = 0;
	char line[512];
	FILE *f;

	if (now - E.reap_last < STACK_NS_PER_S)
		return;
	E.reap_last = now;
	struct shim_sock *s;
	TAILQ_FOREACH(s, &eng.socks, link)
		if (s->bfd < 0 && s->nfds == 0 && !s->a_gone && n < 256)
			cand[n++] = s;
	if (!n || !(f = fopen("/proc/net/unix", "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long ino;
		/* Num RefCount Protocol Flags Type St Inode [Path] */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &ino) != 1)
			continue;
		for (size_t i = 0; i < n; i++)
			if (cand[i]->ino == (ino_t)ino)
				seen[i] = true;
	}
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!seen[i]) {
			cand[i]->a_gone = true;
			sock_release(cand[i]);
		}
}

/* The stack's loop: the stack thread's, or a keeper's (main thread). */
static void stack_loop(bool keeper)
{
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		stack_ns_t now = mono_ns(), next;
		int timeout;

		bool draining;

		pthread_mutex_lock(&eng.lock);
		next = stack_next_deadline(eng.st);
		E.deadline = next;
		draining = E.draining;
		pthread_mutex_unlock(&eng.lock);
		if (next == STACK_NS_NEVER)
			timeout = -1;
		else if (next <= now)
			timeout = 0;
		else
			timeout = (int)((next - now + STACK_NS_PER_MS - 1) / STACK_NS_PER_MS);
		if (draining && (timeout < 0 || timeout > 10))
			timeout = 10;
		if (keeper && (timeout < 0 || timeout > 50))
			timeout = 50; /* looks at the session's members */

		int n = epoll_wait(E.epfd, evs, MAX_EVENTS, timeout);
		pthread_mutex_lock(&eng.lock);
		now = mono_ns();
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &E.tun) {
				tun_rx(now);
			} else if (p == &E.wakefd) {
				uint64_t v;
				if (real()->read(E.wakefd, &v, sizeof(v)) < 0) {
					/* nothing to read: fine */
				}
			} else if (!sess_owner_event(p, evs[i].events)) {
				handle_b_event(p, evs[i].events);
			}
		}
		stack_poll(eng.st, now);
		process_changed();
		flush_link();
		if (E.pcap_on)
			shim_pcap_flush(&E.pcap);
		pthread_cond_broadcast(&E.tx_cond);
		if (E.stop) {
			/* a hand-off: this round's events are handled (B's
			 * edges are not seen again by the keeper sharing
			 * the epoll) */
			pthread_mutex_unlock(&eng.lock);
			return;
		}
		reap_unheld(now);
		if (keeper && keeper_done(now)) {
			pthread_mutex_unlock(&eng.lock);
			return;
		}
		pthread_mutex_unlock(&eng.lock);
	}
}

static void *stack_thread(void *arg)
{
	(void)arg;
	stack_loop(false);
	return NULL;
}

/* ---- start-up ------------------------------------------------------------ */

static void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fatal(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	shim_say("%s", line);
	_exit(SHIM_EXIT_CONFIG);
}

pid_t eng_parent_of(pid_t pid)
{
	char path[64], buf[512];
	ssize_t n;
	int fd, ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = real()->read(fd, buf, sizeof(buf) - 1);
	real()->close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* after the command's closing parenthesis: state, then the parent */
	char *rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1)
		return 0;
	return (pid_t)ppid;
}

/* Whether pid is this process's parent, grandparent, ... */
static bool is_ancestor(pid_t pid)
{
	pid_t p = getppid();

	for (int depth = 0; depth < 64 && p > 1; depth++, p = eng_parent_of(p))
		if (p == pid)
			return true;
	return false;
}

static void open_device(void)
{
	struct tun_config tc;
	const struct shim_config *c = &eng.cfg;
	int err;

	memset(&tc, 0, sizeof(tc));
	tc.name = c->tun[0] ? c->tun : NULL;
	tc.mtu = c->mtu;
	if (c->addr4.family) {
		tc.has_addr4 = true;
		memcpy(&tc.addr4, c->gw4.addr, 4);
		tc.prefix4 = c->prefix4;
	}
	if (c->addr6.family) {
		tc.has_addr6 = true;
		memcpy(&tc.addr6, c->gw6.addr, 16);
		tc.prefix6 = c->prefix6;
	}
	err = tun_open(&E.tun, &tc);
	if (err == -EBUSY) {
		const char *holder = getenv("NETSHIM_HOLDER");
		if (holder && is_ancestor((pid_t)atoi(holder))) {
			eng.mode = ENG_REFUSED;
			return;
		}
		fatal("NETSHIM_TUN=%s: %s; choose another device (--tun) or stop "
		      "the process holding it",
		      c->tun, E.tun.err);
	}
	if (err == -EPERM || err == -EACCES)
		fatal("%s; or run under netshim --sandbox", E.tun.err);
	if (err)
		fatal("NETSHIM_TUN=%s: %s", c->tun[0] ? c->tun : "(new device)", E.tun.err);
	if (E.tun.warn[0])
		shim_log(SHIM_LOG_WARN, "%s", E.tun.warn);
}

static void add_addr(const struct stack_sockaddr *a, unsigned plen, const struct stack_sockaddr *gw)
{
	struct stack_sockaddr any;
	int err;

	err = stack_addr_add(eng.st, eng.ifindex, a, plen);
	if (err)
		fatal("cannot add the stack's address: %s", strerror(-err));
	memset(&any, 0, sizeof(any));
	any.family = a->family;
	err = stack_route_add(eng.st, &any, 0, gw, eng.ifindex);
	if (err)
		fatal("cannot add the default route: %s", strerror(-err));
}

/* The stack, or (inert) only its view of interfaces and addresses: a
 * client's copy, a few pages instead of the owner's pools. */
static void build_stack(bool inert)
{
	struct stack_config cfg;
	struct stack_link_info li;

	stack_config_default(&cfg);
	if (inert) {
		cfg.pbuf_small = cfg.pbuf_large = 8;
		cfg.max_endpoints = 4;
		cfg.max_timers = 16;
		cfg.frag_budget = 0;
	}
	arc4random_buf(cfg.seed, sizeof(cfg.seed));
	memcpy(cfg.tcp_congestion, eng.cfg.tcp_congestion, sizeof(cfg.tcp_congestion));
	E.arena_size = stack_arena_size(&cfg);
	E.arena = mmap(NULL, E.arena_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (E.arena == MAP_FAILED)
		fatal("cannot map %zu bytes for the stack: %s", E.arena_size, strerror(errno));
	eng.st = stack_create(E.arena, E.arena_size, &cfg, mono_ns());
	if (!eng.st)
		fatal("stack_create failed");
	eng.max_h = cfg.max_endpoints;
	eng.by_h = calloc(eng.max_h, sizeof(*eng.by_h));
	if (!eng.by_h)
		fatal("out of memory");
	memset(&li, 0, sizeof(li));
	li.mtu = eng.cfg.mtu ? eng.cfg.mtu : E.tun.mtu;
	eng.ifindex = stack_if_add(eng.st, STACK_IF_TUN, E.tun.name, &li);
	if (eng.ifindex < 0)
		fatal("stack_if_add: %s", strerror(-eng.ifindex));
	if (eng.cfg.addr4.family)
		add_addr(&eng.cfg.addr4, eng.cfg.prefix4, &eng.cfg.gw4);
	if (eng.cfg.addr6.family)
		add_addr(&eng.cfg.addr6, eng.cfg.prefix6, &eng.cfg.gw6);
}

static void alloc_tables(void)
{
	struct rlimit rl;
	size_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
		rl.rlim_max = 1u << 20;
	n = rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;
	if (n < 1024)
		n = 1024;
	/* untouched pages cost nothing */
	E.fdmap = mmap(NULL, n * sizeof(*E.fdmap), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	E.private_fds = mmap(NULL, n / 8 + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
	if (E.fdmap == MAP_FAILED || E.private_fds == MAP_FAILED)
		fatal("cannot map the descriptor table: %s", strerror(errno));
	E.fdmap_n = n;
	/* Private descriptors live in the upper half of the soft limit, so
	 * the program's own numbers (and select()'s FD_SETSIZE) stay low. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1024;
	E.private_base = (int)(rl.rlim_cur / 2);
	if (E.private_base < 64)
		E.private_base = 64;
	E.scratch = malloc(SCRATCH);
	for (int i = 0; i < BATCH; i++) {
		E.rxbuf[i] = malloc(PKT_BUF);
		E.txbuf[i] = malloc(PKT_BUF);
		if (!E.rxbuf[i] || !E.txbuf[i])
			fatal("out of memory");
	}
	if (!E.scratch)
		fatal("out of memory");
	TAILQ_INIT(&eng.socks);
	TAILQ_INIT(&E.free_socks);
}

static void start_thread(void)
{
	struct epoll_event ev;
	int fd;

	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0 || (E.epfd = eng_private_fd_new(fd)) < 0)
		fatal("epoll_create1: %s", strerror(errno));
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0 || (E.wakefd = eng_private_fd_new(fd)) < 0)
		fatal("eventfd: %s", strerror(errno));
	E.tun.fd = eng_private_fd_new(E.tun.fd);
	if (E.tun.fd < 0)
		fatal("cannot move the TUN descriptor: %s", strerror(-E.tun.fd));
	ev.events = EPOLLIN;
	ev.data.ptr = &E.tun;
	epoll_ctl(E.epfd, EPOLL_CTL_ADD, E.tun.fd, &ev);
	ev.data.ptr = &E.wakefd;
	epoll_ctl(E.epfd, EPOLL_CTL_ADD, E.wakefd, &ev);

	start_stack_thread();
}

/* The stack thread, with every signal blocked (the program's handlers
 * run in its own threads). */
static void start_stack_thread(void)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&E.thread, NULL, stack_thread, NULL) != 0)
		fatal("cannot start the stack thread");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	E.thread_started = true;
}

/* ---- fork and exit -------------------------------------------------------- */

static void atfork_prepare(void)
{
	if (handing_off)
		return; /* hand_off holds the lock */
	sess_client_prefork(true);
	pthread_mutex_lock(&eng.lock);
}

static void atfork_parent(void)
{
	if (handing_off)
		return;
	if (eng.mode == ENG_RUNNING)
		E.forked = true;
	pthread_mutex_unlock(&eng.lock);
	sess_client_prefork(false);
}

/* This process stops owning the stack and becomes a client of the
 * session (a fork child, or an owner that handed the session to a
 * keeper): it drops its copies of the engine's descriptors — a B kept
 * open here would hide the owner's resets and end-of-files from A. */
static void become_client(pid_t owner)
{
	struct shim_sock *s;

	TAILQ_FOREACH(s, &eng.socks, link) {
		if (s->bfd >= 0) {
			private_mark(s->bfd, false);
			real()->close(s->bfd);
			s->bfd = -1;
		}
		if (s->afd_held) { /* a client's A, the owner's to hold */
			private_close(s->afd);
			s->afd = -1;
			s->afd_held = false;
		}
	}
	private_close(E.tun.fd);
	private_close(E.wakefd);
	private_close(E.epfd);
	private_close(E.token_r);
	E.token_r = -1;
	/* their numbers are free now: a private descriptor of the child's
	 * (its session channel) may get one, and eng_private_move must not
	 * take it for these */
	E.tun.fd = E.wakefd = E.epfd = -1;
	if (E.pcap_on)
		private_close(shim_pcap_fd(&E.pcap)); /* the owner's to write */
	E.pcap_on = false;
	eng.mode = ENG_CHILD;
	eng.parent_pid = owner;
	E.refused_warned = false;
}

/* The child has no stack thread: the parent's stack keeps serving the
 * inherited sockets (their data flows through the parent's B ends). */
static void atfork_child(void)
{
	struct shim_sock *s;

	pthread_mutex_init(&eng.lock, NULL);
	/* a reader blocked in the parent held its socket's rlock: the
	 * child's copy must not stay locked */
	TAILQ_FOREACH(s, &eng.socks, link)
		pthread_mutex_init(&s->rlock, NULL);
	TAILQ_FOREACH(s, &E.free_socks, link)
		pthread_mutex_init(&s->rlock, NULL);
	if (handing_off)
		return; /* the keeper: hand_off goes on */
	sess_client_atfork(); /* a child's child asks the owner itself */
	if (eng.mode != ENG_RUNNING)
		return;
	sess_owner_forget();
	become_client(eng.pid);
	eng.pid = getpid();
}

/* fn(fd) for each descriptor open in this process but the engine's own. */
static void each_program_fd(void (*fn)(int fd))
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && fd != dirfd(d) &&
		    !eng_private_fd(fd))
			fn(fd);
	}
	closedir(d);
}

static void close_fd(int fd)
{
	real()->close(fd);
}

/* ---- the keeper: the session outlives its owner ----------------------- */

/* A failed socket's record kept only because another process may still
 * hold its A and ask about it (sock_fail): B is closed, nothing is left
 * to carry.  A process that asks holds a session connection (one per
 * process, kept until it exits), so such a record alone keeps nobody's
 * session alive. */
static bool sock_only_record(const struct shim_sock *s)
{
	return s->state == SS_DEAD && s->bfd < 0;
}

/* Whether a process of the session holds the membership token (the
 * caller closed its own write end, or never had one: the keeper). */
static bool token_elsewhere(void)
{
	struct pollfd p = {.fd = E.token_r, .events = POLLIN};

	return E.token_r >= 0 && !(poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)));
}

/* Whether anyone but the program's own descriptors still uses the
 * session: a client connected, a socket whose A another process holds
 * (B has not hung up), or a process holding the membership token. */
static bool session_shared(void)
{
	struct shim_sock *s;

	if (sess_owner_clients())
		return true;
	TAILQ_FOREACH(s, &eng.socks, link)
		if (!s->a_gone && !s->exit_close && !sock_only_record(s))
			return true;
	return token_elsewhere();
}

/* Keeper: whether a record still has work (bytes to hand to the stack:
 * not a failed socket's leftover record). */
static bool socks_live(void)
{
	struct shim_sock *s;

	TAILQ_FOREACH(s, &eng.socks, link)
		if (!sock_only_record(s))
			return true;
	return false;
}

/* Keeper, under the lock, after each round.  Nobody uses the session
 * (session_shared) from keeper_idle on; then what is left — connections
 * whose processes are gone, with bytes or a FIN to deliver — gets
 * NETSHIM_LINGER ms, as the exit drain gives it, and the rest is reset.
 * The exiting program is told (its pipe closes) once its own sockets are
 * in the stack's hands, and, when nobody else uses the session, all
 * delivered or out of time.  True when the session is over. */
static bool keeper_done(stack_ns_t now)
{
	struct shim_sock *s;
	bool shared = session_shared(), orphans = false, live = socks_live();
	unsigned busy = stack_tcp_busy(eng.st);
	stack_ns_t linger = (stack_ns_t)eng.cfg.linger_ms * STACK_NS_PER_MS;
	bool late;

	TAILQ_FOREACH(s, &eng.socks, link)
		if (s->exit_close && !sock_only_record(s))
			orphans = true;
	if (shared)
		E.keeper_idle = 0;
	else if (!E.keeper_idle)
		E.keeper_idle = now;
	late = E.keeper_idle && now - E.keeper_idle >= linger;
	if (E.keeper_note >= 0 && ((!orphans && (shared || (busy == 0 && !live))) || late)) {
		private_close(E.keeper_note); /* the program may exit now */
		E.keeper_note = -1;
	}
	if (!E.keeper_idle || ((busy || live) && !late))
		return false;
	if (busy) {
		unsigned n = stack_tcp_abort_busy(eng.st);
		shim_log(SHIM_LOG_WARN,
			 "session keeper: %u connection(s) not finished after NETSHIM_LINGER=%u ms: "
			 "reset",
			 n, eng.cfg.linger_ms);
		flush_link();
	}
	if (E.pcap_on)
		shim_pcap_flush(&E.pcap);
	return true;
}

/* The keeper process: it owns the stack from now on.  It keeps only the
 * engine's descriptors (a program descriptor kept here would hold the
 * program's A open), blocks every signal (the program's terminal and
 * process group are not its business) and serves the session until
 * nobody uses it. */
static void keeper_run(int note)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	eng.pid = getpid();
	E.stop = false;
	E.thread_started = false;
	E.draining = false;
	E.keeper_note = note;
	handing_off = false;
	private_close(E.token_w); /* the keeper is no member */
	E.token_w = -1;
	each_program_fd(close_fd);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		if (!eng_private_fd(fd))
			real()->dup2(null, fd);
	if (null > 2)
		real()->close(null);
	pthread_mutex_lock(&eng.lock);
	/* no program number means anything here (zero pages, not touched) */
	madvise(E.fdmap, E.fdmap_n * sizeof(*E.fdmap), MADV_DONTNEED);
	struct shim_sock *s, *tmp;
	TAILQ_FOREACH_SAFE(s, &eng.socks, link, tmp) {
		s->nfds = 0;
		if (!s->afd_held)
			s->afd = -1;
		sock_check_b(s);
	}
	/* B's edge-triggered events the old stack thread took are handled;
	 * look at every B once more all the same */
	TAILQ_FOREACH_SAFE(s, &eng.socks, link, tmp) {
		if (s->bfd < 0)
			continue;
		s->b_in = s->b_out = true;
		sock_pump(s);
	}
	pthread_mutex_unlock(&eng.lock);
	shim_log(SHIM_LOG_INFO, "session keeper: pid %d serves the session", (int)getpid());
	stack_loop(true);
	real()->_exit(0);
	for (;;)
		syscall(SYS_exit_group, 0);
}

/* Hand the session to a keeper process (a fork of this one) before this
 * program execs or exits while others still use the session: the stack
 * thread stops, the keeper goes on with the same stack, descriptors and
 * session listener, and this process becomes one of its clients.  With
 * wait, return only once the keeper has this program's own connections in
 * hand (its note pipe closes).  false when no keeper could be started
 * (the caller goes on as before). */
static bool hand_off(bool wait)
{
	static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;
	int p[2] = {-1, -1};
	pid_t pid;

	pthread_mutex_lock(&one_at_a_time);
	if (eng.mode != ENG_RUNNING) { /* another thread handed it off */
		pthread_mutex_unlock(&one_at_a_time);
		return true;
	}
	if (wait && pipe2(p, O_CLOEXEC) < 0) {
		pthread_mutex_unlock(&one_at_a_time);
		return false;
	}
	pthread_mutex_lock(&eng.lock);
	E.stop = true;
	uint64_t one = 1;
	if (real()->write(E.wakefd, &one, sizeof(one)) < 0) {
		/* the counter is full: the thread is awake anyway */
	}
	pthread_mutex_unlock(&eng.lock);
	pthread_join(E.thread, NULL);
	E.thread_started = false;
	pthread_mutex_lock(&eng.lock);
	if (E.pcap_on)
		shim_pcap_flush(&E.pcap); /* not written twice */
	if (p[1] >= 0) {
		int w = eng_private_fd_new(p[1]);
		p[1] = w < 0 ? -1 : w;
	}
	/* Twice: the keeper is nobody's child (init or a subreaper adopts
	 * it), so a program that waits for all its children does not wait
	 * for it. */
	handing_off = true;
	pid = fork();
	if (pid == 0) {
		pid_t k = fork();
		if (k == 0)
			keeper_run(p[1]); /* does not return */
		real()->_exit(k < 0 ? 1 : 0);
	}
	handing_off = false;
	if (p[1] >= 0)
		private_close(p[1]);
	int st = 0, r = -1;
	if (pid > 0)
		while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
			;
	/* ECHILD: the program's own SIGCHLD handler reaped it first; the
	 * middle process fails only when it could not fork */
	bool started = pid > 0 && (r < 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
	if (!started) {
		/* no keeper: this process stays the owner */
		E.stop = false;
		pthread_mutex_unlock(&eng.lock);
		if (p[0] >= 0)
			real()->close(p[0]);
		start_stack_thread();
		pthread_mutex_unlock(&one_at_a_time);
		return false;
	}
	sess_owner_forget();
	become_client(eng.parent_pid ? eng.parent_pid : eng.pid);
	pthread_mutex_unlock(&eng.lock);
	pthread_mutex_unlock(&one_at_a_time);
	shim_log(SHIM_LOG_INFO, "handed the session to a keeper");
	if (p[0] >= 0) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		char c;
		/* bounded: the keeper closes it by the linger time at the latest */
		if (poll(&pf, 1, (int)eng.cfg.linger_ms + 2000) == 1 &&
		    real()->read(p[0], &c, 1) < 0) {
			/* closed or not, the program goes on exiting */
		}
		real()->close(p[0]);
	}
	return true;
}

/* Whether this process has a child (of any thread): a fork, vfork,
 * posix_spawn, system or popen child that may join the session. */
static bool has_children(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	bool any = false;

	if (!d)
		return true; /* cannot tell: assume so */
	while (!any && (de = readdir(d))) {
		char path[64], c;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/children", atoi(de->d_name));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			any = true; /* no CONFIG_PROC_CHILDREN: assume so */
			break;
		}
		any = real()->read(fd, &c, 1) == 1;
		real()->close(fd);
	}
	closedir(d);
	return any;
}

void eng_before_exec(void)
{
	/* not in a vfork child (shared memory), nor when nothing would
	 * outlive the old image */
	if (eng.mode != ENG_RUNNING || getpid() != eng.pid || !E.thread_started ||
	    (TAILQ_EMPTY(&eng.socks) && !sess_owner_clients() && !E.forked && !has_children()))
		return;
	hand_off(false);
}

/* At exit, when other processes may hold the session's sockets: close
 * the program's own numbers of its sockets, as the exit will, so that B
 * tells which sockets are still held elsewhere; those only this process
 * held become the exit's to finish (exit_close).  Whether the session is
 * still shared then.  Under the lock. */
static bool exit_shared(void)
{
	struct shim_sock *s, *tmp;

	private_close(E.token_w);
	E.token_w = -1;
	for (size_t i = 0; i < E.fdmap_n; i++) {
		s = E.fdmap[i];
		if (!s)
			continue;
		real()->close((int)i);
		__atomic_store_n(&E.fdmap[i], NULL, __ATOMIC_RELEASE);
		s->nfds--;
		if (s->afd == (int)i && !s->afd_held)
			s->afd = -1;
	}
	TAILQ_FOREACH_SAFE(s, &eng.socks, link, tmp) {
		if (s->nfds == 0 && (s->state == SS_DEAD || s->bfd < 0)) {
			sock_release(s);
			continue;
		}
		sock_check_b(s);
	}
	TAILQ_FOREACH(s, &eng.socks, link)
		if (s->a_gone)
			s->exit_close = true;
	return session_shared();
}

/* Before the process ends: hand what the program wrote to the stack,
 * close its connections as the kernel would at exit, and keep the stack
 * running until every byte and FIN is acknowledged, or the linger time
 * (NETSHIM_LINGER) is over. */
static void drain_at_exit(void)
{
	struct shim_sock *s, *tmp;
	stack_ns_t end;

	if (eng.mode != ENG_RUNNING || getpid() != eng.pid || !E.thread_started)
		return;
	fflush(NULL); /* stdio on a socket: its bytes belong to the stream */
	pthread_mutex_lock(&eng.lock);
	if (E.draining) {
		pthread_mutex_unlock(&eng.lock);
		return;
	}
	E.draining = true;
	/* this process leaves: does another hold the session's token? */
	private_close(E.token_w);
	E.token_w = -1;
	if ((E.forked || sess_owner_clients() || token_elsewhere()) && exit_shared()) {
		/* others use the session: a keeper finishes ours and serves
		 * theirs (README "Processes") */
		pthread_mutex_unlock(&eng.lock);
		if (hand_off(true))
			return;
		pthread_mutex_lock(&eng.lock); /* no keeper: drain here */
	}
	end = mono_ns() + (stack_ns_t)eng.cfg.linger_ms * STACK_NS_PER_MS;
	TAILQ_FOREACH(s, &eng.socks, link)
		s->exit_close = true;
	for (;;) {
		bool pending = false;

		TAILQ_FOREACH_SAFE(s, &eng.socks, link, tmp) {
			if (s->type != SOCK_STREAM || s->state != SS_OPEN) {
				sock_release(s);
				continue;
			}
			s->b_in = true;
			tcp_pump_tx(s);
			if (s->state != SS_OPEN || s->txlen > s->txoff) {
				pending = s->state == SS_OPEN;
				if (!pending)
					sock_release(s);
				continue;
			}
			int unread = 0;
			if (afd_valid(s))
				real()->ioctl(s->afd, FIONREAD, &unread);
			if (unread > 0 || s->a_abort || s->rxlen > s->rxoff) {
				struct { int on, secs; } lg = {1, 0};
				stack_ep_setopt(eng.st, s->h, STACK_SOL_SOCKET, STACK_SO_LINGER, &lg,
						sizeof(lg));
			}
			sock_release(s);
		}
		flush_link();
		if (!pending && stack_tcp_busy(eng.st) == 0)
			break;
		if (mono_ns() >= end) {
			/* out of time: tell the peers rather than leave them
			 * waiting on a half-open connection */
			unsigned n = stack_tcp_abort_busy(eng.st);
			if (n)
				shim_log(SHIM_LOG_WARN,
					 "exit: %u connection(s) not finished after "
					 "NETSHIM_LINGER=%u ms: reset",
					 n, eng.cfg.linger_ms);
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&E.tx_cond, &eng.lock, &ts);
	}
	flush_link();
	if (E.pcap_on)
		shim_pcap_flush(&E.pcap);
	pthread_mutex_unlock(&eng.lock);
}

__attribute__((destructor)) static void netshim_fini(void)
{
	drain_at_exit();
}

void _exit(int status)
{
	drain_at_exit();
	real()->_exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

void _Exit(int status)
{
	drain_at_exit();
	real()->_exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

/* ---- the configuration's view for other families ----------------------- */

const struct shim_config *shim_cfg(void)
{
	return &eng.cfg;
}

bool shim_network_ok(void)
{
	return eng.mode == ENG_RUNNING;
}

int shim_if_list(struct stack_if_info *out, int max)
{
	int n;

	if (eng.mode != ENG_RUNNING && eng.mode != ENG_CHILD)
		return 0;
	pthread_mutex_lock(&eng.lock);
	n = stack_if_list(eng.st, out, max);
	pthread_mutex_unlock(&eng.lock);
	return n;
}

bool shim_has_addr(int family)
{
	if (eng.mode != ENG_RUNNING)
		return false;
	return family == AF_INET ? eng.cfg.addr4.family != 0 : eng.cfg.addr6.family != 0;
}

void eng_refused_warning(void)
{
	bool first;

	pthread_mutex_lock(&eng.lock);
	first = !E.refused_warned;
	E.refused_warned = true;
	pthread_mutex_unlock(&eng.lock);
	if (first)
		shim_say("pid %d has no network: its ancestor (pid %s) holds %s, and its "
			 "session (NETSHIM_SESSION) could not be reached (README "
			 "\"Processes\")",
			 (int)getpid(), getenv("NETSHIM_HOLDER") ? getenv("NETSHIM_HOLDER") : "?",
			 eng.cfg.tun[0] ? eng.cfg.tun : "the device");
}

/* The membership token's write end this process inherited, or -1:
 * NETSHIM_MEMBER_FD is "NUMBER:INODE", and the pipe at that number must
 * be that one (a program's own pipe may have the number now). */
static int token_inherited(void)
{
	const char *v = getenv("NETSHIM_MEMBER_FD");
	unsigned long ino;
	struct stat sb;
	int fd;

	if (!v || sscanf(v, "%d:%lu", &fd, &ino) != 2 || fd <= 2 || fstat(fd, &sb) < 0 ||
	    !S_ISFIFO(sb.st_mode) || sb.st_ino != (ino_t)ino)
		return -1;
	return fd;
}

/* A client keeps the token it inherited, as one of the engine's own. */
static void token_adopt(void)
{
	E.token_w = token_inherited();
	private_mark(E.token_w, true);
}

/* The owner: a new token (one of an earlier session, inherited across
 * exec, goes). */
static void token_open(void)
{
	int p[2], old = token_inherited();

	if (old >= 0)
		real()->close(old);
	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe2: %s", strerror(errno));
	E.token_r = eng_private_fd_new(p[0]);
	E.token_w = eng_private_fd_new(p[1]);
	if (E.token_r < 0 || E.token_w < 0)
		fatal("cannot place the session's token: %s", strerror(ENFILE));
	real()->fcntl(E.token_w, F_SETFD, 0); /* inherited across exec */
	token_export();
}

/* A program exec'd in a session (NETSHIM_SESSION names a live owner)
 * joins it as a client rather than opening the device: its calls go to
 * the owner, as a fork child's do.  Its stack is an inert copy built from
 * the same configuration, for the interface views (getifaddrs, SIOCGIF*). */
static bool join_session(void)
{
	const char *holder = getenv("NETSHIM_HOLDER"), *name = getenv("NETSHIM_SESSION");

	if (!name || !*name || !holder || !*holder || !eng.cfg.tun[0] || sess_client_join())
		return false;
	eng.mode = ENG_CHILD;
	eng.parent_pid = (pid_t)atoi(holder);
	strlcpy(E.tun.name, eng.cfg.tun, sizeof(E.tun.name));
	E.tun.mtu = eng.cfg.mtu ? eng.cfg.mtu : 1500;
	E.tun.fd = -1;
	token_adopt();
	build_stack(true);
	/* the sockets it inherited: the session's become netshim sockets */
	each_program_fd(sock_child_adopt);
	return true;
}

__attribute__((constructor)) static void netshim_init(void)
{
	char err[SHIM_ERRLEN], pid[32];
	int e;

	real();
	if (shim_config_load(&eng.cfg, err, sizeof(err)) < 0)
		fatal("%s", err);
	shim_log_init(eng.cfg.log_level, eng.cfg.log_file[0] ? eng.cfg.log_file : NULL);
	eng.pid = getpid();
	alloc_tables();
	if (shim_log_fd() >= 0)
		private_mark(shim_log_fd(), true);
	eng_internal++;
	if (join_session()) {
		eng_internal--;
		pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
		shim_exec_capture();
		shim_log(SHIM_LOG_INFO, "joined the session of pid %d", (int)eng.parent_pid);
		return;
	}
	open_device();
	eng_internal--;
	if (eng.mode == ENG_REFUSED) {
		shim_exec_capture();
		return;
	}
	if (eng.cfg.pcap[0]) {
		if (shim_pcap_open(&E.pcap, eng.cfg.pcap, err, sizeof(err)) < 0)
			fatal("%s", err);
		E.pcap_on = true;
		private_mark(shim_pcap_fd(&E.pcap), true);
	}
	build_stack(false);
	start_thread();
	if ((e = sess_owner_start(E.epfd)) < 0)
		fatal("cannot open the session's control socket: %s", strerror(-e));
	token_open();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	eng.mode = ENG_RUNNING;
	/* Descendants attach to this device by name and learn that it is
	 * held by their ancestor (README "Processes"). */
	strlcpy(eng.cfg.tun, E.tun.name, sizeof(eng.cfg.tun));
	setenv("NETSHIM_TUN", E.tun.name, 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("NETSHIM_HOLDER", pid, 1);
	snprintf(pid, sizeof(pid), "%u", (unsigned)E.tun.mtu);
	setenv("NETSHIM_MTU", pid, 1);
	shim_exec_capture();
	shim_log(SHIM_LOG_INFO, "stack on %s (mtu %u)", E.tun.name, E.tun.mtu);
}
