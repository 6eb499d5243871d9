/*
 * tcp.h — TCP's private state and the calls between tcp*.c (RFC 9293).
 *   tcp_input.c   segment arrival: demux, the state machine, ACK and data
 *   tcp_output.c  what to send and building segments; RST and ACK replies
 *   tcp_timer.c   retransmission, persist, delayed ACK, keepalive, TIME_WAIT
 *   tcp_syncookie.c  SYN cookies when a listener's SYN queue is full
 *   tcp.c         the endpoint side: connect, listen, accept, send, receive,
 *                 shutdown, close, options, readiness, the TIME_WAIT table
 */
#ifndef NETSHIM_TCP_H
#define NETSHIM_TCP_H

#include "priv.h"

/* Wrap-safe sequence comparisons (RFC 9293 §3.4; RFC 1982 style). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

/* TCP header, RFC 9293 §3.1 */
#define TCP_HLEN 20
#define TCP_SPORT 0
#define TCP_DPORT 2
#define TCP_SEQ 4
#define TCP_ACK 8
#define TCP_OFF 12 /* data offset << 4 */
#define TCP_FLAGS 13
#define TCP_WIN 14
#define TCP_CSUM 16
#define TCP_URP 18
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TCP_MAX_OPTLEN 40

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WS 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8

enum tcp_state {
	TCPS_CLOSED,
	TCPS_LISTEN,
	TCPS_SYN_SENT,
	TCPS_SYN_RECEIVED,
	TCPS_ESTABLISHED,
	TCPS_FIN_WAIT_1,
	TCPS_FIN_WAIT_2,
	TCPS_CLOSE_WAIT,
	TCPS_CLOSING,
	TCPS_LAST_ACK,
	TCPS_TIME_WAIT,
};

/* Options parsed from one segment. */
struct tcp_opts {
	uint16_t mss;
	uint8_t ws;       /* shift, when has_ws */
	bool has_mss, has_ws, sack_perm, has_ts;
	uint32_t tsval, tsecr;
	uint8_t nsack;    /* SACK blocks (RFC 2018 §3), in the order sent */
	uint32_t sack[4][2];
};

/* A range of sequence space the peer has SACKed: [start, end). */
struct tcp_sackblk {
	uint32_t start, end;
};

/* One transmission record: a segment we sent, the sequence space it
 * covered (a FIN counts), when it last went out (RFC 8985 §6.1,
 * Segment.xmit_ts) and what the scoreboard knows of it.  Records come
 * from a pool in the arena (tcp_sack.c) and sit on two lists of their
 * connection: txq in sequence order, covering [snd_una, snd_max) without
 * gaps or overlaps; txtq in order of sending, holding only the records
 * still in flight as far as we know (neither SACKed nor marked lost
 * and waiting for a resend) — the ones RACK looks at. */
struct tcp_txrec {
	TAILQ_ENTRY(tcp_txrec) link;  /* txq (or the pool's free list) */
	TAILQ_ENTRY(tcp_txrec) tlink; /* txtq, when TXR_TIMED */
	uint32_t start, end;
	stack_ns_t xmit_ts;           /* the latest (re)transmission */
	uint32_t order;               /* ...its place in the connection's sending */
	uint8_t flags;                /* TXR_* */
	uint8_t app_limited;          /* sent while the program was the limit */
	/* the connection's delivery when it was sent (tcp_rate.c) */
	uint32_t delivered;           /* delivered_bytes */
	stack_ns_t delivered_ts, first_tx_ts;
};
TAILQ_HEAD(txrec_list, tcp_txrec);
#define TXR_SACKED 0x01 /* the peer holds all of it (RFC 2018) */
#define TXR_LOST 0x02   /* found lost (RACK, a timeout) and not SACKed since */
#define TXR_RXT 0x04    /* resent, and the resend still counts in flight */
#define TXR_EVER 0x08   /* resent at least once (RFC 8985 Segment.retransmitted) */
#define TXR_TIMED 0x10  /* on txtq */
#define TXR_RESERVE 0x20 /* the tcb's own record, never in the pool */

/* One segment as parsed from the wire. */
struct tcp_seg {
	uint32_t seq, ack;
	uint16_t wnd, urp;
	uint8_t flags;
	uint32_t len;     /* payload bytes */
	struct tcp_opts opt;
};

/* What the rexmit timer is doing. */
enum tcp_rexmit_mode { TRX_RTO, TRX_PERSIST, TRX_TLP, TRX_REO };

/* BBR's bandwidth filter: 10 round trips (Linux's bbr_bw_rtts, the gain
 * cycle's 8 + 2). */
#define TCP_BBR_BW_ROUNDS 10
enum tcp_bbr_mode { TCP_BBR_STARTUP, TCP_BBR_DRAIN, TCP_BBR_PROBE_BW, TCP_BBR_PROBE_RTT };

