/*
 * pcap.h — NETSHIM_PCAP: every packet that crosses the TUN device, written
 * to a classic pcap file (LINKTYPE_RAW: bare IPv4/IPv6 packets) that
 * tcpdump and wireshark read.  The engine calls it from its link glue,
 * under its lock: nothing here is thread-safe on its own.
 */
#ifndef NETSHIM_PCAP_H
#define NETSHIM_PCAP_H

#include <stddef.h>
#include <stdint.h>

#define SHIM_PCAP_SNAPLEN 65535	   /* bytes kept of each packet */
#define SHIM_PCAP_BUF (65536 + 16) /* records are buffered: the largest fits */

struct shim_pcap {
	int fd;		  /* -1: closed */
	int err;	  /* first write error (errno), 0 if none; then it stops */
	size_t len;	  /* bytes waiting in buf */
	uint64_t packets; /* records written (or waiting in buf) */
	unsigned char buf[SHIM_PCAP_BUF];
};

/* Create (or truncate) path and write the file header.  Returns 0, or
 * -errno with err set to one line naming the file (p->fd = -1).  The
 * descriptor is close-on-exec, opened O_APPEND (a forked child's records
 * never overwrite the parent's) and moved to 512 or above when possible. */
int shim_pcap_open(struct shim_pcap *p, const char *path, char *err, size_t errlen);

/* Record one packet seen at realtime_ns (CLOCK_REALTIME, nanoseconds);
 * packets longer than SHIM_PCAP_SNAPLEN are cut, their length kept.
 * A no-op when the file is closed or a write has failed. */
void shim_pcap_write(struct shim_pcap *p, const void *pkt, size_t len, uint64_t realtime_ns);

/* Write what waits in the buffer (also done when it fills and on close). */
void shim_pcap_flush(struct shim_pcap *p);

/* Flush and close; p->fd becomes -1. */
void shim_pcap_close(struct shim_pcap *p);

/* The file's descriptor, or -1: the engine keeps the program's close()
 * and dup2() off it.  After fork, a child that keeps writing should first
 * drop what it inherited in buf (p->len = 0): the parent writes that. */
int shim_pcap_fd(const struct shim_pcap *p);

#endif
