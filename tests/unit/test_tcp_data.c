/*
 * test_tcp_data.c — TCP data transfer (stack/tcp*.c) at the packet level:
 * integrity both ways (IPv4, IPv6, every option set), retransmission
 * timing (RFC 6298 with Linux's floors, Karn, backoff, tcp_retries2,
 * TCP_USER_TIMEOUT), fast retransmit, windows (scaling, zero window and
 * persist, silly-window avoidance), the initial window, Nagle / TCP_CORK /
 * TCP_NODELAY / MSG_MORE, delayed ACKs, PAWS, urgent data and sequence
 * numbers that wrap past 2^32.  The remote side is tcp_peer.c's scripted
 * peer; Linux is the reference for every expected value.
 */
#include <errno.h>

#include "tcp_peer.h"

#define MS STACK_NS_PER_MS
#define SEC STACK_NS_PER_S

static struct harness h;
static struct tp_conn c;
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

/* A configuration without SACK: Linux then has no tail loss probe
 * (tcp_schedule_loss_probe needs SACK) and no RACK, so loss recovery is
 * plain RTO and three duplicate ACKs. */
static struct tp_cfg nosack(int family)
{
	struct tp_cfg cfg = tp_cfg(family);

	cfg.sackok = false;
	return cfg;
}

/* The peer ACKs everything it has, with its current window. */
static void ack_all(void)
{
	tp_send_ack(&c);
}

/* Read exactly n bytes that must be there now. */
static void read_exact(void *b, size_t n)
{
	ck_assert_int_eq(tp_read(&h, c.fd, b, n, 0), (ssize_t)n);
}

/* ---- transfer and integrity --------------------------------------------------- */

START_TEST(send_small_v4)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_client(&c, &h, &cfg);
	fill_pattern(data, 100, 1);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 100, 0), 100);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.iss + 1, 100);
	ck_assert_mem_eq(s.data, data, 100);
	ck_assert(s.o.ts_on);
	ck_assert_uint_eq(stack_ep_unsent(h.st, c.fd), 100); /* SIOCOUTQ */
	ack_all();
	ck_assert_uint_eq(stack_ep_unsent(h.st, c.fd), 0);
	tp_close_active(&c);
}
END_TEST

START_TEST(send_small_v6)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_write(&h, c.fd, "hello, world", 12, 0), 12);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.iss + 1, 12);
	ck_assert_mem_eq(s.data, "hello, world", 12);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(recv_small_quickack_peek_pending)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_IN, 0);
	tp_send_data(&c, "0123456789", 10);
	/* quick-ACK mode at the start: the ACK goes at once */
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 0);
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_IN, 0);
	ck_assert_int_eq(stack_ep_pending(h.st, c.fd), 10);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 4, STACK_MSG_PEEK), 4);
	ck_assert_mem_eq(buf, "0123", 4);
	ck_assert_int_eq(stack_ep_pending(h.st, c.fd), 10);
	read_exact(buf, 3);
	ck_assert_mem_eq(buf, "012", 3);
	read_exact(buf, 7);
	ck_assert_mem_eq(buf, "3456789", 7);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_IN, 0);
	tp_close_active(&c);
}
END_TEST

START_TEST(recv_gathers_segments_and_iovecs)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);
	struct iovec iov[3];
	uint8_t a[5], b[7], d[100];

	tp_client(&c, &h, &cfg);
	tp_send_data(&c, "abcdefgh", 8);
	tp_send_data(&c, "ijklmnop", 8);
	iov[0] = (struct iovec){a, sizeof(a)};
	iov[1] = (struct iovec){b, sizeof(b)};
	iov[2] = (struct iovec){d, sizeof(d)};
	ck_assert_int_eq(stack_ep_recvfrom(h.st, c.fd, iov, 3, 0, NULL, NULL), 16);
	ck_assert_mem_eq(a, "abcde", 5);
	ck_assert_mem_eq(b, "fghijkl", 7);
	ck_assert_mem_eq(d, "mnop", 4);
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	tp_close_active(&c);
}
END_TEST

START_TEST(bulk_to_peer_v4)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_client(&c, &h, &cfg);
	fill_pattern(data, 300000, 11);
	tp_pump_to_peer(&c, data, 300000);
	tp_close_active(&c);
}
END_TEST

START_TEST(bulk_to_peer_v6_no_options)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);

	cfg.mss = 0;
	cfg.ws = -1;
	cfg.ts = false;
	cfg.sackok = false;
	cfg.win = 65535;
	tp_server(&c, &h, &cfg);
	fill_pattern(data, 200000, 12);
	tp_pump_to_peer(&c, data, 200000);
	tp_close_active(&c);
}
END_TEST

START_TEST(bulk_to_stack_v4)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	fill_pattern(data, 500000, 13);
	tp_pump_to_stack(&c, data, 500000);
	tp_close_active(&c);
}
END_TEST

START_TEST(bulk_to_stack_v6_no_ws)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);

	cfg.ws = -1;
	tp_client(&c, &h, &cfg);
	fill_pattern(data, 300000, 14);
	tp_pump_to_stack(&c, data, 300000);
	tp_close_active(&c);
}
END_TEST

START_TEST(bulk_both_directions)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	fill_pattern(data, 150000, 15);
	tp_pump_to_stack(&c, data, 150000);
	fill_pattern(data, 150000, 16);
	tp_pump_to_peer(&c, data, 150000);
	fill_pattern(data, 70000, 17);
	tp_pump_to_stack(&c, data, 70000);
	tp_close_active(&c);
}
END_TEST

START_TEST(initial_window_ten_segments)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);
	unsigned n = 0, full = 0;

	tp_client(&c, &h, &cfg);
	/* 15000 bytes fit the default send buffer (tcp_wmem[1] 16384) */
	fill_pattern(data, 15000, 18);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 15000, 0), 15000);
	/* RFC 6928: at most 10 segments before the first ACK */
	while (tp_pull(&c, &s)) {
		ck_assert_uint_eq(s.len, 1448);
		n++;
	}
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(tp_run(&h, 100 * MS), STACK_NS_NEVER);
	/* one ACK for all ten: the rest (520 bytes) goes, then more as it
	 * is written: slow start has doubled the window */
	ack_all();
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 14480, TP_ANY, 520);
	fill_pattern(data, 16384, 19);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 16384, 0), 16384);
	while (tp_pull(&c, &s))
		full += s.len == 1448;
	ck_assert_uint_ge(full, 11);
	for (int i = 0; i < 4; i++) {
		ack_all();
		tp_flush(&c);
	}
	ack_all();
	ck_assert_uint_eq(c.rcv_nxt, c.irs + 1 + 15000 + 16384);
	tp_close_active(&c);
}
END_TEST

