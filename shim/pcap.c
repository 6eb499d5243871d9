/*
 * pcap.c — the NETSHIM_PCAP capture: engine.c hands it each packet it
 * reads from or writes to the TUN device; records are buffered and
 * written with raw syscalls (never through the library's own hooks).
 * File format: the classic libpcap one, microsecond timestamps, written in
 * host byte order (readers detect it from the magic), LINKTYPE_RAW.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "pcap.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define LINKTYPE_RAW 101 /* each record is an IPv4 or IPv6 packet, no link header */

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major;
	uint16_t version_minor;
	int32_t thiszone; /* GMT offset of the timestamps: 0, they are UTC */
	uint32_t sigfigs; /* accuracy of the timestamps: 0 by convention */
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec;
	uint32_t ts_usec;
	uint32_t incl_len; /* bytes in the file */
	uint32_t orig_len; /* bytes on the wire */
};

_Static_assert(sizeof(struct pcap_file_hdr) == 24, "pcap file header is 24 bytes");
_Static_assert(sizeof(struct pcap_rec_hdr) == 16, "pcap record header is 16 bytes");
_Static_assert(SHIM_PCAP_BUF >= SHIM_PCAP_SNAPLEN + sizeof(struct pcap_rec_hdr),
	       "the largest record must fit in the buffer");

/* Write all of buf; 0, or -1 with errno set. */
static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	while (len) {
		long n = syscall(SYS_write, fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int shim_pcap_open(struct shim_pcap *p, const char *path, char *err, size_t errlen)
{
	struct pcap_file_hdr h = {
	    .magic = PCAP_MAGIC_USEC,
	    .version_major = PCAP_VERSION_MAJOR,
	    .version_minor = PCAP_VERSION_MINOR,
	    .snaplen = SHIM_PCAP_SNAPLEN,
	    .linktype = LINKTYPE_RAW,
	};
	int saved = errno, rc;
	long fd;

	p->fd = -1;
	p->err = 0;
	p->len = 0;
	p->packets = 0;
	fd = syscall(SYS_openat, AT_FDCWD, path,
		     O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create pcap file %s: %s", path, strerror(-rc));
		errno = saved;
		return rc;
	}
	if (write_all((int)fd, &h, sizeof(h))) {
		rc = -errno;
		snprintf(err, errlen, "cannot write pcap file %s: %s", path, strerror(-rc));
		syscall(SYS_close, fd);
		errno = saved;
		return rc;
	}
	p->fd = shim_fd_move_high((int)fd);
	errno = saved;
	return 0;
}

void shim_pcap_flush(struct shim_pcap *p)
{
	int saved = errno;

	if (p->fd < 0 || p->err || !p->len)
		return;
	/* one write of whole records: with O_APPEND it lands in one piece */
	if (write_all(p->fd, p->buf, p->len)) {
		p->err = errno;
		shim_say("pcap: write failed: %s; packet capture stopped", strerror(p->err));
	}
	p->len = 0;
	errno = saved;
}

void shim_pcap_write(struct shim_pcap *p, const void *pkt, size_t len, uint64_t realtime_ns)
{
	struct pcap_rec_hdr r;
	size_t cap = len < SHIM_PCAP_SNAPLEN ? len : SHIM_PCAP_SNAPLEN;

	if (p->fd < 0 || p->err)
		return;
	if (p->len + sizeof(r) + cap > sizeof(p->buf))
		shim_pcap_flush(p);
	if (p->err)
		return;
	r.ts_sec = (uint32_t)(realtime_ns / 1000000000u); /* wraps in 2106 */
	r.ts_usec = (uint32_t)(realtime_ns % 1000000000u / 1000u);
	r.incl_len = (uint32_t)cap;
	r.orig_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	memcpy(p->buf + p->len, &r, sizeof(r));
	memcpy(p->buf + p->len + sizeof(r), pkt, cap);
	p->len += sizeof(r) + cap;
	p->packets++;
}

void shim_pcap_close(struct shim_pcap *p)
{
	int saved = errno;

	if (p->fd < 0)
		return;
	shim_pcap_flush(p);
	syscall(SYS_close, p->fd);
	p->fd = -1;
	errno = saved;
}

int shim_pcap_fd(const struct shim_pcap *p)
{
	return p->fd;
}
