/*
 * test_frag.c — IP reassembly (stack/frag.c).  Most tests build fragments
 * here and hand them to frag_input() the way ip4_input / ip6_input would;
 * the end-to-end ones inject fragmented UDP datagrams on the link and read
 * them from a bound endpoint.
 */
#include "harness.h"

#define MAXF 96     /* fragments of one datagram */
#define SMALL_CAP ((uint32_t)OPT_PBUF_SMALL_DATA)

static struct harness h;

static void setup(void) { h_setup(&h); }
static void teardown(void) { h_teardown(&h); }

/* The fragments of one datagram, as raw IP packets. */
struct frags {
	unsigned n;
	size_t len[MAXF];
	uint8_t pkt[MAXF][2048];
};

/* Big buffers live outside the stack of the test process. */
static struct frags F, G;
static uint8_t data[70000], buf[70000];

/* ---- building fragments ----------------------------------------------- */

/* One IPv4 fragment (from the peer to us) carrying d[0..len) at payload
 * offset off (a multiple of 8). */
static size_t frag4(uint8_t *b, uint16_t id, uint8_t tos, const uint8_t *d, size_t off,
		    size_t len, bool more)
{
	size_t n = build_ip4(b, h.p4, h.a4, STACK_IPPROTO_UDP, d, len, id,
			     (uint16_t)((more ? IP4_F_MF : 0) | off / 8), 64);

	b[IP4_TOS] = tos;
	fix_ip4_csum(b);
	return n;
}

/* One IPv6 fragment: header, ext[0..extlen) (whose first header's type is
 * ext_type, and whose last names the fragment header), the fragment
 * header, d[0..len). */
static size_t frag6x(uint8_t *b, uint32_t id, uint8_t ext_type, const uint8_t *ext,
		     size_t extlen, const uint8_t *d, size_t off, size_t len, bool more)
{
	uint8_t *fh = b + IP6_HLEN + extlen;

	build_ip6(b, h.p6, h.a6, extlen ? ext_type : IP6_NH_FRAGMENT, NULL, 0, 64);
	put16(b + IP6_PLEN, (uint16_t)(extlen + IP6_FRAG_HLEN + len));
	if (extlen)
		memcpy(b + IP6_HLEN, ext, extlen);
	fh[IP6_FRAG_NXT] = STACK_IPPROTO_UDP;
	fh[1] = 0;
	put16(fh + IP6_FRAG_OFFLG, (uint16_t)(off | (more ? IP6_FRAG_MF : 0)));
	put32(fh + IP6_FRAG_ID, id);
	memcpy(fh + IP6_FRAG_HLEN, d, len);
	return IP6_HLEN + extlen + IP6_FRAG_HLEN + len;
}

static size_t frag6(uint8_t *b, uint32_t id, const uint8_t *d, size_t off, size_t len,
		    bool more)
{
	return frag6x(b, id, 0, NULL, 0, d, off, len, more);
}

/* Cut d[0..total) into pieces of fsz bytes (the last may be shorter). */
static void split4(struct frags *f, uint16_t id, const uint8_t *d, size_t total, size_t fsz)
{
	f->n = 0;
	for (size_t off = 0; off < total; off += fsz) {
		size_t len = total - off < fsz ? total - off : fsz;

		ck_assert_uint_lt(f->n, MAXF);
		f->len[f->n] = frag4(f->pkt[f->n], id, 0, d + off, off, len, off + len < total);
		f->n++;
	}
}

static void split6x(struct frags *f, uint32_t id, uint8_t ext_type, const uint8_t *ext,
		    size_t extlen, const uint8_t *d, size_t total, size_t fsz)
{
	f->n = 0;
	for (size_t off = 0; off < total; off += fsz) {
		size_t len = total - off < fsz ? total - off : fsz;

		ck_assert_uint_lt(f->n, MAXF);
		f->len[f->n] = frag6x(f->pkt[f->n], id, ext_type, ext, extlen, d + off, off,
				      len, off + len < total);
		f->n++;
	}
}

static void split6(struct frags *f, uint32_t id, const uint8_t *d, size_t total, size_t fsz)
{
	split6x(f, id, 0, NULL, 0, d, total, fsz);
}

/* ---- what ip4_input / ip6_input do before frag_input ------------------ */

static struct pbuf *feed(const uint8_t *b, size_t n)
{
	struct pbuf *p = pbuf_alloc(h.st, n);
	struct frag_key key;

	ck_assert_ptr_nonnull(p);
	memcpy(pbuf_data(p), b, n);
	p->len = (uint32_t)n;
	p->meta.ifindex = h.ifindex;
	memset(&key, 0, sizeof(key));
	if (b[0] >> 4 == 4) {
		size_t hl = (size_t)(b[IP4_VER_IHL] & 0x0f) * 4;
		uint16_t fr = get16(b + IP4_FRAG);

		key.family = STACK_AF_INET;
		key.proto = b[IP4_PROTO];
		key.id = get16(b + IP4_ID);
		memcpy(key.src, b + IP4_SRC, 4);
		memcpy(key.dst, b + IP4_DST, 4);
		return frag_input(h.st, p, &key, (uint32_t)(fr & IP4_OFFMASK) * 8,
				  (fr & IP4_F_MF) != 0, hl, hl);
	} else {
		size_t off = IP6_HLEN;
		uint8_t nxt = b[IP6_NXT];
		uint16_t offlg;

		while (nxt != IP6_NH_FRAGMENT) {
			nxt = b[off];
			off += ((size_t)b[off + 1] + 1) * 8;
		}
		offlg = get16(b + off + IP6_FRAG_OFFLG);
		key.family = STACK_AF_INET6;
		key.id = get32(b + off + IP6_FRAG_ID);
		memcpy(key.src, b + IP6_SRC, 16);
		memcpy(key.dst, b + IP6_DST, 16);
		return frag_input(h.st, p, &key, offlg & IP6_FRAG_OFFMASK,
				  (offlg & IP6_FRAG_MF) != 0, off, off + IP6_FRAG_HLEN);
	}
}