START_TEST(sndbuf_full_eagain_then_writable)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	size_t total = 0;
	ssize_t w;
	int sb;

	cfg.sndbuf = 16384;
	tp_client(&c, &h, &cfg);
	/* Linux doubles the value (sock_setsockopt) */
	sb = tp_getint(&h, c.fd, STACK_SOL_SOCKET, STACK_SO_SNDBUF);
	ck_assert_int_eq(sb, 32768);
	fill_pattern(data, sizeof(data), 19);
	while ((w = tp_write(&h, c.fd, data + total, 8192, 0)) > 0) {
		total += (size_t)w;
		ck_assert_uint_lt(total, 1u << 20);
	}
	ck_assert_int_eq(w, -EAGAIN);
	ck_assert_uint_ge(total, 8192);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_OUT, 0);
	ck_assert_int_eq(stack_ep_unsent(h.st, c.fd), (int)total);
	/* the peer takes it all: writable again, and the bytes are right */
	c.rx = buf;
	c.rx_cap = sizeof(buf);
	c.rx_len = 0;
	for (int i = 0; i < 1000 && stack_ep_unsent(h.st, c.fd) > 0; i++) {
		if (!tp_flush(&c))
			tp_run(&h, 500 * MS);
		ack_all();
	}
	ck_assert_int_eq(stack_ep_unsent(h.st, c.fd), 0);
	ck_assert_uint_eq(c.rx_len, total);
	ck_assert(memcmp(buf, data, total) == 0);
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_OUT, 0);
	c.rx = NULL;
	tp_close_active(&c);
}
END_TEST

/* Linux's tcp_wmem[0]: every socket may queue its first 4 KiB to send
 * however tight memory is.  Without it an echo server whose peers filled
 * the pool with data it has not read yet could never write — and so never
 * read — again (a 200-connection echo test wedged that way). */
START_TEST(send_minimum_under_pool_pressure)
{
	enum { NC = 10 };
	static struct tp_conn cs[NC];
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	const struct pool *pl = &h.st->pools[PBUF_SMALL];
	struct tp_seg sg;
	size_t sent[NC] = { 0 };
	bool more = true;

	fill_pattern(data, 200000, 7);
	tp_server(&cs[0], &h, &cfg);
	for (int i = 1; i < NC; i++) {
		tp_server_more(&cs[i], &cs[0], (uint16_t)(TP_PEER_SPORT + i));
		tp_server_syn(&cs[i]);
		tp_server_synack(&cs[i]);
		tp_server_finish(&cs[i]);
	}
	/* the peers fill every offered window; the program reads nothing */
	for (int round = 0; more && round < 2000; round++) {
		more = false;
		for (int i = 0; i < NC; i++) {
			struct tp_conn *k = &cs[i];
			int32_t room = (int32_t)(k->stack_ack + k->stack_wnd - k->snd_nxt);

			if (room <= 0 || sent[i] >= 190000)
				continue;
			tp_send_data(k, data + sent[i], room > 1448 ? 1448 : (size_t)room);
			sent[i] += room > 1448 ? 1448 : (size_t)room;
			more = true;
		}
		if (!more)
			tp_run(&h, 300 * MS);
		while (tp_pull_any(&h, &sg)) {
			for (int i = 0; i < NC; i++)
				if (cs[i].pport == sg.dport)
					tp_track(&cs[i], &sg);
			more = true;
		}
	}
	ck_assert_uint_gt(pl->used, pl->total / OPT_PBUF_RX_RESERVE_DIV);
	/* ...but they never promised the part kept for sending (give or
	 * take a buffer: windows are rounded to whole segments) */
	ck_assert_uint_ge(pl->total - pl->used + 2, pl->total / OPT_PBUF_TX_RESERVE_DIV);
	/* still, each connection may queue its minimum, and no more */
	for (int i = 0; i < NC; i++) {
		ssize_t w = tp_write(&h, cs[i].fd, data, 8192, 0);

		ck_assert_int_ge(w, 4096);
		ck_assert_int_lt(w, 8192);
	}
	for (int i = 0; i < NC; i++)
		tp_send_rst(&cs[i]);
}
END_TEST

START_TEST(out_of_order_reassembly)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t base;

	tp_server(&c, &h, &cfg);
	base = c.snd_nxt;
	fill_pattern(data, 4000, 20);
	/* 3, 2, 4, then 1: an immediate duplicate ACK for each gap */
	tp_send_at(&c, TH_ACK, base + 2000, data + 2000, 1000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	tp_send_at(&c, TH_ACK, base + 1000, data + 1000, 1000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	tp_send_at(&c, TH_ACK, base + 3000, data + 3000, 1000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), -EAGAIN);
	ck_assert_int_eq(stack_ep_pending(h.st, c.fd), 0);
	tp_send_at(&c, TH_ACK, base, data, 1000);
	c.snd_nxt = base + 4000;
	/* the hole filled: everything ACKed at once (RFC 5681 §4.2) */
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base + 4000, 0);
	read_exact(buf, 4000);
	ck_assert_mem_eq(buf, data, 4000);
	tp_close_active(&c);
}
END_TEST

START_TEST(sack_blocks_for_out_of_order)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t base;

	tp_server(&c, &h, &cfg);
	base = c.snd_nxt;
	fill_pattern(data, 3000, 20);
	/* the second 1000 bytes first */
	tp_send_at(&c, TH_ACK, base + 1000, data + 1000, 1000);
	/* out-of-order data: an immediate duplicate ACK with a SACK block
	 * (RFC 2018 §4, __tcp_ack_snd_check with an OOO queue) */
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_uint_eq(s.o.nsack, 1);
	ck_assert_uint_eq(s.o.sack[0][0], base + 1000);
	ck_assert_uint_eq(s.o.sack[0][1], base + 2000);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), -EAGAIN);
	/* the third, also out of order: the newest block first (RFC 2018 §4) */
	tp_send_at(&c, TH_ACK, base + 2000, data + 2000, 1000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_uint_ge(s.o.nsack, 1);
	ck_assert_uint_eq(s.o.sack[0][0], base + 1000);
	ck_assert_uint_eq(s.o.sack[0][1], base + 3000);
	/* the hole filled: everything ACKed at once */
	tp_send_at(&c, TH_ACK, base, data, 1000);
	c.snd_nxt = base + 3000;
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base + 3000, 0);
	ck_assert_uint_eq(s.o.nsack, 0);
	read_exact(buf, 3000);
	ck_assert_mem_eq(buf, data, 3000);
	tp_close_active(&c);
}
END_TEST

/* More holes than SACK blocks fit: the block of the latest arrival still
 * comes first (RFC 2018 §4), the rest from the lowest.  Reporting only the
 * lowest blocks told a sender nothing of what kept arriving above them
 * (found at 20 % loss: Linux sat out timeouts with backoff against us). */
START_TEST(sack_latest_block_first_with_many_holes)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t base;

	tp_server(&c, &h, &cfg);
	base = c.snd_nxt;
	fill_pattern(data, 8000, 21);
	/* seven islands of 100 bytes with a hole before each */
	for (uint32_t k = 1; k <= 7; k++) {
		tp_send_at(&c, TH_ACK, base + 1000 * k, data + 1000 * k, 100);
		tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
		ck_assert_uint_eq(s.o.nsack, k < 3 ? k : 3); /* with timestamps: three fit */
		ck_assert_uint_eq(s.o.sack[0][0], base + 1000 * k);
		ck_assert_uint_eq(s.o.sack[0][1], base + 1000 * k + 100);
		if (k >= 3) {
			ck_assert_uint_eq(s.o.sack[1][0], base + 1000);
			ck_assert_uint_eq(s.o.sack[2][0], base + 2000);
		}
	}
	/* the sixth grows: its block first, then the two lowest */
	tp_send_at(&c, TH_ACK, base + 6100, data + 6100, 100);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_uint_eq(s.o.sack[0][0], base + 6000);
	ck_assert_uint_eq(s.o.sack[0][1], base + 6200);
	ck_assert_uint_eq(s.o.sack[1][0], base + 1000);
	tp_send_rst(&c);
}
END_TEST

