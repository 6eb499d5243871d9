/*
 * session.h — the control channel between the process that owns the stack
 * (the owner, or a keeper that took it over) and the other processes of
 * its session: fork children and programs exec'd in it.
 *
 * The owner listens on an abstract AF_UNIX SOCK_SEQPACKET socket named in
 * NETSHIM_SESSION; its stack thread serves each client connection
 * (session.c -> sess_serve() in socket.c, under the engine lock).  A
 * client (ENG_CHILD) sends one request per call with its
 * socket's end A attached (SCM_RIGHTS) as the socket's identity: the owner
 * finds the socket by A's inode.  The data path stays A <-> B in the kernel.
 * Blocking calls never block the owner: it answers EAGAIN / EINPROGRESS and
 * the client waits on its own A, then asks again.  A UDP socket a client
 * touched has its datagrams framed in B (engine.h struct dgram_frame), so
 * the client reads sources and errors from A; it sends by request.
 */
#ifndef NETSHIM_SESSION_H
#define NETSHIM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sess_op {
	SOP_SOCKET = 1,	  /* a[0] family, a[1] type|flags, a[2] protocol; new A back */
	SOP_BIND,	  /* A; data: sockaddr */
	SOP_LISTEN,	  /* A; a[0] backlog */
	SOP_ACCEPT,	  /* A; a[0] flags; new A back, data: the peer's sockaddr */
	SOP_CONNECT,	  /* A; data: sockaddr (A's O_NONBLOCK is shared: the owner reads it) */
	SOP_CONNECT_WAIT, /* A: a blocking connect asks how it went */
	SOP_GETNAME,	  /* A; a[0] 1: the peer's name; data back: sockaddr */
	SOP_SHUTDOWN,	  /* A; a[0] how */
	SOP_SETOPT,	  /* A; a[0] level, a[1] name; data: the value */
	SOP_GETOPT,	  /* A; a[0] level, a[1] name, a[2] length; data back */
	/* UDP (io.c; the socket's delivery turns framed, engine.h): */
	SOP_SENDTO,	  /* A; a[0] flags, a[1] 1: data is the destination;
			   * the datagram is the extension (xlen); val back:
			   * bytes sent */
	SOP_UDP_FRAME,	  /* A; val back: 1 when every datagram A will read is
			   * framed, 0 while plain ones are left */
	SOP_UDP_POP,	  /* A: a plain datagram was read (a[0] 1: peeked);
			   * data back: its struct dgram_meta, or none */
	SOP_UDP_ERR,	  /* A; a[0] a framed error's number, a[1] its errno:
			   * val back: the errno to report, or 0 */
	SOP_ADOPT,	  /* A (inherited across exec, or received): data back:
			   * struct sess_adopt; EBADF when A is not a socket of
			   * the session */
};

/* SOP_ADOPT's answer: what the socket is. */
struct sess_adopt {
	int32_t family, type;
	int32_t was_open, connect_told;
};

/* Room for a sockaddr or an option value (TCP_INFO is 232 bytes). */
#define SESS_DATA 512

/* The largest extension: a UDP datagram (65535 - 8, the most an IPv6
 * UDP payload can be without a jumbogram; IPv4's limit, 65507, is the
 * stack's to enforce: EMSGSIZE). */
#define SESS_XDATA 65527

/* On the wire: the header and len bytes of data; or, when xlen > 0
 * (SOP_SENDTO only), the whole structure and xlen bytes of extension.
 * The owner rejects any other length (EPROTO). */
struct sess_req {
	uint32_t op;
	int32_t a[4];
	uint32_t len;  /* bytes of data that follow */
	uint32_t xlen; /* bytes of extension after data[] */
	char data[SESS_DATA];
};

struct sess_resp {
	int32_t err;   /* 0 or an errno value */
	int32_t state; /* the socket's enum sock_state after the call */
	int32_t val;   /* SOP_CONNECT*: connect_failed */
	uint32_t len;  /* bytes of data that follow */
	char data[SESS_DATA];
};

#define SESS_REQ_HDR offsetof(struct sess_req, data)
#define SESS_RESP_HDR offsetof(struct sess_resp, data)

/* Owner: open the listener, add it to epfd (data.ptr = sess_listen_tag()),
 * export NETSHIM_SESSION.  0 or -errno. */
int sess_owner_start(int epfd);
/* Owner, stack thread, under the lock: whether ptr (an epoll event's
 * data.ptr) is the session's, and handle the event if so. */
int sess_owner_event(void *ptr, uint32_t events);

/* Owner, under the lock: execute req for the socket whose A is afd (-1
 * for SOP_SOCKET).  Fills resp; *newfd gets an A to send back (the owner
 * closes it after sending) or stays -1. */
void sess_serve(const struct sess_req *req, const void *x, int afd, struct sess_resp *resp,
		int *newfd);

/* Client: one call to the owner.  afd (or -1) goes along as the socket's
 * identity; *newfd (if not NULL) receives a descriptor the owner sent
 * (close-on-exec if cloexec), else -1.  0 when the owner answered (resp->err
 * is the call's errno), or an errno value for the channel itself (EACCES
 * when there is no owner to ask). */
int sess_call(const struct sess_req *req, int afd, struct sess_resp *resp, int *newfd,
	      bool cloexec);
/* Owner: how many client connections are open. */
int sess_owner_clients(void);
/* A process that stops owning the session (a fork child, or an owner that
 * handed it to a keeper): close its copies of the listener and the client
 * connections, which the keeper, or the owner, keeps serving. */
void sess_owner_forget(void);
/* Client: connect to the session named in NETSHIM_SESSION now (an exec'd
 * program joining it).  0, or an errno value (ENETDOWN: no owner). */
int sess_client_join(void);
/* The same with req->xlen bytes of extension gathered from x (xcnt
 * entries, at most SESS_XIOV). */
#define SESS_XIOV 64
struct iovec;
int sess_call_x(const struct sess_req *req, const struct iovec *x, int xcnt, int afd,
		struct sess_resp *resp);
/* Client: fork handlers — hold the channel's lock across fork (true
 * before, false after, in the parent); the child forgets the connection
 * (it must make its own). */
void sess_client_prefork(bool before);
void sess_client_atfork(void);
/* Private descriptor fd now has number nfd (eng_private_move, under the
 * engine lock: the program dup2'd onto fd). */
void sess_fd_moved(int fd, int nfd);

#endif
