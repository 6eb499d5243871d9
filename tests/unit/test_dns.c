/*
 * test_dns.c — suite "dns": shim/dns.c, the pure half of the name service:
 * numbers, names, queries, replies (compression, CNAME chains, rcodes,
 * hostile input: truncations, pointer loops, random bytes under ASan),
 * hosts files, resolv.conf, the search list and RFC 6724 ordering.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"

/* ---- a message builder ------------------------------------------------------ */

struct msg {
	uint8_t b[8192];
	size_t n;
};

static void m_u8(struct msg *m, unsigned v)
{
	ck_assert_uint_lt(m->n, sizeof(m->b));
	m->b[m->n++] = (uint8_t)v;
}

static void m_u16(struct msg *m, unsigned v)
{
	m_u8(m, v >> 8);
	m_u8(m, v & 0xff);
}

static void m_u32(struct msg *m, uint32_t v)
{
	m_u16(m, v >> 16);
	m_u16(m, v & 0xffff);
}

static void m_bytes(struct msg *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->n + n, sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void m_hdr(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
	m->n = 0;
	m_u16(m, id);
	m_u16(m, flags);
	m_u16(m, qd);
	m_u16(m, an);
	m_u16(m, 0);
	m_u16(m, 0);
}

/* An uncompressed name; returns its offset. */
static size_t m_name(struct msg *m, const char *name)
{
	uint8_t w[DNS_WIRE_MAX];
	size_t at = m->n;
	int n = dns_name_to_wire(name, w, sizeof(w));

	ck_assert_int_gt(n, 0);
	m_bytes(m, w, (size_t)n);
	return at;
}

static void m_ptr(struct msg *m, size_t off)
{
	m_u16(m, 0xc000 | (unsigned)off);
}

static void m_question(struct msg *m, const char *name, unsigned type)
{
	m_name(m, name);
	m_u16(m, type);
	m_u16(m, DNS_C_IN);
}

/* An RR's fixed part after its owner (type, class, TTL, RDLENGTH). */
static void m_rr_fixed(struct msg *m, unsigned type, unsigned class, uint32_t ttl, unsigned rdlen)
{
	m_u16(m, type);
	m_u16(m, class);
	m_u32(m, ttl);
	m_u16(m, rdlen);
}

static void m_a(struct msg *m, size_t owner, const char *addr)
{
	uint8_t a[4];

	ck_assert_int_eq(inet_pton(AF_INET, addr, a), 1);
	m_ptr(m, owner);
	m_rr_fixed(m, DNS_T_A, DNS_C_IN, 300, 4);
	m_bytes(m, a, 4);
}

static void m_aaaa(struct msg *m, size_t owner, const char *addr)
{
	uint8_t a[16];

	ck_assert_int_eq(inet_pton(AF_INET6, addr, a), 1);
	m_ptr(m, owner);
	m_rr_fixed(m, DNS_T_AAAA, DNS_C_IN, 300, 16);
	m_bytes(m, a, 16);
}

/* A CNAME owner -> target (uncompressed target); returns the target's
 * offset. */
static size_t m_cname(struct msg *m, size_t owner, const char *target)
{
	uint8_t w[DNS_WIRE_MAX];
	int n = dns_name_to_wire(target, w, sizeof(w));
	size_t at;

	m_ptr(m, owner);
	m_rr_fixed(m, DNS_T_CNAME, DNS_C_IN, 300, (unsigned)n);
	at = m->n;
	m_bytes(m, w, (size_t)n);
	return at;
}

static void set_u16(struct msg *m, size_t off, unsigned v)
{
	m->b[off] = (uint8_t)(v >> 8);
	m->b[off + 1] = (uint8_t)v;
}

#define QR_RD_RA (DNS_F_QR | DNS_F_RD | DNS_F_RA)

static struct dns_question question(const char *name, int type, uint16_t id)
{
	struct dns_question q;
	uint8_t buf[DNS_UDP_MAX];
	int n = dns_query_build(buf, sizeof(buf), id, name, type, DNS_C_IN);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(dns_question_read(buf, (size_t)n, &q), 0);
	return q;
}

static struct dns_answer ans; /* big: not on the stack */

static const char *addr_str(const struct dns_addr *a)
{
	static char buf[INET6_ADDRSTRLEN];

	return inet_ntop(a->family, a->a, buf, sizeof(buf));
}

/* ---- numbers ----------------------------------------------------------------- */

START_TEST(ipv4_forms_as_inet_aton)
{
	static const char *const good[] = {
	    "1.2.3.4",
	    "127.1",
	    "0x7f.1",
	    "017.0.0.1",
	    "1.2.3",
	    "4294967295",
	    "0",
	    "00",
	    "0x0",
	    "0xFFffFFff",
	    "255.255.255.255",
	    "1.0x10.3",
	    "00000001.2.3.4",
	    "10.65535",
	};
	static const char *const bad[] = {
	    "",	    "1.2.3.4.",	 "1..2",       ".1",	    "1.2.3.256", "1.256.3.4",	"1.2.65536",
	    "08",   "1.2.3.4.5", "4294967296", "1.2.3.4x",  "x1",	 "0x100000000", "1.09",
	    "-1",   " 1.2.3.4",	 "1.2.3.4 ",   "1.2.3.4\n", "+1",	 "0x",		"1.0x",
	    "0x1g",
	};
	uint8_t got[4];
	struct in_addr want;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(dns_parse_ipv4(good[i], got), "%s refused", good[i]);
		ck_assert_int_eq(inet_aton(good[i], &want), 1);
		ck_assert_msg(memcmp(got, &want, 4) == 0, "%s differs from inet_aton", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!dns_parse_ipv4(bad[i], got), "%s accepted", bad[i]);
	ck_assert(dns_parse_ipv4("127.1", got));
	ck_assert_int_eq(got[0], 127);
	ck_assert_int_eq(got[3], 1);
	ck_assert(dns_parse_ipv4("1.2.3", got));
	ck_assert_int_eq(got[2], 0);
	ck_assert_int_eq(got[3], 3);
	ck_assert(dns_parse_ipv4("017.0.0.1", got));
	ck_assert_int_eq(got[0], 15);
}
END_TEST

START_TEST(ipv4_dotted_digits_only)
{
	uint8_t a[4];

	ck_assert(dns_parse_ipv4_dotted("127.1", a));
	ck_assert(dns_parse_ipv4_dotted("192.0.2.1", a));
	ck_assert(!dns_parse_ipv4_dotted("0x7f.1", a));
	ck_assert(!dns_parse_ipv4_dotted("1.2.3.4.", a));
	ck_assert(!dns_parse_ipv4_dotted("", a));
	ck_assert(!dns_parse_ipv4_dotted("1.2.3.999", a));
}
END_TEST

START_TEST(ipv6_with_scopes)
{
	uint8_t a[16];
	uint32_t scope;
	const char *name;

	ck_assert_int_eq(dns_parse_ipv6("::1", a, &scope, &name), 1);
	ck_assert_int_eq(a[15], 1);
	ck_assert_uint_eq(scope, 0);
	ck_assert_int_eq(dns_parse_ipv6("fe80::1%2", a, &scope, &name), 1);
	ck_assert_uint_eq(scope, 2);
	ck_assert_int_eq(dns_parse_ipv6("fe80::1%4294967295", a, &scope, &name), 1);
	ck_assert_uint_eq(scope, 4294967295u);
	ck_assert_int_eq(dns_parse_ipv6("fe80::1%4294967296", a, &scope, &name), 0);
	ck_assert_int_eq(dns_parse_ipv6("fe80::1%eth0", a, &scope, &name), 2);
	ck_assert_str_eq(name, "eth0");
	ck_assert_int_eq(dns_parse_ipv6("fe80::1%", a, &scope, &name), 0);
	ck_assert_int_eq(dns_parse_ipv6("fe80::1%2x", a, &scope, &name), 0);
	ck_assert_int_eq(dns_parse_ipv6("1.2.3.4", a, &scope, &name), 0);
	ck_assert_int_eq(dns_parse_ipv6("example.com", a, &scope, &name), 0);
	ck_assert_int_eq(dns_parse_ipv6("::ffff:192.0.2.1", a, &scope, &name), 1);
	ck_assert_int_eq(a[12], 192);
	/* longer than any address: refused, not copied */
	ck_assert_int_eq(
	    dns_parse_ipv6("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa", a, &scope, &name),
	    0);
}
END_TEST

static struct dns_addr mkaddr(const char *s)
{
	struct dns_addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(a.family, s, a.a), 1);
	return a;
}

