/* SPDX-License-Identifier: GPL-2.0-only */
/* process.h: a packet's story through the load balancer (docs/datapath.md). */
#ifndef XLB_BPF_PROCESS_H
#define XLB_BPF_PROCESS_H

#include "common.h"
#include "encap.h"
#include "flow.h"
#include "hash.h"
#include "icmp.h"
#include "maps.h"
#include "mss.h"
#include "parse.h"
#include "ratelimit.h"
#include "stats.h"

static __always_inline struct xlb_vip *find_vip(const struct packet *p)
{
	struct xlb_vip_key k = {
		.port = p->key.dport,
		.proto = p->key.proto,
		.family = p->key.family,
	};

	__builtin_memcpy(k.addr, p->key.dst, sizeof(k.addr));
	return bpf_map_lookup_elem(&xlb_vips, &k);
}

static __always_inline struct xlb_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xlb_config, &zero);
}

/* Drops after the VIP is known also count against the VIP. */
static __always_inline int vip_verdict(__u32 vip_id, int act)
{
	if (act == XDP_DROP)
		count_vip_drop(vip_id);
	return act;
}

/* Lower the MSS option of the SYN at TCP_OFF to CLAMP, fixing the TCP
 * checksum. A global function: the verifier checks it once, not once per
 * path that leads here. Returns enum mss_result. */
__noinline int xlb_clamp_mss(struct xdp_md *ctx, __u32 tcp_off, __u32 clamp)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th = (void *)(long)ctx->data + (tcp_off & L4_OFF_MASK);
	struct tcp_opts o = {};
	__be16 old, new;
	int off;

	if ((void *)(th + 1) > data_end)
		return MSS_NO_OPTION;
	o.len = th->doff * 4 - sizeof(*th);
	if (!o.len || o.len > TCP_MAX_OPTS ||
	    bpf_xdp_load_bytes(ctx, (tcp_off & L4_OFF_MASK) + sizeof(*th), o.b, o.len))
		return MSS_NO_OPTION;
	off = tcp_opts_find_mss(&o);
	if (off < 0)
		return MSS_NO_OPTION;
	old = *(__be16 *)&o.b[off & 63];
	if (bpf_ntohs(old) <= clamp)
		return MSS_ALREADY_SMALL;
	new = bpf_htons(clamp);
	if (bpf_xdp_store_bytes(ctx, (tcp_off & L4_OFF_MASK) + sizeof(*th) + off, &new, sizeof(new)))
		return MSS_NO_OPTION;
	/* the store does not move data: th is still valid */
	th = (void *)(long)ctx->data + (tcp_off & L4_OFF_MASK);
	data_end = (void *)(long)ctx->data_end;
	if ((void *)(th + 1) > data_end)
		return MSS_NO_OPTION;
	csum_replace_field(&th->check, old, new, sizeof(*th) + off);
	return MSS_CLAMPED;
}

/* The fast path: Linux, Windows and the BSDs put MSS first. Returns an
 * enum mss_result, MSS_NOT_FIRST when the options need walking. */
static __always_inline int clamp_mss_first(struct xdp_md *ctx, const struct packet *p,
					   __u16 clamp)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th = l4_hdr(p, (void *)(long)ctx->data);
	__u8 *opt = (void *)(th + 1);
	__be16 old, new;

	if ((void *)(opt + TCPOLEN_MSS) > data_end || th->doff * 4 < sizeof(*th) + TCPOLEN_MSS ||
	    opt[0] != TCPOPT_MSS || opt[1] != TCPOLEN_MSS)
		return MSS_NOT_FIRST;
	old = *(__be16 *)(opt + 2);
	if (bpf_ntohs(old) <= clamp)
		return MSS_ALREADY_SMALL;
	new = bpf_htons(clamp);
	*(__be16 *)(opt + 2) = new;
	csum_replace2(&th->check, old, new);
	return MSS_CLAMPED;
}

static __always_inline void clamp_syn_mss(struct xdp_md *ctx, const struct packet *p,
					  __u16 vip_mss, const struct xlb_config *cfg,
					  __u32 olen)
{
	__u32 ip_hdr = p->key.family == XLB_FAMILY_V4 ? sizeof(struct iphdr)
						      : sizeof(struct ipv6hdr);
	__u16 clamp = vip_mss ?: config_mtu(cfg) - olen - ip_hdr - sizeof(struct tcphdr);
	int res = clamp_mss_first(ctx, p, clamp);

	if (res == MSS_NOT_FIRST)
		res = xlb_clamp_mss(ctx, p->l4_off, clamp);
	switch (res) {
	case MSS_CLAMPED:
		count(XLB_R_EV_MSS_CLAMPED);
		break;
	case MSS_ALREADY_SMALL:
		count(XLB_R_EV_MSS_SMALLER);
		break;
	default:
		count(XLB_R_EV_MSS_NO_OPTION);
		break;
	}
}

