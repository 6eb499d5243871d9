/*
 * test_tcp_api.c — TCP endpoint calls at their edges, as Linux answers
 * them: shutdown of a listener, urgent-data readiness, the handle staying
 * usable after the connection ends.
 */
#include <linux/tcp.h> /* struct tcp_info: the layout TCP_INFO must match */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "tcp_peer.h"
#include "priv.h"
#include "tcp.h"

_Static_assert(sizeof(struct stack_tcp_info) == sizeof(struct tcp_info), "TCP_INFO size");
_Static_assert(offsetof(struct stack_tcp_info, snd_wnd) == offsetof(struct tcp_info, tcpi_snd_wnd),
	       "TCP_INFO layout");
_Static_assert(offsetof(struct stack_tcp_info, bytes_acked) ==
		   offsetof(struct tcp_info, tcpi_bytes_acked),
	       "TCP_INFO layout");

static struct harness h;
static struct tp_conn c;
static struct tp_seg s;

static void setup(void) { tp_setup(&h); }
static void teardown(void) { tp_teardown(&h); }

START_TEST(tcp_info_and_congestion)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	struct stack_tcp_info ti;
	char name[16];
	size_t len = sizeof(ti);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_getopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_INFO, &ti, &len), 0);
	ck_assert_uint_eq(len, sizeof(ti));
	ck_assert_uint_eq(ti.state, 1); /* Linux's TCP_ESTABLISHED */
	ck_assert_uint_gt(ti.snd_mss, 0);
	ck_assert_uint_ge(ti.rto, 200000); /* at least Linux's 200 ms floor */
	ck_assert_uint_eq(ti.snd_cwnd, 10); /* RFC 6928 */
	{
		/* an accepted connection's name has the listener's port */
		struct stack_sockaddr me, lme;
		ck_assert_int_eq(stack_ep_getsockname(h.st, c.fd, &me), 0);
		ck_assert_int_eq(stack_ep_getsockname(h.st, c.lfd, &lme), 0);
		ck_assert_uint_ne(me.port, 0);
		ck_assert_uint_eq(me.port, lme.port);
	}
	/* a short buffer gets a prefix, as Linux copies min(len, size) */
	len = 8;
	ck_assert_int_eq(stack_ep_getopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_INFO, &ti, &len), 0);
	ck_assert_uint_eq(len, 8);
	ck_assert_str_eq(tp_cc_name(&h, c.fd, name), "cubic"); /* the default, as Linux's */
	ck_assert_int_eq(stack_ep_setopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_CONGESTION, "reno", 4),
			 0);
	ck_assert_str_eq(tp_cc_name(&h, c.fd, name), "reno");
	ck_assert_int_eq(stack_ep_setopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_CONGESTION, "vegas", 5),
			 -ENOENT);
	/* a name shorter than an int (Linux takes optlen >= 1) */
	ck_assert_int_eq(stack_ep_setopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_CONGESTION, "bbr", 3),
			 0);
	ck_assert_str_eq(tp_cc_name(&h, c.fd, name), "bbr");
	ck_assert_int_eq(stack_ep_setopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_CONGESTION, "bbr", 0),
			 -EINVAL);
}
END_TEST

/* TCP_INFO's counters follow the traffic: segments and data segments
 * each way, octets sent and resent (RFC 4898), out-of-order arrivals,
 * the time since data was last sent, Linux's computed pacing rate. */
