/*
 * names.c — the name-service hooks (hooks_names.def): getaddrinfo and
 * friends, getnameinfo, gethostby*, res_*.  Program -> hook -> hosts files
 * (dns.c) -> DNS client below -> shim_socket/shim_sendto (sock.h) -> the
 * stack.  glibc's resolver sends its queries with internal calls the shim
 * cannot see, so nothing here ever calls libc's resolver: fail closed.
 *
 * Order of a lookup: NETSHIM_HOSTS, /etc/hosts, RFC 6761 localhost, then
 * DNS to NETSHIM_DNS (no server: "not found").  A process refused the
 * network (shim_network_ok() false) still reads hosts files; its DNS
 * lookups fail as temporary (EAI_AGAIN / TRY_AGAIN), which is what a
 * program sees on a host whose network is down, and sends nothing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libintl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "sock.h"

/* ---- tunables ---------------------------------------------------------------- */

/* Per server and attempt.  glibc waits 5 s (RES_TIMEOUT) and doubles it
 * per round; 2 s twice bounds a dead server at 4 s, which is what a
 * program that times out its own lookups (curl: 5 s?) still tolerates. */
#define NAMES_TIMEOUT_MS 2000
/* Rounds over the server list: glibc's RES_DFLRETRY. */
#define NAMES_ATTEMPTS 2
#define ETC_HOSTS "/etc/hosts"
#define RESOLV_CONF "/etc/resolv.conf"
/* gethostbyname()'s per-thread result: room for DNS_MAX_ALIASES names and
 * DNS_MAX_ADDRS addresses (about 5 KiB at most). */
#define HOSTENT_BUF 8192

_Static_assert(DNS_SEARCH_LEN == SHIM_SEARCH_LEN, "search domain buffers differ");
_Static_assert(DNS_MAX_SEARCH >= SHIM_MAX_SEARCH, "search list shorter than config's");

/* Not in the public headers (glibc exports them for old binaries). */
int __res_query(const char *, int, int, unsigned char *, int);
int __res_search(const char *, int, int, unsigned char *, int);
int __res_querydomain(const char *, const char *, int, int, unsigned char *, int);
int __res_nquery(res_state, const char *, int, int, unsigned char *, int);
int __res_nsearch(res_state, const char *, int, int, unsigned char *, int);
int __res_nquerydomain(res_state, const char *, const char *, int, int, unsigned char *, int);
int __res_send(const unsigned char *, int, unsigned char *, int);
int __res_nsend(res_state, const unsigned char *, int, unsigned char *, int);

#define EXPORT __attribute__((visibility("default")))

/* ---- outcomes ------------------------------------------------------------------ */

/* What a lookup found, in the order of precedence when two questions (A
 * and AAAA) disagree: the worst wins. */
enum nl {
	NL_OK,
	NL_NOTFOUND, /* NXDOMAIN, or nowhere to ask: HOST_NOT_FOUND */
	NL_NODATA,   /* the name exists without such an address: NO_DATA */
	NL_SERVFAIL, /* the server failed (the search goes on): TRY_AGAIN */
	NL_FAIL,     /* refused, broken answer: NO_RECOVERY */
	NL_AGAIN,    /* no server answered in time (the search stops) */
	NL_SYSERR,   /* a local error, errno set */
};

static enum nl nl_worse(enum nl a, enum nl b)
{
	return a > b ? a : b;
}

static int nl_herrno(enum nl s)
{
	switch (s) {
	case NL_OK:
		return NETDB_SUCCESS;
	case NL_NOTFOUND:
		return HOST_NOT_FOUND;
	case NL_NODATA:
		return NO_DATA;
	case NL_SERVFAIL:
	case NL_AGAIN:
		return TRY_AGAIN;
	case NL_FAIL:
		return NO_RECOVERY;
	default:
		return NETDB_INTERNAL;
	}
}

/* As glibc maps them (EAI_NODATA: the name is known, RFC 2308). */
static int nl_eai(enum nl s)
{
	switch (s) {
	case NL_OK:
		return 0;
	case NL_NOTFOUND:
		return EAI_NONAME;
	case NL_NODATA:
		return EAI_NODATA;
	case NL_SERVFAIL:
	case NL_AGAIN:
		return EAI_AGAIN;
	case NL_FAIL:
		return EAI_FAIL;
	default:
		return errno == ENOMEM ? EAI_MEMORY : EAI_SYSTEM;
	}
}

/* ---- the DNS client ------------------------------------------------------------- */

/* Scratch space for one lookup: too big for a program thread's stack. */
struct scratch {
	struct dns_answer ans;
	struct dns_hostent tmp;
	uint8_t query[DNS_UDP_MAX];
	uint8_t reply[DNS_TCP_MAX + 2];
	size_t replylen;
};

static struct scratch *scratch_new(void)
{
	return malloc(sizeof(struct scratch));
}

static socklen_t server_addr(const struct stack_sockaddr *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (s->family == STACK_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(s->port);
		memcpy(&in->sin_addr, s->addr, 4);
		return sizeof(*in);
	}
	if (s->family == STACK_AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(s->port);
		in6->sin6_scope_id = s->scope_id;
		memcpy(&in6->sin6_addr, s->addr, 16);
		return sizeof(*in6);
	}
	return 0;
}

/* The reply came from the server we asked (RFC 5452 9.1). */
static bool same_server(const struct sockaddr_storage *from, socklen_t fromlen,
			const struct sockaddr_storage *srv)
{
	if (from->ss_family != srv->ss_family)
		return false;
	if (srv->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)from, *b = (const void *)srv;

		return fromlen >= sizeof(*a) && a->sin_port == b->sin_port &&
		       a->sin_addr.s_addr == b->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)srv;

		return fromlen >= sizeof(*a) && a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
	}
}

static void deadline_in(struct timespec *d, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (long)(ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

static int ms_left(const struct timespec *d)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (d->tv_sec - now.tv_sec) * 1000 + (d->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* Wait for events on fd until the deadline: 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, const struct timespec *d)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, ms_left(d)); /* poll is not hooked */

		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return 0;
	}
}

/* Errors that are ours, not the server's: stop asking and report them. */
static bool local_error(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOBUFS;
}

static int open_sock(int family, int type)
{
	int fd = shim_socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 && errno == EINVAL) /* no flags in type: still works */
		fd = shim_socket(family, type, 0);
	return fd;
}

enum xfer {
	X_REPLY, /* s->reply holds a reply matching the question */
	X_NONE,	 /* no usable reply from this server */
	X_LOCAL, /* a local error (errno) */
};

static enum xfer fail_sock(int fd)
{
	int e = errno;
	enum xfer x = local_error(e) ? X_LOCAL : X_NONE;

	if (fd >= 0)
		shim_close(fd);
	errno = e;
	return x;
}

/* One UDP exchange: a fresh socket (a fresh source port, RFC 5452 9.2),
 * replies from elsewhere or for another question ignored until the
 * deadline (RFC 5452 9.1). */
static enum xfer ask_udp(const struct sockaddr_storage *srv, socklen_t srvlen, const uint8_t *query,
			 size_t qlen, const struct dns_question *q, struct scratch *s)
{
	struct timespec d;
	int fd = open_sock(srv->ss_family, SOCK_DGRAM);

	if (fd < 0)
		return fail_sock(-1);
	if (shim_connect(fd, (const struct sockaddr *)srv, srvlen) < 0 ||
	    shim_sendto(fd, query, qlen, MSG_NOSIGNAL, NULL, 0) != (ssize_t)qlen)
		return fail_sock(fd);
	deadline_in(&d, NAMES_TIMEOUT_MS);
	while (wait_fd(fd, POLLIN, &d)) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = shim_recvfrom(fd, s->reply, sizeof(s->reply), MSG_DONTWAIT,
					  (struct sockaddr *)&from, &fromlen);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return fail_sock(fd); /* ECONNREFUSED: ICMP port unreachable */
		}
		if (!same_server(&from, fromlen, srv) || !dns_reply_matches(s->reply, (size_t)n, q))
			continue;
		/* A datagram that filled the buffer was cut: ask over TCP. */
		if ((size_t)n == sizeof(s->reply))
			s->reply[2] |= DNS_F_TC >> 8;
		s->replylen = (size_t)n;
		shim_close(fd);
		return X_REPLY;
	}
	shim_close(fd);
	errno = ETIMEDOUT;
	return X_NONE;
}

