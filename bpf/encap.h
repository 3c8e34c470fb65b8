/* SPDX-License-Identifier: GPL-2.0-only */
/* encap.h: wrap the packet in an outer IPv4/IPv6 header to its backend and
 * address the frame to the gateway (direct server return, IP-in-IP). */
#ifndef XLB_BPF_ENCAP_H
#define XLB_BPF_ENCAP_H

#include "common.h"
#include "csum.h"
#include "hash.h"
#include "parse.h"
#include "stats.h"

#define DEFAULT_TTL	64

static __always_inline __u32 outer_hdr_len(__u8 backend_family)
{
	return backend_family == XLB_FAMILY_V4 ? sizeof(struct iphdr)
					       : sizeof(struct ipv6hdr);
}

static __always_inline __u16 config_mtu(const struct xlb_config *cfg)
{
	return cfg->mtu ?: XLB_MTU_DEFAULT;
}

/* Network-order mask of the first BITS bits of a 32-bit word. */
static __always_inline __be32 prefix_mask32(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl(~0u << (32 - bits));
}

/* The outer source: the configured address, or with SRC_FROM_PREFIX the
 * prefix with host bits from the flow hash. False if none is configured. */
static __always_inline bool outer_source(const struct xlb_config *cfg, __u8 family,
					 __u32 hash, __be32 out[4])
{
	bool from_prefix = cfg->flags & XLB_CFG_F_SRC_FROM_PREFIX;
	__be32 mask;

	if (family == XLB_FAMILY_V4) {
		if (from_prefix && cfg->src_prefix_v4) {
			mask = prefix_mask32(cfg->src_prefix_v4_len);
			out[0] = (cfg->src_prefix_v4 & mask) | (bpf_htonl(hash) & ~mask);
		} else {
			out[0] = cfg->src_v4;
		}
		return out[0] != 0;
	}
	if (from_prefix && !addr_is_zero(cfg->src_prefix_v6)) {
		/* a different mix of the hash per word, so /64 .. /127 all vary */
#pragma unroll
		for (int i = 0; i < 4; i++) {
			mask = prefix_mask32(cfg->src_prefix_v6_len - 32 * i);
			out[i] = (cfg->src_prefix_v6[i] & mask) |
				 (bpf_htonl(rol32(hash, 8 * i) ^ (0x9e3779b9u * i)) & ~mask);
		}
	} else {
		__builtin_memcpy(out, cfg->src_v6, 16);
	}
	return !addr_is_zero(out);
}

/* What the new Ethernet header needs from the old one. */
struct l2_saved {
	__u8	old_dst[ETH_ALEN];
	__u8	old_src[ETH_ALEN];
	__be16	tpid;
	__be16	tci;
};

static __always_inline int l2_save(const struct packet *p, void *data, void *data_end,
				   struct l2_saved *l2)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vh = (void *)(eth + 1);

	if ((void *)(vh + 1) > data_end)
		return -1;
	__builtin_memcpy(l2->old_dst, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(l2->old_src, eth->h_source, ETH_ALEN);
	l2->tpid = eth->h_proto;
	l2->tci = vh->tci;
	return 0;
}

/* Write DST/SRC and, if the frame had one, the same VLAN tag; returns the
 * start of the L3 header or NULL if the frame is too short. */
static __always_inline void *l2_write(const struct packet *p, void *data, void *data_end,
				      const __u8 *dst, const __u8 *src,
				      const struct l2_saved *l2, __be16 l3_proto)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vh = (void *)(eth + 1);

	if ((void *)(vh + 1) > data_end)
		return NULL;
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
	if (!p->has_vlan) {
		eth->h_proto = l3_proto;
		return vh;
	}
	eth->h_proto = l2->tpid;
	vh->tci = l2->tci;
	vh->proto = l3_proto;
	return vh + 1;
}

/* Cut the frame to exactly the IP packet: Ethernet padding and any other
 * trailer must not travel inside the tunnel. */