START_TEST(tcp_info_counts_traffic)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	struct stack_tcp_info ti, t0;
	size_t len = sizeof(ti);
	static uint8_t d[3000], in[200];
	struct tp_seg sg;
	uint32_t segs_in;

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_getopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_INFO, &t0, &len), 0);
	c.rx = NULL;
	tp_pump_to_peer(&c, d, sizeof(d)); /* 1448 + 1448 + 104, ACKed */
	/* the peer: 100 bytes in order, 100 beyond a hole */
	tp_send_data(&c, in, 100);
	tp_send_at(&c, TH_ACK, c.snd_nxt + 100, in, 100);
	tp_flush(&c);
	h_advance(&h, 2 * STACK_NS_PER_S);
	len = sizeof(ti);
	ck_assert_int_eq(stack_ep_getopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_INFO, &ti, &len), 0);
	ck_assert_uint_eq(ti.bytes_sent, 3000);
	ck_assert_uint_eq(ti.bytes_retrans, 0);
	ck_assert_uint_eq(ti.data_segs_out - t0.data_segs_out, 3);
	ck_assert_uint_ge(ti.segs_out - t0.segs_out, 4); /* and ACKs */
	ck_assert_uint_eq(ti.data_segs_in - t0.data_segs_in, 2);
	ck_assert_uint_ge(ti.segs_in - t0.segs_in, 4); /* and ACKs */
	ck_assert_uint_eq(ti.rcv_ooopack, 1);
	ck_assert_uint_ge(ti.last_data_sent, 2000);
	ck_assert_uint_gt(ti.pacing_rate, 0);
	ck_assert_uint_eq(ti.max_pacing_rate, UINT64_MAX);
	/* a resend: octets counted in both */
	segs_in = ti.segs_in;
	ck_assert_int_eq(tp_write(&h, c.fd, d, 500, 0), 500);
	tp_expect(&c, &sg, TH_ACK, c.rcv_nxt, TP_ANY, 500);
	c.rcv_nxt -= 500; /* lost: the RTO sends it again */
	tp_wait(&c, 5 * STACK_NS_PER_S, &sg);
	ck_assert_uint_eq(sg.len, 500);
	len = sizeof(ti);
	ck_assert_int_eq(stack_ep_getopt(h.st, c.fd, STACK_SOL_TCP, STACK_TCP_INFO, &ti, &len), 0);
	ck_assert_uint_eq(ti.bytes_sent, 4000);
	ck_assert_uint_eq(ti.bytes_retrans, 500);
	ck_assert_uint_eq(ti.segs_in, segs_in);
	(void)in;
}
END_TEST

/* TCP_INFO's chronographs (Linux tcp_chrono_*): a write that finds the
 * send buffer full starts sndbuf_limited, the ACK that makes room ends
 * it, and with nothing left unacknowledged the clock stops; busy_time
 * counts the limited time too. */
START_TEST(tcp_info_sndbuf_limited)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	static uint8_t d[100000];
	struct stack_tcp_info ti;
	struct tp_seg sg;
	ssize_t n;

	cfg.sndbuf = 4096;
	tp_client(&c, &h, &cfg);
	n = tp_write(&h, c.fd, d, sizeof(d), 0);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, (ssize_t)sizeof(d));
	ck_assert_int_eq(tp_write(&h, c.fd, d, sizeof(d), 0), -EAGAIN);
	while (tp_pull(&c, &sg))
		;
	h_advance(&h, 50 * STACK_NS_PER_MS);
	ti = tp_info(&h, c.fd);
	ck_assert_uint_eq(ti.sndbuf_limited, 50000);
	ck_assert_uint_eq(ti.busy_time, 50000);
	tp_send_ack(&c); /* everything: room, and nothing in flight */
	h_advance(&h, 30 * STACK_NS_PER_MS);
	ti = tp_info(&h, c.fd);
	ck_assert_uint_eq(ti.sndbuf_limited, 50000);
	ck_assert_uint_eq(ti.busy_time, 50000);
	ck_assert_uint_eq(ti.rwnd_limited, 0);
	tp_close_active(&c);
}
END_TEST

/* TCP_INFO rcv_rtt (Linux's tcp_rcv_rtt_measure_ts): a full segment
 * echoing the SYN-ACK's TSval 30 ms later measures 30 ms; a second one
 * with the same echo measures nothing. */
START_TEST(tcp_info_rcv_rtt)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	static uint8_t d[1448];

	tp_server(&c, &h, &cfg);
	ck_assert_uint_eq(tp_info(&h, c.fd).rcv_rtt, 0);
	h_advance(&h, 30 * STACK_NS_PER_MS);
	tp_send_data(&c, d, c.eff_mss);
	ck_assert_uint_ge(tp_info(&h, c.fd).rcv_rtt, 29000);
	ck_assert_uint_le(tp_info(&h, c.fd).rcv_rtt, 31000);
	h_advance(&h, 50 * STACK_NS_PER_MS);
	tp_send_data(&c, d, c.eff_mss); /* the same echo: no sample */
	ck_assert_uint_le(tp_info(&h, c.fd).rcv_rtt, 31000);
	ck_assert_int_eq(tp_read(&h, c.fd, d, sizeof(d), 0), (ssize_t)c.eff_mss);
	ck_assert_int_eq(tp_read(&h, c.fd, d, sizeof(d), 0), (ssize_t)c.eff_mss);
	tp_close_active(&c);
}
END_TEST

/* CUBIC's window after a loss follows RFC 9438's curve: W_max is the
 * window at the loss, ssthresh 0.7 of it, and with one window acked per
 * RTT the window stays on W_cubic(t + RTT) (clamped to 1.5 cwnd per RTT)
 * once above the Reno-friendly estimate: at t = K it is back at W_max,
 * and it grows as C (t - K)^3 beyond. */
