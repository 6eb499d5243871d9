/*
 * socket.c — the socket family of hooks: socket, bind, listen, accept,
 * connect, names, shutdown and options.  Each call on an AF_INET/AF_INET6
 * socket is served by the stack (engine.h) or fails with Linux's errno;
 * every other family passes to libc (STYLE.md 11).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "real.h"
#include "sock.h"

static int fail(int e)
{
	errno = e;
	return -1;
}

/* ---- addresses ------------------------------------------------------------ */

int sa_to_stack(const struct sockaddr *sa, socklen_t len, int sock_family,
		struct stack_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (!sa || len < (socklen_t)sizeof(sa_family_t))
		return EINVAL;
	/* inet6_bind / inet_bind check the length for their own family
	 * before the family (EINVAL before EAFNOSUPPORT) */
	if (sock_family == AF_INET6 && len < (socklen_t)sizeof(struct sockaddr_in6))
		return EINVAL;
	if (sock_family == AF_INET && sa->sa_family != AF_UNSPEC &&
	    len < (socklen_t)sizeof(struct sockaddr_in))
		return EINVAL;
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const void *)sa;
		if (len < (socklen_t)sizeof(*in))
			return EINVAL;
		if (sock_family == AF_INET6)
			return EAFNOSUPPORT;
		out->family = STACK_AF_INET;
		out->port = ntohs(in->sin_port);
		memcpy(out->addr, &in->sin_addr, 4);
		return 0;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (len < (socklen_t)sizeof(*in6))
			return EINVAL;
		if (sock_family == AF_INET)
			return EAFNOSUPPORT;
		out->family = STACK_AF_INET6;
		out->port = ntohs(in6->sin6_port);
		out->scope_id = in6->sin6_scope_id;
		memcpy(out->addr, &in6->sin6_addr, 16);
		return 0;
	}
	case AF_UNSPEC:
		out->family = STACK_AF_UNSPEC;
		if (len >= (socklen_t)sizeof(struct sockaddr_in)) {
			const struct sockaddr_in *in = (const void *)sa;
			out->port = ntohs(in->sin_port);
			memcpy(out->addr, &in->sin_addr, 4);
		}
		return 0;
	default:
		return EAFNOSUPPORT;
	}
}

void sa_from_stack(const struct stack_sockaddr *a, int sock_family, struct sockaddr *sa,
		   socklen_t *len)
{
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t n;

	memset(&u, 0, sizeof(u));
	if (sock_family == AF_INET) {
		u.in.sin_family = AF_INET;
		u.in.sin_port = htons(a->port);
		memcpy(&u.in.sin_addr, a->addr, 4);
		n = sizeof(u.in);
	} else {
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = htons(a->port);
		if (a->family == STACK_AF_INET) { /* IPv4-mapped */
			u.in6.sin6_addr.s6_addr[10] = 0xff;
			u.in6.sin6_addr.s6_addr[11] = 0xff;
			memcpy(&u.in6.sin6_addr.s6_addr[12], a->addr, 4);
		} else {
			memcpy(&u.in6.sin6_addr, a->addr, 16);
			u.in6.sin6_scope_id = a->scope_id;
		}
		n = sizeof(u.in6);
	}
	if (!sa || !len)
		return;
	memcpy(sa, &u, *len < n ? *len : n);
	*len = n;
}

/* ---- socket() ------------------------------------------------------------- */

/* Which stack protocol a socket() call asks for, or -errno. */
static int pick_proto(int base, int protocol)
{
	switch (base) {
	case SOCK_STREAM:
		if (protocol == 0 || protocol == IPPROTO_TCP)
			return IPPROTO_TCP;
		return -EPROTONOSUPPORT;
	case SOCK_DGRAM:
		if (protocol == 0 || protocol == IPPROTO_UDP)
			return IPPROTO_UDP;
		/* ICMP "ping" sockets and UDP-Lite are not served: refused
		 * with Linux's errno for an unsupported protocol, never
		 * passed to the host (README "Sockets"). */
		return -EPROTONOSUPPORT;
	case SOCK_RAW:
		return -EPROTONOSUPPORT;
	default:
		return -ESOCKTNOSUPPORT;
	}
}

