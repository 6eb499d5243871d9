/*
 * tcp.c — TCP's endpoint side (RFC 9293 §3.10.1-§3.10.6): connect, listen,
 * accept, send, receive, shutdown, close, options and readiness, with the
 * errno values Linux gives; the connection tables (hash, listeners,
 * TIME_WAIT).  Called from ep.c; calls tcp_output.c and tcp_timer.c.
 */
#include <errno.h>

#include "tcp.h"
#include "wire.h"

struct tcb *tcb_of(struct stack *st, struct ep *e) { return &st->tcbs[ep_handle(st, e)]; }
struct ep *ep_of_tcb(struct stack *st, struct tcb *tp) { return &st->eps[tp - st->tcbs]; }

bool ep_is_listening(struct stack *st, const struct ep *e)
{
	return e->type == STACK_SOCK_STREAM && st->tcbs[ep_handle(st, e)].state == TCPS_LISTEN;
}

static void unwait(struct stack *st, struct tcb *tp);
static void window_update(struct stack *st, struct tcb *tp);

/* ---- tables ------------------------------------------------------------- */

static uint32_t tuple_hash(const struct stack *st, int family, const uint8_t *raddr,
			   uint16_t lport, uint16_t rport)
{
	uint32_t h = st->tcp_isn_key[3] ^ ((uint32_t)lport << 16 | rport);

	for (size_t i = 0; i < addr_len(family); i++)
		h = (h ^ raddr[i]) * 16777619u;
	h ^= h >> 15;
	return h & (OPT_TCP_HASH - 1);
}

void tcp_hash(struct stack *st, struct tcb *tp)
{
	if (tp->hashed)
		return;
	TAILQ_INSERT_HEAD(&st->tcp_hash[tuple_hash(st, tp->wfamily, tp->raddr, tp->lport, tp->rport)],
			  tp, hash_link);
	tp->hashed = 1;
	st->tcp_nconn++;
}

void tcp_unhash(struct stack *st, struct tcb *tp)
{
	if (!tp->hashed)
		return;
	TAILQ_REMOVE(&st->tcp_hash[tuple_hash(st, tp->wfamily, tp->raddr, tp->lport, tp->rport)],
		     tp, hash_link);
	tp->hashed = 0;
	st->tcp_nconn--;
}

struct tcb *tcp_lookup(struct stack *st, int family, const uint8_t *laddr, uint16_t lport,
		       const uint8_t *raddr, uint16_t rport)
{
	struct tcb *tp;
	size_t alen = addr_len(family);

	TAILQ_FOREACH(tp, &st->tcp_hash[tuple_hash(st, family, raddr, lport, rport)], hash_link)
		if (tp->lport == lport && tp->rport == rport && tp->wfamily == family &&
		    memcmp(tp->raddr, raddr, alen) == 0 && memcmp(tp->laddr, laddr, alen) == 0)
			return tp;
	return NULL;
}

/* A listener for (laddr, lport): a bound address beats a wildcard, an
 * exact family beats a dual-stack one (Linux's compute_score). */
struct tcb *tcp_lookup_listener(struct stack *st, int family, const uint8_t *laddr,
				uint16_t lport)
{
	struct tcb *tp, *best = NULL;
	int best_score = -1;
	struct stack_sockaddr w = {.family = (uint16_t)family};

	memcpy(w.addr, laddr, addr_len(family));
	TAILQ_FOREACH(tp, &st->tcp_listeners, listen_link) {
		struct ep *e = ep_of_tcb(st, tp);
		int score;

		if (e->local.port != lport)
			continue;
		if (family == STACK_AF_INET ? !carries_v4(e) : !carries_v6(e))
			continue;
		score = e->family == family ? 2 : 1;
		if (!addr_is_any(e->family, e->local.addr)) {
			struct stack_sockaddr v = ep_view(e, &w);

			if (!same_addr(&e->local, &v))
				continue;
			score += 4;
		}
		if (score > best_score) {
			best = tp;
			best_score = score;
		}
	}
	return best;
}

struct tcp_tw *tcp_lookup_tw(struct stack *st, int family, const uint8_t *laddr, uint16_t lport,
			     const uint8_t *raddr, uint16_t rport)
{
	struct tcp_tw *tw;
	size_t alen = addr_len(family);

	TAILQ_FOREACH(tw, &st->tw_hash[tuple_hash(st, family, raddr, lport, rport)], link)
		if (tw->lport == lport && tw->rport == rport && tw->family == family &&
		    memcmp(tw->raddr, raddr, alen) == 0 && memcmp(tw->laddr, laddr, alen) == 0)
			return tw;
	return NULL;
}

bool tcp_tw_holds_port(struct stack *st, const struct ep *e, uint16_t port)
{
	for (uint32_t i = 0; st->tw_count && i < OPT_TCP_TW_MAX; i++) {
		struct tcp_tw *tw = &st->tws[i];
		struct stack_sockaddr l = {.family = tw->family};

		if (!tw->used || tw->lport != port)
			continue;
		memcpy(l.addr, tw->laddr, 16);
		if (l.family == STACK_AF_INET ? !carries_v4(e) : !carries_v6(e))
			continue;
		l = ep_view(e, &l);
		if (addr_is_any(e->family, e->local.addr) || same_addr(&l, &e->local))
			return true;
	}
	return false;
}

void tcp_tw_free(struct stack *st, struct tcp_tw *tw)
{
	timer_cancel(st, &tw->timer);
	TAILQ_REMOVE(&st->tw_hash[tuple_hash(st, tw->family, tw->raddr, tw->lport, tw->rport)], tw,
		     link);
	tw->used = 0;
	st->tw_count--;
}

/* RFC 9293 §3.6.1: keep the connection's identity for 2 MSL (Linux: 60 s)
 * in a small record; the endpoint itself is done.  A full table skips
 * TIME_WAIT, as Linux does when tcp_max_tw_buckets is reached
 * (inet_twsk_alloc fails: TCPTimeWaitOverflow), and counts it. */
void tcp_time_wait(struct stack *st, struct tcb *tp)
{
	struct tcp_tw *tw = NULL;

	for (uint32_t i = 0; i < OPT_TCP_TW_MAX; i++)
		if (!st->tws[i].used) {
			tw = &st->tws[i];
			break;
		}
	if (tw) {
		memset(tw, 0, sizeof(*tw));
		tw->used = 1;
		tw->family = tp->wfamily;
		memcpy(tw->laddr, tp->laddr, 16);
		memcpy(tw->raddr, tp->raddr, 16);
		tw->lport = tp->lport;
		tw->rport = tp->rport;
		tw->snd_nxt = tp->snd_nxt;
		tw->rcv_nxt = tp->rcv_nxt;
		tw->ts_ok = tp->ts_ok;
		tw->ts_recent = tp->ts_recent;
		tw->ts_offset = tp->ts_offset;
		tw->rcv_wscale = tp->rcv_wscale;
		{
			uint32_t cur = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;

			cur >>= tp->ws_ok ? tp->rcv_wscale : 0;
			tw->wnd = (uint16_t)(cur > 65535 ? 65535 : cur);
		}
		timer_init(&tw->timer, TIMER_TCP_TW);
		timer_arm(st, &tw->timer, st->now + OPT_TCP_TIMEWAIT_NS);
		TAILQ_INSERT_HEAD(&st->tw_hash[tuple_hash(st, tw->family, tw->raddr, tw->lport,
							  tw->rport)],
				  tw, link);
		st->tw_count++;
	} else {
		st->ctr.tcp_tw_overflow++;
	}
	ep_of_tcb(st, tp)->so_error = 0;
	tp->done = 1;
	tcp_set_state(st, tp, TCPS_CLOSED);
	tcp_done(st, tp);
}

