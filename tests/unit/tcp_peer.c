/*
 * tcp_peer.c — the scripted remote TCP peer of the TCP suites (see
 * tcp_peer.h).  Test -> tp_* -> h_inject / h_pull (harness.c) -> the stack's
 * link side; and tp_open/tp_write/... -> the stack's endpoint API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "tcp_peer.h"

static const char *flag_str(uint8_t f);

/* ---- the fixture's registry of connections ------------------------------ */

#define TP_MAX_CONNS 64
static struct tp_conn *registry[TP_MAX_CONNS];
static unsigned nregistry;

static void remember(struct tp_conn *c)
{
	for (unsigned i = 0; i < nregistry; i++)
		if (registry[i] == c)
			return;
	if (nregistry < TP_MAX_CONNS)
		registry[nregistry++] = c;
}

void tp_setup(struct harness *h)
{
	nregistry = 0;
	h_setup(h);
}

void tp_setup_cfg(struct harness *h, const struct stack_config *cfg, uint32_t mtu)
{
	nregistry = 0;
	h_setup_cfg(h, cfg, mtu);
}

void tp_teardown(struct harness *h)
{
	/* A peer RST (exact sequence number, RFC 5961 §3.2) ends whatever
	 * state the stack kept; an RST to a closed port draws no reply. */
	for (unsigned i = 0; i < nregistry; i++) {
		struct tp_conn *c = registry[i];

		if (c->h == h && !c->done && !c->rst_seen)
			tp_send_rst(c);
	}
	nregistry = 0;
	h_drain(h);
	h_teardown(h);
}

/* ---- configuration ------------------------------------------------------ */

struct tp_cfg tp_cfg(int family)
{
	struct tp_cfg cfg = {
	    .family = family,
	    .mss = family == STACK_AF_INET ? 1460 : 1440,
	    .ws = 7,
	    .sackok = true,
	    .ts = true,
	    .iss = 0x12345678,
	    .win = 1u << 20,
	    .rtt = 0,
	    .port = 0,
	    .peer_sport = TP_PEER_SPORT,
	    .backlog = 16,
	};
	return cfg;
}

void tp_init(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg)
{
	memset(c, 0, sizeof(*c));
	c->h = h;
	c->cfg = *cfg;
	c->family = cfg->family;
	c->fd = -1;
	c->lfd = -1;
	if (c->family == STACK_AF_INET) {
		memcpy(c->me, h->a4, 4);
		memcpy(c->peer, h->p4, 4);
	} else {
		memcpy(c->me, h->a6, 16);
		memcpy(c->peer, h->p6, 16);
	}
	c->iss = cfg->iss;
	c->snd_nxt = cfg->iss;
	c->wnd = cfg->win;
	c->ts_base = 0x01000000;
	c->done = true; /* until a fixture makes a connection */
}

/* ---- building ------------------------------------------------------------- */

/* Options in Linux's layout; returns their length (a multiple of 4). */
static size_t emit_opts(uint8_t *p, const struct tp_opts *o)
{
	size_t n = 0;

	if (!o)
		return 0;
	if (o->mss_on) {
		p[n++] = TCPOPT_MSS;
		p[n++] = 4;
		put16(p + n, o->mss);
		n += 2;
	}
	if (o->ts_on) {
		if (o->sackok) {
			p[n++] = TCPOPT_SACKOK;
			p[n++] = 2;
		} else {
			p[n++] = TCPOPT_NOP;
			p[n++] = TCPOPT_NOP;
		}
		p[n++] = TCPOPT_TS;
		p[n++] = 10;
		put32(p + n, o->tsval);
		put32(p + n + 4, o->tsecr);
		n += 8;
	} else if (o->sackok) {
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_SACKOK;
		p[n++] = 2;
	}
	if (o->ws_on) {
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_WS;
		p[n++] = 3;
		p[n++] = o->ws;
	}
	if (o->nsack) {
		ck_assert_uint_le(o->nsack, o->ts_on ? 3 : 4);
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_SACK;
		p[n++] = (uint8_t)(2 + 8 * o->nsack);
		for (unsigned i = 0; i < o->nsack; i++) {
			put32(p + n, o->sack[i][0]);
			put32(p + n + 4, o->sack[i][1]);
			n += 8;
		}
	}
	while (n % 4)
		p[n++] = TCPOPT_EOL;
	ck_assert_uint_le(n, 40);
	return n;
}

