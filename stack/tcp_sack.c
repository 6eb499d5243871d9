/*
 * tcp_sack.c — the sender's SACK scoreboard (RFC 2018, RFC 6675).
 * ack_input() hands it the SACK blocks of each ACK; it keeps what the
 * peer holds above snd_una as sorted, disjoint ranges (at most
 * OPT_TCP_SACK_BLOCKS), and answers RFC 6675 §4's questions for
 * tcp_output(): IsLost() (as an edge below which everything un-SACKed is
 * lost), SetPipe(), NextSeg() rules 1 and 3, and which ranges a go-back
 * retransmission after a timeout skips.  D-SACK blocks (RFC 2883) are
 * recognised and only counted here; the undo logic uses them.
 */
#include "tcp.h"

void tcp_sack_reset(struct tcb *tp)
{
	tp->sb_n = 0;
	tp->sacked_bytes = 0;
}

void tcp_sack_clean(struct tcb *tp)
{
	unsigned k = 0;

	for (unsigned i = 0; i < tp->sb_n; i++) {
		struct tcp_sackblk b = tp->sb[i];

		if (SEQ_LEQ(b.end, tp->snd_una)) {
			tp->sacked_bytes -= b.end - b.start;
			continue;
		}
		if (SEQ_LT(b.start, tp->snd_una)) {
			tp->sacked_bytes -= tp->snd_una - b.start;
			b.start = tp->snd_una;
		}
		tp->sb[k++] = b;
	}
	tp->sb_n = (uint8_t)k;
}

/* Merge [s, e) into the scoreboard; returns the bytes that were new. */
static uint32_t sb_add(struct stack *st, struct tcb *tp, uint32_t s, uint32_t e)
{
	struct tcp_sackblk out[OPT_TCP_SACK_BLOCKS + 1];
	unsigned i = 0, k = 0;
	uint32_t covered = 0, ms = s, me = e;

	while (i < tp->sb_n && SEQ_LT(tp->sb[i].end, s))
		out[k++] = tp->sb[i++];
	/* every block that overlaps or touches [s, e) joins it */
	while (i < tp->sb_n && SEQ_LEQ(tp->sb[i].start, me)) {
		covered += tp->sb[i].end - tp->sb[i].start;
		ms = SEQ_MIN(ms, tp->sb[i].start);
		me = SEQ_MAX(me, tp->sb[i].end);
		i++;
	}
	out[k].start = ms;
	out[k].end = me;
	k++;
	while (i < tp->sb_n)
		out[k++] = tp->sb[i++];
	tp->sacked_bytes += (me - ms) - covered;
	if (k > OPT_TCP_SACK_BLOCKS) {
		/* forget the highest range: it is the least urgent */
		k--;
		tp->sacked_bytes -= out[k].end - out[k].start;
		DROP(st, TCP, TCP_SACK_FULL);
	}
	memcpy(tp->sb, out, k * sizeof(out[0]));
	tp->sb_n = (uint8_t)k;
	return (me - ms) - covered;
}

uint32_t tcp_sack_input(struct stack *st, struct tcb *tp, const struct tcp_opts *o, uint32_t ack,
			struct tcp_sackblk *ds, bool *dsack)
{
	uint32_t newly = 0;

	for (unsigned i = 0; i < o->nsack; i++) {
		uint32_t s = o->sack[i][0], e = o->sack[i][1];

		/* Linux's tcp_is_sackblock_valid: a non-empty range within
		 * what we have sent, not older than one window below snd_una */
		if (!SEQ_LT(s, e) || SEQ_GT(e, tp->snd_max) ||
		    SEQ_LT(s, tp->snd_una - (tp->max_sndwnd > 65535 ? tp->max_sndwnd : 65535))) {
			DROP(st, TCP, TCP_SACK_INVALID);
			continue;
		}
		/* RFC 2883 §4: the first block reports a duplicate when it
		 * lies below the cumulative ACK or inside the second block */
		if (i == 0 && (SEQ_LEQ(e, ack) ||
			       (o->nsack > 1 && SEQ_GEQ(s, o->sack[1][0]) &&
				SEQ_LEQ(e, o->sack[1][1])))) {
			ds->start = s;
			ds->end = e;
			*dsack = true;
			continue;
		}
		if (SEQ_LEQ(e, tp->snd_una))
			continue; /* old news */
		if (SEQ_LT(s, tp->snd_una))
			s = tp->snd_una;
		newly += sb_add(st, tp, s, e);
	}
	return newly;
}

