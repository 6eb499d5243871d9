/*
 * test_tcp_harden.c — TCP against overwhelming or hostile peers
 * (stack/tcp_syncookie.c, tcp_input.c, tcp.c): SYN cookies when a
 * listener's SYN queue is full or no endpoint is free, the memory bounds
 * (TIME_WAIT table, out-of-order queue by segments and by bytes), and
 * RFC 5961: challenge ACKs with their rate limits, RST and ACK validation;
 * TIME_WAIT against old duplicates: RFC 6191 reuse, PAWS, RFC 1337.
 * The remote side is the scripted peer of tcp_peer.c; Linux is the
 * reference, the kernel function a rule comes from named next to it.
 */
#include <errno.h>

#include "tcp_peer.h"
#include "tcp.h"

#define MS STACK_NS_PER_MS
#define SEC STACK_NS_PER_S
#define TICK (60 * SEC) /* the SYN cookie counter's period */

static struct harness h;
static struct tp_conn c, c2, c3, f, prev;
static struct tp_seg s;
static uint8_t data[2u << 20], buf[2u << 20];

static void setup(void)
{
	tp_setup(&h);
}
static void teardown(void)
{
	tp_teardown(&h);
}

/* Pools large enough to fill an out-of-order queue to its bounds. */
static void setup_big(void)
{
	struct stack_config cfg;

	h_config(&cfg, 8192, 256, 64);
	for (int i = 0; i < 4; i++)
		cfg.seed[i] = (uint64_t)i + 1;
	tp_setup_cfg(&h, &cfg, 1500);
}

/* A pool so small that out-of-order data runs it dry. */
static void setup_tiny(void)
{
	struct stack_config cfg;

	h_config(&cfg, 48, 2, 8);
	for (int i = 0; i < 4; i++)
		cfg.seed[i] = (uint64_t)i + 1;
	tp_setup_cfg(&h, &cfg, 1500);
}

/* Linux's default net.ipv4.tcp_rfc1337 = 0. */
static void setup_rfc1337_off(void)
{
	struct stack_config cfg;

	stack_config_default(&cfg);
	for (int i = 0; i < 4; i++)
		cfg.seed[i] = (uint64_t)i + 1;
	cfg.tcp_rfc1337_off = true;
	tp_setup_cfg(&h, &cfg, 1500);
}

static struct tp_cfg cfg4(void)
{
	return tp_cfg(STACK_AF_INET);
}

/* ---- helpers ------------------------------------------------------------------ */

/* The cookie hash recomputed from its definition (tcp.h): SipHash-2-4
 * under the stack's ISN key of family, our address, the peer's, our port,
 * the peer's, a tag and a counter. */
static uint32_t ref_hash(const struct tp_conn *k, uint8_t tag, uint32_t count)
{
	uint8_t in[42] = {0};
	const uint32_t *kk = h.st->tcp_isn_key;
	uint64_t key[2] = {(uint64_t)kk[0] << 32 | kk[1], (uint64_t)kk[2] << 32 | kk[3]};
	size_t al = k->family == STACK_AF_INET ? 4 : 16;

	in[0] = (uint8_t)k->family;
	memcpy(in + 1, k->me, al);
	memcpy(in + 17, k->peer, al);
	put16(in + 33, k->mport);
	put16(in + 35, k->pport);
	in[37] = tag;
	put32(in + 38, count);
	return (uint32_t)siphash24(key, in, sizeof(in));
}

/* The ISN a cookie SYN-ACK to k's SYN must carry now, for MSS index ix:
 * H(T, 0) + peer ISN + (count << 24) + ((H(T, count) + ix) mod 2^24)
 * (RFC 4987 §3.6; Linux secure_tcp_syn_cookie). */
static uint32_t ref_cookie(const struct tp_conn *k, unsigned ix)
{
	uint32_t count = (uint32_t)(h.now / TICK);

	return ref_hash(k, 0, 0) + k->iss + (count << 24) +
	       ((ref_hash(k, 1, count) + ix) & 0xffffff);
}

static unsigned eps_used(void)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < h.st->cfg.max_endpoints; i++)
		n += h.st->eps[i].used;
	return n;
}

static struct stack_tcp_info info(int fd)
{
	struct stack_tcp_info ti;
	size_t len = sizeof(ti);

	ck_assert_int_eq(stack_ep_getopt(h.st, fd, STACK_SOL_TCP, STACK_TCP_INFO, &ti, &len), 0);
	return ti;
}

static struct tcb *tcb_fd(int fd)
{
	return tcb_of(h.st, ep_get(h.st, fd));
}

static uint64_t tcp_drops(enum stack_drop d)
{
	return h_drops(&h, STACK_P_TCP, d);
}

/* ---- SYN cookies ----------------------------------------------------------------- */

