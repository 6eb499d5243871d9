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
#include "netshim.h"
#include "real.h"
#include "session.h"
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
	bfd = eng_private_fd_new(sv[1]); /* closes sv[1] */
	if (bfd < 0) {
		real()->close(sv[0]);
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

/* Under the lock: a new socket and its A (*fd), stuffed if TCP. */
static int socket_locked(int domain, int type, int protocol, int *fd)
{
	struct shim_sock *s = NULL;
	int e;

	*fd = -1;
	e = open_sock(domain, type, protocol, type, fd, &s);
	if (!e && s->type == SOCK_STREAM && sock_stuff(s, *fd) < 0)
		e = ENOBUFS;
	return e;
}

static int child_socket(int domain, int type, int protocol);

int shim_socket(int domain, int type, int protocol)
{
	int fd = -1, e;

	if ((domain != AF_INET && domain != AF_INET6) || eng_internal)
		return real()->socket(domain, type, protocol);
	if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
		return fail(EINVAL);
	if (eng.mode == ENG_CHILD)
		return child_socket(domain, type, protocol);
	if (eng.mode == ENG_REFUSED) {
		eng_refused_warning();
		return fail(EACCES);
	}
	if (eng.mode != ENG_RUNNING)
		return fail(EAFNOSUPPORT);
	eng_lock();
	e = socket_locked(domain, type, protocol, &fd);
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

static int child_simple(int fd, struct shim_sock *s, int op, int a0, int a1, const void *data,
			socklen_t len);

static int bind_locked(struct shim_sock *s, const struct sockaddr *sa, socklen_t len)
{
	struct stack_sockaddr a;
	int e = sa_to_stack(sa, len, s->family, &a);

	if (e == EAFNOSUPPORT && sa && sa->sa_family == AF_UNSPEC)
		e = 0;
	if (e)
		return e;
	return s->h >= 0 ? -stack_ep_bind(eng.st, s->h, &a) : EINVAL;
}

static int listen_locked(struct shim_sock *s, int backlog)
{
	int e;

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
	return e;
}

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	struct stack_sockaddr a;
	int e;

	if (pass)
		return real()->bind(fd, sa, len);
	if (eng.mode == ENG_CHILD)
		return child_simple(fd, s, SOP_BIND, 0, 0, sa, len);
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
	if (eng.mode == ENG_CHILD)
		return child_simple(fd, s, SOP_LISTEN, backlog, 0, NULL, 0);
	eng_lock();
	e = listen_locked(s, backlog);
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

/* Under the lock: one connection from listener s, whose A is fd; its A,
 * or -errno (-EAGAIN: none waiting). */
static int accept_one(struct shim_sock *s, int fd, int flags, struct stack_sockaddr *peer)
{
	struct shim_sock *c;
	int h, e, nfd = -1, sv[2];

	if (s->state != SS_LISTEN || s->h < 0)
		return -EINVAL;
	h = stack_ep_accept(eng.st, s->h, peer);
	if (h < 0) {
		drop_token(s, fd);
		return h;
	}
	e = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		e = errno;
		stack_ep_close(eng.st, h);
	} else {
		int bfd = eng_private_fd_new(sv[1]);
		if (bfd < 0) { /* sv[1] is closed */
			e = -bfd;
			real()->close(sv[0]);
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
	return e ? -e : nfd;
}

static int child_accept(int fd, struct shim_sock *s, struct sockaddr *sa, socklen_t *len,
			int flags);

static int do_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	struct stack_sockaddr peer;
	int nfd;
	char ch;

	if (pass)
		return flags ? real()->accept4(fd, sa, len, flags)
			     : real()->accept(fd, sa, len);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return fail(EINVAL);
	if (s->type != SOCK_STREAM)
		return fail(EOPNOTSUPP);
	if (eng.mode == ENG_CHILD)
		return child_accept(fd, s, sa, len, flags);
	for (;;) {
		eng_lock();
		nfd = accept_one(s, fd, flags, &peer);
		eng_unlock();
		if (nfd >= 0) {
			sa_from_stack(&peer, s->family, sa, len);
			return nfd;
		}
		if (nfd != -EAGAIN)
			return fail(-nfd);
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

/* Under the lock: connect s (A is nonblocking or not).  0 when connected
 * (and told), -EINPROGRESS while it goes on, else -errno. */
static int connect_locked(struct shim_sock *s, const struct stack_sockaddr *a, bool nonblock)
{
	int r;

	if (s->type == SOCK_DGRAM)
		return stack_ep_connect(eng.st, s->h, a);
	switch (s->state) {
	case SS_FRESH:
		r = stack_ep_connect(eng.st, s->h, a);
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
		return r;
	case SS_DEAD:
		/* Linux: a socket whose connection failed reports the error,
		 * else ECONNABORTED (__inet_stream_connect, sock_error) */
		r = s->err ? -sock_take_err(s) : -ECONNABORTED;
		break;
	default: /* listening */
		r = -EISCONN;
		if (a->family == STACK_AF_UNSPEC)
			r = 0;
		break;
	}
	if (r == 0 || r == -EINPROGRESS) {
		/* Linux answers a non-blocking TCP connect with EINPROGRESS
		 * even when loopback completes it at once. */
		if (nonblock)
			return -EINPROGRESS;
		if (s->state == SS_OPEN) {
			s->connect_told = true;
			return 0;
		}
		return -EINPROGRESS;
	}
	return r;
}

/* Under the lock: how a blocking connect that waited went: 0, -errno, or
 * -EINPROGRESS (still connecting). */
static int connect_check_locked(struct shim_sock *s)
{
	int e;

	if (s->state == SS_OPEN) {
		s->connect_told = true;
		return 0;
	}
	if (s->state == SS_DEAD) {
		e = sock_take_err(s);
		s->connect_failed = true;
		return -(e ? e : ECONNREFUSED);
	}
	return -EINPROGRESS;
}

static int child_connect(int fd, struct shim_sock *s, const struct sockaddr *sa, socklen_t len);

int shim_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	struct stack_sockaddr a;
	bool nonblock;
	int e, r;

	if (pass)
		return real()->connect(fd, sa, len);
	if (eng.mode == ENG_CHILD)
		return child_connect(fd, s, sa, len);
	e = sa_to_stack(sa, len, s->family, &a);
	if (e)
		return fail(e);
	nonblock = fd_nonblocking(fd);
	eng_lock();
	r = connect_locked(s, &a, nonblock);
	if (r != -EINPROGRESS || nonblock || s->type == SOCK_DGRAM) {
		eng_unlock();
		return r ? fail(-r) : 0;
	}
	int ms = timeval_ms(&s->sndtimeo);
	eng_unlock();
	/* Wait in the kernel for A to turn writable (connected) or reset
	 * (failed); a signal ends the wait with EINTR and the connection
	 * goes on, as on Linux. */
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int n = poll(&p, 1, ms);
		if (n < 0)
			return -1;
		eng_lock();
		r = connect_check_locked(s);
		eng_unlock();
		if (r != -EINPROGRESS)
			return r ? fail(-r) : 0;
		if (n == 0)
			return fail(EINPROGRESS); /* SO_SNDTIMEO */
	}
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return shim_connect(fd, sa, len);
}

/* ---- names ------------------------------------------------------------------------ */

static int getname_locked(struct shim_sock *s, bool peer, struct stack_sockaddr *a)
{
	if (s->h < 0)
		return -EINVAL;
	if (peer && s->state == SS_DEAD)
		return -ENOTCONN;
	return peer ? stack_ep_getpeername(eng.st, s->h, a) : stack_ep_getsockname(eng.st, s->h, a);
}

static int child_getname(int fd, struct shim_sock *s, bool peer, struct stack_sockaddr *a);

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
	if (eng.mode == ENG_CHILD) {
		r = child_getname(fd, s, peer, &a);
	} else {
		eng_lock();
		r = getname_locked(s, peer, &a);
		eng_unlock();
	}
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

static int shutdown_locked(struct shim_sock *s, int fd, int how);

int shutdown(int fd, int how)
{
	bool pass;
	struct shim_sock *s = lookup(fd, &pass);
	int r = 0;

	if (pass)
		return real()->shutdown(fd, how);
	if (how < SHUT_RD || how > SHUT_RDWR)
		return fail(EINVAL);
	if (eng.mode == ENG_CHILD)
		return child_simple(fd, s, SOP_SHUTDOWN, how, 0, NULL, 0);
	eng_lock();
	r = shutdown_locked(s, fd, how);
	eng_unlock();
	return r ? fail(-r) : 0;
}

/* Under the lock: shutdown of s, whose A is fd; 0 or -errno. */
static int shutdown_locked(struct shim_sock *s, int fd, int how)
{
	int r = 0;

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
	return r;
}

/* ---- options ------------------------------------------------------------------------- */

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < (socklen_t)sizeof(int))
		return EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

/* Under the lock: an option the stack keeps; 0 or -errno. */
static int setopt_locked(struct shim_sock *s, int level, int name, const void *val, socklen_t len)
{
	int r, v;

	r = s->h >= 0 ? stack_ep_setopt(eng.st, s->h, level, name, val, len) : -EBADF;
	if (r == 0 && opt_int(val, len, &v) == 0) {
		if (level == IPPROTO_IP && name == IP_PKTINFO)
			s->pktinfo4 = v != 0;
		if (level == IPPROTO_IPV6 && name == IPV6_RECVPKTINFO)
			s->pktinfo6 = v != 0;
	}
	return r < 0 ? r : 0;
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
	if (eng.mode == ENG_CHILD) {
		if (len > SESS_DATA || (len && !val))
			return fail(len > SESS_DATA ? EINVAL : EFAULT);
		r = child_simple(fd, s, SOP_SETOPT, level, name, val, len);
		if (r == 0 && opt_int(val, len, &v) == 0) {
			/* the answer tells its own view (io.c) */
			if (level == IPPROTO_IP && name == IP_PKTINFO)
				s->pktinfo4 = v != 0;
			if (level == IPPROTO_IPV6 && name == IPV6_RECVPKTINFO)
				s->pktinfo6 = v != 0;
		}
		return r;
	}
	eng_lock();
	r = setopt_locked(s, level, name, val, len);
	eng_unlock();
	return r < 0 ? fail(-r) : 0;
}

/* SOL_NETSHIM (netshim.h), under the lock: what the stack and this
 * owner hold now, truncated to *len bytes as Linux truncates. */
static int netshim_opt_locked(int name, void *val, size_t *len)
{
	struct netshim_stats ns = {0};
	struct stack_counters k;
	struct shim_sock *s;

	if (name != NETSHIM_STATS)
		return -ENOPROTOOPT;
	stack_get_counters(eng.st, &k);
	ns.pbuf_small_used = k.pbuf_small_used;
	ns.pbuf_large_used = k.pbuf_large_used;
	ns.tcp_txrec_used = k.tcp_txrec_used;
	ns.endpoints = stack_ep_count(eng.st);
	ns.tcp_time_wait = k.tcp_tw_used;
	TAILQ_FOREACH(s, &eng.socks, link)
		ns.socks++;
	ns.clients = (uint64_t)sess_owner_clients();
	if (*len > sizeof(ns))
		*len = sizeof(ns);
	memcpy(val, &ns, *len);
	return 0;
}

/* Under the lock, for this process or a client: the option into val
 * (*len bytes of room, then the length); 0 or -errno. */
static int getopt_locked(struct shim_sock *s, int afd, int level, int name, void *val,
			 size_t *len)
{
	char tmp[256];
	size_t tl = sizeof(tmp);
	int r, e;

	if (level == SOL_NETSHIM)
		return netshim_opt_locked(name, val, len);
	if (*len == 0) /* Linux copies nothing, if the option exists */
		return s->h >= 0 ? stack_ep_getopt(eng.st, s->h, level, name, tmp, &tl) : -EBADF;
	/* an ICMP error waiting beside the datagrams: SO_ERROR reports and
	 * consumes it, as sock_error() */
	if (level == SOL_SOCKET && name == SO_ERROR && s->type == SOCK_DGRAM &&
	    (e = udp_take_err(s, afd))) {
		*len = *len < sizeof(int) ? *len : sizeof(int);
		memcpy(val, &e, *len);
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_ERROR && s->err) {
		e = sock_take_err(s);
		*len = *len < sizeof(int) ? *len : sizeof(int);
		memcpy(val, &e, *len);
		return 0;
	}
	r = s->h >= 0 ? stack_ep_getopt(eng.st, s->h, level, name, val, len) : -EBADF;
	return r < 0 ? r : 0;
}

static int child_getopt(int fd, struct shim_sock *s, int level, int name, void *val,
			socklen_t *len);

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
	if (eng.mode == ENG_CHILD)
		return child_getopt(fd, s, level, name, val, len);
	eng_lock();
	l = *len;
	r = getopt_locked(s, fd, level, name, val, &l);
	eng_unlock();
	if (r < 0)
		return fail(-r);
	*len = (socklen_t)l;
	return 0;
}

