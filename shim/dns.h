/*
 * dns.h — the pure half of the shim's name service: DNS messages (build a
 * query, check and parse a reply), hosts files, resolv.conf's search list,
 * numeric addresses, reverse names and RFC 6724 ordering.  names.c (the
 * hooks and the DNS client) calls it; it calls nothing but libc string
 * functions and stdio on the files it is given, and keeps no state.
 */
#ifndef NETSHIM_DNS_H
#define NETSHIM_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- limits ------------------------------------------------------------ */

/* A name in text form, without the trailing dot: 253 bytes, which is 255
 * on the wire (RFC 1035 2.3.4: names are at most 255 octets, labels 63). */
#define DNS_NAME_MAX 253
#define DNS_NAME_BUF (DNS_NAME_MAX + 2) /* room for a trailing dot and NUL */
#define DNS_LABEL_MAX 63
#define DNS_WIRE_MAX 255
#define DNS_HDR_LEN 12
/* A UDP message without EDNS (RFC 1035 2.3.4, 4.2.1); larger answers come
 * with TC=1 and are asked again over TCP (RFC 7766 5). */
#define DNS_UDP_MAX 512
/* A TCP message: 16-bit length prefix (RFC 1035 4.2.2). */
#define DNS_TCP_MAX 65535
/* CNAME links followed before an answer counts as broken (a loop or a
 * chain no resolver should hand out); glibc's own limit is of this order. */
#define DNS_CNAME_DEPTH 8
/* What one lookup returns at most; more records are ignored. */
#define DNS_MAX_ADDRS 32
#define DNS_MAX_ALIASES 16
/* The search list: as glibc's MAXDNSRCH and shim/config.h SHIM_MAX_SEARCH. */
#define DNS_MAX_SEARCH 6
#define DNS_SEARCH_LEN 256

/* ---- RFC 1035 / RFC 3596 values ---------------------------------------- */

enum dns_type {
	DNS_T_A = 1, /* RFC 1035 3.2.2 */
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28, /* RFC 3596 2.1 */
	DNS_T_ANY = 255,
};
#define DNS_C_IN 1

/* RFC 1035 4.1.1 */
enum dns_rcode {
	DNS_R_NOERROR = 0,
	DNS_R_FORMERR = 1,
	DNS_R_SERVFAIL = 2,
	DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4,
	DNS_R_REFUSED = 5,
};

/* Header flag bits, in the second 16-bit word (RFC 1035 4.1.1). */
#define DNS_F_QR 0x8000
#define DNS_F_OPCODE 0x7800
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_RCODE 0x000f

/* ---- addresses --------------------------------------------------------- */

/* One address: family AF_INET (a[0..3]) or AF_INET6 (a[0..15]). */
struct dns_addr {
	int family;
	uint8_t a[16];
	uint32_t scope; /* IPv6 scope id (numeric addresses only) */
};

/* The whole string is an IPv4 address in one of the forms inet_aton(3)
 * accepts (a, a.b, a.b.c, a.b.c.d; each part decimal, 0-octal or 0x-hex),
 * with nothing after it — what glibc's getaddrinfo accepts. */
bool dns_parse_ipv4(const char *s, uint8_t out[4]);
/* Only digits and dots, not ending in a dot, and an IPv4 address as above:
 * what glibc's gethostbyname takes as a number. */
bool dns_parse_ipv4_dotted(const char *s, uint8_t out[4]);
/* An IPv6 address (inet_pton) with an optional "%scope".  Returns 1 with
 * *scope set for a numeric scope (or none), 2 with *scope_name pointing
 * into s for a named one (an interface: the caller resolves it), 0 when s
 * is not an IPv6 address. */
int dns_parse_ipv6(const char *s, uint8_t out[16], uint32_t *scope, const char **scope_name);
/* The reverse-lookup name: d.c.b.a.in-addr.arpa (RFC 1035 3.5), or 32
 * nibbles then ip6.arpa (RFC 3596 2.5).  An IPv4-mapped IPv6 address gets
 * the in-addr.arpa name, as glibc does.  Returns 0, or -1 if it does not
 * fit. */
