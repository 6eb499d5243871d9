/*
 * tcp_sack.c — the sender's scoreboard (RFC 2018, RFC 2883, RFC 6675) as
 * one transmission record per segment in flight (RFC 8985 §6.1).
 *   tcp_send_segment -> tcp_tx_sent()       a segment went out (or again)
 *   ack_input        -> tcp_tx_acked()      the cumulative ACK moved
 *                    -> tcp_sack_input()    the ACK's SACK blocks
 *   tcp_rack.c       -> tcp_tx_mark_lost()  RACK or a timeout says lost
 *   tcp_output       -> tcp_sack_pipe(), tcp_sack_next_lost()
 * Each record knows when it was last sent and whether the peer SACKed
 * it, it was found lost, or a resend of it is in flight; byte totals over
 * those flags give RFC 6675's SetPipe() in constant time.  Newly
 * delivered records (cumulatively ACKed or SACKed for the first time)
 * are handed to RACK (tcp_rack_delivered) and to the delivery-rate
 * estimate (tcp_rate_delivered).  Records come from a pool in
 * the arena (OPT_TCP_TXRECS_PER_PBUF per small packet buffer), and every
 * tcb holds one of its own, so a connection can always describe what it
 * has in flight; when the pool is empty new data extends the last record
 * (coarser times, counted) or waits for an ACK, and a SACK block that
 * covers part of a record is not split (the record stays un-SACKed: a
 * resend at worst).
 */
#include "tcp.h"

/* ---- the pool --------------------------------------------------------------- */

void tcp_txrec_pool_init(struct stack *st, struct tcp_txrec *recs, uint32_t n)
{
	TAILQ_INIT(&st->txrec_free);
	st->txrecs = recs;
	st->txrec_total = n;
	st->txrec_used = 0;
	for (uint32_t i = 0; i < n; i++) {
		memset(&recs[i], 0, sizeof(recs[i]));
		TAILQ_INSERT_TAIL(&st->txrec_free, &recs[i], link);
	}
}

static struct tcp_txrec *rec_get(struct stack *st, struct tcb *tp)
{
	struct tcp_txrec *r = TAILQ_FIRST(&st->txrec_free);

	if (r) {
		TAILQ_REMOVE(&st->txrec_free, r, link);
		st->txrec_used++;
		r->flags = 0;
		return r;
	}
	if (!(tp->txr_reserve.flags & TXR_RESERVE)) {
		tp->txr_reserve.flags = TXR_RESERVE;
		return &tp->txr_reserve;
	}
	return NULL;
}

static void rec_put(struct stack *st, struct tcb *tp, struct tcp_txrec *r)
{
	if (r == &tp->txr_reserve) {
		r->flags = 0;
		return;
	}
	r->flags = 0;
	TAILQ_INSERT_HEAD(&st->txrec_free, r, link);
	st->txrec_used--;
}

static bool rec_available(const struct stack *st, const struct tcb *tp)
{
	return !TAILQ_EMPTY(&st->txrec_free) || !(tp->txr_reserve.flags & TXR_RESERVE);
}

/* ---- accounting --------------------------------------------------------------- */

static uint32_t rec_len(const struct tcp_txrec *r) { return r->end - r->start; }

/* Add (sign 1) or take away (sign -1) what a record contributes to the
 * byte totals, around every change of its flags or extent. */
static void acct(struct tcb *tp, const struct tcp_txrec *r, int sign)
{
	uint32_t n = rec_len(r);

	if (sign < 0)
		n = 0u - n;
	if (r->flags & TXR_SACKED) {
		tp->sacked_bytes += n;
		return;
	}
	if (r->flags & TXR_LOST)
		tp->lost_bytes += n;
	if (r->flags & TXR_RXT)
		tp->rxt_bytes += n;
	if ((r->flags & (TXR_LOST | TXR_RXT)) == TXR_LOST)
		tp->lost_wait += n;
}

static void untime(struct tcb *tp, struct tcp_txrec *r)
{
	if (r->flags & TXR_TIMED) {
		TAILQ_REMOVE(&tp->txtq, r, tlink);
		r->flags &= (uint8_t)~TXR_TIMED;
	}
}

/* Sent now: the newest on the time list. */
static void time_now(struct stack *st, struct tcb *tp, struct tcp_txrec *r)
{
	untime(tp, r);
	r->xmit_ts = st->now;
	r->order = tp->tx_order++;
	TAILQ_INSERT_TAIL(&tp->txtq, r, tlink);
	r->flags |= TXR_TIMED;
}