/* ---- a fork child's calls, served by the owner (session.h) -------------------- */

/* One request about the socket whose A is fd; the owner's view of its
 * state comes back with the answer.  0 or an errno value. */
static int child_call(int fd, struct shim_sock *s, struct sess_req *rq, struct sess_resp *rp,
		      int *newfd, bool cloexec)
{
	int e = sess_call(rq, fd, rp, newfd, cloexec);

	if (e)
		return e;
	if (s && s->type == SOCK_STREAM && rp->state >= SS_FRESH && rp->state <= SS_DEAD) {
		s->state = (enum sock_state)rp->state;
		s->connect_failed = rp->val != 0;
	}
	return rp->err;
}

static int child_simple(int fd, struct shim_sock *s, int op, int a0, int a1, const void *data,
			socklen_t len)
{
	struct sess_req rq = {.op = (uint32_t)op, .a = {a0, a1}};
	struct sess_resp rp;
	int e;

	if (len > SESS_DATA)
		return fail(EINVAL);
	if (len && !data)
		return fail(EFAULT);
	if (len)
		memcpy(rq.data, data, len);
	rq.len = len;
	e = child_call(fd, s, &rq, &rp, NULL, false);
	return e ? fail(e) : 0;
}

/* The owner's word about a socket (its state, the SOP_ADOPT fields) into
 * a client's record. */