START_TEST(ptr_names)
{
	char out[128];
	struct dns_addr a = mkaddr("192.0.2.1");

	ck_assert_int_eq(dns_ptr_name(&a, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "1.2.0.192.in-addr.arpa");
	/* RFC 3596 2.5's own example */
	a = mkaddr("4321:0:1:2:3:4:567:89ab");
	ck_assert_int_eq(dns_ptr_name(&a, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4."
			      "ip6.arpa");
	a = mkaddr("::ffff:198.51.100.7");
	ck_assert_int_eq(dns_ptr_name(&a, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "7.100.51.198.in-addr.arpa");
	a = mkaddr("2001:db8::1");
	ck_assert_int_eq(dns_ptr_name(&a, out, 73), 0); /* 72 bytes and the NUL */
	ck_assert_int_eq(dns_ptr_name(&a, out, 72), -1);
	a = mkaddr("192.0.2.1");
	ck_assert_int_eq(dns_ptr_name(&a, out, 10), -1);
	a.family = AF_UNIX;
	ck_assert_int_eq(dns_ptr_name(&a, out, sizeof(out)), -1);
}
END_TEST

START_TEST(localhost_names)
{
	ck_assert(dns_is_localhost("localhost"));
	ck_assert(dns_is_localhost("localhost."));
	ck_assert(dns_is_localhost("LocalHost"));
	ck_assert(dns_is_localhost("a.localhost"));
	ck_assert(dns_is_localhost("a.b.LOCALHOST."));
	ck_assert(!dns_is_localhost("notlocalhost"));
	ck_assert(!dns_is_localhost("localhost.example"));
	ck_assert(!dns_is_localhost(".localhost"));
	ck_assert(!dns_is_localhost("localhos"));
	ck_assert(!dns_is_localhost(""));
	ck_assert(!dns_is_localhost("."));
}
END_TEST

/* ---- names --------------------------------------------------------------------- */

START_TEST(name_to_wire_rules)
{
	uint8_t w[300];
	char name[300];

	ck_assert_int_eq(dns_name_to_wire("www.Example.com", w, sizeof(w)), 17);
	ck_assert(memcmp(w, "\3www\7Example\3com\0", 17) == 0);
	ck_assert_int_eq(dns_name_to_wire("www.Example.com.", w, sizeof(w)), 17);
	ck_assert_int_eq(dns_name_to_wire(".", w, sizeof(w)), 1);
	ck_assert_int_eq(w[0], 0);
	ck_assert_int_eq(dns_name_to_wire("", w, sizeof(w)), -1);
	ck_assert_int_eq(dns_name_to_wire("a..b", w, sizeof(w)), -1);
	ck_assert_int_eq(dns_name_to_wire(".a", w, sizeof(w)), -1);
	ck_assert_int_eq(dns_name_to_wire("a..", w, sizeof(w)), -1);
	ck_assert_int_eq(dns_name_to_wire("..", w, sizeof(w)), -1);
	/* labels: 63 bytes at most (RFC 1035 2.3.4) */
	memset(name, 'a', 63);
	strcpy(name + 63, ".test");
	ck_assert_int_eq(dns_name_to_wire(name, w, sizeof(w)), 63 + 1 + 5 + 1);
	memset(name, 'a', 64);
	strcpy(name + 64, ".test");
	ck_assert_int_eq(dns_name_to_wire(name, w, sizeof(w)), -1);
	/* names: 253 bytes of text, 255 on the wire */
	for (int i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = '\0';
	ck_assert_int_eq(dns_name_to_wire(name, w, sizeof(w)), 255);
	name[253] = '.';
	name[254] = '\0';
	ck_assert_int_eq(dns_name_to_wire(name, w, sizeof(w)), 255); /* trailing dot */
	name[254] = 'a';
	name[255] = '\0';
	ck_assert_int_eq(dns_name_to_wire(name, w, sizeof(w)), -1);
	/* no room */
	ck_assert_int_eq(dns_name_to_wire("www.example.com", w, 16), -1);
	ck_assert_int_eq(dns_name_to_wire("www.example.com", w, 17), 17);
}
END_TEST

START_TEST(wire_compare_and_text)
{
	uint8_t a[DNS_WIRE_MAX], b[DNS_WIRE_MAX];
	char t[DNS_NAME_BUF];

	dns_name_to_wire("WWW.example.COM", a, sizeof(a));
	dns_name_to_wire("www.EXAMPLE.com", b, sizeof(b));
	ck_assert(dns_wire_eq(a, b));
	dns_name_to_wire("www.example.co", b, sizeof(b));
	ck_assert(!dns_wire_eq(a, b));
	dns_name_to_wire("www.example.com.x", b, sizeof(b));
	ck_assert(!dns_wire_eq(a, b));
	ck_assert_int_eq(dns_wire_to_text(a, t, sizeof(t)), 15);
	ck_assert_str_eq(t, "WWW.example.COM"); /* case kept */
	ck_assert_int_eq(dns_wire_to_text(a, t, 15), -1);
	ck_assert_int_eq(dns_wire_to_text(a, t, 16), 15);
	ck_assert_int_eq(dns_wire_to_text((const uint8_t *)"", t, sizeof(t)), 0);
	ck_assert_str_eq(t, "");
	ck_assert_int_eq(dns_wire_to_text((const uint8_t *)"\3a_b\2c-\0", t, sizeof(t)), 6);
	/* bytes a host name cannot hold are refused, not escaped */
	ck_assert_int_eq(dns_wire_to_text((const uint8_t *)"\3a b\0", t, sizeof(t)), -1);
	ck_assert_int_eq(dns_wire_to_text((const uint8_t *)"\3a.b\0", t, sizeof(t)), -1);
	ck_assert_int_eq(dns_wire_to_text((const uint8_t *)"\3a\0b\0", t, sizeof(t)), -1);
	ck_assert_int_eq(dns_wire_to_text((const uint8_t *)"\3a/b\0", t, sizeof(t)), -1);
	ck_assert(dns_name_eq("Example.com.", "example.COM"));
	ck_assert(!dns_name_eq("example.com", "example.co"));
	ck_assert(!dns_name_eq("example.com..", "example.com"));
}
END_TEST

START_TEST(name_read_compression)
{
	struct msg m;
	uint8_t w[DNS_WIRE_MAX];
	char t[DNS_NAME_BUF];
	size_t q, off, second;

	m_hdr(&m, 1, 0, 0, 0);
	q = m_name(&m, "www.example.com");
	/* "mail" + pointer to "example.com" inside the first name */
	second = m.n;
	m_u8(&m, 4);
	m_bytes(&m, "mail", 4);
	m_ptr(&m, q + 4);
	off = second;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), 18);
	ck_assert_uint_eq(off, m.n); /* past the pointer, not past the target */
	dns_wire_to_text(w, t, sizeof(t));
	ck_assert_str_eq(t, "mail.example.com");
	/* a pointer to a pointer, each further back */
	m_ptr(&m, second);
	off = m.n - 2;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), 18);
	ck_assert_uint_eq(off, m.n);
}
END_TEST