size_t tp_build(uint8_t *buf, int family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
		uint16_t dport, const struct tp_out *o)
{
	static uint8_t seg[70000];
	size_t optlen = emit_opts(seg + TCP_HLEN, o->o);
	size_t hl = TCP_HLEN + optlen, len = hl + o->len;
	uint16_t sum;

	put16(seg + TCP_SPORT, sport);
	put16(seg + TCP_DPORT, dport);
	put32(seg + TCP_SEQ, o->seq);
	put32(seg + TCP_ACK, o->ack);
	seg[TCP_OFF] = (uint8_t)((hl / 4) << 4);
	seg[TCP_FLAGS] = o->flags;
	put16(seg + TCP_WIN, o->win);
	put16(seg + TCP_CSUM, 0);
	put16(seg + TCP_URP, o->urp);
	if (o->len)
		memcpy(seg + hl, o->data, o->len);
	sum = cksum_finish(
	    cksum_add(cksum_pseudo(family, src, dst, STACK_IPPROTO_TCP, (uint32_t)len), seg, len));
	put16(seg + TCP_CSUM, sum);
	if (family == STACK_AF_INET)
		return build_ip4(buf, src, dst, STACK_IPPROTO_TCP, seg, len, 0x4242, IP4_F_DF, 64);
	return build_ip6(buf, src, dst, STACK_IPPROTO_TCP, seg, len, 64);
}

uint32_t tp_tsval(const struct tp_conn *c)
{
	return c->ts_base + (uint32_t)(c->h->now / STACK_NS_PER_MS);
}

static uint16_t wnd_field(const struct tp_conn *c)
{
	uint32_t f = c->wnd >> c->snd_ws;

	return (uint16_t)(f > 65535 ? 65535 : f);
}

/* Storage for the options tp_out() points at: one per connection would
 * be tidier, but a segment is always injected before the next is built. */
static struct tp_opts out_opts;

struct tp_out tp_out(struct tp_conn *c, uint8_t flags)
{
	struct tp_out o = {
	    .flags = flags,
	    .seq = c->snd_nxt,
	    .ack = (flags & TH_ACK) ? c->rcv_nxt : 0,
	    .win = wnd_field(c),
	};

	if (c->ts) {
		memset(&out_opts, 0, sizeof(out_opts));
		out_opts.ts_on = true;
		out_opts.tsval = tp_tsval(c);
		out_opts.tsecr = c->ts_recent;
		o.o = &out_opts;
	}
	return o;
}

void tp_inject(struct tp_conn *c, const struct tp_out *o)
{
	static uint8_t pkt[70000];
	size_t n = tp_build(pkt, c->family, c->peer, c->me, c->pport, c->mport, o);

	if (getenv("TP_TRACE"))
		fprintf(stderr, "tp %10.6f peer>  %u>%u [%s] seq %u ack %u win %u len %zu\n",
			(double)(c->h->now % (100000 * STACK_NS_PER_S)) / 1e9, c->pport, c->mport,
			flag_str(o->flags), o->seq, o->ack, o->win, o->len);

	h_inject(c->h, pkt, n);
}

void tp_send_at(struct tp_conn *c, uint8_t flags, uint32_t seq, const void *data, size_t len)
{
	struct tp_out o = tp_out(c, flags);

	o.seq = seq;
	o.data = data;
	o.len = len;
	tp_inject(c, &o);
}

void tp_send(struct tp_conn *c, uint8_t flags, const void *data, size_t len)
{
	tp_send_at(c, flags, c->snd_nxt, data, len);
	c->snd_nxt += (uint32_t)len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
}

void tp_send_ack(struct tp_conn *c)
{
	tp_send(c, TH_ACK, NULL, 0);
}
void tp_send_data(struct tp_conn *c, const void *data, size_t len)
{
	tp_send(c, TH_ACK | TH_PSH, data, len);
}
void tp_send_fin(struct tp_conn *c)
{
	tp_send(c, TH_FIN | TH_ACK, NULL, 0);
}

void tp_send_rst(struct tp_conn *c)
{
	struct tp_out o = tp_out(c, TH_RST);

	o.o = NULL;
	o.win = 0;
	tp_inject(c, &o);
	c->done = true;
}

/* ---- parsing ------------------------------------------------------------- */

static void parse_opts(const uint8_t *p, size_t n, struct tp_opts *o)
{
	size_t i = 0;

	memset(o, 0, sizeof(*o));
	while (i < n) {
		uint8_t kind = p[i], len;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		ck_assert_uint_lt(i + 1, n);
		len = p[i + 1];
		ck_assert_uint_ge(len, 2);
		ck_assert_uint_le(i + len, n);
		switch (kind) {
		case TCPOPT_MSS:
			ck_assert_uint_eq(len, 4);
			o->mss_on = true;
			o->mss = get16(p + i + 2);
			break;
		case TCPOPT_WS:
			ck_assert_uint_eq(len, 3);
			o->ws_on = true;
			o->ws = p[i + 2];
			break;
		case TCPOPT_SACKOK:
			ck_assert_uint_eq(len, 2);
			o->sackok = true;
			break;
		case TCPOPT_TS:
			ck_assert_uint_eq(len, 10);
			o->ts_on = true;
			o->tsval = get32(p + i + 2);
			o->tsecr = get32(p + i + 6);
			break;
		case TCPOPT_SACK:
			ck_assert_uint_eq((len - 2) % 8, 0);
			o->nsack = (unsigned)(len - 2) / 8;
			ck_assert_uint_le(o->nsack, 4);
			for (unsigned k = 0; k < o->nsack; k++) {
				o->sack[k][0] = get32(p + i + 2 + 8 * k);
				o->sack[k][1] = get32(p + i + 6 + 8 * k);
			}
			break;
		default:
			ck_abort_msg("the stack sent an unexpected TCP option %u", kind);
		}
		i += len;
	}
}