START_TEST(syn_flood_answered_with_cookies)
{
	struct tp_cfg cfg = cfg4();
	uint32_t embryo_iss[2], cookie_tsval;
	struct stack_tcp_info ti;
	const unsigned n = 200;

	cfg.backlog = 2;
	tp_listen(&c, &h, &cfg);
	for (unsigned i = 0; i < n; i++) {
		tp_server_more(&f, &c, (uint16_t)(20000 + i));
		f.iss = f.snd_nxt = 0x01000000u * i + 7;
		tp_server_syn(&f);
		f.done = true;
		ck_assert_msg(tp_pull_any(&h, &s), "SYN %u unanswered", i);
		ck_assert_uint_eq(s.flags, TH_SYN | TH_ACK);
		ck_assert_uint_eq(s.dport, 20000 + i);
		ck_assert_uint_eq(s.ack, f.iss + 1);
		/* every SYN-ACK offers what the SYN did: our MSS, WS 7, SACK,
		 * timestamps echoing the SYN's */
		ck_assert_uint_eq(s.o.mss, 1460);
		ck_assert(s.o.ts_on && s.o.sackok && s.o.ws_on);
		ck_assert_uint_eq(s.o.ws, 7);
		ck_assert_uint_eq(s.o.tsecr, f.syn_opts.tsval);
		ck_assert_uint_eq(h_pending(&h), 0);
		if (i < 2) {
			/* the SYN queue holds backlog requests
			 * (inet_csk_reqsk_queue_is_full) */
			ck_assert_uint_ne(s.seq, ref_cookie(&f, 3));
			embryo_iss[i] = f.iss;
			continue;
		}
		/* the rest: cookies; the peer's MSS 1460 is msstab[3] */
		ck_assert_uint_eq(s.seq, ref_cookie(&f, 3));
		/* the peer's WS 7 and SACK-permitted in TSval's low 6 bits
		 * (cookie_init_timestamp) */
		ck_assert_uint_eq(s.o.tsval & 0x3f, 0x10 | 7);
		/* whole segments of 1448 bytes, as Linux's 65160 */
		ck_assert_uint_eq(s.win, 65160);
	}
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_sent, n - 2);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_LISTEN_OVERFLOW), 0);
	/* nothing kept for them: the listener and the two requests */
	ck_assert_uint_eq(eps_used(), 3);

	/* a real client among them completes through its cookie */
	tp_server_more(&c3, &c, 41000);
	tp_server_syn(&c3);
	tp_server_synack(&c3);
	ck_assert_uint_eq(c3.irs, ref_cookie(&c3, 3));
	cookie_tsval = c3.syn_opts.tsval;
	tp_server_finish(&c3);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_recv, 1);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_failed, 0);
	/* the peers of the two requests reset them */
	for (int i = 0; i < 2; i++) {
		tp_server_more(&f, &c, (uint16_t)(20000 + i));
		f.iss = embryo_iss[i];
		f.snd_nxt = f.iss + 1;
		tp_send_rst(&f);
	}
	ck_assert_uint_eq(eps_used(), 2);
	/* the connection has what the SYN offered: timestamps, SACK, WS 7
	 * both ways, 1460 - 12 bytes a segment */
	ti = info(c3.fd);
	ck_assert_uint_eq(ti.options, 1 | 2 | 4);
	ck_assert_uint_eq(ti.snd_wscale, 7);
	ck_assert_uint_eq(ti.rcv_wscale, 7);
	ck_assert_uint_eq(ti.snd_mss, 1448);
	fill_pattern(data, 300000, 5);
	tp_pump_to_stack(&c3, data, 300000);
	fill_pattern(data, 300000, 6);
	tp_pump_to_peer(&c3, data, 300000);
	/* our timestamps carry on from the cookie's, never below it */
	ck_assert_int_ge((int32_t)(c3.ts_recent - cookie_tsval), 0);
	ck_assert_int_le((int32_t)(c3.ts_recent - cookie_tsval),
			 64 + (int32_t)(h.now / MS % 100000));
	tp_close_active(&c3);
}
END_TEST

START_TEST(cookie_without_timestamps_mss_only_v6)
{
	struct tp_cfg cfg = tp_cfg(STACK_AF_INET6);
	struct stack_tcp_info ti;

	/* listen(0): the SYN queue holds nothing, every SYN gets a cookie
	 * (as Linux with tcp_syncookies=1) */
	cfg.backlog = 0;
	cfg.ts = false;
	cfg.mss = 1400;
	tp_listen(&c, &h, &cfg);
	tp_server_syn(&c);
	ck_assert(tp_pull(&c, &s));
	ck_assert_uint_eq(s.flags, TH_SYN | TH_ACK);
	ck_assert_uint_eq(s.ack, c.iss + 1);
	/* nowhere to keep WS and SACK without timestamps: MSS only
	 * (tcp_conn_request: want_cookie && !saw_tstamp) */
	ck_assert(s.o.mss_on && !s.o.ws_on && !s.o.sackok && !s.o.ts_on);
	ck_assert_uint_eq(s.optlen, 4);
	ck_assert_uint_eq(s.o.mss, 1440);
	/* 1400 rounds down to the IPv6 table's 1220 (index 0) */
	ck_assert_uint_eq(s.seq, ref_cookie(&c, 0));
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_sent, 1);
	tp_negotiate(&c, &s);
	c.eff_mss = 1220;
	tp_server_finish(&c);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_recv, 1);
	ti = info(c.fd);
	ck_assert_uint_eq(ti.options, 0);
	ck_assert_uint_eq(ti.snd_wscale, 0);
	ck_assert_uint_eq(ti.rcv_wscale, 0);
	ck_assert_uint_eq(ti.snd_mss, 1220);
	/* the peer's window is not scaled */
	ck_assert_uint_eq(ti.snd_wnd, 65535);
	/* we send segments of the table's MSS, not the peer's 1400 */
	fill_pattern(data, 3000, 9);
	ck_assert_int_eq(tp_write(&h, c.fd, data, 3000, 0), 3000);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 1220);
	ck_assert_mem_eq(s.data, data, 1220);
	ck_assert_uint_eq(s.optlen, 0);
	tp_flush(&c);
	tp_send_ack(&c);
	fill_pattern(data, 100000, 10);
	tp_pump_to_peer(&c, data, 100000);
	tp_pump_to_stack(&c, data, 100000);
	tp_close_active(&c);
}
END_TEST

/* Each combination of window scaling and SACK in the peer's SYN comes back
 * from the ACK's TSecr (cookie_timestamp_decode). */