START_TEST(name_read_rejects_hostile)
{
	struct msg m;
	uint8_t w[DNS_WIRE_MAX];
	size_t off, at;

	/* a pointer to itself */
	m_hdr(&m, 1, 0, 0, 0);
	at = m.n;
	m_ptr(&m, at);
	off = at;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	/* a label, then a pointer back to that label: a loop */
	m_hdr(&m, 1, 0, 0, 0);
	at = m.n;
	m_u8(&m, 1);
	m_u8(&m, 'a');
	m_ptr(&m, at);
	off = at;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	/* two pointers at each other */
	m_hdr(&m, 1, 0, 0, 0);
	m_ptr(&m, DNS_HDR_LEN + 2);
	m_ptr(&m, DNS_HDR_LEN);
	off = DNS_HDR_LEN + 2;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	/* forward, beyond the end, into the header */
	m_hdr(&m, 1, 0, 0, 0);
	m_ptr(&m, DNS_HDR_LEN + 2);
	m_name(&m, "a");
	off = DNS_HDR_LEN;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	m_hdr(&m, 1, 0, 0, 0);
	m_ptr(&m, 0x3fff);
	off = DNS_HDR_LEN;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	m_hdr(&m, 1, 0, 0, 0);
	m_ptr(&m, 4);
	off = DNS_HDR_LEN;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	/* a pointer cut in half, a label past the end, no terminating zero */
	m_hdr(&m, 1, 0, 0, 0);
	m_u8(&m, 0xc0);
	off = DNS_HDR_LEN;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	m_hdr(&m, 1, 0, 0, 0);
	m_u8(&m, 5);
	m_bytes(&m, "abc", 3);
	off = DNS_HDR_LEN;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	m_hdr(&m, 1, 0, 0, 0);
	m_u8(&m, 3);
	m_bytes(&m, "abc", 3);
	off = DNS_HDR_LEN;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	/* the reserved label types 0x40 and 0x80 */
	m_hdr(&m, 1, 0, 0, 0);
	m_u8(&m, 0x41);
	m_u8(&m, 0);
	off = DNS_HDR_LEN;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	/* offset at the end */
	off = m.n;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
}
END_TEST

START_TEST(name_read_length_limit)
{
	struct msg m;
	uint8_t w[DNS_WIRE_MAX];
	size_t off, prev;

	/* 127 one-byte labels = 254 bytes + the root = 255: fits */
	m_hdr(&m, 1, 0, 0, 0);
	for (int i = 0; i < 127; i++) {
		m_u8(&m, 1);
		m_u8(&m, 'a');
	}
	m_u8(&m, 0);
	off = DNS_HDR_LEN;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), 255);
	/* 128 of them: 257 bytes, refused */
	m_hdr(&m, 1, 0, 0, 0);
	for (int i = 0; i < 128; i++) {
		m_u8(&m, 1);
		m_u8(&m, 'a');
	}
	m_u8(&m, 0);
	off = DNS_HDR_LEN;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
	/* built up through pointers: each "\1a" + pointer to the previous */
	m_hdr(&m, 1, 0, 0, 0);
	prev = m.n;
	m_u8(&m, 0);
	for (int i = 0; i < 200; i++) {
		size_t here = m.n;

		m_u8(&m, 1);
		m_u8(&m, 'a');
		m_ptr(&m, prev);
		prev = here;
	}
	off = prev;
	ck_assert_int_eq(dns_name_read(m.b, m.n, &off, w), -1);
}
END_TEST

/* ---- queries ----------------------------------------------------------------------- */

START_TEST(query_bytes)
{
	uint8_t b[DNS_UDP_MAX];
	struct dns_question q;
	static const uint8_t want[] = {
	    0x12, 0x34, 0x01, 0x00, 0, 1,   0,	 0,   0,   0,	0,   0, /* header: RD, QDCOUNT 1 */
	    3,	  'w',	'w',  'w',  7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4,
	    't',  'e',	's',  't',  0, 0,   28,	 0,   1, /* AAAA IN */
	};
	char name[300];

	ck_assert_int_eq(
	    dns_query_build(b, sizeof(b), 0x1234, "www.example.test", DNS_T_AAAA, DNS_C_IN),
	    sizeof(want));
	ck_assert(memcmp(b, want, sizeof(want)) == 0);
	ck_assert_int_eq(dns_question_read(b, sizeof(want), &q), 0);
	ck_assert_uint_eq(q.id, 0x1234);
	ck_assert_int_eq(q.qtype, DNS_T_AAAA);
	ck_assert_int_eq(q.qclass, DNS_C_IN);
	ck_assert(memcmp(q.qname, want + 12, 18) == 0);
	/* no room, bad names */
	ck_assert_int_eq(dns_query_build(b, sizeof(want) - 1, 1, "www.example.test", 1, 1), -1);
	ck_assert_int_eq(dns_query_build(b, 10, 1, "a", 1, 1), -1);
	ck_assert_int_eq(dns_query_build(b, sizeof(b), 1, "a..b", 1, 1), -1);
	memset(name, 'x', 64);
	name[64] = '\0';
	ck_assert_int_eq(dns_query_build(b, sizeof(b), 1, name, 1, 1), -1);
	/* a question must be a query with one question */
	ck_assert_int_eq(dns_question_read(b, 11, &q), -1);
	dns_query_build(b, sizeof(b), 1, "a.test", 1, 1);
	b[5] = 2;
	ck_assert_int_eq(dns_question_read(b, 24, &q), -1);
	b[5] = 1;
	b[2] |= 0x80; /* QR */
	ck_assert_int_eq(dns_question_read(b, 24, &q), -1);
	b[2] &= 0x7f;
	ck_assert_int_eq(dns_question_read(b, 23, &q), -1); /* cut in the type */
	ck_assert_int_eq(dns_question_read(b, 24, &q), 0);
}
END_TEST