/* Feed every fragment of f in the given order (NULL: as built); only the
 * last one fed may complete the datagram.  Returns it. */
static struct pbuf *feed_all(const struct frags *f, const unsigned *order)
{
	struct pbuf *r = NULL;

	for (unsigned i = 0; i < f->n; i++) {
		unsigned k = order ? order[i] : i;

		ck_assert_ptr_null(r);
		r = feed(f->pkt[k], f->len[k]);
	}
	return r;
}

/* A deterministic permutation of 0..n-1 (Fisher-Yates, xorshift). */
static void shuffle(unsigned *order, unsigned n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j, t;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		j = x % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

/* ---- checking the result ---------------------------------------------- */

static bool queues_empty(void)
{
	for (unsigned i = 0; i < OPT_FRAG_QUEUES; i++)
		if (h.st->fragq[i].used)
			return false;
	return true;
}

static uint64_t drops4(enum stack_drop d) { return h_drops(&h, STACK_P_FRAG4, d); }
static uint64_t drops6(enum stack_drop d) { return h_drops(&h, STACK_P_FRAG6, d); }

/* r is the IPv4 datagram id carrying d[0..total) behind a hl-byte header;
 * frees r. */
static void check4(struct pbuf *r, uint16_t id, const uint8_t *d, size_t total, size_t hl)
{
	const uint8_t *ip;

	ck_assert_ptr_nonnull(r);
	ip = pbuf_data(r);
	ck_assert_uint_eq(r->len, hl + total);
	ck_assert_uint_eq(ip[IP4_VER_IHL], 0x40 | hl / 4);
	ck_assert_uint_eq(get16(ip + IP4_TOTLEN), hl + total);
	ck_assert_uint_eq(get16(ip + IP4_ID), id);
	ck_assert_uint_eq(get16(ip + IP4_FRAG) & (IP4_F_MF | IP4_OFFMASK), 0);
	ck_assert_uint_eq(ip[IP4_PROTO], STACK_IPPROTO_UDP);
	ck_assert_mem_eq(ip + IP4_SRC, h.p4, 4);
	ck_assert_mem_eq(ip + IP4_DST, h.a4, 4);
	ck_assert_uint_eq(cksum_fold(cksum_add(0, ip, hl)), 0xffff);
	ck_assert_int_eq(memcmp(ip + hl, d, total), 0);
	ck_assert_uint_eq(r->nh, 0);
	ck_assert_int_eq(r->meta.ifindex, h.ifindex);
	pbuf_free(h.st, r);
}

/* r is an IPv6 packet whose unfragmentable part is the header and
 * ext[0..extlen) (first header type ext_type), carrying UDP d[0..total);
 * frees r. */
static void check6x(struct pbuf *r, uint8_t ext_type, const uint8_t *ext, size_t extlen,
		    const uint8_t *d, size_t total)
{
	const uint8_t *ip;

	ck_assert_ptr_nonnull(r);
	ip = pbuf_data(r);
	ck_assert_uint_eq(r->len, IP6_HLEN + extlen + total);
	ck_assert_uint_eq(ip[0] >> 4, 6);
	ck_assert_uint_eq(get16(ip + IP6_PLEN), extlen + total);
	ck_assert_mem_eq(ip + IP6_SRC, h.p6, 16);
	ck_assert_mem_eq(ip + IP6_DST, h.a6, 16);
	if (!extlen) {
		ck_assert_uint_eq(ip[IP6_NXT], STACK_IPPROTO_UDP);
	} else {
		size_t off = IP6_HLEN, last = 0;

		ck_assert_uint_eq(ip[IP6_NXT], ext_type);
		/* every extension header unchanged but the last one's next
		 * header, which now names UDP */
		while (off < IP6_HLEN + extlen) {
			last = off;
			off += ((size_t)ip[off + 1] + 1) * 8;
		}
		ck_assert_uint_eq(off, IP6_HLEN + extlen);
		ck_assert_uint_eq(ip[last], STACK_IPPROTO_UDP);
		ck_assert_uint_eq(ext[last - IP6_HLEN], IP6_NH_FRAGMENT);
		ck_assert_int_eq(memcmp(ip + IP6_HLEN, ext, last - IP6_HLEN), 0);
		ck_assert_int_eq(memcmp(ip + last + 1, ext + last - IP6_HLEN + 1,
					IP6_HLEN + extlen - last - 1), 0);
	}
	ck_assert_int_eq(memcmp(ip + IP6_HLEN + extlen, d, total), 0);
	ck_assert_uint_eq(r->nh, 0);
	ck_assert_int_eq(r->meta.ifindex, h.ifindex);
	pbuf_free(h.st, r);
}

static void check6(struct pbuf *r, const uint8_t *d, size_t total)
{
	check6x(r, 0, NULL, 0, d, total);
}

/* Take the next packet the stack sent; it must be ICMP (family) of the
 * given type and code.  Returns a pointer to the ICMP header in buf. */
static const uint8_t *pull_icmp(int family, uint8_t type, uint8_t code)
{
	size_t n = h_pull(&h, buf, sizeof(buf));
	size_t hl = family == STACK_AF_INET ? (size_t)(buf[0] & 0x0f) * 4 : IP6_HLEN;

	ck_assert_uint_gt(n, hl + ICMP_HLEN);
	if (family == STACK_AF_INET) {
		ck_assert_uint_eq(buf[IP4_PROTO], STACK_IPPROTO_ICMP);
		ck_assert_mem_eq(buf + IP4_DST, h.p4, 4);
	} else {
		ck_assert_uint_eq(buf[IP6_NXT], STACK_IPPROTO_ICMPV6);
		ck_assert_mem_eq(buf + IP6_DST, h.p6, 16);
	}
	ck_assert_uint_eq(buf[hl + ICMP_TYPE], type);
	ck_assert_uint_eq(buf[hl + ICMP_CODE], code);
	return buf + hl;
}

/* ---- order -------------------------------------------------------------- */

START_TEST(frag4_in_order)
{
	fill_pattern(data, 3000, 1);
	split4(&F, 0x1234, data, 3000, 1000);
	ck_assert_uint_eq(F.n, 3);
	ck_assert_ptr_null(feed(F.pkt[0], F.len[0]));
	ck_assert_uint_eq(frag_mem(h.st), SMALL_CAP);
	ck_assert_ptr_null(feed(F.pkt[1], F.len[1]));
	ck_assert_uint_eq(frag_mem(h.st), 2 * SMALL_CAP);
	check4(feed(F.pkt[2], F.len[2]), 0x1234, data, 3000, IP4_HLEN);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 1);
	ck_assert(queues_empty());
}
END_TEST