START_TEST(out_of_order_without_sack)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET6);
	uint32_t base;

	tp_client(&c, &h, &cfg);
	base = c.snd_nxt;
	fill_pattern(data, 2000, 21);
	tp_send_at(&c, TH_ACK, base + 1000, data + 1000, 1000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_uint_eq(s.o.nsack, 0);
	tp_send_at(&c, TH_ACK, base, data, 1000);
	c.snd_nxt = base + 2000;
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base + 2000, 0);
	read_exact(buf, 2000);
	ck_assert_mem_eq(buf, data, 2000);
	tp_close_active(&c);
}
END_TEST

START_TEST(duplicate_data_dsack)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t base;

	tp_server(&c, &h, &cfg);
	base = c.snd_nxt;
	tp_send_data(&c, "once", 4);
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	/* the same segment again: an immediate ACK with a D-SACK block
	 * (RFC 2883 §4, tcp_dsack 1) */
	tp_send_at(&c, TH_ACK | TH_PSH, base, "once", 4);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base + 4, 0);
	ck_assert_uint_ge(s.o.nsack, 1);
	ck_assert_uint_eq(s.o.sack[0][0], base);
	ck_assert_uint_eq(s.o.sack[0][1], base + 4);
	read_exact(buf, 4); /* unread data would make close() an RST */
	tp_close_active(&c);
}
END_TEST

START_TEST(duplicate_data_delivered_once)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t base;

	tp_server(&c, &h, &cfg);
	base = c.snd_nxt;
	tp_send_data(&c, "once", 4);
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	ck_assert_uint_eq(c.stack_ack, base + 4);
	/* the same segment again: an immediate duplicate ACK, nothing
	 * delivered twice (tcp_data_queue: "A retransmit") */
	tp_send_at(&c, TH_ACK | TH_PSH, base, "once", 4);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base + 4, 0);
	read_exact(buf, 4);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -EAGAIN);
	/* a partial overlap delivers only the new bytes */
	tp_send_at(&c, TH_ACK | TH_PSH, base + 2, "ceNEW", 5);
	c.snd_nxt = base + 7;
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), 3);
	ck_assert_mem_eq(buf, "NEW", 3);
	tp_close_active(&c);
}
END_TEST

/* ---- retransmission timing ------------------------------------------------------ */

/* Write a small segment and check it goes out at once. */
static void send_one(size_t n)
{
	fill_pattern(data, n, 30);
	ck_assert_int_eq(tp_write(&h, c.fd, data, n, 0), (ssize_t)n);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, (long long)n);
}

/* The next retransmission of the first segment comes `at` from now. */
static void expect_rexmit(stack_ns_t at, size_t n)
{
	stack_ns_t tol = 20 * MS + at / 200;

	tp_expect_at(&c, &s, at, tol);
	ck_assert_uint_eq(s.seq, c.irs + 1);
	ck_assert_uint_eq(s.len, n);
	ck_assert_mem_eq(s.data, data, n);
}

START_TEST(rto_from_handshake_rtt_client)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);

	/* one sample R = 500 ms: RTO = R + max(4 * R/2, 200 ms) = 1.5 s */
	cfg.rtt = 500 * MS;
	tp_client(&c, &h, &cfg);
	send_one(100);
	expect_rexmit(1500 * MS, 100);
	expect_rexmit(3000 * MS, 100); /* doubled (RFC 6298 §5.5) */
	expect_rexmit(6000 * MS, 100);
	ack_all();
	ck_assert_int_eq(stack_ep_unsent(h.st, c.fd), 0);
	ck_assert_uint_eq(tp_run(&h, 20 * SEC), STACK_NS_NEVER);
	tp_close_active(&c);
}
END_TEST

START_TEST(rto_from_handshake_rtt_server)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET6);

	/* R = 100 ms: RTO = 100 + max(200, 200) = 300 ms (tcp_synack_rtt_meas) */
	cfg.rtt = 100 * MS;
	tp_server(&c, &h, &cfg);
	send_one(10);
	expect_rexmit(300 * MS, 10);
	expect_rexmit(600 * MS, 10);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(rto_floor_200ms)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);

	/* R = 0: RTO = max(0 + 200 ms, rto_min) */
	tp_server(&c, &h, &cfg);
	send_one(50);
	expect_rexmit(200 * MS, 50);
	expect_rexmit(400 * MS, 50);
	expect_rexmit(800 * MS, 50);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(rto_from_data_sample_no_handshake_ts)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);

	/* After a retransmitted SYN there is no handshake sample (Karn) and no
	 * timestamps: RTO 3 s for the data (RFC 6298 §5.7, TCP_TIMEOUT_FALLBACK). */
	cfg.ts = false;
	tp_client_syn(&c, &h, &cfg);
	tp_expect_at(&c, &s, 1 * SEC, 20 * MS);
	ck_assert_uint_eq(s.flags, TH_SYN);
	h_advance(&h, 100 * MS);
	tp_client_finish(&c);
	send_one(20);
	expect_rexmit(3 * SEC, 20);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(karn_timestamps_disambiguate)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);

	/* The SYN is retransmitted, but the SYN-ACK echoes the TSval of the
	 * retransmission: a valid sample of 100 ms (RFC 7323 §4.1):
	 * RTO = 100 + max(200, 200) = 300 ms. */
	tp_client_syn(&c, &h, &cfg);
	tp_expect_at(&c, &s, 1 * SEC, 20 * MS);
	ck_assert_uint_eq(s.flags, TH_SYN);
	c.syn_opts.tsval = s.o.tsval;
	h_advance(&h, 100 * MS);
	tp_client_finish(&c);
	send_one(20);
	expect_rexmit(300 * MS, 20);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(rto_backoff_gives_up_etimedout)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);
	stack_ns_t rto = 200 * MS, t0;
	unsigned n;

	/* tcp_retries2 15 with RTO 200 ms: retransmissions at 0.2, 0.6, 1.4,
	 * ... (doubling to the 120 s cap), the 15th at 804.6 s; the timer at
	 * 924.6 s finds the time limit passed (retransmits_timed_out:
	 * (2^10 - 1) * 200 ms + 6 * 120 s) and gives up without an RST. */
	tp_server(&c, &h, &cfg);
	send_one(100);
	t0 = h.now;
	for (n = 0; n < 15; n++) {
		expect_rexmit(rto, 100);
		ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
		rto = rto * 2 > 120 * SEC ? 120 * SEC : rto * 2;
	}
	ck_assert_uint_ge(h.now - t0 + 1 * SEC, 804600 * MS);
	ck_assert_uint_le(h.now - t0, 805600 * MS);
	ck_assert_uint_eq(tp_run(&h, t0 + 924600 * MS - 1 * SEC - h.now), STACK_NS_NEVER);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	ck_assert_uint_eq(tp_run(&h, 2 * SEC), STACK_NS_NEVER); /* no RST */
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & (STACK_EV_ERR | STACK_EV_HUP),
			  STACK_EV_ERR | STACK_EV_HUP);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -ETIMEDOUT);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), -EPIPE);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 1, 0), 0);
	c.done = true;
}
END_TEST

