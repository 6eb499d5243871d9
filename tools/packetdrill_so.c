/*
 * packetdrill_so.c — build/netshim-packetdrill.so: the stack behind
 * packetdrill's --so_filename interface (packetdrill_so.h).
 *
 * packetdrill (or tests/packetdrill/pdrive.c) -> these calls -> stack.h.
 * One stack per instance, on one in-memory interface "pd0" that owns the
 * local address(es) of --so_flags and routes everything else on-link, so
 * every packet the stack sends leaves through netdev_receive and every
 * packet packetdrill injects comes in through netdev_send.
 *
 * Time is virtual (nanoseconds in pd->now): usleep advances it, every
 * gettimeofday moves it one tick forward, netdev_receive advances it from
 * stack deadline to stack deadline until a packet leaves (or a bound
 * passes).  Whenever time moves the due timers run at their own deadline,
 * and the packets they send are stamped with that time.
 *
 * Blocking: packetdrill makes blocking calls from a second thread and
 * checks that the thread sleeps.  One mutex guards the stack; a blocked
 * call waits on a condition variable (`wake`, never holding the mutex) and
 * is woken when readiness changes or its virtual deadline passes.  The
 * thread that moved time or injected the packet then waits (on `idle`)
 * until each woken caller has run again, so a call unblocked at virtual
 * time T completes at T, before time moves on.
 *
 * Descriptors: every socket owns a real kernel descriptor (an eventfd),
 * so packetdrill can close leftovers with the real close(2); a table maps
 * descriptor -> stack handle.  O_NONBLOCK, SO_RCVTIMEO and SO_SNDTIMEO
 * live here, not in the stack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <time.h>

#include "packetdrill_so.h"
#include "stack.h"

#define PD_EXPORT __attribute__((visibility("default")))

#define PD_MAX_FDS 4096
#define PD_NS_PER_US 1000ull
/* Virtual time starts here (not zero: catches "0 means unset"). */
#define PD_EPOCH_NS (1000000ull * STACK_NS_PER_S)
/* How long (real time) a thread that moved time waits for the callers
 * it woke to run again before it carries on anyway. */
#define PD_ACK_WAIT_MS 2000
/* ... and for a caller that was woken to read the clock (see pay_clock). */
#define PD_CLOCK_WAIT_MS 1000
/* netdev_receive with nothing scheduled: how long (real time) it waits
 * for another thread's call to send something before it gives up. */
#define PD_IDLE_WAIT_MS 20

struct pd_pkt {
	struct pd_pkt *next;
	stack_ns_t t; /* virtual time it left the stack */
	size_t len;
	uint8_t data[];
};

struct pd_sock {
	bool used;
	bool nonblock;
	int h;		      /* stack handle */
	int family, type;
	stack_ns_t rcvtimeo;  /* 0 = none */
	stack_ns_t sndtimeo;
};

struct pd {
	pthread_mutex_t mu;
	pthread_cond_t wake; /* readiness changed or a deadline passed */
	pthread_cond_t idle; /* every woken caller has run again */
	pthread_cond_t out;  /* a packet was queued for netdev_receive */

	void *arena;
	struct stack *st;
	int ifindex;
	stack_ns_t now;

	/* blocked callers */
	unsigned waiters;
	unsigned unacked;	  /* woken, not yet run again */
	uint64_t gen;		  /* bumped at every wake-up */
	unsigned clock_debts;	  /* woken callers yet to read the clock */
	stack_ns_t wait_deadline; /* earliest virtual deadline of a waiter */

	/* packets the stack sent, oldest first */
	struct pd_pkt *q_head, **q_tail;
	uint8_t *scratch; /* link buffer, mtu bytes */

	/* configuration (--so_flags) */
	uint32_t mtu;
	stack_ns_t tick_ns;	    /* gettimeofday step */
	stack_ns_t max_wait_ns; /* netdev_receive bound */

	struct pd_sock fds[PD_MAX_FDS];
};

/* ---- time, packets and wake-ups (mutex held) ------------------------- */

/* A call that blocked and was woken returns to packetdrill, which reads
 * the clock at once (end_syscall) to check when the call returned; the
 * thread that woken it must not move time on before that read, or the call
 * would seem to return late.  So such a caller "owes" a clock read, and
 * settling waits for it (bounded, for callers that never read it). */
static __thread struct pd *tls_debt;

static void owe_clock(struct pd *pd)
{
	if (tls_debt != pd) {
		tls_debt = pd;
		pd->clock_debts++;
	}
}

static void pay_clock(struct pd *pd)
{
	if (tls_debt == pd) {
		tls_debt = NULL;
		if (pd->clock_debts > 0)
			pd->clock_debts--;
		pthread_cond_broadcast(&pd->idle);
	}
}