static void client_state(struct shim_sock *c, enum sock_state state, bool connect_failed,
			 bool was_open, bool connect_told)
{
	c->state = state;
	c->connect_failed = connect_failed;
	c->was_open = was_open;
	c->connect_told = connect_told;
}

/* A socket the owner made: remember it here as a client socket (no
 * endpoint, no B: the owner has them). */
static int child_adopt(int nfd, int family, int type, enum sock_state state)
{
	struct shim_sock *c;

	eng_lock();
	c = sock_new(family, type, -1, nfd, -1);
	if (c && type == SOCK_STREAM)
		client_state(c, state, false, state == SS_OPEN, state == SS_OPEN);
	if (c && type == SOCK_DGRAM)
		c->framed = true; /* a client's socket is framed from birth */
	eng_unlock();
	if (!c) {
		real()->close(nfd);
		return -ENOMEM;
	}
	return nfd;
}

void sock_child_adopt(int fd)
{
	struct sess_req rq = {.op = SOP_ADOPT};
	struct sess_resp rp;
	struct sess_adopt ad;
	struct shim_sock *c;
	int dom = 0;
	socklen_t l = sizeof(dom);

	/* only an AF_UNIX socket can be a netshim socket's A */
	if (eng.mode != ENG_CHILD || sock_of(fd) ||
	    real()->getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_UNIX)
		return;
	/* the owner's word, always: a record here may be a stale copy made
	 * at fork */
	if (sess_call(&rq, fd, &rp, NULL, false) || rp.err || rp.len != sizeof(ad))
		return;
	memcpy(&ad, rp.data, sizeof(ad));
	if ((ad.family != AF_INET && ad.family != AF_INET6) ||
	    (ad.type != SOCK_STREAM && ad.type != SOCK_DGRAM) || rp.state < SS_FRESH ||
	    rp.state > SS_DEAD)
		return;
	eng_lock();
	c = sock_by_a(fd); /* another number of a socket known here */
	if (c && (c->family != ad.family || c->type != ad.type))
		c = NULL;
	if (c)
		sock_map(fd, c);
	else
		c = sock_new(ad.family, ad.type, -1, fd, -1);
	if (c)
		client_state(c, (enum sock_state)rp.state, rp.val != 0, ad.was_open != 0,
			     ad.connect_told != 0);
	eng_unlock();
}