START_TEST(cubic_follows_rfc9438)
{
	struct tcb tp;
	const uint32_t mss = 1000;
	const double wmax = 100, rtt = 0.1;
	double k = cbrt(wmax * (1 - 0.7) / 0.4), t;
	stack_ns_t t0;

	memset(&tp, 0, sizeof(tp));
	tp.mss = mss;
	tp.cc = TCP_CC_CUBIC;
	tp.cwnd = (uint32_t)wmax * mss;
	tp.srtt_us = (uint32_t)(rtt * 1e6);
	tp.snd_una = 1;
	tp.snd_max = 1 + tp.cwnd; /* a full window in flight */
	tcp_cc_loss(h.st, &tp);
	ck_assert_uint_eq(tp.ssthresh, 70 * mss);
	ck_assert(fabs(tp.cub_wmax - wmax) < 1e-9);
	tp.cwnd = tp.ssthresh; /* recovery over */
	t0 = h.st->now;
	for (int step = 1; step <= 80; step++) { /* 8 s of round trips */
		uint32_t acked = tp.cwnd;

		h.st->now = t0 + (stack_ns_t)step * 100 * STACK_NS_PER_MS;
		for (uint32_t a = 0; a < acked; a += mss)
			tcp_cc_ack(h.st, &tp, mss);
		t = step * rtt;
		if (step * rtt > 1.0) {
			double want = tcp_cubic_window(t + rtt, k, wmax), w = tp.cwnd / (double)mss;
			/* the curve is followed within a round trip's step */
			ck_assert_msg(w >= 0.9 * want,
				      "t=%.1f cwnd %.1f segments, W_cubic(t+RTT) %.1f", t, w, want);
			ck_assert_msg(w <= 1.05 * want + 1, "t=%.1f cwnd %.1f above W_cubic %.1f", t,
				      w, want);
		}
		if (step == (int)(k / rtt + 0.5))
			ck_assert_msg(fabs(tp.cwnd / (double)mss - wmax) < 3,
				      "at K=%.2f s cwnd %.1f, want about W_max", k, tp.cwnd / (double)mss);
	}
	/* after K the window passes W_max, on the convex side */
	ck_assert_uint_gt(tp.cwnd, (uint32_t)(wmax * 1.2) * mss);
	/* a second loss below W_max: fast convergence lowers W_max */
	tp.cwnd = 90 * mss;
	tp.cub_wmax = 100;
	tcp_cc_loss(h.st, &tp);
	ck_assert(fabs(tp.cub_wmax - 90 * 1.7 / 2) < 1e-6);
}
END_TEST

START_TEST(busy_until_acked_then_abort)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	struct iovec iov = {"abcdef", 6};

	tp_server(&c, &h, &cfg);
	ck_assert_uint_eq(stack_tcp_busy(h.st), 0); /* idle: nothing owed */
	ck_assert_int_eq(stack_ep_sendto(h.st, c.fd, &iov, 1, 0, NULL), 6);
	ck_assert(tp_pull_any(&h, &s)); /* the data, not acknowledged */
	ck_assert_uint_eq(stack_tcp_busy(h.st), 1);
	/* closed by its application, the connection still owes its bytes */
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	c.fd = -1;
	ck_assert(tp_pull_any(&h, &s)); /* FIN */
	ck_assert_uint_eq(stack_tcp_busy(h.st), 1);
	/* giving up resets it and frees it */
	ck_assert_uint_eq(stack_tcp_abort_busy(h.st), 1);
	ck_assert(tp_pull_any(&h, &s));
	ck_assert_uint_ne(s.flags & TH_RST, 0);
	ck_assert_uint_eq(stack_tcp_busy(h.st), 0);
	c.done = true;
}
END_TEST

START_TEST(ep_count_follows_endpoints)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	struct iovec iov = {"abcdef", 6};

	ck_assert_uint_eq(stack_ep_count(h.st), 0);
	tp_server(&c, &h, &cfg); /* the listener and the accepted connection */
	ck_assert_uint_eq(stack_ep_count(h.st), 2);
	/* closed by its program while it owes bytes: it still holds one */
	ck_assert_int_eq(stack_ep_sendto(h.st, c.fd, &iov, 1, 0, NULL), 6);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	c.fd = -1;
	ck_assert_uint_eq(stack_ep_count(h.st), 2);
	ck_assert_uint_eq(stack_tcp_abort_busy(h.st), 1);
	ck_assert_uint_eq(stack_ep_count(h.st), 1);
	ck_assert_int_eq(stack_ep_close(h.st, c.lfd), 0);
	c.lfd = -1;
	ck_assert_uint_eq(stack_ep_count(h.st), 0);
	while (tp_pull_any(&h, &s))
		;
	c.done = true;
}
END_TEST

