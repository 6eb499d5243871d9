/*
 * tcp_peer.h — a scripted remote TCP peer for the TCP suites
 * (test_tcp_conn.c, test_tcp_data.c).  It plays "the kernel side" of the
 * harness's in-memory link: it builds segments with any flags, options and
 * payload (IPv4 and IPv6, correct checksums) and injects them with
 * h_inject(); it pulls what the stack sent with h_pull(), checks the IP and
 * TCP checksums and parses the segment (seq, ack, flags, window, MSS, WS,
 * SACK-permitted, SACK blocks, timestamps, payload).  Fixtures run a real
 * handshake to place a connection straight into ESTABLISHED, with the
 * stack as client or as server and any option on or off.
 *
 * TP_TRACE=1 in the environment prints every segment both ways.
 *
 * The peer keeps its own view of both sequence spaces in struct tp_conn:
 * what it sends next (snd_nxt) and what it expects from the stack next
 * (rcv_nxt, advanced by every in-order segment it pulls).
 */
#ifndef NETSHIM_TCP_PEER_H
#define NETSHIM_TCP_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* TCP header (RFC 9293 §3.1) as byte offsets. */
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
#define TH_ECE 0x40
#define TH_CWR 0x80

/* Option kinds (RFC 9293, RFC 7323, RFC 2018). */
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WS 3
#define TCPOPT_SACKOK 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8

/* "Don't care" for the seq / ack / len arguments of tp_expect(). */
#define TP_ANY (-1LL)

/* The peer's default ports: the stack connects to TP_PEER_PORT (client
 * fixtures); the stack listens on TP_LISTEN_PORT and the peer connects
 * from TP_PEER_SPORT (server fixtures). */
#define TP_PEER_PORT 80
#define TP_LISTEN_PORT 8080
#define TP_PEER_SPORT 40000

/* Options of a segment: parsed from one the stack sent, or to send. */
struct tp_opts {
	bool mss_on, ws_on, sackok, ts_on;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	unsigned nsack;
	uint32_t sack[4][2]; /* left edge, right edge */
};

#define TP_SEG_MAX 9000

/* A segment the stack sent, parsed. */
struct tp_seg {
	int family;
	uint8_t src[16], dst[16];
	uint8_t ttl; /* TTL / hop limit */
	bool df;     /* IPv4 DF */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win; /* the raw window field */
	uint16_t urp;
	struct tp_opts o;
	size_t optlen; /* bytes of options */
	size_t len;    /* payload bytes */
	uint8_t data[TP_SEG_MAX];
	stack_ns_t t; /* fake-clock time it was pulled */
};

/* How the peer behaves in the handshake. */
struct tp_cfg {
	int family;	     /* STACK_AF_INET or STACK_AF_INET6 */
	uint16_t mss;	     /* the peer's MSS option; 0 = none */
	int ws;		     /* the peer's window-scale shift; -1 = no option */
	bool sackok;	     /* offer SACK-permitted */
	bool ts;	     /* send timestamps */
	uint32_t iss;	     /* the peer's ISN */
	uint32_t win;	     /* the peer's receive window in bytes */
	stack_ns_t rtt;	     /* delay between the stack's SYN (SYN-ACK) and the
				peer's SYN-ACK (ACK): the handshake RTT sample */
	uint16_t port;	     /* client: the peer's port; server: the stack's */
	uint16_t peer_sport; /* server: the peer's source port */
	int backlog;	     /* server: listen(2) backlog */
	int rcvbuf, sndbuf;  /* SO_RCVBUF / SO_SNDBUF set before connect()
				or listen() (inherited); 0 = default */
};

struct tp_conn {
	struct harness *h;
	struct tp_cfg cfg;
	int family;
	int fd;		  /* the stack's connection handle, -1 = none */
	int lfd;	  /* the stack's listener (server fixtures), or -1 */
	uint8_t me[16];	  /* the stack's address */
	uint8_t peer[16]; /* the peer's address */
	uint16_t mport;	  /* the stack's port */
	uint16_t pport;	  /* the peer's port */

	/* the peer's sequence space */
	uint32_t iss;	  /* the peer's ISN */
	uint32_t snd_nxt; /* next sequence number the peer sends */
	uint32_t wnd;	  /* the peer's receive window, bytes */
	/* the stack's sequence space, as the peer saw it */
	uint32_t irs;	    /* the stack's ISN (from its SYN / SYN-ACK) */
	uint32_t rcv_nxt;   /* next sequence number expected from the stack */
	uint32_t stack_ack; /* the last ACK number the stack sent */
	uint32_t stack_wnd; /* the last window the stack offered, bytes */
	uint8_t last_flags; /* flags, raw window field and options of the */
	uint16_t last_win;  /* last segment pulled */
	struct tp_opts last_opts;
	size_t last_optlen;

