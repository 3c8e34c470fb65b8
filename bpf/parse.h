/* SPDX-License-Identifier: GPL-2.0-only */
/* parse.h: bounds-checked parsing of Ethernet, one VLAN tag, IPv4/IPv6 and
 * the TCP/UDP/ICMP ports or types, into a struct packet of offsets. */
#ifndef XLB_BPF_PARSE_H
#define XLB_BPF_PARSE_H

#include "common.h"
#include "csum.h"
#include "stats.h"

/* Returned by steps that did not decide the packet's fate. */
#define CONTINUE		(-1)

/* Deepest transport header we look for: Ethernet, a tag, IPv6 and a chain
 * of extension headers. Also keeps offsets provably small for the verifier. */
#define MAX_L4_OFF		512
#define MAX_IP6_EXT_HDRS	4

struct packet {
	struct xlb_flow_key key;	/* client -> VIP; ports 0 for ICMP */
	__u32	hash;			/* 5-tuple hash: packet_hash() */
	__u16	l3_off;			/* IP header, from the frame start */
	__u16	l4_off;			/* transport header */
	__u16	ip_len;			/* IP header + payload, from the header */
	__u8	has_vlan;
	__u8	tos;			/* IPv4 TOS or IPv6 traffic class */
	__u8	df;			/* don't fragment (always for IPv6) */
	__u8	fragment;
	__u8	tcp_flags;		/* byte 13 of the TCP header */
	__u8	l4_ok;			/* the L4 header's ports were readable */
	__u8	hash_ok;		/* hash is computed */
};

/* Offsets live in struct packet; masks (never changing a valid offset) let
 * the verifier see they are small wherever they are turned into pointers. */
#define L3_OFF_MASK		31
#define L4_OFF_MASK		(MAX_L4_OFF * 2 - 1)

static __always_inline void *l3_hdr(const struct packet *p, void *data)
{
	return data + (p->l3_off & L3_OFF_MASK);
}

static __always_inline void *l4_hdr(const struct packet *p, void *data)
{
	return data + (p->l4_off & L4_OFF_MASK);
}

#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_ACK	0x10

static __always_inline bool is_syn(const struct packet *p)
{
	return p->key.proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

static __always_inline bool is_vip_addr(const struct packet *p)
{
	struct xlb_addr_key k = { .family = p->key.family };

	__builtin_memcpy(k.addr, p->key.dst, sizeof(k.addr));
	return bpf_map_lookup_elem(&xlb_vip_addrs, &k) != NULL;
}

static __always_inline int parse_eth(struct packet *p, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vh;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return verdict(XDP_DROP, XLB_R_DROP_ETH_TRUNC);
	proto = eth->h_proto;
	p->l3_off = sizeof(*eth);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end)
			return verdict(XDP_DROP, XLB_R_DROP_ETH_TRUNC);
		proto = vh->proto;
		p->has_vlan = 1;
		p->l3_off += sizeof(*vh);
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
			return verdict(XDP_PASS, XLB_R_PASS_VLAN_NESTED);
	}
	if (proto == bpf_htons(ETH_P_IP))
		p->key.family = XLB_FAMILY_V4;
	else if (proto == bpf_htons(ETH_P_IPV6))
		p->key.family = XLB_FAMILY_V6;
	else
		return verdict(XDP_PASS, XLB_R_PASS_NON_IP);
	return CONTINUE;
}

static __always_inline int parse_ipv4(struct packet *p, void *data, void *data_end)
{
	struct iphdr *iph = l3_hdr(p, data);
	__u32 hlen, tot;

	if ((void *)(iph + 1) > data_end)
		return verdict(XDP_DROP, XLB_R_DROP_IP_TRUNC);
	if (iph->version != 4)
		return verdict(XDP_DROP, XLB_R_DROP_IP_VERSION);
	hlen = iph->ihl * 4;
	if (hlen < sizeof(*iph) || (void *)iph + hlen > data_end)
		return verdict(XDP_DROP, XLB_R_DROP_IP_HDR_LEN);
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hlen || (void *)iph + tot > data_end)
		return verdict(XDP_DROP, XLB_R_DROP_IP_LEN);

	p->ip_len = tot;
	p->l4_off = p->l3_off + hlen;
	p->tos = iph->tos;
	p->df = !!(iph->frag_off & bpf_htons(IP_DF));
	p->fragment = !!(iph->frag_off & bpf_htons(IP_MF | IP_OFFSET));
	p->key.proto = iph->protocol;
	p->key.src[0] = iph->saddr;
	p->key.dst[0] = iph->daddr;
	return CONTINUE;
}

static __always_inline bool ip6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT;
}

