/*
 * sha256.c — SHA-256 as FIPS 180-4 §6.2 describes it, for tools/ and
 * tests/: callers feed bytes with sha256_update; full 64-byte blocks go to
 * a compression function, which is the x86 SHA-extensions one when CPUID
 * says the CPU has them (about 5x faster) and portable C otherwise.
 */
#include <string.h>

#include "sha256.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(SHA256_PORTABLE_ONLY)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHANI_CODE 1
#endif

/* FIPS 180-4 §4.2.2 */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* FIPS 180-4 §6.2.2, nblocks blocks of 64 bytes. */
static void compress_portable(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	uint32_t w[64];

	while (nblocks--) {
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
		uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];

		for (int t = 0; t < 16; t++)
			w[t] = be32(p + 4 * t);
		for (int t = 16; t < 64; t++) {
			uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
			uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);

			w[t] = w[t - 16] + s0 + w[t - 7] + s1;
		}
		for (int t = 0; t < 64; t++) {
			uint32_t S1 = ror(e, 6) ^ ror(e, 11) ^ ror(e, 25);
			uint32_t ch = (e & f) ^ (~e & g);
			uint32_t t1 = hh + S1 + ch + K[t] + w[t];
			uint32_t S0 = ror(a, 2) ^ ror(a, 13) ^ ror(a, 22);
			uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
			uint32_t t2 = S0 + maj;

			hh = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
		h[5] += f;
		h[6] += g;
		h[7] += hh;
		p += 64;
	}
}

#ifdef HAVE_SHANI_CODE
/* The SHA extensions (Intel's "SHA-NI"): SHA256RNDS2 does two rounds on a
 * state split as ABEF / CDGH; SHA256MSG1/MSG2 extend the message schedule.
 * Four rounds per step, the schedule four words ahead. */
__attribute__((target("sha,sse4.1"))) static void compress_shani(uint32_t h[8], const uint8_t *p,
								 size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
	__m128i state0, state1, tmp, msg, m[4], abef_save, cdgh_save;

	/* h[0..3] = ABCD, h[4..7] = EFGH  ->  ABEF, CDGH */
	tmp = _mm_loadu_si128((const __m128i *)&h[0]);	  /* D C B A */
	state1 = _mm_loadu_si128((const __m128i *)&h[4]); /* H G F E */
	tmp = _mm_shuffle_epi32(tmp, 0xB1);		  /* C D A B */
	state1 = _mm_shuffle_epi32(state1, 0x1B);	  /* E F G H */
	state0 = _mm_alignr_epi8(tmp, state1, 8);	  /* A B E F */
	state1 = _mm_blend_epi16(state1, tmp, 0xF0);	  /* C D G H */

	while (nblocks--) {
		abef_save = state0;
		cdgh_save = state1;
		for (int i = 0; i < 4; i++)
			m[i] =
			    _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (int r = 0; r < 16; r++) {
			__m128i cur = m[r & 3];

			msg = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&K[4 * r]));
			state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
			msg = _mm_shuffle_epi32(msg, 0x0E);
			state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
			/* finish the schedule of group r+1 (its msg1 part
			 * was done two steps ago) ... */
			if (r >= 3 && r <= 14) {
				__m128i *next = &m[(r + 1) & 3];

				tmp = _mm_alignr_epi8(cur, m[(r - 1) & 3], 4);
				*next = _mm_add_epi32(*next, tmp);
				*next = _mm_sha256msg2_epu32(*next, cur);
			}
			/* ... and start that of group r+3, in the slot of
			 * group r-1, which is no longer needed */
			if (r >= 1 && r <= 12) {
				__m128i *prev = &m[(r - 1) & 3];

				*prev = _mm_sha256msg1_epu32(*prev, cur);
			}
		}
		state0 = _mm_add_epi32(state0, abef_save);
		state1 = _mm_add_epi32(state1, cdgh_save);
		p += 64;
	}

	/* ABEF, CDGH  ->  ABCD, EFGH */
	tmp = _mm_shuffle_epi32(state0, 0x1B);	     /* F E B A */
	state1 = _mm_shuffle_epi32(state1, 0xB1);    /* D C H G */
	state0 = _mm_blend_epi16(tmp, state1, 0xF0); /* D C B A */
	state1 = _mm_alignr_epi8(state1, tmp, 8);    /* H G F E */
	_mm_storeu_si128((__m128i *)&h[0], state0);
	_mm_storeu_si128((__m128i *)&h[4], state1);
}

static int have_shani(void)
{
	static int cached = -1;
	unsigned a, b, c, d;

	if (cached < 0) {
		cached = 0;
		if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)) &&
		    __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) && (c & (1u << 9)))
			cached = 1; /* SHA, SSE4.1, SSSE3 */
	}
	return cached;
}
#endif

static void compress(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
#ifdef HAVE_SHANI_CODE
	if (have_shani()) {
		compress_shani(h, p, nblocks);
		return;
	}
#endif
	compress_portable(h, p, nblocks);
}

const char *sha256_impl(void)
{
#ifdef HAVE_SHANI_CODE
	if (have_shani())
		return "sha-ni";
#endif
	return "portable";
}

void sha256_init(struct sha256 *s)
{
	/* FIPS 180-4 §5.3.3 */
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->buf_used = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const uint8_t *p = data;

	s->len += n;
	if (s->buf_used) {
		size_t take = 64 - s->buf_used;

		if (take > n)
			take = n;
		memcpy(s->buf + s->buf_used, p, take);
		s->buf_used += (unsigned)take;
		p += take;
		n -= take;
		if (s->buf_used < 64)
			return;
		compress(s->h, s->buf, 1);
		s->buf_used = 0;
	}
	if (n >= 64) {
		compress(s->h, p, n / 64);
		p += n & ~(size_t)63;
		n &= 63;
	}
	memcpy(s->buf, p, n);
	s->buf_used = (unsigned)n;
}

void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN])
{
	uint64_t bits = s->len * 8;
	uint8_t pad[72];
	size_t padlen;

	/* §5.1.1: a 1 bit, zeros to 56 mod 64, the length in bits */
	padlen = (s->buf_used < 56 ? 56 : 120) - s->buf_used;
	memset(pad, 0, sizeof(pad));
	pad[0] = 0x80;
	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, pad, padlen + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void sha256(const void *data, size_t n, uint8_t out[SHA256_LEN])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, data, n);
	sha256_final(&s, out);
}

char *sha256_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEXLEN])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = 0;
	return hex;
}