/* ---- life cycle ----------------------------------------------------------- */

static void tcb_init(struct stack *st, struct tcb *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->state = TCPS_CLOSED;
	tp->parent = -1;
	STAILQ_INIT(&tp->sndq);
	STAILQ_INIT(&tp->rcvq);
	STAILQ_INIT(&tp->ooq);
	TAILQ_INIT(&tp->acceptq);
	tcp_tx_init(tp);
	tp->rcvbuf = OPT_TCP_RMEM_DEFAULT;
	tp->sndbuf = OPT_TCP_WMEM_DEFAULT;
	tp->rto_us = OPT_TCP_RTO_INIT_US;
	tp->ato_us = OPT_TCP_ATO_MIN_US;
	tp->keepidle_s = OPT_TCP_KEEPIDLE_S;
	tp->keepintvl_s = OPT_TCP_KEEPINTVL_S;
	tp->keepcnt = OPT_TCP_KEEPCNT;
	tp->ssthresh = UINT32_MAX;
	tp->rcv_mss = 536; /* TCP_MSS_DEFAULT, Linux's first guess */
	tp->cc = st->cfg.tcp_congestion[0] ? (uint8_t)tcp_cc_by_name(st->cfg.tcp_congestion) : OPT_TCP_CC;
	tp->hs_cur_min = tp->hs_last_min = UINT32_MAX;
	timer_init(&tp->t_rexmit, TIMER_TCP_REXMIT);
	timer_init(&tp->t_delack, TIMER_TCP_DELACK);
	timer_init(&tp->t_keep, TIMER_TCP_KEEP);
	timer_init(&tp->t_cork, TIMER_TCP_CORK);
	(void)st;
}

int tcp_open(struct stack *st, struct ep *e)
{
	tcb_init(st, tcb_of(st, e));
	e->proto = STACK_IPPROTO_TCP;
	return 0;
}

void tcp_set_state(struct stack *st, struct tcb *tp, enum tcp_state s)
{
	tp->state = (uint8_t)s;
	ep_changed(st, ep_of_tcb(st, tp));
}

/* Everything but the in-order receive queue, which the program may still
 * read after the connection ended (Linux's tcp_done keeps it). */
static void purge(struct stack *st, struct tcb *tp)
{
	pbuf_freeq(st, &tp->sndq);
	pbuf_freeq(st, &tp->ooq);
	tcp_tx_free_all(st, tp);
	tp->sndq_bytes = tp->ooq_bytes = tp->ooq_segs = 0;
	tp->snd_cur = NULL;
	timer_cancel(st, &tp->t_rexmit);
	timer_cancel(st, &tp->t_delack);
	timer_cancel(st, &tp->t_keep);
	timer_cancel(st, &tp->t_cork);
	unwait(st, tp);
}

static void free_endpoint(struct stack *st, struct ep *e)
{
	struct tcb *tp = tcb_of(st, e);

	purge(st, tp);
	pbuf_freeq(st, &tp->rcvq);
	tcp_unhash(st, tp);
	if (tp->listening) {
		TAILQ_REMOVE(&st->tcp_listeners, tp, listen_link);
		tp->listening = 0;
	}
	ep_unbind(st, e);
	if (e->on_changed)
		TAILQ_REMOVE(&st->changed, e, chg_link);
	memset(tp, 0, sizeof(*tp));
	memset(e, 0, sizeof(*e));
}

/* A child leaves its listener's queues. */
static void unlink_child(struct stack *st, struct tcb *tp)
{
	struct ep *pe = ep_get_any(st, tp->parent);
	struct tcb *lp;

	if (tp->parent < 0 || !pe)
		return;
	lp = tcb_of(st, pe);
	if (tp->in_acceptq) {
		TAILQ_REMOVE(&lp->acceptq, tp, q_link);
		lp->acceptq_len--;
		tp->in_acceptq = 0;
	} else if (lp->synq_len) {
		lp->synq_len--;
	}
	tp->parent = -1;
}

void tcp_done(struct stack *st, struct tcb *tp)
{
	struct ep *e = ep_of_tcb(st, tp);

	tp->state = TCPS_CLOSED;
	purge(st, tp);
	tcp_unhash(st, tp);
	tp->rd_shut = tp->wr_shut = 1;
	/* An embryonic child that dies before its handshake completes goes
	 * away; one already queued for accept() stays, as on Linux. */
	if (e->hidden && !tp->in_acceptq) {
		unlink_child(st, tp);
		free_endpoint(st, e);
		return;
	}
	if (e->orphan) {
		free_endpoint(st, e);
		return;
	}
	ep_changed(st, e);
}

void tcp_drop(struct stack *st, struct tcb *tp, int err)
{
	struct ep *e = ep_of_tcb(st, tp);

	if (err)
		e->so_error = err;
	tcp_done(st, tp);
}

/* ---- identity ------------------------------------------------------------ */

/* RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a 4 µs clock and F a keyed PRF (SipHash-2-4, the key drawn
 * from the stack's generator at creation): unpredictable to an off-path
 * attacker, yet monotonic per connection tuple, so an old duplicate of an
 * earlier incarnation falls below the new ISN. */
uint32_t tcp_isn(struct stack *st, const struct tcb *tp)
{
	uint8_t tuple[2 * 16 + 4];
	uint64_t key[2] = {(uint64_t)st->tcp_isn_key[0] << 32 | st->tcp_isn_key[1],
			   (uint64_t)st->tcp_isn_key[2] << 32 | st->tcp_isn_key[3]};

	memcpy(tuple, tp->laddr, 16);
	memcpy(tuple + 16, tp->raddr, 16);
	tuple[32] = (uint8_t)(tp->lport >> 8);
	tuple[33] = (uint8_t)tp->lport;
	tuple[34] = (uint8_t)(tp->rport >> 8);
	tuple[35] = (uint8_t)tp->rport;
	return (uint32_t)(st->now / 4000) + (uint32_t)siphash24(key, tuple, sizeof(tuple));
}

static void set_identity(struct tcb *tp, const struct stack_sockaddr *lw,
			 const struct stack_sockaddr *rw)
{
	tp->wfamily = (uint8_t)lw->family;
	memset(tp->laddr, 0, 16);
	memset(tp->raddr, 0, 16);
	memcpy(tp->laddr, lw->addr, addr_len(lw->family));
	memcpy(tp->raddr, rw->addr, addr_len(rw->family));
	tp->lport = lw->port;
	tp->rport = rw->port;
}

void tcp_set_iss(struct tcb *tp, uint32_t iss)
{
	tp->iss = iss;
	tp->snd_una = tp->snd_nxt = tp->snd_max = iss;
	tp->snd_up = iss;
	tp->snd_sml = iss;
}

/* SipHash-2-4 of a connection's tuple (ours first), a domain tag and a
 * counter, under the stack's ISN key: the tag keeps SYN cookies (tags 0
 * and 1) and timestamp offsets (TCP_HASH_TS) apart from each other and
 * from the ISNs of tcp_isn(). */
