/*
 * test_tcp_conn.c — TCP connections (stack/tcp*.c) at the packet level:
 * handshakes with every option on and off, simultaneous open, SYN and
 * SYN-ACK retransmission, RST generation and the errors a program sees
 * (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE), half-close, teardown
 * (TIME_WAIT, FIN_WAIT_2, LINGER), listen queues and keepalive.
 * The remote side is the scripted peer of tcp_peer.c.  Linux is the
 * reference for every expected value; the kernel function a rule comes
 * from is named next to it.
 */
#include <errno.h>

#include "tcp_peer.h"

#define MS STACK_NS_PER_MS
#define SEC STACK_NS_PER_S

static struct harness h;
static struct tp_conn c, c2, c3, c4;
static struct tp_seg s;
static uint8_t data[1 << 20], buf[1 << 20];

static void setup(void)
{
	tp_setup(&h);
}
static void teardown(void)
{
	tp_teardown(&h);
}

static struct tp_cfg cfg4(void)
{
	return tp_cfg(STACK_AF_INET);
}
static struct tp_cfg cfg6(void)
{
	return tp_cfg(STACK_AF_INET6);
}

/* The stack sends n bytes and the peer checks the segments carry at most
 * mss bytes each, then ACKs them all. */
static void send_and_check_mss(struct tp_conn *k, size_t n, size_t mss, bool ts)
{
	size_t got = 0, full = 0;

	fill_pattern(data, n, 77);
	ck_assert_int_eq(tp_write(&h, k->fd, data, n, 0), (ssize_t)n);
	for (int round = 0; round < 4 && got < n; round++) {
		while (tp_pull(k, &s)) {
			ck_assert_uint_le(s.len, mss);
			ck_assert_int_eq(s.o.ts_on, ts);
			/* SYN-only options never appear later (RFC 7323 §2.2,
			 * RFC 2018 §2) */
			ck_assert(!s.o.mss_on && !s.o.ws_on && !s.o.sackok);
			ck_assert_mem_eq(s.data, data + got, s.len);
			got += s.len;
			full += s.len == mss;
		}
		/* a held tail (Nagle) goes once the rest is ACKed */
		tp_send_ack(k);
	}
	ck_assert_uint_eq(got, n);
	/* all but the last are full-sized */
	ck_assert_uint_eq(full, n / mss);
	tp_send_ack(k);
	ck_assert_int_eq(stack_ep_unsent(h.st, k->fd), 0);
}

/* ---- handshakes ------------------------------------------------------------ */

START_TEST(client_v4_all_options)
{
	struct tp_cfg cfg = cfg4();
	struct stack_sockaddr a;

	tp_client_syn(&c, &h, &cfg);
	/* Linux's SYN: MSS 1460, SACK-permitted, timestamps, WS 7 */
	ck_assert_uint_eq(c.syn_opts.mss, 1460);
	ck_assert_uint_eq(c.syn_opts.ws, 7);
	ck_assert_uint_ne(c.syn_opts.tsval, 0);
	/* not yet connected */
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_OUT, 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -EAGAIN);
	tp_client_finish(&c);
	/* the final ACK echoes the SYN-ACK's TSval and carries nothing else */
	ck_assert(c.last_opts.ts_on);
	ck_assert_uint_eq(c.last_opts.tsecr, tp_tsval(&c)); /* the clock did not move */
	ck_assert(!c.last_opts.mss_on && !c.last_opts.ws_on && !c.last_opts.sackok);
	/* the advertised window is now scaled by 7: about the SYN's */
	ck_assert_uint_ge(c.stack_wnd + 128, c.syn_win);
	ck_assert_uint_le(c.stack_wnd,
			  (uint32_t)tp_getint(&h, c.fd, STACK_SOL_SOCKET, STACK_SO_RCVBUF));
	ck_assert_int_eq(stack_ep_getpeername(h.st, c.fd, &a), 0);
	ck_assert_uint_eq(a.port, TP_PEER_PORT);
	ck_assert_mem_eq(a.addr, h.p4, 4);
	ck_assert_int_eq(stack_ep_getsockname(h.st, c.fd, &a), 0);
	ck_assert_mem_eq(a.addr, h.a4, 4);
	send_and_check_mss(&c, 3000, 1448, true);
	tp_close_active(&c);
}
END_TEST

START_TEST(client_v4_syn_header)
{
	struct stack_sockaddr to = h_sa(H_PEER4, 80);
	int fd = tp_open(&h, STACK_AF_INET);

	ck_assert_int_eq(stack_ep_connect(h.st, fd, &to), -EINPROGRESS);
	/* a second connect while in progress: EALREADY (inet_stream_connect) */
	ck_assert_int_eq(stack_ep_connect(h.st, fd, &to), -EALREADY);
	ck_assert(tp_pull_any(&h, &s));
	ck_assert(s.df);	      /* PMTU discovery (ip_no_pmtu_disc 0) */
	ck_assert_uint_eq(s.ttl, 64); /* ip_default_ttl */
	ck_assert_uint_eq(s.flags, TH_SYN);
	ck_assert_uint_eq(s.dport, 80);
	/* Linux's layout: MSS, SACK-permitted + TS, NOP, WS = 20 bytes */
	ck_assert_uint_eq(s.optlen, 20);
	ck_assert_int_eq(stack_ep_close(h.st, fd), 0);
	/* closing in SYN-SENT sends nothing (tcp_close: no FIN before ESTABLISHED) */
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(client_v6_all_options)
{
	struct tp_cfg cfg = cfg6();

	tp_client(&c, &h, &cfg);
	ck_assert_uint_eq(c.syn_opts.mss, 1440);
	ck_assert_uint_eq(c.syn_opts.ws, 7);
	send_and_check_mss(&c, 3000, 1428, true);
	tp_close_active(&c);
}
END_TEST

START_TEST(server_v4_all_options)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	ck_assert_uint_eq(c.syn_opts.ws, 7);
	ck_assert(c.syn_opts.sackok && c.syn_opts.ts_on);
	send_and_check_mss(&c, 5000, 1448, true);
	tp_close_active(&c);
}
END_TEST

START_TEST(server_v6_all_options)
{
	struct tp_cfg cfg = cfg6();

	tp_server(&c, &h, &cfg);
	ck_assert_uint_eq(c.stack_mss, 1440);
	send_and_check_mss(&c, 5000, 1428, true);
	tp_close_active(&c);
}
END_TEST

static struct tp_cfg no_opts(int family)
{
	struct tp_cfg cfg = tp_cfg(family);

	cfg.mss = 0;
	cfg.ws = -1;
	cfg.sackok = false;
	cfg.ts = false;
	cfg.win = 65535;
	return cfg;
}