static int open_sock(int domain, int type, int protocol, int afd_flags, int *out_fd,
		     struct shim_sock **out)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int proto = pick_proto(base, protocol);
	int sv[2], h, bfd;
	struct shim_sock *s;

	if (proto < 0)
		return -proto;
	h = stack_ep_open(eng.st, domain, base, proto);
	if (h < 0)
		return h == -ENOMEM || h == -ENFILE ? ENFILE : -h;
	/* SEQPACKET for UDP: message boundaries, and unlike SOCK_DGRAM, B
	 * hangs up when the last holder of A closes it. */
	if (socketpair(AF_UNIX, (base == SOCK_STREAM ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0,
		       sv) < 0) {
		int e = errno;
		stack_ep_close(eng.st, h);
		return e;
	}
	bfd = eng_private_fd_new(sv[1]);
	if (bfd < 0) {
		real()->close(sv[0]);
		real()->close(sv[1]);
		stack_ep_close(eng.st, h);
		return -bfd;
	}
	real()->fcntl(bfd, F_SETFL, O_NONBLOCK | O_RDWR);
	if (!(afd_flags & SOCK_CLOEXEC))
		real()->fcntl(sv[0], F_SETFD, 0);
	if (afd_flags & SOCK_NONBLOCK)
		real()->fcntl(sv[0], F_SETFL, O_NONBLOCK | O_RDWR);
	s = sock_new(domain, base, h, sv[0], bfd);
	if (!s) {
		real()->close(sv[0]);
		stack_ep_close(eng.st, h);
		return ENOMEM;
	}
	if (eng_epoll_add(s) < 0) {
		sock_unmap(sv[0]);
		real()->close(sv[0]);
		return ENOMEM;
	}
	*out_fd = sv[0];
	*out = s;
	return 0;
}

/* The socket behind fd, checked: ENOTSOCK for a non-socket, NULL with
 * *passthrough when fd is not ours. */
static struct shim_sock *lookup(int fd, bool *passthrough)
{
	struct shim_sock *s = sock_of(fd);

	*passthrough = s == NULL;
	return s;
}

int shim_socket(int domain, int type, int protocol)
{
	struct shim_sock *s = NULL;
	int fd = -1, e;

	if ((domain != AF_INET && domain != AF_INET6) || eng_internal)
		return real()->socket(domain, type, protocol);
	if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
		return fail(EINVAL);
	if (eng.mode == ENG_REFUSED || eng.mode == ENG_CHILD) {
		eng_refused_warning();
		return fail(EACCES);
	}
	if (eng.mode != ENG_RUNNING)
		return fail(EAFNOSUPPORT);
	eng_lock();
	e = open_sock(domain, type, protocol, type, &fd, &s);
	if (!e && s->type == SOCK_STREAM && sock_stuff(s, fd) < 0)
		e = ENOBUFS;
	eng_unlock();
	if (e) {
		if (fd >= 0)
			real()->close(fd);
		return fail(e);
	}
	return fd;
}

int socket(int domain, int type, int protocol)
{
	return shim_socket(domain, type, protocol);
}

/* ---- bind, listen ----------------------------------------------------------- */

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	struct stack_sockaddr a;
	int e;

	if (pass)
		return real()->bind(fd, sa, len);
	if ((e = eng_child_refuse()))
		return fail(e);
	e = sa_to_stack(sa, len, s->family, &a);
	if (e == EAFNOSUPPORT && sa && sa->sa_family == AF_UNSPEC)
		e = 0;
	if (e)
		return fail(e);
	eng_lock();
	e = s->h >= 0 ? -stack_ep_bind(eng.st, s->h, &a) : EINVAL;
	eng_unlock();
	return e ? fail(e) : 0;
}

int listen(int fd, int backlog)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	int e;

	if (pass)
		return real()->listen(fd, backlog);
	if ((e = eng_child_refuse()))
		return fail(e);
	eng_lock();
	if (s->type != SOCK_STREAM)
		e = EOPNOTSUPP;
	else if (s->state != SS_FRESH && s->state != SS_LISTEN)
		e = EINVAL;
	else
		e = -stack_ep_listen(eng.st, s->h, backlog);
	if (!e) {
		s->state = SS_LISTEN;
		sock_pump(s);
	}
	eng_unlock();
	return e ? fail(e) : 0;
}

/* ---- accept ------------------------------------------------------------------- */

static bool fd_nonblocking(int fd)
{
	int fl = real()->fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK);
}

