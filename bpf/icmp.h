/* SPDX-License-Identifier: GPL-2.0-only */
/* icmp.h: path MTU both ways: answer oversize DF packets with
 * frag-needed / packet-too-big, and map ICMP errors about VIP flows back to
 * the flow they concern. */
#ifndef XLB_BPF_ICMP_H
#define XLB_BPF_ICMP_H

#include "common.h"
#include "csum.h"
#include "encap.h"
#include "parse.h"
#include "ratelimit.h"
#include "stats.h"

/* How much of the offending packet the answer quotes: IPv4, the longest
 * header plus 8 bytes (RFC 792 asks for 8, RFC 1812 allows more); IPv6 a
 * header, a few extension bytes and the TCP header. Multiples of 4 for
 * bpf_csum_diff(). */
#define ICMP4_QUOTE	68
#define ICMP6_QUOTE	128
#define ICMP_TTL	64

#define ICMP_DEST_UNREACH_	3
#define ICMP_FRAG_NEEDED_	4
#define ICMP_TIME_EXCEEDED_	11
#define ICMP_PARAMETERPROB_	12
#define ICMPV6_PKT_TOOBIG_	2

static __always_inline bool icmp4_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH_ || type == ICMP_TIME_EXCEEDED_ ||
	       type == ICMP_PARAMETERPROB_;
}

static __always_inline bool icmp6_is_error(__u8 type)
{
	/* destination unreachable, packet too big, time exceeded, parameter problem */
	return type >= 1 && type <= 4;
}

/* Shrink the frame to L3_OFF + KEEP bytes, then open HDRS bytes in front
 * of the L3 header for the answer's own headers. */
static __always_inline int reshape_for_answer(struct xdp_md *ctx, const struct packet *p,
					      __u32 keep, __u32 hdrs)
{
	long frame = ctx->data_end - ctx->data;

	if (bpf_xdp_adjust_tail(ctx, (int)(p->l3_off + keep - frame)))
		return -1;
	return bpf_xdp_adjust_head(ctx, -(int)hdrs);
}

static __always_inline int send_frag_needed_v4(struct xdp_md *ctx, const struct packet *p,
					       __u16 mtu)
{
	const __u32 hdrs = sizeof(struct iphdr) + sizeof(struct icmphdr);
	void *data, *data_end;
	struct icmphdr *icmp;
	struct l2_saved l2;
	struct iphdr *ip;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (l2_save(p, data, data_end, &l2) || reshape_for_answer(ctx, p, ICMP4_QUOTE, hdrs))
		return verdict(XDP_DROP, XLB_R_DROP_ADJUST);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip = l2_write(p, data, data_end, l2.old_src, l2.old_dst, &l2, bpf_htons(ETH_P_IP));
	if (!ip || (void *)ip + hdrs + ICMP4_QUOTE > data_end)
		return verdict(XDP_DROP, XLB_R_DROP_ADJUST);

	ip->version = 4;
	ip->ihl = sizeof(*ip) / 4;
	ip->tos = 0;
	ip->tot_len = bpf_htons(hdrs + ICMP4_QUOTE);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = ICMP_TTL;
	ip->protocol = IPPROTO_ICMP;
	ip->check = 0;
	ip->saddr = p->key.dst[0];
	ip->daddr = p->key.src[0];
	ip->check = ipv4_hdr_csum(ip);

	icmp = (void *)(ip + 1);
	icmp->type = ICMP_DEST_UNREACH_;
	icmp->code = ICMP_FRAG_NEEDED_;
	icmp->checksum = 0;
	icmp->un.frag.__unused = 0;
	icmp->un.frag.mtu = bpf_htons(mtu);
	icmp->checksum = csum_fold(bpf_csum_diff(NULL, 0, (void *)icmp,
						 sizeof(*icmp) + ICMP4_QUOTE, 0));
	return verdict(XDP_TX, XLB_R_TX_ICMP_TOO_BIG);
}

