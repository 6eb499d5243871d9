/*
 * fault.c — the fault-injecting link stage: loss, duplication, corruption,
 * reordering, delay with jitter and a rate limit, in both directions.
 *   in:  stack_link_input -> fault_stage(0) -> iface_input
 *   out: ip output -> iface_output -> fault_stage(1) -> iface_deliver_tx -> txq
 * Every decision comes from the stack's seeded generator and time from
 * st->now, so a run is reproducible; fault_timer releases what waited.
 *
 * Per packet, in this order:
 *   1. loss: freed, counted (ctr.lost, LINK FAULT_LOSS);
 *   2. duplication: a pbuf_copy goes through steps 3-6 as a packet of its
 *      own, after the original (ctr.duplicated; no copy when the pool is
 *      empty, and then nothing is counted);
 *   3. corruption: one random bit flipped (ctr.corrupted); a buffer shared
 *      with another holder (refcnt > 1, e.g. a retransmission queue) is
 *      copied first so only this transmission is damaged (left intact
 *      if no buffer is free for the copy);
 *   4. queue limit: a packet arriving when queue_limit packets already wait
 *      here (queued or held) is dropped (ctr.queue_drops, LINK FAULT_QUEUE);
 *   5. reordering: with reorder_ppm (and no packet held yet) the packet is
 *      held back; the next packet that passes steps 1-4 takes it along:
 *      the held packet is scheduled right behind it, never before it
 *      (ctr.reordered).  A held packet that sees no successor within
 *      reorder_hold_ns goes on its own and is NOT counted as reordered;
 *   6. scheduling: with rate_bps the packet is serialised after the previous
 *      one (start = max(arrival, link_free_at), end = start + len*8/rate);
 *      then it travels delay_ns + uniform [0, jitter_ns]:
 *        release = (rate ? end : arrival) + delay + jitter
 *      (serialisation then propagation, as netem adds them).  Packets wait
 *      in fd->q sorted by release time, equal times in arrival order, so
 *      jitter can reorder packets as a real path can; this is not counted
 *      in ctr.reordered.  A packet due now with nothing due before it is
 *      handed on at once.
 * ctr.passed counts packets handed on, ctr.delayed the packets that spent
 * fake time in the stage (release later than arrival, or held).
 *
 * Counters are cumulative for the life of the interface: setting, changing
 * and clearing the configuration never resets them.  Clearing (NULL) hands
 * on whatever waits at once; fault_flush frees it.
 */
#include <errno.h>

#include "priv.h"

static stack_ns_t add_sat(stack_ns_t a, stack_ns_t b)
{
	return a > STACK_NS_NEVER - b ? STACK_NS_NEVER : a + b;
}

static stack_ns_t max_ns(stack_ns_t a, stack_ns_t b) { return a > b ? a : b; }

/* Uniform in [0, max], max up to 2^64 - 1. */
static uint64_t rand_upto(struct stack *st, uint64_t max)
{
	uint64_t n, threshold, r;

	if (max < UINT32_MAX)
		return rand_below(st, (uint32_t)max + 1);
	if (max == UINT64_MAX)
		return rand_u64(st);
	n = max + 1;
	threshold = -n % n; /* reject the biased low values */
	do
		r = rand_u64(st);
	while (r < threshold);
	return r % n;
}

/* Nanoseconds to send len bytes at rate bits per second, rounded up so
 * the rate is never exceeded.  len <= 65575, so len * 8e9 < 2^50. */
static stack_ns_t tx_time(uint32_t len, uint64_t rate_bps)
{
	uint64_t bits_ns = (uint64_t)len * 8 * STACK_NS_PER_S;

	return bits_ns / rate_bps + (bits_ns % rate_bps != 0);
}

static struct fault_dir *fault_dir_of(struct iface *ifp, int dir) { return &ifp->fault[dir]; }

/* The end of the stage: the link (out) or the protocols (in). */
static void fault_hand_on(struct stack *st, struct iface *ifp, int dir, struct pbuf *p)
{
	ifp->fault[dir].ctr.passed++;
	if (dir == 0)
		iface_input(st, ifp, p);
	else
		iface_deliver_tx(st, ifp, p);
}

/* Release time of p entering the schedule at `arrival` (step 6). */
static stack_ns_t fault_schedule(struct stack *st, struct fault_dir *fd, struct pbuf *p,
				 stack_ns_t arrival)
{
	stack_ns_t t = arrival;

	if (fd->cfg.rate_bps) {
		t = add_sat(max_ns(arrival, fd->link_free_at), tx_time(p->len, fd->cfg.rate_bps));
		fd->link_free_at = t;
	}
	t = add_sat(t, fd->cfg.delay_ns);
	if (fd->cfg.jitter_ns)
		t = add_sat(t, rand_upto(st, fd->cfg.jitter_ns));
	return t;
}

/* Queue p for release at p->t: sorted, stable for equal times.  The usual
 * case (no jitter) appends. */