START_TEST(cookie_options_restored_from_timestamp)
{
	/* the peer's SYN (WS, SACK, MSS), then the msstab index, the MSS
	 * the connection keeps and the peer's 1 MiB window as its shift
	 * reads (a field of at most 65535) */
	static const struct {
		int ws;
		bool sack;
		uint16_t mss;
		unsigned ix;
		uint16_t want_mss;
		uint32_t want_wnd;
	} cases[] = {
	    {3, true, 1300, 1, 1300, 65535u << 3},
	    {-1, true, 1460, 3, 1460, 65535},
	    {5, false, 1450, 2, 1440, 1u << 20},
	    {-1, false, 600, 0, 536, 65535},
	};
	struct tp_cfg cfg = cfg4();

	cfg.backlog = 0;
	tp_listen(&c, &h, &cfg);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_conn *k = &c2;
		struct stack_tcp_info ti;
		uint32_t low = cases[i].ws >= 0 ? (uint32_t)cases[i].ws : 0xf;

		if (cases[i].sack)
			low |= 0x10;
		tp_server_more(k, &c, (uint16_t)(30000 + i));
		k->cfg.ws = cases[i].ws;
		k->cfg.sackok = cases[i].sack;
		k->cfg.mss = cases[i].mss;
		k->cfg.rtt = 30 * MS;
		tp_server_syn(k);
		tp_server_synack(k); /* only what the SYN offered comes back */
		ck_assert_uint_eq(k->irs, ref_cookie(k, cases[i].ix));
		ck_assert_uint_eq(k->syn_opts.tsval & 0x3f, low);
		tp_server_finish(k);
		ti = info(k->fd);
		/* the handshake's RTT from the TSecr: 30 ms, plus up to 63 ms
		 * the cookie's TSval lies back */
		ck_assert_uint_ge(ti.rtt, 30000);
		ck_assert_uint_le(ti.rtt, 30000 + 64000);
		ck_assert_uint_lt(ti.rto, 1000000);
		ck_assert_uint_eq(ti.options,
				  1 | (cases[i].sack ? 2 : 0) | (cases[i].ws >= 0 ? 4 : 0));
		ck_assert_uint_eq(ti.snd_wscale, cases[i].ws >= 0 ? cases[i].ws : 0);
		ck_assert_uint_eq(ti.rcv_wscale, cases[i].ws >= 0 ? 7 : 0);
		/* the MSS from the table, less the timestamp option */
		ck_assert_uint_eq(ti.snd_mss, cases[i].want_mss - 12);
		ck_assert_uint_eq(ti.snd_wnd, cases[i].want_wnd);
		k->eff_mss = (uint16_t)(cases[i].want_mss - 12);
		if (cases[i].sack) {
			/* out of order: the ACK carries a SACK block (RFC 2018) */
			fill_pattern(data, 200, i);
			tp_send_at(k, TH_ACK | TH_PSH, k->snd_nxt + 100, data + 100, 100);
			tp_expect(k, &s, TH_ACK, k->irs + 1, k->snd_nxt, 0);
			ck_assert_uint_eq(s.o.nsack, 1);
			ck_assert_uint_eq(s.o.sack[0][0], k->snd_nxt + 100);
			ck_assert_uint_eq(s.o.sack[0][1], k->snd_nxt + 200);
			tp_send_data(k, data, 100);
			k->snd_nxt += 100;
			tp_expect(k, &s, TH_ACK, k->irs + 1, k->snd_nxt, 0);
			ck_assert_uint_eq(s.o.nsack, 0);
			ck_assert_int_eq(tp_read(&h, k->fd, buf, sizeof(buf), 0), 200);
			ck_assert_mem_eq(buf, data, 200);
		}
		fill_pattern(data, 20000, 20 + i);
		tp_pump_to_peer(k, data, 20000);
		tp_pump_to_stack(k, data, 20000);
		tp_close_active(k);
	}
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_sent, 4);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_recv, 4);
}
END_TEST

START_TEST(cookie_bad_ack_rejected_with_rst)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	cfg.backlog = 0;
	tp_listen(&c, &h, &cfg);
	tp_server_syn(&c);
	tp_server_synack(&c);
	/* ack - 1 is not the cookie: the listener answers it as any stray
	 * ACK, with an RST at its ack (cookie_v4_check returns the listener,
	 * tcp_rcv_state_process resets), and counts it (SyncookiesFailed) */
	o = tp_out(&c, TH_ACK);
	o.ack = c.irs + 2;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST, c.irs + 2, TP_ANY, 0);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_failed, 1);
	/* the peer's ISN is part of it: seq - 1 must be the SYN's */
	o = tp_out(&c, TH_ACK);
	o.seq = c.snd_nxt + 5;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST, c.irs + 1, TP_ANY, 0);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_failed, 2);
	/* a TSecr we cannot have sent (from our future) */
	o = tp_out(&c, TH_ACK);
	((struct tp_opts *)o.o)->tsecr = c.ts_recent + 1000000;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_RST, c.irs + 1, TP_ANY, 0);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_failed, 3);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_recv, 0);
	ck_assert_int_eq(stack_ep_accept(h.st, c.lfd, NULL), -EAGAIN);
	ck_assert_uint_eq(eps_used(), 1);
	c.rst_seen = false;
	/* the right ACK still works */
	tp_server_finish(&c);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_recv, 1);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_failed, 3);
	tp_close_active(&c);

	/* a listener that has sent no cookie lately takes an ACK for a
	 * stray one, not a cookie: RST, not counted
	 * (tcp_synq_no_recent_overflow) */
	cfg.port = 8081;
	tp_listen(&c2, &h, &cfg);
	o = tp_out(&c2, TH_ACK);
	o.seq = 5000;
	o.ack = 123456;
	tp_inject(&c2, &o);
	tp_expect(&c2, &s, TH_RST, 123456, TP_ANY, 0);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_failed, 3);
}
END_TEST

START_TEST(cookie_valid_for_two_ticks)
{
	struct tp_cfg cfg = cfg4();
	uint32_t k;

	cfg.backlog = 0;
	tp_listen(&c, &h, &cfg);
	/* one second into a tick of the cookie counter */
	h_advance(&h, TICK - h.now % TICK + SEC);
	tp_server_syn(&c);
	tp_server_synack(&c);
	k = c.irs;
	/* the SYN again: the same cookie — nothing was kept, nothing changed */
	tp_server_syn(&c);
	ck_assert(tp_pull(&c, &s));
	ck_assert_uint_eq(s.seq, k);
	/* a tick later it is still good (MAX_SYNCOOKIE_AGE 2) */
	h_advance(&h, TICK);
	tp_server_finish(&c);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_recv, 1);
	tp_close_active(&c);

	/* a cookie made now is refused two ticks on (here 119 s later) */
	tp_server_more(&c2, &c, TP_PEER_SPORT + 1);
	tp_server_syn(&c2);
	tp_server_synack(&c2);
	h_advance(&h, 119 * SEC);
	h_drain(&h);
	/* ... while the listener is still sending cookies */
	tp_server_more(&f, &c, TP_PEER_SPORT + 2);
	tp_server_syn(&f);
	f.done = true;
	ck_assert(tp_pull_any(&h, &s));
	ck_assert_uint_eq(s.seq, ref_cookie(&f, 3));
	tp_send_ack(&c2);
	tp_expect(&c2, &s, TH_RST, c2.irs + 1, TP_ANY, 0);
	c2.done = true;
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_failed, 1);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_recv, 1);
	ck_assert_int_eq(stack_ep_accept(h.st, c.lfd, NULL), -EAGAIN);
}
END_TEST