/* Take the "connections wait" byte out of A once the queue is empty. */
static void drop_token(struct shim_sock *s, int fd)
{
	char c;

	int q = stack_ep_acceptq(eng.st, s->h);

	if (q >= 0)
		s->acceptq_seen = q;
	if (!s->tokens || (stack_ep_events(eng.st, s->h) & STACK_EV_IN))
		return;
	/* the queue is empty: A stops polling readable */
	while (s->tokens && real()->recv(fd, &c, 1, MSG_DONTWAIT) == 1)
		s->tokens--;
	s->tokens = 0;
}

static int do_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass), *c;
	struct stack_sockaddr peer;
	int h, e, nfd = -1;
	char ch;

	if (pass)
		return flags ? real()->accept4(fd, sa, len, flags)
			     : real()->accept(fd, sa, len);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return fail(EINVAL);
	if (s->type != SOCK_STREAM)
		return fail(EOPNOTSUPP);
	/* a fork child must not take the parent's "connections wait" byte */
	if ((e = eng_child_refuse()))
		return fail(e);
	for (;;) {
		eng_lock();
		if (s->state != SS_LISTEN || s->h < 0) {
			eng_unlock();
			return fail(EINVAL);
		}
		h = stack_ep_accept(eng.st, s->h, &peer);
		if (h >= 0) {
			int sv[2];
			e = 0;
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
				e = errno;
				stack_ep_close(eng.st, h);
			} else {
				int bfd = eng_private_fd_new(sv[1]);
				if (bfd < 0) {
					e = -bfd;
					real()->close(sv[0]);
					real()->close(sv[1]);
					stack_ep_close(eng.st, h);
				} else {
					real()->fcntl(bfd, F_SETFL, O_NONBLOCK | O_RDWR);
					if (!(flags & SOCK_CLOEXEC))
						real()->fcntl(sv[0], F_SETFD, 0);
					if (flags & SOCK_NONBLOCK)
						real()->fcntl(sv[0], F_SETFL, O_NONBLOCK | O_RDWR);
					c = sock_new(s->family, SOCK_STREAM, h, sv[0], bfd);
					if (!c || eng_epoll_add(c) < 0) {
						e = ENOMEM;
						if (c)
							sock_unmap(sv[0]);
						else
							stack_ep_close(eng.st, h);
						real()->close(sv[0]);
					} else {
						c->state = SS_OPEN;
						c->was_open = true;
						c->connect_told = true;
						c->b_out = true;
						nfd = sv[0];
						sock_pump(c);
					}
				}
			}
			drop_token(s, fd);
			eng_unlock();
			if (e)
				return fail(e);
			sa_from_stack(&peer, s->family, sa, len);
			return nfd;
		}
		drop_token(s, fd);
		eng_unlock();
		if (h != -EAGAIN)
			return fail(-h);
		if (fd_nonblocking(fd))
			return fail(EAGAIN);
		/* Sleep in the kernel until the token byte arrives: signals,
		 * SA_RESTART and SO_RCVTIMEO behave as for a real accept. */
		if (real()->recv(fd, &ch, 1, MSG_PEEK) < 0)
			return -1;
	}
}

int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	return do_accept(fd, sa, len, 0);
}

int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	return do_accept(fd, sa, len, flags);
}

/* ---- connect ------------------------------------------------------------------- */

static int timeval_ms(const struct timeval *tv)
{
	if (!tv->tv_sec && !tv->tv_usec)
		return -1;
	long long ms = (long long)tv->tv_sec * 1000 + tv->tv_usec / 1000;
	return ms > 0x7fffffff ? 0x7fffffff : (int)(ms ? ms : 1);
}