	/* negotiated in the handshake */
	bool ts, sack, wscale;
	uint8_t snd_ws;		 /* the peer's shift (0 unless wscale) */
	uint8_t rcv_ws;		 /* the stack's shift (0 unless wscale) */
	uint8_t stack_ws_opt;	 /* the shift the stack announced, if any */
	uint16_t stack_mss;	 /* the MSS option of the stack's SYN / SYN-ACK */
	uint16_t eff_mss;	 /* payload of a full segment from the stack */
	uint16_t peer_eff_mss;	 /* payload of a full segment from the peer */
	uint32_t syn_win;	 /* window field of the stack's SYN / SYN-ACK */
	struct tp_opts syn_opts; /* options of the stack's SYN / SYN-ACK */
	uint32_t ts_recent;	 /* the stack's latest TSval */
	uint32_t ts_base;	 /* the peer's TS clock: ts_base + now in ms */

	/* in-order payload the stack sent, when rx is set */
	uint8_t *rx;
	size_t rx_cap, rx_len;
	bool rx_fin;   /* the stack's FIN arrived in order */
	bool rst_seen; /* the stack sent an RST */
	bool done;     /* nothing left to clean up for this connection */
};

/* A segment to inject, fully specified. */
struct tp_out {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win; /* raw window field */
	uint16_t urp;
	const struct tp_opts *o; /* NULL: no options */
	const void *data;
	size_t len;
};

/* ---- suite fixture ---------------------------------------------------- */

/* h_setup / h_teardown, plus: connections made by the fixtures are
 * remembered, and tp_teardown() resets (peer RST) every one not known to
 * be finished before h_teardown checks the pools, so a test that stops in
 * a state holding buffers for longer than 120 s still tears down clean. */
void tp_setup(struct harness *h);
/* The same with a stack of cfg on a link of mtu (h_setup_cfg). */
void tp_setup_cfg(struct harness *h, const struct stack_config *cfg, uint32_t mtu);
void tp_teardown(struct harness *h);

/* ---- configuration and fixtures -------------------------------------- */

/* Defaults: every option on (MSS 1460 / 1440, WS 7, SACK-permitted,
 * timestamps), ISN 0x12345678, window 1 MiB, RTT 0, backlog 16. */
struct tp_cfg tp_cfg(int family);
/* Fill c for cfg without sending anything (addresses, ports, ISN). */
void tp_init(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg);

/* Client side: the stack connects (expects -EINPROGRESS) and sends its
 * SYN, which is pulled and checked (MSS, SACK-permitted, TS, WS, window
 * not scaled).  c->irs, c->syn_opts, c->stack_mss are filled. */
void tp_client_syn(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg);
/* ... then the peer answers SYN-ACK (after cfg.rtt) with the options of
 * cfg, and the stack's ACK is checked; the connection is ESTABLISHED,
 * STACK_EV_OUT set, SO_ERROR 0. */
void tp_client_finish(struct tp_conn *c);
void tp_client(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg);

/* Server side: a listener on cfg.port (backlog cfg.backlog). */
void tp_listen(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg);
/* The peer's SYN with the options of cfg. */
void tp_server_syn(struct tp_conn *c);
/* Pull and check the SYN-ACK: only options the SYN offered echoed
 * (RFC 7323 §1.3, RFC 2018), MSS always, TSecr = the SYN's TSval. */
void tp_server_synack(struct tp_conn *c);
/* The peer's ACK (after cfg.rtt), then accept() returns the connection. */
void tp_server_finish(struct tp_conn *c);
void tp_server(struct tp_conn *c, struct harness *h, const struct tp_cfg *cfg);
/* A second connection to the same listener as srv, from another port. */
void tp_server_more(struct tp_conn *c, const struct tp_conn *srv, uint16_t peer_sport);

/* ---- sending ------------------------------------------------------------ */

/* The peer's TSval now. */
uint32_t tp_tsval(const struct tp_conn *c);
/* A segment at the peer's current state: seq = snd_nxt, ack = rcv_nxt,
 * window = wnd >> snd_ws, timestamps when negotiated.  Edit and inject. */
struct tp_out tp_out(struct tp_conn *c, uint8_t flags);
/* Build and inject o; no state changes. */
void tp_inject(struct tp_conn *c, const struct tp_out *o);
/* Inject flags + data at snd_nxt and advance snd_nxt (SYN and FIN count). */
void tp_send(struct tp_conn *c, uint8_t flags, const void *data, size_t len);
/* The same at an explicit sequence number, snd_nxt unchanged. */
void tp_send_at(struct tp_conn *c, uint8_t flags, uint32_t seq, const void *data, size_t len);
void tp_send_ack(struct tp_conn *c);
void tp_send_data(struct tp_conn *c, const void *data, size_t len); /* ACK|PSH */
void tp_send_fin(struct tp_conn *c);				    /* FIN|ACK */
/* RST at snd_nxt (no ACK); marks c done. */
void tp_send_rst(struct tp_conn *c);