START_TEST(cookie_ack_waits_for_accept_queue_room)
{
	struct tp_cfg cfg = cfg4();
	struct stack_sockaddr p;

	/* listen(0): one connection may wait for accept() */
	cfg.backlog = 0;
	tp_listen(&c, &h, &cfg);
	tp_server_syn(&c);
	tp_server_synack(&c);
	tp_server_more(&c2, &c, TP_PEER_SPORT + 1);
	tp_server_syn(&c2);
	tp_server_synack(&c2);
	tp_send_ack(&c);
	tp_expect_nothing(&c);
	ck_assert_int_eq(stack_ep_acceptq(h.st, c.lfd), 1);
	/* the queue is full: a valid cookie's ACK is dropped, no RST
	 * (tcp_v4_syn_recv_sock: sk_acceptq_is_full, ListenOverflows) */
	tp_send_ack(&c2);
	tp_expect_nothing(&c2);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_LISTEN_OVERFLOW), 1);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_recv, 2);
	ck_assert_int_eq(stack_ep_acceptq(h.st, c.lfd), 1);
	/* ... and so is a new SYN (tcp_conn_request) */
	tp_server_more(&f, &c, TP_PEER_SPORT + 2);
	tp_server_syn(&f);
	f.done = true;
	tp_expect_nothing(&f);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_LISTEN_OVERFLOW), 2);
	c.fd = stack_ep_accept(h.st, c.lfd, &p);
	ck_assert_int_ge(c.fd, 0);
	ck_assert_uint_eq(p.port, TP_PEER_SPORT);
	/* room now: the peer's first data carries the same ACK, makes the
	 * connection, and is delivered */
	tp_send_data(&c2, "hello", 5);
	tp_expect_ack_within(&c2, 300 * MS);
	c2.fd = stack_ep_accept(h.st, c.lfd, &p);
	ck_assert_int_ge(c2.fd, 0);
	ck_assert_uint_eq(p.port, TP_PEER_SPORT + 1);
	ck_assert_int_eq(tp_read(&h, c2.fd, buf, 10, 0), 5);
	ck_assert_mem_eq(buf, "hello", 5);
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_recv, 3);
	tp_close_active(&c2);
	tp_close_active(&c);
}
END_TEST

START_TEST(cookie_when_no_endpoint_free)
{
	struct tp_cfg cfg = cfg4();
	int fds[64], n = 0, fd;

	tp_listen(&c, &h, &cfg);
	while ((fd = stack_ep_open(h.st, STACK_AF_INET, STACK_SOCK_DGRAM, 0)) >= 0)
		fds[n++] = fd;
	ck_assert_int_eq(fd, -EMFILE);
	/* the SYN queue has room, the endpoint table none: a cookie */
	tp_server_syn(&c);
	tp_server_synack(&c);
	ck_assert_uint_eq(c.irs, ref_cookie(&c, 3));
	ck_assert_uint_eq(h.st->ctr.tcp_syncookies_sent, 1);
	/* the ACK finds none either: dropped and counted, no RST */
	tp_send_ack(&c);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_LISTEN_OVERFLOW), 1);
	/* one free: the next ACK makes the connection */
	ck_assert_int_eq(stack_ep_close(h.st, fds[--n]), 0);
	tp_server_finish(&c);
	fill_pattern(data, 10000, 8);
	tp_pump_to_peer(&c, data, 10000);
	tp_close_active(&c);
	while (n)
		stack_ep_close(h.st, fds[--n]);
}
END_TEST

/* The arithmetic on its own: the MSS tables, the ISN's dependence on the
 * peer's ISN and on the MSS index, the TSval rounding. */
START_TEST(cookie_arithmetic)
{
	const uint16_t *tab;
	struct pbuf_meta m;
	struct tcp_opts o = {0};
	uint16_t mss;
	uint32_t a, b;

	ck_assert_uint_eq(tcp_cookie_msstab(STACK_AF_INET, &tab), 4);
	ck_assert_uint_eq(tab[0], 536);
	ck_assert_uint_eq(tab[1], 1300);
	ck_assert_uint_eq(tab[2], 1440);
	ck_assert_uint_eq(tab[3], 1460);
	ck_assert_uint_eq(tcp_cookie_msstab(STACK_AF_INET6, &tab), 4);
	ck_assert_uint_eq(tab[0], 1220);
	ck_assert_uint_eq(tab[1], 1420);
	ck_assert_uint_eq(tab[2], 1440);
	ck_assert_uint_eq(tab[3], 8940);

	memset(&m, 0, sizeof(m));
	m.src.family = m.dst.family = STACK_AF_INET;
	memcpy(m.src.addr, h.p4, 4);
	memcpy(m.dst.addr, h.a4, 4);
	m.src.port = 40000;
	m.dst.port = 80;
	/* below the table's smallest, an MSS is taken as 536 (Linux's
	 * __cookie_v4_init_sequence); between entries, rounded down */
	tcp_cookie_isn(h.st, &m, 1, 100, &mss);
	ck_assert_uint_eq(mss, 536);
	tcp_cookie_isn(h.st, &m, 1, 1459, &mss);
	ck_assert_uint_eq(mss, 1440);
	tcp_cookie_isn(h.st, &m, 1, 9000, &mss);
	ck_assert_uint_eq(mss, 1460);
	/* the peer's ISN is added in; the index sits in the low 24 bits */
	a = tcp_cookie_isn(h.st, &m, 1000, 536, &mss);
	b = tcp_cookie_isn(h.st, &m, 1000 + 77777, 536, &mss);
	ck_assert_uint_eq(b - a, 77777);
	b = tcp_cookie_isn(h.st, &m, 1000, 1460, &mss);
	ck_assert_uint_eq((b - a) & 0xffffff, 3);
	ck_assert_uint_eq(tcp_cookie_mss(h.st, &m, 1000, a), 536);
	ck_assert_uint_eq(tcp_cookie_mss(h.st, &m, 1000, b), 1460);
	/* the peer's ISN and the index share the low bits: an ISN one off
	 * reads as the next index down (so in Linux too), four off as none */
	ck_assert_uint_eq(tcp_cookie_mss(h.st, &m, 1001, b), 1440);
	ck_assert_uint_eq(tcp_cookie_mss(h.st, &m, 1004, b), 0);
	ck_assert_uint_eq(tcp_cookie_mss(h.st, &m, 1000, b + 1), 0);
	ck_assert_uint_eq(tcp_cookie_mss(h.st, &m, 1000, b + 0x1000000), 0);
	/* another tuple, another cookie */
	m.src.port = 40001;
	ck_assert_uint_eq(tcp_cookie_mss(h.st, &m, 1000, b), 0);
	ck_assert_uint_ne(tcp_cookie_isn(h.st, &m, 1000, 1460, &mss), b);

	/* TSval: rounded down to 64, options in the low bits, never above
	 * the clock (cookie_init_timestamp), across the wrap too */
	o.has_ws = true;
	o.ws = 14;
	o.sack_perm = true;
	ck_assert_uint_eq(tcp_cookie_tsval(1000, &o), 960 + (0x10 | 14));
	ck_assert_uint_eq(tcp_cookie_tsval(1063, &o), 1024 + (0x10 | 14));
	ck_assert_uint_eq(tcp_cookie_tsval(1030, &o), 960 + (0x10 | 14));
	o.has_ws = false;
	o.sack_perm = false;
	ck_assert_uint_eq(tcp_cookie_tsval(1000, &o), 960 + 0xf);
	ck_assert_uint_eq(tcp_cookie_tsval(1000 + 50, &o), 1024 + 0xf);
	ck_assert_uint_eq(tcp_cookie_tsval(5, &o), 0xffffffffu - 63 + 0xf);
}
END_TEST