START_TEST(user_timeout_gives_up)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET6);

	tp_client(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_USER_TIMEOUT, 5000), 0);
	ck_assert_int_eq(tp_getint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_USER_TIMEOUT), 5000);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_USER_TIMEOUT, -1), -EINVAL);
	send_one(100);
	/* retransmissions at 0.2, 0.6, 1.4, 3.0 s; then the 5 s limit
	 * (tcp_clamp_rto_to_user_timeout) ends it, well before tcp_retries2 */
	expect_rexmit(200 * MS, 100);
	expect_rexmit(400 * MS, 100);
	expect_rexmit(800 * MS, 100);
	expect_rexmit(1600 * MS, 100);
	ck_assert_uint_eq(tp_run(&h, 1900 * MS), STACK_NS_NEVER);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	/* by 6.3 s (when the next retransmission would be) it has given up,
	 * without an RST (tcp_write_err) */
	{
		stack_ns_t end = h.now + 1400 * MS;

		for (int i = 0; i < 10 && h.now < end; i++) {
			if (tp_run(&h, end - h.now) == STACK_NS_NEVER)
				break;
			ck_assert(tp_pull(&c, &s));
			ck_assert_uint_eq(s.flags & TH_RST, 0);
		}
	}
	ck_assert_uint_ne(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	ck_assert_int_eq(tp_so_error(&h, c.fd), ETIMEDOUT);
	c.done = true;
}
END_TEST

START_TEST(fast_retransmit_third_dupack)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);
	struct tp_out o;

	tp_server(&c, &h, &cfg);
	fill_pattern(data, 5 * 1448, 31);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 5 * 1448, 0), 5 * 1448);
	for (int i = 0; i < 5; i++)
		tp_expect(&c, &s, TH_ACK, c.irs + 1 + 1448u * i, TP_ANY, 1448);
	/* the second segment is lost: the peer ACKs the first, then three
	 * duplicates (same ACK, no data, same window: RFC 5681 §2) */
	o = tp_out(&c, TH_ACK);
	o.ack = c.irs + 1 + 1448;
	tp_inject(&c, &o);
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	tp_inject(&c, &o);
	/* third duplicate: retransmit now, long before the RTO */
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 1448, TP_ANY, 1448);
	ck_assert_mem_eq(s.data, data + 1448, 1448);
	ack_all();
	ck_assert_int_eq(stack_ep_unsent(h.st, c.fd), 0);
	tp_run(&h, 2 * SEC);
	tp_flush(&c);
	tp_close_active(&c);
}
END_TEST

START_TEST(window_updates_are_not_dupacks)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);
	struct tp_out o;

	tp_server(&c, &h, &cfg);
	fill_pattern(data, 4 * 1448, 32);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 4 * 1448, 0), 4 * 1448);
	tp_flush(&c);
	o = tp_out(&c, TH_ACK);
	o.ack = c.irs + 1 + 1448;
	for (int i = 0; i < 4; i++) {
		o.win = (uint16_t)(o.win - 1); /* each opens a different window */
		tp_inject(&c, &o);
	}
	tp_expect_nothing(&c);
	ack_all();
	tp_close_active(&c);
}
END_TEST

/* ---- windows ------------------------------------------------------------------------- */

START_TEST(respects_peer_window)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);

	cfg.ws = 0; /* scaling on, shift 0: the window is exact */
	cfg.win = 3 * 1448;
	tp_client(&c, &h, &cfg);
	fill_pattern(data, 10000, 40);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 10000, 0), 10000);
	for (int i = 0; i < 3; i++)
		tp_expect(&c, &s, TH_ACK, c.irs + 1 + 1448u * i, TP_ANY, 1448);
	tp_expect_nothing(&c);
	/* one segment ACKed, same window: the right edge moves by one MSS */
	{
		struct tp_out o = tp_out(&c, TH_ACK);

		o.ack = c.irs + 1 + 1448;
		tp_inject(&c, &o);
	}
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 3 * 1448, TP_ANY, 1448);
	tp_expect_nothing(&c);
	tp_send_rst(&c);
}
END_TEST

/* The peer's segment with every field given (its timestamps as usual). */
static void peer_seg(uint8_t flags, uint32_t seq, const void *d, size_t len, uint32_t ack,
		     uint32_t win)
{
	struct tp_out o = tp_out(&c, flags);

	o.seq = seq;
	o.data = d;
	o.len = len;
	o.ack = ack;
	o.win = (uint16_t)win;
	tp_inject(&c, &o);
}

/* A client connection whose peer offers an exact window (no scaling) of
 * segs segments, below the initial cwnd of 10; returns the MSS. */
static uint32_t client_with_window(uint32_t segs)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	cfg.ws = 0;
	tp_client(&c, &h, &cfg);
	peer_seg(TH_ACK, c.snd_nxt, NULL, 0, c.rcv_nxt, segs * c.eff_mss);
	return c.eff_mss;
}

/* The peer resends a hole of its own data with an ACK of new data and a
 * smaller window: its sequence number is below SND.WL1 (set by a later
 * pure ACK), yet the window must be taken (Linux tcp_may_update_window),
 * or SND.UNA + the older window overshoots the peer's right edge.  The
 * shim_threads stall: the data beyond was dropped, and our ACKs,
 * numbered past the peer's window, were ignored for good. */
START_TEST(window_from_resent_hole_with_new_ack)
{
	uint32_t mss = client_with_window(8), base = c.irs + 1, s0, end = 0, edge;
	uint8_t pd[200];
	size_t n = 0;

	fill_pattern(data, 40 * mss, 43);
	fill_pattern(pd, sizeof(pd), 44);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 40 * mss, 0), (ssize_t)(40 * mss));
	while (tp_pull(&c, &s))
		end = s.seq + (uint32_t)s.len;
	ck_assert_uint_eq(end - base, 8 * mss);
	/* the peer's data: the second 100 bytes arrive, the first are lost */
	s0 = c.snd_nxt;
	peer_seg(TH_ACK, s0 + 100, pd + 100, 100, base, 8 * mss);
	c.snd_nxt = s0 + 200;
	tp_flush(&c);
	/* a pure ACK at the peer's SND.NXT (so SND.WL1 = s0 + 200): two
	 * segments acked, the window still 8: two more go */
	peer_seg(TH_ACK, c.snd_nxt, NULL, 0, base + 2 * mss, 8 * mss);
	edge = base + 10 * mss;
	while (tp_pull(&c, &s))
		if (s.len)
			end = s.seq + (uint32_t)s.len;
	/* (segments carrying SACK blocks are shorter: up to the edge) */
	ck_assert_int_le((int32_t)(end - edge), 0);
	ck_assert_int_gt((int32_t)(end - edge), -(int32_t)mss);
	/* the hole resent (seq s0 < SND.WL1) with four segments acked and
	 * a window of 6: the right edge stays; nothing more may go */
	peer_seg(TH_ACK, s0, pd, 100, base + 4 * mss, 6 * mss);
	while (tp_pull(&c, &s)) {
		n++;
		if (s.len)
			ck_assert_msg((int32_t)(s.seq + (uint32_t)s.len - edge) <= 0,
				      "sent %d bytes beyond the peer's right edge",
				      (int)(s.seq + (uint32_t)s.len - edge));
	}
	ck_assert_uint_gt(n, 0); /* the ACK of the hole */
	ck_assert_int_eq(tp_read(&h, c.fd, buf, sizeof(buf), 0), 200);
	ck_assert_mem_eq(buf, pd, 200);
	tp_send_rst(&c);
}
END_TEST