static int child_socket(int domain, int type, int protocol)
{
	struct sess_req rq = {.op = SOP_SOCKET, .a = {domain, type, protocol}};
	struct sess_resp rp;
	int e, nfd;

	if ((type & 0xf) != SOCK_STREAM && (type & 0xf) != SOCK_DGRAM)
		return fail((type & 0xf) == SOCK_RAW ? EPROTONOSUPPORT : ESOCKTNOSUPPORT);
	e = child_call(-1, NULL, &rq, &rp, &nfd, (type & SOCK_CLOEXEC) != 0);
	if (!e && nfd < 0)
		e = EPROTO;
	if (e) {
		if (nfd >= 0)
			real()->close(nfd);
		return fail(e);
	}
	nfd = child_adopt(nfd, domain, type & 0xf, SS_FRESH);
	return nfd < 0 ? fail(-nfd) : nfd;
}

static int child_accept(int fd, struct shim_sock *s, struct sockaddr *sa, socklen_t *len,
			int flags)
{
	struct sess_req rq = {.op = SOP_ACCEPT, .a = {flags}};
	struct sess_resp rp;
	struct stack_sockaddr peer;
	int e, nfd;
	char ch;

	for (;;) {
		e = child_call(fd, s, &rq, &rp, &nfd, (flags & SOCK_CLOEXEC) != 0);
		if (!e && nfd >= 0 && rp.len == sizeof(peer)) {
			memcpy(&peer, rp.data, sizeof(peer));
			nfd = child_adopt(nfd, s->family, SOCK_STREAM, SS_OPEN);
			if (nfd < 0)
				return fail(-nfd);
			sa_from_stack(&peer, s->family, sa, len);
			return nfd;
		}
		if (nfd >= 0)
			real()->close(nfd);
		if (!e)
			e = EPROTO;
		if (e != EAGAIN)
			return fail(e);
		if (fd_nonblocking(fd))
			return fail(EAGAIN);
		/* as in-process: sleep in the kernel until the token byte
		 * arrives in A, then ask again (another process may win);
		 * an error other than a signal's (B gone: the owner died, or
		 * ended the socket) is the owner's to explain */
		if (real()->recv(fd, &ch, 1, MSG_PEEK) < 0 && errno == EINTR)
			return -1;
	}
}

