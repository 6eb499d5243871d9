/*
 * session.c — the control channel of a session (session.h): the owner's
 * listener and client connections, served from the stack thread's epoll
 * (engine.c stack_thread -> sess_owner_event -> sess_serve in socket.c),
 * and the client's call helper used by the hooks of a client (a fork
 * child, or a program exec'd in the session).
 * Every libc call here goes through real() (STYLE.md 12).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "real.h"
#include "session.h"

/* A pre-fork server rarely has more workers than this; a connection
 * beyond it is closed, and that client's calls fail (ENETDOWN). */
#define SESS_MAX_CLIENTS 256
#define SESS_BACKLOG 64

/* The abstract name: '\0' then "netshim-<pid>-<random>". */
static char sess_name[64];
static socklen_t sess_name_len;

/* Owner. */
static struct {
	int epfd;
	int lfd;
	char tag; /* its address is the listener's epoll tag */
	pid_t root; /* the session's first owner (NETSHIM_HOLDER) */
	int cfd[SESS_MAX_CLIENTS];
	pid_t cpid[SESS_MAX_CLIENTS]; /* each client's process */
	bool used[SESS_MAX_CLIENTS];
	struct sess_req req; /* the request being served */
	char *xbuf;	     /* its extension (SESS_XDATA bytes) */
} O = {.epfd = -1, .lfd = -1};

/* Client: one connection per process, one call at a time. */
static struct {
	pthread_mutex_t lock;
	int fd;
} C = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static void make_addr(struct sockaddr_un *un, socklen_t *len)
{
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, sess_name, sess_name_len);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sess_name_len);
}

/* ---- owner ------------------------------------------------------------------ */

int sess_owner_start(int epfd)
{
	struct sockaddr_un un;
	struct epoll_event ev;
	socklen_t len;
	uint32_t rnd;
	char var[80];
	int fd, e;

	O.xbuf = malloc(SESS_XDATA);
	if (!O.xbuf)
		return -ENOMEM;
	arc4random_buf(&rnd, sizeof(rnd));
	sess_name[0] = '\0';
	snprintf(sess_name + 1, sizeof(sess_name) - 1, "netshim-%d-%08x", (int)getpid(), rnd);
	sess_name_len = (socklen_t)(1 + strlen(sess_name + 1));
	fd = real()->socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	make_addr(&un, &len);
	if (real()->bind(fd, (struct sockaddr *)&un, len) < 0 ||
	    real()->listen(fd, SESS_BACKLOG) < 0) {
		e = errno;
		real()->close(fd);
		return -e;
	}
	O.lfd = eng_private_fd_new(fd);
	if (O.lfd < 0)
		return O.lfd;
	O.epfd = epfd;
	O.root = getpid();
	ev.events = EPOLLIN;
	ev.data.ptr = &O.tag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, O.lfd, &ev) < 0)
		return -errno;
	snprintf(var, sizeof(var), "@%s", sess_name + 1);
	setenv("NETSHIM_SESSION", var, 1);
	return 0;
}

static void client_close(int i)
{
	epoll_ctl(O.epfd, EPOLL_CTL_DEL, O.cfd[i], NULL);
	eng_private_close(O.cfd[i]);
	O.cfd[i] = -1;
	O.used[i] = false;
}

/* Who may drive the stack: a process of the same user, or a descendant
 * of the session's first owner, of this process (a keeper, which took the
 * session over) or of a connected client (a daemon's workers, which drop
 * their privileges after fork, as nginx's do, after their master was
 * reparented).  The abstract name is visible in /proc/net/unix to every
 * process of the network namespace. */
static bool peer_ok(int fd, pid_t *pid)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	pid_t p;

	if (real()->getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
		return false;
	*pid = cr.pid;
	if (cr.uid == geteuid())
		return true;
	p = cr.pid;
	for (int depth = 0; depth < 64 && p > 1; depth++) {
		p = eng_parent_of(p);
		if (p == getpid() || p == O.root)
			return true;
		for (int i = 0; i < SESS_MAX_CLIENTS; i++)
			if (O.used[i] && O.cpid[i] == p)
				return true;
	}
	return false;
}

