/*
 * fd.c — the descriptor family of hooks: close, dup*, fcntl, ioctl,
 * close_range, closefrom.  They keep the engine's map of program
 * descriptors to netshim sockets true, keep the engine's own descriptors
 * out of the program's reach, and answer the socket ioctls (engine.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine.h"
#include "real.h"
#include "sock.h"

static int fail(int e)
{
	errno = e;
	return -1;
}

int shim_close(int fd)
{
	if (eng_private_fd(fd))
		return fail(EBADF); /* not the program's to close */
	struct shim_sock *s = sock_of(fd);
	int r;

	if (!s)
		return real()->close(fd);
	eng_lock();
	sock_unmap(fd);
	r = real()->close(fd);
	if (s->nfds == 0)
		sock_check_b(s);
	eng_unlock();
	return r;
}

int close(int fd)
{
	return shim_close(fd);
}

/* After the kernel gave newfd the file of oldfd. */
static void map_dup(int oldfd, int newfd)
{
	struct shim_sock *s = sock_of(oldfd);

	struct shim_sock *old = sock_of(newfd);

	if (!s && !old)
		return;
	eng_lock();
	if (old) {
		sock_unmap(newfd);
		if (old->nfds == 0)
			sock_check_b(old);
	}
	if (s)
		sock_map(newfd, s);
	eng_unlock();
}

int dup(int fd)
{
	int nfd;

	if (eng_private_fd(fd))
		return fail(EBADF);
	nfd = real()->dup(fd);
	if (nfd >= 0)
		map_dup(fd, nfd);
	return nfd;
}

static int make_room(int newfd)
{
	int r = 0;

	if (eng_private_fd(newfd)) {
		eng_lock();
		r = eng_private_move(newfd);
		eng_unlock();
	}
	return r < 0 ? r : 0;
}

int dup2(int oldfd, int newfd)
{
	int r;

	if (eng_private_fd(oldfd))
		return fail(EBADF);
	if (oldfd == newfd)
		return real()->dup2(oldfd, newfd);
	if ((r = make_room(newfd)) < 0)
		return fail(-r);
	r = real()->dup2(oldfd, newfd);
	if (r >= 0)
		map_dup(oldfd, newfd);
	return r;
}

int dup3(int oldfd, int newfd, int flags)
{
	int r;

	if (eng_private_fd(oldfd))
		return fail(EBADF);
	if (oldfd != newfd && (r = make_room(newfd)) < 0)
		return fail(-r);
	r = real()->dup3(oldfd, newfd, flags);
	if (r >= 0)
		map_dup(oldfd, newfd);
	return r;
}

static int do_fcntl(int fd, int cmd, void *arg, bool is64)
{
	int r;

	if (eng_private_fd(fd))
		return fail(EBADF);
	r = is64 ? real()->fcntl64(fd, cmd, arg) : real()->fcntl(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		map_dup(fd, r);
	return r;
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg, false);
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg, true);
}

/* Bytes readable on a TCP socket: in A's queue, held by the engine and in
 * the stack. */
static int tcp_inq(int fd, struct shim_sock *s, int *out)
{
	int a = 0, r;

	if (real()->ioctl(fd, FIONREAD, &a) < 0)
		a = 0;
	eng_lock();
	if (s->state == SS_LISTEN) {
		eng_unlock();
		return -EINVAL;
	}
	if (eng.mode != ENG_RUNNING) {
		/* a client: what A holds (the owner's stack is elsewhere; a
		 * fork child's copy of it is stale) */
		eng_unlock();
		*out = a;
		return 0;
	}
	r = s->h >= 0 && s->state == SS_OPEN ? stack_ep_pending(eng.st, s->h) : 0;
	if (r < 0)
		r = 0;
	r += a + (int)(s->rxlen - s->rxoff);
	eng_unlock();
	*out = r;
	return 0;
}

