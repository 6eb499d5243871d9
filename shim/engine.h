/*
 * engine.h — the shim's state shared by its hook families (socket.c,
 * io.c, fd.c, names.c): the stack, its lock and thread, the TUN, and the
 * netshim sockets with their kernel descriptors.
 *
 * Every netshim socket is an AF_UNIX socketpair: the program holds end A
 * (the number socket() returned), the engine end B (a private descriptor).
 * The engine carries the connection's data between B and the stack, so
 * the kernel itself serves the program's reads, writes, blocking, signals,
 * timeouts and poll/select/epoll on A; the hooks handle what the kernel
 * cannot know (addresses, connection set-up, options, errors).
 */
#ifndef NETSHIM_ENGINE_H
#define NETSHIM_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "config.h"
#include "stack.h"

/* What a TCP socket is doing, as far as its descriptor is concerned. */
enum sock_state {
	SS_FRESH,      /* socket() or bind(): A is stuffed (not writable) */
	SS_LISTEN,     /* listen(): A stuffed; a byte in A = connections wait */
	SS_CONNECTING, /* connect() in progress: A stuffed */
	SS_OPEN,       /* data flows A <-> B <-> stack */
	SS_DEAD,       /* the connection failed; B is closed, err says why */
};

/* One datagram's metadata, queued beside the datagram written to B (UDP):
 * the datagram's source, or an error (err != 0, an empty datagram). */
struct dgram_meta {
	struct stack_sockaddr from;
	struct stack_rcvinfo to; /* destination and interface (IP_PKTINFO) */
	uint32_t len;
	int err;
};

/* Framed delivery (UDP, a socket another process of the session holds):
 * each message the owner writes into B is this header, then the
 * datagram.  The header travels only between two copies of this library
 * over an AF_UNIX pair, so it is in host layout.  An error (m.err > 0)
 * is a header alone, numbered: the first report (a receive, a send or
 * SO_ERROR, in any process) claims it at the owner (udp_err_claim). */
struct dgram_frame {
	struct dgram_meta m;
	uint32_t err_id; /* m.err > 0: the error's number (1, 2, ...) */
	uint32_t flags;  /* DF_*: the owner's options at delivery */
};
#define DF_PKTINFO4 1u
#define DF_PKTINFO6 2u