static __always_inline int parse_ipv6(struct packet *p, void *data, void *data_end)
{
	struct ipv6hdr *ip6 = l3_hdr(p, data);
	__u32 off, end;
	__u8 nh;

	if ((void *)(ip6 + 1) > data_end)
		return verdict(XDP_DROP, XLB_R_DROP_IP_TRUNC);
	if (ip6->version != 6)
		return verdict(XDP_DROP, XLB_R_DROP_IP_VERSION);
	p->ip_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if ((void *)ip6 + p->ip_len > data_end)
		return verdict(XDP_DROP, XLB_R_DROP_IP_LEN);

	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	p->df = 1;
	__builtin_memcpy(p->key.src, &ip6->saddr, sizeof(p->key.src));
	__builtin_memcpy(p->key.dst, &ip6->daddr, sizeof(p->key.dst));

	off = p->l3_off + sizeof(*ip6);
	end = p->l3_off + p->ip_len;
	nh = ip6->nexthdr;
#pragma unroll
	for (int i = 0; i < MAX_IP6_EXT_HDRS; i++) {
		__u8 *ext;

		if (!ip6_is_ext(nh))
			break;
		if (off > MAX_L4_OFF)
			return verdict(XDP_DROP, XLB_R_DROP_IP6_EXT);
		ext = data + off;
		if ((void *)(ext + 8) > data_end || off + 8 > end)
			return verdict(XDP_DROP, XLB_R_DROP_IP6_EXT);
		if (nh == IPPROTO_FRAGMENT) {
			p->fragment = 1;
			off += 8;
		} else {
			off += (ext[1] + 1) * 8;
		}
		nh = ext[0];
	}
	if (ip6_is_ext(nh) || off > end || off > MAX_L4_OFF)
		return verdict(XDP_DROP, XLB_R_DROP_IP6_EXT);
	p->l4_off = off;
	p->key.proto = nh;
	return CONTINUE;
}

/* Ports (TCP/UDP) or nothing (ICMP): enough to look the VIP up. Whether the
 * rest of the L4 header is sane is checked once we know it is ours. */
static __always_inline void parse_l4_ports(struct packet *p, void *data, void *data_end)
{
	__be16 *ports = l4_hdr(p, data);
	__u8 *tcp;

	if (p->key.proto != IPPROTO_TCP && p->key.proto != IPPROTO_UDP)
		return;
	if ((void *)(ports + 2) > data_end || p->l4_off + 4 > p->l3_off + p->ip_len)
		return;
	p->key.sport = ports[0];
	p->key.dport = ports[1];
	p->l4_ok = 1;
	if (p->key.proto == IPPROTO_TCP) {
		tcp = (__u8 *)ports;
		if ((void *)(tcp + 14) <= data_end)
			p->tcp_flags = tcp[13];
	}
}

/* Ethernet to transport ports. Returns CONTINUE for a packet worth a VIP
 * lookup (TCP, UDP with readable ports) or an ICMP packet, else a verdict. */
static __always_inline int parse_packet(struct xdp_md *ctx, struct packet *p)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	int act;

	act = parse_eth(p, data, data_end);
	if (act != CONTINUE)
		return act;
	if (p->key.family == XLB_FAMILY_V4)
		act = parse_ipv4(p, data, data_end);
	else
		act = parse_ipv6(p, data, data_end);
	if (act != CONTINUE)
		return act;

	if (p->fragment)
		return is_vip_addr(p) ? verdict(XDP_DROP, XLB_R_DROP_FRAGMENT)
				      : verdict(XDP_PASS, XLB_R_PASS_FRAGMENT);
	switch (p->key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		parse_l4_ports(p, data, data_end);
		if (!p->l4_ok)
			return is_vip_addr(p) ? verdict(XDP_DROP, XLB_R_DROP_L4_TRUNC)
					      : verdict(XDP_PASS, XLB_R_PASS_NOT_VIP);
		return CONTINUE;
	case IPPROTO_ICMP:
		if (p->key.family == XLB_FAMILY_V4)
			return CONTINUE;
		break;
	case IPPROTO_ICMPV6:
		if (p->key.family == XLB_FAMILY_V6)
			return CONTINUE;
		break;
	}
	/* anything else, ICMP of the other family too */
	return is_vip_addr(p) ? verdict(XDP_DROP, XLB_R_DROP_VIP_PROTO)
			      : verdict(XDP_PASS, XLB_R_PASS_OTHER_PROTO);
}

/* An IPv4 packet whose header checksum is wrong (or unreadable)? */
static __always_inline bool ipv4_csum_bad(const struct packet *p, void *data, void *data_end)
{
	struct iphdr *iph = l3_hdr(p, data);

	if (p->key.family != XLB_FAMILY_V4)
		return false;
	return (void *)(iph + 1) > data_end || !ipv4_hdr_csum_ok(iph, data_end);
}

/* Full L4 checks for a packet bound for a VIP. */
static __always_inline int validate_vip_packet(struct packet *p, void *data, void *data_end)
{
	__u32 l4_len = p->l3_off + p->ip_len - p->l4_off;

	if (ipv4_csum_bad(p, data, data_end))
		return verdict(XDP_DROP, XLB_R_DROP_IP_CSUM);
	if (p->key.proto == IPPROTO_TCP) {
		__u8 *th = l4_hdr(p, data);
		__u32 doff;

		if ((void *)(th + sizeof(struct tcphdr)) > data_end ||
		    l4_len < sizeof(struct tcphdr))
			return verdict(XDP_DROP, XLB_R_DROP_L4_TRUNC);
		doff = (th[12] >> 4) * 4;
		if (doff < sizeof(struct tcphdr) || doff > l4_len)
			return verdict(XDP_DROP, XLB_R_DROP_TCP_DOFF);
	} else {
		struct udphdr *uh = l4_hdr(p, data);
		__u32 ulen;

		if ((void *)(uh + 1) > data_end || l4_len < sizeof(*uh))
			return verdict(XDP_DROP, XLB_R_DROP_L4_TRUNC);
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || ulen > l4_len)
			return verdict(XDP_DROP, XLB_R_DROP_UDP_LEN);
	}
	return CONTINUE;
}

#endif