/* Move len bytes through fd until the deadline (send or receive). */
static bool tcp_io(int fd, uint8_t *buf, size_t len, bool out, const struct timespec *d)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n;

		if (out)
			n = shim_sendto(fd, buf + done, len - done, MSG_NOSIGNAL, NULL, 0);
		else
			n = shim_recvfrom(fd, buf + done, len - done, MSG_DONTWAIT, NULL, NULL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0 && !out)
			return false; /* closed before the whole message */
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return false;
		if (!wait_fd(fd, out ? POLLOUT : POLLIN, d))
			return false;
	}
	return true;
}

/* The same question over TCP, after a truncated UDP reply (RFC 1035
 * 4.2.2: a two-byte length before each message; RFC 7766 5). */
static enum xfer ask_tcp(const struct sockaddr_storage *srv, socklen_t srvlen, const uint8_t *query,
			 size_t qlen, const struct dns_question *q, struct scratch *s)
{
	uint8_t out[DNS_UDP_MAX + 2];
	struct timespec d;
	size_t len;
	int fd = open_sock(srv->ss_family, SOCK_STREAM);

	if (fd < 0)
		return fail_sock(-1);
	deadline_in(&d, NAMES_TIMEOUT_MS);
	if (shim_connect(fd, (const struct sockaddr *)srv, srvlen) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			return fail_sock(fd);
		if (!wait_fd(fd, POLLOUT, &d))
			goto none;
	}
	out[0] = (uint8_t)(qlen >> 8);
	out[1] = (uint8_t)qlen;
	memcpy(out + 2, query, qlen);
	if (!tcp_io(fd, out, qlen + 2, true, &d) || !tcp_io(fd, s->reply, 2, false, &d))
		goto none;
	len = (size_t)s->reply[0] << 8 | s->reply[1];
	if (len < DNS_HDR_LEN || !tcp_io(fd, s->reply, len, false, &d) ||
	    !dns_reply_matches(s->reply, len, q))
		goto none;
	s->replylen = len;
	shim_close(fd);
	return X_REPLY;
none:
	shim_close(fd);
	errno = ETIMEDOUT;
	return X_NONE;
}

static void log_server(const struct sockaddr_storage *srv, const char *what, int err)
{
	char a[INET6_ADDRSTRLEN] = "?";
	const void *p = srv->ss_family == AF_INET
			    ? (const void *)&((const struct sockaddr_in *)srv)->sin_addr
			    : (const void *)&((const struct sockaddr_in6 *)srv)->sin6_addr;

	if (!shim_log_on(SHIM_LOG_DEBUG))
		return;
	inet_ntop(srv->ss_family, p, a, sizeof(a));
	shim_log(SHIM_LOG_DEBUG, "names: DNS server %s: %s%s%s", a, what, err ? ": " : "",
		 err ? strerror(err) : "");
}

/* Ask the configured servers: a reply is final when it says NOERROR or
 * NXDOMAIN; SERVFAIL, REFUSED and the like move on to the next server and
 * are returned only when no server says better (glibc's res_send does the
 * same).  own: the query is ours, give each send a new random ID.
 * Returns 0 with s->reply set, or -1 with errno (ETIMEDOUT: nobody
 * answered). */
static int dns_ask(uint8_t *query, size_t qlen, struct dns_question *q, bool own, struct scratch *s)
{
	const struct shim_config *cfg = shim_cfg();
	uint8_t *kept = NULL;
	size_t keptlen = 0;

	for (int attempt = 0; attempt < NAMES_ATTEMPTS; attempt++) {
		for (int i = 0; i < cfg->ndns; i++) {
			struct sockaddr_storage srv;
			socklen_t srvlen = server_addr(&cfg->dns[i], &srv);
			enum xfer x;
			int rcode;

			if (srvlen == 0)
				continue;
			if (own) {
				q->id = (uint16_t)arc4random_uniform(65536);
				query[0] = (uint8_t)(q->id >> 8);
				query[1] = (uint8_t)q->id;
			}
			x = ask_udp(&srv, srvlen, query, qlen, q, s);
			if (x == X_REPLY && dns_reply_truncated(s->reply, s->replylen))
				x = ask_tcp(&srv, srvlen, query, qlen, q, s);
			if (x == X_LOCAL) {
				int e = errno;

				free(kept);
				errno = e;
				return -1;
			}
			if (x != X_REPLY) {
				log_server(&srv, "no answer", errno);
				continue;
			}
			rcode = dns_reply_rcode(s->reply, s->replylen);
			if (rcode == DNS_R_NOERROR || rcode == DNS_R_NXDOMAIN) {
				free(kept);
				return 0;
			}
			log_server(&srv, "error reply", 0);
			free(kept);
			kept = malloc(s->replylen);
			if (!kept)
				return -1;
			memcpy(kept, s->reply, s->replylen);
			keptlen = s->replylen;
		}
	}
	if (kept) {
		memcpy(s->reply, kept, keptlen);
		s->replylen = keptlen;
		free(kept);
		return 0;
	}
	errno = ETIMEDOUT;
	return -1;
}

/* One question for name: NL_OK with s->ans filled, or why not. */
static const char *const nl_names[] = {
    [NL_OK] = "found",
    [NL_NOTFOUND] = "no such name",
    [NL_NODATA] = "no such record",
    [NL_SERVFAIL] = "server failure",
    [NL_FAIL] = "refused or broken",
    [NL_AGAIN] = "no answer",
    [NL_SYSERR] = "local error",
};

static enum nl dns_one_status(const char *name, int qtype, struct scratch *s)
{
	struct dns_question q;
	int qlen = dns_query_build(s->query, sizeof(s->query), 0, name, qtype, DNS_C_IN);

	if (qlen < 0 || dns_question_read(s->query, (size_t)qlen, &q) < 0)
		return NL_NOTFOUND; /* not a name DNS can hold */
	if (dns_ask(s->query, (size_t)qlen, &q, true, s) < 0)
		return errno == ETIMEDOUT ? NL_AGAIN : NL_SYSERR;
	switch (dns_answer_parse(s->reply, s->replylen, &q, &s->ans)) {
	case DNS_OK:
		return NL_OK;
	case DNS_NXDOMAIN:
		return NL_NOTFOUND;
	case DNS_NODATA:
		return NL_NODATA;
	case DNS_SERVFAIL:
		return NL_SERVFAIL;
	default:
		return NL_FAIL;
	}
}

/* One question for name: NL_OK with s->ans filled, or why not. */
static enum nl dns_one(const char *name, int qtype, struct scratch *s)
{
	int e = errno;
	enum nl st = dns_one_status(name, qtype, s);

	if (st == NL_SYSERR)
		e = errno;
	shim_log(SHIM_LOG_DEBUG, "names: DNS %s type %d: %s", name, qtype, nl_names[st]);
	errno = e;
	return st;
}

/* ---- lookups by name ---------------------------------------------------------- */

/* What a caller wants: the family, and for AF_INET6 whether IPv4
 * addresses may come back mapped (AI_V4MAPPED) and also when there are
 * IPv6 ones (AI_ALL). */
struct want {
	int family;
	bool mapped, all;
};

/* Turn IPv4 into IPv4-mapped IPv6 (RFC 4291 2.5.5.2): all of them with
 * AI_ALL, otherwise only when there is no IPv6 address (RFC 3493 6.1). */
static void apply_mapping(struct dns_hostent *h, bool all)
{
	bool have6 = false;
	int n = 0;

	for (int i = 0; i < h->naddrs; i++)
		have6 |= h->addrs[i].family == AF_INET6;
	for (int i = 0; i < h->naddrs; i++) {
		struct dns_addr a = h->addrs[i];

		if (a.family == AF_INET) {
			if (have6 && !all)
				continue;
			a.family = AF_INET6;
			memmove(a.a + 12, a.a, 4);
			memset(a.a, 0, 10);
			a.a[10] = a.a[11] = 0xff;
		}
		h->addrs[n++] = a;
	}
	h->naddrs = n;
}