uint32_t tcp_tuple_hash(const struct stack *st, int family, const uint8_t *laddr,
			const uint8_t *raddr, uint16_t lport, uint16_t rport, uint8_t tag,
			uint32_t count)
{
	uint8_t in[1 + 2 * 16 + 4 + 1 + 4] = {0};
	uint64_t key[2] = {(uint64_t)st->tcp_isn_key[0] << 32 | st->tcp_isn_key[1],
			   (uint64_t)st->tcp_isn_key[2] << 32 | st->tcp_isn_key[3]};
	size_t alen = addr_len(family);

	in[0] = (uint8_t)family;
	memcpy(in + 1, laddr, alen);
	memcpy(in + 17, raddr, alen);
	put16(in + 33, lport);
	put16(in + 35, rport);
	in[37] = tag;
	put32(in + 38, count);
	return (uint32_t)siphash24(key, in, sizeof(in));
}

static void start_connection(struct stack *st, struct tcb *tp)
{
	tcp_set_iss(tp, tcp_isn(st, tp));
	/* our timestamp clock's offset: random to anyone else, yet the same
	 * for every incarnation of the tuple, so a new one's TSvals follow
	 * the old one's and the peer's TIME_WAIT takes its SYN (RFC 7323 §7,
	 * RFC 6191 §2; Linux secure_tcp_ts_off) */
	tp->ts_offset = tcp_tuple_hash(st, tp->wfamily, tp->laddr, tp->raddr, tp->lport,
				       tp->rport, TCP_HASH_TS, 0);
	tp->rcv_wscale = OPT_TCP_RCV_WSCALE;
	tp->adv_mss = tcp_adv_mss(st, tp);
	tp->retrans_stamp = st->now;
}

/* ---- connect, listen, accept ---------------------------------------------- */

int tcp_bind(struct stack *st, struct ep *e, const struct stack_sockaddr *a)
{
	if (tcb_of(st, e)->state != TCPS_CLOSED)
		return -EINVAL;
	return ep_bind_addr(st, e, a);
}

int tcp_connect(struct stack *st, struct ep *e, const struct stack_sockaddr *a)
{
	struct tcb *tp = tcb_of(st, e);
	struct stack_sockaddr r, w, lw;
	struct stack_route_result rr;
	int rc;

	switch (tp->state) {
	case TCPS_CLOSED:
		break;
	case TCPS_SYN_SENT:
	case TCPS_SYN_RECEIVED:
		return -EALREADY;
	default: /* connected, or listening (__inet_stream_connect) */
		return -EISCONN;
	}
	if (tp->done || e->connected) {
		/* after a failure the pending error, then "already used" */
		if (e->so_error) {
			rc = -e->so_error;
			e->so_error = 0;
			return rc;
		}
		return -EISCONN;
	}
	if (!a)
		return -EINVAL;
	if (a->family == STACK_AF_UNSPEC)
		return 0; /* nothing to dissolve */
	rc = ep_addr(e, a, &r);
	if (rc)
		return rc;
	r.port = a->port;
	w = wire_addr(&r);
	any_to_loopback(&w);
	if (w.family == STACK_AF_INET && (addr4_is_broadcast(st, w.addr) || addr4_is_multicast(w.addr)))
		return -ENETUNREACH;
	if (w.family == STACK_AF_INET6 && addr6_is_multicast(w.addr))
		return -ENETUNREACH;
	rc = route_lookup(st, w.family, w.addr, &rr);
	if (rc)
		return rc;
	if (!e->bound) {
		rc = ep_autobind(st, e);
		if (rc)
			return rc;
	}
	lw = wire_addr(&e->local);
	if (lw.family != w.family || addr_is_any(lw.family, lw.addr)) {
		struct stack_sockaddr src = ep_view(e, &rr.src);

		if (lw.family != w.family && !addr_is_any(e->family, e->local.addr))
			return -EAFNOSUPPORT;
		memcpy(e->local.addr, src.addr, 16);
		lw = rr.src;
	}
	lw.port = e->local.port;
	if (tcp_lookup(st, w.family, lw.addr, lw.port, w.addr, w.port))
		return -EADDRNOTAVAIL; /* that 4-tuple is in use */
	e->remote = ep_view(e, &w);
	e->remote.port = w.port;
	e->connected = 1;
	set_identity(tp, &lw, &w);
	start_connection(st, tp);
	tcp_hash(st, tp);
	tcp_set_state(st, tp, TCPS_SYN_SENT);
	rc = tcp_send_segment(st, tp, TH_SYN, tp->iss, 0);
	tp->snd_nxt = tp->snd_max = tp->iss + 1;
	tcp_arm_rexmit(st, tp);
	(void)rc; /* a lost first SYN is retransmitted like any other */
	return -EINPROGRESS;
}

int tcp_listen(struct stack *st, struct ep *e, int backlog)
{
	struct tcb *tp = tcb_of(st, e);
	int rc;

	if ((unsigned)backlog > OPT_TCP_SOMAXCONN)
		backlog = OPT_TCP_SOMAXCONN;
	if (tp->state == TCPS_LISTEN) {
		tp->backlog = (uint32_t)backlog;
		return 0;
	}
	if (tp->state != TCPS_CLOSED || e->connected)
		return -EINVAL;
	if (!e->bound) {
		rc = ep_autobind(st, e);
		if (rc)
			return rc;
	}
	tp->state = TCPS_LISTEN; /* listening sockets conflict differently */
	rc = ep_listen_conflict(st, e);
	if (rc) {
		tp->state = TCPS_CLOSED;
		return rc;
	}
	tp->backlog = (uint32_t)backlog;
	TAILQ_INSERT_TAIL(&st->tcp_listeners, tp, listen_link);
	tp->listening = 1;
	tcp_set_state(st, tp, TCPS_LISTEN);
	return 0;
}

/* A connection of listener lp to (raddr, rport): a hidden endpoint with the
 * listener's options, hashed, not yet on either queue. */
static struct tcb *child_open(struct stack *st, struct tcb *lp, int family, const uint8_t *laddr,
			      uint16_t lport, const uint8_t *raddr, uint16_t rport)
{
	struct ep *le = ep_of_tcb(st, lp), *ce;
	struct stack_sockaddr lw = {.family = (uint16_t)family, .port = lport};
	struct stack_sockaddr rw = {.family = (uint16_t)family, .port = rport};
	struct tcb *tp;
	int h;

	h = stack_ep_open(st, le->family, STACK_SOCK_STREAM, 0);
	if (h < 0)
		return NULL;
	ce = &st->eps[h];
	tp = tcb_of(st, ce);
	ce->hidden = 1;
	/* options a child inherits from its listener */
	ce->v6only = le->v6only;
	ce->tos = le->tos;
	ce->ttl = le->ttl;
	ce->pmtudisc = le->pmtudisc;
	ce->reuseaddr = le->reuseaddr;
	ce->rcvbuf = le->rcvbuf;
	ce->sndbuf = le->sndbuf;
	tp->rcvbuf = lp->rcvbuf;
	tp->rcvbuf_locked = lp->rcvbuf_locked;
	tp->sndbuf = lp->sndbuf;
	tp->sndbuf_locked = lp->sndbuf_locked;
	tp->nodelay = lp->nodelay;
	tp->cc = lp->cc;
	tp->cork = lp->cork;
	tp->keepalive = lp->keepalive;
	tp->keepidle_s = lp->keepidle_s;
	tp->keepintvl_s = lp->keepintvl_s;
	tp->keepcnt = lp->keepcnt;
	tp->user_timeout_ms = lp->user_timeout_ms;
	tp->linger_on = lp->linger_on;
	tp->linger_s = lp->linger_s;
	tp->linger2_s = lp->linger2_s;
	tp->oob_inline = lp->oob_inline;
	tp->user_mss = lp->user_mss;
	memcpy(lw.addr, laddr, addr_len(family));
	memcpy(rw.addr, raddr, addr_len(family));
	ce->local = ep_view(ce, &lw);
	ce->local.port = lport;
	ce->remote = ep_view(ce, &rw);
	ce->remote.port = rport;
	ce->connected = 1;
	/* a child shares the listener's port without a binding of its own */
	set_identity(tp, &lw, &rw);
	start_connection(st, tp);
	tp->parent = ep_handle(st, le);
	tcp_hash(st, tp);
	return tp;
}

