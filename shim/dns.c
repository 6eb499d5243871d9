/*
 * dns.c — the pure half of the name service (dns.h): DNS wire format,
 * hosts files, resolv.conf, numeric addresses, RFC 6724 ordering.
 * names.c -> dns_query_build / dns_reply_matches / dns_answer_parse;
 * dns_hosts_* and dns_resolv_search read only the files they are given.
 * Everything from the network is length-checked before it is read.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"

/* ---- small helpers ------------------------------------------------------- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ASCII only: DNS compares names without case for ASCII letters and
 * exactly for every other byte (RFC 4343 3), whatever the locale says. */
static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool ascii_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(int c)
{
	if (ascii_digit(c))
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool ascii_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	return true;
}

static bool ascii_strcaseeq(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && ascii_caseeq(a, b, n);
}

/* Copy s into out[cap] if it fits (with its NUL). */
static bool copy_str(char *out, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		return false;
	memcpy(out, s, n + 1);
	return true;
}

/* ---- numeric addresses --------------------------------------------------- */

/* One part of an inet_aton number: decimal, 0-octal or 0x-hex.  A lone
 * "0" is zero; "0x" needs a digit after it. */
static const char *ipv4_part(const char *p, uint64_t *val)
{
	unsigned base = 10;
	bool digit = false;
	uint64_t v = 0;

	if (!ascii_digit((unsigned char)*p))
		return NULL;
	if (*p == '0') {
		digit = true;
		base = 8;
		p++;
		if (*p == 'x' || *p == 'X') {
			base = 16;
			digit = false;
			p++;
		}
	}
	for (;; p++) {
		int d = hex_value((unsigned char)*p);

		if (d < 0 || (unsigned)d >= base)
			break;
		v = v * base + (unsigned)d;
		if (v > 0xffffffffu)
			return NULL;
		digit = true;
	}
	if (!digit || ascii_digit((unsigned char)*p)) /* '8' or '9' in octal */
		return NULL;
	*val = v;
	return p;
}

bool dns_parse_ipv4(const char *s, uint8_t out[4])
{
	uint64_t part[4];
	int n = 0;
	const char *p = s;
	uint32_t v;

	for (;;) {
		p = ipv4_part(p, &part[n]);
		if (!p)
			return false;
		n++;
		if (*p == '\0')
			break;
		if (*p != '.' || n == 4)
			return false;
		p++;
	}
	/* Every part but the last is one byte; the last fills the rest. */
	for (int i = 0; i < n - 1; i++)
		if (part[i] > 0xff)
			return false;
	if (part[n - 1] > (0xffffffffu >> (8 * (n - 1))))
		return false;
	v = (uint32_t)part[n - 1];
	for (int i = 0; i < n - 1; i++)
		v |= (uint32_t)part[i] << (24 - 8 * i);
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
	return true;
}

bool dns_parse_ipv4_dotted(const char *s, uint8_t out[4])
{
	size_t n = strlen(s);

	if (n == 0 || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ascii_digit((unsigned char)s[i]) && s[i] != '.')
			return false;
	return dns_parse_ipv4(s, out);
}

int dns_parse_ipv6(const char *s, uint8_t out[16], uint32_t *scope, const char **scope_name)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *pct = strchr(s, '%');
	size_t n = pct ? (size_t)(pct - s) : strlen(s);

	*scope = 0;
	*scope_name = NULL;
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, out) != 1)
		return 0;
	if (!pct)
		return 1;
	pct++;
	if (*pct == '\0')
		return 0;
	if (ascii_digit((unsigned char)*pct)) {
		uint64_t v = 0;

		for (const char *p = pct; *p; p++) {
			if (!ascii_digit((unsigned char)*p))
				return 0;
			v = v * 10 + (unsigned)(*p - '0');
			if (v > 0xffffffffu)
				return 0;
		}
		*scope = (uint32_t)v;
		return 1;
	}
	*scope_name = pct;
	return 2;
}