START_TEST(frag4_reversed)
{
	unsigned order[] = {2, 1, 0};

	fill_pattern(data, 2500, 2);
	split4(&F, 7, data, 2500, 1000);
	ck_assert_uint_eq(F.n, 3);
	check4(feed_all(&F, order), 7, data, 2500, IP4_HLEN);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 1);
}
END_TEST

START_TEST(frag4_shuffled)
{
	unsigned order[MAXF];

	for (uint32_t seed = 1; seed <= 20; seed++) {
		size_t total = 700 + seed * 13;

		fill_pattern(data, total, seed);
		split4(&F, (uint16_t)seed, data, total, 64);
		shuffle(order, F.n, seed);
		check4(feed_all(&F, order), (uint16_t)seed, data, total, IP4_HLEN);
		ck_assert_uint_eq(frag_mem(h.st), 0);
	}
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 20);
	ck_assert(queues_empty());
}
END_TEST

/* RFC 791 §3.2: the header of the first fragment, options and all, is the
 * datagram's header; later fragments need not repeat the options. */
START_TEST(frag4_options_from_first)
{
	uint8_t *b = F.pkt[0];
	size_t hl = 24;

	fill_pattern(data, 48, 3);
	split4(&F, 99, data, 48, 24);
	ck_assert_uint_eq(F.n, 2);
	/* first fragment: a 24-byte header with four NOP options */
	memmove(b + hl, b + IP4_HLEN, 24);
	memset(b + IP4_HLEN, 1, 4);
	b[IP4_VER_IHL] = 0x46;
	put16(b + IP4_TOTLEN, (uint16_t)(hl + 24));
	fix_ip4_csum(b);
	F.len[0] = hl + 24;
	ck_assert_ptr_null(feed(F.pkt[1], F.len[1]));
	check4(feed(F.pkt[0], F.len[0]), 99, data, 48, hl);
}
END_TEST

START_TEST(frag6_orders)
{
	unsigned order[MAXF];

	fill_pattern(data, 4000, 4);
	split6(&F, 0xdeadbeef, data, 4000, 1448);
	ck_assert_uint_eq(F.n, 3);
	ck_assert_ptr_null(feed(F.pkt[0], F.len[0]));
	ck_assert_ptr_null(feed(F.pkt[1], F.len[1]));
	ck_assert_uint_eq(frag_mem(h.st), 2 * SMALL_CAP);
	check6(feed(F.pkt[2], F.len[2]), data, 4000);
	ck_assert_uint_eq(frag_mem(h.st), 0);

	for (unsigned i = 0; i < F.n; i++)
		order[i] = F.n - 1 - i;
	check6(feed_all(&F, order), data, 4000);

	for (uint32_t seed = 1; seed <= 20; seed++) {
		size_t total = 900 + seed * 7;

		fill_pattern(data, total, seed);
		split6(&F, seed, data, total, 80);
		shuffle(order, F.n, seed);
		check6(feed_all(&F, order), data, total);
		ck_assert_uint_eq(frag_mem(h.st), 0);
	}
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 22);
	ck_assert(queues_empty());
}
END_TEST

/* The largest datagrams: 65 535 bytes of IPv4, a 65 535-byte IPv6
 * payload; the result needs a large buffer. */
START_TEST(frag_max_size)
{
	struct pbuf *r;
	unsigned order[MAXF];

	fill_pattern(data, 65535 - IP4_HLEN, 5);
	split4(&F, 1, data, 65535 - IP4_HLEN, 1480);
	shuffle(order, F.n, 5);
	r = feed_all(&F, order);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->cls, PBUF_LARGE);
	check4(r, 1, data, 65535 - IP4_HLEN, IP4_HLEN);

	fill_pattern(data, 65535, 6);
	split6(&F, 1, data, 65535, 1448);
	shuffle(order, F.n, 6);
	r = feed_all(&F, order);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->cls, PBUF_LARGE);
	check6(r, data, 65535);
	ck_assert_uint_eq(frag_mem(h.st), 0);
}
END_TEST