/* ---- replies -------------------------------------------------------------------------- */

START_TEST(reply_a_simple)
{
	struct dns_question q = question("www.example.test", DNS_T_A, 0xbeef);
	struct msg m;
	size_t qn;

	m_hdr(&m, 0xbeef, QR_RD_RA, 1, 2);
	qn = m.n;
	m_question(&m, "www.example.test", DNS_T_A);
	m_a(&m, qn, "192.0.2.10");
	m_a(&m, qn, "192.0.2.11");
	ck_assert(dns_reply_matches(m.b, m.n, &q));
	ck_assert(!dns_reply_truncated(m.b, m.n));
	ck_assert_int_eq(dns_reply_rcode(m.b, m.n), DNS_R_NOERROR);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_OK);
	ck_assert_int_eq(ans.naddrs, 2);
	ck_assert_str_eq(addr_str(&ans.addrs[0]), "192.0.2.10");
	ck_assert_str_eq(addr_str(&ans.addrs[1]), "192.0.2.11");
	ck_assert_str_eq(ans.canon, "www.example.test");
	ck_assert_int_eq(ans.naliases, 0);
}
END_TEST

START_TEST(reply_aaaa_ignores_other_types_and_classes)
{
	struct dns_question q = question("h.test", DNS_T_AAAA, 7);
	struct msg m;
	size_t qn;

	m_hdr(&m, 7, QR_RD_RA, 1, 4);
	qn = m.n;
	m_question(&m, "h.test", DNS_T_AAAA);
	m_a(&m, qn, "192.0.2.1"); /* another type */
	m_aaaa(&m, qn, "2001:db8::1");
	m_ptr(&m, qn); /* class CH */
	m_rr_fixed(&m, DNS_T_AAAA, 3, 0, 16);
	m_bytes(&m, "0123456789abcdef", 16);
	m_ptr(&m, qn); /* a bad length: skipped */
	m_rr_fixed(&m, DNS_T_AAAA, DNS_C_IN, 0, 4);
	m_bytes(&m, "abcd", 4);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_OK);
	ck_assert_int_eq(ans.naddrs, 1);
	ck_assert_int_eq(ans.addrs[0].family, AF_INET6);
	ck_assert_str_eq(addr_str(&ans.addrs[0]), "2001:db8::1");
}
END_TEST

START_TEST(reply_ttls_ignored)
{
	struct dns_question q = question("h.test", DNS_T_A, 7);
	struct msg m;
	size_t qn;

	m_hdr(&m, 7, QR_RD_RA, 1, 2);
	qn = m.n;
	m_question(&m, "h.test", DNS_T_A);
	m_ptr(&m, qn);
	m_rr_fixed(&m, DNS_T_A, DNS_C_IN, 0, 4);
	m_bytes(&m, "\xc0\x00\x02\x01", 4);
	m_ptr(&m, qn);
	m_rr_fixed(&m, DNS_T_A, DNS_C_IN, 0xffffffffu, 4);
	m_bytes(&m, "\xc0\x00\x02\x02", 4);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_OK);
	ck_assert_int_eq(ans.naddrs, 2);
}
END_TEST

START_TEST(reply_cname_chain)
{
	struct dns_question q = question("www.example.test", DNS_T_A, 9);
	struct msg m;
	size_t qn, c1, c2;

	/* records out of order: the address first, then the links */
	m_hdr(&m, 9, QR_RD_RA, 1, 3);
	qn = m.n;
	m_question(&m, "WWW.example.test", DNS_T_A); /* 0x20 case in the echo */
	c1 = m.n;
	m_name(&m, "host.cdn.test");
	m_rr_fixed(&m, DNS_T_A, DNS_C_IN, 60, 4);
	m_bytes(&m, "\xc0\x00\x02\x07", 4);
	c2 = m_cname(&m, qn, "edge.example.test");
	(void)c2;
	m_ptr(&m, c2);
	m_rr_fixed(&m, DNS_T_CNAME, DNS_C_IN, 60, 2);
	m_ptr(&m, c1);
	ck_assert(dns_reply_matches(m.b, m.n, &q));
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_OK);
	ck_assert_int_eq(ans.naddrs, 1);
	ck_assert_str_eq(addr_str(&ans.addrs[0]), "192.0.2.7");
	ck_assert_str_eq(ans.canon, "host.cdn.test");
	ck_assert_int_eq(ans.naliases, 2);
	ck_assert_str_eq(ans.aliases[0], "www.example.test"); /* our question */
	ck_assert_str_eq(ans.aliases[1], "edge.example.test");
}
END_TEST

/* A chain of links CNAMEs, then an A record at the end. */
static void chain(struct msg *m, struct dns_question *q, int links)
{
	char name[32];
	size_t owner;

	*q = question("c0.test", DNS_T_A, 3);
	m_hdr(m, 3, QR_RD_RA, 1, (unsigned)links + 1);
	owner = m->n;
	m_question(m, "c0.test", DNS_T_A);
	for (int i = 1; i <= links; i++) {
		snprintf(name, sizeof(name), "c%d.test", i);
		owner = m_cname(m, owner, name);
	}
	m_a(m, owner, "192.0.2.99");
}

START_TEST(reply_cname_depth_limit)
{
	struct dns_question q;
	struct msg m;

	chain(&m, &q, DNS_CNAME_DEPTH);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_OK);
	ck_assert_str_eq(ans.canon, "c8.test");
	ck_assert_int_eq(ans.naliases, DNS_CNAME_DEPTH);
	chain(&m, &q, DNS_CNAME_DEPTH + 1);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_FAIL);
}
END_TEST

START_TEST(reply_cname_loop)
{
	struct dns_question q = question("a.test", DNS_T_A, 5);
	struct msg m;
	size_t qn, b;

	m_hdr(&m, 5, QR_RD_RA, 1, 2);
	qn = m.n;
	m_question(&m, "a.test", DNS_T_A);
	b = m_cname(&m, qn, "b.test");
	m_cname(&m, b, "a.test");
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_FAIL);
	/* a CNAME to itself */
	m_hdr(&m, 5, QR_RD_RA, 1, 1);
	qn = m.n;
	m_question(&m, "a.test", DNS_T_A);
	m_cname(&m, qn, "a.test");
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_FAIL);
}
END_TEST

START_TEST(reply_cname_dangling_is_nodata)
{
	struct dns_question q = question("a.test", DNS_T_A, 5);
	struct msg m;
	size_t qn;

	m_hdr(&m, 5, QR_RD_RA, 1, 1);
	qn = m.n;
	m_question(&m, "a.test", DNS_T_A);
	m_cname(&m, qn, "elsewhere.test");
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_NODATA);
	ck_assert_str_eq(ans.canon, "elsewhere.test");
	ck_assert_int_eq(ans.naddrs, 0);
}
END_TEST

