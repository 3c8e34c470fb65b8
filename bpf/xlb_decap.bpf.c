// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlb_decap.bpf.c: the backend half of xlb, two programs sharing two maps.
 *
 *   xdp  xlb_decap    undo the load balancer's IP-in-IP for packets to a local
 *                     VIP, so the kernel (which here has no ipip driver)
 *                     delivers the inner packet to the VIP on lo.
 *   tc   xlb_synack   egress: lower the MSS a local VIP offers in its SYN-ACKs,
 *                     so the client's segments still fit once encapsulated.
 *
 * Loaded and attached by user/xlb-backend; maps pinned by name.
 */
#include <linux/pkt_cls.h>

#include "common.h"
#include "csum.h"
#include "decap.h"
#include "mss.h"

char LICENSE[] SEC("license") = "GPL";

/* The inner header's destination decides: a local VIP, or someone else's. */
static __always_inline struct xlb_decap_vip *inner_vip(void *inner, void *data_end,
						       const struct encap *e, int *act)
{
	*act = DECAP_CONTINUE;
	if (e->inner_family == XLB_FAMILY_V4) {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) <= data_end)
			return decap_vip(XLB_FAMILY_V4, &iph->daddr);
	} else {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) <= data_end)
			return decap_vip(XLB_FAMILY_V6, &ip6->daddr);
	}
	/* IP-in-IP too short to hold an inner header: useless to anyone */
	*act = decap_verdict(XDP_DROP, XLB_DECAP_DROP_MALFORMED);
	return NULL;
}

SEC("xdp")
int xlb_decap(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct xlb_decap_vip *vip;
	struct encap e = {};
	__be16 proto;
	void *inner;
	int act;

	act = decap_parse_l2(data, data_end, &e, &proto);
	if (act != DECAP_CONTINUE)
		return act;
	if (proto == bpf_htons(ETH_P_IP))
		act = decap_parse_outer4(data, data_end, &e);
	else if (proto == bpf_htons(ETH_P_IPV6))
		act = decap_parse_outer6(data, data_end, &e);
	else
		act = decap_verdict(XDP_PASS, XLB_DECAP_PASS_OTHER);
	if (act != DECAP_CONTINUE)
		return act;

	inner = data + ((e.l3_off + e.outer_len) & DECAP_INNER_MASK);
	vip = inner_vip(inner, data_end, &e, &act);
	if (act != DECAP_CONTINUE)
		return act;
	if (!vip)
		return decap_verdict(XDP_PASS, XLB_DECAP_NOT_LOCAL_VIP);

	act = decap_check_outer(data, data_end, &e);
	if (act != DECAP_CONTINUE)
		return act;
	act = decap_check_inner(inner, data_end, &e);
	if (act != DECAP_CONTINUE)
		return act;
	act = decap_ecn(inner, data_end, &e);
	if (act != DECAP_CONTINUE)
		return act;
	return decap_strip(ctx, &e);
}

/* ---- SYN-ACK MSS clamp (tc egress) ---------------------------------------- */

#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_ACK	0x10

/* A TCP SYN-ACK: where its TCP header starts and who sends it. Headers a
 * local stack builds are in the linear part, so direct access sees them;
 * anything else is not a SYN-ACK we could have to touch. */
static __always_inline bool synack_parse(void *data, void *data_end, __u32 *tcp_off,
					 struct xlb_addr_key *src)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vh;
	__u32 off = sizeof(*eth);
	__be16 proto;
	__u8 *th;

	if ((void *)(eth + 1) > data_end)
		return false;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end)
			return false;
		proto = vh->proto;
		off += sizeof(*vh);
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + off;

		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5 ||
		    iph->protocol != IPPROTO_TCP ||
		    (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return false;
		src->family = XLB_FAMILY_V4;
		src->addr[0] = iph->saddr;
		off += iph->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6 ||
		    ip6->nexthdr != IPPROTO_TCP)
			return false;
		src->family = XLB_FAMILY_V6;
		__builtin_memcpy(src->addr, &ip6->saddr, sizeof(src->addr));
		off += sizeof(*ip6);
	} else {
		return false;
	}
	th = data + (off & 127);
	if ((void *)(th + sizeof(struct tcphdr)) > data_end)
		return false;
	if ((th[13] & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != (TCP_FLAG_SYN | TCP_FLAG_ACK))
		return false;
	*tcp_off = off;
	return true;
}

/* Lower the MSS option of the SYN-ACK whose TCP header is at TCP_OFF to
 * CLAMP. The helpers write through to non-linear or cloned data, and
 * bpf_l4_csum_replace leaves a CHECKSUM_PARTIAL packet's pseudo-header sum
 * alone (the device sums the payload, new MSS included) while fixing a
 * full checksum. A global function: the verifier walks the options once.
 * Returns enum mss_result. */
__noinline int xlb_synack_clamp(struct __sk_buff *skb, __u32 tcp_off, __u32 clamp)
{
	struct tcp_opts o = {};
	__u32 field, opt_off = (tcp_off & 127) + sizeof(struct tcphdr);
	__be16 old, new;
	__u8 doff;
	int off;

	if (bpf_skb_load_bytes(skb, (tcp_off & 127) + 12, &doff, 1))
		return MSS_NO_OPTION;
	o.len = (doff >> 4) * 4;
	if (o.len <= sizeof(struct tcphdr))
		return MSS_NO_OPTION;
	o.len -= sizeof(struct tcphdr);
	if (o.len > TCP_MAX_OPTS || bpf_skb_load_bytes(skb, opt_off, o.b, o.len))
		return MSS_NO_OPTION;
	off = tcp_opts_find_mss(&o);
	if (off < 0)
		return MSS_NO_OPTION;
	old = *(__be16 *)&o.b[off & 63];
	if (bpf_ntohs(old) <= clamp)
		return MSS_ALREADY_SMALL;
	new = bpf_htons(clamp);
	field = opt_off + (off & 63);
	if (bpf_skb_store_bytes(skb, field, &new, sizeof(new), 0))
		return MSS_NO_OPTION;
	/* the sum is over 16-bit words from the TCP header's start: a field at
	 * an odd offset straddles two of them, as if its bytes were swapped */
	if (off & 1) {
		old = (__be16)(old >> 8 | old << 8);
		new = (__be16)(new >> 8 | new << 8);
	}
	bpf_l4_csum_replace(skb, (tcp_off & 127) + offsetof(struct tcphdr, check),
			    old, new, sizeof(new));
	return MSS_CLAMPED;
}

/* Verdict TC_ACT_UNSPEC throughout: "not classified", so any filter after
 * this one on the egress hook still runs; the packet leaves either way. */
SEC("tc")
int xlb_synack(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct xlb_addr_key src = {};
	struct xlb_decap_vip *vip;
	__u32 tcp_off;

	if (!synack_parse(data, data_end, &tcp_off, &src))
		return TC_ACT_UNSPEC;
	vip = bpf_map_lookup_elem(&xlb_decap_vips, &src);
	if (!vip || !vip->mss)
		return TC_ACT_UNSPEC;
	if (xlb_synack_clamp(skb, tcp_off, vip->mss) == MSS_CLAMPED)
		decap_count(XLB_DECAP_SYNACK_CLAMPED);
	else
		decap_count(XLB_DECAP_SYNACK_UNCHANGED);
	return TC_ACT_UNSPEC;
}