/* An ICMP error about a VIP flow goes to the backend that owns the flow. */
static __always_inline int forward_icmp_error(struct xdp_md *ctx, struct packet *p,
					      const struct xlb_config *cfg)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct choice c = {};
	struct xlb_vip *vip;
	int act;

	if (ipv4_csum_bad(p, data, data_end))
		return is_vip_addr(p) ? verdict(XDP_DROP, XLB_R_DROP_IP_CSUM)
				      : verdict(XDP_PASS, XLB_R_PASS_ICMP);
	act = icmp_error_flow(p, data, data_end);
	if (act != CONTINUE)
		return act;
	vip = find_vip(p);
	if (!vip)
		return verdict(XDP_PASS, XLB_R_PASS_ICMP);
	act = icmp_backend(p, vip, cfg, &c);
	if (act != CONTINUE)
		return vip_verdict(vip->vip_id, act);
	if (p->ip_len + outer_hdr_len(c.be->family) > config_mtu(cfg))
		return vip_verdict(vip->vip_id, verdict(XDP_DROP, XLB_R_DROP_TOO_BIG));
	act = encapsulate(ctx, p, cfg, c.be);
	if (act != XDP_TX)
		return vip_verdict(vip->vip_id, act);
	count(XLB_R_EV_ICMP_FORWARDED);
	count_forward(vip->vip_id, c.id, p->ip_len, false);
	return XDP_TX;
}

/* A packet without a usable flow entry (a SYN, a miss, a flow whose backend
 * went down): the VIP and its ring decide. */
static __always_inline int ring_path(struct xdp_md *ctx, struct packet *p,
				     const struct xlb_config *cfg, __u64 jiffies,
				     enum flow_state fs, struct choice *c, __u16 *mss)
{
	struct xlb_vip *vip = find_vip(p);
	int act;

	if (!vip)
		return verdict(XDP_PASS, XLB_R_PASS_NOT_VIP);
	act = validate_vip_packet(p, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (act != CONTINUE)
		return vip_verdict(vip->vip_id, act);
	if (!is_syn(p))
		count(fs == FLOW_STALE ? XLB_R_EV_FLOW_DOWN : XLB_R_EV_FLOW_MISS);
	if (is_syn(p) && cfg->syn_src_rate && !syn_src_allowed(p, cfg))
		return vip_verdict(vip->vip_id, verdict(XDP_DROP, XLB_R_DROP_SYN_SRC_RATE));
	act = ring_decide(p, vip, cfg, jiffies, c);
	if (act != CONTINUE)
		return vip_verdict(vip->vip_id, act);
	*mss = vip->mss;
	return CONTINUE;
}

static __always_inline int xlb_process(struct xdp_md *ctx)
{
	struct xlb_config *cfg;
	struct packet p = {};
	struct choice c = {};
	__u16 vip_mss = 0;
	enum flow_state fs;
	__u32 olen, vip_id;
	__u64 jiffies;
	int act;

	act = parse_packet(ctx, &p);
	if (act != CONTINUE)
		return act;
	cfg = get_config();
	if (!cfg)
		return verdict(XDP_PASS, XLB_R_PASS_NOT_VIP);
	if (p.key.proto == IPPROTO_ICMP || p.key.proto == IPPROTO_ICMPV6)
		return forward_icmp_error(ctx, &p, cfg);

	/* established flows: the flow table alone knows where they go */
	jiffies = bpf_jiffies64();
	fs = is_syn(&p) ? FLOW_MISS : flow_lookup(&p, jiffies, &c);
	if (fs == FLOW_HIT) {
		act = validate_vip_packet(&p, (void *)(long)ctx->data,
					  (void *)(long)ctx->data_end);
		if (act != CONTINUE)
			return vip_verdict(c.be->vip_id, act);
		count(XLB_R_EV_FLOW_HIT);
	} else {
		act = ring_path(ctx, &p, cfg, jiffies, fs, &c, &vip_mss);
		if (act != CONTINUE)
			return act;
	}
	vip_id = c.be->vip_id;

	olen = outer_hdr_len(c.be->family);
	if (p.ip_len + olen > config_mtu(cfg))
		return vip_verdict(vip_id, answer_too_big(ctx, &p, cfg, olen));
	if (is_syn(&p))
		clamp_syn_mss(ctx, &p, vip_mss, cfg, olen);

	act = encapsulate(ctx, &p, cfg, c.be);
	if (act != XDP_TX)
		return vip_verdict(vip_id, act);
	count_forward(vip_id, c.id, p.ip_len, c.new_flow);
	return XDP_TX;
}

#endif