/* A peer that shrinks its window below what we sent (RFC 9293 §3.8.6
 * discourages it; it happens): our ACKs carry its right edge, not
 * SND.NXT, so they stay inside its window and are not dropped
 * (Linux tcp_acceptable_seq). */
START_TEST(ack_seq_within_shrunk_window)
{
	uint32_t mss = client_with_window(8), base = c.irs + 1;

	fill_pattern(data, 8 * mss, 45);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 8 * mss, 0), (ssize_t)(8 * mss));
	tp_flush(&c);
	peer_seg(TH_ACK | TH_PSH, c.snd_nxt, "hi", 2, base, 2 * mss);
	c.snd_nxt += 2;
	peer_seg(TH_ACK | TH_PSH, c.snd_nxt, "yo", 2, base, 2 * mss);
	c.snd_nxt += 2;
	tp_run(&h, 300 * STACK_NS_PER_MS);
	{
		unsigned acks = 0;

		while (tp_pull(&c, &s)) {
			ck_assert_uint_eq(s.len, 0);
			ck_assert_uint_eq(s.seq, base + 2 * mss);
			acks++;
		}
		ck_assert_uint_gt(acks, 0);
		ck_assert_uint_eq(c.stack_ack, c.snd_nxt);
	}
	tp_send_rst(&c);
}
END_TEST

START_TEST(respects_scaled_peer_window)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET6);

	/* WS 9: field 17 means 8704 bytes = 6 segments of 1428 + 136 */
	cfg.ws = 9;
	cfg.win = 17u << 9;
	tp_client(&c, &h, &cfg);
	ack_all(); /* the first scaled window field: 17 */
	fill_pattern(data, 12000, 41);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 12000, 0), 12000);
	{
		size_t sent = 0;

		while (tp_pull(&c, &s))
			sent += s.len;
		ck_assert_uint_le(sent, 8704);
		ck_assert_uint_ge(sent, 6 * 1428);
	}
	tp_send_rst(&c);
}
END_TEST

START_TEST(receive_window_fills_and_reopens)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t edge = 0, edge0, got = 0;
	size_t sent = 0, rd;
	int rounds = 0;

	cfg.rcvbuf = 4096;
	tp_client(&c, &h, &cfg);
	fill_pattern(data, 200000, 42);
	edge0 = c.stack_ack + c.stack_wnd;
	ck_assert_uint_gt(c.stack_wnd, 0);
	/* the program reads nothing: the peer fills the offered window */
	while (rounds++ < 1000) {
		uint32_t e = c.stack_ack + c.stack_wnd;
		int32_t room = (int32_t)(e - c.snd_nxt);
		size_t n = room > 536 ? 536 : (size_t)(room > 0 ? room : 0);

		/* the right edge never moves left (RFC 9293 §3.8.6) */
		ck_assert_int_ge((int32_t)(e - (edge ? edge : edge0)), 0);
		edge = e;
		if (!n)
			break;
		tp_send_data(&c, data + sent, n);
		sent += n;
		tp_run(&h, 250 * MS);
		tp_flush(&c);
	}
	ck_assert_uint_eq(c.stack_wnd, 0);
	ck_assert_uint_eq(c.stack_ack, c.snd_nxt);
	ck_assert_uint_ge(sent, 1000);
	/* a byte beyond the window is dropped and answered with an ACK */
	tp_send_at(&c, TH_ACK | TH_PSH, c.snd_nxt, data + sent, 1);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 0);
	ck_assert_uint_eq(s.win, 0);
	/* reading one byte opens too little to announce (SWS avoidance,
	 * RFC 9293 §3.8.6.2.2) */
	read_exact(buf, 1);
	ck_assert_uint_eq(tp_run(&h, 500 * MS), STACK_NS_NEVER);
	/* reading everything announces the window */
	rd = 1 + (size_t)tp_read(&h, c.fd, buf + 1, sizeof(buf) - 1, 0);
	ck_assert_uint_eq(rd, sent);
	ck_assert_mem_eq(buf, data, sent);
	ck_assert_uint_ne(tp_run(&h, 500 * MS), STACK_NS_NEVER);
	tp_flush(&c);
	ck_assert_uint_ge(c.stack_wnd, 536);
	got = (uint32_t)sent;
	/* and the rest flows */
	tp_pump_to_stack(&c, data + got, 50000);
	tp_close_active(&c);
}
END_TEST

START_TEST(zero_window_persist_probes)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);
	stack_ns_t prev = 0;

	tp_server(&c, &h, &cfg);
	c.wnd = 0;
	ack_all(); /* window closed */
	fill_pattern(data, 1000, 43);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 1000, 0), 1000);
	tp_expect_nothing(&c);
	/* probes: no data, seq = SND.UNA - 1 (tcp_xmit_probe_skb), backing
	 * off exponentially from the RTO (tcp_probe0_when) */
	for (int i = 0; i < 5; i++) {
		stack_ns_t t = tp_wait(&c, 60 * SEC, &s);

		ck_assert_uint_ne(t, STACK_NS_NEVER);
		ck_assert_uint_eq(s.len, 0);
		ck_assert_uint_eq(s.seq, c.irs);
		ck_assert_uint_eq(s.ack, c.snd_nxt);
		if (i == 0) {
			ck_assert_uint_ge(t, 150 * MS);
			ck_assert_uint_le(t, 1500 * MS);
		} else {
			ck_assert_uint_ge(t * 10, prev * 15);
			ck_assert_uint_le(t * 10, prev * 25);
		}
		prev = t;
		ack_all(); /* still zero */
	}
	ck_assert_int_eq(stack_ep_unsent(h.st, c.fd), 1000);
	/* the window opens: the data goes at once */
	c.wnd = 1u << 20;
	ack_all();
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 1000);
	ck_assert_mem_eq(s.data, data, 1000);
	ack_all();
	ck_assert_int_eq(stack_ep_unsent(h.st, c.fd), 0);
	tp_close_active(&c);
}
END_TEST

START_TEST(zero_window_opened_without_probe)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET6);

	tp_client(&c, &h, &cfg);
	c.wnd = 0;
	ack_all();
	ck_assert_int_eq(tp_write(&h, c.fd, "queued", 6, 0), 6);
	tp_expect_nothing(&c);
	h_advance(&h, 50 * MS);
	tp_expect_nothing(&c);
	c.wnd = 65536;
	ack_all(); /* a window update */
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 6);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(sender_sws_no_tiny_segments)
{
	struct tp_cfg cfg = nosack(STACK_AF_INET);

	cfg.ws = 0;
	tp_server(&c, &h, &cfg);
	c.wnd = 100;
	ack_all();
	/* all we have fits: it goes */
	ck_assert_int_eq(tp_write(&h, c.fd, "fits", 4, 0), 4);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 4);
	ack_all();
	/* much more than the window: no 100-byte segment at once
	 * (tcp_snd_wnd_test wants a full MSS to fit) */
	fill_pattern(data, 5000, 44);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 5000, 0), 5000);
	tp_expect_nothing(&c);
	/* the window opens: full segments */
	c.wnd = 65535;
	ack_all();
	tp_expect(&c, &s, TH_ACK, c.irs + 5, TP_ANY, 1448);
	tp_flush(&c);
	ack_all();
	tp_flush(&c);
	ack_all();
	tp_close_active(&c);
}
END_TEST

