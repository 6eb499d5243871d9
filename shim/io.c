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
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine.h"
#include "real.h"
#include "session.h"
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
static void put_pktinfo(struct shim_sock *s, bool pk4, bool pk6, struct msghdr *msg,
			const struct dgram_meta *m, size_t *used)
{
	bool v4 = m->to.dst.family == STACK_AF_INET;

	if (s->family == AF_INET6 && pk6) {
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
	if (v4 && pk4) {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi_ifindex = m->to.ifindex;
		memcpy(&pi.ipi_spec_dst, m->to.dst.addr, 4);
		memcpy(&pi.ipi_addr, m->to.dst.addr, 4);
		put_cmsg(msg, used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
}

/*
 * How the datagram at the head of A was delivered (engine.h, framed): 1
 * framed, 0 plain, or -errno.  The owner knows; a client asks it until it
 * answers "framed", which never reverts.  Every plain datagram precedes
 * every framed one in A, and the owner switches only once the FIFO is
 * empty, so "plain" stays true of the head until some reader takes it.
 * Readers in two processes at once during the switch (plain datagrams
 * still queued) may each take the other's source: a limit
 * (shim/README.md, "UDP in a client").
 */
static int udp_head_framed(int fd, struct shim_sock *s)
{
	struct sess_req rq = {.op = SOP_UDP_FRAME};
	struct sess_resp rp;
	int e;

	if (__atomic_load_n(&s->framed, __ATOMIC_ACQUIRE))
		return 1;
	if (eng.mode != ENG_CHILD)
		return 0;
	e = sess_call(&rq, fd, &rp, NULL, false);
	if (e || (e = rp.err))
		return -e;
	if (rp.val)
		__atomic_store_n(&s->framed, true, __ATOMIC_RELEASE);
	return rp.val != 0;
}

/* A plain datagram was read from A: its metadata, popped from the owner's
 * FIFO (here, or by the owner for a client).  0 or an errno value. */
static int plain_meta(int fd, struct shim_sock *s, bool peek, struct dgram_meta *m)
{
	struct sess_req rq = {.op = SOP_UDP_POP, .a = {peek}};
	struct sess_resp rp;
	int e;

	if (eng.mode != ENG_CHILD) {
		eng_lock();
		udp_fifo_pop(s, peek, m);
		eng_unlock();
		return 0;
	}
	memset(m, 0, sizeof(*m));
	e = sess_call(&rq, fd, &rp, NULL, false);
	if (e || (e = rp.err))
		return e;
	if (rp.len == sizeof(*m))
		memcpy(m, rp.data, sizeof(*m));
	return 0;
}

/* A framed error marker was read: its errno if this reader reports it,
 * 0 if a send or SO_ERROR (in any process) already did. */
static int frame_err(int fd, struct shim_sock *s, const struct dgram_frame *f)
{
	struct sess_req rq = {.op = SOP_UDP_ERR, .a = {(int32_t)f->err_id, f->m.err}};
	struct sess_resp rp;
	int e;

	if (eng.mode != ENG_CHILD) {
		eng_lock();
		e = udp_err_claim(s, f->err_id, f->m.err);
		eng_unlock();
		return e;
	}
	if (sess_call(&rq, fd, &rp, NULL, false) || rp.err)
		return f->m.err; /* the owner cannot say: report it */
	return rp.val;
}

/* One framed datagram from A: the frame into *f, the payload into msg's
 * buffers (the kernel sets MSG_TRUNC when they are short).  The payload's
 * length (with MSG_TRUNC in flags, the datagram's whole length, as
 * udp_recvmsg), 0 at end of file, or -1 with errno. */
static ssize_t framed_read(int fd, struct msghdr *msg, int flags, struct dgram_frame *f)
{
	struct iovec small[16], *iov = small;
	size_t cnt = msg->msg_iovlen;
	struct msghdr m;
	ssize_t n;
	int e;

	/* the frame takes one entry: Linux's limit is UIO_MAXIOV (= IOV_MAX) */
	if (cnt >= IOV_MAX)
		return fail(EMSGSIZE);
	if (cnt + 1 > sizeof(small) / sizeof(small[0])) {
		iov = malloc((cnt + 1) * sizeof(*iov));
		if (!iov)
			return fail(ENOMEM);
	}
	memset(f, 0, sizeof(*f));
	iov[0].iov_base = f;
	iov[0].iov_len = sizeof(*f);
	for (size_t i = 0; i < cnt; i++)
		iov[1 + i] = msg->msg_iov[i];
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = cnt + 1;
	n = real()->recvmsg(fd, &m, flags & ~MSG_NOSIGNAL);
	e = errno;
	if (iov != small)
		free(iov);
	if (n < 0)
		return fail(e);
	msg->msg_flags = m.msg_flags;
	if ((size_t)n < sizeof(*f)) {
		/* end of file (shut down), or not a frame: nothing */
		memset(f, 0, sizeof(*f));
		return 0;
	}
	return n - (ssize_t)sizeof(*f);
}

/* Take a peeked marker (a message of no payload at A's head) out of A. */
static void drop_marker(int fd, int flags)
{
	char c;

	if (flags & MSG_PEEK)
		real()->recv(fd, &c, 0, MSG_DONTWAIT);
}

/* One datagram from A into msg, its source and destination from the
 * owner's FIFO (plain delivery) or from its frame (framed).  Every UDP
 * receive hook (read, readv, recv, recvfrom, recvmsg, recvmmsg and their
 * _chk forms) comes here. */
static ssize_t udp_recvmsg(int fd, struct shim_sock *s, struct msghdr *msg, int flags)
{
	ssize_t n;
	struct dgram_meta m;
	struct dgram_frame f;
	int e, fr;
	void *name = msg->msg_name;
	socklen_t namelen = msg->msg_namelen;
	size_t ctl_cap = msg->msg_controllen;
	bool pk4 = s->pktinfo4, pk6 = s->pktinfo6;
	char c;

	if (flags & MSG_ERRQUEUE)
		return fail(EAGAIN);
	if (flags & MSG_OOB)
		return fail(EOPNOTSUPP);
	pthread_mutex_lock(&s->rlock);
	for (;;) {
		fr = udp_head_framed(fd, s);
		if (fr == 0) {
			/* the format is known once a datagram is there: wait for
			 * one (blocking, timeouts, signals: the kernel's) */
			if (real()->recv(fd, &c, 0, MSG_PEEK | (flags & MSG_DONTWAIT)) < 0)
				goto fail_errno;
			fr = udp_head_framed(fd, s);
		}
		if (fr < 0) {
			e = -fr;
			goto fail_e;
		}
		if (fr) {
			n = framed_read(fd, msg, flags, &f);
			if (n < 0)
				goto fail_errno;
			m = f.m;
			if (eng.mode == ENG_CHILD) {
				/* the owner's options when it delivered it */
				pk4 = (f.flags & DF_PKTINFO4) != 0;
				pk6 = (f.flags & DF_PKTINFO6) != 0;
			}
			if (m.err > 0) {
				e = frame_err(fd, s, &f);
				drop_marker(fd, flags);
				if (e)
					goto fail_e;
				continue; /* already reported by a send */
			}
			break;
		}
		msg->msg_name = NULL;
		msg->msg_namelen = 0;
		n = real()->recvmsg(fd, msg, flags & ~MSG_NOSIGNAL);
		msg->msg_name = name;
		if (n < 0)
			goto fail_errno;
		if ((e = plain_meta(fd, s, (flags & MSG_PEEK) != 0, &m)))
			goto fail_e;
		if (m.err > 0) {
			/* the error marker is consumed with the error */
			drop_marker(fd, flags);
			e = m.err;
			goto fail_e;
		}
		if (m.err < 0) { /* marker already reported by a send */
			drop_marker(fd, flags);
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
	if (pk4 || pk6)
		put_pktinfo(s, pk4, pk6, msg, &m, &used);
	msg->msg_controllen = used;
	return n;

fail_errno:
	e = errno;
fail_e:
	pthread_mutex_unlock(&s->rlock);
	return fail(e);
}

ssize_t udp_send_locked(struct shim_sock *s, const struct iovec *iov, int iovcnt, int flags,
			const struct stack_sockaddr *to)
{
	/* an error queued for the reader is reported by a send too */
	int e = udp_take_err(s, -1);

	if (e)
		return -e;
	if (s->h < 0)
		return -EBADF;
	return stack_ep_sendto(eng.st, s->h, iov, iovcnt, flags & (MSG_DONTWAIT | MSG_MORE), to);
}

static bool nonblocking(int fd)
{
	int fl = real()->fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK);
}

/* A client's datagram: the owner sends it (SOP_SENDTO, the payload as
 * the request's extension) and reports the stack's errors as its own
 * hook would. */
static ssize_t child_udp_send(int fd, const struct msghdr *msg, int flags)
{
	struct sess_req rq = {.op = SOP_SENDTO};
	struct sess_resp rp;
	struct iovec one, *x = msg->msg_iov;
	int xcnt = (int)msg->msg_iovlen;
	char *bounce = NULL;
	size_t total = 0;
	int e;

	if (msg->msg_iovlen > IOV_MAX)
		return fail(EMSGSIZE); /* Linux: more than UIO_MAXIOV */
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		total += msg->msg_iov[i].iov_len;
		/* larger than any UDP datagram (RFC 768: a 16-bit length) */
		if (msg->msg_iov[i].iov_len > SESS_XDATA || total > SESS_XDATA)
			return fail(EMSGSIZE);
	}
	if (msg->msg_name && msg->msg_namelen) {
		if (msg->msg_namelen > sizeof(struct sockaddr_storage))
			return fail(EINVAL); /* as move_addr_to_kernel */
		memcpy(rq.data, msg->msg_name, msg->msg_namelen);
		rq.len = msg->msg_namelen;
		rq.a[1] = 1;
	}
	if (xcnt > SESS_XIOV) {
		/* gather many small pieces here */
		bounce = malloc(total ? total : 1);
		if (!bounce)
			return fail(ENOMEM);
		size_t off = 0;
		for (int i = 0; i < xcnt; i++) {
			memcpy(bounce + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
			off += msg->msg_iov[i].iov_len;
		}
		one.iov_base = bounce;
		one.iov_len = total;
		x = &one;
		xcnt = 1;
	}
	rq.a[0] = flags & (MSG_DONTWAIT | MSG_MORE);
	rq.xlen = (uint32_t)total;
	for (int tries = 0;; tries++) {
		e = sess_call_x(&rq, x, xcnt, fd, &rp);
		if (!e)
			e = rp.err;
		if ((e != EAGAIN && e != ENOBUFS) || (flags & MSG_DONTWAIT) || tries > 200 ||
		    nonblocking(fd))
			break;
		/* a blocking sender waits for the owner's link queue to
		 * drain, as udp_sendmsg's eng_wait_tx, with a bounded poll */
		poll(NULL, 0, 10);
	}
	free(bounce);
	return e ? fail(e) : (ssize_t)rp.val;
}

/* A datagram straight into the stack (a client's: through the owner). */
static ssize_t udp_sendmsg(int fd, struct shim_sock *s, const struct msghdr *msg, int flags)
{
	struct stack_sockaddr to, *top = NULL;
	ssize_t r;
	int e;

	if (flags & MSG_OOB)
		return fail(EOPNOTSUPP);
	if (eng.mode == ENG_CHILD)
		return child_udp_send(fd, msg, flags);
	if (msg->msg_name && msg->msg_namelen) {
		e = sa_to_stack(msg->msg_name, msg->msg_namelen, s->family, &to);
		if (e)
			return fail(e);
		top = &to;
	}
	for (int tries = 0;; tries++) {
		eng_lock();
		r = udp_send_locked(s, msg->msg_iov, (int)msg->msg_iovlen, flags, top);
		eng_unlock();
		if ((r != -EAGAIN && r != -ENOBUFS) || (flags & MSG_DONTWAIT) || tries > 200)
			break;
		if (nonblocking(fd))
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
