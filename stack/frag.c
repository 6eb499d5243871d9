/*
 * frag.c — IP reassembly for IPv4 (RFC 791 §3.2, RFC 815) and IPv6
 * (RFC 8200 §4.5, RFC 5722).  ip4_input / ip6_input -> frag_input(), which
 * holds fragments until a datagram is whole and hands it back to the caller
 * to deliver; frag_timer() (timer.c) discards datagrams that never complete.
 */
#include "priv.h"
#include "wire.h"

/*
 * Each queue keeps its fragments on q->frags sorted by offset, unmodified
 * (data still starts at the IP header), with
 *	p->th	the fragment's payload offset in the datagram (frag_off)
 *	p->nh	where its payload starts in p's data
 * No two held fragments overlap (see frag_input), so a queue is complete
 * when it has the first and the last fragment and q->received == q->total.
 * The offset-0 fragment, once it has arrived (q->have_first), is the head
 * of q->frags.
 */

/* Largest reassembled IPv4 datagram including its header (RFC 791 §3.1,
 * 16-bit Total Length); IPv6 limits the Payload Length, i.e. the whole
 * packet minus the 40-byte header, to the same (RFC 8200 §4.5). */
#define FRAG_MAX_LEN 65535u

static bool is_v6(const struct frag_key *key) { return key->family == STACK_AF_INET6; }

static enum stack_proto_ix frag_pi(const struct frag_key *key)
{
	return is_v6(key) ? STACK_P_FRAG6 : STACK_P_FRAG4;
}

static void frag_count(struct stack *st, const struct frag_key *key, enum stack_drop why)
{
	st->ctr.p[frag_pi(key)].drop[why]++;
}

/* Bytes between the unfragmentable part and the payload: the IPv6
 * fragment header; an IPv4 fragment carries its offset in the IP header. */
static size_t frag_hdr_len(const struct frag_key *key)
{
	return is_v6(key) ? IP6_FRAG_HLEN : 0;
}

static stack_ns_t frag_timeout(const struct frag_key *key)
{
	return is_v6(key) ? OPT_FRAG6_TIMEOUT_NS : OPT_FRAG4_TIMEOUT_NS;
}

/* The most the unfragmentable part plus the payload may add up to. */
static size_t frag_max_len(const struct frag_key *key)
{
	return is_v6(key) ? FRAG_MAX_LEN + IP6_HLEN : FRAG_MAX_LEN;
}

static void frag_queue_free(struct stack *st, struct frag_queue *q)
{
	timer_cancel(st, &q->timer);
	pbuf_freeq(st, &q->frags);
	st->frag_mem -= q->mem;
	memset(q, 0, sizeof(*q));
}

static struct frag_queue *frag_find(struct stack *st, const struct frag_key *key)
{
	for (unsigned i = 0; i < OPT_FRAG_QUEUES; i++) {
		struct frag_queue *q = &st->fragq[i];

		/* The whole key, padding included: callers zero it. */
		if (q->used && memcmp(&q->key, key, sizeof(*key)) == 0)
			return q;
	}
	return NULL;
}

/*
 * A free queue slot.  When all are busy the oldest datagram is evicted
 * (counted as FRAG_BUDGET on its family) rather than the new one dropped:
 * legitimate fragments arrive close together, so evicting the oldest makes
 * a flood of never-completed fragments cost an attacker a steady rate of
 * packets, whereas refusing new queues would let OPT_FRAG_QUEUES bogus
 * fragments block all reassembly for the whole timeout.
 */
static struct frag_queue *frag_slot(struct stack *st)
{
	struct frag_queue *oldest = NULL;
	stack_ns_t oldest_born = 0;

	for (unsigned i = 0; i < OPT_FRAG_QUEUES; i++) {
		struct frag_queue *q = &st->fragq[i];
		stack_ns_t born;

		if (!q->used)
			return q;
		/* The timer is armed once, at creation: its deadline less
		 * the family's timeout is the birth, its seq the order. */
		born = q->timer.when - frag_timeout(&q->key);
		if (!oldest || born < oldest_born ||
		    (born == oldest_born && q->timer.seq < oldest->timer.seq)) {
			oldest = q;
			oldest_born = born;
		}
	}
	frag_count(st, &oldest->key, STACK_DROP_FRAG_BUDGET);
	frag_queue_free(st, oldest);
	return oldest;
}