static int child_connect(int fd, struct shim_sock *s, const struct sockaddr *sa, socklen_t len)
{
	struct sess_req rq = {.op = SOP_CONNECT};
	struct sess_resp rp;
	int e, ms;

	if (!sa)
		return fail(EFAULT);
	if (len > SESS_DATA)
		return fail(EINVAL);
	memcpy(rq.data, sa, len);
	rq.len = len;
	e = child_call(fd, s, &rq, &rp, NULL, false);
	if (e != EINPROGRESS || fd_nonblocking(fd) || s->type != SOCK_STREAM)
		return e ? fail(e) : 0;
	ms = timeval_ms(&s->sndtimeo);
	/* the owner unstuffs A when connected, or resets it: wait on A */
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int n = poll(&p, 1, ms);
		if (n < 0)
			return -1;
		memset(&rq, 0, sizeof(rq));
		rq.op = SOP_CONNECT_WAIT;
		e = child_call(fd, s, &rq, &rp, NULL, false);
		if (e != EINPROGRESS)
			return e ? fail(e) : 0;
		if (n == 0)
			return fail(EINPROGRESS); /* SO_SNDTIMEO */
	}
}

static int child_getname(int fd, struct shim_sock *s, bool peer, struct stack_sockaddr *a)
{
	struct sess_req rq = {.op = SOP_GETNAME, .a = {peer}};
	struct sess_resp rp;
	int e = child_call(fd, s, &rq, &rp, NULL, false);

	if (!e && rp.len != sizeof(*a))
		e = EPROTO;
	if (e)
		return -e;
	memcpy(a, rp.data, sizeof(*a));
	return 0;
}