START_TEST(reply_rcodes)
{
	struct dns_question q = question("a.test", DNS_T_A, 5);
	struct msg m;
	static const struct {
		unsigned rcode;
		enum dns_status st;
	} cases[] = {
	    {DNS_R_NXDOMAIN, DNS_NXDOMAIN}, {DNS_R_SERVFAIL, DNS_SERVFAIL},
	    {DNS_R_REFUSED, DNS_FAIL},	    {DNS_R_NOTIMP, DNS_FAIL},
	    {DNS_R_FORMERR, DNS_FAIL},	    {9, DNS_FAIL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m_hdr(&m, 5, QR_RD_RA | cases[i].rcode, 1, 0);
		m_question(&m, "a.test", DNS_T_A);
		ck_assert(dns_reply_matches(m.b, m.n, &q));
		ck_assert_int_eq(dns_reply_rcode(m.b, m.n), (int)cases[i].rcode);
		ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), cases[i].st);
	}
	/* NOERROR and nothing: the name exists without A records (RFC 2308 2.2) */
	m_hdr(&m, 5, QR_RD_RA, 1, 0);
	m_question(&m, "a.test", DNS_T_A);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_NODATA);
}
END_TEST

START_TEST(reply_matching_rfc5452)
{
	struct dns_question q = question("a.test", DNS_T_A, 0x4242);
	struct msg m;

	m_hdr(&m, 0x4242, QR_RD_RA, 1, 0);
	m_question(&m, "A.TEST", DNS_T_A);
	ck_assert(dns_reply_matches(m.b, m.n, &q)); /* case does not matter */
	set_u16(&m, 0, 0x4243);
	ck_assert(!dns_reply_matches(m.b, m.n, &q)); /* ID */
	set_u16(&m, 0, 0x4242);
	set_u16(&m, 2, DNS_F_RD);
	ck_assert(!dns_reply_matches(m.b, m.n, &q)); /* not a response */
	set_u16(&m, 2, QR_RD_RA | 0x2000);
	ck_assert(!dns_reply_matches(m.b, m.n, &q)); /* opcode 4 */
	set_u16(&m, 2, QR_RD_RA);
	m_hdr(&m, 0x4242, QR_RD_RA, 1, 0);
	m_question(&m, "b.test", DNS_T_A);
	ck_assert(!dns_reply_matches(m.b, m.n, &q)); /* another name */
	m_hdr(&m, 0x4242, QR_RD_RA, 1, 0);
	m_question(&m, "a.test", DNS_T_AAAA);
	ck_assert(!dns_reply_matches(m.b, m.n, &q)); /* another type */
	m_hdr(&m, 0x4242, QR_RD_RA, 1, 0);
	m_name(&m, "a.test");
	m_u16(&m, DNS_T_A);
	m_u16(&m, 3);
	ck_assert(!dns_reply_matches(m.b, m.n, &q)); /* another class */
	m_hdr(&m, 0x4242, QR_RD_RA, 2, 0);
	m_question(&m, "a.test", DNS_T_A);
	m_question(&m, "a.test", DNS_T_A);
	ck_assert(!dns_reply_matches(m.b, m.n, &q)); /* two questions */
	m_hdr(&m, 0x4242, QR_RD_RA, 1, 0);
	m_name(&m, "a.test");
	m_u16(&m, DNS_T_A);
	ck_assert(!dns_reply_matches(m.b, m.n, &q)); /* cut in the question */
	/* without a question: only an error that sends us elsewhere */
	m_hdr(&m, 0x4242, QR_RD_RA | DNS_R_REFUSED, 0, 0);
	ck_assert(dns_reply_matches(m.b, m.n, &q));
	m_hdr(&m, 0x4242, QR_RD_RA | DNS_R_FORMERR, 0, 0);
	ck_assert(dns_reply_matches(m.b, m.n, &q));
	m_hdr(&m, 0x4242, QR_RD_RA, 0, 1);
	ck_assert(!dns_reply_matches(m.b, m.n, &q));
	m_hdr(&m, 0x4242, QR_RD_RA | DNS_R_NXDOMAIN, 0, 0);
	ck_assert(!dns_reply_matches(m.b, m.n, &q));
	ck_assert(!dns_reply_matches(m.b, 11, &q));
	ck_assert_int_eq(dns_reply_rcode(m.b, 11), -1);
	/* TC */
	m_hdr(&m, 0x4242, QR_RD_RA | DNS_F_TC, 1, 0);
	m_question(&m, "a.test", DNS_T_A);
	ck_assert(dns_reply_matches(m.b, m.n, &q));
	ck_assert(dns_reply_truncated(m.b, m.n));
}
END_TEST

START_TEST(reply_ptr)
{
	struct dns_question q = question("1.2.0.192.in-addr.arpa", DNS_T_PTR, 11);
	struct msg m;
	size_t qn, t;

	m_hdr(&m, 11, QR_RD_RA, 1, 3);
	qn = m.n;
	m_question(&m, "1.2.0.192.in-addr.arpa", DNS_T_PTR);
	/* host.example.test, uncompressed */
	m_ptr(&m, qn);
	m_rr_fixed(&m, DNS_T_PTR, DNS_C_IN, 60, 19);
	t = m.n;
	m_name(&m, "host.example.test");
	/* "bad name.test": not a host name, skipped */
	m_ptr(&m, qn);
	m_rr_fixed(&m, DNS_T_PTR, DNS_C_IN, 60, 15);
	m_name(&m, "bad name.test");
	/* "alias" + pointer to example.test */
	m_ptr(&m, qn);
	m_rr_fixed(&m, DNS_T_PTR, DNS_C_IN, 60, 8);
	m_u8(&m, 5);
	m_bytes(&m, "alias", 5);
	m_ptr(&m, t + 5);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_OK);
	ck_assert_int_eq(ans.nptrs, 2);
	ck_assert_str_eq(ans.ptrs[0], "host.example.test");
	ck_assert_str_eq(ans.ptrs[1], "alias.example.test");
	/* a PTR whose name runs past its RDLENGTH is skipped */
	m_hdr(&m, 11, QR_RD_RA, 1, 1);
	qn = m.n;
	m_question(&m, "1.2.0.192.in-addr.arpa", DNS_T_PTR);
	m_ptr(&m, qn);
	m_rr_fixed(&m, DNS_T_PTR, DNS_C_IN, 60, 5);
	m_name(&m, "host.example.test");
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_NODATA);
	ck_assert_int_eq(ans.nptrs, 0);
}
END_TEST

