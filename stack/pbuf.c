/*
 * pbuf.c — packet buffers from two fixed pools in the arena: small ones for
 * MTU-sized packets and large ones for the largest IP packet (reassembly,
 * big datagrams).  Every layer allocates here and frees here; a unit-test
 * teardown checks that both pools are full again.
 */
#include "priv.h"

static const size_t class_data[PBUF_NCLASS] = {
	[PBUF_SMALL] = OPT_PBUF_SMALL_DATA,
	[PBUF_LARGE] = OPT_PBUF_LARGE_DATA,
};

size_t pbuf_class_data(enum pbuf_class c) { return class_data[c]; }

struct pbuf *pbuf_alloc_class(struct stack *st, enum pbuf_class c)
{
	struct pool *pl = &st->pools[c];
	struct pbuf *p = STAILQ_FIRST(&pl->free);

	if (!p)
		return NULL;
	STAILQ_REMOVE_HEAD(&pl->free, next);
	pl->used++;
	p->off = OPT_PBUF_HEADROOM;
	p->len = 0;
	p->refcnt = 1;
	p->flags = 0;
	p->nh = p->th = 0;
	p->t = 0;
	memset(&p->meta, 0, sizeof(p->meta));
	return p;
}

/* A buffer with room for len bytes after the standard headroom; a small
 * one when it fits, else large. */
struct pbuf *pbuf_alloc(struct stack *st, size_t len)
{
	struct pbuf *p;

	if (len + OPT_PBUF_HEADROOM <= OPT_PBUF_SMALL_DATA) {
		p = pbuf_alloc_class(st, PBUF_SMALL);
		if (p)
			return p;
	}
	if (len + OPT_PBUF_HEADROOM > OPT_PBUF_LARGE_DATA)
		return NULL;
	return pbuf_alloc_class(st, PBUF_LARGE);
}

void pbuf_ref(struct pbuf *p) { p->refcnt++; }

void pbuf_free(struct stack *st, struct pbuf *p)
{
	struct pool *pl;

	if (!p)
		return;
	if (--p->refcnt > 0)
		return;
	pl = &st->pools[p->cls];
	pl->used--;
	STAILQ_INSERT_HEAD(&pl->free, p, next);
}

void pbuf_freeq(struct stack *st, struct pbufq *q)
{
	struct pbuf *p;

	while ((p = STAILQ_FIRST(q)) != NULL) {
		STAILQ_REMOVE_HEAD(q, next);
		pbuf_free(st, p);
	}
}

struct pbuf *pbuf_copy(struct stack *st, const struct pbuf *p)
{
	struct pbuf *c = pbuf_alloc(st, p->len);

	if (!c)
		return NULL;
	c->off = p->off < c->cap - p->len ? p->off : OPT_PBUF_HEADROOM;
	memcpy(c->buf + c->off, p->buf + p->off, p->len);
	c->len = p->len;
	c->flags = p->flags;
	c->nh = p->nh;
	c->th = p->th;
	c->t = p->t;
	c->meta = p->meta;
	return c;
}

uint8_t *pbuf_push(struct pbuf *p, size_t n)
{
	if (n > p->off)
		return NULL;
	p->off -= (uint32_t)n;
	p->len += (uint32_t)n;
	return p->buf + p->off;
}

void pbuf_pull(struct pbuf *p, size_t n)
{
	if (n > p->len)
		n = p->len;
	p->off += (uint32_t)n;
	p->len -= (uint32_t)n;
}

void pbuf_trim(struct pbuf *p, size_t len)
{
	if (len < p->len)
		p->len = (uint32_t)len;
}