bool tp_pull_any(struct harness *h, struct tp_seg *s)
{
	static uint8_t pkt[70000];
	size_t n = h_pull(h, pkt, sizeof(pkt)), tl, hl;
	const uint8_t *t;

	if (!n)
		return false;
	memset(s, 0, offsetof(struct tp_seg, data));
	s->t = h->now;
	ck_assert_uint_ge(n, 1);
	if ((pkt[0] >> 4) == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;

		ck_assert_uint_ge(n, IP4_HLEN);
		ck_assert_uint_eq(ihl, IP4_HLEN); /* the stack sends no IP options */
		ck_assert_uint_eq(get16(pkt + IP4_TOTLEN), n);
		ck_assert_uint_eq(cksum_fold(cksum_add(0, pkt, IP4_HLEN)), 0xffff);
		ck_assert_msg(pkt[IP4_PROTO] == STACK_IPPROTO_TCP, "IPv4 protocol %u, not TCP",
			      pkt[IP4_PROTO]);
		ck_assert_uint_eq(get16(pkt + IP4_FRAG) & (IP4_F_MF | IP4_OFFMASK), 0);
		s->family = STACK_AF_INET;
		s->df = (get16(pkt + IP4_FRAG) & IP4_F_DF) != 0;
		s->ttl = pkt[IP4_TTL];
		memcpy(s->src, pkt + IP4_SRC, 4);
		memcpy(s->dst, pkt + IP4_DST, 4);
		t = pkt + IP4_HLEN;
		tl = n - IP4_HLEN;
	} else {
		ck_assert_uint_eq(pkt[0] >> 4, 6);
		ck_assert_uint_ge(n, IP6_HLEN);
		ck_assert_uint_eq(get16(pkt + IP6_PLEN), n - IP6_HLEN);
		ck_assert_msg(pkt[IP6_NXT] == STACK_IPPROTO_TCP, "IPv6 next header %u, not TCP",
			      pkt[IP6_NXT]);
		s->family = STACK_AF_INET6;
		s->ttl = pkt[IP6_HLIM];
		memcpy(s->src, pkt + IP6_SRC, 16);
		memcpy(s->dst, pkt + IP6_DST, 16);
		t = pkt + IP6_HLEN;
		tl = n - IP6_HLEN;
	}
	ck_assert_uint_ge(tl, TCP_HLEN);
	hl = (size_t)(t[TCP_OFF] >> 4) * 4;
	ck_assert_uint_ge(hl, TCP_HLEN);
	ck_assert_uint_le(hl, tl);
	ck_assert_uint_eq(t[TCP_OFF] & 0x0f, 0); /* reserved bits */
	ck_assert_msg(cksum_fold(cksum_add(
			  cksum_pseudo(s->family, s->src, s->dst, STACK_IPPROTO_TCP, (uint32_t)tl),
			  t, tl)) == 0xffff,
		      "bad TCP checksum");
	s->sport = get16(t + TCP_SPORT);
	s->dport = get16(t + TCP_DPORT);
	s->seq = get32(t + TCP_SEQ);
	s->ack = get32(t + TCP_ACK);
	s->flags = t[TCP_FLAGS];
	s->win = get16(t + TCP_WIN);
	s->urp = get16(t + TCP_URP);
	s->optlen = hl - TCP_HLEN;
	parse_opts(t + TCP_HLEN, s->optlen, &s->o);
	s->len = tl - hl;
	ck_assert_uint_le(s->len, TP_SEG_MAX);
	memcpy(s->data, t + hl, s->len);
	if (getenv("TP_TRACE"))
		fprintf(stderr, "tp %10.6f stack> %u>%u [%s] seq %u ack %u win %u len %zu%s\n",
			(double)(h->now % (100000 * STACK_NS_PER_S)) / 1e9, s->sport, s->dport,
			flag_str(s->flags), s->seq, s->ack, s->win, s->len,
			s->o.nsack ? " sack" : "");
	return true;
}