static void collect(struct pd *pd)
{
	for (;;) {
		struct stack_pkt sp = {.data = pd->scratch, .cap = pd->mtu};
		struct pd_pkt *p;

		if (stack_link_pull(pd->st, pd->ifindex, &sp, 1) != 1)
			break;
		p = malloc(sizeof(*p) + sp.len);
		if (!p)
			continue; /* lost, as on a full link */
		p->next = NULL;
		p->t = pd->now;
		p->len = sp.len;
		memcpy(p->data, pd->scratch, sp.len);
		*pd->q_tail = p;
		pd->q_tail = &p->next;
		pthread_cond_broadcast(&pd->out);
	}
}

static void abs_real_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Collect what the stack sent and wake blocked callers whose sockets
 * changed or whose deadline passed.  With settle, wait until each of them
 * has run again (they take the mutex while we wait on `idle`). */
static void notify(struct pd *pd, bool settle)
{
	int hs[64];
	int n = 0, k;

	collect(pd);
	while ((k = stack_ep_changed(pd->st, hs, 64)) > 0)
		n += k;
	if (pd->waiters == 0)
		return;
	if (n == 0 && pd->wait_deadline > pd->now)
		return;
	pd->gen++;
	pd->unacked = pd->waiters;
	pd->wait_deadline = STACK_NS_NEVER;
	pthread_cond_broadcast(&pd->wake);
	if (!settle)
		return;
	while (pd->unacked > 0) {
		struct timespec ts;

		abs_real_deadline(&ts, PD_ACK_WAIT_MS);
		if (pthread_cond_timedwait(&pd->idle, &pd->mu, &ts) == ETIMEDOUT) {
			pd->unacked = 0;
			break;
		}
	}
	while (pd->clock_debts > 0) {
		struct timespec ts;

		abs_real_deadline(&ts, PD_CLOCK_WAIT_MS);
		if (pthread_cond_timedwait(&pd->idle, &pd->mu, &ts) == ETIMEDOUT) {
			pd->clock_debts = 0;
			break;
		}
	}
}

/* Move virtual time to `target`, running every timer at its deadline. */
static void advance_to(struct pd *pd, stack_ns_t target)
{
	unsigned stuck = 0;

	for (;;) {
		stack_ns_t dl = stack_next_deadline(pd->st);

		/* a blocked call's timeout is a deadline too */
		if (pd->waiters > 0 && pd->wait_deadline < dl)
			dl = pd->wait_deadline;
		if (dl == STACK_NS_NEVER || dl > target)
			break;
		/* a timer that keeps re-arming at `now` must not hang us */
		if (dl <= pd->now && ++stuck > 1000)
			break;
		if (dl > pd->now)
			pd->now = dl;
		stack_poll(pd->st, pd->now);
		notify(pd, true);
	}
	if (target > pd->now)
		pd->now = target;
	stack_poll(pd->st, pd->now);
	notify(pd, true);
}

/* A blocked caller: wait for a wake-up or for virtual time to reach
 * deadline.  Returns -ETIMEDOUT when the deadline has passed. */
static int wait_change(struct pd *pd, stack_ns_t deadline)
{
	uint64_t g = pd->gen;

	pay_clock(pd); /* waiting again: no longer returning */
	if (deadline != STACK_NS_NEVER && pd->now >= deadline) {
		owe_clock(pd);
		return -ETIMEDOUT;
	}
	pd->waiters++;
	if (deadline < pd->wait_deadline)
		pd->wait_deadline = deadline;
	while (pd->gen == g)
		pthread_cond_wait(&pd->wake, &pd->mu);
	pd->waiters--;
	if (pd->unacked > 0 && --pd->unacked == 0)
		pthread_cond_broadcast(&pd->idle);
	owe_clock(pd);
	return 0;
}

/* ---- errors, descriptors, addresses ----------------------------------- */

static int fail(int err)
{
	errno = err;
	return -1;
}

/* A stack return: negative errno -> -1 with errno set. */
static long ret(long rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

static struct pd_sock *sock_of(struct pd *pd, int fd)
{
	if (fd < 0 || fd >= PD_MAX_FDS || !pd->fds[fd].used)
		return NULL;
	return &pd->fds[fd];
}

/* A real kernel descriptor for stack handle h: the descriptor, or -errno. */
static int fd_new(struct pd *pd, int h, int family, int type, bool nonblock)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	struct pd_sock *s;

	if (fd < 0)
		return -errno;
	if (fd >= PD_MAX_FDS) {
		close(fd);
		return -EMFILE;
	}
	s = &pd->fds[fd];
	/* the number was ours before and packetdrill closed it with the
	 * real close(2): that socket is gone */
	if (s->used)
		stack_ep_close(pd->st, s->h);
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->h = h;
	s->family = family;
	s->type = type;
	s->nonblock = nonblock;
	return fd;
}

static int sa_in(const struct sockaddr *sa, socklen_t len, struct stack_sockaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (!sa || len < sizeof(sa_family_t))
		return -EINVAL;
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		if (len < sizeof(*s4))
			return -EINVAL;
		a->family = STACK_AF_INET;
		a->port = ntohs(s4->sin_port);
		memcpy(a->addr, &s4->sin_addr, 4);
		return 0;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (len < sizeof(*s6))
			return -EINVAL;
		a->family = STACK_AF_INET6;
		a->port = ntohs(s6->sin6_port);
		a->scope_id = s6->sin6_scope_id;
		memcpy(a->addr, &s6->sin6_addr, 16);
		return 0;
	}
	case AF_UNSPEC:
		a->family = STACK_AF_UNSPEC;
		return 0;
	default:
		return -EAFNOSUPPORT;
	}
}

