/*
 * timer.c — deadlines driven by the caller's clock.  Timers are embedded in
 * the objects they serve and kept in a red-black tree ordered by deadline;
 * stack_poll() -> timer_run() dispatches each due timer through a table
 * indexed by its kind, every handler the same shape (STYLE.md 8).
 */
#include "priv.h"
#include "tcp.h"

typedef void (*timer_fn)(struct stack *st, struct timer *t);

/* Per-process code table: the arena stores only the index. */
static const timer_fn timer_handlers[TIMER_NKINDS] = {
	[TIMER_FRAG] = frag_timer,
	[TIMER_FAULT_IN] = fault_timer,
	[TIMER_FAULT_OUT] = fault_timer,
	[TIMER_TCP_REXMIT] = tcp_timer_rexmit,
	[TIMER_TCP_DELACK] = tcp_timer_delack,
	[TIMER_TCP_KEEP] = tcp_timer_keep,
	[TIMER_TCP_TW] = tcp_timer_tw,
	[TIMER_TCP_CORK] = tcp_timer_cork,
};

static int timer_cmp(const struct timer *a, const struct timer *b)
{
	if (a->when != b->when)
		return a->when < b->when ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

RB_GENERATE_STATIC(timer_tree, timer, rb, timer_cmp)

void timer_init(struct timer *t, enum timer_kind kind)
{
	memset(t, 0, sizeof(*t));
	t->kind = (uint8_t)kind;
}

void timer_arm(struct stack *st, struct timer *t, stack_ns_t when)
{
	if (t->armed)
		RB_REMOVE(timer_tree, &st->timers, t);
	t->when = when;
	t->seq = ++st->timer_seq;
	t->armed = 1;
	RB_INSERT(timer_tree, &st->timers, t);
}

void timer_cancel(struct stack *st, struct timer *t)
{
	if (!t->armed)
		return;
	RB_REMOVE(timer_tree, &st->timers, t);
	t->armed = 0;
}

void timer_run(struct stack *st)
{
	stack_ns_t now = st->now;
	struct timer *t;

	/* Each handler runs at its own deadline: st->now steps through the
	 * due timers in order, so a clock that jumps (a late wake-up, a test
	 * advancing fake time) gives the same result as one that ticks — a
	 * timer re-armed by its handler fires again if that is still due.
	 * Handlers must arm strictly later than their deadline. */
	while ((t = RB_MIN(timer_tree, &st->timers)) != NULL && t->when <= now) {
		RB_REMOVE(timer_tree, &st->timers, t);
		t->armed = 0;
		if (t->when > st->now)
			st->now = t->when;
		if (t->kind < TIMER_NKINDS && timer_handlers[t->kind])
			timer_handlers[t->kind](st, t);
	}
	st->now = now;
}

stack_ns_t timer_next(const struct stack *st)
{
	struct timer *t = RB_MIN(timer_tree, (struct timer_tree *)&st->timers);

	return t ? t->when : STACK_NS_NEVER;
}