START_TEST(server_no_options_v4)
{
	struct tp_cfg cfg = no_opts(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	/* the SYN-ACK carried MSS only (checked by the fixture) */
	ck_assert(!c.syn_opts.ws_on && !c.syn_opts.ts_on && !c.syn_opts.sackok);
	/* no MSS option from the peer: 536 (RFC 9293 §3.7.1, TCP_MSS_DEFAULT) */
	send_and_check_mss(&c, 2000, 536, false);
	/* no window scaling: the raw field is the window */
	ck_assert_uint_eq(c.rcv_ws, 0);
	ck_assert_uint_eq(c.last_optlen, 0);
	tp_close_active(&c);
}
END_TEST

START_TEST(server_no_options_v6)
{
	struct tp_cfg cfg = no_opts(STACK_AF_INET6);

	tp_server(&c, &h, &cfg);
	/* IPv6 minimum MTU 1280 - 60 (RFC 8200 §5, tcp_v6 default) */
	send_and_check_mss(&c, 3000, 1220, false);
	tp_close_active(&c);
}
END_TEST

START_TEST(client_synack_no_options)
{
	struct tp_cfg cfg = no_opts(STACK_AF_INET);

	tp_client(&c, &h, &cfg);
	ck_assert_uint_eq(c.last_optlen, 0); /* the final ACK: no TS */
	/* unscaled window: the ACK's field is the SYN's window, within 64 KiB */
	ck_assert_uint_le(c.last_win, 65535);
	ck_assert_uint_gt(c.last_win, 0);
	send_and_check_mss(&c, 2000, 536, false);
	tp_close_active(&c);
}
END_TEST

START_TEST(server_mss_only)
{
	struct tp_cfg cfg = no_opts(STACK_AF_INET);

	cfg.mss = 1000;
	tp_server(&c, &h, &cfg);
	send_and_check_mss(&c, 4500, 1000, false);
	tp_close_active(&c);
}
END_TEST

START_TEST(server_mss_larger_than_ours)
{
	struct tp_cfg cfg = no_opts(STACK_AF_INET);

	/* the peer may receive 9000; the link still limits us to 1460 */
	cfg.mss = 8960;
	tp_server(&c, &h, &cfg);
	send_and_check_mss(&c, 4000, 1460, false);
	tp_close_active(&c);
}
END_TEST

START_TEST(server_ws_without_ts)
{
	struct tp_cfg cfg = no_opts(STACK_AF_INET);

	cfg.mss = 1460;
	cfg.ws = 2;
	cfg.win = 3 * 1460; /* field 1095 << 2 */
	tp_server(&c, &h, &cfg);
	ck_assert(c.syn_opts.ws_on && !c.syn_opts.ts_on && !c.syn_opts.sackok);
	ck_assert_uint_eq(c.rcv_ws, 7);
	/* the stack applies the peer's scale: 4380 bytes, three segments */
	fill_pattern(data, 10000, 5);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 10000, 0), 10000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 1460);
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 1460, c.snd_nxt, 1460);
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 2920, c.snd_nxt, 1460);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(c.last_optlen, 0);
	/* our window is scaled by 7 */
	ck_assert_uint_ge(c.stack_wnd + 128, c.syn_win);
	tp_send_ack(&c);
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 4380, c.snd_nxt, 1460);
	tp_send_rst(&c);
}
END_TEST

START_TEST(server_ts_without_ws)
{
	struct tp_cfg cfg = no_opts(STACK_AF_INET);

	cfg.mss = 1460;
	cfg.ts = true;
	tp_server(&c, &h, &cfg);
	ck_assert(!c.syn_opts.ws_on && c.syn_opts.ts_on && !c.syn_opts.sackok);
	ck_assert_uint_eq(c.rcv_ws, 0);
	send_and_check_mss(&c, 3000, 1448, true);
	/* window unscaled: the field is bytes */
	ck_assert_uint_eq(c.stack_wnd, c.last_win);
	tp_close_active(&c);
}
END_TEST

START_TEST(server_sackok_only)
{
	struct tp_cfg cfg = no_opts(STACK_AF_INET);

	cfg.sackok = true;
	tp_server(&c, &h, &cfg);
	ck_assert(!c.syn_opts.ws_on && !c.syn_opts.ts_on && c.syn_opts.sackok);
	send_and_check_mss(&c, 1000, 536, false);
	tp_close_active(&c);
}
END_TEST

START_TEST(client_synack_ts_without_ws)
{
	struct tp_cfg cfg = no_opts(STACK_AF_INET6);

	cfg.mss = 1440;
	cfg.ts = true;
	tp_client(&c, &h, &cfg);
	/* WS needs both sides (RFC 7323 §2.2): our field is unscaled */
	ck_assert_uint_eq(c.rcv_ws, 0);
	ck_assert(c.last_opts.ts_on);
	send_and_check_mss(&c, 3000, 1428, true);
	tp_close_active(&c);
}
END_TEST

START_TEST(simultaneous_open)
{
	struct tp_cfg cfg = cfg4();
	struct tp_opts o;
	struct tp_out out;

	tp_client_syn(&c, &h, &cfg);
	/* The peer's SYN crosses ours (RFC 9293 §3.5 figure 8). */
	memset(&o, 0, sizeof(o));
	o.mss_on = true;
	o.mss = 1460;
	o.ws_on = true;
	o.ws = 7;
	o.sackok = true;
	o.ts_on = true;
	o.tsval = tp_tsval(&c);
	out = (struct tp_out){.flags = TH_SYN, .seq = c.iss, .win = 65535, .o = &o};
	tp_inject(&c, &out);
	c.snd_nxt = c.iss + 1;
	/* SYN_RECV: a SYN-ACK with our same ISN (tcp_rcv_synsent_state_process) */
	ck_assert(tp_pull_any(&h, &s));
	ck_assert_uint_eq(s.flags, TH_SYN | TH_ACK);
	ck_assert_uint_eq(s.seq, c.irs);
	ck_assert_uint_eq(s.ack, c.iss + 1);
	ck_assert(s.o.mss_on);
	tp_negotiate(&c, &s);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_OUT, 0);
	/* the peer's own SYN-ACK completes it (tcp_validate_incoming lets a
	 * SYN-ACK for a simultaneous open pass) */
	o.tsval = tp_tsval(&c);
	o.tsecr = c.ts_recent;
	out = (struct tp_out){
	    .flags = TH_SYN | TH_ACK, .seq = c.iss, .ack = c.irs + 1, .win = 65535, .o = &o};
	tp_inject(&c, &out);
	while (tp_pull(&c, &s)) /* possibly an ACK of the duplicate SYN */
		ck_assert_uint_eq(s.flags & (TH_RST | TH_SYN | TH_FIN), 0);
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_OUT, 0);
	ck_assert_int_eq(tp_so_error(&h, c.fd), 0);
	/* and it carries data both ways */
	ck_assert_int_eq(tp_write(&h, c.fd, "ping", 4, 0), 4);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.iss + 1, 4);
	ck_assert_mem_eq(s.data, "ping", 4);
	tp_send_data(&c, "pong", 4);
	tp_run(&h, 200 * MS);
	tp_flush(&c);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 4);
	ck_assert_mem_eq(buf, "pong", 4);
	tp_close_active(&c);
}
END_TEST

START_TEST(accept_two_from_one_listener)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	tp_server_more(&c2, &c, TP_PEER_SPORT + 1);
	tp_server_syn(&c2);
	tp_server_synack(&c2);
	tp_server_finish(&c2);
	ck_assert_int_ne(c.fd, c2.fd);
	/* data is demultiplexed by the four-tuple */
	tp_send_data(&c2, "two", 3);
	tp_send_data(&c, "one", 3);
	tp_run(&h, 300 * MS);
	while (tp_pull_any(&h, &s))
		tp_track(s.dport == c.pport ? &c : &c2, &s);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), 3);
	ck_assert_mem_eq(buf, "one", 3);
	ck_assert_int_eq(tp_read(&h, c2.fd, buf, 10, 0), 3);
	ck_assert_mem_eq(buf, "two", 3);
	tp_close_active(&c);
	tp_close_active(&c2);
}
END_TEST

/* ---- SYN and SYN-ACK retransmission ------------------------------------------- */