static bool want_ok(const struct want *w, int family)
{
	return w->family == AF_UNSPEC || w->family == family || (w->mapped && family == AF_INET);
}

static void add_addr(struct dns_hostent *h, const struct dns_addr *a)
{
	if (h->naddrs < DNS_MAX_ADDRS)
		h->addrs[h->naddrs++] = *a;
}

static void set_name(struct dns_hostent *h, const char *name)
{
	size_t n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		n--;
	if (n > DNS_NAME_MAX)
		n = DNS_NAME_MAX;
	memcpy(h->name, name, n);
	h->name[n] = '\0';
}

static bool hosts_lookup(const char *path, const char *name, const struct want *w,
			 struct dns_hostent *h)
{
	int family = w->mapped ? AF_UNSPEC : w->family;

	if (!dns_hosts_byname(path, name, family, h))
		return false;
	if (w->mapped)
		apply_mapping(h, w->all);
	return h->naddrs > 0;
}

/* RFC 6761 6.3: localhost and *.localhost are the loopback address, asked
 * of no server, when no hosts file says otherwise. */
static void localhost_lookup(const char *name, const struct want *w, struct dns_hostent *h)
{
	struct dns_addr a;

	h->naddrs = h->naliases = 0;
	set_name(h, name);
	if (w->family != AF_INET6) {
		memset(&a, 0, sizeof(a));
		a.family = AF_INET;
		a.a[0] = 127;
		a.a[3] = 1;
		add_addr(h, &a);
	}
	if (w->family != AF_INET) {
		memset(&a, 0, sizeof(a));
		a.family = AF_INET6;
		a.a[15] = 1;
		add_addr(h, &a);
	}
}

/* The questions for one candidate name, merged into h. */
static enum nl dns_name(const char *name, const struct want *w, struct dns_hostent *h,
			struct scratch *s)
{
	int types[2], ntypes = 0;
	enum nl worst = NL_OK;
	bool got = false;

	if (w->family == AF_INET) {
		types[ntypes++] = DNS_T_A;
	} else if (w->family == AF_INET6) {
		types[ntypes++] = DNS_T_AAAA;
		if (w->mapped)
			types[ntypes++] = DNS_T_A;
	} else {
		types[ntypes++] = DNS_T_A;
		types[ntypes++] = DNS_T_AAAA;
	}
	h->naddrs = h->naliases = 0;
	h->name[0] = '\0';
	for (int t = 0; t < ntypes; t++) {
		enum nl st;

		/* AI_V4MAPPED without AI_ALL: A only when there is no AAAA. */
		if (t > 0 && types[t] == DNS_T_A && w->family == AF_INET6 && got && !w->all)
			break;
		st = dns_one(name, types[t], s);
		if (st != NL_OK) {
			worst = nl_worse(worst, st);
			/* NXDOMAIN holds for every type (RFC 8020 2); a
			 * timeout or local error ends the lookup. */
			if (st == NL_NOTFOUND || st == NL_AGAIN || st == NL_SYSERR)
				break;
			continue;
		}
		for (int i = 0; i < s->ans.naddrs; i++)
			if (want_ok(w, s->ans.addrs[i].family))
				add_addr(h, &s->ans.addrs[i]);
		if (!h->name[0]) {
			set_name(h, s->ans.canon[0] ? s->ans.canon : name);
			for (int i = 0; i < s->ans.naliases && h->naliases < DNS_MAX_ALIASES; i++)
				strcpy(h->aliases[h->naliases++], s->ans.aliases[i]);
		}
		got = true;
	}
	if (w->mapped)
		apply_mapping(h, w->all);
	if (h->naddrs > 0)
		return NL_OK;
	return worst == NL_OK ? NL_NODATA : worst;
}

/* The search list: NETSHIM_SEARCH when given (even empty), else
 * /etc/resolv.conf's. */
static int search_domains(char (*out)[DNS_SEARCH_LEN])
{
	const struct shim_config *cfg = shim_cfg();

	if (cfg->search_set) {
		int n = cfg->nsearch < DNS_MAX_SEARCH ? cfg->nsearch : DNS_MAX_SEARCH;

		memcpy(out, cfg->search, (size_t)n * DNS_SEARCH_LEN);
		return n;
	}
	return dns_resolv_search(RESOLV_CONF, out, DNS_MAX_SEARCH);
}

/* Whether DNS may be asked; *st says why not. */
static bool dns_usable(const char *name, enum nl *st)
{
	if (shim_cfg()->ndns == 0) {
		*st = NL_NOTFOUND; /* no server: nothing more to know */
		shim_log(SHIM_LOG_INFO, "names: %s: in no hosts file, and no DNS server (--dns)",
			 name);
		return false;
	}
	if (!shim_network_ok()) {
		*st = NL_AGAIN; /* see the head of this file */
		shim_log(SHIM_LOG_INFO, "names: %s: this process has no network, no DNS", name);
		return false;
	}
	return true;
}

/* A name to addresses: hosts files, localhost, then DNS over the search
 * list.  As glibc's res_search: NXDOMAIN and NODATA try the next
 * candidate, so does SERVFAIL; a timeout or refusal ends the search; at
 * the end NODATA beats SERVFAIL beats NOTFOUND. */
static enum nl resolve_name(const char *name, const struct want *w, struct dns_hostent *h,
			    struct scratch *s)
{
	const struct shim_config *cfg = shim_cfg();
	char search[DNS_MAX_SEARCH][DNS_SEARCH_LEN];
	char cand[DNS_MAX_SEARCH + 1][DNS_NAME_BUF];
	bool nodata = false, servfail = false;
	enum nl st;
	int n;

	if (cfg->hosts[0] && hosts_lookup(cfg->hosts, name, w, h))
		return NL_OK;
	if (hosts_lookup(ETC_HOSTS, name, w, h))
		return NL_OK;
	if (dns_is_localhost(name)) {
		localhost_lookup(name, w, h);
		return NL_OK;
	}
	if (!dns_usable(name, &st))
		return st;
	n = dns_search_list(name, (const char(*)[DNS_SEARCH_LEN])search, search_domains(search),
			    cand, DNS_MAX_SEARCH + 1);
	for (int i = 0; i < n; i++) {
		st = dns_name(cand[i], w, h, s);
		if (st == NL_OK)
			return NL_OK;
		if (st == NL_NODATA)
			nodata = true;
		else if (st == NL_SERVFAIL)
			servfail = true;
		else if (st != NL_NOTFOUND)
			return st;
	}
	return nodata ? NL_NODATA : servfail ? NL_SERVFAIL : NL_NOTFOUND;
}

/* ---- lookups by address --------------------------------------------------------- */

/* An address to names: hosts files, then PTR (RFC 1035 3.5, RFC 3596
 * 2.5).  h->name is the first PTR, the others are aliases. */
static enum nl resolve_addr(const struct dns_addr *a, struct dns_hostent *h, struct scratch *s)
{
	const struct shim_config *cfg = shim_cfg();
	char ptr[DNS_NAME_BUF];
	enum nl st;

	if (cfg->hosts[0] && dns_hosts_byaddr(cfg->hosts, a, h))
		return NL_OK;
	if (dns_hosts_byaddr(ETC_HOSTS, a, h))
		return NL_OK;
	if (dns_ptr_name(a, ptr, sizeof(ptr)) < 0)
		return NL_NOTFOUND;
	if (!dns_usable(ptr, &st))
		return st;
	st = dns_one(ptr, DNS_T_PTR, s);
	if (st != NL_OK)
		return st;
	if (s->ans.nptrs == 0)
		return NL_NODATA;
	h->naliases = h->naddrs = 0;
	set_name(h, s->ans.ptrs[0]);
	for (int i = 1; i < s->ans.nptrs && h->naliases < DNS_MAX_ALIASES; i++)
		strcpy(h->aliases[h->naliases++], s->ans.ptrs[i]);
	add_addr(h, a);
	return NL_OK;
}

/* ---- getaddrinfo ------------------------------------------------------------------ */

/* The socket types getaddrinfo knows, in the order glibc 2.36 returns
 * them.  dflt: returned when the hints name neither type nor protocol
 * (for a numeric or no service); raw takes any protocol and no service. */
