/*
 * io.c — the I/O family of hooks: read, write, recv*, send*, sendfile and
 * their _FORTIFY_SOURCE/64-bit aliases.  A connected TCP socket's bytes
 * flow through its descriptor A, so the kernel serves these calls (and
 * their blocking, timeouts and signals); the hooks add what only the
 * stack knows: errors, unconnected states, UDP addresses (engine.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine.h"
#include "real.h"
#include "sock.h"

#define UDP_MAX 65535

static ssize_t fail(int e)
{
	errno = e;
	return -1;
}

/* Linux raises SIGPIPE for EPIPE on a stream socket unless MSG_NOSIGNAL. */
static ssize_t epipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
	return fail(EPIPE);
}

/* A TCP error the kernel cannot know about (reset, timeout, refused): the
 * next call reports it once. */
static int pending_err(struct shim_sock *s)
{
	int e;

	if (!__atomic_load_n(&s->err, __ATOMIC_ACQUIRE))
		return 0;
	eng_lock();
	e = sock_take_err(s);
	eng_unlock();
	return e;
}

/* What a receive on TCP socket s should do before the kernel call:
 * 0 = go to A, RECV_EOF = return 0, else an errno. */
#define RECV_EOF (-1)
static int tcp_recv_check(struct shim_sock *s, int flags)
{
	int e;

	if (flags & MSG_ERRQUEUE)
		return EAGAIN;
	if (flags & MSG_OOB)
		return EINVAL; /* urgent data is not carried (README) */
	switch (s->state) {
	case SS_FRESH:
	case SS_LISTEN:
		return ENOTCONN;
	default:
		break;
	}
	if (s->err_after_eof)
		return RECV_EOF; /* the error waits for a send or SO_ERROR */
	e = pending_err(s);
	if (!e && s->state == SS_DEAD && s->connect_failed)
		return ENOTCONN; /* connect() failed and disconnected it */
	return e;
}

static int tcp_send_check(struct shim_sock *s, int flags)
{
	int e;

	if (flags & MSG_OOB)
		return EOPNOTSUPP;
	e = pending_err(s);
	if (e)
		return e;
	if (s->state == SS_FRESH || s->state == SS_LISTEN)
		return EPIPE;
	return 0;
}

/* ---- UDP ----------------------------------------------------------------------- */

/* Append one control message; false (and MSG_CTRUNC) when it does not fit. */
static bool put_cmsg(struct msghdr *msg, size_t *used, int level, int type, const void *data,
		     size_t len)
{
	struct cmsghdr *c;

	if (!msg->msg_control || *used + CMSG_SPACE(len) > msg->msg_controllen) {
		msg->msg_flags |= MSG_CTRUNC;
		return false;
	}
	c = (struct cmsghdr *)((char *)msg->msg_control + *used);
	memset(c, 0, CMSG_SPACE(len));
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	*used += CMSG_SPACE(len);
	return true;
}

/* IP_PKTINFO / IPV6_PKTINFO for a datagram, as Linux gives them: an IPv4
 * datagram on an IPv6 socket carries an IPV6_PKTINFO with the IPv4-mapped
 * address when IPV6_RECVPKTINFO is on, then IP_PKTINFO when that is. */