static bool v4mapped(const uint8_t *a)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

int dns_ptr_name(const struct dns_addr *a, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *v4 = NULL;
	int n;

	if (a->family == AF_INET)
		v4 = a->a;
	else if (a->family == AF_INET6 && v4mapped(a->a))
		v4 = a->a + 12;
	if (v4) { /* RFC 1035 3.5 */
		n = snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", v4[3], v4[2], v4[1], v4[0]);
		return n > 0 && (size_t)n < cap ? 0 : -1;
	}
	if (a->family != AF_INET6 || cap < 16 * 4 + sizeof("ip6.arpa"))
		return -1;
	/* RFC 3596 2.5: nibbles, least significant first. */
	n = 0;
	for (int i = 15; i >= 0; i--) {
		out[n++] = hex[a->a[i] & 0xf];
		out[n++] = '.';
		out[n++] = hex[a->a[i] >> 4];
		out[n++] = '.';
	}
	memcpy(out + n, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

bool dns_is_localhost(const char *name)
{
	static const char lh[] = "localhost";
	size_t n = strlen(name), l = sizeof(lh) - 1;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n < l || !ascii_caseeq(name + n - l, lh, l))
		return false;
	/* RFC 6761 6.3: "localhost." and names falling within ".localhost." */
	return n == l || (n > l + 1 && name[n - l - 1] == '.');
}

/* ---- RFC 6724 ordering --------------------------------------------------- */

/* The address as IPv6, IPv4 mapped (RFC 6724 2.1: IPv4 is ::ffff:0:0/96). */
static void as_v6(const struct dns_addr *a, uint8_t out[16])
{
	if (a->family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, a->a, 4);
	} else {
		memcpy(out, a->a, 16);
	}
}

static unsigned common_prefix(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned n = 0;

	while (n < max && !((a[n / 8] ^ b[n / 8]) & (0x80 >> (n % 8))))
		n++;
	return n;
}

/* The default policy table, RFC 6724 2.1. */
static const struct {
	uint8_t pfx[16];
	unsigned len;
	int prec, label;
} policy[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 50, 0}, /* ::1/128 */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 35, 4},	    /* ::ffff:0:0/96 */
    {{0x20, 0x02}, 16, 30, 2},					    /* 2002::/16 */
    {{0x20, 0x01, 0, 0}, 32, 5, 5},				    /* 2001::/32 */
    {{0xfc}, 7, 3, 13},						    /* fc00::/7 */
    {{0}, 96, 1, 3},						    /* ::/96 */
    {{0xfe, 0xc0}, 10, 1, 11},					    /* fec0::/10 */
    {{0x3f, 0xfe}, 16, 1, 12},					    /* 3ffe::/16 */
    {{0}, 0, 40, 1},						    /* ::/0 */
};

static unsigned policy_of(const uint8_t v6[16])
{
	unsigned i;

	/* Longest match: the table is ordered so that the first match is it
	 * (::/96 comes after ::1/128 and ::ffff:0:0/96, ::/0 last). */
	for (i = 0; i < sizeof(policy) / sizeof(policy[0]) - 1; i++)
		if (common_prefix(v6, policy[i].pfx, policy[i].len) == policy[i].len)
			return i;
	return i;
}

/* RFC 6724 3.1 (RFC 4291 2.7 for multicast), 3.2 for IPv4: 127/8 and
 * 169.254/16 are link-local, the rest global. */
static int scope_of(const uint8_t v6[16])
{
	if (v4mapped(v6)) {
		if (v6[12] == 127 || (v6[12] == 169 && v6[13] == 254))
			return 2;
		return 14;
	}
	if (v6[0] == 0xff)
		return v6[1] & 0xf;
	if (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80)
		return 2;
	if (v6[0] == 0xfe && (v6[1] & 0xc0) == 0xc0)
		return 5;
	if (memcmp(v6, in6addr_loopback.s6_addr, 16) == 0)
		return 2;
	return 14;
}