/* Write a into sa (cut to *len, as the kernel does); *len = full size. */
static void sa_out(const struct stack_sockaddr *a, struct sockaddr *sa, socklen_t *len)
{
	struct sockaddr_storage ss;
	socklen_t full;

	if (!sa || !len)
		return;
	memset(&ss, 0, sizeof(ss));
	if (a->family == STACK_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		s6->sin6_scope_id = a->scope_id;
		memcpy(&s6->sin6_addr, a->addr, 16);
		full = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->addr, 4);
		full = sizeof(*s4);
	}
	memcpy(sa, &ss, *len < full ? *len : full);
	*len = full;
}

/* Virtual deadline of a blocking call with timeout t (0 = none). */
static stack_ns_t deadline_of(struct pd *pd, stack_ns_t t)
{
	return t ? pd->now + t : STACK_NS_NEVER;
}

/* ---- socket calls ------------------------------------------------------ */

static int pd_socket(void *ud, int domain, int type, int protocol)
{
	struct pd *pd = ud;
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int h, fd;

	if (domain != AF_INET && domain != AF_INET6)
		return fail(EAFNOSUPPORT);
	pthread_mutex_lock(&pd->mu);
	h = stack_ep_open(pd->st, domain, base, protocol);
	if (h < 0) {
		pthread_mutex_unlock(&pd->mu);
		return fail(-h);
	}
	fd = fd_new(pd, h, domain, base, (type & SOCK_NONBLOCK) != 0);
	if (fd < 0)
		stack_ep_close(pd->st, h);
	pthread_mutex_unlock(&pd->mu);
	return (int)ret(fd);
}

static int pd_bind(void *ud, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct pd *pd = ud;
	struct stack_sockaddr a;
	struct pd_sock *s;
	int rc;

	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	rc = !s ? -EBADF : sa_in(addr, len, &a);
	if (rc == 0)
		rc = stack_ep_bind(pd->st, s->h, &a);
	pthread_mutex_unlock(&pd->mu);
	return (int)ret(rc);
}

static int pd_listen(void *ud, int fd, int backlog)
{
	struct pd *pd = ud;
	struct pd_sock *s;
	int rc;

	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	rc = s ? stack_ep_listen(pd->st, s->h, backlog) : -EBADF;
	notify(pd, false);
	pthread_mutex_unlock(&pd->mu);
	return (int)ret(rc);
}

static int pd_accept(void *ud, int fd, struct sockaddr *addr, socklen_t *len)
{
	struct pd *pd = ud;
	struct stack_sockaddr peer;
	struct pd_sock *s;
	stack_ns_t dl;
	int rc;

	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	dl = s ? deadline_of(pd, s->rcvtimeo) : 0;
	for (;;) {
		if (!s) {
			rc = -EBADF;
			break;
		}
		rc = stack_ep_accept(pd->st, s->h, &peer);
		if (rc != -EAGAIN || s->nonblock)
			break;
		if (wait_change(pd, dl) == -ETIMEDOUT)
			break;
		s = sock_of(pd, fd); /* closed meanwhile? */
	}
	if (rc >= 0) {
		int h = rc;

		rc = fd_new(pd, h, s->family, s->type, false);
		if (rc < 0)
			stack_ep_close(pd->st, h);
		else
			sa_out(&peer, addr, len);
	}
	notify(pd, false);
	pthread_mutex_unlock(&pd->mu);
	return (int)ret(rc);
}

static int pd_connect(void *ud, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct pd *pd = ud;
	struct stack_sockaddr a;
	struct pd_sock *s;
	stack_ns_t dl;
	int rc;

	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	rc = !s ? -EBADF : sa_in(addr, len, &a);
	if (rc == 0)
		rc = stack_ep_connect(pd->st, s->h, &a);
	notify(pd, false);
	if (rc == -EINPROGRESS && !s->nonblock) {
		/* connect(2) on a blocking socket: until the handshake ends,
		 * then SO_ERROR says how (inet_wait_for_connect) */
		dl = deadline_of(pd, s->sndtimeo);
		for (;;) {
			unsigned ev = stack_ep_events(pd->st, s->h);

			if (ev & (STACK_EV_OUT | STACK_EV_ERR | STACK_EV_HUP)) {
				int err = 0;
				size_t n = sizeof(err);

				stack_ep_getopt(pd->st, s->h, STACK_SOL_SOCKET, STACK_SO_ERROR,
						&err, &n);
				rc = -err;
				break;
			}
			if (wait_change(pd, dl) == -ETIMEDOUT)
				break; /* EINPROGRESS, as Linux on SO_SNDTIMEO */
			if (!(s = sock_of(pd, fd))) {
				rc = -EBADF;
				break;
			}
		}
	}
	pthread_mutex_unlock(&pd->mu);
	return (int)ret(rc);
}