struct tcb {
	uint8_t state;         /* enum tcp_state */
	uint8_t orphan;        /* the application closed its handle */
	uint8_t hashed;        /* in st->tcp_hash */
	uint8_t listening;     /* on st->tcp_listeners */
	/* the connection's addresses as they go on the wire */
	uint8_t wfamily;
	uint16_t lport, rport;
	uint8_t laddr[16], raddr[16];

	/* RFC 9293 §3.3.1 send sequence variables */
	uint32_t snd_una;      /* oldest unacknowledged */
	uint32_t snd_nxt;      /* next to send */
	uint32_t snd_max;      /* highest sent + 1 */
	uint32_t snd_wnd;      /* peer's window, bytes */
	uint32_t max_sndwnd;   /* largest window the peer offered */
	uint32_t snd_wl1, snd_wl2; /* segment seq / ack of the last window update */
	uint32_t iss;
	uint32_t snd_up;       /* urgent pointer (seq past the urgent byte) */
	uint8_t urg_out;       /* snd_up is live */
	/* receive sequence variables */
	uint32_t rcv_nxt;
	uint32_t rcv_adv;      /* right edge we advertised */
	uint32_t irs;
	/* options (RFC 7323, RFC 2018) */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t ws_ok, ts_ok, sack_ok;
	uint16_t peer_mss;     /* MSS the peer announced */
	uint16_t adv_mss;      /* MSS we announced */
	uint16_t mss;          /* payload bytes per segment, options excluded */
	uint16_t user_mss;     /* TCP_MAXSEG, 0 = none */
	uint32_t ts_recent;    /* RFC 7323 §4.3 */
	stack_ns_t ts_recent_stamp;
	uint32_t ts_offset;    /* random per connection (RFC 7323 §5.4) */

	/* round trip, RFC 6298, in microseconds */
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t rtt_seq;      /* timed segment (Karn) */
	stack_ns_t rtt_start;
	uint8_t rtt_timing;
	uint8_t backoff;       /* RTO doublings */
	uint8_t rexmit_mode;   /* enum tcp_rexmit_mode */
	uint8_t syn_retries;   /* TCP_SYNCNT, 0 = default */
	uint16_t retransmits;  /* consecutive timeouts */
	stack_ns_t retrans_stamp; /* when the oldest unacked data was sent */

	/* congestion control (tcp_cc.c): IW10 (RFC 6928), the algorithm
	 * by index, CUBIC's state (segments, seconds) and HyStart++'s */
	uint32_t cwnd, ssthresh;
	uint8_t cc;            /* enum tcp_cc_algo */
	uint8_t hs_done;       /* HyStart++ finished (or a loss came first) */
	uint8_t hs_samples;
	uint32_t hs_round_end, hs_cur_min, hs_last_min;
	stack_ns_t cub_epoch;  /* start of this congestion-avoidance epoch, 0 = none */
	double cub_wmax, cub_k, cub_west;
	/* BBR (tcp_cc.c; Linux tcp_bbr.c): the path model — the windowed
	 * maximum delivery rate (bytes/s, the largest of each of the last
	 * TCP_BBR_BW_ROUNDS round trips) and minimum RTT — and the mode */
	uint64_t bbr_bw[TCP_BBR_BW_ROUNDS];
	uint64_t bbr_full_bw;      /* bandwidth at the last 25 % growth */
	uint64_t bbr_pacing_rate;  /* bytes/s, as Linux would pace */
	stack_ns_t bbr_min_rtt, bbr_min_rtt_stamp; /* STACK_NS_NEVER: none yet */
	stack_ns_t bbr_probe_rtt_done; /* when PROBE_RTT may end, 0: not set */
	uint32_t bbr_rtt_cnt;      /* round trips counted */
	uint32_t bbr_bw_round;     /* the round of the newest bbr_bw slot */
	uint32_t bbr_next_rtt_delivered; /* delivered_bytes that ends this round */
	uint32_t bbr_prior_cwnd;   /* cwnd before recovery or PROBE_RTT */
	uint16_t bbr_pacing_gain, bbr_cwnd_gain; /* << 8 */
	uint8_t bbr_mode;          /* enum tcp_bbr_mode */
	uint8_t bbr_prev_state;    /* enum tcp_cc_state at the last ACK */
	uint8_t bbr_round_start, bbr_packet_conservation;
	uint8_t bbr_full_bw_reached, bbr_full_bw_cnt, bbr_probe_rtt_round_done;
	uint8_t bbr_has_seen_rtt;  /* the pacing rate was set from an SRTT */
	uint32_t dupacks;
	uint32_t recover;      /* RFC 6582 / RFC 6675 RecoveryPoint: snd_max at loss */
	uint8_t in_recovery;
	uint8_t sack_rec;      /* ...the SACK-based kind (RFC 6675) */
	uint8_t rto_rec;       /* ...after a timeout: all un-SACKed is lost */