/* ---- memory bounds ----------------------------------------------------------------- */

START_TEST(time_wait_table_full_skips_time_wait)
{
	struct tp_cfg cfg = cfg4();

	tp_listen(&c, &h, &cfg);
	for (unsigned i = 0; i <= OPT_TCP_TW_MAX; i++) {
		prev = c2;
		tp_server_more(&c2, &c, (uint16_t)(10000 + i));
		tp_server_syn(&c2);
		tp_server_synack(&c2);
		tp_server_finish(&c2);
		tp_close_active(&c2);
	}
	/* the table took 4096; the last close skipped TIME_WAIT
	 * (tcp_time_wait: inet_twsk_alloc failed, TCPTimeWaitOverflow) */
	ck_assert_uint_eq(h.st->tw_count, OPT_TCP_TW_MAX);
	ck_assert_uint_eq(h.st->ctr.tcp_tw_overflow, 1);
	/* the peer's FIN again: from TIME_WAIT an ACK ... */
	tp_send_at(&prev, TH_FIN | TH_ACK, prev.snd_nxt - 1, NULL, 0);
	tp_expect(&prev, &s, TH_ACK, prev.rcv_nxt, prev.snd_nxt, 0);
	/* ... with no TIME_WAIT, an RST (it meets the listener) */
	tp_send_at(&c2, TH_FIN | TH_ACK, c2.snd_nxt - 1, NULL, 0);
	tp_expect(&c2, &s, TH_RST, c2.rcv_nxt, TP_ANY, 0);
	/* 60 s on the table is empty and takes the next one */
	h_advance(&h, 61 * SEC);
	ck_assert_uint_eq(h.st->tw_count, 0);
	tp_server_more(&c2, &c, 9000);
	tp_server_syn(&c2);
	tp_server_synack(&c2);
	tp_server_finish(&c2);
	tp_close_active(&c2);
	ck_assert_uint_eq(h.st->tw_count, 1);
	ck_assert_uint_eq(h.st->ctr.tcp_tw_overflow, 1);
}
END_TEST

START_TEST(ooq_segment_bound_prunes_highest)
{
	struct tp_cfg cfg = cfg4();
	struct tcb *tp;
	uint32_t base;
	const size_t n = 3000;

	tp_server(&c, &h, &cfg);
	tp = tcb_fd(c.fd);
	base = c.snd_nxt;
	fill_pattern(data, n, 3);
	/* 512 one-byte segments, each beyond a one-byte hole */
	for (uint32_t k = 0; k < OPT_TCP_OOQ_SEGS; k++) {
		tp_send_at(&c, TH_ACK, base + 2 + 2 * k, data + 2 + 2 * k, 1);
		tp_flush(&c);
	}
	ck_assert_uint_eq(tp->ooq_segs, OPT_TCP_OOQ_SEGS);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OOQ_FULL), 0);
	/* one more beyond them all: it is the one that goes */
	tp_send_at(&c, TH_ACK, base + 2 + 2 * 512, data + 2 + 2 * 512, 1);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OOQ_FULL), 1);
	ck_assert_uint_eq(tp->ooq_segs, OPT_TCP_OOQ_SEGS);
	ck_assert_uint_eq(tp->ooq_bytes, OPT_TCP_OOQ_SEGS);
	/* one nearer the hole: the highest held goes instead
	 * (tcp_prune_ofo_queue), the new one is SACKed first */
	tp_send_at(&c, TH_ACK, base + 1, data + 1, 1);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OOQ_FULL), 2);
	ck_assert_uint_eq(tp->ooq_segs, OPT_TCP_OOQ_SEGS);
	ck_assert_uint_ge(s.o.nsack, 1);
	ck_assert_uint_eq(s.o.sack[0][0], base + 1);
	ck_assert_uint_eq(s.o.sack[0][1], base + 3);
	/* the peer sends everything again: all of it arrives, in order */
	tp_pump_to_stack(&c, data, n);
	ck_assert_uint_eq(tp->ooq_segs, 0);
	ck_assert_uint_eq(tp->ooq_bytes, 0);
	tp_close_active(&c);
}
END_TEST

/* A pool run dry by out-of-order data still answers: when the arriving
 * segment took the last buffer, its ACK is paid for by the biggest
 * out-of-order queue (tcp_reclaim), never lost to NOBUF — an unanswered
 * segment stalls an honest peer (tcp_hostile's bystanders saw it). */
