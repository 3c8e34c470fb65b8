/* SPDX-License-Identifier: GPL-2.0-only */
/* bench.h: the prologue every benchmark program runs, baselines included.
 *
 * Live-frames test runs (BPF_F_TEST_XDP_LIVE_FRAMES) recycle pages and
 * reset a frame's pointers between runs, but not its bytes: after an
 * encapsulation the next run would parse the outer header's leftovers. So
 * each run first restores the frame's first BENCH_HDR bytes from
 * bench_frame, then, for the many-flows cases, rewrites the IPv4 source
 * address and port from a per-CPU counter to cycle through bench_nflows
 * flows. User space writes both through the skeleton's bss. */
#ifndef XLB_BENCH_H
#define XLB_BENCH_H

#include "common.h"
#include "csum.h"

#define BENCH_HDR	64	/* frames are at least this long */

__u64 bench_frame[BENCH_HDR / 8];
__u32 bench_nflows;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_seq SEC(".maps");

/* Expects Ethernet + 20-byte IPv4 + TCP/UDP, as the benchmark sends. */
static __always_inline void bench_prologue(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *frame = (void *)(long)ctx->data;
	struct iphdr *iph = (void *)frame + sizeof(struct ethhdr);
	__be16 *ports = (void *)(iph + 1);
	__u32 zero = 0, *seq, idx;
	__be32 old, new;

	if ((void *)(frame + BENCH_HDR / 8) > data_end)
		return;
#pragma unroll
	for (int i = 0; i < BENCH_HDR / 8; i++)
		frame[i] = bench_frame[i];
	if (bench_nflows <= 1)
		return;
	seq = bpf_map_lookup_elem(&bench_seq, &zero);
	if (!seq)
		return;
	idx = (*seq)++ % bench_nflows;
	/* 198.18.0.0/16 gives 16 bits of address, the source port the rest */
	old = iph->saddr;
	new = bpf_htonl(0xc6120000 | (idx & 0xffff));
	iph->saddr = new;
	csum_replace2(&iph->check, (__be16)old, (__be16)new);
	csum_replace2(&iph->check, (__be16)(old >> 16), (__be16)(new >> 16));
	ports[0] = bpf_htons(1024 + (idx >> 16));
}

#endif