START_TEST(syn_retransmit_backoff_etimedout)
{
	struct tp_cfg cfg = cfg4();
	/* tcp_syn_retries 6: retransmissions 1, 3, 7, 15, 31, 63 s after the
	 * first SYN; ETIMEDOUT at 127 s (RTO 1 s doubling, RFC 6298 §5.5). */
	static const unsigned at[] = {1, 3, 7, 15, 31, 63};
	stack_ns_t t0;

	tp_client_syn(&c, &h, &cfg);
	t0 = h.now;
	for (unsigned i = 0; i < ARRAY_LEN(at); i++) {
		stack_ns_t due = t0 + at[i] * SEC - h.now;

		tp_expect_at(&c, &s, due, 20 * MS);
		ck_assert_uint_eq(s.flags, TH_SYN);
		ck_assert_uint_eq(s.seq, c.irs);
		ck_assert(s.o.mss_on);
		ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & (STACK_EV_ERR | STACK_EV_HUP), 0);
	}
	ck_assert_uint_eq(tp_run(&h, t0 + 127 * SEC - 50 * MS - h.now), STACK_NS_NEVER);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	tp_run(&h, 100 * MS);
	/* given up: no RST on the wire (nothing was ever answered) */
	tp_expect_nothing(&c);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & (STACK_EV_ERR | STACK_EV_HUP),
			  STACK_EV_ERR | STACK_EV_HUP);
	ck_assert_int_eq(tp_so_error(&h, c.fd), ETIMEDOUT);
	ck_assert_int_eq(tp_so_error(&h, c.fd), 0); /* SO_ERROR clears it */
	c.done = true;
}
END_TEST

START_TEST(syn_retries_tcp_syncnt)
{
	struct stack_sockaddr to = h_sa(H_PEER6, 80);
	int fd = tp_open(&h, STACK_AF_INET6);

	ck_assert_int_eq(tp_setint(&h, fd, STACK_SOL_TCP, STACK_TCP_SYNCNT, 2), 0);
	ck_assert_int_eq(tp_getint(&h, fd, STACK_SOL_TCP, STACK_TCP_SYNCNT), 2);
	ck_assert_int_eq(stack_ep_connect(h.st, fd, &to), -EINPROGRESS);
	ck_assert_uint_eq(h_drain(&h), 1);
	/* retransmissions at 1 and 3 s, ETIMEDOUT at 7 s */
	ck_assert_uint_ne(tp_run(&h, 1100 * MS), STACK_NS_NEVER);
	ck_assert_uint_eq(h_drain(&h), 1);
	ck_assert_uint_ne(tp_run(&h, 2000 * MS), STACK_NS_NEVER);
	ck_assert_uint_eq(h_drain(&h), 1);
	ck_assert_uint_eq(tp_run(&h, 3800 * MS), STACK_NS_NEVER);
	ck_assert_uint_eq(stack_ep_events(h.st, fd) & STACK_EV_ERR, 0);
	tp_run(&h, 200 * MS);
	ck_assert_uint_ne(stack_ep_events(h.st, fd) & STACK_EV_ERR, 0);
	/* the error comes from the next call too (connect reports it) */
	ck_assert_int_eq(stack_ep_connect(h.st, fd, &to), -ETIMEDOUT);
	ck_assert_uint_eq(h_pending(&h), 0);
	/* TCP_SYNCNT is 1..127 (do_tcp_setsockopt) */
	ck_assert_int_eq(tp_setint(&h, fd, STACK_SOL_TCP, STACK_TCP_SYNCNT, 0), -EINVAL);
	ck_assert_int_eq(tp_setint(&h, fd, STACK_SOL_TCP, STACK_TCP_SYNCNT, 128), -EINVAL);
}
END_TEST

START_TEST(synack_retransmit_then_gives_up)
{
	struct tp_cfg cfg = cfg4();
	/* tcp_synack_retries 5: SYN-ACKs again at 1, 3, 7, 15, 31 s; the
	 * request is dropped at 63 s (reqsk_timer_handler). */
	static const unsigned at[] = {1, 3, 7, 15, 31};
	stack_ns_t t0;
	struct tp_out o;

	tp_listen(&c, &h, &cfg);
	tp_server_syn(&c);
	tp_server_synack(&c);
	t0 = h.now;
	for (unsigned i = 0; i < ARRAY_LEN(at); i++) {
		tp_expect_at(&c, &s, t0 + at[i] * SEC - h.now, 20 * MS);
		ck_assert_uint_eq(s.flags, TH_SYN | TH_ACK);
		ck_assert_uint_eq(s.seq, c.irs);
		ck_assert_uint_eq(s.ack, c.iss + 1);
	}
	ck_assert_uint_eq(tp_run(&h, t0 + 64 * SEC - h.now), STACK_NS_NEVER);
	ck_assert_int_eq(stack_ep_accept(h.st, c.lfd, NULL), -EAGAIN);
	/* the late ACK finds no request: RST, seq = SEG.ACK (tcp_v4_send_reset) */
	o = tp_out(&c, TH_ACK);
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST, c.irs + 1, TP_ANY, 0);
	ck_assert_int_eq(stack_ep_accept(h.st, c.lfd, NULL), -EAGAIN);
	c.done = true;
}
END_TEST

START_TEST(synack_retransmit_then_completes)
{
	struct tp_cfg cfg = cfg6();

	tp_listen(&c, &h, &cfg);
	tp_server_syn(&c);
	tp_server_synack(&c);
	/* the peer's ACK was lost: the SYN-ACK comes again after 1 s */
	tp_expect_at(&c, &s, 1 * SEC, 20 * MS);
	ck_assert_uint_eq(s.flags, TH_SYN | TH_ACK);
	ck_assert_uint_eq(s.seq, c.irs);
	tp_server_finish(&c);
	tp_close_active(&c);
}
END_TEST

START_TEST(syn_retransmitted_by_peer_gets_same_synack)
{
	struct tp_cfg cfg = cfg4();

	tp_listen(&c, &h, &cfg);
	tp_server_syn(&c);
	tp_server_synack(&c);
	/* a retransmitted SYN is answered from the same request: same ISN */
	tp_server_syn(&c);
	ck_assert(tp_pull_any(&h, &s));
	ck_assert_uint_eq(s.flags, TH_SYN | TH_ACK);
	ck_assert_uint_eq(s.seq, c.irs);
	tp_server_finish(&c);
	ck_assert_int_eq(stack_ep_accept(h.st, c.lfd, NULL), -EAGAIN);
	tp_close_active(&c);
}
END_TEST

/* ---- RST generation and the errors programs see ---------------------------- */

/* A segment from the peer to a port nobody listens on. */
static void closed_port(struct tp_conn *k, int family)
{
	struct tp_cfg cfg = tp_cfg(family);

	tp_init(k, &h, &cfg);
	k->mport = 9; /* discard: nothing bound */
	k->pport = 5555;
}

START_TEST(closed_port_syn_rst_ack_v4)
{
	struct tp_out o;

	closed_port(&c, STACK_AF_INET);
	o = tp_out(&c, TH_SYN);
	tp_inject(&c, &o);
	/* no ACK in the segment: seq 0, ACK = SEG.SEQ + SEG.LEN + SYN
	 * (RFC 9293 §3.10.7.1) */
	tp_expect(&c, &s, TH_RST | TH_ACK, 0, c.iss + 1, 0);
	ck_assert_uint_eq(s.win, 0);
	ck_assert_uint_eq(s.optlen, 0);
}
END_TEST

START_TEST(closed_port_syn_rst_ack_v6)
{
	struct tp_out o;

	closed_port(&c, STACK_AF_INET6);
	o = tp_out(&c, TH_SYN);
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST | TH_ACK, 0, c.iss + 1, 0);
}
END_TEST

START_TEST(closed_port_ack_gets_rst_seq_ack)
{
	struct tp_out o;

	closed_port(&c, STACK_AF_INET);
	o = tp_out(&c, TH_ACK | TH_PSH);
	o.ack = 0xdeadbeef;
	o.data = "hello";
	o.len = 5;
	tp_inject(&c, &o);
	/* ACK set: seq = SEG.ACK, no ACK flag */
	tp_expect(&c, &s, TH_RST, 0xdeadbeef, TP_ANY, 0);
	closed_port(&c, STACK_AF_INET6);
	o = tp_out(&c, TH_ACK | TH_FIN);
	o.ack = 7;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST, 7, TP_ANY, 0);
}
END_TEST