static int child_getopt(int fd, struct shim_sock *s, int level, int name, void *val,
			socklen_t *len)
{
	struct sess_req rq = {.op = SOP_GETOPT, .a = {level, name}};
	struct sess_resp rp;
	int e;

	rq.a[2] = *len > SESS_DATA ? SESS_DATA : (int)*len;
	e = child_call(fd, s, &rq, &rp, NULL, false);
	if (e)
		return fail(e);
	if (rp.len > *len)
		rp.len = *len;
	memcpy(val, rp.data, rp.len);
	*len = rp.len;
	return 0;
}

int sock_child_eof_err(int fd, struct shim_sock *s)
{
	struct sess_req rq = {.op = SOP_GETOPT, .a = {SOL_SOCKET, SO_ERROR, sizeof(int)}};
	struct sess_resp rp;
	int e;

	if (s->s_eof) /* asked already: end of file from now on */
		return 0;
	s->s_eof = true;
	if (sess_call(&rq, fd, &rp, NULL, false) || rp.err || rp.len != sizeof(int))
		return 0;
	memcpy(&e, rp.data, sizeof(e));
	return e;
}

/* ---- the owner's side --------------------------------------------------------- */

/* A request's address, copied out (the data need not be aligned). */
static int req_addr(const struct sess_req *rq, struct shim_sock *s, struct stack_sockaddr *a)
{
	struct sockaddr_storage ss;

	if (rq->len > sizeof(ss))
		return EINVAL;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, rq->data, rq->len);
	return sa_to_stack((struct sockaddr *)&ss, rq->len, s->family, a);
}

/* The new A of a client's socket: the owner keeps no number of it. */
static void give_away(int nfd)
{
	sock_unmap(nfd);
}