START_TEST(ack_sent_when_ooq_drains_pool)
{
	struct tp_cfg cfg = cfg4();
	uint32_t base;

	tp_server(&c, &h, &cfg);
	base = c.snd_nxt;
	fill_pattern(data, 400, 5);
	for (uint32_t k = 0; k < 150; k++) {
		tp_send_at(&c, TH_ACK, base + 2 + 2 * k, data + 2 + 2 * k, 1);
		tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	}
	ck_assert_uint_eq(tcp_drops(STACK_DROP_NOBUF), 0);
	ck_assert_uint_gt(tcp_drops(STACK_DROP_TCP_OOQ_FULL), 0); /* reclaimed */
	/* and the data still arrives whole once the peer resends it */
	tp_pump_to_stack(&c, data, 400);
	ck_assert_uint_eq(tcb_fd(c.fd)->ooq_segs, 0);
	tp_close_active(&c);
}
END_TEST

START_TEST(ooq_byte_bound_prunes_highest)
{
	struct tp_cfg cfg = cfg4();
	struct tcb *tp;
	uint32_t base, seg = 8948, k, held = 0, top;
	size_t n;

	/* segments of 8948 bytes (a 9000-byte link, or GRO), which the
	 * stack takes though its MSS is 1460 */
	cfg.mss = 8960;
	tp_server(&c, &h, &cfg);
	tp = tcb_fd(c.fd);
	/* a buffer large enough (as auto-tuning would make it) that the
	 * window is not what stops the queue */
	tp->rcvbuf = 4u << 20;
	tp->rcvbuf_locked = 1;
	tp_send_data(&c, "x", 1);
	tp_expect_ack_within(&c, 300 * MS);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), 1);
	tp_flush(&c);
	ck_assert_uint_gt(c.stack_wnd, 1300000);
	base = c.snd_nxt;
	n = 140 * (size_t)seg;
	fill_pattern(data, n, 11);
	/* segment k at base + k * seg, from k = 3: holes at 0 .. 2 */
	for (k = 3; tp->ooq_bytes + seg <= OPT_TCP_OOQ_BYTES; k++) {
		tp_send_at(&c, TH_ACK, base + k * seg, data + k * seg, seg);
		tp_flush(&c);
		held++;
	}
	top = k - 1;
	ck_assert_uint_eq(held, OPT_TCP_OOQ_BYTES / seg);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OOQ_BYTES), 0);
	/* the next beyond them: it goes itself */
	tp_send_at(&c, TH_ACK, base + k * seg, data + k * seg, seg);
	tp_flush(&c);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OOQ_BYTES), 1);
	ck_assert_uint_eq(tp->ooq_segs, held);
	/* one nearer the hole: the highest goes to make room */
	tp_send_at(&c, TH_ACK, base + 1 * seg, data + 1 * seg, seg);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, base, 0);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OOQ_BYTES), 2);
	ck_assert_uint_eq(tp->ooq_segs, held);
	ck_assert_uint_le(tp->ooq_bytes, OPT_TCP_OOQ_BYTES);
	/* SACK: the new one first, then the rest, which ends where the
	 * highest (pruned) one began */
	ck_assert_uint_eq(s.o.nsack, 2);
	ck_assert_uint_eq(s.o.sack[0][0], base + seg);
	ck_assert_uint_eq(s.o.sack[0][1], base + 2 * seg);
	ck_assert_uint_eq(s.o.sack[1][0], base + 3 * seg);
	ck_assert_uint_eq(s.o.sack[1][1], base + top * seg);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OOQ_FULL), 0);
	/* the peer sends everything again: all of it arrives, in order */
	tp_pump_to_stack(&c, data, n);
	ck_assert_uint_eq(tp->ooq_segs, 0);
	tp_close_active(&c);
}
END_TEST

/* ---- RFC 5961 ------------------------------------------------------------------------ */

START_TEST(challenge_ack_rate_limited_per_connection)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;
	uint64_t oow;

	tp_server(&c, &h, &cfg);
	/* an RST in the window, not at RCV.NXT: a challenge ACK (§3.2) */
	o = tp_out(&c, TH_RST);
	o.o = NULL;
	o.seq = c.snd_nxt + 1000;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 0);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks, 1);
	/* within 500 ms another gets none (tcp_invalid_ratelimit) ... */
	h_advance(&h, 100 * MS);
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks_limited, 1);
	/* ... nor does a SYN (§4), the same limit */
	h_advance(&h, 200 * MS);
	o = tp_out(&c, TH_SYN);
	o.seq = c.snd_nxt + 50;
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks_limited, 2);
	h_advance(&h, 199 * MS);
	o = tp_out(&c, TH_RST);
	o.o = NULL;
	o.seq = c.snd_nxt + 1000;
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks_limited, 3);
	/* 500 ms after the first: the next is answered */
	h_advance(&h, 1 * MS);
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 0);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks, 2);
	ck_assert_uint_eq(stack_ep_events(h.st, c.fd) & STACK_EV_ERR, 0);
	/* an RST outside the window: ignored, no ACK at all (§3.2) */
	oow = tcp_drops(STACK_DROP_TCP_OUT_OF_WINDOW);
	h_advance(&h, 600 * MS);
	o.seq = c.snd_nxt + (1u << 30);
	tp_inject(&c, &o);
	o.seq = c.snd_nxt - 70000;
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OUT_OF_WINDOW), oow + 2);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks, 2);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks_limited, 3);
	ck_assert_int_eq(tp_write(&h, c.fd, "ok", 2, 0), 2);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 2);
	tp_send_ack(&c);
	/* the exact one resets */
	tp_send_rst(&c);
	tp_expect_nothing(&c);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -ECONNRESET);
}
END_TEST