/* recvmsg-like core of every receive call. */
static ssize_t do_recv(struct pd *pd, int fd, const struct iovec *iov, int iovcnt, int flags,
		       struct stack_sockaddr *from, int *msg_flags)
{
	struct pd_sock *s;
	stack_ns_t dl;
	ssize_t rc;

	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	dl = s ? deadline_of(pd, s->rcvtimeo) : 0;
	for (;;) {
		if (!s) {
			rc = -EBADF;
			break;
		}
		rc = stack_ep_recvfrom(pd->st, s->h, iov, iovcnt, flags & ~STACK_MSG_DONTWAIT,
				       from, msg_flags);
		if (rc != -EAGAIN || s->nonblock || (flags & STACK_MSG_DONTWAIT))
			break;
		if (wait_change(pd, dl) == -ETIMEDOUT)
			break;
		s = sock_of(pd, fd);
	}
	notify(pd, false); /* reading may open the window: a window update */
	pthread_mutex_unlock(&pd->mu);
	return rc;
}

/* sendmsg-like core: a blocking socket sends everything (tcp_sendmsg
 * waits for room), unless an error or SO_SNDTIMEO cuts it short. */
static ssize_t do_send(struct pd *pd, int fd, const struct iovec *iov0, int iovcnt, int flags,
		       const struct stack_sockaddr *to)
{
	struct iovec iov[UIO_MAXIOV];
	struct pd_sock *s;
	stack_ns_t dl;
	ssize_t done = 0, rc = 0;
	int first = 0;

	if (iovcnt < 0 || iovcnt > UIO_MAXIOV)
		return -EINVAL;
	memcpy(iov, iov0, sizeof(*iov) * (size_t)iovcnt);
	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	dl = s ? deadline_of(pd, s->sndtimeo) : 0;
	for (;;) {
		if (!s) {
			rc = -EBADF;
			break;
		}
		rc = stack_ep_sendto(pd->st, s->h, iov + first, iovcnt - first,
				     flags & ~STACK_MSG_DONTWAIT, to);
		if (rc > 0) {
			size_t left = (size_t)rc;

			done += rc;
			while (first < iovcnt && left >= iov[first].iov_len)
				left -= iov[first++].iov_len;
			if (first < iovcnt) {
				iov[first].iov_base = (char *)iov[first].iov_base + left;
				iov[first].iov_len -= left;
			}
			while (first < iovcnt && iov[first].iov_len == 0)
				first++;
			if (first == iovcnt || s->type != SOCK_STREAM)
				break;
			rc = -EAGAIN; /* the rest waits for room */
		}
		if (rc != -EAGAIN || s->nonblock || (flags & STACK_MSG_DONTWAIT))
			break;
		notify(pd, false);
		if (wait_change(pd, dl) == -ETIMEDOUT)
			break;
		s = sock_of(pd, fd);
	}
	notify(pd, false);
	pthread_mutex_unlock(&pd->mu);
	return done > 0 ? done : rc;
}

static ssize_t pd_recvfrom(void *ud, int fd, void *buf, size_t len, int flags,
			   struct sockaddr *src, socklen_t *srclen)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct stack_sockaddr from;
	int mf = 0;
	ssize_t rc;

	memset(&from, 0, sizeof(from));
	rc = do_recv(ud, fd, &iov, 1, flags, &from, &mf);
	if (rc >= 0 && src && from.family != STACK_AF_UNSPEC)
		sa_out(&from, src, srclen);
	else if (rc >= 0 && srclen)
		*srclen = 0;
	return ret(rc);
}

static ssize_t pd_recv(void *ud, int fd, void *buf, size_t len, int flags)
{
	return pd_recvfrom(ud, fd, buf, len, flags, NULL, NULL);
}

static ssize_t pd_readv(void *ud, int fd, const struct iovec *iov, int iovcnt)
{
	struct pd *pd = ud;
	int mf = 0;

	if (!sock_of(pd, fd))
		return readv(fd, iov, iovcnt);
	return ret(do_recv(ud, fd, iov, iovcnt, 0, NULL, &mf));
}

static ssize_t pd_read(void *ud, int fd, void *buf, size_t count)
{
	struct iovec iov = {.iov_base = buf, .iov_len = count};

	return pd_readv(ud, fd, &iov, 1);
}

static ssize_t pd_recvmsg(void *ud, int fd, struct msghdr *msg, int flags)
{
	struct stack_sockaddr from;
	int mf = 0;
	ssize_t rc;

	if (!msg)
		return fail(EFAULT);
	memset(&from, 0, sizeof(from));
	rc = do_recv(ud, fd, msg->msg_iov, (int)msg->msg_iovlen, flags, &from, &mf);
	if (rc < 0)
		return ret(rc);
	if (msg->msg_name && from.family != STACK_AF_UNSPEC)
		sa_out(&from, msg->msg_name, &msg->msg_namelen);
	else
		msg->msg_namelen = 0;
	msg->msg_controllen = 0; /* no ancillary data */
	msg->msg_flags = mf;
	return rc;
}

