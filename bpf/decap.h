/* SPDX-License-Identifier: GPL-2.0-only */
/* decap.h: the backend's maps, and undoing the load balancer's IP-in-IP
 * encapsulation (docs/datapath.md, step 11) for packets to a local VIP. */
#ifndef XLB_BPF_DECAP_H
#define XLB_BPF_DECAP_H

#include "common.h"
#include "csum.h"

/* The VIPs this backend serves (user space writes, both programs read). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_DECAP_MAX_VIPS);
	__type(key, struct xlb_addr_key);
	__type(value, struct xlb_decap_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_DECAP_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_stats SEC(".maps");

static __always_inline void decap_count(enum xlb_decap_counter c)
{
	__u32 key = c;
	__u64 *n = bpf_map_lookup_elem(&xlb_decap_stats, &key);

	if (n)
		*n += 1;
}

/* Count C and return ACTION: `return decap_verdict(XDP_DROP, XLB_DECAP_...)`. */
static __always_inline int decap_verdict(int action, enum xlb_decap_counter c)
{
	decap_count(c);
	return action;
}

static __always_inline struct xlb_decap_vip *decap_vip(__u8 family, const void *addr)
{
	struct xlb_addr_key k = { .family = family };

	if (family == XLB_FAMILY_V4)
		__builtin_memcpy(k.addr, addr, 4);
	else
		__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&xlb_decap_vips, &k);
}

/* Returned by steps that did not decide the packet's fate. */
#define DECAP_CONTINUE		(-1)

#define INET_ECN_MASK		3
#define INET_ECN_NOT_ECT	0
#define INET_ECN_CE		3

/* What the outer header says, gathered before we know the packet is ours.
 * Offsets count from the frame start. */
struct encap {
	__u16	l3_off;			/* outer IP header: 14, or 18 with a tag */
	__u16	outer_len;		/* outer IP header, the bytes to strip */
	__u16	payload_len;		/* outer payload: inner packet (+ slack) */
	__u8	has_vlan;
	__u8	outer_family;
	__u8	inner_family;		/* from the outer protocol / next header */
	__u8	outer_ecn;
	__u8	fragment;		/* outer IPv4 MF set (first fragment) */
	__u8	outer_bad;		/* outer lengths inconsistent */
};

/* Keeps offsets provably small where they become packet pointers. */
#define DECAP_L3_MASK		31
#define DECAP_INNER_MASK	127

static __always_inline int inner_family_of(__u8 proto)
{
	if (proto == IPPROTO_IPIP)
		return XLB_FAMILY_V4;
	if (proto == IPPROTO_IPV6)
		return XLB_FAMILY_V6;
	return 0;
}

static __always_inline __u32 ip_min_hdr(__u8 family)
{
	return family == XLB_FAMILY_V4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

/* Ethernet and at most one 802.1Q/802.1ad tag. */
static __always_inline int decap_parse_l2(void *data, void *data_end, struct encap *e,
					  __be16 *proto)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vh;

	if ((void *)(eth + 1) > data_end)
		return decap_verdict(XDP_PASS, XLB_DECAP_PASS_OTHER);
	*proto = eth->h_proto;
	e->l3_off = sizeof(*eth);
	if (*proto == bpf_htons(ETH_P_8021Q) || *proto == bpf_htons(ETH_P_8021AD)) {
		vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end)
			return decap_verdict(XDP_PASS, XLB_DECAP_PASS_OTHER);
		*proto = vh->proto;
		e->has_vlan = 1;
		e->l3_off += sizeof(*vh);
	}
	return DECAP_CONTINUE;
}

/* Outer IPv4, protocol 4 or 41. Anything the kernel should judge (not
 * IP-in-IP, too short to be IPv4 at all) passes; an IP-in-IP header whose
 * length hides where the inner packet starts is dropped: nobody, the kernel
 * included, can use it. Lengths and checksum are checked later, only if
 * the inner packet turns out to be ours. */
static __always_inline int decap_parse_outer4(void *data, void *data_end, struct encap *e)
{
	struct iphdr *iph = data + (e->l3_off & DECAP_L3_MASK);
	__u32 hlen, tot;

	if ((void *)(iph + 1) > data_end || iph->version != 4)
		return decap_verdict(XDP_PASS, XLB_DECAP_PASS_OTHER);
	e->inner_family = inner_family_of(iph->protocol);
	if (!e->inner_family)
		return decap_verdict(XDP_PASS, XLB_DECAP_PASS_OTHER);
	/* a later fragment carries no inner header: whose it is can't be told */
	if (iph->frag_off & bpf_htons(IP_OFFSET))
		return decap_verdict(XDP_PASS, XLB_DECAP_PASS_OTHER);
	hlen = iph->ihl * 4;
	if (hlen < sizeof(*iph))
		return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
	tot = bpf_ntohs(iph->tot_len);
	e->outer_family = XLB_FAMILY_V4;
	e->outer_len = hlen;
	e->payload_len = tot > hlen ? tot - hlen : 0;
	e->outer_ecn = iph->tos & INET_ECN_MASK;
	e->fragment = !!(iph->frag_off & bpf_htons(IP_MF));
	e->outer_bad = tot < hlen || (void *)iph + tot > data_end;
	return DECAP_CONTINUE;
}