struct shim_sock {
	int h;      /* stack endpoint, -1 once closed in the stack */
	int bfd;    /* engine end B (private), -1 once closed */
	ino_t ino;  /* inode of A: the socket's identity */
	int family; /* AF_INET / AF_INET6 */
	int type;   /* SOCK_STREAM / SOCK_DGRAM */
	int nfds;   /* program descriptors mapped to this socket */
	int afd;    /* one of them (for the engine's own writes into A) */
	enum sock_state state;
	int err;          /* error to report once (SO_ERROR, next call) */
	uint32_t stuffed; /* bytes queued from A into B to make A unwritable */
	int a_sndbuf;     /* A's SO_SNDBUF before stuffing */
	uint32_t tokens;  /* listen: bytes in A's receive queue, one per
			   * connection that arrived (an edge for each) */
	int acceptq_seen; /* listen: the accept queue's length last seen */
	bool b_in;        /* B readable (edge seen, not yet drained) */
	bool b_out;       /* B writable */
	bool b_eof;       /* B read 0: the program shut down writing */
	bool b_hup;       /* B saw both directions shut */
	bool a_gone;      /* every holder of A closed it */
	bool a_abort;     /* ... with data unread (reset, as Linux) */
	bool s_eof;       /* the stack reported end of stream */
	bool shut_wr;     /* stack_ep_shutdown(SHUT_WR) done */
	bool exit_close;  /* closing at process exit */
	bool pktinfo4, pktinfo6; /* IP_PKTINFO, IPV6_RECVPKTINFO set */
	bool was_open;     /* TCP: the connection was established once */
	bool err_after_eof; /* the error came after the peer's FIN: reads
			     * give end of file, sends and SO_ERROR the error */
	bool connect_told; /* connect() has reported the connection */
	bool connect_failed; /* ... or its failure (Linux then disconnects:
			      * reads give ENOTCONN, not end of file) */
	bool client_seen;  /* owner: another process of the session made
			    * it or asked about it (session.h) */
	bool afd_held;     /* owner: afd is a private dup of A a client sent
			    * (a connect in progress must unstuff A) */
	struct timeval rcvtimeo, sndtimeo; /* as the program set them */
	/* Bytes read from B the stack did not take yet (TCP), and bytes (or
	 * one datagram) taken from the stack that B did not take yet. */
	char *tx;
	size_t txlen, txoff;
	char *rx;
	size_t rxlen, rxoff;
	struct dgram_meta rxmeta; /* UDP: the datagram held in rx */
	uint32_t rx_err_id;       /* UDP: its error number once framed */
	/* UDP delivery into B (shim/README.md, "UDP in a client"): plain
	 * datagrams with their metadata in the FIFO q while only this
	 * process reads the socket; framed (struct dgram_frame) once a client touched it.  The
	 * switch waits until q is empty (frame_wanted), so every plain
	 * datagram in A precedes every framed one; it never reverts. */
	bool framed;
	bool frame_wanted;
	uint32_t err_seq;  /* framed errors written (their numbers) */
	uint32_t err_done; /* ... of which 1..err_done were reported */
	int err_last;      /* the latest framed error's errno */
	/* UDP: metadata of the datagrams in A's queue, oldest first. */
	struct dgram_meta *q;
	unsigned qhead, qlen, qcap;
	pthread_mutex_t rlock; /* UDP: one reader at a time (the FIFO) */
	TAILQ_ENTRY(shim_sock) link;
};
TAILQ_HEAD(sock_list, shim_sock);

enum eng_mode {
	ENG_OFF,     /* not initialised (or initialisation failed) */
	ENG_RUNNING, /* this process owns the stack */
	ENG_REFUSED, /* a descendant of the device's holder: no network */
	ENG_CHILD,   /* a fork child of the owner: socket calls go to the
		      * owner (session.h), the data flows through the owner's B */
};

struct engine {
	pthread_mutex_t lock;
	enum eng_mode mode;
	pid_t pid;
	pid_t parent_pid; /* ENG_CHILD: the process it was forked from */
	struct shim_config cfg;
	struct stack *st;
	int ifindex;
	struct sock_list socks;
	struct shim_sock **by_h; /* stack handle -> socket */
	uint32_t max_h;
};

extern struct engine eng;
/* Set while this thread runs the engine's own libc calls (start-up's TUN
 * and netlink set-up): the hooks pass them to libc (STYLE.md 12). */
extern __thread int eng_internal;

/* The socket mapped to program descriptor fd, or NULL (lock-free read;
 * socket structures are never freed, only recycled, so a stale pointer
 * is harmless memory). */
struct shim_sock *sock_of(int fd);
/* Lock / unlock the engine; unlock also pushes what the stack wants to
 * send and wakes the stack thread to re-arm its timer. */
void eng_lock(void);
void eng_unlock(void);

/* fd arrived in this process (SCM_RIGHTS): if its file is one of our
 * sockets' A, map the number.  Takes the lock. */
void eng_adopt_fd(int fd);

/* Under the lock: */
struct shim_sock *sock_new(int family, int type, int h, int afd, int bfd);
void sock_map(int fd, struct shim_sock *s);
void sock_unmap(int fd);
void sock_release(struct shim_sock *s);
/* After the program closed its last number of s: if that was the last
 * holder of A anywhere (B hangs up), end the socket now, as close() ends
 * a kernel socket (its port is free on return). */