void tp_track(struct tp_conn *c, const struct tp_seg *s)
{
	uint32_t seglen = (uint32_t)s->len + !!(s->flags & TH_SYN) + !!(s->flags & TH_FIN);

	c->last_flags = s->flags;
	c->last_win = s->win;
	c->last_opts = s->o;
	c->last_optlen = s->optlen;
	if (s->flags & TH_RST) {
		c->rst_seen = true;
		return;
	}
	if (s->o.ts_on)
		c->ts_recent = s->o.tsval;
	if (s->flags & TH_ACK) {
		c->stack_ack = s->ack;
		if (!(s->flags & TH_SYN))
			c->stack_wnd = (uint32_t)s->win << c->rcv_ws;
	}
	/* In-order data (or a retransmission overlapping rcv_nxt). */
	if (seglen && (int32_t)(s->seq - c->rcv_nxt) <= 0 &&
	    (int32_t)(s->seq + seglen - c->rcv_nxt) > 0) {
		uint32_t skip = c->rcv_nxt - s->seq;
		size_t take = s->len > skip ? s->len - skip : 0;

		if (c->rx && take) {
			ck_assert_uint_le(c->rx_len + take, c->rx_cap);
			memcpy(c->rx + c->rx_len, s->data + skip, take);
		}
		c->rx_len += take;
		c->rcv_nxt = s->seq + seglen;
		if (s->flags & TH_FIN)
			c->rx_fin = true;
	}
}

static void assert_mine(const struct tp_conn *c, const struct tp_seg *s)
{
	size_t al = c->family == STACK_AF_INET ? 4 : 16;

	ck_assert_int_eq(s->family, c->family);
	ck_assert_mem_eq(s->src, c->me, al);
	ck_assert_mem_eq(s->dst, c->peer, al);
	ck_assert_uint_eq(s->sport, c->mport);
	ck_assert_uint_eq(s->dport, c->pport);
}

bool tp_pull(struct tp_conn *c, struct tp_seg *s)
{
	static struct tp_seg scratch;

	if (!s)
		s = &scratch;
	if (!tp_pull_any(c->h, s))
		return false;
	assert_mine(c, s);
	tp_track(c, s);
	return true;
}

static const char *flag_str(uint8_t f)
{
	static char b[40];

	snprintf(b, sizeof(b), "%s%s%s%s%s%s%s%s", f & TH_SYN ? "S" : "", f & TH_FIN ? "F" : "",
		 f & TH_RST ? "R" : "", f & TH_PSH ? "P" : "", f & TH_ACK ? "." : "",
		 f & TH_URG ? "U" : "", f & TH_ECE ? "E" : "", f & TH_CWR ? "W" : "");
	return b;
}

void tp_expect(struct tp_conn *c, struct tp_seg *s, uint8_t flags, long long seq, long long ack,
	       long long len)
{
	static struct tp_seg scratch;
	char want[40];

	if (!s)
		s = &scratch;
	ck_assert_msg(tp_pull(c, s), "expected a segment [%s], the link is empty", flag_str(flags));
	snprintf(want, sizeof(want), "%s", flag_str(flags));
	ck_assert_msg((s->flags & ~TH_PSH) == (flags & ~TH_PSH),
		      "flags [%s], expected [%s] (seq %u ack %u len %zu)", flag_str(s->flags), want,
		      s->seq, s->ack, s->len);
	if (seq != TP_ANY)
		ck_assert_msg(s->seq == (uint32_t)seq, "seq %u, expected %u", s->seq,
			      (uint32_t)seq);
	if (ack != TP_ANY)
		ck_assert_msg(s->ack == (uint32_t)ack, "ack %u, expected %u", s->ack,
			      (uint32_t)ack);
	if (len != TP_ANY)
		ck_assert_msg(s->len == (size_t)len, "payload %zu bytes, expected %lld", s->len,
			      len);
}

void tp_expect_nothing(struct tp_conn *c)
{
	struct tp_seg *s;
	static struct tp_seg scratch;

	if (h_pending(c->h) == 0)
		return;
	s = &scratch;
	tp_pull_any(c->h, s);
	ck_abort_msg("expected nothing, the stack sent [%s] seq %u ack %u len %zu",
		     flag_str(s->flags), s->seq, s->ack, s->len);
}

unsigned tp_flush(struct tp_conn *c)
{
	unsigned n = 0;

	while (tp_pull(c, NULL))
		n++;
	return n;
}

stack_ns_t tp_run(struct harness *h, stack_ns_t limit)
{
	stack_ns_t start = h->now, end = start + limit;
	unsigned stuck = 0;

	for (unsigned i = 0; i < 2000000; i++) {
		stack_ns_t d;

		if (h_pending(h))
			return h->now - start;
		if (h->now >= end)
			return STACK_NS_NEVER;
		d = stack_next_deadline(h->st);
		if (d > end)
			d = end;
		if (d <= h->now) {
			/* Due now: poll; a deadline that does not move is a
			 * stack bug, but must not hang the suite. */
			d = ++stuck > 8 ? h->now + STACK_NS_PER_MS : h->now;
			if (d > end)
				d = end;
		} else {
			stuck = 0;
		}
		h_advance(h, d - h->now);
	}
	ck_abort_msg("tp_run: the stack keeps asking to be polled");
	return STACK_NS_NEVER;
}