static const struct gai_proto {
	int socktype, protocol;
	const char *name; /* for getservbyname_r; NULL: no services */
	bool dflt;
} gai_protos[] = {
    {SOCK_STREAM, IPPROTO_TCP, "tcp", true},
    {SOCK_DGRAM, IPPROTO_UDP, "udp", true},
    {SOCK_DCCP, IPPROTO_DCCP, "dccp", false},
    {SOCK_DGRAM, IPPROTO_UDPLITE, "udplite", false},
    {SOCK_STREAM, IPPROTO_SCTP, "sctp", false},
    {SOCK_SEQPACKET, IPPROTO_SCTP, "sctp", false},
    {SOCK_RAW, 0, NULL, true},
};
#define N_PROTOS (sizeof(gai_protos) / sizeof(gai_protos[0]))

struct gai_tuple {
	int socktype, protocol;
	uint16_t port; /* network order */
};

#define GAI_FLAGS                                                                                  \
	(AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG |       \
	 AI_IDN | AI_CANONIDN | 0x0100 /* AI_IDN_ALLOW_UNASSIGNED */ |                             \
	 0x0200 /* AI_IDN_USE_STD3_ASCII_RULES */ | AI_NUMERICSERV)

/* A service name for one protocol, from /etc/services (getservbyname_r
 * reads the services database: files, no network). */
static bool service_port(const char *service, const char *proto, uint16_t *port)
{
	struct servent se, *r = NULL;
	char buf[1024];

	if (getservbyname_r(service, proto, &se, buf, sizeof(buf), &r) != 0 || !r)
		return false;
	*port = (uint16_t)r->s_port;
	return true;
}

/* The (type, protocol, port) tuples for hints and service (glibc 2.36's
 * rules, checked against it: see tests/integration/shim_names.sh).
 * Returns how many, or an EAI_* code (negative). */
static int gai_tuples(const struct addrinfo *hints, const char *service, bool numeric, int num,
		      struct gai_tuple *t)
{
	const struct gai_proto *sel = NULL;
	int n = 0;

	if (hints->ai_socktype || hints->ai_protocol) {
		for (size_t i = 0; i < N_PROTOS && !sel; i++) {
			const struct gai_proto *p = &gai_protos[i];

			if (hints->ai_socktype && hints->ai_socktype != p->socktype)
				continue;
			if (hints->ai_protocol && p->name && hints->ai_protocol != p->protocol)
				continue;
			sel = p;
		}
		if (!sel)
			return hints->ai_socktype ? EAI_SOCKTYPE : EAI_SERVICE;
	}
	if (service && sel && !sel->name)
		return EAI_SERVICE; /* a raw socket has no port */
	if (service && !numeric) {
		uint16_t port;

		if (sel) {
			if (!service_port(service, sel->name, &port))
				return EAI_SERVICE;
			t[n++] = (struct gai_tuple){sel->socktype, sel->protocol, port};
			return n;
		}
		for (size_t i = 0; i < N_PROTOS; i++)
			if (gai_protos[i].name && service_port(service, gai_protos[i].name, &port))
				t[n++] = (struct gai_tuple){gai_protos[i].socktype,
							    gai_protos[i].protocol, port};
		return n ? n : EAI_SERVICE;
	}
	if (sel) {
		t[n++] = (struct gai_tuple){sel->socktype,
					    sel->name ? sel->protocol : hints->ai_protocol,
					    htons((uint16_t)num)};
		return n;
	}
	for (size_t i = 0; i < N_PROTOS; i++)
		if (gai_protos[i].dflt)
			t[n++] = (struct gai_tuple){gai_protos[i].socktype, gai_protos[i].protocol,
						    htons((uint16_t)num)};
	return n;
}

/* One result and its address in one allocation, as glibc lays them out,
 * so that either freeaddrinfo frees either's lists (free(ai_canonname),
 * free(ai)). */
struct gai_block {
	struct addrinfo ai;
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} sa;
};

EXPORT void freeaddrinfo(struct addrinfo *ai)
{
	while (ai) {
		struct addrinfo *next = ai->ai_next;

		free(ai->ai_canonname);
		free(ai);
		ai = next;
	}
}

static struct addrinfo *gai_build(const struct dns_addr *addrs, int naddrs,
				  const struct gai_tuple *t, int nt, int flags, const char *canon)
{
	struct addrinfo *head = NULL, **tail = &head;

	for (int i = 0; i < naddrs; i++) {
		for (int k = 0; k < nt; k++) {
			struct gai_block *b = calloc(1, sizeof(*b));

			if (!b)
				goto nomem;
			b->ai.ai_flags = flags;
			b->ai.ai_family = addrs[i].family;
			b->ai.ai_socktype = t[k].socktype;
			b->ai.ai_protocol = t[k].protocol;
			b->ai.ai_addr = (struct sockaddr *)&b->sa;
			if (addrs[i].family == AF_INET) {
				b->ai.ai_addrlen = sizeof(struct sockaddr_in);
				b->sa.in.sin_family = AF_INET;
				b->sa.in.sin_port = t[k].port;
				memcpy(&b->sa.in.sin_addr, addrs[i].a, 4);
			} else {
				b->ai.ai_addrlen = sizeof(struct sockaddr_in6);
				b->sa.in6.sin6_family = AF_INET6;
				b->sa.in6.sin6_port = t[k].port;
				b->sa.in6.sin6_scope_id = addrs[i].scope;
				memcpy(&b->sa.in6.sin6_addr, addrs[i].a, 16);
			}
			*tail = &b->ai;
			tail = &b->ai.ai_next;
		}
	}
	if (head && canon) {
		head->ai_canonname = strdup(canon);
		if (!head->ai_canonname)
			goto nomem;
	}
	return head;
nomem:
	freeaddrinfo(head);
	return NULL;
}

static void sort_ctx(struct dns_sort_ctx *c)
{
	const struct shim_config *cfg = shim_cfg();

	memset(c, 0, sizeof(*c));
	c->have4 = shim_has_addr(AF_INET);
	c->have6 = shim_has_addr(AF_INET6);
	if (cfg->addr4.family == STACK_AF_INET)
		memcpy(c->src4, cfg->addr4.addr, 4);
	if (cfg->addr6.family == STACK_AF_INET6)
		memcpy(c->src6, cfg->addr6.addr, 16);
}

/* A numeric host (glibc: inet_aton's forms exactly, or inet_pton's IPv6
 * with a scope): 1 with *h set, 0 if node is not a number, or an EAI_*
 * code (negative). */
static int gai_numeric(const char *node, const struct want *w, struct dns_hostent *h)
{
	struct dns_addr a;
	const char *scope_name;
	int r;

	memset(&a, 0, sizeof(a));
	h->naddrs = h->naliases = 0;
	if (dns_parse_ipv4(node, a.a)) {
		a.family = AF_INET;
		if (w->family == AF_INET6) {
			if (!w->mapped)
				return EAI_ADDRFAMILY;
			add_addr(h, &a);
			apply_mapping(h, true);
			return 1;
		}
		add_addr(h, &a);
		return 1;
	}
	r = dns_parse_ipv6(node, a.a, &a.scope, &scope_name);
	if (r == 0)
		return 0;
	if (r == 2 && (a.scope = if_nametoindex(scope_name)) == 0)
		return EAI_NONAME;
	a.family = AF_INET6;
	if (w->family == AF_INET) {
		static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(a.a, pfx, 12) != 0)
			return EAI_ADDRFAMILY;
		a.family = AF_INET;
		memmove(a.a, a.a + 12, 4);
		a.scope = 0;
	}
	add_addr(h, &a);
	return 1;
}

EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res)
{
	static const struct addrinfo dflt = {.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG};
	struct gai_tuple tuples[N_PROTOS];
	struct want w = {0};
	struct addrinfo h;
	struct dns_hostent *hst;
	struct scratch *s = NULL;
	struct dns_sort_ctx sc;
	const char *canon = NULL;
	bool numeric = true;
	int num = 0, nt, r, saved = errno;

	if (!node && !service)
		return EAI_NONAME;
	h = hints ? *hints : dflt;
	if (h.ai_flags & ~GAI_FLAGS)
		return EAI_BADFLAGS;
	if ((h.ai_flags & AI_CANONNAME) && !node)
		return EAI_BADFLAGS;
	if (h.ai_family != AF_UNSPEC && h.ai_family != AF_INET && h.ai_family != AF_INET6)
		return EAI_FAMILY;
	if (!res) {
		errno = EINVAL;
		return EAI_SYSTEM;
	}
	if (h.ai_flags & AI_ADDRCONFIG) {
		/* RFC 3493 6.1, as glibc: only families the stack has a
		 * non-loopback address of; with neither, AF_UNSPEC is not
		 * filtered (loopback names still resolve), a named family
		 * without an address is EAI_NONAME. */
		bool v4 = shim_has_addr(AF_INET), v6 = shim_has_addr(AF_INET6);

		if (h.ai_family == AF_UNSPEC && v4 != v6)
			h.ai_family = v4 ? AF_INET : AF_INET6;
		else if ((h.ai_family == AF_INET && !v4) || (h.ai_family == AF_INET6 && !v6))
			return EAI_NONAME;
	}
	if (service && !service[0])
		service = NULL; /* "" is no service, as in glibc */
	if (service) {
		char *end;

		/* glibc reads the number with strtoul into an int: leading
		 * blanks and a sign pass, a negative int is a name. */
		num = (int)strtoul(service, &end, 10);
		if (*end) {
			if (h.ai_flags & AI_NUMERICSERV)
				return EAI_NONAME;
			numeric = false;
		} else if (num < 0) {
			numeric = false;
		}
	}
	nt = gai_tuples(&h, service, numeric, num, tuples);
	if (nt < 0)
		return nt;

	hst = malloc(sizeof(*hst));
	if (!hst)
		return EAI_MEMORY;
	w.family = h.ai_family;
	w.mapped = h.ai_family == AF_INET6 && (h.ai_flags & AI_V4MAPPED);
	w.all = w.mapped && (h.ai_flags & AI_ALL);
	hst->naddrs = hst->naliases = 0;
	if (!node) {
		/* RFC 3493 6.1: the wildcard for AI_PASSIVE, else loopback;
		 * IPv6 first, then sorted as any other list. */
		struct dns_addr a;
		bool passive = h.ai_flags & AI_PASSIVE;

		if (w.family != AF_INET) {
			memset(&a, 0, sizeof(a));
			a.family = AF_INET6;
			a.a[15] = passive ? 0 : 1;
			add_addr(hst, &a);
		}
		if (w.family != AF_INET6) {
			memset(&a, 0, sizeof(a));
			a.family = AF_INET;
			if (!passive) {
				a.a[0] = 127;
				a.a[3] = 1;
			}
			add_addr(hst, &a);
		}
	} else if ((r = gai_numeric(node, &w, hst)) != 0) {
		if (r < 0) {
			free(hst);
			return r;
		}
		canon = node;
	} else if (h.ai_flags & AI_NUMERICHOST) {
		free(hst);
		return EAI_NONAME;
	} else {
		enum nl st;

		s = scratch_new();
		if (!s) {
			free(hst);
			return EAI_MEMORY;
		}
		st = resolve_name(node, &w, hst, s);
		free(s);
		if (st != NL_OK) {
			r = nl_eai(st);
			free(hst);
			return r;
		}
		canon = hst->name[0] ? hst->name : node;
	}
	sort_ctx(&sc);
	dns_sort_addrs(hst->addrs, (size_t)hst->naddrs, &sc);
	*res = gai_build(hst->addrs, hst->naddrs, tuples, nt, h.ai_flags,
			 (h.ai_flags & AI_CANONNAME) ? canon : NULL);
	r = *res ? 0 : EAI_MEMORY;
	if (hst->naddrs == 0)
		r = EAI_NONAME;
	free(hst);
	if (r == 0)
		errno = saved;
	return r;
}

EXPORT const char *gai_strerror(int code)
{
	/* glibc's messages, translated through its own catalogue. */
	static const struct {
		int code;
		const char *msg;
	} msgs[] = {
	    {EAI_ADDRFAMILY, "Address family for hostname not supported"},
	    {EAI_AGAIN, "Temporary failure in name resolution"},
	    {EAI_BADFLAGS, "Bad value for ai_flags"},
	    {EAI_FAIL, "Non-recoverable failure in name resolution"},
	    {EAI_FAMILY, "ai_family not supported"},
	    {EAI_MEMORY, "Memory allocation failure"},
	    {EAI_NODATA, "No address associated with hostname"},
	    {EAI_NONAME, "Name or service not known"},
	    {EAI_SERVICE, "Servname not supported for ai_socktype"},
	    {EAI_SOCKTYPE, "ai_socktype not supported"},
	    {EAI_SYSTEM, "System error"},
	    {EAI_INPROGRESS, "Processing request in progress"},
	    {EAI_CANCELED, "Request canceled"},
	    {EAI_NOTCANCELED, "Request not canceled"},
	    {EAI_ALLDONE, "All requests done"},
	    {EAI_INTR, "Interrupted by a signal"},
	    {EAI_IDN_ENCODE, "Parameter string not correctly encoded"},
	    {EAI_OVERFLOW, "Result too large for supplied buffer"},
	};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		if (msgs[i].code == code)
			return dgettext("libc", msgs[i].msg);
	return dgettext("libc", "Unknown error");
}

/* ---- getaddrinfo_a: glibc runs these on its own threads with internal
 * getaddrinfo calls the shim cannot see, so they are done here: each
 * call's requests on one thread of ours. ------------------------------------------ */

static pthread_mutex_t gai_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gai_done = PTHREAD_COND_INITIALIZER;

struct gai_job {
	int n;
	struct sigevent sev;
	bool notify;
	struct gaicb *list[];
};

static void gai_run_one(struct gaicb *cb)
{
	struct addrinfo *r = NULL;
	int e = getaddrinfo(cb->ar_name, cb->ar_service, cb->ar_request, &r);

	pthread_mutex_lock(&gai_lock);
	cb->ar_result = e ? NULL : r;
	cb->__return = e;
	pthread_cond_broadcast(&gai_done);
	pthread_mutex_unlock(&gai_lock);
}

static void gai_notify(const struct sigevent *sev)
{
	if (sev->sigev_notify == SIGEV_SIGNAL)
		sigqueue(getpid(), sev->sigev_signo, sev->sigev_value);
	else if (sev->sigev_notify == SIGEV_THREAD && sev->sigev_notify_function)
		sev->sigev_notify_function(sev->sigev_value); /* already our own thread */
}

static void *gai_worker(void *arg)
{
	struct gai_job *job = arg;

	for (int i = 0; i < job->n; i++)
		if (job->list[i])
			gai_run_one(job->list[i]);
	if (job->notify)
		gai_notify(&job->sev);
	free(job);
	return NULL;
}

EXPORT int getaddrinfo_a(int mode, struct gaicb *list[], int nitems, struct sigevent *sevp)
{
	struct gai_job *job;
	pthread_attr_t attr;
	pthread_t t;
	int e;

	if ((mode != GAI_WAIT && mode != GAI_NOWAIT) || nitems < 0) {
		errno = EINVAL;
		return EAI_SYSTEM;
	}
	if (mode == GAI_WAIT) {
		for (int i = 0; i < nitems; i++)
			if (list[i])
				gai_run_one(list[i]);
		return 0;
	}
	job = malloc(sizeof(*job) + (size_t)nitems * sizeof(job->list[0]));
	if (!job)
		return EAI_MEMORY;
	job->n = nitems;
	job->notify = sevp && sevp->sigev_notify != SIGEV_NONE;
	if (sevp)
		job->sev = *sevp;
	pthread_mutex_lock(&gai_lock);
	for (int i = 0; i < nitems; i++) {
		job->list[i] = list[i];
		if (list[i])
			list[i]->__return = EAI_INPROGRESS;
	}
	pthread_mutex_unlock(&gai_lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &attr, gai_worker, job);
	pthread_attr_destroy(&attr);
	if (e) {
		pthread_mutex_lock(&gai_lock);
		for (int i = 0; i < nitems; i++)
			if (list[i])
				list[i]->__return = EAI_SYSTEM;
		pthread_mutex_unlock(&gai_lock);
		free(job);
		return EAI_AGAIN;
	}
	return 0;
}