/* ---- duplicates and overlaps ------------------------------------------ */

/* A network that duplicates packets must not break reassembly: an exact
 * copy of a held fragment is dropped and nothing else happens. */
START_TEST(frag_duplicates)
{
	unsigned order[] = {1, 1, 3, 3, 0, 0, 1, 2};

	fill_pattern(data, 3100, 7);
	split4(&F, 55, data, 3100, 800);
	ck_assert_uint_eq(F.n, 4);
	for (unsigned i = 0; i < 7; i++)
		ck_assert_ptr_null(feed(F.pkt[order[i]], F.len[order[i]]));
	ck_assert_uint_eq(frag_mem(h.st), 3 * SMALL_CAP); /* copies not held */
	check4(feed(F.pkt[order[7]], F.len[order[7]]), 55, data, 3100, IP4_HLEN);

	split6(&F, 55, data, 3100, 800);
	for (unsigned i = 0; i < 7; i++)
		ck_assert_ptr_null(feed(F.pkt[order[i]], F.len[order[i]]));
	check6(feed(F.pkt[order[7]], F.len[order[7]]), data, 3100);

	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_OVERLAP), 0);
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_OVERLAP), 0);
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_BAD), 0);
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_BAD), 0);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 2);
	ck_assert_uint_eq(frag_mem(h.st), 0);
}
END_TEST

/* Held [a0, a0+al), then [b0, b0+bl); both with MF. */
struct overlap_case {
	size_t a0, al, b0, bl;
};
static const struct overlap_case overlaps[] = {
	{0, 16, 8, 16},  /* tail over the next one's head */
	{8, 16, 0, 16},  /* head over the previous one's tail */
	{8, 8, 0, 24},   /* the new one covers the old */
	{0, 24, 8, 8},   /* the old one covers the new */
	{0, 16, 0, 8},   /* same offset, shorter */
	{0, 8, 0, 16},   /* same offset, longer */
};

/* FragmentSmack (CVE-2018-5391): an overlap discards the whole datagram,
 * like Linux since 4.19. */
START_TEST(frag4_overlap)
{
	fill_pattern(data, 64, 8);
	for (unsigned i = 0; i < ARRAY_LEN(overlaps); i++) {
		const struct overlap_case *c = &overlaps[i];
		uint16_t id = (uint16_t)(100 + i);
		size_t n;

		/* an unrelated fragment of the same datagram, held */
		n = frag4(buf, id, 0, data + 32, 32, 8, true);
		ck_assert_ptr_null(feed(buf, n));
		n = frag4(buf, id, 0, data + c->a0, c->a0, c->al, true);
		ck_assert_ptr_null(feed(buf, n));
		ck_assert_uint_eq(frag_mem(h.st), 2 * SMALL_CAP);
		n = frag4(buf, id, 0, data + c->b0, c->b0, c->bl, true);
		ck_assert_ptr_null(feed(buf, n));
		ck_assert_uint_eq(drops4(STACK_DROP_FRAG_OVERLAP), i + 1);
		ck_assert_uint_eq(frag_mem(h.st), 0);
		ck_assert(queues_empty());
	}
	/* the rest of a discarded datagram starts over and cannot complete */
	ck_assert_ptr_null(feed(buf, frag4(buf, 100, 0, data + 40, 40, 24, false)));
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 0);
}
END_TEST

/* RFC 5722 §4: overlapping IPv6 fragments discard the datagram silently. */
START_TEST(frag6_overlap)
{
	fill_pattern(data, 64, 9);
	for (unsigned i = 0; i < ARRAY_LEN(overlaps); i++) {
		const struct overlap_case *c = &overlaps[i];
		uint32_t id = 200 + i;

		ck_assert_ptr_null(feed(buf, frag6(buf, id, data + 32, 32, 8, true)));
		ck_assert_ptr_null(feed(buf, frag6(buf, id, data + c->a0, c->a0, c->al, true)));
		ck_assert_uint_eq(frag_mem(h.st), 2 * SMALL_CAP);
		ck_assert_ptr_null(feed(buf, frag6(buf, id, data + c->b0, c->b0, c->bl, true)));
		ck_assert_uint_eq(drops6(STACK_DROP_FRAG_OVERLAP), i + 1);
		ck_assert_uint_eq(frag_mem(h.st), 0);
		ck_assert(queues_empty());
	}
	/* overlapping the last fragment from below */
	ck_assert_ptr_null(feed(buf, frag6(buf, 300, data + 16, 16, 8, false)));
	ck_assert_ptr_null(feed(buf, frag6(buf, 300, data + 8, 8, 16, true)));
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_OVERLAP), ARRAY_LEN(overlaps) + 1);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	ck_assert_uint_eq(h_pending(&h), 0); /* silently */
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_OVERLAP), 0);
}
END_TEST

/* ---- inconsistent lengths --------------------------------------------- */