struct sort_item {
	uint8_t dst[16], src[16];
	bool usable;
	int dscope, sscope, dlabel, slabel, prec;
	bool ipv6; /* a real IPv6 destination (not IPv4 / mapped) */
};

static void sort_item_fill(struct sort_item *it, const struct dns_addr *a,
			   const struct dns_sort_ctx *c)
{
	static const uint8_t lo4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
	static const uint8_t any4[4];

	as_v6(a, it->dst);
	it->ipv6 = !v4mapped(it->dst);
	if (it->ipv6) {
		bool self = memcmp(it->dst, in6addr_loopback.s6_addr, 16) == 0 ||
			    memcmp(it->dst, in6addr_any.s6_addr, 16) == 0;

		it->usable = self || c->have6;
		memcpy(it->src, self ? in6addr_loopback.s6_addr : c->src6, 16);
	} else {
		bool self = it->dst[12] == 127 || memcmp(it->dst + 12, any4, 4) == 0;

		it->usable = self || c->have4;
		memcpy(it->src, lo4, 12);
		memcpy(it->src + 12, self ? lo4 + 12 : c->src4, 4);
	}
	it->dscope = scope_of(it->dst);
	it->sscope = scope_of(it->src);
	it->dlabel = policy[policy_of(it->dst)].label;
	it->slabel = policy[policy_of(it->src)].label;
	it->prec = policy[policy_of(it->dst)].prec;
}

/* < 0: a before b (RFC 6724 section 6). */
static int sort_cmp(const struct sort_item *a, const struct sort_item *b)
{
	bool ma, mb;

	if (a->usable != b->usable) /* rule 1 */
		return a->usable ? -1 : 1;
	ma = a->usable && a->dscope == a->sscope; /* rule 2 */
	mb = b->usable && b->dscope == b->sscope;
	if (ma != mb)
		return ma ? -1 : 1;
	ma = a->usable && a->dlabel == a->slabel; /* rule 5 */
	mb = b->usable && b->dlabel == b->slabel;
	if (ma != mb)
		return ma ? -1 : 1;
	if (a->prec != b->prec) /* rule 6 */
		return a->prec > b->prec ? -1 : 1;
	if (a->dscope != b->dscope) /* rule 8 */
		return a->dscope < b->dscope ? -1 : 1;
	if (a->ipv6 && b->ipv6 && a->usable && b->usable) { /* rule 9, up to the
							     * 64-bit prefix */
		unsigned pa = common_prefix(a->dst, a->src, 64);
		unsigned pb = common_prefix(b->dst, b->src, 64);

		if (pa != pb)
			return pa > pb ? -1 : 1;
	}
	return 0; /* rule 10 */
}

void dns_sort_addrs(struct dns_addr *a, size_t n, const struct dns_sort_ctx *c)
{
	struct sort_item it[DNS_MAX_ADDRS * 2];

	if (n < 2 || n > sizeof(it) / sizeof(it[0]))
		return;
	for (size_t i = 0; i < n; i++)
		sort_item_fill(&it[i], &a[i], c);
	/* Insertion sort: stable, and n is small. */
	for (size_t i = 1; i < n; i++) {
		struct sort_item ti = it[i];
		struct dns_addr ta = a[i];
		size_t j = i;

		while (j > 0 && sort_cmp(&ti, &it[j - 1]) < 0) {
			it[j] = it[j - 1];
			a[j] = a[j - 1];
			j--;
		}
		it[j] = ti;
		a[j] = ta;
	}
}

/* ---- names ---------------------------------------------------------------- */