START_TEST(reply_malformed)
{
	struct dns_question q = question("a.test", DNS_T_A, 1);
	struct msg m;
	size_t qn;

	/* ANCOUNT says 2, one is there */
	m_hdr(&m, 1, QR_RD_RA, 1, 2);
	qn = m.n;
	m_question(&m, "a.test", DNS_T_A);
	m_a(&m, qn, "192.0.2.1");
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_BADMSG);
	/* RDLENGTH past the end */
	m_hdr(&m, 1, QR_RD_RA, 1, 1);
	qn = m.n;
	m_question(&m, "a.test", DNS_T_A);
	m_ptr(&m, qn);
	m_rr_fixed(&m, DNS_T_A, DNS_C_IN, 1, 40);
	m_bytes(&m, "\1\2\3\4", 4);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_BADMSG);
	/* an owner pointing at itself */
	m_hdr(&m, 1, QR_RD_RA, 1, 1);
	m_question(&m, "a.test", DNS_T_A);
	m_ptr(&m, m.n);
	m_rr_fixed(&m, DNS_T_A, DNS_C_IN, 1, 4);
	m_bytes(&m, "\1\2\3\4", 4);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_BADMSG);
	/* the header alone */
	ck_assert_int_eq(dns_answer_parse(m.b, 11, &q, &ans), DNS_BADMSG);
	ck_assert_int_eq(dns_answer_parse(m.b, 12, &q, &ans), DNS_BADMSG);
}
END_TEST

START_TEST(reply_many_records_capped)
{
	struct dns_question q = question("many.test", DNS_T_A, 1);
	struct msg m;
	size_t qn;

	m_hdr(&m, 1, QR_RD_RA, 1, 200);
	qn = m.n;
	m_question(&m, "many.test", DNS_T_A);
	for (int i = 0; i < 200; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.51.100.%d", i);
		m_a(&m, qn, a);
	}
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_OK);
	ck_assert_int_eq(ans.naddrs, DNS_MAX_ADDRS);
	ck_assert_str_eq(addr_str(&ans.addrs[0]), "198.51.100.0");
}
END_TEST

/* ---- hostile input at random ------------------------------------------------------- */

/* A reply with every feature: compression, a CNAME chain, A records, an
 * authority record. */
static void rich_reply(struct msg *m, struct dns_question *q)
{
	size_t qn, c;

	*q = question("www.fuzz.test", DNS_T_A, 0x7777);
	m_hdr(m, 0x7777, QR_RD_RA, 1, 4);
	set_u16(m, 8, 1);
	qn = m->n;
	m_question(m, "www.fuzz.test", DNS_T_A);
	c = m_cname(m, qn, "edge.fuzz.test");
	m_a(m, c, "192.0.2.1");
	m_a(m, c, "192.0.2.2");
	m_ptr(m, qn);
	m_rr_fixed(m, DNS_T_TXT, DNS_C_IN, 5, 4);
	m_bytes(m, "\3abc", 3 + 1);
	m_ptr(m, qn + 4); /* authority: fuzz.test SOA-ish junk */
	m_rr_fixed(m, DNS_T_SOA, DNS_C_IN, 5, 2);
	m_ptr(m, qn + 4);
}

/* Parse a copy exactly len bytes long on the heap, so that ASan sees any
 * read past it; the outputs must be sane whatever the input. */
static void parse_exact(const uint8_t *b, size_t len, const struct dns_question *q)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum dns_status st;

	memcpy(copy, b, len);
	dns_reply_matches(copy, len, q);
	st = dns_answer_parse(copy, len, q, &ans);
	ck_assert_int_le(st, DNS_BADMSG);
	ck_assert_int_le(ans.naddrs, DNS_MAX_ADDRS);
	ck_assert_int_le(ans.nptrs, DNS_MAX_ALIASES);
	ck_assert_int_le(ans.naliases, DNS_CNAME_DEPTH);
	ck_assert_uint_le(strlen(ans.canon), DNS_NAME_MAX);
	dns_reply_rcode(copy, len);
	dns_reply_truncated(copy, len);
	for (size_t off = DNS_HDR_LEN; off < len; off += 7) {
		uint8_t w[DNS_WIRE_MAX];
		size_t o = off;

		if (dns_name_read(copy, len, &o, w) >= 0) {
			char t[DNS_NAME_BUF];

			ck_assert_uint_le(o, len);
			dns_wire_to_text(w, t, sizeof(t));
		}
	}
	free(copy);
}

START_TEST(fuzz_truncations)
{
	struct dns_question q;
	struct msg m;

	rich_reply(&m, &q);
	ck_assert_int_eq(dns_answer_parse(m.b, m.n, &q, &ans), DNS_OK);
	ck_assert_int_eq(ans.naddrs, 2);
	for (size_t len = 0; len <= m.n; len++)
		parse_exact(m.b, len, &q);
	/* every cut short of the last A record is refused, never half-used */
	for (size_t len = 0; len < m.n - 16 - 14; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, m.b, len);
		ck_assert_int_eq(dns_answer_parse(copy, len, &q, &ans), DNS_BADMSG);
		free(copy);
	}
}
END_TEST

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic, so that a failure replays */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

START_TEST(fuzz_mutations)
{
	struct dns_question q;
	struct msg m, x;

	rich_reply(&m, &q);
	for (int i = 0; i < 30000; i++) {
		int flips = 1 + (int)(rnd() % 8);

		x = m;
		for (int k = 0; k < flips; k++) {
			size_t at = rnd() % x.n;

			switch (rnd() % 4) {
			case 0:
				x.b[at] = (uint8_t)rnd();
				break;
			case 1:
				x.b[at] ^= (uint8_t)(1u << (rnd() % 8));
				break;
			case 2: /* a pointer somewhere */
				if (at + 1 < x.n) {
					x.b[at] = (uint8_t)(0xc0 | (rnd() % 2));
					x.b[at + 1] = (uint8_t)rnd();
				}
				break;
			default: /* a count */
				set_u16(&x, 4 + 2 * (rnd() % 4), rnd() % 300);
				break;
			}
		}
		parse_exact(x.b, rnd() % 3 ? x.n : rnd() % (x.n + 1), &q);
	}
}
END_TEST

START_TEST(fuzz_random_bytes)
{
	struct dns_question q = question("a.test", DNS_T_A, 0);
	struct msg x;

	for (int i = 0; i < 20000; i++) {
		x.n = rnd() % 600;
		for (size_t k = 0; k < x.n; k++)
			x.b[k] = (uint8_t)rnd();
		if (x.n >= 2) { /* make some of them match */
			x.b[0] = 0;
			x.b[1] = 0;
		}
		parse_exact(x.b, x.n, &q);
	}
}
END_TEST

/* ---- hosts files ------------------------------------------------------------------------ */

static const char hosts_text[] =
    "# a comment line\n"
    "127.0.0.1\tlocalhost\n"
    "192.0.2.10 web.test www.test  WEB2.test # and a trailing comment\n"
    "2001:db8::10 web.test\n"
    "192.0.2.11 Web.Test other.test\n"
    "bogus-address name.test\n"
    "192.0.2.300 bad.test\n"
    "   \n"
    "\n"
    "::1 ip6-localhost ip6-loopback\n"
    "192.0.2.12\n"
    "127.1 short.test\n"
    "198.51.100.1 #commented.test\n"
    "198.51.100.2 dup.test\n"
    "198.51.100.2 dup.test\n"
    "2001:DB8::20 upper6.test\n";