START_TEST(closed_port_data_without_ack)
{
	struct tp_out o;

	closed_port(&c, STACK_AF_INET);
	o = tp_out(&c, TH_PSH);
	o.seq = 0xfffffffe; /* ACK = SEG.SEQ + SEG.LEN wraps */
	o.data = "abcdefghij";
	o.len = 10;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST | TH_ACK, 0, 8, 0);
	/* FIN counts one */
	o = tp_out(&c, TH_FIN);
	o.data = "abc";
	o.len = 3;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST | TH_ACK, 0, c.iss + 4, 0);
}
END_TEST

START_TEST(closed_port_no_rst_for_rst)
{
	struct tp_out o;

	closed_port(&c, STACK_AF_INET);
	o = tp_out(&c, TH_RST);
	tp_inject(&c, &o);
	o = tp_out(&c, TH_RST | TH_ACK);
	tp_inject(&c, &o);
	tp_run(&h, 10 * MS);
	tp_expect_nothing(&c);
}
END_TEST

START_TEST(closed_port_bad_checksum_no_rst)
{
	uint8_t pkt[200];
	size_t n;
	struct tp_out o = {.flags = TH_SYN, .seq = 1};

	n = tp_build(pkt, STACK_AF_INET, h.p4, h.a4, 5555, 9, &o);
	pkt[IP4_HLEN + TCP_CSUM] ^= 0x01;
	h_inject(&h, pkt, n);
	/* dropped before any reply (RFC 9293 §3.10.7.1 applies to valid
	 * segments only) */
	ck_assert_uint_eq(h_pending(&h), 0);
	/* the same for IPv6 */
	n = tp_build(pkt, STACK_AF_INET6, h.p6, h.a6, 5555, 9, &o);
	pkt[IP6_HLEN + TCP_CSUM] ^= 0x80;
	h_inject(&h, pkt, n);
	ck_assert_uint_eq(h_pending(&h), 0);
}
END_TEST

START_TEST(syn_sent_rst_econnrefused)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	tp_client_syn(&c, &h, &cfg);
	o = tp_out(&c, TH_RST | TH_ACK);
	o.seq = 0;
	o.ack = c.irs + 1;
	o.o = NULL;
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & (STACK_EV_ERR | STACK_EV_HUP),
			  STACK_EV_ERR | STACK_EV_HUP);
	ck_assert_int_eq(tp_so_error(&h, c.fd), ECONNREFUSED);
	ck_assert_int_eq(tp_so_error(&h, c.fd), 0);
	/* nothing more on the wire: no SYN retransmission */
	ck_assert_uint_eq(tp_run(&h, 5 * SEC), STACK_NS_NEVER);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -EPIPE);
	c.done = true;
}
END_TEST

START_TEST(syn_sent_rst_reported_by_next_call_v6)
{
	struct tp_cfg cfg = cfg6();
	struct tp_out o;

	tp_client_syn(&c, &h, &cfg);
	o = tp_out(&c, TH_RST | TH_ACK);
	o.ack = c.irs + 1;
	o.o = NULL;
	tp_inject(&c, &o);
	/* the pending error is returned once by the next call */
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -ECONNREFUSED);
	ck_assert_int_eq(tp_so_error(&h, c.fd), 0);
	c.done = true;
}
END_TEST

START_TEST(syn_sent_rst_bad_ack_ignored)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	tp_client_syn(&c, &h, &cfg);
	/* RFC 9293 §3.10.7.3: an RST whose ACK is not acceptable is dropped */
	o = tp_out(&c, TH_RST | TH_ACK);
	o.ack = c.irs + 1000;
	o.o = NULL;
	tp_inject(&c, &o);
	/* and an RST without ACK in SYN-SENT is dropped too */
	o.flags = TH_RST;
	o.ack = 0;
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	ck_assert_int_eq(tp_so_error(&h, c.fd), 0);
	tp_client_finish(&c);
	tp_close_active(&c);
}
END_TEST

START_TEST(syn_sent_bad_ack_gets_rst)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	tp_client_syn(&c, &h, &cfg);
	/* a SYN-ACK acknowledging something we never sent: RST with
	 * seq = SEG.ACK, and the connection attempt carries on */
	o = tp_out(&c, TH_SYN | TH_ACK);
	o.ack = c.irs + 5000;
	o.o = NULL;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST, c.irs + 5000, TP_ANY, 0);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	tp_client_finish(&c);
	tp_close_active(&c);
}
END_TEST

START_TEST(established_rst_econnreset_then_epipe)
{
	struct tp_cfg cfg = cfg4();
	unsigned ev;

	tp_server(&c, &h, &cfg);
	tp_send_rst(&c);
	tp_expect_nothing(&c);
	ev = stack_ep_events(h.st, c.fd);
	ck_assert_uint_eq(ev & (STACK_EV_ERR | STACK_EV_HUP), STACK_EV_ERR | STACK_EV_HUP);
	ck_assert_uint_ne(ev & STACK_EV_RDHUP, 0); /* tcp_poll: RCV_SHUTDOWN */
	/* the error once (sk_err), then EOF for recv and EPIPE for send */
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -ECONNRESET);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -EPIPE);
	ck_assert_int_eq(tp_so_error(&h, c.fd), 0);
	/* gone: a segment for it now meets a closed port */
	tp_send_ack(&c);
	tp_expect(&c, &s, TH_RST, c.rcv_nxt, TP_ANY, 0);
}
END_TEST

/* FIN, then a reset in CLOSE_WAIT: Linux's tcp_recvmsg sees SOCK_DONE
 * first, so reads give end of file while the reset's EPIPE waits in sk_err
 * for SO_ERROR or a send (the shim's engine once read EPIPE here). */
START_TEST(close_wait_rst_reads_eof_keeps_epipe)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	tp_send_fin(&c);
	tp_run(&h, 250 * MS);
	tp_flush(&c);
	tp_send_rst(&c);
	tp_expect_nothing(&c);
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), 0);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), 0);
	ck_assert_int_eq(tp_so_error(&h, c.fd), EPIPE);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -EPIPE);
	c.done = true;
}
END_TEST

START_TEST(established_rst_send_reports_econnreset)
{
	struct tp_cfg cfg = cfg6();

	tp_client(&c, &h, &cfg);
	tp_send_rst(&c);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -ECONNRESET);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -EPIPE);
	tp_expect_nothing(&c);
}
END_TEST

START_TEST(established_rst_out_of_window_ignored)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	tp_server(&c, &h, &cfg);
	o = tp_out(&c, TH_RST);
	o.o = NULL;
	o.seq = c.snd_nxt + (1u << 30);
	tp_inject(&c, &o);
	o.seq = c.snd_nxt - 100000;
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "ok", 2, 0), 2);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 2);
	tp_send_ack(&c);
	tp_close_active(&c);
}
END_TEST

START_TEST(established_rst_in_window_challenge_ack)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	tp_server(&c, &h, &cfg);
	/* in the window but not exactly RCV.NXT: a challenge ACK and the
	 * connection lives on (RFC 5961 §3.2, tcp_validate_incoming) */
	o = tp_out(&c, TH_RST);
	o.o = NULL;
	o.seq = c.snd_nxt + 1000;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 0);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	/* the exact one resets */
	tp_send_rst(&c);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -ECONNRESET);
}
END_TEST