int dns_name_to_wire(const char *name, uint8_t *out, size_t cap)
{
	size_t n = strlen(name), pos = 0, i = 0;

	if (n == 1 && name[0] == '.') { /* the root */
		if (cap < 1)
			return -1;
		out[0] = 0;
		return 1;
	}
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX || n + 2 > cap)
		return -1;
	while (i < n) {
		size_t l = 0;

		while (i + l < n && name[i + l] != '.')
			l++;
		if (l == 0 || l > DNS_LABEL_MAX)
			return -1;
		out[pos++] = (uint8_t)l;
		memcpy(out + pos, name + i, l);
		pos += l;
		i += l + 1; /* past the dot */
	}
	if (name[n - 1] == '.') /* "a.." : an empty last label */
		return -1;
	out[pos++] = 0;
	return (int)pos;
}

bool dns_wire_eq(const uint8_t *a, const uint8_t *b)
{
	size_t i = 0;

	while (i < DNS_WIRE_MAX) {
		uint8_t l = a[i];

		if (l != b[i])
			return false;
		if (l == 0)
			return true;
		if (l > DNS_LABEL_MAX || i + 1 + l >= DNS_WIRE_MAX)
			return false;
		for (size_t k = 1; k <= l; k++)
			if (ascii_lower(a[i + k]) != ascii_lower(b[i + k]))
				return false;
		i += 1 + (size_t)l;
	}
	return false;
}

int dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t out[DNS_WIRE_MAX])
{
	size_t pos = *off, start = *off, n = 0;
	bool jumped = false;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -1;
		c = msg[pos];
		if ((c & 0xc0) == 0xc0) { /* a pointer, RFC 1035 4.1.4 */
			size_t to;

			if (pos + 1 >= len)
				return -1;
			to = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			/* Strictly before where this run of labels began: the
			 * targets decrease, so there is no loop; never into the
			 * header (RFC 9267 2-4: the pointer loops and
			 * out-of-bounds offsets behind NAME:WRECK). */
			if (to >= start || to < DNS_HDR_LEN)
				return -1;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			start = pos = to;
			continue;
		}
		if (c & 0xc0) /* 0x40 and 0x80: no such label types in use */
			return -1;
		if (c == 0) {
			out[n++] = 0;
			if (!jumped)
				*off = pos + 1;
			return (int)n;
		}
		if (pos + 1 + c > len || n + 1 + c + 1 > DNS_WIRE_MAX)
			return -1;
		out[n++] = c;
		memcpy(out + n, msg + pos + 1, c);
		n += c;
		pos += 1 + (size_t)c;
	}
}

/* A byte a host name may hold (RFC 952 / RFC 1123 2.1 letters, digits,
 * hyphen; plus '_', which glibc's res_hnok also lets through). */
static bool host_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || ascii_digit(c) || c == '-' ||
	       c == '_';
}

int dns_wire_to_text(const uint8_t *wire, char *out, size_t cap)
{
	size_t i = 0, n = 0;

	if (cap == 0)
		return -1;
	while (wire[i] != 0) {
		uint8_t l = wire[i];

		if (l > DNS_LABEL_MAX || i + 1 + l >= DNS_WIRE_MAX)
			return -1;
		if (n > 0) {
			if (n + 1 >= cap)
				return -1;
			out[n++] = '.';
		}
		if (n + l >= cap)
			return -1;
		for (size_t k = 1; k <= l; k++) {
			if (!host_byte(wire[i + k]))
				return -1;
			out[n++] = (char)wire[i + k];
		}
		i += 1 + (size_t)l;
	}
	out[n] = '\0';
	return (int)n;
}

bool dns_name_eq(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na > 1 && a[na - 1] == '.')
		na--;
	if (nb > 1 && b[nb - 1] == '.')
		nb--;
	return na == nb && ascii_caseeq(a, b, na);
}

/* ---- messages -------------------------------------------------------------- */