struct tcb *tcp_new_child(struct stack *st, struct tcb *lp, int family, const uint8_t *laddr,
			  uint16_t lport, const uint8_t *raddr, uint16_t rport)
{
	struct tcb *tp = child_open(st, lp, family, laddr, lport, raddr, rport);

	if (!tp)
		return NULL;
	lp->synq_len++;
	tp->state = TCPS_SYN_RECEIVED;
	return tp;
}

static void acceptq_add(struct stack *st, struct tcb *lp, struct tcb *child)
{
	TAILQ_INSERT_TAIL(&lp->acceptq, child, q_link);
	child->in_acceptq = 1;
	lp->acceptq_len++;
	ep_changed(st, ep_of_tcb(st, lp));
}

struct tcb *tcp_new_cookie_child(struct stack *st, struct tcb *lp, int family, const uint8_t *laddr,
				 uint16_t lport, const uint8_t *raddr, uint16_t rport)
{
	struct tcb *tp = child_open(st, lp, family, laddr, lport, raddr, rport);

	if (tp)
		acceptq_add(st, lp, tp);
	return tp;
}

bool tcp_child_ready(struct stack *st, struct tcb *child)
{
	struct ep *pe = ep_get_any(st, child->parent);
	struct tcb *lp;

	if (!pe)
		return false;
	lp = tcb_of(st, pe);
	if (lp->acceptq_len > lp->backlog) {
		DROP(st, TCP, TCP_LISTEN_OVERFLOW);
		return false;
	}
	if (lp->synq_len)
		lp->synq_len--;
	acceptq_add(st, lp, child);
	return true;
}

int tcp_accept(struct stack *st, struct ep *e, struct stack_sockaddr *peer)
{
	struct tcb *lp = tcb_of(st, e), *tp;
	struct ep *ce;

	if (lp->state != TCPS_LISTEN)
		return -EINVAL;
	tp = TAILQ_FIRST(&lp->acceptq);
	if (!tp)
		return -EAGAIN;
	TAILQ_REMOVE(&lp->acceptq, tp, q_link);
	lp->acceptq_len--;
	tp->in_acceptq = 0;
	tp->parent = -1;
	ce = ep_of_tcb(st, tp);
	ce->hidden = 0;
	if (peer)
		*peer = ce->remote;
	ep_changed(st, ce);
	return ep_handle(st, ce);
}

/* ---- data ------------------------------------------------------------- */

/* Room the send buffer has: Linux counts queued bytes against sndbuf. */
static uint32_t send_space(const struct tcb *tp)
{
	return tp->sndq_bytes >= tp->sndbuf ? 0 : tp->sndbuf - tp->sndq_bytes;
}

static int take_error(struct ep *e)
{
	int err = e->so_error;

	e->so_error = 0;
	return -err;
}

/* Append bytes to the send queue, filling the last buffer first.  Data
 * buffers need no headroom. */
static uint32_t sndq_append(struct stack *st, struct tcb *tp, const struct iovec *iov, int iovcnt,
			    uint32_t max)
{
	uint32_t done = 0;

	for (int i = 0; i < iovcnt && done < max; i++) {
		const uint8_t *src = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left && done < max) {
			struct pbuf *p = STAILQ_LAST(&tp->sndq, pbuf, next);
			size_t room, n;

			if (!p || pbuf_tailroom(p) == 0) {
				const struct pool *pl = &st->pools[PBUF_SMALL];

				/* the rest is for arriving packets — except a
				 * socket's first OPT_TCP_WMEM_MIN bytes */
				if (tp->sndq_bytes >= OPT_TCP_WMEM_MIN &&
				    pl->total - pl->used <= pl->total / OPT_PBUF_RX_RESERVE_DIV)
					return done;
				p = pbuf_alloc_class(st, PBUF_SMALL);
				if (!p)
					return done;
				p->off = 0;
				STAILQ_INSERT_TAIL(&tp->sndq, p, next);
			}
			room = pbuf_tailroom(p);
			n = left < room ? left : room;
			if (n > max - done)
				n = max - done;
			memcpy(p->buf + p->off + p->len, src, n);
			p->len += (uint32_t)n;
			src += n;
			left -= n;
			done += (uint32_t)n;
			tp->sndq_bytes += (uint32_t)n;
		}
	}
	return done;
}

ssize_t tcp_send(struct stack *st, struct ep *e, const struct iovec *iov, int iovcnt, int flags)
{
	struct tcb *tp = tcb_of(st, e);
	size_t want = iov_total(iov, iovcnt);
	uint32_t room, n;

	/* tcp_sendmsg: wait for the connection (here: EAGAIN), or fail. */
	if (tp->state != TCPS_ESTABLISHED && tp->state != TCPS_CLOSE_WAIT) {
		if (e->so_error)
			return take_error(e);
		if (tp->state == TCPS_SYN_SENT || tp->state == TCPS_SYN_RECEIVED)
			return -EAGAIN;
		return -EPIPE;
	}
	if (e->so_error)
		return take_error(e);
	if (tp->wr_shut || tp->fin_queued)
		return -EPIPE;
	if (want == 0)
		return 0;
	room = send_space(tp);
	if (room == 0) {
		tcp_chrono_start(st, tp, TCP_CHRONO_SNDBUF);
		return -EAGAIN;
	}
	tcp_rate_check_app_limited(tp);
	n = sndq_append(st, tp, iov, iovcnt, want < room ? (uint32_t)want : room);
	if (n == 0) {
		/* no packet buffer free: like a full buffer, and the program
		 * hears when buffers come back (tcp_kick) */
		tp->nobuf = 1;
		tcp_wait_resources(st, tp);
		return -EAGAIN;
	}
	tcp_chrono_start(st, tp, TCP_CHRONO_BUSY);
	if (flags & STACK_MSG_OOB) {
		/* BSD semantics: the urgent pointer points past the last
		 * urgent byte (RFC 9293 §3.8.5 allows either; Linux does this). */
		tp->snd_up = tcp_data_end(tp);
		tp->urg_out = 1;
	}
	if (flags & STACK_MSG_MORE) {
		uint8_t cork = tp->cork;

		tp->cork = 1;
		tcp_output(st, tp);
		tp->cork = cork;
	} else {
		tcp_output(st, tp);
	}
	ep_changed(st, e);
	return (ssize_t)n;
}