EXPORT int gai_error(struct gaicb *req)
{
	int r;

	pthread_mutex_lock(&gai_lock);
	r = req->__return;
	pthread_mutex_unlock(&gai_lock);
	return r;
}

EXPORT int gai_cancel(struct gaicb *req)
{
	/* A request already running cannot be taken back. */
	return gai_error(req) == EAI_INPROGRESS ? EAI_NOTCANCELED : EAI_ALLDONE;
}

EXPORT int gai_suspend(const struct gaicb *const list[], int nitems, const struct timespec *timeout)
{
	struct timespec d;
	int r = 0;

	if (timeout) {
		clock_gettime(CLOCK_REALTIME, &d);
		d.tv_sec += timeout->tv_sec;
		d.tv_nsec += timeout->tv_nsec;
		if (d.tv_nsec >= 1000000000) {
			d.tv_sec++;
			d.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&gai_lock);
	for (;;) {
		bool pending = false;

		for (int i = 0; i < nitems; i++) {
			if (!list[i])
				continue;
			if (list[i]->__return != EAI_INPROGRESS)
				goto out; /* one is done */
			pending = true;
		}
		if (!pending) {
			r = EAI_ALLDONE;
			break;
		}
		if (timeout) {
			if (pthread_cond_timedwait(&gai_done, &gai_lock, &d) == ETIMEDOUT) {
				r = EAI_AGAIN;
				break;
			}
		} else {
			pthread_cond_wait(&gai_done, &gai_lock);
		}
	}
out:
	pthread_mutex_unlock(&gai_lock);
	return r;
}

/* ---- getnameinfo ------------------------------------------------------------------ */

#define NI_FLAGS                                                                                   \
	(NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM | NI_IDN | 0x40 |    \
	 0x80 /* the deprecated NI_IDN_* glibc still takes */)

static int copy_out(char *out, socklen_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		return EAI_OVERFLOW;
	memcpy(out, s, n + 1);
	return 0;
}

/* This host's domain for NI_NOFQDN: what follows the first dot of its
 * name, or of its canonical name in the hosts files (glibc asks its
 * resolver; we ask no server for it). */
static bool local_domain(char *out, size_t cap)
{
	const struct shim_config *cfg = shim_cfg();
	struct dns_hostent *h;
	char name[256];
	const char *dot;
	bool ok = false;

	if (gethostname(name, sizeof(name)) < 0)
		return false;
	name[sizeof(name) - 1] = '\0';
	if ((dot = strchr(name, '.')))
		return copy_out(out, (socklen_t)cap, dot + 1) == 0;
	h = malloc(sizeof(*h));
	if (!h)
		return false;
	if ((cfg->hosts[0] && dns_hosts_byname(cfg->hosts, name, AF_UNSPEC, h)) ||
	    dns_hosts_byname(ETC_HOSTS, name, AF_UNSPEC, h)) {
		if ((dot = strchr(h->name, '.')))
			ok = copy_out(out, (socklen_t)cap, dot + 1) == 0;
	}
	free(h);
	return ok;
}

/* The address as text, with %scope for a scoped IPv6 one (RFC 4007 11). */
static int numeric_host(const struct dns_addr *a, char *host, socklen_t hostlen)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 16];

	if (!inet_ntop(a->family, a->a, buf, sizeof(buf)))
		return EAI_SYSTEM;
	if (a->family == AF_INET6 && a->scope) {
		char ifn[IF_NAMESIZE];
		bool ll = (a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80) ||
			  (a->a[0] == 0xff && (a->a[1] & 0x0f) == 2);
		size_t n = strlen(buf);

		if (ll && if_indextoname(a->scope, ifn))
			snprintf(buf + n, sizeof(buf) - n, "%%%s", ifn);
		else
			snprintf(buf + n, sizeof(buf) - n, "%%%u", a->scope);
	}
	return copy_out(host, hostlen, buf);
}

static int ni_host_inet(const struct dns_addr *a, char *host, socklen_t hostlen, int flags)
{
	if (!(flags & NI_NUMERICHOST)) {
		struct scratch *s = scratch_new();
		struct dns_hostent *h = malloc(sizeof(*h));
		enum nl st = NL_SYSERR;
		int r = 0;

		if (s && h)
			st = resolve_addr(a, h, s);
		else
			errno = ENOMEM;
		if (st == NL_OK) {
			char dom[DNS_NAME_BUF];
			char *dot = strchr(h->name, '.');

			if ((flags & NI_NOFQDN) && dot && local_domain(dom, sizeof(dom)) &&
			    dns_name_eq(dot + 1, dom))
				*dot = '\0';
			r = copy_out(host, hostlen, h->name);
		} else if (st == NL_AGAIN || st == NL_SERVFAIL) {
			r = EAI_AGAIN; /* as glibc: TRY_AGAIN is not "no name" */
		} else if (st == NL_SYSERR) {
			r = errno == ENOMEM ? EAI_MEMORY : EAI_SYSTEM;
		}
		free(s);
		free(h);
		if (st == NL_OK || r != 0)
			return r;
		/* not found, no data, refused: the number, unless a name is
		 * required */
	}
	if (flags & NI_NAMEREQD)
		return EAI_NONAME;
	return numeric_host(a, host, hostlen);
}

static int ni_serv_inet(uint16_t port, char *serv, socklen_t servlen, int flags)
{
	char buf[16];

	if (!(flags & NI_NUMERICSERV)) {
		struct servent se, *r = NULL;
		char sbuf[1024];

		if (getservbyport_r(port, (flags & NI_DGRAM) ? "udp" : "tcp", &se, sbuf,
				    sizeof(sbuf), &r) == 0 &&
		    r)
			return copy_out(serv, servlen, r->s_name);
	}
	snprintf(buf, sizeof(buf), "%u", ntohs(port));
	return copy_out(serv, servlen, buf);
}

EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
		       char *serv, socklen_t servlen, int flags)
{
	struct dns_addr a;
	uint16_t port;
	int r, saved = errno;

	if (flags & ~NI_FLAGS)
		return EAI_BADFLAGS;
	if (!sa || salen < sizeof(sa_family_t))
		return EAI_FAMILY;
	if ((flags & NI_NAMEREQD) && !host && !serv)
		return EAI_NONAME;
	memset(&a, 0, sizeof(a));
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const void *)sa;

		if (salen < sizeof(*in))
			return EAI_FAMILY;
		a.family = AF_INET;
		memcpy(a.a, &in->sin_addr, 4);
		port = in->sin_port;
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		if (salen < sizeof(*in6))
			return EAI_FAMILY;
		a.family = AF_INET6;
		memcpy(a.a, &in6->sin6_addr, 16);
		a.scope = in6->sin6_scope_id;
		port = in6->sin6_port;
		break;
	}
	case AF_UNIX: {
		/* Kept from libc's behaviour: the node name, and the path as
		 * the "service". */
		const struct sockaddr_un *un = (const void *)sa;
		struct utsname u;
		char path[sizeof(un->sun_path) + 1];
		size_t plen;

		if (salen < offsetof(struct sockaddr_un, sun_path))
			return EAI_FAMILY;
		if (host && hostlen > 0) {
			if (!(flags & NI_NUMERICHOST) && uname(&u) == 0)
				r = copy_out(host, hostlen, u.nodename);
			else if (flags & NI_NAMEREQD)
				r = EAI_NONAME;
			else
				r = copy_out(host, hostlen, "localhost");
			if (r)
				return r;
		}
		if (serv && servlen > 0) {
			plen = salen - offsetof(struct sockaddr_un, sun_path);
			if (plen > sizeof(un->sun_path))
				plen = sizeof(un->sun_path);
			memcpy(path, un->sun_path, plen);
			path[plen] = '\0';
			if ((r = copy_out(serv, servlen, path)))
				return r;
		}
		return 0;
	}
	default:
		return EAI_FAMILY;
	}
	if (host && hostlen > 0 && (r = ni_host_inet(&a, host, hostlen, flags)))
		return r;
	if (serv && servlen > 0 && (r = ni_serv_inet(port, serv, servlen, flags)))
		return r;
	errno = saved;
	return 0;
}

/* ---- gethostby* ------------------------------------------------------------------- */

/* Lay a hostent out in the caller's buffer: pointer arrays first
 * (aligned), then addresses, then strings.  ERANGE if it does not fit. */
