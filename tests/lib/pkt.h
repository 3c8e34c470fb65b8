/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt.h: build test packets (Ethernet, 802.1Q, IPv4 with options, IPv6 with
 * extension headers, TCP/UDP/ICMP/ICMPv6) with correct checksums, and parse
 * and check what a data path sends back (an encapsulated frame, an ICMP
 * reply). Pure user space: no BPF, no TAP, so tools can reuse it.
 *
 *   struct pkt_spec s = pkt_spec_tcp4("198.18.0.1", 40000, "198.18.1.1", 443);
 *   s.tcp_flags = PKT_TCP_SYN;
 *   s.tcp_opts = PKT_OPT_MSS(1460); ...
 *   struct pkt p;
 *   pkt_build(&s, &p);             p.buf[0..p.len) is the frame
 *
 * Addresses are 16-byte arrays; an IPv4 address uses the first 4 bytes.
 * All multi-byte fields in struct pkt_spec are host order.
 */
#ifndef XLB_PKT_H
#define XLB_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX			4096	/* largest frame the builder makes */

#define PKT_ETH_P_IP		0x0800
#define PKT_ETH_P_IPV6		0x86dd
#define PKT_ETH_P_ARP		0x0806
#define PKT_ETH_P_8021Q		0x8100
#define PKT_ETH_P_8021AD	0x88a8

#define PKT_IPPROTO_HOPOPTS	0
#define PKT_IPPROTO_ICMP	1
#define PKT_IPPROTO_IPIP	4
#define PKT_IPPROTO_TCP		6
#define PKT_IPPROTO_UDP		17
#define PKT_IPPROTO_IPV6	41
#define PKT_IPPROTO_ROUTING	43
#define PKT_IPPROTO_FRAGMENT	44
#define PKT_IPPROTO_GRE		47
#define PKT_IPPROTO_ICMPV6	58
#define PKT_IPPROTO_NONE	59
#define PKT_IPPROTO_DSTOPTS	60

/* IPv4 flags/fragment-offset word (host order) */
#define PKT_IP_DF		0x4000
#define PKT_IP_MF		0x2000
#define PKT_IP_OFFMASK		0x1fff

#define PKT_TCP_FIN		0x01
#define PKT_TCP_SYN		0x02
#define PKT_TCP_RST		0x04
#define PKT_TCP_PSH		0x08
#define PKT_TCP_ACK		0x10

#define PKT_TCPOPT_EOL		0
#define PKT_TCPOPT_NOP		1
#define PKT_TCPOPT_MSS		2
#define PKT_TCPOPT_WSCALE	3
#define PKT_TCPOPT_SACK_PERM	4
#define PKT_TCPOPT_TS		8

#define PKT_MAX_EXT		8
#define PKT_MAX_OPTS		60

/* One IPv6 extension header. HOPOPTS/DSTOPTS/ROUTING: LEN8 is the header's
 * length field (size = 8 * (LEN8 + 1)); the body is zeros (Pad1 options; a
 * routing header with segments left 0). FRAGMENT: FRAG_OFF (in 8-byte
 * units), MORE, ID. */
struct pkt_ext {
	uint8_t		type;
	uint8_t		len8;
	uint16_t	frag_off;
	bool		more;
	uint32_t	id;
};

struct pkt_spec {
	/* Ethernet: up to two tags, outermost first (tpid 0 = no tag) */
	uint8_t		eth_dst[6];
	uint8_t		eth_src[6];
	uint16_t	vlan_tpid[2];
	uint16_t	vlan_tci[2];
	uint16_t	eth_proto;	/* 0: from family */

	/* IP */
	int		family;		/* 4 or 6; 0 = no IP header (raw payload) */
	uint8_t		src[16];
	uint8_t		dst[16];
	uint8_t		tos;		/* TOS / traffic class */
	uint32_t	flow_label;	/* IPv6 */
	uint8_t		ttl;		/* TTL / hop limit; 0 means 64 */
	uint16_t	ip_id;		/* IPv4 */
	uint16_t	ip_frag;	/* IPv4 flags + offset word, PKT_IP_* */
	uint8_t		ip_opts[40];	/* IPv4 options, ip_opts_len % 4 == 0 */
	size_t		ip_opts_len;
	struct pkt_ext	ext[PKT_MAX_EXT];	/* IPv6 extension headers */
	int		n_ext;
	uint8_t		proto;		/* L4 protocol */