START_TEST(established_syn_challenge_ack)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	tp_server(&c, &h, &cfg);
	/* a SYN in ESTABLISHED: challenge ACK (RFC 5961 §4.2), no reset */
	o = tp_out(&c, TH_SYN);
	o.seq = c.snd_nxt + 50;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 0);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	tp_close_active(&c);
}
END_TEST

START_TEST(established_ack_of_unsent_data)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	tp_server(&c, &h, &cfg);
	/* an ACK for data never sent: the segment is dropped, its data not
	 * delivered (tcp_ack: TCP_ACK_UNSENT_DATA; RFC 9293 §3.10.7.4 would
	 * also send an ACK, Linux does not) */
	o = tp_out(&c, TH_ACK | TH_PSH);
	o.ack = c.irs + 1 + 100000;
	o.data = "zzz";
	o.len = 3;
	tp_inject(&c, &o);
	tp_run(&h, 300 * MS);
	while (tp_pull(&c, &s)) {
		ck_assert_uint_eq(s.flags & ~TH_PSH, TH_ACK);
		ck_assert_uint_eq(s.ack, c.iss + 1); /* the data was not taken */
	}
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -EAGAIN);
	tp_close_active(&c);
}
END_TEST

START_TEST(close_with_unread_data_sends_rst)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	tp_send_data(&c, "unread", 6);
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	ck_assert_int_eq(stack_ep_pending(h.st, c.fd), 6);
	/* tcp_close: data lost -> RST instead of FIN (RFC 2525 §2.17) */
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect(&c, &s, TH_RST | TH_ACK, c.irs + 1, c.snd_nxt, 0);
	tp_expect_nothing(&c);
	c.done = true;
	/* and the port is closed */
	tp_send_ack(&c);
	tp_expect(&c, &s, TH_RST, c.irs + 1, TP_ANY, 0);
}
END_TEST

START_TEST(linger_zero_close_sends_rst)
{
	struct tp_cfg cfg = cfg6();
	int lg[2] = {1, 0};
	int got[2];
	size_t len = sizeof(got);

	tp_client(&c, &h, &cfg);
	ck_assert_int_eq(
	    stack_ep_setopt(h.st, c.fd, STACK_SOL_SOCKET, STACK_SO_LINGER, lg, sizeof(lg)), 0);
	ck_assert_int_eq(stack_ep_getopt(h.st, c.fd, STACK_SOL_SOCKET, STACK_SO_LINGER, got, &len),
			 0);
	ck_assert_int_eq(got[0], 1);
	ck_assert_int_eq(got[1], 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "abc", 3, 0), 3);
	tp_flush(&c);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	/* tcp_disconnect: RST at SND.NXT, no FIN, no TIME_WAIT */
	tp_expect(&c, &s, TH_RST | TH_ACK, c.irs + 4, c.snd_nxt, 0);
	tp_expect_nothing(&c);
	c.done = true;
}
END_TEST

START_TEST(rst_to_listener_ignored_ack_gets_rst)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	tp_listen(&c, &h, &cfg);
	o = tp_out(&c, TH_RST);
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	/* an ACK to a listener without a handshake: RST seq = SEG.ACK */
	o = tp_out(&c, TH_ACK);
	o.ack = 4242;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST, 4242, TP_ANY, 0);
	/* the listener is unharmed */
	tp_server_syn(&c);
	tp_server_synack(&c);
	tp_server_finish(&c);
	tp_close_active(&c);
}
END_TEST

/* ---- half-close ------------------------------------------------------------------ */

START_TEST(shutdown_wr_sends_fin_can_receive)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_shutdown(h.st, c.fd, STACK_SHUT_WR), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, c.irs + 1, c.snd_nxt, 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -EPIPE);
	/* POLLOUT stays set once SEND_SHUTDOWN (tcp_poll) */
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_OUT, 0);
	tp_send_ack(&c); /* FIN_WAIT_2 */
	tp_expect_nothing(&c);
	/* a half-closed socket that is still open never times out */
	ck_assert_uint_eq(tp_run(&h, 100 * SEC), STACK_NS_NEVER);
	fill_pattern(data, 3000, 3);
	tp_send_data(&c, data, 1448);
	tp_send_data(&c, data + 1448, 104);
	tp_expect_ack_within(&c, 200 * MS);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 1552);
	ck_assert_mem_eq(buf, data, 1552);
	tp_send_fin(&c);
	/* FIN in FIN_WAIT_2: ACKed at once, TIME_WAIT (tcp_fin) */
	tp_expect(&c, &s, TH_ACK, c.irs + 2, c.snd_nxt, 0);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 0);
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_RDHUP, 0);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect_nothing(&c);
	c.done = true;
}
END_TEST

START_TEST(peer_fin_gives_eof_and_rdhup)
{
	struct tp_cfg cfg = cfg6();
	unsigned ev;

	tp_client(&c, &h, &cfg);
	tp_send_data(&c, "last", 4);
	tp_send_fin(&c);
	/* CLOSE_WAIT: the FIN is ACKed (maybe delayed: pingpong mode) */
	tp_run(&h, 250 * MS);
	tp_flush(&c);
	ck_assert_uint_eq(c.stack_ack, c.snd_nxt);
	ev = stack_ep_events(h.st, c.fd);
	ck_assert_uint_eq(ev & (STACK_EV_IN | STACK_EV_RDHUP), STACK_EV_IN | STACK_EV_RDHUP);
	ck_assert_uint_eq(ev & (STACK_EV_HUP | STACK_EV_ERR), 0);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 4);
	ck_assert_mem_eq(buf, "last", 4);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 0);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 0);
	/* we can still send */
	ck_assert_int_eq(tp_write(&h, c.fd, "reply", 5, 0), 5);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 5);
	ck_assert_mem_eq(s.data, "reply", 5);
	tp_send_ack(&c);
	/* close: FIN (LAST_ACK); its ACK ends the connection */
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, c.irs + 6, c.snd_nxt, 0);
	tp_send_ack(&c);
	tp_expect_nothing(&c);
	c.done = true;
	/* CLOSED, no TIME_WAIT for the passive closer: a segment gets RST */
	tp_send_ack(&c);
	tp_expect(&c, &s, TH_RST, c.irs + 7, TP_ANY, 0);
}
END_TEST

START_TEST(data_with_fin_in_one_segment)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	tp_send(&c, TH_ACK | TH_PSH | TH_FIN, "bye", 3);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 3);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 0);
	tp_run(&h, 250 * MS);
	tp_flush(&c);
	ck_assert_uint_eq(c.stack_ack, c.snd_nxt);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, c.irs + 1, c.snd_nxt, 0);
	tp_send_ack(&c);
	c.done = true;
}
END_TEST

START_TEST(shutdown_not_connected)
{
	int fd = tp_open(&h, STACK_AF_INET);

	ck_assert_int_eq(stack_ep_shutdown(h.st, fd, STACK_SHUT_WR), -ENOTCONN);
	ck_assert_int_eq(stack_ep_shutdown(h.st, fd, 7), -EINVAL);
	ck_assert_int_eq(tp_read(&h, fd, buf, 1, 0), -ENOTCONN);
	ck_assert_int_eq(tp_write(&h, fd, "x", 1, 0), -EPIPE);
}
END_TEST

/* ---- teardown: TIME_WAIT, FIN_WAIT_2, simultaneous close ----------------------- */

START_TEST(time_wait_alive_at_59s)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	tp_close_active(&c);
	h_advance(&h, 59 * SEC);
	/* the peer's FIN again (our ACK was lost): ACKed from TIME_WAIT */
	tp_send_at(&c, TH_FIN | TH_ACK, c.snd_nxt - 1, NULL, 0);
	tp_expect(&c, &s, TH_ACK, c.irs + 2, c.snd_nxt, 0);
}
END_TEST