int shim_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	struct stack_sockaddr a;
	int e, r;

	if (pass)
		return real()->connect(fd, sa, len);
	if ((e = eng_child_refuse()))
		return fail(e);
	e = sa_to_stack(sa, len, s->family, &a);
	if (e)
		return fail(e);
	eng_lock();
	if (s->type == SOCK_DGRAM) {
		e = -stack_ep_connect(eng.st, s->h, &a);
		eng_unlock();
		return e ? fail(e) : 0;
	}
	switch (s->state) {
	case SS_FRESH:
		r = stack_ep_connect(eng.st, s->h, &a);
		if (r == 0 || r == -EINPROGRESS) {
			s->state = SS_CONNECTING;
			sock_pump(s);
		}
		break;
	case SS_CONNECTING:
		r = -EALREADY;
		break;
	case SS_OPEN:
		/* __inet_stream_connect: the call that finds the
		 * connection made reports 0, later ones EISCONN */
		r = s->connect_told ? -EISCONN : 0;
		s->connect_told = true;
		eng_unlock();
		return r ? fail(-r) : 0;
	case SS_DEAD:
		/* Linux: a socket whose connection failed reports the error,
		 * else ECONNABORTED (__inet_stream_connect, sock_error) */
		r = s->err ? -sock_take_err(s) : -ECONNABORTED;
		break;
	default: /* listening */
		r = -EISCONN;
		if (a.family == STACK_AF_UNSPEC)
			r = 0;
		break;
	}
	if (r == 0 || r == -EINPROGRESS) {
		/* Linux answers a non-blocking TCP connect with EINPROGRESS
		 * even when loopback completes it at once. */
		if (fd_nonblocking(fd)) {
			eng_unlock();
			return fail(EINPROGRESS);
		}
		if (s->state == SS_OPEN) {
			s->connect_told = true;
			eng_unlock();
			return 0;
		}
		int ms = timeval_ms(&s->sndtimeo);
		eng_unlock();
		/* Wait in the kernel for A to turn writable (connected) or
		 * reset (failed); a signal ends the wait with EINTR and the
		 * connection goes on, as on Linux. */
		for (;;) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int n = poll(&p, 1, ms);
			if (n < 0)
				return -1;
			eng_lock();
			if (s->state == SS_OPEN) {
				s->connect_told = true;
				eng_unlock();
				return 0;
			}
			if (s->state == SS_DEAD) {
				e = sock_take_err(s);
				s->connect_failed = true;
				eng_unlock();
				return fail(e ? e : ECONNREFUSED);
			}
			eng_unlock();
			if (n == 0)
				return fail(EINPROGRESS); /* SO_SNDTIMEO */
		}
	}
	eng_unlock();
	return fail(-r);
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return shim_connect(fd, sa, len);
}

/* ---- names ------------------------------------------------------------------------ */

static int get_name(int fd, struct sockaddr *sa, socklen_t *len, bool peer)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	struct stack_sockaddr a;
	int r;

	if (pass)
		return peer ? real()->getpeername(fd, sa, len) : real()->getsockname(fd, sa, len);
	if (!len)
		return fail(EFAULT);
	if ((int)*len < 0)
		return fail(EINVAL);
	eng_lock();
	if (s->h < 0)
		r = -EINVAL;
	else if (peer && s->state == SS_DEAD)
		r = -ENOTCONN;
	else
		r = peer ? stack_ep_getpeername(eng.st, s->h, &a)
			 : stack_ep_getsockname(eng.st, s->h, &a);
	eng_unlock();
	if (r < 0)
		return fail(-r);
	sa_from_stack(&a, s->family, sa, len);
	return 0;
}

int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	return get_name(fd, sa, len, false);
}

int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	return get_name(fd, sa, len, true);
}

/* ---- shutdown ---------------------------------------------------------------------- */