	/* The scoreboard (tcp_sack.c): a record per segment in flight; byte
	 * totals over the records not cumulatively acknowledged, for RFC 6675
	 * SetPipe(): SACKed, marked lost, resent and still in flight */
	struct txrec_list txq, txtq;
	struct tcp_txrec txr_reserve; /* used when the pool is empty */
	uint32_t txrec_n;        /* records on txq */
	uint32_t sacked_bytes, lost_bytes, rxt_bytes;
	uint32_t lost_wait;      /* ...lost and not resent since */
	uint32_t sack_high;      /* end of the highest SACKed record, or snd_una */
	struct tcp_sackblk sack_cache[4]; /* the previous ACK's blocks */
	uint8_t sack_cache_n;
	/* RACK (RFC 8985 §6, tcp_rack.c), times in ns of the stack's clock */
	stack_ns_t rack_xmit_ts; /* RACK.xmit_ts: latest send time delivered */
	uint32_t rack_order;     /* its transmission's order (RACK.end_seq's part) */
	uint32_t tx_order;       /* transmissions so far, the order of the next */
	uint32_t rack_fack;      /* RACK.fack: highest end delivered */
	stack_ns_t rack_rtt;     /* RACK.rtt */
	stack_ns_t rack_min_rtt; /* RACK.min_RTT, windowed, when rack_min_rtt_ok */
	stack_ns_t rack_min_rtt_stamp;
	uint32_t rack_dsack_round; /* RACK.dsack_round, when rack_dsack_on */
	uint8_t rack_dsack_on;
	uint8_t rack_reo_mult;   /* RACK.reo_wnd_mult */
	uint8_t rack_reo_persist; /* RACK.reo_wnd_persist */
	uint8_t rack_reord;      /* RACK.reordering_seen */
	uint8_t rack_timed;      /* RACK.xmit_ts is set */
	uint8_t rack_min_rtt_ok;
	/* tail loss probe (RFC 8985 §7) */
	uint32_t tlp_high;     /* snd_max when the probe went */
	uint8_t tlp_out;       /* a probe is out, not yet judged */
	uint32_t tlp_seq;      /* where the probe started */
	uint8_t tlp_rxt;       /* the probe was a retransmission */
	uint8_t tlp_dsacked;   /* ...and the peer D-SACKed it: nothing was lost */
	/* undo of spurious retransmissions (RFC 3522 detection by timestamps,
	 * RFC 2883 §4 by D-SACK; RFC 4015 response) */
	uint32_t undo_cwnd, undo_ssthresh;
	uint32_t undo_marker;  /* snd_una when the episode began */
	uint32_t undo_rxt_end; /* end of the highest retransmission since */
	uint32_t undo_tsval;   /* our TSval on the first retransmission */
	int32_t undo_retrans;  /* retransmissions the peer has not D-SACKed */
	uint8_t undo_ok;       /* an episode that may still be undone */
	uint8_t undo_ts;       /* undo_tsval is set and not yet judged */
	uint32_t lost_segs, dsacks, undos; /* TCP_INFO totals */
	uint32_t reord_seen;
	uint32_t rcv_mss;       /* the largest segment the peer sent, from 536 */
	uint32_t rcv_rtt8;      /* the receiver's RTT estimate, µs times 8 */
	uint32_t rcv_rtt_tsecr; /* the TSecr last measured */
	/* TCP_INFO's chronographs (Linux tcp_chrono_*): time with data to
	 * send (busy), and of it the time the peer's window or the send
	 * buffer was the limit; the highest-priority condition runs */
	uint8_t chrono_type;        /* TCP_CHRONO_*, 0: none */
	stack_ns_t chrono_start;
	stack_ns_t chrono_stat[3];  /* ns per type, BUSY first */
	/* delivery rate (tcp_rate.c): the connection's side of the estimate */
	uint32_t delivered;        /* segments delivered, the SYN's included */
	uint32_t delivered_bytes;  /* C.delivered (wraps; only differences count) */
	stack_ns_t delivered_ts;   /* C.delivered_time */
	stack_ns_t first_tx_ts;    /* C.first_sent_time */
	uint32_t app_limited;      /* C.app_limited: a delivered_bytes mark, 0 none */
	uint32_t rate_delivered;   /* the sample reported: bytes ... */
	stack_ns_t rate_interval;  /* ... over this long */
	uint8_t rate_app_limited;

	/* send buffer: bytes from snd_una on; FIN after them when fin_queued */
	struct pbufq sndq;
	uint32_t sndq_bytes;
	uint32_t sndbuf;
	uint8_t sndbuf_locked;
	struct pbuf *snd_cur;  /* cache: pbuf holding snd_cur_seq */
	uint32_t snd_cur_seq;  /* seq of the first byte of snd_cur */
	uint8_t fin_queued;    /* no more data: FIN at snd_una + sndq_bytes */
	uint8_t fin_acked;     /* ... and the peer has acknowledged it */
	uint32_t snd_sml;      /* end of the last small segment (Minshall) */
	/* SACK blocks we send (RFC 2018 §4) and D-SACK (RFC 2883) */
	uint32_t sack_last;    /* seq of the latest out-of-order arrival */
	uint32_t dsack_start, dsack_end;
	uint8_t dsack;

