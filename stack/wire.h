/*
 * wire.h — wire layouts of IPv4, IPv6, ICMP and UDP headers as byte offsets,
 * with accessors that read and write network byte order.  Nothing here casts
 * a struct over packet bytes: callers check a length first (see each
 * *_HLEN), then use these accessors.
 */
#ifndef NETSHIM_WIRE_H
#define NETSHIM_WIRE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* IPv4, RFC 791 §3.1 */
#define IP4_HLEN 20
#define IP4_VER_IHL 0
#define IP4_TOS 1
#define IP4_TOTLEN 2
#define IP4_ID 4
#define IP4_FRAG 6 /* flags (3 bits) and fragment offset (13 bits) */
#define IP4_TTL 8
#define IP4_PROTO 9
#define IP4_CSUM 10
#define IP4_SRC 12
#define IP4_DST 16
#define IP4_F_RF 0x8000
#define IP4_F_DF 0x4000
#define IP4_F_MF 0x2000
#define IP4_OFFMASK 0x1fff

/* IPv6, RFC 8200 §3 */
#define IP6_HLEN 40
#define IP6_VTC_FLOW 0
#define IP6_PLEN 4
#define IP6_NXT 6
#define IP6_HLIM 7
#define IP6_SRC 8
#define IP6_DST 24
/* Next-header values of the extension headers, RFC 8200 §4 */
#define IP6_NH_HOPOPTS 0
#define IP6_NH_ROUTING 43
#define IP6_NH_FRAGMENT 44
#define IP6_NH_ESP 50
#define IP6_NH_AH 51
#define IP6_NH_NONE 59
#define IP6_NH_DSTOPTS 60
/* Fragment header, RFC 8200 §4.5 */
#define IP6_FRAG_HLEN 8
#define IP6_FRAG_NXT 0
#define IP6_FRAG_OFFLG 2 /* offset (13 bits, in 8-octet units) << 3 | M */
#define IP6_FRAG_ID 4
#define IP6_FRAG_MF 0x0001
#define IP6_FRAG_OFFMASK 0xfff8

/* UDP, RFC 768 */
#define UDP_HLEN 8
#define UDP_SPORT 0
#define UDP_DPORT 2
#define UDP_LEN 4
#define UDP_CSUM 6

/* ICMPv4, RFC 792 and ICMPv6, RFC 4443: type, code, checksum, 4 bytes. */
#define ICMP_HLEN 8
#define ICMP_TYPE 0
#define ICMP_CODE 1
#define ICMP_CSUM 2
#define ICMP_REST 4 /* id/seq, MTU (RFC 1191), pointer, unused */

#define ICMP4_ECHOREPLY 0
#define ICMP4_UNREACH 3
#define ICMP4_ECHO 8
#define ICMP4_TIMXCEED 11
#define ICMP4_PARAMPROB 12
#define ICMP4_UNREACH_NET 0
#define ICMP4_UNREACH_HOST 1
#define ICMP4_UNREACH_PROTO 2
#define ICMP4_UNREACH_PORT 3
#define ICMP4_UNREACH_NEEDFRAG 4
#define ICMP4_UNREACH_SRCFAIL 5
#define ICMP4_UNREACH_NET_UNKNOWN 6
#define ICMP4_UNREACH_HOST_UNKNOWN 7
#define ICMP4_UNREACH_NET_PROHIB 9
#define ICMP4_UNREACH_HOST_PROHIB 10
#define ICMP4_UNREACH_FILTER_PROHIB 13
#define ICMP4_TIMXCEED_REASS 1

#define ICMP6_DST_UNREACH 1
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAM_PROB 4
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_DST_UNREACH_NOROUTE 0
#define ICMP6_DST_UNREACH_ADMIN 1
#define ICMP6_DST_UNREACH_BEYONDSCOPE 2
#define ICMP6_DST_UNREACH_ADDR 3
#define ICMP6_DST_UNREACH_NOPORT 4
#define ICMP6_TIME_EXCEED_REASSEMBLY 1
#define ICMP6_PARAMPROB_HEADER 0
#define ICMP6_PARAMPROB_NEXTHEADER 1
#define ICMP6_PARAMPROB_OPTION 2
#define ICMP6_PARAMPROB_FIRSTFRAG 3 /* RFC 7112 */

#endif
