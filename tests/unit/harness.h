/*
 * harness.h — fixtures for the unit suites: a stack in a heap arena with a
 * fixed seed, one in-memory interface, a fake clock, and packet builders.
 * h_teardown() checks that every packet buffer went back to its pool.
 */
#ifndef NETSHIM_HARNESS_H
#define NETSHIM_HARNESS_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>

#include "priv.h"
#include "wire.h"

/* The in-memory interface "mem0": 192.0.2.2/24, 2001:db8::2/64, default
 * routes via 192.0.2.1 and 2001:db8::1 (the peer, "the kernel side"). */
#define H_ADDR4 "192.0.2.2"
#define H_PEER4 "192.0.2.1"
#define H_ADDR6 "2001:db8::2"
#define H_PEER6 "2001:db8::1"

struct harness {
	void *mem;
	struct stack *st;
	stack_ns_t now;
	int ifindex;
	uint8_t a4[4], p4[4];   /* our address, the peer's */
	uint8_t a6[16], p6[16];
};

void h_setup(struct harness *h);
/* stack_config_default() with pools of that many buffers and that many
 * endpoints, for h_setup_cfg(); the seed (zero) is the caller's to set. */
void h_config(struct stack_config *cfg, uint32_t pbuf_small, uint32_t pbuf_large,
	      uint32_t max_endpoints);
void h_setup_cfg(struct harness *h, const struct stack_config *cfg, uint32_t mtu);
void h_teardown(struct harness *h);
/* Advance the fake clock by dt and poll. */
void h_advance(struct harness *h, stack_ns_t dt);
/* Hand one raw IP packet to the stack as if the link received it. */
void h_inject(struct harness *h, const void *pkt, size_t len);
/* Take one packet the stack sent on mem0: its length, or 0 if none. */
size_t h_pull(struct harness *h, uint8_t *buf, size_t cap);
/* Packets waiting on mem0. */
unsigned h_pending(struct harness *h);
/* Drop everything waiting on mem0; returns how many. */
unsigned h_drain(struct harness *h);
/* The stack's counters now. */
struct stack_counters h_counters(struct harness *h);
uint64_t h_drops(struct harness *h, enum stack_proto_ix p, enum stack_drop d);

/* Builders: write a packet into buf, return its length.  Checksums are
 * correct unless the caller breaks them afterwards. */
size_t build_ip4(uint8_t *buf, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		 const void *payload, size_t plen, uint16_t id, uint16_t frag, uint8_t ttl);
size_t build_ip6(uint8_t *buf, const uint8_t *src, const uint8_t *dst, uint8_t nxt,
		 const void *payload, size_t plen, uint8_t hlim);
/* A UDP datagram (header + data) with its checksum for the pseudo-header. */
size_t build_udp(uint8_t *buf, int family, const uint8_t *src, const uint8_t *dst,
		 uint16_t sport, uint16_t dport, const void *data, size_t dlen);
/* An ICMP/ICMPv6 message with its checksum. */
size_t build_icmp(uint8_t *buf, int family, const uint8_t *src, const uint8_t *dst,
		  uint8_t type, uint8_t code, uint32_t rest, const void *body, size_t blen);
/* Fix the IPv4 header checksum after editing a header. */
void fix_ip4_csum(uint8_t *ip);
/* Fill buf with a pattern derived from seed. */
void fill_pattern(uint8_t *buf, size_t len, uint32_t seed);

struct stack_sockaddr h_sa(const char *addr, uint16_t port);

#endif