int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, int qtype, int qclass)
{
	int n;

	if (cap < DNS_HDR_LEN + 4)
		return -1;
	n = dns_name_to_wire(name, buf + DNS_HDR_LEN, cap - DNS_HDR_LEN - 4);
	if (n < 0)
		return -1;
	memset(buf, 0, DNS_HDR_LEN);
	put16(buf, id);
	put16(buf + 2, DNS_F_RD); /* opcode 0 (QUERY), recursion desired */
	put16(buf + 4, 1);	  /* QDCOUNT */
	put16(buf + DNS_HDR_LEN + n, (unsigned)qtype);
	put16(buf + DNS_HDR_LEN + n + 2, (unsigned)qclass);
	return DNS_HDR_LEN + n + 4;
}

/* Read the one question at offset 12 into q's name, type and class. */
static bool question_at(const uint8_t *msg, size_t len, struct dns_question *q, size_t *end)
{
	size_t off = DNS_HDR_LEN;

	if (dns_name_read(msg, len, &off, q->qname) < 0 || off + 4 > len)
		return false;
	q->qtype = get16(msg + off);
	q->qclass = get16(msg + off + 2);
	*end = off + 4;
	return true;
}

int dns_question_read(const uint8_t *msg, size_t len, struct dns_question *q)
{
	size_t end;

	if (len < DNS_HDR_LEN || get16(msg + 4) != 1)
		return -1;
	if ((get16(msg + 2) & (DNS_F_QR | DNS_F_OPCODE)) != 0)
		return -1;
	q->id = get16(msg);
	return question_at(msg, len, q, &end) ? 0 : -1;
}

bool dns_reply_matches(const uint8_t *msg, size_t len, const struct dns_question *q)
{
	struct dns_question got;
	unsigned flags;
	size_t end;

	if (len < DNS_HDR_LEN || get16(msg) != q->id)
		return false;
	flags = get16(msg + 2);
	if (!(flags & DNS_F_QR) || (flags & DNS_F_OPCODE))
		return false;
	if (get16(msg + 4) == 0) {
		/* Some servers drop the question from an error reply: accept
		 * those (they only make us try the next server), never an
		 * answer without its question. */
		int rc = flags & DNS_F_RCODE;

		return rc == DNS_R_FORMERR || rc == DNS_R_NOTIMP || rc == DNS_R_REFUSED;
	}
	if (get16(msg + 4) != 1 || !question_at(msg, len, &got, &end))
		return false;
	return got.qtype == q->qtype && got.qclass == q->qclass && dns_wire_eq(got.qname, q->qname);
}

int dns_reply_rcode(const uint8_t *msg, size_t len)
{
	return len >= DNS_HDR_LEN ? get16(msg + 2) & DNS_F_RCODE : -1;
}

bool dns_reply_truncated(const uint8_t *msg, size_t len)
{
	return len >= DNS_HDR_LEN && (get16(msg + 2) & DNS_F_TC);
}

/* One resource record of the answer section (RFC 1035 4.1.3). */
struct rr {
	size_t owner; /* offset of the owner name */
	uint16_t type, class;
	size_t rdata;
	uint16_t rdlen;
};
#define MAX_RRS 128 /* answer records looked at; the rest are ignored */

/* Index the answer section; -1 if it runs off the message. */
static int index_answers(const uint8_t *msg, size_t len, size_t off, unsigned ancount,
			 struct rr *rrs, unsigned *nrr)
{
	uint8_t name[DNS_WIRE_MAX];

	*nrr = 0;
	for (unsigned i = 0; i < ancount; i++) {
		size_t owner = off;

		if (dns_name_read(msg, len, &off, name) < 0 || off + 10 > len)
			return -1;
		if (*nrr < MAX_RRS) {
			struct rr *r = &rrs[(*nrr)++];

			r->owner = owner;
			r->type = get16(msg + off);
			r->class = get16(msg + off + 2);
			r->rdlen = get16(msg + off + 8);
			r->rdata = off + 10;
		}
		off += 10 + (size_t)get16(msg + off + 8);
		if (off > len)
			return -1;
	}
	return 0;
}

