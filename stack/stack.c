/*
 * stack.c — creation inside the caller's arena, the poll loop, the link
 * side (batches in and out), counters and address helpers.
 * Callers: shim/, tools/, tests.  Calls: iface.c, timer.c, the protocols.
 */
#include <errno.h>
#include <stdio.h>

#include "priv.h"
#include "tcp.h"
#include "wire.h"

#define STACK_MAGIC 0x6e657473u /* "nets" */
#define ARENA_ALIGN 64

void stack_config_default(struct stack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pbuf_small = OPT_PBUF_SMALL_COUNT;
	cfg->pbuf_large = OPT_PBUF_LARGE_COUNT;
	cfg->max_endpoints = OPT_MAX_ENDPOINTS;
	cfg->frag_budget = OPT_FRAG_BUDGET;
	cfg->seed[0] = 0x9e3779b97f4a7c15ull; /* callers replace the seed */
}

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

static size_t pbuf_size(enum pbuf_class c)
{
	return align_up(sizeof(struct pbuf) + pbuf_class_data(c));
}

static uint32_t txrec_count(const struct stack_config *cfg)
{
	uint64_t n = (uint64_t)cfg->pbuf_small * OPT_TCP_TXRECS_PER_PBUF;

	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The arena: struct stack, endpoints, fragment queues, then the pools. */
size_t stack_arena_size(const struct stack_config *cfg)
{
	return align_up(sizeof(struct stack)) +
	       align_up(sizeof(struct ep) * cfg->max_endpoints) +
	       align_up(sizeof(struct tcb) * cfg->max_endpoints) +
	       align_up(sizeof(struct tcp_tw) * OPT_TCP_TW_MAX) +
	       align_up(sizeof(struct tcp_txrec) * txrec_count(cfg)) +
	       align_up(sizeof(struct frag_queue) * OPT_FRAG_QUEUES) +
	       pbuf_size(PBUF_SMALL) * cfg->pbuf_small +
	       pbuf_size(PBUF_LARGE) * cfg->pbuf_large;
}

static void pool_init(struct pool *pl, enum pbuf_class c, uint8_t **cursor,
		      uint32_t count)
{
	STAILQ_INIT(&pl->free);
	pl->total = count;
	pl->used = 0;
	for (uint32_t i = 0; i < count; i++) {
		struct pbuf *p = (struct pbuf *)(void *)*cursor;

		memset(p, 0, sizeof(*p));
		p->cap = (uint32_t)pbuf_class_data(c);
		p->cls = (uint8_t)c;
		STAILQ_INSERT_TAIL(&pl->free, p, next);
		*cursor += pbuf_size(c);
	}
}

static void loopback_init(struct stack *st)
{
	struct iface *lo = &st->ifaces[0];
	struct stack_sockaddr a;

	lo->used = 1;
	lo->kind = STACK_IF_LOOPBACK;
	lo->index = STACK_LOOPBACK_IFINDEX;
	strcpy(lo->name, "lo");
	lo->mtu = OPT_LOOPBACK_MTU;
	STAILQ_INIT(&lo->txq);
	stack_addr_parse("127.0.0.1", &a);
	stack_addr_add(st, lo->index, &a, 8);
	stack_addr_parse("::1", &a);
	stack_addr_add(st, lo->index, &a, 128);
}

struct stack *stack_create(void *mem, size_t size, const struct stack_config *cfg,
			   stack_ns_t now)
{
	struct stack *st = mem;
	uint8_t *cursor;

	if (!mem || ((uintptr_t)mem & (ARENA_ALIGN - 1)) || !cfg ||
	    cfg->max_endpoints == 0 || cfg->pbuf_small == 0 ||
	    cfg->max_endpoints > (1u << 24) || size < stack_arena_size(cfg))
		return NULL;
	if (cfg->tcp_congestion[0] &&
	    (!memchr(cfg->tcp_congestion, 0, sizeof(cfg->tcp_congestion)) ||
	     tcp_cc_by_name(cfg->tcp_congestion) < 0))
		return NULL;
	memset(st, 0, sizeof(*st));
	st->magic = STACK_MAGIC;
	st->arena_size = size;
	st->now = now;
	st->cfg = *cfg;
	memcpy(st->rng, cfg->seed, sizeof(st->rng));
	if (!(st->rng[0] | st->rng[1] | st->rng[2] | st->rng[3]))
		st->rng[0] = 1; /* xoshiro's one forbidden state */
	for (int i = 0; i < 8; i++)
		rand_u64(st);

	cursor = (uint8_t *)mem + align_up(sizeof(struct stack));
	st->eps = (struct ep *)(void *)cursor;
	memset(st->eps, 0, sizeof(struct ep) * cfg->max_endpoints);
	cursor += align_up(sizeof(struct ep) * cfg->max_endpoints);
	st->tcbs = (struct tcb *)(void *)cursor;
	memset(st->tcbs, 0, sizeof(struct tcb) * cfg->max_endpoints);
	cursor += align_up(sizeof(struct tcb) * cfg->max_endpoints);
	st->tws = (struct tcp_tw *)(void *)cursor;
	memset(st->tws, 0, sizeof(struct tcp_tw) * OPT_TCP_TW_MAX);
	cursor += align_up(sizeof(struct tcp_tw) * OPT_TCP_TW_MAX);
	tcp_txrec_pool_init(st, (struct tcp_txrec *)(void *)cursor, txrec_count(cfg));
	cursor += align_up(sizeof(struct tcp_txrec) * txrec_count(cfg));
	st->fragq = (struct frag_queue *)(void *)cursor;
	memset(st->fragq, 0, sizeof(struct frag_queue) * OPT_FRAG_QUEUES);
	cursor += align_up(sizeof(struct frag_queue) * OPT_FRAG_QUEUES);
	pool_init(&st->pools[PBUF_SMALL], PBUF_SMALL, &cursor, cfg->pbuf_small);
	pool_init(&st->pools[PBUF_LARGE], PBUF_LARGE, &cursor, cfg->pbuf_large);

	RB_INIT(&st->timers);
	STAILQ_INIT(&st->loopq);
	TAILQ_INIT(&st->udp_bound);
	TAILQ_INIT(&st->tcp_bound);
	TAILQ_INIT(&st->changed);
	TAILQ_INIT(&st->tcp_listeners);
	TAILQ_INIT(&st->tcp_waiting);
	TAILQ_INIT(&st->tcp_kicking);
	for (int i = 0; i < OPT_TCP_HASH; i++) {
		TAILQ_INIT(&st->tcp_hash[i]);
		TAILQ_INIT(&st->tw_hash[i]);
	}
	for (int i = 0; i < 4; i++)
		st->tcp_isn_key[i] = rand_u32(st);
	st->ip4_id = (uint16_t)rand_u32(st);
	st->hash_key = rand_u64(st);
	st->icmp_tokens = OPT_ICMP_BURST * 1000;
	st->icmp_refill = now;
	loopback_init(st);
	return st;
}

/* Packets sent to loopback (or to our own addresses) come back in here,
 * one at a time, never from inside the output call that queued them. */
void stack_flush_loopback(struct stack *st)
{
	struct iface *lo = &st->ifaces[0];
	unsigned budget = OPT_LOOPBACK_BUDGET;
	struct pbuf *p;

	if (st->in_loop_flush)
		return;
	st->in_loop_flush = true;
	while (budget-- && (p = STAILQ_FIRST(&st->loopq)) != NULL) {
		STAILQ_REMOVE_HEAD(&st->loopq, next);
		st->loopq_len--;
		iface_input(st, lo, p);
	}
	st->in_loop_flush = false;
}

stack_ns_t stack_next_deadline(const struct stack *st)
{
	if (!STAILQ_EMPTY(&st->loopq))
		return st->now;
	return timer_next(st);
}

stack_ns_t stack_poll(struct stack *st, stack_ns_t now)
{
	if (now > st->now)
		st->now = now;
	timer_run(st);
	stack_flush_loopback(st);
	if (!TAILQ_EMPTY(&st->tcp_waiting)) {
		tcp_kick(st, true);
		stack_flush_loopback(st);
	}
	return stack_next_deadline(st);
}

unsigned stack_link_input(struct stack *st, int ifindex, const struct stack_pkt *pkts,
			  unsigned n, stack_ns_t now)
{
	struct iface *ifp = iface_get(st, ifindex);
	unsigned accepted = 0;

	if (now > st->now)
		st->now = now;
	for (unsigned i = 0; i < n; i++) {
		struct pbuf *p;

		CTR(st, LINK).rx++;
		if (!ifp || pkts[i].len > OPT_IP_MAX_PACKET) {
			DROP(st, LINK, BAD_LEN);
			continue;
		}
		p = pbuf_alloc(st, pkts[i].len);
		if (!p && tcp_reclaim(st))
			p = pbuf_alloc(st, pkts[i].len);
		if (!p) {
			DROP(st, LINK, NOBUF);
			continue;
		}
		memcpy(pbuf_data(p), pkts[i].data, pkts[i].len);
		p->len = (uint32_t)pkts[i].len;
		p->meta.ifindex = ifindex;
		accepted++;
		if (ifp->has_fault)
			fault_stage(st, ifp, 0, p);
		else
			iface_input(st, ifp, p);
	}
	stack_flush_loopback(st);
	return accepted;
}

unsigned stack_link_pull(struct stack *st, int ifindex, struct stack_pkt *pkts, unsigned n)
{
	struct iface *ifp = iface_get(st, ifindex);
	unsigned done = 0;
	struct pbuf *p;

	if (!ifp)
		return 0;
	while (done < n && (p = STAILQ_FIRST(&ifp->txq)) != NULL) {
		STAILQ_REMOVE_HEAD(&ifp->txq, next);
		ifp->txq_len--;
		if (p->len > pkts[done].cap) {
			DROP(st, LINK, LINK_TOO_BIG);
			pbuf_free(st, p);
			continue;
		}
		memcpy(pkts[done].data, pbuf_data(p), p->len);
		pkts[done].len = p->len;
		CTR(st, LINK).tx++;
		pbuf_free(st, p);
		done++;
	}
	if (done && !TAILQ_EMPTY(&st->tcp_waiting)) {
		tcp_kick(st, false);
		stack_flush_loopback(st);
	}
	return done;
}

unsigned stack_link_pending(const struct stack *st, int ifindex)
{
	const struct iface *ifp = iface_get((struct stack *)st, ifindex);

	return ifp ? ifp->txq_len : 0;
}

void stack_get_counters(const struct stack *st, struct stack_counters *out)
{
	*out = st->ctr;
	out->pbuf_small_used = st->pools[PBUF_SMALL].used;
	out->pbuf_large_used = st->pools[PBUF_LARGE].used;
	out->tcp_txrec_used = st->txrec_used;
	out->tcp_tw_used = st->tw_count;
}

static const char *const drop_names[STACK_DROP_MAX] = {
#define STACK_DROP_NAME(n, d) #n,
	STACK_DROP_REASONS(STACK_DROP_NAME)
#undef STACK_DROP_NAME
};

const char *stack_drop_name(enum stack_drop d)
{
	return (unsigned)d < STACK_DROP_MAX ? drop_names[d] : "?";
}

const char *stack_proto_name(enum stack_proto_ix p)
{
	static const char *const names[STACK_P_MAX] = {
		"link", "ip4", "ip6", "icmp4", "icmp6", "udp", "tcp", "frag4", "frag6",
	};
	return (unsigned)p < STACK_P_MAX ? names[p] : "?";
}

/* ---- address helpers ---------------------------------------------------- */

static int parse_ip4(const char *s, uint8_t out[4])
{
	unsigned v[4];
	char tail;

	if (sscanf(s, "%3u.%3u.%3u.%3u%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (v[i] > 255)
			return -EINVAL;
		out[i] = (uint8_t)v[i];
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse colon-separated hex words (and a trailing dotted quad when
 * allow_v4) from s into w[]; returns the count or -1. */
static int parse_words(const char *s, uint16_t *w, int max, bool allow_v4)
{
	int n = 0;

	if (!*s)
		return 0;
	for (;;) {
		unsigned v = 0;
		int digits = 0;
		const char *colon = strchr(s, ':');

		if (allow_v4 && !colon && strchr(s, '.')) {
			uint8_t v4[4];

			if (n + 2 > max || parse_ip4(s, v4))
				return -1;
			w[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
			w[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
			return n;
		}
		while (hexval(*s) >= 0) {
			v = v << 4 | (unsigned)hexval(*s++);
			if (++digits > 4)
				return -1;
		}
		if (!digits || n >= max)
			return -1;
		w[n++] = (uint16_t)v;
		if (!*s)
			return n;
		if (*s++ != ':' || !*s)
			return -1;
	}
}

/* RFC 4291 §2.2 text forms: full, "::" compressed, trailing dotted quad. */
static int parse_ip6(const char *s, uint8_t out[16])
{
	uint16_t head[8], tail[8];
	const char *gap = strstr(s, "::");
	int nh, nt = 0;
	char buf[64];

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	memset(out, 0, 16);
	if (!gap) {
		nh = parse_words(s, head, 8, true);
		if (nh != 8)
			return -EINVAL;
	} else {
		if (strstr(gap + 2, "::"))
			return -EINVAL;
		memcpy(buf, s, (size_t)(gap - s));
		buf[gap - s] = 0;
		nh = parse_words(buf, head, 7, false);
		if (nh < 0)
			return -EINVAL;
		nt = parse_words(gap + 2, tail, 7 - nh, true);
		if (nt < 0)
			return -EINVAL;
	}
	for (int i = 0; i < nh; i++)
		put16(out + 2 * i, head[i]);
	for (int i = 0; i < nt; i++)
		put16(out + 16 - 2 * (nt - i), tail[i]);
	return 0;
}

int stack_addr_parse(const char *s, struct stack_sockaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (!s)
		return -EINVAL;
	if (strchr(s, ':')) {
		a->family = STACK_AF_INET6;
		return parse_ip6(s, a->addr);
	}
	a->family = STACK_AF_INET;
	return parse_ip4(s, a->addr);
}

char *stack_addr_format(const struct stack_sockaddr *a, char *buf, size_t n)
{
	if (a->family == STACK_AF_INET) {
		snprintf(buf, n, "%u.%u.%u.%u", a->addr[0], a->addr[1], a->addr[2], a->addr[3]);
	} else if (a->family == STACK_AF_INET6) {
		/* RFC 5952: lower case, longest run of zero words as "::" */
		int best = -1, bestlen = 1, run = 0;
		size_t o = 0;

		for (int i = 0; i < 8; i++) {
			if (!a->addr[2 * i] && !a->addr[2 * i + 1]) {
				run++;
				if (run > bestlen) {
					bestlen = run;
					best = i - run + 1;
				}
			} else {
				run = 0;
			}
		}
		buf[0] = 0;
		for (int i = 0; i < 8 && o < n; i++) {
			if (i == best) {
				o += (size_t)snprintf(buf + o, n - o, "::");
				i += bestlen - 1;
				continue;
			}
			o += (size_t)snprintf(buf + o, n - o, "%s%x",
					      (o && buf[o - 1] != ':') ? ":" : "",
					      (unsigned)(a->addr[2 * i] << 8 | a->addr[2 * i + 1]));
		}
	} else {
		snprintf(buf, n, "?");
	}
	return buf;
}

bool addr4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(a, prefix, 12) == 0;
}

bool addr_is_any(int family, const uint8_t *a)
{
	static const uint8_t zero[16];
	return memcmp(a, zero, addr_len(family)) == 0;
}

bool addr6_is_multicast(const uint8_t *a) { return a[0] == 0xff; }
bool addr4_is_multicast(const uint8_t *a) { return (a[0] & 0xf0) == 0xe0; }

bool prefix_match(int family, const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned bytes = plen / 8, bits = plen % 8;

	if (plen > addr_len(family) * 8)
		return false;
	if (memcmp(a, b, bytes))
		return false;
	if (bits) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits));
		return (a[bytes] & mask) == (b[bytes] & mask);
	}
	return true;
}