/* Back on the time list at its place (its time is an old one). */
static void time_insert(struct tcb *tp, struct tcp_txrec *r)
{
	struct tcp_txrec *q;

	if (r->flags & TXR_TIMED)
		return;
	TAILQ_FOREACH_REVERSE(q, &tp->txtq, txrec_list, tlink)
		if (q->xmit_ts < r->xmit_ts ||
		    (q->xmit_ts == r->xmit_ts && (int32_t)(q->order - r->order) < 0))
			break;
	if (q)
		TAILQ_INSERT_AFTER(&tp->txtq, q, r, tlink);
	else
		TAILQ_INSERT_HEAD(&tp->txtq, r, tlink);
	r->flags |= TXR_TIMED;
}

static void rec_free(struct stack *st, struct tcb *tp, struct tcp_txrec *r)
{
	acct(tp, r, -1);
	untime(tp, r);
	TAILQ_REMOVE(&tp->txq, r, link);
	tp->txrec_n--;
	rec_put(st, tp, r);
}

void tcp_tx_init(struct tcb *tp)
{
	TAILQ_INIT(&tp->txq);
	TAILQ_INIT(&tp->txtq);
	tp->txrec_n = 0;
	tp->sacked_bytes = tp->lost_bytes = tp->rxt_bytes = tp->lost_wait = 0;
	tp->txr_reserve.flags = 0;
}

void tcp_tx_free_all(struct stack *st, struct tcb *tp)
{
	struct tcp_txrec *r;

	while ((r = TAILQ_FIRST(&tp->txq)) != NULL)
		rec_free(st, tp, r);
	tcp_tx_init(tp);
}

/* ---- transmissions ---------------------------------------------------------- */

/* A plain record in flight, sent once: new data may join it. */
static bool extendable(const struct tcp_txrec *r)
{
	return r && !(r->flags & (TXR_SACKED | TXR_LOST | TXR_RXT | TXR_EVER));
}

bool tcp_tx_can_send_new(const struct stack *st, const struct tcb *tp)
{
	return !tp->sack_ok || rec_available(st, tp) || extendable(TAILQ_LAST(&tp->txq, txrec_list));
}

static void new_data(struct stack *st, struct tcb *tp, uint32_t seq, uint32_t end)
{
	struct tcp_txrec *last = TAILQ_LAST(&tp->txq, txrec_list), *r;

	if (last && last->end != seq) {
		/* never expected: the records must cover [snd_una, snd_max) */
		st->ctr.tcp_txrec_short++;
		return;
	}
	r = rec_get(st, tp);
	if (!r) {
		/* the pool is empty: one record for both, with the later
		 * time (RACK then judges the older part later, never sooner);
		 * one that cannot take new data gives up what it knew */
		st->ctr.tcp_txrec_short++;
		acct(tp, last, -1);
		last->flags &= (uint8_t)~(TXR_SACKED | TXR_LOST | TXR_RXT);
		last->end = end;
		acct(tp, last, 1);
		time_now(st, tp, last);
		return;
	}
	r->start = seq;
	r->end = end;
	tcp_rate_sent(st, tp, r);
	TAILQ_INSERT_TAIL(&tp->txq, r, link);
	tp->txrec_n++;
	time_now(st, tp, r);
	acct(tp, r, 1);
}

/* r went out again (RFC 8985 §6.1: Segment.xmit_ts, .retransmitted). */
static void resent(struct stack *st, struct tcb *tp, struct tcp_txrec *r)
{
	r->flags |= TXR_EVER;
	if (r->flags & TXR_SACKED) {
		r->xmit_ts = st->now; /* the peer has it: nothing to watch */
		r->order = tp->tx_order++;
		return;
	}
	tcp_rate_sent(st, tp, r);
	acct(tp, r, -1);
	r->flags |= TXR_RXT;
	acct(tp, r, 1);
	time_now(st, tp, r);
}

void tcp_tx_sent(struct stack *st, struct tcb *tp, uint32_t seq, uint32_t end)
{
	struct tcp_txrec *r;

	if (!tp->sack_ok || seq == end)
		return;
	if (SEQ_GEQ(seq, tp->snd_max)) {
		new_data(st, tp, seq, end);
		return;
	}
	TAILQ_FOREACH(r, &tp->txq, link) {
		if (SEQ_GEQ(r->start, end))
			break;
		if (SEQ_GT(r->end, seq))
			resent(st, tp, r);
	}
	if (SEQ_GT(end, tp->snd_max))
		new_data(st, tp, tp->snd_max, end);
}