static ssize_t pd_sendto(void *ud, int fd, const void *buf, size_t len, int flags,
			 const struct sockaddr *dst, socklen_t dstlen)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct stack_sockaddr to;
	int rc;

	if (dst) {
		rc = sa_in(dst, dstlen, &to);
		if (rc < 0)
			return fail(-rc);
	}
	return ret(do_send(ud, fd, &iov, 1, flags, dst ? &to : NULL));
}

static ssize_t pd_send(void *ud, int fd, const void *buf, size_t len, int flags)
{
	return pd_sendto(ud, fd, buf, len, flags, NULL, 0);
}

static ssize_t pd_writev(void *ud, int fd, const struct iovec *iov, int iovcnt)
{
	struct pd *pd = ud;

	if (!sock_of(pd, fd))
		return writev(fd, iov, iovcnt);
	return ret(do_send(ud, fd, iov, iovcnt, 0, NULL));
}

static ssize_t pd_write(void *ud, int fd, const void *buf, size_t count)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = count};

	return pd_writev(ud, fd, &iov, 1);
}

static ssize_t pd_sendmsg(void *ud, int fd, const struct msghdr *msg, int flags)
{
	struct stack_sockaddr to;
	int rc;

	if (!msg)
		return fail(EFAULT);
	if (msg->msg_name) {
		rc = sa_in(msg->msg_name, msg->msg_namelen, &to);
		if (rc < 0)
			return fail(-rc);
	}
	return ret(do_send(ud, fd, msg->msg_iov, (int)msg->msg_iovlen, flags,
			   msg->msg_name ? &to : NULL));
}

static int pd_fcntl(void *ud, int fd, int cmd, ...)
{
	struct pd *pd = ud;
	struct pd_sock *s;
	va_list ap;
	long arg;
	int rc;

	va_start(ap, cmd);
	arg = va_arg(ap, long); /* as glibc: one register-sized argument */
	va_end(ap);
	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	if (s && cmd == F_GETFL) {
		rc = O_RDWR | (s->nonblock ? O_NONBLOCK : 0);
	} else if (s && cmd == F_SETFL) {
		s->nonblock = (arg & O_NONBLOCK) != 0;
		rc = 0;
	} else {
		/* F_GETFD, F_SETFD, F_DUPFD..., and descriptors not ours: the
		 * kernel's.  (A duplicate is not a socket of ours.) */
		rc = fcntl(fd, cmd, arg);
	}
	pthread_mutex_unlock(&pd->mu);
	return rc;
}

static int pd_ioctl(void *ud, int fd, unsigned long req, ...)
{
	struct pd *pd = ud;
	struct pd_sock *s;
	va_list ap;
	int *ip, rc;

	va_start(ap, req);
	ip = va_arg(ap, int *);
	va_end(ap);
	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	if (!s) {
		pthread_mutex_unlock(&pd->mu);
		return ioctl(fd, req, ip);
	}
	switch (req) {
	case FIONREAD: /* SIOCINQ */
		rc = stack_ep_pending(pd->st, s->h);
		break;
	case SIOCOUTQ:
		rc = stack_ep_unsent(pd->st, s->h);
		break;
	case FIONBIO:
		s->nonblock = ip && *ip;
		rc = 0;
		ip = NULL;
		break;
	default:
		rc = -ENOTTY;
		ip = NULL;
		break;
	}
	pthread_mutex_unlock(&pd->mu);
	if (rc < 0)
		return fail(-rc);
	if (ip)
		*ip = rc;
	return 0;
}

static int pd_close(void *ud, int fd)
{
	struct pd *pd = ud;
	struct pd_sock *s;
	int rc = 0;

	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	if (s) {
		rc = stack_ep_close(pd->st, s->h);
		s->used = false;
		notify(pd, false);
	}
	pthread_mutex_unlock(&pd->mu);
	if (close(fd) < 0)
		return -1;
	return (int)ret(rc);
}

static int pd_shutdown(void *ud, int fd, int how)
{
	struct pd *pd = ud;
	struct pd_sock *s;
	int rc;

	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	rc = s ? stack_ep_shutdown(pd->st, s->h, how) : -EBADF;
	notify(pd, false);
	pthread_mutex_unlock(&pd->mu);
	return (int)ret(rc);
}

static bool is_timeo(int level, int name)
{
	return level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO);
}