static __always_inline int send_pkt_too_big_v6(struct xdp_md *ctx, const struct packet *p,
					       __u32 mtu)
{
	const __u32 hdrs = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr);
	const __u32 icmp_len = sizeof(struct icmp6hdr) + ICMP6_QUOTE;
	void *data, *data_end;
	struct icmp6hdr *icmp;
	struct ipv6hdr *ip6;
	struct l2_saved l2;
	__u64 sum;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (l2_save(p, data, data_end, &l2) || reshape_for_answer(ctx, p, ICMP6_QUOTE, hdrs))
		return verdict(XDP_DROP, XLB_R_DROP_ADJUST);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip6 = l2_write(p, data, data_end, l2.old_src, l2.old_dst, &l2, bpf_htons(ETH_P_IPV6));
	if (!ip6 || (void *)ip6 + hdrs + ICMP6_QUOTE > data_end)
		return verdict(XDP_DROP, XLB_R_DROP_ADJUST);

	*(__be32 *)ip6 = bpf_htonl(6u << 28);
	ip6->payload_len = bpf_htons(icmp_len);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = ICMP_TTL;
	__builtin_memcpy(&ip6->saddr, p->key.dst, 16);
	__builtin_memcpy(&ip6->daddr, p->key.src, 16);

	icmp = (void *)(ip6 + 1);
	icmp->icmp6_type = ICMPV6_PKT_TOOBIG_;
	icmp->icmp6_code = 0;
	icmp->icmp6_cksum = 0;
	icmp->icmp6_mtu = bpf_htonl(mtu);
	/* pseudo header: addresses, upper-layer length, next header */
	sum = bpf_csum_diff(NULL, 0, (void *)&ip6->saddr, 32, 0);
	sum += bpf_htonl(icmp_len);
	sum += bpf_htonl(IPPROTO_ICMPV6);
	sum = csum_fold(sum) ^ 0xffff;
	icmp->icmp6_cksum = csum_fold(bpf_csum_diff(NULL, 0, (void *)icmp, icmp_len, sum));
	return verdict(XDP_TX, XLB_R_TX_ICMP_TOO_BIG);
}

/* The packet would not fit the path to the backend once encapsulated. */
static __always_inline int answer_too_big(struct xdp_md *ctx, const struct packet *p,
					  const struct xlb_config *cfg, __u32 olen)
{
	__u32 mtu = config_mtu(cfg) - olen;

	if (!p->df || p->ip_len < (p->key.family == XLB_FAMILY_V4 ? ICMP4_QUOTE : ICMP6_QUOTE))
		return verdict(XDP_DROP, XLB_R_DROP_TOO_BIG);
	if (!icmp_budget_allows(cfg))
		return verdict(XDP_DROP, XLB_R_DROP_ICMP_RATE);
	if (p->key.family == XLB_FAMILY_V4)
		return send_frag_needed_v4(ctx, p, mtu);
	return send_pkt_too_big_v6(ctx, p, mtu);
}

/* Read the packet quoted by an ICMP error and turn P's key into the
 * client -> VIP tuple of the flow it is about. CONTINUE if it is about a
 * possible VIP flow, else a verdict. */
static __always_inline int icmp_error_flow(struct packet *p, void *data, void *data_end)
{
	__u8 *icmp = l4_hdr(p, data);
	__be16 *ports;
	__u8 qproto;

	if ((void *)(icmp + 8) > data_end)
		goto unusable;
	if (p->key.family == XLB_FAMILY_V4) {
		struct iphdr *q = (void *)(icmp + 8);
		__u32 qhl;

		if (!icmp4_is_error(icmp[0]))
			return verdict(XDP_PASS, XLB_R_PASS_ICMP);
		/* a non-first fragment quotes payload where the ports would be */
		if ((void *)(q + 1) > data_end || q->version != 4 || q->ihl < 5 ||
		    (q->frag_off & bpf_htons(IP_OFFSET)))
			goto unusable;
		qhl = q->ihl * 4;
		ports = (void *)q + (qhl & 60);
		if ((void *)(ports + 2) > data_end || q->saddr != p->key.dst[0])
			goto unusable;
		if ((void *)(ports + 2) > data + p->l3_off + p->ip_len)
			goto unusable;
		qproto = q->protocol;
		p->key.src[0] = q->daddr;
	} else {
		struct ipv6hdr *q = (void *)(icmp + 8);

		if (!icmp6_is_error(icmp[0]))
			return verdict(XDP_PASS, XLB_R_PASS_ICMP);
		ports = (void *)(q + 1);
		if ((void *)(ports + 2) > data_end || q->version != 6 ||
		    !addr_equal(q->saddr.in6_u.u6_addr32, p->key.dst))
			goto unusable;
		if ((void *)(ports + 2) > data + p->l3_off + p->ip_len)
			goto unusable;
		qproto = q->nexthdr;
		__builtin_memcpy(p->key.src, &q->daddr, 16);
	}
	if (qproto != IPPROTO_TCP && qproto != IPPROTO_UDP)
		goto unusable;
	p->key.proto = qproto;
	p->key.sport = ports[1];
	p->key.dport = ports[0];
	return CONTINUE;

unusable:
	return is_vip_addr(p) ? verdict(XDP_DROP, XLB_R_DROP_ICMP_BAD)
			      : verdict(XDP_PASS, XLB_R_PASS_ICMP);
}

#endif