START_TEST(challenge_ack_global_budget)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	tp_server(&c, &h, &cfg);
	tp_server_more(&c2, &c, TP_PEER_SPORT + 1);
	tp_server_syn(&c2);
	tp_server_synack(&c2);
	tp_server_finish(&c2);
	/* the first challenge of a second draws its budget: between 500
	 * and 1499 (tcp_challenge_ack_limit 1000, randomised) */
	o = tp_out(&c, TH_SYN);
	o.seq = c.snd_nxt + 10;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, c.irs + 1, c.snd_nxt, 0);
	ck_assert_uint_ge(h.st->tcp_challenge_left, 500 - 1);
	ck_assert_uint_le(h.st->tcp_challenge_left, 1499 - 1);
	/* spent (as a flood on other connections would) */
	h.st->tcp_challenge_left = 0;
	o = tp_out(&c2, TH_SYN);
	o.seq = c2.snd_nxt + 10;
	tp_inject(&c2, &o);
	tp_expect_nothing(&c2);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks_limited, 1);
	/* the next second brings a new budget */
	h_advance(&h, SEC - h.now % SEC);
	o = tp_out(&c2, TH_SYN);
	o.seq = c2.snd_nxt + 10;
	tp_inject(&c2, &o);
	tp_expect(&c2, &s, TH_ACK, c2.irs + 1, c2.snd_nxt, 0);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks, 2);
	tp_close_active(&c2);
	tp_close_active(&c);
}
END_TEST

START_TEST(ack_older_than_window_dropped)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;
	uint32_t una;

	cfg.win = 16384;
	tp_server(&c, &h, &cfg);
	fill_pattern(data, 50000, 4);
	tp_pump_to_peer(&c, data, 50000);
	una = c.rcv_nxt;
	/* data whose ACK is older than SND.UNA - MAX.SND.WND cannot be from
	 * the peer (RFC 5961 §5.2, blind data injection): dropped, and a
	 * challenge ACK (tcp_ack: TCP_TOO_OLD_ACK) */
	o = tp_out(&c, TH_ACK | TH_PSH);
	o.ack = una - 16384 - 1;
	o.data = "evil";
	o.len = 4;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, una, c.snd_nxt, 0);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OLD_ACK), 1);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks, 1);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -EAGAIN);
	/* at the edge it is acceptable: SND.UNA - MAX.SND.WND <= SEG.ACK */
	o.ack = una - 16384;
	o.data = "good";
	tp_inject(&c, &o);
	c.snd_nxt += 4;
	tp_expect_ack_within(&c, 300 * MS);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), 4);
	ck_assert_mem_eq(buf, "good", 4);
	ck_assert_uint_eq(tcp_drops(STACK_DROP_TCP_OLD_ACK), 1);
	/* beyond what was sent: dropped, answered by a (rate-limited)
	 * challenge ACK too */
	h_advance(&h, 500 * MS);
	o = tp_out(&c, TH_ACK | TH_PSH);
	o.ack = una + 1000;
	o.data = "zzz";
	o.len = 3;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, una, c.snd_nxt, 0);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks, 2);
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(h.st->ctr.tcp_challenge_acks_limited, 1);
	ck_assert_int_eq(tp_read(&h, c.fd, buf, 10, 0), -EAGAIN);
	tp_close_active(&c);
}
END_TEST

/* Duplicate ACKs for out-of-window ACKs share the 500 ms limit
 * (tcp_oow_rate_limited): no ACK loop with a confused or spoofing peer;
 * out-of-window data is still answered every time. */
START_TEST(out_of_window_acks_rate_limited)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;
	uint64_t before;

	tp_server(&c, &h, &cfg);
	before = h.st->ctr.tcp_oow_acks_limited;
	o = tp_out(&c, TH_ACK);
	o.seq = c.snd_nxt + (8u << 20); /* beyond the window */
	for (int i = 0; i < 3; i++)
		tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, c.rcv_nxt, c.snd_nxt, 0);
	tp_expect_nothing(&c);
	ck_assert_uint_eq(h.st->ctr.tcp_oow_acks_limited, before + 2);
	/* data out of window: answered each time */
	o.data = "zz";
	o.len = 2;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, c.rcv_nxt, c.snd_nxt, 0);
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, c.rcv_nxt, c.snd_nxt, 0);
	/* 500 ms on, one more pure ACK is answered */
	h_advance(&h, 501 * MS);
	o.data = NULL;
	o.len = 0;
	tp_inject(&c, &o);
	tp_expect(&c, &s, TH_ACK, c.rcv_nxt, c.snd_nxt, 0);
	ck_assert_uint_eq(h.st->ctr.tcp_oow_acks_limited, before + 2);
	tp_close_active(&c);
}
END_TEST

/* ---- TIME_WAIT: RFC 6191, PAWS, RFC 1337 --------------------------------------- */

/* The stack (server) closes first and sits in TIME_WAIT; returns the
 * ISN a new incarnation must use: its old SND.NXT + 65535 + 2 (Linux
 * tcp_timewait_state_process). */
static uint32_t into_time_wait(struct tp_cfg *cfg)
{
	tp_server(&c, &h, cfg);
	tp_close_active(&c);
	h_advance(&h, 2 * SEC);
	return c.rcv_nxt + 65535 + 2;
}

/* A new SYN from the same tuple at seq: its SYN-ACK (ISN isn) or the
 * old connection's ACK. */
static void tw_syn(uint32_t seq, const struct tp_opts *o)
{
	struct tp_out out = tp_out(&c, TH_SYN);

	out.seq = seq;
	out.o = o;
	tp_inject(&c, &out);
}

/* The peer's FIN again: TIME_WAIT ACKs it (alive), or the closed port
 * answers RST (gone). */
static void tw_refin(bool alive)
{
	tp_send_at(&c, TH_FIN | TH_ACK, c.snd_nxt - 1, NULL, 0);
	if (alive)
		tp_expect(&c, &s, TH_ACK, c.rcv_nxt, c.snd_nxt, 0);
	else
		tp_expect(&c, &s, TH_RST, c.rcv_nxt, TP_ANY, 0);
}

/* The embryo a reused TIME_WAIT made goes away (peer RST). */
static void tw_embryo_reset(uint32_t syn_seq)
{
	struct tp_out out = tp_out(&c, TH_RST);

	out.seq = syn_seq + 1;
	out.o = NULL;
	tp_inject(&c, &out);
	tp_expect_nothing(&c);
}