static struct frag_queue *frag_queue_new(struct stack *st, const struct frag_key *key)
{
	struct frag_queue *q = frag_slot(st);

	memset(q, 0, sizeof(*q));
	q->used = 1;
	memcpy(&q->key, key, sizeof(*key)); /* padding too, for memcmp */
	STAILQ_INIT(&q->frags);
	timer_init(&q->timer, TIMER_FRAG);
	/* RFC 791 §3.2 and RFC 8200 §4.5: a fixed time from the first
	 * fragment that arrives (Linux does not extend it either). */
	timer_arm(st, &q->timer, st->now + frag_timeout(key));
	return q;
}

/* ECN codepoints (RFC 3168 §5) of an IPv4 TOS / IPv6 traffic class. */
#define ECN_NOT_ECT 0
#define ECN_CE 3

static unsigned frag_ecn_get(const struct frag_key *key, const uint8_t *ip)
{
	return is_v6(key) ? (ip[1] >> 4) & 3u : ip[IP4_TOS] & 3u;
}

static void frag_ecn_set_ce(const struct frag_key *key, uint8_t *ip)
{
	if (is_v6(key))
		ip[1] |= ECN_CE << 4;
	else
		ip[IP4_TOS] |= ECN_CE;
}

/*
 * Where the next-header byte that named the fragment header lives: byte 6
 * of the IPv6 header, or byte 0 of the last extension header of the
 * unfragmentable part (RFC 8200 §4.5).  Each of those (hop-by-hop,
 * routing, destination options) is (len + 1) * 8 bytes (RFC 8200 §4.3-4.6).
 * Returns 0 if the chain does not end exactly at ulen.
 */
static size_t frag_v6_nxt_field(const uint8_t *ip, size_t ulen)
{
	size_t field = IP6_NXT, off = IP6_HLEN;

	while (off < ulen) {
		if (off + 2 > ulen)
			return 0;
		field = off;
		off += ((size_t)ip[off + 1] + 1) * 8;
	}
	return off == ulen ? field : 0;
}

/*
 * Build the datagram from fragments covering [0, total) without overlap,
 * sorted, the first at offset 0.  Returns NULL and sets *why on failure.
 */
static struct pbuf *frag_build(struct stack *st, const struct frag_key *key,
			       struct pbufq *frags, uint32_t total, enum stack_drop *why)
{
	struct pbuf *first = STAILQ_FIRST(frags), *f, *r;
	size_t ulen = first->nh - frag_hdr_len(key);
	unsigned ecn_seen = 0;
	uint8_t flags = PBUF_F_LOOPED;
	uint8_t *ip;

	if (ulen + total > frag_max_len(key)) {
		*why = STACK_DROP_FRAG_TOOBIG;
		return NULL;
	}
	STAILQ_FOREACH(f, frags, next) {
		ecn_seen |= 1u << frag_ecn_get(key, pbuf_data(f));
		flags &= f->flags;
	}
	/* RFC 3168 §5.3: a datagram whose fragments mix Not-ECT with ECT or CE
	 * is discarded (as Linux's ip_frag_ecn_table does). */
	if ((ecn_seen & (1u << ECN_NOT_ECT)) && ecn_seen != (1u << ECN_NOT_ECT)) {
		*why = STACK_DROP_FRAG_BAD;
		return NULL;
	}
	r = pbuf_alloc(st, ulen + total);
	if (!r) {
		*why = STACK_DROP_NOBUF;
		return NULL;
	}
	ip = pbuf_data(r);
	/* RFC 8200 §4.5: the unfragmentable part comes from the fragment at
	 * offset 0; so do the IPv4 header and its options (RFC 791 §3.2). */
	memcpy(ip, pbuf_data(first), ulen);
	STAILQ_FOREACH(f, frags, next)
		memcpy(ip + ulen + f->th, pbuf_data(f) + f->nh, f->len - f->nh);
	r->len = (uint32_t)(ulen + total);
	r->meta = first->meta;
	r->flags = flags;
	r->nh = 0;

