// SPDX-License-Identifier: GPL-2.0-only
/* xlb_bench.bpf.c: the real load balancer (bpf/process.h, as in
 * bpf/xlb.bpf.c) behind the benchmark prologue of bench.h. */
#include "process.h"
#include "bench.h"

SEC("xdp")
int xlb_bench(struct xdp_md *ctx)
{
	bench_prologue(ctx);
	return xlb_process(ctx);
}

char LICENSE[] SEC("license") = "GPL";