/* A name held in an RR's RDATA (CNAME, PTR): the name must end inside it. */
static bool rdata_name(const uint8_t *msg, const struct rr *r, uint8_t out[DNS_WIRE_MAX])
{
	size_t off = r->rdata;

	return dns_name_read(msg, r->rdata + r->rdlen, &off, out) >= 0 &&
	       off == r->rdata + r->rdlen;
}

/* Take the records of r's type into out; true if one was usable. */
static bool take_record(const uint8_t *msg, const struct rr *r, struct dns_answer *out)
{
	uint8_t name[DNS_WIRE_MAX];
	struct dns_addr *a;

	switch (r->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (r->rdlen != (r->type == DNS_T_A ? 4 : 16))
			return false; /* RFC 1035 3.4.1, RFC 3596 2.2 */
		if (out->naddrs == DNS_MAX_ADDRS)
			return true;
		a = &out->addrs[out->naddrs++];
		memset(a, 0, sizeof(*a));
		a->family = r->type == DNS_T_A ? AF_INET : AF_INET6;
		memcpy(a->a, msg + r->rdata, r->rdlen);
		return true;
	case DNS_T_PTR:
		if (!rdata_name(msg, r, name))
			return false;
		if (out->nptrs == DNS_MAX_ALIASES)
			return true;
		if (dns_wire_to_text(name, out->ptrs[out->nptrs], DNS_NAME_BUF) < 0)
			return false;
		out->nptrs++;
		return true;
	default: /* res_query's business: we only say that there is one */
		return true;
	}
}

enum dns_status dns_answer_parse(const uint8_t *msg, size_t len, const struct dns_question *q,
				 struct dns_answer *out)
{
	struct rr rrs[MAX_RRS];
	uint8_t cur[DNS_WIRE_MAX], owner[DNS_WIRE_MAX], target[DNS_WIRE_MAX];
	unsigned nrr, qdcount, ancount;
	size_t off = DNS_HDR_LEN;

	out->status = DNS_BADMSG;
	out->rcode = -1;
	out->canon[0] = '\0';
	out->naliases = out->naddrs = out->nptrs = 0;
	if (len < DNS_HDR_LEN)
		return out->status;
	out->rcode = get16(msg + 2) & DNS_F_RCODE;
	switch (out->rcode) {
	case DNS_R_NOERROR:
		break;
	case DNS_R_NXDOMAIN: /* for the last name of a CNAME chain (RFC 6604
			      * 2.1): the question has no address either way */
		return out->status = DNS_NXDOMAIN;
	case DNS_R_SERVFAIL:
		return out->status = DNS_SERVFAIL;
	default: /* FORMERR, NOTIMP, REFUSED and the rest */
		return out->status = DNS_FAIL;
	}
	qdcount = get16(msg + 4);
	ancount = get16(msg + 6);
	for (unsigned i = 0; i < qdcount; i++) {
		if (dns_name_read(msg, len, &off, owner) < 0 || off + 4 > len)
			return out->status;
		off += 4;
	}
	if (index_answers(msg, len, off, ancount, rrs, &nrr) < 0)
		return out->status;

	/* Follow the chain from the question name (RFC 1034 3.6.2: a name
	 * with a CNAME has no other data, so its target holds the answer). */
	memcpy(cur, q->qname, sizeof(cur));
	for (int depth = 0;; depth++) {
		bool found = false, alias = false;

		for (unsigned i = 0; i < nrr; i++) {
			size_t o = rrs[i].owner;

			if (rrs[i].class != q->qclass ||
			    (rrs[i].type != q->qtype && rrs[i].type != DNS_T_CNAME))
				continue;
			if (dns_name_read(msg, len, &o, owner) < 0 || !dns_wire_eq(owner, cur))
				continue;
			if (rrs[i].type == q->qtype)
				found |= take_record(msg, &rrs[i], out);
			else if (!alias && rdata_name(msg, &rrs[i], target))
				alias = true;
		}
		if (found || !alias) {
			if (dns_wire_to_text(cur, out->canon, sizeof(out->canon)) < 0)
				out->canon[0] = '\0';
			return out->status = found ? DNS_OK : DNS_NODATA;
		}
		if (depth == DNS_CNAME_DEPTH) /* a loop, or a chain too long */
			return out->status = DNS_FAIL;
		if (dns_wire_to_text(cur, out->aliases[out->naliases], DNS_NAME_BUF) >= 0)
			out->naliases++;
		memcpy(cur, target, sizeof(cur));
	}
}