START_TEST(frag_last_disagrees)
{
	fill_pattern(data, 64, 10);
	/* two last fragments that end in different places */
	ck_assert_ptr_null(feed(buf, frag4(buf, 1, 0, data + 16, 16, 8, false)));
	ck_assert_ptr_null(feed(buf, frag4(buf, 1, 0, data + 24, 24, 8, false)));
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_BAD), 1);
	ck_assert_uint_eq(frag_mem(h.st), 0);

	/* data beyond the end the last fragment set */
	ck_assert_ptr_null(feed(buf, frag4(buf, 2, 0, data + 16, 16, 8, false)));
	ck_assert_ptr_null(feed(buf, frag4(buf, 2, 0, data + 24, 24, 8, true)));
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_BAD), 2);
	ck_assert_uint_eq(frag_mem(h.st), 0);

	/* a last fragment that ends before data already held */
	ck_assert_ptr_null(feed(buf, frag6(buf, 3, data + 32, 32, 8, true)));
	ck_assert_ptr_null(feed(buf, frag6(buf, 3, data + 8, 8, 8, false)));
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_BAD), 1);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	ck_assert(queues_empty());
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 0);
}
END_TEST

/* RFC 8200 §4.5: a fragment with M set whose length is not a multiple of
 * 8 is discarded, with a Parameter Problem pointing at Payload Length. */
START_TEST(frag_not_multiple_of_8)
{
	const uint8_t *m;

	fill_pattern(data, 64, 11);
	ck_assert_ptr_null(feed(buf, frag4(buf, 1, 0, data, 0, 12, true)));
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_BAD), 1);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	ck_assert_uint_eq(h_pending(&h), 0); /* no ICMP for IPv4 */

	ck_assert_ptr_null(feed(buf, frag6(buf, 1, data, 0, 12, true)));
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_BAD), 1);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	m = pull_icmp(STACK_AF_INET6, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER);
	ck_assert_uint_eq(get32(m + ICMP_REST), IP6_PLEN);

	/* an empty fragment that is not the last says nothing: dropped */
	ck_assert_ptr_null(feed(buf, frag4(buf, 2, 0, data, 8, 0, true)));
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_BAD), 2);

	/* a short last fragment is fine */
	ck_assert_ptr_null(feed(buf, frag4(buf, 3, 0, data + 8, 8, 5, false)));
	check4(feed(buf, frag4(buf, 3, 0, data, 0, 8, true)), 3, data, 13, IP4_HLEN);
	ck_assert(queues_empty());
}
END_TEST

/* Ping of Death: offset + length beyond 65 535. */
START_TEST(frag_too_big)
{
	const uint8_t *m;

	fill_pattern(data, 64, 12);
	/* IPv4: 20 + 65528 + 16 > 65535 */
	ck_assert_ptr_null(feed(buf, frag4(buf, 1, 0, data, 65528, 16, false)));
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_TOOBIG), 1);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	/* ... and it takes the datagram it claims to belong to with it */
	ck_assert_ptr_null(feed(buf, frag4(buf, 2, 0, data, 0, 8, true)));
	ck_assert_uint_eq(frag_mem(h.st), SMALL_CAP);
	ck_assert_ptr_null(feed(buf, frag4(buf, 2, 0, data, 65520, 16, true)));
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_TOOBIG), 2);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	ck_assert(queues_empty());
	/* exactly 65535 is allowed */
	ck_assert_ptr_null(feed(buf, frag4(buf, 3, 0, data, 65512, 3, false)));
	ck_assert_uint_eq(frag_mem(h.st), SMALL_CAP);
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_TOOBIG), 2);

	/* IPv6: payload 65528 + 16 > 65535, Parameter Problem pointing at
	 * the Fragment Offset (RFC 8200 §4.5) */
	ck_assert_ptr_null(feed(buf, frag6(buf, 1, data, 65528, 16, false)));
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_TOOBIG), 1);
	m = pull_icmp(STACK_AF_INET6, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER);
	ck_assert_uint_eq(get32(m + ICMP_REST), IP6_HLEN + IP6_FRAG_OFFLG);
	/* exactly 65535 is allowed */
	ck_assert_ptr_null(feed(buf, frag6(buf, 3, data, 65520, 15, false)));
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_TOOBIG), 1);
	ck_assert_uint_eq(frag_mem(h.st), 2 * SMALL_CAP);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 0);
}
END_TEST

/* ---- timeouts ----------------------------------------------------------- */

/* RFC 791 §3.2, RFC 792: after 30 s the datagram goes; the source hears
 * Time Exceeded / reassembly only when its first fragment had arrived. */
START_TEST(frag4_timeout)
{
	const uint8_t *m;

	fill_pattern(data, 3000, 13);
	split4(&F, 0x4242, data, 3000, 1000);
	ck_assert_ptr_null(feed(F.pkt[0], F.len[0]));
	ck_assert_ptr_null(feed(F.pkt[1], F.len[1]));
	split4(&G, 0x4343, data, 3000, 1000); /* no first fragment */
	ck_assert_ptr_null(feed(G.pkt[2], G.len[2]));
	ck_assert_uint_eq(frag_mem(h.st), 3 * SMALL_CAP);

	h_advance(&h, 29 * STACK_NS_PER_S);
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_TIMEOUT), 0);
	ck_assert_uint_eq(frag_mem(h.st), 3 * SMALL_CAP);
	ck_assert_uint_eq(h_pending(&h), 0);

	h_advance(&h, 1 * STACK_NS_PER_S + 1);
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_TIMEOUT), 2);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	ck_assert(queues_empty());
	ck_assert_uint_eq(h_pending(&h), 1);
	m = pull_icmp(STACK_AF_INET, ICMP4_TIMXCEED, ICMP4_TIMXCEED_REASS);
	/* it quotes the first fragment's header */
	ck_assert_uint_eq(get16(m + ICMP_HLEN + IP4_ID), 0x4242);
	ck_assert_uint_eq(get16(m + ICMP_HLEN + IP4_FRAG), IP4_F_MF);
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_TIMEOUT), 0);

	/* the last fragment, too late, starts a new datagram */
	ck_assert_ptr_null(feed(F.pkt[2], F.len[2]));
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 0);
}
END_TEST