/* Room to offer the peer: what the receive buffer has left, and no more
 * than a share of what the packet pool has free — half of it split among
 * the connections, after the part kept for sending — so that together
 * they cannot promise more memory than the arena holds (Linux's tcp_mem
 * pressure, in its simplest form).  A window promised is never taken back,
 * so the promises outstanding stay below half of what is free. */
static uint32_t rcv_space(struct stack *st, struct tcb *tp, uint32_t reserve)
{
	uint32_t used = tp->rcvq_bytes + tp->ooq_bytes, space;
	const struct pool *pl = &st->pools[PBUF_SMALL];
	uint32_t share = 2 * (st->tcp_nconn > 2 ? st->tcp_nconn : 2);
	uint32_t keep = reserve + pl->total / OPT_PBUF_TX_RESERVE_DIV;
	uint32_t nfree = pl->total - pl->used > keep ? pl->total - pl->used - keep : 0;
	uint64_t pool_free = (uint64_t)nfree * OPT_TCP_PBUF_PAYLOAD / share;

	space = used >= tp->rcvbuf ? 0 : tp->rcvbuf - used;
	if (pool_free < space) {
		/* announce the rest when buffers come back (tcp_kick) */
		tp->pool_limited = 1;
		tcp_wait_resources(st, tp);
		return (uint32_t)pool_free;
	}
	return space;
}

uint32_t tcp_rcv_space(struct stack *st, struct tcb *tp) { return rcv_space(st, tp, 0); }

/* The pool ran dry: out-of-order data is the one thing we may give back
 * (RFC 2018 §8 allows reneging; Linux prunes it under memory pressure),
 * so that the segments filling the holes can still be received. */
bool tcp_reclaim(struct stack *st)
{
	struct tcb *big = NULL;

	/* from the connection holding the most: a peer that scatters tiny
	 * segments over its window pays, not its neighbours (Linux prunes
	 * per socket, against that socket's own budget) */
	for (uint32_t i = 0; i < st->cfg.max_endpoints; i++) {
		struct tcb *tp = &st->tcbs[i];

		if (st->eps[i].used && st->eps[i].type == STACK_SOCK_STREAM && tp->ooq_segs &&
		    (!big || tp->ooq_segs > big->ooq_segs))
			big = tp;
	}
	if (!big)
		return false;
	DROP(st, TCP, TCP_OOQ_FULL);
	pbuf_freeq(st, &big->ooq);
	big->ooq_bytes = big->ooq_segs = 0;
	return true;
}

/* Receive-buffer auto-tuning (Linux tcp_rcv_space_adjust, simplified):
 * when the program reads more than half the buffer within a round trip,
 * double the buffer, up to tcp_rmem[2]; never after SO_RCVBUF. */
static void rcv_autotune(struct stack *st, struct tcb *tp, uint32_t n)
{
	stack_ns_t period = (stack_ns_t)(tp->srtt_us ? tp->srtt_us : OPT_TCP_RTO_MIN_US) * 1000;

	if (tp->rcvbuf_locked)
		return;
	tp->rcv_copied += n;
	if (st->now - tp->rcv_tune_time < period)
		return;
	if (tp->rcv_copied > tp->rcvbuf / 2 && tp->rcvbuf < OPT_TCP_RMEM_MAX) {
		tp->rcvbuf *= 2;
		if (tp->rcvbuf > OPT_TCP_RMEM_MAX)
			tp->rcvbuf = OPT_TCP_RMEM_MAX;
	}
	tp->rcv_copied = 0;
	tp->rcv_tune_time = st->now;
}

/* Linux's tcp_cleanup_rbuf: after a read, announce a window that has
 * grown to at least twice what the peer thinks it has. */
static void window_update(struct stack *st, struct tcb *tp)
{
	uint32_t cur = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;
	/* judged as the ACK itself will see it: one buffer fewer in the
	 * pool, else the edge might not move and the update repeat forever */
	uint32_t space = rcv_space(st, tp, 1);
	uint32_t max = 65535u << (tp->ws_ok ? tp->rcv_wscale : 0);

	if (tp->state < TCPS_ESTABLISHED || tp->fin_rcvd)
		return;
	/* only what the window field can carry counts: an update that
	 * cannot move the edge would be sent again and again */
	if (space > max)
		space = max;
	if (space >= 2 * cur && space - cur >= tp->adv_mss)
		tcp_send_ack(st, tp);
}

ssize_t tcp_recv(struct stack *st, struct ep *e, const struct iovec *iov, int iovcnt, int flags,
		 int *msg_flags)
{
	struct tcb *tp = tcb_of(st, e);
	size_t want = iov_total(iov, iovcnt), copied = 0;
	struct pbuf *p;
	int i = 0;
	size_t ioff = 0;

	if (msg_flags)
		*msg_flags = 0;
	if (tp->state == TCPS_LISTEN)
		return -ENOTCONN;
	if (flags & STACK_MSG_OOB) {
		/* tcp_recv_urg */
		if (tp->oob_inline || !tp->oob_have)
			return tp->oob_inline ? -EINVAL : (tp->done ? 0 : -EINVAL);
		if (want == 0)
			return 0;
		for (i = 0; i < iovcnt && !iov[i].iov_len; i++)
			;
		((uint8_t *)iov[i].iov_base)[0] = tp->oob_byte;
		if (!(flags & STACK_MSG_PEEK))
			tp->oob_have = 0;
		if (msg_flags)
			*msg_flags |= STACK_MSG_OOB;
		return 1;
	}
	if (want == 0)
		return 0;
	p = STAILQ_FIRST(&tp->rcvq);
	while (p && copied < want) {
		size_t poff = 0;

		while (poff < p->len && i < iovcnt) {
			size_t n = p->len - poff, room = iov[i].iov_len - ioff;

			if (n > room)
				n = room;
			memcpy((uint8_t *)iov[i].iov_base + ioff, pbuf_data(p) + poff, n);
			poff += n;
			ioff += n;
			copied += n;
			if (ioff == iov[i].iov_len) {
				i++;
				ioff = 0;
			}
		}
		if (flags & STACK_MSG_PEEK) {
			p = STAILQ_NEXT(p, next);
			continue;
		}
		if (poff == p->len) {
			STAILQ_REMOVE_HEAD(&tp->rcvq, next);
			tp->rcvq_bytes -= p->len;
			pbuf_free(st, p);
			p = STAILQ_FIRST(&tp->rcvq);
		} else {
			pbuf_pull(p, poff);
			tp->rcvq_bytes -= (uint32_t)poff;
		}
	}
	if (copied) {
		if (!(flags & STACK_MSG_PEEK)) {
			rcv_autotune(st, tp, (uint32_t)copied);
			window_update(st, tp);
			ep_changed(st, e);
		}
		return (ssize_t)copied;
	}
	/* tcp_recvmsg with nothing to copy: the peer's FIN (Linux's
	 * SOCK_DONE) reads as end of file even when a reset came after it;
	 * that error stays for a send or SO_ERROR */
	if (tp->done || tp->fin_rcvd)
		return 0;
	if (e->so_error)
		return take_error(e);
	if (tp->rd_shut)
		return 0;
	if (tp->state == TCPS_CLOSED)
		return -ENOTCONN;
	return -EAGAIN;
}

/* ---- shutdown and close --------------------------------------------------- */

static void close_listener(struct stack *st, struct tcb *lp);

