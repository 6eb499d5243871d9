/*
 * tcp_path.c — the path and receiver model of the loss-recovery suites (see
 * tcp_path.h).  path_exchange() -> path_pull() (tp_pull_any, the test's
 * fate) and deliver_due() -> receive() -> answer() (tp_out / tp_inject);
 * between events the stack runs on tp_run() and h_advance().
 */
#include "tcp_path.h"

void path_init(struct tcp_path *p, struct harness *h, struct tp_conn *c, stack_ns_t owd,
	       stack_ns_t gap, uint32_t seed)
{
	memset(p, 0, sizeof(*p));
	p->h = h;
	p->c = c;
	p->owd = owd;
	p->gap = gap;
	p->seed = seed;
}

struct tp_cfg path_cfg(int family, stack_ns_t rtt)
{
	struct tp_cfg cfg = tp_cfg(family);

	cfg.sndbuf = 1 << 20;
	cfg.rtt = rtt;
	return cfg;
}

/* ---- the program -------------------------------------------------------- */

void path_start(struct tcp_path *p, const struct tp_cfg *cfg, unsigned nsegs)
{
	struct harness *h = p->h;

	tp_client(p->c, h, cfg);
	if (p->cc)
		ck_assert_int_eq(stack_ep_setopt(h->st, p->c->fd, STACK_SOL_TCP, STACK_TCP_CONGESTION,
						 p->cc, strlen(p->cc)),
				 0);
	p->base = p->c->irs + 1;
	p->total = (size_t)nsegs * p->c->eff_mss;
	ck_assert_uint_le(p->total, sizeof(p->data));
	fill_pattern(p->data, sizeof(p->data), p->seed);
	ck_assert_int_eq(tp_setint(h, p->c->fd, STACK_SOL_TCP, STACK_TCP_NODELAY, 1), 0);
	ck_assert_int_eq(tp_write(h, p->c->fd, p->data, p->total, 0), (ssize_t)p->total);
}

void path_more(struct tcp_path *p, unsigned n)
{
	size_t add = (size_t)n * p->c->eff_mss;

	ck_assert_uint_le(p->total + add, sizeof(p->data));
	ck_assert_int_eq(tp_write(p->h, p->c->fd, p->data + p->total, add, 0), (ssize_t)add);
	p->total += add;
}

void path_finish(struct tcp_path *p)
{
	ck_assert(memcmp(p->rxd, p->data, p->total) == 0);
	p->c->rcv_nxt = p->base + (uint32_t)p->total;
	tp_close_active(p->c);
}

/* ---- the receiver ---------------------------------------------------------- */

uint32_t path_cum(const struct tcp_path *p)
{
	uint32_t i = 0;

	while (i < p->total && p->have[i])
		i++;
	return i;
}

static struct path_ev *ev_new(struct tcp_path *p, stack_ns_t t)
{
	ck_assert_uint_lt(p->nev, PATH_EV_MAX);
	memset(&p->ev[p->nev], 0, sizeof(p->ev[0]));
	p->ev[p->nev].t = t;
	return &p->ev[p->nev++];
}

/* The receiver's ACK as it is now: cumulative, then a D-SACK block if the
 * segment [ds, de) was a duplicate, the block of the latest arrival, the
 * others from the top.  It reaches the stack OWD later. */
static void answer(struct tcp_path *p, bool dup, uint32_t ds, uint32_t de)
{
	struct tp_conn *c = p->c;
	struct tp_out o = tp_out(c, TH_ACK);
	struct tp_opts op = o.o ? *o.o : (struct tp_opts){0};
	uint32_t a = path_cum(p), i;
	struct path_ev *e;

	o.ack = p->base + a;
	if (c->sack) {
		unsigned max = c->ts ? 3 : 4;

		if (dup && op.nsack < max) {
			op.sack[op.nsack][0] = p->base + ds;
			op.sack[op.nsack][1] = p->base + de;
			op.nsack++;
		}
		if (op.nsack < max && p->last_e > a && p->last_s >= a) {
			uint32_t s = p->last_s, en = p->last_e;

			while (s > a && p->have[s - 1])
				s--;
			while (en < p->total && p->have[en])
				en++;
			op.sack[op.nsack][0] = p->base + s;
			op.sack[op.nsack][1] = p->base + en;
			op.nsack++;
		}
		/* the other blocks, highest first */
		for (i = (uint32_t)p->total; i > a && op.nsack < max;) {
			uint32_t en, s;

			while (i > a && !p->have[i - 1])
				i--;
			if (i <= a)
				break;
			en = i;
			while (i > a && p->have[i - 1])
				i--;
			s = i;
			if (!(p->last_e > a && s <= p->last_s && en >= p->last_e)) {
				op.sack[op.nsack][0] = p->base + s;
				op.sack[op.nsack][1] = p->base + en;
				op.nsack++;
			}
		}
	}
	if (p->owd == 0) {
		o.o = &op;
		tp_inject(c, &o);
		return;
	}
	e = ev_new(p, p->h->now + p->owd);
	e->ack = true;
	e->opts = op;
	e->out = o;
}