static void fault_enqueue(struct fault_dir *fd, struct pbuf *p)
{
	struct pbuf *last = STAILQ_LAST(&fd->q, pbuf, next);
	struct pbuf *at;

	fd->qlen++;
	if (!last || last->t <= p->t) {
		STAILQ_INSERT_TAIL(&fd->q, p, next);
		return;
	}
	at = STAILQ_FIRST(&fd->q);
	if (at->t > p->t) {
		STAILQ_INSERT_HEAD(&fd->q, p, next);
		return;
	}
	while (STAILQ_NEXT(at, next) && STAILQ_NEXT(at, next)->t <= p->t)
		at = STAILQ_NEXT(at, next);
	STAILQ_INSERT_AFTER(&fd->q, at, p, next);
}

/* Schedule p (arrived at `arrival`) and queue it; `release_at_least` keeps
 * a held packet behind its successor. */
static void fault_place(struct stack *st, struct fault_dir *fd, struct pbuf *p,
			stack_ns_t arrival, stack_ns_t release_at_least, bool waited)
{
	p->t = max_ns(fault_schedule(st, fd, p, arrival), release_at_least);
	if (waited || p->t > arrival)
		fd->ctr.delayed++;
	fault_enqueue(fd, p);
}

static void fault_arm(struct stack *st, struct fault_dir *fd)
{
	struct pbuf *head = STAILQ_FIRST(&fd->q);
	stack_ns_t next = head ? head->t : STACK_NS_NEVER;

	if (fd->held && fd->held_until < next)
		next = fd->held_until;
	if (next == STACK_NS_NEVER)
		timer_cancel(st, &fd->timer);
	else if (!fd->timer.armed || fd->timer.when != next)
		timer_arm(st, &fd->timer, next);
}

/* Hand on everything due at st->now, in release order; a held packet
 * whose hold expired is scheduled as of its expiry.  Each packet leaves
 * the queue before it is handed on, since handing on may re-enter the
 * stage (an echo request in, its reply out). */
static void fault_run(struct stack *st, struct iface *ifp, int dir)
{
	struct fault_dir *fd = fault_dir_of(ifp, dir);
	struct pbuf *p;

	for (;;) {
		p = STAILQ_FIRST(&fd->q);
		if (fd->held && fd->held_until <= st->now && (!p || fd->held_until < p->t)) {
			struct pbuf *h = fd->held;

			fd->held = NULL;
			fault_place(st, fd, h, fd->held_until, 0, true);
			continue;
		}
		if (!p || p->t > st->now)
			break;
		STAILQ_REMOVE_HEAD(&fd->q, next);
		fd->qlen--;
		fault_hand_on(st, ifp, dir, p);
	}
	fault_arm(st, fd);
}

/* Step 3: flip one bit of p, in a private copy if p is shared.  Returns
 * the packet to go on with (p itself, undamaged, when no copy can be had). */
static struct pbuf *fault_corrupt(struct stack *st, struct fault_dir *fd, struct pbuf *p)
{
	uint32_t bit;

	if (p->refcnt > 1) {
		struct pbuf *c = pbuf_copy(st, p);

		if (!c)
			return p;
		pbuf_free(st, p); /* our reference only */
		p = c;
	}
	bit = rand_below(st, p->len * 8);
	pbuf_data(p)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	fd->ctr.corrupted++;
	return p;
}

/* Steps 3-6 for one packet (an original or its duplicate). */
static void fault_one(struct stack *st, struct iface *ifp, int dir, struct pbuf *p)
{
	struct fault_dir *fd = fault_dir_of(ifp, dir);
	struct pbuf *h;

	if (rand_ppm(st, fd->cfg.corrupt_ppm) && p->len)
		p = fault_corrupt(st, fd, p);
	if (fd->qlen + (fd->held != NULL) >= fd->cfg.queue_limit) {
		fd->ctr.queue_drops++;
		DROP(st, LINK, FAULT_QUEUE);
		pbuf_free(st, p);
		return;
	}
	if (!fd->held && rand_ppm(st, fd->cfg.reorder_ppm)) {
		p->t = st->now; /* while held, t is the arrival time */
		fd->held = p;
		fd->held_until = add_sat(st->now, fd->cfg.reorder_hold_ns);
		return;
	}
	fault_place(st, fd, p, st->now, 0, false);
	if ((h = fd->held) != NULL) {
		/* p overtakes the held packet, which follows right behind. */
		fd->held = NULL;
		fd->ctr.reordered++;
		fault_place(st, fd, h, st->now, p->t, h->t < st->now);
	}
}

void fault_stage(struct stack *st, struct iface *ifp, int dir, struct pbuf *p)
{
	struct fault_dir *fd = fault_dir_of(ifp, dir);
	struct pbuf *dup = NULL;

	if (!ifp->has_fault) { /* cleared: the stage is a wire */
		if (dir == 0)
			iface_input(st, ifp, p);
		else
			iface_deliver_tx(st, ifp, p);
		return;
	}
	/* What fell due before p arrived goes first (and an expired hold
	 * must not be taken along by p). */
	fault_run(st, ifp, dir);
	if (rand_ppm(st, fd->cfg.loss_ppm)) {
		fd->ctr.lost++;
		DROP(st, LINK, FAULT_LOSS);
		pbuf_free(st, p);
		return;
	}
	if (rand_ppm(st, fd->cfg.dup_ppm) && (dup = pbuf_copy(st, p)) != NULL)
		fd->ctr.duplicated++;
	fault_one(st, ifp, dir, p);
	if (dup)
		fault_one(st, ifp, dir, dup);
	fault_run(st, ifp, dir);
}