/* ---- Nagle, TCP_NODELAY, TCP_CORK, MSG_MORE ------------------------------------------ */

START_TEST(nagle_holds_small_while_unacked)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_getint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_NODELAY), 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "aaaa", 4, 0), 4);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 4);
	ck_assert_int_eq(tp_write(&h, c.fd, "bbbb", 4, 0), 4);
	ck_assert_int_eq(tp_write(&h, c.fd, "cccc", 4, 0), 4);
	tp_expect_nothing(&c);
	h_advance(&h, 20 * MS);
	tp_expect_nothing(&c);
	/* the ACK releases what was held, in one segment */
	ack_all();
	tp_expect(&c, &s, TH_ACK, c.irs + 5, TP_ANY, 8);
	ck_assert_mem_eq(s.data, "bbbbcccc", 8);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(nagle_full_segment_not_held)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_write(&h, c.fd, "x", 1, 0), 1);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 1);
	fill_pattern(data, 2000, 50);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 2000, 0), 2000);
	/* the full-sized part goes, the 552-byte tail waits (tcp_mss_split_point) */
	tp_expect(&c, &s, TH_ACK, c.irs + 2, TP_ANY, 1448);
	ck_assert_mem_eq(s.data, data, 1448);
	tp_expect_nothing(&c);
	ack_all();
	tp_expect(&c, &s, TH_ACK, c.irs + 2 + 1448, TP_ANY, 552);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(nagle_minshall_tail_of_large_write)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	/* Linux's Nagle is Minshall's (tcp_minshall_check): the short tail of
	 * a large write is sent while only full-sized segments are unACKed. */
	tp_server(&c, &h, &cfg);
	fill_pattern(data, 3000, 51);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 3000, 0), 3000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 1448);
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 1448, TP_ANY, 1448);
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 2896, TP_ANY, 104);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(nodelay_sends_each_write)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);

	tp_client(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_NODELAY, 1), 0);
	ck_assert_int_eq(tp_getint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_NODELAY), 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(tp_write(&h, c.fd, "abc", 3, 0), 3);
		tp_expect(&c, &s, TH_ACK, c.irs + 1 + 3u * i, TP_ANY, 3);
	}
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(nodelay_set_flushes_held_data)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_write(&h, c.fd, "a", 1, 0), 1);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 1);
	ck_assert_int_eq(tp_write(&h, c.fd, "b", 1, 0), 1);
	tp_expect_nothing(&c);
	/* setting TCP_NODELAY pushes pending data (tcp_push_pending_frames) */
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_NODELAY, 1), 0);
	tp_expect(&c, &s, TH_ACK, c.irs + 2, TP_ANY, 1);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(cork_holds_until_uncork)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_CORK, 1), 0);
	ck_assert_int_eq(tp_getint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_CORK), 1);
	ck_assert_int_eq(tp_write(&h, c.fd, "head", 4, 0), 4);
	ck_assert_int_eq(tp_write(&h, c.fd, "body", 4, 0), 4);
	tp_expect_nothing(&c);
	h_advance(&h, 100 * MS);
	tp_expect_nothing(&c);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_CORK, 0), 0);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 8);
	ck_assert_mem_eq(s.data, "headbody", 8);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(cork_sends_full_segments)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_CORK, 1), 0);
	fill_pattern(data, 3000, 52);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 3000, 0), 3000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 1448);
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 1448, TP_ANY, 1448);
	tp_expect_nothing(&c);
	ack_all();
	tp_expect_nothing(&c); /* corked: an ACK does not release a partial */
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_CORK, 0), 0);
	tp_expect(&c, &s, TH_ACK, c.irs + 1 + 2896, TP_ANY, 104);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(cork_ceiling_200ms)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);
	stack_ns_t t;

	tp_client(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_CORK, 1), 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "late", 4, 0), 4);
	/* tcp(7): a 200 ms ceiling on corked output */
	t = tp_wait(&c, 1500 * MS, &s);
	ck_assert_uint_ne(t, STACK_NS_NEVER);
	ck_assert_uint_ge(t, 190 * MS);
	ck_assert_uint_eq(s.len, 4);
	ck_assert_mem_eq(s.data, "late", 4);
	ack_all();
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_CORK, 0), 0);
	tp_close_active(&c);
}
END_TEST

START_TEST(msg_more_holds_like_cork)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_write(&h, c.fd, "GET ", 4, STACK_MSG_MORE), 4);
	tp_expect_nothing(&c);
	ck_assert_int_eq(tp_write(&h, c.fd, "/\r\n", 3, 0), 3);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, TP_ANY, 7);
	ck_assert_mem_eq(s.data, "GET /\r\n", 7);
	ack_all();
	tp_close_active(&c);
}
END_TEST

/* ---- delayed ACKs ------------------------------------------------------------------------ */

/* Leave quick-ACK mode: many small segments 10 ms apart (less than the
 * RTO, so no "too long gap" re-entry), each read at once. */
static void leave_quickack(void)
{
	for (int i = 0; i < 40; i++) {
		tp_send_data(&c, "q", 1);
		read_exact(buf, 1);
		h_advance(&h, 10 * MS);
		tp_flush(&c);
	}
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	ck_assert_uint_eq(c.stack_ack, c.snd_nxt);
}

START_TEST(delayed_ack_bounds)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	stack_ns_t t;

	tp_server(&c, &h, &cfg);
	leave_quickack();
	tp_send_data(&c, "x", 1);
	/* not at once, and within 200 ms (TCP_DELACK_MAX) */
	tp_expect_nothing(&c);
	t = tp_wait(&c, 200 * MS, &s);
	ck_assert_uint_ne(t, STACK_NS_NEVER);
	ck_assert_uint_gt(t, 0);
	ck_assert_uint_eq(s.ack, c.snd_nxt);
	read_exact(buf, 1);
	tp_close_active(&c);
}
END_TEST

START_TEST(ack_every_second_full_segment)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	leave_quickack();
	fill_pattern(data, 2 * 1448, 60);
	tp_send_data(&c, data, 1448);
	tp_send_data(&c, data + 1448, 1448);
	/* two full segments: ACK now (RFC 9293 §3.8.6.3, RFC 5681 §4.2) */
	tp_expect_ack_within(&c, 0);
	read_exact(buf, 2 * 1448);
	ck_assert_mem_eq(buf, data, 2 * 1448);
	tp_close_active(&c);
}
END_TEST

START_TEST(quickack_option_forces_ack)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);

	tp_client(&c, &h, &cfg);
	leave_quickack();
	tp_send_data(&c, "y", 1);
	tp_expect_nothing(&c);
	/* TCP_QUICKACK 1 sends the pending ACK now */
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_QUICKACK, 1), 0);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 0);
	read_exact(buf, 1);
	tp_close_active(&c);
}
END_TEST