	/* receive buffer: in-order payload, then out-of-order segments */
	struct pbufq rcvq;
	uint32_t rcvq_bytes;
	struct pbufq ooq;      /* sorted; p->t = seq of the first byte */
	uint32_t ooq_bytes, ooq_segs;
	uint32_t rcvbuf;
	uint8_t rcvbuf_locked;
	uint32_t rcv_copied;   /* bytes read this autotuning period */
	stack_ns_t rcv_tune_time;
	uint8_t fin_rcvd;      /* the peer's FIN is in sequence */
	uint8_t rd_shut, wr_shut; /* shutdown() by the application */
	uint8_t done;          /* SOCK_DONE: peer finished normally */

	/* urgent data, BSD semantics: the byte before the urgent pointer */
	uint32_t rcv_up;
	uint8_t urg_have;      /* urg_seq is known */
	uint8_t oob_have, oob_byte, oob_inline;
	uint32_t urg_seq;

	/* ACK policy (Linux: quick ACKs at start, delayed 40-200 ms) */
	uint8_t ack_now;       /* send an ACK on the next output */
	uint8_t delack_armed;
	uint16_t quickacks;
	uint8_t quickack_off;  /* TCP_QUICKACK 0: Linux's "pingpong" mode */
	uint32_t ato_us;
	stack_ns_t last_rcv;   /* last data segment */
	uint32_t rcv_unacked;  /* bytes received since our last ACK */

	/* options */
	uint8_t nodelay, cork, keepalive;
	uint8_t linger_on;
	int linger_s;
	int linger2_s;         /* TCP_LINGER2: FIN_WAIT_2 timeout, 0 = default */
	uint32_t keepidle_s, keepintvl_s;
	uint8_t keepcnt;
	uint8_t probes;        /* keepalive / zero-window probes unanswered */
	uint32_t user_timeout_ms;
	int soft_err;          /* last ICMP soft error, reported on timeout */
	stack_ns_t last_heard; /* last segment from the peer */

	/* listen and accept */
	int parent;            /* listener's handle for queued children, -1 */
	uint32_t backlog;
	uint32_t acceptq_len, synq_len;
	TAILQ_HEAD(, tcb) acceptq; /* children ready for accept(), in order */
	TAILQ_ENTRY(tcb) q_link;   /* in the parent's acceptq */
	uint8_t in_acceptq;
	uint8_t synack_retries;
	stack_ns_t cookie_stamp; /* listener: when it last sent a SYN cookie */

	/* no challenge ACK (RFC 5961 §7) nor duplicate ACK for an unacceptable
	 * ACK or SYN before this (Linux last_oow_ack_time, 500 ms) */
	stack_ns_t oow_next;

	struct timer t_rexmit;  /* RTO, persist, SYN and SYN-ACK retries */
	struct timer t_delack;
	struct timer t_keep;    /* keepalive, FIN_WAIT_2 */
	struct timer t_cork;    /* the 200 ms ceiling of TCP_CORK / MSG_MORE */

	TAILQ_ENTRY(tcb) hash_link;
	TAILQ_ENTRY(tcb) listen_link;
	TAILQ_ENTRY(tcb) wait_link;  /* on st->tcp_waiting */
	uint8_t waiting;             /* 1: on tcp_waiting, 2: on tcp_kicking */
	uint8_t nobuf;               /* a send found no packet buffer */
	uint8_t sws_override;        /* persist fired: send what fits now */
	uint8_t pool_limited;        /* the window was cut by the pool */

	/* TCP_INFO totals (Linux's tcp_sock names; RFC 4898 for the octets) */
	uint64_t bytes_acked, bytes_received;
	uint64_t bytes_sent;          /* data octets sent, resends included */
	uint64_t bytes_retrans;       /* ... of them resends */
	uint32_t total_retrans;
	uint32_t segs_out, data_segs_out, segs_in, data_segs_in;
	uint32_t rcv_ooopack;         /* segments that arrived out of order */
	stack_ns_t last_data_sent;    /* Linux lsndtime */
};

/* A connection in TIME_WAIT: just enough to answer (RFC 9293 §3.6.1). */
struct tcp_tw {
	uint8_t used;
	uint8_t family;
	uint8_t ts_ok, rcv_wscale;
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_recent, ts_offset;
	uint16_t wnd;           /* window field of our ACKs (tw_rcv_wnd) */
	stack_ns_t oow_next;    /* no duplicate ACK for an ACK or SYN before */
	struct timer timer;
	TAILQ_ENTRY(tcp_tw) link;
};