START_TEST(tw_syn_newer_timestamp_reuses_below_rcv_nxt)
{
	struct tp_cfg cfg = cfg4();
	uint32_t isn = into_time_wait(&cfg), old_tsval = c.ts_recent;
	struct tp_opts o = {.ts_on = true, .tsval = tp_tsval(&c)};

	/* RFC 6191 §2: with timestamps, a newer TSval makes the SYN
	 * acceptable whatever its sequence number */
	tw_syn(c.snd_nxt - 5000, &o);
	tp_expect(&c, &s, TH_SYN | TH_ACK, isn, c.snd_nxt - 5000 + 1, 0);
	/* the same tuple keeps its timestamp offset: TSvals go on from the
	 * old incarnation's (the peer's PAWS takes them) */
	ck_assert_int_ge((int32_t)(s.o.tsval - old_tsval), 2000);
	ck_assert_int_le((int32_t)(s.o.tsval - old_tsval), 2001);
	tw_embryo_reset(c.snd_nxt - 5000);
}
END_TEST

START_TEST(tw_syn_older_timestamp_rejected_by_paws)
{
	struct tp_cfg cfg = cfg4();
	unsigned before;

	into_time_wait(&cfg);
	before = h.st->ctr.p[STACK_P_TCP].drop[STACK_DROP_TCP_PAWS];
	struct tp_opts o = {.ts_on = true, .tsval = tp_tsval(&c) - 10000};
	/* a higher sequence number does not help an old timestamp */
	tw_syn(c.snd_nxt + 100000, &o);
	tp_expect(&c, &s, TH_ACK, c.rcv_nxt, c.snd_nxt, 0);
	ck_assert_uint_eq(h.st->ctr.p[STACK_P_TCP].drop[STACK_DROP_TCP_PAWS], before + 1);
	/* still TIME_WAIT: the retransmitted FIN is ACKed */
	tw_refin(true);
}
END_TEST

START_TEST(tw_syn_without_timestamps_needs_higher_seq)
{
	struct tp_cfg cfg = cfg4();
	uint32_t isn;

	cfg.ts = false;
	isn = into_time_wait(&cfg);
	/* no timestamps: only the sequence number tells (RFC 6191 §2) */
	tw_syn(c.snd_nxt - 1, NULL);
	tp_expect(&c, &s, TH_ACK, c.rcv_nxt, c.snd_nxt, 0);
	tw_syn(c.snd_nxt + 1000, NULL);
	tp_expect(&c, &s, TH_SYN | TH_ACK, isn, c.snd_nxt + 1001, 0);
	tw_embryo_reset(c.snd_nxt + 1000);
}
END_TEST

START_TEST(tw_rst_ignored_rfc1337)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	into_time_wait(&cfg);
	/* in window (RFC 1337 §3: TIME-WAIT assassination), then out of
	 * window, then a bare in-window ACK: none is answered */
	o = tp_out(&c, TH_RST);
	tp_inject(&c, &o);
	o.seq += 1000;
	tp_inject(&c, &o);
	tp_send_ack(&c);
	tp_expect_nothing(&c);
	tw_refin(true);
	/* and it ends on time: 60 s from that FIN */
	h_advance(&h, 61 * SEC);
	tw_refin(false);
}
END_TEST

START_TEST(tw_rst_in_window_kills_when_rfc1337_off)
{
	struct tp_cfg cfg = cfg4();
	struct tp_out o;

	into_time_wait(&cfg);
	/* out of window: ignored even so */
	o = tp_out(&c, TH_RST);
	o.seq += 1000;
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	tw_refin(true);
	/* at RCV.NXT: TIME_WAIT ends (Linux, tcp_rfc1337 = 0) */
	o.seq -= 1000;
	tp_inject(&c, &o);
	tp_expect_nothing(&c);
	tw_refin(false);
}
END_TEST

Suite *suite_tcp_harden(void)
{
	Suite *su = suite_create("tcp_harden");
	TCase *ck = tcase_create("syncookies");
	TCase *mem = tcase_create("bounds");
	TCase *big = tcase_create("ooq");
	TCase *ch = tcase_create("rfc5961");
	TCase *tw = tcase_create("time_wait");
	TCase *tw0 = tcase_create("time_wait_rfc1337_off");

	tcase_add_checked_fixture(ck, setup, teardown);
	tcase_add_test(ck, syn_flood_answered_with_cookies);
	tcase_add_test(ck, cookie_without_timestamps_mss_only_v6);
	tcase_add_test(ck, cookie_options_restored_from_timestamp);
	tcase_add_test(ck, cookie_bad_ack_rejected_with_rst);
	tcase_add_test(ck, cookie_valid_for_two_ticks);
	tcase_add_test(ck, cookie_ack_waits_for_accept_queue_room);
	tcase_add_test(ck, cookie_when_no_endpoint_free);
	tcase_add_test(ck, cookie_arithmetic);
	suite_add_tcase(su, ck);
	tcase_add_checked_fixture(mem, setup, teardown);
	tcase_set_timeout(mem, 60);
	tcase_add_test(mem, time_wait_table_full_skips_time_wait);
	suite_add_tcase(su, mem);
	tcase_add_checked_fixture(big, setup_big, teardown);
	tcase_set_timeout(big, 30);
	tcase_add_test(big, ooq_segment_bound_prunes_highest);
	tcase_add_test(big, ooq_byte_bound_prunes_highest);
	suite_add_tcase(su, big);
	TCase *tiny = tcase_create("pool_dry");
	tcase_add_checked_fixture(tiny, setup_tiny, teardown);
	tcase_add_test(tiny, ack_sent_when_ooq_drains_pool);
	suite_add_tcase(su, tiny);
	tcase_add_checked_fixture(ch, setup, teardown);
	tcase_add_test(ch, challenge_ack_rate_limited_per_connection);
	tcase_add_test(ch, challenge_ack_global_budget);
	tcase_add_test(ch, ack_older_than_window_dropped);
	tcase_add_test(ch, out_of_window_acks_rate_limited);
	suite_add_tcase(su, ch);
	tcase_add_checked_fixture(tw, setup, teardown);
	tcase_add_test(tw, tw_syn_newer_timestamp_reuses_below_rcv_nxt);
	tcase_add_test(tw, tw_syn_older_timestamp_rejected_by_paws);
	tcase_add_test(tw, tw_syn_without_timestamps_needs_higher_seq);
	tcase_add_test(tw, tw_rst_ignored_rfc1337);
	suite_add_tcase(su, tw);
	tcase_add_checked_fixture(tw0, setup_rfc1337_off, teardown);
	tcase_add_test(tw0, tw_rst_in_window_kills_when_rfc1337_off);
	suite_add_tcase(su, tw0);
	return su;
}