void fault_timer(struct stack *st, struct timer *t)
{
	int dir = t->kind == TIMER_FAULT_OUT ? 1 : 0;
	struct fault_dir *fd = container_of(t, struct fault_dir, timer);
	struct iface *ifp = container_of(fd - dir, struct iface, fault);

	if (ifp->has_fault)
		fault_run(st, ifp, dir);
}

void fault_flush(struct stack *st, struct iface *ifp)
{
	for (int dir = 0; dir < 2; dir++) {
		struct fault_dir *fd = fault_dir_of(ifp, dir);
		uint64_t n = fd->qlen + (fd->held != NULL);

		timer_cancel(st, &fd->timer);
		pbuf_freeq(st, &fd->q);
		pbuf_free(st, fd->held);
		fd->held = NULL;
		fd->qlen = 0;
		fd->link_free_at = 0;
		/* Every drop has a counter (STYLE.md 7): flushed ones count as
		 * queue drops. */
		fd->ctr.queue_drops += n;
		CTR(st, LINK).drop[STACK_DROP_FAULT_QUEUE] += n;
	}
}

/* Turning the stage off loses nothing: what waits is handed on at once,
 * in release order, out before in (so replies to released input queue
 * behind the output that waited), a held packet last. */
static void fault_clear(struct stack *st, struct iface *ifp)
{
	struct pbufq q[2];
	struct pbuf *held[2], *p;

	for (int dir = 0; dir < 2; dir++) {
		struct fault_dir *fd = fault_dir_of(ifp, dir);

		timer_cancel(st, &fd->timer);
		STAILQ_INIT(&q[dir]);
		STAILQ_CONCAT(&q[dir], &fd->q);
		held[dir] = fd->held;
		fd->held = NULL;
		fd->qlen = 0;
		fd->link_free_at = 0;
	}
	ifp->has_fault = 0;
	for (int dir = 1; dir >= 0; dir--) {
		while ((p = STAILQ_FIRST(&q[dir])) != NULL) {
			STAILQ_REMOVE_HEAD(&q[dir], next);
			fault_hand_on(st, ifp, dir, p);
		}
		if (held[dir])
			fault_hand_on(st, ifp, dir, held[dir]);
	}
}

static bool fault_cfg_ok(const struct stack_fault_dir *c)
{
	return c->loss_ppm <= 1000000 && c->dup_ppm <= 1000000 && c->reorder_ppm <= 1000000 &&
	       c->corrupt_ppm <= 1000000;
}

static void fault_cfg_set(struct fault_dir *fd, const struct stack_fault_dir *c)
{
	fd->cfg = *c;
	if (!fd->cfg.reorder_hold_ns)
		fd->cfg.reorder_hold_ns = OPT_FAULT_REORDER_HOLD_NS;
	if (!fd->cfg.queue_limit)
		fd->cfg.queue_limit = OPT_FAULT_QUEUE_LIMIT;
}

/* Reconfiguring an active stage keeps what waits, with the release times
 * it was given (as `tc qdisc change ... netem` does); a held packet keeps
 * its deadline. */
int stack_if_set_fault(struct stack *st, int ifindex, const struct stack_fault *f)
{
	struct iface *ifp = iface_get(st, ifindex);

	if (!ifp)
		return -ENODEV;
	if (!f) {
		if (ifp->has_fault)
			fault_clear(st, ifp);
		return 0;
	}
	if (!fault_cfg_ok(&f->in) || !fault_cfg_ok(&f->out))
		return -EINVAL;
	if (!ifp->has_fault) {
		for (int dir = 0; dir < 2; dir++) {
			struct fault_dir *fd = fault_dir_of(ifp, dir);

			STAILQ_INIT(&fd->q);
			fd->qlen = 0;
			fd->held = NULL;
			fd->held_until = 0;
			fd->link_free_at = 0;
			timer_init(&fd->timer, dir ? TIMER_FAULT_OUT : TIMER_FAULT_IN);
		}
	}
	fault_cfg_set(&ifp->fault[0], &f->in);
	fault_cfg_set(&ifp->fault[1], &f->out);
	ifp->has_fault = 1;
	return 0;
}

int stack_if_fault_counters(const struct stack *st, int ifindex, int dir,
			    struct stack_fault_counters *out)
{
	const struct iface *ifp = iface_get((struct stack *)st, ifindex);

	if (!ifp)
		return -ENODEV;
	if ((dir != 0 && dir != 1) || !out)
		return -EINVAL;
	*out = ifp->fault[dir].ctr;
	return 0;
}