struct tcb *tcb_of(struct stack *st, struct ep *e);
/* A connection's initial send sequence number and everything that starts
 * from it. */
void tcp_set_iss(struct tcb *tp, uint32_t iss);
/* Keyed hash of a tuple (ours first), a tag and a counter: SYN cookies
 * (tags 0, 1) and timestamp offsets (TCP_HASH_TS). */
#define TCP_HASH_TS 2
uint32_t tcp_tuple_hash(const struct stack *st, int family, const uint8_t *laddr,
			const uint8_t *raddr, uint16_t lport, uint16_t rport, uint8_t tag,
			uint32_t count);
struct ep *ep_of_tcb(struct stack *st, struct tcb *tp);

/* tcp_input.c */
/* A loss episode begins: remember what an undo gives back (RFC 4015). */
void tcp_undo_arm(struct tcb *tp);
/* Losses found (RACK, a peer without SACK blocks): RFC 6675 §5 recovery
 * begins, once per window of data. */
void tcp_enter_sack_recovery(struct stack *st, struct tcb *tp);
/* After RACK's detection: the reordering timer when it asked for one,
 * else back to the RTO / probe when that was the timer's job. */
void tcp_rack_arm(struct stack *st, struct tcb *tp, stack_ns_t timeout);
void tcp_input(struct stack *st, struct iface *ifp, struct pbuf *p);
/* An ICMP error about one of our segments (RFC 5927, RFC 1122 §4.2.3.9). */
void tcp_err(struct stack *st, const struct icmp_err *err);
bool tcp_parse_opts(const uint8_t *o, size_t len, bool syn, struct tcp_opts *out);

/* tcp_output.c */
/* Send whatever the windows, Nagle and cork allow, and a pending ACK. */
void tcp_output(struct stack *st, struct tcb *tp);
/* Send one segment of the connection: flags, seq, len bytes of the send
 * queue starting at seq (0 for none).  Returns 0 or -errno. */
int tcp_send_segment(struct stack *st, struct tcb *tp, uint8_t flags, uint32_t seq,
		     uint32_t len);
void tcp_send_ack(struct stack *st, struct tcb *tp);
/* SND.NXT, or the peer's right edge when SND.NXT lies beyond it. */
uint32_t tcp_acceptable_seq(const struct tcb *tp);
/* Send again up to max bytes (one segment at most) from seq, with the FIN
 * when it ends there; returns the sequence space sent, 0 if nothing. */
uint32_t tcp_resend(struct stack *st, struct tcb *tp, uint32_t seq, uint32_t max);
/* Send the record r again, all of it (in as many segments as the MSS
 * asks); returns the sequence space sent. */
uint32_t tcp_resend_rec(struct stack *st, struct tcb *tp, struct tcp_txrec *r);
/* An RST in reply to a segment that has no connection (RFC 9293 §3.10.7.1). */
void tcp_reply_rst(struct stack *st, const struct pbuf *p, const struct tcp_seg *seg);
/* A segment with explicit addressing (RST, TIME_WAIT ACK, cookie
 * SYN-ACK), with the options o says it has (NULL: none): has_mss, and on
 * a SYN sack_perm and has_ws (o->ws is our shift), has_ts. */
void tcp_send_raw(struct stack *st, int family, const uint8_t *src, const uint8_t *dst,
		  uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		  uint16_t wnd, const struct tcp_opts *o);
uint16_t tcp_window_field(struct stack *st, struct tcb *tp);
/* The MSS for sending now (path MTU, peer's MSS, options). */
void tcp_update_mss(struct stack *st, struct tcb *tp);
uint16_t tcp_adv_mss(struct stack *st, struct tcb *tp);
/* The same for a connection that has no tcb yet (a SYN cookie). */
uint16_t tcp_adv_mss_to(struct stack *st, int family, const uint8_t *raddr, uint16_t user_mss);

/* tcp_timer.c */
void tcp_timer_rexmit(struct stack *st, struct timer *t);
void tcp_timer_delack(struct stack *st, struct timer *t);
void tcp_timer_keep(struct stack *st, struct timer *t);
void tcp_timer_tw(struct stack *st, struct timer *t);
void tcp_timer_cork(struct stack *st, struct timer *t);
void tcp_arm_rexmit(struct stack *st, struct tcb *tp);
/* Data in flight: the tail loss probe when RFC 8985 §7.2 allows, else
 * the retransmission timer. */
void tcp_arm_rto_tlp(struct stack *st, struct tcb *tp);
void tcp_rtt_sample(struct stack *st, struct tcb *tp, uint32_t rtt_us);
void tcp_arm_keepalive(struct stack *st, struct tcb *tp);
void tcp_schedule_ack(struct stack *st, struct tcb *tp);
/* Linux's retransmits_timed_out(): has this episode lasted too long? */
bool tcp_timed_out(struct stack *st, struct tcb *tp, unsigned boundary, stack_ns_t rto_base);