static int hostent_pack(const struct dns_hostent *h, int af, struct hostent *he, char *buf,
			size_t buflen)
{
	size_t alen = af == AF_INET ? 4 : 16, pad, need, n = 0;
	char **aliases, **addrs, *p;
	int k = 0;

	for (int i = 0; i < h->naddrs; i++)
		n += h->addrs[i].family == af;
	pad = (alignof(char *) - ((uintptr_t)buf % alignof(char *))) % alignof(char *);
	need = pad + ((size_t)h->naliases + 1 + n + 1) * sizeof(char *) + n * alen +
	       strlen(h->name) + 1;
	for (int i = 0; i < h->naliases; i++)
		need += strlen(h->aliases[i]) + 1;
	if (!buf || need > buflen)
		return ERANGE;
	aliases = (char **)(void *)(buf + pad);
	addrs = aliases + h->naliases + 1;
	p = (char *)(addrs + n + 1);
	for (int i = 0; i < h->naddrs; i++) {
		if (h->addrs[i].family != af)
			continue;
		memcpy(p, h->addrs[i].a, alen);
		addrs[k++] = p;
		p += alen;
	}
	addrs[k] = NULL;
	he->h_name = p;
	p = stpcpy(p, h->name) + 1;
	for (int i = 0; i < h->naliases; i++) {
		aliases[i] = p;
		p = stpcpy(p, h->aliases[i]) + 1;
	}
	aliases[h->naliases] = NULL;
	he->h_aliases = aliases;
	he->h_addrtype = af;
	he->h_length = (int)alen;
	he->h_addr_list = addrs;
	return 0;
}

/* Finish a gethostby*_r call: 0 with *result set, or the glibc return
 * value (0 for "no such host", EAGAIN for "try again", ERANGE for a small
 * buffer) with *h_errnop set, and h_errno but for ERANGE (Python reads
 * h_errno). */
static int hostent_done(enum nl st, const struct dns_hostent *h, int af, struct hostent *ret,
			char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	int herr, e = 0;

	*result = NULL;
	if (st == NL_OK) {
		e = hostent_pack(h, af, ret, buf, buflen);
		if (e == 0) {
			*result = ret;
			if (h_errnop)
				*h_errnop = NETDB_SUCCESS;
			return 0;
		}
		/* glibc leaves h_errno alone here: the caller retries with
		 * a larger buffer */
		if (h_errnop)
			*h_errnop = NETDB_INTERNAL;
		return errno = ERANGE;
	}
	herr = nl_herrno(st);
	if (st == NL_AGAIN || st == NL_SERVFAIL)
		e = errno = EAGAIN;
	else if (st == NL_SYSERR)
		e = errno;
	if (h_errnop)
		*h_errnop = herr;
	h_errno = herr;
	return e;
}

EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
			    struct hostent **result, int *h_errnop)
{
	struct dns_hostent *h;
	struct scratch *s;
	struct want w = {.family = af};
	struct dns_addr a;
	enum nl st;
	int r;

	*result = NULL;
	if (af != AF_INET && af != AF_INET6) {
		if (h_errnop)
			*h_errnop = NO_DATA; /* what glibc says */
		h_errno = NO_DATA;
		return errno = EAFNOSUPPORT;
	}
	h = malloc(sizeof(*h));
	if (!h) {
		errno = ENOMEM;
		return hostent_done(NL_SYSERR, NULL, af, ret, buf, buflen, result, h_errnop);
	}
	h->naddrs = h->naliases = 0;
	memset(&a, 0, sizeof(a));
	/* Numbers, as glibc: digits and dots for IPv4, a ':' for IPv6; the
	 * other family's number is no host. */
	if (dns_parse_ipv4_dotted(name, a.a)) {
		a.family = AF_INET;
		st = af == AF_INET ? NL_OK : NL_NOTFOUND;
	} else if (strchr(name, ':')) {
		a.family = AF_INET6;
		st = af == AF_INET6 && inet_pton(AF_INET6, name, a.a) == 1 ? NL_OK : NL_NOTFOUND;
	} else {
		a.family = 0;
		st = NL_NOTFOUND;
	}
	if (a.family) {
		set_name(h, name);
		add_addr(h, &a);
	} else if (!(s = scratch_new())) {
		errno = ENOMEM;
		st = NL_SYSERR;
	} else {
		st = resolve_name(name, &w, h, s);
		free(s);
	}
	r = hostent_done(st, h, af, ret, buf, buflen, result, h_errnop);
	free(h);
	return r;
}

EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
			   struct hostent **result, int *h_errnop)
{
	return gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
			   char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	struct dns_hostent *h;
	struct scratch *s;
	struct dns_addr a;
	enum nl st;
	int r;

	*result = NULL;
	if (type != AF_INET && type != AF_INET6) {
		if (h_errnop)
			*h_errnop = NETDB_INTERNAL;
		h_errno = NETDB_INTERNAL;
		return errno = EAFNOSUPPORT;
	}
	memset(&a, 0, sizeof(a));
	a.family = type;
	if (!addr || len != (type == AF_INET ? 4u : 16u) ||
	    (type == AF_INET6 && memcmp(addr, &in6addr_any, 16) == 0))
		return hostent_done(NL_NOTFOUND, NULL, type, ret, buf, buflen, result, h_errnop);
	memcpy(a.a, addr, len);
	h = malloc(sizeof(*h));
	s = scratch_new();
	if (!h || !s) {
		errno = ENOMEM;
		st = NL_SYSERR;
	} else {
		st = resolve_addr(&a, h, s);
		if (st == NL_OK) { /* the asked address, whatever the line had */
			h->naddrs = 0;
			add_addr(h, &a);
		}
	}
	r = hostent_done(st, h, type, ret, buf, buflen, result, h_errnop);
	free(s);
	free(h);
	return r;
}

/* The non-_r versions: one result per thread, freed when it exits. */
struct tls_hostent {
	struct hostent he;
	alignas(char *) char buf[HOSTENT_BUF];
};
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_key_make(void)
{
	pthread_key_create(&tls_key, free);
}

static struct tls_hostent *tls_hostent(void)
{
	struct tls_hostent *t;

	pthread_once(&tls_once, tls_key_make);
	t = pthread_getspecific(tls_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (t && pthread_setspecific(tls_key, t) != 0) {
			free(t);
			t = NULL;
		}
	}
	if (!t) {
		h_errno = NETDB_INTERNAL;
		errno = ENOMEM;
	}
	return t;
}

EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	struct tls_hostent *t = tls_hostent();
	struct hostent *r = NULL;
	int herr;

	if (t)
		gethostbyname2_r(name, af, &t->he, t->buf, sizeof(t->buf), &r, &herr);
	return r;
}

EXPORT struct hostent *gethostbyname(const char *name)
{
	return gethostbyname2(name, AF_INET);
}

EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
	struct tls_hostent *t = tls_hostent();
	struct hostent *r = NULL;
	int herr;

	if (t)
		gethostbyaddr_r(addr, len, type, &t->he, t->buf, sizeof(t->buf), &r, &herr);
	return r;
}

/* ---- res_* ------------------------------------------------------------------------ */

static void set_herr(res_state statp, int herr)
{
	h_errno = herr;
	if (statp)
		statp->res_h_errno = herr;
}

/* Copy a reply into the caller's buffer: at most anslen bytes, TC set
 * when it was cut, so that no caller reads past what it gave. */
static int answer_copy(const struct scratch *s, unsigned char *answer, int anslen)
{
	size_t n = s->replylen < (size_t)anslen ? s->replylen : (size_t)anslen;

	memcpy(answer, s->reply, n);
	if (n < s->replylen && n >= 3)
		answer[2] |= DNS_F_TC >> 8;
	return (int)n;
}

/* One question, the answer raw: the length, or -1 with h_errno (NXDOMAIN
 * HOST_NOT_FOUND, SERVFAIL TRY_AGAIN, no answer records NO_DATA, other
 * rcodes NO_RECOVERY, as glibc's res_query).  *why says which. */