static int pd_getsockopt(void *ud, int fd, int level, int name, void *val, socklen_t *len)
{
	struct pd *pd = ud;
	struct pd_sock *s;
	int rc;

	if (!val || !len)
		return fail(EFAULT);
	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	if (!s) {
		rc = -EBADF;
	} else if (is_timeo(level, name)) {
		stack_ns_t t = name == SO_RCVTIMEO ? s->rcvtimeo : s->sndtimeo;
		struct timeval tv = {.tv_sec = (time_t)(t / STACK_NS_PER_S),
				     .tv_usec = (suseconds_t)(t % STACK_NS_PER_S / 1000)};

		memcpy(val, &tv, *len < sizeof(tv) ? *len : sizeof(tv));
		*len = *len < sizeof(tv) ? *len : sizeof(tv);
		rc = 0;
	} else {
		size_t n = *len;

		rc = stack_ep_getopt(pd->st, s->h, level, name, val, &n);
		if (rc == 0)
			*len = (socklen_t)n;
	}
	pthread_mutex_unlock(&pd->mu);
	return (int)ret(rc);
}

static int pd_setsockopt(void *ud, int fd, int level, int name, const void *val,
			 socklen_t len)
{
	struct pd *pd = ud;
	struct pd_sock *s;
	int rc;

	pthread_mutex_lock(&pd->mu);
	s = sock_of(pd, fd);
	if (!s) {
		rc = -EBADF;
	} else if (is_timeo(level, name)) {
		struct timeval tv;

		if (!val || len < sizeof(tv)) {
			rc = -EINVAL;
		} else {
			memcpy(&tv, val, sizeof(tv));
			if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) {
				rc = -EDOM; /* sock_set_timeout */
			} else {
				stack_ns_t t = tv.tv_sec < 0 ? 0
							     : (stack_ns_t)tv.tv_sec * STACK_NS_PER_S +
								       (stack_ns_t)tv.tv_usec * 1000;

				if (name == SO_RCVTIMEO)
					s->rcvtimeo = t;
				else
					s->sndtimeo = t;
				rc = 0;
			}
		}
	} else {
		rc = stack_ep_setopt(pd->st, s->h, level, name, val, len);
		notify(pd, false); /* TCP_NODELAY, TCP_QUICKACK... may send */
	}
	pthread_mutex_unlock(&pd->mu);
	return (int)ret(rc);
}

/* poll(2) over our descriptors; timeout in virtual milliseconds.  A
 * descriptor that is not ours reports POLLNVAL. */