/* ---- what the peer says ---------------------------------------------------------- */

void tcp_tx_acked(struct stack *st, struct tcb *tp, struct tcp_ackstate *as)
{
	struct tcp_txrec *r;

	while ((r = TAILQ_FIRST(&tp->txq)) != NULL && SEQ_LEQ(r->end, tp->snd_una)) {
		if (!(r->flags & TXR_SACKED)) {
			tcp_rack_delivered(st, tp, r, true, as);
			tcp_rate_delivered(st, tp, r, as);
		}
		rec_free(st, tp, r);
	}
	if (r && SEQ_LT(r->start, tp->snd_una)) {
		/* part of a record: what is left stays as it was */
		acct(tp, r, -1);
		r->start = tp->snd_una;
		acct(tp, r, 1);
	}
	if (SEQ_LT(tp->sack_high, tp->snd_una))
		tp->sack_high = tp->snd_una;
}

/* Split r at seq (inside it): r keeps [start, seq), a new record after it
 * takes [seq, end) with the same flags and time.  False if no record. */
static bool split(struct stack *st, struct tcb *tp, struct tcp_txrec *r, uint32_t seq)
{
	struct tcp_txrec *n = rec_get(st, tp);
	uint8_t reserve;

	if (!n)
		return false;
	reserve = n->flags & TXR_RESERVE;
	acct(tp, r, -1);
	*n = *r; /* times, order, delivery state; the links are set below */
	n->start = seq;
	n->flags = (uint8_t)(reserve | (r->flags & ~(TXR_TIMED | TXR_RESERVE)));
	r->end = seq;
	TAILQ_INSERT_AFTER(&tp->txq, r, n, link);
	tp->txrec_n++;
	if (r->flags & TXR_TIMED) {
		TAILQ_INSERT_AFTER(&tp->txtq, r, n, tlink);
		n->flags |= TXR_TIMED;
	}
	acct(tp, r, 1);
	acct(tp, n, 1);
	return true;
}

/* A peer may split records only so far: about two per segment in flight
 * (an honest one SACKs whole segments and splits none). */
static bool may_split(const struct tcb *tp)
{
	uint32_t mss = tp->mss ? tp->mss : 1;

	return tp->txrec_n < 2 * ((tp->snd_max - tp->snd_una) / mss) + 16;
}

static void sacked(struct stack *st, struct tcb *tp, struct tcp_txrec *r, struct tcp_ackstate *as)
{
	tcp_rack_delivered(st, tp, r, false, as);
	tcp_rate_delivered(st, tp, r, as);
	acct(tp, r, -1);
	r->flags = (uint8_t)((r->flags & ~(TXR_LOST | TXR_RXT)) | TXR_SACKED);
	acct(tp, r, 1);
	untime(tp, r);
	if (SEQ_GT(r->end, tp->sack_high))
		tp->sack_high = r->end;
}

/* Mark the records inside [s, e) SACKed; returns the bytes newly so.
 * The walk starts from the top: new SACK information is mostly about
 * the latest segments. */
static uint32_t sack_range(struct stack *st, struct tcb *tp, uint32_t s, uint32_t e,
			   struct tcp_ackstate *as)
{
	struct tcp_txrec *r = TAILQ_LAST(&tp->txq, txrec_list), *prev;
	uint32_t newly = 0;

	while (r && SEQ_GEQ(r->start, e))
		r = TAILQ_PREV(r, txrec_list, link);
	for (; r && SEQ_GT(r->end, s); r = prev) {
		prev = TAILQ_PREV(r, txrec_list, link);
		if (r->flags & TXR_SACKED)
			continue;
		if (SEQ_GT(r->end, e)) {
			if (!may_split(tp) || !split(st, tp, r, e)) {
				DROP(st, TCP, TCP_SACK_FULL);
				continue;
			}
		}
		if (SEQ_LT(r->start, s)) {
			if (!may_split(tp) || !split(st, tp, r, s)) {
				DROP(st, TCP, TCP_SACK_FULL);
				continue;
			}
			prev = r; /* the new record after r is the SACKed part */
			r = TAILQ_NEXT(r, link);
		}
		newly += rec_len(r);
		sacked(st, tp, r, as);
	}
	return newly;
}

/* The part of [*s, *e) not already reported in the previous ACK's blocks
 * (Linux's recv_sack_cache): false if nothing is left. */