int dns_ptr_name(const struct dns_addr *a, char *out, size_t cap);

/* Whether name is "localhost" or ends in ".localhost" (a trailing dot
 * allowed, any case): RFC 6761 6.3, always the loopback address. */
bool dns_is_localhost(const char *name);

/* ---- RFC 6724 destination ordering -------------------------------------- */

/* What the stack knows about its own addresses. */
struct dns_sort_ctx {
	bool have4, have6; /* a non-loopback address of that family */
	uint8_t src4[4];   /* the IPv4 source (if have4) */
	uint8_t src6[16];  /* the IPv6 source (if have6) */
};

/* Order destinations as RFC 6724 section 6 does, with the default policy
 * table (section 2.1): rule 1 (unusable last), 2 (matching scope), 5
 * (matching label), 6 (higher precedence), 8 (smaller scope), 9 (longest
 * matching prefix; IPv6 only — glibc also applies it to IPv4 destinations
 * inside the source's subnet) and 10 (otherwise keep the order).
 * Rules 3, 4 and 7 need information the stack does not keep
 * (deprecated, home and native addresses) and are skipped.  The source for
 * a loopback or unspecified destination is loopback (Linux connects those
 * to itself); any other is usable only if the family has an address. */
void dns_sort_addrs(struct dns_addr *a, size_t n, const struct dns_sort_ctx *c);

/* ---- names -------------------------------------------------------------- */

/* Encode a text name as wire labels (RFC 1035 3.1), a single trailing dot
 * allowed.  Rejects empty labels, labels over 63 bytes and names over 253
 * bytes (255 encoded).  No escape processing: every byte but '.' is part
 * of a label.  Returns the encoded length, or -1. */
int dns_name_to_wire(const char *name, uint8_t *out, size_t cap);
/* Two wire names equal, ASCII letters compared without case (RFC 4343). */
bool dns_wire_eq(const uint8_t *a, const uint8_t *b);
/* Read the (possibly compressed, RFC 1035 4.1.4) name at *off in msg into
 * out (uncompressed wire form, at most 255 bytes) and move *off past it.
 * Every pointer must go strictly backwards (so loops end), stay in the
 * message and land on a label; the expanded name must fit in 255 bytes.
 * Returns the wire length, or -1. */
int dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t out[DNS_WIRE_MAX]);
/* A wire name as text without the trailing dot ("" for the root).  Only
 * host-name bytes are allowed (letters, digits, '-', '_'): a name that
 * would need escaping is refused, as glibc refuses answers its res_hnok
 * rejects.  Returns the text length, or -1. */
int dns_wire_to_text(const uint8_t *wire, char *out, size_t cap);
/* Text names equal, ignoring ASCII case and one trailing dot on either. */
bool dns_name_eq(const char *a, const char *b);

/* ---- messages ----------------------------------------------------------- */

/* A standard query (opcode 0, RD=1, one question; RFC 1035 4.1).
 * Returns the length, or -1 (bad name, no room). */
int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, int qtype, int qclass);

/* The question of a query message (the caller's own, or one handed to
 * res_send): 0 and the fields set, or -1 if msg is not a query with
 * exactly one question. */
struct dns_question {
	uint16_t id;
	uint8_t qname[DNS_WIRE_MAX];
	int qtype, qclass;
};
int dns_question_read(const uint8_t *msg, size_t len, struct dns_question *q);

/* Whether msg is the reply to q: QR set, opcode 0, the same ID, and the
 * question section holds exactly q's name (any case), type and class
 * (RFC 5452 9.1: anything else is not an answer and must be ignored). */
bool dns_reply_matches(const uint8_t *msg, size_t len, const struct dns_question *q);
/* The reply's RCODE and TC bit (len >= DNS_HDR_LEN). */
int dns_reply_rcode(const uint8_t *msg, size_t len);
bool dns_reply_truncated(const uint8_t *msg, size_t len);