static FILE *hosts_file(void)
{
	FILE *f = fmemopen((void *)hosts_text, sizeof(hosts_text) - 1, "r");

	ck_assert_ptr_nonnull(f);
	return f;
}

static struct dns_hostent he;

static int byname(const char *name, int family)
{
	FILE *f = hosts_file();
	int r = dns_hosts_byname_f(f, name, family, &he);

	fclose(f);
	return r;
}

START_TEST(hosts_byname_merges_lines)
{
	ck_assert_int_eq(byname("web.test", AF_UNSPEC), 1);
	ck_assert_str_eq(he.name, "web.test");
	ck_assert_int_eq(he.naddrs, 3);
	ck_assert_str_eq(addr_str(&he.addrs[0]), "192.0.2.10");
	ck_assert_str_eq(addr_str(&he.addrs[1]), "2001:db8::10");
	ck_assert_str_eq(addr_str(&he.addrs[2]), "192.0.2.11");
	ck_assert_int_eq(he.naliases, 3);
	ck_assert_str_eq(he.aliases[0], "www.test");
	ck_assert_str_eq(he.aliases[1], "WEB2.test");
	ck_assert_str_eq(he.aliases[2], "other.test"); /* "Web.Test" is the name again */
}
END_TEST

START_TEST(hosts_byname_case_and_family)
{
	ck_assert_int_eq(byname("WWW.TEST", AF_INET), 1);
	ck_assert_str_eq(he.name, "web.test"); /* canonical: the line's first name */
	ck_assert_int_eq(he.naddrs, 1);
	ck_assert_str_eq(addr_str(&he.addrs[0]), "192.0.2.10");
	ck_assert_int_eq(byname("web.test", AF_INET6), 1);
	ck_assert_int_eq(he.naddrs, 1);
	ck_assert_str_eq(addr_str(&he.addrs[0]), "2001:db8::10");
	ck_assert_int_eq(byname("upper6.test", AF_INET6), 1);
	ck_assert_int_eq(byname("upper6.test", AF_INET), 0);
	ck_assert_int_eq(byname("localhost", AF_INET6), 0);
	ck_assert_int_eq(byname("ip6-loopback", AF_UNSPEC), 1);
	ck_assert_str_eq(he.name, "ip6-localhost");
}
END_TEST

START_TEST(hosts_byname_malformed_skipped)
{
	ck_assert_int_eq(byname("name.test", AF_UNSPEC), 0);
	ck_assert_int_eq(byname("bad.test", AF_UNSPEC), 0);
	ck_assert_int_eq(byname("commented.test", AF_UNSPEC), 0);
	ck_assert_int_eq(byname("#commented.test", AF_UNSPEC), 0);
	ck_assert_int_eq(byname("192.0.2.12", AF_UNSPEC), 0);
	ck_assert_int_eq(byname("nowhere.test", AF_UNSPEC), 0);
	ck_assert_int_eq(byname("", AF_UNSPEC), 0);
	ck_assert_int_eq(byname("short.test", AF_INET), 1); /* inet_aton's forms */
	ck_assert_str_eq(addr_str(&he.addrs[0]), "127.0.0.1");
	ck_assert_int_eq(byname("dup.test", AF_INET), 1);
	ck_assert_int_eq(he.naddrs, 1);
	ck_assert_int_eq(he.naliases, 0);
}
END_TEST

START_TEST(hosts_byaddr_first_line)
{
	FILE *f = hosts_file();
	struct dns_addr a = mkaddr("192.0.2.11");

	ck_assert_int_eq(dns_hosts_byaddr_f(f, &a, &he), 1);
	fclose(f);
	ck_assert_str_eq(he.name, "Web.Test");
	ck_assert_int_eq(he.naliases, 1);
	ck_assert_str_eq(he.aliases[0], "other.test");
	a = mkaddr("::1");
	f = hosts_file();
	ck_assert_int_eq(dns_hosts_byaddr_f(f, &a, &he), 1);
	fclose(f);
	ck_assert_str_eq(he.name, "ip6-localhost");
	a = mkaddr("2001:db8::20");
	f = hosts_file();
	ck_assert_int_eq(dns_hosts_byaddr_f(f, &a, &he), 1);
	fclose(f);
	ck_assert_str_eq(he.name, "upper6.test");
	a = mkaddr("192.0.2.99");
	f = hosts_file();
	ck_assert_int_eq(dns_hosts_byaddr_f(f, &a, &he), 0);
	fclose(f);
}
END_TEST

START_TEST(hosts_files_by_path)
{
	char path[] = "/tmp/netshim-dns-hosts.XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct dns_addr a = mkaddr("198.51.100.5");
	char *long_line;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	/* a line far longer than any buffer, then the one we want */
	long_line = malloc(100000);
	memset(long_line, 'x', 99999);
	long_line[99999] = '\0';
	fprintf(f, "198.51.100.4 %s\n198.51.100.5 far.test\n", long_line);
	free(long_line);
	fclose(f);
	ck_assert_int_eq(dns_hosts_byname(path, "far.test", AF_INET, &he), 1);
	ck_assert_int_eq(dns_hosts_byaddr(path, &a, &he), 1);
	ck_assert_str_eq(he.name, "far.test");
	unlink(path);
	ck_assert_int_eq(dns_hosts_byname(path, "far.test", AF_INET, &he), 0);
	ck_assert_int_eq(dns_hosts_byaddr(path, &a, &he), 0);
}
END_TEST

/* ---- resolv.conf and the search list ----------------------------------------------------- */

static char sl[DNS_MAX_SEARCH][DNS_SEARCH_LEN];

static int resolv(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int n;

	ck_assert_ptr_nonnull(f);
	n = dns_resolv_search_f(f, sl, DNS_MAX_SEARCH);
	fclose(f);
	return n;
}

START_TEST(resolv_search_lines)
{
	ck_assert_int_eq(resolv("nameserver 192.0.2.1\nsearch a.test b.test\n"), 2);
	ck_assert_str_eq(sl[0], "a.test");
	ck_assert_str_eq(sl[1], "b.test");
	ck_assert_int_eq(resolv("domain x.test\nsearch y.test z.test.\n"), 2);
	ck_assert_str_eq(sl[0], "y.test");
	ck_assert_str_eq(sl[1], "z.test"); /* the dot dropped */
	ck_assert_int_eq(resolv("search a.test\ndomain d.test extra.test\n"), 1);
	ck_assert_str_eq(sl[0], "d.test");
	ck_assert_int_eq(resolv("search a.test\n# search b.test\n; search c.test\n"), 1);
	ck_assert_str_eq(sl[0], "a.test");
	ck_assert_int_eq(resolv("search\tt1.test\tt2.test # comment\n"), 2);
	ck_assert_int_eq(resolv("search 1.t 2.t 3.t 4.t 5.t 6.t 7.t 8.t\n"), DNS_MAX_SEARCH);
	ck_assert_str_eq(sl[5], "6.t");
	ck_assert_int_eq(resolv("search a..b ok.test . .x\n"), 1);
	ck_assert_str_eq(sl[0], "ok.test");
	ck_assert_int_eq(resolv("search\n"), 0);
	ck_assert_int_eq(resolv("searchy a.test\n"), 0);
	ck_assert_int_eq(resolv(""), 0);
	ck_assert_int_eq(dns_resolv_search("/nonexistent/resolv.conf", sl, DNS_MAX_SEARCH), 0);
}
END_TEST