/* Queue our FIN behind the data (RFC 9293 §3.10.4). */
static void send_fin(struct stack *st, struct tcb *tp)
{
	if (tp->fin_queued)
		return;
	tp->fin_queued = 1;
	if (tp->state == TCPS_ESTABLISHED || tp->state == TCPS_SYN_RECEIVED)
		tcp_set_state(st, tp, TCPS_FIN_WAIT_1);
	else if (tp->state == TCPS_CLOSE_WAIT)
		tcp_set_state(st, tp, TCPS_LAST_ACK);
	tcp_output(st, tp);
}

int tcp_shutdown(struct stack *st, struct ep *e, int how)
{
	struct tcb *tp = tcb_of(st, e);

	if (how < STACK_SHUT_RD || how > STACK_SHUT_RDWR)
		return -EINVAL;
	switch (tp->state) {
	case TCPS_CLOSED:
		if (!tp->done)
			return -ENOTCONN;
		break;
	case TCPS_LISTEN:
		/* inet_shutdown: reading side of a listener -> disconnect */
		if (how == STACK_SHUT_WR)
			return -ENOTCONN;
		close_listener(st, tp);
		tp->state = TCPS_CLOSED;
		ep_changed(st, e);
		return 0;
	case TCPS_SYN_SENT:
		tcp_drop(st, tp, 0);
		return 0;
	default:
		break;
	}
	if (how != STACK_SHUT_WR)
		tp->rd_shut = 1;
	if (how != STACK_SHUT_RD && !tp->wr_shut) {
		tp->wr_shut = 1;
		if (tp->state >= TCPS_ESTABLISHED || tp->state == TCPS_SYN_RECEIVED)
			send_fin(st, tp);
	}
	ep_changed(st, e);
	return 0;
}

/* A listener going away resets what waits in its queue. */
static void close_listener(struct stack *st, struct tcb *lp)
{
	struct tcb *c;

	while ((c = TAILQ_FIRST(&lp->acceptq)) != NULL) {
		struct ep *ce = ep_of_tcb(st, c);

		TAILQ_REMOVE(&lp->acceptq, c, q_link);
		c->in_acceptq = 0;
		c->parent = -1;
		ce->orphan = 1;
		ce->hidden = 0;
		if (c->state != TCPS_CLOSED)
			tcp_send_segment(st, c, TH_RST | TH_ACK, c->snd_nxt, 0);
		tcp_done(st, c);
	}
	lp->acceptq_len = 0;
	/* embryonic children: free them */
	for (uint32_t i = 0; i < st->cfg.max_endpoints; i++) {
		struct tcb *t = &st->tcbs[i];

		if (st->eps[i].used && st->eps[i].hidden && t->parent == lp - st->tcbs) {
			st->eps[i].orphan = 1;
			t->parent = -1;
			tcp_done(st, t);
		}
	}
	lp->synq_len = 0;
	if (lp->listening) {
		TAILQ_REMOVE(&st->tcp_listeners, lp, listen_link);
		lp->listening = 0;
	}
}

void tcp_close(struct stack *st, struct ep *e)
{
	struct tcb *tp = tcb_of(st, e);

	e->orphan = 1;
	switch (tp->state) {
	case TCPS_LISTEN:
		close_listener(st, tp);
		tcp_done(st, tp);
		return;
	case TCPS_CLOSED:
	case TCPS_SYN_SENT:
		tcp_done(st, tp);
		return;
	default:
		break;
	}
	/* RFC 2525 §2.17 / Linux: closing with unread data, or with a zero
	 * linger time, aborts the connection with a reset. */
	if (tp->rcvq_bytes || (tp->linger_on && tp->linger_s == 0)) {
		if (tp->state != TCPS_TIME_WAIT)
			tcp_send_segment(st, tp, TH_RST | TH_ACK, tcp_acceptable_seq(tp), 0);
		tcp_done(st, tp);
		return;
	}
	tp->rd_shut = tp->wr_shut = 1;
	if (tp->state == TCPS_ESTABLISHED || tp->state == TCPS_SYN_RECEIVED ||
	    tp->state == TCPS_CLOSE_WAIT)
		send_fin(st, tp);
	else if (tp->state == TCPS_FIN_WAIT_2)
		tcp_arm_keepalive(st, tp); /* the orphan FIN_WAIT_2 timeout */
}

/* ---- readiness ------------------------------------------------------------ */

/* Linux's tcp_poll. */
unsigned tcp_events(struct stack *st, struct ep *e)
{
	struct tcb *tp = tcb_of(st, e);
	unsigned ev = 0;
	bool rcv_shut = tp->fin_rcvd || tp->rd_shut || tp->done;

	if (tp->state == TCPS_LISTEN)
		return TAILQ_EMPTY(&tp->acceptq) ? 0 : STACK_EV_IN;
	if ((tp->rd_shut && tp->wr_shut) || tp->state == TCPS_CLOSED)
		ev |= STACK_EV_HUP;
	if (rcv_shut)
		ev |= STACK_EV_IN | STACK_EV_RDHUP;
	if (tp->state != TCPS_SYN_SENT && tp->state != TCPS_SYN_RECEIVED) {
		if (tp->rcvq_bytes)
			ev |= STACK_EV_IN;
		if (tp->wr_shut || tp->fin_queued || tp->state == TCPS_CLOSED ||
		    (send_space(tp) >= tp->sndbuf / 3 && !tp->nobuf))
			ev |= STACK_EV_OUT;
	}
	if (tp->oob_have)
		ev |= STACK_EV_PRI;
	if (e->so_error)
		ev |= STACK_EV_ERR;
	return ev;
}

int tcp_pending(struct stack *st, struct ep *e)
{
	struct tcb *tp = tcb_of(st, e);

	return tp->state == TCPS_LISTEN ? -EINVAL : (int)tp->rcvq_bytes;
}

int tcp_acceptq(struct stack *st, struct ep *e)
{
	struct tcb *tp = tcb_of(st, e);

	return tp->state == TCPS_LISTEN ? (int)tp->acceptq_len : -EINVAL;
}

int tcp_unsent(struct stack *st, struct ep *e)
{
	struct tcb *tp = tcb_of(st, e);

	return tp->state == TCPS_LISTEN ? -EINVAL : (int)tp->sndq_bytes;
}

/* Does tp still owe its peer data or a FIN (or is it still connecting)? */
static bool tcp_owes(const struct tcb *tp)
{
	switch (tp->state) {
	case TCPS_SYN_SENT:
	case TCPS_SYN_RECEIVED:
	case TCPS_ESTABLISHED:
	case TCPS_CLOSE_WAIT:
		/* a connection its application left open: owing only while
		 * it has data (or a FIN) to deliver */
		return tp->sndq_bytes > 0 || tp->fin_queued;
	case TCPS_FIN_WAIT_1:
	case TCPS_CLOSING:
	case TCPS_LAST_ACK:
		return true; /* our FIN is not acknowledged yet */
	default:
		return false;
	}
}

/* Count (and with abort, reset) the TCP connections that owe their
 * peers something. */
static unsigned for_each_owing(struct stack *st, bool abort)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < st->cfg.max_endpoints; i++) {
		struct ep *e = &st->eps[i];
		struct tcb *tp;

		if (!e->used || e->proto != STACK_IPPROTO_TCP)
			continue;
		tp = tcb_of(st, e);
		if (!tcp_owes(tp))
			continue;
		n++;
		if (!abort)
			continue;
		if (tp->state != TCPS_SYN_SENT)
			tcp_send_segment(st, tp, TH_RST | TH_ACK, tcp_acceptable_seq(tp), 0);
		tcp_drop(st, tp, ECONNABORTED);
	}
	return n;
}