	/* TCP / UDP */
	uint16_t	sport;
	uint16_t	dport;
	uint32_t	seq;
	uint32_t	ack;
	uint8_t		tcp_flags;
	uint16_t	window;
	uint8_t		tcp_opts[PKT_MAX_OPTS];	/* padded with NOPs to % 4 */
	size_t		tcp_opts_len;

	/* ICMP / ICMPv6: type, code and the 4 "rest of header" bytes */
	uint8_t		icmp_type;
	uint8_t		icmp_code;
	uint32_t	icmp_rest;

	/* L4 payload (for an ICMP error: the quoted packet) */
	const uint8_t	*payload;
	size_t		payload_len;

	/* pad the frame with zeros to at least this many bytes (Ethernet
	 * padding; the IP length fields do not count it) */
	size_t		pad_to;
};

/* A built frame and where its layers start. */
struct pkt {
	uint8_t		buf[PKT_MAX];
	size_t		len;		/* whole frame, padding included */
	size_t		l3_off;		/* IP header */
	size_t		l4_off;		/* L4 header (after options / ext headers) */
	size_t		pl_off;		/* L4 payload */
	size_t		ip_len;		/* IP total length (v4) / 40 + payload (v6) */
	int		family;
	uint8_t		proto;		/* L4 protocol */
};

/* Parse "198.18.0.1" or "2001:db8::1" into a 16-byte array; aborts on a
 * bad literal (test code). Returns the family. */
int pkt_addr(const char *str, uint8_t out[16]);
/* Print an address into BUF (room for 46 bytes); returns BUF. */
const char *pkt_addr_str(int family, const uint8_t addr[16], char *buf);

/* Specs with sensible defaults (MACs, TTL 64, window, ACK flag for TCP).
 * The family comes from the address literals. */
struct pkt_spec pkt_spec_tcp(const char *src, uint16_t sport, const char *dst,
			     uint16_t dport);
struct pkt_spec pkt_spec_udp(const char *src, uint16_t sport, const char *dst,
			     uint16_t dport);
/* ICMP (v4) or ICMPv6, by the family of the addresses. */
struct pkt_spec pkt_spec_icmp(const char *src, const char *dst, uint8_t type,
			      uint8_t code);

/* Append TCP options to SPEC's option area (aborts when it is full). */
void pkt_opt_mss(struct pkt_spec *s, uint16_t mss);
void pkt_opt_nop(struct pkt_spec *s);
void pkt_opt_wscale(struct pkt_spec *s, uint8_t shift);
void pkt_opt_sack_perm(struct pkt_spec *s);
void pkt_opt_ts(struct pkt_spec *s, uint32_t val, uint32_t ecr);
void pkt_opt_raw(struct pkt_spec *s, const void *bytes, size_t len);

/* Build the frame described by SPEC into P. Checksums are correct; lengths
 * are consistent. Returns 0, or -1 if it does not fit PKT_MAX. */
int pkt_build(const struct pkt_spec *spec, struct pkt *p);

/* Recompute every checksum of a built packet in place (IPv4 header, L4)
 * after a test has edited its fields. */
void pkt_fix_csums(struct pkt *p);

/* ---- checksums ---------------------------------------------------------- */

/* One's-complement sum of LEN bytes added to SUM (not folded). */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len);
/* Fold and complement: the value to store in a checksum field, in host
 * order (store it with pkt_put16()). */
uint16_t pkt_csum_fold(uint32_t sum);
/* Checksum over a buffer (e.g. an IPv4 header with its checksum field
 * zeroed, or an ICMPv4 message), host order. Over a buffer that includes a
 * correct checksum it is 0. */
uint16_t pkt_csum(const void *data, size_t len);
/* Pseudo-header sum for v4 (12 bytes) or v6 (40 bytes). */
uint32_t pkt_pseudo_sum(int family, const uint8_t src[16], const uint8_t dst[16],
			uint8_t proto, uint32_t l4_len);
/* True when the stored checksum of DATA (covering the checksum field
 * itself) verifies. */
