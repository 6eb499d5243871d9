/*
 * rand.c — the stack's random generator: xoshiro256** (Blackman & Vigna),
 * state in struct stack, seeded by the caller (arc4random in production,
 * a fixed seed in tests so every run is reproducible).  Used for port
 * choice, IP identifiers and the fault stage.  Not for secrets by itself:
 * keyed hashes (TCP ISNs) take their key from it once.
 */
#include "priv.h"

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rand_u64(struct stack *st)
{
	uint64_t *s = st->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t rand_u32(struct stack *st) { return (uint32_t)(rand_u64(st) >> 32); }

/* Lemire's multiply-shift with rejection: unbiased in [0, n). */
uint32_t rand_below(struct stack *st, uint32_t n)
{
	uint64_t m;
	uint32_t low, threshold;

	if (n == 0)
		return 0;
	m = (uint64_t)rand_u32(st) * n;
	low = (uint32_t)m;
	if (low < n) {
		threshold = (uint32_t)-n % n;
		while (low < threshold) {
			m = (uint64_t)rand_u32(st) * n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

bool rand_ppm(struct stack *st, uint32_t ppm)
{
	if (ppm == 0)
		return false;
	if (ppm >= 1000000)
		return true;
	return rand_below(st, 1000000) < ppm;
}