/* RFC 8200 §4.5: IPv6 waits 60 s, then sends Time Exceeded code 1 if the
 * first fragment arrived. */
START_TEST(frag6_timeout)
{
	const uint8_t *m;

	fill_pattern(data, 3000, 14);
	split6(&F, 0x6060, data, 3000, 1000);
	ck_assert_ptr_null(feed(F.pkt[0], F.len[0]));
	ck_assert_ptr_null(feed(F.pkt[2], F.len[2]));
	split6(&G, 0x6161, data, 3000, 1000);
	ck_assert_ptr_null(feed(G.pkt[1], G.len[1]));

	h_advance(&h, 59 * STACK_NS_PER_S);
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_TIMEOUT), 0);
	ck_assert_uint_eq(frag_mem(h.st), 3 * SMALL_CAP);
	ck_assert_uint_eq(h_pending(&h), 0);

	h_advance(&h, 1 * STACK_NS_PER_S + 1);
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_TIMEOUT), 2);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	ck_assert(queues_empty());
	ck_assert_uint_eq(h_pending(&h), 1);
	m = pull_icmp(STACK_AF_INET6, ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_REASSEMBLY);
	ck_assert_uint_eq(m[ICMP_HLEN + IP6_NXT], IP6_NH_FRAGMENT);
	ck_assert_uint_eq(get32(m + ICMP_HLEN + IP6_HLEN + IP6_FRAG_ID), 0x6060);
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_TIMEOUT), 0);
}
END_TEST

/* ---- memory and queue limits ------------------------------------------ */

/* Reassembly never holds more than cfg.frag_budget; the fragment that
 * would exceed it is dropped, and with it its datagram, while other
 * datagrams carry on. */
START_TEST(frag_budget)
{
	struct stack_config cfg;
	uint32_t budget = 3 * SMALL_CAP + 100;

	stack_config_default(&cfg);
	cfg.pbuf_small = 512;
	cfg.pbuf_large = 16;
	cfg.max_endpoints = 64;
	cfg.seed[0] = 1;
	cfg.frag_budget = budget;
	h_setup_cfg(&h, &cfg, 1500);

	fill_pattern(data, 5000, 15);
	split4(&G, 2, data, 2000, 1000); /* B: 2 fragments */
	split4(&F, 1, data, 5000, 1000); /* A: 5 fragments */
	ck_assert_ptr_null(feed(G.pkt[0], G.len[0]));
	ck_assert_ptr_null(feed(F.pkt[0], F.len[0]));
	ck_assert_ptr_null(feed(F.pkt[1], F.len[1]));
	ck_assert_uint_eq(frag_mem(h.st), 3 * SMALL_CAP);
	for (unsigned i = 2; i < F.n; i++) {
		ck_assert_ptr_null(feed(F.pkt[i], F.len[i]));
		ck_assert_uint_le(frag_mem(h.st), budget);
	}
	/* A's third fragment hit the budget and A went; the rest of A
	 * starts over and fits again */
	ck_assert_uint_ge(drops4(STACK_DROP_FRAG_BUDGET), 1);
	ck_assert_uint_le(frag_mem(h.st), budget);
	/* B was never touched and completes */
	check4(feed(G.pkt[1], G.len[1]), 2, data, 2000, IP4_HLEN);

	/* IPv6 shares the budget */
	split6(&F, 3, data, 5000, 1000);
	for (unsigned i = 0; i < F.n; i++) {
		ck_assert_ptr_null(feed(F.pkt[i], F.len[i]));
		ck_assert_uint_le(frag_mem(h.st), budget);
	}
	ck_assert_uint_ge(drops6(STACK_DROP_FRAG_BUDGET), 1);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 1);
	h_teardown(&h);
}
END_TEST

/* More datagrams in flight than OPT_FRAG_QUEUES: the oldest are evicted
 * (FRAG_BUDGET), the newest OPT_FRAG_QUEUES complete. */
START_TEST(frag_many_concurrent)
{
	enum { EXTRA = 8, N = OPT_FRAG_QUEUES + EXTRA };
	unsigned done = 0;

	for (unsigned i = 0; i < N; i++) {
		fill_pattern(data, 100, i);
		ck_assert_ptr_null(feed(buf, frag4(buf, (uint16_t)(1000 + i), 0, data, 0, 64, true)));
		h_advance(&h, STACK_NS_PER_MS);
	}
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_BUDGET), EXTRA);
	ck_assert_uint_eq(frag_mem(h.st), OPT_FRAG_QUEUES * SMALL_CAP);
	/* newest first, so that the evicted ones find free slots */
	for (unsigned i = N; i-- > 0;) {
		struct pbuf *r;

		fill_pattern(data, 100, i);
		r = feed(buf, frag4(buf, (uint16_t)(1000 + i), 0, data + 64, 64, 36, false));
		if (i >= EXTRA) {
			check4(r, (uint16_t)(1000 + i), data, 100, IP4_HLEN);
			done++;
		} else {
			ck_assert_ptr_null(r);
		}
	}
	ck_assert_uint_eq(done, OPT_FRAG_QUEUES);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, OPT_FRAG_QUEUES);
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_BUDGET), EXTRA);
	ck_assert_uint_eq(frag_mem(h.st), EXTRA * SMALL_CAP);
}
END_TEST

