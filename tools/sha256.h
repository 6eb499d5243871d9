/*
 * sha256.h — a small SHA-256 (FIPS 180-4) for the tools and test helpers,
 * so that netshim-tcpdrv and tcpprobe can check what crossed a connection
 * without a crypto library.  Uses the x86 SHA extensions when the CPU has
 * them, portable C otherwise.  Not for secrets: no constant-time claims.
 */
#ifndef NETSHIM_SHA256_H
#define NETSHIM_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEXLEN 65 /* 64 hex digits and a NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t len;	   /* bytes hashed so far */
	uint8_t buf[64];   /* a partial block */
	unsigned buf_used; /* bytes in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);
/* One call: the digest of data[0..n). */
void sha256(const void *data, size_t n, uint8_t out[SHA256_LEN]);
/* Lower-case hex of a digest into hex[SHA256_HEXLEN]; returns hex. */
char *sha256_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEXLEN]);
/* Which implementation runs: "sha-ni" or "portable". */
const char *sha256_impl(void);

#endif
