/* SPDX-License-Identifier: GPL-2.0-only */
/* ratelimit.h: per-source SYN buckets and the per-CPU ICMP answer budget. */
#ifndef XLB_BPF_RATELIMIT_H
#define XLB_BPF_RATELIMIT_H

#include "maps.h"

/* Refill beyond this is pointless (the bucket is full) and would overflow. */
#define SYN_REFILL_MAX_NS	(10 * NSEC_PER_SEC)

/* May this SYN pass the per-source limit? Buckets hold tokens x 1000 so a
 * rate of a few SYNs per second still refills smoothly. Concurrent CPUs may
 * race on one bucket; the error is a token or two, never a lock. */
static __always_inline bool syn_src_allowed(const struct packet *p,
					    const struct xlb_config *cfg)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct xlb_addr_key k = { .family = p->key.family };
	__u64 cap = (__u64)(cfg->syn_src_burst ?: cfg->syn_src_rate) * 1000;
	struct xlb_syn_bucket *b, fresh;
	__u64 elapsed;

	__builtin_memcpy(k.addr, p->key.src, sizeof(k.addr));
	b = bpf_map_lookup_elem(&xlb_syn_src, &k);
	if (!b) {
		fresh.last_ns = now;
		fresh.tokens_milli = cap - 1000;
		bpf_map_update_elem(&xlb_syn_src, &k, &fresh, BPF_ANY);
		return true;
	}
	elapsed = now - b->last_ns;
	if (elapsed > SYN_REFILL_MAX_NS)
		elapsed = SYN_REFILL_MAX_NS;
	b->last_ns = now;
	b->tokens_milli += elapsed * cfg->syn_src_rate / 1000000;
	if (b->tokens_milli > cap)
		b->tokens_milli = cap;
	if (b->tokens_milli < 1000)
		return false;
	b->tokens_milli -= 1000;
	return true;
}

/* May this CPU send one more generated ICMP error? A theoretical-arrival-
 * time bucket: icmp_rate per second, bursts of up to one second's worth. */
static __always_inline bool icmp_budget_allows(const struct xlb_config *cfg)
{
	struct xlb_cpu_state *st;
	__u32 zero = 0;
	__u64 interval, now;

	if (!cfg->icmp_rate)
		return false;
	now = bpf_ktime_get_coarse_ns();
	st = bpf_map_lookup_elem(&xlb_cpu_state, &zero);
	if (!st)
		return false;
	interval = NSEC_PER_SEC / cfg->icmp_rate;
	if (st->icmp_tokens_ns < now)
		st->icmp_tokens_ns = now;
	if (st->icmp_tokens_ns - now + interval > NSEC_PER_SEC)
		return false;
	st->icmp_tokens_ns += interval;
	return true;
}

#endif