static int query_raw(res_state statp, const char *name, int class, int type, unsigned char *answer,
		     int anslen, enum nl *why)
{
	struct scratch *s;
	struct dns_question q;
	int qlen, n, rcode;
	enum nl st;

	if (!name || !answer || anslen < 0) {
		errno = EINVAL;
		*why = NL_SYSERR;
		set_herr(statp, NETDB_INTERNAL);
		return -1;
	}
	if (!dns_usable(name, &st)) {
		*why = st;
		set_herr(statp, nl_herrno(st));
		return -1;
	}
	s = scratch_new();
	if (!s) {
		*why = NL_SYSERR;
		set_herr(statp, NETDB_INTERNAL);
		return -1;
	}
	qlen = dns_query_build(s->query, sizeof(s->query), 0, name, type, class);
	if (qlen < 0 || dns_question_read(s->query, (size_t)qlen, &q) < 0) {
		free(s);
		*why = NL_FAIL;
		set_herr(statp, NO_RECOVERY);
		return -1;
	}
	if (dns_ask(s->query, (size_t)qlen, &q, true, s) < 0) {
		*why = errno == ETIMEDOUT ? NL_AGAIN : NL_SYSERR;
		free(s);
		set_herr(statp, nl_herrno(*why));
		return -1;
	}
	n = answer_copy(s, answer, anslen);
	rcode = dns_reply_rcode(s->reply, s->replylen);
	if (rcode == DNS_R_NOERROR && s->replylen >= DNS_HDR_LEN &&
	    (s->reply[6] | s->reply[7]) != 0) {
		free(s);
		*why = NL_OK;
		set_herr(statp, NETDB_SUCCESS);
		return n;
	}
	free(s);
	*why = rcode == DNS_R_NOERROR	 ? NL_NODATA
	       : rcode == DNS_R_NXDOMAIN ? NL_NOTFOUND
	       : rcode == DNS_R_SERVFAIL ? NL_SERVFAIL
					 : NL_FAIL;
	set_herr(statp, nl_herrno(*why));
	return -1;
}

static int do_query(res_state statp, const char *name, int class, int type, unsigned char *answer,
		    int anslen)
{
	enum nl why;

	return query_raw(statp, name, class, type, answer, anslen, &why);
}

/* res_search: the search list as for getaddrinfo (resolve_name). */
static int do_search(res_state statp, const char *name, int class, int type, unsigned char *answer,
		     int anslen)
{
	char search[DNS_MAX_SEARCH][DNS_SEARCH_LEN];
	char cand[DNS_MAX_SEARCH + 1][DNS_NAME_BUF];
	bool nodata = false, servfail = false;
	enum nl why;
	int n;

	if (!name) {
		errno = EINVAL;
		set_herr(statp, NETDB_INTERNAL);
		return -1;
	}
	n = dns_search_list(name, (const char(*)[DNS_SEARCH_LEN])search, search_domains(search),
			    cand, DNS_MAX_SEARCH + 1);
	for (int i = 0; i < n; i++) {
		int r = query_raw(statp, cand[i], class, type, answer, anslen, &why);

		if (r >= 0)
			return r;
		if (why == NL_NODATA)
			nodata = true;
		else if (why == NL_SERVFAIL)
			servfail = true;
		else if (why != NL_NOTFOUND)
			return -1;
	}
	set_herr(statp, nodata ? NO_DATA : servfail ? TRY_AGAIN : HOST_NOT_FOUND);
	return -1;
}

static int do_querydomain(res_state statp, const char *name, const char *domain, int class,
			  int type, unsigned char *answer, int anslen)
{
	char full[DNS_NAME_BUF + 1];
	size_t n;

	if (!name) {
		errno = EINVAL;
		set_herr(statp, NETDB_INTERNAL);
		return -1;
	}
	n = strlen(name);
	if (!domain) {
		if (n > DNS_NAME_MAX + 1)
			goto toolong;
		memcpy(full, name, n + 1);
	} else {
		size_t d = strlen(domain);

		if (n + 1 + d > DNS_NAME_MAX + 1)
			goto toolong;
		memcpy(full, name, n);
		full[n] = '.';
		memcpy(full + n + 1, domain, d + 1);
	}
	return do_query(statp, full, class, type, answer, anslen);
toolong:
	set_herr(statp, NO_RECOVERY);
	return -1;
}

/* res_send: the caller's own message to our servers (never the host's);
 * the reply checked against its question and ID. */
static int do_send(res_state statp, const unsigned char *msg, int msglen, unsigned char *answer,
		   int anslen)
{
	struct scratch *s;
	struct dns_question q;
	enum nl st;
	int n;

	if (!msg || msglen <= 0 || msglen > DNS_UDP_MAX || !answer || anslen < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!dns_usable("res_send", &st)) {
		set_herr(statp, nl_herrno(st));
		errno = st == NL_NOTFOUND ? ECONNREFUSED : ETIMEDOUT;
		return -1;
	}
	if (dns_question_read(msg, (size_t)msglen, &q) < 0) {
		errno = EINVAL;
		return -1;
	}
	s = scratch_new();
	if (!s)
		return -1;
	memcpy(s->query, msg, (size_t)msglen);
	if (dns_ask(s->query, (size_t)msglen, &q, false, s) < 0) {
		int e = errno;

		free(s);
		errno = e;
		return -1;
	}
	n = answer_copy(s, answer, anslen);
	free(s);
	return n;
}

EXPORT int res_query(const char *dname, int class, int type, unsigned char *answer, int anslen)
{
	return do_query(NULL, dname, class, type, answer, anslen);
}

EXPORT int __res_query(const char *dname, int class, int type, unsigned char *answer, int anslen)
{
	return do_query(NULL, dname, class, type, answer, anslen);
}

EXPORT int res_search(const char *dname, int class, int type, unsigned char *answer, int anslen)
{
	return do_search(NULL, dname, class, type, answer, anslen);
}

EXPORT int __res_search(const char *dname, int class, int type, unsigned char *answer, int anslen)
{
	return do_search(NULL, dname, class, type, answer, anslen);
}

EXPORT int res_querydomain(const char *name, const char *domain, int class, int type,
			   unsigned char *answer, int anslen)
{
	return do_querydomain(NULL, name, domain, class, type, answer, anslen);
}

EXPORT int __res_querydomain(const char *name, const char *domain, int class, int type,
			     unsigned char *answer, int anslen)
{
	return do_querydomain(NULL, name, domain, class, type, answer, anslen);
}

EXPORT int res_nquery(res_state statp, const char *dname, int class, int type,
		      unsigned char *answer, int anslen)
{
	return do_query(statp, dname, class, type, answer, anslen);
}

EXPORT int __res_nquery(res_state statp, const char *dname, int class, int type,
			unsigned char *answer, int anslen)
{
	return do_query(statp, dname, class, type, answer, anslen);
}

EXPORT int res_nsearch(res_state statp, const char *dname, int class, int type,
		       unsigned char *answer, int anslen)
{
	return do_search(statp, dname, class, type, answer, anslen);
}

EXPORT int __res_nsearch(res_state statp, const char *dname, int class, int type,
			 unsigned char *answer, int anslen)
{
	return do_search(statp, dname, class, type, answer, anslen);
}

EXPORT int res_nquerydomain(res_state statp, const char *name, const char *domain, int class,
			    int type, unsigned char *answer, int anslen)
{
	return do_querydomain(statp, name, domain, class, type, answer, anslen);
}

EXPORT int __res_nquerydomain(res_state statp, const char *name, const char *domain, int class,
			      int type, unsigned char *answer, int anslen)
{
	return do_querydomain(statp, name, domain, class, type, answer, anslen);
}

EXPORT int res_send(const unsigned char *msg, int msglen, unsigned char *answer, int anslen)
{
	return do_send(NULL, msg, msglen, answer, anslen);
}

EXPORT int __res_send(const unsigned char *msg, int msglen, unsigned char *answer, int anslen)
{
	return do_send(NULL, msg, msglen, answer, anslen);
}

EXPORT int res_nsend(res_state statp, const unsigned char *msg, int msglen, unsigned char *answer,
		     int anslen)
{
	return do_send(statp, msg, msglen, answer, anslen);
}

EXPORT int __res_nsend(res_state statp, const unsigned char *msg, int msglen, unsigned char *answer,
		       int anslen)
{
	return do_send(statp, msg, msglen, answer, anslen);
}