	if (ecn_seen & (1u << ECN_CE))
		frag_ecn_set_ce(key, ip);
	if (is_v6(key)) {
		size_t field = frag_v6_nxt_field(ip, ulen);

		if (!field) {
			pbuf_free(st, r);
			*why = STACK_DROP_FRAG_BAD;
			return NULL;
		}
		/* Fragment header removed: whatever named it now names the
		 * header it named. */
		ip[field] = pbuf_data(first)[ulen + IP6_FRAG_NXT];
		put16(ip + IP6_PLEN, (uint16_t)(ulen - IP6_HLEN + total));
	} else {
		put16(ip + IP4_TOTLEN, (uint16_t)(ulen + total));
		/* Clear MF and the offset; keep DF as the first fragment had it. */
		put16(ip + IP4_FRAG, get16(ip + IP4_FRAG) & IP4_F_DF);
		put16(ip + IP4_CSUM, 0);
		put16(ip + IP4_CSUM, cksum_finish(cksum_add(0, ip, ulen)));
	}
	st->ctr.frag_reassembled++;
	return r;
}

/* IPv6 asks for a Parameter Problem about malformed fragments
 * (RFC 8200 §4.5); IPv4 has no such rule and Linux sends none. */
static void frag_param_problem(struct stack *st, struct pbuf *p,
			       const struct frag_key *key, uint32_t pointer)
{
	if (is_v6(key))
		icmp6_error(st, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, pointer);
}