stack_ns_t tp_wait(struct tp_conn *c, stack_ns_t limit, struct tp_seg *s)
{
	stack_ns_t t = tp_run(c->h, limit);

	if (t != STACK_NS_NEVER)
		ck_assert(tp_pull(c, s));
	return t;
}

stack_ns_t tp_expect_at(struct tp_conn *c, struct tp_seg *s, stack_ns_t at, stack_ns_t tol)
{
	stack_ns_t t = tp_wait(c, at + tol, s);

	ck_assert_msg(t != STACK_NS_NEVER, "nothing sent within %llu ms (expected at %llu ms)",
		      (unsigned long long)((at + tol) / STACK_NS_PER_MS),
		      (unsigned long long)(at / STACK_NS_PER_MS));
	ck_assert_msg(t + tol >= at, "sent after %llu us, expected at %llu ms",
		      (unsigned long long)(t / 1000), (unsigned long long)(at / STACK_NS_PER_MS));
	return t;
}

void tp_expect_ack_within(struct tp_conn *c, stack_ns_t limit)
{
	struct tp_seg s;
	stack_ns_t start = c->h->now;

	for (;;) {
		stack_ns_t used = c->h->now - start;
		stack_ns_t t = used > limit ? STACK_NS_NEVER : tp_wait(c, limit - used, &s);

		ck_assert_msg(t != STACK_NS_NEVER, "no ACK of %u within %llu ms", c->snd_nxt,
			      (unsigned long long)(limit / STACK_NS_PER_MS));
		ck_assert_msg((s.flags & ~TH_PSH) == TH_ACK && s.len == 0,
			      "expected a pure ACK, got flags 0x%x len %zu", s.flags, s.len);
		ck_assert_uint_eq(s.seq, c->rcv_nxt);
		ck_assert_int_le((int32_t)(s.ack - c->snd_nxt), 0);
		if (s.ack == c->snd_nxt)
			return;
	}
}

uint32_t tp_seg_wnd(const struct tp_conn *c, const struct tp_seg *s)
{
	if (s->flags & TH_SYN)
		return s->win;
	return (uint32_t)s->win << c->rcv_ws;
}

/* ---- the stack side ------------------------------------------------------- */

int tp_open(struct harness *h, int family)
{
	int fd = stack_ep_open(h->st, family, STACK_SOCK_STREAM, 0);

	ck_assert_msg(fd >= 0, "stack_ep_open(SOCK_STREAM) = %d", fd);
	return fd;
}

ssize_t tp_write(struct harness *h, int fd, const void *d, size_t n, int flags)
{
	struct iovec iov = {.iov_base = (void *)d, .iov_len = n};

	return stack_ep_sendto(h->st, fd, &iov, 1, flags, NULL);
}

ssize_t tp_read(struct harness *h, int fd, void *b, size_t cap, int flags)
{
	struct iovec iov = {.iov_base = b, .iov_len = cap};

	return stack_ep_recvfrom(h->st, fd, &iov, 1, flags, NULL, NULL);
}

int tp_setint(struct harness *h, int fd, int level, int name, int v)
{
	return stack_ep_setopt(h->st, fd, level, name, &v, sizeof(v));
}

int tp_getint(struct harness *h, int fd, int level, int name)
{
	int v = -12345;
	size_t len = sizeof(v);

	ck_assert_int_eq(stack_ep_getopt(h->st, fd, level, name, &v, &len), 0);
	ck_assert_uint_eq(len, sizeof(v));
	return v;
}

int tp_so_error(struct harness *h, int fd)
{
	return tp_getint(h, fd, STACK_SOL_SOCKET, STACK_SO_ERROR);
}

struct stack_tcp_info tp_info(struct harness *h, int fd)
{
	struct stack_tcp_info ti;
	size_t len = sizeof(ti);

	ck_assert_int_eq(stack_ep_getopt(h->st, fd, STACK_SOL_TCP, STACK_TCP_INFO, &ti, &len), 0);
	return ti;
}

/* TCP_CONGESTION's name (into a buffer of TCP_CA_NAME_MAX, 16). */
const char *tp_cc_name(struct harness *h, int fd, char *name)
{
	size_t len = 16;

	memset(name, 0, len);
	ck_assert_int_eq(stack_ep_getopt(h->st, fd, STACK_SOL_TCP, STACK_TCP_CONGESTION, name, &len), 0);
	return name;
}

/* ---- handshakes ----------------------------------------------------------- */

static void sa_of(struct stack_sockaddr *a, int family, const uint8_t *addr, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint16_t)family;
	a->port = port;
	memcpy(a->addr, addr, family == STACK_AF_INET ? 4 : 16);
}

static void set_bufs(struct harness *h, int fd, const struct tp_cfg *cfg)
{
	if (cfg->rcvbuf)
		ck_assert_int_eq(tp_setint(h, fd, STACK_SOL_SOCKET, STACK_SO_RCVBUF, cfg->rcvbuf),
				 0);
	if (cfg->sndbuf)
		ck_assert_int_eq(tp_setint(h, fd, STACK_SOL_SOCKET, STACK_SO_SNDBUF, cfg->sndbuf),
				 0);
}