START_TEST(resolv_search_too_long_skipped)
{
	char text[700];

	strcpy(text, "search ");
	for (int i = 0; i < 300; i++)
		strcat(text, i % 10 == 9 ? "." : "a");
	strcat(text, " fine.test\n");
	ck_assert_int_eq(resolv(text), 1);
	ck_assert_str_eq(sl[0], "fine.test");
}
END_TEST

static char cand[DNS_MAX_SEARCH + 1][DNS_NAME_BUF];

static int search(const char *name, int nsearch)
{
	static const char dom[DNS_MAX_SEARCH][DNS_SEARCH_LEN] = {"a.test", "b.test"};

	return dns_search_list(name, dom, nsearch, cand, DNS_MAX_SEARCH + 1);
}

START_TEST(search_list_order)
{
	char name[300];

	/* a dot: as it is first (ndots 1) */
	ck_assert_int_eq(search("www.example", 2), 3);
	ck_assert_str_eq(cand[0], "www.example");
	ck_assert_str_eq(cand[1], "www.example.a.test");
	ck_assert_str_eq(cand[2], "www.example.b.test");
	/* a single label: the search list first */
	ck_assert_int_eq(search("host", 2), 3);
	ck_assert_str_eq(cand[0], "host.a.test");
	ck_assert_str_eq(cand[1], "host.b.test");
	ck_assert_str_eq(cand[2], "host");
	/* absolute: never searched */
	ck_assert_int_eq(search("host.", 2), 1);
	ck_assert_str_eq(cand[0], "host");
	ck_assert_int_eq(search(".", 2), 1);
	ck_assert_str_eq(cand[0], ".");
	ck_assert_int_eq(search("host", 0), 1);
	ck_assert_str_eq(cand[0], "host");
	ck_assert_int_eq(search("", 2), 0);
	/* candidates too long to be names are left out */
	memset(name, 'a', 250);
	name[250] = '\0';
	ck_assert_int_eq(search(name, 2), 1);
	ck_assert_str_eq(cand[0], name);
	memset(name, 'a', 260);
	name[260] = '\0';
	ck_assert_int_eq(search(name, 2), 0);
}
END_TEST

/* ---- RFC 6724 ordering ---------------------------------------------------------------- */

static void sorted(const char *const *in, size_t n, const struct dns_sort_ctx *c,
		   const char *const *want)
{
	struct dns_addr a[16];

	for (size_t i = 0; i < n; i++)
		a[i] = mkaddr(in[i]);
	dns_sort_addrs(a, n, c);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strcmp(addr_str(&a[i]), want[i]) == 0, "position %zu: %s, want %s", i,
			      addr_str(&a[i]), want[i]);
}

START_TEST(sort_rfc6724)
{
	struct dns_sort_ctx none = {0}, v4 = {.have4 = true, .src4 = {192, 0, 2, 2}}, both = v4;
	const char *lo[] = {"127.0.0.1", "::1"}, *lo_want[] = {"::1", "127.0.0.1"};
	const char *any[] = {"::", "0.0.0.0"}, *any_want[] = {"0.0.0.0", "::"};
	const char *mix[] = {"2001:db8::1", "192.0.2.1"};
	const char *mix4[] = {"192.0.2.1", "2001:db8::1"};
	const char *mix6[] = {"2001:db8::1", "192.0.2.1"};
	const char *v4s[] = {"198.51.100.3", "192.0.2.9", "198.51.100.1"};
	const char *pfx[] = {"2001:db8:1::1", "2001:db8::1"};
	const char *pfx_want[] = {"2001:db8::1", "2001:db8:1::1"};
	const char *ll[] = {"fe80::1", "2001:db8::9"}, *ll_want[] = {"2001:db8::9", "fe80::1"};

	both.have6 = true;
	inet_pton(AF_INET6, "2001:db8::2", both.src6);
	/* what glibc returns for getaddrinfo(NULL, ...): ::1 before 127.0.0.1
	 * (precedence), 0.0.0.0 before :: for AI_PASSIVE (labels) */
	sorted(lo, 2, &none, lo_want);
	sorted(any, 2, &none, any_want);
	/* rule 1: a family without an address goes last */
	sorted(mix, 2, &v4, mix4);
	/* rule 6: IPv6 (40) before IPv4 (35) when both work */
	sorted(mix4, 2, &both, mix6);
	/* rule 10: the rest keep their order */
	sorted(v4s, 3, &both, v4s);
	/* rule 9: the longer prefix shared with the source */
	sorted(pfx, 2, &both, pfx_want);
	/* rule 2: matching scope */
	sorted(ll, 2, &both, ll_want);
}
END_TEST

Suite *suite_dns(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("numbers");

	tcase_add_test(tc, ipv4_forms_as_inet_aton);
	tcase_add_test(tc, ipv4_dotted_digits_only);
	tcase_add_test(tc, ipv6_with_scopes);
	tcase_add_test(tc, ptr_names);
	tcase_add_test(tc, localhost_names);
	tcase_add_test(tc, sort_rfc6724);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, name_to_wire_rules);
	tcase_add_test(tc, wire_compare_and_text);
	tcase_add_test(tc, name_read_compression);
	tcase_add_test(tc, name_read_rejects_hostile);
	tcase_add_test(tc, name_read_length_limit);
	tcase_add_test(tc, query_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_test(tc, reply_a_simple);
	tcase_add_test(tc, reply_aaaa_ignores_other_types_and_classes);
	tcase_add_test(tc, reply_ttls_ignored);
	tcase_add_test(tc, reply_cname_chain);
	tcase_add_test(tc, reply_cname_depth_limit);
	tcase_add_test(tc, reply_cname_loop);
	tcase_add_test(tc, reply_cname_dangling_is_nodata);
	tcase_add_test(tc, reply_rcodes);
	tcase_add_test(tc, reply_matching_rfc5452);
	tcase_add_test(tc, reply_ptr);
	tcase_add_test(tc, reply_malformed);
	tcase_add_test(tc, reply_many_records_capped);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, fuzz_truncations);
	tcase_add_test(tc, fuzz_mutations);
	tcase_add_test(tc, fuzz_random_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, hosts_byname_merges_lines);
	tcase_add_test(tc, hosts_byname_case_and_family);
	tcase_add_test(tc, hosts_byname_malformed_skipped);
	tcase_add_test(tc, hosts_byaddr_first_line);
	tcase_add_test(tc, hosts_files_by_path);
	tcase_add_test(tc, resolv_search_lines);
	tcase_add_test(tc, resolv_search_too_long_skipped);
	tcase_add_test(tc, search_list_order);
	suite_add_tcase(s, tc);
	return s;
}