int shutdown(int fd, int how)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	int r = 0;

	if (pass)
		return real()->shutdown(fd, how);
	if (how < SHUT_RD || how > SHUT_RDWR)
		return fail(EINVAL);
	if (eng.mode == ENG_CHILD) {
		/* the parent's engine sees the shutdown on its B */
		if (s->type == SOCK_STREAM && s->state == SS_OPEN)
			return real()->shutdown(fd, how);
		return fail(eng_child_refuse());
	}
	eng_lock();
	if (s->type == SOCK_STREAM && s->state == SS_OPEN) {
		/* On A: the kernel then gives EPIPE to later writes and end of
		 * file to reads, and B sees the end of the program's stream
		 * after everything written before, which sends the FIN. */
		if (real()->shutdown(fd, how) < 0)
			r = -errno;
		if (how != SHUT_WR)
			stack_ep_shutdown(eng.st, s->h, STACK_SHUT_RD);
	} else if (s->type == SOCK_STREAM && s->state == SS_DEAD) {
		r = -ENOTCONN;
	} else {
		r = stack_ep_shutdown(eng.st, s->h, how);
		/* UDP: reads on A end (Linux: recv returns 0); the write
		 * side is the stack's (EPIPE from now on) */
		if (r == 0 && s->type == SOCK_DGRAM && how != SHUT_WR)
			real()->shutdown(fd, SHUT_RD);
		if (r == 0 && s->type == SOCK_STREAM && s->state == SS_LISTEN && how != SHUT_WR &&
		    !s->tokens && s->bfd >= 0) {
			/* shutdown(SHUT_RD) of a listener ends accept(): wake
			 * a blocked one (it then finds EINVAL) */
			if (real()->send(s->bfd, "L", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
				s->tokens++;
		}
	}
	eng_unlock();
	return r ? fail(-r) : 0;
}

/* ---- options ------------------------------------------------------------------------- */

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < (socklen_t)sizeof(int))
		return EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	int r, v;

	if (pass)
		return real()->setsockopt(fd, level, name, val, len);
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_RCVTIMEO:
		case SO_SNDTIMEO:
			/* the waits happen on A: the kernel applies them */
			if (real()->setsockopt(fd, level, name, val, len) < 0)
				return -1;
			if (len >= (socklen_t)sizeof(struct timeval))
				memcpy(name == SO_RCVTIMEO ? &s->rcvtimeo : &s->sndtimeo, val,
				       sizeof(struct timeval));
			return 0;
		case SO_RCVLOWAT:
			/* reads happen on A: the kernel applies it there */
			if ((r = opt_int(val, len, &v)))
				return fail(r);
			return real()->setsockopt(fd, level, name, val, len);
		case SO_TYPE:
		case SO_DOMAIN:
		case SO_PROTOCOL:
		case SO_ERROR:
		case SO_ACCEPTCONN:
			return fail(ENOPROTOOPT);
		}
	}
	if ((r = eng_child_refuse()))
		return fail(r);
	eng_lock();
	r = s->h >= 0 ? stack_ep_setopt(eng.st, s->h, level, name, val, len) : -EBADF;
	if (r == 0 && opt_int(val, len, &v) == 0) {
		if (level == IPPROTO_IP && name == IP_PKTINFO)
			s->pktinfo4 = v != 0;
		if (level == IPPROTO_IPV6 && name == IPV6_RECVPKTINFO)
			s->pktinfo6 = v != 0;
	}
	eng_unlock();
	return r < 0 ? fail(-r) : 0;
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	size_t l;
	int r;

	if (pass)
		return real()->getsockopt(fd, level, name, val, len);
	if (!len || !val)
		return fail(EFAULT);
	if ((int)*len < 0)
		return fail(EINVAL);
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO))
		return real()->getsockopt(fd, level, name, val, len);
	if (level == SOL_SOCKET && name == SO_RCVLOWAT)
		return real()->getsockopt(fd, level, name, val, len);
	if (*len == 0) {
		/* Linux copies min(len, size): nothing, if the option exists */
		char tmp[256];
		size_t tl = sizeof(tmp);
		eng_lock();
		r = s->h >= 0 ? stack_ep_getopt(eng.st, s->h, level, name, tmp, &tl) : -EBADF;
		eng_unlock();
		return r < 0 ? fail(-r) : 0;
	}
	eng_lock();
	if (level == SOL_SOCKET && name == SO_ERROR && s->type == SOCK_DGRAM) {
		/* an ICMP error waiting beside the datagrams (a marker in the
		 * FIFO): SO_ERROR reports and consumes it, as sock_error() */
		for (unsigned i = 0; i < s->qlen; i++) {
			struct dgram_meta *m = &s->q[(s->qhead + i) % s->qcap];
			if (m->err > 0) {
				int e = m->err;
				m->err = -1;
				if (i == 0) {
					/* first in line: take its marker out of A
					 * too, so A stops polling readable */
					char c;
					if (real()->recv(fd, &c, 0, MSG_DONTWAIT) == 0) {
						s->qhead = (s->qhead + 1) % s->qcap;
						s->qlen--;
					}
				}
				eng_unlock();
				l = *len < sizeof(int) ? *len : sizeof(int);
				memcpy(val, &e, l);
				*len = (socklen_t)l;
				return 0;
			}
		}
	}
	if (level == SOL_SOCKET && name == SO_ERROR && s->err) {
		int e = sock_take_err(s);
		eng_unlock();
		l = *len < sizeof(int) ? *len : sizeof(int);
		memcpy(val, &e, l);
		*len = (socklen_t)l;
		return 0;
	}
	l = *len;
	r = s->h >= 0 ? stack_ep_getopt(eng.st, s->h, level, name, val, &l) : -EBADF;
	eng_unlock();
	if (r < 0)
		return fail(-r);
	*len = (socklen_t)l;
	return 0;
}