/* The options of a SYN / SYN-ACK from the peer, as cfg says. */
static struct tp_opts syn_opts(const struct tp_conn *c, uint32_t tsecr)
{
	struct tp_opts o;

	memset(&o, 0, sizeof(o));
	o.mss_on = c->cfg.mss != 0;
	o.mss = c->cfg.mss;
	o.ws_on = c->cfg.ws >= 0;
	o.ws = (uint8_t)(c->cfg.ws >= 0 ? c->cfg.ws : 0);
	o.sackok = c->cfg.sackok;
	o.ts_on = c->cfg.ts;
	o.tsval = tp_tsval(c);
	o.tsecr = tsecr;
	return o;
}

/* What the handshake settled, from the stack's SYN / SYN-ACK s. */
void tp_negotiate(struct tp_conn *c, const struct tp_seg *s)
{
	uint16_t peer_mss = c->cfg.mss ? c->cfg.mss : (c->family == STACK_AF_INET ? 536 : 1220);

	c->syn_opts = s->o;
	c->syn_win = s->win;
	if (s->flags & TH_ACK) {
		c->stack_ack = s->ack;
		c->stack_wnd = s->win; /* a SYN's window is never scaled */
	}
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->stack_mss = s->o.mss;
	c->ts = c->cfg.ts && s->o.ts_on;
	c->sack = c->cfg.sackok && s->o.sackok;
	c->wscale = c->cfg.ws >= 0 && s->o.ws_on;
	c->snd_ws = c->wscale ? (uint8_t)c->cfg.ws : 0;
	c->rcv_ws = c->wscale ? s->o.ws : 0;
	c->stack_ws_opt = s->o.ws_on ? s->o.ws : 0;
	/* The stack's segments carry min(peer MSS, its own) bytes less the
	 * options every segment has (RFC 9293 §3.7.1; Linux tcp_sync_mss). */
	c->eff_mss = (uint16_t)((peer_mss < s->o.mss ? peer_mss : s->o.mss) - (c->ts ? 12 : 0));
	c->peer_eff_mss = (uint16_t)(s->o.mss - (c->ts ? 12 : 0));
	if (s->o.ts_on)
		c->ts_recent = s->o.tsval;
}

/* Checks every SYN / SYN-ACK of the stack shares. */
static void check_syn_common(const struct tp_conn *c, const struct tp_seg *s)
{
	ck_assert_uint_eq(s->len, 0);
	ck_assert_msg(s->o.mss_on, "the stack's SYN carries no MSS option");
	/* link MTU 1500 - 40 (IPv4) / - 60 (IPv6) */
	ck_assert_uint_eq(s->o.mss, c->family == STACK_AF_INET ? 1460 : 1440);
	ck_assert_uint_gt(s->win, 0); /* never scaled in a SYN (RFC 7323 §2.2) */
	if (s->o.ws_on)
		ck_assert_uint_le(s->o.ws, 14); /* RFC 7323 §2.3 */
	ck_assert_uint_eq(s->urp, 0);
}

void tp_client_syn(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg)
{
	struct stack_sockaddr to, me;
	struct tp_seg s;

	tp_init(c, h, cfg);
	remember(c);
	c->pport = cfg->port ? cfg->port : TP_PEER_PORT;
	c->fd = tp_open(h, c->family);
	set_bufs(h, c->fd, cfg);
	sa_of(&to, c->family, c->peer, c->pport);
	ck_assert_int_eq(stack_ep_connect(h->st, c->fd, &to), -EINPROGRESS);
	ck_assert_int_eq(stack_ep_getsockname(h->st, c->fd, &me), 0);
	c->mport = me.port;
	ck_assert_uint_ge(c->mport, OPT_EPHEMERAL_LO);
	ck_assert_uint_le(c->mport, OPT_EPHEMERAL_HI);
	c->done = false;
	ck_assert_msg(tp_pull_any(h, &s), "connect() sent no SYN");
	assert_mine(c, &s);
	ck_assert_uint_eq(s.flags, TH_SYN);
	ck_assert_uint_eq(s.ack, 0);
	check_syn_common(c, &s);
	/* Linux offers everything in its SYN. */
	ck_assert(s.o.sackok);
	ck_assert(s.o.ts_on);
	ck_assert_uint_eq(s.o.tsecr, 0);
	ck_assert(s.o.ws_on);
	c->irs = s.seq;
	c->rcv_nxt = s.seq + 1;
	c->syn_opts = s.o;
	c->syn_win = s.win;
	c->ts_recent = s.o.tsval;
}