START_TEST(time_wait_counted_apart)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	struct stack_counters k;

	/* TIME_WAIT keeps a record of its own, not an endpoint */
	tp_client(&c, &h, &cfg);
	ck_assert_uint_eq(stack_ep_count(h.st), 1);
	ck_assert_int_eq(stack_ep_shutdown(h.st, c.fd, STACK_SHUT_WR), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, TP_ANY, TP_ANY, 0);
	tp_send_ack(&c);
	tp_send_fin(&c);
	tp_expect(&c, &s, TH_ACK, TP_ANY, TP_ANY, 0);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	c.fd = -1;
	stack_get_counters(h.st, &k);
	ck_assert_uint_eq(k.tcp_tw_used, 1);
	ck_assert_uint_eq(stack_ep_count(h.st), 0);
	h_advance(&h, 61 * STACK_NS_PER_S);
	stack_get_counters(h.st, &k);
	ck_assert_uint_eq(k.tcp_tw_used, 0);
	c.done = true;
}
END_TEST

START_TEST(listener_shutdown_stops_listening)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	struct tp_conn c2;
	int lfd;

	/* inet_shutdown on a listener: SHUT_WR is ENOTCONN, SHUT_RD stops it
	 * listening and the handle stays valid */
	tp_listen(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_shutdown(h.st, c.lfd, STACK_SHUT_WR), -ENOTCONN);
	ck_assert_int_eq(stack_ep_shutdown(h.st, c.lfd, STACK_SHUT_RD), 0);
	ck_assert_int_eq(stack_ep_accept(h.st, c.lfd, NULL), -EINVAL);
	ck_assert_int_eq(tp_getint(&h, c.lfd, STACK_SOL_SOCKET, STACK_SO_ACCEPTCONN), 0);
	/* a SYN to the port now finds nobody: RST */
	lfd = c.lfd;
	tp_server_more(&c2, &c, 40100);
	tp_send(&c2, TH_SYN, NULL, 0);
	c2.done = true;
	ck_assert(tp_pull_any(&h, &s));
	ck_assert_uint_ne(s.flags & TH_RST, 0);
	ck_assert_int_eq(stack_ep_close(h.st, lfd), 0);
	c.lfd = -1;
	c.done = true;
}
END_TEST

START_TEST(urgent_byte_sets_pri)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	struct tp_out o;
	uint8_t b;

	tp_server(&c, &h, &cfg);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_PRI, 0);
	o = tp_out(&c, TH_ACK | TH_PSH | TH_URG);
	o.data = "abc";
	o.len = 3;
	o.urp = 3; /* the urgent byte is 'c' */
	tp_inject(&c, &o);
	c.snd_nxt += 3;
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_PRI, 0);
	ck_assert_int_eq(stack_ep_recvfrom(h.st, c.fd, &(struct iovec){&b, 1}, 1, STACK_MSG_OOB,
					   NULL, NULL), 1);
	ck_assert_uint_eq(b, 'c');
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_PRI, 0);
	tp_run(&h, 300 * STACK_NS_PER_MS);
	tp_flush(&c);
	{
		char buf[8];

		ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 2);
		ck_assert_mem_eq(buf, "ab", 2);
	}
	tp_close_active(&c);
}
END_TEST

START_TEST(handle_after_time_wait)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);
	char buf[4];

	/* shutdown(SHUT_WR), the peer's FIN: the connection goes to TIME_WAIT
	 * (its own table) while the program's handle reads EOF and writes
	 * EPIPE until closed */
	tp_client(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_shutdown(h.st, c.fd, STACK_SHUT_WR), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, TP_ANY, TP_ANY, 0);
	tp_send_ack(&c);
	tp_send_fin(&c);
	tp_expect(&c, &s, TH_ACK, TP_ANY, TP_ANY, 0);
	ck_assert_uint_eq(h.st->tw_count, 1);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -EPIPE);
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_HUP, 0);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	h_advance(&h, 61 * STACK_NS_PER_S);
	ck_assert_uint_eq(h.st->tw_count, 0);
	c.done = true;
}
END_TEST

START_TEST(data_readable_after_time_wait)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	char buf[16];

	/* the peer's last data and FIN arrive in FIN_WAIT_2: the connection
	 * goes to TIME_WAIT, the program still reads every byte, then EOF */
	tp_client(&c, &h, &cfg);
	ck_assert_int_eq(stack_ep_shutdown(h.st, c.fd, STACK_SHUT_WR), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, TP_ANY, TP_ANY, 0);
	tp_send_ack(&c);
	tp_send_data(&c, "goodbye", 7);
	tp_send_fin(&c);
	tp_flush(&c);
	ck_assert_uint_eq(h.st->tw_count, 1);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 7);
	ck_assert_mem_eq(buf, "goodbye", 7);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 0);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	c.done = true;
}
END_TEST

