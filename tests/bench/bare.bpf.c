// SPDX-License-Identifier: GPL-2.0-only
/* bare.bpf.c: the baselines the benchmark divides by: the cheapest programs
 * with the same verdict as the load balancer, after the same prologue. */
#include "common.h"
#include "bench.h"

SEC("xdp")
int bare_tx(struct xdp_md *ctx)
{
	bench_prologue(ctx);
	return XDP_TX;
}

SEC("xdp")
int bare_pass(struct xdp_md *ctx)
{
	bench_prologue(ctx);
	return XDP_PASS;
}

/* For the veth peer: frames leaving the benchmark stop here. */
SEC("xdp")
int bare_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