/* ---- hosts files ------------------------------------------------------------- */

static const char *const WS = " \t\r\n\f\v";

/* The address of a hosts line: inet_aton forms for IPv4, as glibc's
 * files backend; IPv6 without a scope. */
static bool hosts_addr(const char *s, struct dns_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (dns_parse_ipv4(s, a->a)) {
		a->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = AF_INET6;
		return true;
	}
	return false;
}

static bool addr_eq(const struct dns_addr *x, const struct dns_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, x->family == AF_INET ? 4 : 16) == 0;
}

static void add_alias(struct dns_hostent *h, const char *name)
{
	if (strlen(name) > DNS_NAME_MAX || ascii_strcaseeq(name, h->name))
		return;
	for (int i = 0; i < h->naliases; i++)
		if (ascii_strcaseeq(name, h->aliases[i]))
			return;
	if (h->naliases < DNS_MAX_ALIASES)
		copy_str(h->aliases[h->naliases++], DNS_NAME_BUF, name);
}

static void add_addr(struct dns_hostent *h, const struct dns_addr *a)
{
	for (int i = 0; i < h->naddrs; i++)
		if (addr_eq(&h->addrs[i], a))
			return;
	if (h->naddrs < DNS_MAX_ADDRS)
		h->addrs[h->naddrs++] = *a;
}

/* Split one line into its address and names (comment cut off). */
static int hosts_fields(char *line, char **f, int max)
{
	char *save = NULL, *hash = strchr(line, '#');
	int n = 0;

	if (hash)
		*hash = '\0';
	for (char *t = strtok_r(line, WS, &save); t && n < max; t = strtok_r(NULL, WS, &save))
		f[n++] = t;
	return n;
}

#define HOSTS_FIELDS 64 /* an address and up to 63 names on one line */

static void hostent_clear(struct dns_hostent *out)
{
	out->name[0] = '\0';
	out->naliases = out->naddrs = 0;
}

int dns_hosts_byname_f(FILE *f, const char *name, int family, struct dns_hostent *out)
{
	char *line = NULL, *fld[HOSTS_FIELDS];
	size_t cap = 0;

	hostent_clear(out);
	while (getline(&line, &cap, f) >= 0) {
		struct dns_addr a;
		int n = hosts_fields(line, fld, HOSTS_FIELDS), i;

		if (n < 2 || !hosts_addr(fld[0], &a))
			continue; /* blank, comment or malformed: skipped */
		if (family != AF_UNSPEC && a.family != family)
			continue;
		for (i = 1; i < n && !ascii_strcaseeq(fld[i], name); i++)
			;
		if (i == n)
			continue;
		if (out->naddrs == 0 && !copy_str(out->name, sizeof(out->name), fld[1]))
			continue; /* a canonical name too long to be one */
		add_addr(out, &a);
		for (i = 1; i < n; i++)
			add_alias(out, fld[i]);
	}
	free(line);
	return out->naddrs > 0;
}

int dns_hosts_byaddr_f(FILE *f, const struct dns_addr *want, struct dns_hostent *out)
{
	char *line = NULL, *fld[HOSTS_FIELDS];
	size_t cap = 0;

	hostent_clear(out);
	while (getline(&line, &cap, f) >= 0) {
		struct dns_addr a;
		int n = hosts_fields(line, fld, HOSTS_FIELDS);

		if (n < 2 || !hosts_addr(fld[0], &a) || !addr_eq(&a, want))
			continue;
		if (!copy_str(out->name, sizeof(out->name), fld[1]))
			continue;
		add_addr(out, &a);
		for (int i = 2; i < n; i++)
			add_alias(out, fld[i]);
		break; /* the first line only, as glibc's files backend */
	}
	free(line);
	return out->naddrs > 0;
}