/* IPv4 and IPv6 datagrams with the same numbers are different datagrams,
 * and the IPv4 key includes the protocol (RFC 791 §3.2). */
START_TEST(frag_keys_distinct)
{
	size_t n;

	fill_pattern(data, 48, 16);
	ck_assert_ptr_null(feed(buf, frag4(buf, 5, 0, data, 0, 24, true)));
	ck_assert_ptr_null(feed(buf, frag6(buf, 5, data, 0, 24, true)));
	n = frag4(buf, 5, 0, data + 24, 24, 24, false);
	buf[IP4_PROTO] = STACK_IPPROTO_ICMP;
	fix_ip4_csum(buf);
	ck_assert_ptr_null(feed(buf, n));
	ck_assert_uint_eq(frag_mem(h.st), 3 * SMALL_CAP);
	check6(feed(buf, frag6(buf, 5, data + 24, 24, 24, false)), data, 48);
	check4(feed(buf, frag4(buf, 5, 0, data + 24, 24, 24, false)), 5, data, 48, IP4_HLEN);
	ck_assert_uint_eq(frag_mem(h.st), SMALL_CAP);
}
END_TEST

/* ---- IPv6 headers ------------------------------------------------------- */

/* A destination-options header before the fragment header belongs to
 * the unfragmentable part; once the fragment header is gone, its next
 * header names UDP (RFC 8200 §4.5). */
START_TEST(frag6_dstopts)
{
	/* next = fragment, length 0 (8 bytes), PadN of 4 */
	static const uint8_t dst[8] = {IP6_NH_FRAGMENT, 0, 1, 4, 0, 0, 0, 0};
	/* hop-by-hop (8 bytes) then destination options (16 bytes) */
	static const uint8_t two[24] = {
		IP6_NH_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
		IP6_NH_FRAGMENT, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	unsigned order[MAXF];

	fill_pattern(data, 3000, 17);
	split6x(&F, 77, IP6_NH_DSTOPTS, dst, sizeof(dst), data, 3000, 1200);
	ck_assert_uint_eq(F.n, 3);
	shuffle(order, F.n, 17);
	check6x(feed_all(&F, order), IP6_NH_DSTOPTS, dst, sizeof(dst), data, 3000);

	split6x(&F, 78, IP6_NH_HOPOPTS, two, sizeof(two), data, 3000, 1200);
	for (unsigned i = 0; i < F.n; i++)
		order[i] = F.n - 1 - i;
	check6x(feed_all(&F, order), IP6_NH_HOPOPTS, two, sizeof(two), data, 3000);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 2);
}
END_TEST

/* RFC 6946 §4: an atomic fragment (offset 0, M clear) is processed on its
 * own, even while a datagram with the same identification is pending. */
START_TEST(frag6_atomic)
{
	fill_pattern(data, 64, 18);
	ck_assert_ptr_null(feed(buf, frag6(buf, 9, data, 0, 16, true)));
	ck_assert_uint_eq(frag_mem(h.st), SMALL_CAP);
	check6(feed(buf, frag6(buf, 9, data + 16, 0, 20, false)), data + 16, 20);
	ck_assert_uint_eq(frag_mem(h.st), SMALL_CAP);
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_OVERLAP), 0);
	check6(feed(buf, frag6(buf, 9, data + 16, 16, 4, false)), data, 20);
	ck_assert_uint_eq(frag_mem(h.st), 0);
}
END_TEST

/* RFC 3168 §5.3: CE on any fragment marks the datagram CE; fragments
 * that mix Not-ECT with ECT discard it. */
START_TEST(frag_ecn)
{
	struct pbuf *r;
	size_t n;

	fill_pattern(data, 32, 19);
	ck_assert_ptr_null(feed(buf, frag4(buf, 1, 0x02, data, 0, 16, true)));   /* ECT(0) */
	r = feed(buf, frag4(buf, 1, 0x03, data + 16, 16, 16, false));            /* CE */
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(pbuf_data(r)[IP4_TOS] & 3, 3);
	check4(r, 1, data, 32, IP4_HLEN); /* checksum covers the new TOS */

	ck_assert_ptr_null(feed(buf, frag4(buf, 2, 0x00, data, 0, 16, true)));   /* Not-ECT */
	ck_assert_ptr_null(feed(buf, frag4(buf, 2, 0x02, data + 16, 16, 16, false)));
	ck_assert_uint_eq(drops4(STACK_DROP_FRAG_BAD), 1);
	ck_assert_uint_eq(frag_mem(h.st), 0);

	/* IPv6: the ECN bits of the traffic class */
	n = frag6(buf, 3, data, 0, 16, true);
	buf[1] |= 0x20; /* ECT(0) */
	ck_assert_ptr_null(feed(buf, n));
	n = frag6(buf, 3, data + 16, 16, 16, false);
	buf[1] |= 0x30; /* CE */
	r = feed(buf, n);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq((pbuf_data(r)[1] >> 4) & 3, 3);
	check6(r, data, 32);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 2);
}
END_TEST