START_TEST(time_wait_gone_after_60s)
{
	struct tp_cfg cfg = cfg6();

	tp_client(&c, &h, &cfg);
	tp_close_active(&c);
	tp_run(&h, 61 * SEC);
	tp_expect_nothing(&c);
	/* TCP_TIMEWAIT_LEN over: the port is closed, RST seq = SEG.ACK */
	tp_send_at(&c, TH_FIN | TH_ACK, c.snd_nxt - 1, NULL, 0);
	tp_expect(&c, &s, TH_RST, c.irs + 2, TP_ANY, 0);
}
END_TEST

START_TEST(time_wait_refin_restarts_timer)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	tp_close_active(&c);
	h_advance(&h, 30 * SEC);
	tp_send_at(&c, TH_FIN | TH_ACK, c.snd_nxt - 1, NULL, 0);
	tp_expect(&c, &s, TH_ACK, c.irs + 2, c.snd_nxt, 0);
	/* 2MSL restarts on the retransmitted FIN (RFC 9293 §3.10.7.4) */
	h_advance(&h, 55 * SEC);
	tp_send_at(&c, TH_FIN | TH_ACK, c.snd_nxt - 1, NULL, 0);
	tp_expect(&c, &s, TH_ACK, c.irs + 2, c.snd_nxt, 0);
	h_advance(&h, 61 * SEC);
	tp_send_at(&c, TH_FIN | TH_ACK, c.snd_nxt - 1, NULL, 0);
	tp_expect(&c, &s, TH_RST, c.irs + 2, TP_ANY, 0);
}
END_TEST

START_TEST(close_sends_queued_data_then_fin)
{
	struct tp_cfg cfg = cfg4();
	size_t got = 0;
	bool fin = false;

	tp_server(&c, &h, &cfg);
	fill_pattern(data, 5000, 9);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 5000, 0), 5000);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	/* the data, then FIN right after it (maybe on the last segment) */
	while (tp_pull(&c, &s)) {
		ck_assert_mem_eq(s.data, data + got, s.len);
		got += s.len;
		if (s.flags & TH_FIN) {
			ck_assert_uint_eq(s.seq + s.len, c.irs + 1 + 5000);
			fin = true;
		}
	}
	ck_assert_uint_eq(got, 5000);
	ck_assert(fin);
	tp_send_fin(&c);
	tp_expect(&c, &s, TH_ACK, c.irs + 5002, c.snd_nxt, 0);
	c.done = true;
}
END_TEST

START_TEST(fin_retransmitted)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, c.irs + 1, c.snd_nxt, 0);
	/* the handshake RTT was 0: RTO 200 ms (rto_min) */
	tp_expect_at(&c, &s, 200 * MS, 20 * MS);
	ck_assert_uint_eq(s.flags & ~TH_PSH, TH_FIN | TH_ACK);
	ck_assert_uint_eq(s.seq, c.irs + 1);
	tp_send_fin(&c);
	tp_expect(&c, &s, TH_ACK, c.irs + 2, c.snd_nxt, 0);
	c.done = true;
}
END_TEST

START_TEST(fin_wait_2_orphan_alive_at_59s)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, c.irs + 1, c.snd_nxt, 0);
	tp_send_ack(&c);
	ck_assert_uint_eq(tp_run(&h, 59 * SEC), STACK_NS_NEVER);
	tp_send_fin(&c);
	tp_expect(&c, &s, TH_ACK, c.irs + 2, c.snd_nxt, 0);
	c.done = true;
}
END_TEST

START_TEST(fin_wait_2_orphan_times_out_60s)
{
	struct tp_cfg cfg = cfg6();

	tp_client(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, c.irs + 1, c.snd_nxt, 0);
	tp_send_ack(&c);
	/* tcp_fin_timeout 60 s: then the connection is gone, silently */
	ck_assert_uint_eq(tp_run(&h, 61 * SEC), STACK_NS_NEVER);
	tp_send_fin(&c);
	tp_expect(&c, &s, TH_RST, c.irs + 2, TP_ANY, 0);
	c.done = true;
}
END_TEST

START_TEST(fin_wait_2_tcp_linger2)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_LINGER2, 10), 0);
	ck_assert_int_eq(tp_getint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_LINGER2), 10);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, c.irs + 1, c.snd_nxt, 0);
	tp_send_ack(&c);
	ck_assert_uint_eq(tp_run(&h, 11 * SEC), STACK_NS_NEVER);
	tp_send_fin(&c);
	tp_expect(&c, &s, TH_RST, c.irs + 2, TP_ANY, 0);
	c.done = true;
}
END_TEST

START_TEST(simultaneous_close)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, c.irs + 1, TP_ANY, 0);
	/* the peer's FIN crosses ours: it does not ACK our FIN */
	{
		struct tp_out o = tp_out(&c, TH_FIN | TH_ACK);

		o.ack = c.rcv_nxt - 1;
		tp_inject(&c, &o);
		c.snd_nxt++;
	}
	/* FIN_WAIT_1 + FIN: ACK at once, CLOSING (tcp_fin) */
	ck_assert(tp_pull(&c, &s));
	ck_assert_uint_eq(s.flags & (TH_ACK | TH_RST | TH_SYN), TH_ACK);
	ck_assert_uint_eq(s.ack, c.snd_nxt);
	/* the ACK of our FIN: TIME_WAIT */
	tp_send_ack(&c);
	tp_expect_nothing(&c);
	h_advance(&h, 30 * SEC);
	tp_send_at(&c, TH_FIN | TH_ACK, c.snd_nxt - 1, NULL, 0);
	tp_expect(&c, &s, TH_ACK, c.irs + 2, c.snd_nxt, 0);
	c.done = true;
}
END_TEST

/* ---- listen queues -------------------------------------------------------------- */

START_TEST(accept_errors)
{
	int fd = tp_open(&h, STACK_AF_INET);
	struct tp_cfg cfg = cfg4();

	ck_assert_int_eq(stack_ep_accept(h.st, fd, NULL), -EINVAL);
	tp_listen(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_accept(h.st, c.lfd, NULL), -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, c.lfd) & STACK_EV_IN, 0);
	ck_assert_int_eq(tp_getint(&h, c.lfd, STACK_SOL_SOCKET, STACK_SO_ACCEPTCONN), 1);
	ck_assert_int_eq(tp_getint(&h, fd, STACK_SOL_SOCKET, STACK_SO_ACCEPTCONN), 0);
	/* connect on a listener: __inet_stream_connect, SS_UNCONNECTED and
	 * not TCP_CLOSE -> EISCONN */
	{
		struct stack_sockaddr to = h_sa(H_PEER4, 80);

		ck_assert_int_eq(stack_ep_connect(h.st, c.lfd, &to), -EISCONN);
	}
	c.done = true;
}
END_TEST

START_TEST(backlog_full_drops_syn_until_accept)
{
	struct tp_cfg cfg = cfg4();

	cfg.backlog = 1;
	/* sk_acceptq_is_full: more than backlog queued -> backlog + 1 fit */
	tp_server(&c, &h, &cfg); /* accepted by the fixture: queue empty again */
	tp_server_more(&c2, &c, TP_PEER_SPORT + 1);
	tp_server_syn(&c2);
	tp_server_synack(&c2);
	tp_send_ack(&c2);
	tp_server_more(&c3, &c, TP_PEER_SPORT + 2);
	tp_server_syn(&c3);
	tp_server_synack(&c3);
	tp_send_ack(&c3);
	tp_expect_nothing(&c3);
	/* two queued, the third SYN is dropped (tcp_conn_request) */
	tp_server_more(&c4, &c, TP_PEER_SPORT + 3);
	tp_server_syn(&c4);
	tp_expect_nothing(&c4);
	ck_assert_uint_ne(stack_ep_events(h.st, c.lfd) & STACK_EV_IN, 0);
	c2.fd = stack_ep_accept(h.st, c.lfd, NULL);
	ck_assert_int_ge(c2.fd, 0);
	/* room again: the retransmitted SYN is answered */
	tp_server_syn(&c4);
	tp_server_synack(&c4);
	c3.fd = stack_ep_accept(h.st, c.lfd, NULL); /* FIFO */
	ck_assert_int_ge(c3.fd, 0);
	tp_server_finish(&c4); /* checks the peer address: c4 */
	ck_assert_int_eq(stack_ep_accept(h.st, c.lfd, NULL), -EAGAIN);
	tp_send_rst(&c2);
	tp_send_rst(&c3);
	tp_send_rst(&c4);
	tp_send_rst(&c);
}
END_TEST