uint32_t tcp_sack_lost_edge(const struct tcb *tp)
{
	uint32_t bytes = 0, mss = tp->mss ? tp->mss : 1;

	/* RFC 6675 §4 IsLost(SeqNum): more than (DupThresh - 1) * SMSS
	 * bytes, or DupThresh discontiguous ranges, SACKed above it.  Both
	 * only grow as SeqNum falls, so one edge answers for all. */
	uint32_t edge = tp->snd_una;

	if (tp->rto_rec)
		return tp->snd_max; /* after a timeout: everything */
	for (int i = tp->sb_n - 1; i >= 0; i--) {
		bytes += tp->sb[i].end - tp->sb[i].start;
		if (bytes > (OPT_TCP_DUPTHRESH - 1) * mss || tp->sb_n - i >= OPT_TCP_DUPTHRESH) {
			edge = tp->sb[i].start;
			break;
		}
	}
	/* a tail loss probe that arrived proves what was sent before it
	 * lost (RFC 8985 §7.4: the probe was sent a PTO after the rest) */
	if (SEQ_GT(tp->lost_hint, edge) && SEQ_LEQ(tp->lost_hint, tcp_sack_high(tp)))
		edge = tp->lost_hint;
	return edge;
}

bool tcp_sack_has(const struct tcb *tp, uint32_t seq)
{
	for (unsigned i = 0; i < tp->sb_n; i++)
		if (SEQ_GEQ(seq, tp->sb[i].start) && SEQ_LT(seq, tp->sb[i].end))
			return true;
	return false;
}

/* Walk the holes [snd_una, snd_max) leaves between SACKed ranges:
 * hole i ends where block i starts; the last one ends at snd_max. */
static void hole(const struct tcb *tp, unsigned i, uint32_t *s, uint32_t *e)
{
	*s = i == 0 ? tp->snd_una : tp->sb[i - 1].end;
	*e = i < tp->sb_n ? tp->sb[i].start : tp->snd_max;
}

static uint32_t overlap(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	uint32_t s = SEQ_MAX(a, c), e = SEQ_MIN(b, d);

	return SEQ_LT(s, e) ? e - s : 0;
}

uint32_t tcp_sack_pipe(const struct tcb *tp)
{
	uint32_t lost = tcp_sack_lost_edge(tp), pipe = 0;

	/* RFC 6675 §4 SetPipe(): an un-SACKed byte counts once unless it
	 * is lost, and once more if it was retransmitted (below HighRxt). */
	for (unsigned i = 0; i <= tp->sb_n; i++) {
		uint32_t s, e;

		hole(tp, i, &s, &e);
		if (!SEQ_LT(s, e))
			continue;
		pipe += overlap(s, e, lost, tp->snd_max);
		/* resent, less what was found lost and not yet sent again */
		pipe += overlap(s, e, tp->snd_una, tp->high_rxt) -
			overlap(s, e, SEQ_MAX(tp->redo, tp->snd_una), SEQ_MIN(tp->redo_end, tp->high_rxt));
	}
	return pipe;
}

uint32_t tcp_sack_bytes_in(const struct tcb *tp, uint32_t a, uint32_t b)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < tp->sb_n; i++)
		n += overlap(tp->sb[i].start, tp->sb[i].end, a, b);
	return n;
}

uint32_t tcp_sack_block_below(const struct tcb *tp, uint32_t seq)
{
	uint32_t s = tp->snd_una;

	for (unsigned i = 0; i < tp->sb_n && SEQ_LT(tp->sb[i].start, seq); i++)
		s = tp->sb[i].start;
	return s;
}

/* The first un-SACKed byte in [from, limit) among the first n holes. */
static bool first_hole(const struct tcb *tp, uint32_t from, uint32_t limit, unsigned n,
		       uint32_t *seq, uint32_t *end)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t s, e;

		hole(tp, i, &s, &e);
		s = SEQ_MAX(s, from);
		e = SEQ_MIN(e, limit);
		if (SEQ_LT(s, e)) {
			*seq = s;
			*end = e;
			return true;
		}
	}
	return false;
}

bool tcp_sack_next(const struct tcb *tp, bool lost_only, uint32_t *seq, uint32_t *end)
{
	uint32_t limit = lost_only ? tcp_sack_lost_edge(tp) : tcp_sack_high(tp);

	/* resends found lost go again first (below HighRxt) */
	if (lost_only && first_hole(tp, SEQ_MAX(tp->redo, tp->snd_una), tp->redo_end,
				    tp->sb_n + 1u, seq, end))
		return true;
	/* only the holes below the highest SACKed byte (RFC 6675 §4); after
	 * a timeout the tail above it too */
	return first_hole(tp, SEQ_MAX(tp->snd_una, tp->high_rxt), limit,
			  tp->sb_n + (tp->rto_rec ? 1u : 0u), seq, end);
}

uint32_t tcp_sack_skip(const struct tcb *tp, uint32_t seq, uint32_t *end)
{
	for (unsigned i = 0; i < tp->sb_n; i++) {
		if (SEQ_LT(seq, tp->sb[i].start)) {
			*end = tp->sb[i].start;
			return seq;
		}
		if (SEQ_LT(seq, tp->sb[i].end))
			seq = tp->sb[i].end;
	}
	*end = tp->snd_max;
	return seq;
}
