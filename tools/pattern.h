/*
 * pattern.h — the deterministic byte stream netshim-tcpdrv and tcpprobe
 * send and check: byte o of stream `seed` is byte (o % 8) (little-endian)
 * of mix(seed, o / 8).  Any offset can be produced on its own, so a
 * receiver checks what arrives without keeping what was sent.
 */
#ifndef NETSHIM_PATTERN_H
#define NETSHIM_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t pattern_word(uint64_t seed, uint64_t i)
{
	/* splitmix64's finaliser over (seed, index) */
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + (i + 1) * 0xd1b54a32d192ed03ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Bytes [off, off + n) of stream seed into buf. */
static inline void pattern_fill(uint64_t seed, uint64_t off, void *buf, size_t n)
{
	uint8_t *p = buf;
	uint64_t w;

	while (n && (off & 7)) {
		w = pattern_word(seed, off >> 3);
		*p++ = (uint8_t)(w >> (8 * (off & 7)));
		off++;
		n--;
	}
	while (n >= 8) {
		w = pattern_word(seed, off >> 3);
		memcpy(p, &w, 8); /* x86 and arm64 Linux: little-endian */
		p += 8;
		off += 8;
		n -= 8;
	}
	while (n) {
		w = pattern_word(seed, off >> 3);
		*p++ = (uint8_t)(w >> (8 * (off & 7)));
		off++;
		n--;
	}
}

/* The first offset in buf[0..n) that differs from stream seed at off,
 * or -1 when all match. */
static inline long long pattern_check(uint64_t seed, uint64_t off, const void *buf, size_t n)
{
	uint8_t tmp[4096];
	const uint8_t *p = buf;

	while (n) {
		size_t k = n < sizeof(tmp) ? n : sizeof(tmp);

		pattern_fill(seed, off, tmp, k);
		if (memcmp(tmp, p, k)) {
			for (size_t i = 0; i < k; i++)
				if (tmp[i] != p[i])
					return (long long)(off + i);
		}
		p += k;
		off += k;
		n -= k;
	}
	return -1;
}

#endif
