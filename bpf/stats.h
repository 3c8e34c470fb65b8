/* SPDX-License-Identifier: GPL-2.0-only */
/* stats.h: per-CPU counters: reasons (drops, passes, events), per VIP, per backend. */
#ifndef XLB_BPF_STATS_H
#define XLB_BPF_STATS_H

#include "maps.h"

static __always_inline void count(enum xlb_reason reason)
{
	__u32 key = reason;
	__u64 *n = bpf_map_lookup_elem(&xlb_reasons, &key);

	if (n)
		*n += 1;
}

/* Count REASON and return VERDICT: `return verdict(XDP_DROP, XLB_R_...)`. */
static __always_inline int verdict(int action, enum xlb_reason reason)
{
	count(reason);
	return action;
}

static __always_inline void count_vip_drop(__u32 vip_id)
{
	struct xlb_vip_stats *s = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);

	if (s)
		s->drops += 1;
}

static __always_inline void count_forward(__u32 vip_id, __u32 backend_id,
					  __u32 bytes, bool new_flow)
{
	struct xlb_backend_stats *b;
	struct xlb_vip_stats *v;

	v = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);
	if (v) {
		v->packets += 1;
		v->bytes += bytes;
		v->new_flows += new_flow;
	}
	b = bpf_map_lookup_elem(&xlb_backend_stats, &backend_id);
	if (b) {
		b->packets += 1;
		b->bytes += bytes;
		b->new_flows += new_flow;
	}
}

#endif
