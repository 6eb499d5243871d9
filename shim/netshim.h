/*
 * netshim.h — what a program running under netshim may ask the shim
 * itself: a diagnostic socket option.  Installed nowhere; a program (or a
 * test) that wants it includes this file or copies its few lines.
 *
 * getsockopt(fd, SOL_NETSHIM, NETSHIM_STATS, &st, &len) on any netshim
 * socket (TCP or UDP, in the stack's owner or in any other process of the
 * session, which asks the owner) fills a struct netshim_stats: what the
 * session's one stack and its owner hold right now.  A shorter buffer gets
 * the first len bytes, as Linux's getsockopt truncates; another name at
 * this level gives ENOPROTOOPT; a socket that is not netshim's gets the
 * kernel's error for a level it does not know (ENOPROTOOPT, or
 * EOPNOTSUPP on some kernels): so a program can tell the two apart.
 */
#ifndef NETSHIM_NETSHIM_H
#define NETSHIM_NETSHIM_H

#include <stdint.h>

#define SOL_NETSHIM 0x4e53 /* 'N' 'S' */
#define NETSHIM_STATS 1

/* Every field a count of things in use now; new fields go at the end. */
struct netshim_stats {
	uint64_t pbuf_small_used; /* packet buffers, small pool */
	uint64_t pbuf_large_used; /* packet buffers, large pool */
	uint64_t tcp_txrec_used;  /* TCP transmission records (scoreboard) */
	uint64_t endpoints;       /* stack endpoints: open sockets, connections
				   * waiting to be accepted or still finishing */
	uint64_t tcp_time_wait;   /* TIME_WAIT records (a fixed table of their
				   * own, 60 s each; no endpoint, no buffer) */
	uint64_t socks;           /* the owner's socket records (one per
				   * socket pair still alive) */
	uint64_t clients;         /* the session's connected client processes */
};

#endif