START_TEST(send_without_buffers_waits_and_wakes)
{
	struct stack_config cfg;
	struct tp_cfg tc = tp_cfg(STACK_AF_INET);
	static uint8_t big[65536];
	struct pbuf *hold[128];
	int n = 0, hs[8], nh;
	ssize_t w;

	/* a small pool: when a send finds no buffer it is EAGAIN, the
	 * endpoint is not writable, and it is reported changed (and writable)
	 * once buffers come back */
	tp_teardown(&h);
	stack_config_default(&cfg);
	cfg.pbuf_small = 96;
	cfg.pbuf_large = 4;
	cfg.max_endpoints = 8;
	h_setup_cfg(&h, &cfg, 1500);
	tp_client(&c, &h, &tc);
	while (n < 128 && (hold[n] = pbuf_alloc_class(h.st, PBUF_SMALL)) != NULL)
		n++;
	w = tp_write(&h, c.fd, big, sizeof(big), 0);
	ck_assert_int_eq(w, -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_OUT, 0);
	while (stack_ep_changed(h.st, hs, 8) > 0)
		;
	while (n > 0)
		pbuf_free(h.st, hold[--n]);
	h_advance(&h, 1);
	nh = stack_ep_changed(h.st, hs, 8);
	ck_assert_int_ge(nh, 1);
	ck_assert_int_eq(hs[0], c.fd);
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_OUT, 0);
	ck_assert_int_gt(tp_write(&h, c.fd, big, 1000, 0), 0);
	tp_flush(&c);
	tp_send_ack(&c);
	tp_close_active(&c);
}
END_TEST

/* The ISN the seeded generator gives a connect() made right after
 * h_setup, at the harness's starting clock (RFC 6528: M + F, M a 4 us
 * clock; F is the same for the same seed and the same calls). */
static uint32_t first_isn(void)
{
	struct harness probe;
	struct stack_sockaddr to = h_sa(H_PEER4, TP_PEER_PORT);
	uint8_t pkt[2048];
	uint32_t isn;
	int fd;

	h_setup(&probe);
	fd = stack_ep_open(probe.st, STACK_AF_INET, STACK_SOCK_STREAM, 0);
	ck_assert_int_eq(stack_ep_connect(probe.st, fd, &to), -EINPROGRESS);
	ck_assert_uint_gt(h_pull(&probe, pkt, sizeof(pkt)), 40);
	isn = get32(pkt + IP4_HLEN + 4);
	h_teardown(&probe);
	return isn;
}

START_TEST(stack_seq_wraps_in_bulk)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t want = 0xffffffffu - 20000, k = want - first_isn();
	static uint8_t d[200000];

	/* Move the fake clock so that the stack's own ISN lands 20000 bytes
	 * before 2^32: its snd_una / snd_nxt / snd_max, its RTT timing, the
	 * ACKs it receives and its FIN all cross the wrap. */
	h_advance(&h, (stack_ns_t)k * 4000);
	tp_client(&c, &h, &cfg);
	ck_assert_uint_eq(c.irs, want);
	fill_pattern(d, sizeof(d), 77);
	tp_pump_to_peer(&c, d, sizeof(d));
	ck_assert_uint_lt(c.rcv_nxt, 200000); /* it wrapped */
	tp_close_active(&c);
}
END_TEST

Suite *suite_tcp_api(void)
{
	Suite *su = suite_create("tcp_api");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tcp_info_and_congestion);
	tcase_add_test(tc, tcp_info_counts_traffic);
	tcase_add_test(tc, tcp_info_sndbuf_limited);
	tcase_add_test(tc, tcp_info_rcv_rtt);
	tcase_add_test(tc, busy_until_acked_then_abort);
	tcase_add_test(tc, cubic_follows_rfc9438);
	tcase_add_test(tc, ep_count_follows_endpoints);
	tcase_add_test(tc, time_wait_counted_apart);
	tcase_add_test(tc, listener_shutdown_stops_listening);
	tcase_add_test(tc, urgent_byte_sets_pri);
	tcase_add_test(tc, handle_after_time_wait);
	tcase_add_test(tc, data_readable_after_time_wait);
	tcase_add_test(tc, send_without_buffers_waits_and_wakes);
	tcase_add_test(tc, stack_seq_wraps_in_bulk);
	suite_add_tcase(su, tc);
	return su;
}