void sock_check_b(struct shim_sock *s);
/* The same for every socket the program holds no number of. */
void eng_check_unmapped(void);
void sock_pump(struct shim_sock *s);
void sock_fail(struct shim_sock *s, int err);
int sock_take_err(struct shim_sock *s);
int sock_stuff(struct shim_sock *s, int afd);
void sock_unstuff(struct shim_sock *s, int afd);
int eng_epoll_add(struct shim_sock *s);
/* Owner: keep a private dup of A (a client's) while s connects; drop it. */
void sock_hold_a(struct shim_sock *s, int afd);
void sock_drop_held(struct shim_sock *s);
/* Owner, under the lock: the socket whose A is afd (by inode), or NULL. */
struct shim_sock *sock_by_a(int afd);
/* Close a private descriptor. */
void eng_private_close(int fd);
/* Whether fd is one of the engine's own descriptors. */
bool eng_private_fd(int fd);
/* Move private descriptor fd elsewhere (the program wants the number). */
int eng_private_move(int fd);
/* Make fd a private descriptor: dup it above the program's range (fd is
 * closed, also on failure: -errno). */
int eng_private_fd_new(int fd);
/* Wait (without the lock) until the stack thread has sent packets. */
void eng_wait_tx(int ms);
/* The parent of pid (/proc), or 0 when unknown. */
pid_t eng_parent_of(pid_t pid);
/* One warning line, the first time a refused process asks for the network. */
void eng_refused_warning(void);
/* UDP, owner, under the lock.  A client touched s: frame its delivery
 * (now, or once the FIFO is empty). */
void udp_want_frame(struct shim_sock *s);
/* A reader took the oldest plain datagram out of A: its metadata from
 * the FIFO (zeroed when none; a MSG_PEEK leaves it, unless it is an error
 * marker).  Returns whether there was one. */
bool udp_fifo_pop(struct shim_sock *s, bool peek, struct dgram_meta *m);
/* A framed error numbered id (errno err) was read: err if it is still to
 * be reported, 0 when a send or SO_ERROR already did. */
int udp_err_claim(struct shim_sock *s, uint32_t id, int err);
/* The oldest error not reported yet (a send or SO_ERROR reports it, as
 * Linux's sock_error), consumed; 0 if none.  afd: an A of s (-1 if none),
 * to take a plain marker that heads A's queue out of it. */
int udp_take_err(struct shim_sock *s, int afd);
/* io.c, owner, under the lock: one datagram into the stack (a pending
 * error first, as Linux's udp_sendmsg reports sk_err); bytes or -errno. */
ssize_t udp_send_locked(struct shim_sock *s, const struct iovec *iov, int iovcnt, int flags,
			const struct stack_sockaddr *to);
/* socket.c, in a fork child: TCP socket s (A is fd) read end of file —
 * the error the owner holds for it (a reset: the owner could not mark A
 * reset, it has no descriptor of a child's A), once; else 0. */
int sock_child_eof_err(int fd, struct shim_sock *s);
/* socket.c, in a client (ENG_CHILD): fd arrived here (inherited across
 * exec, or by SCM_RIGHTS); if it is an AF_UNIX socket the session knows
 * as one of its sockets' A, record it here. */
void sock_child_adopt(int fd);
/* exec.c, before this process execs: an owner whose session others use,
 * or whose sockets the new image may inherit, hands the session to a
 * keeper process and becomes its client (the new image joins it). */
void eng_before_exec(void);
/* exec.c: remember this library and the NETSHIM_* variables, which the
 * exec hooks put back into a new program's environment where missing. */
void shim_exec_capture(void);

/* Conversions between sockaddr and stack_sockaddr (errno values). */
int sa_to_stack(const struct sockaddr *sa, socklen_t len, int sock_family,
		struct stack_sockaddr *out);
/* Write a into (sa, *len) as getsockname does: truncates, sets *len. */
void sa_from_stack(const struct stack_sockaddr *a, int sock_family,
		   struct sockaddr *sa, socklen_t *len);

#endif