void tp_client_finish(struct tp_conn *c)
{
	struct tp_seg syn = {0};
	struct tp_opts o;
	struct tp_out out;

	if (c->cfg.rtt)
		h_advance(c->h, c->cfg.rtt);
	/* negotiate() takes a segment: rebuild the stack's SYN view. */
	syn.flags = TH_SYN;
	syn.seq = c->irs;
	syn.win = (uint16_t)c->syn_win;
	syn.o = c->syn_opts;
	tp_negotiate(c, &syn);
	o = syn_opts(c, c->syn_opts.tsval);
	out = (struct tp_out){
	    .flags = TH_SYN | TH_ACK,
	    .seq = c->iss,
	    .ack = c->irs + 1,
	    .win = (uint16_t)(c->wnd > 65535 ? 65535 : c->wnd),
	    .o = &o,
	};
	tp_inject(c, &out);
	c->snd_nxt = c->iss + 1;
	tp_expect(c, NULL, TH_ACK, c->irs + 1, c->iss + 1, 0);
	ck_assert_uint_ne(stack_ep_events(c->h->st, c->fd) & STACK_EV_OUT, 0);
	ck_assert_int_eq(tp_so_error(c->h, c->fd), 0);
}

void tp_client(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg)
{
	tp_client_syn(c, h, cfg);
	tp_client_finish(c);
}

void tp_listen(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg)
{
	struct stack_sockaddr a;
	uint8_t any[16] = {0};

	tp_init(c, h, cfg);
	remember(c);
	c->mport = cfg->port ? cfg->port : TP_LISTEN_PORT;
	c->pport = cfg->peer_sport ? cfg->peer_sport : TP_PEER_SPORT;
	c->lfd = tp_open(h, c->family);
	set_bufs(h, c->lfd, cfg);
	sa_of(&a, c->family, any, c->mport);
	ck_assert_int_eq(stack_ep_bind(h->st, c->lfd, &a), 0);
	ck_assert_int_eq(stack_ep_listen(h->st, c->lfd, cfg->backlog), 0);
	ck_assert_int_eq(stack_ep_accept(h->st, c->lfd, NULL), -EAGAIN);
}

void tp_server_syn(struct tp_conn *c)
{
	struct tp_opts o = syn_opts(c, 0);
	struct tp_out out = {
	    .flags = TH_SYN,
	    .seq = c->iss,
	    .win = (uint16_t)(c->wnd > 65535 ? 65535 : c->wnd),
	    .o = &o,
	};

	c->done = false;
	tp_inject(c, &out);
	c->snd_nxt = c->iss + 1;
	c->ts_recent = 0;
	c->syn_opts.tsval = o.tsval; /* remembered for the TSecr check */
}

void tp_server_synack(struct tp_conn *c)
{
	struct tp_seg s;
	uint32_t sent_tsval = c->syn_opts.tsval;

	ck_assert_msg(tp_pull_any(c->h, &s), "no SYN-ACK for the peer's SYN");
	assert_mine(c, &s);
	ck_assert_uint_eq(s.flags, TH_SYN | TH_ACK);
	ck_assert_uint_eq(s.ack, c->iss + 1);
	check_syn_common(c, &s);
	/* Only what the SYN offered comes back (RFC 7323 §1.3, RFC 2018 §2). */
	ck_assert_int_eq(s.o.ws_on, c->cfg.ws >= 0);
	ck_assert_int_eq(s.o.ts_on, c->cfg.ts);
	ck_assert_int_eq(s.o.sackok, c->cfg.sackok);
	if (s.o.ts_on)
		ck_assert_uint_eq(s.o.tsecr, sent_tsval);
	tp_negotiate(c, &s);
}

void tp_server_finish(struct tp_conn *c)
{
	struct stack_sockaddr peer;

	if (c->cfg.rtt)
		h_advance(c->h, c->cfg.rtt);
	tp_send_ack(c);
	tp_expect_nothing(c);
	ck_assert_uint_ne(stack_ep_events(c->h->st, c->lfd) & STACK_EV_IN, 0);
	c->fd = stack_ep_accept(c->h->st, c->lfd, &peer);
	ck_assert_msg(c->fd >= 0, "accept() = %d", c->fd);
	ck_assert_uint_eq(peer.family, c->family);
	ck_assert_uint_eq(peer.port, c->pport);
	ck_assert_mem_eq(peer.addr, c->peer, c->family == STACK_AF_INET ? 4 : 16);
	ck_assert_uint_ne(stack_ep_events(c->h->st, c->fd) & STACK_EV_OUT, 0);
	ck_assert_int_eq(tp_so_error(c->h, c->fd), 0);
}

void tp_server(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg)
{
	tp_listen(c, h, cfg);
	tp_server_syn(c);
	tp_server_synack(c);
	tp_server_finish(c);
}

void tp_server_more(struct tp_conn *c, const struct tp_conn *srv, uint16_t peer_sport)
{
	struct tp_cfg cfg = srv->cfg;

	cfg.peer_sport = peer_sport;
	tp_init(c, srv->h, &cfg);
	remember(c);
	c->mport = srv->mport;
	c->pport = peer_sport;
	c->lfd = srv->lfd;
}