static bool sack_uncached(const struct tcb *tp, uint32_t *s, uint32_t *e)
{
	for (unsigned i = 0; i < tp->sack_cache_n; i++) {
		uint32_t cs = tp->sack_cache[i].start, ce = tp->sack_cache[i].end;

		if (SEQ_LEQ(cs, *s) && SEQ_GEQ(ce, *e))
			return false;
		if (SEQ_LEQ(cs, *s) && SEQ_GT(ce, *s))
			*s = ce;
		else if (SEQ_LT(cs, *e) && SEQ_GEQ(ce, *e) && SEQ_GT(cs, *s))
			*e = cs;
	}
	return SEQ_LT(*s, *e);
}

uint32_t tcp_sack_input(struct stack *st, struct tcb *tp, const struct tcp_opts *o, uint32_t ack,
			struct tcp_sackblk *ds, bool *dsack, struct tcp_ackstate *as)
{
	struct tcp_sackblk seen[4];
	unsigned nseen = 0;
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
		seen[nseen].start = s;
		seen[nseen].end = e;
		nseen++;
		if (sack_uncached(tp, &s, &e))
			newly += sack_range(st, tp, s, e, as);
	}
	memcpy(tp->sack_cache, seen, nseen * sizeof(seen[0]));
	tp->sack_cache_n = (uint8_t)nseen;
	return newly;
}

void tcp_sack_reset(struct tcb *tp)
{
	struct tcp_txrec *r;

	/* RFC 2018 §8: the peer may drop what it SACKed; until its
	 * cumulative ACK covers them, such records are as good as lost */
	TAILQ_FOREACH(r, &tp->txq, link) {
		if (!(r->flags & TXR_SACKED))
			continue;
		acct(tp, r, -1);
		r->flags = (uint8_t)((r->flags & ~TXR_SACKED) | TXR_LOST);
		acct(tp, r, 1);
	}
	tp->sack_high = tp->snd_una;
	tp->sack_cache_n = 0;
}

bool tcp_tx_mark_lost(struct stack *st, struct tcb *tp, struct tcp_txrec *r)
{
	bool was_rxt = r->flags & TXR_RXT;

	if (r->flags & TXR_SACKED)
		return false;
	acct(tp, r, -1);
	r->flags = (uint8_t)((r->flags & ~TXR_RXT) | TXR_LOST);
	acct(tp, r, 1);
	untime(tp, r);
	if (was_rxt) {
		/* a resend that was itself lost (Linux TCPLostRetransmit):
		 * the episode was real, no undo */
		tp->undo_ok = 0;
		tp->lost_segs++;
		st->ctr.tcp_lost_retrans++;
	}
	return true;
}

void tcp_tx_unmark_lost(struct tcb *tp)
{
	struct tcp_txrec *r;

	TAILQ_FOREACH(r, &tp->txq, link) {
		if ((r->flags & (TXR_SACKED | TXR_LOST)) != TXR_LOST)
			continue;
		acct(tp, r, -1);
		r->flags &= (uint8_t)~TXR_LOST;
		acct(tp, r, 1);
		time_insert(tp, r);
	}
}

void tcp_tx_resends_lost(struct tcb *tp)
{
	struct tcp_txrec *r;

	TAILQ_FOREACH(r, &tp->txq, link) {
		if ((r->flags & (TXR_SACKED | TXR_RXT)) != TXR_RXT)
			continue;
		acct(tp, r, -1);
		r->flags = (uint8_t)((r->flags & ~TXR_RXT) | TXR_LOST);
		acct(tp, r, 1);
		untime(tp, r);
	}
}

/* ---- RFC 6675 §4 for tcp_output ----------------------------------------------------- */

uint32_t tcp_sack_pipe(const struct tcb *tp)
{
	/* SetPipe(): what was sent and is not SACKed counts once unless it
	 * is lost, and once more while a resend of it is in flight (Linux's
	 * packets_out - sacked_out - lost_out + retrans_out) */
	uint32_t out = tp->snd_max - tp->snd_una;
	uint32_t gone = tp->sacked_bytes + tp->lost_bytes;

	return (out > gone ? out - gone : 0) + tp->rxt_bytes;
}

struct tcp_txrec *tcp_sack_next_lost(const struct tcb *tp, struct tcp_txrec *after)
{
	struct tcp_txrec *r = after ? TAILQ_NEXT(after, link) : TAILQ_FIRST(&tp->txq);

	if (!tp->lost_wait)
		return NULL;
	for (; r; r = TAILQ_NEXT(r, link))
		if ((r->flags & (TXR_SACKED | TXR_LOST | TXR_RXT)) == TXR_LOST)
			return r;
	return NULL;
}
