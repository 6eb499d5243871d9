/*
 * cksum.c — the Internet checksum (RFC 1071) and its incremental update
 * (RFC 1624).  Called by ip4.c, icmp*.c, udp.c on output and input.
 */
#include "priv.h"
#include "wire.h"

/* Sum 16-bit big-endian words into a 32-bit accumulator; an odd trailing
 * byte is padded with zero (RFC 1071 §4.1).  Callers chaining calls must
 * pass even lengths except for the last. */
uint32_t cksum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	while (len >= 8) {
		acc += get32(p);
		acc += get32(p + 4);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		acc += get16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t cksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t cksum_pseudo(int family, const uint8_t *src, const uint8_t *dst,
		      uint8_t proto, uint32_t len)
{
	size_t alen = addr_len(family);
	uint32_t sum = cksum_add(0, src, alen);

	sum = cksum_add(sum, dst, alen);
	/* IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length, zeros,
	 * next header.  Both sum to the same words. */
	sum += proto;
	sum += len >> 16;
	sum += len & 0xffff;
	return sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') */
uint16_t cksum_update16(uint16_t cksum, uint16_t old, uint16_t new_)
{
	uint32_t sum = (uint16_t)~cksum;

	sum += (uint16_t)~old;
	sum += new_;
	return (uint16_t)~cksum_fold(sum);
}