unsigned stack_tcp_busy(struct stack *st)
{
	return for_each_owing(st, false);
}

unsigned stack_tcp_abort_busy(struct stack *st)
{
	return for_each_owing(st, true);
}

void tcp_wakeup(struct stack *st, struct tcb *tp)
{
	ep_changed(st, ep_of_tcb(st, tp));
}

void tcp_wait_resources(struct stack *st, struct tcb *tp)
{
	if (tp->waiting)
		return;
	tp->waiting = 1;
	TAILQ_INSERT_TAIL(&st->tcp_waiting, tp, wait_link);
}

static void unwait(struct stack *st, struct tcb *tp)
{
	if (!tp->waiting)
		return;
	TAILQ_REMOVE(tp->waiting == 1 ? &st->tcp_waiting : &st->tcp_kicking, tp, wait_link);
	tp->waiting = 0;
}

/* The link pulled packets or buffers came back: let every waiting
 * connection send again, and tell programs whose send found no buffer. */
void tcp_kick(struct stack *st, bool windows)
{
	struct tcb *tp;

	/* Work on a snapshot: those that must wait again re-queue themselves
	 * on tcp_waiting; one that ends meanwhile leaves the snapshot. */
	TAILQ_FOREACH(tp, &st->tcp_waiting, wait_link)
		tp->waiting = 2;
	TAILQ_CONCAT(&st->tcp_kicking, &st->tcp_waiting, wait_link);
	while ((tp = TAILQ_FIRST(&st->tcp_kicking)) != NULL) {
		unwait(st, tp);
		if (tp->nobuf) {
			tp->nobuf = 0;
			tcp_wakeup(st, tp);
		}
		if (tp->pool_limited) {
			if (!windows) {
				tcp_wait_resources(st, tp); /* for the next poll */
				continue;
			}
			tp->pool_limited = 0;
			window_update(st, tp);
		}
		tcp_output(st, tp);
	}
}

/* ---- options -------------------------------------------------------------- */

int tcp_setopt(struct stack *st, struct ep *e, int level, int name, const void *val, size_t len)
{
	struct tcb *tp = tcb_of(st, e);
	int v;

	if (level == STACK_SOL_SOCKET && name == STACK_SO_LINGER) {
		int l[2];

		if (len < sizeof(l))
			return -EINVAL;
		memcpy(l, val, sizeof(l));
		tp->linger_on = l[0] != 0;
		tp->linger_s = l[1] < 0 ? 0 : l[1];
		return 0;
	}
	if (level == STACK_SOL_TCP && name == STACK_TCP_CONGESTION) {
		/* Linux: the name of an algorithm it has, else ENOENT */
		char buf[16] = {0};

		memcpy(buf, val, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
		return tcp_cc_set(st, tp, buf);
	}
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof(v));
	if (level == STACK_SOL_SOCKET) {
		switch (name) {
		case STACK_SO_KEEPALIVE:
			tp->keepalive = v != 0;
			tcp_arm_keepalive(st, tp);
			return 0;
		case STACK_SO_OOBINLINE:
			tp->oob_inline = v != 0;
			return 0;
		case STACK_SO_RCVBUF:
			tp->rcvbuf = e->rcvbuf;
			tp->rcvbuf_locked = 1;
			return 0;
		case STACK_SO_SNDBUF:
			tp->sndbuf = e->sndbuf;
			tp->sndbuf_locked = 1;
			return 0;
		}
		return -ENOPROTOOPT;
	}
	switch (name) {
	case STACK_TCP_NODELAY:
		tp->nodelay = v != 0;
		if (tp->nodelay)
			tcp_output(st, tp);
		return 0;
	case STACK_TCP_CORK:
		tp->cork = v != 0;
		if (!tp->cork)
			tcp_output(st, tp); /* tcp_push_pending_frames */
		return 0;
	case STACK_TCP_MAXSEG:
		if (v && (v < 88 || v > 65535 - 40)) /* TCP_MIN_MSS .. MAX_TCP_WINDOW */
			return -EINVAL;
		tp->user_mss = (uint16_t)v;
		return 0;
	case STACK_TCP_KEEPIDLE:
		if (v < 1 || v > 32767)
			return -EINVAL;
		tp->keepidle_s = (uint32_t)v;
		tcp_arm_keepalive(st, tp);
		return 0;
	case STACK_TCP_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		tp->keepintvl_s = (uint32_t)v;
		return 0;
	case STACK_TCP_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->keepcnt = (uint8_t)v;
		return 0;
	case STACK_TCP_SYNCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->syn_retries = (uint8_t)v;
		return 0;
	case STACK_TCP_LINGER2:
		tp->linger2_s = v < 0 ? -1 : (v > OPT_TCP_FIN_TIMEOUT_S ? 0 : v);
		return 0;
	case STACK_TCP_QUICKACK:
		tp->quickack_off = !v;
		if (v) {
			tp->quickacks = OPT_TCP_MAX_QUICKACKS;
			if (tp->delack_armed || tp->rcv_unacked) {
				tcp_send_ack(st, tp);
			}
		} else {
			tp->quickacks = 0;
		}
		return 0;
	case STACK_TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		tp->user_timeout_ms = (uint32_t)v;
		return 0;
	case STACK_TCP_DEFER_ACCEPT:
	case STACK_TCP_WINDOW_CLAMP:
		return 0; /* accepted, no effect yet */
	}
	return -ENOPROTOOPT;
}

/* Linux's numbering of TCP states (include/net/tcp_states.h). */
static uint8_t linux_state(uint8_t s)
{
	static const uint8_t map[] = {
	    [TCPS_CLOSED] = 7,      [TCPS_LISTEN] = 10,    [TCPS_SYN_SENT] = 2,
	    [TCPS_SYN_RECEIVED] = 3, [TCPS_ESTABLISHED] = 1, [TCPS_FIN_WAIT_1] = 4,
	    [TCPS_FIN_WAIT_2] = 5,  [TCPS_CLOSE_WAIT] = 8, [TCPS_CLOSING] = 11,
	    [TCPS_LAST_ACK] = 9,    [TCPS_TIME_WAIT] = 6,
	};
	return s < sizeof(map) ? map[s] : 7;
}

static uint32_t ms_since(const struct stack *st, stack_ns_t t)
{
	if (!t || t > st->now)
		return 0;
	return (uint32_t)((st->now - t) / STACK_NS_PER_MS);
}