void sess_serve(const struct sess_req *rq, const void *x, int afd, struct sess_resp *rp,
		int *newfd)
{
	struct shim_sock *s = NULL;
	struct stack_sockaddr a;
	struct sockaddr_storage ss;
	size_t l;
	int r = 0;

	*newfd = -1;
	rp->state = -1;
	rp->len = 0;
	if (rq->op != SOP_SOCKET) {
		s = sock_by_a(afd);
		if (!s) {
			rp->err = EBADF;
			return;
		}
		/* before the call: a failure in it must keep the record for
		 * this client's next question (sock_fail) */
		s->client_seen = true;
	}
	switch (rq->op) {
	case SOP_SOCKET:
		if (rq->a[0] != AF_INET && rq->a[0] != AF_INET6) {
			r = EAFNOSUPPORT;
			break;
		}
		if (rq->a[1] & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf)) {
			r = EINVAL;
			break;
		}
		/* the owner's copy is close-on-exec whatever the client
		 * asked (the flag does not travel: MSG_CMSG_CLOEXEC does) */
		r = socket_locked(rq->a[0], rq->a[1] | SOCK_CLOEXEC, rq->a[2], newfd);
		if (*newfd >= 0)
			s = sock_of(*newfd);
		if (r && *newfd >= 0) {
			give_away(*newfd);
			real()->close(*newfd);
			*newfd = -1;
			s = NULL;
		} else if (*newfd >= 0) {
			give_away(*newfd);
		}
		break;
	case SOP_BIND:
		if (rq->len > sizeof(ss)) {
			r = EINVAL;
			break;
		}
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, rq->data, rq->len);
		r = bind_locked(s, (struct sockaddr *)&ss, rq->len);
		break;
	case SOP_LISTEN:
		r = listen_locked(s, rq->a[0]);
		break;
	case SOP_ACCEPT:
		if (s->type != SOCK_STREAM) {
			r = EOPNOTSUPP;
			break;
		}
		r = accept_one(s, afd, (rq->a[0] & SOCK_NONBLOCK) | SOCK_CLOEXEC, &a);
		if (r >= 0) {
			struct shim_sock *c = sock_of(r);
			if (c)
				c->client_seen = true;
			*newfd = r;
			give_away(r);
			memcpy(rp->data, &a, sizeof(a));
			rp->len = sizeof(a);
			r = 0;
		} else {
			r = -r;
		}
		break;
	case SOP_CONNECT:
		if ((r = req_addr(rq, s, &a)))
			break;
		/* hold A before: loopback may connect at once, and A must be
		 * unstuffed then */
		if (s->type == SOCK_STREAM && s->state == SS_FRESH)
			sock_hold_a(s, afd);
		r = -connect_locked(s, &a, fd_nonblocking(afd));
		if (s->state != SS_CONNECTING)
			sock_drop_held(s);
		break;
	case SOP_CONNECT_WAIT:
		r = -connect_check_locked(s);
		break;
	case SOP_GETNAME:
		r = -getname_locked(s, rq->a[0] != 0, &a);
		if (!r) {
			memcpy(rp->data, &a, sizeof(a));
			rp->len = sizeof(a);
		}
		break;
	case SOP_SHUTDOWN:
		if (rq->a[0] < SHUT_RD || rq->a[0] > SHUT_RDWR)
			r = EINVAL;
		else
			r = -shutdown_locked(s, afd, rq->a[0]);
		break;
	case SOP_SETOPT:
		r = -setopt_locked(s, rq->a[0], rq->a[1], rq->len ? rq->data : NULL, rq->len);
		break;
	case SOP_ADOPT: {
		struct sess_adopt ad = {s->family, s->type, s->was_open, s->connect_told};
		memcpy(rp->data, &ad, sizeof(ad));
		rp->len = sizeof(ad);
		break;
	}
	case SOP_GETOPT:
		if (rq->a[2] < 0) {
			r = EINVAL;
			break;
		}
		l = (size_t)rq->a[2] > SESS_DATA ? SESS_DATA : (size_t)rq->a[2];
		r = -getopt_locked(s, afd, rq->a[0], rq->a[1], rp->data, &l);
		if (!r)
			rp->len = (uint32_t)l;
		break;
	case SOP_SENDTO: {
		struct iovec iov = {.iov_base = (void *)x, .iov_len = rq->xlen};
		ssize_t n;
		if (s->type != SOCK_DGRAM) {
			r = EOPNOTSUPP;
			break;
		}
		if (rq->a[1] && (r = req_addr(rq, s, &a)))
			break;
		/* never blocks the owner: a blocking sender waits and asks
		 * again (io.c child_udp_send) */
		n = udp_send_locked(s, &iov, 1, rq->a[0] | MSG_DONTWAIT, rq->a[1] ? &a : NULL);
		if (n < 0)
			r = (int)-n;
		else
			rp->val = (int32_t)n;
		break;
	}
	case SOP_UDP_FRAME:
		udp_want_frame(s);
		rp->val = s->framed;
		break;
	case SOP_UDP_POP: {
		struct dgram_meta m;
		if (udp_fifo_pop(s, rq->a[0] != 0, &m)) {
			memcpy(rp->data, &m, sizeof(m));
			rp->len = sizeof(m);
		}
		break;
	}
	case SOP_UDP_ERR:
		rp->val = udp_err_claim(s, (uint32_t)rq->a[0], rq->a[1]);
		break;
	default:
		r = EINVAL;
		break;
	}
	rp->err = r;
	if (s) {
		s->client_seen = true;
		udp_want_frame(s);
		rp->state = (int32_t)s->state;
		if (s->type == SOCK_STREAM)
			rp->val = s->connect_failed;
	}
}