/* A raw TCP segment for any addresses (closed-port tests): returns the IP
 * packet length written to buf. */
size_t tp_build(uint8_t *buf, int family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
		uint16_t dport, const struct tp_out *o);

/* ---- receiving ---------------------------------------------------------- */

/* Take the next packet from the link; false if none.  Asserts it is a
 * valid TCP segment (IP and TCP checksums, lengths, well-formed options)
 * and parses it into s. */
bool tp_pull_any(struct harness *h, struct tp_seg *s);
/* Take the next packet, which must belong to c, and update the peer's
 * view (rcv_nxt for in-order data / SYN / FIN, the stack's TSval, ACK
 * and window; data appended to c->rx). */
bool tp_pull(struct tp_conn *c, struct tp_seg *s);
/* Update c's view with a segment already pulled with tp_pull_any. */
void tp_track(struct tp_conn *c, const struct tp_seg *s);
/* Pull one segment now and check it: flags exactly (PSH ignored), seq,
 * ack, payload length (TP_ANY skips one).  s may be NULL. */
void tp_expect(struct tp_conn *c, struct tp_seg *s, uint8_t flags, long long seq, long long ack,
	       long long len);
/* The link is empty. */
void tp_expect_nothing(struct tp_conn *c);
/* Drop whatever the stack sent, tracking it; returns how many. */
unsigned tp_flush(struct tp_conn *c);

/* Run the fake clock from deadline to deadline of the stack until a packet
 * waits on the link or `limit` ns have passed.  Returns the time waited,
 * or STACK_NS_NEVER (and the clock then stands at start + limit). */
stack_ns_t tp_run(struct harness *h, stack_ns_t limit);
/* tp_run, then tp_pull into s: the time waited, or STACK_NS_NEVER. */
stack_ns_t tp_wait(struct tp_conn *c, stack_ns_t limit, struct tp_seg *s);

/* The next segment must come `at` ns from now, give or take tol: it is
 * pulled into s (may be NULL) and the time waited is returned. */
stack_ns_t tp_expect_at(struct tp_conn *c, struct tp_seg *s, stack_ns_t at, stack_ns_t tol);
/* The stack ACKs everything the peer sent within `limit` ns (delayed
 * ACKs allowed): a pure ACK, ack = snd_nxt. */
void tp_expect_ack_within(struct tp_conn *c, stack_ns_t limit);
/* Settle c's negotiated values from the stack's SYN or SYN-ACK s (used by
 * fixtures; simultaneous open calls it directly). */
void tp_negotiate(struct tp_conn *c, const struct tp_seg *s);

/* The stack's window in bytes from a segment of c. */
uint32_t tp_seg_wnd(const struct tp_conn *c, const struct tp_seg *s);

/* ---- the stack side ----------------------------------------------------- */

int tp_open(struct harness *h, int family);
ssize_t tp_write(struct harness *h, int fd, const void *d, size_t n, int flags);
ssize_t tp_read(struct harness *h, int fd, void *b, size_t cap, int flags);
int tp_setint(struct harness *h, int fd, int level, int name, int v);
int tp_getint(struct harness *h, int fd, int level, int name);
/* SO_ERROR (reading it clears it, as on Linux). */
int tp_so_error(struct harness *h, int fd);
/* TCP_INFO. */
struct stack_tcp_info tp_info(struct harness *h, int fd);
/* TCP_CONGESTION's name, into name[16]; returns name. */
const char *tp_cc_name(struct harness *h, int fd, char *name);

/* ---- bulk transfer ------------------------------------------------------- */

/* The stack writes d[0..n) on c->fd while the peer ACKs every segment it
 * pulls; returns when the peer has all n bytes in order and the stack has
 * nothing unacknowledged.  The bytes are compared. */
void tp_pump_to_peer(struct tp_conn *c, const uint8_t *d, size_t n);
/* The peer sends d[0..n) in full segments within the window the stack
 * offers; the program reads as it goes.  The bytes are compared. */
void tp_pump_to_stack(struct tp_conn *c, const uint8_t *d, size_t n);

/* ---- closing -------------------------------------------------------------- */

/* A clean close with the stack closing first: close(), FIN, peer ACK and
 * FIN, stack ACK; the connection is in TIME_WAIT afterwards (which
 * h_teardown's 120 s covers). */
void tp_close_active(struct tp_conn *c);

#endif