int dns_hosts_byname(const char *path, const char *name, int family, struct dns_hostent *out)
{
	FILE *f = fopen(path, "re");
	int r;

	hostent_clear(out);
	if (!f)
		return 0;
	r = dns_hosts_byname_f(f, name, family, out);
	fclose(f);
	return r;
}

int dns_hosts_byaddr(const char *path, const struct dns_addr *a, struct dns_hostent *out)
{
	FILE *f = fopen(path, "re");
	int r;

	hostent_clear(out);
	if (!f)
		return 0;
	r = dns_hosts_byaddr_f(f, a, out);
	fclose(f);
	return r;
}

/* ---- resolv.conf and the search list ------------------------------------------ */

/* A search domain: a valid name, a trailing dot dropped, not the root. */
static bool search_domain(const char *d, char *out)
{
	uint8_t wire[DNS_WIRE_MAX + 2];
	size_t n = strlen(d);

	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n >= DNS_SEARCH_LEN)
		return false;
	memcpy(out, d, n);
	out[n] = '\0';
	return dns_name_to_wire(out, wire, sizeof(wire)) > 0;
}

int dns_resolv_search_f(FILE *f, char (*out)[DNS_SEARCH_LEN], int max)
{
	char *line = NULL;
	size_t cap = 0;
	int count = 0;

	while (getline(&line, &cap, f) >= 0) {
		char *save = NULL, *kw = strtok_r(line, WS, &save), *t;
		bool domain;

		if (!kw) /* comments ('#' or ';' first) start no keyword we know */
			continue;
		if (strcmp(kw, "search") == 0)
			domain = false;
		else if (strcmp(kw, "domain") == 0)
			domain = true;
		else
			continue;
		/* resolv.conf(5): the last "search" or "domain" line wins. */
		count = 0;
		while ((t = strtok_r(NULL, WS, &save)) && count < max) {
			if (*t == '#' || *t == ';')
				break;
			if (search_domain(t, out[count]))
				count++;
			if (domain)
				break;
		}
	}
	free(line);
	return count;
}

int dns_resolv_search(const char *path, char (*out)[DNS_SEARCH_LEN], int max)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return 0;
	r = dns_resolv_search_f(f, out, max);
	fclose(f);
	return r;
}

/* Append "name" or "name.domain" to the list if it is not too long. */
static void candidate(const char *name, size_t n, const char *domain, char (*out)[DNS_NAME_BUF],
		      int max, int *count)
{
	size_t d = domain ? strlen(domain) : 0;
	size_t total = n + (domain ? 1 + d : 0);

	if (*count >= max || total > DNS_NAME_MAX)
		return;
	memcpy(out[*count], name, n);
	if (domain) {
		out[*count][n] = '.';
		memcpy(out[*count] + n + 1, domain, d);
	}
	out[*count][total] = '\0';
	(*count)++;
}

int dns_search_list(const char *name, const char (*search)[DNS_SEARCH_LEN], int nsearch,
		    char (*out)[DNS_NAME_BUF], int max)
{
	size_t n = strlen(name);
	int count = 0;

	if (n == 0)
		return 0;
	if (name[n - 1] == '.') { /* absolute: as it is, never searched */
		if (n == 1)
			candidate(name, 1, NULL, out, max, &count);
		else
			candidate(name, n - 1, NULL, out, max, &count);
		return count;
	}
	if (memchr(name, '.', n)) /* ndots 1: as it is first */
		candidate(name, n, NULL, out, max, &count);
	for (int i = 0; i < nsearch; i++)
		candidate(name, n, search[i], out, max, &count);
	if (!memchr(name, '.', n))
		candidate(name, n, NULL, out, max, &count);
	return count;
}