/* tcp.c */
void tcp_set_state(struct stack *st, struct tcb *tp, enum tcp_state s);
/* The connection failed or was reset: report err, free or close. */
void tcp_drop(struct stack *st, struct tcb *tp, int err);
/* Done (CLOSED): free the slot when orphaned, else keep a closed socket. */
void tcp_done(struct stack *st, struct tcb *tp);
/* Into TIME_WAIT: the connection moves to the TIME_WAIT table. */
void tcp_time_wait(struct stack *st, struct tcb *tp);
void tcp_hash(struct stack *st, struct tcb *tp);
void tcp_unhash(struct stack *st, struct tcb *tp);
struct tcb *tcp_lookup(struct stack *st, int family, const uint8_t *laddr, uint16_t lport,
		       const uint8_t *raddr, uint16_t rport);
struct tcb *tcp_lookup_listener(struct stack *st, int family, const uint8_t *laddr,
				uint16_t lport);
struct tcp_tw *tcp_lookup_tw(struct stack *st, int family, const uint8_t *laddr,
			     uint16_t lport, const uint8_t *raddr, uint16_t rport);
void tcp_tw_free(struct stack *st, struct tcp_tw *tw);
/* A child for a SYN to listener lp (NULL when no endpoint is free; the
 * caller checked the queues). */
struct tcb *tcp_new_child(struct stack *st, struct tcb *lp, int family, const uint8_t *laddr,
			  uint16_t lport, const uint8_t *raddr, uint16_t rport);
/* The child completed its handshake: queue it for accept (false: full). */
bool tcp_child_ready(struct stack *st, struct tcb *child);
/* A child rebuilt from a SYN cookie, queued for accept() at once (the
 * caller checked the queue has room and makes it ESTABLISHED); NULL when
 * no endpoint is free. */
struct tcb *tcp_new_cookie_child(struct stack *st, struct tcb *lp, int family, const uint8_t *laddr,
				 uint16_t lport, const uint8_t *raddr, uint16_t rport);
uint32_t tcp_rcv_space(struct stack *st, struct tcb *tp);
uint32_t tcp_isn(struct stack *st, const struct tcb *tp);

/* tcp_sack.c — transmission records and the scoreboard */
/* What one ACK delivered, gathered for RACK (tcp_rack.c). */
struct tcp_ackstate {
	uint32_t fack_before, fack; /* RACK.fack before the ACK; the highest end delivered */
	uint32_t tsecr;
	bool has_tsecr, delivered, sampled, newest, reord;
	stack_ns_t min_sample;      /* smallest RTT of a record sent once */
	stack_ns_t newest_ts;       /* the most recently sent record delivered */
	uint32_t newest_order;
	/* the delivery rate sample (tcp_rate.c) */
	bool rs_have, rs_app_limited, rs_retrans;
	uint32_t rs_prior;          /* delivered_bytes when its record was sent */
	stack_ns_t rs_send_elapsed, rs_ack_elapsed;
	uint32_t rs_delivered;      /* tcp_rate_gen: the sample, bytes ... */
	stack_ns_t rs_interval;     /* ...over this long (0: none valid) */
};
void tcp_txrec_pool_init(struct stack *st, struct tcp_txrec *recs, uint32_t n);
void tcp_tx_init(struct tcb *tp);
void tcp_tx_free_all(struct stack *st, struct tcb *tp);
/* May new data go out now (a record for it, or one to extend)? */
bool tcp_tx_can_send_new(const struct stack *st, const struct tcb *tp);
/* [seq, end) of sequence space went out now, new or again. */
void tcp_tx_sent(struct stack *st, struct tcb *tp, uint32_t seq, uint32_t end);
/* snd_una moved: the records below it go (to RACK if newly delivered). */
void tcp_tx_acked(struct stack *st, struct tcb *tp, struct tcp_ackstate *as);
/* The SACK blocks of an ACK: returns the bytes newly SACKed; a D-SACK
 * block goes to *ds (and *dsack = true). */
uint32_t tcp_sack_input(struct stack *st, struct tcb *tp, const struct tcp_opts *o, uint32_t ack,
			struct tcp_sackblk *ds, bool *dsack, struct tcp_ackstate *as);
/* Forget what the peer SACKed (RFC 2018 §8): those records are lost. */
void tcp_sack_reset(struct tcb *tp);
/* r is lost (false if SACKed); a resend in flight with it. */
bool tcp_tx_mark_lost(struct stack *st, struct tcb *tp, struct tcp_txrec *r);
/* An undo: nothing is lost after all. */
void tcp_tx_unmark_lost(struct tcb *tp);
/* The resends in flight were dropped (a shut window): lost again. */
void tcp_tx_resends_lost(struct tcb *tp);
/* RFC 6675 SetPipe(): bytes presumed in the network. */
uint32_t tcp_sack_pipe(const struct tcb *tp);
/* RFC 6675 NextSeg() rule 1: the first record lost and not yet resent
 * (after `after`, when not NULL: a walk resumes where it was). */