/* Data [seq, seq + len) reaches the receiver. */
static void receive(struct tcp_path *p, uint32_t seq, const uint8_t *d, uint32_t len, bool ts_on,
		    uint32_t tsval)
{
	uint32_t off = seq - p->base, end = off + len;
	bool dup = true;

	ck_assert_uint_le(end, p->total);
	for (uint32_t i = off; i < end; i++) {
		if (!p->have[i])
			dup = false;
		p->have[i] = 1;
		p->rxd[i] = d[i - off];
	}
	/* RFC 7323 §4.3: TS.Recent from a segment at or below the left edge */
	if (ts_on && (int32_t)(seq - (p->base + path_cum(p))) <= 0)
		p->c->ts_recent = tsval;
	if (!dup) {
		p->last_s = off;
		p->last_e = end;
	}
	answer(p, dup, off, end);
}

void path_take(struct tcp_path *p, const struct tp_seg *s)
{
	receive(p, s->seq, s->data, (uint32_t)s->len, s->o.ts_on, s->o.tsval);
}

/* ---- the path ----------------------------------------------------------------- */

stack_ns_t path_pass_all(uint32_t k, unsigned n)
{
	(void)k;
	(void)n;
	return 0;
}

/* What the stack sent leaves, in order, and goes on the path; what
 * arrives the moment it leaves (OWD 0, no gap, no delay) is taken now. */
static void path_pull(struct tcp_path *p, path_fate_fn f)
{
	struct harness *h = p->h;
	struct tp_seg s;

	while (tp_pull_any(h, &s)) {
		uint32_t off, k;
		unsigned n;
		stack_ns_t extra, leave, at;
		struct path_ev *e;

		ck_assert_uint_eq(s.flags & (TH_RST | TH_SYN), 0);
		if (!s.len)
			continue;
		off = s.seq - p->base;
		k = off / p->c->eff_mss;
		ck_assert_uint_le(k, PATH_SEGS_MAX);
		n = p->sent[k]++;
		if (n)
			p->rexmits++;
		if (n < 4)
			p->sent_at[k][n] = h->now;
		leave = (p->link_free > h->now ? p->link_free : h->now) + p->gap;
		p->link_free = leave;
		extra = f(k, n);
		if (extra == PATH_DROP)
			continue;
		if (extra == PATH_HOLD) {
			ck_assert(!p->holding);
			p->held = s;
			p->holding = true;
			continue;
		}
		at = leave + p->owd + extra;
		if (at <= h->now) {
			path_take(p, &s);
			continue;
		}
		ck_assert_uint_le(s.len, sizeof(e->payload));
		e = ev_new(p, at);
		e->seq = s.seq;
		e->len = (uint32_t)s.len;
		e->ts_on = s.o.ts_on;
		e->tsval = s.o.tsval;
		memcpy(e->payload, s.data, s.len);
	}
}

/* Deliver every event due now, earliest first. */
static bool deliver_due(struct tcp_path *p)
{
	bool any = false;

	for (;;) {
		unsigned best = p->nev;

		for (unsigned i = 0; i < p->nev; i++)
			if (p->ev[i].t <= p->h->now &&
			    (best == p->nev || p->ev[i].t < p->ev[best].t))
				best = i;
		if (best == p->nev)
			return any;
		struct path_ev e = p->ev[best];

		p->ev[best] = p->ev[--p->nev];
		any = true;
		if (e.ack) {
			e.out.o = &e.opts;
			tp_inject(p->c, &e.out);
		} else {
			receive(p, e.seq, e.payload, e.len, e.ts_on, e.tsval);
		}
	}
}

static stack_ns_t next_event(const struct tcp_path *p)
{
	stack_ns_t t = STACK_NS_NEVER;

	for (unsigned i = 0; i < p->nev; i++)
		if (p->ev[i].t < t)
			t = p->ev[i].t;
	return t;
}

void path_exchange(struct tcp_path *p, path_fate_fn f, stack_ns_t limit)
{
	struct harness *h = p->h;
	stack_ns_t end = h->now + limit;

	for (;;) {
		stack_ns_t t;

		path_pull(p, f);
		if (path_cum(p) == p->total && stack_ep_unsent(h->st, p->c->fd) == 0 && p->nev == 0)
			return;
		ck_assert_msg(h->now < end, "stalled: %u of %zu bytes acknowledged", path_cum(p),
			      p->total);
		if (deliver_due(p))
			continue;
		t = next_event(p);
		if (t > end)
			t = end;
		if (t > h->now && tp_run(h, t - h->now) != STACK_NS_NEVER)
			continue; /* the stack sent something first */
		if (h->now < t)
			h_advance(h, t - h->now);
	}
}