/* Outer IPv6 with next header 4 or 41 directly (no extension headers: the
 * load balancer adds none). */
static __always_inline int decap_parse_outer6(void *data, void *data_end, struct encap *e)
{
	struct ipv6hdr *ip6 = data + (e->l3_off & DECAP_L3_MASK);
	__u32 plen;

	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return decap_verdict(XDP_PASS, XLB_DECAP_PASS_OTHER);
	e->inner_family = inner_family_of(ip6->nexthdr);
	if (!e->inner_family)
		return decap_verdict(XDP_PASS, XLB_DECAP_PASS_OTHER);
	plen = bpf_ntohs(ip6->payload_len);
	e->outer_family = XLB_FAMILY_V6;
	e->outer_len = sizeof(*ip6);
	e->payload_len = plen;
	e->outer_ecn = (bpf_ntohl(*(__be32 *)ip6) >> 20) & INET_ECN_MASK;
	e->outer_bad = (void *)(ip6 + 1) + plen > data_end;
	return DECAP_CONTINUE;
}

/* The outer header of a packet that is ours: lengths consistent with the
 * frame, IPv4 checksum right, no fragment. */
static __always_inline int decap_check_outer(void *data, void *data_end, const struct encap *e)
{
	struct iphdr *iph = data + (e->l3_off & DECAP_L3_MASK);

	if (e->outer_bad || e->payload_len < ip_min_hdr(e->inner_family))
		return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
	if (e->outer_family == XLB_FAMILY_V6)
		return DECAP_CONTINUE;
	if ((void *)(iph + 1) > data_end || !ipv4_hdr_csum_ok(iph, data_end))
		return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
	if (e->fragment)
		return decap_verdict(XDP_DROP, XLB_DECAP_DROP_FRAGMENT);
	return DECAP_CONTINUE;
}

/* RFC 6040 as the kernel's tunnels do it: a CE mark set on the way from the
 * load balancer is copied into an ECN-capable inner packet; CE on a packet
 * that never was ECN-capable means something rewrote it: drop. */
static __always_inline int decap_ecn(void *inner, void *data_end, const struct encap *e)
{
	if (e->outer_ecn != INET_ECN_CE)
		return DECAP_CONTINUE;
	if (e->inner_family == XLB_FAMILY_V4) {
		struct iphdr *iph = inner;
		__be16 old;

		if ((void *)(iph + 1) > data_end)
			return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
		if ((iph->tos & INET_ECN_MASK) == INET_ECN_NOT_ECT)
			return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
		if ((iph->tos & INET_ECN_MASK) == INET_ECN_CE)
			return DECAP_CONTINUE;
		old = *(__be16 *)iph;
		iph->tos |= INET_ECN_CE;
		csum_replace2(&iph->check, old, *(__be16 *)iph);
	} else {
		__u8 *b = inner;
		__u8 ecn;

		if ((void *)(b + sizeof(struct ipv6hdr)) > data_end)
			return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
		/* traffic class = low nibble of byte 0, high nibble of byte 1 */
		ecn = (b[1] >> 4) & INET_ECN_MASK;
		if (ecn == INET_ECN_NOT_ECT)
			return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
		if (ecn == INET_ECN_CE)
			return DECAP_CONTINUE;
		b[1] |= INET_ECN_CE << 4;
	}
	decap_count(XLB_DECAP_ECN_CE);
	return DECAP_CONTINUE;
}

/* The inner header: the version the outer protocol announced, a length
 * that fits the outer payload. */
static __always_inline int decap_check_inner(void *inner, void *data_end, const struct encap *e)
{
	__u32 len;

	if (e->inner_family == XLB_FAMILY_V4) {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
			return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
		len = bpf_ntohs(iph->tot_len);
		if (len < iph->ihl * 4u)
			return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
	} else {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
		len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	}
	if (len > e->payload_len)
		return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
	return DECAP_CONTINUE;
}

/* Cut the outer header out: the Ethernet header (and tag) moves forward
 * over it, its EtherType now naming the inner family. */
static __always_inline int decap_strip(struct xdp_md *ctx, const struct encap *e)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr eth, *neth;
	struct vlan_hdr vh, *nvh;
	__be16 proto = e->inner_family == XLB_FAMILY_V4 ? bpf_htons(ETH_P_IP)
						       : bpf_htons(ETH_P_IPV6);

	/* an IP header follows, so these 18 bytes are in the frame */
	if (data + sizeof(eth) + sizeof(vh) > data_end)
		return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
	__builtin_memcpy(&eth, data, sizeof(eth));
	__builtin_memcpy(&vh, data + sizeof(eth), sizeof(vh));
	if (bpf_xdp_adjust_head(ctx, e->outer_len))
		return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	neth = data;
	nvh = (void *)(neth + 1);
	if ((void *)(nvh + 1) > data_end)
		return decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
	if (e->has_vlan) {
		vh.proto = proto;
		*nvh = vh;
	} else {
		eth.h_proto = proto;
	}
	*neth = eth;
	return decap_verdict(XDP_PASS, XLB_DECAP_DECAPSULATED);
}

#endif