struct tcp_txrec *tcp_sack_next_lost(const struct tcb *tp, struct tcp_txrec *after);

/* tcp_rack.c — RACK (RFC 8985 §6) */
void tcp_rack_init(struct tcb *tp);
/* RACK.min_RTT (also TCP_INFO's min_rtt, fed from every RTT sample of a
 * connection without SACK). */
void tcp_rack_min_rtt_sample(struct stack *st, struct tcb *tp, stack_ns_t rtt);
void tcp_rack_ack_begin(const struct tcb *tp, const struct tcp_seg *seg, struct tcp_ackstate *as);
void tcp_rack_delivered(struct stack *st, struct tcb *tp, const struct tcp_txrec *r, bool cum,
			struct tcp_ackstate *as);
/* Steps 1-4 once the ACK's records are all in. */
void tcp_rack_ack_done(struct stack *st, struct tcb *tp, const struct tcp_ackstate *as, bool dsack);
/* Step 5: marks what is overdue lost, returns how many; *timeout (0:
 * none) is when the reordering timer should look again. */
unsigned tcp_rack_detect_loss(struct stack *st, struct tcb *tp, stack_ns_t *timeout);
unsigned tcp_rack_mark_on_rto(struct stack *st, struct tcb *tp);
stack_ns_t tcp_rack_reo_wnd(const struct tcb *tp);
/* A fast or timeout recovery ended (the reordering window's decay). */
void tcp_rack_recovery_done(struct tcb *tp);

/* TCP_INFO's chronographs (tcp_output.c), in priority order */
#define TCP_CHRONO_BUSY 1
#define TCP_CHRONO_RWND 2
#define TCP_CHRONO_SNDBUF 3
void tcp_chrono_start(struct stack *st, struct tcb *tp, uint8_t type);
void tcp_chrono_stop(struct stack *st, struct tcb *tp, uint8_t type);
/* Time spent in type so far, the running interval included. */
stack_ns_t tcp_chrono_time(const struct stack *st, const struct tcb *tp, uint8_t type);

/* tcp_rate.c — delivery rate estimation (TCP_INFO) */
void tcp_rate_sent(struct stack *st, struct tcb *tp, struct tcp_txrec *r);
void tcp_rate_delivered(struct stack *st, struct tcb *tp, struct tcp_txrec *r, struct tcp_ackstate *as);
/* After RACK has taken the ACK's RTT samples. */
void tcp_rate_gen(struct stack *st, struct tcb *tp, struct tcp_ackstate *as);
/* The program writes: is it the limit? */
void tcp_rate_check_app_limited(struct tcb *tp);
/* The latest sample kept, in bytes per second (0: none yet). */
uint64_t tcp_rate_bps(const struct tcb *tp);

/* tcp_syncookie.c — SYN cookies (RFC 4987 §3.6, Linux syncookies.c).
 * The ISN of a cookie SYN-ACK is, for the connection's tuple T and the
 * peer's ISN, with H a keyed SipHash (the key of RFC 6528 ISNs) and c a
 * counter of 60 s ticks:
 *   H(T, 0) + peer ISN + (c << 24) + ((H(T, c) + MSS index) mod 2^24)
 * With timestamps, the low 6 bits of our TSval carry the peer's window
 * scale (15: none) and SACK-permitted (bit 4), echoed back in TSecr. */
struct tcp_cookie {
	uint32_t iss; /* our ISN: the cookie */
	uint16_t mss; /* the peer's MSS, rounded down to the table */
	uint8_t ws;   /* the peer's window scale, when ws_ok */
	bool ts_ok, ws_ok, sack_ok;
	uint32_t ts_offset; /* our timestamp offset for this tuple */
	uint16_t wnd;	    /* the window our SYN-ACK offered */
};
/* Answer the SYN seg to listener lp statelessly. */
void tcp_cookie_synack(struct stack *st, struct tcb *lp, const struct pbuf *p,
		       const struct tcp_seg *seg);
/* Has lp sent a cookie recently enough for an ACK to be one? */
bool tcp_cookie_recent(const struct stack *st, const struct tcb *lp);
/* An ACK to lp that may complete a cookie handshake: true and *ck filled
 * when ack - 1 is a cookie of the last two ticks for seq - 1 and the
 * options check out; counted as tcp_syncookies_recv or _failed. */
bool tcp_cookie_check(struct stack *st, const struct tcb *lp, const struct pbuf *p,
		      const struct tcp_seg *seg, struct tcp_cookie *ck);
/* The pieces, for the tests: the MSS table of a family, the ISN, the
 * check (0: not a cookie, else the MSS), the TSval with options. */
unsigned tcp_cookie_msstab(int family, const uint16_t **tab);
uint32_t tcp_cookie_isn(struct stack *st, const struct pbuf_meta *m, uint32_t peer_isn,
			uint16_t peer_mss, uint16_t *mss);