static void tcp_info_fill(struct stack *st, const struct tcb *tp, struct stack_tcp_info *ti)
{
	uint32_t mss = tp->mss ? tp->mss : OPT_TCP_DEFAULT_MSS4;
	uint32_t inflight = tp->snd_max - tp->snd_una;

	memset(ti, 0, sizeof(*ti));
	ti->state = linux_state(tp->state);
	ti->ca_state = tp->retransmits ? 4 /* loss */ : tp->in_recovery ? 3 /* recovery */ : 0;
	ti->retransmits = (uint8_t)(tp->retransmits > 255 ? 255 : tp->retransmits);
	ti->probes = tp->probes;
	ti->backoff = tp->backoff;
	ti->options = (uint8_t)((tp->ts_ok ? 1 : 0) | (tp->sack_ok ? 2 : 0) | (tp->ws_ok ? 4 : 0));
	if (tp->ws_ok) {
		ti->snd_wscale = tp->snd_wscale & 15;
		ti->rcv_wscale = tp->rcv_wscale & 15;
	}
	ti->rto = tp->rto_us;
	ti->ato = tp->ato_us;
	ti->snd_mss = mss;
	ti->rcv_mss = tp->peer_mss ? tp->peer_mss : mss;
	ti->unacked = (inflight + mss - 1) / mss;
	ti->last_data_recv = ms_since(st, tp->last_rcv);
	ti->last_ack_recv = ms_since(st, tp->last_heard);
	ti->pmtu = mss + 40;
	ti->rcv_ssthresh = tp->rcvbuf;
	ti->rtt = tp->srtt_us;
	ti->rttvar = tp->rttvar_us;
	ti->snd_ssthresh = tp->ssthresh >= (1u << 30) ? 0x7fffffff : tp->ssthresh / mss;
	ti->snd_cwnd = tp->cwnd / mss;
	ti->advmss = tp->adv_mss;
	ti->reordering = OPT_TCP_DUPTHRESH;
	ti->rcv_space = tp->rcvbuf;
	ti->total_retrans = tp->total_retrans;
	ti->bytes_acked = tp->bytes_acked;
	ti->bytes_received = tp->bytes_received;
	ti->bytes_sent = tp->bytes_sent;
	ti->bytes_retrans = tp->bytes_retrans;
	ti->segs_out = tp->segs_out;
	ti->segs_in = tp->segs_in;
	ti->data_segs_out = tp->data_segs_out;
	ti->data_segs_in = tp->data_segs_in;
	ti->rcv_ooopack = tp->rcv_ooopack;
	/* the scoreboard, in segments as Linux counts them (sacked_out,
	 * lost_out, retrans_out) */
	ti->sacked = (tp->sacked_bytes + mss - 1) / mss;
	ti->lost = (tp->lost_bytes + mss - 1) / mss;
	ti->retrans = (tp->rxt_bytes + mss - 1) / mss;
	/* (at least 1 µs, as Linux's samples: loopback answers at once) */
	ti->min_rtt = !tp->rack_min_rtt_ok ? UINT32_MAX
		      : tp->rack_min_rtt < 1000u ? 1 : (uint32_t)(tp->rack_min_rtt / 1000u);
	ti->delivered = tp->delivered;
	ti->delivery_rate = tcp_rate_bps(tp);
	ti->app_limited = tp->rate_app_limited;
	/* Linux's chronographs: busy counts the limited times too */
	ti->rwnd_limited = tcp_chrono_time(st, tp, TCP_CHRONO_RWND) / 1000u;
	ti->sndbuf_limited = tcp_chrono_time(st, tp, TCP_CHRONO_SNDBUF) / 1000u;
	ti->busy_time = tcp_chrono_time(st, tp, TCP_CHRONO_BUSY) / 1000u + ti->rwnd_limited + ti->sndbuf_limited;
	ti->rcv_rtt = tp->rcv_rtt8 / 8;
	ti->dsack_dups = tp->dsacks;
	ti->reord_seen = tp->reord_seen;
	ti->last_data_sent = ms_since(st, tp->last_data_sent);
	/* Linux tcp_update_pacing_rate: cwnd per SRTT, doubled in slow
	 * start, 1.2 times after (tcp_pacing_ss_ratio, _ca_ratio); no
	 * SO_MAX_PACING_RATE, so the maximum is ~0 as Linux shows it */
	if (tp->srtt_us) {
		uint64_t rate = (uint64_t)tp->cwnd * 1000000u / tp->srtt_us;

		ti->pacing_rate = rate * (tp->cwnd < tp->ssthresh / 2 ? 200 : 120) / 100;
	}
	if (tcp_cc_pacing_rate(tp)) /* BBR's own (not applied: no pacing) */
		ti->pacing_rate = tcp_cc_pacing_rate(tp);
	ti->max_pacing_rate = UINT64_MAX;
	ti->notsent_bytes = tp->sndq_bytes > inflight ? tp->sndq_bytes - inflight : 0;
	ti->snd_wnd = tp->snd_wnd;
}

int tcp_getopt(struct stack *st, struct ep *e, int level, int name, void *val, size_t *len)
{
	struct tcb *tp = tcb_of(st, e);
	int v;

	if (level == STACK_SOL_TCP && name == STACK_TCP_INFO) {
		struct stack_tcp_info ti;
		size_t n = *len < sizeof(ti) ? *len : sizeof(ti);

		tcp_info_fill(st, tp, &ti);
		memcpy(val, &ti, n);
		*len = n;
		return 0;
	}
	if (level == STACK_SOL_TCP && name == STACK_TCP_CONGESTION) {
		char buf[16] = {0}; /* TCP_CA_NAME_MAX */
		size_t n = *len < sizeof(buf) ? *len : sizeof(buf);

		strlcpy(buf, tcp_cc_name(tp), sizeof(buf));
		memcpy(val, buf, n);
		*len = n;
		return 0;
	}

	if (level == STACK_SOL_SOCKET) {
		switch (name) {
		case STACK_SO_LINGER: {
			int l[2] = {tp->linger_on, tp->linger_s};
			size_t n = *len < sizeof(l) ? *len : sizeof(l);

			memcpy(val, l, n);
			*len = n;
			return 0;
		}
		case STACK_SO_KEEPALIVE: v = tp->keepalive; break;
		case STACK_SO_OOBINLINE: v = tp->oob_inline; break;
		case STACK_SO_ACCEPTCONN: v = tp->state == TCPS_LISTEN; break;
		case STACK_SO_RCVBUF: v = (int)tp->rcvbuf; break;
		case STACK_SO_SNDBUF: v = (int)tp->sndbuf; break;
		default: return -ENOPROTOOPT;
		}
	} else {
		switch (name) {
		case STACK_TCP_NODELAY: v = tp->nodelay; break;
		case STACK_TCP_CORK: v = tp->cork; break;
		case STACK_TCP_MAXSEG:
			v = tp->state >= TCPS_ESTABLISHED ? tp->mss
				: (tp->user_mss ? tp->user_mss : OPT_TCP_DEFAULT_MSS4);
			break;
		case STACK_TCP_KEEPIDLE: v = (int)tp->keepidle_s; break;
		case STACK_TCP_KEEPINTVL: v = (int)tp->keepintvl_s; break;
		case STACK_TCP_KEEPCNT: v = tp->keepcnt; break;
		case STACK_TCP_SYNCNT: v = tp->syn_retries ? tp->syn_retries : OPT_TCP_SYN_RETRIES; break;
		case STACK_TCP_LINGER2:
			v = tp->linger2_s ? tp->linger2_s : OPT_TCP_FIN_TIMEOUT_S;
			break;
		case STACK_TCP_QUICKACK: v = !tp->quickack_off; break; /* !pingpong */
		case STACK_TCP_USER_TIMEOUT: v = (int)tp->user_timeout_ms; break;
		default: return -ENOPROTOOPT;
		}
	}
	if (*len >= sizeof(int)) {
		memcpy(val, &v, sizeof(int));
		*len = sizeof(int);
	} else {
		*(uint8_t *)val = (uint8_t)v;
		*len = 1;
	}
	return 0;
}