/* ---- timestamps and PAWS ------------------------------------------------------------------ */

START_TEST(timestamps_echo_and_clock)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t v1;

	tp_server(&c, &h, &cfg);
	tp_send_data(&c, "t", 1);
	tp_expect(&c, &s, TH_ACK, TP_ANY, c.snd_nxt, 0);
	ck_assert(s.o.ts_on);
	ck_assert_uint_eq(s.o.tsecr, tp_tsval(&c)); /* TS.Recent echoed */
	v1 = s.o.tsval;
	h_advance(&h, 1000 * MS);
	ck_assert_int_eq(tp_write(&h, c.fd, "u", 1, 0), 1);
	tp_expect(&c, &s, TH_ACK, TP_ANY, TP_ANY, 1);
	/* a millisecond clock (tcp_time_stamp_ts) */
	ck_assert_uint_ge(s.o.tsval - v1, 990);
	ck_assert_uint_le(s.o.tsval - v1, 1010);
	ack_all();
	read_exact(buf, 1);
	tp_close_active(&c);
}
END_TEST

START_TEST(paws_old_timestamp_dropped)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t base;

	tp_server(&c, &h, &cfg);
	h_advance(&h, 10 * SEC);
	tp_send_data(&c, "new", 3);
	read_exact(buf, 3);
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	base = c.snd_nxt;
	/* next data carries a TSval 5 s older than TS.Recent: dropped and
	 * answered with a duplicate ACK (RFC 7323 §5.3, tcp_paws_discard) */
	c.ts_base -= 5000;
	tp_send_at(&c, TH_ACK | TH_PSH, base, "old", 3);
	c.ts_base += 5000;
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -EAGAIN);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	/* the same bytes with a current TSval are taken */
	tp_send_data(&c, "old", 3);
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	ck_assert_uint_eq(c.stack_ack, base + 3);
	read_exact(buf, 3);
	ck_assert_mem_eq(buf, "old", 3);
	tp_close_active(&c);
}
END_TEST

START_TEST(paws_does_not_apply_to_rst)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);
	struct tp_out o;

	tp_client(&c, &h, &cfg);
	h_advance(&h, 5 * SEC);
	tp_send_data(&c, "z", 1);
	read_exact(buf, 1);
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	/* an RST with an old TSval still resets (tcp_paws_discard ignores RST) */
	c.ts_base -= 4000;
	o = tp_out(&c, TH_RST);
	tp_inject(&c, &o);
	c.done = true;
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -ECONNRESET);
}
END_TEST

/* ---- urgent data --------------------------------------------------------------------------- */

START_TEST(oob_send_sets_urgent_pointer)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_TCP, STACK_TCP_NODELAY, 1), 0);
	ck_assert_int_eq(tp_write(&h, c.fd, "abc", 3, STACK_MSG_OOB), 3);
	/* URG, the pointer just past the last byte: the urgent byte is 'c'
	 * (BSD semantics, tcp_options_write / tcp_mark_urg) */
	tp_expect(&c, &s, TH_ACK | TH_URG, c.irs + 1, TP_ANY, 3);
	ck_assert_uint_eq(s.urp, 3);
	ck_assert_mem_eq(s.data, "abc", 3);
	ack_all();
	/* normal data after it carries no URG */
	ck_assert_int_eq(tp_write(&h, c.fd, "d", 1, 0), 1);
	tp_expect(&c, &s, TH_ACK, c.irs + 4, TP_ANY, 1);
	ack_all();
	tp_close_active(&c);
}
END_TEST

START_TEST(oob_recv_out_of_band)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	struct tp_out o;
	size_t got = 0;
	ssize_t r;

	tp_server(&c, &h, &cfg);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 1, STACK_MSG_OOB), -EINVAL);
	o = tp_out(&c, TH_ACK | TH_PSH | TH_URG);
	o.data = "abcd";
	o.len = 4;
	o.urp = 3; /* the urgent byte is 'c' */
	tp_inject(&c, &o);
	c.snd_nxt += 4;
	/* the stream skips the urgent byte; reads stop at the mark */
	while ((r = tp_read(&h, c.fd, buf + got, sizeof(buf) - got, 0)) > 0)
		got += (size_t)r;
	ck_assert_int_eq(r, -EAGAIN);
	ck_assert_uint_eq(got, 3);
	ck_assert_mem_eq(buf, "abd", 3);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, STACK_MSG_OOB), 1);
	ck_assert_uint_eq(buf[0], 'c');
	/* read once only (tcp_recv_urg: TCP_URG_READ) */
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, STACK_MSG_OOB), -EINVAL);
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	ck_assert_uint_eq(c.stack_ack, c.snd_nxt);
	tp_close_active(&c);
}
END_TEST

START_TEST(oob_inline)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);
	struct tp_out o;
	size_t got = 0;
	ssize_t r;

	tp_client(&c, &h, &cfg);
	ck_assert_int_eq(tp_setint(&h, c.fd, STACK_SOL_SOCKET, STACK_SO_OOBINLINE, 1), 0);
	o = tp_out(&c, TH_ACK | TH_PSH | TH_URG);
	o.data = "abcd";
	o.len = 4;
	o.urp = 3;
	tp_inject(&c, &o);
	c.snd_nxt += 4;
	while ((r = tp_read(&h, c.fd, buf + got, sizeof(buf) - got, 0)) > 0)
		got += (size_t)r;
	ck_assert_uint_eq(got, 4);
	ck_assert_mem_eq(buf, "abcd", 4);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, STACK_MSG_OOB), -EINVAL);
	tp_run(&h, 300 * MS);
	tp_flush(&c);
	tp_close_active(&c);
}
END_TEST

/* ---- sequence numbers across 2^32 ------------------------------------------------------------ */

START_TEST(peer_seq_wraps_in_segment)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);
	uint32_t base;

	cfg.iss = 0xffffff00;
	tp_server(&c, &h, &cfg);
	base = c.snd_nxt; /* 0xffffff01 */
	fill_pattern(data, 4000, 70);
	/* one segment straddles 2^32 */
	tp_send_data(&c, data, 1000);
	tp_expect_ack_within(&c, 200 * MS);
	ck_assert_uint_eq(c.stack_ack, base + 1000); /* 0x000002e9 */
	ck_assert_uint_lt(c.stack_ack, base);
	/* out of order beyond the wrap */
	tp_send_at(&c, TH_ACK, base + 2000, data + 2000, 1000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base + 1000, 0);
	tp_send_at(&c, TH_ACK, base + 1000, data + 1000, 1000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base + 3000, 0);
	c.snd_nxt = base + 3000;
	/* an old duplicate from before the wrap is recognised as old */
	tp_send_at(&c, TH_ACK | TH_PSH, base, data, 100);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base + 3000, 0);
	read_exact(buf, 3000);
	ck_assert_mem_eq(buf, data, 3000);
	/* an RST at the wrapped RCV.NXT resets */
	tp_send_rst(&c);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -ECONNRESET);
}
END_TEST