/* ---- end to end: fragmented UDP through the link to an endpoint ------- */

static int udp_bound(int family, const char *addr, uint16_t port)
{
	struct stack_sockaddr a = h_sa(addr, port);
	int e = stack_ep_open(h.st, family, STACK_SOCK_DGRAM, 0);

	ck_assert_int_ge(e, 0);
	ck_assert_int_eq(stack_ep_bind(h.st, e, &a), 0);
	return e;
}

static void recv_check(int e, const uint8_t *d, size_t dlen, const char *from, uint16_t port)
{
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct stack_sockaddr src, want = h_sa(from, port);
	int flags = 0;

	ck_assert_int_eq(stack_ep_recvfrom(h.st, e, &iov, 1, STACK_MSG_DONTWAIT, &src, &flags),
			 (ssize_t)dlen);
	ck_assert_int_eq(memcmp(buf, d, dlen), 0);
	ck_assert_uint_eq(src.port, port);
	ck_assert_mem_eq(src.addr, want.addr, addr_len(want.family));
	ck_assert_int_eq(flags, 0);
}

START_TEST(frag_e2e_udp4)
{
	static uint8_t udp[8000];
	size_t ulen;
	unsigned order[MAXF];
	int e = udp_bound(STACK_AF_INET, "0.0.0.0", 5000);

	fill_pattern(data, 5000, 20);
	ulen = build_udp(udp, STACK_AF_INET, h.p4, h.a4, 4000, 5000, data, 5000);
	split4(&F, 0x777, udp, ulen, 1480);
	ck_assert_uint_eq(F.n, 4);
	shuffle(order, F.n, 20);
	for (unsigned i = 0; i < F.n; i++) {
		ck_assert_int_eq(stack_ep_pending(h.st, e), 0);
		h_inject(&h, F.pkt[order[i]], F.len[order[i]]);
	}
	recv_check(e, data, 5000, H_PEER4, 4000);
	ck_assert_uint_eq(CTR(h.st, FRAG4).rx, F.n); /* each fragment counted once */
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 1);
	ck_assert_uint_eq(frag_mem(h.st), 0);
	stack_ep_close(h.st, e);
}
END_TEST

START_TEST(frag_e2e_udp6)
{
	static const uint8_t dst[8] = {IP6_NH_FRAGMENT, 0, 1, 4, 0, 0, 0, 0};
	static uint8_t udp[8000];
	size_t ulen;
	int e = udp_bound(STACK_AF_INET6, "::", 5001);

	fill_pattern(data, 6000, 21);
	ulen = build_udp(udp, STACK_AF_INET6, h.p6, h.a6, 4001, 5001, data, 6000);
	split6x(&F, 0x12345678, IP6_NH_DSTOPTS, dst, sizeof(dst), udp, ulen, 1448);
	for (unsigned i = F.n; i-- > 0;)
		h_inject(&h, F.pkt[i], F.len[i]);
	recv_check(e, data, 6000, H_PEER6, 4001);
	ck_assert_uint_eq(CTR(h.st, FRAG6).rx, F.n);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 1);

	/* an overlapping copy of the datagram never reaches the endpoint */
	split6(&F, 0x12345679, udp, ulen, 1448);
	h_inject(&h, F.pkt[0], F.len[0]);
	F.len[1] = frag6(F.pkt[1], 0x12345679, udp + 1440, 1440, 1448, true);
	h_inject(&h, F.pkt[1], F.len[1]);
	for (unsigned i = 2; i < F.n; i++)
		h_inject(&h, F.pkt[i], F.len[i]);
	ck_assert_int_eq(stack_ep_pending(h.st, e), 0);
	ck_assert_uint_eq(drops6(STACK_DROP_FRAG_OVERLAP), 1);
	ck_assert_uint_eq(h.st->ctr.frag_reassembled, 1);
	stack_ep_close(h.st, e);
}
END_TEST

Suite *suite_frag(void)
{
	Suite *s = suite_create("frag");
	TCase *tc = tcase_create("reassembly");
	TCase *tb = tcase_create("budget");
	TCase *te = tcase_create("end-to-end");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, frag4_in_order);
	tcase_add_test(tc, frag4_reversed);
	tcase_add_test(tc, frag4_shuffled);
	tcase_add_test(tc, frag4_options_from_first);
	tcase_add_test(tc, frag6_orders);
	tcase_add_test(tc, frag_max_size);
	tcase_add_test(tc, frag_duplicates);
	tcase_add_test(tc, frag4_overlap);
	tcase_add_test(tc, frag6_overlap);
	tcase_add_test(tc, frag_last_disagrees);
	tcase_add_test(tc, frag_not_multiple_of_8);
	tcase_add_test(tc, frag_too_big);
	tcase_add_test(tc, frag4_timeout);
	tcase_add_test(tc, frag6_timeout);
	tcase_add_test(tc, frag_many_concurrent);
	tcase_add_test(tc, frag_keys_distinct);
	tcase_add_test(tc, frag6_dstopts);
	tcase_add_test(tc, frag6_atomic);
	tcase_add_test(tc, frag_ecn);
	suite_add_tcase(s, tc);

	tcase_add_test(tb, frag_budget); /* its own configuration */
	suite_add_tcase(s, tb);

	tcase_add_checked_fixture(te, setup, teardown);
	tcase_add_test(te, frag_e2e_udp4);
	tcase_add_test(te, frag_e2e_udp6);
	suite_add_tcase(s, te);
	return s;
}