static int pd_poll(void *ud, struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct pd *pd = ud;
	stack_ns_t dl;
	int ready;

	pthread_mutex_lock(&pd->mu);
	dl = timeout < 0 ? STACK_NS_NEVER : pd->now + (stack_ns_t)timeout * STACK_NS_PER_MS;
	for (;;) {
		ready = 0;
		for (nfds_t i = 0; i < nfds; i++) {
			struct pd_sock *s = sock_of(pd, fds[i].fd);
			unsigned ev;

			fds[i].revents = 0;
			if (fds[i].fd < 0)
				continue;
			if (!s) {
				fds[i].revents = POLLNVAL;
				ready++;
				continue;
			}
			ev = stack_ep_events(pd->st, s->h);
			fds[i].revents = (short)(ev & ((unsigned)(uint16_t)fds[i].events | POLLERR |
						       POLLHUP));
			if (fds[i].revents)
				ready++;
		}
		if (ready || timeout == 0)
			break;
		if (wait_change(pd, dl) == -ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&pd->mu);
	return ready;
}

/* ---- the link and the clock ------------------------------------------- */

static int pd_netdev_send(void *ud, const void *buf, size_t count)
{
	struct pd *pd = ud;
	struct stack_pkt sp = {.data = (void *)buf, .len = count};
	unsigned n;

	if (!buf || count == 0)
		return fail(EINVAL);
	if (count > 65535)
		return fail(EMSGSIZE);
	pthread_mutex_lock(&pd->mu);
	n = stack_link_input(pd->st, pd->ifindex, &sp, 1, pd->now);
	stack_poll(pd->st, pd->now);
	notify(pd, true);
	pthread_mutex_unlock(&pd->mu);
	return n == 1 ? 0 : fail(ENOBUFS);
}

static int pd_netdev_receive(void *ud, void *buf, size_t *count, long long *time_usecs)
{
	struct pd *pd = ud;
	stack_ns_t limit;
	struct pd_pkt *p;
	bool waited = false;

	if (!buf || !count)
		return fail(EINVAL);
	pthread_mutex_lock(&pd->mu);
	limit = pd->now + pd->max_wait_ns;
	collect(pd);
	while (!pd->q_head) {
		stack_ns_t dl = stack_next_deadline(pd->st);

		if (dl != STACK_NS_NEVER && dl <= limit) {
			advance_to(pd, dl > pd->now ? dl : pd->now);
			continue;
		}
		if (!waited) {
			/* nothing scheduled: another thread's call may be
			 * about to send; give it a moment of real time */
			struct timespec ts;

			waited = true;
			abs_real_deadline(&ts, PD_IDLE_WAIT_MS);
			pthread_cond_timedwait(&pd->out, &pd->mu, &ts);
			collect(pd);
			continue;
		}
		/* nothing will leave within the bound: say so (count 0) */
		advance_to(pd, limit);
		break;
	}
	p = pd->q_head;
	if (p) {
		pd->q_head = p->next;
		if (!pd->q_head)
			pd->q_tail = &pd->q_head;
	}
	if (time_usecs)
		*time_usecs = (long long)((p ? p->t : pd->now) / PD_NS_PER_US);
	pthread_mutex_unlock(&pd->mu);
	if (!p) {
		*count = 0;
		return 0;
	}
	if (p->len > *count) {
		free(p);
		*count = 0;
		return fail(EMSGSIZE);
	}
	memcpy(buf, p->data, p->len);
	*count = p->len;
	free(p);
	return 0;
}

static int pd_usleep(void *ud, useconds_t usec)
{
	struct pd *pd = ud;

	pthread_mutex_lock(&pd->mu);
	advance_to(pd, pd->now + (stack_ns_t)usec * PD_NS_PER_US);
	pthread_mutex_unlock(&pd->mu);
	return 0;
}

static int pd_gettimeofday(void *ud, struct timeval *tv, struct timezone *tz)
{
	struct pd *pd = ud;
	stack_ns_t t;

	(void)tz;
	pthread_mutex_lock(&pd->mu);
	pay_clock(pd);
	/* packetdrill spins on this clock: every call moves it on */
	advance_to(pd, pd->now + pd->tick_ns);
	t = pd->now;
	pthread_mutex_unlock(&pd->mu);
	if (tv) {
		tv->tv_sec = (time_t)(t / STACK_NS_PER_S);
		tv->tv_usec = (suseconds_t)(t % STACK_NS_PER_S / PD_NS_PER_US);
	}
	return 0;
}

/* ---- not supported: ENOSYS -------------------------------------------- */

static int pd_epoll_create(void *ud, int size)
{
	(void)ud;
	(void)size;
	return fail(ENOSYS);
}

static int pd_epoll_ctl(void *ud, int epfd, int op, int fd, struct epoll_event *ev)
{
	(void)ud, (void)epfd, (void)op, (void)fd, (void)ev;
	return fail(ENOSYS);
}

static int pd_epoll_wait(void *ud, int epfd, struct epoll_event *evs, int max, int timeout)
{
	(void)ud, (void)epfd, (void)evs, (void)max, (void)timeout;
	return fail(ENOSYS);
}

static int pd_pipe(void *ud, int pipefd[2])
{
	(void)ud, (void)pipefd;
	return fail(ENOSYS);
}

static int pd_splice(void *ud, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
		     size_t len, unsigned int flags)
{
	(void)ud, (void)fd_in, (void)off_in, (void)fd_out, (void)off_out, (void)len, (void)flags;
	return fail(ENOSYS);
}

/* ---- creation ------------------------------------------------------------ */

static void pd_free(void *ud)
{
	struct pd *pd = ud;

	if (!pd)
		return;
	/* Descriptors are packetdrill's to close (it does, with close(2)):
	 * closing them here could close a number reused since. */
	free(pd->arena);
	while (pd->q_head) {
		struct pd_pkt *p = pd->q_head;

		pd->q_head = p->next;
		free(p);
	}
	free(pd->scratch);
	pthread_cond_destroy(&pd->out);
	pthread_cond_destroy(&pd->idle);
	pthread_cond_destroy(&pd->wake);
	pthread_mutex_destroy(&pd->mu);
	free(pd);
}

struct pd_flags {
	char local4[64], local6[64];
	uint32_t mtu;
	uint64_t seed;
	uint64_t tick_us, max_wait_ms;
};

static void die_flags(const char *flags, const char *why)
{
	fprintf(stderr, "netshim-packetdrill: bad --so_flags \"%s\": %s\n", flags ? flags : "",
		why);
	exit(EXIT_FAILURE);
}

static uint64_t num(const char *flags, const char *v, uint64_t lo, uint64_t hi)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v || *end || x < lo || x > hi)
		die_flags(flags, "a number is out of range");
	return x;
}