struct pbuf *frag_input(struct stack *st, struct pbuf *p, const struct frag_key *key,
			uint32_t frag_off, bool more, size_t unfrag_len, size_t payload)
{
	struct frag_queue *q = NULL;
	struct pbuf *f, *prev = NULL, *r;
	enum stack_drop why;
	size_t len, end;
	bool complete;

	/* The callers count .rx of STACK_P_FRAG4/6; this file counts why
	 * fragments and datagrams are dropped. */
	if ((key->family != STACK_AF_INET && !is_v6(key)) ||
	    unfrag_len < (is_v6(key) ? IP6_HLEN : IP4_HLEN) ||
	    payload != unfrag_len + frag_hdr_len(key) || payload > p->len ||
	    payload > UINT16_MAX) {
		why = STACK_DROP_FRAG_BAD;
		goto drop;
	}
	len = p->len - payload;
	end = frag_off + len;

	/* RFC 8200 §4.5 (and RFC 791's 8-octet units): every fragment but
	 * the last carries a multiple of 8 bytes; an empty one says nothing. */
	if (more && len % 8) {
		frag_param_problem(st, p, key, IP6_PLEN);
		why = STACK_DROP_FRAG_BAD;
		goto drop;
	}
	if (more && len == 0) {
		why = STACK_DROP_FRAG_BAD;
		goto drop;
	}
	q = frag_find(st, key);
	/* RFC 8200 §4.5: a fragment that would make the reassembled Payload
	 * Length exceed 65 535 is discarded, with a Parameter Problem
	 * pointing at its Fragment Offset; for IPv4 the Total Length
	 * (Ping of Death).  The datagram it belongs to cannot be valid. */
	if (frag_off > UINT16_MAX || unfrag_len + end > frag_max_len(key)) {
		frag_param_problem(st, p, key, (uint32_t)unfrag_len + IP6_FRAG_OFFLG);
		why = STACK_DROP_FRAG_TOOBIG;
		goto kill;
	}

	/* RFC 6946 §4: an atomic fragment (offset 0, M clear) is processed in
	 * isolation, even when a queue with the same key exists. */
	if (frag_off == 0 && !more) {
		struct pbufq one = STAILQ_HEAD_INITIALIZER(one);

		p->th = 0;
		p->nh = (uint16_t)payload;
		STAILQ_INSERT_HEAD(&one, p, next);
		r = frag_build(st, key, &one, (uint32_t)len, &why);
		pbuf_free(st, p);
		if (!r)
			goto count;
		return r;
	}

	if (q) {
		/* RFC 791 §3.2 / RFC 8200 §4.5: the last fragment fixes the
		 * length; a second last fragment that disagrees, or data
		 * beyond the end, means the datagram is corrupt. */
		if (q->have_last && (more ? end > q->total : end != q->total)) {
			why = STACK_DROP_FRAG_BAD;
			goto kill;
		}
		/*
		 * RFC 5722 §4 (IPv6): any overlap discards the whole datagram
		 * silently.  IPv4 does the same, as Linux has since 4.19
		 * (FragmentSmack, CVE-2018-5391): overlaps serve only to
		 * evade filters and to make reassembly costly.  An exact
		 * duplicate (same offset and length) is what a network that
		 * duplicates packets produces: drop just that copy.
		 */
		STAILQ_FOREACH(f, &q->frags, next) {
			size_t fo = f->th, fe = fo + f->len - f->nh;

			if (fo == frag_off && fe == end) {
				pbuf_free(st, p);
				return NULL;
			}
			if (frag_off < fe && fo < end) {
				why = STACK_DROP_FRAG_OVERLAP;
				goto kill;
			}
			if (!more && fe > end) {
				why = STACK_DROP_FRAG_BAD;
				goto kill;
			}
			if (fo < frag_off)
				prev = f;
		}
	}

	/* With no overlaps, a datagram is whole when its first and last
	 * fragments are in and the bytes held add up to its length. */
	complete = q && (frag_off == 0 || q->have_first) &&
		   (!more || q->have_last) &&
		   q->received + len == (more ? q->total : end);

	/*
	 * Budget (net.ipv4.ipfrag_high_thresh): a held fragment costs its
	 * whole buffer, as Linux charges truesize.  Over budget the fragment
	 * is dropped and, IP never resending a lost fragment, its datagram
	 * too, which gives the memory back at once.  Other queues are not
	 * evicted: Linux stopped that in 4.17 (ipfrag_low_thresh obsolete);
	 * they complete or time out.  The fragment that completes a
	 * datagram is never held, so it is neither refused nor charged.
	 */
	if (!complete && st->frag_mem + (uint64_t)p->cap > st->cfg.frag_budget) {
		why = STACK_DROP_FRAG_BUDGET;
		goto kill;
	}
	if (!q)
		q = frag_queue_new(st, key);

	if (!more) {
		q->have_last = 1;
		q->total = (uint32_t)end;
	}
	if (frag_off == 0) {
		q->have_first = 1;
		q->ifindex = p->meta.ifindex;
	}
	p->th = (uint16_t)frag_off;
	p->nh = (uint16_t)payload;
	if (prev)
		STAILQ_INSERT_AFTER(&q->frags, prev, p, next);
	else
		STAILQ_INSERT_HEAD(&q->frags, p, next);
	q->received += (uint32_t)len;
	if (!complete) {
		q->mem += p->cap;
		st->frag_mem += p->cap;
		return NULL;
	}
	r = frag_build(st, key, &q->frags, q->total, &why);
	frag_queue_free(st, q);
	if (!r)
		goto count;
	return r;

kill:	/* the whole datagram goes */
	if (q)
		frag_queue_free(st, q);
drop:
	pbuf_free(st, p);
count:
	frag_count(st, key, why);
	return NULL;
}

/* RFC 791 §3.2 / RFC 8200 §4.5: reassembly timed out.  If the first
 * fragment arrived, its source learns through an ICMP Time Exceeded,
 * Fragment Reassembly Time Exceeded (RFC 792, RFC 4443 §3.3). */
void frag_timer(struct stack *st, struct timer *t)
{
	struct frag_queue *q = container_of(t, struct frag_queue, timer);
	struct pbuf *first = STAILQ_FIRST(&q->frags);

	if (!q->used)
		return;
	frag_count(st, &q->key, STACK_DROP_FRAG_TIMEOUT);
	if (q->have_first && first) {
		if (is_v6(&q->key))
			icmp6_error(st, first, ICMP6_TIME_EXCEEDED,
				    ICMP6_TIME_EXCEED_REASSEMBLY, 0);
		else
			icmp4_error(st, first, ICMP4_TIMXCEED, ICMP4_TIMXCEED_REASS, 0);
	}
	frag_queue_free(st, q);
}

uint32_t frag_mem(const struct stack *st) { return st->frag_mem; }