START_TEST(sack_block_edges_wrap)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);
	uint32_t base;

	cfg.iss = 0xfffffa00;
	tp_server(&c, &h, &cfg);
	base = c.snd_nxt; /* 0xfffffa01 */
	fill_pattern(data, 3000, 73);
	/* a block from before 2^32 to after it */
	tp_send_at(&c, TH_ACK, base + 1000, data + 1000, 1000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_uint_eq(s.o.nsack, 1);
	ck_assert_uint_eq(s.o.sack[0][0], base + 1000);
	ck_assert_uint_eq(s.o.sack[0][1], base + 2000);
	ck_assert_uint_lt(s.o.sack[0][1], s.o.sack[0][0]);
	tp_send_at(&c, TH_ACK, base, data, 1000);
	c.snd_nxt = base + 2000;
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base + 2000, 0);
	ck_assert_uint_eq(s.o.nsack, 0);
	read_exact(buf, 2000);
	ck_assert_mem_eq(buf, data, 2000);
	tp_close_active(&c);
}
END_TEST

START_TEST(peer_fin_at_wrap)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);

	cfg.iss = 0xffffff00;
	tp_client(&c, &h, &cfg);
	fill_pattern(data, 254, 71);
	tp_send_data(&c, data, 254); /* bytes 0xffffff01 .. 0xfffffffe */
	ck_assert_uint_eq(c.snd_nxt, 0xffffffff);
	tp_send_fin(&c); /* the FIN is 0xffffffff: ACK 0 */
	tp_run(&h, 250 * MS);
	tp_flush(&c);
	ck_assert_uint_eq(c.stack_ack, 0);
	read_exact(buf, 254);
	ck_assert_mem_eq(buf, data, 254);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), 0);
	ck_assert_int_eq(stack_ep_close(h.st, c.fd), 0);
	tp_expect(&c, &s, TH_FIN | TH_ACK, c.irs + 1, 0, 0);
	tp_send_ack(&c);
	tp_expect_nothing(&c);
	c.done = true;
}
END_TEST

START_TEST(bulk_to_stack_across_wrap)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET);

	cfg.iss = 0xfffe0000;
	tp_server(&c, &h, &cfg);
	fill_pattern(data, 300000, 72);
	tp_pump_to_stack(&c, data, 300000);
	ck_assert_uint_lt(c.snd_nxt, cfg.iss);
	tp_close_active(&c);
}
END_TEST

Suite *suite_tcp_data(void)
{
	Suite *su = suite_create("tcp_data");
	TCase *tr = tcase_create("transfer");
	TCase *rt = tcase_create("retransmit");
	TCase *wn = tcase_create("window");
	TCase *ng = tcase_create("nagle");
	TCase *da = tcase_create("delack");
	TCase *ts = tcase_create("timestamps");
	TCase *ur = tcase_create("urgent");
	TCase *wr = tcase_create("wrap");

	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, send_small_v4);
	tcase_add_test(tr, send_small_v6);
	tcase_add_test(tr, recv_small_quickack_peek_pending);
	tcase_add_test(tr, recv_gathers_segments_and_iovecs);
	tcase_add_test(tr, bulk_to_peer_v4);
	tcase_add_test(tr, bulk_to_peer_v6_no_options);
	tcase_add_test(tr, bulk_to_stack_v4);
	tcase_add_test(tr, bulk_to_stack_v6_no_ws);
	tcase_add_test(tr, bulk_both_directions);
	tcase_add_test(tr, initial_window_ten_segments);
	tcase_add_test(tr, sndbuf_full_eagain_then_writable);
	tcase_add_test(tr, send_minimum_under_pool_pressure);
	tcase_add_test(tr, out_of_order_reassembly);
	tcase_add_test(tr, sack_blocks_for_out_of_order);
	tcase_add_test(tr, sack_latest_block_first_with_many_holes);
	tcase_add_test(tr, out_of_order_without_sack);
	tcase_add_test(tr, duplicate_data_dsack);
	tcase_add_test(tr, duplicate_data_delivered_once);
	suite_add_tcase(su, tr);

	tcase_add_checked_fixture(rt, setup, teardown);
	tcase_add_test(rt, rto_from_handshake_rtt_client);
	tcase_add_test(rt, rto_from_handshake_rtt_server);
	tcase_add_test(rt, rto_floor_200ms);
	tcase_add_test(rt, rto_from_data_sample_no_handshake_ts);
	tcase_add_test(rt, karn_timestamps_disambiguate);
	tcase_add_test(rt, rto_backoff_gives_up_etimedout);
	tcase_add_test(rt, user_timeout_gives_up);
	tcase_add_test(rt, fast_retransmit_third_dupack);
	tcase_add_test(rt, window_updates_are_not_dupacks);
	suite_add_tcase(su, rt);

	tcase_add_checked_fixture(wn, setup, teardown);
	tcase_add_test(wn, respects_peer_window);
	tcase_add_test(wn, respects_scaled_peer_window);
	tcase_add_test(wn, window_from_resent_hole_with_new_ack);
	tcase_add_test(wn, ack_seq_within_shrunk_window);
	tcase_add_test(wn, receive_window_fills_and_reopens);
	tcase_add_test(wn, zero_window_persist_probes);
	tcase_add_test(wn, zero_window_opened_without_probe);
	tcase_add_test(wn, sender_sws_no_tiny_segments);
	suite_add_tcase(su, wn);

	tcase_add_checked_fixture(ng, setup, teardown);
	tcase_add_test(ng, nagle_holds_small_while_unacked);
	tcase_add_test(ng, nagle_full_segment_not_held);
	tcase_add_test(ng, nagle_minshall_tail_of_large_write);
	tcase_add_test(ng, nodelay_sends_each_write);
	tcase_add_test(ng, nodelay_set_flushes_held_data);
	tcase_add_test(ng, cork_holds_until_uncork);
	tcase_add_test(ng, cork_sends_full_segments);
	tcase_add_test(ng, cork_ceiling_200ms);
	tcase_add_test(ng, msg_more_holds_like_cork);
	suite_add_tcase(su, ng);

	tcase_add_checked_fixture(da, setup, teardown);
	tcase_add_test(da, delayed_ack_bounds);
	tcase_add_test(da, ack_every_second_full_segment);
	tcase_add_test(da, quickack_option_forces_ack);
	suite_add_tcase(su, da);

	tcase_add_checked_fixture(ts, setup, teardown);
	tcase_add_test(ts, timestamps_echo_and_clock);
	tcase_add_test(ts, paws_old_timestamp_dropped);
	tcase_add_test(ts, paws_does_not_apply_to_rst);
	suite_add_tcase(su, ts);

	tcase_add_checked_fixture(ur, setup, teardown);
	tcase_add_test(ur, oob_send_sets_urgent_pointer);
	tcase_add_test(ur, oob_recv_out_of_band);
	tcase_add_test(ur, oob_inline);
	suite_add_tcase(su, ur);

	tcase_add_checked_fixture(wr, setup, teardown);
	tcase_add_test(wr, peer_seq_wraps_in_segment);
	tcase_add_test(wr, sack_block_edges_wrap);
	tcase_add_test(wr, peer_fin_at_wrap);
	tcase_add_test(wr, bulk_to_stack_across_wrap);
	suite_add_tcase(su, wr);
	return su;
}