static void accept_clients(void)
{
	for (int round = 0; round < 16; round++) {
		int fd = real()->accept4(O.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		pid_t pid = 0;
		int i;

		if (fd < 0)
			return;
		for (i = 0; i < SESS_MAX_CLIENTS && O.used[i]; i++)
			;
		if (i == SESS_MAX_CLIENTS || !peer_ok(fd, &pid)) {
			if (i == SESS_MAX_CLIENTS)
				shim_log(SHIM_LOG_WARN, "session: more than %d client processes",
					 SESS_MAX_CLIENTS);
			real()->close(fd);
			continue;
		}
		fd = eng_private_fd_new(fd);
		if (fd < 0)
			continue;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = &O.cfd[i]};
		O.cfd[i] = fd;
		O.cpid[i] = pid;
		O.used[i] = true;
		if (epoll_ctl(O.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			client_close(i);
	}
}

/* The descriptors a message carried: the first in *fd, the rest closed. */
static void take_fds(struct msghdr *m, int *fd)
{
	struct cmsghdr *c;

	*fd = -1;
	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t k = 0; k < n; k++) {
			int v;
			memcpy(&v, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			if (*fd < 0)
				*fd = v;
			else
				real()->close(v);
		}
	}
}

/* One message of the iovcnt buffers in iov (the first passfd along). */
static int send_msgv(int fd, struct iovec *iov, int iovcnt, int passfd, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
	size_t len = 0;
	ssize_t n;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (passfd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	do
		n = real()->sendmsg(fd, &m, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : (n < 0 ? errno : EPROTO);
}

static int send_msg(int fd, const void *buf, size_t len, int passfd, int flags)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

	return send_msgv(fd, &iov, 1, passfd, flags);
}

/* Read a message; *fd gets the descriptor it carried (or -1).  Returns
 * the length, 0 at end of file, or -errno. */
static ssize_t recv_msgv(int fd, struct iovec *iov, int iovcnt, int *pfd, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = iov,
			   .msg_iovlen = (size_t)iovcnt,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	ssize_t n;

	do
		n = real()->recvmsg(fd, &m, flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	take_fds(&m, pfd);
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (*pfd >= 0)
			real()->close(*pfd);
		*pfd = -1;
		return -EPROTO;
	}
	return n;
}

static ssize_t recv_msg(int fd, void *buf, size_t cap, int *pfd, int flags)
{
	struct iovec iov = {.iov_base = buf, .iov_len = cap};

	return recv_msgv(fd, &iov, 1, pfd, flags);
}

/* Whether a request of n bytes is well formed: exactly its header and
 * data, or (SOP_SENDTO) the whole structure and its extension. */
static bool req_ok(const struct sess_req *rq, size_t n)
{
	if (n < SESS_REQ_HDR || rq->len > SESS_DATA)
		return false;
	if (rq->xlen == 0)
		return n == SESS_REQ_HDR + rq->len;
	return rq->op == SOP_SENDTO && rq->xlen <= SESS_XDATA && n == sizeof(*rq) + rq->xlen;
}

/* One request from client i; false when the connection must go. */
static bool serve_one(int i)
{
	struct sess_req *req = &O.req;
	struct sess_resp resp;
	struct iovec iov[2] = {{.iov_base = req, .iov_len = sizeof(*req)},
			       {.iov_base = O.xbuf, .iov_len = SESS_XDATA}};
	int afd, nfd = -1;
	ssize_t n;
	bool keep = true;

	n = recv_msgv(O.cfd[i], iov, 2, &afd, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -EAGAIN)
		return true;
	if (n <= 0)
		return false;
	memset(&resp, 0, sizeof(resp));
	if (!req_ok(req, (size_t)n)) {
		resp.err = EPROTO;
	} else {
		sess_serve(req, O.xbuf, afd, &resp, &nfd);
		if (resp.len > SESS_DATA)
			resp.len = 0;
	}
	if (send_msg(O.cfd[i], &resp, SESS_RESP_HDR + resp.len, nfd, MSG_DONTWAIT))
		keep = false; /* a client that does not read its answers */
	if (nfd >= 0)
		real()->close(nfd);
	if (afd >= 0)
		real()->close(afd);
	return keep;
}

int sess_owner_event(void *ptr, uint32_t events)
{
	if (ptr == &O.tag) {
		accept_clients();
		return 1;
	}
	if ((int *)ptr < O.cfd || (int *)ptr >= O.cfd + SESS_MAX_CLIENTS)
		return 0;
	int i = (int)((int *)ptr - O.cfd);
	if (!O.used[i])
		return 1;
	/* a bounded number per wake-up: other clients and the TUN wait */
	for (int round = 0; round < 64; round++) {
		int pending = 0;

		if (!serve_one(i)) {
			client_close(i);
			return 1;
		}
		if (real()->ioctl(O.cfd[i], FIONREAD, &pending) < 0 || pending == 0)
			break;
	}
	if ((events & (EPOLLHUP | EPOLLERR)) && O.used[i]) {
		int pending = 0;
		if (real()->ioctl(O.cfd[i], FIONREAD, &pending) < 0 || pending == 0)
			client_close(i);
	}
	return 1;
}

/* ---- client ---------------------------------------------------------------- */

/* The owner's epoll knows a descriptor by its number: register it again. */
static void epoll_move(int fd, int nfd, void *tag, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = tag};

	epoll_ctl(O.epfd, EPOLL_CTL_DEL, fd, NULL);
	epoll_ctl(O.epfd, EPOLL_CTL_ADD, nfd, &ev);
}

void sess_fd_moved(int fd, int nfd)
{
	if (fd == O.epfd)
		O.epfd = nfd;
	if (fd == O.lfd) {
		epoll_move(fd, nfd, &O.tag, EPOLLIN);
		O.lfd = nfd;
	}
	if (fd == C.fd)
		C.fd = nfd;
	for (int i = 0; i < SESS_MAX_CLIENTS; i++)
		if (O.used[i] && O.cfd[i] == fd) {
			epoll_move(fd, nfd, &O.cfd[i], EPOLLIN | EPOLLRDHUP);
			O.cfd[i] = nfd;
		}
}

void sess_client_prefork(bool before)
{
	if (before)
		pthread_mutex_lock(&C.lock);
	else
		pthread_mutex_unlock(&C.lock);
}

void sess_client_atfork(void)
{
	pthread_mutex_init(&C.lock, NULL);
	if (C.fd >= 0)
		eng_private_close(C.fd);
	C.fd = -1;
}

void sess_owner_forget(void)
{
	/* no EPOLL_CTL_DEL: a keeper shares the epoll instance */
	if (O.lfd >= 0)
		eng_private_close(O.lfd);
	O.lfd = -1;
	O.epfd = -1; /* the engine closes it */
	for (int i = 0; i < SESS_MAX_CLIENTS; i++)
		if (O.used[i]) {
			eng_private_close(O.cfd[i]);
			O.used[i] = false;
		}
}

int sess_owner_clients(void)
{
	int n = 0;

	for (int i = 0; i < SESS_MAX_CLIENTS; i++)
		n += O.used[i];
	return n;
}

static int client_connect(void)
{
	struct sockaddr_un un;
	socklen_t len;
	int fd, e;

	if (!sess_name_len) {
		/* an exec'd program: the name comes in the environment */
		const char *v = getenv("NETSHIM_SESSION");
		if (!v || v[0] != '@' || strlen(v) + 1 > sizeof(sess_name))
			return EACCES;
		sess_name[0] = '\0';
		memcpy(sess_name + 1, v + 1, strlen(v + 1));
		sess_name_len = (socklen_t)strlen(v);
	}
	fd = real()->socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	make_addr(&un, &len);
	while (real()->connect(fd, (struct sockaddr *)&un, len) < 0) {
		if (errno == EINTR)
			continue;
		e = errno;
		real()->close(fd);
		return e == ENOENT || e == ECONNREFUSED ? ENETDOWN : e;
	}
	/* room for a request with a whole datagram (SOP_SENDTO): AF_UNIX
	 * refuses a message larger than the sender's SO_SNDBUF */
	int sb = 4 * (int)sizeof(struct sess_req) + 2 * SESS_XDATA;
	real()->setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	fd = eng_private_fd_new(fd);
	if (fd < 0)
		return -fd;
	C.fd = fd;
	return 0;
}

int sess_client_join(void)
{
	int e = 0;

	pthread_mutex_lock(&C.lock);
	if (C.fd < 0)
		e = client_connect();
	pthread_mutex_unlock(&C.lock);
	return e;
}

static int call(const struct sess_req *req, const struct iovec *x, int xcnt, int afd,
		struct sess_resp *resp, int *newfd, bool cloexec)
{
	struct iovec iov[1 + SESS_XIOV];
	int e, nfd = -1;
	ssize_t n;

	if (newfd)
		*newfd = -1;
	memset(resp, 0, SESS_RESP_HDR);
	if (req->len > SESS_DATA || req->xlen > SESS_XDATA || xcnt < 0 || xcnt > SESS_XIOV ||
	    (req->xlen && req->op != SOP_SENDTO))
		return EINVAL;
	iov[0].iov_base = (void *)req;
	iov[0].iov_len = req->xlen ? sizeof(*req) : SESS_REQ_HDR + req->len;
	for (int i = 0; i < xcnt; i++)
		iov[1 + i] = x[i];
	pthread_mutex_lock(&C.lock);
	if (C.fd < 0 && (e = client_connect())) {
		pthread_mutex_unlock(&C.lock);
		return e;
	}
	e = send_msgv(C.fd, iov, req->xlen ? 1 + xcnt : 1, afd, 0);
	if (!e) {
		n = recv_msg(C.fd, resp, sizeof(*resp), &nfd, cloexec ? MSG_CMSG_CLOEXEC : 0);
		if (n < (ssize_t)SESS_RESP_HDR || resp->len > (size_t)n - SESS_RESP_HDR)
			e = n < 0 ? (int)-n : ENETDOWN; /* 0: the owner is gone */
	}
	if (e) {
		/* the channel is broken: the next call connects again */
		eng_private_close(C.fd);
		C.fd = -1;
		if (nfd >= 0)
			real()->close(nfd);
		pthread_mutex_unlock(&C.lock);
		return e == EPIPE || e == ECONNRESET ? ENETDOWN : e;
	}
	pthread_mutex_unlock(&C.lock);
	if (newfd)
		*newfd = nfd;
	else if (nfd >= 0)
		real()->close(nfd);
	return 0;
}

int sess_call(const struct sess_req *req, int afd, struct sess_resp *resp, int *newfd, bool cloexec)
{
	return call(req, NULL, 0, afd, resp, newfd, cloexec);
}

int sess_call_x(const struct sess_req *req, const struct iovec *x, int xcnt, int afd,
		struct sess_resp *resp)
{
	return call(req, x, xcnt, afd, resp, NULL, false);
}