static void put_pktinfo(struct shim_sock *s, struct msghdr *msg, const struct dgram_meta *m,
			size_t *used)
{
	bool v4 = m->to.dst.family == STACK_AF_INET;

	if (s->family == AF_INET6 && s->pktinfo6) {
		struct in6_pktinfo pi6;
		memset(&pi6, 0, sizeof(pi6));
		pi6.ipi6_ifindex = (unsigned)m->to.ifindex;
		if (v4) {
			pi6.ipi6_addr.s6_addr[10] = 0xff;
			pi6.ipi6_addr.s6_addr[11] = 0xff;
			memcpy(&pi6.ipi6_addr.s6_addr[12], m->to.dst.addr, 4);
		} else {
			memcpy(&pi6.ipi6_addr, m->to.dst.addr, 16);
		}
		put_cmsg(msg, used, IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6));
	}
	if (v4 && s->pktinfo4) {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi_ifindex = m->to.ifindex;
		memcpy(&pi.ipi_spec_dst, m->to.dst.addr, 4);
		memcpy(&pi.ipi_addr, m->to.dst.addr, 4);
		put_cmsg(msg, used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
}

/* One datagram from A into msg, its source from the FIFO. */
static ssize_t udp_recvmsg(int fd, struct shim_sock *s, struct msghdr *msg, int flags)
{
	ssize_t n;
	struct dgram_meta m;
	int e;
	void *name = msg->msg_name;
	socklen_t namelen = msg->msg_namelen;
	size_t ctl_cap = msg->msg_controllen;

	if (flags & MSG_ERRQUEUE)
		return fail(EAGAIN);
	if (flags & MSG_OOB)
		return fail(EOPNOTSUPP);
	/* the sources of the datagrams are the parent's to pop */
	if ((e = eng_child_refuse()))
		return fail(e);
	pthread_mutex_lock(&s->rlock);
	for (;;) {
		msg->msg_name = NULL;
		msg->msg_namelen = 0;
		n = real()->recvmsg(fd, msg, flags & ~MSG_NOSIGNAL);
		msg->msg_name = name;
		if (n < 0) {
			pthread_mutex_unlock(&s->rlock);
			return -1;
		}
		eng_lock();
		memset(&m, 0, sizeof(m));
		if (s->qlen) {
			m = s->q[s->qhead];
			if (!(flags & MSG_PEEK) || m.err) {
				/* PEEK of a marker pops it: it is read away below */
				s->qhead = (s->qhead + 1) % s->qcap;
				s->qlen--;
			}
		}
		eng_unlock();
		if (m.err > 0) {
			if (flags & MSG_PEEK) {
				/* the error marker is consumed with the error */
				char c;
				real()->recv(fd, &c, 0, MSG_DONTWAIT);
			}
			pthread_mutex_unlock(&s->rlock);
			return fail(m.err);
		}
		if (m.err < 0) { /* marker already reported by a send */
			if (flags & MSG_PEEK) {
				char c;
				real()->recv(fd, &c, 0, MSG_DONTWAIT);
			}
			continue;
		}
		break;
	}
	pthread_mutex_unlock(&s->rlock);
	if (name && m.from.family)
		sa_from_stack(&m.from, s->family, name, &namelen);
	else
		namelen = 0;
	msg->msg_namelen = name ? namelen : 0;
	size_t used = 0;
	msg->msg_controllen = ctl_cap;
	if (s->pktinfo4 || s->pktinfo6)
		put_pktinfo(s, msg, &m, &used);
	msg->msg_controllen = used;
	return n;
}

/* A datagram straight into the stack. */
static ssize_t udp_sendmsg(int fd, struct shim_sock *s, const struct msghdr *msg, int flags)
{
	struct stack_sockaddr to, *top = NULL;
	ssize_t r;
	int e;

	(void)fd;
	if (flags & MSG_OOB)
		return fail(EOPNOTSUPP);
	if ((e = eng_child_refuse()))
		return fail(e);
	if (msg->msg_name && msg->msg_namelen) {
		e = sa_to_stack(msg->msg_name, msg->msg_namelen, s->family, &to);
		if (e)
			return fail(e);
		top = &to;
	}
	for (int tries = 0;; tries++) {
		eng_lock();
		/* an error queued for the reader is reported by a send too */
		for (unsigned i = 0; i < s->qlen; i++) {
			struct dgram_meta *m = &s->q[(s->qhead + i) % s->qcap];
			if (m->err > 0) {
				e = m->err;
				m->err = -1;
				eng_unlock();
				return fail(e);
			}
		}
		r = s->h >= 0 ? stack_ep_sendto(eng.st, s->h, msg->msg_iov, (int)msg->msg_iovlen,
						 flags & (MSG_DONTWAIT | MSG_MORE), top)
			      : -EBADF;
		eng_unlock();
		if ((r != -EAGAIN && r != -ENOBUFS) || (flags & MSG_DONTWAIT) || tries > 200)
			break;
		int fl = real()->fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			break;
		/* a blocking sender waits for the link queue to drain */
		eng_wait_tx(10);
	}
	return r < 0 ? fail((int)-r) : r;
}

/* ---- the common paths ------------------------------------------------------------ */

/* Descriptors received with SCM_RIGHTS over a kernel socket: those that
 * are netshim sockets of this process get their numbers mapped. */
static void adopt_rights(const struct msghdr *msg)
{
	struct cmsghdr *c;

	if (!msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (c = CMSG_FIRSTHDR((struct msghdr *)msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < n; i++)
			eng_adopt_fd(fds[i]);
	}
}

static ssize_t do_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct shim_sock *s = sock_of(fd);
	int e;
	ssize_t n;

	if (!s) {
		n = real()->recvmsg(fd, msg, flags);
		if (n >= 0 && msg->msg_controllen)
			adopt_rights(msg);
		return n;
	}
	if (s->type == SOCK_DGRAM)
		return udp_recvmsg(fd, s, msg, flags);
	if ((e = tcp_recv_check(s, flags))) {
		if (e == RECV_EOF) {
			msg->msg_namelen = 0;
			msg->msg_controllen = 0;
			return 0;
		}
		return fail(e);
	}
	n = real()->recvmsg(fd, msg, flags);
	if (n >= 0)
		msg->msg_namelen = 0;
	if (n == 0 && eng.mode == ENG_CHILD && !(flags & MSG_PEEK) &&
	    (e = sock_child_eof_err(fd, s)))
		return fail(e);
	return n;
}

static ssize_t do_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct shim_sock *s = sock_of(fd);
	struct msghdr m;
	int e;

	if (!s)
		return real()->sendmsg(fd, msg, flags);
	if (s->type == SOCK_DGRAM)
		return udp_sendmsg(fd, s, msg, flags);
	if ((e = tcp_send_check(s, flags)))
		return e == EPIPE ? epipe(flags) : fail(e);
	m = *msg;
	m.msg_name = NULL; /* TCP ignores a destination */
	m.msg_namelen = 0;
	return real()->sendmsg(fd, &m, flags & ~MSG_MORE);
}