static __always_inline int trim_to_ip_len(struct xdp_md *ctx, const struct packet *p)
{
	long frame = ctx->data_end - ctx->data;
	long want = p->l3_off + p->ip_len;

	if (frame > want && bpf_xdp_adjust_tail(ctx, (int)(want - frame)))
		return -1;
	return 0;
}

static __always_inline void fill_outer_v4(struct iphdr *o, const struct packet *p,
					  const struct xlb_config *cfg,
					  const struct xlb_backend *be, __be32 src)
{
	o->version = 4;
	o->ihl = sizeof(*o) / 4;
	o->tos = p->tos;
	o->tot_len = bpf_htons(p->ip_len + sizeof(*o));
	o->id = 0;
	o->frag_off = p->df ? bpf_htons(IP_DF) : 0;
	o->ttl = cfg->ttl ?: DEFAULT_TTL;
	o->protocol = p->key.family == XLB_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	o->check = 0;
	o->saddr = src;
	o->daddr = be->addr[0];
	o->check = ipv4_hdr_csum(o);
}

static __always_inline void fill_outer_v6(struct ipv6hdr *o, const struct packet *p,
					  const struct xlb_config *cfg,
					  const struct xlb_backend *be, const __be32 src[4],
					  __u32 hash)
{
	/* version 6, traffic class, and the flow hash as flow label, so ECMP
	 * and RSS on the way to the backend keep a flow together */
	*(__be32 *)o = bpf_htonl((6u << 28) | ((__u32)p->tos << 20) | (hash & 0xfffff));
	o->payload_len = bpf_htons(p->ip_len);
	o->nexthdr = p->key.family == XLB_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	o->hop_limit = cfg->ttl ?: DEFAULT_TTL;
	__builtin_memcpy(&o->saddr, src, 16);
	__builtin_memcpy(&o->daddr, be->addr, 16);
}

/* Encapsulate to BE and send back out toward the gateway. */
static __always_inline int encapsulate(struct xdp_md *ctx, struct packet *p,
				       const struct xlb_config *cfg,
				       const struct xlb_backend *be)
{
	__u32 olen = outer_hdr_len(be->family);
	void *data_end, *data, *outer;
	struct l2_saved l2;
	__be32 src[4] = {};
	__u32 hash = 0;

	/* the hash costs only where it shows: IPv6 flow label, source prefix */
	if (be->family == XLB_FAMILY_V6 || (cfg->flags & XLB_CFG_F_SRC_FROM_PREFIX))
		hash = packet_hash(p, cfg->hash_seed);
	if (mac_is_zero(cfg->gw_mac) || !outer_source(cfg, be->family, hash, src))
		return verdict(XDP_DROP, XLB_R_DROP_NO_CONFIG);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (l2_save(p, data, data_end, &l2) || trim_to_ip_len(ctx, p) ||
	    bpf_xdp_adjust_head(ctx, -(int)olen))
		return verdict(XDP_DROP, XLB_R_DROP_ADJUST);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	outer = l2_write(p, data, data_end, cfg->gw_mac, l2.old_dst, &l2,
			 be->family == XLB_FAMILY_V4 ? bpf_htons(ETH_P_IP)
						     : bpf_htons(ETH_P_IPV6));
	if (!outer)
		return verdict(XDP_DROP, XLB_R_DROP_ADJUST);
	if (be->family == XLB_FAMILY_V4) {
		if (outer + sizeof(struct iphdr) > data_end)
			return verdict(XDP_DROP, XLB_R_DROP_ADJUST);
		fill_outer_v4(outer, p, cfg, be, src[0]);
	} else {
		if (outer + sizeof(struct ipv6hdr) > data_end)
			return verdict(XDP_DROP, XLB_R_DROP_ADJUST);
		fill_outer_v6(outer, p, cfg, be, src, hash);
	}
	return XDP_TX;
}

#endif