enum dns_status {
	DNS_OK,	      /* records of the asked type */
	DNS_NXDOMAIN, /* the name does not exist (RFC 1035 4.1.1 rcode 3) */
	DNS_NODATA,   /* the name exists, no records of that type (RFC 2308 2.2) */
	DNS_SERVFAIL, /* temporary failure at the server: try again later */
	DNS_FAIL,     /* refused, not implemented, format error, or a broken
		       * answer (a CNAME loop): not recoverable */
	DNS_BADMSG,   /* not a parseable answer to the question */
};

/* What a reply says about one question. */
struct dns_answer {
	enum dns_status status;
	int rcode;
	/* The owner of the records found: the question name or the end of its
	 * CNAME chain (text, no trailing dot). */
	char canon[DNS_NAME_BUF];
	/* The names the CNAME chain went through, the question name first. */
	char aliases[DNS_CNAME_DEPTH][DNS_NAME_BUF];
	int naliases;
	/* A / AAAA records (qtype A or AAAA). */
	struct dns_addr addrs[DNS_MAX_ADDRS];
	int naddrs;
	/* PTR targets (qtype PTR), text. */
	char ptrs[DNS_MAX_ALIASES][DNS_NAME_BUF];
	int nptrs;
};

/* Parse a reply already known to match q (dns_reply_matches): the RCODE,
 * then the answer section, following CNAMEs from the question name
 * (RFC 1034 3.6.2, 4.3.2) at most DNS_CNAME_DEPTH links.  Records of other
 * classes or owners, bad lengths and names that are not host names are
 * skipped; TTLs are ignored (nothing is cached).  The authority and
 * additional sections are not read.  Returns out->status. */
enum dns_status dns_answer_parse(const uint8_t *msg, size_t len, const struct dns_question *q,
				 struct dns_answer *out);

/* ---- hosts files and resolv.conf ---------------------------------------- */

/* A hosts-file entry, merged over every matching line (glibc's "multi on",
 * Debian's default in /etc/host.conf). */
struct dns_hostent {
	char name[DNS_NAME_BUF]; /* canonical: the first name of the first line */
	char aliases[DNS_MAX_ALIASES][DNS_NAME_BUF];
	int naliases;
	struct dns_addr addrs[DNS_MAX_ADDRS];
	int naddrs;
};

/* Look name up in a hosts(5) file: lines "address name [alias...]", '#'
 * to the end of a line is a comment, names match without case.  family
 * AF_INET takes IPv4 lines, AF_INET6 IPv6 lines, AF_UNSPEC both.  Lines
 * whose address does not parse are skipped.  Returns 1 if found, 0 if
 * not (or the file cannot be read). */
int dns_hosts_byname(const char *path, const char *name, int family, struct dns_hostent *out);
/* The same from an open stream (tests). */
int dns_hosts_byname_f(FILE *f, const char *name, int family, struct dns_hostent *out);
/* The first line with address a: its names, and a as the one address. */
int dns_hosts_byaddr(const char *path, const struct dns_addr *a, struct dns_hostent *out);
int dns_hosts_byaddr_f(FILE *f, const struct dns_addr *a, struct dns_hostent *out);

/* The search list of a resolv.conf(5): the last "search" or "domain" line
 * wins; at most DNS_MAX_SEARCH domains, a trailing dot dropped, bad ones
 * (too long, empty labels) skipped.  Returns how many (0 if the file
 * cannot be read). */
int dns_resolv_search(const char *path, char (*out)[DNS_SEARCH_LEN], int max);
int dns_resolv_search_f(FILE *f, char (*out)[DNS_SEARCH_LEN], int max);

/* The names to ask for name, in order (resolv.conf(5), ndots 1): a name
 * with a trailing dot as it is, only; a name with a dot as it is, then
 * with each search domain; a single label with each search domain, then
 * as it is.  Candidates over 253 bytes are left out.  Returns how many. */
int dns_search_list(const char *name, const char (*search)[DNS_SEARCH_LEN], int nsearch,
		    char (*out)[DNS_NAME_BUF], int max);

#endif