static ssize_t recv_buf(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
			socklen_t *fromlen)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (from && fromlen) {
		m.msg_name = from;
		m.msg_namelen = *fromlen;
	}
	n = do_recvmsg(fd, &m, flags);
	if (n >= 0 && from && fromlen)
		*fromlen = m.msg_namelen;
	return n;
}

static ssize_t send_buf(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
			socklen_t tolen)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	m.msg_name = (void *)to;
	m.msg_namelen = to ? tolen : 0;
	return do_sendmsg(fd, &m, flags);
}

ssize_t shim_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
		      socklen_t *fromlen)
{
	return recv_buf(fd, buf, len, flags, from, fromlen);
}

ssize_t shim_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
		    socklen_t tolen)
{
	return send_buf(fd, buf, len, flags, to, tolen);
}

/* ---- the hooks ---------------------------------------------------------------------- */

ssize_t read(int fd, void *buf, size_t len)
{
	struct shim_sock *s = sock_of(fd);
	int e;

	if (!s)
		return real()->read(fd, buf, len);
	if (s->type == SOCK_STREAM) {
		if ((e = tcp_recv_check(s, 0)))
			return e == RECV_EOF ? 0 : fail(e);
		ssize_t n = real()->read(fd, buf, len);
		if (n == 0 && len && eng.mode == ENG_CHILD && (e = sock_child_eof_err(fd, s)))
			return fail(e);
		return n;
	}
	return recv_buf(fd, buf, len, 0, NULL, NULL);
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		abort(); /* as glibc's fortify check: a buffer overflow */
	return read(fd, buf, len);
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct shim_sock *s = sock_of(fd);
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};

	if (!s)
		return real()->readv(fd, iov, iovcnt);
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return fail(EINVAL);
	return do_recvmsg(fd, &m, 0);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	struct shim_sock *s = sock_of(fd);
	int e;

	if (!s)
		return real()->write(fd, buf, len);
	if (s->type == SOCK_STREAM) {
		if ((e = tcp_send_check(s, 0)))
			return e == EPIPE ? epipe(0) : fail(e);
		return real()->write(fd, buf, len);
	}
	return send_buf(fd, buf, len, 0, NULL, 0);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct shim_sock *s = sock_of(fd);
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};

	if (!s)
		return real()->writev(fd, iov, iovcnt);
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return fail(EINVAL);
	return do_sendmsg(fd, &m, 0);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	if (!sock_of(fd))
		return real()->recv(fd, buf, len, flags);
	return recv_buf(fd, buf, len, flags, NULL, NULL);
}

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		abort();
	return recv(fd, buf, len, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
		 socklen_t *fromlen)
{
	if (!sock_of(fd))
		return real()->recvfrom(fd, buf, len, flags, from, fromlen);
	return recv_buf(fd, buf, len, flags, from, fromlen);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *from, socklen_t *fromlen)
{
	if (len > buflen)
		abort();
	return recvfrom(fd, buf, len, flags, from, fromlen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	return do_recvmsg(fd, msg, flags);
}

int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *timeout)
{
	unsigned i;

	if (!sock_of(fd))
		return real()->recvmmsg(fd, v, n, flags, timeout);
	/* As Linux: the first datagram may block, the rest are taken only
	 * while they wait (MSG_WAITFORONE semantics are the caller's). */
	for (i = 0; i < n; i++) {
		ssize_t r = do_recvmsg(fd, &v[i].msg_hdr,
				       (flags & ~MSG_WAITFORONE) |
					   (i > 0 && (flags & MSG_WAITFORONE) ? MSG_DONTWAIT : 0));
		if (r < 0) {
			if (i > 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			return i > 0 ? (int)i : -1;
		}
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	if (!sock_of(fd))
		return real()->send(fd, buf, len, flags);
	return send_buf(fd, buf, len, flags, NULL, 0);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
	       socklen_t tolen)
{
	if (!sock_of(fd))
		return real()->sendto(fd, buf, len, flags, to, tolen);
	return send_buf(fd, buf, len, flags, to, tolen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return do_sendmsg(fd, msg, flags);
}

int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	unsigned i;

	if (!sock_of(fd))
		return real()->sendmmsg(fd, v, n, flags);
	for (i = 0; i < n; i++) {
		ssize_t r = do_sendmsg(fd, &v[i].msg_hdr, flags);
		if (r < 0)
			return i > 0 ? (int)i : -1;
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

/* sendfile(2) onto a netshim socket: TCP goes to A (the kernel copies the
 * file into the socketpair); UDP sends one datagram read from the file. */
static ssize_t do_sendfile(int out, int in, off_t *off, size_t count, bool is64)
{
	struct shim_sock *s = sock_of(out);
	int e;

	if (!s)
		return is64 ? real()->sendfile64(out, in, (off64_t *)off, count)
			    : real()->sendfile(out, in, off, count);
	if (s->type == SOCK_STREAM) {
		if ((e = tcp_send_check(s, 0)))
			return e == EPIPE ? epipe(0) : fail(e);
		return is64 ? real()->sendfile64(out, in, (off64_t *)off, count)
			    : real()->sendfile(out, in, off, count);
	}
	if (count > UDP_MAX)
		count = UDP_MAX;
	char *buf = malloc(count ? count : 1);
	if (!buf)
		return fail(ENOMEM);
	ssize_t n = off ? pread(in, buf, count, *off) : real()->read(in, buf, count);
	if (n >= 0) {
		ssize_t w = send_buf(out, buf, (size_t)n, 0, NULL, 0);
		if (w >= 0 && off)
			*off += w;
		n = w;
	}
	free(buf);
	return n;
}

ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	return do_sendfile(out, in, off, count, false);
}

ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	return do_sendfile(out, in, (off_t *)off, count, true);
}