/* "key=value,key=value" (see README.md, "packetdrill"). */
static void parse_flags(const char *flags, struct pd_flags *f)
{
	char *dup, *save = NULL, *tok;

	snprintf(f->local4, sizeof(f->local4), "192.168.0.1/16");
	snprintf(f->local6, sizeof(f->local6), "fd3d:fa7b:d17d::1/48");
	f->mtu = 1500;
	f->seed = 1;
	f->tick_us = 1;
	f->max_wait_ms = 600000;
	if (!flags)
		return;
	dup = strdup(flags);
	if (!dup)
		die_flags(flags, "out of memory");
	for (tok = strtok_r(dup, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *v = strchr(tok, '=');

		if (!v)
			die_flags(flags, "expected key=value");
		*v++ = 0;
		if (!strcmp(tok, "local_ip"))
			snprintf(f->local4, sizeof(f->local4), "%s", v);
		else if (!strcmp(tok, "local_ip6"))
			snprintf(f->local6, sizeof(f->local6), "%s", v);
		else if (!strcmp(tok, "mtu"))
			f->mtu = (uint32_t)num(flags, v, 1280, 65535);
		else if (!strcmp(tok, "seed"))
			f->seed = num(flags, v, 0, UINT64_MAX);
		else if (!strcmp(tok, "tick_us"))
			f->tick_us = num(flags, v, 1, 1000000);
		else if (!strcmp(tok, "max_wait_ms"))
			f->max_wait_ms = num(flags, v, 1, 86400000ull);
		else
			die_flags(flags, "unknown key (local_ip, local_ip6, mtu, seed, tick_us, "
					 "max_wait_ms)");
	}
	free(dup);
}

/* "addr[/prefix]" (or "none") onto the interface, with a default route
 * on-link through it.  want_family guards against v4/v6 mix-ups. */
static void add_local(struct pd *pd, const char *flags, const char *spec, int want_family,
		      unsigned def_prefix)
{
	char buf[64];
	char *slash;
	struct stack_sockaddr a, any;
	unsigned prefix = def_prefix;

	if (!strcmp(spec, "none"))
		return;
	snprintf(buf, sizeof(buf), "%s", spec);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		prefix = (unsigned)num(flags, slash + 1, 0, want_family == STACK_AF_INET ? 32 : 128);
	}
	if (stack_addr_parse(buf, &a) < 0 || a.family != want_family)
		die_flags(flags, want_family == STACK_AF_INET ? "local_ip is not an IPv4 address"
							      : "local_ip6 is not an IPv6 address");
	if (stack_addr_add(pd->st, pd->ifindex, &a, prefix) < 0)
		die_flags(flags, "the stack refused the address");
	memset(&any, 0, sizeof(any));
	any.family = (uint16_t)want_family;
	/* every other destination is on-link through pd0: the "remote"
	 * addresses of a script need no gateway on a layer-3 link */
	if (stack_route_add(pd->st, &any, 0, NULL, pd->ifindex) < 0)
		die_flags(flags, "the stack refused the default route");
}

PD_EXPORT void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc)
{
	struct pd_flags f;
	struct stack_config cfg;
	struct stack_link_info li;
	struct pd *pd;
	size_t size;

	parse_flags(flags, &f);
	pd = calloc(1, sizeof(*pd));
	if (!pd)
		die_flags(flags, "out of memory");
	pthread_mutex_init(&pd->mu, NULL);
	pthread_cond_init(&pd->wake, NULL);
	pthread_cond_init(&pd->idle, NULL);
	pthread_cond_init(&pd->out, NULL);
	pd->q_tail = &pd->q_head;
	pd->mtu = f.mtu;
	pd->tick_ns = f.tick_us * PD_NS_PER_US;
	pd->max_wait_ns = f.max_wait_ms * STACK_NS_PER_MS;
	pd->now = PD_EPOCH_NS;
	pd->wait_deadline = STACK_NS_NEVER;
	pd->scratch = malloc(f.mtu);

	stack_config_default(&cfg);
	/* a fixed seed: the same script gives the same ISNs and ports */
	cfg.seed[0] = f.seed;
	cfg.seed[1] = f.seed ^ 0x9e3779b97f4a7c15ull;
	cfg.seed[2] = 3;
	cfg.seed[3] = 4;
	size = (stack_arena_size(&cfg) + 63) & ~(size_t)63;
	pd->arena = aligned_alloc(64, size);
	if (!pd->arena || !pd->scratch)
		die_flags(flags, "out of memory");
	pd->st = stack_create(pd->arena, size, &cfg, pd->now);
	if (!pd->st)
		die_flags(flags, "stack_create failed");
	li.mtu = f.mtu;
	li.offloads = 0;
	pd->ifindex = stack_if_add(pd->st, STACK_IF_MEMORY, "pd0", &li);
	if (pd->ifindex < 0)
		die_flags(flags, "stack_if_add failed");
	add_local(pd, flags, f.local4, STACK_AF_INET, 16);
	add_local(pd, flags, f.local6, STACK_AF_INET6, 48);

	*ifc = (struct packetdrill_interface){
		.userdata = pd,
		.free = pd_free,
		.socket = pd_socket,
		.bind = pd_bind,
		.listen = pd_listen,
		.accept = pd_accept,
		.connect = pd_connect,
		.read = pd_read,
		.readv = pd_readv,
		.recv = pd_recv,
		.recvfrom = pd_recvfrom,
		.recvmsg = pd_recvmsg,
		.write = pd_write,
		.writev = pd_writev,
		.send = pd_send,
		.sendto = pd_sendto,
		.sendmsg = pd_sendmsg,
		.fcntl = pd_fcntl,
		.ioctl = pd_ioctl,
		.close = pd_close,
		.shutdown = pd_shutdown,
		.getsockopt = pd_getsockopt,
		.setsockopt = pd_setsockopt,
		.poll = pd_poll,
		.netdev_send = pd_netdev_send,
		.netdev_receive = pd_netdev_receive,
		.usleep = pd_usleep,
		.gettimeofday = pd_gettimeofday,
		.epoll_create = pd_epoll_create,
		.epoll_ctl = pd_epoll_ctl,
		.epoll_wait = pd_epoll_wait,
		.pipe = pd_pipe,
		.splice = pd_splice,
	};
}