START_TEST(backlog_full_drops_final_ack)
{
	struct tp_cfg cfg = cfg4();
	struct stack_sockaddr p;
	int fd;

	cfg.backlog = 2;
	tp_listen(&c, &h, &cfg);
	tp_server_syn(&c);
	tp_server_synack(&c);
	tp_send_ack(&c);
	tp_server_more(&c2, &c, TP_PEER_SPORT + 1);
	tp_server_syn(&c2);
	tp_server_synack(&c2);
	tp_send_ack(&c2);
	/* two more SYNs while two are queued: both answered */
	tp_server_more(&c3, &c, TP_PEER_SPORT + 2);
	tp_server_syn(&c3);
	tp_server_synack(&c3);
	tp_server_more(&c4, &c, TP_PEER_SPORT + 3);
	tp_server_syn(&c4);
	tp_server_synack(&c4);
	tp_send_ack(&c3); /* third queued: backlog + 1 */
	tp_send_ack(&c4); /* queue full: the ACK is dropped, no RST */
	tp_expect_nothing(&c4);
	fd = stack_ep_accept(h.st, c.lfd, &p);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(p.port, TP_PEER_SPORT);
	c.fd = fd;
	/* the request survived: its ACK again now completes it */
	tp_send_ack(&c4);
	tp_expect_nothing(&c4);
	for (int i = 1; i <= 3; i++) {
		fd = stack_ep_accept(h.st, c.lfd, &p);
		ck_assert_int_ge(fd, 0);
		ck_assert_uint_eq(p.port, TP_PEER_SPORT + i);
		(i == 1 ? &c2 : i == 2 ? &c3 : &c4)->fd = fd;
	}
	ck_assert_int_eq(stack_ep_accept(h.st, c.lfd, NULL), -EAGAIN);
	/* each works */
	tp_send_data(&c4, "4", 1);
	ck_assert_int_eq(tp_read(&h, c4.fd, buf, 5, 0), 1);
	tp_run(&h, 300 * MS);
	h_drain(&h);
}
END_TEST

START_TEST(listener_close_resets_queued)
{
	struct tp_cfg cfg = cfg4();

	tp_listen(&c, &h, &cfg);
	tp_server_syn(&c);
	tp_server_synack(&c);
	tp_send_ack(&c);
	/* never accepted: closing the listener resets it (inet_child_forget) */
	ck_assert_int_eq(stack_ep_close(h.st, c.lfd), 0);
	tp_expect(&c, &s, TH_RST | TH_ACK, c.irs + 1, c.snd_nxt, 0);
	c.done = true;
	/* the port is closed now */
	tp_server_syn(&c);
	tp_expect(&c, &s, TH_RST | TH_ACK, 0, c.iss + 1, 0);
	c.done = true;
}
END_TEST

START_TEST(syn_flood_listener_survives)
{
	struct tp_cfg cfg = cfg4();
	unsigned answered = 0;

	cfg.backlog = 4;
	tp_listen(&c, &h, &cfg);
	for (unsigned i = 0; i < 200; i++) {
		tp_server_more(&c2, &c, (uint16_t)(20000 + i));
		c2.iss = c2.snd_nxt = 1000u * i;
		tp_server_syn(&c2);
		c2.done = true;
		while (tp_pull_any(&h, &s)) {
			ck_assert_uint_eq(s.flags & TH_RST, 0);
			answered++;
		}
	}
	/* all answered: the backlog's worth from the SYN queue, the rest
	 * with SYN cookies (test_tcp_harden.c checks those) */
	ck_assert_uint_eq(answered, 200);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_sent, 196);
	/* every request expires (63 s), the clock stepping through each
	 * SYN-ACK retransmission; then a normal handshake works */
	{
		stack_ns_t end = h.now + 70 * SEC;

		while (h.now < end) {
			if (tp_run(&h, end - h.now) != STACK_NS_NEVER)
				h_drain(&h);
		}
	}
	tp_server_more(&c3, &c, 41000);
	tp_server_syn(&c3);
	tp_server_synack(&c3);
	tp_server_finish(&c3);
	tp_close_active(&c3);
	c.done = true;
}
END_TEST

/* ---- keepalive -------------------------------------------------------------------- */

START_TEST(keepalive_defaults)
{
	int fd = tp_open(&h, STACK_AF_INET);

	ck_assert_int_eq(tp_getint(&h, fd, STACK_SOL_SOCKET, STACK_SO_KEEPALIVE), 0);
	ck_assert_int_eq(tp_getint(&h, fd, STACK_SOL_TCP, STACK_TCP_KEEPIDLE), 7200);
	ck_assert_int_eq(tp_getint(&h, fd, STACK_SOL_TCP, STACK_TCP_KEEPINTVL), 75);
	ck_assert_int_eq(tp_getint(&h, fd, STACK_SOL_TCP, STACK_TCP_KEEPCNT), 9);
	/* ranges (do_tcp_setsockopt): idle/intvl 1..32767, cnt 1..127 */
	ck_assert_int_eq(tp_setint(&h, fd, STACK_SOL_TCP, STACK_TCP_KEEPIDLE, 0), -EINVAL);
	ck_assert_int_eq(tp_setint(&h, fd, STACK_SOL_TCP, STACK_TCP_KEEPINTVL, 32768), -EINVAL);
	ck_assert_int_eq(tp_setint(&h, fd, STACK_SOL_TCP, STACK_TCP_KEEPCNT, 128), -EINVAL);
}
END_TEST

static void keepalive_on(struct tp_conn *k, int idle, int intvl, int cnt)
{
	ck_assert_int_eq(tp_setint(&h, k->fd, STACK_SOL_TCP, STACK_TCP_KEEPIDLE, idle), 0);
	ck_assert_int_eq(tp_setint(&h, k->fd, STACK_SOL_TCP, STACK_TCP_KEEPINTVL, intvl), 0);
	ck_assert_int_eq(tp_setint(&h, k->fd, STACK_SOL_TCP, STACK_TCP_KEEPCNT, cnt), 0);
	ck_assert_int_eq(tp_setint(&h, k->fd, STACK_SOL_SOCKET, STACK_SO_KEEPALIVE, 1), 0);
}

START_TEST(keepalive_probes_then_etimedout)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	keepalive_on(&c, 10, 2, 3);
	/* probes at 10, 12, 14 s: no data, seq = SND.UNA - 1 (tcp_xmit_probe_skb) */
	for (int i = 0; i < 3; i++) {
		tp_expect_at(&c, &s, i == 0 ? 10 * SEC : 2 * SEC, 50 * MS);
		ck_assert_uint_eq(s.flags & ~TH_PSH, TH_ACK);
		ck_assert_uint_eq(s.seq, c.irs);
		ck_assert_uint_eq(s.ack, c.snd_nxt);
		ck_assert_uint_eq(s.len, 0);
		ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	}
	/* the fourth interval: give up with an RST (tcp_keepalive_timer) */
	tp_expect_at(&c, &s, 2 * SEC, 50 * MS);
	ck_assert_uint_eq(s.flags, TH_RST | TH_ACK);
	ck_assert_uint_eq(s.seq, c.irs + 1);
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -ETIMEDOUT);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), 0);
	c.done = true;
}
END_TEST

