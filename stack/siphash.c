/*
 * siphash.c — SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), the keyed function behind TCP's initial
 * sequence numbers (RFC 6528 §3) and the connection hash table.  Called by
 * tcp.c; calls nothing.
 */
#include "priv.h"

static inline uint64_t rotl64(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = rotl64(v1, 13);                                           \
		v1 ^= v0;                                                      \
		v0 = rotl64(v0, 32);                                           \
		v2 += v3;                                                      \
		v3 = rotl64(v3, 16);                                           \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = rotl64(v3, 21);                                           \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = rotl64(v1, 17);                                           \
		v1 ^= v2;                                                      \
		v2 = rotl64(v2, 32);                                           \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t siphash24(const uint64_t key[2], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ull;
	uint64_t v1 = key[1] ^ 0x646f72616e646f6dull;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ull;
	uint64_t v3 = key[1] ^ 0x7465646279746573ull;
	uint64_t b = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t m = le64(p + i);

		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