/* Bytes written but not yet acknowledged (SIOCOUTQ). */
static int tcp_outq(int fd, struct shim_sock *s, int *out)
{
	int b = 0, r;

	eng_lock();
	if (s->state == SS_LISTEN) {
		eng_unlock();
		return -EINVAL;
	}
	if (eng.mode != ENG_RUNNING) {
		/* a client: what A has not handed to B yet (the owner's
		 * stack is elsewhere), less the stuffing */
		eng_unlock();
		if (real()->ioctl(fd, SIOCOUTQ, &b) < 0)
			b = 0;
		b -= (int)s->stuffed;
		*out = b < 0 ? 0 : b;
		return 0;
	}
	if (s->bfd >= 0 && real()->ioctl(s->bfd, FIONREAD, &b) < 0)
		b = 0;
	b -= (int)s->stuffed;
	if (b < 0)
		b = 0;
	r = s->h >= 0 && s->state == SS_OPEN ? stack_ep_unsent(eng.st, s->h) : 0;
	if (r < 0)
		r = 0;
	r += b + (int)(s->txlen - s->txoff);
	eng_unlock();
	*out = r;
	return 0;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	struct shim_sock *s;
	int v, r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (eng_private_fd(fd))
		return fail(EBADF);
	s = sock_of(fd);
	if (!s)
		return real()->ioctl(fd, req, arg);
	switch (req) {
	case FIONREAD: /* = SIOCINQ */
		if (s->type == SOCK_DGRAM && s->framed) {
			/* the head datagram's own header says (an error
			 * marker: 0) */
			struct dgram_frame f;
			ssize_t n = real()->recv(fd, &f, sizeof(f), MSG_PEEK | MSG_DONTWAIT);
			v = n == (ssize_t)sizeof(f) && f.m.err == 0 ? (int)f.m.len : 0;
			r = 0;
			break;
		}
		if (s->type == SOCK_DGRAM) {
			/* the next datagram's size, as udp_ioctl (A, a
			 * SEQPACKET socket, would sum them all) */
			eng_lock();
			v = 0;
			for (unsigned i = 0; i < s->qlen; i++) {
				struct dgram_meta *m = &s->q[(s->qhead + i) % s->qcap];
				if (m->err == 0) {
					v = (int)m->len;
					break;
				}
			}
			eng_unlock();
			r = 0;
			break;
		}
		r = tcp_inq(fd, s, &v);
		break;
	case SIOCOUTQ:
		if (s->type == SOCK_DGRAM) {
			v = 0;
			r = 0;
			break;
		}
		r = tcp_outq(fd, s, &v);
		break;
	case SIOCATMARK:
		v = 0;
		r = 0;
		break;
	default:
		/* SIOCGIF*: the interfaces are the stack's (ifaces.c) —
		 * hook point for issue 6 */
		if (shim_if_ioctl_handles(req))
			return shim_if_ioctl(fd, req, arg);
		/* FIONBIO, FIOCLEX, ...: the descriptor's business */
		return real()->ioctl(fd, req, arg);
	}
	if (r < 0)
		return fail(-r);
	if (!arg)
		return fail(EFAULT);
	*(int *)arg = v;
	return 0;
}

/* Close [first, last] but the engine's own descriptors. */
int close_range(unsigned int first, unsigned int last, int flags)
{
	unsigned lo = first;

	if (first > last)
		return fail(EINVAL);
	if (!(flags & CLOSE_RANGE_CLOEXEC)) {
		eng_lock();
		for (unsigned fd = first; fd <= last && fd < (unsigned)INT_MAX; fd++) {
			if (!sock_of((int)fd)) {
				if (fd > first + (1u << 20))
					break; /* beyond any table */
				continue;
			}
			sock_unmap((int)fd);
		}
		eng_unlock();
	}
	for (unsigned fd = first; fd <= last && fd < (unsigned)INT_MAX; fd++) {
		if (!eng_private_fd((int)fd)) {
			if (fd > first + (1u << 20))
				break;
			continue;
		}
		if (fd > lo && real()->close_range(lo, fd - 1, flags) < 0)
			return -1;
		lo = fd + 1;
	}
	if (lo <= last && lo >= first && real()->close_range(lo, last, flags) < 0)
		return -1;
	if (!(flags & CLOSE_RANGE_CLOEXEC)) {
		eng_lock();
		eng_check_unmapped();
		eng_unlock();
	}
	return 0;
}

void closefrom(int lowfd)
{
	if (lowfd < 0)
		lowfd = 0;
	close_range((unsigned)lowfd, ~0u, 0);
}