START_TEST(keepalive_answered_keeps_connection)
{
	struct tp_cfg cfg = cfg6();

	tp_client(&c, &h, &cfg);
	keepalive_on(&c, 10, 2, 3);
	for (int round = 0; round < 4; round++) {
		/* idle 10 s from the last segment received */
		tp_expect_at(&c, &s, 10 * SEC, 50 * MS);
		ck_assert_uint_eq(s.seq, c.irs);
		ck_assert_uint_eq(s.len, 0);
		tp_send_ack(&c); /* the answer: ack = SND.NXT */
	}
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	/* turned off: silence */
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_SOCKET, STACK_SO_KEEPALIVE, 0), 0);
	ck_assert_uint_eq(tp_run(&h, 60 * SEC), STACK_NS_NEVER);
	tp_close_active(&c);
}
END_TEST

START_TEST(keepalive_default_idle_7200s)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_SOCKET, STACK_SO_KEEPALIVE, 1), 0);
	tp_expect_at(&c, &s, 7200 * SEC, 1 * SEC);
	ck_assert_uint_eq(s.seq, c.irs);
	tp_expect_at(&c, &s, 75 * SEC, 1 * SEC);
	ck_assert_uint_eq(s.seq, c.irs);
	tp_send_rst(&c);
}
END_TEST

START_TEST(keepalive_data_resets_idle)
{
	struct tp_cfg cfg = cfg4();

	tp_server(&c, &h, &cfg);
	keepalive_on(&c, 10, 5, 2);
	h_advance(&h, 8 * SEC);
	tp_send_data(&c, "hi", 2);
	tp_expect_ack_within(&c, 200 * MS);
	/* the next probe is 10 s after that segment, not at 10 s */
	tp_expect_at(&c, &s, 10 * SEC, 300 * MS);
	ck_assert_uint_eq(s.len, 0);
	ck_assert_uint_eq(s.seq, c.irs);
	tp_send_rst(&c);
}
END_TEST

Suite *suite_tcp_conn(void)
{
	Suite *su = suite_create("tcp_conn");
	TCase *hs = tcase_create("handshake");
	TCase *rx = tcase_create("syn_retransmit");
	TCase *rs = tcase_create("rst");
	TCase *hc = tcase_create("half_close");
	TCase *td = tcase_create("teardown");
	TCase *ls = tcase_create("listen");
	TCase *ka = tcase_create("keepalive");

	tcase_add_checked_fixture(hs, setup, teardown);
	tcase_add_test(hs, client_v4_all_options);
	tcase_add_test(hs, client_v4_syn_header);
	tcase_add_test(hs, client_v6_all_options);
	tcase_add_test(hs, server_v4_all_options);
	tcase_add_test(hs, server_v6_all_options);
	tcase_add_test(hs, server_no_options_v4);
	tcase_add_test(hs, server_no_options_v6);
	tcase_add_test(hs, client_synack_no_options);
	tcase_add_test(hs, server_mss_only);
	tcase_add_test(hs, server_mss_larger_than_ours);
	tcase_add_test(hs, server_ws_without_ts);
	tcase_add_test(hs, server_ts_without_ws);
	tcase_add_test(hs, server_sackok_only);
	tcase_add_test(hs, client_synack_ts_without_ws);
	tcase_add_test(hs, simultaneous_open);
	tcase_add_test(hs, accept_two_from_one_listener);
	suite_add_tcase(su, hs);

	tcase_add_checked_fixture(rx, setup, teardown);
	tcase_add_test(rx, syn_retransmit_backoff_etimedout);
	tcase_add_test(rx, syn_retries_tcp_syncnt);
	tcase_add_test(rx, synack_retransmit_then_gives_up);
	tcase_add_test(rx, synack_retransmit_then_completes);
	tcase_add_test(rx, syn_retransmitted_by_peer_gets_same_synack);
	suite_add_tcase(su, rx);

	tcase_add_checked_fixture(rs, setup, teardown);
	tcase_add_test(rs, closed_port_syn_rst_ack_v4);
	tcase_add_test(rs, closed_port_syn_rst_ack_v6);
	tcase_add_test(rs, closed_port_ack_gets_rst_seq_ack);
	tcase_add_test(rs, closed_port_data_without_ack);
	tcase_add_test(rs, closed_port_no_rst_for_rst);
	tcase_add_test(rs, closed_port_bad_checksum_no_rst);
	tcase_add_test(rs, syn_sent_rst_econnrefused);
	tcase_add_test(rs, syn_sent_rst_reported_by_next_call_v6);
	tcase_add_test(rs, syn_sent_rst_bad_ack_ignored);
	tcase_add_test(rs, syn_sent_bad_ack_gets_rst);
	tcase_add_test(rs, established_rst_econnreset_then_epipe);
	tcase_add_test(rs, close_wait_rst_reads_eof_keeps_epipe);
	tcase_add_test(rs, established_rst_send_reports_econnreset);
	tcase_add_test(rs, established_rst_out_of_window_ignored);
	tcase_add_test(rs, established_rst_in_window_challenge_ack);
	tcase_add_test(rs, established_syn_challenge_ack);
	tcase_add_test(rs, established_ack_of_unsent_data);
	tcase_add_test(rs, close_with_unread_data_sends_rst);
	tcase_add_test(rs, linger_zero_close_sends_rst);
	tcase_add_test(rs, rst_to_listener_ignored_ack_gets_rst);
	suite_add_tcase(su, rs);

	tcase_add_checked_fixture(hc, setup, teardown);
	tcase_add_test(hc, shutdown_wr_sends_fin_can_receive);
	tcase_add_test(hc, peer_fin_gives_eof_and_rdhup);
	tcase_add_test(hc, data_with_fin_in_one_segment);
	tcase_add_test(hc, shutdown_not_connected);
	suite_add_tcase(su, hc);

	tcase_add_checked_fixture(td, setup, teardown);
	tcase_add_test(td, time_wait_alive_at_59s);
	tcase_add_test(td, time_wait_gone_after_60s);
	tcase_add_test(td, time_wait_refin_restarts_timer);
	tcase_add_test(td, close_sends_queued_data_then_fin);
	tcase_add_test(td, fin_retransmitted);
	tcase_add_test(td, fin_wait_2_orphan_alive_at_59s);
	tcase_add_test(td, fin_wait_2_orphan_times_out_60s);
	tcase_add_test(td, fin_wait_2_tcp_linger2);
	tcase_add_test(td, simultaneous_close);
	suite_add_tcase(su, td);

	tcase_add_checked_fixture(ls, setup, teardown);
	tcase_add_test(ls, accept_errors);
	tcase_add_test(ls, backlog_full_drops_syn_until_accept);
	tcase_add_test(ls, backlog_full_drops_final_ack);
	tcase_add_test(ls, listener_close_resets_queued);
	tcase_add_test(ls, syn_flood_listener_survives);
	suite_add_tcase(su, ls);

	tcase_add_checked_fixture(ka, setup, teardown);
	tcase_add_test(ka, keepalive_defaults);
	tcase_add_test(ka, keepalive_probes_then_etimedout);
	tcase_add_test(ka, keepalive_answered_keeps_connection);
	tcase_add_test(ka, keepalive_default_idle_7200s);
	tcase_add_test(ka, keepalive_data_resets_idle);
	suite_add_tcase(su, ka);
	return su;
}