uint16_t tcp_cookie_mss(struct stack *st, const struct pbuf_meta *m, uint32_t peer_isn,
			uint32_t cookie);
uint32_t tcp_cookie_tsval(uint32_t ts_now, const struct tcp_opts *syn);

/* tcp_cc.c */
enum tcp_cc_algo { TCP_CC_RENO, TCP_CC_CUBIC, TCP_CC_BBR };
/* Where loss recovery stands, as an algorithm that sets cwnd itself sees
 * it (Linux's TCP_CA_Open/Disorder, TCP_CA_Recovery, TCP_CA_Loss). */
enum tcp_cc_state { TCP_CC_OPEN, TCP_CC_RECOVERY, TCP_CC_LOSS };
/* What one ACK told the congestion control (Linux's struct rate_sample). */
struct tcp_cc_sample {
	uint32_t acked;           /* bytes newly ACKed or SACKed */
	uint32_t losses;          /* records newly marked lost */
	bool have_prior;          /* a record sent once or more was delivered: */
	uint32_t prior_delivered; /* ...delivered_bytes when the newest one was sent */
	uint32_t delivered;       /* a rate sample: bytes delivered ... */
	stack_ns_t interval;      /* ...over this long (0: no valid sample) */
	bool app_limited;
	stack_ns_t rtt;           /* an RTT of a record sent once (0: none) */
};
void tcp_cc_init(struct stack *st, struct tcb *tp);
void tcp_cc_ack(struct stack *st, struct tcb *tp, uint32_t acked);
void tcp_cc_loss(struct stack *st, struct tcb *tp);
/* Does the connection's algorithm set cwnd itself on every ACK (Linux's
 * cong_control: BBR), so loss recovery must leave cwnd to it? */
bool tcp_cc_controls(const struct tcb *tp);
/* ...then this, on every ACK once loss recovery has had its say. */
void tcp_cc_control(struct stack *st, struct tcb *tp, const struct tcp_cc_sample *rs);
/* A timeout: the algorithm starts over its round (Linux's CA_Loss). */
void tcp_cc_timeout(struct stack *st, struct tcb *tp);
/* A reduction was undone (Linux's undo_cwnd). */
void tcp_cc_undo(struct stack *st, struct tcb *tp);
/* The pacing rate the algorithm would use, bytes/s (0: Linux's default). */
uint64_t tcp_cc_pacing_rate(const struct tcb *tp);
/* The algorithm by name, -1 if none: for stack_config.tcp_congestion. */
int tcp_cc_by_name(const char *name);
void tcp_cc_rtt(struct stack *st, struct tcb *tp, uint32_t rtt_us);
int tcp_cc_set(struct stack *st, struct tcb *tp, const char *name);
const char *tcp_cc_name(const struct tcb *tp);
double tcp_cubic_window(double t, double k, double w_max);
/* Bytes the window lets us advertise now (RFC 9293 §3.8.6.2.2). */
void tcp_wakeup(struct stack *st, struct tcb *tp);
/* Wait for the link or the pools: tcp_kick() resumes waiters. */
void tcp_wait_resources(struct stack *st, struct tcb *tp);
/* windows: also announce windows the pool had cut (from stack_poll only,
 * never from the link's pull, which would make a pull-ACK-pull cycle). */
void tcp_kick(struct stack *st, bool windows);
/* Seq of the end of queued data (where the FIN goes). */
static inline uint32_t tcp_data_end(const struct tcb *tp) { return tp->snd_una + tp->sndq_bytes; }

/* endpoint glue used by ep.c */
int tcp_open(struct stack *st, struct ep *e);
int tcp_bind(struct stack *st, struct ep *e, const struct stack_sockaddr *a);
int tcp_connect(struct stack *st, struct ep *e, const struct stack_sockaddr *a);
int tcp_listen(struct stack *st, struct ep *e, int backlog);
int tcp_accept(struct stack *st, struct ep *e, struct stack_sockaddr *peer);
ssize_t tcp_send(struct stack *st, struct ep *e, const struct iovec *iov, int iovcnt,
		 int flags);
ssize_t tcp_recv(struct stack *st, struct ep *e, const struct iovec *iov, int iovcnt,
		 int flags, int *msg_flags);
int tcp_shutdown(struct stack *st, struct ep *e, int how);
void tcp_close(struct stack *st, struct ep *e);
unsigned tcp_events(struct stack *st, struct ep *e);
int tcp_pending(struct stack *st, struct ep *e);
int tcp_acceptq(struct stack *st, struct ep *e);
int tcp_unsent(struct stack *st, struct ep *e);
int tcp_setopt(struct stack *st, struct ep *e, int level, int name, const void *val,
	       size_t len);
int tcp_getopt(struct stack *st, struct ep *e, int level, int name, void *val, size_t *len);

#endif