bool pkt_csum_ok(const void *data, size_t len);
/* IPv4 header (HLEN bytes) checksum verifies. */
bool pkt_ip4_csum_ok(const uint8_t *ip, size_t hlen);
/* TCP / UDP / ICMPv6 over a pseudo header (ICMPv4: none) verifies. A UDP
 * checksum of 0 over IPv4 means "none" and counts as valid. */
bool pkt_l4_csum_ok(int family, const uint8_t src[16], const uint8_t dst[16],
		    uint8_t proto, const uint8_t *l4, size_t l4_len);
/* Compute and store the L4 checksum (TCP, UDP, ICMP, ICMPv6). */
void pkt_l4_csum_set(int family, const uint8_t src[16], const uint8_t dst[16],
		     uint8_t proto, uint8_t *l4, size_t l4_len);

/* ---- parsing ------------------------------------------------------------ */

/* A strictly checked IP packet (no Ethernet). */
struct pkt_ip {
	int		family;
	uint8_t		src[16];
	uint8_t		dst[16];
	uint8_t		tos;		/* TOS / traffic class */
	uint32_t	flow_label;
	uint8_t		ttl;
	uint16_t	id;
	uint16_t	frag;		/* v4 flags+offset word (host order) */
	bool		is_fragment;	/* v4 MF/offset, or a v6 fragment header */
	int		n_ext;		/* v6 extension headers walked */
	uint8_t		proto;		/* L4 protocol (after ext headers) */
	size_t		hlen;		/* header incl. options / ext headers */
	size_t		tot_len;	/* IP total length */
	const uint8_t	*l4;		/* = packet + hlen */
	size_t		l4_len;		/* tot_len - hlen */
	/* filled for TCP/UDP when l4 is complete */
	uint16_t	sport, dport;
	uint8_t		tcp_flags;
	size_t		l4_hlen;	/* TCP doff*4 / 8 / ICMP 8 */
};

/* Parse and validate an IP packet of LEN bytes: version, header length,
 * total length == LEN when EXACT, else <= LEN; IPv4 header checksum; v6
 * extension headers (hop-by-hop, routing, dst options, fragment; at most
 * 8); for TCP/UDP/ICMP an L4 header that fits (TCP doff >= 5, UDP length
 * == l4_len). Returns NULL or the reason it is malformed. */
const char *pkt_parse_ip(const uint8_t *p, size_t len, bool exact, struct pkt_ip *ip);

/* An Ethernet frame: L2 fields and where L3 starts. */
struct pkt_l2 {
	uint8_t		dst[6];
	uint8_t		src[6];
	int		n_vlan;
	uint16_t	vlan_tpid[2];
	uint16_t	vlan_tci[2];
	uint16_t	proto;		/* EtherType after the tags */
	size_t		hlen;		/* 14, 18 or 22 */
};
const char *pkt_parse_l2(const uint8_t *f, size_t len, struct pkt_l2 *l2);

/* An encapsulated frame: Ethernet + outer IPv4/IPv6 (IP-in-IP) + inner IP
 * packet. Checks that the outer header is well formed (IPv4: IHL 5 and a
 * valid checksum, no fragment bits but DF; lengths cover exactly the rest
 * of the frame; protocol / next header 4 or 41 matching the inner
 * version). The inner packet is not validated: see pkt_parse_ip(). */
struct pkt_encap {
	struct pkt_l2	l2;
	struct pkt_ip	outer;		/* outer.l4 = inner packet */
	const uint8_t	*inner;
	size_t		inner_len;
	int		inner_family;	/* from the outer protocol */
};
const char *pkt_parse_encap(const uint8_t *f, size_t len, struct pkt_encap *e);

/* Locate the MSS option in TCP header TCP (HLEN = doff*4 bytes). Returns
 * the MSS, or -1 without one (or on malformed options before it). *OFF, if
 * not NULL, gets the offset of the 2-byte value from the TCP header. */
int pkt_tcp_mss(const uint8_t *tcp, size_t hlen, size_t *off);

/* ---- misc --------------------------------------------------------------- */

/* Print LEN bytes as "# 0000: xx xx ..." lines (TAP diagnostics), at most
 * MAX bytes (0 = all). */
void pkt_hexdump(const char *title, const void *data, size_t len, size_t max);

static inline uint16_t pkt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t pkt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void pkt_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

#endif