/* ---- bulk transfer ---------------------------------------------------------- */

void tp_pump_to_peer(struct tp_conn *c, const uint8_t *d, size_t n)
{
	static uint8_t rx[8u << 20];
	size_t written = 0;
	unsigned idle = 0;

	ck_assert_uint_le(n, sizeof(rx));
	c->rx = rx;
	c->rx_cap = sizeof(rx);
	c->rx_len = 0;
	while (c->rx_len < n || stack_ep_unsent(c->h->st, c->fd) > 0) {
		struct tp_seg s;
		bool progress = false;

		if (written < n) {
			size_t chunk = n - written > 65536 ? 65536 : n - written;
			ssize_t w = tp_write(c->h, c->fd, d + written, chunk, 0);

			ck_assert_msg(w > 0 || w == -EAGAIN, "send() = %zd", w);
			if (w > 0) {
				written += (size_t)w;
				progress = true;
			}
		}
		while (tp_pull(c, &s)) {
			ck_assert_uint_eq(s.flags & (TH_RST | TH_SYN), 0);
			ck_assert_uint_le(s.len, c->eff_mss);
			progress = true;
			if (s.len)
				tp_send_ack(c);
		}
		if (!progress) {
			/* Nothing moved: let timers (delayed sends, probes) run. */
			ck_assert_msg(++idle < 200, "transfer to the peer stalled at %zu of %zu",
				      c->rx_len, n);
			tp_run(c->h, 1000 * STACK_NS_PER_MS);
		} else {
			idle = 0;
		}
	}
	ck_assert_uint_eq(c->rx_len, n);
	ck_assert(memcmp(rx, d, n) == 0);
	c->rx = NULL;
	c->rx_len = 0;
}

void tp_pump_to_stack(struct tp_conn *c, const uint8_t *d, size_t n)
{
	static uint8_t got[8u << 20];
	size_t sent = 0, rd = 0;
	uint32_t base = c->snd_nxt;
	unsigned idle = 0;

	ck_assert_uint_le(n, sizeof(got));
	/* The stack's window as offered in its last segment. */
	if (!c->stack_wnd)
		c->stack_wnd = (uint32_t)c->syn_win;
	while (rd < n) {
		struct tp_seg s;
		bool progress = false;
		ssize_t r;

		/* Send what the offered window allows, in full segments. */
		for (;;) {
			uint32_t edge = c->stack_ack + c->stack_wnd;
			int32_t room = (int32_t)(edge - c->snd_nxt);
			size_t seg = c->peer_eff_mss;

			if (sent >= n || room <= 0)
				break;
			if (seg > n - sent)
				seg = n - sent;
			if (seg > (size_t)room)
				seg = (size_t)room;
			tp_send_data(c, d + sent, seg);
			sent += seg;
			progress = true;
		}
		while (tp_pull(c, &s)) {
			ck_assert_uint_eq(s.flags & (TH_RST | TH_SYN), 0);
			/* The ACK never runs ahead of what was sent. */
			ck_assert_int_le((int32_t)(s.ack - c->snd_nxt), 0);
			progress = true;
		}
		r = tp_read(c->h, c->fd, got + rd, n - rd, 0);
		ck_assert_msg(r > 0 || r == -EAGAIN, "recv() = %zd", r);
		if (r > 0) {
			rd += (size_t)r;
			progress = true;
		}
		if (!progress) {
			ck_assert_msg(++idle < 200, "transfer to the stack stalled at %zu of %zu",
				      rd, n);
			tp_run(c->h, 1000 * STACK_NS_PER_MS);
		} else {
			idle = 0;
		}
	}
	ck_assert_uint_eq(rd, n);
	ck_assert(memcmp(got, d, n) == 0);
	ck_assert_uint_eq(c->snd_nxt - base, n);
	/* Everything is acknowledged sooner or later (delayed ACK). */
	while ((int32_t)(c->stack_ack - c->snd_nxt) < 0) {
		struct tp_seg s;

		ck_assert_msg(tp_wait(c, 1000 * STACK_NS_PER_MS, &s) != STACK_NS_NEVER,
			      "the last data was never acknowledged");
	}
}

/* ---- closing ------------------------------------------------------------------ */

void tp_close_active(struct tp_conn *c)
{
	uint32_t fin_seq = c->rcv_nxt;

	tp_flush(c);
	fin_seq = c->rcv_nxt;
	ck_assert_int_eq(stack_ep_close(c->h->st, c->fd), 0);
	c->fd = -1;
	tp_expect(c, NULL, TH_FIN | TH_ACK, fin_seq, c->snd_nxt, 0);
	tp_send_fin(c); /* ACKs the FIN and sends the peer's */
	tp_expect(c, NULL, TH_ACK, fin_seq + 1, c->snd_nxt, 0);
	c->done = true;
}
